"""Every command that writes, on a tree with symbolic links in and out of the project
(issue 29, item 2): nothing outside the tree changes, whatever path is named, and
each refused file is one line, never a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from poolsafe.cli.main import main

LEAK = '''import psycopg2.pool

pool = psycopg2.pool.SimpleConnectionPool(1, 5, dsn="dbname=app")


def count_users():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("select count(*) from users")
    n = cur.fetchone()[0]
    pool.putconn(conn)
    return n
'''

#: paths named on the command line that lead out of the project
OUT = ["out_dir/leak.py", "chain/leak.py", "app/deep/leak.py", "app/../out_dir/leak.py",
       "file_link.py"]


def _snapshot(root: Path) -> dict[str, tuple[bytes | str, int]]:
    out: dict[str, tuple[bytes | str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            content: bytes | str = (os.readlink(p) if p.is_symlink() else
                                    p.read_bytes() if p.is_file() else "dir")
            out[str(p.relative_to(root))] = (content, st.st_mode)
    return out


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    project, outside = tmp_path / "project", tmp_path / "outside"
    (outside / "nested").mkdir(parents=True)
    (outside / "leak.py").write_text(LEAK)
    (outside / "nested" / "leak.py").write_text(LEAK)
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "app" / "leak.py").write_text(LEAK)
    (project / "out_dir").symlink_to(outside, target_is_directory=True)
    (project / "chain").symlink_to(project / "out_dir", target_is_directory=True)
    (project / "app" / "deep").symlink_to(outside / "nested", target_is_directory=True)
    (project / "file_link.py").symlink_to(outside / "leak.py")
    (project / "in_dir").symlink_to(project / "app", target_is_directory=True)
    monkeypatch.chdir(project)
    monkeypatch.setenv("POOLSAFE_NO_PROGRESS", "1")
    yield project, outside


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("command", [
    ("fix",), ("fix", "--unsafe-fixes"), ("check", "--fix"), ("check", "--add-noqa")])
def test_no_named_path_writes_outside_the_project(tree: tuple[Path, Path],
                                                  command: tuple[str, ...]) -> None:
    project, outside = tree
    before = _snapshot(outside)
    for path in OUT:
        code, out = _run(*command, path)
        assert code == 1, (path, out)
        assert "Traceback" not in out and "internal error" not in out, out
        refusals = [line for line in out.splitlines() if line.startswith(f"{path}:")
                    and ("outside the project" in line or "symbolic link" in line)]
        assert len(refusals) == 1, (path, out)
    code, out = _run(*command, *OUT, ".")
    assert code == 1 and "Traceback" not in out, out
    assert _snapshot(outside) == before
    # the project's own file, and through the link that stays inside, is written
    assert "poolsafe-tmp" not in "".join(_snapshot(project))


def test_fix_of_the_whole_tree_writes_only_inside(tree: tuple[Path, Path]) -> None:
    project, outside = tree
    before = _snapshot(outside)
    code, out = _run("fix", ".")
    assert code == 0, out
    assert "finally:" in (project / "app" / "leak.py").read_text()
    assert _snapshot(outside) == before


def test_baseline_through_a_link_out_is_refused(tree: tuple[Path, Path]) -> None:
    _project, outside = tree
    before = _snapshot(outside)
    for target in ("out_dir/poolsafe-baseline.json", "app/deep/poolsafe-baseline.json"):
        code, out = _run("baseline", target, ".")
        assert code == 2 and "outside the project" in out and "Traceback" not in out, out
    assert _snapshot(outside) == before
