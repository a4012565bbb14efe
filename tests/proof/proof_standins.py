"""Recording stand-ins for the database libraries other than psycopg2 (SQLAlchemy,
psycopg 3 / psycopg_pool, asyncpg, Gino, peewee, mysql.connector, PyMySQL, aiopg,
aiomysql, Flask-SQLAlchemy, SQLModel, Django's `connection`) and for the web
frameworks the cases import (FastAPI, Flask), used by `proof_recording.run_module`.

One generic object model stands in for all of them, by what a call *does* to a
connection, not by library:

- a checkout (`pool.getconn()`, `pool.acquire()`, `pool.connection()`,
  `engine.connect()`, `engine.begin()`, `SessionLocal()`, `Session(engine)`,
  `psycopg.connect()`, `db.connection()` ...) takes a real connection from the
  shared `poolsafe.runtime.ConnectionPool` (the recording SQLite connection of
  `proof_recording`), so the pool counts what is out;
- a release (`pool.putconn(conn)`, `pool.release(conn)`, `conn.close()`,
  `session.close()`, the exit of `with pool.connection() as conn:` ...) gives it
  back; the exit of a block also commits where the library does (psycopg 3's
  `with conn:` and `pool.connection()`, psycopg2's `with conn:`, `engine.begin()`,
  `session.begin()`, `conn.transaction()`, peewee's `atomic()`), and rolls back
  on an exception;
- every other call on a connection or on what it made (a cursor, a query, a
  result) that reaches the database (`execute`, `flush`, `refresh`, `.first()` on a
  query, `fetchrow`, ...) is one statement run through the pooled connection's
  cursor, where the runtime injects its faults; `commit()` and `rollback()` go to
  the pooled connection (a failed statement aborts the transaction, as on
  PostgreSQL); fetches answer the canned row of the run;
- in an async library (asyncpg, aiopg, aiomysql, `create_async_engine`,
  `async_sessionmaker`, psycopg's `AsyncConnection`...) a call does its work when it
  is awaited (or entered with `async with`), never when it is only made, so a
  dropped `await` shows;
- the library's error classes are the driver's (`SQLAlchemyError`,
  `psycopg.Error`, `asyncpg.PostgresError`, `PeeweeException` ... are
  `sqlite3.DatabaseError`, `OperationalError` is `sqlite3.OperationalError`), so an
  injected fault reaches the handlers the user wrote; other exception names are
  classes of their own.

Everything else (an engine, a pool, a model class, `Depends(...)`, a decorator) is
an inert object that accepts any call; a decorator hands the function back.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, ClassVar

#: libraries whose calls do their work when awaited
ASYNC_ROOTS = {"asyncpg", "aiopg", "aiomysql", "aiosqlite", "databases", "gino", "tortoise"}
ASYNC_FACTORIES = {"create_async_engine", "async_sessionmaker", "AsyncSession",
                   "AsyncConnection", "AsyncConnectionPool", "create_pool",
                   "async_scoped_session"}
#: a call of one of these on an inert object is a checkout; the value is what the
#: exit of a `with` block over it does besides giving the connection back
CHECKOUTS: dict[str, str] = {
    "getconn": "commit-only", "acquire": "release", "connection": "commit-release",
    "connect": "per-library", "begin": "commit-release", "raw_connection": "release",
    "get_connection": "release", "get_conn": "release", "connection_context": "release",
}
#: factories whose instances are sessions (calling the instance checks out)
SESSION_FACTORIES = {"sessionmaker", "async_sessionmaker", "scoped_session",
                     "async_scoped_session"}
SESSION_CLASSES = {"Session", "AsyncSession"}
#: calls on a connection or what it made that do not reach the database
BUILDERS = {"cursor", "query", "filter", "filter_by", "where", "order_by", "limit",
            "offset", "join", "outerjoin", "options", "select_from", "group_by",
            "having", "distinct", "values", "returning", "mappings", "keys", "add",
            "add_all", "expunge", "expunge_all", "expire", "expire_all", "in_transaction",
            "get_bind", "is_connected", "ping", "info", "bind", "set_session",
            "execution_options", "unique", "columns", "tuples", "close_all"}
ONE = {"fetchone", "first", "one_or_none", "scalar", "scalar_one_or_none", "fetchrow",
       "fetchval", "get", "one", "scalar_one", "get_or_none"}
MANY = {"fetchall", "all", "fetch", "fetchmany", "partitions"}
TRANSACTIONS = {"begin": "commit", "transaction": "commit", "atomic": "commit",
                "begin_nested": "savepoint", "savepoint": "savepoint",
                "manual_commit": "none"}
#: async libraries whose `pool.release(conn)` gives the connection back when called
#: (it returns a future that need not be awaited)
RELEASE_AT_CALL = {"aiopg", "aiomysql"}
#: async libraries whose own connection (`connect()`) closes with a plain `close()`
#: that works when called and returns None (aiomysql's `Connection.close()`: awaiting
#: it raises TypeError); `await conn.ensure_closed()` closes it too
SYNC_CLOSE = {"aiomysql"}
RELEASES = {"putconn", "release", "release_connection", "put"}
#: libraries whose connection gives itself back (Gino's `await conn.release()`)
SELF_RELEASE = {"gino"}
#: exception names that are the driver's base error (an injected fault is one)
DB_BASE_ERRORS = {"Error", "DatabaseError", "SQLAlchemyError", "DBAPIError",
                  "PostgresError", "PeeweeException", "PoolError", "StatementError",
                  "InterfaceError", "PendingRollbackError", "MySQLError", "PostgresConnectionError",
                  "DataError", "InternalError", "NotSupportedError", "InvalidRequestError"}
DRIVER_ERRORS = {"OperationalError": sqlite3.OperationalError,
                 "IntegrityError": sqlite3.IntegrityError,
                 "UniqueViolationError": sqlite3.IntegrityError,
                 "UniqueViolation": sqlite3.IntegrityError,
                 "ProgrammingError": sqlite3.ProgrammingError,
                 "InterfaceError": sqlite3.InterfaceError,
                 "DataError": sqlite3.DataError,
                 "InternalError": sqlite3.InternalError,
                 "NotSupportedError": sqlite3.NotSupportedError}


class Hooks:
    """What the stand-ins need from the run: the shared pool and the fetched row."""

    getconn: Callable[[], Any] = staticmethod(lambda: None)
    putconn: Callable[[Any], None] = staticmethod(lambda conn: None)
    fetch: Any = None
    #: connections checked out for a session the code never owns (`db.session`)
    scoped_opened: int = 0
    #: the functions named in `Depends(...)`: FastAPI calls them, not the code
    dependencies: ClassVar[list[Any]] = []
    #: what the code does to the libraries' configuration, in order (for the executed
    #: proof of the configuration fixes): an engine, pool or app built and with which
    #: keyword arguments (`call`), a function registered by a decorator (`register`),
    #: a `with` block over a library object entered and left (`enter`, `exit`), a
    #: statement run (`statement`)
    events: ClassVar[list[tuple[str, ...]]] = []
    #: the functions registered as teardowns (`@app.teardown_appcontext`)
    teardowns: ClassVar[list[Any]] = []


def _event(*what: str) -> None:
    HOOKS.events.append(what)


def config_objects(namespace: dict[str, Any]) -> None:
    """Flask-SQLAlchemy builds its engine from the configuration object's
    `SQLALCHEMY_ENGINE_OPTIONS`: record it for each configuration class (one that sets
    `SQLALCHEMY_DATABASE_URI`, itself or by inheritance) the module defines, and for
    the module itself when it sets the URI at its top level (a config module that
    `app.config.from_object("settings")` or `from_pyfile` loads)."""
    if "SQLALCHEMY_DATABASE_URI" in namespace:
        _event("config", "<module>",
               _shape_kw(namespace.get("SQLALCHEMY_ENGINE_OPTIONS")))
    for name, value in namespace.items():
        if isinstance(value, type) and hasattr(value, "SQLALCHEMY_DATABASE_URI"):
            _event("config", name,
                   _shape_kw(getattr(value, "SQLALCHEMY_ENGINE_OPTIONS", None)))


def _kwargs(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_shape_kw(v)}" for k, v in sorted(kwargs.items()))


def _shape_kw(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_shape_kw(v)}" for k, v in sorted(
            value.items(), key=lambda kv: repr(kv[0]))) + "}"
    return "<object>"


HOOKS = Hooks()
_ERRORS: dict[str, type[BaseException]] = {}


def error_class(name: str) -> type[BaseException]:
    if name in DRIVER_ERRORS:
        return DRIVER_ERRORS[name]
    if name in DB_BASE_ERRORS:
        return sqlite3.DatabaseError
    if name not in _ERRORS:
        _ERRORS[name] = type(name, (Exception,), {})
    return _ERRORS[name]


def _is_error_name(name: str) -> bool:
    return name.endswith(("Error", "Exception", "Warning", "Violation")) or name in {
        "NoResultFound", "MultipleResultsFound", "DoesNotExist", "Timeout"}


class Deferred:
    """An async library's call: its work runs when awaited or entered."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self._work = work
        self._done = False
        self._value: Any = None

    def _run(self) -> Any:
        if not self._done:
            self._done = True
            self._value = self._work()
        return self._value

    def __await__(self) -> Iterator[Any]:
        return self._run()
        yield  # pragma: no cover  (makes this a generator)

    async def __aenter__(self) -> Any:
        value = self._run()
        return await value.__aenter__() if isinstance(value, Thing) else value

    async def __aexit__(self, *exc: Any) -> bool:
        value = self._run()
        return await value.__aexit__(*exc) if isinstance(value, Thing) else False


