"""Hostile command lines: any argv, -i/-c JSON, @file/@-, connection, workflow and event files
end with exit 0, 1 or 2 and a one-line explanation, never a traceback.

Commands that would reach an API get a connection file to a closed loopback port with a short
timeout where they get that far, so each example stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.sandbox import RunningSandbox
from tests.fakes import write_connection_file

from .helpers import assert_contract, run_cli

WORDS = st.sampled_from([
    "validate", "invoke", "action", "trigger", "auth", "test", "fields", "lead", "docs", "run",
    "runs", "list", "show", "serve", "state", "reset", "hooks", "subscribe", "unsubscribe",
    "reconcile", "webhook", "replay", "sandbox", "create_lead", "find_lead", "new_lead",
    "new_account", "-i", "-c", "--json", "--connection", "--event", "--state", "--root",
    "--instance", "--trigger", "--since", "--limit", "--to", "--log-level", "DEBUG", "NOPE",
    "@", "@-", "@/nonexistent", "{}", "[]", "{", "null", '{"a":1}', "-", "--", "0", "-1",
    "x" * 300, "\x00", "é", "--help", "--port", "99999", "--out",
    # argument checks and text that is not UTF-8 (tests/reliability/test_cli_arguments.py)
    "65536", "-5", "nan", "inf", "--poll-interval", "--content-type", "--public-url",
    "--receiver-url", "--database", "info", "\udcff", '{"a": "\\ud83d"}', "@/dev/zero",
    # lsq runs retry (runtime/workflows/retry.py)
    "retry", "1", "--from-step", "--confirm-ambiguous", "--workflow",
])
SAFE_FIRST = st.sampled_from(["validate", "invoke", "auth", "fields", "runs", "state", "hooks",
                              "webhook", "docs", "run", "NOPE", "--log-level"])


FLOW = ("name: f\ntrigger: {key: new_lead}\nsteps:\n"
        "  - {id: a, action: find_lead, input: {lead_id: '{{ trigger.lead_id }}'}}\n")


@pytest.fixture
def dead_connection(cli_env: Path) -> Path:
    path = cli_env / "dead.yaml"
    path.write_text('access_key: "u$rDEADaccess0123456789"\nsecret_key: "deadSecret0123456789"\n'
                    'api_host: "http://127.0.0.1:9"\ntimeout: 0.5\n', encoding="utf-8")
    return path


@pytest.fixture
def sandbox_connection(cli_env: Path, sandbox: RunningSandbox) -> Path:
    return Path(write_connection_file(cli_env / "sandbox.yaml", sandbox.base_url))


@settings(max_examples=40)
@given(first=SAFE_FIRST, rest=st.lists(WORDS | st.text(max_size=12), max_size=6))
def test_arbitrary_argv(
    cli_env: Path, sandbox_connection: Path, first: str, rest: list[str]
) -> None:
    argv = [first, *rest]
    if "serve" in argv or "sandbox" in argv or "--out" in argv:
        return  # long-running / writing commands are exercised elsewhere
    if "--connection" not in argv:
        argv += ["--connection", str(sandbox_connection)]
    assert_contract(run_cli(argv))


JSON_INPUTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["{", "[]", "null", "1", '"x"', '{"a":', "{}", '{"lead_id": 1}',
                     '{"fields": {"EmailAddress": []}}', '{"a": NaN}', "[" * 3000, "\ufeff{}",
                     '{"email": "' + "x" * 10000 + '"}', "{\"a\": 1e999}",
                     '{"email": "\\ud83d@example.com"}', '{"\\udfff": 1}']),
)


@settings(max_examples=30)
@given(value=JSON_INPUTS, form=st.sampled_from(["inline", "file", "stdin"]),
       command=st.sampled_from([["invoke", "action", "find_lead", "-i"],
                                ["invoke", "trigger", "new_account", "-c"],
                                ["hooks", "subscribe", "new_lead", "--receiver-url",
                                 "http://127.0.0.1:9/x", "-c"]]))
def test_json_inputs_inline_file_and_stdin(
    cli_env: Path, dead_connection: Path, value: str, form: str, command: list[str]
) -> None:
    stdin = ""
    if form == "file":
        path = cli_env / "input.json"
        path.write_text(value, encoding="utf-8", errors="surrogatepass")
        argument = "@" + str(path)
    elif form == "stdin":
        argument, stdin = "@-", value
    else:
        argument = value
    result = run_cli([*command, argument, "--connection", str(dead_connection)], stdin=stdin)
    assert_contract(result)
    assert result.code in (1, 2)


@settings(max_examples=20)
@given(text=st.text(max_size=120) | st.sampled_from([
    "access_key: 1\nsecret_key: 2", "access_key: [a]\nsecret_key: b", "- a", "a: &a [*a]",
    'access_key: "k123"\nsecret_key: "s123"\napi_host: "https://evil.io"',
    'access_key: "k123"\nsecret_key: "s123"\ntimeout: -1',
    'access_key: "k123"\nsecret_key: "s123"\ntimeout: .nan',
    'access_key: "k123"\nsecret_key: "s123"\nrate_limit: 1e9999',
    'access_key: "k123"\nsecret_key: "s123"\nname: {a: 1}',
    "!!python/object/apply:os.system ['id']",
]), binary=st.booleans())
def test_connection_files(cli_env: Path, text: str, binary: bool) -> None:
    path = cli_env / "conn.yaml"
    if binary:
        path.write_bytes(b"\xff\xfe" + text.encode("utf-8", "surrogatepass"))
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for argv in (["auth", "test", "--connection", str(path)],
                 ["invoke", "action", "find_lead", "-i", "{}", "--connection", str(path)]):
        result = run_cli(argv)
        assert_contract(result)
        assert result.code in (1, 2)


@settings(max_examples=8)
@given(text=st.text(max_size=80) | st.sampled_from(["{}", "[]", "null", '{"lead_id": 5}',
                                                    "[" * 3000, '{"ProspectID": "x"}']))
def test_event_files(cli_env: Path, sandbox_connection: Path, text: str) -> None:
    workflow = cli_env / "flow.yaml"
    workflow.write_text(FLOW, encoding="utf-8")
    event = cli_env / "event.json"
    event.write_text(text, encoding="utf-8", errors="surrogatepass")
    result = run_cli(["run", str(workflow), "--event", str(event),
                      "--connection", str(sandbox_connection)])
    assert_contract(result)


@pytest.mark.parametrize("path", ["/nonexistent/event.json", "."])
def test_unreadable_event_files(cli_env: Path, path: str) -> None:
    workflow = cli_env / "flow.yaml"
    workflow.write_text(FLOW, encoding="utf-8")
    result = run_cli(["run", str(workflow), "--event", path])
    assert_contract(result)
    assert result.code == 2


def test_json_output_is_one_json_value_even_on_failure(
    cli_env: Path, dead_connection: Path
) -> None:
    result = run_cli(["validate", "--json", str(cli_env / "missing.yaml")])
    assert_contract(result)
    json.loads(result.out)
