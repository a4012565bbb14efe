"""Helpers shared by the tests that edit a project's files between cached scans."""

from __future__ import annotations

import os
from pathlib import Path

from poolsafe.core.model import ScanResult


def result_key(result: ScanResult) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """What a scan reports, to compare a cached scan with a fresh one."""
    return ([(f.path, f.location, f.code, f.message, f.fixable) for f in result.findings],
            [(e.path, e.message) for e in result.errors])


def edit_file(path: Path, text: str, step: int) -> None:
    """Write `text` to `path` with a modification time `step` seconds later, so that a
    cache keyed on the time sees the edit even within one clock tick."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + step * 1_000_000_000))
