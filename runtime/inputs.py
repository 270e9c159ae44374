"""Bounded input: every file or stdin that the connector reads for a user, with a size cap.

One reader for all of them (:func:`read_input`, :func:`read_text_input`): a path, or ``-`` for
stdin. At most ``limit`` bytes are kept: one byte more shows the input is too large, and
nothing more is read. A directory is refused. A FIFO, a device or a socket (``/dev/zero``, a
named pipe with no writer, process substitution ``<(...)``) is read without blocking: it must
send something at least every :data:`STREAM_IDLE_SECONDS` seconds, and its size is capped
like a file's. stdin is not timed (a person or a slow pipeline may be typing into it) but is
capped. Text is decoded strictly as UTF-8 (a leading byte-order mark is dropped).

Failures raise :class:`UnreadableInput` (a ``ConfigurationError``) whose message names the input
and the reason on one line; callers re-raise it as their usage or file error. The caps below
are the ones the README's Limits table lists.
"""

from __future__ import annotations

import os
import select
import stat
import sys
from typing import IO, Final

from runtime.errors import ConfigurationError

KIB: Final = 1024
MIB: Final = 1024 * KIB

MAX_JSON_INPUT_BYTES: Final = 4 * MIB
"""``-i``, ``-c`` (inline, ``@file``, ``@-``) and ``lsq run --event``: one action input or event."""
MAX_WORKFLOW_BYTES: Final = 256 * KIB
"""A workflow file (``lsq validate``, ``run``, ``serve``, ``hooks``): hand-written, a few KiB;
the cap keeps parsing and checking it under a second or two."""
MAX_CONNECTION_BYTES: Final = 64 * KIB
"""A connection file (``--connection``, or named by a workflow): a few lines."""
MAX_MANIFEST_BYTES: Final = 4 * MIB
"""``connector.yaml`` and each schema file of a connector root."""
MAX_REPLAY_BODY_BYTES: Final = 4 * MIB
"""A saved delivery body for ``lsq webhook replay``."""
MAX_SEED_BYTES: Final = 16 * MIB
"""A sandbox seed file (``lsq sandbox --seed``)."""
STREAM_IDLE_SECONDS: Final = 30.0
"""A FIFO, device or socket that sends nothing for this long is given up."""

_CHUNK: Final = 64 * KIB
_BOM: Final = b"\xef\xbb\xbf"


class UnreadableInput(ConfigurationError):
    """An input that cannot be used: missing, a directory, too large, silent or not UTF-8.

    The message is ``cannot read <what>: <reason>``; ``missing`` is true when it does not exist.
    """

    def __init__(
        self, what: str, reason: str, *, hint: str | None = None, missing: bool = False
    ) -> None:
        super().__init__(f"cannot read {what}: {reason}", hint=hint)
        self.what = what
        self.reason = reason
        self.missing = missing


#: PyYAML contexts whose start is where the mistake is (an unclosed quote, a key without its
#: ':'), with what to say; for any other error its problem's place is.
YAML_OPENINGS: Final = {
    "while scanning a quoted scalar": "a quoted value is not closed",
    "while scanning a simple key": "a key has no ':' after it",
}


def yaml_problem(error: Exception, text: str | None = None) -> tuple[int | None, str]:
    """(1-based line or None, what is wrong) for a PyYAML error, the line being where the
    mistake is rather than where the parser noticed it (often the end of the file). Given the
    ``text``: a '[' or '{' never closed is named, and so is a quoted value spanning lines
    before the problem (a missing closing quote is found lines later).
    """
    opening = YAML_OPENINGS.get(getattr(error, "context", None) or "")
    mark = getattr(error, "context_mark" if opening else "problem_mark", None)
    what = opening or getattr(error, "problem", None) or (str(error).splitlines() or ["?"])[0]
    line = mark.line + 1 if mark is not None else None
    if opening is None and text is not None and line is not None:
        bracket, quoted = _open_spans(text, line)
        if bracket is not None and "nesting" not in what:  # libyaml's depth limit is its own
            line, what = bracket[0], f"a '{bracket[1]}' is not closed"
        elif quoted is not None:
            what += f" (the quoted value from line {quoted} runs on; is its closing quote missing?)"
    return line, what


