"""Text from outside that cannot go everywhere: lone surrogates (and NUL).

Python strings may hold a lone UTF-16 surrogate (U+D800..U+DFFF, half of an emoji's pair): a
JSON ``"\\ud83d"`` escape from LeadSquared or a webhook decodes to one, and so do the
undecodable bytes of a command-line argument or environment variable. Such a string cannot be
encoded as UTF-8, so SQLite, a UTF-8 stream or an HTTP body raises when it meets one.
PostgreSQL text also refuses NUL (U+0000).

Two ways to handle them, each used at an edge: data that must survive (events, API answers,
run history, keys and error messages made from them) is kept faithfully with the character
written as its escape (:func:`json_text`, :func:`storable_text`); input a person typed gets
a clear error naming where the bad text is (:func:`find_lone_surrogate`). This module imports
nothing of the connector (every layer may use it).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, Final

import orjson

LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")
"""One surrogate code point (in a Python str every surrogate is a lone one)."""
_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with each lone surrogate and NUL written as its escape ``\\udXXX`` /
    ``\\u0000`` (else unchanged): valid UTF-8, accepted by SQLite and PostgreSQL text."""
    if "\x00" not in text and (text.isascii() or _encodes(text)):
        return text  # the usual case, checked in C (a regex scan costs as much as json.dumps)
    return _UNSTORABLE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def _encodes(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8: it fails only on a surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, ...)`` that is always valid UTF-8 text.

    A lone surrogate can only occur inside a JSON string, where ``\\udXXX`` is exactly the
    escape ``ensure_ascii=True`` would write: the text loads back to the same value.
    """
    try:
        encoder = _encoder(tuple(sorted(options.items())))
    except TypeError:  # an unhashable option (a list as separators): a one-off encoder
        encoder = json.JSONEncoder(ensure_ascii=False, **options)
    return storable_text(encoder.encode(value))


@functools.lru_cache(maxsize=32)
def _encoder(options: tuple[tuple[str, Any], ...]) -> json.JSONEncoder:
    """One encoder per set of options, kept. ``json.dumps`` with any option builds a new
    ``JSONEncoder`` on every call: 13.6 -> 8.4 us for a 30-field record (measured, issue 14;
    a 5-step run dumps 13 values into its history, and every POST body goes through here)."""
    return json.JSONEncoder(ensure_ascii=False, **dict(options))


# Anything orjson would write its own way goes to `_refuse` (then json_record falls back):
# datetimes and dataclasses (str() is what json_text's default=str writes), and subclasses of
# str/int/dict/list (an IntEnum, a str subclass with its own __str__): the stdlib writes those.
_RECORD_OPTIONS: Final = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _refuse(value: Any) -> Any:
    raise TypeError


def json_record_bytes(value: Any) -> bytes | None:
    """:func:`json_record` as UTF-8 bytes when orjson writes it; None when it refuses."""
    try:
        return orjson.dumps(value, default=_refuse, option=_RECORD_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return None


def json_record(value: Any) -> str:
    """Compact JSON text of ``value`` to store (the run history): valid UTF-8 text that loads
    back to an equal value, as ``json_text(value, default=str)`` but without its spaces.

    orjson first: 0.5-1.5 us a record where the stdlib encoder takes 5-8 us (measured,
    issue 14: a 5-step run stores 11 values). What orjson refuses goes to ``json_text``:
    a lone surrogate (kept as its ``\\udXXX`` escape), an integer beyond 64 bits, a key
    that is not a string, any value that is not JSON data (written as ``str(value)``). orjson
    writes NUL as ``\\u0000`` (as the stdlib), an Enum as its value where ``str`` gave
    ``Color.RED``, and NaN/Infinity (not JSON; no API sends them) as null.
    """
    data = json_record_bytes(value)
    if data is None:
        return json_text(value, default=str)
    return data.decode()


def find_lone_surrogate(value: Any, where: str = "$") -> str | None:
    """The location (``$.name[0]``) of the first string or key holding a lone surrogate."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return at
        elif isinstance(item, Mapping):
            for key, child in item.items():
                if isinstance(key, str) and LONE_SURROGATE.search(key):
                    return f"{at} (a key)"
                stack.append((child, f"{at}.{key}"))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{at}[{index}]") for index, child in enumerate(item))
    return None


__all__ = [
    "LONE_SURROGATE",
    "find_lone_surrogate",
    "json_record",
    "json_record_bytes",
    "json_text",
    "storable_text",
]
