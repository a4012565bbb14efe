"""PS102 unreleased-connection."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.closing_blocks import used_only_in_closing_blocks
from poolsafe.analysis.cstutil import dotted_name, iter_calls, iter_nodes, names_in, strip_await
from poolsafe.analysis.di_providers import leaking_session_factories
from poolsafe.analysis.exit_release import exit_release_gaps
from poolsafe.analysis.finite_runs import runs_in_one_run
from poolsafe.analysis.flask_propagation import propagation_switch
from poolsafe.analysis.flow import AcquireSite, escaping_names
from poolsafe.analysis.frameworks import hand_built_route_sessions
from poolsafe.analysis.keyed_checkout import stable_keyed_checkout
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.one_shot import connect_retry
from poolsafe.analysis.project_facts import is_cli_entry, is_test_module
from poolsafe.analysis.values import Connection, FunctionRef
from poolsafe.analysis.witness import as_code, leak_path
from poolsafe.core.model import RawFinding
from poolsafe.fix.equivalence.releases import released_name
from poolsafe.fix.fixers.edits import (
    USED_AFTER,
    acquire_statement,
    as_block,
    comments_of,
    enclosing_function,
    escape_reason,
    fix_site,
    is_removable_release,
    parent_map,
    parse_expr,
    parse_line,
    plain_pool_wrapper,
    reference,
    release_for_site,
    release_hint,
    release_work,
    release_work_reason,
    safe_form_at,
)
from poolsafe.fix.fixers.enclosing_try import release_in_holding_try
from poolsafe.fix.fixers.exit_gap import release_in_exit_finally
from poolsafe.fix.fixers.hand_on import handed_on_later, release_on_failure
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import (
    aio_libs,
    async_orms,
    django_cursor_cases,
    peewee_cases,
    sqlmodel_cases,
)
from poolsafe.rules.cases.ps102 import (
    GENERATOR_END_INVALID,
    GENERATOR_END_VALID,
    HOOK_CALLEE_INVALID,
    HOOK_CALLEE_VALID,
    INVALID,
    VALID,
)

#: what an exception-only gap costs, as measured by benchmarks/policy87_gc_reclaim.py
#: (each failing call caught by its caller, as a web framework does)
_SQLALCHEMY_EFFECT = (
    ": the failed call leaves it in a reference cycle, so it stays checked out of the pool "
    "after the caller has handled the error, until Python's garbage collector "
    "runs (the pool then takes it back, silently); a burst of failing calls can "
    "exhaust the pool before that")
_SQLALCHEMY_ASYNC_EFFECT = (
    ": the failed call leaves it in a reference cycle, so it stays checked out of the pool "
    "after the caller has handled the error, until Python's garbage collector "
    "runs (which then terminates the connection, with a warning); a burst of failing "
    "calls can exhaust the pool before that")
#: what a normal-path drop costs (the function returns with it unreleased), as measured
#: by benchmarks/policy88_normal_path.py: an open transaction keeps SQLAlchemy's
#: connection in a reference cycle, so returning does not free it
_SQLALCHEMY_NORMAL = (
    ": dropped with its transaction open, it stays checked out of the pool (on a server "
    "database, idle in transaction) after the function returns, until Python's garbage "
    "collector runs (reference counting does not free it, and the pool takes it back "
    "silently)")
_SQLALCHEMY_ASYNC_NORMAL = (
    ": dropped with its transaction open, it stays checked out of the pool (on a server "
    "database, idle in transaction) after the function returns, until Python's garbage "
    "collector runs (which then terminates the connection, with a warning)")
_NORMAL_EFFECT: dict[str, str] = {
    "sqlalchemy-connection": _SQLALCHEMY_NORMAL,
    "sqlalchemy-async-connection": _SQLALCHEMY_ASYNC_NORMAL,
    "session": _SQLALCHEMY_NORMAL,
    "async-session": _SQLALCHEMY_ASYNC_NORMAL,
}
#: a session's or connection's methods that write (or queue a write) in its transaction
_WRITES = frozenset({"add", "add_all", "delete", "merge", "flush", "bulk_save_objects",
                     "bulk_insert_mappings", "bulk_update_mappings"})
_WRITE_STATEMENTS = frozenset({"insert", "update", "delete"})
_POOL_EFFECT = (
    ": the pool keeps counting it as checked out and never takes it back, so each failing "
    "call loses a pool slot for good")
_EXCEPTION_EFFECT: dict[str, str] = {
    "sqlalchemy-connection": _SQLALCHEMY_EFFECT,
    "sqlalchemy-async-connection": _SQLALCHEMY_ASYNC_EFFECT,
    "session": _SQLALCHEMY_EFFECT,
    "scoped-session": _SQLALCHEMY_EFFECT,
    "async-session": _SQLALCHEMY_ASYNC_EFFECT,
    "psycopg2-pool": _POOL_EFFECT,
    "psycopg-pool": _POOL_EFFECT,
    "asyncpg-pool": _POOL_EFFECT,
    "mysql-pool": _POOL_EFFECT,
}


class UnreleasedConnection(Rule):
    """
    ## What it does
    Flags a checkout (a pool connection, an engine connection, a session, an
    `await pool.acquire()` of asyncpg, aiopg or aiomysql, an aiopg.sa or aiomysql.sa
    `engine.acquire()`, a SQLModel `Session(engine)`, a DBUtils `PooledDB`
    `pool.connection()`, whose `close()` gives it back, a raw driver connection) with
    some path, normal or exceptional, on which it is neither released, closed nor
    handed on. `async with pool.acquire() as conn:` is the release. A call of a
    project function whose whole body sits in a `try` with a catch-all `except`
    (bare, `Exception`, `BaseException`) that raises nothing cannot raise, so it
    opens no exceptional path; nor do a log call, `is_closed()`/`is_connected()`, and
    asyncpg's local callback registrations (`conn.add_termination_listener(cb)`,
    `add_log_listener`, `add_query_logger`: they do no I/O; `await
    conn.add_listener(...)` sends LISTEN and may fail). Bookkeeping that cannot
    fail opens none either: a clock read (`perf_counter()`, `time.monotonic()`,
    `time.time()`), OpenTelemetry's span calls on a receiver named for a span
    (`span.set_attribute(...)`, `add_event`, `set_status`, `record_exception`,
    `trace.get_current_span()`: the API must not raise), and asyncpg's
    `conn.get_server_version()` (what the handshake stored). The arguments are
    judged on their own: `span.set_attribute("v", conn.execute(...))` may raise.
    Nor does `self.check()` where the class's attribute only ever holds a lambda of
    no parameters that reads a name, a constant, or a field of its own instance that
    `__init__` sets (`self.check = lambda: not self._stopped`, in a class with no
    base and no property of that name), also one every caller of its setter passes:
    a property, a field set only later, another object's attribute, or a call in
    the lambda may raise.
    Nor does an anyio or trio cancel scope (`move_on_after(5, shield=True)`,
    `move_on_at`, `CancelScope`): a close inside `with move_on_after(5,
    shield=True):` in a `finally` runs on every path (the scope only bounds how long
    it may take); a query before the close in the same scope still opens a path.
    Nor does a synchronization primitive built without arguments
    (`asyncio.Event()`, `asyncio.Lock()`, `threading.Event()`, `RLock`,
    `Condition`): memory only.

    **A checkout through a conditional expression.** `conn = pool.get_connection()
    if pooled else MySQLConnection(**cfg)` (either side, `pool.getconn() if shared
    else None` too) is a checkout: the branch that checks out must give it back on
    every path, and it is judged as the pool's checkout when one branch is a pool's
    and the other a connection of its own. No fix is offered: the release the
    pool's branch needs may not be the other branch's (`pool.putconn(conn)` of a
    direct psycopg2 connection raises, `conn.close()` of `None` too).

    **A pool kept as a class attribute.** A pool built in the class body (`_pool =
    MySQLConnectionPool(...)` under `class Database:`), or stored by the class's own
    name in one of its methods (`Database._pool = SimpleConnectionPool(...)` in
    `__init__`, beside a class-body `_pool = None`), is one pool shared by every
    instance and classmethod, as `cls._pool = ...` in a classmethod is: a checkout
    from it (`cls._pool.get_connection()`, `self._pool.get_connection()`,
    `Database._pool.getconn()` in a module function) must go back on every path.
    An engine in a class body keeps its old reading.

    **Gino, encode/databases, Tortoise ORM.** Gino's `conn = await db.acquire()`
    (or `engine.acquire()`) holds a pool connection until `await conn.release()`
    (`async with db.acquire() as conn:` releases on exit). encode/databases'
    low-level `transaction = await database.transaction()` holds the task's
    connection in an open transaction until `commit()` or `rollback()` (`async with
    database.transaction():` and `@database.transaction()` end it themselves); so
    does a `Database` kept on the application (`request.app.database.transaction()`
    after `app.database = database` at startup) in a project that imports
    `databases` and no other library whose objects have a `transaction()`.
    Tortoise's transactions are context managers only (`in_transaction()`,
    `@atomic()`): nothing to release by hand. `database.connect()` at startup with
    no `disconnect()` at shutdown is not reported: the process exit closes the pool.

    **Django.** `connection.chunked_cursor()` / `connections[alias].chunked_cursor()`
    (on PostgreSQL a server-side cursor declared `WITH HOLD`, whose portal stays on
    the server until `close()` or the end of the connection) must be closed on every
    path: `with connection.chunked_cursor() as cursor:`. The plain
    `connection.cursor()` is client-side; reference counting closes it when the
    function drops it, and it is not reported.

    **aiomysql.** A connection of its own (`aiomysql.connect()`, directly or from a
    project factory) ends with `conn.close()`, a plain method that closes the socket
    at once and returns None (the fix writes it without `await`: `await
    conn.close()` raises TypeError after closing), or with `await
    conn.ensure_closed()`, which says goodbye to the server first; either is a
    release, and a use after it is PS106's.

    **A cursor that carries its connection.** A project helper that opens a
    connection of its own and returns only a cursor of it (`conn = await
    aiomysql.connect(...)`, then `return await conn.cursor()`; psycopg2, PyMySQL,
    aiopg alike) hands the connection to its caller through the cursor: the caller
    must close `cur.connection` on every path, and is reported when it does not. So
    must a function that opens a direct connection and names only its cursor, in one
    expression (`cur = get_connection().cursor()`, `cur = psycopg2.connect(dsn).cursor()`):
    nothing else can close that connection. So does one that opens it in a cursor's
    `with` (`with get_connection().cursor() as cur:`): the block's exit closes the
    cursor, not the connection (close `cur.connection` in a `finally` inside it).
    Not when the helper also keeps, closes (outside an `except` that re-raises) or
    hands on the connection, nor for a pool's checkout returned as a cursor. No fix is
    offered. `cur.close()` closes only the cursor and is no release of the connection:
    a caller that closes only the cursor (in a `finally` or not) is reported, and an
    awaited `await cur.close()` (aiomysql's reads the remaining result sets, and may
    raise) needs `cur.connection.close()` in a `finally` of its own after it. Only
    this rule reads such a cursor as its connection (a cursor has no `rollback()`,
    and a buffered cursor's rows are read after its connection closed: PS103, PS106
    and PS207 leave it).

    **An unawaited close.** asyncpg's connections, psycopg 3's `AsyncConnection`,
    SQLAlchemy's `AsyncConnection` and `AsyncSession` (also the sessions of
    `sessionmaker(engine, class_=AsyncSession)`, the idiom before
    `async_sessionmaker`) close with a coroutine function: `conn.close()` on a line
    of its own without `await` builds a coroutine
    that is dropped unrun, so it is no release and the message says so; the fix
    awaits it where it stands. A close coroutine handed on (`create_task(conn.close())`,
    `return conn.close()`) still counts.

    **aiohttp application state.** In a project whose only async pool library is
    aiopg or aiomysql, `await app['db'].acquire()` (an object the analysis cannot
    type, whose name ends with `db`, `pool`, `engine` or `database`) is that
    library's pool checkout; its `close()` counts as a release there, so only a
    path with no release at all is reported, and no fix is offered. So is one an
    object keeps under such a name (`await self.db_engine.acquire()` in a Tornado
    handler handed the engine as an `initialize` keyword), also in a module that
    imports no database package; and a project method that returns such a
    checkout is an acquire wrapper wherever it is called, also from a subclass
    that inherits it (`conn = await self.checkout()` in a handler deriving from the
    project's base handler).

    **Checkout and give-back helpers.** A class whose helper method keeps a pool
    checkout on `self` (`def _open(self): self.conn = self.pool.get_connection()`,
    also when the pool is the constructor's argument and every construction of the
    class or a subclass passes one) and whose other helper gives it back
    (`def _done(self): ... self.conn.close()`): a method that calls both must call
    the give-back in a `finally`; otherwise it is reported at the `self._open()`
    call, since an exception between them skips the give-back (and an `except` that
    swallows it hides the lost slot). A method that calls only the first helper
    keeps the connection for the object's lifetime and is not reported here. A direct
    connection (`self.conn = psycopg2.connect(dsn)`, no pool) kept so is reported
    only in a `@contextmanager` / `@asynccontextmanager` method with a `yield`
    between the two helpers (`self._connect(); yield self.cursor;
    self._disconnect()`): the `with` body's exception is raised at the `yield` and
    skips the close, and the instance keeps the connection open (no refcount frees
    it) until the next open overwrites it.

    **A session nobody names.** A SQLAlchemy or SQLModel session made inside an
    expression, by `Session(engine)`, a `sessionmaker()` or a project function or
    method that returns a new one (`self.get_session()` with `def get_session(self):
    return Session(self.engine)`), and queried there
    (`self.get_session().exec(select(Order)).first()`), or handed to a function
    whose body only works on it (`Entry.save(row, session=self.get_session())`,
    where `save` adds and commits but never closes, returns, stores or passes it on),
    can never be closed: its connection goes back to the pool only when the garbage
    collector gets to it. It is reported at the call that makes it, and fixed by
    hand (`with self.get_session() as session:`). A method that returns a session the
    object keeps (`return self.session`), a query only built and returned
    (`.query(Order)`, which holds the session), and a function that closes or keeps
    the session handed to it are not reported; nor is one made once, outside a
    loop, in code that runs once per process, as for a named session.
    An `AsyncSession` worked on and awaited where it is made (`await
    AsyncSession(engine).execute(query)`, `await async_session_maker().scalars(q)`)
    is reported whatever becomes of the result: its rows are buffered, and the
    result holds no way back to the session.

    **A pool checkout nobody names.** `pool.getconn().cursor()`,
    `pool.getconn().execute(query)` (psycopg_pool) or `(await
    pool.acquire()).fetchval(query)` (asyncpg, aiopg, aiomysql) checks a connection out
    of a pool that takes it back only through `putconn()` / `release()`, and nothing
    can: the pool counts the slot as taken for good. Reported at the checkout, fixed
    by hand. A function that gives the cursor's connection back
    (`pool.putconn(cur.connection)`), `with pool.connection()`, `async with
    pool.acquire()`, a method that hands out a connection the object keeps, and the
    pools that take a dropped connection back themselves (the psycopg2-pool
    package, DBUtils) are not reported.

    **A session built by hand in a FastAPI route** (`db = SessionLocal()`, or
    `SessionLocal().get(...)` with no name) is PS105's finding, at the same call,
    with the better fix (a `Depends()` dependency that closes it on every path):
    PS102 does not report that call a second time, named or not. What PS105 does not
    report stays here: a session made in a route of another framework (Flask), one
    that comes through a project wrapper (`db = open_session()`), one made in a
    function nested in the route, one entered by `with`. (With PS105 deselected,
    such a leak in a FastAPI route is not reported.)

    **peewee.** `db.connect()` on a peewee server database (`PostgresqlDatabase`,
    `MySQLDatabase`, playhouse's `Pooled*Database`, and peewee-async's databases,
    `peewee_async.PooledPostgresqlDatabase`, `peewee_asyncext.PostgresqlExtDatabase`
    and the like, whose sync API is peewee's) opens the thread's connection, a
    pool slot for the pooled ones, until `db.close()`. A connect followed by work
    with no `close()`, or a `close()` that an exception or an early `return` skips,
    is reported at the `connect()`; `with db.connection_context():` and a `close()`
    in `finally` are releases (`db.atomic()` is a transaction, not a release). A
    Flask `before_request` hook that connects needs a teardown handler that closes
    the database (an application's or a blueprint's, closing it itself or through a
    project function that does); so does a function that connects and works on the
    database (`db.connect(); db.create_tables(...)`) when every call of it in the
    project is made, outside loops, by such hooks (`@bp.before_request def
    before(): initialize_db()`), directly or through functions only they call, and it
    is never handed on as a value (`Thread(target=initialize_db)`): it is the
    request's connect, and the teardown closes it. Called from anything else too (a
    route, a job), it is judged on its own. A Bottle `before_request` hook that connects
    (`@app.hook("before_request")`, `app.add_hook("before_request", f)`) needs a Bottle
    `after_request` hook that closes the database (Bottle runs it after every request,
    also when the route raised). SQLite databases are not tracked.
    A project subclass of a peewee
    database class (`class RetryDB(ReconnectMixin, PooledMySQLDatabase)`) is that
    database; a name bound to a server database in one branch and to SQLite in
    another (chosen by configuration) is tracked, and so is a database built from a
    class chosen from configuration (`getattr(peewee, cfg["engine"])(...)`, or a dict
    literal of peewee database classes with a server one among them subscripted by a
    configured name, `BACKENDS[name](...)`, directly or through a name); playhouse's
    `FlaskDB` connects and closes its database with `connect_db()` and `close_db(exc)`,
    tracked when the project gives a FlaskDB a server database. A project's own wrapper (a plain
    function that only connects a server database and returns nothing, `def
    connect(): _db.connect()`) is a connect where it is called, in any module, and
    its close wrapper (`def close(): _db.close()`) a close; so is a function that only
    calls such a wrapper (`def open_session(): connect()`), a few levels deep. A
    database kept on a project object (`gateway.database.connect()`) is closed by a
    method of that object that closes the attribute (`gateway.done()` where `def
    done(self): self.database.close()`), judged like `gateway.database.close()` at
    the same place (in a `finally`, or with nothing that can raise before it). Those
    findings are fixed by hand. A module-level function that no project code calls,
    in a module that only one-shot scripts import (an updater script's action whose
    call is commented out, or one run by hand), is a script's: each run of the script
    uses it once, and an exception ends the run with its connection; it is not
    reported (a module that a server or a waiting loop imports, or that nothing
    imports, is not judged so).

    The analysis follows the function's control flow with exception edges: an
    exception in the body skips a release that is not in `finally`; an
    `except psycopg2.Error:` does not catch a `KeyError`; an early `return` skips
    the release below it; a generator can be thrown into at each `yield`. A
    connection that is returned, yielded to a caller, stored on an attribute or
    in a container, or passed to a function that releases it has moved on and
    is not reported here; so is one a chained assignment stores at once
    (`self.conn = conn = pool.getconn()`: the object's own release is judged), and
    one a class's `__init__` hands to its base class's `__init__` (`Base.__init__(self,
    conn)`, `super().__init__(conn)`) when that `__init__` stores the parameter on the
    instance (`self.connection = connection`), as if stored here.
    Handing it to a project class's constructor moves it on too, unless the object
    dies with the function: `__init__` only stores it (`self.session = session`), the
    object is a temporary reached through at once (`len(Guide(day, session).rows())`)
    or a local bound once and only reached through, the class has no `__exit__`,
    `__aexit__` or `__del__`, and none of the methods the function runs on the object
    (and those they call on `self`) closes the stored session or hands it (or `self`)
    on. A method that hands `self.session` to a project function or a model's class
    method that only runs work on it (`session.query(...)`, `execute`, `scalars`,
    `add`, `commit`) does not hand it on: the session is still the function's to
    close, and is reported when it does not.
    The same holds for a session or pooled connection the object opens itself in
    `__init__` (`self.session = SessionLocal()`): when no method closes it that the
    functions making the object run on it, and every object of the class the project
    makes (outside the tests) dies with the function that made it, each call leaves
    one open; it is reported at the checkout in `__init__` (not fixed: the class needs
    a `close()` its callers call). An object made at module level (one for the
    process), returned, stored or passed on is its holder's to close, and one made
    only by one-shot code (a script's `main()`) dies with the run.
    A function that releases it includes a project function whose body opens with
    `with session:` on the parameter it is handed and uses it nowhere after that
    block (`Session.__exit__` closes it), for a kind whose `with x:` closes (a
    SQLAlchemy session; a psycopg2 connection's `with conn:` only ends a
    transaction and stays reported); a use of the session after such a call is
    PS106's. A SQLAlchemy session (`Session()`, a `sessionmaker()`'s session, a
    `scoped_session` registry, an `AsyncSession`) checks a connection out only at
    its first statement: an exception raised before anything used it (only
    `configure()`, `add()`, `add_all()` or `expunge()` ran, which send nothing, or
    a `scoped_session` registry's `query_property()`, which builds a descriptor,
    its store asked, `Session.registry.has()`, or the registry called for its
    session, also with keywords for its factory, `Session(bind=engine)`)
    leaves nothing checked out and is not reported; from its first query, flush,
    commit or any other use on, what raises counts. Nor do these use it: storing
    on it (`db_session.replica_bind = engine`, `session.info["label"] = name`),
    returning it (alone or among other results), registering a listener on it
    (`sqlalchemy.event.listen(session, ...)`, zope.sqlalchemy's `register`), or
    handing it to a project function whose own body
    only stores it (`self.registry = db_session`) or leaves it to functions nested
    in it that the body does not call (a callback or middleware it registers, which
    reads the session per request, later). A session that comes among a helper's
    results (`session, base, engine = load_connection(url)`) is idle as one the
    helper returns alone. A `commit()` or `rollback()` of a session on which the
    function never queues, deletes or flushes anything ends an empty transaction
    without connecting: the session stays idle.
    A method of a SQLAlchemy dialect class (a subclass of `DefaultDialect` or of
    one of SQLAlchemy's dialects) that hands its own parameter to a helper
    (`raw = self._raw_connection(connection)`) borrows the DBAPI connection of the
    `Connection` SQLAlchemy passed it (the Inspector's reflection calls, execution
    and initialisation hooks): the helper's branch that would check one out of an
    `Engine` is not the method's checkout, and nothing is reported. A dialect
    method that checks out from an engine of its own still is.
    `conn = conn.execution_options(...)` keeps the same
    connection (SQLAlchemy 2.0 returns the connection itself): it is followed
    under its name, not reported as overwritten; so does `with
    conn.execution_options(...) as conn:` (or `as c:`), whose exit closes the
    connection as `with conn:` would (`with conn.execution_options(...).begin():`
    only ends a transaction: the connection stays open and is reported). An
    exception that `execution_options(...)` itself raises, before the block is
    entered, still leaves the connection open.
    A SQLAlchemy session gives its connection back to the engine's pool when
    `commit()` ends its transaction, so rebinding its name right after a line that
    is only `session.commit()` (`for batch in batches: session = Session(); ...;
    session.commit()`) loses no connection: not reported as overwritten. It is
    when anything used the session after that commit (a query checks a connection
    out again) or some path skips the commit. For the same reason a session left
    unclosed is not reported on a path where its last act was a successful
    `commit()` (a line that is only `session.commit()` or `await
    session.commit()`, followed by nothing but `pass` or a bare `return`, or one of
    a constant): it holds no connection there. Any other statement after the commit
    keeps it reported (`return row.id` reads an expired attribute, which loads it
    again through the session and checks a connection out). A commit that fails
    leaves the connection checked out: with no `close()` in an `except` or `finally`
    behind it, that is an exception's gap (`session.add(...); session.commit()` and
    nothing else is reported as "not closed if an exception is raised", no longer as
    "never closed"). A session that nothing has used before an early `return`
    (`session = Session()`, `if not sql: return None`, then `try: ... finally:
    session.close()`) holds no connection on that path: not reported when the
    function closes it elsewhere. So does one past a loop that ran zero times, when
    the function closes it itself (`session.close()` in the `finally` of each round:
    `for table in tables: try: ... finally: session.close()`); a release left to a
    guard of your own is judged by the guard, as below. An engine's `connect()`, a
    pool's `getconn()` or asyncpg's `acquire()` holds its connection from the call
    on, used or not: an early `return` before its release, or a loop of no rounds,
    is reported.

    **What raises.** Logging, `print()`, `close()`, `rollback()`, building a
    `contextlib.suppress(...)` or a `contextlib.closing(conn)` (`conn =
    engine.connect()` then `with closing(conn):` leaves no gap), building a query
    between the connect and the `try` on the function's own lists
    (`conditions.append("title LIKE %s")` on a list the function made with `[]`, and
    `" AND ".join(conditions)` when that list only ever holds strings and is handed
    to no other function) and a cursor's
    creation count as not raising, with
    one exception: mysql.connector's `cursor()` first pings the server
    (`is_connected()`) and raises `OperationalError` when the connection is gone,
    so for a *pooled* mysql.connector connection a
    `cur = conn.cursor()` between the checkout and the `try` is a gap (the dead
    connection still holds its pool slot until `close()` gives it back).
    psycopg2, psycopg, PyMySQL, MySQLdb and sqlite3 build the cursor in memory and
    raise only on a connection the program already closed, and a direct
    mysql.connector connection whose ping failed holds nothing on the server: their
    `cursor()` is not a gap. A name read in an `except` or `finally` that the
    `try` had not bound yet when it raised (`finally: cur.close()` after
    `cur = conn.cursor()` failed) raises `UnboundLocalError` there, and a release
    after it never runs; `cur = None` before the `try`, or a `"cur" in locals()`
    test, closes that gap. A path on which `cursor()`'s ping failed also answers
    False to `conn.is_connected()`. A guard may combine tests: `if c and
    c.is_connected(): c.close()` skips the close where `c` is None or not connected,
    which loses nothing for a direct connection and a slot for a pooled one.
    asyncpg's `if not conn.is_closed(): await conn.close()` is the same test (and
    `is_closed()` does not raise). `with session, begin(session):` enters the
    session before it builds the second item: an error there passes through the
    session's exit, and is no gap (the other order is one). A SQLAlchemy session
    connects on its first statement and gives the connection back when its
    transaction ends: when its only work so far is inside `with session.begin():`
    (or `async with`), the block's exit commits, or rolls back on an exception, and
    the session holds nothing again, so an exception raised in the block that skips
    a later `close()` leaks nothing. Work before the block (`session.connection()`,
    a query) or after it (which connects again) keeps the checkout counted.

    A session drawn by hand from a dependency generator (`next(get_db())`,
    `get_db().__next__()`, also one that yields a `scoped_session` registry) is a
    checkout of the caller's: the dropped generator closes its session at once, and
    the next query opens a connection that only the caller's `close()` (or a
    registry's `remove()`) gives back. So is one drawn with `next(gen)` from a
    generator kept in a local (`gen = get_db()`): the generator's `finally` runs
    only when that object is collected, so the caller's own `close()` must cover
    every path, or the caller ends the generator by hand on every path: `gen.close()`
    (`await gen.aclose()`) throws GeneratorExit in at its `yield`, and `next(gen,
    None)` (or an unbound `next(gen)`) runs it on past the `yield`; either gives the
    session back where the generator closes what it yields when it ends (the `yield`
    inside `with ... as db`, or in a `try` whose `finally` calls `db.close()`). A
    generator that yields a bare `SessionLocal()` closes nothing when it ends. The
    same holds for an async generator that yields a session inside
    `async with` (`session = await anext(get_session())`, `await gen.__anext__()`,
    as bots do by hand): only the event loop's async-generator finalizer, after the
    generator object is collected, would run its exit; the caller must `await
    session.close()` in a `finally` (or `await gen.aclose()`). `async for session in
    get_session():` runs the generator to its end and closes it. No fix is offered
    (no `async with` can stand in for `anext(...)`). Likewise a `scoped_session(...)` registry a
    function builds for its own use (`work = scoped_session(sessionmaker(bind=engine))`
    in a `@contextmanager` that yields it) is held like a session until its `remove()`
    or `close()`; a registry at module level, or one returned or stored on an object,
    is not a checkout. The session such a registry hands out (`session = Session()`)
    is the function's own and is followed under that name: its `close()`, the
    registry's `remove()` or a `with Session() as session:` block releases it, and
    work on it with no release on an exception path is reported at that call. Pools
    are followed through the project's own objects too, such as a `@property` of a
    Flask extension that returns its pool.
    A checkout bound by an assignment expression (`if (conn := pool.getconn()) is
    not None:`) is held from there (nothing is held where the test says it is
    None), and a local alias of a pool's method, bound once (`get = pool.getconn`,
    `put = pool.putconn`), stands for the method: `conn = get()` is a checkout and
    `put(conn)` a release.

    A release under a guard that is true wherever the checkout is held is a
    release: `finally: if pool and conn: pool.release(conn)` (or `if conn is not
    None and pool:`), where `pool` is the library pool the connection was drawn
    from with its own method and is not bound again after the checkout (a
    library's pool defines neither `__bool__` nor `__len__`; a project class might),
    and a release under the same test as the checkout (`if
    isinstance(engine, Engine):` around both `engine.acquire()` and
    `engine.release(conn)`) when the test reads only names the function never binds.
    A guard that can be false after a checkout (`if ok and conn:`, `if conn and
    error is None:`), one on another pool, another test, or the `else` of the
    checkout's test still leaves the connection out.

    A close guarded by a flag set right after the checkout (`if db is None: db =
    SessionLocal(); owned = True` ... `finally: if owned: db.close()`) releases
    exactly what the function acquired, and is a release; so is one guarded by a
    flag set before it, when the checkout is made only where the flag is true
    (`owns = session is None` / `if owns: session = SessionLocal()` ... `finally:
    if owns: session.close()`; the flag is not bound again in between). The flag
    may also come from a helper that hands out the checkout with it: `conn, mine =
    borrow(given)`, where `borrow` returns `(given, False)` for a caller's
    connection and `(fresh, True)` (or `opened = True` right before `return conn,
    opened`) for every checkout of its own; `finally: if mine: conn.close()` then
    releases exactly that checkout. So is a flag set `True` before the checkout that
    only the connection's falsy branch sets `False` (`success = True` ... `conn =
    get_connection()`, a helper returning `False` when it fails ... `if conn: ...
    else: success = False` ... `if success: conn.close()`): where `if conn:` keeps
    the connection, nothing has bound the flag since it was set. A flag that may be
    false before `if conn:` (`if not params: success = False` ahead of it), or that
    turns false where the connection is held, leaves the connection out.

    A project function that returns a connection its object or module keeps
    (`return self._conn` after `self._conn = psycopg2.connect(...)`, a `g`
    attribute, a global, or a module-level connection it only reads: `return
    SHARED` after `SHARED = pymysql.connect(...)` at import, or one it hands to an
    object its module made at the top level before returning it:
    `_cache.keep(Entry(conn, key))`) is a cached accessor,
    not an acquire wrapper: its callers borrow the connection, and the object's own
    `close()` ends it. A call such as
    `self.close()`, whose method closes `self._conn`, releases `self._conn`. So is a
    function decorated with a caching decorator (`@functools.lru_cache`,
    `@functools.cache`, `@cachetools.cached(...)`, or a module-level name bound
    to one: `memoize = lru_cache(maxsize=None)`, then `@memoize def get_db():`):
    every caller gets the same object, and a close by one would break the next. A
    decorator of the project's own that caches nothing (`@timed`) leaves the
    function a wrapper.

    A project class built around a connection whose `close()` closes it
    (`Store(psycopg2.connect(dsn))`) is itself the checkout; built around a
    `sqlite3` connection it is none, as `sqlite3.connect()` is none (a file the
    process opens: no server connection, no pool slot).

    **Sessions on a borrowed connection.** A session bound to a connection
    someone else owns (`Session(bind=conn)` or `Session(conn)` inside `with
    engine.connect() as conn:`, `Session(self.conn)` on a connection the object
    keeps, `Session(bind=op.get_bind())` in an Alembic migration) checks nothing
    out of a pool: the owner of the connection ends it, so such a session is not a
    checkout. So is a connection the function is handed: a parameter typed
    `Connection`, a parameter every call in the project fills with a connection
    the caller holds (`tally(conn)` inside `with engine.connect() as conn:`), or
    `autogen_context.connection` in an Alembic hook (`@comparators.dispatch_for(...)`),
    whose connection Alembic opens and closes, or the first parameter of a function
    handed to an async connection's `run_sync` (`await conn.run_sync(_create)`,
    also one defined in the caller's body, and the first after `self` of a method
    handed as `await conn.run_sync(self._create)`), which SQLAlchemy calls with the
    sync connection under the async one. Such a connection's engine is not
    borrowed: `sync_conn.engine.connect()` (also `conn.engine.connect()` on a
    connection the function holds or is handed typed `Connection`) checks out a
    second connection of the pool, which the function must close like any other.
    A session bound to an engine is a
    checkout (a parameter typed `Engine`, one a caller passes the engine for, or an
    untyped parameter of a function nobody calls), and so is one from a sessionmaker,
    also one built with no bind and bound later (`Session.configure(bind=engine)`),
    and one whose name first held a project session class the module then rebinds to
    the factory made from it (`class Session(BaseSession): ...` then `Session =
    sessionmaker(class_=Session)`: the last top-level binding is what importers call).
    A session's `close()` never closes the connection it is bound to: one the
    function checked out itself (`conn = engine.connect()` and then
    `Session(bind=conn)`, `SessionLocal(bind=conn)`, `sessionmaker(bind=conn)()`) is
    the function's to close, and is reported at `engine.connect()` when it does not
    (the session is no checkout of its own); returning, storing or yielding the
    session hands the connection on with it. One checked out in the `bind` argument
    itself (`Session(bind=engine.connect())`, also in a `with`) has no name, so
    nothing closes it: reported there, fixed by hand.
    A session class called with no argument at all (`orm.Session()`) has no engine
    and runs no SQL (`merge(load=False)`, `expunge()`): it is not a checkout,
    unless the project gives binds after the fact (`session.bind = engine`,
    `metadata.bind = engine`, `MetaData(bind=...)`, `binds=`).

    `with pool.getconn() as conn:` is reported too: for psycopg2, `with conn:`
    only ends the transaction; for psycopg_pool it closes the connection rather
    than returning it.

    A class that takes its checkout in one method (`__enter__`, `__init__`) and
    gives it back in `__exit__` / `close()` is read there: the checkout is
    reported when that method skips the release if an earlier call raises
    (`self.conn.commit()` before `pool.putconn(self.conn)`, outside a
    `finally`), or gives a pooled connection back only while it is alive (`if
    not self.conn.closed:`, `if self.cnx.is_connected():`), since a dead one then
    holds its slot for good. A direct connection (`psycopg2.connect()` in
    `__init__` or `__enter__`, closed in `__exit__`) is reported for the first gap
    too: a failed `self.conn.commit()` before `self.conn.close()` leaves a live
    connection on the object; a guard on its state is not a gap (a dead direct
    connection holds nothing). It is not reported when every object of the class
    is made in a `with` statement (`with Store(dsn) as store:`, bound to a local or
    to nothing) and no project class derives from it: the object then dies with the
    function that holds the `with`, and reference counting closes the connection
    once the caller's `except` is done (measured, see "Direct connections"); the
    same holds for an `__enter__` that connects and then fails in its set-up
    (`self.conn.set_session(...)`). An object kept anywhere else (a module global,
    `STORE = Store(dsn)`, an attribute, a container) keeps its connection open, and
    is reported. A release through a project base class counts as the class's
    own: a subclass that checks out in `__enter__` / `__init__` and whose `__exit__`
    calls `self.close()` (or `super().close()`), where the base's `close()` gives the
    connection back, releases it, and a `self.conn.commit()` before that call,
    outside a `finally`, is the same gap. A context manager whose `__enter__` /
    `__aenter__` keeps its checkout on `self` and then calls something that may
    raise, outside a `try`,
    is reported at the checkout: when `__aenter__` raises, `async with` never calls
    `__aexit__` (its own or one a project base class defines), and nothing gives the
    connection back. So is a method that sets a
    fresh object up (an async initialiser, `await tx.async_init(pool)`) when every
    call of it in the project is in an `__aenter__` / `__enter__`, outside a `try`.
    The same holds for an awaitable wrapper's `__await__` (`return
    self._open().__await__()`) whose coroutine keeps the checkout and then may
    raise, when the class has a `close()` / `__aexit__` and the project only ever
    writes `await Db(...)` or `async with Db(...)` (an `__aenter__` that does
    `return await self`): the failing `await` leaves nothing that could close it. A
    caller that holds the object first (`db = Db(dsn); await db`) can, and is not
    reported.

    A dependency-injector `Factory` of a session factory (`providers.Factory(SessionLocal)`,
    `Factory(Session, bind=engine)`) makes a new session for every injection, and
    the container never closes it. It is reported at the provider when a function
    that receives it (`Provide[Container.session]`), or receives a provider built
    on it (a repository: `Factory(UserRepository, session=session)`), neither uses
    what it got in a `with` nor closes it in a `finally`. A `providers.Resource`
    generator that closes the session, a `Singleton` / `ThreadLocalSingleton`, or a
    `Factory` of a `scoped_session` (its registry owns the session) is not reported.

    **Direct connections.** A connection of its own from a synchronous driver
    (`psycopg2.connect()`, `psycopg.connect()`, `pymysql.connect()`,
    `MySQLdb.connect()`, `mysql.connector.connect()` without pool arguments), held
    only in a local variable and closed on the normal path, is not reported where
    only an exception skips its `close()`: the exception unwinds the frame, CPython's
    reference counting drops the last reference, and the driver closes the socket.
    No pool slot is held, and the server's slot lives only until the traceback is
    released. The same holds for one kept on an object that every caller makes in a
    `with` statement, whose `__exit__` skips `close()` when `commit()` raises or whose
    `__enter__` fails after connecting (see the class paragraph above;
    `benchmarks/policy88_normal_path.py` counted 0 server connections left once the
    callers' `except` blocks were done, where a SQLAlchemy connection kept the same
    way stayed checked out until the garbage collector ran). The same holds where
    the function catches that exception and leaves:
    an `except` that returns (`except Exception as e: return jsonify(error=str(e)),
    500`), or the handler of the function's last `try`, which falls off its end
    (`except mysql.connector.Error as err: print(err)`): the frame ends with the
    return. A factory that opens the connection, sets it up and returns it as its
    last statement (`conn = psycopg2.connect(...); conn.set_session(...);
    register_hstore(conn); return conn`) is the same where only a set-up call that
    fails before the `return` skips the hand-off: on that way out the connection is
    in the frame alone (a pool's checkout there keeps its slot and is reported).
    That holds only while nothing else can keep the connection: it is
    still reported when it is returned elsewhere than by that last statement or
    yielded (or the function is a generator,
    which a consumer may keep suspended, unless every `yield` sits in the body of a
    `try` whose `finally` closes it first, after nothing but other `close()` calls:
    an exception before that `try` comes before the first `yield`, so nothing holds
    the generator suspended yet; a `commit()` before that close keeps it reported),
    stored on an
    attribute, in a container or a global, captured by a nested function or a
    lambda, handed to a thread, an
    executor, a callback registration or a project function or class that may keep
    it (a cursor, `conn.cursor()`, counts as the connection, and so do a bound
    method, `conn.close`, and psycopg2's `conn.info`; a plain value read off it
    does not: `self.isolation_level = conn.isolation_level`, `conn.server_version`,
    `conn.autocommit`, `conn.encoding`, `conn.status`, `conn.info.backend_pid`,
    mysql.connector's `conn.connection_id` and `conn.charset`; nor do the rows a
    cursor fetches, `cur.fetchone()`, `fetchall()`, `fetchmany()`, plain values that
    keep neither, so `list(map(int, cur.fetchone()))` hands on nothing), or when an `except`
    in a loop, around work on it, neither re-raises, returns, closes nor drops it
    (`conn = None`): a retry loop that sleeps and tries again keeps a connection an
    error may have left dead but open. A handler outside a loop that logs and goes
    on leads to the close every normal path makes (else the gap is a normal path's,
    reported as such), and is no reason to report.
    A connection never closed on the normal path (`is never closed`, `is not closed
    on every path`) or overwritten while open is reported as before, and so are
    pooled checkouts of every library, SQLAlchemy connections and sessions (they
    hold a pool slot until collected) and the async drivers' own connections
    (`asyncpg.connect()`, `aiomysql.connect()`, `aiopg.connect()`,
    `psycopg.AsyncConnection.connect()`: collected unclosed, they warn and may keep
    the socket). Two pools are the exception, since they take a checkout back when
    reference counting frees it: the `psycopg2-pool` package
    (`psycopg2_pool.ConnectionPool`, `ThreadSafeConnectionPool`) keeps only weak
    references to the connections it hands out, and DBUtils' `PooledDB` connection
    gives itself back to its pool in `__del__`. Their checkouts are treated like a
    direct connection: an exception-only gap in a local is not reported, a checkout
    lost on a normal path is, and `close()` ends a psycopg2-pool checkout as
    `putconn()` does. Teams on PyPy (no reference counting: the connection stays open
    until a garbage collection) or that want every close deterministic set
    `[tool.poolsafe] direct-connections = "strict"` (default `"lenient"`), which
    reports those exception-only gaps too.
    A direct connection never closed in one-shot code (see "Tests, one-shot code and
    processes") is not reported either, also where it is opened as `with
    psycopg2.connect() as conn:` (whose exit only ends the transaction) or once per
    turn of a loop where only the local holds it (the next turn's connection replaces
    it and reference counting closes the old one): a click or typer command
    (`@click.command()`, `@group.command()`, `@app.command()`), an argh command
    (`parser.add_commands([...])`, `argh.dispatch_commands([...])`), an argparse
    subcommand's handler (`set_defaults(func=...)`), a Django management command's
    `handle()`, a script's `main()` that only its `if __name__ == "__main__":` block
    calls, and what only they call. In such a loop a handler that prints and goes on
    (`except pymysql.Error: print(...)`) keeps the connection only until the next
    turn's assignment replaces it, so it changes nothing; nor is the turn's
    connection "overwritten while still checked out". The command is the whole work
    of its process: when it returns the process ends, and the server ends the
    connection with it; nothing is held while other work goes on. That holds only while nothing
    long-lived runs the function: a management command that a Celery task, a view
    or a scheduler also runs with `call_command(...)`, or a command's helper that
    request code also calls, is reported. A pool's checkout taken with `with` or in
    a loop, a SQLAlchemy connection or session, and the async drivers' connections
    stay reported in such code, and so do these direct connections under
    `direct-connections = "strict"`.

    **Keyed checkouts.** psycopg2's pools remember what they hand out under a key:
    `pool.getconn(key)` for a key still checked out returns that same connection.
    Under a key that is the same at every call on a thread, a literal
    (`getconn("main")`) or the thread's identity (`getconn(get_ident())`,
    `threading.get_ident()`, `current_thread()`, greenlet's `getcurrent()`), a
    checkout rebound to `getconn` of the same pool and key (a connect-retry loop
    that checks out again on each attempt) is not overwritten: both are the one
    connection. Nor is such a checkout lost when an exception leaves the function
    that holds it: the pool keeps it under the key and gives it back on the next
    `getconn` with that key (a per-thread connection, returned elsewhere with
    `putconn(conn, key)`). A key read from a variable (`for shard in shards: conn =
    pool.getconn(shard)`) may name another connection each time, and an unkeyed
    `getconn()` always does: both stay reported.

    **Sessions that only build statements.** A SQLAlchemy `Session` whose every use
    in the function is a `session.query(...)` chain ending in `.cte()`,
    `.subquery()`, `.scalar_subquery()`, `.exists()` or `.label()` (a statement to
    embed in another query, run later by whatever executes that one) never runs a
    statement itself, and so never checks out a connection: nothing is reported for
    it. Any other use (`.all()`, iteration, `session.execute()`, handing the session
    on) keeps it reported.

    **Sessions used only inside closing blocks.** A SQLAlchemy `Session` (or
    `AsyncSession`) checks out no connection until its first statement. When a
    function uses its session only inside `with guard(session):` blocks of your own
    `@contextmanager` whose `try` around the `yield` closes the session in its
    `finally` (`try: ... yield ... finally: session.close()`), nothing is reported
    for it: a loop of no rounds leaves a session that never ran a statement, and
    every block's end closes it again (a closed session may be used again; the next
    block closes it too). It stays reported when the session runs a statement
    outside the blocks (before the loop, after it), is returned, stored or read by
    a nested function, when the guard closes it only under a condition (`if
    close:`) or runs a statement on it before its `try`, and for a pool's checkout
    (`pool.getconn()` holds its connection from the call on, used or not).

    **What an exception-only gap costs.** When only an exception skips the release,
    the message says what is lost; `benchmarks/policy87_gc_reclaim.py` measured it,
    each failing call caught by its caller as a web framework does:
    - a SQLAlchemy connection or session (sync or async): the failed call leaves the
      connection in a reference cycle, so it is still checked out after the caller's
      `except` has returned. It goes back to the pool only when Python's garbage
      collector next runs (silently for a sync engine; an async engine's collector
      terminates the connection, with SQLAlchemy's "garbage collector is trying to
      clean up" warning), which depends on how many objects the program allocates, not on
      time: a run of failing calls on a default pool (5 + 10 overflow) held every
      slot at once, and later calls timed out waiting for one. Reported.
    - a driver pool's checkout (psycopg2's `ThreadedConnectionPool` /
      `SimpleConnectionPool`, psycopg_pool's `ConnectionPool`, mysql.connector's
      pool, asyncpg's `pool.acquire()`): the pool keeps counting the connection as
      checked out and never takes it back, not even after a garbage collection;
      each failing call loses a slot for good, and the pool runs dry. Reported.
    - a direct connection of a synchronous driver (`psycopg2.connect()`,
      `pymysql.connect()`): closed by reference counting once the caller's `except`
      is done. Not reported (see "Direct connections").

    **What a connection or session dropped unclosed costs.** A function that
    returns (no exception) and leaves its SQLAlchemy session or connection
    unclosed (`session = Session(); return session.execute(q).all()`) does not
    give the connection back when it returns. `benchmarks/policy88_normal_path.py`
    measured it on SQLite, PostgreSQL and MariaDB, sync and async:
    - after a statement, the session's or connection's open transaction keeps it
      in a reference cycle: every dropped session or connection stayed checked out
      after its function returned, "idle in transaction" on the server (PostgreSQL
      and MariaDB), until Python's garbage collector ran. A sync engine's pool then
      takes it back and rolls back without a word (no warning, no log); an async
      engine's collector terminates the connection with a warning. A run of such
      calls on a default pool (5 + 10 overflow) held all 15 slots at once, and
      calls timed out waiting for one. Reported, and the message says so (with an
      "if" where the function commits it somewhere and may have ended after that
      commit); the same for one an object keeps and drops with the object.
    - writes made through it and never committed (`session.add(...)` then
      `flush()`, `conn.execute(insert(...))`) are rolled back when the collector
      gets to it: the data is lost, and on SQLite the database stays locked for
      every other writer until then. The message says that the writes are never
      committed.
    - one whose last act was a successful `commit()` holds nothing: after the
      commit no transaction is open, and reference counting gives the connection
      back at return. Not reported, for a session (given its connection back by
      `commit()`, above) and for a sync `Connection` alike (`conn =
      engine.connect(); conn.execute(...); conn.commit()`: 0 held after return);
      a failing statement or commit before it is still an exception's gap. An
      `AsyncConnection` left after its commit was not measured and stays reported.

    ## Tests, one-shot code and processes
    **One-shot code.** Code that runs once per process is not reported when
    its checkout is never released, or released only when no exception is raised:
    a direct connection (`psycopg2.connect()`), a pool's checkout, a SQLAlchemy
    connection or session taken once there goes back when the process exits, and
    one checkout exhausts no pool. One-shot code is a script's `main()` (a function
    called only from module-level code such as `if __name__ == "__main__":
    main()`, or only from such functions), a function the project's packaging
    names as a console script and no project code calls (`[project.scripts]`,
    the `console_scripts` of setup.cfg or of a `setup.py`'s `setup(entry_points=
    ...)`, also through a package whose `__init__` re-exports it: `cm_ingest =
    pkg.database:ingest_all` with `from .ingest import *`), a `click`/`typer`
    command or one of a Flask CLI group (`AppGroup`), an argh command (`parser.add_commands([f])`,
    `argh.dispatch_commands([f])`, `argh.dispatch_command(f)`) or an argparse
    subcommand's handler (`set_defaults(func=f)`), a Django management command's
    `handle()` (unless code that runs more than once also runs it with
    `call_command(...)`), an
    Alembic `env.py` or migration script, a `@app.on_event("startup")` handler or a
    function its module registers as the startup hook
    (`executor.start_polling(dp, on_startup=f)`, `app.on_startup.append(f)`,
    `dp.startup.register(f)`), a script's command that its `__main__` block runs by
    the name given on the command line (`_main(locals())`, the function named nowhere
    else in the module), a self-test function written inside the `if __name__ ==
    "__main__":` block that nothing calls or names (`def test_connection():
    print(pool.getconn().info)` kept for a developer to call by hand: the block never
    runs on import, and the script exits after it), a function run from a table that
    only `main()` walks, once (`for name, check in CHECKS: check()`, or the table
    written in the loop itself: `for name, check in [("db", check_db)]:`; walked again inside a
    `while True:` it runs every round), a function a subcommand table holds, filled
    by item assignment at its module's top level (`dispatch["component"] =
    component`) and called through a subscript only by one-shot code, outside loops
    (`if subcommand in dispatch: dispatch[subcommand](arguments)` in `main()`; a
    table another module names, or looked up in a loop, is not), a function a
    management command's module imports and names only in a table of its top level
    that only that command reads, once per run (`SCRIPTS = {"tokens": {"fn":
    collect_tokens}}`, walked by `add_arguments()` for the sub-parsers and called by `handle()` as
    `SCRIPTS[name]["fn"](...)`; a table another module imports, a view say, runs
    it there too), and a method (or a class's
    `__init__`) that only such code calls, module-level code included (a module-level
    instance, `accounts = Accounts()`, builds its class once per process; a lambda's
    body runs each time it is called). A call of a library object's method of the
    same name (`await conn.add_listener(...)` on an asyncpg connection inside the
    project's own `add_listener`) is not a call of the project's method; a call on
    a receiver the analysis cannot type still counts as one. The same checkout is
    still reported when
    it is taken per iteration of a loop or per item of a batch (those add up; a
    `while` loop that only waits for the database to come up, `try: conn =
    engine.connect()` then `break`, is no such loop: it ends with the first
    connection), in
    a `with` that does not release it (a direct connection excepted: see "Direct
    connections"), when its name is rebound while it is still
    held, and in code that also runs from elsewhere (a route, a worker, a loop).
    A Streamlit page's top level (a module that calls `st.` functions outside any
    function) is no module-level code in this sense: Streamlit runs it again at
    every interaction, so what it calls runs once per rerun, not once per process.

    A connection factory (`def new_connection(): conn = psycopg2.connect(...);
    conn.set_session(autocommit=True); return conn`) whose only gap is an
    exception before it returns the connection, taken outside any loop, is not
    reported when every call of it is one run's code: one-shot code as above, or
    what only such code or a module's top level (a script's `if __name__ ==
    "__main__":` block) calls, also inside `for` loops over a finite collection
    (`for part in range(32): copy_part(part)`), never in a `while` loop. The
    exception ends that run's work, and the process exit frees the connection. A
    factory a route, a worker or a `while` loop calls stays reported.

    **Tests.** In test modules (`test_*.py`, `*_test.py`, `*_tests.py`, a Django
    application's `tests.py`, `conftest.py`, `tests/`, `*_tests/`, and test-support
    packages: `testing/`, `test_utils/`, `unittest_utils/`, and modules or packages
    whose own name says they support tests: `testutils.py`, `db_test_utils.py`,
    `testing_helper/`; not `ab_testing_utils.py`), a checkout missed only
    when an exception is raised is not reported: a failing test run ends with its
    process. A SQLAlchemy session a test, a
    fixture or a test helper leaves open is not reported either, nor a SQLAlchemy
    engine connection: it is not a production leak, and when the test's objects
    are collected SQLAlchemy's pool takes the connection back. Nor is a direct
    connection (`psycopg2.connect()`) a test never closes: it holds no pool slot,
    and it is closed when the test's objects are collected. A driver pool's
    checkout (psycopg2, psycopg_pool, asyncpg, mysql.connector) that a test never
    gives back still is (a suite that drains a shared pool hangs the tests after
    it). What a test has
    replaced with a double is not a connection at all: a checkout through a name
    the test module patches (`@patch("asyncpg.connect", new_callable=AsyncMock)`,
    `patch.object(db, "pool")`, `mocker.patch("app.db.get_conn")`,
    `monkeypatch.setattr(db, "pool", fake)`) or binds to a `Mock()`, and a
    `getconn()` on an object of unknown type in a test module (a fixture or a
    `Mock()` passed in), hands out nothing.

    **A project's own `getconn()`.** `getconn()` on an object of unknown type is
    read as a psycopg2 or psycopg_pool checkout, except in a project whose own class
    has a `getconn()` method that checks out from no pool (a cache of one connection
    per database that the class opens itself and closes in its `__exit__`, as
    ldap2pg's `Pooler`) and whose modules name no pool library that has one
    (`psycopg2.pool`, a `*ConnectionPool` class, `psycopg_pool`, `psycopg2_pool`):
    there `self.pool.getconn(dbname)` is that cache's and owes no `putconn()`. A
    project `getconn()` that hands on a pool's checkout (`return
    self._pool.getconn()`) keeps the old reading.

    ## Why is this bad?
    Every path that skips the release keeps a slot checked out. Under errors the
    pool drains, and the service fails with `connection pool exhausted`,
    `QueuePool limit of size 5 overflow 10 reached` or
    `remaining connection slots are reserved`.

    ## Example
    ```python
    def get_user(user_id):
        conn = pool.getconn()
        cur = conn.cursor()
        cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
        row = cur.fetchone()
        pool.putconn(conn)  # skipped if execute() raises
        return row
    ```

    ## Use instead
    ```python
    def get_user(user_id):
        conn = pool.getconn()
        try:
            cur = conn.cursor()
            cur.execute("SELECT * FROM users WHERE id = %s", (user_id,))
            return cur.fetchone()
        finally:
            pool.putconn(conn)
    ```
    or, where the library has a context manager that releases
    (`with engine.connect() as conn`, `with SessionLocal() as db`,
    `with pool.connection() as conn`, `async with pool.acquire() as conn`), use it.

    ## Fix safety
    The fix wraps the code after the checkout, up to its last release (or the end of
    the block), in `try`/`finally` with the release, moving the happy-path releases
    into the `finally`; a single `try` without `finally` just gets one. Where the
    acquiring call is a context manager that only closes (`engine.connect()`,
    `SessionLocal()`, `async_session()`, asyncpg `pool.acquire()`), it becomes a
    `with` / `async with` block instead (a SQLAlchemy session stays in `try`/`finally`
    with `close()` when the project's dependency files pin SQLAlchemy below 1.4,
    whose `Session` is no context manager; with no pin, the `with`: an unpinned
    project installs a current one). `with pool.getconn() as conn:` becomes
    `with pool.connection() as conn:` for psycopg_pool (also through a wrapper that
    only returns `pool.getconn()`: `with get_connection() as conn:` becomes `with
    pool.connection() as conn:`, which commits on exit as before; a wrapper that
    does more is left to you, since a release in `finally` would drop that
    commit), and for psycopg2 (where
    `with conn:` only ends the transaction) the checkout moves before a
    `try: with conn: ... finally: pool.putconn(conn)`, keeping the transaction
    behaviour. The fix is safe: it only adds releases on the paths that missed
    them. A release guarded by a test that holds for a connection checked out here
    (`if conn:`, `if conn is not None:`, or which connection it is: `if conn and
    conn != self.conn:`, keeping a connection the caller injected) moves into the
    `finally` with its guard, as written; a release behind any other test of the
    connection (`if not conn.closed:`) is left to you, since the fix would have to
    drop the guard; behind a test not about it (`if verbose:`), the `if` goes whole
    (never `if verbose: pass`), unless its test calls something. A connection
    returned or stored on success (`return conn`, `self.conn = conn`) whose leak is
    a statement between the checkout and that hand-off raising gets those statements
    in `try:` with `except BaseException: <release>; raise` (given back on failure,
    handed on on success), when the checkout is a statement of the function's own
    body and nothing in between returns, yields, releases or hands it on. A class
    whose `__exit__` (`__aexit__`, `close()`, `release()`) gives the connection back
    after a call that may raise gets that method's earlier statements in `try:` and
    the release in `finally:`. Otherwise it is not offered
    when the connection is returned, stored, rebound or released in a way it cannot
    move (`putconn(conn, close=True)`). A checkout that ends a `try` whose every
    handler leaves (`except OperationalError: raise AppError(...)`, `return`,
    `break`, `continue`) and that has no `else` or `finally` is held past that
    `try` as if it were made there: the statements after the `try` get the
    `finally` (or extend the one already there). Closing a SQLAlchemy session whose
    function returns what it loaded or was given (`return user` after
    `db.add(user); db.commit()`, `return db.query(User).all()`) is offered only as
    unsafe: the close detaches those objects, and the caller's read of an attribute
    the session had not loaded (a lazy relationship, or any attribute after the
    commit expired them) raises `DetachedInstanceError` where the original loaded
    it; a function that returns plain values (a count, `user.id`, rows of a textual
    SELECT) keeps the safe fix. A scoped_session's own `remove()` after the work
    (or after the `yield` of a `@contextmanager`) moves into the `finally` as
    written. Nor is it offered when code
    after the checkout's block still uses it (a later statement): a `finally`
    around the block would give it back before that use. A checkout inside a `try`
    is released in that `try`'s own `finally` (no `try` nested in it, unless its
    handlers would then stop seeing an error the release raises; one whose `except`
    or `finally` uses it, a handler that rolls it back, is released there anyway,
    unsafe in that case), behind `if conn is not None:`, with `conn =
    None` before the `try` (unsafe when the code did not set it already and a
    handler reads it: where the checkout raised, the handler meets `None`, not an
    unbound name). A release in a `finally` (or `except`) skipped because
    a statement before it reads a name that may not be bound yet gets a `try` of
    its own around those statements, with the release in its `finally`: it runs
    whatever they raise, and the same error still reaches the caller. A close
    guarded by `if conn.is_connected():` in a `finally` gets an `else:` that closes
    a dead connection too, ignoring what that close() raises (the original did
    nothing there, so the caller sees no new error). A checkout from a project
    wrapper that may hand back None (`get_db()` that returns None, returns a name
    it set to None, or a conditional expression with a None branch, or whose
    handler only logs, when it cannot connect) gets its release in the `finally`
    behind `if conn is not None:`: on that path the original raised where it
    first used the connection, or returned before any use, and so does the fix
    (an unguarded `conn.close()` raised AttributeError there instead). Likewise a
    checkout the code tests for None (`if conn:`, `if conn is not None:`) when it
    is the connection or None and nothing else (the driver's own call, or a wrapper
    each of whose returns is None, a library call, a name bound only to those, or
    a conditional expression of those):
    the None path runs the same statements and releases nothing; a wrapper that may
    give False, 0, a string or another project function's result leaves that fix
    unsafe. Either guard leaves the fix unsafe when a release it moves into the
    `finally` ran on the None path (`if cached: return cached` then `conn.close()`,
    with no use of the connection before): there the original's close raised
    AttributeError, and behind the guard the function would return instead; the
    same holds for the guarded release in the `finally` of the `try` that holds the
    checkout (a close in that `try`, its `else` or a handler). A wrapper that may
    hand back False, 0, a string or a literal container leaves the `finally`, the
    hand-on and the holding-`try` fixes unsafe whether tested or not: the release
    raises on that value in place of the original's own error (no guard on None
    keeps it out), unless a guard that leaves when the checkout is falsy (`if not
    conn: return`) stands before the `try`. Nor is it offered when what leaves the
    function reads the connection later: a plain generator that yields it, a cursor
    of it or a lazy reader of them (`map(tuple, cur)`, `cur.fetchone`, `lambda:
    cur.fetchone()`, the project's own generator over the cursor, a name holding one);
    a return of such a reader, of a list holding the cursor (directly or through a
    local name: `g = (r for r in cur); return g`) or of `cur.connection`; the
    connection handed to work that runs later (`executor.submit(work, conn)`,
    `asyncio.create_task(work(conn))`, `run_in_executor`, `start_new_thread`) or
    stored by `setattr` / `__setitem__`; or a `with conn as c:` whose body may release
    it through the other name. A project release function that does more than give
    the connection back (commits, directly or through a function it calls, runs a
    statement with `execute()`, or has a `raise` or `assert` of its own) leaves the
    fix unsafe: in the `finally` it would do that work, or raise its own error in
    place of the original's, on the failure paths. The fix is unsafe, too, when a
    release it moves into the `finally` ran before something that needs the pool:
    a call that checks out from the same pool (directly, through a project wrapper
    or helper, a method, the pool passed to it, or the function itself again), a
    call of a function passed in, or a `yield` (the caller runs while the generator
    waits). Moved, the connection holds its slot during that call, and a pool at
    capacity raises (or waits) where the original had room; a call that checks out
    from another pool, or connects directly, keeps the fix safe. Likewise when the
    release sat in a `try` whose `except` caught what the release raises and did not
    raise it again (a closed pool: from the `finally` that error would reach the
    caller), or inside a `with`
    block (a transaction, a lock, `suppress`): moved, the block's exit runs first,
    on a connection still held (asyncpg's `async with conn.transaction():` then
    commits what the release had rolled back). Unsafe as well, for the `finally`,
    the hand-on handler and `__exit__`'s `finally`: a call before the added release
    that may give the connection back itself on some path (a project helper that
    releases it in a handler and raises again, a release spelled otherwise, a method
    of the class, a function passed in that is handed it): where it did and an
    exception followed, the added release would run a second time, and the pool's
    error would replace the original exception.
    """

    code = "PS102"
    name = "unreleased-connection"
    summary = "a checkout that some path neither releases, closes nor hands on"
    fixable = True
    VALID = (VALID + aio_libs.PS102_VALID + sqlmodel_cases.PS102_VALID
             + peewee_cases.PS102_VALID + django_cursor_cases.PS102_VALID
             + async_orms.PS102_VALID + aio_libs.PS102_CARRIER_VALID
             + peewee_cases.PS102_ASYNC_VALID + async_orms.PS102_APP_VALID
             + aio_libs.PS102_CARRIER_CLOSE_VALID + aio_libs.PS102_POOL_CARRIER_VALID
             + async_orms.PS102_GINO_TX_VALID + GENERATOR_END_VALID
             + HOOK_CALLEE_VALID)
    INVALID = (INVALID + aio_libs.PS102_INVALID + sqlmodel_cases.PS102_INVALID
               + peewee_cases.PS102_INVALID + django_cursor_cases.PS102_INVALID
               + async_orms.PS102_INVALID + aio_libs.PS102_CARRIER_INVALID
               + peewee_cases.PS102_ASYNC_INVALID + async_orms.PS102_APP_INVALID
               + aio_libs.PS102_CARRIER_CLOSE_INVALID
               + aio_libs.PS102_POOL_CARRIER_INVALID + GENERATOR_END_INVALID
               + HOOK_CALLEE_INVALID)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        yield from self._exit_gaps(ctx)
        yield from self._enter_gaps(ctx)
        yield from self._helper_gaps(ctx)
        yield from self._peewee_gaps(ctx)
        yield from self._inline_gaps(ctx)
        yield from self._init_gaps(ctx)
        if not is_test_module(ctx.module):
            for provider in leaking_session_factories(ctx.index, ctx.module):
                yield self.finding(
                    provider.call,
                    f"dependency-injector `Factory` `{provider.name}` makes a new session for "
                    f"every injection and nothing closes it (`{provider.consumer.qualname}` "
                    f"uses it without `with` or a `close()` in `finally`); use a "
                    f"`providers.Resource` generator that closes the session, or close it "
                    f"where it is injected",
                )
        for func, flow in ctx.flows():
            for call, conn in flow.with_leaks:
                kind = conn.kind
                if kind.with_var_closes:
                    why = "closes it instead of returning it to the pool"
                else:
                    why = "only ends the transaction; it does not release the connection"
                yield self.finding(
                    call,
                    f"`with {conn.origin}` on a {kind.label} {why}; "
                    f"use {kind.safe_form_for('conn')}",
                )
            route_sessions: set[int] | None = None
            for site_index, how in sorted(flow.leaks.items()):
                site = flow.sites[site_index]
                kind = site.conn.kind
                if (how != "overwritten" or (kind.direct and kind.refcount_closes)) \
                        and _one_shot(ctx, func, site):
                    continue  # (a direct connection's next turn drops and closes the last)
                if how == "exception" and _one_shot_factory(ctx, func, site):
                    continue
                if route_sessions is None:
                    route_sessions = {id(call) for call, _ in
                                      hand_built_route_sessions(ctx.index, func)}
                if id(site.call) in route_sessions:
                    continue  # PS105 reports this very call in a FastAPI route, with its fix
                if how != "overwritten" and kind.lazy and not site.in_with \
                        and used_only_in_closing_blocks(ctx.index, ctx.module, func,
                                                        site.var, site.call):
                    continue  # see "Sessions used only inside closing blocks"
                if how != "overwritten" and kind.lazy and not site.in_with \
                        and _only_builds_statements(ctx, func, site.var, site.call):
                    continue  # see "Sessions that only build statements"
                if how == "exception" and kind.key == "psycopg2-pool" \
                        and stable_keyed_checkout(site.call):
                    continue  # the pool keeps it under its key (see "Keyed checkouts")
                caught = how == "path" and site_index in flow.caught_paths
                if (how == "exception" or caught) \
                        and _left_to_refcount(ctx, func, site, closed_after=not caught,
                                              handed_on=how == "exception"):
                    continue  # see "Direct connections" in the docstring
                if is_test_module(ctx.module) and (
                        how == "exception" or kind.collected_back or kind.direct):
                    # a failing test ends with its process; a SQLAlchemy session or
                    # connection a test or fixture leaves open goes back to the engine's
                    # pool when it is collected, a direct connection holds no slot and
                    # is closed then too; a never-released pool checkout still counts
                    continue
                if site.in_with:
                    yield self.finding(
                        site.call,
                        f"`with {site.conn.origin}` on a {kind.label} only ends the transaction; "
                        f"it does not {'close' if kind.direct else 'release'} the connection; use "
                        f"try/finally: {release_hint(site, ctx.index, func)}",
                    )
                    continue
                verb = ("returned to the pool" if kind.pool_release or kind.self_release_fix
                        else "ended (commit or rollback)" if kind.self_release else "closed")
                if how == "exception":
                    when = f"is not {verb} if an exception is raised"
                elif how == "overwritten":
                    when = f"is overwritten while still checked out (never {verb})"
                elif _never_released(ctx, func, site.var):
                    when = f"is never {verb}"
                else:
                    when = f"is not {verb} on every path"
                unbound = flow.unbound_reads.get(site_index) if how == "exception" else None
                if unbound is not None:
                    code, name = _unbound_read(ctx, unbound[0], min(unbound[1]))
                    yield self.finding(
                        site.call,
                        f"{kind.label} `{site.var}` from `{site.conn.origin}` {when}: `{code}` "
                        f"reads `{name}`, which is not bound yet when an earlier line raised, "
                        f"and its UnboundLocalError skips the release; release it in a "
                        f"`finally` of its own around `{code}`",
                    )
                    continue
                if _close_behind_connected_check(func, site.var):
                    yield self.finding(
                        site.call,
                        f"{kind.label} `{site.var}` from `{site.conn.origin}` {when}: it is "
                        f"closed only `if {site.var}.is_connected()`, and a dead pooled "
                        f"connection must still go back to the pool; call "
                        f"`{site.var}.close()` without that guard, in `finally`",
                    )
                    continue
                unawaited = flow.unawaited_closes.get(site_index)
                if unawaited is not None:
                    path = leak_path(ctx.index, func, flow, site_index, how,
                                     as_code(f"await {site.var}.close()"))
                    yield self.finding(
                        site.call,
                        f"{kind.label} `{site.var}` from `{site.conn.origin}` {when}: "
                        f"`{site.var}.close()` is a coroutine function and the call is not "
                        f"awaited, so it never runs and `{site.var}` stays open; write "
                        f"`await {site.var}.close()`, in a `finally`",
                        (*path[:1], (unawaited, f"`{site.var}.close()` is not awaited: "
                                     f"nothing is closed"), *path[1:]),
                    )
                    continue
                if site.conn.carrier and kind.pool_release:
                    release = f"pool.{kind.pool_release}({site.var}.connection)"
                    yield self.finding(
                        site.call,
                        f"{kind.label} that `{site.conn.origin}` checks out of its pool, held "
                        f"here through its cursor `{site.var}`, {when}: closing the cursor (or "
                        f"its connection) does not give the connection back; call "
                        f"`{release}` in a `finally`",
                        leak_path(ctx.index, func, flow, site_index, how, as_code(release)),
                    )
                    continue
                if site.conn.carrier:
                    yield self.finding(
                        site.call,
                        f"{kind.label} that `{site.conn.origin}` opens, held here through "
                        f"its cursor `{site.var}`, {when}: closing the cursor does not close "
                        f"the connection; call `{site.var}.connection.close()` in a "
                        f"`finally`",
                        leak_path(ctx.index, func, flow, site_index, how,
                                  as_code(f"{site.var}.connection.close()")),
                    )
                    continue
                if kind.pool_release or site.conn.via is not None:
                    # through a project wrapper, what the fix writes: the release in
                    # `finally` (`with SessionLocal() as s` would name a factory the
                    # project may not have, and skip its wrapper)
                    release = release_hint(site, ctx.index, func)
                    advice = f"try/finally: {release}"
                elif kind.self_release:
                    # Gino's `conn.release()`; a databases transaction's commit/rollback
                    release = (kind.self_release_fix.replace("{var}", site.var)
                               if kind.self_release_fix else
                               f"{site.var}.commit()` or `{site.var}.rollback()")
                    advice = safe_form_at(site)
                else:
                    release = f"{site.var}.close()"
                    advice = safe_form_at(site)
                if how == "exception" and handed_on_later(parent_map(ctx.module.tree), func,
                                                          site):
                    # it is returned (or stored) when nothing fails: a `finally` or a
                    # `with` would give back what the caller goes on using
                    advice = (f"`except BaseException:` then `{release}` and `raise`, "
                              f"before it is handed on (not in a `finally`: the caller "
                              f"goes on using it)")
                if how == "exception":
                    effect = _EXCEPTION_EFFECT.get(kind.key, "")
                elif how == "overwritten":
                    effect = ""
                else:
                    effect = _NORMAL_EFFECT.get(kind.key, "")
                    if effect and _commits(func, site.var):
                        # the path may end after its last commit, with nothing held
                        # (the flow keeps such a path reported when anything follows)
                        effect = (": if anything after its last `commit()` opened a "
                                  "transaction again, " + effect[2:].replace(
                                      "dropped with its transaction open, ", "", 1))
                    elif effect and _writes_uncommitted(func, site.var):
                        effect += ("; its writes are never committed, and the rollback "
                                   "when it is collected throws them away")
                yield self.finding(
                    site.call,
                    f"{kind.label} `{site.var}` from `{site.conn.origin}` {when}{effect}; "
                    f"use {advice}",
                    leak_path(ctx.index, func, flow, site_index, how, as_code(release)),
                )

    def _peewee_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """peewee's `db.connect()` without `db.close()` on every path."""
        from poolsafe.analysis.peewee_connect import peewee_connect_gaps

        for gap in peewee_connect_gaps(ctx.index, ctx.module):
            db = gap.db
            func = gap.call.func
            # playhouse's FlaskDB connects its `.database` through `connect_db()`
            flask_db = gap.flask_db
            opened = f"{db}.connect_db()" if flask_db else f"{db}.connect()"
            context = f"{db}.database" if flask_db else db
            closing = f"{db}.close_db(None)" if flask_db else f"{db}.close()"
            database = f"peewee database `{db}`"
            if gap.wrapper is not None:  # the project's `connect()` wrapper of `db.connect()`
                database += (f" (connected by the project's `{gap.wrapper.name}()` in "
                             f"`{gap.wrapper.module.path}`)")
                opened = f"{dotted_name(func) or gap.wrapper.name}()"
                if gap.closer is not None:
                    closing = f"{gap.closer.name}()"
            if gap.how == "after_request":
                yield self.finding(
                    gap.call,
                    f"{database}: `{opened}` in a `before_request` hook is "
                    f"closed only in an `after_request` handler, which Flask skips when the "
                    f"view raises while the app propagates errors "
                    f"({propagation_switch(ctx.index)}): that request's thread keeps its "
                    f"connection; close it in an `@app.teardown_request` handler",
                )
                continue
            if gap.how == "bottle":
                yield self.finding(
                    gap.call,
                    f"{database}: `{opened}` in a Bottle `before_request` hook and no "
                    f"`after_request` hook closes it: each request's thread keeps its "
                    f"connection (a slot of a pooled database); close it in an "
                    f"`after_request` hook (Bottle runs it after every request)",
                )
                continue
            if gap.how == "teardown":
                yield self.finding(
                    gap.call,
                    f"{database}: `{opened}` in a `before_request` hook "
                    f"and no teardown handler closes it: each request's thread keeps its "
                    f"connection (a slot of a pooled database); close it in an "
                    f"`@app.teardown_request` handler",
                )
                continue
            when = {"exception": "is not closed if an exception is raised",
                    "path": "is not closed on every path",
                    "never": "is never closed"}[gap.how]
            yield self.finding(
                gap.call,
                f"{database}: the connection `{opened}` opens {when} "
                f"(it stays open on this thread, a slot of a pooled database); use "
                f"`with {context}.connection_context():` or try/finally: {closing}",
            )

    def _inline_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """A session built in an expression, worked on and dropped unclosed."""
        from poolsafe.analysis.inline_sessions import inline_session_gaps

        for gap in inline_session_gaps(ctx.index, ctx.module):
            if _one_shot(ctx, gap.func, AcquireSite(gap.call, "session", gap.conn)):
                continue  # as for a named one (see "Tests, one-shot code and processes")
            kind = gap.conn.kind
            if any(call is gap.call for call, _ in hand_built_route_sessions(ctx.index,
                                                                            gap.func)):
                continue  # PS105 reports this very call in a FastAPI route, with its fix
            label, origin = kind.label, gap.conn.origin
            made = cst.Module([]).code_for_node(gap.call)
            if "\n" in made or len(made) > 60:
                made = origin
            if gap.how == "bound":
                yield self.finding(
                    gap.call,
                    f"{label} from `{origin}` is checked out in a session's `bind` "
                    f"argument and nothing names it: the session's `close()` leaves a "
                    f"connection it was handed open, so nothing ever closes this one; "
                    f"bind it with `with {made} as conn:` and make the session inside",
                )
                continue
            if not kind.is_session:
                waited = "await " if kind.is_async else ""
                give = f"the pool's `{kind.pool_release}(conn)`"
                if isinstance(gap.call.func, cst.Attribute):
                    pool = cst.Module([]).code_for_node(gap.call.func.value)
                    give = f"`{waited}{pool}.{kind.pool_release}(conn)`"
                yield self.finding(
                    gap.call,
                    f"{label} from `{origin}` is used where it is checked out and nothing "
                    f"names it, so nothing can give it back: the pool counts the slot as "
                    f"taken for good; bind it (`conn = {waited}{made}`) and give it back "
                    f"in a `finally` with {give}",
                )
                continue
            enter = "async with" if kind.is_async else "with"
            if gap.how == "handed":
                what = (f"is handed to `{gap.callee}`, which works on it and neither closes "
                        f"nor keeps it, and nothing names it to close it")
            else:
                what = "is worked on where it is made and dropped unclosed"
            yield self.finding(
                gap.call,
                f"{label} from `{origin}` {what}; the connection it checked out goes back "
                f"to the pool only when the garbage collector finds it; bind it with "
                f"`{enter} {made} as session:` and use `session`",
            )

    def _helper_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """A method that takes a checkout through one helper (`self._open()` keeps it
        on `self.conn`) and gives it back through another outside a `finally`."""
        from poolsafe.analysis.helper_checkout import helper_checkout_gaps

        for gap in helper_checkout_gaps(ctx.index, ctx.module):
            if gap.conn.kind.direct:
                yield self.finding(
                    gap.call,
                    f"{gap.conn.kind.label} `self.{gap.attr}` that `self.{gap.opener}()` "
                    f"opens is closed only by `self.{gap.releaser}()` after the `yield`, "
                    f"outside a `finally`: an exception in the `with` body is raised at "
                    f"the `yield` and skips it, and the connection stays open on the "
                    f"instance; call `self.{gap.releaser}()` in a `finally` around the "
                    f"`yield`",
                )
                continue
            verb = "returned to the pool"
            yield self.finding(
                gap.call,
                f"{gap.conn.kind.label} `self.{gap.attr}` that `self.{gap.opener}()` checks "
                f"out is {verb} only by `self.{gap.releaser}()`, outside a `finally`: an "
                f"exception raised between them skips it and the pool slot is lost; call "
                f"`self.{gap.releaser}()` in a `finally`",
            )

    def _exit_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """A class that takes its checkout in one method and gives it back in
        `__exit__`/`close()`, where some path skips the release."""
        for gap in exit_release_gaps(ctx.index, ctx.module):
            if _object_left_to_refcount(ctx, gap.conn, gap.cls):
                continue  # see "Direct connections" in the docstring
            advice = ("give it back whatever its state" if gap.guarded
                      else f"put `{gap.release}` in a `finally`")
            # what the skipped release costs (benchmarks/policy88_normal_path.py measured
            # a SQLAlchemy connection kept on an object as policy87 measured a local one)
            effect = "" if gap.guarded else _EXCEPTION_EFFECT.get(gap.conn.kind.key, "")
            yield self.finding(
                gap.checkout,
                f"{gap.conn.kind.label} `{gap.attr}` from `{gap.conn.origin}`: {gap.why}"
                f"{effect}; {advice}",
            )

    def _init_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """`__init__` stores a fresh session on `self` that nothing closes, and every
        object of the class dies with the function that made it."""
        from poolsafe.analysis.init_checkout import init_checkout_gaps

        for gap in init_checkout_gaps(ctx.index, ctx.module):
            if all(is_cli_entry(ctx.index, f) for f in gap.makers):
                continue  # one object per run of a script (see "one-shot code")
            maker = gap.makers[0]
            # measured (benchmarks/policy88_normal_path.py, "object keeps a Session"):
            # the session's open transaction keeps it checked out past that return
            cost = (": a session that ran a statement stays checked out of the pool after "
                    f"`{maker.name}` returns, until Python's garbage collector runs"
                    if gap.conn.kind.key in _NORMAL_EFFECT else "")
            yield self.finding(
                gap.checkout,
                f"{gap.conn.kind.label} `self.{gap.attr}` from `{gap.conn.origin}`: "
                f"`{gap.cls.name}.__init__` keeps it, `{maker.qualname}` "
                f"({maker.module.path}) drops the object with it, and no method it runs "
                f"on the object closes it{cost}; give `{gap.cls.name}` a `close()` that "
                f"closes it and call it in a `finally`, or pass in one that the caller "
                f"closes",
            )

    def _enter_gaps(self, ctx: FileContext) -> Iterator[RawFinding]:
        """`__enter__` / `__aenter__` keeps a checkout on `self` and then may raise:
        the `with` statement never calls `__exit__`."""
        from poolsafe.analysis.enter_checkout import await_release, enter_checkout_gaps

        for gap in enter_checkout_gaps(ctx.index, ctx.module):
            entering = gap.entering
            assert entering.cls is not None
            if entering.name in ("__enter__", "__aenter__") \
                    and _object_left_to_refcount(ctx, gap.conn, entering.cls):
                continue  # see "Direct connections" in the docstring
            if entering.name == "__await__":
                release = await_release(ctx.index, entering.cls) or "close"
                via = "" if entering is gap.method else \
                    f" (which `{entering.cls.name}.__await__` runs)"
                yield self.finding(
                    gap.checkout,
                    f"{gap.conn.kind.label} `{gap.attr}` from `{gap.conn.origin}`: "
                    f"`{gap.cls.name}.{gap.method.name}`{via} keeps it and then calls "
                    f"`{gap.raising}`, which may raise; then `await "
                    f"{entering.cls.name}(...)` raises before anything holds the object, "
                    f"`{entering.cls.name}.{release}` never runs and nothing gives it "
                    f"back; give it back in an `except` that re-raises",
                )
                continue
            exit_name = "__aexit__" if entering.name == "__aenter__" else "__exit__"
            enter = f"{entering.cls.name}.{entering.name}"
            via = "" if entering is gap.method else f" (which `{enter}` calls)"
            yield self.finding(
                gap.checkout,
                f"{gap.conn.kind.label} `{gap.attr}` from `{gap.conn.origin}`: "
                f"`{gap.cls.name}.{gap.method.name}`{via} keeps it and then calls "
                f"`{gap.raising}`, which may raise; then `{enter}` raises, "
                f"`{entering.cls.name}.{exit_name}` never runs and nothing gives it back; "
                f"give it back in an `except` that re-raises",
            )

    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        outcome = self._fix(ctx, finding)
        if isinstance(outcome, FixPlan) and outcome.safe and not outcome.on_failure_only:
            parents = parent_map(ctx.module.tree)
            func = enclosing_function(finding.node, parents, ctx.module)
            site = next((s for s in ctx.flow(func).sites if s.call is finding.node),
                        None) if func is not None else None
            committer = _committing_release(ctx, func, site) \
                if func is not None and site is not None else None
            if committer is not None:
                outcome.mark_unsafe(release_work_reason(*committer))
            if func is not None and site is not None and site.conn.kind.is_session:
                carried = session_objects_returned(func, site.var, parents)
                if carried is not None:
                    outcome.mark_unsafe(
                        f"`{carried}` returns what `{site.var}` loaded or stored: closing "
                        f"the session detaches those objects, and reading an attribute "
                        f"it had not loaded (a lazy relationship, or any after its "
                        f"commit expired them) raises DetachedInstanceError where the "
                        f"original loaded it")
        return outcome

    def _fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        node = finding.node
        for gap in exit_release_gaps(ctx.index, ctx.module):
            if gap.checkout is node:
                return release_in_exit_finally(
                    ctx, gap, self.code, f"the release is in `{gap.cls.name}."
                    f"{gap.method.name}`: change it there by hand")
        if _is_peewee_connect(ctx, node):
            return Unfixable(self.code, _PEEWEE_BY_HAND)
        from poolsafe.analysis.enter_checkout import enter_checkout_gaps

        for enter in enter_checkout_gaps(ctx.index, ctx.module):
            if enter.checkout is node:
                return Unfixable(self.code, _ENTER_BY_HAND)
        from poolsafe.analysis.init_checkout import init_checkout_gaps

        for init in init_checkout_gaps(ctx.index, ctx.module):
            if init.checkout is node:
                return Unfixable(self.code, _INIT_BY_HAND)
        from poolsafe.analysis.helper_checkout import helper_checkout_gaps

        for helper in helper_checkout_gaps(ctx.index, ctx.module):
            if helper.call is node:
                return Unfixable(self.code, _HELPER_BY_HAND)
        from poolsafe.analysis.inline_sessions import inline_session_gaps

        for inline in inline_session_gaps(ctx.index, ctx.module):
            if inline.call is node:
                return Unfixable(self.code, _INLINE_BY_HAND if inline.conn.kind.is_session
                                 else _UNNAMED_CHECKOUT_BY_HAND)
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(node, parents, ctx.module)
        if func is None:
            return Unfixable(self.code, "not inside a function")
        flow = ctx.flow(func)
        for call, conn in flow.with_leaks:
            if call is node:
                return self._fix_with(ctx, func, parents, call, conn)
        for site in flow.sites:
            if site.call is node:
                if site.var in _bound_connections(ctx, func):
                    return Unfixable(self.code, _BOUND_BY_HAND)
                if site.conn.origin.startswith("anext("):
                    return Unfixable(self.code, _ANEXT_BY_HAND)
                if site.conn.carrier:
                    return Unfixable(self.code, _POOL_CARRIER_BY_HAND
                                     if site.conn.kind.pool_release else _CARRIER_BY_HAND)
                if _in_conditional(site.call, parents):
                    return Unfixable(self.code, _CONDITIONAL_BY_HAND)
                if site.in_with:  # `with pool.getconn() as conn:` (psycopg2)
                    return self._fix_with(ctx, func, parents, site.call, site.conn)
                if flow.sites.index(site) in flow.unawaited_closes:
                    return _await_closes(self.code, func, site.var)
                unbound = flow.unbound_reads.get(flow.sites.index(site))
                if unbound is not None and flow.leaks.get(flow.sites.index(site)) == "exception":
                    return self._fix_unbound(ctx, func, site, *unbound)
                if site.conn.kind.self_release and not site.conn.kind.self_release_fix:
                    return Unfixable(self.code, f"a {site.conn.kind.label} ends with a commit "
                                     f"on success and a rollback on failure: use "
                                     f"{site.conn.kind.safe_form_for(site.var)}, by hand")
                guarded = _guarded_closes(func, site.var)
                if guarded:
                    return _close_when_disconnected(self.code, site.var, guarded)
                # the `try` that holds the checkout is at the right level: its
                # `finally` gets the release rather than a `try` nested inside it
                line = acquire_statement(site.call, parents, site.var)
                held = line and release_in_holding_try(ctx, func, parents, site,
                                                       line[0], self.code)
                if isinstance(held, FixPlan) and not held.unsafe_reasons:
                    return held
                outcome = fix_site(ctx, func, parents, site, self.code)
                if isinstance(outcome, Unfixable) and USED_AFTER in outcome.reason:
                    return held or outcome
                if isinstance(outcome, Unfixable) and flow.leaks.get(
                        flow.sites.index(site)) == "exception":
                    # returned or stored on success: give it back on failure only
                    return release_on_failure(ctx, func, parents, site,
                                              self.code) or outcome
                return outcome
        return Unfixable(self.code, "the checkout was not found")

    def _fix_unbound(self, ctx: FileContext, func: FunctionInfo, site: AcquireSite,
                     node: cst.CSTNode, names: frozenset[str]) -> FixOutcome:
        """`finally: cur.close(); conn.close()` where `cur` may be unbound: the statements
        before the release go in a `try` whose `finally` is the release, so it runs
        whatever they raise (the same error still propagates)."""
        for block in _handler_and_finally_blocks(func.node):
            stmts = list(block.body)
            for i, stmt in enumerate(stmts):
                if not _is_release_of(ctx, func, stmt, site.var):
                    continue
                first = next((j for j in range(i) if names & names_in(stmts[j])), None)
                if first is None:
                    continue
                plan = FixPlan(self.code, f"give `{site.var}` back even when what runs before "
                                          f"its release raises")
                moved = stmts[first:i]
                head = moved[0]
                leading = list(head.leading_lines) if isinstance(
                    head, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) else []
                if isinstance(head, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                    moved[0] = head.with_changes(leading_lines=[])
                new = cst.Try(body=cst.IndentedBlock(body=moved),
                              finalbody=cst.Finally(body=cst.IndentedBlock(body=[stmt])),
                              leading_lines=leading)
                plan.replace(stmts[first], new)
                for other in stmts[first + 1:i + 1]:
                    plan.remove(other)
                return plan
        code, name = _unbound_read(ctx, node, min(names))
        return Unfixable(self.code, f"`{code}` reads `{name}` before it may be bound; set "
                                    f"`{name} = None` before the `try` and use it only when "
                                    f"set, by hand")

    def _fix_with(self, ctx: FileContext, func: FunctionInfo, parents: dict[int, cst.CSTNode],
                  call: cst.Call, conn: Connection) -> FixOutcome:
        item = parents.get(id(call))
        stmt = parents.get(id(item))
        if not isinstance(item, cst.WithItem) or not isinstance(stmt, cst.With):
            return Unfixable(self.code, "the checkout is not a plain `with` item")
        kind = conn.kind
        bound = item.asname.name if item.asname is not None else None
        plan = FixPlan(self.code, "use " + kind.safe_form_for(
            bound.value if isinstance(bound, cst.Name) else "it"))
        if (kind.key in ("psycopg-pool", "psycopg-pool-async") and conn.via is None
                and isinstance(call.func, cst.Attribute) and call.func.attr.value == "getconn"):
            plan.replace(call.func.attr, cst.Name("connection"))
            return plan
        if kind.key in ("psycopg-pool", "psycopg-pool-async") and conn.via is not None:
            return _pool_connection_for_wrapper(self.code, ctx, func, plan, call, stmt)
        if stmt.items[0] is not item or item.asname is None \
                or not isinstance(item.asname.name, cst.Name) or stmt.asynchronous is not None:
            # (a checkout after other items would move before them)
            return Unfixable(self.code, "a `with` statement whose first item is not "
                                        "`<checkout> as name`")
        var = item.asname.name.value
        body = list(stmt.body.body) if isinstance(stmt.body, cst.IndentedBlock) else []
        later = [i for i in stmt.items[1:]]
        reason = escape_reason(body, var) or next(
            (f"`{var}` is rebound by the `with`" for i in later if i.asname is not None
             and isinstance(i.asname.name, cst.Name) and i.asname.name.value == var), None)
        if reason is not None:
            return Unfixable(self.code, reason)
        # a release as the block's last statement moves into the `finally`
        tail = _tail_release(ctx, func, body, var)
        if any(var in ctx.index.released_by_call(c, func) for s in body
               if tail is None or s is not tail for c in iter_calls(s)):
            return Unfixable(self.code, f"`{var}` is also released inside the block")
        release = release_for_site(plan, ctx.index, ctx.module, func,
                                   AcquireSite(call, var, conn))
        if isinstance(release, Unfixable):
            return release
        # the log says what is written
        plan.description = (
            f"release `{var}` with {release.description} in `finally` (the `with` is "
            f"dropped)" if kind.with_var_closes else
            f"take `{var}` before the `with`, keep `with {var}:`, and release it with "
            f"{release.description} in `finally`")
        module = ctx.module.tree
        acquire = cst.SimpleStatementLine(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(var))], value=call)],
            leading_lines=stmt.leading_lines)
        if kind.with_var_closes:
            inner: cst.BaseStatement = cst.Try(
                body=as_block(stmt.body),
                finalbody=cst.Finally(cst.IndentedBlock([parse_line(module, release.code(var))])))
            plan.mark_unsafe("`with conn:` also ended the transaction; the pool's release "
                             "rolls back uncommitted work")
            plan.replace(stmt, cst.FlattenSentinel([acquire, inner]))
            return plan
        items = [cst.WithItem(item=cst.Name(var), comma=item.comma), *later]
        inner_with = stmt.with_changes(items=items, leading_lines=[])
        if tail is not None:
            rest = body[:-1] or [parse_line(module, "pass")]
            inner_with = inner_with.with_changes(body=stmt.body.with_changes(body=rest))
            if comments_of(tail):
                plan.mark_unsafe("a comment on the moved release is dropped")
            if not _ends_transaction(body[:-1], var):
                plan.mark_unsafe(
                    "the release ran inside the block, before its commit (the pool rolled "
                    "back uncommitted work); after the fix the block commits first")
        new_try = cst.Try(body=cst.IndentedBlock([inner_with]),
                          finalbody=cst.Finally(cst.IndentedBlock(
                              [parse_line(module, release.code(var))])))
        plan.replace(stmt, cst.FlattenSentinel([acquire, new_try]))
        return plan


