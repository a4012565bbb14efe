"""Start-up loads no parser: a tree without database code, or an unchanged tree
answered from the cache, never imports libcst; the light rule-code list agrees with
the rules themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from poolsafe.core.rule_codes import RULE_CODES, enabled_codes
from poolsafe.rules import ALL_RULES

PROBE = """
import sys
from click.testing import CliRunner
from poolsafe.cli.main import main
result = CliRunner().invoke(main, sys.argv[1:])
print(result.exit_code, any(m == "libcst" or m.startswith("libcst.") for m in sys.modules))
"""

LEAK = '''from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=x")


def load():
    conn = pool.getconn()
    conn.cursor().execute("SELECT 1")
    pool.putconn(conn)
'''


def _run(cwd: Path, *args: str) -> tuple[int, bool]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), out[1] == "True"


def test_a_tree_without_database_code_loads_no_parser(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    for i in range(20):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}(x):\n    return x * {i}\n")
    assert _run(tmp_path, "check", "--no-cache", ".") == (0, False)


def test_a_cached_answer_loads_no_parser(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "leak.py").write_text(LEAK)
    # the first run parses (with one job, here: with more, a standby child does, while
    # this process reads the tree; see tests/engine/test_standby.py)
    assert _run(tmp_path, "check", "--jobs", "1", ".") == (1, True)
    assert _run(tmp_path, "check", ".") == (1, False)  # the second reads the cache
    assert _run(tmp_path, "check", "--format", "json", "leak.py") == (1, False)


def test_the_rule_codes_are_the_rules() -> None:
    assert tuple(r.code for r in ALL_RULES) == RULE_CODES


def test_enabled_codes() -> None:
    # PS204 and PS209 are opt-in: only by their code or ALL
    assert enabled_codes(None, []) == [c for c in RULE_CODES if c not in ("PS204", "PS209")]
    assert "PS209" in enabled_codes({"PS209"}, [])
    assert "PS204" in enabled_codes({"PS204"}, []) and "PS204" not in enabled_codes({"PS2"}, [])
    assert enabled_codes({"PS1"}, ["PS103"]) == ["PS101", "PS102", "PS104", "PS105", "PS106",
                                                 "PS107"]
    assert enabled_codes(set(), []) == []


MODULES_PROBE = """
import sys
from poolsafe.cli.main import main
from poolsafe.scan import prefilter
sys.argv = ["poolsafe", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print()
print(code, len(prefilter._SEED_PATTERNS), " ".join(sorted(sys.modules)))
"""

#: what a run needs only for some options, or only when it forks, reads or writes the
#: cache, or fails
LAZY = ("multiprocessing", "tempfile", "json", "traceback", "difflib", "rich.table",
        "xml.etree", "poolsafe.scan.baseline", "poolsafe.report.json_report",
        "poolsafe.report.statistics", "poolsafe.report.junit", "poolsafe.report.sarif")


def test_a_plain_check_imports_only_what_it_uses(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    for i in range(20):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}(x):\n    return x * {i}\n")
    out = subprocess.run([sys.executable, "-c", MODULES_PROBE, "check", "--no-cache", "."],
                         cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.splitlines()[-1].split()
    code, compiled, modules = int(out[0]), int(out[1]), set(out[2:])
    assert code == 0
    assert [m for m in LAZY if m in modules] == []
    assert compiled == 0  # no seed pattern: every file was decided by its words


def test_a_json_check_of_a_file_imports_no_rich(tmp_path: Path) -> None:
    """A `check --format json FILE` (an editor's or a hook's) writes no text through
    rich and, naming files only, needs no terminal test for a progress bar: it never
    imports rich (some 40 ms of every such run, issue 32). (Whether a named directory
    asks depends on the environment the run is in, a terminal or CI, so it is not
    pinned here.)"""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "m.py").write_text("def f(x):\n    return x\n")
    out = subprocess.run([sys.executable, "-c", MODULES_PROBE, "check", "--no-cache",
                          "--format", "json", "m.py"],
                         cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.splitlines()[-1].split()
    assert int(out[0]) == 0
    assert "rich.console" not in set(out[2:])
