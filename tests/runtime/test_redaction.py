"""The Redactor: secrets and their URL-encoded forms never survive in text, data or logs."""

from __future__ import annotations

import logging

from runtime.api.redaction import MASK, RedactingFilter, Redactor, install

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
