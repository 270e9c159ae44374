"""Running ``lsq`` in-process and asserting the exit-code contract (never a traceback)."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.cli import main

EXIT_CODES = {0, 1, 2}
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', "object at 0x")


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(argv: Sequence[str], stdin: str | bytes = "") -> CliResult:
    """``main(argv)`` with captured stdout/stderr; an escaping exception fails the caller."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    data = stdin.encode("utf-8", "surrogatepass") if isinstance(stdin, str) else stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        sys.stdin = old_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


def assert_contract(result: CliResult, *, allowed: set[int] = EXIT_CODES) -> None:
    """Exit code documented; failures say something on stderr; no traceback anywhere, and no
    "internal error" (the CLI's last-resort line for a bug)."""
    assert result.code in allowed, (result.code, result.err[-500:])
    assert "internal error" not in result.err, result.err[-800:]
    for marker in TRACEBACK_MARKERS:
        assert marker not in result.err, result.err[-800:]
        assert marker not in result.out, result.out[-800:]
    if result.code != 0:
        # on stderr, or (with --json) in the one JSON value on stdout
        assert result.err.strip() or result.out.strip(), "a failure must explain itself"
