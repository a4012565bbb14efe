"""Issue 32: `prefilter.reselect` against a fresh `select` on a real code base.

    python benchmarks/reselect_check.py /tmp/poolsafe-scale-airflow SEED FILES

FILES files drawn at random (SEED) are each edited four ways (a function appended,
the lines naming sqlalchemy or a session dropped, every import dropped, a new
leak appended); for both selections (full, database only) every reselection that
answers must equal a fresh `select` of the edited files (targets, tainted names,
seeds, defined names). Prints, per edit, how many answered (True) or fell back to
the whole selection (False). The code bases are `scale.py`'s (`fetch`).
"""

from __future__ import annotations

import copy
import random
import sys
from pathlib import Path

from poolsafe.core.discovery import discover
from poolsafe.core.project import module_key
from poolsafe.scan.prefilter import reselect, select

EDITS = {
    "fn": lambda t: t + "\n\ndef _added_x():\n    return 1\n",
    "drop sqlalchemy imports": lambda t: "\n".join(
        line for line in t.splitlines()
        if "sqlalchemy" not in line and "session" not in line.lower()) + "\n",
    "import dropped": lambda t: "\n".join(
        line for line in t.splitlines() if not line.startswith(("import ", "from "))) + "\n",
    "leak": lambda t: t + "\n\ndef _added(pool):\n    conn = pool.getconn()\n"
                          "    conn.cursor().execute('SELECT 1')\n",
}


def main() -> None:
    root, seed, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    files = [f for f in discover([str(root)]) if not isinstance(f, str)]
    datas = [f.path.read_bytes() for f in files]
    modules = [module_key(f.path.relative_to(root)) for f in files]
    for database_only in (False, True):
        state: dict[str, object] = {}
        select(datas, modules=modules, state=state, database_only=database_only)
        picks = random.Random(seed).sample(range(len(datas)), count)
        answered: dict[tuple[str, bool], int] = {}
        for i in picks:
            for name, edit in EDITS.items():
                edited = list(datas)
                edited[i] = edit(datas[i].decode("utf-8", "replace")).encode()
                if edited[i] == datas[i]:
                    continue
                again = reselect(edited, None, modules=modules, state=copy.deepcopy(state),
                                 changed=[i], memo={}, database_only=database_only)
                key = (name, again is not None)
                answered[key] = answered.get(key, 0) + 1
                if again is None:
                    continue
                fresh = select(edited, modules=modules, database_only=database_only)
                assert ((again.targets, again.tainted, again.seeds, again.def_names)
                        == (fresh.targets, fresh.tainted, fresh.seeds, fresh.def_names)), (
                    files[i].path, name)
        print("database only" if database_only else "full", sorted(answered.items()))


if __name__ == "__main__":
    main()
