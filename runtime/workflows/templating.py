"""Mapping templates: ONE sandboxed Jinja2 environment with explicit rules.

Workflow step inputs (and ``when`` conditions) are Jinja2 templates evaluated against a context
of two names only: ``trigger`` (the event that started the run) and ``steps`` (``steps.<id>`` is
the output of an earlier step).

Rules:

* A value that is exactly one ``{{ expression }}`` (surrounding whitespace ignored) keeps its
  native type: ``{{ trigger.Tags }}`` stays a list, ``{{ trigger.Phone }}`` with
  ``"+919876543210"`` stays that string. It is evaluated with
  ``env.compile_expression(expr, undefined_to_none=False)``; nothing is guessed from text.
* Any other string renders as text. Interpolating an object or a list into text raises
  :class:`MappingError` (use ``| tojson`` or ``| join``). In text ``null`` renders as ``""`` and
  booleans as ``true`` / ``false``.
* Numbers, booleans and ``null`` pass through; dicts and lists are rendered recursively.
* An undefined value raises :class:`MappingError` naming the location (``StrictUndefined``);
  nothing is ever rendered silently blank.
* Only ``trigger`` and ``steps`` (plus names the template binds itself: ``{% set x = ... %}``,
  ``{% for %}`` targets, ``loop``) may be used. There are no globals (no ``range``, ``dict``,
  ``lipsum``, ``cycler``, ``joiner``, ``namespace``). ``self``, ``include``, ``import``,
  ``extends``, ``macro``, ``call``, block ``set`` and ``filter`` blocks and recursive loops are
  refused. Statements ``if``, ``for``, ``set`` and ``with`` remain.
* Attribute access on data: ``x.name`` on an object always means the key ``name`` (so a field
  called ``items`` is the field, not ``dict.items``). Besides keys, only the methods in
  :data:`SAFE_METHODS` may be used; internals (``__class__``, ``mro``, ``format`` ...) are
  refused by the sandbox.
* Resources are bounded, per value rendered: every string or list a template builds (``*``,
  ``+``, ``~``, ``join``, ``replace``, ``tojson``, slices, method results) and the rendered
  output stay under :data:`MAX_OUTPUT_CHARS`, and all of them together under
  :data:`MAX_RENDER_WORK`; every integer arithmetic builds stays under :data:`MAX_INT_BITS`;
  ``{% for %}`` loops run at most :data:`MAX_LOOP_ITERATIONS` times; rendering stops after
  :data:`MAX_RENDER_SECONDS`; ``%`` string formatting is refused. A template nested deeper
  than :data:`MAX_TEMPLATE_DEPTH` levels or with more than :data:`MAX_TEMPLATE_TOKENS` tokens
  in its tags is refused when parsed, and so is one whose constant expressions break a bound
  (``{{ 9 ** 99999 }}``): ``lsq validate`` reports both
  (:mod:`runtime.workflows.template_bounds`).
* A string is a template when it contains ``{{`` or ``{%``; other strings are used as written.

Filters (everything else is unknown and a template using it does not compile):

==============  ==========================================================================
``default(v)``  ``v`` when the value is undefined (``d`` is an alias); ``default(v, true)``
                also replaces empty / null values
``lower``       lower case            ``upper``   upper case
``title``       Title Case            ``capitalize``  first letter upper case
``trim``        strip whitespace      ``truncate(n)``  shorten text to ``n`` characters
``replace(a, b)``  replace text       ``join(sep)``  join a list of scalars into text
``length``      length of text, list or object (``count`` is an alias)
``first``       first item            ``last``  last item
``int``         strict integer conversion (``int(default)`` on failure, else an error)
``float``       strict number conversion (``float(default)`` on failure, else an error)
``round(n)``    round a number        ``string``  scalar to text (objects are refused)
``tojson``      compact JSON text (no HTML escaping)
==============  ==========================================================================
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError, Undefined, nodes
from jinja2 import filters as jinja_filters
from jinja2.compiler import CodeGenerator, Frame
from jinja2.meta import find_undeclared_variables
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from runtime.errors import MappingError
from runtime.workflows.template_bounds import (
    check_constants,
    check_depth,
    check_tokens,
    too_deep,
)

CONTEXT_NAMES: Final = frozenset({"trigger", "steps"})
"""The only free names a mapping template may use."""

MAX_OUTPUT_CHARS: Final = 1_000_000
"""Upper bound on rendered text and on any string or list a template builds."""

MAX_LOOP_ITERATIONS: Final = 10_000
"""Upper bound on ``{% for %}`` iterations while rendering one value."""

MAX_INT_BITS: Final = 4096
"""Upper bound on the size of an integer built by arithmetic (about 1,233 decimal digits)."""

MAX_RENDER_WORK: Final = 10 * MAX_OUTPUT_CHARS
"""Upper bound on the characters and items built in total while rendering one value."""

MAX_RENDER_SECONDS: Final = 2.0
"""Upper bound on the time spent rendering one value (a backstop: the bounds above come first)."""

MAX_TEMPLATE_DEPTH: Final = 32
"""Upper bound on the nesting of brackets and blocks, and of a template's syntax tree."""

