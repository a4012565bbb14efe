"""Driver adapters: how the pool opens connections, reads their transaction
status and builds the driver's errors.

Driver packages are imported lazily; only :mod:`sqlite3` is always available.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import operator
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from . import hooks
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
        """Whether the hooks must remember that statements ran since the last commit."""
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


def driver_for_url(url: str) -> Driver:
    """The driver a URL's scheme names (``ConnectionPool.from_url``). Only a
    scheme chooses: a string without one is refused, never guessed."""
    if "://" not in url:
        raise ValueError(f"cannot tell which database {url!r} is: give a URL "
                         "(postgresql://, mysql://, sqlite:///path.db) or build the "
                         "pool with its connect= callable")
    scheme = url.split("://", 1)[0].lower()
    base, _, variant = scheme.partition("+")
    if base == "sqlite":
        return DRIVERS["sqlite"]
    if base in ("postgresql", "postgres"):
        return get_driver(variant) if variant else DRIVERS["psycopg2"]
    if base in ("mysql", "mariadb"):
        return DRIVERS["pymysql"]
    raise ValueError(f"cannot choose a driver for URL scheme {scheme!r}")


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


def url_arguments(url: str) -> tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]:
    """``(connect, args, kwargs)`` of a pool for ``url``, chosen by its scheme."""
    driver = driver_for_url(url)
    if driver.name == "sqlite":
        import sqlite3

        database, uri = sqlite_target(url)
        if database.startswith("file:poolsafe-memory-"):
            database, uri = ":memory:", False
        return sqlite3.connect, (database,), {"uri": uri}
    if driver.name == "pymysql":
        return _import("pymysql").connect, (), mysql_params(url)
    scheme, _, rest = url.partition("://")
    plain = f"{scheme.split('+')[0]}://{rest}"
    if driver.name == "psycopg":
        return _import("psycopg").connect, (plain,), {}
    _import("psycopg2")
    return _psycopg2_connect, (plain,), {}


def _psycopg2_connect(*args: Any, **kwargs: Any) -> Any:
    return _import("psycopg2").connect(*args, **kwargs)


_psycopg2_connect.__poolsafe_default__ = True  # type: ignore[attr-defined]


class Connector:
    """How a pool opens its connections: the ``connect`` callable bound to the
    pool's arguments, opened through a hooked subclass where the driver allows one
    (see :mod:`.hooks`)."""

    def __init__(
        self, connect: Callable[..., Any] | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.flavour = "generic"
        self.driver: Driver | None = None  # None: learnt from the first connection
        self._keep: list[Any] = []
        kwargs = dict(kwargs)
        if connect is None or getattr(connect, "__poolsafe_default__", False):
            pg = _import("psycopg2")
            factory = kwargs.pop("connection_factory", None) or pg.extensions.connection
            kwargs["connection_factory"] = hooks.hooked_connection(factory, "psycopg2")
            self.flavour, self.driver, target = "psycopg2", DRIVERS["psycopg2"], pg.connect
        else:
            target = self._hooked_target(connect, args, kwargs)
            if self.flavour == "sqlite":
                args, kwargs = self._sqlite_arguments(args, kwargs)
        self._target = target
        self._args = args
        self._kwargs = kwargs

    def _hooked_target(
        self, connect: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Callable[..., Any]:
        import sqlite3

        if connect is sqlite3.connect:
            factory = kwargs.pop("factory", sqlite3.Connection)
            kwargs["factory"] = hooks.hooked_connection(factory, "sqlite")
            self.flavour, self.driver = "sqlite", DRIVERS["sqlite"]
            return connect
        # A connection class (pymysql.connect) or a classmethod of one
        # (psycopg.connect): open through a hooked subclass of that class.
        owner = getattr(connect, "__self__", None)
        cls = connect if isinstance(connect, type) else owner if isinstance(owner, type) else None
        if cls is None:
            return connect
        root = cls.__module__.split(".")[0]
        flavour = {"pymysql": "pymysql", "psycopg": "psycopg"}.get(root)
        if flavour is None:
            return connect
        self.flavour, self.driver = flavour, DRIVERS[flavour]
        hooked = hooks.hooked_connection(cls, flavour)
        target: Callable[..., Any] = (
            hooked if connect is cls else getattr(hooked, connect.__name__)
        )
        return target

    def _sqlite_arguments(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Threads share the pool (``check_same_thread=False``); ``":memory:"`` is one
        in-memory database shared by the pool's connections, kept while it lives."""
        import sqlite3

        kwargs.setdefault("check_same_thread", False)
        database = args[0] if args else kwargs.get("database")
        if database == ":memory:":
            name, _ = sqlite_target(":memory:")
            args, kwargs = (name, *args[1:]), {**kwargs, "uri": True}
            kwargs.pop("database", None)
            self._keep.append(sqlite3.connect(*args, **kwargs))
        return args, kwargs

    def open(self) -> Any:
        return self._target(*self._args, **self._kwargs)

    def close(self) -> None:
        for conn in self._keep:
            with contextlib.suppress(Exception):
                conn.close()
        self._keep.clear()
