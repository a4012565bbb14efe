"""Modules that import a name from each other (or a package that re-exports a name
from itself) end every resolution chain: no rule runs out of stack, and what can
be resolved still is."""

from __future__ import annotations

from poolsafe.scan.engine import ScanOptions, scan_sources

_DB = """\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))
"""


def test_names_imported_in_a_cycle_end_resolution() -> None:
    files = {
        "pyproject.toml": "[project]\nname = 'x'\n",
        "pkg/__init__.py": "from pkg.clients import store\n",
        "pkg/clients.py": "from pkg import store\n",
        "pkg/a.py": "from pkg.b import client\n",
        "pkg/b.py": "from pkg.a import client\n",
        "pkg/views.py": _DB + """
import boto3
from pkg import store
from pkg.a import client

s3 = boto3.client("s3")


def save(db: Session, path: str):
    db.execute(text("INSERT INTO files (p) VALUES (:p)"), {"p": path})
    store.upload_file(path, "bucket", "k")
    client.upload_file(path, "bucket", "k")
    s3.upload_file(path, "bucket", "k")
    db.commit()
""",
    }
    result = scan_sources(files, ScanOptions())
    assert result.errors == []
    assert {(f.path, f.line, f.code) for f in result.findings} == {("pkg/views.py", 17, "PS207")}
