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


# Python scripts without a suffix (miss82): found by their first line only

def _script(root: Path, name: str, first: str, mode: int = 0o755) -> None:
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(first + "\nimport sys\n")
    p.chmod(mode)


def test_a_script_whose_shebang_runs_python_is_walked(tmp_path: Path) -> None:
    _script(tmp_path, "bin/meta-daily", "#!/usr/bin/env python3")
    _script(tmp_path, "bin/plain", "#!/usr/bin/python")
    _script(tmp_path, "bin/unbuffered", "#!/usr/bin/env -S python3 -u")
    _script(tmp_path, "bin/versioned", "#! /usr/local/bin/python3.12")
    _script(tmp_path, "bin/pep723", "#!/usr/bin/env -S uv run --script")
    _script(tmp_path, "bin/not-executable", "#!/usr/bin/env python3", mode=0o644)
    assert _walked(tmp_path) == ["bin/meta-daily", "bin/not-executable", "bin/pep723",
                                 "bin/plain", "bin/unbuffered", "bin/versioned"]


def test_files_without_a_python_shebang_are_not_walked(tmp_path: Path) -> None:
    _script(tmp_path, "bin/deploy", "#!/bin/sh")
    _script(tmp_path, "bin/tool", "#!/usr/bin/env bash")
    _script(tmp_path, "bin/runner", "#!/usr/bin/env uv run")  # not a --script
    _script(tmp_path, "bin/note", "python is used here")  # no shebang
    _script(tmp_path, "bin/later", "\n#!/usr/bin/env python3")  # not the first line
    _script(tmp_path, "bin/tool.sh", "#!/usr/bin/env python3")  # a suffix: not a script
    _script(tmp_path, ".hidden", "#!/usr/bin/env python3")  # a dot in the name
    (tmp_path / "bin" / "blob").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(4096))
    (tmp_path / "Makefile").write_text("all:\n\tpython3 x\n")
    assert _walked(tmp_path) == []


def test_scripts_honour_gitignore_and_excludes(tmp_path: Path) -> None:
    import re
    _script(tmp_path, "bin/keep", "#!/usr/bin/env python3")
    _script(tmp_path, "bin/generated", "#!/usr/bin/env python3")
    _script(tmp_path, "tools/skip", "#!/usr/bin/env python3")
    _script(tmp_path, "build/out", "#!/usr/bin/env python3")
    (tmp_path / ".gitignore").write_text("bin/generated\n")
    found = sorted(str(f.relative) for f in discover(
        [str(tmp_path)], excluded=[re.compile(r"^tools/")]) if not isinstance(f, str))
    assert found == ["bin/keep"]


def test_only_the_head_of_a_file_without_a_suffix_is_read(tmp_path: Path) -> None:
    from poolsafe.core import discovery
    big = tmp_path / "data"
    big.write_bytes(b"x" * 5_000_000)
    _script(tmp_path, "run", "#!/usr/bin/env python3")
    reads: list[int] = []
    real_open = open

    class _Counting:
        def __init__(self, path: str) -> None:
            self.f = real_open(path, "rb")

        def __enter__(self) -> _Counting:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()

        def read(self, n: int = -1) -> bytes:
            reads.append(n)
            return self.f.read(n)

    discovery.open = lambda path, mode="r": _Counting(path)  # type: ignore[attr-defined]
    try:
        assert _walked(tmp_path) == ["run"]
    finally:
        del discovery.open  # type: ignore[attr-defined]
    assert reads == [discovery.SHEBANG_BYTES, discovery.SHEBANG_BYTES]


def test_a_script_is_importable_by_nobody() -> None:
    from poolsafe.core.project import module_names
    assert module_names(Path("bin/manage")) == ((), False)
    assert module_names(Path("bin/metasrht-daily")) == ((), False)
    assert module_names(Path("bin/manage.py")) == (("bin.manage", "manage"), False)


def test_a_walk_is_done_again_when_a_script_gains_its_shebang(tmp_path: Path) -> None:
    from poolsafe.core.discovery import WATCHED
    _script(tmp_path, "run", "#!/bin/sh")
    watched: list[tuple[str, bool]] = []
    token = WATCHED.set(watched)
    try:
        assert _walked(tmp_path) == []
    finally:
        WATCHED.reset(token)
    assert (str(tmp_path / "run"), False) in watched
