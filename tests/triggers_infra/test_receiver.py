"""The webhook receiver: handshake, secrets, content types, bounds, dedupe, durability."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.test import Client

from runtime.engine.receiver import (
    SECRET_HEADER,
    WebhookReceiver,
    canonical_event_key,
    hook_path,
    receiver_url,
)
from runtime.errors import StorageUnavailable
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore, Subscription, instance_id

NEW_LEAD = instance_id("new_lead", {}, account="org-1@api-in21.leadsquared.com")
ACTIVITY = instance_id("new_task", {}, account="org-1@api-in21.leadsquared.com")
SECRET = "s3cret-Value-never-logged-0123456789"
LEAD = {"ProspectID": "0f1e2d3c-aaaa-4bbb-8ccc-000000000001", "FirstName": "Asha",
        "ModifiedOn": "2024-05-01 09:00:00.000"}
SUCCESS = {"Status": "Success"}


def lead_key(event):
    return f"{event['ProspectID']}@{event['ModifiedOn']}"


@pytest.fixture
def store(db_path, clock):
    with StateStore(db_path, clock=clock) as opened:
        for instance in (NEW_LEAD, ACTIVITY):
            opened.save_subscription(
                Subscription(instance, webhook_id=f"wh-{instance[-4:]}", secret=SECRET,
                             receiver_url=receiver_url("https://hooks.example.com", instance),
                             event_code="3")
            )
        yield opened


@pytest.fixture
def app(store):
    return WebhookReceiver(store, event_keys={"new_lead": lead_key}, max_body_bytes=4096)


@pytest.fixture
def client(app):
    return Client(app)


def post(client, body, *, content_type="application/json", secret=SECRET, instance=NEW_LEAD):
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    data = json.dumps(body) if not isinstance(body, (str, bytes)) else body
    return client.post(hook_path(instance), data=data, headers=headers, content_type=content_type)


def stored(store):
    return {
        table: store.db.query(f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("inbox", "dedupe", "deliveries")
    }


# -- handshake, routing, authentication ------------------------------------------------------


def test_head_handshake_answers_200_with_no_body_and_stores_nothing(client, store):
    response = client.head(hook_path(NEW_LEAD))
    assert (response.status_code, response.data) == (200, b"")
    assert stored(store) == {"inbox": 0, "dedupe": 0, "deliveries": 0}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", hook_path(NEW_LEAD), 405), ("PUT", hook_path(NEW_LEAD), 405),
     ("POST", "/other", 404), ("POST", "/hooks/not-an-instance", 404)],
    ids=["get", "put", "outside-prefix", "bad-instance-id"],
)
def test_other_methods_and_paths_are_refused_as_json(client, store, method, path, status):
    response = client.open(path, method=method, headers={SECRET_HEADER: SECRET}, data="{}")
    assert response.status_code == status
    assert response.get_json()["Status"] == "Error"
    assert stored(store)["inbox"] == 0


def test_correct_secret_stores_the_event_before_answering_success(client, store):
    response = post(client, LEAD)
    assert (response.status_code, response.get_json()) == (200, SUCCESS)
    [item] = Inbox(store).items(NEW_LEAD)
    assert (item.status, item.payload, item.event_key) == ("pending", LEAD, lead_key(LEAD))
    assert item.content_type == "application/json"
    assert Inbox(store).raw_body(item) == json.dumps(LEAD).encode()


@pytest.mark.parametrize(
    ("secret", "instance"),
    [(None, NEW_LEAD), ("", NEW_LEAD), ("wrong", NEW_LEAD), (SECRET[:-1], NEW_LEAD),
     (SECRET, "new_lead-00000000000000000000")],
    ids=["missing", "empty", "wrong", "prefix", "unknown-instance"],
)
def test_missing_or_wrong_secret_or_unknown_instance_is_401_and_stores_nothing(
    client, store, secret, instance, caplog
):
    caplog.set_level(logging.DEBUG)
    response = post(client, LEAD, secret=secret, instance=instance)
    assert (response.status_code, response.get_json()) == (
        401, {"Status": "Error", "StatusReason": "Unauthorized"})
    assert stored(store) == {"inbox": 0, "dedupe": 0, "deliveries": 0}
    assert SECRET not in caplog.text and SECRET[:-1] not in caplog.text


def test_secret_never_appears_in_logs_reprs_or_state_show(client, store, caplog):
    caplog.set_level(logging.DEBUG)
    post(client, LEAD)
    post(client, "not json")
    subscription = store.get_subscription(NEW_LEAD)
    assert subscription.secret == SECRET
    for text in (caplog.text, repr(subscription), json.dumps(store.show()), repr(store)):
        assert SECRET not in text


# -- content types and batches ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps(LEAD)),
        ("application/json; charset=utf-8", json.dumps(LEAD)),
        ("text/plain", json.dumps(LEAD)),
        ("application/x-www-form-urlencoded", urlencode(LEAD)),
        ("application/x-www-form-urlencoded", json.dumps(LEAD)),
    ],
    ids=["json", "json-charset", "text-plain-json", "form-fields", "form-holding-json"],
)
def test_each_leadsquared_content_type_gives_the_same_event(client, store, content_type, body):
    response = post(client, body, content_type=content_type)
    assert (response.status_code, response.get_json()) == (200, SUCCESS)
    [item] = Inbox(store).items(NEW_LEAD)
    assert item.payload == LEAD and item.content_type == content_type


def test_a_json_array_is_stored_as_one_event_per_item_in_one_delivery(client, store):
    batch = [
        {"ProspectActivityId": f"act-{n}", "RelatedProspectId": "lead-1", "ActivityEvent": 22,
         "Data": {"Note": f"call {n}"}}
        for n in range(3)
    ]
    response = post(client, [*batch, batch[0]], instance=ACTIVITY)
    assert (response.status_code, response.get_json()) == (200, SUCCESS)
    items = Inbox(store).items(ACTIVITY)
    assert [i.payload for i in items] == batch
    assert [i.event_key for i in items] == [canonical_event_key(e) for e in batch]
    assert len({i.delivery_id for i in items}) == 1
    assert post(client, [], instance=ACTIVITY).get_json() == SUCCESS
    assert stored(store)["inbox"] == 3


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/json", "{not json", "Body is not valid JSON"),
        ("text/plain", "hello", "Body is not valid JSON"),
        ("application/json", "[1, 2]", "Body must be a JSON object or an array of objects"),
        ("application/json", '"text"', "Body must be a JSON object or an array of objects"),
        ("application/xml", "<lead/>", "Unsupported Content-Type 'application/xml'"),
        ("application/json; charset=utf-8", b"\xff\xfe{}", "Body is not valid text in its charset"),
    ],
    ids=["broken-json", "plain-text", "array-of-scalars", "scalar", "xml", "bad-utf8"],
)
def test_malformed_verified_body_is_answered_200_error_and_kept_as_failed(
    client, store, content_type, body, reason
):
    response = post(client, body, content_type=content_type)
    assert (response.status_code, response.get_json()) == (
        200, {"Status": "Error", "StatusReason": reason})
    [item] = Inbox(store).items(NEW_LEAD)
    assert (item.status, item.error, item.payload) == ("failed", reason, None)
    assert Inbox(store).claim_next() is None
    post(client, body, content_type=content_type)  # a retry of the same body: kept once
    assert len(Inbox(store).items(NEW_LEAD)) == 1


def test_a_verified_post_without_a_body_is_acknowledged_and_stores_nothing(client, store):
    response = post(client, "")
    assert (response.status_code, response.get_json()) == (200, SUCCESS)
    assert stored(store)["inbox"] == 0


# -- dedupe ----------------------------------------------------------------------------------


def test_a_duplicate_delivery_is_acknowledged_and_stored_once(client, store):
    assert post(client, LEAD).get_json() == SUCCESS
    assert post(client, LEAD).get_json() == SUCCESS
    changed_order = json.dumps(dict(reversed(list(LEAD.items()))))
    assert post(client, changed_order).get_json() == SUCCESS  # same event key
    assert stored(store) == {"inbox": 1, "dedupe": 1, "deliveries": 1}
    updated = {**LEAD, "ModifiedOn": "2024-05-01 09:05:00.000"}
    post(client, updated)
    assert [i.event_key for i in Inbox(store).items(NEW_LEAD)] == [
        lead_key(LEAD), lead_key(updated)]


def test_a_failing_event_key_function_falls_back_to_the_body_hash(client, store):
    odd = {"FirstName": "no id here"}
    assert post(client, odd).get_json() == SUCCESS
    assert Inbox(store).items(NEW_LEAD)[0].event_key == canonical_event_key(odd)


# -- bounded bodies --------------------------------------------------------------------------


class RecordingStream(io.BytesIO):
    """A wsgi.input that counts the bytes it hands out."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.handed_out = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.handed_out += len(chunk)
        return chunk


