"""fix86 (benchmarks/README.md, "fix86"): PS103's rollback on a shared session when the
`try` reaches the session under another name before its commit.

fix85 made the rollback unsafe where the `try` calls `<session>.add/add_all/delete/
expunge(...)` (they refuse their object on the client, with nothing rolled back), but read
only calls spelled on the session. The same refusal, or a `NoResultFound`, reached through
a local bound to the session or to one of its methods (`s = Session`, `add = Session.add`),
a project helper that queues on it, or Flask-SQLAlchemy's `Model.query` (the same session),
was still a safe fix; executed here on SQLite: the caller's pending rename is stored by the
original and lost with the rollback. Now each is an unsafe fix with that reason; a `try`
that only sets an attribute and commits keeps the safe rollback.

Also: a model's `delete()` whose only call of that name in the project is its own
`db.session.delete(self)` (a session's method) was taken for a method every caller of which
leaves the request (`_flask_callers_leave`, true of no call at all): not reported. It is
now (cases/ps103.py, the last INVALID case)."""

from __future__ import annotations

from fix_checks import one_safe_fix, only_an_unsafe_fix
from test_fix_fix85 import _run_remove

HEAD = """from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


"""

ALIAS = HEAD + """def remove(obj):
    drop = Session.delete
    try:
        drop(obj)
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not removed")
        return False
"""

OTHER_NAME = HEAD + """def remove(obj):
    s = Session
    try:
        s.delete(obj)
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not removed")
        return False
"""

HELPER = HEAD + """def drop(obj):
    Session.delete(obj)


def remove(obj):
    try:
        drop(obj)
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not removed")
        return False
"""


def _unsafe_and_executed(source: str, reason: str) -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": source}, "store.py", reason,
                               shows="Session.rollback()")
    # the original printed, returned False and left the caller's rename to its commit;
    # the rollback (what main's safe fix wrote) discarded it
    assert _run_remove(source) == (False, "new")
    assert _run_remove(fixed) == (False, "old")


def test_a_local_bound_to_a_session_method_makes_the_rollback_unsafe() -> None:
    _unsafe_and_executed(ALIAS, "`drop` is `Session` (or one of its methods) under another name")


def test_a_local_bound_to_the_session_makes_the_rollback_unsafe() -> None:
    _unsafe_and_executed(OTHER_NAME, "`s` is `Session` (or one of its methods) under another name")


def test_a_project_helper_before_the_commit_makes_the_rollback_unsafe() -> None:
    _unsafe_and_executed(HELPER, "`drop()` is a project function called before the commit")


def test_a_model_query_before_the_commit_makes_the_rollback_unsafe() -> None:
    source = """from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import SQLAlchemyError

db = SQLAlchemy()


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String)


def rename(uid, name):
    try:
        user = User.query.filter_by(id=uid).one()
        user.name = name
        db.session.commit()
    except SQLAlchemyError as e:
        print("failed", e)
"""
    only_an_unsafe_fix("PS103", {"store.py": source}, "store.py",
                       "`User.query` queries through the same session",
                       shows="db.session.rollback()")


def test_setting_an_attribute_and_committing_keeps_the_rollback_safe() -> None:
    # no call before the commit: what fails is the flush, rolled back already
    source = HEAD + """def rename(item, name):
    try:
        item.name = name.strip()
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not renamed")
        return False
"""
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": source}, "store.py")


def test_a_server_error_handler_keeps_the_helper_shape_safe() -> None:
    source = HELPER.replace("SQLAlchemyError", "IntegrityError")
    assert "Session.rollback()" in one_safe_fix("PS103", {"store.py": source}, "store.py")


# The same through a helper in a session the function opened, with a commit after the
# `try` (fix85's `_client_error_work_committed` read only calls spelled on the session):
# the original commits the rows queued before the refused one; the rollback discards them.
SEED = """from sqlalchemy import Column, Integer, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("sqlite://")
Maker = sessionmaker(bind=engine)
Base = declarative_base()


class Item(Base):
    __tablename__ = "items"
    id = Column(Integer, primary_key=True)


def put(session, row):
    session.add(row)


def seed(rows):
    session = Maker()
    try:
        for row in rows:
            put(session, row)
    except SQLAlchemyError as e:
        print("seed failed", type(e).__name__)
    session.commit()
    session.close()
"""


def _run_seed(text: str) -> int:
    """`seed()` of a mapped row then an unmapped dict (`add` refuses it on the client):
    how many rows are stored."""
    import sqlalchemy

    namespace: dict[str, object] = {"__name__": "seeding"}
    exec(compile(text, "seeding.py", "exec"), namespace)
    engine = namespace["engine"]
    namespace["Base"].metadata.create_all(engine)  # type: ignore[attr-defined]
    namespace["seed"]([namespace["Item"](id=1), {"id": 2}])  # type: ignore[operator]
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(sqlalchemy.text("SELECT count(*) FROM items")).scalar_one())


def test_a_helper_refusing_before_a_commit_after_the_try_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"seeding.py": SEED}, "seeding.py",
                               "`put()` is a project function called before the commit",
                               shows="session.rollback()")
    assert _run_seed(SEED) == 1
    assert _run_seed(fixed) == 0


