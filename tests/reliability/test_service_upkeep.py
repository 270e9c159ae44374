"""The service's upkeep: `/healthz` fails while the oldest pending item is older than its bound
(and recovers once it runs), a standby takes over a released lease, retention runs on a
schedule inside the service without touching pending items or cursors, and the service keeps
a bounded number of run records in memory."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from runtime.clock import utc_now
from runtime.engine import service as service_module
from runtime.engine.ownership import lease_name
from runtime.engine.receiver import SECRET_HEADER
from runtime.engine.service import Binding
from runtime.errors import TransientApiError
from runtime.sandbox import RunningSandbox
from runtime.store.inbox import Inbox
from runtime.store.leases import Leases
from runtime.store.retention import Retention
from runtime.store.state import StateStore, Subscription, instance_id

from ._service import FAST, HOOK_SECRET, served, wait_until
from .test_crashes import create_leads

ELSEWHERE = "another-host/4242#0000"  # a holder on another host: only its expiry frees it


def test_health_fails_on_an_old_pending_item_and_a_standby_takes_over(
    tmp_path: Path, service_sandbox: RunningSandbox,
) -> None:
    (lead,) = create_leads(service_sandbox, 1)
    settings = replace(FAST, standby=True, max_pending_age=0.5)
    with served(tmp_path, service_sandbox, settings=settings) as target:
        instance = target.binding.instance
        leases = Leases(target.store)
        assert leases.acquire(lease_name(instance), ELSEWHERE, timedelta(minutes=5))
        # the owner's subscription (it subscribed when it started)
        target.store.save_subscription(Subscription(instance, "wh-1", HOOK_SECRET, "-", "1"))
        target.service.start()
        health = f"{target.service.url}/healthz"
        answer = requests.post(f"{target.service.url}/hooks/{instance}", json=lead,
                               headers={SECRET_HEADER: HOOK_SECRET}, timeout=5)
        assert answer.json() == {"Status": "Success"}  # a standby's receiver stores it
        wait_until(lambda: requests.get(health, timeout=5).status_code == 503)
        failing = requests.get(health, timeout=5).json()

        assert leases.release(lease_name(instance), ELSEWHERE)  # the owner stops
        wait_until(lambda: Inbox(target.store).counts()["done"] == 1)
        healthy = requests.get(health, timeout=5)

    assert failing["instances"] == {instance: "standby"}
    assert failing["oldest_pending_age_seconds"] > 0.5
    assert failing["problems"][0].startswith("the oldest pending item is ")
    assert healthy.status_code == 200
    assert healthy.json()["instances"] == {instance: "serving"}


def test_retention_runs_on_a_schedule_and_keeps_pending_items_and_cursors(
    tmp_path: Path, service_sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "RECENT_RUNS", 5)
    leads = create_leads(service_sandbox, 30)

    def three_days_ago() -> datetime:  # the state's clock: every row it writes is old
        return utc_now() - timedelta(days=3)

    settings = replace(FAST, prune_interval=0.2, retention=Retention(days=1, max_runs=10))
    with served(tmp_path, service_sandbox, settings=settings, clock=three_days_ago) as target:
        other = instance_id("new_lead", {}, account="elsewhere")
        inbox = Inbox(target.store)
        inbox.accept(other, "waiting", {"ProspectID": "waiting"})  # no one serves it
        target.store.put_cursor(other, {"time": "2020-01-01 00:00:00", "ids": []})
        target.service.start()
        hook = f"{target.service.url}/hooks/{target.binding.instance}"
        for lead in leads:
            requests.post(hook, json=lead, headers={SECRET_HEADER: HOOK_SECRET}, timeout=5)

        def pruned() -> bool:
            newest = target.history.list_runs(limit=1)
            return (bool(newest) and newest[0]["id"] == len(leads)
                    and target.history.count() == 10 and inbox.counts()["done"] == 0)

        wait_until(pruned)
        remembered = len(target.service.runs)
        counts, cursor = inbox.counts(), target.store.get_cursor(other)

    assert counts == {"pending": 1, "processing": 0, "done": 0, "failed": 0}
    assert cursor is not None
    assert remembered == 5  # the newest runs only: memory does not grow with runs


def test_a_take_over_that_fails_gives_the_lease_back_and_is_tried_again(
    tmp_path: Path, service_sandbox: RunningSandbox,
) -> None:
    with served(tmp_path, service_sandbox, settings=replace(FAST, standby=True)) as target:
        instance = target.binding.instance
        leases = Leases(target.store)
        assert leases.acquire(lease_name(instance), ELSEWHERE, timedelta(minutes=5))
        target.service.start()
        subscribe, calls = target.service.subscriber, []

        def flaky(binding: Binding, url: str, store: StateStore) -> None:
            calls.append(url)
            if len(calls) == 1:
                raise TransientApiError("LeadSquared is busy", operation="Webhook.Create",
                                        status=503)
            subscribe(binding, url, store)

        target.service.subscriber = flaky
        assert leases.release(lease_name(instance), ELSEWHERE)
        wait_until(lambda: len(calls) == 2 and target.service.ownership.holds(instance))
        health = target.service.health()

    assert health.ok and health.report["instances"] == {instance: "serving"}
