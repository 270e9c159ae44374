"""``lsq hooks ...`` (instant-trigger webhooks in LeadSquared) and ``lsq webhook replay``.

- ``lsq hooks subscribe TARGET [-c JSON] --receiver-url URL``: TARGET is an instant trigger
  key (its config with ``-c``) or a workflow file (its trigger and config); creates the
  LeadSquared webhook to ``URL/hooks/<instance>``, or reuses the live one (idempotent).
- ``lsq hooks unsubscribe TARGET [-c JSON]`` or ``--instance ID``: deletes it.
- ``lsq hooks list``: this account's webhooks of ours and their status (never secrets).
- ``lsq hooks reconcile [--receiver-url URL ...] [--any-receiver]``: removes orphans and
  re-creates subscriptions whose webhook is gone or disabled after failures.
- ``lsq webhook replay FILE --to URL``: POSTs a saved delivery body to a receiver URL
  (``.../hooks/<instance>``) with the instance's secret header from the state store, for
  debugging and backfill (see :mod:`runtime.cli.webhook_replay`).

The state store is ``--state FILE``, else ``$LSQ_STATE_DB``, else ``.lsq/state.sqlite3``
(or the PostgreSQL database of ``--database``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from runtime.cli.arguments import base_url, header_value
from runtime.cli.common import (
    add_connection_option,
    add_group,
    add_json_option,
    open_client,
    open_state_store,
    print_json,
    print_table,
    read_json_object,
)

WORKFLOW_SUFFIXES = (".yaml", ".yml")
HOOK_COLUMNS = ("INSTANCE", "STATUS", "WEBHOOK", "EVENT", "RECEIVER")


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, "hooks", "manage instant-trigger webhooks in LeadSquared",
                        dest="hooks_action")

    subscribe = actions.add_parser("subscribe", help="create (or reuse) a trigger's webhook")
    _add_target(subscribe)
    subscribe.add_argument("--receiver-url", required=True, metavar="URL", type=base_url,
                           help="public base URL of the receiver (lsq serve), e.g. "
                                "https://hooks.example.com")
    _add_common(subscribe)
    subscribe.set_defaults(func=run_subscribe)

    unsubscribe = actions.add_parser("unsubscribe", help="delete a trigger's webhook")
    _add_target(unsubscribe, required=False)
    unsubscribe.add_argument("--instance", metavar="ID", help="a trigger instance id instead")
    _add_common(unsubscribe)
    unsubscribe.set_defaults(func=run_unsubscribe)

    listing = actions.add_parser("list", help="our webhooks in LeadSquared, with their status")
    _add_common(listing)
    listing.set_defaults(func=run_list)

    reconcile = actions.add_parser(
        "reconcile", help="remove orphan webhooks, re-create missing or disabled ones"
    )
    reconcile.add_argument("--receiver-url", action="append", default=[], metavar="URL",
                           type=base_url,
                           help="also remove orphans pointing at this receiver (repeatable)")
    reconcile.add_argument("--any-receiver", action="store_true",
                           help="remove every orphan of ours, whatever URL it points at")
    _add_common(reconcile)
    reconcile.set_defaults(func=run_reconcile)

    tools = add_group(commands, "webhook", "webhook debugging tools", dest="webhook_action")
    replay = tools.add_parser("replay", help="POST a saved delivery body to a receiver")
    replay.add_argument("file", metavar="FILE", help="the delivery body (a file, or - for stdin)")
    replay.add_argument("--to", required=True, metavar="URL",
                        help="the receiver URL of the instance: <base>/hooks/<instance>")
    replay.add_argument("--content-type", metavar="TYPE", type=header_value,
                        help="default: application/json when the body is JSON, else "
                             "application/x-www-form-urlencoded")
    replay.add_argument("--state", metavar="FILE", help="state store (default: $LSQ_STATE_DB)")
    add_json_option(replay)
    replay.set_defaults(func=run_replay)


def _add_target(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("target", metavar="TRIGGER_OR_WORKFLOW", nargs=None if required else "?",
                        help="an instant trigger key (e.g. new_lead) or a workflow file")
    parser.add_argument("-c", "--config", metavar="JSON",
                        help="the trigger config: inline JSON, @file.json or @-; default {}")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state", metavar="FILE", help="state store (default: $LSQ_STATE_DB)")
    add_json_option(parser)
    add_connection_option(parser)


# -- commands ------------------------------------------------------------------------------------


def run_subscribe(args: argparse.Namespace) -> int:
    key, config = _target(args)
    with _session(args) as (subscriptions, _):
        result = subscriptions.subscribe(key, config, args.receiver_url)
    if args.json:
        print_json(result.to_dict(), compact=True)
    else:
        verb = {"exists": "already subscribed", "created": "subscribed",
                "replaced": "re-subscribed"}[result.action]
        print(f"{verb}: {result.trigger} [{result.instance_id}] webhook {result.webhook_id} "
              f"(event code {result.event_code}) -> {result.receiver_url}")
        for webhook_id in result.removed:
            print(f"deleted stale webhook {webhook_id}")
    return 0


def run_unsubscribe(args: argparse.Namespace) -> int:
    if bool(args.target) == bool(args.instance):
        from runtime.cli import UsageError

        raise UsageError("give a trigger key or workflow file, or --instance ID (one of them)")
    key, config = _target(args) if args.target else (None, {})
    with _session(args) as (subscriptions, _):
        result = subscriptions.unsubscribe(key, config, instance=args.instance)
    if args.json:
        print_json(result.to_dict(), compact=True)
    else:
        deleted = ", ".join(result.deleted) or "none found in LeadSquared"
        state = "forgotten" if result.forgotten else "no stored subscription"
        print(f"unsubscribed {result.instance_id}: deleted webhook(s) {deleted}; {state}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with _session(args) as (subscriptions, _):
        rows = subscriptions.listing()
    if args.json:
        print_json(rows, compact=True)
        return 0
    if not rows:
        print("no webhooks of ours in this account")
        return 0
    print_table(HOOK_COLUMNS, [
        [row["instance_id"], row["status"], row["webhook_id"],
         f"{row['event'] or '?'} (code {row['event_code'] or '?'})", row["receiver_url"]]
        for row in rows
    ])
    return 0


def run_reconcile(args: argparse.Namespace) -> int:
    with _session(args) as (subscriptions, _):
        report = subscriptions.reconcile(args.receiver_url, any_receiver=args.any_receiver)
    if args.json:
        print_json(report.to_dict(), compact=True)
        return 0
    for entry in report.removed:
        print(f"removed orphan webhook {entry['webhook_id']} ({entry['instance_id']}) "
              f"-> {entry['receiver_url']}")
    for entry in report.recreated:
        print(f"re-created {entry['instance_id']} ({entry['reason']}): webhook "
              f"{entry['webhook_id']}")
    for entry in report.left:
        print(f"left {entry.get('instance_id')} webhook {entry.get('webhook_id')}: "
              f"{entry['reason']}")
    print(f"{len(report.healthy)} healthy, {len(report.recreated)} re-created, "
          f"{len(report.removed)} orphan(s) removed, {len(report.left)} need attention")
    return 0


# -- helpers -------------------------------------------------------------------------------------


class _session:
    """The client, state store and Subscriptions of one command, closed together."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def __enter__(self) -> tuple[Any, Any]:
        from runtime.engine.subscriptions import Subscriptions

        self.store = open_state_store(self.args)
        try:
            self.client = open_client(self.args)
        except BaseException:
            self.store.close()
            raise
        return Subscriptions(self.client, self.store), self.store

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.store.close()


def _target(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """(trigger key, config) from a key + ``-c``, or from a workflow file's trigger."""
    target = str(args.target)
    if target.endswith(WORKFLOW_SUFFIXES) or Path(target).is_file():
        from runtime.plugin.manifest import load_manifest
        from runtime.workflows.workflow import ManifestSchemas, load_workflow

        if args.config is not None:
            from runtime.cli import UsageError

            raise UsageError("-c: a workflow file carries its trigger config; drop -c")
        workflow = load_workflow(target, ManifestSchemas(load_manifest()))
        if args.connection is None and workflow.connection:
            args.connection = workflow.connection
        return workflow.trigger.key, dict(workflow.trigger.config)
    return target, read_json_object(args.config, "-c")


def run_replay(args: argparse.Namespace) -> int:
    from runtime.cli.webhook_replay import run_replay as replay  # only this command needs it

    return replay(args)
