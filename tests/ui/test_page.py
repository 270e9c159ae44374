"""The run-history page through werkzeug's test client: lists, filters, a run, Retry, the guard."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client, TestResponse

from runtime.errors import ConfigurationError
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription
from runtime.ui.app import RunHistoryPage
from runtime.ui.security import CSRF_COOKIE, SESSION_COOKIE
from runtime.ui.serving import exposure
from runtime.workflows.retry import RetryRefused

TOKEN = "t0ken-for-the-page-tests"
INSTANCE = "new_lead-0123456789abcdef0123"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[HistoryStore, StateStore]]:
    with HistoryStore(tmp_path / "history.sqlite3") as history, \
            StateStore(tmp_path / "state.sqlite3") as state:
        yield history, state


def record(history: HistoryStore, workflow: str, status: str, day: int,
           steps: list[dict[str, Any]] | None = None) -> int:
    run = history.start_run(workflow=workflow, trigger_key="new_lead", origin="webhook",
                            event={"FirstName": HOSTILE, "Phone": "***"}, source="flow.yaml",
                            started_at=f"2024-05-0{day}T09:00:00.000000Z")
    assert run is not None
    history.finish_run(run, status=status, finished_at=f"2024-05-0{day}T09:00:01.000000Z",
                       duration_ms=1000, steps=[(i, s) for i, s in enumerate(steps or [])])
    return run


FIND = {"step_id": "find", "action": "find_lead", "status": "succeeded",
        "input": {"email": "ada@example.com"}, "output": {"found": True, "token": "***"}}
UPDATE_FAILED = {"step_id": "update", "action": "update_lead", "status": "failed",
                 "input": {"lead_id": "l-1"},
                 "error": {"type": "TransientApiError", "category": "transient",
                           "message": "HTTP 503"}}


@pytest.fixture
def runs(stores: tuple[HistoryStore, StateStore]) -> list[int]:
    history, _ = stores
    return [
        record(history, "welcome", "succeeded", 1, [FIND]),
        record(history, "sync", "failed", 2, [FIND, UPDATE_FAILED]),
        record(history, "welcome", "failed", 3, [FIND, UPDATE_FAILED]),
    ]


class Retries:
    """A retry action that records its calls and answers with ``answer`` (an id or an error)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str | None, bool]] = []
        self.answer: int | Exception = 99

    def __call__(self, run_id: int, from_step: str | None, confirm: bool) -> int:
        self.calls.append((run_id, from_step, confirm))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def page(stores: tuple[HistoryStore, StateStore], **options: Any) -> Client:
    history, state = stores
    app = RunHistoryPage(history, state, **options)
    return Client(DispatcherMiddleware(NotFound(), {"/ui": app}))  # mounted as lsq serve does


def get(client: Client, path: str, **kwargs: Any) -> TestResponse:
    return client.get("/ui" + path, headers={"Accept": "text/html"}, **kwargs)


def csrf_of(response: TestResponse) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', response.text)
    assert found, "no form on the page"
    return found.group(1)


def test_runs_newest_first_with_filters(runs: list[int], stores: Any) -> None:
    client = page(stores)
    shown = get(client, "/")
    assert shown.status_code == 200
    assert re.findall(r'href="/ui/runs/(\d+)">#', shown.text) == ["3", "2", "1"]
    for query, expected in [
        ({"workflow": "welcome"}, ["3", "1"]),
        ({"status": "failed"}, ["3", "2"]),
        ({"since": "2024-05-02"}, ["3", "2"]),
        ({"until": "2024-05-02T09:00"}, ["1"]),
        ({"workflow": "welcome", "status": "failed", "since": "2024-05-02T00:00"}, ["3"]),
        ({"workflow": "nobody"}, []),
    ]:
        listed = get(client, "/", query_string=query)
        assert re.findall(r'href="/ui/runs/(\d+)">#', listed.text) == expected, query
    older = get(client, "/", query_string={"limit": "2", "workflow": ""})
    assert '<a id="older" href="/ui/?limit=2&amp;before=2">' in older.text
    assert 'id="older"' not in get(client, "/", query_string={"limit": "3"}).text
    assert re.findall(r'href="/ui/runs/(\d+)">#', get(
        client, "/", query_string={"limit": "2", "before": "2"}).text) == ["1"]


