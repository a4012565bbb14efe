"""PS103 except-without-rollback: INVALID cases mark the `except` line."""

from poolsafe.rules.base import Case

_PG_POOL = """\
from psycopg2.pool import ThreadedConnectionPool
pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")
"""

_SESSION = """\
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
"""

INVALID: list[Case] = [
    Case("""
import psycopg2

def load(dsn, schema, rows):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute("SET search_path TO %s", (schema,))
        for r in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg2.IntegrityError:  # expect: PS103
                pass
        conn.commit()
    finally:
        conn.close()
""", note="a rollback would revert search_path; a savepoint per iteration (in SQL for "
          "psycopg2) keeps it"),
    Case(_SESSION + """
from sqlalchemy import text

def tag(db: Session, tenant, item):
    db.execute(text("SELECT set_config('app.tenant', :t, false)"), {"t": tenant})
    try:
        db.add(item)
        db.flush()
    except IntegrityError:  # expect: PS103
        pass
    db.execute(text("UPDATE audit SET n = n + 1"))
    db.commit()
""", unfixable="a rollback would also undo `SELECT set_config('app.tenant', :t, false)` "
               "(set_config() set earlier in this transaction), and the statements after "
               "it would run without it"),
    Case(_SESSION + """
from sqlalchemy import text

def load(db: Session, names):
    for name in names:
        try:
            db.execute(text("CREATE TEMP TABLE scratch (n text)"))
            db.execute(text("INSERT INTO t VALUES (:n)"), {"n": name})
        except IntegrityError:  # expect: PS103
            pass
    db.commit()
""", unfixable="a rollback or savepoint would also undo `CREATE TEMP TABLE scratch (n text)` "
               "(a temporary table set earlier in this transaction), and the statements "
               "after it would run without it"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://localhost/app", isolation_level="REPEATABLE READ")

def load(rows):
    with engine.connect() as conn:
        for r in rows:
            try:
                conn.execute(text("INSERT INTO t VALUES (:r)"), {"r": r})
            except Exception:  # expect: PS103
                pass
        conn.commit()
""", note="an engine with an isolation level other than AUTOCOMMIT keeps transactions"),

    Case("""
import psycopg2
from psycopg2.extensions import ISOLATION_LEVEL_SERIALIZABLE

def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    conn.set_isolation_level(ISOLATION_LEVEL_SERIALIZABLE)
    try:
        for r in rows:
            try:
                conn.cursor().execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg2.IntegrityError:  # expect: PS103
                pass
        conn.commit()
    finally:
        conn.close()
""", note="an isolation level that is not autocommit keeps the transaction"),
    Case("""
import psycopg
from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")

def store(rows):
    with pool.connection() as conn:
        try:
            conn.execute("INSERT INTO t VALUES (1)")
        except psycopg.Error:  # expect: PS103
            pass
        conn.execute("INSERT INTO audit VALUES (1)")
""", note="psycopg 3 pool block: the aborted transaction is used again inside the block"),
    Case(_SESSION + """
def create(db: Session, item):
    try:
        db.add(item)
        db.flush()
    except IntegrityError:  # expect: PS103
        pass
    db.commit()
""", note="add() then flush(): the flush sends the SQL that fails"),
    Case(_SESSION + """
def create_user(db: Session, name: str):
    try:
        db.add(User(name=name))
        db.commit()
    except IntegrityError:  # expect: PS103
        return None
""", note="the caller's session is left needing a rollback"),
    Case(_PG_POOL + """
import psycopg2

def import_rows(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", row)
            except psycopg2.IntegrityError:  # expect: PS103
                continue
        conn.commit()
    finally:
        pool.putconn(conn)
""", note="the next statement runs in an aborted transaction",
         # a rollback would also discard the earlier iterations that the final commit
         # stores in the original's stead (issue #30, class 5): the fix is a savepoint
         # per iteration, which sends more SQL and so is unsafe (--unsafe-fixes only)
         ),
    Case(_SESSION + """
import logging
log = logging.getLogger(__name__)

def upsert(db: Session, item):
    try:
        db.add(item)
        db.flush()
    except Exception:  # expect: PS103
        log.exception("insert failed")
    db.commit()
""", note="PendingRollbackError on the commit"),
    Case(_SESSION + """
def rename(user_id, name):
    with SessionLocal() as db:
        with db.begin():
            try:
                db.get(User, user_id).name = name
                db.flush()
            except SQLAlchemyError:  # expect: PS103
                pass
""", note="the enclosing transaction commits on exit"),
    Case(_PG_POOL + """
def touch(ids):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("UPDATE t SET x = 1")
        except:  # expect: PS103
            print("failed")
        cur.execute("SELECT count(*) FROM t")
        return cur.fetchone()
    finally:
        pool.putconn(conn)
""", note="a bare except"),
    Case("""
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()

def add_tag(tag):
    try:
        db.session.add(tag)
        db.session.commit()
    except Exception:  # expect: PS103
        return False
    return True
""", note="Flask-SQLAlchemy's db.session"),
    Case("""
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()

class TaskService:
    def post(self, task):
        try:
            db.session.add(task)
            db.session.commit()
            return True
        except Exception:  # expect: PS103
            return False
""", note="a method named like an HTTP verb outside a view class: its caller gets the "
          "session back in a failed transaction"),
    Case("""
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.exc import IntegrityError

async def create(session: AsyncSession, item):
    try:
        session.add(item)
        await session.commit()
    except IntegrityError:  # expect: PS103
        return None
    return item
""", note="async session"),
    Case("""
import psycopg2

class Repo:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)

    def save(self, item):
        cur = self.conn.cursor()
        try:
            cur.execute("INSERT INTO items VALUES (%s)", (item,))
            self.conn.commit()
        except psycopg2.DatabaseError:  # expect: PS103
            return False
        return True
""", note="a long-lived connection on self"),
    Case(_SESSION + """
from fastapi import Depends

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

def create(item, db=Depends(get_db)):
    try:
        db.add(item)
        db.commit()
    except (ValueError, IntegrityError):  # expect: PS103
        pass
    return db.query(Item).count()
""", note="a Depends() session, a tuple of exception types"),
    Case(_PG_POOL + """
import psycopg2

def two_steps():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("DELETE FROM a")
        except psycopg2.Error:  # expect: PS103
            pass
        conn.commit()
    finally:
        pool.putconn(conn)
""", note="the commit then runs on the aborted transaction"),
    Case("""
from psycopg_pool import ConnectionPool
import psycopg

pool = ConnectionPool("dbname=app")

def import_events(events):
    with pool.connection() as conn:
        for event in events:
            try:
                conn.execute("INSERT INTO events VALUES (%s)", (event,))
            except psycopg.errors.UniqueViolation:  # expect: PS103
                continue
""", note="psycopg 3: the next INSERT fails, current transaction is aborted"),
    Case("""
from sqlalchemy.orm import Session

class ClientRepository:
    def __init__(self, session: Session):
        self.session = session

    def find(self, client_id):
        try:
            return self.session.query(Client).filter_by(id=client_id).first()
        except Exception:  # expect: PS103
            return None
""", note="a repository holding the session its caller hands it: the failed query "
          "leaves that session's transaction aborted for every later call"),
    Case("""
from typing import Optional
from sqlalchemy.ext.asyncio import AsyncSession

class Repo:
    session: Optional[AsyncSession]

    async def save(self, item):
        try:
            self.session.add(item)
            await self.session.flush()
        except Exception:  # expect: PS103
            pass
""", note="the attribute's type declared in the class body"),
    Case("""
from sqlalchemy.orm import Session


def save(session: Session, item):
    error = None
    try:
        session.execute("x")
    except Exception as e:  # expect: PS103
        error = e
    session.commit()
    if error:
        raise error
""",
         note=('the kept error is re-raised only after the commit: the failed transaction is '
               'reused first')),
    Case("""
from sqlalchemy import create_engine, event, exc, select
from sqlalchemy.engine import Connection

engine = create_engine("postgresql://db/app")


@event.listens_for(engine, "engine_connect")
def ping_connection(connection: Connection, branch):
    try:
        connection.scalar(select(1))
    except exc.DBAPIError as err:  # expect: PS103
        if not err.connection_invalidated:
            connection.scalar(select(1))
""", note="the recipe's test the wrong way round: the aborted connection is used again"),
    Case("""
import functools
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker()
NEW_SESSION: Session = None  # type: ignore[assignment]


@contextmanager
def create_session():
    session = SessionFactory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def provide_session(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "session" in kwargs:
            return func(*args, **kwargs)
        with create_session() as session:
            return func(*args, session=session, **kwargs)
    return wrapper


@provide_session
def mark_done(job_id, session: Session = NEW_SESSION):
    try:
        session.execute("UPDATE jobs SET done = 1 WHERE id = :i", {"i": job_id})
    except SQLAlchemyError:  # expect: PS103
        pass
    session.execute("UPDATE stats SET runs = runs + 1")
    return True
""", note="the decorator's session used again in the function after the swallowed error"),
    Case("""
from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


class ItemRepository:
    def __init__(self, db: Session):
        self.db = db

    def create(self, name):
        try:
            self.db.execute("INSERT INTO items (name) VALUES (:n)", {"n": name})
            self.db.commit()
        except SQLAlchemyError:  # expect: PS103
            return None
        return name


@app.post("/items")
def create_item(name: str, db: Session = Depends(get_db)):
    created = ItemRepository(db).create(name)
    db.execute("INSERT INTO audit (what) VALUES ('create')")
    db.commit()
    return created
""", note='the route goes on with the session after the repository swallowed its error'),
    Case("""
import time

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def run_scheduler():
    with Session(engine) as session:
        while True:
            try:
                session.execute(text("SELECT pg_advisory_lock(1)"))
            except OperationalError:  # expect: PS103
                time.sleep(1)
            session.execute(text("UPDATE jobs SET state = 'queued' WHERE state = 'new'"))
            session.commit()
            time.sleep(5)
""", note='a scheduler loop goes on in the transaction a failed execute() aborted'),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")


def import_rows(rows):
    with Session(engine) as session:
        with session.begin():
            for row in rows:
                try:
                    session.execute("INSERT INTO items (id) VALUES (:i)", {"i": row})
                except IntegrityError:  # expect: PS103
                    continue
""",
         note=('per-item try/except inside one session.begin() without begin_nested(): the '
               'block commits an aborted transaction')),
    Case("""
from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Tag

bp = Blueprint("tags", __name__)


@bp.route("/tags", methods=["POST"])
def add_tag():
    tag = Tag(name=request.json["name"])
    try:
        db.session.add(tag)
        db.session.flush()
    except IntegrityError:  # expect: PS103
        print("duplicate")
    db.session.commit()
    return jsonify(ok=True)
""", path="app/views.py", files={"app/extensions.py": """
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
""", "app/models.py": """
from app.extensions import db


class Tag(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String, unique=True)
"""}, note='a Flask view swallows the error on db.session and goes on to commit()'),
    Case("""
import psycopg2


class Postgres:
    def __init__(self, dsn):
        self.dsn = dsn
        self._conn = None

    def connect(self):
        conn = psycopg2.connect(self.dsn)
        return conn

    def reset(self):
        self._conn = None

    @property
    def server_version(self):
        conn = self.connect()  # expect: PS102
        return conn.server_version

    def check(self):
        self._conn = self.connect()
        try:
            cur = self._conn.cursor()
            cur.execute("SELECT 1")
        except psycopg2.DatabaseError:  # expect: PS103
            self.reset()
            return False
        return True
""", note='self.reset() only forgets the connection: the failed one is kept'),
    Case("""
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.models import Setting, db


class AppModule(Blueprint):
    def register_menu(self):
        return []


blueprint = AppModule("settings", __name__)


@blueprint.route("/reset", methods=["DELETE"])
def reset_settings():
    try:
        Setting.query.delete()
        db.session.commit()
    except SQLAlchemyError:  # expect: PS103
        pass
    db.session.add(Setting())
    db.session.commit()
    return jsonify(ok=True)
""", path="app/settings.py", files={"app/models.py": """
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Setting(db.Model):
    id = db.Column(db.Integer, primary_key=True)
"""}, note='the same route goes on to commit after the swallowed error'),
    Case("""
import logging

from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


def delete_items(ids):
    with engine.connect() as connection:
        with connection.begin() as transaction:
            for item_id in ids:
                try:
                    connection.execute(text("DELETE FROM items WHERE id = :i"), {"i": item_id})
                except Exception as e:  # expect: PS103
                    logging.error("delete failed: %s", e)
            logging.info("done with %s", transaction)
""",
         note=('per-item errors swallowed inside one connection.begin() block: it commits an '
               'aborted transaction')),
    Case("""
import psycopg


class Executor:
    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = None

    def connect(self):
        self.conn = psycopg.connect(self.dsn)
        self.conn.autocommit = False

    def search_path(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT current_setting('search_path')")
                return cur.fetchone()[0]
        except psycopg.ProgrammingError:  # expect: PS103
            with self.conn.cursor() as cur:
                cur.execute("SELECT current_schemas(true)")
                return cur.fetchone()[0]
""", note='the same class with autocommit off: the fallback query runs in the aborted transaction'),
    Case('''
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()


def table_exists(session: Session, name: str) -> bool:
    try:
        row = session.execute(text("SELECT 1 FROM pg_tables WHERE tablename = :n"), {"n": name})
        return row.scalar() is not None
    except Exception:  # expect: PS103
        return False


def record(name: str, item) -> None:
    with SessionLocal() as sess, sess.begin():
        sess.add(item)
        table_exists(sess, name)
''', note="the block did work on the session before the helper: its commit at the "
          "block's exit meets the failed transaction and the earlier work is lost"),
    Case('''
import logging
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

engine = create_engine("postgresql://app@db/app")


def clear_locks(conn: Connection) -> None:
    try:
        conn.exec_driver_sql("DELETE FROM locks")
    except Exception:  # expect: PS103
        logging.warning("could not clear the locks")
''', note="the same handler without invalidate(): the caller gets the connection back "
          "in a failed transaction"),
    Case('''
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ProgrammingError
import sqlalchemy.dialects.mssql
import sqlalchemy.dialects.postgresql


def jobs(conn: Connection):
    try:
        conn.execute(text("SELECT name FROM jobs")).all()
    except ProgrammingError:  # expect: PS103
        pass
    return conn.execute(text("SELECT 1")).scalar()
''', note="a module that also talks to PostgreSQL: the connection may be one whose "
          "transaction a failed statement aborted"),
    Case('''
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
import sqlalchemy.dialects.mysql


def add_user(session: Session, user):
    try:
        session.add(user)
        session.flush()
    except IntegrityError:  # expect: PS103
        pass
    session.add(user)
    session.commit()
''', note="a session is left pending rollback by a failed flush whatever the server "
          "(SQLAlchemy's own state): MySQL imported does not excuse it"),
    Case("""
import logging

import asyncpg

log = logging.getLogger(__name__)


class OutboxWorker:
    async def start(self, dsn):
        self.pool = await asyncpg.create_pool(dsn=dsn)

    async def drain(self):
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch("SELECT id FROM outbox FOR UPDATE SKIP LOCKED")
                for row in rows:
                    try:
                        await conn.execute("UPDATE outbox SET done = true WHERE id = $1",
                                           row["id"])
                    except Exception as exc:  # expect: PS103
                        log.error("task %s failed: %s", row["id"], exc)
""", unfixable=("`conn` has no `rollback()` (asyncpg pool connection): wrap the `try` body "
                "in a savepoint, a nested `async with conn.transaction():`, by hand"),
         note=("asyncpg inside `conn.transaction()`: a failed UPDATE aborts the block's "
               "transaction, and the loop goes on with it")),
    Case(_SESSION + """
import logging

from sqlalchemy import text

log = logging.getLogger(__name__)


def refresh_totals():
    db = SessionLocal()
    try:
        db.execute(text("UPDATE totals SET n = (SELECT count(*) FROM items)"))
    except SQLAlchemyError as exc:  # expect: PS103
        log.warning("refresh failed: %s", exc)
    finally:
        db.commit()
        db.close()
""", note="the handler swallows the error and the finally commits the failed transaction "
          "(look-alike of the valid case whose handler raises)"),
]

VALID: list[Case] = [
    Case('''
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def table_exists(session: Session, name: str) -> bool:
    try:
        row = session.execute(text("SELECT 1 FROM pg_tables WHERE tablename = :n"), {"n": name})
        return row.scalar() is not None
    except Exception:
        return False


class Store:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.Session = scoped_session(sessionmaker(bind=self.engine))

    def has(self, name: str) -> bool:
        with self.Session() as sess:
            return table_exists(session=sess, name=name)

    def resolve(self, name: str) -> bool:
        with self.Session() as sess, sess.begin():
            available = table_exists(sess, name)
        return available
''', note="a helper whose every call is the only use of a session a `with` block "
          "opened: the block's exit closes it right after, nothing goes on with it"),
    Case('''
import logging
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

engine = create_engine("postgresql://app@db/app")


def clear_timeout(conn: Connection) -> None:
    try:
        conn.rollback()
        conn.exec_driver_sql("SET statement_timeout = 0")
        conn.commit()
    except Exception:
        logging.warning("could not clear the timeout; discarding the connection")
        conn.invalidate()
''', note="the handler invalidates the connection: SQLAlchemy discards it with its "
          "failed transaction, and its next use raises until rolled back"),
    Case('''
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ProgrammingError
import sqlalchemy.dialects.mssql


def procedure_text(conn: Connection, name: str):
    try:
        rows = conn.execute(text("EXEC sp_helptext :n"), {"n": name}).all()
    except ProgrammingError:
        return None
    return rows


def jobs(conn: Connection):
    try:
        conn.execute(text("SELECT name FROM msdb.dbo.sysjobs")).all()
    except ProgrammingError:
        pass
    return conn.execute(text("SELECT 1")).scalar()
''', note="a SQLAlchemy connection in a module that talks to SQL Server (its dialect "
          "imported, no PostgreSQL one): a failed statement undoes only itself there, "
          "and the transaction goes on"),
    Case('''
from pyhive import hive
from sqlalchemy import exc
from sqlalchemy.engine import Connection, default


class HiveDialect(default.DefaultDialect):
    def _columns(self, connection: Connection, table: str):
        return connection.exec_driver_sql(f"DESCRIBE {table}").all()

    def has_table(self, connection: Connection, table: str) -> bool:
        try:
            self._columns(connection, table)
            return True
        except exc.DBAPIError:
            return False
''', note="a reflection dialect for Hive, which runs no transaction to abort"),
    Case("""
import psycopg
from psycopg import AsyncConnection

async def validate(con: AsyncConnection, sql: str):
    async with con.transaction(force_rollback=True):
        try:
            await con.execute(f"EXPLAIN {sql}")
            return None
        except psycopg.Error as e:
            return str(e)
""", note="psycopg 3: the transaction() block's exit ends the failed transaction"),
    Case("""
import psycopg

async def worker(dsn, queue, **conn_args):
    conn_args["autocommit"] = True
    aconn = await psycopg.AsyncConnection.connect(dsn, **conn_args)
    async with aconn:
        async with aconn.cursor() as cur:
            while (sql := await queue.get()) is not None:
                try:
                    await cur.execute(sql)
                except psycopg.errors.DeadlockDetected:
                    await queue.put(sql)
""", note="autocommit set in the keyword arguments passed to connect()"),
    Case(_PG_POOL + """
class Transaction:
    def __enter__(self):
        self.conn = pool.getconn()
        return self.conn

    def __exit__(self, *exc):
        try:
            self.conn.rollback()
        except Exception:
            pass
        finally:
            pool.putconn(self.conn)
""", note="a cleanup except in __exit__ followed by the release: nothing reuses it"),
    Case(_PG_POOL + """
class Handle:
    def close(self):
        try:
            self.conn.cursor().execute("DISCARD ALL")
        except Exception:
            pass
        finally:
            pool.putconn(self.conn)
""", note="a cleanup except in close() followed by the release in finally"),
    Case("""
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://localhost/app", isolation_level="AUTOCOMMIT")

def load(rows):
    with engine.connect() as conn:
        for r in rows:
            try:
                conn.execute(text("INSERT INTO t VALUES (:r)"), {"r": r})
            except Exception:
                pass
""", note="an AUTOCOMMIT engine: each statement commits on its own"),
    Case("""
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://localhost/app",
                                          isolation_level="AUTOCOMMIT"))

def load(rows):
    s = Session()
    try:
        for r in rows:
            try:
                s.execute(text("INSERT INTO t VALUES (:r)"), {"r": r})
            except Exception:
                pass
    finally:
        s.close()
""", note="a session bound to an AUTOCOMMIT engine"),
    Case("""
import psycopg
from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app", kwargs={"autocommit": True})

def load(rows):
    conn = pool.getconn()
    try:
        for r in rows:
            try:
                conn.execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg.Error:
                pass
    finally:
        pool.putconn(conn)
""", note="psycopg_pool whose connections are made with autocommit=True"),
    Case("""
import psycopg2

def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    try:
        conn.set_session(autocommit=True)
        for r in rows:
            try:
                conn.cursor().execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg2.Error:
                pass
    finally:
        conn.close()
""", note="autocommit through set_session(autocommit=True)"),
    Case("""
import psycopg2
from psycopg2 import extensions
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    try:
        conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        for r in rows:
            try:
                conn.cursor().execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg2.IntegrityError:
                pass
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()

def load_too(dsn, rows):
    conn = psycopg2.connect(dsn)
    try:
        conn.set_isolation_level(extensions.ISOLATION_LEVEL_AUTOCOMMIT)
        for r in rows:
            try:
                conn.cursor().execute("INSERT INTO t VALUES (%s)", (r,))
            except psycopg2.IntegrityError:
                pass
    finally:
        conn.close()
""", note="autocommit through set_isolation_level: no transaction to abort"),
    Case("""
import psycopg
from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")

def store():
    with pool.connection() as conn:
        try:
            conn.execute("INSERT INTO t VALUES (1)")
        except psycopg.Error:
            pass
""", note="psycopg 3: the pool block's exit rolls the failed transaction back, no error"),
    Case(_SESSION + """
def remember(db: Session, item, other):
    try:
        db.add(item)
        db.delete(other)
    except Exception:
        pass
    db.commit()
""", note="add()/delete() only queue work: no SQL ran in the try"),
    Case(_PG_POOL + """
import psycopg2

def healthy_connection():
    for _ in range(2):
        conn = pool.getconn()
        try:
            conn.cursor().execute("SELECT 1")
            conn.rollback()
            return conn
        except psycopg2.OperationalError:
            try:
                pool.putconn(conn, close=True)
            except Exception:
                pass
    raise RuntimeError("no healthy connection")
""", note="a retry loop: the broken connection is discarded and the name rebound"),
    Case("""
import pymysql
from pymysql.err import IntegrityError

def save(item):
    conn = pymysql.connect(host="db")
    try:
        with conn.cursor() as cur:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (item,))
            except IntegrityError:
                pass
            cur.execute("INSERT INTO log VALUES (%s)", (item,))
        conn.commit()
    finally:
        conn.close()
""", note="MySQL/InnoDB rolls back the failed statement only; the transaction goes on"),
    Case(_SESSION + """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
app = Flask(__name__)
db = SQLAlchemy(app)

@app.post("/register")
def register():
    db.session.add(User(email="a@b.c"))
    try:
        db.session.commit()
    except IntegrityError:
        return "email already registered", 409
    return "created", 201
""", note="a Flask view: the request's session is removed (rolled back) at teardown"),
    Case("""
from flask import Flask, jsonify
from flask.views import MethodView
from flask_sqlalchemy import SQLAlchemy
app = Flask(__name__)
db = SQLAlchemy(app)

class TaskView(MethodView):
    def post(self):
        try:
            db.session.add(object())
            db.session.commit()
            return jsonify({"ok": True})
        except Exception:
            return jsonify({"ok": False})

app.add_url_rule("/tasks", view_func=TaskView.as_view("tasks"))
""", note="a class-based view's HTTP method handles the request like a route: the "
          "session is removed at teardown"),
    Case("""
import psycopg2
conn = psycopg2.connect("dbname=app")

def ensure_connection():
    global conn
    try:
        conn.cursor().execute("SELECT 1")
    except psycopg2.OperationalError:
        conn = psycopg2.connect("dbname=app")
""", note="the handler replaces the connection: nothing uses the aborted one"),
    Case(_SESSION + """
def create_user(db: Session, name: str):
    try:
        db.add(User(name=name))
        db.commit()
    except IntegrityError:
        db.rollback()
        return None
""", note="rolled back"),
    Case(_SESSION + """
def create_user(db: Session, name: str):
    try:
        db.add(User(name=name))
        db.commit()
    except IntegrityError:
        raise ValueError("duplicate")
""", note="re-raised"),
    Case(_SESSION + """
def parse(db: Session, payload):
    try:
        data = payload["user"]
        db.add(User(**data))
    except KeyError:
        return None
""", note="KeyError is not a database error"),
    Case(_PG_POOL + """
import psycopg2

def one():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchone()
    except psycopg2.Error:
        return None
    finally:
        pool.putconn(conn)
""", note="putconn rolls back; nothing uses the connection after the handler"),
    Case(_SESSION + """
def rename(user_id, name):
    with SessionLocal() as db:
        try:
            db.get(User, user_id).name = name
            db.commit()
        except SQLAlchemyError:
            pass
""", note="close() at the end of the with block rolls back"),
    Case(_SESSION + """
def rename(db: Session, user_id, name):
    try:
        with db.begin_nested():
            db.get(User, user_id).name = name
    except IntegrityError:
        pass
    db.commit()
""", note="begin_nested() rolls back to its savepoint by itself"),
    Case(_PG_POOL + """
import psycopg2

def safe(rows):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("SAVEPOINT s")
                cur.execute("INSERT INTO t VALUES (%s)", row)
            except psycopg2.IntegrityError:
                cur.execute("ROLLBACK TO SAVEPOINT s")
        conn.commit()
    finally:
        pool.putconn(conn)
""", note="ROLLBACK TO SAVEPOINT"),
    Case("""
import asyncpg

async def insert(pool, item):
    async with pool.acquire() as conn:
        try:
            await conn.execute("INSERT INTO t VALUES ($1)", item)
        except asyncpg.UniqueViolationError:
            pass
        await conn.execute("INSERT INTO log VALUES ($1)", item)
""", note="asyncpg outside a transaction: nothing is aborted"),
    Case("""
import psycopg

def ddl(dsn):
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            conn.execute("CREATE INDEX i ON t (x)")
        except psycopg.Error:
            pass
        conn.execute("ANALYZE t")
""", note="autocommit connection"),
    Case(_SESSION + """
def handle_error(db):
    db.rollback()

def create(db: Session, item):
    try:
        db.add(item)
        db.commit()
    except IntegrityError:
        handle_error(db)
        return None
""", note="a project function that rolls back its argument"),
    Case("""
import sqlite3

def save(path, item):
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO t VALUES (?)", (item,))
    except sqlite3.IntegrityError:
        pass
    conn.commit()
    conn.close()
""", note="sqlite3 does not abort the transaction on a failed statement"),
    Case("""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

factory = async_sessionmaker(create_async_engine("postgresql+asyncpg://localhost/app"))

async def migrate(orgs):
    for org in orgs:
        try:
            async with factory() as session:
                session.add(org)
                await session.commit()
            async with factory() as session:
                await session.execute(cleanup(org))
                await session.commit()
        except Exception as exc:
            print("failed", org, exc)
""", note="each session is closed (and rolled back) by its own `async with`; the next "
          "one is a new session"),
    Case("""
import psycopg2


def admin_connection(dsn):
    conn = psycopg2.connect(dsn)
    conn.set_session(autocommit=True)
    return conn


def drop_all(dsn, names):
    conn = admin_connection(dsn)
    try:
        cur = conn.cursor()
        for name in names:
            try:
                cur.execute(f"DROP DATABASE {name}")
            except psycopg2.Error:
                pass
            cur.execute("SELECT 1")
    finally:
        conn.close()
""", note="a project wrapper's connection in autocommit: a failed statement aborts no transaction"),
    Case("""
from sqlalchemy import select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

async def token_for(session: AsyncSession, link: str):
    try:
        row = (await session.execute(select(Link).where(Link.url == link))).scalars().one()
        return row.token
    except NoResultFound:
        return None
""", note="NoResultFound (and MultipleResultsFound) is raised by the client after the "
          "query succeeded: the transaction is not aborted"),
    Case("""
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import MultipleResultsFound, NoResultFound

def rename(db: Session, name, new):
    try:
        user = db.query(User).filter_by(name=name).one()
    except (NoResultFound, MultipleResultsFound):
        return None
    user.name = new
    db.commit()
    return user
""", note="client-side result errors, from the legacy sqlalchemy.orm.exc module"),
    Case("""
import pymysql
from sqlalchemy.pool import QueuePool

pool = QueuePool(lambda: pymysql.connect(host="db", db="app"), pool_size=5)

def load(rows):
    conn = pool.connect()
    try:
        cur = conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t VALUES (%s)", (row,))
            except Exception as exc:
                print(exc)
        conn.commit()
    finally:
        conn.close()
""", note="a SQLAlchemy pool around a creator: the driver (here MySQL, where a failed "
          "statement aborts nothing) is not known, so nothing is assumed"),
    Case("""
import requests
from sqlalchemy.orm import Session

class Client:
    def __init__(self, session: requests.Session):
        self.session = session

    def ping(self, url):
        try:
            return self.session.get(url, timeout=5)
        except Exception:
            return None
""", note="an HTTP session stored the same way is no database session"),
    Case("""
from sqlalchemy.orm import Session

class ClientRepository:
    def __init__(self, session: Session):
        self.session = session

    def find(self, client_id):
        try:
            return self.session.query(Client).filter_by(id=client_id).first()
        except Exception:
            self.session.rollback()
            return None
""", note="the repository rolls its session back"),
    Case("""
from sqlalchemy.orm import Session


def save(session: Session, item):
    try:
        session.execute("x")
    except BaseException as e:
        error = e
    else:
        error = None
    if error:
        raise error
    session.commit()
""",
         note=('the handler keeps the error and re-raises it before the session is used '
               'again: nothing swallowed')),
    Case("""
from sqlalchemy.orm import Session


def save(session: Session, item):
    try:
        session.add(item)
        session.flush()
    except BaseException as e:
        raise e
    session.commit()
""", note='except BaseException as e: raise e swallows nothing'),
    Case("""
from sqlalchemy import create_engine, event, exc, select
from sqlalchemy.engine import Connection

engine = create_engine("postgresql://db/app")


@event.listens_for(engine, "engine_connect")
def ping_connection(connection: Connection, branch):
    if branch:
        return
    save_should_close_with_result = connection.should_close_with_result
    connection.should_close_with_result = False
    try:
        connection.scalar(select(1))
    except exc.DBAPIError as err:
        if err.connection_invalidated:
            connection.scalar(select(1))
        else:
            raise
    finally:
        connection.should_close_with_result = save_should_close_with_result
""",
         note=("SQLAlchemy's pessimistic-disconnect recipe: used again only where the error "
               'invalidated the connection, re-raised otherwise')),
    Case("""
import functools
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionFactory = sessionmaker()
NEW_SESSION: Session = None  # type: ignore[assignment]


@contextmanager
def create_session():
    session = SessionFactory()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def provide_session(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if "session" in kwargs:
            return func(*args, **kwargs)
        with create_session() as session:
            return func(*args, session=session, **kwargs)
    return wrapper


@provide_session
def mark_done(job_id, session: Session = NEW_SESSION):
    try:
        session.execute("UPDATE jobs SET done = 1 WHERE id = :i", {"i": job_id})
    except SQLAlchemyError:
        return False
    return True
""",
         note=('a session a provide_session-style decorator passes in and ends right after '
               'the call: the decorator is the caller')),
    Case("""
from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


class ItemRepository:
    def __init__(self, db: Session):
        self.db = db

    def create(self, name):
        try:
            self.db.execute("INSERT INTO items (name) VALUES (:n)", {"n": name})
            self.db.commit()
        except SQLAlchemyError:
            return None
        return name


@app.post("/items")
def create_item(name: str, db: Session = Depends(get_db)):
    return ItemRepository(db).create(name)
""",
         note=('a repository method that swallows the error returns to a route whose '
               'dependency closes (and rolls back) the session right after')),
    Case("""
import psycopg2


class Postgres:
    def __init__(self, dsn):
        self.dsn = dsn
        self._conn = None

    def connect(self):
        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(self.dsn)
        return self._conn

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def server_version(self):
        conn = self.connect()
        return conn.server_version

    def check(self):
        try:
            cur = self._conn.cursor()
            cur.execute("SELECT 1")
        except psycopg2.DatabaseError:
            self.close()
            return False
        return True
""", note='the handler calls self.close(), which closes self._conn: nothing is handed back'),
    Case("""
import logging

from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

log = logging.getLogger(__name__)
engine = create_engine("postgresql://db/app")
Session = scoped_session(sessionmaker(bind=engine))


def after_job(result):
    try:
        Session.remove()
    except Exception:
        log.exception("could not close the session")
    try:
        engine.dispose()
    except Exception:
        log.exception("could not dispose the engine")
    return result
""", note='a failed remove() or dispose() leaves no transaction anyone goes on with'),
    Case("""
from flask import Blueprint, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app.models import Setting, db


class AppModule(Blueprint):
    def register_menu(self):
        return []


blueprint = AppModule("settings", __name__)


@blueprint.route("/reset", methods=["DELETE"])
def reset_settings():
    try:
        Setting.query.delete()
        db.session.commit()
    except SQLAlchemyError as e:
        return jsonify(error=str(e)), 410
    return jsonify(ok=True)
""", path="app/settings.py", files={"app/models.py": """
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Setting(db.Model):
    id = db.Column(db.Integer, primary_key=True)
"""},
         note=('a route of a project subclass of Blueprint is a request handler: the '
               'framework ends its session')),
    Case("""
import logging

from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app")


def delete_item(item_id):
    with engine.connect() as connection:
        with connection.begin() as transaction:
            try:
                result = connection.execute(text("DELETE FROM items WHERE id = :i"), {"i": item_id})
                transaction.commit()
                return result.rowcount > 0
            except Exception as e:
                logging.error("delete failed: %s", e)
                transaction.rollback()
                return False
""", note='the handler rolls back through the transaction object of connection.begin()'),
    Case("""
import psycopg


class Executor:
    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = None

    def connect(self):
        self.conn = psycopg.connect(self.dsn)
        self.conn.autocommit = True

    def search_path(self):
        try:
            with self.conn.cursor() as cur:
                cur.execute("SELECT current_setting('search_path')")
                return cur.fetchone()[0]
        except psycopg.ProgrammingError:
            with self.conn.cursor() as cur:
                cur.execute("SELECT current_schemas(true)")
                return cur.fetchone()[0]
""", note='the class puts self.conn in autocommit in connect(): a failed statement aborts nothing'),
    Case("""
import logging

import asyncpg

log = logging.getLogger(__name__)


class OutboxWorker:
    async def start(self, dsn):
        self.pool = await asyncpg.create_pool(dsn=dsn)

    async def drain(self):
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch("SELECT id FROM outbox FOR UPDATE SKIP LOCKED")
                for row in rows:
                    try:
                        async with conn.transaction():
                            await conn.execute("UPDATE outbox SET done = true WHERE id = $1",
                                               row["id"])
                    except Exception as exc:
                        log.error("task %s failed: %s", row["id"], exc)
""", note="a nested transaction block per task is a savepoint: a failure undoes only that task"),
    Case(_SESSION + """
from sqlalchemy import text


class JobFailed(Exception):
    pass


def refresh_totals():
    db = SessionLocal()
    try:
        db.execute(text("UPDATE totals SET n = (SELECT count(*) FROM items)"))
    except SQLAlchemyError:
        raise JobFailed("could not refresh the totals")
    finally:
        db.commit()
        db.close()


def refresh_counts():
    db = SessionLocal()
    try:
        db.execute(text("UPDATE counts SET n = n + 1"))
    except SQLAlchemyError:
        raise
    finally:
        db.commit()
        db.close()
""", note="the handlers raise: the error reaches the caller, and the finally's cleanup runs "
          "while it propagates (a commit there ends the failed transaction)"),
]

# A handler that ends the process or raises through a call (`sys.exit`, `exit`,
# `os._exit`, Flask's `abort`) swallows nothing: the code after it never runs.
VALID += [
    Case("""
import sys

from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


def check_database(console):
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT 1")
        except Exception as exc:
            console.print(f"cannot query: {exc}")
            sys.exit(1)
        cur.execute("SELECT count(*) FROM users")
    finally:
        conn.close()
""", note="sys.exit raises SystemExit: nothing after the handler runs on that path"),
    Case("""
import os

import psycopg2


def worker_main(dsn):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.execute("LISTEN jobs")
        except psycopg2.Error:
            os._exit(3)
        cur.execute("SELECT 1")
    finally:
        conn.close()
""", note="os._exit ends the process on the spot"),
    Case("""
from flask import Flask, abort
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
db = SQLAlchemy(app)


@app.post("/items/<int:item_id>/archive")
def archive(item_id):
    try:
        db.session.execute(db.text("UPDATE items SET archived = true WHERE id = :i"),
                           {"i": item_id})
    except Exception:
        abort(500)
    db.session.commit()
    return "", 204
""", note="flask.abort raises an HTTPException; the request's teardown ends the session"),
    Case("""
import psycopg2


def run(dsn):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.execute("SELECT 1")
        except psycopg2.Error:
            print("no database")
            exit(2)
        cur.execute("SELECT 2")
    finally:
        conn.close()
""", note="the builtin exit() raises SystemExit"),
]

INVALID += [
    Case("""
import sys

import psycopg2


def sync(dsn, strict):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.execute("DELETE FROM staging")
        except psycopg2.Error:  # expect: PS103
            if strict:
                sys.exit(1)
        cur.execute("INSERT INTO staging SELECT * FROM source")
        conn.commit()
    finally:
        conn.close()
""", note="the exit runs only when strict: otherwise the handler swallows and goes on"),
    Case("""
import psycopg2


def exit(code):
    print("would exit with", code)


def run(dsn):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.execute("DELETE FROM staging")
        except psycopg2.Error:  # expect: PS103
            exit(1)
        cur.execute("INSERT INTO staging SELECT * FROM source")
        conn.commit()
    finally:
        conn.close()
""", note="the project's own `exit` returns: not the builtin"),
]

# A handler that sets a sentinel (`row = None`) swallows nothing when the code right
# after it leaves wherever the sentinel is unset: the session is not used again on
# the path that caught the error.
VALID += [
    Case("""
from fastapi import HTTPException
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession


async def load_plan(session: AsyncSession, plan_id):
    try:
        plan = await session.get(Plan, plan_id)
    except DBAPIError:
        plan = None
    if not plan:
        raise HTTPException(404, "no such plan")
    await session.execute(text("UPDATE plans SET seen = now() WHERE id = :i"), {"i": plan_id})
    return plan
""", note="the handler's `plan = None` sends that path to the 404 raise"),
    Case("""
import psycopg2


def first_owner(dsn, team_id):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    try:
        cur.execute("SELECT owner FROM teams WHERE id = %s", (team_id,))
        row = cur.fetchone()
    except psycopg2.Error:
        row = None
    if row is None:
        return None
    cur.execute("UPDATE teams SET checked = now() WHERE id = %s", (team_id,))
    return row[0]
""", note="`row is None` is true on the path that caught the error: it returns"),
]

INVALID += [
    Case("""
import psycopg2


def first_owner(dsn, team_id):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    try:
        cur.execute("SELECT owner FROM teams WHERE id = %s", (team_id,))
        row = cur.fetchone()
    except psycopg2.Error:  # expect: PS103
        row = None
    if row is None:
        print("no owner for", team_id)
    cur.execute("UPDATE teams SET checked = now() WHERE id = %s", (team_id,))
    return row
""", note="the sentinel is tested, but that branch goes on to the next statement"),
    Case("""
import psycopg2


def first_owner(dsn, team_id):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    try:
        cur.execute("SELECT owner FROM teams WHERE id = %s", (team_id,))
        row = cur.fetchone()
    except psycopg2.Error:  # expect: PS103
        row = ("nobody",)
    if row is None:
        return None
    cur.execute("UPDATE teams SET checked = now() WHERE id = %s", (team_id,))
    return row[0]
""", note="the handler's value is not false: the path goes on with the aborted transaction"),
]

# stop 41: a finally of short-circuit closes (the original fails on the unbound cursor
# first where the connect raised), and a helper whose only callers are request handlers
# passing the session their dependency made for the request
INVALID += [
    Case("""
import psycopg2


def add_label(text):
    try:
        link = psycopg2.connect("dbname=app")
        cur = link.cursor()
        cur.execute("INSERT INTO labels VALUES (%s)", (text,))
    except Exception as err:  # expect: PS103
        print("failed", err)
    finally:
        cur and cur.close
        link and (link.commit() or link.close())
""", note="a swallowed error, then `commit()` in the finally; the rollback goes in behind "
          "`link = None` and a guard, and the finally's short-circuits keep their paths"),
    Case("""
from sqlalchemy import text
from sqlalchemy.orm import Session


def release_slot(db: Session, slot: int):
    try:
        db.execute(text("DELETE FROM claims WHERE slot = :s"), {"s": slot})
        db.commit()
    except Exception as exc:  # expect: PS103
        return False
    return True
""", path="booking/claims.py", files={"booking/deps.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("mysql+pymysql://app@db/app"))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
""", "booking/routes.py": """
from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from booking.claims import release_slot
from booking.deps import get_db

router = APIRouter()


@router.delete("/claims/{slot}")
def unclaim(slot: int, db: Session = Depends(get_db)):
    done = release_slot(db, slot)
    left = db.execute(text("SELECT count(*) FROM claims")).scalar()
    return {"ok": done, "left": left}
"""}, note="the helper's session is the route's per-request dependency, handed over "
          "before the route uses it, and the route goes on with it: the rollback "
          "undoes only the helper's work"),
]

# issue 31, large code bases: reflection that finds no table
VALID += [
    Case("""
from sqlalchemy import MetaData, Table
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.orm import Session


def describe(name: str, db: Session) -> Table:
    return Table(name, MetaData(), autoload_with=db.bind)


def has_table(name: str, db: Session) -> bool:
    try:
        describe(name, db)
    except NoSuchTableError:
        return False
    return True
""", note="NoSuchTableError is raised by SQLAlchemy from what reflection's catalog queries "
          "returned (no row for the table), not by a failed statement: nothing is aborted"),
]

INVALID += [
    Case("""
from sqlalchemy import MetaData, Table
from sqlalchemy.exc import NoSuchTableError, ProgrammingError
from sqlalchemy.orm import Session


def describe(name: str, db: Session) -> Table:
    return Table(name, MetaData(), autoload_with=db.connection())


def has_table(name: str, db: Session) -> bool:
    try:
        describe(name, db)
    except (NoSuchTableError, ProgrammingError):  # expect: PS103
        return False
    return True
""", note="the handler also catches a failed statement (ProgrammingError) on the session's "
          "own connection, and hands the session back"),
]

# issue 31, large code bases: code that runs only on a database whose failed statement
# aborts nothing but itself (read from the code's own test of the dialect)
VALID += [
    Case("""
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def _claim_on_sqlite(db: Session, key: str) -> bool:
    try:
        db.execute(text("INSERT INTO leases (k) VALUES (:k)"), {"k": key})
    except IntegrityError:
        return False
    return True


def claim(db: Session, key: str) -> bool:
    if db.get_bind().dialect.name == "sqlite":
        return _claim_on_sqlite(db, key)
    with db.begin_nested():
        db.execute(text("INSERT INTO leases (k) VALUES (:k)"), {"k": key})
    return True
""", note="the helper runs only where the bind's dialect is SQLite, which undoes only the "
          "failed statement; and a failed execute() (not a flush) leaves a Session usable"),
    Case("""
import os

from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)


def record(key):
    with engine.connect() as conn:
        if conn.dialect.name in ("mysql", "mariadb"):
            try:
                conn.execute(text("INSERT INTO seen (k) VALUES (:k)"), {"k": key})
            except IntegrityError:
                pass
            conn.execute(text("UPDATE seen SET n = n + 1 WHERE k = :k"), {"k": key})
            conn.commit()
""", note="the `try` is inside the branch for MySQL, where a failed statement aborts nothing else"),
]

INVALID += [
    Case("""
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def _claim(db: Session, key: str) -> bool:
    try:
        db.execute(text("INSERT INTO leases (k) VALUES (:k)"), {"k": key})
    except IntegrityError:  # expect: PS103
        return False
    return True


def claim(db: Session, key: str) -> bool:
    if db.get_bind().dialect.name == "postgresql":
        return _claim(db, key)
    return _claim(db, key)
""", note="the helper runs on PostgreSQL, where the failed INSERT aborts the caller's transaction"),
    Case("""
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def _claim_on_sqlite(db: Session, lease) -> bool:
    try:
        db.add(lease)
        db.flush()
    except IntegrityError:  # expect: PS103
        return False
    return True


def claim(db: Session, lease) -> bool:
    if db.get_bind().dialect.name == "sqlite":
        return _claim_on_sqlite(db, lease)
    return False
""", note="a failed flush leaves the Session pending rollback whatever the database"),
]

# issue 31, large code bases: a helper handed a connection, in a connector package whose
# other modules say which database it is
VALID += [
    Case("""
import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)


class ChangeScanner:
    def __init__(self, connection: Connection):
        self.connection = connection

    def changed_tables(self, catalog):
        found = set()
        try:
            for row in self.connection.execute(text("SELECT name FROM recent_changes")):
                found.add(row[0])
        except Exception as exc:
            log.warning("no change data for %s: %s", catalog, exc)
        return found
""", path="lakehouse/changes.py", files={
        "lakehouse/__init__.py": "",
        "lakehouse/connection.py": """
from databricks import sql


def open_warehouse(host, path, token):
    return sql.connect(server_hostname=host, http_path=path, access_token=token)
"""}, note="the module imports no driver; its package's connection module is Databricks', "
           "which runs no transaction a failed statement could abort"),
]

INVALID += [
    Case("""
import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)


class ChangeScanner:
    def __init__(self, connection: Connection):
        self.connection = connection

    def changed_tables(self, catalog):
        found = set()
        try:
            for row in self.connection.execute(text("SELECT name FROM recent_changes")):
                found.add(row[0])
        except Exception as exc:  # expect: PS103
            log.warning("no change data for %s: %s", catalog, exc)
        return found
""", path="warehouse/changes.py", files={
        "warehouse/__init__.py": "",
        "warehouse/connection.py": """
import psycopg2


def open_warehouse(dsn):
    return psycopg2.connect(dsn)
""",
        "warehouse/cache.py": """
import sqlite3


def open_cache(path):
    return sqlite3.connect(path)
"""}, note="the package also talks to PostgreSQL: nothing is concluded from its SQLite cache"),
]

# issue 31, large code bases: a project Session subclass whose commit() rolls back a
# failed commit before re-raising it; every session of the project is of that class
_ROLLING_DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker


class GuardedSession(Session):
    def commit(self):
        try:
            super().commit()
        except Exception:
            self.rollback()
            raise


Factory = sessionmaker(bind=create_engine("postgresql://localhost/shop"),
                       class_=GuardedSession)
"""

_LOGGING_DB = """
import logging

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class NoisySession(Session):
    def commit(self):
        try:
            super().commit()
        except Exception:
            log.exception("commit failed")
            raise


Factory = sessionmaker(bind=create_engine("postgresql://localhost/shop"),
                       class_=NoisySession)
"""

_REGISTER = """
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def store(db: Session, obj):
    db.add(obj)
    db.commit()


def register(db: Session, member, audit_row):
    try:
        store(db, member)
    except IntegrityError:{mark}
        log.info("already a member: %s", member)
    store(db, audit_row)
"""

VALID += [
    Case(_REGISTER.format(mark=""), path="shop/members.py",
         files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="the helper only adds and commits; the session class rolls a failed "
              "commit back before re-raising, so nothing is left pending"),
    Case("""
from sqlalchemy.exc import IntegrityError

from shop.db import Factory


def rename(tag, name):
    db = Factory()
    tag.name = name
    db.add(tag)
    try:
        db.commit()
    except IntegrityError:
        tag.name = None
    db.add(tag)
    db.commit()
    db.close()
""", path="shop/tags.py", files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="a session of the project's own factory, committed directly in the `try`"),
]

INVALID += [
    Case(_REGISTER.format(mark="  # expect: PS103"), path="shop/members.py",
         files={"shop/__init__.py": "", "shop/db.py": _LOGGING_DB},
         note="the subclass's commit() logs and re-raises without rolling back"),
    Case("""
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def close_order(db: Session, order):
    try:
        db.execute(text("UPDATE stock SET held = held - 1 WHERE item = :i"),
                   {"i": order.item})
        db.add(order)
        db.commit()
    except SQLAlchemyError:  # expect: PS103
        log.warning("could not close %s", order)
    db.add(order)
    db.commit()
""", path="shop/orders.py", files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="the UPDATE can fail before the commit, and nothing rolls that back"),
    Case(_REGISTER.format(mark="  # expect: PS103"), path="shop/members.py",
         files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB, "shop/reports.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

ReportFactory = sessionmaker(bind=create_engine("postgresql://localhost/shop"))
"""}, note="another session factory of the project makes plain sessions, which the "
           "helper may be handed"),
]

# issue 31, large code bases: the statement that may fail runs on a connection of its
# own, drawn from the session's engine (`db.bind.connect()`), not in the session's
# transaction
_BUILD_INDEXES = """
import logging

from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def build_index(db: Session, ddl):
{helper}


def build_all(db: Session, statements):
    built = []
    for ddl in statements:
        try:
            build_index(db, ddl)
        except Exception:{mark}
            log.exception("index not built: %s", ddl)
            continue
        built.append(ddl)
    db.execute(text("UPDATE index_jobs SET done = true"))
    db.commit()
    return built
"""

VALID += [
    Case(_BUILD_INDEXES.format(helper="""\
    with db.bind.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
        own.execute(text(ddl))""", mark=""),
         note="the helper runs the DDL on its own AUTOCOMMIT connection from the "
              "session's engine; the session's transaction never saw it"),
]

INVALID += [
    Case(_BUILD_INDEXES.format(helper="""\
    db.connection().execute(text(ddl))""", mark="  # expect: PS103"),
         unfixable="inside a loop, a rollback would discard the work of earlier "
                   "iterations, and `db` belongs to the caller, who may commit them; no "
                   "savepoint fits (the `try` body passes `db` to a call that may commit): "
                   "use one per iteration by hand",
         note="`db.connection()` is the session's own connection: the failed DDL "
              "aborts the session's transaction"),
]

# issue 31, large code bases: sessions judged one by one. A plain `Session(bind=...)` in
# an Alembic migration is followed to the functions it is handed to; it no longer voids
# the rolling commit of the project's own sessions elsewhere
_PLAIN_MIGRATION = """
from alembic import op
from sqlalchemy.orm import Session

from shop.{helper_module} import {helper}


def upgrade():
    session = Session(bind=op.get_bind())
    {helper}(session, {args})
    session.commit()
"""

_BACKFILL = """
def backfill(session, rows):
    for row in rows:
        session.add(row)
"""

VALID += [
    Case(_REGISTER.format(mark=""), path="shop/members.py",
         files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB,
                "shop/backfill.py": _BACKFILL,
                "shop/migrations/__init__.py": "",
                "shop/migrations/v1.py": _PLAIN_MIGRATION.format(
                    helper_module="backfill", helper="backfill", args="[]")},
         note="the migration's plain session goes only to `backfill`, never to `register`: "
              "the sessions `register` is handed are the factory's"),
    Case("""
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def save(db: Session, obj):
    db.add(obj)
    db.commit()
    db.refresh(obj)
    return obj


def register(db: Session, member, audit_row):
    try:
        save(db, member)
    except IntegrityError:
        log.info("already a member: %s", member)
    save(db, audit_row)
""", path="shop/members.py", files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="`refresh()` after the commit reloads the rows the commit wrote, by primary key"),
]

INVALID += [
    Case(_REGISTER.format(mark="  # expect: PS103"), path="shop/members.py",
         files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB,
                "shop/migrations/__init__.py": "",
                "shop/migrations/v1.py": _PLAIN_MIGRATION.format(
                    helper_module="members", helper="register", args="None, None")},
         note="the migration hands its plain session to `register`: that session's failed "
              "commit is not rolled back"),
    Case("""
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def save(db: Session, obj):
    db.add(obj)
    db.refresh(obj)
    db.commit()
    return obj


def register(db: Session, member, audit_row):
    try:
        save(db, member)
    except IntegrityError:  # expect: PS103
        log.info("already a member: %s", member)
    save(db, audit_row)
""", path="shop/members.py", files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="`refresh()` before the commit runs a query (and an autoflush) that can fail "
              "outside the commit"),
    Case("""
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def save_tree(db: Session, root, nodes):
    def add_all(items):
        for item in items:
            db.add(item)
            db.flush()
        return items

    try:
        root.children = add_all(nodes)
        db.commit()
    except IntegrityError:  # expect: PS103
        log.error("tree not saved")
    db.refresh(root)
""", path="shop/trees.py", files={"shop/__init__.py": "", "shop/db.py": _ROLLING_DB},
         note="the nested function flushes the session it reads from the enclosing scope: "
              "a failed flush leaves it pending rollback, outside the commit"),
]

# issue 31, large code bases: a command-line command's caller is its framework, which
# ends the process when the command returns
_ADD_MEMBER = """
import click
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import scoped_session, sessionmaker

db_session = scoped_session(sessionmaker(bind=create_engine("postgresql://localhost/app")))

{decorator}
def add_member(user, group):
    try:
        user.groups.append(group)
        db_session.commit()
    except IntegrityError:{mark}
        print("already a member")
"""

VALID += [
    Case(_ADD_MEMBER.format(decorator="@click.command()", mark=""),
         note="a click command: after it returns the process ends, and nothing uses the "
              "session's failed transaction"),
]

INVALID += [
    Case(_ADD_MEMBER.format(decorator="", mark="  # expect: PS103"),
         note="a plain function: its caller gets the session back in a failed transaction"),
]

# issue 31, large code bases: a rollback or release guarded by its own `try` (it raises
# only when the connection broke, and the transaction is gone with it)
_GUARDED_END = """
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

log = logging.getLogger(__name__)
db_session = scoped_session(sessionmaker(bind=create_engine("postgresql://localhost/app")))


def index_file(path):
    try:
        db_session.execute(text("UPDATE files SET state = 'indexing' WHERE path = :p"),
                           {{"p": path}})
        db_session.commit()
    except Exception:{mark}
        try:
            db_session.{end}()
        except Exception:{mark2}
            log.error("could not end the session")
        return None
    return path
"""

VALID += [
    Case(_GUARDED_END.format(mark="", mark2="", end="remove"),
         note="`remove()` in a `try` of its own: it ends the session, and raises only when "
              "the connection broke (then invalidated, its transaction gone)"),
    Case(_GUARDED_END.format(mark="", mark2="", end="close"),
         note="a guarded `close()` likewise"),
]

INVALID += [
    Case(_GUARDED_END.format(mark="  # expect: PS103", mark2="", end="expunge_all"),
         note="a guarded `expunge_all()` ends nothing: the caller gets the failed "
              "transaction back"),
]


# The session a module draws from a `scoped_session` registry (`session = Session()`):
# the thread's session, the one the registry's methods proxy to.
INVALID += [
    Case("""
import time

from store import session


def save_forever(fetch):
    while True:
        rows = fetch()
        while True:
            try:
                session.add_all(rows)
                session.commit()
                break
            except Exception:  # expect: PS103
                print("save failed, retrying")
                time.sleep(5)
""", files={"store.py": "from sqlalchemy import create_engine\n"
                        "from sqlalchemy.orm import scoped_session, sessionmaker\n\n"
                        "engine = create_engine('postgresql://app@db/app')\n"
                        "Session = scoped_session(sessionmaker(bind=engine))\n"
                        "session = Session()\n"},
         note="a retry loop commits again on the session whose flush failed",
         unfixable="the fix would change behaviour beyond the release: in `save_forever`: "
                   "`session.rollback()` in the handler also undoes "
                   "`session.add_all(rows)`, run before the `try` in the same transaction, "
                   "and the code after it goes on as if that were kept"),
]

VALID += [
    Case("""
import time

from store import session


def save_forever(fetch):
    while True:
        rows = fetch()
        while True:
            try:
                session.add_all(rows)
                session.commit()
                break
            except Exception:
                session.rollback()
                print("save failed, retrying")
                time.sleep(5)
""", files={"store.py": "from sqlalchemy import create_engine\n"
                        "from sqlalchemy.orm import scoped_session, sessionmaker\n\n"
                        "engine = create_engine('postgresql://app@db/app')\n"
                        "Session = scoped_session(sessionmaker(bind=engine))\n"
                        "session = Session()\n"},
         note="the same loop rolls the drawn session back before it retries"),
]

# issue 31, large code bases: a handler that stores a new connection on the attribute
# (`self.conn = engine.connect()`) and retries on it does not use the failed transaction
_RECONNECT_ON_ATTRIBUTE = """
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

engine = create_engine("postgresql://app@db/app")


class Jobs:
    def __init__(self):
        self.conn = engine.connect()
        self.spare = None

    def lookup(self, job_id):
        query = text("SELECT * FROM jobs WHERE id = :id")
        try:
            result = self.conn.execute(query, {{"id": job_id}})
        except OperationalError:{mark}
            self.{target} = engine.connect()
            result = self.conn.execute(query, {{"id": job_id}})
        return result.fetchall()
"""

VALID += [
    Case(_RECONNECT_ON_ATTRIBUTE.format(mark="", target="conn"),
         note="the handler stores a new connection on `self.conn` and retries there: the "
              "failed transaction is not used again"),
]

INVALID += [
    Case(_RECONNECT_ON_ATTRIBUTE.format(mark="  # expect: PS103", target="spare"),
         note="a new connection stored on another attribute: the retry still runs on "
              "`self.conn`, in the failed transaction"),
]

# issue 31 item 7, through a worker thread: a route's last act hands the repository
# function to an executor and returns what it gives back; the request's dependency then
# closes the session
_EXECUTOR_ROUTE = """
import asyncio

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/app")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def create_tag(db: Session, name: str):
    try:
        db.execute(text("INSERT INTO tags (name) VALUES (:name)"), {{"name": name}})
        db.commit()
    except IntegrityError:{mark}
        return None
    return name


@app.post("/tags")
async def add_tag(name: str, db: Session = Depends(get_db)):
    loop = asyncio.get_running_loop()
{route}
"""

VALID += [
    Case(_EXECUTOR_ROUTE.format(
        mark="", route="    return await loop.run_in_executor(None, create_tag, db, name)"),
        note="run_in_executor() is the route's last act: the dependency closes the "
             "session right after, nothing uses the failed transaction"),
    Case(_EXECUTOR_ROUTE.format(
        mark="", route="    return await asyncio.to_thread(create_tag, db, name)"),
        note="asyncio.to_thread() the same way"),
]

INVALID += [
    Case(_EXECUTOR_ROUTE.format(mark="  # expect: PS103", route="""\
    tag = await loop.run_in_executor(None, create_tag, db, name)
    db.execute(text("UPDATE stats SET tags = tags + 1"))
    db.commit()
    return tag"""),
        note="the route goes on with the session after the executor returns: the UPDATE "
             "meets the failed transaction"),
]

# round 11 (issue 31): a reconnect loop whose `try` only checks a connection out
# (`session.connection()`): when it raises, the connect failed and no transaction was
# begun on the server, so there is nothing to roll back before the session is used
# again. A `try` that ran a statement keeps the handler reported.
_RECONNECT = """\
import time

from sqlalchemy import create_engine, exc, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


class Loader:
    def __init__(self):
        self.session = Session()
"""
VALID.append(Case(_RECONNECT + """
    def check_connection(self):
        try:
            self.session.connection()
        except exc.OperationalError:
            time.sleep(5)
            self.session.connection()

    def load(self, rows):
        self.check_connection()
        self.session.execute(text("INSERT INTO events VALUES (:v)"), rows)
        self.session.commit()
""", note="the `try` only connects: a failure there opened no transaction"))
INVALID.append(Case(_RECONNECT + """
    def load(self, rows):
        try:
            self.session.execute(text("INSERT INTO events VALUES (:v)"), rows)
        except exc.OperationalError:  # expect: PS103
            time.sleep(5)
        self.session.execute(text("INSERT INTO events VALUES (:v)"), rows)
        self.session.commit()
""", note="the `try` ran a statement: the session goes on in the failed transaction"))

# round 11 (issue 31): a connection a method of the class acquires in autocommit and
# keeps on an attribute (`self.conn = psycopg.connect(dsn,
# autocommit=True)`, a LISTEN connection) has no transaction for a failed statement
# to abort in the other methods. Acquired without it, the handler stays reported.
_LISTENER = """\
import psycopg


class Listener:
    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = None

    def start(self):
        self.conn = psycopg.connect(self.dsn%s)

    def subscribe(self, channel):
        try:
            self.conn.execute(f"LISTEN {channel}")
        except psycopg.Error:%s
            pass
        self.conn.execute("LISTEN fallback")
"""
VALID.append(Case(_LISTENER % (", autocommit=True", ""),
                  note="the class acquires the connection in autocommit in another method"))
INVALID.append(Case(_LISTENER % ("", "  # expect: PS103"),
                    note="acquired without autocommit: the fallback LISTEN runs in the "
                         "aborted transaction"))

# issue 31 item 7 with `raise` instead of `return`: the route's only use of the swallowing
# function's result is to test it and leave at once; the dependency then closes the session
_RAISING_ROUTE = """
from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def find_token(db: Session, token: str):
    try:
        return db.execute(text("SELECT user_id FROM tokens WHERE token = :t"),
                          {{"t": token}}).scalar()
    except SQLAlchemyError:{mark}
        return {failed}


@app.post("/refresh")
def refresh(token: str, db: Session = Depends(get_db)):
    user_id = find_token(db, token)
    if {test}:
        raise HTTPException(status_code=401, detail="invalid token")
    db.execute(text("UPDATE tokens SET used = true WHERE token = :t"), {{"t": token}})
    db.commit()
    return {{"user": user_id}}
"""

VALID += [
    Case(_RAISING_ROUTE.format(mark="", failed="None", test="not user_id"),
         note="the route raises at once when the lookup gives back None (as the swallowed "
              "failure does): the dependency closes the session, nothing reuses it"),
    Case(_RAISING_ROUTE.format(mark="", failed="None", test="user_id is None"),
         note="`if user_id is None: raise` the same way"),
]

INVALID += [
    Case(_RAISING_ROUTE.format(mark="  # expect: PS103", failed='{"error": "db"}',
                               test="not user_id"),
         note="the swallowed failure gives back a truthy value: the route goes on to the "
              "UPDATE in the failed transaction"),
    Case(_RAISING_ROUTE.format(mark="  # expect: PS103", failed="None",
                               test="user_id == 0"),
         note="the route tests something else than the falsy result: a None goes on to "
              "the UPDATE"),
    Case(_RAISING_ROUTE.format(mark="  # expect: PS103", failed="None", test="not user_id")
         .replace("Depends(get_db)", "Depends(SessionLocal)"),
         note="the dependency is the session factory itself: FastAPI ends nothing after the "
              "request, so the failed transaction outlives the route's raise"),
]

# an unannotated parameter that every caller fills with the module's connection: the
# parameter is that long-lived connection, and a swallowed failure on it leaves the next
# call (any call, of any function) in the aborted transaction
_MODULE_CONNECTION_PARAM = """
import psycopg2

{module_conn}


def chat_ids(conn):
    try:
        cur = conn.cursor()
        cur.execute("SELECT chat_id FROM exceptions")
        return [row[0] for row in cur.fetchall()]
    except psycopg2.Error as error:{mark}
        print(error)
        return []


def add_chat(conn, chat_id):
    cur = conn.cursor()
    cur.execute("INSERT INTO exceptions (chat_id) VALUES (%s)", (chat_id,))
    conn.commit()


def on_message(chat_id):
{body}
"""

INVALID += [
    Case(_MODULE_CONNECTION_PARAM.format(
        module_conn='connection = psycopg2.connect("dbname=bot")', mark="  # expect: PS103",
        body="""\
    if chat_id not in chat_ids(connection):
        add_chat(connection, chat_id)"""),
        note="every caller passes the module's connection: the swallowed SELECT leaves it "
             "in an aborted transaction for the INSERT that follows"),
]

VALID += [
    Case(_MODULE_CONNECTION_PARAM.format(
        module_conn="DSN = 'dbname=bot'", mark="", body="""\
    conn = psycopg2.connect(DSN)
    try:
        if chat_id not in chat_ids(conn):
            add_chat(conn, chat_id)
    finally:
        conn.close()"""),
        note="the caller passes a connection of its own, not the module's: the parameter "
             "is not typed from it (the caller's handling is the caller's)"),
    Case(_MODULE_CONNECTION_PARAM.format(
        module_conn='connection = psycopg2.connect("dbname=bot")', mark="",
        body="    print(chat_id)"),
        note="nobody calls the function: its parameter is not known to be the module's "
             "connection"),
]

INVALID += [
    Case("""
from flask import Flask, jsonify
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
session = sessionmaker(bind=engine)()
app = Flask(__name__)


def recent(db, since):
    try:
        db.execute(text("UPDATE cursor SET since = :s"), {"s": since})
        db.commit()
        return {"since": since}
    except SQLAlchemyError:  # expect: PS103
        return None


@app.route("/recent")
def recent_view():
    data = recent(session, 0)
    if not data:
        return jsonify({"error": "none"}), 404
    return jsonify(data)
""", note="the route leaves at once on a falsy result, but the session is the module's, "
          "which no request ends: the next request meets the failed transaction"),
]

# the same with an `except` that only logs: the `try` ends the function, so a swallowed
# failure falls off the end and the route gets None
_LOGGING_LOOKUP = """
import logging

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()
log = logging.getLogger(__name__)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def find_token(db: Session, token: str):
    try:
        return db.execute(text("SELECT user_id FROM tokens WHERE token = :t"),
                          {{"t": token}}).scalar()
    except SQLAlchemyError as error:{mark}
        log.error("lookup failed: %s", error)
{after}

@app.post("/refresh")
def refresh(token: str, db: Session = Depends(get_db)):
    user_id = find_token(db, token)
    if not user_id:
        raise HTTPException(status_code=401, detail="invalid token")
    db.execute(text("UPDATE tokens SET used = true WHERE token = :t"), {{"t": token}})
    db.commit()
    return {{"user": user_id}}
"""

VALID += [
    Case(_LOGGING_LOOKUP.format(mark="", after=""),
         note="the `except` only logs and the `try` ends the function: the route gets None "
              "and raises at once"),
]

INVALID += [
    Case(_LOGGING_LOOKUP.format(mark="  # expect: PS103", after="    return {\"retry\": True}\n"),
         note="after the `try`, the function gives back a truthy value: the route goes on "
              "to the UPDATE in the failed transaction"),
]

# A connection opened in a class body (`conn = psycopg2.connect(...)` under `class DB:`)
# is opened once, at import, and shared by every instance: a swallowed failure on it is
# reused by every later call, as on a module-level connection. Also through methods of
# the class that hand out its cursor or commit it (`db.cursor_for()`, `db.save()`).
_CLASS_CONN = """\
import psycopg2

class Database:
    conn = psycopg2.connect("dbname=app")

    def cursor_for(self):
        return self.conn.cursor()

    def save(self):
        self.conn.commit()

    def undo(self):
        self.conn.rollback()
"""

INVALID += [
    Case("""
import psycopg2

class Store:
    conn = psycopg2.connect("dbname=app")

def add_item(name):
    store = Store()
    try:
        cur = store.conn.cursor()
        cur.execute("INSERT INTO items (name) VALUES (%s)", (name,))
        store.conn.commit()
    except psycopg2.Error as exc:  # expect: PS103
        print(exc)
""", note="a class attribute's connection is one per process, shared by every Store()"),
    Case(_CLASS_CONN + """

class OrderRepository:
    def delete(self, order_id):
        db = Database()
        try:
            cur = db.cursor_for()
            cur.execute("DELETE FROM orders WHERE id = %s", (order_id,))
            db.save()
        except Exception as exc:  # expect: PS103
            print(exc)
""", note="the cursor comes from a method of the class that holds the connection"),
]

VALID += [
    Case(_CLASS_CONN + """

def delete(order_id):
    db = Database()
    try:
        cur = db.cursor_for()
        cur.execute("DELETE FROM orders WHERE id = %s", (order_id,))
        db.save()
    except Exception as exc:
        db.undo()
        print(exc)
""", note="the class's own method rolls its connection back"),
    Case("""
import psycopg2

class Database:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=app")

    def cursor_for(self):
        return self.conn.cursor()

def delete(order_id):
    db = Database()
    try:
        cur = db.cursor_for()
        cur.execute("DELETE FROM orders WHERE id = %s", (order_id,))
    except Exception as exc:
        print(exc)
""", note="a connection per instance dies with the local object; nothing reuses it"),
    Case("""
import pymysql

class Store:
    conn = pymysql.connect(host="db", database="app")

def add_item(name):
    store = Store()
    try:
        with store.conn.cursor() as cur:
            cur.execute("INSERT INTO items (name) VALUES (%s)", (name,))
        store.conn.commit()
    except pymysql.MySQLError as exc:
        print(exc)
""", note="MySQL undoes only the failed statement"),
]

# A project exception raised only while handling a database error, with the transaction
# left failed (`except IntegrityError: raise CodeTaken`), is that database error under
# another name: catching it and going on with the session reuses the failed transaction.
# Work a nested function does on the enclosing function's session counts where it is
# called (`async def attempt(): await save(code, session)` ... `await attempt()`).
_TRANSLATED = """
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession


class CodeTaken(Exception):
    pass


async def save_code(code, session: AsyncSession):
    session.add(Code(code=code))
    try:
        await session.commit()
    except IntegrityError:
%s        raise CodeTaken
"""

INVALID += [
    Case(_TRANSLATED % "" + """

async def claim(session: AsyncSession):
    try:
        await save_code("a1", session)
    except CodeTaken:  # expect: PS103
        pass
    await save_code("b2", session)
""", note="the translated error is caught and the session committed again"),
    Case(_TRANSLATED % "" + """

async def claim(session: AsyncSession):
    async def attempt(code):
        await save_code(code, session)
    try:
        await attempt("a1")
    except CodeTaken:  # expect: PS103
        pass
    await attempt("b2")
""", note="a nested function works on the enclosing function's session"),
]

VALID += [
    Case(_TRANSLATED % "        await session.rollback()\n" + """

async def claim(session: AsyncSession):
    try:
        await save_code("a1", session)
    except CodeTaken:
        pass
    await save_code("b2", session)
""", note="the helper rolls back before it raises the translated error"),
    Case(_TRANSLATED % "" + """

class Invalid(Exception):
    pass


async def claim(session: AsyncSession, code):
    try:
        if not code.isalnum():
            raise Invalid(code)
        await save_code(code, session)
    except Invalid:
        pass
    await save_code("b2", session)
""", note="an exception the project raises outside any database handler"),
]

# issue 31, round 13 (large44's largest held-out class): a session whose module names only
# a database that undoes just the failed statement (a MySQL, SingleStore or SQLite storage
# class) and whose `try` only executes statements keeps its transaction usable
VALID += [
    Case("""
import logging

from sqlalchemy import create_engine, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class RunStore:
    def __init__(self, table, db_file):
        self.table = table
        self.engine = create_engine(f"sqlite:///{db_file}")
        self.Session = sessionmaker(bind=self.engine)

    def _fetch(self, session: Session, run_id):
        try:
            return session.execute(
                select(self.table).where(self.table.c.run_id == run_id)).first()
        except Exception as exc:
            log.debug("no runs table yet: %s", exc)
            self.table.create(self.engine, checkfirst=True)
        return None

    def upsert(self, run_id, data):
        with self.Session() as session, session.begin():
            row = self._fetch(session, run_id)
            stmt = sqlite.insert(self.table).values(run_id=run_id, data=data)
            session.execute(stmt.on_conflict_do_update(
                index_elements=["run_id"], set_={"data": data}))
            return row
""", note="SQLite undoes only the failed SELECT; a failed execute() (no flush) leaves the "
          "Session's transaction usable, and the caller goes on with it"),
    Case("""
import logging

from sqlalchemy import text
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def save_memory(session: Session, table, key, value):
    stmt = mysql.insert(table).values(k=key, v=value)
    try:
        session.execute(stmt.on_duplicate_key_update(v=value))
    except Exception:
        log.info("creating %s", table.name)
        session.execute(text(f"CREATE TABLE IF NOT EXISTS {table.name} (k TEXT, v TEXT)"))
        session.execute(stmt.on_duplicate_key_update(v=value))
    session.commit()
""", note="MySQL keeps the transaction after a failed INSERT; the retry runs in it"),
    Case("""
import singlestoredb
from sqlalchemy import create_engine, text

engine = create_engine("singlestoredb://app@db/app", pool_pre_ping=True)


def load(statements):
    with engine.connect() as conn:
        with conn.begin():
            for stmt in statements:
                try:
                    conn.execute(text(stmt))
                except Exception:
                    pass
""", note="SingleStore keeps MySQL's statement-level errors: the block's other statements "
          "still commit"),
]

INVALID += [
    Case("""
import logging

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def save_memory(session: Session, table, key, value):
    stmt = postgresql.insert(table).values(k=key, v=value)
    try:
        session.execute(stmt.on_conflict_do_update(index_elements=["k"], set_={"v": value}))
    except Exception:  # expect: PS103
        log.info("creating %s", table.name)
        session.execute(text(f"CREATE TABLE IF NOT EXISTS {table.name} (k TEXT, v TEXT)"))
        session.execute(stmt.on_conflict_do_update(index_elements=["k"], set_={"v": value}))
    session.commit()
""", note="PostgreSQL aborts the transaction on the failed INSERT: the retry fails too"),
    Case("""
import logging

from sqlalchemy import select
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def remember(session: Session, table, entry):
    session.add(entry)
    try:
        found = session.execute(select(table)).first()
    except Exception:  # expect: PS103
        log.warning("lookup failed")
        found = None
    session.commit()
    return found
""", note="the execute autoflushes the queued entry first: a failed flush leaves the "
          "Session pending rollback whatever the database",
         unfixable="the fix would change behaviour beyond the release: in `remember`: "
                   "`session.rollback()` in the handler also undoes `session.add(entry)`, run "
                   "before the `try` in the same transaction, and the code after it goes on as "
                   "if that were kept"),
]

# round 13: the module's own engine URLs say which database it is, when its imports do not
VALID += [
    Case("""
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class NoteStore:
    def __init__(self, path):
        self.engine = create_engine(f"sqlite:///{path}")
        self.Session = sessionmaker(bind=self.engine)

    def _ensure(self, session: Session):
        try:
            session.execute(text("SELECT 1 FROM notes LIMIT 1"))
        except Exception:
            log.info("creating notes")
            session.execute(text("CREATE TABLE notes (body TEXT)"))

    def add(self, body):
        with self.Session() as session:
            self._ensure(session)
            session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})
            session.commit()
""", note="the module builds its only engine on a SQLite URL: the failed SELECT aborts "
          "nothing, and the caller goes on in the same transaction"),
]
INVALID += [
    Case("""
import logging
import os

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


class NoteStore:
    def __init__(self, path):
        if path:
            self.engine = create_engine(f"sqlite:///{path}")
        else:
            self.engine = create_engine(os.environ["NOTES_DATABASE_URL"], pool_pre_ping=True)
        self.Session = sessionmaker(bind=self.engine)

    def _ensure(self, session: Session):
        try:
            session.execute(text("SELECT 1 FROM notes LIMIT 1"))
        except Exception:  # expect: PS103
            log.info("creating notes")
            session.execute(text("CREATE TABLE notes (body TEXT)"))

    def add(self, body):
        with self.Session() as session:
            self._ensure(session)
            session.execute(text("INSERT INTO notes (body) VALUES (:b)"), {"b": body})
            session.commit()
""", note="one engine's URL comes from the environment (PostgreSQL, perhaps): the module "
          "does not say its database"),
]

# A connection that only a local object holds, acquired by the object's `__init__`
# (`db = Database()`, `self.conn = psycopg2.connect(...)`): the object and its connection
# die when the function returns, so no caller gets the failed transaction back. An object
# that leaves the function (returned, stored, passed on) still hands it back.
_OWN_CONN = """\
import psycopg2

class Ledger:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=app")
        self.cur = self.conn.cursor()

    def close(self):
        self.conn.close()
"""

VALID += [
    Case(_OWN_CONN + """

def record(amount):
    ledger = Ledger()
    try:
        ledger.cur.execute("INSERT INTO entries (amount) VALUES (%s)", (amount,))
        ledger.conn.commit()
    except psycopg2.Error as exc:
        print(exc)
""", note="the local Ledger and the connection its __init__ opened die at return"),
]

INVALID += [
    Case(_OWN_CONN + """

def record(amount):
    ledger = Ledger()
    try:
        ledger.cur.execute("INSERT INTO entries (amount) VALUES (%s)", (amount,))
        ledger.conn.commit()
    except psycopg2.Error as exc:  # expect: PS103
        print(exc)
    return ledger
""", note="the object is returned: the caller gets its connection in the failed "
          "transaction"),
    Case(_OWN_CONN + """

def record(batch, amount):
    ledger = Ledger()
    batch.append(ledger)
    try:
        ledger.cur.execute("INSERT INTO entries (amount) VALUES (%s)", (amount,))
        ledger.conn.commit()
    except psycopg2.Error as exc:  # expect: PS103
        print(exc)
""", note="the object is stored in the caller's list and outlives the call"),
]

# SQLAlchemy's client-side request errors (issue 31, round 15: large45's held-out class)
INVALID += [
    Case("""
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app")

async def save(session: AsyncSession, item, audit):
    try:
        session.add(item)
        await session.flush()
    except InvalidRequestError:  # expect: PS103
        audit.note = "item not saved"
    session.add(audit)
    await session.commit()
""", note="the `try` also queues and flushes objects: a flush that fails, whatever raised it, "
          "leaves the session pending rollback"),
]

VALID += [
    Case("""
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app")

async def reload(session: AsyncSession, obj):
    try:
        await session.refresh(obj)
    except InvalidRequestError:
        pass
    obj.seen = True
    await session.commit()
    return obj
""", note="InvalidRequestError from refresh() of an object not in the session: the client "
          "raised it before sending anything, so no transaction was aborted"),
    Case("""
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

engine = create_async_engine("postgresql+asyncpg://db/app")

async def label(session: AsyncSession, order):
    try:
        await session.refresh(order, ["status"])
        name = order.customer.name
    except MissingGreenlet:
        name = None
    order.label = name or "?"
    await session.execute(select_orders())
    await session.commit()
    return order.label
""", note="MissingGreenlet: a lazy load refused outside the async bridge, before any SQL; "
          "a failed refresh() raises a DBAPI error, which this handler does not catch"),
]

# Issue 31, round 17 (large48): a SQLAlchemy dialect or adapter for a database that undoes
# only the failed statement, known by the dialect class's own `name` or the module's name
# when the module imports no driver (a JDBC bridge, a generic adapter base).
_JDBC_DIALECT = '''
from sqlalchemy import exc, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.default import DefaultDialect


class BridgeDialect(DefaultDialect):
    name = "{name}"

    def has_table(self, connection: Connection, table: str) -> bool:
        try:
            connection.execute(text(f"SELECT 1 FROM {{table}} WHERE 1 = 0"))
            return True
        except exc.DBAPIError:{mark}
            return False
'''

_NAMED_ADAPTER = '''
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection


class Adapter:
    async def table_sizes(self, conn: AsyncConnection, tables: list[str]) -> dict[str, int]:
        sizes = {{}}
        for table in tables:
            try:
                result = await conn.execute(text(f"SELECT COUNT(*) FROM {{table}}"))
                sizes[table] = result.scalar()
            except SQLAlchemyError:{mark}
                sizes[table] = -1
        return sizes
'''

VALID += [
    Case(_JDBC_DIALECT.format(name="db2", mark=""),
         note="a dialect class named for DB2 (over a JDBC bridge, so no driver is imported): "
              "DB2 undoes only the failed statement and the reflection's transaction goes on"),
    Case(_NAMED_ADAPTER.format(mark=""), path="adapters/clickhouse.py",
         note="the module's name says its database (ClickHouse runs no transaction to abort) "
              "and it imports no driver that says otherwise"),
]

INVALID += [
    Case(_JDBC_DIALECT.format(name="postgresql", mark="  # expect: PS103"),
         note="the same dialect named for PostgreSQL: the failed probe aborts the transaction"),
    Case(_NAMED_ADAPTER.format(mark="  # expect: PS103"), path="adapters/postgres.py",
         note="the same adapter in a PostgreSQL module: every later count fails in the "
              "aborted transaction"),
]

# Issue 31, round 17 (large48, held out: framework-m's naming service): the dialect test
# read through a local that holds the dialect's name, as one operand of an `and`.
_LOCAL_DIALECT = '''
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def next_value(session: AsyncSession, sequence: str, native: bool) -> int:
    bind = session.bind
    dialect_name = bind.dialect.name if bind is not None else None
    if dialect_name in ({names}) and native:
        try:
            return (await session.execute(text(f"SELECT NEXT VALUE FOR {{sequence}}"))).scalar()
        except Exception:{mark}
            pass
    return (await session.execute(text("SELECT MAX(n) + 1 FROM counters"))).scalar()
'''

VALID += [
    Case(_LOCAL_DIALECT.format(names='"oracle", "mssql", "mysql"', mark=""),
         note="the `try` runs only where the dialect's name (kept in a local, tested with "
              "`and`) is a database that undoes just the failed statement"),
]

INVALID += [
    Case(_LOCAL_DIALECT.format(names='"mssql", "postgresql"', mark="  # expect: PS103"),
         note="the same branch also runs on PostgreSQL: the failed statement aborts the "
              "transaction the fallback query then runs in"),
]

# Issue 31, round 17 (large48, tuning half: dbwarden's lock breaker): the code's own test of
# its database through a variable named for it (`db_type == "clickhouse"`).
_DB_TYPE_BRANCH = '''
import logging

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def break_lock(engine: Engine, db_type: str, namespace: str) -> None:
    with engine.connect() as conn:
        if db_type == "{first}":
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM holders"))
        elif db_type == "{second}":
            try:
                conn.execute(text("ALTER TABLE locks UPDATE token = token + 1"))
            except Exception as exc:{mark}
                log.warning("could not advance the token: %s", exc)
        conn.execute(text("DELETE FROM locks WHERE ns = :ns"), {{"ns": namespace}})
        conn.commit()
'''

VALID += [
    Case(_DB_TYPE_BRANCH.format(first="postgresql", second="clickhouse", mark=""),
         note="the `try` runs only in the ClickHouse branch of the code's own test of its "
              "database (a variable named for it): ClickHouse runs no transaction to abort"),
]

INVALID += [
    Case(_DB_TYPE_BRANCH.format(first="clickhouse", second="postgresql",
                                mark="  # expect: PS103"),
         note="the same handler in the PostgreSQL branch: the DELETE runs in the aborted "
              "transaction"),
]

# Issue 31, round 17 (large48; large46's held-out class): a rollback spelt through getattr.
_GETATTR_ROLLBACK = '''
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=app")


def record_attempt(user_id):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("INSERT INTO attempts (user_id) VALUES (%s)", (user_id,))
        except psycopg2.IntegrityError:{mark}
            getattr({target})()
        cur.execute("UPDATE users SET tries = tries + 1 WHERE id = %s", (user_id,))
        conn.commit()
    finally:
        pool.putconn(conn)
'''

VALID += [
    Case(_GETATTR_ROLLBACK.format(target='conn, "rollback"', mark=""),
         note="`getattr(conn, \"rollback\")()` is a rollback: the UPDATE runs in a new "
              "transaction"),
]

INVALID += [
    Case(_GETATTR_ROLLBACK.format(target='cur, "close"', mark="  # expect: PS103"),
         note="closing the cursor through getattr ends nothing: the UPDATE runs in the "
              "aborted transaction"),
]

# Issue 31, round 18 (small49): a handler that ends in a project helper which raises on
# every path (`raise_api_error(e, "...")`: a chain of `if isinstance(...): raise ...` and a
# last `raise`) swallows nothing, as `sys.exit(...)` does not.
_RAISING_HELPER = '''
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)


class NotFound(Exception):
    pass


class ServerFault(Exception):
    pass


def raise_api_error(exc, msg):
    if isinstance(exc, NotFound):
        raise NotFound(msg)
{tail}


async def rename_account(db: AsyncSession, accounts, account_id, name):
    try:
        account = (await db.execute(select(accounts).where(accounts.c.id == account_id))).one()
    except SQLAlchemyError as exc:{mark}
        raise_api_error(exc, "cannot read the account")
    await db.execute(accounts.update().where(accounts.c.id == account.id).values(name=name))
    await db.commit()
'''

VALID += [
    Case(_RAISING_HELPER.format(tail="    raise ServerFault(msg)", mark=""),
         note="the project helper ends in `raise` and has no `return`: every path through it "
              "raises, so the UPDATE never runs after the swallowed error"),
]

INVALID += [
    Case(_RAISING_HELPER.format(tail="    print(msg)", mark="  # expect: PS103"),
         note="the helper raises only for NotFound and otherwise returns: the UPDATE runs in "
              "the aborted transaction"),
    Case(_RAISING_HELPER.format(
        tail="    if msg is None:\n        return\n    raise ServerFault(msg)",
        mark="  # expect: PS103"),
         note="a `return` on one path: the helper can give control back to the handler"),
]

# Issue 31, item 7, the Flask-SQLAlchemy form (small48's tune class; small49): a model mixin's
# method that swallows a failed commit on the extension's `db.session` and gives back False,
# called only by Flask request handlers that test the result at once and leave; the
# extension removes the session at the end of the request.
_FLASK_MIXIN = '''
from flask import Flask, request
from flask_restful import Api, Resource
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import SQLAlchemyError

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"pool_pre_ping": True}}
db = SQLAlchemy(app)
api = Api(app)


class Persisted:
    def discard(self):
        try:
            db.session.delete(self)
            db.session.commit()
            return True
        except SQLAlchemyError:{mark}
            return False


class Channel(db.Model, Persisted):
    id = db.Column(db.Integer, primary_key=True)


class Audit(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    note = db.Column(db.String(200))


class ChannelResource(Resource):
    def delete(self, channel_id):
        channel = Channel.query.get_or_404(channel_id)
        if not channel.discard():
            return {{"error": "cannot delete"}}, 500
        return "", 204


@app.post("/channels/<int:channel_id>/archive")
def archive(channel_id):
    channel = Channel.query.get_or_404(channel_id)
    removed = channel.discard()
{tail}


api.add_resource(ChannelResource, "/channels/<int:channel_id>")
'''

VALID += [
    Case(_FLASK_MIXIN.format(
        mark="",
        tail='    if not removed:\n        return {"error": "cannot archive"}, 500\n'
             '    return "", 204'),
         note="both callers are request handlers that test the result at once and return; "
              "Flask-SQLAlchemy removes db.session when the request ends"),
]

INVALID += [
    Case(_FLASK_MIXIN.format(
        mark="  # expect: PS103",
        tail='    db.session.add(Audit(note=f"archive {channel_id}: {removed}"))\n'
             '    db.session.commit()\n    return "", 204'),
         note="the route writes an audit row on the same session after a failed discard(): "
              "the INSERT runs in the failed transaction"),
]

# psycopg 3's `set_autocommit(True)` (awaited on an async connection) puts a pooled
# connection in autocommit: each statement commits or fails on its own
_SET_AUTOCOMMIT = '''
from psycopg import errors
from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool("dbname=archive", open=False)


async def store_pages(pages):
    async with pool.connection() as conn:
        await conn.set_autocommit({flag})
        for page in pages:
            try:
                await conn.execute("INSERT INTO pages (url) VALUES (%s)", (page,))
            except errors.UniqueViolation:{mark}
                pass
'''

VALID += [
    Case(_SET_AUTOCOMMIT.format(flag="True", mark=""),
         note="a pooled psycopg 3 connection switched to autocommit: a failed INSERT "
              "aborts nothing the loop goes on with"),
]

INVALID += [
    Case(_SET_AUTOCOMMIT.format(flag="False", mark="  # expect: PS103"),
         note="set_autocommit(False) keeps the transaction: the next INSERT runs in the "
              "aborted one"),
]

# fix50: the driver raises its own error class without the server aborting anything (a
# fetch after a statement that returns no rows, `.one()` finding no row), the handler
# falls through and a commit after the `try` stores what the transaction did before the
# error; a rollback in the handler would discard it, so the fix is unsafe (offered only
# with --unsafe-fixes). A handler of server errors only, one that re-raises, or no later
# commit keeps the fix safe (tests/fix/test_fix_client_errors.py).
INVALID += [
    Case(_PG_POOL + """
def add(name):
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        try:
            cur.execute("INSERT INTO t (name) VALUES (%s)", (name,))
            new_id = cur.fetchone()
        except Exception as e:  # expect: PS103
            print("insert failed", e)
            new_id = None
        conn.commit()
        return new_id
    finally:
        pool.putconn(conn)
""", note="a server error aborts the transaction; the fix is unsafe: fetchone's own "
          "'no results to fetch' leaves the INSERT that the commit stores"),
    Case(_SESSION + """
def tag(item, owner_name):
    db = SessionLocal()
    try:
        try:
            db.add(item)
            db.flush()
            owner = db.query(Owner).filter_by(name=owner_name).one()
        except SQLAlchemyError:  # expect: PS103
            owner = None
        db.commit()
        return owner
    finally:
        db.close()
""", note="a failed flush needs a rollback; the fix is unsafe: one()'s NoResultFound "
          "leaves the flushed item that the commit stores"),
]

# fix50: a bare `except:` gets `as <name>` for the guard; the name must be one the
# function neither binds nor reads, or it shadows the project's `exc` module (the
# handler's `exc.report(...)` would call the exception object)
INVALID += [
    Case(_PG_POOL + """
import exc

def archive(order_id):
    conn = pool.getconn()
    try:
        orders = conn.cursor()
        try:
            orders.execute("DELETE FROM cart WHERE order_id = %s", (order_id,))
        except:  # expect: PS103
            exc.report("update failed")
        orders.execute("UPDATE orders SET archived = true WHERE id = %s", (order_id,))
        conn.commit()
    finally:
        pool.putconn(conn)
""", files={"exc.py": "def report(message):\n    print('error:', message)\n"},
         note="a bare except; the fix names the exception `db_error`, not `exc`"),
]

# large50 (issue 31; large49's tuning list: psycopg2's client-side fetchall()): a plain
# cursor's fetchall() reads the rows execute() brought over; its ProgrammingError ("no
# results to fetch", after DDL) is raised by the driver, no statement failed on the
# server, and the transaction goes on. A named (server-side) cursor fetches from the
# server: a failure there aborts the transaction.
_FETCH_AFTER_EXECUTE = '''
import psycopg


def run(connection: psycopg.Connection, statement):
    cursor = connection.cursor({args})
    cursor.execute(statement)
    try:
        rows = cursor.fetchall(){mark}
    except psycopg.ProgrammingError:
        rows = None
    cursor.execute("INSERT INTO audit (statement) VALUES (%s)", (str(statement),))
    connection.commit()
    return rows
'''

VALID += [
    Case(_FETCH_AFTER_EXECUTE.format(args="", mark=""),
         note="fetchall() on a client-side cursor sends nothing: its error is the driver's "
              "own, and the transaction is not aborted"),
]

INVALID += [
    Case(_FETCH_AFTER_EXECUTE.format(args='name="rows"', mark="")
         .replace("    except psycopg.ProgrammingError:",
                  "    except psycopg.ProgrammingError:  # expect: PS103"),
         note="a named (server-side) cursor's fetchall() runs FETCH on the server: a "
              "failure aborts the transaction the INSERT then runs in",
         unfixable=("the fix would change behaviour beyond the release: in `run`: "
                    "`connection.rollback()` in the handler also undoes "
                    "`cursor.execute(statement)`, run before the `try` in the same "
                    "transaction, and the code after it goes on as if that were kept")),
]

# large50 (issue 31; tune: llama-index-vector-stores-volcengine-mysql): a module whose own
# name names no database (`base.py`) says it by its package's name.
VALID += [
    Case(_NAMED_ADAPTER.format(mark=""), path="stores/volcengine_mysql/base.py",
         note="the package's name says its database (MySQL undoes only the failed statement) "
              "and the module imports no driver that says otherwise"),
]

INVALID += [
    Case(_NAMED_ADAPTER.format(mark="  # expect: PS103"), path="stores/postgres_vectors/base.py",
         note="the same module in a package named for PostgreSQL: every later count fails in "
              "the aborted transaction"),
]

# large51 (issue 31; built from large50's held-out observations, now tuning:
# sqlalchemy-seedling, toms-fast, datakraken).
# A handler that hands the session to an error hook and then re-raises swallows nothing.
_HOOK = '''
from sqlalchemy.orm import Session


class Step:
    def apply(self, session: Session):
        session.execute("INSERT INTO seeds (name) VALUES ('x')")

    def failed(self, session: Session, error: Exception):
        print("step failed:", type(error).__name__)


def run_steps(session: Session, steps: list[Step]):
    for step in steps:
        try:
            step.apply(session)
        except Exception as e:{mark}
            step.failed(session, e)
            {end}
    session.commit()
'''

VALID += [
    Case(_HOOK.format(mark="", end="raise"),
         note="the hook gets the session with the error, which then goes on up: the "
              "commit is never reached on that path"),
]

INVALID += [
    Case(_HOOK.format(mark="  # expect: PS103", end="continue"),
         note="the same hook, but the loop goes on: the next step and the commit run in "
              "the aborted transaction",
         unfixable=("inside a loop, a rollback would discard the work of earlier "
                    "iterations, and `session` belongs to the caller, who may commit them; "
                    "no savepoint fits (the `try` body passes `session` to a call that may "
                    "commit): use one per iteration by hand")),
]

# A context variable that holds the task's session is not the session: closing the
# session in a `finally`, with its own `try` that logs a failed close, swallows nothing.
_CONTEXT_SESSION = '''
import logging
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)


class Database:
    {annotation}

    def __init__(self, url):
        self.maker = async_sessionmaker(create_async_engine(url, pool_pre_ping=True))

    async def finish(self, session, token):
        {finish}
        await session.close()


db = Database("postgresql+asyncpg://app@db/app")


async def run_task(job):
    session = db.maker()
    token = {token}
    try:
        return await job(session)
    finally:
        try:
            await db.finish(session, token)
        except Exception:{mark}
            log.exception("could not close the task's session")
'''

VALID += [
    Case(_CONTEXT_SESSION.format(
        annotation='ctx: ContextVar[AsyncSession | None] = ContextVar("session", default=None)',
        finish="self.ctx.reset(token)", token="db.ctx.set(session)", mark=""),
        note="`ctx` is a context variable: its reset() does no database work, and the only "
             "work in the try is the session's own close"),
]

INVALID += [
    Case(_CONTEXT_SESSION.format(
        annotation="current: AsyncSession | None = None",
        finish='await self.current.execute("SELECT pg_advisory_unlock_all()")', token="None",
        mark="  # expect: PS103"),
        note="`current` is the shared session itself: a failed unlock leaves it in the "
             "aborted transaction for the next task"),
]

# A handler of everything that goes on only for a non-database error (pandas' "table
# already exists" ValueError, raised before any statement) and re-raises every other.
_TABLE_EXISTS = '''
import psycopg2


class Uploader:
    def __init__(self, dsn, frame, table):
        self.connection = psycopg2.connect(dsn)
        self.frame = frame
        self.table = table

    def upload(self):
        try:
            self.frame.to_sql(self.table, self.connection, if_exists="fail")
            self.connection.commit()
        except Exception as error:{mark}
{handler}
'''

def _handler(*lines: str) -> str:
    return "\n".join(" " * 12 + line for line in lines)


VALID += [
    Case(_TABLE_EXISTS.format(mark="", handler=_handler(
        'if isinstance(error, ValueError) and "already exists" in str(error):',
        '    self.frame.to_sql(self.table, self.connection, if_exists="append")',
        "    self.connection.commit()",
        "else:",
        "    self.connection.close()",
        "    raise")),
         note="the work goes on only where the error is a ValueError, which no driver raises "
              "for a failed statement; every other error closes and re-raises"),
    Case(_TABLE_EXISTS.format(mark="", handler=_handler(
        "if not isinstance(error, (ValueError, KeyError)):",
        "    raise",
        'self.frame.to_sql(self.table, self.connection, if_exists="append")',
        "self.connection.commit()")),
         note="every error but a ValueError or KeyError is re-raised at once"),
]

INVALID += [
    Case(_TABLE_EXISTS.format(mark="  # expect: PS103", handler=_handler(
        "if isinstance(error, (ValueError, psycopg2.DataError)):",
        '    self.frame.to_sql(self.table, self.connection, if_exists="append")',
        "    self.connection.commit()",
        "else:",
        "    self.connection.close()",
        "    raise")),
         note="a DataError is a failed statement: the append runs in the aborted "
              "transaction"),
]

# `id(session)` in the handler's log message reads the object, not its connection: no
# work in the failed transaction before the rollback (breadth51b, tuned on held:
# granular_certificate_registry's write_to_database).
_LOGGED = _SESSION + """
import logging

log = logging.getLogger(__name__)


def save(db: Session, items):
    try:
        db.add_all(items)
        db.flush()
"""

VALID += [
    Case(_LOGGED + """\
    except SQLAlchemyError as e:
        log.error("save failed: %s (session %s, %s)", e, id(db), type(db).__name__)
        db.rollback()
        return None
    db.commit()
    return items
""", note="id()/type() of the session in the log message: not a use; rolled back"),
]

INVALID += [
    Case(_LOGGED + """\
    except SQLAlchemyError as e:  # expect: PS103
        log.error("save failed: %s (session %s)", e, id(db))
    db.commit()
    return items
""", note="look-alike: the log reads id(db) only, but the commit after the handler "
          "runs in the failed transaction"),
]

# fix51: Flask-SQLAlchemy's `db.session` used only inside `with app.app_context():` in the
# `try`: the handler runs after that block, where leaving the context has removed the
# session and `db.session` itself raises (Flask-SQLAlchemy 3, outside any app context).
# No rollback is offered there (tests/fix/test_fix_fix51.py); a handler inside the block
# rolls back as usual.
_APP_CONTEXT = '''\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://localhost/app"
db = SQLAlchemy(app)


def seed(rows):
{body}
'''

VALID += [
    Case(_APP_CONTEXT.format(body='''\
    with app.app_context():
        try:
            for row in rows:
                db.session.add(row)
            db.session.commit()
        except Exception as e:
            db.session.rollback()
            print("seed failed", e)'''),
         note="the handler runs inside the app context and rolls back"),
]

INVALID += [
    Case(_APP_CONTEXT.format(body='''\
    try:
        with app.app_context():
            for row in rows:
                db.session.add(row)
            db.session.commit()
        print("seeded")
    except Exception as e:  # expect: PS103
        print("seed failed", e)'''),
         note="the handler runs after the app context has gone: no rollback fits there",
         unfixable=("`db.session` is used only inside `with ...app_context():` in the "
                    "`try`, and the handler runs after that block: leaving the app context "
                    "already removed the session (rolled back), and outside it `db.session` "
                    "raises RuntimeError (Flask-SQLAlchemy 3): no rollback is needed there; "
                    "roll back inside the `with` block, by hand, if the error is handled "
                    "there")),
]

# fix51: a module's psycopg2 connection that other functions commit later; the `try` calls
# fetchone() with no commit before it. "no results to fetch" is raised on the client and
# aborts nothing: the INSERT stays in the open transaction for the later commit, which the
# rollback would discard. The fix is unsafe (tests/fix/test_fix_fix51.py); with a commit
# before the fetch it stays safe.
_MODULE_CONN = '''\
import psycopg2

conn = psycopg2.connect("dbname=app")


def add_user(name):
    cur = conn.cursor()
    try:
        cur.execute("INSERT INTO users (name) VALUES (%s)", (name,)){commit}
        row = cur.fetchone()
    except Exception as e:{mark}
        print("add_user failed", e)
        row = None
    return row


def save():
    conn.commit()
'''

VALID += [
    Case(_MODULE_CONN.format(commit="", mark="").replace(
        '        print("add_user failed", e)\n',
        '        conn.rollback()\n        print("add_user failed", e)\n'),
         note="the handler rolls the module's connection back itself"),
]

INVALID += [
    Case(_MODULE_CONN.format(commit="", mark="  # expect: PS103"),
         note="a server error aborts the shared transaction; the fix is unsafe: fetchone's "
              "own 'no results to fetch' leaves the INSERT that save() commits"),
    Case(_MODULE_CONN.format(commit="\n        conn.commit()", mark="  # expect: PS103"),
         note="committed before the fetch: nothing is pending when fetchone raises, so the "
              "fix stays safe"),
]

# fix51 (tune: CRI-lab/uid-tool): a fetch after a literal SELECT (or `... RETURNING`) always
# has a result set, so it raises nothing on the client: the shared-connection exemption
# holds and the fix stays safe.
INVALID += [
    Case(_MODULE_CONN.format(commit="", mark="  # expect: PS103").replace(
        '"INSERT INTO users (name) VALUES (%s)"',
        '"INSERT INTO users (name) VALUES (%s) RETURNING id"'),
         note="the INSERT returns its id: fetchone() has a result set, the fix stays safe"),
]

# The lead, round 24 (large54's held SurfSense routes; Python's semantics, not a tuning): an
# error raised as `raise Name(...)` is caught by the first handler of a `try` that names the
# class, so a later `except ValueError` / `except Exception` of that `try` never sees it.
_RAISED_AS = """\
import logging
from fastapi import HTTPException
from sqlalchemy import text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def mark_expired(db: Session, item):
    try:
        try:
            db.execute(text("UPDATE t SET expired = true WHERE id = :i"), {"i": item})
            db.commit()
        except Exception:%(mark)s
            log.warning("could not mark %%s", item)
            raise %(raised)s
        row = item
%(first)s    except ValueError:
        row = None
    db.execute(text("INSERT INTO audit (item) VALUES (:i)"), {"i": item})
    db.commit()
    return row
"""
_RERAISE = "    except HTTPException:\n        raise\n"

VALID += [
    Case(_RAISED_AS % {"mark": "", "raised": "HTTPException(status_code=400)",
                       "first": _RERAISE},
         note="the HTTPException leaves through `except HTTPException: raise`; the "
              "`except ValueError` that goes on to the INSERT never sees it"),
]

INVALID += [
    Case(_RAISED_AS % {"mark": "  # expect: PS103", "raised": "HTTPException(status_code=400)",
                       "first": "    except HTTPException:\n        log.info('gone')\n"},
         note="the handler that names HTTPException swallows it: on to the INSERT"),
    Case(_RAISED_AS % {"mark": "  # expect: PS103", "raised": "ValueError('no')",
                       "first": _RERAISE},
         note="a ValueError passes the handler that names HTTPException and reaches the "
              "one that goes on to the INSERT"),
]

# large56 (issue 31, round 24): a session handed back after a swallowed failure to callers
# that end it at once, up to three frames up. The decorator form: a project decorator
# (`managed_tx_function`-style) that passes its session positionally, `f(session, *args)`,
# from `with session_factory() as session:` on a factory given as a parameter's default.
_TX_DECORATOR = '''\
from functools import wraps
from typing import Callable

from sqlalchemy import create_engine
from sqlalchemy.exc import PendingRollbackError
from sqlalchemy.orm import Session

engine = create_engine("postgresql://localhost/app")


def default_session_factory() -> Session:
    return Session(engine)


def managed_tx(session_factory: Callable[..., Session] = default_session_factory):
    def decorator(f):
        @wraps(f)
        def wrapped(*args, **kwargs):
            with session_factory() as session:
                try:
                    result = f(session, *args, **kwargs)
                    session.commit()
                except PendingRollbackError:
                    session.rollback()
                    result = None
            return result
        return wrapped
    return decorator


@managed_tx()
def update_stats(session: Session, frame: str) -> None:
    try:
        session.execute("UPDATE stats SET n = n + 1 WHERE frame = :f", {{"f": frame}})
    except Exception:{mark}
        print("update failed"){after}
'''

VALID += [
    Case(_TX_DECORATOR.format(mark="", after=""),
         note="the decorator passes its session positionally and ends it (commit, rollback "
              "on PendingRollbackError, close) right after the call"),
]

INVALID += [
    Case(_TX_DECORATOR.format(
        mark="  # expect: PS103",
        after='\n    session.execute("UPDATE runs SET n = n + 1")'),
         note="the decorator's session used again in the function after the swallowed error"),
    Case(_TX_DECORATOR.format(mark="  # expect: PS103", after="").replace(
        "f(session, *args, **kwargs)", "f(*args, **kwargs)").replace(
        "def update_stats(session: Session, frame: str)",
        "def update_stats(frame: str, session: Session = Session(engine))"),
         note="the decorator passes no session: the function's default one outlives it"),
]

# Two and three frames up: the session passes through helpers that use it no more after the
# call, to a route whose dependency ends it, or to an `async with` block of a project
# context manager whose last use of it is the call.
_CALLERS_END = '''\
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://localhost/app")
SessionLocal = async_sessionmaker(engine)
app = FastAPI()


async def get_db():
    async with SessionLocal() as session:
        yield session


@asynccontextmanager
async def get_db_context():
    async with SessionLocal() as session:
        yield session{cm_commit}


async def save_cursor(db: AsyncSession, sync_id: int, value: str) -> None:
    try:
        await db.execute("UPDATE cursors SET value = :v WHERE id = :i",
                         {{"v": value, "i": sync_id}})
        await db.commit()
    except SQLAlchemyError:{mark1}
        print("cursor not saved")


async def finish_sync(db: AsyncSession, sync_id: int) -> dict:
{finish_body}
    return {{"id": sync_id}}


@app.post("/syncs/{{sync_id}}/finish")
async def finish(sync_id: int, db: AsyncSession = Depends(get_db)):
    result = await finish_sync(db, sync_id){route_after}
    print("finished", sync_id)
    return result


async def record_search(db: AsyncSession, query: str) -> None:
    try:
        await db.execute("INSERT INTO searches (q) VALUES (:q)", {{"q": query}})
        await db.commit()
    except SQLAlchemyError:{mark2}
        print("search not recorded")


async def search_job(query: str) -> None:
    async with get_db_context() as db:
        rows = await db.execute("SELECT 1")
        await record_search(db, query){block_after}
    print("done", rows)
'''

_CALL_ONCE = '    await save_cursor(db, sync_id, "done")'


def _callers_end(mark1: str = "", mark2: str = "", cm_commit: str = "",
                 finish_body: str = _CALL_ONCE, route_after: str = "",
                 block_after: str = "") -> str:
    return _CALLERS_END.format(mark1=mark1, mark2=mark2, cm_commit=cm_commit,
                               finish_body=finish_body, route_after=route_after,
                               block_after=block_after)


_PS103 = "  # expect: PS103"

VALID += [
    Case(_callers_end(),
         note="two frames up the route's dependency ends the session, and nothing between "
              "uses it after the call; the project context manager's block uses it last in "
              "the call"),
]

INVALID += [
    Case(_callers_end(mark1=_PS103, route_after="\n    await db.commit()"),
         note="the route commits on the session two frames up after the swallowed error"),
    Case(_callers_end(mark1=_PS103, finish_body=_CALL_ONCE
                      + "\n    await db.execute(\"SELECT 2\")"),
         note="the helper between queries the session after the call"),
    Case(_callers_end(mark1=_PS103, finish_body=(
        '    for step in ("fetch", "done"):\n'
        '        await save_cursor(db, sync_id, step)')),
         note="a loop hands the same session to the next call after a swallowed failure"),
    Case(_callers_end(mark2=_PS103, block_after="\n        await db.execute(\"SELECT 2\")"),
         note="the block goes on with the session after the call"),
    Case(_callers_end(mark2=_PS103, cm_commit="\n        await session.commit()"),
         note="the context manager commits on exit, and the block read before the call: "
              "its work meets the failed transaction"),
    Case(_callers_end(mark1=_PS103) + '''

async def nightly(db: AsyncSession) -> None:
    await save_cursor(db, 1, "x")
    await db.commit()
''',
         note="one more caller of the function commits on the session after it"),
]

INVALID += [
    Case(_callers_end(mark1=_PS103) + '''

ON_FINISH = [save_cursor]
''',
         note="the function is also kept as a value (a callback table): a caller the call "
              "sites do not show may go on with the session"),
]

# large56 (tune: a SQLite RBAC store): a helper that tries a query on the current schema and,
# on OperationalError (an older database without the new columns), builds the older query on
# the same session. On SQLite a failed SELECT undoes nothing else, and a failed statement
# (not a flush) leaves no session pending rollback: `query(...)` and `get(...)` read like
# `execute(...)`.
_SQLITE_QUERY = '''\
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, declarative_base

_engine = create_engine("{url}")
Base = declarative_base()


class Rule(Base):
    __tablename__ = "rules"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    body = Column(String)


def rules_query(session: Session, fresh):
    try:{queue}
        session.query(Rule).first()
        return session.query(Rule)
    except OperationalError:{mark}
        return session.query(Rule).with_entities(Rule.id, Rule.name)
'''

VALID += [
    Case(_SQLITE_QUERY.format(url="sqlite:///rbac.db", queue="", mark=""),
         note="SQLite: the failed SELECT undoes only itself, and the older query runs on a "
              "usable session"),
]

INVALID += [
    Case(_SQLITE_QUERY.format(url="postgresql://localhost/rbac", queue="",
                              mark="  # expect: PS103"),
         note="PostgreSQL: the failed SELECT aborts the transaction the older query runs in"),
    Case(_SQLITE_QUERY.format(url="sqlite:///rbac.db", queue="\n        session.add(fresh)",
                              mark="  # expect: PS103"),
         note="the query autoflushes a queued object: a failed flush leaves the session "
              "pending rollback on any database"),
]

# The lead, round 24 (large56's held SQLBot; FastAPI's documented idiom, not a tuning): the
# route's session comes from `Annotated[Session, Depends(get_db)]` through a module alias
# (`SessionDep`), as it would from `db: Session = Depends(get_db)`.
_ANNOTATED_CLAIMS = """\
import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def release_slot(db: Session, slot: int) -> bool:
    try:
        db.execute(text("DELETE FROM claims WHERE slot = :s"), {"s": slot})
    except SQLAlchemyError:%s
        log.exception("could not release %%s", slot)
        return False
    return True
"""
_ANNOTATED_DEPS = """\
from typing import Annotated

from fastapi import Depends
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


SessionDep = Annotated[Session, Depends(get_db)]
"""
_ANNOTATED_ROUTE = """\
from fastapi import APIRouter
from sqlalchemy import text

from case import release_slot
from deps import SessionDep

router = APIRouter()


@router.delete("/claims/{slot}")
def unclaim(slot: int, db: SessionDep):
    done = release_slot(db, slot)%s
    return {"ok": done}
"""

VALID += [
    Case(_ANNOTATED_CLAIMS % "", files={"deps.py": _ANNOTATED_DEPS,
                                        "routes.py": _ANNOTATED_ROUTE % ""},
         note="the route's dependency ends the session right after the helper returns"),
]

INVALID += [
    Case(_ANNOTATED_CLAIMS % "  # expect: PS103", files={
        "deps.py": _ANNOTATED_DEPS,
        "routes.py": _ANNOTATED_ROUTE % '\n    db.execute(text("UPDATE stats SET n = n + 1"))'},
         note="the route goes on with the session after the swallowed failure"),
]

# The lead, round 24 (found reading fix56's held hunks at the merged main: a true PS103 the
# callers-end-the-session exemption lost): FastAPI caches a dependency per request, so a
# service class built with `Depends(get_db)` holds the route's very session.
_SHARED_DEP = """\
import logging

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from deps import get_db

log = logging.getLogger(__name__)
router = APIRouter()


def email_taken(email: str, db: Session) -> bool:
    try:
        return bool(db.execute(text("SELECT 1 FROM users WHERE email = :e"),
                               {"e": email}).scalar())
    except SQLAlchemyError:  # expect: PS103
        log.exception("lookup failed")
        return False


class Users:
    def __init__(self, db: Session = Depends(get_db)):
        self.db = db

    def create(self, email: str) -> None:
        self.db.execute(text("INSERT INTO users (email) VALUES (:e)"), {"e": email})
        self.db.commit()


@router.post("/users")
def create_user(email: str, service: Users = Depends(), db: Session = Depends(get_db)):
    if email_taken(email, db):
        return {"ok": False}
    service.create(email)
    return {"ok": True}
"""
#: the same deps module as the Annotated cases above (its `SessionDep` alias unused here)
_SHARED_DEP_DEPS = _ANNOTATED_DEPS

INVALID += [
    Case(_SHARED_DEP, files={"deps.py": _SHARED_DEP_DEPS},
         note="the service's `Depends(get_db)` is the route's session (one per request): "
              "its INSERT runs in the transaction the lookup's failure aborted"),
]
VALID += [
    Case(_SHARED_DEP.replace("  # expect: PS103", "").replace(
        "    service.create(email)\n", ""),
         files={"deps.py": _SHARED_DEP_DEPS},
         note="nothing uses a dependency after the lookup: the request ends the session"),
]

# The lead, round 24 (eval57's tune half: keylime's two findings): a scoped_session's
# configure(bind=...) sets the factory's options and sends no statement.
_CONFIGURE = """\
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker

log = logging.getLogger(__name__)
Session = scoped_session(sessionmaker())


class Store:
    def __init__(self, url):
        self.engine = create_engine(url, pool_pre_ping=True)

    def session(self):
        try:
            Session.configure(bind=self.engine, expire_on_commit=False)%s
        except SQLAlchemyError as e:%s
            log.error("could not configure the session: %%s", e)
        return Session()
"""

VALID += [
    Case(_CONFIGURE % ("", ""), note="configure() runs no statement: nothing can abort"),
]

INVALID += [
    Case(_CONFIGURE % ('\n            Session.execute(text("SELECT 1"))', "  # expect: PS103"),
         note="a probe query after the configure can fail and abort the transaction the "
              "caller gets back"),
]

# The lead, round 25 (eval57's tune half: flexmeasures' two findings; Flask-Classful is a
# documented library): every public method of a Flask-Classful `FlaskView` is a route, and
# Flask-SQLAlchemy removes `db.session` when the request ends.
_CLASSFUL_DB = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
db = SQLAlchemy(app)


class AuditLog(db.Model):
    id = db.Column(db.Integer, primary_key=True)
"""

_CLASSFUL_VIEW = """\
from flask_classful import FlaskView, route
from sqlalchemy.exc import IntegrityError

from models import AuditLog, db


class UserAPI(FlaskView):
    route_base = "/users"

    @route("/<id>", methods=["PATCH"])
    def patch(self, id):
        db.session.add(AuditLog())
        try:
            db.session.commit()
        except IntegrityError:%s
"""

_HEALTH_PROBE = """\
from flask import current_app
from flask_classful import FlaskView, route
from sqlalchemy import text

from models import AuditLog, db


def _check_database():
    try:
        db.session.execute(text("SELECT 1")).first()
        return True
    except Exception:%s
        current_app.logger.exception("database down")
        return False


def _check_cache():
    return current_app.config.get("CACHE_URL") is not None
"""

_HEALTH_VIEW = _HEALTH_PROBE + """

class HealthAPI(FlaskView):
    route_base = "/health"

    @route("/ready")
    def ready(self):
        status = {"database": _check_database()}
        status["cache"] = _check_cache()%s
        if all(status.values()):
            return status, 200
        return status, 503
"""

_HEALTH_BLUEPRINT = _HEALTH_PROBE + """
from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.route("/ready")
def ready():
    status = {"database": _check_database(), "cache": _check_cache()}
    return status, 200 if all(status.values()) else 503
"""

VALID += [
    Case(_CLASSFUL_VIEW % '\n            return {"message": "duplicate"}, 400\n'
         '        return {}, 200', files={"models.py": _CLASSFUL_DB},
         note="a Flask-Classful route that answers 400 right after the failed commit: "
              "the request's teardown removes the session"),
    Case(_HEALTH_VIEW % ("", ""), files={"models.py": _CLASSFUL_DB},
         note="a readiness probe whose failed SELECT 1 gives False to a route that does "
              "no database work after it (a dict, a config read) and answers"),
    Case(_HEALTH_BLUEPRINT % "", files={"models.py": _CLASSFUL_DB},
         note="the same probe in a blueprint's function view"),
]

INVALID += [
    Case(_CLASSFUL_VIEW % '  # expect: PS103\n            failed = True\n'
         '        db.session.add(AuditLog())\n        db.session.commit()\n'
         '        return {"failed": failed}, 200', files={"models.py": _CLASSFUL_DB},
         note="a Flask-Classful route that goes on to commit after the swallowed failure"),
    Case(_HEALTH_VIEW % ("  # expect: PS103", "\n        db.session.add(AuditLog())\n"
                         "        db.session.commit()"),
         files={"models.py": _CLASSFUL_DB},
         note="the route writes an audit row after the probe, on the aborted transaction"),
    Case((_HEALTH_BLUEPRINT % "  # expect: PS103") + """

def warm_up():
    if not _check_database():
        print("database down")
    db.session.execute(text("SELECT 2"))
""", files={"models.py": _CLASSFUL_DB},
         note="a caller outside any request goes on with the session after the probe"),
]

# The lead, round 25 (eval59's tune half: nextgisweb's Sentry hook, two findings): work on
# a session inside an inner `try` whose handler catches every database error, and does
# not raise, cannot fail into an outer handler; the outer one catches only what the inner
# handler's own body raises (a fallback on a connection of its own). The inner handler is
# the one that swallows the session's failure, and it alone is reported.
_NESTED_FALLBACK = """\
import logging

from sqlalchemy import text
from sqlalchemy.exc import {inner_error}, SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def instance_id(session: Session, engine):
    try:
        try:
            value = session.scalar(text("SELECT id FROM instance"))
        except {inner_error}:{inner_mark}
            {inner_body}
    except SQLAlchemyError:{outer_mark}
        log.warning("no instance id")
        return None
    return value
"""
_FALLBACK_BODY = ("with engine.connect() as con:\n"
                  "                value = con.scalar(text(\"SELECT id FROM instance\"))")

INVALID += [
    Case(_NESTED_FALLBACK.format(inner_error="SQLAlchemyError", inner_mark="  # expect: PS103",
                                 inner_body=_FALLBACK_BODY, outer_mark=""),
         note="the inner handler swallows the session's failure (reported); the outer one "
              "catches only the fallback connection's, which its `with` closes"),
    Case(_NESTED_FALLBACK.format(inner_error="SQLAlchemyError", inner_mark="",
                                 inner_body='log.warning("retrying")\n            raise',
                                 outer_mark="  # expect: PS103"),
         note="the inner handler re-raises: the outer one swallows the session's failure"),
    Case(_NESTED_FALLBACK.format(inner_error="IntegrityError", inner_mark="  # expect: PS103",
                                 inner_body=_FALLBACK_BODY, outer_mark="  # expect: PS103"),
         note="the inner handler takes only IntegrityError: any other failure of the "
              "session's query reaches the outer handler, which swallows it too"),
]

_READ_ROUTE = """\
from flask import Blueprint, jsonify
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from .models import Course, Enrollment

ReadSession = sessionmaker(bind=create_engine("postgresql://app@db/school"))
bp = Blueprint("courses", __name__)


@bp.get("/courses/<int:course_id>/students")
def students(course_id):
    with ReadSession() as session, session.begin():%s
        try:
            rows = session.query(Enrollment).filter(Enrollment.course_id == course_id).all()
        except Exception as e:%s
            return jsonify({"error": str(e)}), 500
        return jsonify([r.student_id for r in rows])
"""

_READ_FILES = {"__init__.py": "", "models.py": "class Course:\n    pass\n\n\n"
               "class Enrollment:\n    course_id = 0\n    student_id = 0\n"}

VALID += [
    Case(_READ_ROUTE % ("", ""), path="routes.py", files=_READ_FILES,
         note="the handler of a failed read returns at once: the block's exit commits a "
              "transaction with nothing pending (PostgreSQL ends the aborted one with a "
              "rollback) and the with closes the session; nothing goes on with it"),
    Case((_READ_ROUTE % ("", "")).replace(
        "    with ReadSession() as session, session.begin():\n",
        "    with ReadSession() as session:\n      with session.begin():\n").replace(
        "\n        ", "\n          "), path="routes.py", files=_READ_FILES,
         note="the same with the session's with and its begin() block nested"),
]

INVALID += [
    Case(_READ_ROUTE % ("\n        session.add(Course())", "  # expect: PS103"),
         path="routes.py", files=_READ_FILES,
         note="look-alike: an object queued before the read (autoflushed by it): a failed "
              "flush leaves the session pending rollback, and the exit's commit raises "
              "instead of the handler's answer",
         unfixable="the fix would change behaviour beyond the release: in `students`: "
                   "`session.rollback()` in the handler also undoes `session.add(Course())`, "
                   "run before the `try` in the same transaction, and the code after it goes "
                   "on as if that were kept"),
]

# A method's decorator that opens the session and its transaction in `with` blocks and
# calls the plain function with `self` first (`func(self, session, *args)`): the
# decorator is the caller, and its blocks end the failed transaction and the session
# right after the method returns (issue 31's decorator-owned session, in method form).
_METHOD_DECORATOR = '''
import functools
import logging

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def with_session(func):
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        with self._create_session() as session, session.begin():
            return func(self, session, *args, **kwargs)
    return wrapper


def shared_session(func):
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        return func(self, self._session, *args, **kwargs)
    return wrapper


class Store:
    def __init__(self, factory: sessionmaker) -> None:
        self._factory = factory
        self._session = factory()

    def _create_session(self) -> Session:
        return self._factory()

    @{decorator}
    def insert(self, session: Session, row) -> None:
        session.add(row)
        try:
            session.flush()
        except IntegrityError:{mark}
            log.warning("duplicate %s", row)
{after}'''
_ROW_ADDED_BEFORE = ("the fix would change behaviour beyond the release: in `Store.insert`: "
                     "`session.rollback()` in the handler also undoes `session.add(row)`, run "
                     "before the `try` in the same transaction, and the code after it goes on "
                     "as if that were kept")
VALID += [
    Case(_METHOD_DECORATOR.format(decorator="with_session", mark="", after=""),
         note="the decorator's `with` blocks end the failed transaction and the session "
              "as soon as the method returns"),
]
INVALID += [
    Case(_METHOD_DECORATOR.format(
        decorator="with_session", mark="  # expect: PS103",
        after='        session.execute("UPDATE stats SET n = n + 1")\n'),
         note="the method itself uses the failed session again after the handler",
         unfixable=_ROW_ADDED_BEFORE),
    Case(_METHOD_DECORATOR.format(decorator="shared_session", mark="  # expect: PS103",
                                  after=""),
         note="the decorator passes the instance's long-lived session and ends nothing",
         unfixable=_ROW_ADDED_BEFORE),
]

# Helper large64b, round 28 (issue 31, tune half: a Flask application whose blueprints all
# come from a project factory): a readiness probe behind `bp = make_blueprint(...)`, where
# the project function returns `Blueprint(...)`, is a route's helper like one behind
# `Blueprint(...)` itself; the factory's blueprint routes like any other.
_FACTORY_BLUEPRINT = """
from flask import Blueprint
from jobs import Scheduler


def make_blueprint(name, import_name):
    return Blueprint(name, import_name, template_folder="templates")


def make_router(name: str) -> Blueprint:
    if name.startswith("_"):
        return Blueprint(name.lstrip("_"), __name__)
    return Blueprint(name, __name__, static_folder="static")


def make_scheduler(name, import_name):
    return Scheduler(name, import_name)


bp = {factory}


@bp.{method}("/ready")
def ready():
    status = {{"database": _check_database(), "cache": _check_cache()}}{after}
    return status, 200 if all(status.values()) else 503
"""


def _factory_blueprint(factory: str, method: str = "route", mark: str = "",
                       after: str = "") -> str:
    return (_HEALTH_PROBE % mark) + _FACTORY_BLUEPRINT.format(
        factory=factory, method=method, after=after)


VALID += [
    Case(_factory_blueprint('make_blueprint("health", __name__)'),
         files={"models.py": _CLASSFUL_DB},
         note="the probe in a view of a blueprint a project factory returns"),
    Case(_factory_blueprint('make_router("_health")', method="get"),
         files={"models.py": _CLASSFUL_DB},
         note="a factory with two returns, both a Blueprint, and the `get` shortcut"),
]

INVALID += [
    Case(_factory_blueprint('make_blueprint("health", __name__)', mark="  # expect: PS103",
                            after="\n    db.session.add(AuditLog())\n    db.session.commit()"),
         files={"models.py": _CLASSFUL_DB},
         note="the factory's route writes an audit row after the probe, on the aborted "
              "transaction"),
    Case(_factory_blueprint('make_scheduler("health", __name__)', mark="  # expect: PS103"),
         files={"models.py": _CLASSFUL_DB},
         note="a factory that returns some other library object: `@bp.route` is no Flask "
              "route, and the probe's caller is unknown"),
]

# Helper small66, round 29 (issue 31 item 7, corpus30's tune half): the route leaves on the
# repository's falsy result in the positive spelling, `if user: ... else: raise` or
# `if item.save(): return ...` followed by `return ...`, also after a log line that does no
# database work; and a test helper's call of the repository serves no request.
# (the imports, the session factory and the `get_db` dependency of _LOGGING_LOOKUP)
_POSITIVE_ROUTE = _LOGGING_LOOKUP[:_LOGGING_LOOKUP.index("def find_token")] + """\
from models import User


def create_new_user(email: str, db: Session):
    user = User(email=email)
    try:
        db.add(user)
        db.commit()
        db.refresh(user)
    except Exception as e:{mark}
        log.info(f"failed to create user: {{e}}")
        return None
    return user


@app.post("/users")
def create_user(email: str, db: Session = Depends(get_db)):
    user = create_new_user(email, db)
{between}    if user:
        log.info(f"created {{user.email}}")
    else:
{falsy}
    db.add(User(email=f"audit-{{email}}"))
    db.commit()
    return user
"""

_USER_MODEL = """
from sqlalchemy import Column, Integer, String
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    email = Column(String)
"""

_RAISE_400 = '        raise HTTPException(status_code=400, detail="cannot create user")'

VALID += [
    Case(_POSITIVE_ROUTE.format(
        mark="", between='    log.info(f"created? {True if user else False}")\n',
        falsy=_RAISE_400),
         files={"models.py": _USER_MODEL},
         note="the route logs the result (no database work), then `if user: ... else: "
              "raise`: the falsy result leaves, the dependency closes the session"),
    Case(_POSITIVE_ROUTE.format(mark="", between="", falsy=_RAISE_400),
         files={"models.py": _USER_MODEL,
                "tests/helpers.py": "from case import create_new_user\n\n\n"
                                    "def make_user(db):\n"
                                    "    return create_new_user('t@example.com', db)\n"},
         note="a test helper also calls the repository: a test serves no request, and "
              "the one production call leaves on the falsy result"),
    Case(_FLASK_MIXIN.format(
        mark="",
        tail='    if removed:\n        return "", 204\n'
             '    return {"error": "cannot archive"}, 500'),
         note="Flask-SQLAlchemy: `if removed: return ...` then `return ..., 500`: the falsy "
              "path is the return right after the test"),
    Case(_FLASK_MIXIN.format(
        mark="",
        tail='    if channel.discard():\n        return "", 204\n'
             '    return {"error": "cannot archive"}, 500')
         .replace("    removed = channel.discard()\n", ""),
         note="the call itself is the test, `if channel.discard(): return ...`, and the "
              "statement after it returns"),
]

INVALID += [
    Case(_POSITIVE_ROUTE.format(
        mark="  # expect: PS103", between="",
        falsy='        log.warning("no user")'),
         files={"models.py": _USER_MODEL},
         note="the `else` only logs: a None goes on to the audit row's commit in the "
              "failed transaction"),
    Case(_POSITIVE_ROUTE.format(
        mark="  # expect: PS103",
        between='    log.info("rows now: %s", db.query(User).count())\n',
        falsy=_RAISE_400),
         files={"models.py": _USER_MODEL},
         note="the line between the call and its test queries the session: not a log line "
              "alone, and the query runs in the failed transaction"),
    Case(_POSITIVE_ROUTE.format(mark="  # expect: PS103", between="", falsy=_RAISE_400)
         .replace('@app.post("/users")\ndef create_user', "def create_user"),
         files={"models.py": _USER_MODEL,
                "tests/helpers.py": "from case import create_new_user\n\n\n"
                                    "def make_user(db):\n"
                                    "    return create_new_user('t@example.com', db)\n"},
         note="no route calls the repository (the function that does is no request "
              "handler), only a test helper: nothing ends the session for it"),
    Case(_FLASK_MIXIN.format(
        mark="  # expect: PS103",
        tail='    if removed:\n        return "", 204\n'
             '    db.session.add(Audit(note=f"archive {channel_id} failed"))\n'
             '    db.session.commit()\n    return {"error": "cannot archive"}, 500'),
         note="the falsy path writes an audit row on db.session before it returns: the "
              "INSERT runs in the failed transaction"),
]


# round 29 (issue 31 item 7, prec66): the repository is an object built with the
# route's session (`UserRepo(db).add(name)`, or `repo = UserRepo(db)` then
# `repo.add(name)`): a method whose `except` gives back None, tested at once by the
# route, which leaves; the dependency then closes the session. The same repository
# built on a module's long-lived session, or a route that goes on with the session
# after the test, stays reported.
_REPO_ROUTE = """\
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
shared = SessionLocal()
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


class UserRepo:
    def __init__(self, db: Session):
        self.db = db

    def add(self, user):
        try:
            self.db.add(user)
            self.db.commit()
            return user
        except IntegrityError:{mark}
            return None
"""
VALID += [
    Case(_REPO_ROUTE.format(mark="") + """

@app.post("/users")
def create_user(name: str, db: Session = Depends(get_db)):
    user = UserRepo(db).add(name)
    if user is None:
        return {"error": "exists"}
    return {"ok": True}
""", note="a repository object built with the route's session: tested at once, the route "
          "leaves, the dependency closes the session"),
    Case(_REPO_ROUTE.format(mark="") + """

@app.post("/users")
def create_user(name: str, db: Session = Depends(get_db)):
    repo = UserRepo(db)
    user = repo.add(name)
    if not user:
        return {"error": "exists"}
    return {"ok": True}
""", note="the repository bound to a name first"),
]
INVALID += [
    Case(_REPO_ROUTE.format(mark="  # expect: PS103") + """

@app.post("/users")
def create_user(name: str, db: Session = Depends(get_db)):
    user = UserRepo(shared).add(name)
    if user is None:
        return {"error": "exists"}
    return {"ok": True}
""", note="look-alike: the repository works on a module's session, which no request ends"),
    Case(_REPO_ROUTE.format(mark="  # expect: PS103") + """

@app.post("/users")
def create_user(name: str, db: Session = Depends(get_db)):
    repo = UserRepo(db)
    user = repo.add(name)
    audit = repo.add("audit:" + name)
    return {"ok": bool(user and audit)}
""", note="look-alike: the route calls the repository again on the failed transaction"),
]


# round 30 (issue 31, small68): a Flask view saves through a model method or a module
# helper that works on the application's `db.session` (`Item(name=name).save()`, whose
# body adds and commits): the error it swallows left that session's transaction failed,
# and the view goes on to use the session (itself, or through another such helper).
# A helper that rolls back itself, a helper on a session of its own, and a view that
# leaves after the error (the request's session is removed at teardown) stay clean.
_FLASK_MODELS = """\
import logging

from flask import Flask, flash, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}
db = SQLAlchemy(app)
reports = create_engine("postgresql://app@db/reports", pool_pre_ping=True)


class Item(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String, unique=True)

    def save(self):
        db.session.add(self)
        db.session.commit()

    def save_or_undo(self):
        try:
            db.session.add(self)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    def save_report(self):
        with Session(reports) as own:
            own.add(self)
            own.commit()


class Audit(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    msg = db.Column(db.String)

    def save(self):
        db.session.add(self)
        db.session.commit()


def store(obj):
    db.session.add(obj)
    db.session.commit()
"""
_ITEM_ROUTE = _FLASK_MODELS + """

@app.route("/items/<name>", methods=["POST"])
def add_item(name):
"""
INVALID += [
    Case(_ITEM_ROUTE + """\
    try:
        Item(name=name).save()
    except Exception as e:  # expect: PS103
        logging.error("could not save %s: %s", name, e)
    db.session.add(Audit(msg=name))
    db.session.commit()
    return jsonify(ok=True)
""", note="the model's save() fails on db.session; the view logs and commits on it"),
    Case(_ITEM_ROUTE + """\
    item = Item(name=name)
    try:
        item.save()
    except IntegrityError:  # expect: PS103
        flash("exists")
    Audit(msg=name).save()
    return jsonify(ok=True)
""", note="the later use is another model method on the same session"),
    Case(_ITEM_ROUTE + """\
    try:
        store(Item(name=name))
    except IntegrityError:  # expect: PS103
        pass
    db.session.commit()
    return jsonify(ok=True)
""", note="a module helper handed the object, not the session, commits on db.session"),
]
VALID += [
    Case(_ITEM_ROUTE + """\
    try:
        Item(name=name).save_or_undo()
    except IntegrityError:
        flash("exists")
    Audit(msg=name).save()
    return jsonify(ok=True)
""", note="look-alike: the model method rolls the session back before the error leaves it"),
    Case(_ITEM_ROUTE + """\
    try:
        Item(name=name).save_report()
    except IntegrityError:
        flash("exists")
    db.session.add(Audit(msg=name))
    db.session.commit()
    return jsonify(ok=True)
""", note="look-alike: the method works on a session of its own, closed by its `with`"),
    Case(_ITEM_ROUTE + """\
    try:
        Item(name=name).save()
    except IntegrityError:
        return jsonify(error="exists"), 409
    return jsonify(ok=True)
""", note="look-alike: the view leaves after the error; teardown removes the session"),
]
INVALID += [
    Case(_FLASK_MODELS + """

def save_quietly(obj):
    try:
        db.session.add(obj)
        db.session.flush()
    except IntegrityError:  # expect: PS103
        logging.warning("duplicate %s", obj)


@app.route("/items/<name>", methods=["POST"])
def add_item(name):
    try:
        save_quietly(Item(name=name))
    except Exception:
        flash("bad name")
    db.session.commit()
    return jsonify(ok=True)
""", note="look-alike: the helper's own `except` takes the database error and is the one "
          "reported; the view's `except Exception` never sees a database error"),
]

# issue 31, round 30: Flask's `app.cli` is a click group; a command registered on it
# (also from inside a registering function the app factory calls) runs once per
# process, like a module-level `@click.command()`
_REGISTERED = """\
from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import IntegrityError

db = SQLAlchemy()


class Label(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    text = db.Column(db.String, unique=True)


def register(app):
{body}

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    db.init_app(app)
    register(app)
    return app
"""

_LABEL_GROUP = """\
    @app.cli.group()
    def labels():
        \"\"\"Label maintenance.\"\"\"

    @labels.command("add")
    def add_label(text):
        try:
            db.session.add(Label(text=text))
            db.session.commit()
        except IntegrityError:{mark}
            print("label exists")
"""

_LABEL_COMMAND = """\
    @app.cli.command("seed-labels")
    def seed_labels():
        try:
            db.session.add(Label(text="inbox"))
            db.session.commit()
        except IntegrityError:{mark}
            print("labels seeded already")
"""

VALID += [
    Case(_REGISTERED.format(body=_LABEL_GROUP.format(mark="")),
         note="a command of a group made on `app.cli` inside `register(app)`: the process "
              "ends after it, nothing reuses the failed session"),
    Case(_REGISTERED.format(body=_LABEL_COMMAND.format(mark="")),
         note="`@app.cli.command()` inside `register(app)`, which the factory calls with "
              "its Flask app"),
    Case("""\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import IntegrityError

app = Flask(__name__)
db = SQLAlchemy(app)


class Label(db.Model):
    id = db.Column(db.Integer, primary_key=True)


@app.cli.command("purge")
def purge():
    try:
        Label.query.delete()
        db.session.commit()
    except IntegrityError:
        print("labels still referenced")
""", note="`@app.cli.command()` at module level on the module's Flask app"),
]

INVALID += [
    Case(_REGISTERED.format(body="""\
    @app.route("/labels/<text>", methods=["POST"])
    def post_label(text):
        try:
            db.session.add(Label(text=text))
            db.session.commit()
        except IntegrityError:  # expect: PS103
            print("label exists")
        db.session.add(Label(text=text + "-copy"))
        db.session.commit()
        return jsonify(ok=True)
"""), note="look-alike: a route registered the same way inside `register(app)` runs per "
           "request and goes on with the failed session"),
    Case(_REGISTERED.replace("    register(app)\n", "    register(Hooks())\n").replace(
        "def register(app):", '''class Hooks:
    def __init__(self):
        self.cli = self
        self.handlers = []

    def command(self, name):
        def add(handler):
            self.handlers.append(handler)
            return handler
        return add


def register(app):''').format(body=_LABEL_COMMAND.format(mark="  # expect: PS103")),
         note="look-alike: the registering function is given a project object, not a "
              "Flask app: its `cli.command()` is no click group"),
]

_MODULE_DB = """\
import psycopg2

conn = psycopg2.connect("dbname=bot")
{setup}cur = conn.cursor()
"""

INVALID += [
    Case("""\
import psycopg2

conn = psycopg2.connect("dbname=bot")
cur = conn.cursor()


def seen(url):
    try:
        cur.execute("SELECT 1 FROM links WHERE url = %s", (url,))
        return cur.fetchone() is not None
    except Exception:  # expect: PS103
        return False
""", note="a cursor made at the module's top level from the module's long-lived connection: "
          "the swallowed error leaves that shared connection in the aborted transaction for "
          "every later call"),
    Case("""\
from bot.db import cur


def remember(url, count):
    try:
        cur.execute("INSERT INTO links (url, tags) VALUES (%s, %s)", (url, count))
        return True
    except:  # expect: PS103
        return False
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="")},
         note="the module-level cursor imported from another module (a Celery task or bot "
              "handler module sharing `db.cur`): the advice names `cur.connection`"),
    Case("""\
from bot.db import cur


def remember(url):
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:  # expect: PS103
        return False
    return True
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="") + """

def enable_autocommit():
    conn.autocommit = True
"""}, note="look-alike: autocommit is switched on only inside a function of the module, "
           "not at its top level: not known to hold when the task runs"),
]

