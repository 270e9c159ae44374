"""`lsq run` on each example (embedded sandbox, no connection configured) prints a successful
run; `lsq validate` accepts them; `lsq serve` stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.cli.common import EMBEDDED_NOTE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "welcome_email": ("new_lead", ["welcome (send_email): succeeded"]),
    "opportunity_follow_up": ("new_opportunity", ["follow_up (create_task): succeeded"]),
    "sync_accounts": ("account_updated", ["mirror (find_account): succeeded",
                                          "copy (update_account): succeeded"]),
    "segment_and_enrich": ("lead_added_to_list", ["lead (find_lead): succeeded",
                                                  "enrich (update_lead): succeeded"]),
}


@pytest.fixture(autouse=True)
def no_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LSQ_ACCESS_KEY", "LSQ_SECRET_KEY", "LSQ_API_HOST", "LSQ_CONNECTOR_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LSQ_STATE_DB", str(tmp_path / "state.sqlite3"))
    monkeypatch.delenv("LSQ_HISTORY_DB", raising=False)


def test_examples_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(ROOT / "examples" / f"{name}.yaml") for name in EXAMPLES]
    assert main(["validate", *paths]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"{path}: valid" for path in paths]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_lsq_run_prints_a_successful_run(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger, steps = EXAMPLES[name]

    assert main(["run", str(ROOT / "examples" / f"{name}.yaml")]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("run 1: succeeded — ")
    assert lines[1].startswith(f"  trigger {trigger}: ")
    assert [line.split(", ")[0].split(" (its")[0] for line in lines[2:]] == [
        f"  {position}. {step}" for position, step in enumerate(steps, start=1)
    ]
    note = (f"{EMBEDDED_NOTE}; its records are kept in {tmp_path.resolve()}/sandbox.json"
            " (lsq sandbox reset empties it)\n")
    assert err in ("", note)  # the note once per process
    assert (tmp_path / "history.sqlite3").exists()  # next to the state file


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("LSQ_")}
    env["LSQ_STATE_DB"] = str(tmp_path / "state.sqlite3")
    process = subprocess.Popen(
        [sys.executable, "-c", "from runtime.cli import main; raise SystemExit(main())",
         "serve", str(ROOT / "examples" / "welcome_email.yaml"), "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = []
        while not lines or lines[-1] != "serving; stop with Ctrl-C or SIGTERM\n":
            line = process.stdout.readline()
            assert line, process.stderr.read()
            lines.append(line)
        assert lines[0].startswith("receiving webhooks at http://127.0.0.1:")
        assert lines[1].startswith("new_lead [new_lead-") and lines[1].endswith(
            "]: subscribed (instant) -> Welcome email for every new lead\n"
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        err = process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
    assert f"{EMBEDDED_NOTE}; its records are kept in " in err
    assert err.rstrip().endswith("stopping: finishing the current run\nstopped")
    assert "Traceback" not in err
