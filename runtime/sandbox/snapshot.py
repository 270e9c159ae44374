"""The sandbox's records as JSON text and back, so that a sandbox can outlive its process.

A snapshot holds, per tenant, every :class:`~runtime.sandbox.state.Tenant` field except the
tenant's identity (org id, name, hosts), which the seed gives: records, settings, webhooks,
the outbox, create counts and the next auto id. Key pairs, the request log, rate limits and
the clock are not kept. ``seed`` is a fingerprint of the seed the records grew from: a
snapshot of another seed (e.g. after an upgrade changed the default seed) is refused, since
its records may not fit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections import Counter
from typing import Any

from runtime.sandbox.state import SandboxState, Tenant

FORMAT = 1
IDENTITY = frozenset({"org_id", "org_name", "short_code", "api_host", "app_host", "public_org_id"})
INT_KEYS = "int_keys"  # a dict whose keys are whole numbers (JSON keys are text)


class SnapshotError(ValueError):
    """The snapshot text is not one this sandbox can load (its message says why)."""


def seed_fingerprint(seed: dict[str, Any]) -> str:
    """A short, stable digest of a seed."""
    text = json.dumps(seed, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def dump(state: SandboxState, seed: str) -> str:
    """The records of every tenant as compact JSON text (call it holding ``state.lock``);
    ``seed`` is the :func:`seed_fingerprint` of the state's seed. Keys keep their order, so
    the same records give the same text, also after a :func:`load`."""
    tenants = {org: _tenant_fields(tenant) for org, tenant in state.tenants.items()}
    document = {"format": FORMAT, "seed": seed, "tenants": tenants}
    return json.dumps(document, separators=(",", ":"), check_circular=False)


def load(state: SandboxState, seed: str, text: str) -> None:
    """Put the records of ``text`` (from :func:`dump`) into the seeded ``state``'s tenants;
    ``seed`` is the :func:`seed_fingerprint` of the state's seed."""
    try:
        document = json.loads(text)
    except ValueError as problem:
        raise SnapshotError(f"not JSON ({problem})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SnapshotError(f"not a sandbox snapshot of format {FORMAT}")
    if document.get("seed") != seed:
        raise SnapshotError("its records grew from another seed (another connector version)")
    tenants = document.get("tenants")
    if not isinstance(tenants, dict) or set(tenants) != set(state.tenants):
        raise SnapshotError("its tenants are not the seed's")
    for org, fields in tenants.items():
        _restore(state.tenants[org], fields)


def _tenant_fields(tenant: Tenant) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for spec in dataclasses.fields(tenant):
        if spec.name in IDENTITY:
            continue
        value = getattr(tenant, spec.name)
        if spec.name == "auto_ids":
            following = next(value)  # peeking consumes: put the counter back where it was
            tenant.auto_ids = itertools.count(following)
            value = following
        elif isinstance(value, dict) and value and all(isinstance(k, int) for k in value):
            value = {INT_KEYS: {str(key): item for key, item in value.items()}}
        fields[spec.name] = value
    return fields


def _restore(tenant: Tenant, fields: Any) -> None:
    if not isinstance(fields, dict):
        raise SnapshotError(f"tenant {tenant.org_id} is not a mapping")
    known = {spec.name: spec for spec in dataclasses.fields(tenant)}
    for name, value in fields.items():
        if name not in known or name in IDENTITY:
            raise SnapshotError(f"tenant {tenant.org_id} has an unknown field {name!r}")
        if name == "auto_ids":
            value = itertools.count(int(value))
        elif name == "create_counts":
            value = Counter(value)
        elif isinstance(value, dict) and set(value) == {INT_KEYS}:
            value = {int(key): item for key, item in value[INT_KEYS].items()}
        setattr(tenant, name, value)


__all__ = ["SnapshotError", "dump", "load", "seed_fingerprint"]