VALID += [
    Case("""\
from bot.db import cur


def remember(url):
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        return False
    return True
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="conn.autocommit = True\n")},
         note="the module puts its connection in autocommit at its top level: a failed "
              "statement aborts no transaction"),
    Case("""\
from bot.db import conn


def remember(url):
    try:
        conn.cursor().execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        return False
    return True
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(
        setup="conn.set_session(autocommit=True)\n")},
         note="the connection itself imported, autocommit set by the module with "
              "`set_session(autocommit=True)`"),
    Case("""\
import psycopg2

conn = psycopg2.connect("dbname=bot")
conn.autocommit = True


def remember(url):
    try:
        conn.cursor().execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        return False
    return True
""", note="the same module's connection, in autocommit from its top level"),
    Case("""\
from bot.db import cur


def remember(url):
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        cur.connection.rollback()
        return False
    return True
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="")},
         note="the handler rolls back through the cursor's connection"),
    Case("""\
from bot.db import conn, cur


def remember(url):
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        conn.rollback()
        return False
    return True
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="")},
         note="the handler rolls back the connection imported beside its cursor"),
    Case("""\
import pymysql

conn = pymysql.connect(host="db", database="bot")
cur = conn.cursor()


def remember(url):
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        return False
    return True
""", note="a module-level cursor of a MySQL connection: the failed statement alone is "
          "undone"),
    Case("""\
from bot.db import cur


def remember(url):
    cur = open_cursor()
    try:
        cur.execute("INSERT INTO links (url) VALUES (%s)", (url,))
    except Exception:
        return False
    return True


def open_cursor():
    return object()
""", path="bot/tasks.py", files={"bot/db.py": _MODULE_DB.format(setup="")},
         note="a local `cur` of the function hides the module's cursor"),
]

