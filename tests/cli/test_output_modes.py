"""Every command: global options before or after it, together with ``--json``; text by default
and one JSON value with ``--json`` for the commands that print a result.

:data:`COMMANDS` names each command with the least arguments it parses with; a new command
gets a row (the first test fails until it has one).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.cli import build_parser, main

REPLAY = ("webhook", "replay", "body.json", "--to", "http://127.0.0.1:9/hooks/x")
COMMANDS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("sandbox",): ("sandbox",),
    ("sandbox", "reset"): ("sandbox", "reset"),
    ("validate",): ("validate",),
    ("invoke", "action"): ("invoke", "action", "find_lead"),
    ("invoke", "trigger"): ("invoke", "trigger", "new_lead"),
    ("auth", "test"): ("auth", "test"),
    ("fields", "lead"): ("fields", "lead"),
    ("docs",): ("docs",),
    ("run",): ("run", "x.yaml"),
    ("runs", "list"): ("runs", "list"),
    ("runs", "show"): ("runs", "show", "1"),
    ("runs", "retry"): ("runs", "retry", "1"),
    ("serve",): ("serve", "x.yaml"),
    ("state", "show"): ("state", "show"),
    ("state", "reset"): ("state", "reset", "--trigger", "new_lead"),
    ("hooks", "subscribe"): ("hooks", "subscribe", "new_lead", "--receiver-url",
                             "https://hooks.example.com"),
    ("hooks", "unsubscribe"): ("hooks", "unsubscribe", "new_lead"),
    ("hooks", "list"): ("hooks", "list"),
    ("hooks", "reconcile"): ("hooks", "reconcile"),
    ("webhook", "replay"): REPLAY,
    ("mcp",): ("mcp",),
    ("ui",): ("ui",),
    ("receive",): ("receive",),
    ("worker",): ("worker", "x.yaml"),
    ("db", "status"): ("db", "status"),
    ("db", "upgrade"): ("db", "upgrade"),
    ("db", "prune"): ("db", "prune"),
}
#: Commands without --json: lsq mcp's standard output is the MCP protocol; lsq ui serves a page;
#: lsq receive and lsq worker are services that log (lsq serve's --json makes its progress lines
#: JSON lines, tests/observe/test_serve_cli.py).
NO_JSON = {("mcp",), ("ui",), ("receive",), ("worker",)}
DATABASE = "postgresql://lsq@db.example.com/lsq"


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
            ) -> Iterator[tuple[str, ...]]:
    children = [action for action in parser._actions
                if isinstance(action, argparse._SubParsersAction)]
    if path and parser.get_default("func") is not None:
        yield path
    for action in children:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def test_the_table_names_every_command() -> None:
    assert sorted(_leaves(build_parser())) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
@pytest.mark.parametrize("place", ["before", "after"])
def test_global_options_and_json_go_before_or_after_the_command(
    command: tuple[str, ...], place: str
) -> None:
    argv = list(COMMANDS[command])
    json_flag = [] if command in NO_JSON else ["--json"]
    options = ["--log-level", "info", "--database", DATABASE]
    argv = [*options, *argv, *json_flag] if place == "before" else [*argv, *json_flag, *options]
    args = build_parser().parse_args(argv)
    assert (args.log_level, args.database) == ("INFO", DATABASE)
    assert getattr(args, "json", False) is bool(json_flag)


@pytest.mark.parametrize(("argv", "text"), [
    (["state", "show"], "state: {state}\nno trigger state yet\n"),
    (["runs", "list"], "no runs\n"),
    (["sandbox", "reset"], "the embedded sandbox keeps no records yet ({folder}/sandbox.json); "
                           "nothing to empty\n"),
    (["db", "status"], "state: {state}: schema version 0 of 2 (created on first use)\n"
                       "history: {folder}/history.sqlite3: schema version 0 of 4 (created on "
                       "first use)\n"),
], ids=["state-show", "runs-list", "sandbox-reset", "db-status"])
def test_text_by_default_and_one_json_value_with_json(
    argv: list[str], text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = (tmp_path / ".lsq").resolve()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out == text.format(state=folder / "state.sqlite3", folder=folder)
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    json.loads(out)


def test_docs_check_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "--out", str(tmp_path / "docs"), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert written["files"] == len(written["changed"]) > 40
    assert main(["docs", "--check", "--out", str(tmp_path / "docs"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "path": str(tmp_path / "docs"), "files": written["files"], "stale": []}


def test_sandbox_json_prints_its_address_and_keys_as_one_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "sandbox", "--port", "0", "--json"], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        shown = json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(10)
    assert shown["base_url"].startswith("http://127.0.0.1:")
    assert shown == {"base_url": shown["base_url"], "api": shown["base_url"] + "/v2/",
                     "access_key": DEFAULT_ACCESS_KEY, "secret_key": DEFAULT_SECRET_KEY}


@pytest.mark.parametrize(("argv", "line"), [
    (["--json", "runs", "list"], "lsq: unrecognized arguments: --json (--json goes after the "
                                 "command: lsq runs list --json)"),
    (["state", "--json", "show", "--trigger", "new_lead"],
     "lsq: unrecognized arguments: --json (--json goes after the command: lsq state show "
     "--trigger new_lead --json)"),
    (["mcp", "--json"], "lsq: unrecognized arguments: --json (this command prints no JSON)"),
    (["runs", "list", "--json", "--bogus"], "lsq: unrecognized arguments: --bogus"),
], ids=["before", "between", "no-json", "other"])
def test_a_misplaced_json_says_where_it_goes(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err == line + "\n"


def test_runs_list_offers_the_history_s_statuses() -> None:
    from runtime.cli.run_cmd import RUN_STATUSES as offered
    from runtime.store.history import RUN_STATUSES

    assert offered == RUN_STATUSES
