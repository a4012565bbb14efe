"""fix88 (benchmarks/README.md, "fix88"): PS103's rollback on a shared session when the
`try` looks a row up with `.get()` on a query made elsewhere.

fix87 made `.one()`, `.first()`, `.all()` and the like on a query made elsewhere an
unsafe fix, but left `.get()` out (`dict.get`). `Query.get()` refuses on the client, with
nothing rolled back, a query that has criteria (`InvalidRequestError: Query.get() being
called on a Query with existing criterion`, also every dynamic relationship) and a key of
the wrong shape (`Incorrect number of values in identifier`); the rollback then discards
the caller's pending work, which the original commits (executed here on SQLite: the
caller's rename is stored by the original and lost with the rollback). The receiver is
read as a query when it is a chain through `.query`, a call of a query class, a project
relationship, or a name bound to one (a local, a module's name, an attribute `self` is
given), or a parameter annotated as a query or named `query` / `q` / `..._query`. A
`dict.get` in the same place keeps the safe rollback."""

from __future__ import annotations

from typing import Any

from fix_checks import one_safe_fix, only_an_unsafe_fix

HEAD = """from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker

Base = declarative_base()


class Owner(Base):
    __tablename__ = "owners"
    id = Column(Integer, primary_key=True)
    things = relationship("Item", lazy="dynamic")


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String(20))
    owner_id = Column(ForeignKey("owners.id"))


engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


"""

_TRY = """    try:
        item = {lookup}
        item.name = name
        Session.commit()
    except SQLAlchemyError:
        return False
    return True
"""

AT_IMPORT = HEAD + "LIVE = Session.query(Item).filter(Item.id > 0)\n\n\n" \
    + "def rename(pk, name):\n" + _TRY.format(lookup="LIVE.get(pk)")

PARAMETER = HEAD + "def rename(query, pk, name):\n" + _TRY.format(lookup="query.get(pk)")

ANNOTATED = HEAD.replace("sessionmaker\n", "sessionmaker\nfrom sqlalchemy.orm import Query\n") \
    + "def rename(items: Query, pk, name):\n" + _TRY.format(lookup="items.get(pk)")

ON_SELF = HEAD + """class Repo:
    def __init__(self):
        self.items = Session.query(Item)

    def rename(self, pk, name):
""" + "\n".join("    " + line if line else line
                for line in _TRY.format(lookup="self.items.get(pk)").split("\n"))

DYNAMIC = HEAD + "def rename(owner, pk, name):\n" + _TRY.format(lookup="owner.things.get(pk)")

CALLER_HANDS = HEAD + "def rename(items, pk, name):\n" + _TRY.format(lookup="items.get(pk)") \
    + """

def rename_live(pk, name):
    return rename(Session.query(Item).filter(Item.id > 0), pk, name)
"""

CALLER_HANDS_DICT = CALLER_HANDS.replace(
    "Session.query(Item).filter(Item.id > 0)", "{2: 'two'}")

DICT_GET = HEAD + """def rename(item, data):
    try:
        item.name = data.get("name")
        Session.commit()
    except SQLAlchemyError:
        return False
    return True
"""


def _run(text: str, call: str, pk: Any) -> tuple[bool, list[tuple[int, str]]]:
    """`text` against SQLite in memory (owner 1; items 1 "old" and 2 "two"): the caller
    renames item 1 to "new" (pending), calls `rename` (as `call` says) with `pk`, then
    commits: what `rename` returned and the stored rows."""
    import sqlalchemy

    real = sqlalchemy.create_engine
    engine = real("sqlite://", poolclass=sqlalchemy.pool.StaticPool)
    namespace: dict[str, Any] = {"__name__": "store"}
    sqlalchemy.create_engine = lambda *a, **k: engine  # type: ignore[assignment]
    try:
        exec(compile(text, "store.py", "exec"), namespace)
    finally:
        sqlalchemy.create_engine = real  # type: ignore[assignment]
    namespace["Base"].metadata.create_all(engine)
    session = namespace["Session"]
    item, owner = namespace["Item"], namespace["Owner"]
    session.add_all([owner(id=1), item(id=1, name="old", owner_id=1),
                     item(id=2, name="two", owner_id=1)])
    session.commit()
    session.get(item, 1).name = "new"  # the caller's own pending work
    if call == "query":
        done = namespace["rename"](session.query(item), pk, "x")
    elif call == "self":
        done = namespace["Repo"]().rename(pk, "x")
    elif call == "live":
        done = namespace["rename_live"](pk, "x")
    elif call == "owner":
        done = namespace["rename"](session.get(owner, 1), pk, "x")
    else:
        done = namespace["rename"](pk, "x")
    session.commit()
    session.remove()
    with engine.connect() as conn:
        rows = conn.execute(sqlalchemy.text("SELECT id, name FROM items ORDER BY id")).all()
    return done, [tuple(r) for r in rows]


REASON = "`.get()` on a query made elsewhere"


