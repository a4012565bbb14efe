"""pytest plugin: ``--poolsafe`` fails tests that leave connections checked out.

Registered through the ``pytest11`` entry point. Without ``--poolsafe`` (or the
``poolsafe = true`` ini option) only the option and the fixtures are defined.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from poolsafe.runtime import ConnectionPool, FaultInjector
    from poolsafe.runtime.tracking import Event, Holder

_START = pytest.StashKey[int]()
_CALL = pytest.StashKey[tuple[int, int]]()
_PREVIOUS_DEPTH = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("poolsafe", "database connection leak checks")
    group.addoption(
        "--poolsafe",
        action="store_true",
        default=False,
        help="fail tests that leave a poolsafe-tracked connection checked out",
    )
    group.addoption(
        "--poolsafe-strict",
        action="store_true",
        default=False,
        help="with --poolsafe, also fail on a connection returned inside a transaction",
    )
    parser.addini("poolsafe", "enable the poolsafe leak check", type="bool", default=False)
    parser.addini(
        "poolsafe_strict", "also fail on returns inside a transaction", type="bool", default=False
    )


def pytest_configure(config: pytest.Config) -> None:
    strict = bool(config.getoption("poolsafe_strict") or config.getini("poolsafe_strict"))
    enabled = bool(config.getoption("poolsafe") or config.getini("poolsafe") or strict)
    if enabled:
        from poolsafe.runtime import tracking

        # Reports should show how the test reached the leak, not only the line
        # that took the connection: record deeper stacks than the pool's default
        # (unless POOLSAFE_STACK_DEPTH asks for something else).
        if not os.environ.get("POOLSAFE_STACK_DEPTH", "").strip():
            config.stash[_PREVIOUS_DEPTH] = tracking.set_default_stack_depth(
                tracking.DEEP_STACK_DEPTH
            )
        config.pluginmanager.register(LeakCheck(strict), "poolsafe-leak-check")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _PREVIOUS_DEPTH in config.stash:
        from poolsafe.runtime import tracking

        tracking.set_default_stack_depth(config.stash[_PREVIOUS_DEPTH])
        del config.stash[_PREVIOUS_DEPTH]


class LeakCheck:
    """Starts a new tracking phase around each test phase and reports what
    happened in it (checkouts and events carry the phase they happened in)."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[_START] = _now()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        item.stash[_CALL] = (_now(), 0)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if call.when == "call" and _CALL in item.stash:
            start = item.stash[_CALL][0]
            end = _now()
            item.stash[_CALL] = (start, end)
            problems = self._problems(start, lambda seq: seq >= start)
        elif call.when == "teardown" and _START in item.stash:
            begin = item.stash[_START]
            window = item.stash.get(_CALL, (0, 0))
            problems = self._problems(begin, lambda seq: not window[0] <= seq < window[1])
        else:
            return
        if not problems:
            return
        text = "poolsafe found connection problems:\n" + "\n".join(problems)
        if report.passed:
            report.outcome = "failed"
            report.longrepr = text
        else:
            report.sections.append(("poolsafe", text))

    def _problems(self, since: int, counts: Any) -> list[str]:
        from poolsafe.runtime import tracking

        lines: list[str] = []
        if any(monitor.holders() for monitor in tracking.live_monitors()):
            # A dropped connection in a reference cycle (sqlite3's) is reported as
            # garbage-collected only once the collector has run.
            gc.collect()
        for monitor in tracking.live_monitors():
            for holder in monitor.holders():
                if holder.seq >= since and counts(holder.seq):
                    lines.append(_format_holder("still checked out", holder))
        for event in tracking.events_since(since):
            if not counts(event.holder.seq):
                continue
            if event.kind == "bad_return" and not self.strict:
                continue
            lines.append(_format_event(event))
        return lines


def _now() -> int:
    from poolsafe.runtime import tracking

    return tracking.new_phase()


def _format_holder(title: str, holder: Holder) -> str:
    return f"- {title}: {holder.report()}"


def _format_event(event: Event) -> str:
    return f"- {event.message}\n{event.holder.stack}"


@pytest.fixture
def poolsafe_pool(tmp_path: Any) -> Iterator[ConnectionPool]:
    """A small tracked pool (max 3): SQLite in ``tmp_path`` unless ``POOLSAFE_DSN``
    names a PostgreSQL or MySQL database."""
    from poolsafe.runtime import ConnectionPool

    dsn = os.environ.get("POOLSAFE_DSN") or f"sqlite:///{tmp_path / 'poolsafe.db'}"
    pool = ConnectionPool.from_url(0, 3, dsn, name="poolsafe_pool")
    yield pool
    if not pool.closed:
        pool.closeall()


@pytest.fixture
def poolsafe_faults(poolsafe_pool: ConnectionPool) -> Iterator[FaultInjector]:
    """Inject faults into ``poolsafe_pool``: ``poolsafe_faults(statements=1)``."""
    injector = poolsafe_pool.fault_injector
    yield injector
    injector.clear()
