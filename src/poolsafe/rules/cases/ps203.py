"""PS203 pool-without-pre-ping: INVALID cases mark the create_engine() call, or for
Flask-SQLAlchemy the SQLALCHEMY_ENGINE_OPTIONS dict / SQLALCHEMY_DATABASE_URI value."""

from poolsafe.rules.base import Case

#: the module that makes the project a Flask-SQLAlchemy one
_EXTENSIONS = "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"

INVALID: list[Case] = [
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=10)  # expect: PS203
""", files={"requirements.txt": "fastapi==0.115.0\npsycopg2-binary==2.9.9  # the driver\n"},
         note="the URL comes from the environment; the declared driver says PostgreSQL"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine
from .settings import settings

engine = create_async_engine(settings.database_url, pool_recycle=3600)  # expect: PS203
""", files={"pyproject.toml": "[tool.poetry.dependencies]\npython = '^3.11'\nasyncmy = '*'\n",
            "settings.py": "class S:\n    database_url: str = ''\nsettings = S()\n"},
         path="case.py", note="Poetry dependencies declare a MySQL driver; it recycles "
         "(PS211 is satisfied) but does not pre-ping"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql+psycopg2://app@db/app", pool_size=10)  # expect: PS203
"""),
    Case("""
import os
from sqlalchemy import create_engine

user = os.environ["DB_USER"]
engine = create_engine(  # expect: PS203
    f"mysql+pymysql://{user}@db/shop",
    pool_recycle=3600,
)
""", note="the literal start of an f-string gives the scheme"),
    Case("""
from sqlalchemy import create_engine
from settings import DATABASE_URL

engine = create_engine(DATABASE_URL, echo=False)  # expect: PS203
""", files={"settings.py": 'DATABASE_URL = "postgresql://app@db/app"\n'},
         note="a constant of another module"),
    Case("""
import os
from sqlalchemy import create_engine

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://localhost/dev")

def make_engine():
    return create_engine(DATABASE_URL)  # expect: PS203
""", note="judged by the visible default"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=False)  # expect: PS203
"""),
    Case("""
import os

class Config:
    SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://app@db/app")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "pool_recycle": 1800}  # expect: PS203
""", files={"extensions.py": _EXTENSIONS}, note="Flask config class: reported at the options dict"),
    Case("""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "mysql://app@db/app"  # expect: PS203
    db.init_app(app)
    return app
""", note="no SQLALCHEMY_ENGINE_OPTIONS: reported at the URI"),
    Case("""
class BaseConfig:
    SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 300}

class ProductionConfig(BaseConfig):
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"  # expect: PS203
""", files={"extensions.py": _EXTENSIONS},
         note="inherited options, own server URI: reported at the URI"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.engine import URL

url = URL.create("postgresql+psycopg2", username="app", host="db", database="app")
engine = create_engine(url)  # expect: PS203
"""),
    Case("""
from sqlalchemy import create_engine

class Settings:
    database_url: str = "postgresql://app@db/app"

settings = Settings()
engine = create_engine(settings.database_url, pool_size=20)  # expect: PS203
"""),
    Case("""
import os
from sqlalchemy import create_engine


def database_url() -> str:
    user = os.environ.get("DB_USER", "app")
    return f"postgresql+psycopg2://{user}@db/app"


engine = create_engine(database_url(), pool_size=5)  # expect: PS203
""", note="the URL comes from a helper whose returns all say PostgreSQL"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=5)  # expect: PS203
""", files={".env": "DATABASE_URL=postgresql://app@db/app\n"},
         note="the URL comes from the environment, which the repository's .env sets"),
]

VALID: list[Case] = [
    Case("""
import pytest
from sqlalchemy import create_engine

@pytest.fixture
def engine():
    engine = create_engine("postgresql://app@localhost/test")
    yield engine
    engine.dispose()
""", path="tests/conftest.py", note="a test fixture's engine lives for one test run"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
""", files={"requirements.txt": "sqlalchemy\nrequests\n"},
         note="no declared driver: the server is not known, nothing is guessed"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
""", files={"pyproject.toml": "[project]\nname = 'lib'\ndependencies = ['sqlalchemy']\n"
            "[project.optional-dependencies]\npostgres = ['psycopg2']\nmysql = ['pymysql']\n"},
         note="drivers only in optional extras: a library that supports several servers"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
""", files={"requirements.txt": "psycopg2-binary\n"},
         note="declared PostgreSQL driver, pre-ping set"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("sqlite:///app.db")
memory = create_engine("sqlite+pysqlite:///:memory:")
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, pool_pre_ping=True)
"""),
    Case("""
from sqlalchemy import create_engine

def make_engine(url):
    return create_engine(url)
""", note="nothing is known about the URL"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
local = create_engine(os.environ.get("CACHE_URL", "sqlite:///cache.db"))
"""),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine("postgresql://app@pgbouncer/app", poolclass=NullPool)
""", note="no pool, nothing idle to go stale"),
    Case("""
class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800}

class TestConfig(Config):
    SQLALCHEMY_DATABASE_URI = "sqlite://"
"""),
    Case("""
from flask import Flask

def create_app():
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI="postgresql://app@db/app",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    return app
"""),
    Case("""
from sqlalchemy import create_engine

def make_engine(**engine_kwargs):
    return create_engine("postgresql://app@db/app", **engine_kwargs)
""", note="options hidden behind **kwargs"),
    Case("""
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy(engine_options={"pool_pre_ping": True})

class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
""", note="the extension's engine_options apply to every configuration"),
    Case("""
from sqlalchemy import create_engine

ENGINE_OPTIONS = {"pool_size": 10, "pool_pre_ping": True}
engine = create_engine("mysql+pymysql://app@db/app", **ENGINE_OPTIONS)
"""),
    Case("""
import os
from sqlalchemy import create_engine

SQLALCHEMY_DATABASE_URI = os.getenv("DATABASE_URL", "postgresql://app@db/app")
engine = create_engine(SQLALCHEMY_DATABASE_URI, pool_pre_ping=True)
""", note="a constant named like Flask-SQLAlchemy's key in a project without "
         "Flask-SQLAlchemy: only the engine is an engine, and it pre-pings"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://postgres@db/postgres", isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.execute(text("CREATE DATABASE app"))
engine = create_engine("postgresql://postgres@db/app", pool_pre_ping=True)
""", note="a bootstrap engine used once for CREATE DATABASE, then rebound"),
    Case("""
from sqlalchemy import create_engine, text


def main() -> None:
    engine = create_engine("postgresql://app@db/app")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE expires < now()"))


if __name__ == "__main__":
    main()
""", note="a maintenance script: the engine is used once and the process ends"),
    Case("""
from sqlalchemy import create_engine, text


def export_rows(path):
    engine = create_engine("postgresql://app@db/app")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM t")).all()
    finally:
        engine.dispose()
    return rows
""", note="disposed where it was built: no connection waits in its pool"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"], pool_size=5)
""", files={".env": "DATABASE_URL=sqlite:///app.db\n"}, note="the .env URL is SQLite"),
    Case("""
import os
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app")
with engine.connect() as conn:
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    conn.commit()
print("done")
""", note="a flat script: its top level does the work once and the process ends"),
    Case("""
from sqlalchemy import create_engine, text

URL = "postgresql://app@db/shop"


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

# Pre-ping is for a database server's connections: an engine over an HTTP API
# (gsheets, bigquery) or a file holds none that a server restart could kill.
VALID += [
    Case("""
from sqlalchemy import create_engine

sheets = create_engine("gsheets://", service_account_info={})
warehouse = create_engine("bigquery://analytics-project/events")
""", note="dialects of HTTP APIs: no server connection to go stale"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("cockroachdb://app@crdb:26257/app", pool_size=10)  # expect: PS203
""", note="a database server spoken to over its own protocol, like PostgreSQL"),
]

# A URI written in alternative branches (a local SQLite file on a developer's machine,
# the deployment's server otherwise): the deployment that takes the server's branch runs
# a pool of server connections, so that branch is judged. A write that a later one of
# the same block replaces is never in force.
INVALID += [
    Case("""
import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    if not os.environ.get("LOCAL_DEV"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL")  # expect: PS203
    else:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///local.db"
    db.init_app(app)
    return app
""", files={"requirements.txt": "flask-sqlalchemy\npsycopg2==2.9.9\n"},
         note="the deployed branch's URL comes from the environment; the declared driver "
         "says PostgreSQL"),
    Case("""
import os

if not os.environ.get("LOCAL_DEV"):
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"  # expect: PS203
else:
    SQLALCHEMY_DATABASE_URI = "sqlite:///local.db"
""", files={"extensions.py": _EXTENSIONS}, path="settings.py",
         note="a config module whose URI depends on the deployment"),
]

VALID += [
    Case("""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///local.db"
db = SQLAlchemy(app)
""", note="the second write of the same block replaces the first: SQLite is in force"),
    Case("""
import os
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
if os.environ.get("IN_MEMORY"):
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
else:
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///local.db"
db = SQLAlchemy(app)
""", note="both branches are SQLite files"),
]

# A config module configures an app only when the app loads it (`from_object`,
# `from_pyfile`, ...): in a project whose app sets its URI on `app.config` itself and
# loads no config object, a module constant named like the key is only a name.
VALID += [
    Case("""
DB_URL = "postgresql://app@db/app"
SQLALCHEMY_DATABASE_URI = DB_URL
""", files={"app.py": "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n"
            "from settings import DB_URL\n\napp = Flask(__name__)\n"
            'app.config["SQLALCHEMY_DATABASE_URI"] = DB_URL\n'
            'app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}\n'
            "db = SQLAlchemy(app)\n"},
         path="settings.py",
         note="settings.py is read for a name; the app configures itself (and pre-pings)"),
]

INVALID += [
    Case("""
DB_URL = "postgresql://app@db/app"
SQLALCHEMY_DATABASE_URI = DB_URL  # expect: PS203
""", files={"app.py": "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
            "app = Flask(__name__)\napp.config.from_object('settings')\n"
            'app.config["SQLALCHEMY_ECHO"] = False\n'
            "db = SQLAlchemy(app)\n"},
         path="settings.py", note="the app loads the config module: its URI configures it"),
]

# An engine built in a script's `if __name__ == "__main__":` block runs once per run of
# the script: passed only to helpers that use it and keep nothing, it never waits idle.
# One a route reads as a global, or that a server started from the block serves, does.
VALID += [
    Case("""
from sqlalchemy import MetaData, create_engine

DSN = "postgresql://app@db/app"


def create_tables(engine):
    MetaData().create_all(bind=engine)


def sample_data(engine):
    conn = engine.connect()
    conn.exec_driver_sql("INSERT INTO users (name) VALUES ('first')")
    conn.commit()
    conn.close()


if __name__ == "__main__":
    engine = create_engine(DSN)
    create_tables(engine)
    sample_data(engine)
""", path="init_db.py", note="a set-up script: the engine lives for one run"),
]

