"""Secrets never leak: the core issue's Leads actions, `lsq invoke action` and `lsq auth test`.

Every path below runs with logging at DEBUG (the client's, urllib3's and the sandbox's
loggers included) and collects every text a user or a log could see: each log record's
message and traceback, each raised error's str/repr/to_dict/traceback, and the CLI's stdout
and stderr. None may contain a key, raw or URL-encoded (the access key holds a ``$``, so its
encoded form differs). Success and failure paths both run: duplicates, unknown fields,
missing leads, delete disabled, wrong keys, wrong region, retried and ambiguous writes.
"""

from __future__ import annotations

import json
import logging
import random
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import ENV_ACCESS_KEY, ENV_API_HOST, ENV_SECRET_KEY, Connection
from runtime.cli import main
from runtime.errors import ConnectorError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import ROOT_ENV, Manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    FaultPlan,
    RunningSandbox,
)
from tests.seed_ids import NEHA, PRIYA

WRONG_SECRET = "wrongSecret0123456789abcdef0123456789"
SECRETS = (DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, WRONG_SECRET)
NOBODY = "5b0a1e2c-7d3f-4c8e-a1b2-000000000299"
NEW_LEAD = {"FirstName": "Ishaan", "EmailAddress": "ishaan.rao@example.com", "Phone": "9876501234"}


def secret_forms() -> set[str]:
    return {form for secret in SECRETS
            for form in (secret, quote(secret, safe=""), quote(secret), quote_plus(secret))}


def leaks(text: str) -> list[str]:
    return sorted(form for form in secret_forms() if form in text)


