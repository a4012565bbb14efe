"""``track()``: watch checkouts of pools you did not build (SQLAlchemy, psycopg2,
psycopg_pool) and report who holds what."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from . import tracking
from .errors import LeakError
from .tracking import PHASE, Holder, capture_stack, make_holder


@dataclass(frozen=True)
class TrackerStats:
    checkouts: int
    returns: int
    in_use: int
    max_in_use: int
    returns_bad: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Entry:
    __slots__ = ("frames", "number", "seq", "started", "thread")

    def __init__(self, number: int, frames: tracking.RawStack) -> None:
        self.number = number
        self.frames = frames
        self.thread = threading.current_thread()
        self.started = time.monotonic()
        self.seq = PHASE[0]


class Tracker:
    """Checkout bookkeeping attached to a third-party pool."""

    def __init__(self, target: Any, kind: str, name: str | None = None) -> None:
        self.target = target
        self.kind = kind
        self.name = name or f"{kind}-{id(target):x}"
        self._lock = threading.Lock()
        self._out: dict[int, _Entry] = {}
        self._n_checkouts = self._n_returns = self._max = self._n_bad = 0
        self._undo: list[Callable[[], None]] = []
        tracking.register(self)

    # called by the hooks -----------------------------------------------------------
    def checked_out(self, key: int) -> None:
        frames = capture_stack()
        with self._lock:
            self._n_checkouts += 1
            self._out[key] = _Entry(self._n_checkouts, frames)
            self._max = max(self._max, len(self._out))

    def checked_in(self, key: int, in_transaction: bool = False) -> None:
        with self._lock:
            entry = self._out.pop(key, None)
            if entry is None:
                return
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

    # public -------------------------------------------------------------------------
    def holders(self) -> list[Holder]:
        with self._lock:
            entries = sorted(self._out.values(), key=lambda e: e.started)
        now = time.monotonic()
        return [self._holder(e, "checked out", now) for e in entries]

    def stats(self) -> TrackerStats:
        with self._lock:
            return TrackerStats(
                checkouts=self._n_checkouts,
                returns=self._n_returns,
                in_use=len(self._out),
                max_in_use=self._max,
                returns_bad=self._n_bad,
            )

    def assert_no_leaks(self) -> None:
        holders = self.holders()
        if holders:
            raise LeakError(
                f"{len(holders)} connection(s) of {self.name} still checked out:"
                + "".join(f"\n  - {h.report()}" for h in holders)
            )

    def detach(self) -> None:
        """Remove the hooks; the tracker stops seeing checkouts."""
        while self._undo:
            self._undo.pop()()
        tracking.unregister(self)

    def __repr__(self) -> str:
        return f"<Tracker {self.name} in_use={len(self._out)}>"

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


def track(target: Any, *, name: str | None = None) -> Tracker:
    """Attach a :class:`Tracker` to a SQLAlchemy engine or pool, a psycopg2 pool
    or a psycopg_pool pool."""
    module = type(target).__module__
    if module.startswith("sqlalchemy"):
        return _track_sqlalchemy(target, name)
    if module.startswith("psycopg2"):
        return _track_methods(target, "psycopg2", name, _psycopg2_in_transaction)
    if module.startswith("psycopg_pool"):
        return _track_methods(target, "psycopg_pool", name, _psycopg_in_transaction)
    raise TypeError(
        f"cannot track {type(target).__qualname__}: expected a SQLAlchemy engine/pool, "
        "a psycopg2 pool or a psycopg_pool pool"
    )


def _track_sqlalchemy(target: Any, name: str | None) -> Tracker:
    from sqlalchemy import event

    pool = getattr(target, "pool", target)
    tracker = Tracker(target, "sqlalchemy", name)

    def on_checkout(dbapi_conn: Any, record: Any, proxy: Any) -> None:
        tracker.checked_out(id(record))

    def on_checkin(dbapi_conn: Any, record: Any) -> None:
        tracker.checked_in(id(record))

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)

    def undo() -> None:
        event.remove(pool, "checkout", on_checkout)
        event.remove(pool, "checkin", on_checkin)

    tracker._undo.append(undo)
    return tracker


def _psycopg2_in_transaction(conn: Any) -> bool:
    return not conn.closed and conn.get_transaction_status() in (1, 2, 3)


def _psycopg_in_transaction(conn: Any) -> bool:
    return not conn.closed and int(conn.info.transaction_status) in (1, 2, 3)


def _track_methods(
    pool: Any, kind: str, name: str | None, in_transaction: Callable[[Any], bool]
) -> Tracker:
    """Wrap ``getconn``/``putconn`` on the instance (both pools route through them)."""
    tracker = Tracker(pool, kind, name)
    original_get = pool.getconn
    original_put = pool.putconn

    def getconn(*args: Any, **kwargs: Any) -> Any:
        conn = original_get(*args, **kwargs)
        tracker.checked_out(id(conn))
        return conn

    def putconn(conn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bad = in_transaction(conn)
        except Exception:
            bad = False
        result = original_put(conn, *args, **kwargs)
        tracker.checked_in(id(conn), bad)
        return result

    pool.getconn = getconn
    pool.putconn = putconn

    def undo() -> None:
        del pool.getconn
        del pool.putconn

    tracker._undo.append(undo)
    return tracker
