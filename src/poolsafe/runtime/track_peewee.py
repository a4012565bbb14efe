"""``track()`` for peewee databases: every connection a thread opens (``connect()``,
an ``autoconnect`` query, ``connection_context()``) until ``close()`` gives it
back, and statement, commit and connect faults.

peewee keeps one connection per thread. For ``PooledDatabase`` subclasses
(``PooledPostgresqlDatabase``, ``PooledMySQLDatabase``...) a connection a thread
never closes is a pool slot nobody gets back: the tracker names the thread and
the line that opened it. The hooks are set on the database object itself (its
``_connect``, ``_close``, ``execute_sql`` and ``commit``) and removed by
:meth:`Tracker.detach`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .tracker import Tracker, remember, tracker_for

HOOKED = ("_connect", "_close", "execute_sql", "commit")


def is_pooled(database: Any) -> bool:
    """Whether ``database`` is one of playhouse's pooled databases."""
    return any(
        cls.__name__ == "PooledDatabase" and cls.__module__.startswith("playhouse")
        for cls in type(database).__mro__
    )


def track_peewee(database: Any, name: str | None) -> Tracker:
    """Attach a tracker to a peewee ``Database``; the same tracker for the same one."""
    tracker = tracker_for(database)
    if tracker is not None:
        return tracker
    import peewee

    tracker = Tracker(database, "peewee", name, make_error=peewee.OperationalError)
    remember(database, tracker)
    injector = tracker.fault_injector
    # a pooled connection stays referenced by the pool: only an unpooled one can
    # be garbage-collected while open (its thread ended without close())
    weak = not is_pooled(database)
    original: dict[str, Callable[..., Any]] = {h: getattr(database, h) for h in HOOKED}

    def connect() -> Any:
        if injector.active:
            injector.check("connect")
        conn = original["_connect"]()
        tracker.checked_out(id(conn), conn if weak else None)
        return conn

    def close(conn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original["_close"](conn, *args, **kwargs)
        finally:
            tracker.checked_in(id(conn))

    def execute_sql(sql: Any, *args: Any, **kwargs: Any) -> Any:
        if injector.active:
            injector.check("statement", str(sql))
        return original["execute_sql"](sql, *args, **kwargs)

    def commit(*args: Any, **kwargs: Any) -> Any:
        if injector.active:
            injector.check("commit")
        return original["commit"](*args, **kwargs)

    hooks = {"_connect": connect, "_close": close, "execute_sql": execute_sql, "commit": commit}
    for attribute, hook in hooks.items():
        setattr(database, attribute, hook)

    def undo() -> None:
        for attribute, hook in hooks.items():
            if database.__dict__.get(attribute) is hook:
                delattr(database, attribute)

    tracker.add_undo(undo)
    tracker.hooked.add(id(database))
    return tracker
