"""PS203 pool-without-pre-ping."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from poolsafe.analysis.caller_urls import callers_dialect
from poolsafe.analysis.engines import (
    engine_sites,
    engine_url,
    holds_no_server_slot,
    is_non_pooling,
)
from poolsafe.analysis.flask_config_use import configures_nothing
from poolsafe.analysis.hand_ping import pinged_at_checkout
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.mysql_recycle import unprotected_mysql
from poolsafe.analysis.one_shot import per_request_app, short_lived_engine
from poolsafe.analysis.project_facts import facts, is_test_module
from poolsafe.analysis.resolution import is_false
from poolsafe.core.model import RawFinding, Severity
from poolsafe.fix.fixers.ps203_pre_ping import fix_pre_ping
from poolsafe.fix.plan.api import FixOutcome
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps203 import INVALID, VALID

_KEY = "pool_pre_ping"


class PoolWithoutPrePing(Rule):
    """
    ## What it does
    Flags a SQLAlchemy engine for a server database (PostgreSQL, MySQL, ...)
    built without `pool_pre_ping=True`:
    - a `create_engine(...)` / `create_async_engine(...)` call, reported at the
      call;
    - the engine fastapi-sqlalchemy's middleware builds from its keyword
      arguments (`app.add_middleware(DBSessionMiddleware, db_url=...,
      engine_args={...})`: `create_engine(db_url, **engine_args)`), judged by
      `db_url` and `engine_args` and reported at the call (not fixed: the setting
      goes into the `engine_args` mapping); one handed `custom_engine=` is the
      project's own engine, judged where it is built;
    - a Flask-SQLAlchemy configuration whose `SQLALCHEMY_DATABASE_URI` is a server
      database and whose `SQLALCHEMY_ENGINE_OPTIONS` lack `pool_pre_ping`: a
      config class (attributes inherited from project base classes count), a
      config module, or the `app.config[...]` / `app.config.update(...)` writes of
      one function. It is reported at the `SQLALCHEMY_ENGINE_OPTIONS` dict when
      that configuration writes one, else at the `SQLALCHEMY_DATABASE_URI` value.
      `SQLAlchemy(engine_options={"pool_pre_ping": True})` anywhere in the
      project covers every configuration, and so does a project subclass of
      `SQLAlchemy` whose option hook turns it on for every engine it builds
      (`apply_pool_defaults` or `apply_driver_hacks` in 2.x,
      `_apply_driver_defaults` in 3.x, setting `options["pool_pre_ping"] = True`
      or `options.setdefault("pool_pre_ping", True)`, itself or in a method of its
      class that it hands the options to, such as a private helper
      `self.__set_pool(app, options)`; the subclass may live in any package of the
      repository, such as your own fork of an extension). In a project that never imports
      Flask-SQLAlchemy and builds its own engines with `create_engine`, a constant
      named `SQLALCHEMY_DATABASE_URI` configures nothing and is not reported (the
      engines are judged themselves). A URI set in alternative branches (`if
      local: ... = "sqlite:///dev.db"` / `else: ... = os.environ["DATABASE_URL"]`)
      is judged by the server's branch, where the deployment that takes it keeps
      a pool of server connections; a write that a later one of the same block
      replaces is never in force.
      A config class or module configures an app only when the app loads it
      (`app.config.from_object(...)`, `from_pyfile`, `from_envvar`, `from_file`):
      in a project whose app sets `SQLALCHEMY_DATABASE_URI` on `app.config` itself
      and loads no config object, a constant of that name elsewhere is only a name
      (the app's own configuration is judged).
      A settings class (a pydantic `BaseSettings`, a plain class) that still has
      `SQLALCHEMY_DATABASE_URI` or `SQLALCHEMY_ENGINE_OPTIONS` fields after the
      project left Flask-SQLAlchemy (say, for encode/databases over asyncpg) is
      not reported when nothing can read them: no module calls a config loader
      (`from_object`, `from_pyfile`, `from_envvar`, `from_file`, `from_json`,
      `from_mapping`), no module outside the tests imports Flask-SQLAlchemy, and
      the project's dependency files (`requirements.txt`, `pyproject.toml`, ...)
      declare neither Flask-SQLAlchemy nor a package built on it (Flask-AppBuilder,
      Superset, Airflow, invenio-db); with no dependency file it stays judged. With
      a loader anywhere in the project the class stays judged (an extension built
      on Flask-SQLAlchemy, such as Flask-AppBuilder's `SQLA`, reads what it loads),
      and so does a config module: an application may import it by name
      (`superset_config.py`).
      A function that loads a config object (`app.config.from_object("pkg.settings.%sConfig"
      % env)`) and then writes only the URI keeps the options that object set: the
      write is not judged (the object is, where it sets them).

    The database is judged by the URL's scheme when the text is visible: a
    string literal, the literal start of an f-string or concatenation, a local
    (the assignment that reaches the engine call: one made in the other branch of
    an `if` does not), a module or class constant (across modules), the default
    of `os.environ.get` / `os.getenv` (also a server's fallback written after `or`: `os.environ.get(
    "DATABASE_URL") or "postgresql://localhost/app"`; a file database's fallback,
    `or "sqlite:///dev.db"`, is the local run's and leaves the deployment's to the
    declared drivers), what a project helper returns (`create_engine(database_url())`
    when every `return` has the same scheme), a `@property` of the project's settings
    class read the same way (`create_async_engine(settings.DB_URL)` where `DB_URL`
    returns `f"postgresql+asyncpg://{self.DB_USER}@..."`), a parameter of the engine's function
    that every project call (outside tests) fills with URLs of one scheme or leaves
    to its default (`reference_engine("sqlite://")`), or `URL.create(
    "postgresql+psycopg2", ...)`. A URL read from the environment with no default (`os.environ
    ["DATABASE_URL"]`) is judged by the value the repository's `.env` files give
    it, else by the type of the settings field it is read from (`engine =
    create_async_engine(settings.DB_URI)` where the project's settings class
    declares `DB_URI: PostgresDsn`, or another of pydantic's DSN types: `MySQLDsn`,
    `CockroachDsn`), else by the database drivers the project declares, unless the
    engine's module imports SQLAlchemy dialects and not that one (a PostgreSQL
    project's MySQL output, `from sqlalchemy.dialects import mysql`: its database is
    not known, and nothing is reported). Only a database
    server's dialect is reported (PostgreSQL and its kin, MySQL/MariaDB, Oracle,
    SQL Server, Snowflake and the other servers of `SERVER_DIALECTS`): SQLite and
    DuckDB URLs are files of this process, and dialects over an HTTP API
    (`gsheets://`, `bigquery://`, `trino://`...) hold no server connection that a
    restart or an idle timeout could kill. Nothing is reported when the URL is not
    known, nor for a placeholder: a whole, non-empty literal with no scheme
    (`"your_database_url"`), from which no engine can be built, is not judged by
    the declared drivers (an empty default is the environment's to fill).

    A MySQL/MariaDB `create_engine()` with neither `pool_pre_ping` nor a
    `pool_recycle` below `wait_timeout` is reported by PS211
    (mysql-without-recycle) instead, not by both; a MySQL engine that recycles
    in time but does not pre-ping is still reported here.

    ## Tests, one-shot code and processes
    Engines whose connections never wait idle in the pool are not reported: the
    configuration of a Flask application a route builds for itself (`app =
    Flask(__name__)` in the handler: its engine serves one request, PS202 reports
    it), a bootstrap engine rebound to another one in the same scope (used once for
    `CREATE DATABASE`), a bootstrap engine that a function (a constructor) only
    checks out from (`engine.connect()`) and drops when it returns, with no `while`
    loop and no other reference to it (not passed, returned, stored; reading what it
    was built with, `engine.url.database` or `engine.dialect.name`, is no checkout,
    so a local engine only so read never connects; nor is lending it to a call
    that borrows a connection and gives it back, keeping nothing: SQLAlchemy's
    `inspect(engine)` read at once, `metadata.create_all(engine)`, pandas'
    `read_sql(query, engine)` and `df.to_sql(name, con=engine)`), an engine whose value is
    dropped where it is made (`try: create_engine("mysql+pymysql://")` / `except
    NoSuchModuleError:`, a probe that the driver is installed: nothing can ask it for a
    connection), an engine disposed where it was built or handed to a project function
    that disposes the parameter it receives (`return bool(_get_scalar(engine, sql))`,
    `_get_scalar` ending in `engine.dispose()`; one also returned or stored stays
    reported), and an engine
    built and dropped in code that runs once per process with no `while` loop (an
    engine handed to a call whose result the function returns or stores, `session =
    configure_session(engine)` ... `return session`, or to a project function that
    stores it, is kept, not dropped, and stays reported): a
    maintenance script's `main()`, a click command, a Django management command's
    `handle()`, an Alembic `env.py` or migration script, an Airflow task callable
    (`@task`, `python_callable=`), and a method that only such code calls (the one
    notion of one-shot code PS102 and PS202 describe; a `while` loop that only
    waits for the database to come up, its body a `try:` that connects, `conn =
    engine.connect()`, then `break`s, is no `while` loop here: it ends with the
    first connection, where a loop that works or sleeps every round does not). So
    is any engine at the top
    level of an Alembic environment (an `env.py` that imports `alembic.context`,
    which Alembic loads by path for one command and no project module imports),
    or of an Alembic revision script (it imports `alembic.op` and assigns
    `revision` and `down_revision`; no project module imports it) that reads it once
    in `upgrade()` (`inspect(engine).has_table(...)`), also one handed straight to
    a call (`declarative_base(bind=create_async_engine(url))`). So is an engine
    built inside the functions of an Alembic environment that calls
    `context.run_migrations()` (`run_migrations_online()`, or a helper nested there
    that opens the connection, with or without `NullPool`): Alembic runs the script
    once per migration command, also when an application runs `alembic upgrade`
    in-process at start-up, and the engine is dropped when the run ends. A module
    that imports `alembic.context` but runs no migrations, or one a project module
    imports, is judged as application code. So is an engine a factory
    returns (`def get_engine(): return create_engine(url)`) when every call of the
    factory in the project (at least one) is such code keeping it local or checking
    out from it at once (`with get_engine().begin() as conn:`, no `while` loop), or the
    top level of a script nothing imports; a factory no project code calls is
    still reported (a library's users may call it per request). A factory that
    returns a `sessionmaker` bound to the engine it builds and keeps no other
    reference to (`engine = create_engine(url)`, `return sessionmaker(bind=engine)`)
    is judged the same way: the engine goes where the sessionmaker goes. This is
    how a one-shot job is read (a Kubernetes Job or CronJob, a maintenance script
    run by `if __name__ == "__main__": main()` or as a console script): the
    process starts, works and exits, so its engine is one run's, whatever the job
    imports. A job that builds the web application (`create_app()`, for its app
    context) or imports the application's models is still a job; what keeps its
    engine reported is where the engine goes: a caller that runs more than once (a
    `while` loop that sleeps or polls, a route, a task), a module global, or a
    factory nothing in the project calls. Nor is a
    factory's engine reported when every project caller binds it to a local,
    neither returns, yields nor stores it, and disposes it (`engine =
    self.engine_for(db)` ... `finally: engine.dispose()`); one caller that keeps
    it (`self.engine = self.engine_for(db)`) keeps it reported.
    Nor is an engine a class builds in its `__init__` (`self.engine =
    create_engine(url)`) when the only place in the project (tests aside) that makes
    the class is a script's `if __name__ == "__main__":` block, outside any loop
    there, with no `while` loop and no server started in that block and no `while`
    loop in any method of the class: the script makes one object for its one run
    (`Exporter(url).export("plants.csv")`). A class also made in a function (a
    route, a task), named elsewhere as a value (a subclass), or one whose method
    loops is still reported.
    An engine wrapped in SQLAlchemy's (or SQLModel's) `AsyncEngine(...)`
    (`connectable = AsyncEngine(create_engine(url))`, the Alembic async recipes'
    form) shares the wrapper's pool and is judged by where the wrapper goes:
    disposed, or local to one-shot code, it is not reported; bound to a module
    name an application reads, it is.
    A module-level engine of a script that no project module imports is one run's
    too: the module has an `if __name__ == "__main__":` block, or its top level
    calls a project function (its own `time_query(...)`) or does database work
    (also inside a top-level `try` block: a wait-for-database probe's `try:
    engine.connect()` / `except OperationalError: sys.exit(1)`),
    and it starts no server, consumer or scheduler and has no loop that waits (a
    module whose top level only calls a library, `load_dotenv()`, is still
    judged).
    An engine built in a script's `if __name__ == "__main__":` block is one run's
    too, when the block starts no server and has no `while` loop, no function
    reads it as a global, and it goes only to helpers that use it and keep
    nothing (`create_tables(engine)`); one the routes read, or that the block
    hands to a worker loop, is still reported. A module with no function that
    does its database work at import time (`engine.connect()`, `conn.execute()`,
    pandas' `df.to_sql(..., con=engine)` and `pd.read_sql(query, engine)`) is a
    script's unless a web
    application, worker or bot imports it, directly or through other modules (a
    package `__init__.py` the app imports builds the app's engine; a module that
    only scripts import is theirs). So is a module-level engine, whatever else its
    module defines, of a module that only scripts import, directly or through
    other modules: no module on the way imports a server, UI server, consumer or
    scheduler package (Flask, FastAPI, Streamlit, Celery, APScheduler, pika,
    ...) or a desktop or terminal UI toolkit (Flet, tkinter, Qt, Kivy, wx, Textual:
    their event loop keeps the window, and the engine its handlers use, open until the
    user closes it), calls a serving or polling loop (`run`, `serve_forever`,
    `start_polling`, ...) or has a loop that waits (`while True`, a `while` that
    sleeps), and every module at the top, one no project module imports, runs as
    a script (an `if __name__ == "__main__":` block, a call at its top level, an
    Alembic script): each run uses the engine and ends. A module imported by a
    module that runs nothing (a library's) is still judged. Nor are test
    modules, nor a Flask config class or module that sets Flask's testing flag
    (`TESTING = True`, also inherited from a project base class), or a config class
    named for the tests (`TestConfig`, `TestingConfig`, `UnitTestConfig`: the word
    `Test` in its name, not just the letters, as in `LatestConfig`) that does not set
    or inherit `TESTING = False`: it configures the test runs (a config class the
    production one derives from is judged by the production class's own name).
    Nor is a module-level
    engine that nothing reads: neither it nor what its module makes from it at the
    top level (`Session = sessionmaker(bind=engine)`, `session = Session()`) is read
    by a statement of the module (a function's own local of the same name aside),
    and the project modules that import the module import only other names from it
    (a Flask blueprint), not the module object or `*`: its pool never connects. A
    module no project module imports is still judged (an entry point, or a
    library's module that its users import), unless it is a loose file in a
    sub-folder with no `__init__.py` (a snippet: no one imports it for its names);
    an engine a route or another module reads is reported.
    Engines with `poolclass=NullPool` (or `StaticPool`) keep no idle connections
    and are exempt, and so is one whose `creator` hands back a connection the code
    already holds (`creator=lambda: conn`, handing pandas an open connection): a
    dead one would come back from the creator all the same. Options hidden behind
    `**kwargs` that cannot be read are given the benefit of the doubt.

    ## Hand-written liveness checks
    An engine whose every checkout a listener of the project already tests, the
    way `pool_pre_ping` does (the recipes SQLAlchemy documented before 1.2), is
    not reported: a pool `checkout` listener on the engine (`@event.listens_for(
    engine, "checkout")`, also `engine.pool`), or on the `Pool` class for every
    pool of the process (`event.listen(Pool, "checkout", ping)`, in any module
    outside the tests), that executes a statement (`cursor.execute("SELECT 1")`)
    in a `try` whose handler raises `DisconnectionError` itself (the pool then
    discards the connection and checks out another, up to three times); or an
    `engine_connect` listener on the engine or the `Engine` class that executes a
    statement in a `try` whose handler executes it again (the failure invalidated
    the dead connection; the second statement runs on a fresh one). A listener that
    logs the failure and goes on, raises another error (the checkout fails: the
    same outcome as no check), or listens to another engine is no check of this
    one. A liveness method the code calls by hand before its work (`self.ping()`
    at the start of a consumer's callback, `SELECT 1` and a reconnect on
    `OperationalError`) stays reported: it is as good only if every use of the
    engine comes after it, which the handlers a class keeps in tables and calls
    later do not let the analysis show; adding `pool_pre_ping=True` there is
    harmless.

    ## Why is this bad?
    A pooled connection can die while idle: the server restarts or fails over,
    a firewall or load balancer drops idle TCP sessions, `wait_timeout` or
    `idle_session_timeout` closes it. The next checkout then fails with
    `server closed the connection unexpectedly` or `MySQL server has gone away`.
    `pool_pre_ping=True` tests each connection at checkout and replaces dead
    ones transparently.

    ## Example
    ```python
    engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=10)
    ```

    ## Use instead
    ```python
    engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=10,
                           pool_pre_ping=True)
    ```

    ## Fix safety
    The fix adds `pool_pre_ping=True` (to the call or the options dict). It costs
    one round trip per checkout and changes no results; it is safe. In a pydantic
    settings class the new `SQLALCHEMY_ENGINE_OPTIONS` entry is annotated (`: dict`;
    pydantic 2 refuses a field without one when the module is imported), and one
    that inherits the options from a base is not fixed.
    """

    code = "PS203"
    name = "pool-without-pre-ping"
    summary = "a server-database engine without pool_pre_ping=True"
    severity = Severity.WARNING
    fixable = True
    VALID = VALID
    INVALID = INVALID

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome:
        return fix_pre_ping(ctx, finding)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's engine lives for one test, not in production
        for site in engine_sites(ctx.index, ctx.module):
            if site.dialect is None or holds_no_server_slot(site.dialect) or site.anchor is None:
                continue
            opts = site.options
            if opts is None or is_non_pooling(ctx.index, opts):
                continue
            ping = opts.values.get(_KEY)
            if ping is not None and not is_false(ping.expr):
                continue
            if ping is None and opts.open:
                continue
            if site.from_config and facts(ctx.index).global_pre_ping():
                continue
            if configures_nothing(ctx.index, ctx.module, site) is not None:
                continue  # a name only: Flask-SQLAlchemy never reads this configuration
            if site.call is not None and not site.from_config and short_lived_engine(
                    ctx.index, ctx.module, site.call) is not None:
                continue  # used once and dropped: no idle connection to test
            if site.dialect_evidence and site.call is not None and _callers_pass_a_file(
                    ctx.index, ctx.module, site.call):
                continue  # every caller hands the factory an SQLite (or other file) URL
            if site.from_config and per_request_app(ctx.index, site.func):
                continue  # an app a route builds for one request: its engine too
            if site.testing_config:
                continue  # Flask's TESTING = True: the configuration of the test runs
            if pinged_at_checkout(ctx.index, ctx.module, site.call) is not None:
                continue  # a hand-written listener tests every checkout, as pre-ping does
            if unprotected_mysql(ctx.index, ctx.module, site) is not None:
                continue  # PS211 reports it: neither recycle nor pre-ping on MySQL
            where = ("`SQLALCHEMY_ENGINE_OPTIONS`" if site.from_config else site.label)
            dialect = site.dialect
            if site.dialect_evidence:
                dialect = f"{dialect} engine (the project declares {site.dialect_evidence})"
            else:
                dialect = f"{dialect} engine"
            yield self.finding(
                site.anchor,
                f"{site.label}: {dialect} without `pool_pre_ping=True`; a "
                "connection that died while idle (server restart, failover, idle timeout) "
                f"fails the next request; add `pool_pre_ping=True` to {where}",
            )


def _callers_pass_a_file(index: ProjectIndex, module: ModuleInfo, call: cst.Call) -> bool:
    """The engine's URL is a parameter of its function that every project caller
    fills with a URL of a database that holds no server slot (`reference_engine(
    "sqlite://")`): the declared server driver does not make it that server's. Asked
    only here, where the dialect came from the declared drivers: finding the callers
    reads the modules that call the function."""
    url = engine_url(call)
    func = next((f for c, f in module.calls if c is call), None)
    return url is not None and holds_no_server_slot(callers_dialect(index, url, func))
