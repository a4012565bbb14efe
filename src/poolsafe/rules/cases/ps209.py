"""PS209 missing-timeouts (opt-in): INVALID cases mark the engine or pool."""

from poolsafe.rules.base import Case

INVALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql+psycopg2://app@db/app")  # expect: PS209
""", note="no connect timeout, no statement timeout"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app?connect_timeout=5")  # expect: PS209
""", note="a connect timeout, no statement timeout"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine(  # expect: PS209
    "postgresql://app@db/app",
    connect_args={"options": "-c statement_timeout=30000"},
)
""", note="a statement timeout, no connect timeout"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine(  # expect: PS209
    "postgresql://app@db/app",
    pool_timeout=None,
    connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"},
)
""", note="the checkout waits forever"),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@db/app")  # expect: PS209
""", note="asyncpg connects with a 60 s timeout but has no statement timeout"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, "dbname=app host=db")  # expect: PS209
"""),
    Case("""
import os
from sqlalchemy import create_engine

URL = os.getenv("DATABASE_URL", "postgresql://app@db/app")
engine = create_engine(URL, pool_size=5)  # expect: PS209
""", note="the getenv default is judged"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+mysqldb://app@db/shop", pool_recycle=3600)  # expect: PS209
""", note="mysqlclient has no default connect timeout; no read_timeout"),
    Case("""
from psycopg_pool import ConnectionPool

pool = ConnectionPool("postgresql://app@db/app", kwargs={"connect_timeout": 5})  # expect: PS209
"""),
]

VALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine(
    "postgresql://app@db/app",
    connect_args={"connect_timeout": 5, "options": "-c statement_timeout=30000"},
)
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine(
    "postgresql://app@db/app?connect_timeout=5&options=-c%20statement_timeout%3D30000")
""", note="both in the URL's query"),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@db/app", command_timeout=30)
"""),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@db/app",
                                     server_settings={"statement_timeout": "30000"})
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("sqlite:///app.db")
"""),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine(os.environ["DATABASE_URL"])
""", note="the URL is not visible: the DSN may carry the settings"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://app@db/shop", pool_recycle=3600,
                       connect_args={"read_timeout": 30})
""", note="PyMySQL connects with a 10 s timeout by default"),
    Case("""
from sqlalchemy import create_engine

OPTIONS = load()
engine = create_engine("postgresql://app@db/app", **OPTIONS)
"""),
    Case("""
from sqlalchemy import create_engine

def test_engine():
    return create_engine("postgresql://app@db/app")
""", path="tests/test_db.py"),
]
