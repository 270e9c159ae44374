"""The five polling triggers on the sandbox, its clock under test control, with counts. One table
(TIME_TRIGGERS) runs the time-based ones through the same proofs: a baseline, then each new
record once; no miss and no duplicate for equal timestamps and bursts larger than the budget;
late records; a stop between fetch and commit; re-enabling; a start time. Then each trigger's
own requests; list snapshots; account activities for a company type under a budget; lead
activities whichever date the range bounds."""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from runtime.engine.polling import PollingEngine, PollResult
from runtime.engine.trigger_instance import trigger_instance
from runtime.errors import InputValidationError
from runtime.plugin.manifest import Manifest
from runtime.store.state import StateStore
from tests.seed_ids import ACME, ARJUN, INITECH, KAVYA, NEWSLETTER, PRIYA
from triggers import _lead_activities, _polling

from .polling_support import (
    T0,
    Sandbox,
    inbox_payloads,
    minutes,
)

pytest_plugins = ["tests.triggers.polling_support"]

COMPANY = {"company_type": "Company"}
LEAD_205 = "5b0a1e2c-7d3f-4c8e-a1b2-000000000205"

Engine = Callable[..., PollingEngine]


def module(key: str) -> Any:
    return importlib.import_module(f"triggers.{key}")


def poll(lsq: Sandbox, engine: PollingEngine, key: str, config: Mapping[str, Any],
         **options: Any) -> PollResult:
    instance = trigger_instance(lsq.client, key, config)
    source = module(key)
    if hasattr(source, "fetch_members"):
        return engine.poll_members(instance, source, lsq.client, config, **options)
    return engine.poll(instance, source, lsq.client, config, **options)


