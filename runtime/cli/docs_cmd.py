"""``lsq docs``: generate the Markdown reference docs from connector.yaml and the schemas.

Writes ``README.md``, ``actions/<key>.md`` and ``triggers/<key>.md`` under ``--out`` (default:
``docs/`` in the connector root; an installed connector's own copy is read-only, so writing
needs ``--out``). ``--check`` writes nothing and exits 1 when the folder differs from a fresh
generation. ``--json`` prints the same as one JSON object. No network: everything comes from
the manifest and code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from runtime.cli.common import add_json_option, add_root_option, print_json


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("docs", help="generate the reference docs (Markdown)")
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default: docs/ in the connector root)"
    )
    add_root_option(parser)
    parser.add_argument(
        "--check", action="store_true",
        help="write nothing; exit 1 if the folder differs from what would be generated",
    )
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported here, not at module level: `lsq validate` and the other commands do not need them
    from runtime.cli import UsageError  # the CLI package imports this module first
    from runtime.plugin.docs import DOCS_DIR, FIX, compare_docs, render_docs, write_docs
    from runtime.plugin.manifest import read_manifest
    from runtime.plugin.resources import is_read_only

    manifest = read_manifest(args.root)
    if not (args.out or args.check) and is_read_only(manifest.root):
        raise UsageError("the installed connector's docs are read-only: give --out DIR")
    out = Path(args.out) if args.out else manifest.root / DOCS_DIR
    files = render_docs(manifest)
    if args.check:
        problems = compare_docs(files, out)
        if args.json:
            print_json({"path": str(out), "files": len(files), "stale": problems}, compact=True)
            return 1 if problems else 0
        for problem in problems:
            print(f"  {problem}")
        if problems:
            print(f"{out}: the docs are stale; {FIX}")
            return 1
        print(f"{out}: up to date ({len(files)} files)")
        return 0
    changed = write_docs(files, out)
    if args.json:
        print_json({"path": str(out), "files": len(files), "changed": changed}, compact=True)
        return 0
    print(f"{out}: {len(files)} files, {len(changed)} changed")
    for relpath in changed:
        print(f"  {relpath}")
    return 0
