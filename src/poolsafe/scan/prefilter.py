"""Which files need parsing at all (GitHub issue 7).

libcst parses at roughly 0.5 MB/s and needs about 1 GB of memory per MB of source,
so the engine parses only the files whose findings can be non-empty, and the files
their analysis reaches. Selection reads each file's bytes once and never parses:

1. Seeds, by a byte-level token scan (`seed_pattern`) of the code, not of its
   prose (comments and docstrings, `poolsafe.scan.prose`: Django names MySQL in the
   comments of some 25 modules that hold no connection of their own):
   - an import of a package named in `poolsafe.knowledge` (any `(package, name)`
     table there, minus `CONTEXT_ONLY_ROOTS`, which never create a connection by
     themselves: `from django.db import connection` is not a seed);
   - a name that only database code spells: the pool, engine and session
     constructors of `OBJECT_CONSTRUCTORS` and `DIRECT_ACQUIRERS` (`create_engine`,
     `sessionmaker`, `ThreadedConnectionPool`...), the pool methods (`getconn`,
     `putconn`, `raw_connection`), FastAPI's `Depends(`, Flask-SQLAlchemy's config
     keys and teardown hooks, job decorators, names from `[tool.poolsafe]`;
   - for the full selection only (the files resolution reads, not the ones
     checked): an import of a package of slow work (`httpx`, `subprocess`,
     `time`), or of `asyncio` or `os` with a slow call spelled out
     (`asyncio.sleep`, `from asyncio import sleep`, `os.system`), since nearly
     every async module imports asyncio for something else;
2. Taint, per file and by blocks: each top-level statement of a selected file (a
   `def`, assignment or import with its indented lines) defines names; a block is
   tainted when it imports from a database package, calls an acquirer or
   constructor of the knowledge base (`getconn(`, `sessionmaker(`...), calls a
   common-named acquire method (`.connect(`, `.begin(`) beside a tainted name that
   types its receiver, or uses a tainted name of its own file or one it imports.
   A class passes on what its methods do (a `Database` whose classmethod checks
   out of a pool), never its bases (`class User(Base)` is no database work), and
   `from psycopg import Json` taints nothing. A name
   imported from a selected module is tainted only if that module exports it
   tainted; an imported module (`import pkg.m`) counts only where the file spells
   one of its tainted names after it (`pkg.m.get_conn`). A file that imports a
   tainted name, or reaches one through a module it imports, is selected too,
   until nothing changes. Imports are read with regular expressions over the bytes
   already in memory; a bare module name (`json`) means a project file only for
   importers under that file's import root, as in the index.
3. The analysis of the selected files never parses an unselected module to learn
   whether something is a connection (it cannot be); it parses one on demand
   (`LazyIndex`) only for a constant or a base class that lives there.

A file that mentions no database package and imports no tainted name can hold no
connection, session, pool or engine, so it has no findings and contributes nothing
to the project-wide facts that rules use. A skipped file is not parsed, so its
syntax errors are not reported.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import importlib
import itertools
import pkgutil
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from poolsafe.core.project import ProjectConfig
from poolsafe.scan.prose import without_prose

#: Packages that appear in knowledge tables only as context (decorators, HTTP
#: clients, job runners, Django views): importing one does not make a file relevant.
CONTEXT_ONLY_ROOTS: frozenset[str] = frozenset(
    {"contextlib", "functools", "cachetools", "click", "typer", "threading", "concurrent",
     "httpx", "requests", "urllib", "urllib3", "aiohttp", "builtins", "os", "apscheduler",
     "flask_apscheduler", "celery", "django", "rest_framework", "typing", "asyncio"}
)

#: Words the analysis reacts to without any import (an unknown object's `getconn()`,
#: FastAPI's `Depends(...)`, Flask-SQLAlchemy's engine options key).
SYNTACTIC_TOKENS: frozenset[str] = frozenset(
    {"getconn", "Depends", "Security", "SQLALCHEMY_ENGINE_OPTIONS"}
)

#: Tokens that count only as a call (`Security(...)`, not `SecurityMiddleware`).
CALL_TOKENS: frozenset[str] = frozenset({"Depends", "Security"})

#: Names from the knowledge tables that are too common to select a file alone
#: (`connect`, `Session`, `Pool`; Django's template `Engine`, redis's
#: `ConnectionPool`): a file that uses the library's class also imports its package,
#: which selects it, or imports the name from a project module, which taint does.
GENERIC_NAMES: frozenset[str] = frozenset(
    {"connect", "Connect", "Session", "Pool", "SQLAlchemy", "Engine", "ConnectionPool",
     # encode/databases' `Database`, Tortoise's `atomic` / `in_transaction` (Django and
     # SQLAlchemy spell them too): their files are seeds by importing the package
     "Database", "atomic", "in_transaction"}
)

#: constructor and acquirer names too common to taint a block by their call alone
#: (a project's own `Database(...)`, Django's `transaction.atomic()`)
_IMPORTED_ONLY: frozenset[str] = frozenset({"Database", "atomic", "in_transaction"})

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
#: each byte that is no word character (`\w` of a bytes pattern) made a space
_SPACE_NON_WORD = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == ord("_")) else 32
                        for c in range(256))
_DEF = re.compile(rb"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)


@dataclass(frozen=True)
class _LineHeads:
    """The lines a statement pattern (anchored by `^` under re.M) can start on: those
    that begin with `head` after their indentation.

    Python's `re` has no fast scan for a pattern that starts with `^`: it tries one
    at every byte (a fifth of the prefilter's time on Django). A pattern starting
    with a newline is scanned for as fast as a literal, so the lines are found
    that way and the statement pattern is only tried where one starts."""

    first: re.Pattern[bytes]
    later: re.Pattern[bytes]

    @classmethod
    def of(cls, head: bytes) -> _LineHeads:
        # possessive indentation: nothing to retry when the keyword is not there
        return cls(re.compile(rb"[ \t]*+" + head), re.compile(rb"\n[ \t]*+" + head))

    def starts(self, data: bytes) -> list[int]:
        """The offset of each line of `data` that begins with the head, in order."""
        out = [0] if self.first.match(data) else []
        out += [m.start() + 1 for m in self.later.finditer(data)]
        return out


def _line_matches(pattern: re.Pattern[bytes], data: bytes, starts: list[int]
                  ) -> Iterator[re.Match[bytes]]:
    """`pattern.finditer(data)` for a pattern that can match only at a line start,
    given every line start in `starts` (ascending) where it can: the same matches,
    since `finditer` would try each of those and no other place, resuming after
    each match (which may span lines)."""
    end = 0
    for start in starts:
        if start >= end and (m := pattern.match(data, start)) is not None:
            yield m
            end = m.end()


#: the lines a `def`, `from` or `import` statement can start on
_DEF_LINES = _LineHeads.of(rb"(?:async|def)\b")
_IMPORT_LINES = _LineHeads.of(rb"(?:from|import)\b")


def _defined_names(data: bytes) -> list[str]:
    """The names `def` statements define anywhere in `data` (`_DEF`), sorted, once each."""
    return sorted({m.group(1).decode()
                   for m in _line_matches(_DEF, data, _DEF_LINES.starts(data))})


def _pairs_in(value: object, out: set[tuple[str, str]], depth: int = 0) -> None:
    """The `(package, name)` pairs of a knowledge table."""
    if depth > 4:
        return
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(x, str) for x in value):
        out.add((value[0], value[1]))
    elif isinstance(value, dict):
        for k in value:  # keys only: values are kinds, not packages
            _pairs_in(k, out, depth + 1)
    elif isinstance(value, (set, frozenset, tuple, list)):
        for x in value:
            _pairs_in(x, out, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _pairs_in(getattr(value, f.name), out, depth + 1)


@functools.cache
def _knowledge_pairs(mod: Any) -> frozenset[tuple[str, str]]:
    """The `(package, name)` pairs of a knowledge module's public tables (walked
    once: both selections and the slow context read them)."""
    pairs: set[tuple[str, str]] = set()
    for name, value in vars(mod).items():
        if name.isupper() and not name.startswith("_"):
            _pairs_in(value, pairs)
    return frozenset(pairs)


#: knowledge modules whose packages never make a connection: PS207's slow work
#: (`time`, `subprocess`, `smtplib`, LLM and storage SDKs). A file that uses them
#: and no database package has no findings of its own, but it must be resolvable
#: (a transaction elsewhere calls it), so `select(database_only=True)` leaves these
#: roots out to decide which files are *checked*, while the full selection decides
#: which ones resolution and project-wide facts read
NOT_DATABASE_KNOWLEDGE: frozenset[str] = frozenset({"slow_calls"})

#: roots in those modules that are no reason to read a file (every module may use
#: them for something else); their slow calls are still found in files selected
#: for another reason
SLOW_CONTEXT_ROOTS: frozenset[str] = frozenset({"builtins", "os", "typing", "asyncio",
                                                "django"})


def _knowledge_modules(database_only: bool = False) -> list[Any]:
    import poolsafe.knowledge as knowledge

    return [importlib.import_module(f"{knowledge.__name__}.{info.name}")
            for info in pkgutil.iter_modules(knowledge.__path__)
            if not database_only or info.name not in NOT_DATABASE_KNOWLEDGE]


def seed_roots(database_only: bool = False) -> frozenset[str]:
    """Package roots named anywhere in poolsafe.knowledge, minus context-only ones;
    the roots of `NOT_DATABASE_KNOWLEDGE` (slow work) minus `SLOW_CONTEXT_ROOTS`
    only, and none of them when `database_only`."""
    roots: set[str] = set()
    slow: set[str] = set()
    for mod in _knowledge_modules(database_only):
        into = slow if mod.__name__.rpartition(".")[2] in NOT_DATABASE_KNOWLEDGE else roots
        into.update(package.split(".")[0] for package, _ in _knowledge_pairs(mod))
    # the packages of slow work are roots even where they are context elsewhere: a
    # module whose only import is `httpx` (a service posting to an API) is what a
    # transaction in another module calls, and must be resolvable (PS207)
    return frozenset(r for r in roots if r.isidentifier() and r not in CONTEXT_ONLY_ROOTS) \
        | frozenset(r for r in slow if r.isidentifier() and r not in SLOW_CONTEXT_ROOTS)


@functools.cache
def slow_context_words() -> dict[str, frozenset[str]]:
    """For each root of `SLOW_CONTEXT_ROOTS` that slow work is reached from, the
    words its slow names start with (`asyncio` -> `sleep`, `os` -> `system`).

    Importing such a package is no reason to read a file, but importing it and
    spelling one of these words is: `await asyncio.sleep(5)` in a module whose
    only import is asyncio is what a transaction in another module may call
    (PS207). The full selection only; `database_only` never reads them."""
    pairs: set[tuple[str, str]] = set()
    for mod in _knowledge_modules():
        if mod.__name__.rpartition(".")[2] in NOT_DATABASE_KNOWLEDGE:
            pairs |= _knowledge_pairs(mod)
    out: dict[str, set[str]] = {}
    for package, name in pairs:
        root = package.split(".")[0]
        if root in SLOW_CONTEXT_ROOTS:
            out.setdefault(root, set()).add(name.split(".")[0])
    return {root: frozenset(words) for root, words in out.items()}


@functools.cache
def slow_context_imports() -> frozenset[tuple[str, str]]:
    """The (module, name) pairs of slow work under a root of `SLOW_CONTEXT_ROOTS`,
    as a file imports them (`from django.core.mail import EmailMultiAlternatives`):
    a name so imported is slow work wherever the file uses it, as the root's own
    word is (`from asyncio import sleep`)."""
    pairs: set[tuple[str, str]] = set()
    for mod in _knowledge_modules():
        if mod.__name__.rpartition(".")[2] in NOT_DATABASE_KNOWLEDGE:
            pairs |= {(package, name.split(".")[0]) for package, name in _knowledge_pairs(mod)
                      if package.split(".")[0] in SLOW_CONTEXT_ROOTS}
    return frozenset(pairs)


def seed_tokens() -> frozenset[str]:
    """Names that only database code spells, from the knowledge base."""
    from poolsafe.knowledge import (
        ACQUIRE_METHOD_NAMES,
        DIRECT_ACQUIRERS,
        OBJECT_CONSTRUCTORS,
        POOL_RELEASE_METHODS,
    )
    from poolsafe.knowledge import frameworks as fw
    from poolsafe.knowledge.libraries import PEEWEE_FLASK_DB_METHODS

    # a method of a module-level object (`connection.chunked_cursor`) by its own name
    names: set[str] = {n for _, n in OBJECT_CONSTRUCTORS} | {
        n.rsplit(".", 1)[-1] for _, n in DIRECT_ACQUIRERS}
    names |= {n for n in ACQUIRE_METHOD_NAMES | POOL_RELEASE_METHODS if "_" in n or n == "getconn"}
    names |= set(fw.FLASK_TEARDOWN_METHODS)
    names |= set(PEEWEE_FLASK_DB_METHODS.values())
    names |= {fw.FLASK_SQLALCHEMY_URI_KEY, fw.FLASK_SQLALCHEMY_OPTIONS_KEY,
              fw.FLASK_SQLALCHEMY_OPTIONS_KEYWORD}
    names |= {r.name for r in fw.JOB_REGISTRARS if r.decorator or "_" in r.name}
    names |= {tail.split(".")[-1] for _, tail in fw.NON_POOLING_CLASSES}
    names -= GENERIC_NAMES | {"release", "acquire", "get_connection", "task"}
    return frozenset(names | SYNTACTIC_TOKENS)


def acquire_calls() -> frozenset[str]:
    """Calls that hand out a connection, session, engine or pool (knowledge base)."""
    from poolsafe.knowledge import (
        ACQUIRE_METHOD_NAMES,
        DIRECT_ACQUIRERS,
        OBJECT_CONSTRUCTORS,
        OBJECT_TYPES,
        TRANSACTION_CM_METHODS,
    )

    names = {n for _, n in OBJECT_CONSTRUCTORS} | {n.rsplit(".", 1)[-1]
                                                   for _, n in DIRECT_ACQUIRERS}
    names |= set(ACQUIRE_METHOD_NAMES) | set(TRANSACTION_CM_METHODS)
    names |= {m for t in OBJECT_TYPES.values() for m in t.cm_methods}
    # a block that calls them uses the name its import tainted already
    return frozenset(names - _IMPORTED_ONLY)


def generic_methods() -> frozenset[str]:
    """Acquire and transaction methods with common names (`.connect()`, `.begin()`,
    `.acquire()`, `.copy()`): on an object the analysis cannot type they mean
    nothing, so calling one taints a block only when the block also spells a
    tainted name (the receiver, or the annotation that types it)."""
    from poolsafe.knowledge import ACQUIRE_METHOD_NAMES, OBJECT_TYPES, TRANSACTION_CM_METHODS

    methods = set(ACQUIRE_METHOD_NAMES) | set(TRANSACTION_CM_METHODS)
    methods |= {m for t in OBJECT_TYPES.values() for m in t.cm_methods}
    return frozenset(methods - seed_tokens())


def _alt(words: Iterable[str]) -> bytes:
    return b"|".join(re.escape(w.encode()) for w in sorted(words, key=lambda w: (-len(w), w)))


def seed_pattern(roots: Iterable[str], tokens: Iterable[str]) -> re.Pattern[bytes]:
    """An import of a root package, or a token as a word."""
    alt = _alt(roots)
    imports = (rb"^[ \t]*(?:from[ \t]+(?:" + alt + rb")\b|import[ \t]+(?:[\w.]+[ \t]*"
               rb"(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*(?:" + alt + rb")\b)")
    words = _alt(t for t in tokens if t not in CALL_TOKENS)
    calls = _alt(t for t in tokens if t in CALL_TOKENS)
    return re.compile(imports + (rb"|\b(?:" + words + rb")\b" if words else b"")
                      + (rb"|\b(?:" + calls + rb")[ \t]*\(" if calls else b""), re.M)


# ------------------------------------------------------------------ definitions
@dataclass
class Block:
    """What one top-level definition spells."""

    words: set[str] = field(default_factory=set)
    #: names spelled as calls (`name(`, `x.name(`) or in a class's bases
    called: set[str] = field(default_factory=set)
    #: names spelled as method calls (`x.name(`)
    methods: set[str] = field(default_factory=set)
    #: for an import: the top-level packages it imports from (`psycopg2`)
    import_roots: set[str] = field(default_factory=set)
    #: a `def` or `class` (used elsewhere only through a call or a subclass); else a
    #: value (an assignment or import: any mention passes it on)
    callable: bool = False
    #: a class: tainted only by what its body does with this file's own names (a
    #: database import, a module-level pool, a function of the file), never by a
    #: tainted name it imports from another project module
    klass: bool = False


@dataclass
class Definitions:
    """The top-level names a module defines, each with the block that defines it."""

    defs: dict[str, Block] = field(default_factory=dict)


_BLOCK_START = re.compile(rb"^(?=[^\s#])", re.M)
#: the same after the first line: a newline is found as fast as a literal, a `^`
#: is tried at every byte
_LATER_BLOCK_START = re.compile(rb"\n(?=[^\s#])")
_HEAD_DEF = re.compile(rb"(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)")
_HEAD_COMPOUND = re.compile(rb"(?:if|elif|else|try|except|finally|with|async|for|while|match)\b")
_HEAD_ASSIGN = re.compile(rb"([A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*)[ \t]*,?[ \t]*"
                          rb"(?::[^=\n]*)?(?:=(?!=)|[-+*/|&%^@]=|:)")
_NESTED_NAME = re.compile(
    rb"^[ \t]+(?:(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)|([A-Za-z_]\w*)[ \t]*"
    rb"(?::[^=\n]*)?=(?!=))", re.M)
_NAME_LIST = re.compile(rb"[A-Za-z_]\w*")
_CALLED = re.compile(rb"([A-Za-z_]\w*)[ \t]*\(")
_CLASS_BASES = re.compile(rb"^[ \t]*class[ \t]+\w+[ \t]*\(([^)]*)\)", re.M)
#: the same over latin-1 text (what `definitions` runs): ASCII classes as the bytes
#: patterns have; a name is tried from its first letter only and never backtracked
#: into (`\w*+`), which finds the same names as `_CALLED` without its quadratic
#: retries inside every long word that is not called
_WORD_S = re.compile(_WORD.pattern.decode(), re.ASCII)
_METHOD_CALLED_S = re.compile(r"\.[ \t]*+([A-Za-z_]\w*+)[ \t]*+\(", re.ASCII)
_CLASS_BASES_S = re.compile(_CLASS_BASES.pattern.decode(), re.ASCII | re.M)
_FROM = re.compile(rb"^[ \t]*from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]*"
                   rb"(\([^)]*\)|(?:[^\n\\]|\\\r?\n)*)", re.M)
_IMPORT = re.compile(rb"^[ \t]*import[ \t]+((?:[^\n\\;#]|\\\r?\n)*)", re.M)
_COMMENT = re.compile(rb"#[^\n]*")
_GLOBAL = re.compile(rb"^[ \t]+global[ \t]+([\w \t,]+)", re.M)


def _import_bindings(stmt: bytes) -> list[tuple[str, str, str]]:
    """(bound name, module, imported name) for the import statements in `stmt`;
    the imported name is "" for `import a.b`."""
    out: list[tuple[str, str, str]] = []
    lines = _IMPORT_LINES.starts(stmt)
    for m in _line_matches(_FROM, stmt, lines):
        module = m.group(1).decode() + m.group(2).decode("ascii", "replace")
        for part in _COMMENT.sub(b"", m.group(3)).strip(b"()").split(b","):
            words = part.split()
            if words:
                name = words[0].decode("ascii", "replace")
                bound = (words[-1].decode("ascii", "replace")
                         if len(words) >= 3 and words[-2] == b"as" else name)
                out.append((bound, module, name))
    for m in _line_matches(_IMPORT, stmt, lines):
        for part in _COMMENT.sub(b"", m.group(1)).replace(b"\\", b" ").split(b","):
            words = part.split()
            if words:
                module = words[0].decode("ascii", "replace")
                bound = (words[-1].decode("ascii", "replace")
                         if len(words) >= 3 and words[-2] == b"as" else module.split(".")[0])
                out.append((bound, module, ""))
    return out


_intern = sys.intern


def _words_and_calls(raw: bytes, text: str) -> tuple[set[str], set[str]]:
    """The words of `raw` (`_WORD`) and those spelled as calls (`_CALLED`), given
    `text`, the same decoded as latin-1. The words are interned: a selection holds
    every block's words at once, and the blocks of a project spell the same few
    thousand words (one string each, not one per block: a third of a selection's
    memory).

    No regex runs over every word: the words are the runs of word characters
    (`translate` and `split`), and a call's name is the run before the spaces and
    the parenthesis, read backwards from each parenthesis of the reversed text,
    which `re` finds as fast as a literal. A pattern of every word with an
    optional parenthesis after it found the same at half the speed."""
    words = _words_of(raw.translate(_SPACE_NON_WORD).decode("latin-1").split())
    if "(" not in text:
        return words, set()
    return words, _words_of(run[::-1] for run in _CALLED_BACKWARDS.findall(text[::-1]))


#: a call's parenthesis and the run of word characters before it, in reversed text
_CALLED_BACKWARDS = re.compile(r"\([ \t]*+([A-Za-z0-9_]++)", re.ASCII)
_DIGITS = "0123456789"
_is_identifier = str.isidentifier


def _words_of(runs: Iterable[str]) -> set[str]:
    """`_WORD`'s matches in these runs of word characters (each run without its
    leading digits, `0x1f` -> `x1f`, `100` -> nothing), interned."""
    unique = set(runs)
    words = set(map(_intern, filter(_is_identifier, unique)))  # in C: no leading digit
    if len(words) != len(unique):
        for run in unique.difference(words):
            word = run.lstrip(_DIGITS)
            if word:
                words.add(_intern(word))
    return words


def _block_starts(data: bytes) -> list[int]:
    """Where `_BLOCK_START` matches: the first line, if it starts a block, and each
    later one, found by its newline."""
    starts = [0] if _BLOCK_START.match(data) else []
    starts += [m.start() + 1 for m in _LATER_BLOCK_START.finditer(data)]
    return starts


def definitions(data: bytes) -> Definitions:
    """Each top-level block (a line at column 0 and the indented lines after it)
    defines the names at its start. Decorators join the block they decorate; a
    block that defines nothing (a line of a triple-quoted string at column 0, an
    expression) joins the block before it."""
    out = Definitions()
    starts = [*_block_starts(data), len(data)]
    current: list[str] = []
    pending = b""
    for a, b in itertools.pairwise(starts):
        block = pending + data[a:b]
        if data[a:a + 1] == b"@":
            pending = block
            continue
        pending = b""
        names: list[str]
        is_callable = False
        m = _HEAD_DEF.match(data, a)
        is_class = m is not None and data.startswith(b"class", a)
        if m is not None:
            names = [m.group(1).decode()]
            is_callable = True
            # `global _pool` in a function: it defines the module's `_pool` too
            # (`_pool = await asyncpg.create_pool(...)` inside `init()`)
            for g in _GLOBAL.findall(block) if b"global" in block else ():
                names += [n.decode() for n in _NAME_LIST.findall(g)]
        elif data.startswith((b"import", b"from"), a) and (imps := _import_bindings(block)):
            for bound, module, name in imps:
                # `from psycopg import Json`: a class of a database package is not
                # database code by itself; `import psycopg2`, `from psycopg2 import
                # pool` (a module) and `from sqlalchemy import Session` (a known
                # name, see acquire_calls) are. A project module's name is tainted
                # here when that module exports it tainted (`select`), not by its path
                blk = out.defs.get(bound)
                if blk is None:
                    blk = out.defs[bound] = Block()
                blk.words.add(name or module)
                blk.called.add(name or module)
                if not name[:1].isupper():
                    blk.import_roots.add(module.split(".")[0])
            current = []
            continue
        elif _HEAD_COMPOUND.match(data, a):
            names = [(g1 or g2).decode() for g1, g2 in _NESTED_NAME.findall(block)]
            names += [bound for bound, _, _ in _import_bindings(block)]
        elif (m := _HEAD_ASSIGN.match(data, a)) is not None:
            names = [n.decode() for n in _NAME_LIST.findall(m.group(1))]
        else:
            names = []
        if names:
            current = names
        if not current:
            continue
        # the words as str straight from the regexes: latin-1 maps each byte to one
        # character, and the patterns match ASCII only, as their bytes versions do
        text = block.decode("latin-1")
        if is_class:
            # a class passes on what its methods do (`Database.get_connection()`
            # checking out of a pool), not what it derives from: `class User(Base)`
            # is a model, and importing it is no database work by itself
            start = text.find(":", text.find(")") if "(" in text.split("\n", 1)[0] else 0) + 1
            body = text[start:]
            words, called = _words_and_calls(block[start:], body)
            methods = (set(map(_intern, _METHOD_CALLED_S.findall(body))) if "." in body
                       else set())
        else:
            words, called = _words_and_calls(block, text)
            methods = (set(map(_intern, _METHOD_CALLED_S.findall(text))) if "." in text
                       else set())
            if "class" in text:
                for bases in _CLASS_BASES_S.findall(text):
                    called.update(_WORD_S.findall(bases))
        for n in current:
            blk = out.defs.get(n)
            if blk is None:
                blk = out.defs[n] = Block()
            blk.words |= words
            blk.called |= called
            blk.methods |= methods
            blk.callable = blk.callable or is_callable
            blk.klass = blk.klass or is_class
    return out


def _absolute(module: str, package: str) -> str:
    """`..m` (as `_import_bindings` spells it) read from inside `package`."""
    level = len(module) - len(module.lstrip("."))
    if not level:
        return module
    parts = package.split(".") if package else []
    parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
    base = module[level:]
    return ".".join([*parts, base] if base else parts)


def bindings_of(data: bytes, package: str) -> list[tuple[str, str, str]]:
    """`_import_bindings` of the whole file, relative modules made absolute."""
    return [(bound, _absolute(module, package), name)
            for bound, module, name in _import_bindings(data)]


# -------------------------------------------------------------------- selection
class Selection:
    """What `select` or `reselect` found. `def_names` and `tainted` may be given as
    functions that compute them, called when first asked for: after an edit they
    are unions over every file, and a scan needs the first only for the selection
    it checks with, and the second never (`reselect` leaves both to be asked for)."""

    def __init__(self, targets: list[int],
                 def_names: frozenset[str] | Callable[[], frozenset[str]],
                 tainted: set[str] | Callable[[], set[str]],
                 seeds: list[int] | None = None) -> None:
        #: indexes of the files to parse and check
        self.targets = targets
        self._def_names = def_names
        self._tainted = tainted
        #: indexes of the seed files (phase 1)
        self.seeds: list[int] = seeds if seeds is not None else []

    @property
    def def_names(self) -> frozenset[str]:
        """Names defined by every file, from a cheap regex (for LazyIndex)."""
        if callable(self._def_names):
            self._def_names = self._def_names()
        return self._def_names

    @property
    def tainted(self) -> set[str]:
        """Tainted top-level names (for reports and tests)."""
        if callable(self._tainted):
            self._tainted = self._tainted()
        return self._tainted

    def __eq__(self, other: object) -> bool:
        """Equal fields, as the dataclass this was compared them (the lazy ones
        computed)."""
        if not isinstance(other, Selection):
            return NotImplemented
        return (self.targets, self.seeds, self.def_names, self.tainted) == (
            other.targets, other.seeds, other.def_names, other.tainted)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return (f"Selection(targets={self.targets!r}, seeds={self.seeds!r}, "
                f"def_names={self.def_names!r}, tainted={self.tainted!r})")


_DB_WORDS_CACHE: dict[str, Any] = {}


def _patterns(config: ProjectConfig, database_only: bool = False
              ) -> tuple[frozenset[str], frozenset[str]]:
    """The seed roots and tokens (those of the knowledge base and `config`)."""
    configured = set(config.acquire) | set(config.release) | set(config.session_dependencies)
    configured = {c.rsplit(".", 1)[-1] for c in configured if c}
    key = repr((sorted(configured), database_only))
    if key not in _DB_WORDS_CACHE:
        roots = seed_roots(database_only)
        tokens = seed_tokens() | configured
        _DB_WORDS_CACHE[key] = (roots, frozenset(tokens))
    return _DB_WORDS_CACHE[key]  # type: ignore[no-any-return]


_SEED_PATTERNS: dict[tuple[frozenset[str], frozenset[str]], re.Pattern[bytes]] = {}


def _seed_regex(roots: frozenset[str], tokens: frozenset[str]) -> re.Pattern[bytes]:
    """`seed_pattern(roots, tokens)`, compiled once, and only when asked for: the
    whole pattern only for a configured name that is no plain word (`_seed_test`
    decides for the others), its imports only for a file that spells a root.
    Compiled ahead, the patterns of both selections took some 10 ms of every run,
    most often for nothing."""
    key = (roots, tokens)
    if key not in _SEED_PATTERNS:
        _SEED_PATTERNS[key] = seed_pattern(roots, tokens)
    return _SEED_PATTERNS[key]


def is_seed(data: bytes, config: ProjectConfig | None = None,
            database_only: bool = False) -> bool:
    """Whether `data` holds a seed (see the module docstring) in its code."""
    if database_only:  # (the full selection's tests are not needed)
        runs = _word_runs(data)
        return _database_seed(data, config or ProjectConfig(), True, runs,
                              without_prose) or _thread_orm_seed(runs)
    return seed_kinds(data, config)[0]


@functools.cache
def _thread_orm_words() -> tuple[frozenset[bytes], frozenset[bytes]]:
    from poolsafe.knowledge.django import DJANGO_ORM_WORDS, DJANGO_THREAD_WORDS

    return (frozenset(w.encode() for w in DJANGO_ORM_WORDS),
            frozenset(w.encode() for w in DJANGO_THREAD_WORDS))


def _thread_orm_seed(runs: set[bytes]) -> bool:
    """A Django ORM word beside a thread word (`Order.objects` in a `Thread` target), a
    management command with a `while` loop, a `call_command(...)`, or `atomic` beside
    a query word (PS207):
    PS107's code imports django, which alone is no reason to read a file, or only the
    project's models."""
    orm, threads = _thread_orm_words()
    return (not runs.isdisjoint(orm) and not runs.isdisjoint(threads)) or (
        b"BaseCommand" in runs and b"while" in runs) or (
        # a caller of a management command by name (`call_command("sync")` in a view):
        # whether the command runs once per process depends on it (`is_cli_entry`)
        b"call_command" in runs) or (
        # a Django `atomic()` block with a query in it (PS207)
        b"atomic" in runs and not runs.isdisjoint(_ATOMIC_WORK_WORDS)) or (
        # the settings that put every view in a transaction, and a Django view with a
        # query and a package of slow work (PS207 under `ATOMIC_REQUESTS`)
        b"ATOMIC_REQUESTS" in runs) or (
        # Django's `DATABASES` settings (pools and connections: capacity, PS208)
        b"DATABASES" in runs and b"ENGINE" in runs) or (
        b"request" in runs and not runs.isdisjoint(_DJANGO_VIEW_ROOTS)
        and (not runs.isdisjoint(_ATOMIC_WORK_WORDS) or not runs.isdisjoint(_access_checks()))
        and not runs.isdisjoint(_slow_roots()))


