"""GitHub issue 8, property-based: mutations of real code (the fixture apps under
fixtures/*/before, and every rule's INVALID cases) never crash `check`, and `fix`
keeps its promises on them: the output parses and compiles, fixing it again
changes nothing, and no finding appears that was not there before.

The mutations (see fuzz_mutators.py) shuffle statements within a block, wrap
statements in try/except/finally, `with contextlib.nullcontext():` or `if x:`,
and rename local variables and functions consistently.
"""

from __future__ import annotations

from fuzz_mutators import mutate
from fuzz_support import (
    check_never_raises,
    fix_properties,
    fixture_apps,
    fuzz_settings,
    invalid_cases,
)
from hypothesis import given, note
from hypothesis import strategies as st

APPS = fixture_apps()
CASES = invalid_cases()


def _mutate_files(files: dict[str, str], targets: list[str],
                  data: st.DataObject) -> dict[str, str]:
    out = dict(files)
    for name in targets:
        code, steps = mutate(out[name], data)
        note(f"{name}: {steps}\n{code}")
        try:
            compile(code, name, "exec", dont_inherit=True)
        except SyntaxError as exc:  # a bug in the mutators, not in poolsafe
            raise AssertionError(f"mutator produced code that does not compile: {exc}\n"
                                 f"{code}") from exc
        out[name] = code
    return out


def test_there_is_something_to_mutate() -> None:
    assert len(APPS) >= 5, sorted(APPS)
    assert len(CASES) >= 12


@fuzz_settings()
@given(data=st.data())
def test_mutated_fixture_app(data: st.DataObject) -> None:
    app = data.draw(st.sampled_from(sorted(APPS)), label="app")
    files = APPS[app]
    nonempty = sorted(n for n, t in files.items() if t.strip())
    targets = data.draw(st.lists(st.sampled_from(nonempty), min_size=1, max_size=2,
                                 unique=True), label="files to mutate")
    mutated = _mutate_files(files, targets, data)
    check_never_raises(mutated)
    fix_properties(mutated, unsafe=data.draw(st.booleans(), label="unsafe"),
                   must_compile=True)


@fuzz_settings()
@given(data=st.data())
def test_mutated_invalid_case(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(CASES)), label="case")
    files, path = CASES[key]
    mutated = _mutate_files(files, [path], data)
    check_never_raises(mutated)
    fix_properties(mutated, unsafe=data.draw(st.booleans(), label="unsafe"),
                   must_compile=True)
