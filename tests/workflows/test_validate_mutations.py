"""`lsq validate` rejects the mistakes a new user makes, before anything runs.

A corpus of mutations of the five examples, each the kind of mistake the README's promise
covers: a misspelt trigger or step field, a missing or doubled input where inputs go
together, a constant of the wrong shape, and a name of the account's set-up (a custom field, a
task or opportunity type, a user) that the account does not have. Each mutated example must
give a problem at the mutated place whose message names the field and says what to do; the
unmutated examples have none. Account checks use the embedded sandbox, as `lsq validate` does
when no connection is configured.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from runtime.cli import main
from runtime.cli.accounts import WorkflowAccounts
from runtime.plugin.manifest import Manifest
from runtime.workflows.workflow import ManifestSchemas, check_workflow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: What every message must contain besides the field: how to fix it.
SUGGESTION = (
    "did you mean", "add ", "remove ", "keep only", "keep one", "expected ", "is not one of",
    "valid:", "known types", "active users", "custom fields start with mx_", "listed by",
    "minimum of", "maximum of",
)

Edit = Callable[[dict[str, Any]], None]


def put(path: str, value: Any) -> Edit:
    """Set ``steps.0.input.x`` (dotted; numbers index lists) to ``value``."""
    *parents, last = path.split(".")

    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[int(last) if isinstance(node, list) else last] = value

    return edit


def drop(path: str) -> Edit:
    *parents, last = path.split(".")

    def edit(data: dict[str, Any]) -> None:
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


def both(*edits: Edit) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        for one in edits:
            one(data)

    return edit


@dataclass(frozen=True)
class Mutation:
    """A mistake in an example: where the problem must be reported and a phrase it says."""

    id: str
    example: str
    edit: Edit
    location: str
    says: str


W, OF, S, E = "welcome_email", "opportunity_follow_up", "sync_accounts", "segment_and_enrich"
DW = "deal_won_activity"
WON = "steps.1.input"
WELCOME, TASK = "steps.0.input", "steps.0.input"
MIRROR, COPY = "steps.0.input", "steps.1.input"
LEAD, ENRICH = "steps.0.input", "steps.1.input"

MUTATIONS = [
    # -- welcome_email: New Lead -> Send Email
    Mutation("lead-id-typo", W, both(drop(f"{WELCOME}.lead_email"),
                                     put(f"{WELCOME}.lead_id", "{{ trigger.lead_idd }}")),
             "welcome.input.lead_id", "unknown field 'lead_idd' in the 'new_lead' event (did you "
             "mean 'lead_id'?)"),
    Mutation("first-name-typo", W, put(f"{WELCOME}.subject", "Hi {{ trigger.Frstname }}"),
             "welcome.input.subject", "did you mean 'FirstName'?"),
    Mutation("email-typo", W, put(f"{WELCOME}.lead_email", "{{ trigger.EmailAdress }}"),
             "welcome.input.lead_email", "did you mean 'EmailAddress'?"),
    Mutation("not-a-standard-field", W, put(f"{WELCOME}.subject", "{{ trigger.City }}"),
             "welcome.input.subject", "custom fields start with mx_"),
    Mutation("custom-field-typo", W, put(f"{WELCOME}.subject", "Hi {{ trigger.mx_Cty }}"),
             "welcome.input.subject", "not a lead field of this account; did you mean mx_City?"),
    Mutation("no-recipient", W, drop(f"{WELCOME}.lead_email"),
             "welcome.input", "add lead_email or lead_id"),
    Mutation("two-recipients", W, put(f"{WELCOME}.lead_id", "{{ trigger.lead_id }}"),
             "welcome.input", "lead_email and lead_id are both given: keep only one"),
    Mutation("html-and-template", W, put(f"{WELCOME}.template", "Welcome Email"),
             "welcome.input", "not both: remove html or template"),
    Mutation("html-without-subject", W, drop(f"{WELCOME}.subject"),
             "welcome.input", "add html with subject or template"),
    Mutation("unknown-kind", W, put(f"{WELCOME}.kind", "promotional"),
             "welcome.input.kind", "is not one of marketing, transactional"),
    Mutation("unknown-sender-keyword", W, put(f"{WELCOME}.sender", "owner"),
             "welcome.input.sender", "did you mean 'lead_owner'?"),
    Mutation("sender-not-a-user", W, put(f"{WELCOME}.sender", "nobody@example.com"),
             "welcome.input.sender", "is not a user of this account; active users:"),
    Mutation("cc-not-an-email", W, put(f"{WELCOME}.cc", "asha"),
             "welcome.input.cc", "expected an email address"),
    Mutation("cc-not-a-user", W, put(f"{WELCOME}.cc", "partner@example.org"),
             "welcome.input.cc", "is not a user of this account"),
    Mutation("schedule-not-a-date", W, put(f"{WELCOME}.schedule", "next monday"),
             "welcome.input.schedule", "expected an RFC 3339 / ISO 8601 date-time"),
    Mutation("input-typo", W, put(f"{WELCOME}.subjet", "Hi"),
             "welcome.input.subjet", "did you mean 'subject'?"),
    Mutation("condition-typo", W, put("steps.0.when", "trigger.EmailAdress"),
             "welcome.when", "did you mean 'EmailAddress'?"),
    Mutation("action-typo", W, put("steps.0.action", "send_mail"),
             "welcome.action", "did you mean 'send_email'?"),
    Mutation("trigger-typo", W, put("trigger.key", "new_leads"),
             "trigger.key", "did you mean 'new_lead'?"),
    # -- opportunity_follow_up: New Opportunity -> Create Task
    Mutation("unknown-opportunity-type", OF, put("trigger.config.opportunity_type", 12099),
             "trigger.config.opportunity_type", "is not an opportunity type of this account; "
             "known types: New Business (12000)"),
    Mutation("unknown-task-type", OF, put(f"{TASK}.task_type", "Todo"),
             "follow_up.input.task_type", "is not a task type of this account; valid:"),
    Mutation("opportunity-name-typo", OF, put(f"{TASK}.name", "{{ trigger.OpportunityNmae }}"),
             "follow_up.input.name", "did you mean 'OpportunityName'?"),
    Mutation("opportunity-custom-field", OF,
             put(f"{TASK}.description", "{{ trigger.mx_Custom_77 }}"),
             "follow_up.input.description", "not a field of this opportunity type (New Business)"),
    Mutation("owner-not-a-user", OF, put(f"{TASK}.owner", "ravi@example.com"),
             "follow_up.input.owner", "is not a user of this account"),
    Mutation("lead-and-opportunity", OF,
             put(f"{TASK}.opportunity_id", "{{ trigger.opportunity_id }}"),
             "follow_up.input.opportunity_id", "cannot be given together: keep one"),
    Mutation("task-custom-field", OF, put(f"{TASK}.fields", {"mx_Custom_9": "x"}),
             "follow_up.input.fields.mx_Custom_9", "not a field of this task type (To-do)"),
    Mutation("no-task-name", OF, drop(f"{TASK}.name"),
             "follow_up.input.name", "required input is missing: add it"),
    Mutation("reminder-time-shape", OF, put(f"{TASK}.reminder_time", "9 am"),
             "follow_up.input.reminder_time", "expected "),
    # -- sync_accounts: Account Updated -> Find Account -> Update Account
    Mutation("company-name-typo", S, put(f"{MIRROR}.name", "{{ trigger.CompanyNme }}"),
             "mirror.input.name", "did you mean 'CompanyName'?"),
    Mutation("phone-typo", S, put(f"{COPY}.fields.Phone", "{{ trigger.Phne }}"),
             "copy.input.fields.Phone", "did you mean 'Phone'?"),
    Mutation("output-field-typo", S,
             put(f"{COPY}.account_id", "{{ steps.mirror.acount.CompanyId }}"),
             "copy.input.account_id", "did you mean 'account'?"),
    Mutation("step-typo", S, put(f"{COPY}.account_id", "{{ steps.mirorr.account.CompanyId }}"),
             "copy.input.account_id", "did you mean 'mirror'?"),
    Mutation("id-and-name", S, put(f"{MIRROR}.account_id", "{{ trigger.account_id }}"),
             "mirror.input", "account_id and name are both given: keep only one"),
    Mutation("no-company-type", S, drop(f"{MIRROR}.company_type"),
             "mirror.input.company_type", "required input is missing: add it"),
    Mutation("found-typo", S, put("steps.1.when", "steps.mirror.fund"),
             "copy.when", "did you mean 'found'?"),
    Mutation("account-field-name-shape", S, put(f"{COPY}.fields.phone", "x"),
             "copy.input.fields.phone", "field name 'phone' does not fit: expected "),
    Mutation("poll-too-often", S, put("poll_interval", 0),
             "poll_interval", "minimum of 1"),
    # -- segment_and_enrich: Lead Added to List -> Find Lead -> Update Lead
    Mutation("custom-field-in-fields", E, put(f"{ENRICH}.fields.mx_Cty", "Pune"),
             "enrich.input.fields.mx_Cty", "did you mean mx_City?"),
    Mutation("standard-field-in-fields", E, put(f"{ENRICH}.fields.Note", "x"),
             "enrich.input.fields.Note", "did you mean Notes"),
    Mutation("find-output-custom-field", E,
             put(f"{ENRICH}.fields.mx_City", "{{ steps.lead.lead.mx_Citi }}"),
             "enrich.input.fields.mx_City", "did you mean mx_City?"),
    Mutation("find-output-standard-field", E,
             put(f"{ENRICH}.fields.Notes", "{{ steps.lead.lead.Sorce }}"),
             "enrich.input.fields.Notes", "did you mean 'Source'?"),
    Mutation("find-by-id-and-email", E, put(f"{LEAD}.email", "{{ trigger.EmailAddress }}"),
             "lead.input", "lead_id and email are both given: keep only one"),
    Mutation("find-by-unknown-field", E, both(drop(f"{LEAD}.lead_id"),
                                              put(f"{LEAD}.field", "mx_Cty"),
                                              put(f"{LEAD}.value", "Pune")),
             "lead.input.field", "did you mean mx_City?"),
    Mutation("field-without-value", E,
             both(drop(f"{LEAD}.lead_id"), put(f"{LEAD}.field", "mx_City")),
             "lead.input.value", "required with field: add value"),
    Mutation("list-id-and-name", E, put("trigger.config.list_id",
                                        "a7c4e1f0-3b2d-4e6a-8f91-000000000301"),
             "trigger.config", "list_id and list_name are both given: keep only one"),
    Mutation("no-list", E, drop("trigger.config.list_name"),
             "trigger.config", "add list_id or list_name"),
    # -- deal_won_activity: Updated Opportunity -> Find User -> Create Lead Activity
    Mutation("activity-type-typo", DW, put(f"{WON}.activity_type", "Deal Wonn"),
             "won.input.activity_type", "did you mean Deal Won (202)?"),
    Mutation("activity-field-of-another-type", DW, put(f"{WON}.fields.mx_Custom_5", "x"),
             "won.input.fields.mx_Custom_5", "not a field of this lead activity type (Deal Won); "
             "did you mean"),
    Mutation("activity-field-display-name", DW, put(f"{WON}.fields.Deal Value", "1"),
             "won.input.fields.Deal Value", "Status, Owner or a custom field mx_Custom_<n>"),
    Mutation("user-output-typo", DW, put(f"{WON}.note", "{{ steps.owner.user.FristName }}"),
             "won.input.note", "did you mean 'FirstName'?"),
    Mutation("lead-and-email", DW, put(f"{WON}.lead_email", "ines@example.com"),
             "won.input", "keep only one"),
]


@pytest.fixture(scope="module")
def schemas(manifest: Manifest) -> ManifestSchemas:
    return ManifestSchemas(manifest)


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkflowAccounts]:
    """The embedded sandbox's account, asked by every case (its look-ups are cached once)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
            patch.delenv(name, raising=False)
        folder = tmp_path_factory.mktemp("mutations")
        resolver = WorkflowAccounts(str(folder / "workflow.yaml"), None, environ={})
        yield resolver
        resolver.close()


