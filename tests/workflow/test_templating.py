"""The sandboxed mapping environment: native types, text, strictness, and SSTI refusal."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import MappingError
from runtime.workflows.templating import (
    ENV,
    MAX_OUTPUT_CHARS,
    SAFE_FILTERS,
    build_context,
    evaluate_condition,
    find_references,
    parse_template,
    render_mapping,
    render_string,
    render_value,
    template_problems,
)

EVENT = {
    "ProspectID": "b3e6b6d4-0000-4d6e-9a8b-000000000001",
    "FirstName": "Asha",
    "Phone": "+919876543210",
    "Score": 42,
    "Ratio": 0.5,
    "Active": True,
    "Notes": None,
    "Tags": ["vip", "pune"],
    "Owner": {"Id": "u-1", "Name": "Ravi"},
    "items": "the field called items",
}
CONTEXT = build_context(EVENT, {"find": {"found": True, "lead": {"Id": "L-9", "Count": "7"}}})


def render(value: Any) -> Any:
    return render_value(value, CONTEXT, location="welcome.input.subject")


# ---------------------------------------------------------------- native types


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ trigger.Phone }}", "+919876543210"),
        ("{{ trigger.Tags }}", ["vip", "pune"]),
        ("{{ trigger.Owner }}", {"Id": "u-1", "Name": "Ravi"}),
        ("{{ trigger.Score }}", 42),
        ("{{ trigger.Ratio }}", 0.5),
        ("{{ trigger.Active }}", True),
        ("{{ trigger.Notes }}", None),
        ("  {{ trigger.Tags }}\n", ["vip", "pune"]),
        ("{{- trigger.Score -}}", 42),
        ("{{ steps.find.lead.Count }}", "7"),
        ("{{ steps.find.lead.Count | int }}", 7),
        ("{{ trigger.Tags[0] }}", "vip"),
        ("{{ trigger['Owner']['Name'] }}", "Ravi"),
        ("{{ trigger.Score + 1 }}", 43),
        ("{{ trigger.items }}", "the field called items"),
    ],
    ids=[
        "phone-stays-string",
        "list",
        "object",
        "int",
        "float",
        "bool",
        "null",
        "whitespace",
        "trim-markers",
        "string-digits-stay-string",
        "int-filter",
        "index",
        "subscript",
        "math",
        "key-named-items-wins-over-dict-method",
    ],
)
def test_a_lone_expression_keeps_its_native_type(template: str, expected: Any) -> None:
    result = render(template)
    assert result == expected
    assert type(result) is type(expected)


def test_non_string_values_render_recursively() -> None:
    mapping = {
        "count": 3,
        "flag": False,
        "nothing": None,
        "fields": {"FirstName": "{{ trigger.FirstName }}", "mx_Tags": "{{ trigger.Tags }}"},
        "list": ["{{ trigger.Score }}", "id {{ trigger.Owner.Id }}", 1.5],
    }
    assert render_mapping(mapping, CONTEXT, location="step.input") == {
        "count": 3,
        "flag": False,
        "nothing": None,
        "fields": {"FirstName": "Asha", "mx_Tags": ["vip", "pune"]},
        "list": [42, "id u-1", 1.5],
    }


def test_plain_strings_are_returned_unchanged() -> None:
    assert render("just text with { braces }") == "just text with { braces }"
    assert render("Order {#123} shipped") == "Order {#123} shipped"


def test_template_problems_lists_every_template_that_does_not_compile() -> None:
    value = {"a": "{{ trigger.x }}", "b": ["ok", "{{ trigger. }}"], "c": {"d": "{{ range(3) }}"}}
    assert template_problems(value, location="sample") == [
        "sample.b[1]: template syntax error: expected name or number (line 1)",
        "sample.c.d: not allowed: unknown name 'range' (a mapping can use: trigger, steps)",
    ]


# ---------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Welcome, {{ trigger.FirstName }}!", "Welcome, Asha!"),
        ("{{ trigger.Score }} points", "42 points"),
        ("{{ trigger.FirstName }} {{ trigger.Score }}", "Asha 42"),
        ("notes=[{{ trigger.Notes }}]", "notes=[]"),
        ("active={{ trigger.Active }}", "active=true"),
        ("tags: {{ trigger.Tags | join(', ') }}", "tags: vip, pune"),
        ("owner: {{ trigger.Owner | tojson }}", 'owner: {"Id":"u-1","Name":"Ravi"}'),
        ("{% if trigger.Active %}yes{% else %}no{% endif %}", "yes"),
        ("{% for t in trigger.Tags %}[{{ t | upper }}]{% endfor %}", "[VIP][PUNE]"),
        ("{{ trigger.Missing | default('n/a') }} x", "n/a x"),
        ("{{ trigger.FirstName.upper() }}!", "ASHA!"),
    ],
)
def test_mixed_text_renders_as_a_string(template: str, expected: str) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(
    "template",
    [
        "Tags: {{ trigger.Tags }}",
        "Owner: {{ trigger.Owner }}",
        "{{ trigger.Owner }} and more",
        "{{ trigger.Tags | string }}",
        "{{ [trigger.Owner] | join(',') }}",
    ],
)
def test_interpolating_an_object_or_list_into_text_is_an_error(template: str) -> None:
    with pytest.raises(MappingError, match=r"^welcome\.input\.subject: .*(object|list)"):
        render(template)


# ---------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    "template",
    [
        "{{ trigger.Missing }}",
        "Hello {{ trigger.Missing }}",
        "{{ trigger.Owner.Missing.Deeper }}",
        "{{ steps.not_run.output }}",
        "{{ trigger.Tags[5] }}",
    ],
)
def test_undefined_values_raise_with_the_location(template: str) -> None:
    with pytest.raises(MappingError, match=r"^welcome\.input\.subject: undefined value"):
        render(template)


def test_undefined_is_reported_at_the_nested_location() -> None:
    with pytest.raises(MappingError, match=r"^step\.input\.fields\.mx_City\[1\]: undefined"):
        render_mapping(
            {"fields": {"mx_City": ["ok", "{{ trigger.City }}"]}}, CONTEXT, location="step.input"
        )


def test_syntax_errors_are_mapping_errors() -> None:
    with pytest.raises(MappingError, match=r"template syntax error: .*line 1"):
        render("{{ trigger.FirstName ")


def test_lax_number_conversion_is_not_silent() -> None:
    with pytest.raises(MappingError, match="cannot convert 'Asha' to an integer"):
        render("{{ trigger.FirstName | int }}")
    assert render("{{ trigger.FirstName | int(0) }}") == 0


def test_a_method_is_not_a_value() -> None:
    with pytest.raises(MappingError, match="not JSON data"):
        render("{{ trigger.FirstName.upper }}")


def test_environment_is_minimal() -> None:
    assert ENV.globals == {}
    assert set(ENV.filters) == set(SAFE_FILTERS)
    for name in ("format", "attr", "map", "safe", "pprint", "xmlattr", "indent"):
        assert name not in ENV.filters


def test_output_size_is_limited() -> None:
    big = build_context({"Text": "x" * (MAX_OUTPUT_CHARS // 2 + 1)}, {})
    with pytest.raises(MappingError, match=r"^s\.input\.body: not allowed: output would exceed"):
        render_string("{{ trigger.Text }}{{ trigger.Text }}", big, location="s.input.body")
    with pytest.raises(MappingError, match="not allowed: concatenation would exceed"):
        render_string("{{ trigger.Text ~ trigger.Text }}", big, location="s.input.body")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # the value doubles with every level: bounded before it is built
        (
            "{% set a = 'x' * 999999 %}{% for b in [a ~ a] %}{{ b }}{% endfor %}",
            "concatenation would exceed",
        ),
        ("{{ ['x' * 999999, 'y'] | join(',') }}", "join would exceed"),
        ("{{ trigger.FirstName | replace('', 'x' * 999999) }}", "replace would exceed"),
        ("{{ ['x' * 999999] + ['y' * 9] }}", "concatenation would exceed"),
        ("{{ [['x' * 999999]] * 2 }}", "repetition would exceed"),
        ("{{ ['x' * 600000, 'x' * 600000] | tojson }}", "tojson would exceed"),
        (
            "{% for a in trigger.Tags * 200 %}{% for b in trigger.Tags * 200 %}"
            "{% endfor %}{% endfor %}",
            "more than 10000 loop iterations",
        ),
        ("{% for x in trigger.Tags recursive %}{{ loop(x) }}{% endfor %}", "recursive loops"),
        ("{% macro m(s) %}{{ m(s ~ s) }}{% endmacro %}{{ m('a') }}", "'macro' is not allowed"),
        ("{% set s %}{{ trigger.Tags }}{% endset %}", "'assignblock' is not allowed"),
    ],
    ids=[
        "nested-doubling",
        "join",
        "replace",
        "list-plus",
        "nested-repeat",
        "tojson",
        "loops",
        "recursive-loop",
        "macro",
        "block-set",
    ],
)
def test_resource_limits(template: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(MappingError, match=f"not allowed: {message}"):
        render(template)
    assert time.monotonic() - started < 2


# ---------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("trigger.Score > 10", True),
        ("{{ trigger.Score > 100 }}", False),
        ("trigger.Tags", True),
        ("trigger.Notes", False),
        ("'vip' in trigger.Tags and trigger.Active", True),
        ("steps.find.found", True),
        (True, True),
        (False, False),
    ],
)
def test_conditions(when: str | bool, expected: bool) -> None:
    assert evaluate_condition(when, CONTEXT, location="welcome.when") is expected


def test_a_condition_must_be_one_expression() -> None:
    with pytest.raises(MappingError, match=r"^welcome\.when: a condition must be one expression"):
        evaluate_condition("{{ trigger.Score }} > 10", CONTEXT, location="welcome.when")


def test_an_undefined_condition_is_an_error_not_false() -> None:
    with pytest.raises(MappingError, match=r"^welcome\.when: undefined value"):
        evaluate_condition("trigger.Missing == 'x'", CONTEXT, location="welcome.when")


# ---------------------------------------------------------------- references


def test_references_are_extracted_from_the_ast() -> None:
    parsed = parse_template(
        "{{ trigger.Owner.Name.upper() }} {{ steps.find.lead['Id'] }} "
        "{% for t in trigger.Tags %}{{ t }}{{ steps.find[t].x }}{% endfor %}{{ trigger.Tags[0] }}"
    )
    found = [(r.dotted(), r.in_text) for r in find_references(parsed)]
    assert found == [
        ("trigger.Owner.Name", False),
        ("steps.find.lead.Id", True),
        ("trigger.Tags", False),
        ("steps.find", False),
        ("trigger.Tags[0]", True),
    ]


# ---------------------------------------------------------------- SSTI corpus

PAYLOADS = [
    line
    for line in (Path(__file__).with_name("ssti_payloads.txt")).read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
LEAKS = (
    "<class",
    "subprocess",
    "__",
    "<built-in",
    "<function",
    "<bound",
    "<module",
    "popen",
    "Template",
    "Environment",
    "config",
    "os.",
    "object at 0x",
)


def test_corpus_is_large_enough() -> None:
    assert len(PAYLOADS) >= 30


@pytest.mark.parametrize("payload", PAYLOADS)
def test_ssti_payload_is_refused_or_harmless(payload: str) -> None:
    started = time.monotonic()
    for value in (payload, f"prefix {payload} suffix"):
        try:
            result = render_value(value, CONTEXT, location="attack.input.x")
        except MappingError as exc:
            assert str(exc).startswith("attack.input.x: ")
            continue
        text = repr(result)
        assert not any(leak in text for leak in LEAKS), text[:200]
        assert len(text) < 10_000
    assert time.monotonic() - started < 5
