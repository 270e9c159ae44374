"""Contract tests: the exact request every action sends, for every input it maps.

One table, :data:`CASES`: an action, its inputs, and every request it must send, in order,
each written out with literal values as LeadSquared documents it (path, query, body; reference
sections in the comments of :mod:`operations`). Each case runs through the runtime
(validation, handler, output check) against a freshly seeded sandbox, and the sandbox's request
log must equal the list exactly: a field the handler drops, renames or reshapes fails here.

:func:`test_every_input_of_every_action_is_covered` keeps the table complete: each property of
each action's input schema appears in at least one case. A new action (or a new input) fails it
until its contract is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from tests.seed_ids import ACME, ARJUN, MEERA, NEHA, NEWSLETTER, PRIYA, RAVI

OPPORTUNITY = "7a4e2c90-1b5d-4f6a-9c3e-000000000d01"
TASK = "2f7c9e14-6d8b-4a3e-8c55-000000000f01"
ACTIVITY = "5e2b8d41-7a9c-4f03-b6e2-000000000a01"
LEAD_ACTIVITY = "8e3c1a57-2d4b-4f6e-9a10-000000000b01"

Request = tuple[str, str, dict[str, str], Any]


def get(operation: str, **query: str) -> Request:
    """A GET of ``operation`` with ``query`` (values as LeadSquared reads them: text)."""
    return ("GET", operation, query, None)


def post(operation: str, body: Any, **query: str) -> Request:
    """A POST of ``operation`` with a JSON ``body`` (None: empty) and ``query``."""
    return ("POST", operation, query, body)


#: Look-ups many cases make first (each cached per client: a fresh client per case).
USERS = get("UserManagement.svc/Users.Get")
LEAD_FIELDS = get("LeadManagement.svc/LeadsMetaData.Get")
TASK_TYPES = get("Task.svc/RetrieveTaskType")
NEW_BUSINESS = get("OpportunityManagement.svc/GetOpportunityTypeMetadata", code="12000")
ACTIVITY_TYPES = get("ProspectActivity.svc/ActivityTypes.Get")
PRODUCT_DEMO_FIELDS = get("ProspectActivity.svc/CustomActivity/GetActivitySetting", code="201")


@dataclass(frozen=True)
class Contract:
    """An action, its inputs, and every request it sends (in order)."""

    action: str
    inputs: dict[str, Any]
    requests: list[Request]
    settings: dict[str, Any] = field(default_factory=dict)
    """Sandbox tenant settings the case needs (e.g. lead delete enabled)."""


CASES = [
    Contract("api_call", {
        "path": "LeadManagement.svc/Leads.GetByEmailaddress",
        "method": "GET",
        "query": {"emailaddress": "priya.sharma@example.com"},
    }, [
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="priya.sharma@example.com"),
    ]),
    Contract("api_call", {
        "path": "ProspectActivity.svc/Retrieve",
        "method": "POST",
        "query": {"leadId": PRIYA},
        "body": {"Parameter": {"ActivityEvent": 201}, "Paging": {"Offset": "0", "RowCount": "5"}},
    }, [
        post("ProspectActivity.svc/Retrieve", {
            "Parameter": {"ActivityEvent": 201},
            "Paging": {"Offset": "0", "RowCount": "5"},
        }, leadId=PRIYA),
    ]),
    Contract("add_lead_to_list", {"list_id": NEWSLETTER, "lead_id": ARJUN}, [
        get("LeadManagement.svc/Lists.Get", PageIndex="1"),
        post("LeadManagement.svc/AddLeadToStaticList", None, listId=NEWSLETTER, leadId=ARJUN),
    ]),
    Contract("add_lead_to_list", {
        "list_name": "Newsletter",
        "lead_email": "arjun.mehta@example.com",
    }, [
        get("LeadManagement.svc/Lists.Get", PageIndex="1", SearchText="Newsletter"),
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="arjun.mehta@example.com"),
        post("LeadManagement.svc/AddLeadToStaticList", None, listId=NEWSLETTER, leadId=ARJUN),
    ]),
    Contract("create_account", {
        "company_type": "Partners",
        "fields": {
            "CompanyName": "Umbrella",
            "OwnerId": "meera.sales@example.com",
            "mx_Industry": "Retail",
        },
    }, [
        USERS,
        post("CompanyManagement.svc/Company.Create", {
            "CompanyType": {"CompanyTypeName": "Partners"},
            "CompanyProperties": [
                {"Attribute": "CompanyName", "Value": "Umbrella"},
                {"Attribute": "OwnerId", "Value": MEERA},
                {"Attribute": "mx_Industry", "Value": "Retail"},
            ],
        }),
    ]),
    Contract("create_account_activity", {
        "account_id": ACME,
        "activity_event": 10001,
        "note": "Kick-off",
        "activity_date_time": "2030-01-02T15:30:00+05:30",
        "fields": {"Status": "Done", "Owner": "Meera.Sales@example.com", "mx_Custom_1": 3},
    }, [
        USERS,
        post("CompanyActivity.svc/Create", {
            "RelatedCompanyId": ACME,
            "ActivityEvent": 10001,
            "ActivityDateTime": "2030-01-02 10:00:00",
            "ActivityNote": "Kick-off",
            "Fields": [
                {"SchemaName": "Status", "Value": "Done"},
                {"SchemaName": "Owner", "Value": MEERA},
                {"SchemaName": "mx_Custom_1", "Value": "3"},
            ],
        }),
    ]),
    Contract("create_appointment", {
        "name": "Demo",
        "task_type": "Meeting",
        "lead_id": PRIYA,
        "start": "2030-02-03T10:00:00Z",
        "end": "2030-02-03T11:00:00Z",
        "location": "Pune office",
        "reminder_minutes": 30,
        "description": "Product demo",
        "owner": "meera.sales@example.com",
        "notify_by": "none",
        "fields": {},
    }, [
        TASK_TYPES,
        USERS,
        post("Task.svc/Create", {
            "RelatedEntity": 1,
            "Name": "Demo",
            "Description": "Product demo",
            "OwnerId": MEERA,
            "RelatedEntityId": PRIYA,
            "DueDate": "2030-02-03 10:00:00",
            "EndDate": "2030-02-03 11:00:00",
            "Reminder": 30,
            "Location": "Pune office",
            "NotifyBy": "1000",
            "TaskType": {"Name": "Meeting"},
        }),
    ]),
    Contract("create_appointment", {
        "name": "Review",
        "task_type": "Meeting",
        "opportunity_id": OPPORTUNITY,
        "start": "2030-02-04 10:00:00",
    }, [
        TASK_TYPES,
        post("Task.svc/Create", {
            "RelatedEntity": 5,
            "Name": "Review",
            "RelatedEntityId": OPPORTUNITY,
            "DueDate": "2030-02-04 10:00:00",
            "TaskType": {"Name": "Meeting"},
        }),
    ]),
    Contract("create_lead", {
        "fields": {
            "FirstName": "Ishaan",
            "EmailAddress": "ishaan@example.com",
            "mx_City": "Pune",
            "mx_Budget": 2500000,
        },
    }, [
        LEAD_FIELDS,
        post("LeadManagement.svc/Lead.Create", [
            {"Attribute": "FirstName", "Value": "Ishaan"},
            {"Attribute": "EmailAddress", "Value": "ishaan@example.com"},
            {"Attribute": "mx_City", "Value": "Pune"},
            {"Attribute": "mx_Budget", "Value": "2500000"},
        ]),
    ]),
    Contract("create_lead_activity", {
        "lead_id": PRIYA,
        "activity_type": "Product Demo",
        "note": "Pricing demo",
        "activity_date_time": "2030-01-02T15:30:00+05:30",
        "fields": {"Status": "Completed", "Owner": "Meera.Sales@example.com",
                   "mx_Custom_1": "Interested", "mx_Custom_2": 3},
    }, [
        ACTIVITY_TYPES,
        PRODUCT_DEMO_FIELDS,
        USERS,
        post("ProspectActivity.svc/Create", {
            "RelatedProspectId": PRIYA,
            "ActivityEvent": 201,
            "ActivityNote": "Pricing demo",
            "ActivityDateTime": "2030-01-02 10:00:00",
            "Fields": [
                {"SchemaName": "Status", "Value": "Completed"},
                {"SchemaName": "Owner", "Value": MEERA},
                {"SchemaName": "mx_Custom_1", "Value": "Interested"},
                {"SchemaName": "mx_Custom_2", "Value": "3"},
            ],
        }),
    ]),
    Contract("create_lead_activity", {
        "lead_email": "arjun.mehta@example.com",
        "activity_type": 203,
    }, [
        ACTIVITY_TYPES,
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="arjun.mehta@example.com"),
        post("ProspectActivity.svc/Create", {"RelatedProspectId": ARJUN, "ActivityEvent": 203}),
    ]),
    Contract("create_list", {
        "name": "Webinar May",
        "description": "Signed up for the May webinar",
    }, [
        post("LeadSegmentation.svc/CreateEmptyList", {
            "Name": "Webinar May",
            "Description": "Signed up for the May webinar",
        }),
    ]),
    Contract("create_opportunity", {
        "lead_id": PRIYA,
        "opportunity_type": "New Business",
        "status": "Open",
        "owner": "meera.sales@example.com",
        "note": "Second plant",
        "opportunity_date": "2030-01-05T14:30:00+05:30",
        "fields": {"mx_Custom_1": "Acme Mumbai", "mx_Custom_3": 120000},
    }, [
        NEW_BUSINESS,
        get("OpportunityManagement.svc/GetOpportunityTypeMetadata", code="12001"),
        get("OpportunityManagement.svc/GetOpportunityTypeMetadata", code="12002"),
        USERS,
        post("OpportunityManagement.svc/Capture", {
            "LeadDetails": [
                {"Attribute": "ProspectID", "Value": PRIYA},
                {"Attribute": "SearchBy", "Value": "ProspectId"},
            ],
            "Opportunity": {
                "OpportunityEventCode": 12000,
                "OpportunityNote": "Second plant",
                "OpportunityDateTime": "2030-01-05 09:00:00",
                "Fields": [
                    {"SchemaName": "mx_Custom_1", "Value": "Acme Mumbai"},
                    {"SchemaName": "mx_Custom_3", "Value": "120000"},
                    {"SchemaName": "Status", "Value": "Open"},
                    {"SchemaName": "Owner", "Value": MEERA},
                ],
            },
        }),
    ]),
    Contract("create_opportunity", {
        "lead_email": "arjun.mehta@example.com",
        "opportunity_type": 12000,
        "fields": {"mx_Custom_1": "Arjun deal"},
    }, [
        NEW_BUSINESS,
        post("OpportunityManagement.svc/Capture", {
            "LeadDetails": [
                {"Attribute": "EmailAddress", "Value": "arjun.mehta@example.com"},
                {"Attribute": "SearchBy", "Value": "EmailAddress"},
            ],
            "Opportunity": {
                "OpportunityEventCode": 12000,
                "Fields": [{"SchemaName": "mx_Custom_1", "Value": "Arjun deal"}],
            },
        }),
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="arjun.mehta@example.com"),
    ]),
    Contract("create_opportunity", {
        "lead_phone": "+91-9123456780",
        "opportunity_type": 12000,
        "fields": {"mx_Custom_1": "Arjun deal 2"},
    }, [
        NEW_BUSINESS,
        post("OpportunityManagement.svc/Capture", {
            "LeadDetails": [
                {"Attribute": "Phone", "Value": "+91-9123456780"},
                {"Attribute": "SearchBy", "Value": "Phone"},
            ],
            "Opportunity": {
                "OpportunityEventCode": 12000,
                "Fields": [{"SchemaName": "mx_Custom_1", "Value": "Arjun deal 2"}],
            },
        }),
        get("LeadManagement.svc/RetrieveLeadByPhoneNumber", phone="919123456780"),
    ]),
    Contract("create_task", {
        "name": "Call Priya",
        "task_type": "Call",
        "lead_id": PRIYA,
        "due_date": "2030-02-01T09:00:00Z",
        "reminder_before_days": 1,
        "reminder_time": "09:30",
        "description": "About the quote",
        "owner": "meera.sales@example.com",
        "notify_by": "email",
        "fields": {"mx_Custom_1": "Voicemail"},
    }, [
        TASK_TYPES,
        USERS,
        post("Task.svc/Create", {
            "RelatedEntity": 1,
            "Name": "Call Priya",
            "Description": "About the quote",
            "OwnerId": MEERA,
            "RelatedEntityId": PRIYA,
            "DueDate": "2030-02-01 09:00:00",
            "ReminderBeforeDays": "1",
            "ReminderTime": "09:30:00",
            "NotifyBy": "1100",
            "TaskType": {"Name": "Call"},
            "CustomFields": {"mx_Custom_1": "Voicemail"},
        }),
    ]),
    Contract("create_task", {
        "name": "Prepare quote",
        "task_type": "To-do",
        "opportunity_id": OPPORTUNITY,
    }, [
        TASK_TYPES,
        post("Task.svc/Create", {
            "RelatedEntity": 5,
            "Name": "Prepare quote",
            "RelatedEntityId": OPPORTUNITY,
            "TaskType": {"Name": "To-do"},
        }),
    ]),
    Contract("delete_account", {
        "account_id": ACME,
        "company_type": "Company",
        "delete_leads": True,
    }, [
        post("CompanyManagement.svc/Company.Get", {
            "Query": {
                "CompanyType": {"CompanyTypeName": "Company"},
                "FilterBy": {"LookupName": "CompanyId", "LookupValue": ACME, "SqlOperator": "="},
            },
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
            "Paging": {"PageIndex": 1, "PageSize": 100},
        }),
        get("CompanyManagement.svc/Company.Delete", companyId=ACME, withLeadDelete="true"),
    ]),
    Contract("delete_account_activity", {"activity_id": ACTIVITY}, [
        get("CompanyActivity.svc/RetrieveById", activityId=ACTIVITY),
        get("CompanyActivity.svc/Delete", activityId=ACTIVITY),
    ]),
    Contract("delete_lead", {"lead_id": NEHA}, [
        get("LeadManagement.svc/Leads.GetById", id=NEHA),
        get("LeadManagement.svc/Lead/Delete/ById", leadId=NEHA),
    ], settings={"lead_delete_enabled": True}),
    Contract("delete_opportunity", {"opportunity_id": OPPORTUNITY}, [
        get("OpportunityManagement.svc/GetOpportunityDetails", OpportunityId=OPPORTUNITY),
        get("OpportunityManagement.svc/Delete", Id=OPPORTUNITY),
    ]),
    Contract("delete_task", {"task_id": TASK}, [
        get("Task.svc/Retrieve.GetById", id=TASK),
        post("Task.svc/DeleteTasks", {"TaskIds": [TASK]}),
    ]),
    Contract("find_account", {
        "company_type": "Company",
        "account_id": ACME,
        "fail_if_not_found": True,
    }, [
        post("CompanyManagement.svc/Company.Get", {
            "Query": {
                "CompanyType": {"CompanyTypeName": "Company"},
                "FilterBy": {"LookupName": "CompanyId", "LookupValue": ACME, "SqlOperator": "="},
            },
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
            "Paging": {"PageIndex": 1, "PageSize": 100},
        }),
    ]),
    Contract("find_account", {"company_type": "Company", "name": "Acme Corp"}, [
        post("CompanyManagement.svc/Company.Get", {
            "Query": {"CompanyType": {"CompanyTypeName": "Company"}, "SearchText": "Acme Corp"},
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
            "Paging": {"PageIndex": 1, "PageSize": 100},
        }),
    ]),
    Contract("find_account_activity", {"activity_id": ACTIVITY, "fail_if_not_found": False}, [
        get("CompanyActivity.svc/RetrieveById", activityId=ACTIVITY),
    ]),
    Contract("find_account_activity", {
        "account_id": ACME,
        "from_date": "2025-01-01T00:00:00Z",
        "to_date": "2025-12-31 00:00:00",
        "page": 2,
        "page_size": 10,
    }, [
        post("CompanyActivity.svc/Retrieve", {
            "Parameter": {"FromDate": "2025-01-01 00:00:00", "ToDate": "2025-12-31 00:00:00"},
            "Paging": {"PageIndex": "2", "PageSize": "10"},
        }, companyId=ACME),
    ]),
    Contract("find_lead", {"lead_id": PRIYA, "fail_if_not_found": True}, [
        get("LeadManagement.svc/Leads.GetById", id=PRIYA),
    ]),
    Contract("find_lead", {"email": "priya.sharma@example.com"}, [
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="priya.sharma@example.com"),
    ]),
    Contract("find_lead", {"phone": "+91-98765 43210"}, [
        get("LeadManagement.svc/RetrieveLeadByPhoneNumber", phone="919876543210"),
    ]),
    Contract("find_lead", {"field": "mx_City", "value": "Pune", "operator": "LIKE"}, [
        LEAD_FIELDS,
        post("LeadManagement.svc/Leads.Get", {
            "Parameter": {"LookupName": "mx_City", "LookupValue": "Pune", "SqlOperator": "LIKE"},
            "Sorting": {"ColumnName": "ModifiedOn", "Direction": "1"},
            "Paging": {"PageIndex": 1, "PageSize": 100},
        }),
    ]),
    Contract("find_lead_activity", {"activity_id": LEAD_ACTIVITY, "fail_if_not_found": True}, [
        get("ProspectActivity.svc/GetActivityDetails", activityId=LEAD_ACTIVITY),
    ]),
    Contract("find_lead_activity", {
        "lead_id": PRIYA,
        "activity_type": "webinar attended",
        "from_date": "2025-01-01T00:00:00Z",
        "to_date": "2025-12-31 23:59:59",
        "page": 2,
        "page_size": 10,
    }, [
        ACTIVITY_TYPES,
        post("ProspectActivity.svc/Retrieve", {
            "Parameter": {"ActivityEvent": 203},
            "Paging": {"Offset": "0", "RowCount": "1000"},
        }, leadId=PRIYA),
    ]),
    Contract("find_lead_activity", {"lead_email": "priya.sharma@example.com"}, [
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="priya.sharma@example.com"),
        post("ProspectActivity.svc/Retrieve", {"Paging": {"Offset": "0", "RowCount": "1000"}},
             leadId=PRIYA),
    ]),
    Contract("find_list", {
        "name": "Hot Leads",
        "list_type": "dynamic",
        "fail_if_not_found": True,
    }, [
        get("LeadManagement.svc/Lists.Get", PageIndex="1", ListType="1", SearchText="Hot Leads"),
    ]),
    Contract("find_opportunity", {"opportunity_id": OPPORTUNITY, "fail_if_not_found": True}, [
        get("OpportunityManagement.svc/GetOpportunityDetails", OpportunityId=OPPORTUNITY),
    ]),
    Contract("find_opportunity", {"lead_id": PRIYA, "opportunity_type": 12000}, [
        NEW_BUSINESS,
        post("OpportunityManagement.svc/GetOpportunitiesOfLead", {
            "Paging": {"PageIndex": 1, "PageSize": 100},
            "Sorting": {"ColumnName": "CreatedOn", "Direction": "1"},
        }, leadId=PRIYA, opportunityType="12000"),
    ]),
    Contract("find_task", {"task_id": TASK, "fail_if_not_found": True}, [
        get("Task.svc/Retrieve.GetById", id=TASK),
    ]),
    Contract("find_task", {"lead_id": PRIYA}, [
        get("LeadManagement.svc/RetrieveTaskByLeadId", leadId=PRIYA),
    ]),
    Contract("find_user", {"user_id": RAVI, "fail_if_not_found": True}, [
        get("UserManagement.svc/User/Retrieve/ByUserId", userId=RAVI),
    ]),
    Contract("find_user", {"email": "Ravi.Sales@example.com"}, [
        get("UserManagement.svc/User/Retrieve/ByEmailAddress",
            emailAddress="Ravi.Sales@example.com"),
    ]),
    Contract("list_users", {"status": "all", "role": "sales_user"}, [USERS]),
    Contract("remove_lead_from_list", {"list_id": NEWSLETTER, "lead_id": PRIYA}, [
        get("LeadManagement.svc/Lists.Get", PageIndex="1"),
        get("LeadSegmentation.svc/RemoveLeadFromStaticList", ListId=NEWSLETTER, LeadID=PRIYA),
    ]),
    Contract("remove_lead_from_list", {
        "list_name": "Newsletter",
        "lead_email": "priya.sharma@example.com",
    }, [
        get("LeadManagement.svc/Lists.Get", PageIndex="1", SearchText="Newsletter"),
        get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress="priya.sharma@example.com"),
        get("LeadSegmentation.svc/RemoveLeadFromStaticList", ListId=NEWSLETTER, LeadID=PRIYA),
    ]),
    Contract("send_email", {
        "lead_email": "priya.sharma@example.com",
        "sender": "lead_owner",
        "template": "Welcome Email",
        "kind": "marketing",
        "category": "Acme Realty Digest",
    }, [
        post("EmailMarketing.svc/SendEmailToLead", {
            "SenderType": "LeadOwner",
            "Sender": "",
            "RecipientType": "LeadEmailAddress",
            "Recipient": "priya.sharma@example.com",
            "EmailType": "Template",
            "EmailLibraryName": "Welcome Email",
            "IncludeEmailFooter": True,
            "EmailCategory": "Acme Realty Digest",
        }),
    ]),
    Contract("send_email", {
        "lead_id": ARJUN,
        "sender": "ravi.sales@example.com",
        "subject": "Receipt",
        "html": "<p>Thanks</p>",
        "text": "Thanks",
        "cc": "asha.admin@example.com",
        "schedule": "2030-06-01T14:30:00+05:30",
        "kind": "transactional",
    }, [
        USERS,
        get("LeadManagement.svc/Leads.GetById", id=ARJUN),
        post("EmailMarketing.svc/SendEmailToLead", {
            "SenderType": "UserEmailAddress",
            "Sender": "ravi.sales@example.com",
            "RecipientType": "LeadEmailAddress",
            "Recipient": "arjun.mehta@example.com",
            "CCEmailAddress": "asha.admin@example.com",
            "EmailType": "Html",
            "ContentHTML": "<p>Thanks</p>",
            "ContentText": "Thanks",
            "Subject": "Receipt",
            "IncludeEmailFooter": False,
            "Schedule": "2030-06-01 09:00:00",
        }),
    ]),
    Contract("update_account", {
        "account_id": ACME,
        "fields": {"Phone": "+91-2240001999", "OwnerId": "meera.sales@example.com"},
    }, [
        USERS,
        post("CompanyManagement.svc/Company.Update", {
            "CompanyProperties": [
                {"Attribute": "Phone", "Value": "+91-2240001999"},
                {"Attribute": "OwnerId", "Value": MEERA},
            ],
        }, companyId=ACME),
    ]),
    Contract("update_account_activity", {
        "activity_id": ACTIVITY,
        "note": "Rescheduled",
        "fields": {"Status": "Moved", "mx_Custom_1": "Asha"},
    }, [
        post("CompanyActivity.svc/Update", {
            "CompanyActivityId": ACTIVITY,
            "ActivityNote": "Rescheduled",
            "Fields": [
                {"SchemaName": "Status", "Value": "Moved"},
                {"SchemaName": "mx_Custom_1", "Value": "Asha"},
            ],
        }),
    ]),
    Contract("update_lead", {
        "lead_id": PRIYA,
        "fields": {"LastName": "Sharma-Iyer", "mx_City": None},
        "post_updated_lead": False,
    }, [
        LEAD_FIELDS,
        post("LeadManagement.svc/Lead.Update", [
            {"Attribute": "LastName", "Value": "Sharma-Iyer"},
            {"Attribute": "mx_City", "Value": None},
        ], leadId=PRIYA, postUpdatedLead="false"),
    ]),
    Contract("update_lead_activity", {
        "activity_id": LEAD_ACTIVITY,
        "activity_type": "Product Demo",
        "note": "Rescheduled",
        "fields": {"mx_Custom_1": "Ready to buy", "Owner": "meera.sales@example.com"},
    }, [
        ACTIVITY_TYPES,
        PRODUCT_DEMO_FIELDS,
        USERS,
        get("ProspectActivity.svc/GetActivityDetails", activityId=LEAD_ACTIVITY),
        post("ProspectActivity.svc/CustomActivity/Update", {
            "ProspectActivityId": LEAD_ACTIVITY,
            "ActivityEvent": 201,
            "ActivityNote": "Rescheduled",
            "Fields": [  # the set fields not given are sent unchanged, then the changes
                {"SchemaName": "mx_Custom_2", "Value": "3"},
                {"SchemaName": "Status", "Value": "Completed"},
                {"SchemaName": "mx_Custom_1", "Value": "Ready to buy"},
                {"SchemaName": "Owner", "Value": MEERA},
            ],
        }),
    ]),
    Contract("update_opportunity", {
        "opportunity_id": OPPORTUNITY,
        "status": "Won",
        "owner": "meera.sales@example.com",
        "note": "Signed",
        "fields": {"mx_Custom_2": "Closed", "mx_Custom_3": 260000},
    }, [
        get("OpportunityManagement.svc/GetOpportunityDetails", OpportunityId=OPPORTUNITY),
        USERS,
        post("OpportunityManagement.svc/Update", {
            "ProspectOpportunityId": OPPORTUNITY,
            "OpportunityNote": "Signed",
            "Fields": [
                {"SchemaName": "mx_Custom_2", "Value": "Closed"},
                {"SchemaName": "mx_Custom_3", "Value": "260000"},
                {"SchemaName": "Status", "Value": "Won"},
                {"SchemaName": "Owner", "Value": MEERA},
            ],
        }),
    ]),
    Contract("update_task", {
        "task_id": TASK,
        "name": "Call again",
        "lead_id": ARJUN,
        "due_date": "2030-03-01T10:00:00Z",
        "end_date": "2030-03-01T10:30:00Z",
        "reminder_before_days": 2,
        "reminder_time": "08:00:00",
        "location": "Phone",
        "description": "Follow-up",
        "owner": "meera.sales@example.com",
        "notify_by": "email",
        "fields": {"mx_Custom_1": "Left voicemail"},
    }, [
        USERS,
        get("Task.svc/Retrieve.GetById", id=TASK),
        TASK_TYPES,
        post("Task.svc/Update", {
            "UserTaskId": TASK,
            "Name": "Call again",
            "Description": "Follow-up",
            "OwnerId": MEERA,
            "RelatedEntity": 1,
            "RelatedEntityId": ARJUN,
            "DueDate": "2030-03-01 10:00:00",
            "EndDate": "2030-03-01 10:30:00",
            "ReminderBeforeDays": "2",
            "ReminderTime": "08:00:00",
            "Location": "Phone",
            "NotifyBy": "1100",
            "CustomFields": {"mx_Custom_1": "Left voicemail"},
        }),
    ]),
    Contract("update_task", {
        "task_id": TASK,
        "opportunity_id": OPPORTUNITY,
        "reminder_minutes": 15,
    }, [
        post("Task.svc/Update", {
            "UserTaskId": TASK,
            "RelatedEntity": 5,
            "RelatedEntityId": OPPORTUNITY,
            "Reminder": 15,
        }),
    ]),
    Contract("upsert_lead", {
        "fields": {"EmailAddress": "neha.new@example.com", "FirstName": "Neha"},
        "search_by": "EmailAddress",
        "post_updated_lead": True,
    }, [
        LEAD_FIELDS,
        post("LeadManagement.svc/Lead.CreateOrUpdate", [
            {"Attribute": "EmailAddress", "Value": "neha.new@example.com"},
            {"Attribute": "FirstName", "Value": "Neha"},
            {"Attribute": "SearchBy", "Value": "EmailAddress"},
        ], postUpdatedLead="true"),
    ]),
]

IDS = [f"{case.action}-{n}" for n, case in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_action_sends_exactly_the_documented_requests(
    case: Contract, manifest: Manifest, client: LeadSquaredClient, raw_api: Any,
    request_log: Any,
) -> None:
    if case.settings:
        raw_api.control("POST", "settings", case.settings)
    invoke_action(manifest, case.action, case.inputs, client)
    sent = [(e["method"], e["operation"], e["query"], e["body"]) for e in request_log.all()]
    assert sent == case.requests


def test_every_input_of_every_action_is_covered(manifest: Manifest) -> None:
    used: dict[str, set[str]] = {}
    for case in CASES:
        used.setdefault(case.action, set()).update(case.inputs)
    missing = {
        action.key: sorted(set(action.input_schema["properties"]) - used.get(action.key, set()))
        for action in manifest.actions
    }
    assert {key: names for key, names in missing.items() if names} == {}
