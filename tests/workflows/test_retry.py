"""Retrying runs: from the start or from a step, the links, and every refusal."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.cli import main, run_cmd
from runtime.errors import AmbiguousWriteError, TransientApiError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import ROOT_ENV, Manifest
from runtime.store.history import HistoryStore
from runtime.workflows.retry import RetryRefused, failed_step, retry_run
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import Workflow

from .conftest import FakeClient

EVENT = {"ProspectID": "lead-1", "FirstName": "Ada", "EmailAddress": "ada@example.com"}

#: find -> note (update_lead, on_error: continue) -> update: the last two fail on demand.
FLOW = """
    name: flow
    trigger: {key: new_lead}
    steps:
      - id: find
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
      - id: note
        action: update_lead
        on_error: continue
        input: {lead_id: "{{ steps.find.lead.ProspectID }}", fields: {mx_Note: seen}}
      - id: update
        action: update_lead
        input: {lead_id: "{{ steps.find.lead.ProspectID }}", fields: {mx_Stage: Won}}
"""
#: send_email's output has a secret field (echo): the history keeps it masked.
MAILING = """
    name: mailing
    trigger: {key: new_lead}
    steps:
      - id: mail
        action: send_email
        input: {lead_id: "{{ trigger.ProspectID }}", subject: Hi}
      - id: update
        action: update_lead
        input: {lead_id: "{{ steps.mail.email_id }}", fields: {mx_Stage: Mailed}}
"""


class Faults:
    """An invoke that raises the error set for a step's marker (``fields`` key) while set."""

    def __init__(self) -> None:
        self.errors: dict[str, Exception] = {}

    def __call__(self, manifest: Manifest, action: str, inputs: dict[str, Any],
                 client: Any) -> dict[str, Any]:
        for marker, error in self.errors.items():
            if marker in inputs.get("fields", {}):
                raise error
        return invoke_action(manifest, action, inputs, client)


def ambiguous() -> AmbiguousWriteError:
    return AmbiguousWriteError("the connection dropped after the request was sent",
                               operation="LeadManagement.svc/Lead.Update", status=None)


def transient() -> TransientApiError:
    return TransientApiError("HTTP 503", operation="LeadManagement.svc/Lead.Update", status=503)


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        yield store


@pytest.fixture
def faults() -> Faults:
    return Faults()


@pytest.fixture
def runner(fake_manifest: Manifest, fake_client: FakeClient, history: HistoryStore,
           faults: Faults) -> WorkflowRunner:
    return WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client), history,
                          invoke=faults)


@pytest.fixture
def flow(make_workflow: Callable[[str], Workflow]) -> Workflow:
    return make_workflow(FLOW)


@pytest.fixture
def first(runner: WorkflowRunner, flow: Workflow, faults: Faults) -> int:
    """A run of ``flow`` whose last step failed with a transient error."""
    return failed_run(runner, flow, faults, mx_Stage=transient())


def failed_run(runner: WorkflowRunner, flow: Workflow, faults: Faults, **errors: Exception) -> int:
    faults.errors = dict(errors)
    record = runner.run(flow, EVENT)
    faults.errors = {}
    assert record is not None and record.run_id is not None and record.status == "failed"
    return record.run_id


def test_retry_from_the_failed_step_reuses_the_recorded_outputs(
    runner: WorkflowRunner, fake_client: FakeClient, history: HistoryStore, flow: Workflow,
    first: int,
) -> None:
    assert failed_step(history.get_run(first)) == "update"
    fake_client.calls.clear()

    record = retry_run(runner, flow, first, from_step="update")

    assert record.status == "succeeded" and record.origin == "retry"
    assert fake_client.calls == [("update_lead", {"lead_id": "lead-ada",
                                                  "fields": {"mx_Stage": "Won"}})]
    stored = history.get_run(record.run_id)
    assert (stored["retry_of"], stored["retry_from"], stored["origin"]) == (first, "update",
                                                                            "retry")
    assert stored["event"] == history.get_run(first)["event"]
    assert [(s["step_id"], s["status"], s["reused_from"]) for s in stored["steps"]] == [
        ("find", "succeeded", first), ("note", "succeeded", first), ("update", "succeeded", None)]
    assert stored["steps"][0]["output"] == history.get_run(first)["steps"][0]["output"]
    assert history.list_runs(limit=1)[0]["steps"] == {"reused": 2, "succeeded": 1}
    assert history.get_run(first)["retries"] == [{
        "id": record.run_id, "status": "succeeded", "retry_from": "update",
        "started_at": stored["started_at"]}]


