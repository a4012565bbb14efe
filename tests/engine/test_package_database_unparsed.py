"""A module that imports no database driver is judged by its package's other modules
(PS103: a statement-level database leaves the transaction usable); that judgement
parses only the modules of the directory whose imports, read by Python's own parser,
name a database of either list, and stops at the first that answers (issue 32: a
`check FILE` after an edit in superset's `db_engine_specs/`, 70 modules, loaded every
selected module of the project). The findings are those of a scan that parses every
module (prefilter off) and of a scan without the cache."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from poolsafe.analysis import statement_errors
from poolsafe.analysis.statement_errors import imported_modules
from poolsafe.rules import ALL_RULES
from poolsafe.scan.checking import parse_source
from poolsafe.scan.engine import ScanOptions, scan

ROOT = Path(__file__).resolve().parents[2]

HELPER = """\
import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)


class ChangeScanner:
    def __init__(self, connection: Connection):
        self.connection = connection

    def changed_tables(self, catalog):
        found = set()
        try:
            for row in self.connection.execute(text("SELECT name FROM recent_changes")):
                found.add(row[0])
        except Exception as exc:
            log.warning("no change data for %s: %s", catalog, exc)
        return found
"""

#: a sibling that spells a database root (`sqlalchemy`) but imports no database of
#: either list: it cannot change the package's answer
PLAIN = """\
from sqlalchemy import text


def query_{i}():
    return text("select {i}")
"""


def _project(root: Path, driver: str, extra: dict[str, str] | None = None) -> None:
    files = {
        "pyproject.toml": '[project]\nname = "lake"\nversion = "0"\n',
        "lake/__init__.py": "",
        "lake/changes.py": HELPER,
        "lake/connection.py": f"import {driver}\n\n\ndef connect(dsn):\n"
                              f"    return {driver}.connect(dsn)\n",
        **{f"lake/plain{i}.py": PLAIN.format(i=i) for i in range(8)},
        **(extra or {}),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _key(result: object) -> list[tuple[object, ...]]:
    return [(Path(f.path).name, f.line, f.column, f.code, f.message, f.fixable)
            for f in result.findings]  # type: ignore[attr-defined]


def _read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The modules whose imports the package judgement read from a libcst tree."""
    read: list[str] = []
    real = statement_errors.imported_modules

    def counted(module: object) -> set[str]:
        read.append(Path(module.abspath).name)  # type: ignore[attr-defined]
        return real(module)  # type: ignore[arg-type]

    monkeypatch.setattr(statement_errors, "imported_modules", counted)
    return read


@pytest.mark.parametrize(("driver", "found"), [("trino", False), ("psycopg2", True)])
def test_check_file_reads_only_the_siblings_that_name_a_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver: str, found: bool) -> None:
    _project(tmp_path, driver)
    monkeypatch.chdir(tmp_path)
    getattr(statement_errors, "_NAMED", {}).clear()
    read = _read(monkeypatch)
    alone = scan(["lake/changes.py"], ScanOptions(jobs=1))
    # the checked module itself, then its one sibling that imports a driver
    assert sorted(set(read)) == ["changes.py", "connection.py"]
    assert any(f.code == "PS103" for f in alone.findings) is found
    full = scan(["lake/changes.py"], ScanOptions(prefilter=False, jobs=1))
    assert _key(alone) == _key(full)


