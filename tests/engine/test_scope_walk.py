"""`build_scope` walks a directory once when the path named is the project root
(`poolsafe check .`): the project's listing is the named path's walk, which is what
a second walk with the same excludes would give."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from poolsafe.scan import scope
from poolsafe.scan.config import exclude_regexes
from poolsafe.scan.scope import ScopeSettings, build_scope


def _tree(root: Path) -> None:
    (root / "pyproject.toml").write_text("")
    for rel in ("app/a.py", "app/b.py", "app/skip/x.py", "ignored/y.py", "build/z.py",
                "nested/pyproject.toml", "nested/n.py", "venv/lib/v.py", "top.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x = 1\n" if rel.endswith(".py") else "")
    (root / "venv" / "pyvenv.cfg").write_text("")
    (root / ".gitignore").write_text("ignored/\n")
    (root / ".git").mkdir()


def _settings(root: Path, named: list[str]) -> ScopeSettings:
    globs = ["app/skip/*"]
    return ScopeSettings(exclude=exclude_regexes(globs, named, root), exclude_globs=globs,
                         config_root=root)


def _listing(named: list[str], root: Path) -> list[tuple[str, str, str, bytes, bool]]:
    result = build_scope(named, _settings(root, named))
    return [(f.display, str(f.path), f.relative.as_posix(), d, i in p.reported)
            for p in result.projects for i, (f, d) in enumerate(zip(p.files, p.datas,
                                                                     strict=True))]


def _walks_recorded(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The paths of each `discover` call `build_scope` makes from now on."""
    calls: list[list[str]] = []
    real = scope.discover

    def counting(paths: list[str], **kwargs: object) -> object:
        calls.append(list(paths))
        return real(paths, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scope, "discover", counting)
    return calls


@pytest.mark.parametrize("named", [["."], ["app"], [".", "app/a.py"], ["top.py", "."],
                                   [".", "."]])
def test_one_walk_gives_what_two_walks_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            named: list[str]) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    calls = _walks_recorded(monkeypatch)
    once = _listing(named, tmp_path)
    walks_of_root = [c for c in calls if os.path.abspath(c[0]) == str(tmp_path)]
    monkeypatch.setattr(scope, "_same_patterns", lambda a, b: False)  # walk twice
    assert _listing(named, tmp_path) == once
    # the root's files, named (each time) or the project's: never both
    assert len(walks_of_root) == max(1, [os.path.abspath(n) for n in named].count(
        str(tmp_path)))
    assert any(p.endswith("app/a.py") for _, p, *_ in once)
    assert not any("skip" in p or "ignored" in p or "venv" in p for _, p, *_ in once)


def test_other_excludes_walk_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    calls = _walks_recorded(monkeypatch)
    settings = _settings(tmp_path, ["."])
    settings.exclude = []  # the named paths walked without the configured excludes
    projects = build_scope(["."], settings).projects
    (project,) = [p for p in projects if p.root == tmp_path]
    assert [os.path.abspath(c[0]) for c in calls].count(str(tmp_path)) == 2
    assert any(str(f.path).endswith("app/a.py") for f in project.files)
