"""Polling scale: lead_added_to_list on a static list of 100,000 members, and account_updated
after 100,000 accounts change at once.

The sandbox runs in its own process (its 100k leads would distort this process's memory),
seeded directly in its state with ``--list-members`` and ``--accounts`` (no API calls). This
process runs the polling engine (``runtime.engine.polling.PollingEngine`` with a StateStore
on a temp file).

List: a baseline scan, then the members added since (``--added``, through the API) and a
second scan that emits them. Per poll: API calls (target: the number of pages, plus the one
Lists.Get a ``list_name`` costs per scan), pages, time. Memory: the peak RSS of this whole
process (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), target under 150 MB.

Accounts: a baseline poll; every account changed at once (one ModifiedOn second, the hardest
case for ties across pages, or spread over the last ``--spread`` seconds); polls until the
catch-up completes (target: calls = pages, each account once); ``--idle`` polls with nothing
new (target: 1 call each, inside the overlap window, where the burst stays), after the one
poll that re-reads what changed within ``--settle`` of the last check; the cursor's
stored size (target < 100 KB); then one change indexed late (stamped two minutes back,
inside the window) that the next polls must emit exactly once, and an idle poll of 1 call
after it. Calls are counted from the sandbox's request log. A miss exits 3.

    python -m bench.polling_scale [--members 100000] [--added 10] [--accounts 100000]
                                  [--idle 5] [--spread 0]
"""

from __future__ import annotations

import json
import math
import resource
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from runtime.api.client import LeadSquaredClient
from runtime.engine.polling import PollingEngine
from runtime.engine.trigger_instance import trigger_instance
from runtime.plugin.invoke import prepare_inputs
from runtime.plugin.manifest import load_manifest
from runtime.store.state import StateStore

from ._common import Result, SandboxProcess, connection, finish, parser, quiet_logs
from ._sandbox_server import ACCOUNT_TYPE, BIG_LIST_ID, BIG_LIST_NAME

TARGET_MB = 150.0
TARGET_CURSOR_BYTES = 100_000
PAGE_SIZE = 1000  # triggers/_polling.py MEMBER_PAGE_SIZE (and COMPANY_PAGE_SIZE)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


@contextmanager
def polling(key: str, inputs: dict[str, Any], settle: float = 60.0,
            **seed: int) -> Iterator[tuple[Any, ...]]:
    """The sandbox process (``seed``: SandboxProcess options) and, in this process, a client,
    a StateStore on a temp file, the engine, and the trigger's module, config and instance."""
    trigger = load_manifest().trigger(key)
    config = prepare_inputs(trigger, inputs)
    with (SandboxProcess(**seed) as sandbox, quiet_logs(),
          tempfile.TemporaryDirectory() as scratch):
        client = LeadSquaredClient(connection(sandbox.base_url))
        store = StateStore(Path(scratch) / "state.sqlite3")
        instance = trigger_instance(client, key, config)
        try:
            engine = PollingEngine(store, settle=timedelta(seconds=settle))
            yield (sandbox, client, store, engine, trigger.handler_module(),
                   config, instance)
        finally:
            store.close()
            client.close()


Polled = tuple[Any, int, float, float]  # (PollResult, calls, wall s, CPU s)


def until_complete(poll: Callable[[], Polled]) -> tuple[list[Polled], tuple[int, ...]]:
    """Polls until one completes; with the sums of calls, pages, events, wall and CPU."""
    polls = [poll()]
    while not polls[-1][0].complete and len(polls) < 1000:
        polls.append(poll())
    sums = (sum(c for _, c, _, _ in polls), sum(p.pages for p, _, _, _ in polls),
            sum(p.emitted for p, _, _, _ in polls), sum(w for _, _, w, _ in polls),
            sum(u for _, _, _, u in polls))
    return polls, sums  # type: ignore[return-value]


