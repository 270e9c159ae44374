"""Instant triggers: the WSGI receiver and the durable inbox its deliveries go to.

The names below are imported on first use (PEP 562): the polling engine and the trigger
modules need only the inbox, and importing the receiver would load werkzeug into every
process, ``lsq validate`` included.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .inbox import Inbox, InboxItem
    from .receiver import (
        DEFAULT_MAX_BODY_BYTES,
        HOOK_PATH_PREFIX,
        SECRET_HEADER,
        EventKeyFunction,
        WebhookReceiver,
        canonical_event_key,
        hook_path,
        new_secret,
        parse_events,
        receiver_url,
    )

_MODULE_OF = {
    "Inbox": "inbox",
    "InboxItem": "inbox",
    "DEFAULT_MAX_BODY_BYTES": "receiver",
    "HOOK_PATH_PREFIX": "receiver",
    "SECRET_HEADER": "receiver",
    "EventKeyFunction": "receiver",
    "WebhookReceiver": "receiver",
    "canonical_event_key": "receiver",
    "hook_path": "receiver",
    "new_secret": "receiver",
    "parse_events": "receiver",
    "receiver_url": "receiver",
}

__all__ = [
    "DEFAULT_MAX_BODY_BYTES",
    "HOOK_PATH_PREFIX",
    "SECRET_HEADER",
    "EventKeyFunction",
    "Inbox",
    "InboxItem",
    "WebhookReceiver",
    "canonical_event_key",
    "hook_path",
    "new_secret",
    "parse_events",
    "receiver_url",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
