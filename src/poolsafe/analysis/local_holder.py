"""A connection or session handed to a local object that dies with the function (PS102).

Handing a checkout to a constructor (`Repo(session)`) usually moves it on: the object
keeps it, and whoever keeps the object closes it. When the object never leaves the
function, nobody else can: `session = Session(engine)` then `return
len(Report(day, session).rows())` drops the session unclosed with the report. This
module decides when a checkout handed to a constructor stays the function's to close:

- the constructor is a project class whose `__init__` stores the parameter on the
  instance (`self.session = session`) and does not hand out `self` (`REGISTRY.append(self)`);
- the instance never leaves the function: a temporary reached through at once
  (`Report(day, session).rows()`) or a local bound once and only reached through
  (`rep = Report(day, session)`, then `rep.rows()`), never returned, stored, passed on or
  read by a nested function;
- no method of the class releases the stored attribute or hands it (or `self`) out, and
  the class has no `__exit__` / `__aexit__` / `__del__` (a context manager or finaliser
  may close it). Handing `self.session` to a project function (or a static or class
  method, `Item.active(self.session)`) whose parameter only runs work on it
  (`session.query(...)`, `execute`, `scalars`, `add`, `commit`, ...; or hands it to
  such a function in turn) neither releases nor keeps it: the helper uses the session
  and returns, and the session stays the object's.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import children, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.local_owner import attributes_read, escapes, hands_out, method_of
from poolsafe.analysis.module import ClassInfo, FunctionInfo
from poolsafe.analysis.session_reads import only_runs_statements, param_for
from poolsafe.analysis.values import ClassRef, FunctionRef

#: methods whose presence means the object may close what it holds by itself
_CLOSING_HOOKS = frozenset({"__exit__", "__aexit__", "__del__"})
#: calls on the stored attribute that release it
_RELEASES = frozenset({"close", "remove", "release", "dispose", "terminate", "detach"})
#: what a helper handed the session may do with it and still leave it to the caller
_SESSION_WORK = frozenset({"execute", "exec", "scalar", "scalars", "query", "get", "add",
                           "add_all", "merge", "delete", "flush", "commit", "rollback",
                           "refresh", "expire", "expunge", "exec_driver_sql"})


def held_by_local_object(index: ProjectIndex, func: FunctionInfo, call: cst.Call,
                         stmt: cst.CSTNode) -> set[str]:
    """The names passed to the constructor `call` (in the statement `stmt` of `func`)
    whose connection or session stays `func`'s to close (see the module's docstring)."""
    ref = index.evaluate(call.func, func.module, func)
    if not isinstance(ref, ClassRef):
        return set()
    cls = ref.cls
    init = method_of(index, cls, "__init__")
    if init is None or escapes(init.node, "self", "", set()) \
            or any(method_of(index, cls, hook) is not None for hook in _CLOSING_HOOKS):
        return set()
    stored = _stored_arguments(init, call)
    if not stored:
        return set()
    read = _reads_of_instance(func, call, stmt, set(stored.values()))
    if read is None:
        return set()
    out: set[str] = set()
    for name, attr in stored.items():
        lent = lent_to_helpers(index, cls, attr)
        run = reached_methods(index, cls, read | {"__init__"})
        if attr in read or hands_out(index, cls, attr, read, lent) \
                or released_by_class(cls, attr, lent, run):
            continue
        out.add(name)
    return out


def _stored_arguments(init: FunctionInfo, call: cst.Call) -> dict[str, str]:
    """argument name -> the attribute `__init__` stores its parameter under
    (`self.session = session`), for the plain-name arguments of `call`."""
    if any(arg.star for arg in call.args):
        return {}  # (`*args`: which parameter gets what is unknown)
    out: dict[str, str] = {}
    for arg in call.args:
        if not isinstance(arg.value, cst.Name):
            continue
        param = param_for(init, call, arg)
        if param is None:
            continue
        attr = _attribute_storing(init, param)
        if attr is not None:
            out[arg.value.value] = attr
    return out


def _attribute_storing(init: FunctionInfo, param: str) -> str | None:
    """`session` for `self.session = <param>` in `__init__` (None if not stored, or
    stored more than once)."""
    positional = init.node.params.params
    if not positional:
        return None
    own = positional[0].name.value
    found: list[str] = []
    for node in iter_nodes(init.node.body):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) \
                and node.value.value == param:
            found.extend(t.target.attr.value for t in node.targets
                         if isinstance(t.target, cst.Attribute)
                         and isinstance(t.target.value, cst.Name)
                         and t.target.value.value == own)
    return found[0] if len(found) == 1 else None


def _reads_of_instance(func: FunctionInfo, call: cst.Call, stmt: cst.CSTNode,
                       stored: set[str]) -> set[str] | None:
    """The attribute names read on the instance `call` builds, when it never leaves
    the function (None when it may)."""
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(stmt):
        for child in children(node):
            parents[id(child)] = node
    up = parents.get(id(call))
    if isinstance(up, cst.Attribute) and up.value is call:
        outer = parents.get(id(up))
        if up.attr.value in stored and not (isinstance(outer, cst.Attribute)
                                            and outer.value is up):
            return None  # (`Report(day, session).session`: the session itself)
        return {up.attr.value}
    if isinstance(up, cst.Assign) and up.value is call and len(up.targets) == 1 \
            and isinstance(up.targets[0].target, cst.Name):
        name = up.targets[0].target.value
        if len(func.locals.get(name, ())) != 1:
            return None
        for attr in stored or {""}:
            if escapes(func.node.body, name, attr, set()):
                return None
        return attributes_read(func.node.body, name)
    return None


def released_by_class(cls: ClassInfo, attr: str, lent: set[int],
                      methods: list[FunctionInfo] | None = None) -> bool:
    """A method of `cls` (of `methods` when given: the ones the object's user can
    run) releases `self.<attr>` (`self.session.close()`), or hands it to a call
    (`pool.putconn(self.conn)`, `closing(self.session)`) other than the helpers that
    only work on it (`lent`: the `self` names of those arguments)."""
    for method in cls.methods.values() if methods is None else methods:
        for node in iter_nodes(method.node.body):
            if not isinstance(node, cst.Call):
                continue
            f = node.func
            if isinstance(f, cst.Attribute) and f.attr.value in _RELEASES \
                    and _is_self_attr(f.value, attr):
                return True
            if any(_is_self_attr(a.value, attr) and not _lent(a.value, lent)
                   for a in node.args):
                return True
    return False


def _lent(node: cst.BaseExpression, lent: set[int]) -> bool:
    return isinstance(node, cst.Attribute) and id(node.value) in lent


def lent_to_helpers(index: ProjectIndex, cls: ClassInfo, attr: str) -> set[int]:
    """id() of the `self` names of the arguments `self.<attr>` that the methods of
    `cls` hand, alone and by position or keyword, to a project function whose
    parameter only does session work (`_SESSION_WORK`, see `only_runs_statements`)."""
    out: set[int] = set()
    for method in cls.methods.values():
        for node in iter_nodes(method.node.body):
            if not isinstance(node, cst.Call):
                continue
            for arg in node.args:
                if arg.star or not _is_self_attr(arg.value, attr):
                    continue
                callee = index.evaluate(node.func, method.module, method)
                if not isinstance(callee, FunctionRef) or callee.func.cls is cls:
                    continue
                param = param_for(callee.func, node, arg)
                if param is not None and only_runs_statements(
                        index, callee.func, param, _SESSION_WORK):
                    assert isinstance(arg.value, cst.Attribute)
                    out.add(id(arg.value.value))
    return out


def _is_self_attr(node: cst.BaseExpression, attr: str) -> bool:
    return isinstance(node, cst.Attribute) and node.attr.value == attr \
        and isinstance(node.value, cst.Name) and node.value.value == "self"


def dies_with_caller(func: FunctionInfo, call: cst.Call, stored: set[str]) -> set[str] | None:
    """The attribute names `func` reads on the object `call` (a construction in it)
    builds, when the object never leaves `func` (None when it may)."""
    return _reads_of_instance(func, call, func.node, stored)


def reached_methods(index: ProjectIndex, cls: ClassInfo, names: set[str]) -> list[FunctionInfo]:
    """The project methods among `names` (attributes read on an object of `cls`) and
    those they reach through `self.other`, transitively: every method that can run on
    an object only so used (`hands_out` has checked that nothing else reaches it)."""
    seen: set[str] = set()
    out: list[FunctionInfo] = []
    todo = sorted(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        method = method_of(index, cls, name, 0)
        if method is None:
            continue
        out.append(method)
        todo.extend(attributes_read(method.node, "self"))
    return out
