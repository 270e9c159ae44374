"""The sandbox's guesses are all in one table (runtime/sandbox/FIDELITY.md), linked from README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "runtime" / "sandbox"
TABLE = SANDBOX / "FIDELITY.md"
MARK = re.compile(r"\b(LIKELY|UNKNOWN|INVENTED)\b")


def test_every_sandbox_file_with_a_guess_has_rows_in_the_table() -> None:
    table = TABLE.read_text(encoding="utf-8")
    marked = sorted(
        path.relative_to(SANDBOX).as_posix() for path in SANDBOX.rglob("*.py")
        if MARK.search(path.read_text(encoding="utf-8"))
    )
    assert marked  # the sandbox does mark its guesses
    assert [name for name in marked if f"`{name}`" not in table] == []


def test_the_readme_links_the_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "runtime/sandbox/FIDELITY.md" in readme
