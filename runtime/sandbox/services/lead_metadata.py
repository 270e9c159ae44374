"""LeadManagement.svc/LeadsMetaData.Get: the lead field descriptors of an account.

Every account has LeadSquared's standard (system) lead fields, listed in :data:`STANDARD_FIELDS`;
a tenant's seed adds its custom ``mx_`` fields under ``lead_fields``. ``tenant.lead_fields``
holds the full descriptors, in the shape the API returns them (reference §4.7, apidocs
"Get a Lead Field's Properties"). Other lead code looks fields up with :func:`field_index`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from runtime.sandbox.request import SandboxRequest
from runtime.sandbox.routing import Router
from runtime.sandbox.state import Tenant

router = Router()

SYSTEM_USER_NAME = "System"
SYSTEM_CREATED_ON = datetime(2014, 12, 1, 17, 13, 16, tzinfo=UTC)  # a fixed account epoch

# RenderType integers: Phone = 6 and Dropdown = 13 are in the docs' examples; the others are
# UNKNOWN in the reference: chosen here, one number per RenderTypeTextValue.
RENDER_TYPES = {
    "Textbox": 0, "TextArea": 1, "Email": 2, "URL": 3, "Date": 4, "DateTime": 5, "Phone": 6,
    "Time": 7, "RadioButton": 8, "CheckBox": 9, "Lookup": 10, "Dropdown": 13,
}
DEFAULT_RENDER = {
    "Text": "Textbox", "Number": "Textbox", "Email": "Email", "Phone": "Phone",
    "Website": "URL", "Date": "Date", "Time": "Time", "Select": "Dropdown", "Boolean": "CheckBox",
}

# (SchemaName, DisplayName, DataType, MaxLength, IsLeadIdentifier, LockAfterCreate, options)
# LockAfterCreate: 0 = editable, 1 = locked after create, 2 = system-managed (read-only).
STANDARD_FIELDS: tuple[tuple[str, str, str, str, bool, int, tuple[str, ...]], ...] = (
    ("ProspectID", "Lead Id", "Text", "50", False, 2, ()),
    ("ProspectAutoId", "Lead Number", "Number", "20", False, 2, ()),
    ("FirstName", "First Name", "Text", "100", False, 0, ()),
    ("LastName", "Last Name", "Text", "100", False, 0, ()),
    ("EmailAddress", "Email", "Email", "100", True, 0, ()),
    ("Phone", "Phone Number", "Phone", "50", True, 0, ()),
    ("Mobile", "Mobile Number", "Phone", "50", False, 0, ()),
    ("Company", "Company", "Text", "200", False, 0, ()),
    ("JobTitle", "Job Title", "Text", "200", False, 0, ()),
    ("Website", "Website", "Website", "200", False, 0, ()),
    ("Source", "Lead Source", "Select", "100", False, 0,
     ("Website", "Inbound Phone Call", "Email Campaign", "Referral", "Trade Show", "API")),
    ("ProspectStage", "Lead Stage", "Select", "50", False, 0,
     ("Prospect", "Opportunity", "Customer", "Invalid", "Not Interested")),
    ("Score", "Lead Score", "Number", "20", False, 0, ()),  # LIKELY: writable by API
    ("EngagementScore", "Engagement Score", "Number", "20", False, 2, ()),
    ("OwnerId", "Lead Owner", "Text", "50", False, 0, ()),
    ("Notes", "Notes", "Text", "2000", False, 0, ()),
    ("DoNotEmail", "Do Not Email", "Boolean", "1", False, 0, ()),
    ("DoNotCall", "Do Not Call", "Boolean", "1", False, 0, ()),
    ("LeadType", "Object Type", "Select", "50", False, 1, ("OT_0", "OT_1", "OT_2")),
    ("RelatedCompanyId", "Account", "Text", "50", False, 0, ()),
    ("CreatedBy", "Created By", "Text", "50", False, 2, ()),
    ("CreatedOn", "Created On", "Date", "50", False, 2, ()),
    ("ModifiedBy", "Modified By", "Text", "50", False, 2, ()),
    ("ModifiedOn", "Modified On", "Date", "50", False, 2, ()),
)

SYSTEM_MANAGED = 2  # LockAfterCreate value of fields the API never writes


def wcf_date(moment: datetime) -> str:
    """``/Date(1417453996000+0000)/``: the WCF JSON date LeadSquared's metadata uses (UTC)."""
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def describe_field(spec: dict[str, Any], created_on: datetime, owner: str) -> dict[str, Any]:
    """A full field descriptor from a compact spec (SchemaName, DisplayName, DataType, ...)."""
    name, data_type = str(spec["SchemaName"]), str(spec.get("DataType", "Text"))
    render = str(spec.get("RenderTypeTextValue") or DEFAULT_RENDER.get(data_type, "Textbox"))
    descriptor: dict[str, Any] = {
        "Entity": "1",
        "SchemaName": name,
        "DisplayName": spec.get("DisplayName", name),
        "DataType": data_type,
        "IsMandatory": bool(spec.get("IsMandatory", False)),
        "MaxLength": str(spec.get("MaxLength", "200")),
        "EntityAttributeId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"lsq-sandbox/lead-field/{name}")),
        "Name": name,
        "Description": spec.get("Description", spec.get("DisplayName", name)),
        "EntityAttributeType": 1,
        "RenderType": RENDER_TYPES.get(render, 0),
        "RenderTypeTextValue": render,
        "IsVisible": True,
        "IsSearchable": True,
        "ShowInMailMerge": True,
        "ShowInImport": int(spec.get("LockAfterCreate", 0)) != SYSTEM_MANAGED,
        "ShowInQuickAdd": name in {"FirstName", "LastName", "EmailAddress", "Phone"},
        "ShowInQuickSearch": name in {"FirstName", "LastName", "EmailAddress", "Phone", "Mobile"},
        "OwnerID": owner,
        "CreatedBy": owner,
        "CreatedOn": wcf_date(created_on),
        "ModifiedBy": owner,
        "ModifiedOn": wcf_date(created_on),
        "OwnerIdName": SYSTEM_USER_NAME,
        "CreatedByName": SYSTEM_USER_NAME,
        "ModifiedByName": SYSTEM_USER_NAME,
        "IsLeadIdentifier": bool(spec.get("IsLeadIdentifier", False)),
        "LockAfterCreate": int(spec.get("LockAfterCreate", 0)),
        "UseInLeadClone": True,
        "IsSortable": True,
        "IsCustom": name.startswith("mx_"),
    }
    if data_type == "Select":
        descriptor["Options"] = [{"Value": str(value)} for value in spec.get("Options") or []]
    return descriptor