def _pool_connection_for_wrapper(code: str, ctx: FileContext, func: FunctionInfo,
                                 plan: FixPlan, call: cst.Call,
                                 stmt: cst.With) -> FixOutcome:
    """`with get_connection() as conn:` where the wrapper only returns `pool.getconn()`
    (psycopg_pool): `with pool.connection() as conn:`, which commits on exit as the
    connection's own `with` did, and gives it back instead of closing it. Never the
    pool's release in `finally` without that commit."""
    callee = ctx.index.evaluate(call.func, ctx.module, func)
    pool = plain_pool_wrapper(ctx.index, callee.func) if isinstance(
        callee, FunctionRef) and not call.args and stmt.asynchronous is None else None
    ref = reference(plan, ctx.index, ctx.module, pool) if pool is not None else None
    if ref is None:
        name = dotted_name(call.func) or "the wrapper"
        return Unfixable(code, f"`with {name}() as ...:` also commits on exit; a release in "
                               f"`finally` would drop that commit: use the pool's "
                               f"`with pool.connection() as ...:` by hand")
    plan.description = f"use `with {ref}.connection()` (it commits on exit, as before)"
    plan.replace(call, cst.Call(func=cst.Attribute(value=parse_expr(ctx.module.tree, ref),
                                                   attr=cst.Name("connection"))))
    return plan


