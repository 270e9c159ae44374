"""The fast meta-schema check agrees with ``Draft202012Validator.check_schema``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from runtime.plugin.meta_check import _RULES, certainly_valid

SCHEMA_FILES = sorted((Path(__file__).parents[2] / "schemas").rglob("*.json"))


def check_schema_passes(schema: Any) -> bool:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return False
    return True


def test_every_schema_file_is_proven_valid() -> None:
    """Every file under schemas/ takes the fast path (else `lsq validate` is slow again)."""
    assert SCHEMA_FILES
    unproven = [
        path.name for path in SCHEMA_FILES
        if not certainly_valid(json.loads(path.read_text(encoding="utf-8")))
    ]
    assert unproven == []


INVALID = [
    ({"type": "strin"}, "unknown type"),
    ({"type": []}, "empty type list"),
    ({"type": ["string", "string"]}, "duplicate types"),
    ({"required": ["a", "a"]}, "duplicate required"),
    ({"required": "a"}, "required not an array"),
    ({"pattern": "("}, "pattern not a regex"),
    ({"patternProperties": {"[": {}}}, "property pattern not a regex"),
    ({"minLength": -1}, "negative length"),
    ({"minLength": 1.5}, "fractional length"),
    ({"maxItems": True}, "boolean is not an integer"),
    ({"multipleOf": 0}, "multipleOf must be > 0"),
    ({"allOf": []}, "empty allOf"),
    ({"properties": {"a": 3}}, "a subschema that is not a schema"),
    ({"$defs": {"x": {"items": {"type": 1}}}}, "nested invalid"),
    ({"$id": "https://x/a.json#frag"}, "$id with a fragment"),
    ({"$anchor": "1abc"}, "anchor pattern"),
    ({"dependentRequired": {"a": [1]}}, "dependentRequired of non-strings"),
    ({"$vocabulary": {"https://x": "yes"}}, "vocabulary value not boolean"),
    ({"enum": "a"}, "enum not an array"),
    ([], "a schema must be an object or boolean"),
]


@pytest.mark.parametrize(("schema", "reason"), INVALID, ids=[reason for _, reason in INVALID])
def test_invalid_schemas_are_not_proven(schema: Any, reason: str) -> None:
    assert not check_schema_passes(schema)
    assert certainly_valid(schema) is False


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from([0.0, 1.0, 1.5, -1.0]),
    st.sampled_from([
        "", "a", "string", "integer", "object", "array", "null", "#", "a#", "a#b", "(", "[a-z]+",
        "^x$", "_ok", "1bad", "https://example.com/s.json",
    ]),
)


def schemas() -> st.SearchStrategy[Any]:
    """Schema-like values: meta-schema keywords with values of every shape, nested."""
    keywords = st.sampled_from([*sorted(_RULES), "x-extra", "secret"])
    return st.recursive(
        st.one_of(st.booleans(), st.dictionaries(keywords, SCALARS, max_size=3)),
        lambda inner: st.one_of(
            st.dictionaries(
                keywords,
                st.one_of(
                    SCALARS, inner, st.lists(st.one_of(SCALARS, inner), max_size=3),
                    st.dictionaries(st.sampled_from(["a", "b", "(", "c"]), inner, max_size=2),
                ),
                max_size=4,
            ),
            st.lists(inner, max_size=2),
        ),
        max_leaves=12,
    )


@settings(max_examples=400, deadline=None)
@given(schemas())
def test_agrees_with_check_schema(schema: Any) -> None:
    assert certainly_valid(schema) is check_schema_passes(schema)
