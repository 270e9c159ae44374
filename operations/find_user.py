"""find_user: one active user by id (User/Retrieve/ByUserId) or email (ByEmailAddress)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._common import find_result
from ._users import BY_EMAIL, BY_ID, users_of

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{found, user}``; an inactive or unknown user is found false (LeadSquared answers [])."""
    if "user_id" in inputs:
        answer, looked_for = client.get(BY_ID, {"userId": inputs["user_id"]}), inputs["user_id"]
    else:
        email = inputs["email"]
        answer, looked_for = client.get(BY_EMAIL, {"emailAddress": email}), email
    return find_result("user", users_of(answer, active=True),
                       fail_if_not_found=inputs["fail_if_not_found"],
                       looked_for=f"id or email {looked_for} (active users only)")
