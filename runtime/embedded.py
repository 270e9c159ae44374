"""The embedded default: a local sandbox started in this process when no account is set up.

This is the only connector module that imports :mod:`runtime.sandbox` (the CLI's
``lsq sandbox`` command is the other place). The sandbox starts once per process, on a
loopback port, with its default seed, and serves until the process exits.

Given a folder (the CLI passes the project's state folder, ``.lsq/``), the sandbox keeps its
records there between commands, in ``sandbox.json``: every API call runs holding the file lock
``sandbox.json.lock`` (so concurrent commands, and threads, take turns), first reads the file
again if another process changed it, and, when the call changed a record, replaces the file
atomically (a new file renamed over the old one). The file is at most
:data:`MAX_SANDBOX_BYTES`; a call that would grow it beyond is undone and answered with an
error saying so. :func:`forget_records` (``lsq sandbox reset``) deletes it: the next call, in
any process, starts again from the seed. Without a folder (the host API, tests) the records
live in memory only.
"""

from __future__ import annotations

import atexit
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from runtime.api.connection import Connection
from runtime.errors import ConfigurationError
from runtime.inputs import MIB, describe_size
from runtime.sandbox import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    RunningSandbox,
    SandboxApp,
    start_sandbox,
)
from runtime.sandbox.snapshot import SnapshotError, dump, load, seed_fingerprint

SANDBOX_FILE = "sandbox.json"
MAX_SANDBOX_BYTES = 16 * MIB
LOCK_TIMEOUT_SECONDS = 30.0
SETTLE_SECONDS = 2.0
RESET_HINT = "lsq sandbox reset empties it"
STORAGE_EXCEPTION = "MXSandboxStorageException"  # the sandbox's own, like LeadSquared's MX types

_lock = threading.Lock()
_running: list[tuple[RunningSandbox, KeptRecords]] = []  # at most one: the process's sandbox


