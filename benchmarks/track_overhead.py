"""What ``track()`` adds to a pool you did not build: checkout + return, and
checkout + one statement + return, with and without a tracker.

Subjects (PostgreSQL): psycopg2's ``ThreadedConnectionPool`` (the tracker wraps
``getconn``/``putconn`` and swaps the connection's ``cursor_factory`` for a
fault-checking subclass), psycopg_pool's ``ConnectionPool`` (the same, plus a
``commit`` wrapper) and a SQLAlchemy engine (pool events, and engine events for
faults). Each pair, untracked and tracked, runs in interleaved rounds (rotating
order); reported are the median µs per operation and the median of the
per-round ratios tracked/untracked. CPU time by default (``--clock wall`` for
``perf_counter``).

    python benchmarks/track_overhead.py --iterations 2000 --repeat 31
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

DEFAULT_DSN = os.environ.get(
    "POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"
)


def _psycopg2(dsn: str, tracked: bool, statement: bool) -> tuple[Callable[[], None], Any]:
    import psycopg2.pool

    from poolsafe.runtime import track

    pool = psycopg2.pool.ThreadedConnectionPool(1, 4, dsn)
    tracker = track(pool) if tracked else None

    def op() -> None:
        conn = pool.getconn()
        if statement:
            cur = conn.cursor()
            cur.execute("SELECT 1")
            cur.fetchone()
            cur.close()
            conn.rollback()
        pool.putconn(conn)

    def close() -> None:
        if tracker is not None:
            tracker.detach()
        pool.closeall()

    return op, close


def _psycopg_pool(dsn: str, tracked: bool, statement: bool) -> tuple[Callable[[], None], Any]:
    import psycopg_pool

    from poolsafe.runtime import track

    pool = psycopg_pool.ConnectionPool(dsn, min_size=1, max_size=4, open=True)
    pool.wait()
    tracker = track(pool) if tracked else None

    def op() -> None:
        conn = pool.getconn()
        if statement:
            conn.execute("SELECT 1").fetchone()
            conn.rollback()
        pool.putconn(conn)

    def close() -> None:
        if tracker is not None:
            tracker.detach()
        pool.close()

    return op, close


def _sqlalchemy(dsn: str, tracked: bool, statement: bool) -> tuple[Callable[[], None], Any]:
    import sqlalchemy

    from poolsafe.runtime import track

    engine = sqlalchemy.create_engine(dsn, pool_size=4)
    tracker = track(engine) if tracked else None

    def op() -> None:
        with engine.connect() as conn:
            if statement:
                conn.exec_driver_sql("SELECT 1").fetchone()

    def close() -> None:
        if tracker is not None:
            tracker.detach()
        engine.dispose()

    return op, close


SUBJECTS = {"psycopg2": _psycopg2, "psycopg_pool": _psycopg_pool, "sqlalchemy": _sqlalchemy}


def _time(op: Callable[[], None], iterations: int, clock: Callable[[], float]) -> float:
    start = clock()
    for _ in range(iterations):
        op()
    return (clock() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"{'subject':<34}{'untracked µs':>14}{'tracked µs':>12}{'ratio':>8}")
    for name, make in SUBJECTS.items():
        for statement in (False, True):
            # one subject untracked and one tracked, alive together, timed in
            # interleaved rounds (tracking one pool leaves the other alone)
            plain_op, plain_close = make(args.dsn, False, statement)
            tracked_op, tracked_close = make(args.dsn, True, statement)
            for op in (plain_op, tracked_op):  # warm up
                _time(op, 200, clock)
            plain: list[float] = []
            tracked: list[float] = []
            for round_number in range(args.repeat):
                order = [(plain_op, plain), (tracked_op, tracked)]
                if round_number % 2:
                    order.reverse()
                for op, results in order:
                    results.append(_time(op, args.iterations, clock))
            plain_close()
            tracked_close()
            ratio = statistics.median(t / p for p, t in zip(plain, tracked, strict=True))
            label = f"{name} {'checkout+SELECT 1+return' if statement else 'checkout+return'}"
            print(
                f"{label:<34}{statistics.median(plain):>14.2f}"
                f"{statistics.median(tracked):>12.2f}{ratio:>7.2f}x"
            )


if __name__ == "__main__":
    main()
