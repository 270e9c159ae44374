"""The MCP server in process (the SDK's in-memory client, the test sandbox): tool selection,
tool errors that are exactly the line ``lsq`` prints, a bug's one line, the argument bound,
an unknown resource."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from runtime.api.client import LeadSquaredClient
from runtime.cli import main
from runtime.host import list_operations
from runtime.mcp import build_server, tools_for
from runtime.mcp.server import MAX_ARGUMENTS_BYTES
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.fakes import write_connection_file
from tests.seed_ids import MISSING, PRIYA

SPECS = list_operations()


Script = Callable[[Client], Awaitable[Any]]


def session(manifest: Manifest, client: LeadSquaredClient, script: Script, **flags: bool) -> Any:
    async def main() -> Any:
        async with Client(build_server(manifest, client, **flags)) as mcp:
            return await script(mcp)

    return anyio.run(main)


@pytest.mark.parametrize(
    ("flags", "left_out"),
    [
        ({}, set()),
        # api_call can call any path (LeadSquared's deletes are GETs): it is destructive too.
        ({"no_delete": True}, {"delete_lead", "delete_opportunity", "delete_account",
                               "delete_account_activity", "delete_task",
                               "remove_lead_from_list", "api_call"}),
    ],
)
def test_no_delete_leaves_out_the_destructive_tools(flags: dict[str, bool], left_out: set) -> None:
    actions = {spec.key for spec in SPECS if spec.role == "action"}
    assert set(tools_for(SPECS, **flags)) == actions - left_out


def test_read_only_wins_over_no_delete() -> None:
    both = tools_for(SPECS, read_only=True, no_delete=True)
    assert set(both) == {key for key in both if key.startswith(("find_", "list_"))}
    assert len(both) == 9  # 7 finds and list_users; never api_call


def test_api_call_is_annotated_as_the_riskiest_kind() -> None:
    tool = tools_for(SPECS)["api_call"]
    assert tool.annotations is not None
    hints = (tool.annotations.read_only_hint, tool.annotations.destructive_hint,
             tool.annotations.idempotent_hint)
    assert hints == (False, True, False)


def test_an_unexpected_exception_is_one_line_and_logged(
    manifest: Manifest, client: LeadSquaredClient, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("runtime.mcp.server.invoke", broken)

    async def script(mcp: Client) -> Any:
        return await mcp.call_tool("find_lead", {"lead_id": PRIYA})

    result = session(manifest, client, script)
    assert result.is_error
    assert result.content[0].text == (
        "error: find_lead failed unexpectedly (ZeroDivisionError); the server's log has the details"
    )
    assert "tool find_lead failed unexpectedly" in caplog.text


def test_oversized_arguments_are_refused_before_any_request(
    manifest: Manifest, client: LeadSquaredClient
) -> None:
    async def script(mcp: Client) -> Any:
        return await mcp.call_tool("find_lead", {"email": "x" * MAX_ARGUMENTS_BYTES})

    result = session(manifest, client, script)
    assert result.is_error and "more than 1048576" in result.content[0].text


def test_an_unknown_resource_is_a_protocol_error(
    manifest: Manifest, client: LeadSquaredClient
) -> None:
    async def script(mcp: Client) -> Any:
        with pytest.raises(MCPError) as caught:
            await mcp.read_resource("leadsquared://nothing")
        return caught.value.message

    assert session(manifest, client, script) == "unknown resource leadsquared://nothing"


@pytest.mark.parametrize(
    ("key", "inputs"),
    [
        ("find_lead", {"email": 5}),
        ("upsert_lead", {"fields": {"EmailAddress": "x@example.com", "mx_Cty": "Pune"}}),
        ("update_lead", {"lead_id": MISSING, "fields": {"FirstName": "X"}}),
    ],
)
def test_a_tool_error_is_the_line_lsq_prints(
    manifest: Manifest, client: LeadSquaredClient, sandbox: RunningSandbox, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], key: str, inputs: dict[str, Any],
) -> None:
    connection = write_connection_file(tmp_path / "acme.yaml", sandbox.base_url)
    assert main(["invoke", "action", key, "-i", json.dumps(inputs),
                 "--connection", connection]) == 1
    printed = capsys.readouterr().err

    async def script(mcp: Client) -> Any:
        return await mcp.call_tool(key, inputs)

    result = session(manifest, client, script)
    assert result.is_error and printed == result.content[0].text + "\n"
