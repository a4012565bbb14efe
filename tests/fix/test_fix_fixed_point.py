"""One `fix` run reaches the fixed point: several checkouts in a row (`a =
pool.getconn(); b = pool.getconn(); ...`) are all fixed by the first run, and a
second run changes nothing (issue 29, item 5).

The regions of the checkouts nest, so each pass of the loop fixes one of them and
re-lints; the loop used to mistake the next checkout (same call text, so the same
fingerprint once the first finding was gone) for a fix that had not worked, and
stopped with a finding left."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions, scan_sources

HEADER = '''from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=x")


'''

TWO = HEADER + '''def load():
    a = pool.getconn()
    b = pool.getconn()
    a.cursor().execute("SELECT 1")
    b.cursor().execute("SELECT 2")
    pool.putconn(b)
    pool.putconn(a)
'''


def _ps102(files: dict[str, str]) -> int:
    return Counter(f.code for f in scan_sources(files, ScanOptions()).findings)["PS102"]


def _assert_fixed_point(source: str, checkouts: int) -> str:
    files = {"m.py": source}
    assert _ps102(files) == checkouts
    first = fix_sources(files, ScanOptions())
    assert first.converged, first.passes
    assert [x.finding.code for x in first.left] == [], [x.reason for x in first.left]
    assert sorted(a.code for a in first.applied) == ["PS102"] * checkouts
    fixed = first.sources()
    compile(fixed["m.py"], "m.py", "exec", dont_inherit=True)
    assert _ps102(fixed) == 0
    second = fix_sources(fixed, ScanOptions())
    assert second.applied == [] and second.left == []
    assert second.sources() == fixed
    return fixed["m.py"]


def test_two_checkouts_in_a_row_are_both_fixed_in_one_run() -> None:
    out = _assert_fixed_point(TWO, 2)
    assert out.count("finally:") == 2
    # the inner release stays inside the outer try, each in its own finally
    assert out.index("pool.putconn(b)") < out.index("pool.putconn(a)")


def _program(n: int, release_order: list[int], uses: list[int]) -> str:
    """`n` checkouts in a row, then a use of each connection in `uses` (indexes), then
    the releases in `release_order`."""
    body = [f"    c{i} = pool.getconn()" for i in range(n)]
    body += [f'    c{i}.cursor().execute("SELECT {i}")' for i in uses]
    body += [f"    pool.putconn(c{i})" for i in release_order]
    return HEADER + "def load():\n" + "\n".join(body) + "\n"


EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, database=None)


@EXAMPLES
@given(data=st.data())
def test_n_nested_checkouts_are_all_fixed_in_one_run(data: st.DataObject) -> None:
    # released last-in first-out, each used before the releases: every checkout leaks
    # if a later statement raises, and every one has a safe fix
    n = data.draw(st.integers(min_value=1, max_value=5), label="checkouts")
    uses = data.draw(st.permutations(range(n)), label="uses")
    _assert_fixed_point(_program(n, list(reversed(range(n))), list(uses)), n)


@EXAMPLES
@given(data=st.data())
def test_n_checkouts_in_any_release_order_settle_in_one_run(data: st.DataObject) -> None:
    # releases in any order: a checkout whose release comes before an earlier
    # checkout's may have no safe fix (moving the releases would reorder them), but
    # the first run settles and leaves it with its reason; the second changes nothing
    n = data.draw(st.integers(min_value=2, max_value=5), label="checkouts")
    order = data.draw(st.permutations(range(n)), label="release order")
    uses = data.draw(st.lists(st.integers(0, n - 1), max_size=n), label="uses")
    files = {"m.py": _program(n, list(order), uses)}
    first = fix_sources(files, ScanOptions())
    assert first.converged and not first.errors
    assert not [x for x in first.left if "remains" in x.reason], first.left
    fixed = first.sources()
    compile(fixed["m.py"], "m.py", "exec", dont_inherit=True)
    second = fix_sources(fixed, ScanOptions())
    assert second.applied == [] and second.sources() == fixed
    assert [x.reason for x in second.left] == [x.reason for x in first.left]


def test_an_alias_checkout_is_released_with_the_alias_pool() -> None:
    # issue 29 item 9: `get = pool.getconn` was not followed; the fix names the pool
    source = HEADER + '''def count():
    get = pool.getconn
    conn = get()
    return conn.cursor().execute("SELECT count(*) FROM orders")
'''
    out = _assert_fixed_point(source, 1)
    assert out.endswith('''    conn = get()
    try:
        return conn.cursor().execute("SELECT count(*) FROM orders")
    finally:
        pool.putconn(conn)
''')