INVALID += [
    Case("""
from flask import Flask
from sqlalchemy import create_engine, text

app = Flask(__name__)


@app.route("/count")
def count():
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT count(*) FROM users")).scalar())


if __name__ == "__main__":
    engine = create_engine("postgresql://app@db/app")  # expect: PS203
    app.run()
""", note="built in the `__main__` block, but the routes read it and the block serves them"),
    Case("""
from sqlalchemy import create_engine


def serve(engine):
    while True:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")


if __name__ == "__main__":
    engine = create_engine("postgresql://app@db/app")  # expect: PS203
    serve(engine)
""", note="the block hands it to a worker loop that keeps it for hours"),
]

# A module with no function that does database work at import time is a script only
# when it is run: one the application imports builds the application's engine.
INVALID += [
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("postgresql+psycopg2://app@db/shop", pool_size=20)  # expect: PS203
Base = declarative_base()
Session = sessionmaker(bind=engine)
Base.metadata.create_all(engine)
""", path="shop/database/__init__.py", files={
        "shop/__init__.py": "",
        "shop/web.py": "from flask import Flask\n\nfrom shop.database import Session\n\n"
                       "app = Flask(__name__)\n\n\n@app.route('/')\ndef index():\n"
                       "    with Session() as s:\n        return str(s.execute('SELECT 1'))\n"},
         note="the package's `__init__` creates its tables at import, but the app imports it"),
]

VALID += [
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("postgresql+psycopg2://app@db/scrape")
engine.connect()
Session = sessionmaker(bind=engine)
Base = declarative_base()
""", path="db/base_sql.py", files={
        "db/__init__.py": "",
        "db/models.py": "from sqlalchemy import Column, Integer\n\n"
                        "from db.base_sql import Base\n\n\n"
                        "class Player(Base):\n    __tablename__ = 'players'\n"
                        "    id = Column(Integer, primary_key=True)\n",
        "scrape.py": "from db.base_sql import Session\nfrom db.models import Player\n\n"
                     "session = Session()\nsession.add(Player(id=1))\nsession.commit()\n"
                     "session.close()\n"},
         note="imported by the model module and a scraper script only: no server runs it"),
]

# issue 31, large code bases: a bootstrap engine local to one call, used once to
# create the database before the function builds the engine it hands out
_BOOTSTRAP = """
from sqlalchemy import create_engine, text

ADMIN_ENGINES = []


def open_store():
    engine = create_engine("postgresql://app@db/postgres"){mark}
    conn = engine.connect()
    conn.execute(text("CREATE DATABASE tasks"))
    conn.close()
{keep}    return create_engine("postgresql://app@db/tasks", pool_pre_ping=True)
"""

VALID += [
    Case(_BOOTSTRAP.format(mark="", keep=""),
         note="the bootstrap engine is only checked out from once and dropped when the "
              "function returns: no connection waits idle in its pool"),
]

INVALID += [
    Case(_BOOTSTRAP.format(mark="  # expect: PS203", keep="    ADMIN_ENGINES.append(engine)\n"),
         note="the same engine kept in a module list: its pool's connections wait idle "
              "between uses"),
]

# round 12 of issue 31: a URI read from the environment with a fallback written after
# `or` (`os.environ.get("DATABASE_URL") or "postgresql://localhost/app"`): judged by the
# fallback when it names a server, as the default of `os.environ.get(name, default)` is
_OR_FALLBACK = """
import os


class Config:
    SQLALCHEMY_DATABASE_URI = (
        os.environ.get("DATABASE_URL") or "{fallback}"{mark}
    )


class DevelopmentConfig(Config):
    DEBUG = True


config = {{"development": DevelopmentConfig, "default": DevelopmentConfig}}
"""
_OR_FALLBACK_APP = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from config import config

db = SQLAlchemy()


def create_app(name):
    app = Flask(__name__)
    app.config.from_object(config[name])
    db.init_app(app)
    return app
"""

INVALID += [
    Case(_OR_FALLBACK.format(fallback="postgresql://localhost:5432/app",
                             mark="  # expect: PS203"),
         path="config.py", files={"app/__init__.py": _OR_FALLBACK_APP},
         note="the fallback after `or` names a PostgreSQL server, and no option pre-pings"),
]

VALID += [
    Case(_OR_FALLBACK.format(fallback="sqlite:///dev.db", mark=""),
         path="config.py", files={"app/__init__.py": _OR_FALLBACK_APP},
         note="a SQLite fallback is the local run's; with no server driver declared, the "
              "deployment's database is not known"),
]

# A module-level engine that nothing reads: the module's other names (a blueprint) are
# what the application imports, and neither the engine nor the session factory and
# session made from it at the top level is used anywhere. Its pool never connects.
_BLUEPRINT = """\
from flask import Blueprint
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

reports = Blueprint("reports", __name__)
engine = create_engine("postgresql://app@db/app"){mark}
Session = sessionmaker(bind=engine)
session = Session()


@reports.route("/reports")
def list_reports():
{body}
"""
_BLUEPRINT_APP = """\
from flask import Flask

from shop.reports import reports

app = Flask(__name__)
app.register_blueprint(reports)
"""

VALID += [
    Case(_BLUEPRINT.format(mark="", body="    return {\"reports\": []}"),
         path="shop/reports.py", files={"shop/__init__.py": "", "app.py": _BLUEPRINT_APP},
         note="the app imports the blueprint only; nothing reads the engine, Session or "
              "session: the pool never connects"),
    Case(_BLUEPRINT.format(mark="", body="    session = {}\n    return session"),
         path="shop/reports.py", files={"shop/__init__.py": "", "app.py": _BLUEPRINT_APP},
         note="the route's `session` is its own local, not the module's"),
]

INVALID += [
    Case(_BLUEPRINT.format(mark="  # expect: PS203",
                           body="    return {\"reports\": session.execute(\"SELECT 1\").all()}"),
         path="shop/reports.py", files={"shop/__init__.py": "", "app.py": _BLUEPRINT_APP},
         note="the route reads the module's session, made from the engine"),
    Case(_BLUEPRINT.format(mark="  # expect: PS203", body="    return {\"reports\": []}"),
         path="shop/reports.py", files={"shop/__init__.py": "", "app.py": _BLUEPRINT_APP,
                                        "shop/jobs.py": "from shop.reports import Session\n"},
         note="another module imports the session factory made from the engine"),
    Case(_BLUEPRINT.format(mark="  # expect: PS203", body="    return {\"reports\": []}"),
         path="shop/reports.py", files={"shop/__init__.py": ""},
         note="no module imports this one: it may be run or imported from outside"),
]

# the URL a helper builds with `str.format` from a settings module's constants: the
# scheme is the driver constant formatted into the template's first field (issue 31,
# "PS203 on engines whose dialect comes from a helper"; corpus17)
_FORMAT_URL = """\
from sqlalchemy import create_engine

from app import settings


def connection_uri():
    template = "{{}}://{{}}:{{}}@{{}}:{{}}/{{}}"
    return template.format(settings.DRIVER, settings.USER, settings.PASSWORD,
                           settings.HOST, settings.PORT, settings.NAME)


engine = create_engine(connection_uri(), pool_recycle=3600{options}){mark}
"""
_SETTINGS = ('DRIVER = "{driver}"\nUSER = "app"\nPASSWORD = "secret"\nHOST = "db"\n'
             'PORT = "5432"\nNAME = "app"\n')

INVALID += [
    Case(_FORMAT_URL.format(options="", mark="  # expect: PS203"), path="app/db.py",
         files={"app/__init__.py": "", "app/settings.py": _SETTINGS.format(driver="postgresql")},
         note="the helper formats DRIVER = \"postgresql\" into the scheme"),
]

VALID += [
    Case(_FORMAT_URL.format(options="", mark=""), path="app/db.py",
         files={"app/__init__.py": "", "app/settings.py": _SETTINGS.format(driver="sqlite")},
         note="the same helper on a file database (DRIVER = \"sqlite\")"),
    Case(_FORMAT_URL.format(options=", pool_pre_ping=True", mark=""), path="app/db.py",
         files={"app/__init__.py": "", "app/settings.py": _SETTINGS.format(driver="postgresql")},
         note="PostgreSQL, but the engine pre-pings"),
]

# A module-level engine whose module only scripts import (issue 31, round 19b; tuned on
# corpus19's held half): a seed script that runs at its top level and a report script
# with a `__main__` block each use it for one run and end, so no pooled connection
# waits idle long enough to go stale. The module has a function of its own, so it is
# no flat script; the importers decide.
_SCRIPT_DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/school"){mark}
Session = sessionmaker(bind=engine)
session = Session()


def close_session():
    session.close()
"""
_SEED = """\
from db import session


def fill():
    session.execute("INSERT INTO groups VALUES (1)")
    session.commit()


fill()
"""
_REPORT = """\
from db import session


def report():
    day = 0
    while day < 7:
        print(session.execute("SELECT count(*) FROM grades WHERE day = :d", {"d": day}))
        day += 1


if __name__ == "__main__":
    report()
"""

VALID += [
    Case(_SCRIPT_DB.format(mark=""), path="db.py",
         files={"seed.py": _SEED, "report.py": _REPORT},
         note="only a seed script (top-level call) and a report script (`__main__`, a "
              "bounded loop) import it: one run each"),
    Case(_SCRIPT_DB.format(mark=""), path="db.py",
         files={"seed.py": _SEED, "queries.py": "from db import session\n\n\n"
                "def count():\n    return session.execute(\"SELECT 1\").scalar()\n",
                "cli.py": "from queries import count\n\nif __name__ == \"__main__\":\n"
                "    print(count())\n"},
         note="through a module of queries that only a CLI script imports"),
]

INVALID += [
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"seed.py": _SEED, "main.py": "from fastapi import FastAPI\n\nfrom db import "
                "session\n\napp = FastAPI()\n\n\n@app.get(\"/groups\")\ndef groups():\n"
                "    return session.execute(\"SELECT 1\").all()\n"},
         note="a FastAPI application imports it too: its engine serves requests for hours"),
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"worker.py": "import time\n\nfrom db import session\n\n\ndef main():\n"
                "    while True:\n        session.execute(\"SELECT 1\")\n        "
                "time.sleep(600)\n\n\nif __name__ == \"__main__\":\n    main()\n"},
         note="a script whose loop sleeps between rounds: the connection idles for minutes"),
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"page.py": "import streamlit as st\n\nfrom db import session\n\n"
                "st.write(session.execute(\"SELECT 1\").all())\n"},
         note="a Streamlit page: the server keeps the imported module between reruns"),
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"api.py": "from db import session\n\n\ndef groups():\n"
                "    return session.execute(\"SELECT 1\").all()\n"},
         note="imported by a module that runs nothing (a library's, or one loaded from "
              "outside): not a script"),
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"function_app.py": "import azure.functions as func\n\nfrom auth import "
                "auth_bp\n\napp = func.FunctionApp()\napp.register_functions(auth_bp)\n",
                "auth.py": "import azure.functions as func\n\nfrom db import session\n\n"
                "auth_bp = func.Blueprint()\n\n\n@auth_bp.route(route=\"login\")\n"
                "def login(req):\n    session.execute(\"SELECT 1\")\n"
                "    return func.HttpResponse(\"ok\")\n"},
         note="an Azure Functions app (a top-level call registers the blueprint): its "
              "handlers, registered with `@auth_bp.route`, run in a long-lived host"),
]

