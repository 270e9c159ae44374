"""Rules that span inputs, decided from which inputs a step gives (never from their values).

JSON Schema states them with ``required``, ``dependentRequired``, ``not: {required: [...]}``,
``properties: {name: false}`` and ``allOf`` / ``oneOf`` / ``anyOf`` of those: send_email's
"exactly one of lead_email or lead_id", its "html with a subject, or a template (not both)",
find_lead's "field with value". A template's value is unknown before a run, but whether an
input is given is known, so these rules are checked statically. Keywords about values inside
a branch are left to the value checks (a branch is taken to hold).

:func:`presence_problems` returns ``(input or None, message)`` pairs; ``None`` means the rule
concerns the mapping as a whole (a choice between inputs), and the message names the inputs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

Problem = tuple[str | None, str]


def presence_problems(given: Collection[str], schema: Any, noun: str = "input") -> list[Problem]:
    """Every presence rule of ``schema`` that the names in ``given`` break."""
    if not isinstance(schema, Mapping):
        return []
    found: list[Problem] = [
        (name, f"required {noun} is missing: add it")
        for name in schema.get("required", ()) if name not in given
    ]
    for name, needs in (schema.get("dependentRequired") or {}).items():
        if name in given:
            found += [(other, f"required with {name}: add {other}")
                      for other in needs if other not in given]
    banned = [name for name, sub in (schema.get("properties") or {}).items()
              if sub is False and name in given]
    found += [(name, f"not allowed here: remove {name}") for name in banned]
    negated = schema.get("not")
    together = list(negated.get("required", ())) if isinstance(negated, Mapping) else []
    if together and all(name in given for name in together):
        found.append((together[-1], f"{_and(together)} cannot be given together: keep one"))
    for sub in schema.get("allOf", ()):
        found += presence_problems(given, sub, noun)
    for keyword in ("oneOf", "anyOf"):
        branches = [b for b in schema.get(keyword, ()) if isinstance(b, Mapping)]
        if branches:
            found += _choice(given, branches, keyword == "oneOf", schema.get("description"), noun)
    return found


def holds(given: Collection[str], schema: Any) -> bool:
    """Whether ``given`` keeps every presence rule of ``schema``."""
    return not presence_problems(given, schema)


def _choice(
    given: Collection[str], branches: list[Mapping[str, Any]], exactly_one: bool,
    description: str | None, noun: str,
) -> list[Problem]:
    holding = [branch for branch in branches if holds(given, branch)]
    if holding and not (exactly_one and len(holding) > 1):
        return []
    options = [_option(branch) for branch in branches]
    why = f" ({description.rstrip('.')})" if description else ""
    if holding:  # several alternatives are given where exactly one may be
        both = [_option(branch) for branch in holding]
        given_all = "both" if len(both) == 2 else "all"
        return [(None, f"{_and(both)} are {given_all} given: keep only one{why}")]
    started = [branch for branch in branches
               if branch.get("required") and all(n in given for n in branch["required"])]
    if started:  # an alternative is complete but something given rules it out
        extra = sorted({name for branch in started for name in _banned(given, branch)})
        if extra:
            return [(None, f"{_or(options)}, not both: remove {_or(extra)}{why}")]
    missing = "inputs" if noun == "input" else "fields"
    return [(None, f"missing {missing}: add {_or(options)}{why}")]


def _option(branch: Mapping[str, Any]) -> str:
    names = list(branch.get("required", ()))
    return " with ".join(names) if names else branch.get("title") or "none of these"


def _banned(given: Collection[str], branch: Mapping[str, Any]) -> Iterable[str]:
    return (name for name, sub in (branch.get("properties") or {}).items()
            if sub is False and name in given)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
