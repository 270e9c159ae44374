"""URLs are shown without their password and otherwise exactly as given."""

from __future__ import annotations

import pytest

from runtime.store.database import redact_url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://lsq:s3cret@db.example.com:5432/lsq", "postgresql://lsq:***@db.example.com:5432/lsq"),
    ("postgresql://lsq@db.example.com/lsq", "postgresql://lsq@db.example.com/lsq"),
    ("postgresql:///lsq?password=s3cret", "postgresql:///lsq?password=***"),
    ("sqlite:///tmp/x.db", "sqlite:///tmp/x.db"),
    ("mysql://u:s3cret@h/x", "mysql://u:***@h/x"),
])
def test_the_password_is_hidden_and_nothing_else_changes(url: str, shown: str) -> None:
    assert redact_url(url) == shown
