"""``lsq worker`` and ``lsq receive`` refuse to start without what they need: one line each,
naming the option and the fix, never a traceback."""

from __future__ import annotations

import argparse

import pytest

from runtime.api.governor import GOVERNORS, RateGovernor
from runtime.cli import main
from runtime.cli.common import open_storage_for
from runtime.store.rate_budget import SharedRateBudget

WORKFLOW = "tests/distributed/burst.yaml"


@pytest.mark.parametrize("args", [["worker", WORKFLOW], ["receive"]], ids=["worker", "receive"])
def test_without_a_database_one_line_names_the_option(monkeypatch, capsys, args):
    monkeypatch.delenv("LSQ_DATABASE_URL", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "needs --database postgresql://" in err and "lsq serve" in err


def test_worker_on_a_database_without_the_job_tables_says_to_upgrade(pg_url, capsys):
    assert main(["worker", WORKFLOW, "--database", pg_url, "--public-url",
                 "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err.strip()
    assert "no job queue tables" in err and "lsq db upgrade" in err and "Traceback" not in err


def test_a_postgresql_store_shares_the_rate_budgets_until_it_is_closed(pg_url):
    storage = open_storage_for(argparse.Namespace(database=pg_url, state=None))
    try:
        assert isinstance(GOVERNORS.get("http://x", "key", 25, 1), SharedRateBudget)
    finally:
        storage.close()
    assert isinstance(GOVERNORS.get("http://x", "key", 25, 1), RateGovernor)


def test_a_receiver_takes_the_same_http_bounds_as_lsq_serve():
    from runtime.cli import build_parser
    from runtime.cli.run_cmd import http_settings
    from runtime.engine.http_server import ServerSettings

    argv = ["--threads", "3", "--connection-limit", "40", "--channel-timeout", "7",
            "--request-timeout", "9"]
    receive = http_settings(build_parser().parse_args(["receive", *argv]))
    serve = http_settings(build_parser().parse_args(["serve", WORKFLOW, *argv]))
    assert receive == serve == ServerSettings(threads=3, connection_limit=40, channel_timeout=7,
                                              request_timeout=9)
