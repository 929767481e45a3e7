"""Imports flow one way (README, Development: the package map).

    cli/ (and __main__)                                          front end
      -> images/ containers/ network/ volumes/ build/ api/       engine
        -> runtime/                                              OCI runtime
          -> store/ registry/ archive/                           on-disk state, Distribution client, safe tar
            -> base modules (errors, values, logger, oci, reference, digest, ...)

A module may import any module in its own package, and modules of a lower layer. Within a layer, only the
pairs in ``PEERS`` (so engine packages cannot import each other in a circle). Nothing but ``cli/`` imports
``geedocker.cli``. No two modules import each other, directly or through others, at run time: imports
inside functions count, imports under ``if TYPE_CHECKING:`` do not (for cycles; they still obey the
directions). The graph is read from the source with ``ast``, without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

FRONT = {"cli", "__main__"}
ENGINE = {"images", "containers", "network", "volumes", "build", "api"}
RUNTIME = {"runtime"}
LOWER = {"store", "registry", "archive", "format"}
BASE = {"__init__", "argparsing", "digest", "entrypoint", "errors", "launcher", "logger", "oci", "procs", "reference",
        "timefmt", "trees", "values"}
LAYERS = [BASE, LOWER, RUNTIME, ENGINE, FRONT]  # lowest first
# Allowed imports between packages of the same layer (importer, imported).
PEERS = {
    ("api", "build"), ("api", "containers"), ("api", "images"), ("api", "network"), ("api", "volumes"),
    ("build", "containers"), ("build", "images"), ("build", "network"), ("build", "volumes"),
    ("containers", "images"), ("containers", "network"), ("containers", "volumes"),
    ("volumes", "images"),
    ("store", "archive"),
    ("__main__", "cli"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in (SRC / "geedocker").rglob("*.py"):
        parts = list(p.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 2:
            parts.pop()
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> list[tuple[str, bool, int]]:
    """(imported geedocker module, only for type checking, line) for every import statement in ``path``."""
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    out: list[tuple[str, bool, int]] = []

    def target(name: str) -> str | None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST, typing_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_stmt(stmt, True)
                for stmt in child.orelse:
                    visit_stmt(stmt, typing_only)
            else:
                visit_stmt(child, typing_only)

    def visit_stmt(node: ast.AST, typing_only: bool) -> None:
        if isinstance(node, ast.Import):
            for a in node.names:
                t = target(a.name) if a.name.startswith("geedocker") else None
                if t:
                    out.append((t, typing_only, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("geedocker"):
                for a in node.names:
                    t = target(f"{base}.{a.name}") if f"{base}.{a.name}" in MODULES else target(base)
                    if t:
                        out.append((t, typing_only, node.lineno))
        visit(node, typing_only)

    visit(ast.parse(path.read_text()), False)
    return [(t, typing_only, line) for t, typing_only, line in out if t != module]


GRAPH = {m: _imports(m, p) for m, p in MODULES.items()}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"geedocker.{package} is in no layer: add it to the map in tests/test_layers.py and "
                         "to the README's Development section")


def test_every_package_has_a_layer() -> None:
    for m in MODULES:
        _layer(_package(m))


def test_imports_point_down() -> None:
    wrong = []
    for m, imports in GRAPH.items():
        src = _package(m)
        for t, _, line in imports:
            dst = _package(t)
            if src == dst or _layer(src) > _layer(dst) or (src, dst) in PEERS:
                continue
            if _layer(src) == _layer(dst) == 0:
                continue  # base modules: only cycles are checked
            wrong.append(f"{MODULES[m].relative_to(SRC)}:{line}: {m} imports {t}")
    assert wrong == []


def test_only_the_cli_imports_the_cli() -> None:
    wrong = [f"{MODULES[m].relative_to(SRC)}:{line}: {m} imports {t}"
             for m, imports in GRAPH.items() if _package(m) not in FRONT
             for t, _, line in imports if _package(t) == "cli"]
    assert wrong == []


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_no_import_cycles() -> None:
    edges = {m: {t for t, typing_only, _ in imports if not typing_only} for m, imports in GRAPH.items()}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    # network/__init__ imports its endpoint module inside functions, and Layout only for annotations
    imports = GRAPH["geedocker.network"]
    assert ("geedocker.network.endpoint", False) in {(t, tc) for t, tc, _ in imports}
    assert ("geedocker.store.layout", True) in {(t, tc) for t, tc, _ in imports}
