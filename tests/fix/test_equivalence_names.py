"""The names check of the equivalence check (poolsafe.fix.equivalence.names): asking
for some functions only (the module reduced to what they can see) gives exactly
what the whole module's scope analysis gives for them."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.fix.equivalence.names import functions, unresolved

ROOT = Path(__file__).resolve().parents[2]

SHAPES = '''
import os
from pathlib import Path

CONFIG = {}


def set_engine():
    global ENGINE
    ENGINE = make()


def uses_engine():
    return ENGINE.connect(), missing_one


class Repo:
    table = "t"

    def load(self):
        return Path(__file__), table, helper(), Repo, missing_two

    class Inner:
        def deep(self):
            return Repo.Inner, missing_three


def helper():
    def nested():
        return outer_local, missing_four
    outer_local = 1
    return nested


if os.environ.get("X"):
    def conditional():
        return CONFIG, missing_five


class Holder:
    def start(self):
        global STARTED
        STARTED = True

    def check(self):
        return STARTED, Holder, missing_six
'''


def _check(module: cst.Module) -> int:
    whole = unresolved(module)
    for qualname in functions(module):
        assert unresolved(module, {qualname}) == {x for x in whole if x[0] == qualname}, \
            qualname
    return len(whole)


def test_shapes_give_the_same_names_alone_and_whole() -> None:
    module = cst.parse_module(SHAPES)
    assert _check(module) > 0
    # the names bound only by another function's `global`, by a class, by an
    # enclosing function, are bound; the unbound ones are found in each shape
    assert unresolved(module, {"uses_engine"}) == {("uses_engine", "missing_one")}
    assert unresolved(module, {"Repo.load"}) == {
        ("Repo.load", "__file__"), ("Repo.load", "table"), ("Repo.load", "missing_two")}
    assert unresolved(module, {"Repo.Inner.deep"}) == {("Repo.Inner.deep", "missing_three")}
    assert unresolved(module, {"helper.nested"}) == {("helper.nested", "missing_four")}
    assert unresolved(module, {"conditional"}) == {("conditional", "missing_five")}
    assert unresolved(module, {"Holder.check"}) == {("Holder.check", "missing_six")}


@pytest.mark.parametrize("path", sorted(
    p for p in (ROOT / "fixtures").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_modules_give_the_same_names_alone_and_whole(path: Path) -> None:
    _check(cst.parse_module(path.read_bytes()))


ANNOTATED = '''
class Order:
    pass


def unrelated():
    return 1


def total(order: "Order", extra: "list[Shipment]") -> "Order":
    def inner(x: "Order") -> "Order":
        return x
    return order, inner, missing, f"{later()}"


def later():
    return 2
'''


def test_string_annotations_and_unread_stubs_give_the_same_names() -> None:
    """The reduced module drops the stubs of names the functions never spell; a name
    spelled only in a string annotation is read by the scope analysis and keeps its
    stub."""
    module = cst.parse_module(ANNOTATED)
    assert _check(module) > 0
    assert unresolved(module, {"total"}) == {("total", "missing")}


def test_a_function_added_elsewhere_leaves_the_reduced_module_as_it_was() -> None:
    """What `check` keeps the name check by (issue 32): an edit that adds a function
    the fixed one never reads does not change it."""
    from poolsafe.fix.equivalence.names import reduced

    before = cst.parse_module(ANNOTATED)
    after = cst.parse_module(ANNOTATED + "\n\ndef added():\n    return 3\n")
    one, two = reduced(before, {"total"}), reduced(after, {"total"})
    assert one is not None and two is not None
    assert one.code == two.code
    assert "def unrelated" not in one.code and "class Order" in one.code
