"""Runtime side of poolsafe: a tracked connection pool, fault injection and
``track()`` for existing pools.

``ConnectionPool`` is a drop-in for ``psycopg2.pool.ThreadedConnectionPool`` (same
constructor, same real connections) that records who holds every connection and
reports leaks instead of losing slots.
"""

from __future__ import annotations

from .errors import (
    DriverUnavailableError,
    Error,
    InjectedFault,
    LeakError,
    PoolError,
    PoolExhausted,
    PoolTimeout,
)
from .faults import FaultInjector, FaultSet
from .pool import ConnectionPool, PoolStats, SimpleConnectionPool, ThreadedConnectionPool
from .track import Tracker, TrackerStats, track
from .tracking import Event, Holder, default_stack_depth, set_default_stack_depth

__all__ = [
    "ConnectionPool",
    "DriverUnavailableError",
    "Error",
    "Event",
    "FaultInjector",
    "FaultSet",
    "Holder",
    "InjectedFault",
    "LeakError",
    "PoolError",
    "PoolExhausted",
    "PoolStats",
    "PoolTimeout",
    "SimpleConnectionPool",
    "ThreadedConnectionPool",
    "Tracker",
    "TrackerStats",
    "default_stack_depth",
    "set_default_stack_depth",
    "track",
]
