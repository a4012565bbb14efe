"""Facts about servers, pools and process managers that the capacity budget uses
(`poolsafe capacity`, PS208-PS211): documented defaults, as data.

Every default here is shown to the user as an assumption when it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

#: `max_connections` when nothing in the repository sets it (the servers' defaults)
DEFAULT_MAX_CONNECTIONS: dict[str, int] = {"postgresql": 100, "mysql": 151, "pgbouncer": 100}
#: PostgreSQL keeps `superuser_reserved_connections` (default 3) for superusers; MySQL
#: allows one SUPER connection *beyond* max_connections, so nothing is subtracted
DEFAULT_RESERVED: dict[str, int] = {"postgresql": 3, "mysql": 0, "pgbouncer": 0}
#: MySQL/MariaDB close connections idle longer than this (seconds)
MYSQL_DEFAULT_WAIT_TIMEOUT = 28800
#: the port PgBouncer listens on by default
PGBOUNCER_PORT = 6432
#: the dialect names that mean MySQL
MYSQL_DIALECTS = frozenset({"mysql", "mariadb"})

#: container images (the name without registry and tag) of database servers
SERVER_IMAGES: dict[str, str] = {
    "postgres": "postgresql", "postgresql": "postgresql", "postgis": "postgresql",
    "timescaledb": "postgresql", "timescaledb-ha": "postgresql",
    "mysql": "mysql", "mariadb": "mysql", "percona": "mysql", "mysql-server": "mysql",
    "pgbouncer": "pgbouncer",
}

#: images of programs that are not the application (proxies, caches, brokers, admin
#: tools): a container that runs one is not the repository's Dockerfile command
INFRASTRUCTURE_IMAGES = frozenset({
    "nginx", "httpd", "caddy", "traefik", "haproxy", "envoy", "redis", "memcached",
    "rabbitmq", "mongo", "elasticsearch", "opensearch", "kibana", "grafana", "prometheus",
    "minio", "mailhog", "mailpit", "adminer", "pgadmin4", "certbot", "node", "flower",
    "zookeeper", "kafka", "localstack", "jaeger", "otel-collector", "vault", "consul",
})
#: words of code that reads the `.env` file itself (python-dotenv, pydantic settings)
DOTENV_READERS = ("load_dotenv", "dotenv_values", "find_dotenv", "env_file")
#: server images' environment variables that set the connection limit (Bitnami's
#: `POSTGRESQL_MAX_CONNECTIONS`, ...), and those that carry extra server flags
SERVER_LIMIT_ENV: dict[str, tuple[str, ...]] = {
    "postgresql": ("POSTGRESQL_MAX_CONNECTIONS", "POSTGRES_MAX_CONNECTIONS",
                   "PG_MAX_CONNECTIONS"),
    "mysql": ("MYSQL_MAX_CONNECTIONS", "MARIADB_MAX_CONNECTIONS"),
}
SERVER_FLAGS_ENV: dict[str, tuple[str, ...]] = {
    "postgresql": ("POSTGRESQL_EXTRA_FLAGS", "POSTGRES_INITDB_ARGS_RUNTIME"),
    "mysql": ("MYSQL_EXTRA_FLAGS", "MARIADB_EXTRA_FLAGS"),
}

@dataclass(frozen=True)
class PoolConstructor:
    """A pool other than SQLAlchemy's: how its maximum size is given."""

    root: str
    tail: str
    library: str
    #: keyword and position of the minimum and the maximum size
    min_keyword: str
    min_position: int | None
    max_keyword: str
    max_position: int | None
    #: the library's defaults (None: the maximum defaults to the minimum)
    default_min: int | None
    default_max: int | None
    #: keyword and position of the DSN
    dsn_keyword: str
    dsn_position: int | None
    dialect: str
    #: whether building it opens connections (a pool per call is dropped with them,
    #: PS202); encode/databases' `Database(url)` opens nothing until `connect()`
    opens_when_built: bool = True


POOL_CONSTRUCTORS: tuple[PoolConstructor, ...] = (
    PoolConstructor("psycopg2", "pool.SimpleConnectionPool", "psycopg2", "minconn", 0,
                    "maxconn", 1, None, None, "dsn", 2, "postgresql"),
    PoolConstructor("psycopg2", "pool.ThreadedConnectionPool", "psycopg2", "minconn", 0,
                    "maxconn", 1, None, None, "dsn", 2, "postgresql"),
    PoolConstructor("psycopg_pool", "ConnectionPool", "psycopg_pool", "min_size", None,
                    "max_size", None, 4, None, "conninfo", 0, "postgresql"),
    PoolConstructor("psycopg_pool", "AsyncConnectionPool", "psycopg_pool", "min_size", None,
                    "max_size", None, 4, None, "conninfo", 0, "postgresql"),
    PoolConstructor("asyncpg", "create_pool", "asyncpg", "min_size", None, "max_size", None,
                    10, 10, "dsn", 0, "postgresql"),
    PoolConstructor("aiomysql", "create_pool", "aiomysql", "minsize", None, "maxsize", None,
                    1, 10, "", None, "mysql"),
    # aio-libs: `aiopg.create_pool(dsn, *, minsize=1, maxsize=10)`, and the aiopg.sa /
    # aiomysql.sa engines, each a pool of the same defaults
    PoolConstructor("aiopg", "create_pool", "aiopg", "minsize", None, "maxsize", None,
                    1, 10, "dsn", 0, "postgresql"),
    PoolConstructor("aiopg.sa", "create_engine", "aiopg", "minsize", None, "maxsize", None,
                    1, 10, "dsn", 0, "postgresql"),
    PoolConstructor("aiomysql.sa", "create_engine", "aiomysql", "minsize", None, "maxsize",
                    None, 1, 10, "", None, "mysql"),
    # Gino's engine (`await gino.create_engine(dsn, min_size=.., max_size=..)`) is an
    # asyncpg pool with asyncpg's defaults
    PoolConstructor("gino", "create_engine", "gino", "min_size", None, "max_size", None,
                    10, 10, "", 0, "postgresql"),
    # encode/databases: `Database(url, min_size=.., max_size=..)` hands the sizes to its
    # backend's pool (asyncpg: 10 and 10 when not given; aiomysql and asyncmy: at
    # most 10), opened by `await database.connect()`
    PoolConstructor("databases", "Database", "databases", "min_size", None, "max_size",
                    None, 10, 10, "url", 0, "postgresql", opens_when_built=False),
)

