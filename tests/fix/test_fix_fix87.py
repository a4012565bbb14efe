"""fix87 (benchmarks/README.md, "fix87"): PS103's rollback on a shared session when the
`try` runs a query made elsewhere, or sets a relationship, before its commit.

fix86's `_session_reached_otherwise` read the `try` for the session under another name
(a local bound to it, `Model.query`, a project function). Two shapes of its "what is
left" still got the safe rollback, though each raises on the client with nothing rolled
back, and the rollback then discards the caller's pending work (executed here on
SQLite: the caller's rename is stored by the original and lost with the rollback):

- a query object made elsewhere (a parameter, a module-level query, `q = User.query`,
  an attribute set in `__init__`) run in the `try` by `.one()` (`NoResultFound`);
- a relationship set in the `try` (`item.owner = owner`, `owner.items.append(item)`)
  whose save-update cascade refuses an object attached to another session
  (`InvalidRequestError`, at the assignment, before any flush).

Each is now an unsafe fix with that reason; a plain column set and committed keeps the
safe rollback, in a project that declares relationships too."""

from __future__ import annotations

from typing import Any

from fix_checks import one_safe_fix, only_an_unsafe_fix

HEAD = """from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


"""

QUERY_PARAM = HEAD + """def rename(query, uid, name):
    try:
        item = query.filter_by(id=uid).one()
        item.name = name
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not renamed")
        return False
"""

QUERY_AT_IMPORT = HEAD.replace("\n\n\n", """

class Item:
    pass


ITEMS = Session.query(Item)


""") + """def rename(uid, name):
    try:
        item = ITEMS.filter_by(id=uid).one()
        item.name = name
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not renamed")
        return False
"""

QUERY_ON_SELF = HEAD + """class Repository:
    def __init__(self, model):
        self.items = Session.query(model)

    def rename(self, uid, name):
        try:
            item = self.items.filter_by(id=uid).one()
            item.name = name
            Session.commit()
            return True
        except SQLAlchemyError:
            print("not renamed")
            return False
"""

MODEL_QUERY_BEFORE = """from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import SQLAlchemyError

db = SQLAlchemy()


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String)


def rename(uid, name):
    users = User.query
    try:
        user = users.filter_by(id=uid).one()
        user.name = name
        db.session.commit()
    except SQLAlchemyError as e:
        print("failed", e)
"""

MODELS = """from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Owner(Base):
    __tablename__ = "owners"
    id = Column(Integer, primary_key=True)
    items = relationship("Item", backref="owner")


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)
    name = Column(String)
    owner_id = Column(ForeignKey("owners.id"))
"""

ADOPT = HEAD + """def adopt(item, owner):
    try:
        item.owner = owner
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not adopted")
        return False
"""

ATTACH = HEAD + """def attach(owner, item):
    try:
        owner.items.append(item)
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not attached")
        return False
"""

RENAME = HEAD + """def rename(item, name):
    try:
        item.name = name
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not renamed")
        return False
"""


def _store(text: str) -> tuple[dict[str, Any], Any, Any]:
    """`text` run as `store` against SQLite in memory with the models of `MODELS`
    (rows: owner 1, items 1 "old" and 2 "b"): its namespace, the engine, the models'
    module namespace."""
    import sqlalchemy

    models: dict[str, Any] = {"__name__": "models"}
    exec(compile(MODELS, "models.py", "exec"), models)
    real = sqlalchemy.create_engine
    engine = real("sqlite://", poolclass=sqlalchemy.pool.StaticPool)
    models["Base"].metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("INSERT INTO owners VALUES (1)"))
        conn.execute(sqlalchemy.text("INSERT INTO items VALUES (1, 'old', NULL), (2, 'b', NULL)"))
    namespace: dict[str, Any] = {"__name__": "store"}
    sqlalchemy.create_engine = lambda *a, **k: engine  # type: ignore[assignment]
    try:
        exec(compile(text, "store.py", "exec"), namespace)
    finally:
        sqlalchemy.create_engine = real  # type: ignore[assignment]
    return namespace, engine, models


def _stored(engine: Any) -> str:
    import sqlalchemy

    with engine.connect() as conn:
        return str(conn.execute(sqlalchemy.text("SELECT name FROM items WHERE id = 1"))
                   .scalar_one())


def _run_rename_missing(text: str) -> tuple[bool, str]:
    """The caller renames item 1 to "new" (pending), `rename()` looks up an id no row
    has (`one()` raises `NoResultFound` on the client), the caller commits: what
    `rename()` returned and item 1's stored name."""
    namespace, engine, models = _store(text)
    session = namespace["Session"]
    item = session.get(models["Item"], 1)
    item.name = "new"  # the caller's own pending work
    renamed = namespace["rename"](session.query(models["Item"]), 99, "x")
    session.commit()
    session.remove()
    return renamed, _stored(engine)


