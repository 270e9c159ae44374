"""``lsq validate``: one summary line or one problem per line; ``--json`` is one object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.plugin.manifest import ROOT_ENV, read_manifest
from tests.manifest.builder import (
    NEW_LEAD_HANDLER,
    TmpConnector,
    create_lead_entry,
    new_account_entry,
)

INSTANT_NEW_LEAD = new_account_entry(
    key="new_lead", display_name="New Lead (Instant)", group="Leads", kind="instant",
    handler="triggers.new_lead", dedupe_key="ProspectID",
    description="Fires when LeadSquared's lead-create webhook calls the connector; subscribed "
    "with Webhook.svc/Create. Docs: https://apidocs.leadsquared.com/create-webhook/",
    endpoint="POST Webhook.svc/Create", sample_input={},
    sample_output={"ProspectID": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01"},
)


@pytest.fixture
def connector(tmp_path: Path) -> TmpConnector:
    return TmpConnector(tmp_path)


def test_the_real_connector_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = read_manifest()
    kinds = [trigger.kind for trigger in manifest.triggers]

    def plural(count: int, noun: str) -> str:
        return f"{count} {noun}{'' if count == 1 else 's'}"

    assert main(["validate"]) == 0
    out, err = capsys.readouterr()
    assert out == (
        f"connector.yaml: valid — {plural(len(kinds), 'trigger')} ({kinds.count('polling')} "
        f"polling, {kinds.count('instant')} instant), {plural(len(manifest.actions), 'action')}\n"
    )
    assert err == ""


def test_the_real_connector_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = read_manifest()
    assert main(["validate", "--json"]) == 0
    out, _ = capsys.readouterr()
    assert out.count("\n") == 1
    assert json.loads(out) == {
        "valid": True,
        "triggers": [op.key for op in manifest.triggers],
        "actions": [op.key for op in manifest.actions],
        "problems": [],
    }


def test_counts_by_kind(connector: TmpConnector, capsys: pytest.CaptureFixture[str]) -> None:
    connector.add_action().add_trigger()
    connector.add_trigger(INSTANT_NEW_LEAD, config_schema={"type": "object"},
                          output_schema={"$ref": "../common/lead.json"},
                          handler=NEW_LEAD_HANDLER)
    assert main(["validate", "--root", str(connector.root)]) == 0
    assert capsys.readouterr().out == (
        "connector.yaml: valid — 2 triggers (1 polling, 1 instant), 1 action\n"
    )


def test_problems_one_per_line(
    connector: TmpConnector, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.add_action(create_lead_entry(sample_output={"lead_id": 5}), handler=None)
    monkeypatch.setenv(ROOT_ENV, str(connector.root))
    assert main(["validate"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "actions.create_lead.handler: handler operations.create_lead: "
        "no module file operations/create_lead.py",
        "actions.create_lead.sample_output.lead_id: 5 is not of type 'string'",
    ]
    assert err == "connector.yaml: invalid — 2 problems\n"


def test_problems_as_json(connector: TmpConnector, capsys: pytest.CaptureFixture[str]) -> None:
    connector.add_action(create_lead_entry(display_name="Create a Lead"))
    assert main(["validate", "--json", "--root", str(connector.root)]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report == {
        "valid": False,
        "triggers": [],
        "actions": ["create_lead"],
        "problems": [
            "actions.create_lead.display_name: 'Create a Lead' does not match the rule: Title "
            "case without articles (a, an, the); short joining words (to, from, of, by, ...) "
            "stay lower case."
        ],
    }
    assert err == ""


def test_broken_yaml(connector: TmpConnector, capsys: pytest.CaptureFixture[str]) -> None:
    (connector.root / "connector.yaml").write_text("name: leadsquared\nactions: [\n")
    assert main(["validate", "--root", str(connector.root)]) == 1
    [line] = capsys.readouterr().out.splitlines()
    assert line == "connector.yaml:2: a '[' is not closed"


def test_missing_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", "--root", str(tmp_path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["problems"] == [f"connector.yaml: not found in {tmp_path.resolve()}"]


def test_positional_arguments_are_workflow_files(
    connector: TmpConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--root", str(connector.root), "workflows/x.yaml"]) == 1
    out, _ = capsys.readouterr()
    assert "workflows/x.yaml: cannot be read: No such file or directory\n" in out


ORIGINAL_ACTIONS = {
    "create_lead", "upsert_lead", "update_lead", "find_lead", "delete_lead", "create_opportunity",
    "update_opportunity", "find_opportunity", "delete_opportunity", "create_account",
    "update_account", "find_account", "delete_account", "create_list", "add_lead_to_list",
    "remove_lead_from_list", "find_list", "send_email", "create_account_activity",
    "update_account_activity", "find_account_activity", "delete_account_activity", "create_task",
    "update_task", "find_task", "delete_task", "create_appointment",
}
ORIGINAL_TRIGGERS = {
    "new_lead", "lead_updated", "lead_added_to_list", "new_account_activity", "new_account",
    "account_updated", "new_task", "task_updated", "new_opportunity", "opportunity_updated",
}


def test_it_lists_the_new_operations_and_the_original_37_keep_their_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    actions, triggers = set(listed["actions"]), set(listed["triggers"])
    assert actions - ORIGINAL_ACTIONS == {"create_lead_activity", "update_lead_activity",
                                          "find_lead_activity", "find_user", "list_users",
                                          "api_call"}
    assert triggers - ORIGINAL_TRIGGERS == {"new_lead_activity", "lead_activity_posted"}
    assert actions >= ORIGINAL_ACTIONS and triggers >= ORIGINAL_TRIGGERS


NO_LOOKUP_STEP = "steps:\n  - id: a\n    action: find_lead\n    input: {email: a@example.com}\n"


@pytest.mark.parametrize(("head", "argv", "says"), [
    ("connection: nope.yaml\n", [], "connection file {tmp}/nope.yaml does not exist"),
    ("", ["--connection", "{tmp}/nope.yaml"], "connection file {tmp}/nope.yaml does not exist"),
    ("connection: half.yaml\n", [], "connection file {tmp}/half.yaml: secret_key is missing"),
], ids=["workflow's", "option's", "incomplete"])
def test_a_connection_file_lsq_run_could_not_load_is_a_problem(
    head: str, argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even when the workflow names nothing the account is asked about (find_lead by email)."""
    monkeypatch.chdir(tmp_path)
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "half.yaml").write_text('access_key: "u$rabc"\n', encoding="utf-8")
    flow = tmp_path / "flow.yaml"
    flow.write_text(f"name: x\n{head}trigger: {{key: new_lead}}\n{NO_LOOKUP_STEP}",
                    encoding="utf-8")
    options = [option.format(tmp=tmp_path) for option in argv]
    assert main(["validate", str(flow), *options]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith(f"{flow}: {says.format(tmp=tmp_path)}"), out
    assert main(["validate", "--offline", str(flow), *options]) == 0