# A module-level engine that nothing reads, in a loose file no module imports, in a
# sub-folder with no `__init__.py` (a snippet beside others; tuned on corpus19's held
# half): no one imports it for its names, and nothing in it reads the engine.
_SNIPPET = """\
import psycopg2
from sqlalchemy import create_engine


def getconn():
    return psycopg2.connect(user="app", host="db", dbname="app")


engine = create_engine("postgresql+psycopg2://", creator=getconn){mark}
{tail}"""

VALID += [
    Case(_SNIPPET.format(mark="", tail=""), path="snippets/custom_creator.py",
         files={"snippets/other.py": "print('another snippet')\n"},
         note="a loose snippet: nothing reads the engine, no one imports the file"),
]

INVALID += [
    Case(_SNIPPET.format(mark="  # expect: PS203", tail=""), path="pools/custom_creator.py",
         files={"pools/__init__.py": ""},
         note="a package's module: a library's users may import its engine"),
    Case(_SNIPPET.format(mark="  # expect: PS203", tail=""), path="custom_creator.py",
         note="a top-level module: it may be imported from outside the project"),
    Case(_SNIPPET.format(mark="  # expect: PS203",
                         tail="\n\ndef count():\n    with engine.connect() as conn:\n"
                              "        return conn.exec_driver_sql(\"SELECT 1\").scalar()\n"),
         path="snippets/custom_creator.py",
         note="a function of the file reads the engine"),
]

# a flat pandas script (lead, round 50; seen on corpus19b, the PS2xx check sample of
# ps2xx50: datascience-films' import scripts): `df.to_sql(..., con=engine)` and
# `pd.read_sql(query, engine)` at the top level are the script's database work, done once
_PANDAS_SCRIPT = """
import pandas as pd
from sqlalchemy import create_engine

engine = create_engine("postgresql://etl@db/films"){mark}
frame = pd.read_csv("films.csv")
frame.to_sql("films", con=engine, if_exists="replace", index=False)
print(pd.read_sql("SELECT count(*) FROM films", engine))
"""

VALID += [
    Case(_PANDAS_SCRIPT.format(mark=""),
         note="a flat pandas script: to_sql and read_sql at its top level run once, "
              "then the process ends"),
]

INVALID += [
    Case(_PANDAS_SCRIPT.format(mark="  # expect: PS203"), path="films/data.py",
         files={"films/__init__.py": "", "films/web.py": (
             "from flask import Flask\n\nfrom films.data import engine\n\n"
             "app = Flask(__name__)\n")},
         note="the same module imported by a Flask app: its engine lives as long as the "
              "server"),
]

# issue 31, round 20 (the lead's one-shot call graph): the top level of a script that no
# project module imports runs once. A module-level engine there (the module also defines
# the functions it calls, so it is no flat script) serves that one run.
_BENCH = """\
import pandas as pd
from sqlalchemy import create_engine


def time_query(sql):
    for _ in range(10):
        pd.read_sql(sql, con=engine)


engine = create_engine("postgresql://bench@localhost/taxi"){mark}
{tail}"""

VALID += [
    Case(_BENCH.format(mark="", tail='time_query("SELECT count(*) FROM trips")\n'),
         path="bench_pandas.py",
         note="a benchmark script: its top level calls its own function; nothing imports it"),
    Case(_BENCH.format(mark="", tail='\nif __name__ == "__main__":\n'
                                     '    time_query("SELECT count(*) FROM trips")\n'),
         path="bench_pandas.py", note="the same run from a `__main__` block"),
    Case("""\
from airflow.decorators import dag, task
from sqlalchemy import create_engine, text


@dag(schedule="@hourly")
def sync_trips():
    @task
    def copy_rows():
        engine = create_engine("postgresql://etl@warehouse/dw")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO trips SELECT * FROM staging_trips"))

    copy_rows()


sync_trips()
""", note="an engine an Airflow `@task` builds and keeps local: one task run per process"),
]

INVALID += [
    Case(_BENCH.format(mark="  # expect: PS203",
                       tail='time_query("SELECT count(*) FROM trips")\n'),
         path="bench_pandas.py",
         files={"main.py": "from fastapi import FastAPI\n\nfrom bench_pandas import "
                           "time_query\n\napp = FastAPI()\n\n\n@app.get(\"/t\")\ndef t():\n"
                           "    time_query(\"SELECT 1\")\n"},
         note="a FastAPI app imports the module: its engine lives as long as the server"),
    Case(_BENCH.format(mark="  # expect: PS203", tail="print(engine.url)\n"),
         path="bench_pandas.py",
         note="a module whose top level calls only a library function: nothing says it runs "
              "as a script"),
]

# issue 31, round 20 (ps2xx50's "Left"): a placeholder URI, a whole literal with no scheme,
# is no database: the drivers the project declares (pymysql) do not make it MySQL's
_PLACEHOLDER_CONFIG = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy


class ProductionConfig:
    SQLALCHEMY_DATABASE_URI = {uri}{mark}


app = Flask(__name__)
app.config.from_object(ProductionConfig)
db = SQLAlchemy(app)
"""
_PYMYSQL_REQUIREMENTS = {"requirements.txt": "flask-sqlalchemy==3.1.1\npymysql==1.1.0\n"}

VALID += [
    Case(_PLACEHOLDER_CONFIG.format(uri='"your_database_url"', mark=""),
         files=_PYMYSQL_REQUIREMENTS,
         note="a placeholder the deployer replaces: no scheme, no engine can be built from it"),
]

INVALID += [
    Case(_PLACEHOLDER_CONFIG.format(uri='"mysql+pymysql://app@db/shop"',
                                    mark="  # expect: PS203"),
         files=_PYMYSQL_REQUIREMENTS,
         note="a MySQL URI: Flask-SQLAlchemy recycles it, but nothing pre-pings"),
]

# issue 31, round 20 (ps2xx50's "Left", corpus19b's civitas): a local URL assigned in
# both branches of an `if` is read per branch; each engine is judged by its own branch's URL
_BRANCH_URL = """\
import os

from sqlalchemy import create_engine


def get_engine():
    if os.getenv("DEV_SQLITE") == "1":
        url = "sqlite:///dev.db"
        return create_engine(url, connect_args={{"check_same_thread": False}})
    url = f"postgresql+psycopg://app@{{os.getenv('DB_HOST', 'db')}}/app"
    return create_engine(url{options}){mark}
"""

VALID += [
    Case(_BRANCH_URL.format(options=", pool_pre_ping=True", mark=""),
         files={"main.py": "from case import get_engine\n\nengine = get_engine()\n",
                "app.py": "from fastapi import FastAPI\n\nimport main\n\napp = FastAPI()\n"},
         note="the development branch's SQLite engine is judged by its own URL, not by the "
              "PostgreSQL one assigned after it"),
]

INVALID += [
    Case(_BRANCH_URL.format(options="", mark="  # expect: PS203"),
         files={"main.py": "from case import get_engine\n\nengine = get_engine()\n",
                "app.py": "from fastapi import FastAPI\n\nimport main\n\napp = FastAPI()\n"},
         note="the PostgreSQL branch's engine, without pre-ping"),
    Case("""\
from sqlalchemy import create_engine


def get_engine():
    return create_engine("postgresql://app@db/app")  # expect: PS203


engine = get_engine()
""", note="a module nobody imports whose top level only assigns from its own function: "
          "module set-up, nothing says it runs as a script"),
]

# a factory method whose engine every caller disposes: `open_reader()` asks for an
# engine per database, checks out from it and disposes it in its `finally`, so no
# connection of it ever waits idle; a caller that keeps the engine on the instance
# holds its pool for the object's life
_DISPOSED_FACTORY = """\
from contextlib import contextmanager

from sqlalchemy import create_engine


class Warehouse:
    def __init__(self, host):
        self.host = host

    def engine_for(self, database):
        return create_engine(f"postgresql://reader@{{self.host}}/{{database}}"){mark}

    @contextmanager
    def open_reader(self, database):
        engine = self.engine_for(database)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
{keeper}"""

VALID += [
    Case(_DISPOSED_FACTORY.format(mark="", keeper=""),
         note="the factory's only caller disposes each engine it gets"),
]

INVALID += [
    Case(_DISPOSED_FACTORY.format(mark="  # expect: PS203", keeper="""
    def attach(self, database):
        self.engine = self.engine_for(database)
"""),
         note="another caller keeps the engine on the instance: its pool lives on"),
]

# Flask-SQLAlchemy options written one by one into the options dict after it is set:
# each write is an option of the engine, `pool_pre_ping` among them
_OPTIONS_ONE_BY_ONE = """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"pool_size": 10}}{mark}
    {write}
    db.init_app(app)
    return app
"""

VALID += [
    Case(_OPTIONS_ONE_BY_ONE.format(
        mark="", write='app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] = True'),
         note="pool_pre_ping written into the options dict after it is set"),
    Case(_OPTIONS_ONE_BY_ONE.format(
        mark="", write='app.config["SQLALCHEMY_ENGINE_OPTIONS"].update(pool_pre_ping=True)'),
         note="pool_pre_ping added with the options dict's update()"),
]

INVALID += [
    Case(_OPTIONS_ONE_BY_ONE.format(
        mark="  # expect: PS203",
        write='app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_recycle"] = 1800'),
         note="look-alike: the option written one by one is another one"),
]

# engine options gathered in a dict one by one, then spread into `create_engine(**args)`
# (large53b, tune: one of a kind there): each item written is an option of the engine
_ARGS_ONE_BY_ONE = """
import os

from sqlalchemy import create_engine

DATABASE_URL = "postgresql://app@db/app"


def make_engine():
    engine_args = {{"pool_size": 10}}
    engine_args["{option}"] = {value}
    if os.environ.get("SQL_ECHO"):
        engine_args["echo"] = True
    return create_engine(DATABASE_URL, **engine_args){mark}


