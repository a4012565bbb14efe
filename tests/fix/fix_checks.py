"""Shared by the fix50 tests: run one rule's fix on a small project, and check a fixed
text the way every fix is checked (it parses and compiles, a second run changes
nothing), and run a fixed text against a stand-in psycopg2."""

from __future__ import annotations

import contextlib
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

import libcst as cst

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions


def fix_one(code: str, files: dict[str, str], path: str, *,
            unsafe: bool) -> tuple[str, list[str], list[bool]]:
    """The fixed text of `path`, the reasons of the findings left, and whether each
    fix applied was safe."""
    result = fix_sources(files, ScanOptions(select={code}), unsafe=unsafe)
    assert not result.errors, result.errors
    return (result.sources()[path], [x.reason for x in result.left],
            [a.safe for a in result.applied])


def checked(code: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        cst.parse_module(text)
        compile(text, name, "exec")
    again = fix_sources(files, ScanOptions(select={code}), unsafe=True)
    assert again.sources() == files and not again.applied


def no_safe_fix(code: str, files: dict[str, str], path: str, *phrases: str,
                unsafe: bool = False) -> list[str]:
    """The run (the safe one, or with `unsafe` the unsafe one too) leaves `files[path]`
    as it was, applies nothing, and leaves a finding whose reason holds every one of
    `phrases` ("not fixable", "unsafe fix available", the reason's words). The reasons
    left."""
    text, left, applied = fix_one(code, files, path, unsafe=unsafe)
    assert text == files[path] and applied == [], text
    assert any(all(p in r for p in phrases) for r in left), left
    return left


def only_an_unsafe_fix(code: str, files: dict[str, str], path: str, reason: str,
                       shows: str = "") -> str:
    """The safe run leaves `files[path]` with an unsafe fix whose reason holds
    `reason`; the unsafe run applies that fix, marked unsafe, and its text holds
    `shows`; the fixed project is checked (it parses, re-fixes to nothing). The fixed
    text of `path`."""
    no_safe_fix(code, files, path, "unsafe fix available", reason)
    fixed, _, unsafe_applied = fix_one(code, files, path, unsafe=True)
    assert unsafe_applied == [False] and fixed != files[path] and shows in fixed, fixed
    checked(code, {**files, path: fixed})
    return fixed


def one_safe_fix(code: str, files: dict[str, str], path: str) -> str:
    """The safe run applies one fix, safe, with nothing left; the fixed project is
    checked. The fixed text of `path`."""
    text, left, applied = fix_one(code, files, path, unsafe=False)
    assert applied == [True] and not left, (text, left)
    checked(code, {**files, path: text})
    return text


def unsafe_only(code: str, source: str, reason: str) -> str:
    """`source` (a `case.py`) is left by the safe run with an unsafe fix whose reason
    holds `reason`; the text of that fix, checked (it parses, re-fixes to nothing)."""
    return only_an_unsafe_fix(code, {"case.py": source}, "case.py", reason)


def safe_and_runs_the_same(code: str, source: str,
                           run: Callable[[str, str, int], tuple[Any, list[int]]]) -> str:
    """`source` (a `case.py`) is fixed as safe by the safe run, with nothing left; the
    fixed text is checked and, run by `run(text, mode, size)` (fix68's stand-in pool)
    with one and two slots under every fault, gives the same outcome with no more
    connections left out. The fixed text."""
    text, left, applied = fix_one(code, {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, (text, left)
    checked(code, {"case.py": text})
    for size in (1, 2):
        for mode in ("ok", "empty", "fail"):
            before, kept = run(source, mode, size)
            after, out = run(text, mode, size)
            assert after == before, (mode, size, before, after)
            assert sum(out) <= sum(kept), (mode, size)
    return text


@contextlib.contextmanager
def stand_in_psycopg2(connect: Callable[[], Any]) -> Iterator[None]:
    """While it lasts, `import psycopg2` gives a module whose `connect(**kw)` returns
    `connect()` and whose `InterfaceError` the stand-in connections raise."""
    fake = types.ModuleType("psycopg2")

    class InterfaceError(Exception):
        pass

    fake.InterfaceError = InterfaceError  # type: ignore[attr-defined]
    fake.connect = lambda **kw: connect()  # type: ignore[attr-defined]
    saved = sys.modules.get("psycopg2")
    sys.modules["psycopg2"] = fake
    try:
        yield
    finally:
        if saved is None:
            del sys.modules["psycopg2"]
        else:
            sys.modules["psycopg2"] = saved
