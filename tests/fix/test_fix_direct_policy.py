"""`poolsafe fix` and PS102's direct-connection policy (policy49): what the default
policy does not report is not rewritten; with `direct-connections = "strict"` the
same function gets its `finally`."""

from __future__ import annotations

from poolsafe.core.project import ProjectConfig
from poolsafe.fix.loop.apply import fix_sources
from poolsafe.rules.cases.ps102 import DIRECT_EXCEPTION_ONLY
from poolsafe.scan.engine import ScanOptions, scan_sources

SOURCE = DIRECT_EXCEPTION_ONLY.format(mark="").lstrip("\n")

FIXED = """\
import psycopg2


def insert_event(kind):
    conn = psycopg2.connect("dbname=events")
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO events (kind) VALUES (%s)", (kind,))
        conn.commit()
    finally:
        conn.close()
"""


def _options(policy: str | None = None) -> ScanOptions:
    project = ProjectConfig() if policy is None else ProjectConfig(direct_connections=policy)
    return ScanOptions(select={"PS102"}, project=project)


def test_the_default_run_leaves_the_function_untouched() -> None:
    result = fix_sources({"app.py": SOURCE}, _options(), unsafe=True)
    assert not result.errors, result.errors
    assert result.applied == [] and result.left == []
    assert result.sources()["app.py"] == SOURCE


def test_the_strict_run_still_fixes_it() -> None:
    result = fix_sources({"app.py": SOURCE}, _options("strict"), unsafe=False)
    assert not result.errors, result.errors
    assert result.applied
    assert result.sources()["app.py"] == FIXED
    assert not scan_sources({"app.py": FIXED}, _options("strict")).findings


def test_a_strict_pyproject_of_the_project_fixes_it_too() -> None:
    files = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n',
             "app.py": SOURCE}
    result = fix_sources(files, _options(), unsafe=False)
    assert result.applied
    assert result.sources()["app.py"] == FIXED
