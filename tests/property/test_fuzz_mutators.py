"""The mutators themselves: they change the code, keep it compiling, and keep
what must stay in place in place (so a failure in the property tests is
poolsafe's, not the mutators')."""

from __future__ import annotations

import re

import libcst as cst
from fuzz_mutators import KINDS, mutate_once, renamable
from fuzz_support import fixture_apps, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

SOURCE = '''\
"""Doc."""
from __future__ import annotations

import os
from psycopg2.pool import ThreadedConnectionPool as Pool

pool = Pool(1, 2)
counter = 0


def rows(user_id, *, limit=10):
    global counter
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("SELECT 1", (user_id,))
    counter += 1
    data = [r for r in cur.fetchall()][:limit]
    pool.putconn(conn)
    return data


class Repo:
    table = "t"

    def count(self):
        return rows(self.table, limit=os.cpu_count())
'''


def test_renamable_names_exclude_imports_builtins_and_dunders() -> None:
    names = renamable(cst.parse_module(SOURCE))
    assert "pool" in names and "conn" in names and "rows" in names and "Repo" in names
    assert "user_id" in names and "limit" in names and "r" in names
    for kept in ("os", "Pool", "ThreadedConnectionPool", "self", "annotations", "print"):
        assert kept not in names


@fuzz_settings(40)
@given(data=st.data())
def test_every_mutation_compiles_and_keeps_pinned_statements(data: st.DataObject) -> None:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    module = mutate_once(cst.parse_module(SOURCE), data, kind)
    code = module.code
    compile(code, "m.py", "exec", dont_inherit=True)
    assert "from __future__ import annotations" in code
    lines = code.splitlines()
    future = lines.index("from __future__ import annotations")
    assert all(not x.strip() or x.startswith(('"""', "import contextlib"))
               for x in lines[:future])
    if kind == "rename":
        # attributes, keywords and imports are never renamed
        assert ".getconn()" in code and ".cursor()" in code and "self.table" in code
        assert "limit=" in code and "import ThreadedConnectionPool as Pool" in code
    if kind == "nullctx":
        assert "import contextlib" in code and "with contextlib.nullcontext():" in code


@fuzz_settings(30)
@given(data=st.data())
def test_mutations_of_the_fixture_apps_compile(data: st.DataObject) -> None:
    apps = fixture_apps()
    app = data.draw(st.sampled_from(sorted(apps)), label="app")
    name = data.draw(st.sampled_from(sorted(apps[app])), label="file")
    module = cst.parse_module(apps[app][name])
    for kind in data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6)):
        module = mutate_once(module, data, kind)
    compile(module.code, name, "exec", dont_inherit=True)


def test_rename_is_consistent() -> None:
    class FixedData:
        """Answers the draws of `rename`: every name, new names n0, n1, ..."""

        def __init__(self) -> None:
            self.n = 0

        def draw(self, strategy: object, label: str = "") -> object:
            if label == "rename names":
                return renamable(cst.parse_module(SOURCE))
            self.n += 1
            return f"n{self.n}"

    code = mutate_once(cst.parse_module(SOURCE), FixedData(), "rename").code
    compile(code, "m.py", "exec", dont_inherit=True)
    for old in ("conn", "cur", "user_id", "rows", "Repo", "counter"):
        assert not re.search(rf"(?<![.\w]){old}\b", code), old
    # `rows` was renamed at its definition and at its call in the same way
    new_rows = f"n{renamable(cst.parse_module(SOURCE)).index('rows') + 1}"
    assert f"def {new_rows}(" in code
    assert f"return {new_rows}(self.table, limit=os.cpu_count())" in code
