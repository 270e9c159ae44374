"""Loading a connection from a YAML file or the environment."""

from __future__ import annotations

import os

import pytest

from runtime.api.connection import Connection, load_connection
from runtime.errors import ConfigurationError

ACCESS = "u$r0123456789abcdefACCESS"
SECRET = "0123456789abcdefSECRETKEY"


def write(tmp_path, text, name="acme.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_file(tmp_path):
    path = write(tmp_path, f"""
name: acme
access_key: "{ACCESS}"
secret_key: "{SECRET}"
api_host: https://api-us11.leadsquared.com
rate_limit: 10
bulk_rate_limit: 2
timeout: 12.5
""")
    assert load_connection(path, {}) == Connection(
        access_key=ACCESS, secret_key=SECRET, api_host="api-us11.leadsquared.com",
        rate_limit=10, bulk_rate_limit=2, timeout=12.5, name="acme",
    )


def test_minimal_file_uses_defaults_and_the_file_name(tmp_path):
    path = write(tmp_path, f'access_key: "{ACCESS}"\nsecret_key: " {SECRET} "\n', "prod.yaml")
    connection = load_connection(str(path), {"LSQ_ACCESS_KEY": "ignored"})
    assert connection == Connection(ACCESS, SECRET, name="prod")
    assert (connection.api_host, connection.rate_limit, connection.timeout) == (None, 25, 30.0)


def test_loopback_api_host_in_a_file_is_a_sandbox_base_url(tmp_path):
    path = write(tmp_path, f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\n'
                           "api_host: http://127.0.0.1:8765\n")
    connection = load_connection(path, {})
    assert (connection.api_host, connection.base_url) == (None, "http://127.0.0.1:8765")
    assert connection.root_url == "http://127.0.0.1:8765"


def test_environment():
    environ = {"LSQ_ACCESS_KEY": ACCESS, "LSQ_SECRET_KEY": SECRET,
               "LSQ_API_HOST": "api-in22.leadsquared.com"}
    connection = load_connection(None, environ)
    assert connection == Connection(ACCESS, SECRET, "api-in22.leadsquared.com", name="env")
    assert connection.root_url == "https://api-in22.leadsquared.com"


def test_environment_without_host_means_discover():
    connection = load_connection(None, {"LSQ_ACCESS_KEY": ACCESS, "LSQ_SECRET_KEY": SECRET})
    assert connection.api_host is None and connection.root_url is None


@pytest.mark.parametrize(
    "environ",
    [{}, {"LSQ_ACCESS_KEY": "", "LSQ_SECRET_KEY": "  "}, {"LSQ_API_HOST": "api.leadsquared.com"}],
    ids=["empty", "blank", "host-only"],
)
def test_neither_file_nor_keys_gives_none(environ):
    assert load_connection(None, environ) is None


def test_real_environment_is_only_read_when_passed(monkeypatch):
    monkeypatch.setenv("LSQ_ACCESS_KEY", ACCESS)
    monkeypatch.setenv("LSQ_SECRET_KEY", SECRET)
    assert load_connection(None, {}) is None
    assert load_connection(None, os.environ).access_key == ACCESS


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LSQ_ACCESS_KEY": ACCESS}, "LSQ_SECRET_KEY is missing or blank"),
        ({"LSQ_SECRET_KEY": SECRET, "LSQ_ACCESS_KEY": " "}, "LSQ_ACCESS_KEY is missing or blank"),
        ({"LSQ_ACCESS_KEY": ACCESS, "LSQ_SECRET_KEY": SECRET, "LSQ_API_HOST": "evil.io"},
         "environment: LSQ_API_HOST 'evil.io' is not a LeadSquared API host"),
    ],
    ids=["no-secret", "blank-access", "bad-host"],
)
def test_environment_errors(environ, expected):
    with pytest.raises(ConfigurationError) as caught:
        load_connection(None, environ)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value) and ACCESS not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'secret_key: "{SECRET}"\n', "access_key is missing or blank (add 'access_key:"),
        (f'access_key: "{ACCESS}"\nsecret_key: ""\n', "secret_key is missing or blank"),
        (f'access_key: "{ACCESS}"\nsecret_key: 12345678\n', "secret_key must be a string, got int"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\nrate_limit: "25"\n',
         "rate_limit must be a whole number"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\nrate_limit: 0\n',
         "rate_limit must be a whole number"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\nbulk_rate_limit: true\n',
         "bulk_rate_limit must be a whole number"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\ntimeout: -1\n',
         "timeout must be a positive number"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\napi_host: 42\n',
         "api_host must be a host name string, got int"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\napi_host: http://api.leadsquared.com\n',
         ": api_host 'http://api.leadsquared.com' uses plain http"),
        (f'access_key: "{ACCESS}"\nsecret_key: "{SECRET}"\nsecretkey: x\n',
         "unknown field(s) secretkey (valid fields: name, access_key"),
        (f'access_key: "{ACCESS}"\nname: ""\nsecret_key: "{SECRET}"\n', "name must be a non-empty"),
        ("- just\n- a list\n", "must be a mapping"),
        ("access_key: [unclosed\n", "is not valid YAML at line"),
    ],
    ids=["no-access", "blank-secret", "numeric-secret", "string-limit", "zero-limit",
         "bool-bulk", "negative-timeout", "numeric-host", "http-host", "unknown-field",
         "blank-name", "not-a-mapping", "bad-yaml"],
)
def test_file_errors_name_the_field_and_the_fix(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as caught:
        load_connection(path, {})
    message = str(caught.value)
    assert message.startswith(f"connection file {path}")
    assert expected in message
    assert SECRET not in message and ACCESS not in message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_connection(tmp_path / "nope.yaml", {})


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_connection(tmp_path, {})  # a directory


def test_repr_and_str_never_show_keys():
    connection = Connection(ACCESS, SECRET, "api-in21.leadsquared.com", name="acme")
    for text in (repr(connection), str(connection), f"{connection}", str([connection])):
        assert ACCESS not in text and SECRET not in text
        assert "acme" in text and "api-in21.leadsquared.com" in text


def test_connection_rejects_a_non_loopback_base_url():
    with pytest.raises(ConfigurationError, match="only for a local sandbox"):
        Connection(ACCESS, SECRET, base_url="http://api-in21.leadsquared.com")


def test_connection_rejects_an_unknown_host():
    with pytest.raises(ConfigurationError, match="not a LeadSquared API host"):
        Connection(ACCESS, SECRET, api_host="evil.io")
