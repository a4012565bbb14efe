"""Statement hooks on real driver connections: fault injection without a proxy.

The pool hands out the driver's own connection objects. To make statements and
commits fail on demand (``pool.faults()``) and to notice driver errors, it opens
them through a *subclass* of the driver's connection class (psycopg2's
``connection_factory``, sqlite3's ``factory``, a subclass of pymysql's or
psycopg 3's ``Connection``), whose cursors are subclasses of the requested
cursor class. ``isinstance(conn, psycopg2.extensions.connection)`` and everything
else the driver offers keep working; the subclasses only add a check before
``execute``/``executemany``/``commit``.

Each hooked connection carries its pool's :class:`ConnState` as ``_poolsafe``:
the fault injector, and flags the pool reads on return (a driver error went
through: ping before reuse; statements since the last commit: pymysql).
"""

from __future__ import annotations

import threading
from typing import Any

from .faults import FaultInjector

ATTR = "_poolsafe"


class ConnState:
    """Per-connection state shared by a hooked connection and its pool."""

    __slots__ = ("dirty", "faults", "suspect", "track_dirty")

    def __init__(self, faults: FaultInjector, track_dirty: bool) -> None:
        self.faults = faults
        self.track_dirty = track_dirty
        self.suspect = False
        self.dirty = False


def state_of(conn: Any) -> ConnState | None:
    """The :class:`ConnState` of a hooked connection (``None`` for others)."""
    try:
        state: ConnState | None = getattr(conn, ATTR, None)
    except Exception:  # a closed connection may refuse attribute access
        return None
    return state


def _before(conn: Any, sql: Any) -> ConnState | None:
    state = state_of(conn)
    if state is None:
        return None
    if state.faults.active:
        state.faults.check("statement", sql if isinstance(sql, str) else str(sql))
    if state.track_dirty:
        try:
            state.dirty = not conn.get_autocommit()
        except Exception:
            state.dirty = True
    return state


def _failed(conn: Any) -> None:
    state = state_of(conn)
    if state is not None:
        state.suspect = True


# --- cursors ---------------------------------------------------------------------------

_CURSORS: dict[type, type] = {}
_LOCK = threading.Lock()


def hooked_cursor(base: type) -> type:
    """A subclass of the cursor class ``base`` whose statements go through the
    hooks (cached; ``base`` itself when it is already hooked)."""
    if getattr(base, "_poolsafe_hooked", False):
        return base
    cls = _CURSORS.get(base)
    if cls is not None:
        return cls
    with _LOCK:
        cls = _CURSORS.get(base)
        if cls is None:
            cls = _make_cursor(base)
            _CURSORS[base] = cls
    return cls


def _make_cursor(base: type) -> type:
    def execute(self: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        _before(self.connection, sql)
        try:
            return base.execute(self, sql, *args, **kwargs)  # type: ignore[attr-defined]
        except Exception:
            _failed(self.connection)
            raise

    def executemany(self: Any, sql: Any, *args: Any, **kwargs: Any) -> Any:
        _before(self.connection, sql)
        try:
            return base.executemany(self, sql, *args, **kwargs)  # type: ignore[attr-defined]
        except Exception:
            _failed(self.connection)
            raise

    namespace: dict[str, Any] = {
        "_poolsafe_hooked": True,
        "execute": execute,
        "executemany": executemany,
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
    }
    return type(base.__name__, (base,), namespace)


# --- connections -----------------------------------------------------------------------

_CONNECTIONS: dict[tuple[type, str], type] = {}


def hooked_connection(base: type, flavour: str) -> type:
    """A subclass of the connection class ``base`` with hooks; ``flavour`` is the
    driver (``psycopg2``, ``sqlite``, ``pymysql``, ``psycopg``): it decides how the
    cursor class is passed."""
    if getattr(base, "_poolsafe_hooked", False):
        return base
    key = (base, flavour)
    cls = _CONNECTIONS.get(key)
    if cls is not None:
        return cls
    with _LOCK:
        cls = _CONNECTIONS.get(key)
        if cls is None:
            cls = _make_connection(base, flavour)
            _CONNECTIONS[key] = cls
    return cls


def _commit_hook(base: type) -> Any:
    def commit(self: Any) -> None:
        state = state_of(self)
        try:
            if state is not None and state.faults.active:
                state.faults.check("commit")
            base.commit(self)  # type: ignore[attr-defined]
        except Exception:
            if state is not None:
                state.suspect = True
            raise
        if state is not None:
            state.dirty = False

    return commit


def _rollback_hook(base: type) -> Any:
    def rollback(self: Any) -> None:
        base.rollback(self)  # type: ignore[attr-defined]
        state = state_of(self)
        if state is not None:
            state.dirty = False

    return rollback


def _make_connection(base: type, flavour: str) -> type:
    namespace: dict[str, Any] = {
        "_poolsafe_hooked": True,
        "commit": _commit_hook(base),
        "rollback": _rollback_hook(base),
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
    }
    if flavour == "psycopg2":

        def cursor_pg2(
            self: Any, name: Any = None, cursor_factory: Any = None, *args: Any, **kwargs: Any
        ) -> Any:
            factory = cursor_factory or self.cursor_factory
            if factory is None:
                factory = _psycopg2_cursor()
            return base.cursor(  # type: ignore[attr-defined]
                self, name, hooked_cursor(factory), *args, **kwargs
            )

        namespace["cursor"] = cursor_pg2
    elif flavour == "sqlite":
        import sqlite3

        # A factory class may name its own default cursor class (def cursor(self,
        # factory=MyCursor)); keep it.
        defaults = getattr(getattr(base, "cursor", None), "__defaults__", None) or ()
        default_cursor = defaults[0] if defaults and isinstance(defaults[0], type) else None

        def cursor_sqlite(self: Any, factory: type | None = None) -> Any:
            chosen = factory or default_cursor or sqlite3.Cursor
            return base.cursor(self, hooked_cursor(chosen))  # type: ignore[attr-defined]

        def execute_sqlite(self: Any, sql: str, *args: Any) -> Any:
            return self.cursor().execute(sql, *args)

        def executemany_sqlite(self: Any, sql: str, *args: Any) -> Any:
            return self.cursor().executemany(sql, *args)

        namespace.update(
            cursor=cursor_sqlite, execute=execute_sqlite, executemany=executemany_sqlite
        )
    elif flavour == "pymysql":

        def cursor_mysql(self: Any, cursor: Any = None) -> Any:
            return base.cursor(  # type: ignore[attr-defined]
                self, hooked_cursor(cursor or self.cursorclass)
            )

        namespace["cursor"] = cursor_mysql
    # psycopg 3: its cursors come from the connection's ``cursor_factory``
    # attribute, set per connection by :func:`attach`.
    return type(base.__name__, (base,), namespace)


def _psycopg2_cursor() -> type:
    import importlib

    cursor: type = importlib.import_module("psycopg2.extensions").cursor
    return cursor


def attach(conn: Any, state: ConnState, flavour: str) -> bool:
    """Give a hooked connection its state; ``False`` when ``conn`` is not hooked
    (a ``connect=`` callable the pool could not open through a subclass)."""
    if not getattr(type(conn), "_poolsafe_hooked", False):
        return False
    setattr(conn, ATTR, state)
    if flavour == "psycopg":
        conn.cursor_factory = hooked_cursor(conn.cursor_factory)
    return True