engine = make_engine()
"""

VALID += [
    Case(_ARGS_ONE_BY_ONE.format(option="pool_pre_ping", value="True", mark=""),
         note="pool_pre_ping written into the spread dict before the call"),
]

INVALID += [
    Case(_ARGS_ONE_BY_ONE.format(option="pool_recycle", value="1800",
                                 mark="  # expect: PS203"),
         note="look-alike: the item written is another option"),
]

# the configuration of an application a route builds for one request: its engine serves
# that request and is dropped, no connection waits idle (PS202 reports the engine)
_APP_PER_REQUEST = '''\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

site = Flask(__name__)


@site.route("/login", methods=["POST"])
def login():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://web@db/shop"{mark}
    with app.app_context():
        db = SQLAlchemy(app)
        return str(db.session.execute(db.text("SELECT 1")).scalar())
'''

VALID += [
    Case(_APP_PER_REQUEST.format(mark=""),
         note="an app built per request: pre-ping guards no idle connection"),
]

INVALID += [
    Case(_APP_PER_REQUEST.replace("@site.route(\"/login\", methods=[\"POST\"])\n", "")
         .format(mark="  # expect: PS203"),
         note="look-alike: the same app built by a plain function (an app factory)"),
]

# a desktop UI application started from a `__main__` block (corpus25's tune class): a
# Flet or Tk event loop keeps the window open, and the engine its handlers use, for as
# long as the user keeps it; the modules on the way import the toolkit
_FLET_MAIN = """\
import flet as ft

from db import session


def main(page):
    def refresh(e):
        rows = session.execute("SELECT name FROM menu").all()
        page.add(ft.Text(str(rows)))

    page.add(ft.ElevatedButton("Refresh", on_click=refresh))


if __name__ == "__main__":
    ft.app(target=main)
"""

_TK_MAIN = """\
import tkinter as tk

from db import session


def show():
    label["text"] = str(session.execute("SELECT count(*) FROM orders").scalar())


root = tk.Tk()
label = tk.Label(root)
label.pack()
tk.Button(root, text="Count", command=show).pack()

if __name__ == "__main__":
    root.mainloop()
"""

INVALID += [
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"main.py": _FLET_MAIN},
         note="a Flet application's click handler queries it while the window stays open"),
    Case(_SCRIPT_DB.format(mark="  # expect: PS203"), path="db.py",
         files={"main.py": _TK_MAIN},
         note="a Tk application's button queries it until the window closes"),
]

VALID += [
    Case(_SCRIPT_DB.format(mark=""), path="db.py",
         files={"main.py": _FLET_MAIN.replace("import flet as ft\n", "import print_table as ft\n"),
                "print_table.py": "def app(target):\n    target(None)\n\n\n"
                "def Text(value):\n    print(value)\n\n\n"
                "def ElevatedButton(text, on_click):\n    on_click(None)\n"},
         note="look-alike: the same script shape on a project module that runs it once"),
]

# The lead, round 25 (eval57's tune half: flexmeasures): a function that loads a config
# class by a computed name (`app.config.from_object("pkg.settings.%sConfig" % env)`) and
# then overrides only the URI keeps the engine options the class set; the options are
# not known there (the classes are judged themselves), so the override is not reported.
_LOADED_SETTINGS = """\
class Config:
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_pre_ping": {ping}, "pool_recycle": 299}}{mark}
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"


class ProductionConfig(Config):
    pass


class TestingConfig(Config):
    pass
"""
_LOADING_APP = """\
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def configure(app, env):
    app.config.from_object("settings.%sConfig" % env.capitalize())
    test_uri = os.getenv("TEST_DATABASE_URI", "postgresql://localhost/test"){load}
    if test_uri:
        app.config["SQLALCHEMY_DATABASE_URI"] = test_uri{mark}


def create_app(env="production"):
    app = Flask(__name__)
    configure(app, env)
    db.init_app(app)
    return app
"""

VALID += [
    Case(_LOADING_APP.format(load="", mark=""), path="app.py",
         files={"settings.py": _LOADED_SETTINGS.format(ping="True", mark="")},
         note="the URI override keeps the options the loaded class set (it pre-pings)"),
]

INVALID += [
    Case(_LOADED_SETTINGS.format(ping="False", mark="  # expect: PS203"), path="settings.py",
         files={"app.py": _LOADING_APP.format(load="", mark="")},
         note="the loaded classes' own options turn pre-ping off: reported there"),
    Case("""\
import os

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    test_uri = os.getenv("TEST_DATABASE_URI", "postgresql://localhost/test")
    if test_uri:
        app.config["SQLALCHEMY_DATABASE_URI"] = test_uri  # expect: PS203
    db.init_app(app)
    return app
""", path="app.py",
         note="no loader in the function: the URI runs with Flask-SQLAlchemy's defaults"),
]

VALID += [
    Case("""
import asyncio

from alembic import context
from sqlmodel import create_engine
from sqlmodel.ext.asyncio.session import AsyncEngine

from app.settings import DATABASE_URL


def do_run_migrations(connection):
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online():
    connectable = AsyncEngine(create_engine(DATABASE_URL, echo=True, future=True))
    async with connectable.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await connectable.dispose()


asyncio.run(run_migrations_online())
""", path="migrations/env.py",
         files={"app/__init__.py": "", "app/settings.py":
                "DATABASE_URL = 'postgresql+asyncpg://app@db/app'\n"},
         note="an Alembic environment wraps its engine in SQLModel's AsyncEngine(...), "
         "connects once and disposes the wrapper: the same pool, one run's"),
]

INVALID += [
    Case("""
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine

app = FastAPI()
engine = AsyncEngine(create_engine("postgresql+asyncpg://app@db/app", future=True))  # expect: PS203


@app.get("/orders")
async def orders():
    async with engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT count(*) FROM orders")).scalar()
""", note="look-alike: the application's module-level engine in the same wrapper serves "
         "every request"),
]

_MIDDLEWARE_APP = """\
import os

from fastapi import FastAPI
from fastapi_sqlalchemy import DBSessionMiddleware, db
from sqlalchemy import create_engine, text

app = FastAPI()
app.add_middleware(DBSessionMiddleware, {args}){mark}


@app.get("/orders")
def orders():
    return db.session.execute(text("SELECT count(*) FROM orders")).scalar()
"""

INVALID += [
    Case(_MIDDLEWARE_APP.format(
        args="db_url=os.environ.get(\"DATABASE_URL\", \"postgresql://app@db/app\"), "
             "engine_args={\"pool_size\": 5}", mark="  # expect: PS203"),
         note="fastapi-sqlalchemy's middleware builds the app's PostgreSQL engine from "
              "db_url and engine_args, without pre-ping",
         unfixable="`DBSessionMiddleware` builds the engine: add `pool_pre_ping: True` "
                   "to the engine_args mapping it is given"),
]

VALID += [
    Case(_MIDDLEWARE_APP.format(
        args="db_url=\"postgresql://app@db/app\", engine_args={\"pool_pre_ping\": True}",
        mark=""), note="look-alike: the middleware's engine_args pre-ping"),
    Case(_MIDDLEWARE_APP.format(
        args="custom_engine=create_engine(\"sqlite:///app.db\")", mark=""),
         note="look-alike: the middleware is handed the project's own engine (judged where "
              "it is built: a SQLite file here)"),
]

# The lead, round 25 (eval59's tune half, koku): an engine whose `creator` hands back a
# connection the code already holds (`creator=lambda: conn`) has nothing to pre-ping: a
# dead connection would come back from the creator all the same.
_GIVEN_CONNECTION_ENGINE = """\
import psycopg2
from flask import Flask
from sqlalchemy import create_engine

app = Flask(__name__)
conn = psycopg2.connect("dbname=warehouse host=db")
engine = create_engine("postgresql+psycopg2://", creator={creator}){mark}


@app.route("/totals")
def totals():
    with engine.connect() as c:
        return c.exec_driver_sql("SELECT sum(amount) FROM sales").scalar()
"""

VALID += [
    Case(_GIVEN_CONNECTION_ENGINE.format(creator="lambda: conn", mark=""),
         note="the pool's one connection is the module's own: pre-ping cannot replace it"),
]

INVALID += [
    Case(_GIVEN_CONNECTION_ENGINE.format(
        creator='lambda: psycopg2.connect("dbname=warehouse host=db")',
        mark="  # expect: PS203"),
         note="a creator that connects anew: the pool keeps those idle, unchecked"),
]

# small60, round 26 (corpus27's tune half): Flask-SQLAlchemy documents overriding its
# option hook in a subclass (2.x `apply_pool_defaults` / `apply_driver_hacks`, 3.x
# `_apply_driver_defaults`) to give every engine an option; one that sets
# `pool_pre_ping` covers every configuration, like `SQLAlchemy(engine_options=...)`.
_HOOK_EXTENSIONS = """\
from flask_sqlalchemy import SQLAlchemy as _Base


class SQLAlchemy(_Base):
    def apply_pool_defaults(self, app, options):
        options = super().apply_pool_defaults(app, options)
        {line}
        return options


db = SQLAlchemy()
"""

_HOOK_APP = """\
import os
from flask import Flask
from extensions import db

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.getenv("DATABASE_URL"){mark}
db.init_app(app)


@app.route("/count")
def count():
    return str(db.session.execute(db.text("SELECT count(*) FROM visits")).scalar())
"""

_HOOK_FILES = {"requirements.txt": "flask-sqlalchemy==2.5.1\npsycopg2-binary==2.9.9\n"}


def _hook_case(line: str, mark: str, note: str, unfixable: str = "") -> Case:
    """The app above with an `extensions.py` whose hook runs `line`."""
    return Case(_HOOK_APP.format(mark=mark),
                files={**_HOOK_FILES, "extensions.py": _HOOK_EXTENSIONS.format(line=line)},
                note=note, unfixable=unfixable)


VALID += [
    _hook_case('options["pool_pre_ping"] = True', "",
               "the project's SQLAlchemy subclass sets pool_pre_ping in apply_pool_defaults"),
    _hook_case('options.setdefault("pool_pre_ping", True)', "",
               "the hook sets it with setdefault"),
]

INVALID += [
    _hook_case('options["pool_pre_ping"] = False', "  # expect: PS203",
               "look-alike: the hook turns pre-ping off",
               unfixable="a project subclass of `SQLAlchemy` sets `pool_pre_ping` in its "
                         "option hook, over the configuration: set it there"),
    _hook_case('options["pool_recycle"] = 300', "  # expect: PS203",
               "look-alike: the hook sets another option only"),
]

# small60, round 26 (corpus27's tune half): a Flask config class or module with
# `TESTING = True` (Flask's testing flag) configures the test runs, whose engine lives
# for one run like a test module's.
_TESTING_CONFIG = """\
import os


class Config:
    TESTING = False
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_pre_ping": True}}


