"""poolsafe.core.safe_write, the one check every write goes through (issue 29 items 2
and 9): nothing outside the project, nothing through a link, atomic, and the modes a
user expects (a new file: 0666 less the umask; a replaced file: its own mode)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from poolsafe.core.safe_write import UnsafeWrite, refusal, write_atomic
from poolsafe.core.source import decode
from poolsafe.fix.loop.apply import FixFile
from poolsafe.fix.loop.writer import write_all


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_a_new_file_gets_the_umask_mode(tmp_path: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        write_atomic(tmp_path / "b.json", b"{}\n", tmp_path)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "b.json") == 0o666 & ~mask
    assert sorted(os.listdir(tmp_path)) == ["b.json"]  # no temporary file left


def test_a_replaced_file_keeps_its_mode(tmp_path: Path, umask: None) -> None:
    f = tmp_path / "m.py"
    f.write_text("x = 1\n")
    os.chmod(f, 0o751)
    write_atomic(f, b"x = 2\n", tmp_path)
    assert f.read_text() == "x = 2\n" and _mode(f) == 0o751


def test_outside_the_project_through_a_linked_directory_is_refused(tmp_path: Path) -> None:
    project, outside = tmp_path / "p", tmp_path / "o"
    project.mkdir()
    outside.mkdir()
    (project / "ext").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeWrite, match="outside the project"):
        write_atomic(project / "ext" / "new.py", b"x\n", project)
    assert os.listdir(outside) == []
    # the same through `..` spelled out
    assert refusal(project / ".." / "o" / "new.py", project) is not None


def test_a_linked_file_is_refused_even_inside_the_project(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("x = 1\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        write_atomic(tmp_path / "link.py", b"x = 2\n", tmp_path)
    assert (tmp_path / "link.py").is_symlink()
    assert (tmp_path / "real.py").read_text() == "x = 1\n"


def test_a_linked_directory_inside_the_project_is_written_at_its_real_place(
        tmp_path: Path) -> None:
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "m.py").write_text("x = 1\n")
    (tmp_path / "alias").symlink_to(tmp_path / "inner", target_is_directory=True)
    where = write_atomic(tmp_path / "alias" / "m.py", b"x = 2\n", tmp_path)
    assert where == (tmp_path / "inner" / "m.py").resolve()
    assert (tmp_path / "inner" / "m.py").read_text() == "x = 2\n"
    assert (tmp_path / "alias").is_symlink()


def _fix_file(path: Path, before: str, after: str) -> FixFile:
    path.write_text(before)
    return FixFile(path.name, path, Path(path.name), decode(before.encode()), before, after)


def test_files_fixed_together_are_written_all_or_none(tmp_path: Path) -> None:
    a = _fix_file(tmp_path / "a.py", "a = 1\n", "a = 2\n")
    b = _fix_file(tmp_path / "b.py", "b = 1\n", "b = 2\n")
    c = _fix_file(tmp_path / "c.py", "c = 1\n", "c = 2\n")
    # b changed on disk since it was read: it cannot be written, nor can a, whose fix
    # edited b too; c is on its own
    (tmp_path / "b.py").write_text("b = 3\n")
    written, problems = write_all([a, b, c], [("a.py", "b.py")])
    assert [f.display for f in written] == ["c.py"]
    assert [(p.path, p.message) for p in problems] == [
        ("a.py", "not written: fixed together with b.py, which cannot be written"),
        ("b.py", "the file changed while it was being fixed: not written")]
    assert (tmp_path / "a.py").read_text() == "a = 1\n"
    assert (tmp_path / "c.py").read_text() == "c = 2\n"
