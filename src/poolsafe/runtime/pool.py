"""``ConnectionPool``: a tracked drop-in for ``psycopg2.pool.ThreadedConnectionPool``."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from types import FrameType, TracebackType
from typing import Any

from . import drivers, tracking
from .errors import PoolError, PoolTimeout
from .faults import FaultInjector, FaultSet
from .proxy import CLOSED_BY_BORROWER, OUT, Checkout, PooledConnection, new_proxy, set_record
from .tracking import (
    _RUNTIME_DIR,
    STACK_LIMIT,
    Frame,
    Holder,
    describe_holders,
    make_holder,
    next_seq,
)

logger = logging.getLogger("poolsafe.runtime")

_UNSET: Any = object()
_pool_ids = itertools.count(1)
_WAIT_SLICE = 0.05  # waiters wake up at least this often to collect reclaimed slots


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of the pool's counters."""

    min: int
    max: int
    size: int
    available: int
    in_use: int
    waiting: int
    requests: int
    timeouts: int
    exhausted: int
    returns_bad: int
    discarded: int
    closed_by_borrower: int
    collected: int
    leaks_reported: int
    connects: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ConnectionPool:
    """A thread-safe connection pool that knows who holds every connection.

    ``getconn``/``putconn``/``closeall`` behave like psycopg2's
    ``ThreadedConnectionPool``; connections are handed out as
    :class:`PooledConnection` proxies.
    """

    def __init__(
        self,
        minconn: int,
        maxconn: int,
        *,
        dsn: str | None = None,
        connect: Callable[[], Any] | None = None,
        driver: str | None = None,
        timeout: float | None = None,
        leak_threshold: float | None = None,
        validate_idle: float | None = None,
        name: str | None = None,
        stack_depth: int = STACK_LIMIT,
        **connect_kwargs: Any,
    ) -> None:
        self.minconn = int(minconn)
        self.maxconn = int(maxconn)
        if self.minconn < 0 or self.maxconn < 1 or self.minconn > self.maxconn:
            raise ValueError("need 0 <= minconn <= maxconn and maxconn >= 1")
        if connect is not None and dsn is not None:
            raise TypeError("give either dsn= or connect=, not both")
        self.closed = False
        self.timeout = timeout
        self.leak_threshold = leak_threshold
        self.validate_idle = validate_idle
        self.stack_depth = stack_depth
        self.name = name or f"pool-{next(_pool_ids)}"
        self.dsn = dsn
        if connect is None:
            target = dsn if dsn is not None else ":memory:"
            self._driver = drivers.get_driver(driver) if driver else drivers.driver_for_dsn(target)
            self._connect = drivers.connector(self._driver, target, connect_kwargs)
            self._driver_known = True
        else:
            if connect_kwargs:
                raise TypeError("connection keyword arguments need dsn=, not connect=")
            self._connect = connect
            self._driver = drivers.get_driver(driver) if driver else drivers.Driver()
            self._driver_known = driver is not None
        self._track_dirty = self._driver.tracks_statements()
        self._faults = FaultInjector(self._make_error)

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._idle: list[tuple[Any, float]] = []  # (driver connection, last returned)
        self._out: dict[int, Checkout] = {}
        self._keyed: dict[Hashable, tuple[Checkout, weakref.ref[PooledConnection]]] = {}
        self._opening = 0
        self._pending: deque[Checkout] = deque()
        self._n_requests = self._n_timeouts = self._n_exhausted = self._n_bad = 0
        self._n_discarded = self._n_closed = self._n_collected = 0
        self._n_leaks = self._n_connects = self._waiting = 0
        self._stop_watch = threading.Event()

        for _ in range(self.minconn):
            self._idle.append((self._new_connection(), time.monotonic()))
        if leak_threshold is not None:
            _start_leak_watcher(self, leak_threshold, self._stop_watch)
        tracking.register(self)

    # ------------------------------------------------------------------ psycopg2 API
    def getconn(self, key: Hashable | None = None, *, timeout: float | None = _UNSET) -> Any:
        """Check out a connection (the same one again for a known ``key``).

        With no ``timeout`` (the pool's default) an exhausted pool raises
        ``PoolError("connection pool exhausted")`` at once, like psycopg2;
        with one, the call waits up to that many seconds, then raises ``PoolTimeout``.
        """
        # Inline copy of tracking.capture_stack(): this is the hot path.
        frames: list[Frame] = []
        append = frames.append
        f: FrameType | None = sys._getframe(1)
        while f is not None and f.f_code.co_filename.startswith(_RUNTIME_DIR):
            f = f.f_back
        depth = self.stack_depth
        while f is not None and depth:
            append((f.f_code, f.f_lasti))
            f = f.f_back
            depth -= 1
        thread = threading.current_thread()
        if timeout is _UNSET:
            timeout = self.timeout
        deadline: float | None = None
        conn: Any = None
        with self._lock:
            if self.closed:
                raise PoolError("connection pool is closed")
            self._n_requests += 1
            if self._pending:
                self._drain_pending()
            if key is not None:
                known = self._keyed.get(key)
                if known is not None:
                    proxy = known[1]()
                    if proxy is not None:
                        return proxy
            while True:
                if self._idle:
                    conn, last_used = self._idle.pop()
                    validate = self.validate_idle
                    if validate is None or time.monotonic() - last_used < validate:
                        return self._checkout(conn, key, thread, frames)
                    self._opening += 1  # reserve the slot while pinging outside the lock
                    break
                if len(self._out) + self._opening < self.maxconn:
                    self._opening += 1
                    break
                if not timeout or timeout <= 0:
                    self._n_exhausted += 1
                    raise PoolError("connection pool exhausted" + self._holders_text())
                now = time.monotonic()
                if deadline is None:
                    deadline = now + timeout
                elif now >= deadline:
                    self._n_timeouts += 1
                    raise PoolTimeout(
                        f"connection pool exhausted: timed out after {timeout:.2f} s "
                        f"waiting for a connection" + self._holders_text()
                    )
                self._waiting += 1
                try:
                    self._cond.wait(min(deadline - now, _WAIT_SLICE))
                finally:
                    self._waiting -= 1
                if self.closed:
                    raise PoolError("connection pool is closed")
                if self._pending:
                    self._drain_pending()
        # A slot is reserved: validate the idle connection or open a new one.
        try:
            if conn is not None and not self._ping(conn):
                conn = None
            if conn is None:
                conn = self._new_connection()
        except BaseException:
            with self._lock:
                self._opening -= 1
                self._cond.notify()
            raise
        with self._lock:
            self._opening -= 1
            if self.closed:
                _close_quietly(conn)
                raise PoolError("connection pool is closed")
            return self._checkout(conn, key, thread, frames)

    def putconn(self, conn: Any = None, key: Hashable | None = None, close: bool = False) -> None:
        """Give a connection back. One left in a transaction is rolled back (and
        counted in ``returns_bad``); a closed or broken one is discarded."""
        if self.closed:
            raise PoolError("connection pool is closed")
        if type(conn) is PooledConnection and conn._record is not None and key is None:
            record = conn._record
        else:
            record = self._record_of(conn, key)
        raw = record.conn
        if type(conn) is PooledConnection:
            set_record(conn, None)  # later use of this proxy raises PoolError
        bad = False
        keep = not close and record.state == OUT
        if keep:
            status = self._driver.status(raw, record.dirty)
            if status in (drivers.INTRANS, drivers.INERROR):
                bad = True
                keep = self._rollback(raw)
            elif status != drivers.IDLE:
                keep = False
            elif record.suspect:
                keep = self._ping(raw)
        if not keep:
            _close_quietly(raw)
        with self._lock:
            if self._out.pop(id(raw), None) is None:
                raise PoolError("trying to put unkeyed connection")
            if record.key is not None:
                self._keyed.pop(record.key, None)
            if keep and not self.closed:
                self._idle.append((raw, time.monotonic() if self.validate_idle else 0.0))
            elif not close and record.state == OUT:
                self._n_discarded += 1
            if bad:
                self._n_bad += 1
            record.state = "returned"
            if self._waiting:
                self._cond.notify()
        if bad:
            holder = self._holder(record, "returned inside a transaction")
            tracking.record_event(
                "bad_return",
                f"{holder.connection} was returned inside an open transaction "
                f"(rolled back by the pool); taken at {holder.site}",
                holder,
            )
        if record.reported:
            logger.info(
                "Previously reported leaked connection %s on thread %s was returned "
                "after %.3f s",
                self._label(record),
                record.thread.name,
                time.monotonic() - record.started,
            )

    def closeall(self) -> None:
        """Close every connection, including those in use, and close the pool."""
        with self._lock:
            if self.closed:
                raise PoolError("connection pool is closed")
            self.closed = True
            idle = [conn for conn, _ in self._idle]
            records = list(self._out.values())
            self._idle.clear()
            self._out.clear()
            self._keyed.clear()
            self._cond.notify_all()
        self._stop_watch.set()
        tracking.unregister(self)
        for record in records:
            if record.state == OUT:
                holder = self._holder(record, "still checked out when the pool was closed")
                tracking.record_event(
                    "closed_pool",
                    f"{holder.connection} was still checked out when {self.name} was "
                    f"closed; taken at {holder.site}",
                    holder,
                )
            record.state = "pool closed"
        for conn in idle + [r.conn for r in records]:
            _close_quietly(conn)

    # ------------------------------------------------------------------ extras
    def connection(self, timeout: float | None = _UNSET) -> _Borrow:
        """``with pool.connection() as conn:`` commits on success, rolls back on
        error and always gives the connection back."""
        return _Borrow(self, timeout)

    def faults(
        self,
        *,
        statements: int = 0,
        commits: int = 0,
        connects: int = 0,
        after: int = 0,
        match: str | None = None,
    ) -> FaultSet:
        """Make the next statements, commits or connects fail with the driver's
        ``OperationalError``; usable as a context manager."""
        return self._faults(
            statements=statements, commits=commits, connects=connects, after=after, match=match
        )

    @property
    def fault_injector(self) -> FaultInjector:
        return self._faults

    @property
    def driver(self) -> str:
        return self._driver.name

    def stats(self) -> PoolStats:
        with self._lock:
            if self._pending:
                self._drain_pending()
            in_use = len(self._out) + self._opening
            return PoolStats(
                min=self.minconn,
                max=self.maxconn,
                size=in_use + len(self._idle),
                available=len(self._idle),
                in_use=in_use,
                waiting=self._waiting,
                requests=self._n_requests,
                timeouts=self._n_timeouts,
                exhausted=self._n_exhausted,
                returns_bad=self._n_bad,
                discarded=self._n_discarded,
                closed_by_borrower=self._n_closed,
                collected=self._n_collected,
                leaks_reported=self._n_leaks,
                connects=self._n_connects,
            )

    def holders(self) -> list[Holder]:
        """Who holds which connection, from where, since when (oldest first)."""
        with self._lock:
            if self._pending:
                self._drain_pending()
            records = sorted(self._out.values(), key=lambda r: r.started)
        now = time.monotonic()
        return [self._holder(r, r.state, now) for r in records]

    def check_leaks(self, now: float | None = None) -> list[Holder]:
        """Log (once) every connection held longer than ``leak_threshold``; return them.

        Called by the background watcher; call it yourself for deterministic checks.
        """
        threshold = self.leak_threshold
        if threshold is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            late = [
                r
                for r in self._out.values()
                if not r.reported and r.state == OUT and now - r.started >= threshold
            ]
            for record in late:
                record.reported = True
            self._n_leaks += len(late)
        found = []
        for record in late:
            holder = self._holder(record, record.state, now)
            found.append(holder)
            logger.warning(
                "Connection leak detection triggered for %s on thread %s, held for %.3f s "
                "(leak_threshold=%s s); it was taken at %s, stack trace follows:\n%s",
                holder.connection,
                holder.thread,
                holder.age,
                threshold,
                holder.site,
                holder.stack,
            )
        return found

    def assert_no_leaks(self) -> None:
        from .errors import LeakError

        holders = self.holders()
        if holders:
            raise LeakError(
                f"{len(holders)} connection(s) of {self.name} still checked out:"
                + "".join(f"\n  - {h.report()}" for h in holders)
            )

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{len(self._out)}/{self.maxconn} in use"
        return f"<ConnectionPool {self.name} {self._driver.name} {state}>"

    # ------------------------------------------------------------------ internals
    def _checkout(
        self,
        conn: Any,
        key: Hashable | None,
        thread: threading.Thread,
        frames: list[Any],
    ) -> PooledConnection:
        """Register a checkout and wrap the connection in a new proxy; the lock is held."""
        record = Checkout(conn, self._n_requests, key, thread, time.monotonic(), frames, next_seq())
        self._out[id(conn)] = record
        proxy = new_proxy(conn, self, record)
        if key is not None:
            self._keyed[key] = (record, weakref.ref(proxy))
        return proxy

    def _record_of(self, conn: Any, key: Hashable | None) -> Checkout:
        record: Checkout | None = None
        if isinstance(conn, PooledConnection):
            record = conn._record
        elif conn is not None:
            record = self._out.get(id(conn))
        if record is None and key is not None:
            known = self._keyed.get(key)
            record = known[0] if known is not None else None
        if record is None or record.state == "returned":
            raise PoolError("trying to put unkeyed connection")
        return record

    def _new_connection(self) -> Any:
        if self._faults.active:
            self._faults.check("connect")
        conn = self._connect()
        if not self._driver_known:
            self._driver = drivers.driver_for_connection(conn)
            self._track_dirty = self._driver.tracks_statements()
            self._driver_known = True
        with self._lock:
            self._n_connects += 1
        return conn

    def _make_error(self, message: str) -> Exception:
        return self._driver.error(message)

    def _ping(self, conn: Any) -> bool:
        try:
            self._driver.ping(conn)
        except Exception:
            logger.info("discarding a connection of %s that failed its check", self.name)
            _close_quietly(conn)
            with self._lock:
                self._n_discarded += 1
            return False
        return True

    def _rollback(self, conn: Any) -> bool:
        try:
            conn.rollback()
        except Exception:
            return False
        return self._driver.status(conn, False) == drivers.IDLE

    def _label(self, record: Checkout) -> str:
        return f"connection (checkout #{record.number}) of {self.name}"

    def _holder(self, record: Checkout, state: str, now: float | None = None) -> Holder:
        return make_holder(
            self.name,
            self._label(record),
            record.thread,
            record.started,
            record.frames,
            state,
            record.seq,
            now,
        )

    def _holders_text(self) -> str:
        """Holder list for error messages; the lock is held."""
        records = sorted(self._out.values(), key=lambda r: r.started)
        now = time.monotonic()
        holders = [self._holder(r, r.state, now) for r in records]
        return f" ({len(holders)} of {self.maxconn} in use):" + describe_holders(holders)

    def _closed_by_borrower(self, record: Checkout) -> None:
        with self._lock:
            record.state = CLOSED_BY_BORROWER
            self._n_closed += 1
        holder = self._holder(record, CLOSED_BY_BORROWER)
        message = (
            f"{holder.connection} was closed by its borrower instead of being returned "
            f"with putconn(); its slot stays in use (as in psycopg2's pool). "
            f"Taken at {holder.site}"
        )
        logger.warning("%s", message)
        tracking.record_event("closed", message, holder)

    def _collected(self, record: Checkout) -> None:
        """A proxy was garbage-collected while checked out (called from ``__del__``)."""
        if self.closed:
            return
        self._pending.append(record)
        if self._lock.acquire(blocking=False):
            try:
                self._drain_pending()
            finally:
                self._lock.release()

    def _drain_pending(self) -> None:
        """Recover the slots of collected proxies; the lock is held."""
        while self._pending:
            record = self._pending.popleft()
            if self._out.get(id(record.conn)) is not record or record.state != OUT:
                continue
            del self._out[id(record.conn)]
            if record.key is not None:
                self._keyed.pop(record.key, None)
            record.state = "returned"
            self._n_collected += 1
            _close_quietly(record.conn)
            holder = self._holder(record, "garbage-collected while checked out")
            message = (
                f"{holder.connection} was garbage-collected while checked out; the pool "
                f"recovered its slot. Taken at {holder.site}"
            )
            logger.warning("%s", message)
            tracking.record_event("collected", message, holder)
            self._cond.notify()


class _Borrow:
    """Context manager returned by :meth:`ConnectionPool.connection`."""

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: ConnectionPool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: PooledConnection | None = None

    def __enter__(self) -> PooledConnection:
        conn = self._pool.getconn(timeout=self._timeout)
        self._conn = conn
        return conn  # type: ignore[no-any-return]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if exc_type is None:
                conn.commit()
            else:
                try:
                    conn.rollback()
                except Exception:
                    logger.debug("rollback failed after an error", exc_info=True)
        finally:
            if not self._pool.closed:
                self._pool.putconn(conn)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:
        logger.debug("error closing a connection", exc_info=True)


def _start_leak_watcher(pool: ConnectionPool, threshold: float, stop: threading.Event) -> None:
    ref = weakref.ref(pool)
    interval = max(0.01, min(threshold / 4, 1.0))

    def watch() -> None:
        while not stop.wait(interval):
            target = ref()
            if target is None:
                return
            try:
                target.check_leaks()
            except Exception:  # pragma: no cover - keep the watcher alive
                logger.exception("leak check failed")
            del target

    threading.Thread(target=watch, name=f"poolsafe-leak-watcher-{pool.name}", daemon=True).start()
