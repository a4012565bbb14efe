"""Safe fixes that changed behaviour, found by the fix51 audit (benchmarks/fixcorpus51.txt,
labels/fixcorpus51.hunks) and its probes, each shown before and after, with the fixed
text re-parsed and fixed again to nothing:

- PS103's rollback of Flask-SQLAlchemy's `db.session` in a handler that runs after the
  `with app.app_context():` block the session was used in (tune half: the rollback
  raised `RuntimeError: Working outside of application context`): no fix now;
- PS103's rollback on a connection the function did not open, where the `try` calls
  something that raises the driver's error on the client with no commit before it
  (`fetchone()` after an INSERT): the PostgreSQL-only exemption assumed the error had
  aborted the transaction; the fix is unsafe now;
- PS102's `with SessionLocal() as db:` in a project that pins SQLAlchemy below 1.4 (no
  `Session.__enter__`): the fix writes try/finally with `close()` there;
- a project release function named in other words (`desconectar`, `liberar_conexion`),
  which the equivalence check took for a call that may raise: the fix is safe now.
"""

from __future__ import annotations

from fix_checks import checked, fix_one

from poolsafe.rules.cases import ps102, ps103


def _case(cases: list[ps103.Case], phrase: str) -> ps103.Case:
    (case,) = [c for c in cases if phrase in c.note]
    return case


def _files(case: ps103.Case) -> dict[str, str]:
    return {**case.files, case.path: case.code}


def test_no_rollback_after_the_app_context_has_gone() -> None:
    case = _case(ps103.INVALID, "after the app context has gone")
    # main 7dc99f8 added `if isinstance(e, SQLAlchemyError): db.session.rollback()` to
    # this handler: outside any app context, Flask-SQLAlchemy 3's `db.session` raises
    # RuntimeError, where the original printed and returned
    for unsafe in (False, True):
        text, left, applied = fix_one("PS103", _files(case), case.path, unsafe=unsafe)
        assert text == case.code and not applied
        (reason,) = left
        assert reason == f"not fixable: {case.unfixable}"


def test_a_handler_inside_the_app_context_still_gets_its_rollback() -> None:
    # (round 34, prec76c: a swallowed error whose `try` ends the app context is rolled
    # back by the context's teardown and no longer reported; the session used again
    # after the `try` keeps the finding this test is about)
    # (round 41, fix85: `db.session.add(row)` can refuse its object on the client, an
    # unmapped or detached one, with nothing rolled back; the original printed and the
    # commit after the `try` stored the rows added before it, which the rollback
    # discards: the rollback, still written inside the app context, is unsafe now)
    source = _case(ps103.VALID, "inside the app context").code.replace(
        "            db.session.rollback()\n", "") + "        db.session.commit()\n"
    text, left, applied = fix_one("PS103", {"case.py": source}, "case.py", unsafe=False)
    assert text == source and not applied
    (reason,) = left
    assert "`db.session.add()` can refuse its object on the client" in reason, reason
    text, left, applied = fix_one("PS103", {"case.py": source}, "case.py", unsafe=True)
    assert applied == [False] and not left, left
    assert "            if isinstance(e, SQLAlchemyError):\n" \
           "                db.session.rollback()\n" in text
    checked("PS103", {"case.py": text})


def test_client_error_on_a_module_connection_is_unsafe() -> None:
    case = _case(ps103.INVALID, "leaves the INSERT that save() commits")
    # main applied this rollback as a safe fix: "no results to fetch" aborts nothing,
    # and the INSERT it discards is the one `save()` commits later
    text, left, applied = fix_one("PS103", _files(case), case.path, unsafe=False)
    assert text == case.code and not applied
    (reason,) = left
    assert reason.startswith("unsafe fix available (--unsafe-fixes): `conn` outlives this "
                             "call: `fetchone()` can raise the driver's error without the "
                             "server aborting the transaction")
    fixed, left, applied = fix_one("PS103", _files(case), case.path, unsafe=True)
    assert applied == [False] and not left
    assert "                conn.rollback()\n" in fixed
    checked("PS103", {case.path: fixed})


def test_a_commit_before_the_fetch_keeps_the_fix_safe() -> None:
    case = _case(ps103.INVALID, "committed before the fetch")
    text, left, applied = fix_one("PS103", _files(case), case.path, unsafe=False)
    assert applied == [True] and not left, left
    checked("PS103", {case.path: text})


def test_a_handler_of_server_errors_only_keeps_the_fix_safe() -> None:
    case = _case(ps103.INVALID, "leaves the INSERT that save() commits")
    source = case.code.replace("    except Exception as e:  # expect: PS103",
                               "    except psycopg2.IntegrityError as e:  # expect: PS103")
    text, left, applied = fix_one("PS103", {case.path: source}, case.path, unsafe=False)
    assert applied == [True] and not left, left
    checked("PS103", {case.path: text})