# A project subclass of `Session` whose `commit()` runs a statement of its own before
# `super().commit()`: that statement fails outside any flush (nothing rolled back), so a
# `try` that "only commits" no longer has the failed flush's rollback behind it.
AUDITED = """from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as _Session, scoped_session, sessionmaker

engine = create_engine("mysql+pymysql://app@db/app", pool_pre_ping=True)


class AuditedSession(_Session):
    def commit(self):
        if self.info.get("audit"):
            self.execute(text("INSERT INTO audit (id) VALUES (1)"))
        super().commit()


Session = scoped_session(sessionmaker(bind=engine, class_=AuditedSession))


def rename(item, name):
    try:
        item.name = name
        Session.commit()
        return True
    except SQLAlchemyError:
        print("not renamed")
        return False
"""


def _run_audited(text: str) -> tuple[bool, str]:
    """The caller renames item 1 to "new" (pending), `rename()` of item 2 meets the
    audit's duplicate key (an `IntegrityError` before the flush), then the caller
    commits without the audit: what `rename()` returned and item 1's stored name."""
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
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE audit (id INTEGER PRIMARY KEY)"))
        conn.execute(sqlalchemy.text("INSERT INTO audit VALUES (1)"))
    namespace: dict[str, object] = {"__name__": "store"}
    sqlalchemy.create_engine = lambda *a, **k: engine  # type: ignore[assignment]
    try:
        exec(compile(text, "store.py", "exec"), namespace)
    finally:
        sqlalchemy.create_engine = real  # type: ignore[assignment]
    session = namespace["Session"]
    first, second = Item(id=1, name="old"), Item(id=2, name="b")
    session.add_all([first, second])  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]
    first.name = "new"  # the caller's own pending work
    session.info["audit"] = True  # type: ignore[attr-defined]
    renamed = namespace["rename"](second, "c")  # type: ignore[operator]
    session.info["audit"] = False  # type: ignore[attr-defined]
    session.commit()  # type: ignore[attr-defined]
    session.remove()  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = conn.execute(sqlalchemy.text("SELECT name FROM items WHERE id = 1")).scalar_one()
    return renamed, stored


def test_a_session_subclass_with_its_own_commit_makes_the_rollback_unsafe() -> None:
    fixed = only_an_unsafe_fix("PS103", {"store.py": AUDITED}, "store.py",
                               "the project subclasses `Session` (`AuditedSession.commit()`)",
                               shows="Session.rollback()")
    assert _run_audited(AUDITED) == (False, "new")
    assert _run_audited(fixed) == (False, "old")


# PS203 on Flask-SQLAlchemy's URI: the options entry was written plain (`{"pool_pre_ping":
# True}`) when the app is made in the function and no `app.config.<method>(...)` call fills
# it; but a project helper handed the app (`configure(app)`) or `app.config |= {...}` may
# set options first, which the plain entry replaced (a `pool_size` lost). Now merged.
FACTORY = """from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


def configure(app):
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 5}


def create_app():
    app = Flask(__name__)
    @FILL@
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/app"
    db.init_app(app)
    return app
"""


def _engine_options(text: str) -> object:
    """The app's `SQLALCHEMY_ENGINE_OPTIONS` after `create_app()` (Flask-SQLAlchemy
    stood in for by a no-op `init_app`)."""
    import sys
    import types

    stub = types.ModuleType("flask_sqlalchemy")

    class SQLAlchemy:
        def init_app(self, app: object) -> None:
            pass

    stub.SQLAlchemy = SQLAlchemy  # type: ignore[attr-defined]
    saved = sys.modules.get("flask_sqlalchemy")
    sys.modules["flask_sqlalchemy"] = stub
    try:
        namespace: dict[str, object] = {"__name__": "factory"}
        exec(compile(text, "factory.py", "exec"), namespace)
        app = namespace["create_app"]()  # type: ignore[operator]
    finally:
        if saved is None:
            del sys.modules["flask_sqlalchemy"]
        else:
            sys.modules["flask_sqlalchemy"] = saved
    return app.config.get("SQLALCHEMY_ENGINE_OPTIONS")  # type: ignore[attr-defined]


def test_options_a_helper_or_an_update_set_first_are_merged_not_replaced() -> None:
    for fill in ("configure(app)", 'app.config |= {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 5}}'):
        source = FACTORY.replace("@FILL@", fill)
        fixed = one_safe_fix("PS203", {"factory.py": source}, "factory.py")
        assert '{**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "pool_pre_ping": True}' \
            in fixed, fixed
        assert _engine_options(source) == {"pool_size": 5}
        assert _engine_options(fixed) == {"pool_size": 5, "pool_pre_ping": True}


def test_a_fresh_app_with_only_literal_config_keys_keeps_the_plain_entry() -> None:
    source = FACTORY.replace("@FILL@", 'app.config["SECRET_KEY"] = "k"')
    fixed = one_safe_fix("PS203", {"factory.py": source}, "factory.py")
    assert '    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True}\n' in fixed
    assert _engine_options(fixed) == {"pool_pre_ping": True}
