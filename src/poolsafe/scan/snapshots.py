"""Parsed modules kept on disk between runs, by content (`.poolsafe_cache/modules/`).

A `check FILE` after an edit checks that file against the project, and name
resolution parses every module it reaches (the modules that define what the file
imports: models, session helpers, routers). Those modules did not change: their
parse is the same as on the previous run. A snapshot is one module as the parse
and the collecting walk left it (`ModuleInfo`: the tree, its functions, classes,
imports), serialized with pickle (its nodes as `node_pickle` writes them) and
compressed; loading it costs some quarter of parsing the file again (airflow's
`models/`: 25 files, 0.79 s parsed, 0.18 s loaded, before `node_pickle`). What
the checks then compute from it is what they compute from a fresh parse: the
same nodes, the same facts, so the same findings.

A snapshot is named by everything its parse depends on: the file's bytes, its
display, absolute and relative paths, the version of Python, libcst, poolsafe and
of the collecting walk's code (`poolsafe/analysis/module.py`). Each file starts
with an HMAC of the rest under a key kept in the user's own cache directory
(`$XDG_CACHE_HOME/poolsafe/`, else `~/.cache/poolsafe/`), never in the project:
unpickling runs code, and a project's `.poolsafe_cache` may come from anyone (a
checkout): a snapshot not signed with this user's key is never unpickled. Without
a key (a home that cannot be written), there are no snapshots.

Snapshots are written by runs that check a few files (`WRITE_MAX`): the runs
after an edit, which parse a file's dependencies (not the edited files). A run that
checks more (a cold `check .` with a cache) keeps every module it parses, pickled
as it is parsed: the first `check FILE` after it would otherwise parse again what
the edited file's resolution and project-wide facts read, the modules checked
before another check read them included (superset 6.1.0's leaf: 6 of them, round
31). The pickling costs that run some two fifths of a parse per module (superset:
5.1 s of CPU for its 1,139 parses, two workers, one epoch each); a share with
several epochs loads in its later epochs what the earlier ones kept instead of
parsing it again (mlflow). A run without a cache (`--no-cache`) keeps none.
Identity-keyed tables of a module (`ModuleInfo.by_node`) are rebuilt on loading;
its parent map is built on demand (`fix.fixers.edits.parent_map`), as for any tree
it was not recorded for.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import pickle
import zlib
from pathlib import Path

from poolsafe.analysis.module import ModuleInfo
from poolsafe.core.gc_scope import collection_paused, keep_new_objects
from poolsafe.scan import node_pickle
from poolsafe.scan.cache import (
    SNAPSHOT_DIR,
    TAG_NAME,
    cache_problem,
    code_version,
    prune_oldest,
    write_cache_file,
)

#: a run that checks more files than this writes no snapshots (it may read them)
WRITE_MAX = 16
#: the most snapshots a cache keeps: past it, a run that writes removes the least
#: recently used until `KEEP` are left (a load marks a snapshot used)
LIMIT = 4000
KEEP = 3000
SUBDIR = SNAPSHOT_DIR
SUFFIX = ".pickle"
_KEY_BYTES = 32
_MAC_BYTES = 32


def _user_key_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "poolsafe" / "snapshot-key"


_key_cache: dict[str, bytes | None] = {}


def user_key() -> bytes | None:
    """The user's key (made on first use, readable by the user only); None when it
    cannot be read or made."""
    path = _user_key_path()
    known = _key_cache.get(str(path), b"")
    if known != b"":
        return known
    key: bytes | None = None
    try:
        if not path.is_symlink() and path.is_file():
            data = path.read_bytes()
            key = data if len(data) == _KEY_BYTES else None
        else:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fresh = os.urandom(_KEY_BYTES)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(fresh)
            key = fresh
    except FileExistsError:  # made by another process meanwhile
        try:
            data = path.read_bytes()
            key = data if len(data) == _KEY_BYTES else None
        except OSError:
            key = None
    except OSError:
        key = None
    _key_cache[str(path)] = key
    return key


_code_digest: list[str] = []


def _code_version() -> str:
    """What the snapshot's classes and contents depend on besides the file."""
    if not _code_digest:
        from poolsafe.analysis import module

        _code_digest.append(code_version((module, node_pickle)))
    return _code_digest[0]


