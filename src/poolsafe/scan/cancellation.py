"""Cooperative cancellation of a scan that runs on a thread of its own.

`engine.run_deep` runs a scan on a thread with a large stack and waits for it.
When that wait is interrupted (Ctrl-C, or pytest-timeout's alarm in a test), the
interrupt reaches the waiting thread only; the scan would go on, and in a test
process it would go on under the tests that follow, sharing their process-wide
state. So the waiting thread asks the scan to stop (`request_stop`), and the scan
stops at its next checkpoint: before each module it checks, each file it parses
ahead, and while it waits for a forked child (those children are ended then).

The request is an `Event` bound in the scan thread's context (`run_stoppable`);
code that runs outside such a thread (the language server's own threads, a forked
worker) never sees one, and its checkpoints cost a context-variable lookup.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

T = TypeVar("T")

__all__ = ["POLL_SECONDS", "ScanStopped", "raise_if_stopped", "run_stoppable",
           "wait_readable"]

# how often a wait for a forked child looks whether the scan was asked to stop
POLL_SECONDS = 0.1

_stop: ContextVar[threading.Event | None] = ContextVar("poolsafe_scan_stop", default=None)


class ScanStopped(Exception):
    """The scan was asked to stop (its caller was interrupted); never reported."""


def run_stoppable(stop: threading.Event, fn: Callable[[], T]) -> T:
    """`fn()`, with its checkpoints watching `stop` (run it in a context of its own:
    `contextvars.copy_context().run(run_stoppable, stop, fn)`)."""
    _stop.set(stop)
    return fn()


def raise_if_stopped() -> None:
    """A checkpoint: raise `ScanStopped` if this scan was asked to stop."""
    stop = _stop.get()
    if stop is not None and stop.is_set():
        raise ScanStopped


def wait_readable(conn: Connection) -> None:
    """Block until `conn` has something to read (or is closed), at a checkpoint
    every `POLL_SECONDS`."""
    if _stop.get() is None:
        return  # nothing can ask this wait to stop: recv() blocks as before
    while not conn.poll(POLL_SECONDS):
        raise_if_stopped()
