"""GitHub issue 29, item 9: Ctrl-C exits 130 with one line, no traceback, and no
half-written file. A terminal's Ctrl-C reaches the whole foreground process group
(the scan's forked workers too): so does this test's SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_tree import LEAK

POOLSAFE = [sys.executable, "-m", "poolsafe"]

#: a module that takes libcst some 0.2 s of CPU to parse (a chain under the limit):
#: sixty of them keep a run busy well past the signal, on an idle machine too
SLOW = "import psycopg2\n" + "x = " + " + ".join(["a * b"] * 900) + "\n"
#: the most seconds from the signal to the exit: libcst's native parse of one file
#: holds the interpreter, which answers the signal when that parse returns
EXIT_SECONDS = 10


def slow_tree(root: Path, files: int = 60) -> Path:
    (root / "pyproject.toml").write_text("")
    for i in range(files):
        (root / f"slow{i}.py").write_text(SLOW)
        (root / f"leak{i}.py").write_text(LEAK)
    return root


def interrupt(args: list[str], cwd: Path, after: float) -> tuple[int, str, float]:
    """Run poolsafe, send SIGINT to its process group `after` seconds in, and return
    its exit status, its stderr and the seconds it took to exit after the signal."""
    proc = subprocess.Popen([*POOLSAFE, *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(after)
    assert proc.poll() is None, "poolsafe ended before the signal: make the tree slower"
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.perf_counter()
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, err, time.perf_counter() - sent


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_interrupted_exits_130_with_one_line(tmp_path: Path, jobs: str) -> None:
    root = slow_tree(tmp_path)
    code, err, seconds = interrupt(["check", "--no-cache", "--jobs", jobs, "."], root, 3.0)
    assert code == 130, err
    assert err.strip() == "poolsafe: interrupted", err
    assert seconds < EXIT_SECONDS, seconds


def test_fix_interrupted_exits_130_and_leaves_each_file_whole(tmp_path: Path) -> None:
    root = slow_tree(tmp_path)
    before = {p.name: p.read_text() for p in root.glob("*.py")}
    code, err, _ = interrupt(["fix", "--no-cache", "."], root, 3.0)
    assert code == 130, err
    assert err.strip() == "poolsafe: interrupted", err
    for p in root.glob("*.py"):
        text = p.read_text()
        if text != before[p.name]:  # fixed whole, or not at all
            assert p.name.startswith("leak") and "finally:" in text, text
            compile(text, p.name, "exec")
    assert sorted(p.name for p in root.iterdir() if p.suffix != ".py") == ["pyproject.toml"]
