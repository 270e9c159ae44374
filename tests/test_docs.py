"""Reference docs: the committed docs/ is exactly what `lsq docs` generates, and what it says.

``test_committed_docs_are_up_to_date`` is THE freshness check: it regenerates the docs of this
checkout into a temp folder and compares every file with docs/. The other tests build small
connectors in temp folders (tests/manifest/builder.py) so they do not depend on the catalog.
"""

from __future__ import annotations

import json
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.api import connection as connection_module
from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.api.hosts import REGIONAL_HOSTS
from runtime.api.retry import EXCEPTION_HINTS, STATUS_POLICY
from runtime.cli import main
from runtime.errors import AuthError
from runtime.plugin.docs import (
    FIX,
    HAND_MADE,
    MARKER,
    compare_docs,
    operation_errors,
    render_docs,
    write_docs,
)
from runtime.plugin.docs_fields import field_table
from runtime.plugin.manifest import META_SCHEMA, PACKAGE_ROOT, read_manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, RunningSandbox
from tests.manifest.builder import TmpConnector, create_lead_entry, new_account_entry

COMMITTED = PACKAGE_ROOT / "docs"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- freshness (the one place that enforces it) --------------------------------------------


def test_committed_docs_are_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "docs"
    assert main(["docs", "--out", str(out)]) == 0, capsys.readouterr().err
    fresh, committed = tree(out), tree(COMMITTED) if COMMITTED.is_dir() else {}
    committed = {path: text for path, text in committed.items()
                 if not path.startswith(HAND_MADE)}  # docs/images/: screenshots, not generated
    stale = sorted(
        [f"docs/{p}: missing from docs/" for p in fresh.keys() - committed.keys()]
        + [f"docs/{p}: no longer generated" for p in committed.keys() - fresh.keys()]
        + [f"docs/{p}: out of date" for p in fresh.keys() & committed.keys()
           if fresh[p] != committed[p]]
    )
    assert not stale, "docs/ is stale; " + FIX + ":\n" + "\n".join(stale)


# -- fixtures ------------------------------------------------------------------------------

LEAD_OUTPUT = {"$ref": "../common/lead.json"}
INSTANT_HANDLER = "def events(client, config, item):\n    return [dict(item)]\n"
MEMBERSHIP_HANDLER = '''
ID_FIELD = "ProspectID"


def fetch_members(client, config, page):
    raise AssertionError("docs never call a handler")
'''


def new_lead_entry() -> dict[str, Any]:
    return {
        "key": "new_lead", "display_name": "New Lead (Instant)", "group": "Leads",
        "kind": "instant",
        "description": "Fires when LeadSquared's lead-create webhook calls the connector; "
        "subscribed with Webhook.svc/Create. Docs: https://apidocs.leadsquared.com/create-webhook/",
        "endpoint": "POST Webhook.svc/Create", "handler": "triggers.new_lead",
        "dedupe_key": "ProspectID", "sample_input": {},
        "sample_output": {"ProspectID": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01",
                          "FirstName": "Priya"},
    }


