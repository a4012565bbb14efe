"""One table of psycopg2 pool behaviours, run against psycopg2's own
``ThreadedConnectionPool`` and poolsafe's ``ConnectionPool`` on PostgreSQL.

Each behaviour is a function of the pool class that returns what it observed;
both pools must observe the same, except the behaviours listed in ``DIFFERENT``,
where each pool's observation is asserted as documented (docs/runtime.md,
"Differences from psycopg2").
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import pytest

pytest.importorskip("psycopg2")
import psycopg2
import psycopg2.extensions
import psycopg2.pool
import psycopg2.sql

from poolsafe.runtime import ConnectionPool

pytestmark = pytest.mark.postgres

Make = Callable[..., Any]
Behaviour = Callable[[Make, str], object]
BEHAVIOURS: dict[str, Behaviour] = {}


def behaviour(function: Behaviour) -> Behaviour:
    BEHAVIOURS[function.__name__] = function
    return function


@contextmanager
def pool_of(make: Make, *args: Any, **kwargs: Any) -> Iterator[Any]:
    pool = make(*args, **kwargs)
    try:
        yield pool
    finally:
        if not pool.closed:
            pool.closeall()


def error_of(call: Callable[[], object]) -> tuple[str, str]:
    """``(exception class name, message)`` raised by ``call``, or ``("", "")``."""
    try:
        call()
    except Exception as exc:
        kind = "PoolError" if isinstance(exc, psycopg2.pool.PoolError) else type(exc).__name__
        return kind, str(exc)
    return "", ""


def sessions(dsn: str, application: str) -> int:
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)
        )
        return int(cur.fetchone()[0])
    finally:
        conn.close()


# --- constructor ---------------------------------------------------------------------


@behaviour
def dsn_string_positional(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 2, dsn) as pool:
        conn = pool.getconn()
        name = conn.info.dbname
        pool.putconn(conn)
        return name


@behaviour
def libpq_keywords(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 2, host="127.0.0.1", user="postgres", dbname="test") as pool:
        conn = pool.getconn()
        found = (conn.info.host, conn.info.user, conn.info.dbname)
        pool.putconn(conn)
        return found


@behaviour
def dsn_keyword(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn=dsn) as pool:
        conn = pool.getconn()
        name = conn.info.dbname
        pool.putconn(conn)
        return name


@behaviour
def dsn_with_keyword_override(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn, application_name="poolsafe-compat-override") as pool:
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SHOW application_name")
        (name,) = cur.fetchone()
        pool.putconn(conn)
        return name


@behaviour
def minconn_opened_at_construction(make: Make, dsn: str) -> object:
    name = f"poolsafe-compat-min-{make.__name__}"
    with pool_of(make, 2, 4, dsn, application_name=name):
        return sessions(dsn, name)


@behaviour
def string_bounds_are_converted(make: Make, dsn: str) -> object:
    with pool_of(make, "0", "2", dsn) as pool:
        return (pool.minconn, pool.maxconn)


@behaviour
def minconn_above_maxconn(make: Make, dsn: str) -> object:
    def build() -> None:
        with pool_of(make, 2, 1, dsn):
            pass

    return error_of(build)[0]


@behaviour
def maxconn_zero(make: Make, dsn: str) -> object:
    def build_and_get() -> None:
        with pool_of(make, 0, 0, dsn) as pool:
            pool.getconn()

    return error_of(build_and_get)[0]


@behaviour
def negative_minconn(make: Make, dsn: str) -> object:
    def build() -> None:
        with pool_of(make, -1, 1, dsn):
            pass

    return error_of(build)[0]


@behaviour
def unreachable_server_fails_construction(make: Make, dsn: str) -> object:
    return error_of(lambda: make(1, 1, "host=127.0.0.1 port=1 connect_timeout=3"))[0]


@behaviour
def lazy_pool_fails_on_getconn(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, "host=127.0.0.1 port=1 connect_timeout=3") as pool:
        return error_of(pool.getconn)[0]


@behaviour
def closed_attribute(make: Make, dsn: str) -> object:
    pool = make(0, 1, dsn)
    before = pool.closed
    pool.closeall()
    return (before, pool.closed)


# --- getconn / putconn -------------------------------------------------------------------


@behaviour
def getconn_returns_a_real_connection(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn()
        real = isinstance(conn, psycopg2.extensions.connection)
        quoted = psycopg2.extensions.quote_ident("a b", conn)
        identifier = psycopg2.sql.Identifier("t").as_string(conn)
        pool.putconn(conn)
        return (real, quoted, identifier)


@behaviour
def psycopg2_extras_take_the_connection(make: Make, dsn: str) -> object:
    import uuid

    import psycopg2.extras

    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        psycopg2.extras.register_uuid(conn_or_curs=conn)
        psycopg2.extras.register_default_json(conn)
        adapted = psycopg2.extensions.adapt("it's")
        adapted.prepare(conn)
        cur = conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        cur.execute("SELECT %s::uuid AS u, '{\"a\": 1}'::json AS j",
                    (uuid.UUID(int=1),))
        row = dict(cur.fetchone())
        conn.rollback()
        pool.putconn(conn)
        return (adapted.getquoted(), row)


@behaviour
def same_object_on_every_checkout(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        seen = []
        for _ in range(3):
            conn = pool.getconn()
            seen.append(conn)
            pool.putconn(conn)
        return all(conn is seen[0] for conn in seen)


@behaviour
def two_checkouts_are_two_connections(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 2, dsn) as pool:
        a, b = pool.getconn(), pool.getconn()
        different = a is not b and a.get_backend_pid() != b.get_backend_pid()
        pool.putconn(a)
        pool.putconn(b)
        return different


@behaviour
def returned_connection_is_reused(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 2, dsn) as pool:
        conn = pool.getconn()
        pool.putconn(conn)
        again = pool.getconn()
        pool.putconn(again)
        return again is conn


@behaviour
def connection_above_minconn_is_closed_on_return(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 2, dsn) as pool:
        conn = pool.getconn()
        pool.putconn(conn)
        return bool(conn.closed)


@behaviour
def putconn_close_true_closes(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        pool.putconn(conn, close=True)
        again = pool.getconn()  # the slot was freed
        pool.putconn(again)
        return (bool(conn.closed), again is conn)


@behaviour
def putconn_of_a_closed_connection_frees_the_slot(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        conn.close()
        pool.putconn(conn)
        fresh = pool.getconn()
        cur = fresh.cursor()
        cur.execute("SELECT 1")
        pool.putconn(fresh)
        return (fresh is conn, cur.fetchone())


@behaviour
def putconn_rolls_back_an_open_transaction(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        conn.cursor().execute("SELECT 1")
        during = conn.info.transaction_status
        pool.putconn(conn)
        return (during, conn.info.transaction_status)


@behaviour
def putconn_rolls_back_a_failed_transaction(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        with suppress(psycopg2.DataError):
            conn.cursor().execute("SELECT 1/0")
        during = conn.info.transaction_status
        pool.putconn(conn)
        return (during, conn.info.transaction_status)


@behaviour
def autocommit_setting_survives_the_return(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        conn.autocommit = True
        pool.putconn(conn)
        again = pool.getconn()
        value = again.autocommit
        again.autocommit = False
        pool.putconn(again)
        return value


@behaviour
def putconn_of_an_unknown_connection(make: Make, dsn: str) -> object:
    stranger = psycopg2.connect(dsn)
    try:
        with pool_of(make, 0, 1, dsn) as pool:
            return error_of(lambda: pool.putconn(stranger))
    finally:
        stranger.close()


@behaviour
def putconn_twice(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        pool.putconn(conn)
        return error_of(lambda: pool.putconn(conn))


@behaviour
def putconn_of_none(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        return error_of(lambda: pool.putconn(None))


@behaviour
def putconn_after_a_broken_connection_replaces_it(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 1, dsn) as pool:
        conn = pool.getconn()
        pid = conn.get_backend_pid()
        killer = psycopg2.connect(dsn)
        killer.autocommit = True
        killer.cursor().execute("SELECT pg_terminate_backend(%s)", (pid,))
        killer.close()
        for _ in range(200):  # the server ends the session asynchronously
            try:
                conn.cursor().execute("SELECT 1")
            except psycopg2.Error:
                break
            conn.rollback()
            time.sleep(0.01)
        pool.putconn(conn)
        fresh = pool.getconn()
        alive = fresh.get_backend_pid() != pid and not fresh.closed
        pool.putconn(fresh)
        return alive


# --- keys --------------------------------------------------------------------------------


@behaviour
def same_key_same_connection(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 2, dsn) as pool:
        a = pool.getconn("job")
        same = pool.getconn("job") is a
        pool.putconn(a, key="job")
        return same


@behaviour
def different_keys_different_connections(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 2, dsn) as pool:
        a, b = pool.getconn("a"), pool.getconn("b")
        pool.putconn(a, key="a")
        pool.putconn(b, key="b")
        return a is not b


@behaviour
def keyed_connection_returned_without_its_key(make: Make, dsn: str) -> object:
    with pool_of(make, 1, 2, dsn) as pool:
        conn = pool.getconn("job")
        pool.putconn(conn)
        again = pool.getconn("job")  # the key is free again: a new checkout
        pool.putconn(again, key="job")
        return again is conn


@behaviour
def known_key_served_when_exhausted(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn("job")
        same = pool.getconn("job") is conn
        pool.putconn(conn, key="job")
        return same


@behaviour
def keyed_connections_count_toward_maxconn(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn("job")
        failed = error_of(pool.getconn)[0]
        pool.putconn(conn, key="job")
        return failed


# --- exhausted ---------------------------------------------------------------------------


@behaviour
def exhausted_error_class(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn()
        try:
            pool.getconn()
        except psycopg2.pool.PoolError as exc:
            found = (isinstance(exc, psycopg2.Error), str(exc).startswith(
                "connection pool exhausted"))
        pool.putconn(conn)
        return found


@behaviour
def exhausted_message_text(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn()
        message = error_of(pool.getconn)[1]
        pool.putconn(conn)
        return message == "connection pool exhausted"


@behaviour
def exhausted_pool_recovers_after_a_return(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn()
        error_of(pool.getconn)
        pool.putconn(conn)
        again = pool.getconn()
        alive = not again.closed
        pool.putconn(again)
        return alive


@behaviour
def closed_by_borrower_keeps_its_slot(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        conn = pool.getconn()
        conn.close()  # instead of putconn(); the borrower still holds it
        return error_of(pool.getconn)[0]


@behaviour
def dropped_connection_slot(make: Make, dsn: str) -> object:
    with pool_of(make, 0, 1, dsn) as pool:
        pool.getconn()  # never given back, dropped at once
        gc.collect()
        kind = error_of(lambda: pool.putconn(pool.getconn()))[0]
        return kind or "slot recovered"


# --- closeall ------------------------------------------------------------------------


@behaviour
def closeall_closes_idle_and_used_connections(make: Make, dsn: str) -> object:
    pool = make(1, 2, dsn)
    idle = pool.getconn()
    pool.putconn(idle)
    used = pool.getconn()
    other = pool.getconn()
    pool.closeall()
    return (bool(used.closed), bool(other.closed))


@behaviour
def getconn_after_closeall(make: Make, dsn: str) -> object:
    pool = make(0, 1, dsn)
    pool.closeall()
    return error_of(pool.getconn)


@behaviour
def putconn_after_closeall(make: Make, dsn: str) -> object:
    pool = make(0, 1, dsn)
    conn = pool.getconn()
    pool.closeall()
    return error_of(lambda: pool.putconn(conn))


@behaviour
def closeall_twice(make: Make, dsn: str) -> object:
    pool = make(0, 1, dsn)
    pool.closeall()
    return error_of(pool.closeall)


# --- the differences, on purpose --------------------------------------------------------

DIFFERENT: dict[str, tuple[object, object, str]] = {
    # behaviour: (psycopg2 observes, poolsafe observes, why)
    "minconn_above_maxconn": (
        "", "ValueError", "bounds are checked: psycopg2 opens minconn connections anyway"),
    "maxconn_zero": (
        "PoolError", "ValueError", "a pool that can never lend is refused when built"),
    "negative_minconn": ("", "ValueError", "bounds are checked"),
    "connection_above_minconn_is_closed_on_return": (
        True, False, "idle connections are kept up to maxconn, not closed above minconn"),
    "exhausted_message_text": (
        True, False, "the message goes on to name every holder (it starts the same)"),
    "dropped_connection_slot": (
        "PoolError", "slot recovered",
        "a connection garbage-collected while checked out is reported as a leak and its "
        "slot recovered; psycopg2 loses the slot for good"),
}


def make_psycopg2(*args: Any, **kwargs: Any) -> Any:
    return psycopg2.pool.ThreadedConnectionPool(*args, **kwargs)


def make_poolsafe(*args: Any, **kwargs: Any) -> Any:
    return ConnectionPool(*args, **kwargs)


make_psycopg2.__name__ = "psycopg2"
make_poolsafe.__name__ = "poolsafe"


def test_psycopg2_names_are_aliases() -> None:
    from poolsafe.runtime import SimpleConnectionPool, ThreadedConnectionPool

    assert SimpleConnectionPool is ThreadedConnectionPool is ConnectionPool


def test_the_table_has_the_behaviours_it_claims() -> None:
    assert len(BEHAVIOURS) >= 38
    assert set(DIFFERENT) <= set(BEHAVIOURS)


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_behaves_like_psycopg2(name: str, pg_dsn: str) -> None:
    dsn = pg_dsn.split("?")[0]
    run = BEHAVIOURS[name]
    theirs = run(make_psycopg2, dsn)
    ours = run(make_poolsafe, dsn)
    if name in DIFFERENT:
        expected_theirs, expected_ours, _why = DIFFERENT[name]
        assert (theirs, ours) == (expected_theirs, expected_ours)
    else:
        assert ours == theirs