def test_session_on_sqlalchemy_13_is_closed_in_finally() -> None:
    case = _case(ps102.INVALID, "SQLAlchemy 1.3 pinned")
    # main wrote `with SessionLocal() as db:`, which raises AttributeError (__enter__)
    # on SQLAlchemy 1.3, the version the project pins
    text, left, applied = fix_one("PS102", _files(case), case.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "with SessionLocal()" not in text
    assert "    db = SessionLocal()  # expect: PS102\n    try:\n" \
           "        n = db.execute(\"SELECT count(*) FROM users\").scalar()\n" \
           "    finally:\n        db.close()\n    return n\n" in text
    compile(text, case.path, "exec")
    again, left, applied = fix_one("PS102", {**case.files, case.path: text}, case.path,
                                   unsafe=True)
    assert again == text and not applied and not left


def test_session_with_no_pin_or_a_newer_one_keeps_the_with() -> None:
    case = _case(ps102.INVALID, "SQLAlchemy 1.3 pinned")
    for files in ({}, {"requirements.txt": "SQLAlchemy>=1.4\n"},
                  {"requirements.txt": "sqlalchemy\n"}):
        text, left, applied = fix_one("PS102", {**files, case.path: case.code}, case.path,
                                      unsafe=False)
        assert applied == [True] and not left, left
        assert "    with SessionLocal() as db:  # expect: PS102\n" in text


def test_a_release_named_in_other_words_is_a_release() -> None:
    case = _case(ps102.INVALID, "`desconectar` is skipped")
    # main refused this as safe: the equivalence check knew `desconectar(conn)` by no
    # word of its name, so it counted it as a call that may raise on the failure paths
    text, left, applied = fix_one("PS102", _files(case), case.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "    try:\n" in text and "    finally:\n        db.desconectar(conn)\n" in text
    assert "import desconectar" not in text
    checked("PS102", {**case.files, case.path: text})


def test_a_release_named_in_other_words_that_commits_stays_unsafe() -> None:
    # the same function committing before it gives the connection back: in the
    # `finally` it would commit what a failed statement left half done (fix50's class)
    case = _case(ps102.INVALID, "`desconectar` is skipped")
    db = case.files["db.py"].replace("def desconectar(conn):\n",
                                     "def desconectar(conn):\n    conn.commit()\n")
    text, left, applied = fix_one("PS102", {"db.py": db, case.path: case.code}, case.path,
                                  unsafe=False)
    assert text == case.code and not applied
    (reason,) = left
    assert "the release function `desconectar()` also commits" in reason


EXIT = '''\
from psycopg2 import pool


class Conexion:
    _pool = pool.SimpleConnectionPool(1, 5, dsn="dbname=app")

    @classmethod
    def obtener(cls):
        return cls._pool.getconn()

    @classmethod
    def liberar(cls, conexion):
        cls._pool.putconn(conexion)


class CursorDelPool:
    def __enter__(self):
        self._conexion = Conexion.obtener()
        self._cursor = self._conexion.cursor()
        return self._cursor

    def __exit__(self, tipo, valor, traza):
        if valor:
            self._conexion.rollback()
        else:
            self._conexion.commit()
        self._cursor.close()
        Conexion.liberar(self._conexion)
'''


def test_an_exit_release_named_in_other_words_is_a_release() -> None:
    text, left, applied = fix_one("PS102", {"case.py": EXIT}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    assert "        finally:\n            Conexion.liberar(self._conexion)\n" in text
    checked("PS102", {"case.py": text})
    committing = EXIT.replace("        cls._pool.putconn(conexion)\n",
                              "        conexion.commit()\n        cls._pool.putconn(conexion)\n")
    text, left, applied = fix_one("PS102", {"case.py": committing}, "case.py", unsafe=False)
    assert not applied
    (reason,) = left
    assert "the release function `liberar()` also commits" in reason


def test_a_fetch_after_a_statement_that_returns_rows_keeps_the_fix_safe() -> None:
    # fixcorpus51 (tune, CRI-lab/uid-tool): `SELECT ...` then `fetchone()` on the
    # object's connection; a first version of the check above made it unsafe
    case = _case(ps103.INVALID, "the INSERT returns its id")
    text, left, applied = fix_one("PS103", _files(case), case.path, unsafe=False)
    assert applied == [True] and not left, left
    checked("PS103", {case.path: text})
    select = case.code.replace('"INSERT INTO users (name) VALUES (%s) RETURNING id", (name,)',
                               '"SELECT id FROM users WHERE name = %s", (name,)')
    text, left, applied = fix_one("PS103", {case.path: select}, case.path, unsafe=False)
    assert applied == [True] and not left, left


def test_remove_handler_after_a_committing_teardown_is_unsafe() -> None:
    # main 7dc99f8 added `remove_session` before `return app`, after the factory's
    # `commit_session`: Flask runs teardown_appcontext handlers in reverse order, so the
    # session was removed (rolled back) before the commit, and the visit was lost (shown
    # on SQLite with Flask 3.1: 1 row before, 0 after)
    from poolsafe.rules.cases import ps205

    case = _case(ps205.INVALID, "a new handler after it would run first")
    text, left, applied = fix_one("PS205", _files(case), case.path, unsafe=False)
    assert text == case.code and not applied
    (reason,) = left
    assert "`app` already registers a teardown_appcontext handler, and Flask runs them " \
           "in the reverse order" in reason
    fixed, left, applied = fix_one("PS205", _files(case), case.path, unsafe=True)
    assert applied == [False] and not left
    checked("PS205", {case.path: fixed})


def test_remove_handler_with_no_earlier_teardown_stays_safe() -> None:
    from poolsafe.rules.cases import ps205

    case = _case(ps205.INVALID, "a new handler after it would run first")
    source = case.code.replace('''    @app.teardown_appcontext
    def commit_session(exception=None):
        if exception is None:
            Session.commit()

''', "")
    text, left, applied = fix_one("PS205", {case.path: source}, case.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "        Session.remove()\n" in text
    checked("PS205", {case.path: text})
