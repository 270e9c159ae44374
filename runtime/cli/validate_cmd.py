"""``lsq validate``: check connector.yaml, its schemas, handlers and samples (both stages)."""

from __future__ import annotations

import argparse
import json
import sys

from ..manifest import MANIFEST_FILE, check_manifest
from .common import add_json_option


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("validate", help="validate connector.yaml and everything it names")
    parser.add_argument(
        "--root", metavar="DIR", help="connector root (default: $LSQ_CONNECTOR_ROOT, else this one)"
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = check_manifest(args.root)
    if args.json:
        print(json.dumps({
            "valid": report.valid,
            "triggers": list(report.triggers),
            "actions": list(report.actions),
            "problems": list(report.problems),
        }, ensure_ascii=False))
        return 0 if report.valid else 1
    if not report.valid:
        for problem in report.problems:
            print(problem)
        count = len(report.problems)
        print(f"{MANIFEST_FILE}: invalid — {_plural(count, 'problem')}", file=sys.stderr)
        return 1
    assert report.manifest is not None
    kinds = [trigger.kind for trigger in report.manifest.triggers]
    print(
        f"{MANIFEST_FILE}: valid — {_plural(len(kinds), 'trigger')} "
        f"({kinds.count('polling')} polling, {kinds.count('instant')} instant), "
        f"{_plural(len(report.actions), 'action')}"
    )
    return 0


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