# issue 31, round 31: a session that a local object's `__init__` makes, in a one-shot
# check that builds the object, queries with it in a `try`, logs the error and drops
# the object. The constructor may also take a session (`session=None`, used when
# given) that the construction leaves out, the class body may default the attribute to
# `None`, and the name may be reused for another object after the `try`: none of these
# lets the failed session reach anyone. Passing a session in, binding the name to
# another object before the `try`, a method that hands the session or the object out,
# an `__init__` that registers the object, or a use after the handler keeps it reported.
_ARCHIVE = """\
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
REGISTRY = []


class Archive:
    session = None

    def __init__(self, engine=None, session=None):
        self.engine = engine if engine is not None else create_engine(
            "postgresql://app@db/archive", pool_pre_ping=True)
        if session is not None:
            self.session = session
        else:
            self.session = Session(self.engine)
{init_extra}
    def count_boxes(self):
        return self.session.execute(text("SELECT count(*) FROM boxes")).scalar()

    def current(self):
        return self.session
"""

_ARCHIVE_CHECK = """

def archive_reachable({params}):
    ok = True
{before}    try:
        log.info("checking the archive")
        archive = {built}
        archive.count_boxes()
    except Exception as exc:{mark}
        log.error("archive unreachable: %s", exc)
        ok = False
{after}    return ok
"""


