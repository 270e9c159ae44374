"""``lsq auth test``: check the key pair; print the user, the org and the account's API host.

UserByAccessKey.Get answers on every regional host and names the right one (reference §1.3),
so a connection whose api_host differs from it is reported as an error (its calls would
fail with 401).
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime.cli.common import add_connection_option, add_json_option, open_client, print_json
from runtime.errors import ConfigurationError

WHOAMI = "Authentication.svc/UserByAccessKey.Get"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("auth", help="check credentials")
    actions = parser.add_subparsers(dest="auth_command", metavar="ACTION",
                                    parser_class=type(parser))
    actions.required = True
    test = actions.add_parser("test", help="check the key pair and show user, org and API host")
    add_json_option(test)
    add_connection_option(test)
    test.set_defaults(func=run_test)


def run_test(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        answer = client.get(WHOAMI)
        configured = client.connection.api_host
    if not isinstance(answer, dict):
        raise ConfigurationError(f"{WHOAMI} answered with {type(answer).__name__}, not an object")
    summary = _summary(answer)
    right_host = summary["api_host"]
    if args.json:
        print_json(summary, compact=True)
    else:
        user, org = summary["user"], summary["org"]
        print("ok: credentials are valid")
        print(f"user: {user['name']} <{user['email']}> ({user['role']}), id {user['id']}")
        print(f"org:  {org['name']} (org id {org['id']}, short code {org['short_code']})")
        print(f"host: {right_host}")
    if configured and right_host and configured != right_host:
        raise ConfigurationError(
            f"api_host {configured} is not this account's host; calls would fail with 401",
            hint=f"set api_host to {right_host}",
        )
    return 0


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    urls = answer.get("LSQCommonServiceURLs")
    host = urls.get("api") if isinstance(urls, dict) else None
    return {
        "user": {
            "id": answer.get("Id"),
            "name": answer.get("Name"),
            "email": answer.get("EmailAddress"),
            "role": answer.get("Role"),
        },
        "org": {
            "id": answer.get("OrgId"),
            "name": answer.get("OrgDisplayName"),
            "short_code": answer.get("OrgShortCode"),
        },
        "api_host": host.strip().lower() if isinstance(host, str) else None,
    }
