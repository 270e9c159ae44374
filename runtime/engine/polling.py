"""The polling engine: one implementation of cursors, ordering, dedupe and budgets.

A polling trigger module only declares how to fetch; the engine does the rest.

Time-based triggers (:class:`TimeBasedSource`: ``ID_FIELD``, ``TIME_FIELD``, ``fetch_page``)
---------------------------------------------------------------------------------------------
Cursor (JSON, in the state store under the trigger instance id; see
:mod:`runtime.engine.time_cursor`)::

    {"kind": "time", "watermark": iso, "floor": iso|null,
     "window": {whole second iso: n, ...},  # records counted per second from since on
     "adjust": int,                         # what the window cannot place (deletions, ...)
     "resume": {"since", "page", "max_time", "emit", "started", "skipped"} | null}

- Each query asks for items with ``time >= since`` where ``since = watermark - overlap``
  (never before ``floor``, the start time a user asked for), on a whole second (the API's
  date resolution). The overlap (default 10 min) catches late records whose timestamp is
  older than records already seen. Items older than ``since`` are ignored.
- Which versions were seen is the dedupe table's record (``<id>@<time>`` keys, kept for
  days): events when handed on, a baseline's records as seen-only keys. The cursor holds no
  ids; ``window`` counts, per second at or after ``since``, the records whose newest
  recorded version has that time (a new version of a record moves its count), so it has at
  most one entry per second of the overlap however many records changed (a 10-minute
  overlap: at most 601 entries, about 25 KB).
- The check (sources with ``fetch_newest`` and a ``Page.total``): a poll with no query in
  progress first reads the same query newest first, until it has read every record from
  the horizon on: what changed within ``settle`` (default 1 minute) before the previous
  check began, or later. A change indexed late that moves a record the window already
  counts (its second version) leaves the count as it was, so only reading it by its id
  finds it. Then, when the server's count equals the window's count (plus ``adjust``)
  plus the new versions read, every record in the window is accounted for and the poll
  ends there: once nothing changed within ``settle`` of the previous check, a poll is ONE
  call however many records the window holds. The check reads at most a quarter of the
  page budget so; when more changed lately, or the count shows records the check did not
  find (late records deeper in the window: only new records and first changes of a record
  make the count grow), the poll reads the query oldest first (a catch-up or re-read,
  below); in the same poll as a check that read everything from the horizon on, the
  re-read ends, with the check's versions, as soon as the counts agree. In a window of
  more than ``narrow_above`` records (default 10,000) that re-read
  starts at the latest second from which the server still counts all the surplus (never
  after the horizon), found by bisecting the window's seconds with one counted
  newest-first call each (about 10 for 600 seconds); a narrowed read that reaches its end
  without agreeing is followed by a re-read of the whole window. A re-read that completes
  takes the server's count as the truth where the difference is explained (fewer:
  deletions, kept in ``adjust``; more, up to the items without a usable id or time), and
  otherwise leaves the mismatch, so the next poll reads the window again (a record offset
  paging skipped is found then).
- Events are emitted oldest first, ties on equal timestamps broken by id. The event key is
  ``"<id>@<time>"``, so an updated record (new modified time) is a new event.
- Budget: at most ``max_pages`` pages and ``max_calls`` API calls per poll. When it runs out
  mid-query, the fetched items are emitted and the cursor records the query (``since``) and
  the next page; the next poll continues that same query at that page, so a burst larger
  than the budget (even thousands of records with one equal timestamp) is worked through
  page by page without skipping or re-reading. The watermark moves only when a query
  completes, to the newest time seen in it.
- Page tokens and fan-out: a page is number ``page + 1`` after ``page`` unless the source
  answers ``Page.next_page`` (any JSON value, e.g. "account 7 of the remaining ids, its page
  2"), which the engine hands back as the next ``page`` and keeps in ``resume`` across polls.
  A source whose one query reads several endpoints (``FAN_OUT = True``: one query per account
  of a type) can see records appear behind it while the query runs (on an account already
  read, or a new account); for it the watermark is capped at the time the query started
  (``resume.started``), so the next query reads everything from ``started - overlap`` on.
- First poll: without a start time it is a baseline: it reads the overlap window before
  "now", records what exists as seen and emits nothing; later records are emitted (also
  ones stamped slightly before "now" by a skewed server clock). A baseline that the budget
  spreads over several polls emits the records stamped after it started. With a start time
  (or after ``StateStore.reset(instance, since)``) it emits everything from that time on.

Membership triggers (:class:`MembershipSource`: ``ID_FIELD``, ``fetch_members``)
------------------------------------------------------------------------------
Snapshot diff for lists (no timestamps): every poll pages through all members (exactly one
``fetch_members`` call per page), keeping the snapshot in the ``snapshot`` table, one row per
member tagged with the scan generation that last saw it, written page by page (memory is one
page). A member not in the table is new: emitted, key ``"<id>@g<generation>"``. The first
complete scan is a baseline (emits nothing). When a scan completes, members missed by
``removal_after_missed_scans`` consecutive complete scans (default 2: one miss may be offset
pagination shifting under a concurrent removal) are deleted, so a later re-add is emitted
again. A scan cut short by the budget resumes at its next page on the next poll.

Exact guarantees (both strategies)
----------------------------------
Handing on and committing happen in this order, and the commit is ONE state-store transaction
(:meth:`~runtime.store.state.StateStore.batch`, on SQLite or PostgreSQL alike) holding: the
event keys (dedupe table), the new cursor (compare-and-set on its version) and, in the default
inbox mode, the events themselves (inbox rows, ``pending``).

- Inbox mode (``emit=None``, the default): an event is handed on exactly when its inbox row
  commits, together with its dedupe key and the cursor. A crash (or an exception) anywhere
  before that commit leaves no trace, and the next poll fetches the same items again (the
  cursor did not move); a crash after it loses nothing. Each event therefore lands in the
  inbox exactly once, never lost, never repeated; the inbox then runs it (see
  :mod:`runtime.store.inbox` for its at-least-once claims and how to make runs
  exactly-once by event key).
- Callback mode (``emit=callable``): events already in the dedupe table are dropped, the
  rest are passed to ``emit``, and the commit happens after it returns. If ``emit`` raises,
  nothing is committed and the same events are emitted by the next poll (no loss). If the
  process dies after ``emit`` returned and before the commit, the next poll emits them again:
  at-least-once, so such a consumer must be idempotent on ``PolledEvent.key``.
- Two pollers on one instance: the cursor write is a compare-and-set; the loser's cursor is
  not written (``PollResult.conflict``), but its dedupe keys are, so no event is handed on
  twice in inbox mode. Snapshot scans stop at a conflict.
- Not covered: a record that appears later than ``overlap`` after records newer than it
  (raise ``overlap``), and a record skipped by offset pagination shifting under concurrent
  deletions, when it is older than the final watermark minus the overlap. With the count
  check: a second change of a record within the overlap that is indexed more than
  ``settle`` late (raise ``settle`` up to the overlap to cover it, at the cost of reading
  what changed within it on every poll); as many records deleted from the window as
  appear late below the horizon between two checks (the counts cancel out); and an API
  whose date range leaves out its first second (FromDate is read as inclusive, LIKELY;
  otherwise polls stay correct but re-read more).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from runtime.api.lsq_format import parse_datetime
from runtime.clock import from_iso, to_iso
from runtime.engine.time_cursor import Resume, TimeCursor, changes_for, whole_second
from runtime.errors import ConfigurationError, InputValidationError
from runtime.plugin.polling_contract import (
    DEFAULT_OVERLAP,
    MembershipSource,
    Page,
    TimeBasedSource,
)
from runtime.store.state import START_KEY, StateBatch, StateStore
from runtime.text import storable_text

logger = logging.getLogger(__name__)

#: A window holding more records than this is bisected by counts to find a late record
#: (about 10 calls for 600 seconds) rather than re-read from its start (a page per 1,000).
NARROW_ABOVE = 10_000
#: How late (behind the previous check) a record's change may be indexed and still be read
#: by its id: a change that moves a record already counted in the window does not change the
#: count, so only reading catches it.
DEFAULT_SETTLE = timedelta(minutes=1)

@dataclass(frozen=True)
class Budget:
    """The most pages and API calls one poll may use."""

    max_pages: int = 20
    max_calls: int = 40

    def __post_init__(self) -> None:
        if self.max_pages < 1 or self.max_calls < 1:
            raise ConfigurationError("a polling budget needs at least one page and one call")

    def exhausted(self, pages: int, calls: int) -> bool:
        return pages >= self.max_pages or calls >= self.max_calls


@dataclass(frozen=True)
class PolledEvent:
    """One new record. ``key`` is unique per instance and stable across re-fetches."""

    key: str
    item_id: str
    time: datetime | None
    payload: Mapping[str, Any]


Emit = Callable[[Sequence[PolledEvent]], None]


@dataclass(frozen=True)
class PollResult:
    """What one poll did. ``keys`` are the event keys handed on, oldest first."""

    instance_id: str
    emitted: int
    keys: tuple[str, ...]
    baseline: bool
    complete: bool
    pages: int
    calls: int
    skipped: int = 0
    conflict: bool = False


@dataclass
class PendingPoll:
    """A fetched, not yet committed poll: inspect ``events``, then :meth:`commit` once.

    Dropping it without committing is safe: the cursor did not move, and the next poll
    fetches the same events again.
    """

    engine: PollingEngine
    instance_id: str
    events: list[PolledEvent]
    baseline: bool
    complete: bool
    pages: int
    calls: int
    skipped: int
    _cursor: dict[str, Any] = field(repr=False)
    _version: int = field(repr=False)
    _quiet: list[str] = field(default_factory=list, repr=False)  # keys to record as seen only
    _committed: bool = field(default=False, repr=False)

    def commit(self, emit: Emit | None = None) -> PollResult:
        """Hand the events on (inbox, or ``emit``) and commit the cursor; see the module doc."""
        if self._committed:
            raise ConfigurationError(f"poll of {self.instance_id} was already committed")
        self._committed = True
        store = self.engine.store
        events = self.events
        if emit is not None:
            events = [e for e in events if not store.seen(self.instance_id, e.key)]
            if events:
                emit(events)
        with store.batch() as batch:
            handed = [e for e in events if _hand_on(batch, self.instance_id, e, emit)]
            for key in self._quiet:
                batch.record_key(self.instance_id, key)
            version = batch.write_cursor(self.instance_id, self._cursor, self._version)
        if version is None:
            logger.warning("poll %s: cursor changed by another poller; not written",
                           self.instance_id)
        return PollResult(
            instance_id=self.instance_id,
            emitted=len(handed),
            keys=tuple(e.key for e in handed),
            baseline=self.baseline,
            complete=self.complete,
            pages=self.pages,
            calls=self.calls,
            skipped=self.skipped,
            conflict=version is None,
        )


@dataclass
class _Read:
    """What one poll read of a query: versions at or after ``since`` by (time, id), and the
    ones not recorded yet (``new``) with their ids' newest recorded versions (``prior``)."""

    since: datetime
    max_time: datetime | None
    window: datetime | None = None  # the window's start, when the query starts after it
    fetched: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    new: dict[tuple[str, str], None] = field(default_factory=dict)
    prior: dict[str, str] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)  # of ``new``
    net: int = 0  # records from ``since`` on that ``new`` adds to the window's count
    pages: int = 0
    calls: int = 0
    skipped: int = 0
    total: int | None = None  # the last page's count of the whole query, when given
    fan_out: bool = False
    settled: bool = False  # every record the server counts is accounted for
    oldest: datetime | None = None  # the oldest time read, also before ``since``
    horizon: datetime | None = None  # a check that read every record from here on

    def add(self, source: TimeBasedSource, result: Page) -> list[tuple[str, str]]:
        """Take a page; returns the (time, id) entries it added."""
        self.pages, self.calls = self.pages + 1, self.calls + result.calls
        self.total, self.fan_out = result.total, bool(getattr(source, "FAN_OUT", False))
        added = []
        for item in result.items:
            placed = _place(source, item)
            if placed is None:
                self.skipped += 1
                continue
            moment, item_id = placed
            self.oldest = moment if self.oldest is None else min(self.oldest, moment)
            if moment < self.since or (to_iso(moment), item_id) in self.fetched:
                continue
            self.fetched[(to_iso(moment), item_id)] = item
            added.append((to_iso(moment), item_id))
            self.max_time = moment if self.max_time is None else max(self.max_time, moment)
        return added

    def changes(self) -> dict[str, int]:
        return changes_for(self.new, self.prior, self.window or self.since)

    def gap(self, cursor: TimeCursor) -> int | None:
        """Records the server counts beyond those accounted for (None: no count given)."""
        if self.total is None:
            return None
        return self.total - cursor.expected(self.since) - self.net


