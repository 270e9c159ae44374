"""Argument checks for every ``lsq`` command: global options and value types.

Global options (:data:`GLOBAL_OPTIONS`) are accepted before or after the subcommand
(``lsq --log-level INFO serve x.yaml`` and ``lsq serve x.yaml --log-level INFO``): the root
parser declares them with their defaults and every subcommand parser again without a default,
so a value given after the subcommand wins and an absent one leaves the root's. A new global
option is one more entry in the table.

The value types turn a bad value into an argparse error, so it is a usage error (exit 2, one
line) before anything starts: ports, positive counts and intervals, log levels, header text.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(value: str) -> str:
    """A logging level name, any case: ``info`` -> ``INFO``."""
    name = value.strip().upper()
    if name not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a log level (use one of {', '.join(LOG_LEVELS)})"
        )
    return name


def port(value: str) -> int:
    """A TCP port 1..65535, or 0 for any free port."""
    number = _integer(value, "a port number")
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is out of range (1-65535, or 0 for any)")
    return number


def positive_int(value: str) -> int:
    """A whole number of at least 1."""
    number = _integer(value, "a whole number")
    if number < 1:
        raise argparse.ArgumentTypeError(f"{number} must be 1 or more")
    return number


def non_negative_int(value: str) -> int:
    """A whole number of at least 0."""
    number = _integer(value, "a whole number")
    if number < 0:
        raise argparse.ArgumentTypeError(f"{number} must be 0 or more")
    return number


def positive_seconds(value: str) -> float:
    """A finite number of seconds above zero."""
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be a number of seconds above 0")
    return seconds


def base_url(value: str) -> str:
    """A receiver base URL: http(s), a host, no query or fragment."""
    from runtime.engine.subscriptions import check_base_url
    from runtime.errors import ConnectorError

    try:
        return check_base_url(value)
    except ConnectorError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def header_value(value: str) -> str:
    """Text for an HTTP header: printable ASCII, no line breaks."""
    if not value.strip() or any(not " " <= char <= "~" for char in value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a header value (printable ASCII)")
    return value.strip()


def _integer(value: str, what: str) -> int:
    try:
        return int(value.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None


@dataclass(frozen=True)
class GlobalOption:
    """One option that every command takes, before or after its name."""

    flags: tuple[str, ...]
    default: Any
    help: str
    options: dict[str, Any] = field(default_factory=dict)


GLOBAL_OPTIONS: tuple[GlobalOption, ...] = (
    GlobalOption(
        ("--log-level",), "WARNING",
        f"logging level: {', '.join(LOG_LEVELS)} (default WARNING)",
        {"type": log_level, "metavar": "LEVEL"},
    ),
    GlobalOption(
        ("--database",), None,
        "PostgreSQL URL for trigger state, inbox and run history (default: $LSQ_DATABASE_URL, "
        "else SQLite files under .lsq/)",
        {"metavar": "URL"},
    ),
)


def add_global_options(parser: argparse.ArgumentParser, *, root: bool) -> None:
    """Declare :data:`GLOBAL_OPTIONS` on ``parser``: with defaults on the root parser only."""
    for option in GLOBAL_OPTIONS:
        default = option.default if root else argparse.SUPPRESS
        parser.add_argument(*option.flags, default=default, help=option.help, **option.options)


__all__ = [
    "GLOBAL_OPTIONS",
    "LOG_LEVELS",
    "GlobalOption",
    "add_global_options",
    "base_url",
    "header_value",
    "log_level",
    "port",
    "positive_int",
    "positive_seconds",
]
