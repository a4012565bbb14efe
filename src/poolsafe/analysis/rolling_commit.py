"""Sessions whose failed commit rolls back by itself (issue 31).

A project may subclass SQLAlchemy's `Session` so that `commit()` rolls back a
failed commit before re-raising it:

    class GuardedSession(Session):
        def commit(self):
            try:
                super().commit()
            except Exception:
                self.rollback()
                raise

When every session the project makes is of such a class (`sessionmaker(...,
class_=GuardedSession)`, or the class called directly), a `try` whose only work
on a session is to queue objects and commit them (itself, or through project
helpers that do only that with the session they are handed) leaves nothing
pending when it fails: the commit rolled back already. A statement executed
in the `try` (`execute`, `query`, `refresh`, a `flush()` of its own) may fail
outside the commit, where nothing rolls back, so such a `try` is still concerned.
A `refresh()` that follows the commit in the same block reloads the rows the
commit just wrote, by primary key: it is part of the same write.

Sessions are judged one by one: a plain `Session(bind=...)` made in a function
(an Alembic migration's `Session(bind=op.get_bind())`) is followed to the
project functions it is handed to; those parameters, and the variable itself,
hold a plain session, and a `try` on them is judged as usual. Only a plain
session the analysis cannot follow (kept at module level, returned, stored,
handed to what cannot be resolved) voids the fact for the whole project.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import children, dotted_name, iter_nodes, names_in
from poolsafe.analysis.index import ProjectIndex, class_bases
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import ClassRef, External, FunctionRef
from poolsafe.knowledge import BROAD_EXCEPTIONS
from poolsafe.knowledge.libraries import match_qualname

_ATTR = "_poolsafe_rolling_commit"

_SESSION_CLASSES = frozenset({("sqlalchemy", "Session"), ("sqlmodel", "Session")})
_ASYNC_SESSION = frozenset({("sqlalchemy", "AsyncSession"), ("sqlmodel", "AsyncSession")})
_SESSIONMAKER = frozenset({("sqlalchemy", "sessionmaker")})
#: other sources of synchronous sessions, whose class the project does not choose here
_OTHER_SESSION_SOURCES = frozenset({("flask_sqlalchemy", "SQLAlchemy")})

#: what a `try` may do with the session for its only failure to be the commit's
_QUEUE_AND_COMMIT = frozenset({"add", "add_all", "delete", "expunge", "commit"})

_MAX_DEPTH = 4


def every_session_rolls_back_commit(index: ProjectIndex) -> bool:
    """The project defines a `Session` subclass whose `commit()` rolls back on
    failure, and every synchronous session it makes is of such a class, but for
    plain sessions followed one by one (`holds_plain_session`)."""
    return _rolling_commit_facts(index)[0]


def _rolling_commit_facts(index: ProjectIndex) -> tuple[bool, frozenset[tuple[int, str]]]:
    """`every_session_rolls_back_commit`, and the plain sessions (see there)."""
    def compute() -> tuple[bool, frozenset[tuple[int, str]]]:
        plain: set[tuple[int, str]] = set()
        every = _every_session_rolls_back(index, plain)
        return every, frozenset(plain)
    return index.derived(_ATTR, compute)


def holds_plain_session(index: ProjectIndex, func: FunctionInfo, name: str) -> bool:
    """`name` in `func` is (or may be) a plain session the project made with
    `Session(...)`: the variable bound to it, or a parameter it is handed to."""
    return (id(func.node), name) in _rolling_commit_facts(index)[1]


def only_queues_and_commits(index: ProjectIndex, body: cst.CSTNode, name: str,
                            module: ModuleInfo, func: FunctionInfo | None) -> bool:
    """`body` uses the session `name` only to queue objects and commit them
    (`add`, `add_all`, `delete`, `expunge`, `commit`), directly or by handing it to
    project functions that do only that with it."""
    return _Uses(index, set()).only(body, name, module, func, 0)


class _Uses:
    def __init__(self, index: ProjectIndex, seen: set[int]) -> None:
        self.index = index
        self.seen = seen
        self.committed: set[int] = set()  # blocks whose session was committed so far

    def _block(self, node: cst.CSTNode, name: str, module: ModuleInfo,
               func: FunctionInfo | None, depth: int) -> bool | None:
        """A block's statements in order: `refresh()` of the session after its
        `commit()` earlier in the same block reloads what the commit wrote."""
        if not isinstance(node, cst.IndentedBlock):
            return None
        committed = False
        for stmt in node.body:
            if committed and _is_refresh(stmt, name):
                continue
            if not self.only(stmt, name, module, func, depth):
                return False
            committed = committed or _is_commit(stmt, name)
        return True

    def only(self, node: cst.CSTNode, name: str, module: ModuleInfo,
             func: FunctionInfo | None, depth: int) -> bool:
        block = self._block(node, name, module, func, depth)
        if block is not None:
            return block
        if isinstance(node, cst.Call):
            f = node.func
            closure = _closure(func, f, name)
            if closure is not None and id(closure) not in self.seen:
                # a function nested in this one, using the session from its scope
                self.seen.add(id(closure))
                if not self.only(closure.body, name, module, func, depth):
                    return False
            if isinstance(f, cst.Attribute) and dotted_name(f.value) == name:
                return f.attr.value in _QUEUE_AND_COMMIT and all(
                    self.only(a.value, name, module, func, depth) for a in node.args)
            for i, arg in enumerate(node.args):
                if dotted_name(arg.value) == name:
                    if not self._helper(node, i, arg, module, func, depth):
                        return False
                elif not self.only(arg.value, name, module, func, depth):
                    return False
            return self.only(node.func, name, module, func, depth)
        if isinstance(node, (cst.Name, cst.Attribute)) and dotted_name(node) == name:
            return False
        return all(self.only(c, name, module, func, depth) for c in children(node))

    def _helper(self, call: cst.Call, position: int, arg: cst.Arg, module: ModuleInfo,
                func: FunctionInfo | None, depth: int) -> bool:
        """The project function `call` calls uses the session passed as `arg` only
        to queue objects and commit them."""
        if depth >= _MAX_DEPTH or arg.star:
            return False
        callee = self.index.evaluate(call.func, module, func)
        if not isinstance(callee, FunctionRef):
            return False
        target = callee.func
        param = _parameter(target, call, position, arg)
        if param is None:
            return False
        key = id(target.node)
        if key in self.seen:
            return True  # recursion: judged by the first visit
        self.seen.add(key)
        if _rebinds(target, param):
            return False
        return self.only(target.node.body, param, target.module, target, depth + 1)


def _closure(func: FunctionInfo | None, callee: cst.BaseExpression,
             name: str) -> cst.FunctionDef | None:
    """The function nested in `func` that `callee` names, when its body uses
    `name` of the enclosing scope."""
    if func is None or not isinstance(callee, cst.Name):
        return None
    for node in iter_nodes(func.node.body, into_functions=True):
        if isinstance(node, cst.FunctionDef) and node.name.value == callee.value \
                and name.split(".", 1)[0] in names_in(node.body):
            return node
    return None


def _session_call(stmt: cst.CSTNode, name: str) -> str | None:
    """The method a statement `name.method(...)` (alone on its line) calls."""
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)):
        return None
    call = stmt.body[0].value
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
            and dotted_name(call.func.value) == name:
        return call.func.attr.value
    return None


def _is_commit(stmt: cst.CSTNode, name: str) -> bool:
    return _session_call(stmt, name) == "commit"


def _is_refresh(stmt: cst.CSTNode, name: str) -> bool:
    if _session_call(stmt, name) != "refresh":
        return False
    assert isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], cst.Expr)
    call = stmt.body[0].value
    assert isinstance(call, cst.Call)
    return all(a.keyword is None and not a.star and isinstance(a.value, (cst.Name, cst.Attribute))
               and dotted_name(a.value) != name for a in call.args)


def _parameter(target: FunctionInfo, call: cst.Call, position: int,
               arg: cst.Arg) -> str | None:
    """The parameter of `target` that `arg` (the `position`-th argument of `call`)
    binds."""
    params = target.node.params
    if arg.keyword is not None:
        names = {p.name.value for p in (*params.posonly_params, *params.params,
                                        *params.kwonly_params)}
        return arg.keyword.value if arg.keyword.value in names else None
    if any(a.keyword is not None or a.star for a in call.args[:position]):
        return None
    positional = [p.name.value for p in (*params.posonly_params, *params.params)]
    bound_first = target.cls is not None and isinstance(call.func, cst.Attribute) \
        and not any(dotted_name(d.decorator) == "staticmethod"
                    for d in target.node.decorators) \
        and bool(positional) and positional[0] in ("self", "cls")
    if bound_first:
        positional = positional[1:]
    return positional[position] if position < len(positional) else None


def _rebinds(target: FunctionInfo, name: str) -> bool:
    """The function assigns the parameter another value somewhere."""
    return bool(target.locals.get(name))


def _every_session_rolls_back(index: ProjectIndex, plain: set[tuple[int, str]]) -> bool:
    rolling = _rolling_classes(index)
    if not rolling:
        return False
    made = False
    for module in index.modules_calling(["sessionmaker", "Session", "SQLAlchemy",
                                         *{c.name for c in rolling}]):
        for call, func in module.calls:
            last = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
            if not last:
                continue
            with index.full_resolution():
                value = index.evaluate(call.func, module, func)
            if isinstance(value, ClassRef) and value.cls in rolling:
                made = True
                continue
            if not isinstance(value, External):
                continue
            if match_qualname(value.qualname, _SESSION_CLASSES) is not None:
                if func is None or not _follow_plain(index, call, func, plain):
                    return False
                continue
            if match_qualname(value.qualname, _OTHER_SESSION_SOURCES) is not None:
                return False
            if match_qualname(value.qualname, _SESSIONMAKER) is not None:
                chosen = _class_argument(call)
                if chosen is None:
                    return False
                with index.full_resolution():
                    cls = index.evaluate(chosen, module, func)
                if isinstance(cls, External) \
                        and match_qualname(cls.qualname, _ASYNC_SESSION) is not None:
                    continue  # asynchronous sessions: no synchronous `commit()` here
                if not (isinstance(cls, ClassRef) and cls.cls in rolling):
                    return False
                made = True
    return made


def _follow_plain(index: ProjectIndex, call: cst.Call, func: FunctionInfo,
                  plain: set[tuple[int, str]]) -> bool:
    """The plain session `call` makes is bound to a local name of `func`
    (`s = Session(...)`, `with Session(...) as s:`) and followed: every holder
    of it goes into `plain`. False when it cannot be followed."""
    name = _bound_name(func.node.body, call)
    if name is None or len(func.locals.get(name, [])) > 1:
        return False
    return _follow(index, func, name, plain, 0)


def _bound_name(body: cst.CSTNode, call: cst.Call) -> str | None:
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and node.value is call and len(node.targets) == 1 \
                and isinstance(node.targets[0].target, cst.Name):
            return node.targets[0].target.value
        if isinstance(node, cst.WithItem) and node.item is call and node.asname is not None \
                and isinstance(node.asname.name, cst.Name):
            return node.asname.name.value
    return None


def _follow(index: ProjectIndex, func: FunctionInfo, name: str,
            plain: set[tuple[int, str]], depth: int) -> bool:
    """Every use of `name` in `func` is a method or attribute of the session, its
    own binding, or an argument to a library call or to a project function (then
    followed there, as that function's parameter)."""
    key = (id(func.node), name)
    if key in plain:
        return True
    plain.add(key)
    if depth >= _MAX_DEPTH:
        return False
    return _uses_followed(index, func, func.node.body, name, plain, depth)


def _uses_followed(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode, name: str,
                   plain: set[tuple[int, str]], depth: int) -> bool:
    if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
        return name not in names_in(node)
    if isinstance(node, cst.Attribute):
        if isinstance(node.value, cst.Name) and node.value.value == name:
            return True
        return _uses_followed(index, func, node.value, name, plain, depth)
    if isinstance(node, cst.Assign) and len(node.targets) == 1 \
            and isinstance(node.targets[0].target, cst.Name) \
            and node.targets[0].target.value == name:
        return _uses_followed(index, func, node.value, name, plain, depth)
    if isinstance(node, cst.WithItem) and node.asname is not None \
            and isinstance(node.asname.name, cst.Name) and node.asname.name.value == name:
        return _uses_followed(index, func, node.item, name, plain, depth)
    if isinstance(node, cst.Call):
        for i, arg in enumerate(node.args):
            if isinstance(arg.value, cst.Name) and arg.value.value == name:
                if not _handed(index, func, node, i, arg, plain, depth):
                    return False
            elif not _uses_followed(index, func, arg.value, name, plain, depth):
                return False
        return _uses_followed(index, func, node.func, name, plain, depth)
    if isinstance(node, cst.Name):
        return node.value != name
    return all(_uses_followed(index, func, c, name, plain, depth) for c in children(node))


def _handed(index: ProjectIndex, func: FunctionInfo, call: cst.Call, position: int,
            arg: cst.Arg, plain: set[tuple[int, str]], depth: int) -> bool:
    if arg.star:
        return False
    with index.full_resolution():
        callee = index.evaluate(call.func, func.module, func)
    if isinstance(callee, External):
        return True  # a library's function: it runs no `try` of the project's
    if not isinstance(callee, FunctionRef):
        return False
    param = _parameter(callee.func, call, position, arg)
    if param is None or _rebinds(callee.func, param):
        return False
    return _follow(index, callee.func, param, plain, depth + 1)


def _class_argument(call: cst.Call) -> cst.BaseExpression | None:
    """The `class_` of a `sessionmaker(...)` call (its second positional argument)."""
    for i, a in enumerate(call.args):
        if a.keyword is not None and a.keyword.value == "class_":
            return a.value
        if a.keyword is None and not a.star and i == 1:
            return a.value
    return None


def _rolling_classes(index: ProjectIndex) -> list[ClassInfo]:
    out: list[ClassInfo] = []
    for module in index.modules_defining(["commit"]):
        for cls in module.classes.values():
            method = cls.methods.get("commit")
            if method is None or not _commit_rolls_back(method):
                continue
            if any(isinstance(v, External)
                   and match_qualname(v.qualname, _SESSION_CLASSES) is not None
                   for _, v in class_bases(index, cls)):
                out.append(cls)
    return out


def _commit_rolls_back(method: FunctionInfo) -> bool:
    """Every `super().commit()` of the method runs in a `try` whose handlers catch
    everything (or every SQLAlchemy error), call `self.rollback()` and end in `raise`;
    and there is one."""
    supers = [c for c in iter_nodes(method.node.body) if isinstance(c, cst.Call)
              and _is_super_commit(c)]
    if not supers:
        return False
    guarded: set[int] = set()
    for node in iter_nodes(method.node.body):
        if isinstance(node, cst.Try) and node.handlers and all(
                _rolls_back_and_raises(h) for h in node.handlers):
            guarded |= {id(c) for c in iter_nodes(node.body) if isinstance(c, cst.Call)}
    return all(id(c) in guarded for c in supers)


def _is_super_commit(call: cst.Call) -> bool:
    f = call.func
    if not isinstance(f, cst.Attribute) or f.attr.value != "commit":
        return False
    v = f.value
    if isinstance(v, cst.Call) and dotted_name(v.func) == "super":
        return True
    return isinstance(v, (cst.Name, cst.Attribute)) and bool(call.args) \
        and dotted_name(call.args[0].value) == "self"


def _rolls_back_and_raises(handler: cst.ExceptHandler) -> bool:
    if handler.type is not None:
        names = [dotted_name(handler.type) or ""]
        if isinstance(handler.type, cst.Tuple):
            names = [dotted_name(e.value) or "" for e in handler.type.elements]
        if not any(n in BROAD_EXCEPTIONS or n.rsplit(".", 1)[-1] == "SQLAlchemyError"
                   for n in names):
            return False
    body = handler.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return False
    last = body.body[-1]
    if not (isinstance(last, cst.SimpleStatementLine) and last.body
            and isinstance(last.body[-1], cst.Raise)):
        return False
    return any(isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1
               and isinstance(s.body[0], cst.Expr) and isinstance(s.body[0].value, cst.Call)
               and dotted_name(s.body[0].value.func) == "self.rollback"
               for s in body.body)


#: session methods `_only_flushes` (PS103's fix) takes for a queueing call or a flush
_FLUSH_PATH_METHODS = ("add", "add_all", "delete", "expunge", "flush", "commit")


def session_subclass_override(index: ProjectIndex) -> str | None:
    """`Class.method` of a project subclass of SQLAlchemy's `Session` that defines one
    of the methods a `try` may call and still "only flush" (`add`, `flush`, `commit`,
    ...), its own code being more than that (an audit `INSERT` before `super().commit()`
    fails outside any flush, with nothing rolled back), or None. A `commit()` that only
    rolls a failed commit back and re-raises (`_commit_rolls_back`) is not counted."""
    for module in index.modules_defining(_FLUSH_PATH_METHODS):
        for cls in module.classes.values():
            defined = [name for name in _FLUSH_PATH_METHODS if name in cls.methods
                       and not (name == "commit" and _commit_rolls_back(cls.methods[name]))]
            if defined and any(isinstance(v, External)
                               and match_qualname(v.qualname, _SESSION_CLASSES) is not None
                               for _, v in class_bases(index, cls)):
                return f"{cls.name}.{defined[0]}"
    return None