MAX_TEMPLATE_TOKENS: Final = 10_000
"""Upper bound on the tokens inside one template's tags (the text between tags is free)."""

SAFE_METHODS: Final[Mapping[type, frozenset[str]]] = {
    str: frozenset(
        {"lower", "upper", "strip", "lstrip", "rstrip", "split", "startswith", "endswith"}
        | {"title", "capitalize", "isdigit"}
    ),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"index", "count"}),
}
"""Methods of plain data that templates may call; every other attribute is refused."""

_NATIVE_RE: Final = re.compile(r"^\{\{[-+]?(?P<expr>.*?)[-+]?\}\}$", re.DOTALL)
_FORBIDDEN_NODES: Final = (
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    nodes.Macro,
    nodes.CallBlock,
    nodes.AssignBlock,
    nodes.FilterBlock,
)
_JSON_SCALARS: Final = (str, int, float, bool, type(None))
_ARITHMETIC: Final = frozenset({"*", "**", "%", "+", "-", "//", "/"})


class _Budget:
    """What is left for rendering one value: loop iterations, work, time."""

    __slots__ = ("deadline", "iterations", "work")

    def __init__(self) -> None:
        self.iterations = MAX_LOOP_ITERATIONS
        self.work = MAX_RENDER_WORK
        self.deadline = time.monotonic() + MAX_RENDER_SECONDS

    def charge(self, size: int) -> None:
        """Count ``size`` characters or items built; refuse past the work or time bound."""
        self.work -= size
        if self.work < 0:
            raise SecurityError(f"the template built more than {MAX_RENDER_WORK} characters")
        if time.monotonic() > self.deadline:
            raise SecurityError(f"rendering took longer than {MAX_RENDER_SECONDS:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("render_budget", default=None)


def _budget() -> _Budget:
    """The budget of the value being rendered (a fresh one outside :func:`render_string`)."""
    return _BUDGET.get() or _Budget()


@contextmanager
def render_budget() -> Iterator[_Budget]:
    """A fresh budget for one value: everything rendered inside shares it."""
    budget = _Budget()
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


class _TextInterpolationError(Exception):
    """A value that cannot be written into text (raised from finalize and filters)."""


class _BoundedCodeGenerator(CodeGenerator):
    """Routes ``~``, ``{% for %}``, comparisons and slices through the environment, so that
    each is bounded or at least counted against the time budget."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        self.write("environment.charged(")
        super().visit_Compare(node, frame)
        self.write(")")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):  # other subscripts use environment.getitem
            super().visit_Getitem(node, frame)
            return
        self.write("environment.charged(")
        super().visit_Getitem(node, frame)
        self.write(")")

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        budget = nodes.EnvironmentAttribute("loop_budget", lineno=node.lineno)
        guarded = nodes.Call(budget, [node.iter], [], None, None, lineno=node.lineno)
        fields = (node.target, guarded, node.body, node.else_, node.test, node.recursive)
        super().visit_For(nodes.For(*fields, lineno=node.lineno), frame)


class _MappingEnvironment(SandboxedEnvironment):
    """The sandbox, tightened for JSON data: keys before attributes, bounded operators."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = _ARITHMETIC

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, (str, int, float, list, tuple, dict)):
            if isinstance(obj, Mapping) and attribute in obj:
                return obj[attribute]
            allowed = next((m for t, m in SAFE_METHODS.items() if isinstance(obj, t)), frozenset())
            if attribute in allowed:
                return getattr(obj, attribute)
            if hasattr(obj, attribute):
                return self.unsafe_undefined(obj, attribute)
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, (str, int, float, list, tuple, dict)):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                if isinstance(argument, str):
                    return self.getattr(obj, argument)
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        size = 0
        if operator_ == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int):
                    size = _size(sequence) * max(times, 0)
                    _check_size(size, "repetition")
        elif operator_ == "+" and isinstance(left, (str, list, tuple)):
            size = _size(left) + _size(right)
            _check_size(size, "concatenation")
        elif operator_ == "**":
            _check_power(left, right)
        elif operator_ == "%" and isinstance(left, str):
            raise SecurityError("'%' string formatting is not allowed; use '~' or filters")
        _check_int_operands(operator_, left, right)
        _budget().charge(size)
        return _check_int_result(self.binop_table[operator_](left, right))

    @staticmethod
    def charged(value: Any) -> Any:
        """``value``, counted against the budget (compiled around comparisons and slices)."""
        return _charged(value)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """A method call (``text.split(',')``): its result counts against the budget."""
        return _charged(super().call(__context, __obj, *args, **kwargs))

    def bounded_concat(self, parts: tuple[Any, ...]) -> str:
        """``a ~ b``: scalars only (like text output), bounded in size."""
        texts = [str(_finalize(part)) for part in parts]
        _check_size(sum(map(len, texts)), "concatenation")
        return _charged("".join(texts))

    def loop_budget(self, iterable: Any) -> Iterator[Any]:
        """Count ``{% for %}`` iterations against the budget of the value being rendered."""
        budget = _budget()
        for item in iterable:
            budget.iterations -= 1
            if budget.iterations < 0:
                raise SecurityError(f"more than {MAX_LOOP_ITERATIONS} loop iterations")
            budget.charge(1)
            yield item


