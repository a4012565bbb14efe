"""fix85 (benchmarks/README.md, "fix85"): the safe fixes met on round 41's fresh corpus,
written again as small shapes of their own and pinned.

Every safe edit of the corpus was judged by hand and kept behaviour, so nothing here failed
at main: these tests pin the shapes the corpus showed, with the stand-in pool of fix68
(`test_fix_fix68._run`) where they can run, so that a later change to a fixer that broke
one of them would be seen.

PS102: a release written only in the handler (the success path keeps the connection) is
moved into a `finally` and the handler keeps `pass`; a checkout inside a `try` in a loop
whose handler swallows the error gets `conn = None` before the `try` (each turn) and a
guarded release; a session made by a `sessionmaker` and closed at the end becomes
`with Maker() as session:` (comments kept; the blank line after the checkout is not);
an asyncpg async generator gets its `await conn.close()` in a `finally` around the
`yield`."""

from __future__ import annotations

from fix_checks import one_safe_fix, only_an_unsafe_fix, safe_and_runs_the_same
from test_fix_fix68 import HEAD, _run

# ------------------------------------------------------------------ PS102
HANDLER_ONLY = HEAD + """def go():
    conn = POOL.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    except psycopg2.Error as exc:
        POOL.putconn(conn)
"""


def test_a_release_only_in_the_handler_moves_to_finally_and_runs_the_same() -> None:
    text = safe_and_runs_the_same("PS102", HANDLER_ONLY, _run)
    assert text == HEAD + """def go():
    conn = POOL.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()
    except psycopg2.Error as exc:
        pass
    finally:
        POOL.putconn(conn)
"""


LOOP_CONNECT = HEAD + """def go():
    got = []
    for n in (1, 2):
        try:
            conn = psycopg2.connect(host="db")
            cur = conn.cursor()
            cur.execute("SELECT 1")
            got.append(cur.fetchall())
            conn.close()
        except psycopg2.Error as exc:
            got.append(str(exc))
    return got
"""


def test_a_checkout_in_a_swallowing_try_in_a_loop_is_reset_each_turn() -> None:
    text = safe_and_runs_the_same("PS102", LOOP_CONNECT, _run)
    assert text == HEAD + """def go():
    got = []
    for n in (1, 2):
        conn = None
        try:
            conn = psycopg2.connect(host="db")
            cur = conn.cursor()
            cur.execute("SELECT 1")
            got.append(cur.fetchall())
        except psycopg2.Error as exc:
            got.append(str(exc))
        finally:
            if conn is not None:
                conn.close()
    return got
"""


LOOP_POOL = HEAD + """def go():
    got = []
    for n in range(SIZE):
        try:
            conn = POOL.getconn()
            cur = conn.cursor()
            cur.execute("SELECT 1")
            got.append(cur.fetchall())
            POOL.putconn(conn)
        except psycopg2.Error as exc:
            got.append(str(exc))
    return got
"""


def test_a_pool_checkout_in_a_swallowing_try_in_a_loop_gets_an_inner_finally() -> None:
    text = safe_and_runs_the_same("PS102", LOOP_POOL, _run)
    assert """            conn = POOL.getconn()
            try:
                cur = conn.cursor()
                cur.execute("SELECT 1")
                got.append(cur.fetchall())
            finally:
                POOL.putconn(conn)
        except psycopg2.Error as exc:
""" in text, text


SESSION = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
Maker = sessionmaker(bind=engine)


def rename(model, key, name):
    session = Maker()  # one per call

    # the row to change
    row = session.get(model, key)
    row.name = name
    session.commit()
    session.close()
    return key
"""


def test_a_session_closed_at_the_end_becomes_a_with_keeping_its_comments() -> None:
    text = one_safe_fix("PS102", {"case.py": SESSION}, "case.py")
    assert text == SESSION.replace("""    session = Maker()  # one per call

    # the row to change
    row = session.get(model, key)
    row.name = name
    session.commit()
    session.close()
""", """    with Maker() as session:  # one per call
        # the row to change
        row = session.get(model, key)
        row.name = name
        session.commit()
""")


ASYNC_STREAM = """import asyncpg


async def rows_of(dsn, query):
    conn = await asyncpg.connect(dsn)
    async with conn.transaction():
        async for rec in conn.cursor(query):
            yield rec
    await conn.close()
"""


def test_an_asyncpg_async_generator_closes_in_a_finally_around_its_yield() -> None:
    text = one_safe_fix("PS102", {"case.py": ASYNC_STREAM}, "case.py")
    assert text == """import asyncpg


async def rows_of(dsn, query):
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            async for rec in conn.cursor(query):
                yield rec
    finally:
        await conn.close()
"""


# ------------------------------------------------------------------ PS103
# A session shared beyond the function (a scoped-session registry, Flask-SQLAlchemy's
# `db.session`, a caller's session) and a `try` that queues a change and commits it:
# PS103's rollback was safe because "what fails there is the flush, after which the
# transaction is rolled back already". But `add`/`delete`/`expunge` refuse their object
# on the client (SQLAlchemy's `InvalidRequestError`: not persisted, attached to another
# session, not mapped) with nothing rolled back; the handler's new rollback then also
# discards the caller's pending work, which the original kept and the caller committed
# (riverstation/project-all's `BaseModel.save()`, round 41's corpus).
SCOPED = """from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