def _agreeing(cursor: TimeCursor, read: _Read, check: _Read) -> _Read | None:
    """``read`` with the versions ``check`` found from its start on, when then every record
    the server counts is accounted for; else None."""
    gap = read.gap(cursor)
    if gap is None or not 0 <= gap <= len(check.ids - read.ids):
        return None
    merged = replace(read, fetched=dict(read.fetched), new=dict(read.new),
                     prior=dict(read.prior), ids=set(read.ids))
    threshold = to_iso(read.since)
    for (iso, item_id), item in check.fetched.items():
        if iso < threshold or (iso, item_id) in merged.fetched:
            continue
        merged.fetched[(iso, item_id)] = item
        moment = from_iso(iso)
        merged.max_time = moment if merged.max_time is None else max(merged.max_time, moment)
        if (iso, item_id) in check.new and item_id not in merged.ids:
            merged.ids.add(item_id)
            if item_id in check.prior:
                merged.prior[item_id] = check.prior[item_id]
            merged.net += merged.prior.get(item_id, "") < threshold
        if (iso, item_id) in check.new:
            merged.new[(iso, item_id)] = None
    return merged if merged.gap(cursor) == 0 else None


def _known(cursor: TimeCursor, changes: Mapping[str, int], since: datetime) -> int:
    """Records at or after ``since`` the window accounts for, with a read's changes."""
    threshold = to_iso(since)
    return cursor.expected(since) + sum(n for second, n in changes.items() if second >= threshold)


