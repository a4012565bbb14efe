"""The reference pool loses no slot when a borrower is interrupted.

A thread waiting in ``getconn(timeout=...)`` can be interrupted by an exception
raised from a signal handler (Ctrl-C, Celery's soft time limit, pytest-timeout,
a SIGTERM handler) or thrown into it asynchronously. Wherever that exception
lands (while queued, in the middle of a hand-off, right after a connection was
handed over but before ``getconn`` returned it, while a new connection is being
opened), the pool must end with every slot back: nothing checked out for a
borrower that never got its connection, no ghost waiter that swallows the next
returned connection.

Three kinds of interruption are used: a real signal delivered to the main
thread (``signal.pthread_kill``), an exception raised by a trace function at
the k-th line the pool's own code runs (every k, so every line of the paths
below is hit once), and a bounded randomized run where other threads throw
exceptions into the waiting threads (``PyThreadState_SetAsyncExc``), on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import ctypes
import dis
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

import pytest

from poolsafe.runtime import ConnectionPool, PoolTimeout
from poolsafe.runtime import pool as pool_module
from poolsafe.runtime import slots as slots_module

POOL_FILES = frozenset({pool_module.__file__, slots_module.__file__})


class Interrupted(Exception):
    """What the tests raise into a borrower (a stand-in for KeyboardInterrupt,
    Celery's SoftTimeLimitExceeded, a SIGTERM handler's SystemExit...)."""


@pytest.fixture
def dsn(tmp_path: Path) -> str:
    return str(tmp_path / "interrupt.db")


def sqlite_pool(dsn: str, maxconn: int = 1, **options: Any) -> ConnectionPool:
    return ConnectionPool(0, maxconn, dsn, connect=sqlite3.connect, **options)


def assert_every_slot_back(pool: ConnectionPool) -> None:
    """Nothing checked out, nobody queued, and every slot can be checked out
    again at once (a lost slot makes one of these checkouts time out)."""
    stats = pool.stats()
    assert (stats.in_use, stats.waiting) == (0, 0), stats
    assert pool.holders() == []
    taken = [pool.getconn(timeout=1.0) for _ in range(pool.maxconn)]
    assert len({id(conn) for conn in taken}) == pool.maxconn
    for conn in taken:
        pool.putconn(conn)
    assert pool.stats().in_use == 0


def wait_until(condition: Callable[[], bool], limit: float = 3.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.002)
    return condition()


# --------------------------------------------------------------------------- a real signal


@pytest.fixture
def raising_handler() -> Iterator[None]:
    """SIGUSR1 raises :class:`Interrupted` in the main thread."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_a_signal_while_waiting_leaves_no_ghost_waiter(dsn: str, raising_handler: None) -> None:
    pool = sqlite_pool(dsn)
    held = pool.getconn()
    main = threading.main_thread().ident
    assert main == threading.get_ident()

    def interrupt_then_return() -> None:
        assert wait_until(lambda: pool.stats().waiting == 1)
        signal.pthread_kill(main, signal.SIGUSR1)  # type: ignore[arg-type]
        wait_until(lambda: pool.stats().waiting == 0)
        pool.putconn(held)

    helper = threading.Thread(target=interrupt_then_return)
    helper.start()
    with pytest.raises(Interrupted):
        pool.getconn(timeout=5.0)
    helper.join(10)
    assert not helper.is_alive()
    assert_every_slot_back(pool)
    pool.closeall()


