"""The sandbox in its own process for the benchmarks: ``python -m bench._sandbox_server``.

Prints one JSON line ``{"base_url": ...}`` once it serves, then serves until killed. With
``--list-members N`` it first adds N leads to the default tenant and a static list
"Benchmark Members" holding all of them, directly in the sandbox state (no API calls). With
``--accounts N`` it adds N + 1 accounts of the type "Company", last modified long ago; then
SIGUSR1 changes the first N at once (ModifiedOn = the sandbox's now, or spread evenly over
the last ``--spread`` seconds) and SIGUSR2
changes the last one with a ModifiedOn two minutes back (a change indexed late: older than
the burst, seen only now); each signal answers one JSON line on stdout once done.
``--trim-logs N`` it keeps only the newest N request-log entries and outbox emails (checked each
second), so a long run measures the connector's memory, not the sandbox's growing logs.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import timedelta
from types import FrameType

from runtime.sandbox import SandboxApp
from runtime.sandbox.server import bound_url, create_server, serve_forever
from runtime.sandbox.services.accounts import format_date
from runtime.sandbox.state import Tenant

BIG_LIST_ID = "b0b0b0b0-0000-4000-8000-000000100000"
BIG_LIST_NAME = "Benchmark Members"
SEED_TIME = "2025-01-02 03:04:05.000"
ACCOUNT_TYPE = "Company"
LATE_BY = timedelta(minutes=2)  # how far back SIGUSR2's late change is stamped


def account_id(number: int) -> str:
    return f"c0c0c0c0-0000-4000-8000-{number:012d}"


def add_accounts(tenant: Tenant, count: int) -> None:
    """``count`` accounts of ``ACCOUNT_TYPE``, created and modified at the seed time."""
    template = {field["SchemaName"]: None for field in tenant.company_fields}
    owner = next(iter(tenant.users))
    for number in range(count + 1):
        record = dict(template)
        record.update(
            CompanyId=account_id(number), CompanyType=ACCOUNT_TYPE,
            CompanyName=f"Bench Account {number}", OwnerId=owner, CreatedBy=owner,
            CreatedOn=SEED_TIME[:19], ModifiedBy=owner, ModifiedOn=SEED_TIME[:19],
        )
        tenant.companies[account_id(number)] = record


def change_accounts(
    app: SandboxApp, count: int, *, late: bool, spread: int = 0
) -> dict[str, object]:
    """The first ``count`` accounts modified now (over the last ``spread`` seconds, oldest
    first), or (``late``) the last one two minutes back."""
    with app.state.lock:
        tenant = next(iter(app.state.tenants.values()))
        now = app.state.clock.now()
        if late:
            stamp = format_date(now - LATE_BY)
            tenant.companies[account_id(count)]["ModifiedOn"] = stamp
            return {"changed": 1, "ModifiedOn": stamp}
        for number in range(count):
            moment = now - timedelta(seconds=spread * (count - 1 - number) // max(count, 1))
            tenant.companies[account_id(number)]["ModifiedOn"] = format_date(moment)
    return {"changed": count, "ModifiedOn": format_date(now)}


def add_big_list(tenant: Tenant, members: int) -> None:
    """``members`` new leads (copies of a seeded lead's shape) in one static list."""
    template = next(iter(tenant.leads.values()))
    ids: list[str] = []
    for number in range(members):
        lead_id = f"b1b1b1b1-0000-4000-8000-{number:012d}"
        record = dict(template)
        record.update({
            "ProspectID": lead_id,
            "ProspectAutoId": str(tenant.next_auto_id() + 100000),
            "FirstName": "Member",
            "LastName": str(number),
            "EmailAddress": f"member{number}@bench.example.com",
            "Phone": None,
            "Mobile": None,
            "CreatedOn": SEED_TIME,
            "ModifiedOn": SEED_TIME,
        })
        tenant.leads[lead_id] = record
        ids.append(lead_id)
    tenant.lists[BIG_LIST_ID] = {
        "ListId": BIG_LIST_ID, "ListName": BIG_LIST_NAME, "ListDescription": "benchmark",
        "ListType": "static", "CreatedOn": SEED_TIME, "Rule": None,
    }
    tenant.list_members[BIG_LIST_ID] = ids


def bench_keys(number: int) -> tuple[str, str]:
    """The key pair of benchmark tenant ``number`` (1, 2, ...; 0 is the seed's own)."""
    return f"u$rbench{number:026d}", f"bench-secret-{number:026d}"


def add_tenants(app: SandboxApp, count: int) -> None:
    """``count - 1`` copies of the seed's tenant, each its own account with its own keys
    (:func:`bench_keys`) and its own rate budget."""
    import copy
    import uuid

    from runtime.sandbox.seed import ORG_NAMESPACE
    from runtime.sandbox.state import KeyPair

    original = next(iter(app.state.tenants.values()))
    admin = next(pair.user_id for pair in app.state.keys.values()
                 if pair.tenant_id == original.org_id)
    for number in range(1, count):
        tenant = copy.deepcopy(original)
        tenant.org_id = f"{original.org_id}{number:03d}"
        tenant.public_org_id = str(uuid.uuid5(ORG_NAMESPACE, tenant.org_id))
        app.state.add_tenant(tenant)
        access, secret = bench_keys(number)
        app.state.keys[access] = KeyPair(access, secret, tenant.org_id, admin)
def _serve_waitress(app: SandboxApp) -> int:
    """Serve ``app`` with waitress, which keeps connections alive (werkzeug's server closes
    each one after its answer, so every call would pay a new TCP connection)."""
    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    print(json.dumps({"base_url": f"http://127.0.0.1:{server.effective_port}"}), flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.close()
    return 0
def trim_logs(app: SandboxApp, keep: int) -> None:
    """Every second: drop all but the newest ``keep`` request-log entries and outbox emails."""
    while True:
        time.sleep(1.0)
        with app.state.lock:
            del app.state.request_log[:-keep]
            for tenant in app.state.tenants.values():
                del tenant.outbox[:-keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._sandbox_server")
    parser.add_argument("--rate-limit", type=int, default=25)
    parser.add_argument("--bulk-rate-limit", type=int, default=1)
    parser.add_argument("--list-members", type=int, default=0)
    parser.add_argument("--trim-logs", type=int, default=0, metavar="N")
    parser.add_argument("--tenants", type=int, default=1)
    parser.add_argument("--server", choices=("werkzeug", "waitress"), default="werkzeug",
                        help="werkzeug (as lsq sandbox; closes every connection) or waitress "
                        "(HTTP/1.1 keep-alive: clients reuse one connection)")
    parser.add_argument("--accounts", type=int, default=0)
    parser.add_argument("--spread", type=int, default=0)
    args = parser.parse_args(argv)
    app = SandboxApp(rate_limit=args.rate_limit, bulk_rate_limit=args.bulk_rate_limit)
    if args.tenants > 1:
        with app.state.lock:
            add_tenants(app, args.tenants)
    if args.list_members:
        with app.state.lock:
            add_big_list(next(iter(app.state.tenants.values())), args.list_members)
    if args.accounts:
        with app.state.lock:
            add_accounts(next(iter(app.state.tenants.values())), args.accounts)

        def on_signal(number: int, frame: FrameType | None) -> None:
            done = change_accounts(app, args.accounts, late=number == signal.SIGUSR2,
                                   spread=args.spread)
            print(json.dumps(done), flush=True)

        signal.signal(signal.SIGUSR1, on_signal)
        signal.signal(signal.SIGUSR2, on_signal)
    if args.trim_logs:
        threading.Thread(target=trim_logs, args=(app, args.trim_logs), daemon=True).start()
    if args.server == "waitress":
        return _serve_waitress(app)
    server = create_server(app, "127.0.0.1", 0)
    print(json.dumps({"base_url": bound_url(server)}), flush=True)
    try:
        serve_forever(server)
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