def _handler_and_finally_blocks(func: cst.FunctionDef) -> Iterator[cst.IndentedBlock]:
    """The `except` and `finally` blocks of the function's own `try` statements."""
    for node in iter_nodes(func.body):
        if isinstance(node, (cst.Try, cst.TryStar)):
            for handler in node.handlers:
                if isinstance(handler.body, cst.IndentedBlock):
                    yield handler.body
            if node.finalbody is not None and isinstance(node.finalbody.body, cst.IndentedBlock):
                yield node.finalbody.body


def _is_release_of(ctx: FileContext, func: FunctionInfo, stmt: cst.BaseStatement,
                   var: str) -> bool:
    """`conn.close()` / `pool.putconn(conn)` / `await pool.release(conn)` alone on a line."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1 \
            or not isinstance(stmt.body[0], cst.Expr):
        return False
    call, _ = strip_await(stmt.body[0].value)
    return isinstance(call, cst.Call) and var in ctx.index.released_by_call(call, func)


def _unbound_read(ctx: FileContext, node: cst.CSTNode, name: str) -> tuple[str, str]:
    """The code of the statement that reads `name` unbound, on one line."""
    code = ctx.module.tree.code_for_node(node).strip().splitlines()[0]
    return code, name


def _tail_release(ctx: FileContext, func: FunctionInfo, body: list[cst.BaseStatement],
                  var: str) -> cst.SimpleStatementLine | None:
    """The block's last statement when it is just the release of `var`."""
    if not body:
        return None
    last = body[-1]
    if not isinstance(last, cst.SimpleStatementLine) or len(last.body) != 1 \
            or not isinstance(last.body[0], cst.Expr):
        return None
    call, _ = strip_await(last.body[0].value)
    if isinstance(call, cst.Call) and is_removable_release(call, var) \
            and var in ctx.index.released_by_call(call, func):
        return last
    return None


