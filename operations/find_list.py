"""find_list: a list by exact name, of any or one list type (LeadManagement.svc/Lists.Get)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._common import find_result
from ._lists import close_names, list_by_name

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{"found": true, "list": {...}}``, or found false (an error naming close names)."""
    name, fail = inputs["name"], inputs["fail_if_not_found"]
    list_type = None if inputs["list_type"] == "any" else inputs["list_type"]
    found = list_by_name(client, name, list_type)
    looked_for = f"name '{name}'" + (f" of type {list_type}" if list_type else "")
    if found is None and fail:
        looked_for += f" ({close_names(client, name, list_type)})"
    return find_result("list", [found] if found else [], fail_if_not_found=fail,
                       looked_for=looked_for)
