"""Run every benchmark, each in its own process, and print the table for BENCHMARKS.md.

    python -m bench.run_all            # the full run (about 5 minutes)
    python -m bench.run_all --quick    # tiny counts (the CI smoke test's sizes)

Each benchmark prints its figures and its verdict line last; this script then prints a
Markdown table (target, figure, met?) with the date and the machine. A benchmark that misses
its target exits 3 (and so does this script, after the table); any other failure stops the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSED_EXIT = 3  # bench._common.MISSED_EXIT (not imported: this script needs no runtime import)

#: (module, full-run arguments, quick arguments)
BENCHMARKS: list[tuple[str, list[str], list[str]]] = [
    ("overhead", ["--calls", "2000", "--processes", "10"], ["--calls", "20", "--processes", "1"]),
    ("workflow_steps", ["--runs", "300"], ["--runs", "3"]),
    ("cold_start", ["--runs", "15"], ["--runs", "1"]),
    ("rate_governor", ["--seconds", "60", "--limit", "25"], ["--seconds", "2", "--limit", "5"]),
    ("api_calls", [], []),
    ("webhook_pipeline", ["--burst", "1000", "--rounds", "6", "--paced", "300"],
     ["--burst", "20", "--rounds", "2", "--paced", "5", "--rss-events", "40"]),
    ("store_ops", ["--events", "1000"], ["--events", "20"]),
    ("polling_scale", ["--members", "100000", "--added", "10", "--accounts", "100000"],
     ["--members", "2500", "--added", "2", "--accounts", "2500", "--settle", "1"]),
]


def command(module: str, args: list[str], json_path: str | None = None) -> list[str]:
    extra = ["--json", json_path] if json_path else []
    return [sys.executable, "-m", f"bench.{module}", *args, *extra]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs (nproc), {cpu}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all")
    parser.add_argument("--quick", action="store_true", help="tiny counts (smoke)")
    parser.add_argument("--only", nargs="*", help="benchmark modules to run")
    args = parser.parse_args(argv)
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as scratch:
        for module, full, quick in BENCHMARKS:
            if args.only and module not in args.only:
                continue
            path = str(Path(scratch) / f"{module}.json")
            cmd = command(module, quick if args.quick else full, path)
            print(f"$ python -m bench.{module} {' '.join(quick if args.quick else full)}",
                  flush=True)
            done = subprocess.run(cmd, cwd=ROOT, env=env)
            if done.returncode not in (0, MISSED_EXIT):  # 3: ran to the end, missed its target
                raise SystemExit(f"bench.{module} failed (exit {done.returncode})")
            rows.append(json.loads(Path(path).read_text()))
    print(f"\nRun {time.strftime('%Y-%m-%d %H:%M %Z')} on {machine()}\n")
    print("| benchmark | target | figure | met? |")
    print("|---|---|---|---|")
    for row in rows:
        value = "n/a" if row["ratio"] is None else f"{row['ratio']:.3f}"
        print(f"| {row['title']} | {row['ratio_label']} {row['target']} | {value} | "
              f"{'yes' if row['met'] else 'NO'} |")
    return MISSED_EXIT if any(row["met"] is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
