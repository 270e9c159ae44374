"""The one-time move of a trigger instance's rows from its former id (API host + access key
hash) to the account's id, on SQLite and on PostgreSQL: state and run history, once, never
merging two states."""

from __future__ import annotations

from runtime.store.inbox import Inbox
from runtime.store.instance_rename import rename_instance
from runtime.store.state import Subscription
from runtime.store.storage import Storage

OLD = "new_lead-0123456789abcdef0123"
NEW = "new_lead-fedcba9876543210fedc"


def test_every_row_of_the_former_id_moves_once(storage: Storage) -> None:
    state, history = storage.state, storage.history
    state.put_cursor(OLD, {"kind": "time", "watermark": "2025-01-01T00:00:00Z"})
    Inbox(state).accept(OLD, "lead-1@1", {"ProspectID": "lead-1"})
    state.save_subscription(Subscription(OLD, "wh-1", "s3cret", "https://x/hooks/old", "3"))
    run = history.start_run(workflow="welcome", trigger_key="new_lead", origin="webhook",
                            event={"ProspectID": "lead-1"}, instance_id=OLD,
                            event_key="lead-1@1#0")
    assert run is not None

    moved = [rename_instance(store.db, OLD, NEW) for store in (state, history)]
    assert moved[0] is True  # on PostgreSQL one database: the history moved with the state
    assert state.get_cursor(OLD) is None and state.get_cursor(NEW) is not None
    assert [item.event_key for item in Inbox(state).items(NEW)] == ["lead-1@1"]
    assert state.get_subscription(NEW).webhook_id == "wh-1"
    assert history.has_run("welcome", NEW, "lead-1@1#0")
    assert not history.has_run("welcome", OLD, "lead-1@1#0")
    assert rename_instance(state.db, OLD, NEW) is False  # nothing left to move


def test_state_already_under_the_new_id_is_never_merged(storage: Storage) -> None:
    state = storage.state
    state.put_cursor(OLD, {"kind": "time", "note": "old"})
    state.put_cursor(NEW, {"kind": "time", "note": "new"})
    assert rename_instance(state.db, OLD, NEW) is False
    assert state.get_cursor(OLD).value["note"] == "old"
    assert state.get_cursor(NEW).value["note"] == "new"
