"""schemas/_meta/workflow.schema.json: valid 2020-12, documented, examples, anti-examples."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runtime.workflows.workflow import StaticSchemas, check_workflow, workflow_schema
from runtime.workflows.workflow_checks import WORKFLOW_SCHEMA_PATH

SCHEMA = workflow_schema()

MINIMAL: dict[str, Any] = {
    "name": "Welcome",
    "trigger": {"key": "new_lead"},
    "steps": [
        {
            "id": "welcome",
            "action": "send_email",
            "input": {"lead_id": "{{ trigger.ProspectID }}", "subject": "Hi"},
        }
    ],
}


def _properties(schema: Any, where: str = "#") -> Iterator[tuple[str, Any]]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield f"{where}/properties/{name}", sub
            yield from _properties(sub, f"{where}/properties/{name}")
        for name, sub in schema.get("$defs", {}).items():
            yield f"{where}/$defs/{name}", sub
            yield from _properties(sub, f"{where}/$defs/{name}")


def test_is_a_valid_2020_12_schema_with_the_conventional_id() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] == (
        "https://leadsquared-connector.local/schemas/_meta/workflow.schema.json"
    )
    assert WORKFLOW_SCHEMA_PATH.parts[-2:] == ("_meta", "workflow.schema.json")


def test_every_field_is_described() -> None:
    undocumented = [where for where, sub in _properties(SCHEMA) if not sub.get("description")]
    assert undocumented == []


@pytest.mark.parametrize("example", SCHEMA["examples"])
def test_examples_are_valid_workflows(example: dict[str, Any], schemas: StaticSchemas) -> None:
    assert check_workflow(example, schemas, name="example") == []


def test_minimal_workflow_is_valid(schemas: StaticSchemas) -> None:
    assert check_workflow(MINIMAL, schemas, name="w.yaml") == []


def _with(path: str, value: Any) -> dict[str, Any]:
    """MINIMAL with ``path`` (dotted; ints index lists) set, or removed when value is DELETE."""
    data = copy.deepcopy(MINIMAL)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target: Any = data
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
    return data


DELETE = object()

ANTI_EXAMPLES = [
    # (path, value, expected problem) - reason in the id
    ("name", DELETE, "w.yaml:name: required field is missing: add it"),
    ("name", "", "w.yaml:name: '' should be non-empty"),
    ("trigger", DELETE, "w.yaml:trigger: required field is missing: add it"),
    ("trigger.key", DELETE, "w.yaml:trigger.key: required field is missing: add it"),
    ("trigger.keys", "x", "w.yaml:trigger.keys: unknown field (did you mean 'key'?)"),
    ("trigger.config", [1], "w.yaml:trigger.config: [1] is not of type 'object'"),
    ("steps", [], "w.yaml:steps: [] should be non-empty"),
    (
        "steps.0.id",
        "SendWelcome",
        "w.yaml:steps[0].id: 'SendWelcome' is not snake_case (a-z, 0-9, _)",
    ),
    ("steps.0.id", DELETE, "w.yaml:steps[0].id: required field is missing: add it"),
    ("steps.0.action", DELETE, "w.yaml:welcome.action: required field is missing: add it"),
    (
        "steps.0.on_error",
        "retry",
        "w.yaml:welcome.on_error: 'retry' is not one of stop, continue",
    ),
    ("steps.0.when", 3, "w.yaml:welcome.when: 3 is not of type 'string', 'boolean'"),
    ("steps.0.input", ["a"], "w.yaml:welcome.input: ['a'] is not of type 'object'"),
    ("steps.0.inputs", {}, "w.yaml:welcome.inputs: unknown field (did you mean 'input'?)"),
    ("steps.0.connection", "", "w.yaml:welcome.connection: '' should be non-empty"),
    ("poll_interval", 0, "w.yaml:poll_interval: 0 is less than the minimum of 1"),
    ("poll_interval", "60", "w.yaml:poll_interval: '60' is not of type 'integer'"),
    ("conection", "prod.yaml", "w.yaml:conection: unknown field (did you mean 'connection'?)"),
    ("descripton", "x", "w.yaml:descripton: unknown field (did you mean 'description'?)"),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    ANTI_EXAMPLES,
    ids=[
        "name-required",
        "name-empty",
        "trigger-required",
        "trigger-key-required",
        "trigger-typo",
        "config-not-object",
        "no-steps",
        "id-not-snake-case",
        "id-required",
        "action-required",
        "on-error-enum",
        "when-type",
        "input-not-mapping",
        "input-typo",
        "connection-empty",
        "poll-interval-minimum",
        "poll-interval-integer",
        "connection-typo",
        "description-typo",
    ],
)
def test_anti_examples_are_reported(
    path: str, value: Any, expected: str, schemas: StaticSchemas
) -> None:
    assert expected in check_workflow(_with(path, value), schemas, name="w.yaml")


def test_optional_fields_are_accepted(schemas: StaticSchemas) -> None:
    data = copy.deepcopy(MINIMAL)
    data.update(description="d", connection="c.yaml")
    data["trigger"] = {"key": "lead_added_to_list", "config": {"list_id": "L1"}}
    data["poll_interval"] = 300
    data["steps"][0].update(when=True, on_error="continue", connection="other.yaml")
    assert check_workflow(data, schemas, name="w.yaml") == []
