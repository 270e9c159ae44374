"""The compiled quick check never calls an invalid instance valid, and passes valid samples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from runtime.plugin.manifest import load_manifest
from runtime.plugin.schema_fastpath import TYPES, compile_check
from runtime.plugin.schemas import FORMAT_CHECKER

MANIFEST = load_manifest()
STORE = MANIFEST.operations[0].schemas
assert STORE is not None
SAMPLES = [
    (path, sample)
    for op in MANIFEST.operations
    for path, sample in ((op.input_schema_path, op.sample_input),
                         (op.output_schema_path, op.sample_output))
    if isinstance(sample, dict)
]
ODD_VALUES = [None, "", "x", 0, 1, -1, 1.5, 2.0, True, False, [], ["a"], {}, {"a": 1}]


def full_valid(path: str, instance: Any) -> bool:
    return not list(STORE.validator(path).iter_errors(instance))


def quick(path: str):
    check = compile_check(STORE.resolve(path), FORMAT_CHECKER)
    assert check is not None, f"{path} is not compiled"
    return check


@pytest.mark.parametrize("name", sorted(TYPES))
@pytest.mark.parametrize("value", ODD_VALUES, ids=repr)
def test_types_match_jsonschema(name: str, value: Any) -> None:
    assert TYPES[name](value) is Draft202012Validator.TYPE_CHECKER.is_type(value, name)


def test_every_connector_schema_compiles() -> None:
    paths = [p for p in STORE.paths() if not p.startswith("_meta/")]
    assert paths
    assert [p for p in paths if compile_check(STORE.resolve(p), FORMAT_CHECKER) is None] == []


@pytest.mark.parametrize(("path", "sample"), SAMPLES, ids=[p for p, _ in SAMPLES])
def test_samples_agree(path: str, sample: dict[str, Any]) -> None:
    assert quick(path)(sample) is full_valid(path, sample)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    path, sample = draw(st.sampled_from(SAMPLES))
    instance = dict(sample)
    for _ in range(draw(st.integers(1, 3))):
        keys = sorted(instance)
        action = draw(st.sampled_from(["drop", "add", "set", "nest"]))
        if action == "drop" and keys:
            instance.pop(draw(st.sampled_from(keys)))
        elif action == "add":
            instance[draw(st.sampled_from(["extra", "Lead", "fields", "lead_id"]))] = draw(
                st.sampled_from(ODD_VALUES))
        elif action == "set" and keys:
            instance[draw(st.sampled_from(keys))] = draw(st.sampled_from(ODD_VALUES))
        elif action == "nest" and keys:
            key = draw(st.sampled_from(keys))
            if isinstance(instance[key], dict) and instance[key]:
                inner = dict(instance[key])
                inner[draw(st.sampled_from(sorted(inner)))] = draw(st.sampled_from(ODD_VALUES))
                instance[key] = inner
    return path, instance


@settings(max_examples=400, deadline=None)
@given(mutated())
def test_quick_true_only_when_valid(case: tuple[str, Any]) -> None:
    path, instance = case
    if quick(path)(instance):
        assert full_valid(path, instance)


UNEVALUATED = {
    "allOf": [{"properties": {"a": {"type": "string"}}}],
    "anyOf": [{"properties": {"b": {"type": "integer"}}, "required": ["b"]}, {"required": ["c"]}],
    "properties": {"d": {"type": "boolean"}},
    "unevaluatedProperties": False,
}


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        (UNEVALUATED, {"a": "x", "b": 1, "d": True}),
        (UNEVALUATED, {"a": "x", "c": 1}),
        (UNEVALUATED, {"a": "x", "c": 1, "e": 2}),
        (UNEVALUATED, {"a": 1, "b": 1}),
        ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": 1}),
        ({"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"a": 1, "b": 2}),
        ({"not": {"type": "string"}}, "x"),
        ({"not": {"type": "string"}}, 3),
        ({"type": "integer", "minimum": 2}, 2.0),
        ({"type": "integer", "minimum": 2}, True),
        ({"enum": [1, "a"]}, True),
        ({"const": False}, 0),
        ({"type": "string", "format": "date-time"}, "2024-05-01T09:30:00Z"),
        ({"type": "string", "format": "date-time"}, "yesterday"),
        ({"propertyNames": {"pattern": "^[a-z]+$"}, "minProperties": 1}, {"ab": 1}),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"Ab": 1}),
        ({"dependentRequired": {"a": ["b"]}}, {"a": 1}),
        ({"items": {"type": "string"}, "maxItems": 2}, ["a", "b"]),
        ({"items": {"type": "string"}, "maxItems": 2}, ["a", 1]),
    ],
)
def test_small_schemas_match_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    check = compile_check(schema, FORMAT_CHECKER)
    assert check is not None
    expected = Draft202012Validator(schema, format_checker=FORMAT_CHECKER).is_valid(instance)
    assert check(instance) is expected


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/x"},
        {"if": {"type": "string"}, "then": {"minLength": 1}},
        {"patternProperties": {"^x": {}}, "additionalProperties": False},
        {"oneOf": [{"unevaluatedProperties": False}, {}]},
        {"not": {"unevaluatedProperties": False}},
    ],
    ids=["ref", "if-then", "patternProperties", "oneOf-one-sided", "not-one-sided"],
)
def test_unsupported_schemas_are_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(schema, FORMAT_CHECKER) is None
