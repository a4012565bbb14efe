"""Driver adapters: connect from a DSN, read transaction status, build errors.

Driver packages are imported lazily; only :mod:`sqlite3` is always available.
"""

from __future__ import annotations

import importlib
import itertools
import operator
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import DriverUnavailableError, InjectedFault

# Transaction states reported by Driver.status().
IDLE = "idle"
INTRANS = "intrans"
INERROR = "inerror"
UNKNOWN = "unknown"
CLOSED = "closed"

_INSTALL_HINT = {
    "psycopg2": "pip install 'poolsafe[postgres]' (or psycopg2-binary)",
    "psycopg": "pip install 'poolsafe[postgres]' (or 'psycopg[binary]')",
    "pymysql": "pip install 'poolsafe[mysql]' (or pymysql)",
}


def _import(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        hint = _INSTALL_HINT.get(module, f"pip install {module}")
        raise DriverUnavailableError(
            f"the {module} driver is not installed; install it with: {hint}"
        ) from exc


class Driver:
    """Generic adapter: knows nothing about the transaction status."""

    name = "generic"
    module = ""

    def status(self, conn: Any, dirty: bool) -> str:
        return INTRANS if dirty else IDLE

    def is_closed(self, conn: Any) -> bool:
        return bool(getattr(conn, "closed", False))

    def error(self, message: str) -> Exception:
        return InjectedFault(message)

    def ping(self, conn: Any) -> None:
        cur = conn.cursor()
        try:
            cur.execute("SELECT 1")
            cur.fetchall()
        finally:
            cur.close()
        if self.status(conn, False) == INTRANS:
            conn.rollback()

    def tracks_statements(self) -> bool:
        """Whether the proxy must remember that statements ran since the last commit."""
        return False

    def idle_probe(self) -> tuple[Callable[[Any], object], object] | None:
        """A cheap (C-level, no server round trip) function of a connection and the
        value it returns exactly when the connection is open and idle.

        ``putconn`` calls it first and only falls back to :meth:`status` when the
        value differs (or the probe raises). ``None``: no probe, always ``status()``.
        """
        return None


class SqliteDriver(Driver):
    name = "sqlite"
    module = "sqlite3"

    def status(self, conn: Any, dirty: bool) -> str:
        try:
            return INTRANS if conn.in_transaction else IDLE
        except Exception:  # sqlite3.ProgrammingError: closed database
            return CLOSED

    def is_closed(self, conn: Any) -> bool:
        return self.status(conn, False) == CLOSED

    def idle_probe(self) -> tuple[Callable[[Any], object], object] | None:
        return operator.attrgetter("in_transaction"), False  # raises once closed

    def error(self, message: str) -> Exception:
        import sqlite3

        return sqlite3.OperationalError(message)


class Psycopg2Driver(Driver):
    name = "psycopg2"
    module = "psycopg2"
    _MAP: ClassVar[dict[int, str]] = {0: IDLE, 1: INTRANS, 2: INTRANS, 3: INERROR, 4: UNKNOWN}

    def status(self, conn: Any, dirty: bool) -> str:
        if conn.closed:
            return CLOSED
        return self._MAP.get(conn.get_transaction_status(), UNKNOWN)

    def idle_probe(self) -> tuple[Callable[[Any], object], object] | None:
        # libpq's PQtransactionStatus: IDLE (0) only on an open, healthy connection
        # (closed or broken ones report UNKNOWN); a C call, no server round trip.
        connection = _import("psycopg2").extensions.connection
        return connection.get_transaction_status, 0

    def error(self, message: str) -> Exception:
        return _import("psycopg2").OperationalError(message)  # type: ignore[no-any-return]


class PsycopgDriver(Driver):
    name = "psycopg"
    module = "psycopg"
    _MAP: ClassVar[dict[int, str]] = {0: IDLE, 1: INTRANS, 2: INTRANS, 3: INERROR, 4: UNKNOWN}

    def status(self, conn: Any, dirty: bool) -> str:
        if conn.closed:
            return CLOSED
        return self._MAP.get(int(conn.info.transaction_status), UNKNOWN)

    def idle_probe(self) -> tuple[Callable[[Any], object], object] | None:
        # The same libpq call as ``conn.info.transaction_status``, without building
        # the ConnectionInfo object and the enum.
        return operator.attrgetter("pgconn.transaction_status"), 0

    def error(self, message: str) -> Exception:
        return _import("psycopg").OperationalError(message)  # type: ignore[no-any-return]


class PymysqlDriver(Driver):
    name = "pymysql"
    module = "pymysql"
    _IN_TRANS = 1  # pymysql.constants.SERVER_STATUS.SERVER_STATUS_IN_TRANS

    def status(self, conn: Any, dirty: bool) -> str:
        if not conn.open:
            return CLOSED
        if dirty or conn.server_status & self._IN_TRANS:
            return INTRANS
        return IDLE

    def is_closed(self, conn: Any) -> bool:
        return not conn.open

    def error(self, message: str) -> Exception:
        err = _import("pymysql").err
        return err.OperationalError(1105, message)  # type: ignore[no-any-return]

    def ping(self, conn: Any) -> None:
        conn.ping(reconnect=False)

    def tracks_statements(self) -> bool:
        return True


DRIVERS: dict[str, Driver] = {
    d.name: d for d in (SqliteDriver(), Psycopg2Driver(), PsycopgDriver(), PymysqlDriver())
}
_ALIASES = {"sqlite3": "sqlite", "psycopg3": "psycopg", "mysql": "pymysql", "generic": "generic"}


def get_driver(name: str) -> Driver:
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "generic":
        return Driver()
    try:
        return DRIVERS[key]
    except KeyError:
        known = ", ".join(sorted(DRIVERS))
        raise ValueError(f"unknown driver {name!r}; expected one of {known}") from None


def driver_for_connection(conn: Any) -> Driver:
    """Guess the adapter from the class of a connection made by a user callable."""
    root = type(conn).__module__.split(".")[0]
    for driver in DRIVERS.values():
        if driver.module == root:
            return driver
    return Driver()


def _postgres_driver() -> Driver:
    try:
        importlib.import_module("psycopg2")
    except ImportError:
        return DRIVERS["psycopg"]
    return DRIVERS["psycopg2"]


def driver_for_dsn(dsn: str) -> Driver:
    """The driver a DSN asks for. Without a URL scheme, `key=value` pairs are a
    libpq DSN (PostgreSQL, as psycopg2's pools read it) and only `:memory:` is
    SQLite: any other string would become a SQLite database file in the working
    directory, named after the string, so it is refused."""
    scheme = dsn.split("://", 1)[0].lower() if "://" in dsn else ""
    base, _, variant = scheme.partition("+")
    if not scheme:
        if dsn.strip() == ":memory:":
            return DRIVERS["sqlite"]
        if "=" in dsn:
            return _postgres_driver()
        raise ValueError(f"cannot tell which database {dsn!r} is: give a URL "
                         "(postgresql://, mysql://, sqlite:///path.db), a libpq "
                         "'key=value' DSN, or driver=")
    if base == "sqlite":
        return DRIVERS["sqlite"]
    if base in ("postgresql", "postgres"):
        if variant:
            return get_driver(variant)
        return _postgres_driver()
    if base in ("mysql", "mariadb"):
        return DRIVERS["pymysql"]
    raise ValueError(f"cannot choose a driver for DSN scheme {scheme!r}")


_memory_ids = itertools.count(1)


def sqlite_target(dsn: str) -> tuple[str, bool]:
    """Map a DSN to ``(database, uri)`` for :func:`sqlite3.connect`.

    ``sqlite:///rel.db`` is relative, ``sqlite:////abs.db`` absolute (SQLAlchemy's
    convention). ``:memory:`` and ``sqlite://`` give one in-memory database shared
    by all connections of the pool.
    """
    path = dsn
    if "://" in dsn:
        rest = dsn.split("://", 1)[1]
        path = rest[1:] if rest.startswith("/") else rest
        path = path.split("?", 1)[0]
    if path in ("", ":memory:"):
        return f"file:poolsafe-memory-{next(_memory_ids)}?mode=memory&cache=shared", True
    return path, path.startswith("file:")


def mysql_params(dsn: str) -> dict[str, Any]:
    """Keyword arguments of ``pymysql.connect`` for a ``mysql://`` URL."""
    parts = urlsplit(dsn)
    params: dict[str, Any] = {"host": parts.hostname or "localhost", "port": parts.port or 3306}
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    database = parts.path.lstrip("/")
    if database:
        params["database"] = unquote(database)
    for name, value in parse_qsl(parts.query):
        params[name] = int(value) if value.isdigit() else value
    return params


def connector(driver: Driver, dsn: str, kwargs: dict[str, Any]) -> Callable[[], Any]:
    """A zero-argument callable opening one connection of ``driver`` to ``dsn``."""
    if driver.name == "sqlite":
        import sqlite3

        database, uri = sqlite_target(dsn)
        options: dict[str, Any] = {"check_same_thread": False, "timeout": 5.0, "uri": uri}
        options.update(kwargs)
        keep: list[sqlite3.Connection] = []
        if database.startswith("file:poolsafe-memory-"):
            # Keep the shared in-memory database alive while the pool exists.
            keep.append(sqlite3.connect(database, **options))

        def connect_sqlite() -> Any:
            assert keep is not None  # the closure keeps the in-memory database alive
            return sqlite3.connect(database, **options)

        return connect_sqlite
    if driver.name == "pymysql":
        pymysql = _import("pymysql")
        params = {**mysql_params(dsn), **kwargs}
        return lambda: pymysql.connect(**params)
    module = _import(driver.module)
    scheme, sep, rest = dsn.partition("://")
    url = f"{scheme.split('+')[0]}{sep}{rest}" if sep else dsn
    return lambda: module.connect(url, **kwargs)