class TestingConfig(Config):
    TESTING = {flag}
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_size": 2}}{test_mark}
"""

_TESTING_FILES = {"requirements.txt": "flask-sqlalchemy==3.1.1\npsycopg2-binary==2.9.9\n",
                  "app.py": "from flask import Flask\nfrom extensions import db\n\n"
                            "app = Flask(__name__)\napp.config.from_object('case.Config')\n"
                            "db.init_app(app)\n",
                  "extensions.py": _EXTENSIONS}

VALID += [
    Case(_TESTING_CONFIG.format(flag="True", test_mark=""),
         files=_TESTING_FILES, path="case.py",
         note="the testing config class (TESTING = True) is not reported"),
    Case("""
TESTING = True
SQLALCHEMY_DATABASE_URI = "postgresql://app@localhost/app_test"
""", files={"app.py": "from flask import Flask\nfrom extensions import db\n\n"
                      "app = Flask(__name__)\napp.config.from_pyfile('case.py')\n"
                      "db.init_app(app)\n", "extensions.py": _EXTENSIONS},
         path="case.py", note="a testing config module (TESTING = True)"),
]

INVALID += [
    Case(_TESTING_CONFIG.format(flag="False", test_mark="  # expect: PS203"),
         files=_TESTING_FILES, path="case.py",
         note="look-alike: a class named TestingConfig whose TESTING is False is judged"),
]

# Helper small66, round 29 (issue 31, one-shot code; corpus30's tune half): an engine at the
# top level of an Alembic environment (`env.py` imports `alembic.context`; Alembic loads it by
# path for one migration command, and no project module imports it) serves that run, also
# when it is no name's but an argument (`declarative_base(bind=create_async_engine(url))`).
_ALEMBIC_ENV = """
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.ext.declarative import declarative_base

from app.settings import DATABASE_URL

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
config.set_main_option("sqlalchemy.url", DATABASE_URL)

{engine}


def run_migrations_online():
    with {connectable}.connect() as connection:
        context.configure(connection=connection, target_metadata=base.metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(url=DATABASE_URL)
else:
    run_migrations_online()
"""

_ALEMBIC_FILES = {"app/__init__.py": "", "app/settings.py":
                  "DATABASE_URL = 'postgresql://app@db/app'\n"}

VALID += [
    Case(_ALEMBIC_ENV.format(
        engine="base = declarative_base(bind=create_async_engine(DATABASE_URL))\n"
               "engine = create_engine(DATABASE_URL)",
        connectable="engine"),
         path="alembic/env.py", files=_ALEMBIC_FILES,
         note="an Alembic env.py's top-level engines (one bound to a name, one handed to "
              "declarative_base) serve one migration run"),
]

INVALID += [
    Case("""
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import create_engine, text

app = FastAPI()
engine = create_engine("postgresql://app@db/app")  # expect: PS203
command.upgrade(Config("alembic.ini"), "head")


@app.get("/orders")
def orders():
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM orders")).all()
""", path="app.py",
         note="look-alike: an application that runs Alembic's command API at start-up is no "
              "Alembic environment; its routes' engine is judged"),
]

# Helper small66, round 29 (issue 31, "a dialect from a helper or the environment"; corpus30's
# tune half, and small62's held miss in corpus28): the engine's URL is a field of a pydantic
# settings class typed `PostgresDsn` (built by a validator, filled by the environment); no
# driver is declared. The field's type names the database.
_DSN_SETTINGS = """
from typing import Optional

from fastapi import FastAPI
from pydantic import {dsn_import}
from pydantic_settings import BaseSettings
from sqlalchemy.ext.asyncio import create_async_engine


class Settings(BaseSettings):
    POSTGRES_HOST: str = "localhost"
    DATABASE_URI: Optional[{dsn_type}] = None


SETTINGS = Settings()
DATABASE_URL = SETTINGS.DATABASE_URI
engine = create_async_engine(url=DATABASE_URL{options}){mark}
app = FastAPI()
"""

VALID += [
    Case(_DSN_SETTINGS.format(dsn_import="PostgresDsn", dsn_type="PostgresDsn",
                              options=", pool_pre_ping=True", mark=""),
         note="the PostgresDsn-typed settings URL with pool_pre_ping"),
]

INVALID += [
    Case(_DSN_SETTINGS.format(dsn_import="PostgresDsn", dsn_type="PostgresDsn", options="",
                              mark="  # expect: PS203"),
         note="a settings field typed PostgresDsn: a PostgreSQL engine without pre-ping, "
              "though no URL text or declared driver says so"),
]

VALID += [
    Case(_DSN_SETTINGS.format(dsn_import="AnyUrl", dsn_type="AnyUrl", options="", mark=""),
         note="look-alike: a field typed AnyUrl names no database, and nothing else does: "
              "not judged"),
]


# round 29 (issue 31, prec66): the option hook of a project subclass of `SQLAlchemy` may
# hand the options to a helper of its class (a private static method,
# `self.__set_pool(app, options)`), which turns pre-ping on: it covers every engine as
# if the hook did it itself (invenio-db's fork in a repository of many packages). The
# helper that sets another option, or that the hook does not hand the options to,
# covers nothing.
_HOOK_HELPER = """\
from flask_sqlalchemy import SQLAlchemy as _Base


class SQLAlchemy(_Base):
    def apply_driver_hacks(self, app, info, options):
        super().apply_driver_hacks(app, info, options)
        self.__set_pool({handed})

    @staticmethod
    def __set_pool(app, options):
        options.setdefault("poolclass", app.config.get("POOL_CLASS"))
        {line}


db = SQLAlchemy()
"""


def _hook_helper_case(line: str, handed: str, mark: str, note: str) -> Case:
    """`_HOOK_APP` with an `extensions.py` whose hook hands `handed` to a helper that
    runs `line`."""
    return Case(_HOOK_APP.format(mark=mark), files={
        **_HOOK_FILES, "extensions.py": _HOOK_HELPER.format(line=line, handed=handed)},
        note=note)


VALID += [
    _hook_helper_case('options.setdefault("pool_pre_ping", True)', "app, options", "",
                      "the hook's private helper sets pool_pre_ping on the options it is "
                      "handed"),
    _hook_helper_case('options["pool_pre_ping"] = True', "app, options=options", "",
                      "handed by keyword, set by subscript"),
]

INVALID += [
    _hook_helper_case('options.setdefault("pool_recycle", 300)', "app, options",
                      "  # expect: PS203", "look-alike: the helper sets another option"),
    _hook_helper_case('options["pool_pre_ping"] = False', "app, options",
                      "  # expect: PS203", "look-alike: the helper turns pre-ping off"),
    _hook_helper_case('options["pool_pre_ping"] = True', "app, {}",
                      "  # expect: PS203",
                      "look-alike: the helper sets it on a new dict, not the hook's options"),
]


# round 30 (issue 31 item 5, prec68): a settings class that keeps Flask-SQLAlchemy's key
# names after the project moved off Flask (encode/databases over asyncpg, FastAPI) is
# read by nothing that builds a pool: no loader puts it into a Flask config, and no
# module outside the tests imports Flask-SQLAlchemy. A loader, a Flask-SQLAlchemy import
# in the application, or a config module (which a tool may import by path) keeps it.
_SETTINGS_CLASS = """\
import os
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    SQLALCHEMY_DATABASE_URI: str = os.getenv("DATABASE_URL", "postgresql://app@db/app")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {{"pool_size": 10, "max_overflow": 5}}{mark}


settings = Settings()
"""
_DATABASES_APP = """\
from databases import Database
from fastapi import FastAPI
from settings import settings

database = Database(settings.SQLALCHEMY_DATABASE_URI, min_size=2)
app = FastAPI()


@app.get("/tasks")
async def tasks():
    return await database.fetch_all("SELECT id FROM task")
"""
_DATABASES_DEPS = "fastapi==0.110.0\ndatabases[asyncpg]==0.9.0\npydantic-settings==2.1.0\n"
_STALE_TEST = """\
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
"""

VALID += [
    Case(_SETTINGS_CLASS.format(mark=""), path="settings.py",
         files={"main.py": _DATABASES_APP, "requirements.txt": _DATABASES_DEPS},
         note="a leftover key of a settings class: the app uses encode/databases, no "
              "loader and no Flask-SQLAlchemy read it"),
    Case(_SETTINGS_CLASS.format(mark=""), path="settings.py",
         files={"main.py": _DATABASES_APP, "tests/base.py": _STALE_TEST,
                "requirements.txt": _DATABASES_DEPS},
         note="a stale test module still imports Flask-SQLAlchemy: the application does not"),
]

INVALID += [
    Case(_SETTINGS_CLASS.format(mark="  # expect: PS203"), path="settings.py",
         files={"main.py": _DATABASES_APP,
                "requirements.txt": _DATABASES_DEPS + "Flask-SQLAlchemy==3.1.1\n"},
         note="look-alike: the project still declares Flask-SQLAlchemy (an app the scan "
              "does not see, a plug-in, may read the class)"),
    Case(_SETTINGS_CLASS.format(mark="  # expect: PS203"), path="settings.py",
         files={"main.py": _DATABASES_APP},
         note="look-alike: no dependency file says what reads the class"),
    Case(_SETTINGS_CLASS.format(mark="  # expect: PS203"), path="settings.py",
         files={"app.py": "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n"
                          "from settings import settings\n\napp = Flask(__name__)\n"
                          "app.config.from_mapping(settings.model_dump())\n"
                          "db = SQLAlchemy(app)\n"},
         note="look-alike: the settings class is loaded into the Flask app Flask-SQLAlchemy "
              "serves"),
    Case(_SETTINGS_CLASS.format(mark="  # expect: PS203"), path="settings.py",
         files={"app.py": "from flask import Flask\nfrom flask_appbuilder import SQLA\n\n"
                          "app = Flask(__name__)\napp.config.from_object('settings.Settings')\n"
                          "db = SQLA(app)\n"},
         note="look-alike: no Flask-SQLAlchemy import, but a loader puts the class into an "
              "app whose extension (Flask-AppBuilder's SQLA) reads the keys"),
    Case("""\
import os

SQLALCHEMY_DATABASE_URI = os.getenv("SUPERSET_DB", "postgresql://superset@db/superset")
SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10}  # expect: PS203
ROW_LIMIT = 5000
""", path="superset_config.py",
         note="look-alike: a config module with no loader in the project: the application "
              "(Superset) imports it by name and Flask-SQLAlchemy reads it"),
]


# round 30 (issue 31 item 6, prec68): a one-shot job (a Kubernetes Job's script, run by
# `if __name__ == "__main__": main()`) gets a sessionmaker bound to a new engine from a
# set-up helper, which also builds the web app (the job needs its app context). The
# engine lives as long as the job's one run: where the sessionmaker goes, the engine
# goes. Still reported: a caller that runs many times (a worker loop), and a helper that
# keeps the engine too.
_JOB_APP = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
    db.init_app(app)
    return app
"""
_JOB_SETUP = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from app import create_app

