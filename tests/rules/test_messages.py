"""Messages say exactly what is wrong and how the project releases: "never" only
when no path gives the connection back, and the release with its real signature."""

from __future__ import annotations

from poolsafe.rules.base import Case
from poolsafe.rules.cases.ps102 import _PG_POOL, _TUPLE_WRAPPERS
from poolsafe.scan.engine import ScanOptions, scan_sources


def _messages(files: dict[str, str]) -> list[tuple[int, str]]:
    result = scan_sources(files, ScanOptions(select={"PS102"}))
    return [(f.line, f.message) for f in result.findings if f.path == "app.py"]


def test_tuple_wrapper_messages_name_both_arguments() -> None:
    app = '''from db import close_conn, get_conn


def leaky():
    conn, cur = get_conn()
    cur.execute("SELECT 1")
    close_conn(conn, cur)


def never():
    conn, cur = get_conn()
    cur.execute("SELECT 1")
'''
    assert _messages({"db.py": _TUPLE_WRAPPERS, "app.py": app}) == [
        (5, "psycopg2 pool connection `conn` from `get_conn()` is not returned to the pool "
            "if an exception is raised"
            ": the pool keeps counting it as checked out and never takes it back, so each failing "
            "call loses a pool slot for good"
            "; use try/finally: close_conn(conn, cur)"),
        (11, "psycopg2 pool connection `conn` from `get_conn()` is never returned to the "
             "pool; use try/finally: close_conn(conn, cur)"),
    ]


def test_a_release_wrapper_with_the_connection_second() -> None:
    db = _PG_POOL + '''

def lease():
    return pool.getconn()


def unlease(name, conn):
    print("returning", name)
    pool.putconn(conn)
'''
    app = '''from db import lease, unlease


def work():
    c = lease()
    c.cursor().execute("SELECT 1")
    unlease("work", c)
'''
    [(line, message)] = _messages({"db.py": db, "app.py": app})
    assert line == 5
    assert message.endswith("use try/finally: unlease(name, c)"), message
    assert "if an exception is raised" in message


def test_not_on_every_path_is_not_never() -> None:
    app = '''from db import close_conn, get_conn


def early(flag):
    conn, cur = get_conn()
    if flag:
        return None
    close_conn(conn, cur)
'''
    [(line, message)] = _messages({"db.py": _TUPLE_WRAPPERS, "app.py": app})
    assert line == 5
    assert "is not returned to the pool on every path" in message and "never" not in message


def test_a_wrapper_named_like_a_pool_suggests_the_pools_release() -> None:
    app = '''import asyncpg


class Db:
    pool: asyncpg.Pool

    @staticmethod
    async def get_pool():
        return await Db.pool.acquire()


async def work():
    conn = await Db.get_pool()
    await conn.execute("SELECT 1")
    await Db.pool.release(conn)
'''
    [(line, message)] = _messages({"app.py": app})
    assert line == 13
    assert message.endswith("use try/finally: await Db.pool.release(conn)"), message


def test_no_message_has_an_unfilled_placeholder() -> None:
    import re

    from poolsafe.rules import ALL_RULES

    seen = 0
    for rule in ALL_RULES:
        for case in rule.INVALID:
            result = scan_sources({**case.files, case.path: case.code},
                                  ScanOptions(select={rule.code}))
            for f in result.findings:
                seen += 1
                assert not re.search(r"\{\w*\}", f.message), (rule.code, f.message)
    assert seen > 100


def test_the_safe_form_uses_the_projects_factory_name() -> None:
    app = '''from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
import psycopg

Session = sessionmaker(bind=create_engine("postgresql://app@db/app"))


def work():
    s = Session()
    s.execute(text("SELECT 1"))
    s.close()


def raw(dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute("SELECT 1")
    conn.close()
'''
    # (the direct connection's exception-only gap is reported with
    # `direct-connections = "strict"` only: PS102's direct-connection policy)
    strict = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n'}
    assert _messages({"app.py": app, **strict}) == [
        (9, "SQLAlchemy session `s` from `Session()` is not closed if an exception is "
            "raised"
            ": the failed call leaves it in a reference cycle, so it stays checked out of the pool "
            "after the caller has handled the error, until Python's garbage collector runs (the "
            "pool then takes it back, silently); a burst of failing calls can exhaust the "
            "pool before that"
            "; use with Session() as s"),
        (15, "psycopg connection `conn` from `psycopg.connect()` is not closed if an "
             "exception is raised; use with psycopg.connect(...) as conn"),
    ]