def call(app, body: bytes, *, content_length: str | None, terminated: bool = False):
    stream = RecordingStream(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": hook_path(NEW_LEAD),
        "CONTENT_TYPE": "application/json",
        "wsgi.input": stream,
        "wsgi.input_terminated": terminated,
        "HTTP_X_LSQ_CONNECTOR_SECRET": SECRET,
    }
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    captured = {}

    def start_response(status, headers):
        captured["status"], captured["headers"] = status, dict(headers)

    body_out = b"".join(app(environ, start_response))
    return captured["status"], json.loads(body_out), stream.handed_out


def test_declared_oversized_body_is_413_without_reading_it(app, store):
    huge = b"[" + b'{"a":1},' * 100_000 + b'{"a":1}]'
    status, body, read = call(app, huge, content_length=str(len(huge)))
    assert (status, body["StatusReason"], read) == (
        "413 Content Too Large", "Body larger than 4096 bytes", 0)
    assert stored(store)["inbox"] == 0


def test_streamed_body_without_length_is_read_only_up_to_the_limit(app, store):
    huge = b'{"pad":"' + b"x" * 100_000 + b'"}'
    status, _, read = call(app, huge, content_length=None, terminated=True)
    assert status.startswith("413") and read <= 4096 + 1
    small = json.dumps(LEAD).encode()
    status, body, _ = call(app, small, content_length=None, terminated=True)
    assert (status, body) == ("200 OK", SUCCESS)


