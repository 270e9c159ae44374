"""The trigger instance of a (trigger, config, account): one id for its state and inbox.

The account is the org id and regional API host that ``Authentication.svc/UserByAccessKey.Get``
reports (``client.account()``, asked once per connection identity per process, see
:mod:`runtime.api.account`). So an instance has the same id whether the host was configured
or discovered, through a local sandbox's changing loopback port, and after a key rotation;
two accounts used from one folder never share a cursor, an inbox item or a subscription.

Ids were once derived from the API host and a fingerprint of the access key
(:func:`legacy_instance_id`). With ``stores``, :func:`trigger_instance` moves an instance's
rows from its legacy id to the new one, once (:mod:`runtime.store.instance_rename`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from runtime.store.instance_rename import rename_instance
from runtime.store.state import access_key_fingerprint, instance_id

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient
    from runtime.store.schema import DatabaseStore

log = logging.getLogger(__name__)


def trigger_instance(
    client: LeadSquaredClient,
    trigger_key: str,
    config: Mapping[str, Any],
    *,
    stores: Iterable[DatabaseStore] = (),
) -> str:
    """The instance id of ``trigger_key`` with ``config`` (validated, defaults filled in) on
    ``client``'s account; state under its legacy id in ``stores`` is moved to it first."""
    account = client.account()
    instance = instance_id(trigger_key, config, account=account.key)
    legacy = legacy_instance_id(
        trigger_key, config, api_host=account.api_host, access_key=client.connection.access_key
    )
    for store in stores:
        if rename_instance(store.db, legacy, instance):
            log.info("trigger state of %s moved from its former id %s", instance, legacy)
    return instance


def legacy_instance_id(
    trigger_key: str, config: Mapping[str, Any], *, api_host: str, access_key: str
) -> str:
    """The id an instance had before ids were keyed by account: (API host, access key hash)."""
    identity = {
        "trigger": trigger_key,
        "config": config,
        "host": api_host.strip().lower().rstrip("/"),
        "access_key": access_key_fingerprint(access_key),
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return f"{trigger_key}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:20]}"
