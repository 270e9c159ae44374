"""Build hook: the wheel carries the connector's own files as package data of ``runtime``.

``connector.yaml``, ``schemas/`` and ``docs/`` stay at the repository root, where a checkout
(and an editable install) reads them. A built wheel gets a copy of them in ``runtime/bundle/``,
where :mod:`runtime.plugin.resources` finds them. Everything else is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
#: Keep in step with runtime.plugin.resources.BUNDLED (tests/host/test_distribution.py checks).
BUNDLED = ("connector.yaml", "schemas", "docs")
IGNORED = shutil.ignore_patterns("__pycache__", "*.py[cod]", ".*")


class BuildWithBundle(build_py):
    """``build_py`` plus the copy into ``runtime/bundle/`` (not for editable installs)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        bundle = Path(self.build_lib) / "runtime" / "bundle"
        for name in BUNDLED:
            source, target = HERE / name, bundle / name
            if source.is_dir():
                shutil.copytree(source, target, ignore=IGNORED, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildWithBundle})