def spells_django(datas: list[bytes]) -> bool:
    """Whether any file of the project spells `django` (so it may have PS107's jobs)."""
    return any(b"django" in d for d in datas)


def job_target_seeds(datas: list[bytes], modules: list[tuple[tuple[str, ...], str]],
                     django: bool) -> set[int]:
    """Files that spell a Django ORM word (or a model instance's query, `save`) and
    are imported by a file that spells a thread or job registration word
    (`scheduler.add_job(schedule_mailing, ...)` in `receivers.py`, the job's queries
    in `jobs.py`), and that registering file: the job's own file has no thread word
    and the registering one no query, so neither is a seed by itself (PS107; the
    index looks for registrations among the selected files only, and a
    `Thread(target=row.send)` spells no query). An imported file that spells no
    query is selected too, with the registering file, when it imports one that does:
    the job's queries are a helper's (PS107 follows a job's calls two deep)."""
    if not django:  # `spells_django(datas)`, read once by the caller
        return set()  # PS107's jobs are Django's: other projects' threads are not looked at
    orm, threads = _thread_orm_words()
    orm = orm | _instance_query_words()
    registering = [i for i, d in enumerate(datas)
                   if any(w in d for w in threads) and not _word_runs(d).isdisjoint(threads)]
    if not registering:
        return set()
    by_name: dict[str, list[int]] = {}
    for j, (names, _) in enumerate(modules):
        for n in names:
            by_name.setdefault(n, []).append(j)
    out: set[int] = set(_scheduler_start_files(datas))

    imports: dict[int, set[int]] = {}

    def imported(i: int) -> set[int]:
        if i not in imports:
            found: set[int] = set()
            for _, module, name in bindings_of(datas[i], modules[i][1]):
                for n in (module, f"{module}.{name}" if name and name != "*" else module):
                    found.update(j for j in by_name.get(n, ()) if j != i)
            imports[i] = found
        return imports[i]

    def queries(j: int) -> bool:
        return not _word_runs(datas[j]).isdisjoint(orm)

    for i in registering:
        passed = _passed_targets(datas[i]) if queries(i) else frozenset()
        if passed:
            # a thread start that passes its target a row the starting file queried
            # (`Thread(target=mail_invoice, args=(invoice,))`): the target's module may
            # read the row's relations (`invoice.customer.email`) and spell no query
            # word itself (PS107's relation reads); the same file when it defines it
            for j in (i, *imported(i)):
                if any(re.search(rb"\bdef[ \t]+" + re.escape(t) + rb"[ \t]*\(", datas[j])
                       for t in passed):
                    out.update((i, j))
        if queries(i) and any(not _word_runs(datas[j]).isdisjoint(_row_writer_words())
                              for j in (i, *imported(i))):
            # a thread target that saves a `ModelForm` or a DRF model serializer
            # (`serializer.save()` writes its model): the starting file spells `save`,
            # the writer's class its base's name, here or in a module it imports
            out.update(j for j in (i, *imported(i))
                       if j == i or not _word_runs(datas[j]).isdisjoint(_row_writer_words()))
        if b"call_command" in datas[i]:
            # a thread that runs a management command (`call_command("sync")`): the
            # command's module, a seed by its own words when it queries, is found by
            # its name, not by an import
            out.add(i)
        for j in imported(i):
            if queries(j):
                out.update((i, j))
                continue
            # the job's module may query only through a helper module it imports
            # (`job_send_alerts` in `scheduler.py` calls `alerts.build_message()`,
            # which reads the models): PS107 follows a job's calls two deep
            helpers = {k for k in imported(j) if k != i and queries(k)}
            if helpers:
                out.update((i, j, *helpers))
    return out


