"""``lsq serve``'s start-up banner says the same in text and as its ``--json`` object."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

import pytest

from runtime.cli.run_cmd import describe_service
from runtime.cli.serve_observe import banner

URL = "http://127.0.0.1:8080"


def _service(*, ui: bool) -> SimpleNamespace:
    lead = SimpleNamespace(trigger_key="new_lead", instance="new_lead-0123456789abcdef0123",
                           polling=False, interval=60.0,
                           workflows=[SimpleNamespace(name="Welcome")])
    return SimpleNamespace(
        url=URL, public_url=None, receiving=True, serving_http=True,
        mounts={"/ui": object()} if ui else {}, bindings={lead.instance: lead},
        standing_by=["account_updated-0123456789abcdef0123"],
    )


@pytest.mark.parametrize("ui", [True, False])
def test_the_json_banner_names_what_the_text_one_does(ui: bool) -> None:
    service = _service(ui=ui)
    text = banner(argparse.Namespace(json=False), service, describe_service(service))
    (line,) = banner(argparse.Namespace(json=True), service, describe_service(service))
    shown = json.loads(line)
    assert f"health: {shown['health']}" in text and shown["health"] == f"{URL}/healthz"
    assert f"metrics at {shown['metrics']}" in text
    assert (f"run-history page at {URL}/ui/" in text) is ui
    assert shown["ui"] == (f"{URL}/ui/" if ui else None)
    assert shown["standing_by"] == ["account_updated-0123456789abcdef0123"]
    assert any(line.startswith("account_updated-0123456789abcdef0123: served by another")
               for line in text)