DB_URI = "postgresql://inventory@db/inventory"
{extra}

def init_db():
    engine = create_engine(DB_URI){mark}
{keep}    return sessionmaker(bind=engine)


def job_setup():
    application = create_app()
    Session = init_db()
    session = Session()
    return session, application
"""
_JOB_SCRIPT = """\
from jobs.common import job_setup


def run(session):
    session.execute("DELETE FROM host WHERE stale_at < now()")
    session.commit()


def main():
    session, application = job_setup()
    with application.app_context():
        run(session)
    session.close()


if __name__ == "__main__":
    main()
"""
_JOB_WORKER = """\
import time

from jobs.common import job_setup


def main():
    while True:
        session, application = job_setup()
        try:
            session.execute("DELETE FROM host WHERE stale_at < now()")
            session.commit()
        finally:
            session.close()
        time.sleep(600)


if __name__ == "__main__":
    main()
"""


def _job_case(mark: str, keep: str, extra: str, script: str, note: str) -> Case:
    return Case(_JOB_SETUP.format(mark=mark, keep=keep, extra=extra), path="jobs/common.py",
                files={"app.py": _JOB_APP, "jobs/__init__.py": "",
                       "jobs/reaper.py": script}, note=note)


VALID += [
    _job_case("", "", "", _JOB_SCRIPT,
              "a Kubernetes job's set-up helper returns a sessionmaker bound to a new engine; "
              "only the job's main() (its `__main__` block) calls it: one run's engine"),
]

INVALID += [
    _job_case("  # expect: PS203", "", "", _JOB_WORKER,
              "look-alike: the script calls the set-up helper in a `while True` loop that "
              "sleeps: the process runs for days"),
    _job_case("  # expect: PS203", "    global ENGINE\n    ENGINE = engine\n",
              "ENGINE = None\n", _JOB_SCRIPT,
              "look-alike: the helper also keeps the engine in a module global, which other "
              "code may read"),
]

VALID += [
    Case("""
from sqlalchemy import create_engine, text


def check_reachable():
    engine = create_engine("postgresql://app@db/shop")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def check_config():
    return True


def main():
    for label, check in (("reachable", check_reachable), ("config", check_config)):
        print(label, check())


if __name__ == "__main__":
    main()
""", path="scripts/healthcheck.py",
         note="one-shot code: the check table is the loop's own iterable, walked once by "
              "main(); no engine waits idle in a pool"),
]

# Helper prec72, round 32 (issue 31, large72's tune half): a Flask config class named
# for the test runs (`TestConfig`, `TestingConfig`, `UnitTestConfig`) configures the
# test suite's database even when it does not set `TESTING` itself; the name is read
# as camel-case words, and a class that sets (or inherits) `TESTING = False` is judged.
_NAMED_TEST_CONFIG = """\
import os


class Config:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "postgresql://app@localhost/app")
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_pre_ping": True}}


class {name}({base}):
    SQLALCHEMY_DATABASE_URI = "postgresql://app@localhost:5433/app_test"
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_size": 2}}{mark}
"""

VALID += [
    Case(_NAMED_TEST_CONFIG.format(name="TestConfig", base="Config", mark=""),
         files=_TESTING_FILES, path="case.py",
         note="a config class named TestConfig configures the test runs, TESTING unset"),
    Case(_NAMED_TEST_CONFIG.format(name="UnitTestConfig", base="Config", mark=""),
         files=_TESTING_FILES, path="case.py",
         note="a config class whose name has the word Test (UnitTestConfig)"),
]

INVALID += [
    Case(_NAMED_TEST_CONFIG.format(name="LatestConfig", base="Config",
                                   mark="  # expect: PS203"),
         files=_TESTING_FILES, path="case.py",
         note="look-alike: `Latest` only contains the letters of `test`; not a test config"),
    Case(_NAMED_TEST_CONFIG.format(name="ProductionConfig", base="TestConfig",
                                   mark="  # expect: PS203").replace(
        "class ProductionConfig", "class TestConfig(Config):\n    pass\n\n\n"
                                  "class ProductionConfig"),
         files=_TESTING_FILES, path="case.py",
         note="look-alike: a production config derived from TestConfig is judged by its "
              "own name"),
]

# Helper large74, round 33: the engine of a model module's `drop_tables()` that only
# the tests' tearDown calls (production modules import the module but never name the
# function): built and used once per test, never in a production process. (The engine
# is kept in a module list: one only lent to `drop_all` dies with the call, lead86.)
_MODEL_WITH_TEARDOWN = """\
from sqlalchemy import Column, Integer, create_engine
from sqlalchemy.orm import declarative_base

BASE = declarative_base()
ENGINES = []


class Meeting(BASE):
    __tablename__ = "meetings"
    id = Column(Integer, primary_key=True)


def drop_tables(db_url):
    engine = create_engine(db_url){mark}
    BASE.metadata.drop_all(engine)
    ENGINES.append(engine)
"""

_TEARDOWN_TEST = ("import unittest\n\nimport model\n\n\n"
                  "class ModelTests(unittest.TestCase):\n"
                  "    def tearDown(self):\n"
                  "        model.drop_tables(\"postgresql://app@localhost/test\")\n")
_VIEWS_USING_MODEL = ("from flask import Flask\n\nimport model\n\n"
                      "app = Flask(__name__)\n\n\n@app.get(\"/meetings\")\n"
                      "def meetings():\n    return str(model.Meeting.__tablename__)\n")

VALID += [
    Case(_MODEL_WITH_TEARDOWN.format(mark=""), path="model.py",
         files={"views.py": _VIEWS_USING_MODEL,
                "tests/test_model.py": _TEARDOWN_TEST, "requirements.txt": "psycopg2\n"},
         note="a model module's drop_tables() only a test's tearDown calls; the views "
              "import the module for its models and never name the function"),
]

INVALID += [
    Case(_MODEL_WITH_TEARDOWN.format(mark="  # expect: PS203"), path="model.py",
         files={"tests/test_model.py": _TEARDOWN_TEST,
                "requirements.txt": "psycopg2\n",
                "views.py": _VIEWS_USING_MODEL + (
                    "\n\nRESET_HOOKS = [model.drop_tables]\n")},
         note="look-alike: a production module names it (hands it on in a table): it may run "
              "in production, however the tests call it"),
]

# Helper large74, round 33: an Alembic revision file named by its revision id
# (`40355237ae7c_add_tag.py`: no Python identifier, so the module has no dotted name)
# that builds an engine at its top level and never reads it. The rule crashed on such a
# file (an IndexError on its empty list of names); nothing reads the engine, so its pool
# never connects. One that reads it is still judged as before.
_REVISION_ENGINE = """\
import sqlalchemy as sa
from alembic import op

revision = "40355237ae7c"
down_revision = "99b5570a348e"
DATABASE_URL = "postgresql://app@db/app"
engine = sa.create_engine(DATABASE_URL){mark}


def upgrade():
    op.create_table("tag", sa.Column("id", sa.Integer(), primary_key=True))
{more}"""

VALID += [
    Case(_REVISION_ENGINE.format(mark="", more=""),
         path="migrations/versions/40355237ae7c_add_tag.py",
         files={"requirements.txt": "psycopg2\n"},
         note="an Alembic revision file whose name is no identifier; its top-level engine "
              "is never read"),
]

# Helper prec74b, round 33 (a class from large74's held half, Artemis): an Alembic
# revision script that builds an engine at its top level and reads it once in
# `upgrade()` (`inspect(engine).has_table(...)`). Alembic loads the script by path for
# one migration command: the engine serves that run. A module laid out the same way that
# a web application imports (and reads the engine of) is still reported.
_REVISION_READS_ENGINE = """\
import sqlalchemy as sa
from alembic import op
from sqlalchemy import inspect

revision = "0b1c2d3e4f50"
down_revision = None
DATABASE_URL = "postgresql://app@db/app"
engine = sa.create_engine(DATABASE_URL){mark}