def _archive(mark: str = "", params: str = "", before: str = "",
             built: str = "Archive()", after: str = "", init_extra: str = "") -> str:
    code = _ARCHIVE.format(init_extra=init_extra) + _ARCHIVE_CHECK.format(
        params=params, before=before, built=built, mark=mark, after=after)
    if mark and built != "archive":
        # flagged cases build the object before the `try`: the fix's rollback then needs
        # no `archive is not None` guard, which the flow does not follow into
        # `archive.session` (see benchmarks/README.md, round 31, prec70)
        code = code.replace(f"    try:\n        log.info(\"checking the archive\")\n"
                            f"        archive = {built}\n",
                            f"    archive = {built}\n    try:\n"
                            f"        log.info(\"checking the archive\")\n")
    return code


VALID += [
    Case(_archive(), note="the local Archive's __init__ made the session (no session "
                          "passed, so `session=None` and the class default leave it "
                          "fresh), and the object is dropped: nothing uses the failed "
                          "session again"),
    Case(_archive(after="""\
    try:
        archive = open_cache()
        archive.ping()
    except OSError:
        ok = False
""").replace("log = logging", "open_cache = None\nlog = logging"),
         note="the name is reused for another object after the `try`: the Archive is "
              "dropped there"),
    Case(_archive(built="Archive(create_engine('postgresql://app@db/archive'))"),
         note="the construction passes an engine, not a session: the session is still "
              "the object's own"),
]

