"""pytest plugin: ``--poolsafe`` fails tests that leave connections checked out.

Registered through the ``pytest11`` entry point. With ``--poolsafe`` (or the
``poolsafe = true`` ini option) every test is checked; without it, the tests
that use the ``poolsafe_pool`` or ``poolsafe_faults`` fixture are. Trackers made
by ``track()`` during a test are detached when it ends (those made in fixtures
wider than a function live on).

With ``--poolsafe`` the SQLAlchemy pools nobody tracked are tracked too (the
engines in the application's module globals once collection is done, every
other pool at its first checkout: ``poolsafe.runtime.autotrack``), and the
terminal summary says how many pools were watched, zero included: a check that
watched nothing must not pass in silence.
"""

from __future__ import annotations

import bisect
import gc
import os
import sys
import weakref
from collections import Counter
from collections.abc import Callable, Generator, Iterator
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

    if enabled:
        check.start_watching()

    tracking.FULL_STACKS[0] = full_stacks
    if enabled and not os.environ.get("POOLSAFE_STACK_DEPTH", "").strip():
        # Reports should show how the test reached the leak, not only the line
        # that took the connection: record deeper stacks than the pool's default
        # (unless POOLSAFE_STACK_DEPTH asks for something else).
        config.stash[_PREVIOUS_DEPTH] = tracking.set_default_stack_depth(
            tracking.DEEP_STACK_DEPTH
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    check = config.pluginmanager.get_plugin("poolsafe-leak-check")
    if isinstance(check, LeakCheck):
        check.stop_watching()
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
        self.watched = Watched()
        self.wide_fixtures: list[tuple[int, int]] = []  # phases of their setups
        #: (the phase each test's setup began in, the test), in order: the test a
        #: checkout held when a pool ran dry was made in
        self.test_phases: list[tuple[int, str]] = []

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.report is not None:
            self.report.write()

    def start_watching(self) -> None:
        """Count every pool and tracker from now on (the summary names them)."""
        from poolsafe.runtime import tracking

        for monitor in tracking.live_monitors():
            self.watched.add(monitor)
        self.watched.stop_counting = tracking.on_register(self.watched.add)

    def stop_watching(self) -> None:
        self.watched.stop()

    def _watch_sqlalchemy(self) -> None:
        """Once SQLAlchemy is imported, track every pool of it (cheap to call)."""
        if self.enabled and self.watched.stop_sqlalchemy is None and (
            "sqlalchemy" in sys.modules
        ):
            from poolsafe.runtime.autotrack import watch_sqlalchemy

            self.watched.stop_sqlalchemy = watch_sqlalchemy(self.watched.adopt)

    def _watch_django(self) -> None:
        """Once Django's settings are configured, track the connections its worker
        threads open (``django.db.connections``; cheap to call)."""
        if not self.enabled or self.watched.django or "django.db" not in sys.modules:
            return
        from django.conf import settings

        if not settings.configured:
            return
        from django.db import connections

        from poolsafe.runtime.track_django import track_django
        from poolsafe.runtime.tracker import tracker_for

        self.watched.django = True
        if tracker_for(connections) is None:
            self.watched.adopt(track_django(connections, "django.db.connections"))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The application is imported: track the engines in its modules' globals
        under their names, before any test runs."""
        if not self.enabled:
            return
        self._watch_sqlalchemy()
        self._watch_django()
        from poolsafe.runtime.autotrack import engines_in_modules
        from poolsafe.runtime.track_sqlalchemy import track_sqlalchemy
        from poolsafe.runtime.tracker import tracker_for

        for name, engine in engines_in_modules():
            pool = getattr(getattr(engine, "sync_engine", engine), "pool", None)
            if tracker_for(engine) is None and tracker_for(pool) is None:
                self.watched.adopt(track_sqlalchemy(engine, name))
        self._watch_peewee()

    def _watch_peewee(self) -> None:
        """playhouse's pooled databases in the application's globals."""
        from poolsafe.runtime.autotrack import peewee_pools_in_modules
        from poolsafe.runtime.tracker import tracker_for

        for name, database in peewee_pools_in_modules():
            if tracker_for(database) is None:
                from poolsafe.runtime.track_peewee import track_peewee

                self.watched.adopt(track_peewee(database, name))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.enabled:
            terminalreporter.write_line(self.watched.summary())
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
        loaded = self.enabled or _TRACKING_MODULE in sys.modules
        start = _now() if loaded else 0
        yield
        if loaded:
            # What a session, module or class fixture checks out is held for its
            # scope, on purpose: not a leak of the test that first needed it.
            self.wide_fixtures.append((start, _now()))
        for tracker in _live_trackers():
            if id(tracker) not in before:
                tracker.persistent = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Until something imports the runtime there is no pool, tracker or event:
        # phase 0 stands for "since the start" and nothing is loaded.
        loaded = self.enabled or _TRACKING_MODULE in sys.modules
        item.stash[_START] = _now() if loaded else 0
        if loaded:
            self.test_phases.append((item.stash[_START], item.nodeid))
        self._watch_sqlalchemy()
        self._watch_django()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self._watch_sqlalchemy()
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
        def counted(seq: int) -> bool:
            return bool(counts(seq)) and not any(a <= seq < b for a, b in self.wide_fixtures)

        held = _held_since(since, counted)
        if held:
            # A dropped connection in a reference cycle (SQLAlchemy's) waits for
            # the cycle collector: collect, then look again.
            gc.collect()
            held = _held_since(since, counted)
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
        if self.report is not None:
            for error in tracking.pool_errors_since(since):
                if counts(error.seq):
                    self.report.add_pool_error(test, error, self._test_of)
        return lines

    def _test_of(self, seq: int) -> str | None:
        """The test whose phases `seq` is in (None: before the first test)."""
        i = bisect.bisect_right(self.test_phases, (seq, "\U0010ffff")) - 1
        return self.test_phases[i][1] if i >= 0 else None


class Watched:
    """The pools and trackers seen during the session, for the summary line."""

    def __init__(self) -> None:
        self.seen: weakref.WeakSet[Any] = weakref.WeakSet()
        self.counts: Counter[str] = Counter()  # "name (kind)" -> how many, in order seen
        self.stop_counting: Callable[[], None] | None = None
        self.stop_sqlalchemy: Callable[[], None] | None = None
        #: Django's connection handler is tracked (its tracker lives for the session)
        self.django = False

    def add(self, monitor: Any) -> None:
        if monitor in self.seen:
            return
        self.seen.add(monitor)
        name = str(getattr(monitor, "name", type(monitor).__name__))
        kind = getattr(monitor, "kind", None)  # a Tracker: "sqlalchemy", "psycopg2"...
        target = getattr(monitor, "target", None)
        if kind == "sqlalchemy":
            pool = getattr(getattr(target, "sync_engine", target), "pool", target)
            what = f"SQLAlchemy {type(pool).__name__}"
        elif kind is not None:
            what = f"{kind} {type(target).__name__}"
        else:
            what = f"poolsafe {type(monitor).__name__}"
        self.counts[f"{name} ({what})"] += 1

    def adopt(self, tracker: Any) -> None:
        """A tracker the plugin made: it lives as long as its pool, not one test."""
        tracker.persistent = True
        self.add(tracker)

    def stop(self) -> None:
        for stop in (self.stop_counting, self.stop_sqlalchemy):
            if stop is not None:
                stop()
        self.stop_counting = self.stop_sqlalchemy = None

    def summary(self) -> str:
        total = sum(self.counts.values())
        if not total:
            return (
                "poolsafe: watched 0 pools: no test was checked for connection leaks "
                "(no poolsafe ConnectionPool was built, no SQLAlchemy pool was used, no "
                "pooled peewee database or set-up Django was found and nothing was given "
                "to poolsafe.runtime.track())"
            )
        listed = ", ".join(
            label if count == 1 else f"{label} x{count}" for label, count in self.counts.items()
        )
        return f"poolsafe: watched {total} pool{'s' if total > 1 else ''}: {listed}"


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
