"""Which work on a connection or session only reads (PS207's one-shot policy).

A transaction that has only read holds a snapshot and no row lock: what a one-shot
command that streams rows somewhere slow keeps open is that snapshot. Anything this
module cannot show to be a read counts as a write (the finding stays).
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from poolsafe.analysis.cstutil import chain_links, string_value, strip_await

#: methods of a session or connection that run a read (`session.get(User, 1)`), or
#: run the statement they are given (`execute`...), which is then read itself
_DIRECT_READS = frozenset({
    "query", "get", "get_one", "refresh", "fetchone", "fetchall", "fetchmany", "fetch",
    "fetchrow", "fetchval", "scalar", "scalars", "execute", "exec", "stream",
    "stream_scalars",
})
#: of those, the methods whose first argument is the statement
_STATEMENT_METHODS = frozenset({"scalar", "scalars", "execute", "exec", "stream",
                                "stream_scalars", "fetch", "fetchrow", "fetchval"})
#: a method anywhere in a query chain that writes or locks rows
_CHAIN_WRITES = frozenset({"update", "delete", "insert", "with_for_update", "values",
                           "returning", "merge", "on_conflict_do_update",
                           "on_conflict_do_nothing"})
#: the clauses of a SELECT's text that lock the rows it reads
SQL_LOCK_CLAUSES = ("for update", "for share", "for no key update", "for key share")
#: words of a SELECT's text that make it lock or write
_SQL_WRITE_WORDS = (*SQL_LOCK_CLAUSES, " into ")

#: follows a name to what it was assigned from (`resolution.resolve`), or None
Resolver = Callable[[cst.BaseExpression], "cst.BaseExpression | None"]


def chain_methods(expr: cst.BaseExpression) -> tuple[list[str], cst.BaseExpression]:
    """The method names of a call chain, outermost first, and its root
    (`session.query(X).filter(...).update(...)` -> [update, filter, query], `session`)."""
    links = list(chain_links(expr, through_await=True))
    return [link.attr.value for link in links if isinstance(link, cst.Attribute)], links[-1]


def sql_words(sql: str) -> str:
    """SQL text in lower case, its words separated by single spaces."""
    return " ".join(sql.lower().split())


def select_text(sql: str) -> bool:
    """SQL text that is a plain SELECT: no lock clause, no `SELECT ... INTO`."""
    text = sql_words(sql)
    return text.startswith("select ") and not any(w in text for w in _SQL_WRITE_WORDS)


#: SQL that begins a transaction by hand, and SQL that ends it (`ROLLBACK TO` a savepoint
#: ends nothing)
_BEGIN_WORDS = ("begin", "start transaction")
_END_WORDS = ("commit", "end", "rollback")
#: methods that run the SQL text they are given (sqlite3, DB-API, SQLAlchemy)
_SQL_METHODS = frozenset({"execute", "exec_driver_sql"})


def explicit_transaction(call: cst.Call) -> str | None:
    """"begin" for `conn.execute("BEGIN")` (also `BEGIN IMMEDIATE`, `START TRANSACTION`,
    `text("BEGIN")`), "end" for `COMMIT` / `END` / `ROLLBACK`, None otherwise: on a
    connection in autocommit, the transaction a statement begins by hand."""
    f = call.func
    if not (isinstance(f, cst.Attribute) and f.attr.value in _SQL_METHODS) or not call.args:
        return None
    arg = strip_await(call.args[0].value)[0]
    if isinstance(arg, cst.Call) and isinstance(arg.func, (cst.Name, cst.Attribute)) \
            and (arg.func.value if isinstance(arg.func, cst.Name)
                 else arg.func.attr.value) == "text" and arg.args:
        arg = arg.args[0].value
    sql = string_value(arg)
    if sql is None:
        return None
    words = sql_words(sql.replace(";", " "))
    first = words.split(" ", 1)[0] if words else ""
    if any(words == w or words.startswith(w + " ") for w in _BEGIN_WORDS):
        return "begin"
    if first in _END_WORDS and not words.startswith("rollback to"):
        return "end"
    return None


def reads_statement(expr: cst.BaseExpression, resolver: Resolver, depth: int = 0) -> bool:
    """`select(User)...`, `text("SELECT ...")`, `"SELECT ..."`, a name bound to one, or
    a chain on such a name that adds no write (`q.options(joinedload(...))`)."""
    expr = strip_await(expr)[0]
    sql = string_value(expr)
    if sql is not None:
        return select_text(sql)
    if isinstance(expr, cst.Name) and depth < 2:
        bound = resolver(expr)
        return bound is not None and bound is not expr and reads_statement(
            bound, resolver, depth + 1)
    if not isinstance(expr, cst.Call):
        return False
    methods, _ = chain_methods(expr)
    if any(m in _CHAIN_WRITES for m in methods):
        return False
    # the innermost call's own name: `select(...)` / `sa.select(...)` / `text(...)`
    inner: cst.BaseExpression = expr
    while isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
            and isinstance(inner.func.value, cst.Call):
        inner = inner.func.value
    if not isinstance(inner, cst.Call):
        return False
    if isinstance(inner.func, cst.Attribute) and isinstance(inner.func.value, cst.Name) \
            and depth < 2:
        # `q.options(...)` / `q.where(...)` on a name bound to a SELECT (`q =
        # select(Item).where(...)`): the chain adds no write (checked above)
        bound = resolver(inner.func.value)
        if bound is not None and bound is not inner.func.value and reads_statement(
                bound, resolver, depth + 1):
            return True
    name = (inner.func.attr.value if isinstance(inner.func, cst.Attribute)
            else inner.func.value if isinstance(inner.func, cst.Name) else None)
    if name == "select":
        return True
    if name == "text" and inner.args:
        sql = string_value(inner.args[0].value)
        return sql is not None and select_text(sql)
    return False


def is_read(call: cst.Call, method: str, through_query: bool, resolver: Resolver) -> bool:
    """`call` (`method` on a connection or session, or on a query chain rooted at one
    when `through_query`: Flask-SQLAlchemy's `User.query.filter_by(...)`) only reads."""
    if through_query:
        return method not in _CHAIN_WRITES
    if method not in _DIRECT_READS:
        return False
    if method in _STATEMENT_METHODS:
        return bool(call.args) and reads_statement(call.args[0].value, resolver)
    return True


def writes_through_chain(call: cst.Call) -> bool:
    """`session.query(X).filter(...).update(...)`: a write (or a row lock) made on a
    query chain whose root is a connection or session."""
    methods, _ = chain_methods(call.func)
    return "query" in methods[1:] and any(m in _CHAIN_WRITES for m in methods)
