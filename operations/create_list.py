"""create_list: a new, empty static list (LeadSegmentation.svc/CreateEmptyList)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._common import message_value
from ._lists import CREATE

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Create the list; returns its ``list_id``. A name in use is MXDuplicateEntryException."""
    body = {"Name": inputs["name"].strip()}
    if "description" in inputs:
        body["Description"] = inputs["description"]
    answer = client.post(CREATE, body, creates=True)
    return {"list_id": message_value(answer, "Id", CREATE)}
