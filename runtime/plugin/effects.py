"""What an action does to the account, read from the verb of its key.

Action keys are ``verb_object`` (the naming rule :mod:`runtime.plugin.manifest_checks`
enforces), and the verb says the effect: hosts and the MCP server's tool annotations use it
to tell reads from writes and to leave destructive actions out.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.plugin.operation import Operation


@dataclass(frozen=True)
class Effect:
    """``read_only``: changes nothing. ``destructive``: removes records or memberships.
    ``idempotent``: repeating the call with the same input changes nothing more."""

    read_only: bool
    destructive: bool
    idempotent: bool


#: By verb. An update or upsert overwrites only the fields given (no record is removed), so it
#: is not destructive; a create, add or send makes something new each time. ``api`` is
#: api_call: it calls any path with GET or POST, and LeadSquared's deletes are GETs and its
#: creates POSTs, so one tool annotation can only be the riskiest kind (a host that wants reads
#: only leaves it out, as ``lsq mcp --read-only`` and ``--no-delete`` do).
VERB_EFFECTS: dict[str, Effect] = {
    "find": Effect(read_only=True, destructive=False, idempotent=True),
    "list": Effect(read_only=True, destructive=False, idempotent=True),
    "delete": Effect(read_only=False, destructive=True, idempotent=True),
    "remove": Effect(read_only=False, destructive=True, idempotent=True),
    "update": Effect(read_only=False, destructive=False, idempotent=True),
    "upsert": Effect(read_only=False, destructive=False, idempotent=True),
    "create": Effect(read_only=False, destructive=False, idempotent=False),
    "add": Effect(read_only=False, destructive=False, idempotent=False),
    "send": Effect(read_only=False, destructive=False, idempotent=False),
    "api": Effect(read_only=False, destructive=True, idempotent=False),
}
#: A verb not in the table is assumed to be the riskiest kind.
UNKNOWN_EFFECT = Effect(read_only=False, destructive=True, idempotent=False)


def effect_of(action: Operation) -> Effect:
    """The effect of an action, by the verb its key starts with."""
    return VERB_EFFECTS.get(action.key.partition("_")[0], UNKNOWN_EFFECT)