#: a thread start's target given arguments: `Thread(target=mail_invoice, args=(row,))`
#: (the target's name; `args=` within the same call's first few hundred bytes)
_TARGET_WITH_ARGS = re.compile(rb"\btarget[ \t]*=[ \t]*(\w+)[^()]{0,200}?\bargs[ \t]*=")


def _passed_targets(data: bytes) -> frozenset[bytes]:
    """The names of the thread targets a file starts with arguments."""
    if b"args" not in data:
        return frozenset()
    return frozenset(_TARGET_WITH_ARGS.findall(data))


def _scheduler_start_files(datas: list[bytes]) -> list[int]:
    """The files that may start an APScheduler scheduler (a `start(` call in a file
    that spells a scheduler word): PS107 reports a job only when the project starts
    one (`django_threads._scheduler_started`), and the file that starts it
    (`scheduler.start()` in `apps.py`) often has no database word of its own."""
    from poolsafe.analysis.django_threads import SCHEDULER_WORDS

    words = re.compile(rb"\b(?:" + _alt(SCHEDULER_WORDS) + rb")\b")
    return [i for i, d in enumerate(datas)
            if b"start" in d and _START_CALL.search(d) and words.search(d)]


#: a call of a method named `start` (`scheduler.start()`, `get_scheduler().start ()`),
#: with blanks, `)`, backslashes and comments between the name and the `(`. The run
#: between them is taken once, greedily, in a lookahead (an atomic group: `\1` then
#: matches what it took) and a comment stops at a `(`: the same files match as with
#: `(?:[\s)\\]|\#[^\r\n]*)*`, whose comment could end at any of its own `#`s, so a
#: `start` word followed by lines of `#` banners backtracked exponentially (fix53: a
#: Django project's block of `#` banners after "possible start" hung `check`)
_START_CALL = re.compile(rb"\bstart(?=((?:[\s)\\]|\#[^\r\n(]*)*))\1\(")


