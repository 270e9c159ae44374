"""A fast "is this certainly valid?" check for the common subset of JSON Schema 2020-12.

``jsonschema`` walks a schema with a new validator object per subschema and resolves every
``$ref`` through the registry on each call: about 0.3 ms for one lead record, which is most
of what the runtime adds to an API call (bench/BENCHMARKS.md). :func:`compile_check` turns a
``$ref``-free (inlined) schema into plain closures once; ``check(instance)`` then answers in a
few microseconds.

The check is one-sided: True means valid; False means "not proven valid", and the caller runs
the full ``jsonschema`` validation, which decides and words the errors. A schema using a
keyword outside :data:`ASSERTIONS` (or an unknown one) is not compiled at all (None).
``unevaluatedProperties`` counts only the properties this check saw evaluated; missing one
can only make the answer False, never a wrong True.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from numbers import Number
from typing import Any

from jsonschema import FormatChecker
from jsonschema._utils import equal

Check = Callable[[Any, "set[str] | None"], bool]
"""``check(instance, evaluated)``: valid? Adds the object's evaluated property names."""

ANNOTATIONS = frozenset({
    "title", "description", "default", "examples", "$comment", "deprecated", "readOnly",
    "writeOnly", "secret", "contentMediaType", "contentEncoding", "$schema", "$id",
})
ASSERTIONS = frozenset({
    "type", "enum", "const", "properties", "required", "additionalProperties",
    "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties",
    "dependentRequired", "items", "minItems", "maxItems", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "format",
    "allOf", "anyOf", "oneOf", "not",
})


class Unsupported(Exception):
    """The schema uses a keyword this module does not compile."""


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, Number)


#: Draft 2020-12's type checker, as jsonschema defines it (tests compare the two).
TYPES: dict[str, Callable[[Any], bool]] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": _is_integer,
    "null": lambda v: v is None,
    "number": _is_number,
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}

#: Types that are exactly one ``isinstance`` (bool is not an int here, so those are not).
_CLASSES: dict[str, type] = {
    "array": list, "boolean": bool, "null": type(None), "object": dict, "string": str,
}


def compile_check(
    schema: Any, format_checker: FormatChecker | None = None
) -> Callable[[Any], bool] | None:
    """``check(instance) -> bool`` (True only when valid), or None if not compilable."""
    try:
        node = _compile(schema, format_checker)
    except Unsupported:
        return None
    return lambda instance: node(instance, None)


def _compile(schema: Any, formats: FormatChecker | None) -> Check:
    if schema is True or schema == {}:
        return lambda value, evaluated: True
    if schema is False:
        return lambda value, evaluated: False
    if not isinstance(schema, Mapping):
        raise Unsupported(repr(schema))
    unknown = [key for key in schema if key not in ASSERTIONS and key not in ANNOTATIONS]
    if unknown:
        raise Unsupported(", ".join(map(str, unknown)))
    checks = [
        _KEYWORDS[keyword](schema[keyword], schema, formats)
        for keyword in schema if keyword in _KEYWORDS
    ]
    unevaluated = schema.get("unevaluatedProperties")
    if unevaluated is None:
        if len(checks) == 1:
            return checks[0]

        def every(value: Any, evaluated: set[str] | None) -> bool:
            for check in checks:  # noqa: SIM110 (a loop: no generator per call)
                if not check(value, evaluated):
                    return False
            return True

        return every
    rest = _compile(unevaluated, formats)

    def with_unevaluated(value: Any, evaluated: set[str] | None) -> bool:
        if not isinstance(value, dict):
            return all(check(value, evaluated) for check in checks)
        seen: set[str] = set()
        if not all(check(value, seen) for check in checks):
            return False
        if not all(rest(value[name], None) for name in value if name not in seen):
            return False
        if evaluated is not None:
            evaluated.update(value)
        return True

    return with_unevaluated


# -- one builder per keyword: (keyword value, whole schema, format checker) -> Check ---------


