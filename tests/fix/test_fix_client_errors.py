"""PS103's rollback where the driver raises its own error class without the server
aborting the transaction (fix50): a fetch after a statement that returns no rows
(psycopg2's `ProgrammingError: no results to fetch`), `.one()` finding no row
(SQLAlchemy's `NoResultFound`, a `SQLAlchemyError`). When the handler falls through
to a `commit()` after the `try`, the original stores what the transaction did before
the error (the INSERT, the flushed object); a rollback in the handler discards it.
That fix is offered only with --unsafe-fixes. Its look-alikes keep a safe fix: a
handler of server errors only, a handler that re-raises, no later commit, no call
that raises on the client."""

from __future__ import annotations

from fix_checks import checked, fix_one

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.rules.cases.ps103 import INVALID
from poolsafe.scan.engine import ScanOptions


def _shape(phrase: str) -> str:
    """The INVALID case of `cases/ps103.py` whose note says `phrase`, without its mark:
    the shape these tests vary (kept there once, not copied here)."""
    (case,) = [c for c in INVALID if phrase in c.note]
    return case.code.replace("  # expect: PS103", "")


FETCH_THEN_COMMIT = _shape("'no results to fetch' leaves the INSERT that the commit stores")
ONE_THEN_COMMIT = _shape("one()'s NoResultFound leaves the flushed item")


def _fix(source: str, *, unsafe: bool) -> tuple[str, list[str], list[bool]]:
    return fix_one("PS103", {"app.py": source}, "app.py", unsafe=unsafe)


def _checked(text: str) -> None:
    checked("PS103", {"app.py": text})


def test_fetch_after_insert_then_commit_is_unsafe() -> None:
    # main 9727f32 applied this rollback as a safe fix: with an INSERT that returns
    # no rows, fetchone() raises "no results to fetch" on the client, the original
    # prints and its commit stores the row; the fixed code rolled the row back
    text, left, applied = _fix(FETCH_THEN_COMMIT, unsafe=False)
    assert text == FETCH_THEN_COMMIT and not applied
    (reason,) = left
    assert reason.startswith("unsafe fix available (--unsafe-fixes): `fetchone()` can "
                             "raise the driver's error without the server aborting")
    assert "`conn.commit()` after the `try` stores" in reason
    fixed, left, applied = _fix(FETCH_THEN_COMMIT, unsafe=True)
    assert applied == [False] and not left
    assert "            if isinstance(e, psycopg2.Error):\n" \
           "                try:\n                    conn.rollback()\n" in fixed
    _checked(fixed)


def test_one_after_flush_then_commit_is_unsafe() -> None:
    text, left, applied = _fix(ONE_THEN_COMMIT, unsafe=False)
    assert text == ONE_THEN_COMMIT and not applied
    (reason,) = left
    assert "`one()` can raise the driver's error" in reason
    assert "`db.commit()` after the `try`" in reason
    fixed, left, applied = _fix(ONE_THEN_COMMIT, unsafe=True)
    assert applied == [False] and not left
    assert "        except SQLAlchemyError:\n            db.rollback()\n" in fixed
    _checked(fixed)


def _safe_rewrite(source: str) -> str:
    text, left, applied = _fix(source, unsafe=False)
    assert applied == [True] and not left, left
    _checked(text)
    return text


def test_handler_of_server_errors_only_stays_safe() -> None:
    # an IntegrityError comes only from a statement the server rejected: the
    # transaction is aborted and the commit after the try stores nothing anyway
    source = FETCH_THEN_COMMIT.replace("except Exception as e:",
                                       "except psycopg2.IntegrityError as e:")
    assert "conn.rollback()" in _safe_rewrite(source)


def test_handler_that_reraises_stays_safe() -> None:
    source = ONE_THEN_COMMIT.replace("            owner = None\n",
                                     "            owner = None\n            raise\n")
    fixed, _, applied = _fix(source, unsafe=False)
    # re-raising: the commit after the try is not reached from the handler
    assert applied in ([], [True])
    if applied:
        _checked(fixed)


def test_no_commit_after_the_try_stays_safe() -> None:
    # the connection is used again but nothing commits what the try did: putconn
    # rolls it back in both versions
    source = FETCH_THEN_COMMIT.replace("        conn.commit()\n",
                                       "        cur.execute(\"SELECT 1\")\n")
    assert "conn.rollback()" in _safe_rewrite(source)


def test_no_call_that_raises_on_the_client_stays_safe() -> None:
    source = FETCH_THEN_COMMIT.replace("            new_id = cur.fetchone()\n",
                                       "            new_id = cur.rowcount\n")
    assert "conn.rollback()" in _safe_rewrite(source)


def test_the_name_given_to_a_bare_except_shadows_nothing_the_function_reads() -> None:
    # main 9727f32 wrote `except BaseException as exc:` in this case: `exc` became
    # local to the function, so the handler's `exc.report(...)` called the exception
    # object (AttributeError) instead of the project module's function
    (case,) = [c for c in INVALID if "not `exc`" in c.note]
    result = fix_sources({**case.files, "case.py": case.code}, ScanOptions(select={"PS103"}))
    assert [a.safe for a in result.applied] == [True], [x.reason for x in result.left]
    fixed = result.sources()["case.py"]
    checked("PS103", {**case.files, "case.py": fixed})
    assert "        except BaseException as db_error:  # expect: PS103\n" \
           "            if isinstance(db_error, psycopg2.Error):\n" in fixed
    assert "            exc.report(\"update failed\")\n" in fixed
