"""`lsq invoke action KEY -i <sample_input>` on the embedded sandbox, for every action.

No connection is configured, so the CLI starts the embedded sandbox with its default seed,
reset before each run. Every sample succeeds there and its output validates and matches the
manifest's sample_output, except for ids a create makes afresh: those must name the record the
sandbox now holds. delete_lead's sample is covered by test_leads_cli.py: lead delete is
disabled on the default seed, as on a real account.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from runtime.cli import main
from runtime.embedded import embedded_sandbox
from runtime.plugin.manifest import Manifest, load_manifest
from runtime.sandbox.state import Tenant

#: Output fields holding an id the action creates, and where the sandbox keeps that record.
FRESH: dict[str, dict[str, Callable[[Tenant], Any]]] = {
    "create_lead": {"lead_id": lambda t: t.leads},
    "upsert_lead": {"lead_id": lambda t: t.leads},
    "create_opportunity": {"opportunity_id": lambda t: t.opportunities},
    "create_account": {"account_id": lambda t: t.companies},
    "create_list": {"list_id": lambda t: t.lists},
    "send_email": {"email_id": lambda t: {sent["Id"] for sent in t.outbox}},
    "create_account_activity": {"activity_id": lambda t: t.account_activities},
    "create_lead_activity": {"activity_id": lambda t: t.lead_activities},
    "create_task": {"task_id": lambda t: t.tasks},
    "create_appointment": {"task_id": lambda t: t.tasks},
}
KEYS = [op.key for op in load_manifest().actions if op.key != "delete_lead"]


@pytest.mark.parametrize("key", KEYS)
def test_the_sample_input_succeeds_on_the_embedded_sandbox(
    key: str, manifest: Manifest, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    running = embedded_sandbox()
    running.app.reset()
    action = manifest.action(key)
    assert main(["invoke", "action", key, "-i", json.dumps(action.sample_input), "--json"]) == 0
    output = json.loads(capsys.readouterr().out)
    assert action.output_problems(output) == []
    fresh = FRESH.get(key, {})
    tenant = running.app.state.tenants["41872"]
    for name, records in fresh.items():
        assert output[name] in records(tenant), f"{key}: {name} names no stored record"
    assert set(output) == set(action.sample_output)
    for name, sample in action.sample_output.items():
        if name not in fresh:
            assert shown(sample, output[name]), f"{key}: {name} differs from the sample"


def shown(sample: Any, actual: Any) -> bool:
    """Whether ``actual`` is what ``sample`` shows: equal, except that a sample record (an
    object) may show only some of its fields."""
    if isinstance(sample, dict) and isinstance(actual, dict):
        return all(k in actual and shown(v, actual[k]) for k, v in sample.items())
    return sample == actual
