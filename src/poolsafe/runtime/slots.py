"""Per-connection bookkeeping of the reference pool: a :class:`Slot` for each
pooled connection, reused by every checkout, and a :class:`Waiter` for each
thread waiting its turn."""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable, Hashable
from typing import Any

from .hooks import ConnState
from .tracking import RawStack


class Slot:
    """One pooled connection and its current checkout.

    While idle, or checked out under a key, ``conn`` holds the connection; while
    checked out without a key the pool keeps only ``ref`` (a weak reference), so a
    connection its borrower drops is garbage-collected and reported as a leak."""

    __slots__ = (
        "alone", "code", "conn", "cstate", "deep", "ident", "key", "lasti", "number", "ref",
        "reported", "seq", "started", "thread", "used",
    )  # fmt: skip

    def __init__(self, conn: Any, cstate: ConnState | None) -> None:
        self.conn: Any = conn
        self.ident = id(conn)  # its key in the pool's _out while checked out
        self.cstate = cstate
        self.ref: weakref.ref[Any] | None = None
        self.key: Hashable | None = None
        self.number = 0
        self.thread: threading.Thread | None = None
        self.started = 0.0
        self.seq = 0
        self.code: Any = None
        self.lasti: Any = None
        self.deep: RawStack | None = None
        self.reported = 0  # the checkout number a leak_threshold warning was logged for
        self.used = 0.0  # returned at (validate_idle)
        self.alone = 0  # _references(self) when only the pool holds the connection

    def live(self) -> Any:
        """The connection, or ``None`` once it was garbage-collected."""
        conn = self.conn
        if conn is None and self.ref is not None:
            conn = self.ref()
        return conn

    def frames(self) -> RawStack:
        return self.deep if self.deep is not None else [self.code, self.lasti]


class Waiter:
    """A ``getconn()`` request that is not served on the fast path: a thread
    waiting its turn (first come, first served), or opening or validating a
    connection in a reserved slot. Everything the request holds in the pool is
    reachable from it, so that an exception at any point can give it back."""

    __slots__ = (
        "code", "conn", "deep", "lasti", "number", "queued", "since", "slot", "thread", "wake",
    )  # fmt: skip

    def __init__(
        self, thread: threading.Thread, frames: RawStack, deep: bool, number: int,
        since: float,
    ) -> None:
        self.thread = thread
        self.number = number  # the request's number (labels its checkout)
        self.code = None if deep else frames[0]
        self.lasti = None if deep else frames[1]
        self.deep = frames if deep else None
        self.conn: Any = None  # handed over by putconn(), or checked out for it
        self.slot: Slot | None = None  # the slot it validates or opened, not yet checked out
        self.queued = False  # in the pool's queue of waiters
        self.since = since  # the pool's clock when it began waiting
        self.wake = threading.Lock()
        self.wake.acquire()


def on_drop(dropped: list[Slot], slot: Slot) -> Callable[[Any], None]:
    """The weak-reference callback of ``slot``'s connection. It runs while the
    connection is being freed, in any thread, maybe inside the pool's own locked
    code: it only appends to a list, which the pool reads under its lock."""

    def dropped_slot(_ref: Any) -> None:
        dropped.append(slot)

    return dropped_slot


def references(slot: Slot) -> int:
    """References to a slot's (strongly held) connection, as this function sees them.

    Used for keyed connections, which the pool holds: when the count is what it
    was when the connection was new, its borrower dropped it (a leak that the key
    keeps alive). Internal references a driver adds while in use (a result that
    points back at its connection) only make it look held."""
    return sys.getrefcount(slot.conn)