def _size(value: Any, limit: int = MAX_OUTPUT_CHARS) -> int:
    """Characters of text plus items of containers, counted up to just past ``limit``."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, Mapping):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            total += 1
            stack.extend(item)
        else:
            total += 1
    return total


def _check_size(size: int, what: str) -> None:
    if size > MAX_OUTPUT_CHARS:
        raise SecurityError(f"{what} would exceed {MAX_OUTPUT_CHARS} characters")


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1:
        if exponent > 0 and exponent * math.log2(abs(base)) > MAX_INT_BITS + 1:
            raise SecurityError(f"power would exceed {MAX_INT_BITS} bits")
    elif isinstance(exponent, (int, float)) and abs(exponent) > MAX_INT_BITS:
        raise SecurityError(f"exponent larger than {MAX_INT_BITS}")


def _check_int_operands(operator_: str, left: Any, right: Any) -> None:
    """Refuse integer arithmetic on more than MAX_INT_BITS bits, or that would build more
    than one bit beyond it (the result is checked exactly: :func:`_check_int_result`)."""
    if not (isinstance(left, int) and isinstance(right, int)):
        return
    bits = max(abs(left).bit_length(), abs(right).bit_length())
    if operator_ == "*":
        bits = abs(left).bit_length() + abs(right).bit_length() - 1
    if bits > MAX_INT_BITS:
        raise SecurityError(f"integer larger than {MAX_INT_BITS} bits")


def _check_int_result(value: Any) -> Any:
    if isinstance(value, int) and abs(value).bit_length() > MAX_INT_BITS:
        raise SecurityError(f"integer larger than {MAX_INT_BITS} bits")
    return value


def _charged(value: Any) -> Any:
    """Count a built string or container (its length) against the budget; check the time."""
    _budget().charge(len(value) if isinstance(value, (str, list, tuple, dict)) else 0)
    return value


def _charging(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter whose result counts against the budget (Jinja's pass-arg marks kept)."""

    @functools.wraps(function)
    def charged_filter(*args: Any, **kwargs: Any) -> Any:
        return _charged(function(*args, **kwargs))

    return charged_filter


