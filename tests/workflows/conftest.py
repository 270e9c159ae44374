"""A small connector with hand-written handlers (in a temp root) and a fake client.

Runner unit tests use it: the real manifest loader, schema validation and invoke pipeline run,
only the handlers and the client are fakes, so every assertion is about the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from runtime.api.account import AccountIdentity
from runtime.api.connection import Connection
from runtime.api.redaction import Redactor
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.workflows.workflow import ManifestSchemas, Workflow, load_workflow
from tests.manifest.builder import TmpConnector

SECRET = "sk-very-secret-0123456789"

#: A two-step workflow (find the lead, then e-mail it) used by the runner and CLI tests.
WELCOME = """
    name: welcome
    trigger: {key: new_lead}
    steps:
      - id: find
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
      - id: mail
        action: send_email
        when: steps.find.found
        input:
          lead_id: "{{ steps.find.lead.ProspectID }}"
          subject: "Welcome, {{ trigger.FirstName }}!"
"""
DOCS = "Docs: https://apidocs.leadsquared.com/"
STRING = {"type": "string"}


def action_entry(
    key: str, group: str, display: str, sample_input: dict[str, Any], sample_output: dict[str, Any]
) -> dict[str, Any]:
    return {
        "key": key,
        "display_name": display,
        "group": group,
        "description": f"Test double of {key}. {DOCS}",
        "endpoint": "POST LeadManagement.svc/Lead.Create",
        "handler": f"operations.{key}",
        "sample_input": sample_input,
        "sample_output": sample_output,
    }


FIND_LEAD = '''
def run(client, inputs):
    client.calls.append(("find_lead", dict(inputs)))
    leads = client.leads
    lead = leads.get(inputs["email"])
    if lead is None:
        return {"found": False}
    return {"found": True, "lead": lead}
'''
SEND_EMAIL = '''
from runtime.errors import PermanentApiError

def run(client, inputs):
    client.calls.append(("send_email", dict(inputs)))
    if inputs["subject"] == "explode":
        raise PermanentApiError(
            "no such template", operation="EmailMarketing.svc/SendEmailToLead",
            status=500, exception_type="MXInvalidInputException",
        )
    if inputs["subject"] == "bug":
        raise RuntimeError("handler bug with " + client.secret)
    if inputs["subject"] == "bad output":
        return {"email_id": 42}
    return {"email_id": "mail-" + inputs["lead_id"], "echo": client.secret}
'''
UPDATE_LEAD = '''
def run(client, inputs):
    client.calls.append(("update_lead", dict(inputs)))
    gate = getattr(client, "gate", None)
    if gate is not None:  # tests hold a step "in flight" with a threading.Event
        gate.wait(10)
    return {"lead_id": inputs["lead_id"], "updated": True}
'''
NEW_LEAD = '''
def event_key(item):
    return item["ProspectID"] + "@" + item.get("ModifiedOn", "")

def events(client, config, item):
    client.calls.append(("events", dict(item)))
    if item.get("skip"):
        return []
    return [{"ProspectID": item["ProspectID"], "FirstName": item.get("FirstName", ""),
             "EmailAddress": item.get("EmailAddress")}]

def webhook(client, config):
    return {"WebhookEvent": 1}

def sample(client, config, limit):
    return [{"ProspectID": "lead-sample", "FirstName": "Sam", "EmailAddress": "sam@example.com"}]
'''
ACCOUNT_UPDATED = '''
from runtime.plugin.polling_contract import Page

ID_FIELD = "CompanyId"
TIME_FIELD = "ModifiedOn"


def fetch_page(client, config, since, page):
    client.calls.append(("fetch_page", {"page": page}))
    items = [a for a in client.accounts if a["ModifiedOn"] >= since.strftime("%Y-%m-%d %H:%M:%S")]
    return Page(items=items, has_more=False)


def event_key(item):
    return item["CompanyId"] + "@" + item["ModifiedOn"]


def events(client, config, item):
    return [dict(item)]
'''


class FakeClient:
    """Stands in for LeadSquaredClient: records calls, owns a redactor for its 'keys'."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.connection = Connection(
            access_key=secret, secret_key=secret + "-s", api_host="api-in21.leadsquared.com"
        )
        self.api_host = self.connection.api_host
        self.redactor = Redactor([secret])
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.leads: dict[str, dict[str, Any]] = {
            "ada@example.com": {"ProspectID": "lead-ada", "FirstName": "Ada"},
        }
        self.accounts: list[dict[str, Any]] = []
        self.closed = False

    def account(self) -> AccountIdentity:
        return AccountIdentity(org_id="org-test", api_host="api-in21.leadsquared.com")

    def close(self) -> None:
        self.closed = True


