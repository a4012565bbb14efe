"""PS208 findings depend on deployment files: the cache must notice their changes."""

from __future__ import annotations

import os
from pathlib import Path

from poolsafe.scan.engine import ScanOptions, scan

COMPOSE = """services:
  web:
    image: app
    command: gunicorn -w 4 app:app
    deploy:
      replicas: 2
  db:
    image: postgres:16
    command: postgres -c max_connections={n}
"""


def _codes(root: Path, cache: Path) -> list[str]:
    result = scan([str(root)], ScanOptions(cache_dir=cache))
    assert not result.errors, result.errors
    return sorted(f.code for f in result.findings)


def test_editing_the_compose_file_invalidates_ps208(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "db.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine('postgresql://app@db/app', pool_size=10, max_overflow=5,\n"
        "                       pool_pre_ping=True)\n")
    (root / "app.py").write_text("from db import engine\n\napp = object()\n")
    compose = root / "docker-compose.yml"
    compose.write_text(COMPOSE.format(n=50))
    cache = tmp_path / "cache"
    assert _codes(root, cache) == ["PS208"]
    assert _codes(root, cache) == ["PS208"]  # answered from the cache
    compose.write_text(COMPOSE.format(n=500))
    st = compose.stat()
    os.utime(compose, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _codes(root, cache) == []
    env = root / ".env.production"
    env.write_text("UNUSED=1\n")
    assert _codes(root, cache) == []


def test_editing_the_entry_module_invalidates_ps208(tmp_path: Path) -> None:
    """Which pools a process opens depends on its entry module's imports: when the
    web program stops importing the pool's module, the cached PS208 goes."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "db.py").write_text(
        "from sqlalchemy import create_engine\n\n"
        "engine = create_engine('postgresql://app@db/app', pool_size=10, max_overflow=5,\n"
        "                       pool_pre_ping=True)\n")
    app = root / "app.py"
    app.write_text("from db import engine\n\napp = object()\n")
    (root / "docker-compose.yml").write_text(COMPOSE.format(n=50))
    cache = tmp_path / "cache"
    assert _codes(root, cache) == ["PS208"]
    app.write_text("app = object()\n")
    st = app.stat()
    os.utime(app, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert _codes(root, cache) == []
    app.write_text("from db import engine\n\napp = object()\n")
    os.utime(app, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert _codes(root, cache) == ["PS208"]
