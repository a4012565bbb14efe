"""Prove the fixture apps' leaks at run time, and their absence after the fix.

The Flask + psycopg2 orders API runs against `poolsafe.runtime.ConnectionPool`
(a drop-in for `ThreadedConnectionPool`) on SQLite (`connect=sqlite3.connect` with
a connection class that takes psycopg2's `%s` placeholders), with faults injected
into its statements. In `before/` every faulty request leaks its connection: the
pool reports each one, taken at the lines PS101/PS102 report, once it is
garbage-collected; `after/` returns every connection.
"""

from __future__ import annotations

import gc
import importlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool

pytest.importorskip("flask")
pytest.importorskip("psycopg2")

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "flask_psycopg2"
MAXCONN = 3


class _PgStyleCursor(sqlite3.Cursor):
    """sqlite3 cursor that accepts psycopg2's `%s` placeholders."""

    def execute(self, sql: str, params: Any = ()) -> _PgStyleCursor:  # type: ignore[override]
        super().execute(sql.replace("%s", "?"), params)
        return self


class _PgStyleConnection(sqlite3.Connection):
    def cursor(self, factory: Any = _PgStyleCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)


def _fixed_copy(tmp_path: Path) -> Path:
    """`before/` after `poolsafe fix` (safe fixes only)."""
    target = tmp_path / "fixed"
    shutil.copytree(FIXTURE / "before", target)
    run = subprocess.run([sys.executable, "-m", "poolsafe", "fix", str(target)],
                         capture_output=True, text=True, check=False)
    # (the PS103 in the order lines' loop would get a savepoint per iteration: more
    # SQL, an unsafe fix by definition, which plain `fix` leaves)
    assert "Fixed 3 findings (PS101 x1, PS102 x2)." in run.stdout + run.stderr, run.stderr
    return target


def _load(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType,
                                                                                ConnectionPool]:
    for name in ("db", "app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    source = _fixed_copy(tmp_path) if form == "fixed" else FIXTURE / form
    monkeypatch.syspath_prepend(str(source))
    db = importlib.import_module("db")
    app_module = importlib.import_module("app")
    path = str(tmp_path / "orders.db")
    setup = sqlite3.connect(path)
    setup.executescript(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT, total INTEGER);"
        "CREATE TABLE order_lines (sku TEXT UNIQUE, qty INTEGER);"
        "INSERT INTO orders (customer, total) VALUES ('ada', 10), ('bob', 20);"
    )
    setup.commit()
    setup.close()
    # a deeper stack than the default borrower frame: the app's line, not just the wrapper's
    pool = ConnectionPool(1, MAXCONN, path, connect=sqlite3.connect,
                          factory=_PgStyleConnection, stack_depth=8)
    monkeypatch.setattr(db, "_pool", pool)
    app_module.app.config["PROPAGATE_EXCEPTIONS"] = False
    # a captured log record keeps its traceback, and the traceback the leaked connection
    monkeypatch.setattr(app_module.app.logger, "disabled", True)
    return app_module, pool


def test_before_leaks_a_slot_per_failed_lookup(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    app_module, pool = _load("before", tmp_path, monkeypatch)
    client = app_module.app.test_client()
    for _ in range(MAXCONN):
        with pool.faults(statements=1, match="FROM orders WHERE id"):
            assert client.get("/orders/1").status_code == 500
    gc.collect()  # (sqlite3 connections sit in a reference cycle with their statement cache)
    stats = pool.stats()
    assert (stats.leaked, stats.in_use) == (MAXCONN, 0)  # reported, slots recovered
    sites = [h.site + "\n" + h.stack for h in pool.leaks()]
    assert len(sites) == MAXCONN
    for site in sites:
        # taken in the project's wrapper, called from the line PS102 reports
        assert "db.py:17" in site.splitlines()[0]
        assert 'before/app.py", line 16' in site or "before/app.py:16" in site
    with pytest.raises(AssertionError, match="garbage-collected while checked out"):
        pool.assert_no_leaks()


def test_before_close_loses_the_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app_module, pool = _load("before", tmp_path, monkeypatch)
    client = app_module.app.test_client()
    for _ in range(MAXCONN):
        assert client.get("/customers/ada/orders").status_code == 200
    gc.collect()
    # closed, never returned (PS101): each one is a leak (psycopg2 would lose the slot)
    assert pool.stats().leaked == MAXCONN
    assert all("before/app.py" in h.site + h.stack for h in pool.leaks())


@pytest.mark.parametrize("form", ["after", "fixed"])
def test_after_and_fixed_before_return_every_connection(
        form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app_module, pool = _load(form, tmp_path, monkeypatch)
    client = app_module.app.test_client()
    for _ in range(MAXCONN * 3):
        with pool.faults(statements=1, match="FROM orders WHERE id"):
            assert client.get("/orders/1").status_code == 500
        assert client.get("/customers/ada/orders").status_code == 200
        with pool.faults(statements=1, match="DELETE FROM orders"):
            assert client.delete("/orders/2").status_code == 500
    gc.collect()
    assert (pool.stats().in_use, pool.stats().leaked) == (0, 0)
    assert pool.holders() == []
    pool.assert_no_leaks()
    assert client.get("/orders/1").get_json() == {"id": 1, "customer": "ada", "total": 10}
