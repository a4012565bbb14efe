"""A small project written from a {relative path: text} table, and the findings a
scan of it gives with the prefilter on or off, for the prefilter and project tests."""

from __future__ import annotations

from pathlib import Path

from poolsafe.scan.engine import scan
from poolsafe.scan.options import ScanOptions


def write_project(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def found(root: Path, prefilter: bool) -> set[tuple[str, int, str]]:
    """(file name, line, code) of each finding of a scan of `root`, which must give
    no error."""
    result = scan([str(root)], ScanOptions(prefilter=prefilter))
    assert not result.errors
    return {(Path(f.path).name, f.line, f.code) for f in result.findings}
