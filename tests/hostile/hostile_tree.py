"""Build a hostile source tree at run time (no binary junk is committed)."""

from __future__ import annotations

import os
from pathlib import Path

#: the one real leak of the tree: a psycopg2 pool checkout that is never given back
LEAK = '''\
import psycopg2.pool

pool = psycopg2.pool.SimpleConnectionPool(1, 5, dsn="dbname=app")


def count_users():
    conn = pool.getconn()
    cur = conn.cursor()
    cur.execute("select count(*) from users")
    return cur.fetchone()[0]
'''
LEAK_LINE = 7

#: every file below mentions psycopg2, so the prefilter does not skip it
DB = "import psycopg2\n"


def deep_expression(levels: int = 1000) -> str:
    return DB + "x = " + "(" * levels + "1" + ")" * levels + "\n"


def deep_calls(levels: int = 1000) -> str:
    return DB + "x = " + "f(" * levels + ")" * levels + "\n"


def long_chain(terms: int = 1000) -> str:
    return DB + "x = " + " + ".join(["1"] * terms) + "\n"


#: shapes whose parse libcst's native code nests one level per operand, and the
#: operands of each: at 8,000, `+` and `and` crash it (SIGSEGV), unary minus takes
#: 17 s and 3.4 GB (a name and its 8,000 attributes or calls are 8,001 operands)
HOSTILE_CHAINS: dict[str, tuple[str, int]] = {
    "chain_plus.py": ("x = " + " + ".join(["1"] * 8000) + "\n", 8000),
    "chain_and.py": ("x = " + " and ".join(["a"] * 8000) + "\n", 8000),
    "chain_attr.py": ("x = a" + ".b" * 8000 + "\n", 8001),
    "chain_calls.py": ("x = f" + "()" * 8000 + "\n", 8001),
    "chain_unary.py": ("x = " + "-" * 8000 + "1\n", 8001),
    "chain_lambda.py": ("x = " + "lambda: " * 8000 + "1\n", 8001),
}
#: the line each chain starts on (after the `DB` import)
CHAIN_LINE = 2


def deep_ifs(levels: int = 1000) -> str:
    return DB + "".join(" " * i + "if x:\n" for i in range(levels)) + " " * levels + "pass\n"


def huge_literals() -> str:
    """A large string literal and a long data table: large, and shallow."""
    return (DB + "BLOB = '" + "ab" * 500_000 + "'\n"
            + "TABLE = [" + ", ".join(f"-{i}.5" for i in range(20_000)) + "]\n")


def big_module(size: int = 5_000_000) -> str:
    chunk = "def f{0}(a, b):\n    x = a + b * {0}\n    return [x, {{'k': x}}, (a, b)]\n\n"
    parts = []
    total = 0
    i = 0
    while total < size:
        s = chunk.format(i)
        parts.append(s)
        total += len(s)
        i += 1
    return "".join(parts)


#: file name -> the words the error message for it must contain (None: no error)
EXPECTED_ERRORS: dict[str, tuple[str, ...]] = {
    "syntax_error.py": ("syntax error",),
    "python2.py": ("syntax error",),
    "nul_byte.py": ("NUL",),
    "bad_utf8.py": ("decode", "utf-8"),
    "bad_declared.py": ("decode", "ascii"),
    "bad_cookie.py": ("encoding",),
    "deep_parens.py": ("nested",),
    "deep_calls.py": ("nested",),
    "generated_db.py": ("MB", "limit"),
    # too large to read, database words or not (issue 29: no "All clear" over it)
    "generated.py": ("MB", "limit"),
    "deep_ifs.py": ("syntax error",),
    "binary_db.py": ("NUL",),
    **{name: ("too deeply nested for the parser", f"{operands:,} operands",
              f"line {CHAIN_LINE}")
       for name, (_, operands) in HOSTILE_CHAINS.items()},
}


def build(root: Path, *, big: bool = True, outside: Path | None = None) -> Path:
    """Write the hostile tree under `root/proj` and return that directory."""
    proj = root / "proj"
    (proj / "app").mkdir(parents=True)
    (proj / "app" / "__init__.py").write_text("")
    (proj / "app" / "leak.py").write_text(LEAK)
    w = proj.joinpath

    w("syntax_error.py").write_text(DB + "def broken(:\n    pass\n")
    w("python2.py").write_text(DB + 'print "hello"\nexec "x = 1"\n')
    w("nul_byte.py").write_bytes(DB.encode() + b"x = 1\x00\n")
    w("bad_utf8.py").write_bytes(DB.encode() + b"s = '\xff\xfe'\n")
    w("bad_declared.py").write_bytes(b"# -*- coding: ascii -*-\n" + DB.encode()
                                     + b"s = '\xc3\xa9'\n")
    w("bad_cookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\n" + DB.encode())
    w("latin1.py").write_bytes(b"# -*- coding: latin-1 -*-\n" + DB.encode()
                               + b"s = '\xe9t\xe9'\n")
    w("bom.py").write_bytes(b"\xef\xbb\xbf" + DB.encode() + b"x = 1\n")
    w("crlf.py").write_bytes(DB.encode().replace(b"\n", b"\r\n") + b"def f():\r\n    return 1\r\n")
    w("cr.py").write_bytes(DB.encode().replace(b"\n", b"\r") + b"def f():\r    return 1\r")
    w("empty.py").write_bytes(b"")
    w("deep_parens.py").write_text(deep_expression())
    w("deep_calls.py").write_text(deep_calls())
    w("long_chain.py").write_text(long_chain())
    for name, (text, _) in HOSTILE_CHAINS.items():
        w(name).write_text(DB + text)
    w("deep_ifs.py").write_text(deep_ifs())
    w("huge_literals.py").write_text(huge_literals())
    # a binary file named .py (the bytes of a PNG image) after a database import
    w("binary_db.py").write_bytes(DB.encode() + b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8")
    if big:
        # a generated module with no database name: too large, reported unread too
        w("generated.py").write_text(big_module())
        # the same with a database import: too large to parse, reported
        w("generated_db.py").write_text(DB + big_module())
    # a directory whose name ends in .py
    (proj / "x.py").mkdir()
    (proj / "x.py" / "inner.py").write_text("y = 2\n")
    # symlinks: a loop, a self-loop file, and one that leaves the tree
    os.symlink(proj, proj / "loop")
    os.symlink(proj / "selfloop.py", proj / "selfloop.py")
    if outside is not None:
        outside.mkdir(parents=True, exist_ok=True)
        (outside / "outside.py").write_text(LEAK)
        os.symlink(outside, proj / "outside_dir")
        os.symlink(outside / "outside.py", proj / "outside_file.py")
    # scanned code that would act if it were imported or executed
    marker = root / "EXECUTED"
    w("side_effects.py").write_text(
        DB + f"open({str(marker)!r}, 'w').write('ran')\nraise SystemExit(3)\n"
        "if __name__ == '__main__':\n    import os\n    os._exit(4)\n")
    return proj
