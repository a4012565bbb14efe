"""PS208's programs without a deployment (`capacity.script_groups`: the modules with a
`__main__` block) are found by path after an edit: a selected script whose kept
summary says it parses is not parsed again (`LazyIndex.module_paths_matching`), and
the list, the record and the findings are a fresh scan's. A script that does not
parse, a test module and a script its size refuses are left out as before."""

from __future__ import annotations

from pathlib import Path

import pytest
from edit_helpers import edit_file as _edit
from edit_helpers import result_key as _key

from poolsafe.analysis.capacity import MAIN_BLOCK
from poolsafe.analysis.module import ModulePath
from poolsafe.core.model import ScanResult
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.lazy_index import LazyIndex

POOLS = ("from sqlalchemy import create_engine\n\n"
         "engine = create_engine('postgresql://app@db/app', pool_size=80, max_overflow=40,\n"
         "                       pool_pre_ping=True)\n")
SCRIPT = ("from sqlalchemy import text\n\nfrom svc import run\n\n"
          "if __name__ == \"__main__\":\n    run(text('x'))\n")
FILES = {
    "pyproject.toml": "[project]\nname = 'p'\n",
    "pools.py": POOLS,
    "svc.py": ("from sqlalchemy import text\n\nfrom pools import engine\n\n\n"
               "def run(q):\n    with engine.connect() as c:\n        return c.execute(q)\n"),
    "tools/report.py": SCRIPT,
    # (padded: a `max_file_bytes` below its size refuses it, not the others)
    "tools/load.py": SCRIPT + "# " + "x" * 2000 + "\n",
    "tools/broken.py": SCRIPT.replace("run(text('x'))", "run(text('x')"),
    "tests/test_tool.py": SCRIPT,
}
SCRIPTS = {"report.py", "load.py", "test_tool.py"}




#: how many paths `module_paths_matching` answered without parsing their module
UNPARSED: list[int] = []


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[ModulePath], list[str]]]:
    """Each answer of `module_paths_matching` for the scripts (`MAIN_BLOCK`), checked
    against the modules `modules_matching` parses afterwards (the same paths, names
    and order)."""
    seen: list[tuple[list[ModulePath], list[str]]] = []
    orig = LazyIndex.module_paths_matching

    def checked(self: LazyIndex, pattern: object) -> list[ModulePath]:
        got = orig(self, pattern)  # type: ignore[arg-type]
        UNPARSED.append(sum(str(p.abspath) not in self._loaded for p in got))
        recorded = list(self.matched.get(pattern_key(pattern), []))  # type: ignore[arg-type]
        parsed = [ModulePath(m.abspath, m.names, m.is_package)
                  for m in self.modules_matching(pattern)]  # type: ignore[arg-type]
        assert got == parsed
        if pattern is MAIN_BLOCK:  # (other facts ask it too: the sqlite-only fact)
            seen.append((got, recorded))
        return got

    monkeypatch.setattr(LazyIndex, "module_paths_matching", checked)
    return seen


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.chdir(root)
    return root


def _edits(root: Path, epoch_parses: list[str]) -> tuple[list[ScanResult], list[list[str]]]:
    """A full scan, then three edits of pools.py, each checked alone with the cache:
    their results (each equal to a fresh scan's) and what each parsed."""
    opts = ScanOptions(cache_dir=root / ".poolsafe_cache")
    scan(["."], opts)
    results, parses = [], []
    for step in (1, 2, 3):
        _edit(root / "pools.py", POOLS + f"\nA = {step}\n", step)
        epoch_parses.clear()
        results.append(scan(["pools.py"], opts))
        parses.append(list(epoch_parses))
        assert _key(results[-1]) == _key(scan(["pools.py"], ScanOptions()))
    message = next(f.message for f in results[-1].findings if f.code == "PS208")
    # (the message names the first program over the limit)
    assert "tools/load.py: 1 replica" in message
    return results, parses


