"""pytest plugin: ``--poolsafe`` fails tests that leave connections checked out.

Registered through the ``pytest11`` entry point. With ``--poolsafe`` (or the
``poolsafe = true`` ini option) every test is checked; without it, the tests
that use the ``poolsafe_pool`` or ``poolsafe_faults`` fixture are. Trackers made
by ``track()`` during a test are detached when it ends (those made in fixtures
wider than a function live on).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from poolsafe.runtime import ConnectionPool
    from poolsafe.runtime.evidence import RuntimeReport
    from poolsafe.runtime.faults import FaultScope
    from poolsafe.runtime.tracking import Event, Holder

_START = pytest.StashKey[int]()
_CALL = pytest.StashKey[tuple[int, int]]()
_PREVIOUS_DEPTH = pytest.StashKey[int]()
_FIXTURES = frozenset({"poolsafe_pool", "poolsafe_faults"})
_TRACKING_MODULE = "poolsafe.runtime.tracking"
_TRACKER_MODULE = "poolsafe.runtime.tracker"


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
    group.addoption(
        "--poolsafe-full-stacks",
        action="store_true",
        default=False,
        help="show every frame of a holder's stack (library, pytest and poolsafe "
        "frames are folded by default)",
    )
    group.addoption(
        "--poolsafe-report",
        metavar="FILE",
        default=None,
        help="with --poolsafe (implied), write every leak seen, with its test and the "
        "user frames of its checkout, as JSON to FILE (for `poolsafe check --runtime FILE`)",
    )
    parser.addini("poolsafe", "enable the poolsafe leak check", type="bool", default=False)
    parser.addini(
        "poolsafe_strict", "also fail on returns inside a transaction", type="bool", default=False
    )


def pytest_configure(config: pytest.Config) -> None:
    strict = bool(config.getoption("poolsafe_strict") or config.getini("poolsafe_strict"))
    report_file = config.getoption("poolsafe_report")
    enabled = bool(config.getoption("poolsafe") or config.getini("poolsafe") or strict
                   or report_file)
    full_stacks = bool(config.getoption("poolsafe_full_stacks"))
    check = LeakCheck(enabled, strict)
    if report_file:
        from poolsafe.runtime.evidence import RuntimeReport

        check.report = RuntimeReport(report_file)
    config.pluginmanager.register(check, "poolsafe-leak-check")
    if not (enabled or full_stacks):
        return  # nothing is loaded until a test uses the runtime
    from poolsafe.runtime import tracking

    tracking.FULL_STACKS[0] = full_stacks
    if enabled and not os.environ.get("POOLSAFE_STACK_DEPTH", "").strip():
        # Reports should show how the test reached the leak, not only the line
        # that took the connection: record deeper stacks than the pool's default
        # (unless POOLSAFE_STACK_DEPTH asks for something else).
        config.stash[_PREVIOUS_DEPTH] = tracking.set_default_stack_depth(
            tracking.DEEP_STACK_DEPTH
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    tracking = sys.modules.get(_TRACKING_MODULE)
    if tracking is None:
        return
    tracking.FULL_STACKS[0] = False
    if _PREVIOUS_DEPTH in config.stash:
        tracking.set_default_stack_depth(config.stash[_PREVIOUS_DEPTH])
        del config.stash[_PREVIOUS_DEPTH]


class LeakCheck:
    """Starts a new tracking phase around each test phase and reports what
    happened in it (checkouts and events carry the phase they happened in)."""

    def __init__(self, enabled: bool, strict: bool) -> None:
        self.enabled = enabled
        self.strict = strict
        #: `--poolsafe-report FILE`: what every test leaked, written at the end
        self.report: RuntimeReport | None = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.report is not None:
            self.report.write()

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.report is not None:
            n = len(self.report.leaks)
            terminalreporter.write_line(
                f"poolsafe: {n} leak{'s' if n != 1 else ''} written to {self.report.path} "
                "(poolsafe check --runtime reads it)")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, None]:
        yield
        if _START in item.stash and _TRACKER_MODULE in sys.modules:
            _detach_trackers_since(item.stash[_START])

    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any) -> Generator[None, Any, None]:
        if fixturedef.scope == "function":
            yield
            return
        before = {id(t) for t in _live_trackers()}
        yield
        for tracker in _live_trackers():
            if id(tracker) not in before:
                tracker.persistent = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Until something imports the runtime there is no pool, tracker or event:
        # phase 0 stands for "since the start" and nothing is loaded.
        loaded = self.enabled or _TRACKING_MODULE in sys.modules
        item.stash[_START] = _now() if loaded else 0

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        if self._checks(item):
            item.stash[_CALL] = (_now(), 0)

    def _checks(self, item: pytest.Item) -> bool:
        """Whether ``item`` is checked: all tests with ``--poolsafe``, otherwise
        those that use the plugin's fixtures."""
        return self.enabled or not _FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, None]:
        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        if not self._checks(item):
            return
        if call.when == "call" and _CALL in item.stash:
            start = item.stash[_CALL][0]
            end = _now()
            item.stash[_CALL] = (start, end)
            problems = self._problems(start, lambda seq: seq >= start, item.nodeid)
        elif call.when == "teardown" and _START in item.stash:
            begin = item.stash[_START]
            window = item.stash.get(_CALL, (0, 0))
            problems = self._problems(begin, lambda seq: not window[0] <= seq < window[1],
                                      item.nodeid)
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

    def _problems(self, since: int, counts: Any, test: str) -> list[str]:
        """What went wrong in the phase that began at ``since``: connections
        still checked out, garbage-collected, closed instead of returned, and
        (strict) returned inside a transaction."""
        held = _held_since(since, counts)
        if held:
            # A dropped connection in a reference cycle (SQLAlchemy's) waits for
            # the cycle collector: collect, then look again.
            gc.collect()
            held = _held_since(since, counts)
        lines = [_format_holder("still checked out", h) for h in held]
        if self.report is not None:
            for h in held:
                self.report.add(test, "still checked out", h.report(), h)
        from poolsafe.runtime import tracking

        for event in tracking.events_since(since):
            if not counts(event.holder.seq):
                continue
            if event.kind == "bad_return" and not self.strict:
                continue
            lines.append(_format_event(event))
            if self.report is not None:
                self.report.add(test, event.kind, event.message, event.holder)
        return lines


