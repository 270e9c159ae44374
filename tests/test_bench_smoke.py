"""Smoke test of the benchmarks: each runs with tiny counts, prints its figures, verdict last.

No timing assertions (CI machines are noisy): only that each benchmark runs to the end and
its last line is the ``RATIO ... : met|MISSED`` verdict with a figure. A missed target exits 3,
which this test accepts (tiny counts say nothing about a target); any other code fails it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run_all import BENCHMARKS  # noqa: E402

VERDICT = re.compile(r"^RATIO .+ = (\d+\.\d{3}|n/a) \(target .+\): (met|MISSED)$")


@pytest.mark.parametrize(("module", "quick"), [(m, q) for m, _, q in BENCHMARKS],
                         ids=[m for m, _, _ in BENCHMARKS])
def test_benchmark_runs_and_prints_its_verdict_last(module: str, quick: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *quick], cwd=ROOT, capture_output=True,
        text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode in (0, 3), done.stderr[-2000:]  # 3: ran, missed its target
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("== ") or module == "api_calls"
    assert VERDICT.match(lines[-1]), lines[-1]
    assert len(lines) >= 3  # figures before the verdict
