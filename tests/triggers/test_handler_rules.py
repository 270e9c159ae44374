"""Stage-two handler rules for polling trigger modules (runtime.plugin.manifest_checks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.plugin import manifest_checks as checks
from runtime.plugin.manifest import read_manifest
from tests.manifest.builder import NEW_ACCOUNT_HANDLER, TmpConnector

EVENTS = "def events(client, config, item):\n    return [dict(item)]\n"
EVENT_KEY = "def event_key(item):\n    return item['CompanyId']\n"
FETCH_PAGE = "def fetch_page(client, config, since, page):\n    return None\n"
FETCH_MEMBERS = "def fetch_members(client, config, page):\n    return None\n"
WHERE = "triggers.new_account.handler: triggers.new_account"


def problems_for(tmp_path: Path, source: str) -> list[str]:
    connector = TmpConnector(tmp_path).add_trigger(handler=source)
    return checks.handlers_importable(read_manifest(connector.root))


def test_the_builders_polling_module_passes(tmp_path: Path) -> None:
    assert problems_for(tmp_path, NEW_ACCOUNT_HANDLER) == []


@pytest.mark.parametrize(("source", "expected"), [
    ('ID_FIELD = "CompanyId"\nTIME_FIELD = "CreatedOn"\n' + FETCH_PAGE, [
        f"{WHERE} must define events(client, config, item)",
        f"{WHERE} must define event_key(item)",
    ]),
    ('ID_FIELD = "CompanyId"\nTIME_FIELD = "CreatedOn"\n' + EVENTS + EVENT_KEY
     + "def fetch_page(client, since, page):\n    return None\n", [
        f"{WHERE}.fetch_page(client, since, page) must be "
        "fetch_page(client, config, since, page)",
    ]),
    ('ID_FIELD = "CompanyId"\n' + EVENTS + EVENT_KEY + FETCH_PAGE, [
        f"{WHERE} must define TIME_FIELD (a non-empty string naming a record field)",
    ]),
    (EVENTS + EVENT_KEY + FETCH_MEMBERS, [
        f"{WHERE} must define ID_FIELD (a non-empty string naming a record field)",
    ]),
    ('ID_FIELD = "ProspectID"\n' + EVENTS + EVENT_KEY + FETCH_MEMBERS, []),
    (EVENTS + EVENT_KEY, [
        f"{WHERE} must define fetch_page(client, config, since, page) or "
        "fetch_members(client, config, page) (a polling source)",
    ]),
    (EVENTS.replace("client, config, item", "client, item") + EVENT_KEY
     + 'ID_FIELD = "ProspectID"\n' + FETCH_MEMBERS, [
        f"{WHERE}.events(client, item) must be events(client, config, item)",
    ]),
], ids=["no-events", "fetch-page-signature", "no-time-field", "no-id-field", "membership",
        "no-source", "events-signature"])
def test_polling_module_rules(tmp_path: Path, source: str, expected: list[str]) -> None:
    assert problems_for(tmp_path, source) == expected
