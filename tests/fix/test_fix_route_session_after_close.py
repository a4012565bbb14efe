"""PS105 (fix50): a route that closes its own session and then hands what the session
loaded to a call (`copy_to_archive(user)`). In the original that call gets a detached
object; with the session taken from a `Depends()` dependency the session stays open until
the response is sent, so the object is still attached to it and another session's `add()`
refuses it. main 9727f32 applied that rewrite as a safe fix; it is now offered only with
--unsafe-fixes. Returning the object, reading its attributes, or code that reads nothing
the session loaded keep the safe fix."""

from __future__ import annotations

from fix_checks import checked, fix_one

from poolsafe.rules.cases.ps105 import INVALID


def _fix(source: str, *, unsafe: bool) -> tuple[str, list[str], list[bool]]:
    return fix_one("PS105", {"main.py": source}, "main.py", unsafe=unsafe)


def _checked(text: str) -> None:
    checked("PS105", {"main.py": text})


CASE = next(c for c in INVALID if "after its session's close" in c.note).code


def test_use_of_a_loaded_object_after_the_close_is_unsafe() -> None:
    text, left, applied = _fix(CASE, unsafe=False)
    assert text == CASE and not applied
    (reason,) = left
    assert reason.startswith("unsafe fix available (--unsafe-fixes): after `db.close()` "
                             "the route hands on `user`, which the session loaded")
    fixed, left, applied = _fix(CASE, unsafe=True)
    assert applied == [False] and not left
    assert "def archive_user(user_id: int, db: Session = Depends(get_db)):\n" in fixed
    assert "    user = db.get(User, user_id)\n    copy_to_archive(user)\n" in fixed
    assert "db.close()" not in fixed.split("def archive_user")[1]
    assert "finally" not in fixed.split("def archive_user")[1]
    _checked(fixed)


def test_returning_the_loaded_object_after_the_close_stays_safe() -> None:
    source = CASE.replace("    copy_to_archive(user)\n    return {\"archived\": user_id}\n",
                          "    return user\n")
    text, left, applied = _fix(source, unsafe=False)
    assert applied == [True] and not left, left
    _checked(text)


def test_reading_loaded_attributes_after_the_close_stays_safe() -> None:
    source = CASE.replace("    copy_to_archive(user)\n", "    print(user.name)\n")
    text, left, applied = _fix(source, unsafe=False)
    assert applied == [True] and not left, left
    _checked(text)


def test_code_after_the_close_that_reads_nothing_loaded_stays_safe() -> None:
    source = CASE.replace("    copy_to_archive(user)\n", "    copy_to_archive(user_id)\n")
    text, left, applied = _fix(source, unsafe=False)
    assert applied == [True] and not left, left
    _checked(text)
