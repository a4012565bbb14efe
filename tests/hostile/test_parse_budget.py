"""GitHub issue 29, item 1: a file that would crash or stall libcst's native parser
costs that file one error line, in `check`, `fix`, the project index and the
language server alike, and never more than 10 s; the files beside it are checked.

Each run is a fresh process: before the parse budget, these files killed the
interpreter (SIGSEGV, exit 139, no output) or ran for minutes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_tree import CHAIN_LINE, DB, HOSTILE_CHAINS, LEAK, LEAK_LINE, deep_ifs

POOLSAFE = [sys.executable, "-m", "poolsafe"]
#: the most one run may take per file (the issue's target)
SECONDS_PER_FILE = 10.0

#: file name -> its bytes, and the words its one error line must hold
BAD_FILES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    **{name: ((DB + text).encode(), ("too deeply nested for the parser",
                                     f"{operands:,} operands", f"line {CHAIN_LINE}"))
       for name, (text, operands) in HOSTILE_CHAINS.items()},
    "deep_ifs.py": (deep_ifs().encode(), ("syntax error",)),
    "deep_parens.py": ((DB + "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n").encode(),
                       ("nested",)),
    "binary.py": (DB.encode() + bytes(range(256)) * 4, ("NUL",)),
    "binary_without_nul.py": (DB.encode() + bytes(range(1, 256)) * 4, ("decode",)),
    "nul.py": (DB.encode() + b"x = 1\x00\n", ("NUL",)),
    "latin1_as_utf8.py": (DB.encode() + b"s = '\xe9t\xe9'\n", ("decode", "utf-8")),
}


def run(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    proc = subprocess.run([*POOLSAFE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)
    return proc, time.perf_counter() - start


def project(root: Path, name: str) -> Path:
    """A project with the one bad file and a real leak beside it."""
    (root / "pyproject.toml").write_text("")
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "leak.py").write_text(LEAK)
    (root / "app" / name).write_bytes(BAD_FILES[name][0])
    return root


def assert_one_error_line(output: str, name: str) -> None:
    lines = [line for line in output.splitlines() if name in line]
    assert len(lines) == 1, output
    for word in BAD_FILES[name][1]:
        assert word.lower() in lines[0].lower(), (word, lines[0])


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_check_reports_one_line_for_the_bad_file_and_checks_the_rest(
        tmp_path: Path, name: str) -> None:
    root = project(tmp_path, name)
    proc, seconds = run(["check", "--no-cache", "."], root)
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stdout + proc.stderr
    assert seconds < 2 * SECONDS_PER_FILE, seconds
    assert_one_error_line(proc.stdout + proc.stderr, name)
    assert f"app/leak.py:{LEAK_LINE}:" in proc.stdout


def test_fix_reports_the_bad_file_and_fixes_the_leak_beside_it(tmp_path: Path) -> None:
    root = project(tmp_path, "chain_plus.py")
    before = (root / "app" / "chain_plus.py").read_bytes()
    proc, seconds = run(["fix", "--no-cache", "."], root)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert seconds < 2 * SECONDS_PER_FILE, seconds
    assert_one_error_line(proc.stdout + proc.stderr, "chain_plus.py")
    assert "finally:" in (root / "app" / "leak.py").read_text()
    assert (root / "app" / "chain_plus.py").read_bytes() == before
    assert proc.returncode == 1, proc.stderr  # docs/cli.md: a file not checked


def test_a_module_read_only_to_resolve_names_is_skipped_too(tmp_path: Path) -> None:
    """`check app/views.py`: `app/db.py` is parsed only to resolve `get_conn`; its
    chain must not crash the run, whose named file is still checked."""
    (tmp_path / "pyproject.toml").write_text("")
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "db.py").write_text(DB + "from psycopg2.pool import SimpleConnectionPool\n"
                               "pool = SimpleConnectionPool(1, 2)\n"
                               "def get_conn():\n    return pool.getconn()\n"
                               + HOSTILE_CHAINS["chain_and.py"][0])
    head = "from app.db import get_conn\n\n\ndef view():\n    return get_conn().cursor()\n\n\n"
    (app / "views.py").write_text(head + LEAK)
    proc, seconds = run(["check", "--no-cache", "app/views.py"], tmp_path)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert seconds < 2 * SECONDS_PER_FILE, seconds
    assert f"app/views.py:{LEAK_LINE + head.count(chr(10))}:" in proc.stdout


def test_the_language_server_lints_a_bad_buffer_as_one_error(tmp_path: Path) -> None:
    """The language server's lint of one buffer (`lint_file`), in a process of its own
    as the server runs it: one error, no crash."""
    root = project(tmp_path, "chain_plus.py")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from poolsafe.fix.loop.quick import lint_file\n"
        "from poolsafe.scan.engine import run_deep\n"
        "from poolsafe.scan.options import ScanOptions\n"
        "out = run_deep(lambda: lint_file(Path(sys.argv[1]), ScanOptions()))\n"
        "for e in out.errors:\n"
        "    print(e.path, e.message)\n"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", script, str(root / "app" / "chain_plus.py")],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert time.perf_counter() - start < SECONDS_PER_FILE
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_one_error_line(proc.stdout, "chain_plus.py")
