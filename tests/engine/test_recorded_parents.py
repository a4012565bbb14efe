"""The parent map recorded by the walk that collects a module is the one
`parent_map` would build: every node of the module maps to the same parent."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.module import collect_module
from poolsafe.fix.fixers.edits import _build_parents, parent_map
from poolsafe.scan.checking import parse_source

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("fixtures/**/*.py"), *ROOT.glob("src/poolsafe/analysis/*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_recorded_parents_match_a_walk_of_their_own(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    tree = cst.parse_module(text)
    recorded: dict[int, cst.CSTNode] = {}
    collect_module(str(path), path, path.relative_to(ROOT), text, tree, recorded)
    built = _build_parents(tree)
    assert recorded.keys() == built.keys()
    assert all(recorded[k] is built[k] for k in built)


def test_a_parsed_module_answers_parent_map_without_a_new_walk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import poolsafe.fix.fixers.edits as edits

    path = ROOT / "src/poolsafe/analysis/module.py"
    module = parse_source(str(path), path, Path("module.py"), path.read_text(encoding="utf-8"))

    def no_walk(root: cst.CSTNode) -> dict[int, cst.CSTNode]:
        raise AssertionError("parent_map walked the tree again")

    monkeypatch.setattr(edits, "_build_parents", no_walk)
    parents = parent_map(module.tree)
    first = module.tree.body[0]
    assert parents[id(first)] is module.tree