class Conn:
    """A checked-out connection (or session) and its pooled recording connection."""

    def __init__(self, root: str, on_exit: str, scoped: bool = False) -> None:
        self.root = root
        self.on_exit = on_exit
        self.raw = HOOKS.getconn()
        self.released = False
        self.scoped = scoped
        if scoped:
            HOOKS.scoped_opened += 1

    def statement(self, what: str, args: tuple[Any, ...]) -> None:
        _event("statement", what)
        self.raw.cursor().execute(what, (_shape_args(args),))

    def commit(self) -> None:
        self.raw.commit()

    def rollback(self) -> None:
        self.raw.rollback()

    def release(self) -> None:
        if not self.released and not self.scoped:
            self.released = True
            self.raw.rollback()  # the pool ends what is left open
            HOOKS.putconn(self.raw)


def _shape_args(args: tuple[Any, ...]) -> str:
    out = []
    for a in args:
        if isinstance(a, Thing):
            out.append("<object>")
        elif a is None or isinstance(a, (bool, int, float, str, bytes)):
            out.append(repr(a))
        elif isinstance(a, (list, tuple, dict)):
            out.append(type(a).__name__)
        else:
            out.append(type(a).__name__)
    return ", ".join(out)


class Thing:
    """An object of a stand-in library (see the module's docstring). `kind` is what it
    is to the database: "inert" (an engine, a pool, a model, a framework object),
    "conn" (a checked-out connection or session), "cursor", "query" (built, not run:
    a fetch runs it), "result" (run: a fetch reads it), "tx" (a transaction block
    over `conn`, `tx` saying what its exit does), "db" (peewee's database object,
    which holds the connection it opens)."""

    def __init__(self, root: str, name: str, *, kind: str = "inert", conn: Conn | None = None,
                 is_async: bool = False, factory: str = "", tx: str = "") -> None:
        self._root = root
        self._name = name
        self._kind = kind
        self._conn = conn
        self._async = is_async
        self._factory = factory  # "session": calling it checks out a session
        self._tx = tx
        self._dependency: Any = None  # `Depends(get_db)`: get_db

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if _is_error_name(name):
            return error_class(name)
        if name == "session" and self._kind in ("inert", "db"):
            # `db.session` of Flask-SQLAlchemy: a session the app never hands back
            session = Thing(self._root, name, kind="conn",
                            conn=Conn(self._root, "none", scoped=True), is_async=self._async)
            self.session = session  # the same one on every access
            return session
        return _Member(self, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if _decorated(args, kwargs):
            return args[0]  # a decorator: `@app.get("/")`, `@router.post(...)`
        async_ = self._async or self._name in ASYNC_FACTORIES
        _event("call", f"{self._root}.{self._name}", _kwargs(kwargs))
        if self._factory == "session" or self._name in SESSION_CLASSES:
            # a session is made at once (`async with async_session() as s:`)
            return Thing(self._root, self._name, kind="conn",
                         conn=Conn(self._root, "release"), is_async=async_)
        return _new(self._root, self._name, async_)

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (_Model,)  # `class User(Base):`

    def __await__(self) -> Iterator[Any]:
        return self  # `await asyncpg.create_pool(...)`
        yield  # pragma: no cover  (makes this a generator)

    def __getitem__(self, key: Any) -> Any:
        return self  # `Mapped[int]`, `row["id"]`

    def __setitem__(self, key: Any, value: Any) -> None:
        _event("set", str(key), _shape_kw(value))

    def __iter__(self) -> Iterator[Any]:
        return iter(_many() if self._kind in ("cursor", "result", "query") else [])

    def __aiter__(self) -> Any:
        return _AsyncIter(_many() if self._kind in ("cursor", "result", "query") else [])

    def __bool__(self) -> bool:
        return True

    def __or__(self, other: Any) -> Any:
        return self  # `str | None` with a stand-in type

    __ror__ = __or__

    def __enter__(self) -> Any:
        self._enter()
        return self

    def __exit__(self, et: Any, ev: Any, tb: Any) -> bool:
        self._exit(et is not None)
        return False

    async def __aenter__(self) -> Any:
        self._enter()
        return self

    async def __aexit__(self, et: Any, ev: Any, tb: Any) -> bool:
        self._exit(et is not None)
        return False

    def _enter(self) -> None:
        if self._kind == "inert":
            _event("enter", self._name)
        if self._kind == "db":  # `with db:` / `with db.connection_context():`
            _db_open(self)

    def _exit(self, failed: bool) -> None:
        if self._kind == "inert":
            _event("exit", self._name)
        conn = self._conn
        if conn is None:
            return
        if self._kind == "tx":
            if self._tx == "commit":
                conn.rollback() if failed else conn.commit()
            return
        if self._kind == "db":
            try:
                conn.rollback() if failed else conn.commit()
            finally:
                _db_close(self)
            return
        if self._kind != "conn":
            return  # a cursor or a result: closing it keeps the connection
        mode = conn.on_exit
        try:
            if mode in ("commit-release", "commit-only"):
                conn.rollback() if failed else conn.commit()
        finally:  # the block gives the connection back even when its commit fails
            if mode != "commit-only":
                conn.release()

    def __repr__(self) -> str:
        return f"<stand-in {self._root}.{self._name}>"


def _decorated(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return len(args) == 1 and not kwargs and callable(args[0]) \
        and not isinstance(args[0], Thing | _Member | type)


def _new(root: str, name: str, async_: bool) -> Thing:
    """What calling an inert factory makes (`create_engine(...)`, `sessionmaker(...)`,
    `PooledPostgresqlDatabase(...)`)."""
    if root in PEEWEE_ROOTS and name.endswith("Database"):
        return Thing(root, name, kind="db", is_async=async_)
    factory = "session" if name in SESSION_FACTORIES else ""
    return Thing(root, name, is_async=async_, factory=factory)


PEEWEE_ROOTS = {"peewee", "playhouse"}


def _db_open(db: Thing) -> Any:
    if db._conn is None or db._conn.released:
        db._conn = Conn(db._root, "release")
    return True


def _db_close(db: Thing) -> Any:
    if db._conn is not None:
        db._conn.release()
        db._conn = None
    return True


class _ModelMeta(type):
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Member(Thing("case", cls.__name__), name)  # `Setting.query`


class _Model(metaclass=_ModelMeta):
    """Base of a class declared on a stand-in (`class User(Base):`, `class
    AppModule(Blueprint):`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        pass

    def __class_getitem__(cls, item: Any) -> Any:
        return cls

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Member(Thing("case", type(self).__name__), name)


class _AsyncIter:
    def __init__(self, items: list[Any]) -> None:
        self._items = iter(items)

    def __aiter__(self) -> _AsyncIter:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            raise StopAsyncIteration from None


def _many() -> list[Any]:
    return [] if HOOKS.fetch is None else [HOOKS.fetch]


class _Member:
    """`owner.name`, not yet called: a method, or a member used as a value."""

    def __init__(self, owner: Thing, name: str) -> None:
        self._owner = owner
        self._name = name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._as_thing(), name)

    def _as_thing(self) -> Thing:
        o = self._owner
        kind = o._kind if o._kind in ("inert",) else "result"
        return Thing(o._root, self._name, kind=kind, conn=o._conn, is_async=o._async,
                     factory="session" if self._name in SESSION_FACTORIES else "")

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        return (_Model,)

    def __getitem__(self, key: Any) -> Any:
        return self._as_thing()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._as_thing())

    def __setitem__(self, key: Any, value: Any) -> None:
        _event("set", str(key), _shape_kw(value))  # `app.config["X"] = ...`

    def __or__(self, other: Any) -> Any:
        return self

    __ror__ = __or__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        o, name = self._owner, self._name
        if name in ("Depends", "Security"):
            # FastAPI's dependency: the harness calls it as FastAPI would
            made = Thing(o._root, name)
            made._dependency = args[0] if args else None
            HOOKS.dependencies.append(made._dependency)
            return made
        if _decorated(args, kwargs):
            _event("register", name, getattr(args[0], "__name__", "?"))
            if "teardown" in name:
                HOOKS.teardowns.append(args[0])
            return args[0]  # `@app.get("/")` is a call then this
        # `sessionmaker(engine, class_=AsyncSession)` makes async sessions
        made_class = kwargs.get("class_")
        async_ = o._async or name in ASYNC_FACTORIES or (
            isinstance(made_class, Thing) and made_class._name in ASYNC_FACTORIES)
        if o._conn is None and o._kind != "db":
            _event("call", f"{o._root}.{name}", _kwargs(kwargs))
        if o._kind == "db":
            return self._on_db(o, name, args, async_)
        conn = o._conn
        if conn is None:  # on an inert object: a pool, an engine, a module
            if name in RELEASES:
                for a in args:
                    if isinstance(a, Thing) and a._conn is not None:
                        if o._root in RELEASE_AT_CALL:
                            a._conn.release()
                            return _defer(async_, lambda: None)
                        return _defer(async_, a._conn.release)
                # (no connection among the arguments: `app.put("/items")`)
            elif name in CHECKOUTS:
                mode = CHECKOUTS[name]
                if mode == "per-library":
                    mode = {"psycopg": "commit-release", "sqlalchemy": "release"}.get(
                        o._root, "release")
                elif name == "getconn" and o._root == "psycopg_pool":
                    mode = "commit-release"
                return _defer(async_, lambda: Thing(o._root, name, kind="conn",
                                                    conn=Conn(o._root, mode),
                                                    is_async=async_))
            if name in SESSION_CLASSES:
                return Thing(o._root, name, kind="conn", conn=Conn(o._root, "release"),
                             is_async=async_)
            return _new(o._root, name, async_)
        return _on_connection(o, conn, name, args, async_)

    def _on_db(self, db: Thing, name: str, args: tuple[Any, ...], async_: bool) -> Any:
        """peewee's database object: it opens and closes its own connection."""
        if name == "connect":
            return _db_open(db)
        if name in ("close", "close_all", "close_idle", "close_stale"):
            return _db_close(db)
        if name in ("connection_context", "bind_ctx"):
            return db
        if name == "is_closed":
            return db._conn is None
        if name in ("init", "bind", "create_tables", "drop_tables"):
            return None
        _db_open(db)  # autoconnect
        conn = db._conn
        assert conn is not None
        return _on_connection(db, conn, name, args, async_)


def _on_connection(o: Thing, conn: Conn, name: str, args: tuple[Any, ...],
                   async_: bool) -> Any:
    """A call on a connection or on what it made."""
    root = o._root

    def made(kind: str, tx: str = "") -> Thing:
        return Thing(root, name, kind=kind, conn=conn, is_async=async_, tx=tx)

    if name == "close" and root in SYNC_CLOSE and o._kind == "conn" and o._name == "connect":
        conn.release()
        return None
    if name == "ensure_closed" and root in SYNC_CLOSE and o._kind == "conn":
        return _defer(async_, conn.release)
    if name in ("close", "aclose", "remove") or (name == "release" and root in SELF_RELEASE):
        # `scoped.remove()` closes the session; Gino's `conn.release()` gives it back
        if o._kind in ("conn", "db"):
            if root in ("param", "case") and not async_:
                # an engine or pool handed in from elsewhere (`initialize(self,
                # engine)`, an attribute of the case's own object): its library is not
                # known here, so its close both works when called and may be awaited
                # (aiopg.sa's `await conn.close()`)
                conn.release()
                return _ClosedEither()
            return _defer(async_, conn.release)
        return _defer(async_, lambda: None)
    if name == "commit":
        return _defer(async_, conn.commit)
    if name == "rollback":
        return _defer(async_, conn.rollback)
    if name in TRANSACTIONS:
        return _defer(async_, lambda: made("tx", TRANSACTIONS[name]))
    if name == "cursor":
        return made("cursor")
    if name in BUILDERS:
        return made("result" if o._kind == "result" else "query")
    if name in ONE or name in MANY:
        def fetch() -> Any:
            if o._kind in ("conn", "query", "tx", "db"):
                conn.statement(name, args)  # `db.get(User, 1)`, `query.first()`
            return HOOKS.fetch if name in ONE else _many()
        return _defer(async_, fetch)

    def run() -> Any:
        conn.statement(name, args)
        return o if o._kind == "cursor" else made("result")
    return _defer(async_, run)


class _ClosedEither:
    """What `close()` gives on a connection of an unknown library: None, awaited or not."""

    def __await__(self) -> Iterator[None]:
        return None
        yield  # pragma: no cover  (makes this a generator)

    def __bool__(self) -> bool:
        return False


def _defer(async_: bool, work: Callable[[], Any]) -> Any:
    return Deferred(work) if async_ else work()


class StandInModule(ModuleType):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []
        self._root = name.split(".")[0]
        self._async = self._root in ASYNC_ROOTS

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if _is_error_name(name):
            return error_class(name)
        value: Any = _Member(Thing(self._root, self.__name__, is_async=self._async), name) \
            if name not in SESSION_CLASSES else Thing(self._root, name, is_async=name in
                                                      ASYNC_FACTORIES)
        return value


def stand_in_modules(names: set[str]) -> dict[str, ModuleType]:
    """Stand-in modules for `names` (and their parents), except the standard library
    and what has a stand-in of its own (psycopg2)."""
    out: dict[str, ModuleType] = {}
    for full in sorted(names):
        root = full.split(".")[0]
        if root in sys.stdlib_module_names or root in ("psycopg2", "__future__", "poolsafe"):
            continue
        parts = full.split(".")
        for i in range(1, len(parts) + 1):
            name = ".".join(parts[:i])
            if name not in out:
                out[name] = StandInModule(name)
            if i > 1:
                setattr(out[".".join(parts[:i - 1])], parts[i - 1], out[name])
    return out


def connection_argument(annotation: str, name: str, in_async: bool) -> Any | None:
    """A stand-in for a parameter that is a session or a connection the caller owns
    (`db: Session`, `conn`), or a pool or engine (`pool: asyncpg.Pool`), or None."""
    text = annotation.lower()
    root = text.strip("'\" ").split(".")[0] or "param"  # `aiopg.Pool`: aiopg's pool
    if any(w in text or w in name for w in ("pool", "engine", "sessionmaker")):
        return Thing(root, name, is_async=in_async)
    if "session" in text or "connection" in text or name in CONNECTION_PARAMETERS:
        return Thing("param", name, kind="conn",
                     conn=Conn("param", "release", scoped=True), is_async=in_async)
    return None


def undefined_names(source: str) -> set[str]:
    """Names the module reads but never binds (a model class the case leaves out):
    each is given an inert stand-in so the code runs past it."""
    import ast
    import builtins
    tree = ast.parse(source)
    bound: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return {n for n in read - bound if not hasattr(builtins, n)}


CONNECTION_PARAMETERS = {"db", "session", "conn", "connection", "cnx", "con", "cur",
                         "cursor", "db_session", "s"}
