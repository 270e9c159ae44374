"""Static checks of workflow files: every broken mapping is reported with its location."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.errors import WorkflowError
from runtime.workflows.workflow import (
    ManifestSchemas,
    StaticSchemas,
    Step,
    TriggerSpec,
    check_workflow,
    load_workflow,
)

Writer = Callable[..., Path]

HEADER = """\
name: Welcome new leads
trigger:
  key: new_lead
steps:
"""


def problems(write: Writer, schemas: StaticSchemas, steps: str, header: str = HEADER) -> list[str]:
    return check_workflow(write(header + steps), schemas, name="flow.yaml")


# ---------------------------------------------------------------- a valid workflow


VALID = """\
name: Welcome new leads
description: Find the lead's owner, send a welcome email, then a follow-up task.
connection: ../connections/prod.yaml
trigger:
  key: new_lead
steps:
  - id: find
    action: find_lead
    input:
      email: "{{ trigger.EmailAddress }}"
  - id: welcome
    action: send_email
    when: steps.find.found and trigger.EmailAddress
    input:
      lead_id: "{{ steps.find.lead.ProspectID }}"
      subject: "Welcome, {{ trigger.FirstName | default('friend') }}!"
      body: "Tags: {{ trigger.Tags | join(', ') }}; last {{ steps.find.lead.Activities[0].Type }}"
      cc: ["owner@example.com", "{{ steps.find.lead.Owner.Name }}"]
      priority: "{{ steps.find.lead.Activities[0].Score }}"
  - id: follow_up
    action: create_task
    on_error: continue
    connection: other.yaml
    input:
      lead_id: "{{ trigger.ProspectID }}"
      owner_id: "{{ trigger.Owner.Id }}"
      due_in_days: 2
      task:
        Name: "Call {{ trigger.FirstName }} ({{ steps.welcome.email_id }})"
  - id: enrich
    action: update_lead
    input:
      lead_id: "{{ trigger.ProspectID }}"
      fields:
        Score: "{{ trigger.Score + 10 }}"
        mx_City: Pune
        mx_Source: "{{ trigger.Phone }}"
"""


def test_a_valid_workflow_has_no_problems(write_workflow: Writer, schemas: StaticSchemas) -> None:
    assert check_workflow(write_workflow(VALID), schemas) == []


def test_load_workflow_builds_the_model(write_workflow: Writer, schemas: StaticSchemas) -> None:
    path = write_workflow(VALID)
    workflow = load_workflow(path, schemas)
    assert workflow.name == "Welcome new leads"
    assert workflow.trigger == TriggerSpec("new_lead", {})
    assert [s.id for s in workflow.steps] == ["find", "welcome", "follow_up", "enrich"]
    assert workflow.connection == str((path.parent / "../connections/prod.yaml").resolve())
    assert workflow.poll_interval is None
    assert workflow.source == str(path)
    find, welcome, follow_up, _ = workflow.steps
    assert find == Step("find", "find_lead", {"email": "{{ trigger.EmailAddress }}"})
    assert welcome.when == "steps.find.found and trigger.EmailAddress"
    assert welcome.on_error == "stop"
    assert follow_up.on_error == "continue"
    assert follow_up.connection == str(path.parent / "other.yaml")
    assert follow_up.input["due_in_days"] == 2


def test_load_workflow_raises_with_every_problem(
    write_workflow: Writer, schemas: StaticSchemas
) -> None:
    path = write_workflow(
        HEADER
        + """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectId }}"
