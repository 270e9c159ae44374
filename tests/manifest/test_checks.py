"""Stage-two checks, one broken thing at a time, on small connector roots in tmp_path."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from runtime.errors import ManifestError
from runtime.plugin import manifest_checks as checks
from runtime.plugin.manifest import Manifest, check_manifest, load_manifest, read_manifest
from tests.manifest.builder import TmpConnector, create_lead_entry, new_account_entry


@pytest.fixture
def connector(tmp_path: Path) -> TmpConnector:
    return TmpConnector(tmp_path)


def manifest_of(connector: TmpConnector) -> Manifest:
    return read_manifest(connector.root)


def test_a_correct_connector_has_no_problems(connector: TmpConnector) -> None:
    connector.add_action().add_trigger()
    assert checks.run_checks(manifest_of(connector)) == []


# -- schemas_are_valid ---------------------------------------------------------------------

def test_schema_with_the_wrong_id(connector: TmpConnector) -> None:
    connector.add_action()
    connector.write("schemas/actions/create_lead.output.json",
                    '{"$id": "https://example.com/x.json", "type": "object"}')
    assert checks.schemas_are_valid(manifest_of(connector)) == [
        "schemas/actions/create_lead.output.json: $id must be "
        "'https://leadsquared-connector.local/schemas/actions/create_lead.output.json' "
        "(found 'https://example.com/x.json')"
    ]


def test_schema_that_is_not_json(connector: TmpConnector) -> None:
    connector.add_action()
    connector.write("schemas/actions/create_lead.input.json", '{"type": "object",}')
    [problem] = checks.schemas_are_valid(manifest_of(connector))
    assert problem.startswith("schemas/actions/create_lead.input.json: not valid JSON: ")


def test_schema_that_fails_check_schema(connector: TmpConnector) -> None:
    broken = {"type": "object", "properties": {"lead_id": {"type": "guid"}}}
    connector.add_action(output_schema=broken)
    [problem] = checks.schemas_are_valid(manifest_of(connector))
    assert problem.startswith("schemas/actions/create_lead.output.json#/properties/lead_id/type: ")
    assert "'guid' is not valid under any of the given schemas" in problem


# -- refs_resolve --------------------------------------------------------------------------

def test_ref_that_does_not_resolve(connector: TmpConnector) -> None:
    connector.add_action(output_schema={
        "type": "object",
        "properties": {"lead_id": {"$ref": "../common/ids.json#/$defs/leadid"},
                       "lead": {"$ref": "../common/leed.json"}},
    })
    assert checks.refs_resolve(manifest_of(connector)) == [
        "schemas/actions/create_lead.output.json#/properties/lead_id: "
        "$ref '../common/ids.json#/$defs/leadid' does not resolve",
        "schemas/actions/create_lead.output.json#/properties/lead: "
        "$ref '../common/leed.json' does not resolve",
    ]


def test_refs_of_the_real_schemas_resolve() -> None:
    assert checks.refs_resolve(read_manifest()) == []


# -- schema_files_exist --------------------------------------------------------------------

def test_missing_schema_files(connector: TmpConnector) -> None:
    connector.add_action(output_schema=None).add_trigger(config_schema=None)
    assert checks.schema_files_exist(manifest_of(connector)) == [
        "actions.create_lead: missing schemas/actions/create_lead.output.json",
        "triggers.new_account: missing schemas/triggers/new_account.config.json",
    ]


# -- keys_are_unique -----------------------------------------------------------------------

def test_duplicate_keys(connector: TmpConnector) -> None:
    connector.add_action().add_action()
    assert checks.keys_are_unique(manifest_of(connector)) == [
        "actions.create_lead: key 'create_lead' is declared 2 times",
        "actions.create_lead.display_name: 'Create Lead' is declared 2 times",
    ]


# -- keys_follow_naming_rules --------------------------------------------------------------

def test_key_breaking_the_naming_rule(connector: TmpConnector) -> None:
    # The meta-schema's enum rejects such keys first; the check guards Manifests built in code.
    manifest = manifest_of(connector.add_action())
    renamed = dataclasses.replace(manifest.actions[0], key="lead_create")
    problems = checks.keys_follow_naming_rules(dataclasses.replace(manifest, actions=(renamed,)))
    assert problems == [
        "actions.lead_create.key: 'lead_create' breaks the naming rule: an action key is "
        "snake_case verb_object, e.g. create_lead, add_lead_to_list, list_users",
    ]


def test_display_name_must_use_the_key_words(connector: TmpConnector) -> None:
    connector.add_action(create_lead_entry(display_name="Add Lead"))
    assert checks.keys_follow_naming_rules(manifest_of(connector)) == [
        "actions.create_lead.display_name: 'Add Lead' must use the words of the key 'create_lead'"
    ]


def test_instant_suffix_only_on_instant_triggers(connector: TmpConnector) -> None:
    connector.add_trigger(new_account_entry(display_name="New Account (Instant)"))
    assert checks.keys_follow_naming_rules(manifest_of(connector)) == [
        "triggers.new_account.display_name: 'New Account (Instant)' must not end with "
        "'(Instant)' for a polling trigger"
    ]


def test_past_tense_trigger_names_match_in_any_order(connector: TmpConnector) -> None:
    entry = new_account_entry(key="account_updated", display_name="Account Updated",
                              handler="triggers.account_updated")
    connector.add_trigger(entry)
    assert checks.keys_follow_naming_rules(manifest_of(connector)) == []


# -- handlers_match_keys / handlers_importable ---------------------------------------------

def test_handler_named_otherwise(connector: TmpConnector) -> None:
    connector.add_action(create_lead_entry(handler="operations.new_lead"))
    assert checks.handlers_match_keys(manifest_of(connector)) == [
        "actions.create_lead.handler: 'operations.new_lead' must be 'operations.create_lead' "
        "(the module file name equals the key)"
    ]


@pytest.mark.parametrize(("source", "expected"), [
    (None, "actions.create_lead.handler: handler operations.create_lead: "
           "no module file operations/create_lead.py"),
    ("1 / 0\n", "actions.create_lead.handler: handler operations.create_lead cannot be "
                "imported: ZeroDivisionError: division by zero"),
    ("def run(client:\n", "actions.create_lead.handler: handler operations.create_lead cannot "
                          "be imported: SyntaxError: "),
    ("RUN = 1\n", "actions.create_lead.handler: operations.create_lead must define "
                  "run(client, inputs)"),
    ("def run(inputs, client):\n    return {}\n",
     "actions.create_lead.handler: operations.create_lead.run(inputs, client) must be "
     "run(client, inputs)"),
    ("def run(client, inputs, retries):\n    return {}\n",
     "actions.create_lead.handler: operations.create_lead.run(client, inputs, retries) must be "
     "run(client, inputs)"),
    ("def run(client, inputs=None):\n    return {}\n",
     "actions.create_lead.handler: operations.create_lead.run(client, inputs=None) must be "
     "run(client, inputs)"),
], ids=["missing", "raises", "syntax-error", "no-run", "swapped", "extra-parameter", "default"])
def test_broken_handlers(connector: TmpConnector, source: str | None, expected: str) -> None:
    connector.add_action(handler=source)
    [problem] = checks.handlers_importable(manifest_of(connector))
    assert problem.startswith(expected)


def test_trigger_handlers_must_import(connector: TmpConnector) -> None:
    connector.add_trigger(handler="import no_such_module\n")
    assert checks.handlers_importable(manifest_of(connector)) == [
        "triggers.new_account.handler: handler triggers.new_account cannot be imported: "
        "ModuleNotFoundError: No module named 'no_such_module'"
    ]


# -- samples_match_schemas -----------------------------------------------------------------

def test_samples_that_do_not_fit(connector: TmpConnector) -> None:
    connector.add_action(create_lead_entry(
        sample_input={"fields": {"FirstName": "Priya"}, "post_updated_leed": True},
        sample_output={"lead_id": "not-a-guid"},
    ))
    assert checks.samples_match_schemas(manifest_of(connector)) == [
        "actions.create_lead.sample_input: Additional properties are not allowed "
        "('post_updated_leed' was unexpected) (did you mean 'post_updated_lead'? "
        "allowed: fields, post_updated_lead)",
        "actions.create_lead.sample_output.lead_id: 'not-a-guid' does not match the rule: "
        "A GUID, 8-4-4-4-12 hexadecimal digits.",
    ]


def test_trigger_samples_are_a_config_and_one_event(connector: TmpConnector) -> None:
    connector.add_trigger(new_account_entry(sample_input={}, sample_output={"CompanyName": "X"}))
    assert checks.samples_match_schemas(manifest_of(connector)) == [
        "triggers.new_account.sample_input: 'company_type' is a required property "
        "(company_type: The Company Type.)",
        "triggers.new_account.sample_output: 'CompanyId' is a required property",
    ]


# -- triggers_have_dedupe_key --------------------------------------------------------------

def test_dedupe_key_missing_from_the_event_schema(connector: TmpConnector) -> None:
    connector.add_trigger(new_account_entry(dedupe_key="AccountId"))
    assert checks.triggers_have_dedupe_key(manifest_of(connector)) == [
        "triggers.new_account.dedupe_key: 'AccountId' must be a required property of "
        "schemas/triggers/new_account.output.json"
    ]


def test_composite_dedupe_key_must_be_required(connector: TmpConnector) -> None:
    connector.add_trigger(new_account_entry(dedupe_key=["CompanyId", "ModifiedOn"]))
    assert checks.triggers_have_dedupe_key(manifest_of(connector)) == [
        "triggers.new_account.dedupe_key: 'ModifiedOn' must be a required property of "
        "schemas/triggers/new_account.output.json"
    ]


def test_composite_dedupe_key_declared_beside_a_ref(connector: TmpConnector) -> None:
    connector.add_trigger(
        new_account_entry(dedupe_key=["CompanyId", "ModifiedOn"],
                          sample_output={"CompanyId": "5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e01",
                                         "ModifiedOn": "2024-05-01 10:00:00"}),
        output_schema={"$ref": "../common/account.json", "required": ["CompanyId", "ModifiedOn"]},
    )
    manifest = manifest_of(connector)
    assert checks.triggers_have_dedupe_key(manifest) == []
    assert checks.samples_match_schemas(manifest) == []


# -- connection_hosts_match_allowlist ------------------------------------------------------

def test_api_host_choices_follow_the_client_allowlist(connector: TmpConnector) -> None:
    choices = connector.manifest["connection"]["fields"]["api_host"]["choices"]
    choices.remove("api-id51.leadsquared.com")
    choices.append("api-xx99.leadsquared.com")
    connector.save()
    assert checks.connection_hosts_match_allowlist(manifest_of(connector)) == [
        "connection.fields.api_host.choices: differ from runtime.api.hosts.REGIONAL_HOSTS: "
        "missing api-id51.leadsquared.com; not allowed api-xx99.leadsquared.com"
    ]


# -- run_checks / load_manifest ------------------------------------------------------------

def test_every_problem_is_reported_together(connector: TmpConnector) -> None:
    connector.add_action(create_lead_entry(sample_output={"lead_id": 5}), handler=None)
    connector.add_trigger(new_account_entry(dedupe_key="AccountId"), output_schema=None)
    expected = [
        "triggers.new_account: missing schemas/triggers/new_account.output.json",
        "actions.create_lead.handler: handler operations.create_lead: "
        "no module file operations/create_lead.py",
        "actions.create_lead.sample_output.lead_id: 5 is not of type 'string'",
    ]
    assert checks.run_checks(manifest_of(connector)) == expected
    assert check_manifest(connector.root).problems == tuple(expected)
    with pytest.raises(ManifestError) as raised:
        load_manifest(connector.root)
    assert raised.value.problems == expected
    assert str(raised.value).startswith("connector.yaml is invalid: triggers.new_account: missing")


def test_checks_are_listed_in_order() -> None:
    assert [check.__name__ for check in checks.CHECKS] == [
        "schemas_are_valid", "refs_resolve", "schema_files_exist", "keys_are_unique",
        "keys_follow_naming_rules", "handlers_match_keys", "handlers_importable",
        "samples_match_schemas", "triggers_have_dedupe_key", "connection_hosts_match_allowlist",
    ]

