"""pool_health(): occupancy and status of every kind of pool, and the optional
Prometheus metrics."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, pool_health, register_prometheus, track


def sqlite_pool(minconn: int, maxconn: int, url: str = "sqlite://", **options: Any) -> Any:
    """A reference pool on SQLite, whichever constructor the pool has (a URL
    through ``from_url`` where it exists, ``dsn=`` before)."""
    from_url = getattr(ConnectionPool, "from_url", None)
    if from_url is not None:
        return from_url(minconn, maxconn, url, **options)
    return ConnectionPool(minconn, maxconn, dsn=url, **options)


KEYS = {"pool", "min", "max", "available", "in_use", "total", "waiting", "usage_percent", "status"}


@pytest.fixture
def pool(tmp_path: Path) -> Any:
    pool = sqlite_pool(1, 3, f"sqlite:///{tmp_path / 'h.db'}", name="health")
    yield pool
    if not pool.closed:
        pool.closeall()


def test_reference_pool_health_and_thresholds(pool: ConnectionPool) -> None:
    health = pool_health(pool)
    assert set(health) == KEYS
    assert health == {
        "pool": "poolsafe:health", "min": 1, "max": 3, "available": 1, "in_use": 0,
        "total": 1, "waiting": 0, "usage_percent": 0.0, "status": "healthy",
    }
    a, b = pool.getconn(), pool.getconn()
    health = pool_health(pool)
    assert (health["in_use"], health["total"], health["usage_percent"]) == (2, 2, 66.7)
    assert health["status"] == "warning"  # at or above 60%
    assert pool_health(pool, warning_at=70)["status"] == "healthy"
    failing = pool_health(pool, error_at=60)
    assert failing["status"] == "error" and "66.7% of the pool in use" in failing["error"]
    pool.putconn(a)
    pool.putconn(b)
    assert pool_health(pool, probe=True)["status"] == "healthy"
    pool.closeall()
    closed = pool_health(pool)
    assert (closed["status"], closed["error"]) == ("error", "the pool is closed")


def test_threshold_must_be_a_percentage(pool: ConnectionPool) -> None:
    with pytest.raises(ValueError, match="percentages"):
        pool_health(pool, warning_at=160)


def test_unsupported_object_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="cannot read a dict"):
        pool_health({})


def test_sqlalchemy_queue_pool_and_a_failing_probe(tmp_path: Path) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'q.db'}", pool_size=2, max_overflow=2
    )
    conns = [engine.connect() for _ in range(3)]
    health = pool_health(engine)
    assert {k: health[k] for k in ("min", "max", "in_use", "available", "usage_percent")} == {
        "min": 0, "max": 4, "in_use": 3, "available": 0, "usage_percent": 75.0
    }
    assert health["status"] == "warning"
    for conn in conns:
        conn.close()
    assert pool_health(track(engine))["available"] == 2  # a tracker reads its pool
    track(engine).detach()
    engine.dispose()
    broken = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    health = pool_health(broken, probe=True)
    assert health["status"] == "error" and health["error"].startswith("probe failed:")
    assert pool_health(broken)["status"] == "healthy"  # without a probe nothing is tried
    broken.dispose()


def test_psycopg2_pools_on_postgresql(pg_dsn: str) -> None:
    import psycopg2.pool

    for cls in (psycopg2.pool.SimpleConnectionPool, psycopg2.pool.ThreadedConnectionPool):
        pool = cls(1, 4, pg_dsn)
        conns = [pool.getconn() for _ in range(3)]
        health = pool_health(pool, probe=True)
        assert {k: health[k] for k in ("min", "max", "in_use", "available", "total")} == {
            "min": 1, "max": 4, "in_use": 3, "available": 0, "total": 3
        }
        assert (health["usage_percent"], health["status"]) == (75.0, "warning")
        for conn in conns:
            pool.putconn(conn)
        assert pool_health(pool)["status"] == "healthy"
        pool.closeall()
        assert pool_health(pool)["status"] == "error"


def test_psycopg_pool_on_postgresql(pg_dsn: str) -> None:
    psycopg_pool = pytest.importorskip("psycopg_pool")
    pool = psycopg_pool.ConnectionPool(pg_dsn, min_size=2, max_size=4, open=True, name="pg")
    try:
        pool.wait()
        conn = pool.getconn()
        health = pool_health(pool, probe=True)
        assert (health["pool"], health["min"], health["max"], health["in_use"]) == (
            "psycopg_pool:pg", 2, 4, 1
        )
        assert health["status"] == "healthy" and health["usage_percent"] == 25.0
        pool.putconn(conn)
    finally:
        pool.close()
    assert pool_health(pool)["status"] == "error"


def test_sqlalchemy_engine_on_postgresql(pg_dsn: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(pg_dsn, pool_size=1, max_overflow=1)
    try:
        with engine.connect():
            health = pool_health(engine, probe=True)  # the probe takes the second one
        assert (health["in_use"], health["max"], health["status"]) == (1, 2, "healthy")
        assert "postgres" in health["pool"] and "***" not in health["pool"]
    finally:
        engine.dispose()


def test_prometheus_metrics(pool: ConnectionPool, tmp_path: Path) -> None:
    prometheus_client = pytest.importorskip(
        "prometheus_client", reason="prometheus_client is not installed (poolsafe[prometheus])"
    )
    sqlalchemy = pytest.importorskip("sqlalchemy")
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    tracker = track(engine, name="reports")
    registry = prometheus_client.CollectorRegistry()
    register_prometheus(pool, tracker, registry=registry)
    conn = pool.getconn()
    leaked = engine.connect()
    del leaked
    gc.collect()

    def value(name: str, pool_name: str) -> float | None:
        return registry.get_sample_value(name, {"pool": pool_name, "kind": kind[pool_name]})

    kind = {"health": "poolsafe", "reports": "sqlalchemy"}
    assert value("poolsafe_pool_in_use", "health") == 1
    assert value("poolsafe_pool_max", "health") == 3
    assert value("poolsafe_pool_checkouts_total", "health") == 1
    assert value("poolsafe_pool_waiting", "health") == 0
    assert value("poolsafe_pool_checkouts_total", "reports") == 1
    assert value("poolsafe_pool_leaks_total", "reports") == 1
    assert value("poolsafe_pool_in_use", "reports") == 0
    text = prometheus_client.generate_latest(registry).decode()
    assert 'poolsafe_pool_in_use{kind="poolsafe",pool="health"} 1.0' in text
    pool.putconn(conn)
    tracker.detach()
    engine.dispose()
