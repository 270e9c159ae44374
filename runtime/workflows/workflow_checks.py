"""Static checks of a workflow: each check returns problems; :func:`run_checks` runs them all.

Problems read ``file:location: message``. The checks, in order:

1. ``schema_problems``   the file against ``schemas/_meta/workflow.schema.json``
2. ``trigger_problems``  the trigger key exists, its config fits the config schema,
                         ``poll_interval`` only with a polling trigger
3. ``step_problems``     unique ids, action keys exist, every template parses, every
                         ``trigger.X`` / ``steps.<id>.X`` exists (no forward, unknown or self
                         references), mapped types fit the input schema, constant values fit it
                         (type, enum, pattern, format), the rules between inputs hold
                         (:mod:`runtime.workflows.presence`), unknown inputs are reported;
                         ``when`` is checked the same way

Schemas are walked through ``properties`` / ``items`` / ``allOf`` / ``oneOf`` / ``anyOf``; an
object with ``additionalProperties`` or ``patternProperties`` accepts any name, except a record
marked ``x-customFields: <pattern>``: its listed properties are the standard fields and only
names matching the pattern (custom fields, ``mx_...``) are added. Type checks are helpful, not
pedantic: unknown types pass, ``null`` is ignored, integer and number mix.

With an account (``accounts``, see :mod:`runtime.workflows.account_names`), names marked
``x-accountNames`` are looked up in it too: custom fields read from a record, field names in a
constant ``fields`` mapping, and constant types and users.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Final, Literal, Protocol

from jinja2 import TemplateError, nodes
from jinja2.sandbox import SecurityError
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from runtime.plugin.resources import workflow_schema_path
from runtime.plugin.schemas import FORMAT_CHECKER
from runtime.plugin.schemas import json_type as type_of
from runtime.workflows.account_names import (
    CUSTOM_FIELDS,
    NAMES,
    SCOPE,
    AccountNames,
    AccountResolver,
)
from runtime.workflows.presence import presence_problems
from runtime.workflows.templating import (
    ParsedTemplate,
    Reference,
    condition_source,
    describe_template_error,
    find_references,
    is_template,
    parse_template,
    reference_of,
)

OperationKind = Literal["action", "trigger"]


class OperationSchemas(Protocol):
    """What the static checks need to know about the connector's operations.

    Schemas are plain JSON Schema dicts without ``$ref`` (already inlined); ``None`` means the
    operation has no such schema (nothing is checked against it).
    """

    def keys(self, kind: OperationKind) -> Collection[str]:
        """The keys of every action or trigger."""
        ...

    def input_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        """An action's input schema, or a trigger's config schema."""
        ...

    def output_schema(self, kind: OperationKind, key: str) -> Mapping[str, Any] | None:
        """An action's output schema, or the schema of ONE trigger event."""
        ...

    def trigger_kind(self, key: str) -> str | None:
        """``"polling"`` or ``"instant"`` (``None`` when unknown)."""
        ...


WORKFLOW_SCHEMA_PATH: Final = workflow_schema_path()
SNAKE_CASE: Final = re.compile(r"^[a-z][a-z0-9_]*$")

Schema = Mapping[str, Any]


