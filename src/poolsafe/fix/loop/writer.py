"""Putting fixed text on disk: atomically, in the file's own encoding, BOM, line
endings and permissions; and showing it as a unified diff instead."""

from __future__ import annotations

import difflib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from poolsafe.core.project import absolute, find_project_root
from poolsafe.core.safe_write import refusal, write_atomic
from poolsafe.core.source import encode
from poolsafe.fix.loop.apply import FixFile, FixResult


@dataclass(frozen=True)
class WriteError:
    path: str
    message: str


def unified_diff(f: FixFile) -> str:
    """The change to one file, as `diff -u` shows it. Each line keeps its own ending
    (a CRLF file's lines end in CRLF), so `patch` applies the diff to the file."""
    before = f.original.splitlines(keepends=True)
    after = f.text.splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, fromfile=f"a/{f.display}",
                                 tofile=f"b/{f.display}")
    out = []
    for line in lines:
        out.append(line if line.endswith(("\n", "\r")) else
                   line + "\n\\ No newline at end of file\n")
    return "".join(out)


def original_line(f: FixFile, line: int) -> int:
    """The line of the original text that a line of the fixed text stands for: the
    same line where the fix kept it, the first line of what it replaced otherwise."""
    matcher = difflib.SequenceMatcher(None, f.original.splitlines(), f.text.splitlines(),
                                      autojunk=False)
    index = line - 1
    for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
        if j1 <= index < j2:
            if tag == "equal":
                return i1 + (index - j1) + 1
            return i1 + 1
    return line


def _root(f: FixFile) -> Path:
    """The project the file is in, found from where it is named (not where a link
    leads, and not `--project-root`, which says where names resolve): nothing
    outside it is written."""
    return find_project_root(f.path)


def write_problem(f: FixFile) -> WriteError | None:
    """Why the fixed text of `f` cannot be written, found before anything is written:
    a link or a path outside the project (`poolsafe.core.safe_write`), a read-only file
    or directory (a fix must not override a permission), a text the file's encoding
    cannot hold, or a file that changed on disk since it was read."""
    path = f.path
    reason = refusal(path, _root(f))
    if reason is not None:
        return WriteError(f.display, reason)
    try:
        st = os.stat(path)
    except OSError as exc:
        return WriteError(f.display, f"cannot write: {exc.strerror or exc}")
    if not os.access(path, os.W_OK) or not st.st_mode & stat.S_IWUSR:
        return WriteError(f.display, "read-only file: fixes not written")
    directory = Path(os.path.realpath(path)).parent
    if not os.access(directory, os.W_OK | os.X_OK):
        return WriteError(f.display, f"read-only directory ({directory}): fixes not written "
                                     "(the fixed file is written beside it, then renamed)")
    try:
        encode(f.decoded, f.text)
    except UnicodeEncodeError as exc:
        return WriteError(f.display, f"cannot encode the fixed text as {f.decoded.encoding}: "
                                     f"{exc.reason}")
    try:
        current = path.read_bytes()
    except OSError as exc:
        return WriteError(f.display, f"cannot read: {exc.strerror or exc}")
    if current != encode(f.decoded, f.original):
        return WriteError(f.display, "the file changed while it was being fixed: not written")
    return None


def write(f: FixFile) -> WriteError | None:
    """Replace the file with its fixed text, atomically (a temporary file in the same
    directory, then `os.replace`, so a reader never sees half a file), after the
    checks of `write_problem`."""
    problem = write_problem(f)
    if problem is not None:
        return problem
    try:
        write_atomic(f.path, encode(f.decoded, f.text), _root(f))
    except OSError as exc:
        return WriteError(f.display, f"cannot write: {exc.strerror or exc}")
    return None


def _groups(files: list[FixFile], linked: Sequence[tuple[str, ...]]) -> list[list[FixFile]]:
    """The files to write, grouped so that the files one fix edited together are in
    one group (transitively)."""
    parent = {f.display: f.display for f in files}

    def top(d: str) -> str:
        while parent[d] != d:
            d = parent[d]
        return d

    for link in linked:
        members = [d for d in link if d in parent]
        for d in members[1:]:
            parent[top(d)] = top(members[0])
    out: dict[str, list[FixFile]] = {}
    for f in files:
        out.setdefault(top(f.display), []).append(f)
    return list(out.values())


def write_all(files: list[FixFile], linked: Sequence[tuple[str, ...]] = ()
              ) -> tuple[list[FixFile], list[WriteError]]:
    """Write every changed file that can be written; plan first, then write. Every
    file is checked (`write_problem`) before any is written, and the files one fix
    edited together (`FixResult.linked`) are written all or none, so a project is
    never left with half of a fix that spans modules. Returns the files written and
    a problem for each file not written."""
    problems: dict[str, WriteError] = {}
    for f in files:
        problem = write_problem(f)
        if problem is not None:
            problems[f.display] = problem
    written: list[FixFile] = []
    for group in _groups(files, linked):
        blocked = [f.display for f in group if f.display in problems]
        for f in group:
            if f.display in problems:
                continue
            if blocked:
                problems[f.display] = WriteError(
                    f.display, f"not written: fixed together with {', '.join(blocked)}, "
                               "which cannot be written")
                continue
            problem = write(f)
            if problem is None:
                written.append(f)
            else:
                problems[f.display] = problem
    return written, [problems[f.display] for f in files if f.display in problems]


def stdin_output(result: FixResult, given: dict[Path, bytes]) -> bytes:
    """What `fix --stdin-filename` prints: the one buffer it was given, fixed, in its
    own encoding, BOM and line endings; the bytes as they came when the buffer could
    not be read or parsed (an editor must never lose its buffer)."""
    for f in result.files:
        if absolute(f.path) in given:
            return encode(f.decoded, f.text)
    return next(iter(given.values()), b"")
