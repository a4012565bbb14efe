"""PS211 mysql-without-recycle: INVALID cases mark the create_engine() call."""

from poolsafe.rules.base import Case

INVALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://app@db/shop", pool_size=10)  # expect: PS211
"""),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("mysql+aiomysql://app@db/shop")  # expect: PS211
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mariadb+mariadbconnector://app@db/shop")  # expect: PS211
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql://app@db/shop", pool_recycle=-1)  # expect: PS211
""", note="-1 disables recycling"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql://app@db/shop", pool_recycle=28800)  # expect: PS211
""", note="not below the default wait_timeout"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql://app@db/shop", pool_recycle=3600)  # expect: PS211
""", files={"docker-compose.yml": """
services:
  db:
    image: mysql:8
    command: --wait-timeout=600
"""}, note="the server's wait_timeout is 600 s"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=False)  # expect: PS211
""", files={"requirements.txt": "pymysql==1.1.0\n"},
         note="the declared driver says MySQL; pre-ping turned off"),
    Case("""
from sqlalchemy import create_engine

URL = "mysql+pymysql://app@db/shop"

def make_engine():
    return create_engine(  # expect: PS211
        URL,
        pool_size=5,
    )
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql://app@db/shop", pool_recycle=1800)  # expect: PS211
""", files={"my.cnf": "[mysqld]\nwait_timeout = 900\n"}, note="my.cnf's wait_timeout"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=5)  # expect: PS211
""", files={".env": "DATABASE_URL=mysql+pymysql://app@db/app\n"},
         note="the repository's .env gives the URL: MySQL"),
]

VALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://app@db/shop", pool_recycle=3600)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://app@db/shop", pool_pre_ping=True)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app")
""", note="PostgreSQL has no wait_timeout (PS203's business)"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine("mysql://app@db/shop", poolclass=NullPool)
"""),
    Case("""
from sqlalchemy import create_engine

OPTIONS = load_options()
engine = create_engine("mysql://app@db/shop", **OPTIONS)
""", note="options that cannot be read"),
    Case("""
class Config:
    SQLALCHEMY_DATABASE_URI = "mysql+pymysql://app@db/shop"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10}
""", note="Flask-SQLAlchemy sets pool_recycle=7200 for MySQL itself"),
    Case("""
from sqlalchemy import create_engine

def test_engine():
    return create_engine("mysql://app@db/shop")
""", path="tests/test_db.py"),
    Case("""
from sqlalchemy import create_engine

RECYCLE = 1800
engine = create_engine("mysql://app@db/shop", pool_recycle=RECYCLE)
""", note="a constant below wait_timeout"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
""", note="the database is not known"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("mysql+pymysql://root@db/")
with engine.connect() as conn:
    conn.execute(text("CREATE DATABASE IF NOT EXISTS app"))
engine = create_engine("mysql+pymysql://root@db/app", pool_recycle=3600)
""", note="a bootstrap engine used once, then rebound"),
    Case("""
import click
from sqlalchemy import create_engine, text


@click.command()
def purge() -> None:
    engine = create_engine("mysql+pymysql://app@db/app")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM logs WHERE created < NOW() - INTERVAL 30 DAY"))
""", note="a one-shot command: no connection waits past wait_timeout"),
    Case("""
from sqlalchemy import create_engine, text

URL = "mysql+pymysql://app@db/shop"


def check_reachable():
    engine = create_engine(URL)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_migrated():
    engine = create_engine(URL)
    with engine.connect() as conn:
        conn.execute(text("SELECT version_num FROM alembic_version"))


CHECKS = [("reachable", check_reachable), ("migrated", check_migrated)]


def main():
    for label, check in CHECKS:
        print("checking", label)
        check()


if __name__ == "__main__":
    main()
""", path="scripts/healthcheck.py",
         note=("one-shot code: each check runs once, from a table main() walks once; "
               "no engine waits idle in a pool")),
]

# A module-level MySQL engine that nothing reads (the app imports the module's
# blueprint only): its pool never connects, as for PS203.
_MYSQL_BLUEPRINT = """\
from flask import Blueprint
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

stock = Blueprint("stock", __name__)
engine = create_engine("mysql+pymysql://app@db/app"){mark}
Session = sessionmaker(bind=engine)


@stock.route("/stock")
def show():
{body}
"""
_MYSQL_APP = "from flask import Flask\nfrom shop.stock import stock\n\napp = Flask(__name__)\n"

VALID += [
    Case(_MYSQL_BLUEPRINT.format(mark="", body="    return {}"),
         path="shop/stock.py", files={"shop/__init__.py": "", "app.py": _MYSQL_APP},
         note="nothing reads the engine or its session factory: the pool never connects"),
]

INVALID += [
    Case(_MYSQL_BLUEPRINT.format(mark="  # expect: PS211",
                                 body="    with Session() as s:\n"
                                      "        return {\"n\": s.execute(\"SELECT 1\").scalar()}"),
         path="shop/stock.py", files={"shop/__init__.py": "", "app.py": _MYSQL_APP},
         note="the route opens a session of the engine"),
]

