"""`ProjectIndex.any_module` on the lazy index (issue 32): the same answer as
`any(wanted(m) for m in modules_matching(pattern))`, parsing the likely module
first and no more than it needs, with every matching file recorded as read."""

from __future__ import annotations

from pathlib import Path

from poolsafe.analysis.index import ProjectIndex, word_pattern
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.project_facts import facts
from poolsafe.scan.cache import pattern_key
from poolsafe.scan.checking import parse_source
from poolsafe.scan.lazy_index import LazyIndex

MENTIONS = '"""Talks about flask in prose only."""\n\ndef f{n}():\n    return "flask"\n'
IMPORTS = "from flask import Flask\n\napp = Flask(__name__)\n"


def _project(tmp_path: Path, with_app: bool, count: int = 8) -> dict[str, bytes]:
    files = {}
    for n in range(count):
        files[str(tmp_path / f"m{n}.py")] = MENTIONS.format(n=n).encode()
    if with_app:  # last in the project's order: an eager read parses all before it
        files[str(tmp_path / "zz_app.py")] = IMPORTS.encode()
    return files


def _index(files: dict[str, bytes]) -> tuple[LazyIndex, list[str]]:
    parsed: list[str] = []

    def load(path: str) -> ModuleInfo | None:
        parsed.append(path)
        p = Path(path)
        return parse_source(p.name, p, Path(p.name), files[path].decode())

    names = {Path(p).stem: [p] for p in files}
    index = LazyIndex([], None, load, names, frozenset(), selected=list(files),
                      source=lambda path: files[path])
    return index, parsed


def _eager(files: dict[str, bytes]) -> bool:
    modules = []
    for path, data in files.items():
        p = Path(path)
        modules.append(parse_source(p.name, p, Path(p.name), data.decode()))
    return facts(ProjectIndex(modules, None)).uses_flask()


def test_a_flask_project_parses_the_importing_module_only(tmp_path: Path) -> None:
    files = _project(tmp_path, with_app=True)
    index, parsed = _index(files)
    assert facts(index).uses_flask() is True
    assert parsed == [str(tmp_path / "zz_app.py")]
    # every file the word matches is recorded as a dependency, parsed or not
    assert index.matched[pattern_key(word_pattern(["flask"]))] == list(files)
    assert _eager(files) is True


def test_without_an_import_every_mentioning_module_is_read(tmp_path: Path) -> None:
    files = _project(tmp_path, with_app=False)
    index, parsed = _index(files)
    assert facts(index).uses_flask() is False
    assert sorted(parsed) == sorted(files)
    assert _eager(files) is False


def test_an_import_the_likely_pattern_misses_is_still_found(tmp_path: Path) -> None:
    files = _project(tmp_path, with_app=False)
    # imported inside a function after a statement on the same line: `likely` does
    # not see it, the module's facts do
    files[str(tmp_path / "late.py")] = b"def g():\n    x = 1; import flask\n    return x\n"
    index, parsed = _index(files)
    assert facts(index).uses_flask() is True
    assert parsed[-1] == str(tmp_path / "late.py")
    assert _eager(files) is True


def test_parsed_modules_are_asked_first_and_call_sites_stop_at_the_first_wanted(
        tmp_path: Path) -> None:
    """`ProjectFacts.any_call_site`: the modules parsed already answer before any other
    is parsed, and the answer is `any` over `call_sites` (issue 32: a one-shot
    question about a method called from 22 modules)."""
    files = {str(tmp_path / f"m{n}.py"): f"def g{n}():\n    work()\n".encode()
             for n in range(6)}
    index, parsed = _index(files)
    last = str(tmp_path / "m5.py")
    index.module_at(last)  # (the checked module, parsed first)
    parsed.clear()
    assert facts(index).any_call_site("work", lambda s: True) is True
    assert parsed == []  # answered by the module parsed already
    assert facts(index).any_call_site("work", lambda s: s.func is None) is False
    assert sorted(parsed) == sorted(p for p in files if p != last)  # then all
    sites = facts(index).call_sites("work")
    assert len(sites) == 6 and not any(s.func is None for s in sites)
    # the same answers on an index that parsed everything
    modules = [parse_source(Path(p).name, Path(p), Path(Path(p).name), d.decode())
               for p, d in files.items()]
    eager = facts(ProjectIndex(modules, None))
    assert eager.any_call_site("work", lambda s: True) is True
    assert eager.any_call_site("work", lambda s: s.func is None) is False


def test_modules_not_parsed_yet_are_asked_smallest_first(tmp_path: Path) -> None:
    """A module's load costs in time with its size (mlflow's `sqlalchemy_store.py` is
    0.5 MB): among the matching modules not parsed yet, the smallest is parsed first,
    and when it is wanted the larger ones are not parsed; the answer and the recorded
    dependencies are those of the project's order."""
    def padding(count: int) -> str:
        return "".join(f"\ndef pad{i}():\n    return {i}\n" for i in range(count))

    files = {
        str(tmp_path / "a_large.py"): f"def g():\n    work()\n{padding(200)}".encode(),
        str(tmp_path / "b_medium.py"): f"def h():\n    work()\n{padding(50)}".encode(),
        str(tmp_path / "c_small.py"): b"def k():\n    work()\n",
    }
    index, parsed = _index(files)
    assert facts(index).any_call_site("work", lambda s: True) is True
    assert parsed == [str(tmp_path / "c_small.py")]
    assert facts(index).any_call_site("work", lambda s: s.func is None) is False
    assert parsed == [str(tmp_path / n) for n in ("c_small.py", "b_medium.py", "a_large.py")]
    assert index.matched  # every matching file recorded, parsed or not
    assert all(list(files) == paths for paths in index.matched.values())
