"""fix72 (benchmarks/README.md, "fix72").

Task A: PS103's fix on a handler whose object may be unbound there (`archive = Archive()`
inside the `try`) writes `archive = None` before the `try` and guards the rollback with
`if archive is not None:`. The flow's None check ended the facts on `archive` but not on
`archive.session`, so the finding survived its own fix and `fix` stopped after ten
passes, the handler holding ten copies of the rollback. Now a `None` check also ends the
failed transaction of `obj.<attr>`: the fix settles (one pass, a second fix is a no-op),
and it stays unsafe (where `Archive()` raised, the use after the handler meets `None`,
an AttributeError, instead of an unbound name)."""

from __future__ import annotations

import pytest
from fix_checks import checked, fix_one, unsafe_only

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions

ARCHIVE = '''\
import logging

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


class Archive:
    session = None

    def __init__(self, engine=None, session=None):
        self.engine = engine if engine is not None else create_engine(
            "postgresql://app@db/archive", pool_pre_ping=True)
        if session is not None:
            self.session = session
        else:
            self.session = Session(self.engine)

    def count_boxes(self):
        return self.session.execute(text("SELECT count(*) FROM boxes")).scalar()


def archive_reachable():
    ok = True
    try:
        log.info("checking the archive")
        archive = Archive()
        archive.count_boxes()
    except Exception as exc:
        log.error("archive unreachable: %s", exc)
        ok = False
    archive.count_boxes()
    return ok
'''

LAYOUTS = {"lf": ARCHIVE, "crlf": ARCHIVE.replace("\n", "\r\n"),
           "tabs": ARCHIVE.replace("    ", "\t")}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_ps103_fix_of_a_maybe_unbound_object_settles_and_stays_unsafe(layout: str) -> None:
    source = LAYOUTS[layout]
    result = fix_sources({"case.py": source}, ScanOptions(select={"PS103"}), unsafe=True)
    assert not result.errors, result.errors
    # at main: ten passes, ten rollbacks, the finding left
    assert len(result.applied) == 1 and not result.left, (result.applied, result.left)
    fixed = result.sources()["case.py"]
    assert fixed.count("rollback()") == 1, fixed
    assert "archive = None" in fixed and "if archive is not None:" in fixed
    if layout == "crlf":
        assert "\n" not in fixed.replace("\r\n", "")
    checked("PS103", {"case.py": fixed})  # re-parses, compiles, a second fix is a no-op
    # unsafe: where `Archive()` raised, the use after the handler meets None
    text = unsafe_only("PS103", source, "UnboundLocalError")
    assert text == fixed


def test_the_safe_run_leaves_it_alone() -> None:
    text, left, applied = fix_one("PS103", {"case.py": ARCHIVE}, "case.py", unsafe=False)
    assert text == ARCHIVE and applied == [] and len(left) == 1, left
