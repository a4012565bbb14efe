"""A deterministic, database-dense project for the benchmarks: every function
checks out a connection through the project's own wrappers, a third of them leak.

    python benchmarks/dense_tree.py DEST [--files 1500] [--functions 30]

Layout: `DEST/pyproject.toml`, `DEST/app/db.py` (a psycopg2 pool and the
`get_conn()` / `put_conn(conn)` wrappers), and `DEST/app/pkgNN/modNNNN.py`, 50
modules a package. The same arguments always write the same bytes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DB = '''"""The pool and the project's own wrappers."""

from psycopg2.pool import ThreadedConnectionPool

POOL = ThreadedConnectionPool(1, 20, dsn="dbname=dense")


def get_conn():
    return POOL.getconn()


def put_conn(conn):
    POOL.putconn(conn)
'''

LEAKING = '''

def {name}(key):
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("SELECT value FROM {table} WHERE key = %s", (key,))
    row = cur.fetchone()
    put_conn(conn)
    return row
'''

RELEASED = '''

def {name}(key, value):
    conn = get_conn()
    try:
        with conn.cursor() as cur:
            cur.execute("UPDATE {table} SET value = %s WHERE key = %s", (value, key))
        conn.commit()
    finally:
        put_conn(conn)
'''

PER_PACKAGE = 50


def module_text(number: int, functions: int) -> str:
    parts = [f'"""Generated module {number}."""\n\nfrom app.db import get_conn, put_conn\n']
    for i in range(functions):
        template = LEAKING if (number + i) % 3 == 0 else RELEASED
        parts.append(template.format(name=f"op_{number}_{i}", table=f"t{(number + i) % 17}"))
    return "".join(parts)


def module_path(dest: Path, number: int) -> Path:
    return dest / "app" / f"pkg{number // PER_PACKAGE:02d}" / f"mod{number:04d}.py"


def write(dest: Path, files: int, functions: int) -> list[Path]:
    """Write the tree; returns the generated modules' paths."""
    (dest / "app").mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text("[project]\nname = 'dense'\nversion = '0'\n")
    (dest / "app" / "__init__.py").write_text("")
    (dest / "app" / "db.py").write_text(DB)
    out = []
    for n in range(files):
        path = module_path(dest, n)
        if not path.parent.is_dir():
            path.parent.mkdir()
            (path.parent / "__init__.py").write_text("")
        path.write_text(module_text(n, functions))
        out.append(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dest", type=Path)
    ap.add_argument("--files", type=int, default=1500)
    ap.add_argument("--functions", type=int, default=30)
    args = ap.parse_args()
    paths = write(args.dest, args.files, args.functions)
    print(f"wrote {len(paths)} modules under {args.dest}")


if __name__ == "__main__":
    main()
