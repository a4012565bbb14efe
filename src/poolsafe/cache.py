"""The persistent cache (.poolsafe_cache/).

One entry per configuration (poolsafe version, enabled rules, project config). An
entry holds the findings and analysis errors of the selected files, with what they
were computed from: the content hash of every selected file, and for every module
name that resolution looked up (`LazyIndex.lookups`) the files that answered it
and their hashes. The prefilter runs on every scan (it reads bytes only); when the
selection and every recorded lookup still match, nothing is parsed.

Project-wide facts (FastAPI dependencies, background jobs, Flask teardowns) are
read by every file's rules, so a change to any selected file, or to any module
that resolution reached, re-analyses the selected files; a change anywhere else
(a file that neither is selected nor was looked up) re-analyses nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from poolsafe.project import find_project_root

CACHE_DIR_NAME = ".poolsafe_cache"
FORMAT = 2
TAG_NAME = "CACHEDIR.TAG"
TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
            "# poolsafe cache (https://bford.info/cachedir/)\n")
#: the files poolsafe writes in its cache directory (`clean` removes only these)
_OWN_SUFFIXES = (".json", ".tmp")
_OWN_NAMES = (TAG_NAME, ".gitignore")


def default_cache_dir(start: Path | None = None) -> Path:
    """`.poolsafe_cache` in the project root of `start` (the working directory)."""
    return find_project_root(start or Path.cwd()) / CACHE_DIR_NAME


def cache_problem(directory: Path) -> str | None:
    """Why `directory` must not be used as poolsafe's cache, or None when it may: it is
    a symbolic link (writing through it could overwrite files outside the project), it
    is not a directory, or it is a directory that poolsafe did not create (no tag of
    poolsafe's in it, and not empty)."""
    if directory.is_symlink():
        return f"{directory} is a symbolic link; poolsafe does not write through it"
    if not directory.exists():
        return None
    if not directory.is_dir():
        return f"{directory} is not a directory"
    tag = directory / TAG_NAME
    if tag.is_symlink() or not tag.is_file():
        try:
            empty = not any(directory.iterdir())
        except OSError as exc:
            return f"{directory}: cannot read: {exc.strerror or exc}"
        return None if empty else f"{directory} was not made by poolsafe (no {TAG_NAME})"
    try:
        text = tag.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"{tag}: cannot read: {exc.strerror or exc}"
    if "poolsafe" not in text:
        return f"{directory} belongs to another tool (its {TAG_NAME} is not poolsafe's)"
    return None


def _write_own_file(path: Path, text: str) -> None:
    """Create or replace one of the cache's own small files, never through a link."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def config_key(parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def load_entry(directory: Path, key: str) -> dict[str, Any] | None:
    if cache_problem(directory) is not None:
        return None
    try:
        with open(directory / f"{key}.json", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def store_entry(directory: Path, key: str, entry: dict[str, Any]) -> None:
    """Write atomically; a cache that cannot be written is not an error, and a
    directory `cache_problem` refuses is never written to."""
    if cache_problem(directory) is not None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if cache_problem(directory) is not None:  # replaced while we looked
            return
        tag = directory / TAG_NAME
        if not tag.is_file():
            _write_own_file(tag, TAG_TEXT)
        _write_own_file(directory / ".gitignore", "*\n")
        fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({**entry, "format": FORMAT}, f)
        os.replace(tmp, directory / f"{key}.json")
    except OSError:
        pass


class CacheError(Exception):
    """A cache directory that poolsafe refuses to touch; the message says why."""


def clear_cache(directory: Path) -> list[str]:
    """Remove what poolsafe wrote in its cache directory, then the directory if that
    left it empty. Returns the names of what was left (anything poolsafe did not
    write); raises CacheError for a directory `cache_problem` refuses. Nothing is
    followed through a symbolic link."""
    problem = cache_problem(directory)
    if problem is not None:
        raise CacheError(problem)
    if not directory.exists():
        return []
    left = []
    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
        own = (entry.name in _OWN_NAMES or entry.name.endswith(_OWN_SUFFIXES))
        if own and not entry.is_dir(follow_symlinks=False):
            os.unlink(entry.path)
        else:
            left.append(entry.name)
    if not left:
        directory.rmdir()
    return left
