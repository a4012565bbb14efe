"""A pool checkout that one method of a class keeps on `self` and another gives back.

    class Store:
        def _open(self):
            self.conn = self.pool.get_connection()    # the checkout, kept on self
        def _done(self):
            try: self.conn.commit()
            finally: self.conn.close()                # the release
        def load(self):
            try:
                self._open()
                self.cur.execute(...)                 # raises
                self._done()                          # skipped
            except Error as e:
                print(e)                              # swallowed: the slot is lost

The method that calls both helpers owns the checkout for the length of its call;
when the release helper is not in a `finally`, an exception raised between them
skips it (PS102). A direct connection (`psycopg2.connect()`, no pool) counts too when
the method is a `@contextmanager` / `@asynccontextmanager` generator with a `yield`
between the two helpers: the `with` body's exception is raised at the `yield`, and the
connection stays open on the instance (no refcount frees it: the instance holds it)
until the next open overwrites it. The pool may be a constructor argument (`Store(pool)`): it is
a checkout when every construction of the class (or of a subclass) passes a pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import inventory
from poolsafe.analysis.values import ClassRef, Connection, FunctionRef
from poolsafe.knowledge import POOL_RELEASE_METHODS


@dataclass(frozen=True)
class HelperGap:
    #: the `self._open()` call in the method that owns the checkout
    call: cst.Call
    attr: str
    opener: str
    releaser: str
    conn: Connection


def helper_checkout_gaps(index: ProjectIndex, module: ModuleInfo) -> Iterator[HelperGap]:
    for func in module.all_functions:
        if func.cls is None or func.parent is not None:
            continue
        gap = _gap(index, func)
        if gap is not None:
            yield gap


def _gap(index: ProjectIndex, func: FunctionInfo) -> HelperGap | None:
    openers: list[tuple[cst.Call, FunctionInfo, str, Connection]] = []
    releases: list[tuple[cst.Call, str]] = []
    # a context manager's `with` body raises at the `yield`: a direct connection kept
    # on `self` stays open there (the instance holds it; no refcount frees it)
    direct_ok = func.is_generator and index.is_contextmanager(func)
    for call in func.direct_calls:
        method = _own_method(index, func, call)
        if method is None:
            continue
        opened = _opens(index, method, direct_ok)
        if opened is not None:
            openers.append((call, method, *opened))
            continue
        released = _released_attrs(method)
        releases.extend((call, attr) for attr in released)
    if not openers:
        return None
    call, method, attr, conn = openers[0]
    mine = [c for c, a in releases if a == attr]
    if not mine:
        return None  # kept for the object's lifetime (`__enter__`, `connect()`)
    finals = _finally_nodes(func.node)
    if any(id(c) in finals for c in mine):
        return None  # given back whatever happens
    if not _pooled(conn) and not _yield_between(func, call, mine):
        return None  # a direct connection: only a `yield` between the helpers counts
    release = mine[0]
    name = release.func.attr.value if isinstance(release.func, cst.Attribute) else "?"
    return HelperGap(call, attr, method.name, name, conn)


def _own_method(index: ProjectIndex, func: FunctionInfo, call: cst.Call) -> FunctionInfo | None:
    """`self.m(...)` with no arguments, a method of the class or of a base class."""
    f = call.func
    if call.args or not isinstance(f, cst.Attribute) or not isinstance(f.value, cst.Name) \
            or f.value.value != "self":
        return None
    callee = index.evaluate(f, func.module, func)
    if isinstance(callee, FunctionRef) and callee.func.cls is not None \
            and callee.func is not func:
        return callee.func
    if func.cls is None:
        return None
    for owner in _mro(index, func.cls):  # a helper of a base class in another module
        method = owner.methods.get(f.attr.value)
        if method is not None:
            return method if method is not func else None
    return None


def _self_attr(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) \
            and node.value.value == "self":
        return node.attr.value
    return None


def _yield_between(func: FunctionInfo, opener: cst.Call, releases: list[cst.Call]) -> bool:
    """A `yield` of `func` comes after `opener` and before the first of `releases`."""
    order = {id(n): i for i, n in enumerate(iter_nodes(func.node.body))}
    start = order.get(id(opener), 1 << 30)
    end = min(order.get(id(r), -1) for r in releases)
    return any(isinstance(n, cst.Yield) and start < order[id(n)] < end
               for n in iter_nodes(func.node.body))


def _opens(index: ProjectIndex, method: FunctionInfo, direct_ok: bool = False
           ) -> tuple[str, Connection] | None:
    """(attribute, connection) when the method keeps a pool checkout (with `direct_ok`,
    also a direct connection) on `self.attr` and does not give it back itself."""
    for node in iter_nodes(method.node.body):
        if not isinstance(node, cst.Assign) or not isinstance(node.value, cst.Call):
            continue
        for t in node.targets:
            attr = _self_attr(t.target)
            if attr is None:
                continue
            conn = _checkout(index, method, node.value, direct_ok)
            if conn is not None and attr not in _released_attrs(method):
                return attr, conn
    return None


def _checkout(index: ProjectIndex, method: FunctionInfo, value: cst.Call,
              direct_ok: bool = False) -> Connection | None:
    found = index.evaluate(value, method.module, method)
    if isinstance(found, Connection):
        return found if _pooled(found) or (direct_ok and _direct(found)) else None
    # `self.pool.get_connection()` where `self.pool` is a constructor argument
    f = value.func
    if not isinstance(f, cst.Attribute) or value.args:
        return None
    attr = _self_attr(f.value)
    if attr is None or method.cls is None:
        return None
    return _constructed_checkout(index, method.cls, attr, f.attr.value)


def _constructed_checkout(index: ProjectIndex, cls: ClassInfo, attr: str,
                          method_name: str) -> Connection | None:
    init, position = _init_param(index, cls, attr)
    if init is None or position is None:
        return None
    found: Connection | None = None
    sites = 0
    for module in index.modules_calling([c.name for c in _family(index, init.cls)]):
        for call, where in inventory(module).calls:
            target = index.evaluate(call.func, module, where)
            if not isinstance(target, ClassRef) or not _derives(index, target.cls, init.cls):
                continue
            sites += 1
            if len(call.args) <= position or call.args[position].keyword is not None:
                return None
            # (the index's memo holds the probe node, so its identity stays unique)
            probe = cst.Call(func=cst.Attribute(value=call.args[position].value,
                                                attr=cst.Name(method_name)))
            conn = index.evaluate(probe, module, where)
            if not isinstance(conn, Connection) or not _pooled(conn):
                return None
            found = conn
    return found if sites else None


def _pooled(conn: Connection) -> bool:
    """A checkout that holds a pool slot until it is given back (not a direct
    connection, nor a session the garbage collector hands back)."""
    kind = conn.kind
    return kind.tracked and not kind.direct and not kind.is_session and not kind.collected_back


def _direct(conn: Connection) -> bool:
    """A tracked connection of its own, from no pool (`psycopg2.connect()`)."""
    kind = conn.kind
    return kind.tracked and kind.direct and not kind.is_session


def _init_param(index: ProjectIndex, cls: ClassInfo, attr: str
                ) -> tuple[FunctionInfo | None, int | None]:
    """`__init__(self, pool): self.pool = pool`: the method and the argument position."""
    for owner in _mro(index, cls):
        init = owner.methods.get("__init__")
        if init is None:
            continue
        params = [p.name.value for p in init.node.params.params][1:]
        for node in iter_nodes(init.node.body):
            if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                    and node.value.value in params \
                    and any(_self_attr(t.target) == attr for t in node.targets):
                return init, params.index(node.value.value)
        return None, None
    return None, None


def _bases(index: ProjectIndex, cls: ClassInfo) -> list[ClassInfo]:
    out = []
    for base in cls.node.bases:
        value = index.evaluate(base.value, cls.module, None)
        if isinstance(value, ClassRef):
            out.append(value.cls)
    return out


def _mro(index: ProjectIndex, cls: ClassInfo) -> list[ClassInfo]:
    out: list[ClassInfo] = []
    todo = [cls]
    while todo and len(out) < 8:
        c = todo.pop(0)
        if any(c is o for o in out):
            continue
        out.append(c)
        todo.extend(_bases(index, c))
    return out


def _derives(index: ProjectIndex, cls: ClassInfo | None, base: ClassInfo | None) -> bool:
    return cls is not None and base is not None and any(c is base for c in _mro(index, cls))


def _family(index: ProjectIndex, cls: ClassInfo | None) -> list[ClassInfo]:
    """The class and the project classes that derive from it."""
    if cls is None:
        return []
    out = [cls]
    for module in index.modules_mentioning([cls.name]):
        for other in module.classes.values():
            if other is not cls and _derives(index, other, cls):
                out.append(other)
    return out


def _released_attrs(method: FunctionInfo) -> set[str]:
    """The `self.` attributes the method gives back: `self.conn.close()`,
    `pool.putconn(self.conn)`, `self.pool.release(self.conn)`."""
    out: set[str] = set()
    for call in method.direct_calls:
        f = call.func
        if not isinstance(f, cst.Attribute):
            continue
        name = f.attr.value
        if name in {"close", "release"} and not call.args:
            attr = _self_attr(f.value)
            if attr is not None:
                out.add(attr)
        if name in POOL_RELEASE_METHODS or name in {"putconn", "release"}:
            for a in call.args:
                attr = _self_attr(a.value)
                if attr is not None:
                    out.add(attr)
    return out


def _finally_nodes(node: cst.FunctionDef) -> set[int]:
    """ids of the calls inside a `finally:` of the function (not nested functions)."""
    out: set[int] = set()
    for t in iter_nodes(node.body):
        if isinstance(t, (cst.Try, cst.TryStar)) and t.finalbody is not None:
            out.update(id(c) for c in iter_nodes(t.finalbody) if isinstance(c, cst.Call))
    return out
