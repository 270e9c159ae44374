"""User reads shared by the Users actions (UserManagement.svc, reference §11).

Users.Get lists every user with ``ID`` and ``StatusCode``; the single-user reads
(User/Retrieve/ByUserId, ByEmailAddress) answer ``[user]`` with ``UserId`` and no status, and
``[]`` for a missing or inactive user (the docs' sample). :func:`user_record` gives both the
one shape of schemas/common/user.json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

BY_ID = "UserManagement.svc/User/Retrieve/ByUserId"
BY_EMAIL = "UserManagement.svc/User/Retrieve/ByEmailAddress"
LIST = "UserManagement.svc/Users.Get"
ACTIVE, INACTIVE = 0, 1  # Users.Get StatusCode (reference §11)
#: Values kept as lists (Users.Get's group names); any other nested value becomes JSON text.
LIST_VALUES = frozenset({"MemberOfGroups"})


def user_record(raw: Mapping[str, Any], *, active: bool = False) -> dict[str, Any]:
    """A user with ``ID`` (from ID or UserId) and ``StatusCode`` (``active``: the single-user
    reads answer active users only, so a missing status is 0)."""
    record = {"ID": str(raw.get("ID") or raw.get("UserId") or "")}
    record.update({name: _value(name, value) for name, value in raw.items() if name != "ID"})
    status = raw.get("StatusCode")
    if status is None and active:
        status = ACTIVE
    if status is not None:
        record["StatusCode"] = int(status)
    return record


def users_of(answer: Any, *, active: bool = False) -> list[dict[str, Any]]:
    """The users of a read's answer (a bare array), as records; items without an id dropped."""
    items = answer if isinstance(answer, list) else []
    return [user_record(item, active=active) for item in items
            if isinstance(item, Mapping) and (item.get("ID") or item.get("UserId"))]


def _value(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if name in LIST_VALUES and isinstance(value, list):
        return [str(item) for item in value]
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
