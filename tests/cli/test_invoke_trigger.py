"""``lsq invoke trigger``: one poll (dry run or --commit) for polling triggers, samples for
instant ones; in-process (``main(argv)`` + capsys) on the embedded sandbox and on the test
sandbox through a connection file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.cli import main
from runtime.plugin.manifest import ROOT_ENV, Manifest
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore
from tests.seed_ids import KAVYA, NEWSLETTER

POLLING = ("new_account", "account_updated", "lead_added_to_list", "new_account_activity")


@pytest.fixture(autouse=True)
def no_account_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST", "LSQ_STATE_DB", ROOT_ENV):
        monkeypatch.delenv(name, raising=False)


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["invoke", "trigger", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else out), err


@pytest.mark.parametrize("key", POLLING)
def test_each_polling_trigger_runs_its_sample_input_on_the_embedded_sandbox(
    key: str, manifest: Manifest, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = json.dumps(manifest.trigger(key).sample_input)
    code, report, _ = invoke(capsys, key, "-c", sample, "--state", state, "--json")
    assert code == 0
    assert (report["trigger"], report["kind"], report["committed"]) == (key, "polling", False)
    assert report["baseline"] is True and report["events"] == []
    assert report["instance_id"].startswith(f"{key}-")
    with StateStore(state) as store:
        assert store.show()["instances"] == []  # a dry run writes nothing


def test_a_dry_run_shows_new_events_and_commit_moves_the_cursor(
    connection_file: str, state: str, raw_api: Any, capsys: pytest.CaptureFixture[str],
    manifest: Manifest,
) -> None:
    args = ("new_account", "-c", '{"company_type": "Company"}', "--state", state,
            "--connection", connection_file, "--json")
    code, baseline, _ = invoke(capsys, *args, "--commit")
    assert (code, baseline["baseline"], baseline["committed"]) == (0, True, True)
    created = raw_api.post("CompanyManagement.svc/Company.Create", {
        "CompanyType": {"CompanyTypeName": "Company"},
        "CompanyProperties": [{"Attribute": "CompanyName", "Value": "Wayne Enterprises"}],
    }).json()["Message"]["Id"]
    with StateStore(state) as store:
        before = store.get_cursor(baseline["instance_id"])

    for _ in range(2):  # dry runs: same answer, state untouched
        code, dry, _ = invoke(capsys, *args)
        assert (code, dry["committed"], dry["baseline"]) == (0, False, False)
        assert [e["account_id"] for e in dry["events"]] == [created]
        assert dry["events"][0]["CompanyName"] == "Wayne Enterprises"
        assert manifest.trigger("new_account").output_problems(dry["events"][0]) == []
    with StateStore(state) as store:
        assert store.get_cursor(baseline["instance_id"]) == before
        assert Inbox(store).items() == []

    code, committed, _ = invoke(capsys, *args, "--commit")
    assert [e["account_id"] for e in committed["events"]] == [created]
    with StateStore(state) as store:
        [queued] = Inbox(store).items(baseline["instance_id"])
        assert (queued.status, queued.payload["CompanyId"]) == ("pending", created)
    code, after, _ = invoke(capsys, *args, "--commit")
    assert (code, after["events"]) == (0, [])


def test_since_starts_a_first_poll_in_the_past(
    connection_file: str, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, _ = invoke(capsys, "new_account", "-c", '{"company_type": "Company"}',
                             "--since", "2025-01-01 00:00:00", "--state", state,
                             "--connection", connection_file, "--json")
    assert (code, report["baseline"]) == (0, False)
    assert [e["CompanyName"] for e in report["events"]] == ["Acme Corp", "Initech Solutions"]


def test_list_trigger_dry_run_leaves_the_snapshot_alone(
    connection_file: str, state: str, raw_api: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("lead_added_to_list", "-c", '{"list_name": "Newsletter"}', "--state", state,
            "--connection", connection_file, "--json")
    code, baseline, _ = invoke(capsys, *args, "--commit")
    assert (code, baseline["baseline"], baseline["calls"]) == (0, True, 2)
    raw_api.post("LeadManagement.svc/AddLeadToStaticList", listId=NEWSLETTER, leadId=KAVYA)
    with StateStore(state) as store:
        before = store.show()

    code, dry, _ = invoke(capsys, *args)
    assert [(e["lead_id"], e["list_id"]) for e in dry["events"]] == [(KAVYA, NEWSLETTER)]
    with StateStore(state) as store:
        assert store.show() == before

    code, committed, _ = invoke(capsys, *args, "--commit")
    assert [e["lead_id"] for e in committed["events"]] == [KAVYA]
    code, after, _ = invoke(capsys, *args)
    assert after["events"] == []


def test_people_get_pretty_json_and_a_note(
    connection_file: str, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["invoke", "trigger", "new_account_activity", "-c",
                 '{"account_id": "9c1d7e2a-5b3f-4e8a-9d10-000000000101"}', "--state", state,
                 "--connection", connection_file])
    out, err = capsys.readouterr()
    assert code == 0 and out.startswith('{\n  "trigger": "new_account_activity"')
    assert err == ("first poll (a baseline): 0 new events; dry run: nothing was written "
                   "(use --commit to advance the cursor)\n")


@pytest.mark.parametrize(("argv", "message"), [
    (["new_account", "-c", "{}"], "error: invalid input for new_account: $: 'company_type' is a "
                                  "required property"),
    (["new_acount"], "error: unknown trigger 'new_acount'"),
    (["lead_added_to_list", "-c", '{"list_name": "Newsletter"}', "--since", "2025-01-01"],
     "error: --since does not apply to lead_added_to_list"),
    (["lead_added_to_list", "-c", '{"list_name": "Nope"}'],
     "error: the list to watch does not exist: list_name: no list is named 'Nope'"),
    (["new_account", "-c", '{"company_type": "Company"}', "--since", "yesterday"],
     "error: not a date and time"),
], ids=["config", "unknown-key", "since-on-a-list", "unknown-list", "bad-since"])
def test_errors_are_one_line(
    argv: list[str], message: str, connection_file: str, state: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["invoke", "trigger", *argv, "--state", state, "--connection", connection_file])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(message) and err.count("\n") == 1


def test_an_instant_trigger_prints_recent_records(
    connection_file: str, state: str, manifest: Manifest, capsys: pytest.CaptureFixture[str]
) -> None:
    if not callable(getattr(manifest.trigger("new_lead").handler_module(), "sample", None)):
        pytest.skip("triggers.new_lead has no sample() yet")
    code, report, _ = invoke(capsys, "new_lead", "--limit", "2", "--state", state,
                             "--connection", connection_file, "--json")
    assert (code, report["kind"]) == (0, "instant")
    assert 1 <= len(report["events"]) <= 2
    for event in report["events"]:
        assert manifest.trigger("new_lead").output_problems(event) == []
