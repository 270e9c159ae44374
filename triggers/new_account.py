"""New Account: accounts of one Company Type created since the last poll.

Polls ``CompanyManagement.svc/Company.Get`` with ``DateRange.DateField = CreatedOn`` from the
engine's cursor, sorted by CreatedOn ascending (runtime.engine.polling: overlap, ties, budget). An
account is created once, so it fires once: the key is ``<CompanyId>@<CreatedOn>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.plugin.polling_contract import Page

from . import _polling

ID_FIELD = "CompanyId"
# LIKELY: the schema name of the created-on date field of Company.Get's DateRange (§5.3/§14).
TIME_FIELD = "CreatedOn"


def fetch_page(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """Page ``page`` of the accounts of the configured type created at or after ``since``."""
    return _polling.account_page(client, config, TIME_FIELD, since, page)


def fetch_newest(client: Any, config: Mapping[str, Any], since: datetime, page: int) -> Page:
    """The same query newest first, with its RecordCount (the engine's check of its window)."""
    return _polling.account_page(client, config, TIME_FIELD, since, page, newest_first=True)


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the account, flat, with ``account_id``."""
    return [_polling.account_event(item)]


def event_key(item: Mapping[str, Any]) -> str:
    """``<CompanyId>@<CreatedOn>``."""
    return _polling.time_key(item, ID_FIELD, TIME_FIELD)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The type's most recently created accounts, as events."""
    return _polling.account_sample(client, config, TIME_FIELD, limit)
