"""Per-module summaries kept between runs (`.poolsafe_cache/modules/*.pool.json`).

A summary (`poolsafe.analysis.pool_summary.PoolSummary`) is what the project's
capacity reads from a module to know that it holds no pool; it is computed from the
parsed module alone, so it is named, like a snapshot, by everything that parse
depends on: the file's bytes, its absolute path (relative imports resolve from it),
the versions of Python, libcst and poolsafe, and the code that collects a module and
summarizes it (`module`, `pool_summary` and what it calls). It is plain JSON, read
with `json.loads` and checked field by field: a damaged or foreign file is a
summary that is not there, never code that runs.

Every module an index parses gets its summary written (it costs a walk of the
module's call list); a later run, after an edit, reads the summaries of the modules
that spell a pool word instead of parsing them, and parses only those that may
hold a pool (`LazyIndex.pool_candidates`).
"""

from __future__ import annotations

import codecs
import hashlib
import io
import tokenize
from pathlib import Path

from poolsafe.analysis.pool_summary import PoolSummary
from poolsafe.scan.cache import SNAPSHOT_DIR, TAG_NAME, JsonFiles, cache_problem, code_version

SUFFIX = ".pool.json"
#: `statement_errors._named_databases`' answers (two booleans), by the module's bytes
NAMED_SUFFIX = ".dbnames.json"
#: the most summaries a cache keeps: past it, a run that writes removes the oldest until
#: `KEEP` are left (one file per version of a module, so edits add up)
LIMIT = 8000
KEEP = 6000

#: `project_facts._used_as_value`'s answers (a boolean), by the module's text and the name;
#: also `project_facts._module_table_names`' (a list of names), by the text alone
USED_SUFFIX = ".used.json"
#: the key `_module_table_names`' answers are kept under (no Python name has a space)
_TABLE_NAMES_KEY = "command tables"

_code_digest: list[str] = []
_named_digest: list[str] = []
_used_digest: list[str] = []


def _used_version() -> str:
    if not _used_digest:
        from poolsafe.analysis import cstutil, module, project_facts

        _used_digest.append(code_version((project_facts, cstutil, module)))
    return _used_digest[0]


def plain_utf8(data: bytes) -> bool:
    """Whether `data` is read as UTF-8 without a byte-order mark (`core.source.decode`
    then gives `data.decode()`: the text that, encoded, is `data`)."""
    if data.startswith(codecs.BOM_UTF8):
        return False
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return False
    return encoding == "utf-8"


def _named_version() -> str:
    if not _named_digest:
        from poolsafe.analysis import statement_errors
        from poolsafe.knowledge import libraries

        _named_digest.append(code_version((statement_errors, libraries)))
    return _named_digest[0]


def _code_version() -> str:
    if not _code_digest:
        from poolsafe.analysis import cstutil, engines, module, pool_summary, resolution
        from poolsafe.knowledge import capacity, frameworks

        _code_digest.append(code_version(
            (module, pool_summary, resolution, engines, cstutil, capacity, frameworks)))
    return _code_digest[0]


class SummaryStore:
    """The summaries of one cache directory; `loaded` and `written` count them."""

    def __init__(self, cache_dir: Path) -> None:
        self.directory = cache_dir / SNAPSHOT_DIR
        # only in a cache directory poolsafe made (as for snapshots)
        self.usable = cache_problem(cache_dir) is None and (cache_dir / TAG_NAME).is_file()
        self.version = _code_version() if self.usable else ""
        self.loaded = 0
        self._files = JsonFiles(self.directory, SUFFIX, LIMIT, KEEP)
        self._named = JsonFiles(self.directory, NAMED_SUFFIX, LIMIT, KEEP)
        self._used = JsonFiles(self.directory, USED_SUFFIX, LIMIT, KEEP)
        self._known: dict[str, PoolSummary | None] = {}

    def _name(self, abspath: str, data: bytes) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (self.version, abspath):
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        h.update(data)
        return h.hexdigest()

    def get(self, abspath: str, data: bytes) -> PoolSummary | None:
        if not self.usable:
            return None
        name = self._name(abspath, data)
        if name in self._known:
            return self._known[name]
        found = PoolSummary.from_json(self._files.get(name))
        self._known[name] = found
        if found is not None:
            self.loaded += 1
        return found

    def put(self, abspath: str, data: bytes, summary: PoolSummary) -> None:
        """Keep `summary` of the module parsed from `data`, unless it is kept already."""
        if not self.usable:
            return
        name = self._name(abspath, data)
        if self._known.get(name) is not None:
            return
        self._known[name] = summary
        self._files.put(name, summary.to_json())

    @property
    def written(self) -> int:
        return self._files.written

    def _named_name(self, data: bytes) -> str:
        h = hashlib.blake2b(digest_size=20)
        h.update(_named_version().encode() + b"\0")
        h.update(data)
        return h.hexdigest()

    def get_named(self, data: bytes) -> tuple[bool, bool] | None:
        """The kept answer of `statement_errors._named_databases` for `data`, if any."""
        if not self.usable:
            return None
        found = self._named.get(self._named_name(data))
        if isinstance(found, list) and len(found) == 2 \
                and all(isinstance(v, bool) for v in found):
            return found[0], found[1]
        return None

    def put_named(self, data: bytes, found: tuple[bool, bool]) -> None:
        if not self.usable:
            return
        self._named.put(self._named_name(data), list(found))

    def _used_name(self, text: bytes, name: str) -> str:
        h = hashlib.blake2b(digest_size=20)
        for part in (_used_version(), name):
            h.update(part.encode("utf-8", "surrogatepass") + b"\0")
        h.update(text)
        return h.hexdigest()

    def get_used(self, data: bytes, name: str) -> bool | None:
        """The kept answer of `project_facts._used_as_value` for `name` in the module
        read from `data`: only for bytes whose text is `data` itself (UTF-8, no
        byte-order mark), as `put_used` keys the answers by the text."""
        if not self.usable or not plain_utf8(data):
            return None
        found = self._used.get(self._used_name(data, name))
        return found if isinstance(found, bool) else None

    def put_used(self, text: bytes, name: str, found: bool) -> None:
        if not self.usable:
            return
        self._used.put(self._used_name(text, name), found)

    def get_table_names(self, data: bytes) -> list[str] | None:
        """The kept answer of `project_facts._module_table_names` for the module read
        from `data` (the names in its top-level literal tables when it defines a
        management `Command`), on the terms of `get_used`."""
        if not self.usable or not plain_utf8(data):
            return None
        found = self._used.get(self._used_name(data, _TABLE_NAMES_KEY))
        if isinstance(found, list) and all(isinstance(n, str) for n in found):
            return found
        return None

    def put_table_names(self, text: bytes, names: list[str]) -> None:
        if not self.usable:
            return
        self._used.put(self._used_name(text, _TABLE_NAMES_KEY), names)
