"""Fault injection: make the next statements, commits or connects fail.

Every pool and tracker owns a :class:`FaultInjector`. A :class:`FaultScope` (the
``poolsafe_faults`` fixture) arms the same plans in every injector alive now and
in every one registered while it is open, so ``poolsafe_faults(statements=1)``
fails the next statement of whichever pool runs it; a plan shared by several
injectors counts its operations once, across all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

KINDS = ("statement", "commit", "connect")

_LOCK = threading.Lock()
"""Guards every plan: one plan may be armed in several injectors."""


@dataclass(eq=False)
class FaultPlan:
    """Fail ``count`` operations of ``kind`` after letting ``after`` of them pass."""

    kind: str
    count: int
    after: int = 0
    match: str | None = None
    passed: int = 0
    fired: int = 0

    @property
    def remaining(self) -> int:
        return self.count - self.fired

    def applies_to(self, sql: str | None) -> bool:
        if self.match is None:
            return True
        return sql is not None and self.match.lower() in sql.lower()


def make_plans(
    statements: int = 0,
    commits: int = 0,
    connects: int = 0,
    after: int = 0,
    match: str | None = None,
) -> list[FaultPlan]:
    if min(statements, commits, connects, after) < 0:
        raise ValueError("fault counts must not be negative")
    return [
        FaultPlan(kind, count, after, match if kind == "statement" else None)
        for kind, count in zip(KINDS, (statements, commits, connects), strict=True)
        if count
    ]


class FaultSet:
    """The plans added by one ``pool.faults(...)`` call; a context manager that
    cancels whatever has not fired yet on exit."""

    def __init__(self, injector: FaultInjector | FaultScope, plans: list[FaultPlan]) -> None:
        self._injector = injector
        self.plans = plans

    @property
    def fired(self) -> int:
        return sum(p.fired for p in self.plans)

    @property
    def remaining(self) -> int:
        return sum(p.remaining for p in self.plans)

    def cancel(self) -> None:
        self._injector.remove(self.plans)

    def __enter__(self) -> FaultSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cancel()

    def __repr__(self) -> str:
        return f"<FaultSet fired={self.fired} remaining={self.remaining}>"


class FaultInjector:
    """Per-pool list of fault plans. ``active`` is checked on the hot paths.

    ``kinds`` are the operations the pool can fail (a tracked psycopg2 pool cannot
    fail commits: its connections are C objects poolsafe cannot hook).
    """

    def __init__(
        self, make_error: Callable[[str], Exception], kinds: Iterable[str] = KINDS
    ) -> None:
        self._make_error = make_error
        self.kinds = tuple(kinds)
        self._plans: list[FaultPlan] = []
        self.active = False
        self.history: list[str] = []

    def __call__(
        self,
        *,
        statements: int = 0,
        commits: int = 0,
        connects: int = 0,
        after: int = 0,
        match: str | None = None,
    ) -> FaultSet:
        """Fail the next ``statements``/``commits``/``connects`` operations.

        ``after`` lets that many matching operations succeed first; ``match`` limits
        statement faults to SQL containing the substring (case-insensitive).
        """
        plans = make_plans(statements, commits, connects, after, match)
        unsupported = sorted({p.kind for p in plans} - set(self.kinds))
        if unsupported:
            raise ValueError(
                f"this pool cannot fail {' or '.join(k + 's' for k in unsupported)}; "
                f"it can fail: {', '.join(k + 's' for k in self.kinds)}"
            )
        self.arm(plans)
        return FaultSet(self, plans)

    def arm(self, plans: Iterable[FaultPlan]) -> None:
        """Add ``plans`` (those of a kind this pool can fail), shared as they are."""
        with _LOCK:
            self._plans.extend(p for p in plans if p.kind in self.kinds)
            self.active = bool(self._plans)

    def remove(self, plans: list[FaultPlan]) -> None:
        with _LOCK:
            self._plans = [p for p in self._plans if all(p is not q for q in plans)]
            self.active = bool(self._plans)

    def clear(self) -> None:
        with _LOCK:
            self._plans.clear()
            self.active = False

    def check(self, kind: str, sql: str | None = None) -> None:
        """Raise the driver's error if a plan says this operation must fail."""
        error = self.fault(kind, sql)
        if error is not None:
            raise error

    def fault(self, kind: str, sql: str | None = None) -> Exception | None:
        """The error this operation must fail with, if a plan says so (and count it)."""
        with _LOCK:
            for plan in self._plans:
                if plan.kind != kind or plan.remaining <= 0 or not plan.applies_to(sql):
                    continue
                if plan.passed < plan.after:
                    plan.passed += 1
                    return None
                plan.fired += 1
                self._plans = [p for p in self._plans if p.remaining > 0]
                self.active = bool(self._plans)
                break
            else:
                return None
        what = f"{kind} {sql!r}" if sql is not None else kind
        message = f"poolsafe injected fault: {what} failed ({plan.fired} of {plan.count})"
        self.history.append(message)
        return self._make_error(message)


class FaultScope:
    """Faults for every pool and tracker: those alive now and those registered
    while the scope is open (the ``poolsafe_faults`` fixture).

    ``scope(statements=1)`` fails the next statement run through any of them.
    """

    def __init__(self, injectors: Callable[[], Iterable[FaultInjector]]) -> None:
        self._injectors = injectors
        self._plans: list[FaultPlan] = []
        self._armed: list[FaultInjector] = []
        self.closed = False

    def __call__(
        self,
        *,
        statements: int = 0,
        commits: int = 0,
        connects: int = 0,
        after: int = 0,
        match: str | None = None,
    ) -> FaultSet:
        """Fail the next ``statements``/``commits``/``connects`` operations of any
        pool (see :meth:`FaultInjector.__call__`)."""
        if self.closed:
            raise RuntimeError("this fault scope is closed")
        plans = make_plans(statements, commits, connects, after, match)
        self._plans.extend(plans)
        for injector in self._injectors():
            self.adopt(injector, plans)
        return FaultSet(self, plans)

    def adopt(self, injector: FaultInjector, plans: list[FaultPlan] | None = None) -> None:
        """Arm this scope's plans (or ``plans``) in ``injector``."""
        if self.closed:
            return
        todo = self._plans if plans is None else plans
        if todo:
            injector.arm(todo)
        if all(injector is not known for known in self._armed):
            self._armed.append(injector)

    @property
    def fired(self) -> int:
        return sum(p.fired for p in self._plans)

    @property
    def history(self) -> list[str]:
        return [line for injector in self._armed for line in injector.history]

    def remove(self, plans: list[FaultPlan]) -> None:
        self._plans = [p for p in self._plans if all(p is not q for q in plans)]
        for injector in self._armed:
            injector.remove(plans)

    def clear(self) -> None:
        """Cancel every plan of this scope, in every pool it armed."""
        self.remove(list(self._plans))

    def close(self) -> None:
        self.clear()
        self.closed = True
        self._armed.clear()

    def __repr__(self) -> str:
        return f"<FaultScope plans={len(self._plans)} pools={len(self._armed)}>"


def injector_of(monitor: Any) -> FaultInjector | None:
    injector = getattr(monitor, "fault_injector", None)
    return injector if isinstance(injector, FaultInjector) else None
