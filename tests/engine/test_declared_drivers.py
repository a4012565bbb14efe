"""The project's declared database drivers decide the dialect of an engine whose URL
is not visible (PS203), read from real files on disk, and a change to them is seen
by a cached scan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from project_tree import write_project

from poolsafe.analysis.declared_drivers import declared_driver
from poolsafe.scan.engine import ScanOptions, scan

ENGINE = ('import os\nfrom sqlalchemy import create_engine\n\n'
          'engine = create_engine(os.environ["URL"])\n')


@pytest.mark.parametrize(("files", "dialect", "evidence"), [
    ({"requirements.txt": "# db\npsycopg2-binary==2.9.9 ; python_version>'3'\n"},
     "postgresql", "psycopg2-binary in requirements.txt"),
    ({"requirements/base.txt": "Flask\nPyMySQL>=1\n"}, "mysql", "pymysql in requirements/base.txt"),
    ({"pyproject.toml": "[project]\nname='x'\ndependencies=['asyncpg>=0.29']\n"},
     "postgresql", "asyncpg in pyproject.toml"),
    ({"pyproject.toml": "[tool.poetry.group.db.dependencies]\nmysqlclient='*'\n"},
     "mysql", "mysqlclient in pyproject.toml"),
    ({"setup.py": "from setuptools import setup\nsetup(install_requires=['psycopg[binary]'])\n"},
     "postgresql", "psycopg in setup.py"),
    ({"setup.cfg": "[options]\ninstall_requires =\n    sqlalchemy\n    mysql-connector-python\n"},
     "mysql", "mysql-connector-python in setup.cfg"),
    ({"Pipfile": "[packages]\npsycopg2 = '*'\n"}, "postgresql", "psycopg2 in Pipfile"),
    ({"requirements.txt": "psycopg2\npymysql\n"}, "mysql or postgresql",
     "psycopg2 in requirements.txt"),
])
def test_each_dependency_file_is_read(tmp_path: Path, files: dict[str, str], dialect: str,
                                      evidence: str) -> None:
    root = write_project(tmp_path, {"pyproject.toml": "", **files, "app/db.py": ENGINE})
    found = declared_driver(root / "app" / "db.py")
    assert found is not None
    assert (found.dialect, found.evidence) == (dialect, evidence)


@pytest.mark.parametrize("files", [
    {"requirements.txt": "sqlalchemy\nrequests\n"},
    {"pyproject.toml": "[project]\nname='x'\n[project.optional-dependencies]\npg=['psycopg2']\n"},
    {"pyproject.toml": "this is [ not toml"},
    {"setup.py": "def broken(:\n"},
    {"setup.cfg": "[options\n"},
])
def test_no_driver_or_a_malformed_file_declares_nothing(tmp_path: Path,
                                                        files: dict[str, str]) -> None:
    root = write_project(tmp_path, {".git/HEAD": "", **files, "db.py": ENGINE})
    assert declared_driver(root / "db.py") is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_a_requirements_file_with_a_byte_order_mark_is_read(tmp_path: Path,
                                                            encoding: str) -> None:
    # `pip freeze > requirements.txt` in Windows PowerShell writes UTF-16 (LE, with a BOM)
    root = write_project(tmp_path, {".git/HEAD": "", "db.py": ENGINE})
    text = "SQLAlchemy==2.0.40\r\nasyncpg==0.30.0\r\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (root / "requirements.txt").write_bytes(data)
    found = declared_driver(root / "db.py")
    assert found is not None
    assert (found.dialect, found.evidence) == ("postgresql", "asyncpg in requirements.txt")


def test_a_monorepo_subdirectory_counts(tmp_path: Path) -> None:
    root = write_project(tmp_path, {".git/HEAD": "", "backend/requirements.txt": "asyncpg\n",
                               "backend/app/db.py": ENGINE})
    found = declared_driver(root / "backend" / "app" / "db.py")
    assert found is not None and found.dialect == "postgresql"


def test_a_cached_scan_sees_a_new_driver(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"pyproject.toml": "[project]\nname='x'\n", "db.py": ENGINE,
                               "requirements.txt": "sqlalchemy\n"})
    cwd = os.getcwd()
    os.chdir(root)
    try:
        options = ScanOptions(select={"PS203"}, cache_dir=root / ".poolsafe_cache")
        assert scan([str(root)], options).findings == []
        (root / "requirements.txt").write_text("sqlalchemy\npsycopg2-binary\n")
        found = scan([str(root)], options).findings
        assert [(f.code, f.line) for f in found] == [("PS203", 4)]
        assert "psycopg2-binary in requirements.txt" in found[0].message
    finally:
        os.chdir(cwd)
