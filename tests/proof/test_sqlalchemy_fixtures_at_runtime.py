"""Prove the SQLAlchemy fixture apps' leaks at run time with `poolsafe.runtime.track`.

SQLAlchemy gives a leaked connection back when the session or connection object is
garbage-collected. In a service that keeps the exception (an error reporter, a
retry queue, a debugger) the frame and its connection stay alive, and the pool
drains: `QueuePool limit of size 2 overflow 0 reached`. These tests keep every
exception, as such a service would, and look at who holds the connections.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
from sqlalchemy.exc import OperationalError  # noqa: E402
from sqlalchemy.exc import TimeoutError as PoolTimeoutError  # noqa: E402

from poolsafe.runtime import track  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
POOL_SIZE = 2


def _took_at(holder: object, filename: str, line: int) -> bool:
    """The holder's checkout site or stack passes through `filename` at `line`."""
    text = holder.site + "\n" + holder.stack  # type: ignore[attr-defined]
    return f'{filename}", line {line},' in text or f"{filename}:{line}" in text


def _engine(tmp_path: Path) -> sqlalchemy.engine.Engine:
    return sqlalchemy.create_engine(
        f"sqlite:///{tmp_path / 'app.db'}", poolclass=sqlalchemy.pool.QueuePool,
        pool_size=POOL_SIZE, max_overflow=0, pool_timeout=0.2)


def _import_fresh(root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> object:
    for mod in [m for m in sys.modules if m == name.split(".")[0]
                or m.startswith(name.split(".")[0] + ".")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.syspath_prepend(str(root))
    return importlib.import_module(name)


# --- SQLAlchemy Core reporting module -------------------------------------------------

def _reports(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    reports = _import_fresh(FIXTURES / "sqlalchemy_reporting" / form, "reports", monkeypatch)
    engine = _engine(tmp_path)
    monkeypatch.setattr(reports, "engine", engine)
    return reports, engine


def test_reporting_before_drains_the_pool_when_a_query_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports, engine = _reports("before", tmp_path, monkeypatch)
    tracker = track(engine)
    kept = []
    for _ in range(POOL_SIZE):
        with pytest.raises(OperationalError) as failure:  # no `sales` table: the query fails
            reports.daily_totals("2026-11-01")
        kept.append(failure.value)
    holders = tracker.holders()
    assert len(holders) == POOL_SIZE
    assert all(_took_at(h, "reports.py", 9) for h in holders)  # the line PS102 reports
    with pytest.raises(PoolTimeoutError, match="QueuePool limit of size 2 overflow 0"):
        reports.daily_totals("2026-11-02")


def test_reporting_after_returns_every_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reports, engine = _reports("after", tmp_path, monkeypatch)
    tracker = track(engine)
    kept = []
    for _ in range(POOL_SIZE * 3):
        with pytest.raises(OperationalError) as failure:
            reports.daily_totals("2026-11-01")
        kept.append(failure.value)
    assert tracker.holders() == []
    tracker.assert_no_leaks()


# --- FastAPI + SQLAlchemy inventory service -------------------------------------------

def _inventory(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    pytest.importorskip("fastapi")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'inventory.db'}")
    main = _import_fresh(FIXTURES / "fastapi_sqlalchemy" / form, "app.main", monkeypatch)
    database = sys.modules["app.database"]
    engine = _engine(tmp_path)
    database.SessionLocal.configure(bind=engine)
    return main, engine


def test_inventory_before_route_leaks_its_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, engine = _inventory("before", tmp_path, monkeypatch)
    tracker = track(engine)
    kept = []
    for _ in range(POOL_SIZE):
        with pytest.raises(OperationalError) as failure:  # no `items` table yet
            main.read_item("sku-1")
        kept.append(failure.value)
    holders = tracker.holders()
    assert len(holders) == POOL_SIZE
    assert all(_took_at(h, "main.py", 25) for h in holders)  # the session's first query


def test_inventory_after_dependency_closes_the_session(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, engine = _inventory("after", tmp_path, monkeypatch)
    deps = sys.modules["app.deps"]
    tracker = track(engine)
    kept = []
    for _ in range(POOL_SIZE * 3):
        # what FastAPI does with a yield dependency: run the route, then throw the
        # route's exception into the generator so its `finally` closes the session
        dependency = deps.get_db()
        db = next(dependency)
        with pytest.raises(OperationalError) as failure:
            try:
                main.read_item("sku-1", db=db)
            except OperationalError as exc:
                with pytest.raises(OperationalError):
                    dependency.throw(exc)
                raise
        kept.append(failure.value)
    assert tracker.holders() == []
    tracker.assert_no_leaks()
