"""``lsq mcp`` as a subprocess, driven by the MCP SDK's own client over stdio: 33 tools with
schemas and annotations, find_lead and upsert_lead against the embedded sandbox, a bad input as
a tool error naming the field, the lead-fields resource, and ``--read-only``; then the same
server over streamable HTTP.

Each server is one subprocess (about 3 s to start: the SDK's import is most of it), so one
session per flag set records everything its tests look at.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters, stdio_client
from mcp.shared.exceptions import MCPError

from runtime.cli.common import EMBEDDED_NOTE
from runtime.host import list_operations
from tests.seed_ids import PRIYA

NEW_EMAIL = "ada.lovelace@example.com"
Script = Callable[[Client], Awaitable[dict[str, Any]]]


def run_session(flags: list[str], folder: Path, script: Script) -> dict[str, Any]:
    """Start ``lsq mcp FLAGS`` in ``folder`` (no LSQ_* variables reach it), run ``script``."""
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "runtime", "mcp", *flags], cwd=str(folder)
    )
    errlog_path = folder / "stderr.txt"

    async def main() -> dict[str, Any]:
        with errlog_path.open("w") as errlog:
            async with Client(stdio_client(params, errlog=errlog)) as client:
                return await script(client)

    record = anyio.run(main)
    record["stderr"] = errlog_path.read_text()
    return record


async def full_session(client: Client) -> dict[str, Any]:
    record: dict[str, Any] = {"tools": (await client.list_tools()).tools}
    record["find"] = await client.call_tool("find_lead", {"email": "priya.sharma@example.com"})
    record["upsert"] = await client.call_tool(
        "upsert_lead", {"fields": {"EmailAddress": NEW_EMAIL, "FirstName": "Ada",
                                   "mx_City": "London"}},
    )
    record["found_new"] = await client.call_tool("find_lead", {"email": NEW_EMAIL})
    record["bad_type"] = await client.call_tool("find_lead", {"email": 5})
    record["bad_field"] = await client.call_tool(
        "upsert_lead", {"fields": {"EmailAddress": NEW_EMAIL, "mx_Cty": "Paris"}}
    )
    record["resources"] = (await client.list_resources()).resources
    fields = await client.read_resource("leadsquared://lead-fields")
    record["lead_fields"] = json.loads(fields.contents[0].text)
    return record


async def read_only_session(client: Client) -> dict[str, Any]:
    record: dict[str, Any] = {"tools": (await client.list_tools()).tools}
    with pytest.raises(MCPError) as caught:
        await client.call_tool("delete_lead", {"lead_id": PRIYA})
    record["delete_error"] = caught.value.message
    return record


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_session([], tmp_path_factory.mktemp("mcp"), full_session)


@pytest.fixture(scope="module")
def read_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_session(["--read-only"], tmp_path_factory.mktemp("mcp-ro"), read_only_session)


def test_33_tools_with_titles_descriptions_and_both_schemas(full: dict[str, Any]) -> None:
    tools = {tool.name: tool for tool in full["tools"]}
    specs = {spec.key: spec for spec in list_operations() if spec.role == "action"}
    assert list(tools) == list(specs) and len(tools) == 33
    for key, spec in specs.items():
        tool = tools[key]
        assert (tool.title, tool.description) == (spec.display_name, spec.description)
        assert (tool.input_schema, tool.output_schema) == (spec.input_schema, spec.output_schema)
        assert tool.input_schema["type"] == "object"
    assert tools["find_lead"].title == "Find Lead"
    assert {"lead_id", "email", "phone"} <= set(tools["find_lead"].input_schema["properties"])


def test_annotations_are_the_actions_effects(full: dict[str, Any]) -> None:
    effects = {spec.key: spec.effect for spec in list_operations()}
    hints = {
        tool.name: (tool.annotations.read_only_hint, tool.annotations.destructive_hint,
                    tool.annotations.idempotent_hint)
        for tool in full["tools"]
    }
    for name, hint in hints.items():
        effect = effects[name]
        assert hint == (effect.read_only, effect.destructive, effect.idempotent)

    def having(position: int) -> set[str]:
        return {name for name, hint in hints.items() if hint[position]}

    assert having(0) == {name for name in hints if name.startswith(("find_", "list_"))}
    assert having(1) == {name for name in hints if name.startswith("delete_")} | {
        "remove_lead_from_list", "api_call"}  # api_call may call a (GET) delete
    assert {name for name in hints if name.startswith(("update_", "upsert_"))} <= having(2)
    assert "api_call" not in having(2)  # nor is it safe to repeat in general


def test_find_lead_returns_structured_content(full: dict[str, Any]) -> None:
    result = full["find"]
    assert not result.is_error
    assert result.structured_content["found"] is True
    assert result.structured_content["lead"]["ProspectID"] == PRIYA
    assert json.loads(result.content[0].text) == result.structured_content


def test_upsert_lead_creates_a_lead_that_find_lead_sees(full: dict[str, Any]) -> None:
    created = full["upsert"]
    assert not created.is_error
    lead_id = created.structured_content["lead_id"]
    found = full["found_new"].structured_content
    assert found["found"] is True
    assert (found["lead"]["ProspectID"], found["lead"]["FirstName"]) == (lead_id, "Ada")


@pytest.mark.parametrize(
    ("call", "names"),
    [
        ("bad_type", ["error: invalid input for find_lead: $.email: 5 is not of type 'string'"]),
        ("bad_field", ["error: ", "fields.mx_Cty", "mx_City"]),
    ],
)
def test_a_bad_input_is_a_tool_error_naming_the_field(
    full: dict[str, Any], call: str, names: list[str]
) -> None:
    result = full[call]
    assert result.is_error and result.structured_content is None
    [content] = result.content
    assert "\n" not in content.text
    for name in names:
        assert name in content.text


def test_the_lead_fields_resource_shows_custom_fields(full: dict[str, Any]) -> None:
    [resource] = full["resources"]
    assert resource.uri == "leadsquared://lead-fields"
    custom = {f["schema_name"] for f in full["lead_fields"] if f["kind"] == "custom"}
    assert "mx_City" in custom and all(name.startswith("mx_") for name in custom)


def test_notes_go_to_stderr_not_the_protocol(full: dict[str, Any]) -> None:
    assert EMBEDDED_NOTE in full["stderr"]


def test_read_only_lists_only_the_find_and_list_tools(read_only: dict[str, Any]) -> None:
    names = sorted(tool.name for tool in read_only["tools"])
    assert names == ["find_account", "find_account_activity", "find_lead", "find_lead_activity",
                     "find_list", "find_opportunity", "find_task", "find_user", "list_users"]
    assert read_only["delete_error"] == "unknown tool 'delete_lead' (left out by --read-only)"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_listener(port: int, server: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while server.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"lsq mcp --http did not listen on {port}")


def test_streamable_http_serves_the_same_tools(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "runtime", "mcp", "--no-delete", "--http", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )

    async def main() -> tuple[list[str], Any]:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            return names, await client.call_tool("find_lead", {"lead_id": PRIYA})

    try:
        _wait_for_listener(port, server)
        names, found = anyio.run(main)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert len(names) == 26 and not any(name.startswith("delete_") for name in names)
    assert "api_call" not in names
    assert found.structured_content["lead"]["ProspectID"] == PRIYA
    assert f"tools on http://127.0.0.1:{port}/mcp" in stderr
