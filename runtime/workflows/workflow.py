"""Workflow files: read the YAML, check it statically, and build a :class:`Workflow`.

A workflow file is validated by ``schemas/_meta/workflow.schema.json`` and then by the checks in
:mod:`runtime.workflows.workflow_checks` (operation keys, template syntax, references, types,
required inputs). All problems are reported together, each formatted ``file:location: message``
where the location is ``trigger.key``, ``<step_id>.input.<field>``, ``<step_id>.when`` ...

The checks read operation schemas through the small :class:`OperationSchemas` protocol, so they
work with the real manifest (:class:`ManifestSchemas`) or with hand-written schemas
(:class:`StaticSchemas`).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from runtime.errors import ConnectorError, WorkflowError
from runtime.inputs import MAX_WORKFLOW_BYTES, UnreadableInput, read_text_input, yaml_problem
from runtime.workflows.account_names import AccountResolver
from runtime.workflows.templating import is_template
from runtime.workflows.workflow_checks import (
    OperationKind,
    OperationSchemas,
    run_checks,
    workflow_schema,
)

MAX_WORKFLOW_STEPS = 250
"""Most steps in one workflow."""
MAX_WORKFLOW_TEMPLATES = 500
"""Most template strings in one workflow (checking one takes a few milliseconds)."""
MAX_WORKFLOW_VALUES = 200_000
"""Most values (scalars, lists, mappings) in one workflow once YAML aliases are expanded."""


@dataclass(frozen=True)
class StaticSchemas:
    """:class:`OperationSchemas` from dicts: ``{key: {"input": {...}, "output": {...}}}``.

    Triggers may add ``"kind": "polling" | "instant"``; their ``input`` is the config schema.
    """

    actions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    triggers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def _table(self, kind: OperationKind) -> Mapping[str, Mapping[str, Any]]:
        return self.actions if kind == "action" else self.triggers

    def keys(self, kind: OperationKind) -> Collection[str]:
        return tuple(self._table(kind))

    def input_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        return self._table(kind).get(key, {}).get("input")

    def output_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        return self._table(kind).get(key, {}).get("output")

    def trigger_kind(self, key: str) -> str | None:
        return self.triggers.get(key, {}).get("kind")


class ManifestSchemas:
    """:class:`OperationSchemas` over a loaded ``runtime.plugin.manifest.Manifest``.

    Uses ``manifest.actions`` / ``manifest.triggers`` (``Operation.key``, ``.kind``,
    ``.input_schema_path``, ``.output_schema_path``, ``.resolved_input_schema()``,
    ``.resolved_output_schema()``) and ``manifest.schemas.has(path)``. A schema that is
    missing or cannot be resolved counts as absent: the manifest checks report it.
    """

    def __init__(self, manifest: Any) -> None:
        self.manifest = manifest
        self._resolved: dict[tuple[str, str, str], Mapping[str, Any] | None] = {}

    def _operation(self, kind: OperationKind, key: str) -> Any:
        operations = self.manifest.actions if kind == "action" else self.manifest.triggers
        return next((op for op in operations if op.key == key), None)

    def _schema(self, kind: OperationKind, key: str, which: str) -> Mapping[str, Any] | None:
        cache_key = (kind, key, which)
        if cache_key not in self._resolved:
            self._resolved[cache_key] = self._resolve(self._operation(kind, key), which)
        return self._resolved[cache_key]

    def _resolve(self, operation: Any, which: str) -> Mapping[str, Any] | None:
        if operation is None or not self.manifest.schemas.has(
            getattr(operation, f"{which}_schema_path")
        ):
            return None
        try:
            return getattr(operation, f"resolved_{which}_schema")()
        except ConnectorError:
            return None

    def keys(self, kind: OperationKind) -> Collection[str]:
        operations = self.manifest.actions if kind == "action" else self.manifest.triggers
        return tuple(op.key for op in operations)

    def input_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        return self._schema(kind, key, "input")

    def output_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        return self._schema(kind, key, "output")

    def trigger_kind(self, key: str) -> str | None:
        operation = self._operation("trigger", key)
        return operation.kind if operation is not None else None


@dataclass(frozen=True)
class TriggerSpec:
    """The trigger of a workflow: its key and (plain, untemplated) config."""

    key: str
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One step: an action with an input mapping (templates), an optional condition."""

    id: str
    action: str
    input: Mapping[str, Any] = field(default_factory=dict)
    when: str | bool | None = None
    on_error: Literal["stop", "continue"] = "stop"
    connection: str | None = None
    """Path of this step's connection file (already resolved against the workflow file)."""


