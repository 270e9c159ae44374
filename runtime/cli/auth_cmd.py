"""``lsq auth test``: check the key pair; print the user, the org and the account's API host.

UserByAccessKey.Get answers on every regional host and names the right one (reference §1.3),
so a connection whose api_host differs from it is reported as an error (its calls would
fail with 401). The answer is read as :func:`runtime.api.account.identity_from` reads it (the
login email from ``EmailAddress`` or, as in the documented sample, ``PassPhrase``).
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime.api.account import WHOAMI, AccountIdentity, identity_from
from runtime.cli.common import (
    add_connection_option,
    add_group,
    add_json_option,
    open_client,
    print_json,
)
from runtime.errors import ConfigurationError


def register(commands: argparse._SubParsersAction) -> None:
    actions = add_group(commands, "auth", "check credentials", dest="auth_command")
    test = actions.add_parser("test", help="check the key pair and show user, org and API host")
    add_json_option(test)
    add_connection_option(test)
    test.set_defaults(func=run_test)


def run_test(args: argparse.Namespace) -> int:
    with open_client(args) as client:
        answer = client.get(WHOAMI)  # asked every time: this command is the check
        configured = client.connection.api_host
    summary = _summary(identity_from(answer))
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


def _summary(identity: AccountIdentity) -> dict[str, Any]:
    return {
        "user": {
            "id": identity.user_id,
            "name": identity.user_name,
            "email": identity.user_email,
            "role": identity.role,
        },
        "org": {
            "id": identity.org_id,
            "name": identity.org_name,
            "short_code": identity.short_code,
        },
        "api_host": identity.api_host,
    }
