"""The fast paths of ``to_iso``, ``json_text`` and ``json_record`` match the plain forms."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime import clock
from runtime.clock import to_iso
from runtime.text import json_record, json_text


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


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


@given(_JSON)
def test_json_record_loads_back_equal_and_is_utf8(value: object) -> None:
    text = json_record(value)
    text.encode("utf-8")  # lone surrogates come out as escapes, never raw
    assert "\x00" not in text
    assert json.loads(text) == json.loads(json_text(value, default=str))


class _Colour(enum.IntEnum):
    RED = 1


class _Shout(str):
    def __str__(self) -> str:
        return "LOUD"


@dataclass
class _Point:
    x: int


@pytest.mark.parametrize("value", [
    {"name": "half an emoji \ud83d", "nul": "a\x00b"},
    {1: "a non-str key", None: 2},
    {"when": datetime(2024, 1, 1, tzinfo=UTC), "point": _Point(1)},
    [_Colour.RED, _Shout("quiet"), 2**64, -(2**63) - 1],
    {"float": 1e16, "tiny": 5e-324, "neg": -0.0},
])
def test_json_record_writes_what_json_text_writes_for_what_orjson_refuses(value: object) -> None:
    text = json_record(value)
    text.encode("utf-8")
    assert json.loads(text) == json.loads(json_text(value, default=str))


def test_json_record_writes_nan_as_null() -> None:  # not JSON; documented
    assert json.loads(json_record([math.nan, math.inf])) == [None, None]


@given(st.integers(min_value=0, max_value=253402300799_999999_999))  # up to 9999-12-31
def test_now_iso_is_to_iso_of_the_clock_floored_to_the_microsecond(nanoseconds: int) -> None:
    with mock.patch.object(clock.time, "time_ns", return_value=nanoseconds):
        text = clock.now_iso()
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanoseconds // 1000)
    assert text == to_iso(moment)


def test_now_iso_keeps_pace_with_utc_now() -> None:
    before = to_iso(clock.utc_now())
    assert before <= clock.now_iso() <= to_iso(clock.utc_now())