def _run_cascade(text: str, function: str) -> tuple[bool, str]:
    """The caller renames item 1 to "new" (pending), then hands `function` item 2 (in
    the shared session) and owner 1 loaded by another session: the relationship's
    cascade refuses the owner on the client. The caller commits: what `function`
    returned and item 1's stored name."""
    from sqlalchemy.orm import sessionmaker

    namespace, engine, models = _store(text)
    session = namespace["Session"]
    other = sessionmaker(bind=engine)()
    owner = other.get(models["Owner"], 1)
    first, second = session.get(models["Item"], 1), session.get(models["Item"], 2)
    first.name = "new"  # the caller's own pending work
    if function == "adopt":
        done = namespace["adopt"](second, owner)
    else:
        done = namespace["attach"](owner, second)
    session.commit()
    session.remove()
    other.close()
    return done, _stored(engine)


def test_a_query_handed_in_and_run_by_one_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": QUERY_PARAM}, "store.py",
                               "`.one()` may run a query", shows="Session.rollback()")
    # the original printed, returned False and left the caller's rename to its commit;
    # the rollback (what main's safe fix wrote) discarded it
    assert _run_rename_missing(QUERY_PARAM) == (False, "new")
    assert _run_rename_missing(fixed) == (False, "old")


def test_a_module_level_query_run_in_the_try_makes_the_rollback_unsafe() -> None:
    only_an_unsafe_fix("PS103", {"store.py": QUERY_AT_IMPORT}, "store.py",
                       "`.one()` may run a query", shows="Session.rollback()")


def test_a_query_kept_on_self_makes_the_rollback_unsafe() -> None:
    only_an_unsafe_fix("PS103", {"store.py": QUERY_ON_SELF}, "store.py",
                       "`.one()` may run a query", shows="Session.rollback()")


def test_a_model_query_bound_before_the_try_makes_the_rollback_unsafe() -> None:
    only_an_unsafe_fix("PS103", {"store.py": MODEL_QUERY_BEFORE}, "store.py",
                       "`.one()` may run a query", shows="db.session.rollback()")


def test_setting_a_relationship_makes_the_rollback_unsafe() -> None:
    files = {"models.py": MODELS, "store.py": ADOPT}
    fixed = only_an_unsafe_fix("PS103", files, "store.py",
                               "`item.owner = ...` sets a relationship",
                               shows="Session.rollback()")
    assert _run_cascade(ADOPT, "adopt") == (False, "new")
    assert _run_cascade(fixed, "adopt") == (False, "old")


def test_appending_to_a_relationship_makes_the_rollback_unsafe() -> None:
    files = {"models.py": MODELS, "store.py": ATTACH}
    fixed = only_an_unsafe_fix("PS103", files, "store.py",
                               "`owner.items.append()` sets a relationship",
                               shows="Session.rollback()")
    assert _run_cascade(ATTACH, "attach") == (False, "new")
    assert _run_cascade(fixed, "attach") == (False, "old")


def test_setting_a_column_keeps_the_rollback_safe_beside_relationships() -> None:
    # `name` is no relationship: what fails is the commit's flush, rolled back already
    fixed = one_safe_fix("PS103", {"models.py": MODELS, "store.py": RENAME}, "store.py")
    assert "Session.rollback()" in fixed


def test_a_server_error_handler_keeps_the_query_shape_safe() -> None:
    source = QUERY_PARAM.replace("SQLAlchemyError", "IntegrityError")
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": source}, "store.py")


# A session the function opened, with a commit after the `try` (fix50's
# `_client_error_work_committed`): the original commits the work the `try` did before a
# call that fails without rolling the transaction back (`merge` of an unmapped object,
# `refresh` of one not persisted); the rollback discards it. fix85 read only
# `add` / `add_all` / `delete` / `expunge` there.
OWN = """from sqlalchemy import Column, Integer, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("sqlite://")
Maker = sessionmaker(bind=engine)
Base = declarative_base()


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)


def seed(rows):
    session = Maker()
    try:
{body}
    except SQLAlchemyError as e:
        print("seed failed", type(e).__name__)
    session.commit()
    session.close()
"""

MERGE_LOOP = OWN.format(body="""        for row in rows:
            session.merge(row)""")

INSERT_THEN_REFRESH = OWN.format(body=(
    """        session.execute(text("INSERT INTO items (id) VALUES (1)"))\n"""
    """        session.refresh(rows[-1])"""))

MERGE_FIRST = OWN.format(body="""        session.merge(rows[0])
        session.flush()""")


def _run_own(text: str) -> int:
    """`seed()` of a mapped row then an unmapped dict (`merge` refuses it, `refresh`
    refuses the transient object before it): how many rows are stored."""
    import sqlalchemy

    namespace: dict[str, Any] = {"__name__": "seeding"}
    exec(compile(text, "seeding.py", "exec"), namespace)
    engine = namespace["engine"]
    namespace["Base"].metadata.create_all(engine)
    rows = [namespace["Item"](id=1), {"id": 2}]
    if "refresh" in text:
        rows = [namespace["Item"](id=2)]
    namespace["seed"](rows)
    with engine.connect() as conn:
        return int(conn.execute(sqlalchemy.text("SELECT count(*) FROM items")).scalar_one())


