"""The request object every sandbox service handler receives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from runtime.sandbox.errors import mandatory_missing
from runtime.sandbox.state import KeyPair, SandboxState, Tenant


@dataclass
class SandboxRequest:
    """An authenticated API call: who made it, its query, its parsed JSON body."""

    state: SandboxState
    key: KeyPair
    tenant: Tenant
    method: str
    operation: str
    query: Mapping[str, str]
    body: Any
    host: str

    @property
    def user_id(self) -> str:
        """The id of the user whose keys made the call (the API caller)."""
        return self.key.user_id

    @property
    def object_body(self) -> Mapping[str, Any]:
        """The JSON body when it is an object, else an empty one (a service then answers that
        what it needs is missing)."""
        return self.body if isinstance(self.body, Mapping) else {}

    def now(self) -> datetime:
        """The sandbox clock's current UTC time."""
        return self.state.clock.now()

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, matched case-insensitively (WCF binds query names that way)."""
        wanted = name.lower()
        for key, value in self.query.items():
            if key.lower() == wanted:
                return value
        return default

    def require_arg(self, name: str, message: str | None = None) -> str:
        """A query parameter that must be present and non-empty."""
        value = self.arg(name)
        if not value:
            raise mandatory_missing(message or f"'{name}' is mandatory")
        return value

    def require_field(self, name: str, message: str | None = None) -> Any:
        """A field of the JSON body that must be present and non-empty."""
        value = self.object_body.get(name)
        if not value:
            raise mandatory_missing(message or f"{name} is mandatory")
        return value

    def emit(self, event: str, payload: Any) -> None:
        """Announce a record event of this tenant (drives webhooks)."""
        self.state.emit(self.tenant, event, payload)
