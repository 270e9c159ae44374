"""The plugin's model: :class:`Manifest`, :class:`Operation` and importing handlers.

:mod:`runtime.plugin.manifest` builds these from ``connector.yaml``;
:mod:`runtime.plugin.manifest_checks` checks them. Both import this module, never each other.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.errors import ConfigurationError, ManifestError
from runtime.plugin.resources import MANIFEST_FILE, OWN_ROOT, handler_base
from runtime.plugin.schemas import SchemaStore

ROOT_ENV = "LSQ_CONNECTOR_ROOT"
#: The connector root this runtime ships with (:mod:`runtime.plugin.resources`).
PACKAGE_ROOT = OWN_ROOT


@dataclass(frozen=True)
class Role:
    """What differs between actions and triggers: section, handler package, input schema."""

    section: str   # manifest section and schemas/ folder
    package: str   # handler package
    input_suffix: str  # schemas/<section>/<key>.<input_suffix>.json


ROLES = {
    "action": Role("actions", "operations", "input"),
    "trigger": Role("triggers", "triggers", "config"),
}


@dataclass(frozen=True)
class Operation:
    """One action or trigger as declared in the manifest."""

    key: str
    kind: str  # "action", or a trigger's "polling" / "instant"
    display_name: str
    group: str
    description: str
    endpoint: str
    handler_name: str  # "operations.create_lead" / "triggers.new_lead"
    sample_input: Mapping[str, Any]
    sample_output: Mapping[str, Any]
    dedupe_key: tuple[str, ...] = ()  # triggers only
    root: Path = field(default=PACKAGE_ROOT, repr=False)
    schemas: SchemaStore | None = field(default=None, repr=False, compare=False)

    @property
    def role(self) -> str:
        """``"action"`` or ``"trigger"``."""
        return "action" if self.kind == "action" else "trigger"

    @property
    def is_trigger(self) -> bool:
        return self.role == "trigger"

    @property
    def location(self) -> str:
        """Where problems about this operation are reported: ``actions.create_lead``."""
        return f"{ROLES[self.role].section}.{self.key}"

    @functools.cached_property  # read on every call (key and kind never change)
    def input_schema_path(self) -> str:
        """``actions/<key>.input.json`` or ``triggers/<key>.config.json`` (under ``schemas/``)."""
        role = ROLES[self.role]
        return f"{role.section}/{self.key}.{role.input_suffix}.json"

    @functools.cached_property
    def output_schema_path(self) -> str:
        """``actions/<key>.output.json`` or ``triggers/<key>.output.json`` (one event)."""
        return f"{ROLES[self.role].section}/{self.key}.output.json"

    @property
    def input_schema(self) -> dict[str, Any]:
        return self._store().get(self.input_schema_path)

    @property
    def output_schema(self) -> dict[str, Any]:
        return self._store().get(self.output_schema_path)

    def resolved_input_schema(self) -> dict[str, Any]:
        """The input (config) schema with every ``$ref`` inlined, for walking."""
        return self._store().resolve(self.input_schema_path)

    def resolved_output_schema(self) -> dict[str, Any]:
        """The output (event) schema with every ``$ref`` inlined, for walking."""
        return self._store().resolve(self.output_schema_path)

    @functools.cached_property
    def input_defaults(self) -> tuple[tuple[str, Any], ...]:
        """``(name, default)`` of each top-level input property with a ``default`` (read once;
        callers copy the value before handing it on)."""
        properties = self.resolved_input_schema().get("properties", {})
        return tuple(
            (name, spec["default"]) for name, spec in properties.items()
            if isinstance(spec, Mapping) and "default" in spec
        )

    def input_problems(self, inputs: Any) -> list[str]:
        """How ``inputs`` fails the input/config schema: ``"<json path>: <message>"`` lines."""
        return self._store().errors(self.input_schema_path, inputs)

    def output_problems(self, output: Any) -> list[str]:
        """How ``output`` fails the output (event) schema."""
        return self._store().errors(self.output_schema_path, output)

    def handler_module(self) -> types.ModuleType:
        """The handler module, imported now (ManifestError if it is missing or fails)."""
        return import_handler(self.root, self.handler_name)

    def handler(self) -> Callable[..., Any]:
        """An action's ``run(client, inputs)`` function (imported and checked once)."""
        return self._run_function

    @functools.cached_property
    def _run_function(self) -> Callable[..., Any]:
        run = getattr(self.handler_module(), "run", None)
        if not callable(run):
            raise ManifestError(f"{self.location}: {self.handler_name} has no run() function")
        return run

    def _store(self) -> SchemaStore:
        if self.schemas is None:
            raise ManifestError(f"{self.location}: operation built without a schema store")
        return self.schemas