#: an import of the async pool libraries whose pools aiohttp applications keep in
#: their state (`app["db"] = await aiopg.create_pool(...)`)
_AIO_POOL_IMPORT = re.compile(rb"^[ \t]*(?:import|from)[ \t]+(?:aiopg|aiomysql)\b", re.M)
#: a checkout from a pool kept in an aiohttp application's state:
#: `await request.app["db"].acquire()`, `app['engine'].acquire()`
_APP_STATE_ACQUIRE = re.compile(
    rb"\bapp[ \t]*\[[ \t]*[\'\"](\w+)[\'\"][ \t]*\][ \t]*\.[ \t]*acquire[ \t]*\(")
#: the key names a pool (`db`, `pg_pool`, `engine`), as the index reads such a receiver
_POOL_KEY = re.compile(rb"(?:^|_)(?:db|pool|engine|database)$", re.I)


#: a checkout from a pool an object keeps under a database name, with no argument:
#: `await self.db_engine.acquire()`, `self.application.db.acquire()`
_ATTRIBUTE_ACQUIRE = re.compile(rb"\.[ \t]*(\w+)[ \t]*\.[ \t]*acquire[ \t]*\([ \t]*\)")


def _app_state_acquire(data: bytes) -> bool:
    return any(_POOL_KEY.search(m.group(1)) for m in _APP_STATE_ACQUIRE.finditer(data)) \
        or any(_POOL_KEY.search(m.group(1)) for m in _ATTRIBUTE_ACQUIRE.finditer(data))


def app_state_pool_seeds(datas: list[bytes]) -> set[int]:
    """In a project that imports aiopg or aiomysql, the files that check a connection
    out of a pool kept in an aiohttp application's state (`async with
    request.app["engine"].acquire() as conn:`), or kept by an object under a
    database name (`await self.db_engine.acquire()` in a Tornado handler given the
    engine as an `initialize` keyword): such a file need import no database
    package (its pool came through `app` or a constructor argument), so it is no
    seed by its words, yet the index reads that checkout as the project's aiopg or
    aiomysql connection (PS101, PS102, PS207)."""
    if not any(_AIO_POOL_IMPORT.search(d) for d in datas):
        return set()
    return {i for i, d in enumerate(datas) if b"acquire" in d and _app_state_acquire(d)}


@functools.cache
def _instance_query_words() -> frozenset[bytes]:
    """A Django model instance's queries (`self.save()` in a model's method), and the
    words that declare a related manager (`ManyToManyField`, `related_name`): a
    thread's `shelf.books.filter(...)` is a query only by the models module's word."""
    from poolsafe.knowledge.django import DJANGO_INSTANCE_QUERIES, DJANGO_RELATION_WORDS

    return frozenset(w.encode() for w in (*DJANGO_INSTANCE_QUERIES, *DJANGO_RELATION_WORDS))


@functools.cache
def _row_writer_words() -> frozenset[bytes]:
    """The classes whose `save()` writes a model row (`ModelForm`, DRF's
    `ModelSerializer`), by name."""
    from poolsafe.knowledge.django import DJANGO_ROW_WRITERS

    return frozenset(name.rsplit(".", 1)[-1].encode() for _, name in DJANGO_ROW_WRITERS)


#: how many project imports away from a view its slow work is looked for
_VIEW_IMPORT_HOPS = 3


