"""Who a connection is: the account (org id, API host) and the calling user.

Read from ``Authentication.svc/UserByAccessKey.Get`` (reference §1.3), which answers on every
regional host. The answer is read under every documented variant (reference §15): the
login email is in ``EmailAddress`` on some tenants and in ``PassPhrase`` (with
``EmailAddress`` null) in the documented sample; ``OrgId`` is kept as text, whatever its form.

:data:`IDENTITIES` keeps one identity per connection identity (where it is served and a
fingerprint of its key pair, never the keys) for the life of the process, so any number of
clients, workflow files or trigger instances of one account cost one look-up.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.api.hosts import check_host_name
from runtime.errors import ConfigurationError

WHOAMI = "Authentication.svc/UserByAccessKey.Get"


@dataclass(frozen=True)
class AccountIdentity:
    """The account and user behind a key pair."""

    org_id: str | None
    api_host: str
    user_id: str | None = None
    user_name: str | None = None
    user_email: str | None = None
    role: str | None = None
    org_name: str | None = None
    short_code: str | None = None

    @property
    def key(self) -> str:
        """``<org id>@<api host>``: what trigger state is keyed by (never a secret)."""
        if not self.org_id:
            raise ConfigurationError(
                f"{WHOAMI} did not name the account's org, so its trigger state cannot be kept",
                hint="check the keys with `lsq auth test`",
            )
        return f"{self.org_id}@{self.api_host}"


def identity_from(answer: Any) -> AccountIdentity:
    """An :class:`AccountIdentity` from a UserByAccessKey.Get answer.

    ConfigurationError when the answer names no API host, or one outside LeadSquared's.
    """
    if not isinstance(answer, Mapping):
        raise ConfigurationError(f"{WHOAMI} answered with {type(answer).__name__}, not an object")
    urls = answer.get("LSQCommonServiceURLs")
    host = urls.get("api") if isinstance(urls, Mapping) else None
    if not isinstance(host, str) or not host.strip():
        raise ConfigurationError(
            "could not discover the account's API host",
            hint="set api_host to your account's API host, e.g. api-in21.leadsquared.com",
        )
    return AccountIdentity(
        org_id=_text(answer.get("OrgId")),
        api_host=check_host_name(host),
        user_id=_text(answer.get("Id")),
        user_name=_text(answer.get("Name")),
        user_email=_text(answer.get("EmailAddress")) or _email(answer.get("PassPhrase")),
        role=_text(answer.get("Role")),
        org_name=_text(answer.get("OrgDisplayName")),
        short_code=_text(answer.get("OrgShortCode")),
    )


def connection_fingerprint(where: str, access_key: str, secret_key: str) -> str:
    """A one-way key for "this key pair at this endpoint" (the keys never leave this hash)."""
    material = "\0".join(("lsq-connection", where, access_key, secret_key)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()[:24]


class IdentityCache:
    """Identities by connection fingerprint; concurrent askers of one share one look-up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._known: dict[str, AccountIdentity] = {}

    def get(self, fingerprint: str, fetch: Callable[[], AccountIdentity]) -> AccountIdentity:
        """The cached identity, else ``fetch()``'s (kept only when it succeeds)."""
        with self._lock:
            known = self._known.get(fingerprint)
            if known is not None:
                return known
            lock = self._locks.setdefault(fingerprint, threading.Lock())
        with lock:
            known = self._known.get(fingerprint)
            if known is None:
                known = fetch()
                with self._lock:
                    self._known[fingerprint] = known
            return known

    def put(self, fingerprint: str, identity: AccountIdentity) -> None:
        with self._lock:
            self._known[fingerprint] = identity

    def known(self) -> dict[str, AccountIdentity]:
        """Every identity looked up so far (a worker process of `lsq serve` starts with them,
        instead of looking each account up again)."""
        with self._lock:
            return dict(self._known)

    def clear(self) -> None:
        with self._lock:
            self._known.clear()
            self._locks.clear()


IDENTITIES = IdentityCache()
"""The process's identities (tests clear it with the governors)."""


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value not in (None, "") else None


def _email(value: Any) -> str | None:
    text = _text(value)
    return text if text and "@" in text else None
