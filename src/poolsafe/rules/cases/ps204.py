"""PS204 overflow-too-large: INVALID cases mark the max_overflow value (or the
pool_size value when max_overflow is left at its default of 10)."""

from poolsafe.rules.base import Case

INVALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine(
    "postgresql://app@db/app",
    pool_size=5,
    max_overflow=20,  # expect: PS204
    pool_pre_ping=True,
)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=3, pool_pre_ping=True)  # expect: PS204
""", note="only pool_size: the default max_overflow=10 is judged, reported at pool_size; "
          "a pool smaller than the default's 5 with its 10 overflow connections lives in "
          "its overflow"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://db/app", max_overflow=-1, pool_pre_ping=True)  # expect: PS204
""", note="-1 is unlimited overflow"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://db/app", max_overflow=11, pool_pre_ping=True)  # expect: PS204
""", note="default pool_size=5: more overflow connections than SQLAlchemy's own default of 10"),
    Case("""
class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_pre_ping": True,
        "pool_size": 10,
        "max_overflow": 30,  # expect: PS204
    }
"""),
    Case("""
from flask import Flask

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_size": 4,  # expect: PS204
        "pool_pre_ping": True,
    }
    return app
"""),
    Case("""
import os
from sqlalchemy.ext.asyncio import create_async_engine

POOL_SIZE = 8
MAX_OVERFLOW = int(os.environ.get("DB_MAX_OVERFLOW", "16"))

engine = create_async_engine(
    "postgresql+asyncpg://app@db/app",
    pool_size=POOL_SIZE,
    max_overflow=MAX_OVERFLOW,  # expect: PS204
    pool_pre_ping=True,
)
"""),
    Case("""
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy(engine_options={"pool_pre_ping": True, "max_overflow": 15})  # expect: PS204
"""),
    Case("""
from sqlalchemy import create_engine
from dbconf import POOL

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True,
                       pool_size=POOL, max_overflow=POOL)  # expect: PS204
""", files={"dbconf.py": "POOL = 12\n"}),
    Case("""
from sqlalchemy import create_engine


class Store:
    DIALECT = "postgresql"

    def __init__(self, host, name):
        self.engine = create_engine(
            f"{Store.DIALECT}://{host}/{name}",
            pool_size=10,
            max_overflow=20,  # expect: PS204
            pool_pre_ping=True,
        )
""", note="the URL's dialect comes from a constant in an f-string: a server database"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

from config import settings

engine = create_async_engine(
    settings.database_url,
    pool_size=settings.pool_size,
    max_overflow=50,  # expect: PS204
    pool_pre_ping=True,
)
""", path="db.py", files={"config.py": """
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+psycopg://app@db/app"
    pool_size: Annotated[int, Field(default=20)]


def load(settings_class):
    return settings_class()


settings = load(Settings)
"""},
         note=("pool_size is a pydantic settings default (`Annotated[int, Field(default=20)]`) "
               "of an instance a project helper builds from the class")),
]

VALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
""", note="neither setting given: the library defaults are not judged"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=20, max_overflow=10,
                       pool_pre_ping=True)
""", note="exactly half is fine"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=20, pool_pre_ping=True)
""", note="default overflow 10 is half of 20"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", max_overflow=0, pool_pre_ping=True)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("sqlite:///app.db", pool_size=5, max_overflow=20)
""", note="SQLite is exempt"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine("postgresql://app@db/app", poolclass=NullPool, max_overflow=20)
"""),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True,
                       pool_size=int(os.environ["POOL_SIZE"]), max_overflow=5)
""", note="an unknown pool_size is not judged"),
    Case("""
class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 30, "max_overflow": 10}
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=0, max_overflow=5,
                       pool_pre_ping=True)
""", note="pool_size=0 means no size limit"),
    Case("""
from sqlalchemy import create_engine

def make_engine(url, **pool):
    return create_engine(url, pool_size=8, **pool)
""", note="max_overflow may come in **pool"),
    Case("""
from sqlalchemy import create_engine


class Store:
    DIALECT = "sqlite"

    def __init__(self, path):
        self.engine = create_engine(
            f"{Store.DIALECT}:///{path}/store.db",
            pool_size=10,
            max_overflow=20,
        )
""", note="the dialect named by a constant in an f-string is SQLite's: no server, no "
          "max_connections to exceed"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

from config import settings

engine = create_async_engine(
    settings.database_url,
    pool_size=settings.pool_size,
    max_overflow=50,
    pool_pre_ping=True,
)
""", path="db.py", files={"config.py": """
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    database_url: str = "postgresql+psycopg://app@db/app"
    pool_size: Annotated[int, Field(default=100)]


def load(settings_class):
    return settings_class()


settings = load(Settings)
"""},
         note="the settings default pool_size=100 leaves max_overflow=50 at half of it"),
]

# A config class's SQLALCHEMY_ENGINE_OPTIONS configures an engine only when
# Flask-SQLAlchemy reads it: a project without Flask-SQLAlchemy that builds its own
# engine (reading only the URI from the class) leaves the options unread; so does a
# Flask-SQLAlchemy app that sets its URI on app.config itself and loads no config object.
_UNREAD_CONFIG = """\
class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
    SQLALCHEMY_ENGINE_OPTIONS = {{"pool_pre_ping": True, "pool_size": 5,
                                 "max_overflow": 20}}{mark}
"""
_OWN_ENGINE = """\
from sqlalchemy import create_engine

from settings import Config

engine = create_engine(Config.SQLALCHEMY_DATABASE_URI, pool_pre_ping=True)
"""
_FSA_APP = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    {load}
    db.init_app(app)
    return app
"""

VALID += [
    Case(_UNREAD_CONFIG.format(mark=""), path="settings.py", files={"db.py": _OWN_ENGINE},
         note="no Flask-SQLAlchemy: the project's engine reads only the URI"),
    Case(_UNREAD_CONFIG.format(mark=""), path="settings.py",
         files={"app.py": _FSA_APP.format(load="app.config['DEBUG'] = False")},
         note="the app sets its URI itself and loads no config object"),
]

INVALID += [
    Case(_UNREAD_CONFIG.format(mark="  # expect: PS204"), path="settings.py",
         files={"app.py": _FSA_APP.format(load="app.config.from_object('settings.Config')")},
         note="the app loads the config class: Flask-SQLAlchemy reads its options"),
]

# Issue 31, round 17 (large48): sizes within SQLAlchemy's own default pair (pool_size=5,
# max_overflow=10), written out or partly written out, are not judged, like the defaults
# left implicit: no more overflow connections than 10, and no larger share of overflow
# than the default's two per steady connection.
VALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10,
                       pool_pre_ping=True)
""", note="SQLAlchemy's own defaults written out: the same pool as giving neither"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_size=5,
                             max_overflow=5, pool_pre_ping=True)
""", note="less overflow than the default pair"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, pool_pre_ping=True)
""", note="only pool_size=10: the default overflow of 10 on a larger steady pool than the "
          "default's"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=4,
                       max_overflow=10,  # expect: PS204
                       pool_pre_ping=True)
""", note="the default overflow on a smaller steady pool: a larger share of overflow than "
          "SQLAlchemy's default pair"),
]

# Issue 31, round 18 (small49): settings constants of another module read from the
# environment with an integer default (`int(os.getenv("MAX_OVERFLOW", 20))`).
_ENV_INT_SETTINGS = """
import os

POOL_SIZE = int(os.getenv("POOL_SIZE", 10))
MAX_OVERFLOW = int(os.getenv("MAX_OVERFLOW", {overflow}))
"""

_ENV_INT_ENGINE = """
from sqlalchemy.ext.asyncio import create_async_engine

from ..config.settings import MAX_OVERFLOW, POOL_SIZE


def build_engine(url):
    return create_async_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE,
                               max_overflow=MAX_OVERFLOW){mark}
"""

INVALID += [
    Case(_ENV_INT_ENGINE.format(mark="  # expect: PS204"), path="svc/infra/db.py",
         files={"svc/__init__.py": "", "svc/infra/__init__.py": "",
                "svc/config/__init__.py": "",
                "svc/config/settings.py": _ENV_INT_SETTINGS.format(overflow=20)},
         note="the integer defaults 10 and 20 of the environment lookups, through a relative "
              "import: 20 overflow connections on a steady pool of 10"),
]

VALID += [
    Case(_ENV_INT_ENGINE.format(mark=""), path="svc/infra/db.py",
         files={"svc/__init__.py": "", "svc/infra/__init__.py": "",
                "svc/config/__init__.py": "",
                "svc/config/settings.py": _ENV_INT_SETTINGS.format(overflow=5)},
         note="the same lookups with an overflow default of 5: half the steady pool"),
]