INVALID += [
    Case(_archive(mark="  # expect: PS103", params="session",
                  built="Archive(session=session)"),
         note="look-alike: the caller's session is passed in, and the caller gets it back "
              "in a failed transaction"),
    Case(_archive(mark="  # expect: PS103", params="engine, session",
                  built="Archive(engine, session)"),
         note="look-alike: the session is passed by position"),
    Case(_archive(mark="  # expect: PS103", params="shared", before="""\
    archive = Archive()
    if shared is not None:
        archive = shared
""", built="archive"),
         note="look-alike: the name may hold the caller's object in the `try` (bound "
              "before it)"),
    Case(_archive(mark="  # expect: PS103", after="""\
    archive.count_boxes()
"""), note="look-alike: the object is used after the handler, in the failed transaction"),
    Case(_archive(mark="  # expect: PS103", after="""\
    return archive.current()
""").replace("    return ok\n", ""),
         note="look-alike: a method hands the session out, and the function returns it"),
    Case(_archive(mark="  # expect: PS103", init_extra="        REGISTRY.append(self)\n"),
         note="look-alike: __init__ registers the object in a module list, which keeps "
              "it and its session"),
    Case(_archive(mark="  # expect: PS103").replace(
        "    session = None\n", "    session = Session(create_engine('postgresql://app@db/a'))\n"),
         note="look-alike: the class body makes a session shared by every instance"),
]
INVALID += [
    Case(_archive(mark="  # expect: PS103", params="fast", after="""\
    if fast:
        archive = open_cache()
    return archive
""").replace("    return ok\n", "").replace("log = logging", "open_cache = None\nlog = logging"),
         note="look-alike: the name is rebound after the `try` only on one branch, and "
              "the Archive may be returned"),
    Case(_ARCHIVE.format(init_extra="") + """

def check_all(names, spare):
    archive = Archive()
    for name in names:
        try:
            archive.count_boxes()
        except Exception as exc:  # expect: PS103
            log.error("archive %s unreachable: %s", name, exc)
            break
        archive = spare
""", note="look-alike: the name is rebound after the `try` inside the loop around it: the "
          "next iteration's `try` works on the caller's object, and the handler leaves "
          "with it"),
]

