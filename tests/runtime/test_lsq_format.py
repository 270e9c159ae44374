"""Attribute/Value lists, property lists, value conversion and LeadSquared's date formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from runtime.api.lsq_format import (
    format_datetime,
    from_attributes,
    from_property_list,
    parse_datetime,
    to_attributes,
    to_schema_fields,
    to_value,
)
from runtime.errors import InputValidationError

IST = timezone(timedelta(hours=5, minutes=30))


def test_to_attributes_converts_every_value_to_a_string_or_null():
    fields = {
        "FirstName": "Ada", "mx_Budget": 125000, "Score": 1.5, "mx_Rate": 10.0,
        "DoNotEmail": True, "DoNotCall": False, "Notes": None, "mx_Price": Decimal("9.90"),
        "mx_Demo_Date": datetime(2024, 5, 1, 9, 30, tzinfo=IST),
        "mx_Birthday": date(1990, 1, 2),
    }
    assert to_attributes(fields) == [
        {"Attribute": "FirstName", "Value": "Ada"},
        {"Attribute": "mx_Budget", "Value": "125000"},
        {"Attribute": "Score", "Value": "1.5"},
        {"Attribute": "mx_Rate", "Value": "10"},
        {"Attribute": "DoNotEmail", "Value": "true"},
        {"Attribute": "DoNotCall", "Value": "false"},
        {"Attribute": "Notes", "Value": None},
        {"Attribute": "mx_Price", "Value": "9.90"},
        {"Attribute": "mx_Demo_Date", "Value": "2024-05-01 04:00:00"},
        {"Attribute": "mx_Birthday", "Value": "1990-01-02"},
    ]


def test_to_attributes_nests_custom_field_sets():
    assert to_attributes({"mx_KYC": {"mx_CFS_Pan": "ABCDE1234F", "mx_CFS_Verified": True}}) == [
        {"Attribute": "mx_KYC", "Value": None, "Fields": [
            {"Attribute": "mx_CFS_Pan", "Value": "ABCDE1234F"},
            {"Attribute": "mx_CFS_Verified", "Value": "true"},
        ]},
    ]


def test_unsupported_values_name_their_location():
    with pytest.raises(InputValidationError, match=r"fields\.mx_Tags: a list cannot be sent"):
        to_attributes({"mx_Tags": ["a", "b"]})
    with pytest.raises(InputValidationError, match=r"params\.x: a set"):
        to_value({1}, field="params.x")


def test_to_schema_fields():
    assert to_schema_fields({"Status": "Open", "mx_Custom_1": 5}) == [
        {"SchemaName": "Status", "Value": "Open"},
        {"SchemaName": "mx_Custom_1", "Value": "5"},
    ]


def test_from_attributes_round_trips_and_unnests():
    pairs = [
        {"Attribute": "FirstName", "Value": "Ada"},
        {"Attribute": "mx_KYC", "Value": None, "Fields": [{"Attribute": "mx_Pan", "Value": "X"}]},
        {"Attribute": "Notes", "Value": None, "Fields": None},
        {"Value": "no attribute"},
    ]
    assert from_attributes(pairs) == {"FirstName": "Ada", "mx_KYC": {"mx_Pan": "X"}, "Notes": None}
    assert from_attributes(None) == {}


@pytest.mark.parametrize(
    "record",
    [
        {"LeadPropertyList": [
            {"Attribute": "ProspectID", "Value": "p-1", "Fields": None},
            {"Attribute": "FirstName", "Value": "Ada", "Fields": None},
            {"Attribute": "CanUpdate", "Value": "true", "Fields": None},
        ]},
        [
            {"Attribute": "ProspectID", "Value": "p-1"},
            {"Attribute": "FirstName", "Value": "Ada"},
            {"Attribute": "CanUpdate", "Value": "true"},
        ],
        {"ProspectID": "p-1", "FirstName": "Ada"},
    ],
    ids=["lead-property-list", "bare-list", "already-flat"],
)
def test_from_property_list_flattens_and_drops_can_update(record):
    assert from_property_list(record) == {"ProspectID": "p-1", "FirstName": "Ada"}


def test_company_property_list_with_lower_case_c():
    record = {"companyPropertyList": [
        {"Attribute": "CompanyId", "Value": "c-1"}, {"Attribute": "CompanyName", "Value": "Acme"},
    ]}
    assert from_property_list(record) == {"CompanyId": "c-1", "CompanyName": "Acme"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-07-31 06:35:37.000", datetime(2015, 7, 31, 6, 35, 37, tzinfo=UTC)),
        ("2015-07-31 06:35:37.123", datetime(2015, 7, 31, 6, 35, 37, 123000, tzinfo=UTC)),
        ("2019-04-10 07:05:24", datetime(2019, 4, 10, 7, 5, 24, tzinfo=UTC)),
        ("2019-04-10 07:05", datetime(2019, 4, 10, 7, 5, tzinfo=UTC)),
        ("/Date(1417453996000+0000)/", datetime(2014, 12, 1, 17, 13, 16, tzinfo=UTC)),
        ("/Date(1417453996000+0530)/", datetime(2014, 12, 1, 17, 13, 16, tzinfo=UTC)),
        ("/Date(1417453996123)/", datetime(2014, 12, 1, 17, 13, 16, 123000, tzinfo=UTC)),
        ("4/6/2023 3:23:31 PM", datetime(2023, 4, 6, 15, 23, 31, tzinfo=UTC)),
        ("7/31/2026 5:33:50 AM", datetime(2026, 7, 31, 5, 33, 50, tzinfo=UTC)),
        ("12/1/2023 12:05:00 AM", datetime(2023, 12, 1, 0, 5, tzinfo=UTC)),
        ("12/1/2023 12:05:00 PM", datetime(2023, 12, 1, 12, 5, tzinfo=UTC)),
        ("2024-05-01T09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T15:00:00+05:30", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
        ("2024-05-01T09:30:00.5", datetime(2024, 5, 1, 9, 30, 0, 500000, tzinfo=UTC)),
        ("2022-05-25", datetime(2022, 5, 25, tzinfo=UTC)),
    ],
    ids=["lead-millis", "lead-millis-nonzero", "account", "no-seconds", "wcf", "wcf-offset",
         "wcf-no-offset", "us-pm", "us-am", "us-midnight", "us-noon", "iso-z", "iso-offset",
         "iso-fraction", "plain-date"],
)
def test_parse_datetime_reads_every_response_format_as_utc(text, expected):
    parsed = parse_datetime(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2019-13-40 07:05:24", "13/40/2023 1:00:00 PM", "4/6/2023 13:00:00 PM"],
)
def test_parse_datetime_rejects_garbage(text):
    with pytest.raises(InputValidationError, match="not a date and time"):
        parse_datetime(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2024, 5, 1, 9, 30, 15, 999, tzinfo=UTC), "2024-05-01 09:30:15"),
        (datetime(2024, 5, 1, 9, 30), "2024-05-01 09:30:00"),
        (datetime(2024, 5, 1, 1, 0, tzinfo=IST), "2024-04-30 19:30:00"),
        (date(2024, 5, 1), "2024-05-01 00:00:00"),
        ("2024-05-01T15:00:00+05:30", "2024-05-01 09:30:00"),
        ("/Date(1417453996000+0000)/", "2014-12-01 17:13:16"),
    ],
    ids=["aware-utc", "naive-is-utc", "ist", "date", "iso-string", "wcf-string"],
)
def test_format_datetime_is_utc_request_format(value, expected):
    assert format_datetime(value) == expected


def test_parse_datetime_normalises_datetimes():
    midnight_utc = datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_datetime(datetime(2024, 1, 1, 5, 30, tzinfo=IST)) == midnight_utc
    assert parse_datetime(datetime(2024, 1, 1)).tzinfo is UTC
