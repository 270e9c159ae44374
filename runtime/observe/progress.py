"""Progress lines for ``lsq serve``: a bus listener writing one line per thing that happened.

One line per finished run (workflow, trigger record, outcome, duration), per poll that found
events (or took its baseline), per failure with its classified error, and every
``summary_every`` seconds a one-line summary of the interval. As text for people, or as JSON
lines (``json=True``: one object per line, ``"type"`` first) for machines. Lines carry what
the events carry: names, ids, counts and already-redacted error messages, never a secret.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any

from runtime.clock import to_iso, utc_now
from runtime.observe.events import (
    ApiCall,
    Event,
    Failure,
    GovernorWait,
    PollFinished,
    Problem,
    RunFinished,
    WebhookAnswered,
)

if TYPE_CHECKING:
    from runtime.observe.metrics import Backlog

DEFAULT_SUMMARY_EVERY = 60.0

log = logging.getLogger(__name__)


class Progress:
    """Writes progress lines to ``stream`` (thread-safe; a line is written whole)."""

    def __init__(
        self,
        stream: IO[str],
        *,
        json_lines: bool = False,
        summary_every: float = DEFAULT_SUMMARY_EVERY,
        backlog: Callable[[], Iterable[Backlog]] | None = None,
        now: Callable[[], str] = lambda: to_iso(utc_now())[:19] + "Z",
    ) -> None:
        self.stream = stream
        self.json_lines = json_lines
        self.summary_every = summary_every
        self.backlog = backlog
        self._now = now
        self._lock = threading.Lock()
        self._tally: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._held: list[str] | None = None
        self._closed = False

    # -- listening -----------------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        if isinstance(event, ApiCall):
            self._count("api_calls", limited=event.limited)
        elif isinstance(event, GovernorWait):
            self._count("governor_waits")
        elif isinstance(event, RunFinished):
            self._count(f"runs_{event.outcome}")
            self._write(*self._run(event))
        elif isinstance(event, PollFinished):
            self._count("polls", events=event.events)
            if event.events or event.baseline:
                self._write(*self._poll(event))
        elif isinstance(event, Failure):
            self._count(f"failures_{event.where}")
            self._write(*self._failure(event))
        elif isinstance(event, WebhookAnswered):
            self._count("webhooks" if event.status == 200 else "webhooks_refused")

    def _count(self, name: str, *, limited: bool = False, events: int = 0) -> None:
        with self._lock:
            self._tally[name] += 1
            self._tally["limited"] += limited
            self._tally["events"] += events

    # -- lines ---------------------------------------------------------------------------

    def _run(self, event: RunFinished) -> tuple[str, dict[str, Any]]:
        ms = round(event.seconds * 1000)
        fields = {
            "run_id": event.run_id, "workflow": event.workflow, "trigger": event.trigger,
            "instance": event.instance, "record": event.record, "outcome": event.outcome,
            "duration_ms": ms, "error": _problem(event.error), "retry_of": event.retry_of,
        }
        head = "FAILED run" if event.outcome == "failed" else "run"
        source = event.record or (f"(retry of run {event.retry_of})"
                                  if event.retry_of is not None else "(manual)")
        text = (f"{head} {event.run_id if event.run_id is not None else '-'} "
                f"{event.outcome}: {event.workflow} <- {event.trigger} "
                f"{source} in {_duration(ms)}")
        if event.error is not None:
            text += f" — {_problem_text(event.error)}"
        return text, {"type": "run", **fields}

    def _poll(self, event: PollFinished) -> tuple[str, dict[str, Any]]:
        ms = round(event.seconds * 1000)
        what = ("baseline taken" if event.baseline and not event.events
                else _count(event.events, "new event"))
        rest = "" if event.complete else "; budget used up, continues next poll"
        text = f"poll {event.trigger} [{event.instance}]: {what} in {_duration(ms)}{rest}"
        return text, {
            "type": "poll", "trigger": event.trigger, "instance": event.instance,
            "events": event.events, "baseline": event.baseline, "complete": event.complete,
            "duration_ms": ms,
        }

    def _failure(self, event: Failure) -> tuple[str, dict[str, Any]]:
        what = {"poll": "poll", "item": "inbox item"}.get(event.where, event.where)
        text = (f"FAILED {what} {event.trigger} [{event.instance}] ({event.outcome}) — "
                f"{_problem_text(event.problem)}")
        return text, {
            "type": "failure", "where": event.where, "trigger": event.trigger,
            "instance": event.instance, "outcome": event.outcome,
            "error": _problem(event.problem),
        }

    def summary(self) -> tuple[str, dict[str, Any]]:
        """The summary of the interval since the last one (and start a new interval)."""
        with self._lock:
            tally, self._tally = self._tally, Counter()
        runs = {outcome: tally[f"runs_{outcome}"]
                for outcome in ("succeeded", "failed", "completed_with_errors")}
        fields: dict[str, Any] = {
            "type": "summary", "seconds": self.summary_every, "runs": runs,
            "polls": tally["polls"], "events": tally["events"],
            "webhooks": tally["webhooks"], "webhooks_refused": tally["webhooks_refused"],
            "api_calls": tally["api_calls"], "limited": tally["limited"],
            "failures": tally["failures_poll"] + tally["failures_item"],
        }
        pending = self._pending()
        if pending is not None:
            fields["pending"] = pending
        total = sum(runs.values())
        parts = [_count(total, "run")
                 + (f" ({', '.join(f'{n} {o}' for o, n in runs.items() if n)})" if total else ""),
                 f"{_count(fields['polls'], 'poll')} found {_count(fields['events'], 'event')}",
                 _count(fields["webhooks"], "webhook delivery", "webhook deliveries")
                 + (f" ({fields['webhooks_refused']} refused)" if fields["webhooks_refused"]
                    else ""),
                 f"{_count(fields['api_calls'], 'API call')} ({fields['limited']} rate-limited)",
                 _count(fields["failures"], "other failure")]
        if pending is not None:
            parts.append(f"inbox {pending} pending")
        return f"summary (last {self.summary_every:g} s): " + ", ".join(parts), fields

    def _pending(self) -> int | None:
        if self.backlog is None:
            return None
        try:
            return sum(row.pending for row in self.backlog())
        except Exception:
            return None  # the store is busy or down: the failure shows elsewhere

    def write_summary(self) -> None:
        self._write(*self.summary())

    def _write(self, text: str, fields: dict[str, Any]) -> None:
        line = (json.dumps({**fields, "time": self._now()}, ensure_ascii=False)
                if self.json_lines else f"{self._now()} {text}")
        with self._lock:
            if self._held is not None:
                self._held.append(line)
                return
            self._emit([line])

    def _emit(self, lines: list[str]) -> None:
        """Write ``lines`` (the lock is held); a reader that left (``lsq serve | head``) ends
        the progress lines, with one warning, never the service."""
        if self._closed:
            return
        try:
            for line in lines:
                self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError) as problem:  # ValueError: the stream was closed
            self._closed = True
            log.warning("progress lines stopped: their output is gone (%s)",
                        type(problem).__name__)

    def hold(self) -> None:
        """Keep lines back until :meth:`start` (e.g. while the service starts, before its
        banner is printed)."""
        with self._lock:
            self._held = [] if self._held is None else self._held

    # -- the periodic summary --------------------------------------------------------------

    def start(self) -> None:
        """Write the lines held back, then a summary every ``summary_every`` seconds until
        :meth:`stop`."""
        with self._lock:
            held, self._held = self._held or [], None
            self._emit(held)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="lsq-progress", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        deadline = time.monotonic() + self.summary_every
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            self.write_summary()
            deadline += self.summary_every

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None


def _problem(problem: Problem | None) -> dict[str, Any] | None:
    if problem is None:
        return None
    return {"category": problem.category, "message": problem.message, "step": problem.step}


def _problem_text(problem: Problem) -> str:
    where = f"step {problem.step}: " if problem.step else ""
    return f"{where}{problem.category}: {problem.message}"


def _count(number: int, noun: str, nouns: str | None = None) -> str:
    return f"{number} {noun if number == 1 else nouns or noun + 's'}"


def _duration(ms: int) -> str:
    return f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


__all__ = ["DEFAULT_SUMMARY_EVERY", "Progress"]
