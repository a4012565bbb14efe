"""Which findings the fix loop must not try to fix again.

A finding is known across passes by its fingerprint: the file, the rule, the
enclosing function, the reported node's text, and its rank among the findings with
those four (the *base*). Lines move when a fix applies, so the fingerprint holds no
position; and ranks shift when a finding goes away, so a rank alone must not decide
that a fix "did not work": with `a = pool.getconn(); b = pool.getconn()` both
findings have the base `pool.getconn()`, the first pass fixes `a` (rank 0), and `b`
is rank 0 in the next pass.

So a fix is judged by count: when fixes were applied to k findings of a base that
had n, the next pass must find at most n - k of it. More, and the base is *stuck*
(a fix applied whose finding remains): none of its findings is fixed again, which
keeps the loop from applying the same edit pass after pass. A fix that raised or
was reverted is not tried again for that fingerprint (`failed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

STUCK = "the fix was applied but the finding remains"

#: (file, rule code, function, node text, rank)
Fingerprint = tuple[str, ...]


class Progress:
    def __init__(self) -> None:
        #: fingerprint -> why its fix failed
        self._failed: dict[Fingerprint, str] = {}
        self._stuck: set[Fingerprint] = set()
        #: base -> findings of it at the start of the current pass
        self._counts: Counter[Fingerprint] = Counter()
        #: base -> the most findings of it the next pass may find
        self._expected: dict[Fingerprint, int] = {}

    def observe(self, file: str, fingerprints: Iterable[Fingerprint]) -> None:
        """The fingerprints of one file's fixable findings, linted at the start of a
        pass: the fixes of the previous pass in this file are judged here."""
        counts = Counter(fp[:-1] for fp in fingerprints)
        for base in [b for b in self._expected if b[0] == file]:
            if counts[base] > self._expected.pop(base):
                self._stuck.add(base)
        for base in [b for b in self._counts if b[0] == file]:
            del self._counts[base]
        self._counts.update(counts)

    def blocked(self, fp: Fingerprint) -> str | None:
        """Why the finding must be left (its fix failed, or its base is stuck), or
        None when it may be fixed."""
        if fp in self._failed:
            return self._failed[fp]
        if fp[:-1] in self._stuck:
            return STUCK
        return None

    def applied(self, fp: Fingerprint) -> None:
        base = fp[:-1]
        self._expected[base] = self._expected.get(base, self._counts[base]) - 1

    def failed(self, fp: Fingerprint, reason: str) -> None:
        self._failed[fp] = reason
