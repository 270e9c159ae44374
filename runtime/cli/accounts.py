"""The accounts a workflow file's connections name, for `lsq validate`'s account checks.

A workflow or step names its connection file relative to the workflow file; without one,
``--connection``, else the ``LSQ_*`` variables, else the embedded sandbox answers (as for
`lsq run`). A client is opened only when a check needs the account's set-up, once per file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.cli.common import embedded_connection_noted
from runtime.errors import ConnectorError

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient


class WorkflowAccounts:
    """``accounts(connection)`` for one workflow file: connection as written -> its account."""

    def __init__(
        self, workflow: str, default: str | None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.base = Path(workflow).resolve().parent
        self.default = default
        self.environ = os.environ if environ is None else environ
        self._known: dict[str | None, _LazyAccount] = {}

    def path(self, connection: str | None) -> str | None:
        """The connection file a workflow's ``connection`` names (relative to the workflow),
        else ``--connection`` (None: the ``LSQ_*`` variables or the embedded sandbox)."""
        return str((self.base / connection).resolve()) if connection else self.default

    def __call__(self, connection: str | None) -> _LazyAccount:
        path = self.path(connection)
        if path not in self._known:
            self._known[path] = _LazyAccount(lambda: self._open(path))
        return self._known[path]

    def failures(self) -> list[str]:
        """Why an account could not be asked (each once), e.g. a missing connection file."""
        return [account.failure for account in self._known.values() if account.failure]

    def tried(self) -> set[str | None]:
        """The connection files (None: the default) whose account a check opened or failed
        to open."""
        return {path for path, account in self._known.items()
                if account.failure is not None or account.opened}

    def close(self) -> None:
        for account in self._known.values():
            account.close()

    def _open(self, path: str | None) -> tuple[LeadSquaredClient, str]:
        from runtime.api.client import LeadSquaredClient
        from runtime.api.connection import load_connection

        connection = load_connection(path, self.environ)
        if connection is None:
            return LeadSquaredClient(embedded_connection_noted()), "the embedded sandbox"
        return LeadSquaredClient(connection), f"account {connection.name}"


class _LazyAccount:
    """:class:`~runtime.workflows.account_names.MetadataNames`, opened on the first look-up."""

    def __init__(self, opener: Any) -> None:
        self._opener = opener
        self._names: Any = None
        self._client: Any = None
        self.failure: str | None = None

    @property
    def opened(self) -> bool:
        return self._client is not None

    def lookup(self, kind: str, name: Any, scope: Any = None) -> tuple[bool | None, str | None]:
        if self._names is None and self.failure is None:
            from runtime.workflows.account_names import MetadataNames

            try:
                self._client, label = self._opener()
            except ConnectorError as error:
                self.failure = f"account checks skipped: {error}"
                return None, None
            self._names = MetadataNames(self._client.metadata, label)
        if self._names is None:
            return None, None
        answer = self._names.lookup(kind, name, scope)
        self.failure = self.failure or self._names.failure
        return answer

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
