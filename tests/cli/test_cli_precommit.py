"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` tool.

`pre-commit try-repo` clones the hook repository at HEAD and pip-installs it into
a fresh virtualenv. So that the test exercises the working tree (with whatever is
not committed yet), it copies the files a build needs into a temporary git
repository and commits them there. Installing needs the package index (for
libcst, click, rich); the test is slow the first time and skipped when
`pre-commit` is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

LEAK = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def get_user(user_id):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    pool.putconn(conn)
    return row
'''

CLEAN = LEAK.replace('''    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
    row = cur.fetchone()
    pool.putconn(conn)
    return row''', '''    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
        return cur.fetchone()
    finally:
        pool.putconn(conn)''')


def _pre_commit() -> str | None:
    beside = Path(sys.executable).parent / "pre-commit"
    if beside.exists():
        return str(beside)
    return shutil.which("pre-commit")


PRE_COMMIT = _pre_commit()
pytestmark = [
    pytest.mark.skipif(PRE_COMMIT is None,
                       reason="pre-commit is not installed (pip install 'poolsafe[test]')"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"})


def hook_repo(tmp: Path) -> Path:
    """The working tree's package and hook manifest, committed in a fresh repo."""
    dest = tmp / "hookrepo"
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    git(dest, "init", "-q")
    git(dest, "add", ".")
    git(dest, "commit", "-q", "-m", "hooks")
    return dest


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("precommit")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp / "cache"),
           "PRE_COMMIT_COLOR": "never", "POOLSAFE_NO_PROGRESS": "1"}
    env.pop("VIRTUAL_ENV", None)
    return hook_repo(tmp), env


def try_repo(hooks: tuple[Path, dict[str, str]], project: Path, hook: str,
             *files: str) -> subprocess.CompletedProcess[str]:
    repo, env = hooks
    assert PRE_COMMIT is not None
    return subprocess.run([PRE_COMMIT, "try-repo", str(repo), hook, "--files", *files],
                          cwd=project, env=env, capture_output=True, text=True, timeout=900)


def make_project(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name, text in files.items():
        (project / name).write_text(text)
    git(project, "init", "-q")
    git(project, "add", ".")
    return project


def test_poolsafe_hook_fails_on_a_leak_and_passes_when_fixed(
        hooks: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    project = make_project(tmp_path, {"leak.py": LEAK, "clean.py": CLEAN})
    r = try_repo(hooks, project, "poolsafe", "leak.py")
    out = r.stdout + r.stderr
    if r.returncode != 0 and "PS102" not in out and "Failed" not in out:
        pytest.fail(f"pre-commit could not run the hook:\n{out}")
    assert r.returncode == 1, out
    assert "PS102" in out and "leak.py:7" in out
    r = try_repo(hooks, project, "poolsafe", "clean.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Passed" in r.stdout


def test_poolsafe_fix_hook_if_the_fix_command_exists(
        hooks: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    from poolsafe.cli.main import main

    if "fix" not in getattr(main, "commands", {}):
        pytest.skip("`poolsafe fix` is not implemented yet")
    project = make_project(tmp_path, {"leak.py": LEAK})
    r = try_repo(hooks, project, "poolsafe-fix", "leak.py")
    out = r.stdout + r.stderr
    assert "poolsafe (fix)" in out, out
    # a fixing hook that changed files makes pre-commit fail; the file is then clean
    after = (project / "leak.py").read_text()
    assert r.returncode in (0, 1), out
    if after != LEAK:
        assert r.returncode == 1


DB = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
'''

APP = '''from db import get_db_connection, release_db_connection


def count_orders():
    conn = get_db_connection()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders")
    n = cur.fetchone()[0]
    release_db_connection(conn)
    return n
'''


def test_hooks_resolve_a_staged_module_against_the_unstaged_project(
        hooks: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """Only app.py is staged; its wrappers live in db.py, committed earlier. The
    check hook must see them (it used to say Passed), and the fix hook must fix
    app.py with them."""
    project = make_project(tmp_path, {"db.py": DB})
    git(project, "commit", "-q", "-m", "db")
    (project / "app.py").write_text(APP)
    git(project, "add", "app.py")
    repo, env = hooks
    assert PRE_COMMIT is not None
    r = subprocess.run([PRE_COMMIT, "try-repo", str(repo), "poolsafe"], cwd=project, env=env,
                       capture_output=True, text=True, timeout=900)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "app.py:5:12: PS102" in out, out
    r = subprocess.run([PRE_COMMIT, "try-repo", str(repo), "poolsafe-fix"], cwd=project,
                       env=env, capture_output=True, text=True, timeout=900)
    fixed = (project / "app.py").read_text()
    assert r.returncode == 1, r.stdout + r.stderr  # files were modified
    assert "finally:\n        release_db_connection(conn)" in fixed
    assert (project / "db.py").read_text() == DB


def test_fix_hook_leaves_a_file_the_configuration_excludes(
        hooks: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """pre-commit names every staged file, excluded ones too: the fix hook must apply
    the configuration's `exclude` to them (`--force-exclude`), as the check hook
    does. It used to rewrite an excluded migration and block the commit."""
    project = make_project(tmp_path, {
        "pyproject.toml": '[tool.poolsafe]\nextend-exclude = ["migrations"]\n'})
    (project / "migrations").mkdir()
    (project / "migrations" / "0001_leak.py").write_text(LEAK)
    git(project, "add", ".")
    r = try_repo(hooks, project, "poolsafe-fix", "migrations/0001_leak.py")
    out = r.stdout + r.stderr
    assert "poolsafe (fix)" in out, out
    assert (project / "migrations" / "0001_leak.py").read_text() == LEAK
    assert r.returncode == 0, out
    r = try_repo(hooks, project, "poolsafe", "migrations/0001_leak.py")
    assert r.returncode == 0, r.stdout + r.stderr


TWO_IN_A_ROW = '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def copy_user(user_id):
    src = pool.getconn()
    dst = pool.getconn()
    row = src.cursor().execute("SELECT * FROM users WHERE id = %s", (user_id,))
    dst.cursor().execute("INSERT INTO users_copy VALUES (%s)", (row,))
    pool.putconn(dst)
    pool.putconn(src)
'''


def test_fix_hook_settles_in_one_run_on_two_checkouts_in_a_row(
        hooks: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """Issue 29 item 5: the first run left a finding and the second changed the file
    again, so the hook blocked two commits in a row."""
    project = make_project(tmp_path, {"copy.py": TWO_IN_A_ROW})
    r = try_repo(hooks, project, "poolsafe-fix", "copy.py")
    fixed = (project / "copy.py").read_text()
    assert r.returncode == 1, r.stdout + r.stderr  # files were modified
    assert fixed.count("finally:") == 2, fixed
    git(project, "add", "copy.py")
    r = try_repo(hooks, project, "poolsafe-fix", "copy.py")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (project / "copy.py").read_text() == fixed
