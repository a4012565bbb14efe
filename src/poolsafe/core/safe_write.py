"""Every file poolsafe writes goes through here: fixed sources (`fix`, `check --fix`),
suppression comments (`check --add-noqa`, PS001's fix), baselines and cache entries.

Two promises, checked for each file:

* **Nothing outside the project.** The file's real location (every symbolic link on
  the way resolved) must be inside the project root's real location. A file named
  as `ext/leak.py`, where `ext` is a link to `/elsewhere`, is refused: writing it
  would change `/elsewhere/leak.py`.
* **Nothing through a link.** The file itself must not be a link (replacing it
  would turn the link into a regular file, and the file it points to would keep
  the old text), and the write goes to the real location: no component of the path
  written, from the project root down to the file, is a symbolic link. That is
  checked again just before the new file replaces the old one, so a directory
  swapped for a link during the run is refused too.

Writes are atomic: a temporary file in the same directory, then `os.replace`, so a
reader never sees half a file. A new file gets the mode any file the user creates
gets (0666 less the umask); a replaced file keeps its mode.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from poolsafe.core.project import is_within

#: the suffix of the temporary files (`poolsafe clean` removes those in the cache)
TEMP_SUFFIX = ".poolsafe-tmp"


class UnsafeWrite(OSError):
    """A write `refusal` refuses; the message says why (one line, without the path)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def _link_between(root: Path, target: Path) -> Path | None:
    """The first component from `root` (excluded) down to `target` (included) that is
    a symbolic link, or None. Both are absolute, `target` lexically under `root`."""
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        if os.path.islink(current):
            return current
    return None


def real_target(path: str | Path, root: str | Path) -> Path:
    """Where writing `path` really writes, for a project whose root is `root`; raises
    UnsafeWrite when that is outside the project or through a link."""
    absolute = Path(os.path.abspath(path))
    if os.path.islink(absolute):
        raise UnsafeWrite("is a symbolic link: not written (poolsafe writes through no link)")
    real = Path(os.path.realpath(absolute))
    real_root = Path(os.path.realpath(root))
    if not is_within(real, real_root):
        raise UnsafeWrite(f"resolves to {real}, outside the project ({root}): not written "
                          "(poolsafe writes nothing outside the project)")
    link = _link_between(real_root, real)
    if link is not None:  # swapped for a link since it was resolved
        raise UnsafeWrite(f"{link} is a symbolic link: not written")
    return real


def refusal(path: str | Path, root: str | Path) -> str | None:
    """Why poolsafe must not write `path` in the project at `root`, or None."""
    try:
        real_target(path, root)
    except UnsafeWrite as exc:
        return exc.reason
    return None


def write_atomic(path: str | Path, data: bytes, root: str | Path) -> Path:
    """Replace (or create) `path` with `data`, atomically, after `real_target`'s
    checks; returns where it was written. Raises UnsafeWrite or OSError."""
    target = real_target(path, root)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}{TEMP_SUFFIX}"
    # 0o666: a new file gets the umask's mode, as any file the user creates does
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if real_target(path, root) != target:  # the path changed under us
            raise UnsafeWrite("changed while it was being written: not written")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
