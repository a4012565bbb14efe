"""The pytest plugin, exercised in throw-away pytest runs (pytester)."""

from __future__ import annotations

import pytest

LEAKY = """
from poolsafe.runtime import ConnectionPool

POOL = ConnectionPool(0, 2, name="module-pool")
KEEP = []

def test_leaves_connection_out():
    KEEP.append(POOL.getconn())

def test_clean(poolsafe_pool):
    with poolsafe_pool.connection() as conn:
        conn.execute("SELECT 1")
"""


def test_leak_fails_under_poolsafe_with_holder_site(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*poolsafe found connection problems:*",
            "*still checked out: connection (checkout #1) of module-pool held by thread "
            "'MainThread'*taken at test_leaky.py:7 in test_leaves_connection_out*",
            "*KEEP.append(POOL.getconn())*",
        ]
    )


def test_without_the_flag_nothing_changes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKY)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert "poolsafe found" not in result.stdout.str()


def test_ini_option_enables_the_check(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=LEAKY)
    pytester.makeini("[pytest]\npoolsafe = true\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)


def test_garbage_collected_and_closed_connections_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_gc="""
        def test_forgets(poolsafe_pool):
            poolsafe_pool.getconn()

        def test_closes(poolsafe_pool):
            conn = poolsafe_pool.getconn()
            conn.close()
        """
    )
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*garbage-collected while checked out*Taken at test_gc.py:2 in test_forgets*",
            "*garbage-collected while checked out*test_gc.py:5 in test_closes*",
        ]
    )


def test_fixture_holding_a_connection_is_not_a_leak(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixture="""
        import pytest

        @pytest.fixture
        def conn(poolsafe_pool):
            c = poolsafe_pool.getconn()
            yield c
            poolsafe_pool.putconn(c)

        def test_uses(conn):
            conn.execute("SELECT 1")
        """
    )
    pytester.runpytest("--poolsafe", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_fixture_leak_is_reported_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fixture="""
        import pytest

        @pytest.fixture
        def conn(poolsafe_pool):
            yield poolsafe_pool.getconn()

        def test_uses(conn):
            conn.execute("SELECT 1")
        """
    )
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*still checked out when poolsafe_pool was closed*"])


STRICT = """
def test_returns_dirty(poolsafe_pool):
    conn = poolsafe_pool.getconn()
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.execute("INSERT INTO t VALUES (1)")
    poolsafe_pool.putconn(conn)
"""


def test_strict_fails_on_return_inside_a_transaction(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT)
    pytester.runpytest("--poolsafe", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    result = pytester.runpytest("--poolsafe-strict", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*returned inside an open transaction (rolled back by the pool); "
            "taken at test_strict.py:2*"
        ]
    )


def test_faults_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_faults="""
        import sqlite3, pytest

        def test_error_path(poolsafe_pool, poolsafe_faults):
            poolsafe_faults(statements=1)
            with pytest.raises(sqlite3.OperationalError):
                with poolsafe_pool.connection() as conn:
                    conn.execute("SELECT 1")
            assert poolsafe_pool.stats().in_use == 0
            assert poolsafe_pool.stats().max == 3
        """
    )
    pytester.runpytest("--poolsafe", "-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_tracked_sqlalchemy_engine_leak(pytester: pytest.Pytester) -> None:
    pytest.importorskip("sqlalchemy")
    pytester.makepyfile(
        test_sa="""
        import sqlalchemy
        from poolsafe.runtime import track

        ENGINE = sqlalchemy.create_engine("sqlite://")
        TRACKER = track(ENGINE)
        KEEP = []

        def test_leak():
            KEEP.append(ENGINE.connect())
        """
    )
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*still checked out*taken at test_sa.py:9 in test_leak*"])


def test_poolsafe_records_deep_stacks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_deep="""
        from poolsafe.runtime import ConnectionPool, default_stack_depth

        POOL = ConnectionPool(0, 2, name="deep-pool")
        KEEP = []

        def borrow():
            return POOL.getconn()

        def test_leaks_through_a_helper():
            KEEP.append(borrow())

        def test_default_depth():
            assert default_stack_depth() == 16
        """
    )
    result = pytester.runpytest("--poolsafe", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*taken at test_deep.py:7 in borrow*",
            "*KEEP.append(borrow())*",
            "*return POOL.getconn()*",
        ]
    )


def test_without_the_flag_the_runtime_is_not_loaded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            assert "poolsafe.runtime" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
