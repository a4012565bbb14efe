"""``track()`` for Django's database connections (``django.db.connections``, or
one alias's ``connection``).

Django opens a connection per thread and per alias on first use. In a request
(and in the test runner's own thread) Django closes it for you; anywhere else
(a ``threading.Thread`` target, a ``ThreadPoolExecutor`` task, a scheduler job's
worker) nothing does, and the connection stays open as long as the thread lives
(a pool slot, with Django 5.1's ``"pool"`` option). So the tracker counts the
connections opened *outside the main thread* (``all_threads=True`` counts every
thread) from ``connection_created`` until the wrapper's ``close()`` (or
``close_old_connections()``, ``connections.close_all()``) closes it; a wrapper
dropped with its thread while open is a leak too. The hook is Django's
``connection_created`` signal, plus the opened wrapper's own ``_close``; both are
removed by :meth:`Tracker.detach`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from .tracker import Tracker, remember, tracker_for


def _handler_and_aliases(target: Any) -> tuple[Any, frozenset[str] | None]:
    """The ``ConnectionHandler`` and the aliases to watch (``None``: all)."""
    from django.db import connections

    if target is connections or type(target).__name__ == "ConnectionHandler":
        return target, None
    alias = getattr(target, "alias", None)  # a DatabaseWrapper, or the proxy
    if isinstance(alias, str):
        return connections, frozenset({alias})
    raise TypeError(
        f"cannot track {type(target).__qualname__}: expected django.db.connections "
        "or a Django database connection"
    )


def track_django(target: Any, name: str | None, *, all_threads: bool = False) -> Tracker:
    """Attach a tracker to Django's connections; the same tracker for the same target."""
    handler, aliases = _handler_and_aliases(target)
    key = handler if aliases is None else target
    tracker = tracker_for(key)
    if tracker is not None:
        return tracker
    from django.db.backends.signals import connection_created

    label = name or ("django" if aliases is None else f"django[{next(iter(aliases))}]")
    # no statement, commit or connect faults: use a tracked SQLAlchemy engine or
    # the reference pool for those
    tracker = Tracker(target, "django", label, kinds=())
    remember(key, tracker)
    patched: weakref.WeakSet[Any] = weakref.WeakSet()

    def closing(wrapper: Any, original: Callable[[], Any]) -> Callable[[], Any]:
        def _close() -> Any:
            try:
                return original()
            finally:
                tracker.checked_in(id(wrapper))

        return _close

    def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if aliases is not None and connection.alias not in aliases:
            return
        if not all_threads and threading.current_thread() is threading.main_thread():
            return
        if connection not in patched:
            connection._close = closing(connection, connection._close)
            patched.add(connection)
        tracker.checked_out(id(connection), connection)

    connection_created.connect(on_created, weak=False)

    def undo() -> None:
        connection_created.disconnect(on_created)
        for wrapper in list(patched):
            wrapper.__dict__.pop("_close", None)

    tracker.add_undo(undo)
    tracker.hooked.add(id(key))
    return tracker