@pytest.mark.parametrize(("query", "message"), [
    ({"status": "great"}, "status: &#39;great&#39; is not a run status (use one of running, "
                          "succeeded, failed, completed_with_errors, interrupted)"),
    ({"limit": "0"}, "limit: &#39;0&#39; is not a whole number from 1 to 200"),
    ({"limit": "201"}, "limit: &#39;201&#39; is not a whole number from 1 to 200"),
    ({"before": "-1"}, "before: &#39;-1&#39; is not a whole number from 1 to 9223372036854775807"),
    ({"since": "yesterday"}, "since: &#39;yesterday&#39; is not a date and time (use YYYY-MM-DD "
                             "or YYYY-MM-DDTHH:MM, UTC)"),
    ({"workflow": "w" * 201}, "workflow: longer than 200 characters (shorten it)"),
])
def test_bad_parameters_are_one_line(runs: list[int], stores: Any, query: dict[str, str],
                                     message: str) -> None:
    answer = get(page(stores), "/", query_string=query)
    assert answer.status_code == 400
    assert f'<div class="box problem" id="message">{message}</div>' in answer.text


def test_bounds_of_query_form_and_path(stores: Any) -> None:
    client = page(stores, retry=Retries())
    assert get(client, "/", query_string={"x": "y" * 3000}).status_code == 414
    assert get(client, "/runs/12345").status_code == 404
    assert "no run with id 12345" in get(client, "/runs/12345").text
    assert get(client, "/runs/99999999999999999999").status_code == 404
    assert get(client, "/nowhere").status_code == 404
    assert get(client, "/runs/1/retry").status_code == 405
    big = client.post("/ui/runs/1/retry", data={"csrf": "x" * 5000})
    assert big.status_code == 413


def test_a_run_shows_its_steps_escaped_and_masked_as_stored(runs: list[int], stores: Any) -> None:
    shown = get(page(stores, retry=Retries()), f"/runs/{runs[2]}")
    text = shown.text
    assert shown.status_code == 200 and HOSTILE not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#34;token&#34;: &#34;***&#34;" in text  # as `lsq runs show` shows it
    assert "<strong>transient</strong>: HTTP 503" in text
    assert 'id="retry-failed">Retry from step update</button>' in text
    assert 'id="retry-start">Retry from the start</button>' in text
    assert 'name="confirm"' not in text  # nothing ambiguous


def test_a_running_run_refreshes_itself_without_script(stores: Any) -> None:
    history, _ = stores
    running = history.start_run(workflow="w", trigger_key="new_lead", origin="manual", event={})
    done = record(history, "w", "succeeded", 1, [FIND])
    client = page(stores)
    assert '<meta http-equiv="refresh" content="3">' in get(client, f"/runs/{running}").text
    assert 'http-equiv="refresh"' not in get(client, f"/runs/{done}").text


def test_the_read_only_page_shows_the_command_instead_of_buttons(runs: list[int],
                                                                 stores: Any) -> None:
    client = page(stores)
    text = get(client, f"/runs/{runs[2]}").text
    assert "<form" not in text and f"lsq runs retry {runs[2]} --from-step update</code>" in text
    shared = page(stores, retry_options=" --database postgresql://lsq:***@db/lsq")
    assert (f"lsq runs retry {runs[2]} --from-step update --database postgresql://lsq:***@db/lsq"
            "</code>") in get(shared, f"/runs/{runs[2]}").text
    get(client, "/")  # sets the CSRF cookie
    token = csrf_of(get(page(stores, retry=Retries()), f"/runs/{runs[2]}"))
    refused = client.post(f"/ui/runs/{runs[2]}/retry",
                          data={"csrf": token})
    assert refused.status_code in (403, 405)


def test_retry_posts_with_csrf_and_redirects_to_the_new_run(runs: list[int], stores: Any) -> None:
    retries = Retries()
    client = page(stores, retry=retries)
    form = get(client, f"/runs/{runs[2]}")
    assert CSRF_COOKIE in form.headers.get("Set-Cookie", "")
    token = csrf_of(form)

    answer = client.post(f"/ui/runs/{runs[2]}/retry",
                         data={"csrf": token, "from_step": "update"})
    assert (answer.status_code, answer.headers["Location"]) == (303, "/ui/runs/99")
    assert retries.calls == [(runs[2], "update", False)]

    for data, headers in [({"from_step": "update"}, {}),
                          ({"csrf": "0" * 64}, {}),
                          ({"csrf": token}, {"Origin": "http://evil.example"})]:
        refused = client.post(f"/ui/runs/{runs[2]}/retry", data=data,
                              headers=headers)
        assert refused.status_code == 403 and "the form is stale or from another site" in \
            refused.text
    other = page(stores, retry=retries)  # another process: another key, the old form is stale
    assert other.post(f"/ui/runs/{runs[2]}/retry",
                      data={"csrf": token}).status_code == 403
    assert len(retries.calls) == 1


