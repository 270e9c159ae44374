"""The MCP server (``lsq mcp``): the connector's actions as Model Context Protocol tools.

Built on the official MCP Python SDK's low-level ``Server`` (the tools' schemas come from the
manifest, not from Python signatures) and on the host API (:mod:`runtime.host`): each action
is a tool named by its key, with its display name, description, self-contained input and
output schemas, and annotations from its :class:`~runtime.host.Effect`; a call's result is the
action's validated output as structured content, and a failure is a tool error carrying the
CLI's one-line message. The account's lead fields are a resource. It may import the layers
below the top, the embedded sandbox and the host API; the CLI opens the connection and picks
the transport (stdio, or streamable HTTP).
"""

from runtime.mcp.server import LEAD_FIELDS_URI, build_server, serve_http, serve_stdio, tools_for

__all__ = ["LEAD_FIELDS_URI", "build_server", "serve_http", "serve_stdio", "tools_for"]
