"""Command-line arguments are checked before anything starts: a bad value is a usage error
(exit 2, one line naming the option), and global options work before or after the command.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from runtime.cli import build_parser
from runtime.cli.arguments import GLOBAL_OPTIONS

from .helpers import assert_contract, run_cli

REPLAY = ["webhook", "replay", "body.json", "--to", "http://127.0.0.1:9/hooks/x"]


@pytest.mark.parametrize(("argv", "says"), [
    (["--log-level", "NOPE", "validate"], "argument --log-level: 'NOPE' is not a log level"),
    (["validate", "--log-level", "NOPE"], "argument --log-level: 'NOPE' is not a log level"),
    (["invoke", "action", "find_lead", "--log-level", "LOUD"], "'LOUD' is not a log level"),
    (["serve", "x.yaml", "--port", "-5"], "argument --port: port -5 is out of range"),
    (["serve", "x.yaml", "--port", "99999"], "argument --port: port 99999 is out of range"),
    (["serve", "x.yaml", "--port", "http"], "argument --port: 'http' is not a port number"),
    (["sandbox", "--port", "-5"], "argument --port: port -5 is out of range"),
    (["sandbox", "--port", "65536"], "argument --port: port 65536 is out of range"),
    (["serve", "x.yaml", "--poll-interval", "0"], "argument --poll-interval: '0' must be"),
    (["serve", "x.yaml", "--poll-interval", "-1"], "argument --poll-interval: '-1' must be"),
    (["serve", "x.yaml", "--poll-interval", "nan"], "argument --poll-interval: 'nan' must be"),
    (["serve", "x.yaml", "--poll-interval", "inf"], "argument --poll-interval: 'inf' must be"),
    (["serve", "x.yaml", "--max-pending-age", "0"], "argument --max-pending-age: '0' must be"),
    (["serve", "x.yaml", "--prune-interval", "-1"], "argument --prune-interval: '-1' must be"),
    (["serve", "x.yaml", "--lease-ttl", "nan"], "argument --lease-ttl: 'nan' must be"),
    (["serve", "x.yaml", "--threads", "0"], "argument --threads: 0 must be 1 or more"),
    (["serve", "x.yaml", "--request-timeout", "0"],
     "argument --request-timeout: 0 must be 1 or more"),
    (["serve", "x.yaml", "--connection-limit", "-1"],
     "argument --connection-limit: -1 must be 1 or more"),
    (["serve", "x.yaml", "--public-url", "hooks.example.com"],
     "argument --public-url: not a receiver base URL"),
    (["hooks", "subscribe", "new_lead", "--receiver-url", "ftp://hooks.example.com"],
     "argument --receiver-url: not a receiver base URL"),
    (["receive", "--request-timeout", "0"], "argument --request-timeout: 0 must be 1 or more"),
    (["runs", "list", "--limit", "0"], "argument --limit: 0 must be 1 or more"),
    (["runs", "list", "--limit", "-3"], "argument --limit: -3 must be 1 or more"),
    (["runs", "list", "--status", "done"], "argument --status: invalid choice: 'done'"),
    (["runs", "show", "0"], "argument ID: 0 must be 1 or more"),
    (["runs", "show", "abc"], "argument ID: 'abc' is not a whole number"),
    (["invoke", "trigger", "new_lead", "--limit", "0"], "argument --limit: 0 must be 1 or more"),
    (["sandbox", "--rate-limit", "0"], "argument --rate-limit: 0 must be 1 or more"),
    (["sandbox", "--bulk-rate-limit", "-1"], "argument --bulk-rate-limit: -1 must be 1 or more"),
    ([*REPLAY, "--content-type", "application/json\nX-Evil: 1"],
     "argument --content-type: 'application/json\\nX-Evil: 1' is not a header value"),
])
def test_bad_values_are_usage_errors_before_anything_starts(
    cli_env: object, argv: list[str], says: str
) -> None:
    result = run_cli(argv)
    assert_contract(result)
    assert result.code == 2
    assert result.out == ""
    [line] = result.err.splitlines()
    assert says in line, line


@pytest.mark.parametrize(("argv", "level"), [
    (["serve", "x.yaml"], "WARNING"),
    (["serve", "x.yaml", "--log-level", "info"], "INFO"),
    (["--log-level", "ERROR", "serve", "x.yaml"], "ERROR"),
    (["--log-level", "ERROR", "serve", "x.yaml", "--log-level", "debug"], "DEBUG"),
    (["invoke", "--log-level", "info", "action", "find_lead"], "INFO"),
    (["invoke", "action", "find_lead", "--log-level", "critical"], "CRITICAL"),
    (["state", "show", "--log-level", " Debug "], "DEBUG"),
])
def test_the_log_level_is_accepted_before_or_after_the_command(
    argv: list[str], level: str
) -> None:
    assert build_parser().parse_args(argv).log_level == level


@pytest.mark.parametrize(("argv", "port"), [
    (["serve", "x.yaml", "--port", "0"], 0), (["serve", "x.yaml", "--port", "65535"], 65535),
    (["sandbox", "--port", "0"], 0), (["sandbox", "--port", "1"], 1),
    (["serve", "x.yaml"], 8080), (["sandbox"], 8765),
])
def test_ports_zero_to_65535_are_accepted(argv: list[str], port: int) -> None:
    assert build_parser().parse_args(argv).port == port


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[
    tuple[tuple[str, ...], argparse.ArgumentParser]
]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_every_command_takes_every_global_option() -> None:
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 20
    for option in GLOBAL_OPTIONS:
        for path, parser in parsers:
            assert all(flag in parser._option_string_actions for flag in option.flags), path