def _ends_transaction(stmts: list[cst.BaseStatement], var: str) -> bool:
    """The statement before the release commits or rolls back `var`'s transaction."""
    if not stmts or not isinstance(stmts[-1], cst.SimpleStatementLine):
        return False
    small = stmts[-1].body[-1]
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return False
    f = small.value.func
    return isinstance(f, cst.Attribute) and f.attr.value in ("commit", "rollback") \
        and isinstance(f.value, cst.Name) and f.value.value == var


#: what a `Query` turns into without running it
_STATEMENT_BUILDERS = frozenset({"cte", "subquery", "scalar_subquery", "exists", "label",
                                 "as_scalar"})


def _only_builds_statements(ctx: FileContext, func: FunctionInfo, var: str,
                            call: cst.Call) -> bool:
    """`session = self.session()` whose every other use in `func` is
    `session.query(...)...cte(...)` (or `.subquery()`, `.scalar_subquery()`,
    `.exists()`, `.label()`): the chain builds a statement and runs nothing, so the
    session checks out no connection (see "Sessions that only build statements")."""
    parents = parent_map(ctx.module.tree)
    uses = [n for n in iter_nodes(func.node.body, into_functions=True)
            if isinstance(n, cst.Name) and n.value == var and not (
                isinstance(up := parents.get(id(n)), cst.Attribute) and up.attr is n)]
    bound = [n for n in uses if isinstance(parents.get(id(n)), cst.AssignTarget)]
    if len(bound) != 1 or not any(
            isinstance(st, cst.Assign) and st.value is call and st.targets[0].target is bound[0]
            for st in iter_nodes(func.node.body)):
        return False
    for name in uses:
        if name is bound[0]:
            continue
        node: cst.CSTNode = name
        attr = parents.get(id(node))
        if not isinstance(attr, cst.Attribute) or attr.value is not node \
                or attr.attr.value != "query":
            return False
        last = ""
        node = attr
        while True:
            up = parents.get(id(node))
            if isinstance(up, cst.Call) and up.func is node:
                node = up
            elif isinstance(up, cst.Attribute) and up.value is node:
                last = up.attr.value
                node = up
            else:
                break
        if last not in _STATEMENT_BUILDERS or not isinstance(node, cst.Call):
            return False
    return len(uses) > 1


