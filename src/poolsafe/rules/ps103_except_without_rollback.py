"""PS103 except-without-rollback."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from poolsafe.analysis.cleanup_reraise import REUSED_BEFORE_RERAISE
from poolsafe.analysis.connection_lost import connection_lost_reason
from poolsafe.analysis.cstutil import (
    argument_for,
    body_statements,
    bound_names,
    call_name,
    children,
    dotted_name,
    iter_calls,
    iter_nodes,
    names_in,
    positional_args,
    statements_after,
    string_value,
)
from poolsafe.analysis.fastapi_depends import depends_of
from poolsafe.analysis.flow import exception_types, is_db_error_type
from poolsafe.analysis.index import param_annotation
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import request_handler
from poolsafe.analysis.psycopg_transaction_block import psycopg_transaction_block
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.rolling_commit import session_subclass_override
from poolsafe.analysis.session_state import (
    SessionState,
    acquire_history,
    session_state_statements,
    within,
)
from poolsafe.analysis.values import Connection, FunctionRef, Instance, LibraryObject
from poolsafe.analysis.witness import swallow_path
from poolsafe.core.model import RawFinding
from poolsafe.fix.fixers.callers import FunctionUse, uses_of_function
from poolsafe.fix.fixers.edits import ancestors, enclosing_function, parent_map, parse_line
from poolsafe.fix.fixers.sql_savepoint import SQL_SAVEPOINT_KINDS, sql_savepoint_plan
from poolsafe.fix.plan.api import FixOutcome, FixPlan, Unfixable
from poolsafe.knowledge import (
    BROAD_EXCEPTIONS,
    CONNECTION_KINDS,
    LOST_CONNECTION_HANDLERS,
    ConnectionKind,
)
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import aio_libs
from poolsafe.rules.cases.ps103 import INVALID, VALID


class ExceptWithoutRollback(Rule):
    """
    ## What it does
    Flags an `except` that can catch a database error raised by work on a
    connection or session, and swallows it without `rollback()` (on the
    connection, or on its transaction object: `with conn.begin() as tx:` ...
    `tx.rollback()`; or `ROLLBACK TO SAVEPOINT`), re-raising, or releasing the connection, when
    the connection is then used again, committed by a transaction block, or
    handed back to a caller that owns it. A `scoped_session` registry counts as
    the session it proxies to, and so does the session a module draws from it at
    its top level (`session = Session()`, shared by every function that imports
    it). A local name bound only by calls of project functions whose return
    annotation names a session or connection type (`db_session =
    session_from_config(path)` with `def session_from_config(path) -> Session`,
    returning what a registry's factory makes) holds one, as an annotated parameter
    does. A parameter with no annotation and no default counts as the module's
    long-lived connection or session when every call of the function in the
    project passes that module-level name for it (`def chat_ids(conn)` called
    only as `chat_ids(connection)`, `connection = psycopg2.connect(...)` at
    module level); a caller that passes a connection of its own, or a function
    nobody calls, leaves the parameter untyped. A cursor made at a module's top
    level from its long-lived connection (`cur = conn.cursor()` under `conn =
    psycopg2.connect(...)`), used there or imported by another module (`from db
    import cur` in a bot's or a task's module), is that connection: a swallowed
    failure of `cur.execute(...)` leaves it in the aborted transaction for every
    later call (the advice names `conn` where the function can, else
    `cur.connection`). A module-level connection that its own module's top level
    puts in autocommit (`conn.autocommit = True`, `conn.set_session(autocommit=True)`,
    `conn.set_autocommit(True)`, `connect(..., autocommit=True)`) is in autocommit
    wherever it is used, by its name, imported or through such a cursor; one
    switched only inside a function of that module is not known to be. A
    connection opened in a class body (`conn = psycopg2.connect(...)` under
    `class Database:`) is opened once, at import, and shared by every instance:
    `db.conn` on any `Database()` means it, and so do the class's methods that
    hand out its cursor (`cur = db.cursor_for()` returning `self.conn.cursor()`),
    commit it or roll it back.
    A connection that only a local object holds, opened by its class's `__init__`
    (`db = Database()` with `self.conn = psycopg2.connect(...)` there), dies with
    the object when the function returns: a swallowed error on `db.conn` is not
    handed back to a caller, unless the object leaves the function (returned,
    stored, passed to a call, read by a nested function). So too a session such an
    `__init__` makes unless it is handed one (`def __init__(self, session=None)`,
    `self.session = session` if given, else `Session(self.engine)`), built without
    one (`db = Database()`; a class-body `session = None` is no shared session), in a
    one-shot check that queries with it in a `try`, logs the error and drops the
    object, also when the name is then reused for another object (`db =
    client.edxapp` after the `try`). It stays reported when the construction
    passes a session (by keyword or position), when the name may hold another
    object in the `try` (bound before it, or after it inside a loop around it), when
    the object is used after the handler, when `__init__` hands `self` out
    (`REGISTRY.append(self)`), and when a method the function calls on it (or one
    that method calls on `self`) hands out `self` or the session (`return
    self.session`), or is no project method (a library base's, not known).
    A project function or method that works on a module-level session the caller
    also uses (a Flask-SQLAlchemy model's `save()` whose body does
    `db.session.add(self)` and `db.session.commit()`, or a helper `store(obj)` doing
    the same) works on that session for its caller: `try: item.save()` then `except
    IntegrityError: flash(...)` swallows a failure of `db.session`, and a later
    `db.session.commit()` (or another such call) reuses it. The `db` object may be
    an instance of a project subclass of Flask-SQLAlchemy's `SQLAlchemy` that
    overrides only an engine option hook (`apply_pool_defaults`, `apply_driver_hacks`,
    `_apply_driver_defaults`: the documented `pool_pre_ping` workaround): its
    `db.session` is the extension's, for this rule and every other. A helper that ends the
    transaction itself (`rollback()`, `remove()` or `close()` anywhere in it), or that
    works only on its own parameters or locals (its own `with Session(engine)`), does not.
    A project exception that the project raises only inside handlers of database
    errors that end nothing (`except IntegrityError: raise SlugTaken`) is that
    database error under another name: `except SlugTaken: pass` swallows it. A
    nested function called in the `try` works on the enclosing function's
    connection or session it reads (`async def attempt(): await save(code,
    session)`).
    A request handler's caller is the web framework, which ends the request's
    session (Flask teardown, a FastAPI dependency): a route (a flask-sock WebSocket
    route `@sock.route(...)` too: a Flask view, torn down when it returns; also one of a
    project subclass of `Blueprint` or `APIRouter`, or one a project function returns:
    `bp = make_blueprint(...)` where it returns `Blueprint(...)`), or the HTTP-method
    method of a class-based view
    (Flask's `MethodView` and Flask-RESTful's `Resource`, Django's `View`), or a
    public method of a subclass of a project `Blueprint` subclass that routes its own
    instance's methods (`self.add_url_rule(url, name, view_func=getattr(self, name))`
    in a loop of its constructor; the routing class's own methods are not routed), that
    swallows an error on the request's session is not reported for handing it
    back. That holds only for a session a request owns: a session made once at a
    module's top level (`Session = sessionmaker(engine)` then `session = Session()`;
    no `scoped_session` registry, no Flask-SQLAlchemy `db.session`), or a connection
    opened there, is shared by every request of the process, and no framework ends
    it when a request ends. A route (or a function whose every call is a route's
    last act) that swallows a failure on it, itself or through a project helper
    that works on it (a model's `save_to_db()` doing `session.add(self)` and
    `session.commit()`), also when the route does not import it, hands the failed
    transaction to every later request, and is reported. A request-end hook of the
    project that ends it (a function under `@app.teardown_appcontext`,
    `teardown_request` or `after_request`, or registered with them, calling
    `session.close()`, `rollback()` or `remove()`) makes it the request's session
    again. Where the route does not name it, no fix is offered: the rollback needs
    the session imported. Nor is a command-line command (a click/typer command, a command on a
    Flask app's `app.cli` or on a group made there with `@app.cli.group()`, also
    when they are defined inside a function such as `register(app)` that the
    project calls only with its Flask app, a cappa command
    class's `__call__`, an argparse
    subcommand's handler, a Django management command's `handle()`): its
    framework ends the process when it
    returns. (A function merely called from `main()` still is: `main()` may go on.)
    Nor is a handler that returns at once, out of a `session.begin()` block whose
    session a `with` of the same function closes on the way out (`with Session()
    as s, s.begin():`, or `with s.begin():` inside `with Session() as s:`), when
    its `try` only executed statements (`query`, `execute`, `get`, ...), nothing
    in the block queues objects, and the handler does not touch the session: the
    exit's commit meets a transaction with no pending flush (PostgreSQL ends the
    aborted one with a rollback) and the session is closed right after. An object
    queued in the block (`s.add(...)`, autoflushed by the read) keeps it reported:
    the commit raises instead of the handler's answer.

    A handler that calls `session.flush()` and then `session.rollback()` after the
    `try`'s `commit()` (or `flush()`) of that session failed is not reported: the
    failed flush left nothing pending, so the handler's flush finds nothing to send
    and the rollback follows. If the handler queues or runs something on the session
    before its rollback (`add()`, `execute()`), that runs in the failed transaction
    and is still reported.

    Handlers that only catch non-database errors (`KeyError`, `ValueError`, and
    the errors a client raises while reading a result that the database returned
    fine: SQLAlchemy's `NoResultFound`/`MultipleResultsFound`, Django's
    `DoesNotExist`; and `NoSuchTableError`, which SQLAlchemy raises when
    reflection's catalog queries found no such table, not when a statement failed;
    and SQLAlchemy's request errors, raised before any statement reaches the server:
    `InvalidRequestError` from `refresh()` of an object not in the session,
    `MissingGreenlet`, `DetachedInstanceError`, `ObjectDeletedError`, unless the
    `try` also adds, deletes, flushes or commits objects, since a flush that fails
    leaves the session pending rollback whatever raised it) are not flagged, nor is
    work inside `with session.begin():`,
    `with conn.transaction():` or `with conn:` (they roll back themselves), nor
    autocommit connections (also `self.conn` that a method of the class puts in
    autocommit: `self.conn.autocommit = True` in `connect()`, or acquires there in
    autocommit: `self.conn = await AsyncConnection.connect(dsn, autocommit=True)`,
    a LISTEN connection), nor asyncpg and
    sqlite3 connections outside a transaction (a failed statement does not abort
    anything there). Inside an asyncpg transaction block (`async with
    conn.transaction():`) a failed statement does abort the block's transaction: an
    `except` there that swallows the error and goes on (the next item of a loop)
    is reported; asyncpg has no `rollback()`, and the advice is a savepoint per
    item (a nested `async with conn.transaction():`, which `fix` leaves to you).
    psycopg 3 refuses an explicit `rollback()` inside `conn.transaction()`
    (`ProgrammingError`), also where the block is opened by the project context
    manager that yields the connection (`async with transaction() as conn:`): there
    the finding advises a savepoint (a nested `conn.transaction()`), and `fix`
    offers no rollback.
    A handler after which nothing runs on the connection before the block ends
    (`return 0`) is not: the block's exit sends COMMIT, which PostgreSQL answers
    with ROLLBACK for the failed transaction (the work before it is undone too),
    as for psycopg 3's `with conn.transaction():`.
    The same holds for aiopg.sa, autocommit until `conn.begin()`: inside `async with
    conn.begin():` or after `trans = await conn.begin()` (up to the statement that
    commits or rolls back), with `conn.begin_nested()` as the savepoint. aiomysql.sa
    stays quiet there, as SQLAlchemy on MySQL does: the failed statement alone is undone.
    Both are reported, on any server, when the swallowed error leaves `trans = await
    conn.begin()` open up to the end of `async with engine.acquire() as conn` (no
    `trans.commit()`, `trans.rollback()` or `conn.close()` after the handler, or the
    handler returns): their `Engine.release` refuses a connection in a transaction
    (`InvalidRequestError`), so the connection never returns to the pool and its
    transaction keeps its locks. No automatic fix (a rollback would also stop the error
    the release raises).
    SQLAlchemy 1.x's legacy `Connection` is not reported when the function executes a
    plain SQL string on it (`conn.execute("CREATE DATABASE x")`, refused since 2.0, so
    the code is 1.x's) and opens no `begin()` there: with no transaction of its own it
    runs each statement in autocommit mode and rolls a failed one back itself before
    the error reaches the handler. With `conn.begin()` in the function, with only
    `text()` statements (2.0's autobegun connection stays aborted), or on a DBAPI
    connection executing strings, it is reported.
    Only PostgreSQL (and its kin: Redshift, CockroachDB, DuckDB)
    aborts the whole transaction on a failed statement; MySQL, SQL Server, Oracle
    and SQLite undo the one statement, and Hive, Trino, BigQuery, Snowflake or
    ClickHouse run no transaction to abort. So a SQLAlchemy connection in a
    module that imports the driver or dialect of such a database, and none of
    PostgreSQL's, is not reported (a Hive reflection dialect, a SQL Server
    source); nor is one in a module that imports no driver at all (a helper
    handed a `Connection`) when the other modules of its package import only
    such a database's (a Databricks connector package). SingleStore speaks
    MySQL's protocol and counts as MySQL. A connection attribute that the class's
    methods open with different drivers (`self.conn = pymysql.connect(...)` in one,
    `self.conn = psycopg2.connect(...)` in another) is, in a method that assigns it
    itself, the connection of that method's own assignment before the use (its last
    one), not the class's last assignment. A SQLAlchemy `Session` is judged by
    what its `try` does: a failed flush or commit leaves it pending rollback
    whatever the server, so a `try` that adds, deletes, flushes or commits
    objects is reported on any database; a `try` whose only work on the session
    is to execute statements (`session.execute(...)`, `scalars`, `scalar`, and the
    reads `session.query(...)` and `session.get(...)`), in a
    module whose imports name only such a database (a storage class importing
    `sqlalchemy.dialects.mysql` or `sqlite` for its upserts), and in a function
    that queues no objects on the session (an `add()` before the `try` would be
    flushed by the execute's autoflush), is not reported: only the failed
    statement is undone and the session's transaction stays usable. A module
    that imports no driver or dialect is also judged by the engines it builds:
    when every `create_engine(...)` in it is given a literal URL of such a
    database (`create_engine(f"sqlite:///{path}")`), it is that database; one URL
    read from elsewhere (`os.environ[...]`) says nothing, and a literal
    PostgreSQL URL keeps it reported. A module that imports no driver says its
    database in two more ways: a SQLAlchemy dialect class of its own naming itself
    (`class DB2Dialect(DefaultDialect): name = "db2"`, over a JDBC or ODBC bridge:
    DB2, Informix, GBase, MS Access, Sybase, Firebird, ClickHouse, ... ; a dialect
    named `"postgresql"` keeps it reported), and the module's own name, split at
    underscores, when it names one such database and no PostgreSQL kin
    (`adapters/clickhouse.py`, `mysql_adapter.py`, and a module whose own name
    names none by its package's name, `volcengine_mysql/base.py`; not
    `mysql_to_postgres.py`, nor `postgres_store/base.py`;
    `access`, `oracle` and a few other words too common in other senses are not
    read from a module's name). PostgreSQL's modules, and modules that name
    no database at all, stay reported, but for one case: a session the function is
    handed (a parameter) in a project whose every engine is SQLite's, on which
    the `try` body and every project function it hands the session on to (three
    deep) only execute statements (`lookup(db_session)` -> `find_actor(db_session)`
    -> `db_session.execute(select(...))`), in a function that uses the session
    nowhere before the `try` and not in a loop; one that reaches an `add()` or
    `flush()` that way (`fetch_actor()` -> `save_actor()`), or that queued a row
    before the `try`, stays reported. The
    code's own test of the dialect counts too:
    a `try` in the branch of `if conn.dialect.name == "sqlite":` (or `in ("mysql",
    "mariadb")`, also through a local holding the dialect's name,
    `dialect_name = bind.dialect.name`, through a variable named for the kind of
    database, `if db_type == "clickhouse":`, and as one operand of an `and`), or in
    a function that every caller calls only from such a
    branch, runs where a failed statement aborts nothing else: it is not reported
    on a SQLAlchemy connection, nor on a session whose `try` body only executes
    statements (`session.execute(...)`; a body that adds or flushes objects still
    is). A rollback spelt through `getattr(conn, "rollback")()` is a rollback. A
    connection released afterwards (`putconn` and SQLAlchemy `close()` roll back)
    is not flagged either, nor one the handler invalidates (SQLAlchemy's
    `conn.invalidate()` discards the connection with its failed transaction), nor
    a scoped session the handler removes (`db_session.remove()` closes the thread's
    session). Such an end in a `try` of its own (`try: db_session.remove()` /
    `except Exception: log(...)`) ends the transaction on both paths: a rollback,
    close or `remove()` raises only when the connection broke, and SQLAlchemy then
    invalidates it.
    A handler that re-raises swallows nothing
    (`except BaseException as e: raise e`, or `raise JobFailed(...)`), also when a
    `finally` then commits or closes on the way out: the error still reaches the
    caller; handing the session to an error hook on the way (`on_error(session, e)`
    as a statement of its own, then the `raise` the handler ends with) is no reuse
    either (a method called on the session there, `session.execute(...)`, still is).
    A handler that uses the connection for a clean-up and then re-raises
    (`except Exception: log(...); await conn.execute("DROP TABLE tmp"); raise`)
    swallows nothing either, but on a database that aborts the transaction on an
    error (PostgreSQL) the clean-up runs in the failed transaction: it fails
    ("current transaction is aborted"; on a SQLAlchemy session whose flush failed,
    `PendingRollbackError`), the clean-up is not done, and that error is the one the
    caller gets (the error caught is only its `__context__`). It is
    reported, saying so, and advising `rollback()` before the clean-up. A best-effort
    clean-up in a `try` of its own whose handler takes its failure (`try: await
    drop(conn)` / `except Exception: log(...)`, then `raise`) changes nothing the
    caller sees, and is not reported; nor is `conn.commit()` before the `raise` on a
    raw psycopg2 or psycopg 3 connection (the server answers COMMIT of an aborted
    transaction with ROLLBACK, and nothing raises). On a SQLAlchemy session that
    commit raises `PendingRollbackError` instead of the error caught, and inside a
    psycopg 3 transaction block (`with conn.transaction():`) psycopg refuses the
    commit with `ProgrammingError`: both are reported.
    Nor is cancelling the statement that failed (psycopg's `conn.cancel()`, which
    asks the server over a connection of its own and runs nothing in the failed
    transaction), before the handler re-raises or closes the connection.
    Nested `try` blocks follow Python's handler order: where an inner handler
    re-raises what it caught (`raise`, `raise e`) and an outer one swallows it, the
    outer handler is reported, not both; where an inner handler catches every
    database error of its body (a bare `except`, `Exception`, or SQLAlchemy's
    `SQLAlchemyError` for a session or connection) and raises nothing, that failure
    never reaches an outer handler, which is judged only by what the inner
    handler's own code can raise (a fallback query on a connection its `with`
    closes): the inner handler alone is reported. Handlers of one `try` follow the
    same order: after `except SQLAlchemyError: session.rollback()` (or the driver's
    base error, `except psycopg2.Error:`), a later `except Exception:` never sees a
    database error of that session or connection and is not reported; after a
    narrower first handler (`except IntegrityError:`) it still is.
    The same holds across a call, for a psycopg2 or psycopg connection: a handler
    whose `try` only calls project functions that swallow their own errors (`def
    run(self, sql): try: self.cursor.execute(sql) except Exception: ...;
    self.connection.rollback(); return -1`: one `try` whose handlers catch every
    error, re-raise nothing and run nothing on the connection but `rollback()` or
    `close()`), a `connect()` written the same way, the connection's `commit()` (a
    failed COMMIT has ended the transaction) and `close()`, and calls that name
    neither the connection nor what holds it (`open(path)`, `log.info(...)`), sees
    no database error while a transaction is open, and is not reported (the
    swallowing method is judged on its own). A statement run in the `try` itself
    (`self.cursor.execute(sql)`), or a method that lets its statement's error
    through, keeps it reported.
    A handler of everything that goes on only where the error is a builtin error no
    driver raises for a failed statement (`if isinstance(e, ValueError) and ...:`,
    pandas' "table already exists", with every other error re-raised, or `if not
    isinstance(e, ValueError): raise` first) swallows no database error; a test that
    also names a database error (`isinstance(e, (ValueError, DataError))`) does not
    narrow it. A context variable that holds a session (`ctx:
    ContextVar[AsyncSession | None]`) is not the session: its `set()`/`reset()` do no
    database work. Neither does one that keeps the
    error (`error = e`) and re-raises it (`if error: raise error`) before the
    connection is used again. Nor does one that ends in a call that never
    returns: `sys.exit(...)`, the builtin `exit(...)` (both raise `SystemExit`),
    Flask's `abort(...)` and its kin in Flask-RESTful, Flask-RESTX, flask-smorest,
    werkzeug and Quart (an `HTTPException`), `os._exit(...)` (the process ends on
    the spot), a project function that raises on every path (a plain, undecorated
    function with no `return` whose body ends in `raise`, such as an
    `raise_api_error(e, msg)` that maps the error to an HTTP one, or ends in one of
    those library calls or in another such helper, up to three deep: a resource's own
    `self.fail(400, msg)` whose last line is Flask-RESTful's `abort(...)`, a
    `conflict(msg)` that calls a helper ending in `raise HTTPException(...)`); one that calls it
    only on some path (`if strict: sys.exit(1)`), or a helper that can return, is
    still reported. A handler that raises a named class (`raise
    HTTPException(400)`) is followed to the first handler of an enclosing `try`
    that names that class: a later handler of the same `try` (`except HTTPException:
    raise` then `except Exception:`) never sees that error, so what the later one
    does is no reuse on this path. A handler that sets a sentinel to a false value (`row =
    None`) is followed to the test of it: `if row is None: return` (or `raise`)
    right after leaves on the path that caught the error, and is not a reuse; a
    test whose branch goes on to use the connection is. Where the handler tests
    `err.connection_invalidated` (SQLAlchemy's pessimistic-disconnect recipe), the
    connection was invalidated and its next use reconnects: using it there is not
    reusing a failed transaction. So too where it compares the error's text with a
    driver's text for a closed or lost connection (`if str(error) != "connection
    already closed": raise`): the path that swallows holds no transaction. A
    session that a project decorator passes in and ends right after the call
    (`@provide_session`: the wrapper opens the session, calls the function with
    `session=...`, then commits and closes) is not handed back to a caller that
    keeps it: the decorator is that caller. So too when the decorator passes it
    first, by position (`result = f(session, *args, **kwargs)` then
    `session.commit()`, `managed_tx_function`-style), from
    a `with session_factory() as session:` whose factory is a parameter's default,
    to a parameter typed as a session; and when a method's decorator calls the
    plain function with `self` first, from its own `with` blocks (`with
    self._create_session() as session, session.begin(): return func(self,
    session, *args)`). The same holds further up, to three calls
    away: a function (or a `@staticmethod`, called as `Service.create(db, ...)`;
    an instance method is not followed) whose every call in the project hands it a
    session that the caller uses no more after the call (closing it aside), in no
    loop, and that
    ends right after: the caller's own `with` (`async with get_db_context() as
    db:`, a project context manager that opens a session and yields it, or the
    session itself), a request handler's parameter a dependency generator fills
    (`db: Session = Depends(get_db)`, or `db: SessionDep` where `SessionDep =
    Annotated[Session, Depends(get_db)]`), an aiogram handler's parameter
    (`@router.message()`) that every project aiogram middleware setting that key
    fills from its own `with` around the handler (`async with session_maker() as
    session: data["session"] = session; return await handler(event, data)`: aiogram
    passes the key to the handler, and the block ends the session when the handler
    returns), a parameter the caller's decorator fills as above, or a parameter of
    the caller that every call of the caller hands on the same way (`route ->
    finish_sync(db) -> save_cursor(db)`). Where the caller
    worked on the session before the call and what ends it commits (a `begin()`
    block, a context manager or dependency whose code commits, a decorator), that
    work meets the failed transaction, and it is reported; so is a caller that
    goes on with the session (a query, a commit), calls the function in a loop, or
    hands it to a worker thread, and a function used as a value elsewhere.
    Likewise a function (a repository method) whose every call in the project is
    a request handler's last act (`return ItemRepository(db).create(name)` in a
    route, also when the route hands it to a worker thread and returns what it
    gives back: `return await loop.run_in_executor(None, create_tag, db, name)`,
    `asyncio.to_thread(...)`, Starlette's `run_in_threadpool(...)`): the framework
    ends the request's session right after, and nothing uses the failed
    transaction. So too a function whose every call is the last act of a function
    of which the same holds, up to three frames up (`return save_token(t)` in a
    service method whose only call is a route's `return Auth.logout(data)`): what it
    gives back goes straight to the framework. So too when the route passes the
    session its dependency made
    (`db: Session = Depends(get_db)`), to the function or to the repository object
    whose method it calls (`UserRepo(db).add(user)`, or `repo = UserRepo(db)` then
    `repo.add(user)`), tests the result at once and leaves
    (`user = find_token(db, token)` then `if not user: raise HTTPException(401)`,
    or `if user is None: return ...`; or spelt the other way round, with the falsy
    path leaving: `if user: ... else: raise HTTPException(400)`, or `if user:
    return ...` followed by a `return`/`raise`; log lines that do no database work,
    `log.info(...)` or `print(...)` with no call in their arguments, may come
    between the call and its test), and every `except` of the function gives
    back nothing or a falsy literal (`return None`, `return False`, `return []`,
    or no `return` at all when the `try` ends the function):
    the swallowed failure takes the route out before it touches the session
    again. A call from a test module (a test helper that makes a user through
    the repository) serves no request and is not counted; at least one call
    outside the tests must be a route's. An `except` that gives back a truthy
    value, a route that tests something else, or a module's long-lived session
    (which no request ends) is reported. Flask-SQLAlchemy's form of it: a method
    (a model mixin's `delete()`) whose failure on the extension's `db.session`
    gives back a falsy value, and
    every call of a method of that name in the project is in a Flask request
    handler that returns it or tests it at once and leaves (`if not
    item.delete(): return ..., 500`, or `if item.save(): return ...` followed by
    `return ..., 500`); the extension removes the session when the
    request ends. The calls are found by name (the model instance from
    `Model.query.get(...)` is not resolved): a call of that name outside such a
    handler, or a handler that goes on with `db.session`, keeps it reported.
    So too a plain function (a readiness probe's `SELECT 1` under `except Exception:
    return False`) whose every call is in a Flask request handler that does no
    database work after it: no session, query or model, no object the handler had
    before the call (a model loaded earlier lazy-loads through the session), only
    library calls and project functions that touch none of these. Every public
    method of a Flask-Classful `FlaskView` is a request handler (`register(app)`
    routes them all, the `before_*`/`after_*` hooks and `excluded_methods` aside).
    The same holds for a helper whose every call is
    the only use of a session a `with` block opened, as its last statement
    (`with self.Session() as s: return table_exists(s, name)`): the block's exit
    closes the session right after. A block that did work on the session before
    the call is reported: its commit meets the failed transaction. A handler
    that goes on with the session after the call is a reuse, and is reported.
    A project subclass of `Session` whose `commit()` rolls back a failed commit
    before re-raising it (`try: super().commit()` / `except Exception:
    self.rollback(); raise`) leaves nothing pending when the commit fails: where
    every session the project makes is of such a class (`sessionmaker(...,
    class_=GuardedSession)`; a plain `sessionmaker()` anywhere in the project voids
    it), a `try` whose only work on the session is to queue objects and commit them
    (`add`, `add_all`, `delete`, `expunge`, `commit`, and a `refresh()` after the
    commit in the same block, which reloads what the commit wrote), itself or
    through project helpers that do only that with it, is not reported.
    Sessions are judged one by one: a plain `Session(bind=...)` made in a function
    (an Alembic migration's `Session(bind=op.get_bind())`) is followed to the project
    functions it is handed to, and a `try` on it there is judged as usual; only a
    plain session that cannot be followed (kept at module level, returned, stored)
    voids the fact. A `try` that also executes a statement, queries, refreshes
    before the commit or flushes on its own is reported, also through a function
    nested in the one with the `try` that uses the session from its scope: that
    statement can fail outside the commit. That is the policy for reads too: a
    failed read (a statement timeout, a lost connection, a value the column type
    rejects: `DataError`) aborts a PostgreSQL transaction as a failed write does,
    so a project helper that reads (`query(...).first()`) before its guarded commit,
    under a handler that catches such errors (`except Exception`, `except
    SQLAlchemyError`) and goes on with the session (the next item of a loop, a
    later query), is reported; it is not when the session is not used again (the
    handler returns to a route's framework, or to a caller that ends it, as
    above). A handler that stores another connection on the attribute it
    used (`self.conn = engine.connect()`) and retries there does not use the
    failed transaction: the attribute now names a new connection (the old one
    goes back to the pool, rolled back, when it is collected). A session handed to a
    helper that only reads its `.bind` (`with db.bind.connect().execution_options(
    isolation_level="AUTOCOMMIT") as own:`) is not worked on by it: the helper's
    statements run on a connection of their own, not in the session's transaction.
    A `try` that only checks a connection out (`session.connection()`,
    `conn.ping()`), as a reconnect loop does, leaves nothing to roll back when it
    fails: the connect failed and no statement began a transaction on the server.
    Nor does one whose only work is `fetchall()` (`fetchone()`, `fetchmany()`) on a
    plain `conn.cursor()`: the rows came with `execute()`, and the driver raises its
    "no results to fetch" `ProgrammingError` itself; a named (server-side) cursor,
    `cursor(name=...)` or `cursor("name")`, fetches from the server and counts.
    Paired conditions: a swallowing `try` inside `if name is None:` (`if not
    name:`, or the `else` of `if name is not None:`), where nothing else in that
    branch binds `name` and the `try` body binds it only after its last database
    statement (`row = cur.fetchone()`, then `resolved = row[0]`), leaves `name` None
    on every path where the statement failed; a later `if name is None: ... else:`
    (`if name is not None:`, `if name:`) never takes the failed transaction into
    the branch where `name` is set, so a reuse written there is not one. A binding
    of `name` before the statement (in the `try` or in the branch), or a later
    test on another name, keeps it reported.

    Nor is a handler on Flask-SQLAlchemy's `db.session` that ends a `with
    app.app_context():` block: its `try` is the block's last statement (directly in
    it, no loop between), and neither the handler nor the `try`'s `else`/`finally`
    names the session or calls a project function (which may use it; library calls
    such as logging are fine). Leaving the context right after the handler tears
    down the session (Flask-SQLAlchemy removes it with the context: rolled back, its
    connection returned), so nothing meets the failed transaction. A statement after
    the `try` in the block, or a handler that commits on the session itself or
    through a helper, keeps it reported.

    Nor is a handler inside `with session:` on a SQLAlchemy session the function was
    handed (a parameter): `Session.__exit__` closes the session, rolling the failed
    transaction back, so a handler that leaves the block (`except Exception: return
    None`) hands the caller a closed session that starts afresh. A statement on the
    session after the handler, still inside the block, keeps it reported.

    Nor is a plain helper that takes the connection as a parameter and whose every
    `except` gives back a falsy value or raises, when every call of it in the project
    (tests aside) is `if not helper(conn): raise ...` (outside any `try` of the
    caller) on a connection the caller opened itself and neither returns nor stores:
    the failure leaves the caller with its connection at once, and nothing runs
    another statement in the failed transaction. A caller that logs and goes on, or
    one handed the connection by its own caller, keeps it reported.

    ## Decisions on look-alikes that stay reported
    Each of these was judged on public code (round 33, large74b) and is kept, for
    the reason given:
    - A helper that returns the connection it left in the failed transaction
      (`return conn` after the swallowed error) while every caller only closes it:
      closing ends the transaction on the server, so today's callers lose nothing,
      but the callers of a returned connection are not followed (only those of a
      session or connection handed in as a parameter are, above); reported as a
      known false alarm of this shape, fixed by the `rollback()` the advice asks.
    - A service's instance method (`CommentService().validate_params(db, ...)`)
      whose route returns its value at once, or whose callers raise on the None it
      returns: the request ends and its dependency closes the session, but an
      instance's methods are not followed to their callers (an instance may keep
      the session on itself); a `@staticmethod` is. Known false alarm.
    - A helper no project code calls: true. The defect is in the function (its
      callers get a session in a failed transaction); a library's users or later
      code call it, as for PS202's and PS203's factories.
    - A `commit()` on a psycopg2 or psycopg connection after the swallowed error:
      PostgreSQL answers `COMMIT` in an aborted transaction with `ROLLBACK` and
      the drivers do not raise (pg8000 since 1.29 does), so the commit ends the
      failed transaction. It is still reported: every statement of that
      transaction before the failed one is thrown away while the code believes it
      committed them. Not when the failed statement was the transaction's only
      work: a `try` holding one `execute()` whose `finally` commits (closing
      cursors aside), after a `commit()`/`rollback()` of the connection, a `try`
      whose `finally` ended that way, or a fresh `connect()` (settings assigned on
      the connection and cursors taken from it between are no work; enclosing `if`
      blocks and a `with conn.cursor() as curs:` are walked out of, nothing else;
      the connection may be an attribute, `self.conn`, when nothing between calls a
      method of what holds it, `self.load()`): nothing is lost. Nor when the
      `try` does nothing on the connection but `commit()` it: a failed COMMIT on
      psycopg2 or psycopg has already ended the transaction (the server rolled it
      back, the connection is idle), so a `rollback()` would have nothing to undo.

    ## Tests, one-shot code and processes
    Reported everywhere, tests and scripts included: the next statement on the
    connection fails (`current transaction is aborted`), in a test as in
    production, and the error it reports is not the one that was swallowed. It
    is not reported where the failed transaction cannot be used again: the
    handler rolls back, re-raises, releases, invalidates or closes the
    connection; a `with` block that rolls back on error owns it; the web
    framework ends the request's session right after the handler returns; or
    the server undoes only the failed statement (see above).

    ## Why is this bad?
    After a failed statement PostgreSQL rejects everything with
    `current transaction is aborted, commands ignored until end of transaction
    block`, and a SQLAlchemy session raises `PendingRollbackError` on its next
    use. One swallowed error breaks every later request that gets the session.

    ## Example
    ```python
    def create_user(db: Session, name: str):
        try:
            db.add(User(name=name))
            db.commit()
        except IntegrityError:
            return None
    ```

    ## Use instead
    ```python
    def create_user(db: Session, name: str):
        try:
            db.add(User(name=name))
            db.commit()
        except IntegrityError:
            db.rollback()
            return None
    ```

    ## Fix safety
    The fix inserts `conn.rollback()` (`await session.rollback()` for async
    sessions) at the top of the handler, replacing a lone `pass`. Where the name
    may be `None` there, it is guarded with `if conn is not None:`; where it may
    be unbound (assigned only inside the `try`), `conn = None` is added before the
    `try` as well. The fix is safe when the handler catches only database errors.
    It is unsafe when the handler also catches other errors (a bare `except`,
    `Exception`, a tuple with `ValueError`): a non-database error would now also
    discard the transaction's uncommitted work; and inside a
    `with session.begin():` block, whose own exit ends the transaction.
    On a raw driver connection, a broad handler or one for the driver's base
    class (`except psycopg2.Error:`) also runs when the connection is lost, and
    there `rollback()` raises itself: the fix contains that error
    (`try: conn.rollback()` / `except psycopg2.Error: pass`), so the handler
    goes on as before. On a connection the function did not open (a module's,
    the caller's, the object's), a PostgreSQL-only driver keeps the fix safe because
    the failed statement aborted the whole transaction; where the `try` calls
    something that raises the driver's error on the client with nothing aborted
    (`cur.fetchone()` after an INSERT with no result set, `.one()`), with no commit
    before it in the `try`, that does not hold, and the fix is unsafe: the rollback
    discards the INSERT that whoever commits the connection later stores (a fetch
    after a literal `SELECT` or `... RETURNING` on that cursor always has a result
    set and counts for nothing). On a shared session whose `try` only queues and commits,
    the same goes for a refusal reached under another name before the first commit: a
    local bound to the session or to one of its methods (`s = db.session`, `add =
    db.session.add`), Flask-SQLAlchemy's `Model.query` (the same session: `NoResultFound`),
    a call of a project function, which may queue or query on it, or a query made
    elsewhere run there (`.one()`, `.first()`, `.all()`: `NoResultFound`; `.get()` on a
    receiver read as a query, a chain through `.query`, a name bound to one, a parameter
    annotated `Query`, named `query` / `q` or handed a query by a caller, a relationship:
    it refuses a query with criteria, a dynamic relationship or a key of the wrong shape,
    `InvalidRequestError`;
    `dict.get` is no such call): the fix is unsafe, and so it is, with a `commit()`
    after the `try`, in a session the function opened (the original commits what was
    queued before the refusal). Nor is a failed flush all that can fail there when the
    project subclasses `Session` with its own `add`, `flush` or `commit` (an audit
    `INSERT` before `super().commit()`; not a `commit()` that only rolls a failed commit
    back and re-raises): unsafe too. A rollback that would also undo work done before
    the `try` in the same transaction is not offered: work
    through the
    function's own names, through a project function that reaches the module's
    connection or session without being handed it (up to 3 calls down), or through
    an object that holds it (`repo.add(a)` where `repo = Repo(conn)`, or its class's
    attributes name it), with no commit between. A local that is only a second name
    for a module-level one (`s = Session`, a scoped session's registry) counts as the
    module's. A view's session counts as the request's own, except the module's one
    connection or session object made at import (`session = SessionLocal()`): its
    transaction may hold what an earlier request left uncommitted. No rollback
    is offered for Flask-SQLAlchemy's `db.session` in a handler that runs after the
    `with app.app_context():` block it was used in: leaving the context removed the
    session, and outside it `db.session` raises (Flask-SQLAlchemy 3).

    Inside a loop, rolling back would also discard what earlier iterations did
    (and let later ones commit without it), so the fix instead puts the `try`
    body in a savepoint, `with db.begin_nested():` (SQLAlchemy sessions and
    connections) or `with conn.transaction():` (psycopg 3), which undoes only
    the failed iteration. It sends statements the original does not and keeps rows
    the original lost, so it is always an unsafe fix (`--unsafe-fixes`); a handler
    that also catches non-database errors is one more reason (such an error would
    now undo the iteration's work too). psycopg2, which has no savepoint context manager, gets
    it in SQL: `conn.cursor().execute("SAVEPOINT poolsafe_iteration")` at the top of
    the `try` body, `RELEASE SAVEPOINT` at its end, and `ROLLBACK TO SAVEPOINT` in
    the handler (one handler only). Where no savepoint can be placed (other drivers
    without one, a body that passes the connection to a helper that might commit,
    a generator body, several handlers), a rollback is not offered when it would
    lose work someone keeps: the function commits after the `try` (the final
    `commit()` would store only the iterations after the rollback), or the
    connection belongs to the caller. It is offered, unsafe, when the `try` body
    commits each iteration itself or nothing commits.

    No rollback is offered in a handler that may run on a lost driver connection:
    one that catches `OperationalError` or `InterfaceError` (psycopg2, psycopg 3,
    PyMySQL, mysql.connector: raised when the server or the network is gone), or
    that checks whether the connection is alive (`conn.closed`, `conn.broken`,
    `cnx.is_connected()`). There `rollback()` raises as well, and a function that
    handled the error (a health check returning `None`) would raise instead; the
    finding says so, and the rollback is yours to guard (a SQLAlchemy session or
    connection is still rolled back: it invalidates a lost connection and its
    `rollback()` does not raise). A handler for every
    database error (`except psycopg2.Error:`) still gets the plain rollback: if the
    connection was lost there, `rollback()` raises too.

    A rollback also undoes session state set earlier in the transaction: `SET
    search_path`, `SET ROLE`, `SET TRANSACTION`, any `SET`, `set_config(...)`, a
    temporary table, whether the function runs it or the project's acquire wrapper
    the connection came from (`conn = get_connection()`, in any module).
    After it, the statements that follow would *succeed* in the wrong schema or
    as the wrong role, where before they failed loudly. When the function runs
    such a statement, the fix is refused, naming it; a savepoint (which keeps
    what ran before it) is still used when the statement runs before the
    `try`, and refused too when it runs inside it.
    """

    code = "PS103"
    name = "except-without-rollback"
    summary = "an except that swallows a database error without rollback()"
    fixable = True
    VALID = VALID + aio_libs.PS103_VALID
    INVALID = INVALID + aio_libs.PS103_INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        for func, flow in ctx.flows():
            for handler_index, (resource, why) in sorted(flow.swallowing_handlers.items()):
                handler = flow.handlers[handler_index]
                if _ends_app_context(ctx, func, handler, resource):
                    continue
                if why != REUSED_BEFORE_RERAISE \
                        and (_first_work_committed(ctx, func, handler, resource)
                             or _only_commits(ctx, func, handler, resource)
                             or _errors_only_after_end(ctx, func, handler, resource)):
                    continue
                advice = f"call `{resource}.rollback()` in the handler"
                kind = FunctionResources(ctx.index, func).kind(resource)
                if kind is not None and kind.transaction_block is not None:
                    advice = (f"wrap the `try` body in a savepoint (a nested `async with "
                              f"{resource}.{kind.savepoint_method}():`) so that a failure "
                              "undoes only its own work")
                block = psycopg_transaction_block(ctx.index, func, handler, resource, kind,
                                                  parent_map(ctx.module.tree))
                if block is not None:
                    advice = (f"psycopg 3 refuses `rollback()` inside `{block}`: wrap the "
                              f"`try` body in a savepoint (a nested `{resource}.transaction()` "
                              "block) so that a failure undoes only its own work")
                lost = _lost_connection(ctx, func, handler, resource)
                if lost is not None:
                    advice += (f" while the connection is alive ({lost}, and there "
                               f"`rollback()` raises too; no automatic fix)")
                message = (f"`except` swallows a database error on `{resource}` without "
                           f"`rollback()`, and {why}; {advice}")
                if why == REUSED_BEFORE_RERAISE:
                    if block is None:
                        advice = f"call `{resource}.rollback()` before the clean-up"
                    message = (f"`except` re-raises a database error on `{resource}`, but "
                               f"first uses `{resource}` again without `rollback()`: in the "
                               "aborted transaction that clean-up fails too and is not done, "
                               "and its error is what the caller gets instead of the one "
                               f"caught; {advice}")
                yield self.finding(
                    handler,
                    message,
                    swallow_path(ctx.index, func, flow, handler_index),
                )
            reported = {id(flow.handlers[i]) for i in flow.swallowing_handlers}
            for handler, conn, trans, work, end in _left_open_at_release(ctx, func):
                if id(handler) in reported:
                    continue
                caught = "a bare `except`" if handler.type is None else \
                    f"`except {ctx.module.tree.code_for_node(handler.type)}`"
                yield self.finding(
                    handler,
                    f"`except` swallows an error while `{trans} = await {conn}.begin()` is "
                    f"still open, and nothing after it commits or rolls back before `async "
                    f"with` gives `{conn}` back: the engine's `release()` refuses a "
                    f"connection in a transaction (`InvalidRequestError`), so `{conn}` "
                    "never returns to the pool and its transaction keeps its locks; call "
                    f"`await {trans}.rollback()` in the handler",
                    ((work, f"this statement runs inside `{trans}`: if it fails, `{trans}` "
                            "stays open"),
                     (handler, f"{caught} swallows the error without `{trans}.rollback()`"),
                     (end, f"the `async with` ends after this and gives `{conn}` back with "
                           f"`{trans}` open: the release raises `InvalidRequestError`")),
                )

    # ------------------------------------------------------------------ fix
    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        handler = finding.node
        if not isinstance(handler, (cst.ExceptHandler, cst.ExceptStarHandler)):
            return Unfixable(self.code, "not an except handler")
        parents = parent_map(ctx.module.tree)
        func = enclosing_function(handler, parents, ctx.module)
        if func is None:
            return Unfixable(self.code, "not inside a function")
        flow = ctx.flow(func)
        index = next((i for i, h in enumerate(flow.handlers) if h is handler), None)
        if index is None or index not in flow.swallowing_handlers:
            if any(h is handler for h, *_ in _left_open_at_release(ctx, func)):
                return Unfixable(self.code, _OPEN_AT_RELEASE_BY_HAND)
            return Unfixable(self.code, "the handler was not found")
        resource, why = flow.swallowing_handlers[index]
        unnamed = _not_named_here(ctx, func, resource)
        if unnamed is not None:
            return Unfixable(self.code, unnamed)
        try_of = parents.get(id(handler))
        gone = _used_only_in_app_context(ctx, func, try_of, resource) \
            if isinstance(try_of, (cst.Try, cst.TryStar)) else None
        if gone is not None:
            return Unfixable(self.code, gone)
        lost = _lost_connection(ctx, func, handler, resource)
        if lost is not None:
            return Unfixable(self.code, f"no rollback for this handler: {lost}; there "
                             f"`{resource}.rollback()` raises as well, and the error the "
                             "handler dealt with would escape; roll back by hand behind a "
                             "check that the connection is alive")
        kind = FunctionResources(ctx.index, func).kind(resource)
        if kind is not None and kind.transaction_block is not None:
            return Unfixable(self.code, f"`{resource}` has no `rollback()` ({kind.label}): "
                             "wrap the `try` body in a savepoint, a nested `async with "
                             f"{resource}.{kind.savepoint_method}():`, by hand")
        is_async = kind is not None and kind.is_async and func.is_async
        plan = FixPlan(self.code, f"roll back `{resource}` in the handler")
        module = ctx.module.tree
        try_stmt = parents.get(id(handler))
        if not isinstance(try_stmt, (cst.Try, cst.TryStar)):
            return Unfixable(self.code, "the handler's try was not found")
        root = resource.split(".")[0]
        if handler.name is not None and isinstance(handler.name.name, cst.Name) \
                and handler.name.name.value == root:
            # `except psycopg2.Error as conn:`: in the handler `conn` is the exception,
            # and a rollback written there would call it on the exception
            return Unfixable(self.code, f"the handler binds `{root}` to the exception")
        states = session_state_statements(ctx.index, func) + acquire_history(
            ctx.index, func, root)
        no_savepoint = ""
        inside = next((st for st in states if within(st, try_stmt.body)), None)
        if inside is not None:
            return Unfixable(self.code, _undone(inside, "a rollback or savepoint"))
        if _in_function_loop(try_stmt, parents):
            savepoint = _savepoint_fix(self.code, ctx, func, try_stmt, handler, resource,
                                       kind.key if kind is not None else "", is_async)
            if isinstance(savepoint, FixPlan):
                return savepoint
            no_savepoint = savepoint
        if states:
            # a savepoint would have kept it; a rollback undoes it
            return Unfixable(self.code, _undone(states[0], "a rollback"))
        if no_savepoint:
            lost = _loop_work_lost(func, try_stmt, resource)
            if lost is not None:
                return Unfixable(self.code, f"inside a loop, a rollback would discard the "
                                 f"work of earlier iterations, and {lost}; no savepoint "
                                 f"fits ({no_savepoint}): use one per iteration by hand")
        block = psycopg_transaction_block(ctx.index, func, handler, resource, kind, parents)
        if block is not None:
            return Unfixable(self.code, f"psycopg 3 refuses `{resource}.rollback()` inside "
                             f"`{block}` (`ProgrammingError`): wrap the `try` body in a "
                             f"savepoint, a nested `{resource}.transaction()` block, by hand")
        state = _binding_state(func, root, try_stmt, parents)
        if state == "unknown":
            return Unfixable(self.code, f"`{root}` may be unbound in the handler")
        elsewhere = _earlier_work_elsewhere(ctx, func, try_stmt, resource)
        if elsewhere is not None:
            return Unfixable(self.code, elsewhere)
        rollback = f"{'await ' if is_async else ''}{resource}.rollback()"
        nl, indent = module.default_newline, module.default_indent
        contained = _containing_error(kind, handler)
        if contained is not None:
            # a lost connection reaches this handler too, and there the rollback
            # raises itself: its own error is contained, so that the handler runs
            # on as before
            module_name, imported, expression = contained
            if module_name:
                plan.add_import(module_name, imported)
            rollback = (f"try:{nl}{indent}{rollback}{nl}except {expression}:{nl}"
                        f"{indent}pass  # the connection is lost: nothing to roll back")
        if state in ("maybe-none", "unbound"):
            rollback = f"if {root} is not None:{nl}{_indented(rollback, indent, nl)}"
        stmt: cst.BaseStatement = cst.parse_statement(
            rollback + nl, config=module.config_for_parsing)
        guarded_by: str | None = None
        if not _catches_only_db_errors(ctx, func, handler):
            error = kind.db_error if kind is not None else None
            if error is None:
                plan.mark_unsafe("the handler also catches non-database errors, whose "
                                 "uncommitted work the rollback now discards")
            else:
                # roll back only for a database error: other exceptions keep their
                # uncommitted work exactly as before
                module_name, imported, expression = error
                plan.add_import(module_name, imported)
                guarded_by = _exception_name(handler, func)
                stmt = cst.parse_statement(
                    f"if isinstance({guarded_by}, {expression}):{nl}"
                    f"{_indented(_statement_source(module, stmt), indent, nl)}{nl}",
                    config=module.config_for_parsing)
        if no_savepoint:
            plan.mark_unsafe("inside a loop, the rollback also discards the work of earlier "
                             f"iterations, and no savepoint fits: {no_savepoint}")
        shared = _shared_transaction(ctx, func, resource)
        refused = _refused_on_the_client(try_stmt, handler, resource) \
            if shared is not None else None
        if refused is not None and _client_error_work_committed(
                func, try_stmt, handler, resource, parents) is None:
            # (with a commit after the `try`, the reason below says it)
            plan.mark_unsafe(f"{shared}: `{resource}.{refused}()` can refuse its object on "
                             "the client (SQLAlchemy's `InvalidRequestError`: not persisted, "
                             "attached to another session) with nothing rolled back, and "
                             "the rollback then also discards what the transaction held "
                             "before it (whatever was done before this call, and this "
                             "`try`'s earlier work), which the code after it goes on (and "
                             "may commit) without")
        elif shared is not None and (kind is None or kind.key not in _WHOLE_TRANSACTION_ABORTS) \
                and _only_flushes(try_stmt, resource) \
                and (other := _session_reached_otherwise(ctx, func, try_stmt, handler,
                                                         resource)) is not None:
            plan.mark_unsafe(f"{shared}: {other}; that can raise on the client (SQLAlchemy's "
                             "`InvalidRequestError`, `NoResultFound`) or fail one statement "
                             "with nothing rolled back, and the rollback then also discards "
                             "what the transaction held before it, which the code after it "
                             "goes on (and may commit) without")
        elif shared is not None and (kind is None or kind.key not in _WHOLE_TRANSACTION_ABORTS) \
                and _only_flushes(try_stmt, resource) \
                and (override := session_subclass_override(ctx.index)) is not None:
            plan.mark_unsafe(f"{shared}: the project subclasses `Session` (`{override}()`), "
                             "and such a method may run a statement that fails outside any "
                             "flush, with nothing rolled back; the rollback then also "
                             "discards what the transaction held before it, which the code "
                             "after it goes on (and may commit) without")
        elif shared is not None and not _only_flushes(try_stmt, resource) \
                and (kind is None or kind.key not in _WHOLE_TRANSACTION_ABORTS):
            plan.mark_unsafe(f"{shared}: the rollback also discards whatever was done "
                             "before this call in the same transaction, and the caller "
                             "goes on (and may commit) without it, where a database that "
                             "undoes only the failed statement (MySQL, SQLite) kept it")
        if "commits on exit" in why:
            plan.mark_unsafe("inside a transaction block (`with x.begin():`) the rollback "
                             "ends the block's transaction before its exit")
        kept = _client_error_work_committed(func, try_stmt, handler, resource, parents)
        if kept is None and _takes_client_errors(handler) \
                and _commits_after(func, try_stmt, resource, parents):
            other = _session_reached_otherwise(ctx, func, try_stmt, handler, resource)
            if other is not None:
                kept = (f"{other}; that can raise on the client (SQLAlchemy's "
                        "`InvalidRequestError`, `NoResultFound`) with nothing rolled back, "
                        f"and then `{resource}.commit()` after the `try` stores what the "
                        "transaction did before it; the rollback discards that work")
        if kept is not None:
            plan.mark_unsafe(kept)
        elif shared is not None and kind is not None and kind.key in _WHOLE_TRANSACTION_ABORTS:
            pending = _client_error_on_pending_work(try_stmt, handler, resource)
            if pending is not None:
                plan.mark_unsafe(f"{shared}: {pending}")
        body = handler.body
        if isinstance(body, cst.IndentedBlock):
            old = list(body.body)
            if len(old) == 1 and isinstance(old[0], cst.SimpleStatementLine) \
                    and len(old[0].body) == 1 and isinstance(old[0].body[0], cst.Pass) \
                    and not old[0].leading_lines and old[0].trailing_whitespace.comment is None:
                old = []
            new_body = body.with_changes(body=[stmt, *old])
        else:
            assert isinstance(body, cst.SimpleStatementSuite)
            rest = [] if len(body.body) == 1 and isinstance(body.body[0], cst.Pass) \
                and body.trailing_whitespace.comment is None \
                else [cst.SimpleStatementLine(list(body.body))]
            new_body = cst.IndentedBlock(body=[stmt, *rest], header=body.trailing_whitespace)
        new_handler = handler.with_changes(body=new_body)
        if guarded_by is not None and handler.name is None:
            new_handler = new_handler.with_changes(
                type=handler.type or cst.Name("BaseException"),
                name=cst.AsName(name=cst.Name(guarded_by),
                                whitespace_before_as=cst.SimpleWhitespace(" "),
                                whitespace_after_as=cst.SimpleWhitespace(" ")),
                whitespace_after_except=cst.SimpleWhitespace(" "))
        if state == "unbound":
            handlers = [new_handler if h is handler else h for h in try_stmt.handlers]
            new_try = try_stmt.with_changes(handlers=handlers, leading_lines=[])
            init = parse_line(module, f"{root} = None").with_changes(
                leading_lines=try_stmt.leading_lines)
            plan.replace(try_stmt, cst.FlattenSentinel([init, new_try]))
        else:
            plan.replace(handler, new_handler)
        return plan


def _not_named_here(ctx: FileContext, func: FunctionInfo, resource: str) -> str | None:
    """Why no rollback can be written for `resource` in `func`: it is a module's
    session that the function works on only through a project helper and does not
    name (a view calling a model's `save_to_db()` on `session` of `db.py`)."""
    root = resource.split(".", 1)[0]
    module = ctx.module
    scope: FunctionInfo | None = func
    while scope is not None:
        if root in scope.locals or root in scope.all_param_names():
            return None
        scope = scope.parent
    if root in module.assigns or root in module.imports or root in module.functions \
            or root in module.classes:
        return None
    return (f"`{root}` is a session or connection made at another module's top level, "
            "which this function reaches only through a project helper and does not "
            f"name: import it and call `{resource}.rollback()` in the handler by hand")


_ENDS_OPEN_TRANSACTION = frozenset({"commit", "rollback"})
#: why `fix` leaves a handler that keeps `trans = await conn.begin()` open at release
_OPEN_AT_RELEASE_BY_HAND = ("a rollback in the handler would also stop the `InvalidRequestError` "
                            "the release raises today: roll back by hand")


def _left_open_at_release(ctx: FileContext, func: FunctionInfo) -> Iterator[
        tuple[cst.ExceptHandler | cst.ExceptStarHandler, str, str, cst.CSTNode, cst.CSTNode]]:
    """(handler, connection, transaction, the work in the `try`, where the connection
    goes back) for each handler that swallows an error
    while `trans = await conn.begin()` is open inside `async with engine.acquire() as
    conn`, on a connection whose engine refuses to release it in a transaction
    (`ConnectionKind.release_refuses_open_transaction`: aiopg.sa, aiomysql.sa), when
    no statement after the handler (up to the end of the `async with`) commits,
    rolls back or closes."""
    res: FunctionResources | None = None
    for node in iter_nodes(func.node.body):
        if not isinstance(node, cst.With) or node.asynchronous is None:
            continue
        for item in node.items:
            call = item.item
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                    and call.func.attr.value == "acquire" and item.asname is not None
                    and isinstance(item.asname.name, cst.Name)):
                continue
            conn = item.asname.name.value
            res = res or FunctionResources(ctx.index, func)
            kind = res.kind(conn)
            if kind is None or not kind.release_refuses_open_transaction:
                continue
            yield from _open_transaction_handlers(body_statements(node.body), conn)


