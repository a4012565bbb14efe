"""Exception classes of :mod:`poolsafe.runtime`.

The names and messages follow ``psycopg2.pool`` so that code catching
``PoolError`` or matching ``"connection pool exhausted"`` keeps working.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every error raised by the runtime pool."""


class PoolError(Error):
    """Raised like ``psycopg2.pool.PoolError``: exhausted, closed, unkeyed connection."""


class PoolTimeout(PoolError):
    """No connection became available within the ``timeout`` given to the pool."""


class DriverUnavailableError(Error, ImportError):
    """The database driver needed for a DSN is not installed."""


class InjectedFault(Error):
    """An injected fault, raised when the driver of the pool is not known yet."""


class LeakError(AssertionError):
    """Raised by ``assert_no_leaks()`` when connections are still checked out."""