def _commits(func: FunctionInfo, var: str) -> bool:
    """`var.commit()` (or `await var.commit()`) somewhere in the function."""
    return any(isinstance(c.func, cst.Attribute) and c.func.attr.value == "commit"
               and dotted_name(c.func.value) == var for c in iter_calls(func.node.body))


def _writes_uncommitted(func: FunctionInfo, var: str) -> bool:
    """`var` (a session or connection) writes in the function (`add`, `flush`,
    `execute(insert(...))`, `execute(text("UPDATE ..."))`) and nothing commits it:
    no `var.commit()` and no `var.begin()` anywhere in the function."""
    writes = False
    for call in iter_calls(func.node.body):
        f = call.func
        if not isinstance(f, cst.Attribute) or dotted_name(f.value) != var:
            continue
        method = f.attr.value
        if method in ("commit", "begin", "begin_nested"):
            return False
        if method in _WRITES or (method == "execute" and call.args
                                 and _write_statement(call.args[0].value)):
            writes = True
    return writes


def _write_statement(stmt: cst.BaseExpression) -> bool:
    """`insert(T).values(...)`, `sa.delete(T).where(...)`, `text("DELETE FROM t")`: the
    innermost call of the chain names the statement."""
    head = stmt
    while isinstance(head, cst.Call) and isinstance(head.func, cst.Attribute) \
            and isinstance(head.func.value, cst.Call):
        head = head.func.value
    if isinstance(stmt, cst.Call) and (dotted_name(stmt.func) or "").rsplit(".", 1)[-1] == "text":
        first = stmt.args[0].value if stmt.args else None
        sql = first.evaluated_value if isinstance(first, cst.SimpleString) else None
        return isinstance(sql, str) and sql.lstrip().split(" ", 1)[0].upper() in (
            "INSERT", "UPDATE", "DELETE")
    return isinstance(head, cst.Call) \
        and (dotted_name(head.func) or "").rsplit(".", 1)[-1] in _WRITE_STATEMENTS


