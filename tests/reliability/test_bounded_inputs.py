"""Every file and stdin input is bounded: too large, endless, silent, a directory, not UTF-8 or
missing, each ends in one line with exit 1 or 2 within seconds, never a hang or a traceback.

The inputs (``runtime/inputs.py`` reads them all): ``-i`` and ``-c`` as ``@file`` and ``@-``,
``lsq run --event``, ``--connection``, workflow files (``validate``, ``run``), a connection file
named by a workflow, ``lsq webhook replay FILE``, ``lsq sandbox --seed`` and ``connector.yaml``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import runtime.inputs as inputs
from runtime.inputs import (
    MAX_CONNECTION_BYTES,
    MAX_JSON_INPUT_BYTES,
    MAX_MANIFEST_BYTES,
    MAX_REPLAY_BODY_BYTES,
    MAX_SEED_BYTES,
    MAX_WORKFLOW_BYTES,
)
from runtime.sandbox import RunningSandbox
from tests.fakes import write_connection_file
from tests.seed_ids import PRIYA

from .helpers import CliResult, assert_contract, run_cli

FLOW = ("name: f\ntrigger: {key: new_lead}\nsteps:\n"
        "  - {id: a, action: find_lead, input: {lead_id: '{{ trigger.lead_id }}'}}\n")
EVENT = json.dumps({
    "lead_id": PRIYA, "ProspectID": PRIYA,
    "FirstName": "Priya", "CreatedOn": "2025-03-01 09:00:00.000",
    "ModifiedOn": "2025-03-01 09:00:00.000",
})
RECEIVER = "http://127.0.0.1:9/hooks/new_lead-0123456789abcdef0123"
IDLE_SECONDS = 0.3
SECONDS = 5.0


@dataclass(frozen=True)
class Input:
    """One input path of the CLI: how to name a file there, its cap and exit code."""

    name: str
    argv: Callable[[Path, Path], list[str]]  # (hostile path, scratch dir) -> argv
    limit: int
    code: int
    text: bool = True  # decoded as UTF-8 (replay bodies are bytes)


def _workflow_naming(connection: Path, scratch: Path) -> list[str]:
    flow = scratch / "uses-connection.yaml"
    flow.write_text(FLOW + f"connection: {connection}\n", encoding="utf-8")
    event = scratch / "event.json"
    event.write_text(EVENT, encoding="utf-8")
    return ["run", str(flow), "--event", str(event)]


def _manifest_root(path: Path, scratch: Path) -> list[str]:
    root = scratch / "root"
    root.mkdir()
    (root / "connector.yaml").symlink_to(path)
    return ["validate", "--root", str(root)]


def _event(path: Path, scratch: Path) -> list[str]:
    flow = scratch / "flow.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    return ["run", str(flow), "--event", str(path)]


INPUTS = [
    Input("-i @file", lambda p, _: ["invoke", "action", "find_lead", "-i", f"@{p}"],
          MAX_JSON_INPUT_BYTES, 2),
    Input("-c @file", lambda p, _: ["invoke", "trigger", "new_account", "-c", f"@{p}"],
          MAX_JSON_INPUT_BYTES, 2),
    Input("--event", _event, MAX_JSON_INPUT_BYTES, 2),
    Input("--connection", lambda p, _: ["auth", "test", "--connection", str(p)],
          MAX_CONNECTION_BYTES, 1),
    Input("workflow (validate)", lambda p, _: ["validate", str(p)], MAX_WORKFLOW_BYTES, 1),
    Input("workflow (run)", lambda p, _: ["run", str(p)], MAX_WORKFLOW_BYTES, 1),
    Input("connection of a workflow", _workflow_naming, MAX_CONNECTION_BYTES, 1),
    Input("webhook replay FILE", lambda p, _: ["webhook", "replay", str(p), "--to", RECEIVER],
          MAX_REPLAY_BODY_BYTES, 2, text=False),
    Input("sandbox --seed", lambda p, _: ["sandbox", "--seed", str(p), "--port", "0"],
          MAX_SEED_BYTES, 1),
    Input("connector.yaml", _manifest_root, MAX_MANIFEST_BYTES, 1),
]


def _too_large(path: Path, limit: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(limit + 1)  # sparse: no disk written
    return path


def _fifo(path: Path, limit: int) -> Path:
    os.mkfifo(path)  # nobody ever writes
    return path


def _directory(path: Path, limit: int) -> Path:
    path.mkdir()
    return path


def _not_utf8(path: Path, limit: int) -> Path:
    path.write_bytes(b'{"a": "\xff\xfe"}\n')
    return path


#: kind -> (make the hostile input, what the one line says)
KINDS: dict[str, tuple[Callable[[Path, int], Path], str]] = {
    "too-large": (_too_large, "larger than"),
    "dev-zero": (lambda path, limit: Path("/dev/zero"), "larger than"),
    "fifo-without-writer": (_fifo, f"no data for {IDLE_SECONDS:g} s"),
    "directory": (_directory, "directory"),
    "not-utf8": (_not_utf8, "not UTF-8"),
    "missing": (lambda path, limit: path, ""),
}


def _one_line(result: CliResult) -> str:
    text = (result.err or result.out).strip()
    return text.splitlines()[-1] if text else ""


CASES = [  # a replay body is bytes: any bytes are a body, so it has no not-UTF-8 case
    pytest.param(entry, kind, id=f"{entry.name}-{kind}")
    for entry in INPUTS for kind in KINDS if entry.text or kind != "not-utf8"
]


@pytest.mark.parametrize(("entry", "kind"), CASES)
def test_every_file_input_is_bounded(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, entry: Input, kind: str
) -> None:
    monkeypatch.setattr(inputs, "STREAM_IDLE_SECONDS", IDLE_SECONDS)
    make, says = KINDS[kind]
    hostile = make(cli_env / ("missing" if kind == "missing" else "hostile"), entry.limit)
    started = time.monotonic()
    result = run_cli(entry.argv(hostile, cli_env))
    elapsed = time.monotonic() - started
    assert_contract(result)
    assert result.code == entry.code, (result.code, result.err, result.out[-300:])
    assert elapsed < SECONDS
    assert says in result.err + result.out
    if entry.name != "connector.yaml":  # the manifest's problems name it connector.yaml
        assert str(hostile) in result.err + result.out


CAPPED = "(the limit is in the README's Limits table)"


@pytest.mark.parametrize(("argv", "stdin", "says"), [
    (["invoke", "action", "find_lead", "-i", "@-"], b" " * (MAX_JSON_INPUT_BYTES + 1),
     f"-i: cannot read stdin: larger than 4 MiB {CAPPED}"),
    (["invoke", "trigger", "new_account", "-c", "@-"], b"{\"a\": \"\xc3\x28\"}",
     "-c: cannot read stdin: not UTF-8 text (byte 0xc3 at offset 7) (save it as UTF-8)"),
    (["run", "flow.yaml", "--event", "-"], b"[" * (MAX_JSON_INPUT_BYTES + 1),
     f"--event: cannot read stdin: larger than 4 MiB {CAPPED}"),
    (["webhook", "replay", "-", "--to", RECEIVER], b"x" * (MAX_REPLAY_BODY_BYTES + 1),
     f"cannot read stdin: larger than 4 MiB {CAPPED}"),
], ids=["-i", "-c", "--event", "replay"])
def test_stdin_is_bounded(cli_env: Path, argv: list[str], stdin: bytes, says: str) -> None:
    (cli_env / "flow.yaml").write_text(FLOW, encoding="utf-8")
    result = run_cli(argv, stdin=stdin)
    assert_contract(result)
    assert result.code == 2
    assert result.err.strip().splitlines() == [f"lsq: {says}"]


def test_inline_json_is_capped_like_a_file(cli_env: Path) -> None:
    result = run_cli(["invoke", "action", "find_lead", "-i", " " * MAX_JSON_INPUT_BYTES + "{}x"])
    assert_contract(result)
    assert result.code == 2 and "the inline JSON: larger than 4 MiB" in result.err


def test_inputs_up_to_the_cap_are_read(cli_env: Path, sandbox: RunningSandbox) -> None:
    """The caps are generous: a workflow and an action input of exactly their cap are used."""
    connection = write_connection_file(cli_env / "acme.yaml", sandbox.base_url)
    flow = cli_env / "flow.yaml"
    flow.write_text(FLOW + "#" * (MAX_WORKFLOW_BYTES - len(FLOW) - 1) + "\n", encoding="utf-8")
    assert flow.stat().st_size == MAX_WORKFLOW_BYTES
    assert run_cli(["validate", str(flow)]).code == 0
    body = json.dumps({"lead_id": PRIYA})
    big = cli_env / "input.json"
    big.write_text(body + " " * (MAX_JSON_INPUT_BYTES - len(body)), encoding="utf-8")
    result = run_cli(["invoke", "action", "find_lead", "-i", f"@{big}", "--json",
                      "--connection", connection])
    assert_contract(result)
    assert result.code == 0, result.err  # read, validated and run: not refused for its size


def test_a_fifo_with_a_writer_is_read_like_process_substitution(cli_env: Path) -> None:
    fifo = cli_env / "flow.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("w", encoding="utf-8") as handle:
            handle.write(FLOW)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = run_cli(["validate", str(fifo)])
    writer.join(timeout=5)
    assert_contract(result)
    assert result.code == 0, result.out + result.err
    assert f"{fifo}: valid" in result.out