def build_connector(root: Path) -> TmpConnector:
    connector = TmpConnector(root)
    connector.add_action(
        action_entry(
            "find_lead", "Leads", "Find Lead", {"email": "a@example.com"}, {"found": False}
        ),
        input_schema={
            "type": "object", "required": ["email"], "additionalProperties": False,
            "properties": {"email": STRING, "limit": {"type": "integer", "default": 1}},
        },
        output_schema={
            "type": "object", "required": ["found"],
            "properties": {
                "found": {"type": "boolean"},
                "lead": {"type": "object", "properties": {"ProspectID": STRING,
                                                          "FirstName": STRING}},
            },
        },
        handler=FIND_LEAD,
    )
    connector.add_action(
        action_entry(
            "send_email", "Emails", "Send Email", {"lead_id": "l", "subject": "s"},
            {"email_id": "m"},
        ),
        input_schema={
            "type": "object", "required": ["lead_id", "subject"], "additionalProperties": False,
            "properties": {
                "lead_id": STRING, "subject": STRING,
                "api_token": {"type": "string", "writeOnly": True},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        output_schema={
            "type": "object", "required": ["email_id"],
            "properties": {"email_id": STRING, "echo": {"type": "string", "secret": True}},
        },
        handler=SEND_EMAIL,
    )
    connector.add_action(
        action_entry(
            "update_lead", "Leads", "Update Lead", {"lead_id": "l", "fields": {}},
            {"updated": True},
        ),
        input_schema={
            "type": "object", "required": ["lead_id", "fields"], "additionalProperties": False,
            "properties": {"lead_id": STRING, "fields": {
                "type": "object", "additionalProperties": {"type": ["string", "null"]}}},
        },
        output_schema={
            "type": "object",
            "properties": {"lead_id": STRING, "updated": {"type": "boolean"}},
        },
        handler=UPDATE_LEAD,
    )
    connector.add_trigger(
        {
            "key": "new_lead", "display_name": "New Lead (Instant)", "group": "Leads",
            "kind": "instant",
            "description": f"Test double of new_lead. {DOCS}",
            "endpoint": "POST Webhook.svc/Create", "handler": "triggers.new_lead",
            "dedupe_key": "ProspectID", "sample_input": {},
            "sample_output": {"ProspectID": "lead-1", "FirstName": "Ada"},
        },
        config_schema={"type": "object", "additionalProperties": False, "properties": {}},
        output_schema={
            "type": "object", "required": ["ProspectID"],
            "properties": {"ProspectID": STRING, "FirstName": STRING,
                           "EmailAddress": {"type": ["string", "null"]}},
        },
        handler=NEW_LEAD,
    )
    connector.add_trigger(
        {
            "key": "account_updated", "display_name": "Account Updated", "group": "Companies",
            "kind": "polling",
            "description": f"Test double of account_updated. {DOCS}",
            "endpoint": "POST CompanyManagement.svc/Companies.Get",
            "handler": "triggers.account_updated", "dedupe_key": "CompanyId",
            "sample_input": {},
            "sample_output": {"CompanyId": "c-1", "ModifiedOn": "2024-05-01 10:00:00"},
        },
        config_schema={"type": "object", "additionalProperties": False, "properties": {}},
        output_schema={
            "type": "object", "required": ["CompanyId"],
            "properties": {"CompanyId": STRING, "CompanyName": STRING, "ModifiedOn": STRING},
        },
        handler=ACCOUNT_UPDATED,
    )
    return connector


@pytest.fixture(scope="session")
def fake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("connector")
    build_connector(root)
    return root


@pytest.fixture(scope="session")
def fake_manifest(fake_root: Path) -> Manifest:
    return load_manifest(fake_root)


@pytest.fixture
def fake_client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def make_workflow(
    tmp_path: Path, fake_manifest: Manifest
) -> Callable[[str], Workflow]:
    """Write YAML (dedented) to a file, check it against the fake connector and load it."""

    def make(text: str, name: str = "flow.yaml") -> Workflow:
        path = tmp_path / name
        path.write_text(dedent(text), encoding="utf-8")
        return load_workflow(path, ManifestSchemas(fake_manifest))

    return make