def _never_released(ctx: FileContext, func: FunctionInfo, var: str) -> bool:
    """No call in the function releases `var` and no `return`/`yield` hands it on: no
    path gives it back (the message says "never", not "not on every path")."""
    if var in ctx.index.released_names(func.node.body, func):
        return False
    for node in iter_nodes(func.node.body):
        if isinstance(node, (cst.Return, cst.Yield)) and isinstance(
                node.value, cst.BaseExpression) and var in escaping_names(node.value):
            return False
    return True


def _left_to_refcount(ctx: FileContext, func: FunctionInfo, site: AcquireSite,
                      closed_after: bool, handed_on: bool = False) -> bool:
    """A direct synchronous driver connection missed only where an exception leaves
    the function, held in a local it cannot outlive: reference counting closes it as
    the frame unwinds (reported only with `direct-connections = "strict"`).
    `closed_after`: every normal path releases it, so an `except` that goes on leads
    to that release (only a retry loop's handler holds it on)."""
    if not site.conn.kind.refcount_closes or site.in_with:
        return False
    from poolsafe.analysis.direct_lifetime import dies_with_frame, strict_direct_connections

    return dies_with_frame(ctx.index, func, site.call, site.var, retries_only=closed_after,
                           handed_on=handed_on) \
        and not strict_direct_connections(ctx.index, ctx.module)


