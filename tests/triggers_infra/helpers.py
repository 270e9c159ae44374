"""Fakes for the trigger infrastructure tests: a clock and in-memory LeadSquared sources."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.plugin.polling_contract import Page

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    """A settable UTC clock."""

    def __init__(self, now: datetime = T0) -> None:
        self.moment = now

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def lsq_time(moment: datetime) -> str:
    """LeadSquared's read format: ``2024-05-01 09:00:00.000`` (UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.000")


@dataclass
class FakeRecords:
    """A time-based source over an in-memory table: records with time >= since, sorted by
    (ModifiedOn, id), ``page_size`` per page. Records every call as (since, page)."""

    page_size: int = 10
    calls_per_page: int = 1
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[datetime, int]] = field(default_factory=list)

    ID_FIELD = "Id"
    TIME_FIELD = "ModifiedOn"

    def put(self, record_id: str, moment: datetime, **fields: Any) -> None:
        self.records[record_id] = {"Id": record_id, "ModifiedOn": lsq_time(moment), **fields}

    def fetch_page(
        self, client: Any, config: Mapping[str, Any], since: datetime, page: int
    ) -> Page:
        self.calls.append((since, page))
        matching = sorted(
            (r for r in self.records.values() if str(r["ModifiedOn"]) >= lsq_time(since)),
            key=lambda r: (str(r["ModifiedOn"]), r["Id"]),
        )
        start = (page - 1) * self.page_size
        chunk = matching[start : start + self.page_size]
        return Page(
            [dict(r) for r in chunk], has_more=start + self.page_size < len(matching),
            calls=self.calls_per_page,
        )


@dataclass
class FakeList:
    """A membership source: ``members`` in order, ``page_size`` per page, one call per page."""

    page_size: int = 3
    members: list[str] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)

    ID_FIELD = "ProspectID"

    def fetch_members(self, client: Any, config: Mapping[str, Any], page: int) -> Page:
        self.calls.append(page)
        start = (page - 1) * self.page_size
        chunk = self.members[start : start + self.page_size]
        return Page(
            [{"ProspectID": m, "EmailAddress": f"{m}@example.com"} for m in chunk],
            has_more=start + self.page_size < len(self.members),
        )


class CountingList:
    """A generated list of ``size`` members, produced page by page (no list in memory)."""

    ID_FIELD = "ProspectID"

    def __init__(self, size: int, page_size: int) -> None:
        self.size, self.page_size, self.calls = size, page_size, 0

    def fetch_members(self, client: Any, config: Mapping[str, Any], page: int) -> Page:
        self.calls += 1
        start = (page - 1) * self.page_size
        stop = min(start + self.page_size, self.size)
        items = [
            {"ProspectID": f"{n:08d}-0000-4000-8000-000000000000", "FirstName": f"Lead {n}"}
            for n in range(start, stop)
        ]
        return Page(items, has_more=stop < self.size)


class CountedRecords(FakeRecords):
    """A source that also answers ``fetch_newest`` and every page's ``total`` (Company.Get's
    RecordCount), like the account triggers. ``ties`` orders equal timestamps: "id", "reverse"
    (ids descending) or "insertion" (the order records were put) — LeadSquared documents
    none, so the engine must not depend on one. ``newest_size`` is the check's page size.
    ``delete`` removes a record from the server; ``counts=False`` answers no ``total`` (an API
    without RecordCount)."""

    def __init__(self, page_size: int = 10, newest_size: int = 5, ties: str = "id",
                 counts: bool = True) -> None:
        super().__init__(page_size=page_size)
        self.newest_size, self.ties, self.counts = newest_size, ties, counts
        self.newest_calls: list[tuple[datetime, int]] = []
        self._order: dict[str, int] = {}
        self._sorted: list[dict[str, Any]] | None = None

    def put(self, record_id: str, moment: datetime, **fields: Any) -> None:
        super().put(record_id, moment, **fields)
        self._order[record_id] = len(self._order)
        self._sorted = None

    def delete(self, record_id: str) -> None:
        del self.records[record_id]
        self._sorted = None

    def _matching(self, since: datetime) -> list[dict[str, Any]]:
        if self._sorted is None:
            tie = {"id": lambda r: r["Id"], "insertion": lambda r: self._order[r["Id"]],
                   "reverse": lambda r: [-ord(c) for c in r["Id"]]}[self.ties]
            self._sorted = sorted(self.records.values(),
                                  key=lambda r: (str(r["ModifiedOn"]), tie(r)))
        low = lsq_time(since)
        return [r for r in self._sorted if str(r["ModifiedOn"]) >= low]

    def fetch_page(
        self, client: Any, config: Mapping[str, Any], since: datetime, page: int
    ) -> Page:
        self.calls.append((since, page))
        return self._page(self._matching(since), page, self.page_size, self.counts)

    def fetch_newest(
        self, client: Any, config: Mapping[str, Any], since: datetime, page: int
    ) -> Page:
        self.calls.append((since, page))
        self.newest_calls.append((since, page))
        return self._page(self._matching(since)[::-1], page, self.newest_size, self.counts)

    @staticmethod
    def _page(rows: list[dict[str, Any]], page: int, size: int, counts: bool) -> Page:
        start = (page - 1) * size
        return Page([dict(r) for r in rows[start : start + size]],
                    has_more=start + size < len(rows), total=len(rows) if counts else None)
