"""Shared by the fix50 tests: run one rule's fix on a small project, and check a fixed
text the way every fix is checked (it parses and compiles, a second run changes
nothing)."""

from __future__ import annotations

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