"""
    )
    with pytest.raises(WorkflowError) as caught:
        load_workflow(path, schemas)
    assert caught.value.problems == [
        f"{path}:welcome.input.lead_id: trigger.ProspectId: unknown field 'ProspectId' in the"
        " 'new_lead' event (did you mean 'ProspectID'?)",
        f"{path}:welcome.input.subject: required input is missing: add it",
    ]
    assert caught.value.to_dict()["category"] == "workflow"


def test_data_can_be_checked_without_a_file(schemas: StaticSchemas) -> None:
    data = {"name": "x", "trigger": {"key": "new_lead"}, "steps": [{"id": "a", "action": "nope"}]}
    assert check_workflow(data, schemas, name="inline") == [
        "inline:a.action: unknown action 'nope'"
    ]
    assert load_workflow(
        {
            "name": "x",
            "trigger": {"key": "new_lead"},
            "steps": [
                {"id": "a", "action": "find_lead", "input": {"lead_id": "{{ trigger.ProspectID }}"}}
            ],
        },
        schemas,
    ).steps[0].input == {"lead_id": "{{ trigger.ProspectID }}"}


# ---------------------------------------------------------------- one table of checks


@dataclass(frozen=True)
class Case:
    """A workflow (``steps`` under ``header``) and every problem ``lsq validate`` reports."""

    id: str
    steps: str
    expected: list[str]
    header: str = HEADER


POLLING = HEADER.replace("key: new_lead", "key: lead_added_to_list\n  config: {list_id: L1}")
ONE_STEP = "  - {id: a, action: find_lead, input: {lead_id: '{{ trigger.ListId }}'}}\n"

CASES = [
    # -- the broken mappings every user meets first
    Case("unknown-field", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectID }}"
      subject: "Hi {{ trigger.Owner.Nmae }}"
""", ["flow.yaml:welcome.input.subject: trigger.Owner.Nmae: unknown field 'Nmae' in "
      "trigger.Owner (did you mean 'Name'?)"]),
    Case("unknown-step", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ steps.fnd.lead.ProspectID }}"
      subject: Hello
""", ["flow.yaml:welcome.input.lead_id: steps.fnd.lead.ProspectID: unknown step 'fnd'"]),
    Case("forward-reference", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ steps.find.lead.ProspectID }}"
      subject: Hello
  - id: find
    action: find_lead
    input:
      email: "{{ trigger.EmailAddress }}"
""", ["flow.yaml:welcome.input.lead_id: steps.find.lead.ProspectID: step 'find' runs after "
      "this step (forward reference)"]),
    Case("object-into-string-field", """\
  - id: find
    action: find_lead
    input:
      email: "{{ trigger.EmailAddress }}"
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ steps.find.lead }}"
      subject: Hello
""", ["flow.yaml:welcome.input.lead_id: steps.find.lead is an object, but this field expects "
      "a string"]),
    Case("missing-required-input", """\
  - id: welcome
    action: send_email
    input:
      subject: Hello
""", ["flow.yaml:welcome.input.lead_id: required input is missing: add it"]),
    Case("template-syntax-error", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectID }"
      subject: "{% if trigger.Score %}VIP"
""", ["flow.yaml:welcome.input.lead_id: template syntax error: unexpected '}' (line 1)",
      "flow.yaml:welcome.input.subject: template syntax error: Unexpected end of template. "
      "Jinja was looking for the following tags: 'elif' or 'else' or 'endif'. The innermost "
      "block that needs to be closed is 'if'. (line 1)"]),
    # -- references
    Case("self-reference", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectID }}"
      subject: "again {{ steps.welcome.email_id }}"
""", ["flow.yaml:welcome.input.subject: steps.welcome.email_id: step 'welcome' cannot use its "
      "own output"]),
    Case("unknown-step-suggests-an-earlier-one", """\
  - id: find_owner
    action: find_lead
    input: {email: "{{ trigger.EmailAddress }}"}
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ steps.find_ownr.lead.ProspectID }}"
      subject: Hi
""", ["flow.yaml:welcome.input.lead_id: steps.find_ownr.lead.ProspectID: unknown step "
      "'find_ownr' (did you mean 'find_owner'?)"]),
    Case("references-walk-items-allof-and-open-objects", """\
  - id: find
    action: find_lead
    input: {lead_id: "{{ trigger.ProspectID }}"}
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.AnyCustomField }}"
      subject: "{{ steps.find.lead.Activities[0].Type }} {{ steps.find.lead.Activities.0.Tpye }}"
      body: "{{ steps.find.lead.Tags[0].Name }} {{ steps.find.found.value }}"
""", ["flow.yaml:welcome.input.subject: steps.find.lead.Activities[0].Tpye: unknown field "
      "'Tpye' in steps.find.lead.Activities[0] (did you mean 'Type'?)",
      "flow.yaml:welcome.input.body: steps.find.lead.Tags[0].Name: steps.find.lead.Tags[0] is a "
      "string; it has no field 'Name'",
      "flow.yaml:welcome.input.body: steps.find.found.value: steps.find.found is a boolean; it "
      "has no field 'value'"], header=POLLING),
    Case("loop-variables-and-methods-are-not-fields", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectID.strip() }}"
      subject: "{% for t in trigger.Tags %}{{ t.upper() }} {{ loop.index }}{% endfor %}"
      body: "{{ trigger.FirstName.lower() }} {{ trigger.Owner.get('Name') }}"