def added_to_list_entry() -> dict[str, Any]:
    return {
        "key": "lead_added_to_list", "display_name": "Lead Added to List", "group": "Leads",
        "kind": "polling",
        "description": "Leads added to a static list, found by comparing the list's members "
        "(LeadManagement.svc/Leads/Retrieve/BySearchParameter). "
        "Docs: https://apidocs.leadsquared.com/get-leads-in-a-list/",
        "endpoint": "POST LeadManagement.svc/Leads/Retrieve/BySearchParameter",
        "handler": "triggers.lead_added_to_list", "dedupe_key": "ProspectID",
        "sample_input": {"list_id": "3b4c5d6e-7f80-4a1b-9c2d-3e4f5a6b7c01"},
        "sample_output": {"ProspectID": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01"},
    }


LIST_CONFIG = {
    "type": "object", "required": ["list_id"], "additionalProperties": False,
    "properties": {"list_id": {"$ref": "../common/ids.json#/$defs/list_id"}},
}


@pytest.fixture
def connector(tmp_path: Path) -> TmpConnector:
    """One action and one trigger of each kind (time-based, membership, instant)."""
    built = TmpConnector(tmp_path / "root")
    built.add_action()
    built.add_trigger()
    built.add_trigger(new_lead_entry(), config_schema={"type": "object"},
                      output_schema=LEAD_OUTPUT, handler=INSTANT_HANDLER)
    built.add_trigger(added_to_list_entry(), config_schema=LIST_CONFIG,
                      output_schema=LEAD_OUTPUT, handler=MEMBERSHIP_HANDLER)
    return built


@pytest.fixture
def docs(connector: TmpConnector) -> dict[str, str]:
    return render_docs(read_manifest(connector.root))


def section(page: str, title: str) -> str:
    """The text of one ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n\n(.*?)(?=^## |\Z)", page, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


# -- files and determinism -----------------------------------------------------------------


def test_one_page_per_operation_and_an_overview(docs: dict[str, str]) -> None:
    assert list(docs) == [
        "README.md", "actions/create_lead.md", "triggers/lead_added_to_list.md",
        "triggers/new_account.md", "triggers/new_lead.md",
    ]
    for text in docs.values():
        assert text.startswith(MARKER + "\n\n")
        assert text.endswith("\n") and not text.endswith("\n\n")
        assert not [line for line in text.splitlines() if line != line.rstrip()]


def test_generation_is_deterministic(connector: TmpConnector) -> None:
    first = render_docs(read_manifest(connector.root))
    second = render_docs(read_manifest(connector.root))
    assert first == second
    assert not re.search(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}", first["README.md"])


def catalog(role: str) -> list[tuple[str, str, str | None]]:
    """(group, key, kind) of every catalog key, read from the meta-schema's rules."""
    rules = read_manifest(PACKAGE_ROOT).schemas.get(META_SCHEMA)["$defs"][role]["allOf"]
    found: list[tuple[str, str, str]] = []  # (condition property, its value, key)
    for rule in rules:
        ((prop, condition),) = rule["if"]["properties"].items()
        keys = rule["then"]["properties"]["key"]["enum"]
        found += [(prop, condition["const"], key) for key in keys]
    kinds = {key: value for prop, value, key in found if prop == "kind"}
    return [(value, key, kinds.get(key)) for prop, value, key in found if prop == "group"]


def test_generation_is_fast_and_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = TmpConnector(tmp_path / "full")
    for group, key, _ in catalog("action"):
        name = key.replace("_", " ").title()
        built.add_action(create_lead_entry(key=key, group=group, display_name=name,
                                           handler=f"operations.{key}"))
    for group, key, kind in catalog("trigger"):
        name = key.replace("_", " ").title() + (" (Instant)" if kind == "instant" else "")
        built.add_trigger(new_account_entry(key=key, group=group, kind=kind, display_name=name,
                                            handler=f"triggers.{key}"))

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("lsq docs must not use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    started = time.perf_counter()
    files = render_docs(read_manifest(built.root))
    assert time.perf_counter() - started < 2.0
    assert len(files) == 1 + 33 + 12
    assert "It offers 12 triggers (5 polling, 7 instant) and 33 actions." in files["README.md"]


# -- overview ------------------------------------------------------------------------------


def test_overview_connection_and_hosts(docs: dict[str, str]) -> None:
    readme = docs["README.md"]
    connection = section(readme, "Connection")
    assert "| `access_key` | Access Key | string | yes | yes |" in connection
    assert "| `api_host` | API Host | string | no | no |" in connection
    assert "Secret fields (`access_key`, `secret_key`)" in connection
    assert "`GET Authentication.svc/UserByAccessKey.Get`" in connection
    for host, region in REGIONAL_HOSTS.items():
        assert f"| `{host}` | {region} | yes |" in connection
    assert "`lsq auth test`" in connection


def test_overview_lists_operations_by_group_with_kind_and_link(docs: dict[str, str]) -> None:
    readme = docs["README.md"]
    triggers = section(readme, "Triggers")
    assert "It offers 3 triggers (2 polling, 1 instant) and 1 action." in readme
    leads = triggers.index("### Leads")
    companies = triggers.index("### Companies")
    assert leads < companies  # the catalog's group order, not the manifest's
    assert ("| [New Lead (Instant)](triggers/new_lead.md) | `new_lead` | instant | `ProspectID` |"
            in triggers)
    assert ("| [New Account](triggers/new_account.md) | `new_account` | polling | `CompanyId` | "
            "Accounts created since the last poll, from CompanyManagement.svc/Company.Get. |"
            in triggers)
    actions = section(readme, "Actions")
    assert ("| [Create Lead](actions/create_lead.md) | `create_lead` | "
            "`POST LeadManagement.svc/Lead.Create` | "
            "Creates a lead with LeadManagement.svc/Lead.Create. |") in actions


def test_overview_explains_custom_fields_and_troubleshooting(docs: dict[str, str]) -> None:
    fields = section(docs["README.md"], "Custom fields (`mx_`)")
    for phrase in ("schema name", "display name", "`lsq fields lead`", "before anything is "
                   "written", "did you mean mx_City?", "stores field values as text"):
        assert phrase in fields
    help_rows = section(docs["README.md"], "Troubleshooting")
    for phrase in ("HTTP 401", "HTTP 429", "`lsq auth test`", "lead delete is not enabled",
                   EXCEPTION_HINTS["MXUnauthorizedRequestException"]):
        assert phrase in help_rows


def test_overview_with_no_operations(tmp_path: Path) -> None:
    readme = render_docs(read_manifest(TmpConnector(tmp_path / "empty").root))["README.md"]
    assert "No triggers are declared in connector.yaml yet." in readme
    assert "No actions are declared in connector.yaml yet." in readme


def test_wrong_host_examples_are_what_the_connector_prints(
    docs: dict[str, str], sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README quotes the real messages (its example swaps the sandbox's two regions)."""
    wrong = Connection(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY,
                       api_host="api-us11.leadsquared.com", base_url=sandbox.base_url)

    def swap(text: str) -> str:
        regions = {"api-us11": "api-in21", "api-in21": "api-us11"}
        return re.sub(r"api-(us11|in21)", lambda match: regions[match.group(0)], text)

    with LeadSquaredClient(wrong) as client, pytest.raises(AuthError) as raised:
        client.post("LeadManagement.svc/Lead.Create", [], creates=True)
    monkeypatch.setattr(connection_module, "load_connection", lambda path, environ: wrong)
    assert main(["auth", "test"]) == 1
    auth_error = capsys.readouterr().err.strip()
    readme = docs["README.md"]
    assert f"```text\n{swap(str(raised.value))}\n```" in readme
    assert f"```text\n{swap(auth_error)}\n```" in readme
    assert STATUS_POLICY[401].message in readme


# -- action pages --------------------------------------------------------------------------


def test_action_page_fields_samples_and_endpoint(docs: dict[str, str]) -> None:
    page = docs["actions/create_lead.md"]
    assert page.splitlines()[2:7] == [
        "# Create Lead", "",
        "`create_lead` · action · group Leads · [all triggers and actions](../README.md)", "",
        "Creates a lead with LeadManagement.svc/Lead.Create. "
        "Docs: https://apidocs.leadsquared.com/create-a-lead/",
    ]
    assert "**LeadSquared endpoint:** `POST LeadManagement.svc/Lead.Create`" in page
    assert section(page, "Input").splitlines() == [
        "| Field | Type | Required | Description | Allowed values |",
        "|---|---|---|---|---|",
        "| `fields` | object | yes | The lead's fields by schema name. | at least 1 entry |",
        "| `fields.<name>` | string, number, boolean or null | no | A field value. LeadSquared "
        "stores text; numbers and booleans are sent as given, null clears the field. | names: "
        "A lead field's schema name: a standard name (FirstName, EmailAddress, ...) or a custom "
        "mx_ name. SearchBy is not a field: upsert and find actions take it as the search_by "
        "option. |",
        "| `post_updated_lead` | boolean | no | Run LeadSquared automations. | default `false` |",
        "",
    ]
    assert section(page, "Output").splitlines()[2] == (
        "| `lead_id` | string | yes | A lead's ProspectID (GUID), as returned by Find Lead or "
        "Create Lead. | GUID (8-4-4-4-12 hex digits); e.g. `8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01` |"
    )
    for title, sample in (("Sample input", create_lead_entry()["sample_input"]),
                          ("Sample output", create_lead_entry()["sample_output"])):
        block = section(page, title)
        assert block.startswith("```json\n") and block.rstrip().endswith("```")
        assert json.loads(block.strip()[len("```json"):-3]) == sample


def test_action_errors_come_from_the_policy_tables(docs: dict[str, str]) -> None:
    errors = section(docs["actions/create_lead.md"], "Errors")
    for exception_type in ("MXDuplicateEntryException", "MXUnknownAttributeException",
                           "MXMandatoryAttributeMissingException"):
        assert (f"| {exception_type} (PermanentApiError, not retried) | "
                f"{EXCEPTION_HINTS[exception_type]} |") in errors
    assert "`invalid input for create_lead`" in errors
    assert "| `unknown lead field(s)`, e.g. `fields.mx_Cty:" in errors  # lead fields in input
    assert "AmbiguousWriteError" in errors  # Lead.Create is never blindly resent
    assert "MXMailDeliveryException" not in errors
    assert "| HTTP 401 (AuthError) |" in section(docs["actions/create_lead.md"], "Troubleshooting")


@pytest.mark.parametrize(
    ("endpoint", "present", "absent"),
    [
        ("GET LeadManagement.svc/Lead/Delete/ById", ["MXInvalidEntityException",
         "MXUnauthorizedRequestException", "lead delete is not enabled on this account"],
         ["AmbiguousWriteError", "MXDuplicateEntryException"]),
        ("POST EmailMarketing.svc/SendEmailToLead", ["MXMailDeliveryException"],
         ["AmbiguousWriteError", "MXInvalidEntityException"]),
        ("POST OpportunityManagement.svc/Capture", ["MXInvalidActivityFieldsException",
         "AmbiguousWriteError"], ["MXDuplicateEntryException"]),
        ("POST LeadManagement.svc/Lead.CreateOrUpdate", ["MXUnknownAttributeException"],
         ["AmbiguousWriteError", "MXDuplicateEntryException"]),
    ],
    ids=["lead-delete", "send-email", "opportunity-capture", "lead-upsert"],
)
def test_errors_depend_on_the_endpoint(
    tmp_path: Path, endpoint: str, present: list[str], absent: list[str]
) -> None:
    built = TmpConnector(tmp_path / "root").add_action(create_lead_entry(endpoint=endpoint))
    (action,) = read_manifest(built.root).actions
    text = "\n".join(f"{seen} {fix}" for seen, fix in operation_errors(action))
    assert all(phrase in text for phrase in present), text
    assert not any(phrase in text for phrase in absent), text


def test_other_record_field_maps_get_the_generic_unknown_field_row(tmp_path: Path) -> None:
    custom = {"type": "object", "properties": {"fields": {
        "type": "object", "propertyNames": {"pattern": "^(mx_Custom_[0-9]+|Status)$"},
        "additionalProperties": {"type": "string"}}}}
    entry = create_lead_entry(key="create_task", display_name="Create Task", group="Tasks",
                              handler="operations.create_task", endpoint="POST Task.svc/Create",
                              sample_input={"fields": {"mx_Custom_1": "x"}})
    built = TmpConnector(tmp_path / "root").add_action(entry, input_schema=custom)
    (action,) = read_manifest(built.root).actions
    seen = [row[0] for row in operation_errors(action)]
    assert seen[1].startswith("`unknown <record> field(s)`")
    assert not any("unknown lead field" in text for text in seen)


def test_find_output_documents_found_and_nullable_record(tmp_path: Path) -> None:
    output = {
        "$ref": "../common/found.json", "required": ["found", "lead"],
        "properties": {"lead": {"anyOf": [{"$ref": "../common/lead.json"}, {"type": "null"}],
                                "description": "The lead, or null."}},
    }
    entry = create_lead_entry(key="find_lead", display_name="Find Lead",
                              handler="operations.find_lead",
                              endpoint="GET LeadManagement.svc/Leads.GetById",
                              sample_output={"found": False, "lead": None})
    built = TmpConnector(tmp_path / "root").add_action(entry, output_schema=output)
    page = render_docs(read_manifest(built.root))["actions/find_lead.md"]
    rows = section(page, "Output").splitlines()
    assert rows[2] == "| `lead` | object or null | yes | The lead, or null. | |"
    assert rows[3].startswith("| `lead.ProspectID` | string | yes, when its parent is not null |")
    assert "| `found` | boolean | yes | Whether a matching record exists. | |" in rows
    assert "| `\"found\": false` (not an error) |" in section(page, "Errors")


# -- trigger pages -------------------------------------------------------------------------


def test_polling_trigger_page(docs: dict[str, str]) -> None:
    page = docs["triggers/new_account.md"]
    assert "`new_account` · polling trigger · group Companies" in page
    fires = section(page, "How it fires")
    assert "- **Kind:** polling." in fires
    assert "the newest `CreatedOn` seen" in fires and "10-minute overlap" in fires
    assert "- **Dedupe key:** `CompanyId`." in fires
    assert section(page, "Trigger configuration").splitlines()[2] == (
        "| `company_type` | string | yes | The Company Type. | |")
    assert "| `CompanyId` | string | yes |" in section(page, "Event (output)")
    assert json.loads(section(page, "Sample configuration").strip()[7:-3]) == {
        "company_type": "Company"}


def test_membership_trigger_page(docs: dict[str, str]) -> None:
    fires = section(docs["triggers/lead_added_to_list.md"], "How it fires")
    assert "compares it with the snapshot kept in the state store" in fires
    assert "`ProspectID`" in fires


def test_instant_trigger_page(docs: dict[str, str]) -> None:
    page = docs["triggers/new_lead.md"]
    fires = section(page, "How it fires")
    assert "- **Kind:** instant." in fires
    assert "- **Webhook event:** lead create (`WebhookEvent` 3)" in fires
    assert "durable inbox" in fires
    assert section(page, "Trigger configuration").strip() == (
        "This instant trigger takes no configuration.")


def test_composite_dedupe_key(tmp_path: Path) -> None:
    entry = new_account_entry(key="account_updated", display_name="Account Updated",
                              handler="triggers.account_updated",
                              dedupe_key=["CompanyId", "ModifiedOn"],
                              sample_output={"CompanyId": "5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e01",
                                             "ModifiedOn": "2024-05-01 10:00:00"})
    built = TmpConnector(tmp_path / "root").add_trigger(entry)
    page = render_docs(read_manifest(built.root))["triggers/account_updated.md"]
    assert "- **Dedupe key:** `CompanyId` + `ModifiedOn`." in page


# -- writing, checking, CLI ----------------------------------------------------------------


def test_write_removes_only_stale_generated_pages(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    (out / "actions").mkdir(parents=True)
    (out / "actions" / "gone.md").write_text(MARKER + "\n\nold\n", encoding="utf-8")
    (out / "actions" / "notes.md").write_text("hand-written\n", encoding="utf-8")
    files = {"README.md": MARKER + "\n", "actions/create_lead.md": MARKER + "\n\nnew\n"}
    assert write_docs(files, out) == ["README.md", "actions/create_lead.md", "actions/gone.md"]
    assert sorted(tree(out)) == ["README.md", "actions/create_lead.md", "actions/notes.md"]
    assert write_docs(files, out) == []  # unchanged files are not rewritten
    assert compare_docs(files, out) == [
        "actions/notes.md: not generated from the manifest (remove it)"]
    (out / "README.md").write_text("edited\n", encoding="utf-8")
    (out / "actions" / "create_lead.md").unlink()
    assert compare_docs(files, out) == [
        "README.md: out of date", "actions/create_lead.md: missing",
        "actions/notes.md: not generated from the manifest (remove it)"]
    (out / "images").mkdir()
    (out / "images" / "ui-runs.png").write_bytes(b"\x89PNG")  # hand-made figures are left alone
    assert len(compare_docs(files, out)) == 3
    assert write_docs(files, out) == ["README.md", "actions/create_lead.md"]
    assert (out / "images" / "ui-runs.png").is_file()


def test_cli_writes_then_check_passes_and_fails_when_stale(
    connector: TmpConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    base = ["docs", "--root", str(connector.root), "--out", str(out)]
    assert main(base) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{out}: 5 files, 5 changed"
    assert tree(out) == {k: v.encode() for k, v in
                         render_docs(read_manifest(connector.root)).items()}
    assert main([*base, "--check"]) == 0
    assert capsys.readouterr().out == f"{out}: up to date (5 files)\n"
    connector.add_action(create_lead_entry(key="update_lead", display_name="Update Lead",
                                           handler="operations.update_lead"))
    assert main([*base, "--check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "  README.md: out of date", "  actions/update_lead.md: missing",
        f"{out}: the docs are stale; {FIX}",
    ]


def test_cli_default_out_is_docs_in_the_root(
    connector: TmpConnector, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["docs", "--root", str(connector.root)]) == 0
    assert (connector.root / "docs" / "actions" / "create_lead.md").is_file()


def test_cli_reports_an_invalid_manifest_in_one_line(
    connector: TmpConnector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connector.manifest["triggers"] = None
    connector.save()
    assert main(["docs", "--root", str(connector.root), "--out", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: connector.yaml is invalid") and err.count("\n") == 1
    assert not (tmp_path / "x").exists()


# -- schema walking ------------------------------------------------------------------------

GUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def rows_of(schema: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [(r.name, r.type, r.required, r.description, r.allowed)
            for r in field_table(schema).rows]


def test_walk_alternative_shapes_become_options() -> None:
    schema = {
        "type": "object", "required": ["mode"],
        "properties": {"mode": {"enum": ["fast", "slow"], "default": "fast"},
                       "lead_id": {"type": "string", "pattern": GUID}},
        "oneOf": [{"required": ["lead_id"]},
                  {"required": ["email"], "properties": {"email": {"type": "string",
                                                                   "format": "email"}}}],
    }
    table = field_table(schema)
    assert table.notes == ("Give exactly one of these options: (1) `lead_id`; (2) `email`.",)
    assert rows_of(schema) == [
        ("mode", "string", "yes", "", "one of `fast`, `slow`; default `fast`"),
        ("lead_id", "string", "in option 1", "", "GUID (8-4-4-4-12 hex digits)"),
        ("email", "string", "in option 2", "", "email address"),
    ]


def test_walk_nested_objects_arrays_and_maps() -> None:
    schema = {"type": "object", "properties": {
        "owner": {"type": "object", "required": ["email"], "description": "Who owns it.",
                  "properties": {"email": {"type": "string"}, "id": {"type": "string"}}},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True,
                 "maxItems": 3},
        "rows": {"type": "array", "items": {"type": "object", "required": ["n"],
                                            "properties": {"n": {"type": "integer",
                                                                 "minimum": 1}}}},
        "extra": {"type": "object", "additionalProperties": {"type": "string"},
                  "propertyNames": {"pattern": "^mx_"}},
    }}
    assert rows_of(schema) == [
        ("owner", "object", "no", "Who owns it.", ""),
        ("owner.email", "string", "yes, when its parent is given", "", ""),
        ("owner.id", "string", "no", "", ""),
        ("tags", "array of string", "no", "", "at most 3 items; no duplicates; each: one of "
         "`a`, `b`"),
        ("rows", "array of object", "no", "", ""),
        ("rows[].n", "integer", "yes, in each item", "", "≥ 1"),
        ("extra", "object", "no", "", ""),
        ("extra.<name>", "string", "no", "", "names: matches `^mx_`"),
    ]


def test_walk_scalar_alternatives_all_of_formats_and_pipes() -> None:
    schema = {"type": "object", "required": ["when"], "allOf": [
        {"properties": {"code": {"const": 12000}}, "required": ["code"]}],
        "properties": {
            "when": {"anyOf": [{"type": "string", "format": "date-time"},
                               {"type": "null"}], "description": "When | if ever."},
            "day": {"type": "string", "format": "date", "examples": ["2024-05-01"]},
            "name": {"type": "string", "pattern": "^(a|b)$", "minLength": 1, "maxLength": 1},
        }}
    assert rows_of(schema) == [
        ("when", "string or null", "yes", "When \\| if ever.",
         "ISO 8601 date-time with a zone, e.g. `2024-05-01T10:00:00Z`"),
        ("day", "string", "no", "", "date `yyyy-MM-dd`; e.g. `2024-05-01`"),
        ("name", "string", "no", "", "matches `^(a\\|b)$`; at least 1 character; "
         "at most 1 character"),
        ("code", "integer", "yes", "", "always `12000`"),
    ]


def test_walk_empty_and_open_schemas() -> None:
    assert field_table({"type": "object"}).rows == ()
    assert rows_of({"type": "object", "properties": {"anything": {}}}) == [
        ("anything", "any", "no", "", "")]
