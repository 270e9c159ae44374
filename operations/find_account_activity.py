"""find_account_activity: one account activity by id (CompanyActivity.svc/RetrieveById), or an
account's activities in a date range, a page at a time (CompanyActivity.svc/Retrieve)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import RecordNotFoundError

from ._account_activities import RETRIEVE, activity_record, date_range, retrieve_by_id
from ._common import find_result, records

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{found, activity}`` by id, or ``{found, activities, record_count, has_more}``."""
    if "activity_id" in inputs:
        return find_result(
            "activity", retrieve_by_id(client, inputs["activity_id"]),
            fail_if_not_found=inputs["fail_if_not_found"],
            looked_for=f"CompanyActivityId {inputs['activity_id']}",
        )
    page, size = inputs["page"], inputs["page_size"]
    parameter = date_range(inputs["from_date"], inputs.get("to_date"))
    # The docs' example sends the paging values as text (reference §6), as the trigger does.
    body = {"Parameter": parameter, "Paging": {"PageIndex": str(page), "PageSize": str(size)}}
    answer = client.post(RETRIEVE, body, params={"companyId": inputs["account_id"]})
    rows = [activity_record(row) for row in records(answer, "CompanyActivities")]
    count = answer.get("RecordCount") if isinstance(answer, Mapping) else None
    total = int(count or len(rows))
    if not total and inputs["fail_if_not_found"]:
        raise RecordNotFoundError(
            f"no activity on account {inputs['account_id']} between {parameter['FromDate']} "
            f"and {parameter['ToDate']}",
            hint="set fail_if_not_found to false to get found: false instead",
        )
    return {"found": total > 0, "activities": rows, "record_count": total,
            "has_more": page * size < total}
