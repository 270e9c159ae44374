"""The page's query parameters, bounded: each bad one is one line naming it and the fix.

A query string longer than :data:`MAX_QUERY_CHARS` is refused whole. Runs are filtered by
``workflow``, ``status``, ``since`` / ``until`` (UTC, ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``
as a ``datetime-local`` field sends it), ``limit`` (1 to :data:`MAX_LIMIT`) and ``before`` (a
run id: the next page). Unknown parameters are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from runtime.clock import to_iso
from runtime.store.history import RUN_STATUSES

MAX_QUERY_CHARS = 2048
MAX_TEXT_CHARS = 200
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_ID = 2**63 - 1


class BadParameter(ValueError):
    """One query parameter is out of bounds; the message names it and the fix."""


@dataclass(frozen=True)
class RunFilters:
    """The runs list's filters as the form sent them (times as typed, UTC)."""

    workflow: str = ""
    status: str = ""
    since: str = ""
    until: str = ""
    limit: int = DEFAULT_LIMIT
    before: int | None = None

    def query(self) -> dict[str, object]:
        """The keyword arguments of :meth:`HistoryStore.list_runs`."""
        return {
            "workflow": self.workflow or None,
            "status": self.status or None,
            "since": _stored_time(self.since),
            "until": _stored_time(self.until),
            "limit": self.limit,
            "before": self.before,
        }

    def link(self, **changes: object) -> dict[str, str]:
        """The filters as query parameters (empty ones left out), with ``changes``."""
        values = {**asdict(self), **changes}
        if values["limit"] == DEFAULT_LIMIT:
            values["limit"] = None
        return {name: str(value) for name, value in values.items() if value not in ("", None)}


def parse_filters(args: Mapping[str, str]) -> RunFilters:
    """Read and bound the runs list's parameters (raises :class:`BadParameter`)."""
    workflow = _text(args, "workflow")
    status = _text(args, "status")
    if status and status not in RUN_STATUSES:
        raise BadParameter(f"status: '{status}' is not a run status (use one of "
                           f"{', '.join(RUN_STATUSES)})")
    since, until = _time(args, "since"), _time(args, "until")
    return RunFilters(
        workflow=workflow, status=status, since=since, until=until,
        limit=_integer(args, "limit", DEFAULT_LIMIT, MAX_LIMIT) or DEFAULT_LIMIT,
        before=_integer(args, "before", None, MAX_ID),
    )


def _text(args: Mapping[str, str], name: str) -> str:
    value = args.get(name, "").strip()
    if len(value) > MAX_TEXT_CHARS:
        raise BadParameter(f"{name}: longer than {MAX_TEXT_CHARS} characters (shorten it)")
    return value


def _integer(args: Mapping[str, str], name: str, default: int | None, top: int) -> int | None:
    raw = _text(args, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw[:20]) <= top:
        raise BadParameter(f"{name}: '{raw[:40]}' is not a whole number from 1 to {top}")
    return int(raw)


def _time(args: Mapping[str, str], name: str) -> str:
    raw = _text(args, name)
    if raw:
        try:
            datetime.fromisoformat(raw)
        except ValueError:
            raise BadParameter(f"{name}: '{raw[:40]}' is not a date and time (use "
                               "YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)") from None
    return raw


def _stored_time(text: str) -> str | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return to_iso(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


__all__ = ["MAX_LIMIT", "MAX_QUERY_CHARS", "BadParameter", "RunFilters", "parse_filters"]