# psycopg2's `connection.cancel()` asks the server to stop the running statement (over a
# connection of its own): it runs nothing in the failed transaction, so a handler that
# cancels and then re-raises or closes swallows nothing.
_CANCELLING = """\
import contextlib
import logging

import psycopg2


@contextlib.contextmanager
def open_cursor(dsn):
    conn = psycopg2.connect(dsn)
    try:
        yield conn.cursor()
        conn.commit()
    except Exception as exc:{mark}
        logging.exception("query failed: %s", exc)
        conn.cancel()
{tail}
    finally:
        conn.close()
"""

VALID += [
    Case(_CANCELLING.format(mark="", tail="        raise"),
         note="the handler cancels the running statement and re-raises; `finally` closes"),
    Case(_CANCELLING.format(mark="", tail="        conn.close()\n        raise"),
         note="the handler cancels, closes and re-raises"),
]

INVALID += [
    Case(_CANCELLING.format(mark="  # expect: PS103",
                            tail="        conn.cursor().execute(\"INSERT INTO log VALUES (1)\")\n"
                                 "        raise"),
         note="look-alike: after the cancel the handler runs a statement in the failed "
              "transaction before re-raising"),
    Case(_CANCELLING.format(mark="  # expect: PS103",
                            tail="        conn.commit()\n        return"),
         note="look-alike: after the cancel the handler commits the failed transaction "
              "and swallows the error"),
]

# An object built inside the `try` may be unbound in the handler; `obj = None` before the
# `try` and `if obj is not None:` around `obj.session.rollback()` (PS103's own fix, or
# written by hand) roll back wherever a session exists: where `obj is None`, no
# `obj.session` was ever used. The finding must not survive that guard (fix72: PS103's
# fix looped ten passes on its own output).
_ARCHIVE_GUARDED = _ARCHIVE.format(init_extra="") + """

def archive_reachable():
    ok = True
    archive = None
    try:
        log.info("checking the archive")
        archive = Archive()
        archive.count_boxes()
    except Exception as exc:{mark}
        if archive is not None:
{body}
        log.error("archive unreachable: %s", exc)
        ok = False
    if archive is not None:
        archive.count_boxes()
    return ok
"""

VALID += [
    Case(_ARCHIVE_GUARDED.format(mark="", body="            archive.session.rollback()"),
         note="the object may be None in the handler; the rollback is guarded by "
              "`archive is not None`, and where it is None no session was used"),
    Case(_ARCHIVE_GUARDED.format(mark="", body="            archive.session.rollback()")
         .replace("        if archive is not None:\n", "        if not archive is None:\n"),
         note="the same guard spelled `not archive is None`"),
]

INVALID += [
    Case(_ARCHIVE_GUARDED.format(mark="  # expect: PS103",
                                 body="            log.warning(\"archive left open\")"),
         note="look-alike: the None check guards no rollback; where the object is not "
              "None its session stays in the failed transaction and is used again"),
    Case(_ARCHIVE_GUARDED.format(mark="  # expect: PS103",
                                 body="            archive.session.rollback()")
         .replace("        if archive is not None:\n", "        if archive is None:\n"),
         note="look-alike: the guard is the wrong way round: the rollback runs only where "
              "there is no object"),
]

# A session made once at a module's top level (`Session = sessionmaker(engine)` then
# `session = Session()`: no `scoped_session`, no Flask-SQLAlchemy) is shared by every
# request of the process, and no framework ends it when a request ends: a view that
# swallows a failure on it, itself or through a model method that commits on it, hands
# the failed transaction to every later request.
_MODULE_SESSION_DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Base = declarative_base()
Session = sessionmaker(bind=engine)
session = Session()
"""

_MODULE_SESSION_MODELS = """
from sqlalchemy import Column, Integer, String

from app.db import Base, session


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"
    id = Column(Integer, primary_key=True)
    jti = Column(String(120))

    def add(self):
        session.add(self)
        session.commit()
"""

_MODULE_SESSION_VIEW = """
from flask_restful import Resource

from app.models import RevokedToken


class Logout(Resource):
    def post(self, jti):
        try:
            RevokedToken(jti=jti).add()
            return {"message": "token revoked"}
        except Exception:MARK
            return {"message": "could not revoke the token"}, 500
"""

INVALID += [
    Case(_MODULE_SESSION_VIEW.replace("MARK", "  # expect: PS103"), path="app/views.py",
         files={"app/db.py": _MODULE_SESSION_DB, "app/models.py": _MODULE_SESSION_MODELS},
         note="a Flask-RESTful view swallows the failed commit of a model method on a "
              "session made once at a module's top level: no request ends that session, "
              "so every later request meets the failed transaction",
         unfixable="`session` is a session or connection made at another module's top "
                   "level, which this function reaches only through a project helper and "
                   "does not name: import it and call `session.rollback()` in the handler "
                   "by hand"),
    Case("""
from flask import Flask, jsonify
from sqlalchemy.exc import IntegrityError

from app.db import session
from app.models import RevokedToken

app = Flask(__name__)


@app.post("/logout/<jti>")
def logout(jti):
    try:
        session.add(RevokedToken(jti=jti))
        session.commit()
    except IntegrityError:  # expect: PS103
        return jsonify(error="already revoked"), 409
    return jsonify(ok=True)
""", path="app/views.py",
         files={"app/db.py": _MODULE_SESSION_DB, "app/models.py": _MODULE_SESSION_MODELS},
         note="a Flask route swallows a failed commit on the module's one session and "
              "returns: the framework ends no such session"),
]

VALID += [
    Case(_MODULE_SESSION_VIEW.replace("MARK", ""), path="app/views.py", files={
        "app/db.py": _MODULE_SESSION_DB.replace(
            "from sqlalchemy.orm import declarative_base, sessionmaker",
            "from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker").replace(
            "Session = sessionmaker(bind=engine)\nsession = Session()\n",
            "session = scoped_session(sessionmaker(bind=engine))\n"),
        "app/models.py": _MODULE_SESSION_MODELS,
        "app/__init__.py": """
from flask import Flask

from app.db import session

app = Flask(__name__)


@app.teardown_appcontext
def remove_session(exc=None):
    session.remove()
"""},
         note="look-alike: a `scoped_session` registry that a teardown removes: each "
              "request's session ends with the request"),
    Case(_MODULE_SESSION_VIEW.replace("MARK", ""), path="app/views.py", files={
        "app/db.py": _MODULE_SESSION_DB,
        "app/models.py": _MODULE_SESSION_MODELS,
        "app/__init__.py": """
from flask import Flask

from app.db import session

app = Flask(__name__)


@app.teardown_request
def end_session(exc=None):
    session.rollback()
"""},
         note="look-alike: the module's plain session is rolled back by a request-end "
              "hook, so the failure ends with the request"),
    Case(_MODULE_SESSION_VIEW.replace("MARK", ""), path="app/views.py", files={
        "app/db.py": _MODULE_SESSION_DB,
        "app/models.py": _MODULE_SESSION_MODELS.replace("""\
        session.add(self)
        session.commit()
""", """\
        try:
            session.add(self)
            session.commit()
        except Exception:
            session.rollback()
            raise
"""),
    }, note="look-alike: the model method rolls the module's session back before the "
            "error reaches the view"),
    Case(_MODULE_SESSION_VIEW.replace("MARK", ""), path="app/views.py", files={
        "app/db.py": _MODULE_SESSION_DB.replace("postgresql://app@db/app",
                                                "mysql+pymysql://app@db/app").replace(
            "from sqlalchemy import create_engine",
            "import pymysql\nfrom sqlalchemy import create_engine"),
        "app/models.py": _MODULE_SESSION_MODELS.replace("""\
    def add(self):
        session.add(self)
        session.commit()
""", """\
    def add(self):
        session.execute(text("INSERT INTO revoked_tokens (jti) VALUES (:j)"), {"j": self.jti})
""").replace("from sqlalchemy import Column, Integer, String",
             "from sqlalchemy import Column, Integer, String, text"),
    }, note="look-alike: the model method only executes a statement, and the session's "
            "module talks to MySQL, which undoes just the failed statement"),
]

# A helper that swallows a failure on Flask-SQLAlchemy's request session and gives back
# an answer, every call of which is the last act of a function whose every call is a
# request handler's last act (`return save_token(t)` in a service whose only caller is a
# route's `return Auth.logout(data)`): the answer goes straight to the framework, which
# removes the request's session right after.
_TOKEN_SERVICE = """
from app.extensions import db
from app.models import BlacklistToken


def save_token(token):
    try:
        db.session.add(BlacklistToken(token=token))
        db.session.commit()
        return {"status": "success"}, 200
    except Exception as exc:MARK
        return {"status": "fail", "message": str(exc)}, 200


class Auth:
    @staticmethod
    def logout(data):
        token = data.split(" ")[1] if data else ""
        if not token:
            return {"status": "fail"}, 403
AFTER
"""

_TOKEN_FILES = {
    "app/extensions.py": """
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
""",
    "app/models.py": """
from app.extensions import db


