"""Static resource checks of a parsed mapping template: nesting depth and constant bombs.

Run by :func:`runtime.workflows.templating.parse_template` before a template is compiled, so
``lsq validate`` reports what it finds and a run refuses the same template the same way:

* :func:`check_tokens` (before parsing) and :func:`check_depth` (on the tree): brackets and
  blocks, and the syntax tree, nest at most ``max_depth`` levels, and a template has at most
  ``max_tokens`` tokens in its tags (text between tags does not count). Deeper templates would
  exhaust the parser's, the compiler's or Python's recursion, and longer ones take seconds and
  hundreds of MB to compile; they are refused with one message instead.
* :func:`check_constants`: every expression made of constants only (literals, arithmetic,
  ``~``, plain filters, and names a top-level ``{% set %}`` binds once to such an expression)
  is evaluated with the environment's own bounded operators. One that breaks a bound
  (``{{ 9 ** 99999 }}``, ``{{ 'x' * 10**9 }}``, a chain of ``{% set b = a * a %}``) raises the
  :class:`SecurityError` that rendering would raise. Anything that depends on data is left to
  run time, where the same bounds apply.

This module imports nothing of the connector: the environment comes in as an argument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final, Protocol

from jinja2 import nodes
from jinja2.sandbox import SecurityError

_OPENING: Final = frozenset("([{")
_CLOSING: Final = frozenset(")]}")
_BLOCKS: Final = frozenset({"if", "for", "with", "filter", "macro", "call", "block"})
_TEXT: Final = frozenset({"data", "whitespace", "comment", "raw_begin", "raw_end"})
_UNKNOWN: Final = object()
"""The value of an expression that depends on data (or that a static check cannot compute)."""


class BoundedEnvironment(Protocol):
    """What the checks use of the template environment: its bounded operators and filters."""

    filters: Mapping[str, Any]

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any: ...

    def bounded_concat(self, parts: tuple[Any, ...]) -> str: ...


def too_deep(limit: int) -> str:
    """The message for a template nested deeper than ``limit`` levels."""
    return f"the template nests more than {limit} levels (brackets, operators, filters, blocks)"


def check_tokens(tokens: Iterable[tuple[int, str, str]], max_depth: int, max_tokens: int) -> None:
    """Raise :class:`SecurityError` when brackets and blocks nest deeper than ``max_depth`` or
    the tags hold more than ``max_tokens`` tokens.

    ``tokens`` are the lexer's ``(line, type, value)``; counting them needs no recursion, so
    the parser (about 14 Python frames per bracket) never sees such a template.
    """
    depth, count, after_block_start = 0, 0, False
    for _, kind, value in tokens:
        if kind in _TEXT:
            continue
        count += 1
        if count > max_tokens:
            raise SecurityError(f"the template has more than {max_tokens} tokens in its tags")
        if kind == "operator" and value in _OPENING:
            depth += 1
        elif kind == "operator" and value in _CLOSING:
            depth = max(depth - 1, 0)
        elif kind == "name" and after_block_start:
            depth += value in _BLOCKS
            depth -= value.startswith("end") and depth > 0
        if depth > max_depth:
            raise SecurityError(too_deep(max_depth))
        after_block_start = kind == "block_begin"


def check_depth(ast: nodes.Node, limit: int) -> None:
    """Raise :class:`SecurityError` when the tree under ``ast`` is deeper than ``limit``."""
    stack: list[tuple[nodes.Node, int]] = [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise SecurityError(too_deep(limit))
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())


def check_constants(ast: nodes.Template, env: BoundedEnvironment) -> None:
    """Evaluate the template's constant expressions with ``env``'s bounds (see the module)."""
    bound_once = _names_set_once_at_top(ast)
    values: dict[str, Any] = {}
    for node in ast.body:
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name):
            value = _evaluate(node.node, values, env)
            if node.target.name in bound_once and value is not _UNKNOWN:
                values[node.target.name] = value
            continue
        for expression in _expressions(node):
            _evaluate(expression, values, env)


def _names_set_once_at_top(ast: nodes.Template) -> set[str]:
    """Names stored exactly once in the whole template, by a top-level ``{% set name = %}``."""
    stores = Counter(
        name.name for name in ast.find_all(nodes.Name) if name.ctx in ("store", "param")
    )
    return {
        node.target.name for node in ast.body
        if isinstance(node, nodes.Assign) and isinstance(node.target, nodes.Name)
        and stores[node.target.name] == 1
    }


def _expressions(node: nodes.Node) -> Iterator[nodes.Expr]:
    """The outermost expressions under a statement node."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, nodes.Expr):
            yield current
        else:
            stack.extend(current.iter_child_nodes())


def _evaluate(node: nodes.Node, names: Mapping[str, Any], env: BoundedEnvironment) -> Any:
    """The constant value of ``node``, or ``_UNKNOWN``; bounds broken raise SecurityError.

    Children are evaluated first, always: a constant bomb inside a data-dependent expression
    (``trigger.x ~ 9 ** 99999``) is found too. Recursion is bounded by :func:`check_depth`.
    """
    children = [_evaluate(child, names, env) for child in node.iter_child_nodes()]
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Name):
        return names.get(node.name, _UNKNOWN) if node.ctx == "load" else _UNKNOWN
    if any(value is _UNKNOWN for value in children):
        return _UNKNOWN
    if isinstance(node, nodes.List | nodes.Tuple):
        return _attempt(lambda: list(children))
    if isinstance(node, nodes.BinExpr):
        left, right = children
        return _attempt(lambda: env.call_binop(None, node.operator, left, right))
    if isinstance(node, nodes.Neg | nodes.Pos):
        (operand,) = children
        return _attempt(lambda: -operand if isinstance(node, nodes.Neg) else +operand)
    if isinstance(node, nodes.Concat):
        return _attempt(lambda: env.bounded_concat(tuple(children)))
    if isinstance(node, nodes.Filter):
        return _filter(node, children, env)
    return _UNKNOWN


def _filter(node: nodes.Filter, children: list[Any], env: BoundedEnvironment) -> Any:
    """A filter of constants, when it is a plain function (no context or environment)."""
    function = env.filters.get(node.name)
    if function is None or getattr(function, "jinja_pass_arg", None) is not None:
        return _UNKNOWN
    if node.node is None or node.dyn_args is not None or node.dyn_kwargs is not None:
        return _UNKNOWN
    value, *rest = children  # iter_child_nodes: node, args..., kwargs (Keyword nodes)
    args = rest[: len(node.args)]
    if node.kwargs:
        return _UNKNOWN
    return _attempt(lambda: function(value, *args))


def _attempt(compute: Any) -> Any:
    """``compute()``; a broken bound propagates, any other failure is left to run time."""
    try:
        return compute()
    except SecurityError:
        raise
    except Exception:
        return _UNKNOWN


__all__ = ["BoundedEnvironment", "check_constants", "check_depth", "check_tokens", "too_deep"]
