"""``ConnectionPool``: a tracked drop-in for ``psycopg2.pool.ThreadedConnectionPool``."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from . import drivers, tracking
from .errors import PoolError, PoolTimeout
from .faults import FaultInjector, FaultSet
from .proxy import (
    CLOSED_BY_BORROWER,
    CONN,
    DIRTY,
    FRAMES,
    KEY,
    NUMBER,
    OUT,
    POOL_CLOSED,
    PROXY,
    REPORTED,
    RETURNED,
    SEQ,
    STARTED,
    STATE,
    SUSPECT,
    THREAD,
    Checkout,
    PooledConnection,
    get_record,
    new_checkout,
    new_proxy,
    set_record,
)
from .tracking import (
    DEEP_STACK_DEPTH,
    PHASE,
    Holder,
    RawStack,
    capture_stack,
    describe_holders,
    make_holder,
)

logger = logging.getLogger("poolsafe.runtime")

_UNSET: Any = object()
_pool_ids = itertools.count(1)
_WAIT_SLICE = 0.05  # waiters wake up at least this often to collect reclaimed slots

# Hot-path helpers, bound once.
_getframe = sys._getframe
_monotonic = time.monotonic
_getrefcount = sys.getrefcount
_local = threading.local()  # .thread: the current Thread (cheaper than current_thread())


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
        stack_depth: int | None = None,
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
        self._stack_depth_given = stack_depth
        self.stack_depth = 0  # frames recorded per checkout (set just below)
        self._follow_default_depth(tracking.default_stack_depth())
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
        self._track_dirty = False
        self._probe: Callable[[Any], object] | None = None
        self._probe_idle: object = None
        self._use_driver(self._driver)
        self._faults = FaultInjector(self._make_error)

        self._lock = threading.Lock()
        self._acquire = self._lock.acquire
        self._release = self._lock.release
        self._cond = threading.Condition(self._lock)
        self._idle: list[Any] = []  # driver connections, most recently returned last
        self._idle_since: dict[int, float] = {}  # id(conn) -> returned at (validate_idle)
        self._out: dict[int, Checkout] = {}  # id(driver connection) -> checkout record
        self._keyed: dict[Hashable, Checkout] = {}
        self._opening = 0
        self._n_requests = self._n_timeouts = self._n_exhausted = self._n_bad = 0
        self._n_discarded = self._n_closed = self._n_collected = 0
        self._n_leaks = self._n_connects = self._waiting = 0
        self._stop_watch = threading.Event()

        for _ in range(self.minconn):
            conn = self._new_connection()
            self._idle.append(conn)
            if validate_idle is not None:
                self._idle_since[id(conn)] = time.monotonic()
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
        # Who is borrowing: by default only the caller's own frame (code object
        # and bytecode offset: file, line and function), read without a loop and
        # stored in the record itself. Deeper stacks (stack_depth=) are walked.
        depth = self.stack_depth
        deeper: RawStack | None = None
        if depth == 1:
            f = _getframe(1)
            code: Any = f.f_code
            if code is _BORROW_ENTER:  # pool.connection(): its caller borrows
                f = f.f_back  # type: ignore[assignment]
                code = f.f_code
            lasti: Any = f.f_lasti
        else:
            deeper = capture_stack(depth)
            code = lasti = None
        try:
            thread = _local.thread
        except AttributeError:
            thread = _local.thread = threading.current_thread()
        # acquire()/try/finally: half the cost of ``with lock:`` on CPython 3.11.
        self._acquire()
        try:
            if self.closed:
                raise PoolError("connection pool is closed")
            self._n_requests += 1
            if key is None and self._idle and self.validate_idle is None:
                # Fast path: inline _checkout() of the most recently returned connection.
                conn = self._idle.pop()
                record = [
                    conn, self, self._n_requests, None, thread, _monotonic(), PHASE[0],
                    OUT, False, False, False, None, code, lasti,
                ]  # fmt: skip
                if deeper is not None:
                    record[FRAMES:] = deeper
                self._out[id(conn)] = record
                proxy = PooledConnection()
                set_record(proxy, record)
                record[PROXY] = proxy
                return proxy
        finally:
            self._release()
        frames = [code, lasti] if deeper is None else deeper
        return self._getconn_slow(key, timeout, thread, frames)

    def _getconn_slow(
        self, key: Hashable | None, timeout: float | None, thread: threading.Thread,
        frames: RawStack,
    ) -> Any:
        """``getconn`` for a key, validation of idle connections, a new connection or
        an exhausted pool (the request is already counted)."""
        if timeout is _UNSET:
            timeout = self.timeout
        deadline: float | None = None
        conn: Any = None
        with self._lock:
            if self.closed:
                raise PoolError("connection pool is closed")
            if key is not None:
                known = self._keyed.get(key)
                if known is not None and known[PROXY] is not None:
                    if not _only_the_record_holds(known):
                        return known[PROXY]
                    self._reap()  # dropped by its borrower: the key is free again
            while True:
                if self._idle:
                    conn = self._idle.pop()
                    last_used = self._idle_since.pop(id(conn), 0.0)
                    validate = self.validate_idle
                    if validate is None or time.monotonic() - last_used < validate:
                        return self._checkout(conn, key, thread, frames)
                    self._opening += 1  # reserve the slot while pinging outside the lock
                    break
                if self._out:
                    self._reap()  # recover dropped connections before growing or failing
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
        if type(conn) is PooledConnection and key is None and not close:
            # Fast path: a proxy, checked out and open, idle according to the
            # driver's probe (a client-side C call, no server round trip).
            record = conn._record  # (a plain slot read: __getattr__ is not involved)
            raw = record[CONN]
            idle = False
            if record[STATE] == OUT and not record[SUSPECT]:
                probe = self._probe
                try:
                    idle = probe is not None and probe(raw) == self._probe_idle
                except Exception:
                    idle = False
            if idle:
                done = False
                self._acquire()
                try:
                    out = self._out  # (emptied by closeall(): no separate closed check)
                    current: Any = out.pop(id(raw), None)
                    if current is not record:
                        # Returned meanwhile by another thread, maybe checked out again.
                        if current is not None:
                            out[id(raw)] = current
                    else:
                        record[STATE] = RETURNED
                        record[PROXY] = None  # the proxy may go now
                        if record[KEY] is not None:
                            self._keyed.pop(record[KEY], None)
                        self._idle.append(raw)
                        if self.validate_idle is not None:
                            self._idle_since[id(raw)] = _monotonic()
                        if self._waiting:
                            self._cond.notify()
                        done = True
                finally:
                    self._release()
                if done:
                    if record[REPORTED]:
                        self._log_late_return(record)
                    return
            if record[STATE] == RETURNED:
                raise PoolError("trying to put unkeyed connection")
        else:
            record = self._record_of(conn, key)
        self._putconn_slow(record, close)

    def _putconn_slow(self, record: Checkout, close: bool) -> None:
        raw = record[CONN]
        state = record[STATE]
        bad = False
        keep = not close and state == OUT
        if keep:
            status = self._driver.status(raw, record[DIRTY])
            if status in (drivers.INTRANS, drivers.INERROR):
                bad = True
                keep = self._rollback(raw)
            elif status != drivers.IDLE:
                keep = False
            elif record[SUSPECT]:
                keep = self._ping(raw)
        if not keep:
            _close_quietly(raw)
        with self._lock:
            current: Any = self._out.get(id(raw))
            if current is not record:
                # Not ours, or returned meanwhile (and maybe checked out again since).
                raise PoolError("trying to put unkeyed connection")
            del self._out[id(raw)]
            record[STATE] = RETURNED
            record[PROXY] = None
            if record[KEY] is not None:
                self._keyed.pop(record[KEY], None)
            if keep and not self.closed:
                self._idle.append(raw)
                if self.validate_idle is not None:
                    self._idle_since[id(raw)] = _monotonic()
            elif not close and state == OUT:
                self._n_discarded += 1
            if bad:
                self._n_bad += 1
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
        if record[REPORTED]:
            self._log_late_return(record)

    def _log_late_return(self, record: Checkout) -> None:
        logger.info(
            "Previously reported leaked connection %s on thread %s was returned after %.3f s",
            self._label(record),
            record[THREAD].name,
            time.monotonic() - record[STARTED],
        )

    def closeall(self) -> None:
        """Close every connection, including those in use, and close the pool."""
        with self._lock:
            if self.closed:
                raise PoolError("connection pool is closed")
            self.closed = True
            idle = list(self._idle)
            records = list(self._out.values())
            self._idle.clear()
            self._idle_since.clear()
            self._out.clear()
            self._keyed.clear()
            self._cond.notify_all()
        self._stop_watch.set()
        tracking.unregister(self)
        for record in records:
            if record[STATE] == OUT:
                holder = self._holder(record, "still checked out when the pool was closed")
                tracking.record_event(
                    "closed_pool",
                    f"{holder.connection} was still checked out when {self.name} was "
                    f"closed; taken at {holder.site}",
                    holder,
                )
            record[STATE] = POOL_CLOSED
            record[PROXY] = None
        for conn in idle + [r[CONN] for r in records]:
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
            self._reap()
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
            self._reap()
            records = sorted(self._out.values(), key=_started)
        now = time.monotonic()
        return [self._holder(r, r[STATE], now) for r in records]

    def check_leaks(self, now: float | None = None) -> list[Holder]:
        """Log (once) every connection held longer than ``leak_threshold``; return them.

        Called by the background watcher; call it yourself for deterministic checks.
        """
        threshold = self.leak_threshold
        if threshold is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            self._reap()
            late = [
                r
                for r in self._out.values()
                if not r[REPORTED] and r[STATE] == OUT and now - r[STARTED] >= threshold
            ]
            for record in late:
                record[REPORTED] = True
            self._n_leaks += len(late)
        found = []
        for record in late:
            holder = self._holder(record, record[STATE], now)
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
        frames: RawStack,
    ) -> PooledConnection:
        """Register a checkout and wrap the connection in a new proxy; the lock is held."""
        record = new_checkout(
            conn, self, self._n_requests, key, thread, _monotonic(), frames, PHASE[0]
        )
        self._out[id(conn)] = record
        proxy = record[PROXY] = new_proxy(record)
        if key is not None:
            self._keyed[key] = record
        return proxy

    def _follow_default_depth(self, default: int) -> None:
        """Apply the process-wide default stack depth unless ``stack_depth=`` was given."""
        given = self._stack_depth_given
        if given is not None:
            self.stack_depth = int(given)
        elif self.leak_threshold is not None:
            self.stack_depth = max(default, DEEP_STACK_DEPTH)
        else:
            self.stack_depth = default

    def _record_of(self, conn: Any, key: Hashable | None) -> Checkout:
        record: Checkout | None = None
        if isinstance(conn, PooledConnection):
            record = get_record(conn)
        elif conn is not None:
            record = self._out.get(id(conn))
        if record is None and key is not None:
            record = self._keyed.get(key)
        if record is None or record[STATE] == RETURNED:
            raise PoolError("trying to put unkeyed connection")
        return record

    def _use_driver(self, driver: drivers.Driver) -> None:
        self._driver = driver
        self._track_dirty = driver.tracks_statements()
        probe = None if self._track_dirty else driver.idle_probe()
        self._probe, self._probe_idle = probe if probe is not None else (None, None)

    def _new_connection(self) -> Any:
        if self._faults.active:
            self._faults.check("connect")
        conn = self._connect()
        if not self._driver_known:
            self._use_driver(drivers.driver_for_connection(conn))
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
        return f"connection (checkout #{record[NUMBER]}) of {self.name}"

    def _holder(self, record: Checkout, state: str, now: float | None = None) -> Holder:
        return make_holder(
            self.name,
            self._label(record),
            record[THREAD],
            record[STARTED],
            record[FRAMES:],
            state,
            record[SEQ],
            now,
        )

    def _holders_text(self) -> str:
        """Holder list for error messages; the lock is held."""
        records = sorted(self._out.values(), key=_started)
        now = time.monotonic()
        holders = [self._holder(r, r[STATE], now) for r in records]
        return f" ({len(holders)} of {self.maxconn} in use):" + describe_holders(holders)

    def _closed_by_borrower(self, record: Checkout) -> None:
        with self._lock:
            record[STATE] = CLOSED_BY_BORROWER
            self._n_closed += 1
        holder = self._holder(record, CLOSED_BY_BORROWER)
        message = (
            f"{holder.connection} was closed by its borrower instead of being returned "
            f"with putconn(); its slot stays in use (as in psycopg2's pool). "
            f"Taken at {holder.site}"
        )
        logger.warning("%s", message)
        tracking.record_event("closed", message, holder)

    def _reap(self) -> None:
        """Recover the slots of checked-out proxies nobody references any more; the
        lock is held.

        A checkout record holds its proxy until the connection is returned, so a
        borrower that drops its proxy without ``putconn()`` leaves the record's
        reference as the only one. This runs whenever the pool is consulted
        (``stats()``, ``holders()``, ``check_leaks()`` and its watcher, and every
        checkout that cannot be served from an idle connection), not on each
        checkout. A proxy kept alive by a reference cycle counts as referenced until
        the garbage collector breaks the cycle.
        """
        dropped = [r for r in self._out.values() if _only_the_record_holds(r)]
        for record in dropped:
            record[PROXY] = None  # the proxy goes now
            if record[STATE] != OUT:
                continue  # closed without putconn(): the slot stays lost (psycopg2)
            conn = record[CONN]
            del self._out[id(conn)]
            if record[KEY] is not None:
                self._keyed.pop(record[KEY], None)
            record[STATE] = RETURNED
            self._n_collected += 1
            _close_quietly(conn)
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


def _only_the_record_holds(record: Checkout) -> bool:
    """Whether the record's proxy is referenced by the record alone."""
    return _getrefcount(record[PROXY]) <= _RECORD_ONLY


def _record_only_count() -> int:
    """What :func:`_only_the_record_holds` sees for a proxy nobody else references
    (the same expression, so the interpreter's own temporary references match)."""
    record: Checkout = [None] * (PROXY + 1)
    record[PROXY] = object()
    count: int = _getrefcount(record[PROXY])
    return count


_RECORD_ONLY = _record_only_count()


def _started(record: Checkout) -> float:
    started: float = record[STARTED]
    return started


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


_BORROW_ENTER = _Borrow.__enter__.__code__
