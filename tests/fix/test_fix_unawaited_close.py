"""PS102 on a `conn.close()` whose coroutine is dropped unawaited (asyncpg, SQLAlchemy's
AsyncSession; corpus23's tune half): the safe fix awaits the close where it stands, shown
before and after, with the fixed text re-parsed and fixed again to nothing."""

from __future__ import annotations

from fix_checks import checked, fix_one

from poolsafe.rules.cases import ps102


def _case(cases: list[ps102.Case], phrase: str) -> ps102.Case:
    (case,) = [c for c in cases if phrase in c.note]
    return case


def test_asyncpg_close_is_awaited_in_place() -> None:
    case = _case(ps102.INVALID, "asyncpg: `conn.close()` is not awaited")
    text, left, applied = fix_one("PS102", {case.path: case.code}, case.path, unsafe=False)
    assert applied == [True] and not left, left
    assert text == case.code.replace("    finally:\n        conn.close()\n",
                                     "    finally:\n        await conn.close()\n")
    checked("PS102", {case.path: text})


def test_every_unawaited_close_of_the_connection_is_awaited() -> None:
    source = '''\
import asyncpg


async def last_login(dsn, user_id):
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT at FROM logins WHERE user_id = $1", user_id)
        conn.close()
        return row
    except Exception:
        conn.close()
        raise
'''
    text, left, applied = fix_one("PS102", {"case.py": source}, "case.py", unsafe=False)
    assert applied == [True] and not left, left
    assert text == source.replace("        conn.close()\n", "        await conn.close()\n")
    checked("PS102", {"case.py": text})
    # an `except` that catches only the driver's errors leaves the others' path open:
    # the closes are awaited, and the finding stays for that path
    narrow = source.replace("except Exception:", "except asyncpg.PostgresError:")
    text, left, applied = fix_one("PS102", {"case.py": narrow}, "case.py", unsafe=False)
    assert text == narrow.replace("        conn.close()\n", "        await conn.close()\n")
    assert left == ["the fix was applied but the finding remains"]


def test_async_session_close_is_awaited() -> None:
    case = _case(ps102.INVALID, "AsyncSession.close() is a coroutine function")
    text, left, applied = fix_one("PS102", {case.path: case.code}, case.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "    finally:\n        await session.close()\n" in text
    checked("PS102", {case.path: text})
