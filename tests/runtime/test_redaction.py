"""The Redactor: secrets and their URL-encoded forms never survive in text, data or logs."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runtime.api.redaction import MASK, RedactingFilter, Redactor, install, redact_data

ACCESS = "u$r0123456789abcdef"
SECRET = "s3cr3t/with+chars=="


def test_text_masks_plain_and_url_encoded_forms():
    redactor = Redactor([ACCESS, SECRET])
    text = f"a={ACCESS} b=u%24r0123456789abcdef c={SECRET} d=s3cr3t%2Fwith%2Bchars%3D%3D"
    assert redactor.text(text) == f"a={MASK} b={MASK} c={MASK} d={MASK}"


def test_data_masks_nested_values_and_keys():
    redactor = Redactor([ACCESS])
    data = {"k": [ACCESS, ("x", f"pre {ACCESS}")], ACCESS: 1, "n": 5, "none": None}
    assert redactor.data(data) == {"k": [MASK, ("x", f"pre {MASK}")], MASK: 1, "n": 5, "none": None}


def test_empty_and_tiny_secrets_are_ignored():
    redactor = Redactor(["", None, "ab"])
    assert not redactor
    assert redactor.text("ab cd") == "ab cd"


def test_longer_secret_is_masked_whole():
    redactor = Redactor(["abcd", "abcdefgh"])
    assert redactor.text("xx abcdefgh yy") == f"xx {MASK} yy"


def test_log_filter_masks_message_arguments_and_traceback(caplog):
    logger = logging.getLogger("tests.redaction.filter")
    redactor = Redactor([ACCESS, SECRET])
    install(logger, redactor)
    install(logger, Redactor([ACCESS, SECRET]))  # same secrets: not installed twice
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1
    with caplog.at_level(logging.DEBUG, logger="tests.redaction.filter"):
        logger.debug("key %s and %r", ACCESS, {"secret": SECRET})
        try:
            raise ValueError(f"boom {SECRET}")
        except ValueError:
            logger.exception("failed with u%%24r0123456789abcdef")
    rendered = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert ACCESS not in rendered and SECRET not in rendered
    assert "u%24r0123456789abcdef" not in rendered
    assert rendered.count(MASK) >= 4
    logger.filters.clear()


@pytest.mark.parametrize(
    "secret", [ACCESS, SECRET, 'quote"and\\slash', "ünïcode-ключ", "tab\there"])
@pytest.mark.parametrize("value", [
    {"k": ["{s}", ("x", "pre {s}")], "{s}": 1, "n": 5, "none": None},
    [{"deep": {"deeper": ["ok", "a {s} b"]}}],
    {"when": datetime(2024, 1, 1, tzinfo=UTC), "v": "{s}"},  # not JSON: walked
    {1: "{s}"},  # a key JSON text cannot hold as is: walked
    [2**70, "{s}"],
    {"half": "\ud83d {s}"},  # a lone surrogate: walked
])
def test_redact_data_masks_what_data_masks(secret: str, value: object) -> None:
    def fill(item: object) -> object:
        if isinstance(item, str):
            return item.replace("{s}", secret)
        if isinstance(item, dict):
            return {fill(k): fill(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return type(item)(fill(v) for v in item)
        return item

    redactors = (Redactor(["unrelated-key-0123"]), Redactor([secret]))
    filled = fill(value)
    expected = redactors[1].data(redactors[0].data(filled))
    assert redact_data(redactors, filled) == expected
    assert expected != filled  # the secret was there


def test_redact_data_returns_a_value_without_secrets_itself() -> None:
    redactors = (Redactor([ACCESS]), Redactor([SECRET]))
    value = {"lead": {"FirstName": "Ada", "tags": ["a", "b"]}, "count": 1}
    assert redact_data(redactors, value) is value
    assert redact_data((), value) is value
    assert redact_data(redactors, f"x {ACCESS}") == f"x {MASK}"


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet="ab\"$\u00e9/%+="),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(alphabet="ab\"$/%", max_size=5), children, max_size=3),
    max_leaves=12,
))
def test_redact_data_never_misses_a_secret(value: object) -> None:
    redactors = (Redactor(["ab$a"]), Redactor(["b/a=", "%%b="]))  # JSON writes them as is
    expected = redactors[1].data(redactors[0].data(value))
    assert redact_data(redactors, value) == expected