def test_missing_length_on_an_unterminated_stream_means_no_body_and_reads_nothing(app, store):
    status, body, read = call(app, json.dumps(LEAD).encode(), content_length=None)
    assert (status, body, read) == ("200 OK", SUCCESS, 0)
    assert stored(store)["inbox"] == 0


def test_lying_content_length_is_handled(app, store):
    body = json.dumps(LEAD).encode()
    status, reply, _ = call(app, body, content_length=str(len(body) + 50))  # claims more
    assert (status, reply["StatusReason"]) == (
        "400 Bad Request", "Body shorter than its Content-Length")
    assert stored(store)["inbox"] == 0
    status, reply, read = call(app, body, content_length="10")  # claims less: 10 bytes read
    assert (status, reply["Status"], read) == ("200 OK", "Error", 10)
    status, reply, _ = call(app, body, content_length="-5")
    assert status == "400 Bad Request" and reply["StatusReason"] == "Invalid Content-Length"
    assert Inbox(store).counts(NEW_LEAD)["pending"] == 0


# -- durability and failures -----------------------------------------------------------------


def test_acknowledged_delivery_survives_a_crash_and_a_crashed_claim_is_retried(
    client, store, db_path, clock
):
    assert post(client, LEAD).status_code == 200
    store.close()  # the receiver process dies right after answering 200

    with StateStore(db_path, clock=clock) as restarted:
        inbox = Inbox(restarted, claim_ttl=timedelta(minutes=5))
        assert inbox.counts(NEW_LEAD)["pending"] == 1
        claimed = inbox.claim_next()
        assert (claimed.payload, claimed.attempts) == (LEAD, 1)
        # ... the runner dies before mark_done.

    clock.advance(minutes=6)
    with StateStore(db_path, clock=clock) as again:
        inbox = Inbox(again, claim_ttl=timedelta(minutes=5))
        reclaimed = inbox.claim_next()
        assert (reclaimed.id, reclaimed.attempts) == (claimed.id, 2)
        assert inbox.mark_done(claimed) is False  # the stale claim cannot settle it
        assert inbox.mark_done(reclaimed) is True
        assert inbox.counts(NEW_LEAD) == {"pending": 0, "processing": 0, "done": 1, "failed": 0}


def test_a_store_failure_is_503_so_leadsquared_retries(store, monkeypatch):
    app = WebhookReceiver(store)

    def locked(*args, **kwargs):
        raise StorageUnavailable("the state file is unavailable: database is locked")

    monkeypatch.setattr(app.inbox, "accept_delivery", locked)
    response = post(Client(app), LEAD)
    assert (response.status_code, response.get_json()) == (
        503, {"Status": "Error", "StatusReason": "Temporarily unable to store the delivery"})


def test_an_unexpected_error_is_a_json_500_without_a_traceback(store, monkeypatch):
    app = WebhookReceiver(store)

    def broken(instance):
        raise RuntimeError(f"boom {SECRET}")

    monkeypatch.setattr(store, "get_subscription", broken)
    response = post(Client(app), LEAD)
    assert (response.status_code, response.get_json()) == (
        500, {"Status": "Error", "StatusReason": "Internal error"})
    assert b"Traceback" not in response.data and SECRET.encode() not in response.data


def test_concurrent_deliveries_and_claimers_process_every_event_exactly_once(store, app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.port}{hook_path(NEW_LEAD)}"
    senders, per_sender = 4, 25
    processed: list[str] = []
    lock = threading.Lock()
    done_sending = threading.Event()
    errors: list[BaseException] = []

    def send(n: int) -> None:
        with requests.Session() as session:
            for i in range(per_sender):
                event = {**LEAD, "ProspectID": f"lead-{n}-{i}"}
                for _ in range(2):  # every delivery is sent twice (a LeadSquared retry)
                    reply = session.post(url, json=event, headers={SECRET_HEADER: SECRET},
                                         timeout=10)
                    assert reply.json() == SUCCESS

    def claim() -> None:
        inbox = Inbox(store)
        try:
            while True:
                finished = done_sending.is_set()  # read before claiming: no event slips by
                item = inbox.claim_next(NEW_LEAD)
                if item is None:
                    if finished:
                        return
                    time.sleep(0.002)
                    continue
                with lock:
                    processed.append(item.payload["ProspectID"])
                assert inbox.mark_done(item)
        except BaseException as problem:  # surfaced below
            errors.append(problem)

    claimers = [threading.Thread(target=claim) for _ in range(2)]
    for thread in claimers:
        thread.start()
    try:
        sending = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
        for thread in sending:
            thread.start()
        for thread in sending:
            thread.join()
        done_sending.set()
        for thread in claimers:
            thread.join(timeout=30)
    finally:
        server.shutdown()
    assert errors == []
    assert sorted(processed) == sorted(
        f"lead-{n}-{i}" for n in range(senders) for i in range(per_sender))
    assert Inbox(store).counts(NEW_LEAD)["done"] == senders * per_sender
