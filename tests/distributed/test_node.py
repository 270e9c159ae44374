"""What one worker process decides, on a real PostgreSQL database and several nodes at once
(the service under a node is a stand-in: these are the leases and the inbox, not the runs)."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from runtime.engine.ownership import lease_name
from runtime.errors import ConfigurationError, StorageUnavailable
from runtime.store.inbox import Inbox
from runtime.store.storage import open_storage
from runtime.workers.node import Node

POLLED, HOOKED = "new_account-0001", "new_lead-0001"


class Service(SimpleNamespace):
    """The parts of WorkflowService a node uses."""

    def __init__(self, process=None) -> None:
        bindings = {POLLED: SimpleNamespace(polling=True, interval=1.0),
                    HOOKED: SimpleNamespace(polling=False, interval=60.0)}
        super().__init__(bindings=bindings, inbox=None, polled=[], processed=[],
                         process=process or (lambda binding, item: self.settle(item)))

    def settle(self, item) -> None:
        self.processed.append(item.event_key)
        self.inbox.mark_done(item)

    def _poll(self, binding) -> None:
        self.polled.append(binding)


@pytest.fixture
def storage(pg_url):
    with open_storage(pg_url) as opened:
        yield opened


def nodes(storage, count: int, **options) -> list[Node]:
    return [Node(Service(), storage, **options) for _ in range(count)]


def test_a_poll_runs_once_per_interval_whatever_the_number_of_workers(storage):
    workers = nodes(storage, 3)
    assert [node.sweep().poll for node in workers] == [[POLLED]] * 3  # instant: never
    polled = [node.poll(POLLED) for _ in range(3) for node in workers]
    assert polled.count(True) == 1
    assert [node.sweep().poll for node in workers] == [[]] * 3  # polled in this interval
    time.sleep(0.6)  # the interval (1 s) less half a sweep tick
    assert [node.poll(POLLED) for node in workers].count(True) == 1


def test_pending_items_make_their_instance_due_for_a_drain(storage):
    node = nodes(storage, 1)[0]
    assert node.sweep().drain == []
    Inbox(storage.state).accept(HOOKED, "k1", {"ProspectID": "k1"})
    assert node.sweep().drain == [HOOKED]


def test_lanes_bound_the_drains_of_one_instance_in_the_whole_cluster(storage):
    first, second = nodes(storage, 2, parallel_drains=2)
    assert first._take_lane(HOOKED) is not None and second._take_lane(HOOKED) is not None
    assert first._take_lane(HOOKED) is None and first.drain(HOOKED) == 0


def test_a_lease_held_by_a_dead_process_of_this_host_is_taken_over(storage):
    node = nodes(storage, 1)[0]
    dead = f"{node.owner.rpartition('/')[0]}/999999999#gone"
    assert storage.leases.acquire(f"polling:{POLLED}", dead, timedelta(minutes=5)) is not None
    assert node.poll(POLLED) and node.service.polled  # not blocked for the lease's 5 minutes


def test_a_drain_runs_the_items_then_gives_its_lane_back(storage):
    node = nodes(storage, 1, parallel_drains=1)[0]
    inbox = Inbox(storage.state)
    for key in ("a", "b", "c"):
        inbox.accept(HOOKED, key, {"ProspectID": key})
    assert node.drain(HOOKED) == 3 and node.service.processed == ["a", "b", "c"]
    assert node._take_lane(HOOKED) is not None  # released


def test_a_storage_fault_hands_the_item_back_without_counting_an_attempt(storage):
    def fail(binding, item):
        raise StorageUnavailable("the database is full")

    node = Node(Service(process=fail), storage)
    inbox = Inbox(storage.state)
    inbox.accept(HOOKED, "k", {"ProspectID": "k"})
    with pytest.raises(StorageUnavailable):
        node.drain(HOOKED)
    (item,) = inbox.items(HOOKED)
    assert (item.status, item.attempts) == ("pending", 0)


def test_a_worker_does_not_move_the_webhook_of_a_running_lsq_serve(storage):
    node = nodes(storage, 1)[0]
    subscribed = []
    node.service.subscriber = lambda binding, url, state: subscribed.append(url)
    host = node.owner.rpartition("/")[0]
    serve = f"{host}/{os.getpid()}#serve"  # a live process: this one
    assert storage.leases.acquire(lease_name(HOOKED), serve, timedelta(minutes=1)) is not None
    with pytest.raises(ConfigurationError, match=rf"{HOOKED} is served by `lsq serve` "
                        rf"\({host}/{os.getpid()}\) on this database"):
        node.subscribe("https://hooks.example.com")
    assert subscribed == []
    storage.leases.release(lease_name(HOOKED), serve)  # that lsq serve stopped
    assert node.subscribe("https://hooks.example.com") == [HOOKED]
    assert subscribed == [f"https://hooks.example.com/hooks/{HOOKED}"]
