"""``lsq invoke action``, ``lsq auth test``, ``lsq fields lead`` and the invoke pipeline.

CLI tests run in-process (``main(argv)`` + capsys) against the session sandbox through a
connection file, with a small connector root (LSQ_CONNECTOR_ROOT) whose create_lead handler
really calls Lead.Create.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from runtime.api import connection as connection_module
from runtime.api.connection import Connection
from runtime.cli import main
from runtime.cli.common import EMBEDDED_NOTE
from runtime.errors import InputValidationError, OutputValidationError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import ROOT_ENV, read_manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, RunningSandbox
from tests.fakes import write_connection_file
from tests.manifest.builder import TmpConnector

GUID = "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01"
LEAD_INPUT = {"fields": {"FirstName": "Ishaan", "EmailAddress": "ishaan.cli@example.com"}}


@pytest.fixture
def connector(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TmpConnector:
    built = TmpConnector(tmp_path / "connector").add_action()
    monkeypatch.setenv(ROOT_ENV, str(built.root))
    return built


def requests_made(sandbox: RunningSandbox) -> list[str]:
    return [entry.get("operation", "") for entry in sandbox.app.state.request_log]


# -- invoke action -------------------------------------------------------------------------

def test_invoke_prints_exactly_the_output_with_json(
    connector: TmpConnector, connection_file: str, raw_api: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["invoke", "action", "create_lead", "-i", json.dumps(LEAD_INPUT), "--json",
            "--connection", connection_file]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and err == ""
    output = json.loads(out)
    assert list(output) == ["lead_id"]
    [lead] = raw_api.get("LeadManagement.svc/Leads.GetById", id=output["lead_id"]).json()
    assert lead["EmailAddress"] == "ishaan.cli@example.com"


def test_invoke_prints_pretty_json_for_people(
    connector: TmpConnector, connection_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "action", "create_lead", "-i", json.dumps(LEAD_INPUT),
                 "--connection", connection_file]) == 0
    out = capsys.readouterr().out
    assert out == json.dumps(json.loads(out), indent=2) + "\n"
    assert out.startswith('{\n  "lead_id": "')


def test_input_from_a_file_and_from_stdin(
    connector: TmpConnector, connection_file: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "input.json").write_text(json.dumps(LEAD_INPUT))
    base = ["invoke", "action", "create_lead", "--json", "--connection", connection_file]
    assert main([*base, "-i", f"@{tmp_path / 'input.json'}"]) == 0
    other = {"fields": {"FirstName": "Stdin", "EmailAddress": "stdin.cli@example.com"}}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(other)))
    assert main([*base, "-i", "@-"]) == 0
    first, second = capsys.readouterr().out.splitlines()
    assert json.loads(first)["lead_id"] != json.loads(second)["lead_id"]


def test_invalid_input_is_named_before_any_request(
    connector: TmpConnector, connection_file: str, sandbox: RunningSandbox,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = {"fields": {"First Name": "Ishaan"}, "post_updated_leed": True}
    assert main(["invoke", "action", "create_lead", "-i", json.dumps(bad),
                 "--connection", connection_file]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: invalid input for create_lead: $: Additional properties are "
                          "not allowed ('post_updated_leed' was unexpected) (did you mean "
                          "'post_updated_lead'? allowed: fields, post_updated_lead); $.fields: ")
    assert "'First Name' does not match the rule: A lead field's schema name" in err
    assert err.endswith("(fix the input to fit schemas/actions/create_lead.input.json)\n")
    assert requests_made(sandbox) == []


def test_unknown_action_suggests_the_key(
    connector: TmpConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invoke", "action", "create_leed", "-i", "{}"]) == 1
    assert capsys.readouterr().err == (
        "error: unknown action 'create_leed' (did you mean 'create_lead'?)\n"
    )


@pytest.mark.parametrize(("value", "message"), [
    ('{"fields": {', "lsq: -i: invalid JSON at line 1 column 13: Expecting property name"),
    ("[1, 2]", "lsq: -i: the input must be a JSON object, not list"),
    ("@/no/such/input.json", "lsq: -i: cannot read /no/such/input.json: No such file"),
], ids=["bad-json", "not-an-object", "missing-file"])
def test_bad_input_argument_is_a_usage_error(
    connector: TmpConnector, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    assert main(["invoke", "action", "create_lead", "-i", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_bad_json_in_a_file_names_the_file(
    connector: TmpConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "broken.json").write_text('{\n  "fields": }\n')
    assert main(["invoke", "action", "create_lead", "-i", f"@{tmp_path / 'broken.json'}"]) == 2
    assert capsys.readouterr().err == (
        f"lsq: -i: invalid JSON in {tmp_path / 'broken.json'} at line 2 column 13: "
        "Expecting value\n"
    )


def test_missing_key_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", "action"]) == 2
    assert "the following arguments are required: KEY" in capsys.readouterr().err


# -- invoke_action (the pipeline) ----------------------------------------------------------

class RecordingClient:
    """Stands in for LeadSquaredClient: records calls and answers Lead.Create."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def post(self, operation: str, body: Any = None, **options: Any) -> Any:
        self.calls.append((operation, body))
        return {"Status": "Success", "Message": {"Id": GUID}}


def test_pipeline_validates_then_calls_then_validates(tmp_path: Path) -> None:
    connector = TmpConnector(tmp_path).add_action(handler='''
def run(client, inputs):
    assert inputs["post_updated_lead"] is False  # the schema default, filled in
    client.post("LeadManagement.svc/Lead.Create", inputs["fields"])
    return {"lead_id": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01"}
''')
    client = RecordingClient()
    inputs = {"fields": {"FirstName": "Priya"}}
    output = invoke_action(read_manifest(connector.root), "create_lead", inputs, client)
    assert output == {"lead_id": GUID}
    assert client.calls == [("LeadManagement.svc/Lead.Create", {"FirstName": "Priya"})]
    assert inputs == {"fields": {"FirstName": "Priya"}}  # the caller's dict is untouched


