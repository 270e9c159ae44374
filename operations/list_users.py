"""list_users: the account's users by status and role (UserManagement.svc/Users.Get)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._users import ACTIVE, INACTIVE, LIST, users_of

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

STATUSES = {"active": {ACTIVE}, "inactive": {INACTIVE}, "all": {ACTIVE, INACTIVE}}


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{users, count}``: read fresh each time (the cached copy serves owner look-ups only)."""
    wanted = STATUSES[inputs["status"]]
    role = str(inputs.get("role") or "").strip().lower()
    users = [user for user in users_of(client.get(LIST))
             if user.get("StatusCode", ACTIVE) in wanted
             and (not role or str(user.get("Role") or "").strip().lower() == role)]
    return {"users": users, "count": len(users)}
