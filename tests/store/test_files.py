"""The SQLite files: special, damaged or truncated files at the state or history path get one
line naming the file and the fix (never a traceback, never written through a link); files are
owner-only (0600) whether new or pre-existing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runtime.errors import ConfigurationError
from runtime.store.history import HistoryStore
from runtime.store.inbox import Inbox
from runtime.store.state import StateStore


def directory(path: Path) -> None:
    path.mkdir()


def dev_null(path: Path) -> None:
    path.symlink_to("/dev/null")  # a link to a device: refused as a link, /dev/null untouched


def fifo(path: Path) -> None:
    os.mkfifo(path)


def link_to_a_real_database(path: Path) -> None:
    target = path.with_name("elsewhere.sqlite3")
    StateStore(target).close()
    path.symlink_to(target)


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database, it is a text file\n" * 200)


def truncated(path: Path) -> None:
    with StateStore(path) as store:  # a real file with data in it, cut in half
        inbox = Inbox(store)
        for n in range(300):
            inbox.accept("new_lead-" + "0" * 20, f"k{n}", {"pad": "x" * 500})
    data = path.read_bytes()
    for companion in ("-wal", "-shm"):
        path.with_name(path.name + companion).unlink(missing_ok=True)
    path.write_bytes(data[: len(data) // 2])


SPECIAL: dict[str, Callable[[Path], None]] = {
    "directory": directory, "dev-null-link": dev_null, "fifo": fifo,
    "symlink": link_to_a_real_database, "garbage": garbage, "truncated": truncated,
}
EXPECTED = {
    "directory": "is a directory", "dev-null-link": "is a symbolic link", "fifo": "is a FIFO",
    "symlink": "is a symbolic link", "garbage": "damaged or not a SQLite database",
    "truncated": "damaged or not a SQLite database",
}


def use_state(path: Path) -> None:
    with StateStore(path) as store:
        Inbox(store).accept("new_lead-" + "1" * 20, "k", {})
        store.show()
        Inbox(store).items()


def use_history(path: Path) -> None:
    with HistoryStore(path) as history:
        history.start_run(workflow="w", trigger_key="t", origin="manual", event={})
        history.list_runs(limit=1000)


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("use", [use_state, use_history], ids=["state", "history"])
def test_a_special_or_damaged_file_is_one_clear_line(
    tmp_path: Path, kind: str, use: Callable[[Path], None]
) -> None:
    path = tmp_path / "store.sqlite3"
    SPECIAL[kind](path)
    before = _snapshot(tmp_path)
    with pytest.raises(ConfigurationError) as raised:
        use(path)
    message = str(raised.value)
    assert str(path) in message and EXPECTED[kind] in message and "\n" not in message
    assert "move it away" in message or "remove it" in message
    if kind in ("symlink", "dev-null-link"):
        assert _snapshot(tmp_path) == before  # nothing written through the link


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()
            if p.is_file() and not p.is_symlink()}


def test_lsq_state_show_on_a_fifo_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    os.mkfifo(path)
    env = {**os.environ, "LSQ_STATE_DB": str(path)}
    result = subprocess.run([sys.executable, "-m", "runtime", "state", "show"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{path} is a FIFO" in result.stderr and "LSQ_STATE_DB" in result.stderr


@pytest.mark.parametrize("store_type", [StateStore, HistoryStore])
def test_files_are_owner_only_new_or_pre_existing(tmp_path: Path, store_type: type) -> None:
    fresh = tmp_path / "fresh.sqlite3"
    store_type(fresh).close()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    loose = tmp_path / "loose.sqlite3"
    store_type(loose).close()
    wal = loose.with_name(loose.name + "-wal")
    wal.write_bytes(b"")
    for path in (loose, wal):
        path.chmod(0o644)
    with store_type(loose):
        assert stat.S_IMODE(loose.stat().st_mode) == 0o600
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
