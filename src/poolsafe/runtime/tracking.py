"""Cheap checkout stacks, holder descriptions and the registry of live monitors.

Stacks are captured with a ``sys._getframe`` walk that stores each frame's code
object and bytecode offset (``f_lasti``, cheaper than ``f_lineno``) into one flat
list, ``[code, lasti, code, lasti, ...]`` (a :data:`RawStack`; ~25% cheaper per
frame than a list of pairs). Frame objects themselves are never kept: that would
keep the callers' locals, a leaked connection among them, alive. Line numbers
and source lines are only computed when a report is formatted.
"""

from __future__ import annotations

import itertools
import linecache
import os
import sys
import sysconfig
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any, Protocol, TypeAlias

Frame = tuple[CodeType, int]
RawStack: TypeAlias = "list[Any]"
"""A captured stack, innermost first, flattened: ``[code, lasti, code, lasti, ...]``."""

STACK_LIMIT = 48
"""Frames kept by :func:`capture_stack` when no depth is given (``track()``)."""
DEEP_STACK_DEPTH = 16
"""Default depth of pools with ``leak_threshold=`` and under ``pytest --poolsafe``."""


def _env_depth() -> int:
    value = os.environ.get("POOLSAFE_STACK_DEPTH", "").strip()
    if not value:
        return 1
    try:
        depth = int(value)
    except ValueError:
        raise ValueError(f"POOLSAFE_STACK_DEPTH must be an integer, not {value!r}") from None
    if depth < 0:
        raise ValueError(f"POOLSAFE_STACK_DEPTH must be >= 0, not {depth}")
    return depth


_default_depth = _env_depth()
_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_PLUGIN_FILE = os.path.join(os.path.dirname(_RUNTIME_DIR.rstrip(os.sep)), "pytest_plugin.py")

PHASE = [1]
"""``PHASE[0]``: the current phase, stamped on every checkout and event (their
``seq``). Only :func:`new_phase` changes it — the pytest plugin, at the start and
end of each test phase — so a checkout reads one list item instead of drawing a
number of its own, and "taken after phase ``p`` began" is ``seq >= p``."""
_PHASE_LOCK = threading.Lock()


def new_phase() -> int:
    """Start a new phase and return its number (greater than every ``seq`` so far)."""
    with _PHASE_LOCK:
        PHASE[0] += 1
        return PHASE[0]


def capture_stack(depth: int = STACK_LIMIT) -> RawStack:
    """Return the caller's stack (a :data:`RawStack`, at most ``depth`` frames),
    innermost first, without the runtime's own frames."""
    f = sys._getframe(1)
    runtime_dir = _RUNTIME_DIR
    while f is not None and f.f_code.co_filename.startswith(runtime_dir):
        f = f.f_back  # type: ignore[assignment]
    frames: RawStack = []
    while f is not None and depth:
        frames.append(f.f_code)  # (frames.append beats a bound-method local on 3.11)
        frames.append(f.f_lasti)
        f = f.f_back  # type: ignore[assignment]
        depth -= 1
    return frames


def default_stack_depth() -> int:
    """Frames a pool built without ``stack_depth=`` records per checkout: 1 (the
    borrower's own frame), ``POOLSAFE_STACK_DEPTH`` or :func:`set_default_stack_depth`."""
    return _default_depth


def set_default_stack_depth(depth: int) -> int:
    """Set the stack depth of pools built without ``stack_depth=``, those alive
    now included; returns the previous default."""
    global _default_depth
    depth = int(depth)
    if depth < 0:
        raise ValueError("stack depth must be >= 0")
    previous, _default_depth = _default_depth, depth
    for monitor in live_monitors():
        follow = getattr(monitor, "_follow_default_depth", None)
        if follow is not None:
            follow(depth)
    return previous


def frames_of(raw: Sequence[Any]) -> tuple[Frame, ...]:
    """The ``(code, lasti)`` pairs of a :data:`RawStack`."""
    return tuple(zip(raw[0::2], raw[1::2], strict=True))


def line_of(code: CodeType, lasti: int) -> int:
    """Line number of the instruction at byte offset ``lasti`` of ``code``."""
    for start, end, line in code.co_lines():
        if start <= lasti < end and line is not None:
            return line
    return code.co_firstlineno


