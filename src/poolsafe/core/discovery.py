"""Find the Python files to scan: walk paths, skip virtualenvs and build output,
honour `.gitignore`, never follow directory symlinks out of the tree.

A walk yields the `.py` files and the Python scripts without a suffix: a file whose
name has no dot and whose first line is a Python shebang (`#!/usr/bin/env python3`,
`#!/usr/bin/python`, `#!/usr/bin/env -S python3 -u`, `#!/usr/bin/env -S uv run
--script`), such as a project's `bin/` entry points. Ruff's walk finds `*.py` only and
checks such a script when it is named on the command line (ruff#13122 asks for more);
pre-commit's `types: [python]` already passes them to a hook. Only the first 256 bytes
of such a file are read, and nothing else of a file without that shebang."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "build", "dist", "node_modules",
     "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".poolsafe_cache",
     "site-packages", ".eggs"}
)

#: while set (a list), what a walk's answer depends on besides the files' bytes is
#: appended to it: (path, False) for every directory it lists and `.gitignore` it
#: reads (their modification times), (path, True) for a `.git` whose presence it
#: asks (`scan.scope.ScopeMemo` checks them before using a walk again)
WATCHED: ContextVar[list[tuple[str, bool]] | None] = ContextVar("poolsafe_walk_watched",
                                                                default=None)


#: how much of a file without a suffix is read to look for a Python shebang
SHEBANG_BYTES = 256
#: a shebang's program that runs Python (`python`, `python3`, `python3.12`, `pypy3`)
_PYTHON_PROGRAM = re.compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*)?[mdw]?")


def python_shebang(head: bytes) -> bool:
    """Whether `head`, a file's first bytes, opens with a shebang that runs Python:
    the program itself (`#!/usr/bin/python3`), or through `env` with its options and
    variables (`#!/usr/bin/env -S PYTHONUNBUFFERED=1 python3 -u`), or `uv run
    --script` (a PEP 723 script)."""
    if not head.startswith(b"#!"):
        return False
    line = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    words = line.split()
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]
    rest = words[1:]
    if program == "env":
        while rest and (rest[0].startswith("-") or "=" in rest[0]):
            rest = rest[1:]  # env's options (`-S`, `-u NAME` is rare) and variables
        if not rest:
            return False
        program, rest = rest[0].rsplit("/", 1)[-1], rest[1:]
    if _PYTHON_PROGRAM.fullmatch(program):
        return True
    return program == "uv" and rest[:1] == ["run"] and "--script" in rest


def is_script_name(name: str) -> bool:
    """Whether a file named `name` may be a Python script without a suffix: no dot
    in its name (`metasrht-daily`, `manage`; not `.env`, `Makefile.am`)."""
    return "." not in name


def is_python_script(path: str) -> bool:
    """Whether the file at `path` (a name without a suffix) is a Python script: its
    first line is a Python shebang. Reads `SHEBANG_BYTES` at most."""
    try:
        with open(path, "rb") as f:
            head = f.read(SHEBANG_BYTES)
    except OSError:
        return False
    return python_shebang(head)


@dataclass(frozen=True)
class SourceFile:
    #: the path shown to users: as given on the command line, joined with the walk
    display: str
    path: Path
    #: the path relative to the argument it was found under (for module names)
    relative: Path


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    negated: bool
    dir_only: bool
    #: the directory of the .gitignore (a path string)
    base: str


def translate_glob(pattern: str) -> str:
    """A gitignore glob as the body of a regular expression over a '/'-separated
    relative path: `*` and `?` stay within one component, `**` crosses them,
    `[!...]` negates a class. Shared by .gitignore and the configured excludes."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _load_gitignore(directory: str) -> list[_Pattern]:
    path = os.path.join(directory, ".gitignore")
    watched = WATCHED.get()
    if watched is not None:
        watched.append((path, False))
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    patterns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        dir_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = translate_glob(line)
        regex = re.compile(("^" if anchored else "^(?:.*/)?") + body + "$")
        patterns.append(_Pattern(regex, negated, dir_only, directory))
    return patterns