def _open_spans(text: str, line: int) -> tuple[tuple[int, str] | None, int | None]:
    """The innermost '[' or '{' never closed (its line and character), and the first line of
    the last quoted value that spans lines before ``line``."""
    import yaml

    brackets: list[tuple[int, str]] = []
    quoted = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.FlowSequenceStartToken | yaml.FlowMappingStartToken):
                brackets.append((token.start_mark.line + 1, "[" if isinstance(
                    token, yaml.FlowSequenceStartToken) else "{"))
            elif isinstance(token, yaml.FlowSequenceEndToken | yaml.FlowMappingEndToken):
                if brackets:
                    brackets.pop()
            elif (isinstance(token, yaml.ScalarToken) and token.style in ("'", '"')
                    and token.end_mark.line > token.start_mark.line
                    and token.start_mark.line + 1 < line):
                quoted = token.start_mark.line + 1
    except yaml.YAMLError:
        pass
    return (brackets[-1] if brackets else None), quoted


def describe_size(size: int) -> str:
    """``4 MiB``, ``64 KiB`` or ``512 bytes``."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


def read_input(
    source: str | os.PathLike[str], *, limit: int, what: str, stdin: IO[bytes] | None = None
) -> bytes:
    """The bytes of ``source`` (a path, or ``-`` for stdin), at most ``limit`` of them.

    ``what`` names the input in errors: ``"connection file acme.yaml"``.
    """
    if str(source) == "-":
        return _checked_size(_read_stdin(stdin, limit + 1), limit, what)
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as problem:
        missing = isinstance(problem, FileNotFoundError)
        raise UnreadableInput(what, _reason(problem), missing=missing) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableInput(what, "it is a directory", hint="name a file")
        stream = not stat.S_ISREG(mode)
        return _checked_size(_read_fd(fd, limit + 1, what, stream=stream), limit, what)
    finally:
        os.close(fd)


def read_text_input(
    source: str | os.PathLike[str], *, limit: int, what: str, stdin: IO[bytes] | None = None
) -> str:
    """:func:`read_input` decoded strictly as UTF-8."""
    return decode_text(read_input(source, limit=limit, what=what, stdin=stdin), what)


def decode_text(data: bytes, what: str) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped); else :class:`UnreadableInput`."""
    try:
        return data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as problem:
        offset = problem.start + (len(_BOM) if data.startswith(_BOM) else 0)
        byte = data[offset:offset + 1].hex()
        raise UnreadableInput(
            what, f"not UTF-8 text (byte 0x{byte} at offset {offset})",
            hint="save it as UTF-8",
        ) from None


def check_size(data: bytes | str, limit: int, what: str) -> None:
    """Refuse inline input (an argument) larger than ``limit`` bytes, like a file."""
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > limit:
        raise _too_large(what, limit)


def _checked_size(data: bytes, limit: int, what: str) -> bytes:
    if len(data) > limit:
        raise _too_large(what, limit)
    return data


def _too_large(what: str, limit: int) -> UnreadableInput:
    return UnreadableInput(
        what, f"larger than {describe_size(limit)}",
        hint="the limit is in the README's Limits table",
    )


def _read_fd(fd: int, most: int, what: str, *, stream: bool) -> bytes:
    """Up to ``most`` bytes of ``fd``. A ``stream`` (FIFO, device, socket) is polled: it must
    send something at least every STREAM_IDLE_SECONDS."""
    poller = select.poll() if stream else None
    if poller is not None:
        poller.register(fd, select.POLLIN)
    chunks: list[bytes] = []
    size = 0
    while size < most:
        if poller is not None and not poller.poll(STREAM_IDLE_SECONDS * 1000):
            raise UnreadableInput(
                what, f"no data for {STREAM_IDLE_SECONDS:g} s",
                hint="is anything writing to it?",
            )
        try:
            chunk = os.read(fd, min(_CHUNK, most - size))
        except BlockingIOError:  # woken without data: poll again
            continue
        except OSError as problem:
            raise UnreadableInput(what, _reason(problem)) from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _read_stdin(stream: IO[bytes] | None, most: int) -> bytes:
    """At most ``most`` bytes of ``stream`` (default: this process's stdin; none if closed)."""
    if stream is None:
        stream = getattr(sys.stdin, "buffer", sys.stdin)
    if stream is None:
        return b""
    data = stream.read(most) or b""
    return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data


def _reason(problem: OSError) -> str:
    return problem.strerror or type(problem).__name__


__all__ = [
    "MAX_CONNECTION_BYTES",
    "MAX_JSON_INPUT_BYTES",
    "MAX_MANIFEST_BYTES",
    "MAX_REPLAY_BODY_BYTES",
    "MAX_SEED_BYTES",
    "MAX_WORKFLOW_BYTES",
    "STREAM_IDLE_SECONDS",
    "YAML_OPENINGS",
    "UnreadableInput",
    "check_size",
    "decode_text",
    "describe_size",
    "read_input",
    "read_text_input",
    "yaml_problem",
]
