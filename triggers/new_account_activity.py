"""New Account Activity: activities logged against one account, or against every account of
one Company Type, since the last poll.

Reads ``CompanyActivity.svc/Retrieve?companyId=`` with ``Parameter.FromDate`` at the engine's
cursor (runtime.engine.polling). For ``account_id`` a query is that account's pages. For
``company_type`` one query fans out: it lists the type's account ids with Company.Get
(``CreatedOn`` ascending, 1000 a page), then reads each account's activities, one API call per
page, the position kept in the page token ``{"accounts": [ids still to read], "page": n}``,
so a poll stops at its call budget and the next poll resumes at that account and page.
``FAN_OUT`` makes the engine cap the watermark at the time the query started: an activity
logged on an account already read (or on a new account) while the query runs is read by the
next query. The key is ``<CompanyActivityId>@<CreatedOn>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from runtime.plugin.polling_contract import Page

from . import _polling

ID_FIELD = "CompanyActivityId"
TIME_FIELD = "CreatedOn"
FAN_OUT = True


def fetch_page(client: Any, config: Mapping[str, Any], since: datetime, page: Any) -> Page:
    """One API call: a page of one account's activities, or a page of the type's accounts."""
    if config.get("account_id"):
        rows, more = _polling.activities_page(client, str(config["account_id"]), since, page)
        return Page(rows, has_more=more)
    token = page if isinstance(page, Mapping) else {"list_page": 1, "accounts": []}
    if "list_page" in token:
        return _list_accounts(client, str(config["company_type"]), token)
    accounts, number = list(token["accounts"]), int(token["page"])
    rows, more = _polling.activities_page(client, accounts[0], since, number)
    if more:
        following: dict[str, Any] | None = {"accounts": accounts, "page": number + 1}
    else:
        following = {"accounts": accounts[1:], "page": 1} if len(accounts) > 1 else None
    return Page(rows, has_more=following is not None, next_page=following)


def _list_accounts(client: Any, company_type: str, token: Mapping[str, Any]) -> Page:
    """The listing step of a fan-out: no events, the ids gathered into the next token."""
    ids, more = _polling.account_ids_page(client, company_type, int(token["list_page"]))
    accounts = list(dict.fromkeys([*token["accounts"], *ids]))
    if more:
        return Page([], has_more=True,
                    next_page={"list_page": int(token["list_page"]) + 1, "accounts": accounts})
    if not accounts:
        return Page([], has_more=False)
    return Page([], has_more=True, next_page={"accounts": accounts, "page": 1})


def events(client: Any, config: Mapping[str, Any], item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One event: the activity with ``activity_id`` and ``account_id``."""
    return [_polling.activity_event(item)]


def event_key(item: Mapping[str, Any]) -> str:
    """``<CompanyActivityId>@<CreatedOn>``."""
    return _polling.time_key(item, ID_FIELD, TIME_FIELD)


def sample(client: Any, config: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """The newest activities of the account (or of the type's first accounts), as events."""
    return _polling.activity_sample(client, config, limit)
