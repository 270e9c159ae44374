"""How long run history and trigger state are kept, and the pruning that enforces it.

Defaults: 30 days (``LSQ_RETENTION_DAYS``) and at most 100,000 runs (``LSQ_RETENTION_MAX_RUNS``);
``lsq db prune --days N --max-runs N`` overrides both. A prune deletes

- finished runs (and their steps) started more than ``days`` ago, then the oldest finished
  runs beyond the newest ``max_runs``;
- dedupe keys recorded, and done or failed inbox events last changed, more than ``days`` ago,
  and the raw deliveries no kept event refers to;

and never a ``running`` run, a pending or processing inbox event, a cursor, a list snapshot, a
subscription or a lease. It deletes in batches of a few thousand rows per transaction and
reads old rows through indexes, so it is cheap to run on a schedule (the service calls
:func:`prune` periodically; ``lsq db prune`` runs it once).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from runtime.clock import utc_now
from runtime.errors import ConfigurationError
from runtime.store.history import HistoryStore
from runtime.store.state import StateStore

DEFAULT_DAYS = 30
DEFAULT_MAX_RUNS = 100_000
RETENTION_DAYS_ENV = "LSQ_RETENTION_DAYS"
RETENTION_MAX_RUNS_ENV = "LSQ_RETENTION_MAX_RUNS"


@dataclass(frozen=True)
class Retention:
    """Keep ``days`` of history and state, and at most ``max_runs`` runs."""

    days: int = DEFAULT_DAYS
    max_runs: int = DEFAULT_MAX_RUNS

    def __post_init__(self) -> None:
        if self.days < 1 or self.max_runs < 1:
            raise ConfigurationError(
                f"retention must keep at least 1 day and 1 run (got {self.days} days, "
                f"{self.max_runs} runs)"
            )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        days: int | None = None,
        max_runs: int | None = None,
    ) -> Retention:
        """``days``/``max_runs`` if given, else the environment, else the defaults."""
        env = os.environ if environ is None else environ
        return cls(
            days=days if days is not None else _env_int(env, RETENTION_DAYS_ENV, DEFAULT_DAYS),
            max_runs=max_runs if max_runs is not None
            else _env_int(env, RETENTION_MAX_RUNS_ENV, DEFAULT_MAX_RUNS),
        )

    def cutoff(self, now: datetime) -> datetime:
        """Rows older than this are pruned."""
        return now - timedelta(days=self.days)


def prune(
    state: StateStore | None,
    history: HistoryStore | None,
    retention: Retention,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Prune ``history`` and ``state`` (either may be None); counts of what was deleted."""
    cutoff = retention.cutoff(now or utc_now())
    deleted: dict[str, int] = {}
    if history is not None:
        deleted.update(history.prune(cutoff, keep=retention.max_runs))
    if state is not None:
        deleted.update(state.prune(cutoff))
    return deleted


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ConfigurationError(f"{name}={text!r} is not a whole number of 1 or more")
    return int(text)


__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_MAX_RUNS",
    "RETENTION_DAYS_ENV",
    "RETENTION_MAX_RUNS_ENV",
    "Retention",
    "prune",
]
