"""A local, stateful stand-in for LeadSquared's v2 REST API (the embedded default).

The connector never imports this package; only the harness does, to start it when no
credentials are configured, and the tests do, to run everything without an account. It
imports nothing of the connector (``runtime.sandbox.*`` only).
"""

from runtime.sandbox.app import SandboxApp
from runtime.sandbox.faults import FaultPlan
from runtime.sandbox.seed import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_API_HOST,
    DEFAULT_SECRET_KEY,
    default_seed,
    parse_seed,
)
from runtime.sandbox.server import RunningSandbox, start_sandbox

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_API_HOST",
    "DEFAULT_SECRET_KEY",
    "FaultPlan",
    "RunningSandbox",
    "SandboxApp",
    "default_seed",
    "parse_seed",
    "start_sandbox",
]