""", []),
    Case("object-interpolated-into-text", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.ProspectID }}"
      subject: "Owner: {{ trigger.Owner }} tags {{ trigger.Tags }} ok {{ trigger.Tags | join }}"
""", ["flow.yaml:welcome.input.subject: trigger.Owner is an object; it cannot be put into text "
      "(use '| tojson' or '| join')",
      "flow.yaml:welcome.input.subject: trigger.Tags is a list; it cannot be put into text (use "
      "'| tojson' or '| join')"]),
    Case("unknown-names-and-forbidden-tags", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ inputs.lead_id }}"
      subject: "{% include 'x.txt' %}"
      body: "{{ trigger.FirstName | shout }}"
""", ["flow.yaml:welcome.input.lead_id: not allowed: unknown name 'inputs' (a mapping can use: "
      "trigger, steps)",
      "flow.yaml:welcome.input.subject: not allowed: 'include' is not allowed in mappings",
      "flow.yaml:welcome.input.body: template syntax error: No filter named 'shout'. (line 1)"]),
    # -- types
    Case("type-mismatches", """\
  - id: find
    action: find_lead
    input: {email: "{{ trigger.EmailAddress }}"}
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.Tags }}"
      subject: "{{ steps.find.found }}"
      body: "{{ trigger.Score }}"
      cc: "{{ trigger.FirstName }}"
      priority: "{{ trigger.FirstName }}"
  - id: task
    action: create_task
    input:
      lead_id: "{{ trigger.Tags | join(',') }}"
      due_in_days: "in {{ trigger.Score }} days"
      task: "{{ trigger.FirstName }}"
""", ["flow.yaml:welcome.input.lead_id: trigger.Tags is a list, but this field expects a string",
      "flow.yaml:welcome.input.subject: steps.find.found is a boolean, but this field expects a "
      "string",
      "flow.yaml:welcome.input.body: trigger.Score is an integer, but this field expects a string",
      "flow.yaml:welcome.input.cc: trigger.FirstName is a string, but this field expects a list",
      "flow.yaml:welcome.input.priority: trigger.FirstName is a string, but this field expects "
      "an integer",
      "flow.yaml:task.input.due_in_days: text, but this field expects an integer (a value that "
      "is one '{{ expression }}' keeps its type)",
      "flow.yaml:task.input.task: trigger.FirstName is a string, but this field expects an "
      "object"]),
    Case("compatible-types-are-not-pedantic", """\
  - id: welcome
    action: send_email
    input:
      lead_id: "{{ trigger.LastName }}"
      subject: "{{ trigger.Score }} points"
      body: "{{ trigger.Score | string }}"
      priority: "{{ trigger.Tags | length }}"
      cc: "{{ [trigger.FirstName, 'x'] }}"
  - id: enrich
    action: update_lead
    input:
      lead_id: "{{ trigger.ProspectID if trigger.ProspectID else 'none' }}"
      fields: "{{ trigger.Owner }}"
""", []),
    Case("literal-values-are-validated", """\
  - id: welcome
    action: send_email
    input:
      lead_id: +919876543210
      subject: [a, b]
      priority: 9
      cc: [ok, 5]
""", ["flow.yaml:welcome.input.lead_id: 919876543210 is not of type 'string' (quote it in YAML "
      "to keep it text)",
      "flow.yaml:welcome.input.subject: a list, but this field expects a string",
      "flow.yaml:welcome.input.priority: 9 is greater than the maximum of 5",
      "flow.yaml:welcome.input.cc[1]: 5 is not of type 'string' (quote it in YAML to keep it "
      "text)"]),
    # -- inputs
    Case("unknown-inputs-and-nested-fields", """\
  - id: task
    action: create_task
    input:
      lead_id: "{{ trigger.ProspectID }}"
      owner: "{{ trigger.Owner.Id }}"
      task:
        Notes: "{{ trigger.FirstName }}"
        Nmae: Call
  - id: enrich
    action: update_lead
    input:
      lead_id: "{{ trigger.ProspectID }}"
      fields:
        mx_Anything: "{{ trigger.FirstName }}"
        Firstname: x