def _finalize(value: Any) -> Any:
    """How a value is written into text: scalars only."""
    if isinstance(value, Undefined):
        return value  # StrictUndefined raises when converted to text
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return value
    raise _TextInterpolationError(
        f"cannot interpolate {_describe(value)} into text (use '| tojson' or '| join')"
    )


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__} value"


def _filter_join(value: Any, separator: str = "") -> str:
    if not isinstance(value, (list, tuple)):
        raise _TextInterpolationError(f"join needs a list, got {_describe(value)}")
    texts = [str(_finalize(item)) for item in value]
    _check_size(sum(map(len, texts)) + len(str(separator)) * len(texts), "join")
    return _charged(str(separator).join(texts))


def _filter_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text, old, new = str(_finalize(value)), str(old), str(new)
    occurrences = text.count(old) if count is None else min(text.count(old), max(count, 0))
    _check_size(len(text) + occurrences * (len(new) - len(old)), "replace")
    return _charged(text.replace(old, new, -1 if count is None else count))


def _filter_string(value: Any) -> str:
    return str(_finalize(value))


def _filter_tojson(value: Any) -> str:
    _check_size(_size(value), "tojson")
    try:
        return _charged(
            json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        )
    except (TypeError, ValueError, RecursionError) as exc:
        raise _TextInterpolationError(f"tojson: {exc}") from None


def _strict_number(convert: Callable[[Any], Any], kind: str) -> Callable[..., Any]:
    missing = object()

    def number_filter(value: Any, default: Any = missing) -> Any:
        try:
            if isinstance(value, bool):
                raise TypeError("booleans are not numbers")
            result = convert(value.strip() if isinstance(value, str) else value)
            if isinstance(result, float) and not math.isfinite(result):
                raise ValueError("not finite")
            return result
        except (TypeError, ValueError, OverflowError):
            if default is not missing:
                return default
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
            raise _TextInterpolationError(f"cannot convert {shown} to {kind}") from None

    return number_filter


def _to_int(value: Any) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("not a whole number")
        value = int(value)
    number = int(value)
    if abs(number).bit_length() > MAX_INT_BITS:
        raise SecurityError(f"integer larger than {MAX_INT_BITS} bits")
    return number


SAFE_FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    "default": jinja_filters.do_default,
    "d": jinja_filters.do_default,
    "lower": jinja_filters.do_lower,
    "upper": jinja_filters.do_upper,
    "title": jinja_filters.do_title,
    "capitalize": jinja_filters.do_capitalize,
    "trim": jinja_filters.do_trim,
    "truncate": jinja_filters.do_truncate,
    "replace": _filter_replace,
    "join": _filter_join,
    "length": len,
    "count": len,
    "first": jinja_filters.do_first,
    "last": jinja_filters.do_last,
    "int": _strict_number(_to_int, "an integer"),
    "float": _strict_number(float, "a number"),
    "round": jinja_filters.do_round,
    "string": _filter_string,
    "tojson": _filter_tojson,
}
"""The filters a mapping template may use (see the module docstring)."""


def _build_environment() -> _MappingEnvironment:
    env = _MappingEnvironment(
        undefined=StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
    )
    env.globals.clear()
    env.filters.clear()
    env.filters.update({name: _charging(function) for name, function in SAFE_FILTERS.items()})
    return env


ENV: Final = _build_environment()
"""The one template environment of the connector."""


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ParsedTemplate:
    """A template that parsed, compiled and passed the sandbox's static rules."""

    source: str
    ast: nodes.Template
    """A pristine parse for static analysis (compiling would optimize it in place)."""
    template: Template
    native_node: nodes.Expr | None
    """The expression node when the whole value is one ``{{ expression }}`` (native type)."""
    expression: str | None
    """The source of that expression."""
    path: tuple[str, ...] | None = None
    """That expression when it is a plain attribute chain over the context (``trigger.Email``,
    ``steps.lead.lead.ProspectID``): the root name then the keys (see :func:`render_string`)."""


