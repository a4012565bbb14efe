"""``pool_health()``: a pool's occupancy as a payload for a health endpoint
(``/api/health/db``); ``prometheus.py`` exports the same numbers as metrics.

Supported: the reference ``ConnectionPool``, psycopg2's ``SimpleConnectionPool``
and ``ThreadedConnectionPool``, psycopg_pool's ``ConnectionPool``, SQLAlchemy
engines and pools (``QueuePool``: size, checked out, overflow), playhouse's
pooled peewee databases, Django's connections when the alias has Django 5.1's
``"pool"`` option (its psycopg pool), and a
:class:`~poolsafe.runtime.tracker.Tracker` (its pool's health; for an unpooled
peewee database or Django without a pool, the connections the tracker counts
open, with no limit).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .tracker import Tracker, library_of

HEALTHY, WARNING, ERROR = "healthy", "warning", "error"


@dataclass(frozen=True)
class Occupancy:
    """What a pool holds now; ``max`` is ``None`` when the pool has no limit."""

    kind: str
    name: str
    min: int
    max: int | None
    available: int
    in_use: int
    waiting: int = 0
    closed: bool = False


def pool_health(
    pool: Any,
    *,
    warning_at: float = 60.0,
    error_at: float | None = None,
    probe: bool = False,
) -> dict[str, Any]:
    """The health of ``pool`` as a JSON-ready dict.

    Keys: ``pool`` (kind and name), ``min``, ``max``, ``available``, ``in_use``,
    ``total``, ``waiting``, ``usage_percent`` (``in_use`` of ``max``; ``None``
    without a limit), ``status`` and, when the status is ``error``, ``error``.
    ``status`` is ``healthy`` below ``warning_at`` percent, ``warning`` at or
    above it, ``error`` at or above ``error_at`` (when given), when the pool is
    closed, when its state cannot be read, or — with ``probe=True`` — when a
    connection taken from it cannot run ``SELECT 1``.

    Raises ``TypeError`` for an object that is not a supported pool.
    """
    if not 0 <= warning_at <= 100 or (error_at is not None and not 0 <= error_at <= 100):
        raise ValueError("warning_at and error_at are percentages (0 to 100)")
    try:
        occupancy = occupancy_of(pool)
    except TypeError:
        raise
    except Exception as exc:
        return {
            "pool": _kind_of(pool),
            "status": ERROR,
            "error": f"cannot read the pool's state: {type(exc).__name__}: {exc}",
        }
    payload = _payload(occupancy)
    percent = payload["usage_percent"]
    if occupancy.closed:
        payload.update(status=ERROR, error="the pool is closed")
    elif probe and (failure := _probe(pool)) is not None:
        payload.update(status=ERROR, error=failure)
    elif percent is not None and error_at is not None and percent >= error_at:
        payload.update(status=ERROR, error=f"{percent}% of the pool in use (error_at={error_at})")
    elif percent is not None and percent >= warning_at:
        payload["status"] = WARNING
    else:
        payload["status"] = HEALTHY
    return payload


def _payload(occupancy: Occupancy) -> dict[str, Any]:
    limit = occupancy.max
    percent = None if not limit else round(100.0 * occupancy.in_use / limit, 1)
    return {
        "pool": f"{occupancy.kind}:{occupancy.name}",
        "min": occupancy.min,
        "max": limit,
        "available": occupancy.available,
        "in_use": occupancy.in_use,
        "total": occupancy.available + occupancy.in_use,
        "waiting": occupancy.waiting,
        "usage_percent": percent,
    }


def occupancy_of(pool: Any) -> Occupancy:
    """Read ``pool``'s occupancy (``TypeError`` when it is not a known pool)."""
    if isinstance(pool, Tracker):
        try:
            return occupancy_of(pool.target)
        except TypeError:
            if pool.kind not in ("django", "peewee"):
                raise
            return Occupancy(pool.kind, pool.name, 0, None, 0, pool.stats().in_use)
    library = library_of(pool)
    if library == "poolsafe.runtime" and hasattr(pool, "stats"):
        return _reference(pool)
    if library == "psycopg2":
        return _psycopg2(pool)
    if library == "psycopg_pool":
        return _psycopg_pool(pool)
    if library == "sqlalchemy":
        return _sqlalchemy(pool)
    if library == "playhouse" and hasattr(pool, "_in_use"):
        return _peewee_pool(pool)
    if library == "django" and (django_pool := _django_pool(pool)) is not None:
        occupancy = _psycopg_pool(django_pool)
        # Django builds its pool unopened (`open=False`) and opens it on the alias's
        # first connection: a pool not opened yet waits for that, it is not closed
        opened = bool(getattr(django_pool, "_opened", True))
        return replace(occupancy, closed=occupancy.closed and opened)
    raise TypeError(
        f"pool_health() cannot read a {type(pool).__qualname__}: expected a poolsafe "
        "ConnectionPool, a psycopg2 or psycopg_pool pool, a SQLAlchemy engine or pool, "
        "a pooled peewee database, Django's connection with the \"pool\" option, or "
        "the tracker poolsafe.runtime.track() returned for an unpooled one"
    )


