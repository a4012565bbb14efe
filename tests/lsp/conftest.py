"""A project on disk for the language server tests: a pool wrapper in one module,
its leaking caller in another."""

from __future__ import annotations

from pathlib import Path

import pytest

DB = '''\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=test")


def get_conn():
    return pool.getconn()
'''

APP = '''\
from db import get_conn


def handler():
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("select 1")
    return cur.fetchone()
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (root / "db.py").write_text(DB)
    (root / "app.py").write_text(APP)
    return root
