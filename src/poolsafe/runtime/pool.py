"""``ConnectionPool``: psycopg2's ``ThreadedConnectionPool`` that knows who holds
every connection.

It hands out the driver's real connection objects and keeps its bookkeeping
beside them, keyed by ``id(conn)``: one :class:`Slot` per pooled connection,
created when the connection is opened and reused by every checkout.
"""

from __future__ import annotations

import functools
import itertools
import logging
import operator
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any

from . import drivers, tracking
from .errors import LeakError, PoolError, PoolExhausted, PoolTimeout
from .faults import FaultInjector, FaultSet
from .hooks import ConnState, attach
from .slots import Slot, Waiter, on_drop, references
from .tracking import DEEP_STACK_DEPTH, PHASE, Holder, RawStack, capture_stack, make_holder

logger = logging.getLogger("poolsafe.runtime")

_UNSET: Any = object()
_pool_ids = itertools.count(1)
_KEPT_LEAKS = 1000  # leaks() keeps the latest ones; stats().leaked counts them all
_WAIT_SLICE = 0.05  # waiters look at least this often for slots of collected connections

OUT = "checked out"
CLOSED_BY_BORROWER = "closed without putconn()"

# Hot-path helpers, bound once.
_getframe = sys._getframe
_monotonic = time.monotonic
_local = threading.local()  # .thread: the current Thread (cheaper than current_thread())


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of the pool's counters.

    ``in_use`` counts connections checked out plus those being opened or
    validated; ``leaked`` counts connections garbage-collected while checked out
    (their slots were recovered)."""

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
    leaked: int
    leaks_reported: int
    connects: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class ConnectionPool:
    """A thread-safe connection pool that knows who holds every connection.

    ``ConnectionPool(minconn, maxconn, *args, **kwargs)`` opens connections with
    ``psycopg2.connect(*args, **kwargs)``, exactly like psycopg2's pools; give
    ``connect=`` another driver's connect function (``sqlite3.connect``,
    ``pymysql.connect``, ``psycopg.connect``) to use that driver instead.
    ``getconn``/``putconn``/``closeall`` behave like ``ThreadedConnectionPool``'s
    and hand out the driver's own connection objects.
    """

    def __init__(
        self,
        minconn: int,
        maxconn: int,
        *args: Any,
        connect: Callable[..., Any] | None = None,
        timeout: float | None = None,
        leak_threshold: float | None = None,
        validate_idle: float | None = None,
        stack_depth: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.minconn = int(minconn)
        self.maxconn = int(maxconn)
        if self.minconn < 0 or self.maxconn < 1 or self.minconn > self.maxconn:
            raise ValueError(
                f"need 0 <= minconn <= maxconn and maxconn >= 1 "
                f"(got minconn={self.minconn}, maxconn={self.maxconn})"
            )
        self.closed = False
        self.timeout = timeout
        self.leak_threshold = leak_threshold
        self.validate_idle = validate_idle
        self._validating = validate_idle is not None
        self._stack_depth_given = stack_depth
        self.stack_depth = 0  # frames recorded per checkout (set just below)
        self._follow_default_depth(tracking.default_stack_depth())
        self.name = name or f"pool-{next(_pool_ids)}"

        self._connector = drivers.Connector(connect, args, kwargs)
        self._driver: drivers.Driver = self._connector.driver or drivers.Driver()
        self._driver_known = self._connector.driver is not None
        self._probe: Callable[[Any], object] | None = None
        self._probe_idle: object = None
        self._use_driver(self._driver)
        self._faults = FaultInjector(self._make_error)

        self._lock = threading.Lock()
        self._idle: list[Slot] = []  # most recently returned last
        self._out: dict[int, Slot] = {}  # id(connection) -> slot, checked out
        self._keyed: dict[Hashable, Slot] = {}
        self._waiters: deque[Waiter] = deque()
        self._dropped: list[Slot] = []  # appended by weak-reference callbacks only
        self._leaked: deque[Holder] = deque(maxlen=_KEPT_LEAKS)  # the latest ones
        self._n_leaked = 0
        self._reserved: set[Waiter] = set()  # requests opening or validating a connection
        self._last_return = _monotonic()
        self._n_requests = self._n_timeouts = self._n_exhausted = self._n_bad = 0
        self._n_discarded = self._n_leaks = self._n_connects = 0
        self._stop_watch = threading.Event()

        for _ in range(self.minconn):
            slot = self._new_slot()
            slot.used = _monotonic()
            self._idle.append(slot)
        if leak_threshold is not None:
            _start_leak_watcher(self, leak_threshold, self._stop_watch)
        tracking.register(self)

    @classmethod
    def from_url(
        cls, minconn: int, maxconn: int, url: str, **options: Any
    ) -> ConnectionPool:
        """A pool for a database URL, its driver named by the scheme:
        ``postgresql://`` (psycopg2; ``postgresql+psycopg://``: psycopg 3),
        ``mysql://`` (pymysql), ``sqlite:///path.db`` or ``sqlite://`` (in memory).
        ``options`` are the pool's keyword-only options."""
        connect, args, kwargs = drivers.url_arguments(url)
        return cls(minconn, maxconn, *args, connect=connect, **options, **kwargs)

    # ------------------------------------------------------------------ psycopg2 API
    def getconn(self, key: Hashable | None = None, *, timeout: float | None = _UNSET) -> Any:
        """Check out a connection (the same one again for a known ``key``).

        With no ``timeout`` (the pool's default) an exhausted pool raises
        ``PoolError("connection pool exhausted ...")`` at once, like psycopg2;
        with one, the call waits its turn (first come, first served) and raises
        ``PoolTimeout`` once no connection was returned for that many seconds.
        """
        # Who is borrowing: by default only the caller's own frame (code object
        # and bytecode offset), read without a loop. Deeper stacks are walked.
        depth = self.stack_depth
        deep: RawStack | None = None
        if depth == 1:
            f = _getframe(1)
            code: Any = f.f_code
            if code is _BORROW_ENTER:  # pool.connection(): its caller borrows
                f = f.f_back  # type: ignore[assignment]
                code = f.f_code
            lasti: Any = f.f_lasti
        else:
            deep = capture_stack(depth)
            code = lasti = None
        try:
            thread = _local.thread
        except AttributeError:
            thread = _local.thread = threading.current_thread()
        slot: Slot | None = None
        conn: Any = None
        number = 0
        try:
            with self._lock:
                if self._dropped:
                    self._collect()
                if self.closed:
                    raise PoolError("connection pool is closed")
                self._n_requests += 1
                number = self._n_requests
                if (
                    key is None and self._idle and not self._waiters
                    and self.validate_idle is None
                ):  # fmt: skip
                    # Fast path: the most recently returned connection. It stays
                    # idle until it is checked out, so that an exception at any
                    # line leaves it in one place or the other (see _undo_checkout).
                    slot = self._idle[-1]
                    conn = slot.conn
                    slot.number = number
                    slot.thread = thread
                    slot.started = _monotonic()
                    slot.seq = PHASE[0]
                    slot.code = code
                    slot.lasti = lasti
                    slot.deep = deep
                    self._out[id(conn)] = slot
                    self._idle.pop()
                    if slot.ref is not None:
                        slot.conn = None  # the borrower's reference is the strong one
                    return conn
        except BaseException:
            # Interrupted (a signal handler, an asynchronous exception) after the
            # checkout was registered but before the caller got the connection.
            if slot is not None and conn is not None:
                with self._lock:
                    self._undo_checkout(slot, conn, number)
            raise
        frames: RawStack = [code, lasti] if deep is None else deep
        request = Waiter(thread, frames, deep is not None, number, _monotonic())
        try:
            return self._serve(request, key, timeout)
        except BaseException:
            with self._lock:
                self._abandon(request)
            raise

    def _serve(self, request: Waiter, key: Hashable | None, timeout: float | None) -> Any:
        """``getconn`` for a key, validation of idle connections, a new connection,
        waiting or an exhausted pool (the request is already counted).

        Everything this request holds in the pool is reachable from ``request``
        (queued in ``_waiters``, a reservation in ``_reserved``, a slot being
        validated in ``request.slot``, a connection handed over or checked out in
        ``request.conn`` or under ``request.number``), so that :meth:`_abandon`
        can give all of it back when an exception interrupts the request at any
        line."""
        if timeout is _UNSET:
            timeout = self.timeout
        with self._lock:
            if self._dropped:
                self._collect()
            if self.closed:
                raise PoolError("connection pool is closed")
            if key is not None:
                known = self._keyed.get(key)
                if known is not None:
                    return known.conn
            if self._idle and not self._waiters:
                slot = self._idle[-1]
                validate = self.validate_idle
                if validate is None or _monotonic() - slot.used < validate:
                    conn = self._checkout(slot, key, request)
                    self._idle.pop()
                    return conn
                # Reserve the slot while pinging its connection outside the lock.
                self._reserved.add(request)
                request.slot = slot
                self._idle.pop()
            elif self._in_use() < self.maxconn and not self._waiters:
                self._reserved.add(request)
            elif not timeout or timeout <= 0:
                self._n_exhausted += 1
                raise PoolExhausted("connection pool exhausted",
                                    self._holders_snapshot("exhausted",
                                                           "connection pool exhausted"))
            else:
                request.queued = True  # (first: _dequeue tolerates a flag ahead of the queue)
                self._waiters.append(request)
        if request.queued:
            conn = self._wait(request, key, timeout)  # type: ignore[arg-type]
            if conn is not None:
                return conn
        return self._open_or_validate(request, key)

    def _wait(self, waiter: Waiter, key: Hashable | None, timeout: float) -> Any:
        """Wait for a hand-off; the connection, or ``None`` when a slot was
        reserved for this waiter to open a connection in."""
        while True:
            woken = waiter.wake.acquire(timeout=_WAIT_SLICE)
            with self._lock:
                if waiter.conn is not None or waiter in self._reserved:
                    self._dequeue(waiter)
                    break
                if self.closed:
                    raise PoolError("connection pool is closed")
                if not woken:
                    if self._dropped:
                        self._collect()  # may reserve a freed slot for this waiter
                        if waiter in self._reserved:
                            self._dequeue(waiter)
                            break
                    deadline = max(waiter.since, self._last_return) + timeout
                    if _monotonic() >= deadline and waiter.conn is None:
                        self._dequeue(waiter)
                        self._n_timeouts += 1
                        waited = _monotonic() - waiter.since
                        head = (f"connection pool exhausted: timed out after {waited:.2f} s "
                                f"waiting for a connection, none returned for the last "
                                f"{timeout:.2f} s")
                        raise PoolTimeout(head, self._holders_snapshot("timeout", head))
        conn = waiter.conn
        if conn is not None and key is not None:
            with self._lock:
                slot = self._out[id(conn)]
                slot.key = key
                slot.conn = conn
                self._keyed[key] = slot
        return conn

    def _open_or_validate(self, request: Waiter, key: Hashable | None) -> Any:
        """A slot is reserved for ``request`` (``_reserved``): validate the idle
        connection in ``request.slot`` or open a new one, outside the lock. On an
        exception :meth:`_abandon` frees the reservation."""
        slot = request.slot
        if slot is not None and not self._ping(slot):
            slot.conn = slot.ref = None
            request.slot = slot = None
        if slot is None:
            request.slot = slot = self._new_slot()
        with self._lock:
            if self._dropped:
                self._collect()
            if self.closed:
                raise PoolError("connection pool is closed")
            conn = self._checkout(slot, key, request)
            self._reserved.discard(request)
            request.slot = None
        return conn

    def _abandon(self, request: Waiter) -> None:
        """Give back everything a request that raised holds (lock held): its
        place in the queue, its reservation, the slot it was validating, the
        connection handed to it or checked out for it. Idempotent."""
        self._dequeue(request)
        conn = request.conn
        slot = self._out.get(id(conn)) if conn is not None else None
        if slot is not None and slot.number != request.number:
            self._handed(slot, request)  # a hand-off its giver did not finish
        if slot is None:
            slot = next((s for s in self._out.values() if s.number == request.number), None)
            conn = slot.live() if slot is not None else None
        if slot is not None:
            self._undo_checkout(slot, conn, request.number)
        validating = request.slot
        request.slot = None
        if validating is not None and validating not in self._idle and (
            self._out.get(validating.ident) is not validating
        ):  # opened or being validated for this request only: nobody else has it
            _close_quietly(validating.live())
            validating.conn = validating.ref = None
        if request in self._reserved:
            self._reserved.discard(request)
            self._slot_freed()

    def _undo_checkout(self, slot: Slot, conn: Any, number: int) -> None:
        """Cancel checkout ``number`` of ``slot`` whose borrower never got the
        connection (lock held): still idle, it only leaves ``_out``; otherwise
        the connection goes back as if returned unused. Idempotent."""
        if slot.number != number or self._out.get(slot.ident) is not slot:
            return  # not registered, or already given back (or the pool closed)
        if conn is None:  # garbage-collected meanwhile: the slot is free again
            del self._out[slot.ident]
            self._unkey(slot)
            slot.conn = slot.ref = None
            self._slot_freed()
        elif slot in self._idle:
            del self._out[slot.ident]
            self._unkey(slot)
            slot.conn = conn
        else:
            self._give_back(slot, conn, not self.closed)

    def putconn(self, conn: Any = None, key: Hashable | None = None, close: bool = False) -> None:
        """Give a connection back. One left in a transaction is rolled back (and
        counted in ``returns_bad``); a closed or broken one is discarded."""
        if self.closed:
            raise PoolError("connection pool is closed")
        if key is None and not close:
            # Fast path: idle according to the driver's probe (a client-side C
            # call, no server round trip) and no driver error went through it.
            slot = self._out.get(id(conn))
            probe = self._probe
            if slot is not None and probe is not None and slot.key is None:
                cstate = slot.cstate
                try:
                    idle = probe(conn) == self._probe_idle and not (cstate and cstate.suspect)
                except Exception:
                    idle = False
                if idle:
                    with self._lock:
                        if self._dropped:
                            self._collect()
                        if self._out.get(id(conn)) is not slot:
                            raise PoolError("trying to put unkeyed connection")
                        late = slot.reported == slot.number
                        if self._waiters:
                            self._give_back(slot, conn, True)
                        else:  # _give_back's idle branch, inlined
                            number = slot.number
                            try:
                                if self._validating:
                                    slot.used = _monotonic()
                                slot.conn = conn
                                self._idle.append(slot)  # given back
                                del self._out[id(conn)]
                            except BaseException:
                                self._finish_return(slot, conn, number)
                                raise
                    if late:
                        self._log_late_return(slot)
                    return
        self._putconn_slow(conn, key, close)

    def _putconn_slow(self, conn: Any, key: Hashable | None, close: bool) -> None:
        with self._lock:
            if self._dropped:
                self._collect()
            slot = self._keyed.get(key) if key is not None else self._out.get(id(conn))
            if slot is None or self._out.get(slot.ident) is not slot:
                raise PoolError("trying to put unkeyed connection")
            if key is not None:
                if conn is not None and conn is not slot.conn:
                    raise PoolError("trying to put unkeyed connection")
                conn = slot.conn
        keep = not close
        bad = False
        if keep:
            status = self._driver.status(conn, bool(slot.cstate and slot.cstate.dirty))
            if status in (drivers.INTRANS, drivers.INERROR):
                bad = True
                keep = self._rollback(conn)
            elif status != drivers.IDLE:
                keep = False
            elif slot.cstate is not None and slot.cstate.suspect:
                keep = self._ping(slot, count=False)
        if keep and slot.cstate is not None:
            slot.cstate.suspect = slot.cstate.dirty = False
        if not keep:
            _close_quietly(conn)
        with self._lock:
            if self._out.get(id(conn)) is not slot:
                raise PoolError("trying to put unkeyed connection")  # returned meanwhile
            if bad:
                self._n_bad += 1
            if not keep and not close:
                self._n_discarded += 1
            self._give_back(slot, conn, keep and not self.closed)
        if bad:
            holder = self._holder(slot, "returned inside a transaction")
            tracking.record_event(
                "bad_return",
                f"{holder.connection} was returned inside an open transaction "
                f"(rolled back by the pool); taken at {holder.site}",
                holder,
            )
        if slot.reported == slot.number:
            self._log_late_return(slot)

    def _give_back(self, slot: Slot, conn: Any, keep: bool) -> None:
        """End a checkout; the lock is held and ``slot`` is in ``_out``. A kept
        connection goes to the longest waiter, else to the idle list; a
        discarded one frees its slot.

        Each way has one step after which the connection is given back (the
        waiter's ``conn`` set, the slot appended to ``_idle``, the slot removed
        from ``_out``): an exception before it leaves the checkout as it was
        (the borrower may return it again), one after it is finished here."""
        number = slot.number
        try:
            self._last_return = now = _monotonic()
            if keep:
                waiter = self._front_waiter()
                if waiter is not None:
                    waiter.conn = conn  # given back: the waiter owns it now
                    self._handed(slot, waiter)
                    return
                slot.used = now
                slot.conn = conn
                self._idle.append(slot)  # given back
                del self._out[id(conn)]
                self._unkey(slot)
                return
            del self._out[id(conn)]  # given back (to be closed)
            self._unkey(slot)
            slot.conn = slot.ref = None
            self._slot_freed()
        except BaseException:
            self._finish_return(slot, conn, number)
            raise

    def _finish_return(self, slot: Slot, conn: Any, number: int) -> None:
        """Finish an interrupted :meth:`_give_back` of checkout ``number`` (lock
        held), or leave the checkout as it was if nothing was given back yet."""
        if self._out.get(id(conn)) is slot:
            if slot.number != number:
                return  # handed over and relabelled: finished
            waiter = next((w for w in self._waiters if w.conn is conn), None)
            if waiter is not None:
                self._handed(slot, waiter)
            elif slot in self._idle:
                del self._out[id(conn)]
                self._unkey(slot)
            return  # else: not given back, still the borrower's
        self._unkey(slot)
        if slot not in self._idle:  # discarded
            slot.conn = slot.ref = None
            self._slot_freed()

    def _front_waiter(self) -> Waiter | None:
        """The longest waiter still waiting (lock held). Waiters already served
        (a connection or a reservation) may still be queued when an exception
        interrupted their hand-off: they are dropped here."""
        waiters = self._waiters
        while waiters:
            waiter = waiters[0]
            if waiter.conn is None and waiter not in self._reserved:
                return waiter
            waiters.popleft()
            waiter.queued = False
        return None

    def _handed(self, slot: Slot, waiter: Waiter) -> None:
        """Check ``slot`` out for ``waiter``, whose ``conn`` is already set (lock
        held): it counts as in use from now on, the waiter only has to wake up
        (it also looks every _WAIT_SLICE). Idempotent."""
        self._unkey(slot)
        if slot.number != waiter.number:
            slot.thread = waiter.thread
            slot.started = _monotonic()
            slot.seq = PHASE[0]
            slot.deep, slot.code, slot.lasti = waiter.deep, waiter.code, waiter.lasti
            slot.number = waiter.number
        if slot.ref is not None:
            slot.conn = None  # the waiter holds it strongly until it returns it
        self._dequeue(waiter)
        if waiter.wake.locked():
            waiter.wake.release()

    def _dequeue(self, waiter: Waiter) -> None:
        """Take ``waiter`` out of the queue if it is there (lock held)."""
        if waiter.queued:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            waiter.queued = False

    def _unkey(self, slot: Slot) -> None:
        """Forget ``slot``'s key, if it still has one (lock held)."""
        key = slot.key
        if key is not None:
            if self._keyed.get(key) is slot:
                del self._keyed[key]
            slot.key = None

    def _slot_freed(self) -> None:
        """A slot became free (lock held): reserve it for the longest waiter,
        which opens a connection in it."""
        if self._waiters and self._in_use() < self.maxconn:
            waiter = self._front_waiter()
            if waiter is not None:
                self._reserved.add(waiter)  # the waiter owns the reservation now
                self._dequeue(waiter)
                if waiter.wake.locked():
                    waiter.wake.release()

    def _log_late_return(self, slot: Slot) -> None:
        logger.info(
            "Previously reported leaked connection %s on thread %s was returned after %.3f s",
            self._label(slot),
            slot.thread.name if slot.thread else "?",
            time.monotonic() - slot.started,
        )

    def closeall(self) -> None:
        """Close every connection, including those in use, and close the pool."""
        with self._lock:
            if self.closed:
                raise PoolError("connection pool is closed")
            if self._dropped:
                self._collect()
            self.closed = True
            idle = [s.conn for s in self._idle]
            for slot in self._idle:
                slot.conn = slot.ref = None
            out = list(self._out.values())
            self._idle.clear()
            self._out.clear()
            self._keyed.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            waiter.wake.release()
        self._stop_watch.set()
        tracking.unregister(self)
        busy = []
        for slot in out:
            conn = slot.live()
            holder = self._holder(slot, OUT)
            tracking.record_event(
                "closed_pool",
                f"{holder.connection} was still checked out when {self.name} was "
                f"closed; taken at {holder.site}",
                holder,
            )
            slot.conn = slot.ref = None
            busy.append(conn)
        for conn in idle + busy:
            if conn is not None:
                _close_quietly(conn)
        self._connector.close()

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
            if self._dropped:
                self._collect()
            in_use = self._in_use()
            closed = sum(1 for s in self._out.values() if self._is_closed(s))
            return PoolStats(
                min=self.minconn,
                max=self.maxconn,
                size=in_use + len(self._idle),
                available=len(self._idle),
                in_use=in_use,
                waiting=len(self._waiters),
                requests=self._n_requests,
                timeouts=self._n_timeouts,
                exhausted=self._n_exhausted,
                returns_bad=self._n_bad,
                discarded=self._n_discarded,
                closed_by_borrower=closed,
                leaked=self._n_leaked,
                leaks_reported=self._n_leaks,
                connects=self._n_connects,
            )

    def holders(self) -> list[Holder]:
        """Who holds which connection, from where, since when (oldest first)."""
        with self._lock:
            if self._dropped:
                self._collect()
            slots = sorted(self._out.values(), key=_started)
            states = [self._state(s) for s in slots]
            snapshot = [(s, s.frames(), s.thread, s.started, s.seq, s.number) for s in slots]
        now = time.monotonic()
        return [
            make_holder(self.name, self._label_n(number), thread or threading.current_thread(),
                        started, frames, state, seq, now)
            for (_, frames, thread, started, seq, number), state in zip(
                snapshot, states, strict=True)
        ]  # fmt: skip

    def leaks(self) -> list[Holder]:
        """Connections garbage-collected while checked out (their slots were
        recovered), with where they were taken: the latest 1000 (``stats().leaked``
        counts them all)."""
        with self._lock:
            if self._dropped:
                self._collect()
            return list(self._leaked)

    def check_leaks(self, now: float | None = None) -> list[Holder]:
        """Log (once) every connection held longer than ``leak_threshold``; return them.

        Called by the background watcher; call it yourself for deterministic checks.
        """
        threshold = self.leak_threshold
        if threshold is None:
            return []
        now = time.monotonic() if now is None else now
        with self._lock:
            if self._dropped:
                self._collect()
            late = [
                s for s in self._out.values()
                if s.reported != s.number and now - s.started >= threshold
            ]  # fmt: skip
            for slot in late:
                slot.reported = slot.number
            self._n_leaks += len(late)
            holders = [self._holder(s, OUT, now) for s in late]
        for holder in holders:
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
        return holders

    def assert_no_leaks(self) -> None:
        """Raise :class:`LeakError` naming where every connection still checked out,
        or garbage-collected while checked out, was taken."""
        holders = self.holders()
        leaked = self.leaks()
        if holders or leaked:
            parts = []
            if holders:
                parts.append(
                    f"{len(holders)} connection(s) of {self.name} still checked out:"
                    + "".join(f"\n  - {h.report()}" for h in holders)
                )
            if leaked:
                parts.append(
                    f"{len(leaked)} connection(s) of {self.name} garbage-collected while "
                    "checked out (never given back with putconn()):"
                    + "".join(f"\n  - {h.report()}" for h in leaked)
                )
            raise LeakError("\n".join(parts))

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"{self._in_use()}/{self.maxconn} in use"
        return f"<ConnectionPool {self.name} {self._driver.name} {state}>"

    # ------------------------------------------------------------------ internals
    def _in_use(self) -> int:
        return len(self._out) + len(self._reserved)

    def _checkout(self, slot: Slot, key: Hashable | None, request: Waiter) -> Any:
        """Register ``slot``'s checkout for ``request`` (lock held); the
        connection is kept in ``request.conn`` before the checkout is registered,
        so that :meth:`_abandon` can always give it back. Returns the connection."""
        conn = request.conn = slot.conn
        slot.number = request.number
        slot.thread = request.thread
        slot.started = _monotonic()
        slot.seq = PHASE[0]
        slot.deep, slot.code, slot.lasti = request.deep, request.code, request.lasti
        slot.key = key
        self._out[id(conn)] = slot
        if key is not None:
            self._keyed[key] = slot
        elif slot.ref is not None:
            slot.conn = None
        return conn

    def _follow_default_depth(self, default: int) -> None:
        """Apply the process-wide default stack depth unless ``stack_depth=`` was given."""
        given = self._stack_depth_given
        if given is not None:
            self.stack_depth = int(given)
        elif self.leak_threshold is not None:
            self.stack_depth = max(default, DEEP_STACK_DEPTH)
        else:
            self.stack_depth = default

    def _use_driver(self, driver: drivers.Driver) -> None:
        self._driver = driver
        probe = None if driver.tracks_statements() else driver.idle_probe()
        self._probe, self._probe_idle = probe if probe is not None else (None, None)

    def _new_slot(self) -> Slot:
        """Open a connection (outside the lock) and make its slot."""
        if self._faults.active:
            self._faults.check("connect")
        conn = self._connector.open()
        if not self._driver_known:
            self._use_driver(drivers.driver_for_connection(conn))
            self._driver_known = True
        cstate = ConnState(self._faults, self._driver.tracks_statements())
        slot = Slot(conn, cstate if attach(conn, cstate, self._connector.flavour) else None)
        try:
            slot.ref = weakref.ref(conn, on_drop(self._dropped, slot))
        except TypeError:  # no weak references (sqlite3.Connection): kept strongly
            slot.ref = None
        slot.alone = references(slot) - 1  # (less this function's own ``conn``)
        with self._lock:
            self._n_connects += 1
        return slot

    def _collect(self) -> None:
        """Recover the slots of connections garbage-collected while checked out and
        report them as leaks; the lock is held."""
        pending = self._dropped
        while pending:
            slot = pending.pop(0)  # (atomic: a callback may append meanwhile)
            if slot.conn is not None or self._out.get(slot.ident) is not slot:
                continue  # idle, returned or discarded meanwhile: not a leak
            del self._out[slot.ident]
            slot.ref = None
            holder = self._holder(slot, "garbage-collected while checked out")
            self._leaked.append(holder)
            self._n_leaked += 1
            message = (
                f"{holder.connection} was garbage-collected while checked out (a leak: "
                f"never given back with putconn()); the pool recovered its slot. "
                f"Taken at {holder.site}"
            )
            logger.warning("%s", message)
            tracking.record_event("collected", message, holder)
            self._slot_freed()

    def _state(self, slot: Slot) -> str:
        """How a checked-out connection is held (lock held)."""
        if self._is_closed(slot):
            return CLOSED_BY_BORROWER
        if slot.key is not None and references(slot) <= slot.alone:
            return f"dropped by its borrower, kept for key {slot.key!r}"
        return OUT

    def _is_closed(self, slot: Slot) -> bool:
        conn = slot.live()
        try:
            return conn is not None and self._driver.is_closed(conn)
        except Exception:
            return False

    def _make_error(self, message: str) -> Exception:
        return self._driver.error(message)

    def _ping(self, slot: Slot, count: bool = True) -> bool:
        conn = slot.conn
        try:
            self._driver.ping(conn)
        except Exception:
            logger.info("discarding a connection of %s that failed its check", self.name)
            _close_quietly(conn)
            if count:
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

    def _label_n(self, number: int) -> str:
        return f"connection (checkout #{number}) of {self.name}"

    def _label(self, slot: Slot) -> str:
        return self._label_n(slot.number)

    def _holder(self, slot: Slot, state: str, now: float | None = None) -> Holder:
        return make_holder(
            self.name,
            self._label(slot),
            slot.thread or threading.current_thread(),
            slot.started,
            slot.frames(),
            state,
            slot.seq,
            now,
        )

    def _holders_snapshot(self, kind: str, head: str) -> Callable[[], str]:
        """The holders as raw data (lock held), formatted later by the returned
        function: an exhausted pool pays for the text only when it is read. The same
        data is kept for the pytest plugin's report (``tracking.record_pool_error``),
        which builds the holders only when it writes them."""
        raw = [
            # (the reference count first: s.conn in the same tuple would add one)
            (s.key is not None and references(s) <= s.alone, s.key,
             s.number, s.thread, s.started, s.deep, s.code, s.lasti, s.seq, s.conn, s.ref)
            for s in self._out.values()
        ]
        reserved = len(self._reserved)
        now = _monotonic()
        # (kept without the connections themselves: a kept reference would stop a
        # dropped connection from being collected, and its slot from coming back)
        kept = [(*r[:9], None, r[10]) for r in raw]
        tracking.record_pool_error(kind, self.name, head,
                                   functools.partial(self._raw_holders, kept, now))
        return functools.partial(self._describe, raw, reserved, self.maxconn, now)

    def _describe(self, raw: list[Any], opening: int, maxconn: int, now: float) -> str:
        lines = [f"\n  - {holder.describe()}" for holder in self._raw_holders(raw, now)]
        extra = f", {opening} being opened or validated" if opening else ""
        return f" ({len(raw) + opening} of {maxconn} in use{extra}):" + "".join(lines)

    def _raw_holders(self, raw: list[Any], now: float) -> list[Holder]:
        """The holders of a snapshot (``_holders_snapshot``), oldest first."""
        out = []
        for dropped, key, number, thread, started, deep, code, lasti, seq, conn, ref in sorted(
            raw, key=operator.itemgetter(4)
        ):
            if conn is None and ref is not None:
                conn = ref()
            closed = False
            if conn is not None:
                try:
                    closed = self._driver.is_closed(conn)
                except Exception:
                    closed = False
            state = (
                CLOSED_BY_BORROWER if closed
                else f"dropped by its borrower, kept for key {key!r}" if dropped
                else OUT
            )  # fmt: skip
            out.append(make_holder(
                self.name, self._label_n(number), thread or threading.current_thread(),
                started, deep if deep is not None else [code, lasti], state, seq, now,
            ))  # fmt: skip
        return out


ThreadedConnectionPool = ConnectionPool
"""psycopg2's name: ``from poolsafe.runtime import ThreadedConnectionPool`` is a
one-line switch."""
SimpleConnectionPool = ConnectionPool
"""psycopg2's single-thread pool's name (this pool is thread-safe either way)."""


class _Borrow:
    """Context manager returned by :meth:`ConnectionPool.connection`."""

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: ConnectionPool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: Any = None

    def __enter__(self) -> Any:
        conn = self._pool.getconn(timeout=self._timeout)
        self._conn = conn
        return conn

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


def _started(slot: Slot) -> float:
    return slot.started


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