def test_get_on_a_module_query_with_criteria_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": AT_IMPORT}, "store.py", REASON,
                               shows="Session.rollback()")
    # `LIVE` has a criterion: `get()` refuses it on the client, nothing rolled back;
    # the original's caller stores its rename, the rollback discards it
    assert _run(AT_IMPORT, "module", 2) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "module", 2) == (False, [(1, "old"), (2, "two")])


def test_get_on_a_query_handed_in_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": PARAMETER}, "store.py", REASON,
                               shows="Session.rollback()")
    # a composite key for a one-column primary key: refused on the client
    assert _run(PARAMETER, "query", (1, 2)) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "query", (1, 2)) == (False, [(1, "old"), (2, "two")])
    # a found row: the same either way
    assert _run(PARAMETER, "query", 2) == _run(fixed, "query", 2) \
        == (True, [(1, "new"), (2, "x")])


def test_get_on_an_annotated_query_parameter_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": ANNOTATED}, "store.py", REASON,
                               shows="Session.rollback()")
    assert _run(ANNOTATED, "query", (1, 2)) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "query", (1, 2)) == (False, [(1, "old"), (2, "two")])


def test_get_on_a_query_kept_on_self_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": ON_SELF}, "store.py", REASON,
                               shows="Session.rollback()")
    assert _run(ON_SELF, "self", (1, 2)) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "self", (1, 2)) == (False, [(1, "old"), (2, "two")])


def test_get_on_a_dynamic_relationship_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": DYNAMIC}, "store.py", REASON,
                               shows="Session.rollback()")
    # a dynamic relationship is a query with a criterion: even a row it holds is refused
    assert _run(DYNAMIC, "owner", 2) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "owner", 2) == (False, [(1, "old"), (2, "two")])


def test_get_on_a_parameter_a_caller_hands_a_query_makes_the_rollback_unsafe() -> None:
    # `items` is unannotated and not named as a query: its one caller hands it one
    fixed = only_an_unsafe_fix("PS103", {"store.py": CALLER_HANDS}, "store.py", REASON,
                               shows="Session.rollback()")
    assert _run(CALLER_HANDS, "live", 2) == (False, [(1, "new"), (2, "two")])
    assert _run(fixed, "live", 2) == (False, [(1, "old"), (2, "two")])


def test_get_on_a_parameter_callers_hand_a_dict_keeps_the_rollback_safe() -> None:
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": CALLER_HANDS_DICT},
                                                "store.py")


def test_dict_get_keeps_the_rollback_safe() -> None:
    fixed = one_safe_fix("PS103", {"store.py": DICT_GET}, "store.py")
    assert "Session.rollback()" in fixed


# PS205 (fix87's left item, probed by fix88): fix87's `left_pending` counted a mapped
# attribute set and left uncommitted (`post.body = ...`), not a change queued otherwise:
# `Session.add(obj)` or a relationship collection changed in place
# (`post.tags.append(tag)`), each left pending by a view that never commits. The
# original's thread-local session keeps it, and the next request on the thread that
# commits stores it; the teardown's `remove()` discards it (executed: Flask + SQLite).
POSTS_DB = """from sqlalchemy import Column, ForeignKey, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, relationship, scoped_session, sessionmaker

engine = create_engine("sqlite://")
Session = scoped_session(sessionmaker(bind=engine))
Base = declarative_base()


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    likes = Column(Integer, default=0)
    tags = relationship("Tag")


class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    post_id = Column(ForeignKey("posts.id"))


class Visit(Base):
    __tablename__ = "visits"
    id = Column(Integer, primary_key=True)
    path = Column(String)
"""

POSTS_APP = """from flask import Flask

from posts_db import Post, Session, Tag, Visit

app = Flask(__name__)


@app.route("/seen/<int:pid>")
def seen(pid):
    @BODY@
    return "ok"


@app.route("/like/<int:pid>", methods=["POST"])
def like(pid):
    post = Session.get(Post, pid)
    post.likes += 1
    Session.commit()
    return str(post.likes)
"""

VISIT = POSTS_APP.replace("@BODY@", 'Session.add(Visit(path="/seen"))')
TAG = POSTS_APP.replace(
    "@BODY@", 'post = Session.get(Post, pid)\n    post.tags.append(Tag(name="seen"))')
VISIT_COMMITTED = POSTS_APP.replace(
    "@BODY@", 'Session.add(Visit(path="/seen"))\n    Session.commit()')
A_SET = POSTS_APP.replace("@BODY@", "names = set()\n    names.add(pid)")


