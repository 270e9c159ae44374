"""The regional host allowlist and the api_host parser."""

from __future__ import annotations

import pytest

from runtime.api.hosts import REGIONAL_HOSTS, check_sandbox_url, is_loopback, parse_api_host
from runtime.errors import ConfigurationError


@pytest.mark.parametrize("host", sorted(REGIONAL_HOSTS))
def test_every_regional_host_is_accepted_bare_and_as_https_url(host):
    assert parse_api_host(host) == (host, None)
    assert parse_api_host(f"https://{host}") == (host, None)
    assert parse_api_host(f"https://{host}/v2/") == (host, None)


def test_allowlist_matches_the_reference():
    assert set(REGIONAL_HOSTS) == {
        "api.leadsquared.com",
        "api-us11.leadsquared.com",
        "api-in21.leadsquared.com",
        "api-in22.leadsquared.com",
        "api-ir31.leadsquared.com",
        "api-ca12.leadsquared.com",
        "api-id51.leadsquared.com",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  API-IN21.LeadSquared.com  ", ("api-in21.leadsquared.com", None)),
        ("HTTPS://api-us11.leadsquared.com/v2", ("api-us11.leadsquared.com", None)),
        ("http://127.0.0.1:8765", (None, "http://127.0.0.1:8765")),
        ("http://127.5.6.7:9000/", (None, "http://127.5.6.7:9000")),
        ("http://localhost:8765/v2", (None, "http://localhost:8765")),
        ("https://[::1]:8443", (None, "https://[::1]:8443")),
    ],
    ids=["bare-mixed-case", "https-v2", "loopback", "loopback-127-8", "localhost", "ipv6-loopback"],
)
def test_accepted_values(value, expected):
    assert parse_api_host(value) == expected


@pytest.mark.parametrize(
    ("value", "expected_text"),
    [
        ("http://api-in21.leadsquared.com", "plain http"),
        ("https://u:p@api-in21.leadsquared.com", "user name or password"),
        ("https://api-in21.leadsquared.com@evil.io", "user name or password"),
        ("https://api-in21.leadsquared.com:443", "port"),
        ("https://api-in21.leadsquared.com:8443", "port"),
        ("https://api-in21.leadsquared.com/v3", "no path other than /v2"),
        ("https://api-in21.leadsquared.com/v2/LeadManagement.svc", "no path other than /v2"),
        ("https://api-in21.leadsquared.com/?x=1", "no query"),
        ("api-in21.leadsquared.com.evil.io", "not a LeadSquared API host"),
        ("https://api-in21.leadsquared.com.evil.io", "not a LeadSquared API host"),
        ("evilleadsquared.com", "not a LeadSquared API host"),
        ("api-in21.evilleadsquared.com", "not a LeadSquared API host"),
        ("api-xx99.leadsquared.com", "not a LeadSquared API host"),
        ("api-in21.leadsquared.com.", "not a LeadSquared API host"),
        ("52.1.2.3", "IP address"),
        ("https://52.1.2.3", "IP address"),
        ("https://[2001:db8::1]", "IP address"),
        ("http://10.0.0.1:8765", "plain http"),
        ("ftp://api-in21.leadsquared.com", "must use https"),
        ("api-in21.leadsquared.com/v2", "host name"),
        ("localhost:8765", "host name"),
        ("http://127.0.0.1:notaport", "not a valid URL"),
        ("", "empty"),
        ("   ", "empty"),
    ],
    ids=[
        "http-real-host", "userinfo", "userinfo-lookalike", "port-443", "port-8443", "path-v3",
        "path-operation", "query", "suffix-lookalike", "suffix-lookalike-url", "prefix-lookalike",
        "sub-lookalike", "unknown-region", "trailing-dot", "ipv4", "ipv4-url", "ipv6-url",
        "private-ip-http", "ftp", "bare-with-path", "bare-localhost-port", "bad-port", "empty",
        "blank",
    ],
)
def test_rejected_values(value, expected_text):
    with pytest.raises(ConfigurationError) as caught:
        parse_api_host(value)
    assert expected_text in str(caught.value)


def test_a_near_miss_suggests_the_right_host():
    with pytest.raises(ConfigurationError, match=r"did you mean api-in21\.leadsquared\.com"):
        parse_api_host("api-in21.leadsqaured.com")


def test_userinfo_is_never_echoed():
    with pytest.raises(ConfigurationError) as caught:
        parse_api_host("https://SECRETUSER:SECRETPASS@api-in21.leadsquared.com")
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("127.255.0.9", True), ("[::1]", True),
     ("::1", True), ("128.0.0.1", False), ("localhost.evil.io", False), ("0.0.0.0", False)],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_sandbox_url_must_be_loopback():
    assert check_sandbox_url("http://127.0.0.1:1234/") == "http://127.0.0.1:1234"
    with pytest.raises(ConfigurationError, match="only for a local sandbox"):
        check_sandbox_url("https://api-in21.leadsquared.com")
