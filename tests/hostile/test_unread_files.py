"""GitHub issue 29, item 8 (second half) and item 9 (the 20 MB file): no "All clear"
over a file nobody read, one policy for `check` and `fix`, and a file too large to
parse is skipped by its size before it is read.

The policy (docs/cli.md, "Files that are not checked"): every named file is read
and decoded, byte by byte, whatever it holds; one that cannot be read or decoded,
holds a NUL byte or is over the size limit is an error in every command. A file
with no database code cannot hold a finding and is not parsed, by either command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_tree import LEAK, LEAK_LINE

POOLSAFE = [sys.executable, "-m", "poolsafe"]

#: files without a database word, that are no Python source
UNREADABLE: dict[str, tuple[bytes, str]] = {
    "image.py": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 50, "NUL"),
    "latin1.py": ("s = 'caf\u00e9'\n".encode("latin-1"), "encoding"),
    "utf16.py": ("x = 1\n".encode("utf-16"), "NUL"),
    "nul.py": (b"x = 1\x00\n", "NUL"),
    "cookie.py": (b"# -*- coding: no-such-codec -*-\nx = 1\n", "encoding"),
}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([*POOLSAFE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def tree(root: Path, name: str, data: bytes) -> Path:
    (root / "pyproject.toml").write_text("")
    (root / "app").mkdir()
    (root / "app" / "leak.py").write_text(LEAK)
    (root / "app" / name).write_bytes(data)
    return root


def errors_of(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
    report = json.loads(proc.stdout)
    return {Path(e["path"]).name: e["message"] for e in report["errors"]}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_check_reports_a_file_it_cannot_decode_whatever_its_words(
        tmp_path: Path, name: str) -> None:
    data, word = UNREADABLE[name]
    root = tree(tmp_path, name, data)
    proc = run(["check", "--no-cache", f"app/{name}"], root)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "All clear" not in proc.stdout + proc.stderr
    assert name in proc.stdout + proc.stderr
    proc = run(["check", "--no-cache", "--format", "json", "."], root)
    assert proc.returncode == 1, proc.stderr
    errors = errors_of(proc)
    assert list(errors) == [name], errors
    assert word.lower() in errors[name].lower(), errors
    assert f'"line": {LEAK_LINE}' in proc.stdout  # the leak beside it is still found


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_check_and_fix_report_the_same_files(tmp_path: Path, name: str) -> None:
    root = tree(tmp_path, name, UNREADABLE[name][0])
    (root / "app" / "broken.py").write_text("def broken(:\n    pass\n")  # no database word
    (root / "app" / "broken_db.py").write_text("import psycopg2\ndef broken(:\n    pass\n")
    check = run(["check", "--no-cache", "--format", "json", "."], root)
    fix = run(["fix", "--diff", "--no-cache", "."], root)
    fixed = {line.split(":", 1)[0].rsplit("/", 1)[-1]
             for line in fix.stdout.splitlines() + fix.stderr.splitlines()
             if ": error: " in line}
    assert set(errors_of(check)) == fixed == {name, "broken_db.py"}, (check.stdout, fix.stderr)


def rss_of(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run poolsafe in a child of a fresh interpreter: the peak memory of the run
    alone, in MB."""
    script = ("import resource, subprocess, sys\n"
              "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
              "sys.stdout.write(p.stdout)\nsys.stderr.write(p.stderr)\n"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,"
              " file=sys.stderr)\n"
              "sys.exit(p.returncode)\n")
    proc = subprocess.run([sys.executable, "-c", script, *POOLSAFE, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)
    *rest, rss = proc.stderr.rstrip("\n").split("\n")
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout,
                                       "\n".join(rest)), int(rss)


def test_a_file_over_the_size_limit_is_skipped_before_it_is_read(tmp_path: Path) -> None:
    """20 MB of code, with a database import and without: each one error line, and
    the run never holds the file in memory (before: 5 s and 459 MB)."""
    body = "def f{0}(a, b):\n    return [a + b * {0}, {{'k': a}}]\n\n"
    chunk = "".join(body.format(i) for i in range(2_000)).encode()
    root = tree(tmp_path, "generated.py", chunk * (20_000_000 // len(chunk)))
    (root / "app" / "generated_db.py").write_bytes(b"import psycopg2\n" + chunk * (
        20_000_000 // len(chunk)))
    proc, rss = rss_of(["check", "--no-cache", "--format", "json", "."], root)
    assert proc.returncode == 1, proc.stderr
    errors = errors_of(proc)
    assert set(errors) == {"generated.py", "generated_db.py"}, errors
    assert all("above the 2.0 MB limit" in m for m in errors.values()), errors
    assert rss < 120, rss