@cache
def workflow_schema() -> dict[str, Any]:
    """The meta-schema of workflow files (checked once)."""
    schema = json.loads(WORKFLOW_SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return schema


# ---------------------------------------------------------------- helpers


def suggestion(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate, or ``""``."""
    options = sorted({c for c in candidates if isinstance(c, str)})
    folded = {c.casefold(): c for c in options}
    match = folded.get(name.casefold())
    if match is None:
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
        match = close[0] if close else None
    return f" (did you mean '{match}'?)" if match else ""


def join(location: str, key: str | int) -> str:
    """``a.b`` / ``a[0]``."""
    if isinstance(key, int):
        return f"{location}[{key}]"
    return f"{location}.{key}" if location else key


def json_types(schema: Any) -> frozenset[str] | None:
    """The JSON types a schema allows, or ``None`` when it does not say."""
    if not isinstance(schema, Mapping):
        return None
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(declared)
    if "const" in schema:
        return frozenset({type_of(schema["const"])})
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return frozenset(type_of(v) for v in schema["enum"])
    if any(k in schema for k in ("properties", "additionalProperties", "patternProperties")):
        return frozenset({"object"})
    if "items" in schema:
        return frozenset({"array"})
    for keyword in ("anyOf", "oneOf"):
        branches = [json_types(s) for s in schema.get(keyword, ())]
        if branches and all(b is not None for b in branches):
            return frozenset().union(*branches)  # type: ignore[arg-type]
    for sub in schema.get("allOf", ()):
        found = json_types(sub)
        if found is not None:
            return found
    return None


_ARTICLES: Final = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def describe_types(types: Iterable[str]) -> str:
    return " or ".join(_ARTICLES.get(t, t) for t in sorted(types))


def incompatible(source: frozenset[str] | None, target: frozenset[str] | None) -> bool:
    """True when no non-null type of ``source`` fits ``target`` (integer and number mix)."""
    if source is None or target is None:
        return False
    concrete = source - {"null"}
    if not concrete:
        return False
    return not any(
        t in target
        or (t == "integer" and "number" in target)
        or (t == "number" and "integer" in target)
        for t in concrete
    )


def _branches(schema: Schema) -> list[Schema]:
    found = [schema]
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(keyword, ()):
            if isinstance(sub, Mapping):
                found.extend(_branches(sub))
    return found


def _union(schemas: list[Schema]) -> Schema:
    return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}


@dataclass(frozen=True)
class Child:
    """What a schema says about one key: found (``schema``), or missing (``names``/``types``)."""

    schema: Schema | None = None
    names: frozenset[str] = frozenset()
    """Known property names, when the key is not one of them."""
    types: frozenset[str] = frozenset()
    """The container's scalar types, when it is not a container at all."""
    custom: bool = False
    """The key is a custom field of a record (matches its ``x-customFields``)."""


def child(schema: Any, key: str | int) -> Child:
    """Look one key up: ``properties`` (all branches), ``items``, pattern/additional props."""
    if not isinstance(schema, Mapping):
        return Child(schema={})
    branches = _branches(schema)
    if isinstance(key, int):
        items = [b["items"] for b in branches if isinstance(b.get("items"), Mapping)]
        if items:
            return Child(schema=_union(items))
        types = json_types(schema)
        if types is None or "array" in types:
            return Child(schema={})
        return Child(types=types)
    props = [
        b["properties"][key]
        for b in branches
        if isinstance(b.get("properties"), Mapping) and key in b["properties"]
    ]
    if props:
        return Child(schema=_union([p if isinstance(p, Mapping) else {} for p in props]))
    custom = annotation(schema, CUSTOM_FIELDS)
    if isinstance(custom, str):  # a record: the listed standard fields plus custom fields
        if re.search(custom, key):
            extra = next((b["additionalProperties"] for b in branches
                          if isinstance(b.get("additionalProperties"), Mapping)), {})
            return Child(schema=extra, custom=True)
        return Child(names=_property_names(branches))
    for branch in branches:
        for pattern, sub in (branch.get("patternProperties") or {}).items():
            if re.search(pattern, key):
                return Child(schema=sub if isinstance(sub, Mapping) else {})
    for branch in branches:
        extra = branch.get("additionalProperties")
        if extra is True or isinstance(extra, Mapping):
            return Child(schema=extra if isinstance(extra, Mapping) else {})
        if branch.get("patternProperties"):
            return Child(schema={})
    names = _property_names(branches)
    if names:
        return Child(names=names)
    types = json_types(schema)
    if types is None or "object" in types:
        return Child(schema={})
    return Child(types=types)


def _property_names(branches: list[Schema]) -> frozenset[str]:
    return frozenset(
        name
        for b in branches
        if isinstance(b.get("properties"), Mapping)
        for name in b["properties"]
    )


def annotation(schema: Any, keyword: str) -> Any:
    """The value of an ``x-...`` annotation on ``schema`` or any of its branches, or None."""
    if not isinstance(schema, Mapping):
        return None
    return next((b[keyword] for b in _branches(schema) if keyword in b), None)


# ---------------------------------------------------------------- context


@dataclass(frozen=True)
class Checking:
    """What every check reads: the data, the operation schemas and the file label."""

    data: Mapping[str, Any]
    schemas: OperationSchemas
    label: str
    accounts: AccountResolver | None = None

    def account(self, connection: Any = None) -> AccountNames | None:
        """The account of a step's connection (else the workflow's), when one can be asked."""
        if self.accounts is None:
            return None
        chosen = connection if isinstance(connection, str) else self.data.get("connection")
        return self.accounts(chosen if isinstance(chosen, str) else None)

    def trigger_config(self) -> Mapping[str, Any]:
        trigger = self.data.get("trigger")
        config = trigger.get("config") if isinstance(trigger, Mapping) else None
        return config if isinstance(config, Mapping) else {}

    def at(self, location: str, message: str) -> str:
        return f"{self.label}:{location}: {message}" if location else f"{self.label}: {message}"

    @property
    def steps(self) -> list[Any]:
        steps = self.data.get("steps")
        return steps if isinstance(steps, list) else []

    @cached_property
    def step_positions(self) -> dict[str, list[int]]:
        """Every valid step id and the indexes of the steps that carry it, in order (built once:
        per-step scans made checking 1,000 steps take seconds)."""
        positions: dict[str, list[int]] = {}
        for index in range(len(self.steps)):
            sid = self.step_id(index)
            if sid:
                positions.setdefault(sid, []).append(index)
        return positions

    def step_id(self, index: int) -> str | None:
        step = self.steps[index]
        sid = step.get("id") if isinstance(step, Mapping) else None
        return sid if isinstance(sid, str) and SNAKE_CASE.match(sid) else None

    def step_location(self, index: int) -> str:
        """A step's id, or ``steps[N]`` when it has none or shares it (names one step only)."""
        sid = self.step_id(index)
        return sid if sid and len(self.step_positions[sid]) == 1 else f"steps[{index}]"

    def trigger_key(self) -> str | None:
        trigger = self.data.get("trigger")
        key = trigger.get("key") if isinstance(trigger, Mapping) else None
        return key if isinstance(key, str) and key in self.schemas.keys("trigger") else None

    def action_key(self, index: int) -> str | None:
        step = self.steps[index]
        key = step.get("action") if isinstance(step, Mapping) else None
        return key if isinstance(key, str) and key in self.schemas.keys("action") else None


def schema_errors(
    validator: Draft202012Validator, instance: Any, location: Callable[[Sequence[Any]], str]
) -> list[tuple[str, str]]:
    """``(location, message)`` for every JSON Schema error, with friendlier common messages."""
    found: list[tuple[str, str]] = []
    try:
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
    except (Unresolvable, SchemaError):
        return found  # an unusable operation schema is the manifest checks' business
    for error in errors:
        found.extend(_explain(error, location))
    return found


def _explain(
    error: ValidationError, location: Callable[[Sequence[Any]], str]
) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        missing = [n for n in error.validator_value if n not in error.instance]
        return [(location([*path, n]), "required field is missing: add it") for n in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        patterns = list(error.schema.get("patternProperties", {}))
        extra = [
            n
            for n in error.instance
            if n not in known and not any(re.search(p, n) for p in patterns)
        ]
        return [(location([*path, n]), "unknown field" + suggestion(n, known)) for n in extra]
    if error.validator == "pattern" and error.validator_value == SNAKE_CASE.pattern:
        return [(location(path), f"{error.instance!r} is not snake_case (a-z, 0-9, _)")]
    if error.validator in ("oneOf", "anyOf") and isinstance(error.instance, Mapping):
        rule = {error.validator: error.validator_value}
        return [(location([*path, name] if name else path), message)
                for name, message in presence_problems(list(error.instance), rule, "field")]
    explained = _value_message(error)
    return [(location(path), explained or error.message)]


def _value_message(error: ValidationError) -> str | None:
    """A clearer message for a constant that breaks an enum, a pattern, a format or a choice:
    what is expected (the schema's own description), and the closest allowed value."""
    value, schema = error.instance, error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "enum":
        options = [str(v) for v in error.validator_value]
        return f"{value!r} is not one of {', '.join(options)}" + suggestion(str(value), options)
    if error.validator in ("pattern", "format") and schema.get("description"):
        return f"{value!r} does not fit: expected {_first_sentence(schema['description'])}"
    if error.validator in ("oneOf", "anyOf"):
        branches = [b for b in error.validator_value if isinstance(b, Mapping)]
        words = [str(v) for b in branches for v in b.get("enum", ())]
        expected = "; or ".join(_expected(b) for b in branches)
        return f"{value!r} does not fit: expected {expected}" + suggestion(str(value), words)
    return None


def _expected(schema: Mapping[str, Any]) -> str:
    if isinstance(schema.get("enum"), list):
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    if schema.get("description"):
        return _first_sentence(schema["description"])
    branches = [b for key in ("anyOf", "oneOf", "allOf") for b in schema.get(key, ())
                if isinstance(b, Mapping)]
    if branches:
        return "; or ".join(_expected(b) for b in branches)
    return describe_types(json_types(schema) or {"a value"})


def _first_sentence(text: str) -> str:
    first = re.split(r"\.\s+(?=[A-Z(])", text.strip())[0].rstrip(".")
    return first[:1].lower() + first[1:]


# ---------------------------------------------------------------- checks


def schema_problems(ctx: Checking) -> list[str]:
    """The file against the workflow meta-schema."""
    validator = Draft202012Validator(workflow_schema())

    def location(path: Sequence[Any]) -> str:
        text = ""
        for position, key in enumerate(path):
            if position == 1 and path[0] == "steps" and isinstance(key, int):
                text = ctx.step_location(key)
            else:
                text = join(text, key)
        return text

    return [ctx.at(loc, msg) for loc, msg in schema_errors(validator, ctx.data, location)]


def trigger_problems(ctx: Checking) -> list[str]:
    """The trigger key, its config, and ``poll_interval`` against the trigger kind."""
    trigger = ctx.data.get("trigger")
    key = trigger.get("key") if isinstance(trigger, Mapping) else None
    if not isinstance(key, str):
        return []
    known = ctx.schemas.keys("trigger")
    if key not in known:
        return [ctx.at("trigger.key", f"unknown trigger '{key}'" + suggestion(key, known))]
    problems: list[str] = []
    config = trigger.get("config", {})
    if isinstance(config, Mapping):
        for name, value in _flatten(config, "trigger.config"):
            if is_template(value):
                problems.append(ctx.at(name, "trigger config takes plain values, not templates"))
        schema = ctx.schemas.input_schema("trigger", key)
        if schema is not None:
            validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
            errors = schema_errors(validator, config, lambda p: _path_text("trigger.config", p))
            problems.extend(ctx.at(loc, msg) for loc, msg in errors)
            if not errors:
                problems.extend(_config_names(ctx, config, schema))
    kind = ctx.schemas.trigger_kind(key)
    if "poll_interval" in ctx.data and kind == "instant":
        problems.append(
            ctx.at(
                "poll_interval",
                f"trigger '{key}' is instant (webhook); poll_interval is for polling triggers",
            )
        )
    return problems


def _config_names(ctx: Checking, config: Mapping[str, Any], schema: Schema) -> list[str]:
    """Config values that name the account's set-up (``x-accountNames``), looked up in it."""
    account = ctx.account()
    found = []
    for name, value in config.items():
        kind = annotation(child(schema, str(name)).schema, NAMES)
        if account is None or kind is None or is_template(value):
            continue
        _, problem = account.lookup(kind, value)
        if problem:
            found.append(ctx.at(f"trigger.config.{name}", problem))
    return found


def step_problems(ctx: Checking) -> list[str]:
    """Ids, action keys, inputs and conditions of every step."""
    problems: list[str] = []
    first_use: dict[str, int] = {}
    for index, step in enumerate(ctx.steps):
        if not isinstance(step, Mapping):
            continue
        sid = step.get("id")
        if isinstance(sid, str):
            if sid in first_use:
                problems.append(
                    ctx.at(
                        f"steps[{index}].id",
                        f"duplicate step id '{sid}' (also steps[{first_use[sid]}])",
                    )
                )
            else:
                first_use[sid] = index
        problems.extend(StepChecker(ctx, index).problems(step))
    return problems


CHECKS: Final[tuple[Callable[[Checking], list[str]], ...]] = (
    schema_problems,
    trigger_problems,
    step_problems,
)


def run_checks(
    data: Any, schemas: OperationSchemas, label: str, accounts: AccountResolver | None = None
) -> list[str]:
    """All problems of parsed workflow data, in file order, without duplicates.

    With ``accounts``, names the schemas mark ``x-accountNames`` are looked up in the account of
    each step's connection (see :mod:`runtime.workflows.account_names`).
    """
    if not isinstance(data, Mapping):
        return [f"{label}: a workflow must be a YAML mapping, not {type_of(data)}"]
    ctx = Checking(data, schemas, label, accounts)
    problems: list[str] = []
    for check in CHECKS:
        problems.extend(check(ctx))
    return list(dict.fromkeys(problems))


def _input_of(step: Any) -> Mapping[str, Any]:
    mapping = step.get("input") if isinstance(step, Mapping) else None
    return mapping if isinstance(mapping, Mapping) else {}


def _enum_values(schema: Schema) -> list[Any]:
    return [v for b in _branches(schema) for v in b.get("enum", ()) or ()]


def _path_text(base: str, path: Sequence[Any]) -> str:
    text = base
    for key in path:
        text = join(text, key)
    return text


def _flatten(value: Any, location: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten(item, join(location, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flatten(item, join(location, index))
    else:
        yield location, value


# ---------------------------------------------------------------- one step

_FILTER_RESULTS: Final = {
    "string": ("lower", "upper", "title", "capitalize", "trim", "truncate", "replace", "join"),
    "integer": ("length", "count", "int"),
    "number": ("float", "round"),
}
_METHOD_RESULTS: Final = {
    "string": ("lower", "upper", "strip", "lstrip", "rstrip", "replace", "title", "capitalize"),
    "array": ("split", "keys", "values", "items"),
    "boolean": ("startswith", "endswith", "isdigit"),
    "integer": ("index", "count"),
}
_FILTER_TYPES: Final = {name: t for t, names in _FILTER_RESULTS.items() for name in names} | {
    "string": "string",
    "tojson": "string",
}
_METHOD_TYPES: Final = {name: t for t, names in _METHOD_RESULTS.items() for name in names}
_NODE_RESULTS: Final[tuple[tuple[tuple[type[nodes.Node], ...], str], ...]] = (
    ((nodes.Concat,), "string"),
    ((nodes.Compare, nodes.Not, nodes.Test), "boolean"),
    ((nodes.Sub, nodes.Div, nodes.FloorDiv, nodes.Pow, nodes.Neg, nodes.Pos), "number"),
    ((nodes.List, nodes.Tuple), "array"),
    ((nodes.Dict,), "object"),
)


class StepChecker:
    """Checks one step's action, input mapping and condition against the schemas."""

    def __init__(self, ctx: Checking, index: int) -> None:
        self.ctx = ctx
        self.index = index
        self.location = ctx.step_location(index)
        self.step_id = ctx.step_id(index)
        step = ctx.steps[index]
        self.inputs = _input_of(step)
        self.account = ctx.account(step.get("connection") if isinstance(step, Mapping) else None)

    def problems(self, step: Mapping[str, Any]) -> list[str]:
        found: list[str] = []
        action = step.get("action")
        known = self.ctx.schemas.keys("action")
        if isinstance(action, str) and action not in known:
            found.append(
                self.ctx.at(
                    f"{self.location}.action",
                    f"unknown action '{action}'" + suggestion(action, known),
                )
            )
        key = self.ctx.action_key(self.index)
        schema = self.ctx.schemas.input_schema("action", key) if key else None
        mapping = step.get("input", {})
        if isinstance(mapping, Mapping):
            where = f"{self.location}.input"
            found.extend(self._object(mapping, schema, where, top=True))
        when = step.get("when")
        if isinstance(when, (str, bool)):
            found.extend(self._condition(when, f"{self.location}.when"))
        return found

    # -- values

    def _value(self, value: Any, schema: Schema | None, where: str) -> list[str]:
        target = json_types(schema)
        if isinstance(value, str) and is_template(value):
            return self._template(value, schema, where)
        if isinstance(value, Mapping):
            if incompatible(frozenset({"object"}), target):
                return [
                    self.ctx.at(
                        where, f"an object, but this field expects {describe_types(target or ())}"
                    )
                ]
            return self._object(value, schema, where, top=False)
        if isinstance(value, list):
            if incompatible(frozenset({"array"}), target):
                return [
                    self.ctx.at(
                        where, f"a list, but this field expects {describe_types(target or ())}"
                    )
                ]
            found: list[str] = []
            for position, item in enumerate(value):
                sub = child(schema, position).schema if schema is not None else None
                found.extend(self._value(item, sub, join(where, position)))
            return found
        return self._literal(value, schema, where)

    def _literal(self, value: Any, schema: Schema | None, where: str) -> list[str]:
        if schema is None:
            return []
        found = []
        validator = Draft202012Validator(schema, format_checker=FORMAT_CHECKER)
        for loc, message in schema_errors(validator, value, lambda p: _path_text(where, p)):
            quoted = isinstance(value, (int, float, bool)) and "string" in (
                json_types(schema) or ()
            )
            hint = " (quote it in YAML to keep it text)" if quoted else ""
            found.append(self.ctx.at(loc, message + hint))
        kind = annotation(schema, NAMES)
        if not found and kind is not None and value not in _enum_values(schema):
            problem = self._account_problem(kind, value, schema, self.inputs)
            if problem:
                found.append(self.ctx.at(where, problem))
        return found

    def _key_problems(self, name: str, schema: Schema, where: str) -> list[str]:
        """A constant key against the object's ``propertyNames`` (e.g. schema-name shapes)."""
        rules = [b["propertyNames"] for b in _branches(schema)
                 if isinstance(b.get("propertyNames"), Mapping)]
        if is_template(name) or not rules:
            return []
        validator = Draft202012Validator(rules[0], format_checker=FORMAT_CHECKER)
        return [self.ctx.at(where, f"field name {message}")
                for _, message in schema_errors(validator, name, lambda p: where)]

    def _account_problem(
        self, kind: str, name: Any, schema: Schema, scopes: Mapping[str, Any]
    ) -> str | None:
        """Why the account has no ``name`` of ``kind``, or None (see :meth:`_lookup`)."""
        return self._lookup(kind, name, schema, scopes)[1]

    def _lookup(
        self, kind: str, name: Any, schema: Schema, scopes: Mapping[str, Any]
    ) -> tuple[bool | None, str | None]:
        """Ask the account about ``name``, scoped by ``schema``'s x-accountScope entry of
        ``scopes`` (the producing operation's constants); ``(None, None)`` when it cannot tell."""
        if self.account is None or name is None or (isinstance(name, str) and is_template(name)):
            return None, None
        scope_name = annotation(schema, SCOPE)
        scope = scopes.get(scope_name) if scope_name else None
        if scope_name and (scope is None or (isinstance(scope, str) and is_template(scope))):
            return None, None  # the type is chosen at run time: its fields are checked then
        return self.account.lookup(kind, name, scope)

    def _object(
        self, mapping: Mapping[str, Any], schema: Schema | None, where: str, *, top: bool
    ) -> list[str]:
        found: list[str] = []
        noun = "input" if top else "field"
        kind = None if top else annotation(schema, NAMES)
        for name, value in mapping.items():
            location = join(where, str(name))
            if schema is None:
                found.extend(self._value(value, None, location))
                continue
            named = self._key_problems(str(name), schema, location)
            found.extend(named)
            if kind is not None and not named and not is_template(str(name)):
                problem = self._account_problem(kind, str(name), schema, self.inputs)
                if problem:
                    found.append(self.ctx.at(location, problem))
            looked = child(schema, str(name))
            if looked.schema is None and looked.names:
                found.append(
                    self.ctx.at(location, f"unknown {noun}" + self._known(name, looked, top=top))
                )
                found.extend(self._value(value, None, location))
                continue
            found.extend(self._value(value, looked.schema, location))
        if schema is not None:
            found.extend(
                self.ctx.at(join(where, name) if name else where, message)
                for name, message in presence_problems(list(mapping), schema, noun)
            )
        return found

    def _known(self, name: str, looked: Child, *, top: bool) -> str:
        action = self.ctx.action_key(self.index)
        hint = suggestion(name, looked.names)
        return f" '{name}' for action '{action}'{hint}" if top else f" '{name}'{hint}"

    # -- templates

    def _parse(self, source: str, where: str) -> tuple[ParsedTemplate | None, list[str]]:
        try:
            return parse_template(source), []
        except (TemplateError, SecurityError) as exc:
            return None, [self.ctx.at(where, describe_template_error(exc))]

    def _template(self, source: str, schema: Schema | None, where: str) -> list[str]:
        parsed, found = self._parse(source, where)
        if parsed is None:
            return found
        found.extend(self._references(parsed, where))
        target = json_types(schema)
        if parsed.native_node is not None:
            produced = json_types(self._infer(parsed.native_node))
            if incompatible(produced, target):
                found.append(
                    self.ctx.at(
                        where,
                        f"{parsed.expression.strip()} is {describe_types(produced or ())}, "  # type: ignore[union-attr]
                        f"but this field expects {describe_types(target or ())}",
                    )
                )
        elif incompatible(frozenset({"string"}), target):
            found.append(
                self.ctx.at(
                    where,
                    f"text, but this field expects {describe_types(target or ())} "
                    "(a value that is one '{{ expression }}' keeps its type)",
                )
            )
        return found

    def _condition(self, when: str | bool, where: str) -> list[str]:
        parsed, found = self._parse(condition_source(when), where)
        if parsed is None:
            return found
        if parsed.native_node is None:
            found.append(self.ctx.at(where, "a condition must be one expression, not text"))
        found.extend(self._references(parsed, where))
        return found

    def _references(self, parsed: ParsedTemplate, where: str) -> list[str]:
        found = []
        for ref in find_references(parsed):
            schema, problem = self._resolve(ref)
            if problem:
                found.append(self.ctx.at(where, problem))
            elif ref.in_text and parsed.native_node is None:
                types = json_types(schema)
                if types and not types - {"object", "array", "null"}:
                    found.append(
                        self.ctx.at(
                            where,
                            f"{ref.dotted()} is {describe_types(types - {'null'})}; it cannot "
                            "be put into text (use '| tojson' or '| join')",
                        )
                    )
        return found

    def _resolve(self, ref: Reference) -> tuple[Schema | None, str | None]:
        """The schema a reference points at (``None`` = unknown), or a problem."""
        if ref.root == "trigger":
            key = self.ctx.trigger_key()
            schema = self.ctx.schemas.output_schema("trigger", key) if key else None
            return self._walk(schema, ref, 0, f"the '{key}' event", self.ctx.trigger_config())
        if not ref.path or not isinstance(ref.path[0], str):
            return None, None  # the whole `steps` or a computed id: nothing to check
        target = ref.path[0]
        if target == self.step_id:
            return None, f"{ref.dotted()}: step '{target}' cannot use its own output"
        positions = self.ctx.step_positions.get(target, [])
        if any(p > self.index for p in positions):
            return None, f"{ref.dotted()}: step '{target}' runs after this step (forward reference)"
        before = [p for p in positions if p < self.index]
        if not before:
            positions_by_id = self.ctx.step_positions.items()
            earlier = [sid for sid, where in positions_by_id if where[0] < self.index]
            hint = suggestion(target, earlier)
            return None, f"{ref.dotted()}: unknown step '{target}'{hint}"
        position = before[-1]
        action = self.ctx.action_key(position)
        schema = self.ctx.schemas.output_schema("action", action) if action else None
        scopes = _input_of(self.ctx.steps[position])
        return self._walk(schema, ref, 1, f"the output of step '{target}'", scopes)

    def _walk(
        self, schema: Schema | None, ref: Reference, start: int, label: str,
        scopes: Mapping[str, Any],
    ) -> tuple[Schema | None, str | None]:
        """Follow ``ref`` from ``start`` through ``schema``; ``scopes`` holds the constants of
        the operation that produced it (its input, or the trigger config)."""
        for position in range(start, len(ref.path)):
            if schema is None:
                return None, None
            key = ref.path[position]
            looked = child(schema, key)
            where = (
                label
                if position == start
                else Reference(ref.root, ref.path[:position], False).dotted()
            )
            kind = annotation(schema, NAMES) if isinstance(key, str) else None
            if kind is not None and (looked.custom or looked.names):
                known, problem = self._lookup(kind, key, schema, scopes)
                if looked.custom and problem:
                    return None, f"{ref.dotted()}: {problem}"
                if looked.names and known:
                    return {}, None  # a standard field this account lists, though we do not
            if looked.schema is not None:
                schema = looked.schema
            elif looked.names:
                hint = suggestion(str(key), looked.names)
                if not hint and annotation(schema, CUSTOM_FIELDS):
                    hint = " (custom fields start with mx_)"
                return None, f"{ref.dotted()}: unknown field '{key}' in {where}{hint}"
            else:
                kind = describe_types(looked.types)
                return None, f"{ref.dotted()}: {where} is {kind}; it has no field '{key}'"
        return schema, None

    def _infer(self, node: nodes.Node) -> Schema | None:
        """A schema for what an expression produces (``None`` = unknown)."""
        ref = reference_of(node)
        if ref is not None:
            return self._resolve(ref)[0]
        if isinstance(node, nodes.Const):
            return {"type": type_of(node.value)}
        for classes, kind in _NODE_RESULTS:
            if isinstance(node, classes):
                return {"type": kind}
        if isinstance(node, nodes.Filter):
            return self._infer_filter(node)
        if isinstance(node, (nodes.And, nodes.Or)):
            return self._either(self._infer(node.left), self._infer(node.right))
        if isinstance(node, nodes.CondExpr) and node.expr2 is not None:
            return self._either(self._infer(node.expr1), self._infer(node.expr2))
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            kind = _METHOD_TYPES.get(node.node.attr)
            return {"type": kind} if kind else None
        return None

    def _infer_filter(self, node: nodes.Filter) -> Schema | None:
        if node.name in _FILTER_TYPES:
            return {"type": _FILTER_TYPES[node.name]}
        inner = self._infer(node.node) if node.node is not None else None
        if node.name in ("first", "last"):
            return child(inner, 0).schema if inner is not None else None
        if node.name in ("default", "d"):
            fallback = self._infer(node.args[0]) if node.args else {"type": "string"}
            return self._either(inner, fallback)
        return None

    @staticmethod
    def _either(first: Schema | None, second: Schema | None) -> Schema | None:
        if first is None or second is None:
            return None
        return {"anyOf": [first, second]}