def test_a_refused_retry_is_shown_with_the_confirm_box(runs: list[int], stores: Any) -> None:
    retries = Retries()
    client = page(stores, retry=retries)
    token = csrf_of(get(client, f"/runs/{runs[2]}"))
    retries.answer = RetryRefused("step 'update' may have written", hint="check",
                                  needs_confirmation=True)
    answer = client.post(f"/ui/runs/{runs[2]}/retry",
                         data={"csrf": token, "from_step": "update"})
    assert answer.status_code == 409
    assert '<div class="box problem" id="message">step &#39;update&#39; may have written ' \
           "(check)</div>" in answer.text
    assert answer.text.count('name="confirm" value="yes"') == 2
    retries.answer = 100
    done = client.post(f"/ui/runs/{runs[2]}/retry",
                       data={"csrf": token, "from_step": "update", "confirm": "yes"})
    assert done.status_code == 303 and retries.calls[-1] == (runs[2], "update", True)
    retries.answer = ConfigurationError("workflow 'x' is not served here")
    assert client.post(f"/ui/runs/{runs[2]}/retry",
                       data={"csrf": token}).status_code == 409


def test_a_token_guards_every_page(runs: list[int], stores: Any) -> None:
    retries = Retries()
    client = page(stores, retry=retries, token=TOKEN)
    answer = get(client, "/")
    assert (answer.status_code, answer.headers["Location"]) == (303, "/ui/login")
    assert client.get("/ui/runs/1").status_code == 401
    assert client.get("/ui/",
                      headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/ui/",
                      headers={"Authorization": "Bearer wrong"}).status_code == 401

    login = get(client, "/login")
    token = csrf_of(login)
    wrong = client.post("/ui/login", data={"csrf": token, "token": "nope"})
    assert wrong.status_code == 401 and "that is not the token" in wrong.text
    right = client.post("/ui/login", data={"csrf": token, "token": TOKEN})
    assert right.status_code == 303 and SESSION_COOKIE in right.headers["Set-Cookie"]
    assert TOKEN not in right.headers["Set-Cookie"]
    assert get(client, f"/runs/{runs[2]}").status_code == 200
    # a Bearer POST needs no CSRF form field (a browser never sends that header by itself)
    posted = client.post(f"/ui/runs/{runs[2]}/retry",
                         headers={"Authorization": f"Bearer {TOKEN}"})
    assert posted.status_code == 303 and retries.calls == [(runs[2], None, False)]


def test_security_headers(stores: Any) -> None:
    answer = get(page(stores), "/")
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'; ")
    assert "script-src" not in answer.headers["Content-Security-Policy"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Cache-Control"] == "no-store"
    assert "<script" not in answer.text and "http://" not in answer.text.replace(
        'xmlns="http://', "")


def test_triggers_page_shows_cursors_subscriptions_and_failed_items(stores: Any) -> None:
    _, state = stores
    state.put_cursor(INSTANCE, {"since": "2024-05-01T00:00:00Z"})
    state.save_subscription(Subscription(INSTANCE, "wh-1", "webhook-secret-value",
                                         "http://127.0.0.1:8080/hooks/x", "NewLead", "2024-05-01"))
    inbox = Inbox(state)
    inbox.accept(INSTANCE, "k1", {"a": 1})
    inbox.mark_failed(inbox.claim_next(), f"events() failed: {HOSTILE}", retry=False)
    text = get(page(stores), "/triggers").text
    assert INSTANCE in text and "webhook wh-1 (NewLead)" in text
    assert "webhook-secret-value" not in text
    assert "&#34;since&#34;" in text
    assert "events() failed: &lt;script&gt;" in text and HOSTILE not in text
    assert "1 failed" in text


@pytest.mark.parametrize(("host", "token", "result"), [
    ("127.0.0.1", None, None),
    ("localhost", None, None),
    ("::1", TOKEN, TOKEN),
    ("0.0.0.0", TOKEN, TOKEN),
    ("0.0.0.0", None, "the run-history page would be open to the network on 0.0.0.0 without "
                      "a token (set LSQ_UI_TOKEN (16+ characters), or bind 127.0.0.1)"),
    ("127.0.0.1", "short", "LSQ_UI_TOKEN is too short: use at least 16 characters"),
])
def test_exposure(host: str, token: str | None, result: str | None) -> None:
    if result is None or result == TOKEN:
        assert exposure(host, token) == result
        return
    with pytest.raises(ConfigurationError) as refused:
        exposure(host, token)
    assert str(refused.value).startswith(result)