""", ["flow.yaml:task.input.owner: unknown input 'owner' for action 'create_task' (did you mean "
      "'owner_id'?)",
      "flow.yaml:task.input.task.Nmae: unknown field 'Nmae' (did you mean 'Name'?)",
      "flow.yaml:task.input.task.Name: required field is missing: add it"]),
    Case("one-of-required-inputs", """\
  - id: find
    action: find_lead
""", ["flow.yaml:find.input: missing inputs: add email, phone or lead_id"]),
    Case("one-of-means-only-one", """\
  - id: find
    action: find_lead
    input: {email: a@example.com, lead_id: "{{ trigger.ProspectID }}"}
""", ["flow.yaml:find.input: email and lead_id are both given: keep only one"]),
    # -- conditions
    Case("when-is-checked-like-a-template", """\
  - id: find
    action: find_lead
    when: steps.find.found
    input: {email: "{{ trigger.EmailAddress }}"}
  - id: welcome
    action: send_email
    when: "trigger.Scor > 5 and steps.later.x"
    input: {lead_id: x, subject: y}
  - id: later
    action: send_email
    when: "{{ trigger.Score }} > 5"
    input: {lead_id: x, subject: y}
  - id: broken
    action: send_email
    when: "trigger.Score >"
    input: {lead_id: x, subject: y}
""", ["flow.yaml:find.when: steps.find.found: step 'find' cannot use its own output",
      "flow.yaml:welcome.when: trigger.Scor: unknown field 'Scor' in the 'new_lead' event (did "
      "you mean 'Score'?)",
      "flow.yaml:welcome.when: steps.later.x: step 'later' runs after this step (forward "
      "reference)",
      "flow.yaml:later.when: a condition must be one expression, not text",
      "flow.yaml:broken.when: template syntax error: unexpected 'end of print statement' (line "
      "1)"]),
    # -- keys, trigger
    Case("unknown-keys-suggest", """\
  - id: welcome
    action: send_emails
    input: {lead_id: "{{ trigger.Whatever }}", subject: hi}
""", ["flow.yaml:trigger.key: unknown trigger 'new_leads' (did you mean 'new_lead'?)",
      "flow.yaml:welcome.action: unknown action 'send_emails' (did you mean 'send_email'?)"],
         header=HEADER.replace("new_lead", "new_leads")),
    Case("trigger-config-takes-plain-values", ONE_STEP, [
        "flow.yaml:trigger.config.list_id: trigger config takes plain values, not templates",
        "flow.yaml:trigger.config.lst: unknown field (did you mean 'list_id'?)",
    ], header=HEADER.replace(
        "key: new_lead",
        "key: lead_added_to_list\n  config: {list_id: '{{ x }}', lst: 1}\npoll_interval: 60")),
    Case("trigger-config-required", ONE_STEP,
         ["flow.yaml:trigger.config.list_id: required field is missing: add it"],
         header=HEADER.replace("key: new_lead", "key: lead_added_to_list")),
    Case("poll-interval-of-an-instant-trigger",
         "  - {id: a, action: find_lead, input: {email: x}}\npoll_interval: 60\n",
         ["flow.yaml:poll_interval: trigger 'new_lead' is instant (webhook); poll_interval is "
          "for polling triggers"]),
    Case("every-problem-is-reported-together", """\
  - id: welcome
    action: send_email
    on_eror: stop
    input:
      lead_id: "{{ steps.nope.id }}"
      subject: "{{ trigger.Owner }}"
  - id: welcome
    action: create_task
    input: {lead_id: "{{ trigger.ProspectID }", task: {Name: x}}