def _run_seen(app_text: str) -> list[object]:
    """GET /seen/1, then POST /like/1 (commits), in one thread: the responses and how
    many visits and tags are stored."""
    import sys
    import types

    import sqlalchemy

    db = types.ModuleType("posts_db")
    exec(compile(POSTS_DB, "posts_db.py", "exec"), db.__dict__)
    engine = sqlalchemy.create_engine("sqlite://", poolclass=sqlalchemy.pool.StaticPool)
    db.Session.configure(bind=engine)  # type: ignore[attr-defined]
    db.Base.metadata.create_all(engine)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("INSERT INTO posts VALUES (1, 0)"))
    saved = sys.modules.get("posts_db")
    sys.modules["posts_db"] = db
    try:
        app = types.ModuleType("posts_app")
        exec(compile(app_text, "app.py", "exec"), app.__dict__)
        client = app.app.test_client()  # type: ignore[attr-defined]
        out: list[object] = [client.get("/seen/1").get_data(as_text=True),
                             client.post("/like/1").get_data(as_text=True)]
    finally:
        if saved is None:
            sys.modules.pop("posts_db", None)
        else:
            sys.modules["posts_db"] = saved
        db.Session.remove()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        for table in ("visits", "tags"):
            out.append(conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}"))
                       .scalar_one())
    return out


def test_a_view_leaving_an_add_pending_makes_the_teardown_unsafe() -> None:
    files = {"posts_db.py": POSTS_DB, "app.py": VISIT}
    fixed = only_an_unsafe_fix("PS205", files, "app.py",
                               "`seen()` in app.py calls `Session.add()` and neither commits",
                               shows="Session.remove()")
    assert _run_seen(VISIT) == ["ok", "1", 1, 0]
    assert _run_seen(fixed) == ["ok", "1", 0, 0]


def test_a_view_appending_to_a_relationship_makes_the_teardown_unsafe() -> None:
    files = {"posts_db.py": POSTS_DB, "app.py": TAG}
    fixed = only_an_unsafe_fix("PS205", files, "app.py",
                               "`seen()` in app.py calls `post.tags.append()`",
                               shows="Session.remove()")
    assert _run_seen(TAG) == ["ok", "1", 0, 1]
    assert _run_seen(fixed) == ["ok", "1", 0, 0]


def test_a_view_committing_its_add_keeps_the_teardown_safe() -> None:
    fixed = one_safe_fix("PS205", {"posts_db.py": POSTS_DB, "app.py": VISIT_COMMITTED},
                         "app.py")
    assert "Session.remove()" in fixed
    assert _run_seen(VISIT_COMMITTED) == _run_seen(fixed) == ["ok", "1", 1, 0]


def test_a_python_set_add_keeps_the_teardown_safe() -> None:
    fixed = one_safe_fix("PS205", {"posts_db.py": POSTS_DB, "app.py": A_SET}, "app.py")
    assert "Session.remove()" in fixed


# A statement that writes, run by the session's `execute()` (or a query's bulk
# `update()`) and left uncommitted, is pending in the same way: its transaction stays
# open in the thread's session and the next committing request commits it.
BUMP = POSTS_APP.replace("from posts_db import", "from sqlalchemy import text, update\n\n"
                         "from posts_db import").replace(
    "@BODY@", "Session.execute(update(Post).where(Post.id == pid).values(likes=Post.likes + 10))")
RAW = BUMP.replace(
    "Session.execute(update(Post).where(Post.id == pid).values(likes=Post.likes + 10))",
    'Session.execute(text("UPDATE posts SET likes = likes + 10 WHERE id = :p"), {"p": pid})')
BULK = BUMP.replace(
    "Session.execute(update(Post).where(Post.id == pid).values(likes=Post.likes + 10))",
    'Session.query(Post).filter(Post.id == pid).update({"likes": Post.likes + 10})')
STMT = BUMP.replace(
    "Session.execute(update(Post).where(Post.id == pid).values(likes=Post.likes + 10))",
    "stmt = update(Post).where(Post.id == pid).values(likes=Post.likes + 10)\n"
    "    Session.execute(stmt)")
READ = BUMP.replace(
    "Session.execute(update(Post).where(Post.id == pid).values(likes=Post.likes + 10))",
    'Session.execute(text("SELECT likes FROM posts WHERE id = :p"), {"p": pid})')


def _likes(app_text: str) -> list[object]:
    """GET /seen/1 then POST /like/1: the responses and the stored likes (in `out[1]`
    the like's own count, read after the flush of what was pending)."""
    out = _run_seen(app_text)
    return out[:2]


def test_a_view_leaving_a_write_statement_uncommitted_makes_the_teardown_unsafe() -> None:
    for text, shown in ((BUMP, "`Session.execute(...)`"), (RAW, "`Session.execute(...)`"),
                        (BULK, "`query.update()`"), (STMT, "`Session.execute(...)`")):
        files = {"posts_db.py": POSTS_DB, "app.py": text}
        fixed = only_an_unsafe_fix("PS205", files, "app.py", f"`seen()` in app.py calls {shown}",
                                   shows="Session.remove()")
        # the original's like request commits the +10 left open by /seen: 11 likes
        assert _likes(text) == ["ok", "11"]
        assert _likes(fixed) == ["ok", "1"]


def test_a_view_only_reading_through_execute_keeps_the_teardown_safe() -> None:
    fixed = one_safe_fix("PS205", {"posts_db.py": POSTS_DB, "app.py": READ}, "app.py")
    assert "Session.remove()" in fixed
    assert _likes(READ) == _likes(fixed) == ["ok", "1"]
