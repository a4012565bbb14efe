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
""", unfixable="a rollback would also undo `SET search_path TO %s` (SET set earlier in "
               "this transaction), and the statements after it would run without it",
         note="psycopg2 has no savepoint context manager, and a rollback reverts search_path"),
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
         # stores in the original's stead (issue #30, class 5)
         unfixable="the fix would change behaviour beyond the release: in `import_rows`: "
                   "`conn.rollback()` in the handler also undoes `cur.execute(\"INSERT INTO "
                   "t VALUES (%s)\", row)`, run before the `try` in the same transaction, "
                   "and the code after it goes on as if that were kept"),
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
]

VALID: list[Case] = [
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
]
