"""Tools, the lead-fields resource and the two transports of the MCP server (see the package).

The SDK's low-level ``Server`` checks nothing itself: the input is validated by the action
(:func:`runtime.host.invoke`, before any request) and the output against its schema before
it is returned. A connector error becomes a tool error (``isError``) whose text is exactly the
line ``lsq`` prints, so an agent reads what went wrong and can fix its input; any other
exception is logged on stderr with its traceback and reported to the agent in one line.
Actions are synchronous (``requests``): each call runs in a worker thread.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import anyio.to_thread
import mcp.types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from runtime.api.client import LeadSquaredClient
from runtime.errors import ConnectorError, InputValidationError, error_line
from runtime.host import OperationSpec, invoke, list_operations
from runtime.plugin.manifest import Manifest

logger = logging.getLogger(__name__)

LEAD_FIELDS_URI = "leadsquared://lead-fields"
#: The most argument JSON one call may carry (an action's largest real input is a few KiB).
MAX_ARGUMENTS_BYTES = 1024 * 1024
INSTRUCTIONS = (
    "Tools act on one LeadSquared account (leads, opportunities, accounts, lists, tasks, "
    "activities, emails, users). Lead fields are named by schema name: standard ones like "
    "EmailAddress, custom ones start with mx_; read the resource " + LEAD_FIELDS_URI + " for "
    "this account's fields before writing custom fields. Prefer upsert_lead to create_lead to "
    "avoid duplicates. api_call reaches any other v2 operation; prefer the specific tools."
)


def tools_for(
    specs: Iterable[OperationSpec], *, read_only: bool = False, no_delete: bool = False
) -> dict[str, types.Tool]:
    """The tools for the actions among ``specs``, by key: only the reads with ``read_only``,
    none of the destructive ones with ``no_delete``."""
    tools = {}
    for spec in specs:
        effect = spec.effect
        if effect is None or (read_only and not effect.read_only):
            continue
        if no_delete and effect.destructive:
            continue
        tools[spec.key] = types.Tool(
            name=spec.key,
            title=spec.display_name,
            description=spec.description,
            input_schema=spec.input_schema,
            output_schema=spec.output_schema,
            annotations=types.ToolAnnotations(
                title=spec.display_name,
                read_only_hint=effect.read_only,
                destructive_hint=effect.destructive,
                idempotent_hint=effect.idempotent,
                open_world_hint=True,
            ),
        )
    return tools


def build_server(
    manifest: Manifest,
    client: LeadSquaredClient,
    *,
    read_only: bool = False,
    no_delete: bool = False,
) -> Server[Any]:
    """An MCP server offering ``manifest``'s actions through ``client``."""
    tools = tools_for(list_operations(manifest), read_only=read_only, no_delete=no_delete)
    left_out = "--read-only" if read_only else "--no-delete" if no_delete else None

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=list(tools.values()))

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name not in tools:
            why = f" (left out by {left_out})" if left_out else ""
            raise MCPError(types.INVALID_PARAMS, f"unknown tool {params.name!r}{why}")
        arguments = params.arguments or {}
        run = functools.partial(_call, manifest, client, params.name, arguments)
        return await anyio.to_thread.run_sync(run)

    async def list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(resources=[_LEAD_FIELDS])

    async def read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        if str(params.uri) != LEAD_FIELDS_URI:
            raise MCPError(types.INVALID_PARAMS, f"unknown resource {params.uri}")
        try:
            fields = await anyio.to_thread.run_sync(client.metadata.lead_field_summaries)
        except ConnectorError as problem:
            raise MCPError(types.INTERNAL_ERROR, error_line(problem)) from None
        text = json.dumps(fields, ensure_ascii=False)
        contents = [types.TextResourceContents(uri=LEAD_FIELDS_URI, text=text,
                                               mime_type="application/json")]
        return types.ReadResourceResult(contents=contents)

    return Server(
        manifest.name,
        version=manifest.version,
        title=manifest.display_name,
        description=manifest.description,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_read_resource=read_resource,
    )


_LEAD_FIELDS = types.Resource(
    name="lead_fields",
    title="Lead fields of this account",
    uri=LEAD_FIELDS_URI,
    description=(
        "Every lead field of the connected account: schema_name (what tools take, e.g. "
        "mx_City), display_name, type, and kind (custom for mx_ fields, else standard)."
    ),
    mime_type="application/json",
)


def _call(
    manifest: Manifest, client: LeadSquaredClient, key: str, arguments: Mapping[str, Any]
) -> types.CallToolResult:
    """One tool call, in a worker thread: the action's output, or a tool error."""
    try:
        _check_size(key, arguments)
        output = invoke(client, key, arguments, manifest=manifest)
    except ConnectorError as problem:
        return _tool_error(error_line(problem))
    except Exception as problem:  # a bug: the agent gets one line, the log the traceback
        logger.exception("tool %s failed unexpectedly", key)
        return _tool_error(f"error: {key} failed unexpectedly ({type(problem).__name__}); "
                           "the server's log has the details")
    text = json.dumps(output, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=output
    )


def _check_size(key: str, arguments: Mapping[str, Any]) -> None:
    try:
        size = len(json.dumps(arguments))
    except RecursionError:
        raise InputValidationError(f"invalid input for {key}: nested too deeply") from None
    if size > MAX_ARGUMENTS_BYTES:
        raise InputValidationError(
            f"invalid input for {key}: {size} bytes of arguments, more than {MAX_ARGUMENTS_BYTES}"
        )


def _tool_error(line: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=line)],
                                is_error=True)


async def serve_stdio(server: Server[Any]) -> None:
    """Serve one client on this process's stdin and stdout until stdin closes."""
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def serve_http(server: Server[Any], host: str, port: int) -> None:
    """Serve streamable HTTP at ``http://HOST:PORT/mcp`` until interrupted."""
    import uvicorn  # a dependency of the MCP SDK

    app = server.streamable_http_app(host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning")