def test_retry_from_the_start_runs_every_step_with_the_recorded_event(
    runner: WorkflowRunner, fake_client: FakeClient, history: HistoryStore, flow: Workflow,
    first: int,
) -> None:
    fake_client.calls.clear()

    record = retry_run(runner, flow, first)

    assert record.status == "succeeded" and record.retry_from is None
    assert [name for name, _ in fake_client.calls] == ["find_lead", "update_lead", "update_lead"]
    assert all(s["reused_from"] is None for s in history.get_run(record.run_id)["steps"])


def test_a_reused_failed_step_keeps_the_retry_completed_with_errors(
    runner: WorkflowRunner, faults: Faults, history: HistoryStore, flow: Workflow,
) -> None:
    first = failed_run(runner, flow, faults, mx_Note=transient(), mx_Stage=transient())

    record = retry_run(runner, flow, first, from_step="update")

    assert record.status == "completed_with_errors"
    assert [(s.step_id, s.status) for s in record.steps] == [
        ("find", "succeeded"), ("note", "failed"), ("update", "succeeded")]
    # a retry of a retry points at the run where the reused step ran
    again = retry_run(runner, flow, record.run_id, from_step="update")
    assert [s.reused_from for s in again.steps] == [first, first, None]
    assert history.get_run(again.run_id)["retry_of"] == record.run_id


def test_an_ambiguous_write_needs_confirmation(
    runner: WorkflowRunner, faults: Faults, history: HistoryStore, flow: Workflow,
) -> None:
    first = failed_run(runner, flow, faults, mx_Stage=ambiguous())
    before = history.count()

    with pytest.raises(RetryRefused) as refused:
        retry_run(runner, flow, first, from_step="update")
    assert refused.value.needs_confirmation
    assert str(refused.value) == (
        f"step 'update' of run {first} failed with an ambiguous write: its record may exist in "
        "LeadSquared (check whether it did; --confirm-ambiguous (or the page's confirm box) "
        "retries anyway)")
    assert history.count() == before  # nothing recorded, nothing run

    record = retry_run(runner, flow, first, from_step="update", confirm_ambiguous=True)
    assert record.status == "succeeded"


def test_the_step_cut_off_by_an_interruption_needs_confirmation(
    runner: WorkflowRunner, history: HistoryStore, flow: Workflow,
) -> None:
    run_id = history.start_run(workflow="flow", trigger_key="new_lead", origin="webhook",
                               event=EVENT, instance_id="new_lead-x", event_key="k#0")
    assert run_id is not None
    history.save_steps(run_id, [(0, {"step_id": "find", "action": "find_lead",
                                     "status": "running"})], durable=True)
    assert history.start_run(workflow="flow", trigger_key="new_lead", origin="webhook",
                             event=EVENT, instance_id="new_lead-x", event_key="k#0") is None
    assert history.get_run(run_id)["status"] == "interrupted"

    with pytest.raises(RetryRefused, match="step 'find' was running when run 1 was interrupted"):
        retry_run(runner, flow, run_id)
    with pytest.raises(RetryRefused, match="step 'find' did not finish in run 1"):
        retry_run(runner, flow, run_id, from_step="note", confirm_ambiguous=True)
    record = retry_run(runner, flow, run_id, confirm_ambiguous=True)
    assert record.status == "succeeded" and record.instance_id == "new_lead-x"
    assert record.event_key is None  # the event's own exactly-once run stays the original