# issue 31, round 20 (the lead's one-shot call graph): an engine factory returned only to
# code that runs once per process and keeps the engine local (an Airflow task callable, a
# flat script nothing imports): no pooled connection waits idle long enough for MySQL to
# close it
_MYSQL_FACTORY = """\
from sqlalchemy import create_engine


def movies_engine():
    engine = create_engine("mysql+pymysql://etl@db/movies"){mark}
    return engine
"""
_MYSQL_TASK = ("from airflow.operators.python import PythonOperator\nfrom sqlalchemy import text"
               "\n\nfrom connect import movies_engine\n\n\ndef insert_ratings(**context):\n"
               "    engine = movies_engine()\n    with engine.begin() as conn:\n"
               "        conn.execute(text(\"INSERT INTO agg SELECT 1\"))\n\n\n"
               "insert = PythonOperator(task_id=\"insert\", python_callable=insert_ratings)\n")
_MYSQL_SCRIPT = ("from connect import movies_engine\nfrom load import insert_frame\n\n"
                 "engine = movies_engine()\ninsert_frame(engine, \"agg_ratings\")\n")
_MYSQL_LOAD = "def insert_frame(engine, table):\n    print(engine, table)\n"

VALID += [
    Case(_MYSQL_FACTORY.format(mark=""), path="connect.py",
         files={"tasks.py": _MYSQL_TASK, "run_once.py": _MYSQL_SCRIPT, "load.py": _MYSQL_LOAD},
         note="only an Airflow task callable and a flat script nothing imports call the "
              "factory, each keeping the engine local for one run"),
]

INVALID += [
    Case(_MYSQL_FACTORY.format(mark="  # expect: PS211"), path="connect.py",
         files={"tasks.py": _MYSQL_TASK,
                "api.py": "from flask import Flask\n\nfrom connect import movies_engine\n\n"
                          "app = Flask(__name__)\nengine = movies_engine()\n\n\n"
                          "@app.get(\"/n\")\ndef n():\n    with engine.connect() as c:\n"
                          "        return str(c.exec_driver_sql(\"SELECT 1\").scalar())\n"},
         note="a Flask app also calls the factory and keeps its engine for the server's life"),
    Case(_MYSQL_FACTORY.format(mark="  # expect: PS211"), path="connect.py",
         note="a factory no project code calls: a library's users may call it per request "
              "(not one-shot by the lead's policy)"),
]

_MIDDLEWARE_APP = """\
from fastapi import FastAPI
from fastapi_sqlalchemy import DBSessionMiddleware, db
from sqlalchemy import text

app = FastAPI()
app.add_middleware(DBSessionMiddleware, db_url="mysql+pymysql://app@db/app"{args}){mark}


@app.get("/orders")
def orders():
    return db.session.execute(text("SELECT count(*) FROM orders")).scalar()
"""

INVALID += [
    Case(_MIDDLEWARE_APP.format(args=", engine_args={\"pool_size\": 5}",
                                mark="  # expect: PS211"),
         note="fastapi-sqlalchemy's middleware builds the app's engine from db_url and "
              "engine_args: a MySQL pool with neither recycle nor pre-ping",
         unfixable="`DBSessionMiddleware` builds the engine: add `pool_pre_ping: True` "
                   "to the engine_args mapping it is given"),
]

VALID += [
    Case(_MIDDLEWARE_APP.format(args=", engine_args={\"pool_recycle\": 3600}", mark=""),
         note="look-alike: the middleware's engine_args recycle below wait_timeout"),
]


# round 31 (issue 31, large70): a URL a dialect package's own builder makes
# (`from trino.sqlalchemy import URL`, snowflake's the same) is that dialect's: Trino is
# an HTTP client with no MySQL server behind it, so the MySQL driver the project also
# declares says nothing of this engine. A URL from anywhere else still falls back to the
# declared driver.
_DIALECT_URL = """\
import os

from sqlalchemy import create_engine
{imports}

QUERY_ENGINE = create_engine({url}, connect_args={{"http_scheme": "https"}}){mark}


def count_rows(table):
    with QUERY_ENGINE.connect() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {{table}}").scalar()
"""
VALID += [
    Case(_DIALECT_URL.format(imports="from trino.sqlalchemy import URL",
                             url='URL(host="trino", port=8443, user="app", catalog="hive")',
                             mark=""),
         files={"requirements.txt": "pymysql==1.1.0\ntrino[sqlalchemy]==0.336.0\n"},
         note="a Trino URL built by `trino.sqlalchemy.URL`: an HTTP client dialect, not "
              "the MySQL driver the project declares"),
    Case(_DIALECT_URL.format(imports="from snowflake.sqlalchemy import URL",
                             url="QUERY_URL", mark="").replace(
        "\nQUERY_ENGINE",
        '\nQUERY_URL = URL(account="acme", user="app", database="sales")\nQUERY_ENGINE'),
         files={"requirements.txt": "pymysql==1.1.0\nsnowflake-sqlalchemy==1.6.1\n"},
         note="a Snowflake URL built by `snowflake.sqlalchemy.URL` and bound to a name "
              "first"),
]
INVALID += [
    Case(_DIALECT_URL.format(imports="", url='os.environ["QUERY_URL"]',
                             mark="  # expect: PS211"),
         files={"requirements.txt": "pymysql==1.1.0\ntrino[sqlalchemy]==0.336.0\n"},
         note="look-alike: a URL from the environment; the declared MySQL driver names "
              "the dialect"),
    Case(_DIALECT_URL.format(imports="from sqlalchemy.engine import URL",
                             url='URL.create("mysql+pymysql", host="db", database="app")',
                             mark="  # expect: PS211"),
         files={"requirements.txt": "pymysql==1.1.0\n"},
         note="look-alike: SQLAlchemy's own `URL.create()` for a MySQL driver"),
]

