"""``track()``: watch checkouts of pools you did not build (SQLAlchemy, psycopg2,
psycopg_pool, Django's connection handler), report who holds what, and inject faults into them."""

from __future__ import annotations

from typing import Any

from .track_django import track_django
from .track_psycopg import track_psycopg2, track_psycopg_pool
from .track_sqlalchemy import track_sqlalchemy
from .tracker import Tracker, TrackerStats, library_of, live_trackers

__all__ = ["Tracker", "TrackerStats", "live_trackers", "track"]


def track(target: Any, *, name: str | None = None) -> Tracker:
    """Attach a :class:`Tracker` to a SQLAlchemy engine or pool, a psycopg2 pool,
    a psycopg_pool pool, or Django's connection handler (``django.db.connections``:
    the connections worker threads open and never close). Tracking the same pool
    again returns the same tracker (until it is detached; the pytest plugin
    detaches trackers made during a test when the test ends)."""
    library = library_of(target)
    if library == "sqlalchemy":
        return track_sqlalchemy(target, name)
    if library == "psycopg2":
        return track_psycopg2(target, name)
    if library == "psycopg_pool":
        return track_psycopg_pool(target, name)
    if library == "django" and type(target).__name__ == "ConnectionHandler":
        return track_django(target, name)
    raise TypeError(
        f"cannot track {type(target).__qualname__}: expected a SQLAlchemy engine/pool, "
        "a psycopg2 pool, a psycopg_pool pool or Django's `django.db.connections`"
    )
