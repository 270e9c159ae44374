"""``lsq invoke action KEY -i JSON``: run one action against a connection and print its output.

``-i`` takes inline JSON, ``@file.json`` or ``@-`` (stdin). The input is validated before any
request; the output is validated before it is printed. ``--json`` prints exactly the output
object on stdout. Other invoke targets (``lsq invoke trigger``) register a sub-parser through
:data:`TARGETS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from runtime.cli.common import (
    add_connection_option,
    add_group,
    add_json_option,
    open_client,
    print_json,
    read_json_object,
)
from runtime.cli.invoke_trigger import add_trigger


def register(commands: argparse._SubParsersAction) -> None:
    targets = add_group(commands, "invoke", "run one operation and print its output",
                        dest="target", metavar="TARGET")
    for add_target in TARGETS:
        add_target(targets)


def add_action(targets: argparse._SubParsersAction) -> None:
    parser = targets.add_parser("action", help="run an action: lsq invoke action KEY -i JSON")
    parser.add_argument("key", metavar="KEY", help="the action's key, e.g. create_lead")
    parser.add_argument(
        "-i", "--input", metavar="JSON",
        help="the input: inline JSON, @file.json or @- (stdin); default {}",
    )
    add_json_option(parser)
    add_connection_option(parser)
    parser.set_defaults(func=run_action)


#: One function per ``lsq invoke`` target; each adds its sub-parser.
TARGETS: tuple[Callable[[argparse._SubParsersAction], None], ...] = (add_action, add_trigger)


def run_action(args: argparse.Namespace) -> int:
    from runtime.plugin.invoke import invoke_action
    from runtime.plugin.manifest import load_manifest

    inputs = read_json_object(args.input)
    manifest = load_manifest()
    manifest.action(args.key)  # unknown key: fail before starting a client
    with open_client(args) as client:
        output = invoke_action(manifest, args.key, inputs, client)
    print_json(output, compact=args.json)
    return 0
