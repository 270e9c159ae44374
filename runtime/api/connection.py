"""The connection to one LeadSquared account, loaded from a YAML file or the environment.

A connection file looks like::

    name: acme
    access_key: "u$r..."            # quote it: YAML would otherwise read some keys as numbers
    secret_key: "..."
    api_host: api-in21.leadsquared.com   # or https://api-in21.leadsquared.com, or omit to discover
    rate_limit: 25                   # calls per 5 s (the account's plan); optional
    bulk_rate_limit: 1               # bulk calls per 5 s; optional
    timeout: 30                      # seconds per request; optional

Without a file, ``LSQ_ACCESS_KEY``, ``LSQ_SECRET_KEY`` and ``LSQ_API_HOST`` are read. With
neither, :func:`load_connection` returns ``None`` and the caller starts the embedded sandbox.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runtime.api.hosts import check_host_name, check_sandbox_url, parse_api_host
from runtime.errors import ConfigurationError
from runtime.inputs import MAX_CONNECTION_BYTES, UnreadableInput, read_text_input, yaml_problem
from runtime.text import LONE_SURROGATE

ENV_ACCESS_KEY = "LSQ_ACCESS_KEY"
ENV_SECRET_KEY = "LSQ_SECRET_KEY"
ENV_API_HOST = "LSQ_API_HOST"
FILE_FIELDS = ("name", "access_key", "secret_key", "api_host", "rate_limit", "bulk_rate_limit",
               "timeout")


@dataclass(frozen=True, repr=False)
class Connection:
    """Credentials and settings for one account; ``repr``/``str`` never show the keys."""

    access_key: str
    secret_key: str
    api_host: str | None = None
    base_url: str | None = None
    rate_limit: int = 25
    bulk_rate_limit: int = 1
    timeout: float = 30.0
    name: str = "default"

    def __post_init__(self) -> None:
        for field_name in ("access_key", "secret_key"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{field_name} is missing or blank")
        if self.api_host is not None:
            object.__setattr__(self, "api_host", check_host_name(self.api_host))
        if self.base_url is not None:
            object.__setattr__(self, "base_url", check_sandbox_url(self.base_url))
        _check_positive_int("rate_limit", self.rate_limit)
        _check_positive_int("bulk_rate_limit", self.bulk_rate_limit)
        _check_timeout(self.timeout)

    @property
    def root_url(self) -> str | None:
        """Where ``/v2/...`` is served: the sandbox or ``https://{api_host}`` (None: discover)."""
        if self.base_url:
            return self.base_url
        return f"https://{self.api_host}" if self.api_host else None

    def __repr__(self) -> str:
        target = self.base_url or self.api_host or "(host to be discovered)"
        via = f" via {self.base_url}" if self.base_url and self.api_host else ""
        host = self.api_host if via else target
        return f"Connection(name={self.name!r}, api_host={host!r}{via}, access_key='***')"

    __str__ = __repr__


def load_connection(path: str | Path | None, environ: Mapping[str, str]) -> Connection | None:
    """The connection from ``path`` (YAML), else from the environment, else ``None``."""
    if path is not None:
        return _from_file(Path(path))
    return _from_environ(environ)


def _from_file(path: Path) -> Connection:
    where = f"connection file {path}"
    try:
        text = read_text_input(path, limit=MAX_CONNECTION_BYTES, what=where)
    except UnreadableInput as problem:
        if problem.missing:
            raise ConfigurationError(f"{where} does not exist", hint="check the path") from None
        raise ConfigurationError(f"{where} cannot be read: {problem.reason}",
                                 hint=problem.hint) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        line, what = yaml_problem(problem, text)
        at = f" at line {line}" if line is not None else ""
        raise ConfigurationError(
            f"{where} is not valid YAML{at}: {what}", hint="quote values that contain ':' or '#'"
        ) from None
    except RecursionError:
        raise ConfigurationError(f"{where} is nested too deeply") from None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{where} must be a mapping of {', '.join(FILE_FIELDS)}",
            hint="write one 'field: value' per line",
        )
    return connection_from_settings(data, where=where, default_name=path.stem)


def connection_from_settings(
    data: Mapping[str, Any], *, where: str = "connection", default_name: str = "default"
) -> Connection:
    """A connection from the fields of a connection file (``FILE_FIELDS``), checked as a file's
    are; ``where`` starts every error message."""
    unknown = sorted(str(key) for key in data if key not in FILE_FIELDS)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown field(s) {', '.join(unknown)}",
            hint=f"valid fields: {', '.join(FILE_FIELDS)}",
        )
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or LONE_SURROGATE.search(name):
        raise ConfigurationError(f"{where}: name must be a non-empty string of valid text")
    settings: dict[str, Any] = {"name": name.strip()}
    for key in ("access_key", "secret_key"):
        settings[key] = _key(data.get(key), key, where, f"add '{key}: \"...\"'")
    settings.update(_host(data.get("api_host"), where))
    for key in ("rate_limit", "bulk_rate_limit", "timeout"):
        if data.get(key) is not None:
            settings[key] = data[key]
    try:
        return Connection(**settings)
    except ConfigurationError as problem:
        raise ConfigurationError(f"{where}: {problem.message}", hint=problem.hint) from None


def _from_environ(environ: Mapping[str, str]) -> Connection | None:
    access = environ.get(ENV_ACCESS_KEY, "")
    secret = environ.get(ENV_SECRET_KEY, "")
    if not access.strip() and not secret.strip():
        return None
    where = "environment"
    settings: dict[str, Any] = {
        "access_key": _key(access, ENV_ACCESS_KEY, where, f"export {ENV_ACCESS_KEY}=..."),
        "secret_key": _key(secret, ENV_SECRET_KEY, where, f"export {ENV_SECRET_KEY}=..."),
        "name": "env",
    }
    settings.update(_host(environ.get(ENV_API_HOST), where, field=ENV_API_HOST))
    return Connection(**settings)


def _key(value: Any, field: str, where: str, fix: str) -> str:
    """A key value: a non-blank string, stripped of surrounding whitespace."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ConfigurationError(f"{where}: {field} is missing or blank", hint=fix)
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{where}: {field} must be a string, got {type(value).__name__}",
            hint="put the key in quotes",
        )
    if LONE_SURROGATE.search(value):
        raise ConfigurationError(
            f"{where}: {field} is not valid text (undecodable bytes or a lone surrogate)",
            hint="copy the key again (My Account > Settings > API and Webhooks)",
        )
    return value.strip()


def _host(value: Any, where: str, *, field: str = "api_host") -> dict[str, str | None]:
    """``api_host``/``base_url`` settings from an api_host value (absent or blank = discover)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{where}: {field} must be a host name string, got {type(value).__name__}"
        )
    try:
        api_host, base_url = parse_api_host(value)
    except ConfigurationError as problem:  # its message starts with "api_host": name the field
        message, hint = problem.message, problem.hint
        if field != "api_host":
            message = message.replace("api_host", field, 1)
            hint = hint.replace("api_host", field, 1) if hint else hint
        raise ConfigurationError(f"{where}: {message}", hint=hint) from None
    return {"api_host": api_host, "base_url": base_url}


def _check_positive_int(field: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"{field} must be a whole number of calls per 5 s (>= 1), got {value!r}",
            hint="use your LeadSquared plan's limit, e.g. 25 for Enterprise",
        )


def _check_timeout(value: Any) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(f"timeout must be a positive number of seconds, got {value!r}")
