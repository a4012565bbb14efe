"""Whether a module's database keeps a transaction usable after a failed statement.

PostgreSQL aborts the whole transaction on an error until a rollback; MySQL, SQL
Server, Oracle and SQLite undo the one statement; Hive, Trino, BigQuery, Snowflake
and their kin run no transaction to abort. A SQLAlchemy `Connection` says nothing
about its server, but its module's imports do: a reflection dialect for Hive, a
profiler for Snowflake, a source for SQL Server. PS103 reads this for SQLAlchemy
connections, and for a `Session` whose `try` only executes statements (a failed
flush leaves a session pending rollback whatever the server; a failed execute does
not).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, iter_nodes, string_value
from poolsafe.analysis.module import ClassInfo, ModuleInfo
from poolsafe.analysis.resolution import class_bases
from poolsafe.analysis.values import ClassRef, External
from poolsafe.knowledge.libraries import (
    STATEMENT_LEVEL_DB_MODULES,
    TRANSACTION_ABORT_DB_MODULES,
)

if TYPE_CHECKING:
    from poolsafe.analysis.index import NamedStore, ProjectIndex

#: the last module asked about and its answer (the flows of one file are asked in a
#: row; holding one module keeps no more than the file being checked)
_LAST: list[tuple[ModuleInfo, bool]] = []


def imported_modules(module: ModuleInfo) -> set[str]:
    """The dotted names of the modules `module` imports, anywhere in it (`import a.b`
    gives `a.b`; `from a.b import c` gives `a.b` and `a.b.c`)."""
    out: set[str] = set()
    for node in iter_nodes(module.tree):
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = dotted_name(alias.name)
                if name:
                    out.add(name)
        elif isinstance(node, cst.ImportFrom) and not node.relative and node.module:
            base = dotted_name(node.module)
            if not base:
                continue
            out.add(base)
            if not isinstance(node.names, cst.ImportStar):
                out.update(f"{base}.{a.name.value}" for a in node.names
                           if isinstance(a.name, cst.Name))
    return out


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def statement_level_only(module: ModuleInfo, index: ProjectIndex | None = None) -> bool:
    """The module imports a driver or dialect of a database where a failed statement
    leaves the transaction usable, and none of one that aborts it (PostgreSQL); or,
    importing none, builds every engine on a literal URL of such a database.
    A module that imports neither (a helper handed a `Connection`) is judged by its
    package, given the index: the other modules of its directory (a connector
    package whose `connection.py` imports the Databricks client)."""
    if _LAST and _LAST[0][0] is module:
        return _LAST[0][1]
    names = imported_modules(module)
    answer = _statement_level(names)
    if answer is None:
        answer = _engine_urls_statement_level(module)
    if answer is None and index is not None:
        answer = _dialect_names_statement_level(index, module)
    if answer is None:
        answer = _module_name_statement_level(module)
    if answer is None and index is not None:
        answer = _package_statement_level(index, module)
    _LAST[:] = [(module, bool(answer))]
    return bool(answer)


#: URL schemes (SQLAlchemy dialect names, before any `+driver`) of databases that undo
#: only the failed statement, and of those that abort the whole transaction
_STATEMENT_LEVEL_SCHEMES = frozenset({"sqlite", "mysql", "mariadb", "mssql", "oracle",
                                      "singlestoredb"})
_ABORTING_SCHEMES = frozenset({"postgresql", "postgres", "cockroachdb", "redshift",
                               "duckdb"})
_ENGINE_BUILDERS = frozenset({"create_engine", "create_async_engine"})


def _literal_url_start(call: cst.Call) -> str | None:
    """The literal start of the URL an engine call is given (`"sqlite:///app.db"`,
    `f"mysql+pymysql://{user}@db/app"`), or None when it is not written there."""
    arg = next((a.value for a in call.args if a.keyword is None and not a.star), None)
    if arg is None:
        arg = next((a.value for a in call.args
                    if a.keyword is not None and a.keyword.value == "url"), None)
    if arg is None:
        return None
    if isinstance(arg, cst.FormattedString):
        first = arg.parts[0] if arg.parts else None
        return first.value if isinstance(first, cst.FormattedStringText) else None
    return string_value(arg)


def _engine_urls_statement_level(module: ModuleInfo) -> bool | None:
    """True: every engine the module builds (`create_engine(...)`, at least one) is given
    a literal URL of a statement-level database; False: one is given a literal URL of a
    database that aborts its transaction; None: the module does not say."""
    found = False
    for node, _func in module.calls:  # (every call of the module, in functions too)
        if (dotted_name(node.func) or "").rsplit(".", 1)[-1] not in _ENGINE_BUILDERS:
            continue
        start = _literal_url_start(node)
        scheme = start.split(":", 1)[0].split("+", 1)[0].lower() \
            if start is not None and ":" in start else None
        if scheme in _ABORTING_SCHEMES:
            return False
        if scheme not in _STATEMENT_LEVEL_SCHEMES:
            return None
        found = True
    return True if found else None


#: the names a SQLAlchemy dialect class gives itself (`name = "db2"`) or a module is
#: called by (`dialects/db2.py`, `mysql_adapter.py`) for a database that undoes only the
#: failed statement (DB2, Informix and GBase, MS Access, Sybase, Firebird with the
#: others above), or that runs no transaction to abort (ClickHouse, Hive, ...)
_STATEMENT_LEVEL_NAMES = frozenset({
    *_STATEMENT_LEVEL_SCHEMES, "sqlserver", "db2", "ibm_db", "ibm_db_sa", "ibmi", "as400",
    "iseries", "informix", "gbase", "access", "msaccess", "sybase", "firebird", "hana",
    "clickhouse", "hive", "trino", "presto", "bigquery", "snowflake", "teradata", "druid",
    "databricks", "impala", "athena", "pinot", "dremio"})
#: the words of a module's name that say its database: `access`, `oracle`, `athena` and
#: `hana` are left out (an `access.py` of access control, a test oracle)
_STATEMENT_LEVEL_MODULE_WORDS = _STATEMENT_LEVEL_NAMES - {
    "access", "oracle", "athena", "hana", "pinot", "dremio", "druid"}
#: the same for databases that abort the transaction (a module or dialect naming one of
#: these says nothing, whatever else it names)
_ABORTING_NAMES = frozenset({*_ABORTING_SCHEMES, "pg", "psycopg", "psycopg2", "asyncpg",
                             "cockroach", "greenplum", "timescale", "timescaledb",
                             "yugabyte", "yugabytedb", "pgvector"})


def is_sqlalchemy_dialect(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> bool:
    """`cls` derives from a SQLAlchemy dialect class (`DefaultDialect`, `MySQLDialect`,
    `PGDialect_psycopg2`, ...), directly or through project classes."""
    if depth > 8:
        return False
    for base in class_bases(index, cls):
        if isinstance(base, External) and base.qualname.startswith("sqlalchemy.") \
                and "Dialect" in base.qualname.rsplit(".", 1)[-1]:
            return True
        if isinstance(base, ClassRef) and is_sqlalchemy_dialect(index, base.cls, depth + 1):
            return True
    return False


def _dialect_names_statement_level(index: ProjectIndex, module: ModuleInfo) -> bool | None:
    """True: the module's SQLAlchemy dialect classes (subclasses of `DefaultDialect` or
    of a dialect of SQLAlchemy's, at least one naming itself) all name a statement-level
    database (`name = "db2"`); False: one names an aborting one; None: no dialect
    class names its database."""
    found = False
    for cls in module.classes.values():
        values = cls.class_values.get("name")
        if not values or not is_sqlalchemy_dialect(index, cls):
            continue
        for value in values:
            name = string_value(value)
            if name is None:
                return None
            name = name.lower()
            if name in _ABORTING_NAMES:
                return False
            if name not in _STATEMENT_LEVEL_NAMES:
                return None
            found = True
    return True if found else None


def _module_name_statement_level(module: ModuleInfo) -> bool | None:
    """True: the module's own name, split at underscores, names one statement-level
    database and no other (`dialects/db2.py`, `adapters/clickhouse.py`,
    `mysql_adapter.py`); None otherwise (`mysql_to_postgres.py` names two). A module
    whose own name names no database is read by its package's name
    (`vector_stores/volcengine_mysql/base.py`, `backends/clickhouse/client.py`)."""
    if not module.names or module.is_package:
        return None
    parts = module.names[0].split(".")
    for name in reversed(parts[-2:]):
        words = set(name.lower().split("_"))
        if words & _ABORTING_NAMES:
            return None
        named = words & _STATEMENT_LEVEL_MODULE_WORDS
        if named:
            return True if len(named) == 1 else None
    return None


def _statement_level(names: set[str]) -> bool | None:
    """True: a statement-level database only; False: an aborting one among them;
    None: no database driver or dialect at all."""
    if any(_matches(n, TRANSACTION_ABORT_DB_MODULES) for n in names):
        return False
    if any(_matches(n, STATEMENT_LEVEL_DB_MODULES) for n in names):
        return True
    return None


#: the top-level packages of both lists, to find the modules that may import one
_DB_ROOTS = re.compile(rb"\b(?:" + b"|".join(sorted({
    re.escape(m.split(".")[0].encode())
    for m in (*STATEMENT_LEVEL_DB_MODULES, *TRANSACTION_ABORT_DB_MODULES)})) + rb")\b")


#: `_named_databases`' answers by a digest of the bytes (bounded: cleared when full)
_NAMED: dict[bytes, tuple[bool, bool]] = {}
_NAMED_LIMIT = 20_000


def _named_databases(data: bytes, store: NamedStore | None = None) -> tuple[bool, bool]:
    """Whether the module in `data` may import a database that aborts its transaction
    and one that does not, as Python's own parser reads its imports: where both
    parse a file they read the same imports, so a False here is the module's own
    answer and it need not be parsed with libcst; where Python's parser cannot
    read it, both are True (the module is parsed and read as before). `store`
    keeps the answers between runs (an edit's `check FILE` asks the same of the
    edited module's whole directory)."""
    key = hashlib.blake2b(data, digest_size=16).digest()
    found = _NAMED.get(key)
    if found is None:
        found = store.get_named(data) if store is not None else None
        if found is None:
            found = (True, True)
            with contextlib.suppress(SyntaxError, ValueError, RecursionError, MemoryError):
                names = _relevant(_ast_imports(ast.parse(data)))
                found = (_aborting(names), _statement_level_named(names))
            if store is not None:
                store.put_named(data, found)
        if len(_NAMED) >= _NAMED_LIMIT:
            _NAMED.clear()
        _NAMED[key] = found
    return found


def _relevant(names: set[str]) -> set[str]:
    return {n for n in names if not n.startswith("google.")}


def _aborting(names: set[str]) -> bool:
    return any(_matches(n, TRANSACTION_ABORT_DB_MODULES) for n in names)


def _statement_level_named(names: set[str]) -> bool:
    return any(_matches(n, STATEMENT_LEVEL_DB_MODULES) for n in names)


_AST_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _ast_imports(tree: ast.AST) -> set[str]:
    """`imported_modules` read from Python's own syntax tree (as `iter_nodes`, not
    inside functions, classes and lambdas)."""
    out: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, _AST_SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
    return out


#: the index attribute holding `_package_statement_level`'s answers by directory
_PACKAGE_MEMO = "_package_statement_level"


def _package_statement_level(index: ProjectIndex, module: ModuleInfo) -> bool:
    """The union of the imports of the directory's other modules (those whose bytes
    spell a database root) names a statement-level database and no aborting one.
    Asked as two searches that stop at the first module found, each parsing only
    the directory's modules whose imports, read by Python's parser, may answer
    it: an edit's `check FILE` in superset's `db_engine_specs/` (70 modules)
    loaded them all."""
    here = module.abspath.parent
    # one answer per directory and index: the module asked about adds nothing to the
    # union (its own imports name neither list, or it would not be asked), so every
    # module of the directory gets the same one (a cold run asks for each)
    memo: dict[Path, bool] = index.derived(_PACKAGE_MEMO, dict)
    found = memo.get(here)
    if found is None:
        found = memo[here] = _package_answer(index, module, here)
    return found


def _package_answer(index: ProjectIndex, module: ModuleInfo, here: Path) -> bool:
    def near(path: Path) -> bool:
        return path.parent == here

    def names(other: ModuleInfo) -> set[str]:
        return set() if other is module else _relevant(imported_modules(other))

    store = index.summaries
    if index.any_module(_DB_ROOTS, lambda m: _aborting(names(m)),
                        admitted=lambda p, data: near(p) and _named_databases(data, store)[0]):
        return False
    return index.any_module(
        _DB_ROOTS, lambda m: _statement_level_named(names(m)),
        admitted=lambda p, data: near(p) and _named_databases(data, store)[1])
