"""The layering of docs/architecture.md, enforced: no import cycle, no import of a
lower layer, every module placed, the runtime apart from the static analysis.

Every import counts: at module level, inside functions, and under
`if TYPE_CHECKING:`. The layers are read from the table in docs/architecture.md,
so the document and the check cannot drift apart."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
DOC = ROOT / "docs" / "architecture.md"
#: the layer whose modules must not meet the others'
APART = "runtime"

Graph = dict[str, set[str]]
#: packages that only hold other rows' packages: they place nothing but themselves
CONTAINERS = ("poolsafe", "poolsafe.fix")
#: the modules at the top of the tree besides the package's face: the entry points
ENTRY_MODULES = {"poolsafe.__main__", "poolsafe.pytest_plugin"}


def read_layers(doc: str) -> list[tuple[str, list[str]]]:
    """(layer, module prefixes) for each layer of the table, from the bottom up.

    A row is one package (its second cell); neighbouring rows of one layer make one
    layer. The module names a row's third cell names (an entry module at the top of
    the tree, a container package) belong to that row too."""
    layers: list[tuple[str, list[str]]] = []
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        prefixes = re.findall(r"`(poolsafe[\w.]*)`", cells[1] + " " + cells[2])
        if not prefixes:
            continue
        if layers and layers[-1][0] == cells[0]:
            layers[-1][1].extend(prefixes)
        else:
            layers.append((cells[0], prefixes))
    return layers


def row_packages(doc: str) -> list[str]:
    """The package each row of the table is about (its second cell)."""
    out = []
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("layer", "") and not set(cells[0]) <= {"-"}:
            out.extend(re.findall(r"`(poolsafe[\w.]*)`", cells[1]))
    return out


def modules(src: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module under `src`."""
    out = {}
    for path in sorted((src / "poolsafe").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        out[".".join(parts)] = (path, package)
    return out


def imports_of(source: str, name: str, package: bool, known: set[str]) -> set[str]:
    """The project modules a module's source imports, anywhere in it."""
    pkg = name if package else name.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str) -> None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                add(full if full in known else module)
    return {m for m in found if m.split(".")[0] == "poolsafe"}


def project_graph(src: Path) -> Graph:
    mods = modules(src)
    known = set(mods)
    return {name: imports_of(path.read_text(encoding="utf-8"), name, package, known)
            for name, (path, package) in mods.items()}


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(graph):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return out


def layer_of(module: str, layers: list[tuple[str, list[str]]]) -> tuple[int, str] | None:
    """(position, name) of the row whose prefix matches most of `module`; the
    containers `poolsafe` and `poolsafe.fix` match only themselves."""
    best: tuple[int, int, str] | None = None
    for position, (name, prefixes) in enumerate(layers):
        for prefix in prefixes:
            hit = module == prefix or (prefix not in CONTAINERS
                                       and module.startswith(prefix + "."))
            if hit and (best is None or len(prefix) > best[0]):
                best = (len(prefix), position, name)
    return None if best is None else (best[1], best[2])


def violations(graph: Graph, layers: list[tuple[str, list[str]]]) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module, layers)
        if here is None:
            out.append(f"{module}: in no layer of docs/architecture.md")
            continue
        for target in sorted(targets):
            there = layer_of(target, layers)
            if there is None:
                continue  # reported as a module of its own
            if (here[1] == APART) != (there[1] == APART) and there[1] != "foundation":
                out.append(f"{module} ({here[1]}) imports {target} ({there[1]}): the runtime "
                           "and the static analysis are kept apart")
            elif here[1] == APART and there[1] == "foundation" and target != "poolsafe":
                out.append(f"{module} ({here[1]}) imports {target}: the runtime loads none "
                           "of the static analysis")
            elif there[0] > here[0] and here[1] != APART:
                out.append(f"{module} ({here[1]}) imports {target} ({there[1]}), "
                           "a lower layer")
    return out


LAYERS = read_layers(DOC.read_text(encoding="utf-8"))
GRAPH = project_graph(SRC)


def test_the_document_has_the_layers() -> None:
    names = [name for name, _ in LAYERS]
    assert names[0] == "foundation" and APART in names and len(names) >= 8, names
    assert len(names) == len(set(names)), f"a layer's rows are not neighbours: {names}"


def test_each_row_is_one_package_and_the_top_holds_only_entry_points() -> None:
    doc = DOC.read_text(encoding="utf-8")
    packages = row_packages(doc)
    assert len(packages) == len(set(packages)), packages
    mods = modules(SRC)
    assert [p for p in packages if not mods.get(p, (None, False))[1]] == []
    top = {m for m in mods if m.count(".") == 1 and not mods[m][1]}
    assert top == ENTRY_MODULES
    # a package that is no row's own is a container, and a container holds no code
    for name, (path, package) in mods.items():
        if package and name in CONTAINERS:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            assert all(isinstance(n, (ast.Expr, ast.Assign)) for n in tree.body), name


def test_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_no_import_of_a_lower_layer_and_every_module_placed() -> None:
    assert violations(GRAPH, LAYERS) == []


def test_no_shared_analysis_module_under_rules() -> None:
    rules = sorted(m for m in GRAPH if m.startswith("poolsafe.rules."))
    allowed = re.compile(r"poolsafe\.rules\.(base|cases(\..*)?|ps\d{3}_\w+)$")
    assert [m for m in rules if not allowed.match(m)] == []


# ------------------------------------------------------------ the checker itself
SMALL_DOC = """
| layer | modules | what |
|---|---|---|
| foundation | `poolsafe`, `poolsafe.core.model` | x |
| analysis | `poolsafe.analysis` | x |
| rules | `poolsafe.rules` | x |
| runtime | `poolsafe.runtime` | x |
"""


@pytest.mark.parametrize(("graph", "expected"), [
    ({"poolsafe.rules.a": {"poolsafe.analysis.b"}, "poolsafe.analysis.b": set()}, []),
    ({"poolsafe.analysis.b": {"poolsafe.rules.a"}, "poolsafe.rules.a": set()},
     ["poolsafe.analysis.b (analysis) imports poolsafe.rules.a (rules), a lower layer"]),
    ({"poolsafe.runtime.p": {"poolsafe.analysis.b"}, "poolsafe.analysis.b": set()},
     ["poolsafe.runtime.p (runtime) imports poolsafe.analysis.b (analysis): the runtime "
      "and the static analysis are kept apart"]),
    ({"poolsafe.unplaced": set()}, ["poolsafe.unplaced: in no layer of docs/architecture.md"]),
])
def test_the_checker_finds_what_it_must(graph: Graph, expected: list[str]) -> None:
    assert violations(graph, read_layers(SMALL_DOC)) == expected


def test_the_checker_finds_cycles_through_function_level_imports() -> None:
    source_a = "def f():\n    from poolsafe.rules import b\n"
    source_b = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    known = {"poolsafe", "poolsafe.rules", "poolsafe.rules.a", "poolsafe.rules.b"}
    graph = {"poolsafe.rules.a": imports_of(source_a, "poolsafe.rules.a", False, known),
             "poolsafe.rules.b": imports_of(source_b, "poolsafe.rules.b", False, known)}
    assert cycles(graph) == [["poolsafe.rules.a", "poolsafe.rules.b"]]
