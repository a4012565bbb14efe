"""PS102 (fix50): the project's release function also commits (`conn.commit()` then
`pool.putconn(conn)`). main 9727f32 moved `release_conn(conn)` into a `finally` as a
safe fix; there it commits the first UPDATE of a transfer whose second statement failed
(a client-side error, a Python error between them, or any failed statement on a database
that does not abort the transaction), where the original let the exception escape and
committed nothing. That fix is now offered only with --unsafe-fixes; a release function
that only gives the connection back keeps the safe fix."""

from __future__ import annotations

from fix_checks import checked, fix_one

from poolsafe.rules.cases.ps102 import INVALID

CASE = next(c for c in INVALID if "commits before it gives" in c.note)


def _fix(files: dict[str, str], *, unsafe: bool) -> tuple[str, list[str], list[bool]]:
    return fix_one("PS102", {**files, "case.py": CASE.code} if "case.py" not in files
                   else files, "case.py", unsafe=unsafe)


def test_a_release_function_that_commits_is_not_moved_into_finally_as_safe() -> None:
    text, left, applied = _fix(CASE.files, unsafe=False)
    assert text == CASE.code and not applied
    (reason,) = left
    assert reason.startswith("unsafe fix available (--unsafe-fixes): the release function "
                             "`release_conn()` also commits")
    fixed, left, applied = _fix(CASE.files, unsafe=True)
    assert applied == [False] and not left
    assert "    finally:\n        release_conn(conn)\n" in fixed
    checked("PS102", {**CASE.files, "case.py": fixed})


def test_a_release_function_that_only_gives_back_stays_safe() -> None:
    files = {"db.py": CASE.files["db.py"].replace("    conn.commit()\n", "")}
    text, left, applied = _fix(files, unsafe=False)
    assert applied == [True] and not left, left
    assert "    finally:\n        release_conn(conn)\n" in text
    checked("PS102", {**files, "case.py": text})


def test_ps101_does_not_write_a_committing_release_in_place_of_close() -> None:
    from poolsafe.rules.cases.ps101 import INVALID as PS101_INVALID

    case = next(c for c in PS101_INVALID if "release function commits" in c.note)
    files = {**case.files, "case.py": case.code}
    text, left, applied = fix_one("PS101", files, "case.py", unsafe=False)
    assert text == case.code and not applied
    (reason,) = left
    assert "the release function `release_conn()` also commits" in reason
    fixed, left, applied = fix_one("PS101", files, "case.py", unsafe=True)
    assert applied == [False] and not left
    assert "    finally:\n        release_conn(conn)  # expect: PS101\n" in fixed
    checked("PS101", {**case.files, "case.py": fixed})
