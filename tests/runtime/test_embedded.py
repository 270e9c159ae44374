"""The embedded sandbox: started once per process, reached like a real regional host."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

from runtime.api.client import WHOAMI, LeadSquaredClient
from runtime.api.governor import RateGovernor
from runtime.embedded import embedded_connection, embedded_sandbox
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_connection_uses_the_default_keys_and_region():
    connection = embedded_connection()
    running = embedded_sandbox()
    assert connection.access_key == DEFAULT_ACCESS_KEY
    assert connection.secret_key == DEFAULT_SECRET_KEY
    assert connection.api_host == "api-in21.leadsquared.com"
    assert connection.base_url == running.base_url
    assert connection.base_url.startswith("http://127.0.0.1:")
    assert DEFAULT_ACCESS_KEY not in repr(connection)


def test_the_sandbox_starts_once_per_process_even_from_many_threads():
    found = []
    threads = [threading.Thread(target=lambda: found.append(embedded_sandbox())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(found) == 8 and all(running is found[0] for running in found)
    assert embedded_connection().base_url == embedded_connection().base_url


def test_a_client_reaches_the_embedded_sandbox_and_its_controls():
    client = LeadSquaredClient(embedded_connection(), governor=RateGovernor(25, 1))
    user = client.get(WHOAMI)
    assert user["LSQCommonServiceURLs"]["api"] == "api-in21.leadsquared.com"
    log = embedded_sandbox().app.state.request_log
    assert log[-1]["operation"] == WHOAMI and log[-1]["host"] == "api-in21.leadsquared.com"


def test_only_embedded_imports_the_sandbox():
    """The connector side never imports runtime.sandbox, except embedded.py and the CLI."""
    offenders = []
    for folder in ("runtime", "operations", "triggers"):
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(("runtime/sandbox/", "runtime/cli/")):
                continue
            if relative == "runtime/embedded.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(n == "runtime.sandbox" or n.startswith("runtime.sandbox.") for n in names):
                    offenders.append(relative)
    assert offenders == []