class _Conflict(Exception):
    """Internal: another poller moved the cursor; roll back this page."""


class PollingEngine:
    """Runs polls against a :class:`~runtime.store.state.StateStore`."""

    def __init__(
        self,
        store: StateStore,
        *,
        overlap: timedelta = DEFAULT_OVERLAP,
        budget: Budget | None = None,
        members_budget: Budget | None = None,
        removal_after_missed_scans: int = 2,
        clock: Callable[[], datetime] | None = None,
        narrow_above: int = NARROW_ABOVE,
        settle: timedelta = DEFAULT_SETTLE,
    ) -> None:
        if overlap < timedelta(0) or removal_after_missed_scans < 1:
            raise ConfigurationError("overlap must be >= 0 and removal_after_missed_scans >= 1")
        self.store = store
        self.overlap = overlap
        self.budget = budget or Budget()
        self.members_budget = members_budget or Budget(max_pages=200, max_calls=200)
        self.removal_after_missed_scans = removal_after_missed_scans
        self.clock = clock or store.clock
        self.narrow_above = narrow_above
        self.settle = settle

    # -- time-based ---------------------------------------------------------------------------

    def poll(
        self,
        instance: str,
        source: TimeBasedSource,
        client: Any,
        config: Mapping[str, Any],
        *,
        emit: Emit | None = None,
        start: datetime | None = None,
        budget: Budget | None = None,
    ) -> PollResult:
        """Fetch and commit in one go (``fetch(...).commit(emit)``)."""
        return self.fetch(instance, source, client, config, start=start, budget=budget).commit(emit)

    def fetch(
        self,
        instance: str,
        source: TimeBasedSource,
        client: Any,
        config: Mapping[str, Any],
        *,
        start: datetime | None = None,
        budget: Budget | None = None,
    ) -> PendingPoll:
        """Fetch new events without writing anything. ``start`` applies to a first poll only."""
        budget = budget or self.budget
        record = self.store.get_cursor(instance)
        version = record.version if record else 0
        cursor = self._load_time_cursor(record.value if record else None, start)
        window = self._next_since(cursor)
        probe = narrowed = None
        if cursor.resume is None:
            checked = self.clock()
            probe = self._probe(instance, source, client, config, cursor, budget)
            if probe is not None and probe.settled:
                cursor.checked = checked
                return self._pending(instance, version, cursor, probe, None, True)
            if probe is not None and probe.horizon is not None:
                narrowed = self._narrow(source, client, config, cursor, probe, budget)
        resume = cursor.resume or Resume(narrowed or window, 1, None, True,
                                         narrowed=narrowed is not None)
        if resume.started is None:
            resume.started = self.clock()
        read = _Read(resume.since, max_time=resume.max_time, window=min(window, resume.since))
        if probe is not None:
            read.pages, read.calls = probe.pages, probe.calls
        page, complete = resume.page, True
        while True:
            if budget.exhausted(read.pages, read.calls):
                complete = False
                break
            result = source.fetch_page(client, config, resume.since, page)
            self._tally(instance, cursor, read, read.add(source, result))
            if not result.has_more:
                break
            page = page + 1 if result.next_page is None else result.next_page
            if probe is not None and probe.horizon is not None:
                # This poll's check read everything from the horizon on by id: with its
                # versions, the read may end as soon as the server's count agrees.
                done = _agreeing(cursor, read, probe)
                if done is not None:
                    read = done
                    break
        resume.skipped += read.skipped
        resume.page, resume.max_time = page, read.max_time
        if complete and resume.narrowed and read.gap(cursor) != 0:
            # What the count found is not after the narrowed start (records deleted there
            # too, say): the next poll re-reads the whole window.
            resume = Resume(window, 1, read.max_time, True, resume.started, resume.skipped)
            complete = False
        return self._pending(instance, version, cursor, read, resume, complete)

    def _probe(
        self,
        instance: str,
        source: TimeBasedSource,
        client: Any,
        config: Mapping[str, Any],
        cursor: TimeCursor,
        budget: Budget,
    ) -> _Read | None:
        """Check the window newest first: every record from the horizon on (what changed in
        the last ``settle`` before the previous check, or later) is read by its id, and the
        poll is settled when the server's count of the window is what the window holds plus
        the new versions read (one call when nothing changed since a settled check)."""
        newest = getattr(source, "fetch_newest", None)
        if newest is None or cursor.watermark is None or getattr(source, "FAN_OUT", False):
            return None
        since = self._next_since(cursor)
        cursor.prune(since)
        read = _Read(since, max_time=None)
        horizon = since
        if cursor.checked is not None:
            horizon = max(since, whole_second(cursor.checked - self.settle))
        limit = max(1, budget.max_pages // 4)
        while True:
            result = newest(client, config, since, read.pages + 1)
            self._tally(instance, cursor, read, read.add(source, result))
            gap = read.gap(cursor)
            if gap is None:
                return read
            if not result.has_more or (read.oldest is not None and read.oldest < horizon):
                # Every record from the horizon on is read: the count speaks for the rest.
                read.horizon = horizon
                read.settled = gap == 0 or not result.has_more
                return read
            # Give up (and read the window oldest first) when more changed lately than the
            # check may read: the window's records from the horizon on, and the surplus.
            unread = cursor.expected(horizon) - cursor.adjust + max(gap, 0) - len(read.fetched)
            room = (limit - read.pages) * max(len(result.items), 1)
            if unread > room or read.pages >= limit or budget.exhausted(read.pages, read.calls):
                return read

    def _narrow(
        self,
        source: TimeBasedSource,
        client: Any,
        config: Mapping[str, Any],
        cursor: TimeCursor,
        probe: _Read,
        budget: Budget,
    ) -> datetime | None:
        """Where to re-read from when the count shows records the check did not find (late
        ones, deeper in the window): the latest second of the window from which the server
        still counts all of them, by bisecting the window's seconds with one counted call
        each. None (re-read it all) for a window of ``narrow_above`` records or fewer."""
        gap = probe.gap(cursor)
        if not gap or gap < 0 or cursor.adjust or cursor.expected() <= self.narrow_above:
            return None
        changes = probe.changes()
        since = to_iso(probe.since)
        bounds = [probe.since, *(from_iso(s) for s in sorted(cursor.window) if s > since)]
        low, high = 0, len(bounds)  # the server counts `gap` more from bounds[low], fewer at high
        while high - low > 1:
            if budget.exhausted(probe.pages + 2, probe.calls + 2):
                return None
            middle = (low + high) // 2
            result = source.fetch_newest(client, config, bounds[middle], 1)  # type: ignore[attr-defined]
            probe.pages, probe.calls = probe.pages + 1, probe.calls + result.calls
            if result.total is None:
                return None
            if result.total - _known(cursor, changes, bounds[middle]) >= gap:
                low = middle
            else:
                high = middle
        start = min(bounds[low], probe.horizon or probe.since)
        return start if start > probe.since else None

    def _tally(
        self, instance: str, cursor: TimeCursor, read: _Read, added: list[tuple[str, str]]
    ) -> None:
        """Note which of a page's versions are not recorded yet, and their ids' newest
        recorded versions (needed only when the window counts anything)."""
        keys = {f"{item_id}@{iso}": (iso, item_id) for iso, item_id in added}
        recorded = self.store.recorded_keys(instance, keys) | (cursor.legacy & keys.keys())
        fresh = [entry for key, entry in keys.items() if key not in recorded]
        read.new.update(dict.fromkeys(fresh))
        ids = {item_id for _, item_id in fresh} - read.ids
        if cursor.window and ids:
            read.prior.update(self.store.latest_versions(instance, ids))
        # An id adds one record from ``since`` on unless a version of it at or after
        # ``since`` is counted already (its count then moves, or it was a stale re-read).
        since = to_iso(read.since)
        read.net += sum(1 for item_id in ids if read.prior.get(item_id, "") < since)
        read.ids |= ids

    def _pending(
        self,
        instance: str,
        version: int,
        cursor: TimeCursor,
        read: _Read,
        resume: Resume | None,
        complete: bool,
    ) -> PendingPoll:
        """Events, keys to record as seen, and the next cursor of a read."""
        new, changes = sorted(read.new), read.changes()
        emit = resume is None or resume.emit
        started = to_iso(resume.started) if resume is not None and resume.started else ""
        # A baseline emits nothing it found, except records stamped after it started (a
        # baseline cut short by the budget can read those polls later).
        events = [
            PolledEvent(f"{item_id}@{iso}", item_id, from_iso(iso), read.fetched[(iso, item_id)])
            for iso, item_id in new
            if emit or iso > started
        ]
        emitted = {event.key for event in events}
        quiet = [key for iso, item_id in new if (key := f"{item_id}@{iso}") not in emitted]
        cursor.count(changes)
        if complete:
            max_time = read.max_time
            if read.fan_out and resume is not None and resume.started and max_time is not None:
                max_time = min(max_time, resume.started)
            candidates = [t for t in (cursor.watermark, max_time) if t is not None]
            cursor.watermark = max(candidates) if candidates else None
            if not (resume and resume.narrowed):
                cursor.calibrate(read.total, resume.skipped if resume else read.skipped)
            if resume is not None and resume.started is not None:
                cursor.checked = resume.started
            cursor.resume = None
            cursor.prune(self._next_since(cursor))
        else:
            cursor.resume = resume
        return PendingPoll(
            engine=self,
            instance_id=instance,
            events=events,
            baseline=not emit,
            complete=complete,
            pages=read.pages,
            calls=read.calls,
            skipped=read.skipped,
            _cursor=cursor.to_json(),
            _version=version,
            _quiet=[*quiet, *sorted(cursor.legacy)],
        )

    def _load_time_cursor(
        self, value: Mapping[str, Any] | None, start: datetime | None
    ) -> TimeCursor:
        if value and set(value) == {START_KEY}:
            start = from_iso(value[START_KEY])
        elif value:
            if value.get("kind") != "time":
                raise ConfigurationError("this trigger instance's cursor is not a time cursor")
            return TimeCursor.from_json(value)
        if start is not None:
            start = parse_datetime(start)
            return TimeCursor(None, start, resume=Resume(whole_second(start), 1, None, True))
        now = self.clock()
        return TimeCursor(now, None, resume=Resume(whole_second(now - self.overlap), 1, None,
                                                   False))

    def _next_since(self, cursor: TimeCursor) -> datetime:
        """Where the next query starts: the overlap before the watermark, never before the
        start floor, on a whole second (the API's date resolution)."""
        candidates = [cursor.floor]
        if cursor.watermark is not None:
            candidates.append(cursor.watermark - self.overlap)
        present = [t for t in candidates if t is not None]
        if not present:
            raise ConfigurationError("a time cursor needs a watermark or a start time")
        return whole_second(max(present))

    # -- membership snapshot ------------------------------------------------------------------

    def poll_members(
        self,
        instance: str,
        source: MembershipSource,
        client: Any,
        config: Mapping[str, Any],
        *,
        emit: Emit | None = None,
        budget: Budget | None = None,
    ) -> PollResult:
        """Scan members page by page (committing each page) and hand on the new ones."""
        budget = budget or self.members_budget
        record = self.store.get_cursor(instance)
        version = record.version if record else 0
        state = dict(record.value) if record and START_KEY not in record.value else {}
        if state and state.get("kind") != "snapshot":
            raise ConfigurationError("this trigger instance's cursor is not a snapshot cursor")
        generation = int(state.get("generation", 0))
        scan = state.get("scan") or {
            "generation": generation + 1, "page": 1, "baseline": generation == 0
        }
        pages = calls = skipped = 0
        keys: list[str] = []
        complete = conflict = False
        while not budget.exhausted(pages, calls):
            result = source.fetch_members(client, config, scan["page"])
            pages, calls = pages + 1, calls + result.calls
            members: dict[str, Mapping[str, Any]] = {}
            for item in result.items:
                member_id = item.get(source.ID_FIELD)
                if member_id in (None, ""):
                    skipped += 1
                    continue
                members.setdefault(storable_text(str(member_id)), item)
            if not result.has_more:
                complete = True
                scan = {**scan, "page": scan["page"] + 1}
                state = {"kind": "snapshot", "generation": scan["generation"], "scan": None}
            else:
                scan = {**scan, "page": scan["page"] + 1}
                state = {"kind": "snapshot", "generation": generation, "scan": scan}
            try:
                version, handed = self._commit_members(
                    instance, members, scan, state, version, complete, emit
                )
            except _Conflict:
                logger.warning("snapshot %s: another poller is scanning; stopped", instance)
                conflict, complete = True, False
                break
            keys.extend(handed)
            if complete:
                break
        return PollResult(
            instance_id=instance,
            emitted=len(keys),
            keys=tuple(keys),
            baseline=bool(scan["baseline"]),
            complete=complete,
            pages=pages,
            calls=calls,
            skipped=skipped,
            conflict=conflict,
        )

    def _commit_members(
        self,
        instance: str,
        members: Mapping[str, Mapping[str, Any]],
        scan: Mapping[str, Any],
        state: Mapping[str, Any],
        version: int,
        complete: bool,
        emit: Emit | None,
    ) -> tuple[int, list[str]]:
        """One page: (callback) emit, then one transaction: snapshot rows, keys, cursor."""
        current = scan["generation"]
        store = self.store

        def new_events(known: set[str]) -> list[PolledEvent]:
            return [
                PolledEvent(f"{member_id}@g{current}", member_id, None, item)
                for member_id, item in members.items()
                if member_id not in known
            ]

        events: list[PolledEvent] = []
        if emit is not None and not scan["baseline"]:
            known = store.known_members(instance, members)
            events = [e for e in new_events(known) if not store.seen(instance, e.key)]
            if events:
                emit(events)
        with store.batch() as batch:
            if emit is None and not scan["baseline"]:
                events = new_events(batch.known_members(instance, members))
            handed = [e.key for e in events if _hand_on(batch, instance, e, emit)]
            batch.save_members(instance, members, current)
            if complete:
                batch.drop_members(instance, current - self.removal_after_missed_scans)
            new_version = batch.write_cursor(instance, state, version)
            if new_version is None:
                raise _Conflict
        return new_version, handed


def _hand_on(batch: StateBatch, instance: str, event: PolledEvent, emit: Emit | None) -> bool:
    """Record one event inside the commit: into the inbox, or (after ``emit``) its key only."""
    if emit is None:
        return batch.queue_event(instance, event.key, dict(event.payload))
    return batch.record_key(instance, event.key)


def _place(source: TimeBasedSource, item: Mapping[str, Any]) -> tuple[datetime, str] | None:
    """(time, id) of a fetched item, or None (logged) when it has neither a usable id nor time."""
    item_id = item.get(source.ID_FIELD)
    raw_time = item.get(source.TIME_FIELD)
    if item_id in (None, "") or raw_time in (None, ""):
        logger.warning("polled item without %s or %s skipped", source.ID_FIELD, source.TIME_FIELD)
        return None
    try:
        return parse_datetime(raw_time), storable_text(str(item_id))
    except InputValidationError:
        logger.warning("polled item %s has an unreadable %s; skipped", item_id, source.TIME_FIELD)
        return None