def test_a_signal_racing_the_hand_off_loses_no_slot(dsn: str, raising_handler: None) -> None:
    """The holder returns its connection and signals the waiter at once: the
    exception lands before, during or after the hand-off, never losing the slot."""
    pool = sqlite_pool(dsn)
    main = threading.main_thread().ident
    outcomes = {"interrupted": 0, "served": 0}
    for attempt in range(20):
        held = pool.getconn()
        delay = attempt * 0.0002

        def return_and_interrupt(conn: Any = held, delay: float = delay) -> None:
            assert wait_until(lambda: pool.stats().waiting == 1)
            pool.putconn(conn)
            time.sleep(delay)
            signal.pthread_kill(main, signal.SIGUSR1)  # type: ignore[arg-type]

        helper = threading.Thread(target=return_and_interrupt)
        helper.start()
        got = None
        try:
            got = pool.getconn(timeout=5.0)
            time.sleep(0.05)  # the signal arrives here when it missed the wait
        except Interrupted:
            outcomes["interrupted" if got is None else "served"] += 1
        else:
            outcomes["served"] += 1
        helper.join(10)
        if got is not None:
            pool.putconn(got)
        assert_every_slot_back(pool)
    assert sum(outcomes.values()) == 20
    pool.closeall()


STORM = """
import signal, sqlite3, sys, threading, time
from poolsafe.runtime import ConnectionPool

class Interrupted(Exception):
    pass

armed = [False]  # the handler raises only inside getconn/putconn

def handler(signum, frame):
    if armed[0]:
        armed[0] = False
        raise Interrupted

signal.signal(signal.SIGUSR1, handler)
pool = ConnectionPool(0, 2, sys.argv[1], connect=sqlite3.connect)
main = threading.get_ident()
stop = threading.Event()

def storm():
    while not stop.is_set():
        signal.pthread_kill(main, signal.SIGUSR1)
        time.sleep(0.00005)

def still_mine():
    me = threading.current_thread().name
    return any(h.thread == me for h in pool.holders())

threading.Thread(target=storm, daemon=True).start()
deadline = time.monotonic() + float(sys.argv[2])
rounds = interrupted = 0
while time.monotonic() < deadline:
    conn = None
    try:
        armed[0] = True
        conn = pool.getconn(timeout=1.0)
        armed[0] = False
    except Interrupted:
        interrupted += 1
    armed[0] = False
    while conn is not None:
        try:
            armed[0] = True
            pool.putconn(conn)
            armed[0] = False
            conn = None
        except Interrupted:
            interrupted += 1
            armed[0] = False
            if not still_mine():
                conn = None
    rounds += 1
stop.set()
stats = pool.stats()
print(rounds, interrupted, stats.in_use, stats.waiting, pool._lock.locked())
"""


def test_a_signal_storm_on_the_fast_path_neither_deadlocks_nor_loses_a_slot(
    tmp_path: Path,
) -> None:
    """Thousands of signals whose handler raises while the main thread checks
    connections out and in as fast as it can. The pool's lock must be released
    whatever instruction the exception lands on: a lock taken with ``acquire()``
    and released in a ``finally`` stays held when the signal arrives just after
    ``acquire()`` returned, and every later call hangs."""
    script = tmp_path / "storm.py"
    script.write_text(STORM)
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(tmp_path / "storm.db"), "3"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("the pool hung under a storm of interrupting signals")
    assert done.returncode == 0, done.stderr
    rounds, interrupted, in_use, waiting, locked = done.stdout.split()
    assert int(interrupted) > 50 and int(rounds) > int(interrupted)
    assert (in_use, waiting, locked) == ("0", "0", "False")


# --------------------------------------------------------------- an exception at every line


def _instructions(code: CodeType) -> dict[int, dis.Instruction]:
    found = _BY_CODE.get(code)
    if found is None:
        found = _BY_CODE[code] = {i.offset: i for i in dis.get_instructions(code)}
    return found


_BY_CODE: dict[CodeType, dict[int, dis.Instruction]] = {}


def leaves_a_with_block(frame: FrameType) -> bool:
    """Whether the line event is the one before a ``with`` block's normal exit
    (three ``LOAD_CONST None`` then the ``__exit__`` call, after a ``SWAP`` that
    keeps a value being returned). No signal handler or
    asynchronous exception can run there (CPython looks for them after a call,
    not before ``__exit__``), and an exception raised there would skip the
    lock's release, which nothing real can do: these events are not counted."""
    instructions = _instructions(frame.f_code)
    offset = frame.f_lasti
    first = instructions.get(offset)
    if first is not None and first.opname == "SWAP":
        offset += 2
    for _ in range(3):
        instruction = instructions.get(offset)
        if instruction is None or instruction.opname != "LOAD_CONST" or (
            instruction.argval is not None
        ):
            return False
        offset += 2
    return True