def _held_since(since: int, counts: Any) -> list[Holder]:
    from poolsafe.runtime import tracking

    return [
        holder
        for monitor in tracking.live_monitors()
        for holder in monitor.holders()
        if holder.seq >= since and counts(holder.seq)
    ]


def _live_trackers() -> list[Any]:
    """The live trackers (none when the runtime has not been imported)."""
    module = sys.modules.get(_TRACKER_MODULE)
    return [] if module is None else list(module.live_trackers())


def _detach_trackers_since(start: int) -> None:
    for tracker in _live_trackers():
        if tracker.created_seq >= start and not tracker.persistent:
            tracker.detach()


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
def poolsafe_faults() -> Iterator[FaultScope]:
    """Inject faults into every pool built or tracked during the test:
    ``poolsafe_faults(statements=1)`` fails the next statement any of them runs
    (also ``commits=``, ``connects=``, ``after=``, ``match=``). Cancelled at teardown."""
    from poolsafe.runtime import tracking
    from poolsafe.runtime.faults import FaultScope, injector_of

    def injectors() -> list[Any]:
        found = (injector_of(m) for m in tracking.live_monitors())
        return [injector for injector in found if injector is not None]

    scope = FaultScope(injectors)

    def adopt(monitor: Any) -> None:
        injector = injector_of(monitor)
        if injector is not None:
            scope.adopt(injector)

    stop = tracking.on_register(adopt)
    try:
        yield scope
    finally:
        stop()
        scope.close()