def _open_transaction_handlers(stmts: list[cst.BaseStatement], conn: str) -> Iterator[
        tuple[cst.ExceptHandler | cst.ExceptStarHandler, str, str, cst.CSTNode, cst.CSTNode]]:
    trans: str | None = None
    for i, stmt in enumerate(stmts):
        if trans is None:
            trans = _begun(stmt, conn)
            continue
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            if stmt.finalbody is not None and _ends(stmt.finalbody, conn, trans):
                trans = None
                continue
            rest_ends = any(_ends(later, conn, trans) for later in stmts[i + 1:])
            for handler in stmt.handlers:
                if _ends(handler, conn, trans) or any(
                        isinstance(n, cst.Raise) for n in iter_nodes(handler)):
                    continue
                leave = next((n for n in iter_nodes(handler) if isinstance(n, cst.Return)), None)
                if leave is not None or not rest_ends:
                    work = next((c for c in iter_calls(stmt.body)
                                 if (dotted_name(c.func) or "").split(".")[0] in (conn, trans)),
                                stmt.body)
                    # where the `async with` ends: the handler's own last statement when
                    # the `try` is the block's last
                    end = leave or (body_statements(handler.body)[-1] if stmts[-1] is stmt
                                    else stmts[-1])
                    yield handler, conn, trans, work, end
        if _ends(stmt, conn, trans):
            trans = None