#: pools that PS202 knows built per call but the capacity budget does not size:
#: DBUtils' `PooledDB` / `PersistentDB` (their server is whatever their `creator`
#: module connects to, so no dialect is assumed here) and mysql.connector's
#: `MySQLConnectionPool` (opens `pool_size` connections when built). A pool per call
#: opens its own connections on use and drops them with the pool.
PER_CALL_ONLY_POOLS: tuple[tuple[str, str], ...] = (
    ("dbutils", "PooledDB"), ("DBUtils", "PooledDB"),
    ("dbutils", "PersistentDB"), ("DBUtils", "PersistentDB"),
    ("mysql.connector", "MySQLConnectionPool"),
)
#: the keyword and position of those pools' `creator` (the DB-API module or function)
POOL_CREATOR_KEYWORD = "creator"
POOL_CREATOR_POSITION = 0

#: Django's `DATABASES` entries: the ENGINE module -> the server's dialect (SQLite and
#: the dummy backend open no server connection)
DJANGO_ENGINES: dict[str, str] = {
    "django.db.backends.postgresql": "postgresql",
    "django.db.backends.postgresql_psycopg2": "postgresql",
    "django.contrib.gis.db.backends.postgis": "postgresql",
    "django_cockroachdb": "postgresql",
    "django.db.backends.mysql": "mysql",
    "django.contrib.gis.db.backends.mysql": "mysql",
    "django.db.backends.sqlite3": "sqlite",
    "django.contrib.gis.db.backends.spatialite": "sqlite",
}
#: Django 5.1's `OPTIONS: {"pool": True}` builds a psycopg_pool `ConnectionPool`
#: with its defaults (min_size 4; max_size defaults to min_size); without a pool
#: Django opens one connection per thread that uses the alias, kept between requests
#: for `CONN_MAX_AGE` seconds
DJANGO_POOL_DEFAULT_MIN = 4
#: the environment variable a Django process reads its settings module from
DJANGO_SETTINGS_ENV = "DJANGO_SETTINGS_MODULE"

#: SQLAlchemy's QueuePool defaults
SQLALCHEMY_DEFAULT_POOL_SIZE = 5
SQLALCHEMY_DEFAULT_MAX_OVERFLOW = 10

#: process managers: the options that give the number of processes, and the default
#: when none is given (None: the number of CPUs, not known from the repository)
WORKER_OPTIONS: dict[str, tuple[tuple[str, ...], int | None]] = {
    "gunicorn": (("-w", "--workers"), 1),
    "uvicorn": (("--workers",), 1),
    "hypercorn": (("-w", "--workers"), 1),
    "celery": (("-c", "--concurrency"), None),
    "daphne": ((), 1),
    "granian": (("--workers",), 1),
    "fastapi": (("--workers",), 1),
    "rq": ((), 1),
    "dramatiq": (("-p", "--processes"), None),
    # its `.ini` files are read too (poolsafe.analysis.uwsgi); `-w` names the module
    "uwsgi": (("-p", "--processes", "--workers"), 1),
}
#: gunicorn and uvicorn read their default worker count from this variable
WEB_CONCURRENCY = "WEB_CONCURRENCY"

#: words in a process's code that may run database work on more than its main thread
#: (or on many tasks of one thread): thread and process pools, event loops, green
#: threads, servers that serve each request on a thread, and frameworks that run
#: callbacks on threads of their own (a bot's polling, a scheduler, an MQTT loop).
#: A plain `python` process whose reached modules spell none of them holds one
#: connection of each pool at a time (`poolsafe.analysis.capacity`).
CONCURRENCY_WORDS: tuple[str, ...] = (
    "threading", "_thread", "Thread", "concurrent", "ThreadPoolExecutor",
    "ProcessPoolExecutor", "multiprocessing", "billiard", "joblib", "dask", "pebble",
    "asyncio", "anyio", "trio", "curio", "async", "await", "gevent", "eventlet", "greenlet",
    "socketserver", "wsgiref", "serve_forever", "run_simple", "waitress", "uvicorn",
    "hypercorn", "granian", "gunicorn", "daphne", "tornado", "twisted", "aiohttp",
    "cherrypy", "cheroot", "bjoern", "grpc", "streamlit", "gradio", "socketio", "telebot",
    "telegram", "aiogram", "discord", "slack_bolt", "apscheduler", "watchdog", "paho",
    "celery", "dramatiq", "rq", "huey", "worker_main", "runserver",
)
#: a web application's own development server started in the process (`app.run()`,
#: `app.run(host=...)`): Flask's serves each request on a thread of its own
DEV_SERVER_RUN = r"\bapp\.run\(|\.run\(\s*(?:host|port|debug|threaded)\s*="
