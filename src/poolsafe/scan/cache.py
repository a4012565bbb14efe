"""The persistent cache (.poolsafe_cache/).

One entry per configuration (poolsafe version, enabled rules, project config). An
entry holds, per checked file, its content hash, findings and analysis errors, and
what the checked files read from other modules: for every module name that
resolution looked up (`LazyIndex.lookups`) and every pattern a project-wide fact
searched the selected files for (`LazyIndex.matched`: FastAPI dependencies,
background jobs, Flask teardowns), the files that answered, with their hashes and
their `facts_digest` (the content without comments and blank lines). Each file's
record says which of those it depends on: the names and patterns its index (an
epoch of `checking.check_selected`) had looked up and searched when its check
ended, its own and those of the checks before it in that index, whose memoized
answers it may have used. It also keeps the prefilter's state
(`prefilter.reselect`), so an edit does not re-read the taint of every file.

After an edit, a file's cached record is used when its own content is unchanged
and each of its dependencies still holds: the same files answer the name or match
the pattern, each one unchanged or changed only in comments and blank lines. So
an edit to one file re-checks that file, and the files whose records read
something it changed (a wrapper's code, a new background job: its users; a leaf
module's own callers' pattern: the files checked after it in the same index); a
change to a file nothing read re-checks nothing else.

The directory also holds the parsed modules of `poolsafe.scan.snapshots`
(`modules/`), which `clear_cache` removes with the rest.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from poolsafe.core.project import find_project_root

CACHE_DIR_NAME = ".poolsafe_cache"
FORMAT = 6
TAG_NAME = "CACHEDIR.TAG"
TAG_TEXT = ("Signature: 8a477f597d28d172789f06886806bc55\n"
            "# poolsafe cache (https://bford.info/cachedir/)\n")
#: the files poolsafe writes in its cache directory (`clean` removes only these)
_OWN_SUFFIXES = (".json", ".tmp", ".poolsafe-tmp")
_OWN_NAMES = (TAG_NAME, ".gitignore")
#: the directory of parsed modules (`poolsafe.scan.snapshots`) and its files
SNAPSHOT_DIR = "modules"
#: (and the per-module summaries of `poolsafe.scan.summaries`, `.pool.json`, and the
#: kept path comparisons of `poolsafe.scan.proofs`, `.proof.json`)
_SNAPSHOT_SUFFIXES = (".pickle", ".pool.json", ".dbnames.json", ".used.json", ".proof.json",
                      ".poolsafe-tmp")


def code_version(modules: Iterable[ModuleType]) -> str:
    """A digest of what a cached file's contents depend on besides its source: the
    Python, libcst and poolsafe versions, and the code of `modules`."""
    import libcst

    from poolsafe import __version__

    h = hashlib.blake2b(digest_size=16)
    for part in (sys.version, getattr(libcst, "__version__", "?"), __version__):
        h.update(part.encode() + b"\0")
    for mod in modules:
        try:
            h.update(Path(mod.__file__ or "").read_bytes())
        except OSError:
            h.update(b"?")
    return h.hexdigest()


def prune_oldest(directory: Path, suffix: str, limit: int, keep: int) -> None:
    """Past `limit` files ending in `suffix` in `directory`, remove the oldest (by
    modification time) until `keep` are left; a cache must not grow without end."""
    try:
        entries = [e for e in os.scandir(directory)
                   if e.name.endswith(suffix) and e.is_file(follow_symlinks=False)]
        if len(entries) <= limit:
            return
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime)
        for e in entries[:len(entries) - keep]:
            os.unlink(e.path)
    except OSError:
        pass


def write_cache_file(directory: Path, name: str, suffix: str, content: bytes) -> bool:
    """Write `content` as `name + suffix` in `directory` (made if missing) through a
    temporary file and an atomic rename, never through a symbolic link; whether it was
    written (a file that cannot be written is left out: a cache is optional)."""
    path = directory / (name + suffix)
    tmp = directory / f"{name}.{os.getpid()}.poolsafe-tmp"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if directory.is_symlink():
            return False
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                     | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


class JsonFiles:
    """The plain JSON files of one suffix in a cache's directory of parsed modules
    (`SNAPSHOT_DIR`): the per-module summaries, PS103's package judgements and the kept
    path comparisons all read and write through it. A file is read with `json.loads`
    only (never through a symbolic link; a damaged one reads as missing, and its reader
    checks the value field by field) and written through `write_cache_file` (atomic,
    never replaced once there: a name is a digest of everything its value depends on).
    Past `limit` files, the first write of a run removes the oldest until `keep` are
    left; `written` counts this run's writes."""

    def __init__(self, directory: Path, suffix: str, limit: int, keep: int) -> None:
        self.directory = directory
        self.suffix = suffix
        self.limit = limit
        self.keep = keep
        self.written = 0

    def get(self, name: str) -> object | None:
        """The value kept as `name`, or None when there is none that reads."""
        import json

        path = self.directory / (name + self.suffix)
        with contextlib.suppress(OSError, ValueError):
            if not path.is_symlink():
                value: object = json.loads(path.read_bytes())
                return value
        return None

    def put(self, name: str, value: object) -> bool:
        """Keep `value` as `name` unless a file of that name is there; whether it was
        written."""
        import json

        if (self.directory / (name + self.suffix)).exists():
            return False
        content = json.dumps(value, separators=(",", ":")).encode()
        if not write_cache_file(self.directory, name, self.suffix, content):
            return False
        self.written += 1
        if self.written == 1:  # one look per run, as for the snapshots
            prune_oldest(self.directory, self.suffix, self.limit, self.keep)
        return True


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