def _standard_specs() -> list[dict[str, Any]]:
    return [
        {
            "SchemaName": name, "DisplayName": display, "DataType": data_type,
            "MaxLength": max_length, "IsLeadIdentifier": identifier,
            "LockAfterCreate": lock, "Options": list(options),
        }
        for name, display, data_type, max_length, identifier, lock, options in STANDARD_FIELDS
    ]


def load_seed(tenant: Tenant, data: dict[str, Any]) -> None:
    """Standard fields for every tenant, then the seed's custom ``lead_fields``."""
    owner = next(iter(tenant.users), str(uuid.UUID(int=0)))
    fields = [describe_field(spec, SYSTEM_CREATED_ON, owner) for spec in _standard_specs()]
    for spec in data.get("lead_fields", []) or []:
        created = spec.get("CreatedOn")
        moment = (
            datetime.fromisoformat(str(created)).replace(tzinfo=UTC) if created
            else SYSTEM_CREATED_ON
        )
        fields.append(describe_field(spec, moment, owner))
    tenant.lead_fields = fields


def field_index(tenant: Tenant) -> dict[str, dict[str, Any]]:
    """The tenant's field descriptors keyed by lower-cased schema name."""
    return {field["SchemaName"].lower(): field for field in tenant.lead_fields}


@router.route("LeadManagement.svc/LeadsMetaData.Get", "GET")
def leads_metadata(request: SandboxRequest) -> list[dict[str, Any]]:
    """All lead fields, or one (``schemaName``); ``excludeOptionSets=1`` drops Options."""
    wanted = request.arg("schemaName")
    exclude_options = (request.arg("excludeOptionSets") or "").lower() in {"1", "true"}
    result = []
    for field in request.tenant.lead_fields:
        # UNKNOWN in the reference: schemaName is matched case-insensitively; a name that
        # matches no field gives [] (not an error).
        if wanted and field["SchemaName"].lower() != wanted.lower():
            continue
        descriptor = dict(field)
        if exclude_options:
            descriptor.pop("Options", None)  # UNKNOWN: the key is left out rather than null
        result.append(descriptor)
    return result
