"""Path comparisons of the equivalence check kept between runs
(`.poolsafe_cache/modules/*.proof.json`).

`check` proves the fix of each finding it shows as safe (`Rule.fix_safety`), and
most of a proof is `compare_function`: the paths of the function before and after
the fix, walked and compared. Its answer depends on the two functions' code (exactly,
as libcst renders them), the names the module imports from SQLAlchemy and the
configured release functions, nothing else: a run after an edit elsewhere in the
file (a pre-commit hook's `check FILE`, issue 32) reads it here instead of walking
the paths again (superset's `db_engine_specs/gsheets.py`: two proofs, a third of
the check). Named by a digest of those inputs and of poolsafe's whole source (and
the Python and libcst versions), so any change to the code that compares makes
other names.

Only `check` reads them (`[*]` and the `fixable` field); `poolsafe fix` proves every
plan again before it writes it, so a damaged or foreign file can at worst change what
`check` shows, never what `fix` writes. Plain JSON, checked field by field.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from poolsafe.scan.cache import SNAPSHOT_DIR, TAG_NAME, JsonFiles, cache_problem, code_version

SUFFIX = ".proof.json"
#: the most proofs a cache keeps (one file per version of a fixed function)
LIMIT = 8000
KEEP = 6000

_code_digest: list[str] = []


def _code_version() -> str:
    """The Python, libcst and poolsafe versions and every source file of poolsafe:
    a comparison reads the flow analysis and the library knowledge too, and a
    digest of the whole package cannot leave one out."""
    if not _code_digest:
        import poolsafe

        h = hashlib.blake2b(digest_size=16)
        h.update(code_version(()).encode())
        root = Path(poolsafe.__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0")
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"?")
        _code_digest.append(h.hexdigest())
    return _code_digest[0]


class ProofStore:
    """The kept comparisons of one cache directory (`poolsafe.fix.equivalence`'s
    `ComparisonMemo`); `loaded` and `written` count them."""

    def __init__(self, cache_dir: Path) -> None:
        self.directory = cache_dir / SNAPSHOT_DIR
        # only in a cache directory poolsafe made (as for snapshots and summaries)
        self.usable = cache_problem(cache_dir) is None and (cache_dir / TAG_NAME).is_file()
        self.loaded = 0
        self._files = JsonFiles(self.directory, SUFFIX, LIMIT, KEEP)

    @property
    def written(self) -> int:
        return self._files.written

    def _name(self, key: str) -> str:
        h = hashlib.blake2b(digest_size=20)
        # (the digest of poolsafe's source, some 25 ms, only once a proof is asked for:
        # most `check FILE` runs after an edit have no finding to prove)
        h.update(_code_version().encode() + b"\0")
        h.update(key.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def get(self, key: str) -> tuple[list[str], bool] | None:
        if not self.usable:
            return None
        data = self._files.get(self._name(key))
        if isinstance(data, dict) and isinstance(data.get("lost"), bool) \
                and isinstance(data.get("problems"), list) \
                and all(isinstance(p, str) for p in data["problems"]):
            self.loaded += 1
            return list(data["problems"]), data["lost"]
        return None

    def put(self, key: str, value: tuple[list[str], bool]) -> None:
        if not self.usable:
            return
        self._files.put(self._name(key), {"problems": value[0], "lost": value[1]})