class Seen:
    """Everything a user or a log could see, gathered per test."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def error(self, error: BaseException) -> None:
        self.texts += [str(error), repr(error), "".join(traceback.format_exception(error))]
        if isinstance(error, ConnectorError):
            self.texts.append(json.dumps(error.to_dict()))

    def logs(self, records: list[logging.LogRecord]) -> None:
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        for record in records:
            self.texts += [record.getMessage(), formatter.format(record), record.stack_info or ""]

    def assert_clean(self) -> None:
        found = {leak for text in self.texts for leak in leaks(text)}
        assert not found, f"secret forms leaked: {len(found)}"


@pytest.fixture
def seen(caplog: pytest.LogCaptureFixture) -> Iterator[Seen]:
    caplog.set_level(logging.DEBUG)
    collected = Seen()
    yield collected
    records = caplog.get_records("setup") + caplog.get_records("call")
    debug = [r for r in records if r.name == "runtime.api.client" and r.levelno == logging.DEBUG]
    assert debug, "the client logged nothing at DEBUG: the check would prove nothing"
    collected.logs(records)
    collected.assert_clean()


def connection(sandbox: RunningSandbox, **changes: Any) -> Connection:
    settings: dict[str, Any] = {"access_key": DEFAULT_ACCESS_KEY, "secret_key": DEFAULT_SECRET_KEY,
                                "api_host": DEFAULT_API_HOST, "base_url": sandbox.base_url}
    return Connection(**{**settings, **changes})


def fail_next_call(sandbox: RunningSandbox, kind: str) -> None:
    """Exactly the next API call fails with ``kind`` (seeded, so reproducible)."""
    for seed in range(1000):
        rolls = random.Random(seed)
        if rolls.random() < 0.5 and all(rolls.random() >= 0.5 for _ in range(8)):
            sandbox.app.faults.configure(FaultPlan(rates={kind: 0.5}, seed=seed))
            return
    raise AssertionError("no suitable seed")


Run = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def run(manifest: Manifest, sandbox: RunningSandbox, seen: Seen) -> Iterator[Run]:
    """``run(key, inputs)`` on the default tenant: the output, or the error (recorded)."""
    with LeadSquaredClient(connection(sandbox), sleep=lambda s: None) as lsq:
        lsq.metadata.lead_fields()

        def call(key: str, inputs: dict[str, Any]) -> Any:
            try:
                output = invoke_action(manifest, key, inputs, lsq)
            except ConnectorError as error:
                seen.error(error)
                return error
            seen.texts.append(json.dumps(output))
            return output

        yield call


# -- actions through the runtime -----------------------------------------------------------

def test_lead_actions_succeed_without_leaking(run: Run, raw_api: Any) -> None:
    raw_api.control("POST", "settings", {"lead_delete_enabled": True})
    created = run("create_lead", {"fields": NEW_LEAD})
    assert "lead_id" in created
    assert run("upsert_lead", {"fields": {"EmailAddress": "ishaan.rao@example.com",
                                          "mx_City": "Pune"}}) == {"lead_id": created["lead_id"]}
    assert run("update_lead", {"lead_id": PRIYA, "fields": {"Score": 70}}) == {"lead_id": PRIYA}
    assert run("find_lead", {"field": "mx_City", "value": "Pune"})["found"] is True
    assert run("find_lead", {"phone": "9876501234"})["found"] is True
    assert run("delete_lead", {"lead_id": NEHA}) == {"lead_id": NEHA, "result": "deleted",
                                                  "deleted": True}


def test_lead_action_failures_do_not_leak(run: Run) -> None:
    failures = [
        ("create_lead", {"fields": {"EmailAddress": "priya.sharma@example.com"}}),  # duplicate
        ("create_lead", {"fields": {"FirstName": "I", "mx_Citty": "Pune"}}),  # unknown field
        ("create_lead", {"fields": {}}),  # invalid input
        ("update_lead", {"lead_id": NOBODY, "fields": {"FirstName": "Ghost"}}),  # missing lead
        ("delete_lead", {"lead_id": NEHA}),  # lead delete disabled
        ("find_lead", {"lead_id": NOBODY, "fail_if_not_found": True}),  # not found
    ]
    for key, inputs in failures:
        assert isinstance(run(key, inputs), ConnectorError), key


@pytest.mark.parametrize("kind", ["drop", "500", "503", "429"])
def test_retried_and_ambiguous_writes_do_not_leak(sandbox: RunningSandbox, run: Run,
                                                  kind: str) -> None:
    fail_next_call(sandbox, kind)
    run("create_lead", {"fields": NEW_LEAD})  # recovered, ambiguous or retried
    fail_next_call(sandbox, kind)
    run("update_lead", {"lead_id": PRIYA, "fields": {"Score": 71}})


@pytest.mark.parametrize(
    "changes",
    [{"secret_key": WRONG_SECRET}, {"api_host": "api-us11.leadsquared.com"}],
    ids=["wrong-secret", "wrong-region"],
)
def test_auth_failures_do_not_leak(manifest: Manifest, sandbox: RunningSandbox, seen: Seen,
                                   changes: dict[str, str]) -> None:
    with LeadSquaredClient(connection(sandbox, **changes)) as lsq:
        seen.texts.append(repr(lsq))
        for key, inputs in [("find_lead", {"email": "priya.sharma@example.com"}),
                            ("create_lead", {"fields": NEW_LEAD})]:
            with pytest.raises(ConnectorError) as caught:
                invoke_action(manifest, key, inputs, lsq)
            seen.error(caught.value)


# -- the CLI -------------------------------------------------------------------------------

@pytest.fixture
def cli(tmp_path: Path, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], seen: Seen) -> Callable[..., int]:
    """``cli(*argv, secret_key=...)``: run ``lsq`` at DEBUG with a connection file."""
    for name in (ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_API_HOST, ROOT_ENV):
        monkeypatch.delenv(name, raising=False)

    def call(*argv: str, secret_key: str = DEFAULT_SECRET_KEY) -> int:
        path = tmp_path / "acme.yaml"
        settings = {"access_key": DEFAULT_ACCESS_KEY, "secret_key": secret_key,
                    "api_host": sandbox.base_url}
        path.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in settings.items()))
        code = main(["--log-level", "DEBUG", *argv, "--connection", str(path)])
        out, err = capsys.readouterr()
        seen.texts += [out, err]
        return code

    return call


def test_cli_invoke_and_auth_test_do_not_leak(cli: Callable[..., int], raw_api: Any) -> None:
    lookup = json.dumps({"email": "priya.sharma@example.com"})
    find = ["invoke", "action", "find_lead", "-i", lookup]
    assert cli(*find) == 0
    assert cli(*find, "--json") == 0
    assert cli("auth", "test") == 0
    assert cli("auth", "test", "--json") == 0
    create = ["invoke", "action", "create_lead", "-i", json.dumps({"fields": NEW_LEAD})]
    assert cli(*create) == 0
    assert cli(*create) == 1  # duplicate
    assert cli("invoke", "action", "delete_lead", "-i", json.dumps({"lead_id": NEHA})) == 1
    assert cli("invoke", "action", "create_lead", "-i", '{"fields": {"mx_Citty": 1}}') == 1
    assert cli("invoke", "action", "create_lead", "-i", '{"fields": []}') == 1
    assert cli(*find, secret_key=WRONG_SECRET) == 1
    assert cli("auth", "test", secret_key=WRONG_SECRET) == 1


def test_the_check_itself_catches_a_leak() -> None:
    collected = Seen()
    collected.texts.append(f"GET /v2/x?accessKey={quote(DEFAULT_ACCESS_KEY, safe='')}")
    with pytest.raises(AssertionError, match="secret forms leaked: 1"):
        collected.assert_clean()
