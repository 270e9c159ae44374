"""Loading connector.yaml, finding operations, importing handlers; the schema store."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import ConfigurationError, ManifestError
from runtime.plugin.manifest import (
    PACKAGE_ROOT,
    ROOT_ENV,
    Operation,
    connector_root,
    load_manifest,
    read_manifest,
)
from runtime.plugin.schemas import FORMAT_CHECKER, SchemaStore, schema_id
from tests.manifest.builder import TmpConnector, create_lead_entry, new_account_entry


@pytest.fixture
def connector(tmp_path: Path) -> TmpConnector:
    return TmpConnector(tmp_path)


# -- the connector root --------------------------------------------------------------------

def test_root_is_the_parent_of_the_runtime_package() -> None:
    assert connector_root(environ={}) == PACKAGE_ROOT
    assert (PACKAGE_ROOT / "runtime" / "plugin" / "manifest.py").is_file()


def test_root_from_the_environment_then_the_parameter(tmp_path: Path) -> None:
    assert connector_root(environ={ROOT_ENV: str(tmp_path)}) == tmp_path.resolve()
    assert connector_root(PACKAGE_ROOT, environ={ROOT_ENV: str(tmp_path)}) == PACKAGE_ROOT


def test_environment_root_is_used_by_load_manifest(
    connector: TmpConnector, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector.add_action()
    monkeypatch.setenv(ROOT_ENV, str(connector.root))
    assert [op.key for op in load_manifest().actions] == ["create_lead"]


# -- the real manifest ---------------------------------------------------------------------

def test_the_real_manifest_loads() -> None:
    manifest = load_manifest(PACKAGE_ROOT)
    assert (manifest.name, manifest.display_name) == ("leadsquared", "LeadSquared")
    assert manifest.path == PACKAGE_ROOT / "connector.yaml"
    assert manifest.secret_fields == ("access_key", "secret_key")
    assert manifest.connection["test"]["endpoint"] == "GET Authentication.svc/UserByAccessKey.Get"
    assert manifest.connection["fields"]["api_host"]["required"] is False


# -- operations ----------------------------------------------------------------------------

def test_operations_carry_their_declaration(connector: TmpConnector) -> None:
    connector.add_action().add_trigger(new_account_entry(dedupe_key=["CompanyId", "CreatedOn"]))
    manifest = read_manifest(connector.root)
    action, trigger = manifest.action("create_lead"), manifest.trigger("new_account")
    assert manifest.operations == (action, trigger)
    assert (action.kind, action.role, action.is_trigger) == ("action", "action", False)
    assert (trigger.kind, trigger.role, trigger.is_trigger) == ("polling", "trigger", True)
    assert action.location == "actions.create_lead"
    assert (action.input_schema_path, action.output_schema_path) == (
        "actions/create_lead.input.json", "actions/create_lead.output.json")
    assert (trigger.input_schema_path, trigger.output_schema_path) == (
        "triggers/new_account.config.json", "triggers/new_account.output.json")
    assert action.dedupe_key == ()
    assert trigger.dedupe_key == ("CompanyId", "CreatedOn")
    assert action.endpoint == "POST LeadManagement.svc/Lead.Create"
    assert action.handler_name == "operations.create_lead"
    assert action.input_schema["$id"] == schema_id("actions/create_lead.input.json")


def test_single_dedupe_key_becomes_a_tuple(connector: TmpConnector) -> None:
    connector.add_trigger()
    assert read_manifest(connector.root).trigger("new_account").dedupe_key == ("CompanyId",)


def test_unknown_key_suggests_the_closest(connector: TmpConnector) -> None:
    connector.add_action()
    manifest = read_manifest(connector.root)
    with pytest.raises(ConfigurationError) as raised:
        manifest.action("create_leed")
    assert str(raised.value) == "unknown action 'create_leed' (did you mean 'create_lead'?)"
    with pytest.raises(ConfigurationError) as raised:
        manifest.action("send_email")
    assert str(raised.value) == "unknown action 'send_email' (known actions: create_lead)"
    with pytest.raises(ConfigurationError) as raised:
        manifest.trigger("new_lead")
    assert str(raised.value) == "unknown trigger 'new_lead': the manifest declares no triggers yet"


def test_handler_is_imported_lazily_from_its_root(connector: TmpConnector) -> None:
    connector.add_action(handler="def run(client, inputs):\n    return {'from': 'tmp'}\n")
    manifest = read_manifest(connector.root)
    run = manifest.action("create_lead").handler()
    assert run(None, {}) == {"from": "tmp"}
    module = manifest.action("create_lead").handler_module()
    expected = connector.root / "operations" / "create_lead.py"
    assert Path(module.__file__).resolve() == expected.resolve()


def test_handler_without_run(connector: TmpConnector) -> None:
    connector.add_action(handler="VALUE = 1\n")
    with pytest.raises(ManifestError, match=r"operations\.create_lead has no run"):
        read_manifest(connector.root).action("create_lead").handler()


def test_yaml_dates_stay_strings(connector: TmpConnector) -> None:
    connector.add_trigger()
    text = (connector.root / "connector.yaml").read_text()
    text = text.replace("CreatedOn: '2024-05-01 10:00:00'", "CreatedOn: 2024-05-01 10:00:00")
    assert "CreatedOn: 2024-05-01 10:00:00" in text
    (connector.root / "connector.yaml").write_text(text)
    trigger = read_manifest(connector.root).trigger("new_account")
    assert trigger.sample_output["CreatedOn"] == "2024-05-01 10:00:00"


def test_yaml_syntax_error_names_the_line(connector: TmpConnector) -> None:
    (connector.root / "connector.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ManifestError) as raised:
        read_manifest(connector.root)
    assert raised.value.problems == ["connector.yaml:1: a '[' is not closed"]


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"connector.yaml: not found in "):
        read_manifest(tmp_path)


def test_stage_one_problems_name_operations_by_key(connector: TmpConnector) -> None:
    connector.add_action(create_lead_entry(group="Tasks"))
    with pytest.raises(ManifestError) as raised:
        read_manifest(connector.root)
    assert raised.value.problems == [
        "actions.create_lead.key: 'create_lead' is not one of ['create_task', 'update_task', "
        "'find_task', 'delete_task', 'create_appointment']"
    ]


# -- the schema store ----------------------------------------------------------------------

@pytest.fixture
def store(connector: TmpConnector) -> SchemaStore:
    connector.add_action()
    connector.schema("actions/demo.json", {
        "type": "object",
        "required": ["when", "lead_id"],
        "properties": {
            "lead_id": {"$ref": "../common/ids.json#/$defs/lead_id"},
            "when": {"$ref": "../common/datetime.json#/$defs/iso_datetime"},
            "lead": {"$ref": "../common/lead.json", "description": "The lead found."},
            "strict": {"$ref": "../common/found.json", "required": ["lead"]},
        },
        "additionalProperties": False,
    })
    return SchemaStore(connector.root / "schemas")


def test_errors_are_sorted_by_path_with_fixes(store: SchemaStore) -> None:
    assert store.errors("actions/demo.json", {"when": "2024-05-01 10:00", "leadid": "x"}) == [
        "$: 'lead_id' is a required property",
        "$: Additional properties are not allowed ('leadid' was unexpected) "
        "(did you mean 'lead_id'? allowed: lead, lead_id, strict, when)",
        "$.when: '2024-05-01 10:00' is not a 'date-time' (expected an RFC 3339 / ISO 8601 "
        "date-time with a zone, e.g. 2024-05-01T10:00:00Z or 2024-05-01T15:30:00+05:30.)",
    ]


@pytest.mark.parametrize(("value", "valid"), [
    ("2024-05-01T10:00:00Z", True), ("2024-05-01T15:30:00.123+05:30", True),
    ("2024-05-01T10:00:00", False), ("2024-05-01 10:00:00", False), ("2024-13-01T10:00:00Z", False),
])
def test_date_time_format_is_checked(value: str, valid: bool) -> None:
    assert FORMAT_CHECKER.conforms(value, "date-time") is valid


def test_resolve_inlines_refs(store: SchemaStore) -> None:
    resolved = store.resolve("actions/demo.json")
    assert "$id" not in resolved and "$schema" not in resolved
    assert resolved["properties"]["lead_id"]["pattern"].startswith("^[0-9a-fA-F]{8}")
    assert resolved["properties"]["lead_id"]["description"].startswith("A lead's ProspectID")
    lead = resolved["properties"]["lead"]
    assert lead["description"] == "The lead found."  # the annotation beside the $ref wins
    assert lead["required"] == ["ProspectID"]
    assert lead["properties"]["CreatedOn"]["anyOf"][0]["pattern"].startswith(r"^\d{4}")
    strict = resolved["properties"]["strict"]
    assert strict["required"] == ["lead"]  # a constraint beside the $ref: allOf keeps both
    assert strict["allOf"][0]["required"] == ["found"]
    assert "$ref" not in keys_in(resolved)


def keys_in(node: object) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(keys_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(keys_in(item) for item in node))
    return set()


def test_resolve_rejects_recursive_and_broken_refs(store: SchemaStore) -> None:
    with pytest.raises(ManifestError, match="recursive"):
        store.resolve({"$id": schema_id("x.json"), "$defs": {"a": {"items": {"$ref": "#"}}},
                       "$ref": "#/$defs/a"})
    with pytest.raises(ManifestError, match=r"'\.\./common/nope\.json' does not resolve"):
        store.resolve({"$id": schema_id("actions/x.json"), "$ref": "../common/nope.json"})


def test_every_real_schema_file_loads() -> None:
    store = SchemaStore(PACKAGE_ROOT / "schemas")
    assert store.problems == []
    assert {"_meta/connector.schema.json", "common/lead.json", "common/ids.json"} <= set(
        store.paths())


def test_common_examples_are_valid() -> None:
    store = SchemaStore(PACKAGE_ROOT / "schemas")
    for path in store.paths():
        if path.startswith("common/"):
            for example in store.get(path).get("examples", []):
                assert store.errors(path, example) == [], path


def test_lead_fields_reject_search_by_and_display_names() -> None:
    store = SchemaStore(PACKAGE_ROOT / "schemas")
    problems = store.errors("common/lead_fields.json", {"SearchBy": "EmailAddress",
                                                        "First Name": "x", "mx_City": ["Pune"]})
    assert [p.split(":")[0] for p in problems] == ["$", "$", "$.mx_City"]


def test_operation_without_store_fails_clearly() -> None:
    bare = Operation("create_lead", "action", "Create Lead", "Leads", "d", "POST X.svc/Y",
                     "operations.create_lead", {}, {})
    with pytest.raises(ManifestError, match="without a schema store"):
        bare.input_problems({})
