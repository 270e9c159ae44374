"""Route tables: each service module owns a :class:`Router` and registers its operations.

A route is registered as ``"<Service>.svc/<Operation>"`` exactly as LeadSquared documents it
and looked up case-insensitively (:func:`route_key`): LeadSquared's WCF service matches
operation names in any case (reference §15, LIKELY: a client calls
``Leads.GetByEmailAddress`` live). Handlers take a :class:`~.request.SandboxRequest` and
return a JSON-able value (sent with 200), a :class:`Reply` for another status, or raise
:class:`~.errors.LsqError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.sandbox.request import SandboxRequest

Handler = Callable[["SandboxRequest"], Any]


@dataclass(frozen=True)
class Route:
    """One API operation the sandbox serves."""

    operation: str
    method: str
    handler: Handler
    bulk: bool = False
    any_host: bool = False
    body_required: bool = True
    log_masker: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class Reply:
    """A JSON answer with a status other than 200."""

    status: int
    body: Any


def route_key(operation: str) -> str:
    """The lookup key of an operation name: its lower-case form."""
    return operation.lower()


class Router:
    """Collects the routes of one service module."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}

    def route(
        self,
        operation: str,
        method: str = "GET",
        *,
        bulk: bool = False,
        any_host: bool = False,
        body_required: bool = True,
        log_masker: Callable[[Any], None] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``operation``; ``bulk`` routes use the bulk rate budget.

        ``log_masker`` masks secrets in place in the request log's copy of the body.
        """

        def register(handler: Handler) -> Handler:
            if route_key(operation) in self.routes:
                raise ValueError(f"route {operation} registered twice")
            self.routes[route_key(operation)] = Route(
                operation, method.upper(), handler, bulk, any_host, body_required, log_masker
            )
            return handler

        return register
