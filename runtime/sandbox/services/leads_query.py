"""Filtering, column selection, sorting and paging of flat lead records.

Shared by the lead reads (:mod:`.leads_read`) and list membership (:mod:`.lists`).
Comparisons follow SQL on LeadSquared's MySQL store: NULL matches nothing, text compares
case-insensitively, numbers and dates compare as numbers and dates (reference §4.5).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from runtime.sandbox.errors import LsqError, mandatory_missing
from runtime.sandbox.services.leads import parse_time

Comparable = Any
COMPARATORS: dict[str, Callable[[Comparable, Comparable], bool]] = {
    "=": operator.eq, "<>": operator.ne, "!=": operator.ne, ">": operator.gt,
    "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}
TEXT_OPERATORS = ("LIKE", "IN")  # plus COMPARATORS; operator names are case-insensitive


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparable(left: str, right: str) -> tuple[Comparable, Comparable]:
    """Both sides as numbers, else as dates, else as case-folded text."""
    numbers = _number(left), _number(right)
    if None not in numbers:
        return numbers
    dates = parse_time(left), parse_time(right)
    if None not in dates:
        return dates
    return left.casefold(), right.casefold()


def _like(value: str, pattern: str) -> bool:
    regex = "".join(
        ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern
    )
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def matches(record: Mapping[str, Any], name: str, sql_operator: str, value: str) -> bool:
    """Whether ``record[name] <op> value``; ``name`` is case-sensitive (a miss matches none)."""
    stored = record.get(name)
    if stored is None:
        return False
    op = sql_operator.strip().upper()
    if op == "LIKE":
        return _like(str(stored), value)
    if op == "IN":
        return str(stored).casefold() in {v.strip().casefold() for v in value.split(",")}
    left, right = _comparable(str(stored), value)
    return COMPARATORS[op](left, right)


def check_operator(sql_operator: str) -> None:
    op = sql_operator.strip().upper()
    if op not in COMPARATORS and op not in TEXT_OPERATORS:
        # UNKNOWN in the reference: the error for an unsupported SqlOperator; chosen here.
        raise LsqError("MXInvalidDataTypeException", f"Invalid SqlOperator '{sql_operator}'")


def columns(flat: Mapping[str, Any], include_csv: Any) -> dict[str, Any]:
    """Only the ``Include_CSV`` columns (unknown names are skipped); all when absent."""
    if not isinstance(include_csv, str) or not include_csv.strip():
        return dict(flat)
    wanted = [name.strip() for name in include_csv.split(",") if name.strip()]
    return {name: flat[name] for name in wanted if name in flat}


def include_csv(body: Mapping[str, Any]) -> Any:
    section = body.get("Columns")
    return section.get("Include_CSV") if isinstance(section, dict) else None


def sort_records(
    records: list[dict[str, Any]], sorting: Any, default: tuple[str, bool]
) -> list[dict[str, Any]]:
    """Sort by ``{"ColumnName", "Direction"}`` ("1" = descending); NULLs sort lowest."""
    column, descending = default
    if isinstance(sorting, dict) and sorting.get("ColumnName"):
        column = str(sorting["ColumnName"])
        descending = str(sorting.get("Direction", "0")).strip() == "1"
    values = [r.get(column) for r in records if r.get(column) is not None]
    if values and all(_number(str(v)) is not None for v in values):
        convert: Callable[[str], Any] = lambda v: _number(v)  # noqa: E731
    elif values and all(parse_time(str(v)) is not None for v in values):
        convert = parse_time
    else:
        convert = str.casefold
    def key(record: dict[str, Any]) -> tuple[bool, Any]:
        value = record.get(column)
        return (value is not None, convert(str(value)) if value is not None else 0)
    return sorted(records, key=key, reverse=descending)


def _positive_int(value: Any, name: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if number < 1:
        raise LsqError("MXInvalidDataTypeException", f"'{name}' must be a positive integer")
    return number


def page(
    records: Iterable[dict[str, Any]], paging: Any, *, default_size: int, max_size: int
) -> list[dict[str, Any]]:
    """One 1-based page by ``{"PageIndex", "PageSize"}`` (numbers or numeric strings)."""
    paging = paging if isinstance(paging, dict) else {}
    index = _positive_int(paging.get("PageIndex", 1), "PageIndex")
    size = _positive_int(paging.get("PageSize", default_size), "PageSize")
    if size > max_size:
        # UNKNOWN in the reference: a PageSize above the documented maximum is refused.
        raise LsqError("MXInvalidDataTypeException", f"'PageSize' cannot exceed {max_size}")
    rows = list(records)
    return rows[(index - 1) * size: index * size]


def require_object(body: Any, operation: str) -> dict[str, Any]:
    """The body as a JSON object; 400 (LeadSquared's "not as per API specification")."""
    if not isinstance(body, dict):
        raise LsqError("MXInvalidInputException", f"{operation} needs a JSON object body", 400)
    return body


def require_text(section: Any, name: str) -> str:
    value = section.get(name) if isinstance(section, dict) else None
    if value is None or not str(value).strip():
        raise mandatory_missing(f"'{name}' is mandatory")
    return str(value)
