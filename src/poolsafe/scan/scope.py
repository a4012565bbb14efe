"""What one scan covers: the files it *reports* (the paths the user named) and, for
each of them, the whole project that *resolution* sees.

Every reported file belongs to the project whose root `poolsafe.core.project` finds for
it (or `--project-root`). For each project, the scope holds every Python file of
the project (the walk of its root, honouring `.gitignore` and the configured
excludes), each file's module names relative to its import root (`src`), and the
bytes of each file (an editor's unsaved buffer, from `overrides`, in place of the
file on disk). Reported files keep the display path the user gave.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from poolsafe.core.discovery import WATCHED, SourceFile, discover
from poolsafe.core.model import FileError
from poolsafe.core.project import absolute, import_root_of, import_roots, root_of_directory
from poolsafe.core.source import undecodable
from poolsafe.scan.config import exclude_regexes

#: libcst needs about 1 GB of memory per MB of source: larger files are reported, not
#: read (their size is known before)
MAX_FILE_BYTES = 2_000_000


@dataclass
class ScopeSettings:
    #: excludes for walking the named paths (see `config.exclude_regexes`)
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    #: the configured exclude globs, and the directory they are relative to, for
    #: walking a project root
    exclude_globs: list[str] = field(default_factory=list)
    config_root: Path | None = None
    #: the project root of every file (None: found for each file)
    project_root: Path | None = None
    #: import roots relative to the project root (`[tool.poolsafe] src`)
    src: list[str] = field(default_factory=list)
    #: absolute path -> content to use instead of the file on disk (editor buffers,
    #: stdin); such a path is scanned even when no file exists there
    overrides: dict[Path, bytes] = field(default_factory=dict)
    #: files larger than this are reported (or left out of resolution) unread
    max_file_bytes: int = MAX_FILE_BYTES


@dataclass
class ProjectScope:
    root: Path
    #: every file of the project; `path` is absolute, `relative` is relative to the
    #: file's import root (module names come from it)
    files: list[SourceFile] = field(default_factory=list)
    datas: list[bytes] = field(default_factory=list)
    #: indexes into `files` of the files to report, in the order they were named
    reported: list[int] = field(default_factory=list)


@dataclass
class Scope:
    projects: list[ProjectScope]
    #: paths that could not be walked or read, among the reported ones
    errors: list[FileError]

    @property
    def reported_count(self) -> int:
        return sum(len(p.reported) for p in self.projects)


def read_error(source_file: SourceFile, exc: OSError) -> FileError:
    """The `errors` entry for a file that could not be read."""
    if isinstance(exc, FileNotFoundError):
        return FileError(source_file.display, "file disappeared before it could be read")
    if isinstance(exc, IsADirectoryError):
        return FileError(source_file.display, "is a directory")
    return FileError(source_file.display, f"cannot read: {exc.strerror or exc}")


def too_large_error(source_file: SourceFile, size: int, max_bytes: int) -> FileError:
    return FileError(source_file.display, f"skipped: {size / 1e6:.1f} MB is above the "
                                          f"{max_bytes / 1e6:.1f} MB limit for one file")


def discovery_error(message: str) -> FileError:
    """A `discover` message (`path: problem`) as an `errors` entry."""
    return FileError(message.split(":", 1)[0], message.split(": ", 1)[-1])


def reported_files(paths: Sequence[str], settings: ScopeSettings
                   ) -> tuple[list[SourceFile], list[FileError]]:
    """The files the named paths stand for, with their display paths; a path that is
    an override (an unsaved buffer) stands for itself even when it is not on disk."""
    return _reported_files(paths, settings, {})


def _reported_files(paths: Sequence[str], settings: ScopeSettings,
                    walks: dict[str, list[SourceFile]]) -> tuple[list[SourceFile], list[FileError]]:
    """`reported_files`; `walks` receives the files of each named directory by its
    absolute path (for `_walk_project`, when it walks the same directory with the
    same excludes)."""
    files: list[SourceFile] = []
    errors: list[FileError] = []
    for p in paths:
        if absolute(p) in settings.overrides:
            files.append(SourceFile(p, Path(p), Path(Path(p).name)))
            continue
        # (a directory named twice is recorded once: its files are the same)
        walk: list[SourceFile] | None = None
        if os.path.isdir(p) and os.path.abspath(p) not in walks:
            walk = walks[os.path.abspath(p)] = []
        for item in discover([p], excluded=settings.exclude):
            if isinstance(item, str):
                errors.append(discovery_error(item))
            else:
                files.append(item)
                if walk is not None:
                    walk.append(item)
    return files, errors


class _Roots:
    """Project roots per directory, each looked up once."""

    def __init__(self, fixed: Path | None) -> None:
        self.fixed = absolute(fixed) if fixed is not None else None
        self.roots: dict[str, Path] = {}
        self.marked: dict[str, str | None] = {}

    def of(self, path: Path | str) -> Path:
        """The project root of an absolute file path."""
        if self.fixed is not None:
            return self.fixed
        directory = os.path.dirname(str(path))
        root = self.roots.get(directory)
        if root is None:
            root = self.roots[directory] = root_of_directory(directory, self.marked)
        return root


def build_scope(paths: Sequence[str], settings: ScopeSettings) -> Scope:
    """The reported files of `paths`, each with its whole project around it."""
    walks: dict[str, list[SourceFile]] = {}
    named, errors = _reported_files(paths, settings, walks)
    roots = _Roots(settings.project_root)
    projects: dict[Path, ProjectScope] = {}
    # by absolute path as a string (`_key`): hashing a Path, and making one per
    # named file, cost more than the walk (1,500 files: some 10 Paths a file)
    positions: dict[Path, dict[str, int]] = {}
    reported: dict[Path, set[int]] = {}
    for sf in named:
        path = os.path.abspath(sf.path)  # as `absolute`, without its Path
        root = roots.of(path)
        if root not in projects:
            projects[root], positions[root] = _walk_project(root, settings, roots, walks)
            reported[root] = set()
        project, where = projects[root], positions[root]
        i = where.get(_key(path))
        if i is None:  # named, but not part of the walk (excluded, or a buffer)
            i = where[_key(path)] = len(project.files)
            project.files.append(sf)
            project.datas.append(b"")
            project.files[i] = _with_module_path(sf.display, Path(path), root, settings)
        elif i in reported[root]:
            continue
        else:  # the walk's own file: the same path and module path, shown as named
            walked = project.files[i]
            project.files[i] = SourceFile(sf.display, walked.path, walked.relative)
        data = _read(project.files[i], settings)
        problem = None if isinstance(data, FileError) else undecodable(data)
        if problem is not None:  # (whatever its words: no file is passed over unread)
            data = FileError(project.files[i].display, problem)
        if isinstance(data, FileError):
            errors.append(data)
            continue
        project.datas[i] = data
        project.reported.append(i)
        reported[root].add(i)
    for project in projects.values():
        _read_context(project, settings)
    return Scope(list(projects.values()), errors)


def _with_module_path(display: str, path: Path, root: Path, settings: ScopeSettings,
                      bases: list[Path] | None = None) -> SourceFile:
    """`bases`: `import_roots(root, settings.src)`, computed once per project."""
    if bases is None:
        bases = import_roots(root, settings.src)
    if len(bases) == 1:  # the common case, by string: a Path per step costs more
        below = _below(str(path), str(bases[0]))
        if below is not None:
            return SourceFile(display, path, Path(below))
    base = import_root_of(path, bases) or import_root_of(path, [root])
    relative = path.relative_to(base) if base is not None else Path(path.name)
    return SourceFile(display, path, relative)


def _below(path: str, directory: str) -> str | None:
    """`path` relative to `directory` when it is lexically below it (both absolute
    and normalised), else None (the caller then asks `pathlib`)."""
    prefix = directory if directory.endswith(os.sep) else directory + os.sep
    return path[len(prefix):] if path.startswith(prefix) and len(path) > len(prefix) else None


def _walk_project(root: Path, settings: ScopeSettings, roots: _Roots,
                  walks: dict[str, list[SourceFile]] | None = None
                  ) -> tuple[ProjectScope, dict[str, int]]:
    """Every file of the project at `root`, not read yet (files of a nested project
    with a root of its own belong to that project, not to this one), and each
    one's index by its absolute path. A walk of the same directory with the same
    excludes made for the named paths (`walks`, by absolute path: `check .` at the
    root) is used again, not made twice."""
    project = ProjectScope(root)
    where: dict[str, int] = {}
    excluded = exclude_regexes(settings.exclude_globs, [str(root)],
                               settings.config_root or root)
    bases = import_roots(root, settings.src)
    cwd = str(absolute(Path.cwd()))
    walked_before = (walks or {}).get(str(root))
    items = (walked_before if walked_before is not None
             and _same_patterns(excluded, settings.exclude)
             else discover([str(root)], excluded=excluded))
    for item in items:
        if isinstance(item, str):
            continue  # an unreadable directory outside the reported paths
        # the walk of an absolute root gives absolute paths: its own Path serves
        # unless `absolute` would spell it otherwise
        walked = str(item.path)
        path_s = os.path.abspath(walked)
        path = item.path if path_s == walked else Path(path_s)
        if roots.of(path_s) != root:
            continue
        where[_key(path_s)] = len(project.files)
        below = _below(str(path), cwd)
        shown = below.replace(os.sep, "/") if below is not None else _shown(path)
        project.files.append(_with_module_path(shown, path, root, settings, bases))
        project.datas.append(b"")
    for path in settings.overrides:
        if _key(str(path)) not in where and roots.of(path) == root:
            where[_key(str(path))] = len(project.files)
            project.files.append(_with_module_path(str(path), path, root, settings))
            project.datas.append(b"")
    return project, where



def _same_patterns(a: list[re.Pattern[str]], b: list[re.Pattern[str]]) -> bool:
    return [(p.pattern, p.flags) for p in a] == [(p.pattern, p.flags) for p in b]


def _key(path: str) -> str:
    """An absolute path as `positions` knows it: equal for equal Paths (on Windows,
    whose Paths compare without case, in one case)."""
    return os.path.normcase(path)


def _shown(path: Path) -> str:
    """How messages name a file that was not named: relative to the working
    directory when it is below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def _read(sf: SourceFile, settings: ScopeSettings) -> bytes | FileError:
    """The file's bytes; a file over the size limit is not read (its size is asked
    of the open file first)."""
    override = settings.overrides.get(absolute(sf.path)) if settings.overrides else None
    if override is not None:
        data = override
    else:
        try:
            with open(sf.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > settings.max_file_bytes:
                    return too_large_error(sf, size, settings.max_file_bytes)
                data = f.read()
        except OSError as exc:
            return read_error(sf, exc)
    if len(data) > settings.max_file_bytes:  # (a buffer, or a file that grew)
        return too_large_error(sf, len(data), settings.max_file_bytes)
    return data


def _read_context(project: ProjectScope, settings: ScopeSettings) -> None:
    """Read the files that are not reported; one that cannot be read is left out of
    resolution (its errors are not this scan's to report)."""
    reported = set(project.reported)
    keep = list(project.reported)
    for i, sf in enumerate(project.files):
        if i in reported:
            continue
        data = _read(sf, settings)
        if isinstance(data, FileError):
            continue
        project.datas[i] = data
        keep.append(i)
    if len(keep) == len(project.files):
        return
    order = sorted(keep)
    renumber = {old: new for new, old in enumerate(order)}
    project.files = [project.files[i] for i in order]
    project.datas = [project.datas[i] for i in order]
    project.reported = [renumber[i] for i in project.reported]


#: a file or directory changed less than this long before a walk began may change
#: again within its timestamp's granularity without its timestamp moving: the memo
#: does not trust such a one (the file is read again, the walk made again)
RACY_NS = 2_000_000_000


def _signature(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _mtime(path: str, presence: bool) -> int | None:
    """The modification time of `path` (None: not there); with `presence`, -1 when
    it is there."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    return -1 if presence else mtime


@dataclass
class _KeptScope:
    scope: Scope
    #: every directory the walk listed and `.gitignore` it read (or looked for), with
    #: its modification time after the walk (None: it was not there); every `.git`
    #: whose presence it asked, with -1 when there was one
    watched: dict[str, int | None]
    #: per project, per file: its signature when it was read and when that read
    #: began (None: an editor's buffer)
    signatures: list[list[tuple[tuple[int, int, int, int] | None, int] | None]]
    #: when the walk began (`time.time_ns()`)
    began: int


class ScopeMemo:
    """`build_scope`, kept between calls for the same named paths and settings (a
    language server's keystrokes): the project's walk and the bytes of its files are
    used again while no directory the walk listed, and no `.gitignore` it read,
    changed (their modification times), and each file whose signature (modification
    and change times, size, inode) changed is read again; the editor's buffers
    (`overrides`) come from the settings each time. The answer equals a fresh
    `build_scope` (`tests/lsp/test_scope_memo.py`), but for a change that keeps a
    file's or directory's times and size: one made less than `RACY_NS` before the
    walk is not trusted (read again), as git does with its index."""

    def __init__(self, limit: int = 4) -> None:
        self.limit = limit
        self._kept: dict[tuple[object, ...], _KeptScope] = {}
        #: how many calls were answered by a walk made again, and by one kept
        self.built = 0
        self.reused = 0

    def build(self, paths: Sequence[str], settings: ScopeSettings) -> Scope:
        key = (tuple(paths), os.getcwd(), _same_key(settings.exclude),
               tuple(settings.exclude_globs), str(settings.config_root),
               str(settings.project_root), tuple(settings.src), settings.max_file_bytes,
               tuple(sorted(str(p) for p in settings.overrides)))
        kept = self._kept.pop(key, None)
        if kept is not None:
            scope = self._again(kept, settings)
            if scope is not None:
                self._kept[key] = kept  # (the most recently used last)
                self.reused += 1
                return scope
        began = time.time_ns()
        watched: list[tuple[str, bool]] = []
        token = WATCHED.set(watched)
        try:
            scope = build_scope(paths, settings)
        finally:
            WATCHED.reset(token)
        self.built += 1
        if scope.errors:  # (each call reports them as a fresh one would)
            return scope
        times: dict[str, int | None] = {}
        for path, presence in watched:
            times[path] = _mtime(path, presence)
        overrides = settings.overrides
        signatures: list[list[tuple[tuple[int, int, int, int] | None, int] | None]] = [
            [None if absolute(sf.path) in overrides else (_signature(str(sf.path)), began)
             for sf in p.files] for p in scope.projects]
        self._kept[key] = _KeptScope(scope, times, signatures, began)
        while len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]
        return _copy(scope)

    def _again(self, kept: _KeptScope, settings: ScopeSettings) -> Scope | None:
        """The kept scope brought up to date, or None when it must be walked again."""
        racy = kept.began - RACY_NS
        for path, mtime in kept.watched.items():
            now = _mtime(path, mtime == -1)
            if now != mtime or (now is not None and now >= racy):
                return None
        for project, signatures in zip(kept.scope.projects, kept.signatures, strict=True):
            reported = set(project.reported)
            for i, sf in enumerate(project.files):
                old = signatures[i]
                if old is None:  # an editor's buffer
                    data = settings.overrides.get(absolute(sf.path))
                    if data is None:
                        return None
                    if i in reported and (len(data) > settings.max_file_bytes
                                          or undecodable(data) is not None):
                        return None  # (the error a fresh scope reports)
                    project.datas[i] = data
                    continue
                sig = _signature(str(sf.path))
                was, read_at = old
                if sig == was and sig is not None and max(sig[0], sig[1]) < read_at - RACY_NS:
                    continue
                if i in reported:
                    return None
                read_at = time.time_ns()
                sig = _signature(str(sf.path))
                read = _read(sf, settings)
                if isinstance(read, FileError):
                    return None
                project.datas[i] = read
                signatures[i] = (sig, read_at)
        return _copy(kept.scope)


def _same_key(patterns: list[re.Pattern[str]]) -> tuple[tuple[str, int], ...]:
    return tuple((p.pattern, p.flags) for p in patterns)


def _copy(scope: Scope) -> Scope:
    """A scope whose lists of bytes and reported files its caller may change without
    changing the memo's; the list of files is the memo's own (not to be changed: the
    same list while the walk holds, `ModuleMemo` keeps what depends on it alone)."""
    return Scope([ProjectScope(p.root, p.files, list(p.datas), list(p.reported))
                  for p in scope.projects], list(scope.errors))
