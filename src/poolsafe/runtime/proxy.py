"""The thin proxy handed out by :class:`~poolsafe.runtime.ConnectionPool`.

It delegates everything to the driver connection and only intercepts what the
pool must see: statements (faults, transaction tracking), commit/rollback,
``close()`` (a lost slot, like psycopg2) and its own garbage collection.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias

from .errors import PoolError

if TYPE_CHECKING:
    from .faults import FaultInjector

OUT = "checked out"
CLOSED_BY_BORROWER = "closed without putconn()"
RETURNED = "returned"
POOL_CLOSED = "pool closed"


class PoolSide(Protocol):
    """What a proxy uses of the pool that made it. The pool module imports this one;
    naming the pool class here instead would make the two modules import each other."""

    name: str
    _faults: FaultInjector
    _track_dirty: bool

    def _closed_by_borrower(self, record: Checkout) -> None: ...

# --- the checkout record ---------------------------------------------------------------
#
# One record per checkout, shared by the pool (``ConnectionPool._out``) and the proxy.
# It is a plain list rather than a class: a list display is the cheapest mutable
# object CPython can build (a ``__slots__`` class costs ~3x as much to create), and
# ``record[STATE]`` with a module constant is as fast as a slot read. The layout:
CONN: Final = 0  # the driver connection
POOL: Final = 1  # the ConnectionPool
NUMBER: Final = 2  # checkout number (the pool's request counter), for labels
KEY: Final = 3  # getconn() key, or None
THREAD: Final = 4  # threading.Thread of the borrower
STARTED: Final = 5  # time.monotonic() of the checkout
SEQ: Final = 6  # tracking.PHASE[0] at checkout (places it among the test phases)
STATE: Final = 7  # OUT, CLOSED_BY_BORROWER, RETURNED or POOL_CLOSED
REPORTED: Final = 8  # leak_threshold warning logged
SUSPECT: Final = 9  # a driver error went through the proxy: ping before reuse
DIRTY: Final = 10  # statements since the last commit/rollback (pymysql)
PROXY: Final = 11  # the proxy while checked out (None once returned or collected)
FRAMES: Final = 12  # record[FRAMES:]: the borrower's stack (a tracking.RawStack)

Checkout: TypeAlias = "list[Any]"
"""A checkout record: ``[conn, pool, number, key, thread, started, seq, state,
reported, suspect, dirty, proxy, code, lasti, code, lasti, ...]`` (see the index
constants above); the borrower's stack is stored flat at its end, so that the
default one-frame stack costs no list of its own."""


def new_checkout(
    conn: Any,
    pool: PoolSide,
    number: int,
    key: object,
    thread: Any,
    started: float,
    frames: list[Any],
    seq: int,
) -> Checkout:
    """A fresh record in state ``OUT``, no proxy yet (``getconn`` builds the same
    list inline)."""
    return [conn, pool, number, key, thread, started, seq, OUT, False, False, False, None, *frames]


class PooledConnection:
    """Proxy of a checked-out driver connection; ``with conn:`` commits or rolls
    back (psycopg2 semantics) but does not close.

    Its only state is the checkout record; once the record is returned, every use
    raises :class:`PoolError`. While checked out, the record references the proxy
    too: the pool notices a proxy its borrower dropped when the record's reference
    is the last one (``ConnectionPool._reap``), which costs nothing per checkout.
    """

    __slots__ = ("__weakref__", "_record")

    # No __init__: the pool builds proxies with ``PooledConnection()`` and then sets
    # the record slot (see new_proxy()); calling the class without an __init__ of
    # its own is the cheapest way CPython has to make one.

    # -- access --------------------------------------------------------------------
    def _live(self) -> Any:
        record = self._record
        if record[STATE] == RETURNED:
            raise PoolError("connection was already returned to the pool")
        return record[CONN]

    @property
    def _conn(self) -> Any:
        return self._record[CONN]

    @property
    def _pool(self) -> PoolSide:
        pool: PoolSide = self._record[POOL]
        return pool

    @property
    def raw(self) -> Any:
        """The driver connection itself."""
        return self._live()

    def __getattr__(self, name: str) -> Any:
        if name == "_record":  # a proxy made without new_proxy(): not a connection
            raise AttributeError(name)
        return getattr(self._live(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._live(), name, value)

    def __repr__(self) -> str:
        record = self._record
        number = f"#{record[NUMBER]}" if record[STATE] != RETURNED else "(idle)"
        return f"<PooledConnection {number} of {record[POOL].name} wrapping {record[CONN]!r}>"

    # -- statements ------------------------------------------------------------------
    def _before_statement(self, sql: Any) -> None:
        record = self._record
        pool = record[POOL]
        if pool._faults.active:
            pool._faults.check("statement", sql if isinstance(sql, str) else str(sql))
        if pool._track_dirty:
            record[DIRTY] = not self._live().get_autocommit()

    def _failed(self) -> None:
        self._record[SUSPECT] = True

    def cursor(self, *args: Any, **kwargs: Any) -> PooledCursor:
        return PooledCursor(self._live().cursor(*args, **kwargs), self)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """``Connection.execute`` of sqlite3 and psycopg 3 (AttributeError elsewhere)."""
        execute = self._live().execute
        self._before_statement(sql)
        try:
            result = execute(sql, *args, **kwargs)
        except Exception:
            self._failed()
            raise
        return PooledCursor(result, self) if hasattr(result, "fetchone") else result

    def commit(self) -> None:
        conn = self._live()
        record = self._record
        pool = record[POOL]
        try:
            if pool._faults.active:
                pool._faults.check("commit")
            conn.commit()
        except Exception:
            self._failed()
            raise
        record[DIRTY] = False

    def rollback(self) -> None:
        conn = self._live()
        try:
            conn.rollback()
        except Exception:
            self._failed()
            raise
        self._record[DIRTY] = False

    def close(self) -> None:
        """Close the driver connection. Like psycopg2's pool, the slot is *not*
        given back: it stays counted as in use until ``putconn()`` is called."""
        conn = self._live()
        record = self._record
        conn.close()
        if record[STATE] == OUT:
            record[POOL]._closed_by_borrower(record)

    # -- context manager: psycopg2 semantics -----------------------------------------
    def __enter__(self) -> PooledConnection:
        self._live()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()



# Slot accessors: the proxy overrides __getattr__/__setattr__, these bypass them.
set_record = PooledConnection._record.__set__  # type: ignore[attr-defined]
get_record = PooledConnection._record.__get__  # type: ignore[attr-defined]


def new_proxy(record: Checkout) -> PooledConnection:
    """The proxy of a checkout record (``getconn`` does the same inline)."""
    proxy = PooledConnection()
    set_record(proxy, record)
    return proxy


class PooledCursor:
    """Cursor proxy: statements go through the pool's fault injector."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: Any, owner: PooledConnection) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_owner", owner)

    @property
    def connection(self) -> PooledConnection:
        owner: PooledConnection = self._owner
        return owner

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        self._owner._before_statement(sql)
        try:
            result = self._cursor.execute(sql, *args, **kwargs)
        except Exception:
            self._owner._failed()
            raise
        return self if result is self._cursor else result

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        self._owner._before_statement(sql)
        try:
            result = self._cursor.executemany(sql, *args, **kwargs)
        except Exception:
            self._owner._failed()
            raise
        return self if result is self._cursor else result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cursor, name, value)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __enter__(self) -> PooledCursor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._cursor.close()

    def __repr__(self) -> str:
        return f"<PooledCursor wrapping {self._cursor!r}>"
