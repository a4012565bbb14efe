"""Tracking the SQLAlchemy pools a test suite uses without being told to.

An application usually builds its engine at import time (``engine =
create_engine(...)`` in ``db.py``) and never calls :func:`~poolsafe.runtime.track`.
``pytest --poolsafe`` still watches it:

- :func:`watch_sqlalchemy` adds one class-level ``checkout`` listener to
  SQLAlchemy's ``Pool``, which SQLAlchemy calls for every pool, those built
  before the listener included: a pool nobody tracks is tracked at its first
  checkout (that checkout included).
- :func:`engines_in_modules` finds the engines held in the globals of the
  application's modules (not installed packages, not the standard library), so
  that they are tracked under their names (``app.db.engine``) and with their
  engine's hooks (``poolsafe_faults`` reaches them) before any test runs.
- :func:`peewee_pools_in_modules` does the same for playhouse's pooled peewee
  databases (Django's connections are tracked by the plugin once its settings
  are configured: ``poolsafe.runtime.track_django``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from .track_sqlalchemy import track_sqlalchemy
from .tracker import Tracker, tracker_for
from .tracking import is_library_file


def watch_sqlalchemy(adopt: Callable[[Tracker], None]) -> Callable[[], None]:
    """Track every SQLAlchemy pool at its first checkout; ``adopt(tracker)`` is
    called for each tracker made here. Returns the function that stops it."""
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    def on_checkout(dbapi_conn: Any, record: Any, fairy: Any) -> None:
        pool = getattr(fairy, "_pool", None)
        if pool is None or tracker_for(pool) is not None:
            return
        tracker = track_sqlalchemy(pool, None)
        adopt(tracker)
        # The tracker's own listener starts with the next checkout (or with this
        # one: Tracker.checked_out ignores the same checkout told twice).
        tracker.checked_out(id(record), fairy)

    event.listen(Pool, "checkout", on_checkout)

    def stop() -> None:
        event.remove(Pool, "checkout", on_checkout)

    return stop


def engines_in_modules(
    modules: Iterable[ModuleType] | None = None,
) -> list[tuple[str, Any]]:
    """``(module.name, engine)`` for each SQLAlchemy engine (sync or async) held
    in a global of the application's modules, each engine once. Empty when
    SQLAlchemy was not imported."""
    if "sqlalchemy" not in sys.modules:
        return []
    from sqlalchemy.engine import Engine

    try:
        from sqlalchemy.ext.asyncio import AsyncEngine
    except ImportError:  # pragma: no cover - SQLAlchemy without asyncio support
        kinds: tuple[type, ...] = (Engine,)
    else:
        kinds = (Engine, AsyncEngine)
    found: dict[int, tuple[str, Any]] = {}
    for module in _application_modules(modules):
        for name, value in list(vars(module).items()):
            if isinstance(value, kinds) and id(value) not in found:
                found[id(value)] = (f"{module.__name__}.{name}", value)
    return list(found.values())


def peewee_pools_in_modules(
    modules: Iterable[ModuleType] | None = None,
) -> list[tuple[str, Any]]:
    """``(module.name, database)`` for each of playhouse's pooled peewee
    databases held in a global of the application's modules, each once. (An
    unpooled peewee database keeps a connection per thread by design: track it
    yourself to count those.)"""
    if "playhouse.pool" not in sys.modules:
        return []
    from .track_peewee import is_pooled

    found: dict[int, tuple[str, Any]] = {}
    for module in _application_modules(modules):
        for name, value in list(vars(module).items()):
            if id(value) not in found and is_pooled(value):
                found[id(value)] = (f"{module.__name__}.{name}", value)
    return list(found.values())


def _application_modules(modules: Iterable[ModuleType] | None) -> list[ModuleType]:
    """The modules of the application (not installed packages, not the standard
    library)."""
    return [
        module
        for module in (list(sys.modules.values()) if modules is None else modules)
        if (filename := getattr(module, "__file__", None)) and not is_library_file(filename)
    ]
