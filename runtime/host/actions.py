"""The host API's manifest, operations, connection and actions (see :mod:`runtime.host`)."""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runtime.api.client import LeadSquaredClient
from runtime.api.connection import Connection, connection_from_settings
from runtime.plugin import manifest as manifests
from runtime.plugin.effects import Effect, effect_of
from runtime.plugin.invoke import invoke_action
from runtime.plugin.manifest import Manifest, Operation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperationSpec:
    """One action or trigger as a host shows and calls it.

    ``input_schema`` is an action's input or a trigger's config; ``output_schema`` an action's
    output or ONE trigger event. Both are JSON Schema 2020-12 objects with every ``$ref``
    inlined (no files needed) and ``"type": "object"`` at the root. ``effect`` is ``None``
    for triggers.
    """

    key: str
    role: Literal["action", "trigger"]
    kind: Literal["action", "polling", "instant"]
    display_name: str
    group: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    effect: Effect | None


def load_manifest(root: str | Path | None = None) -> Manifest:
    """The connector's manifest, fully validated: ``root``, else ``$LSQ_CONNECTOR_ROOT``, else
    the connector's own files (read once per process)."""
    if root is None:
        return _own_manifest()
    return manifests.load_manifest(root)


@functools.cache
def _own_manifest() -> Manifest:
    return manifests.load_manifest()


def list_operations(manifest: Manifest | None = None) -> tuple[OperationSpec, ...]:
    """Every action, then every trigger, in manifest order."""
    chosen = manifest or load_manifest()
    return tuple(_spec(operation) for operation in chosen.operations)


def connect(settings: Mapping[str, Any] | Connection | None) -> LeadSquaredClient:
    """A client for one account (use it as a context manager).

    ``settings`` holds the manifest's connection fields (``access_key``, ``secret_key``,
    optional ``api_host``, ``rate_limit``, ``bulk_rate_limit``, ``timeout``, ``name``), or is
    a :class:`~runtime.api.connection.Connection`; ``None`` starts the embedded sandbox.
    """
    if settings is None:
        from runtime.embedded import embedded_connection

        logger.warning("no connection settings: using the embedded LeadSquared sandbox")
        return LeadSquaredClient(embedded_connection())
    if isinstance(settings, Connection):
        return LeadSquaredClient(settings)
    return LeadSquaredClient(connection_from_settings(settings))


def invoke(
    client: LeadSquaredClient,
    key: str,
    inputs: Mapping[str, Any],
    *,
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """Run action ``key``: input checked before any request, output checked before it is
    returned (InputValidationError / OutputValidationError name every problem)."""
    return invoke_action(manifest or load_manifest(), key, inputs, client)


def _spec(operation: Operation) -> OperationSpec:
    return OperationSpec(
        key=operation.key,
        role="trigger" if operation.is_trigger else "action",
        kind=operation.kind,  # type: ignore[arg-type]  # "action", "polling" or "instant"
        display_name=operation.display_name,
        group=operation.group,
        description=operation.description,
        input_schema=_standalone(operation.resolved_input_schema()),
        output_schema=_standalone(operation.resolved_output_schema()),
        effect=None if operation.is_trigger else effect_of(operation),
    )


def _standalone(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """A host's own copy of a resolved schema, typed as an object at the root (every input,
    config, output and event is one; a schema that combines others may leave it implied)."""
    schema = copy.deepcopy(dict(resolved))
    schema.setdefault("type", "object")
    return schema