def _reference(pool: Any) -> Occupancy:
    stats = pool.stats()
    return Occupancy(
        "poolsafe",
        str(getattr(pool, "name", "pool")),
        stats.min,
        stats.max,
        stats.available,
        stats.in_use,
        stats.waiting,
        bool(pool.closed),
    )


def _psycopg2(pool: Any) -> Occupancy:
    return Occupancy(
        "psycopg2",
        f"{type(pool).__name__}-{id(pool):x}",
        pool.minconn,
        pool.maxconn,
        len(pool._pool),
        len(pool._used),
        0,
        bool(pool.closed),
    )


def _psycopg_pool(pool: Any) -> Occupancy:
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return Occupancy(
        "psycopg_pool",
        str(getattr(pool, "name", "pool")),
        stats.get("pool_min", pool.min_size),
        stats.get("pool_max", pool.max_size),
        available,
        max(0, size - available),
        stats.get("requests_waiting", 0),
        bool(pool.closed),
    )


def _peewee_pool(database: Any) -> Occupancy:
    limit = database._max_connections or None
    return Occupancy(
        "peewee",
        str(database.database or type(database).__name__),
        0,
        limit,
        len(database._connections),
        len(database._in_use),
        0,
        bool(database.deferred),
    )


def _django_pool(target: Any) -> Any:
    """The psycopg pool behind a Django alias (``connections`` means the default
    alias), or ``None`` without the ``"pool"`` option."""
    if type(target).__name__ == "ConnectionHandler":
        target = target["default"]
    return getattr(target, "pool", None)


def _sqlalchemy(target: Any) -> Occupancy:
    engine = getattr(target, "sync_engine", target)
    pool = getattr(engine, "pool", engine)
    url = getattr(engine, "url", None)
    name = url.render_as_string(hide_password=True) if url is not None else ""
    name = name or f"{type(pool).__name__}-{id(pool):x}"
    in_use = pool.checkedout() if hasattr(pool, "checkedout") else 0
    if hasattr(pool, "overflow") and hasattr(pool, "size"):  # QueuePool
        size = pool.size()
        overflow = getattr(pool, "_max_overflow", 0)
        limit = None if overflow < 0 else size + overflow
        return Occupancy("sqlalchemy", name, 0, limit, pool.checkedin(), in_use)
    return Occupancy("sqlalchemy", name, 0, None, 0, in_use)


def _probe(pool: Any) -> str | None:
    """Take a connection, run ``SELECT 1``, give it back; the error text on failure."""
    try:
        _run_probe(pool)
    except Exception as exc:
        return f"probe failed: {type(exc).__name__}: {str(exc).strip()}"
    return None


def _run_probe(pool: Any) -> None:
    pool = pool.target if isinstance(pool, Tracker) else pool
    library = library_of(pool)
    if library == "sqlalchemy":
        engine = getattr(pool, "sync_engine", pool)
        if hasattr(engine, "connect") and hasattr(engine, "dialect"):
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        conn = pool.connect()
        try:
            conn.cursor().execute("SELECT 1")
        finally:
            conn.close()
        return
    if library == "psycopg_pool":
        with pool.connection(timeout=5) as conn:
            conn.execute("SELECT 1")
        return
    if library in ("peewee", "playhouse"):
        with pool.connection_context():
            pool.execute_sql("SELECT 1")
        return
    if library == "django":
        if type(pool).__name__ == "ConnectionHandler":
            pool = pool["default"]
        with pool.cursor() as cursor:
            cursor.execute("SELECT 1")
        return
    conn = pool.getconn()
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        conn.rollback()
    finally:
        pool.putconn(conn)


def _kind_of(pool: Any) -> str:
    return f"{type(pool).__module__.split('.')[0]}:{type(pool).__name__}"
