"""Contract: the request pipeline common to every API operation."""

from __future__ import annotations

from urllib.parse import quote

import requests

from runtime.cli import main
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, server

USER_OP = "Authentication.svc/UserByAccessKey.Get"


def test_unknown_operation_is_404_with_lsq_error_body(raw_api):
    response = raw_api.get("LeadManagement.svc/Lead.DoesNotExist")
    assert response.status_code == 404
    assert response.json() == {
        "Status": "Error",
        "ExceptionType": "MXAPINotFoundException",
        "ExceptionMessage": "API could not be found",
    }


def test_operation_names_match_in_any_case_as_leadsquared_does(raw_api, request_log):
    # LIKELY (reference §15): a client calls Leads.GetByEmailAddress (capital A) live.
    spellings = ["Leads.GetByEmailaddress", "Leads.GetByEmailAddress", "LEADS.GETBYEMAILADDRESS"]
    answers = [raw_api.get(f"LeadManagement.svc/{name}", emailaddress="priya.sharma@example.com")
               for name in spellings]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len({a.text for a in answers}) == 1
    assert raw_api.get("Authentication.svc/userbyaccesskey.get").status_code == 200
    # The log keeps the name as it was sent, so tests see the connector's own spelling.
    assert request_log.operations()[1] == "LeadManagement.svc/Leads.GetByEmailAddress"


def test_missing_keys_are_401(sandbox):
    response = requests.get(f"{sandbox.base_url}/v2/{USER_OP}", timeout=5)
    assert response.status_code == 401
    assert response.json()["Status"] == "Error"


def test_query_string_keys_must_be_url_encoded(sandbox):
    url = (f"{sandbox.base_url}/v2/{USER_OP}"
           f"?accessKey={quote(DEFAULT_ACCESS_KEY)}&secretKey={DEFAULT_SECRET_KEY}")
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
    url = (f"{sandbox.base_url}/v2/{USER_OP}"
           f"?accessKey={quote(DEFAULT_ACCESS_KEY)}&secretKey={DEFAULT_SECRET_KEY}")
    requests.get(url, timeout=5)
    log = requests.get(f"{sandbox.base_url}/_sandbox/requests", timeout=5).text
    assert DEFAULT_ACCESS_KEY not in log and DEFAULT_SECRET_KEY not in log


def test_cli_sandbox_port_0_prints_the_real_bound_port(monkeypatch, capsys):
    served = {}

    def fake_serve_forever(bound):
        served["address"] = bound.server_address
        bound.server_close()

    monkeypatch.setattr(server, "serve_forever", fake_serve_forever)
    assert main(["sandbox", "--port", "0"]) == 0
    host, port = served["address"][:2]
    assert port != 0
    assert f"LeadSquared sandbox on http://{host}:{port}  (API under" in capsys.readouterr().out


def test_cli_sandbox_with_a_bad_seed_is_a_one_line_error(tmp_path, capsys):
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "tenants:\n  '1':\n    org_name: X\n    api_host: api.leadsquared.com\n"
        "    leads: [{FirstName: A}]\n",
        encoding="utf-8",
    )
    assert main(["sandbox", "--port", "0", "--seed", str(seed)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid sandbox seed") and "Traceback" not in err
