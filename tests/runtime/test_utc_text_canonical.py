"""utc_text returns a date already in the canonical form as it is: exactly what parsing and
formatting it again gives (a real date formats to itself, any other is kept as sent)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.api.lsq_format import format_datetime, utc_text
from runtime.errors import InputValidationError


def through_the_parsers(value: str) -> str:
    try:
        return format_datetime(value)
    except InputValidationError:
        return value


def two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


CANONICAL = st.builds(
    lambda y, mo, d, h, mi, s: f"{y:04d}-{mo}-{d} {h}:{mi}:{s}",
    st.integers(0, 9999), two(0, 99), two(0, 99), two(0, 99), two(0, 99), two(0, 99),
)


@given(CANONICAL)
def test_a_canonical_date_is_what_the_parsers_give(value: str) -> None:
    assert utc_text(value) == through_the_parsers(value) == value


@pytest.mark.parametrize("value", [
    "2025-03-02 10:05:00", "2024-02-29 23:59:59", "2025-02-29 10:00:00", "2025-03-02 24:00:00",
    "0000-01-01 00:00:00", "0001-01-01 00:00:00",
    # not the canonical form: through the parsers as before
    "2025-03-02 10:05:00.000", "2025-03-02T10:05:00Z", " 2025-03-02 10:05:00",
    "2025-03-02 10:05:00\n", "2025-03-02 10:05", "/Date(1417453996000+0000)/",
    "4/6/2023 3:23:31 PM", "٢٠٢٥-03-02 10:05:00", "not a date",
])
def test_every_form_gives_what_the_parsers_give(value: str) -> None:
    assert utc_text(value) == through_the_parsers(value)