@dataclass(frozen=True)
class Manifest:
    """The connector: metadata, connection, actions and triggers (in manifest order)."""

    root: Path
    name: str
    display_name: str
    version: str
    description: str
    docs_url: str
    connection: Mapping[str, Any]
    actions: tuple[Operation, ...]
    triggers: tuple[Operation, ...]
    schemas: SchemaStore = field(repr=False, compare=False)

    @property
    def path(self) -> Path:
        return self.root / MANIFEST_FILE

    @property
    def operations(self) -> tuple[Operation, ...]:
        """Actions then triggers."""
        return self.actions + self.triggers

    @property
    def secret_fields(self) -> tuple[str, ...]:
        """Connection fields marked ``secret: true`` (never logged or printed)."""
        fields = self.connection.get("fields", {})
        return tuple(name for name, spec in fields.items() if spec.get("secret"))

    def action(self, key: str) -> Operation:
        """The action ``key``; ConfigurationError with a "did you mean" for unknown keys."""
        return _find(self.actions, key, "action")

    def trigger(self, key: str) -> Operation:
        """The trigger ``key``; ConfigurationError with a "did you mean" for unknown keys."""
        return _find(self.triggers, key, "trigger")


@dataclass(frozen=True)
class ManifestReport:
    """The outcome of both validation stages (``lsq validate``)."""

    actions: tuple[str, ...]
    triggers: tuple[str, ...]
    problems: tuple[str, ...]
    manifest: Manifest | None = field(default=None, repr=False)

    @property
    def valid(self) -> bool:
        return not self.problems

def import_handler(root: Path, dotted: str) -> types.ModuleType:
    """Import handler module ``dotted`` (``operations.create_lead``) from the connector ``root``.

    The connector's own modules are imported under their real names; a manifest elsewhere
    (tests, ``LSQ_CONNECTOR_ROOT``) is imported under a private alias package so that it
    never shadows or is shadowed by the connector's ``operations``/``triggers`` packages.
    """
    relpath = Path(*dotted.split(".")).with_suffix(".py")
    base = handler_base(root)
    if not (base / relpath).is_file():
        raise ManifestError(f"handler {dotted}: no module file {relpath.as_posix()}")
    own = root == PACKAGE_ROOT
    name = dotted if own else f"{_alias_package(root)}.{dotted}"
    if own and str(base) not in sys.path:
        sys.path.append(str(base))  # operations/ and triggers/ sit beside runtime/
    try:
        module = importlib.import_module(name)
    except Exception as problem:  # any import-time failure is a manifest problem
        raise ManifestError(
            f"handler {dotted} cannot be imported: {type(problem).__name__}: {problem}"
        ) from problem
    found = Path(module.__file__ or "").resolve()
    if found != (base / relpath).resolve():
        raise ManifestError(f"handler {dotted}: imported {found}, not {base / relpath}")
    return module


def suggest(key: str, known: Sequence[str]) -> str | None:
    """The closest known key to a mistyped one, if any is close."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _find(operations: Sequence[Operation], key: str, role: str) -> Operation:
    for operation in operations:
        if operation.key == key:
            return operation
    known = [operation.key for operation in operations]
    if not known:
        raise ConfigurationError(f"unknown {role} {key!r}: the manifest declares no {role}s yet")
    guess = suggest(key, known)
    hint = f"did you mean {guess!r}?" if guess else f"known {role}s: {', '.join(known)}"
    raise ConfigurationError(f"unknown {role} {key!r}", hint=hint)


def _alias_package(root: Path) -> str:
    """A private top-level package whose ``__path__`` is ``root`` (registered once per root)."""
    alias = "_lsq_connector_" + hashlib.sha1(str(root).encode()).hexdigest()[:10]
    if alias not in sys.modules:
        package = types.ModuleType(alias)
        package.__path__ = [str(root)]
        sys.modules[alias] = package
        importlib.invalidate_caches()
    return alias
