"""Contract: the request pipeline common to every API operation."""

from __future__ import annotations

from urllib.parse import quote

import requests

from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

USER_OP = "Authentication.svc/UserByAccessKey.Get"


def test_unknown_operation_is_404_with_lsq_error_body(raw_api):
    response = raw_api.get("LeadManagement.svc/Lead.DoesNotExist")
    assert response.status_code == 404
    assert response.json() == {
        "Status": "Error",
        "ExceptionType": "MXAPINotFoundException",
        "ExceptionMessage": "API could not be found",
    }


def test_operation_names_are_case_sensitive(raw_api):
    assert raw_api.get("Authentication.svc/userbyaccesskey.get").status_code == 404


def test_missing_keys_are_401(sandbox):
    response = requests.get(f"{sandbox.base_url}/v2/{USER_OP}", timeout=5)
    assert response.status_code == 401
    assert response.json()["Status"] == "Error"


def test_query_string_keys_must_be_url_encoded(sandbox):
    url = f"{sandbox.base_url}/v2/{USER_OP}?accessKey={quote(DEFAULT_ACCESS_KEY)}&secretKey={DEFAULT_SECRET_KEY}"
    assert requests.get(url, timeout=5).status_code == 200


def test_header_names_are_case_insensitive(sandbox):
    headers = {"X-LSQ-ACCESSKEY": DEFAULT_ACCESS_KEY, "x-lsq-secretkey": DEFAULT_SECRET_KEY}
    response = requests.get(f"{sandbox.base_url}/v2/{USER_OP}", headers=headers, timeout=5)
    assert response.status_code == 200


def test_user_by_access_key_reports_the_right_host_on_any_host(raw_api):
    response = raw_api.session.get(
        f"{raw_api.base_url}/v2/{USER_OP}", headers={"Host": "api-us11.leadsquared.com"}, timeout=5
    )
    assert response.status_code == 200
    assert response.json()["LSQCommonServiceURLs"]["api"] == "api-in21.leadsquared.com"


def test_request_log_never_holds_keys(sandbox):
    url = f"{sandbox.base_url}/v2/{USER_OP}?accessKey={quote(DEFAULT_ACCESS_KEY)}&secretKey={DEFAULT_SECRET_KEY}"
    requests.get(url, timeout=5)
    log = requests.get(f"{sandbox.base_url}/_sandbox/requests", timeout=5).text
    assert DEFAULT_ACCESS_KEY not in log and DEFAULT_SECRET_KEY not in log
