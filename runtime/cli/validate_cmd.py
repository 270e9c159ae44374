"""``lsq validate [WORKFLOW...]``: check connector.yaml, its schemas, handlers and samples
(both stages), and the workflow files named against this connector's operations.

A workflow problem prints as ``file:location: message`` (``flow.yaml:welcome.input.lead_id:
...``); any problem exits 1. Workflows are also checked against the account of their
connection (else ``--connection``, ``LSQ_*``, the embedded sandbox): custom field names,
types and users they name (:mod:`runtime.cli.accounts`); ``--offline`` skips that.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from runtime.cli.accounts import WorkflowAccounts
from runtime.cli.common import add_connection_option, add_json_option, add_root_option
from runtime.errors import WorkflowError
from runtime.plugin.manifest import MANIFEST_FILE, check_manifest
from runtime.text import json_text
from runtime.workflows.workflow import ManifestSchemas, check_workflow, read_workflow_file


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "validate", help="validate connector.yaml and everything it names, and workflow files"
    )
    parser.add_argument(
        "workflows", nargs="*", metavar="WORKFLOW",
        help="workflow files to check against this connector (mappings, references, types)",
    )
    add_root_option(parser)
    parser.add_argument(
        "--offline", action="store_true",
        help="do not ask the workflows' accounts about the fields, types and users they name",
    )
    add_connection_option(parser)
    add_json_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = check_manifest(args.root)
    workflows = _check_workflows(report.manifest, args)
    valid = report.valid and all(not problems for _, problems in workflows)
    if args.json:
        result = {
            "valid": report.valid,
            "triggers": list(report.triggers),
            "actions": list(report.actions),
            "problems": list(report.problems),
        }
        if args.workflows:
            result["valid"] = valid
            result["workflows"] = [
                {"file": path, "valid": not problems, "problems": problems}
                for path, problems in workflows
            ]
        print(json_text(result))
        return 0 if valid else 1
    if not report.valid:
        for problem in report.problems:
            print(problem)
        count = len(report.problems)
        print(f"{MANIFEST_FILE}: invalid — {_plural(count, 'problem')}", file=sys.stderr)
    else:
        assert report.manifest is not None
        kinds = [trigger.kind for trigger in report.manifest.triggers]
        print(
            f"{MANIFEST_FILE}: valid — {_plural(len(kinds), 'trigger')} "
            f"({kinds.count('polling')} polling, {kinds.count('instant')} instant), "
            f"{_plural(len(report.actions), 'action')}"
        )
    _print_workflows(workflows)
    return 0 if valid else 1


def _check_workflows(manifest: Any, args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """``(file, problems)`` per workflow; without a loadable manifest nothing can be checked."""
    paths: list[str] = args.workflows
    if not paths:
        return []
    if manifest is None:
        return [(path, [f"{path}: not checked: {MANIFEST_FILE} does not load"]) for path in paths]
    schemas = ManifestSchemas(manifest)
    checked = []
    for path in paths:
        try:  # read once: a FIFO or process substitution can be read only once
            data = read_workflow_file(path, name=path)
        except WorkflowError as exc:
            checked.append((path, exc.problems or [str(exc)]))
            continue
        if args.offline:
            checked.append((path, check_workflow(data, schemas, name=path)))
            continue
        accounts = WorkflowAccounts(path, args.connection)
        try:
            problems = check_workflow(data, schemas, name=path, accounts=accounts)
        finally:
            accounts.close()
        hint = " (fix it, or pass --offline to skip the account checks)"
        problems += [f"{path}: {failure}{hint}" for failure in accounts.failures()]
        if not problems:
            problems = _connection_problems(path, data, accounts)
        checked.append((path, problems))
    return checked


def _connection_problems(
    path: str, data: Mapping[str, Any], accounts: WorkflowAccounts
) -> list[str]:
    """The connection files a valid workflow names (relative to it; else ``--connection``)
    that ``lsq run`` could not load, among those no account check opened: a workflow whose
    names needed no look-up would otherwise pass with a missing or broken connection file."""
    from runtime.api.connection import load_connection
    from runtime.errors import ConnectorError

    steps = [step for step in data.get("steps", []) if isinstance(step, Mapping)]
    files = {accounts.path(data.get("connection"))}
    files.update(accounts.path(step["connection"]) for step in steps if step.get("connection"))
    tried = accounts.tried()
    problems = []
    for file in sorted(name for name in files - tried if name is not None):
        try:
            load_connection(file, {})
        except ConnectorError as error:
            problems.append(f"{path}: {error} (fix it, or pass --offline to skip the account "
                            "checks)")
    return problems


def _print_workflows(workflows: list[tuple[str, list[str]]]) -> None:
    for path, problems in workflows:
        for problem in problems:
            print(problem)
        if problems:
            print(f"{path}: invalid — {_plural(len(problems), 'problem')}", file=sys.stderr)
        else:
            print(f"{path}: valid")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