@pytest.fixture
def check(
    schemas: ManifestSchemas, accounts: WorkflowAccounts, tmp_path: Path
) -> Callable[[str, Edit | None], list[str]]:
    """``check(example, edit)``: the problems of the example after ``edit``, with account
    checks against the embedded sandbox (no connection configured)."""

    def run(example: str, edit: Edit | None) -> list[str]:
        data = copy.deepcopy(
            yaml.safe_load((EXAMPLES / f"{example}.yaml").read_text(encoding="utf-8")))
        if edit is not None:
            edit(data)
        path = tmp_path / f"{example}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return check_workflow(path, schemas, name=example, accounts=accounts)

    return run


def test_the_corpus_covers_the_five_examples_with_thirty_mutations_or_more() -> None:
    assert {m.example for m in MUTATIONS} == {W, OF, S, E, DW}
    assert len(MUTATIONS) >= 30
    assert len({m.id for m in MUTATIONS}) == len(MUTATIONS)


@pytest.mark.parametrize("example", [W, OF, S, E, DW])
def test_the_examples_are_valid(example: str, check: Callable[..., list[str]]) -> None:
    assert check(example, None) == []


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.id for m in MUTATIONS])
def test_each_mutation_is_rejected_naming_the_field_and_the_fix(
    mutation: Mutation, check: Callable[..., list[str]]
) -> None:
    problems = check(mutation.example, mutation.edit)
    at = [p for p in problems if p.startswith(f"{mutation.example}:{mutation.location}: ")]
    assert any(mutation.says in p for p in at), problems
    for problem in problems:
        location, _, message = problem.partition(": ")
        assert location.count(":") == 1 and location.split(":")[1], problem  # names a field
        assert any(hint in message for hint in SUGGESTION), problem


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (put(f"{WELCOME}.subject", "Hi {{ trigger.lead_idd }}"),
         "welcome.input.subject: trigger.lead_idd: unknown field 'lead_idd' in the 'new_lead' "
         "event (did you mean 'lead_id'?)"),
        (drop(f"{WELCOME}.lead_email"),
         "welcome.input: missing inputs: add lead_email or lead_id (The recipient: exactly one "
         "of lead_email or lead_id)"),
        (put(f"{WELCOME}.subject", "Hi {{ trigger.mx_Cty }}"),
         "welcome.input.subject: trigger.mx_Cty: not a lead field of this account; did you "
         "mean mx_City? (checked with the embedded sandbox)"),
    ],
    ids=["unknown-trigger-field", "neither-lead-id-nor-email", "unknown-custom-field"],
)
def test_lsq_validate_rejects_the_three_mistakes_of_the_issue(
    edit: Edit, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    data = yaml.safe_load((EXAMPLES / "welcome_email.yaml").read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "welcome.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[1:] == [f"{path}:{expected}"]
    assert main(["validate", "--offline", str(path)]) == (0 if "mx_Cty" in expected else 1)
