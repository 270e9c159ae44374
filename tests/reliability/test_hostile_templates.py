"""Template sandbox: arbitrary templates never escape MappingError; SSTI payloads are refused.

Every payload of ``tests/workflow/ssti_payloads.txt`` (plus a few more below) runs through the
renderer AND through a whole workflow: ``lsq validate`` (one step per payload) and, for those
that pass static checks, ``lsq run --event`` on the sandbox. Each is refused — a WorkflowError
problem at validation or a failed step with a mapping error at run time — except the plain
arithmetic probes in ``HARMLESS``, which render to a small number or string. No message or
output shows Python internals.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from runtime.errors import MappingError
from runtime.sandbox import RunningSandbox
from runtime.workflows.templating import evaluate_condition, render_value, template_problems
from tests.fakes import write_connection_file

from .helpers import assert_contract, run_cli

CORPUS = Path(__file__).parents[1] / "workflow" / "ssti_payloads.txt"
EXTRA = [
    "{{ trigger.items() }}",
    "{{ trigger.get('__class__') }}",
    "{{ trigger.values().__iter__ }}",
    "{{ steps|attr('__class__') }}",
    "{{ trigger|attr('get') }}",
    "{{ ''.split.__self__.__class__ }}",
    "{{ trigger.Tags.index.__call__ }}",
    "{{ (trigger.Tags|first).__class__ }}",
    "{{ trigger.Tags.pop() }}",
    "{{ trigger.Tags.append(1) }}",
    "{{ trigger.clear() }}",
    "{{ trigger.update({'a': 1}) }}",
    "{{ trigger.setdefault('a', 1) }}",
    "{{ trigger.__getitem__('FirstName') }}",
    "{% with x = ''.__class__ %}{{ x }}{% endwith %}",
    "{% for x in trigger recursive %}{{ loop(x) }}{% endfor %}",
    "{% filter upper %}{{ trigger }}{% endfilter %}",
    "{% set x %}{{ trigger }}{% endset %}{{ x }}",
    "{% call m() %}{% endcall %}",
    "{{ lipsum(1) }}",
    "{{ dict(a=1) }}",
    "{{ namespace(a=1) }}",
    "{{ trigger|pprint }}",
    "{{ trigger|xmlattr }}",
    "{{ 'x'|center(10**9) }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ trigger|batch(10**9)|list }}",
    "{{ ('x' ~ 'y') * 10**7 }}",
    "{{ 'x' * 2**30 }}",
    "{{ [trigger] * 10**8 }}",
    "{{ 2**2**2**2**2 }}",
    "{% for a in trigger.Tags %}{% for b in 'x'*999999 %}{% for c in 'y'*999999 %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ trigger|tojson|replace('a', 'a'*100000)|replace('a', 'a'*100000) }}",
    "{{ '%c' % 65 }}",
    "{{ trigger.Tags|join('x'*10**8) }}",
]
PAYLOADS = [
    line for line in CORPUS.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
] + EXTRA
#: Arithmetic probes: a mapping language does arithmetic; they render small, harmless values.
HARMLESS = {"{{ 7*7 }}", "{{ 7*'7' }}", "{{ 10**10**10**10 }}", "{{ 2**2**2**2**2 }}",
            # a key lookup on the event: the missing key '__class__' is None, not the class
            "{{ trigger.get('__class__') }}"}
#: Text that would show Python internals, a host's files, or this installation's paths.
LEAKS = ("<class", "<built-in", "<function", "<bound", "<module", "object at 0x", "Traceback",
         "site-packages", "jinja2.", "runtime.", "root:x:", "uid=", "__globals__'>", "Popen",
         "_TemplateReference", "Environment object", str(Path(__file__).parents[2]))
CONTEXT = {
    "trigger": {"FirstName": "Asha", "ProspectID": "x", "Tags": ["a", "b"]},
    "steps": {"find": {"found": True}},
}
EVENT = {
    "lead_id": "5b0a1e2c-7d3f-4c8e-a1b2-000000000201",
    "ProspectID": "5b0a1e2c-7d3f-4c8e-a1b2-000000000201",
    "FirstName": "Priya", "LastName": "Sharma", "EmailAddress": "priya.sharma@example.com",
    "CreatedOn": "2025-03-01 09:00:00.000", "ModifiedOn": "2025-03-01 09:00:00.000",
}


def assert_no_leak(text: str) -> None:
    found = [leak for leak in LEAKS if leak in text]
    assert not found, (found, text[:300])


def test_the_corpus_is_large() -> None:
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_renderer_refuses_each_payload(payload: str) -> None:
    for value in (payload, f"prefix {payload} suffix", {"nested": [payload]}):
        try:
            result = render_value(value, CONTEXT, location="attack.input.x")
        except MappingError as refused:
            assert str(refused).startswith("attack.input.x")
            assert_no_leak(str(refused))
            assert_no_leak(json.dumps(refused.to_dict()))
            continue
        assert payload in HARMLESS, f"not refused: {payload!r} -> {repr(result)[:80]}"
        assert_no_leak(repr(result))
        assert len(repr(result)) < 2000


# ---------------------------------------------------------------- arbitrary templates

FRAGMENTS = st.sampled_from([
    "{{", "}}", "{%", "%}", "{#", "#}", "trigger", "steps", ".", "[", "]", "(", ")", "'", '"',
    "|", "~", "*", "**", "+", "-", "/", "//", "%", ",", ":", "=", " ", "0", "1", "9" * 12,
    "FirstName", "Tags", "__class__", "mro", "format", "join", "default", "tojson", "int",
    "for", "in", "endfor", "if", "else", "endif", "set", "with", "endwith", "loop", "not",
    "and", "or", "is", "defined", "none", "true", "lipsum", "self", "range", "-}}", "{{-",
    "\n", "\\", "\x00", "é", "😀", "10**99", "'a'*99",
])
TEMPLATES = st.one_of(
    st.lists(FRAGMENTS, max_size=14).map("".join),
    st.lists(FRAGMENTS, max_size=8).map(lambda parts: "{{ " + " ".join(parts) + " }}"),
    st.lists(FRAGMENTS, max_size=8).map(lambda parts: "{% " + " ".join(parts) + " %}x"),
    st.text(max_size=40).map(lambda text: "{{" + text + "}}"),
    st.text(max_size=60),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)


@given(template=TEMPLATES, trigger=JSON)
def test_any_template_renders_or_raises_a_mapping_error(template: str, trigger: Any) -> None:
    assert all(isinstance(p, str) for p in template_problems(template, location="x"))
    try:
        result = render_value(template, {"trigger": trigger, "steps": {}}, location="x")
    except MappingError as refused:
        assert_no_leak(str(refused))
        return
    json.dumps(result)  # JSON data only
    assert_no_leak(repr(result))


@given(when=TEMPLATES)
def test_any_condition_is_a_bool_or_a_mapping_error(when: str) -> None:
    try:
        assert evaluate_condition(when, CONTEXT, location="s.when") in (True, False)
    except MappingError as refused:
        assert_no_leak(str(refused))


# ---------------------------------------------------------------- through whole workflows


def write_workflow(path: Path, payloads: list[str]) -> Path:
    steps = [
        {"id": f"p{index}", "action": "find_lead", "on_error": "continue",
         "input": {"phone": payload}}
        for index, payload in enumerate(payloads)
    ]
    document = {"name": "ssti", "trigger": {"key": "new_lead"}, "steps": steps}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
def connection_file(tmp_path: Path, sandbox: RunningSandbox) -> Path:
    return Path(write_connection_file(tmp_path / "sandbox.yaml", sandbox.base_url))


def test_every_payload_is_refused_by_lsq_validate_or_lsq_run(
    cli_env: Path, connection_file: Path
) -> None:
    workflow = write_workflow(cli_env / "all.yaml", PAYLOADS)
    checked = run_cli(["validate", "--json", str(workflow)])
    assert_contract(checked)
    assert checked.code == 1
    report = json.loads(checked.out)
    problems = report["workflows"][0]["problems"]
    assert_no_leak(checked.out + checked.err)
    flagged = {index for index in range(len(PAYLOADS))
               if any(re.search(rf"[:.]p{index}[.:]", p) for p in problems)}

    remaining = [payload for index, payload in enumerate(PAYLOADS) if index not in flagged]
    assert remaining, "expected payloads that only fail at run time (e.g. '__class__' access)"
    event = cli_env / "event.json"
    event.write_text(json.dumps(EVENT), encoding="utf-8")
    again = write_workflow(cli_env / "runtime.yaml", remaining)
    assert run_cli(["validate", str(again)]).code == 0, "static problems must be per step"
    ran = run_cli(["run", str(again), "--event", str(event), "--json",
                   "--connection", str(connection_file)])
    assert_contract(ran)
    assert_no_leak(ran.out + ran.err)
    record = json.loads(ran.out)
    for payload, step in zip(remaining, record["steps"], strict=True):
        if payload in HARMLESS:
            continue
        assert step["status"] == "failed", (payload, step)
        assert step["error"]["category"] == "mapping", (payload, step["error"])
