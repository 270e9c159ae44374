"""The stored cursor of a time-based polling trigger and its per-second window of counts.

Owned by :mod:`runtime.engine.polling` (which explains the protocol); imports only
``runtime.clock``. The cursor never holds record ids: which (id, time) versions were seen is
the dedupe table's job, and the window keeps only how many current versions the engine has
recorded per whole second from the query's start (``since``) on, so its size is bounded by
the overlap (at most one entry per second of it), not by how many records changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runtime.clock import from_iso, to_iso

logger = logging.getLogger(__name__)


def whole_second(moment: datetime) -> datetime:
    """``moment`` without its fraction: the resolution of LeadSquared's request dates."""
    return moment.replace(microsecond=0)


def bucket(iso: str) -> str:
    """The window entry of a stored time text (``to_iso``): its whole second, same form."""
    return iso[:19] + ".000000Z"


@dataclass
class Resume:
    """A query cut short by the budget: where the next poll continues it."""

    since: datetime
    page: Any  # 1-based number, or a source's next_page token
    max_time: datetime | None
    emit: bool
    started: datetime | None = None  # when the query began (caps a FAN_OUT watermark)
    skipped: int = 0  # unusable items the query met so far (they count on the server)
    narrowed: bool = False  # starts after the window's start, where a count found a surplus

    def to_json(self) -> dict[str, Any]:
        return {
            "since": to_iso(self.since), "page": self.page, "max_time": iso_or_none(self.max_time),
            "emit": self.emit, "started": iso_or_none(self.started), "skipped": self.skipped,
            "narrowed": self.narrowed,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Resume:
        return cls(
            since=from_iso(value["since"]), page=value["page"],
            max_time=time_or_none(value.get("max_time")), emit=bool(value["emit"]),
            started=time_or_none(value.get("started")), skipped=int(value.get("skipped") or 0),
            narrowed=bool(value.get("narrowed")),
        )


@dataclass
class TimeCursor:
    """Watermark, start floor, the window of counts and its correction, a cut query, and
    when the last complete read began.

    ``window`` maps whole seconds (``bucket``) at or after the current ``since`` to the number
    of records whose newest recorded version has that time; ``adjust`` corrects the expected
    count for what the window cannot place (records deleted on the server, items without a
    usable time). ``legacy`` holds the seen keys of a cursor written by an older version: they
    are recorded in the dedupe table by the next commit, never stored again.
    """

    watermark: datetime | None
    floor: datetime | None
    window: dict[str, int] = field(default_factory=dict)
    adjust: int = 0
    resume: Resume | None = None
    checked: datetime | None = None  # when the last complete read began (engine clock)
    legacy: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "time",
            "watermark": iso_or_none(self.watermark),
            "floor": iso_or_none(self.floor),
            "window": {second: n for second, n in sorted(self.window.items()) if n > 0},
            "adjust": self.adjust,
            "resume": None if self.resume is None else self.resume.to_json(),
            "checked": iso_or_none(self.checked),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TimeCursor:
        resume = value.get("resume")
        cursor = cls(
            watermark=time_or_none(value.get("watermark")),
            floor=time_or_none(value.get("floor")),
            window={str(k): int(n) for k, n in (value.get("window") or {}).items()},
            adjust=int(value.get("adjust") or 0),
            resume=Resume.from_json(resume) if resume else None,
            checked=time_or_none(value.get("checked")),
        )
        for iso, item_id in value.get("seen") or []:  # a cursor of an older version
            cursor.legacy.add(f"{item_id}@{iso}")
            cursor.window[bucket(str(iso))] = cursor.window.get(bucket(str(iso)), 0) + 1
        return cursor

    def expected(self, since: datetime | None = None) -> int:
        """How many records the window's query (or one from ``since`` on) should match on
        the server."""
        threshold = "" if since is None else to_iso(since)
        return sum(n for second, n in self.window.items() if second >= threshold) + self.adjust

    def count(self, changes: Mapping[str, int]) -> None:
        """Apply per-second changes (never below zero: a miscount shows as a mismatch)."""
        for second, change in changes.items():
            self.window[second] = max(0, self.window.get(second, 0) + change)

    def prune(self, since: datetime) -> None:
        """Drop entries before ``since``; a negative ``adjust`` may have been about them."""
        threshold = to_iso(since)
        dropped = [second for second in self.window if second < threshold]
        for second in dropped:
            del self.window[second]
        if dropped and self.adjust < 0:
            self.adjust = 0

    def calibrate(self, total: int | None, skipped: int) -> None:
        """After a complete read of the window: take the server's count as the truth where a
        difference is explained (fewer records: deletions; more, up to ``skipped``: items
        the engine could not place). A larger surplus is left, so the next poll reads the
        window again (a record offset paging skipped is found then)."""
        if total is None:
            return
        gap = total - self.expected()
        if gap < 0 or gap <= skipped:
            self.adjust += gap
        else:
            logger.warning("poll window: the server counts %d records not read; re-reading", gap)


def changes_for(
    new: Iterable[tuple[str, str]], prior: Mapping[str, str], since: datetime
) -> dict[str, int]:
    """Window changes for newly recorded versions ``(iso, id)``: +1 at each id's newest new
    version, -1 at its previous newest recorded version (``prior``) when that one is counted
    (at or after ``since``); nothing when a newer version was already recorded."""
    newest: dict[str, str] = {}
    for iso, item_id in new:
        newest[item_id] = max(newest.get(item_id, ""), iso)
    threshold = to_iso(since)
    changes: dict[str, int] = {}
    for item_id, iso in newest.items():
        before = prior.get(item_id)
        if before is not None and before >= iso:
            continue
        changes[bucket(iso)] = changes.get(bucket(iso), 0) + 1
        if before is not None and before >= threshold:
            changes[bucket(before)] = changes.get(bucket(before), 0) - 1
    return changes


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else to_iso(moment)


def time_or_none(text: str | None) -> datetime | None:
    return None if not text else from_iso(text)
