"""Putting fixed text on disk: atomically, in the file's own encoding, BOM, line
endings and permissions; and showing it as a unified diff instead."""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from dataclasses import dataclass

from poolsafe.core.source import encode
from poolsafe.fix.loop.apply import FixFile


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


def write(f: FixFile) -> WriteError | None:
    """Replace the file with its fixed text: a temporary file in the same directory,
    then `os.replace`, so a reader never sees half a file. A read-only file is left
    alone and reported (a fix must not override a permission), and so is a file that
    changed on disk since it was read."""
    path = f.path
    if os.path.islink(path):
        return WriteError(f.display, "is a symbolic link: fixes not written")
    try:
        st = os.stat(path)
    except OSError as exc:
        return WriteError(f.display, f"cannot write: {exc.strerror or exc}")
    if not os.access(path, os.W_OK) or not st.st_mode & stat.S_IWUSR:
        return WriteError(f.display, "read-only file: fixes not written")
    try:
        data = encode(f.decoded, f.text)
    except UnicodeEncodeError as exc:
        return WriteError(f.display, f"cannot encode the fixed text as {f.decoded.encoding}: "
                                     f"{exc.reason}")
    try:
        current = path.read_bytes()
    except OSError as exc:
        return WriteError(f.display, f"cannot read: {exc.strerror or exc}")
    if current != encode(f.decoded, f.original):
        return WriteError(f.display, "the file changed while it was being fixed: not written")
    directory = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".poolsafe-tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode))
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return WriteError(f.display, f"cannot write: {exc.strerror or exc}")
    return None