class SnapshotStore:
    """The snapshots of one cache directory (see the module's docstring)."""

    #: keep the checked files too, not only the modules parsed for what other
    #: modules read from them (the equivalence tests feed every module this way)
    keep_checked = False

    def __init__(self, cache_dir: Path, write: bool) -> None:
        self.directory = cache_dir / SUBDIR
        # only in a cache directory poolsafe made (its tag written with the first
        # entry): a snapshot written first would make the directory look foreign
        usable = cache_problem(cache_dir) is None and (cache_dir / TAG_NAME).is_file()
        self.write = write and usable
        self.key = user_key() if usable else None
        self.version = _code_version() if self.key is not None else ""
        self.loaded = 0
        self.written = 0

    def _name(self, display: str, abspath: Path, relative: Path, data: bytes) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (self.version, display, str(abspath), str(relative)):
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        h.update(data)
        return h.hexdigest()

    def has(self, display: str, abspath: Path, relative: Path, data: bytes) -> bool:
        """Whether a snapshot of the module parsed from `data` is there (`load` may
        still refuse it)."""
        return self.key is not None and (
            self.directory / (self._name(display, abspath, relative, data) + SUFFIX)).is_file()

    def load(self, display: str, abspath: Path, relative: Path,
             data: bytes) -> ModuleInfo | None:
        """The module parsed from `data` on an earlier run, or None."""
        if self.key is None:
            return None
        path = self.directory / (self._name(display, abspath, relative, data) + SUFFIX)
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError:
            return None
        mac, body = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
        if not hmac.compare_digest(mac, hmac.new(self.key, body, "sha256").digest()):
            return None
        module = _unpickled(body)
        if module is None:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        self.loaded += 1
        return module

    def store(self, module: ModuleInfo, display: str, abspath: Path, relative: Path,
              data: bytes, large_run: bool = False) -> None:
        """Keep `module`, just parsed from `data` (before any analysis has added to
        it); a snapshot that cannot be made or written is left out. `large_run`: kept
        also by a run that writes no snapshot of its own (`write` false; see the
        module's docstring)."""
        if self.key is None or not (self.write or large_run):
            return
        body = _pickled(module)
        if body is None:
            return
        self._write(self.key, body, display, abspath, relative, data)

    def _write(self, key: bytes, body: bytes, display: str, abspath: Path, relative: Path,
               data: bytes) -> None:
        mac = hmac.new(key, body, "sha256").digest()
        name = self._name(display, abspath, relative, data)
        if not write_cache_file(self.directory, name, SUFFIX, mac + body):
            return
        self.written += 1
        if self.written == 1:
            self._prune()

    def _prune(self) -> None:
        prune_oldest(self.directory, SUFFIX, LIMIT, KEEP)


def _pickled(module: ModuleInfo) -> bytes | None:
    """`module` pickled and compressed; None for one that cannot be (a tree nested
    deeper than pickle goes)."""
    try:
        return zlib.compress(node_pickle.dumps(module), 1)
    except Exception:
        return None


def _unpickled(body: bytes) -> ModuleInfo | None:
    """The module `_pickled` made `body` of, its identity-keyed table rebuilt; None
    for one that does not load."""
    try:
        # (no cyclic collection while the tree is rebuilt: it is all kept, and
        # each collection on the way walked the nodes built so far again; nor
        # right after: inside a scan the tree leaves the collector's sight before
        # collection resumes, else the first allocation's young collection
        # walks the whole tree once more and moves it up a generation)
        with collection_paused():
            module = pickle.loads(zlib.decompress(body))
            keep_new_objects()
    except Exception:  # a snapshot that does not load is one that is not there
        return None
    if not isinstance(module, ModuleInfo):
        return None
    module.by_node = {id(f.node): f for f in module.all_functions}
    return module


class ReparseStore:
    """Snapshots kept in this process's memory, for the modules one share of a scan
    parses again (`checking.check_selected`): each index (epoch) is dropped with its
    trees once it has parsed enough, and the next parses again whatever its checks
    read too (a project's wrappers, the modules its packages' `__init__` import).
    mlflow 3.18.0 cold, one process: 14.3 MB of source parsed as 47.5 MB, its most
    read modules ten times each. A module is kept here from its second parse on
    (pickled as it was parsed, before any analysis, as `SnapshotStore` keeps it, and
    compressed: about its source's size), and every later need of it in the share
    is a load: some fifth of a parse, and no collecting walk. The checks compute
    from a loaded module what they compute from a parsed one (the same nodes, the
    same facts: see the module's docstring), so the findings are the same. (A
    large run with a cache keeps every module it parses in its `SnapshotStore`,
    which answers such a second need first: this store serves the runs without.)

    Keyed by absolute path: one store serves one share, whose files' bytes do not
    change while it runs. Nothing is signed: the bytes never leave the process."""

    def __init__(self) -> None:
        self._parsed_once: set[str] = set()
        #: path -> the module's snapshot (None: one that could not be pickled)
        self._kept: dict[str, bytes | None] = {}
        self.loaded = 0
        #: whether a module parsed again now is to be kept: false once the share is
        #: expected to end within the current epoch (superset 6.1.0 cold, one process:
        #: two epochs, the second parse of 225 modules the last, and their pickling
        #: some 2.9 s of CPU for nothing)
        self.wanted = True

    def load(self, path: str) -> ModuleInfo | None:
        """The module of `path`, parsed earlier in this share, or None."""
        body = self._kept.get(path)
        if body is None:
            return None
        module = _unpickled(body)
        if module is not None:
            self.loaded += 1
        return module

    def note_parse(self, path: str) -> bool:
        """Note that `path` is being parsed; whether `keep` should then be given its
        module (its second parse, while `wanted`)."""
        if path in self._parsed_once:
            return self.wanted and path not in self._kept
        self._parsed_once.add(path)
        return False

    def keep(self, path: str, module: ModuleInfo) -> None:
        """Keep `module`, just parsed from `path` (before any analysis has added to
        it)."""
        self._kept[path] = _pickled(module)