#: what `facts_digest` reads: a string literal (kept as written), a run of line ends
#: with the comments, trailing blanks and blank lines among them (one line end and
#: the next line's indentation stand for the run), or a comment at the very end
_LAYOUT = re.compile(
    rb"(?P<s>[rRbBuUfF]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''"
    rb"|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'))"
    rb"|(?P<n>(?:[ \t]*(?:\#[^\r\n]*)?\r?\n)+[ \t]*)"
    rb"|[ \t]*\#[^\r\n]*", re.S)


def _layout_token(m: re.Match[bytes]) -> bytes:
    if m.group("s") is not None:
        return m.group("s")
    run = m.group("n")
    if run is not None:
        return b"\n" + run[run.rfind(b"\n") + 1:]
    return b""


@functools.lru_cache(maxsize=16)
def facts_digest(data: bytes) -> str:
    """A digest of a module that comments, trailing blanks and blank lines do not
    change: what another module's analysis can learn from it (names, wrappers,
    calls) is the same for equal digests; only positions inside it move. Strings
    are kept whole, so a `#` inside one is not a comment (a 3.12 f-string that nests
    its own quote can hide text after a `#` from it).

    Kept for the last few contents: a `check FILE` asked it of the edited file once
    per cached lookup and pattern that file answered, and once more for the entry written
    (superset's `models/core.py`: 6 times, some 5 ms each, issue 32)."""
    return content_hash(_LAYOUT.sub(_layout_token, data).lstrip(b"\n"))


def pattern_key(pattern: re.Pattern[bytes]) -> str:
    """A bytes pattern as a string the cache can store (`pattern_of` reverses it)."""
    return f"{pattern.flags}:{pattern.pattern.decode('latin-1')}"


def pattern_of(key: str) -> re.Pattern[bytes]:
    flags, _, source = key.partition(":")
    return re.compile(source.encode("latin-1"), int(flags))


def config_key(parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:24]


def load_entry(directory: Path, key: str) -> dict[str, Any] | None:
    if cache_problem(directory) is not None:
        return None
    import json  # (imported by the runs that use the cache only)

    enabled = gc.isenabled()
    gc.disable()  # an entry is many small lists without cycles: nothing to collect
    try:
        with open(directory / f"{key}.json", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    finally:
        if enabled:
            gc.enable()
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return data


def make_cache_dir(directory: Path) -> bool:
    """Make `directory` poolsafe's cache (the directory, its tag and `.gitignore`) if it
    is not yet; whether it is one now. A directory `cache_problem` refuses is left
    alone. A scan makes it before its checks run, not only when it stores the entry:
    the stores that keep what the checks compute (the summaries, the proofs of the
    `[*]`, the snapshots) write only into a directory that has the tag, so the run
    that makes a project's cache keeps them as every later run does."""
    if cache_problem(directory) is not None:
        return False
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if cache_problem(directory) is not None:  # replaced while we looked
            return False
        tag = directory / TAG_NAME
        if not tag.is_file():
            _write_own_file(tag, TAG_TEXT)
        _write_own_file(directory / ".gitignore", "*\n")
    except OSError:
        return False
    return True


def store_entry(directory: Path, key: str, entry: dict[str, Any]) -> None:
    """Write atomically; a cache that cannot be written is not an error, and a
    directory `cache_problem` refuses is never written to."""
    if not make_cache_dir(directory):
        return
    try:
        import json  # (a --no-cache run writes nothing: it does without it)

        from poolsafe.core.safe_write import write_atomic

        # dumps, not dump: dump encodes chunk by chunk in Python, dumps in C; without
        # the spaces after separators (mlflow 3.18.0: 4.65 -> 4.47 MB, some 5 ms less
        # to load) and without the check for cycles (an entry is lists, dicts and
        # strings made by the engine, none holding itself): 27 -> 24 ms to encode
        text = json.dumps({**entry, "format": FORMAT}, separators=(",", ":"),
                          check_circular=False)
        # never through a link nor out of the project the cache belongs to
        write_atomic(directory / f"{key}.json", text.encode("utf-8"),
                     find_project_root(directory))
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
        elif entry.name == SNAPSHOT_DIR and entry.is_dir(follow_symlinks=False):
            inner = [e.name for e in sorted(os.scandir(entry.path), key=lambda e: e.name)]
            kept = []
            for name in inner:
                path = os.path.join(entry.path, name)
                if name.endswith(_SNAPSHOT_SUFFIXES) and not os.path.islink(path) \
                        and os.path.isfile(path):
                    os.unlink(path)
                else:
                    kept.append(f"{entry.name}/{name}")
            if kept:
                left.extend(kept)
            else:
                os.rmdir(entry.path)
        else:
            left.append(entry.name)
    if not left:
        directory.rmdir()
    return left
