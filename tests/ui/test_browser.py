"""The run-history page in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium, against ``lsq serve`` on the sandbox.

The test causes runs for real: ``lsq serve`` (a subprocess) subscribes to New Lead on the
test sandbox and two leads are created through the API. The first run succeeds; for the
second, the sandbox refuses the e-mail's recipient type (an account setting), so its second
step fails. With the setting restored, the browser filters the runs to the failed one, opens
it, retries it from the failed step and sees the retry succeed, the first step reused.

Without Chromium the test is skipped with one line, unless ``LSQ_REQUIRE_BROWSER=1`` (CI):
then it fails. ``LSQ_UI_SCREENSHOTS=DIR`` saves the pages it sees (``docs/images/ui-runs.png``
and ``ui-run.png`` are two of them).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from runtime.api.client import LeadSquaredClient
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest
from runtime.sandbox import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, RunningSandbox
from runtime.store.history import HistoryStore

CHROMIUM = os.environ.get("LSQ_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("LSQ_CHROMEDRIVER", "/usr/bin/chromedriver")
REQUIRE_ENV = "LSQ_REQUIRE_BROWSER"
SCREENSHOTS_ENV = "LSQ_UI_SCREENSHOTS"
TIMEOUT = 20.0

FLOW = """
    name: Welcome new leads
    trigger: {key: new_lead}
    steps:
      - id: find
        action: find_lead
        input: {email: "{{ trigger.EmailAddress }}"}
      - id: welcome
        action: send_email
        input:
          lead_email: "{{ steps.find.lead.EmailAddress }}"
          kind: transactional
          subject: "Welcome, {{ trigger.FirstName }}!"
          html: "<p>Hi {{ trigger.FirstName }}, thanks for your interest.</p>"
"""


def browser_missing() -> str | None:
    """Why the browser test cannot run here (None: it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = browser_missing()
    if missing is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"headless Chromium is required ({REQUIRE_ENV}=1) but {missing}")
        pytest.skip(f"browser test skipped: {missing}; {REQUIRE_ENV}=1 makes it fail")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(sandbox: RunningSandbox, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``lsq serve`` of FLOW on the sandbox, with the page at /ui/; its URL and history file."""
    (tmp_path / "welcome.yaml").write_text(dedent(FLOW), encoding="utf-8")
    port = free_port()
    env = {
        **os.environ, "LSQ_ACCESS_KEY": DEFAULT_ACCESS_KEY, "LSQ_SECRET_KEY": DEFAULT_SECRET_KEY,
        "LSQ_API_HOST": sandbox.base_url, "LSQ_STATE_DB": str(tmp_path / "state.sqlite3"),
        "LSQ_HISTORY_DB": str(tmp_path / "history.sqlite3"), "PYTHONUNBUFFERED": "1",
    }
    env.pop("LSQ_UI_TOKEN", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime", "serve", "welcome.yaml", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline() if process.stdout else ""
            if not line:
                break
            lines.append(line)
            if line.startswith("serving;"):
                break
        page = f"http://127.0.0.1:{port}/ui/"
        assert f"run-history page at {page}\n" in lines, "".join(lines)
        yield {"url": page, "history": tmp_path / "history.sqlite3", "dir": tmp_path}
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def finished_runs(path: Path, count: int) -> list[dict[str, Any]]:
    """Wait until the history holds ``count`` finished runs; them, oldest first."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        with HistoryStore(path) as history:
            runs = [run for run in history.list_runs(limit=50) if run["status"] != "running"]
        if len(runs) >= count or time.monotonic() > deadline:
            assert len(runs) >= count, runs
            return runs[::-1]
        time.sleep(0.1)


def create_lead(manifest: Manifest, client: LeadSquaredClient, first: str, email: str) -> None:
    invoke_action(manifest, "create_lead",
                  {"fields": {"FirstName": first, "EmailAddress": email}}, client)


def follow(driver: Any, element: Any) -> None:
    """Click ``element`` and wait for the page it leads to (the old one goes stale)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    element.click()
    WebDriverWait(driver, TIMEOUT).until(expected_conditions.staleness_of(element))


def shoot(driver: Any, name: str) -> None:
    folder = os.environ.get(SCREENSHOTS_ENV)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        from selenium.webdriver.common.by import By

        # the page's own height (no blank window below a short page), cut at the window
        driver.find_element(By.TAG_NAME, "body").screenshot(str(Path(folder) / f"{name}.png"))


def test_filter_open_and_retry_a_failed_run_from_its_failed_step(
    browser: Any, served: dict[str, Any], sandbox: RunningSandbox, manifest: Manifest,
    client: LeadSquaredClient,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    tenant = next(iter(sandbox.app.state.tenants.values()))
    create_lead(manifest, client, "Asha", "asha.rao@example.com")
    finished_runs(served["history"], 1)
    tenant.settings["email_recipient_types"] = ["LeadId"]  # the account refuses the e-mail
    create_lead(manifest, client, "Bilal", "bilal.khan@example.com")
    first, second = finished_runs(served["history"], 2)
    assert (first["status"], second["status"]) == ("succeeded", "failed")
    tenant.settings.pop("email_recipient_types")  # fixed: a retry can now succeed

    browser.get(served["url"])
    assert [row.text.split()[0] for row in browser.find_elements(
        By.CSS_SELECTOR, "#runs tr td:first-child")] == [f"#{second['id']}", f"#{first['id']}"]
    Select(browser.find_element(By.NAME, "status")).select_by_visible_text("failed")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
    links = browser.find_elements(By.CSS_SELECTOR, "#runs td:first-child a")
    assert [link.text for link in links] == [f"#{second['id']}"]
    assert "status=failed" in browser.current_url

    follow(browser, links[0])
    assert browser.find_element(By.ID, "run-status").text == "failed"
    steps = browser.find_element(By.ID, "steps").text
    assert "find_lead" in steps and "permanent: " in steps and "Invalid RecipientType" in steps
    shoot(browser, "ui-run")
    follow(browser, browser.find_element(By.ID, "retry-failed"))

    assert browser.find_element(By.ID, "run-status").text == "succeeded"
    retry_id = int(browser.current_url.rstrip("/").rsplit("/", 1)[1])
    assert retry_id > second["id"]
    facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert f"Retry of\n#{second['id']}, from step welcome" in facts
    steps = browser.find_element(By.ID, "steps").text
    assert f"reused from #{second['id']}" in steps
    assert [email["Subject"] for email in tenant.outbox] == ["Welcome, Asha!", "Welcome, Bilal!"]
    browser.get(served["url"])
    assert f"retry of #{second['id']}" in browser.find_element(By.ID, "runs").text
    shoot(browser, "ui-runs")
