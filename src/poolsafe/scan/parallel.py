"""Check the selected files on several cores (`--jobs`).

The files to check are split into one share per worker (by size, see `shares`);
the parent forks the workers, and each parses its own share and whatever name
resolution reaches from it (`checking.check_selected`: a libcst tree is far too
costly to send between processes), checks it, and sends back only the findings,
the errors and the module lookups the cache records. A module that two shares
both need is parsed in both workers.

Where `fork` does not exist (Windows) or a worker fails, the files are checked in
this process, so `--jobs` never changes the findings, only the time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from poolsafe.core.model import FileError, Finding
from poolsafe.scan.cancellation import ScanStopped, wait_readable

if TYPE_CHECKING:
    # multiprocessing is imported where a process is forked: a run that forks none
    # (most small scans) does without it (~10-18 ms of start-up)
    import multiprocessing.process
    from multiprocessing.connection import Connection

#: below this much selected source, forking costs more than it saves
MIN_PARALLEL_BYTES = 200_000

P = TypeVar("P")
T = TypeVar("T")


@dataclass
class CheckResults:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    #: module name -> the files that name resolution asked for (for the cache)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    #: pattern key -> the selected files a project-wide fact read (`LazyIndex.matched`)
    matched: dict[str, list[str]] = field(default_factory=dict)
    #: pattern key (of `matched`) -> the words every match of it spells, where the
    #: analysis knows them (`analysis.index.spelt_words`), as text
    words: dict[str, list[str]] = field(default_factory=dict)
    #: whether a fact read every selected module
    read_all: bool = False
    #: per index a check used (an epoch of `checking.check_selected`), the module
    #: names it looked up and the pattern keys it searched, in the order it first did
    epochs: list[tuple[list[str], list[str]]] = field(default_factory=list)
    #: checked file (absolute path) -> (its epoch in `epochs`, how many of that
    #: epoch's lookups and patterns came before its check ended, whether a fact had
    #: read every selected module by then): what its findings may depend on
    deps: dict[str, tuple[int, int, int, bool]] = field(default_factory=dict)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def shares(sizes: Sequence[int], jobs: int) -> list[list[int]]:
    """Indexes split into `jobs` runs of consecutive indexes of about equal total
    size (a run ends where the next item would take it past its part of the total
    by more than half that item). Items in project order are files in path order:
    a package's modules import each other, so a run parses fewer modules that only
    another worker checks (Django, cold: the workers parsed 217 kB of such modules
    instead of 326 kB when shares were dealt largest first)."""
    total = sum(sizes)
    out: list[list[int]] = [[] for _ in range(jobs)]
    done = 0
    k = 0
    for i, size in enumerate(sizes):
        if k < jobs - 1 and done + size / 2 > total * (k + 1) / jobs:
            k += 1
        out[k].append(i)
        done += size
    return [s for s in out if s]


def can_fork() -> bool:
    import multiprocessing

    # fork without exec is unsafe on macOS
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


#: what `run_apart`'s `tell` sends ahead of the result
Tell = Callable[[object], None]


def run_apart(fn: Callable[[Tell], T], apart: bool = True,
              meanwhile: Callable[[Callable[[], bool], Callable[[], object]], object]
              | None = None) -> T:
    """`fn(tell)` computed in a forked child that sends back its result, so that
    what it allocates on the way is returned to the system when the child exits,
    not kept by this process (and by every worker later forked from it). Without
    `fork`, or if the child fails, `fn` runs here. `meanwhile(ready, heard)` runs in
    this process while the child works (once, whether or not there is a child: work
    needed next anyway); `ready()` tells it whether the child's answer has come
    (always true without a child), so that work it may leave undone stops then;
    `heard()` is the last value the child passed to `tell` so far (None before,
    and without a child: `fn` runs after `meanwhile` then), neither waiting."""
    if not apart or not can_fork():
        if meanwhile is not None:
            meanwhile(lambda: True, lambda: None)
        return fn(_tell_nobody)
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_run_child, args=(writer, fn), daemon=True)
    child.start()
    writer.close()
    inbox = _Inbox(reader)
    try:
        if meanwhile is not None:
            meanwhile(inbox.ready, inbox.heard)
        found = inbox.answer()
    except ScanStopped:
        child.terminate()
        raise
    finally:
        reader.close()
    child.join()
    if not isinstance(found, tuple):  # the child died or failed: compute it here
        return fn(_tell_nobody)
    return cast(T, found[0])


def _tell_nobody(value: object) -> None:
    """`tell` where `fn` runs in this process: nobody waits for its values."""


class _Inbox:
    """The parent's end of `run_apart`'s pipe: values told (`("told", value)`), then
    the answer (`(result,)`, or None if `fn` failed; None too if the pipe breaks)."""

    _NONE = object()

    def __init__(self, reader: Connection) -> None:
        self.reader = reader
        self.told: object = None
        self.final: object = self._NONE

    def _read(self, wait: bool) -> None:
        while self.final is self._NONE and (wait or self.reader.poll()):
            try:
                if wait:
                    wait_readable(self.reader)
                message = self.reader.recv()
            except (EOFError, OSError):
                message = None
            if isinstance(message, tuple) and len(message) == 2 and message[0] == "told":
                self.told = message[1]
            else:
                self.final = message

    def ready(self) -> bool:
        self._read(wait=False)
        return self.final is not self._NONE

    def heard(self) -> object:
        self._read(wait=False)
        return self.told

    def answer(self) -> object:
        self._read(wait=True)
        return self.final


def _ignore_interrupts() -> None:
    """In a forked child: Ctrl-C (SIGINT, which a terminal sends to every process of
    the group) is the parent's to answer; it ends its daemonic children as it exits.
    A child that took it itself would print a traceback, or hand its share back to a
    parent that is leaving (which then did the work itself)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_child(writer: Connection, fn: Callable[[Tell], object]) -> None:
    _ignore_interrupts()

    def tell(value: object) -> None:
        writer.send(("told", value))

    try:
        result: tuple[object] | None = (fn(tell),)
    except BaseException:  # the parent computes it itself
        result = None
    try:
        writer.send(result)
    finally:
        writer.close()


