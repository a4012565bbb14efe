"""Facts about frameworks, schedulers, HTTP clients and pool settings, as data.

The PS2xx rules (pool settings and connection lifecycles) read these tables;
adding a scheduler, an HTTP client or a web framework is a table entry here.
Qualified names are written as (package root, final name) pairs and matched with
`poolsafe.knowledge.match_qualname`, like the tables in `libraries.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

# ----------------------------------------------------------------- raw connects

#: Connection kinds (`libraries.CONNECTION_KINDS`) that a driver's own `connect()`
#: produces: one new server connection per call, no pool (PS201). aiomysql's and
#: aiopg's `connect()` open one too (their pools are `create_pool()`).
RAW_CONNECT_KINDS: frozenset[str] = frozenset(
    {"psycopg2", "psycopg", "psycopg-async", "pymysql", "mysql-connector", "asyncpg",
     "aiomysql", "aiopg"}
)

# ------------------------------------------------------------ request handlers

#: Base classes whose subclasses' HTTP-method methods are request handlers.
#: Flask-RESTful's, Flask-RESTX's and Flask-RESTPlus's `Resource` are `MethodView`s
#: (`api.add_resource(Items, "/items")` routes a request to `Items().get(...)`), and so is
#: flask-apispec's `MethodResource`.
VIEW_BASE_ROOTS: tuple[str, ...] = (
    "django.views",
    "rest_framework.views",
    "rest_framework.viewsets",
    "rest_framework.generics",
    "flask.views",
    "flask_restful.Resource",
    "flask_restx.Resource",
    "flask_restplus.Resource",
    "flask_apispec.views.MethodResource",
    "flask_apispec.MethodResource",
)

#: Flask-Classful's (and its predecessor Flask-Classy's) `FlaskView`: `register(app)` routes
#: every public method of a subclass (a name without a leading underscore), not only the
#: HTTP-method ones; the `before_*` / `after_*` methods are its request hooks, and the
#: names in the class's `excluded_methods` are left out.
ROUTE_EVERY_METHOD_ROOTS: tuple[str, ...] = (
    "flask_classful.FlaskView",
    "flask_classy.FlaskView",
)

#: Base classes whose instances live for one request: the framework builds a new one
#: for every request it routes to the class (Django's and DRF's `as_view()`, Flask's
#: `MethodView`, Tornado's `RequestHandler`, aiohttp's class-based `web.View`), so an
#: attribute set on `self` is dropped with the request.
PER_REQUEST_INSTANCE_ROOTS: tuple[str, ...] = (
    *VIEW_BASE_ROOTS,
    *ROUTE_EVERY_METHOD_ROOTS,
    "tornado.web.RequestHandler",
    "aiohttp.web.View",
    "aiohttp.web_urldispatcher.View",
)

#: Methods of a class-based view that handle a request.
VIEW_HANDLER_METHODS: frozenset[str] = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "dispatch",
     # Django REST framework viewset actions
     "list", "create", "retrieve", "update", "partial_update", "destroy"}
)

#: Packages whose presence in a `views` module's imports makes its
#: `def view(request, ...)` functions Django request handlers.
DJANGO_ROOTS: tuple[str, ...] = ("django", "rest_framework")

#: The module (last dotted part) where Django keeps function views.
DJANGO_VIEW_MODULES: frozenset[str] = frozenset({"views", "api", "viewsets"})

#: Decorators that only wrap request handlers (Django and DRF).
DJANGO_VIEW_DECORATORS: frozenset[tuple[str, str]] = frozenset(
    {
        ("django.views.decorators", "require_http_methods"),
        ("django.views.decorators", "require_GET"),
        ("django.views.decorators", "require_POST"),
        ("django.views.decorators", "require_safe"),
        ("django.contrib.auth.decorators", "login_required"),
        ("django.contrib.auth.decorators", "permission_required"),
        ("rest_framework.decorators", "api_view"),
    }
)

#: Decorators that make a function a command-line entry point, run once per process.
CLI_DECORATORS: frozenset[tuple[str, str]] = frozenset(
    {("click", "command"), ("click", "group"), ("typer", "command"), ("typer", "callback")}
)

#: Class decorators that make a class a command-line command whose `__call__` the
#: framework runs once per invocation (cappa: `@cappa.command(...)` on a dataclass,
#: `async def __call__(self)`, run by `cappa.invoke` / `cappa.invoke_async`).
CLI_CLASS_DECORATORS: frozenset[tuple[str, str]] = frozenset({("cappa", "command")})

#: Decorators that declare a command's parameters: a function that has one is a
#: command, whoever registers it (`@register_command()` of the project's own CLI
#: module, then `@click.option(...)`).
CLI_PARAMETER_DECORATORS: frozenset[tuple[str, str]] = frozenset(
    {("click", "option"), ("click", "argument")}
)

#: Airflow's task decorators (`@task`, `@task.branch`, `@task.virtualenv`, ...): the
#: decorated function is a task callable, run once per task instance in a process of
#: its own (`airflow tasks run`), which ends when the task does.
AIRFLOW_TASK_DECORATORS: tuple[str, ...] = (
    "airflow.decorators.task", "airflow.sdk.task", "airflow.operators.python.task",
)

#: Prefect's decorators of a flow and of a task (`@flow`, `@task(retries=2)`): a flow run
#: runs in a process of its own (a process worker's subprocess, a container, or the
#: subprocess `serve()` starts per run), which ends when the run does.
PREFECT_RUN_DECORATORS: frozenset[str] = frozenset(
    {"prefect.flow", "prefect.task", "prefect.flows.flow", "prefect.tasks.task"}
)
#: The methods that hand a Prefect task to something that runs it many times in one
#: process: a task worker (`my_task.serve()`, `.delay()` submits to one), or a map
#: over inputs (`my_task.map(items)`).
PREFECT_REPEATING_METHODS: frozenset[str] = frozenset({"serve", "delay", "map"})
#: Prefect's task worker, which runs the tasks it is handed for every submission.
PREFECT_TASK_WORKER_SERVE = "prefect.task_worker.serve"

#: The keyword by which an Airflow operator (`PythonOperator`,
#: `BranchPythonOperator`, `ShortCircuitOperator`, `PythonVirtualenvOperator`,
#: `PythonSensor`, ...) is handed its task callable.
AIRFLOW_CALLABLE_KEYWORD = "python_callable"

#: Command groups whose `.command()` / `.group()` decorators make command-line entry
#: points (click and typer groups, Flask's CLI groups, which are click groups, and a
#: cyclopts `App`, whose `@app.command` runs once per invocation of the program).
CLI_GROUP_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {("flask.cli", "AppGroup"), ("flask.cli", "FlaskGroup"), ("cyclopts", "App")}
)

#: Application classes whose lifecycle methods are a process's entry point: a
#: traitlets `Application` (JupyterHub, Jupyter servers and their subcommands) runs
#: `initialize()` then `start()` once, from `launch_instance()`, and the process ends
#: when `start()` returns or the server stops.
APPLICATION_BASES: frozenset[tuple[str, str]] = frozenset(
    {("traitlets", "Application"), ("jupyter_core", "JupyterApp")}
)
APPLICATION_LIFECYCLE_METHODS: frozenset[str] = frozenset(
    {"initialize", "start", "launch_instance"}
)
#: A Jupyter server extension's application (`ExtensionApp`, itself a traitlets
#: application): the server loads each extension once, calling these set-up hooks
#: once per process (`_load_jupyter_server_extension`), before it serves.
EXTENSION_APP_BASES: frozenset[tuple[str, str]] = frozenset(
    {("jupyter_server", "ExtensionApp")}
)
EXTENSION_APP_SETUP_METHODS: frozenset[str] = frozenset(
    {"initialize_settings", "initialize_handlers", "initialize_templates"}
)

#: Methods that store their argument in a longer-lived container or registry
#: (`ENGINES.append(engine)`, `app.extensions.setdefault("db", engine)`).
STORE_METHODS: frozenset[str] = frozenset(
    {"append", "add", "extend", "insert", "setdefault", "update", "register", "set", "put",
     "__setitem__"}
)

#: Decorators that keep a function's result for later calls (the engine outlives the call).
CACHING_DECORATORS: frozenset[tuple[str, str]] = frozenset(
    {("functools", "lru_cache"), ("functools", "cache"), ("functools", "cached_property"),
     ("cachetools", "cached")}
)

# ---------------------------------------------------------------------- Flask

#: Flask classes whose instances carry `config`, `teardown_*` and `app_context`.
FLASK_APP_TYPES: frozenset[tuple[str, str]] = frozenset(
    {("flask", "Flask"), ("flask", "Blueprint")}
)
#: Web application classes an application factory builds and returns (`def
#: create_app(): app = Flask(__name__); ...; return app`): a WSGI/ASGI server or the
#: framework's own runner calls such a factory once per worker process.
WEB_APPLICATION_TYPES: frozenset[tuple[str, str]] = frozenset(
    {("flask", "Flask"), ("quart", "Quart"), ("fastapi", "FastAPI"),
     ("starlette", "Starlette"), ("aiohttp", "Application"), ("sanic", "Sanic"),
     ("falcon", "App"), ("falcon", "API"), ("litestar", "Litestar")}
)
#: The names a `from <library> import *` brings in that the analysis reads (a library
#: without `__all__` exports every public name of its package): `Blueprint`, `g` or
#: `create_engine` in a module that star-imports its library are still the library's.
STAR_IMPORT_NAMES: dict[str, frozenset[str]] = {
    "flask": frozenset({
        "Flask", "Blueprint", "g", "request", "session", "current_app", "abort",
        "redirect", "url_for", "render_template", "jsonify", "flash", "make_response",
        "has_app_context", "has_request_context", "copy_current_request_context",
        "stream_with_context", "after_this_request", "send_file"}),
    "flask_sqlalchemy": frozenset({"SQLAlchemy"}),
    "sqlalchemy": frozenset({"create_engine", "text", "select", "insert", "update",
                             "delete", "MetaData", "Table", "Column"}),
    "sqlalchemy.orm": frozenset({"sessionmaker", "scoped_session", "Session"}),
    "psycopg2": frozenset({"connect"}),
    "pymysql": frozenset({"connect", "Connect", "Connection"}),
    # peewee's models modules often start `from peewee import *`: the database
    # classes then come from the star import (`db = MySQLDatabase(...)`)
    "peewee": frozenset({"MySQLDatabase", "PostgresqlDatabase", "SqliteDatabase", "Model",
                         "DatabaseProxy", "Proxy"}),
    "playhouse.pool": frozenset({"PooledMySQLDatabase", "PooledPostgresqlDatabase",
                                 "PooledPostgresqlExtDatabase", "PooledSqliteDatabase",
                                 "PooledSqliteExtDatabase"}),
    "playhouse.postgres_ext": frozenset({"PostgresqlExtDatabase"}),
    "playhouse.sqlite_ext": frozenset({"SqliteExtDatabase"}),
}
#: Request-scoped namespaces of a web framework whose attributes are what the project
#: assigns to them (`g.db = DATABASE` in a `before_request` hook, then `g.db.connect()`
#: and `g.db.close()` in other hooks of the same request): Flask's `g`.
REQUEST_NAMESPACES: frozenset[str] = frozenset({"flask.g", "flask.globals.g"})
#: Decorator/registration methods whose function runs at the end of every request
#: or app context (where `scoped_session.remove()` belongs).
FLASK_TEARDOWN_METHODS: frozenset[str] = frozenset(
    {"teardown_appcontext", "teardown_request", "teardown_app_request"}
)
#: Decorator methods of a web app whose function runs at the start of every request
#: (a hook, not a route): Flask's `@app.before_request` / `@bp.before_app_request`,
#: FastAPI's and Starlette's `@app.middleware("http")`.
REQUEST_HOOK_METHODS: dict[str, frozenset[tuple[str, str]]] = {
    "before_request": FLASK_APP_TYPES,
    "before_app_request": frozenset({("flask", "Blueprint")}),
    "middleware": frozenset({("fastapi", "FastAPI"), ("starlette", "Starlette")}),
}
#: Bottle's request hooks. A hook is registered with `@app.hook("before_request")`,
#: bottle's module-level `@hook("before_request")` (the default app's), or
#: `app.add_hook("before_request", func)`; Bottle runs `before_request` hooks at the start
#: of every request and `after_request` hooks after every request whatever its outcome
#: (in a `finally` around the route), so a close in an `after_request` hook gives back
#: what a `before_request` hook opened also when the route raised.
BOTTLE_MODULE: str = "bottle"
BOTTLE_HOOK_DECORATORS: frozenset[str] = frozenset({"hook"})
BOTTLE_HOOK_REGISTRARS: frozenset[str] = frozenset({"add_hook"})
BOTTLE_REQUEST_START_HOOKS: frozenset[str] = frozenset({"before_request"})
BOTTLE_REQUEST_END_HOOKS: frozenset[str] = frozenset({"after_request"})
#: Middleware base classes whose `dispatch` method runs for every request.
REQUEST_MIDDLEWARE_BASES: frozenset[tuple[str, str]] = frozenset(
    {("starlette", "BaseHTTPMiddleware")}
)
#: `with app.<method>():` pushes an application context.
FLASK_CONTEXT_METHODS: frozenset[str] = frozenset(
    {"app_context", "test_request_context", "request_context"}
)
#: Flask-SQLAlchemy configuration keys.
FLASK_SQLALCHEMY_URI_KEY = "SQLALCHEMY_DATABASE_URI"
FLASK_SQLALCHEMY_OPTIONS_KEY = "SQLALCHEMY_ENGINE_OPTIONS"
#: Flask's testing flag: a config class or module with `TESTING = True` configures the
#: test runs
FLASK_TESTING_KEY = "TESTING"
#: `SQLAlchemy(engine_options={...})` sets default engine options for every engine.
FLASK_SQLALCHEMY_OPTIONS_KEYWORD = "engine_options"
#: The methods of Flask-SQLAlchemy's `SQLAlchemy` that a project subclass overrides to
#: set every engine's options (`options["pool_pre_ping"] = True`): 2.x's
#: `apply_pool_defaults` and `apply_driver_hacks`, 3.x's `_apply_driver_defaults`.
FLASK_SQLALCHEMY_OPTION_HOOKS: frozenset[str] = frozenset(
    {"apply_pool_defaults", "apply_driver_hacks", "_apply_driver_defaults"})
#: Flask-SQLAlchemy's extension class (`flask_sqlalchemy.SQLAlchemy`, 3.x also
#: `flask_sqlalchemy.extension.SQLAlchemy`): (package root, class name). A project
#: subclass's `db.session` is the same scoped session, bound to the app's engine.
FLASK_SQLALCHEMY_CLASS: tuple[str, str] = ("flask_sqlalchemy", "SQLAlchemy")
#: `session.connection()`: the connection of the session's own transaction; a session
#: bound to it (`Session(bind=db.session.connection())`) checks nothing out.
SESSION_CONNECTION_METHOD = "connection"
#: `app.config.<method>(KEY=value)` sets configuration keys.
FLASK_CONFIG_UPDATE_METHODS: frozenset[str] = frozenset({"update", "from_mapping"})
#: `app.config` methods that read a config class, module or file: a config class or
#: module configures an app only through one of them
FLASK_CONFIG_LOAD_METHODS: frozenset[str] = frozenset({
    "from_object", "from_pyfile", "from_envvar", "from_file", "from_json"})
#: Attributes of a Flask-SQLAlchemy model class that run queries (`User.query`).
FLASK_MODEL_QUERY_ATTRIBUTES: frozenset[str] = frozenset({"query"})
#: The base class attribute of the extension object (`class User(db.Model)`).
FLASK_MODEL_BASE_ATTRIBUTE = "Model"
#: Attributes of the Flask-SQLAlchemy extension that need an application context.
FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES: frozenset[str] = frozenset(
    {"session", "engine", "engines", "create_all", "drop_all", "reflect", "get_engine",
     "get_or_404", "first_or_404", "one_or_404", "paginate"}
)

# ---------------------------------------------------------- background jobs


@dataclass(frozen=True)
class JobRegistrar:
    """A method or function that runs a callable later, outside any request.

    For a method, `owner_types` are the classes whose instances have it; for a
    plain function or class (`threading.Thread`), `owner_types` is empty and
    `callee` names it.
    """

    name: str
    owner_types: frozenset[tuple[str, str]] = frozenset()
    callee: frozenset[tuple[str, str]] = frozenset()
    #: where the callable is passed: positional index and keyword
    position: int | None = 0
    keyword: str | None = None
    #: True when the method is a decorator (`@scheduler.scheduled_job(...)`)
    decorator: bool = False


APSCHEDULER_TYPES: frozenset[tuple[str, str]] = frozenset(
    {
        ("apscheduler", "BackgroundScheduler"),
        ("apscheduler", "BlockingScheduler"),
        ("apscheduler", "AsyncIOScheduler"),
        ("apscheduler", "GeventScheduler"),
        ("apscheduler", "TornadoScheduler"),
        ("apscheduler", "TwistedScheduler"),
        ("apscheduler", "QtScheduler"),
        ("apscheduler", "BaseScheduler"),
        ("flask_apscheduler", "APScheduler"),
    }
)
CELERY_APP_TYPES: frozenset[tuple[str, str]] = frozenset({("celery", "Celery")})

JOB_REGISTRARS: tuple[JobRegistrar, ...] = (
    JobRegistrar("add_job", owner_types=APSCHEDULER_TYPES, position=0, keyword="func"),
    JobRegistrar("scheduled_job", owner_types=APSCHEDULER_TYPES, decorator=True),
    # Flask-APScheduler's `@scheduler.task("interval", ...)`
    JobRegistrar("task", owner_types=frozenset({("flask_apscheduler", "APScheduler")}),
                 decorator=True),
    JobRegistrar("task", owner_types=CELERY_APP_TYPES, decorator=True),
    JobRegistrar("shared_task", callee=frozenset({("celery", "shared_task")}), decorator=True),
    # Thread(group=None, target=None, ...): target is the second positional
    JobRegistrar("Thread", callee=frozenset({("threading", "Thread")}), position=1,
                 keyword="target"),
    JobRegistrar("Timer", callee=frozenset({("threading", "Timer")}), position=1,
                 keyword="function"),
    JobRegistrar("submit", owner_types=frozenset(
        {("concurrent.futures", "ThreadPoolExecutor"),
         ("concurrent.futures", "ProcessPoolExecutor")}), position=0, keyword="fn"),
)

# ------------------------------------------------------------ network calls

#: Annotations that make a parameter a connection or session (`db: Session`).
HANDLE_ANNOTATIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("sqlalchemy", "Session"),
        ("sqlalchemy", "AsyncSession"),
        ("sqlalchemy", "Connection"),
        ("sqlalchemy", "AsyncConnection"),
        ("sqlmodel", "Session"),
        ("sqlmodel", "AsyncSession"),  # sqlmodel.ext.asyncio.session
        ("psycopg2", "connection"),
        ("psycopg", "Connection"),
        ("psycopg", "AsyncConnection"),
        ("asyncpg", "Connection"),
        ("pymysql", "Connection"),
    }
)
#: Annotations of a parameter that hands a function a connection its caller owns:
#: a session bound to it (`Session(bind=connection)`) checks nothing out of a pool.
BORROWED_BIND_ANNOTATIONS: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy", "Connection"), ("sqlalchemy", "AsyncConnection")}
)
#: Alembic's context objects, annotated or handed to an Alembic hook (a function
#: registered with a decorator of the `alembic` package, such as
#: `@comparators.dispatch_for("schema")`, gets an `AutogenContext` first): their
#: `connection` is the migration's connection, which Alembic opens and closes.
ALEMBIC_CONTEXTS: frozenset[tuple[str, str]] = frozenset(
    {("alembic", "AutogenContext"), ("alembic", "MigrationContext")}
)
ALEMBIC_ROOT = "alembic"

#: ... of them, the connections that commit each statement on their own until a
#: transaction is opened on them (asyncpg outside `async with conn.transaction()`)
AUTOCOMMIT_HANDLE_ANNOTATIONS: frozenset[tuple[str, str]] = frozenset(
    {("asyncpg", "Connection")}
)

#: Methods that end a transaction on a connection or session.
TRANSACTION_END_METHODS: frozenset[str] = frozenset({"commit", "rollback", "close"})
#: Functions that close every SQLAlchemy session of the process (`close_all_sessions()`
#: calls `close()` on each session in memory): each one's transaction ends and its
#: connection goes back to its pool.
CLOSE_ALL_SESSIONS: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy.orm", "close_all_sessions")})

#: Methods of a connection that hand out a cursor sharing its transaction.
CURSOR_METHODS: frozenset[str] = frozenset({"cursor"})

# ------------------------------------------------------------------ engines

#: Engine constructors and the name of their URL parameter.
ENGINE_CONSTRUCTORS: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy", "create_engine"), ("sqlalchemy", "create_async_engine"),
     ("sqlmodel", "create_engine")}
)
ENGINE_URL_KEYWORD = "url"
#: an engine's attributes fixed when it is built, read without a connection (SQLAlchemy
#: opens none before the first checkout): its URL, its dialect (quoting, name, version
#: checks) and their names
ENGINE_OFFLINE_ATTRIBUTES = frozenset({"url", "dialect", "name", "driver"})
#: Middleware that builds the application's engine itself from keyword arguments:
#: fastapi-sqlalchemy's `app.add_middleware(DBSessionMiddleware, db_url=...,
#: engine_args={...})` calls `create_engine(db_url, **engine_args)` (a `custom_engine=`
#: passed instead is the project's own engine, judged where it is built).
MIDDLEWARE_ENGINES: frozenset[tuple[str, str]] = frozenset(
    {("fastapi_sqlalchemy", "DBSessionMiddleware")}
)
MIDDLEWARE_URL_KEYWORD = "db_url"
MIDDLEWARE_OPTIONS_KEYWORD = "engine_args"

#: `sqlalchemy.engine.URL.create(drivername, ...)` builds a URL from parts; the
#: second item is the dotted tail of the qualified name.
URL_BUILDERS: frozenset[tuple[str, str]] = frozenset({("sqlalchemy", "URL.create")})
URL_DRIVER_KEYWORD = "drivername"
#: Functions that return their URL argument parsed or as text.
URL_PASSTHROUGH: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy", "make_url"), ("builtins", "str")}
)

#: Calls that never return to the statement after them: they raise (`SystemExit` from
#: `sys.exit`, an `HTTPException` from Flask's `abort` and its kin in
#: Flask-RESTful, Flask-RESTX, flask-smorest, werkzeug and Quart, pytest's outcome exceptions),
#: so a handler that ends in one swallows nothing and the code after it does not run.
RAISING_CALLS: frozenset[tuple[str, str]] = frozenset(
    {("sys", "exit"), ("builtins", "exit"), ("builtins", "quit"),
     ("flask", "abort"), ("werkzeug.exceptions", "abort"), ("werkzeug", "abort"),
     ("flask_restful", "abort"), ("flask_restx", "abort"), ("flask_smorest", "abort"),
     ("quart", "abort"),
     ("pytest", "fail"), ("pytest", "skip"), ("pytest", "exit"), ("pytest", "xfail")}
)
#: ... and calls that end the process on the spot (no exception, no `finally`): what
#: the process held goes with it.
PROCESS_ENDING_CALLS: frozenset[tuple[str, str]] = frozenset(
    {("os", "_exit"), ("os", "abort")}
)
#: Builtins that raise `SystemExit`, called by their bare name (`exit(1)`).
RAISING_BUILTINS: frozenset[str] = frozenset({"exit", "quit"})

#: SQLAlchemy dialects (URL scheme before `+`) that hold a connection to a database
#: server, one server slot each: pool sizes, pre-ping, recycling and an engine per call
#: matter for these. A dialect known to be anything else holds no server slot: a file
#: in-process (`sqlite`, `duckdb`), or an adapter over an HTTP API (`gsheets`,
#: `bigquery`, `trino`, `druid`...), whose "connections" die with no server restart
#: and fill no `max_connections`; an unknown URL (from the environment) is no evidence
#: either way, and is left to the rule.
SERVER_DIALECTS: frozenset[str] = frozenset({
    "postgresql", "postgres", "cockroachdb", "redshift", "yugabytedb",
    "mysql", "mariadb", "tidb", "singlestoredb", "oceanbase",
    "oracle", "mssql", "sybase", "db2", "ibm_db_sa", "informix", "firebird",
    "hana", "vertica", "teradatasql", "exasol", "sqlanywhere", "snowflake",
})

#: A dialect package's own URL builder (`from trino.sqlalchemy import URL`): the URL it
#: builds is that dialect's, whatever drivers the project also declares.
DIALECT_URL_BUILDERS: dict[tuple[str, str], str] = {
    ("trino.sqlalchemy", "URL"): "trino",
    ("snowflake.sqlalchemy", "URL"): "snowflake",
}

#: Pool classes that keep no idle connections, so pre-ping and overflow do not apply.
NON_POOLING_CLASSES: frozenset[tuple[str, str]] = frozenset(
    {("sqlalchemy", "NullPool"), ("sqlalchemy", "StaticPool"),
     ("sqlalchemy", "SingletonThreadPool"), ("sqlalchemy", "AssertionPool")}
)

#: SQLAlchemy's QueuePool defaults.
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10

#: Environment lookups whose second argument is the default value.
ENV_LOOKUPS: frozenset[tuple[str, str]] = frozenset(
    {("os", "getenv"), ("os.environ", "get")}
)

#: Database driver distributions (normalized PyPI names) and the SQL dialect they
#: serve: a project that declares one talks to that kind of server, which tells the
#: dialect of an engine whose URL comes from the environment.
DRIVER_DIALECTS: dict[str, str] = {
    "psycopg2": "postgresql",
    "psycopg2-binary": "postgresql",
    "psycopg": "postgresql",
    "psycopg-binary": "postgresql",
    "asyncpg": "postgresql",
    "pg8000": "postgresql",
    "pymysql": "mysql",
    "mysqlclient": "mysql",
    "mysql-connector-python": "mysql",
    "aiomysql": "mysql",
    "asyncmy": "mysql",
    "mariadb": "mariadb",
    "oracledb": "oracle",
    "cx-oracle": "oracle",
    "pyodbc": "mssql",
    "pymssql": "mssql",
}
