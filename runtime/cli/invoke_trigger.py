"""``lsq invoke trigger KEY [-c JSON] [--commit]``: run one trigger once and print its events.

A polling trigger makes one poll of its instance (the trigger, its config and the account):
a dry run unless ``--commit`` (then the cursor moves and the events are queued in the inbox,
as ``lsq serve`` does). An instant trigger prints recent real records in its event shape.
``-c`` takes inline JSON, ``@file.json`` or ``@-``. The state file is ``--state FILE``, else
``$LSQ_STATE_DB``, else ``.lsq/state.sqlite3`` (or the PostgreSQL database of ``--database``).
"""

from __future__ import annotations

import argparse
import sys

from runtime.cli.arguments import positive_int
from runtime.cli.common import (
    add_connection_option,
    add_json_option,
    open_client,
    open_state_store,
    print_json,
    read_json_object,
)
from runtime.plugin.manifest import load_manifest


def add_state_option(parser: argparse.ArgumentParser) -> None:
    """``--state FILE``: the trigger state file."""
    parser.add_argument(
        "--state", metavar="FILE",
        help="trigger state file (SQLite); default: $LSQ_STATE_DB, else .lsq/state.sqlite3",
    )


def add_trigger(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser(
        "trigger", help="run a trigger once: lsq invoke trigger KEY [-c JSON] [--commit]"
    )
    parser.add_argument("key", metavar="KEY", help="the trigger's key, e.g. new_account")
    parser.add_argument(
        "-c", "--config", metavar="JSON",
        help="the trigger's config: inline JSON, @file.json or @- (stdin); default {}",
    )
    parser.add_argument(
        "--commit", action="store_true",
        help="polling: commit the poll (move the cursor, queue the events in the inbox); "
        "without it the poll is a dry run that changes nothing",
    )
    parser.add_argument(
        "--since", metavar="TIME",
        help="polling: the first poll's start time (UTC yyyy-MM-dd HH:mm:ss or ISO 8601); "
        "without it a first poll starts from now. Later polls continue from the cursor "
        "(lsq state reset --since replays)",
    )
    parser.add_argument(
        "--limit", metavar="N", type=positive_int, default=3,
        help="instant: how many recent records to print (default 3)",
    )
    add_state_option(parser)
    add_json_option(parser)
    add_connection_option(parser)
    parser.set_defaults(func=run_trigger)


def run_trigger(args: argparse.Namespace) -> int:
    from runtime.engine.trigger_invoke import invoke_trigger

    config = read_json_object(args.config, "-c")
    manifest = load_manifest()
    trigger = manifest.trigger(args.key)  # unknown key: fail before starting a client
    with open_client(args) as client, open_state_store(args) as store:
        report = invoke_trigger(
            manifest, args.key, config, client, store,
            commit=args.commit, since=args.since, limit=args.limit,
        )
    print_json(report, compact=args.json)
    if not args.json and trigger.kind == "polling":
        print(_note(report), file=sys.stderr)
    return 0


def _note(report: dict) -> str:
    count = len(report["events"])
    what = f"{count} new event{'' if count == 1 else 's'}"
    if report["baseline"]:
        what = f"first poll (a baseline): {what}"
    if not report["complete"]:
        what += "; the poll's budget ran out, the next poll continues"
    if report["committed"]:
        return f"{what}; committed: the cursor moved and the events are queued in the inbox"
    return f"{what}; dry run: nothing was written (use --commit to advance the cursor)"
