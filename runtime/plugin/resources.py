"""Where the connector's own files are, in a checkout and in an installed wheel: the one module
that knows.

A checkout (or an editable install) runs from its own files, so editing ``connector.yaml`` and
rerunning is immediate: the root is the folder holding ``runtime/``, ``connector.yaml``,
``schemas/``, ``docs/``, ``operations/`` and ``triggers/``. An installed wheel has no such
folder: its build (``setup.py``) copies ``connector.yaml``, ``schemas/`` and ``docs/`` into
the package data folder ``runtime/bundle/``, found here through :mod:`importlib.resources`,
while ``operations`` and ``triggers`` are installed as top-level packages. Another root
(``--root``, ``$LSQ_CONNECTOR_ROOT``, a test's folder) holds all of them itself. The
sandbox's seed is the sandbox's own package data (it imports nothing of the connector).
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path
from typing import Final

MANIFEST_FILE: Final = "connector.yaml"
#: The folder of ``runtime`` that an installed wheel carries the connector's files in.
BUNDLE: Final = "bundle"
#: The folders and file beside ``runtime/`` that the wheel copies into :data:`BUNDLE`.
BUNDLED: Final = (MANIFEST_FILE, "schemas", "docs")
#: The handler packages (imported by their real names for the connector's own root).
HANDLER_PACKAGES: Final = ("operations", "triggers")
WORKFLOW_SCHEMA: Final = "_meta/workflow.schema.json"


def _package_dir(package: str) -> Path:
    """The folder of an installed, importable package (not a zip: the files are read as files)."""
    folder = importlib.resources.files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is installed in a zip archive; install it as files")
    return folder.resolve()


def _own_root() -> tuple[Path, bool]:
    """(the connector's own root, whether it is an installed bundle)."""
    checkout = _package_dir("runtime").parent
    if (checkout / MANIFEST_FILE).is_file():
        return checkout, False
    return _package_dir("runtime") / BUNDLE, True


#: The root this runtime ships with: the checkout, else the installed bundle.
OWN_ROOT, INSTALLED = _own_root()


def handler_base(root: Path) -> Path:
    """The folder holding ``root``'s ``operations/`` and ``triggers/`` packages: ``root``
    itself, except for the installed bundle, whose handlers are the installed packages."""
    if not (INSTALLED and root == OWN_ROOT):
        return root
    spec = importlib.util.find_spec(HANDLER_PACKAGES[0])
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the installed connector has no {HANDLER_PACKAGES[0]} package")
    return Path(next(iter(spec.submodule_search_locations))).resolve().parent


def is_read_only(root: Path) -> bool:
    """Whether ``root`` is the installed bundle (never written to: ``lsq docs`` needs --out)."""
    return INSTALLED and root == OWN_ROOT


def workflow_schema_path() -> Path:
    """The meta-schema of workflow files (a runtime format: always the runtime's own copy)."""
    return OWN_ROOT / "schemas" / WORKFLOW_SCHEMA
