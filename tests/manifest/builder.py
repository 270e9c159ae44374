"""Build small connector roots in a temp folder: connector.yaml, schemas and handlers.

A root gets the real meta-schema and common schemas, the real top-level manifest sections
and only the operations a test adds, so each test states exactly what it breaks.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import yaml

from runtime.plugin.manifest import PACKAGE_ROOT
from runtime.plugin.schemas import schema_id

SCHEMA = "https://json-schema.org/draft/2020-12/schema"

CREATE_LEAD_HANDLER = '''
def run(client, inputs):
    body = [{"Attribute": name, "Value": value} for name, value in inputs["fields"].items()]
    answer = client.post("LeadManagement.svc/Lead.Create", body, creates=True)
    return {"lead_id": answer["Message"]["Id"]}
'''
NEW_ACCOUNT_HANDLER = '''
from runtime.plugin.polling_contract import Page

ID_FIELD = "CompanyId"
TIME_FIELD = "CreatedOn"


def fetch_page(client, config, since, page):
    query = {"CompanyType": {"CompanyTypeName": config["company_type"]}}
    answer = client.post("CompanyManagement.svc/Company.Get", {"Query": query})
    return Page(answer["Companies"], has_more=False)


def events(client, config, item):
    return [dict(item)]


def event_key(item):
    return f"{item['CompanyId']}@{item['CreatedOn']}"
'''

NEW_LEAD_HANDLER = '''
def webhook(client, config):
    return {"WebhookEvent": "3"}


def events(client, config, item):
    return [dict(item)]


def event_key(item):
    return item["ProspectID"]


def sample(client, config, limit):
    return []
'''


def create_lead_entry(**changes: Any) -> dict[str, Any]:
    entry = {
        "key": "create_lead",
        "display_name": "Create Lead",
        "group": "Leads",
        "description": "Creates a lead with LeadManagement.svc/Lead.Create. "
        "Docs: https://apidocs.leadsquared.com/create-a-lead/",
        "endpoint": "POST LeadManagement.svc/Lead.Create",
        "handler": "operations.create_lead",
        "sample_input": {"fields": {"FirstName": "Priya", "EmailAddress": "priya@example.com"}},
        "sample_output": {"lead_id": "8a9b0c1d-2e3f-4a5b-8c6d-7e8f9a0b1c01"},
    }
    return {**entry, **changes}


CREATE_LEAD_INPUT = {
    "type": "object",
    "required": ["fields"],
    "properties": {
        "fields": {"$ref": "../common/lead_fields.json", "minProperties": 1,
                   "description": "The lead's fields by schema name."},
        "post_updated_lead": {"type": "boolean", "default": False,
                              "description": "Run LeadSquared automations."},
    },
    "additionalProperties": False,
}
CREATE_LEAD_OUTPUT = {
    "type": "object",
    "required": ["lead_id"],
    "properties": {"lead_id": {"$ref": "../common/ids.json#/$defs/lead_id"}},
    "additionalProperties": False,
}


def new_account_entry(**changes: Any) -> dict[str, Any]:
    entry = {
        "key": "new_account",
        "display_name": "New Account",
        "group": "Companies",
        "kind": "polling",
        "description": "Accounts created since the last poll, from "
        "CompanyManagement.svc/Company.Get. Docs: https://apidocs.leadsquared.com/get-companies/",
        "endpoint": "POST CompanyManagement.svc/Company.Get",
        "handler": "triggers.new_account",
        "dedupe_key": "CompanyId",
        "sample_input": {"company_type": "Company"},
        "sample_output": {"CompanyId": "5d6e7f80-9a0b-4c1d-8e2f-3a4b5c6d7e01",
                          "CompanyName": "Initech", "CreatedOn": "2024-05-01 10:00:00"},
    }
    return {**entry, **changes}


NEW_ACCOUNT_CONFIG = {
    "type": "object",
    "required": ["company_type"],
    "properties": {"company_type": {"type": "string", "description": "The Company Type."}},
    "additionalProperties": False,
}
NEW_ACCOUNT_OUTPUT = {"$ref": "../common/account.json"}


class TmpConnector:
    """A connector root under ``root`` with the real meta-schema and common schemas."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for folder in ("_meta", "common"):
            shutil.copytree(PACKAGE_ROOT / "schemas" / folder, root / "schemas" / folder)
        real = yaml.safe_load((PACKAGE_ROOT / "connector.yaml").read_text(encoding="utf-8"))
        self.manifest: dict[str, Any] = {**real, "actions": [], "triggers": []}
        self.save()

    def save(self) -> TmpConnector:
        text = yaml.safe_dump(self.manifest, sort_keys=False, allow_unicode=True)
        (self.root / "connector.yaml").write_text(text, encoding="utf-8")
        return self

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def schema(self, relpath: str, body: dict[str, Any]) -> Path:
        document = {"$schema": SCHEMA, "$id": schema_id(relpath), **body}
        return self.write(f"schemas/{relpath}", json.dumps(document, indent=2))

    def add_action(
        self,
        entry: dict[str, Any] | None = None,
        *,
        input_schema: dict[str, Any] | None = CREATE_LEAD_INPUT,
        output_schema: dict[str, Any] | None = CREATE_LEAD_OUTPUT,
        handler: str | None = CREATE_LEAD_HANDLER,
    ) -> TmpConnector:
        entry = entry or create_lead_entry()
        key = entry["key"]
        self.manifest["actions"].append(entry)
        if input_schema is not None:
            self.schema(f"actions/{key}.input.json", input_schema)
        if output_schema is not None:
            self.schema(f"actions/{key}.output.json", output_schema)
        if handler is not None:
            self.write(f"operations/{key}.py", handler)
        return self.save()

    def add_trigger(
        self,
        entry: dict[str, Any] | None = None,
        *,
        config_schema: dict[str, Any] | None = NEW_ACCOUNT_CONFIG,
        output_schema: dict[str, Any] | None = NEW_ACCOUNT_OUTPUT,
        handler: str | None = NEW_ACCOUNT_HANDLER,
    ) -> TmpConnector:
        entry = entry or new_account_entry()
        key = entry["key"]
        self.manifest["triggers"].append(entry)
        if config_schema is not None:
            self.schema(f"triggers/{key}.config.json", config_schema)
        if output_schema is not None:
            self.schema(f"triggers/{key}.output.json", output_schema)
        if handler is not None:
            self.write(f"triggers/{key}.py", handler)
        return self.save()