def test_pipeline_rejects_input_before_the_handler(tmp_path: Path) -> None:
    connector = TmpConnector(tmp_path).add_action()
    client = RecordingClient()
    with pytest.raises(InputValidationError) as raised:
        invoke_action(read_manifest(connector.root), "create_lead", {"fields": {}}, client)
    assert raised.value.problems == ["$.fields: {} should be non-empty"]
    assert client.calls == []


def test_pipeline_rejects_output_that_breaks_the_schema(tmp_path: Path) -> None:
    connector = TmpConnector(tmp_path).add_action(
        handler="def run(client, inputs):\n    return {'lead_id': 'L-1', 'extra': True}\n"
    )
    with pytest.raises(OutputValidationError) as raised:
        invoke_action(read_manifest(connector.root), "create_lead", {"fields": {"A": "b"}},
                      RecordingClient())
    assert raised.value.problems == [
        "$: Additional properties are not allowed ('extra' was unexpected) (allowed: lead_id)",
        "$.lead_id: 'L-1' does not match the rule: A GUID, 8-4-4-4-12 hexadecimal digits.",
    ]
    assert str(raised.value).startswith(
        "create_lead returned output that does not fit schemas/actions/create_lead.output.json"
    )


# -- auth test -----------------------------------------------------------------------------

SANDBOX_USER = {
    "user": {"id": "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e01", "name": "Asha Admin",
             "email": "asha.admin@example.com", "role": "Administrator"},
    "org": {"id": "3c8e5a1f-7d2b-4f60-b9e4-5a0c1d2e4187", "name": "Acme Realty (sandbox)",
            "short_code": "acmesandbox"},
    "api_host": "api-in21.leadsquared.com",
}


def test_auth_test_prints_user_org_and_host(
    connection_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["auth", "test", "--connection", connection_file]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ok: credentials are valid",
        "user: Asha Admin <asha.admin@example.com> (Administrator), "
        "id 6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e01",
        "org:  Acme Realty (sandbox) (org id 3c8e5a1f-7d2b-4f60-b9e4-5a0c1d2e4187, short code "
        "acmesandbox)",
        "host: api-in21.leadsquared.com",
    ]


def test_auth_test_json(connection_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["auth", "test", "--json", "--connection", connection_file]) == 0
    assert json.loads(capsys.readouterr().out) == SANDBOX_USER


def test_auth_test_names_the_right_host(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong_region = Connection(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
                              api_host="api-us11.leadsquared.com", base_url=sandbox.base_url)
    monkeypatch.setattr(connection_module, "load_connection", lambda path, environ: wrong_region)
    assert main(["auth", "test"]) == 1
    out, err = capsys.readouterr()
    assert out.endswith("host: api-in21.leadsquared.com\n")
    assert err == (
        "error: api_host api-us11.leadsquared.com is not this account's host; calls would fail "
        "with 401 (set api_host to api-in21.leadsquared.com)\n"
    )


def test_auth_test_with_bad_keys_is_one_line(
    tmp_path: Path, sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_connection_file(tmp_path / "bad.yaml", sandbox.base_url,
                                 secret_key="not-the-secret-key")
    assert main(["auth", "test", "--connection", path]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: Authentication.svc/UserByAccessKey.Get HTTP 401")
    assert err.count("\n") == 1 and "not-the-secret-key" not in err


def test_no_connection_uses_the_embedded_sandbox(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert main(["auth", "test", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == (f"{EMBEDDED_NOTE}; its records are kept in {tmp_path.resolve()}/.lsq/"
                   "sandbox.json (lsq sandbox reset empties it)\n")
    assert EMBEDDED_NOTE == "note: no connection configured; using the embedded LeadSquared sandbox"
    assert json.loads(out) == SANDBOX_USER


def test_environment_connection(
    sandbox: RunningSandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LSQ_ACCESS_KEY", DEFAULT_ACCESS_KEY)
    monkeypatch.setenv("LSQ_SECRET_KEY", DEFAULT_SECRET_KEY)
    monkeypatch.setenv("LSQ_API_HOST", sandbox.base_url)
    assert main(["auth", "test", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and json.loads(out) == SANDBOX_USER


# -- fields lead ---------------------------------------------------------------------------

def test_fields_lead_table(connection_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "lead", "--connection", connection_file]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SCHEMA", "NAME", "DISPLAY", "NAME", "TYPE", "KIND"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["mx_City"] == ["mx_City", "City", "Text", "custom"]
    assert rows["FirstName"] == ["FirstName", "First", "Name", "Text", "standard"]


def test_fields_lead_json(connection_file: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fields", "lead", "--json", "--connection", connection_file]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert {"schema_name": "mx_City", "display_name": "City", "type": "Text",
            "kind": "custom"} in fields
    assert all(field["kind"] == ("custom" if field["schema_name"].startswith("mx_")
                                 else "standard") for field in fields)


def test_a_refused_loopback_connection_fails_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = write_connection_file(tmp_path / "closed.yaml", f"http://127.0.0.1:{port}")
    started = time.monotonic()
    assert main(["auth", "test", "--connection", path]) == 1
    assert time.monotonic() - started < 5
    assert capsys.readouterr().err == (
        f"error: Authentication.svc/UserByAccessKey.Get: connection refused by 127.0.0.1:{port}: "
        f"nothing listens there (start it, e.g. lsq sandbox --port {port}, or correct api_host "
        "or LSQ_API_HOST)\n")
