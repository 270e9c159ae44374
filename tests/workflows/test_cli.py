"""`lsq validate WORKFLOW`, `lsq run` and `lsq runs` on the small test connector (fake client)."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

import pytest

from runtime.cli import main, run_cmd
from runtime.plugin.manifest import ROOT_ENV
from runtime.workflows.runner import ClientPool

from .conftest import SECRET, WELCOME, FakeClient


@pytest.fixture(autouse=True)
def environment(fake_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROOT_ENV, str(fake_root))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))


@pytest.fixture
def fake_pool(monkeypatch: pytest.MonkeyPatch) -> FakeClient:
    client = FakeClient()
    monkeypatch.setattr(run_cmd, "client_pool", lambda args: ClientPool(lambda path: client))
    return client


def write(tmp_path: Path, text: str, name: str = "flow.yaml") -> str:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------- lsq validate WORKFLOW

BROKEN = {
    "unknown-field": (
        'lead_id: "{{ trigger.ProspectId }}"\n          subject: Hi',
        "mail.input.lead_id: trigger.ProspectId: unknown field 'ProspectId' in the 'new_lead' "
        "event (did you mean 'ProspectID'?)",
    ),
    "unknown-step": (
        'lead_id: "{{ steps.finder.lead.ProspectID }}"\n          subject: Hi',
        "mail.input.lead_id: steps.finder.lead.ProspectID: unknown step 'finder' "
        "(did you mean 'find'?)",
    ),
    "forward-reference": (
        'lead_id: "{{ steps.later.lead_id }}"\n          subject: Hi',
        "mail.input.lead_id: steps.later.lead_id: step 'later' runs after this step "
        "(forward reference)",
    ),
    "object-into-string": (
        'lead_id: "{{ steps.find.lead }}"\n          subject: Hi',
        "mail.input.lead_id: steps.find.lead is an object, but this field expects a string",
    ),
    "missing-required": (
        'lead_id: "{{ trigger.ProspectID }}"',
        "mail.input.subject: required input is missing: add it",
    ),
    "template-syntax": (
        'lead_id: "{{ trigger.ProspectID }"\n          subject: Hi',
        "mail.input.lead_id: template syntax error: unexpected '}' (line 1)",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN), ids=list(BROKEN))
def test_validate_reports_a_broken_mapping_with_its_location(
    case: str, tmp_path: Path, fake_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping, expected = BROKEN[case]
    path = write(tmp_path, f"""
    name: broken
    trigger: {{key: new_lead}}
    steps:
      - id: find
        action: find_lead
        input: {{email: "{{{{ trigger.EmailAddress }}}}"}}
      - id: mail
        action: send_email
        input:
          {mapping}
      - id: later
        action: update_lead
        input: {{lead_id: "{{{{ trigger.ProspectID }}}}", fields: {{}}}}
    """)

    assert main(["validate", path]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("connector.yaml: valid")
    assert out.splitlines()[1:] == [f"{path}:{expected}"]
    assert err == f"{path}: invalid — 1 problem\n"


def test_validate_accepts_a_good_workflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, WELCOME)
    assert main(["validate", path]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"{path}: valid"]


def test_validate_workflows_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, WELCOME)
    bad = write(tmp_path, WELCOME.replace("EmailAddress", "Email"), "bad.yaml")

    assert main(["validate", "--json", good, bad]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is False
    assert result["workflows"][0] == {"file": good, "valid": True, "problems": []}
    assert result["workflows"][1]["problems"] == [
        f"{bad}:find.input.email: trigger.Email: unknown field 'Email' in the 'new_lead' event"
    ]


# ---------------------------------------------------------------- lsq run / lsq runs


def test_run_with_an_event_file_prints_the_run(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, WELCOME)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ProspectID": "lead-1", "FirstName": "Ada",
                                 "EmailAddress": "ada@example.com"}))

    assert main(["run", flow, "--event", str(event)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run 1: succeeded — welcome (") and lines[0].endswith(" ms)")
    assert lines[1] == f"  trigger new_lead: event from {event}"
    assert lines[2].startswith("  1. find (find_lead): succeeded, ")
    assert lines[2].endswith(" — found=true, lead={…}")
    assert lines[3].startswith("  2. mail (send_email): succeeded, ")
    assert lines[3].endswith(" — email_id=mail-lead-ada, echo=***")
    assert len(lines) == 4


def test_run_without_event_uses_the_triggers_most_recent_record(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, WELCOME)

    assert main(["run", flow, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert [s["status"] for s in run["steps"]] == ["succeeded", "skipped"]  # sam: not a lead
    assert run["origin"] == "sample"
    assert run["event"]["ProspectID"] == "lead-sample"
    assert run["note"] == "the most recent record (ProspectID lead-sample)"


def test_failed_run_exits_1_and_is_recorded(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, """
        name: failing
        trigger: {key: new_lead}
        steps:
          - id: mail
            action: send_email
            input: {lead_id: "{{ trigger.ProspectID }}", subject: explode}
    """)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"ProspectID": "lead-1", "FirstName": SECRET}))

    assert main(["run", flow, "--event", str(event)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run 1: failed — failing")
    assert lines[2].startswith("  1. mail (send_email): failed, ")
    assert lines[2].endswith(
        " — permanent: EmailMarketing.svc/SendEmailToLead HTTP 500 MXInvalidInputException: "
        "no such template"
    )

    assert main(["runs", "list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2
    assert listed[0].split() == ["ID", "STARTED", "STATUS", "WORKFLOW", "TRIGGER", "ORIGIN",
                                 "STEPS"]
    assert listed[1].split()[0] == "1" and listed[1].split()[2:] == [
        "failed", "failing", "new_lead", "event-file", "1", "failed"]
    assert listed[0].index("STATUS") == listed[1].index("failed")  # in columns

    assert main(["runs", "show", "1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "failed"
    assert shown["error"]["step"] == "mail"
    assert shown["steps"][0]["error"]["category"] == "permanent"
    assert shown["event"]["FirstName"] == "***"

    assert main(["runs", "show", "1"]) == 0
    text = capsys.readouterr().out
    assert "run 1: failed — failing" in text and SECRET not in text
    assert '       input: {"lead_id": "lead-1", "subject": "explode"}' in text


def test_event_file_must_fit_the_trigger_event(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, WELCOME)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"FirstName": "Ada"}))

    assert main(["run", flow, "--event", str(event)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: --event {event} is not a 'new_lead' event: ")
    assert "'ProspectID' is a required property" in err
    assert fake_pool.calls == []


def test_unreadable_event_file_is_a_usage_error(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, WELCOME)
    bad = tmp_path / "event.json"
    bad.write_text("{not json")

    assert main(["run", flow, "--event", str(bad)]) == 2
    assert "--event: invalid JSON in" in capsys.readouterr().err
    assert main(["run", flow, "--event", str(tmp_path / "missing.json")]) == 2


def test_invalid_workflow_does_not_run(
    tmp_path: Path, fake_pool: FakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = write(tmp_path, WELCOME.replace("ProspectID", "ProspectId"))

    assert main(["run", flow]) == 1
    assert "unknown field 'ProspectId'" in capsys.readouterr().err
    assert fake_pool.calls == []


def test_show_unknown_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runs", "show", "7"]) == 1
    assert capsys.readouterr().err == "error: no run with id 7 (see `lsq runs list`)\n"
    assert main(["runs", "list"]) == 0
    assert capsys.readouterr().out == "no runs\n"