def events_of(lsq: Sandbox, store: StateStore, manifest: Manifest, key: str,
              config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every event queued for the instance, through events(), each fitting the output schema."""
    instance = trigger_instance(lsq.client, key, config)
    found = [event for item in inbox_payloads(store, instance)
             for event in module(key).events(lsq.client, config, item)]
    for event in found:
        assert manifest.trigger(key).output_problems(event) == []
    return found


def poll_until_complete(lsq: Sandbox, engine: PollingEngine, key: str,
                        config: Mapping[str, Any], limit: int = 50) -> list[PollResult]:
    results = [poll(lsq, engine, key, config)]
    while not results[-1].complete:
        assert len(results) < limit, "the query never completed"
        results.append(poll(lsq, engine, key, config))
    return results


def logged_bodies(lsq: Sandbox, operation: str) -> list[Any]:
    log = requests.get(f"{lsq.controls}/requests", timeout=5).json()["requests"]
    return [entry["body"] for entry in log if entry["operation"] == operation]


# -- the proofs every time-based trigger keeps (one table) --------------------------------


@dataclass(frozen=True)
class TimeTrigger:
    """A time-based polling trigger and how a test makes the records it watches."""

    key: str
    config: dict[str, Any]
    other: dict[str, Any]
    """The config of another instance (another type or account): its own state."""
    page_size: tuple[Any, str]
    """The module attribute holding the trigger's page size (patched small)."""
    event_id: str
    """The event property naming the record."""
    seeded: tuple[str, ...]
    """The default seed's records posted since SINCE, oldest first."""
    make: Callable[[Sandbox, str], str]
    """A new record, named ``name``, that the instance sees; returns its id."""
    make_other: Callable[[Sandbox], object]
    """A new record the instance must not see (another type or account)."""
    sorted_reads: bool = True
    """The read sorts oldest first, so a query cut by the budget is cut in time too and events
    come oldest first across polls (CompanyActivity.svc/Retrieve has no sort: within a poll)."""
    probe_size: tuple[Any, str] | None = None
    """The module attribute holding the page size of the newest-first check (``fetch_newest``),
    for a trigger that has one."""


SINCE = "2025-01-01T00:00:00Z"
ACME_ACTIVITY = "5e2b8d41-7a9c-4f03-b6e2-000000000a01"
DEMOS = ("8e3c1a57-2d4b-4f6e-9a10-000000000b01", "8e3c1a57-2d4b-4f6e-9a10-000000000b03")
TIME_TRIGGERS = [
    TimeTrigger("new_account", COMPANY, {"company_type": "Partners"},
                (_polling, "COMPANY_PAGE_SIZE"), "account_id", (ACME, INITECH),
                lambda lsq, name: lsq.create_account(name),
                lambda lsq: lsq.create_account("Other", company_type="Partners"),
                probe_size=(_polling, "NEWEST_PAGE_SIZE")),
    TimeTrigger("account_updated", COMPANY, {"company_type": "Partners"},
                (_polling, "COMPANY_PAGE_SIZE"), "account_id", (INITECH, ACME),
                lambda lsq, name: lsq.create_account(name),  # a new account is a change
                lambda lsq: lsq.create_account("Other", company_type="Partners"),
                probe_size=(_polling, "NEWEST_PAGE_SIZE")),
    TimeTrigger("new_account_activity", {"account_id": ACME}, {"account_id": INITECH},
                (_polling, "ACTIVITY_PAGE_SIZE"), "activity_id", (ACME_ACTIVITY,),
                lambda lsq, name: lsq.log_activity(ACME, name),
                lambda lsq: lsq.log_activity(INITECH, "Other"), sorted_reads=False),
    TimeTrigger("new_lead_activity", {"activity_type": "Product Demo"},
                {"activity_type": "Webinar Attended"},
                (_lead_activities, "PAGE_SIZE"), "activity_id", DEMOS,
                lambda lsq, name: lsq.log_lead_activity(PRIYA, name),
                lambda lsq: lsq.log_lead_activity(PRIYA, "Other", activity_event=203)),
]
by_key = pytest.mark.parametrize("trigger", TIME_TRIGGERS, ids=lambda t: t.key)


@by_key
def test_the_first_poll_is_a_baseline_then_each_new_record_fires_once(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    trigger: TimeTrigger,
) -> None:
    engine = make_engine()
    first = poll(lsq, engine, trigger.key, trigger.config)
    assert (first.baseline, first.emitted) == (True, 0)

    lsq.advance(60)
    alpha = trigger.make(lsq, "Alpha")
    lsq.advance(60)
    beta = trigger.make(lsq, "Beta")
    trigger.make_other(lsq)
    second = poll(lsq, engine, trigger.key, trigger.config)
    assert (second.baseline, second.emitted) == (False, 2)
    events = events_of(lsq, state_store, trigger_manifest, trigger.key, trigger.config)
    assert [e[trigger.event_id] for e in events] == [alpha, beta]  # oldest first
    assert poll(lsq, engine, trigger.key, trigger.config).emitted == 0
    lsq.advance(3600)
    assert poll(lsq, engine, trigger.key, trigger.config).emitted == 0


@by_key
def test_many_records_with_one_timestamp_and_a_burst_larger_than_the_budget(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    monkeypatch: pytest.MonkeyPatch, trigger: TimeTrigger,
) -> None:
    monkeypatch.setattr(*trigger.page_size, 5)
    if trigger.probe_size:
        monkeypatch.setattr(*trigger.probe_size, 5)
    engine = make_engine(max_pages=2, max_calls=2)
    poll(lsq, engine, trigger.key, trigger.config)
    lsq.advance(30)
    same_second = [trigger.make(lsq, f"Tie {n:02d}") for n in range(12)]  # frozen clock
    lsq.advance(1)
    later = [trigger.make(lsq, f"Later {n}") for n in range(3)]

    results = poll_until_complete(lsq, engine, trigger.key, trigger.config)
    # With a newest-first check, its one page shows 10 more records than the window holds,
    # more than it may read: the poll reads oldest first with the rest of its budget.
    expected = [(5, False), (10, True)] if trigger.probe_size else [(10, False), (5, True)]
    assert [(r.emitted, r.complete) for r in results] == expected
    assert all(r.calls <= 2 for r in results)
    events = events_of(lsq, state_store, trigger_manifest, trigger.key, trigger.config)
    assert Counter(e[trigger.event_id] for e in events) == Counter(same_second + later)
    if trigger.sorted_reads:
        assert {e[trigger.event_id] for e in events[-3:]} == set(later)  # oldest first
    first_poll = [e[trigger.event_id] for e in events[:results[0].emitted]]
    assert first_poll == sorted(first_poll, key=lambda i: (i not in same_second, i))  # ties by id

    # The next query checks the overlap window. With a newest-first check: a minute later,
    # what changed within a minute of the last check is read once more (a late change can
    # move a counted record without changing the count), then one call when the count
    # matches. Without: a re-read (3 pages, over two polls). Nothing new either way.
    if trigger.probe_size:
        lsq.advance(61)
        settled = poll_until_complete(lsq, engine, trigger.key, trigger.config)
        assert sum(r.emitted for r in settled) == 0
        lsq.advance(61)
        again = poll_until_complete(lsq, engine, trigger.key, trigger.config)
        assert [(r.emitted, r.calls) for r in again] == [(0, 1)]
    else:
        again = poll_until_complete(lsq, engine, trigger.key, trigger.config)
        assert [r.emitted for r in again] == [0, 0]
    assert len(inbox_payloads(state_store, again[0].instance_id)) == 15


@by_key
def test_a_late_record_with_an_older_timestamp_inside_the_overlap_fires_once(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    trigger: TimeTrigger,
) -> None:
    engine = make_engine()
    poll(lsq, engine, trigger.key, trigger.config)
    lsq.set_clock(T0 + minutes(5))
    early = trigger.make(lsq, "Early")
    assert poll(lsq, engine, trigger.key, trigger.config).emitted == 1
    lsq.set_clock(T0 + minutes(2))  # a record that shows up late, stamped before "Early"
    late = trigger.make(lsq, "Late")
    lsq.set_clock(T0 + minutes(6))
    result = poll(lsq, engine, trigger.key, trigger.config)
    assert (result.emitted, len(result.keys)) == (1, 1)
    assert result.keys[0].startswith(late)
    assert poll(lsq, engine, trigger.key, trigger.config).emitted == 0
    events = events_of(lsq, state_store, trigger_manifest, trigger.key, trigger.config)
    assert [e[trigger.event_id] for e in events] == [early, late]


@by_key
def test_a_stop_between_fetching_and_committing_neither_loses_nor_repeats(
    lsq: Sandbox, state_path: Any, trigger_manifest: Manifest, trigger: TimeTrigger,
) -> None:
    instance = trigger_instance(lsq.client, trigger.key, trigger.config)
    source = module(trigger.key)
    with StateStore(state_path, clock=lsq.now) as store:
        engine = PollingEngine(store, clock=lsq.now)
        engine.poll(instance, source, lsq.client, trigger.config)
        lsq.advance(60)
        created = [trigger.make(lsq, f"Crash {n}") for n in range(3)]
        lost = engine.fetch(instance, source, lsq.client, trigger.config)
        assert len(lost.events) == 3  # fetched, then the process "dies" before the commit
        assert store.get_cursor(instance).version == 1  # type: ignore[union-attr]

    with StateStore(state_path, clock=lsq.now) as restarted:
        engine = PollingEngine(restarted, clock=lsq.now)
        result = engine.poll(instance, source, lsq.client, trigger.config)
        assert (result.baseline, result.emitted) == (False, 3)
        stale = lost.commit()  # a late commit of the dead poll changes nothing
        assert (stale.conflict, stale.emitted) == (True, 0)
        events = events_of(lsq, restarted, trigger_manifest, trigger.key, trigger.config)
        assert sorted(e[trigger.event_id] for e in events) == sorted(created)  # one second


@by_key
def test_reenabling_the_same_trigger_keeps_its_state(
    lsq: Sandbox, state_path: Any, trigger_manifest: Manifest, trigger: TimeTrigger,
) -> None:
    source = module(trigger.key)
    with StateStore(state_path, clock=lsq.now) as store:
        instance = trigger_instance(lsq.client, trigger.key, trigger.config)
        PollingEngine(store, clock=lsq.now).poll(instance, source, lsq.client, trigger.config)
    lsq.advance(3600)  # disabled for an hour
    while_off = trigger.make(lsq, "While Off")
    lsq.advance(3600)

    reconnected = type(lsq.client)(lsq.client.connection)  # a redeploy: new client, new store
    with reconnected, StateStore(state_path, clock=lsq.now) as store:
        again = trigger_instance(reconnected, trigger.key, dict(trigger.config))
        assert again == instance
        engine = PollingEngine(store, clock=lsq.now)
        result = engine.poll(again, source, reconnected, trigger.config)
        assert (result.baseline, result.emitted) == (False, 1)
        assert result.keys[0].startswith(while_off)
        other = trigger_instance(reconnected, trigger.key, trigger.other)
        assert other != instance
        assert engine.poll(other, source, reconnected, trigger.other).baseline is True


@by_key
def test_a_start_time_in_the_config_fires_for_existing_records(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    trigger: TimeTrigger,
) -> None:
    config = {**trigger.config, "since": SINCE}
    result = poll(lsq, make_engine(), trigger.key, config, start=config["since"])
    assert (result.baseline, result.emitted) == (False, len(trigger.seeded))
    events = events_of(lsq, state_store, trigger_manifest, trigger.key, config)
    assert tuple(e[trigger.event_id] for e in events) == trigger.seeded
    assert module(trigger.key).event_key(events[0]) == result.keys[0]


# -- each time-based trigger's own request ----------------------------------------------------


def test_new_account_asks_company_get_for_its_type_from_the_watermark(
    lsq: Sandbox, make_engine: Engine
) -> None:
    engine = make_engine()
    lsq.clear_log()
    first = poll(lsq, engine, "new_account", COMPANY)
    assert first.calls == 1
    [body] = logged_bodies(lsq, "CompanyManagement.svc/Company.Get")  # the baseline: now - 10 min
    assert body["Query"]["CompanyType"] == {"CompanyTypeName": "Company"}
    assert body["Query"]["DateRange"]["DateField"] == "CreatedOn"
    assert body["Query"]["DateRange"]["FromDate"] == "2025-06-01 11:50:00"
    assert body["Sorting"] == {"ColumnName": "CreatedOn", "Direction": "0"}
    assert body["Paging"] == {"PageIndex": 1, "PageSize": 1000}
    lsq.advance(60)
    lsq.clear_log()
    assert poll(lsq, engine, "new_account", COMPANY).calls == 1  # nothing new: the check only
    [body] = logged_bodies(lsq, "CompanyManagement.svc/Company.Get")
    assert body["Query"]["CompanyType"] == {"CompanyTypeName": "Company"}
    assert body["Query"]["DateRange"]["DateField"] == "CreatedOn"
    assert body["Query"]["DateRange"]["FromDate"] == "2025-06-01 11:50:00"  # watermark - 10 min
    assert body["Sorting"] == {"ColumnName": "CreatedOn", "Direction": "1"}  # newest first
    assert body["Paging"] == {"PageIndex": 1, "PageSize": 100}


def test_new_account_events_are_the_flat_accounts(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest
) -> None:
    engine = make_engine()
    poll(lsq, engine, "new_account", COMPANY)
    lsq.advance(60)
    alpha = lsq.create_account("Alpha Traders")
    poll(lsq, engine, "new_account", COMPANY)
    [event] = events_of(lsq, state_store, trigger_manifest, "new_account", COMPANY)
    assert event | {"CompanyId": alpha, "CompanyName": "Alpha Traders",
                    "CompanyType": "Company", "CreatedOn": "2025-06-01 12:01:00"} == event


# -- account_updated --------------------------------------------------------------------------


def test_account_updated_fires_once_per_change(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest
) -> None:
    engine = make_engine()
    assert poll(lsq, engine, "account_updated", COMPANY).baseline
    lsq.advance(60)
    lsq.update_account(ACME, City="Pune")
    lsq.clear_log()
    first = poll(lsq, engine, "account_updated", COMPANY)
    [body] = logged_bodies(lsq, "CompanyManagement.svc/Company.Get")  # one change: one check
    assert body["Query"]["DateRange"]["DateField"] == "ModifiedOn"
    assert body["Sorting"] == {"ColumnName": "ModifiedOn", "Direction": "1"}
    assert first.keys == (f"{ACME}@2025-06-01T12:01:00.000000Z",)
    assert poll(lsq, engine, "account_updated", COMPANY).emitted == 0
    lsq.advance(60)
    lsq.update_account(ACME, Stage="Churned")
    lsq.update_account(INITECH, Stage="Customer")
    second = poll(lsq, engine, "account_updated", COMPANY)
    assert second.emitted == 2
    assert poll(lsq, engine, "account_updated", COMPANY).emitted == 0

    events = events_of(lsq, state_store, trigger_manifest, "account_updated", COMPANY)
    assert [(e["account_id"], e["ModifiedOn"]) for e in events] == [
        (ACME, "2025-06-01 12:01:00"), (ACME, "2025-06-01 12:02:00"),
        (INITECH, "2025-06-01 12:02:00")]
    assert [e["City"] for e in events[:2]] == ["Pune", "Pune"]
    assert events[1]["Stage"] == "Churned"


# -- lead_added_to_list -----------------------------------------------------------------------


def test_lead_added_to_list_baseline_then_the_added_leads_then_nothing(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest
) -> None:
    config = {"list_name": "Newsletter"}
    engine = make_engine()
    lsq.clear_log()
    first = poll(lsq, engine, "lead_added_to_list", config)
    assert (first.baseline, first.emitted, first.complete) == (True, 0, True)
    # The account is asked once (the instance id is keyed by it), then the list and a page.
    assert lsq.operations() == ["Authentication.svc/UserByAccessKey.Get",
                                "LeadManagement.svc/Lists.Get",
                                "LeadManagement.svc/Leads/Retrieve/BySearchParameter"]
    [body] = logged_bodies(lsq, "LeadManagement.svc/Leads/Retrieve/BySearchParameter")
    assert body["SearchParameters"] == {"ListId": NEWSLETTER, "RetrieveBehaviour": "0"}

    lsq.add_to_list(NEWSLETTER, KAVYA)
    lsq.add_to_list(NEWSLETTER, LEAD_205)
    lsq.add_to_list(NEWSLETTER, PRIYA)  # already a member: not an addition
    second = poll(lsq, engine, "lead_added_to_list", config)
    assert (second.baseline, second.emitted) == (False, 2)
    assert poll(lsq, engine, "lead_added_to_list", config).emitted == 0

    events = events_of(lsq, state_store, trigger_manifest, "lead_added_to_list", config)
    assert [(e["lead_id"], e["list_id"]) for e in events] == [
        (KAVYA, NEWSLETTER), (LEAD_205, NEWSLETTER)]
    assert events[0]["FirstName"] == "Kavya" and events[0]["ProspectID"] == KAVYA
    assert module("lead_added_to_list").event_key(events[0]) == f"{KAVYA}@{NEWSLETTER}"


def test_a_list_member_page_larger_than_the_budget_resumes_and_a_re_add_fires_again(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_polling, "MEMBER_PAGE_SIZE", 2)
    config = {"list_id": NEWSLETTER}
    engine = make_engine(max_pages=1, max_calls=1)
    baseline = [poll(lsq, engine, "lead_added_to_list", config) for _ in range(2)]
    assert [(r.complete, r.calls) for r in baseline] == [(False, 1), (True, 1)]
    lsq.remove_from_list(NEWSLETTER, PRIYA)
    for _ in range(4):  # two complete scans without Priya: she leaves the snapshot
        poll(lsq, engine, "lead_added_to_list", config)
    lsq.add_to_list(NEWSLETTER, PRIYA)
    results = [poll(lsq, engine, "lead_added_to_list", config) for _ in range(2)]
    assert sum(r.emitted for r in results) == 1
    events = events_of(lsq, state_store, trigger_manifest, "lead_added_to_list", config)
    assert [e["lead_id"] for e in events] == [PRIYA]


def test_an_unknown_list_name_is_an_input_error(lsq: Sandbox) -> None:
    with pytest.raises(InputValidationError, match="no list is named 'Newsleter'"):
        module("lead_added_to_list").fetch_members(lsq.client, {"list_name": "Newsleter"}, 1)


# -- new_account_activity ---------------------------------------------------------------------


def test_new_account_activity_for_one_account(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_polling, "ACTIVITY_PAGE_SIZE", 2)
    config = {"account_id": ACME}
    engine = make_engine()
    assert poll(lsq, engine, "new_account_activity", config).baseline
    logged = []
    for n in range(3):
        lsq.advance(60)
        logged.append(lsq.log_activity(ACME, f"Call {n}"))
    lsq.log_activity(INITECH, "Not this account")
    lsq.clear_log()
    result = poll(lsq, engine, "new_account_activity", config)
    assert (result.emitted, result.pages) == (3, 2)
    bodies = logged_bodies(lsq, "CompanyActivity.svc/Retrieve")
    assert [b["Paging"] for b in bodies] == [{"PageIndex": "1", "PageSize": "2"},
                                             {"PageIndex": "2", "PageSize": "2"}]
    assert bodies[0]["Parameter"]["FromDate"] == "2025-06-01 11:50:00"
    assert poll(lsq, engine, "new_account_activity", config).emitted == 0

    events = events_of(lsq, state_store, trigger_manifest, "new_account_activity", config)
    assert [e["activity_id"] for e in events] == logged  # oldest first
    assert {e["account_id"] for e in events} == {ACME}
    assert events[0]["ActivityNote"] == "Call 0"


@pytest.mark.parametrize("range_field", ["CreatedOn", "ModifiedOn", "ActivityDateTime"])
def test_new_account_activity_finds_new_activities_whichever_date_the_range_bounds(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    range_field: str,
) -> None:
    # UNKNOWN in the reference: which date CompanyActivity.svc/Retrieve's FromDate/ToDate bound.
    lsq.running.app.state.tenants["41872"].settings["activity_range_field"] = range_field
    config = {"account_id": ACME}
    engine = make_engine()
    assert poll(lsq, engine, "new_account_activity", config).baseline
    lsq.advance(60)
    now = lsq.log_activity(ACME, "Logged now")
    ahead = lsq.client.post("CompanyActivity.svc/Create", {
        "RelatedCompanyId": ACME, "ActivityEvent": 10001, "ActivityNote": "A meeting far ahead",
        "ActivityDateTime": "2090-07-01 10:00:00"}, creates=True)["Message"]["Id"]
    lsq.clear_log()
    assert poll(lsq, engine, "new_account_activity", config).emitted == 2
    [body] = logged_bodies(lsq, "CompanyActivity.svc/Retrieve")
    assert body["Parameter"] == {"FromDate": "2025-06-01 11:50:00", "ToDate": "2099-12-31 23:59:59"}
    events = events_of(lsq, state_store, trigger_manifest, "new_account_activity", config)
    assert sorted(e["activity_id"] for e in events) == sorted([now, ahead])


def test_new_account_activity_for_a_company_type_within_the_call_budget(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_polling, "COMPANY_PAGE_SIZE", 2)
    monkeypatch.setattr(_polling, "ACTIVITY_PAGE_SIZE", 2)
    config = {"company_type": "Partners"}
    created = [lsq.create_account(f"Partner {n}", company_type="Partners") for n in range(3)]
    engine = make_engine(max_pages=2, max_calls=2)
    # 6 accounts (3 seeded, 3 new): 3 listing calls + 6 reads = 9 calls, 2 a poll.
    baseline = poll_until_complete(lsq, engine, "new_account_activity", config)
    assert [r.calls for r in baseline] == [2, 2, 2, 2, 1]
    assert all(r.baseline and r.emitted == 0 for r in baseline)

    lsq.advance(60)
    first, last = created[0], created[-1]
    expected = [lsq.log_activity(first, "one"), lsq.log_activity(first, "two")]
    expected += [lsq.log_activity(last, f"last {n}") for n in range(3)]  # two pages
    results = poll_until_complete(lsq, engine, "new_account_activity", config)
    assert all(r.calls <= 2 for r in results) and len(results) == 5  # 3 + 5 + 1 calls
    lsq.advance(60)
    # Logged on an account the next query reads early and on one it reads late.
    expected += [lsq.log_activity(first, "after"), lsq.log_activity(last, "after")]
    results += poll_until_complete(lsq, engine, "new_account_activity", config)
    results += poll_until_complete(lsq, engine, "new_account_activity", config)
    assert all(r.calls <= 2 for r in results)

    events = events_of(lsq, state_store, trigger_manifest, "new_account_activity", config)
    assert Counter(e["activity_id"] for e in events) == Counter(expected)  # once each
    assert {e["account_id"] for e in events} == {first, last}


# -- new_lead_activity ------------------------------------------------------------------------


def test_new_lead_activity_asks_for_its_type_from_the_watermark(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest
) -> None:
    engine = make_engine()
    lsq.clear_log()
    first = poll(lsq, engine, "new_lead_activity", {"activity_type": "product demo"})
    assert first.calls == 2  # the type's name looked up once per client, then a page
    assert lsq.operations()[-2:] == ["ProspectActivity.svc/ActivityTypes.Get",
                                     "ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent"]
    lsq.advance(60)
    made = lsq.log_lead_activity(ARJUN, "Demo for Arjun")
    lsq.clear_log()
    second = poll(lsq, engine, "new_lead_activity", {"activity_type": "product demo"})
    assert (second.calls, second.emitted) == (1, 1)
    [body] = logged_bodies(lsq, "ProspectActivity.svc/CustomActivity/RetrieveByActivityEvent")
    assert body == {
        "Parameter": {"FromDate": "2025-06-01 11:50:00", "ToDate": "2099-12-31 23:59:59",
                      "ActivityEvent": 201},
        "Sorting": {"ColumnName": "CreatedOn", "Direction": "0"},
        "Paging": {"PageIndex": 1, "PageSize": 100},
    }
    [event] = events_of(lsq, state_store, trigger_manifest, "new_lead_activity",
                        {"activity_type": "product demo"})
    assert (event["activity_id"], event["lead_id"], event["ActivityEvent"]) == (made, ARJUN, 201)
    assert (event["ActivityEventName"], event["ActivityNote"]) == ("Product Demo",
                                                                    "Demo for Arjun")
    assert event["CreatedOn"] == "2025-06-01 12:01:00"


@pytest.mark.parametrize("range_field", ["CreatedOn", "ModifiedOn"])
def test_new_lead_activity_finds_new_activities_whichever_date_the_range_bounds(
    lsq: Sandbox, make_engine: Engine, state_store: StateStore, trigger_manifest: Manifest,
    range_field: str,
) -> None:
    # UNKNOWN in the reference: which date RetrieveByActivityEvent's FromDate/ToDate bound.
    lsq.running.app.state.tenants["41872"].settings["lead_activity_range_field"] = range_field
    config = {"activity_type": 201}
    engine = make_engine()
    assert poll(lsq, engine, "new_lead_activity", config).baseline
    lsq.advance(60)
    new = lsq.log_lead_activity(PRIYA, "A new demo")
    lsq.client.post("ProspectActivity.svc/CustomActivity/Update", {  # an old one, changed now
        "ProspectActivityId": DEMOS[0], "ActivityEvent": 201, "ActivityNote": "edited"})
    result = poll(lsq, engine, "new_lead_activity", config)
    assert result.emitted == 1 and result.keys[0].startswith(new)  # the edit is not new
    assert poll(lsq, engine, "new_lead_activity", config).emitted == 0


# -- sample(): recent real records for `lsq run` ----------------------------------------------


@pytest.mark.parametrize(("key", "config", "expected"), [
    ("new_account", COMPANY, [INITECH, ACME]),
    ("account_updated", COMPANY, [ACME, INITECH]),
    ("lead_added_to_list", {"list_name": "Newsletter"},
     ["5b0a1e2c-7d3f-4c8e-a1b2-000000000204", "5b0a1e2c-7d3f-4c8e-a1b2-000000000202"]),
    ("new_account_activity", {"company_type": "Company"},
     ["5e2b8d41-7a9c-4f03-b6e2-000000000a01"]),
    ("new_lead_activity", {"activity_type": "Product Demo"}, list(reversed(DEMOS))),
    ("lead_activity_posted", {"activity_type": 201}, list(reversed(DEMOS))),
], ids=["new_account", "account_updated", "lead_added_to_list", "new_account_activity",
        "new_lead_activity", "lead_activity_posted"])
def test_samples_are_recent_real_records_in_the_event_shape(
    lsq: Sandbox, trigger_manifest: Manifest, key: str, config: dict[str, Any],
    expected: list[str],
) -> None:
    events = module(key).sample(lsq.client, config, 2)
    ids = {"new_account": "account_id", "account_updated": "account_id",
           "lead_added_to_list": "lead_id", "new_account_activity": "activity_id",
           "new_lead_activity": "activity_id", "lead_activity_posted": "activity_id"}[key]
    assert [e[ids] for e in events] == expected
    for event in events:
        assert trigger_manifest.trigger(key).output_problems(event) == []
