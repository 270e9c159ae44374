"""A reader that stops early (``lsq ... | head``) ends the command quietly, without a traceback."""

from __future__ import annotations

import subprocess
import sys


def test_output_piped_into_a_reader_that_leaves_gives_no_traceback() -> None:
    shell = f"{sys.executable} -m runtime validate --json | head -c 1"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout == "{"
    assert "Traceback" not in done.stderr
    assert done.returncode in (0, 141)
