"""The four example workflows end to end under `lsq serve` (the service in-process) against the
test sandbox: each test CAUSES its trigger for real through the API (the connector's own
actions), waits for the run, and asserts the effect in the sandbox with plain API calls."""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.engine.service import WorkflowService
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from runtime.store.history import HistoryStore
from runtime.store.state import StateStore
from runtime.workflows.runner import ClientPool, WorkflowRunner
from runtime.workflows.workflow import ManifestSchemas, load_workflow
from tests.conftest import RawApi
from tests.seed_ids import ACME, RAVI

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KAVYA = "kavya.iyer@example.com"  # a seeded lead that is not in the Newsletter list


@pytest.fixture
def serve(
    manifest: Manifest, client: LeadSquaredClient, tmp_path: Path
) -> Iterator[Callable[[str], WorkflowService]]:
    """``serve("welcome_email")``: the example under a started service (polls every second)."""
    services: list[WorkflowService] = []
    store = StateStore(tmp_path / "state.sqlite3")
    history = HistoryStore(tmp_path / "history.sqlite3")

    def start(name: str) -> WorkflowService:
        workflow = load_workflow(EXAMPLES / f"{name}.yaml", ManifestSchemas(manifest))
        if workflow.poll_interval:
            workflow = dataclasses.replace(workflow, poll_interval=1)
        runner = WorkflowRunner(manifest, ClientPool(lambda path: client), history)
        service = WorkflowService([workflow], runner, store, port=0, idle_wait=0.05)
        service.start()
        services.append(service)
        return service

    yield start
    for service in services:
        service.stop()
    store.close()
    history.close()


def run_of(service: WorkflowService, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not service.runs:
        assert time.monotonic() < deadline, "no run happened"
        time.sleep(0.05)
    (run,) = service.runs
    assert run.status == "succeeded", run.to_dict()
    return run


def test_welcome_email_for_a_new_lead(
    serve: Callable[[str], WorkflowService], manifest: Manifest, client: LeadSquaredClient,
    raw_api: RawApi,
) -> None:
    service = serve("welcome_email")
    created = invoke_action(manifest, "create_lead", {"fields": {
        "FirstName": "Meera", "LastName": "Nair", "EmailAddress": "meera.nair@example.com",
        "Company": "Umbrella", "OwnerId": RAVI,
    }}, client)

    run = run_of(service)
    assert run.origin == "webhook"
    assert [(s.step_id, s.status) for s in run.steps] == [("welcome", "succeeded")]
    (email,) = raw_api.control("GET", "outbox")["emails"]
    assert email["LeadId"] == created["lead_id"]
    assert email["To"] == "meera.nair@example.com"
    assert email["Subject"] == "Welcome, Meera!"
    assert "Hi Meera," in email["ContentHTML"] and " in Umbrella." in email["ContentHTML"]
    assert email["SenderUserId"] == RAVI  # sender: lead_owner
    assert email["IncludeEmailFooter"] is False  # transactional
    service.runner.history.close()
    stored = b"".join(path.read_bytes() for path in Path(service.runner.history.path).parent.glob(
        "history.sqlite3*"))
    assert DEFAULT_ACCESS_KEY.encode() not in stored and DEFAULT_SECRET_KEY.encode() not in stored
    assert b"meera.nair@example.com" in stored  # the run is there, without the keys


#: Operations the reference marks CONFIRMED (its quick index, §0): a real account serves them.
CONFIRMED_OPERATIONS = {
    "Authentication.svc/UserByAccessKey.Get", "LeadManagement.svc/Lead.Create",
    "LeadManagement.svc/LeadsMetaData.Get", "LeadManagement.svc/Leads.GetById",
    "LeadManagement.svc/Leads.GetByEmailaddress", "UserManagement.svc/Users.Get",
    "EmailMarketing.svc/SendEmailToLead", "Webhook.svc/Create",
    # LIKELY in §12.2 but from live-tested code (S30); subscribing reads before it writes.
    "Webhook.svc/Retrieve",
}


@pytest.fixture
def other_account(sandbox: Any) -> Iterator[None]:
    """The test sandbox as an account set up otherwise: its own email categories, and only the
    documented RecipientType (LeadEmailAddress; "LeadId" is LIKELY only)."""
    original = sandbox.app.seed
    seed = copy.deepcopy(original)
    tenant = seed["tenants"]["41872"]
    tenant["email_categories"] = ["Onboarding Mail", "Quarterly Review"]
    tenant["settings"]["email_recipient_types"] = ["LeadEmailAddress"]
    sandbox.app.reset(seed)
    try:
        yield
    finally:
        sandbox.app.reset(original)


def test_welcome_email_runs_on_an_account_with_other_email_categories(
    other_account: None, serve: Callable[[str], WorkflowService], manifest: Manifest,
    client: LeadSquaredClient, raw_api: RawApi,
) -> None:
    service = serve("welcome_email")
    invoke_action(manifest, "create_lead", {"fields": {
        "FirstName": "Ines", "EmailAddress": "ines.rao@example.com", "OwnerId": RAVI}}, client)
    run_of(service)
    (email,) = raw_api.control("GET", "outbox")["emails"]
    assert (email["To"], email["EmailCategory"]) == ("ines.rao@example.com", None)
    log = raw_api.control("GET", "requests")["requests"]
    assert {entry["operation"] for entry in log} <= CONFIRMED_OPERATIONS
    (send,) = [entry for entry in log if entry["operation"].endswith("SendEmailToLead")]
    assert send["body"]["RecipientType"] == "LeadEmailAddress"  # documented (§10.1)
    assert send["body"]["SenderType"] == "LeadOwner"  # documented
    assert "EmailCategory" not in send["body"]  # an unknown one is HTTP 500 (§10.1)


def test_follow_up_task_for_a_new_opportunity(
    serve: Callable[[str], WorkflowService], manifest: Manifest, client: LeadSquaredClient,
    raw_api: RawApi,
) -> None:
    service = serve("opportunity_follow_up")
    lead = invoke_action(manifest, "create_lead", {"fields": {
        "FirstName": "Arjun", "EmailAddress": "arjun.menon@example.com",
    }}, client)["lead_id"]
    renewal = invoke_action(manifest, "create_opportunity", {
        "lead_id": lead, "opportunity_type": "Renewal", "owner": RAVI,
        "fields": {"mx_Custom_1": "Not this one"},
    }, client)
    captured = invoke_action(manifest, "create_opportunity", {
        "lead_id": lead, "opportunity_type": "New Business", "owner": "ravi.sales@example.com",
        "fields": {"mx_Custom_1": "Umbrella rollout"},
    }, client)

    run = run_of(service)
    assert run.event["opportunity_id"] == captured["opportunity_id"] != renewal["opportunity_id"]
    tasks = raw_api.get("LeadManagement.svc/RetrieveTaskByLeadId", leadId=lead).json()["TaskList"]
    (task,) = tasks
    assert task["OwnerID"] == RAVI
    assert task["Name"] == "Follow up: Umbrella rollout"
    assert captured["opportunity_id"] in task["Description"]


def test_sync_accounts_copies_an_update_to_the_mirror(
    serve: Callable[[str], WorkflowService], manifest: Manifest, client: LeadSquaredClient,
    raw_api: RawApi,
) -> None:
    mirror = invoke_action(manifest, "create_account", {
        "company_type": "Partners", "fields": {"CompanyName": "Acme Corp", "City": "Old City"},
    }, client)["account_id"]
    service = serve("sync_accounts")  # its first poll is the baseline
    time.sleep(1.1)  # the change is stamped after the baseline's start
    invoke_action(manifest, "update_account", {"account_id": ACME, "fields": {
        "Phone": "+91-2249990000", "City": "Navi Mumbai", "Stage": "Prospect",
    }}, client)

    run = run_of(service)
    assert [(s.step_id, s.status) for s in run.steps] == [("mirror", "succeeded"),
                                                           ("copy", "succeeded")]
    found = invoke_action(manifest, "find_account", {
        "company_type": "Partners", "account_id": mirror}, client)["account"]
    assert (found["Phone"], found["City"], found["Stage"], found["Website"]) == (
        "+91-2249990000", "Navi Mumbai", "Prospect", "https://acme.example.com"
    )


def test_segment_and_enrich_a_lead_added_to_the_list(
    serve: Callable[[str], WorkflowService], manifest: Manifest, client: LeadSquaredClient,
    raw_api: RawApi,
) -> None:
    kavya = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress=KAVYA).json()
    invoke_action(manifest, "update_lead", {"lead_id": kavya[0]["ProspectID"], "fields": {
        "mx_City": "chennai "}, "post_updated_lead": False}, client)
    service = serve("segment_and_enrich")  # the first scan of the list is the baseline
    invoke_action(manifest, "add_lead_to_list", {
        "list_name": "Newsletter", "lead_email": KAVYA}, client)

    run = run_of(service)
    assert run.event["EmailAddress"] == KAVYA
    lead = raw_api.get("LeadManagement.svc/Leads.GetByEmailaddress", emailaddress=KAVYA).json()[0]
    assert lead["Notes"] == "Newsletter subscriber (source: Email Campaign)"
    assert lead["mx_City"] == "Chennai"