def _begun(stmt: cst.BaseStatement, conn: str) -> str | None:
    """`trans` for `trans = await conn.begin()`."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and isinstance(small.value, cst.Await)):
        return None
    call = small.value.expression
    if isinstance(call, cst.Call) and dotted_name(call.func) == f"{conn}.begin":
        return small.targets[0].target.value
    return None


def _ends(node: cst.CSTNode, conn: str, trans: str) -> bool:
    """`node` commits or rolls back `trans`, or closes `conn` (whose `close()` rolls
    back and gives it back)."""
    for call in iter_calls(node):
        name = dotted_name(call.func)
        if name is None or "." not in name:
            continue
        owner, method = name.rsplit(".", 1)
        if (owner == trans and method in _ENDS_OPEN_TRANSACTION) \
                or (owner == conn and method == "close"):
            return True
    return False


def _shared_transaction(ctx: FileContext, func: FunctionInfo, resource: str) -> str | None:
    """Why the transaction a rollback of `resource` ends may hold work done before
    `func` was called (the connection or session is a parameter, an attribute or a
    name from outside the function), or None when `func` acquired it itself or
    handles a request (whose session begins with the request)."""
    root = resource.split(".")[0]
    if request_handler(ctx.index, func) is not None and not _made_at_import(ctx, func, root):
        return None
    if root in ("self", "cls") and func.cls is not None:
        return f"`{resource}` belongs to the object, beyond this call"
    if root in func.all_param_names():
        if _fresh_from_every_caller(ctx, func, root):
            return None
        return f"`{root}` comes from the caller"
    if root in func.locals and "." in resource:
        base = ctx.index.evaluate_dotted(root, func.module, func)
        attr = resource.split(".")[1]
        if isinstance(base, Instance) and attr in base.cls.class_values:
            return f"`{resource}` is the class's connection, shared beyond this call"
    module_name = _module_name_of(func, root)
    if module_name is not None and module_name != root:
        return f"`{root}` is the module's `{module_name}`, which outlives this call"
    if root in func.locals:
        return None
    return f"`{resource}` outlives this call"


def _made_at_import(ctx: FileContext, func: FunctionInfo, root: str) -> bool:
    """`root` is the module's one connection or session object, made when the module
    is imported (`session = SessionLocal()`, `conn = psycopg2.connect(...)`) and shared
    by every request, not a registry that hands each request its own (a scoped
    session, Flask-SQLAlchemy's `db.session`): in a view its transaction may hold what
    an earlier request did and did not commit."""
    name = _module_name_of(func, root)
    return name is not None and isinstance(
        ctx.index.evaluate_dotted(name, func.module, None), Connection)


def _module_name_of(func: FunctionInfo, root: str) -> str | None:
    """The module-level name `root` is inside `func`: itself when the function neither
    binds it nor is handed it, or the module-level name a local is only ever bound to
    (`s = Session`, a scoped session's registry: a second name, not a new session).
    None otherwise (a parameter, or a local bound to anything else)."""
    if root in func.all_param_names():
        return None
    if root not in func.locals:
        return root if _qualified(func.module, root) is not None else None
    values = [n.value for n in iter_nodes(func.node.body)
              if isinstance(n, (cst.Assign, cst.AnnAssign, cst.NamedExpr))
              and n.value is not None and root in bound_names(n)]
    sources = {v.value if isinstance(v, cst.Name) else None for v in values}
    if len(sources) != 1:
        return None
    source = sources.pop()
    if source is None or source in func.locals or source in func.all_param_names() \
            or _qualified(func.module, source) is None:
        return None
    return source


def _qualified(module: ModuleInfo, dotted: str) -> str | None:
    """The dotted name a module-level `dotted` (`conn`, `db.conn`) of `module` stands
    for: one the module assigns (`app.conn`), or one it imports (`from db import conn`,
    `import db`: `db.conn`). None for a name the module neither assigns nor imports."""
    first, _, rest = dotted.partition(".")
    if first in module.imports:
        base = module.imports[first]
    elif first in module.assigns and module.names:
        base = f"{module.names[0]}.{first}"
    else:
        return None
    return f"{base}.{rest}" if rest else base


#: drivers whose `commit()` in an aborted transaction ends it without raising (the
#: server answers COMMIT with ROLLBACK)
_COMMIT_ENDS_ABORTED = frozenset({
    "psycopg2", "psycopg2-pool", "psycopg2_pool", "psycopg", "psycopg-pool",
    "psycopg-pool-returning"})


def _first_work_committed(ctx: FileContext, func: FunctionInfo,
                          handler: cst.ExceptHandler | cst.ExceptStarHandler,
                          resource: str) -> bool:
    """The failed statement was its transaction's first work, and the `try`'s `finally`
    commits right away: `conn.commit()` (or a fresh `conn = psycopg2.connect(...)`)
    before the `try`, then `try: curs.execute(SQL)` / `except Exception: log(...)` /
    `finally: curs.close(); conn.commit()` on a psycopg2 or psycopg connection, the
    `try` holding that one `execute()`. The commit ends the aborted transaction (the
    server rolls it back, nothing raises), and it held nothing else to lose.
    Statements before the `try` that name no handle (`SQL = ...`, `log(...)`),
    cursors taken from the connection, and settings assigned on it
    (`conn.autocommit = False`) are no work; an enclosing `if` is walked out of, and
    so is a `with conn.cursor() as curs:` (its exit closes only the cursor); a loop or
    any other block is not. The connection may be an attribute (`self.conn`): then a
    statement before the `try` that calls anything on what holds it (`self.load()`)
    stops the walk (it may run a statement on the connection)."""
    kind = FunctionResources(ctx.index, func).kind(resource)
    if kind is None or kind.key not in _COMMIT_ENDS_ABORTED:
        return False
    parents = parent_map(ctx.module.tree)
    try_stmt = parents.get(id(handler))
    if not isinstance(try_stmt, cst.Try) or try_stmt.finalbody is None \
            or try_stmt.orelse is not None or _touches(handler.body, {resource}):
        return False
    before = _statements_before(try_stmt, parents, resource)
    cursors = {name for st in before for name in _cursor_names(st, resource)} \
        | _cursor_blocks(try_stmt, parents, resource)
    handles = {resource} | cursors
    work = [st for st in body_statements(try_stmt.body) if _touches(st, handles)]
    if len(work) != 1 or not _one_execute(work[0], handles):
        return False
    final = [st for st in body_statements(try_stmt.finalbody.body) if _touches(st, handles)]
    if not final or not _calls_on(final[-1], resource, ("commit",)) or any(
            not (_calls_on(st, resource, ("commit",))
                 or any(_calls_on(st, c, ("close",)) for c in cursors))
            for st in final):
        return False
    root = resource.split(".", 1)[0]
    for st in reversed(before):
        if _cursor_names(st, resource) or _sets_attribute(st, resource):
            continue
        if not _touches(st, handles):
            if root != resource and any(
                    root in names_in(c.func) or any(root in names_in(a.value) for a in c.args)
                    for c in iter_calls(st)):
                return False  # `self.load()`: a method may work on `self.conn`
            continue
        if _calls_on(st, resource, ("commit", "rollback")):
            return True
        if isinstance(st, cst.Try) and st.finalbody is not None:
            ends = [x for x in body_statements(st.finalbody.body) if _touches(x, handles)]
            return bool(ends) and _calls_on(ends[-1], resource, ("commit", "rollback"))
        return _connects(st, resource)
    return False


def _touches(node: cst.CSTNode, handles: set[str]) -> bool:
    """`node` names one of `handles` (`conn`, `curs`, or a dotted `self.conn`)."""
    if names_in(node) & handles:
        return True
    dotted = {h for h in handles if "." in h}
    return bool(dotted) and any(d == h or d.startswith(h + ".")
                                for d in _dotted_names_in(node) for h in dotted)


def _cursor_blocks(try_stmt: cst.Try, parents: dict[int, cst.CSTNode],
                   resource: str) -> set[str]:
    """The names of `with resource.cursor() as curs:` blocks `_statements_before`
    walked out of on the way up from `try_stmt`."""
    out: set[str] = set()
    node: cst.CSTNode = try_stmt
    while True:
        block = parents.get(id(node))
        owner = parents.get(id(block)) if isinstance(block, cst.IndentedBlock) else None
        if isinstance(owner, cst.Else):
            owner = parents.get(id(owner))
        while isinstance(owner, cst.If) and isinstance(parents.get(id(owner)), cst.If):
            owner = parents[id(owner)]
        if isinstance(owner, cst.With) and _cursor_with(owner, resource):
            out |= {n for item in owner.items if item.asname is not None
                    for n in names_in(item.asname.name)}
        elif not isinstance(owner, cst.If):
            return out
        node = owner


def _cursor_with(w: cst.With, resource: str) -> bool:
    """`with resource.cursor() as curs:` (every item a cursor of `resource`)."""
    return all(isinstance(item.item, cst.Call)
               and dotted_name(item.item.func) == f"{resource}.cursor" for item in w.items)


def _psycopg_try(ctx: FileContext, func: FunctionInfo,
                 handler: cst.ExceptHandler | cst.ExceptStarHandler,
                 resource: str) -> cst.Try | None:
    """The `try` of `handler` when `resource` is a psycopg2 or psycopg connection, whose
    failed COMMIT ends the transaction."""
    kind = FunctionResources(ctx.index, func).kind(resource)
    if kind is None or kind.key not in _COMMIT_ENDS_ABORTED:
        return None
    try_stmt = parent_map(ctx.module.tree).get(id(handler))
    return try_stmt if isinstance(try_stmt, cst.Try) else None


def _only_commits(ctx: FileContext, func: FunctionInfo,
                  handler: cst.ExceptHandler | cst.ExceptStarHandler, resource: str) -> bool:
    """The `try` whose error `handler` swallows does nothing but commit `resource`, a
    psycopg2 or psycopg connection (`conn`, `self.connection`), and then perhaps close
    it (also under an `if` that does not test it): `try: self.connection.commit(); if
    close: self.connection.close()` / `except Exception as e: return e`. A failed
    COMMIT has ended the transaction (the server rolled it back; the connection is
    idle and the next statement runs), and a failed close comes after a commit, so
    there is no aborted transaction left to roll back."""
    try_stmt = _psycopg_try(ctx, func, handler, resource)
    if try_stmt is None:
        return False
    return _commit_then_close(body_statements(try_stmt.body), resource, False) is True


def _errors_only_after_end(ctx: FileContext, func: FunctionInfo,
                           handler: cst.ExceptHandler | cst.ExceptStarHandler,
                           resource: str) -> bool:
    """No database error reaches `handler` while a transaction of `resource` (a psycopg2
    or psycopg connection) is open: every call in the `try` is a project function that
    swallows its own errors (`self.execute(sql)` whose body is a `try` whose handlers
    catch every error and raise nothing), `resource.commit()` (a failed COMMIT has
    ended the transaction), `resource.close()`, `resource.cursor()` (no statement), a
    driver's `connect()` (no transaction yet), or a call that names neither the
    connection nor what holds it (`open(path)`, `log.info(...)`). A statement run in
    the `try` itself (`self.cursor.execute(sql)`), a call handed the connection or its
    holder, or a callee that re-raises or catches only some errors keeps the finding."""
    try_stmt = _psycopg_try(ctx, func, handler, resource)
    if try_stmt is None:
        return False
    root = resource.split(".", 1)[0]
    # what holds or reaches the connection: its root name (`self`), and the function's
    # names bound from it (`cur = conn.cursor()`, `with conn.cursor() as cur:`)
    handles = {root}
    for _ in range(3):
        for node in iter_nodes(func.node.body):
            if isinstance(node, cst.Assign) and names_in(node.value) & handles:
                handles |= {n for t in node.targets for n in names_in(t.target)}
            elif isinstance(node, cst.WithItem) and node.asname is not None \
                    and names_in(node.item) & handles:
                handles |= names_in(node.asname.name)
    swallowing: set[int] = set()
    for node in iter_nodes(try_stmt.body):
        if isinstance(node, (cst.Yield, cst.Await)):
            return False  # the caller's (or the awaited) work raises in here too
        if isinstance(node, (cst.For, cst.CompFor)) and names_in(node.iter) & handles:
            return False  # iterating a cursor fetches
        if not isinstance(node, cst.Call):
            continue
        called = dotted_name(node.func)
        if called in {f"{resource}.{m}" for m in ("commit", "close", "cursor")}:
            if any(names_in(a.value) & handles for a in node.args):
                return False
            continue
        callee = ctx.index.evaluate(node.func, func.module, func)
        if isinstance(callee, FunctionRef):
            if id(callee.func.node) not in swallowing:
                if not _swallows_own_errors(ctx, callee.func):
                    return False
                swallowing.add(id(callee.func.node))
            continue
        if isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in _STATEMENT_METHODS:
            return False  # a statement on a cursor named elsewhere (a module's `cur`)
        if names_in(node.func) & handles or any(names_in(a.value) & handles
                                                for a in node.args):
            return False
    return True


#: methods that send a statement (or fetch from a server-side cursor) on a DB-API
#: connection or cursor, whatever the receiver is named
_STATEMENT_METHODS = frozenset({"execute", "executemany", "executescript", "callproc",
                                "fetchone", "fetchmany", "fetchall", "scroll", "copy_from",
                                "copy_to", "copy_expert", "copy"})
#: handler types that catch every error a driver raises
_CATCH_ALL = frozenset({"Exception", "BaseException"})
_DRIVER_BASE_ERRORS = frozenset({"psycopg2.Error", "psycopg2.DatabaseError", "psycopg.Error",
                                 "psycopg.DatabaseError"})


def _swallows_own_errors(ctx: FileContext, callee: FunctionInfo) -> bool:
    """`callee`'s work is one `try` whose handlers catch every error (bare, `Exception`,
    `BaseException`, or the driver's base `Error` / `DatabaseError`), raise nothing and
    run nothing on a database but `rollback()` / `close()`, with no `else` and no
    `finally` beyond `close()` calls; around it only statements that call nothing
    (`self.e = None`, `return self.cursor.rowcount`)."""
    if callee.is_async or callee.is_generator:
        return False
    trys = [st for st in body_statements(callee.node.body) if isinstance(st, cst.Try)]
    if len(trys) != 1:
        return False
    try_stmt = trys[0]
    for st in body_statements(callee.node.body):
        if st is not try_stmt and any(isinstance(n, (cst.Call, cst.Await, cst.Yield,
                                                     cst.Raise))
                                      for n in iter_nodes(st)):
            return False
    if try_stmt.orelse is not None:
        return False
    if try_stmt.finalbody is not None:
        for st in body_statements(try_stmt.finalbody.body):
            call = _single_call(st)
            if call is None or not (dotted_name(call.func) or "").endswith(".close"):
                return False
    params = {p.name.value for p in callee.named_params()}
    for h in try_stmt.handlers:
        if h.type is not None:
            types = [e.value for e in h.type.elements] if isinstance(h.type, cst.Tuple) \
                else [h.type]
            for t in types:
                name = dotted_name(t) or ""
                if name not in _CATCH_ALL and name not in _DRIVER_BASE_ERRORS:
                    return False
        for n in iter_nodes(h.body):
            if isinstance(n, (cst.Raise, cst.Await, cst.Yield)):
                return False
            if isinstance(n, cst.Call):
                called = dotted_name(n.func) or ""
                if called.rsplit(".", 1)[-1] in ("rollback", "close"):
                    continue
                if isinstance(ctx.index.evaluate(n.func, callee.module, callee),
                              FunctionRef):
                    return False  # a project call may run a statement on the failed one
                if isinstance(n.func, cst.Attribute) and names_in(n.func) & params:
                    return False  # `self.cursor.execute(...)` in the handler
    return True


def _commit_then_close(stmts: Sequence[cst.BaseStatement], resource: str,
                       committed: bool) -> bool | None:
    """Whether `stmts` are `resource.commit()` first and then only `resource.close()`
    calls, walking into `if` blocks whose test does not name `resource` (None: any
    other statement; the bool: whether the commit has run)."""
    for st in stmts:
        if isinstance(st, cst.If):
            if _names_resource(st.test, resource):
                return None
            branches: list[cst.BaseSuite] = [st.body]
            other = st.orelse
            while other is not None:
                branches.append(other.body)
                other = other.orelse if isinstance(other, cst.If) else None
            for branch in branches:
                if _commit_then_close(body_statements(branch), resource, committed) \
                        is not committed:
                    return None  # a branch that commits where another does not, or worse
            continue
        if not committed and _calls_on(st, resource, ("commit",)):
            committed = True
        elif not (committed and _calls_on(st, resource, ("close",))):
            return None
    return committed


def _names_resource(node: cst.CSTNode, resource: str) -> bool:
    return resource in names_in(node) or resource in _dotted_names_in(node)


def _dotted_names_in(node: cst.CSTNode) -> set[str]:
    """The dotted names (`self.connection`) spelled in `node`."""
    return {d for n in iter_nodes(node) if isinstance(n, cst.Attribute)
            for d in [dotted_name(n)] if d is not None}


def _one_execute(st: cst.CSTNode, handles: set[str]) -> bool:
    """`st` is a simple statement whose one call on a handle is `h.execute(...)`: one
    statement sent, so the failed call is the only work the commit throws away."""
    if not isinstance(st, cst.SimpleStatementLine):
        return False
    calls = [c for c in iter_calls(st) if _touches(c.func, handles)]
    return len(calls) == 1 and isinstance(calls[0].func, cst.Attribute) \
        and calls[0].func.attr.value == "execute" \
        and dotted_name(calls[0].func.value) in handles \
        and not any(_touches(a.value, handles) for a in calls[0].args)


def _statements_before(try_stmt: cst.Try, parents: dict[int, cst.CSTNode],
                       resource: str | None = None) -> list[cst.BaseStatement]:
    """The statements run before `try_stmt` in its function, in order, through the
    blocks of enclosing `if` statements and of `with resource.cursor() as curs:` (a
    loop, any other `with` or a `try` stops the walk)."""
    out: list[cst.BaseStatement] = []
    node: cst.CSTNode = try_stmt
    while True:
        block = parents.get(id(node))
        if not isinstance(block, cst.IndentedBlock):
            return out
        earlier = list(block.body[:next(i for i, st in enumerate(block.body) if st is node)])
        out = earlier + out
        owner = parents.get(id(block))
        if isinstance(owner, cst.Else):
            owner = parents.get(id(owner))
        if isinstance(owner, cst.With) and resource is not None \
                and _cursor_with(owner, resource):
            node = owner
            continue
        if not isinstance(owner, cst.If):
            return out
        while isinstance(parents.get(id(owner)), cst.If):  # an `elif`
            owner = parents[id(owner)]
        node = owner


def _single_call(st: cst.CSTNode) -> cst.Call | None:
    if isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1 \
            and isinstance(st.body[0], cst.Expr) and isinstance(st.body[0].value, cst.Call):
        return st.body[0].value
    return None


def _calls_on(st: cst.CSTNode, name: str, methods: tuple[str, ...]) -> bool:
    call = _single_call(st)
    return call is not None and dotted_name(call.func) in {f"{name}.{m}" for m in methods}


def _cursor_names(st: cst.CSTNode, resource: str) -> set[str]:
    """`curs = conn.cursor()`: the name bound to a cursor of `resource`."""
    if isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1 \
            and isinstance(st.body[0], cst.Assign) and len(st.body[0].targets) == 1 \
            and isinstance(st.body[0].targets[0].target, cst.Name) \
            and isinstance(st.body[0].value, cst.Call) \
            and dotted_name(st.body[0].value.func) == f"{resource}.cursor":
        return {st.body[0].targets[0].target.value}
    return set()


def _sets_attribute(st: cst.CSTNode, resource: str) -> bool:
    """`conn.autocommit = False`: a setting, no statement run in a transaction."""
    return isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1 \
        and isinstance(st.body[0], cst.Assign) and all(
            isinstance(t.target, cst.Attribute) and dotted_name(t.target.value) == resource
            for t in st.body[0].targets) \
        and not _touches(st.body[0].value, {resource})


def _connects(st: cst.CSTNode, resource: str) -> bool:
    """`conn = psycopg2.connect(...)`: a new connection, no transaction yet."""
    return isinstance(st, cst.SimpleStatementLine) and len(st.body) == 1 \
        and isinstance(st.body[0], cst.Assign) and len(st.body[0].targets) == 1 \
        and dotted_name(st.body[0].targets[0].target) == resource \
        and isinstance(st.body[0].value, cst.Call) \
        and (dotted_name(st.body[0].value.func) or "").endswith(".connect")


def _earlier_work_elsewhere(ctx: FileContext, func: FunctionInfo,
                            try_stmt: cst.Try | cst.TryStar, resource: str) -> str | None:
    """Why a rollback of a module-level `resource` would also undo work a call before
    the `try` did in its transaction without being handed it: a project function that
    reaches the module's name itself (`insert_a(a)` using the module's `conn`; 3
    levels). The equivalence check sees only the work done through the names of this
    function. None when no such call comes first, or a commit of it follows."""
    root = resource.split(".")[0]
    name = _module_name_of(func, root)
    if name is None:
        return None
    # the resource itself (`db.session`), not all of what its root holds (`db.Model`)
    target = _qualified(func.module, name + resource[len(root):])
    found: cst.Call | None = None
    for node in iter_nodes(func.node.body):
        if node is try_stmt:
            break
        if not isinstance(node, cst.Call):
            continue
        called = dotted_name(node.func) or ""
        if called in (f"{resource}.commit", f"{name}{resource[len(root):]}.commit"):
            found = None
        elif target is not None and (_reaches(ctx, func, node, target, 0, set())
                                     or _through_a_holder(ctx, func, node, target,
                                                          {root, name})):
            found = node
    if found is None:
        return None
    return (f"`{resource}.rollback()` in the handler also undoes what "
            f"`{func.module.tree.code_for_node(found)}` did through the module's `{name}`, "
            "run before the `try` in the same transaction, and the code after it goes on "
            "as if that were kept")


def _through_a_holder(ctx: FileContext, func: FunctionInfo, call: cst.Call, target: str,
                      direct: set[str]) -> bool:
    """`call` works through an object that holds the module's connection or session
    (`target`), not named here: `repo.add(a)` or `repo.session.add(a)` where `repo`
    (the function's, or the module's) was made handed it (`Repo(Session)`), or is an
    instance of a project class whose attributes name it (`self.session = Session`).
    (`direct`: the names of the resource itself, whose work the equivalence check
    reads.)"""
    receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
    while isinstance(receiver, (cst.Attribute, cst.Call, cst.Subscript)):
        receiver = receiver.func if isinstance(receiver, cst.Call) else receiver.value
    if not isinstance(receiver, cst.Name) or receiver.value in direct:
        return False
    holder = receiver.value
    if holder in func.all_param_names():
        return False
    if holder in func.locals:
        values = [n.value for n in iter_nodes(func.node.body)
                  if isinstance(n, (cst.Assign, cst.AnnAssign, cst.NamedExpr))
                  and n.value is not None and holder in bound_names(n)]
        module = func.module
    else:
        values, module = list(func.module.assigns.get(holder, [])), func.module
    if any(_names(module, value, target) for value in values):
        return True
    made = ctx.index.evaluate_dotted(holder, func.module, func)
    if isinstance(made, Instance):
        held = [*made.cls.attributes.values(), *made.cls.class_values.values()]
        return any(_names(made.cls.module, v, target) for vs in held for v in vs)
    return False


def _names(module: ModuleInfo, expr: cst.BaseExpression, target: str) -> bool:
    """`expr` mentions the module-level `target` (`Session`, `db.conn`) by a name of
    `module`."""
    for node in iter_nodes(expr):
        used = dotted_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if used is not None and any(_qualified(module, used.rsplit(".", k)[0]) == target
                                    for k in range(used.count(".") + 1)):
            return True
    return False


def _reaches(ctx: FileContext, func: FunctionInfo, call: cst.Call, target: str,
             depth: int, seen: set[int]) -> bool:
    """`call` (in `func`) runs a project function that reads `target` (the dotted name
    of a module-level connection or session: `app.conn`, `db.conn`) without being
    handed it, by a module-level name of its own module (`conn`, `db.conn`), itself or
    through its own calls."""
    callee = ctx.index.evaluate(call.func, func.module, func)
    if not isinstance(callee, FunctionRef) or depth >= 3 or id(callee.func) in seen:
        return False
    inner = callee.func
    seen.add(id(inner))
    own = inner.locals.keys() | set(inner.all_param_names())
    for node in iter_nodes(inner.node.body):
        used = dotted_name(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        if used is not None and used.split(".")[0] not in own \
                and any(_qualified(inner.module, used.rsplit(".", k)[0]) == target
                        for k in range(used.count(".") + 1)):
            return True
    return any(_reaches(ctx, inner, c, target, depth + 1, seen) for c in inner.direct_calls)


def _fresh_from_every_caller(ctx: FileContext, func: FunctionInfo, param: str) -> bool:
    """Every use of `func` in the project is a call from a request handler that passes
    for `param` its own parameter filled by a dependency that makes a new session or
    connection per request (`db: Session = Depends(get_db)`), and reads that parameter
    nowhere before the call: the transaction `func` is handed holds nothing but what
    `func` does, as in a handler itself. (At least one such caller.)"""
    if func.parent is not None or func.cls is not None:
        return False
    params = func.param_names()
    position = params.index(param) if param in params else None
    found = 0
    for use in uses_of_function(ctx.index, func):
        call, caller = use.call, use.caller
        if call is None or caller is None or request_handler(ctx.index, caller) is None:
            return False
        passed = argument_for(call, param, position)
        if not isinstance(passed, cst.Name) \
                or not _fresh_dependency(ctx, caller, passed.value) \
                or _read_before(caller, call, passed.value, use.parents):
            return False
        found += 1
    return found > 0


def _fresh_dependency(ctx: FileContext, caller: FunctionInfo, name: str) -> bool:
    """`name` is a parameter of `caller` whose default is `Depends(dep)`, `dep` a
    generator of the project that yields a connection or session it makes."""
    found = depends_of(ctx.index, caller, name)
    if found is None or len(found[0].args) != 1:
        return False
    dep = ctx.index.evaluate(found[0].args[0].value, found[1], None)
    if not isinstance(dep, FunctionRef) or not dep.func.is_generator:
        return False
    yielded = [n.value for n in iter_nodes(dep.func.node.body)
               if isinstance(n, cst.Yield) and isinstance(n.value, cst.BaseExpression)]
    return len(yielded) == 1 and isinstance(
        ctx.index.evaluate(yielded[0], dep.func.module, dep.func), Connection)


def _read_before(caller: FunctionInfo, call: cst.Call, name: str,
                 parents: dict[int, cst.CSTNode]) -> bool:
    """`name` occurs in `caller` before `call` (source order, outside nested scopes),
    or `call` sits in a loop (a second call would find the first one's work)."""
    for anc in ancestors(call, parents):
        if anc is caller.node:
            break
        if isinstance(anc, (cst.For, cst.While)):
            return True
    def before(node: cst.CSTNode) -> bool | None:
        """True: `name` read before the call; False: the call reached first."""
        if node is call:
            return False
        if isinstance(node, cst.Name) and node.value == name:
            return True
        for child in children(node):
            found = before(child)
            if found is not None:
                return found
        return None

    return bool(before(caller.node.body))

#: whatever the caller did in it before is lost already, and a rollback discards
#: nothing the original would have kept
_WHOLE_TRANSACTION_ABORTS = frozenset({
    "psycopg2", "psycopg2-pool", "psycopg", "psycopg-async", "psycopg-pool",
    "psycopg-pool-async", "psycopg-pool-returning", "asyncpg", "asyncpg-pool",
    "aiopg", "aiopg-pool", "aiopg-sa"})

#: what a `try` body may do with a session for a failure there to have rolled the
#: session's transaction back already (a failed flush does: SQLAlchemy rolls back
#: and waits for `rollback()`): queueing changes, then flushing or committing them
_FLUSH_ONLY_METHODS = frozenset({"add", "add_all", "delete", "expunge", "flush", "commit"})


#: session methods that only queue a change, and may refuse their object on the client
#: before anything reaches the server (SQLAlchemy's `InvalidRequestError`: an instance
#: not persisted, attached to another session, not mapped, not in this session)
_QUEUEING_METHODS = frozenset({"add", "add_all", "delete", "expunge"})
#: error classes that do not take that refusal (a statement's error, from the flush)
_NOT_A_REFUSAL = frozenset({"DBAPIError", "DatabaseError"})


def _refused_on_the_client(try_stmt: cst.Try | cst.TryStar,
                           handler: cst.ExceptHandler | cst.ExceptStarHandler,
                           resource: str) -> str | None:
    """The first `<resource>.add/add_all/delete/expunge(...)` of the `try` body (before
    any `<resource>.commit()`), when the handler takes the error it raises on the
    client: there the session's transaction is not rolled back (no flush has failed),
    so what `_only_flushes` relies on does not hold, and a rollback in the handler
    discards what the transaction held from before this call. None when the handler
    takes only errors a statement raises (`IntegrityError`, `DBAPIError`), or there is
    no such call."""
    if handler.type is not None and all(
            (dotted_name(t) or "").rsplit(".", 1)[-1] in _SERVER_ONLY_ERRORS | _NOT_A_REFUSAL
            for t in exception_types(handler.type)):
        return None
    for node in iter_nodes(try_stmt.body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and dotted_name(node.func.value) == resource:
            method = node.func.attr.value
            if method == "commit":
                return None
            if method in _QUEUEING_METHODS:
                return method
    return None


def _session_reached_otherwise(ctx: FileContext, func: FunctionInfo,
                               try_stmt: cst.Try | cst.TryStar,
                               handler: cst.ExceptHandler | cst.ExceptStarHandler,
                               resource: str) -> str | None:
    """Why the `try` may work on `resource` under another name before its first
    `<resource>.commit()` / `flush()`, where `_only_flushes` and
    `_refused_on_the_client` read only calls spelled on `resource`: a local bound to
    it or to one of its methods (`s = db.session`, `add = db.session.add`), a
    Flask-SQLAlchemy `Model.query` (the same session), or a call of a project
    function (which may queue an object or query on it). Each of these can raise on
    the client (`UnmappedInstanceError`, `NoResultFound`) or fail one statement,
    with nothing rolled back; the rollback then discards what the transaction held
    before. None when the handler takes only errors a statement raises, or there is
    none of these."""
    if handler.type is not None and all(
            (dotted_name(t) or "").rsplit(".", 1)[-1] in _SERVER_ONLY_ERRORS | _NOT_A_REFUSAL
            for t in exception_types(handler.type)):
        return None
    aliases: set[str] = set()
    for name, values in func.locals.items():
        for bound in values:
            if isinstance(bound, (cst.Name, cst.Attribute)):
                dotted = dotted_name(bound) or ""
                if dotted == resource or dotted.startswith(resource + "."):
                    aliases.add(name)
    # a query run is named only when nothing more telling comes before the commit
    # (`User.query` inside `User.query.filter_by(...).one()`)
    ran: str | None = None
    for node in iter_nodes(try_stmt.body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and dotted_name(node.func.value) == resource \
                and node.func.attr.value in ("commit", "flush"):
            return ran
        if isinstance(node, cst.Name) and node.value in aliases:
            return (f"`{node.value}` is `{resource}` (or one of its methods) under another "
                    "name, used before the commit")
        if isinstance(node, cst.Attribute) and node.attr.value == "query" \
                and dotted_name(node.value) != resource:
            shown = dotted_name(node) or "query"
            return (f"`{shown}` queries through the same session (Flask-SQLAlchemy's "
                    "`Model.query`) before the commit")
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in _QUERY_RUNS \
                and dotted_name(node.func.value) != resource:
            ran = ran or (f"`.{node.func.attr.value}()` may run a query (a query object "
                          "made elsewhere, a dynamic relationship) or raise `NoResultFound` "
                          "before the commit")
            continue
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "get" \
                and dotted_name(node.func.value) != resource \
                and _names_a_query(ctx, func, node.func.value):
            ran = ran or ("`.get()` on a query made elsewhere may run a query, or refuse its "
                          "argument or the query on the client (`InvalidRequestError`), "
                          "before the commit")
            continue
        cascade = _relationship_cascade(ctx, node)
        if cascade is not None:
            return (f"`{cascade}` sets a relationship before the commit, whose cascade "
                    "refuses an object attached to another session on the client")
        if isinstance(node, cst.Call):
            callee = ctx.index.evaluate(node.func, func.module, func)
            if isinstance(callee, FunctionRef):
                shown = dotted_name(node.func) or callee.func.name
                return (f"`{shown}()` is a project function called before the commit, "
                        f"which may work on `{resource}` (queue an object, query)")
    return ran


#: methods of a query or a result that run it, or that raise on the client when it
#: finds no row or several (`NoResultFound`, `MultipleResultsFound`), called on
#: something other than the session itself (a query object bound elsewhere, a
#: parameter, an attribute, a dynamic relationship)
_QUERY_RUNS = frozenset({
    "one", "one_or_none", "scalar_one", "scalar_one_or_none", "get_one", "first", "all",
    "scalar", "scalars", "first_or_404", "one_or_404", "get_or_404", "paginate"})
#: the classes of a query object (`Query.get()` looks a row up by primary key)
_QUERY_CLASSES = frozenset({"Query", "BaseQuery", "AppenderQuery", "DynamicQuery"})
#: names a parameter of unknown value is read as a query by (`def find(query, pk)`)
_QUERY_NAMES = frozenset({"query", "q", "qs"})


def _names_a_query(ctx: FileContext, func: FunctionInfo | None, expr: cst.BaseExpression,
                   depth: int = 0, module: ModuleInfo | None = None) -> bool:
    """`expr`, the receiver of a `.get(...)` call, is a SQLAlchemy query (where `dict.get`
    is not): a chain through `.query` or `.query(...)` (`Session.query(Item)`,
    `User.query.filter(...)`), a call of a query class, a project relationship (a dynamic
    one is a query), or a name bound to one of these: a local, a module's name, an
    attribute of `self` its class sets; a parameter annotated as a query, named as one
    (`query`, `q`, `..._query`), or handed one by a caller in the project (`rename(
    Session.query(Item), ...)`). `func` None: `expr` is read at the top level of `module`.
    `Query.get()` runs a SELECT that may fail alone, and
    refuses on the client, with nothing rolled back, a query with criteria
    (`InvalidRequestError`) or a key of the wrong shape."""
    if depth > 3:
        return False
    node: cst.BaseExpression = expr
    while isinstance(node, (cst.Call, cst.Attribute)):
        if isinstance(node, cst.Call):
            if (dotted_name(node.func) or "").rsplit(".", 1)[-1] in _QUERY_CLASSES:
                return True
            node = node.func
            continue
        if node.attr.value == "query":
            return True
        node = node.value
    home = func.module if func is not None else module
    values: Sequence[object] = ()
    if isinstance(expr, cst.Attribute):
        if expr.attr.value in _relationship_names(ctx):
            return True
        if isinstance(expr.value, cst.Name) and expr.value.value == "self" \
                and func is not None and func.cls is not None:
            values = [*func.cls.attributes.get(expr.attr.value, ()),
                      *func.cls.class_values.get(expr.attr.value, ())]
    elif isinstance(expr, cst.Name):
        name = expr.value
        if func is not None and name in func.locals:
            values = func.locals[name]
        elif func is not None and name in func.all_param_names():
            annotation = param_annotation(func, name)
            if annotation is not None:
                shown = dotted_name(annotation.value if isinstance(annotation, cst.Subscript)
                                    else annotation) or ""
                return shown.rsplit(".", 1)[-1] in _QUERY_CLASSES
            lowered = name.lower()
            if lowered in _QUERY_NAMES or lowered.endswith("_query"):
                return True
            return any(_names_a_query(ctx, use.caller, arg, depth + 1, use.module)
                       for use, arg in _handed_arguments(ctx, func, name))
        elif home is not None:
            values = home.assigns.get(name, ())
    return any(isinstance(v, cst.BaseExpression)
               and _names_a_query(ctx, func, v, depth + 1, module)
               for v in values)


def _handed_arguments(ctx: FileContext, func: FunctionInfo, name: str
                      ) -> Iterator[tuple[FunctionUse, cst.BaseExpression]]:
    """What each call of `func` in the project passes for its parameter `name` (by
    position or keyword), with the use it comes from."""
    params = func.param_names()
    position = params.index(name) if name in params else None
    for use in uses_of_function(ctx.index, func):
        call = use.call
        if call is None:
            continue
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value == name:
                yield use, arg.value
        if position is not None and position < len(positional):
            yield use, positional[position].value


#: collection methods of a relationship's list or set that cascade their object
_COLLECTION_CHANGES = frozenset({"append", "extend", "insert", "add", "update", "__setitem__"})
#: SQLAlchemy's calls that declare a relationship
_RELATIONSHIP_CALLS = frozenset({"relationship", "relation", "dynamic_loader"})


def _relationship_cascade(ctx: FileContext, node: cst.CSTNode) -> str | None:
    """`x.attr = ...` (or `x.attr.append(...)`, ...) where `attr` is the name of a
    relationship some project model declares (or its backref): SQLAlchemy's
    save-update cascade adds the object to the session at once, and refuses one
    attached to another session (`InvalidRequestError`) before any flush. The text
    shown, or None."""
    names = _relationship_names(ctx)
    if not names:
        return None
    if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) \
            else [node.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and target.attr.value in names:
                return f"{dotted_name(target) or target.attr.value} = ..."
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
            and node.func.attr.value in _COLLECTION_CHANGES \
            and isinstance(node.func.value, cst.Attribute) \
            and node.func.value.attr.value in names:
        return f"{dotted_name(node.func) or node.func.attr.value}()"
    return None


def _relationship_names(ctx: FileContext) -> frozenset[str]:
    """The attribute names of the project's relationships: the targets of
    `name = relationship(...)` (`db.relationship`, `Mapped[...] = relationship(...)`)
    and the names their `backref=` gives the other side."""
    def compute() -> frozenset[str]:
        found: set[str] = set()
        for module in ctx.index.modules_calling(_RELATIONSHIP_CALLS):
            for node in iter_nodes(module.tree, into_functions=True):
                if isinstance(node, (cst.Assign, cst.AnnAssign)) \
                        and isinstance(node.value, cst.Call) \
                        and call_name(node.value) in _RELATIONSHIP_CALLS:
                    targets = [t.target for t in node.targets] \
                        if isinstance(node, cst.Assign) else [node.target]
                    found.update(t.value for t in targets if isinstance(t, cst.Name))
                    backref = argument_for(node.value, "backref", None)
                    if isinstance(backref, cst.Call) and backref.args:
                        backref = backref.args[0].value
                    named = string_value(backref) if backref is not None else None
                    if named:
                        found.add(named)
        return frozenset(found)
    return ctx.index.derived("ps103.relationship_names", compute)


def _only_flushes(try_stmt: cst.Try | cst.TryStar, resource: str) -> bool:
    """The `try` body uses `resource` only to queue changes and flush or commit them:
    what fails there is the flush, after which the transaction is rolled back
    already, so a rollback in the handler undoes nothing more."""
    uses = 0
    flushed = False
    for node in iter_nodes(try_stmt.body):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and dotted_name(node.func.value) == resource:
            if node.func.attr.value not in _FLUSH_ONLY_METHODS:
                return False
            flushed = flushed or node.func.attr.value in ("flush", "commit")
            uses += 1
        elif isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == resource:
            uses -= 1  # every use must be the receiver of one of those calls
    return uses == 0 and flushed


#: methods that end or replace the transaction a savepoint would live in
_ENDS_TRANSACTION = frozenset({"commit", "rollback", "close", "begin", "begin_nested",
                               "transaction", "reset", "invalidate", "expunge_all"})


def _savepoint_fix(code: str, ctx: FileContext, func: FunctionInfo, try_stmt: cst.CSTNode,
                   handler: cst.CSTNode, resource: str, kind_key: str,
                   is_async: bool) -> FixPlan | str:
    """Inside a loop, a plain rollback would also discard what earlier iterations
    did; a savepoint around the `try` body undoes only the failed iteration:

        for item in items:              for item in items:
            try:                            try:
                db.add(item)       ->           with db.begin_nested():
                db.flush()                          db.add(item)
            except IntegrityError:                  db.flush()
                log(item)                   except IntegrityError:
                                                log(item)

    psycopg2, which has no savepoint context manager, gets the savepoint in SQL
    (`poolsafe.fix.fixers.sql_savepoint`). Otherwise (the caller falls back to the
    rollback, or refuses) the reason: the driver has no savepoint at all, or the
    body ends the transaction itself or hands the connection to a call that might
    (a helper that commits inside a savepoint breaks it)."""
    kind = CONNECTION_KINDS.get(kind_key)
    method = kind.savepoint_method if kind is not None else None
    if method is None and kind_key not in SQL_SAVEPOINT_KINDS:
        return "the driver has no savepoint context manager"
    if not isinstance(try_stmt, cst.Try) or not isinstance(try_stmt.body, cst.IndentedBlock):
        return "the `try` body is not a block"
    root = resource.split(".")[0]
    for node in iter_nodes(try_stmt.body):
        if isinstance(node, cst.Yield):
            return "the `try` body yields (a savepoint held across a suspension)"
        if not isinstance(node, cst.Call):
            continue
        callee = dotted_name(node.func)
        if callee is not None and callee.startswith(resource + ".") and \
                callee.rsplit(".", 1)[-1] in _ENDS_TRANSACTION:
            return f"the `try` body calls `{callee}()`"
        for arg in node.args:
            if any(isinstance(n, cst.Name) and n.value == root for n in iter_nodes(arg.value)):
                return f"the `try` body passes `{root}` to a call that may commit"
    plan = FixPlan(code, f"undo only the failed iteration: a savepoint on `{resource}` "
                         f"around the `try` body")
    if not all(_catches_only_db_errors(ctx, func, h) for h in try_stmt.handlers):
        plan.mark_unsafe("a handler also catches non-database errors, which now undo "
                         "the iteration's work too")
    if method is None:  # psycopg2: SAVEPOINT / ROLLBACK TO SAVEPOINT in SQL
        if len(try_stmt.handlers) != 1 or not isinstance(handler, cst.ExceptHandler):
            return "the `try` has several handlers (one savepoint rollback each, by hand)"
        if any(isinstance(n, (cst.Await, cst.Yield)) for n in iter_nodes(try_stmt.body)):
            return "the `try` body awaits or yields"
        plan.description = (f"undo only the failed iteration: `SAVEPOINT` on `{resource}` "
                            "at the top of the `try` body, `ROLLBACK TO SAVEPOINT` in the "
                            "handler")
        return sql_savepoint_plan(plan, ctx.module.tree, try_stmt, handler, resource)
    body = try_stmt.body
    inner = body.with_changes(header=cst.TrailingWhitespace())
    with_stmt = cst.With(
        items=[cst.WithItem(item=cst.parse_expression(f"{resource}.{method}()"))],
        body=inner,
        asynchronous=cst.Asynchronous() if is_async else None,
    )
    outer = cst.IndentedBlock(body=[with_stmt], header=body.header, indent=body.indent)
    plan.replace(try_stmt, try_stmt.with_changes(body=outer))
    return plan


#: kinds whose rollback() after a lost connection does not raise (SQLAlchemy
#: invalidates the connection and rolls back the session's state)
_ROLLBACK_SURVIVES_LOSS = frozenset({"session", "scoped-session", "async-session",
                                     "sqlalchemy-connection", "sqlalchemy-async-connection"})


def _lost_connection(ctx: FileContext, func: FunctionInfo,
                     handler: cst.ExceptHandler | cst.ExceptStarHandler,
                     resource: str) -> str | None:
    """Why the handler may run on a lost connection whose rollback() raises too."""
    kind = FunctionResources(ctx.index, func).kind(resource)
    if kind is not None and kind.key in _ROLLBACK_SURVIVES_LOSS:
        return None
    return connection_lost_reason(handler, resource)


def _loop_work_lost(func: FunctionInfo, try_stmt: cst.Try | cst.TryStar,
                    resource: str) -> str | None:
    """Why a rollback in this loop's handler would lose work someone keeps: the
    function commits it outside the `try` (after the loop, say), or the connection
    is not the function's own (a parameter, an attribute: its owner may commit).
    None when the `try` body commits each iteration itself (the rollback then only
    undoes the failed iteration) or nothing ever commits."""
    if any(dotted_name(c.func) == f"{resource}.commit" for c in iter_calls(try_stmt.body)):
        return None
    root = resource.split(".")[0]
    if "." in resource or root in func.all_param_names() or root not in func.locals:
        return f"`{resource}` belongs to the caller, who may commit them"
    commits = [c for c in func.direct_calls if dotted_name(c.func) == f"{resource}.commit"]
    if any(not any(n is c for n in iter_nodes(try_stmt)) for c in commits):
        return f"`{resource}.commit()` later stores only the iterations after the rollback"
    return None


#: calls that raise the driver's own error class on the client, where the server
#: aborted nothing: a fetch after a statement that returns no rows (psycopg2's
#: `ProgrammingError: no results to fetch`), `.one()` finding no row or several
#: (SQLAlchemy's `NoResultFound`, `MultipleResultsFound`, both `SQLAlchemyError`s)
_CLIENT_ERROR_CALLS = frozenset({"fetchone", "fetchall", "fetchmany", "one", "scalar_one",
                                 "one_or_none", "scalar_one_or_none", "get_one"})
#: error classes only a statement the server rejected raises (its transaction aborted)
_SERVER_ONLY_ERRORS = frozenset({
    "IntegrityError", "DataError", "OperationalError", "InternalError", "NotSupportedError",
    "TransactionRollbackError", "SerializationFailure", "DeadlockDetected", "UniqueViolation",
    "ForeignKeyViolation", "CheckViolation", "NotNullViolation", "ExclusionViolation",
    "QueryCanceled", "LockNotAvailable"})
_JUMPS = (cst.Raise, cst.Return, cst.Continue, cst.Break)


def _client_error_work_committed(func: FunctionInfo, try_stmt: cst.Try | cst.TryStar,
                                 handler: cst.ExceptHandler | cst.ExceptStarHandler,
                                 resource: str,
                                 parents: dict[int, cst.CSTNode]) -> str | None:
    """Why the rollback would discard work the original commits: the `try` calls
    something that raises the driver's error without the server aborting the
    transaction (`cur.fetchone()` after an INSERT, `query.one()` finding no row),
    the handler takes that error and falls through, and `<resource>.commit()` runs
    after the `try`. There the original stores what the transaction did before the
    error (the INSERT, the flushed object); the rollback discards it. None otherwise
    (a handler of server errors only, one that re-raises or returns, no such call,
    no later commit)."""
    if not _takes_client_errors(handler):
        return None
    call = next(_client_error_calls(try_stmt.body, {}), None)
    refused = _refused_on_the_client(try_stmt, handler, resource)
    unrolled = _fails_unrolled_after_work(try_stmt, resource)
    if call is None and refused is None and unrolled is None:
        return None
    if not _commits_after(func, try_stmt, resource, parents):
        return None
    why = (f"`{call}()` can raise the driver's error without the server aborting the "
           "transaction (no result set to fetch, no row for `one()`)") if call is not None \
        else (f"`{resource}.{refused}()` can refuse its object on the client (SQLAlchemy's "
              "`InvalidRequestError`: not persisted, attached to another session) with "
              "nothing rolled back") if refused is not None \
        else (f"`{resource}.{unrolled}()` after earlier work in the `try` can fail on the "
              "client (an object not persisted, not mapped) or fail one statement with "
              "nothing rolled back")
    return (f"{why}, and then `{resource}.commit()` after the `try` stores what the "
            "transaction did before it; the rollback discards that work")


#: session methods whose failure rolls the session's transaction back (a failed flush)
_ROLLED_BACK_ON_FAILURE = frozenset({"flush", "commit"})
#: session methods that end or replace the transaction (not work of their own)
_NOT_WORK = frozenset({"rollback", "close", "begin", "begin_nested", "expunge_all",
                       "invalidate", "reset"})


def _fails_unrolled_after_work(try_stmt: cst.Try | cst.TryStar, resource: str) -> str | None:
    """The method of the first `<resource>.<method>(...)` call of the `try` body,
    before any `<resource>.commit()`, that can fail without rolling the transaction
    back (anything but `flush` / `commit`: `merge`, `refresh`, `get`, `execute`, ...),
    where work on `resource` comes before it in the `try` (an earlier call, or the
    same call in an earlier iteration of a loop in the `try`). A commit after the `try`
    stores that work in the original; a rollback in the handler discards it."""
    parents = parent_map(try_stmt)
    worked = False
    for node in iter_nodes(try_stmt.body):
        if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and dotted_name(node.func.value) == resource):
            continue
        method = node.func.attr.value
        if method == "commit" or method in _NOT_WORK:
            return None
        if method not in _ROLLED_BACK_ON_FAILURE:
            looped = any(isinstance(a, (cst.For, cst.While)) for a in ancestors(node, parents))
            if worked or looped:
                return method
        worked = True
    return None


def _commits_after(func: FunctionInfo, try_stmt: cst.Try | cst.TryStar, resource: str,
                   parents: dict[int, cst.CSTNode]) -> bool:
    """`<resource>.commit()` runs in a statement after the `try` (in this function)."""
    barriers = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
    return any(dotted_name(c.func) == f"{resource}.commit"
               for st in statements_after(try_stmt, func.node, parents, barriers)
               for c in iter_calls(st))


def _takes_client_errors(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """The handler takes errors the driver raises on the client (it is not a handler
    of server errors only, `IntegrityError`) and does not leave by a jump."""
    stmts = body_statements(handler.body)
    last = stmts[-1] if stmts else None
    if isinstance(last, cst.SimpleStatementLine) and last.body \
            and isinstance(last.body[-1], _JUMPS):
        return False
    return handler.type is None or not all(
        (dotted_name(t) or "").rsplit(".", 1)[-1] in _SERVER_ONLY_ERRORS
        for t in exception_types(handler.type))


def _client_error_on_pending_work(try_stmt: cst.Try | cst.TryStar,
                                  handler: cst.ExceptHandler | cst.ExceptStarHandler,
                                  resource: str) -> str | None:
    """Why the exemption for a PostgreSQL-only driver ("the failed statement aborted the
    whole transaction, and the caller's earlier work with it") does not hold: the `try`
    calls something that raises the driver's error on the client, with the server
    aborting nothing (`cur.fetchone()` after an INSERT that returns no rows), with no
    `<resource>.commit()` among the statements of the `try` before it, and the handler
    takes that error and falls through. Then the transaction is still alive: the
    original leaves the INSERT (and what earlier callers did) for whoever commits the
    connection later, and the rollback discards it. None otherwise."""
    if not _takes_client_errors(handler):
        return None
    executed: dict[str, str | None] = {}
    for stmt in body_statements(try_stmt.body):
        client = next(_client_error_calls(stmt, executed), None)
        if client is not None:
            return (f"`{client}()` can raise the driver's error without the server "
                    "aborting the transaction (no result set to fetch, no row for "
                    "`one()`): the transaction stays open with what was done before it, "
                    "which the code that commits this connection later stores; the "
                    "rollback discards it")
        if isinstance(stmt, cst.SimpleStatementLine) and any(
                dotted_name(c.func) == f"{resource}.commit" for c in iter_calls(stmt)):
            return None  # nothing is pending past this commit
    return None


def _client_error_calls(node: cst.CSTNode, executed: dict[str, str | None]) -> Iterator[str]:
    """The names of the calls under `node`, in order, that raise the driver's error on
    the client with nothing aborted on the server: `one()` and its kin, and a fetch
    from a cursor unless the statement last executed on it (`executed`, by cursor,
    updated here) is a literal that returns rows (`SELECT ...`, `... RETURNING id`)."""
    for call in iter_calls(node):
        func = call.func
        if not isinstance(func, cst.Attribute):
            continue
        receiver, name = dotted_name(func.value), func.attr.value
        if name in ("execute", "executemany") and receiver is not None:
            args = positional_args(call)
            executed[receiver] = string_value(args[0]) if args else None
        elif name in _CLIENT_ERROR_CALLS and not (
                name.startswith("fetch") and _returns_rows(executed.get(receiver or ""))):
            yield name


def _returns_rows(sql: str | None) -> bool:
    """A statement that always has a result set: a fetch after it raises nothing of its
    own."""
    if sql is None:
        return False
    text = sql.strip().upper()
    return text.startswith(("SELECT", "SHOW", "VALUES")) or "RETURNING" in text


#: what pushes a Flask application context around a block
_APP_CONTEXT_METHODS = frozenset({"app_context", "test_request_context"})


def _used_only_in_app_context(ctx: FileContext, func: FunctionInfo,
                              try_stmt: cst.Try | cst.TryStar, resource: str) -> str | None:
    """Why no rollback fits: `resource` is Flask-SQLAlchemy's `db.session`, and every use
    of it in the `try` is inside a `with app.app_context():` block there, which the
    handler runs after. Leaving the context removed the session (rolled back and
    closed), and outside any app context Flask-SQLAlchemy 3's `db.session` raises
    `RuntimeError: Working outside of application context`: the rollback would turn a
    handled error into that one. None otherwise."""
    root, _, attr = resource.partition(".")
    if attr != "session":
        return None
    value = ctx.index.evaluate_dotted(root, func.module, func)
    if not isinstance(value, LibraryObject) or value.type_key != "flask_sqlalchemy":
        return None
    blocks = [w for w in iter_nodes(try_stmt.body) if isinstance(w, cst.With) and any(
        isinstance(item.item, cst.Call) and isinstance(item.item.func, cst.Attribute)
        and item.item.func.attr.value in _APP_CONTEXT_METHODS for item in w.items)]
    if not blocks:
        return None
    inside = {id(n) for w in blocks for n in iter_nodes(w.body)}
    uses = [n for n in iter_nodes(try_stmt.body)
            if isinstance(n, cst.Attribute) and dotted_name(n) == resource]
    if not uses or any(id(u) not in inside for u in uses):
        return None
    return (f"`{resource}` is used only inside `with ...app_context():` in the `try`, "
            "and the handler runs after that block: leaving the app context already "
            f"removed the session (rolled back), and outside it `{resource}` raises "
            "RuntimeError (Flask-SQLAlchemy 3): no rollback is needed there; roll back "
            "inside the `with` block, by hand, if the error is handled there")


def _ends_app_context(ctx: FileContext, func: FunctionInfo,
                      handler: cst.ExceptHandler | cst.ExceptStarHandler,
                      resource: str) -> bool:
    """The handler ends a `with app.app_context():` block on Flask-SQLAlchemy's
    `db.session`: its `try` is the block's last statement, directly in it (no loop
    between), and neither the handler nor an `else`/`finally` of that `try` names the
    session, and it calls no project function (one may use the session). Leaving the
    context right after it removes the session (Flask-SQLAlchemy
    tears it down with the context: rolled back, connection returned), so no later
    statement meets the failed transaction."""
    root, _, attr = resource.partition(".")
    if attr != "session":
        return False
    value = ctx.index.evaluate_dotted(root, func.module, func)
    if not isinstance(value, LibraryObject) or value.type_key != "flask_sqlalchemy":
        return False
    parents = parent_map(ctx.module.tree)
    try_stmt = parents.get(id(handler))
    if not isinstance(try_stmt, (cst.Try, cst.TryStar)):
        return False
    block = parents.get(id(try_stmt))
    with_stmt = parents.get(id(block)) if block is not None else None
    if not isinstance(block, cst.IndentedBlock) or not isinstance(with_stmt, cst.With) \
            or not block.body or block.body[-1] is not try_stmt:
        return False
    if not any(isinstance(item.item, cst.Call) and isinstance(item.item.func, cst.Attribute)
               and item.item.func.attr.value == "app_context" for item in with_stmt.items):
        return False
    rest: list[cst.CSTNode] = [handler]
    if try_stmt.orelse is not None:
        rest.append(try_stmt.orelse)
    if try_stmt.finalbody is not None:
        rest.append(try_stmt.finalbody)
    nodes = [n for part in rest for n in iter_nodes(part)]
    if any(isinstance(n, cst.Attribute) and dotted_name(n) == resource for n in nodes):
        return False
    # a project helper the handler calls may use the session itself (a job's status
    # update on the failed session): only library calls (logging) are taken
    for n in nodes:
        if isinstance(n, cst.Call):
            name = call_name(n)
            if name is None or ctx.index.is_project_function_name(name):
                return False
    return True


def _undone(state: SessionState, what: str) -> str:
    where = f"in `{state.where}()`, which the connection comes from, " if state.where else ""
    return (f"{what} would also undo `{state.sql}` ({state.what} set {where}earlier in "
            "this transaction), and the statements after it would run without it")


def _exception_name(handler: cst.ExceptHandler | cst.ExceptStarHandler,
                    func: FunctionInfo) -> str:
    """The name the handler binds its exception to (a fresh one when it binds none).
    A fresh name is one the function neither binds nor reads: binding a name it reads
    as a global (`from sqlalchemy import exc`, then `exc.IntegrityError`) would make it
    local to the whole function, shadowed in the handler and unbound elsewhere."""
    if handler.name is not None and isinstance(handler.name.name, cst.Name):
        return handler.name.name.value
    taken = set(func.locals) | func.all_param_names() | names_in(func.node)
    for candidate in ("exc", "db_error", "error"):
        if candidate not in taken:
            return candidate
    return "poolsafe_exc"


def _containing_error(kind: ConnectionKind | None,
                      handler: cst.ExceptHandler | cst.ExceptStarHandler,
                      ) -> tuple[str, str, str] | None:
    """The error class to contain a rollback's own failure with, when the handler
    may run on a lost connection whose `rollback()` raises (a plain driver
    connection in a broad or driver-base handler), else None."""
    if kind is not None and kind.key in _ROLLBACK_SURVIVES_LOSS:
        return None
    names = ({"Exception"} if handler.type is None else
             {(dotted_name(t) or "").rsplit(".", 1)[-1] for t in exception_types(handler.type)})
    if not names & LOST_CONNECTION_HANDLERS:
        return None
    if kind is not None and kind.db_error is not None:
        return kind.db_error
    return ("", "", "Exception")


def _indented(source: str, indent: str, newline: str) -> str:
    return newline.join(indent + line if line else line for line in source.split(newline))


def _statement_source(module: cst.Module, stmt: cst.BaseStatement) -> str:
    return module.code_for_node(stmt).strip()


def _in_function_loop(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> bool:
    for anc in ancestors(node, parents):
        if isinstance(anc, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        if isinstance(anc, (cst.For, cst.While)):
            return True
    return False


def _catches_only_db_errors(ctx: FileContext, func: FunctionInfo,
                            handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    if handler.type is None:
        return False
    return all(dotted_name(t) not in BROAD_EXCEPTIONS
               and is_db_error_type(ctx.index, t, ctx.module, func)
               for t in exception_types(handler.type))


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _binding_state(func: FunctionInfo, root: str, try_stmt: cst.CSTNode,
                   parents: dict[int, cst.CSTNode]) -> str:
    """'bound', 'maybe-none', 'unbound' (assigned only inside the try) or 'unknown'."""
    params = func.node.params
    for p in (*params.posonly_params, *params.params, *params.kwonly_params):
        if p.name.value == root:
            return "maybe-none" if p.default is not None and _is_none(p.default) else "bound"
    if root not in func.locals or root in func.globals_declared:
        return "bound"  # a module-level name, `self`, ...
    any_none = any(_is_none(v) for v in func.locals[root] if isinstance(v, cst.BaseExpression))
    # statements that run before the try on the way to it
    child: cst.CSTNode = try_stmt
    for anc in ancestors(try_stmt, parents):
        if isinstance(anc, cst.IndentedBlock):
            before = []
            for s in anc.body:
                if s is child:
                    break
                before.append(s)
            for s in reversed(before):
                if isinstance(s, cst.SimpleStatementLine) and root in bound_names(s):
                    return "maybe-none" if any_none else "bound"
        if isinstance(anc, cst.FunctionDef):
            break
        if isinstance(anc, cst.With) and any(
                i.asname is not None and isinstance(i.asname.name, cst.Name)
                and i.asname.name.value == root for i in anc.items):
            return "maybe-none" if any_none else "bound"
        child = anc
    inside = any(root in bound_names(s) for s in iter_nodes(try_stmt)
                 if isinstance(s, cst.SimpleStatementLine))
    return "unbound" if inside else "unknown"
