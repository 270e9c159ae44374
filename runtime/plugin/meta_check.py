"""A fast "does the 2020-12 meta-schema accept this schema?" check, for loading schema files.

``Draft202012Validator.check_schema`` walks a schema file against the meta-schema with
jsonschema's general machinery (a validator per subschema, every ``$dynamicRef`` resolved
through the registry): about 1.3 ms per file, most of ``lsq validate``'s own time with 88 files
(bench/BENCHMARKS.md). :func:`certainly_valid` applies the same rules, written out once per
keyword from the published meta-schema (core, applicator, unevaluated, validation, meta-data,
format-annotation and content vocabularies, plus the deprecated keywords it still types), in
plain Python: about 30 us per file.

The check is one-sided: True means the meta-schema accepts the schema; False means "not proven"
and the caller runs ``check_schema``, which decides and words the error. Formats are checked as
``check_schema`` checks them (``Draft202012Validator.FORMAT_CHECKER``: of the meta-schema's
formats only ``regex`` is asserted; ``uri`` and ``uri-reference`` need an optional package, and
are accepted unchecked when it is absent). Any other checked format makes every answer False,
so the full check decides. ``tests/runtime/test_meta_check.py`` compares the two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from numbers import Number
from typing import Any

from jsonschema import Draft202012Validator

SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})
_ANCHOR = re.compile(r"^[A-Za-z_][-A-Za-z0-9._]*$")
_ID = re.compile(r"^[^#]*#?$")

#: The formats the meta-schema uses; this module asserts exactly the ones checked in
#: FORMAT_CHECKER ("regex"), so a checker that also asserts "uri" disables the fast path.
_META_FORMATS = frozenset({"regex", "uri", "uri-reference"})
_ENABLED = _META_FORMATS & set(Draft202012Validator.FORMAT_CHECKER.checkers) == {"regex"}


def certainly_valid(schema: Any) -> bool:
    """True only when ``Draft202012Validator.check_schema(schema)`` would pass."""
    return _ENABLED and _schema(schema)


def _schema(node: Any) -> bool:
    if isinstance(node, bool):
        return True
    if not isinstance(node, dict):
        return False
    for keyword, value in node.items():
        rule = _RULES.get(keyword)
        if rule is not None and not rule(value):
            return False
    return True


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _non_negative_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):  # 2020-12: a float with no fraction is an integer
        return value.is_integer() and value >= 0
    return isinstance(value, int) and value >= 0


def _anchor(value: Any) -> bool:
    return isinstance(value, str) and _ANCHOR.search(value) is not None


def _id(value: Any) -> bool:
    return isinstance(value, str) and _ID.search(value) is not None


def _regex(value: Any) -> bool:
    """``format: regex`` as jsonschema checks it: ``re.compile`` succeeds (non-strings pass)."""
    if not isinstance(value, str):
        return True
    try:
        re.compile(value)
    except re.error:
        return False
    return True


def _unique(values: list[Any]) -> bool:
    # Strings only (the callers check the types first): equal means identical here.
    return len(set(values)) == len(values)


def _string_array(value: Any) -> bool:
    return (
        isinstance(value, list) and all(isinstance(item, str) for item in value) and _unique(value)
    )


def _schema_array(value: Any) -> bool:
    return isinstance(value, list) and len(value) >= 1 and all(_schema(item) for item in value)


def _schema_map(value: Any) -> bool:
    return isinstance(value, dict) and all(_schema(item) for item in value.values())


def _type(value: Any) -> bool:
    if isinstance(value, str):
        return value in SIMPLE_TYPES
    return (
        isinstance(value, list) and len(value) >= 1
        and all(isinstance(item, str) and item in SIMPLE_TYPES for item in value)
        and _unique(value)
    )


def _vocabulary(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str) and isinstance(item, bool) for name, item in value.items()
    )


def _pattern_properties(value: Any) -> bool:
    return _schema_map(value) and all(_regex(name) for name in value)


def _dependent_required(value: Any) -> bool:
    return isinstance(value, dict) and all(_string_array(item) for item in value.values())


def _dependencies(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _schema(item) or _string_array(item) for item in value.values()
    )


def _multiple_of(value: Any) -> bool:
    return _number(value) and value > 0


def _pattern(value: Any) -> bool:
    return isinstance(value, str) and _regex(value)


def _array(value: Any) -> bool:
    return isinstance(value, list)


def _anything(value: Any) -> bool:
    return True


_RULES: dict[str, Callable[[Any], bool]] = {
    # core
    "$id": _id,
    "$schema": _string,
    "$ref": _string,
    "$anchor": _anchor,
    "$dynamicRef": _string,
    "$dynamicAnchor": _anchor,
    "$vocabulary": _vocabulary,
    "$comment": _string,
    "$defs": _schema_map,
    # applicator
    "prefixItems": _schema_array,
    "items": _schema,
    "contains": _schema,
    "additionalProperties": _schema,
    "properties": _schema_map,
    "patternProperties": _pattern_properties,
    "dependentSchemas": _schema_map,
    "propertyNames": _schema,
    "if": _schema,
    "then": _schema,
    "else": _schema,
    "allOf": _schema_array,
    "anyOf": _schema_array,
    "oneOf": _schema_array,
    "not": _schema,
    # unevaluated
    "unevaluatedItems": _schema,
    "unevaluatedProperties": _schema,
    # validation
    "type": _type,
    "const": _anything,
    "enum": _array,
    "multipleOf": _multiple_of,
    "maximum": _number,
    "exclusiveMaximum": _number,
    "minimum": _number,
    "exclusiveMinimum": _number,
    "maxLength": _non_negative_integer,
    "minLength": _non_negative_integer,
    "pattern": _pattern,
    "maxItems": _non_negative_integer,
    "minItems": _non_negative_integer,
    "uniqueItems": _boolean,
    "maxContains": _non_negative_integer,
    "minContains": _non_negative_integer,
    "maxProperties": _non_negative_integer,
    "minProperties": _non_negative_integer,
    "required": _string_array,
    "dependentRequired": _dependent_required,
    # meta-data
    "title": _string,
    "description": _string,
    "default": _anything,
    "deprecated": _boolean,
    "readOnly": _boolean,
    "writeOnly": _boolean,
    "examples": _array,
    # format-annotation, content
    "format": _string,
    "contentEncoding": _string,
    "contentMediaType": _string,
    "contentSchema": _schema,
    # the deprecated keywords the meta-schema still types
    "definitions": _schema_map,
    "dependencies": _dependencies,
    "$recursiveAnchor": _anchor,
    "$recursiveRef": _string,
}
