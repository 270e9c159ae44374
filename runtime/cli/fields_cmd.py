"""``lsq fields lead``: list the account's lead fields (schema name, display name, type, kind).

Workflows and action inputs name lead fields by schema name (``mx_City``), not display name;
this command shows which names an account has. Custom fields are those starting with ``mx_``.
"""

from __future__ import annotations

import argparse

from runtime.cli.common import (
    add_connection_option,
    add_group,
    add_json_option,
    open_client,
    print_json,
    print_table,
)

COLUMNS = (("schema_name", "SCHEMA NAME"), ("display_name", "DISPLAY NAME"), ("type", "TYPE"),
           ("kind", "KIND"))


def register(commands: argparse._SubParsersAction) -> None:
    records = add_group(commands, "fields", "list an account's fields", dest="record",
                        metavar="RECORD")
    lead = records.add_parser("lead", help="lead fields: schema name, display name, type, kind")
    add_json_option(lead)
    add_connection_option(lead)
    lead.set_defaults(func=run_lead)


def run_lead(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        fields = client.metadata.lead_field_summaries()
    if args.json:
        print_json(fields, compact=True)
        return 0
    rows = [[str(field[name] or "") for name, _ in COLUMNS] for field in fields]
    print_table([title for _, title in COLUMNS], rows)
    return 0