def atomic_view_seeds(datas: list[bytes], modules: list[tuple[tuple[str, ...], str]],
                      django: bool) -> set[int]:
    """In a project whose settings spell `ATOMIC_REQUESTS`, the Django view files
    (`request` and a Django root spelled) that import a project module spelling a
    package of slow work, directly or through `_VIEW_IMPORT_HOPS - 1` more project
    modules (`views.py` calls `form.save()`, `forms.py` a method of the model's
    manager, which `models.py` imports from `managers.py`, which calls Stripe): the
    view's file spells no slow package itself, so it is no seed by itself (PS207
    under `ATOMIC_REQUESTS`)."""
    if not django or not any(b"ATOMIC_REQUESTS" in d for d in datas):
        return set()
    by_name: dict[str, list[int]] = {}
    for j, (names, _) in enumerate(modules):
        for n in names:
            by_name.setdefault(n, []).append(j)
    slow_roots = _slow_roots()
    memo: dict[int, set[int]] = {}

    def imported(i: int) -> set[int]:
        if i not in memo:
            memo[i] = {j for _, module, name in bindings_of(datas[i], modules[i][1])
                       for n in (module, f"{module}.{name}" if name and name != "*" else module)
                       for j in by_name.get(n, ()) if j != i}
        return memo[i]

    out: set[int] = set()
    for i, data in enumerate(datas):
        runs = _word_runs(data)
        if b"request" not in runs or runs.isdisjoint(_DJANGO_VIEW_ROOTS):
            continue
        reached = frontier = imported(i)
        for _ in range(_VIEW_IMPORT_HOPS - 1):
            frontier = set().union(*(imported(j) for j in frontier)) - reached - {i}
            reached = reached | frontier
        if any(not _word_runs(datas[j]).isdisjoint(slow_roots) for j in reached):
            out.add(i)
    return out


#: the words of a query inside a Django `atomic()` block
_ATOMIC_WORK_WORDS = frozenset({b"objects", b"save", b"delete", b"execute", b"cursor",
                                # a view class's lookup and Django's shortcuts query too
                                b"get_object", b"get_object_or_404", b"get_list_or_404"})
@functools.cache
def _access_checks() -> frozenset[bytes]:
    """The names of Django's and DRF's access checks (`login_required`,
    `LoginRequiredMixin`, `permission_classes`...): a view behind one reads the user,
    a query, inside the request's transaction before its body runs (PS207 under
    `ATOMIC_REQUESTS`), so it needs no query word of its own."""
    from poolsafe.knowledge.django import (
        DJANGO_LOGIN_DECORATORS,
        DJANGO_LOGIN_MIXINS,
        DRF_PERMISSION_ATTRIBUTE,
    )

    return frozenset({name.encode() for _, name in DJANGO_LOGIN_DECORATORS | DJANGO_LOGIN_MIXINS}
                     | {DRF_PERMISSION_ATTRIBUTE.encode()})


#: a file that spells one of these can be a Django view
_DJANGO_VIEW_ROOTS = frozenset({b"django", b"rest_framework"})


@functools.cache
def _slow_roots() -> frozenset[bytes]:
    """The package roots of slow work (`knowledge.slow_calls`: httpx, requests, boto3...),
    and `mail` for Django's mail API (`django.core.mail`), whose root is a database one."""
    return frozenset(r.encode() for r in seed_roots() - seed_roots(True)) | _DJANGO_SLOW_WORDS


#: Django's own module of slow work, by its last name (its root, `django`, is a
#: database root, so it is not among the slow roots)
_DJANGO_SLOW_WORDS = frozenset({b"mail"})


def seed_kinds(data: bytes, config: ProjectConfig | None = None) -> tuple[bool, bool]:
    """Whether `data` is a seed of the full selection, and of the database one (a
    database seed is a seed of both: its roots are a subset, its tokens the same),
    reading its words once, and its prose at most once."""
    config = config or ProjectConfig()
    runs = _word_runs(data)
    code: list[bytes] = []

    def code_of(data: bytes) -> bytes:
        if not code:
            code.append(without_prose(data))
        return code[0]

    if _database_seed(data, config, True, runs, code_of) or _thread_orm_seed(runs):
        return True, True
    if _database_seed(data, config, False, runs, code_of):
        return True, False
    # an import of asyncio or os with one of its slow calls spelled out
    ctx = _slow_context()
    if ctx.words is None:
        if not _spells(ctx.literals, data):
            return False, False
    elif runs.isdisjoint(ctx.words):
        return False, False
    return (_found_on_a_line(ctx.imports, data)
            and (ctx.spelled.search(data) is not None
                 or (_found_on_a_line(ctx.loose, data)
                     and ctx.word.search(data) is not None))), False


def _database_seed(data: bytes, config: ProjectConfig, database_only: bool,
                   runs: set[bytes], code_of: Callable[[bytes], bytes]) -> bool:
    """A root package imported or a token spelled in the code of `data` (`runs`:
    its `_word_runs`). A seed word in prose (a comment, a docstring) is no database
    code: the test is made again without the prose, only for a file whose bytes
    pass it."""
    roots, tokens = _patterns(config, database_only)
    test = _seed_test(roots, tokens)
    if test is None:  # a configured name that is no plain word
        seed = _seed_regex(roots, tokens)
        return (_spells(_literals(roots | tokens), data) and seed.search(data) is not None
                and seed.search(code_of(data)) is not None)
    if not test.found(data, runs):
        return False
    code = code_of(data)
    return code is data or test.found(code, _word_runs(code))


def _spells(literals: tuple[bytes, ...], data: bytes) -> bool:
    """Whether `data` holds one of `literals` anywhere (a substring test, at C speed)."""
    return any(w in data for w in literals)


def _literals(words: frozenset[str]) -> tuple[bytes, ...]:
    """The words as bytes for `_spells`, made once per set of words."""
    literals = _LITERALS.get(words)
    if literals is None:
        literals = _LITERALS[words] = tuple(w.encode() for w in words)
    return literals


_LITERALS: dict[frozenset[str], tuple[bytes, ...]] = {}

_PLAIN_WORD = re.compile(rb"\w+")


def _word_runs(data: bytes) -> set[bytes]:
    """Each maximal run of word characters in `data`: a word `w` made of word
    characters is a whole word somewhere in `data` (between two word boundaries
    of `re`) exactly when `w` is one. One `translate` and `split`, faster than a
    substring test per seed word."""
    return set(data.translate(_SPACE_NON_WORD).split())


def _plain_words(words: Iterable[str]) -> frozenset[bytes] | None:
    """The words as bytes, or None if one of them is not all word characters."""
    out = frozenset(w.encode() for w in words)
    return out if all(_PLAIN_WORD.fullmatch(w) for w in out) else None


