"""send_email: one email to an existing lead (EmailMarketing.svc/SendEmailToLead)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.errors import PermanentApiError

from ._emails import SEND, explained, send_body, sent_output

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


def run(client: LeadSquaredClient, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Send (or schedule) the email; never retried once it may have been sent."""
    body = send_body(client, inputs)
    try:
        answer = client.post(SEND, body, creates=True)
    except PermanentApiError as error:
        raise explained(error) from error
    return sent_output(answer)