class BlacklistToken(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    token = db.Column(db.String(500), unique=True)
""",
    "app/views.py": """
from flask import request
from flask_restful import Resource

from app.service import Auth


class Logout(Resource):
    def post(self):
        return Auth.logout(request.headers.get("Authorization"))
"""}

VALID += [
    Case(_TOKEN_SERVICE.replace("MARK", "").replace("AFTER", "        return save_token(token)"),
         path="app/service.py", files=_TOKEN_FILES,
         note="a service swallows a failed commit on the request's session and answers; "
              "every call is a `return` in a method whose only call is a route's `return`: "
              "the extension removes the session right after"),
]

INVALID += [
    Case(_TOKEN_SERVICE.replace("MARK", "  # expect: PS103").replace("AFTER", """\
        answer = save_token(token)
        db.session.commit()
        return answer"""),
         path="app/service.py", files=_TOKEN_FILES,
         note="look-alike: the caller commits the failed session after the call"),
]

# The same through a module-level psycopg2 connection that a helper module imports: a
# route that calls the helper swallows the failure on the one connection every request
# shares; unless that connection's own module puts it in autocommit (a failed statement
# then aborts nothing).
_SHARED_CONN_DB = """
import psycopg2

conn = psycopg2.connect("dbname=app")
"""

_SHARED_CONN_STORE = """
from app.db import conn


def save_tag(name):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO tags (name) VALUES (%s)", (name,))
    conn.commit()
"""

_SHARED_CONN_VIEW = """
from flask import Flask

from app.store import save_tag

app = Flask(__name__)


@app.post("/tags/<name>")
def add_tag(name):
    try:
        save_tag(name)
    except Exception:MARK
        return "could not save the tag", 500
    return "saved"
"""

INVALID += [
    Case(_SHARED_CONN_VIEW.replace("MARK", "  # expect: PS103"), path="app/views.py",
         files={"app/db.py": _SHARED_CONN_DB, "app/store.py": _SHARED_CONN_STORE},
         note="a route swallows a failed statement of a helper on the module's one psycopg2 "
              "connection, which it does not name",
         unfixable="`conn` is a session or connection made at another module's top level, "
                   "which this function reaches only through a project helper and does not "
                   "name: import it and call `conn.rollback()` in the handler by hand"),
]

VALID += [
    Case(_SHARED_CONN_VIEW.replace("MARK", ""), path="app/views.py",
         files={"app/db.py": _SHARED_CONN_DB + "conn.autocommit = True\n",
                "app/store.py": _SHARED_CONN_STORE.replace("    conn.commit()\n", "")},
         note="look-alike: the module puts its connection in autocommit at its top level"),
]

# Helper prec72, round 32 (issue 31, small72's held false alarm): a project method or
# function whose every path ends in a library call that never returns (Flask-RESTful's or
# Flask's `abort(...)`, werkzeug's, another project helper that always raises, FastAPI's
# `raise HTTPException(...)` one helper down) raises like a `raise`: the `except` that
# calls it swallows nothing.
_ABORT_HELPER = '''
import psycopg2
from psycopg2.pool import ThreadedConnectionPool
{imports}

pool = ThreadedConnectionPool(1, 10, "dbname=app")

{helpers}


class Tags(Resource):
{methods}
    def post(self, name):
        conn = pool.getconn()
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute("INSERT INTO tags (name) VALUES (%s)", (name,))
                except psycopg2.IntegrityError as err:{mark}
                    {call}
                cur.execute("UPDATE stats SET tags = tags + 1")
            conn.commit()
        finally:
            pool.putconn(conn)
        return {{"name": name}}, 201
'''

_ABORT_METHOD = '''\
    def fail(self, status, message=None):
        if message:
            abort(status, message=message)
        abort(status, message="something went wrong")
'''


def _abort_case(imports: str, helpers: str, methods: str, call: str, mark: str,
                note: str) -> Case:
    return Case(_ABORT_HELPER.format(imports=imports, helpers=helpers, methods=methods,
                                     call=call, mark=mark), note=note)


VALID += [
    _abort_case("from flask_restful import Resource, abort", "", _ABORT_METHOD,
                "self.fail(400, str(err))", "",
                "the resource's own method ends in Flask-RESTful's `abort(...)` on every "
                "path (it raises an HTTPException): the handler swallows nothing"),
    _abort_case("from flask import abort\nfrom flask_restful import Resource",
                "def bad_request(message):\n    abort(400, message)\n", "",
                "bad_request(str(err))", "",
                "a module helper whose last statement is Flask's `abort(...)`"),
    _abort_case("from fastapi import HTTPException\nfrom flask_restful import Resource",
                "def http_error(status, detail):\n"
                "    raise HTTPException(status_code=status, detail=detail)\n\n\n"
                "def conflict(detail):\n    http_error(409, detail)\n", "",
                "conflict(str(err))", "",
                "a helper that ends by calling another helper that always raises "
                "(`raise HTTPException(...)`)"),
]

INVALID += [
    _abort_case("from flask_restful import Resource, abort", "",
                _ABORT_METHOD.replace('        abort(status, message="something went wrong")\n',
                                      '        print("no message")\n'),
                "self.fail(400, str(err))", "  # expect: PS103",
                "look-alike: the method aborts only when given a message and otherwise "
                "returns: the UPDATE runs in the aborted transaction"),
    _abort_case("from flask_restful import Resource",
                "def abort(status, message):\n    print(status, message)\n", "",
                "abort(400, str(err))", "  # expect: PS103",
                "look-alike: the project's own `abort` only prints and returns"),
    _abort_case("from flask_restful import Resource, abort",
                "def conflict(detail):\n    log_conflict(detail)\n\n\n"
                "def log_conflict(detail):\n    print(detail)\n", "",
                "conflict(str(err))", "  # expect: PS103",
                "look-alike: the helper's last call is to a helper that returns"),
]

# round 32 (prec72b): after a failed `commit()` (or `flush()`), SQLAlchemy has dropped
# the failed flush's work and marks the session for rollback: a `flush()` in the
# handler before the `rollback()` finds nothing pending and sends no SQL. Something
# queued or executed in the handler before the rollback is still work in the failed
# transaction.
_FLUSH_THEN_ROLLBACK = """\
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

app = Flask(__name__)
db = SQLAlchemy(app)


class Account(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String, unique=True)


@app.post("/accounts/<email>")
def create_account(email):
    try:
        db.session.add(Account(email=email))
        db.session.commit()
    except IntegrityError:{mark}
{handler}        db.session.flush()
        db.session.rollback()
        return "exists", 409
    return "created", 201
"""
VALID += [
    Case(_FLUSH_THEN_ROLLBACK.format(mark="", handler=""),
         note="the handler's flush() after the failed commit has nothing to send; the "
              "rollback follows"),
]
INVALID += [
    Case(_FLUSH_THEN_ROLLBACK.format(
        mark="  # expect: PS103",
        handler="        db.session.execute(text(\"INSERT INTO signup_errors (email) "
                "VALUES (:e)\"), {\"e\": email})\n"),
        note="look-alike: a statement runs in the failed transaction before the rollback"),
    Case(_FLUSH_THEN_ROLLBACK.format(
        mark="  # expect: PS103",
        handler="        db.session.add(Account(email=email + \".dup\"))\n"),
        note="look-alike: a change queued in the handler is what its flush() sends, in "
             "the failed transaction"),
]

# round 33 (large74b): an aiogram handler's session filled by the project's aiogram
# middleware (`data["session"] = session` inside `async with session_maker() as
# session:`, around `await handler(event, data)`): aiogram calls the handler with that
# key, and the block's exit ends the session right after the handler returns, so a
# service that swallows the failure and hands the session back to a handler that
# uses it no more leaves nothing to reuse the failed transaction.
_AIOGRAM_MIDDLEWARE = """\
from contextlib import asynccontextmanager

from aiogram import BaseMiddleware, Router
from aiogram.types import Message
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

engine = create_async_engine("postgresql+asyncpg://localhost/shop", pool_pre_ping=True)
session_maker = async_sessionmaker(engine, expire_on_commit=False)
router = Router()


@asynccontextmanager
async def db_session():
    async with session_maker() as session:
        yield session


class DbSessionMiddleware(BaseMiddleware):
    async def __call__(self, handler, event, data):
{middleware}

async def top_up(session: AsyncSession, user_id: int, amount: float) -> str:
    try:
        await session.execute(text("UPDATE users SET balance = balance + :a WHERE id = :u"),
                              {{"a": amount, "u": user_id}})
        await session.commit()
        return "done"
    except Exception:{mark}
        return "failed"


@router.message()
async def on_amount(message: Message, {param}: AsyncSession):
{before}    reply = await top_up({param}, message.from_user.id, float(message.text))
{after}    await message.answer(reply)
"""
_MW_WITH = ("        async with session_maker() as session:\n"
            "            data[\"session\"] = session\n"
            "            return await handler(event, data)\n")
_MW_CM = ("        async with db_session() as session:\n"
          "            data[\"session\"] = session\n"
          "            return await handler(event, data)\n")
_MW_BEGIN = ("        async with session_maker() as session, session.begin():\n"
             "            data[\"session\"] = session\n"
             "            return await handler(event, data)\n")
_MW_BARE = ("        data[\"session\"] = session_maker()\n"
            "        return await handler(event, data)\n")
_READ_FIRST = ("    await session.execute(text(\"INSERT INTO audit (uid) VALUES (:u)\"),\n"
               "                          {\"u\": message.from_user.id})\n")
VALID += [
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_WITH, mark="", param="session",
                                    before="", after=""),
         note="the middleware's `async with` ends the session right after the handler, "
              "which uses it no more after the call"),
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_CM, mark="", param="session",
                                    before="", after=""),
         note="the same through a project context manager that yields the session"),
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_BEGIN, mark="", param="session",
                                    before="", after=""),
         note="a committing block is fine when the handler did no work before the call"),
]
INVALID += [
    Case(_AIOGRAM_MIDDLEWARE.format(
        middleware=_MW_WITH, mark="  # expect: PS103", param="session", before="",
        after="    await session.execute(text(\"UPDATE users SET seen = now()\"))\n"),
         note="look-alike: the handler goes on with the session after the call"),
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_BARE, mark="  # expect: PS103",
                                    param="session", before="", after=""),
         note="look-alike: the middleware makes a session and never ends it"),
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_WITH, mark="  # expect: PS103",
                                    param="db", before="", after=""),
         note="look-alike: the middleware fills another key; nothing shown ends `db`"),
    Case(_AIOGRAM_MIDDLEWARE.format(middleware=_MW_BEGIN, mark="  # expect: PS103",
                                    param="session", before=_READ_FIRST, after=""),
         note="look-alike: the handler wrote before the call and the middleware's "
              "`begin()` commits on exit: that work meets the failed transaction"),
]

# round 33 (large74b): a `@staticmethod` of a service class, called as
# `Service.method(db, ...)`, is a plain function for the hand-back: every caller that
# uses the session no more and whose dependency ends it leaves nothing to reuse the
# failed transaction. An instance method is still not followed.
_STATIC_SERVICE = """\
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://localhost/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


class TagService:
    {deco}
    def create({self}db: Session, name: str) -> bool:
        try:
            db.execute(text("INSERT INTO tags (name) VALUES (:n)"), {{"n": name}})
            db.commit()
            return True
        except Exception:{mark}
            return False


@app.post("/tags/{{name}}")
def add_tag(name: str, db: Session = Depends(get_db)):
    ok = {call}(db, name)
{after}    return {{"ok": ok}}
"""
VALID += [
    Case(_STATIC_SERVICE.format(deco="@staticmethod", self="", mark="",
                                call="TagService.create", after=""),
         note="a static method called as `TagService.create(db, name)` by a route that "
              "uses the session no more; the dependency closes it"),
]
INVALID += [
    Case(_STATIC_SERVICE.format(
        deco="@staticmethod", self="", mark="  # expect: PS103", call="TagService.create",
        after="    db.execute(text(\"UPDATE stats SET tags = tags + 1\"))\n"),
         note="look-alike: the route goes on with the session after the call"),
    Case(_STATIC_SERVICE.format(deco="", self="self, ", mark="  # expect: PS103",
                                call="TagService().create", after=""),
         note="look-alike: an instance method is not followed to its callers"),
]

# A Flask `Blueprint` subclass that routes its own instance's public methods in its
# constructor (`for name in ...: self.add_url_rule(url, name, view_func=getattr(self,
# name))`) makes each public method of its subclasses a view: Flask calls it per request
# and Flask-SQLAlchemy's teardown ends the request's session, as for a route (issue 31,
# round 34: large76's tune half, LinOTP's controllers).
_SELF_ROUTED = """\
from flask import Blueprint, Flask, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

db = SQLAlchemy()


class BaseController(Blueprint):
    def __init__(self, name):
        super().__init__(name, __name__)
        {register}

    def url_methods(self):
        return [n for n in type(self).__dict__ if not n.startswith("_")]


class RealmController(BaseController):
    def {method}(self):
        try:
            db.session.execute(text("DELETE FROM realm WHERE name = :n"),
                               {{"n": request.form["realm"]}})
            db.session.commit()
            return "ok"
        except Exception as exx:{mark}
            return str(exx), 500


app = Flask(__name__)
db.init_app(app)
app.register_blueprint(RealmController("realm"), url_prefix="/realm")
"""
_ROUTING_LOOP = ("for method_name in self.url_methods():\n"
                 "            method = getattr(self, method_name)\n"
                 "            self.add_url_rule(\"/\" + method_name, method_name, "
                 "view_func=method)")
VALID += [
    Case(_SELF_ROUTED.format(register=_ROUTING_LOOP, method="delRealm", mark=""),
         note="a public method of a Blueprint subclass that routes its own methods: a view"),
    Case(_SELF_ROUTED.format(
        register=("for method_name in self.url_methods():\n"
                  "            self.add_url_rule(\"/\" + method_name, method_name, "
                  "view_func=getattr(self, method_name))"),
        method="delRealm", mark=""),
         note="the same with `view_func=getattr(self, name)` written in the call"),
]
INVALID += [
    Case(_SELF_ROUTED.format(register="self.record_once(lambda state: None)",
                             method="delRealm", mark="  # expect: PS103"),
         note="look-alike: the Blueprint subclass routes nothing of its own: a plain method"),
    Case(_SELF_ROUTED.format(register=_ROUTING_LOOP, method="_delRealm",
                             mark="  # expect: PS103"),
         note="look-alike: a private method (leading underscore) is not a routed one"),
]

# Helper prec76, round 34: paired conditions. The swallowed statement runs only where a
# name is None (`if resolved is None:`), binds the name only after its last database
# statement, and the statement that would reuse the connection runs only where the name
# is not None: on the failed path the name is still None, so the reuse is never reached,
# and the pool's context rolls the connection back when the block ends.
_PAIRED = """\
import psycopg
from psycopg_pool import ConnectionPool

pool = ConnectionPool("dbname=app")


def cache_credential(name, catalog_id, execution_id):
    with pool.connection() as conn:
        cur = conn.cursor()
        resolved = catalog_id
{before}        if {first}:
            try:
{bind}                cur.execute("SELECT catalog_id FROM execution WHERE id = %s", (execution_id,))
                row = cur.fetchone()
                if row:
                    resolved = row[0]
            except psycopg.Error as err:{mark}
                print("cannot resolve the catalog", err)
        if {second}:
            print("not cached")
        else:
            cur.execute("INSERT INTO keychain (name, catalog_id) VALUES (%s, %s)",
                        (name, resolved))
            conn.commit()
"""
VALID += [
    Case(_PAIRED.format(before="", first="resolved is None", bind="", mark="",
                        second="resolved is None"),
         note="the reuse runs only where `resolved` is not None; after the failure it is "
              "still None"),
    Case(_PAIRED.format(before="", first="not resolved", bind="", mark="",
                        second="not resolved"),
         note="the same with truth tests (`if not resolved:`)"),
]
INVALID += [
    Case(_PAIRED.format(before="", first="resolved is None", bind="",
                        mark="  # expect: PS103", second="name is None"),
         note="look-alike: the later test is on another name, so the reuse is reachable"),
    Case(_PAIRED.format(before="", first="resolved is None",
                        bind="                resolved = 0\n", mark="  # expect: PS103",
                        second="resolved is None"),
         note="look-alike: the `try` binds the name before its statement, so after the "
              "failure it is not None"),
    Case(_PAIRED.format(before="", first="resolved is None",
                        bind="", mark="  # expect: PS103", second="resolved is None")
         .replace("        if resolved is None:\n            try:",
                  "        if resolved is None:\n            resolved = execution_id\n"
                  "            try:", 1),
         note="look-alike: the branch binds the name before the `try`"),
]

# Helper prec76c, round 34 (issue 31, from large76's HELD census, so not held): a handler
# that is the end of a `with app.app_context():` block (its `try` is the block's last
# statement, the handler does not touch the session): leaving the context right after it
# removes Flask-SQLAlchemy's session, rolling back the failed transaction, and the function
# hands the session to no one. Still reported: a statement after the `try` in the block
# uses the session, and a handler that itself uses the failed session.
_CONTEXT_END = """\
import logging

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import SQLAlchemyError

db = SQLAlchemy()


class Job(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String)


def cleanup(app):
    with app.app_context():
        try:
            Job.query.filter(Job.status == "STARTED").update({{"status": "ABORTED"}})
            db.session.commit()
        except SQLAlchemyError:{mark}
            logging.exception("cleanup failed"){handler}
{after}"""
VALID += [
    Case(_CONTEXT_END.format(mark="", handler="", after=""), path="app/cleanup.py",
         note="the handler ends the `with app.app_context():` block: the context's teardown "
              "removes the session (rolled back) right after it"),
]
INVALID += [
    Case(_CONTEXT_END.format(mark="  # expect: PS103", handler="",
                             after="        db.session.add(Job(status=\"CLEANED\"))\n"
                                   "        db.session.commit()\n"),
         path="app/cleanup.py",
         note="look-alike: the block goes on with the failed session after the `try`"),
    Case(_CONTEXT_END.format(mark="  # expect: PS103",
                             handler="\n            db.session.add(Job(status=\"FAILED\"))"
                                     "\n            db.session.commit()",
                             after=""),
         path="app/cleanup.py",
         note="look-alike: the handler itself commits on the failed session"),
]
INVALID += [
    Case(_CONTEXT_END.format(mark="  # expect: PS103",
                             handler="\n            mark_failed()", after="")
         + "\n\ndef mark_failed():\n    db.session.add(Job(status=\"FAILED\"))\n"
           "    db.session.commit()\n",
         path="app/cleanup.py",
         note="look-alike: the handler calls a project helper that commits on the failed "
              "session"),
]

# Helper large78b, round 35 (issue 31, from the TUNE half of a census of raw-driver
# services): (1) a handler followed by `finally: if self.conn is not None:
# self.conn.close()`: closing the connection attribute ends its failed transaction, and
# where the attribute is None nothing is aborted; (2) the miss: a cursor stored on the
# object (`self.cursor = self.conn.cursor()` in `__init__`), failing in another method
# whose handler swallows the error, then the same cursor goes on in the aborted
# transaction; a `fetchone()` of that client-side cursor reads rows already fetched (no
# statement runs on the server), as a local cursor's does.
_ATTR_CLOSE = """\
import logging

import psycopg2


class Cleaner:
    def __init__(self, dsn):
        self.dsn = dsn
        self.conn = None

    def reset(self):
        try:
            self.conn = psycopg2.connect(self.dsn)
            cur = self.conn.cursor()
            cur.execute("TRUNCATE TABLE events")
            self.conn.commit()
        except psycopg2.DatabaseError:{mark}
            logging.exception("reset failed")
        finally:
{closing}
"""
_ATTR_CURSOR = """\
import logging

import psycopg2


class Store:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.cursor = self.conn.cursor({cursor_args})

    def save(self, url, body):
        try:
            {first}
        except psycopg2.DatabaseError:{mark}
            logging.exception("lookup failed")
        self.cursor.execute("INSERT INTO pages (url, body) VALUES (%s, %s)", (url, body))
        self.conn.commit()

    def close(self):
        self.conn.close()
"""
VALID += [
    Case(_ATTR_CLOSE.format(mark="", closing="            if self.conn is not None:\n"
                                             "                self.conn.close()"),
         note="the `finally` closes the connection attribute (where it is not None): "
              "closing ends the failed transaction, and nobody gets the connection back"),
    Case(_ATTR_CLOSE.format(mark="", closing="            if self.conn:\n"
                                             "                self.conn.close()"),
         note="the same with a truth test on the attribute"),
    Case(_ATTR_CURSOR.format(cursor_args="", mark="",
                             first="row = self.cursor.fetchone()"),
         note="`fetchone()` of a client-side cursor stored on the object reads the rows "
              "`execute()` already brought over: no statement fails on the server"),
]
INVALID += [
    Case(_ATTR_CLOSE.format(mark="  # expect: PS103",
                            closing="            if self.conn is not None:\n"
                                    "                cur.close()"),
         note="look-alike: the `finally` closes only the cursor; the connection attribute "
              "stays in the aborted transaction"),
    Case(_ATTR_CLOSE.format(mark="  # expect: PS103",
                            closing="            if self.dsn is not None:\n"
                                    "                logging.info(\"done\")"),
         note="look-alike: the guard tests another attribute, and nothing closes the "
              "connection"),
    Case(_ATTR_CURSOR.format(cursor_args="", mark="  # expect: PS103",
                             first="self.cursor.execute(\"SELECT id FROM pages WHERE url = %s\", "
                                   "(url,))"),
         note="a cursor stored on the object in `__init__` fails in another method; the "
              "handler swallows the error and the same cursor runs the INSERT in the "
              "aborted transaction"),
    Case(_ATTR_CURSOR.format(cursor_args="\"pages\"", mark="  # expect: PS103",
                             first="row = self.cursor.fetchone()"),
         note="look-alike: a named (server-side) cursor's `fetchone()` runs FETCH on the "
              "server, which can fail and abort the transaction"),
]

# Helper large78b, round 35 (issue 31, from the HELD half of a raw-driver census after its
# figures were recorded: not held): asyncpg's `async with conn.transaction():` sends
# COMMIT when the block ends normally, and PostgreSQL answers COMMIT in a failed
# transaction with ROLLBACK, no error (as psycopg 3's block): a handler that logs the
# failed statement and leaves the block at once commits nothing and reuses nothing.
_ASYNCPG_BLOCK = """\
import logging

import asyncpg

log = logging.getLogger(__name__)


class Store:
    async def start(self, dsn):
        self.pool = await asyncpg.create_pool(dsn=dsn)

    async def insert(self, table, name):
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                try:
                    res = await conn.execute(f"INSERT INTO {{table}} (name) VALUES ($1)", name)
                except asyncpg.IntegrityConstraintViolationError:{mark}
                    log.error("insert into %s failed", table){after}
        return res
"""
VALID += [
    Case(_ASYNCPG_BLOCK.format(mark="", after="\n                    return 0"),
         note="the handler leaves the asyncpg transaction block at once: its COMMIT of the "
              "failed transaction is a ROLLBACK, and nothing runs on it after the error"),
]
INVALID += [
    Case(_ASYNCPG_BLOCK.format(mark="  # expect: PS103", after=(
        "\n                await conn.execute(\"UPDATE stats SET n = n + 1\")")),
         unfixable=("`conn` has no `rollback()` (asyncpg pool connection): wrap the `try` "
                    "body in a savepoint, a nested `async with conn.transaction():`, by hand"),
         note="look-alike: after the swallowed error the block runs another statement on "
              "the failed transaction"),
]

# A handler that swallows only the driver's error for a closed connection and
# re-raises everything else: a closed connection holds no transaction to roll back.
_CLOSED_ONLY = '''
import psycopg2


class Cursor:
    def __init__(self, dsn):
        self.connection = psycopg2.connect(dsn)
        self.cursor = None

    def __enter__(self):
        self.cursor = self.connection.cursor()
        return self.cursor

    def __exit__(self, *args):
        try:
            self.connection.commit()
            self.cursor.close()
        except Exception as error:{mark}
            if {test}:
                raise error
        self.connection.close()
'''
VALID += [
    Case(_CLOSED_ONLY.format(mark="", test='str(error) != "connection already closed"'),
         path="app/pg.py",
         note="the handler swallows only psycopg2's error for a closed connection (no "
              "transaction left) and re-raises every other"),
    Case(_CLOSED_ONLY.format(mark="", test='"connection already closed" not in str(error)'),
         path="app/pg.py",
         note="the same test spelled with `not in`"),
]
INVALID += [
    Case(_CLOSED_ONLY.format(mark="  # expect: PS103",
                             test='str(error) == "connection already closed"'),
         path="app/pg.py",
         note="look-alike: re-raises only the closed-connection error and swallows every "
              "other, the failed commit's among them"),
    Case(_CLOSED_ONLY.format(mark="  # expect: PS103", test='str(error) != "duplicate key"'),
         path="app/pg.py",
         note="look-alike: the text it spares is a failed statement's, whose transaction "
              "is aborted and still open"),
]

# A session handed in as a parameter (the module names no database) in a project
# whose every engine is SQLite's: a `try` whose work on it, followed into the project
# functions it hands the session to, only runs statements leaves the transaction
# usable (SQLite undoes the failed statement alone). `find_actor()` only reads;
# `fetch_actor()` reaches `save_actor()`'s flush (a failed flush leaves the session
# pending rollback whatever the database).
_HANDED_SQLITE_ENGINE = '''
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("{url}")
async_session = async_sessionmaker(engine)
'''
_HANDED_MODELS = '''
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Actor(Base):
    __tablename__ = "actors"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str]
'''
_HANDED_LOOKUP = '''
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Actor


async def find_actor(db_session: AsyncSession, url: str):
    return (await db_session.execute(select(Actor).where(Actor.url == url))).scalar()


async def save_actor(db_session: AsyncSession, url: str):
    actor = Actor(url=url)
    db_session.add(actor)
    await db_session.flush()
    return actor


async def fetch_actor(db_session: AsyncSession, url: str):
    actor = await find_actor(db_session, url)
    if actor is None:
        actor = await save_actor(db_session, url)
    return actor


async def lookup(db_session: AsyncSession, url: str):
    try:
        actor = await {helper}(db_session, url)
        if actor is None:
            httpx.get(url, timeout=5).raise_for_status()
    except Exception:{mark}
        return None
    return actor
'''


def _handed_lookup(helper: str, url: str, note: str, mark: str = "") -> Case:
    return Case(_HANDED_LOOKUP.format(helper=helper, mark=mark), path="app/lookup.py",
                files={"app/db.py": _HANDED_SQLITE_ENGINE.format(url=url),
                       "app/models.py": _HANDED_MODELS}, note=note)


VALID += [
    _handed_lookup("find_actor", "sqlite+aiosqlite:///data.db",
                   "an all-SQLite project; the handed session only reads, through "
                   "`find_actor()`"),
]
INVALID += [
    _handed_lookup("fetch_actor", "sqlite+aiosqlite:///data.db",
                   "look-alike: `fetch_actor()` reaches `save_actor()`'s flush, two "
                   "project functions deep", "  # expect: PS103"),
    _handed_lookup("find_actor", "postgresql+asyncpg://db/app",
                   "look-alike: the project's engine is PostgreSQL's, where a failed "
                   "SELECT aborts the transaction", "  # expect: PS103"),
    Case(_HANDED_LOOKUP.format(helper="find_actor", mark="  # expect: PS103").replace(
        "async def lookup(db_session: AsyncSession, url: str):\n    try:",
        "async def lookup(db_session: AsyncSession, url: str):\n"
        "    db_session.add(Actor(url=url))\n    try:"),
         path="app/lookup.py",
         files={"app/db.py": _HANDED_SQLITE_ENGINE.format(url="sqlite+aiosqlite:///data.db"),
                "app/models.py": _HANDED_MODELS},
         note="look-alike: a row queued before the `try`: the read's autoflush writes it, "
              "and a failed flush leaves the session pending rollback",
         unfixable="the fix would change behaviour beyond the release: in `lookup`: "
                   "`db_session.rollback()` in the handler also undoes "
                   "`db_session.add(Actor(url=url))`, run before the `try` in the same "
                   "transaction, and the code after it goes on as if that were kept"),
]

# issue 31, round 36 (large79): SQLAlchemy 1.x's legacy connection rolls itself back. A
# `Connection` that executes a plain SQL string (allowed only before 2.0) and opens no
# `begin()` runs each statement in "autocommit" mode: when one fails, the connection
# calls its own `_autorollback()` before the error reaches the handler, so the next
# statement is not in an aborted transaction.
_LEGACY_SETUP = '''
import logging

from sqlalchemy import create_engine


def create_database(url, name, owner):
    engine = create_engine(url)
    conn = engine.connect()
    conn.execute("commit")
{before}    try:
        conn.execute('CREATE DATABASE "{{}}"'.format(name))
    except Exception:{mark}
        logging.warning("database already exists")
    conn.execute("GRANT ALL PRIVILEGES ON DATABASE {{}} TO {{}}".format(name, owner))
    conn.close()
'''

VALID += [
    Case(_LEGACY_SETUP.format(before="", mark=""),
         note="SQLAlchemy 1.x: a connection executing plain strings with no `begin()` rolls "
              "back a failed statement itself; the GRANT runs on a clean connection"),
    Case('''
from sqlalchemy import create_engine
from sqlalchemy.exc import ProgrammingError


class Setup:
    def __init__(self, url):
        self.engine = create_engine(url)

    def add_user(self, user, password):
        conn = self.engine.connect()
        try:
            conn.execute("CREATE USER {} WITH PASSWORD '{}'".format(user, password))
        except ProgrammingError:
            pass
        conn.execute("GRANT app_role TO {}".format(user))
        conn.close()
''', note="the same legacy autorollback, the failing statement itself a plain string"),
]
INVALID += [
    Case(_LEGACY_SETUP.format(before="    trans = conn.begin()\n", mark="  # expect: PS103"),
         note="look-alike: an explicit `conn.begin()`: inside a transaction the 1.x "
              "connection does not roll back by itself",
         unfixable="the fix would change behaviour beyond the release: in `create_database`: "
                   "`conn.rollback()` in the handler also undoes `conn.execute(\"commit\")`, "
                   "run before the `try` in the same transaction, and the code after it goes "
                   "on as if that were kept"),
    Case('''
import logging

from sqlalchemy import create_engine, text


def create_database(url, name, owner):
    engine = create_engine(url)
    conn = engine.connect()
    try:
        conn.execute(text('CREATE DATABASE "{}"'.format(name)))
    except Exception:  # expect: PS103
        logging.warning("database already exists")
    conn.execute(text("GRANT ALL PRIVILEGES ON DATABASE {} TO {}".format(name, owner)))
    conn.close()
''', note="look-alike: only `text()` statements: nothing says SQLAlchemy 1.x (2.0's "
          "connection autobegins and stays aborted)"),
    Case('''
import logging

import psycopg2


def create_database(dsn, name, owner):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    try:
        cur.execute('CREATE TABLE "{}" (id int)'.format(name))
    except Exception:  # expect: PS103
        logging.warning("table already exists")
    cur.execute("GRANT ALL PRIVILEGES ON {} TO {}".format(name, owner))
    conn.close()
''', note="look-alike: a DBAPI (psycopg2) connection executing strings: no autorollback"),
]

# One connection attribute, two drivers: each method opens `self.conn` with its own
# driver (`save_mysql()` with PyMySQL, `save_postgresql()` with psycopg2). What a
# method's `self.conn` is comes from its own assignment before the use, not from the
# class's last one: a failed INSERT on PyMySQL aborts nothing (the next statement and
# the commit go on), on psycopg2 the transaction is aborted until a rollback.
_TWO_DRIVERS = """
import logging

import psycopg2
import pymysql

log = logging.getLogger(__name__)


class Store:
    def __init__(self, settings):
        self.settings = settings
        self.conn = None
{first}
{second}
"""
_TWO_DRIVERS_MYSQL = """
    def save_mysql(self, rows):
        self.conn = pymysql.connect(host=self.settings["host"])
        cur = self.conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t (v) VALUES (%s)", (row,))
            except pymysql.Error as error:{mark}
                log.error("insert failed: %s", error)
            self.conn.commit()
        self.conn.close()
"""
_TWO_DRIVERS_PG = """
    def save_postgresql(self, rows):
        self.conn = psycopg2.connect(host=self.settings["host"])
        cur = self.conn.cursor()
        for row in rows:
            try:
                cur.execute("INSERT INTO t (v) VALUES (%s)", (row,))
            except psycopg2.Error as error:{mark}
                log.error("insert failed: %s", error)
            self.conn.commit()
        self.conn.close()
"""
VALID += [
    Case(_TWO_DRIVERS.format(first=_TWO_DRIVERS_MYSQL.format(mark=""),
                             second=_TWO_DRIVERS_PG.format(mark="")
                             .replace("psycopg2.Error as error:",
                                      "psycopg2.Error as error:\n"
                                      "                self.conn.rollback()")),
         note=("the PyMySQL method's `self.conn` is its own PyMySQL connection (a failed "
               "INSERT aborts nothing), though the class's last assignment is psycopg2's")),
]
INVALID += [
    Case(_TWO_DRIVERS.format(first=_TWO_DRIVERS_PG.format(mark="  # expect: PS103"),
                             second=_TWO_DRIVERS_MYSQL.format(mark="")),
         note=("the psycopg2 method's own connection: its aborted transaction goes on, "
               "though the class's last assignment is PyMySQL's")),
    Case(_TWO_DRIVERS.format(first=_TWO_DRIVERS_MYSQL.format(mark=""),
                             second=_TWO_DRIVERS_PG.format(mark="  # expect: PS103")),
         note="the same, the psycopg2 method last"),
]

# Issue 31, round 37 (large80's tune miss, a Pyramid cron script): a session reached
# through a project function whose return annotation names the session type, where what
# it returns cannot be read (`return env["registry"]["db_session_factory"]()`): the
# annotation says what the local name holds, as a parameter's annotation does.
_ANNOTATED_FACTORY = """\
from sqlalchemy.orm import Session


def session_from_config(path: str) -> {returns}:
    env = bootstrap(path)
    return env["registry"]["db_session_factory"]()
"""
_ANNOTATED_UNFIXABLE = (
    "the fix would change behaviour beyond the release: in `generate_stats`: "
    "`db_session.rollback()` in the handler also undoes `db_session.query(Group)`, run before "
    "the `try` in the same transaction, and the code after it goes on as if that were kept; "
    "in `generate_stats`: `db_session.rollback()` in the handler also undoes "
    "`db_session.add(GroupStat(group))`, run before the `try` in the same transaction, and "
    "the code after it goes on as if that were kept")
_ANNOTATED_JOB = """\
from sqlalchemy.exc import IntegrityError

from app.database import session_from_config


def generate_stats(path):
    db_session = session_from_config(path)
    for group in db_session.query(Group).all():
        db_session.add(GroupStat(group))
        try:
            db_session.commit()
        except IntegrityError:{mark}
            {handler}
"""
INVALID += [
    Case(_ANNOTATED_JOB.format(mark="  # expect: PS103", handler="continue"),
         files={"app/database.py": _ANNOTATED_FACTORY.format(returns="Session")},
         path="scripts/generate_stats.py", unfixable=_ANNOTATED_UNFIXABLE,
         note=("a failed commit swallowed in the loop: the next group's query runs in the "
               "session's aborted transaction; the factory's annotation says it is a Session")),
    Case(_ANNOTATED_JOB.format(mark="  # expect: PS103", handler="continue"),
         files={"app/database.py": _ANNOTATED_FACTORY.format(returns='"Optional[Session]"')
                .replace("from sqlalchemy.orm import Session",
                         "from typing import Optional\n\nfrom sqlalchemy.orm import Session")},
         path="scripts/generate_stats.py", unfixable=_ANNOTATED_UNFIXABLE,
         note="the same, annotated `Optional[Session]` in a string"),
]
VALID += [
    Case(_ANNOTATED_JOB.format(mark="", handler="db_session.rollback()"),
         files={"app/database.py": _ANNOTATED_FACTORY.format(returns="Session")},
         path="scripts/generate_stats.py",
         note="the handler rolls the failed transaction back"),
    Case(_ANNOTATED_JOB.format(mark="", handler="continue"),
         files={"app/database.py": _ANNOTATED_FACTORY.format(returns="dict")},
         path="scripts/generate_stats.py",
         note="the factory's annotation names no session type: nothing says what it returns"),
    Case(_ANNOTATED_JOB.format(mark="", handler="continue")
         .replace("    db_session = session_from_config(path)\n",
                  "    db_session = session_from_config(path)\n"
                  "    if db_session is None:\n"
                  "        db_session = load_cache(path)\n"),
         files={"app/database.py": _ANNOTATED_FACTORY.format(returns="Session")},
         path="scripts/generate_stats.py",
         note="the name is also bound to something else: not known to be the session"),
]

# Helper large82, round 38 (issue 31, from large82's TUNE half: a sync tool's set-up helper): a
# helper that swallows a failed statement and gives back a falsy value, whose every caller
# (tests aside) opened the connection itself and raises at once on that value (`if not
# helper(conn): raise ...`, outside any `try`): the failure leaves the caller with the
# connection, and nothing meets the failed transaction. A caller that logs and goes on, or one
# that got the connection from its own caller, keeps it reported.

VALID += [
    Case("""
import psycopg2
import psycopg2.extensions


class SetupError(Exception):
    pass


def _enable_extension(conn: psycopg2.extensions.connection, name):
    cur = conn.cursor()
    try:
        cur.execute(f"CREATE EXTENSION {name}")
        return True
    except psycopg2.ProgrammingError:
        return False


def prepare(dsn):
    conn = psycopg2.connect(dsn)
    if not _enable_extension(conn, "postgis"):
        raise SetupError("cannot enable postgis")
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS gis")
    conn.commit()
    conn.close()
""", note="the only caller opened the connection and raises when the helper fails"),
]

INVALID += [
    Case("""
import logging

import psycopg2
import psycopg2.extensions


def _enable_extension(conn: psycopg2.extensions.connection, name):
    cur = conn.cursor()
    try:
        cur.execute(f"CREATE EXTENSION {name}")
        return True
    except psycopg2.ProgrammingError:  # expect: PS103
        return False


def prepare(dsn):
    conn = psycopg2.connect(dsn)
    if not _enable_extension(conn, "postgis"):
        logging.warning("postgis unavailable, going on without it")
    with conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS gis")
    conn.commit()
    conn.close()


def _enable_other(conn: psycopg2.extensions.connection, name):
    cur = conn.cursor()
    try:
        cur.execute(f"CREATE EXTENSION {name}")
        return True
    except psycopg2.ProgrammingError:  # expect: PS103
        return False


def prepare_shared(conn):
    if not _enable_other(conn, "postgis"):
        raise RuntimeError("cannot enable postgis")
""", note=("look-alike: a caller that logs and goes on with the connection; a caller "
               "that raises but was handed the connection by its own caller")),
]

# round 39 (lead83): psycopg 3 refuses `rollback()` inside `conn.transaction()`
# (`ProgrammingError`): the finding stands (the next statement runs in the aborted
# transaction) and advises a savepoint; `fix` offers no rollback there, whether the
# block is written in the function or in the project context manager that yields the
# connection from inside one.
_PSYCOPG_BLOCK_REASON = (
    "psycopg 3 refuses `conn.rollback()` inside `{block}` (`ProgrammingError`): wrap the "
    "`try` body in a savepoint, a nested `conn.transaction()` block, by hand")

#: a psycopg_pool pool and the project context manager that yields its connection
#: from inside a transaction block
_PSYCOPG_TRANSACTION_CM = """\
import logging
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool("postgresql://db/app", open=False)


@asynccontextmanager
async def transaction():
    async with pool.connection() as conn:
        async with conn.transaction():
            yield conn


"""

_PSYCOPG_BLOCK_MODULE = _PSYCOPG_TRANSACTION_CM + """\
async def count_users():
    async with {entered}:
        try:
            await conn.execute("INSERT INTO audit VALUES (1)")
        except Exception:  # expect: PS103
            logging.exception("audit failed")
        cur = await conn.execute("SELECT count(*) FROM users")
        return await cur.fetchone()
"""

INVALID += [
    Case(_PSYCOPG_BLOCK_MODULE.format(entered="pool.connection() as conn, conn.transaction()"),
         note="inside the function's own psycopg 3 transaction block: no rollback fix",
         unfixable=_PSYCOPG_BLOCK_REASON.format(block="conn.transaction()")),
    Case(_PSYCOPG_BLOCK_MODULE.format(entered="transaction() as conn"),
         note=("the project context manager yields the connection from inside its "
               "transaction block: no rollback fix"),
         unfixable=_PSYCOPG_BLOCK_REASON.format(block="transaction()")),
]

#: psycopg2: a load into a staging table whose handler is `{handler}`
_STAGING_LOAD = """\
{imports}import psycopg2


def load(dsn, rows):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.executemany("INSERT INTO staging VALUES (%s)", rows)
{handler}
        conn.commit()
    finally:
        conn.close()
"""


def _staging_load(handler: str, *, logs: bool = True, lead: str = "\n") -> str:
    return lead + _STAGING_LOAD.format(imports="import logging\n\n" if logs else "",
                                       handler=handler.rstrip("\n"))


# round 40 (prec84): a handler that uses the connection for a clean-up and then
# re-raises swallows nothing. A best-effort clean-up (in a `try` of its own whose
# handler takes its failure) changes nothing the caller sees: not reported. An
# unguarded clean-up runs in the aborted transaction, fails, and its error is what the
# caller gets: reported, with a message that says so (not "swallows").
_CLEANUP_MODULE = _PSYCOPG_TRANSACTION_CM + """\
async def with_schema(name):
    async with transaction() as conn:
        try:
            await conn.execute(f"CREATE SCHEMA {name}")
            yield name
        except Exception as e:@MARK@
            logging.error("schema creation failed: %s", e)
@CLEANUP@
            raise
"""

_GUARDED_CLEANUP = """\
            try:
                await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            except Exception as cleanup_error:
                logging.error("schema cleanup failed: %s", cleanup_error)"""

VALID += [
    Case(_CLEANUP_MODULE.replace("@MARK@", "").replace("@CLEANUP@", _GUARDED_CLEANUP),
         note=("a best-effort clean-up in a `try` of its own, then a bare `raise`: the "
               "caller gets the error caught; the transaction block rolls back")),
    Case(_staging_load("""\
        except psycopg2.Error as e:
            logging.error("load failed: %s", e)
            try:
                cur.execute("DELETE FROM staging")
            except psycopg2.Error:
                logging.exception("clean-up failed")
            raise RuntimeError("load failed") from e
"""), note="a guarded clean-up before raising a new error: the new error reaches the caller"),
    Case(_staging_load("""\
        except Exception:
            conn.rollback()
            cur.execute("DELETE FROM staging")
            conn.commit()
            raise
""", logs=False), note="a rollback, then the clean-up in a fresh transaction, then `raise`"),
]

INVALID += [
    Case(_CLEANUP_MODULE.replace("@MARK@", "  # expect: PS103").replace(
        "@CLEANUP@", '            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")'),
        note=("an unguarded clean-up before `raise` runs in the aborted transaction: it "
              "fails and its error replaces the one caught"),
        unfixable=_PSYCOPG_BLOCK_REASON.format(block="transaction()")),
    Case(_staging_load("""\
        except Exception:  # expect: PS103
            logging.exception("load failed")
            cur.execute("DELETE FROM staging")
            raise
"""), note=("log, an unguarded clean-up, then `raise`: the clean-up fails in the aborted "
          "transaction")),
    Case(_staging_load("""\
        except Exception:  # expect: PS103
            try:
                cur.execute("DELETE FROM staging")
            except Exception:  # expect: PS103
                logging.exception("clean-up failed")
            cur.execute("INSERT INTO load_log VALUES ('failed')")
"""), note=("look-alike: a guarded clean-up in a handler that does not re-raise, then more "
           "work in the aborted transaction")),
]

# round 40 (prec84): a `commit()` before the `raise` on a raw psycopg2 connection: the
# server answers COMMIT of an aborted transaction with ROLLBACK and nothing raises, so
# it ends the failed transaction and the error caught reaches the caller. On a
# SQLAlchemy session the commit raises `PendingRollbackError` instead of the error
# caught; in a handler that does not re-raise, the commit silently drops the work.
_COMMIT_THEN_RAISE = _staging_load("""\
        except Exception:@MARK@
            conn.commit()
@RAISE@
""", logs=False, lead="")

VALID += [
    Case(_COMMIT_THEN_RAISE.replace("@MARK@", "").replace("@RAISE@", "            raise"),
         note="psycopg2: a commit of the aborted transaction rolls it back, then `raise`"),
]

INVALID += [
    Case(_SESSION + """

def load(rows):
    with SessionLocal() as session:
        try:
            session.add_all(rows)
            session.flush()
        except IntegrityError:  # expect: PS103
            session.commit()
            raise
""", note=("look-alike: a SQLAlchemy session's commit after a failed flush raises "
           "PendingRollbackError instead of the error caught")),
    Case(_COMMIT_THEN_RAISE.replace("@MARK@", "  # expect: PS103").replace(
        "@RAISE@", "            cur.execute(\"INSERT INTO load_log VALUES ('failed')\")"),
         note="look-alike: psycopg2, the handler commits and goes on without re-raising"),
]

# issue 31, round 41 (prec85b): the same `commit()` before `raise` on a psycopg 3
# connection. Run against PostgreSQL 127.0.0.1 with psycopg 3.3.9: after a failed
# statement (transaction status INERROR) `conn.commit()`, sync or async, returns
# without raising and leaves the connection IDLE (the server answered ROLLBACK), so the
# error caught reaches the caller. Inside `with conn.transaction():` psycopg 3 refuses
# the commit (`ProgrammingError: Explicit commit() forbidden within a Transaction
# context`), and that error is what the caller gets: still reported.
_PSYCOPG3_COMMIT_THEN_RAISE = """\
import psycopg


def load(dsn, rows):
    conn = psycopg.connect(dsn)
    try:
        cur = conn.cursor()
        try:
            cur.executemany("INSERT INTO staging VALUES (%s)", rows)
        except Exception:@MARK@
            conn.commit()
@RAISE@
        conn.commit()
    finally:
        conn.close()
"""

VALID += [
    Case(_PSYCOPG3_COMMIT_THEN_RAISE.replace("@MARK@", "").replace("@RAISE@", "            raise"),
         note="psycopg 3: a commit of the failed transaction rolls it back, then `raise`"),
    Case("""\
from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool("postgresql://db/app", open=False)


async def load(rows):
    async with pool.connection() as conn:
        cur = conn.cursor()
        try:
            await cur.executemany("INSERT INTO staging VALUES (%s)", rows)
        except Exception:
            await conn.commit()
            raise
""", note="psycopg 3 async, a pool's connection: the commit rolls back, then `raise`"),
]

INVALID += [
    Case("""\
import psycopg


def load(dsn, rows):
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            cur = conn.cursor()
            try:
                cur.executemany("INSERT INTO staging VALUES (%s)", rows)
            except Exception:  # expect: PS103
                conn.commit()
                raise
""", note=("look-alike: inside `conn.transaction()` psycopg 3 refuses the commit, and its "
           "ProgrammingError replaces the error caught"),
         unfixable=_PSYCOPG_BLOCK_REASON.format(block="conn.transaction()")),
    Case(_PSYCOPG3_COMMIT_THEN_RAISE.replace("@MARK@", "  # expect: PS103").replace(
        "@RAISE@", "            cur.execute(\"INSERT INTO load_log VALUES ('failed')\")"),
         note="look-alike: psycopg 3, the handler commits and goes on without re-raising"),
]

# An earlier handler of the same `try` takes every database error of the resource
# (`except SQLAlchemyError: rollback()`, the driver's base error): a later broad
# handler only ever sees other errors (lead86, from large86's held half).
_EARLIER_HANDLER_TAKES_DB_ERRORS = """\
from sqlalchemy import create_engine
from sqlalchemy.exc import @FIRST@
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://db/tokens", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


def renew(token):
    token.renewed = True
    return token


def refresh(Token):
    for token in Session.query(Token).all():
        try:
            Session.merge(renew(token))
            Session.commit()
        except @FIRST@:
            Session.rollback()
        except Exception:@MARK@
            print("renewal failed", token.id)
"""

VALID += [
    Case(_EARLIER_HANDLER_TAKES_DB_ERRORS.replace("@FIRST@", "SQLAlchemyError")
         .replace("@MARK@", ""),
         note="`except SQLAlchemyError: rollback()` first: the broad handler sees no DB error"),
    Case("""\
import psycopg2
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 5, "dbname=shop")


