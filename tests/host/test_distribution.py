"""The installable distribution: the sdist and the wheel carry the connector's files, and the
README's host (``examples/host.py``) and ``lsq`` run from the installed wheel alone, in an
empty directory, with no checkout on the path and no ``LSQ_*`` variable.

CI (``.ci/run``) builds the distribution once and installs the wheel into a fresh virtual
environment; it hands both over in ``LSQ_TEST_DIST`` (the folder with the sdist and the wheel)
and ``LSQ_TEST_PYTHON`` (that environment's interpreter). Without them this module builds
the distribution itself and installs the wheel without dependencies into a folder that it
puts first on the path of this interpreter (whose dependencies the wheel then uses).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.plugin.resources import BUNDLE, BUNDLED

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 120


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("LSQ_TEST_DIST")
    if given:
        return Path(given)
    out = tmp_path_factory.mktemp("dist")
    # sdist, then the wheel built from the sdist (what a package index serves)
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=TIMEOUT,
    )
    return out


def _one(folder: Path, pattern: str) -> Path:
    [found] = folder.glob(pattern)
    return found


@dataclass(frozen=True)
class Installed:
    python: str
    env: dict[str, str]
    site: Path | None  # the folder the wheel went into, when this module installed it


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LSQ_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    given = os.environ.get("LSQ_TEST_PYTHON")
    if given:
        return Installed(given, env, None)
    site = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
         "--target", str(site), str(_one(dist, "*.whl"))],
        check=True, capture_output=True, timeout=TIMEOUT,
    )
    return Installed(sys.executable, {**env, "PYTHONPATH": str(site)}, site)


@pytest.fixture
def empty_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "empty"
    folder.mkdir()
    yield folder


def _run(installed: Installed, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed.python, *args], cwd=folder, env=installed.env, capture_output=True,
        text=True, timeout=TIMEOUT,
    )


def _checkout_files(*patterns: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for pattern in patterns for path in ROOT.glob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_carries_the_connector(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        entry_points = next(
            wheel.read(name).decode() for name in names if name.endswith("entry_points.txt")
        )
    bundled = _checkout_files(*(f"{name}/**/*" if (ROOT / name).is_dir() else name
                                for name in BUNDLED))
    assert {f"runtime/{BUNDLE}/{name}" for name in bundled} <= names
    assert any(name.startswith(f"runtime/{BUNDLE}/schemas/_meta/") for name in names)
    code = _checkout_files("runtime/**/*.py", "operations/*.py", "triggers/*.py",
                           "runtime/sandbox/seed/*.yaml")
    assert code <= names
    assert "[ipaas.connectors]\nleadsquared = runtime.host" in entry_points
    assert "lsq = runtime.cli:main" in entry_points


def test_the_sdist_carries_what_the_wheel_is_built_from(dist: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        names = {name.partition("/")[2] for name in sdist.getnames()}
    wanted = _checkout_files("connector.yaml", "setup.py", "MANIFEST.in", "pyproject.toml",
                             "schemas/**/*.json", "docs/**/*.md", "operations/*.py",
                             "triggers/*.py", "runtime/sandbox/seed/*.yaml", "examples/*")
    assert wanted <= names


def test_the_readme_host_runs_from_the_installed_wheel(
    installed: Installed, empty_dir: Path
) -> None:
    shutil.copy(ROOT / "examples" / "host.py", empty_dir)
    done = _run(installed, empty_dir, "host.py")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "LeadSquared 33 actions, e.g. create_lead"
    assert lines[1].startswith("find_lead: ")
    assert lines[2] == "new_account: ['Acme Corp', 'Initech Solutions']"
    assert lines[3].startswith("new_lead: ")
    assert "using the embedded LeadSquared sandbox" in done.stderr


def test_the_installed_copy_is_what_runs(installed: Installed, empty_dir: Path) -> None:
    probe = ("import operations, runtime\n"
             "from runtime.plugin import resources\n"
             "print(resources.INSTALLED, resources.OWN_ROOT, runtime.__file__, "
             "operations.__file__, sep='\\n')")
    done = _run(installed, empty_dir, "-c", probe)
    assert done.returncode == 0, done.stderr
    flag, own_root, *modules = done.stdout.splitlines()
    assert flag == "True" and Path(own_root).parts[-2:] == ("runtime", BUNDLE)
    sources = [ROOT / name for name in ("runtime", "operations", "triggers")]
    assert not any(Path(path).is_relative_to(source) for path in modules for source in sources)
    home = installed.site or Path(installed.python).parent.parent  # the folder, or the venv
    assert all(Path(path).is_relative_to(home.resolve()) for path in [own_root, *modules])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["validate"], "connector.yaml: valid"),
        (["docs", "--check"], "up to date (46 files)"),
        (["invoke", "action", "find_list", "-i", '{"name": "Newsletter"}', "--json"],
         '"found": true'),
    ],
)
def test_lsq_runs_from_any_directory(
    installed: Installed, empty_dir: Path, args: list[str], expected: str
) -> None:
    done = _run(installed, empty_dir, "-m", "runtime", *args)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


def test_the_installed_docs_are_read_only(installed: Installed, empty_dir: Path) -> None:
    done = _run(installed, empty_dir, "-m", "runtime", "docs")
    assert done.returncode == 2
    assert done.stderr == "lsq: the installed connector's docs are read-only: give --out DIR\n"


def test_a_checkout_runs_from_its_own_files() -> None:
    from runtime.plugin import resources

    assert (resources.OWN_ROOT, resources.INSTALLED) == (ROOT, False)
    assert resources.handler_base(ROOT) == ROOT
