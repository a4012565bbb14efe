"""PS202 engine-per-call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import libcst as cst

from poolsafe.analysis.caller_urls import callers_dialect
from poolsafe.analysis.cstutil import (
    argument_for,
    body_statements,
    call_name,
    dotted_name,
    iter_calls,
    iter_nodes,
    keyword_arg,
    loop_own_nodes,
    positional_args,
    strip_await,
)
from poolsafe.analysis.di_providers import per_injection_factory
from poolsafe.analysis.engines import (
    GINO_BIND_QUALNAME,
    EngineCall,
    engine_calls,
    engine_url,
    gives_held_connection,
    holds_no_server_slot,
    pool_constructor_calls,
)
from poolsafe.analysis.frameworks import route_framework
from poolsafe.analysis.index import ProjectIndex, per_request_class
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.one_shot import discarded_engine, per_request_app
from poolsafe.analysis.project_facts import (
    CallSite,
    command_run_again,
    facts,
    in_loop,
    is_cli_entry,
    is_test_module,
    request_handler,
)
from poolsafe.analysis.provisioning import provisions_only
from poolsafe.analysis.resolution import (
    call_options,
    decorator_target,
    dialect_of,
    external_name,
    inventory,
    qual_match,
    string_prefix,
)
from poolsafe.analysis.untaken_returns import falsy_literal, rebinds
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
    LibraryObject,
)
from poolsafe.core.model import RawFinding, Severity
from poolsafe.core.positions import spans
from poolsafe.fix.fixers.callers import uses_of_function
from poolsafe.knowledge.frameworks import (
    CACHING_DECORATORS,
    ENGINE_OFFLINE_ATTRIBUTES,
    STORE_METHODS,
    WEB_APPLICATION_TYPES,
)
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps202 import INVALID, VALID


class EnginePerCall(Rule):
    """
    ## What it does
    Flags `create_engine(...)` / `create_async_engine(...)`, or another pool
    constructor (`asyncpg.create_pool`, psycopg2's `SimpleConnectionPool` /
    `ThreadedConnectionPool`, `psycopg_pool.ConnectionPool` /
    `AsyncConnectionPool`, `aiopg.create_pool`, `aiomysql.create_pool`, the
    aiopg.sa and aiomysql.sa `create_engine`, Gino's `gino.create_engine`, DBUtils'
    `PooledDB` / `PersistentDB`, mysql.connector's `MySQLConnectionPool`), inside a
    function whose
    engine (or pool) does not outlive the call: it is neither returned or yielded,
    stored on a global (`global engine`), an attribute (`self.engine = ...`,
    `app.engine = ...`), handed to the base class's constructor in `__init__`
    (`super().__init__(engine, ...)`, which keeps it on the instance being built)
    or a container that outlives the function, nor bound to a
    session factory (`maker.configure(bind=engine)`, `db_session.configure(bind=
    engine)` on a module's `sessionmaker` or `scoped_session`; not where the binding
    runs for every request, unguarded by an `if`: in a route, a per-request dependency
    or a method of a Tornado `RequestHandler` such as `initialize()` or `prepare()`,
    the factory keeps only the latest engine and each request drops the one before
    it, so that is reported, directly or through a factory the handler calls), nor kept by a
    caching decorator (`functools.lru_cache`, `functools.cache`,
    `cached_property`, or one the project writes itself: a decorator whose wrapper
    stores the function's result under an `if` -- `setattr(self, slot, await
    method(self))`, `cache[key] = fn(key)` -- and returns only that stored value,
    as coroutine caches do since `functools` does not cache coroutines). Names
    derived from the engine (`Session = sessionmaker(bind=engine)`) carry it:
    returning the sessionmaker, or a session made from it (`return
    sessionmaker(engine)()`), keeps the engine alive. A default built only when
    the caller passed none (`self.pool = pool or ConnectionPool(url)`, `engine if
    engine is not None else create_engine(url)`) goes where the expression goes:
    stored on the object, it is kept. So does a record built around it by a
    constructor (a CapWords callee such as a namedtuple class:
    `Target._engines[url] = self.Entry(engine, pid)` keeps it in a class-level
    dict, once per process), and so does an alternative constructor
    (`return cls(create_engine(url))` in a `@classmethod`): the instance keeps the
    engine, and the callers of the constructor are followed like a factory's.
    `typing.cast(Pool, pool)` is the pool itself: returning it returns the pool.
    Handing it to a method of the same instance that stores it there
    (`self._initialize(pool)` whose body does `self._pool = pool`) keeps it too.
    An engine or pool built in a `lambda` goes where the lambda goes when the object
    that stores the lambda only calls it to keep what it builds: a lazy pool holder
    (`self.factory = lambda: create_engine(uri)` then `self.engine = self.factory()`
    in `__init__`, or `if self._pool is None: self._pool = self._factory()`; also a
    project class the lambda is handed to, `LazyPool(lambda: create_pool(dsn))`,
    whose `__init__` stores it). One whose holder calls it for every use
    (`self.factory().connect()`, a checkout that calls the factory and keeps
    nothing) builds a new engine per call and is reported.

    Returning the engine is not keeping it: a factory that returns a new engine
    (`def get_engine(): return create_engine(url)`) is reported when a function that
    runs more than once calls it and drops what it got (`with
    get_engine().connect()` in a route, `sessionmaker(bind=get_engine())` in a
    yield dependency, a loop over rows, or a global shadowed by a local so the
    cache never fills). Callers that keep the result (a global, an attribute, a
    cache, module-level code), that return it (followed up to their own callers),
    and callers in tests are fine. A factory handed to the function that calls it
    (`await fetch_unread(make_pool, user_id)`, whose body does `pool = await
    factory()`) is called there too, when every call of that function in the
    project passes the same factory for the parameter. A factory that builds the
    engine only under a test of one of its own parameters with a falsy default
    (`def connect(handle=None, url=None): if url: return create_engine(url)`, or
    `if url is not None:`), which it never rebinds, builds none for a caller that
    does not pass that parameter (or passes `None`): such a caller is not counted.

    Generator functions (a FastAPI lifespan, a pytest fixture) keep the engine
    across their `yield` and are not reported either, unless they run per request:
    a `Depends()` dependency, or a generator a function draws one value from
    (`db = next(get_db())` in a route; a test that draws one, `next(load_codes())`,
    says nothing of production and does not count). Such a dependency is reported when the
    engine or pool is built inside it, whatever it yields.

    A loop builds one per item: an engine or pool built in the body of a `for` /
    `while` (or a comprehension), in a function or at a script's top level, is
    reported even in code that runs once (`for row in rows: engine =
    create_engine(url)` in `main()`), unless each one is kept (`engines[name] =
    create_engine(url)`, also through a name the loop's body then stores, at a
    module's top level as in a function: `engine = create_engine(url)` then
    `engines[name] = engine` or `engines.append(engine)`; or a comprehension's list,
    dict or set of them kept or
    returned: `return [create_engine(u) for u in replica_urls]`, whose callers are
    then read as a factory's) or is an SQLite file's. An engine's
    `execution_options(...)` is an engine over the same pool: kept or returned, it
    keeps the engine it was made from.
    An engine whose URL names an embedded database (`sqlite:///app.db`,
    `sqlite://`, `duckdb:///x.duckdb`; also a factory's URL parameter that every
    project call outside the tests fills with such a URL) is not reported at all,
    in a loop or per call: its connections are file handles of this process, with no server whose
    connection slots a new engine per call would use up; the same holds for a
    dialect over an HTTP API (`gsheets://`, `bigquery://`), and for a DBUtils pool
    whose `creator` is `sqlite3`; nor is an engine whose `creator` hands back a
    connection the caller already holds (`create_engine("postgresql://",
    creator=lambda: conn)`, to give pandas an open connection): it opens none of
    its own. DBUtils' `PooledDB` opens nothing when it is
    built (`mincached` 0), but a pool per call opens its own connection on use
    and drops it with the pool, with no reuse between calls (`PersistentDB`
    ignores `close()` and keeps it until the pool is collected); the capacity
    budget (PS208) does not size these pools, whose server is whatever their
    `creator` connects to. encode/databases' `Database(url)` opens its pool at
    `await database.connect()`: one built and connected in the same function is a
    pool per call; one a factory builds and returns unconnected is its caller's.
    Gino's `await db.set_bind(url)` given a URL (a string, an f-string, a name whose
    last word says URL, URI or DSN) builds a new engine and pool and binds it in
    place of the last one, which it does not close: per call (a request or message
    handler, or a helper one calls) each call leaves a pool open; once at startup it
    is the application's pool. `set_bind(engine)` builds nothing.
    Nor is an engine
    built only to read what it knows without connecting (`engine.dialect`,
    `engine.url`, `engine.name`, `engine.driver`: quoting rules, a version check):
    SQLAlchemy opens no connection until one is asked for, so its pool stays
    empty. One that then connects is reported. The same holds across a call: a
    factory that returns its engine unconnected (`return create_engine(url)`) is
    not reported for a caller that keeps the result in a name and only reads such
    attributes of it (`engine = db.connection()`, `engine.url.database`); a
    factory that connects before returning, or a caller that also connects with it
    (anywhere in the function), still counts, and so do its other callers.
    Nor is an engine built with `poolclass=NullPool`: it keeps no pool, and each
    connection closes when it is given back, so nothing is left open by the
    engine (a connection never given back is PS102's). That holds too for a
    factory that passes its own `**options` on to the engine call (setting no
    `poolclass` itself) where the caller gives `poolclass=NullPool`
    (`tenant_engine(url, poolclass=NullPool)`); its other callers still count.
    Nor is a mock engine, `create_engine(url, strategy="mock", executor=fn)`
    (SQLAlchemy before 1.4): it hands each statement to `executor` to render it for
    a dialect, and has no pool and no connection (nor does any rule count it as a
    pool).
    Nor is an engine whose `dispose()` (a pool's `close()`) runs in a `finally`
    of the function or script that built it (in a loop, a `finally` inside the
    loop: one around the loop disposes only the last engine): it closes its
    connections when the work is done, error or not, and leaves nothing open
    (one engine per database of a server, `create_database(url)`-style helpers).
    A route handler or a per-request dependency that does so is still reported:
    every request pays a new pool and a new server connection; so is a helper (a
    function or a method) that does so when a route handler or a per-request
    dependency calls it (`user_names()` in a Flask view, `await reports.totals()` in
    a FastAPI route), while one only scripts and CLI commands call stays clean. A `dispose()` only
    at the end of the success path is not enough: an error before it drops the
    pool with its connections. The same holds for a factory's caller that closes
    what it got in its own `finally` (`pool = await open_pool(dsn)` ... `finally:
    await pool.close()`), also through a project helper whose own body (not a
    branch of it) closes the pool it is handed (`await close_pool(pool)`), when the
    caller is no request handler or per-request dependency, no call of it runs
    in a loop, and no request handler or per-request dependency calls it (a query
    helper `run_query(sql)` that gets a pool from the factory, closes it in its
    `finally`, and serves a FastAPI route is a new pool per request, reported at
    the factory's constructor with the handler named).
    A start-up retry loop is not a loop over items either: one that ends with
    `break`, or one that returns the engine or pool it built (the first that answers)
    and closes it in the same loop when the attempt fails (`await pool.close()` in the
    handler), keeps one; without the close, each failed attempt's pool is dropped open
    and is reported. So does one that returns the constructor's value itself
    (`for attempt in range(3): try: return MySQLConnectionPool(...) except Error:
    time.sleep(2)`): the first success ends the loop, and a round runs again only
    when the constructor raised and built nothing. The same holds for a loop whose
    test is the pool's own name (`while pool is None: try: pool = await
    asyncpg.create_pool(dsn) except OSError: ...`).
    Nor is one whose `dispose` (not called: the bound method) the function hands on,
    to a list of shutdown callbacks (`on_close.append(engine.dispose)`) or
    `atexit.register(engine.dispose)`: whoever holds the callback disposes the
    engine, as a caller that stores the engine keeps it.

    An engine an instance keeps (`self.engine = create_engine(url)`, or built by a
    method whose result a `cached_property` keeps) lives as long as the instance,
    except on an instance the framework builds for every request: a Tornado
    `RequestHandler`, a Django or DRF class-based view, a Flask `MethodView` or an
    aiohttp `web.View` (or a project subclass of one). An engine such a handler keeps
    on `self` (`self.engine = await get_engine()` in `initialize()` or `prepare()`,
    directly or from a factory) is a new pool per request, dropped unclosed with the
    handler: reported at the engine call. So is an engine an `__init__` keeps only on
    its instance, where a request handler builds that class as a local it drops (it
    neither returns, stores nor hands it to a call, nor enters it with `with`), also
    through up to three classes whose `__init__` keeps the instance the same way (a
    route's `UserService()` whose `__init__` builds `LimitsDB(uri)`); a class with a
    method that ends what it holds (`close`, `dispose`, `__aexit__`, ...) is left
    alone, the handler may call it. (A factory module imported by its bare name
    from a directory the project's entry point puts on `sys.path`,
    `sys.path.append('./orm')`, is found as the project's.) A
    class that a dependency-injector `Factory` builds for every injection
    (`db = providers.Factory(Database, url=...)`, or
    `container.db.override(providers.Factory(Database, ...))`), when some function
    takes it, or a provider built on it, through `Provide[...]`, builds a new engine
    per request: reported at the engine. The same class behind
    `providers.Singleton` is built once.

    ## Tests, one-shot code and processes
    An engine that never connects is no pool: one whose value is dropped where it
    is made (`try: create_engine(url)` / `except NoSuchModuleError: return False`,
    a probe that the dialect's driver is installed, even in a route), or a local
    engine whose only reads are offline (`engine.dialect.identifier_preparer`).
    Code that runs once per process ("one-shot") is not reported: an engine it
    builds once is one pool for the process, and the process exit closes it. That
    is a script's `main()` (a function called only from module-level code such as
    `if __name__ == "__main__": main()`, or only from such functions: `init_db()`
    called by `main()`, or a start-up chain up to six calls below the entry point:
    `serve` -> `run_server()` -> `create_app()` -> `init_storage()` ->
    `ensure_database()`), an application factory (a plain module-level function,
    or a method of a class-based factory, `AppFactory(config).create_app()`, that
    builds a Flask, Quart, FastAPI, Starlette, aiohttp, Sanic, Falcon or
    Litestar application and returns it: `app = Flask(__name__)` ... `return app`;
    the WSGI/ASGI server calls it once per worker process) whose calls in the
    project, if any, are one-shot too, and what only it calls (`check_config()` run
    by `create_app()`, or `self.check_database()` by a factory method; the same helper
    also called by a route is still reported),
    a click/typer command (or one of a Flask CLI group:
    `@audit_cli.command()` on an `AppGroup`, or of a cyclopts `App`:
    `@migrate_app.command(name="sync")`; a chat bot's `@bot.command()` runs per
    message and is not one), the `__call__` of a cappa command class
    (`@cappa.command(...)` on a dataclass), the handler of an argparse subcommand
    (`vacuum_cmd.set_defaults(func=vacuum)` in a module that imports `argparse`,
    run once by `args.func(args)`; one also called per request is still reported),
    a function that reads the process's command line outside loops (a CLI class's
    `run()` no project code calls: `parser.parse_args()` with no list or with
    `sys.argv[1:]`, on an argparse parser, also one a project helper builds;
    `getopt.getopt(sys.argv[1:], ...)`; `docopt(__doc__)`; not a `parse_args()` of
    an object that is no argparse parser, nor one given another list; and, in a plain
    function that its module names only to call it, with no decorator or only ones
    that call it once in place (loguru's `@logger.catch`, `functools.cache`, a
    profiler's `@profile`, or a project wrapper whose inner function calls it once,
    outside loops, and that neither registers it nor hands it on), an argument read
    by position, `url = sys.argv[1]` (not `sys.argv[0]`, the program's name), or a
    click/typer group run by hand over the command line, `cli.main(obj=engine)` or
    `cli(standalone_mode=False)` with no `args` or `args=sys.argv[1:]`; a factory
    that reads `sys.argv[1]` and that a route calls is still reported),
    a click command built without a decorator (`click.Command("count",
    callback=count)`),
    a Django management command's `handle()`, `initialize()` and `start()` of a
    traitlets `Application` (a Jupyter server or one of its subcommands), a
    function of an Alembic `env.py` or migration script, an Airflow task callable
    (`@task`, or an operator's `python_callable=`: the task runner calls it once
    per task instance, in a process of its own; one a route also calls is still
    reported), a Prefect `@flow`, and a Prefect `@task` its flow calls once per run
    (a flow run runs in a process of its own, under a process worker, in a container,
    or in the subprocess `serve()` starts for it, and that process ends with the run:
    one engine per run, closed with the process; but a task a long-lived task worker
    runs, `load.serve()`, `prefect.task_worker.serve(load)` or one submitted with
    `load.delay(...)`, runs for every submission in the same process, and one mapped
    over inputs, `load.map(items)`, or called in a loop runs many times in the run's
    process: an engine per call there, still reported), a startup handler, a
    check run from a table (`CHECKS =
    [("db", check_db)]`, walked once by `for name, fn in CHECKS: fn()` in
    `main()`, or written in the loop itself: `for name, fn in [("db",
    check_db)]:`; a table walked again inside a `while True:` builds an engine
    every round and is reported), and a method (or a class's
    `__init__`) that only such code calls, outside loops (naming the class in an
    old-style `super(Recorder, self)` or setting a class attribute, `Recorder.queues =
    ...`, does not build it) (`DbManage(url)
    .create_database()` in a CLI command: a bootstrap engine for `CREATE
    DATABASE`), module-level code included (a module-level instance builds its
    class once per process; a lambda's body runs each time it is called), and a
    nested function that only such code's own body calls, outside loops
    (`asyncio.run(do_setup())` in a set-up command). Where the calls are does not
    matter: a classmethod of a subclass in another module (`Store.init_db(url)`,
    which builds its engine through the inherited `cls.make_engine(url)`) that
    only a click command in a third module calls (or an argparse subcommand's
    handler, named through the package that re-exports it: `set_defaults(
    method=scripts.create_store)`) is one-shot, as it is when they sit in one
    module, even where none of those modules touches a database; called from a
    route, it is reported. A call
    inside a loop (`while True: backup()` at module level, a `for` in `main()`)
    runs many times: its callee is reported, and so is a
    function or method that also runs from elsewhere (a route, a worker).

    A set-up helper is one-shot too when nothing says it runs more than once: a plain
    function (not a method, not decorated, no route, per-request dependency or request
    hook) whose engine only provisions the database, and that is never handed on as
    a value and is called, outside loops and lambdas, only by module-level code, by a
    one-shot entry point or by functions of which the same holds (four levels up),
    or by nothing in the project. "Only provisions": every use of the engine is a
    checkout (`connect()`, `begin()`), `dispose()` or an argument of
    `metadata.create_all` / `drop_all`, and every statement run on it or on its
    connections is a string that creates, drops or alters a database, role, schema,
    extension, table, index, sequence, view or type, grants or revokes, or only
    commits or checks the catalog (`SELECT 1 FROM pg_database ...`), with at least one
    provisioning act (`def setup_database(name): engine =
    create_engine(maintenance_url); conn = engine.connect(); conn.execute("commit");
    conn.execute('CREATE DATABASE "%s"' % name); conn.close()`): creating a database
    is done when a deployment or a test suite is set up, never per request. A query,
    an insert, a temporary table, or the engine handed to another function keeps the
    finding; so does a route, a task or a loop that calls the helper.

    A Django management command that project code runs with `call_command("name")`
    from something that runs again and again (a Celery task, a view, a loop) is not
    one-shot: each run happens inside that long-lived process (the worker, the web
    server), not a process of its own. An engine the command builds per run and never
    disposes is reported, and the message names the `call_command()` that runs it: a
    dropped engine is not freed when its last name goes (an engine sits in reference
    cycles), so its pool keeps its idle connections open on the database server until
    a full garbage collection, which in a quiet worker can be hours, and every run
    opens new ones. Once a day this is a handful of idle connections, not an outage,
    but it is a leak with a one-line fix: `engine.dispose()` in a `finally` at the end
    of the run (then it is not reported), or one engine per process.

    A route that builds its own Flask application and `SQLAlchemy(app)` on it
    (Flask-SQLAlchemy) makes an engine and pool per request: reported at
    `SQLAlchemy(app)`.

    Tests are not reported: an engine built in a test module (or in a test-support
    package such as `testing/` or `unittest_utils/`) lives for one test,
    and tearing it down is the test framework's business. So is the engine of a
    plain function only the tests call whose production importers never name it
    (a model module's `drop_tables()` that a test's `tearDown()` runs).

    ## Why is this bad?
    An engine owns a connection pool. Building one per call opens a new server
    connection every time (the pool starts empty), throws the pool away
    afterwards, and leaves its connections open until garbage collection, unless
    `dispose()` is called on every path. Under load the database runs out of
    connection slots. Garbage collection here means Python's cyclic collector, not
    the end of the call: an engine sits in reference cycles, so ten calls that each
    built a SQLAlchemy engine, ran one query in `with engine.connect():` and
    returned left ten connections open on the server until `gc.collect()` ran
    (`benchmarks/policy87_gc_reclaim.py`, PostgreSQL and MariaDB; the same when a
    `dispose()` outside a `finally` is skipped by an error). The message of a
    synchronous SQLAlchemy engine says so.

    ## Example
    ```python
    def count_users():
        engine = create_engine(DATABASE_URL)
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM users")).scalar()
    ```

    ## Use instead
    ```python
    engine = create_engine(DATABASE_URL, pool_pre_ping=True)

    def count_users():
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM users")).scalar()
    ```

    ## Fix safety
    No automatic fix: where the engine should live (module, app factory,
    dependency) is the application's decision.
    """

    code = "PS202"
    name = "engine-per-call"
    summary = "create_engine() in a function whose engine does not outlive the call"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's engine lives for one test: the test framework's business
        for call, maker in _per_request_flask_sqlalchemy(ctx.index, ctx.module):
            yield self.finding(
                call,
                f"`SQLAlchemy()` in `{maker.name}` builds a new Flask-SQLAlchemy engine (and "
                "connection pool) for the application the route makes for every request, "
                "and drops it when the request ends; create the app and `db` once (module "
                "level or an app factory) and use `db.session` in the route",
            )
        verdicts: dict[int, bool] = {}
        calls = [*engine_calls(ctx.index, ctx.module),
                 *pool_constructor_calls(ctx.index, ctx.module)]
        for ec in calls:
            func = ec.func
            short = ec.qualname.rsplit(".", 1)[-1]
            if func is not None and ec.qualname.startswith("sqlalchemy") \
                    and _never_connects(func, ec.call):
                continue  # only its dialect is read: an engine opens no connection until asked
            if ec.qualname.startswith("sqlalchemy") and _null_pool(ctx.index, ctx.module, ec):
                continue  # no pool: each connection closes when it is given back
            creator = keyword_arg(ec.call, "creator")
            if ec.qualname.startswith("sqlalchemy") and creator is not None \
                    and gives_held_connection(creator):
                continue  # its one connection is the caller's, opened and closed there
            engine = ec.qualname.startswith("sqlalchemy")
            what = "a new engine (and connection pool)" if engine else "a new connection pool"
            kept = "engine" if engine else "pool"
            if in_loop(CallSite(ec.call, ctx.module, func)) and not _kept_in_loop(
                    ctx.index, ctx.module, func, ec.call):
                yield self.finding(
                    ec.call,
                    f"`{short}()` runs in a loop: it builds {what} for every item and "
                    "drops it; create it once before the loop and reuse it",
                )
                continue
            if func is None:
                continue
            if _disposed_by_one_shot(ctx.index, func, ec.call):
                site = _request_caller(ctx.index, func)
                if site is not None and site.func is not None:
                    yield self.finding(
                        ec.call,
                        f"`{short}()` in `{func.qualname}` builds {what} on every call and "
                        f"{'disposes' if engine else 'closes'} it at the end, and the "
                        f"request handler "
                        f"`{site.func.qualname}` ({site.module.path}:{_line(site)}) calls "
                        f"it for every request: each request pays a new {kept} and a new "
                        "server connection; create it once (module level, app factory, "
                        "lifespan or a cached factory) and reuse it",
                    )
                continue
            if _serverless_engine(ctx.index, ctx.module, func, ec.call):
                continue  # no server: no connection slot to run out of
            provider = _injected_instance_engine(ctx.index, ctx.module, func, ec.call)
            if provider is not None:
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.qualname}` builds {what} for each "
                    f"`{func.cls.name if func.cls else ''}`, and the dependency-injector "
                    f"`Factory` `{provider}` builds a new one for every injection: each "
                    f"request opens a new pool; provide it with `providers.Singleton`",
                )
                continue
            if engine and provisions_only(func, ec.call) \
                    and _set_up_only(ctx.index, func, _MAX_SET_UP_DEPTH):
                continue  # a set-up helper's bootstrap engine: nothing runs it per request
            key = id(func.node)
            if key not in verdicts:
                verdicts[key] = _runs_once_or_keeps(ctx.index, func) \
                    or _started_by_app_factory(ctx.index, func, _MAX_SET_UP_DEPTH)
            if verdicts[key]:
                continue
            route = _escapes(ctx.index, ctx.module, func, ec.call)
            handler = (_kept_for_one_request(ctx.index, ctx.module, func, ec.call)
                       if route == _KEPT else None)
            if handler is not None:
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.qualname}` builds {what} for every request: "
                    f"the framework makes a new `{handler}` for each request, so the "
                    f"{kept} kept on `self` is dropped with it and never closed; create it "
                    "once (module level, the application's settings or startup) and reuse it",
                )
                continue
            owner = _request_drops_owner(ctx.index, ctx.module, func, ec.call) \
                if route == _KEPT and handler is None else None
            if owner is not None:
                cls, site = owner
                builder = site.func.qualname if site.func is not None else ""
                holds = "" if func.cls is not None and cls == func.cls.name \
                    else " (which holds one)"
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.qualname}` builds {what} kept only on its "
                    f"instance, and the request handler `{builder}` "
                    f"({site.module.path}:{_line(site)}) builds a `{cls}`{holds}"
                    f" for every request and drops it: each request opens a new {kept} "
                    f"and never closes it; create the {kept} (or the `{cls}`) once and "
                    "reuse it",
                )
                continue
            job = _job_command(ctx.index, func) if route is None else None
            if job is not None:
                name, site = job
                runner = site.func.qualname if site.func is not None else "module-level code"
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.qualname}` builds {what} on every run of the "
                    f"management command `{name}`, which `{runner}` "
                    f"({site.module.path}:{_line(site)}) runs with `call_command()` inside "
                    "a long-lived process (a worker or the web server), not a process of "
                    f"its own: the {kept} is never "
                    f"{'disposed' if engine else 'closed'}, so after each run its idle "
                    "connections stay open on the database server until a full garbage "
                    "collection frees it (an engine sits in reference cycles), and every "
                    f"run opens new ones; call `{'dispose' if engine else 'close'}()` "
                    f"in a `finally` when the run ends, or build the {kept} once per process",
                )
            elif route is None and (factory := _configured_per_request(
                    ctx.index, func, ec.call)) is not None:
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.qualname}` builds {what} for every request "
                    f"and binds it to the session factory with `{factory}(bind=...)` "
                    f"in place of the last one, which is dropped and never "
                    f"{'disposed' if engine else 'closed'}: each request opens a new "
                    f"{kept}; create the {kept} once and bind the factory once (module "
                    "level or start-up)",
                )
            elif route is None and ec.qualname == GINO_BIND_QUALNAME:
                yield self.finding(
                    ec.call,
                    f"`set_bind()` in `{func.name}` builds a new Gino engine (and "
                    "connection pool) from a URL on every call and binds it in place of "
                    "the last one, which is never closed: each call leaves a pool open; "
                    "bind once at startup and `await db.pop_bind().close()` at shutdown",
                )
            elif route is None and _disposed_outside_finally(func.node.body, ec.call):
                end = "dispose" if engine else "close"
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.name}` builds {what} on every call and "
                    f"calls `{end}()` on it only when nothing raises first (not in a "
                    "`finally`): an error before it drops the pool with its connections "
                    "open (until Python's garbage collector runs); call "
                    f"`{end}()` in a `finally`, or create it once (module "
                    "level, app factory, lifespan or a cached factory) and reuse it",
                )
            elif route is None:
                # measured (benchmarks/policy87_gc_reclaim.py): a dropped sync engine's
                # pooled connections stay open on the server until a garbage collection
                held = (": the connections its pool opened stay open on the "
                        "server until Python's garbage collector runs"
                        if engine and "async" not in ec.qualname else "")
                yield self.finding(
                    ec.call,
                    f"`{short}()` in `{func.name}` builds {what} on every call and drops "
                    f"it at the end{held}; create it once (module level, app factory, "
                    "lifespan or a cached factory) and reuse it",
                )
            elif route == _RETURNED and _per_request_dependency(ctx.index, func):
                yield self.finding(
                    ec.call,
                    f"`{short}()` in the dependency `{func.name}` builds {what} for every "
                    "request and drops it when the request ends; create it once (a "
                    "lifespan or module level) and yield a connection or session from it",
                )
            elif route == _RETURNED:
                caller = _per_call_caller(ctx.index, func, set(),
                                          forwards=_forwards_options(func, ec.call),
                                          unconnected=_returned_unconnected(func, ec.call),
                                          guard=_guarding_param(func, ec.call))
                handler = None if caller is None or caller.func is None else \
                    _kept_for_one_request(ctx.index, caller.module, caller.func, caller.call)
                factory = None if caller is None or caller.func is None else \
                    _configured_per_request(ctx.index, caller.func, caller.call)
                if caller is not None and caller.func is not None and factory is not None:
                    yield self.finding(
                        ec.call,
                        f"`{short}()` in `{func.name}` builds {what} on every call, and "
                        f"`{caller.func.qualname}` ({caller.module.path}:{_line(caller)}), "
                        f"which runs for every request, binds it to the session factory "
                        f"with `{factory}(bind=...)` in place of the last one, which is "
                        f"dropped and never {'disposed' if engine else 'closed'}: each "
                        f"request opens a new {kept}; create the {kept} once and bind the "
                        "factory once (module level or start-up)",
                    )
                elif caller is not None and caller.func is not None and handler is not None:
                    yield self.finding(
                        ec.call,
                        f"`{short}()` in `{func.name}` builds {what} on every call, and "
                        f"`{caller.func.qualname}` ({caller.module.path}:{_line(caller)}) "
                        f"keeps it only on the `{handler}` instance, which the framework "
                        "makes anew for every request: each request opens a new pool and "
                        f"drops it unclosed; create the {kept} once (module level, a "
                        "global, or `functools.cache` on the factory)",
                    )
                elif caller is not None and caller.func is not None \
                        and (request := _closing_caller_per_request(
                            ctx.index, caller.func, caller.call)) is not None \
                        and request.func is not None:
                    yield self.finding(
                        ec.call,
                        f"`{short}()` in `{func.name}` builds {what} on every call, and "
                        f"`{caller.func.qualname}` ({caller.module.path}:{_line(caller)}) "
                        f"{'disposes' if engine else 'closes'} the one it gets at the end, "
                        f"but the request handler `{request.func.qualname}` "
                        f"({request.module.path}:{_line(request)}) calls it for every "
                        f"request: each request pays a new {kept} and new server "
                        f"connections; create the {kept} once (module level, app factory, "
                        "lifespan or `functools.cache` on the factory) and reuse it",
                    )
                elif caller is not None and caller.func is not None:
                    yield self.finding(
                        ec.call,
                        f"`{short}()` in `{func.name}` builds {what} on every call, and "
                        f"`{caller.func.name}` ({caller.module.path}:{_line(caller)}) calls "
                        f"it without keeping the {kept}, so each call opens a new pool; "
                        f"create the {kept} once (module level, a global, or "
                        "`functools.cache` on the factory)",
                    )


def _per_request_flask_sqlalchemy(index: ProjectIndex, module: ModuleInfo
                                  ) -> Iterator[tuple[cst.Call, FunctionInfo]]:
    """`SQLAlchemy(app)` (Flask-SQLAlchemy) in a request handler that builds its own
    Flask application (`app = Flask(__name__)` in the route): a new engine and pool per
    request, dropped when it ends."""
    if not module.imports or not any(q.startswith("flask_sqlalchemy")
                                     for q in module.imports.values()):
        return
    for call, func in inventory(module).calls:
        if func is None:
            continue
        value = index.evaluate(call.func, module, func)
        if isinstance(value, External) and value.qualname == "flask_sqlalchemy.SQLAlchemy" \
                and call.args and per_request_app(index, func):
            yield call, func


def _injected_instance_engine(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                              call: cst.Call) -> str | None:
    """An engine an instance method builds and keeps (on the instance, or returned
    to a method that keeps it), of a class that a dependency-injector `Factory`
    builds anew for every injection: the provider's name."""
    cls = func.cls
    if cls is None or func.parent is not None or any(
            isinstance(t := decorator_target(d), cst.Name)
            and t.value in ("staticmethod", "classmethod") for d in func.node.decorators):
        return None
    if not index.modules_mentioning(["dependency_injector"]):
        return None
    if _escapes(index, module, func, call) is None:
        return None  # dropped at the end of the call: reported as such
    return per_injection_factory(index, cls)


def runs_per_request(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` runs once per request: a route or view, a per-request dependency, or a
    method of a class whose instances live for one request (`per_request_class`: a
    Tornado `RequestHandler`'s `initialize()`, `prepare()`, `get()`...)."""
    if request_handler(index, func) is not None or _per_request_dependency(index, func):
        return True
    return func.cls is not None and _self_param(func) is not None \
        and per_request_class(index, func.cls) is not None


def rebinds_per_request(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    """`call` (`Session.configure(bind=engine)`) binds a session factory to an engine
    in a function that runs per request (`runs_per_request`), on every run (not under
    an `if` of the function, such as a first-use guard): the factory keeps only the
    latest engine, so each request builds one and drops the one before it."""
    if not runs_per_request(index, func):
        return False
    return not any(isinstance(n, cst.If) and any(
        c is call for part in (n.body, n.orelse) if part is not None
        for c in iter_calls(part)) for n in iter_nodes(func.node.body))


def _configured_per_request(index: ProjectIndex, func: FunctionInfo,
                            call: cst.Call) -> str | None:
    """The session factory (`Session`) that `func`, which runs per request, binds to
    what `call` builds on every run (`Session.configure(bind=get_engine())`, or
    through a local name bound once to it): `rebinds_per_request`."""
    names = {t.target.value for n in iter_nodes(func.node.body) if isinstance(n, cst.Assign)
             and strip_await(n.value)[0] is call for t in n.targets
             if isinstance(t.target, cst.Name)}
    for c in iter_calls(func.node.body):
        f = c.func
        if not (isinstance(f, cst.Attribute) and f.attr.value == "configure"):
            continue
        bind = keyword_arg(c, "bind")
        if bind is None:
            continue
        bind = strip_await(bind)[0]
        if (bind is call or (isinstance(bind, cst.Name) and bind.value in names)) \
                and rebinds_per_request(index, func, c):
            return dotted_name(f) or "configure"
    return None


def _per_request_dependency(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A generator FastAPI runs once per request (`Depends(get_db)`), or that a
    function draws one value from (`next(get_db())`)."""
    return func.is_generator and (id(func.node) in index.dependency_functions()
                                  or _drawn_by_next(index, func))


def _never_connects(func: FunctionInfo, call: cst.Call) -> bool:
    """`engine = create_engine(uri)` whose every use in the function reads one of
    `ENGINE_OFFLINE_ATTRIBUTES` (`engine.dialect.identifier_preparer`): SQLAlchemy opens no
    connection until one is asked for, so the engine's pool stays empty. So is a
    `create_engine(url)` whose value is dropped where it is made (a driver probe)."""
    if discarded_engine(func.node.body, call):
        return True
    name = _bound_name(func, call)
    if name is None:
        return False
    loads = offline = 0
    for node in iter_nodes(func.node.body, into_functions=True):
        if isinstance(node, cst.Name) and node.value == name.value and node is not name:
            loads += 1
        elif isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
                and node.value.value == name.value and node.attr.value in ENGINE_OFFLINE_ATTRIBUTES:
            offline += 1
    return loads == offline


def _bound_name(func: FunctionInfo, call: cst.Call) -> cst.Name | None:
    """The name `engine = <call>` binds in `func` (a single plain target), if any."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Name):
            return node.targets[0].target
    return None


def _returned_unconnected(func: FunctionInfo, call: cst.Call) -> bool:
    """`func` hands the engine `call` builds back without connecting it: `return
    create_engine(url)`, or `engine = create_engine(url)` whose other uses are `return
    engine` and reads of `ENGINE_OFFLINE_ATTRIBUTES`. A caller that then only reads what the
    engine was built with (`_never_connects`) leaves its pool empty."""
    returned = {id(n.value) for n in iter_nodes(func.node.body)
                if isinstance(n, cst.Return) and n.value is not None}
    if id(call) in returned:
        return True
    name = _bound_name(func, call)
    if name is None:
        return False
    offline = {id(n.value) for n in iter_nodes(func.node.body, into_functions=True)
               if isinstance(n, cst.Attribute) and n.attr.value in ENGINE_OFFLINE_ATTRIBUTES}
    return all(id(n) in returned or id(n) in offline or n is name
               for n in iter_nodes(func.node.body, into_functions=True)
               if isinstance(n, cst.Name) and n.value == name.value)


def _null_pool(index: ProjectIndex, module: ModuleInfo, ec: EngineCall) -> bool:
    """`create_engine(url, poolclass=NullPool)`: the engine keeps no pool, each
    connection it hands out is closed for good when it is given back, so a new
    engine per call leaves nothing open behind it (a connection never given back is
    PS102's)."""
    opts = call_options(index, ec.call, module, ec.func)
    pc = opts.values.get("poolclass")
    if pc is None:
        return False
    qual = external_name(index, pc.expr, pc.module, pc.func)
    return qual is not None and qual_match(qual, _NULL_POOL) is not None


_NULL_POOL = frozenset({("sqlalchemy", "NullPool")})
#: DB-API modules of embedded databases (a DBUtils pool's `creator`): no server
_EMBEDDED_DRIVERS = frozenset({"sqlite3", "pysqlite2", "duckdb", "apsw"})


def _serverless_engine(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                     call: cst.Call) -> bool:
    """The engine's URL names an embedded database (`sqlite:///app.db`, `sqlite://`,
    `duckdb:///x.duckdb`): its connections are file handles in this process, with no
    server whose connection slots a new engine per call would use up. So does a
    DBUtils pool whose `creator` is the `sqlite3` module (or one of its functions)."""
    from poolsafe.knowledge.capacity import (
        PER_CALL_ONLY_POOLS,
        POOL_CREATOR_KEYWORD,
        POOL_CREATOR_POSITION,
    )

    qual = external_name(index, call.func, module, func)
    if qual is not None and qual_match(qual, PER_CALL_ONLY_POOLS) is not None:
        args = positional_args(call)
        creator = keyword_arg(call, POOL_CREATOR_KEYWORD) or (
            args[POOL_CREATOR_POSITION] if len(args) > POOL_CREATOR_POSITION else None)
        made_by = external_name(index, creator, module, func) if creator is not None else None
        return made_by is not None and made_by.split(".", 1)[0] in _EMBEDDED_DRIVERS
    url = engine_url(call)
    if url is None:
        return False
    dialect = dialect_of(string_prefix(index, url, module, func))
    return holds_no_server_slot(dialect if dialect is not None
                                else callers_dialect(index, url, func))


def _kept_in_loop(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo | None,
                  call: cst.Call) -> bool:
    """An engine built in a loop is fine when each one is kept (`engines[url] = ...`,
    `pools.append(...)`), or when it is an embedded database's (one SQLite file per
    item)."""
    if _serverless_engine(index, module, func, call):
        return True
    if _retry_loop(module, func, call):
        return True
    scope = func.node.body if func is not None else module.tree
    loop = _innermost_loop(scope, call)
    if loop is not None and _returns_first_working(loop, call):
        return True
    if loop is not None and _returned_in_loop(loop, call):
        return True
    if isinstance(loop, cst.While) and _built_until_set(loop, call):
        return True
    # the `try` that disposes it must run once per engine: inside the same loop
    if loop is not None and _disposed_in_finally(loop.body, call):
        return True
    comprehension = _comprehension_of(scope, call)
    if func is not None:
        # a comprehension's element lands in the list it builds: returned, each engine
        # is its caller's to keep (`return [create_engine(u) for u in urls]`)
        return _escapes(index, module, func, call) in (
            (_KEPT, _RETURNED) if comprehension is not None else (_KEPT,))
    for node in iter_nodes(module.tree):
        if comprehension is not None and isinstance(node, (cst.Assign, cst.AnnAssign)) \
                and node.value is comprehension:
            return True  # `ENGINES = {k: create_engine(v) for k, v in URLS.items()}`
        if isinstance(node, cst.Assign) and strip_await(node.value)[0] is call:
            return any(isinstance(t.target, (cst.Subscript, cst.Attribute))
                       for t in node.targets) or (loop is not None and _stored_by_loop(
                           loop, {t.target.value for t in node.targets
                                  if isinstance(t.target, cst.Name)}))
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in STORE_METHODS
                and any(strip_await(a.value)[0] is call for a in node.args)):
            return True
    return False


def _stored_by_loop(loop: cst.For | cst.While, names: set[str]) -> bool:
    """The loop's own body stores the name the engine is bound to in a container or on
    an object (`engine = create_engine(url)` then `_connections[name] = engine`, or
    `engines.append(engine)`) at the top level of a module: each engine is kept, as
    with `_connections[name] = create_engine(url)`. (Inside a function the name is
    followed by `_escapes`.)"""
    if not names:
        return False
    for node in loop_own_nodes(loop.body):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                and node.value.value in names and any(
                    isinstance(t.target, (cst.Subscript, cst.Attribute)) for t in node.targets):
            return True
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value in STORE_METHODS
                and any(isinstance(a.value, cst.Name) and a.value.value in names
                        for a in node.args)):
            return True
    return False


#: the methods that close an engine's or a pool's connections for good
_POOL_CLOSE = frozenset({"dispose", "close", "closeall", "terminate"})


def _disposed_in_finally(scope: cst.CSTNode, call: cst.Call,
                         helpers: tuple[ProjectIndex, FunctionInfo] | None = None) -> bool:
    """The engine or pool `call` builds is bound to a name whose `dispose()`
    (`close()`, `closeall()`) runs in a `finally` of the same scope: its
    connections are closed when the work is done, error or not, so nothing is left
    for the garbage collector (one engine per database of a server, each disposed
    after its reflection). With `helpers` (the index and the function `scope` is
    the body of), a project function handed the name in that `finally` that
    closes its parameter (`await close_pool(pool)`) disposes it too."""
    names = _assigned_names(scope, call)
    if not names:
        return False
    for node in iter_nodes(scope):
        if not isinstance(node, cst.Try) or node.finalbody is None:
            continue
        for c in iter_calls(node.finalbody):
            if _closes(c, names):
                return True
            if helpers is not None and _helper_disposes(*helpers, c, names):
                return True
    return False


def _disposed_outside_finally(scope: cst.CSTNode, call: cst.Call) -> bool:
    """The engine or pool `call` builds is bound to a name whose `dispose()`
    (`close()`, ...) the scope calls, but in no `finally` (`_disposed_in_finally`
    said no): the success path closes it, an error before that leaves it."""
    names = _assigned_names(scope, call)
    return bool(names) and any(_closes(c, names) for c in iter_calls(scope))


def _assigned_names(scope: cst.CSTNode, call: cst.Call) -> set[str]:
    """The plain names the (awaited) value of `call` is assigned to in `scope`."""
    return {t.target.value for node in iter_nodes(scope) if isinstance(node, cst.Assign)
            and strip_await(node.value)[0] is call
            for t in node.targets if isinstance(t.target, cst.Name)}


def _closes(call: cst.BaseExpression, names: set[str]) -> bool:
    """`call` is `name.dispose()` (`close()`, ...) of one of `names`."""
    f = call.func if isinstance(call, cst.Call) else None
    return (isinstance(f, cst.Attribute) and f.attr.value in _POOL_CLOSE
            and isinstance(f.value, cst.Name) and f.value.value in names)


def _helper_disposes(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                     names: set[str]) -> bool:
    """`call` hands one of `names` to a project function whose own body (not a
    branch, loop or handler of it) closes or disposes the parameter it is passed as
    (`async def close_pool(pool): await pool.close()`)."""
    callee = index.evaluate(call.func, func.module, func)
    if not isinstance(callee, FunctionRef):
        return False
    helper = callee.func
    for position, param in enumerate(helper.param_names()):
        arg = argument_for(call, param, position)
        if not (isinstance(arg, cst.Name) and arg.value in names):
            continue
        for st in body_statements(helper.node.body):
            if not isinstance(st, cst.SimpleStatementLine):
                continue
            for small in st.body:
                if not isinstance(small, cst.Expr):
                    continue
                if _closes(strip_await(small.value)[0], {param}):
                    return True
    return False


def _job_command(index: ProjectIndex, func: FunctionInfo) -> tuple[str, CallSite] | None:
    """The management command (and the `call_command()` that runs it again and again
    in a long-lived process) whose run builds the engine in `func`."""
    return command_run_again(index, func)


def _disposed_by_one_shot(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> bool:
    """The engine is disposed in a `finally` of `func`, which is not a request
    handler or a per-request dependency: nothing is left open, and no request path
    is known to pay a new pool each time."""
    return (_disposed_in_finally(func.node.body, call, (index, func))
            and route_framework(index, func) is None
            and not _per_request_dependency(index, func))


def _closing_caller_per_request(index: ProjectIndex, caller: FunctionInfo,
                                call: cst.Call) -> CallSite | None:
    """The request handler's call of `caller`, a helper (no handler itself) that gets
    a pool from the factory `call` calls and closes it in its own `finally`: each
    request then pays a new pool, as with a helper that builds and closes one."""
    if not _disposed_by_one_shot(index, caller, call):
        return None
    return _request_caller(index, caller)


def _request_caller(index: ProjectIndex, func: FunctionInfo) -> CallSite | None:
    """A call of `func` (outside tests) made by a request handler or a per-request
    dependency: a helper that builds and disposes its own pool is then paid for by
    every request, as a route that does so itself is."""
    for site in facts(index).call_sites(func.name):
        caller = site.func
        if caller is None or caller is func or is_test_module(site.module):
            continue
        callee = index.evaluate(site.call.func, site.module, caller)
        if not (isinstance(callee, FunctionRef) and callee.func is func):
            continue
        if request_handler(index, caller) is not None \
                or _per_request_dependency(index, caller):
            return site
    return None


#: an engine's methods that return an engine over the same pool (SQLAlchemy's
#: `OptionEngine`)
_SAME_POOL_METHODS = frozenset({"execution_options"})

_Comprehension = cst.ListComp | cst.SetComp | cst.DictComp


def _comprehension_of(scope: cst.CSTNode, call: cst.Call) -> _Comprehension | None:
    """The list, set or dict comprehension whose element (a dict's value) is `call`
    itself: each engine it builds is kept in the container it makes."""
    for node in iter_nodes(scope):
        if isinstance(node, (cst.ListComp, cst.SetComp)) \
                and strip_await(node.elt)[0] is call:
            return node
        if isinstance(node, cst.DictComp) and strip_await(node.value)[0] is call:
            return node
    return None


def _innermost_loop(scope: cst.CSTNode, call: cst.Call) -> cst.For | cst.While | None:
    inner: cst.For | cst.While | None = None
    for node in iter_nodes(scope):
        if isinstance(node, (cst.For, cst.While)) and any(
                c is call for c in iter_calls(node.body)):
            inner = node
    return inner


def _retry_loop(module: ModuleInfo, func: FunctionInfo | None, call: cst.Call) -> bool:
    """The innermost loop around `call` ends with `break` (a retry until the database
    answers, a search for the first URL that works): it keeps one engine, not one per
    item."""
    scope: cst.CSTNode = func.node.body if func is not None else module.tree
    inner: cst.For | cst.While | None = None
    for node in iter_nodes(scope):
        if isinstance(node, (cst.For, cst.While)) and any(
                c is call for c in iter_calls(node.body)):
            inner = node  # pre-order: the innermost comes last
    if inner is None:
        return False
    return any(isinstance(n, cst.Break) for n in loop_own_nodes(inner.body))


def _returns_first_working(loop: cst.For | cst.While, call: cst.Call) -> bool:
    """A start-up retry loop: the engine or pool `call` builds is bound to a name that
    the loop's own body returns (the first one that answers) and closes (`await
    pool.close()`, `engine.dispose()` in the handler of a failed attempt): one is kept,
    the failed ones are closed."""
    own = loop_own_nodes(loop.body)
    name = next((t.target.value for n in own if isinstance(n, cst.Assign)
                 and strip_await(n.value)[0] is call
                 for t in n.targets if isinstance(t.target, cst.Name)), None)
    if name is None:
        return False
    returned = any(isinstance(n, cst.Return) and isinstance(n.value, cst.Name)
                   and n.value.value == name for n in own)
    closed = any(isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                 and n.func.attr.value in _POOL_CLOSE and isinstance(n.func.value, cst.Name)
                 and n.func.value.value == name for n in own)
    return returned and closed


def _returned_in_loop(loop: cst.For | cst.While, call: cst.Call) -> bool:
    """The engine or pool is the value of a `return` in the loop's own body (`for
    attempt in range(3): try: return MySQLConnectionPool(...) except Error: sleep`):
    the first call that succeeds returns it and ends the loop, and a round runs again
    only when the constructor raised, having built nothing. One is kept, not one per
    item."""
    return any(isinstance(n, cst.Return) and n.value is not None
               and strip_await(n.value)[0] is call for n in loop_own_nodes(loop.body))


def _built_until_set(loop: cst.While, call: cst.Call) -> bool:
    """`while pool is None:` (`while not pool:`) around `pool = [await]
    create_pool(...)` in the loop's own body: the first attempt that succeeds sets
    the name and ends the loop; a round runs again only when the constructor raised,
    having built nothing. One is kept, not one per item."""
    test = loop.test
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1 \
            and isinstance(test.comparisons[0].operator, cst.Is) \
            and isinstance(test.comparisons[0].comparator, cst.Name) \
            and test.comparisons[0].comparator.value == "None":
        tested = test.left
    elif isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        tested = test.expression
    else:
        return False
    if not isinstance(tested, cst.Name):
        return False
    return any(isinstance(n, cst.Assign) and strip_await(n.value)[0] is call
               and len(n.targets) == 1 and isinstance(n.targets[0].target, cst.Name)
               and n.targets[0].target.value == tested.value
               for n in loop_own_nodes(loop.body))


def _runs_once_or_keeps(index: ProjectIndex, func: FunctionInfo) -> bool:
    if func.is_generator:
        return not _per_request_dependency(index, func)
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, func.parent)
        if qual is not None and qual_match(qual, CACHING_DECORATORS):
            return True
    return index.memo_decorated(func) or is_cli_entry(index, func)


#: how far up the callers of a set-up helper `_set_up_only` looks
_MAX_SET_UP_DEPTH = 4


def _started_by_app_factory(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """`func` is an application factory, a plain module-level function that builds a
    web application and returns it (`app = Flask(__name__)` ... `return app`), which
    the WSGI/ASGI server (`gunicorn "shop:create_app()"`) or the framework's runner
    calls once per worker process, or a plain function only such factories call; and
    every call of it outside the tests is made outside loops and lambdas, at module
    level, by one-shot code or by a function of which the same holds (to `depth`
    levels). A factory with no caller in the project counts (the server calls it).
    A method of a class counts as such a function (`AppFactory(config).create_app()`,
    a class-based application factory, and the methods it calls on `self`); a static
    or class method too, no other decorated one."""
    if depth <= 0 or func.parent is not None \
            or any(not _method_kind(d) for d in func.node.decorators) \
            or runs_per_request(index, func) or route_framework(index, func) is not None:
        return False
    factory = _app_factory(index, func)
    called = False
    for use in uses_of_function(index, func):
        if is_test_module(use.module):
            continue
        call = use.call
        if call is None or any(isinstance(a, cst.Lambda) for a in _up_to_def(use.parents, call)):
            return False
        caller = use.caller
        if in_loop(CallSite(call, use.module, caller)):
            return False
        if caller is None or caller is func:
            continue
        if func.cls is not None and not factory and caller.cls is not func.cls:
            return False  # a helper method counts only as the factory's own (`self.x()`)
        if not (is_cli_entry(index, caller)
                or _started_by_app_factory(index, caller, depth - 1)):
            return False
        called = True
    return factory or called


def _method_kind(deco: cst.Decorator) -> bool:
    """`@staticmethod` / `@classmethod`: how a method is bound, not who calls it."""
    return isinstance(deco.decorator, cst.Name) \
        and deco.decorator.value in {"staticmethod", "classmethod"}


def _app_factory(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` builds a web application and returns it (`app = Flask(__name__)`, ...,
    `return app`), outside nested functions, and is no request handler."""
    built: set[str] = set()
    returned: set[str] = set()
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call) \
                and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            value = index.evaluate(node.value.func, func.module, func)
            if isinstance(value, External) \
                    and qual_match(value.qualname, WEB_APPLICATION_TYPES) is not None:
                built.add(node.targets[0].target.value)
        elif isinstance(node, cst.Return) and isinstance(node.value, cst.Name):
            returned.add(node.value.value)
    return bool(built & returned) and request_handler(index, func) is None


def _set_up_only(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """Nothing says `func` runs more than once per process: a plain function (not a
    method, not decorated, not a route, a per-request dependency or a request hook)
    that is never handed on as a value, and whose every call outside tests is made
    outside loops and lambdas, at module level or by a function of which the same
    holds (to `depth` levels; a one-shot entry point such as a CLI command ends the
    walk)."""
    if depth <= 0 or func.cls is not None or func.node.decorators \
            or runs_per_request(index, func) or route_framework(index, func) is not None:
        return False
    for use in uses_of_function(index, func):
        if is_test_module(use.module):
            continue
        call = use.call
        if call is None or any(isinstance(a, cst.Lambda) for a in _up_to_def(use.parents, call)):
            return False
        caller = use.caller
        if in_loop(CallSite(call, use.module, caller)):
            return False
        if caller is None or caller is func:
            continue
        if not (is_cli_entry(index, caller) or _set_up_only(index, caller, depth - 1)):
            return False
    return True


def _guarding_param(func: FunctionInfo, call: cst.Call) -> tuple[str, int | None] | None:
    """The parameter whose truth the engine `call` is built under: `def connect(handle=None,
    url=None): if url: return create_engine(url)`, a parameter with a falsy literal
    default (`None`, `False`, `""`, `0`) that `func` never rebinds, tested by an `if`
    (`if url:`, `if url is not None:`) whose own body holds `call`. Returns its name and
    its position among the positional parameters a caller sees (None: keyword-only)."""
    params = func.node.params
    positional = func.param_names()
    defaults: dict[str, int | None] = {}
    for p in (*params.posonly_params, *params.params, *params.kwonly_params):
        if p.default is not None and falsy_literal(p.default):
            name = p.name.value
            defaults[name] = positional.index(name) if name in positional else None
    if not defaults:
        return None
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.If) and (tested := _truth_tested(node.test)) in defaults \
                and any(n is call for n in iter_nodes(node.body)) \
                and not rebinds(func, tested):
            return tested, defaults[tested]
    return None


def _truth_tested(test: cst.BaseExpression) -> str | None:
    """`x` of `if x:` or `if x is not None:`."""
    if isinstance(test, cst.Name):
        return test.value
    if isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) \
            and len(test.comparisons) == 1 \
            and isinstance(test.comparisons[0].operator, cst.IsNot) \
            and isinstance(test.comparisons[0].comparator, cst.Name) \
            and test.comparisons[0].comparator.value == "None":
        return test.left.value
    return None


def _passes_guard(call: cst.Call, name: str, position: int | None) -> bool:
    """`call` may pass a true value for the parameter `name` (at `position`): it names
    it, passes that many positional arguments, or spreads `*args`/`**kwargs`; passing
    a falsy literal (`url=None`) is not passing it."""
    if any(a.star for a in call.args):
        return True
    value = argument_for(call, name, position)
    return value is not None and not falsy_literal(value)


def _up_to_def(parents: dict[int, cst.CSTNode], node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    cur = parents.get(id(node))
    while cur is not None and not isinstance(cur, (cst.FunctionDef, cst.Module)):
        yield cur
        cur = parents.get(id(cur))


_KEPT = "kept"
#: `cast(T, value)` is `value` at run time
_CASTS = frozenset({"typing.cast", "typing_extensions.cast"})
#: functions that run a coroutine and return its result
_RUNS_COROUTINE = frozenset({"asyncio.run", "asyncio.wait_for"})
_RETURNED = "returned"
#: how far up the callers of a factory that returns a new engine are followed
_MAX_CALLER_DEPTH = 4


def _forwards_options(func: FunctionInfo, call: cst.Call) -> bool:
    """The engine call passes on the factory's own `**options` and sets no
    `poolclass` itself: a caller's `poolclass=` decides the pool."""
    star = func.node.params.star_kwarg
    if star is None or any(a.keyword is not None and a.keyword.value == "poolclass"
                           for a in call.args):
        return False
    return any(a.star == "**" and isinstance(a.value, cst.Name)
               and a.value.value == star.name.value for a in call.args)


def _passes_null_pool(index: ProjectIndex, site: CallSite) -> bool:
    for a in site.call.args:
        if a.keyword is not None and a.keyword.value == "poolclass":
            qual = external_name(index, a.value, site.module, site.func)
            return qual is not None and qual_match(qual, _NULL_POOL) is not None
    return False


def _per_call_caller(index: ProjectIndex, func: FunctionInfo,
                     seen: set[int], depth: int = 0,
                     forwards: bool = False, unconnected: bool = False,
                     guard: tuple[str, int | None] | None = None) -> CallSite | None:
    """A call of `func` (which returns a new engine, or something that keeps one) in a
    function that runs more than once and drops what it got: each call builds a pool.
    Callers that keep it (a global, an attribute, a cache, module-level code, a
    generator, a CLI entry) are fine; callers that return it are followed up."""
    if id(func.node) in seen or depth > _MAX_CALLER_DEPTH:
        return None
    seen.add(id(func.node))
    project = facts(index)
    direct = project.callers(func)
    sites = direct + project.handed_callers(func)
    for i, site in enumerate(sites):
        caller = site.func
        if caller is None or is_test_module(site.module):
            continue
        if unconnected and depth == 0 and i < len(direct) \
                and _never_connects(caller, site.call):
            continue  # `engine = factory()` then only `engine.url`: its pool stays empty
        if forwards and depth == 0 and _passes_null_pool(index, site):
            continue  # `factory(url, poolclass=NullPool)`: that engine keeps no pool
        if guard is not None and depth == 0 and i < len(direct) \
                and not _passes_guard(site.call, *guard):
            continue  # `connect(handle)` of `def connect(handle=None, url=None): if url: ...`
        per_request_dependency = caller.is_generator and (
            id(caller.node) in index.dependency_functions() or _drawn_by_next(index, caller))
        if not per_request_dependency and _keeps_for_good(index, site):
            # (read from the caller's own body first: whether it runs once, a walk of
            # its callers' modules, would change nothing)
            continue
        if not per_request_dependency and depth == 0 and _last_caller(sites, i) \
                and _escapes(index, site.module, caller, site.call) == _RETURNED \
                and not _disposed_by_one_shot(index, caller, site.call):
            # the walk's last site, a caller that returns the engine: its callers are
            # followed first, and whether it runs once is asked only if they find a
            # site (nothing follows that reads `seen`: the same answer; see
            # `_last_caller`)
            found = _per_call_caller(index, caller, seen, depth + 1)
            if found is None or _runs_once_or_keeps(index, caller):
                return None
            return found
        if not per_request_dependency and _runs_once_or_keeps(index, caller):
            continue
        if not per_request_dependency and _disposed_by_one_shot(index, caller, site.call):
            if _request_caller(index, caller) is not None:
                return site  # closed each time, but a request handler calls it: a pool per request
            if not any(in_loop(s) for s in project.callers(caller)):
                continue  # `pool = await make_pool(dsn)` ... `finally: await pool.close()`
        route = _escapes(index, site.module, caller, site.call)
        # what a per-request dependency yields (a session bound to the engine) is
        # dropped with the request, not kept by a caller; nor is what a per-request
        # handler keeps on itself
        if route is None or (route == _RETURNED and per_request_dependency) or (
                route == _KEPT and _kept_for_one_request(index, site.module, caller,
                                                         site.call) is not None):
            return site
        if route == _RETURNED:
            found = _per_call_caller(index, caller, seen, depth + 1)
            if found is not None:
                return found
    return None


def _last_caller(sites: list[CallSite], i: int) -> bool:
    """No site after `sites[i]` reaches `_per_call_caller`'s tests (each is in module-level
    code or a test). For the outermost call (depth 0, a `seen` of its own) the answer
    is then that of `sites[i]` alone, and the order of its tests is free: whether its
    caller runs once, and the walk up its callers, are answers of the index that do
    not depend on each other (`is_cli_entry` is memoised by function and depth, and
    never reads `seen`); and when the caller returns the engine and does not dispose
    of it, the original order (runs once? then the walk) returns None if the caller
    runs once and else what the walk finds: None when the walk finds None either way.
    Asking the walk first skips the question when the walk finds nothing (mlflow's
    `create_sqlalchemy_engine_with_retry`: its callers all keep the engine, and
    whether it runs once is a walk up five levels of the server's modules)."""
    return all(s.func is None or is_test_module(s.module) for s in sites[i + 1:])


def _keeps_for_good(index: ProjectIndex, site: CallSite) -> bool:
    """The caller of `site` keeps what the call returns for good (a global, an
    attribute, a container: `_escapes` says `_KEPT`), not on an instance that lives
    for one request, and does not dispose it in a `finally`: `_per_call_caller` then
    passes the site over whether or not the caller runs once per process (each of
    its later tests fails), so it need not ask."""
    caller = site.func
    assert caller is not None
    return (_escapes(index, site.module, caller, site.call) == _KEPT
            and _kept_for_one_request(index, site.module, caller, site.call) is None
            and not _disposed_by_one_shot(index, caller, site.call))


def _drawn_by_next(index: ProjectIndex, gen: FunctionInfo) -> bool:
    """A generator that a function (not module-level code, not a test) calls and draws
    one value from, `next(get_db())` or `get_db().__next__()`: it runs once per call of
    that function, as a FastAPI dependency runs once per request."""
    def draws(site: CallSite) -> bool:
        if site.func is None or is_test_module(site.module):
            return False  # a test's draw says nothing of production
        for c in iter_calls(site.func.node.body):
            f = c.func
            if (isinstance(f, cst.Name) and f.value in ("next", "anext") and c.args
                    and strip_await(c.args[0].value)[0] is site.call):
                return True
            if (isinstance(f, cst.Attribute) and f.attr.value in ("__next__", "__anext__")
                    and f.value is site.call):
                return True
        return False

    # a module that never spells `next` draws nothing: it is not parsed for this
    return facts(index).any_caller(gen, draws, admitted=_spells_next)


def _spells_next(_path: Path, data: bytes) -> bool:
    return b"next" in data


def _line(site: CallSite) -> int:
    span = spans(site.module.tree, [site.call]).get(id(site.call))
    return span.start_line if span is not None else 1


def _self_param(func: FunctionInfo) -> str | None:
    """The instance parameter of a method (`self`), None for anything else."""
    if func.cls is None or func.parent is not None or any(
            isinstance(t := decorator_target(d), cst.Name)
            and t.value in ("staticmethod", "classmethod") for d in func.node.decorators):
        return None
    params = [*func.node.params.posonly_params, *func.node.params.params]
    return params[0].name.value if params else None


def _kept_for_one_request(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                          call: cst.Call) -> str | None:
    """The per-request class (`BaseHandler`) when `func`, a method of a class whose
    instances live for one request (`per_request_class`: a Tornado `RequestHandler`, a
    class-based view), keeps what `call` returns only on its own instance
    (`self.engine = await get_engine()`): dropped with the request, not kept."""
    if func.cls is None or _self_param(func) is None \
            or per_request_class(index, func.cls) is None:
        return None
    if _escapes(index, module, func, call, self_keeps=False) is not None:
        return None
    return func.cls.name


#: methods whose presence on a class says its instances end what they hold: a request
#: that builds one may close it (`async with Service() as s:`, `s.close()`)
_ENDING_METHODS = frozenset({"__exit__", "__aexit__", "close", "aclose", "dispose",
                             "shutdown", "__del__"})
#: how many classes up an engine kept on `self` in `__init__` is followed
_MAX_OWNER_DEPTH = 3


def _request_drops_owner(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                         call: cst.Call) -> tuple[str, CallSite] | None:
    """(the class, the construction) when `func` is an `__init__` that keeps what `call`
    builds only on its own instance, and a request handler builds an instance of that
    class (or of a class whose `__init__` keeps one the same way, up to
    `_MAX_OWNER_DEPTH` classes up) and drops it when it returns: a local it neither
    returns, stores, nor hands to a call. A class with a method that ends what it holds
    (`close`, `dispose`, `__aexit__`, ...) is left alone: the handler may call it."""
    if func.name != "__init__" or func.cls is None or _self_param(func) is None \
            or _escapes(index, module, func, call, self_keeps=False) is not None:
        return None
    return _dropped_by_request(index, func.cls, set(), 0)


def _dropped_by_request(index: ProjectIndex, cls: ClassInfo, seen: set[int],
                        depth: int) -> tuple[str, CallSite] | None:
    if depth >= _MAX_OWNER_DEPTH or id(cls.node) in seen \
            or any(name in _ENDING_METHODS for name in cls.methods):
        return None
    seen.add(id(cls.node))
    for site in facts(index).call_sites(cls.name):
        caller = site.func
        if caller is None or is_test_module(site.module):
            continue
        made = index.evaluate(site.call.func, site.module, caller)
        if not (isinstance(made, ClassRef) and made.cls is cls):
            continue
        if request_handler(index, caller) is not None:
            if _escapes(index, site.module, caller, site.call) is None \
                    and not _entered_by_with(caller, site.call):
                return cls.name, site
            continue
        if caller.name == "__init__" and caller.cls is not None \
                and _self_param(caller) is not None \
                and _escapes(index, site.module, caller, site.call) == _KEPT \
                and _escapes(index, site.module, caller, site.call, self_keeps=False) is None:
            found = _dropped_by_request(index, caller.cls, seen, depth + 1)
            if found is not None:
                return found
    return None


def _entered_by_with(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` is (or is awaited as) an item of a `with` / `async with` of `func`."""
    return any(isinstance(n, cst.WithItem) and strip_await(n.item)[0] is call
               for n in iter_nodes(func.node.body))


def _cls_param(func: FunctionInfo) -> str | None:
    """The class parameter of a `@classmethod` (`cls`): calling it builds an instance
    of the class, which keeps what it is given (`return cls(create_engine(url))`)."""
    if func.cls is None or not any(
            isinstance(d.decorator, cst.Name) and d.decorator.value == "classmethod"
            for d in func.node.decorators):
        return None
    params = [*func.node.params.posonly_params, *func.node.params.params]
    return params[0].name.value if params else None


def _lazy_factory(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
                  call: cst.Call) -> cst.Lambda | None:
    """The `lambda` whose body is `call` (`lambda: create_engine(url)`), when the object
    that stores it calls it only to keep what it builds: a lazy pool holder
    (`self._factory = lambda: ...` then `self.engine = self._factory()` in `__init__`,
    or `if self._pool is None: self._pool = self._factory()` in a method; also a
    project class the lambda is handed to, `LazyPool(lambda: create_pool(dsn))`, whose
    `__init__` stores the parameter). The engine then goes where the lambda goes. A
    holder that calls it and uses or drops the result (`self._factory().connect()`)
    builds one per call: None."""
    if "lambda" not in module.source:
        return None
    lam = next((n for n in iter_nodes(func.node.body, into_functions=True)
                if isinstance(n, cst.Lambda) and _yields_call(n.body, call)), None)
    if lam is None:
        return None
    own = _self_param(func)
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Assign) and node.value is lam and own is not None \
                and func.cls is not None:
            attrs = [t.target.attr.value for t in node.targets
                     if isinstance(t.target, cst.Attribute)
                     and isinstance(t.target.value, cst.Name) and t.target.value.value == own]
            if len(attrs) == 1 and _calls_once_and_keeps(func.cls, attrs[0]):
                return lam
            return None
        if isinstance(node, cst.Call) and any(a.value is lam for a in node.args):
            ref = index.evaluate(node.func, module, func)
            if not isinstance(ref, ClassRef) or "__init__" not in ref.cls.methods:
                return None
            init = ref.cls.methods["__init__"]
            i, arg = next((i, a) for i, a in enumerate(node.args) if a.value is lam)
            names = init.param_names()
            param = arg.keyword.value if arg.keyword is not None else (
                names[i] if arg.star == "" and i < len(names)
                and all(a.keyword is None and a.star == "" for a in node.args[:i]) else None)
            attr = _stored_as(init, param) if param is not None else None
            if attr is not None and _calls_once_and_keeps(ref.cls, attr):
                return lam
            return None
    return None


def _yields_call(body: cst.BaseExpression, call: cst.Call) -> bool:
    """A lambda's body returns what `call` makes: the call itself, as an element of a
    tuple (`lambda: (create_engine(uri), name)`), or through `typing.cast(T, ...)`."""
    body = strip_await(body)[0]
    if body is call:
        return True
    if isinstance(body, (cst.Tuple, cst.List)):
        return any(_yields_call(el.value, call) for el in body.elements)
    return isinstance(body, cst.Call) and call_name(body) == "cast" and len(body.args) == 2 \
        and _yields_call(body.args[1].value, call)


def _stored_by_own_method(func: FunctionInfo, c: cst.Call,
                          holds: Callable[[cst.BaseExpression | None], bool]) -> bool:
    """`c` is `self.<method>(...)` on the method's own instance, and an argument that
    `holds` the engine goes to a parameter the method stores on the instance."""
    own = _self_param(func)
    f = c.func
    if own is None or func.cls is None or not (
            isinstance(f, cst.Attribute) and isinstance(f.value, cst.Name)
            and f.value.value == own and f.attr.value in func.cls.methods):
        return False
    method = func.cls.methods[f.attr.value]
    names = method.param_names()
    for i, a in enumerate(c.args):
        if a.star or not holds(a.value):
            continue
        param = a.keyword.value if a.keyword is not None else (
            names[i] if i < len(names) and all(
                b.keyword is None and not b.star for b in c.args[:i]) else None)
        if param is not None and _stored_as(method, param) is not None:
            return True
    return False


def _stored_as(init: FunctionInfo, param: str) -> str | None:
    """The attribute a method (`__init__`) stores its parameter `param` in
    (`self._factory = factory`)."""
    own = _self_param(init)
    for node in iter_nodes(init.node.body):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                and node.value.value == param and len(node.targets) == 1:
            t = node.targets[0].target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) \
                    and t.value.value == own:
                return t.attr.value
    return None


def _calls_once_and_keeps(cls: ClassInfo, attr: str) -> bool:
    """Every call of `self.<attr>()` in the class's methods stores its result on the
    instance (`self.pool = self.<attr>()`), in `__init__` (not in a loop) or under a
    test of the attribute it fills (`if self.pool is None:`); and there is one."""
    calls = kept = 0
    for method in cls.methods.values():
        own = _self_param(method)
        if own is None:
            continue

        def mine(expr: cst.BaseExpression | None, name: str = attr, own: str = own) -> bool:
            e = strip_await(expr)[0] if expr is not None else None
            return isinstance(e, cst.Call) and isinstance(e.func, cst.Attribute) \
                and e.func.attr.value == name and isinstance(e.func.value, cst.Name) \
                and e.func.value.value == own

        guarded: set[int] = set()
        looped: set[int] = set()
        for node in iter_nodes(method.node.body):
            if isinstance(node, cst.If):
                tested = {n.attr.value for n in iter_nodes(node.test)
                          if isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name)
                          and n.value.value == own}
                guarded |= {id(n) for n in iter_nodes(node.body) if isinstance(n, cst.Assign)
                            and len(n.targets) == 1 and isinstance(n.targets[0].target,
                                                                   cst.Attribute)
                            and n.targets[0].target.attr.value in tested}
            elif isinstance(node, (cst.For, cst.While)):
                looped |= {id(n) for n in iter_nodes(node.body)}
        for node in iter_nodes(method.node.body):
            if mine(node if isinstance(node, cst.BaseExpression) else None) \
                    and isinstance(node, cst.Call):
                calls += 1
            if isinstance(node, cst.Assign) and mine(node.value) and len(node.targets) == 1:
                t = node.targets[0].target
                names = {t.value} if isinstance(t, cst.Name) else {
                    el.value.value for el in t.elements if isinstance(el.value, cst.Name)
                } if isinstance(t, cst.Tuple) else set()
                # on the instance, directly or through a local it then stores
                # (`engine, name = self._factory()` ... `self.conn = engine`)
                stored = (isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name)
                          and t.value.value == own) or any(
                    isinstance(n, cst.Assign) and isinstance(n.value, cst.Name)
                    and n.value.value in names and len(n.targets) == 1
                    and isinstance(n.targets[0].target, cst.Attribute)
                    and isinstance(n.targets[0].target.value, cst.Name)
                    and n.targets[0].target.value.value == own
                    for n in iter_nodes(method.node.body))
                if stored and (id(node) in guarded or (
                        method.name == "__init__" and id(node) not in looped)):
                    kept += 1
    return calls > 0 and kept == calls


def _escapes(index: ProjectIndex, module: ModuleInfo, func: FunctionInfo,
             call: cst.Call, self_keeps: bool = True) -> str | None:
    """How the engine made by `call`, or a value that keeps it (a sessionmaker bound
    to it, an object built around it), leaves the function: kept for good (a global,
    an attribute, a container: `_KEPT`), only returned or yielded to the caller
    (`_RETURNED`), or not at all (None). With `self_keeps` False, an attribute of the
    method's own instance (`self.engine = ...`) keeps nothing."""
    own = _self_param(func) if not self_keeps else None
    carriers: set[str] = set()
    lazy = _lazy_factory(index, module, func, call)
    statements = [n for n in iter_nodes(func.node.body)
                  if isinstance(n, (cst.Assign, cst.AnnAssign, cst.Return, cst.Expr,
                                    cst.Yield, cst.NamedExpr))]

    def holds(expr: cst.BaseExpression | None) -> bool:
        if expr is None:
            return False
        expr = strip_await(expr)[0]
        if expr is call or (lazy is not None and expr is lazy):
            return True
        if isinstance(expr, cst.Name):
            return expr.value in carriers
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return any(holds(el.value) for el in expr.elements)
        # a comprehension whose every element is the engine (`[create_engine(u) for u
        # in urls]`)
        if isinstance(expr, (cst.ListComp, cst.SetComp)):
            return holds(expr.elt)
        if isinstance(expr, cst.DictComp):
            return holds(expr.value)
        if isinstance(expr, cst.Dict):
            return any(isinstance(el, cst.DictElement) and holds(el.value)
                       for el in expr.elements)
        # a default built only when none was given (`pool or ConnectionPool(url)`,
        # `engine if engine is not None else create_engine(url)`): where it lands, the
        # engine built lands too
        if isinstance(expr, cst.BooleanOperation):
            return holds(expr.left) or holds(expr.right)
        if isinstance(expr, cst.IfExp):
            return holds(expr.body) or holds(expr.orelse)
        if isinstance(expr, cst.Call):
            f = expr.func
            # `engine.execution_options(...)` returns an engine sharing the pool
            if isinstance(f, cst.Attribute) and f.attr.value in _SAME_POOL_METHODS \
                    and holds(f.value):
                return True
            # `typing.cast(Pool, pool)` returns its second argument unchanged
            if len(expr.args) == 2 and external_name(index, f, module, func) in _CASTS:
                return holds(expr.args[1].value)
            # `loop.run_until_complete(create_pool(...))`, `asyncio.run(...)`: the
            # coroutine's result, the pool itself
            if expr.args and expr.args[0].keyword is None and (
                    (isinstance(f, cst.Attribute) and f.attr.value == "run_until_complete")
                    or external_name(index, f, module, func) in _RUNS_COROUTINE):
                return holds(expr.args[0].value)
            # an argument or the receiver keeps the engine, or the callee does: calling
            # a sessionmaker bound to it (`Session()`, `sessionmaker(bind=engine)()`)
            # makes a session that keeps it too
            if any(holds(a.value) for a in expr.args) or (
                    isinstance(f, cst.Attribute) and holds(f.value)) or (
                    isinstance(f, (cst.Name, cst.Call)) and holds(f)):
                kept = index.evaluate(expr, module, func)
                if isinstance(kept, (LibraryObject, Instance, Connection, ExternalInstance)):
                    return True
                # a record built around it by a class the analysis cannot read
                # (`self.Entry(engine, pid)` on a namedtuple class attribute): a
                # CapWords callee named by the engine's argument is a constructor
                name = call_name(expr)
                if kept is None and isinstance(f, cst.Name) and f.value == _cls_param(func) \
                        and any(holds(a.value) for a in expr.args):
                    return True  # an alternative constructor: `return cls(engine)`
                return kept is None and name is not None and name[:1].isupper() \
                    and not name.isupper() and any(holds(a.value) for a in expr.args)
        return False

    def targets_of(st: cst.CSTNode) -> list[cst.BaseExpression]:
        if isinstance(st, cst.Assign):
            return [t.target for t in st.targets]
        if isinstance(st, (cst.AnnAssign, cst.NamedExpr)):
            return [st.target]
        return []

    changed = True
    while changed:
        changed = False
        for st in statements:
            value = getattr(st, "value", None)
            if not targets_of(st) or not holds(value):
                continue
            for t in targets_of(st):
                names = [t] if isinstance(t, cst.Name) else [
                    el.value for el in t.elements] if isinstance(t, (cst.Tuple, cst.List)) else []
                for n in names:
                    if isinstance(n, cst.Name) and n.value not in carriers:
                        carriers.add(n.value)
                        changed = True
    if carriers & func.globals_declared:
        return _KEPT
    returned = False
    for st in statements:
        if isinstance(st, cst.Return) and holds(st.value):
            returned = True
        if isinstance(st, cst.Yield) and isinstance(st.value, cst.BaseExpression) and holds(
                st.value):
            returned = True
        value = getattr(st, "value", None)
        if any(isinstance(t, (cst.Attribute, cst.Subscript)) and not (
                own is not None and isinstance(t, cst.Attribute)
                and isinstance(t.value, cst.Name) and t.value.value == own)
               for t in targets_of(st)) and holds(value):
            return _KEPT
    for c in iter_calls(func.node.body):
        f = c.func
        if (isinstance(f, cst.Attribute) and f.attr.value in STORE_METHODS
                and any(holds(a.value) for a in c.args)):
            return _KEPT
        # handed to the base class's constructor (`super().__init__(engine, ...)` in
        # `__init__`): the instance being built keeps it
        if func.cls is not None and func.name == "__init__" \
                and isinstance(f, cst.Attribute) and f.attr.value == "__init__" \
                and isinstance(f.value, cst.Call) and call_name(f.value) == "super" \
                and any(holds(a.value) for a in c.args):
            return _KEPT
        # handed to a method of the same instance that stores it there
        # (`self._initialize(pool, ...)` whose body does `self._pool = pool`)
        if self_keeps and _stored_by_own_method(func, c, holds):
            return _KEPT
        # bound to a session factory that outlives the call
        # (`Session.configure(bind=engine)`, `db_session.configure(bind=engine)`),
        # unless the function runs per request and binds a new one each time
        if isinstance(f, cst.Attribute) and f.attr.value == "configure" and any(
                a.keyword is not None and a.keyword.value == "bind" and holds(a.value)
                for a in c.args) and not rebinds_per_request(index, func, c):
            return _KEPT
        # its `dispose` handed on, not called (`on_close.append(engine.dispose)`,
        # `atexit.register(engine.dispose)`): whoever holds the callback disposes it
        if any(isinstance(a.value, cst.Attribute) and a.value.attr.value in _POOL_CLOSE
               and holds(a.value.value) for a in c.args):
            return _KEPT
    return _RETURNED if returned else None
