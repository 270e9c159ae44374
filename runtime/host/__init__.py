"""The host API: how an integration platform runs this connector, with no checkout and no CLI.

A host finds the connector among its installed plugins through the ``ipaas.connectors`` entry
point group (``leadsquared = runtime.host``: loading it gives this module) and calls only the
names below: :func:`load_manifest`, :func:`list_operations` (each action and trigger with
self-contained JSON Schemas and, for actions, its :class:`Effect`), :func:`connect` (a client
from a connection's settings), :func:`invoke` (one action, its input and output validated),
:func:`poll` (one poll of a polling trigger, its new events handed to the host before the
cursor moves), and :func:`verify_delivery` / :func:`parse_delivery` (an instant trigger's
webhook request). Failures raise :class:`~runtime.errors.ConnectorError` subclasses whose
``str()`` is one line without secrets; nothing here prints. This package may import the
layers below the top (engine, workflows, plugin, api, store) and the embedded sandbox;
``lsq mcp`` (:mod:`runtime.mcp`) is built on it.
"""

from runtime.host.actions import (
    OperationSpec,
    connect,
    invoke,
    list_operations,
    load_manifest,
)
from runtime.host.triggers import (
    SECRET_HEADER,
    Event,
    PollSummary,
    parse_delivery,
    poll,
    verify_delivery,
)
from runtime.plugin.effects import Effect

__all__ = [
    "SECRET_HEADER",
    "Effect",
    "Event",
    "OperationSpec",
    "PollSummary",
    "connect",
    "invoke",
    "list_operations",
    "load_manifest",
    "parse_delivery",
    "poll",
    "verify_delivery",
]