def _found_on_a_line(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """`pattern.search(data)` for an import pattern anchored at a line start."""
    return next(_line_matches(pattern, data, _IMPORT_LINES.starts(data)), None) is not None


@dataclass(frozen=True)
class _SeedTest:
    """`seed_pattern` tried branch by branch, each only on a file that spells one of
    its words as a whole word (`_word_runs`), which every match of the branch does:
    a token (`create_engine` between word boundaries), a call token before its
    parenthesis, a root package after `from` or `import` and before a word
    boundary. Most files spell none, and the regex of each branch decides for the
    others, so the answer is the pattern's."""

    tokens: frozenset[bytes]
    calls: frozenset[bytes]
    call: re.Pattern[bytes]
    roots: frozenset[bytes]
    #: the roots as named, for `imports`
    root_names: frozenset[str]

    @property
    def imports(self) -> re.Pattern[bytes]:
        """An import of a root, compiled on first use: most files spell no root."""
        return _seed_regex(self.root_names, frozenset())

    def found(self, data: bytes, runs: set[bytes]) -> bool:
        return (not runs.isdisjoint(self.tokens)
                or (not runs.isdisjoint(self.calls) and self.call.search(data) is not None)
                or (not runs.isdisjoint(self.roots) and _found_on_a_line(self.imports, data)))


_SEED_TESTS: dict[tuple[frozenset[str], frozenset[str]], _SeedTest | None] = {}


def _seed_test(roots: frozenset[str], tokens: frozenset[str]) -> _SeedTest | None:
    """The `_SeedTest` of `seed_pattern(roots, tokens)`; None when a word is not all
    word characters, or no root is given (an empty alternative matches anywhere)."""
    key = (roots, tokens)
    if key not in _SEED_TESTS:
        words = _plain_words(t for t in tokens if t not in CALL_TOKENS)
        calls = _plain_words(t for t in tokens if t in CALL_TOKENS)
        packages = _plain_words(roots)
        _SEED_TESTS[key] = None if words is None or calls is None or not packages else _SeedTest(
            words, calls, re.compile(rb"\b(?:" + _alt(t.decode() for t in calls) + rb")[ \t]*\("),
            packages, roots)
    return _SEED_TESTS[key]


@dataclass(frozen=True)
class _SlowContext:
    """How a file spells a slow call of a root of `SLOW_CONTEXT_ROOTS`."""

    #: the words of `slow_context_words` (`sleep`, `system`), for a substring test
    literals: tuple[bytes, ...]
    #: the same for a test of a file's `_word_runs` (None if one is not a plain word)
    words: frozenset[bytes] | None
    #: the roots, and the roots and the words as alternatives of a pattern (the
    #: patterns below are compiled on first use: most files spell no such word)
    roots: frozenset[str]
    root_alt: bytes
    word_alt: bytes

    @functools.cached_property
    def imports(self) -> re.Pattern[bytes]:
        """An import of one of those roots."""
        return seed_pattern(self.roots, ())

    @functools.cached_property
    def spelled(self) -> re.Pattern[bytes]:
        """`asyncio.sleep`, or `from asyncio import (gather, sleep)`."""
        roots, words = self.root_alt, self.word_alt
        return re.compile(
            rb"\b(?:" + roots + rb")[ \t]*\.[ \t]*(?:" + words + rb")\b"
            rb"|^[ \t]*from[ \t]+(?:" + roots + rb")(?:\.[\w.]+)?[ \t]+import[ \t]*"
            rb"(?:\([^)]*?|(?:[^\n\\]|\\\r?\n)*?)\b(?:" + words + rb")\b", re.M)

    @functools.cached_property
    def loose(self) -> re.Pattern[bytes]:
        """`import asyncio as aio`, `from os import *`: then a word anywhere counts."""
        roots = self.root_alt
        return re.compile(
            rb"^[ \t]*(?:import[ \t]+(?:[\w.]+[ \t]*(?:as[ \t]+\w+)?[ \t]*,[ \t]*)*"
            rb"(?:" + roots + rb")[ \t]+as\b|from[ \t]+(?:" + roots + rb")[ \t]+import[ \t]*\*)",
            re.M)

    @functools.cached_property
    def word(self) -> re.Pattern[bytes]:
        return re.compile(rb"\b(?:" + self.word_alt + rb")\b")


@functools.cache
def _slow_context() -> _SlowContext:
    context = slow_context_words()
    return _SlowContext(
        literals=tuple(sorted(w.encode() for ws in context.values() for w in ws)),
        words=_plain_words(w for ws in context.values() for w in ws),
        roots=frozenset(context), root_alt=_alt(context),
        word_alt=_alt(frozenset().union(*context.values())))


@dataclass(frozen=True)
class _SlowNames:
    """What makes a block of one file slow work of `SLOW_CONTEXT_ROOTS`: a word of
    `slow_context_words` beside a name the file binds to such a root
    (`asyncio.sleep`, `aio.sleep`) or in an import from one, or a name the file
    imports as one of those words (`from asyncio import sleep as nap`: `nap`, read
    from the file's bindings, which a parenthesised import split over lines
    does not hide as it hides its block from `definitions`)."""

    roots: frozenset[str]
    bound: frozenset[str]
    words: frozenset[str]
    aliases: frozenset[str]

    def taints(self, blk: Block) -> bool:
        return (not blk.words.isdisjoint(self.aliases)
                or (not blk.words.isdisjoint(self.words)
                    and (not blk.words.isdisjoint(self.bound)
                         or not blk.import_roots.isdisjoint(self.roots))))


def _slow_names(bindings: list[tuple[str, str, str]], database_only: bool
                ) -> _SlowNames | None:
    """`_SlowNames` of a file with these imports: None when `database_only` (slow
    work is never a reason to check a file) or without an import of such a root."""
    if database_only:
        return None
    context = slow_context_words()
    roots: set[str] = set()
    bound: set[str] = set()
    aliases: set[str] = set()
    for name, module, imported in bindings:
        root = module.split(".")[0]
        if root in context:
            roots.add(root)
            if not imported:
                bound.add(name)
            elif (module == root and imported in context[root]) \
                    or (module, imported) in slow_context_imports():
                aliases.add(name)
    if not roots:
        return None
    return _SlowNames(frozenset(roots), frozenset(bound),
                      frozenset().union(*(context[r] for r in roots)), frozenset(aliases))


_NOTHING: frozenset[str] = frozenset()


class _Exports:
    """Each selected module's tainted top-level names, by module name.

    A file is known by every suffix of its dotted path (`django.core.serializers.json`,
    ..., `json`), because the scan does not know the import root. A dotted name is
    specific enough to trust from anywhere; a bare name (`json`) means the file only
    to importers under the directory it would be imported from, as `importable_from`
    decides for the index: Django's `import json` is not its serializer."""

    def __init__(self) -> None:
        self.by_module: dict[str, set[str]] = {}
        #: bare name -> import root package -> names
        self.by_bare: dict[str, dict[str, set[str]]] = {}
        self._below: dict[str, set[str]] | None = None
        #: how many times the names grew, and when each module name or package
        #: (every dotted prefix of a name that grew) last did (`changed_since`)
        self.version = 0
        self._changed_at: dict[str, int] = {}

    def changed_since(self, keys: Iterable[str], version: int) -> bool:
        """Whether the names of a module in `keys`, or inside one (`below`), grew
        after `version`: else what an importer of those gets is as it was then."""
        # `get(k, 0)` for every key in C: this runs for every file after every change
        return max(map(self._changed_at.get, keys, itertools.repeat(0)), default=0) > version

    def add(self, names: tuple[str, ...], tainted: set[str]) -> bool:
        """Record a module's tainted names; whether anything was new."""
        full = names[0] if names else ""
        grew = False
        for n in names:
            if "." in n or n == full:
                target = self.by_module.setdefault(n, set())
            else:
                root = full[: -len(n) - 1]
                target = self.by_bare.setdefault(n, {}).setdefault(root, set())
            if not tainted <= target:
                target |= tainted
                grew = True
                self.version += 1
                parts = n.split(".")
                for k in range(1, len(parts) + 1):
                    self._changed_at[".".join(parts[:k])] = self.version
                if self._below is not None and target is self.by_module.get(n):
                    # kept up to date in place: rebuilding it after every growth
                    # cost a pass over every module per file on Django
                    parts = n.split(".")
                    for k in range(1, len(parts) + 1):
                        self._below.setdefault(".".join(parts[:k]), set()).update(tainted)
        return grew

    def names(self, module: str, importer: str) -> set[str]:
        """The tainted names of `module` as the file in package `importer` imports it."""
        out = set(self.by_module.get(module, ()))
        for names in self._bare(module, importer):
            out |= names
        return out

    def has(self, module: str, importer: str, name: str) -> bool:
        """`name in self.names(module, importer)`, without copying the names."""
        names = self.by_module.get(module)
        if names is not None and name in names:
            return True
        return module in self.by_bare and any(
            name in names for names in self._bare(module, importer))

    def _bare(self, module: str, importer: str) -> list[set[str]]:
        """The names of the files known by the bare name `module` that `importer` can
        import by it (see the class docstring)."""
        roots = self.by_bare.get(module)
        return _importable(roots, importer) if roots else []

    def below(self, module: str, importer: str) -> frozenset[str]:
        """The tainted names of `module` and of every module inside it."""
        if self._below is None:
            self._below = {}
            for mod, names in self.by_module.items():
                parts = mod.split(".")
                for k in range(1, len(parts) + 1):
                    self._below.setdefault(".".join(parts[:k]), set()).update(names)
        # `_below[module]` holds `by_module[module]`: the bare names are all it lacks
        inside = self._below.get(module)
        bare = self._bare(module, importer) if module in self.by_bare else None
        if not bare:
            return frozenset(inside) if inside else _NOTHING
        return frozenset(inside or ()).union(*bare)

    def all_names(self) -> set[str]:
        out: set[str] = set().union(*self.by_module.values())
        for roots in self.by_bare.values():
            for names in roots.values():
                out |= names  # in place: a union per module copied the whole set
        return out


_Names = TypeVar("_Names")


def _importable(roots: dict[str, _Names], importer: str) -> list[_Names]:
    """Of the files known by one bare name, by import root package (`_Exports.by_bare`),
    the names of those a file in package `importer` can import by it: the ones
    whose import root holds the importer (see `_Exports`)."""
    return [names for root, names in roots.items()
            if not root or importer == root or importer.startswith(root + ".")]


class _StoredExports:
    """The exports a selection left in its `state` (sorted lists, as stored), read
    as `_Exports` reads its own but without a set per module or the `below` index
    built up front: `reselect` asks about the few modules the changed files import,
    and converting every module's names cost as much as the rest of an edit's
    reselection (1,500 dense modules: some 60 ms of 65 ms)."""

    def __init__(self, stored: dict[str, Any]) -> None:
        self.by_module: dict[str, list[str]] = stored["by_module"]
        self.by_bare: dict[str, dict[str, list[str]]] = stored["by_bare"]
        if not isinstance(self.by_module, dict) or not isinstance(self.by_bare, dict):
            raise TypeError("malformed exports")
        self._sorted: list[str] | None = None

    def names(self, module: str, importer: str) -> set[str]:
        out = set(self.by_module.get(module, ()))
        for names in _importable(self.by_bare.get(module, {}), importer):
            out.update(names)
        return out

    def has(self, module: str, importer: str, name: str) -> bool:
        """`name in self.names(module, importer)`."""
        return name in self.by_module.get(module, ()) or any(
            name in names for names in _importable(self.by_bare.get(module, {}), importer))

    def below(self, module: str, importer: str) -> frozenset[str]:
        """As `_Exports.below`: the names of `module` and of every module whose
        dotted name it begins (found by bisection in the sorted module names)."""
        if self._sorted is None:
            self._sorted = sorted(self.by_module)
        keys = self._sorted
        out = set(self.by_module.get(module, ()))
        # the names `module.` begins sort between it and `module/` ("/" follows ".")
        for k in keys[bisect.bisect_left(keys, module + "."):
                      bisect.bisect_left(keys, module + "/")]:
            out.update(self.by_module[k])
        return frozenset(out | self.names(module, importer))

    def all_names(self) -> set[str]:
        out: set[str] = set().union(*self.by_module.values())
        for roots in self.by_bare.values():
            for names in roots.values():
                out.update(names)
        return out


def select(datas: list[bytes], config: ProjectConfig | None = None, *,
           modules: list[tuple[tuple[str, ...], str]],
           state: dict[str, Any] | None = None, database_only: bool = False,
           memo: dict[str, Any] | None = None) -> Selection:
    """The files to parse, given each file's bytes (see the module docstring).

    `modules` gives each file's module names and package (from its path). Taint is
    per file: a name is tainted in a file when the file defines it from tainted
    names, or imports it from a selected module that exports it tainted; a file is
    selected when it imports a tainted name, not merely because it spells the same
    word (Django's `format` or `name` says nothing about an unrelated `format`).

    `state`, when given, receives what `reselect` needs to redo this selection
    after an edit without reading every file again (JSON-compatible).
    `database_only` leaves out the roots of `NOT_DATABASE_KNOWLEDGE`: the files that
    can have findings, a subset of the full selection. `memo` (an empty dict the
    first time) shares each file's definitions and imports between selections of
    the same files."""
    config = config or ProjectConfig()
    roots, tokens = _patterns(config, database_only)
    generic = generic_methods()
    calls = frozenset((acquire_calls() | set(tokens)) - generic)
    memo = memo if memo is not None else {}
    # the seeds of both selections, found in one pass over the files by the first
    if "seeds" not in memo:
        kinds = [seed_kinds(d, config) for d in datas]
        memo["django"] = spells_django(datas)
        app = app_state_pool_seeds(datas)
        jobs = job_target_seeds(datas, modules, memo["django"]) | atomic_view_seeds(
            datas, modules, memo["django"])
        memo["job_seeds"] = sorted(jobs)
        # (`reselect` decides an app-state seed again from its own file and whether
        # the project still imports aiopg or aiomysql)
        memo["app_seeds"] = sorted(app)
        memo["aio_files"] = [i for i, d in enumerate(datas) if _AIO_POOL_IMPORT.search(d)]
        jobs |= app
        memo["atomic_requests"] = any(b"ATOMIC_REQUESTS" in d for d in datas)
        memo["seeds"] = ([i for i, (full, _) in enumerate(kinds) if full or i in jobs],
                         [i for i, (_, database) in enumerate(kinds) if database or i in jobs])
    seeds: list[int] = memo["seeds"][1 if database_only else 0]
    selected: set[int] = set(seeds)
    defs_memo: dict[int, Definitions] = memo.setdefault("definitions", {})
    binding_memo: dict[int, list[tuple[str, str, str]]] = memo.setdefault("bindings", {})
    exports = _Exports()
    module_names = {n for names, _ in modules for n in names if "." in n}
    #: the imports each file's taint was last computed from
    computed_from: dict[int, _Imported] = {}
    #: each selected file's exported taint, as last computed
    locals_: dict[int, set[str]] = {}
    #: how each file's names were derived, for `state` (see `_exports_up_to`)
    steps_: dict[int, list[list[Any]]] = {}
    #: the export version each file's imported taint was last computed at (a file
    #: none of whose imported modules grew since needs no new computation), for
    #: the selected files and for the frontier's look at the others
    taint_at: dict[int, int] = {}
    frontier_at: dict[int, int] = {}
    keys_memo: dict[int, frozenset[str]] = memo.setdefault("import_keys", {})

    def unchanged(i: int, at: dict[int, int]) -> bool:
        if i not in keys_memo:
            keys_memo[i] = _import_keys(binding_memo[i])
        if i in at and not exports.changed_since(keys_memo[i], at[i]):
            return True
        at[i] = exports.version
        return False

    while True:
        grew = False
        for i in sorted(selected):
            if i not in binding_memo:
                binding_memo[i] = bindings_of(datas[i], modules[i][1])
            if unchanged(i, taint_at):
                continue
            imported = _imported_taint(binding_memo[i], exports, modules[i][1])
            if computed_from.get(i) == imported:
                continue
            computed_from[i] = imported
            if i not in defs_memo:
                defs_memo[i] = definitions(datas[i])
            local = _file_taint(defs_memo[i], roots, imported, calls, generic,
                                _slow_names(binding_memo[i], database_only))
            # `import pkg.mod` and `from pkg import mod` bind a module here: the
            # module's own names are what importers reach, not this re-binding
            local -= {bound for bound, module, name in binding_memo[i]
                      if not name or f"{module}.{name}" in module_names}
            before = exports.version
            new = local - locals_.get(i, set())
            locals_[i] = local
            grew = exports.add(modules[i][0], local) or grew
            if new:
                steps_.setdefault(i, []).append(
                    [before, max(exports.version, before + 1), sorted(new)])
        if grew:
            continue
        patterns: dict[tuple[str, frozenset[str]], re.Pattern[bytes]] = {}
        frontier = []
        for i, d in enumerate(datas):
            if i in selected:
                continue
            if i not in binding_memo:
                binding_memo[i] = bindings_of(d, modules[i][1])
            if unchanged(i, frontier_at):
                continue  # it imported nothing tainted, and its imports did not grow
            if _imports_tainted(d, _imported_taint(binding_memo[i], exports, modules[i][1]),
                                patterns):
                frontier.append(i)
        if not frontier:
            break
        selected.update(frontier)
    if "defined" not in memo:
        memo["defined"] = [_defined_names(d) for d in datas]
        memo["def_names"] = frozenset(n for names in memo["defined"] for n in names)
    defined: list[list[str]] = memo["defined"]
    def_names: frozenset[str] = memo["def_names"]
    if state is not None:
        state.clear()
        state.update({
            "targets": sorted(selected), "seeds": seeds,
            "job_seeds": memo.get("job_seeds", []),
            "app_seeds": memo.get("app_seeds", []),
            "aio_files": memo.get("aio_files", []),
            "django": memo.get("django", True),
            "atomic_requests": memo.get("atomic_requests", True),
            "local": {str(i): steps_.get(i, []) for i in locals_},
            "exports": {"by_module": {k: sorted(v) for k, v in exports.by_module.items()},
                        "by_bare": {k: {r: sorted(v) for r, v in roots_.items()}
                                    for k, roots_ in exports.by_bare.items()}},
            "defined": defined,
        })
    return Selection(sorted(selected), def_names, set(roots | calls) | exports.all_names(),
                     seeds)


def reselect(datas: list[bytes], config: ProjectConfig | None, *,
             modules: list[tuple[tuple[str, ...], str]], state: dict[str, Any],
             changed: Iterable[int], database_only: bool = False,
             memo: dict[str, Any] | None = None) -> Selection | None:
    """`select` after an edit, from the `state` a selection of the same files (same
    paths, same order) left, when the files in `changed` (indexes) provably leave
    it as it was: each keeps its selection status and, if selected, exports the same
    tainted names, each of them derived again from the names that derived it before
    (see `_exports_up_to`: through an import cycle, a file's old names could have
    supported themselves). Reads only the changed files; None when
    that cannot be shown (then `select` runs), and `state` is updated in place: its
    entries are replaced, the objects in them never changed, so a shallow copy of
    a state is a state of its own (the cache stores two equal states once).
    `memo` shares the files' imports between reselections of the same files.

    What is a union over every file (the defined names, the tainted names) is left
    to the `Selection` to compute when asked for."""
    config = config or ProjectConfig()
    try:
        targets: list[int] = list(state["targets"])
        steps_of: dict[str, list[list[Any]]] = state["local"]
        defined: list[list[str]] = list(state["defined"])  # changed in a copy
        exports = _StoredExports(state["exports"])
        seeds = set(state["seeds"])
        if len(defined) != len(datas) or not isinstance(steps_of, dict):
            return None
        job_seeds = frozenset(state["job_seeds"])
        app_seeds = frozenset(state["app_seeds"])
        aio_files = set(state["aio_files"])
        django = bool(state["django"])
        atomic = bool(state["atomic_requests"])
        again = _reselect_changed(datas, config, modules, targets, steps_of, defined,
                                  exports, seeds, list(changed), database_only,
                                  memo if memo is not None else {}, job_seeds, django,
                                  atomic, app_seeds, aio_files)
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    if not again:
        return None
    state["seeds"] = sorted(seeds)
    state["defined"] = defined
    state["aio_files"] = sorted(aio_files)
    roots, tokens = _patterns(config, database_only)
    calls = frozenset((acquire_calls() | set(tokens)) - generic_methods())
    return Selection(targets, lambda: frozenset(n for names in defined for n in names),
                     lambda: set(roots | calls) | exports.all_names(), sorted(seeds))


def _reselect_changed(datas: list[bytes], config: ProjectConfig,
                      modules: list[tuple[tuple[str, ...], str]], targets: list[int],
                      steps_of: dict[str, list[list[Any]]], defined: list[list[str]],
                      exports: _StoredExports, seeds: set[int], changed: list[int],
                      database_only: bool, memo: dict[str, Any],
                      job_seeds: frozenset[int] = frozenset(), django: bool = True,
                      atomic: bool = True, app_seeds: frozenset[int] = frozenset(),
                      aio_files: set[int] | None = None) -> bool:
    """`reselect`'s test of each changed file, updating `defined`, `seeds` and
    `aio_files` (the files importing aiopg or aiomysql) for those that pass; False as
    soon as one does not."""
    aio_files = set() if aio_files is None else aio_files
    roots, tokens = _patterns(config, database_only)
    generic = generic_methods()
    calls = frozenset((acquire_calls() | set(tokens)) - generic)
    selected = set(targets)
    module_names: set[str] | None = None
    binding_memo: dict[int, list[tuple[str, str, str]]] = memo.setdefault("bindings", {})

    def bindings_at(i: int) -> list[tuple[str, str, str]]:
        if i not in binding_memo:
            binding_memo[i] = bindings_of(datas[i], modules[i][1])
        return binding_memo[i]

    threads = _thread_orm_words()[1]
    for i in changed:
        data = datas[i]
        if i in job_seeds or (django and (not _word_runs(data).isdisjoint(threads)
                                          or _scheduler_start_files([data]))) or (
                not django and b"django" in data):
            # a job registration (or the function it registers, or a scheduler's
            # start) decides the selection of another file (`job_target_seeds`, in a
            # project that spells django, as it may now): `select` runs again
            return False
        if django and (b"ATOMIC_REQUESTS" in data or (atomic and (
                b"request" in data or not _word_runs(data).isdisjoint(_slow_roots())))):
            # a view, or a module of slow work a view may import, under
            # `ATOMIC_REQUESTS` (`atomic_view_seeds`), or those settings themselves
            return False
        imports_aio = bool(_AIO_POOL_IMPORT.search(data))
        project_aio = bool(aio_files - {i}) or imports_aio
        if project_aio != bool(aio_files):
            # whether the project imports aiopg or aiomysql decides which files are
            # seeds for their checkouts from an application's state or an object's
            # pool (`app_state_pool_seeds`): every file's status may change
            return False
        app_seed = project_aio and b"acquire" in data and _app_state_acquire(data)
        if app_seed != (i in app_seeds):
            return False
        package = modules[i][1]
        bindings = bindings_at(i)
        imported = _imported_taint(bindings, exports, package)
        seed = is_seed(data, config, database_only) or app_seed
        now_selected = seed or _imports_tainted(data, imported, {})
        if now_selected != (i in selected):
            return False
        if i in selected:
            defs = definitions(data)
            slow = _slow_names(bindings, database_only)
            local = _file_taint(defs, roots, imported, calls, generic, slow)
            if module_names is None:
                module_names = {n for names, _ in modules for n in names if "." in n}
            bound_modules = {bound for bound, module, name in bindings
                             if not name or f"{module}.{name}" in module_names}
            steps = steps_of.get(str(i))
            if not isinstance(steps, list) or local - bound_modules != {
                    n for _, _, names in steps for n in names}:
                return False
            read = _modules_read(bindings, _read_index(modules, memo))
            for u, _, names in steps:
                imported = _imported_taint(bindings, _exports_up_to(u, read, steps_of, modules),
                                           package)
                if not (seed or _imports_tainted(data, imported, {})) or not set(names) <= (
                        _file_taint(defs, roots, imported, calls, generic, slow)):
                    return False
        (seeds.add if seed else seeds.discard)(i)
        (aio_files.add if imports_aio else aio_files.discard)(i)
        defined[i] = _defined_names(data)
    return True


def _exports_up_to(version: int, read: set[int], steps_of: dict[str, list[list[Any]]],
                   modules: list[tuple[tuple[str, ...], str]]) -> _Exports:
    """The names that the files of `read` (indexes) had exported by `version`, by the
    steps a selection left in its state (see below).

    How `reselect` shows that an edited file in an import cycle leaves the selection
    as it was: the stored state is the least fixed point O of the old files; the
    edited file exports the same names from O, so O is a fixed point of the new files
    and their least one N lies below it. For N to reach O, `select` leaves each
    file's derivation in `state["local"]`: a step `[u, a, names]` says that `names`
    were first computed when the exports were at version `u`, from names added at
    versions up to `u`, and were added at version `a` (above `u`). Every unchanged
    file's names follow again by the same steps from names that come earlier, once
    the changed files' do; so it is enough that each step of a changed file,
    computed now from the names that the files it reads had added up to its `u`,
    selects the file and yields its names. Through an import cycle, a name that only
    supported itself fails this (it was never derived without itself): then the
    whole selection runs."""
    view = _Exports()
    for j in sorted(read):
        added = [n for _, a, ns in steps_of.get(str(j), ()) if a <= version for n in ns]
        if added:
            view.add(modules[j][0], set(added))
    return view


def _read_index(modules: list[tuple[tuple[str, ...], str]], memo: dict[str, Any]
                ) -> tuple[dict[str, list[int]], list[str]]:
    """Every name a file is known by (the keys of `_Exports`) -> its files, and those
    names sorted (to find the names inside a package), kept in `memo`."""
    if "read_index" not in memo:
        by_name: dict[str, list[int]] = {}
        for i, (names, _) in enumerate(modules):
            for n in names:
                by_name.setdefault(n, []).append(i)
        memo["read_index"] = (by_name, sorted(by_name))
    found: tuple[dict[str, list[int]], list[str]] = memo["read_index"]
    return found


def _modules_read(bindings: list[tuple[str, str, str]],
                  read: tuple[dict[str, list[int]], list[str]]) -> set[int]:
    """The files whose exports `_imported_taint` may read for these bindings: those
    known by a module name it asks about and, where it asks for the names below a
    module (`_Exports.below`), every file whose name lies inside it. A bare name
    counts whatever the importer's package (more files than it reads, never fewer)."""
    by_name, keys = read
    out: set[int] = set()
    for _, module, name in bindings:
        if name == "*":
            out.update(by_name.get(module, ()))
            continue
        if name:
            out.update(by_name.get(module, ()))
        inside = f"{module}.{name}" if module and name else module or name
        out.update(by_name.get(inside, ()))
        for k in keys[bisect.bisect_left(keys, inside + "."):
                      bisect.bisect_left(keys, inside + "/")]:
            out.update(by_name[k])
    return out


#: the method whose call, in a class body beside a tainted name it imports, makes the
#: class database code of its own (see `_file_taint`)
_COMMITS = "commit"


def _file_taint(defs: Definitions, roots: frozenset[str], imported: _Imported,
                calls: frozenset[str], generic: frozenset[str],
                slow: _SlowNames | None = None) -> set[str]:
    """The file's tainted top-level names, to a fixed point: a block is tainted when
    it imports from a database package, spells a tainted value, spells an imported
    module with a tainted name of that module, calls a tainted callable, or calls a
    common-named acquire method (`.connect()`) while spelling a tainted callable
    (the annotation or constructor that types the receiver); in the full
    selection also when it spells a slow call of asyncio or os (`slow`)."""
    local_values, local_callables = set(roots | imported.names), set(calls)
    local: set[str] = set()
    #: what a class is tainted by, made when a class needs it after a change
    for_classes: tuple[set[str], set[str]] | None = None
    changed = True
    while changed:
        changed = False
        for name, blk in defs.defs.items():
            if name in local:
                continue
            values, callables = local_values, local_callables
            if blk.klass and imported.names and not (
                    _COMMITS in blk.methods and not blk.words.isdisjoint(imported.names)):
                # a class that only uses what other project modules export is no
                # database code of this file: the analysis reaches its instances
                # through the module that builds them (a chain of such classes
                # selected most of Django for a handful of backend modules); unless
                # it commits beside such a name: a model whose `save_to_db()` commits
                # on a session another module made (`from .database import session`),
                # which a view that imports only the model works on through it
                if for_classes is None:
                    for_classes = (values - imported.names, callables - imported.names)
                values, callables = for_classes
            if (blk.words.isdisjoint(values)
                    and blk.called.isdisjoint(callables)
                    and blk.import_roots.isdisjoint(roots)
                    and (blk.methods.isdisjoint(generic)
                         or blk.words.isdisjoint(callables))
                    and (blk.klass or not any(
                        bound in blk.words and not blk.words.isdisjoint(inside)
                        for bound, inside in imported.modules))
                    and (slow is None or not slow.taints(blk))):
                continue
            local.add(name)
            (local_callables if blk.callable else local_values).add(name)
            changed = True
            for_classes = None
    return local


@dataclass(frozen=True)
class _Imported:
    """What a file's imports make tainted: names it binds to tainted values, and
    modules it binds (`import pkg.m`, `from pkg import m`) with the tainted names
    inside them, which a block must spell beside the module's name to use one."""

    names: frozenset[str]
    modules: frozenset[tuple[str, frozenset[str]]]


def _import_keys(bindings: list[tuple[str, str, str]]) -> frozenset[str]:
    """The module names whose exports (or those of modules inside them)
    `_imported_taint` reads for these bindings."""
    keys: set[str] = set()
    for _, module, name in bindings:
        keys.add(module)
        keys.add(f"{module}.{name}" if module and name and name != "*" else module or name)
    return frozenset(keys)


def _imported_taint(bindings: list[tuple[str, str, str]], exports: _Exports | _StoredExports,
                    importer: str) -> _Imported:
    names: set[str] = set()
    modules: set[tuple[str, frozenset[str]]] = set()
    for bound, module, name in bindings:
        if name == "*":
            names |= exports.names(module, importer)
        elif name and exports.has(module, importer, name):
            names.add(bound)
        else:
            inside = exports.below(f"{module}.{name}" if module and name else module or name,
                                   importer)
            if inside:
                modules.add((bound, inside))
    return _Imported(frozenset(names), frozenset(modules))


def _imports_tainted(data: bytes, imported: _Imported,
                     patterns: dict[tuple[str, frozenset[str]], re.Pattern[bytes]]) -> bool:
    """The file imports a tainted name from a selected module (`from m import name`),
    or a module whose tainted names it then reaches (`import pkg.m` ... `pkg.m.name`)."""
    if imported.names:
        return True
    for bound, inside in imported.modules:
        reached = _reaches(data, bound, inside)
        if reached is None:  # no plain words: the pattern decides
            key = (bound, inside)
            if key not in patterns:
                patterns[key] = re.compile(rb"\b" + re.escape(bound.encode())
                                           + rb"(?:\s*\.\s*\w+)*\s*\.\s*(?:" + _alt(inside)
                                           + rb")\b")
            reached = any(not _heads_an_import(data, m.start())
                          for m in patterns[key].finditer(data))
        if reached:
            return True
    return False


#: what comes before a module path that an import statement begins with, on its line
_IMPORT_HEAD = re.compile(rb"[ \t]*(?:from|import)[ \t]+\Z")


def _heads_an_import(data: bytes, start: int) -> bool:
    """Whether the dotted chain at `start` is the module an import statement names
    first (`from pkg.sql.constants import X`, `import pkg.sql.constants`): no use of
    an attribute of the name bound before (`import pkg`), though it spells one of
    its tainted names (`sql`, exported by some other module inside `pkg`). What the
    statement itself imports, its bindings tell."""
    line = data.rfind(b"\n", 0, start) + 1  # (a file of `\r` line ends: never a head)
    return _IMPORT_HEAD.match(data, line, start) is not None


def _reaches(data: bytes, bound: str, inside: frozenset[str]) -> bool | None:
    """Whether `data` spells `bound`, as a whole word, then a dotted chain with one
    of `inside` after a dot (`pkg.m.get_conn`): what the pattern of
    `_imports_tainted` matches, when `bound` and `inside` are plain words (else
    None). The pattern is an alternation of every tainted name of a package, which
    takes longer to compile than to search; this finds the chains after `bound`
    (as fast as a literal) and looks their parts up. A later `bound` inside a chain
    has a part of that chain for its own."""
    key = bound.encode()
    if not _PLAIN_WORD.fullmatch(key) or not all(map(_is_plain_str, inside)):
        return None
    chain = _CHAINS.get(key)
    if chain is None:
        chain = _CHAINS[key] = re.compile(re.escape(key) + rb"(?:\s*\.\s*\w+)+")
    pos = 0
    while (m := chain.search(data, pos)) is not None:
        start = m.start()
        if start and data[start - 1] in _WORD_BYTES:  # no word boundary before
            pos = start + 1
            continue
        if not _heads_an_import(data, start) and not inside.isdisjoint(
                part.strip().decode() for part in m.group().split(b".")[1:]):
            return True
        pos = m.end()
    return False


_CHAINS: dict[bytes, re.Pattern[bytes]] = {}
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_is_plain_str = re.compile(r"\w+", re.ASCII).fullmatch
