"""The host API (runtime.host) in process, against the test sandbox: operations with
self-contained schemas and effects, connect, invoke, one poll, webhook verify and parse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runtime import host
from runtime.api.client import LeadSquaredClient
from runtime.errors import ConfigurationError, InputValidationError
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, RunningSandbox
from tests.seed_ids import ACME, INITECH, NEWSLETTER, PRIYA

SPECS = {spec.key: spec for spec in host.list_operations()}
EARLY = "2020-01-01 00:00:00"


def _refs(schema: Any) -> list[str]:
    if isinstance(schema, dict):
        return [v for k, v in schema.items() if k == "$ref"] + [
            ref for value in schema.values() for ref in _refs(value)
        ]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _refs(value)]
    return []


def test_every_operation_is_listed_in_manifest_order(manifest: Manifest) -> None:
    assert list(SPECS) == [op.key for op in manifest.operations]
    kinds = [spec.kind for spec in SPECS.values()]
    assert (kinds.count("action"), kinds.count("polling"), kinds.count("instant")) == (33, 5, 7)
    assert {spec.role for spec in SPECS.values() if spec.kind != "action"} == {"trigger"}


@pytest.mark.parametrize("key", sorted(SPECS))
def test_schemas_stand_alone_and_fit_the_samples(key: str, manifest: Manifest) -> None:
    spec = SPECS[key]
    operation = next(op for op in manifest.operations if op.key == key)
    for schema, sample in ((spec.input_schema, operation.sample_input),
                           (spec.output_schema, operation.sample_output)):
        assert schema["type"] == "object"
        assert _refs(schema) == [] and "$id" not in schema
        Draft202012Validator.check_schema(schema)
        assert list(Draft202012Validator(schema).iter_errors(dict(sample))) == []


@pytest.mark.parametrize(
    ("key", "read_only", "destructive", "idempotent"),
    [
        ("find_lead", True, False, True),
        ("delete_lead", False, True, True),
        ("remove_lead_from_list", False, True, True),
        ("update_task", False, False, True),
        ("upsert_lead", False, False, True),
        ("create_lead", False, False, False),
        ("add_lead_to_list", False, False, False),
        ("send_email", False, False, False),
        ("find_lead_activity", True, False, True),
        ("find_user", True, False, True),
        ("list_users", True, False, True),
        ("create_lead_activity", False, False, False),
        ("update_lead_activity", False, False, True),
        ("api_call", False, True, False),  # any path: a GET may delete, a POST may create
    ],
)
def test_an_action_effect_follows_its_verb(
    key: str, read_only: bool, destructive: bool, idempotent: bool
) -> None:
    assert SPECS[key].effect == host.Effect(read_only, destructive, idempotent)


def test_every_action_verb_is_known_and_triggers_have_no_effect() -> None:
    from runtime.plugin.effects import VERB_EFFECTS

    verbs = {spec.key.partition("_")[0] for spec in SPECS.values() if spec.role == "action"}
    assert verbs <= set(VERB_EFFECTS)
    assert {spec.effect for spec in SPECS.values() if spec.role == "trigger"} == {None}


def test_connect_takes_the_connection_fields(sandbox: RunningSandbox) -> None:
    settings = {"access_key": DEFAULT_ACCESS_KEY, "secret_key": DEFAULT_SECRET_KEY,
                "api_host": sandbox.base_url, "name": "acme"}
    with host.connect(settings) as client:
        found = host.invoke(client, "find_lead", {"lead_id": PRIYA})
    assert found["found"] is True and found["lead"]["ProspectID"] == PRIYA


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"access_key": "k", "secret_key": "s", "password": "x"},
         "connection: unknown field(s) password"),
        ({"access_key": "k"}, "connection: secret_key is missing or blank"),
        ({"access_key": "k", "secret_key": "s", "rate_limit": 0},
         "connection: rate_limit must be a whole number"),
    ],
)
def test_connect_names_a_bad_setting(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        host.connect(settings)
    assert str(caught.value).startswith(message)


def test_invoke_names_the_bad_field(client: LeadSquaredClient) -> None:
    with pytest.raises(InputValidationError) as caught:
        host.invoke(client, "find_lead", {"email": 5})
    assert "$.email" in str(caught.value)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "host-state.sqlite3"


class Collector:
    def __init__(self, fail: bool = False) -> None:
        self.events: list[host.Event] = []
        self.fail = fail

    def __call__(self, events: list[host.Event]) -> None:
        if self.fail:
            raise RuntimeError("the host's store is down")
        self.events += events


ACCOUNTS = {"company_type": "Company"}


def test_a_first_poll_without_since_is_a_baseline(client: LeadSquaredClient, state: Path) -> None:
    got = Collector()
    summary = host.poll(client, "new_account", ACCOUNTS, state, got)
    assert (summary.baseline, summary.delivered, got.events) == (True, 0, [])


def test_poll_delivers_each_new_event_once(client: LeadSquaredClient, state: Path) -> None:
    got = Collector()
    summary = host.poll(client, "new_account", ACCOUNTS, state, got, since=EARLY)
    assert summary.complete and summary.delivered == 2
    assert [event.data["CompanyId"] for event in got.events] == [ACME, INITECH]
    assert len({event.key for event in got.events}) == 2
    again = Collector()
    assert host.poll(client, "new_account", ACCOUNTS, state, again, since=EARLY).delivered == 0
    assert again.events == []


def test_a_failing_deliver_loses_nothing(client: LeadSquaredClient, state: Path) -> None:
    with pytest.raises(RuntimeError):
        host.poll(client, "new_account", ACCOUNTS, state, Collector(fail=True), since=EARLY)
    got = Collector()
    host.poll(client, "new_account", ACCOUNTS, state, got, since=EARLY)
    assert [event.data["CompanyId"] for event in got.events] == [ACME, INITECH]


def test_a_list_poll_takes_no_since(client: LeadSquaredClient, state: Path) -> None:
    with pytest.raises(ConfigurationError, match="since does not apply"):
        host.poll(client, "lead_added_to_list", {"list_id": NEWSLETTER}, state, Collector(),
                  since=EARLY)


@pytest.mark.parametrize(
    ("headers", "verified"),
    [
        ({"X-LSQ-Connector-Secret": "s3cret"}, True),
        ({"x-lsq-connector-secret": "s3cret"}, True),
        ({"X-LSQ-Connector-Secret": "s3cret2"}, False),
        ({"X-LSQ-Connector-Secret": ""}, False),
        ({}, False),
    ],
)
def test_verify_delivery(headers: dict[str, str], verified: bool) -> None:
    assert host.verify_delivery("s3cret", headers) is verified


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"ProspectID": PRIYA, "FirstName": "Priya"}).encode(), "application/json"),
        (f"ProspectID={PRIYA}&FirstName=Priya".encode(), "application/x-www-form-urlencoded"),
        (json.dumps([{"ProspectID": PRIYA, "FirstName": "Priya"}]).encode(), "text/plain"),
    ],
)
def test_parse_delivery_gives_keyed_events(
    client: LeadSquaredClient, body: bytes, content_type: str
) -> None:
    [event] = host.parse_delivery(client, "new_lead", {}, body, content_type)
    assert event.key == f"{PRIYA}#0"
    assert event.data["lead_id"] == PRIYA and event.data["FirstName"] == "Priya"


@pytest.mark.parametrize(
    ("key", "body", "error", "message"),
    [
        ("new_lead", b"[1, 2]", InputValidationError, "must be a JSON object or an array"),
        ("new_lead", b"{", InputValidationError, "not valid JSON"),
        ("new_lead", b" " * (1024 * 1024 + 1), InputValidationError, "larger than 1048576"),
        ("new_account", b"{}", ConfigurationError, "new_account is a polling trigger"),
    ],
)
def test_parse_delivery_rejects_in_one_line(
    client: LeadSquaredClient, key: str, body: bytes, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as caught:
        host.parse_delivery(client, key, {}, body, "application/json")
    assert "\n" not in str(caught.value)


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST", "LSQ_CONNECTOR_ROOT"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_connect_none_is_the_embedded_sandbox(no_env: None) -> None:
    with host.connect(None) as client:
        assert host.invoke(client, "find_lead", {"lead_id": PRIYA})["found"] is True


def test_the_readme_shows_the_example_host_verbatim() -> None:
    root = Path(__file__).resolve().parents[2]
    example = (root / "examples" / "host.py").read_text(encoding="utf-8")
    assert f"```python\n{example}```" in (root / "README.md").read_text(encoding="utf-8")
