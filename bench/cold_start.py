"""Cold start: ``lsq validate`` on the full manifest vs importing the libraries it needs.

Whole-process wall time (fork, interpreter start, imports, work, exit) of
``python -m runtime.cli validate`` and of ``python -c "import yaml, jsonschema, jinja2,
requests"``, alternated, median of ``--runs`` each (after one untimed run of each, so both
start with warm file caches).

    python -m bench.cold_start [--runs 15]
"""

from __future__ import annotations

import sys

from ._common import Result, finish, median, ms, parser, run_process

TARGET = 2.0
VALIDATE = [sys.executable, "-c", "import sys; from runtime.cli import main; sys.exit(main())",
            "validate"]
IMPORTS = [sys.executable, "-c", "import yaml, jsonschema, jinja2, requests"]


def run(runs: int) -> Result:
    run_process(VALIDATE)
    run_process(IMPORTS)
    samples: dict[str, list[float]] = {"validate": [], "imports": []}
    for number in range(runs):
        order = ("validate", "imports") if number % 2 == 0 else ("imports", "validate")
        for name in order:
            samples[name].append(run_process(VALIDATE if name == "validate" else IMPORTS))
    validate, imports = median(samples["validate"]), median(samples["imports"])
    ratio = validate / imports
    result = Result(
        "cold_start", "Cold start: lsq validate (full manifest) vs importing its libraries",
        ratio_label="validate/imports", ratio=ratio, target=f"<= {TARGET:.1f}",
        met=ratio <= TARGET,
    )
    result.add("runs each", runs)
    result.add("lsq validate median", ms(validate))
    result.add("import yaml, jsonschema, jinja2, requests median", ms(imports))
    result.extra = {"validate_ms": validate * 1000, "imports_ms": imports * 1000}
    return result


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("cold_start", __doc__ or "")
    args_parser.add_argument("--runs", type=int, default=15, help="runs of each process")
    args = args_parser.parse_args(argv)
    return finish(run(args.runs), args.json)


if __name__ == "__main__":
    sys.exit(main())
