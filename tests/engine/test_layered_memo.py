"""The index's per-level memo tables (`_LayeredMemo`) answer as `ChainMap` did: a
level reads its own table, then the wider levels' (nearest first), and writes its
own only."""

from __future__ import annotations

import random
from collections import ChainMap
from typing import Any

from poolsafe.scan.lazy_index import _LayeredMemo


def test_reads_through_wider_levels_and_writes_its_own() -> None:
    full: dict[Any, Any] = {"a": 1}
    selected = _LayeredMemo((full,))
    database = _LayeredMemo((selected, full))
    selected["b"] = 2
    database["a"] = 10  # shadows the wider answer at this level only
    assert database["a"] == 10 and database.get("a") == 10
    assert selected["a"] == 1 and full["a"] == 1
    assert database["b"] == 2 and "b" in database and "b" not in full
    assert database.get("c") is None and database.get("c", 5) == 5
    assert "c" not in database
    assert database.get("b", None) == 2
    full["c"] = None  # a stored None is an answer, not a miss
    assert "c" in database and database["c"] is None and database.get("c", 7) is None
    try:
        database["missing"]
    except KeyError:
        pass
    else:
        raise AssertionError("a key no level holds must raise KeyError")


def test_random_operations_match_chainmap() -> None:
    rng = random.Random(7)
    full_a: dict[Any, Any] = {}
    sel_a = _LayeredMemo((full_a,))
    db_a = _LayeredMemo((sel_a, full_a))
    full_b: dict[Any, Any] = {}
    sel_own: dict[Any, Any] = {}
    db_own: dict[Any, Any] = {}
    sel_b = ChainMap(sel_own, full_b)
    db_b = ChainMap(db_own, sel_own, full_b)
    ours = [full_a, sel_a, db_a]
    theirs: list[Any] = [full_b, sel_b, db_b]
    for _ in range(5000):
        level = rng.randrange(3)
        key = rng.randrange(40)
        op = rng.randrange(4)
        if op == 0:
            value = rng.choice([None, 0, key, "x"])
            ours[level][key] = value
            theirs[level][key] = value
        elif op == 1:
            assert (key in ours[level]) == (key in theirs[level])
        elif op == 2:
            assert ours[level].get(key, "d") == theirs[level].get(key, "d")
        elif key in theirs[level]:
            assert ours[level][key] == theirs[level][key]


def _index(selected: list[str], database: list[str]) -> object:
    from poolsafe.scan.lazy_index import LazyIndex

    return LazyIndex([], None, lambda path: None, {}, frozenset(), selected=selected,
                     source=lambda path: b"", database=database)


def test_the_database_level_shares_the_selected_tables_when_it_may_parse_the_same() -> None:
    same = _index(["/p/a.py", "/p/b.py"], ["/p/b.py", "/p/a.py"])
    views = same._views  # type: ignore[attr-defined]
    assert all(views[2][a] is views[1][a] for a in views[1])
    narrower = _index(["/p/a.py", "/p/b.py"], ["/p/a.py"])
    views = narrower._views  # type: ignore[attr-defined]
    assert all(views[2][a] is not views[1][a] for a in views[1])
    # and a narrower level still reads what the selected level learnt
    views[1]["_memo"][1] = "learnt"
    assert views[2]["_memo"].get(1) == "learnt"
