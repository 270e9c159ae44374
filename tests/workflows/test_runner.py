"""The runner: when, rendering, validation, invocation, on_error, redaction, history."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.api.redaction import MASK
from runtime.plugin.manifest import Manifest
from runtime.store.history import HistoryStore
from runtime.workflows.runner import ClientPool, WorkflowRunner, mask_secret_fields
from runtime.workflows.workflow import Workflow

from .conftest import SECRET, WELCOME, FakeClient

EVENT = {"ProspectID": "lead-1", "FirstName": "Ada", "EmailAddress": "ada@example.com"}


@pytest.fixture
def history(tmp_path: Path) -> HistoryStore:
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        yield store


@pytest.fixture
def runner(
    fake_manifest: Manifest, fake_client: FakeClient, history: HistoryStore
) -> WorkflowRunner:
    return WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client), history)




def test_steps_render_from_trigger_and_earlier_steps(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], fake_client: FakeClient
) -> None:
    run = runner.run(make_workflow(WELCOME), EVENT)

    assert run is not None and run.status == "succeeded"
    assert [(s.step_id, s.status) for s in run.steps] == [("find", "succeeded"),
                                                           ("mail", "succeeded")]
    # schema default filled in by the invoke pipeline; the rendered input reaches the handler
    assert fake_client.calls == [
        ("find_lead", {"email": "ada@example.com", "limit": 1}),
        ("send_email", {"lead_id": "lead-ada", "subject": "Welcome, Ada!"}),
    ]
    assert run.steps[1].output == {"email_id": "mail-lead-ada", "echo": MASK}
    assert all(s.duration_ms is not None and s.started_at for s in run.steps)


def test_false_when_skips_the_step(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], fake_client: FakeClient
) -> None:
    run = runner.run(make_workflow(WELCOME), {**EVENT, "EmailAddress": "nobody@example.com"})

    assert run is not None and run.status == "succeeded"
    assert [(s.step_id, s.status) for s in run.steps] == [("find", "succeeded"),
                                                           ("mail", "skipped")]
    assert [name for name, _ in fake_client.calls] == ["find_lead"]


def three_steps(subject: str, on_error: str) -> str:
    return f"""
    name: three
    trigger: {{key: new_lead}}
    steps:
      - id: mail
        action: send_email
        on_error: {on_error}
        input: {{lead_id: "{{{{ trigger.ProspectID }}}}", subject: "{subject}"}}
      - id: update
        action: update_lead
        input: {{lead_id: "{{{{ trigger.ProspectID }}}}", fields: {{mx_Stage: Welcomed}}}}
    """


def test_failed_step_with_stop_ends_the_run(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore
) -> None:
    run = runner.run(make_workflow(three_steps("explode", "stop")), EVENT)

    assert run is not None and run.status == "failed"
    assert [(s.step_id, s.status) for s in run.steps] == [("mail", "failed"), ("update", "not_run")]
    error = run.steps[0].error
    assert error is not None
    assert error["category"] == "permanent"
    assert error["exception_type"] == "MXInvalidInputException"
    assert run.error == {"step": "mail", **error}
    stored = history.get_run(run.run_id)
    assert stored["status"] == "failed"
    assert [s["status"] for s in stored["steps"]] == ["failed", "not_run"]


def test_failed_step_with_continue_goes_on(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow]
) -> None:
    run = runner.run(make_workflow(three_steps("explode", "continue")), EVENT)

    assert run is not None and run.status == "completed_with_errors"
    assert [(s.step_id, s.status) for s in run.steps] == [("mail", "failed"),
                                                           ("update", "succeeded")]
    assert run.error is None


def test_handler_bug_is_an_internal_error_with_secrets_redacted(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore
) -> None:
    run = runner.run(make_workflow(three_steps("bug", "stop")), EVENT)

    assert run is not None and run.status == "failed"
    assert run.steps[0].error == {
        "type": "RuntimeError", "category": "internal", "message": f"handler bug with {MASK}",
    }
    dumped = json.dumps(history.get_run(run.run_id))
    assert SECRET not in dumped


def test_output_that_breaks_its_schema_fails_the_step(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow]
) -> None:
    run = runner.run(make_workflow(three_steps("bad output", "stop")), EVENT)

    assert run is not None
    assert run.steps[0].error["category"] == "output"
    assert run.steps[0].error["type"] == "OutputValidationError"


def test_input_that_breaks_its_schema_fails_before_the_handler(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], fake_client: FakeClient
) -> None:
    flow = make_workflow("""
        name: typed
        trigger: {key: new_lead}
        steps:
          - id: mail
            action: send_email
            input: {lead_id: "{{ trigger.EmailAddress }}", subject: Hi}
    """)
    run = runner.run(flow, {**EVENT, "EmailAddress": None})

    assert run is not None and run.status == "failed"
    assert run.steps[0].error["category"] == "input"
    assert "lead_id" in run.steps[0].error["message"]
    assert fake_client.calls == []


@pytest.mark.parametrize(
    "template",
    [
        "{{ trigger.__class__.__mro__ }}",
        "{{ trigger.FirstName.__class__ }}",
        "{{ trigger.FirstName.format(trigger) }}",
        "{{ steps.items.__self__ }}",
        "{{ ''.__class__.__base__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
    ],
    ids=["mro", "str-class", "format-call", "bound-method", "subclasses", "globals"],
)
def test_template_injection_is_a_mapping_error_at_run_time(
    runner: WorkflowRunner, fake_manifest: Manifest, fake_client: FakeClient, template: str
) -> None:
    from runtime.workflows.workflow import Step, TriggerSpec

    flow = Workflow(
        name="inject",
        trigger=TriggerSpec("new_lead"),
        steps=(Step("mail", "send_email", {"lead_id": "x", "subject": template}),),
    )
    run = runner.run(flow, EVENT)

    assert run is not None and run.status == "failed"
    assert run.steps[0].status == "failed"
    assert run.steps[0].error["category"] == "mapping"
    assert run.steps[0].error["message"].startswith("mail.input.subject: ")
    assert fake_client.calls == []


def test_undefined_value_is_a_mapping_error_naming_the_field(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow]
) -> None:
    run = runner.run(make_workflow(WELCOME), {"ProspectID": "lead-9", "FirstName": "Bo"})

    assert run is not None and run.status == "failed"
    assert run.steps[0].error["category"] == "mapping"
    assert run.steps[0].error["message"].startswith("find.input.email: undefined value")


def test_secrets_never_reach_history(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore
) -> None:
    flow = make_workflow("""
        name: secrets
        trigger: {key: new_lead}
        steps:
          - id: mail
            action: send_email
            input:
              lead_id: "{{ trigger.ProspectID }}"
              subject: "key {{ trigger.FirstName }}"
              api_token: "{{ trigger.EmailAddress }}"
              headers: {Authorization: "Bearer {{ trigger.FirstName }}"}
    """)
    event = {**EVENT, "FirstName": SECRET, "EmailAddress": "plain-token-value"}
    run = runner.run(flow, event)

    assert run is not None and run.status == "succeeded"
    stored = history.get_run(run.run_id)
    text = json.dumps(stored)
    assert SECRET not in text
    assert "plain-token-value" not in json.dumps(stored["steps"])  # only in the event itself
    assert stored["steps"][0]["input"] == {
        "lead_id": "lead-1",
        "subject": f"key {MASK}",
        "api_token": MASK,
        "headers": {"Authorization": f"Bearer {MASK}"},
    }
    assert stored["event"]["FirstName"] == MASK
    assert stored["steps"][0]["output"]["echo"] == MASK


def test_each_event_key_runs_once(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], fake_client: FakeClient,
    history: HistoryStore,
) -> None:
    flow = make_workflow(WELCOME)
    first = runner.run(flow, EVENT, origin="inbox", instance_id="new_lead-" + "0" * 20,
                       event_key="lead-1@t#0")
    again = runner.run(flow, EVENT, origin="inbox", instance_id="new_lead-" + "0" * 20,
                       event_key="lead-1@t#0")
    manual = runner.run(flow, EVENT)

    assert first is not None and again is None and manual is not None
    assert [name for name, _ in fake_client.calls] == ["find_lead", "send_email"] * 2
    assert [r["origin"] for r in history.list_runs()] == ["event", "inbox"]


def test_runner_without_history_still_reports(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[[str], Workflow]
) -> None:
    runner = WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client))
    run = runner.run(make_workflow(WELCOME), EVENT)

    assert run is not None and run.run_id is None and run.status == "succeeded"


def test_step_connection_gets_its_own_client(
    fake_manifest: Manifest, make_workflow: Callable[[str], Workflow], tmp_path: Path
) -> None:
    clients: dict[str | None, FakeClient] = {}

    def factory(path: str | None) -> FakeClient:
        clients[path] = FakeClient(secret=f"secret-of-{Path(path).stem if path else 'default'}")
        return clients[path]

    flow = make_workflow("""
        name: two accounts
        trigger: {key: new_lead}
        steps:
          - id: mine
            action: update_lead
            input: {lead_id: "{{ trigger.ProspectID }}", fields: {mx_A: "1"}}
          - id: theirs
            action: update_lead
            connection: other.yaml
            input: {lead_id: "{{ trigger.ProspectID }}", fields: {mx_A: "2"}}
    """)
    pool = ClientPool(factory)
    run = WorkflowRunner(fake_manifest, pool).run(flow, EVENT)
    pool.close()

    assert run is not None and run.status == "succeeded"
    other = str(tmp_path / "other.yaml")
    assert set(clients) == {None, other}
    assert clients[None].calls[0][1]["fields"] == {"mx_A": "1"}
    assert clients[other].calls[0][1]["fields"] == {"mx_A": "2"}
    assert all(client.closed for client in clients.values())


def test_mask_secret_fields_follows_nested_schemas() -> None:
    schema = {
        "type": "object",
        "properties": {
            "password": {"type": "string", "secret": True},
            "list": {"type": "array", "items": {"properties": {"pin": {"writeOnly": True}}}},
        },
        "allOf": [{"properties": {"token": {"writeOnly": True}}}],
    }
    value = {"password": "p", "list": [{"pin": "1", "name": "n"}], "token": "t", "other": "o"}

    assert mask_secret_fields(value, schema) == {
        "password": MASK, "list": [{"pin": MASK, "name": "n"}], "token": MASK, "other": "o",
    }
    assert value["password"] == "p"  # a copy


class _Killed(BaseException):
    """Stands in for the process dying mid-step (not an Exception: the runner cannot catch it)."""


def _dying_runner(
    fake_manifest: Manifest, fake_client: FakeClient, history: HistoryStore, calls: list[str],
    *, dies: Callable[[str], bool], answers: dict[str, dict],
) -> WorkflowRunner:
    """A runner whose steps answer ``answers[action]``, recording each action in ``calls``;
    the process "dies" (:class:`_Killed`) in a step where ``dies(action)`` holds."""

    def invoke(manifest: Manifest, action: str, inputs: dict, client: FakeClient) -> dict:
        calls.append(action)
        if dies(action):
            raise _Killed
        return answers[action]

    return WorkflowRunner(fake_manifest, ClientPool(lambda path: fake_client), history,
                          invoke=invoke)


def test_a_run_dying_after_its_first_step_started_is_interrupted_never_rerun(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[[str], Workflow],
    history: HistoryStore,
) -> None:
    calls: list[str] = []
    runner = _dying_runner(fake_manifest, fake_client, history, calls,
                           dies=lambda action: action == "send_email",
                           answers={"find_lead": {"found": True,
                                                  "lead": {"ProspectID": "lead-ada"}}})
    flow = make_workflow(WELCOME)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    with pytest.raises(_Killed):
        runner.run(flow, EVENT, origin="inbox", **key)
    (stored,) = history.list_runs()
    assert stored["status"] == "running"  # as a killed process leaves it
    # the first step that may write was recorded (durably) before it ran, with the read
    # before it (its input and output kept)
    steps = history.get_run(stored["id"])["steps"]
    assert [(s["action"], s["status"]) for s in steps] == [
        ("find_lead", "succeeded"), ("send_email", "running")]
    assert steps[0]["output"] == {"found": True, "lead": {"ProspectID": "lead-ada"}}

    assert runner.run(flow, EVENT, origin="inbox", **key) is None  # never run again
    assert calls == ["find_lead", "send_email"]
    run = history.get_run(stored["id"])
    assert run["status"] == "interrupted" and run["error"]["category"] == "interrupted"


def test_a_run_dying_in_a_read_before_any_write_is_run_again_from_the_start(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[[str], Workflow],
    history: HistoryStore,
) -> None:
    calls: list[str] = []
    runner = _dying_runner(  # dies in find_lead: nothing can have been written
        fake_manifest, fake_client, history, calls, dies=lambda action: len(calls) == 1,
        answers={"find_lead": {"found": True, "lead": {"ProspectID": "lead-ada"}},
                 "send_email": {"sent": True}})
    saves: list[bool] = []
    save_steps = history.save_steps
    history.save_steps = lambda run_id, steps, *, durable: (  # type: ignore[method-assign]
        saves.append(durable), save_steps(run_id, steps, durable=durable))[1]
    flow = make_workflow(WELCOME)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    with pytest.raises(_Killed):
        runner.run(flow, EVENT, origin="inbox", **key)
    (stored,) = history.list_runs()
    assert stored["status"] == "running" and history.get_run(stored["id"])["steps"] == []
    assert saves == []  # a read starts without a commit

    again = runner.run(flow, EVENT, origin="inbox", **key)  # the redelivery runs it again
    assert again is not None and again.run_id == stored["id"] and again.status == "succeeded"
    assert calls == ["find_lead", "find_lead", "send_email"]
    assert saves == [True]  # one durable commit, before send_email


def test_history_holds_every_step_of_a_finished_run(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore
) -> None:
    record = runner.run(make_workflow(WELCOME), {**EVENT, "EmailAddress": "nobody@example.com"})

    assert record is not None
    stored = history.get_run(record.run_id)
    assert stored["status"] == "succeeded"
    assert stored["steps"] == [
        {"position": position, **step.to_dict()} for position, step in enumerate(record.steps)
    ]


READS = """
    name: reads
    trigger: {key: new_lead}
    steps:
      - id: find
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
      - id: again
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
"""
WRITES_FIRST = """
    name: writes-first
    trigger: {key: new_lead}
    steps:
      - id: mail
        action: send_email
        input: {lead_id: "{{ trigger.ProspectID }}", subject: "Hi"}
      - id: find
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
"""


def _count_commits(history: HistoryStore) -> list[bool | None]:
    """The ``durable`` argument of every write transaction the history opens from now on."""
    commits: list[bool | None] = []
    transaction = history.db.transaction

    def counted(*, durable: bool | None = None) -> Any:
        commits.append(durable)
        return transaction(durable=durable)

    history.db.transaction = counted  # type: ignore[method-assign]
    return commits


def test_a_run_that_only_reads_is_recorded_in_one_commit_and_repeats_run_nothing(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], fake_client: FakeClient,
    history: HistoryStore,
) -> None:
    flow = make_workflow(READS)
    commits = _count_commits(history)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    first = runner.run(flow, EVENT, origin="inbox", **key)

    assert first is not None and first.status == "succeeded" and first.run_id is not None
    assert commits == [False]  # the finished run with its steps, once
    stored = history.get_run(first.run_id)
    assert stored["status"] == "succeeded" and stored["event_key"] == "lead-1@t#0"
    assert stored["steps"] == [
        {"position": position, **step.to_dict()} for position, step in enumerate(first.steps)
    ]
    assert runner.run(flow, EVENT, origin="inbox", **key) is None  # looked up: nothing runs
    assert [name for name, _ in fake_client.calls] == ["find_lead"] * 2
    assert commits == [False]
    manual = [runner.run(flow, EVENT), runner.run(flow, EVENT)]  # no event key: both recorded
    assert all(m is not None and m.run_id is not None for m in manual)
    assert len(history.list_runs()) == 3


def test_a_read_only_run_settles_a_crashed_running_run_of_its_event(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore,
) -> None:
    flow = make_workflow(READS)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    crashed = history.start_run(workflow="reads", trigger_key="new_lead", origin="inbox",
                                event=EVENT, **key)  # as an older lsq, killed mid-read, left it
    again = runner.run(flow, EVENT, origin="inbox", **key)

    assert again is not None and again.run_id == crashed and again.status == "succeeded"
    assert [s["status"] for s in history.get_run(crashed)["steps"]] == ["succeeded"] * 2
    assert runner.run(flow, EVENT, origin="inbox", **key) is None


def test_record_run_never_repeats_an_event_and_interrupts_a_crashed_write(
    history: HistoryStore,
) -> None:
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "k"}
    finished = {"started_at": "a", "status": "succeeded", "finished_at": "b", "duration_ms": 1}
    run_id = history.record_run(workflow="w", trigger_key="new_lead", origin="inbox",
                                event={}, **key, **finished)
    assert run_id is not None
    assert history.record_run(workflow="w", trigger_key="new_lead", origin="inbox",
                              event={}, **key, **finished) is None
    for instance in (None, "other-instance"):  # without an instance NULLs never conflict
        other = {**key, "instance_id": instance, "event_key": "crashed"}
        crashed = history.start_run(workflow="w", trigger_key="new_lead", origin="inbox",
                                    event={}, **other)
        assert crashed is not None
        history.save_step(crashed, 0, {"step_id": "mail", "action": "send_email",
                                       "status": "running"})
        assert history.record_run(workflow="w", trigger_key="new_lead", origin="inbox",
                                  event={}, **other, **finished) is None
        assert history.get_run(crashed)["status"] == "interrupted"
    assert history.count() == 3


def test_a_run_whose_first_step_writes_starts_with_one_durable_commit(
    fake_manifest: Manifest, fake_client: FakeClient, make_workflow: Callable[[str], Workflow],
    history: HistoryStore,
) -> None:
    calls: list[str] = []
    runner = _dying_runner(  # dies in send_email: it may have written
        fake_manifest, fake_client, history, calls, dies=lambda action: len(calls) == 1,
        answers={"send_email": {"email_id": "m"}, "find_lead": {"found": False}})
    flow = make_workflow(WRITES_FIRST)
    commits = _count_commits(history)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    with pytest.raises(_Killed):
        runner.run(flow, EVENT, origin="inbox", **key)
    assert commits == [True]  # the run row and its first step's mark, together, on disk
    (stored,) = history.list_runs()
    assert stored["status"] == "running"
    assert [(s["step_id"], s["status"]) for s in history.get_run(stored["id"])["steps"]] == [
        ("mail", "running")]

    assert runner.run(flow, EVENT, origin="inbox", **key) is None  # never run again
    assert calls == ["send_email"]
    assert history.get_run(stored["id"])["status"] == "interrupted"

    done = runner.run(flow, EVENT, origin="inbox", **{**key, "event_key": "lead-1@t#1"})
    assert done is not None and done.status == "succeeded"
    # the repeat (its start, durable as it would have marked the step: it found the run and
    # interrupted it), then the new event: the mark with the run row, the finish
    assert commits == [True, True, True, False]
    assert [s["status"] for s in history.get_run(done.run_id)["steps"]] == ["succeeded"] * 2


@pytest.mark.parametrize(("when", "commits", "status"), [
    ("trigger.EmailAddress", [True, False], "succeeded"),  # holds: the mark rides the start
    ("trigger.FirstName == 'Bob'", [False, False], "skipped"),  # does not hold: no mark
    ("(trigger.FirstName | length) / 0 > 1", [False, False], "failed"),  # fails as it runs
])
def test_a_first_step_whose_when_holds_over_the_event_starts_with_one_durable_commit(
    runner: WorkflowRunner, make_workflow: Callable[[str], Workflow], history: HistoryStore,
    when: str, commits: list[bool], status: str,
) -> None:
    flow = make_workflow(WRITES_FIRST.replace(
        "      - id: mail\n        action: send_email\n",
        f"      - id: mail\n        action: send_email\n        when: \"{when}\"\n"))
    counted = _count_commits(history)
    key = {"instance_id": "new_lead-" + "0" * 20, "event_key": "lead-1@t#0"}
    record = runner.run(flow, EVENT, origin="inbox", **key)

    assert record is not None and record.steps[0].status == status
    assert counted == commits
