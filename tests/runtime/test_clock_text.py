"""The fast paths of ``to_iso`` and ``json_text`` give exactly what the plain forms give."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.clock import to_iso
from runtime.text import json_text


def _strftime(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@given(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])))
def test_to_iso_is_the_strftime_form(moment: datetime) -> None:
    assert to_iso(moment) == _strftime(moment)


@pytest.mark.parametrize("moment", [
    datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
    datetime(2024, 5, 1, 9, 30),  # naive: taken as UTC
    datetime(999, 1, 1, tzinfo=UTC),  # before year 1000: strftime's own form
])
def test_to_iso_edges(moment: datetime) -> None:
    assert to_iso(moment) == _strftime(moment)


@pytest.mark.parametrize(("value", "options"), [
    ({"b": 1, "a": [1.5, None, "é"]}, {}),
    ({"b": 1, "a": 2}, {"sort_keys": True, "separators": (",", ":")}),
    ({"when": datetime(2024, 1, 1)}, {"default": str}),
    ([1, 2], {"separators": [",", ":"]}),  # an unhashable option
    ({"a": 1}, {"indent": 2}),
])
def test_json_text_is_json_dumps(value: object, options: dict) -> None:
    assert json_text(value, **options) == json.dumps(value, ensure_ascii=False, **options)
    assert json_text(value, **options) == json_text(value, **options)  # the kept encoder
