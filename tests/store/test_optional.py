"""psycopg is optional: without it the store works on SQLite, and a PostgreSQL URL gets one
line saying what to install."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["psycopg"] = None  # as if not installed: importing it raises ImportError
    sys.modules["psycopg_pool"] = None
    from runtime.errors import ConfigurationError
    from runtime.store.storage import open_state, open_storage
    with open_storage(state_path=sys.argv[1] + "/s.db", history_path=sys.argv[1] + "/h.db",
                      environ={}) as storage:
        storage.inbox().accept("new_lead-" + "0" * 20, "k", {})
        print(storage.inbox().counts()["pending"])
    try:
        open_state("postgresql://u:pw@127.0.0.1/db")
    except ConfigurationError as problem:
        print(problem)
""")


def test_the_store_works_without_psycopg(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1",
        "PostgreSQL support is not installed (psycopg) "
        "(pip install 'leadsquared-connector[postgres]')",
    ]
