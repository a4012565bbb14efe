"""Exception classes of :mod:`poolsafe.runtime`.

The names and messages follow ``psycopg2.pool``: when psycopg2 is installed,
:class:`PoolError` *is a* ``psycopg2.pool.PoolError``, so code catching that (or
``psycopg2.Error``) or matching ``"connection pool exhausted"`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    _DriverPoolError = Exception
else:
    try:
        from psycopg2.pool import PoolError as _DriverPoolError
    except ImportError:  # psycopg2 is optional: a plain Exception then
        _DriverPoolError = Exception


class Error(Exception):
    """Base class of every error raised by the runtime pool."""


class PoolError(Error, _DriverPoolError):
    """Raised like ``psycopg2.pool.PoolError``: exhausted, closed, unkeyed connection.

    A subclass of ``psycopg2.pool.PoolError`` when psycopg2 is installed."""


class PoolExhausted(PoolError):
    """``connection pool exhausted``: the message names who holds every connection.

    The holders are captured as raw data when the error is raised and formatted
    only when the message is read (``str(error)``), outside the pool's lock."""

    def __init__(self, head: str, describe: Callable[[], str]) -> None:
        super().__init__(head)
        self._head = head
        self._describe: Callable[[], str] | None = describe
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            describe, self._describe = self._describe, None
            self._text = self._head + (describe() if describe is not None else "")
        return self._text


class PoolTimeout(PoolExhausted):
    """No connection became available within the ``timeout`` given to the pool."""


class DriverUnavailableError(Error, ImportError):
    """The database driver needed for a DSN is not installed."""


class InjectedFault(Error):
    """An injected fault, raised when the driver of the pool is not known yet."""


class LeakError(AssertionError):
    """Raised by ``assert_no_leaks()`` when connections are still checked out or
    were garbage-collected while checked out."""
