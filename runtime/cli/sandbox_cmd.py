"""``lsq sandbox``: serve the local LeadSquared sandbox in the foreground; ``lsq sandbox reset``:
empty the records the embedded sandbox keeps between commands (see :mod:`runtime.embedded`).

The foreground sandbox keeps its records in memory while it serves; the embedded one (started
by any command without a connection) keeps them in the project's state folder.
"""

from __future__ import annotations

import argparse
import sys

from runtime.cli.arguments import port, positive_int
from runtime.cli.common import add_json_option, print_json
from runtime.errors import ConfigurationError
from runtime.text import json_text


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("sandbox", help="serve the local LeadSquared sandbox")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8765, help="port (default 8765; 0 = any)")
    parser.add_argument("--seed", metavar="FILE",
                        help="seed file (YAML or JSON) replacing the default seed")
    parser.add_argument("--rate-limit", type=positive_int, default=25, metavar="N",
                        help="calls per 5 s per account (default 25)")
    parser.add_argument("--bulk-rate-limit", type=positive_int, default=1, metavar="N",
                        help="bulk calls per 5 s (default 1)")
    parser.add_argument(
        "--rate-limit-status", type=int, choices=(429, 403), default=429,
        help="status of the rate-limit answer (one tenant sends 403)",
    )
    parser.add_argument("--faults", default="", metavar="SPEC",
                        help="e.g. '500=0.05,503=0.05,drop=0.02,seed=7'")
    add_json_option(parser)
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="sandbox_action", metavar="ACTION",
                                    parser_class=type(parser))
    reset = actions.add_parser(
        "reset", help="empty the embedded sandbox's kept records (the next command starts from "
        "the seed)")
    add_json_option(reset)
    reset.set_defaults(func=run_reset)


def run_reset(args: argparse.Namespace) -> int:
    from runtime.cli.common import shown_path
    from runtime.embedded import forget_records, records_file
    from runtime.store.state import default_state_path

    folder = default_state_path().parent
    where = shown_path(records_file(folder))
    emptied = forget_records(folder)
    if args.json:
        print_json({"file": where, "emptied": emptied}, compact=True)
    elif emptied:
        print(f"emptied the embedded sandbox's records ({where}); the next command starts from "
              "the seed")
    else:
        print(f"the embedded sandbox keeps no records yet ({where}); nothing to empty")
    return 0


def run(args: argparse.Namespace) -> int:
    # The harness is the one place that starts the sandbox (DEVELOPERS.md).
    from runtime.inputs import MAX_SEED_BYTES, read_text_input
    from runtime.sandbox import (
        DEFAULT_ACCESS_KEY,
        DEFAULT_SECRET_KEY,
        FaultPlan,
        SandboxApp,
        parse_seed,
    )
    from runtime.sandbox.errors import LsqError
    from runtime.sandbox.seed import SeedError
    from runtime.sandbox.server import bound_url, create_server, serve_forever

    seed_text = None
    if args.seed:
        seed_text = read_text_input(args.seed, limit=MAX_SEED_BYTES, what=f"seed {args.seed}")
        _check_yaml(seed_text, f"seed {args.seed}")
    try:
        seed = parse_seed(seed_text, args.seed) if seed_text is not None else None
        faults = FaultPlan.parse(args.faults)
        app = SandboxApp(
            seed,
            rate_limit=args.rate_limit,
            bulk_rate_limit=args.bulk_rate_limit,
            rate_limit_status=args.rate_limit_status,
            faults=faults,
        )
    except (SeedError, LsqError, ValueError, KeyError, TypeError) as problem:
        # A seed that the service loaders reject (a missing id, an unknown lead field, ...).
        raise ConfigurationError(f"invalid sandbox seed or options: {problem}") from None
    try:  # bind first, so that the printed address has the real port (also for --port 0)
        server = create_server(app, args.host, args.port)
    except OSError as problem:
        where = f"{args.host}:{args.port}"
        raise ConfigurationError(f"cannot serve on {where}: {problem.strerror}") from None
    base_url = bound_url(server)
    if args.json:  # one line a script can read, then serve
        print(json_text({"base_url": base_url, "api": f"{base_url}/v2/",
                         "access_key": DEFAULT_ACCESS_KEY, "secret_key": DEFAULT_SECRET_KEY}),
              flush=True)
    else:
        _banner(base_url, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
    try:
        serve_forever(server)
    except KeyboardInterrupt:
        print("sandbox stopped", file=sys.stderr)
    return 0


def _check_yaml(text: str, what: str) -> None:
    """One line naming the line of a YAML mistake (the sandbox's own message spans lines)."""
    import yaml

    from runtime.inputs import yaml_problem

    try:
        yaml.safe_load(text)
    except yaml.YAMLError as problem:
        line, reason = yaml_problem(problem, text)
        at = f" at line {line}" if line is not None else ""
        raise ConfigurationError(f"{what} is not valid YAML{at}: {reason}") from None
    except RecursionError:
        raise ConfigurationError(f"{what} is nested too deeply") from None


def _banner(base_url: str, access_key: str, secret_key: str) -> None:
    print(f"LeadSquared sandbox on {base_url}  (API under {base_url}/v2/)")
    print(f"  access key: {access_key}")
    print(f"  secret key: {secret_key}")
    print("  these are the sandbox's own public test keys; Ctrl-C stops it", flush=True)