def test_merge_in_a_loop_before_a_commit_after_the_try_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"seeding.py": MERGE_LOOP}, "seeding.py",
                               "`session.merge()` after earlier work in the `try`",
                               shows="session.rollback()")
    assert _run_own(MERGE_LOOP) == 1
    assert _run_own(fixed) == 0


def test_refresh_after_an_insert_before_a_commit_after_the_try_makes_the_rollback_unsafe(
) -> None:
    fixed = only_an_unsafe_fix("PS103", {"seeding.py": INSERT_THEN_REFRESH}, "seeding.py",
                               "`session.refresh()` after earlier work in the `try`",
                               shows="session.rollback()")
    assert _run_own(INSERT_THEN_REFRESH) == 1
    assert _run_own(fixed) == 0


def test_a_merge_with_no_work_before_it_keeps_the_rollback_safe() -> None:
    # what fails is the first call or the flush: the transaction holds nothing of the
    # `try` the rollback could take from the commit after it
    assert "session.rollback()" in one_safe_fix("PS103", {"seeding.py": MERGE_FIRST},
                                                "seeding.py")


# PS205: the teardown handler removes a scoped session the original kept for the
# thread's life. A view that changes a loaded object and never commits leaves that
# change pending; the original's next request on the same thread commits it (here the
# truncated body is stored), the removed session discards it.
POSTS_DB = """from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

engine = create_engine("sqlite://")
Session = scoped_session(sessionmaker(bind=engine))
Base = declarative_base()


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    body = Column(String)
    likes = Column(Integer, default=0)
"""

POSTS_APP = """from flask import Flask

from posts_db import Post, Session

app = Flask(__name__)


@app.route("/posts")
def posts():
    rows = Session.query(Post).order_by(Post.id).all()
    for post in rows:
        post.body = post.body[:3] + "..."
    return ", ".join(post.body for post in rows)


@app.route("/like/<int:pid>", methods=["POST"])
def like(pid):
    post = Session.get(Post, pid)
    post.likes += 1
    Session.commit()
    return str(post.likes)
"""


def _run_posts(app_text: str) -> list[object]:
    """GET /posts (truncates the bodies it shows), then POST /like/1 (commits), in one
    thread: the two responses and the stored row."""
    import sys
    import types

    import sqlalchemy

    db = types.ModuleType("posts_db")
    exec(compile(POSTS_DB, "posts_db.py", "exec"), db.__dict__)
    engine = sqlalchemy.create_engine("sqlite://", poolclass=sqlalchemy.pool.StaticPool)
    db.Session.configure(bind=engine)  # type: ignore[attr-defined]
    db.Base.metadata.create_all(engine)  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("INSERT INTO posts VALUES (1, 'hello world', 0)"))
    saved = sys.modules.get("posts_db")
    sys.modules["posts_db"] = db
    try:
        app = types.ModuleType("posts_app")
        exec(compile(app_text, "app.py", "exec"), app.__dict__)
        client = app.app.test_client()  # type: ignore[attr-defined]
        out: list[object] = [client.get("/posts").get_data(as_text=True),
                             client.post("/like/1").get_data(as_text=True)]
    finally:
        if saved is None:
            sys.modules.pop("posts_db", None)
        else:
            sys.modules["posts_db"] = saved
        db.Session.remove()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        out.append(tuple(conn.execute(sqlalchemy.text("SELECT body, likes FROM posts")).one()))
    return out


def test_a_view_leaving_a_change_pending_makes_the_teardown_unsafe() -> None:
    files = {"posts_db.py": POSTS_DB, "app.py": POSTS_APP}
    fixed = only_an_unsafe_fix("PS205", files, "app.py",
                               "`posts()` in app.py sets `post.body` and neither commits",
                               shows="Session.remove()")
    assert _run_posts(POSTS_APP) == ["hel...", "1", ("hel...", 1)]
    assert _run_posts(fixed) == ["hel...", "1", ("hello world", 1)]


def test_views_that_commit_what_they_change_keep_the_teardown_safe() -> None:
    app = POSTS_APP.replace('    return ", ".join(post.body for post in rows)\n',
                            '    text = ", ".join(post.body for post in rows)\n'
                            '    Session.rollback()\n'
                            '    return text\n')
    fixed = one_safe_fix("PS205", {"posts_db.py": POSTS_DB, "app.py": app}, "app.py")
    assert "Session.remove()" in fixed


def test_a_view_committing_through_a_helper_keeps_the_teardown_safe() -> None:
    # a project helper named for what it does (`commit_changes()`) settles the change
    db = POSTS_DB + """

def commit_changes():
    Session.commit()
"""
    app = POSTS_APP.replace("from posts_db import Post, Session",
                            "from posts_db import Post, Session, commit_changes")
    app = app.replace('    return ", ".join(post.body for post in rows)\n',
                      '    commit_changes()\n    return ", ".join(post.body for post in rows)\n')
    fixed = one_safe_fix("PS205", {"posts_db.py": db, "app.py": app}, "app.py")
    assert "Session.remove()" in fixed
