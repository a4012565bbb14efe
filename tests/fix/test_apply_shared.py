"""`apply_plans` visits only the paths from the module to the edited nodes (issue 32):
the nodes off those paths are kept as they are, shared by the original and the fixed
tree, instead of rebuilt one by one. The fixed module's code and the equivalence
check's verdict must be what the full visit gives, for every plan the fixers make on
the rule cases and the fixture apps, alone and all of a module's together."""

from __future__ import annotations

from collections import Counter

import libcst as cst
import pytest
from case_plans import fix_plans, fix_projects

from poolsafe.fix.equivalence import check_fix
from poolsafe.fix.equivalence.names import functions
from poolsafe.fix.plan import applying
from poolsafe.fix.plan.api import FixPlan
from poolsafe.fix.plan.applying import apply_plans


def _full(module: cst.Module, plans: list[FixPlan], monkeypatch: pytest.MonkeyPatch
          ) -> cst.Module:
    """`apply_plans` with every node visited (each one rebuilt), as before."""
    with monkeypatch.context() as m:
        m.setattr(applying, "_to_edits", lambda _module, _plans: None)
        return apply_plans(module, plans)


def _plans(files: dict[str, str]) -> dict[str, tuple[cst.Module, list[tuple[str, FixPlan]]]]:
    """The case's plans by the module they edit."""
    out: dict[str, tuple[cst.Module, list[tuple[str, FixPlan]]]] = {}
    for code, path, tree, plan in fix_plans(files):
        out.setdefault(path, (tree, []))[1].append((code, plan))
    return out


@pytest.mark.parametrize("files", fix_projects())
def test_a_partial_visit_gives_the_full_visits_code_and_verdict(
        files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for tree, plans in _plans(files).values():
        for code, plan in plans:
            shared = apply_plans(tree, [plan])
            full = _full(tree, [plan], monkeypatch)
            assert shared.code == full.code
            assert check_fix(tree, shared, code) == check_fix(tree, full, code)
        if len(plans) > 1:  # what the fix loop applies at once
            together = [p for _, p in plans]
            assert apply_plans(tree, together).code == _full(tree, together, monkeypatch).code


def test_most_plans_take_the_partial_visit() -> None:
    """Counted over every plan in this one test (a module-level tally filled by the
    parametrized test above depends on which plans an xdist worker happened to run)."""
    counts: Counter[str] = Counter()
    for param in fix_projects():
        files = param.values[0]  # type: ignore[attr-defined]
        for tree, plans in _plans(files).values():
            for _code, plan in plans:
                counts["plans"] += 1
                if applying._to_edits(tree, [plan]) is None:
                    continue
                counts["partial"] += 1
                before, after = functions(tree), functions(apply_plans(tree, [plan]))
                # a function the plan does not touch is the same node in both trees
                counts["functions kept"] += sum(
                    1 for q in before if q in after and after[q] is before[q])
    assert counts["partial"] > counts["plans"] * 0.9 > 100, counts
    assert counts["functions kept"] > 100, counts


MODULE = '''\
import psycopg2


def first(conn):
    conn.commit()


def second(conn):
    total = conn.execute("SELECT 1")
    return total
'''


def test_a_node_kept_in_place_and_reused_by_a_plan_makes_a_full_visit() -> None:
    tree = cst.parse_module(MODULE)
    second = tree.body[2]
    assert isinstance(second, cst.FunctionDef)
    stmt = second.body.body[0]
    plan = FixPlan("PS101", "copy")
    # the statement, inserted before itself: held twice by the fixed tree if the
    # statement stayed the same node
    plan.insert_before[id(stmt)] = (stmt, [stmt])
    assert applying._to_edits(tree, [plan]) is None
    fixed = apply_plans(tree, [plan])
    assert fixed.code.count('total = conn.execute("SELECT 1")') == 2
    copies = functions(fixed)["second"].body.body
    assert copies[0] is stmt and copies[1] is not stmt

    # moved into its replacement, it leaves its place: the partial visit
    moved = FixPlan("PS101", "wrap")
    wrapped = cst.If(test=cst.Name("conn"), body=cst.IndentedBlock([stmt]))
    moved.replace(stmt, wrapped)
    assert applying._to_edits(tree, [moved]) is not None
    fixed = apply_plans(tree, [moved])
    assert "    if conn:\n        total = conn.execute" in fixed.code
    assert functions(fixed)["first"] is functions(tree)["first"]


def test_an_edit_outside_the_tree_makes_a_full_visit() -> None:
    tree = cst.parse_module(MODULE)
    other = cst.parse_module(MODULE)
    plan = FixPlan("PS101", "stale")
    plan.remove(other.body[1])
    assert applying._to_edits(tree, [plan]) is None
    assert apply_plans(tree, [plan]).code == MODULE