def starts_with_a_nop(frame: FrameType) -> bool:
    """Whether the line event is at a ``NOP`` (the line of a ``try:``). CPython
    runs signal handlers and delivers asynchronous exceptions only where it
    checks its eval breaker (after a call, at a backward jump), never at a
    ``NOP``; and in CPython 3.11 a ``try:`` inside a ``with`` block compiles to
    a ``NOP`` outside the ``with``'s exception-table range, so an exception a
    trace function raises there skips ``__exit__`` and leaves the lock held,
    which nothing real can do: these events are not counted."""
    instruction = _instructions(frame.f_code).get(frame.f_lasti)
    return instruction is not None and instruction.opname == "NOP"


def from_pool_code(frame: FrameType | None) -> bool:
    return frame is not None and frame.f_code.co_filename in POOL_FILES


class LineFault:
    """A trace function raising :class:`Interrupted` at the ``at``-th line event
    (or return event) of the pool's own code in the thread it is set in."""

    def __init__(self, at: int) -> None:
        self.left = at
        self.fired: tuple[str, int, str] | None = None

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename not in POOL_FILES:
            return None
        return self.local

    def local(self, frame: FrameType, event: str, arg: Any) -> Any:
        if event in ("line", "return") and self.fired is None:
            if event == "line" and (leaves_a_with_block(frame) or starts_with_a_nop(frame)):
                return self.local
            if event == "return" and not from_pool_code(frame.f_back):
                # Leaving getconn/putconn itself: an exception here would land
                # in the caller's code, after it received the value.
                return self.local
            self.left -= 1
            if self.left == 0:
                self.fired = (frame.f_code.co_name, frame.f_lineno, event)
                raise Interrupted(f"{frame.f_code.co_name}:{frame.f_lineno} ({event})")
        return self.local


def interrupted_call(call: Callable[[], Any], at: int) -> tuple[Any, LineFault]:
    """``call()`` with an exception injected at the ``at``-th line of pool code:
    (its result or ``None`` when it was interrupted, the fault)."""
    fault = LineFault(at)
    sys.settrace(fault)
    try:
        result = call()
    except Interrupted:
        result = None
    finally:
        sys.settrace(None)
    return result, fault


MAX_LINES = 400  # far more than any of these paths runs


@dataclass
class Scenario:
    """How the pool looks when the interrupted ``getconn`` starts, and what a
    helper thread does meanwhile (return its connection once the borrower waits)."""

    name: str
    maxconn: int = 1
    idle: int = 0  # connections returned before the call
    held: int = 0  # connections a helper holds and returns once the call waits
    close_held: bool = False  # the helper returns them with close=True
    walks: str = "getconn"  # a function of the pool the interrupted lines must include
    options: dict[str, Any] = field(default_factory=dict)


SCENARIOS = [
    Scenario("idle connection (fast path)", idle=1),
    Scenario("new connection", maxconn=2, walks="_new_slot"),
    Scenario("validated idle connection", idle=1, options={"validate_idle": 0.0}, walks="_ping"),
    Scenario("wait, then a hand-off", held=1, walks="_wait"),
    Scenario("wait, then a freed slot to open in", held=1, close_held=True, walks="_new_slot"),
    Scenario("keyed, wait, then a hand-off", held=1, walks="_wait"),
]


def assert_lock_free(pool: ConnectionPool, fault: LineFault) -> None:
    """The pool's lock is free after the interrupted call (a failure, not a
    hang in the next call that takes it)."""
    assert pool._lock.acquire(timeout=5.0), f"the pool's lock was left held: {fault.fired}"
    pool._lock.release()


