"""Fault injection: a reproducible share of API calls fail the way LeadSquared fails.

A spec such as ``"500=0.05,503=0.05,429=0.05,drop=0.03,slow=0.02,seed=7,slow_seconds=1"``
gives each fault's probability per API call. Kinds:

- ``500``: HTTP 500 whose body has no MX ExceptionType (an infrastructure error, retriable);
  the request is not processed.
- ``503``: Service Unavailable; not processed.
- ``429``: the rate-limit answer; not processed.
- ``drop``: the request **is processed**, then the connection is closed without an answer.
  This is the dangerous case: the caller cannot tell whether its write happened.
- ``slow``: the answer is delayed by ``slow_seconds`` (default 1.0) and then served.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

KINDS = ("500", "503", "429", "drop", "slow")


@dataclass
class FaultPlan:
    """Probabilities per fault kind, a seed for reproducibility and the slow delay."""

    rates: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    slow_seconds: float = 1.0

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        """Read ``kind=probability`` pairs (plus ``seed`` and ``slow_seconds``)."""
        plan = cls()
        for part in (spec or "").replace(";", ",").split(","):
            if not part.strip():
                continue
            name, sep, raw = part.partition("=")
            name = name.strip()
            if not sep:
                raise ValueError(f"fault '{part.strip()}' needs the form kind=probability")
            try:
                value = float(raw)
            except ValueError:
                raise ValueError(f"fault '{name}' needs a number, got '{raw.strip()}'") from None
            if name == "seed":
                plan.seed = int(value)
            elif name == "slow_seconds":
                plan.slow_seconds = max(0.0, value)
            elif name in KINDS:
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"fault '{name}' probability must be within 0..1")
                plan.rates[name] = value
            else:
                raise ValueError(f"unknown fault '{name}'; known: {', '.join(KINDS)}")
        if sum(plan.rates.values()) > 1.0:
            raise ValueError("fault probabilities add up to more than 1")
        return plan

    def to_dict(self) -> dict[str, object]:
        return {"rates": dict(self.rates), "seed": self.seed, "slow_seconds": self.slow_seconds}


class FaultInjector:
    """Draws at most one fault per API call from a seeded random stream."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(plan or FaultPlan())

    def configure(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)
            self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)

    def draw(self) -> str | None:
        """The fault for this call, or ``None``."""
        with self._lock:
            if not self.plan.rates:
                return None
            roll = self._random.random()
            for kind in KINDS:
                roll -= self.plan.rates.get(kind, 0.0)
                if roll < 0:
                    self.counts[kind] += 1
                    return kind
            return None
