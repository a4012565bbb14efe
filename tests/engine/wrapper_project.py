"""A small project on disk for the epoch tests: a pool wrapper module and modules that
each check a connection out through it (so every module depends on the wrapper)."""

from __future__ import annotations

from pathlib import Path


def write_wrapper_project(root: Path, modules: int) -> None:
    (root / "db.py").write_text(
        "import psycopg2.pool\n\nPOOL = psycopg2.pool.SimpleConnectionPool(1, 2)\n\n\n"
        "def get_conn():\n    return POOL.getconn()\n")
    for i in range(modules):
        (root / f"m{i}.py").write_text(
            "from db import get_conn\n\n\ndef f():\n    conn = get_conn()\n"
            "    conn.cursor().execute('SELECT 1')\n")
