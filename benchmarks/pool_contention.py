"""A full pool: the cost of a failing ``getconn()`` and fairness between threads.

poolsafe's ``ConnectionPool`` against psycopg2's ``ThreadedConnectionPool`` and
SQLAlchemy's ``QueuePool``, all on the same PostgreSQL server (psycopg2
connections).

**Failing getconn.** Each pool has ``N`` connections, all checked out (``N`` =
1, 8, 32 by default: poolsafe's message names every holder), and a timed loop of
``getconn()`` calls that fail at once (``try``/``except`` included; QueuePool with
``timeout=0``). poolsafe captures the holders as raw data and formats them only
when the message is read; the ``poolsafe + str(error)`` row reads it every time.
Rounds are interleaved; reported: the median per-call time (process CPU time)
and the median of the per-round ratios to psycopg2.

**Fairness.** ``--threads`` threads share ``--maxconn`` connections for
``--seconds`` each pool; every thread loops: check out, ``SELECT 1``, return, with
no pause in between (the case where a returning thread may barge ahead of those
waiting). poolsafe and QueuePool wait (``timeout=30``); psycopg2's pool cannot
wait, so its threads retry after ``PoolError`` with a 1 ms sleep (the usual
workaround) and the failed attempts are counted. Reported: checkouts per thread
(min, max, stdev, and max/min), total checkouts and timeouts.

    python benchmarks/pool_contention.py
    python benchmarks/pool_contention.py --holders 1,8,32 --calls 2000 --rounds 15
    python benchmarks/pool_contention.py --threads 16 --maxconn 4 --seconds 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

DEFAULT_DSN = os.environ.get("POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


class Pool:
    """One pool under test, behind one interface."""

    def __init__(self, name: str, get: Callable[[], Any], put: Callable[[Any], None],
                 close: Callable[[], None], errors: tuple[type[BaseException], ...]) -> None:
        self.name = name
        self.get = get
        self.put = put
        self.close = close
        self.errors = errors


def make_pools(dsn: str, size: int, waiting: bool) -> list[Pool]:
    import psycopg2
    import psycopg2.pool
    from sqlalchemy.exc import TimeoutError as QueueTimeout
    from sqlalchemy.pool import QueuePool

    from poolsafe.runtime import ConnectionPool, PoolError

    wait = 30.0 if waiting else None
    pg2 = psycopg2.pool.ThreadedConnectionPool(0, size, dsn)
    ours = ConnectionPool(0, size, dsn, timeout=wait)
    queue = QueuePool(lambda: psycopg2.connect(dsn), pool_size=size, max_overflow=0,
                      timeout=30.0 if waiting else 0, reset_on_return="rollback")
    return [
        Pool("psycopg2 ThreadedConnectionPool", pg2.getconn, pg2.putconn, pg2.closeall,
             (psycopg2.pool.PoolError,)),
        Pool("poolsafe ConnectionPool", ours.getconn, ours.putconn, ours.closeall, (PoolError,)),
        Pool("SQLAlchemy QueuePool", queue.connect, lambda c: c.close(), queue.dispose,
             (QueueTimeout,)),
    ]


# --- failing getconn ---------------------------------------------------------------------


def time_failures(pool: Pool, calls: int, read: bool) -> float:
    get, errors = pool.get, pool.errors
    started = time.process_time()
    for _ in range(calls):
        try:
            get()
        except errors as exc:
            if read:
                str(exc)
    return (time.process_time() - started) / calls


def failing_getconn(dsn: str, holders: list[int], calls: int, rounds: int) -> None:
    print(f"failing getconn(): {calls} calls x {rounds} interleaved rounds, median per call "
          f"(process CPU time), Python {sys.version.split()[0]}")
    print(f"{'holders':>7}  {'pool':<34} {'us/call':>8} {'vs psycopg2':>12}")
    for size in holders:
        pools = make_pools(dsn, size, waiting=False)
        held = [[p.get() for _ in range(size)] for p in pools]
        subjects = [(p, False) for p in pools] + [(pools[1], True)]
        runs: list[list[float]] = [[] for _ in subjects]
        try:
            for subject, read in subjects:
                time_failures(subject, min(calls, 200), read)  # warm up
            for round_no in range(rounds):
                order = list(range(len(subjects)))
                shift = round_no % len(order)
                for index in order[shift:] + order[:shift]:
                    subject, read = subjects[index]
                    runs[index].append(time_failures(subject, calls, read))
        finally:
            for pool, conns in zip(pools, held, strict=True):
                for conn in conns:
                    pool.put(conn)
                pool.close()
        base = runs[0]
        for (subject, read), times in zip(subjects, runs, strict=True):
            name = subject.name + (" + str(error)" if read else "")
            ratio = statistics.median(m / t for m, t in zip(times, base, strict=True))
            print(f"{size:>7}  {name:<34} {statistics.median(times) * 1e6:>8.2f} "
                  f"{ratio:>11.2f}x")


# --- fairness ----------------------------------------------------------------------------


def run_fairness(pool: Pool, threads: int, seconds: float) -> tuple[list[int], int, int]:
    counts = [0] * threads
    retries = [0] * threads
    failures: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(index: int) -> None:
        start.wait()
        try:
            while not stop.is_set():
                try:
                    conn = pool.get()
                except pool.errors:
                    retries[index] += 1
                    time.sleep(0.001)
                    continue
                try:
                    cur = conn.cursor()
                    cur.execute("SELECT 1")
                    cur.fetchall()
                    conn.commit()
                finally:
                    pool.put(conn)
                counts[index] += 1
        except BaseException as exc:  # reported by the caller
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    if failures:
        raise failures[0]
    return counts, sum(retries), 0


def fairness(dsn: str, threads: int, maxconn: int, seconds: float) -> None:
    print(f"\nfairness: {threads} threads over {maxconn} connections, {seconds:.1f} s per pool, "
          "check out + SELECT 1 + return, no pause")
    print(f"{'pool':<32} {'total':>7} {'min':>6} {'max':>6} {'stdev':>7} {'max/min':>8} "
          f"{'retries':>8}")
    for pool in make_pools(dsn, maxconn, waiting=True):
        try:
            counts, retries, _ = run_fairness(pool, threads, seconds)
        finally:
            pool.close()
        low, high = min(counts), max(counts)
        ratio = f"{high / low:.2f}" if low else "inf"
        print(f"{pool.name:<32} {sum(counts):>7} {low:>6} {high:>6} "
              f"{statistics.pstdev(counts):>7.1f} {ratio:>8} {retries:>8}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--holders", default="1,8,32", help="pool sizes, all checked out")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--maxconn", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--skip-fairness", action="store_true")
    args = parser.parse_args(argv)
    failing_getconn(args.dsn, [int(h) for h in args.holders.split(",")], args.calls, args.rounds)
    if not args.skip_fairness:
        fairness(args.dsn, args.threads, args.maxconn, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