def _object_left_to_refcount(ctx: FileContext, conn: Connection, cls: ClassInfo) -> bool:
    """A direct synchronous driver connection kept on an object whose `__enter__` /
    `__exit__` skips its `close()` when a call raises, where every object of the class
    is made in a `with` item and dies with that frame (`objects_die_with_frame`):
    reference counting closes it once the caller's `except` is done (reported only with
    `direct-connections = "strict"`)."""
    if not (conn.kind.direct and conn.kind.refcount_closes):
        return False
    from poolsafe.analysis.direct_lifetime import objects_die_with_frame, strict_direct_connections

    return not strict_direct_connections(ctx.index, ctx.module) \
        and objects_die_with_frame(ctx.index, cls)


def _one_shot(ctx: FileContext, func: FunctionInfo, site: AcquireSite) -> bool:
    """A checkout (a direct connection, a pool's checkout, a SQLAlchemy connection
    or session) taken once, outside any loop, in code that runs once per process
    (see the rule's "Tests, one-shot code and processes"): the process exit frees
    it, and one checkout exhausts no pool.

    A synchronous driver's direct connection (`refcount_closes`: no pool, async
    drivers excluded) counts too when it is opened as `with psycopg2.connect() as
    conn:` (whose exit only ends the transaction) or inside a loop where nothing but
    the local holds it (`direct_lifetime.dies_with_frame`: the next turn's connection
    replaces it and CPython closes the old one), unless the project asks for
    `direct-connections = "strict"` (see the rule's "Direct connections")."""
    kind = site.conn.kind
    direct = kind.direct and kind.refcount_closes
    if site.in_with and not direct:
        return False
    parents = parent_map(func.node)
    in_loop = False
    node: cst.CSTNode | None = site.call
    while node is not None and node is not func.node:
        if isinstance(node, cst.While) and connect_retry(node):
            pass  # waits for the database to come up, once: no repeated checkout
        elif isinstance(node, (cst.For, cst.While, cst.CompFor)):
            if not direct:
                return False
            in_loop = True
        node = parents.get(id(node))
    if not is_cli_entry(ctx.index, func):
        return False
    if not (site.in_with or in_loop):
        return True
    from poolsafe.analysis.direct_lifetime import dies_with_frame, strict_direct_connections

    if strict_direct_connections(ctx.index, ctx.module):
        return False
    return not in_loop or (bool(site.var) and dies_with_frame(ctx.index, func, site.call,
                                                               site.var, handlers=False))


