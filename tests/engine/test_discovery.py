"""Which files a directory walk yields: .gitignore files (the repository's, and
one per directory), virtualenvs below the directory asked for, and tool caches are
left out; a directory given by name is walked even if it is a virtualenv."""

from __future__ import annotations

import subprocess
from pathlib import Path

from poolsafe.core.discovery import discover


def _walked(path: Path) -> list[str]:
    return sorted(str(f.relative) for f in discover([str(path)]) if not isinstance(f, str))


def _tree(root: Path, files: list[str]) -> None:
    for name in files:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x = 1\n" if name.endswith(".py") else "")


def test_gitignore_of_each_directory_and_virtualenvs(tmp_path: Path) -> None:
    _tree(tmp_path, ["app/main.py", "app/generated.py", "app/sub/keep.py", "app/sub/skip.py",
                     "build/out.py", "env/pyvenv.cfg", "env/lib/site.py",
                     "venv_like/lib/mod.py", "notes/readme.txt"])
    (tmp_path / ".gitignore").write_text("build/\n# a comment\napp/generated.py\n")
    (tmp_path / "app" / "sub" / ".gitignore").write_text("skip.py\n")
    assert _walked(tmp_path) == ["app/main.py", "app/sub/keep.py", "venv_like/lib/mod.py"]


def test_a_pyvenv_cfg_directory_is_not_a_virtualenv(tmp_path: Path) -> None:
    _tree(tmp_path, ["odd/pyvenv.cfg/inner.py", "odd/mod.py"])
    assert _walked(tmp_path) == ["odd/mod.py", "odd/pyvenv.cfg/inner.py"]


def test_a_virtualenv_asked_for_by_name_is_walked(tmp_path: Path) -> None:
    _tree(tmp_path, ["env/pyvenv.cfg", "env/lib/site.py"])
    assert _walked(tmp_path / "env") == ["lib/site.py"]
    assert _walked(tmp_path) == []


def test_the_repository_gitignore_above_the_directory_applies(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("gen_*.py\n")
    _tree(tmp_path, ["pkg/a.py", "pkg/gen_b.py"])
    assert _walked(tmp_path / "pkg") == ["a.py"]