@dataclass(frozen=True)
class Workflow:
    """A checked workflow, ready for the runner."""

    name: str
    trigger: TriggerSpec
    steps: tuple[Step, ...]
    description: str | None = None
    connection: str | None = None
    """Path of the connection file (resolved against the workflow file), if any."""
    poll_interval: int | None = None
    source: str = "<workflow>"


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """SafeLoader (libyaml's when installed: 5-60x faster on large files) that refuses
    duplicate keys instead of keeping the last one silently."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_workflow_file(path: str | os.PathLike[str], *, name: str | None = None) -> Any:
    """Parse a workflow file's YAML; unreadable files and bad YAML raise :class:`WorkflowError`.

    Problems are labelled ``name`` (default: the path).
    """
    label = name or str(path)
    try:
        text = read_text_input(path, limit=MAX_WORKFLOW_BYTES, what=f"workflow file {path}")
    except UnreadableInput as exc:
        raise WorkflowError(f"{label}: cannot be read: {exc.reason}", hint=exc.hint) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        line, problem = yaml_problem(exc, text)
        where = f"{label}:line {line}" if line is not None else label
        raise WorkflowError("invalid workflow file", [f"{where}: invalid YAML: {problem}"]) from exc
    except RecursionError:
        raise WorkflowError("invalid workflow file", [f"{label}: nested too deeply"]) from None


def check_workflow(
    source: str | os.PathLike[str] | Mapping[str, Any],
    schemas: OperationSchemas,
    *,
    name: str | None = None,
    accounts: AccountResolver | None = None,
) -> list[str]:
    """Every problem of a workflow (a file path or already-parsed data), as ``file:loc: msg``.

    An empty list means the workflow is valid. ``name`` labels data that has no file. With
    ``accounts`` (connection file as written in the workflow -> its account), names of fields,
    types and users are also looked up in the account.
    """
    if not isinstance(source, str | os.PathLike):  # parsed data (a mapping, or not: a problem)
        label = name or "<workflow>"
        return size_problems(source, label) or run_checks(source, schemas, label, accounts)
    label = name or str(source)
    try:
        data = read_workflow_file(source, name=label)
    except WorkflowError as exc:
        return exc.problems or [str(exc)]  # the message starts with the label
    return size_problems(data, label) or run_checks(data, schemas, label, accounts)


def size_problems(data: Any, label: str) -> list[str]:
    """A workflow over :data:`MAX_WORKFLOW_STEPS` steps, :data:`MAX_WORKFLOW_TEMPLATES`
    templates or :data:`MAX_WORKFLOW_VALUES` values is refused before it is checked (checking
    grows with each; aliases can make a small file expand without end)."""
    steps = data.get("steps") if isinstance(data, Mapping) else None
    if isinstance(steps, list) and len(steps) > MAX_WORKFLOW_STEPS:
        return [f"{label}:steps: {len(steps)} steps; a workflow has at most {MAX_WORKFLOW_STEPS}"]
    templates, values, stack = 0, 0, [data]
    while stack:
        value = stack.pop()
        values += 1
        if values > MAX_WORKFLOW_VALUES:  # YAML aliases can repeat a value, or nest it in itself
            return [f"{label}: more than {MAX_WORKFLOW_VALUES} values (aliases expanded)"]
        if isinstance(value, Mapping):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif is_template(value):
            templates += 1
    if templates > MAX_WORKFLOW_TEMPLATES:
        return [f"{label}: {templates} templates; a workflow has at most "
                f"{MAX_WORKFLOW_TEMPLATES}"]
    return []


def load_workflow(
    source: str | os.PathLike[str] | Mapping[str, Any],
    schemas: OperationSchemas,
    *,
    name: str | None = None,
) -> Workflow:
    """Check a workflow and build it; raise :class:`WorkflowError` listing every problem."""
    label = name or ("<workflow>" if isinstance(source, Mapping) else str(source))
    data = source if isinstance(source, Mapping) else read_workflow_file(source, name=label)
    problems = check_workflow(data, schemas, name=label)
    if problems:
        named = all(problem.startswith(f"{label}:") for problem in problems)
        # the file once: each problem already starts with it (as for a YAML mistake)
        raise WorkflowError("invalid workflow file" if named else f"workflow {label} is invalid",
                            problems)
    base = None if isinstance(source, Mapping) else Path(source).resolve().parent
    return _build(data, label, base)


def _resolve(path: str | None, base: Path | None) -> str | None:
    if path is None or base is None:
        return path
    return str((base / path).resolve())


def _build(data: Mapping[str, Any], label: str, base: Path | None) -> Workflow:
    trigger = data["trigger"]
    steps = tuple(
        Step(
            id=step["id"],
            action=step["action"],
            input=step.get("input", {}),
            when=step.get("when"),
            on_error=step.get("on_error", "stop"),
            connection=_resolve(step.get("connection"), base),
        )
        for step in data["steps"]
    )
    return Workflow(
        name=data["name"],
        trigger=TriggerSpec(trigger["key"], trigger.get("config", {})),
        steps=steps,
        description=data.get("description"),
        connection=_resolve(data.get("connection"), base),
        poll_interval=data.get("poll_interval"),
        source=label,
    )


__all__ = [
    "MAX_WORKFLOW_STEPS",
    "MAX_WORKFLOW_TEMPLATES",
    "MAX_WORKFLOW_VALUES",
    "ManifestSchemas",
    "OperationKind",
    "OperationSchemas",
    "StaticSchemas",
    "Step",
    "TriggerSpec",
    "Workflow",
    "check_workflow",
    "load_workflow",
    "read_workflow_file",
    "workflow_schema",
]
