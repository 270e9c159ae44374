"""Turn a resolved JSON Schema (no ``$ref`` left) into field-table rows for the reference docs.

One row per field, nested objects as dotted names (``owner.email``), array items as
``tags[]`` / ``items[].id``, free-form maps as ``fields.<name>``. ``allOf`` is merged into one
object; ``oneOf``/``anyOf`` of scalar types become one row ("string or null"); alternatives
that are object shapes merge their properties, each row saying in which option it is
required, and a note lists the options. Everything is rendered in schema order, so the same
schema always gives the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.plugin.schemas import json_type

MAX_DEPTH = 6  # nesting shown; deeper objects are one "object" row

#: Patterns used across the schemas, said in words (others are shown verbatim).
KNOWN_PATTERNS = {
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$":
        "GUID (8-4-4-4-12 hex digits)",
    "^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?$":
        "UTC `yyyy-MM-dd HH:mm:ss` (optional milliseconds)",
    "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$": "email address",
    "^\\s*[^@\\s]+@[^@\\s]+\\s*$": "email address",
    "\\S": "not blank",
    "\\d": "contains a digit",
}
FORMATS = {
    "date-time": "ISO 8601 date-time with a zone, e.g. `2024-05-01T10:00:00Z`",
    "date": "date `yyyy-MM-dd`",
    "email": "email address",
    "uri": "URL",
}
_LIMITS = (  # keyword, words before the number, noun after it (pluralised with "s")
    ("minLength", "at least", "character"), ("maxLength", "at most", "character"),
    ("minimum", "≥", ""), ("maximum", "≤", ""),
    ("exclusiveMinimum", ">", ""), ("exclusiveMaximum", "<", ""),
    ("minItems", "at least", "item"), ("maxItems", "at most", "item"),
    ("minProperties", "at least", "entry"), ("maxProperties", "at most", "entry"),
)
_COMBINATORS = ("oneOf", "anyOf")


@dataclass(frozen=True)
class FieldRow:
    """One table row: a field of an input, config or output schema."""

    name: str
    type: str
    required: str
    description: str
    allowed: str


@dataclass(frozen=True)
class FieldTable:
    """The rows of one schema plus notes that belong to no single row (root alternatives)."""

    rows: tuple[FieldRow, ...]
    notes: tuple[str, ...]


def field_table(schema: Any) -> FieldTable:
    """The rows of a resolved object schema (its properties; the root itself has no row)."""
    node = _effective(flatten(schema))
    rows: list[FieldRow] = []
    notes = _options_note(node)
    _object_rows(node, "", "yes", rows, 0)
    return FieldTable(tuple(rows), (notes,) if notes else ())


def flatten(schema: Any) -> dict[str, Any]:
    """``schema`` with ``allOf`` merged in: properties united, required united, first wins."""
    if not isinstance(schema, Mapping):
        return {}
    merged: dict[str, Any] = {}
    for part in (schema, *(flatten(sub) for sub in schema.get("allOf", ()))):
        for key, value in part.items():
            if key == "allOf":
                continue
            if key == "properties" and isinstance(value, Mapping):
                props = merged.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = flatten({"allOf": [props[name], sub]}) if name in props else sub
            elif key == "required" and isinstance(value, list):
                have = merged.setdefault("required", [])
                have.extend(name for name in value if name not in have)
            else:
                merged.setdefault(key, value)
    return merged


def type_text(schema: Any) -> str:
    """A schema's type in words: ``string``, ``string or null``, ``array of object``."""
    return _join_or(_types(flatten(schema)))


def allowed_text(schema: Any) -> str:
    """Constraints in words: enum values, const, default, format, pattern, limits, examples."""
    node = flatten(schema)
    pieces = _constraints(node)
    branches = _branches(node)
    if branches and not _is_shape(branches):
        alternatives = [text for text in ("; ".join(_constraints(b)) for b in branches) if text]
        if alternatives:
            pieces.append(" or ".join(alternatives))
    if "default" in node:
        pieces.append(f"default {_code(node['default'])}")
    example = (node.get("examples") or [None])[0]
    if example is not None and not isinstance(example, dict | list) and not (
        "enum" in node or "const" in node or node.get("default") == example
    ):
        pieces.append(f"e.g. {_code(example)}")
    return "; ".join(pieces)


def _object_rows(
    node: dict[str, Any], prefix: str, yes: str, rows: list[FieldRow], depth: int
) -> None:
    """Rows for an object's fields; ``yes`` is how "required" reads at this level."""
    node = _effective(node)
    properties = node.get("properties") or {}
    branches = [flatten(b) for b in _branches(node)]
    shapes = branches if _is_shape(branches) else []
    required = set(node.get("required") or ())
    for name, sub in properties.items():
        _field_rows(prefix + name, sub, _required(name, required, shapes, yes), rows, depth)
    shown = set(properties)
    for shape in shapes:
        for name, sub in (shape.get("properties") or {}).items():
            if name not in shown:
                shown.add(name)
                _field_rows(prefix + name, sub, _required(name, required, shapes, yes),
                            rows, depth)
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping) and extra:
        label = "<other field>" if shown else "<name>"
        names = node.get("propertyNames")
        row = _row(prefix + label, extra, "no")
        naming = _name_rule(names) if isinstance(names, Mapping) else ""
        allowed = "; ".join(part for part in (naming, row.allowed) if part)
        rows.append(FieldRow(row.name, row.type, row.required, row.description, allowed))


