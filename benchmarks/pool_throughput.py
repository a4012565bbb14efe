"""Checkout + return throughput: poolsafe's tracked pool vs psycopg2 vs psycopg_pool.

Single thread, ``--iterations`` getconn/putconn pairs per run, ``--repeat`` runs,
median reported. All pools talk to the same PostgreSQL server.

    python benchmarks/pool_throughput.py --dsn postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

DEFAULT_DSN = os.environ.get(
    "POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"
)


def _loop(get: Callable[[], Any], put: Callable[[Any], None], iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        put(get())
    return time.perf_counter() - start


def measure(
    name: str, get: Callable[[], Any], put: Callable[[Any], None], iterations: int, repeat: int
) -> tuple[str, float]:
    _loop(get, put, min(iterations, 1000))  # warm up
    runs = [_loop(get, put, iterations) for _ in range(repeat)]
    return name, statistics.median(runs) / iterations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)

    import psycopg2.pool
    import psycopg_pool

    from poolsafe.runtime import ConnectionPool

    results: list[tuple[str, float]] = []

    pg2 = psycopg2.pool.ThreadedConnectionPool(1, 4, args.dsn)
    results.append(measure("psycopg2 ThreadedConnectionPool", pg2.getconn, pg2.putconn,
                           args.iterations, args.repeat))
    pg2.closeall()

    tracked = ConnectionPool(1, 4, dsn=args.dsn, driver="psycopg2")
    results.append(measure("poolsafe ConnectionPool (psycopg2)", tracked.getconn,
                           tracked.putconn, args.iterations, args.repeat))
    tracked.closeall()

    tracked3 = ConnectionPool(1, 4, dsn=args.dsn, driver="psycopg")
    results.append(measure("poolsafe ConnectionPool (psycopg 3)", tracked3.getconn,
                           tracked3.putconn, args.iterations, args.repeat))
    tracked3.closeall()

    pp = psycopg_pool.ConnectionPool(args.dsn, min_size=1, max_size=4, open=True)
    pp.wait()
    results.append(measure("psycopg_pool ConnectionPool", pp.getconn, pp.putconn,
                           args.iterations, args.repeat))
    pp.close()

    baseline = results[0][1]
    print(f"checkout+return, 1 thread, {args.iterations} iterations x {args.repeat} "
          f"runs (median), Python {sys.version.split()[0]}")
    print(f"{'pool':<38} {'ops/s':>12} {'us/op':>9} {'vs psycopg2':>12}")
    for name, per_op in results:
        print(f"{name:<38} {1 / per_op:>12,.0f} {per_op * 1e6:>9.2f} {per_op / baseline:>11.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