def test_a_session_from_a_project_wrapper_is_advised_as_the_fix_writes_it() -> None:
    # the factory is `sessionLocal` and reached through `get_session()`: no
    # `with SessionLocal() as session` (a name the project does not have); the fix
    # puts `session.close()` in `finally`, and the message says that
    db = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

sessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))


def get_session():
    return sessionLocal()
"""
    app = """from db import get_session


def populate(rows):
    session = get_session()
    session.add_all(rows)
    session.commit()
    session.close()
"""
    assert _messages({"db.py": db, "app.py": app}) == [
        (5, "SQLAlchemy session `session` from `get_session()` is not closed if an "
            "exception is raised"
            ": the failed call leaves it in a reference cycle, so it stays checked out of the pool "
            "after the caller has handled the error, until Python's garbage collector runs (the "
            "pool then takes it back, silently); a burst of failing calls can exhaust the "
            "pool before that"
            "; use try/finally: session.close()"),
    ]


def test_hints_name_a_release_the_caller_can_write() -> None:
    """A classmethod acquirer's release is the sibling classmethod, named through the
    class (never a mangled `Database.__pool`); a pool private to another module is
    not suggested (the pooled connection's own close() is)."""
    db = '''from psycopg2 import pool
import asyncpg

_apool = None


async def init():
    global _apool
    _apool = await asyncpg.create_pool("postgresql://")


async def get_aconn():
    return await _apool.acquire()


class Database:
    __pool = pool.SimpleConnectionPool(1, 10, dsn="dbname=app")

    @classmethod
    def get_connection(cls):
        return cls.__pool.getconn()

    @classmethod
    def put_connection(cls, conn):
        cls.__pool.putconn(conn)
'''
    app = '''from db import Database, get_aconn


def handler():
    conn = Database.get_connection()
    conn.cursor().execute("SELECT 1")
    Database.put_connection(conn)


async def consume(items):
    conn = await get_aconn()
    for item in items:
        await conn.execute("INSERT INTO t VALUES ($1)", item)
'''
    assert _messages({"db.py": db, "app.py": app}) == [
        (5, "psycopg2 pool connection `conn` from `Database.get_connection()` is not "
            "returned to the pool if an exception is raised"
            ": the pool keeps counting it as checked out and never takes it back, so each failing "
            "call loses a pool slot for good"
            "; use try/finally: "
            "Database.put_connection(conn)"),
        (11, "asyncpg pool connection `conn` from `get_aconn()` is never returned to the "
             "pool; use try/finally: await conn.close()"),
    ]


def test_a_release_skipped_by_an_unbound_read_says_so() -> None:
    app = '''from mysql.connector import pooling

cnxpool = pooling.MySQLConnectionPool(pool_name="app", pool_size=5, host="db")


def rename(sql):
    try:
        conn = cnxpool.get_connection()
        cur = conn.cursor()
        cur.execute(sql)
    finally:
        cur.close()
        conn.close()
'''
    assert _messages({"app.py": app}) == [
        (8, "mysql.connector pooled connection `conn` from `cnxpool.get_connection()` is not "
            "closed if an exception is raised: `cur.close()` reads `cur`, which is not bound "
            "yet when an earlier line raised, and its UnboundLocalError skips the release; "
            "release it in a `finally` of its own around `cur.close()`"),
    ]


def test_a_drawn_scoped_session_is_closed_not_entered() -> None:
    """A `scoped_session` registry is no context manager: the advice is close()."""
    app = '''from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


def get_session():
    session = scoped_session(sessionmaker(bind=engine))
    try:
        yield session
    finally:
        session.close()


def purge():
    session = next(get_session())
    session.execute(text("DELETE FROM events"))
'''
    assert _messages({"app.py": app}) == [
        (16, "SQLAlchemy scoped_session `session` from `next(get_session())` is never closed; "
             "use try/finally: session.close()"),
    ]


def _ps202(files: dict[str, str]) -> list[str]:
    result = scan_sources(files, ScanOptions(select={"PS202"}))
    return [f.message for f in result.findings]


def test_ps202_names_the_pool_kind_a_factory_returns() -> None:
    """A factory returning a driver's pool (not an engine) called per request: the
    message speaks of a pool, never of "an engine (and connection pool)"."""
    app = '''from flask import Flask
from psycopg2.pool import SimpleConnectionPool

app = Flask(__name__)


def make_pool():
    return SimpleConnectionPool(1, 5, "dbname=app")


@app.route("/count")
def count():
    pool = make_pool()
    conn = pool.getconn()
    try:
        return str(conn.cursor().execute("SELECT 1"))
    finally:
        pool.putconn(conn)
'''
    [message] = _ps202({"app.py": app})
    assert "engine" not in message, message
    assert "`SimpleConnectionPool()`" in message and "connection pool" in message, message


def test_ps107_names_a_chain_of_helpers_with_one_comma() -> None:
    """A thread target whose database work is two helpers deep: each helper is named
    once, and the chain ends with one comma (it had two)."""
    from poolsafe.rules.cases.ps107 import _MODELS

    app = '''import threading

from models import Order


def count_paid():
    return Order.objects.filter(paid=True).count()


def report():
    return count_paid()


def run():
    print(report())


threading.Thread(target=run).start()
'''
    result = scan_sources({"models.py": _MODELS, "app.py": app},
                          ScanOptions(select={"PS107"}))
    [message] = [f.message for f in result.findings if f.path == "app.py"]
    assert "`report()`, which uses `count_paid()`, which uses `Order.objects" in message, message
    assert ",," not in message, message


def test_ps107_names_the_function_a_callback_parameter_runs() -> None:
    """A thread target that calls the function its starter passed (`args=[lambda:
    expire()]`): the finding, at the parameter's call, names what that call runs and
    the database work it does."""
    from poolsafe.rules.cases.ps107 import _MODELS

    app = '''import threading
import time

from models import Order


def every(job, delay):
    while True:
        job()
        time.sleep(delay)


def expire():
    Order.objects.filter(paid=False).delete()


threading.Thread(target=every, args=[lambda: expire(), 60]).start()
'''
    result = scan_sources({"models.py": _MODELS, "app.py": app},
                          ScanOptions(select={"PS107"}))
    [finding] = [f for f in result.findings if f.path == "app.py"]
    assert finding.line == 9, finding
    assert "`job()` (here `expire()`, which uses `Order.objects`) in `every`" in finding.message, \
        finding.message


def test_with_on_a_direct_connection_advises_its_close() -> None:
    """psycopg2's `with connect() as conn:` ends the transaction only; a connection of
    its own has no pool to go back to, so the advice is its close (what `fix` writes),
    not a pool's release; a pool's checkout keeps the pool's release."""
    app = '''import psycopg2
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 4, "dbname=app")


def count(dsn):
    with psycopg2.connect(dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM users")
            return cur.fetchone()[0]


def total():
    with pool.getconn() as conn:
        with conn.cursor() as cur:
            cur.execute("SELECT sum(n) FROM totals")
            return cur.fetchone()[0]
'''
    assert _messages({"app.py": app}) == [
        (8, "`with psycopg2.connect()` on a psycopg2 connection only ends the transaction; "
            "it does not close the connection; use try/finally: conn.close()"),
        (15, "`with pool.getconn()` on a psycopg2 pool connection only ends the transaction; "
             "it does not release the connection; use try/finally: pool.putconn(conn)"),
    ]


def test_ps207_folds_the_calls_of_one_helper_into_one_finding() -> None:
    """Three calls of one slow helper in one transaction: one finding at the first,
    which says how many more there are and lists them among its steps, in order."""
    app = '''import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


def fetch(url, width):
    return requests.get(url, params={"w": width}, timeout=30).content


def store(photo_id):
    with Session() as session:
        url = session.execute(text("SELECT url FROM photos WHERE id = 1")).scalar_one()
        a = fetch(url, 100)
        b = fetch(url, 200)
        c = fetch(url, 400)
        session.commit()
'''
    result = scan_sources({"app.py": app}, ScanOptions(select={"PS207"}))
    assert [(f.line, f.message.split(" while ")[0]) for f in result.findings] == [
        (15, "`fetch()`, which makes an HTTP request (`requests.get`), runs (here and 2 more "
             "times)")]
    assert [(s.line, s.label) for s in result.findings[0].steps] == [
        (14, "`session` begins a transaction here"),
        (15, "`requests.get` runs with the transaction open"),
        (16, "`fetch()` runs again with the transaction open"),
        (17, "`fetch()` runs again with the transaction open")]


def test_ps107_names_a_command_run_by_call_command() -> None:
    """A looping command that runs another through `call_command("refresh")`: the
    work is named by the command (every command's method is `handle()`)."""
    from poolsafe.rules.cases.ps107 import _MODELS

    refresh = '''from django.core.management.base import BaseCommand

from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        Order.objects.filter(paid=False).delete()
'''
    loop = '''import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            call_command("refresh")
            time.sleep(60)
'''
    files = {"models.py": _MODELS, "shop/management/commands/refresh.py": refresh,
             "shop/management/commands/loop.py": loop,
             "shop/__init__.py": "", "shop/management/__init__.py": "",
             "shop/management/commands/__init__.py": ""}
    result = scan_sources(files, ScanOptions(select={"PS107"}))
    [message] = [f.message for f in result.findings if f.path.endswith("loop.py")]
    assert message.startswith("Django database work `call_command(\"refresh\")`, which uses "
                              "`Order.objects"), message
    assert ",," not in message and "handle()`, which" not in message, message


def test_ps107_names_a_manager_reached_through_a_call() -> None:
    """`get_user_model().objects` is named as written, not as the bare `objects`."""
    from poolsafe.rules.cases.ps107 import _MODELS

    app = '''import threading

from django.contrib.auth import get_user_model


def count_active():
    print(get_user_model().objects.filter(is_active=True).count())


threading.Thread(target=count_active).start()
'''
    result = scan_sources({"models.py": _MODELS, "app.py": app},
                          ScanOptions(select={"PS107"}))
    [message] = [f.message for f in result.findings if f.path == "app.py"]
    assert "Django database work `get_user_model().objects` in `count_active`" in message, \
        message


def test_ps107_names_the_relation_a_passed_row_loads() -> None:
    """A thread target given a model row (`args=(receipt,)`) that reads one of its
    forward relations: the finding, at that read, names the relation and the model of
    the row the starter passes."""
    from poolsafe.rules.cases.ps107 import _SHOP_MODELS

    app = '''import threading

from shop import Receipt


def notify(receipt):
    print(receipt.amount)
    print(receipt.customer.email)


def paid(receipt_id):
    receipt = Receipt.objects.get(pk=receipt_id)
    threading.Thread(target=notify, args=(receipt,)).start()
'''
    result = scan_sources({"shop.py": _SHOP_MODELS, "app.py": app},
                          ScanOptions(select={"PS107"}))
    [finding] = [f for f in result.findings if f.path == "app.py"]
    assert finding.line == 8, finding
    assert ("`receipt.customer` (a relation of the `Receipt` row its starter passes, "
            "loaded from the database) in `notify`") in finding.message, finding.message


def test_ps207_says_why_a_lock_held_across_a_call_matters() -> None:
    """A `select_for_update()` lock held on purpose across a token refresh: the message
    names the waiters, each holding a connection, and the timeout or `nowait` way out;
    the same transaction without the lock keeps the general message."""
    from poolsafe.rules.cases.ps207 import _CMD_FILES

    view = '''import requests
from django.db import transaction
from django.http import JsonResponse

from shop.models import Area


def refresh(request):
    with transaction.atomic():
        area = Area.objects{lock}.get(name=request.GET["name"])
        area.save(update_fields=["name"])
        area.shape = requests.post("https://auth.example.com/token", timeout=10).text
        area.save()
    return JsonResponse({{"ok": True}})
'''
    found = []
    for lock in (".select_for_update()", ""):
        result = scan_sources({**_CMD_FILES, "shop/views.py": view.format(lock=lock)},
                              ScanOptions(select={"PS207"}))
        found.append([(f.line, f.message.split(" while ")[1][:60]) for f in result.findings])
    assert found == [
        [(12, "`transaction.atomic()` holds rows it locked (`select_for_upd")],
        [(12, "`transaction.atomic()` holds a connection in an open transac")],
    ]


def test_ps202_names_the_call_command_that_runs_a_command_per_job() -> None:
    """A management command's per-run engine, run by a Celery task through
    `call_command()`: the message names the task and says what stays open, and until
    when (round 32, large72)."""
    from poolsafe.rules.cases.ps202 import INVALID

    cases = [case for case in INVALID if "rates/tasks.py" in case.files]
    assert len(cases) == 2
    for case in cases:
        result = scan_sources({**case.files, case.path: case.code}, ScanOptions(select={"PS202"}))
        [finding] = result.findings
        assert "management command `import_rates`, which `refresh_rates` (rates/tasks.py:7)" \
            in finding.message
        assert "until a full garbage collection" in finding.message


_DIRECT_WRAPPER = '''import psycopg2


class Connector:
    def connect(self):
        conn = psycopg2.connect(dsn="dbname=app")
        return conn

    def close(self, cursor, conn):
        cursor.close()
        conn.close()
'''


def test_a_returned_connection_is_given_back_on_failure_not_in_finally() -> None:
    """A connection the function returns when nothing fails is released in `except
    BaseException:` and re-raised (what the fix writes), never in a `finally` that
    would close what the caller uses; a direct connection's wrapper is described as
    opening it, not as taking it from a pool; and `close(cursor, conn)` (which wants a
    cursor the checkout does not give) is not advised where `conn.close()` does."""
    app = '''from db import Connector


class Runner:
    def __init__(self):
        self.db = Connector()

    def execute(self, sql):
        conn = self.db.connect()
        cursor = conn.cursor()
        cursor.execute(sql)
        return cursor, conn
'''
    # (with `direct-connections = "strict"`: by default a direct connection dropped by
    # the exception is left to reference counting)
    strict = {"pyproject.toml": '[tool.poolsafe]\ndirect-connections = "strict"\n'}
    result = scan_sources({"db.py": _DIRECT_WRAPPER, "app.py": app, **strict},
                          ScanOptions(select={"PS102"}))
    found = sorted((f.line, f.message, [s.label for s in f.steps])
                   for f in result.findings if f.path == "app.py")
    assert [(line, message) for line, message, _ in found] == [
        (9, "psycopg2 connection `conn` from `self.db.connect()` is not closed if an exception "
            "is raised; use `except BaseException:` then `conn.close()` and `raise`, before it "
            "is handed on (not in a `finally`: the caller goes on using it)"),
    ]
    for _, _, steps in found:
        assert not any("from the pool" in step for step in steps), steps
        assert not any("the release the checkout needs" in step for step in steps), steps


def test_a_pool_release_wrapper_taking_the_cursor_first() -> None:
    """`release(cur, conn)` gives back its second argument: the connection goes there."""
    db = _PG_POOL + '''

def lease():
    return pool.getconn()


def release(cur, conn):
    cur.close()
    pool.putconn(conn)
'''
    app = '''from db import lease, release


def work():
    c = lease()
    c.cursor().execute("SELECT 1")
    release(None, c)
'''
    [(line, message)] = _messages({"db.py": db, "app.py": app})
    assert line == 5
    assert message.endswith("use try/finally: release(cur, c)"), message


def test_a_pool_named_by_a_call_is_advised_as_the_function_releases_it() -> None:
    # the pool is `shared_pool()`, not a name: the advice is the release the function
    # already writes (as the fix moves it into `finally`), not "the pool's putconn()"
    app = '''from psycopg2.pool import ThreadedConnectionPool

_pool = None


def shared_pool():
    global _pool
    if _pool is None:
        _pool = ThreadedConnectionPool(1, 4, dsn="dbname=app")
    return _pool


def price_of(sku):
    conn = shared_pool().getconn()
    conn.cursor().execute("SELECT 1")
    shared_pool().putconn(conn)
'''
    [(line, message)] = _messages({"app.py": app})
    assert line == 14
    assert message.endswith("use try/finally: shared_pool().putconn(conn)"), message


def test_ps207_names_the_lock_a_transaction_took_before_the_call() -> None:
    """A transaction that took `with_for_update()`, `FOR UPDATE` / `FOR NO KEY UPDATE`,
    or `pg_advisory_xact_lock()` on every path to the slow call (issue 31, round 34,
    prec76b): the message names the lock, the waiters and the timeout or `NOWAIT` /
    `SKIP LOCKED` way out, not "commit before it"; the look-alikes (the lock after the
    call, in another session, committed before it, on one path only, a `pg_try_` lock,
    none at all) keep the general message."""
    from poolsafe.rules.cases.ps207 import INVALID

    def kinds(case: Case) -> list[str]:
        result = scan_sources({**case.files, case.path: case.code},
                              ScanOptions(select={"PS207"}))
        return ["lock" if " holds a lock it took " in f.message else "general"
                for f in result.findings]

    # prec76b's 13 cases, found by the first one's note (cases appended after them,
    # by later merges, must not move the slice)
    start = next(i for i, c in enumerate(INVALID)
                 if (c.note or "").startswith("ORM `with_for_update()` taken before the call"))
    locked, lookalikes = INVALID[start:start + 7], INVALID[start + 7:start + 13]
    assert [kinds(c) for c in locked] == [["lock"]] * 7
    assert [kinds(c) for c in lookalikes] == [["general"]] * 6


def test_ps103_a_clean_up_before_raise_is_not_called_swallowed() -> None:
    """A handler that ends in `raise` after an unguarded clean-up on the connection
    (issue 31, round 40, prec84): the message says the clean-up fails in the aborted
    transaction and its error reaches the caller, never that the error is swallowed."""
    from poolsafe.rules.cases.ps103 import INVALID

    start = next(i for i, c in enumerate(INVALID)
                 if (c.note or "").startswith("an unguarded clean-up before `raise`"))
    for case in INVALID[start:start + 2]:
        result = scan_sources({**case.files, case.path: case.code},
                              ScanOptions(select={"PS103"}))
        [finding] = result.findings
        assert "swallow" not in finding.message, finding.message
        assert finding.message.startswith("`except` re-raises"), finding.message


def test_a_session_from_a_called_call_is_named_as_written() -> None:
    app = '''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://db/grid")


def load(names):
    session = sessionmaker(bind=engine)()
    session.execute("SELECT 1")
'''
    [(line, message)] = _messages({"app.py": app})
    assert line == 8
    assert "from `sessionmaker(bind=engine)()`" in message, message
    assert "call()" not in message, message


def test_an_engine_disposed_outside_a_finally_is_not_said_to_be_dropped() -> None:
    app = '''from sqlalchemy import create_engine, text


def copy_rows(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id FROM items")).all()
    engine.dispose()
    return rows


def count_rows(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM items")).scalar()
'''
    result = scan_sources({"app.py": app}, ScanOptions(select={"PS202"}))
    found = {f.line: f.message for f in result.findings}
    assert set(found) == {5, 13}, found
    assert "calls `dispose()` on it only when nothing raises first" in found[5]
    assert "call `dispose()` in a `finally`" in found[5]
    assert "drops it at the end" in found[13]
    assert "dispose" not in found[13]


def test_a_dropped_engine_says_its_connections_wait_for_the_garbage_collector() -> None:
    # policy87: measured by benchmarks/policy87_gc_reclaim.py, a sync SQLAlchemy engine
    # dropped at the end of a call keeps its pooled connections open on the server until
    # the cyclic garbage collector runs; the async engine was not measured: no such claim
    app = '''from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine


def count_rows(url):
    engine = create_engine(url)
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM items")).scalar()


async def count_async(url):
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM items"))).scalar()
'''
    result = scan_sources({"app.py": app}, ScanOptions(select={"PS202"}))
    found = {f.line: f.message for f in result.findings}
    assert set(found) == {6, 12}, found
    assert "stay open on the server until Python's garbage collector runs" in found[6]
    assert "garbage collector" not in found[12]


def test_an_exception_only_gap_says_what_it_costs() -> None:
    # policy87: a SQLAlchemy checkout waits for the garbage collector, a driver pool's
    # slot is lost for good (benchmarks/policy87_gc_reclaim.py)
    app = '''from psycopg2.pool import ThreadedConnectionPool
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
pool = ThreadedConnectionPool(1, 5, "dbname=app")


def from_engine(q):
    conn = engine.connect()
    rows = conn.execute(text(q)).all()
    conn.close()
    return rows


def from_pool(q):
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute(q)
    rows = cur.fetchall()
    pool.putconn(conn)
    return rows
'''
    found = dict(_messages({"app.py": app}))
    assert set(found) == {9, 16}, found
    assert "until Python's garbage collector runs" in found[9]
    assert "loses a pool slot for good" in found[16]


def test_a_checkout_dropped_on_the_normal_path_says_what_it_costs() -> None:
    # policy88: a session or connection dropped with its transaction open stays checked
    # out after return until the garbage collector runs, and uncommitted writes are then
    # rolled back (benchmarks/policy88_normal_path.py); a sync pool takes it back silently,
    # an async one terminates it with a warning
    app = '''from sqlalchemy import create_engine, insert, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import sessionmaker

from models import Item

engine = create_engine("postgresql://db/app", pool_pre_ping=True)
aengine = create_async_engine("postgresql+asyncpg://db/app", pool_pre_ping=True)
Session = sessionmaker(bind=engine)


def rows():
    session = Session()
    return session.execute(text("SELECT * FROM t")).all()


def save(tag):
    conn = engine.connect()
    conn.execute(insert(Item).values(tag=tag))


async def arows():
    session = AsyncSession(aengine)
    return (await session.execute(text("SELECT * FROM t"))).all()
'''
    found = dict(_messages({"app.py": app, "models.py": "class Item:\n    pass\n"}))
    assert set(found) == {13, 18, 23}, found
    assert "checked out of the pool (on a server database, idle in transaction) after the " \
           "function returns" in found[13]
    assert "takes it back silently" in found[13]
    assert "writes are never committed" not in found[13]
    assert "writes are never committed, and the rollback" in found[18]
    assert "terminates the connection, with a warning" in found[23]


def test_a_release_skipped_in_exit_says_what_it_costs() -> None:
    # policy88: a SQLAlchemy connection kept on an object whose __exit__ skips close()
    # when commit() raises stays checked out until the garbage collector runs
    app = '''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://db/app", pool_pre_ping=True)


class Store:
    def __enter__(self):
        self.conn = engine.connect()
        return self

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def save(v):
    with Store() as store:
        store.conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": v})
'''
    found = dict(_messages({"app.py": app}))
    assert set(found) == {8}, found
    assert "skips the release if `self.conn.commit()` raises: the failed call leaves it in a " \
           "reference cycle" in found[8]


def test_a_session_an_object_keeps_and_drops_says_what_it_costs() -> None:
    # policy88: an object that keeps a session, runs a query and is dropped leaves the
    # connection checked out past the return until the garbage collector runs
    app = '''from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


class Graph:
    def __init__(self):
        self.session = Session()

    def nodes(self):
        return self.session.execute(text("SELECT * FROM nodes")).all()


def draw():
    graph = Graph()
    return graph.nodes()
'''
    found = dict(_messages({"app.py": app}))
    assert set(found) == {9}, found
    assert "stays checked out of the pool after `draw` returns, until Python's garbage " \
           "collector runs" in found[9]


def test_a_committed_session_dropped_later_says_its_cost_conditionally() -> None:
    # policy88: after its last commit a session holds nothing unless something opened a
    # transaction again; the flow cannot always tell, so the message says "if"
    app = '''from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://db/app", pool_pre_ping=True))


def save(row):
    session = Session()
    session.add(row)
    session.commit()
    print(row)
'''
    found = dict(_messages({"app.py": app}))
    assert set(found) == {8}, found
    assert "is never closed: if anything after its last `commit()` opened a transaction " \
           "again, it stays checked out of the pool" in found[8]
