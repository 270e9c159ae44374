"""Webhook bodies have depth and field-count limits: a body beyond them is a ``failed`` inbox
record answered 200 ``Status: Error`` (the receiver's contract for unusable verified
deliveries), never a 500, a traceback or a RecursionError; a body within them is stored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from werkzeug.test import Client

from runtime.engine.receiver import (
    MAX_BODY_DEPTH,
    MAX_BODY_FIELDS,
    SECRET_HEADER,
    WebhookReceiver,
    hook_path,
    receiver_url,
)
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id

INSTANCE = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
SECRET = "limits-secret-0123456789abcdef"
TOO_DEEP = f"Body JSON is nested too deeply (more than {MAX_BODY_DEPTH} levels)"
TOO_MANY = f"Body has more than {MAX_BODY_FIELDS} fields"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def nested(depth: int) -> dict:
    """An event whose containers nest ``depth`` levels (the event itself is level 1)."""
    value: object = "x"
    for _ in range(depth - 1):
        value = {"a": value}
    return {"ProspectID": "p", "Data": value} if depth > 1 else {"ProspectID": "p"}


def wide(fields: int) -> dict:
    """An event with ``fields`` members in all (``ProspectID`` included)."""
    return {"ProspectID": "p", **{f"f{i}": i for i in range(fields - 1)}}


def form(fields: int) -> bytes:
    return urlencode([("ProspectID", "p"), *((f"f{i}", "v") for i in range(fields - 1))]).encode()


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[WebhookReceiver, StateStore]]:
    with StateStore(tmp_path / "state.sqlite3") as store:
        store.save_subscription(Subscription(
            INSTANCE, "wh-1", SECRET, receiver_url("https://h.example.com", INSTANCE), "1"))
        yield WebhookReceiver(store, max_body_bytes=8 * 1024 * 1024), store


@pytest.mark.parametrize(("body", "content_type", "refused"), [
    (json.dumps(nested(MAX_BODY_DEPTH)).encode(), JSON, None),
    (json.dumps(nested(MAX_BODY_DEPTH + 1)).encode(), JSON, TOO_DEEP),
    (json.dumps([nested(MAX_BODY_DEPTH - 1)]).encode(), JSON, None),  # the array is a level
    (json.dumps([nested(MAX_BODY_DEPTH)]).encode(), JSON, TOO_DEEP),
    (b"[" * 100_000 + b"]" * 100_000, JSON, TOO_DEEP),  # beyond the interpreter's recursion
    (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, JSON, TOO_DEEP),
    (json.dumps(wide(MAX_BODY_FIELDS)).encode(), JSON, None),
    (json.dumps(wide(MAX_BODY_FIELDS + 1)).encode(), JSON, TOO_MANY),
    (json.dumps([{"ProspectID": str(i)} for i in range(MAX_BODY_FIELDS // 2)]).encode(), JSON,
     None),
    (json.dumps([{"ProspectID": str(i)} for i in range(MAX_BODY_FIELDS)]).encode(), JSON,
     TOO_MANY),  # the array's items count too
    (form(MAX_BODY_FIELDS), FORM, None),
    (form(MAX_BODY_FIELDS + 1), FORM, TOO_MANY),
    (b"a=1&" * 500_000, FORM, TOO_MANY),
    (json.dumps(nested(MAX_BODY_DEPTH + 1)).encode(), FORM, TOO_DEEP),  # a form body that is JSON
], ids=["json-depth-at-limit", "json-depth-over", "array-depth-at-limit", "array-depth-over",
        "brackets-100k-deep", "objects-100k-deep", "json-fields-at-limit", "json-fields-over",
        "array-items-within", "array-items-over", "form-fields-at-limit", "form-fields-over",
        "form-500k-fields", "form-json-too-deep"])
def test_body_limits(
    receiver: tuple[WebhookReceiver, StateStore], body: bytes, content_type: str,
    refused: str | None,
) -> None:
    app, store = receiver
    started = time.monotonic()
    response = Client(app).post(hook_path(INSTANCE), data=body, content_type=content_type,
                                headers={SECRET_HEADER: SECRET})
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    items = Inbox(store).items()
    if refused is None:
        assert response.get_json() == {"Status": "Success"}
        assert items and all(item.status == "pending" for item in items)
    else:
        assert response.get_json() == {"Status": "Error", "StatusReason": refused}
        [item] = items
        assert (item.status, item.error) == ("failed", refused)
