"""Cheaper answers that must equal the walks they stand for (issue 32): each gate is
compared with the full computation on every module of the fixtures and of every rule
case, and on a generated module that spells the word in other places."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from rule_case_tree import write_rule_cases

from poolsafe.analysis.app_context import pushes_context, pushes_context_of
from poolsafe.analysis.module import ModuleInfo
from poolsafe.fix.equivalence.paths import Side, Walker, code_of
from poolsafe.scan.checking import parse_source

ROOT = Path(__file__).resolve().parents[2]


def _modules(tmp_path: Path) -> list[ModuleInfo]:
    out = []
    cases = write_rule_cases(tmp_path / "cases")
    for path in sorted([*cases.rglob("*.py"), *(ROOT / "fixtures").rglob("*.py")]):
        text = path.read_text()
        try:
            out.append(parse_source(str(path), path, Path(path.name), text))
        except Exception:  # (a case that does not parse is no module to compare)
            continue
    return out


def test_pushes_context_of_equals_the_walk(tmp_path: Path) -> None:
    generated = (
        "def a(app):\n    app.app_context().push()\n\n"
        "def b(app):\n    ctx = app.app_context()\n    ctx.push()\n\n"
        "def c(app):\n    push = 1\n    return push\n\n"
        "def d(app):\n    return 'push'\n")
    modules = [*_modules(tmp_path),
               parse_source("gen.py", tmp_path / "gen.py", Path("gen.py"), generated)]
    pushing = 0
    for module in modules:
        for func in module.all_functions:
            expected = pushes_context(func.node.body)
            assert pushes_context_of(func) == expected, (module.path, func.name)
            pushing += expected
    assert pushing >= 2  # (the generated ones at least: the gate is exercised both ways)


@pytest.mark.parametrize("text", [
    "def a(app):\n    ctx = app.app_context()\n    ctx . push()\n",
    "def a(app):\n    ctx = app.app_context()\n    ctx.\\\n        push()\n",
    "def a(app):\n    (app.app_context().  # then\n        push())\n",
    "def a(app):\n    # predicate pushdown\n    app.app_context().pushed()\n",
    "def a(app):\n    push = app.app_context()\n    return push\n",
])
def test_pushes_context_of_equals_the_walk_for_odd_spellings(tmp_path: Path, text: str) -> None:
    """The gate asks the text for an attribute `.push` (issue 32: the word alone, as in
    superset's comment "predicate pushdown", walked every function on each keystroke):
    spaces, a continuation or a comment between the dot and the name still count."""
    module = parse_source("gen.py", tmp_path / "gen.py", Path("gen.py"), text)
    for func in module.all_functions:
        assert pushes_context_of(func) == pushes_context(func.node.body)


@pytest.mark.parametrize("original", [True, False])
def test_walker_texts_equal_code_of(tmp_path: Path, original: bool) -> None:
    """The walk renders each node once (`Walker.code_of`): the text is `code_of`'s."""
    side = Side(frozenset({"conn"}), frozenset(), frozenset(), frozenset(), {}, original, {})
    for module in _modules(tmp_path)[:200]:
        for func in module.all_functions:
            walker = Walker(func.node, side)
            for node in (n for n in _calls(func.node)):
                assert walker.code_of(node) == code_of(node)
                assert walker.code_of(node) == code_of(node)  # (kept)


def _calls(node: cst.CSTNode) -> list[cst.CSTNode]:
    from poolsafe.analysis.cstutil import iter_calls

    return list(iter_calls(node))


def test_attribute_assigns_are_the_walk_and_kept(tmp_path: Path) -> None:
    """`g.db = ...` lookups (`ProjectIndex._namespace_attribute`) read each module's
    assignments to an attribute from a list kept with the module (issue 32: a language
    server walked every such module again on each keystroke): the list is the walk's,
    in its order, and the second ask is the same list."""
    from poolsafe.analysis.cstutil import iter_nodes
    from poolsafe.analysis.index import _attribute_assigns

    for module in _modules(tmp_path):
        for attr in ("db", "conn", "session"):
            scopes: list[tuple[object, cst.CSTNode]] = [
                (f, f.node.body) for f in module.all_functions]
            scopes.extend((None, st) for st in module.tree.body
                          if isinstance(st, cst.SimpleStatementLine))
            walked = [(f, node) for f, body in scopes for node in iter_nodes(body)
                      if isinstance(node, cst.Assign) and any(
                          isinstance(t.target, cst.Attribute) and t.target.attr.value == attr
                          for t in node.targets)]
            kept = _attribute_assigns(module, attr)
            assert kept == walked, (module.path, attr)
            assert _attribute_assigns(module, attr) is kept