def is_template(value: Any) -> bool:
    """Whether a mapping value is a string that contains Jinja syntax."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@functools.lru_cache(maxsize=2048)
def parse_template(source: str) -> ParsedTemplate:
    """Parse and compile ``source``; raise :class:`jinja2.TemplateError` or :class:`SecurityError`.

    Syntax errors, unknown filters, forbidden names and forbidden tags are all found here,
    before any data is seen.
    """
    check_tokens(ENV.lex(source), MAX_TEMPLATE_DEPTH, MAX_TEMPLATE_TOKENS)
    try:
        ast = ENV.parse(source)
    except RecursionError:  # e.g. thousands of '-' or 'not': the parser gave up
        raise SecurityError(too_deep(MAX_TEMPLATE_DEPTH)) from None
    check_depth(ast, MAX_TEMPLATE_DEPTH)
    for node in ast.find_all(_FORBIDDEN_NODES):
        raise SecurityError(f"'{type(node).__name__.lower()}' is not allowed in mappings")
    if any(loop.recursive for loop in ast.find_all(nodes.For)):
        raise SecurityError("recursive loops are not allowed in mappings")
    names = set(find_undeclared_variables(ast))
    names.update(n.name for n in ast.find_all(nodes.Name) if n.name == "self" and n.ctx == "load")
    for name in sorted(names - CONTEXT_NAMES - {"loop"}):
        raise SecurityError(f"unknown name '{name}' (a mapping can use: trigger, steps)")
    with render_budget():
        check_constants(ast, ENV)  # bombs such as {{ 9 ** 99999 }}, before any data is seen
    try:
        template = ENV.from_string(source)  # unknown filters / tests fail here
    except (RecursionError, SyntaxError) as exc:  # Python's limits, e.g. 20 nested loops
        reason = getattr(exc, "msg", None) or "recursion limit"
        raise SecurityError(f"the template nests too deeply to compile ({reason})") from None
    native = _native_expression(source.strip())
    return ParsedTemplate(
        source, ast, template, native[1] if native else None, native[0] if native else None,
        _attribute_path(native[1]) if native else None,
    )


def _attribute_path(node: nodes.Expr) -> tuple[str, ...] | None:
    """``('steps', 'lead', 'id')`` for ``steps.lead.id``; None for any other expression."""
    keys: list[str] = []
    while isinstance(node, nodes.Getattr) and node.ctx == "load":
        keys.append(node.attr)
        node = node.node
    if not keys or not isinstance(node, nodes.Name) or node.name not in CONTEXT_NAMES:
        return None
    return (node.name, *reversed(keys))


def template_problems(value: Any, *, location: str) -> list[str]:
    """``location: message`` for every template in ``value`` (recursively) that does not compile.

    For checks that only need "do these templates parse" (the manifest's stage-2 checks);
    workflow files get the full reference and type checks of
    :mod:`runtime.workflows.workflow_checks`.
    """
    if isinstance(value, Mapping):
        return [
            problem
            for key, item in value.items()
            for problem in template_problems(item, location=f"{location}.{key}")
        ]
    if isinstance(value, (list, tuple)):
        return [
            problem
            for index, item in enumerate(value)
            for problem in template_problems(item, location=f"{location}[{index}]")
        ]
    if not is_template(value):
        return []
    try:
        parse_template(value)
    except (TemplateError, SecurityError) as exc:
        return [f"{location}: {describe_template_error(exc)}"]
    return []


def _native_expression(stripped: str) -> tuple[str, nodes.Expr] | None:
    match = _NATIVE_RE.match(stripped)
    if match is None:
        return None
    body = ENV.parse(stripped).body
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    node = body[0].nodes[0]
    if isinstance(node, nodes.TemplateData):
        return None
    return match.group("expr"), node


def condition_source(when: str | bool) -> str:
    """A ``when`` value as a template: a bare expression is wrapped in ``{{ }}``."""
    if isinstance(when, bool):
        return "{{ true }}" if when else "{{ false }}"
    return when if is_template(when) else "{{ " + when + " }}"


@functools.lru_cache(maxsize=2048)
def _compiled_expression(expression: str) -> Callable[..., Any]:
    return ENV.compile_expression(expression, undefined_to_none=False)


# ---------------------------------------------------------------- references


@dataclass(frozen=True)
class Reference:
    """A use of the context in a template: ``trigger.Lead.Email`` -> root 'trigger', path."""

    root: str
    path: tuple[str | int, ...]
    """Static keys after the root; stops at the first dynamic subscript or method call."""
    in_text: bool
    """The value itself is written into text (``{{ ref }}`` among other text)."""

    def dotted(self) -> str:
        return self.root + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)


def find_references(parsed: ParsedTemplate) -> list[Reference]:
    """Every ``trigger...`` / ``steps...`` chain in the template, outermost chains only."""
    found: list[Reference] = []
    for node in parsed.ast.body:
        _walk(node, found, in_text=False)
    return found


def _walk(node: nodes.Node, found: list[Reference], *, in_text: bool) -> None:
    if isinstance(node, nodes.Output):
        for child in node.nodes:
            _walk(child, found, in_text=not isinstance(child, nodes.TemplateData))
        return
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        # obj.method(...): the method name is not a field
        _walk(node.node.node, found, in_text=False)
        for child in (*node.args, *node.kwargs, node.dyn_args, node.dyn_kwargs):
            if child is not None:
                _walk(child, found, in_text=False)
        return
    chain = _chain(node)
    if chain is not None:
        root, path, dynamic = chain
        if root in CONTEXT_NAMES:
            found.append(Reference(root, tuple(path), in_text and not dynamic))
        for arg in dynamic:
            _walk(arg, found, in_text=False)
        return
    for child in node.iter_child_nodes():
        _walk(child, found, in_text=False)


def reference_of(node: nodes.Node) -> Reference | None:
    """The context reference an expression node is, when it is a plain ``trigger.x`` chain."""
    chain = _chain(node)
    if chain is None or chain[0] not in CONTEXT_NAMES or chain[2]:
        return None
    return Reference(chain[0], tuple(chain[1]), in_text=False)


def _chain(node: nodes.Node) -> tuple[str, list[str | int], list[nodes.Node]] | None:
    """Unwind ``Name.a[0]['b']``; dynamic subscripts cut the static path."""
    steps: list[str | int | None] = []
    dynamic: list[nodes.Node] = []
    current = node
    while isinstance(current, (nodes.Getattr, nodes.Getitem)):
        if isinstance(current, nodes.Getattr):
            steps.append(current.attr)
        elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, (str, int)):
            steps.append(current.arg.value)
        else:
            steps.append(None)
            dynamic.append(current.arg)
        current = current.node
    if not isinstance(current, nodes.Name):
        return None
    path: list[str | int] = []
    for step in reversed(steps):
        if step is None:
            break
        path.append(step)
    return current.name, path, dynamic


# ---------------------------------------------------------------- rendering


def build_context(trigger: Any, steps: Mapping[str, Any]) -> dict[str, Any]:
    """The template context of one run: the event and the outputs of earlier steps."""
    return {"trigger": trigger, "steps": dict(steps)}


def render_value(value: Any, context: Mapping[str, Any], *, location: str) -> Any:
    """Render a mapping value recursively; raise :class:`MappingError` naming ``location``."""
    if isinstance(value, str):
        return render_string(value, context, location=location)
    if isinstance(value, Mapping):
        return {
            key: render_value(item, context, location=f"{location}.{key}")
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [
            render_value(item, context, location=f"{location}[{index}]")
            for index, item in enumerate(value)
        ]
    if isinstance(value, _JSON_SCALARS):
        return value
    raise MappingError(f"{location}: {_describe(value)} is not a JSON value")


def render_mapping(
    mapping: Mapping[str, Any], context: Mapping[str, Any], *, location: str
) -> dict[str, Any]:
    """Render a step's ``input`` mapping into concrete inputs."""
    return {
        key: render_value(value, context, location=f"{location}.{key}")
        for key, value in mapping.items()
    }


def render_string(source: str, context: Mapping[str, Any], *, location: str) -> Any:
    """Render one string: native value for a lone ``{{ expr }}``, text otherwise."""
    if not is_template(source):
        return source
    try:
        parsed = parse_template(source)
        if parsed.path is not None:
            # A plain chain of keys read straight from the dicts: what the sandbox's getattr
            # returns for a key a dict holds (keys before attributes), without Jinja's context
            # per call (4.2 -> ~1 us a value, issue 14). Anything else (a missing key, a value
            # that is not a dict) goes to the compiled expression, which decides and words the
            # error. No Jinja runs here: no budget, and the errors are turned into a
            # MappingError inline (_mapping_errors, a context manager, costs ~1 us a value).
            value = context.get(parsed.path[0], _NO_VALUE)
            for key in parsed.path[1:]:
                if type(value) is not dict or key not in value:
                    value = _NO_VALUE
                    break
                value = value[key]
            if value is not _NO_VALUE:
                return _native(value)
    except MappingError:
        raise
    except Exception as exc:
        raise MappingError(f"{location}: {describe_template_error(exc)}") from exc
    budget = _Budget()
    token = _BUDGET.set(budget)  # (not render_budget(): a context manager costs microseconds)
    try:
        with _mapping_errors(location):
            if parsed.expression is not None:
                return _native(_compiled_expression(parsed.expression)(**context))
            pieces, size = [], 0
            for piece in parsed.template.generate(context):
                size += len(piece)
                _check_size(size, "output")
                budget.charge(len(piece))
                pieces.append(piece)
            return "".join(pieces)
    finally:
        _BUDGET.reset(token)


def evaluate_condition(when: str | bool, context: Mapping[str, Any], *, location: str) -> bool:
    """Evaluate a step's ``when``: one expression (bare or in ``{{ }}``), Python truthiness."""
    source = condition_source(when)
    with _mapping_errors(location):
        if parse_template(source).expression is None:
            raise _TextInterpolationError("a condition must be one expression, not text")
    return bool(render_string(source, context, location=location))


_NO_VALUE = object()


def _native(value: Any) -> Any:
    """Check a native result: JSON data only, bounded in size."""
    if isinstance(value, Undefined):
        str(value)  # raises UndefinedError (or SecurityError) with Jinja's message
    budget = MAX_OUTPUT_CHARS
    for item in _walk_json(value):
        budget -= len(item) if isinstance(item, str) else 1
        if budget < 0:
            raise SecurityError(f"value larger than {MAX_OUTPUT_CHARS} characters")
    return value


def _walk_json(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise _TextInterpolationError("object keys must be text")
                yield key
                stack.append(child)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, _JSON_SCALARS):
            yield item
        elif isinstance(item, Undefined):
            str(item)
        else:
            raise _TextInterpolationError(f"the result is {_describe(item)}, not JSON data")


@contextmanager
def _mapping_errors(location: str) -> Iterator[None]:
    """Turn every failure of a user template into a :class:`MappingError` at ``location``."""
    try:
        yield
    except MappingError:
        raise
    except Exception as exc:
        raise MappingError(f"{location}: {describe_template_error(exc)}") from exc


def describe_template_error(exc: BaseException) -> str:
    """A one-line message for a template failure (syntax, undefined, sandbox, type)."""
    if isinstance(exc, SecurityError):
        return f"not allowed: {exc}"
    if isinstance(exc, TemplateError) and type(exc).__name__ == "UndefinedError":
        return f"undefined value: {exc}"
    if isinstance(exc, TemplateError) and hasattr(exc, "lineno") and exc.lineno:
        return f"template syntax error: {exc.message} (line {exc.lineno})"
    if isinstance(exc, TemplateError):
        return f"template error: {exc.message or exc}"
    if isinstance(exc, _TextInterpolationError):
        return str(exc)
    if isinstance(exc, (ArithmeticError, MemoryError)):
        return f"arithmetic error: {exc}"
    return f"{type(exc).__name__}: {exc}"


__all__ = [
    "CONTEXT_NAMES",
    "ENV",
    "MAX_INT_BITS",
    "MAX_LOOP_ITERATIONS",
    "MAX_OUTPUT_CHARS",
    "MAX_RENDER_SECONDS",
    "MAX_RENDER_WORK",
    "MAX_TEMPLATE_DEPTH",
    "MAX_TEMPLATE_TOKENS",
    "SAFE_FILTERS",
    "SAFE_METHODS",
    "ParsedTemplate",
    "Reference",
    "build_context",
    "condition_source",
    "describe_template_error",
    "evaluate_condition",
    "find_references",
    "is_template",
    "parse_template",
    "reference_of",
    "render_mapping",
    "render_string",
    "render_value",
    "template_problems",
]