STOPPING = FLOW.replace("on_error: continue", "on_error: stop")
#: case -> (workflow, the step marker that fails, retry options, the one line refusing it)
REFUSALS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "unknown step": (FLOW, "mx_Stage", {"from_step": "nope"},
                     "workflow 'flow' has no step 'nope' (its steps: find, note, update)"),
    "reusing a step that stopped the run": (
        STOPPING, "mx_Note", {"from_step": "update"},
        "step 'note' failed in run 1 and stops the run (retry from 'note' or an earlier step)"),
    "reusing a step that did not run": (
        STOPPING, "mx_Note", {"from_step": "update", "confirm_ambiguous": True},
        "step 'note' failed in run 1 and stops the run (retry from 'note' or an earlier step)"),
    "reusing a masked output": (
        MAILING, "mx_Stage", {"from_step": "update"},
        "step 'mail' (send_email) has secret output fields, which the history keeps masked, "
        "so later steps cannot reuse them (retry from 'mail' or an earlier step)"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals(
    case: str, runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], faults: Faults,
    history: HistoryStore,
) -> None:
    text, marker, options, message = REFUSALS[case]
    flow = make_workflow(text)
    first = failed_run(runner, flow, faults, **{marker: transient()})
    with pytest.raises(RetryRefused) as refused:
        retry_run(runner, flow, first, **options)
    assert str(refused.value) == message and not refused.value.needs_confirmation
    assert history.count() == 1


def test_refusals_about_the_run_and_its_workflow(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], flow: Workflow, first: int,
) -> None:
    renamed = make_workflow(FLOW.replace("name: flow", "name: other"), "other.yaml")
    changed = make_workflow(FLOW.replace("id: note", "id: remark"), "changed.yaml")
    cases = [
        (renamed, first, {}, "run 1 is of workflow 'flow' (new_lead), not 'other' (new_lead) "
                             "(give the run's workflow file)"),
        (changed, first, {"from_step": "update"},
         "the workflow changed since run 1: its step 2 is now 'remark' (update_lead) (retry "
         "from the start, or from that step)"),
        (flow, 99, {}, "no run with id 99 (see `lsq runs list`)"),
    ]
    for workflow, run_id, options, message in cases:
        with pytest.raises(RetryRefused) as refused:
            retry_run(runner, workflow, run_id, **options)
        assert str(refused.value) == message
    retried = retry_run(runner, flow, first)
    for run_id, message in [
        (retried.run_id, f"run {retried.run_id} is succeeded; only a failed, "
                         "completed_with_errors or interrupted run can be retried"),
        (first, f"run 1 was already retried: run {retried.run_id} succeeded"),
    ]:
        with pytest.raises(RetryRefused) as refused:
            retry_run(runner, flow, run_id)
        assert str(refused.value) == message


def test_a_retry_still_running_blocks_another_until_confirmed(
    runner: WorkflowRunner, history: HistoryStore, flow: Workflow, first: int,
) -> None:
    stuck = history.start_retry(first)  # a retry whose process stopped mid-run
    assert stuck.run_id is not None

    with pytest.raises(RetryRefused) as refused:
        retry_run(runner, flow, first)
    assert refused.value.needs_confirmation
    assert str(refused.value).startswith(
        f"run 1 has a retry still running (run {stuck.run_id}): it may be writing now")
    assert retry_run(runner, flow, first, confirm_ambiguous=True).status == "succeeded"


# ---------------------------------------------------------------- lsq runs retry