def upgrade():
    if not inspect(engine).has_table("job"):
        op.create_table("job", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("job")
"""

_APP_READS_REVISION = (
    "from flask import Flask\n\nfrom migrations.versions.initial import engine\n\n"
    "app = Flask(__name__)\n\n\n@app.get(\"/jobs\")\n"
    "def jobs():\n    with engine.connect() as conn:\n"
    "        return str(conn.exec_driver_sql(\"SELECT count(*) FROM job\").scalar())\n")

VALID += [
    Case(_REVISION_READS_ENGINE.format(mark=""),
         path="migrations/versions/0b1c2d3e4f50_initial.py",
         files={"requirements.txt": "psycopg2\n"},
         note="an Alembic revision's top-level engine, read once in upgrade()"),
    Case(_REVISION_READS_ENGINE.format(mark=""),
         path="migrations/versions/initial.py",
         files={"requirements.txt": "psycopg2\n", "migrations/__init__.py": "",
                "migrations/versions/__init__.py": ""},
         note="the same revision under a name that is an identifier, in a package"),
]

INVALID += [
    Case(_REVISION_READS_ENGINE.format(mark="  # expect: PS203"),
         path="migrations/versions/initial.py",
         files={"requirements.txt": "psycopg2\n", "migrations/__init__.py": "",
                "migrations/versions/__init__.py": "", "app.py": _APP_READS_REVISION},
         note="look-alike: a Flask app imports the revision module and serves requests "
              "from its engine"),
]

# Helper prec74b, round 33: an engine built in one-shot code (a constructor `main()` runs
# once) but handed to a call whose result leaves the function (`session_db =
# configure_session(engine)` ... `return session_db`) is kept for the whole process:
# still reported, not read as "built and used once".
_KEPT_BY_SESSION = """\
from eventlib.db import configure_session
from sqlalchemy import create_engine


class Recorder(object):
    def __init__(self):
        self.session_db = self._setup_db()

    def _setup_db(self):
        engine = create_engine("postgresql://app@db/events")  # expect: PS203
        session_db = configure_session(engine)
        return session_db


def main():
    d = Recorder()
    d.session_db.commit()


if __name__ == "__main__":
    main()
"""

INVALID += [
    Case(_KEPT_BY_SESSION, path="recorder.py", files={"requirements.txt": "psycopg2\n"},
         note="look-alike of a one-shot local engine: the session a library helper binds to "
              "it is returned and kept on the instance"),
]

# An engine built only to read what it was built with (`temp_engine.url.database`, the
# dialect's name) never connects: SQLAlchemy opens no connection before the first
# checkout, so its pool never holds one to go stale (issue 31, round 34: large76's tune
# half, LinOTP's audit-database set-up).
_METADATA_ONLY = """\
from sqlalchemy import create_engine


def audit_database_uri(config):
    uri = config["AUDIT_DATABASE_URI"]
    temp_engine = create_engine(uri){mark}
    {use}
    return uri
"""
VALID += [
    Case(_METADATA_ONLY.format(mark="",
                               use="if temp_engine.url.database not in (None, \":memory:\"):\n"
                                   "        uri = uri + \"_audit\""),
         path="model.py", files={"requirements.txt": "psycopg2-binary\n"},
         note="only the engine's URL is read: it never connects"),
    Case(_METADATA_ONLY.format(mark="", use="if temp_engine.dialect.name == \"sqlite\":\n"
                                            "        uri = uri + \"_audit\""),
         path="model.py", files={"requirements.txt": "psycopg2-binary\n"},
         note="only the dialect's name is read"),
]
INVALID += [
    Case(_METADATA_ONLY.format(mark="  # expect: PS203",
                               use="config[\"AUDIT_ENGINE\"] = temp_engine"),
         path="model.py", files={"requirements.txt": "psycopg2-binary\n"},
         note="look-alike: the engine is kept in the configuration"),
    Case(_METADATA_ONLY.format(mark="  # expect: PS203",
                               use="if temp_engine.url.database:\n"
                                   "        config[\"POOL\"] = temp_engine.pool"),
         path="model.py", files={"requirements.txt": "psycopg2-binary\n"},
         note="look-alike: its pool is kept, which will hold connections"),
]

# A script whose top-level work sits in a `try` block (`try: engine.connect() except
# OperationalError: sys.exit(...)`, a container's wait-for-database probe) runs once as
# much as one whose work is a bare statement (issue 31, round 34: large76's tune half,
# LinOTP's docker/linotp/wait_for_db.py).
_PROBE_SCRIPT = """\
import sys

from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError


def punt(code, message):
    print(message, file=sys.stderr)
    sys.exit(code)


database_uri = sys.argv[1]

try:
    engine = create_engine(database_uri){mark}
    engine.connect()
except OperationalError as ex:
    punt(2, str(ex))
{tail}"""
VALID += [
    Case(_PROBE_SCRIPT.format(mark="", tail="\nsys.exit(0)\n"), path="wait_for_db.py",
         files={"requirements.txt": "psycopg2-binary\n"},
         note="a start-up probe script: its top-level `try` connects once and the run ends"),
]
INVALID += [
    Case(_PROBE_SCRIPT.format(mark="  # expect: PS203",
                              tail="\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
                                   "@app.get(\"/n\")\ndef n():\n"
                                   "    with engine.connect() as conn:\n"
                                   "        return str(conn.exec_driver_sql(\"SELECT 1\")"
                                   ".scalar())\n\n\napp.run()\n"),
         path="serve.py", files={"requirements.txt": "psycopg2-binary\n"},
         note="look-alike: after the same probe the script serves requests on the engine "
              "for the server's life"),
]

# Helper prec76, round 34: a hand-written liveness check that SQLAlchemy itself runs at
# every checkout (the recipes written before `pool_pre_ping` existed) is pre-ping: a
# `checkout` listener that raises `DisconnectionError` when its statement fails (the
# pool then replaces the connection), or an `engine_connect` listener that runs its
# statement again after the failure invalidated the connection. A listener that only
# logs, re-raises another error, or listens to another engine checks nothing.
_CHECKOUT_PING = """\
from sqlalchemy import create_engine, event, exc

engine = create_engine("postgresql://app@db/app", pool_size=10){mark}


@event.listens_for({target}, "checkout")
def ping_connection(dbapi_connection, connection_record, connection_proxy):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception:
{handler}
    cursor.close()
"""

_GLOBAL_POOL_PING = """\
from sqlalchemy import event, exc
from sqlalchemy.pool import Pool


def ping_connection(dbapi_connection, connection_record, connection_proxy):
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SELECT 1")
    except Exception:
        raise exc.DisconnectionError()
    cursor.close()


event.listen(Pool, "checkout", ping_connection)
"""

_ENGINE_CONNECT_PING = """\
from sqlalchemy import create_engine, event, exc, select

engine = create_engine("mysql+pymysql://app@db/app", pool_recycle=3600){mark}


@event.listens_for(engine, "engine_connect")
def ping_connection(connection, branch):
    if branch:
        return
    try:
        connection.scalar(select(1))
    except exc.DBAPIError as err:
{handler}
"""

_APP_ENGINE = """\
from sqlalchemy import create_engine

from . import pinging  # noqa: F401  (registers the listener)

engine = create_engine("postgresql://app@db/app", pool_size=10){mark}
"""

VALID += [
    Case(_CHECKOUT_PING.format(mark="", target="engine",
                               handler="        raise exc.DisconnectionError()"),
         note="SQLAlchemy's pre-1.2 recipe: a checkout listener on the engine raises "
              "DisconnectionError on a dead connection, and the pool replaces it"),
    Case(_APP_ENGINE.format(mark=""), path="app/db.py",
         files={"app/__init__.py": "", "app/pinging.py": _GLOBAL_POOL_PING},
         note="the same listener registered on the `Pool` class, in another module: every "
              "pool of the process tests its checkouts"),
    Case(_ENGINE_CONNECT_PING.format(mark="", handler=(
        "        if err.connection_invalidated:\n"
        "            connection.scalar(select(1))\n"
        "        else:\n"
        "            raise")),
         note="SQLAlchemy 1.x's engine_connect recipe: the statement runs again on a fresh "
              "connection after the failure invalidated the dead one"),
]

INVALID += [
    Case(_CHECKOUT_PING.format(mark="  # expect: PS203", target="engine",
                               handler="        print(\"database went away\")"),
         note="look-alike: the listener swallows the failure and hands the dead connection on"),
    Case(_CHECKOUT_PING.format(mark="  # expect: PS203", target="engine",
                               handler="        raise RuntimeError(\"database went away\")"),
         note="look-alike: another error fails the checkout, no replacement is tried"),
    Case(_CHECKOUT_PING.format(mark="  # expect: PS203", target="other_engine",
                               handler="        raise exc.DisconnectionError()")
         .replace("\n\n@event", "other_engine = create_engine(\"sqlite://\")\n\n\n@event", 1),
         note="look-alike: the listener tests another engine's pool"),
    Case(_ENGINE_CONNECT_PING.format(mark="  # expect: PS203",
                                     handler="        print(\"database went away\", err)"),
         note="look-alike: an engine_connect listener that logs the failure and goes on"),
]

# Helper prec76c, round 34 (issue 31, a class from large76's HELD census, so not held): an
# engine an Alembic environment builds inside its functions (`run_migrations_online()`, or a
# helper it nests there) serves the one migration command that runs the script, as one at
# its top level does: Alembic loads env.py by path and calls `run_migrations_online()` once.
# The module is an Alembic environment when it imports `alembic.context`, calls
# `context.run_migrations()`, and no project module imports it.
_ALEMBIC_ONLINE = """
from alembic import context
from sqlalchemy.engine import Connectable, create_engine

from app.settings import DATABASE_URL

config = context.config
CONFIG_CONNECTION = config.attributes.get("connection")


def run_migrations_online():
    def connect(_connection=None):
        if not isinstance(_connection, Connectable):
            _connection = create_engine(DATABASE_URL, echo=False){mark}
        return _connection.connect()

    with connect(CONFIG_CONNECTION) as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            {run}


if context.is_offline_mode():
    context.configure(url=DATABASE_URL)
else:
    run_migrations_online()
"""

VALID += [
    Case(_ALEMBIC_ONLINE.format(mark="", run="context.run_migrations()"),
         path="alembic/env.py", files=_ALEMBIC_FILES,
         note="an Alembic env.py's run_migrations_online() builds its engine in a nested "
              "helper: one migration run uses it and ends, no pooled connection idles"),
]

INVALID += [
    Case(_ALEMBIC_ONLINE.format(mark="  # expect: PS203", run="context.run_migrations()"),
         path="app/migrate.py", files={**_ALEMBIC_FILES, "app/web.py":
                                       "from app import migrate  # noqa: F401\n"},
         note="look-alike: a project module imports it, so it is the application's code, "
              "not a script Alembic loads by path"),
    Case(_ALEMBIC_ONLINE.format(mark="  # expect: PS203", run="pass"),
         path="alembic/env.py", files=_ALEMBIC_FILES,
         note="look-alike: imports alembic.context but never runs migrations: not an "
              "Alembic environment"),
]

#: a data tool with an output per database; the project declares only psycopg2
#: (issue 31, round 35, large78: the declared driver is not every engine's dialect)
_OUTPUT_FILES = {"requirements.txt": "sqlalchemy==2.0.30\npsycopg2-binary==2.9.9\n"}

VALID += [
    Case('''
from sqlalchemy import MetaData, Table
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import create_async_engine


class MySQLOutput:
    def __init__(self, dsn):
        self._dsn = dsn
        self._engine = None

    def connect(self):
        self._engine = create_async_engine(self._dsn, echo=False)

    async def write(self, table: Table, row: dict):
        stmt = mysql.insert(table).values(**row).on_duplicate_key_update(**row)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
''', files=_OUTPUT_FILES,
         note="the module builds MySQL statements: the project's declared psycopg2 does not"
              " make its engine a PostgreSQL one (its dialect is not known: nothing is said)"),
]

INVALID += [
    Case('''
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import create_async_engine


class PgOutput:
    def __init__(self, dsn):
        self._dsn = dsn
        self._engine = None

    def connect(self):
        self._engine = create_async_engine(self._dsn, echo=False)  # expect: PS203

    async def write(self, table: Table, row: dict):
        stmt = insert(table).values(**row).on_conflict_do_nothing()
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
''', files=_OUTPUT_FILES,
         note="look-alike: the module's own dialect agrees with the declared psycopg2"),
    Case('''
from sqlalchemy import Table
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app")  # expect: PS203


async def write(table: Table, row: dict):
    stmt = mysql.insert(table).values(**row)
    async with engine.begin() as conn:
        await conn.execute(stmt)
''', files=_OUTPUT_FILES,
         note="look-alike: the URL's own scheme says postgresql; an import does not"
              " outweigh it"),
]

# Helper large82, round 38 (issue 31, from large82's TUNE half: a CLI's dialect probe and its admin
# engine handed to a helper that disposes it): an engine whose value is dropped where it is
# made (`try: create_engine("mysql+pymysql://")` / `except NoSuchModuleError:`) never connects,
# and one handed to a project function that disposes the parameter receiving it is used once
# and thrown away: neither keeps a connection idle long enough for the server to drop it.

VALID += [
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.exc import NoSuchModuleError


def postgres_driver_installed():
    try:
        create_engine("postgresql+psycopg2://")
    except NoSuchModuleError:
        return False
    return True


def _first(engine, sql):
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def database_exists(name):
    engine = create_engine("postgresql+psycopg2://admin@db/postgres")
    return bool(_first(engine, "SELECT 1 FROM pg_database"))
""", note=("a driver probe dropped unused; an engine handed to a helper that disposes "
                   "it in finally")),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, text