VALID += [
    Case("""
from sqlalchemy import create_engine, text


def check_reachable():
    engine = create_engine("mysql+pymysql://app@db/shop")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_config():
    return True


def main():
    for label, check in {"reachable": check_reachable, "config": check_config}.items():
        print(label, check())


if __name__ == "__main__":
    main()
""", path="scripts/healthcheck.py",
         note="one-shot code: the check table (a dict literal) is the loop's own iterable, "
              "walked once by main(); no connection waits idle for the server's timeout"),
]

# Helper prec76, round 34: a checkout listener that raises `DisconnectionError` when its
# `SELECT 1` fails replaces the connection MySQL closed (PS203's hand-written checks).
VALID += [
    Case("""
from sqlalchemy import create_engine, event, exc

engine = create_engine("mysql+pymysql://app@db/shop", pool_size=10)


@event.listens_for(engine, "checkout")
def ping_connection(dbapi_connection, connection_record, connection_proxy):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception:
        raise exc.DisconnectionError()
    cursor.close()
""", note="a checkout listener tests each connection and the pool replaces a dead one"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, event

engine = create_engine("mysql+pymysql://app@db/shop", pool_size=10)  # expect: PS211


@event.listens_for(engine, "checkout")
def ping_connection(dbapi_connection, connection_record, connection_proxy):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception:
        print("database went away")
    cursor.close()
""", note="look-alike: the listener logs the failure and hands the dead connection on"),
]

# Helper prec76c, round 34 (issue 31, from large76's held census, so not held): an engine an
# Alembic environment builds inside `run_migrations_online()` (here in a helper nested there)
# serves the one migration command that runs the script: no pooled connection outlives it,
# so MySQL's wait_timeout never closes one under the pool. The same class as PS203's.
_ALEMBIC_ONLINE = """
from alembic import context
from sqlalchemy.engine import Connectable, create_engine

config = context.config
CONFIG_CONNECTION = config.attributes.get("connection")


def run_migrations_online():
    def connect(_connection=None):
        if not isinstance(_connection, Connectable):
            _connection = create_engine("mysql+pymysql://app@db/shop"){mark}
        return _connection.connect()

    with connect(CONFIG_CONNECTION) as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            {run}


run_migrations_online()
"""

VALID += [
    Case(_ALEMBIC_ONLINE.format(mark="", run="context.run_migrations()"),
         path="alembic/env.py",
         note="an Alembic env.py's run_migrations_online() engine: one migration run"),
]

INVALID += [
    Case(_ALEMBIC_ONLINE.format(mark="  # expect: PS211", run="pass"),
         path="alembic/env.py",
         note="look-alike: imports alembic.context but never runs migrations"),
]

# Helper large82, round 38 (issue 31, from large82's TUNE half: a CLI's dialect probe and its admin
# engine handed to a helper that disposes it): an engine whose value is dropped where it is
# made (`try: create_engine("mysql+pymysql://")` / `except NoSuchModuleError:`) never connects,
# and one handed to a project function that disposes the parameter receiving it is used once
# and thrown away: neither keeps a connection idle long enough for wait_timeout.

VALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.exc import NoSuchModuleError


def mysql_driver_installed():
    try:
        create_engine("mysql+pymysql://")
    except NoSuchModuleError:
        return False
    return True""", note='a driver probe: the engine is dropped unused'),
    Case("""
from sqlalchemy import create_engine, text


def _scalar(engine, sql):
    with engine.connect() as conn:
        value = conn.execute(text(sql)).scalar()
    engine.dispose()
    return value


def schema_exists(name):
    engine = create_engine("mysql+pymysql://admin@db/information_schema")
    return bool(_scalar(engine, "SELECT 1"))
""", note='handed to a helper that disposes the engine it is given'),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.exc import NoSuchModuleError


def mysql_engine():
    try:
        engine = create_engine("mysql+pymysql://app@db/shop")  # expect: PS211
    except NoSuchModuleError:
        return None
    return engine


def _scalar(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def schema_exists(name):
    engine = create_engine("mysql+pymysql://admin@db/information_schema")  # expect: PS211
    return bool(_scalar(engine, "SELECT 1"))
""", note=("look-alike: the probe keeps and returns the engine; the helper it is "
                   "handed to does not dispose it")),
]
