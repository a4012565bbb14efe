"""Test modules and the test doubles they put in place of pools and drivers.

A test that replaces a pool, a driver function or a project helper
(`@patch("asyncpg.connect", new_callable=AsyncMock)`, `patch.object(db, "pool")`,
`mocker.patch("app.db.get_conn")`, `monkeypatch.setattr(db, "pool", fake)`, a
name bound to `Mock()`) gets a double from it, not a connection: what it hands
out holds no slot anywhere. This module names what a test module replaces (the
last part of each replaced target), read once per module from the calls the
module walk already collected.
"""

from __future__ import annotations

from itertools import pairwise

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, positional_args, string_value
from poolsafe.analysis.module import ModuleInfo, ModulePath

#: calls that build a double (the name they are bound to is replaced)
_DOUBLE_FACTORIES = frozenset(
    {"Mock", "MagicMock", "AsyncMock", "NonCallableMock", "NonCallableMagicMock",
     "create_autospec", "PropertyMock"})


def is_test_module(module: ModuleInfo | ModulePath) -> bool:
    """A test module: `test_*.py`, `*_test.py`, `*_tests.py`, `conftest.py`, a Django
    application's `tests.py` (found by Django's default pattern `test*.py`), or under a
    `tests`/`test` directory of its project (or one named `*_test`/`*_tests`:
    `mycli_test/`; or a test-support package: `testing/`, `_testing/`, `test_utils/`,
    `unittest_utils/`; or a module or package whose own name says it supports tests,
    `names_test_support`: `testutils.py`, `db_test_utils.py`, `testing_helper/`). Its
    engines and pools live for one test, not in production. Judged on the module's
    path inside its project (its longest dotted name), never on the directories
    above the project: a checkout that lives under `/home/me/tests/` is not all
    tests."""
    if module.names:
        parts = module.names[0].split(".")
        rel = "/".join(parts) + ("/__init__.py" if module.is_package else ".py")
    else:
        rel = module.abspath.name
    return is_test_path(rel)


def is_test_path(path: str) -> bool:
    """`is_test_module` for a path."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    return (name.startswith("test_") or name.endswith(("_test.py", "_tests.py"))
            or name in ("conftest.py", "tests.py")
            or names_test_support(name.removesuffix(".py"))
            or any(p in {"tests", "test", "testing", "_testing"}
                   or p.endswith(("_test", "_tests")) or p.startswith(("test_", "unittest"))
                   or names_test_support(p)
                   for p in parts[:-1]))


#: single words that name a test-support module or package (`testutils.py`)
_TEST_SUPPORT_WORDS = frozenset({"testutils", "testutil", "testhelpers", "testhelper",
                                 "testsupport"})
#: words that say a test word's module supports tests (`db_test_utils.py`)
_SUPPORT_WORDS = frozenset({"utils", "util", "utilities", "helper", "helpers", "support",
                            "fixtures", "mocks", "fakes", "factories", "tools"})


def names_test_support(name: str) -> bool:
    """A module's or directory's own name says it supports tests: `testutils`, a
    test word followed by a support word (`db_test_utils`, `unittest_helpers`,
    `tests_fixtures`), or `testing_` first (`testing_helper`, `testing_utils`). Not
    `testing` after another word (`ab_testing_utils`: A/B testing in production), nor
    `testing` alone (a library's public testing API, Flask's `testing.py`)."""
    words = name.lower().split("_")
    if any(w in _TEST_SUPPORT_WORDS for w in words):
        return True
    if len(words) > 1 and words[0] == "testing" and words[1] in _SUPPORT_WORDS:
        return True
    return any(w in {"test", "tests", "unittest"} and nxt in _SUPPORT_WORDS
               for w, nxt in pairwise(words))


def _last(target: str) -> str:
    return target.rsplit(".", 1)[-1]


def _replaced_by_call(call: cst.Call) -> str | None:
    """The last part of what a patching call replaces, if it is one."""
    callee = dotted_name(call.func)
    if callee is None:
        return None
    parts = callee.split(".")
    args = positional_args(call)
    if parts[-1] == "patch" or parts[-2:] in (["patch", "dict"], ["patch", "multiple"]):
        # patch("pkg.mod.name"), mock.patch(...), mocker.patch(...)
        target = string_value(args[0]) if args else None
        return _last(target) if target else None
    if parts[-2:] == ["patch", "object"] and len(args) >= 2:
        return string_value(args[1])
    if parts[-1] == "setattr" and len(parts) >= 2 and "monkeypatch" in parts[-2]:
        if len(args) >= 3 or (len(args) == 2 and string_value(args[0]) is None):
            return string_value(args[1])
        target = string_value(args[0]) if args else None
        return _last(target) if target else None
    return None


def replaced_names(module: ModuleInfo) -> frozenset[str]:
    """The last parts of the names a test module replaces with doubles (empty for a
    module that is not a test module)."""
    if not is_test_module(module):
        return frozenset()
    out: set[str] = set()
    for call, _func in module.calls:
        name = _replaced_by_call(call)
        if name:
            out.add(name)
    for assign, _func in module.assign_nodes:
        value = assign.value
        if isinstance(value, cst.Call):
            callee = dotted_name(value.func)
            if callee is not None and _last(callee) in _DOUBLE_FACTORIES:
                for target in assign.targets:
                    name = dotted_name(target.target)
                    if name is not None:
                        out.add(_last(name))
    return frozenset(out)


def calls_a_double(call: cst.Call, replaced: frozenset[str]) -> bool:
    """Whether a call goes through a name the test module replaced (`db.pool.getconn()`
    after `patch.object(db, "pool")`, `asyncpg.connect()` under
    `@patch("asyncpg.connect")`)."""
    if not replaced:
        return False
    func = call.func
    while isinstance(func, cst.Call):  # `factory().acquire()`
        func = func.func
    callee = dotted_name(func)
    if callee is None:
        return False
    return any(part in replaced for part in callee.split("."))
