"""A connection or session that only a local object holds (PS103).

`db = Database()` whose `__init__` opens `self.conn` (or makes `self.session`): when the
object never leaves the function, the connection and its failed transaction die with
it, and no caller gets them back. This module decides when that holds:

- the object's class opens the attribute in `__init__` only, from a call that acquires
  a connection or session, or stores an `__init__` parameter whose default is `None`
  and that the construction leaves out (`def __init__(self, session=None)` built as
  `Database()`: the attribute is `None` or a fresh session, never one handed in); a
  class-body default of `None` (`session = None` under `class Database:`) is no shared
  connection;
- every value the local name takes is such a construction, or is bound after the
  `try` whose handler swallowed the error, outside any loop around that `try` (the
  name is reused for another object once the first is dropped);
- the object does not escape: the function uses its name only to reach attributes
  (not returned, yielded, stored, passed to a call, read by a nested function), and
  neither `__init__` nor any method the function reaches on it (directly or through
  `self.other()`) hands out `self` or the attribute (`return self.session`,
  `REGISTRY.append(self)`).
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import children, iter_nodes, strip_await
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.values import ClassRef, Connection, Instance


def dies_with_local_object(index: ProjectIndex, func: FunctionInfo, resource: str,
                           try_stmt: cst.CSTNode | None) -> bool:
    """`resource` is `obj.attr` on a local object that holds the only reference to a
    connection or session its `__init__` opened, and the object dies with the function
    (see the module's docstring). `try_stmt` is the `try` whose handler swallowed the
    error on it (None when unknown: then every value of `obj` must be a construction)."""
    parts = resource.split(".")
    if len(parts) != 2:
        return False
    root, attr = parts
    values = func.locals.get(root, [])
    if not values:
        return False
    order, parents = _positions(func.node)
    classes: list[ClassInfo] = []
    rebound: set[int] = set()
    for v in values:
        if not isinstance(v, cst.BaseExpression):
            return False
        inner, _ = strip_await(v)
        made = index.evaluate(inner, func.module, func) if isinstance(inner, cst.Call) else None
        if isinstance(made, Instance) and isinstance(inner, cst.Call) \
                and fresh_in_init(index, made.cls, attr, inner):
            classes.append(made.cls)
        elif _bound_after(v, try_stmt, order, parents):
            rebound.add(id(v))
        else:
            return False
    # uses that a rebinding to another object runs before, in straight-line code
    other = _uses_after_rebinding(func.node, root, rebound, parents)
    if not classes or escapes(func.node, root, attr, other):
        return False
    for cls in classes:
        init = method_of(index, cls, "__init__", 0)
        if init is not None and escapes(init.node, "self", "", set()):
            return False  # `REGISTRY.append(self)`: the object outlives the function
        if hands_out(index, cls, attr, attributes_read(func.node, root, other)):
            return False
    return True


def _uses_after_rebinding(body: cst.CSTNode, root: str, rebound: set[int],
                          parents: dict[int, cst.CSTNode]) -> set[int]:
    """id() of the `root` names under `body` that a statement binding `root` to one of
    the values `rebound` runs before on every path: an earlier statement of a block
    that holds the use (`db = client.edxapp` then `db.modulestore.find_one()`)."""
    if not rebound:
        return set()
    out: set[int] = set()
    for node in iter_nodes(body, into_functions=True):
        if not (isinstance(node, cst.Name) and node.value == root):
            continue
        child: cst.CSTNode = node
        for anc in _ancestors(node, parents):
            if anc is body:
                break
            if isinstance(anc, (cst.IndentedBlock, cst.Module)):
                earlier = list(anc.body)[:next(
                    (i for i, s in enumerate(anc.body) if s is child), 0)]
                if any(isinstance(s, cst.SimpleStatementLine)
                       and any(id(n) in rebound for n in iter_nodes(s)) for s in earlier):
                    out.add(id(node))
                    break
            child = anc
    return out


def _positions(node: cst.CSTNode) -> tuple[dict[int, int], dict[int, cst.CSTNode]]:
    """Source order and parents of the nodes under `node` (nested scopes included)."""
    order: dict[int, int] = {}
    parents: dict[int, cst.CSTNode] = {}
    for i, n in enumerate(iter_nodes(node, into_functions=True)):
        order[id(n)] = i
        for child in children(n):
            parents[id(child)] = n
    return order, parents


def _bound_after(value: cst.CSTNode, try_stmt: cst.CSTNode | None, order: dict[int, int],
                 parents: dict[int, cst.CSTNode]) -> bool:
    """`value` is bound after the whole `try` ends, and no loop holds both: it cannot
    be what the name holds in the `try`."""
    if try_stmt is None or id(value) not in order or id(try_stmt) not in order:
        return False
    last = max(order[id(n)] for n in iter_nodes(try_stmt, into_functions=True))
    if order[id(value)] <= last:
        return False
    loops = {id(a) for a in _ancestors(try_stmt, parents) if isinstance(a, (cst.For, cst.While))}
    return not any(id(a) in loops for a in _ancestors(value, parents))


def _ancestors(node: cst.CSTNode, parents: dict[int, cst.CSTNode]) -> list[cst.CSTNode]:
    out: list[cst.CSTNode] = []
    cur = parents.get(id(node))
    while cur is not None:
        out.append(cur)
        cur = parents.get(id(cur))
    return out


def fresh_in_init(index: ProjectIndex, cls: ClassInfo, attr: str, made: cst.Call) -> bool:
    """Every `self.<attr> = ...` of `cls` is in its `__init__`, and the object `made`
    builds gets there a fresh connection or session (a call that evaluates to one), or
    `None`: a literal `None`, or a parameter of `__init__` whose default is `None` and
    that `made` does not pass. At least one value acquires. A class-body value of
    `attr` other than `None` is shared by every instance and voids it."""
    if any(not _is_none(v) for v in cls.class_values.get(attr, [])):
        return False
    values = cls.attributes.get(attr, [])
    scopes = cls.attribute_scopes.get(attr, [])
    if not values or len(values) != len(scopes):
        return False
    acquires = False
    for value, scope in zip(values, scopes, strict=True):
        if scope.name != "__init__":
            return False
        inner, _ = strip_await(value)
        if isinstance(inner, cst.Call) \
                and isinstance(index.evaluate(inner, scope.module, scope), Connection):
            acquires = True
        elif not (_is_none(inner) or (isinstance(inner, cst.Name)
                                      and _none_param_left_out(scope, inner.value, made))):
            return False
    return acquires


def _none_param_left_out(init: FunctionInfo, name: str, made: cst.Call) -> bool:
    """`name` is a parameter of `init` with the default `None`, and the construction
    `made` passes nothing for it (no `*args`/`**kwargs` that might)."""
    param = next((p for p in init.named_params() if p.name.value == name), None)
    if param is None or param.default is None or not _is_none(param.default):
        return False
    if any(a.star for a in made.args):
        return False
    if any(a.keyword is not None and a.keyword.value == name for a in made.args):
        return False
    positional = [a for a in made.args if a.keyword is None]
    names = init.param_names()
    return name not in names or names.index(name) >= len(positional)


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def attributes_read(body: cst.CSTNode, root: str, skip: set[int] | None = None) -> set[str]:
    """The attribute names read on `root` in `body` (`root.m(...)`, `root.x`), but on
    the names `skip` (which hold another object)."""
    return {n.attr.value for n in iter_nodes(body, into_functions=True)
            if isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name)
            and n.value.value == root and id(n.value) not in (skip or set())}


def hands_out(index: ProjectIndex, cls: ClassInfo, attr: str, names: set[str],
              lent: set[int] | None = None) -> bool:
    """A method among `names` (or one it reaches through `self.other()`) hands out
    `self` or `self.<attr>`, or a name is neither data of the object nor a project
    method (a library base's method: unknown, so counted as handing out). The `self`
    names `lent` (arguments handed to helpers that only use them) do not count."""
    seen: set[str] = set()
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in seen or name == attr:
            continue
        seen.add(name)
        method = method_of(index, cls, name, 0)
        if method is None:
            if name in cls.attributes or name in cls.class_values \
                    or name in cls.annotations:
                continue  # data of the object (`self.engine`, a model class)
            return True
        if escapes(method.node, "self", attr, lent or set()):
            return True
        todo.extend(attributes_read(method.node, "self", lent))
    return False


def method_of(index: ProjectIndex, cls: ClassInfo, name: str,
              depth: int = 0) -> FunctionInfo | None:
    """The method `name` of `cls` or of a project base of it (nearest first)."""
    found = cls.methods.get(name)
    if found is not None or depth > 5:
        return found
    for base in cls.node.bases:
        if base.keyword is not None:
            continue
        value = index.evaluate(base.value, cls.module, None)
        if isinstance(value, ClassRef) and value.cls is not cls:
            inherited = method_of(index, value.cls, name, depth + 1)
            if inherited is not None:
                return inherited
    return None


def escapes(body: cst.CSTNode, root: str, attr: str, skip: set[int]) -> bool:
    """`root` (or `root.attr`) may outlive the function: a use of `root` other than
    an attribute access on it (`root.m(...)`, `root.attr.commit()`), a `root.attr`
    that is not itself accessed (`return root.attr`, `f(root.attr)`), an assignment to
    `root.attr`, or any use inside a nested function or lambda. The names `skip` hold
    another object and do not count."""
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(body, into_functions=True):
        for child in children(node):
            parents[id(child)] = node
    for node in iter_nodes(body, into_functions=True):
        if not (isinstance(node, cst.Name) and node.value == root) or id(node) in skip:
            continue
        up = parents.get(id(node))
        anc = up
        while anc is not None and anc is not body:
            if isinstance(anc, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                return True
            anc = parents.get(id(anc))
        if isinstance(up, (cst.AssignTarget, cst.Param)) or (
                isinstance(up, cst.AnnAssign) and up.target is node):
            continue  # its binding
        if not (isinstance(up, cst.Attribute) and up.value is node):
            return True
        if isinstance(up.attr, cst.Name) and up.attr.value == attr:
            outer = parents.get(id(up))
            if not (isinstance(outer, cst.Attribute) and outer.value is up):
                return True
    return False