class Standby:
    """A forked child that runs `prepare()` (importing the parser and the rules, some
    0.4 s) while this process goes on reading the project and the cache, then
    answers `call(request)` with `serve(request)`: the re-check after an edit no
    longer waits for the import. `serve` is inherited through the fork, so only
    the request and the answer are pickled. If the child fails, `call` returns
    None and the caller computes the answer itself; `stop()` ends the child,
    whether it is still preparing or not."""

    def __init__(self, prepare: Callable[[], object], serve: Callable[[Any], object]) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_stand_by, args=(child_end, prepare, serve),
                                 daemon=True)
        self._proc.start()
        child_end.close()

    def call(self, request: object) -> object | None:
        if self._conn.closed:
            return None
        try:
            self._conn.send(request)
            wait_readable(self._conn)
            answer = self._conn.recv()
        except (EOFError, OSError):
            return None
        return answer[0] if isinstance(answer, tuple) else None

    def stop(self) -> None:
        """End the child (again: nothing more); `call` answers None afterwards."""
        self._conn.close()
        if self._proc.is_alive():
            self._proc.terminate()  # (it may be in the middle of its import)
        self._proc.join()


def _stand_by(conn: Connection, prepare: Callable[[], object],
              serve: Callable[[Any], object]) -> None:
    _ignore_interrupts()
    try:
        prepare()
    except BaseException:  # the parent computes its answers itself
        conn.close()
        return
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[object] | None = (serve(request),)
        except BaseException:
            answer = None
        try:
            conn.send(answer)
        except OSError:
            return


def check_all(items: Sequence[P], sizes: Sequence[int], jobs: int,
              check: Callable[[list[P]], CheckResults]) -> CheckResults:
    """`check` over every item, split across `jobs` forked workers when that pays."""
    if jobs <= 1 or len(items) < 2 or sum(sizes) < MIN_PARALLEL_BYTES or not can_fork():
        return check(list(items))
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    workers: list[tuple[multiprocessing.process.BaseProcess, Connection, list[int]]] = []
    for share in shares(sizes, min(jobs, len(items))):
        reader, writer = ctx.Pipe(duplex=False)
        worker = ctx.Process(target=_worker, args=(writer, check, [items[i] for i in share]),
                             daemon=True)
        worker.start()
        writer.close()
        workers.append((worker, reader, share))
    merged = CheckResults()
    for proc, reader, share in workers:
        try:
            wait_readable(reader)
            part = reader.recv()
        except (EOFError, OSError):
            part = None
        except ScanStopped:
            for other, _, _ in workers:
                other.terminate()
            raise
        proc.join()
        if not isinstance(part, CheckResults):  # the worker died: do its share here
            part = check([items[i] for i in share])
        merged.findings.extend(part.findings)
        merged.errors.extend(part.errors)
        for name, files in part.lookups.items():
            merged.lookups.setdefault(name, files)
        for key, files in part.matched.items():
            merged.matched.setdefault(key, files)
        for key, words in part.words.items():
            merged.words.setdefault(key, words)
        merged.read_all = merged.read_all or part.read_all
        offset = len(merged.epochs)
        merged.epochs.extend(part.epochs)
        for path, (epoch, lookups, matched, read_all) in part.deps.items():
            merged.deps[path] = (epoch + offset, lookups, matched, read_all)
    return merged


def _worker(writer: Connection, check: Callable[[list[P]], CheckResults],
            share: list[P]) -> None:
    _ignore_interrupts()
    try:
        result: CheckResults | None = check(share)
    except BaseException:  # the parent checks this share itself
        result = None
    try:
        writer.send(result)
    finally:
        writer.close()