def run(members: int, added: int, accounts: int, idle: int, spread: int,
        settle: float) -> Result:
    start_rss = rss_mb()
    polls = []
    with polling("lead_added_to_list", {"list_name": BIG_LIST_NAME},
                 list_members=members) as (sandbox, client, _, engine, module, config,
                                           instance):
        for label in ("baseline scan", "scan after adds"):
            if label == "scan after adds":
                for number in range(added):
                    client.post("LeadManagement.svc/Lead.Create", [
                        {"Attribute": "EmailAddress", "Value": f"new{number}@bench.example.com"}])
                    lead = client.get("LeadManagement.svc/Leads.GetByEmailaddress",
                                      {"emailaddress": f"new{number}@bench.example.com"})
                    client.post("LeadManagement.svc/AddLeadToStaticList", params={
                        "leadId": lead[0]["ProspectID"], "listId": BIG_LIST_ID})
            sandbox.clear_log()
            started = time.perf_counter()
            result = engine.poll_members(instance, module, client, config)
            elapsed = time.perf_counter() - started
            calls = len(sandbox.request_log())
            polls.append((label, result, calls, elapsed))
    peak = rss_mb()
    result = Result(
        "polling_scale", f"Polling scale: lead_added_to_list on a {members:,}-member list",
        ratio_label="peak RSS MB", ratio=peak, target=f"< {TARGET_MB:.0f} MB and calls = "
        "pages (+1 Lists.Get per scan); accounts: calls = pages, 1 call per idle poll, cursor "
        "< 100 KB, a late change once", met=peak < TARGET_MB,
    )
    for label, poll, calls, elapsed in polls:
        pages = math.ceil((members + (added if label != "baseline scan" else 0)) / PAGE_SIZE)
        lookups = calls - poll.pages
        result.add(label, f"{calls} API calls = {poll.pages} pages + {lookups} Lists.Get; "
                          f"{poll.emitted} events; complete={poll.complete}; {elapsed:.1f} s")
        if poll.pages != pages or lookups != 1 or not poll.complete:
            result.met = False
            result.notes.append(f"{label}: expected {pages} pages and 1 lookup")
    result.add("memory measure", "peak RSS of this whole process (getrusage ru_maxrss); the "
                                 "sandbox is a separate process")
    result.add("RSS before / peak", f"{start_rss:.0f} MB / {peak:.0f} MB")
    result.add("sandbox rate limit", "not throttled (at 25 calls per 5 s, 101 calls take >= "
                                     "about 16 s of pacing on top)")
    result.extra = {"polls": [(label, calls, p.pages, elapsed) for label, p, calls, elapsed
                              in polls]}
    if accounts:
        run_accounts(result, accounts, idle, spread, settle)
    return result


