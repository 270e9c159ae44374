"""Hand-written operation schemas (no manifest needed) and a workflow-file writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent

import pytest

from runtime.workflows.workflow import StaticSchemas

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}

LEAD_EVENT = {
    "type": "object",
    "properties": {
        "ProspectID": STRING,
        "FirstName": STRING,
        "LastName": NULLABLE_STRING,
        "EmailAddress": NULLABLE_STRING,
        "Phone": NULLABLE_STRING,
        "Score": {"type": "integer"},
        "Tags": {"type": "array", "items": STRING},
        "Owner": {
            "type": "object",
            "properties": {"Id": STRING, "Name": STRING},
            "required": ["Id"],
        },
    },
}

FIND_LEAD_OUTPUT = {
    "type": "object",
    "properties": {
        "found": {"type": "boolean"},
        "lead": {
            "allOf": [
                LEAD_EVENT,
                {
                    "properties": {
                        "Activities": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"Type": STRING, "Score": {"type": "integer"}},
                            },
                        }
                    }
                },
            ]
        },
    },
    "required": ["found"],
}


def operation_schemas() -> StaticSchemas:
    return StaticSchemas(
        actions={
            "find_lead": {
                "input": {
                    "type": "object",
                    "properties": {"email": STRING, "phone": STRING, "lead_id": STRING},
                    "additionalProperties": False,
                    "oneOf": [
                        {"required": ["email"]},
                        {"required": ["phone"]},
                        {"required": ["lead_id"]},
                    ],
                },
                "output": FIND_LEAD_OUTPUT,
            },
            "send_email": {
                "input": {
                    "type": "object",
                    "properties": {
                        "lead_id": STRING,
                        "subject": STRING,
                        "body": STRING,
                        "cc": {"type": "array", "items": STRING},
                        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                    },
                    "required": ["lead_id", "subject"],
                    "additionalProperties": False,
                },
                "output": {"type": "object", "properties": {"email_id": STRING}},
            },
            "create_task": {
                "input": {
                    "type": "object",
                    "properties": {
                        "lead_id": STRING,
                        "owner_id": STRING,
                        "due_in_days": {"type": "integer"},
                        "task": {
                            "type": "object",
                            "properties": {"Name": STRING, "Notes": STRING},
                            "required": ["Name"],
                            "additionalProperties": False,
                        },
                    },
                    "required": ["lead_id", "task"],
                    "additionalProperties": False,
                },
                "output": {"type": "object", "properties": {"task_id": STRING}},
            },
            "update_lead": {
                "input": {
                    "type": "object",
                    "properties": {
                        "lead_id": STRING,
                        "fields": {
                            "type": "object",
                            "properties": {"FirstName": STRING, "Score": {"type": "integer"}},
                            "patternProperties": {"^mx_": NULLABLE_STRING},
                        },
                    },
                    "required": ["lead_id", "fields"],
                    "additionalProperties": False,
                },
                "output": {
                    "type": "object",
                    "properties": {"lead_id": STRING, "updated": {"type": "boolean"}},
                },
            },
        },
        triggers={
            "new_lead": {"kind": "instant", "input": {"type": "object"}, "output": LEAD_EVENT},
            "lead_added_to_list": {
                "kind": "polling",
                "input": {
                    "type": "object",
                    "properties": {"list_id": STRING},
                    "required": ["list_id"],
                    "additionalProperties": False,
                },
                "output": {
                    "type": "object",
                    "properties": {"ProspectID": STRING, "ListId": STRING},
                    "additionalProperties": NULLABLE_STRING,
                },
            },
        },
    )


@pytest.fixture
def schemas() -> StaticSchemas:
    return operation_schemas()


@pytest.fixture
def write_workflow(tmp_path: Path) -> Callable[[str], Path]:
    """Write YAML text (dedented) to ``<tmp>/flow.yaml`` and return the path."""

    def write(text: str, name: str = "flow.yaml") -> Path:
        path = tmp_path / name
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write
