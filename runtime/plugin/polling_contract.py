"""What a polling trigger module provides to the polling engine (:mod:`runtime.engine.polling`).

A time-based trigger is a :class:`TimeBasedSource` (``ID_FIELD``, ``TIME_FIELD``,
``fetch_page``), a membership trigger a :class:`MembershipSource` (``ID_FIELD``,
``fetch_members``); each fetch returns a :class:`Page` (with ``total``, the query's record
count, when the API answers one). The engine owns cursors, ordering, dedupe and budgets;
``DEFAULT_OVERLAP`` is the window it re-reads to catch late records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

DEFAULT_OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Page:
    """One page of a fetch: its items, whether more pages follow, and the API calls it took."""

    items: Sequence[Mapping[str, Any]]
    has_more: bool
    calls: int = 1
    next_page: Any = None  # the next ``page`` when it is not ``page + 1`` (JSON-able token)
    total: int | None = None  # records the whole query matches (the API's RecordCount), if given


class TimeBasedSource(Protocol):
    """A trigger module that fetches records by time (a module satisfies it structurally)."""

    ID_FIELD: str
    TIME_FIELD: str
    # Optional ``FAN_OUT = True``: one query reads several endpoints (see the module doc).

    def fetch_page(
        self, client: Any, config: Mapping[str, Any], since: datetime, page: Any
    ) -> Page:
        """Page ``page`` (1-based, or the ``next_page`` token of the previous page) of the
        records with ``TIME_FIELD >= since`` (UTC).

        Sort by ``TIME_FIELD`` ascending where the API allows (then a budget cut is also a
        time cut); any stable order works.
        """
        ...

    # Optional ``fetch_newest(client, config, since, page) -> Page``: the same query sorted by
    # ``TIME_FIELD`` descending (1-based pages), each page with ``total``. With it the engine
    # checks an unchanged window in one call (see runtime.engine.polling).


class MembershipSource(Protocol):
    """A trigger module that lists the current members of a set (e.g. a static list)."""

    ID_FIELD: str

    def fetch_members(self, client: Any, config: Mapping[str, Any], page: int) -> Page:
        """Page ``page`` (1-based) of all current members, in a stable order; one API call."""
        ...
