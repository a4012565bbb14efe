"""Suppression comments written into files: `poolsafe check --add-noqa` (a
`# noqa: PSxxx` on every line with a finding, merged into a noqa comment already
there) and PS001's fix (`check --fix --report-unused-ignores` removes the codes, or
the whole comment, that suppress nothing). Files are written as `poolsafe fix`
writes them (atomically, in their own encoding and line endings)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from poolsafe.core.model import Finding
from poolsafe.core.source import SourceError, decode
from poolsafe.fix.loop.apply import FixFile
from poolsafe.fix.loop.writer import WriteError, write
from poolsafe.scan.postprocess import Removal
from poolsafe.scan.suppression_edits import (
    LineEdit,
    apply_line_edits,
    removal_edit,
    suppression_edit,
)


@dataclass
class Written:
    #: how many comments were added or changed
    edits: int = 0
    files: int = 0
    problems: list[WriteError] = field(default_factory=list)


def _edit_file(path: str, edits_for: dict[int, list[str] | None], *, add: bool
               ) -> tuple[int, WriteError | None]:
    try:
        data = Path(path).read_bytes()
        decoded = decode(data)
    except (OSError, SourceError) as exc:
        return 0, WriteError(path, f"cannot read: {exc}")
    text = decoded.text
    edits: list[LineEdit] = []
    for line, codes in sorted(edits_for.items()):
        edit = (suppression_edit(text, line, codes or [], noqa=True) if add
                else removal_edit(text, line, codes))
        if edit is not None:
            edits.append(edit)
    if not edits:
        return 0, None
    new_text = apply_line_edits(text, edits)
    problem = write(FixFile(path, Path(path), Path(path), decoded, text, new_text))
    return (0, problem) if problem is not None else (len(edits), None)


def add_noqa(findings: Iterable[Finding]) -> Written:
    """A `# noqa: CODE` for every finding, one comment per line."""
    by_file: dict[str, dict[int, list[str] | None]] = defaultdict(dict)
    for f in findings:
        codes = by_file[f.path].setdefault(f.line, [])
        assert codes is not None
        if f.code not in codes:
            codes.append(f.code)
    return _apply(by_file, add=True)


def remove_unused(removals: Iterable[Removal]) -> Written:
    by_file: dict[str, dict[int, list[str] | None]] = defaultdict(dict)
    for r in removals:
        by_file[r.path][r.line] = r.codes
    return _apply(by_file, add=False)


def _apply(by_file: dict[str, dict[int, list[str] | None]], *, add: bool) -> Written:
    out = Written()
    for path, edits_for in sorted(by_file.items()):
        n, problem = _edit_file(path, edits_for, add=add)
        if problem is not None:
            out.problems.append(problem)
        elif n:
            out.edits += n
            out.files += 1
    return out