def _library_prefixes() -> tuple[str, ...]:
    """Directories whose frames are never "the place that took the connection"."""
    prefixes = [_RUNTIME_DIR, _PLUGIN_FILE]
    for name in ("contextlib", "sqlalchemy", "psycopg_pool", "psycopg2", "psycopg", "threading"):
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        if os.path.basename(path) == "__init__.py":
            prefixes.append(os.path.dirname(os.path.abspath(path)) + os.sep)
        else:
            prefixes.append(os.path.abspath(path))
    return tuple(prefixes)


def short_path(filename: str) -> str:
    """``filename`` relative to the working directory when it lies below it."""
    try:
        rel = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if rel.startswith("..") else rel


def site_of(frames: Sequence[Frame]) -> str:
    """``file:line in function`` of the frame that took the connection: the
    innermost one of the user's code (not pool, driver or SQLAlchemy code, not
    an installed package, the standard library or a function SQLAlchemy
    generated, whose file is ``<sqlalchemy generated ...>``); failing that, the
    innermost one outside pool and driver code; failing that, the innermost."""
    if not frames:
        return "<unknown>"
    prefixes = _library_prefixes()
    outside = [f for f in frames if not os.path.abspath(f[0].co_filename).startswith(prefixes)]
    mine = [f for f in outside if not is_library_file(f[0].co_filename)]
    code, lasti = (mine or outside or frames)[0]
    return f"{short_path(code.co_filename)}:{line_of(code, lasti)} in {code.co_name}"


FULL_STACKS = [False]
"""``FULL_STACKS[0]``: show every frame of a holder's stack (``pytest
--poolsafe-full-stacks``) instead of folding library frames."""

_HARNESS_PARTS = tuple(
    os.sep + part + os.sep for part in ("_pytest", "pluggy", "site-packages", "dist-packages")
)
_POOLSAFE_DIR = os.path.dirname(_RUNTIME_DIR.rstrip(os.sep)) + os.sep


def _stdlib_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib")
    found = {os.path.abspath(paths[key]) + os.sep for key in keys if key in paths}
    return tuple(sorted(found))


_STDLIB_DIRS = _stdlib_dirs()


def is_library_file(filename: str) -> bool:
    """Whether a frame of ``filename`` is not the user's code: installed packages
    (site-packages), the standard library, pytest and pluggy, runpy and frozen
    modules, and poolsafe itself."""
    if filename.startswith("<"):  # <frozen runpy>, <string>, <stdin>
        return True
    if any(part in filename for part in _HARNESS_PARTS):
        return True
    path = os.path.abspath(filename)
    return path.startswith(_POOLSAFE_DIR) or path.startswith(_STDLIB_DIRS)


def format_stack(frames: Sequence[Frame], full: bool | None = None) -> str:
    """Format like a traceback: outermost call first, with source lines.

    Unless ``full`` (default: :data:`FULL_STACKS`), the report starts at the first
    frame of user code and runs of library frames below it are folded into one
    line (``... 12 library frames ...``), as pytest folds its own traceback.
    """
    ordered = list(reversed(frames))
    show_all = FULL_STACKS[0] if full is None else full
    library = [is_library_file(code.co_filename) for code, _ in ordered]
    show_all = show_all or all(library)  # no user code at all: hide nothing
    start = 0 if show_all else library.index(False)
    lines: list[str] = []
    folded = 0
    for (code, lasti), in_library in zip(ordered[start:], library[start:], strict=True):
        if in_library and not show_all:
            folded += 1
            continue
        if folded:
            lines.append(_fold_line(folded))
            folded = 0
        lineno = line_of(code, lasti)
        lines.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}\n')
        source = linecache.getline(code.co_filename, lineno).strip()
        if source:
            lines.append(f"    {source}\n")
    if folded:
        lines.append(_fold_line(folded))
    return "".join(lines)


def _fold_line(count: int) -> str:
    return f"  ... {count} library frame{'s' if count != 1 else ''} ...\n"


@dataclass(frozen=True)
class Holder:
    """Who holds a connection, from where, and since when."""

    pool: str
    connection: str
    thread: str
    site: str
    since: float
    age: float
    state: str
    seq: int
    frames: tuple[Frame, ...] = field(repr=False, compare=False, default=())

    @property
    def stack(self) -> str:
        return format_stack(self.frames)

    def describe(self) -> str:
        note = "" if self.state == "checked out" else f" [{self.state}]"
        return (
            f"{self.connection} held by thread {self.thread!r} for {self.age:.2f} s, "
            f"taken at {self.site}{note}"
        )

    def report(self) -> str:
        return f"{self.describe()}\n{self.stack}"


