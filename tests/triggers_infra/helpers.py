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
