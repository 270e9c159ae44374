"""How many worker processes `lsq serve` starts: as asked, else one where a second core is
available to this process and the connection is not the embedded sandbox (which lives in it)."""

from __future__ import annotations

import argparse

import pytest

from runtime.cli import run_cmd


@pytest.mark.parametrize(("asked", "cores", "embedded", "expected"), [
    (None, {0, 1}, False, 1),
    (None, {0}, False, 0),  # one core: the threads stay in the serving process
    (None, {0, 1, 2, 3}, True, 0),  # the embedded sandbox runs in this process
    (0, {0, 1}, False, 0),
    (3, {0}, True, 3),  # asked: as asked
])
def test_worker_processes_default(
    monkeypatch: pytest.MonkeyPatch, asked: int | None, cores: set[int], embedded: bool,
    expected: int,
) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: cores)
    monkeypatch.setattr("runtime.embedded.sandbox_running", lambda: embedded)
    assert run_cmd.worker_processes(argparse.Namespace(worker_processes=asked)) == expected


def test_a_negative_count_is_a_usage_error() -> None:
    from runtime.cli import main

    assert main(["serve", "x.yaml", "--worker-processes", "-1"]) == 2
