"""``track()`` for Django's connection handler (``django.db.connections``): the
connections opened on threads other than the main one.

Django opens one connection per thread and alias on first use and closes it at
the end of a request (``close_old_connections``) or when the code calls
``connection.close()`` / ``connections.close_all()``. A connection opened on a
worker thread (a ``threading.Thread`` target, an executor task, a scheduler job)
that nothing closes stays open for the thread's life, or until the garbage
collector frees the thread's ``DatabaseWrapper`` after the thread ended. The
tracker counts a checkout at Django's ``connection_created`` signal on a thread
other than the main one, and a return when the wrapper's ``connection`` is
``None`` again (closed); a wrapper collected while still open is a leak. The main
thread's connections belong to the request cycle and the test framework (Django's
test cases keep them for the whole session): they are not counted.

No faults: Django's backends are reached through the driver's own pools or
connections, which ``track()`` accepts directly.
"""

from __future__ import annotations

import threading
from typing import Any

from .tracker import Tracker, remember, tracker_for


class DjangoTracker(Tracker):
    """A :class:`Tracker` whose checkouts end when Django closes the connection."""

    def _reap(self) -> None:
        for key, entry in list(self._out.items()):
            wrapper = entry.ref() if entry.ref is not None else None
            if wrapper is not None and getattr(wrapper, "connection", None) is None:
                del self._out[key]  # closed: `connection.close()` sets it to None
                self._n_returns += 1
        super()._reap()


def track_django(handler: Any, name: str | None) -> Tracker:
    existing = tracker_for(handler)
    if existing is not None:
        return existing
    from django.db.backends.signals import (  # type: ignore[import-untyped]
        connection_created,
    )

    tracker = DjangoTracker(handler, "django", name or "django.db.connections", kinds=())
    main = threading.main_thread()
    uid = f"poolsafe-track-django-{id(tracker):x}"

    def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
        if threading.current_thread() is not main:
            tracker.checked_out(id(connection), connection)

    connection_created.connect(on_created, weak=False, dispatch_uid=uid)
    tracker.add_undo(lambda: connection_created.disconnect(dispatch_uid=uid))
    tracker.hooked.add(id(handler))
    remember(handler, tracker)
    return tracker
