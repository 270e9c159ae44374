"""The house's rules, read from the code's own imports (every import counts: top-level, lazy
inside a function, and ``TYPE_CHECKING`` ones).

- Layers: a package imports only the packages listed for it in ``runtime/__init__.py``'s
  table (``LAYERS`` below), never one above it.
- The sandbox is imported only by itself, by ``runtime.embedded`` (the embedded default) and
  by ``lsq sandbox`` (``runtime.cli.sandbox_cmd``).
- Handlers (``operations/``, ``triggers/``) never import ``requests``, the sandbox or a layer
  above the plugin contract.
- No module imports itself back through a chain of imports (no cycles).
- ``runtime/__init__.py``'s table and README.md's Layout tree name every package.
- Only the store (``runtime/store/``) talks to databases: no other module imports a database
  driver or holds SQL; the rest of the runtime does not know which backend it has. The one
  exception is procrastinate in ``runtime/workers/`` (see ``DATABASE_ENGINE_USERS``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("runtime", "operations", "triggers")

#: The bottom: every package except the sandbox may import these; they import nothing above.
BASE = {"runtime.errors", "runtime.clock", "runtime.observe", "runtime.text", "runtime.inputs"}
#: package -> the connector packages it may import besides itself and BASE. Mirrors the table in
#: runtime/__init__.py; a new package gets a row here and there.
LAYERS: dict[str, set[str]] = {
    "runtime.errors": {"runtime.text"},
    "runtime.clock": set(),
    "runtime.text": set(),
    "runtime.inputs": {"runtime.errors", "runtime.text"},
    "runtime.observe": {"runtime.errors", "runtime.clock"},
    "runtime.api": BASE,
    "runtime.store": BASE,
    "runtime.plugin": {"runtime.api"} | BASE,
    "runtime.workflows": {"runtime.plugin", "runtime.api", "runtime.store"} | BASE,
    "runtime.engine": {
        "runtime.workflows", "runtime.plugin", "runtime.api", "runtime.store",
    } | BASE,
    "runtime.embedded": {"runtime.api", "runtime.sandbox"} | BASE,
    "runtime.sandbox": set(),
    "operations": {"runtime.api", "runtime.plugin", "operations"} | BASE,
    "triggers": {"runtime.api", "runtime.plugin", "triggers"} | BASE,
}
#: The top: what people and hosts call. Each may import the layers listed, never another top
#: package except as listed.
BELOW_TOP = {
    "runtime.engine", "runtime.workflows", "runtime.plugin", "runtime.api", "runtime.store",
} | BASE
TOP = {
    "runtime.web": BELOW_TOP,
    "runtime.workers": BELOW_TOP,
    "runtime.ui": BELOW_TOP,
    "runtime.mcp": BELOW_TOP | {"runtime.embedded", "runtime.host"},
    "runtime.host": BELOW_TOP | {"runtime.embedded"},
    "runtime.cli": {"*"},
    "runtime.__main__": {"runtime.cli"},
    "runtime": set(),
}
SANDBOX_IMPORTERS = {"runtime.embedded", "runtime.cli.sandbox_cmd"}
DATABASE_DRIVERS = {"sqlite3", "psycopg", "psycopg_pool", "psycopg2", "procrastinate"}
#: The one exception: runtime.workers runs procrastinate, a job queue that keeps its own tables
#: in the deployment's PostgreSQL database and reaches them itself (through psycopg). Our own
#: rows still go through the store only; the workers never import a driver or hold SQL.
DATABASE_ENGINE_USERS = {"runtime.workers": {"procrastinate"}}
SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|DELETE\s+FROM|CREATE\s+(TABLE|INDEX)|"
                 r"UPDATE\s+\w+\s+SET|PRAGMA\s+\w+)\b", re.DOTALL)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for source in SOURCES:
        for path in sorted((ROOT / source).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from runtime.api import client` imports a module
                yield node.lineno, f"{target}.{alias.name}"


MODULES = modules()


def owner(module: str, table: dict[str, set[str]]) -> str | None:
    """The longest key of ``table`` that ``module`` is or lies inside."""
    best = None
    for key in table:
        if (module == key or module.startswith(key + ".")) and (
            best is None or len(key) > len(best)
        ):
            best = key
    return best


def connector_module(target: str) -> str | None:
    """The connector module an import names (None for third-party and standard modules)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def edges() -> Iterator[tuple[str, int, str]]:
    for name, path in MODULES.items():
        for line, target in imports_of(name, path):
            module = connector_module(target)
            if module is not None and module != name:
                yield name, line, module


