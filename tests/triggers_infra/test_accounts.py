"""Trigger state per account (runtime/engine/trigger_instance.py, runtime/api/account.py).

- Two accounts used from one folder keep separate cursors: the embedded sandbox and a second
  sandbox (as ``lsq sandbox --seed`` serves it) with other keys, on the same regional host.
- Start-up cost does not grow with the number of workflow files of one account: 200 files,
  each with its own connection file, cost one UserByAccessKey.Get (the sandbox's request log).
- State kept under the former ids (API host + access key hash) moves to the account's id once.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection
from runtime.cli import main
from runtime.cli.run_cmd import client_pool, load_workflows
from runtime.embedded import embedded_sandbox
from runtime.engine.service import WorkflowService
from runtime.engine.trigger_instance import legacy_instance_id, trigger_instance
from runtime.plugin.manifest import Manifest
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    default_seed,
    start_sandbox,
)
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id
from runtime.workflows.runner import WorkflowRunner
from tests.fakes import write_connection_file

WHOAMI = "Authentication.svc/UserByAccessKey.Get"
OTHER_ACCESS_KEY = "u$r0ther0000000000000000000000000001"
OTHER_SECRET_KEY = "0ther-secret-000000000000000000000000001"
OTHER_ORG = "5d7f0a2b-9c4e-4e1a-8b3d-0f6e2a9c7701"
COMPANY = '{"company_type": "Company"}'


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One working folder: its state file, no account in the environment."""
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    return tmp_path


@pytest.fixture
def other_account() -> Iterator[RunningSandbox]:
    """A second sandbox whose one account has other keys and another org, on the same host."""
    seed = copy.deepcopy(default_seed())
    tenant = seed["tenants"].pop("41872")
    tenant.update(public_org_id=OTHER_ORG, keys=[{
        "access_key": OTHER_ACCESS_KEY, "secret_key": OTHER_SECRET_KEY,
        "user": tenant["keys"][0]["user"]}])
    with start_sandbox(SandboxApp({"tenants": {"77001": tenant}})) as running:
        yield running


def poll(capsys: pytest.CaptureFixture[str], *connection: str) -> dict[str, Any]:
    argv = ["invoke", "trigger", "new_account", "-c", COMPANY, "--commit", "--json"]
    assert main([*argv, *connection]) == 0
    return json.loads(capsys.readouterr().out)


def test_two_accounts_used_from_one_folder_keep_separate_cursors(
    folder: Path, other_account: RunningSandbox, capsys: pytest.CaptureFixture[str],
) -> None:
    embedded_sandbox().app.reset()
    other = write_connection_file(folder / "other.yaml", other_account.base_url,
                                  access_key=OTHER_ACCESS_KEY, secret_key=OTHER_SECRET_KEY)
    first, second = poll(capsys), poll(capsys, "--connection", other)
    assert first["baseline"] and second["baseline"]  # neither inherits the other's cursor
    assert first["instance_id"] != second["instance_id"]

    body = {"CompanyType": {"CompanyTypeName": "Company"},
            "CompanyProperties": [{"Attribute": "CompanyName", "Value": "Only In The Other"}]}
    connection = Connection(OTHER_ACCESS_KEY, OTHER_SECRET_KEY, api_host=DEFAULT_API_HOST,
                            base_url=other_account.base_url)
    with LeadSquaredClient(connection) as client:
        client.post("CompanyManagement.svc/Company.Create", body, creates=True)
    assert [e["CompanyName"] for e in poll(capsys, "--connection", other)["events"]] == [
        "Only In The Other"]
    assert poll(capsys)["events"] == []  # the embedded account's cursor did not move with it

    with StateStore(folder / "state.sqlite3") as store:
        instances = {row["instance_id"] for row in store.show()["instances"]}
    assert instances == {first["instance_id"], second["instance_id"]}


def test_two_hundred_workflow_files_on_one_account_cost_one_account_lookup(
    folder: Path, sandbox: RunningSandbox, manifest: Manifest, request_log: Any,
) -> None:
    paths = []
    for n in range(200):  # the worst case: every file has its own connection file
        connection = write_connection_file(folder / f"acme-{n}.yaml", sandbox.base_url)
        path = folder / f"flow-{n}.yaml"
        path.write_text(
            f"name: flow {n}\nconnection: {Path(connection).name}\n"
            "trigger:\n  key: new_account\n  config: {company_type: Company}\n"
            "steps:\n  - {id: find, action: find_lead, input: {lead_id: "
            "'{{ trigger.OwnerId }}'}}\n", encoding="utf-8")
        paths.append(str(path))
    workflows = load_workflows(manifest, paths)
    request_log.clear()
    with StateStore() as store, client_pool(SimpleNamespace(connection=None)) as clients:
        service = WorkflowService(workflows, WorkflowRunner(manifest, clients, None), store)
        service.start()
        service.stop()
        assert len(service.bindings) == 1  # one account, one trigger config: one instance
    assert request_log.operations().count(WHOAMI) <= 2
    assert request_log.operations().count(WHOAMI) == 1


def test_state_under_a_former_id_moves_to_the_account_id_once(
    sandbox: RunningSandbox, client: LeadSquaredClient, tmp_path: Path,
) -> None:
    config = {"company_type": "Company"}
    legacy = legacy_instance_id("new_account", config, api_host=DEFAULT_API_HOST,
                                access_key=DEFAULT_ACCESS_KEY)
    with StateStore(tmp_path / "state.sqlite3") as store:
        store.put_cursor(legacy, {"kind": "time", "watermark": "2025-01-01T00:00:00Z"})
        Inbox(store).accept(legacy, "a@1", {"CompanyId": "a"})
        store.save_subscription(Subscription(legacy, "wh-1", "sekrit", "http://x/hooks/old", "3"))
        moved = trigger_instance(client, "new_account", config, stores=(store,))
        account = f"3c8e5a1f-7d2b-4f60-b9e4-5a0c1d2e4187@{DEFAULT_API_HOST}"
        assert moved == instance_id("new_account", config, account=account) != legacy
        assert store.get_cursor(legacy) is None
        assert store.get_cursor(moved).value["watermark"] == "2025-01-01T00:00:00Z"
        assert [item.event_key for item in Inbox(store).items(moved)] == ["a@1"]
        assert store.get_subscription(moved).webhook_id == "wh-1"

        store.put_cursor(legacy, {"kind": "time", "note": "written by an old process"})
        assert trigger_instance(client, "new_account", config, stores=(store,)) == moved
        assert store.get_cursor(legacy) is not None  # never merged into existing state
        assert store.get_cursor(moved).value["watermark"] == "2025-01-01T00:00:00Z"


def test_a_key_rotation_keeps_the_instance(sandbox: RunningSandbox) -> None:
    seed = copy.deepcopy(sandbox.app.seed)
    seed["tenants"]["41872"]["keys"].append({
        "access_key": OTHER_ACCESS_KEY, "secret_key": OTHER_SECRET_KEY,
        "user": seed["tenants"]["41872"]["keys"][0]["user"]})
    original = sandbox.app.seed
    sandbox.app.reset(seed)
    try:
        ids = []
        for access, secret in ((DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY),
                               (OTHER_ACCESS_KEY, OTHER_SECRET_KEY)):
            connection = Connection(access, secret, api_host=DEFAULT_API_HOST,
                                    base_url=sandbox.base_url)
            with LeadSquaredClient(connection) as client:
                ids.append(trigger_instance(client, "new_account", {"company_type": "Company"}))
        assert ids[0] == ids[1]
    finally:
        sandbox.app.reset(original)
