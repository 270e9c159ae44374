"""Instant triggers: the WSGI receiver and the durable inbox its deliveries go to."""

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