def test_an_edit_finds_the_scripts_without_parsing_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str]) -> None:
    root = _project(tmp_path, monkeypatch)
    _, parses = _edits(root, epoch_parses)
    # the full scan that made the cache kept the scripts' summaries (speed60), so no
    # edit parses them (the script that does not parse is not in the cache's record
    # of the pattern's matches, which lists the modules that parsed)
    assert parses == [["pools.py"]] * 3, parses


def test_the_paths_are_those_of_the_parsed_modules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, epoch_parses: list[str],
        answers: list[tuple[list[ModulePath], list[str]]]) -> None:
    root = _project(tmp_path, monkeypatch)
    UNPARSED.clear()
    _edits(root, epoch_parses)
    assert sum(UNPARSED) >= 6  # (3 scripts in each of the last two edits)
    # every answer was checked against the parsed modules; each named the scripts
    # that parse (tests included: `script_groups` leaves them out) and recorded them
    assert len(answers) >= 3
    for got, recorded in answers:
        assert {p.abspath.name for p in got} == SCRIPTS
        assert recorded == [str(p.abspath) for p in got]


def test_a_script_its_size_refuses_is_left_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        answers: list[tuple[list[ModulePath], list[str]]]) -> None:
    # its summary was kept by a run that parsed it; a run that refuses its size
    # must not count it (the scope refuses it when it reads it; the epoch's
    # `_place` refuses a size as its `_parse` does, for bytes that grew since)
    root = _project(tmp_path, monkeypatch)
    opts = ScanOptions(cache_dir=root / ".poolsafe_cache")
    scan(["."], opts)
    for step in (1, 2):
        _edit(root / "pools.py", POOLS + f"\nA = {step}\n", step)
        scan(["pools.py"], opts)
    small = ScanOptions(cache_dir=root / ".poolsafe_cache", max_file_bytes=1000)
    _edit(root / "pools.py", POOLS + "\nA = 3\n", 3)
    answers.clear()
    result = scan(["pools.py"], small)
    assert _key(result) == _key(scan(["pools.py"], ScanOptions(max_file_bytes=1000)))
    assert answers and all("load.py" not in {p.abspath.name for p in got}
                           for got, _ in answers)
    message = next(f.message for f in result.findings if f.code == "PS208")
    assert "tools/report.py" in message and "tools/load.py" not in message


ROOT = Path(__file__).resolve().parents[2]
APPS = sorted(p for p in (ROOT / "fixtures").glob("*/*") if p.is_dir())


def test_every_fixture_app_and_ps208_case_after_each_edit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        answers: list[tuple[list[ModulePath], list[str]]]) -> None:
    """Each module of every fixture app and PS208 case edited (a function appended)
    and checked alone with the cache, twice (the second run reads the summaries the
    first kept): the findings are a fresh scan's, and every answer of
    `module_paths_matching` (checked by `answers`) is the parsed modules'."""
    import shutil

    from poolsafe.rules import RULES_BY_CODE

    projects: list[Path] = []
    for app in APPS:
        projects.append(tmp_path / f"{app.parent.name}_{app.name}")
        shutil.copytree(app, projects[-1])
    rule = RULES_BY_CODE["PS208"]
    for n, case in enumerate([*rule.VALID, *rule.INVALID]):
        root = tmp_path / f"ps208_{n}"
        for name, text in {**case.files, case.path: case.code}.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        projects.append(root)
    UNPARSED.clear()
    for root in projects:
        monkeypatch.chdir(root)
        # (the project is `root` for every file: a rule case without markers and without
        # modules at its top is a folder of projects when one of its files is named)
        opts = ScanOptions(cache_dir=tmp_path / f"cache_{root.name}", jobs=1, project_root=root)
        scan(["."], opts)
        for path in sorted(root.rglob("*.py")):
            rel = str(path.relative_to(root))
            original = path.read_text()
            for step in (1, 2):
                _edit(path, original + f"\n\ndef _edited_{step}():\n    return {step}\n", step)
                fresh = ScanOptions(jobs=1, project_root=root)
                assert _key(scan([rel], opts)) == _key(scan([rel], fresh)), rel
            path.write_text(original)
    assert answers and sum(UNPARSED) > 0, (len(answers), UNPARSED)
