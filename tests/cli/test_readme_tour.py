"""README's tour of ``lsq`` names every command (a merged command without a row went unseen)."""

from __future__ import annotations

import argparse
from pathlib import Path

from runtime.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def _tour() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## A tour of `lsq`")
    return readme[start:readme.index("\n## ", start + 1)]


def test_the_tour_names_every_command() -> None:
    (commands,) = [action for action in build_parser()._actions
                   if isinstance(action, argparse._SubParsersAction)]
    tour = _tour()
    missing = [name for name in commands.choices if f"`lsq {name}" not in tour]
    assert missing == []