def test_same_answer_with_the_cache_after_an_edit(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """An aborting database in a module edited in later: the kept records and the
    kept matches of the package's pattern give way, as a scan without the cache."""
    _project(tmp_path, "trino")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / ".poolsafe_cache"
    scan(["."], ScanOptions(jobs=1, cache_dir=cache))
    (tmp_path / "lake/plain3.py").write_text("import psycopg2\n" + PLAIN.format(i=3))
    for target in (["lake/changes.py"], ["."]):
        kept = scan(target, ScanOptions(jobs=1, cache_dir=cache))
        fresh = scan(target, ScanOptions(jobs=1))
        assert _key(kept) == _key(fresh)
        assert any(f.code == "PS103" for f in kept.findings)


def test_a_sibling_python_cannot_parse_is_parsed_and_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bytes Python's parser refuses (a NUL byte) are no answer: the module goes to
    the index, which reads it (or fails to) as before."""
    _project(tmp_path, "trino", {"lake/odd.py": "import psycopg2\nx = '\0'\n"})
    monkeypatch.chdir(tmp_path)
    getattr(statement_errors, "_NAMED", {}).clear()
    alone = scan(["lake/changes.py"], ScanOptions(jobs=1))
    full = scan(["lake/changes.py"], ScanOptions(prefilter=False, jobs=1))
    assert _key(alone) == _key(full)


def _sources() -> list[str]:
    out = [p.read_text() for p in sorted((ROOT / "fixtures").rglob("*.py"))]
    for rule in ALL_RULES:
        for case in (*rule.VALID, *rule.INVALID):
            out += [case.code, *(t for n, t in case.files.items() if n.endswith(".py"))]
    return out


def test_pythons_parser_reads_the_same_imports_as_libcst() -> None:
    from poolsafe.analysis.statement_errors import _ast_imports

    checked = 0
    for i, text in enumerate(_sources()):
        try:
            tree = ast.parse(text)
            module = parse_source(f"m{i}.py", Path(f"/v/m{i}.py"), Path(f"m{i}.py"), text)
        except Exception:  # (a case that is meant not to parse)
            continue
        assert _ast_imports(tree) == imported_modules(module), text[:200]
        checked += 1
    assert checked > 1000


def test_one_answer_per_directory_and_index(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Every module of a directory that imports no driver gets the package's one
    answer (its own imports add nothing to it): a cold run asks once per directory,
    not once per module (each asking searched every selected file's bytes)."""
    _project(tmp_path, "trino", {"lake/changes2.py": HELPER.replace("ChangeScanner",
                                                                    "OtherScanner")})
    monkeypatch.chdir(tmp_path)
    asked: list[Path] = []
    real = statement_errors._package_answer

    def counted(index: object, module: object, here: Path) -> bool:
        asked.append(here)
        return real(index, module, here)  # type: ignore[arg-type]

    monkeypatch.setattr(statement_errors, "_package_answer", counted)
    result = scan(["."], ScanOptions(jobs=1))
    assert not [f for f in result.findings if f.code == "PS103"]
    assert len(asked) == 1
    full = scan(["."], ScanOptions(prefilter=False, jobs=1))
    assert _key(result) == _key(full)


def test_the_answers_are_kept_in_the_cache_between_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The siblings' imports read by Python's parser are kept by their bytes in the
    cache (`*.dbnames.json`): the next run's `check FILE` (a fresh process: nothing in
    memory) parses none of them again (only the edited module), and a sibling whose
    bytes change is read again, with the answer of a scan without the cache."""
    _project(tmp_path, "trino")
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / ".poolsafe_cache"
    parsed: list[bytes] = []
    real = ast.parse

    def counted(source: bytes | str, *args: object, **kwargs: object) -> ast.Module:
        # a module's bytes; `ast.literal_eval` (libcst's `evaluated_value` of a string
        # literal, as PS207's read-only check asks) parses a str, which is no module
        if isinstance(source, bytes):
            parsed.append(source)
        return real(source, *args, **kwargs)  # type: ignore[call-overload,no-any-return]

    monkeypatch.setattr(statement_errors.ast, "parse", counted)
    scan(["."], ScanOptions(jobs=1, cache_dir=cache))  # (makes the cache)
    statement_errors._NAMED.clear()
    (tmp_path / "lake/changes.py").write_text(HELPER + "\nEDIT = 0\n")
    scan(["lake/changes.py"], ScanOptions(jobs=1, cache_dir=cache))
    assert parsed and list((cache / "modules").glob("*.dbnames.json"))
    for step in (1, 2):
        edited = HELPER + f"\nEDIT = {step}\n"
        (tmp_path / "lake/changes.py").write_text(edited)
        statement_errors._NAMED.clear()
        parsed.clear()
        kept = scan(["lake/changes.py"], ScanOptions(jobs=1, cache_dir=cache))
        assert set(parsed) <= {edited.encode()}  # (the edited module's new bytes only)
        assert _key(kept) == _key(scan(["lake/changes.py"], ScanOptions(jobs=1)))
    # a sibling now imports an aborting driver: its new bytes are read
    changed = "import psycopg2\n" + PLAIN.format(i=3)
    (tmp_path / "lake/plain3.py").write_text(changed)
    statement_errors._NAMED.clear()
    parsed.clear()
    kept = scan(["lake/changes.py"], ScanOptions(jobs=1, cache_dir=cache))
    assert changed.encode() in parsed
    assert _key(kept) == _key(scan(["lake/changes.py"], ScanOptions(jobs=1)))
    assert any(f.code == "PS103" for f in kept.findings)
