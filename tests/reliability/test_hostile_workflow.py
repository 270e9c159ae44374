"""Hostile workflows: any workflow document gives a list of problems or a WorkflowError.

Arbitrary YAML documents, arbitrary text, and mutations of the four example workflows go
through ``check_workflow`` / ``load_workflow`` with the real manifest's schemas, and a few
through ``lsq validate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.errors import WorkflowError
from runtime.plugin.manifest import PACKAGE_ROOT, load_manifest
from runtime.workflows.workflow import ManifestSchemas, check_workflow, load_workflow

from .helpers import assert_contract, run_cli
from .test_hostile_manifest import VALUES, mutate, paths

EXAMPLES = sorted((PACKAGE_ROOT / "examples").glob("*.yaml"))
SCHEMAS = ManifestSchemas(load_manifest())


def check(source: Any) -> None:
    problems = check_workflow(source, SCHEMAS, name="hostile.yaml")
    assert all(isinstance(problem, str) and problem for problem in problems)
    try:
        load_workflow(source, SCHEMAS, name="hostile.yaml")
    except WorkflowError as problem:
        assert problem.problems or problem.message
    else:
        assert not problems


@given(document=VALUES)
def test_arbitrary_documents(document: Any) -> None:
    if isinstance(document, dict):
        check(document)


@settings(max_examples=60)
@given(
    example=st.sampled_from(EXAMPLES),
    choice=st.integers(min_value=0, max_value=10**6),
    how=st.sampled_from(["replace", "drop", "add", "empty"]),
    value=VALUES,
)
def test_mutated_examples(example: Path, choice: int, how: str, value: Any) -> None:
    document = yaml.safe_load(example.read_text(encoding="utf-8"))
    document.pop("$schema", None)
    candidates = [path for path in paths(document) if path]
    document = mutate(document, candidates[choice % len(candidates)], how, value)
    check(document)


@settings(max_examples=30)
@given(text=st.text(max_size=150) | st.sampled_from([
    "a: &a [*a]", "name: x\nname: y", "!!python/object/apply:os.system ['id']", "- " * 200,
    "\ufeffname: x", "{", "trigger: {key: new_lead}\nsteps: []",
]))
def test_arbitrary_files(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("wf") / "flow.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(path)


@pytest.mark.parametrize("text", ["a: &a [*a]", "steps: " + "[" * 2000, "- 1", "", "{"])
def test_lsq_validate_reports_broken_workflows(cli_env: Path, text: str) -> None:
    path = cli_env / "flow.yaml"
    path.write_text(text, encoding="utf-8")
    for argv in (["validate", str(path)], ["validate", "--json", str(path)]):
        result = run_cli(argv)
        assert_contract(result)
        assert result.code == 1


@pytest.mark.parametrize("kind", ["workflow", "connection", "manifest"])
def test_deep_yaml_nesting_is_a_clear_error(cli_env: Path, kind: str) -> None:
    deep = "a: " + "[" * 5000
    path = cli_env / "deep.yaml"
    path.write_text(deep, encoding="utf-8")
    if kind == "workflow":
        argv = ["validate", str(path)]
    elif kind == "connection":
        argv = ["auth", "test", "--connection", str(path)]
    else:
        root = cli_env / "root"
        root.mkdir()
        (root / "connector.yaml").write_text(deep, encoding="utf-8")
        argv = ["validate", "--root", str(root)]
    result = run_cli(argv)
    assert_contract(result)
    assert result.code == 1
    assert "nest" in result.out + result.err
