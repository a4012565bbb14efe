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
from .faults import FaultInjector, FaultScope, FaultSet
from .health import pool_health
from .pool import ConnectionPool, PoolStats, SimpleConnectionPool, ThreadedConnectionPool
from .prometheus import register_prometheus
from .track import Tracker, TrackerStats, track
from .tracking import Event, Holder, default_stack_depth, set_default_stack_depth

__all__ = [
    "ConnectionPool",
    "DriverUnavailableError",
    "Error",
    "Event",
    "FaultInjector",
    "FaultScope",
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
    "pool_health",
    "register_prometheus",
    "set_default_stack_depth",
    "track",
]