@pytest.fixture
def cli_env(fake_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            faults: Faults) -> FakeClient:
    monkeypatch.setenv(ROOT_ENV, str(fake_root))
    monkeypatch.setenv("LSQ_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    client = FakeClient()
    monkeypatch.setattr(run_cmd, "client_pool", lambda args: ClientPool(lambda path: client))
    real = WorkflowRunner.__init__

    def with_faults(self: WorkflowRunner, *args: Any, **kwargs: Any) -> None:
        real(self, *args, invoke=faults, **kwargs)

    monkeypatch.setattr(WorkflowRunner, "__init__", with_faults)
    return client


def test_lsq_runs_retry(
    cli_env: FakeClient, tmp_path: Path, faults: Faults, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "flow.yaml").write_text(FLOW.replace("\n    ", "\n"), encoding="utf-8")
    (tmp_path / "event.json").write_text(json.dumps(EVENT), encoding="utf-8")
    faults.errors = {"mx_Stage": ambiguous()}
    assert main(["run", str(tmp_path / "flow.yaml"), "--event", str(tmp_path / "event.json")]) == 1
    faults.errors = {}
    capsys.readouterr()

    assert main(["runs", "retry", "1", "--from-step", "update"]) == 1
    assert capsys.readouterr().err == (
        "error: step 'update' of run 1 failed with an ambiguous write: its record may exist in "
        "LeadSquared (check whether it did; --confirm-ambiguous (or the page's confirm box) "
        "retries anyway)\n")

    assert main(["runs", "retry", "1", "--from-step", "update", "--confirm-ambiguous"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run 2: succeeded — flow (")
    assert lines[1:4] == [
        "  trigger new_lead: retry of run 1 from step 'update'",
        "  1. find (find_lead): succeeded (reused from run 1)",
        "  2. note (update_lead): succeeded (reused from run 1)",
    ]
    assert lines[4].startswith("  3. update (update_lead): succeeded, ")

    assert main(["runs", "show", "1"]) == 0
    assert "  retried as run 2: succeeded\n" in capsys.readouterr().out
    assert main(["runs", "show", "2"]) == 0
    assert "  retry of run 1 from step 'update'\n" in capsys.readouterr().out

    assert main(["runs", "retry", "1", "--json"]) == 1
    assert capsys.readouterr().err == "error: run 1 was already retried: run 2 succeeded\n"


def test_lsq_runs_retry_json_and_the_workflow_file(
    cli_env: FakeClient, tmp_path: Path, faults: Faults, capsys: pytest.CaptureFixture[str],
) -> None:
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW.replace("\n    ", "\n"), encoding="utf-8")
    (tmp_path / "event.json").write_text(json.dumps(EVENT), encoding="utf-8")
    faults.errors = {"mx_Stage": transient()}
    assert main(["run", str(flow), "--event", str(tmp_path / "event.json")]) == 1
    faults.errors = {}
    moved = flow.rename(tmp_path / "moved.yaml")
    capsys.readouterr()

    assert main(["runs", "retry", "1"]) == 1
    assert capsys.readouterr().err == (
        f"error: run 1's workflow file {flow} is not found (give it with --workflow FILE)\n")
    assert main(["runs", "retry", "1", "--workflow", str(moved), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["id"], shown["status"], shown["retry_of"], shown["retry_from"],
            shown["note"]) == (2, "succeeded", 1, None, "retry of run 1")


def test_the_page_retries_with_the_served_workflow_of_the_runs_name(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore,
    flow: Workflow, first: int,
) -> None:
    from runtime.ui.serving import retry_action

    other = make_workflow(FLOW.replace("name: flow", "name: other"), "other.yaml")

    with pytest.raises(RetryRefused) as refused:
        retry_action(runner, [other])(first, "update", False)
    assert str(refused.value) == (
        f"workflow 'flow' is not served here (lsq runs retry {first} --workflow FILE)")
    with pytest.raises(RetryRefused, match="no run with id 99"):
        retry_action(runner, [flow])(99, None, False)
    retried = retry_action(runner, [other, flow])(first, "update", False)
    assert history.get_run(retried)["retry_of"] == first
