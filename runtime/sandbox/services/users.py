"""UserManagement.svc: the account's users (reference §11)."""

from __future__ import annotations

from typing import Any

from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router

router = Router()

# The documented keys of a user, in order, with the value used when the seed has none.
USER_DEFAULTS: dict[str, Any] = {
    "ID": None, "FirstName": None, "LastName": None, "EmailAddress": None, "Role": None,
    "StatusCode": 0, "MemberOfGroups": None, "Tag": None, "IsPhoneCallAgent": False,
}


def user_record(user: dict[str, Any]) -> dict[str, Any]:
    """A user as the API returns it: the documented keys first, then any seeded extras."""
    record = {key: user.get(key, default) for key, default in USER_DEFAULTS.items()}
    record["StatusCode"] = int(record["StatusCode"] or 0)
    record.update({k: v for k, v in user.items() if k not in record})
    return record


# The keys of User/Retrieve/ByUserId and ByEmailAddress answers, from the docs' sample (reference
# §11, S67): the id is ``UserId`` there (``ID`` in Users.Get) and no StatusCode is sent (these
# reads answer active users only).
DETAIL_KEYS = ("UserId", "FirstName", "LastName", "EmailAddress", "Role", "IsPhoneCallAgent",
               "TimeZone", "UserType")


def detail_record(user: dict[str, Any]) -> dict[str, Any]:
    """A user as the single-user reads return one: ``UserId`` and the documented keys."""
    listed = user_record(user)
    detail = {"UserId": listed["ID"], "TimeZone": user.get("TimeZone"), "UserType": 0,
              **{key: listed[key] for key in DETAIL_KEYS if key in listed}}
    detail.update({k: v for k, v in user.items() if k not in USER_DEFAULTS and k not in detail})
    return {key: detail[key] for key in [*DETAIL_KEYS, *detail] if key in detail}


def _active(user: dict[str, Any]) -> bool:
    return int(user.get("StatusCode", 0) or 0) == 0


@router.route("UserManagement.svc/Users.Get", "GET")
def users_get(request: SandboxRequest) -> list[dict[str, Any]]:
    """Every user of the account, active (StatusCode 0) and inactive (1)."""
    return [user_record(user) for user in request.tenant.users.values()]


@router.route("UserManagement.svc/User/Retrieve/ByUserId", "GET")
def by_user_id(request: SandboxRequest) -> list[dict[str, Any]]:
    """``[user]``; ``[]`` when the user is missing or inactive."""
    wanted = (request.arg("userId") or "").strip().lower()
    return [
        detail_record(user) for user in request.tenant.users.values()
        if wanted and str(user["ID"]).lower() == wanted and _active(user)
    ]


@router.route("UserManagement.svc/User/Retrieve/ByEmailAddress", "GET")
def by_email(request: SandboxRequest) -> list[dict[str, Any]]:
    """``[user]`` by email (case-insensitive); ``[]`` when missing or inactive."""
    wanted = (request.arg("emailAddress") or "").strip().lower()
    return [
        detail_record(user) for user in request.tenant.users.values()
        if wanted and str(user.get("EmailAddress", "")).lower() == wanted and _active(user)
    ]