def remove(obj):
    try:
        Session.{queue}(obj)
        Session.commit()
        return True
    except {caught}:
        print("not removed")
        return False
"""


def _run_remove(text: str) -> tuple[bool, str]:
    """`remove()` of an object never added (delete refuses it on the client) while the
    session holds the caller's pending rename, then the caller's commit: what
    `remove()` returned and the name stored. The engine is SQLite in memory."""
    import sqlalchemy
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()

    class Item(Base):  # type: ignore[valid-type, misc]
        __tablename__ = "items"
        id = sqlalchemy.Column(sqlalchemy.Integer, primary_key=True)
        name = sqlalchemy.Column(sqlalchemy.String)

    real = sqlalchemy.create_engine
    engine = real("sqlite://")
    Base.metadata.create_all(engine)
    namespace: dict[str, object] = {"__name__": "store"}
    sqlalchemy.create_engine = lambda *a, **k: engine  # type: ignore[assignment]
    try:
        exec(compile(text, "store.py", "exec"), namespace)
    finally:
        sqlalchemy.create_engine = real  # type: ignore[assignment]
    session = namespace["Session"]
    item = Item(id=1, name="old")
    session.add(item)  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]
    item.name = "new"  # the caller's own pending work
    removed = namespace["remove"](Item(id=2, name="never added"))  # type: ignore[operator]
    session.commit()  # type: ignore[attr-defined]
    session.remove()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = conn.execute(sqlalchemy.text("SELECT name FROM items")).scalar_one()
    return removed, stored


def test_a_queueing_call_refused_on_the_client_makes_the_shared_rollback_unsafe() -> None:
    source = SCOPED.format(queue="delete", caught="Exception")
    fixed = only_an_unsafe_fix("PS103", {"store.py": source}, "store.py",
                               "`Session.delete()` can refuse its object on the client",
                               shows="Session.rollback()")
    # the original printed, returned False and left the caller's rename to its commit;
    # the rollback discarded it
    assert _run_remove(source) == (False, "new")
    assert _run_remove(fixed) == (False, "old")


def test_add_and_a_handler_of_sqlalchemy_errors_are_unsafe_too() -> None:
    for queue, caught in (("add", "Exception"), ("delete", "SQLAlchemyError"),
                          ("expunge", "Exception")):
        source = SCOPED.format(queue=queue, caught=caught)
        if caught == "SQLAlchemyError":
            source = source.replace("from sqlalchemy import create_engine\n",
                                    "from sqlalchemy import create_engine\n"
                                    "from sqlalchemy.exc import SQLAlchemyError\n")
        only_an_unsafe_fix("PS103", {"store.py": source}, "store.py",
                           f"`Session.{queue}()` can refuse its object on the client")


def test_a_handler_of_server_errors_only_keeps_the_rollback_safe() -> None:
    # IntegrityError comes from the flush, after which SQLAlchemy rolled back already
    source = SCOPED.format(queue="add", caught="IntegrityError").replace(
        "from sqlalchemy import create_engine\n",
        "from sqlalchemy import create_engine\nfrom sqlalchemy.exc import IntegrityError\n")
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": source}, "store.py")


def test_a_try_that_only_commits_keeps_the_rollback_safe() -> None:
    # what fails there is the flush, after which SQLAlchemy rolled back already
    source = SCOPED.format(queue="add", caught="Exception").replace(
        "        Session.add(obj)\n", "")
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": source}, "store.py")


# The same refusal in a session the function opened itself, with a commit after the
# `try`: the original commits the rows added before the refused one; the rollback
# discarded them (fix51's app-context seed loop is this shape too).
SEED = """from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)
Maker = sessionmaker(bind=engine)


def seed(rows):
    session = Maker()
    try:
        for row in rows:
            session.add(row)
        session.flush()
    except Exception as exc:
        print("seed failed", type(exc).__name__)
    session.commit()
    session.close()
"""


def _run_seed(text: str) -> int:
    """`seed()` of a mapped row and an unmapped dict (add refuses it on the client):
    the rows stored. The engine is SQLite in memory."""
    import sqlalchemy
    from sqlalchemy.orm import declarative_base

    Base = declarative_base()

    class Row(Base):  # type: ignore[valid-type, misc]
        __tablename__ = "rows"
        id = sqlalchemy.Column(sqlalchemy.Integer, primary_key=True)

    real = sqlalchemy.create_engine
    engine = real("sqlite://")
    Base.metadata.create_all(engine)
    namespace: dict[str, object] = {"__name__": "store"}
    sqlalchemy.create_engine = lambda *a, **k: engine  # type: ignore[assignment]
    try:
        exec(compile(text, "store.py", "exec"), namespace)
    finally:
        sqlalchemy.create_engine = real  # type: ignore[assignment]
    namespace["seed"]([Row(id=1), {"not": "mapped"}])  # type: ignore[operator]
    with engine.connect() as conn:
        return int(conn.execute(sqlalchemy.text("SELECT count(*) FROM rows")).scalar_one())


def test_a_refusal_before_a_commit_after_the_try_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": SEED}, "store.py",
                               "`session.add()` can refuse its object on the client",
                               shows="session.rollback()")
    assert _run_seed(SEED) == 1
    assert _run_seed(fixed) == 0