def _type(types: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    names = [types] if isinstance(types, str) else list(types)
    if any(name not in TYPES for name in names):
        raise Unsupported(f"type {types!r}")
    # One isinstance for the plain types (e.g. ["string", "null"]), then integer / number.
    classes = tuple(_CLASSES[name] for name in names if name in _CLASSES)
    tests = [TYPES[name] for name in names if name not in _CLASSES]
    if not tests:
        return lambda value, evaluated: isinstance(value, classes)
    return lambda value, evaluated: isinstance(value, classes) or any(t(value) for t in tests)


def _enum(values: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: any(equal(each, value) for each in values)


def _const(const: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: equal(value, const)


def _properties(properties: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    compiled = [(name, _compile(sub, formats)) for name, sub in properties.items()]

    def check(value: Any, evaluated: set[str] | None) -> bool:
        if not isinstance(value, dict):
            return True
        for name, sub in compiled:
            if name in value:
                if not sub(value[name], None):
                    return False
                if evaluated is not None:
                    evaluated.add(name)
        return True

    return check


def _additional(additional: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    known = frozenset(schema.get("properties", {}))
    sub = _compile(additional, formats)

    def check(value: Any, evaluated: set[str] | None) -> bool:
        if not isinstance(value, dict):
            return True
        extras = [name for name in value if name not in known]
        if not all(sub(value[name], None) for name in extras):
            return False
        if evaluated is not None:
            evaluated.update(extras)
        return True

    return check


def _required(names: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, dict) or all(n in value for n in names)


def _property_names(sub_schema: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    sub = _compile(sub_schema, formats)
    return lambda value, evaluated: not isinstance(value, dict) or all(
        sub(name, None) for name in value
    )


def _min_properties(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, dict) or len(value) >= limit


def _max_properties(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, dict) or len(value) <= limit


def _dependent_required(table: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    def check(value: Any, evaluated: set[str] | None) -> bool:
        if not isinstance(value, dict):
            return True
        return all(
            all(need in value for need in needs) for name, needs in table.items() if name in value
        )

    return check


def _items(sub_schema: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    if "prefixItems" in schema:
        raise Unsupported("prefixItems")
    sub = _compile(sub_schema, formats)
    return lambda value, evaluated: not isinstance(value, list) or all(
        sub(item, None) for item in value
    )


def _min_items(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, list) or len(value) >= limit


def _max_items(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, list) or len(value) <= limit


def _number(compare: Callable[[Any, Any], bool]) -> Callable[..., Check]:
    def build(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
        return lambda value, evaluated: not _is_number(value) or compare(value, limit)

    return build


def _min_length(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, str) or len(value) >= limit


def _max_length(limit: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    return lambda value, evaluated: not isinstance(value, str) or len(value) <= limit


def _pattern(pattern: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    search = re.compile(pattern).search  # jsonschema uses re.search with the same pattern
    return lambda value, evaluated: not isinstance(value, str) or search(value) is not None


def _format(name: Any, schema: Mapping[str, Any], formats: FormatChecker | None) -> Check:
    if formats is None:
        return lambda value, evaluated: True
    return lambda value, evaluated: formats.conforms(value, name)


def _all_of(branches: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    compiled = [_compile(branch, formats) for branch in branches]
    return lambda value, evaluated: all(sub(value, evaluated) for sub in compiled)


def _any_of(branches: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    compiled = [_compile(branch, formats) for branch in branches]

    def check(value: Any, evaluated: set[str] | None) -> bool:
        passed = False
        for sub in compiled:  # every branch: each valid one's properties count as evaluated
            seen: set[str] = set()
            if sub(value, seen):
                passed = True
                if evaluated is not None:
                    evaluated.update(seen)
        return passed

    return check


def _one_of(branches: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    # A branch's wrong False would hide a second match: only exact branches are counted.
    if not all(_exact(branch) for branch in branches):
        raise Unsupported("oneOf over a branch that is not decided exactly")
    compiled = [_compile(branch, formats) for branch in branches]

    def check(value: Any, evaluated: set[str] | None) -> bool:
        passing: list[set[str]] = []
        for sub in compiled:
            seen: set[str] = set()
            if sub(value, seen):
                passing.append(seen)
                if len(passing) > 1:
                    return False
        if len(passing) != 1:
            return False
        if evaluated is not None:
            evaluated.update(passing[0])
        return True

    return check


def _not(sub_schema: Any, schema: Mapping[str, Any], formats: Any) -> Check:
    # A wrong False from ``sub`` would give a wrong True here: only exact branches may be negated.
    if not _exact(sub_schema):
        raise Unsupported("not over a branch that is not decided exactly")
    sub = _compile(sub_schema, formats)
    return lambda value, evaluated: not sub(value, None)


def _exact(schema: Any) -> bool:
    """Whether the compiled check of ``schema`` is exact (False means invalid), not one-sided.

    Only ``unevaluatedProperties`` (which may miss evaluated names) and ``oneOf`` / ``not``
    over such branches make a check one-sided.
    """
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, Mapping) or "unevaluatedProperties" in schema:
        return False
    subschemas: list[Any] = []
    for keyword in ("additionalProperties", "propertyNames", "items", "not"):
        if keyword in schema:
            subschemas.append(schema[keyword])
    for keyword in ("allOf", "anyOf", "oneOf"):
        subschemas.extend(schema.get(keyword, ()))
    subschemas.extend((schema.get("properties") or {}).values())
    return all(_exact(sub) for sub in subschemas)


_KEYWORDS: dict[str, Callable[..., Check]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "additionalProperties": _additional,
    "required": _required,
    "propertyNames": _property_names,
    "minProperties": _min_properties,
    "maxProperties": _max_properties,
    "dependentRequired": _dependent_required,
    "items": _items,
    "minItems": _min_items,
    "maxItems": _max_items,
    "minimum": _number(lambda value, limit: value >= limit),
    "maximum": _number(lambda value, limit: value <= limit),
    "exclusiveMinimum": _number(lambda value, limit: value > limit),
    "exclusiveMaximum": _number(lambda value, limit: value < limit),
    "minLength": _min_length,
    "maxLength": _max_length,
    "pattern": _pattern,
    "format": _format,
    "allOf": _all_of,
    "anyOf": _any_of,
    "oneOf": _one_of,
    "not": _not,
}
