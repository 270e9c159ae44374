"""``lsq mcp``: serve the actions as MCP tools to an AI agent (:mod:`runtime.mcp`).

stdio by default (the MCP client starts ``lsq mcp`` and owns its stdin and stdout, so every
note goes to stderr); ``--http [HOST:]PORT`` serves streamable HTTP at ``/mcp`` instead. The
connection comes from ``--connection``, else the ``LSQ_*`` environment, else the embedded
sandbox. ``--read-only`` offers only the reads (find and list tools); ``--no-delete`` leaves out
the destructive ones (deletes, remove from list, api_call). Needs the ``mcp`` extra.
"""

from __future__ import annotations

import argparse
import sys
import types

from runtime.cli.common import add_connection_option, open_client
from runtime.errors import ConfigurationError

DEFAULT_HTTP_HOST = "127.0.0.1"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("mcp", help="serve the actions as MCP tools (stdio or HTTP)")
    parser.add_argument(
        "--read-only", action="store_true", help="offer only the read tools (find_*, list_*)"
    )
    parser.add_argument(
        "--no-delete", action="store_true",
        help="leave out the destructive tools (delete_*, remove_lead_from_list, api_call)",
    )
    parser.add_argument(
        "--http", metavar="[HOST:]PORT",
        help=f"serve streamable HTTP at http://HOST:PORT/mcp (HOST {DEFAULT_HTTP_HOST} unless "
        "given) instead of stdio",
    )
    add_connection_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from runtime.plugin.manifest import load_manifest

    address = parse_address(args.http) if args.http is not None else None
    mcp = _mcp_package()
    manifest = load_manifest()
    with open_client(args) as client:
        server = mcp.build_server(
            manifest, client, read_only=args.read_only, no_delete=args.no_delete
        )
        where = f"http://{address[0]}:{address[1]}/mcp" if address else "stdio"
        print(f"lsq mcp: {manifest.display_name} tools on {where}", file=sys.stderr)
        if address:
            mcp.serve_http(server, *address)
        else:
            anyio.run(mcp.serve_stdio, server)
    return 0


def parse_address(value: str) -> tuple[str, int]:
    """``[HOST:]PORT`` -> (host, port); UsageError when it is neither."""
    from runtime.cli import UsageError  # the CLI package imports this module first

    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--http: {value!r} is not [HOST:]PORT with a port from 1 to 65535")
    return host.strip("[]") or DEFAULT_HTTP_HOST, int(port)


def _mcp_package() -> types.ModuleType:
    try:
        import runtime.mcp
    except ModuleNotFoundError as missing:
        if not (missing.name or "").startswith("mcp"):
            raise
        raise ConfigurationError(
            "lsq mcp needs the MCP SDK, which is not installed",
            hint="pip install 'leadsquared-connector[mcp]'",
        ) from None
    return runtime.mcp