""", ["flow.yaml:steps[0].on_eror: unknown field (did you mean 'on_error'?)",
      "flow.yaml:steps[0].input.lead_id: steps.nope.id: unknown step 'nope'",
      "flow.yaml:steps[0].input.subject: trigger.Owner is an object, but this field expects a "
      "string",
      "flow.yaml:steps[1].id: duplicate step id 'welcome' (also steps[0])",
      "flow.yaml:steps[1].input.lead_id: template syntax error: unexpected '}' (line 1)"]),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_checks(case: Case, write_workflow: Writer, schemas: StaticSchemas) -> None:
    assert problems(write_workflow, schemas, case.steps, header=case.header) == case.expected


def test_unreadable_and_invalid_files(tmp_path: Path, schemas: StaticSchemas) -> None:
    missing = tmp_path / "missing.yaml"
    assert check_workflow(missing, schemas) == [
        f"{missing}: cannot be read: No such file or directory"
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: [\n", encoding="utf-8")
    assert check_workflow(bad, schemas) == [f"{bad}:line 2: invalid YAML: a '[' is not closed"]
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("name: x\nname: y\n", encoding="utf-8")
    assert check_workflow(duplicate, schemas) == [
        f"{duplicate}:line 2: invalid YAML: duplicate key 'name'"
    ]
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n", encoding="utf-8")
    assert check_workflow(listing, schemas, name="list.yaml") == [
        "list.yaml: a workflow must be a YAML mapping, not array"
    ]
    with pytest.raises(WorkflowError, match="invalid YAML: duplicate key 'name'"):
        load_workflow(duplicate, schemas)


# ---------------------------------------------------------------- the real manifest


def _schema_file(root: Path, relpath: str, schema: dict[str, Any]) -> None:
    from runtime.plugin.schemas import schema_id

    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"$id": schema_id(relpath), **schema}), encoding="utf-8")


def test_manifest_adapter_reads_resolved_schemas(tmp_path: Path) -> None:
    manifest_module = pytest.importorskip("runtime.plugin.manifest")
    schemas_module = pytest.importorskip("runtime.plugin.schemas")
    root = tmp_path / "schemas"
    owner = {"type": "object", "properties": {"Id": {"type": "string"}}}
    _schema_file(
        root,
        "common/lead.json",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"ProspectID": {"type": "string"}, "Owner": {"$ref": "#/$defs/owner"}},
            "$defs": {"owner": owner},
        },
    )
    _schema_file(root, "triggers/new_lead.config.json", {"type": "object"})
    _schema_file(root, "triggers/new_lead.output.json", {"$ref": "../common/lead.json"})
    _schema_file(
        root,
        "actions/send_email.input.json",
        {
            "type": "object",
            "properties": {"lead_id": {"type": "string"}},
            "required": ["lead_id"],
            "additionalProperties": False,
        },
    )
    _schema_file(root, "actions/send_email.output.json", {"type": "object"})
    store = schemas_module.SchemaStore(root)
    assert store.problems == []

    def operation(key: str, kind: str) -> Any:
        return manifest_module.Operation(
            key=key,
            kind=kind,
            display_name=key.title(),
            group="Leads",
            description="test",
            endpoint="POST LeadManagement.svc/Lead.Create",
            handler_name=f"operations.{key}",
            sample_input={},
            sample_output={},
            schemas=store,
        )

    manifest = SimpleNamespace(
        actions=(operation("send_email", "action"),),
        triggers=(operation("new_lead", "instant"),),
        schemas=store,
    )
    adapter = ManifestSchemas(manifest)
    assert adapter.keys("action") == ("send_email",)
    assert adapter.trigger_kind("new_lead") == "instant"
    assert adapter.output_schema("action", "missing") is None
    data = {
        "name": "x",
        "trigger": {"key": "new_lead"},
        "steps": [
            {"id": "a", "action": "send_email", "input": {"lead_id": "{{ trigger.Owner.Id }}"}},
            {"id": "b", "action": "send_email", "input": {"lead_id": "{{ trigger.Owner.Idd }}"}},
            {"id": "c", "action": "send_email", "input": {"lead_id": "{{ trigger.Owner }}"}},
        ],
    }
    assert check_workflow(data, adapter, name="w.yaml") == [
        "w.yaml:b.input.lead_id: trigger.Owner.Idd: unknown field 'Idd' in trigger.Owner "
        "(did you mean 'Id'?)",
        "w.yaml:c.input.lead_id: trigger.Owner is an object, but this field expects a string",
    ]
