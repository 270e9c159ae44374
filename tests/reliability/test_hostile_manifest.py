"""Hostile manifests: any connector.yaml gives a report or a ManifestError, never a crash.

A connector root is copied once (schemas, handlers) and its connector.yaml is replaced by
arbitrary YAML documents, arbitrary text, and mutations of the real manifest (a value
replaced, a key dropped or added, a list emptied, anywhere in the tree).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.errors import ConnectorError, ManifestError
from runtime.plugin.manifest import MANIFEST_FILE, PACKAGE_ROOT, check_manifest, load_manifest

from .helpers import assert_contract, run_cli

REAL = yaml.safe_load((PACKAGE_ROOT / MANIFEST_FILE).read_text(encoding="utf-8"))

SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=20)
           | st.sampled_from(["", "operations.create_lead", "operations..x", "../../etc/passwd",
                              "os", "operations.__init__", "runtime.cli", "triggers.", ".",
                              "POST LeadManagement.svc/Lead.Create", "GET", "polling",
                              "instant", "{{ trigger }}", "x" * 500]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=10,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("connector")
    for folder in ("schemas", "operations", "triggers"):
        shutil.copytree(PACKAGE_ROOT / folder, base / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    yield base


def check_text(root: Path, text: str, *, both: bool = True) -> None:
    """The checker (and the loader) on ``text``: a report of strings, or ManifestError."""
    (root / MANIFEST_FILE).write_text(text, encoding="utf-8")
    report = check_manifest(root)
    assert all(isinstance(problem, str) and problem for problem in report.problems)
    if not both:  # load_manifest is check_manifest plus a raise: once is enough when slow
        return
    try:
        load_manifest(root)
    except ManifestError as problem:
        assert problem.problems or problem.message
        assert not report.valid
    else:
        assert report.valid


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


ALL_PATHS = [path for path in paths(REAL) if path]


def mutate(document: Any, path: tuple, how: str, value: Any) -> Any:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if how == "replace":
        parent[last] = value
    elif how == "drop":
        del parent[last]
    elif how == "add" and isinstance(parent[last], dict):
        parent[last]["x_unexpected" if not isinstance(value, str) else value or "k"] = value
    elif how == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    elif how == "empty":
        parent[last] = type(parent[last])() if isinstance(parent[last], dict | list) else None
    return document


@settings(max_examples=15)
@given(
    mutations=st.lists(
        st.tuples(st.sampled_from(ALL_PATHS), st.sampled_from(["replace", "drop", "add", "empty"]),
                  VALUES),
        min_size=1, max_size=3,
    )
)
def test_mutations_of_the_real_manifest(root: Path, mutations: list) -> None:
    document = yaml.safe_load(yaml.safe_dump(REAL))
    for path, how, value in mutations:
        try:
            document = mutate(document, path, how, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    check_text(root, yaml.safe_dump(document, allow_unicode=True), both=False)


@settings(max_examples=15)
@given(document=VALUES)
def test_arbitrary_yaml_documents(root: Path, document: Any) -> None:
    check_text(root, yaml.safe_dump(document, allow_unicode=True))


@settings(max_examples=15)
@given(text=st.text(max_size=200) | st.sampled_from([
    "", "---\n---\n", "!!python/object/apply:os.system ['id']", "a: &a [*a]", "{", "- - -",
    "key: !!binary aGVsbG8=", "? [a, b]\n: c", "a: 1\na: 2", "\ufeffname: x", "\x00", "%YAML 9.9",
    "actions: &x\n  - *x", "name: " + "[" * 200, "&a a: &b b\n*a : *b",
]))
def test_arbitrary_text(root: Path, text: str) -> None:
    check_text(root, text)


def test_a_binary_or_unreadable_manifest(root: Path) -> None:
    (root / MANIFEST_FILE).write_bytes(b"\xff\xfe\x00name: x")
    with pytest.raises(ManifestError):
        load_manifest(root)
    (root / MANIFEST_FILE).unlink()
    with pytest.raises(ManifestError):
        load_manifest(root)
    (root / MANIFEST_FILE).mkdir()
    with pytest.raises(ConnectorError):
        load_manifest(root)
    (root / MANIFEST_FILE).rmdir()


@pytest.mark.parametrize("text", ["", "a: &a [*a]", "actions: 1", "name: [", "- 1\n- 2"])
def test_lsq_validate_reports_a_broken_manifest(root: Path, text: str) -> None:
    (root / MANIFEST_FILE).write_text(text, encoding="utf-8")
    for argv in (["validate", "--root", str(root)], ["validate", "--json", "--root", str(root)]):
        result = run_cli(argv)
        assert_contract(result)
        assert result.code == 1
