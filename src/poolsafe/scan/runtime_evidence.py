"""`poolsafe check --runtime FILE`: static findings meet what the test suite leaked.

The pytest plugin's report (`pytest --poolsafe --poolsafe-report FILE`, written by
`poolsafe.runtime.evidence`) lists every connection a test left checked out, with the
user frames of its checkout. Here:

- a static finding at a line one of those frames passed through is **confirmed**:
  the test named in it leaked that checkout (`Finding.confirmed`);
- a runtime leak that no static finding explains is reported as a finding of its
  own, PS002 (`runtime-leak`): static analysis missed it, and the test shows how;
- each time a pool ran dry (`pool_errors`: `PoolExhausted`, `PoolTimeout`), a
  finding at a line one of the holders' frames passed through gets a note
  (`Finding.runtime_notes`): this checkout held one of the connections when the
  named test found the pool empty.

A frame matches a finding at the same line of the same file, or, when the code moved
since the report was written, in the same function on a line with the same text
(as a baseline matches).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from poolsafe.core.model import Finding, Location, RawFinding, ScanResult, Severity
from poolsafe.rules.base import FileContext, Rule
from poolsafe.scan.config import ConfigError

#: the codes a runtime leak can confirm: the leak rules
CONFIRMABLE = ("PS101", "PS102", "PS103", "PS104", "PS105", "PS106")


class RuntimeEvidenceError(ConfigError):
    """A report that cannot be read: one line, exit 2."""


class RuntimeLeak(Rule):
    """
    ## What it does
    Reports a connection that a test left checked out (or let the garbage collector
    take, or closed instead of returning) when `poolsafe check --runtime FILE` reads
    the report of `pytest --poolsafe --poolsafe-report FILE`, and no static finding
    explains it. The finding points at the innermost line of your code that the
    checkout passed through, and names the test.

    ## Why is this bad?
    The test suite proved the leak: the connection was never given back. Static
    analysis did not see it (a connection kept in a module-level cache, a checkout
    through a function pointer, a release skipped by a path it cannot follow), so
    nothing else would have told you.

    ## Example
    ```python
    _cache = {}

    def cached_connection(key):
        if key not in _cache:
            _cache[key] = pool.getconn()  # never given back
        return _cache[key]
    ```

    ## Use instead
    ```python
    def with_connection(work):
        conn = pool.getconn()
        try:
            return work(conn)
        finally:
            pool.putconn(conn)
    ```

    Run the named test with `pytest --poolsafe` to see the whole stack of the
    checkout.
    """

    code = "PS002"
    name = "runtime-leak"
    summary = "a connection the test suite leaked that static analysis did not find"
    severity = Severity.ERROR

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:  # pragma: no cover
        return iter(())


@dataclass(frozen=True)
class Frame:
    path: str
    line: int
    function: str
    text: str


@dataclass(frozen=True)
class Leak:
    test: str
    kind: str
    message: str
    #: the user frames of the checkout, innermost first
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class PoolHolder:
    """A checkout held when a pool ran dry: its connection, the test that made it
    (None: before the first test) and the user frames of the checkout."""

    connection: str
    test: str | None
    frames: tuple[Frame, ...]


@dataclass(frozen=True)
class PoolError:
    """A pool that ran dry in `test` ("exhausted", or "timeout" after waiting)."""

    test: str
    kind: str
    pool: str
    message: str
    holders: tuple[PoolHolder, ...]


@dataclass(frozen=True)
class Evidence:
    """What a runtime report holds."""

    leaks: list[Leak]
    pool_errors: list[PoolError]


def _frames(raw: list[dict[str, object]]) -> tuple[Frame, ...]:
    return tuple(Frame(str(f["path"]), int(str(f["line"])), str(f["function"]),
                       str(f.get("text", ""))) for f in raw)


def read(path: str | Path) -> Evidence:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise RuntimeEvidenceError(f"{path}: cannot read the runtime report: "
                                   f"{exc.strerror or exc}") from None
    except ValueError as exc:
        raise RuntimeEvidenceError(f"{path}: not a poolsafe runtime report: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != 1 or not isinstance(
            doc.get("leaks"), list):
        raise RuntimeEvidenceError(f"{path}: not a poolsafe runtime report (written by "
                                   "`pytest --poolsafe --poolsafe-report FILE`)")
    try:
        leaks = [Leak(str(leak["test"]), str(leak["kind"]), str(leak.get("message", "")),
                      _frames(leak["frames"]))
                 for leak in doc["leaks"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeEvidenceError(f"{path}: a leak of the runtime report is malformed: "
                                   f"{exc}") from None
    try:
        errors = [PoolError(str(e["test"]), str(e["kind"]), str(e["pool"]),
                            str(e.get("message", "")),
                            tuple(PoolHolder(str(h["connection"]),
                                             None if h.get("test") is None else str(h["test"]),
                                             _frames(h["frames"])) for h in e["holders"]))
                  for e in doc.get("pool_errors", [])]  # (absent in older reports)
    except (KeyError, TypeError, ValueError) as exc:
        raise RuntimeEvidenceError(f"{path}: a pool error of the runtime report is "
                                   f"malformed: {exc}") from None
    return Evidence(leaks, errors)


def apply(result: ScanResult, evidence: Evidence, scanned: list[str]) -> ScanResult:
    """`result` with each finding a leak confirms marked, and a PS002 finding for each
    leak that no finding explains (in a scanned file, or where its frames point); then
    a note on each finding whose checkout held a connection when a pool ran dry."""
    from poolsafe.scan.baseline import SourceInfo  # reads the files' lines and scopes

    leaks = evidence.leaks
    info = SourceInfo()
    findings = list(result.findings)
    explained: set[int] = set()
    for i, f in enumerate(findings):
        if f.code not in CONFIRMABLE:
            continue
        absolute = os.path.abspath(f.path)
        for n, leak in enumerate(leaks):
            if any(_matches(frame, f, absolute, info) for frame in leak.frames):
                explained.add(n)
                if findings[i].confirmed is None:
                    findings[i] = dataclasses.replace(findings[i], confirmed=leak.test)
    shown = {os.path.abspath(p): p for p in scanned}
    for n, leak in enumerate(leaks):
        if n in explained or not leak.frames:
            continue
        frame = next((fr for fr in leak.frames if fr.path in shown), leak.frames[0])
        path = shown.get(frame.path) or _display(frame.path)
        meta = RuntimeLeak.meta()
        text = info.lines(path)[frame.line - 1] if 0 < frame.line <= len(
            info.lines(path)) else ""
        start = len(text) - len(text.lstrip()) + 1
        findings.append(Finding(
            path, Location(frame.line, start, frame.line, max(start, len(text.rstrip()) + 1)),
            meta.code, meta.name,
            f"`{leak.test}` leaked a connection checked out through here ({leak.kind}, in "
            f"`{frame.function}()`), and no static finding explains it: static analysis "
            "missed this leak; run that test with `pytest --poolsafe` for the whole stack",
            meta.severity, False, confirmed=leak.test))
    if evidence.pool_errors:
        findings = [_with_pool_notes(f, evidence.pool_errors, info) for f in findings]
    findings.sort(key=Finding.sort_key)
    return dataclasses.replace(result, findings=findings)


def _with_pool_notes(f: Finding, errors: list[PoolError], info: object) -> Finding:
    """`f` with a note for each time a pool ran dry while its checkout held one of
    the connections."""
    if f.code not in CONFIRMABLE and f.code != "PS002":
        return f
    absolute = os.path.abspath(f.path)
    notes = []
    for error in errors:
        held = [h for h in error.holders
                if any(_matches(frame, f, absolute, info) for frame in h.frames)]
        if not held:
            continue
        by = sorted({h.test for h in held if h.test is not None})
        made = f" (checked out by `{'`, `'.join(by)}`)" if by else ""
        what = "timed out waiting for a connection" if error.kind == "timeout" else \
            "found it exhausted"
        count = "one" if len(held) == 1 else str(len(held))
        notes.append(f"held {count} of the {len(error.holders)} connections of pool "
                     f"`{error.pool}` when `{error.test}` {what}{made}")
    return dataclasses.replace(f, runtime_notes=(*f.runtime_notes, *notes)) if notes else f


def _matches(frame: Frame, f: Finding, absolute: str, info: object) -> bool:
    if frame.path != absolute:
        return False
    if frame.line == f.line:
        return True
    from poolsafe.scan.baseline import SourceInfo

    assert isinstance(info, SourceInfo)
    if not frame.text or info.line_text(f.path, f.line) != frame.text:
        return False
    return info.function(f.path, f.line).rpartition(".")[2] == frame.function


def _display(path: str) -> str:
    """A frame's file as findings name files: relative to the working directory when
    it is below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else Path(rel).as_posix()