def make_holder(
    pool: str,
    connection: str,
    thread: threading.Thread,
    started: float,
    raw: RawStack,
    state: str,
    seq: int,
    now: float | None = None,
) -> Holder:
    """A :class:`Holder` from checkout bookkeeping (``raw``: a :data:`RawStack`)."""
    now = time.monotonic() if now is None else now
    age = max(0.0, now - started)
    frames = frames_of(raw)
    return Holder(
        pool=pool,
        connection=connection,
        thread=thread.name,
        site=site_of(frames),
        since=time.time() - age,
        age=age,
        state=state,
        seq=seq,
        frames=frames,
    )


def describe_holders(holders: Iterable[Holder]) -> str:
    return "".join(f"\n  - {h.describe()}" for h in holders)


# --- events and the registry used by the pytest plugin -------------------------------


@dataclass(frozen=True)
class Event:
    """Something that went wrong with a connection, kept for the pytest plugin."""

    seq: int
    kind: str  # "collected", "closed", "bad_return", "closed_pool"
    message: str
    holder: Holder


_EVENTS: deque[Event] = deque(maxlen=2000)


def record_event(kind: str, message: str, holder: Holder) -> Event:
    event = Event(PHASE[0], kind, message, holder)
    _EVENTS.append(event)
    return event


def events_since(phase: int) -> list[Event]:
    """Events recorded since ``phase`` began."""
    return [e for e in list(_EVENTS) if e.seq >= phase]


@dataclass(frozen=True)
class PoolErrorEvent:
    """A pool that ran dry (``PoolExhausted``, ``PoolTimeout``), with who held every
    connection at that moment. The holders are built when read (``holders()``),
    outside the pool's lock, from the data captured as the error was raised."""

    seq: int
    #: which one: they are numbered in the order they happened
    number: int
    kind: str  # "exhausted", "timeout"
    pool: str
    message: str
    holders: Callable[[], list[Holder]] = field(repr=False, compare=False)


_POOL_ERRORS: deque[PoolErrorEvent] = deque(maxlen=200)
_POOL_ERROR_NUMBERS = itertools.count(1)


def record_pool_error(kind: str, pool: str, message: str,
                      holders: Callable[[], list[Holder]]) -> None:
    """Remember a pool that ran dry (cheap: nothing is formatted here)."""
    _POOL_ERRORS.append(PoolErrorEvent(PHASE[0], next(_POOL_ERROR_NUMBERS), kind, pool,
                                       message, holders))


def pool_errors_since(phase: int) -> list[PoolErrorEvent]:
    """Pools that ran dry since ``phase`` began."""
    return [e for e in list(_POOL_ERRORS) if e.seq >= phase]


class Monitor(Protocol):
    """A pool or tracker whose holders the plugin inspects."""

    def holders(self) -> list[Holder]: ...


_MONITORS: weakref.WeakSet[Monitor] = weakref.WeakSet()
_MONITORS_LOCK = threading.Lock()


_LISTENERS: list[Callable[[Any], None]] = []


def register(monitor: Monitor) -> None:
    """Make ``monitor`` (a pool or a tracker) visible to the pytest plugin and
    to the listeners (the ``poolsafe_faults`` fixture arms its faults in it)."""
    with _MONITORS_LOCK:
        _MONITORS.add(monitor)
        listeners = list(_LISTENERS)
    for listener in listeners:
        listener(monitor)


def on_register(listener: Callable[[Any], None]) -> Callable[[], None]:
    """Call ``listener(monitor)`` for every monitor registered from now on;
    returns the function that stops it."""
    with _MONITORS_LOCK:
        _LISTENERS.append(listener)

    def stop() -> None:
        with _MONITORS_LOCK:
            if listener in _LISTENERS:
                _LISTENERS.remove(listener)

    return stop


def unregister(monitor: Monitor) -> None:
    with _MONITORS_LOCK:
        _MONITORS.discard(monitor)


def live_monitors() -> list[Monitor]:
    with _MONITORS_LOCK:
        return list(_MONITORS)
