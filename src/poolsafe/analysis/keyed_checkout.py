"""psycopg2 pool checkouts under a key that cannot change between two calls (PS102).

psycopg2's pools (`SimpleConnectionPool`, `ThreadedConnectionPool`) remember the
connection they handed out under a key: `pool.getconn(key)` for a key that is still
checked out returns that same connection again instead of a new one. So rebinding a
name that holds `pool.getconn(k)` to `pool.getconn(k)` again (a connect-retry loop,
`conn = self._pool.getconn(get_ident())` per attempt) loses nothing: both names are
the one connection, and the pool still knows it under `k`. For the same reason an
exception that leaves the function while it holds such a checkout loses nothing: the
pool keeps the connection under its key and gives it back on the next
`pool.getconn(k)` (a per-thread connection, returned later with `putconn(conn, k)`).

Only a key that is the same at both calls counts: a literal (`getconn("main")`) or the
calling thread's identity (`get_ident()`, `threading.get_ident()`,
`get_native_ident()`, `current_thread()`, greenlet's `getcurrent()`), which a function
running on one thread cannot change. A key read from a variable (`for k in keys:
conn = pool.getconn(k)`) may name another connection each time and stays a leak.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import dotted_name, keyword_arg, positional_args

#: zero-argument calls whose value is the calling thread's identity
_THREAD_IDENTITY = frozenset({
    "get_ident", "get_native_ident", "current_thread", "currentThread", "getcurrent",
})

_CODE = cst.Module(body=[])


def _key(call: cst.Call) -> cst.BaseExpression | None:
    """The `key` argument of a `getconn(...)` call, or None."""
    kw = keyword_arg(call, "key")
    if kw is not None:
        return kw
    args = positional_args(call)
    return args[0] if args else None


def _stable(key: cst.BaseExpression) -> bool:
    """`key` has one value for every call on one thread."""
    if isinstance(key, (cst.SimpleString, cst.Integer)):
        return True
    if isinstance(key, cst.Call) and not key.args:
        name = dotted_name(key.func)
        return name is not None and name.rpartition(".")[2] in _THREAD_IDENTITY
    return False


def stable_keyed_checkout(call: cst.Call) -> bool:
    """`call` is `pool.getconn(key)` under a key with one value on the calling thread."""
    if not (isinstance(call.func, cst.Attribute) and call.func.attr.value == "getconn"):
        return False
    key = _key(call)
    return key is not None and _stable(key)


def same_keyed_checkout(held: cst.Call, again: cst.Call) -> bool:
    """`again` is `pool.getconn(key)` on the pool and under the stable key that
    `held` checked its connection out with: it returns that same connection."""
    if not (isinstance(held.func, cst.Attribute) and isinstance(again.func, cst.Attribute)):
        return False
    if held.func.attr.value != "getconn" or again.func.attr.value != "getconn":
        return False
    key, key_again = _key(held), _key(again)
    if key is None or key_again is None or not _stable(key):
        return False
    return (_CODE.code_for_node(held.func.value) == _CODE.code_for_node(again.func.value)
            and _CODE.code_for_node(key) == _CODE.code_for_node(key_again))
