"""Contract: UserManagement.svc users."""

from __future__ import annotations

from tests.seed_ids import ADMIN, RAVI


def test_users_get_lists_every_user_with_documented_keys(raw_api):
    response = raw_api.get("UserManagement.svc/Users.Get")
    assert response.status_code == 200
    users = response.json()
    assert [u["ID"] for u in users][:3] == [ADMIN, RAVI, "6f1c2a9e-0b1d-4c3e-9a55-1a2b3c4d5e03"]
    assert users[1] == {
        "ID": RAVI, "FirstName": "Ravi", "LastName": "Sales",
        "EmailAddress": "ravi.sales@example.com", "Role": "Sales_User", "StatusCode": 0,
        "MemberOfGroups": None, "Tag": None, "IsPhoneCallAgent": True,
    }


def test_user_by_id_answers_the_documented_detail_shape(raw_api):
    # The docs' sample (reference §11, S67): UserId (not ID), no StatusCode (active users only).
    [user] = raw_api.get("UserManagement.svc/User/Retrieve/ByUserId", userId=RAVI).json()
    assert user["UserId"] == RAVI and user["EmailAddress"] == "ravi.sales@example.com"
    assert "ID" not in user and "StatusCode" not in user


def test_user_by_email_is_case_insensitive(raw_api):
    rows = raw_api.get("UserManagement.svc/User/Retrieve/ByEmailAddress",
                       emailAddress="RAVI.SALES@example.com").json()
    assert [u["UserId"] for u in rows] == [RAVI]


def test_missing_user_is_empty_array(raw_api):
    assert raw_api.get("UserManagement.svc/User/Retrieve/ByUserId", userId="nope").json() == []
    assert raw_api.get("UserManagement.svc/User/Retrieve/ByEmailAddress",
                       emailAddress="nobody@example.com").json() == []


def test_inactive_user_is_listed_but_not_retrieved(raw_api, sandbox):
    sandbox.app.state.tenants["41872"].users[RAVI]["StatusCode"] = 1
    assert raw_api.get("UserManagement.svc/User/Retrieve/ByUserId", userId=RAVI).json() == []
    assert raw_api.get("UserManagement.svc/User/Retrieve/ByEmailAddress",
                       emailAddress="ravi.sales@example.com").json() == []
    listed = {u["ID"]: u["StatusCode"] for u in raw_api.get("UserManagement.svc/Users.Get").json()}
    assert listed[RAVI] == 1
