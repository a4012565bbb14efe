"""PS210 prepared-statements-behind-pgbouncer: INVALID cases mark the call that opens
the connection or pool."""

from poolsafe.rules.base import Case

_COMPOSE = """
services:
  pgbouncer:
    image: edoburu/pgbouncer
    environment:
      POOL_MODE: transaction
  db:
    image: postgres:16
"""

INVALID: list[Case] = [
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app")  # expect: PS210
"""),
    Case("""
import asyncpg

async def handler():
    conn = await asyncpg.connect(dsn="postgresql://app@pgbouncer/app")  # expect: PS210
    await conn.close()
""", files={"docker-compose.yml": _COMPOSE}, note="a compose PgBouncer in transaction mode"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@pgbouncer:6432/app")  # expect: PS210
"""),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(  # expect: PS210
    "postgresql+asyncpg://app@pgbouncer:6432/app",
    connect_args={"server_settings": {"application_name": "api"}},
)
""", note="connect_args without the setting"),
    Case("""
import psycopg

def run():
    with psycopg.connect("host=pgbouncer port=6432 dbname=app") as conn:  # expect: PS210
        conn.execute("select 1")
""", note="a libpq key=value DSN"),
    Case("""
from psycopg_pool import ConnectionPool

pool = ConnectionPool("postgresql://app@pgbouncer:6432/app", max_size=10)  # expect: PS210
"""),
    Case("""
import os
from sqlalchemy import create_engine

URL = os.getenv("DATABASE_URL", "postgresql+psycopg://app@db/app")
engine = create_engine(URL)  # expect: PS210
""", files={".env.production": "DATABASE_URL=postgresql+psycopg://app@pgbouncer:6432/app\n",
            ".env.dev": "DATABASE_URL=postgresql+psycopg://app@localhost/app\n"},
         note="production's .env goes through PgBouncer"),
    Case("""
import asyncpg

async def init(dsn):
    return await asyncpg.create_pool(dsn, min_size=2)  # expect: PS210
""", files={"pyproject.toml": "[project]\nname = 'x'\n\n[tool.poolsafe]\npgbouncer = true\n"},
         note="the project declares PgBouncer"),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app",  # expect: PS210
                                     statement_cache_size=100)
""", note="an explicit cache size (the fix replaces it: unsafe)"),
]

VALID: list[Case] = [
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app",
                                     statement_cache_size=0)
"""),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@db:5432/app")
""", note="straight to PostgreSQL"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine(
    "postgresql+asyncpg://app@pgbouncer:6432/app?prepared_statement_cache_size=0")
""", note="the URL's query turns it off"),
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@pgbouncer:6432/app",
                             connect_args={"prepared_statement_cache_size": 0})
"""),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql+psycopg2://app@pgbouncer:6432/app")
""", note="psycopg2 prepares nothing"),
    Case("""
import psycopg

def run():
    with psycopg.connect("postgresql://app@pgbouncer:6432/app", prepare_threshold=None):
        pass
"""),
    Case("""
import asyncpg

async def handler():
    conn = await asyncpg.connect(dsn="postgresql://app@pgbouncer/app")
    await conn.close()
""", files={"docker-compose.yml": _COMPOSE.replace("transaction", "session")},
         note="session mode keeps the server connection"),
    Case("""
from psycopg_pool import ConnectionPool

pool = ConnectionPool("postgresql://app@pgbouncer:6432/app",
                      kwargs={"prepare_threshold": None})
"""),
    Case("""
import asyncpg

async def init(**options):
    return await asyncpg.create_pool("postgresql://app@pgbouncer:6432/app", **options)
""", note="options that cannot be read"),
]

# Port 6432 is PgBouncer's default, but a compose file that publishes a PostgreSQL
# container on host port 6432 (`"6432:5432"`, to keep clear of a local server on 5432)
# says what listens there: that server, not a PgBouncer.
_PG_ON_6432 = """
services:
  db:
    image: postgres:17
    ports:
      - '6432:5432'
"""

VALID += [
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+psycopg://app@localhost:6432/app")
""", files={"docker-compose.yaml": _PG_ON_6432},
         note="compose maps host port 6432 to a PostgreSQL container"),
]

INVALID += [
    Case("""
from sqlalchemy.ext.asyncio import create_async_engine

engine = create_async_engine("postgresql+psycopg://app@localhost:6432/app")  # expect: PS210
""", files={"docker-compose.yaml": _PG_ON_6432.replace("6432:5432", "5432:5432")},
         note="the compose PostgreSQL publishes 5432: 6432 is still taken to be PgBouncer"),
]
