"""The trigger instance of a (trigger, config, connection): one id for its state and inbox.

:func:`runtime.store.state.instance_id` needs the account's resolved regional API host. A client
configured with ``api_host`` knows it; otherwise it is asked once with
``Authentication.svc/UserByAccessKey.Get`` (which answers on every host and names the account's
host), so an instance has the same id whether the host was configured or discovered, and a
local sandbox answers as the regional host it emulates, not as its changing loopback port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.api.hosts import check_host_name
from runtime.errors import ConfigurationError
from runtime.store.state import instance_id

if TYPE_CHECKING:
    from runtime.api.client import LeadSquaredClient

WHOAMI = "Authentication.svc/UserByAccessKey.Get"


def resolved_api_host(client: LeadSquaredClient) -> str:
    """The account's regional API host name, e.g. ``api-in21.leadsquared.com``."""
    if client.api_host:
        return client.api_host
    answer = client.get(WHOAMI)
    if client.api_host:  # the call discovered it
        return client.api_host
    urls = answer.get("LSQCommonServiceURLs") if isinstance(answer, Mapping) else None
    reported = urls.get("api") if isinstance(urls, Mapping) else None
    if not isinstance(reported, str) or not reported.strip():
        raise ConfigurationError(
            "could not tell the account's API host for the trigger's state",
            hint="set api_host in the connection, e.g. api-in21.leadsquared.com",
        )
    return check_host_name(reported)


def trigger_instance(
    client: LeadSquaredClient, trigger_key: str, config: Mapping[str, Any]
) -> str:
    """The instance id of ``trigger_key`` with ``config`` (validated, defaults filled in)."""
    return instance_id(
        trigger_key,
        config,
        api_host=resolved_api_host(client),
        access_key=client.connection.access_key,
    )
