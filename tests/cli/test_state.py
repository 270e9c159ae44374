"""``lsq state show|reset``: instances, cursors, inbox counts, subscriptions without secrets;
reset by instance or trigger, with or without a replay time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id
from tests.fakes import write_connection_file

ACCOUNT = "org-1@api-in21.leadsquared.com"
ACCOUNTS = instance_id("new_account", {"company_type": "Company"}, account=ACCOUNT)
PARTNERS = instance_id("new_account", {"company_type": "Partners"}, account=ACCOUNT)
LEADS = instance_id("new_lead", {}, account=ACCOUNT)
SECRET = "whsec-do-not-print-4711"


@pytest.fixture
def state(tmp_path: Path) -> str:
    path = str(tmp_path / "state.sqlite3")
    with StateStore(path) as store:
        store.put_cursor(ACCOUNTS, {"kind": "time", "watermark": "2025-06-01T12:00:00.000000Z",
                                    "floor": None, "seen": [["2025-06-01T12:00:00.000000Z", "a"]],
                                    "resume": None})
        store.put_cursor(PARTNERS, {"kind": "time", "watermark": None, "floor": None,
                                    "seen": [], "resume": None})
        Inbox(store).accept(ACCOUNTS, "a@2025-06-01T12:00:00.000000Z", {"CompanyId": "a"})
        store.save_subscription(Subscription(LEADS, "wh-1", SECRET,
                                             f"https://hooks.example.com/hooks/{LEADS}", "3"))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["state", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_show_lists_every_instance_without_secrets(
    state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "show", "--state", state, "--json")
    assert (code, err) == (0, "")
    assert SECRET not in out
    shown = json.loads(out)
    assert shown["path"] == state
    by_id = {entry["instance_id"]: entry for entry in shown["instances"]}
    assert sorted(by_id) == sorted([ACCOUNTS, PARTNERS, LEADS])
    accounts = by_id[ACCOUNTS]
    assert accounts["cursor"]["watermark"] == "2025-06-01T12:00:00.000000Z"
    assert accounts["cursor"]["seen_count"] == 1 and "seen" not in accounts["cursor"]
    assert (accounts["inbox"], accounts["dedupe_keys"]) == ({"pending": 1}, 1)
    assert by_id[LEADS]["subscription"] == {
        "instance_id": LEADS, "webhook_id": "wh-1", "event_code": "3",
        "receiver_url": f"https://hooks.example.com/hooks/{LEADS}",
        "created_at": by_id[LEADS]["subscription"]["created_at"],
    }


def test_show_filters_by_trigger_or_instance(
    state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "show", "--state", state, "--trigger", "new_account", "--json")
    assert sorted(e["instance_id"] for e in json.loads(out)["instances"]) == sorted(
        [ACCOUNTS, PARTNERS])
    _, out, _ = run(capsys, "show", "--state", state, "--instance", LEADS, "--json")
    assert [e["instance_id"] for e in json.loads(out)["instances"]] == [LEADS]


def test_show_prints_text_by_default(state: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "--state", state, "--trigger", "new_account")
    with StateStore(state) as store:
        cursors = {i: store.get_cursor(i) for i in (ACCOUNTS, PARTNERS)}
    updated = {i: cursor.updated_at for i, cursor in cursors.items() if cursor}
    first, second = sorted([ACCOUNTS, PARTNERS])
    lines = {
        ACCOUNTS: [
            ACCOUNTS,
            "  cursor: kind time, watermark 2025-06-01T12:00:00.000000Z, seen_count 1 (version 1, "
            f"updated {updated[ACCOUNTS]})",
            "  inbox: 1 pending",
            "  dedupe keys: 1; list snapshot members: 0",
        ],
        PARTNERS: [
            PARTNERS,
            f"  cursor: kind time, seen_count 0 (version 1, updated {updated[PARTNERS]})",
            "  inbox: empty",
            "  dedupe keys: 0; list snapshot members: 0",
        ],
    }
    assert code == 0
    assert out.splitlines() == [f"state: {state}", *lines[first], *lines[second]]
    _, out, _ = run(capsys, "show", "--state", state, "--instance", LEADS)
    with StateStore(state) as store:
        since = store.get_subscription(LEADS).created_at  # type: ignore[union-attr]
    assert out.splitlines()[1:] == [
        LEADS, "  cursor: none", "  inbox: empty", "  dedupe keys: 0; list snapshot members: 0",
        f"  subscription: webhook wh-1 (event 3) -> https://hooks.example.com/hooks/{LEADS}, "
        f"since {since}",
    ]
    assert SECRET not in out


def test_reset_prints_text_by_default(state: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "reset", "--instance", ACCOUNTS, "--state", state)[1] == (
        f"reset {ACCOUNTS}: its next poll takes a fresh baseline (only later records fire)\n")
    assert run(capsys, "reset", "--instance", PARTNERS, "--since", "2025-05-01", "--state",
               state)[1] == (
        f"reset {PARTNERS}: its next poll emits the records from 2025-05-01T00:00:00.000000Z "
        "on\n")
    assert run(capsys, "reset", "--instance", LEADS, "--state", state)[1] == (
        f"reset {LEADS}: its dedupe keys are forgotten (a delivery LeadSquared sends again "
        "runs again)\n")


def test_an_instant_trigger_is_not_replayed_from_a_time(
    state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "reset", "--trigger", "new_lead", "--since", "2025-05-01",
                         "--state", state)
    assert (code, out) == (1, "")
    assert err == (f"error: --since: {LEADS} is an instant trigger's (LeadSquared posts its "
                   "events; nothing is polled from a time) (leave --since out to forget its "
                   "dedupe keys, or name a polling trigger)\n")
    with StateStore(state) as store:
        assert store.get_cursor(LEADS) is None


def test_reset_an_instance_takes_a_fresh_baseline_and_keeps_the_inbox(
    state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "reset", "--instance", ACCOUNTS, "--state", state, "--json")
    assert (code, json.loads(out)) == (0, {"reset": [ACCOUNTS], "since": None})
    with StateStore(state) as store:
        assert store.get_cursor(ACCOUNTS).value == {}  # type: ignore[union-attr]
        assert store.get_cursor(PARTNERS).value["kind"] == "time"  # type: ignore[union-attr]
        assert Inbox(store).counts(ACCOUNTS)["pending"] == 1
        assert not store.seen(ACCOUNTS, "a@2025-06-01T12:00:00.000000Z")


def test_reset_a_trigger_since_a_time_replays_every_instance(
    state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "reset", "--trigger", "new_account", "--since",
                       "2025-05-01T05:30:00+05:30", "--state", state, "--json")
    assert code == 0
    assert json.loads(out) == {"reset": sorted([ACCOUNTS, PARTNERS]),
                               "since": "2025-05-01T00:00:00.000000Z"}
    with StateStore(state) as store:
        for instance in (ACCOUNTS, PARTNERS):
            cursor = store.get_cursor(instance)
            assert cursor is not None
            assert cursor.value == {"start": "2025-05-01T00:00:00.000000Z"}
        assert store.get_subscription(LEADS) is not None


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["reset"], 2, "lsq state reset: one of the arguments --trigger --instance is required"),
    (["reset", "--trigger", "account_updated"], 1, "error: no state for trigger account_updated"),
    (["reset", "--instance", "new_account-xyz"], 2, "lsq: --instance: 'new_account-xyz' is not"),
    (["reset", "--trigger", "new_account", "--since", "soon"], 1, "error: not a date and time"),
    (["show", "--trigger", "new_account", "--instance", LEADS], 2,
     "lsq state show: argument --instance: not allowed with argument --trigger"),
], ids=["no-selection", "unknown-trigger", "bad-instance", "bad-since", "both"])
def test_usage_and_errors(
    argv: list[str], code: int, message: str, state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result, out, err = run(capsys, *argv, "--state", state)
    assert (result, out) == (code, "")
    assert err.startswith(message)


def test_reset_then_invoke_replays_from_the_given_time(
    sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    connection = write_connection_file(tmp_path / "acme.yaml", sandbox.base_url)
    state = str(tmp_path / "state.sqlite3")
    invoke = ["invoke", "trigger", "new_account", "-c", '{"company_type": "Company"}',
              "--state", state, "--connection", str(connection), "--json", "--commit"]
    assert main(invoke) == 0
    assert json.loads(capsys.readouterr().out)["baseline"] is True
    assert main(["state", "reset", "--trigger", "new_account", "--since", "2025-01-01",
                 "--state", state]) == 0
    capsys.readouterr()
    assert main(invoke) == 0
    replay = json.loads(capsys.readouterr().out)
    assert [e["CompanyName"] for e in replay["events"]] == ["Acme Corp", "Initech Solutions"]