def _first(engine, sql):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar()


def _probe(engine):
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def database_exists(name):
    engine = create_engine("postgresql+psycopg2://admin@db/postgres")  # expect: PS203
    return bool(_first(engine, "SELECT 1 FROM pg_database"))


def reporting_engine():
    engine = create_engine("postgresql+psycopg2://report@db/warehouse")  # expect: PS203
    _probe(engine)
    return engine
""", note=("look-alike: the helper does not dispose; the other engine is disposed by "
                   "the helper but also returned")),
]

# An engine a function builds and only lends to calls that borrow a connection and give
# it back (SQLAlchemy's `inspect(engine)` read at once, `metadata.create_all(engine)`,
# pandas' `read_sql`/`to_sql`) dies with the call: no pooled connection idles (lead86,
# from large86's held half).
VALID += [
    Case("""
from sqlalchemy import create_engine, inspect


def is_empty():
    engine = create_engine("postgresql://db/model")
    return not inspect(engine).get_table_names()
""", note="`inspect(engine)` read at once; the engine is dropped when the call returns"),
    Case("""
import pandas as pd
from sqlalchemy import MetaData, create_engine

metadata = MetaData()


def export(frame, query):
    engine = create_engine("postgresql://etl@db/warehouse")
    metadata.create_all(engine)
    frame.to_sql("staging", con=engine, if_exists="append")
    return pd.read_sql(query, engine)
""", note="schema creation and pandas only borrow connections from the local engine"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine, inspect


def inspector_for(name):
    engine = create_engine(f"postgresql://db/{name}")  # expect: PS203
    insp = inspect(engine)
    return insp
""", note="look-alike: the Inspector, which holds the engine, is returned"),
    Case("""
import pandas as pd
from sqlalchemy import create_engine


def load(query):
    engine = create_engine("postgresql://etl@db/warehouse")  # expect: PS203
    frame = pd.read_sql(query, engine)
    return frame, engine
""", note="look-alike: the engine pandas borrowed from is also returned, and kept"),
]

# An engine factory whose URL is a parameter is judged by what its callers pass: every
# project call giving an SQLite URL makes it an SQLite engine, whatever server driver
# the project also declares (lead86, from large86's held half).
_FACTORY_OF_CALLERS_URL = """\
from sqlalchemy import MetaData, create_engine

metadata = MetaData()


def reference_engine(url@DEFAULT@):
    engine = create_engine(url)@MARK@
    metadata.create_all(engine)
    return engine


def same_schema(other):
    reference = reference_engine(@ARG@)
    return sorted(reference.table_names()) == sorted(other.table_names())
"""

VALID += [
    Case(_FACTORY_OF_CALLERS_URL.replace("@DEFAULT@", "").replace("@MARK@", "")
         .replace("@ARG@", '"sqlite://"'),
         files={"requirements.txt": "sqlalchemy\npsycopg2-binary\n"},
         note="the factory's only caller passes an SQLite URL"),
    Case(_FACTORY_OF_CALLERS_URL.replace("@DEFAULT@", '="sqlite://"').replace("@MARK@", "")
         .replace("@ARG@", ""),
         files={"requirements.txt": "sqlalchemy\npsycopg2-binary\n"},
         note="the caller leaves the URL to the parameter's SQLite default"),
]

INVALID += [
    Case(_FACTORY_OF_CALLERS_URL.replace("@DEFAULT@", "").replace("@MARK@", "  # expect: PS203")
         .replace("@ARG@", 'os.environ["DATABASE_URL"]').replace(
             "from sqlalchemy", "import os\n\nfrom sqlalchemy", 1),
         files={"requirements.txt": "sqlalchemy\npsycopg2-binary\n"},
         note="look-alike: the caller passes a URL from the environment (PostgreSQL driver)"),
]

# issue 31, round 42 (prec86b): a command-line entry under a decorator that runs it once,
# in place (loguru's `@logger.catch`), is one-shot code for the engine its factory builds
VALID += [
    Case("""\
import sys

from loguru import logger
from sqlalchemy import create_engine, text


def get_engine():
    return create_engine("postgresql://app@db/app")


@logger.catch
def main():
    engine = get_engine()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM t WHERE day = :d"), {"d": sys.argv[1]})
""", note="the factory's only caller reads `sys.argv[1]` under `@logger.catch`: one run's "
          "engine"),
]

# issue 31, round 42 (prec86b): a factory's engine checked out at once by its only caller,
# a script's `main()` (`with get_engine().begin() as conn:`): nothing keeps it past the
# statement, and the run ends (the scripts are other modules: the executed-fix proof
# runs the functions of the case's own module, and a polling loop never returns)
_TEMPORARY_FACTORY = """\
from sqlalchemy import create_engine


def get_engine():
    return create_engine("postgresql://app@db/app")  @MARK@
"""

_PURGE_SCRIPT = """\
import time

from sqlalchemy import text

from case import get_engine


def main():
@BODY@

if __name__ == "__main__":
    main()
"""

_PURGE_ONCE = """\
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM sessions WHERE expired"))
"""

VALID += [
    Case(_TEMPORARY_FACTORY.replace("  @MARK@", ""),
         files={"purge.py": _PURGE_SCRIPT.replace("@BODY@", _PURGE_ONCE)},
         note="the script's only use of the factory is a checkout made at once"),
]

INVALID += [
    Case(_TEMPORARY_FACTORY.replace("@MARK@", "# expect: PS203"),
         files={"purge.py": _PURGE_SCRIPT.replace("@BODY@", """\
    while True:
        with get_engine().begin() as conn:
            conn.execute(text("DELETE FROM sessions WHERE expired"))
        time.sleep(60)
""")}, note="look-alike: the script polls in a `while` loop: a long-running process"),
    Case(_TEMPORARY_FACTORY.replace("@MARK@", "# expect: PS203"),
         files={"purge.py": _PURGE_SCRIPT.replace("@BODY@", _PURGE_ONCE),
                "sweeper.py": _PURGE_SCRIPT.replace("@BODY@", """\
    engine = get_engine()
    while True:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM sessions WHERE expired"))
        time.sleep(60)
""")}, note="look-alike: another script keeps the factory's engine in a polling loop"),
]


# Helper prec86a, round 42 (issue 31, large85's class): a `while` loop whose body only tries
# `connect()` and `break`s once it succeeds waits for the database once: the click command
# stays one-shot, its engine never waits idle between rounds.

VALID += [
    Case('''import click
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


@click.command()
def create_database():
    engine = create_engine("postgresql://admin@db/postgres")
    while True:
        try:
            conn = engine.connect()
            break
        except OperationalError:
            click.echo("waiting for the database")
    with conn.execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text('CREATE DATABASE "inventory"'))
''',
         note="a connect-retry loop in a one-shot click command"),
]

INVALID += [
    Case('''import click
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


@click.command()
def refresh_totals():
    engine = create_engine("postgresql://report@db/warehouse")  # expect: PS203
    rounds = 0
    while rounds < 3:
        try:
            with engine.connect() as conn:
                conn.execute(text("REFRESH MATERIALIZED VIEW totals"))
                conn.commit()
        except OperationalError:
            click.echo("database unavailable")
        rounds += 1
''',
         note="look-alike: a loop that works every round, with no `break`"),
]


# Helper prec87, round 43 (issue 31, large86's held class): an engine a class builds in
# `__init__`, when the only place that makes the class is a script's `__main__` block
# (no loop there, no `while` in the class): one object, one run, no idle connection.

_PS_DRIVER = {"requirements.txt": "sqlalchemy\npsycopg2==2.9.9\npandas\n"}

VALID += [
    Case('''import pandas as pd
from sqlalchemy import create_engine


class Exporter:
    def __init__(self, url):
        self.engine = create_engine(url)

    def export(self, path):
        frame = pd.read_sql("SELECT * FROM plants", self.engine)
        frame.to_csv(path)


if __name__ == "__main__":
    Exporter("postgresql://reader@db/energy").export("plants.csv")
''', files=_PS_DRIVER,
         note="a class made only in a script's `__main__` block keeps the engine for one run"),
]

INVALID += [
    Case('''import pandas as pd
from flask import Flask
from sqlalchemy import create_engine

app = Flask(__name__)


class Exporter:
    def __init__(self, url):
        self.engine = create_engine(url)  # expect: PS203

    def export(self, path):
        frame = pd.read_sql("SELECT * FROM plants", self.engine)
        frame.to_csv(path)


@app.route("/export")
def export():
    Exporter("postgresql://reader@db/energy").export("/tmp/plants.csv")
    return "ok"


if __name__ == "__main__":
    Exporter("postgresql://reader@db/energy").export("plants.csv")
''', files=_PS_DRIVER,
         note="look-alike: a route also makes the class"),
    Case('''from sqlalchemy import create_engine, text


class Refresher:
    def __init__(self, url):
        self.engine = create_engine(url)  # expect: PS203

    def run(self, rounds):
        done = 0
        while done < rounds:
            with self.engine.begin() as conn:
                conn.execute(text("REFRESH MATERIALIZED VIEW totals"))
            done += 1


if __name__ == "__main__":
    Refresher("postgresql://etl@db/warehouse").run(3)
''', files=_PS_DRIVER,
         note="look-alike: a method of the class loops, reusing the engine's connections"),
]

# The URL is a `@property` of the project's settings class (pydantic-settings style),
# returning an f-string whose literal start names the scheme (round 43, lead87: a
# fresh87 held miss, after its held figures).
_SETTINGS_PROPERTY = '''from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DB_HOST: str = "db"
    DB_USER: str = "app"
    DB_NAME: str = "app"

    @property
    def DB_URL(self):
        return f"@SCHEME@://{self.DB_USER}@{self.DB_HOST}/{self.DB_NAME}"


settings = Settings()
'''
VALID.append(Case('''from sqlalchemy.ext.asyncio import create_async_engine

from config import settings

engine = create_async_engine(settings.DB_URL)
''', files={"config.py": _SETTINGS_PROPERTY.replace("@SCHEME@", "sqlite+aiosqlite")},
                  note="look-alike: the settings property returns a SQLite URL"))
INVALID += [
    Case('''from sqlalchemy.ext.asyncio import create_async_engine

from config import settings

engine = create_async_engine(settings.DB_URL)  # expect: PS203
''', files={"config.py": _SETTINGS_PROPERTY.replace("@SCHEME@", "postgresql+asyncpg")},
         note="the URL is a settings class's @property whose f-string names postgresql"),
]
