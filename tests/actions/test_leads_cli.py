"""`lsq invoke action <lead action> -i <sample_input>` against the embedded sandbox.

No connection is configured, so the CLI starts the embedded sandbox with its default seed
(reset before each run): every sample must succeed there, except delete_lead's, because lead
delete is disabled on the default seed as on a real account; it fails with the clear message
until the seed flag lead_delete_enabled is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.api.connection import ENV_ACCESS_KEY, ENV_API_HOST, ENV_SECRET_KEY
from runtime.api.governor import GOVERNORS
from runtime.cli import main
from runtime.embedded import embedded_sandbox
from runtime.plugin.manifest import ROOT_ENV, Manifest
from runtime.sandbox import RunningSandbox

NOTE = ("note: no connection configured; using the embedded LeadSquared sandbox; its records "
        "are kept in {}/sandbox.json (lsq sandbox reset empties it)\n")
LEAD_ACTIONS = ("create_lead", "upsert_lead", "update_lead", "find_lead", "delete_lead")
DELETE_DISABLED = (
    "lead delete is not enabled on this LeadSquared account; ask LeadSquared support to enable it"
)


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RunningSandbox]:
    """The process's embedded sandbox on its default seed, with no connection configured."""
    for name in (ENV_ACCESS_KEY, ENV_SECRET_KEY, ENV_API_HOST, ROOT_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    running = embedded_sandbox()
    running.app.reset()
    GOVERNORS.clear()
    yield running
    running.app.reset()


def invoke_sample(manifest: Manifest, key: str, capsys: pytest.CaptureFixture[str]
                  ) -> tuple[int, Any, str]:
    sample = manifest.action(key).sample_input
    code = main(["invoke", "action", key, "-i", json.dumps(dict(sample)), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out else None, err


def test_every_lead_action_is_declared(manifest: Manifest) -> None:
    assert [op.key for op in manifest.actions if op.group == "Leads"] == list(LEAD_ACTIONS)


@pytest.mark.parametrize("key", [k for k in LEAD_ACTIONS if k != "delete_lead"])
def test_sample_input_succeeds_on_the_default_seed(
    manifest: Manifest, embedded: RunningSandbox, capsys: pytest.CaptureFixture[str], key: str,
    tmp_path: Path,
) -> None:
    code, output, err = invoke_sample(manifest, key, capsys)
    assert (code, err) == (0, NOTE.format(tmp_path.resolve()))
    action = manifest.action(key)
    assert action.output_problems(output) == []
    assert set(output) == set(action.sample_output)  # the sample shows the real shape
    if "lead_id" in action.sample_input:
        assert output["lead_id"] == action.sample_input["lead_id"]


def test_find_lead_sample_output_is_what_the_sample_input_finds(
    manifest: Manifest, embedded: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, _ = invoke_sample(manifest, "find_lead", capsys)
    sample = manifest.action("find_lead").sample_output
    assert code == 0
    assert {k: v for k, v in output["lead"].items() if k in sample["lead"]} == sample["lead"]
    assert (output["found"], output["count"]) == (sample["found"], sample["count"])


def test_delete_lead_sample_fails_clearly_on_the_default_seed(
    manifest: Manifest, embedded: RunningSandbox, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, output, err = invoke_sample(manifest, "delete_lead", capsys)
    assert (code, output) == (1, None)
    assert err == (
        NOTE.format(tmp_path.resolve()) + "error: LeadManagement.svc/Lead/Delete/ById HTTP 500 "
        f"MXUnauthorizedRequestException: {DELETE_DISABLED}\n"
    )
    assert DELETE_DISABLED in " ".join(manifest.action("delete_lead").description.split())


def test_delete_lead_sample_succeeds_once_lead_delete_is_enabled(
    manifest: Manifest, embedded: RunningSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    embedded.app.state.tenants["41872"].settings["lead_delete_enabled"] = True
    code, output, _ = invoke_sample(manifest, "delete_lead", capsys)
    assert code == 0
    assert output == manifest.action("delete_lead").sample_output