def run_getconn_scenario(scenario: Scenario, dsn: str, at: int) -> LineFault:
    pool = sqlite_pool(dsn, scenario.maxconn, **scenario.options)
    for conn in [pool.getconn() for _ in range(scenario.idle)]:
        pool.putconn(conn)
    held = [pool.getconn() for _ in range(scenario.held)]
    done = threading.Event()

    def give_back() -> None:
        wait_until(lambda: pool.stats().waiting > 0 or done.is_set())
        for conn in held:
            pool.putconn(conn, close=scenario.close_held)

    helper = threading.Thread(target=give_back)
    helper.start()
    key = "k" if scenario.name.startswith("keyed") else None
    try:
        got, fault = interrupted_call(lambda: pool.getconn(key, timeout=3.0), at)
        assert_lock_free(pool, fault)
    finally:
        done.set()
        helper.join(10)
    assert not helper.is_alive()
    if got is not None:
        assert pool.stats().in_use == 1
        assert [h.thread for h in pool.holders()] == [threading.current_thread().name]
        pool.putconn(got, key=key)
    assert_every_slot_back(pool)
    pool.closeall()
    return fault


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_getconn_interrupted_at_every_line_loses_no_slot(scenario: Scenario, dsn: str) -> None:
    fired = []
    for at in range(1, MAX_LINES):
        fault = run_getconn_scenario(scenario, dsn, at)
        if fault.fired is None:
            break  # the call ran to its end without reaching line ``at``
        fired.append(fault.fired)
    else:
        pytest.fail(f"getconn ran more than {MAX_LINES} lines")
    assert len(fired) >= 5, fired  # the path was really walked
    assert scenario.walks in {name for name, _, _ in fired}, fired


def putconn_interrupted_at(at: int, waiting: bool, close: bool, dsn: str) -> bool:
    """One run; whether the exception was raised (``at`` was reached)."""
    pool = sqlite_pool(dsn)
    conn = pool.getconn()
    served: list[Any] = []
    waiter = threading.Thread(target=lambda: served.append(pool.getconn(timeout=3.0)))
    if waiting:
        waiter.start()
        assert wait_until(lambda: pool.stats().waiting == 1)
    _, fault = interrupted_call(lambda: pool.putconn(conn, close=close), at)
    assert_lock_free(pool, fault)
    mine = [h for h in pool.holders() if h.thread == threading.current_thread().name]
    if mine:  # interrupted before it gave anything back: it is still ours
        assert fault.fired is not None
        pool.putconn(conn, close=close)
    if waiting:
        waiter.join(10)
        assert not waiter.is_alive() and len(served) == 1
        pool.putconn(served[0])
    assert_every_slot_back(pool)
    pool.closeall()
    return fault.fired is not None


@pytest.mark.parametrize("waiting", [False, True], ids=["nobody waits", "a waiter"])
@pytest.mark.parametrize("close", [False, True], ids=["kept", "closed"])
def test_putconn_interrupted_at_every_line_loses_no_slot(
    waiting: bool, close: bool, dsn: str
) -> None:
    """An interrupted ``putconn`` leaves its connection either back in the pool
    or still checked out to the caller (who may call ``putconn`` again)."""
    for at in range(1, MAX_LINES):
        if not putconn_interrupted_at(at, waiting, close, dsn):
            return
    pytest.fail(f"putconn ran more than {MAX_LINES} lines")


