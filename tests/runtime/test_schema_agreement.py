"""The fast validators (``jsonschema_rs``) never accept what ``jsonschema`` rejects.

``SchemaStore`` trusts a fast "valid" and hands everything else to ``jsonschema``; these tests
prove that trust for every schema under ``schemas/`` (instances) and for the 2020-12
meta-schema (schema files), and that the fast path is actually taken for the connector's own
schemas and samples (else the benchmarks' speed is gone).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

from runtime.plugin.manifest import load_manifest
from runtime.plugin.schemas import META_FORMATS, SchemaStore, _meta_accepts, schema_id

MANIFEST = load_manifest()
STORE = MANIFEST.schemas
SAMPLES = [
    (path, sample)
    for op in MANIFEST.operations
    for path, sample in ((op.input_schema_path, op.sample_input),
                         (op.output_schema_path, op.sample_output))
    if isinstance(sample, dict)
] + [(path, example) for path in STORE.paths() for example in STORE.get(path).get("examples", [])]
ODD_VALUES = [None, "", "x", 0, 1, -1, 1.5, 2.0, True, False, [], ["a"], {}, {"a": 1},
              "2024-05-01T10:00:00Z", "2024-05-01", "2024-13-01", "a\n", "\u0663", 2**70]


def fast_of(store: SchemaStore, path: str, instance: Any) -> bool:
    validator = store._fast_validator(path)
    assert validator is not None, f"{path} is not compiled by jsonschema_rs"
    return validator.is_valid(instance)


def fast(path: str, instance: Any) -> bool:
    return fast_of(STORE, path, instance)


def full(path: str, instance: Any) -> bool:
    return STORE.validator(path).is_valid(instance)


def test_every_schema_compiles() -> None:
    assert STORE.paths()
    assert [path for path in STORE.paths() if STORE._fast_validator(path) is None] == []


@pytest.mark.parametrize(("path", "sample"), SAMPLES, ids=[path for path, _ in SAMPLES])
def test_samples_and_examples_take_the_fast_path(path: str, sample: Any) -> None:
    assert fast(path, sample) is full(path, sample) is True


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, Any]:
    """A sample or example with up to three fields dropped, added, replaced or nested."""
    path, sample = draw(st.sampled_from(SAMPLES))
    if not isinstance(sample, dict):
        return path, draw(st.sampled_from([sample, *ODD_VALUES]))
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


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=8)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=3),
    max_leaves=8,
)


@settings(max_examples=500, deadline=None)
@given(mutated())
def test_agree_on_mutated_samples(case: tuple[str, Any]) -> None:
    path, instance = case
    assert fast(path, instance) is full(path, instance)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STORE.paths()), JSON_VALUES)
def test_fast_valid_only_when_valid(path: str, instance: Any) -> None:
    """Any JSON value: fast "valid" implies valid. The fast one may be stricter (a pattern's
    ``$`` before a final newline, ``\\d`` beyond ASCII): then jsonschema decides."""
    if fast(path, instance):
        assert full(path, instance)


def store_of(directory: Path, files: dict[str, Any]) -> SchemaStore:
    """A SchemaStore over ``files`` (path under schemas/ -> schema, its $id added)."""
    for relpath, schema in files.items():
        path = directory / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"$id": schema_id(relpath), **schema}), encoding="utf-8")
    return SchemaStore(directory)


@pytest.mark.parametrize(("value", "valid"), [
    ("2024-05-01T10:00:00Z", True), ("2024-05-01T15:30:00.123+05:30", True),
    ("2024-05-01T10:00:00", False), ("2024-05-01 10:00:00", False), ("2024-13-01T10:00:00Z", False),
    ("2024-05-01", False), (3, True),
])
def test_date_time_is_asserted_on_the_fast_path(tmp_path: Path, value: Any, valid: bool) -> None:
    store = store_of(tmp_path, {"when.json": {"format": "date-time"}})
    assert fast_of(store, "when.json", value) is valid is store.validator("when.json").is_valid(
        value)


@pytest.mark.parametrize(("value", "valid"), [
    ("2024-05-01", True), ("2024-5-1", False), ("2024-02-30", False),
    ("2024-05-01T10:00:00Z", False),
])
def test_date_is_asserted_on_the_fast_path(tmp_path: Path, value: str, valid: bool) -> None:
    store = store_of(tmp_path, {"day.json": {"format": "date"}})
    assert fast_of(store, "day.json", value) is valid is store.validator("day.json").is_valid(value)


def test_values_are_judged_as_the_json_they_are_sent_as(tmp_path: Path) -> None:
    """A tuple is a JSON array; a value JSON cannot hold is left to jsonschema, which words it."""
    store = store_of(tmp_path, {"list.json": {"type": "array"}, "text.json": {"type": "string"}})
    assert store.errors("list.json", ("a", "b")) == []
    assert store.errors("text.json", date(2024, 5, 1)) == [
        "$: datetime.date(2024, 5, 1) is not of type 'string'"]
    assert store.errors("text.json", {1: "a"}) == ["$: {1: 'a'} is not of type 'string'"]


def test_deep_values_under_a_recursive_schema(tmp_path: Path) -> None:
    """Parsers stop near 1,000 levels (json, yaml: RecursionError, reported as too deep); the
    compiled validator walks 5,000 on a recursive schema (its native stack ends past 20,000)."""
    store = store_of(tmp_path, {"tree.json": {"items": {"$ref": "#"}}})
    value: list[Any] = []
    for _ in range(5000):
        value = [value]
    assert store.errors("tree.json", value) == []


def test_refs_never_leave_the_registry(tmp_path: Path) -> None:
    """jsonschema_rs asks the store for every $ref target; an unknown one is never fetched."""
    store = store_of(tmp_path, {
        "far.json": {"$ref": "https://example.com/elsewhere.json"},
        "near.json": {"$ref": "common/nope.json"},
        "ok.json": {"$ref": "common/ids.json"},
        "common/ids.json": {"type": "string"},
    })
    asked: list[str] = []
    retrieve = store._retrieve

    def recording(uri: str) -> Any:
        asked.append(uri)
        return retrieve(uri)

    store._retrieve = recording  # type: ignore[method-assign]
    assert store._fast_validator("far.json") is None
    assert store._fast_validator("near.json") is None
    assert fast_of(store, "ok.json", "x") and not fast_of(store, "ok.json", 1)
    assert asked == ["https://example.com/elsewhere.json", schema_id("common/nope.json"),
                     schema_id("common/ids.json")]


# -- schema files against the 2020-12 meta-schema -------------------------------------------------

META_2020_12 = [uri for uri in SPECIFICATIONS if "/draft/2020-12/" in uri]
KEYWORDS = sorted({name for uri in META_2020_12
                   for name in SPECIFICATIONS.contents(uri).get("properties", {})})
SCHEMA_FILES = sorted((Path(__file__).parents[2] / "schemas").rglob("*.json"))


def check_schema_passes(schema: Any) -> bool:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return False
    return True


def formats_in(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["format"]} if isinstance(node.get("format"), str) else set()
        return found.union(*(formats_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(formats_in(item) for item in node))
    return set()


def test_meta_formats_are_the_meta_schemas_formats() -> None:
    used = set().union(*(formats_in(SPECIFICATIONS.contents(uri)) for uri in META_2020_12))
    assert set(META_FORMATS) == used


def test_every_schema_file_takes_the_fast_path() -> None:
    assert SCHEMA_FILES
    assert [path.name for path in SCHEMA_FILES
            if not _meta_accepts(json.loads(path.read_text(encoding="utf-8")))] == []


INVALID = [
    ({"type": "strin"}, "unknown type"),
    ({"type": []}, "empty type list"),
    ({"type": ["string", "string"]}, "duplicate types"),
    ({"required": ["a", "a"]}, "duplicate required"),
    ({"required": "a"}, "required not an array"),
    ({"pattern": "("}, "pattern not a regex"),
    ({"pattern": "\\p{L}"}, "pattern Python's re rejects"),
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
def test_invalid_schemas_are_not_accepted(schema: Any, reason: str) -> None:
    assert not check_schema_passes(schema)
    assert _meta_accepts(schema) is False


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 3), st.sampled_from([0.0, 1.0, 1.5, -1.0]),
    st.sampled_from([
        "", "a", "string", "integer", "object", "array", "null", "#", "a#", "a#b", "(", "[a-z]+",
        "^x$", "_ok", "1bad", "https://example.com/s.json", "(?P<n>x)", "\\p{L}", "date-time",
    ]),
)


def schemas() -> st.SearchStrategy[Any]:
    """Schema-like values: meta-schema keywords with values of every shape, nested."""
    keywords = st.sampled_from([*KEYWORDS, "x-extra", "secret"])
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
def test_meta_check_agrees_with_check_schema(schema: Any) -> None:
    assert _meta_accepts(schema) is check_schema_passes(schema)


def test_meta_check_may_be_stricter_then_check_schema_decides(tmp_path: Path) -> None:
    """Python's ``$`` matches before a final newline; the fast check's regex engine does not."""
    schema = {"$anchor": "ok\n"}
    assert _meta_accepts(schema) is False and check_schema_passes(schema)
    assert store_of(tmp_path, {"anchored.json": schema}).problems == []
