"""Checkout + return throughput: poolsafe's tracked pool vs psycopg2 vs psycopg_pool.

One thread; every pool has min 1 / max 4 connections to the same PostgreSQL
server, is warmed up first, and gets its connections back idle (no statement,
no transaction). The pools are measured *interleaved*: each round times one run
of ``--iterations`` getconn/putconn pairs per pool, in a rotating order, so that
drift on a shared machine hits all of them alike. Reported: the median per-op
time over the rounds and the median of the per-round ratios to psycopg2's
``ThreadedConnectionPool``. Time is the process's CPU time by default (``--clock
cpu``: no pool does I/O on checkout or return, and CPU time does not count the
time the process waits for a core on a loaded machine); ``--clock wall`` for
``perf_counter``.

    python benchmarks/pool_throughput.py --dsn postgresql://postgres@127.0.0.1:5432/test
    python benchmarks/pool_throughput.py --baseline HEAD~3   # also time an older poolsafe
    python benchmarks/pool_throughput.py --stack-depth 16    # and a pool with deeper stacks

The poolsafe pools use their defaults (one stack frame per checkout) unless
``--stack-depth`` adds one more; ``getconn()`` is called three frames below the
module, so deeper captures have real frames to walk.

``--baseline REF`` loads ``src/poolsafe/runtime`` as of git revision ``REF`` under
another package name and measures it in the same rounds (before/after tables).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_DSN = os.environ.get(
    "POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"
)
REPO = Path(__file__).resolve().parent.parent


class Subject:
    """One pool under test: its getconn/putconn, an idle check and a closer."""

    def __init__(
        self,
        name: str,
        get: Callable[[], Any],
        put: Callable[[Any], None],
        close: Callable[[], None],
        status: Callable[[Any], int],
    ) -> None:
        self.name = name
        self.get = get
        self.put = put
        self.close = close
        self.status = status
        self.runs: list[float] = []

    def run(self, iterations: int, clock: Callable[[], float]) -> float:
        get, put = self.get, self.put
        start = clock()
        for _ in range(iterations):
            put(get())
        return (clock() - start) / iterations

    def check_idle(self) -> None:
        """Returned connections must come back idle (transaction status 0)."""
        conn = self.get()
        try:
            status = self.status(conn)
        finally:
            self.put(conn)
        if status != 0:
            raise SystemExit(f"{self.name}: connection not idle after return (status {status})")


def _pg2_status(conn: Any) -> int:
    raw = getattr(conn, "raw", conn)
    return int(raw.get_transaction_status())


def _pg3_status(conn: Any) -> int:
    raw = getattr(conn, "raw", conn)
    return int(raw.info.transaction_status)


def load_baseline(ref: str) -> Any:
    """``poolsafe.runtime`` as of ``ref``, importable as ``poolsafe_baseline_runtime``."""
    target = Path(tempfile.mkdtemp(prefix="poolsafe-baseline-"))
    package = target / "poolsafe_baseline_runtime"
    package.mkdir()
    listing = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", ref, "src/poolsafe/runtime/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for path in listing:
        if not path.endswith(".py"):
            continue
        source = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{ref}:{path}"],
            check=True,
            capture_output=True,
        ).stdout
        (package / Path(path).name).write_bytes(source)
    sys.path.insert(0, str(target))
    return importlib.import_module("poolsafe_baseline_runtime")


def build(args: argparse.Namespace) -> list[Subject]:
    import psycopg2.pool
    import psycopg_pool

    from poolsafe.runtime import ConnectionPool

    subjects: list[Subject] = []
    pg2 = psycopg2.pool.ThreadedConnectionPool(1, 4, args.dsn)
    subjects.append(
        Subject("psycopg2 ThreadedConnectionPool", pg2.getconn, pg2.putconn, pg2.closeall,
                _pg2_status)
    )
    tracked = ConnectionPool(1, 4, args.dsn)
    subjects.append(
        Subject("poolsafe ConnectionPool (psycopg2)", tracked.getconn, tracked.putconn,
                tracked.closeall, _pg2_status)
    )
    if args.stack_depth is not None:
        deep = ConnectionPool(1, 4, args.dsn, stack_depth=args.stack_depth)
        subjects.append(
            Subject(f"poolsafe stack_depth={args.stack_depth} (psycopg2)", deep.getconn,
                    deep.putconn, deep.closeall, _pg2_status)
        )
    if args.baseline:
        old_class = load_baseline(args.baseline).ConnectionPool
        try:
            old = old_class(1, 4, args.dsn)  # psycopg2's constructor (since #20)
        except TypeError:
            old = old_class(1, 4, dsn=args.dsn, driver="psycopg2")
        subjects.append(
            Subject(f"poolsafe @{args.baseline} (psycopg2)", old.getconn, old.putconn,
                    old.closeall, _pg2_status)
        )
    if not args.psycopg2_only:
        import psycopg

        tracked3 = ConnectionPool(1, 4, args.dsn, connect=psycopg.connect)
        subjects.append(
            Subject("poolsafe ConnectionPool (psycopg 3)", tracked3.getconn, tracked3.putconn,
                    tracked3.closeall, _pg3_status)
        )
        pp = psycopg_pool.ConnectionPool(args.dsn, min_size=1, max_size=4, open=True)
        pp.wait()
        subjects.append(
            Subject("psycopg_pool ConnectionPool", pp.getconn, pp.putconn, pp.close, _pg3_status)
        )
    return subjects


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7, help="rounds (interleaved)")
    parser.add_argument("--baseline", metavar="REF", help="also time poolsafe at git REF")
    parser.add_argument("--stack-depth", type=int, metavar="N",
                        help="also time a poolsafe pool recording N frames per checkout")
    parser.add_argument("--psycopg2-only", action="store_true",
                        help="skip psycopg 3 and psycopg_pool")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                        help="process CPU time (default) or wall-clock time")
    args = parser.parse_args(argv)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter

    subjects = build(args)
    try:
        for subject in subjects:
            subject.check_idle()
            subject.run(min(args.iterations, 2000), clock)  # warm up
        for round_no in range(args.repeat):
            shift = round_no % len(subjects)
            for subject in subjects[shift:] + subjects[:shift]:
                subject.runs.append(subject.run(args.iterations, clock))
        for subject in subjects:
            subject.check_idle()
    finally:
        for subject in subjects:
            subject.close()

    base = subjects[0].runs
    print(f"checkout+return, 1 thread, {args.iterations} iterations x {args.repeat} "
          f"interleaved rounds (median, {args.clock} time), Python {sys.version.split()[0]}")
    print(f"{'pool':<40} {'ops/s':>10} {'us/op':>7} {'vs psycopg2':>12} {'min..max ratio':>15}")
    for subject in subjects:
        per_op = statistics.median(subject.runs)
        ratios = [mine / theirs for mine, theirs in zip(subject.runs, base, strict=True)]
        print(f"{subject.name:<40} {1 / per_op:>10,.0f} {per_op * 1e6:>7.2f} "
              f"{statistics.median(ratios):>11.2f}x {min(ratios):>7.2f}..{max(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