# ------------------------------------------------------ randomized asynchronous interruption

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class Borrower:
    """A worker thread the interrupter may throw one exception into, only while
    it is inside ``getconn`` (armed); disarming cancels an exception not yet
    delivered, so none lands in the worker's own bookkeeping."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.lock = threading.Lock()
        self.armed = False
        self.ident = 0

    def arm(self) -> None:
        with self.lock:
            self.armed = True

    def disarm(self) -> None:
        with self.lock:
            if self.armed:
                self.armed = False
                _set_async_exc(self.ident, ctypes.py_object())  # cancel (NULL)

    def interrupt(self) -> bool:
        with self.lock:
            if not self.armed:
                return False
            self.armed = False
            return _set_async_exc(self.ident, ctypes.py_object(Interrupted)) == 1


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    owners: dict[int, int] = field(default_factory=dict)
    shared: list[str] = field(default_factory=list)
    unexpected: list[BaseException] = field(default_factory=list)
    served: int = 0
    interrupted: int = 0
    timeouts: int = 0


def borrow_loop(pool: ConnectionPool, me: Borrower, tally: Tally, rounds: int,
                stop: threading.Event, use: Callable[[Any], None], seed: int) -> None:
    rng = random.Random(seed)
    me.ident = threading.get_ident()
    try:
        for _ in range(rounds):
            if stop.is_set():
                return
            conn = None
            outcome = "served"
            me.arm()
            try:
                conn = pool.getconn(timeout=5.0)
            except Interrupted:
                outcome = "interrupted"
            except PoolTimeout:
                outcome = "timeout"
            with contextlib.suppress(Interrupted):
                me.disarm()  # (an exception delivered after getconn returned: conn is bound)
            if conn is None:
                with tally.lock:
                    if outcome == "timeout":
                        tally.timeouts += 1
                    else:
                        tally.interrupted += 1
                continue
            with tally.lock:
                tally.served += 1
                owner = tally.owners.get(id(conn))
                if owner is not None:
                    tally.shared.append(f"worker {me.index} got worker {owner}'s connection")
                tally.owners[id(conn)] = me.index
            try:
                use(conn)
                time.sleep(rng.random() * 0.003)
            finally:
                with tally.lock:
                    tally.owners.pop(id(conn), None)
                pool.putconn(conn)
    except BaseException as exc:  # reported by the test
        with tally.lock:
            tally.unexpected.append(exc)


def run_interruptions(pool: ConnectionPool, use: Callable[[Any], None], seed: int,
                      workers: int = 6, rounds: int = 150, limit: float = 25.0) -> Tally:
    """Workers borrow and return; an interrupter throws exceptions into those
    waiting in ``getconn`` at random moments. Bounded: ``rounds`` per worker and
    ``limit`` seconds in all, after which the workers stop at their next round."""
    rng = random.Random(seed)
    tally = Tally()
    stop = threading.Event()
    borrowers = [Borrower(i) for i in range(workers)]
    threads = [
        threading.Thread(target=borrow_loop,
                         args=(pool, b, tally, rounds, stop, use, seed * 100 + b.index))
        for b in borrowers
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + limit
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        time.sleep(rng.random() * 0.004)
        rng.choice(borrowers).interrupt()
    stop.set()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    return tally


def check_tally(pool: ConnectionPool, tally: Tally, seed: int) -> None:
    assert tally.unexpected == [], f"seed {seed}"
    assert tally.shared == [], f"seed {seed}"
    assert tally.interrupted > 0, f"seed {seed}: no interruption landed"
    assert tally.served > 0
    assert tally.timeouts == 0, f"seed {seed}: {tally.timeouts} checkouts timed out"
    assert_every_slot_back(pool)


def select_one(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SELECT 1")
    cur.fetchall()
    conn.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_random_interruptions_lose_no_slot_on_sqlite(dsn: str, seed: int) -> None:
    pool = sqlite_pool(dsn, maxconn=2)
    tally = run_interruptions(pool, select_one, seed)
    check_tally(pool, tally, seed)
    pool.closeall()


@pytest.mark.postgres
def test_random_interruptions_lose_no_slot_on_postgresql(pg_dsn: str) -> None:
    pool = ConnectionPool.from_url(0, 2, pg_dsn)
    seed = 3
    tally = run_interruptions(pool, select_one, seed)
    check_tally(pool, tally, seed)
    pool.closeall()
