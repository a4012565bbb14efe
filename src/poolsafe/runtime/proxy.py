"""The thin proxy handed out by :class:`~poolsafe.runtime.ConnectionPool`.

It delegates everything to the driver connection and only intercepts what the
pool must see: statements (faults, transaction tracking), commit/rollback,
``close()`` (a lost slot, like psycopg2) and its own garbage collection.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .errors import PoolError
from .tracking import Frame

if TYPE_CHECKING:
    from .pool import ConnectionPool

OUT = "checked out"
CLOSED_BY_BORROWER = "closed without putconn()"


class Checkout:
    """Bookkeeping of one checkout."""

    __slots__ = (
        "conn",
        "dirty",
        "frames",
        "key",
        "number",
        "reported",
        "seq",
        "started",
        "state",
        "suspect",
        "thread",
    )

    def __init__(
        self,
        conn: Any,
        number: int,
        key: object,
        thread: threading.Thread,
        started: float,
        frames: list[Frame],
        seq: int,
    ) -> None:
        self.conn = conn
        self.number = number
        self.key = key
        self.thread = thread
        self.started = started
        self.frames = frames
        self.seq = seq
        self.state = OUT
        self.reported = False  # leak_threshold warning logged
        self.suspect = False  # a driver error went through the proxy
        self.dirty = False  # statements since the last commit/rollback (pymysql)


class PooledConnection:
    """Proxy of a checked-out driver connection; ``with conn:`` commits or rolls
    back (psycopg2 semantics) but does not close."""

    __slots__ = ("__weakref__", "_conn", "_pool", "_record")

    def __init__(self, conn: Any, pool: ConnectionPool, record: Checkout | None = None) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_pool", pool)
        object.__setattr__(self, "_record", record)

    # -- access --------------------------------------------------------------------
    def _live(self) -> Any:
        if self._record is None:
            raise PoolError("connection was already returned to the pool")
        return self._conn

    @property
    def raw(self) -> Any:
        """The driver connection itself."""
        return self._live()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._live(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._live(), name, value)

    def __repr__(self) -> str:
        record = self._record
        number = f"#{record.number}" if record is not None else "(idle)"
        return f"<PooledConnection {number} of {self._pool.name} wrapping {self._conn!r}>"

    # -- statements ------------------------------------------------------------------
    def _before_statement(self, sql: Any) -> None:
        pool = self._pool
        if pool._faults.active:
            pool._faults.check("statement", sql if isinstance(sql, str) else str(sql))
        record = self._record
        if record is not None and pool._track_dirty:
            record.dirty = not self._live().get_autocommit()

    def _failed(self) -> None:
        record = self._record
        if record is not None:
            record.suspect = True

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
        pool = self._pool
        try:
            if pool._faults.active:
                pool._faults.check("commit")
            conn.commit()
        except Exception:
            self._failed()
            raise
        if self._record is not None:
            self._record.dirty = False

    def rollback(self) -> None:
        conn = self._live()
        try:
            conn.rollback()
        except Exception:
            self._failed()
            raise
        if self._record is not None:
            self._record.dirty = False

    def close(self) -> None:
        """Close the driver connection. Like psycopg2's pool, the slot is *not*
        given back: it stays counted as in use until ``putconn()`` is called."""
        conn = self._live()
        record = self._record
        conn.close()
        if record is not None and record.state == OUT:
            self._pool._closed_by_borrower(record)

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

    def __del__(self) -> None:
        record = self._record
        if record is not None and record.state == OUT:
            with contextlib.suppress(Exception):  # interpreter shutdown
                self._pool._collected(record)


# Slot setters: the proxy overrides __setattr__, these bypass it cheaply.
set_record = PooledConnection._record.__set__  # type: ignore[attr-defined]
_set_conn = PooledConnection._conn.__set__  # type: ignore[attr-defined]
_set_pool = PooledConnection._pool.__set__  # type: ignore[attr-defined]
_new = object.__new__


def new_proxy(conn: Any, pool: ConnectionPool, record: Checkout) -> PooledConnection:
    """Same as ``PooledConnection(conn, pool, record)``, without the ``__init__`` cost."""
    proxy: PooledConnection = _new(PooledConnection)
    _set_conn(proxy, conn)
    _set_pool(proxy, pool)
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