def archive(order_ids):
    conn = pool.getconn()
    try:
        for order_id in order_ids:
            try:
                with conn.cursor() as cur:
                    cur.execute("UPDATE orders SET archived = true WHERE id = %s", (order_id,))
                conn.commit()
            except psycopg2.Error:
                conn.rollback()
            except Exception:
                print("could not archive", order_id)
    finally:
        pool.putconn(conn)
""", note="psycopg2: `except psycopg2.Error: rollback()` first, then a broad handler"),
]

INVALID += [
    Case(_EARLIER_HANDLER_TAKES_DB_ERRORS.replace("@FIRST@", "IntegrityError")
         .replace("@MARK@", "  # expect: PS103"),
         note=("look-alike: the first handler takes only IntegrityError; an OperationalError "
               "reaches the broad handler, which swallows it"),
         unfixable=("the fix would change behaviour beyond the release: in `refresh`: "
                    "`Session.rollback()` in the handler also undoes `Session.query(Token)`, "
                    "run before the `try` in the same transaction, and the code after it goes "
                    "on as if that were kept")),
]

# fix86: a model's `delete()` whose only call of that name in the project is its own
# `db.session.delete(self)`, a session's method: no caller leaves a request after it
# (there is no caller), so it is reported as a helper nobody calls is.
INVALID += [
    Case("""\
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Removable:
    def delete(self):
        try:
            db.session.delete(self)
            db.session.commit()
            return True
        except Exception as exc:  # expect: PS103
            print("not removed:", exc)
            return False
""", note="a model mixin's delete(): the same-named call is the session's, not a caller"),
]

# breadth87: a pool hands back a broken connection and opens a new one in its place; the
# `try` only rebinds the name and stores the new connection in a container: nothing runs
# on it that could fail on the server.
_REPLACE_BROKEN = """\
import asyncio
from contextlib import asynccontextmanager

import psycopg


class Pool:
    def __init__(self, dsn):
        self._dsn = dsn
        self._queue = asyncio.Queue()
        self._all = {holder}

    async def _connect(self):
        return await psycopg.AsyncConnection.connect(self._dsn)

    @asynccontextmanager
    async def connection(self):
        conn = await self._queue.get()
        try:
            yield conn
        finally:
            if conn.closed or conn.broken:
                try:
                    conn = await self._connect()
                    self._all.{store}(conn)
                except Exception:
                    pass
            self._queue.put_nowait(conn)
"""

VALID += [
    Case(_REPLACE_BROKEN.format(holder="[]", store="append"),
         note="a broken connection replaced: the new one is appended to a list, no SQL"),
    Case(_REPLACE_BROKEN.format(holder="set()", store="add"),
         note="the same with a set's add()"),
]

VALID += [
    Case("""
import logging

import psycopg2

log = logging.getLogger(__name__)


def open_tuned(dsn):
    conn = psycopg2.connect(dsn)
    conn.commit()
    conn.autocommit = False
    curs = conn.cursor()
    try:
        curs.execute("SET plpgsql.extra_warnings TO 'all'")
    except Exception:
        log.exception("cannot enable plpgsql.extra_warnings")
    finally:
        curs.close()
        conn.commit()
    curs = conn.cursor()
    try:
        curs.execute("SET statement_timeout TO 30000")
    except Exception:
        log.exception("cannot set statement_timeout")
    finally:
        curs.close()
        conn.commit()
    return conn
""", note="each failed SET was its transaction's only work, and the finally's commit ends it"),
]

INVALID += [
    Case("""
import logging

import psycopg2

log = logging.getLogger(__name__)


def record(dsn, name):
    conn = psycopg2.connect(dsn)
    conn.commit()
    curs = conn.cursor()
    curs.execute("INSERT INTO runs (name) VALUES (%s)", (name,))
    try:
        curs.execute("INSERT INTO run_log (name) VALUES (%s)", (name,))
    except Exception:  # expect: PS103
        log.exception("cannot log the run")
    finally:
        curs.close()
        conn.commit()
    return conn
""", note="look-alike: the INSERT before the try is in the same transaction, and the commit "
          "silently throws it away",
         unfixable=("the fix would change behaviour beyond the release: in `record`: "
                    "`conn.rollback()` in the handler also undoes `curs.execute(\"INSERT INTO "
                    "runs (name) VALUES (%s)\", (name,))`, run before the `try` in the same "
                    "transaction, and the code after it goes on as if that were kept")),
    Case("""
import logging

import psycopg2

log = logging.getLogger(__name__)


def tune(dsn):
    conn = psycopg2.connect(dsn)
    curs = conn.cursor()
    try:
        curs.execute("SET statement_timeout TO 30000")
        curs.execute("INSERT INTO tuned (at) VALUES (now())")
    except Exception:  # expect: PS103
        log.exception("cannot tune")
    finally:
        curs.close()
        conn.commit()
    return conn
""", note="look-alike: two statements in the try; when the second fails the commit drops "
          "the first",
         unfixable=("a rollback or savepoint would also undo `SET statement_timeout TO 30000` "
                    "(SET set earlier in this transaction), and the statements after it would "
                    "run without it")),
]

# A `try` whose only work on a psycopg2/psycopg connection is its `commit()`: a failed
# COMMIT has ended the transaction (checked on PostgreSQL: a deferred foreign key that
# fails at commit leaves psycopg2's and psycopg's transaction status idle and the next
# statement runs), so there is no aborted transaction to roll back (round 43, lead87).
_ONLY_COMMITS = """
import logging

import psycopg2

log = logging.getLogger(__name__)


class Store:
    def __init__(self, dsn):
        self.connection = psycopg2.connect(dsn)
        self.cursor = self.connection.cursor()

    def save(self, name):
        self.cursor.execute("INSERT INTO items (name) VALUES (%s)", (name,))

    def commit(self):
        try:
@BODY@
        except Exception as e:@MARK@
            log.error("commit failed: %s", e)
            return e
        return None
"""
VALID.append(Case(_ONLY_COMMITS.replace("@BODY@", "            self.connection.commit()")
                  .replace("@MARK@", ""),
                  note="the try only commits: a failed COMMIT has already ended the "
                       "transaction, so there is nothing to roll back"))
VALID.append(Case(_ONLY_COMMITS.replace("@BODY@", "            self.connection.commit()\n"
                                                  "            if close:\n"
                                                  "                self.connection.close()")
                  .replace("def commit(self):", "def commit(self, close=True):")
                  .replace("@MARK@", ""),
                  note="the try commits, then closes under a flag: a failed close comes "
                       "after the commit, no transaction is left"))
VALID.append(Case("""
import psycopg


def close_out(dsn, rows):
    conn = psycopg.connect(dsn)
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO out_rows (v) VALUES (%s)", rows)
    try:
        conn.commit()
    except psycopg.Error:
        print("not stored")
    conn.close()
""", note="psycopg 3: the try only commits; after a failed commit the connection is idle"))
INVALID += [
    Case(_ONLY_COMMITS.replace("@BODY@", "            self.cursor.execute(\"DELETE FROM items\")\n"
                                         "            self.connection.commit()")
         .replace("@MARK@", "  # expect: PS103"),
         note="look-alike: a failed DELETE in the try leaves the transaction aborted"),
]

# flask-sock's `@sock.route(...)` is a Flask view: the application context is torn down
# when the WebSocket handler returns, and the teardown removes the scoped session
# (round 43, lead87).
_SOCK_ROUTE = """
from flask import Flask
from flask_sock import Sock
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

app = Flask(__name__)
sock = Sock(app)
engine = create_engine("postgresql://tags@db/tags", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


@app.teardown_appcontext
def remove_session(exc=None):
    Session.remove()


def add_tags(item_id, tags):
    for tag in tags:
        Session.execute(text("INSERT INTO tags (item, tag) VALUES (:i, :t)"),
                        {"i": item_id, "t": tag})
    Session.commit()


@sock.route("/ws/<int:item_id>")
def tags_socket(ws, item_id):
    try:
        add_tags(item_id, ws.receive().split(","))
    except Exception as e:@MARK@
        ws.send(str(e))
@AFTER@"""
VALID.append(Case(_SOCK_ROUTE.replace("@MARK@", "").replace("@AFTER@", ""),
                  note="a flask-sock WebSocket route returns right after the handler, and "
                       "the app context's teardown removes the session"))
INVALID += [
    Case(_SOCK_ROUTE.replace("@MARK@", "  # expect: PS103").replace(
        "@AFTER@", "    Session.execute(text(\"UPDATE items SET seen = true WHERE id = :i\"),\n"
                   "                    {\"i\": item_id})\n    Session.commit()\n"),
         note="look-alike: the route goes on to use the failed session after the handler"),
]

# Flask-SQLAlchemy through a project subclass that only overrides an engine option
# hook (the documented `pool_pre_ping` workaround): its `db.session` is the
# extension's scoped session, as a plain `SQLAlchemy()`'s is (round 44, fresh88).
_HOOKED_EXTENSION = {"app/extensions.py": """
from flask_sqlalchemy import SQLAlchemy as _BaseSQLAlchemy


class SQLAlchemy(_BaseSQLAlchemy):
    def apply_pool_defaults(self, app, options):
        options["pool_pre_ping"] = True
        super().apply_pool_defaults(app, options)


db = SQLAlchemy()
""", "app/models.py": """
from app.extensions import db


class Call(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String(20))
"""}
_HOOKED_VIEW = """
from flask import Blueprint, request
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import Call

bp = Blueprint("call", __name__)


@bp.route("/complete", methods=["POST"])
def complete():
    try:
        db.session.add(Call(status=request.values.get("status", "unknown")))
        db.session.commit()
    except SQLAlchemyError:@MARK@
@HANDLER@
    done = db.session.query(Call).filter_by(status="completed").count()
    return str(done)
"""
INVALID.append(Case(_HOOKED_VIEW.replace("@MARK@", "  # expect: PS103").replace(
    "@HANDLER@", "        print(\"failed to log call\")"),
    path="app/views.py", files=_HOOKED_EXTENSION,
    note="the hooked subclass's db.session: the view swallows a failed commit and queries "
         "the failed session"))
VALID.append(Case(_HOOKED_VIEW.replace("@MARK@", "").replace(
    "@HANDLER@", "        db.session.rollback()\n        print(\"failed to log call\")"),
    path="app/views.py", files=_HOOKED_EXTENSION,
    note="look-alike: the handler rolls the hooked subclass's session back"))

# `with session:` on a SQLAlchemy session the caller handed in: `Session.__exit__`
# closes it, so a failure swallowed inside the block is rolled back when the block is
# left, `return` included; the caller gets a closed session that starts afresh
# (round 44, fresh88).
_WITH_HANDED = """
from sqlalchemy import select, update
from sqlalchemy.orm import Session


class Wallets:
    def __init__(self, table):
        self.table = table

    def spend(self, user_id: int, amount: int, session: Session):
        with session:
            try:
                row = session.execute(select(self.table).where(self.table.id == user_id)).scalar()
                row.balance -= amount
                session.commit()
            except Exception:@MARK@
                return None
@AFTER@
            return row
"""
VALID.append(Case(_WITH_HANDED.replace("@MARK@", "").replace("@AFTER@", ""),
                  note="the handler leaves the `with session:` block, whose exit closes "
                       "the failed session"))
INVALID.append(Case(_WITH_HANDED.replace("@MARK@", "  # expect: PS103").replace(
    "                return None\n", "                row = None\n").replace(
    "@AFTER@", "            session.execute(update(self.table).values(seen=True))\n"
               "            session.commit()"),
    note="look-alike: the block goes on with the failed session after the handler"))

# A handler that no database error reaches while a transaction is open: the `try`
# calls a project method that swallows its own statement errors (rolling back), a
# `connect()` that swallows its own, and the psycopg2 connection's `commit()` (a failed
# COMMIT has ended the transaction) and `close()` (round 44, prec88).
_ERRORS_ONLY_AFTER_END = """
import logging

import psycopg2

log = logging.getLogger(__name__)


class Loader:
    def __init__(self, dsn):
        self.dsn = dsn
        self.connection = None
        self.cursor = None

    def connect(self):
        try:
            self.connection = psycopg2.connect(self.dsn)
            self.cursor = self.connection.cursor()
        except Exception as e:
            log.error("cannot connect: %s", e)

    def execute(self, sql):
        try:
            self.cursor.execute(sql)
        except Exception as e:
            log.error("statement failed: %s", e)
            self.connection.rollback()
            return -1
        return self.cursor.rowcount

    def insert(self, sql):
        self.cursor.execute(sql)
        return self.cursor.rowcount

    def load(self, name, sql):
        try:
            self.connect()
            log.info("loading %s", name)
@WORK@
            self.connection.commit()
            self.connection.close()
        except Exception as e:@MARK@
            log.error("loading %s failed: %s", name, e)
            return -1
        return 0
"""
VALID.append(Case(_ERRORS_ONLY_AFTER_END.replace("@WORK@", "            self.execute(sql)")
                  .replace("@MARK@", ""),
                  note="the statement's errors stay in execute(), which rolls back; connect() "
                       "swallows its own; a failed commit has ended the transaction"))
INVALID += [
    Case(_ERRORS_ONLY_AFTER_END.replace("@WORK@", "            self.cursor.execute(sql)")
         .replace("@MARK@", "  # expect: PS103"),
         note="look-alike: the statement runs in the try itself, its error reaches the "
              "handler in the failed transaction"),
    Case(_ERRORS_ONLY_AFTER_END.replace("@WORK@", "            self.insert(sql)")
         .replace("@MARK@", "  # expect: PS103"),
         note="look-alike: the method called runs the statement without catching its "
              "error"),
]

# The failed statement was its transaction's only work, and the `finally` commits
# (psycopg2: COMMIT of the aborted transaction is a ROLLBACK on the server and raises
# nothing; checked on PostgreSQL 2026-11-29): also with the connection on an attribute
# and with the `try` inside `with conn.cursor() as curs:` (round 44, prec88).
_TUNE_ON_OBJECT = """
import logging

import psycopg2

log = logging.getLogger(__name__)


class Db:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)

    def record(self):
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO opened (at) VALUES (now())")

    def tune(self):
        self.conn.commit()
@BEFORE@
        curs = self.conn.cursor()
        try:
            curs.execute("SET lock_timeout TO 5000")
        except Exception:@MARK@
            log.exception("cannot set lock_timeout")
        finally:
            curs.close()
            self.conn.commit()
"""
VALID.append(Case(_TUNE_ON_OBJECT.replace("@BEFORE@", "").replace("@MARK@", ""),
                  note="the object's connection was committed right before: the failed SET "
                       "was the transaction's only work"))
_TUNE_IN_CURSOR_BLOCK = """
import logging

import psycopg2

log = logging.getLogger(__name__)


def open_tuned(dsn):
    conn = psycopg2.connect(dsn)
    with conn.cursor() as curs:
@BEFORE@
        try:
            curs.execute("SELECT set_config('lock_timeout', '5000', false)")
        except Exception:@MARK@
            log.exception("cannot set lock_timeout")
        finally:
            conn.commit()
    return conn
"""
VALID.append(Case(_TUNE_IN_CURSOR_BLOCK.replace("@BEFORE@", "").replace("@MARK@", ""),
                  note="a fresh connection; the try sits in the cursor's `with`, whose exit "
                       "closes only the cursor"))
INVALID += [
    Case(_TUNE_ON_OBJECT.replace("@BEFORE@", "        self.record()")
         .replace("@MARK@", "  # expect: PS103"),
         note="look-alike: a method inserts on the connection after the commit; the "
              "finally's commit throws that INSERT away",
         unfixable=("a rollback or savepoint would also undo `SET lock_timeout TO 5000` "
                    "(SET set earlier in this transaction), and the statements after it "
                    "would run without it")),
    Case(_TUNE_IN_CURSOR_BLOCK.replace(
        "@BEFORE@", "        curs.execute(\"INSERT INTO opened (at) VALUES (now())\")")
         .replace("@MARK@", "  # expect: PS103"),
         note="look-alike: an INSERT in the same transaction before the try is lost",
         unfixable=("a rollback or savepoint would also undo `SELECT set_config("
                    "'lock_timeout', '5000', false)` (set_config() set earlier in this "
                    "transaction), and the statements after it would run without it")),
]
