"""find_lead_activity: one lead activity by id (ProspectActivity.svc/GetActivityDetails), or a
lead's activities, of one type and between two dates, a page at a time (ProspectActivity.svc/
Retrieve?leadId=)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.lead_activity import RETRIEVE, activity_record
from runtime.api.lsq_format import format_datetime
from runtime.errors import InputValidationError, PermanentApiError, RecordNotFoundError

from ._common import find_result
from ._lead_activities import MAX_ROWS, activity_type, details, of_lead
from ._leads import lead_id_of

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``{found, activity}`` by id, or ``{found, activities, record_count, has_more}``."""
    if "activity_id" in inputs:
        answer = details(client, inputs["activity_id"])
        return find_result(
            "activity", [activity_record(answer)] if answer else [],
            fail_if_not_found=inputs["fail_if_not_found"],
            looked_for=f"ProspectActivityId {inputs['activity_id']}",
        )
    page, size = inputs["page"], inputs["page_size"]
    if page * size > MAX_ROWS:
        raise InputValidationError("page out of reach", [
            f"page: page {page} of {size} reaches past the {MAX_ROWS} activities one request "
            "reads; use a smaller page or page_size, or narrow with activity_type and dates"])
    code = activity_type(client, inputs)["ActivityEvent"] if "activity_type" in inputs else None
    lead = lead_id_of(client, inputs)
    rows, total = of_lead(client, lead, code)
    _check_complete(len(rows), total, typed=code is not None)
    matches = sorted((row for row in rows if _in_range(row, inputs)),
                     key=lambda row: (row.get("CreatedOn") or "", row["ProspectActivityId"]),
                     reverse=True)
    if not matches and inputs["fail_if_not_found"]:
        raise RecordNotFoundError(
            f"no activity on lead {lead} matches",
            hint="set fail_if_not_found to false to get found: false instead",
        )
    start = (page - 1) * size
    return {"found": bool(matches), "activities": matches[start:start + size],
            "record_count": len(matches), "has_more": start + size < len(matches)}


def _check_complete(read: int, total: int, *, typed: bool) -> None:
    """The answer holds every activity RecordCount promises (the newest are among them only
    then, whatever order LeadSquared answers in)."""
    if total > MAX_ROWS:
        fix = ("they cannot be paged in order here; use api_call with "
               "ProspectActivity.svc/Retrieve" if typed else "give an activity_type to narrow them")
        raise InputValidationError("too many activities to read", [
            f"activity_type: the lead has {total} activities{' of this type' if typed else ''}, "
            f"more than the {MAX_ROWS} one request reads; {fix}"])
    if read < total:
        raise PermanentApiError(
            f"LeadSquared answered {read} of the lead's {total} activities (it may cap "
            f"RowCount below {MAX_ROWS})", operation=RETRIEVE,
            hint="narrow with activity_type; the rest cannot be read in order",
        )


def _in_range(row: Mapping[str, Any], inputs: Mapping[str, Any]) -> bool:
    created = row.get("CreatedOn") or ""
    if "from_date" in inputs and created < format_datetime(inputs["from_date"]):
        return False
    return not ("to_date" in inputs and created > format_datetime(inputs["to_date"]))
