"""The equivalence check's work budget (poolsafe.fix.equivalence.paths.MAX_STEPS): a
function whose paths multiply through nested loops and handlers is refused (the fix
is then not proved, so never safe) after a bounded amount of work, with the same
verdict the unbounded walk reaches far later; a plain function is compared as before."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
import pytest

from poolsafe.fix.equivalence import compare_function, paths

TOO_MANY = "too many paths to compare, so the fix is not proved to keep behaviour"

# a crawler's main loop: retries inside a loop inside a loop, each with a handler
NESTED = '''
def crawl(session):
    while True:
        try:
            batch = session.query(Item).filter(Item.done == False).all()
            for item in batch:
                try:
                    page = fetch(item.url)
                except FetchError:
                    continue
                if page.links:
                    for link in page.links:
                        try:
                            session.add(Item(url=link))
                        except ValueError:
                            pass
                        if link.external:
                            log(link)
                session.commit()
                while True:
                    try:
                        session.query(Item).filter(Item.id == item.id).update({"done": True})
                        session.commit()
                        break
                    except Exception:
                        wait()
        except OperationalError:
            print("retry")
'''

PLAIN = '''
def mark_done(session, item):
    try:
        session.query(Item).filter(Item.id == item.id).update({"done": True})
        session.commit()
    except OperationalError:
        print("retry")
'''


def _pair(source: str) -> tuple[cst.FunctionDef, cst.FunctionDef]:
    fixed = source.replace('        print("retry")',
                           '        session.rollback()\n        print("retry")')
    fixed = fixed.replace('            print("retry")',
                          '            session.rollback()\n            print("retry")')
    assert fixed != source
    before, after = cst.parse_module(source).body[0], cst.parse_module(fixed).body[0]
    assert isinstance(before, cst.FunctionDef) and isinstance(after, cst.FunctionDef)
    return before, after


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The work each walker of a comparison did."""
    spent: list[int] = []
    run = paths.Walker.run

    def counted(self: paths.Walker) -> list[paths.Outcome]:
        try:
            return run(self)
        finally:
            spent.append(self.steps)

    monkeypatch.setattr(paths.Walker, "run", counted)
    yield spent


def test_paths_that_multiply_are_refused_within_the_budget(steps: list[int]) -> None:
    assert compare_function(*_pair(NESTED)) == ([TOO_MANY], False)
    # the walk stopped at the budget (one last call may add up to MAX_PATHS paths)
    assert steps and max(steps) <= paths.MAX_STEPS + paths.MAX_PATHS
    assert max(steps) > paths.MAX_STEPS


def test_a_plain_function_is_compared_well_under_the_budget(steps: list[int]) -> None:
    problems, lost = compare_function(*_pair(PLAIN))
    assert TOO_MANY not in problems and not lost
    assert steps and max(steps) < paths.MAX_STEPS // 100


def test_a_spent_budget_only_ever_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    # the plain function is compared in full with the default budget (its problem: a
    # rollback in a lost-connection handler can raise); with almost no budget the same
    # comparison is refused, never answered from a partial walk
    problems, _ = compare_function(*_pair(PLAIN))
    assert problems and TOO_MANY not in problems
    monkeypatch.setattr(paths, "MAX_STEPS", 10)
    assert compare_function(*_pair(PLAIN)) == ([TOO_MANY], False)
