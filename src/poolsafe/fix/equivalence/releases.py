"""What a fix may add: the release of a connection, a rollback, a savepoint.

Read from the syntax of one call, with no project knowledge: the equivalence check
compares the original and the fixed function with these calls set apart, so they
must be recognised the same way on both sides.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import libcst as cst

from poolsafe.analysis.cstutil import (
    chain_root,
    dotted_name,
    positional_args,
    string_value,
    strip_await,
)

#: methods called on the connection or session that end its use
_SELF_RELEASES = frozenset({"close", "release", "aclose", "remove"})
#: methods of a pool (or a helper object) that take the connection back
_POOL_RELEASES = frozenset({"putconn", "release", "release_connection", "return_connection",
                            "put_connection", "putconn_async"})
#: words in a project's own release function (`release_db_connection(conn)`)
_WRAPPER_WORDS = ("release", "close", "putconn", "put_conn", "return_conn", "give_back")
_SAVEPOINT_METHODS = frozenset({"begin_nested", "transaction", "savepoint"})
_SAVEPOINT_SQL = ("SAVEPOINT", "ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT", "RELEASE")


#: the release functions the project's configuration names (`[tool.poolsafe] release`),
#: by their last name, for the check under way (`configured_releases`)
_CONFIGURED: ContextVar[frozenset[str]] = ContextVar("configured_releases",
                                                     default=frozenset())


@contextmanager
def configured_releases(names: Iterable[str]) -> Iterator[None]:
    """Recognise the configured release functions (`corp_db.unlease`) as releases while
    a check runs: a fix writes them as the configuration spells them."""
    token = _CONFIGURED.set(frozenset(n.rpartition(".")[2] for n in names))
    try:
        yield
    finally:
        _CONFIGURED.reset(token)


def configured_release_names() -> frozenset[str]:
    """The configured release functions of the check under way, by last name."""
    return _CONFIGURED.get()


def released_name(call: cst.Call) -> str | None:
    """The plain name this call releases or closes, if it is a release: `conn.close()`,
    `pool.putconn(conn)`, `await pool.release(conn)`, `release_db_connection(conn)`
    (also as `db.release_db_connection(conn)`, through its module), and a configured
    release function (its last plain-name argument: the connection may come after
    other arguments, `unlease(name, conn)`)."""
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else (
        func.value if isinstance(func, cst.Name) else None)
    if last is not None and last in _CONFIGURED.get():
        names = [n for n in (_name_or_own(a.value) for a in call.args) if n is not None]
        return names[-1] if names else None
    if isinstance(func, cst.Attribute):
        if func.attr.value in _SELF_RELEASES and not call.args:
            return dotted_name(func.value)
        if func.attr.value in _POOL_RELEASES:
            return _first_name(call)
        if isinstance(func.value, cst.Name) and any(
                w in func.attr.value.lower() for w in _WRAPPER_WORDS):
            # the project's release function through its module (`db.close_db_connection(
            # conn)`), as the bare name is read when imported from it
            return _first_name(call)
        return None
    if isinstance(func, cst.Name) and any(w in func.value.lower() for w in _WRAPPER_WORDS):
        return _first_name(call)
    return None


def unrecognised_release(call: cst.Call) -> str | None:
    """The last name of `call`, a release the project's analysis found by what the
    function does (`db.desconectar(conn)`, `Conexion.liberar_conexion(self.conn)`),
    when the syntax above would not take it for one; None when it would, or when the
    call hands on no name to release."""
    if released_name(call) is not None:
        return None
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else (
        func.value if isinstance(func, cst.Name) else None)
    if last is None or not any(_name_or_own(a.value) is not None for a in call.args):
        return None
    return last


def rolled_back_name(call: cst.Call) -> str | None:
    """`conn.rollback()` -> "conn"."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "rollback" and not call.args:
        return dotted_name(func.value)
    return None


def closed_by_with(item: cst.BaseExpression) -> str | None:
    """`closing(conn)` / `aclosing(conn)` as a `with` item: its exit closes `conn`."""
    item, _ = strip_await(item)
    if isinstance(item, cst.Call) and dotted_name(item.func) in (
            "closing", "aclosing", "contextlib.closing", "contextlib.aclosing"):
        return _first_name(item)
    return None


#: calls that take a connection or session: `with` blocks over one are compared by
#: what they take, not by how (`pool.getconn()` may become `pool.connection()`)
ACQUIRE_METHODS = frozenset({"getconn", "connection", "connect", "acquire", "get_connection",
                             "raw_connection", "begin"})


def is_savepoint(call: cst.Call) -> bool:
    """A savepoint's own call: `db.begin_nested()`, `conn.transaction()`, or a
    `SAVEPOINT` / `ROLLBACK TO SAVEPOINT` / `RELEASE SAVEPOINT` statement."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if func.attr.value in _SAVEPOINT_METHODS:
        return True
    if func.attr.value == "execute":
        args = positional_args(call)
        sql = string_value(args[0]) if args else None
        return sql is not None and sql.strip().upper().startswith(_SAVEPOINT_SQL)
    return False


def receiver(call: cst.Call) -> str | None:
    """`db.session` for `db.session.begin_nested()`."""
    func = call.func
    return dotted_name(func.value) if isinstance(func, cst.Attribute) else None


def receiver_root(call: cst.Call) -> str | None:
    """`cur` for `cur.execute(...)`, `conn` for `conn.cursor().execute(...)`."""
    node = chain_root(call.func)
    return node.value if isinstance(node, cst.Name) else None


def method_name(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def liveness_guard(test: cst.BaseExpression, name: str) -> bool:
    """A test that only asks whether `name` is there to release: `conn`, `conn is not
    None`, `conn.is_connected()`, `not conn.closed`, `"conn" in locals()`, joined by
    `and`/`or`/`not`. A guard about *which* connection (`conn is not self.conn`) or
    about anything else is not one: it decides whether the release is wanted."""
    test, _ = strip_await(test)
    if isinstance(test, cst.BooleanOperation):
        return liveness_guard(test.left, name) and liveness_guard(test.right, name)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return liveness_guard(test.expression, name)
    if isinstance(test, cst.Name):
        return test.value == name
    if isinstance(test, cst.Attribute):
        return dotted_name(test) in (f"{name}.closed", f"{name}.open")
    if isinstance(test, cst.Call):
        return dotted_name(test.func) in (f"{name}.is_connected", f"{name}.is_closed") \
            and not test.args
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        left, right = test.left, target.comparator
        if isinstance(target.operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)):
            sides = {_code(left), _code(right)}
            return sides in ({name, "None"}, {f"{name}.closed", "True"},
                             {f"{name}.closed", "False"})
        if isinstance(target.operator, (cst.In, cst.NotIn)):
            return string_value(left) == name and isinstance(right, cst.Call) \
                and dotted_name(right.func) in ("locals", "vars", "dir")
    return False


def _first_name(call: cst.Call) -> str | None:
    """The first argument when it is a name, or an attribute of `self` (`self.conn`:
    the connection a class holds, given back in its `__exit__`)."""
    args = positional_args(call)
    return _name_or_own(args[0]) if args else None


def _name_or_own(arg: cst.BaseExpression) -> str | None:
    """`conn`, or `self.conn`; None for anything else."""
    first = strip_await(arg)[0]
    if isinstance(first, cst.Name):
        return first.value
    name = dotted_name(first)
    if name is not None and name.startswith("self.") and name.count(".") == 1:
        return name
    return None


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)
