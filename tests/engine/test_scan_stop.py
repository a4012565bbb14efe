"""An interrupted scan stops (`poolsafe.scan.cancellation`): `run_deep` runs a scan on a
thread of its own, and an interrupt (Ctrl-C, pytest-timeout's alarm) reaches only the
thread that waits for it. The scan must not go on under what the process does next
(in a test run: the next tests, sharing its process-wide state), nor leave its forked
workers running."""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import poolsafe.scan.checking as checking
import poolsafe.scan.parallel as parallel
from poolsafe.scan.cancellation import ScanStopped, raise_if_stopped
from poolsafe.scan.engine import ScanOptions, run_deep, scan

needs_signals = pytest.mark.skipif(not hasattr(signal, "pthread_kill"),
                                   reason="no pthread_kill on this platform")

LEAK = """\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, dsn="")


def count_{n}():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT {n}")
    pool.putconn(conn)
    return cur.fetchone()
"""


class Interrupted(Exception):
    """What the signal handler raises in the main thread (as pytest-timeout does)."""


@pytest.fixture
def interrupt_when() -> Iterator[Callable[[Callable[[], bool]], None]]:
    """`interrupt_when(ready)`: once `ready()` holds, interrupt the main thread (SIGUSR1,
    its handler raising `Interrupted` there)."""
    def handler(signum: int, frame: Any) -> None:
        raise Interrupted

    old = signal.signal(signal.SIGUSR1, handler)
    main = threading.main_thread().ident
    assert main is not None

    def arm(ready: Callable[[], bool]) -> None:
        def watch() -> None:
            while not ready():
                time.sleep(0.01)
            signal.pthread_kill(main, signal.SIGUSR1)
        threading.Thread(target=watch, daemon=True).start()

    try:
        yield arm
    finally:
        signal.signal(signal.SIGUSR1, old)


def scan_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "poolsafe-scan" and t.is_alive()]


def leaky_tree(root: Path, count: int) -> None:
    root.mkdir(exist_ok=True)
    for n in range(count):
        (root / f"m{n}.py").write_text(LEAK.format(n=n))


@needs_signals
def test_an_interrupted_wait_stops_the_thread_at_its_next_checkpoint(
        interrupt_when: Callable[[Callable[[], bool]], None]) -> None:
    steps: list[int] = []
    started = threading.Event()

    def work() -> None:
        started.set()
        for n in range(6000):  # a minute, unless it is asked to stop
            raise_if_stopped()
            steps.append(n)
            time.sleep(0.01)

    interrupt_when(started.is_set)
    with pytest.raises(Interrupted):
        run_deep(work)
    assert scan_threads() == []
    assert 0 < len(steps) < 6000
    done = len(steps)
    time.sleep(0.05)
    assert len(steps) == done  # nothing ran on afterwards


def test_a_checkpoint_outside_a_stoppable_scan_never_raises() -> None:
    raise_if_stopped()  # (the language server's threads, forked workers)
    assert run_deep(lambda: 7) == 7


@needs_signals
def test_an_interrupted_scan_checks_no_further_module(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt_when: Callable[[Callable[[], bool]], None]) -> None:
    leaky_tree(tmp_path / "first", 8)
    found = scan([str(tmp_path / "first")], ScanOptions(jobs=1)).findings
    assert len({f.path for f in found}) == 8  # (every module of such a tree is checked)
    leaky_tree(tmp_path / "second", 8)
    contexts: list[str] = []
    real = checking.FileContext

    def slow_context(module: Any, index: Any) -> Any:
        contexts.append(module.path)
        time.sleep(0.5)  # the interrupt lands while this module is checked
        return real(module, index)

    monkeypatch.setattr(checking, "FileContext", slow_context)
    interrupt_when(lambda: bool(contexts))
    with pytest.raises(Interrupted):
        scan([str(tmp_path / "second")], ScanOptions(jobs=1))
    assert scan_threads() == []
    time.sleep(1.5)  # (three modules' time, had the scan gone on)
    assert len(contexts) == 1  # the module being checked ends; no other starts


@pytest.mark.skipif(not parallel.can_fork(), reason="no fork on this platform")
@needs_signals
def test_an_interrupted_parallel_scan_ends_its_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        interrupt_when: Callable[[Callable[[], bool]], None]) -> None:
    leaky_tree(tmp_path, 8)
    started = tmp_path.parent / f"{tmp_path.name}.started"
    real = checking.FileContext

    def stuck_context(module: Any, index: Any) -> Any:
        started.touch()  # (in a forked worker: told through the file system)
        time.sleep(120)
        return real(module, index)

    monkeypatch.setattr(checking, "FileContext", stuck_context)
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    interrupt_when(started.exists)
    begun = time.monotonic()
    with pytest.raises(Interrupted):
        scan([str(tmp_path)], ScanOptions(jobs=2))
    assert scan_threads() == []
    assert time.monotonic() - begun < 60  # not the workers' 120 s: they were ended
    deadline = time.monotonic() + 10
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []


def test_stopped_is_not_an_error_a_scan_reports() -> None:
    assert not issubclass(ScanStopped, (OSError, RecursionError))
