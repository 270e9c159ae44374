"""Load ``connector.yaml`` into a :class:`Manifest` of :class:`Operation` objects.

Validation has two stages (the format is documented in ``schemas/_meta/connector.schema.json``):

1. the meta-schema (:func:`read_manifest` stops here and raises ``ManifestError``);
2. the checks in :mod:`runtime.plugin.manifest_checks` (schema files, ``$ref``, handlers, samples,
   dedupe keys), which :func:`load_manifest` runs and :func:`check_manifest` reports.

Every problem is one ``"location: message"`` string; locations name operations by key
(``actions.create_lead.handler``, ``triggers.new_lead.sample_output.ProspectID``).

The connector root is the folder holding ``connector.yaml``, ``schemas/``, ``operations/`` and
``triggers/``: a parameter, else ``$LSQ_CONNECTOR_ROOT``, else the connector's own files (the
checkout, or the installed copy: :mod:`runtime.plugin.resources`).
Handlers are imported only when asked for (:meth:`Operation.handler`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from runtime.errors import ManifestError
from runtime.inputs import MAX_MANIFEST_BYTES, UnreadableInput, read_text_input, yaml_problem
from runtime.plugin.manifest_checks import run_checks
from runtime.plugin.operation import (
    MANIFEST_FILE,
    PACKAGE_ROOT,
    ROLES,
    ROOT_ENV,
    Manifest,
    ManifestReport,
    Operation,
    Role,
    import_handler,
    suggest,
)
from runtime.plugin.schemas import SchemaStore, explain

META_SCHEMA = "_meta/connector.schema.json"



def connector_root(
    root: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """The connector root: ``root``, else ``$LSQ_CONNECTOR_ROOT``, else the connector's own."""
    chosen = root or (os.environ if environ is None else environ).get(ROOT_ENV)
    return Path(chosen).resolve() if chosen else PACKAGE_ROOT


def read_manifest(root: str | Path | None = None) -> Manifest:
    """Read ``connector.yaml`` and check it against the meta-schema only (stage one)."""
    base = connector_root(root)
    data = _read_yaml(base / MANIFEST_FILE)
    store = SchemaStore(base / "schemas")
    problems = _meta_problems(data, store)
    if problems:
        raise ManifestError(f"{MANIFEST_FILE} is invalid", problems)
    return _build(base, data, store)


def load_manifest(root: str | Path | None = None) -> Manifest:
    """Read ``connector.yaml`` and run both validation stages; ManifestError lists every problem."""
    report = check_manifest(root)
    if report.manifest is None or not report.valid:
        raise ManifestError(f"{MANIFEST_FILE} is invalid", report.problems)
    return report.manifest


def check_manifest(root: str | Path | None = None) -> ManifestReport:
    """Both validation stages, reported rather than raised (stage two runs if stage one passes)."""
    base = connector_root(root)
    try:
        data = _read_yaml(base / MANIFEST_FILE)
    except ManifestError as problem:
        return ManifestReport((), (), tuple(problem.problems or [problem.message]))
    actions, triggers = _declared_keys(data, "actions"), _declared_keys(data, "triggers")
    store = SchemaStore(base / "schemas")
    problems = _meta_problems(data, store)
    if problems:
        return ManifestReport(actions, triggers, tuple(problems))
    manifest = _build(base, data, store)
    return ManifestReport(actions, triggers, tuple(run_checks(manifest)), manifest)


class _StringDates(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when installed: 7x faster) keeping dates as strings (samples hold
    LeadSquared date strings)."""


_StringDates.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path) -> Any:
    try:
        text = read_text_input(path, limit=MAX_MANIFEST_BYTES, what=MANIFEST_FILE)
    except UnreadableInput as problem:
        if problem.missing:
            raise ManifestError(f"{MANIFEST_FILE}: not found in {path.parent}") from None
        raise ManifestError(f"{MANIFEST_FILE}: cannot be read: {problem.reason}") from None
    try:
        return yaml.load(text, Loader=_StringDates)  # a SafeLoader subclass
    except yaml.YAMLError as problem:
        line, reason = yaml_problem(problem, text)
        where = f"{MANIFEST_FILE}:{line}" if line is not None else MANIFEST_FILE
        raise ManifestError(f"{MANIFEST_FILE} is not valid YAML", [f"{where}: {reason}"]) from None


def _meta_problems(data: Any, store: SchemaStore) -> list[str]:
    if not store.has(META_SCHEMA):
        return [f"schemas/{META_SCHEMA}: missing or invalid", *store.problems]
    if store.is_valid(META_SCHEMA, data):
        return []
    problems = []
    for error in store.validator(META_SCHEMA).iter_errors(data):
        problems.append(f"{_location(data, list(error.absolute_path))}: {explain(error)}")
    return sorted(problems)


def _location(data: Any, path: list[Any]) -> str:
    """``actions.create_lead.display_name`` for the meta-schema path actions/0/display_name."""
    parts: list[str] = []
    node = data
    for step in path:
        keyed = isinstance(step, int) and isinstance(node, list) and len(parts) == 1
        key = node[step].get("key") if keyed and isinstance(node[step], dict) else None
        if isinstance(key, str) and key:
            parts.append(f".{key}")
        else:
            parts.append(f"[{step}]" if isinstance(step, int) else f".{step}")
        node = node[step]
    return "".join(parts).lstrip(".") or MANIFEST_FILE


def _declared_keys(data: Any, section: str) -> tuple[str, ...]:
    entries = data.get(section) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return ()
    return tuple(e["key"] for e in entries if isinstance(e, dict) and isinstance(e.get("key"), str))


def _build(root: Path, data: Mapping[str, Any], store: SchemaStore) -> Manifest:
    def operation(entry: Mapping[str, Any], role: str) -> Operation:
        dedupe = entry.get("dedupe_key", ())
        return Operation(
            key=entry["key"],
            kind=entry.get("kind", "action") if role == "trigger" else "action",
            display_name=entry["display_name"],
            group=entry["group"],
            description=entry["description"],
            endpoint=entry["endpoint"],
            handler_name=entry["handler"],
            sample_input=entry["sample_input"],
            sample_output=entry["sample_output"],
            dedupe_key=(dedupe,) if isinstance(dedupe, str) else tuple(dedupe),
            root=root,
            schemas=store,
        )

    return Manifest(
        root=root,
        name=data["name"],
        display_name=data["display_name"],
        version=data["version"],
        description=data["description"],
        docs_url=data["docs_url"],
        connection=data["connection"],
        actions=tuple(operation(entry, "action") for entry in data["actions"]),
        triggers=tuple(operation(entry, "trigger") for entry in data["triggers"]),
        schemas=store,
    )


__all__ = [
    "MANIFEST_FILE",
    "META_SCHEMA",
    "PACKAGE_ROOT",
    "ROLES",
    "ROOT_ENV",
    "Manifest",
    "ManifestReport",
    "Operation",
    "Role",
    "check_manifest",
    "connector_root",
    "import_handler",
    "load_manifest",
    "read_manifest",
    "suggest",
]
