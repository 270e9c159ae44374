"""delete_account_activity: delete an account activity by id.

The endpoint is UNCONFIRMED: LeadSquared documents no delete for account activities; the
connector calls GET CompanyActivity.svc/Delete?activityId= (see ``_account_activities.DELETE``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import NotFoundError

from ._account_activities import DELETE, retrieve_by_id
from ._deletes import delete_record

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

UNCONFIRMED_HINT = (
    "LeadSquared does not document deleting account activities and this account's API has no "
    f"{DELETE}; delete the activity in the LeadSquared app instead"
)


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Look the activity up (RetrieveById, documented), then delete it (operations._deletes);
    a 404 (no such API operation) says the endpoint is unconfirmed."""
    activity_id = inputs["activity_id"]
    try:
        deletion = delete_record(
            exists=lambda: bool(retrieve_by_id(client, activity_id)),
            send=lambda: client.get(DELETE, {"activityId": activity_id}),
        )
    except NotFoundError as error:
        raise NotFoundError(
            error.message, operation=error.operation, status=error.status,
            exception_type=error.exception_type, hint=UNCONFIRMED_HINT,
        ) from error
    return {"activity_id": activity_id, **deletion.fields()}
