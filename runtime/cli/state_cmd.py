"""``lsq state show|reset``: inspect and reset trigger state (cursors, inbox, subscriptions).

Both print text, or JSON with ``--json``. ``show`` prints, per trigger instance, its cursor
(without id lists), inbox counts by status, dedupe keys, list-snapshot size and webhook
subscription, never a secret. ``reset`` forgets an
instance's cursor, dedupe keys and snapshot (queued inbox events and subscriptions stay): the
next poll takes a fresh baseline, or, with ``--since``, emits everything from that time on (an
instant trigger's instance only forgets its dedupe keys; ``--since`` is refused for it).
An instance is named by ``--instance ID`` (from ``show``) or by ``--trigger KEY`` (every
instance of that trigger).
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime.cli.common import add_group, add_json_option, open_state_store, print_json
from runtime.cli.invoke_trigger import add_state_option


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, "state", "show or reset trigger state", dest="state_action")

    show = actions.add_parser("show", help="cursors, inbox counts and subscriptions (no secrets)")
    _add_selection(show, required=False)
    add_state_option(show)
    add_json_option(show)
    show.set_defaults(func=run_show)

    reset = actions.add_parser("reset", help="forget a trigger instance's cursor and dedupe keys")
    _add_selection(reset, required=True)
    reset.add_argument(
        "--since", metavar="TIME",
        help="replay from this time (UTC yyyy-MM-dd HH:mm:ss or ISO 8601); without it the next "
        "poll takes a fresh baseline and fires only for later records",
    )
    add_state_option(reset)
    add_json_option(reset)
    reset.set_defaults(func=run_reset)


def _add_selection(parser: argparse.ArgumentParser, *, required: bool) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--trigger", metavar="KEY", help="every instance of this trigger")
    group.add_argument("--instance", metavar="ID", help="one instance, e.g. new_account-0b31...")


def _selected(args: argparse.Namespace, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instances ``--trigger`` / ``--instance`` name (all without either)."""
    from runtime.store.state import trigger_key_of

    if args.instance:
        return [entry for entry in instances if entry["instance_id"] == args.instance]
    if args.trigger:
        return [entry for entry in instances
                if trigger_key_of(entry["instance_id"]) == args.trigger]
    return instances


def _check_selection(args: argparse.Namespace) -> None:
    from runtime.cli import UsageError
    from runtime.store.state import is_instance_id

    if args.instance and not is_instance_id(args.instance):
        raise UsageError(f"--instance: {args.instance!r} is not a trigger instance id "
                         "(<trigger key>-<20 hex digits>, as lsq state show prints)")


def run_show(args: argparse.Namespace) -> int:
    _check_selection(args)
    with open_state_store(args) as store:
        summary = store.show()
    summary["instances"] = _selected(args, summary["instances"])
    if args.json:
        print_json(summary, compact=True)
        return 0
    print(f"state: {summary['path']}")
    if not summary["instances"]:
        print("no trigger state" + (" for this selection" if args.trigger or args.instance
                                    else " yet"))
    for entry in summary["instances"]:
        print("\n".join(_instance_lines(entry)))
    return 0


def _instance_lines(entry: dict[str, Any]) -> list[str]:
    """An instance of ``lsq state show`` as text: its id, then one indented line per part."""
    lines = [entry["instance_id"]]
    cursor = entry["cursor"]
    if cursor is None:
        lines.append("  cursor: none")
    else:
        values = {k: v for k, v in cursor.items() if k not in ("version", "updated_at")}
        shown = ", ".join(f"{k} {v}" for k, v in values.items() if v is not None) or "empty"
        lines.append(f"  cursor: {shown} (version {cursor['version']}, updated "
                     f"{cursor['updated_at']})")
    inbox = ", ".join(f"{count} {status}" for status, count in sorted(entry["inbox"].items()))
    lines.append(f"  inbox: {inbox or 'empty'}")
    lines.append(f"  dedupe keys: {entry['dedupe_keys']}; list snapshot members: "
                 f"{entry['snapshot_members']}")
    hook = entry["subscription"]
    if hook is not None:
        lines.append(f"  subscription: webhook {hook['webhook_id']} (event {hook['event_code']}) "
                     f"-> {hook['receiver_url']}, since {hook['created_at']}")
    return lines


def run_reset(args: argparse.Namespace) -> int:
    from runtime.api.lsq_format import parse_datetime
    from runtime.clock import to_iso
    from runtime.errors import ConfigurationError

    _check_selection(args)
    since = parse_datetime(args.since) if args.since else None
    with open_state_store(args) as store:
        chosen = [entry["instance_id"] for entry in _selected(args, store.show()["instances"])]
        if not chosen:
            what = f"instance {args.instance}" if args.instance else f"trigger {args.trigger}"
            raise ConfigurationError(
                f"no state for {what} in {store.location}",
                hint="lsq state show lists the instances",
            )
        instant = _instant(chosen)
        if since is not None and instant:
            raise ConfigurationError(
                f"--since: {instant[0]} is an instant trigger's (LeadSquared posts its events; "
                "nothing is polled from a time)",
                hint="leave --since out to forget its dedupe keys, or name a polling trigger",
            )
        for instance in chosen:
            store.reset(instance, since)
    if args.json:
        print_json({"reset": chosen, "since": to_iso(since) if since else None}, compact=True)
        return 0
    then = (f"emits the records from {to_iso(since)} on" if since
            else "takes a fresh baseline (only later records fire)")
    for instance in chosen:
        if instance in instant:
            print(f"reset {instance}: its dedupe keys are forgotten (a delivery LeadSquared "
                  "sends again runs again)")
        else:
            print(f"reset {instance}: its next poll {then}")
    return 0


def _instant(instances: list[str]) -> list[str]:
    """The ``instances`` of instant (webhook) triggers, by the manifest's trigger kinds."""
    from runtime.plugin.manifest import load_manifest
    from runtime.store.state import trigger_key_of

    kinds = {trigger.key: trigger.kind for trigger in load_manifest().triggers}
    return [instance for instance in instances
            if kinds.get(trigger_key_of(instance)) == "instant"]
