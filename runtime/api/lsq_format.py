"""LeadSquared's data conventions: Attribute/Value lists, property lists, values and dates.

Reference §2: request datetimes are UTC ``yyyy-MM-dd HH:mm:ss``; responses use several date
formats (all UTC); field values travel as strings; lead writes are ``[{"Attribute", "Value"}]``
lists; some reads return ``LeadPropertyList``/``companyPropertyList`` lists with a synthetic
``CanUpdate`` entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from runtime.errors import InputValidationError

REQUEST_DATETIME = "%Y-%m-%d %H:%M:%S"
PROPERTY_LIST_KEYS = ("LeadPropertyList", "companyPropertyList", "CompanyPropertyList")
SYNTHETIC_PROPERTIES = frozenset({"CanUpdate"})

# LIKELY (reference §2.2): bit fields read back as "1"/"0", but writes of "true" are what live
# code sends and LeadSquared accepts (seen on IsPrimaryContact); "1"/"0" is only for filters.
BOOL_VALUES = {True: "true", False: "false"}

_WCF_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
_LSQ_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<frac>\d{1,7}))?$"
)
_US_DATETIME = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?: (?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))? ?(?P<ampm>[AaPp][Mm])?)?$"
)
_CANONICAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_value(value: Any, *, field: str = "value") -> str | None:
    """One field value as LeadSquared expects it: a string, or ``None`` (null) to clear."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return BOOL_VALUES[value]
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    raise InputValidationError(
        "unsupported field value",
        [f"{field}: a {type(value).__name__} cannot be sent as a LeadSquared field value; "
         "pass a string, number, boolean, date or null"],
    )


def to_attributes(fields: Mapping[str, Any], *, location: str = "fields") -> list[dict[str, Any]]:
    """``{"FirstName": "A"}`` -> ``[{"Attribute": "FirstName", "Value": "A"}]``.

    A mapping value is a custom field set (CFS): its sub-fields go in a nested ``Fields`` list.
    """
    pairs: list[dict[str, Any]] = []
    for name, value in fields.items():
        if isinstance(value, Mapping):
            # UNKNOWN in the reference: the parent pair's own Value for a CFS; chosen null.
            nested = to_attributes(value, location=f"{location}.{name}")
            pairs.append({"Attribute": name, "Value": None, "Fields": nested})
        else:
            pairs.append({"Attribute": name, "Value": to_value(value, field=f"{location}.{name}")})
    return pairs


def to_schema_fields(
    fields: Mapping[str, Any], *, location: str = "fields"
) -> list[dict[str, Any]]:
    """``{"mx_Custom_1": 5}`` -> ``[{"SchemaName": "mx_Custom_1", "Value": "5"}]`` (activities)."""
    return [
        {"SchemaName": name, "Value": to_value(value, field=f"{location}.{name}")}
        for name, value in fields.items()
    ]


def from_attributes(pairs: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """``[{"Attribute", "Value", "Fields"?}]`` -> a flat dict; nested ``Fields`` become dicts."""
    record: dict[str, Any] = {}
    for pair in pairs or ():
        name = pair.get("Attribute")
        if name is None:
            continue
        nested = pair.get("Fields")
        record[name] = from_attributes(nested) if nested else pair.get("Value")
    return record


def from_property_list(record: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A lead or company in property-list shape -> a flat dict, without ``CanUpdate``.

    Accepts ``{"LeadPropertyList": [...]}``, ``{"companyPropertyList": [...]}`` (lower-case
    ``c`` as Company.Get answers) or the bare list.
    """
    pairs: Any = record
    # type(...) is dict first, and a loop rather than next(generator): measured, 0.67 us ->
    # 0.3 us for a flat lead (ABC isinstance 0.13 us, the generator 0.2 us)
    if type(record) is dict or isinstance(record, Mapping):
        for key in PROPERTY_LIST_KEYS:
            if key in record:
                pairs = record[key]
                break
        else:
            return dict(record)  # already flat
    flat = from_attributes(pairs)
    for name in SYNTHETIC_PROPERTIES:
        flat.pop(name, None)
    return flat


def format_datetime(value: datetime | date | str) -> str:
    """A request datetime: UTC ``yyyy-MM-dd HH:mm:ss``. Naive datetimes are taken as UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    elif not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}")


def utc_text(value: Any) -> Any:
    """A date value of an answer as UTC ``yyyy-MM-dd HH:mm:ss``; an empty or unreadable one is
    kept as LeadSquared sent it (for the output check to judge)."""
    if not isinstance(value, str) or not value.strip():
        return value
    if _CANONICAL.match(value):
        # Already the form: a real date formats to itself, any other is kept as sent (every
        # record's dates on every read; 2 us each through the parsers)
        return value
    try:
        return format_datetime(value)
    except InputValidationError:
        return value


def parse_datetime(value: str | datetime) -> datetime:
    """Any LeadSquared date format (reference §2.1) or ISO 8601 -> an aware UTC datetime.

    Formats without a zone are UTC, as LeadSquared stores and returns them.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = value.strip() if isinstance(value, str) else ""
    for parser in (_parse_wcf, _parse_lsq, _parse_us, _parse_iso):
        parsed = parser(text)
        if parsed is not None:
            return parsed
    raise InputValidationError(
        "not a date and time",
        [f"'{value}': use UTC 'yyyy-MM-dd HH:mm:ss' or ISO 8601 (e.g. 2024-05-01T09:30:00Z)"],
    )


def _parse_wcf(text: str) -> datetime | None:
    """``/Date(1417453996000+0000)/``: milliseconds since the epoch (UTC); the offset is a hint."""
    match = _WCF_DATE.match(text)
    if match is None:
        return None
    return _EPOCH + timedelta(milliseconds=int(match["ms"]))


def _parse_lsq(text: str) -> datetime | None:
    """``2015-07-31 06:35:37.000`` and ``2019-04-10 07:05:24`` (UTC, no zone)."""
    match = _LSQ_DATETIME.match(text)
    if match is None:
        return None
    year, month, day = match["date"].split("-")
    hour, minute, *second = match["time"].split(":")
    micros = int((match["frac"] or "0")[:6].ljust(6, "0"))
    try:  # built from the parts: strptime is ten times slower, and dates are on every read
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute),
            int(second[0]) if second else 0, micros, tzinfo=UTC,
        )
    except ValueError:
        return None


def _parse_us(text: str) -> datetime | None:
    """``4/6/2023 3:23:31 PM`` (US locale, UTC), as bulk and activity reads answer."""
    match = _US_DATETIME.match(text)
    if match is None:
        return None
    hour = int(match["h"] or 0)
    ampm = (match["ampm"] or "").upper()
    if ampm and not 1 <= hour <= 12:
        return None
    if ampm:
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        return datetime(
            int(match["y"]), int(match["m"]), int(match["d"]),
            hour, int(match["mi"] or 0), int(match["s"] or 0), tzinfo=UTC,
        )
    except ValueError:
        return None


def _parse_iso(text: str) -> datetime | None:
    """ISO 8601 (``2024-05-01T09:30:00Z``, ``+05:30`` offsets, or a plain date)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
