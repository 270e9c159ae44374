"""Seed data: the default seed (``seed/*.yaml``, merged by tenant) or a user's YAML/JSON file.

Shape: ``{"tenants": {<org id>: {org_name, short_code, api_host, app_host, public_org_id,
settings, keys, users, <area sections>...}}}``. ``public_org_id`` is the GUID-like ``OrgId``
that UserByAccessKey.Get reports (default: a GUID derived from the org id key). The core keys
are read here; each service module that defines ``load_seed(tenant, data)`` reads its own
sections.
"""

from __future__ import annotations

import uuid
from importlib.resources import files
from typing import Any

import yaml

from runtime.sandbox.services import SERVICE_MODULES
from runtime.sandbox.state import KeyPair, SandboxState, Tenant

SEED_DIR = files(__package__) / "seed"  # package data, in a checkout and in a wheel
DEFAULT_ACCESS_KEY = "u$r8f14e45fceea167a5a36dedd4bea2543"
DEFAULT_SECRET_KEY = "0d8b7c6e5f4a39281706f5e4d3c2b1a09f8e7d6c"
DEFAULT_API_HOST = "api-in21.leadsquared.com"
ORG_NAMESPACE = uuid.UUID("6b2f0c1e-58a4-4d0e-9a3c-2f1d7e6b5a40")  # public_org_id defaults


class SeedError(ValueError):
    """The seed file is missing, unreadable or has the wrong shape."""


def default_seed() -> dict[str, Any]:
    """Every ``seed/*.yaml`` file, deep-merged (core first)."""
    merged: dict[str, Any] = {}
    seeds = [entry for entry in SEED_DIR.iterdir() if entry.name.endswith(".yaml")]
    for entry in sorted(seeds, key=lambda e: (e.name != "core.yaml", e.name)):
        _merge(merged, yaml.safe_load(entry.read_text(encoding="utf-8")) or {})
    return merged


def parse_seed(text: str, where: str) -> dict[str, Any]:
    """A seed from the text of a YAML or JSON file (JSON is YAML); ``where`` names it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise SeedError(f"cannot read seed {where}: {problem}") from None
    except RecursionError:
        raise SeedError(f"seed {where} is nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("tenants"), dict):
        raise SeedError(f"seed {where} needs a 'tenants' mapping of org id to tenant")
    return data


def load_seed(state: SandboxState, seed: dict[str, Any]) -> None:
    """Replace the state's tenants, keys and records with ``seed``."""
    state.tenants.clear()
    state.keys.clear()
    for org_id, data in seed.get("tenants", {}).items():
        try:
            tenant = Tenant(
                org_id=str(org_id),
                org_name=data["org_name"],
                short_code=data.get("short_code", str(org_id)),
                api_host=data["api_host"],
                app_host=data.get("app_host", data["api_host"].replace("api", "app", 1)),
                public_org_id=str(
                    data.get("public_org_id") or uuid.uuid5(ORG_NAMESPACE, str(org_id))
                ),
                settings=dict(data.get("settings", {})),
                users={user["ID"]: dict(user) for user in data.get("users", [])},
            )
            for key in data.get("keys", []):
                state.add_key(
                    KeyPair(key["access_key"], key["secret_key"], tenant.org_id, key["user"])
                )
        except (KeyError, TypeError) as problem:
            raise SeedError(f"tenant {org_id}: missing or malformed {problem}") from None
        for module in SERVICE_MODULES:
            reader = getattr(module, "load_seed", None)
            if reader is not None:
                reader(tenant, data)
        state.add_tenant(tenant)


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