def _field_rows(
    name: str, schema: Any, required: str, rows: list[FieldRow], depth: int
) -> None:
    node = flatten(schema)
    row = _row(name, node, required)
    note = _options_note(node)
    if note:
        row = FieldRow(row.name, row.type, row.required,
                       _sentence(row.description, cell(note)), row.allowed)
    rows.append(row)
    if depth >= MAX_DEPTH:
        return
    if _has_fields(node):
        yes = "yes, when its parent is given" if required != "yes" else (
            "yes, when its parent is not null" if "null" in _types(node) else "yes"
        )
        _object_rows(node, f"{name}.", yes, rows, depth + 1)
    items = flatten(node.get("items")) if isinstance(node.get("items"), Mapping) else {}
    if _has_fields(items):
        _object_rows(items, f"{name}[].", "yes, in each item", rows, depth + 1)


def _row(name: str, node: dict[str, Any], required: str) -> FieldRow:
    description = node.get("description") or next(
        (b.get("description") for b in map(flatten, _branches(node)) if b.get("description")), ""
    )
    return FieldRow(name, type_text(node), required, cell(description), cell(allowed_text(node)))


def _required(name: str, required: set[str], shapes: Sequence[dict[str, Any]], yes: str) -> str:
    """``yes`` (as worded by the level) / ``no`` / ``in option 1, 2``."""
    options = [str(i) for i, shape in enumerate(shapes, 1) if name in (shape.get("required") or ())]
    if name in required or (options and len(options) == len(shapes)):
        return yes
    if options:
        return f"in option {', '.join(options)}"
    return "no"


def _options_note(node: dict[str, Any]) -> str:
    """"Give one of: (1) `a`; (2) `b` and `c`." for object-shape alternatives, else ``""``."""
    branches = [flatten(b) for b in _branches(_effective(node))]
    if not _is_shape(branches):
        return ""
    word = "exactly one" if "oneOf" in node else "at least one"
    options = []
    for index, shape in enumerate(branches, 1):
        names = list(shape.get("required") or shape.get("properties") or ())
        described = shape.get("description") or shape.get("title")
        fields = " and ".join(f"`{n}`" for n in names) or "no fields"
        options.append(f"({index}) {fields}" + (f": {described}" if described else ""))
    return f"Give {word} of these options: {'; '.join(options)}."


def _constraints(node: dict[str, Any]) -> list[str]:
    pieces = []
    if "const" in node:
        pieces.append(f"always {_code(node['const'])}")
    if isinstance(node.get("enum"), list):
        pieces.append("one of " + ", ".join(_code(value) for value in node["enum"]))
    fmt = node.get("format")
    if isinstance(fmt, str):
        pieces.append(FORMATS.get(fmt, f"format `{fmt}`"))
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        pieces.append(KNOWN_PATTERNS.get(pattern) or f"matches `{pattern}`")
    for keyword, words, noun in _LIMITS:
        if keyword in node:
            pieces.append(f"{words} {node[keyword]}{_noun(noun, node[keyword])}")
    if node.get("uniqueItems"):
        pieces.append("no duplicates")
    forbidden = node.get("not")
    if isinstance(forbidden, Mapping) and "const" in forbidden:
        pieces.append(f"not {_code(forbidden['const'])}")
    items = node.get("items")
    if isinstance(items, Mapping) and not _has_fields(flatten(items)):
        each = allowed_text(items)
        if each:
            pieces.append(f"each: {each}")
    return pieces


def _noun(noun: str, count: Any) -> str:
    if not noun or count == 1:
        return f" {noun}" if noun else ""
    return " entries" if noun == "entry" else f" {noun}s"


def _name_rule(names: Mapping[str, Any]) -> str:
    text = names.get("description") or "; ".join(_constraints(flatten(names)))
    return cell(f"names: {text}") if text else ""


def _types(node: dict[str, Any]) -> list[str]:
    if "const" in node:
        return [json_type(node["const"])]
    declared = node.get("type")
    if isinstance(declared, str):
        declared = [declared]
    if isinstance(declared, list):
        return [_with_items(t, node) for t in declared]
    if isinstance(node.get("enum"), list):
        return _unique(json_type(value) for value in node["enum"])
    branches = _branches(node)
    if branches:
        return _unique(t for b in branches for t in _types(flatten(b)))
    if _has_fields(node):
        return ["object"]
    if "items" in node:
        return [_with_items("array", node)]
    return ["any"]


def _with_items(kind: str, node: dict[str, Any]) -> str:
    items = node.get("items")
    if kind == "array" and isinstance(items, Mapping):
        return f"array of {type_text(items)}"
    return kind


def _effective(node: dict[str, Any]) -> dict[str, Any]:
    """A node whose alternatives hold ONE object shape (an object or null, say) merged with it.

    Several object shapes stay alternatives (see :func:`_options_note`).
    """
    branches = _branches(node)
    shapes = [b for b in branches if _is_shape([b])]
    if len(shapes) != 1:
        return node
    rest = {key: value for key, value in node.items() if key not in _COMBINATORS}
    return flatten({"allOf": [rest, shapes[0]]})


def _branches(node: Mapping[str, Any]) -> list[Any]:
    return [b for key in _COMBINATORS for b in node.get(key) or ()]


def _is_shape(branches: Sequence[Any]) -> bool:
    """Alternatives that are object shapes (properties or required), not scalar types."""
    flat = [flatten(b) for b in branches]
    return any("properties" in b or "required" in b for b in flat)


def _has_fields(node: Mapping[str, Any]) -> bool:
    extra = node.get("additionalProperties")
    return bool(node.get("properties")) or (isinstance(extra, Mapping) and bool(extra)) or (
        _is_shape(_branches(node))
    )


def _unique(values: Any) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _join_or(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return words[0] if words else "any"
    return f"{', '.join(words[:-1])} or {words[-1]}"


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{text}`"


def _sentence(first: str, second: str) -> str:
    return f"{first} {second}".strip()


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
