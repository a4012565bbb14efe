"""PS208's first question about a checked module (`capacity.may_count`): may one of
its pools count towards a server's budget at all? When none can (no program reaches
its module, or it talks to no server known in any environment), PS208 has nothing to
say about the module and the project's other pools are not read, which is what a
check of one edited file mostly costs on a large code base."""

from __future__ import annotations

from pathlib import Path

import pytest

import poolsafe.rules.ps208_pool_capacity_exceeds_server as ps208
from poolsafe.analysis.capacity import compute_capacity, may_count
from poolsafe.analysis.deploy_files import project_files
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.pool_sites import PoolSite
from poolsafe.rules import ALL_RULES
from poolsafe.scan.engine import ScanOptions, scan, scan_sources

MAIN = "from tool import connect\n\nif __name__ == '__main__':\n    connect()\n"
# a pool of 20 + 80 = 100 connections in a program of its own: over PostgreSQL's 97
BIG = ("from sqlalchemy import create_engine\n\n"
       "big = create_engine('postgresql://app@db/app', pool_size=20, max_overflow=80)\n")


def _project(tmp_path: Path, tool: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "run.py").write_text(MAIN)
    (root / "tool.py").write_text(tool)
    (root / "bigdb.py").write_text(BIG)
    (root / "batch.py").write_text("from bigdb import big\n\n"
                                   "if __name__ == '__main__':\n    big.connect()\n")
    return root


def test_a_pool_with_no_known_server_does_not_read_the_other_pools(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    # the URL is the caller's: no dialect, no server, so nothing to budget here
    root = _project(tmp_path, "from sqlalchemy import create_engine\n\n\n"
                              "def connect(url):\n    return create_engine(url)\n")
    monkeypatch.chdir(root)
    result = scan(["tool.py"], ScanOptions(select={"PS208"}))
    assert not result.findings and not result.errors
    assert "bigdb.py" not in epoch_parses, epoch_parses
    # the whole project still finds batch.py's own program over the limit
    assert [(f.path, f.code) for f in scan(["."], ScanOptions(select={"PS208"})).findings] == [
        ("bigdb.py", "PS208")]


def test_a_pool_that_may_count_reads_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    # look-alike: a PostgreSQL URL reached from run.py's program, under its limit
    root = _project(tmp_path, "from sqlalchemy import create_engine\n\n\n"
                              "def connect():\n"
                              "    return create_engine('postgresql://app@db/app')\n")
    monkeypatch.chdir(root)
    assert not scan(["tool.py"], ScanOptions(select={"PS208"})).findings
    assert "bigdb.py" in epoch_parses, epoch_parses


def test_a_pool_no_program_reaches_does_not_read_the_other_pools(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    root = _project(tmp_path, "from sqlalchemy import create_engine\n\n\n"
                              "def connect():\n"
                              "    return create_engine('postgresql://app@db/app')\n")
    (root / "run.py").write_text("if __name__ == '__main__':\n    print('no pool')\n")
    monkeypatch.chdir(root)
    assert not scan(["tool.py"], ScanOptions(select={"PS208"})).findings
    assert "bigdb.py" not in epoch_parses, epoch_parses


def test_may_count_false_means_no_pool_of_the_module_is_over_a_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On every rule case of every rule (PS208's among them): whenever `may_count`
    says no, the whole capacity (computed apart, not kept) puts none of the module's
    pools in an over-budget server's sum."""
    judged: list[bool] = []

    def checked(index: ProjectIndex, module: ModuleInfo, mine: list[PoolSite]) -> bool:
        answer = may_count(index, module, mine)
        judged.append(answer)
        if not answer:
            capacity = compute_capacity(index, project_files(index, module))
            lines = {p.line for p in mine}
            assert not [p for p in capacity.pools
                        if p.module.path == module.path and p.line in lines
                        and capacity.over_budgets(p)], module.path
        return answer

    monkeypatch.setattr(ps208, "may_count", checked)
    for rule in ALL_RULES:
        for case in [*rule.VALID, *rule.INVALID]:
            scan_sources({**case.files, case.path: case.code},
                         ScanOptions(select={"PS208"}))
    assert True in judged and False in judged
