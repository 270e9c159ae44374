"""User actions: find_user (User/Retrieve/ByUserId, ByEmailAddress) and list_users (Users.Get),
against the sandbox and against the documented answer of a real account (reference §11)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.errors import RecordNotFoundError
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import RunningSandbox
from tests.actions.conftest import Invoke
from tests.fakes import FakeLeadSquared, fake_connection, ok
from tests.seed_ids import ADMIN, MEERA, MISSING, RAVI


@pytest.mark.parametrize("inputs", [{"user_id": RAVI}, {"email": "RAVI.Sales@example.com"}],
                         ids=["by-id", "by-email"])
def test_find_user_gives_the_user_with_id_and_status(invoke: Invoke, inputs: dict) -> None:
    output = invoke("find_user", inputs)
    assert output["found"] is True
    user = output["user"]
    assert (user["ID"], user["EmailAddress"], user["Role"], user["StatusCode"]) == (
        RAVI, "ravi.sales@example.com", "Sales_User", 0)


def test_an_inactive_or_unknown_user_is_not_found(
    invoke: Invoke, sandbox: RunningSandbox
) -> None:
    sandbox.app.state.tenants["41872"].users[MEERA]["StatusCode"] = 1
    assert invoke("find_user", {"user_id": MEERA}) == {"found": False, "user": None}
    assert invoke("find_user", {"email": "nobody@example.com"}) == {"found": False, "user": None}
    with pytest.raises(RecordNotFoundError, match=f"no user with id or email {MISSING}"):
        invoke("find_user", {"user_id": MISSING, "fail_if_not_found": True})


def test_find_user_reads_the_documented_detail_answer(manifest: Manifest) -> None:
    # The docs' sample of ByUserId: UserId, no StatusCode, nested Groups (reference §11, S67).
    answer = [{"UserId": RAVI, "FirstName": "John", "EmailAddress": "john@example.com",
               "Role": "Sales_User", "OrgId": 22824, "IsPhoneCallAgent": True,
               "Groups": [{"Id": "022bc5d4", "Name": "Delhi"}], "mx_Custom_1": "Unmarried"}]
    with FakeLeadSquared() as fake:
        fake.add("GET", "UserManagement.svc/User/Retrieve/ByUserId", ok(answer))
        with LeadSquaredClient(fake_connection(), session=fake.session()) as client:
            output = invoke_action(manifest, "find_user", {"user_id": RAVI}, client)
    user = output["user"]
    assert (user["ID"], user["UserId"], user["StatusCode"], user["OrgId"]) == (RAVI, RAVI, 0, 22824)
    assert user["Groups"] == '[{"Id": "022bc5d4", "Name": "Delhi"}]'  # records hold scalars


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        ({}, [ADMIN, RAVI, MEERA]),
        ({"role": "sales_user"}, [RAVI, MEERA]),
        ({"status": "inactive"}, [MEERA]),
        ({"status": "all", "role": "Administrator"}, [ADMIN]),
    ],
    ids=["active", "role-any-case", "inactive", "all-of-a-role"],
)
def test_list_users_by_status_and_role(
    invoke: Invoke, request_log: Any, sandbox: RunningSandbox, inputs: dict, expected: list
) -> None:
    if inputs.get("status") == "inactive":
        sandbox.app.state.tenants["41872"].users[MEERA]["StatusCode"] = 1
        expected_active = [ADMIN, RAVI]
        assert [u["ID"] for u in invoke("list_users", {})["users"]] == expected_active
    output = invoke("list_users", inputs)
    assert [user["ID"] for user in output["users"]] == expected
    assert output["count"] == len(expected)
    assert set(request_log.operations()) == {"UserManagement.svc/Users.Get"}


def test_list_users_reads_group_names_as_a_list(manifest: Manifest) -> None:
    answer = [{"ID": RAVI, "FirstName": "Bob", "Role": "Sales_User", "StatusCode": 0,
               "MemberOfGroups": ["Test"], "Tag": None, "IsPhoneCallAgent": False}]
    with FakeLeadSquared() as fake:
        fake.add("GET", "UserManagement.svc/Users.Get", ok(answer))
        with LeadSquaredClient(fake_connection(), session=fake.session()) as client:
            output = invoke_action(manifest, "list_users", {}, client)
    assert output["users"][0]["MemberOfGroups"] == ["Test"]