def _one_shot_factory(ctx: FileContext, func: FunctionInfo, site: AcquireSite) -> bool:
    """A factory (`def new_connection(): conn = psycopg2.connect(...);
    conn.set_session(...); return conn`) whose only gap is an exception before it
    returns the checkout, taken outside any loop, and whose every call is in
    one-shot code (`finite_runs.runs_in_one_run`: a script's `__main__` path, a
    command, what only they call once): the exception ends that run's work with
    the checkout, and the process exit frees it, as for `_one_shot`."""
    if site.in_with or not any(
            isinstance(n, cst.Return) and isinstance(n.value, cst.Name)
            and n.value.value == site.var for n in iter_nodes(func.node.body)):
        return False
    parents = parent_map(func.node)
    node: cst.CSTNode | None = site.call
    while node is not None and node is not func.node:
        if isinstance(node, (cst.For, cst.While, cst.CompFor)):
            return False
        node = parents.get(id(node))
    return runs_in_one_run(ctx.index, func, top_level=True)


#: why `poolsafe fix` leaves a peewee `db.connect()`
_PEEWEE_BY_HAND = ("a peewee connect(): wrap the work in `with db.connection_context():` "
                   "(or close it in a teardown handler) by hand")


#: why `poolsafe fix` leaves a checkout that `__enter__` keeps and then may raise
_INIT_BY_HAND = ("the session is kept on `self` by `__init__` and the object is dropped "
                 "by its callers: give the class a `close()` and call it, by hand")
_ENTER_BY_HAND = ("the checkout is kept on `self` by `__enter__`: give it back in an "
                  "`except` that re-raises, by hand")


#: why `poolsafe fix` leaves a session drawn from an async generator
_ANEXT_BY_HAND = ("the session comes from an async generator's `__anext__()`: no `async with` "
                  "can take its place; close it in a `finally` (`await session.close()`) or "
                  "close the generator (`await gen.aclose()`), by hand")


_HELPER_BY_HAND = ("the checkout and its give-back are helper methods: move the give-back "
                   "call into a `finally` by hand")
_CARRIER_BY_HAND = ("the name holds a cursor of the connection the helper opened, and the "
                    "helper may also be called where the cursor is closed another way: add "
                    "`<cursor>.connection.close()` in a `finally` by hand")
_POOL_CARRIER_BY_HAND = ("the name holds a cursor of the connection the helper checked out "
                         "of its pool, and the helper may also be called where the cursor "
                         "is given back another way: add `pool.release(<cursor>.connection)` "
                         "(`putconn` for psycopg2) in a `finally` by hand")
_CONDITIONAL_BY_HAND = ("the checkout is one branch of a conditional expression, and the other "
                        "branch's value may need another release (or none): add the release "
                        "for each branch in a `finally` by hand")
_INLINE_BY_HAND = ("the session has no name: bind it in a `with` block around the statements "
                   "that use it, by hand")
_BOUND_BY_HAND = ("a session is bound to the connection: close the connection after the "
                  "session's last use, by hand")


def _bound_connections(ctx: FileContext, func: FunctionInfo) -> set[str]:
    """The local connections a session of `func` is bound to (`Session(bind=conn)`)."""
    from poolsafe.analysis.resources import FunctionResources

    return set(FunctionResources(ctx.index, func).bound_sessions.values())


_UNNAMED_CHECKOUT_BY_HAND = ("the connection has no name: bind it to a name given back in a "
                             "`finally` (or a `with` block) around its use, by hand")


def _in_conditional(call: cst.Call, parents: dict[int, cst.CSTNode]) -> bool:
    """`pool.getconn() if shared else psycopg2.connect(dsn)` (also awaited)."""
    parent = parents.get(id(call))
    if isinstance(parent, cst.Await):
        parent = parents.get(id(parent))
    return isinstance(parent, cst.IfExp)


def _is_peewee_connect(ctx: FileContext, node: object) -> bool:
    """A finding of `_peewee_gaps` (`db.connect()`, or a call of the project's wrapper)."""
    if not isinstance(node, cst.Call):
        return False
    from poolsafe.analysis.peewee_connect import peewee_connect_gaps

    return any(gap.call is node for gap in peewee_connect_gaps(ctx.index, ctx.module))


def _close_behind_connected_check(func: FunctionInfo, var: str) -> bool:
    """`if conn.is_connected(): conn.close()` somewhere in the function."""
    if "is_connected" not in func.module.source:
        return False  # (a substring test before a walk of the function)
    for node in iter_nodes(func.node.body):
        if type(node) is not cst.If:  # exact type: `isinstance` on an ABC, per node
            continue
        assert isinstance(node, cst.If)
        test = node.test
        if (isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute)
                and test.func.attr.value == "is_connected"
                and isinstance(test.func.value, cst.Name) and test.func.value.value == var):
            for call in iter_calls(node.body):
                if (isinstance(call.func, cst.Attribute) and call.func.attr.value == "close"
                        and isinstance(call.func.value, cst.Name)
                        and call.func.value.value == var):
                    return True
    return False


def _guarded_closes(func: FunctionInfo, var: str) -> list[cst.If]:
    """The `if var.is_connected(): ... var.close()` statements (no `else`) directly in a
    `finally`: the only release, skipped for a connection that died."""
    found: list[cst.If] = []
    for node in func.tries:  # (the `try` statements `iter_nodes(func.node.body)` meets)
        if not isinstance(node, cst.Try) or node.finalbody is None:
            continue
        for stmt in node.finalbody.body.body:
            if not (isinstance(stmt, cst.If) and stmt.orelse is None):
                continue
            test = stmt.test
            if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Attribute)
                    and test.func.attr.value == "is_connected" and not test.args
                    and isinstance(test.func.value, cst.Name)
                    and test.func.value.value == var):
                continue
            if any(isinstance(line, cst.SimpleStatementLine) and any(
                    isinstance(small, cst.Expr) and isinstance(small.value, cst.Call)
                    and isinstance(small.value.func, cst.Attribute)
                    and small.value.func.attr.value == "close"
                    and isinstance(small.value.func.value, cst.Name)
                    and small.value.func.value.value == var for small in line.body)
                    for line in stmt.body.body):
                found.append(stmt)
    return found


def _await_closes(code: str, func: FunctionInfo, var: str) -> FixOutcome:
    """`conn.close()` on its own line, where `close()` is a coroutine function (asyncpg):
    await it where it stands. The code meant to close there; now it does (a path that
    never reaches such a close is still reported after the fix)."""
    plan = FixPlan(code, f"await `{var}.close()`")
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call) \
                and not node.value.args and isinstance(node.value.func, cst.Attribute) \
                and node.value.func.attr.value == "close" \
                and isinstance(node.value.func.value, cst.Name) \
                and node.value.func.value.value == var:
            plan.replace(node, node.with_changes(value=cst.Await(expression=node.value)))
    return plan


def _close_when_disconnected(code: str, var: str, guarded: list[cst.If]) -> FixOutcome:
    """Give a pooled connection that died back too: an `else:` that closes it and
    ignores what a dead connection's close() raises (the original code did nothing on
    that path, so no new error reaches the caller; mysql.connector's pool reconnects
    it when it hands it out again)."""
    plan = FixPlan(code, f"close `{var}` when it is no longer connected too")
    close = cst.SimpleStatementLine(body=[cst.Expr(cst.Call(
        func=cst.Attribute(value=cst.Name(var), attr=cst.Name("close"))))])
    ignore = cst.ExceptHandler(
        body=cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Pass()])]),
        type=cst.Name("Exception"))
    orelse = cst.Else(body=cst.IndentedBlock(body=[cst.Try(
        body=cst.IndentedBlock(body=[close]), handlers=[ignore])]))
    for stmt in guarded:
        plan.replace(stmt, stmt.with_changes(orelse=orelse))
    return plan


#: what a session's method returns that holds no ORM object
_PLAIN_RESULT_METHODS = frozenset({"count", "scalar", "scalar_one", "scalar_one_or_none",
                                   "delete", "update", "commit", "flush", "rollback",
                                   "close", "exists"})


def session_objects_returned(func: FunctionInfo, var: str,
                             parents: dict[int, cst.CSTNode]) -> str | None:
    """The first `return` (as code) of `func` whose value may hold ORM objects of the
    session `var`: a query's rows or objects, or an object the session was given
    (`add()`, `merge()`, `refresh()`) or loaded; None when every return gives plain
    values (a count, a comparison, a constant, an attribute read before the close),
    or comes after the function's own `var.close()` (the original detaches them too)."""
    derived = {var}
    for _ in range(2):  # (names derived from names derived from the session)
        for node in iter_nodes(func.node.body):
            if isinstance(node, cst.Assign) and _carries(node.value, derived):
                for t in node.targets:
                    derived |= {n.value for n in iter_nodes(t.target)
                                if isinstance(n, cst.Name)}
            elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                    and isinstance(node.func.value, cst.Name) \
                    and node.func.value.value == var \
                    and node.func.attr.value in ("add", "add_all", "merge", "refresh"):
                for a in node.args:
                    derived |= {n.value for n in iter_nodes(a.value)
                                if isinstance(n, cst.Name)}
    derived.discard(var)
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Return) and node.value is not None \
                and _carries(node.value, derived | {var}) \
                and not _closed_before(node, var, parents):
            return func.module.tree.code_for_node(node).strip()
    return None


def _closed_before(node: cst.CSTNode, var: str, parents: dict[int, cst.CSTNode]) -> bool:
    """A statement `var.close()` runs before `node` in its block or an enclosing one
    (`db.close()` then `return user`): the objects are detached there already."""
    while (parent := parents.get(id(node))) is not None \
            and not isinstance(parent, (cst.FunctionDef, cst.Lambda)):
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            for stmt in parent.body:
                if stmt is node:
                    break
                if isinstance(stmt, cst.SimpleStatementLine) and any(
                        isinstance(small, cst.Expr) and _is_close_of(small.value, var)
                        for small in stmt.body):
                    return True
        node = parent
    return False


def _carries(expr: cst.BaseExpression, names: set[str]) -> bool:
    """`expr` may evaluate to (or contain) one of `names` or what a call on one returns,
    beyond plain values."""
    if isinstance(expr, cst.Name):
        return expr.value in names
    if isinstance(expr, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation,
                         cst.SimpleString, cst.Integer, cst.Float, cst.FormattedString,
                         cst.ConcatenatedString, cst.BinaryOperation)):
        return False
    if isinstance(expr, cst.Attribute):
        return False  # read (and loaded) before the close
    if isinstance(expr, cst.Await):
        return _carries(expr.expression, names)
    if isinstance(expr, cst.Call):
        f = expr.func
        if isinstance(f, cst.Name) and f.value in ("len", "bool", "int", "str", "float"):
            return False
        if _textual_statement(expr):
            return False  # rows of a textual SELECT: plain values, no ORM object
        if isinstance(f, cst.Attribute) and f.attr.value in _PLAIN_RESULT_METHODS:
            return False
        return any(isinstance(n, cst.Name) and n.value in names
                   for n in iter_nodes(expr))
    return any(isinstance(n, cst.Name) and n.value in names for n in iter_nodes(expr))


def _textual_statement(expr: cst.Call) -> bool:
    """`db.execute(text("SELECT ..."))...` / `db.execute("SELECT ...")`: a statement
    written as SQL text, whose rows hold plain values."""
    for node in iter_nodes(expr):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in ("execute", "exec_driver_sql") and node.args:
            first = node.args[0].value
            if isinstance(first, (cst.SimpleString, cst.ConcatenatedString,
                                  cst.FormattedString)):
                return True
            if isinstance(first, cst.Call) and dotted_name(first.func) in (
                    "text", "sqlalchemy.text", "sa.text"):
                return True
    return False


def _is_close_of(expr: cst.BaseExpression, var: str) -> bool:
    call, _ = strip_await(expr)
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
        and isinstance(call.func.value, cst.Name) and call.func.value.value == var \
        and call.func.attr.value == "close"


def _committing_release(ctx: FileContext, func: FunctionInfo,
                        site: AcquireSite) -> tuple[str, str] | None:
    """The project release function that gives `site`'s connection back, written by the
    user (`release_conn(conn)`) or picked for the fix (the acquire wrapper's sibling),
    when its body also commits, runs a statement or may raise (`release_work`): its
    name and what it does."""
    wrappers: list[FunctionInfo] = []
    for call in iter_calls(func.node.body):
        if released_name(call) != site.var \
                and site.var not in ctx.index.released_by_call(call, func):
            continue
        ref = ctx.index.evaluate(call.func, ctx.module, func)
        if isinstance(ref, FunctionRef):
            wrappers.append(ref.func)
    if site.conn.via:
        picked = ctx.index.release_wrapper_for(site.conn.via)
        if picked is not None:
            wrappers.append(picked)
    for w in wrappers:
        work = release_work(w, ctx.index)
        if work is not None:
            return w.name, work
    return None
