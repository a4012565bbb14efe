"""Nothing poolsafe does writes outside the project: a `.poolsafe_cache` that is a
symbolic link or another tool's directory is refused (the scan goes on without a
cache), `clean` removes only what poolsafe wrote, and `fix` neither follows a
symlinked directory out of the project nor replaces a symlinked file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cli_helpers import Invoke

LEAK = '''from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=x")


def load():
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
'''


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / ".gitignore").write_text("keep me\n")
    return outside


def test_symlinked_cache_is_refused_and_nothing_is_written_through_it(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = _outside(tmp_path)
    (project / ".poolsafe_cache").symlink_to(outside)
    r = cli("check", ".")
    assert r.code == 1  # the findings are still reported
    assert "symbolic link" in r.err and "without a cache" in r.err
    assert sorted(p.name for p in outside.iterdir()) == [".gitignore"]
    assert (outside / ".gitignore").read_text() == "keep me\n"


def test_clean_refuses_a_symlinked_cache_without_a_traceback(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = _outside(tmp_path)
    (project / ".poolsafe_cache").symlink_to(outside)
    r = cli("clean")
    assert r.code == 2
    assert "symbolic link" in r.err and "Traceback" not in r.all
    assert (outside / ".gitignore").read_text() == "keep me\n"
    assert (project / ".poolsafe_cache").is_symlink()


def test_a_directory_of_another_tool_is_not_used_nor_cleaned(
        project: Path, cli: Invoke) -> None:
    foreign = project / ".poolsafe_cache"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n")
    r = cli("check", ".")
    assert r.code == 1 and "not made by poolsafe" in r.err
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    assert cli("clean").code == 2
    assert (foreign / "notes.txt").read_text() == "mine\n"


def test_clean_removes_only_what_poolsafe_wrote(project: Path, cli: Invoke) -> None:
    assert cli("check", ".").code == 1
    cache = project / ".poolsafe_cache"
    assert (cache / "CACHEDIR.TAG").is_file() and list(cache.glob("*.json"))
    (cache / "keep.txt").write_text("a user's file\n")
    r = cli("clean")
    assert r.code == 0 and "keep.txt" in r.out
    assert sorted(p.name for p in cache.iterdir()) == ["keep.txt"]
    (cache / "keep.txt").unlink()
    (cache / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                                        "# poolsafe cache\n")
    assert cli("clean").code == 0
    assert not cache.exists()


def test_fix_does_not_follow_a_symlinked_directory_out_of_the_project(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.py").write_text(LEAK)
    (project / "vendor").symlink_to(outside, target_is_directory=True)
    r = cli("fix", "vendor")
    assert "outside the project" in r.err
    assert (outside / "leak.py").read_text() == LEAK
    assert sorted(os.listdir(outside)) == ["leak.py"]


def test_fix_follows_a_symlinked_directory_inside_the_project(
        project: Path, cli: Invoke) -> None:
    inner = project / "inner"
    inner.mkdir()
    (inner / "leak.py").write_text(LEAK)
    (project / "alias").symlink_to(inner, target_is_directory=True)
    r = cli("fix", "alias")
    assert r.code == 0, r.all
    assert "finally" in (inner / "leak.py").read_text()


def test_fix_leaves_a_symlinked_file_alone(project: Path, tmp_path: Path,
                                            cli: Invoke) -> None:
    target = project / "real.py"
    target.write_text(LEAK)
    link = project / "link.py"
    link.symlink_to(target)
    r = cli("fix", "link.py")
    assert "symbolic link" in r.err and "skipped" in r.err
    assert link.is_symlink()
    assert target.read_text() == LEAK


def _linked_out(project: Path, tmp_path: Path) -> Path:
    """`ext` in the project, a symbolic link to a directory outside it holding a leak."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "leak.py").write_text(LEAK)
    (project / "ext").symlink_to(outside, target_is_directory=True)
    return outside


def test_fix_of_a_file_under_a_link_out_of_the_project_writes_nothing(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    # issue 29 item 2: `fix ext` was refused, but `fix ext/leak.py` wrote through it
    outside = _linked_out(project, tmp_path)
    r = cli("fix", "ext/leak.py")
    assert r.code == 1, r.all
    lines = [line for line in r.err.splitlines() if line.startswith("ext/leak.py:")]
    assert lines == [f"ext/leak.py: resolves to {outside / 'leak.py'}, outside the project "
                     f"({project}): not written (poolsafe writes nothing outside the "
                     "project)"], r.err
    assert "Fixed 0 findings." in r.err and "0 files changed." in r.err
    assert (outside / "leak.py").read_text() == LEAK
    assert sorted(os.listdir(outside)) == ["leak.py"]


def test_add_noqa_under_a_link_out_of_the_project_writes_nothing(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = _linked_out(project, tmp_path)
    r = cli("check", "--add-noqa", "ext/leak.py")
    assert r.code == 1, r.all
    assert "ext/leak.py: resolves to" in r.err and "outside the project" in r.err
    assert (outside / "leak.py").read_text() == LEAK
    assert sorted(os.listdir(outside)) == ["leak.py"]


def test_check_fix_under_a_link_out_of_the_project_writes_nothing(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = _linked_out(project, tmp_path)
    r = cli("check", "--fix", "ext/leak.py")
    assert r.code == 1, r.all
    assert "outside the project" in r.err and "PS102" in r.out
    assert (outside / "leak.py").read_text() == LEAK


def test_baseline_is_not_written_through_a_link_out_of_the_project(
        project: Path, tmp_path: Path, cli: Invoke) -> None:
    outside = _linked_out(project, tmp_path)
    r = cli("baseline", "ext/poolsafe-baseline.json", ".")
    assert r.code == 2, r.all
    assert "ext/poolsafe-baseline.json: cannot write: resolves to" in r.err
    assert sorted(os.listdir(outside)) == ["leak.py"]


def test_fix_under_a_link_inside_the_project_writes_the_real_file(
        project: Path, cli: Invoke) -> None:
    inner = project / "inner"
    inner.mkdir()
    (inner / "leak.py").write_text(LEAK)
    (project / "alias").symlink_to(inner, target_is_directory=True)
    r = cli("fix", "alias/leak.py")
    assert r.code == 0, r.all
    assert (project / "alias").is_symlink()
    assert "finally" in (inner / "leak.py").read_text()


def test_a_new_baseline_gets_the_mode_the_umask_gives(project: Path, cli: Invoke) -> None:
    # issue 29 item 9: baselines were created 0600 (a temporary file renamed)
    old = os.umask(0o022)
    try:
        r = cli("baseline", "poolsafe-baseline.json", ".")
    finally:
        os.umask(old)
    assert r.code == 0, r.all
    assert stat.S_IMODE((project / "poolsafe-baseline.json").stat().st_mode) == 0o644


def test_project_root_option_does_not_stop_fix_writing_a_named_file(
        project: Path, cli: Invoke) -> None:
    # the safety check's project is the one the file sits in; --project-root only
    # says where names resolve
    (project / "sub").mkdir()
    (project / "leak.py").write_text(LEAK)
    r = cli("fix", "--project-root", "sub", "leak.py")
    assert r.code == 0, r.all
    assert "finally" in (project / "leak.py").read_text()
