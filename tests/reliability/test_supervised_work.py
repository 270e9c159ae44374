"""Supervised work: an item whose processing raises anything is retried a bounded number of
times, then dead-lettered (a failed inbox item and a failed run, both shown by the CLI), and
the worker goes on; a thread that dies anyway makes the service fail loudly (exit 1, 503)."""

from __future__ import annotations

import json
import re
import types
from pathlib import Path
from typing import Any

import pytest
import requests

from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.supervision import ServiceDied
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import DEFAULT_MAX_ATTEMPTS, Inbox

from ._service import HOOK_SECRET, Served, served, wait_until
from .helpers import run_cli
from .test_crashes import EXAMPLES, create_leads

NORMAL = 100


class Poison(RuntimeError):
    """What the injected fault raises (a bug: not a connector error)."""


def poison_in_events(target: Served, poison_id: str) -> None:
    real = target.binding.module

    def events(client: Any, config: Any, item: Any) -> list[dict[str, Any]]:
        if item.get("ProspectID") == poison_id:
            raise Poison("events() cannot read this payload")
        return real.events(client, config, item)

    target.binding.module = types.SimpleNamespace(events=events, event_key=real.event_key)


def poison_in_runner(target: Served, poison_id: str) -> None:
    real = target.runner.run

    def run(workflow: Any, event: Any, **options: Any) -> Any:
        if event.get("lead_id") == poison_id:
            raise RecursionError("maximum recursion depth exceeded (injected)")
        return real(workflow, event, **options)

    target.runner.run = run  # type: ignore[method-assign]


@pytest.mark.parametrize(("inject", "error_type"), [
    (poison_in_events, "Poison"), (poison_in_runner, "RecursionError"),
], ids=["events-raises", "runner-raises"])
def test_a_poison_item_then_100_events_all_100_run_and_the_poison_is_dead_lettered(
    tmp_path: Path, service_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
    inject: Any, error_type: str,
) -> None:
    leads = create_leads(service_sandbox, NORMAL + 1)
    poison, normal = leads[0], leads[1:]
    with served(tmp_path, service_sandbox) as target:
        inject(target, poison["ProspectID"])
        target.service.start()
        hook = f"{target.service.url}/hooks/{target.binding.instance}"
        with requests.Session() as session:
            for lead in leads:  # the poison first: it is claimed first, and again and again
                answer = session.post(hook, json=lead, headers={SECRET_HEADER: HOOK_SECRET},
                                      timeout=10)
                assert answer.json() == {"Status": "Success"}
        inbox = Inbox(target.store)
        wait_until(lambda: inbox.counts()["done"] == NORMAL and inbox.counts()["failed"] == 1)
        assert target.service.health().ok
        runs = target.history.list_runs(limit=1000)

    assert inbox.counts() == {"pending": 0, "processing": 0, "done": NORMAL, "failed": 1}
    by_status: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_status.setdefault(run["status"], []).append(run)
    assert len(by_status["succeeded"]) == NORMAL
    assert {run["event_key"] for run in by_status["succeeded"]} == {
        f"{lead['ProspectID']}#0" for lead in normal}
    (dead_run,) = by_status["failed"]
    assert dead_run["error"]["category"] == "internal"
    assert dead_run["error"]["type"] == error_type
    assert dead_run["error"]["attempts"] == DEFAULT_MAX_ATTEMPTS
    (dead_item,) = inbox.items(status="failed")
    assert dead_item.attempts == DEFAULT_MAX_ATTEMPTS
    assert dead_item.error.startswith(f"internal: {error_type}: ")

    # the CLI shows both
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    listed = run_cli(["runs", "list", "--status", "failed"])
    assert listed.code == 0 and "failed" in listed.out and "rename" in listed.out
    shown = run_cli(["state", "show", "--json"])
    (instance,) = json.loads(shown.out)["instances"]
    assert instance["inbox"] == {"done": NORMAL, "failed": 1}
    (failed_event,) = instance["failed_events"]
    assert failed_event["event_key"] == poison["ProspectID"]
    assert failed_event["attempts"] == DEFAULT_MAX_ATTEMPTS


class ThreadKiller(BaseException):
    """Escapes every ``except Exception``: the worker thread dies."""


def test_a_dead_worker_fails_health_and_wait(
    tmp_path: Path, service_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
) -> None:
    with served(tmp_path, service_sandbox) as target:
        target.service.start()
        health = f"{target.service.url}/healthz"
        assert requests.get(health, timeout=5).status_code == 200

        def claim_batch(self: Inbox, instance: str | None, most: int) -> None:
            raise ThreadKiller

        monkeypatch.setattr(Inbox, "claim_batch", claim_batch)
        wait_until(lambda: target.service.supervisor.dead())
        answer = requests.get(health, timeout=5)
        with pytest.raises(ServiceDied, match=r"lsq-worker-\d+ died"):
            target.service.wait()

    assert answer.status_code == 503
    report = answer.json()
    assert report["status"] == "failing"
    workers = {name: state for name, state in report["threads"].items()
               if name.startswith("lsq-worker-")}
    assert workers and any(state.startswith("dead: ThreadKiller") for state in workers.values())
    assert re.search(r"lsq-worker-\d+ died", str(report["problems"]))


def test_lsq_serve_exits_1_when_its_worker_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def claim_batch(self: Inbox, instance: str | None, most: int) -> None:
        raise ThreadKiller

    monkeypatch.setattr(Inbox, "claim_batch", claim_batch)
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    result = run_cli(["serve", str(EXAMPLES / "welcome_email.yaml"), "--port", "0"])

    assert result.code == 1
    assert re.search(r"error: lsq-worker-\d+ died \(ThreadKiller", result.err)

