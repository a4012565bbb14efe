"""Prove the fixture apps' leaks at run time, and their absence after the fix.

The Flask + psycopg2 orders API runs against `poolsafe.runtime.ConnectionPool`
(a drop-in for `ThreadedConnectionPool`) on SQLite, with faults injected into its
statements. `before/` drains the pool after a bounded number of requests and the
pool names the holders at the lines PS101/PS102 report; `after/` returns every
connection.
"""

from __future__ import annotations

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


class _PgStyleCursor:
    """sqlite3 cursor that accepts psycopg2's `%s` placeholders."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Any = ()) -> _PgStyleCursor:
        self._cursor.execute(sql.replace("%s", "?"), params)
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _PgStyleConnection:
    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False)

    def cursor(self) -> _PgStyleCursor:
        return _PgStyleCursor(self._conn.cursor())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _fixed_copy(tmp_path: Path) -> Path:
    """`before/` after `poolsafe fix` (safe fixes only)."""
    target = tmp_path / "fixed"
    shutil.copytree(FIXTURE / "before", target)
    run = subprocess.run([sys.executable, "-m", "poolsafe", "fix", str(target)],
                         capture_output=True, text=True, check=False)
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
    pool = ConnectionPool(1, MAXCONN, connect=lambda: _PgStyleConnection(path), driver="sqlite",
                          stack_depth=8)
    monkeypatch.setattr(db, "_pool", pool)
    app_module.app.config["PROPAGATE_EXCEPTIONS"] = False
    return app_module, pool


def _holder_sites(pool: ConnectionPool) -> list[str]:
    """Each holder's checkout site and its stack, as `file.py:line` strings."""
    return [h.site + "\n" + h.stack for h in pool.holders()]


def test_before_leaks_a_slot_per_failed_lookup(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    app_module, pool = _load("before", tmp_path, monkeypatch)
    client = app_module.app.test_client()
    for _ in range(MAXCONN):
        with pool.faults(statements=1, match="FROM orders WHERE id"):
            assert client.get("/orders/1").status_code == 500
    assert pool.stats().in_use == MAXCONN
    sites = _holder_sites(pool)
    assert len(sites) == MAXCONN
    for site in sites:
        # taken in the project's wrapper, called from the line PS102 reports
        assert "db.py:17" in site.splitlines()[0]
        assert 'before/app.py", line 16' in site or "before/app.py:16" in site
    # the next request cannot get a connection at all
    assert client.get("/orders/2").status_code == 500


def test_before_close_loses_the_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app_module, pool = _load("before", tmp_path, monkeypatch)
    client = app_module.app.test_client()
    for _ in range(MAXCONN):
        assert client.get("/customers/ada/orders").status_code == 200
    assert pool.stats().in_use == MAXCONN  # closed, never returned (PS101)
    assert pool.stats().closed_by_borrower == MAXCONN
    assert client.get("/orders/1").status_code == 500


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
    assert pool.stats().in_use == 0
    assert pool.holders() == []
    assert client.get("/orders/1").get_json() == {"id": 1, "customer": "ada", "total": 10}
