"""A plain attribute chain (``{{ steps.lead.lead.id }}``) is read straight from the dicts:
it must give exactly what the sandbox's compiled expression gives, and leave every other case
(a missing key, a value that is not a dict, a method name) to that expression."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.errors import MappingError
from runtime.workflows.templating import (
    _compiled_expression,
    build_context,
    parse_template,
    render_string,
)

CONTEXT = build_context(
    {"EmailAddress": "ada@example.com", "n": None, "list": [1, {"a": 2}], "items": "a key",
     "nested": {"deep": {"x": 1.5}}},
    {"lead": {"found": True, "lead": {"ProspectID": "p-1", "Tags": ["a"]}}},
)


@pytest.mark.parametrize(("source", "path"), [
    ("{{ trigger.EmailAddress }}", ("trigger", "EmailAddress")),
    ("{{steps.lead.lead.ProspectID}}", ("steps", "lead", "lead", "ProspectID")),
    ("{{ trigger }}", None),
    ("{{ trigger['EmailAddress'] }}", None),
    ("{{ trigger.EmailAddress | lower }}", None),
    ("Hi {{ trigger.EmailAddress }}", None),
])
def test_which_templates_take_the_path(source: str, path: tuple[str, ...] | None) -> None:
    assert parse_template(source).path == path


@pytest.mark.parametrize("source", [
    "{{ trigger.EmailAddress }}", "{{ trigger.n }}", "{{ trigger.list }}",
    "{{ trigger.items }}",  # a key named like a dict method: the key, as the sandbox gives it
    "{{ trigger.nested.deep.x }}", "{{ steps.lead.lead }}", "{{ steps.lead.found }}",
])
def test_the_path_gives_what_the_expression_gives(source: str) -> None:
    expression = parse_template(source).expression
    assert expression is not None
    expected: Any = _compiled_expression(expression)(**CONTEXT)
    assert render_string(source, CONTEXT, location="x") == expected


@pytest.mark.parametrize(("source", "message"), [
    ("{{ trigger.missing }}", "missing"),
    ("{{ steps.nope.id }}", "nope"),
    ("{{ trigger.EmailAddress.upper }}", "not JSON data"),  # a str method: not a dict key
    ("{{ trigger.list.append }}", "unsafe"),  # the sandbox refuses it, as before
])
def test_anything_else_is_the_expression_s_error(source: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        render_string(source, CONTEXT, location="x")
