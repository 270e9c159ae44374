"""``lsq mcp``'s options and its one clear line without the SDK (the serving itself:
tests/mcp_server)."""

from __future__ import annotations

import sys

import pytest

from runtime.cli import UsageError, main
from runtime.cli.mcp_cmd import parse_address


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("8000", ("127.0.0.1", 8000)),
        (":8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("[::1]:9000", ("::1", 9000)),
    ],
)
def test_http_address(value: str, address: tuple[str, int]) -> None:
    assert parse_address(value) == address


@pytest.mark.parametrize("value", ["", "localhost", "host:http", "8000:", "0", "65536", "-1"])
def test_a_bad_http_address_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match=r"--http: .* is not \[HOST:\]PORT"):
        parse_address(value)


def test_a_bad_http_address_exits_2_before_anything_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mcp", "--http", "nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--http: 'nowhere'" in err


def test_without_the_sdk_it_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [name for name in sys.modules if name == "mcp" or name.startswith(
            ("mcp.", "runtime.mcp"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "mcp", None)  # `import mcp` now fails as if not installed
    assert main(["mcp"]) == 1
    assert capsys.readouterr().err == (
        "error: lsq mcp needs the MCP SDK, which is not installed "
        "(pip install 'leadsquared-connector[mcp]')\n"
    )
