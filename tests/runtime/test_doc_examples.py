"""Every ```python block of README.md and docs/*.md is marked, and the runnable
ones run.

A block is marked by an HTML comment on the line just above its fence:

    <!-- example: run [postgres] [needs=module,...] -->       a script
    <!-- example: pytest [postgres] [setup=NAME] [needs=...] -->  a test module,
                                                             run with --poolsafe
    <!-- example: fragment -->                                 not run (must parse)

Scripts run in a fresh interpreter in an empty directory. ``postgres`` runs the
example a second time with ``DATABASE_URL`` (and ``POOLSAFE_DSN``) naming the test
PostgreSQL server (skipped when it is unreachable, failed under
POOLSAFE_REQUIRE_DB=1). ``setup=NAME`` adds the files of ``SETUPS[NAME]`` (the
application code and fixtures the example takes for granted) next to it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
KINDS = ("run", "pytest", "fragment")
_MARKER = re.compile(r"^<!--\s*example:\s*(?P<spec>[^>]*?)\s*-->\s*$")
_FENCE = re.compile(r"^```python\b")


def _closes(line: str) -> bool:
    """A closing fence: backticks only (an opening one names a language)."""
    stripped = line.strip()
    return stripped.startswith("```") and not stripped.strip("`")


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # of the opening fence
    marker: str | None  # the marker's text, None when the block has none
    code: str
    kind: str = ""
    postgres: bool = False
    setup: str | None = None
    needs: tuple[str, ...] = field(default=())

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_marker(spec: str) -> dict[str, object]:
    """``run postgres setup=x needs=a,b`` -> its parts; ValueError when invalid."""
    words = spec.split()
    if not words or words[0] not in KINDS:
        raise ValueError(f"the kind must be one of {', '.join(KINDS)}: {spec!r}")
    parts: dict[str, object] = {"kind": words[0], "postgres": False, "setup": None, "needs": ()}
    for word in words[1:]:
        if word == "postgres":
            parts["postgres"] = True
        elif word.startswith("setup="):
            parts["setup"] = word.removeprefix("setup=")
        elif word.startswith("needs="):
            parts["needs"] = tuple(n for n in word.removeprefix("needs=").split(",") if n)
        else:
            raise ValueError(f"unknown option {word!r} in {spec!r}")
    if parts["kind"] == "fragment" and len(words) > 1:
        raise ValueError(f"a fragment takes no options: {spec!r}")
    return parts


def extract(path: Path) -> list[Example]:
    """The ```python blocks of a Markdown file with the marker above each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    examples: list[Example] = []
    i = 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            if lines[i].startswith("```"):  # another language: skip to its end
                i += 1
                while i < len(lines) and not _closes(lines[i]):
                    i += 1
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and not _closes(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        match = _MARKER.match(lines[start - 1]) if start else None
        marker = match.group("spec") if match else None
        code = "\n".join(body) + "\n"
        try:
            parts = parse_marker(marker) if marker is not None else {}
        except ValueError:
            parts = {}
        examples.append(Example(path, start + 1, marker, code, **parts))  # type: ignore[arg-type]
    return examples


ALL = [example for document in DOCUMENTS for example in extract(document)]
RUNNABLE = [e for e in ALL if e.kind in ("run", "pytest")]


def _cases() -> list[object]:
    cases: list[object] = []
    for example in RUNNABLE:
        cases.append(pytest.param(example, False, id=example.where))
        if example.postgres:
            cases.append(
                pytest.param(
                    example, True, id=f"{example.where}-postgres", marks=pytest.mark.postgres
                )
            )
    return cases


# --- what the examples take for granted ------------------------------------------------

REPORTS = '''\
"""The application code of README's "Verify your fix" (fixed: the connection is
always returned)."""

from sqlalchemy import text

ENGINE = None  # set by the application (here: the engine fixture)


def daily_totals(day):
    with ENGINE.connect() as conn:
        return conn.execute(text("SELECT :day"), {"day": day}).all()
'''

REPORTS_LEAKY = '''\
from sqlalchemy import text

ENGINE = None


def daily_totals(day):
    conn = ENGINE.connect()
    rows = conn.execute(text("SELECT :day"), {"day": day}).all()
    conn.close()  # never reached when the query fails
    return rows
'''

REPORTS_CONFTEST = '''\
import os

import pytest
import sqlalchemy

import reports


@pytest.fixture
def engine(tmp_path):
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_path / 'app.db'}"
    engine = sqlalchemy.create_engine(url)
    reports.ENGINE = engine
    yield engine
    engine.dispose()
'''

MY_CODE = '''\
def my_code(pool):
    with pool.connection() as conn:
        conn.cursor().execute("SELECT 1")
'''

SETUPS: dict[str, dict[str, str]] = {
    "reports": {"reports.py": REPORTS, "conftest.py": REPORTS_CONFTEST},
    "reports-leaky": {"reports.py": REPORTS_LEAKY, "conftest.py": REPORTS_CONFTEST},
    # docs/runtime.md "Verify your fix" shows only the test function
    "my-code": {"app.py": MY_CODE, "prelude": "import pytest\n\nfrom app import my_code\n"},
}


# --- the tests ------------------------------------------------------------------------


def test_every_python_block_is_marked_runnable_or_fragment() -> None:
    problems = []
    for example in ALL:
        if example.marker is None:
            problems.append(
                f"{example.where}: no '<!-- example: run|pytest|fragment -->' line above"
            )
            continue
        try:
            parse_marker(example.marker)
        except ValueError as error:
            problems.append(f"{example.where}: {error}")
            continue
        if example.setup is not None and example.setup not in SETUPS:
            problems.append(f"{example.where}: unknown setup {example.setup!r}")
    assert not problems, "\n".join(problems)
    assert RUNNABLE, "no runnable example found"


@pytest.mark.parametrize("example", [e for e in ALL if e.kind == "fragment"], ids=lambda e: e.where)
def test_fragments_parse(example: Example) -> None:
    ast.parse(example.code, filename=example.where)


def test_the_extractor_reads_markers_and_skips_other_languages(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        textwrap.dedent(
            """\
            ```yaml
            ```python
            ```
            <!-- example: run postgres needs=flask,httpx -->
            ```python
            print(1)
            ```

            ```python
            x = 1
            ```
            """
        )
    )
    first, second = extract(doc)
    assert (first.kind, first.postgres, first.needs, first.code) == (
        "run", True, ("flask", "httpx"), "print(1)\n"
    )
    assert (second.marker, second.line) == (None, 9)
    with pytest.raises(ValueError, match="kind must be one of"):
        parse_marker("runnable")
    with pytest.raises(ValueError, match="unknown option"):
        parse_marker("run sqlite")


def _run(example: Example, workdir: Path, env: dict[str, str], setup: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    for module in example.needs:
        pytest.importorskip(module, reason=f"{example.where} needs {module}")
    files = dict(SETUPS.get(setup or example.setup or "", {}))
    prelude = files.pop("prelude", "")
    for name, text in files.items():
        (workdir / name).write_text(text)
    if example.kind == "run":
        script = workdir / "example.py"
        script.write_text(prelude + example.code)
        command = [sys.executable, str(script)]
    else:
        (workdir / "test_example.py").write_text(prelude + example.code)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--poolsafe",
                   "test_example.py"]
    return subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _env(postgres_dsn: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "POOLSAFE_DSN")}
    if postgres_dsn is not None:
        env["DATABASE_URL"] = env["POOLSAFE_DSN"] = postgres_dsn
    return env


@pytest.mark.parametrize(("example", "on_postgres"), _cases())
def test_example_runs(
    example: Example, on_postgres: bool, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("pg_dsn") if on_postgres else None
    result = _run(example, tmp_path, _env(dsn))
    assert result.returncode == 0, (
        f"{example.where} failed:\n{result.stdout}\n{result.stderr}"
    )


def test_readme_example_fails_on_the_leaky_version(tmp_path: Path) -> None:
    """The README's test is a real check: against the unfixed code it fails,
    naming the line that took the connection."""
    [readme] = [e for e in RUNNABLE if e.path.name == "README.md" and e.setup == "reports"]
    result = _run(readme, tmp_path, _env(None), setup="reports-leaky")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "LeakError" in result.stdout
    assert "reports.py:7 in daily_totals" in result.stdout
