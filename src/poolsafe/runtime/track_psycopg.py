"""``track()`` for psycopg2 pools and psycopg_pool pools: ``getconn``/``putconn``
wrapped on the instance (both pools route every checkout through them).

Faults: on checkout the connection's ``cursor_factory`` becomes a subclass of
its own that checks the tracker's fault injector before ``execute`` (restored on
return), so ``conn.cursor().execute()`` and psycopg 3's ``conn.execute()`` can
fail. A psycopg 3 connection's ``commit`` is wrapped too; psycopg2 connections
are C objects whose methods cannot be replaced, so a tracked psycopg2 pool fails
statements and connects but not commits, and a psycopg_pool pool, whose
connections are opened by background workers, statements and commits.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable
from typing import Any

from .faults import FaultInjector
from .tracker import Tracker, remember, tracker_for


def _psycopg2_in_transaction(conn: Any) -> bool:
    return not conn.closed and conn.get_transaction_status() in (1, 2, 3)


def _psycopg_in_transaction(conn: Any) -> bool:
    return not conn.closed and int(conn.info.transaction_status) in (1, 2, 3)


def _sql_text(query: Any, cursor: Any) -> str:
    if isinstance(query, str):
        return query
    if isinstance(query, bytes):
        return query.decode("utf-8", "replace")
    try:
        return str(query.as_string(cursor))
    except Exception:
        return str(query)


def _faulting_cursor(base: type, injector: FaultInjector) -> type:
    """A subclass of the cursor class ``base`` whose executes may fail."""

    base_execute = getattr(base, "execute")  # noqa: B009 - a cursor class
    base_executemany = getattr(base, "executemany")  # noqa: B009

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if injector.active:
            injector.check("statement", _sql_text(query, self))
        return base_execute(self, query, *args, **kwargs)

    def executemany(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if injector.active:
            injector.check("statement", _sql_text(query, self))
        return base_executemany(self, query, *args, **kwargs)

    namespace = {"execute": execute, "executemany": executemany, "__module__": base.__module__}
    return type(base.__name__, (base,), namespace)


class _CursorFactories:
    """One faulting subclass per cursor class, made on first use."""

    def __init__(self, injector: FaultInjector, default: type) -> None:
        self._injector = injector
        self._default = default
        self._made: dict[type, type] = {}
        self._originals: set[type] = set()

    def faulting(self, base: type | None) -> type:
        base = base or self._default
        if base in self._originals:  # already ours (a connection never returned)
            return base
        made = self._made.get(base)
        if made is None:
            made = self._made[base] = _faulting_cursor(base, self._injector)
            self._originals.add(made)
        return made

    def install(self, conn: Any, saved: dict[int, tuple[Any, type]]) -> None:
        """Give ``conn`` the faulting subclass of its cursor class."""
        original = conn.cursor_factory
        ours = self.faulting(original)
        conn.cursor_factory = ours
        saved[id(conn)] = (original, ours)

    def restore(self, conn: Any, saved: dict[int, tuple[Any, type]]) -> None:
        """Put the connection's cursor class back, unless its borrower chose
        another one meanwhile (that one stays)."""
        original, ours = saved.pop(id(conn), (None, None))
        if ours is not None and conn.cursor_factory is ours:
            conn.cursor_factory = original


def track_psycopg2(pool: Any, name: str | None) -> Tracker:
    existing = tracker_for(pool)
    if existing is not None:
        return existing
    import psycopg2  # type: ignore[import-untyped]
    import psycopg2.extensions  # type: ignore[import-untyped]

    kinds = ("statement", "connect")
    tracker = Tracker(pool, "psycopg2", name, make_error=psycopg2.OperationalError, kinds=kinds)
    factories = _CursorFactories(tracker.fault_injector, psycopg2.extensions.cursor)
    saved: dict[int, tuple[Any, type]] = {}

    def on_checkout(conn: Any) -> None:
        factories.install(conn, saved)

    def on_return(conn: Any) -> None:
        factories.restore(conn, saved)

    _wrap_methods(pool, tracker, _psycopg2_in_transaction, on_checkout, on_return)
    original_connect = pool._connect
    injector = tracker.fault_injector

    def connect(*args: Any, **kwargs: Any) -> Any:
        if injector.active:
            injector.check("connect")
        return original_connect(*args, **kwargs)

    pool._connect = connect
    tracker.add_undo(lambda: _forget(pool, "_connect"))
    return tracker


def track_psycopg_pool(pool: Any, name: str | None) -> Tracker:
    existing = tracker_for(pool)
    if existing is not None:
        return existing
    if inspect.iscoroutinefunction(type(pool).getconn):
        raise TypeError(
            f"cannot track {type(pool).__qualname__}: track() supports psycopg_pool's "
            "ConnectionPool, not its async pools"
        )
    import psycopg

    kinds = ("statement", "commit")
    tracker = Tracker(pool, "psycopg_pool", name, make_error=psycopg.OperationalError, kinds=kinds)
    injector = tracker.fault_injector
    factories = _CursorFactories(injector, psycopg.Cursor)
    saved: dict[int, tuple[Any, type]] = {}

    def on_checkout(conn: Any) -> None:
        factories.install(conn, saved)
        conn.commit = _faulting_commit(conn, injector)

    def on_return(conn: Any) -> None:
        factories.restore(conn, saved)
        conn.__dict__.pop("commit", None)

    _wrap_methods(pool, tracker, _psycopg_in_transaction, on_checkout, on_return)
    return tracker


def _faulting_commit(conn: Any, injector: FaultInjector) -> Callable[[], None]:
    ref = weakref.ref(conn)  # no cycle: a dropped connection dies at once
    commit = type(conn).commit

    def faulting_commit() -> None:
        if injector.active:
            injector.check("commit")
        target = ref()
        if target is not None:
            commit(target)

    return faulting_commit


#: the errors a pool raises when it has no connection to give, and their kind
_RAN_DRY = {"PoolError": "exhausted", "PoolTimeout": "timeout", "TooManyRequests": "exhausted"}


def _wrap_methods(
    pool: Any,
    tracker: Tracker,
    in_transaction: Callable[[Any], bool],
    on_checkout: Callable[[Any], None],
    on_return: Callable[[Any], None],
) -> None:
    original_get = pool.getconn
    original_put = pool.putconn

    def getconn(*args: Any, **kwargs: Any) -> Any:
        try:
            conn = original_get(*args, **kwargs)
        except Exception as exc:
            kind = _RAN_DRY.get(type(exc).__name__)
            if kind is not None:
                tracker.ran_dry(kind, str(exc).strip())
            raise
        try:  # noqa: SIM105 - a try costs less than contextlib.suppress per checkout
            on_checkout(conn)
        except Exception:  # a closed connection: tracked, not faulted
            pass
        tracker.checked_out(id(conn), conn)
        return conn

    def putconn(conn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bad = in_transaction(conn)
        except Exception:
            bad = False
        try:  # noqa: SIM105
            on_return(conn)
        except Exception:
            pass
        result = original_put(conn, *args, **kwargs)
        tracker.checked_in(id(conn), bad)
        return result

    pool.getconn = getconn
    pool.putconn = putconn
    remember(pool, tracker)
    tracker.add_undo(lambda: _forget(pool, "getconn", "putconn"))


def _forget(obj: Any, *attributes: str) -> None:
    for attribute in attributes:
        obj.__dict__.pop(attribute, None)