EDGES = sorted(set(edges()))
ALL_LAYERS = LAYERS | TOP


def test_every_module_belongs_to_a_layer() -> None:
    homeless = [name for name in MODULES if owner(name, ALL_LAYERS) is None]
    assert homeless == [], "add these packages to LAYERS (and runtime/__init__.py's table)"


def test_no_layer_imports_a_layer_it_may_not() -> None:
    problems = []
    for source, line, target in EDGES:
        home, there = owner(source, ALL_LAYERS), owner(target, ALL_LAYERS)
        allowed = ALL_LAYERS[home]
        if there == home or "*" in allowed:
            continue
        if there not in allowed:
            problems.append(f"{MODULES[source].relative_to(ROOT)}:{line}: {home} imports {target}")
    assert problems == []


def test_only_the_embedded_default_and_lsq_sandbox_import_the_sandbox() -> None:
    problems = [
        f"{MODULES[source].relative_to(ROOT)}:{line}: imports {target}"
        for source, line, target in EDGES
        if target.startswith("runtime.sandbox")
        and not source.startswith("runtime.sandbox")
        and source not in SANDBOX_IMPORTERS
    ]
    assert problems == []


@pytest.mark.parametrize("source", ["operations", "triggers"])
def test_handlers_never_import_requests(source: str) -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}"
        for name, path in MODULES.items()
        if name.startswith(source)
        for line, target in imports_of(name, path)
        if target == "requests" or target.startswith("requests.")
    ]
    assert problems == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for source, _, target in EDGES:
        # a package's __init__ importing its own modules is how a package exports; importing
        # a module also runs its package's __init__, which is not an edge back.
        if target.startswith(source + "."):
            continue
        graph.setdefault(source, set()).add(target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_only_the_store_talks_to_databases() -> None:
    problems = []
    for name, path in MODULES.items():
        if name == "runtime.store" or name.startswith("runtime.store."):
            continue
        problems += [
            f"{path.relative_to(ROOT)}:{line}: imports {target}"
            for line, target in imports_of(name, path)
            if target.split(".")[0] in DATABASE_DRIVERS
            and target.split(".")[0] not in DATABASE_ENGINE_USERS.get(
                owner(name, ALL_LAYERS) or "", set())
        ]
        problems += [
            f"{path.relative_to(ROOT)}:{node.lineno}: SQL in a string"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and SQL.search(node.value)
        ]
    assert problems == []


def test_the_table_in_runtime_init_names_every_package() -> None:
    """Each row of LAYERS/TOP has a row in runtime/__init__.py's table, and no row is stale."""
    import runtime

    rows = {
        name.strip("`/")
        for line in (runtime.__doc__ or "").splitlines() if line.startswith("| ``")
        for name in line.split("|")[1].replace(",", " ").split()
    }
    named = {f"runtime.{row}" if row not in ("operations", "triggers") else row for row in rows}
    packages = set(ALL_LAYERS) - {"runtime", "runtime.__main__"}
    assert packages - named == set(), "add these to runtime/__init__.py's table"
    assert named - packages == set(), "these rows of runtime/__init__.py's table are stale"


def test_the_readme_layout_shows_every_runtime_package_and_module() -> None:
    """README.md's Layout tree has a line for each package and top-level module of runtime/."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = readme.split("## Layout", 1)[1].split("```")[1]
    shown = {
        name.strip(",")
        for line in tree.splitlines() if line.startswith("  ") and not line.startswith("   ")
        for name in line.split("  ", 2)[1].split()
    }
    runtime = ROOT / "runtime"
    wanted = {f"{path.parent.name}/" for path in runtime.glob("*/__init__.py")}
    wanted |= {path.name for path in runtime.glob("*.py") if path.name != "__init__.py"}
    assert sorted(wanted - shown) == [], "add these to README.md's Layout tree"
