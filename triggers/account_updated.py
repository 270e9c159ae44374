"""Account Updated: accounts of one Company Type modified since the last poll.

Polls ``CompanyManagement.svc/Company.Get`` with ``DateRange.DateField = ModifiedOn``
(CONFIRMED, reference §5.3), sorted by ModifiedOn ascending. Each change fires once: the key
is ``<CompanyId>@<ModifiedOn>``, so a later change of the same account is a new event. A new
account counts as a change too (its ModifiedOn is set when it is created).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.plugin.polling_contract import Page

from . import _polling

ID_FIELD = "CompanyId"
TIME_FIELD = "ModifiedOn"


def fetch_page(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """Page ``page`` of the accounts of the configured type modified at or after ``since``."""
    return _polling.account_page(client, config, TIME_FIELD, since, page)


def fetch_newest(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """The same query newest first, with its RecordCount (the engine's check of its window)."""
    return _polling.account_page(client, config, TIME_FIELD, since, page, newest_first=True)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the account as modified, flat, with ``account_id``."""
    return [_polling.account_event(item)]


def event_key(item: Mapping[str, Any]) -> str:
    """``<CompanyId>@<ModifiedOn>``: one key per change."""
    return _polling.time_key(item, ID_FIELD, TIME_FIELD)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The type's most recently modified accounts, as events."""
    return _polling.account_sample(client, config, TIME_FIELD, limit)