def test_deal_won_activity_for_a_won_opportunity(
    serve: Callable[[str], WorkflowService], manifest: Manifest, client: LeadSquaredClient,
    raw_api: RawApi,
) -> None:
    service = serve("deal_won_activity")
    lead = invoke_action(manifest, "create_lead", {"fields": {
        "FirstName": "Ines", "EmailAddress": "ines.won@example.com"}}, client)["lead_id"]
    deal = invoke_action(manifest, "create_opportunity", {
        "lead_id": lead, "opportunity_type": "New Business", "owner": "ravi.sales@example.com",
        "fields": {"mx_Custom_1": "Umbrella rollout", "mx_Custom_3": 420000},
    }, client)["opportunity_id"]
    invoke_action(manifest, "update_opportunity", {"opportunity_id": deal, "status": "Won"},
                  client)

    run = run_of(service)
    assert run.event["opportunity_id"] == deal
    assert [(s.step_id, s.status) for s in run.steps] == [("owner", "succeeded"),
                                                           ("won", "succeeded")]
    answer = raw_api.post("ProspectActivity.svc/Retrieve", {"Parameter": {"ActivityEvent": 202}},
                          leadId=lead).json()
    (activity,) = answer["ProspectActivities"]
    data = {pair["Key"]: pair["Value"] for pair in activity["Data"]}
    assert (activity["EventName"], data["mx_Custom_1"], data["mx_Custom_2"]) == (
        "Deal Won", "Umbrella rollout", "420000")
    assert (data["Owner"], data["Status"]) == (RAVI, "Completed")
    assert data["ActivityEvent_Note"] == "Won by Ravi: Umbrella rollout"
