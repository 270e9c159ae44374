"""bench/worker_scaling.py runs to its verdict (tiny sizes, no timing asserted: the ratio
is measured by the benchmark itself, in BENCHMARKS.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.postgres import require_postgres

ROOT = Path(__file__).resolve().parents[2]
VERDICT = re.compile(r"^RATIO workers\d/workers1 = \d+\.\d{3} \(target .+\): (met|MISSED)$")


def test_worker_scaling_runs_and_prints_its_verdict_last():
    require_postgres()
    done = subprocess.run(
        [sys.executable, "-m", "bench.worker_scaling", "--accounts", "2", "--workers", "1,2",
         "--seconds", "2", "--warmup", "2", "--rounds", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode in (0, 3), done.stderr[-2000:]  # 3: a target missed (tiny sizes)
    assert VERDICT.match(lines[-1]), lines[-1]
    assert (done.returncode == 0) == lines[-1].endswith(": met")
