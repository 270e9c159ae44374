"""The long fault run: ``python -m tests.reliability.fault_run --runs 300``.

Runs the four example workflows under the service while the sandbox injects faults into the
connector's calls (default: 20% of calls; see ``--faults``), then prints the figures table
and exits 1 if a guarantee broke (a run that neither succeeded nor failed with a classified
error, a duplicate record or email, an accepted event without a finished run).
"""

from __future__ import annotations

import argparse
import logging
import sys

from tests.reliability._fleet import DEFAULT_SPEC, fault_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.fault_run")
    parser.add_argument("--runs", type=int, default=300, help="workflow runs to cause (300)")
    parser.add_argument("--faults", default=DEFAULT_SPEC, help=f"fault spec ({DEFAULT_SPEC})")
    parser.add_argument("--seed", type=int, default=7, help="fault seed (7)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    figures = fault_run(args.runs, spec=args.faults, seed=args.seed,
                        settle_timeout=max(60.0, args.runs / 2))
    print(f"fault run: {args.runs} runs caused, faults {args.faults}, seed {args.seed}\n")
    print(figures.table())
    problems = figures.problems()
    for problem in problems:
        print(f"BROKEN: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
