"""Every JSON Schema under ``schemas/``, in one ``referencing.Registry``, with one validator each.

Each file's ``$id`` is ``BASE_URI`` + its path under ``schemas/``, for example
``https://leadsquared-connector.local/schemas/actions/create_lead.input.json``, so relative
refs such as ``"../common/lead.json"`` or ``"../common/ids.json#/$defs/lead_id"`` resolve in
memory, never from disk or network. Loading never raises: broken files become ``problems``
that the manifest checks report. Validation reports every error as
``"<json path>: <message>"``, sorted by path, with the fix where the keyword implies one.

Two validators, one verdict. ``jsonschema_rs`` (compiled, once per schema) answers "valid?"
in microseconds; only what it does not accept goes to ``jsonschema``, which decides and words
every error. So a wrong "invalid" from the fast one costs time, never a different answer.
Measured (bench/BENCHMARKS.md): ``jsonschema`` alone took about 0.3 ms per lead record and
1.3 ms per schema file checked against the meta-schema, most of the runtime's own time per
call and of ``lsq validate``; ``jsonschema_rs`` takes 2 us and 20 us. It judges values as the
JSON they are sent as: a tuple is an array (``jsonschema`` says "not of type 'array'"); values
JSON cannot hold (dates, bytes, non-string keys) go to ``jsonschema``.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError, best_match
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT202012

from runtime.errors import ManifestError
from runtime.inputs import MAX_MANIFEST_BYTES, UnreadableInput, read_text_input

if TYPE_CHECKING:  # the Resolver class is public only as a type
    from referencing._core import Resolver

BASE_URI = "https://leadsquared-connector.local/schemas/"

# Keywords whose values are data, not subschemas: never walked for $ref.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keywords that only annotate: a $ref with nothing else beside them can be merged flat.
_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "deprecated"})

#: The formats the 2020-12 meta-schema uses; the fast meta-check asserts each exactly as
#: ``check_schema`` does, through ``Draft202012Validator.FORMAT_CHECKER``.
META_FORMATS = ("regex", "uri", "uri-reference")


def _formats(checker: FormatChecker, names: Iterable[str]) -> dict[str, Any]:
    """``jsonschema_rs`` format functions that answer as ``checker`` does, per format name."""
    return {name: functools.partial(_conforms, checker, name) for name in names}


def _conforms(checker: FormatChecker, name: str, value: str) -> bool:
    return checker.conforms(value, name)


FORMAT_CHECKER = FormatChecker(formats=())
_REQUIRED = re.compile(r"^'(.*)' is a required property$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """RFC 3339 date-time with a zone (JSON Schema's ``date-time``)."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    """A full date, yyyy-MM-dd."""
    if not isinstance(value, str):
        return True
    date.fromisoformat(value)
    return len(value) == 10


# Every format FORMAT_CHECKER asserts, asserted by jsonschema_rs through the same functions. It
# asserts some others itself (email, ...): stricter, so such a value only takes the slow path.
_FAST_FORMATS = _formats(FORMAT_CHECKER, FORMAT_CHECKER.checkers)


_UNCOMPILED = object()  # SchemaStore._fast has no entry yet


def schema_id(relpath: str) -> str:
    """The ``$id`` a schema file at ``schemas/<relpath>`` must carry."""
    return BASE_URI + relpath


class SchemaStore:
    """The schemas of one connector root: registry, validators, problems, ``resolve``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[str] = []
        self._schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        self._resolved: dict[str, dict[str, Any]] = {}
        self._fast: dict[str, jsonschema_rs.Validator | None] = {}
        for path in sorted(directory.rglob("*.json")):
            relpath = path.relative_to(directory).as_posix()
            schema = self._load(path, relpath)
            if schema is not None:
                self._schemas[relpath] = schema
        self.registry: Registry = Registry().with_resources(
            (schema_id(rel), DRAFT202012.create_resource(schema))
            for rel, schema in self._schemas.items()
        ).crawl()

    def _load(self, path: Path, relpath: str) -> dict[str, Any] | None:
        where = f"schemas/{relpath}"
        try:
            schema = json.loads(read_text_input(path, limit=MAX_MANIFEST_BYTES, what=where))
        except UnreadableInput as problem:
            self.problems.append(f"{where}: cannot be read: {problem.reason}")
            return None
        except json.JSONDecodeError as problem:
            self.problems.append(f"{where}: not valid JSON: {problem}")
            return None
        except RecursionError:
            self.problems.append(f"{where}: nested too deeply")
            return None
        if not isinstance(schema, dict):
            self.problems.append(f"{where}: a schema file must hold a JSON object")
            return None
        if schema.get("$id") != schema_id(relpath):
            self.problems.append(
                f"{where}: $id must be {schema_id(relpath)!r} (found {schema.get('$id')!r})"
            )
        try:
            if not _meta_accepts(schema):  # the fast check accepts most files; else in full
                Draft202012Validator.check_schema(schema)
        except SchemaError as problem:
            pointer = "/".join(str(part) for part in problem.path)
            self.problems.append(f"{where}#/{pointer}: {problem.message}")
            return None
        return schema

    def has(self, relpath: str) -> bool:
        """Whether ``schemas/<relpath>`` exists and passed ``check_schema``."""
        return relpath in self._schemas

    def paths(self) -> list[str]:
        """Every loaded schema's path under ``schemas/``, sorted."""
        return sorted(self._schemas)

    def get(self, relpath: str) -> dict[str, Any]:
        """The schema at ``schemas/<relpath>`` as written (refs not inlined)."""
        try:
            return self._schemas[relpath]
        except KeyError:
            raise ManifestError(f"schemas/{relpath}: missing or invalid") from None

    def validator(self, relpath: str) -> Draft202012Validator:
        """The one validator of ``schemas/<relpath>`` (refs via the registry, formats checked)."""
        if relpath not in self._validators:
            self._validators[relpath] = Draft202012Validator(
                self.get(relpath), registry=self.registry, format_checker=FORMAT_CHECKER
            )
        return self._validators[relpath]

    def is_valid(self, relpath: str, instance: Any) -> bool:
        """Whether ``instance`` fits ``schemas/<relpath>``."""
        return self._fast_accepts(relpath, instance) or self.validator(relpath).is_valid(instance)

    def errors(self, relpath: str, instance: Any) -> list[str]:
        """Every way ``instance`` fails ``schemas/<relpath>``, as ``"<json path>: <message>"``."""
        # _fast_accepts inlined for an already compiled validator: two calls fewer, 0.3 us of
        # the 1.3 us an action's input check takes (measured; this runs twice per action)
        fast = self._fast.get(relpath, _UNCOMPILED)
        if fast is not None and fast is not _UNCOMPILED:
            try:
                if fast.is_valid(instance):
                    return []
            except ValueError:  # not JSON: jsonschema decides
                pass
        elif fast is _UNCOMPILED and self._fast_accepts(relpath, instance):
            return []
        found = sorted(self.validator(relpath).iter_errors(instance), key=_by_path)
        return [describe(error) for error in found]

    def _fast_accepts(self, relpath: str, instance: Any) -> bool:
        fast = self._fast_validator(relpath)
        try:
            return fast is not None and fast.is_valid(instance)
        except ValueError:  # not JSON (a date, bytes, a non-string key): jsonschema decides
            return False

    def _fast_validator(self, relpath: str) -> jsonschema_rs.Validator | None:
        """``schemas/<relpath>`` compiled by ``jsonschema_rs``; None if it cannot compile it.

        Its ``$ref``s are served from :attr:`registry` (never fetched); a ``$ref`` that does
        not resolve there, or a pattern its regex engine rejects, leaves ``jsonschema`` alone.
        """
        if relpath not in self._fast:
            try:
                self._fast[relpath] = jsonschema_rs.Draft202012Validator(
                    self.get(relpath), retriever=self._retrieve,
                    formats=_FAST_FORMATS, validate_formats=True,
                )
            except (ValueError, jsonschema_rs.ReferencingError):
                self._fast[relpath] = None
        return self._fast[relpath]

    def _retrieve(self, uri: str) -> Any:
        """A ``$ref`` target for ``jsonschema_rs``: from the registry, or a LookupError."""
        try:
            return self.registry.contents(uri)
        except NoSuchResource:
            raise LookupError(f"{uri}: no schema under schemas/ has this $id") from None

    def ref_problems(self) -> list[str]:
        """Every ``$ref`` in every schema that does not resolve in the registry."""
        problems = []
        for relpath, schema in self._schemas.items():
            resolver = self.registry.resolver(base_uri=schema_id(relpath))
            for pointer, ref, where in _refs(schema, resolver, ""):
                try:
                    where.lookup(ref)
                except Unresolvable:
                    problems.append(f"schemas/{relpath}#{pointer}: $ref {ref!r} does not resolve")
        return problems

    def resolve(self, schema: Mapping[str, Any] | str) -> dict[str, Any]:
        """``schema`` (or ``schemas/<relpath>``) with every ``$ref`` inlined, for walking.

        A ``$ref`` with only annotations beside it becomes the target with those annotations;
        with other keywords beside it, ``{"allOf": [target], ...}``. ``$id``, ``$schema`` and
        ``$defs`` are dropped from the result. Raises ManifestError on a recursive or
        unresolvable ``$ref``.
        """
        registry = self.registry
        if isinstance(schema, str):  # a stored schema: inlined once, then shared (read-only)
            if schema not in self._resolved:
                self._resolved[schema] = _inline(
                    self.get(schema), registry.resolver(base_uri=schema_id(schema)), ()
                )
            return self._resolved[schema]
        # a schema from elsewhere: its own "#/..." refs must resolve too
        base = str(schema.get("$id", BASE_URI))
        registry = registry.with_resource(base, DRAFT202012.create_resource(schema))
        return _inline(schema, registry.resolver(base_uri=base), ())


@functools.cache
def _meta_validator() -> jsonschema_rs.Validator:
    """The 2020-12 meta-schema compiled by ``jsonschema_rs`` (shipped with it, never fetched)."""
    return jsonschema_rs.Draft202012Validator(
        Draft202012Validator.META_SCHEMA, validate_formats=True, offline=True,
        formats=_formats(Draft202012Validator.FORMAT_CHECKER, META_FORMATS),
    )


def _meta_accepts(schema: Any) -> bool:
    """True only when ``Draft202012Validator.check_schema(schema)`` would pass."""
    try:
        return _meta_validator().is_valid(schema)
    except ValueError:  # text JSON cannot encode (a lone surrogate): check_schema decides
        return False


def json_type(value: Any) -> str:
    """The JSON Schema type name of a Python value (``bool`` is boolean, not integer)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def describe(error: ValidationError) -> str:
    """One validation error as ``"<json path>: <message>"``, plus the fix when one is known."""
    return f"{error.json_path}: {explain(error)}"


def explain(error: ValidationError) -> str:
    """The error's message with the fix; a documented pattern is explained, not quoted."""
    help_text = error.schema.get("description") if isinstance(error.schema, Mapping) else None
    if error.validator == "pattern" and help_text:
        return f"{error.instance!r} does not match the rule: {help_text}"
    fix = _FIXES.get(str(error.validator), _no_fix)(error)
    return error.message + (f" ({fix})" if fix else "")


def _by_path(error: ValidationError) -> tuple[str, str]:
    return error.json_path, explain(error)


def _no_fix(error: ValidationError) -> str:
    return ""


def _fix_required(error: ValidationError) -> str:
    # jsonschema names the one missing property only in the message: "'x' is a required property"
    missing = _REQUIRED.match(error.message)
    field = missing.group(1) if missing else ""
    help_text = (error.schema.get("properties", {}).get(field) or {}).get("description")
    return f"{field}: {help_text}" if help_text else ""


def _fix_unexpected(error: ValidationError) -> str:
    allowed = sorted(error.schema.get("properties", {}))
    if not isinstance(error.instance, Mapping) or not allowed:
        return "remove it"
    extra = [name for name in error.instance if name not in allowed]
    close = difflib.get_close_matches(extra[0], allowed, n=1) if extra else []
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"{guess}allowed: {', '.join(allowed)}"


def _fix_from_description(error: ValidationError) -> str:
    help_text = error.schema.get("description")
    return f"expected {help_text[0].lower()}{help_text[1:]}" if help_text else ""


def _fix_from_alternatives(error: ValidationError) -> str:
    """Name the alternatives: by their titles, else the rule's description, else the closest."""
    branches = error.schema.get(str(error.validator)) if isinstance(error.schema, Mapping) else None
    titles = [b.get("title") for b in branches or () if isinstance(b, Mapping)]
    if titles and all(titles):
        return f"give exactly one of: {'; '.join(titles)}"
    if isinstance(error.schema, Mapping) and error.schema.get("description"):
        return _fix_from_description(error)
    closest = best_match(error.context) if error.context else None
    return f"closest: {closest.message}" if closest is not None else _fix_from_description(error)


_FIXES = {
    "required": _fix_required,
    "additionalProperties": _fix_unexpected,
    "unevaluatedProperties": _fix_unexpected,
    "format": _fix_from_description,
    "anyOf": _fix_from_alternatives,
    "oneOf": _fix_from_alternatives,
}


def _refs(node: Any, resolver: Resolver, pointer: str) -> Iterator[tuple[str, str, Resolver]]:
    """(JSON pointer, $ref, resolver at that point) for every $ref under ``node``."""
    if isinstance(node, Mapping):
        if "$id" in node:
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        if isinstance(node.get("$ref"), str):
            yield pointer or "/", node["$ref"], resolver
        for key, value in node.items():
            if key not in _DATA_KEYWORDS and not key.startswith("x-"):
                yield from _refs(value, resolver, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _refs(value, resolver, f"{pointer}/{index}")


def _inline(node: Any, resolver: Resolver, stack: tuple[int, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, resolver, stack) for item in node]
    if not isinstance(node, Mapping):
        return node
    if "$id" in node:
        resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in {"$id", "$schema", "$defs", "$ref"}:
            continue
        result[key] = copy.deepcopy(value) if key in _DATA_KEYWORDS else _inline(
            value, resolver, stack
        )
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return result
    try:
        resolved = resolver.lookup(ref)
    except Unresolvable:
        raise ManifestError(f"$ref {ref!r} does not resolve") from None
    if id(resolved.contents) in stack:
        raise ManifestError(f"$ref {ref!r} is recursive and cannot be inlined")
    target = _inline(resolved.contents, resolved.resolver, (*stack, id(resolved.contents)))
    if not result:
        return target
    if set(result) <= _ANNOTATIONS and isinstance(target, dict):
        return {**target, **result}
    return {**result, "allOf": [target, *result.get("allOf", [])]}