def _ignored(path: str, is_dir: bool, patterns: list[_Pattern]) -> bool:
    ignored = False
    for p in patterns:
        if p.dir_only and not is_dir:
            continue
        base = p.base.rstrip(os.sep) + os.sep
        if not path.startswith(base):
            continue
        rel = path[len(base):]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        if p.regex.match(rel):
            ignored = not p.negated
    return ignored


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _git_root_patterns(start: Path) -> list[_Pattern]:
    """.gitignore files of the directories above `start`, up to the repository root."""
    patterns: list[_Pattern] = []
    chain = []
    cur = start
    watched = WATCHED.get()
    while True:
        chain.append(cur)
        if watched is not None:
            watched.append((str(cur / ".git"), True))
        if (cur / ".git").exists() or cur.parent == cur:
            break
        cur = cur.parent
    if not (chain[-1] / ".git").exists():
        return []
    for d in reversed(chain[1:]):
        patterns.extend(_load_gitignore(str(d)))
    return patterns


def discover(paths: list[str], *, follow_symlinks: bool = False,
             excluded: list[re.Pattern[str]] | None = None) -> Iterator[SourceFile | str]:
    """Yield files to scan, or a message string for a path that cannot be walked."""
    for arg in paths:
        root = Path(arg)
        if root.is_file() or (root.suffix == ".py" and not root.is_dir() and root.exists()):
            yield SourceFile(display=arg, path=root, relative=Path(root.name))
            continue
        if not root.is_dir():
            yield f"{arg}: no such file or directory"
            continue
        base_patterns = _git_root_patterns(root.resolve())
        # the walk works on strings (a Path per entry costs more than the walk itself)
        top = str(root)
        yield from _walk(arg, top, top, base_patterns, follow_symlinks, excluded or [])


def _walk(arg: str, root: str, directory: str, inherited: list[_Pattern],
          follow_symlinks: bool, excluded: list[re.Pattern[str]],
          below_top: bool = False) -> Iterator[SourceFile | str]:
    watched = WATCHED.get()
    if watched is not None:
        watched.append((directory, False))
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield f"{directory}: cannot read directory: {exc.strerror or exc}"
        return
    # the listing answers what took a system call per directory (most of a large
    # tree's directories hold no .gitignore, and no virtualenv's pyvenv.cfg)
    special = {e.name: e for e in entries if e.name in (".gitignore", "pyvenv.cfg")}
    if below_top and "pyvenv.cfg" in special and _is_file(special["pyvenv.cfg"]):
        return  # a virtualenv below the directory asked for
    patterns = inherited + (_load_gitignore(directory) if ".gitignore" in special else [])
    # every path the walk builds is `root` joined with more names
    cut = len(root) if root.endswith(os.sep) else len(root) + 1
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
        except OSError:
            continue
        script = False
        if not is_dir and not name.endswith(".py"):
            if not is_script_name(name):
                continue  # most entries of a large tree (data, locale, templates)
            script = True
        path = entry.path
        rel_posix = path[cut:] if os.sep == "/" else path[cut:].replace(os.sep, "/")
        display = os.path.join(arg, rel_posix) if arg not in (".", "./") else rel_posix
        if any(rx.search(rel_posix) for rx in excluded):
            continue
        try:
            is_link = entry.is_symlink()
            is_file = entry.is_file(follow_symlinks=follow_symlinks)
        except OSError:
            continue
        if is_dir:
            if name in SKIP_DIRS or name.endswith(".egg-info"):
                continue
            if is_link and not follow_symlinks:
                continue
            if _ignored(path, True, patterns):
                continue
            yield from _walk(arg, root, path, patterns, follow_symlinks, excluded, True)
        else:
            if is_link and not follow_symlinks:
                continue
            if not is_file and not is_link:
                continue
            if _ignored(path, False, patterns):
                continue
            if script:
                if not is_file:
                    continue  # (never opened: a link to a FIFO would block the walk)
                # its first line decides; a shebang written in place changes the
                # file's time, not the directory's
                if watched is not None:
                    watched.append((path, False))
                if not is_python_script(path):
                    continue
            yield SourceFile(display=display, path=Path(path), relative=Path(rel_posix))
