"""Library facts: connection kinds, the objects that hand them out, and frameworks.

Qualified names are matched by their package root and final name
(`match_qualname`), so `sqlalchemy.orm.sessionmaker` and
`sqlalchemy.orm.session.sessionmaker` are the same fact.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConnectionKind:
    """One kind of checked-out connection or session and how it must end."""

    key: str
    label: str
    #: `x.close()` gives the connection back (or ends it properly).
    close_releases: bool
    #: `with <acquiring call> as x:` ends it properly.
    with_acquire_releases: bool
    #: `with x:` (x already bound) calls close(); False means it only ends a transaction.
    with_var_closes: bool
    #: `x.close()` is the PS101 mistake: the pool still counts it as checked out.
    close_is_mistake: bool = False
    #: the connection object is an async context manager of its own whose exit closes
    #: it (aiopg's and aiomysql's `Connection.__aexit__`): `async with conn:` on a
    #: checkout, and `async with await pool.acquire() as conn:` (the awaited checkout
    #: entered instead of the pool's acquire context), close it instead of releasing.
    entered_connection_closes: bool = False
    #: pool methods that take it back, as in `pool.putconn(conn)`.
    pool_release: str | None = None
    is_async: bool = False
    is_session: bool = False
    #: PS102 reports leaks of this kind (sqlite3 files are closed by refcounting).
    tracked: bool = True
    #: a failed statement leaves the transaction aborted until rollback (PS103).
    #: PostgreSQL aborts the whole transaction; MySQL/InnoDB rolls back the one
    #: statement; sqlite3 and asyncpg outside a transaction have nothing to abort.
    aborts_on_error: bool = True
    #: every statement commits on its own unless a transaction is opened explicitly
    #: (asyncpg outside `conn.transaction()`): no transaction is left open between
    #: statements (PS207)
    autocommit_by_default: bool = False
    #: how the safe form reads, for messages and fixes (`{var}` is the variable).
    safe_form: str = ""
    #: the driver's base database error, for a rollback guarded by `isinstance`:
    #: (module to import from, name to import or "" for `import module`, expression)
    db_error: tuple[str, str, str] | None = None
    #: the method whose context manager is a savepoint inside a transaction (PS103's
    #: fix in a loop: `with session.begin_nested():`, psycopg 3's `conn.transaction()`)
    savepoint_method: str | None = None
    #: the method that opens a transaction block on this autocommit connection, which
    #: has no `rollback()` of its own (asyncpg's `conn.transaction()`, aiopg.sa's
    #: `conn.begin()`, as `async with` or `trans = await conn.begin()`): on PostgreSQL
    #: a failed statement inside it aborts the whole transaction (PS103)
    transaction_block: str | None = None
    #: the engine's `release()` refuses a connection whose transaction is still open
    #: (aiopg.sa's and aiomysql.sa's `Engine.release` raise `InvalidRequestError`), so
    #: leaving `async with engine.acquire() as conn` after `trans = await conn.begin()`
    #: with neither `trans.commit()` nor `trans.rollback()` keeps the connection out of
    #: the pool for good, its transaction holding its locks (PS103)
    release_refuses_open_transaction: bool = False
    #: psycopg 3: a `with` block that commits on exit ends a failed transaction with a
    #: rollback and no error (the server answers COMMIT with ROLLBACK), and the pool
    #: gets a clean connection back; SQLAlchemy raises instead
    exit_commit_rolls_back_aborted: bool = False
    #: a connection of its own, from no pool (`psycopg2.connect()`): the server frees
    #: it when the process exits, so a one-shot script that runs it once loses nothing
    direct: bool = False
    #: a synchronous driver's connection of its own (psycopg2, psycopg, PyMySQL,
    #: MySQLdb, mysql.connector) whose object closes its socket when CPython's
    #: reference counting frees it: held only in a local of a call it cannot outlive,
    #: an exception that unwinds the call ends it (PS102's direct-connection policy).
    #: Not the async drivers (their garbage-collected connections warn and may keep
    #: the socket) nor a Django server-side cursor (its portal lives on the server).
    #: Also the checkouts of the pools that take them back when they are freed: the
    #: psycopg2-pool package (weak references) and DBUtils' PooledDB (`__del__`)
    refcount_closes: bool = False
    #: `x.cursor()` may raise with the checkout still held. mysql.connector's
    #: `cursor()` first asks `is_connected()`, a ping (a round trip to the server),
    #: and raises `OperationalError` when the server or the network is gone: a pooled
    #: connection then still holds its slot until `close()` gives it back. A direct
    #: mysql.connector connection whose ping failed holds nothing on the server, and
    #: psycopg2, psycopg, pymysql, MySQLdb and sqlite3 build the cursor in memory
    #: (raising only on a connection the program already closed): for those
    #: `cursor()` counts as not raising.
    cursor_may_raise: bool = False
    #: the pool takes it back when the object is garbage-collected (SQLAlchemy's
    #: sessions and pooled connections): one a test leaves open is no production leak
    collected_back: bool = False
    #: holds no connection until its first statement: a SQLAlchemy `Session` (and a
    #: `scoped_session` registry, an `AsyncSession`) checks one out of the engine's
    #: pool when it first queries, flushes or commits, so an exception raised before
    #: any use leaves nothing checked out
    lazy: bool = False
    #: methods of the checkout itself that give it back (Gino's `await conn.release()`,
    #: a databases transaction's `commit()` / `rollback()`, which also release the
    #: connection the transaction holds)
    self_release: frozenset[str] = frozenset()
    #: the release `poolsafe fix` writes in `finally` when that is safe (`{var}` is the
    #: variable): Gino's `conn.release()`. Empty: none (a databases transaction's
    #: `rollback()` after its `commit()` raises, so there is no release to add there)
    self_release_fix: str = ""
    #: the checkout is a transaction that begins at once (BEGIN is sent when it is
    #: entered or awaited): `async with database.transaction():` (encode/databases),
    #: Gino's `db.transaction()`, Tortoise's `in_transaction()` / `@atomic()` (PS207)
    opens_transaction: bool = False
    #: methods of the connection other than `close()` that close it as well (aiomysql's
    #: `await conn.ensure_closed()`, which sends the server its goodbye and then closes
    #: the socket): a release wherever `close()` would be one
    close_methods: frozenset[str] = frozenset()
    #: `close()` is a plain method although the library is async: it closes at once and
    #: returns None (aiomysql's `Connection.close()`), so `await conn.close()` raises
    #: TypeError after closing. Messages and fixes write `conn.close()` without `await`
    sync_close: bool = False
    #: `close()` is a coroutine function (asyncpg's and psycopg 3's async connections,
    #: SQLAlchemy's `AsyncConnection` and `AsyncSession`): a bare `conn.close()` whose
    #: coroutine is neither awaited nor handed on never runs, and closes nothing
    close_is_coroutine: bool = False

    def safe_form_for(self, var: str) -> str:
        return self.safe_form.replace("{var}", var)


def _kind(**kw: object) -> ConnectionKind:
    return ConnectionKind(**kw)  # type: ignore[arg-type]


CONNECTION_KINDS: dict[str, ConnectionKind] = {
    k.key: k
    for k in (
        _kind(
            key="psycopg2-pool",
            db_error=("psycopg2", "", "psycopg2.Error"),
            label="psycopg2 pool connection",
            close_releases=False,
            with_acquire_releases=False,
            with_var_closes=False,
            close_is_mistake=True,
            pool_release="putconn",
            safe_form="try/finally: pool.putconn({var})",
        ),
        _kind(
            # the `psycopg2-pool` package (`psycopg2_pool.ConnectionPool`,
            # `ThreadSafeConnectionPool`): psycopg2's getconn()/putconn(), but the pool
            # keeps only weak references to what it hands out (`connections_in_use` is a
            # WeakSet) and drops closed or broken connections on its own. A checkout held
            # only in a local is closed by reference counting when the frame goes, and the
            # pool forgets it: the direct-connection policy (`refcount_closes`), and a
            # `close()` ends it (its slot goes with the object)
            key="psycopg2_pool",
            refcount_closes=True,
            db_error=("psycopg2", "", "psycopg2.Error"),
            label="psycopg2-pool connection",
            close_releases=True,
            with_acquire_releases=False,
            with_var_closes=False,
            pool_release="putconn",
            safe_form="try/finally: pool.putconn({var})",
        ),
        _kind(
            key="psycopg-pool",
            exit_commit_rolls_back_aborted=True,
            db_error=("psycopg", "", "psycopg.Error"),
            savepoint_method="transaction",
            label="psycopg_pool connection",
            close_releases=False,
            with_acquire_releases=False,
            with_var_closes=True,
            close_is_mistake=True,
            pool_release="putconn",
            safe_form="with pool.connection() as {var}",
        ),
        _kind(
            key="psycopg-pool-returning",
            exit_commit_rolls_back_aborted=True,
            db_error=("psycopg", "", "psycopg.Error"),
            savepoint_method="transaction",
            label="psycopg_pool connection (close_returns=True)",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            pool_release="putconn",
            safe_form="with pool.connection() as {var}",
        ),
        _kind(
            key="psycopg-pool-async",
            exit_commit_rolls_back_aborted=True,
            db_error=("psycopg", "", "psycopg.Error"),
            savepoint_method="transaction",
            label="psycopg_pool async connection",
            close_releases=False,
            with_acquire_releases=False,
            with_var_closes=True,
            close_is_mistake=True,
            pool_release="putconn",
            is_async=True,
            safe_form="async with pool.connection() as {var}",
        ),
        _kind(
            key="asyncpg-pool",
            # `async with conn.transaction():` sends COMMIT on a normal exit, which the
            # server answers with ROLLBACK for a failed transaction (no error raised)
            exit_commit_rolls_back_aborted=True,
            db_error=("asyncpg", "", "asyncpg.PostgresError"),
            transaction_block="transaction",
            savepoint_method="transaction",
            label="asyncpg pool connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=False,
            pool_release="release",
            is_async=True,
            aborts_on_error=False,
            autocommit_by_default=True,
            safe_form="async with pool.acquire() as {var}",
        ),
        # aiopg and aiomysql pools (aio-libs): the pool counts `len(_used)` in its size
        # and only `pool.release(conn)` (or leaving `async with pool.acquire()`) takes a
        # connection out of `_used`; `conn.close()` closes the socket and the slot stays
        # taken until the pool itself is closed, as with psycopg2's pools. `release()`
        # returns a future: awaiting it or not, the slot is free when it returns
        _kind(
            key="aiopg-pool",
            db_error=("psycopg2", "", "psycopg2.Error"),
            # aiopg runs psycopg2 in async mode, which is always autocommit: a
            # transaction is open only inside `conn.begin()` / `BEGIN`
            autocommit_by_default=True,
            aborts_on_error=False,
            label="aiopg pool connection",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            close_is_mistake=True,
            entered_connection_closes=True,
            pool_release="release",
            is_async=True,
            safe_form="async with pool.acquire() as {var}",
        ),
        _kind(
            key="aiomysql-pool",
            label="aiomysql pool connection",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            close_is_mistake=True,
            entered_connection_closes=True,
            pool_release="release",
            is_async=True,
            aborts_on_error=False,
            safe_form="async with pool.acquire() as {var}",
        ),
        # aiopg.sa / aiomysql.sa: `SAConnection.close()` rolls back an open transaction
        # and gives the connection back to the engine's pool (`engine.release(conn)`
        # does the same), and `async with engine.acquire() as conn` releases on exit
        _kind(
            key="aiopg-sa",
            db_error=("psycopg2", "", "psycopg2.Error"),
            transaction_block="begin",
            release_refuses_open_transaction=True,
            savepoint_method="begin_nested",
            # aiopg runs psycopg2 in async mode, which is always autocommit: a
            # transaction is open only inside `conn.begin()` / `BEGIN`
            autocommit_by_default=True,
            aborts_on_error=False,
            label="aiopg.sa connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            pool_release="release",
            is_async=True,
            safe_form="async with engine.acquire() as {var}",
        ),
        _kind(
            key="aiomysql-sa",
            label="aiomysql.sa connection",
            release_refuses_open_transaction=True,
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            pool_release="release",
            is_async=True,
            aborts_on_error=False,
            safe_form="async with engine.acquire() as {var}",
        ),
        # a connection of its own (`await aiopg.connect(dsn)`): close() ends it
        _kind(
            key="aiopg",
            direct=True,
            db_error=("psycopg2", "", "psycopg2.Error"),
            autocommit_by_default=True,
            aborts_on_error=False,
            label="aiopg connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_async=True,
            safe_form="async with aiopg.connect(...) as {var}",
        ),
        # Django's `connection.chunked_cursor()` / `connections[alias].chunked_cursor()`:
        # on PostgreSQL a server-side cursor (a named psycopg cursor, declared `WITH
        # HOLD` in autocommit) that keeps its portal, and the rows it holds, on the
        # server until close() or the end of the connection, which for a persistent
        # connection (`CONN_MAX_AGE`) or a thread outlives the function. The plain
        # `connection.cursor()` is client-side: once its rows are read nothing is held
        # on the server, and reference counting closes it when the function drops it,
        # so it is not an acquirer. Django runs in autocommit unless `atomic()` says
        # otherwise, and a rollback belongs to the connection, not to the cursor
        _kind(
            key="django-cursor",
            direct=True,
            label="Django server-side cursor",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            aborts_on_error=False,
            autocommit_by_default=True,
            safe_form="with connection.chunked_cursor() as {var}",
        ),
        # Gino (on asyncpg): `conn = await db.acquire()` / `engine.acquire()` takes a
        # connection from the engine's pool (`reuse=True` shares the task's one, still
        # counted until released); only `await conn.release()` or leaving `async with
        # db.acquire() as conn` gives it back. asyncpg underneath: autocommit outside
        # `conn.transaction()`
        _kind(
            key="gino-connection",
            label="Gino connection",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            is_async=True,
            aborts_on_error=False,
            autocommit_by_default=True,
            self_release=frozenset({"release"}),
            self_release_fix="{var}.release()",
            safe_form="async with db.acquire() as {var}",
        ),
        # Gino's `db.transaction()` / `engine.transaction()`: managed only (`async with`),
        # it borrows a connection and sends BEGIN on entry
        _kind(
            key="gino-transaction",
            label="Gino transaction",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            is_async=True,
            tracked=False,
            aborts_on_error=False,
            opens_transaction=True,
            safe_form="async with db.transaction()",
        ),
        # encode/databases: `transaction = await database.transaction()` (or
        # `.start()`) enters the task's connection (a pool checkout when it is the
        # first) and sends BEGIN; only `commit()` or `rollback()` leaves it again.
        # `async with database.transaction():` and `@database.transaction()` do both
        _kind(
            key="databases-transaction",
            label="databases transaction",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            is_async=True,
            aborts_on_error=False,
            self_release=frozenset({"commit", "rollback"}),
            opens_transaction=True,
            safe_form="async with database.transaction():",
        ),
        # Tortoise ORM: `async with in_transaction() as conn:` and `@atomic()` take a
        # connection from the pool and send BEGIN on entry; the context manager is the
        # only public form (nothing to release by hand)
        _kind(
            key="tortoise-transaction",
            label="Tortoise transaction",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            is_async=True,
            tracked=False,
            aborts_on_error=False,
            opens_transaction=True,
            safe_form="async with in_transaction() as {var}",
        ),
        # peewee: `with db.atomic():` / `with db.transaction():` (also as decorators)
        # on a client-server database send BEGIN on entry and COMMIT or ROLLBACK on
        # exit, on the thread's connection; the context manager is the form read (the
        # connection itself stays the database object's, closed by `db.close()`)
        _kind(
            key="peewee-transaction",
            label="peewee transaction",
            close_releases=False,
            with_acquire_releases=True,
            with_var_closes=False,
            tracked=False,
            aborts_on_error=False,
            opens_transaction=True,
            safe_form="with db.atomic():",
        ),
        _kind(
            # DBUtils' PooledDB (`pool.connection()`): close() gives the connection back
            # to the pool (also leaving `with pool.connection() as db:`, DBUtils 2+);
            # whether a failed statement aborts depends on the DB-API module it wraps.
            # The proxy's `__del__` calls that close(): a checkout held only in a local
            # goes back to the pool when reference counting frees it (the
            # direct-connection policy, `refcount_closes`, as the psycopg2-pool package)
            key="dbutils-pooled",
            refcount_closes=True,
            label="DBUtils pooled connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="try/finally: {var}.close()",
            aborts_on_error=False,
        ),
        _kind(
            key="mysql-pool",
            label="mysql.connector pooled connection",
            cursor_may_raise=True,
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="try/finally: {var}.close()",
            aborts_on_error=False,
        ),
        _kind(
            key="sqlalchemy-connection",
            collected_back=True,
            db_error=("sqlalchemy.exc", "SQLAlchemyError", "SQLAlchemyError"),
            savepoint_method="begin_nested",
            label="SQLAlchemy connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="with engine.connect() as {var}",
        ),
        _kind(
            key="sqlalchemy-async-connection",
            db_error=("sqlalchemy.exc", "SQLAlchemyError", "SQLAlchemyError"),
            savepoint_method="begin_nested",
            label="SQLAlchemy async connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_async=True,
            close_is_coroutine=True,
            safe_form="async with engine.connect() as {var}",
        ),
        _kind(
            key="sqlalchemy-raw",
            collected_back=True,
            label="SQLAlchemy raw DBAPI connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=False,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            # SQLAlchemy's QueuePool & co. around a DB-API creator: the driver behind
            # the creator is not known here, so PS103 assumes nothing about aborts
            key="sqlalchemy-pool",
            collected_back=True,
            label="SQLAlchemy pool connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=False,
            aborts_on_error=False,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            key="session",
            collected_back=True,
            lazy=True,
            db_error=("sqlalchemy.exc", "SQLAlchemyError", "SQLAlchemyError"),
            savepoint_method="begin_nested",
            label="SQLAlchemy session",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_session=True,
            safe_form="with SessionLocal() as {var}",
        ),
        _kind(
            # a `scoped_session` registry handed out as a session (`next(get_db())` on a
            # generator that yields it): each use goes to its thread's session, close()
            # (or remove()) ends it; the registry is no context manager
            key="scoped-session",
            collected_back=True,
            lazy=True,
            db_error=("sqlalchemy.exc", "SQLAlchemyError", "SQLAlchemyError"),
            savepoint_method="begin_nested",
            label="SQLAlchemy scoped_session",
            close_releases=True,
            with_acquire_releases=False,
            with_var_closes=False,
            is_session=True,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            key="async-session",
            collected_back=True,
            lazy=True,
            db_error=("sqlalchemy.exc", "SQLAlchemyError", "SQLAlchemyError"),
            savepoint_method="begin_nested",
            label="SQLAlchemy async session",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_async=True,
            close_is_coroutine=True,
            is_session=True,
            safe_form="async with async_session() as {var}",
        ),
        _kind(
            key="psycopg2",
            direct=True,
            refcount_closes=True,
            db_error=("psycopg2", "", "psycopg2.Error"),
            label="psycopg2 connection",
            close_releases=True,
            with_acquire_releases=False,
            with_var_closes=False,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            key="psycopg",
            direct=True,
            refcount_closes=True,
            exit_commit_rolls_back_aborted=True,
            db_error=("psycopg", "", "psycopg.Error"),
            savepoint_method="transaction",
            label="psycopg connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="with psycopg.connect(...) as {var}",
        ),
        _kind(
            key="psycopg-async",
            direct=True,
            exit_commit_rolls_back_aborted=True,
            db_error=("psycopg", "", "psycopg.Error"),
            savepoint_method="transaction",
            label="psycopg async connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_async=True,
            close_is_coroutine=True,
            safe_form="async with await psycopg.AsyncConnection.connect(...) as {var}",
        ),
        _kind(
            key="pymysql",
            direct=True,
            refcount_closes=True,
            label="pymysql connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="with pymysql.connect(...) as {var}",
            aborts_on_error=False,
        ),
        _kind(
            key="mysql-connector",
            direct=True,
            refcount_closes=True,
            label="mysql.connector connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="with mysql.connector.connect(...) as {var}",
            aborts_on_error=False,
        ),
        _kind(
            key="mysqldb",
            direct=True,
            refcount_closes=True,
            label="MySQLdb connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            aborts_on_error=False,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            # aiomysql.connect(): a connection of its own; close() (a plain method: it
            # closes the socket at once and returns None), `await ensure_closed()` (a
            # goodbye to the server, then the same close) or `async with` ends it
            key="aiomysql",
            direct=True,
            label="aiomysql connection",
            close_releases=True,
            close_methods=frozenset({"ensure_closed"}),
            sync_close=True,
            with_acquire_releases=True,
            with_var_closes=True,
            is_async=True,
            aborts_on_error=False,
            safe_form="async with aiomysql.connect(...) as {var}",
        ),
        _kind(
            key="asyncpg",
            # `async with conn.transaction():` sends COMMIT on a normal exit, which the
            # server answers with ROLLBACK for a failed transaction (no error raised)
            exit_commit_rolls_back_aborted=True,
            direct=True,
            db_error=("asyncpg", "", "asyncpg.PostgresError"),
            transaction_block="transaction",
            savepoint_method="transaction",
            label="asyncpg connection",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=False,
            is_async=True,
            close_is_coroutine=True,
            aborts_on_error=False,
            autocommit_by_default=True,
            safe_form="try/finally: await {var}.close()",
        ),
        _kind(
            key="pooled-wrapper",
            label="pooled connection wrapper",
            close_releases=True,
            with_acquire_releases=False,
            with_var_closes=False,
            safe_form="try/finally: {var}.close()",
        ),
        _kind(
            key="pooled-wrapper-cm",
            label="pooled connection wrapper",
            close_releases=True,
            with_acquire_releases=True,
            with_var_closes=True,
            safe_form="with ... as {var}",
        ),
        _kind(
            key="sqlite3",
            label="sqlite3 connection",
            close_releases=True,
            with_acquire_releases=False,
            with_var_closes=False,
            tracked=False,
            aborts_on_error=False,
            safe_form="contextlib.closing(sqlite3.connect(...))",
        ),
    )
}


@dataclass(frozen=True)
class ObjectType:
    """A library object that hands out connections (a pool, an engine, a factory)."""

    key: str
    label: str
    #: method name -> connection kind key, for `obj.method()`
    acquire_methods: dict[str, str]
    #: methods that are context managers only (`with obj.method() as x` is safe)
    cm_methods: frozenset[str] = frozenset()
    #: the kind produced by calling the object itself (`SessionLocal()`)
    call_kind: str | None = None
    #: `obj.attr` values that are themselves known objects
    attributes: dict[str, str] | None = None
    #: when the constructor has this keyword set to True, the kind changes
    keyword_kinds: dict[str, dict[str, str]] | None = None
    is_engine: bool = False
    is_session_factory: bool = False
    is_scoped: bool = False
    is_pool: bool = False


#: what Gino's `db` and its engine check out (`db` forwards both to the bound engine)
_GINO_CHECKOUTS = {"acquire": "gino-connection", "transaction": "gino-transaction"}

#: Gino's `await db.set_bind(url)`: given a URL (not an engine), it builds a new
#: engine, and with it a connection pool, and binds it to `db` in place of the one
#: bound before, which it does not close (`await db.pop_bind().close()` closes the
#: bound one). Once at startup it is the application's pool; per call (a request or
#: message handler) each call opens a new pool and leaves the last one open (PS202).
GINO_BIND_METHOD = "set_bind"
GINO_BIND_TYPES = frozenset({"gino"})
#: what the words of a name passed to `set_bind` say it holds: a URL, not an engine
GINO_URL_WORDS = ("url", "uri", "dsn")

OBJECT_TYPES: dict[str, ObjectType] = {
    t.key: t
    for t in (
        ObjectType(
            key="psycopg2.pool",
            label="psycopg2 connection pool",
            acquire_methods={"getconn": "psycopg2-pool"},
            is_pool=True,
        ),
        ObjectType(
            key="psycopg2_pool",
            label="psycopg2-pool connection pool",
            acquire_methods={"getconn": "psycopg2_pool"},
            is_pool=True,
        ),
        ObjectType(
            # poolsafe's own reference pool (`poolsafe.runtime.ConnectionPool` and its
            # psycopg2-named aliases): psycopg2's API, whose close() keeps the slot,
            # plus `with pool.connection() as conn:`, which always gives it back
            key="poolsafe.pool",
            label="poolsafe ConnectionPool",
            acquire_methods={"getconn": "psycopg2-pool"},
            cm_methods=frozenset({"connection"}),
            is_pool=True,
        ),
        ObjectType(
            key="psycopg_pool",
            label="psycopg_pool ConnectionPool",
            acquire_methods={"getconn": "psycopg-pool"},
            cm_methods=frozenset({"connection"}),
            keyword_kinds={"close_returns": {"getconn": "psycopg-pool-returning"}},
            is_pool=True,
        ),
        ObjectType(
            key="psycopg_pool.async",
            label="psycopg_pool AsyncConnectionPool",
            acquire_methods={"getconn": "psycopg-pool-async"},
            cm_methods=frozenset({"connection"}),
            is_pool=True,
        ),
        ObjectType(
            key="asyncpg.pool",
            label="asyncpg pool",
            acquire_methods={"acquire": "asyncpg-pool"},
            is_pool=True,
        ),
        ObjectType(
            key="aiopg.pool",
            label="aiopg pool",
            acquire_methods={"acquire": "aiopg-pool"},
            is_pool=True,
        ),
        ObjectType(
            key="aiomysql.pool",
            label="aiomysql pool",
            acquire_methods={"acquire": "aiomysql-pool"},
            is_pool=True,
        ),
        ObjectType(
            key="aiopg.sa.engine",
            label="aiopg.sa engine",
            acquire_methods={"acquire": "aiopg-sa"},
            is_pool=True,
        ),
        ObjectType(
            key="aiomysql.sa.engine",
            label="aiomysql.sa engine",
            acquire_methods={"acquire": "aiomysql-sa"},
            is_pool=True,
        ),
        # peewee: the database object holds one connection per thread; `db.connect()`
        # opens it (a pool slot for playhouse.pool's Pooled*Database) and only
        # `db.close()` or leaving `with db.connection_context()` gives it back
        # (`db.atomic()` is a transaction, not a release). Read by
        # `analysis.peewee_connect`; SQLite databases are files (not tracked)
        ObjectType(
            key="peewee.database",
            label="peewee database",
            acquire_methods={"atomic": "peewee-transaction",
                             "transaction": "peewee-transaction"},
        ),
        ObjectType(
            key="peewee.sqlite",
            label="peewee SQLite database",
            acquire_methods={},
        ),
        ObjectType(
            # encode/databases: `Database(url)` holds the pool (`connect()` opens it);
            # `transaction()` is the one explicit checkout of its public API
            key="databases.database",
            label="databases Database",
            acquire_methods={"transaction": "databases-transaction"},
        ),
        ObjectType(
            # Gino's `db = Gino()` (and its Starlette/Sanic/aiohttp/Quart extensions):
            # `acquire()` and `transaction()` go to the bound engine
            key="gino",
            label="Gino",
            acquire_methods=_GINO_CHECKOUTS,
        ),
        ObjectType(
            key="gino.engine",
            label="Gino engine",
            acquire_methods=_GINO_CHECKOUTS,
            is_pool=True,
        ),
        ObjectType(
            key="dbutils.pooled_db",
            label="DBUtils PooledDB",
            acquire_methods={"connection": "dbutils-pooled",
                             "dedicated_connection": "dbutils-pooled"},
            is_pool=True,
        ),
        ObjectType(
            key="mysql.pool",
            label="mysql.connector pool",
            acquire_methods={"get_connection": "mysql-pool"},
            is_pool=True,
        ),
        ObjectType(
            # Flask-MySQL: `MySQL().connect()` is a new pymysql connection per call
            # (its `get_db()` is the app context's, closed at teardown: not listed)
            key="flaskext.mysql",
            label="Flask-MySQL extension",
            acquire_methods={"connect": "pymysql"},
        ),
        ObjectType(
            key="sqlalchemy.pool",
            label="SQLAlchemy pool",
            acquire_methods={"connect": "sqlalchemy-pool"},
            is_pool=True,
        ),
        ObjectType(
            key="sqlalchemy.engine",
            label="SQLAlchemy engine",
            acquire_methods={
                "connect": "sqlalchemy-connection",
                "raw_connection": "sqlalchemy-raw",
            },
            cm_methods=frozenset({"begin"}),
            is_engine=True,
        ),
        ObjectType(
            key="sqlalchemy.async_engine",
            label="SQLAlchemy async engine",
            acquire_methods={"connect": "sqlalchemy-async-connection"},
            cm_methods=frozenset({"begin"}),
            is_engine=True,
        ),
        ObjectType(
            key="sqlalchemy.sessionmaker",
            label="SQLAlchemy sessionmaker",
            acquire_methods={},
            cm_methods=frozenset({"begin"}),
            call_kind="session",
            is_session_factory=True,
        ),
        ObjectType(
            key="sqlalchemy.async_sessionmaker",
            label="SQLAlchemy async_sessionmaker",
            acquire_methods={},
            cm_methods=frozenset({"begin"}),
            call_kind="async-session",
            is_session_factory=True,
        ),
        ObjectType(
            key="sqlalchemy.scoped_session",
            label="SQLAlchemy scoped_session",
            acquire_methods={},
            is_scoped=True,
            is_session_factory=True,
        ),
        ObjectType(
            key="flask_sqlalchemy",
            label="Flask-SQLAlchemy extension",
            acquire_methods={},
            attributes={"session": "sqlalchemy.scoped_session", "engine": "sqlalchemy.engine"},
        ),
    )
}

#: (package root, final name) -> object type key, for constructors and factories.
OBJECT_CONSTRUCTORS: dict[tuple[str, str], str] = {
    ("psycopg2", "SimpleConnectionPool"): "psycopg2.pool",
    ("psycopg2", "ThreadedConnectionPool"): "psycopg2.pool",
    ("psycopg2", "PersistentConnectionPool"): "psycopg2.pool",
    ("psycopg2", "AbstractConnectionPool"): "psycopg2.pool",
    ("psycopg2_pool", "ConnectionPool"): "psycopg2_pool",
    ("psycopg2_pool", "ThreadSafeConnectionPool"): "psycopg2_pool",
    ("psycopg_pool", "ConnectionPool"): "psycopg_pool",
    ("dbutils", "PooledDB"): "dbutils.pooled_db",
    ("DBUtils", "PooledDB"): "dbutils.pooled_db",
    ("poolsafe.runtime", "ConnectionPool"): "poolsafe.pool",
    ("poolsafe.runtime", "SimpleConnectionPool"): "poolsafe.pool",
    ("poolsafe.runtime", "ThreadedConnectionPool"): "poolsafe.pool",
    ("poolsafe.runtime", "from_url"): "poolsafe.pool",
    ("psycopg_pool", "NullConnectionPool"): "psycopg_pool",
    ("psycopg_pool", "AsyncConnectionPool"): "psycopg_pool.async",
    ("psycopg_pool", "AsyncNullConnectionPool"): "psycopg_pool.async",
    ("asyncpg", "create_pool"): "asyncpg.pool",
    ("asyncpg", "Pool"): "asyncpg.pool",
    ("aiopg", "create_pool"): "aiopg.pool",
    ("aiopg", "Pool"): "aiopg.pool",
    ("aiopg.sa", "create_engine"): "aiopg.sa.engine",
    ("aiopg.sa", "Engine"): "aiopg.sa.engine",
    ("aiomysql", "create_pool"): "aiomysql.pool",
    ("aiomysql", "Pool"): "aiomysql.pool",
    ("aiomysql.sa", "create_engine"): "aiomysql.sa.engine",
    ("aiomysql.sa", "Engine"): "aiomysql.sa.engine",
    ("peewee", "PostgresqlDatabase"): "peewee.database",
    ("peewee", "MySQLDatabase"): "peewee.database",
    ("peewee", "CockroachDatabase"): "peewee.database",
    ("playhouse", "PooledPostgresqlDatabase"): "peewee.database",
    ("playhouse", "PooledPostgresqlExtDatabase"): "peewee.database",
    ("playhouse", "PooledMySQLDatabase"): "peewee.database",
    ("playhouse", "PostgresqlExtDatabase"): "peewee.database",
    ("playhouse.db_url", "connect"): "peewee.database",
    ("peewee", "SqliteDatabase"): "peewee.sqlite",
    ("playhouse", "SqliteExtDatabase"): "peewee.sqlite",
    ("playhouse", "PooledSqliteDatabase"): "peewee.sqlite",
    # peewee-async's databases are peewee databases: the sync `db.connect()` /
    # `db.close()` (and `connection_context()`) hold and give back the thread's
    # connection exactly as peewee's do, beside the Manager's async pool
    ("peewee_async", "PostgresqlDatabase"): "peewee.database",
    ("peewee_async", "PooledPostgresqlDatabase"): "peewee.database",
    ("peewee_async", "PsycopgDatabase"): "peewee.database",
    ("peewee_async", "MySQLDatabase"): "peewee.database",
    ("peewee_async", "PooledMySQLDatabase"): "peewee.database",
    ("peewee_asyncext", "PostgresqlExtDatabase"): "peewee.database",
    ("peewee_asyncext", "PooledPostgresqlExtDatabase"): "peewee.database",
    ("mysql.connector", "MySQLConnectionPool"): "mysql.pool",
    ("databases", "Database"): "databases.database",
    ("gino", "Gino"): "gino",
    ("gino_starlette", "Gino"): "gino",
    ("gino_sanic", "Gino"): "gino",
    ("gino_aiohttp", "Gino"): "gino",
    ("gino_quart", "Gino"): "gino",
    ("gino_tornado", "Gino"): "gino",
    ("gino", "create_engine"): "gino.engine",
    ("gino", "GinoEngine"): "gino.engine",
    # SQLAlchemy's pools used alone, around a DB-API creator: connect() checks out a
    # proxied connection whose close() gives it back
    ("sqlalchemy", "QueuePool"): "sqlalchemy.pool",
    ("sqlalchemy", "SingletonThreadPool"): "sqlalchemy.pool",
    ("sqlalchemy", "StaticPool"): "sqlalchemy.pool",
    ("sqlalchemy", "NullPool"): "sqlalchemy.pool",
    ("sqlalchemy", "create_engine"): "sqlalchemy.engine",
    ("sqlalchemy", "engine_from_config"): "sqlalchemy.engine",
    ("sqlmodel", "create_engine"): "sqlalchemy.engine",
    ("sqlalchemy", "create_async_engine"): "sqlalchemy.async_engine",
    ("sqlalchemy", "Engine"): "sqlalchemy.engine",
    ("sqlalchemy", "AsyncEngine"): "sqlalchemy.async_engine",
    ("sqlalchemy", "async_engine_from_config"): "sqlalchemy.async_engine",
    ("sqlalchemy", "sessionmaker"): "sqlalchemy.sessionmaker",
    ("sqlalchemy", "async_sessionmaker"): "sqlalchemy.async_sessionmaker",
    ("sqlalchemy", "scoped_session"): "sqlalchemy.scoped_session",
    ("sqlalchemy", "async_scoped_session"): "sqlalchemy.scoped_session",
    ("flask_sqlalchemy", "SQLAlchemy"): "flask_sqlalchemy",
    ("flaskext.mysql", "MySQL"): "flaskext.mysql",
}


@dataclass(frozen=True)
class DirectAcquirer:
    """A library function or class whose call is itself a connection."""

    kind: str
    #: keyword arguments that make the result a pooled connection of another kind
    pooled_by: tuple[tuple[str, str], ...] = ()
    #: a keyword and the literal (`None`, `True`) that put the connection in
    #: autocommit: no statement on it begins a transaction unless one is begun
    #: explicitly (`BEGIN`)
    autocommit_by: tuple[tuple[str, str], ...] = ()


DIRECT_ACQUIRERS: dict[tuple[str, str], DirectAcquirer] = {
    # Django's server-side cursor (`QuerySet.iterator()`'s); its plain `cursor()` is a
    # client-side cursor that reference counting closes when the function drops it,
    # as sqlite3's connections: not listed (see the "django-cursor" kind)
    ("django.db", "connection.chunked_cursor"): DirectAcquirer("django-cursor"),
    ("django.db", "connections[].chunked_cursor"): DirectAcquirer("django-cursor"),
    ("psycopg2", "connect"): DirectAcquirer("psycopg2"),
    ("psycopg", "connect"): DirectAcquirer("psycopg"),
    ("pymysql", "connect"): DirectAcquirer("pymysql"),
    ("pymysql", "Connect"): DirectAcquirer("pymysql"),
    ("MySQLdb", "connect"): DirectAcquirer("mysqldb"),
    ("mysql.connector", "connect"): DirectAcquirer(
        "mysql-connector", pooled_by=(("pool_name", "mysql-pool"), ("pool_size", "mysql-pool"))
    ),
    # `isolation_level=None`: the driver never sends BEGIN itself (Python 3.12's
    # `autocommit=True` likewise); `with conn:` only commits what is open
    ("sqlite3", "connect"): DirectAcquirer(
        "sqlite3", autocommit_by=(("isolation_level", "None"), ("autocommit", "True"))),
    ("asyncpg", "connect"): DirectAcquirer("asyncpg"),
    ("aiopg", "connect"): DirectAcquirer("aiopg"),
    ("aiomysql", "connect"): DirectAcquirer("aiomysql"),
    # Tortoise ORM's transactions (`tortoise.transactions`)
    ("tortoise", "in_transaction"): DirectAcquirer("tortoise-transaction"),
    ("tortoise", "atomic"): DirectAcquirer("tortoise-transaction"),
    ("sqlalchemy", "Session"): DirectAcquirer("session"),
    ("sqlmodel", "Session"): DirectAcquirer("session"),
    ("sqlalchemy", "AsyncSession"): DirectAcquirer("async-session"),
}

#: Overrides where the final name alone is ambiguous inside one package.
_ASYNC_PSYCOPG = ("psycopg", "AsyncConnection")

#: playhouse's FlaskDB and its methods that connect and close the peewee database it
#: was given (its request hooks, also called by hand in threads and jobs); read by
#: `analysis.peewee_connect`, and the method names make a file a prefilter seed
#: (`from models import flask_db` then `flask_db.connect_db()` imports no database)
PEEWEE_FLASK_DB: tuple[str, str] = ("playhouse", "FlaskDB")
PEEWEE_FLASK_DB_METHODS: dict[str, str] = {"connect": "connect_db", "close": "close_db"}

#: Every method name that can hand out a connection, for cheap pre-checks.
ACQUIRE_METHOD_NAMES: frozenset[str] = frozenset(
    m for t in OBJECT_TYPES.values() for m in t.acquire_methods
)

#: `conn.<name>()` gives the checkout back for some kinds (`ConnectionKind.self_release`).
SELF_RELEASE_METHODS: frozenset[str] = frozenset(
    m for k in CONNECTION_KINDS.values() for m in k.self_release
)

#: `conn.<name>()` closes the connection for some kinds, like `close()`
#: (`ConnectionKind.close_methods`).
CLOSE_METHODS: frozenset[str] = frozenset(
    m for k in CONNECTION_KINDS.values() for m in k.close_methods
)

#: `pool.<name>(conn)` gives the connection back, whatever `pool` is.
POOL_RELEASE_METHODS: frozenset[str] = frozenset(
    k.pool_release for k in CONNECTION_KINDS.values() if k.pool_release
)

#: `with x.<name>():` on a connection or session is a transaction that rolls back on error.
TRANSACTION_CM_METHODS: frozenset[str] = frozenset(
    {"begin", "begin_nested", "transaction"}
)

#: A project function that opens a connection of its own and returns only a cursor of
#: it (`conn = await aiomysql.connect(...); return await conn.cursor()`): the caller
#: holds the connection through the cursor, and closing the cursor leaves the
#: connection open. The connection's methods that build such a cursor:
CURSOR_FACTORY_METHODS: frozenset[str] = frozenset({"cursor"})
#: The DB-API cursor attribute that names its connection (psycopg2, psycopg, PyMySQL,
#: MySQLdb, mysql.connector, aiopg, aiomysql): `cur.connection.close()` closes it.
CURSOR_CONNECTION_ATTR = "connection"

#: Methods of a connection, session or cursor that do no database work.
NON_WORK_METHODS: frozenset[str] = frozenset(
    {
        "close",
        "rollback",
        # a scoped_session registry's remove() and an engine's dispose() end things
        # (a failure there leaves no transaction anyone goes on with)
        "remove",
        "dispose",
        # a scoped_session's or sessionmaker's configure(bind=...) sets the factory's
        # options: no statement, no transaction
        "configure",
        "cursor",
        # psycopg's `conn.cancel()` asks the server, over a connection of its own, to
        # stop the running statement: nothing runs in this connection's transaction
        "cancel",
        "invalidate",
        "expunge",
        "expunge_all",
        "get_bind",
        "in_transaction",
        "get_transaction_status",
        "get_dsn_parameters",
        "set_session",
        "set_isolation_level",
        "is_active",
        "begin",
        "begin_nested",
        "transaction",
        "execution_options",
        "mogrify",
        "is_connected",
        "ping",
        "fileno",
        # SQLAlchemy's `session.connection()` checks a connection out (connecting if
        # need be) and runs no statement: when it fails, the connect failed and no
        # transaction is open on the server (a reconnect loop's probe); likewise
        # `session.connection().connect()` (a 1.x branch of that connection)
        "connection",
        "connect",
    }
)

#: Connection methods that return the connection they are called on: SQLAlchemy 2.0's
#: `Connection.execution_options()` (1.4's returned a branch on the same DB-API
#: connection). `conn = conn.execution_options(...)` keeps the same checkout.
SELF_RETURNING_METHODS: frozenset[str] = frozenset({"execution_options"})

#: Session methods that only queue work in the unit of work, without SQL: a `try`
#: around them alone leaves no failed transaction to roll back (the flush, commit or
#: query that sends the SQL is the database work). `AsyncSession.delete` is left out:
#: it may load cascades.
SESSION_QUEUE_METHODS: frozenset[str] = frozenset({"add", "add_all", "expire", "expire_all"})
SYNC_SESSION_QUEUE_METHODS: frozenset[str] = SESSION_QUEUE_METHODS | {"delete"}

#: Exceptions that catch everything a statement can raise.
BROAD_EXCEPTIONS: frozenset[str] = frozenset({"Exception", "BaseException"})

#: DB-API base error classes (last part of the name): every driver error, a lost
#: connection's included, is one of them (`psycopg2.OperationalError` is a
#: `psycopg2.Error`).
DRIVER_BASE_ERRORS: frozenset[str] = frozenset({"Error", "DatabaseError"})

#: Handler types (last part of the name) that a lost connection reaches: a broad one or
#: a driver's base class. In such a handler a plain driver connection's `rollback()`
#: may raise too, so PS103's fixer contains it and the equivalence check expects it.
LOST_CONNECTION_HANDLERS: frozenset[str] = BROAD_EXCEPTIONS | DRIVER_BASE_ERRORS

#: Phrases (lower case) of the drivers' error texts for a connection that is closed or
#: lost (psycopg2's "connection already closed", psycopg's "the connection is closed",
#: sqlite3's "Cannot operate on a closed database.", MySQL's "server has gone away" and
#: "Lost connection to MySQL server"): such a connection holds no transaction to roll
#: back. A handler that compares its error's text with one of them tests for that error.
CLOSED_CONNECTION_MESSAGES: tuple[str, ...] = (
    "connection already closed", "connection is closed", "closed the connection",
    "closed database", "server has gone away", "lost connection",
)

#: Errors that only a connection pool's own methods raise (`getconn()` of an exhausted
#: or closed pool, `putconn()` to a closed one): psycopg2's `PoolError` and
#: psycopg_pool's `PoolTimeout`, `PoolClosed` and `TooManyRequests` (qualified names'
#: root package, last name). No statement on a connection raises them.
POOL_ONLY_ERRORS: frozenset[tuple[str, str]] = frozenset({
    ("psycopg2", "PoolError"), ("psycopg_pool", "PoolTimeout"),
    ("psycopg_pool", "PoolClosed"), ("psycopg_pool", "TooManyRequests"),
})

#: Packages whose exception classes are database errors.
DB_ERROR_ROOTS: frozenset[str] = frozenset(
    {"psycopg2", "psycopg", "sqlalchemy", "asyncpg", "pymysql", "MySQLdb", "mysql", "sqlite3",
     "django", "sqlmodel"}
)

#: DB-API and driver error class names, recognised even when imported oddly.
DB_ERROR_NAMES: frozenset[str] = frozenset(
    {
        "DatabaseError",
        "IntegrityError",
        "OperationalError",
        "ProgrammingError",
        "DataError",
        "InterfaceError",
        "InternalError",
        "NotSupportedError",
        "SQLAlchemyError",
        "DBAPIError",
        "PendingRollbackError",
        "StatementError",
        "PostgresError",
        "UniqueViolation",
        "ForeignKeyViolation",
        "UniqueViolationError",
        "SerializationFailure",
        "DeadlockDetected",
    }
)

#: Driver errors also raised when the connection itself is gone (the server closed
#: it, the network dropped): there `rollback()` raises too, so a rollback added to a
#: handler for one of them turns a handled error into an escaping one.
CONNECTION_LOST_ERROR_NAMES: frozenset[str] = frozenset({"OperationalError", "InterfaceError"})

#: What code reads to ask whether a connection is still alive (`conn.closed`,
#: psycopg 3 `conn.broken`, mysql.connector `cnx.is_connected()`, SQLAlchemy
#: `conn.invalidated`): a handler that asks expects a lost connection.
LIVENESS_ATTRIBUTES: frozenset[str] = frozenset(
    {"closed", "broken", "is_connected", "is_closed", "invalidated", "ping"})

#: Exceptions of database packages that the client raises after a statement
#: succeeded, while reading its result (`.one()` found no row or several, Django's
#: `get()` likewise), or that SQLAlchemy raises itself from what the catalog queries
#: of reflection returned (`NoSuchTableError` from `Table(..., autoload_with=...)` or
#: `inspect(bind).get_columns()`: no row for the table, not a failed statement; a
#: failed catalog query raises a DBAPI error instead), or while resolving names in
#: its own metadata or a row (`NoSuchColumnError`, `NoReferencedTableError`,
#: `NoReferencedColumnError`: no SQL at all): the transaction is not aborted, so
#: catching one swallows no database error.
CLIENT_RESULT_ERROR_NAMES: frozenset[str] = frozenset(
    {"NoResultFound", "MultipleResultsFound", "ObjectDoesNotExist", "DoesNotExist",
     "MultipleObjectsReturned", "NoSuchTableError", "NoSuchColumnError",
     "NoReferencedTableError", "NoReferencedColumnError"}
)

#: SQLAlchemy errors the client raises before any statement reaches the server
#: (`InvalidRequestError` from `refresh()` of an object not in the session,
#: `MissingGreenlet` from lazy I/O outside the async bridge, `DetachedInstanceError`,
#: `ObjectDeletedError`): catching one swallows no database error, unless the `try`
#: also flushes or commits (a flush that fails on one of them leaves the session
#: pending rollback, whatever raised it).
CLIENT_REQUEST_ERROR_NAMES: frozenset[str] = frozenset(
    {"InvalidRequestError", "MissingGreenlet", "DetachedInstanceError", "ObjectDeletedError"}
)
#: session methods that queue or flush objects: a `try` calling one can fail in a flush
FLUSHING_METHODS: frozenset[str] = frozenset(
    {"add", "add_all", "delete", "merge", "flush", "commit", "bulk_save_objects",
     "bulk_insert_mappings", "bulk_update_mappings"}
)

CONTEXTMANAGER_DECORATORS: frozenset[tuple[str, str]] = frozenset(
    {("contextlib", "contextmanager"), ("contextlib", "asynccontextmanager")}
)

DEPENDS: frozenset[tuple[str, str]] = frozenset({("fastapi", "Depends"), ("fastapi", "Security")})


@dataclass(frozen=True)
class RouteFramework:
    name: str
    #: (package root, final name) of the app/router classes
    app_types: frozenset[tuple[str, str]]
    #: decorator method names that register a request handler
    route_methods: frozenset[str]


ROUTE_FRAMEWORKS: tuple[RouteFramework, ...] = (
    RouteFramework(
        name="fastapi",
        app_types=frozenset({("fastapi", "FastAPI"), ("fastapi", "APIRouter")}),
        route_methods=frozenset(
            {"get", "post", "put", "delete", "patch", "options", "head", "trace",
             "api_route", "websocket"}
        ),
    ),
    RouteFramework(
        name="flask",
        # flask-sock's `@sock.route("/ws")` registers a Flask view run in a request
        # (and application) context, torn down when the WebSocket handler returns
        app_types=frozenset({("flask", "Flask"), ("flask", "Blueprint"),
                             ("flask_sock", "Sock")}),
        route_methods=frozenset({"route", "get", "post", "put", "delete", "patch"}),
    ),
)


def root_matches(qualname: str, root: str) -> bool:
    return qualname == root or qualname.startswith(root + ".")


def route_framework_of(qualname: str) -> RouteFramework | None:
    """The web framework whose application or router class `qualname` is
    (`flask.Blueprint`, `fastapi.APIRouter`), or None."""
    last = qualname.rsplit(".", 1)[-1]
    for fw in ROUTE_FRAMEWORKS:
        if any(last == name and root_matches(qualname, root) for root, name in fw.app_types):
            return fw
    return None


def match_qualname(qualname: str, table: dict[tuple[str, str], str] | dict[
        tuple[str, str], DirectAcquirer] | frozenset[tuple[str, str]]) -> tuple[str, str] | None:
    """Find the (root, name) key of `table` that `qualname` stands for."""
    last = qualname.rsplit(".", 1)[-1]
    for root, name in table:
        if name == last and root_matches(qualname, root):
            return (root, name)
        if "." in name and qualname == f"{root}.{name}":
            # a method of a module-level object (`django.db.connection.cursor`)
            return (root, name)
    return None


def async_psycopg_connect(qualname: str) -> bool:
    """`psycopg.AsyncConnection.connect(...)`, awaited, is an async psycopg connection."""
    return qualname.startswith(_ASYNC_PSYCOPG[0] + ".") and qualname.endswith(
        _ASYNC_PSYCOPG[1] + ".connect"
    )

#: the aio-libs pool libraries, and the connection an unknown object's `acquire()`
#: hands out in a project that uses one of them alone (`await app['db'].acquire()`):
#: the engine connection's kind, whose `close()` releases, so that only a path
#: without any release is reported
AIO_POOL_KINDS: dict[str, str] = {"aiopg": "aiopg-sa", "aiomysql": "aiomysql-sa"}
#: ... unless the project builds that library's raw pools only (it spells
#: `create_pool` and never its `.sa` engines): then what an unknown `acquire()` hands
#: out is the raw pool's connection, whose `close()` (and `async with conn:`) loses
#: the pool slot
AIO_RAW_POOL_KINDS: dict[str, str] = {"aiopg": "aiopg-pool", "aiomysql": "aiomysql-pool"}
AIO_RAW_POOL_FACTORY = "create_pool"
AIO_ENGINE_SUBMODULE = "sa"

#: encode/databases' `Database` kept on the application (`app.database = database` at
#: startup, then `request.app.database`, `request.app.state.db`): an unknown object's
#: method of this name, on a receiver whose name says database, in a project that
#: imports `databases` and none of `DATABASES_RIVALS`, is that `Database`'s checkout
#: (`transaction = await request.app.database.transaction()`)
DATABASES_UNTYPED_CHECKOUTS: dict[str, str] = {"transaction": "databases-transaction"}
DATABASES_ROOT = "databases"
#: libraries whose objects also have a `transaction()` (asyncpg's and psycopg 3's
#: connections, Gino, peewee, Tortoise, Django, Pony, EdgeDB clients): with one of
#: them imported, an unknown receiver's `transaction()` is not read so. (SQLAlchemy,
#: which databases projects import for their tables, has none without arguments.)
DATABASES_RIVALS = frozenset({"asyncpg", "gino", "peewee", "playhouse", "peewee_async",
                              "psycopg", "tortoise", "django", "pony", "edgedb"})

#: connection handlers indexed by alias (`connections["replica"]`): the index reads
#: `X[key]` on one of them as `X[]`, so that `connections[].cursor` can be named
KEYED_CONNECTION_HANDLERS: dict[tuple[str, str], str] = {("django.db", "connections"): ""}
SUBSCRIPT_SUFFIX = "[]"

#: modules whose import says the code talks to a database where a failed statement
#: leaves the transaction usable (MySQL/InnoDB, SQL Server without XACT_ABORT, Oracle
#: and SQLite undo the one statement; Hive, Presto, Trino, BigQuery, Snowflake,
#: ClickHouse, Teradata, Druid, Databricks run statements without a transaction to
#: abort): a SQLAlchemy connection there is not left in a failed transaction (PS103).
#: Matched as dotted prefixes of the imported module.
STATEMENT_LEVEL_DB_MODULES: tuple[str, ...] = (
    "sqlalchemy.dialects.mssql", "sqlalchemy.dialects.mysql", "sqlalchemy.dialects.oracle",
    "sqlalchemy.dialects.sqlite", "pymssql", "pyodbc", "pymysql", "MySQLdb",
    "mysql.connector", "aiomysql", "asyncmy", "mariadb", "cx_Oracle", "oracledb",
    "sqlite3", "aiosqlite", "pyhive", "trino", "prestodb", "pyathena", "snowflake",
    "google.cloud.bigquery", "sqlalchemy_bigquery", "pybigquery", "clickhouse_driver",
    "clickhouse_connect", "clickhouse_sqlalchemy", "teradatasql", "teradatasqlalchemy",
    "pydruid", "databricks", "impala", "hdbcli",
    "sqlalchemy_hana", "sqlalchemy_dremio", "pinotdb",
    # SingleStore speaks MySQL's protocol and keeps MySQL's statement-level errors
    "singlestoredb", "sqlalchemy_singlestoredb",
)

#: modules whose import says the code (also) talks to a database that aborts the whole
#: transaction on a failed statement (PostgreSQL and its kin, DuckDB): with one of
#: these, nothing is concluded from STATEMENT_LEVEL_DB_MODULES.
TRANSACTION_ABORT_DB_MODULES: tuple[str, ...] = (
    "sqlalchemy.dialects.postgresql", "psycopg", "psycopg2", "psycopg_pool", "asyncpg",
    "pg8000", "aiopg", "redshift_connector", "sqlalchemy_redshift", "duckdb",
    "duckdb_engine", "sqlalchemy_cockroachdb", "databases",
)

#: the packages of both lists as (package, "") pairs: a module that imports one is
#: read by the prefilter, since PS103 judges a module without a driver of its own
#: by the other modules of its package. `google` is left out of both (too many
#: packages share it), here and in that judgement.
DB_DIALECT_PACKAGES: frozenset[tuple[str, str]] = frozenset(
    (m.split(".")[0], "") for m in (*STATEMENT_LEVEL_DB_MODULES, *TRANSACTION_ABORT_DB_MODULES)
    if not m.startswith("google."))

#: dependency-injector providers (`dependency_injector.providers.<tail>`): a
#: `Factory` calls what it wraps again for every injection, the others keep one
#: object (per process, thread or context) or run a teardown (`Resource`). Named
#: here so that the files importing dependency_injector (containers and the
#: functions taking `Provide[...]`) are read.
DI_PROVIDERS: frozenset[tuple[str, str]] = frozenset(
    ("dependency_injector", tail) for tail in (
        "providers.Factory", "providers.Singleton", "providers.ThreadLocalSingleton",
        "providers.ContextLocalSingleton", "providers.Resource", "providers.Callable",
        "providers.DelegatedFactory", "providers.AbstractFactory", "wiring.Provide"))
