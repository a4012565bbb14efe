"""The path comparisons behind `check`'s `[*]` are kept with the cache (issue 32): a
check after an edit elsewhere in the file reads them instead of walking the paths of
the unchanged function again, and shows the same `[*]`; a changed function, or
other configured releases, is compared again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import poolsafe.fix.equivalence as equivalence
from poolsafe.fix.equivalence import comparison_key
from poolsafe.fix.equivalence.releases import configured_releases
from poolsafe.scan.engine import scan
from poolsafe.scan.options import ScanOptions

_LEAK = '''from psycopg2 import pool

db = pool.SimpleConnectionPool(1, 5, dsn="dbname=shop")


def count_orders():
    conn = db.getconn()
    cur = conn.cursor()
    cur.execute("select count(*) from orders")
    n = cur.fetchone()[0]
    db.putconn(conn)
    return n
'''


def _found(root: Path, cache: Path | None) -> list[tuple[str, int, bool, bool]]:
    result = scan([str(root / "shop" / "orders.py")], ScanOptions(jobs=1, cache_dir=cache))
    assert not result.errors
    return [(f.code, f.line, f.fixable, f.unsafe_fix) for f in result.findings]


def _shop_project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A one-module project holding `_LEAK`: its root, the module and its cache dir."""
    root = tmp_path / "p"
    (root / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0"\n')
    (root / "shop" / "__init__.py").write_text("")
    path = root / "shop" / "orders.py"
    path.write_text(_LEAK)
    return root, path, root / ".poolsafe_cache"


def _edit_elsewhere_three_times(root: Path, path: Path, cache: Path,
                                want: list[tuple[str, int, bool, bool]],
                                calls: list[Any]) -> None:
    """Add a function after the leak three times: the findings stay `want`, and from
    the second edit on the kept result is read (nothing is computed again)."""
    _found(root, cache)  # (makes the cache directory)
    for n in range(3):
        path.write_text(_LEAK + f"\n\ndef added_{n}():\n    return {n}\n")
        calls.clear()
        assert _found(root, cache) == want
        if n:  # the first edit's check wrote the result; the next ones read it
            assert calls == []


def _counted_comparisons(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions `compare_function` is called on from now on."""
    calls: list[str] = []
    compare = equivalence.compare_function

    def counted(before: object, after: object, names: frozenset[str]) -> object:
        calls.append(getattr(before, "name").value)  # noqa: B009
        return compare(before, after, names)  # type: ignore[arg-type]

    monkeypatch.setattr(equivalence, "compare_function", counted)
    return calls


def test_a_comparison_is_read_back_after_an_edit_elsewhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counted_comparisons(monkeypatch)
    root, path, cache = _shop_project(tmp_path)
    want = _found(root, None)
    assert [(c, fixable) for c, _, fixable, _ in want] == [("PS102", True)]
    _edit_elsewhere_three_times(root, path, cache, want, calls)
    # the leaking function itself changed: compared again, same answer
    path.write_text(_LEAK.replace("select count(*)", "select count(id)"))
    calls.clear()
    assert _found(root, cache) == want
    assert calls == ["count_orders"]
    # without the cache, every check compares
    calls.clear()
    assert _found(root, None) == want
    assert calls == ["count_orders"]
    # `poolsafe clean` knows them
    from poolsafe.scan.cache import clear_cache

    assert list((cache / "modules").glob("*.proof.json"))
    assert clear_cache(cache) == []
    assert not cache.exists()


def test_the_key_holds_everything_a_comparison_reads() -> None:
    import libcst as cst

    module = cst.parse_module(_LEAK)
    func = next(s for s in module.body if isinstance(s, cst.FunctionDef))
    other = cst.parse_module(_LEAK.replace("conn.cursor()", "conn.cursor( )"))
    func2 = next(s for s in other.body if isinstance(s, cst.FunctionDef))
    key = comparison_key(func, func, frozenset())
    # the code exactly (not up to whitespace), the SQLAlchemy names, the releases
    assert comparison_key(func, func2, frozenset()) != key
    assert comparison_key(func, func, frozenset({"text"})) != key
    with configured_releases(["corp.unlease"]):
        assert comparison_key(func, func, frozenset()) != key
    assert comparison_key(func, func, frozenset()) == key


def test_the_name_check_is_read_back_after_an_edit_elsewhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fix proof's scope analysis (names nothing binds) is kept too, by the code
    of both reduced modules: an edit elsewhere in the file does not run it again."""
    calls: list[object] = []
    real = equivalence.unresolved_in

    def counted(target: object, only: object = None) -> object:
        calls.append(target)
        return real(target, only)  # type: ignore[arg-type]

    monkeypatch.setattr(equivalence, "unresolved_in", counted)
    root, path, cache = _shop_project(tmp_path)
    want = _found(root, None)
    _edit_elsewhere_three_times(root, path, cache, want, calls)
    path.write_text(_LEAK.replace("select count(*)", "select count(id)"))
    calls.clear()
    assert _found(root, cache) == want
    assert calls  # the function changed: analysed again


class _DictMemo(dict[str, tuple[list[str], bool]]):
    def put(self, key: str, value: tuple[list[str], bool]) -> None:
        self[key] = value


def test_a_kept_name_check_gives_the_same_verdict() -> None:
    """A fix whose new code reads a name nothing binds: the verdict read back from
    the memo is the one computed without it."""
    import libcst as cst

    before = cst.parse_module(_LEAK)
    after = cst.parse_module(_LEAK.replace("    return n\n", "    return n + missing\n"))
    plain = equivalence.check_fix(before, after, "PS102")
    assert plain.drop and any("`missing`" in p for p in plain.problems)
    memo = _DictMemo()
    with equivalence.comparisons_kept(memo):
        first = equivalence.check_fix(before, after, "PS102")
        again = equivalence.check_fix(before, after, "PS102")
    assert first == again == plain
    assert any(k.startswith('["unbound names"') for k in memo)


def test_the_run_that_makes_the_cache_keeps_its_proofs_and_summaries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first `check` of a project (no cache directory yet) makes the directory
    before its checks run, so it keeps what they compute as any later run does: the
    first `check FILE` after an edit elsewhere in the file reads the comparison back
    (a pre-commit hook's first run after `poolsafe check .`, issue 32), with the
    findings of a run without the cache."""
    calls = _counted_comparisons(monkeypatch)
    root, path, cache = _shop_project(tmp_path)
    want = _found(root, None)
    assert not cache.exists()
    calls.clear()
    assert _found(root, cache) == want
    assert calls == ["count_orders"]
    assert list((cache / "modules").glob("*.proof.json"))
    assert list((cache / "modules").glob("*.pool.json"))
    path.write_text(_LEAK + "\n\ndef added():\n    return 1\n")
    calls.clear()
    assert _found(root, cache) == want
    assert calls == []  # read back, not compared again


def test_a_directory_poolsafe_did_not_make_is_left_alone(tmp_path: Path) -> None:
    """A cache directory that holds someone else's files (no tag of poolsafe's) is
    not made a cache, before the checks or after: nothing is written into it."""
    root, _path, cache = _shop_project(tmp_path)
    cache.mkdir()
    (cache / "notes.txt").write_text("mine\n")
    want = _found(root, None)
    assert _found(root, cache) == want
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt"]
