"""The meta-schema: valid JSON Schema, documented, and its examples and anti-examples hold.

Anti-examples live in two places: ``x-antiExamples`` inside the meta-schema (one operation
entry each) and ``tests/manifest/bad/*.yaml`` (whole manifests), each with a ``# reason:``
and the ``# expect:`` problem it must produce.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runtime.errors import ManifestError
from runtime.plugin.manifest import META_SCHEMA, PACKAGE_ROOT, read_manifest
from runtime.plugin.schemas import SchemaStore, schema_id

HERE = Path(__file__).parent
STORE = SchemaStore(PACKAGE_ROOT / "schemas")
META = STORE.get(META_SCHEMA)
DEFS = META["$defs"]


def validator_for(definition: str | None) -> Draft202012Validator:
    ref = schema_id(META_SCHEMA) + (f"#/$defs/{definition}" if definition else "")
    return Draft202012Validator({"$ref": ref}, registry=STORE.registry)


def stage_one(tmp_path: Path, manifest_file: Path) -> list[str]:
    """Stage-one problems of ``manifest_file`` placed in a connector root of its own."""
    shutil.copytree(PACKAGE_ROOT / "schemas" / "_meta", tmp_path / "schemas" / "_meta")
    shutil.copytree(PACKAGE_ROOT / "schemas" / "common", tmp_path / "schemas" / "common")
    shutil.copy(manifest_file, tmp_path / "connector.yaml")
    try:
        read_manifest(tmp_path)
    except ManifestError as problem:
        return problem.problems
    return []


def comment(path: Path, name: str) -> str:
    prefix = f"# {name}:"
    lines = [line for line in path.read_text().splitlines() if line.startswith(prefix)]
    assert lines, f"{path.name} needs a '{prefix}' comment"
    return lines[0][len(prefix):].strip()


def test_meta_schema_is_valid_2020_12() -> None:
    Draft202012Validator.check_schema(META)
    assert META["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert not STORE.problems


# Data, and the per-group/kind conditionals (they restrict properties declared elsewhere).
NOT_DECLARATIONS = {"examples", "x-antiExamples", "const", "enum", "default", "allOf"}


def walk_properties(node: Any, path: str = "$"):
    if isinstance(node, dict):
        for name, spec in node.get("properties", {}).items():
            yield f"{path}.properties.{name}", spec
        for key, value in node.items():
            if key not in NOT_DECLARATIONS:
                yield from walk_properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk_properties(item, f"{path}[{index}]")


def documented(spec: dict[str, Any]) -> bool:
    """A description of its own, or a $ref to a documented definition (editors show that)."""
    ref = spec.get("$ref", "")
    target = DEFS.get(ref.removeprefix("#/$defs/"), {}) if ref.startswith("#/$defs/") else {}
    return bool(spec.get("description") or target.get("description"))


def test_every_property_has_a_description() -> None:
    assert [path for path, spec in walk_properties(META) if not documented(spec)] == []


def test_every_definition_has_a_description() -> None:
    assert [name for name, spec in DEFS.items() if not spec.get("description")] == []


EXAMPLES = [(None, example) for example in META["examples"]] + [
    (name, example) for name, spec in DEFS.items() for example in spec.get("examples", [])
]


@pytest.mark.parametrize(("definition", "example"), EXAMPLES,
                         ids=[f"{name or 'manifest'}-{i}" for i, (name, _) in enumerate(EXAMPLES)])
def test_examples_are_valid(definition: str | None, example: Any) -> None:
    errors = [f"{e.json_path}: {e.message}" for e in validator_for(definition).iter_errors(example)]
    assert errors == []


ANTI_EXAMPLES = [
    (name, anti["example"], anti["reason"])
    for name, spec in DEFS.items()
    for anti in spec.get("x-antiExamples", [])
]


@pytest.mark.parametrize(("definition", "example", "reason"), ANTI_EXAMPLES,
                         ids=[reason for _, _, reason in ANTI_EXAMPLES])
def test_anti_examples_are_invalid(definition: str, example: Any, reason: str) -> None:
    assert list(validator_for(definition).iter_errors(example)), reason


def test_there_are_anti_examples_for_actions_and_triggers() -> None:
    assert {name for name, _, _ in ANTI_EXAMPLES} == {"action", "trigger"}


@pytest.mark.parametrize("path", sorted((HERE / "good").glob("*.yaml")), ids=lambda p: p.stem)
def test_good_manifests_pass_stage_one(tmp_path: Path, path: Path) -> None:
    assert stage_one(tmp_path, path) == []


BAD = sorted((HERE / "bad").glob("*.yaml"))


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_manifests_fail_stage_one_for_their_reason(tmp_path: Path, path: Path) -> None:
    comment(path, "reason")
    expected = comment(path, "expect")
    problems = stage_one(tmp_path, path)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_there_are_bad_manifests() -> None:
    assert len(BAD) >= 10


# -- catalog facts the meta-schema encodes (the issues fix keys, groups and kinds: the first
# 27 actions and 10 triggers, then issue 18's lead activities, users and api_call) ------------

CATALOG_ACTIONS = {
    "Leads": {"create_lead", "upsert_lead", "update_lead", "find_lead", "delete_lead"},
    "Opportunities": {"create_opportunity", "update_opportunity", "find_opportunity",
                      "delete_opportunity"},
    "Companies": {"create_account", "update_account", "find_account", "delete_account"},
    "Lists": {"create_list", "add_lead_to_list", "remove_lead_from_list", "find_list"},
    "Emails": {"send_email"},
    "Activities": {"create_account_activity", "update_account_activity",
                   "find_account_activity", "delete_account_activity",
                   "create_lead_activity", "update_lead_activity", "find_lead_activity"},
    "Tasks": {"create_task", "update_task", "find_task", "delete_task", "create_appointment"},
    "Users": {"find_user", "list_users"},
    "Other": {"api_call"},
}
CATALOG_TRIGGERS = {
    "new_lead": ("Leads", "instant"), "lead_updated": ("Leads", "instant"),
    "lead_added_to_list": ("Leads", "polling"), "new_account_activity": ("Leads", "polling"),
    "new_lead_activity": ("Leads", "polling"), "lead_activity_posted": ("Leads", "instant"),
    "new_account": ("Companies", "polling"), "account_updated": ("Companies", "polling"),
    "new_task": ("Tasks", "instant"), "task_updated": ("Tasks", "instant"),
    "new_opportunity": ("Opportunities", "instant"),
    "opportunity_updated": ("Opportunities", "instant"),
}


def conditional_enums(definition: str, field: str) -> dict[str, set[str]]:
    return {
        rule["if"]["properties"][field]["const"]: set(rule["then"]["properties"]["key"]["enum"])
        for rule in DEFS[definition]["allOf"]
        if field in rule["if"]["properties"]
    }


def test_action_keys_and_groups_are_the_catalog() -> None:
    assert set(DEFS["action_key"]["enum"]) == set().union(*CATALOG_ACTIONS.values())
    assert len(DEFS["action_key"]["enum"]) == 33
    assert conditional_enums("action", "group") == CATALOG_ACTIONS
    assert DEFS["group"]["enum"] == ["Leads", "Opportunities", "Companies", "Lists", "Emails",
                                     "Activities", "Tasks", "Users", "Other"]


def test_trigger_keys_groups_and_kinds_are_the_catalog() -> None:
    assert set(DEFS["trigger_key"]["enum"]) == set(CATALOG_TRIGGERS)
    groups, kinds = conditional_enums("trigger", "group"), conditional_enums("trigger", "kind")
    assert {key: (group, kind) for group, keys in groups.items() for key in keys
            for kind, kind_keys in kinds.items() if key in kind_keys} == CATALOG_TRIGGERS


@pytest.mark.parametrize("key", sorted(set().union(*CATALOG_ACTIONS.values())))
def test_every_action_key_follows_the_naming_pattern(key: str) -> None:
    assert Draft202012Validator({"pattern": DEFS["action_key"]["pattern"]}).is_valid(key)


@pytest.mark.parametrize("key", sorted(CATALOG_TRIGGERS))
def test_every_trigger_key_follows_the_naming_pattern(key: str) -> None:
    assert Draft202012Validator({"pattern": DEFS["trigger_key"]["pattern"]}).is_valid(key)


@pytest.mark.parametrize(("name", "valid"), [
    ("Create Lead", True), ("Add Lead to List", True), ("Remove Lead from List", True),
    ("New Lead (Instant)", True), ("Lead Added to List", True),
    ("Create a Lead", False), ("Find the List", False), ("create lead", False),
    ("Create Lead.", False), ("Create  Lead", False),
])
def test_display_name_rule(name: str, valid: bool) -> None:
    assert validator_for("display_name").is_valid(name) is valid