class KeptRecords:
    """WSGI middleware around a :class:`SandboxApp` keeping its records in a folder's file."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self._seed = seed_fingerprint(app.seed)
        self.path: Path | None = None
        self._lock: FileLock | None = None
        self._text: str | None = None  # the records as last read from or written to the file
        self._on_file = False  # whether ``_text`` came from the file (else from the seed)

    def keep_in(self, folder: Path) -> None:
        """Keep the records in ``folder`` from now on: load the ones it holds, if any (else the
        records in memory now are the ones kept)."""
        path = Path(folder).resolve() / SANDBOX_FILE
        if path == self.path:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as problem:
            raise ConfigurationError(
                f"cannot create the sandbox's folder {path.parent}: {problem.strerror}"
            ) from None
        lock = FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_SECONDS)
        with _locked(lock), self.app.state.lock:
            self.path, self._lock, self._on_file, self._text = path, lock, False, None
            self._refresh()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if self._lock is None or not environ.get("PATH_INFO", "").startswith("/v2/"):
            return self.app(environ, start_response)
        answer: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [status, headers]
            return lambda chunk: None

        try:
            with _locked(self._lock):
                with self.app.state.lock:
                    self._refresh()
                body = b"".join(self.app(environ, capture))
                with self.app.state.lock:
                    self._save()
        except ConfigurationError as problem:
            return _error_answer(str(problem), start_response)
        start_response(*answer)
        return [body]

    def settle(self) -> None:
        """Kept records only (a command's sandbox): before the process exits, send the webhook
        deliveries due now (e.g. to a running ``lsq serve``), for at most
        :data:`SETTLE_SECONDS`; later retries are dropped with the process."""
        if self._lock is not None:
            self.app.webhook_delivery.settle(SETTLE_SECONDS)

    def _refresh(self) -> None:
        """Read the file again if it changed since this process last read or wrote it."""
        assert self.path is not None
        try:
            if self.path.stat().st_size > MAX_SANDBOX_BYTES:
                raise ConfigurationError(
                    f"the embedded sandbox's file {self.path} is larger than "
                    f"{describe_size(MAX_SANDBOX_BYTES)}", hint=RESET_HINT)
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:  # none yet, or `lsq sandbox reset` deleted it: the seed's
            if self._text is not None and self._on_file:
                self.app.reset()
            self._on_file, self._text = False, dump(self.app.state, self._seed)
            return
        except (OSError, UnicodeDecodeError) as problem:
            self._unusable(problem.strerror if isinstance(problem, OSError) else str(problem))
        if text == self._text:
            return
        try:
            load(self.app.state, self._seed, text)
        except SnapshotError as problem:
            self._unusable(str(problem))
        self._on_file, self._text = True, text

    def _unusable(self, reason: str | None) -> None:
        self.app.reset()
        self._on_file, self._text = False, None
        raise ConfigurationError(
            f"the embedded sandbox's file {self.path} cannot be used: {reason}", hint=RESET_HINT)

    def _save(self) -> None:
        """Write the records if the call changed them; undo a change that makes them too big."""
        assert self.path is not None
        text = dump(self.app.state, self._seed)
        if text == self._text:
            return
        if len(text.encode("utf-8")) > MAX_SANDBOX_BYTES:
            if self._text is not None:
                load(self.app.state, self._seed, self._text)
            raise ConfigurationError(
                f"the embedded sandbox keeps at most {describe_size(MAX_SANDBOX_BYTES)} of records "
                f"in {self.path}; this call was undone", hint=RESET_HINT)
        handle, temporary = tempfile.mkstemp(prefix=".sandbox-", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except OSError as problem:
            Path(temporary).unlink(missing_ok=True)
            raise ConfigurationError(
                f"cannot write the embedded sandbox's file {self.path}: {problem.strerror}"
            ) from None
        self._on_file, self._text = True, text


def embedded_sandbox(folder: Path | None = None) -> RunningSandbox:
    """The process's sandbox (started on first use); its ``app`` exposes the controls.

    With ``folder``, its records are kept in ``folder/sandbox.json`` from now on (module doc).
    """
    with _lock:
        if not _running:
            app = SandboxApp()
            keeper = KeptRecords(app)
            running = start_sandbox(app)
            running.server.app = keeper  # the server serves the app through the keeper
            atexit.register(running.stop)
            atexit.register(keeper.settle)  # first (atexit runs last-registered first)
            _running.append((running, keeper))
        running, keeper = _running[0]
        if folder is not None:
            keeper.keep_in(folder)
        return running


def sandbox_running() -> bool:
    """Whether this process has started its embedded sandbox."""
    return bool(_running)


def embedded_connection(folder: Path | None = None) -> Connection:
    """A connection to the embedded sandbox with its default keys, as the api-in21 account."""
    running = embedded_sandbox(folder)
    return Connection(
        access_key=DEFAULT_ACCESS_KEY,
        secret_key=DEFAULT_SECRET_KEY,
        api_host=DEFAULT_API_HOST,
        base_url=running.base_url,
        name="sandbox",
    )


def records_file(folder: Path) -> Path:
    """Where the embedded sandbox keeps its records for ``folder``."""
    return Path(folder).resolve() / SANDBOX_FILE


def forget_records(folder: Path) -> bool:
    """Delete the kept records (under the lock); True if there were any."""
    path = records_file(folder)
    if not path.parent.is_dir():
        return False
    with _locked(FileLock(f"{path}.lock", timeout=LOCK_TIMEOUT_SECONDS)):
        existed = path.exists()
        path.unlink(missing_ok=True)
    return existed


def _locked(lock: FileLock) -> Any:
    """``lock`` acquired (use it in a ``with``), or one line saying another command holds it."""
    try:
        return lock.acquire()
    except Timeout:
        raise ConfigurationError(
            f"the embedded sandbox's file {lock.lock_file.removesuffix('.lock')} stayed locked "
            f"for {LOCK_TIMEOUT_SECONDS:.0f} s by another lsq command",
            hint="wait for it to finish, or stop it",
        ) from None


def _error_answer(message: str, start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = {"Status": "Error", "ExceptionType": STORAGE_EXCEPTION, "ExceptionMessage": message}
    start_response("500 Internal Server Error", [("Content-Type", "application/json")])
    return [json.dumps(body).encode("utf-8")]


__all__ = [
    "MAX_SANDBOX_BYTES",
    "SANDBOX_FILE",
    "KeptRecords",
    "embedded_connection",
    "embedded_sandbox",
    "forget_records",
    "records_file",
]
