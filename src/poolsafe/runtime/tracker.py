"""``Tracker``: checkout bookkeeping attached to a pool poolsafe did not build.

The hooks that feed it (``track_sqlalchemy``, ``track_psycopg``) call
:meth:`Tracker.checked_out` with the object whose life is the checkout (a
SQLAlchemy connection fairy, a psycopg connection): it is watched through a weak
reference, so a checkout whose object was garbage-collected before it was
returned is a leak (``stats().leaked``, ``assert_no_leaks()``, the pytest plugin),
even when the pool itself recovers the connection.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from . import tracking
from .errors import InjectedFault, LeakError
from .faults import KINDS, FaultInjector
from .tracking import PHASE, Holder, capture_stack, make_holder

COLLECTED = "garbage-collected while checked out"

_BY_TARGET: weakref.WeakValueDictionary[int, Tracker] = weakref.WeakValueDictionary()
_BY_TARGET_LOCK = threading.Lock()


@dataclass(frozen=True)
class TrackerStats:
    checkouts: int
    returns: int
    in_use: int
    max_in_use: int
    returns_bad: int
    leaked: int
    """Checkouts garbage-collected before they were returned."""

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Entry:
    __slots__ = ("frames", "number", "ref", "seq", "started", "thread")

    def __init__(
        self, number: int, frames: tracking.RawStack, ref: weakref.ref[Any] | None
    ) -> None:
        self.number = number
        self.frames = frames
        self.ref = ref
        self.thread = threading.current_thread()
        self.started = time.monotonic()
        self.seq = PHASE[0]

    def collected(self) -> bool:
        return self.ref is not None and self.ref() is None


def _weak(obj: Any) -> weakref.ref[Any] | None:
    if obj is None:
        return None
    try:
        return weakref.ref(obj)
    except TypeError:
        return None


class Tracker:
    """Checkout bookkeeping attached to a third-party pool.

    ``fault_injector`` fails the pool's statements, commits or connects on demand
    (``tracker.fault_injector(statements=1)``; the ``poolsafe_faults`` fixture arms
    it too); ``kinds`` lists what the hooks of this kind of pool can fail.
    """

    def __init__(
        self,
        target: Any,
        kind: str,
        name: str | None = None,
        *,
        make_error: Callable[[str], Exception] = InjectedFault,
        kinds: Iterable[str] = KINDS,
    ) -> None:
        self.target = target
        self.kind = kind
        self.name = name or f"{kind}-{id(target):x}"
        self.fault_injector = FaultInjector(make_error, kinds)
        self.created_seq = PHASE[0]
        self.persistent = False
        """Kept past the end of the test that created it (set by the pytest plugin
        for trackers made in fixtures wider than a function)."""
        # An RLock: a SQLAlchemy checkin can run inside the garbage collector,
        # which may start while this thread holds the lock.
        self._lock = threading.RLock()
        self._out: dict[int, _Entry] = {}
        self._collected: list[Holder] = []
        self._n_checkouts = self._n_returns = self._max = self._n_bad = 0
        self._undo: list[Callable[[], None]] = []
        self.hooked: set[int] = set()
        """``id()`` of the objects whose hooks feed this tracker (an engine, a pool)."""
        self.detached = False
        tracking.register(self)

    # called by the hooks -----------------------------------------------------------
    def checked_out(self, key: int, obj: Any = None) -> None:
        """A checkout under ``key``; ``obj`` lives exactly as long as the checkout."""
        entry_ref = _weak(obj)
        with self._lock:
            previous = self._out.get(key)
            if previous is not None and entry_ref is not None and previous.ref == entry_ref:
                return  # the same checkout told twice (by two listeners)
        frames = capture_stack()
        with self._lock:
            previous = self._out.get(key)
            if previous is not None and previous.collected():
                self._collect(key, previous)
            self._n_checkouts += 1
            self._out[key] = _Entry(self._n_checkouts, frames, entry_ref)
            self._max = max(self._max, len(self._out))

    def checked_in(self, key: int, in_transaction: bool = False) -> None:
        with self._lock:
            entry = self._out.get(key)
            if entry is None:
                return
            if entry.collected():  # the pool is taking back a dropped connection
                self._collect(key, entry)
                return
            del self._out[key]
            self._n_returns += 1
            if in_transaction:
                self._n_bad += 1
        if in_transaction:
            holder = self._holder(entry, "returned inside a transaction")
            tracking.record_event(
                "bad_return",
                f"{holder.connection} was returned inside an open transaction; "
                f"taken at {holder.site}",
                holder,
            )

    def ran_dry(self, kind: str, message: str) -> None:
        """The pool refused a checkout (``kind``: "exhausted", or "timeout" after
        waiting): kept for the pytest plugin's report with the checkouts held at
        this moment, whose holders are built only when the report reads them."""
        with self._lock:
            entries = sorted(self._out.values(), key=lambda e: e.started)
        now = time.monotonic()
        tracking.record_pool_error(
            kind, self.name, message,
            lambda: [self._holder(e, "checked out", now) for e in entries],
        )

    def add_undo(self, undo: Callable[[], None]) -> None:
        """Register how to remove one hook (run by :meth:`detach`)."""
        self._undo.append(undo)

    # public -------------------------------------------------------------------------
    def holders(self) -> list[Holder]:
        """Connections checked out now (garbage-collected ones are in :meth:`leaks`)."""
        with self._lock:
            self._reap()
            entries = sorted(self._out.values(), key=lambda e: e.started)
        now = time.monotonic()
        return [self._holder(e, "checked out", now) for e in entries]

    def leaks(self) -> list[Holder]:
        """Checkouts garbage-collected before they were returned, oldest first."""
        with self._lock:
            self._reap()
            return list(self._collected)

    def stats(self) -> TrackerStats:
        with self._lock:
            self._reap()
            return TrackerStats(
                checkouts=self._n_checkouts,
                returns=self._n_returns,
                in_use=len(self._out),
                max_in_use=self._max,
                returns_bad=self._n_bad,
                leaked=len(self._collected),
            )

    def assert_no_leaks(self) -> None:
        """Raise :class:`LeakError` naming every connection still checked out or
        garbage-collected while checked out, and where it was taken."""
        holders = self.holders()
        if holders:  # a dropped connection may only wait for the cycle collector
            gc.collect()
            holders = self.holders()
        problems = holders + self.leaks()
        if problems:
            raise LeakError(
                f"{len(problems)} connection(s) of {self.name} leaked (still checked "
                "out, or garbage-collected while checked out):"
                + "".join(f"\n  - {h.report()}" for h in problems)
            )

    def detach(self) -> None:
        """Remove the hooks; the tracker stops seeing checkouts (idempotent)."""
        while self._undo:
            self._undo.pop()()
        self.fault_injector.clear()
        self.hooked.clear()
        self.detached = True
        tracking.unregister(self)
        with _BY_TARGET_LOCK:
            for key, tracker in list(_BY_TARGET.items()):
                if tracker is self:
                    del _BY_TARGET[key]

    def __repr__(self) -> str:
        return f"<Tracker {self.name} in_use={len(self._out)}>"

    # internals ----------------------------------------------------------------------
    def _reap(self) -> None:
        """Move checkouts whose object was garbage-collected to the leaks; the lock
        is held."""
        for key, entry in [(k, e) for k, e in self._out.items() if e.collected()]:
            self._collect(key, entry)

    def _collect(self, key: int, entry: _Entry) -> None:
        if self._out.get(key) is entry:
            del self._out[key]
        holder = self._holder(entry, COLLECTED)
        self._collected.append(holder)
        tracking.record_event(
            "collected",
            f"{holder.connection} was {COLLECTED} (never returned). Taken at {holder.site}",
            holder,
        )

    def _holder(self, entry: _Entry, state: str, now: float | None = None) -> Holder:
        return make_holder(
            self.name,
            f"connection #{entry.number} of {self.name}",
            entry.thread,
            entry.started,
            entry.frames,
            state,
            entry.seq,
            now,
        )


LIBRARIES = ("sqlalchemy", "psycopg2", "psycopg_pool", "poolsafe.runtime", "peewee", "playhouse",
             "django")


def library_of(obj: Any) -> str | None:
    """Which pool library ``obj``'s class comes from, subclasses included (an
    application's ``class Pool(ThreadedConnectionPool)``): a prefix of
    :data:`LIBRARIES`, or ``None``."""
    for cls in type(obj).__mro__:
        module = cls.__module__
        for library in LIBRARIES:
            if module == library or module.startswith(library + "."):
                return library
    return None


def tracker_for(hooked: Any) -> Tracker | None:
    """The live tracker attached to ``hooked`` (a pool), if any."""
    with _BY_TARGET_LOCK:
        tracker = _BY_TARGET.get(id(hooked))
    if tracker is None or tracker.detached:
        return None
    return tracker


def remember(hooked: Any, tracker: Tracker) -> None:
    with _BY_TARGET_LOCK:
        _BY_TARGET[id(hooked)] = tracker


def live_trackers() -> list[Tracker]:
    with _BY_TARGET_LOCK:
        trackers = list(_BY_TARGET.values())
    unique = {id(t): t for t in trackers if not t.detached}  # an engine and its pool
    return list(unique.values())
