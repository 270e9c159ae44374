"""Conformance of the real connector: the manifest, every declared operation, every schema.

Per operation (parametrized over ``manifest.actions + manifest.triggers``): its schema files
exist and pass ``check_schema``, its handler imports (actions: ``run(client, inputs)``), its
samples validate, and a trigger's event carries its dedupe key. Catalog-level facts hold
whether or not any operation is declared yet.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from runtime.errors import ManifestError
from runtime.plugin.manifest import PACKAGE_ROOT, Operation, check_manifest, read_manifest
from runtime.plugin.schemas import schema_id


def declared_operations() -> list[Operation]:
    try:
        return list(read_manifest(PACKAGE_ROOT).operations)
    except ManifestError:
        return []  # test_manifest_is_valid reports why


OPERATIONS = declared_operations()
IDS = [op.location for op in OPERATIONS]
SCHEMA_FILES = sorted((PACKAGE_ROOT / "schemas").rglob("*.json"))


def test_manifest_is_valid() -> None:
    report = check_manifest(PACKAGE_ROOT)
    assert report.problems == ()
    assert report.actions == tuple(op.key for op in OPERATIONS if not op.is_trigger)
    assert report.triggers == tuple(op.key for op in OPERATIONS if op.is_trigger)


def test_connection_declares_the_key_pair_as_secrets() -> None:
    manifest = read_manifest(PACKAGE_ROOT)
    fields = manifest.connection["fields"]
    assert manifest.secret_fields == ("access_key", "secret_key")
    assert fields["access_key"]["required"] and fields["secret_key"]["required"]
    assert fields["api_host"]["required"] is False
    assert manifest.connection["test"]["endpoint"] == "GET Authentication.svc/UserByAccessKey.Get"


def test_operation_schema_files_belong_to_known_keys() -> None:
    meta = json.loads((PACKAGE_ROOT / "schemas/_meta/connector.schema.json").read_text())
    known = {"actions": set(meta["$defs"]["action_key"]["enum"]),
             "triggers": set(meta["$defs"]["trigger_key"]["enum"])}
    for section, keys in known.items():
        for path in (PACKAGE_ROOT / "schemas" / section).glob("*.json"):
            assert path.name.split(".")[0] in keys, f"schemas/{section}/{path.name}"


@pytest.mark.parametrize("path", SCHEMA_FILES,
                         ids=[p.relative_to(PACKAGE_ROOT).as_posix() for p in SCHEMA_FILES])
def test_every_schema_file_is_valid_with_its_id(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == schema_id(path.relative_to(PACKAGE_ROOT / "schemas").as_posix())


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_schemas_exist_and_are_valid(op: Operation) -> None:
    for schema in (op.input_schema, op.output_schema):
        Draft202012Validator.check_schema(schema)
    op.resolved_input_schema()  # every $ref resolves and nothing is recursive
    op.resolved_output_schema()


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_handler_imports(op: Operation) -> None:
    module = op.handler_module()
    assert module.__name__.endswith(f"{op.handler_name}")
    if not op.is_trigger:
        assert list(inspect.signature(op.handler()).parameters) == ["client", "inputs"]


@pytest.mark.parametrize("op", OPERATIONS, ids=IDS)
def test_samples_validate(op: Operation) -> None:
    assert op.input_problems(op.sample_input) == []
    assert op.output_problems(op.sample_output) == []


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.is_trigger],
                         ids=[op.location for op in OPERATIONS if op.is_trigger])
def test_trigger_event_carries_its_dedupe_key(op: Operation) -> None:
    assert op.dedupe_key
    assert all(op.sample_output.get(name) not in (None, "") for name in op.dedupe_key)
    schema = op.resolved_output_schema()
    required = {name for part in (schema, *schema.get("allOf", [])) for name in
                part.get("required", [])}
    assert set(op.dedupe_key) <= required