def run_accounts(result: Result, accounts: int, idle: int, spread: int, settle: float) -> None:
    """account_updated after ``accounts`` changes at once: catch-up, idle polls, a late one."""
    misses: list[str] = []
    with polling("account_updated", {"company_type": ACCOUNT_TYPE}, settle, accounts=accounts,
                 spread=spread) as (sandbox, client, store, engine, module, config, instance):

        def poll() -> Polled:
            sandbox.clear_log()
            wall, cpu = time.perf_counter(), time.process_time()
            done = engine.poll(instance, module, client, config)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            return done, len(sandbox.request_log()), wall, cpu

        def signal_change(number: int) -> str:
            sandbox.process.send_signal(number)
            assert sandbox.process.stdout is not None
            return str(json.loads(sandbox.process.stdout.readline())["ModifiedOn"])

        first, _, _, _ = poll()
        if not first.baseline:
            misses.append("the first poll was not a baseline")
        time.sleep(1.1)  # the change is stamped on a later second than the baseline
        stamp = signal_change(signal.SIGUSR1)
        burst_at = time.monotonic()
        catch_up, (calls, pages, emitted, wall, cpu) = until_complete(poll)
        queued = store.counts()["inbox"]
        result.add(f"{accounts:,} accounts changed over {spread} s to {stamp}",
                   f"catch-up: {len(catch_up)} polls, {calls} calls = {pages} pages "
                   f"({math.ceil(accounts / PAGE_SIZE)} oldest-first + 1 newest-first check), "
                   f"{emitted:,} events, {queued:,} in the inbox, {wall:.1f} s wall, "
                   f"{cpu:.1f} s CPU in this process")
        if calls != pages or emitted != accounts or queued != accounts:
            misses.append("catch-up: calls != pages or not every account once")

        # What changed within `settle` of a check is read again by the next one (a late
        # change can move a counted record without changing the count): once, when the
        # next poll comes `settle` after the burst.
        time.sleep(max(0.0, settle + 1 - (time.monotonic() - burst_at)))
        _, (again_calls, again_pages, again_events, again_wall, _) = until_complete(poll)
        result.add(f"the poll {settle:g} s after the burst", f"re-reads what changed within "
                   f"{settle:g} s of the last check: {again_calls} calls = {again_pages} pages, "
                   f"{again_events} events, {again_wall:.1f} s wall")
        if again_events:
            misses.append("the re-read after the burst emitted")
        idle_polls = [poll() for _ in range(idle)]
        size = len(json.dumps(store.get_cursor(instance).value, sort_keys=True,  # type: ignore[union-attr]
                              separators=(",", ":")))
        result.add("idle polls after the burst", ", ".join(
            f"{c} call/{p.emitted} events/{w * 1000:.0f} ms wall/{cpu * 1000:.0f} ms CPU"
            for p, c, w, cpu in idle_polls))
        result.add("cursor stored", f"{size:,} bytes")
        if any(c != 1 or p.emitted for p, c, _, _ in idle_polls):
            misses.append("an idle poll took more than one call or emitted")
        if size >= TARGET_CURSOR_BYTES:
            misses.append(f"cursor {size} bytes >= {TARGET_CURSOR_BYTES}")

        late = signal_change(signal.SIGUSR2)
        found, (late_calls, _, late_events, late_wall, _) = until_complete(poll)
        after, after_calls, _, _ = poll()
        result.add("a change indexed late", f"ModifiedOn {late} (inside the window): "
                   f"{late_events} event in {len(found)} polls, {late_calls} calls "
                   f"({late_wall:.1f} s: the check, counted calls bisecting "
                   f"the window, pages from there); next idle poll {after_calls} call, "
                   f"{after.emitted} events")
        if late_events != 1 or after_calls != 1 or after.emitted:
            misses.append("the late change was not emitted exactly once, then 1 call")
    result.add("accounts bench", "sandbox in its own process, real clocks, default budget "
               "(20 pages a poll) and overlap (10 min); calls from the sandbox's request log")
    result.notes.extend(misses)
    result.met = bool(result.met) and not misses
    result.extra["accounts"] = {"calls": calls, "pages": pages, "cursor_bytes": size,
                                "idle_calls": [c for _, c, _, _ in idle_polls],
                                "late_calls": late_calls}


def main(argv: list[str] | None = None) -> int:
    args_parser = parser("polling_scale", __doc__ or "")
    args_parser.add_argument("--members", type=int, default=100_000, help="members of the list")
    args_parser.add_argument("--added", type=int, default=10, help="members added after")
    args_parser.add_argument("--accounts", type=int, default=100_000,
                             help="accounts changed at once (0: skip)")
    args_parser.add_argument("--idle", type=int, default=5, help="idle polls after the burst")
    args_parser.add_argument("--spread", type=int, default=0,
                             help="seconds the burst's ModifiedOn spans (0: one second)")
    args_parser.add_argument("--settle", type=float, default=60.0,
                             help="the engine's settle, in seconds (the default: 60)")
    args = args_parser.parse_args(argv)
    result = run(args.members, args.added, args.accounts, args.idle, args.spread, args.settle)
    return finish(result, args.json)  # 3 (MISSED_EXIT) when a target is missed


if __name__ == "__main__":
    sys.exit(main())
