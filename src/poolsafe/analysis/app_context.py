"""Flask application contexts: where a job builds the app (`create_app()`), whether
code pushes a context, and what in a body uses Flask-SQLAlchemy outside one (the
PS206 rule reports it; its fixer wraps the work in `with app.app_context():`)."""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.cstutil import children, dotted_name, iter_calls, iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo
from poolsafe.analysis.project_facts import (
    is_flask_db,
    is_model_class,
    returned_instance,
    used_through,
)
from poolsafe.analysis.resolution import instance_type
from poolsafe.analysis.values import ClassRef, FunctionRef
from poolsafe.knowledge.frameworks import (
    FLASK_APP_TYPES,
    FLASK_CONTEXT_METHODS,
    FLASK_MODEL_QUERY_ATTRIBUTES,
    FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES,
)

_PUSH = "push"


def app_factory_call(index: ProjectIndex, func: FunctionInfo) -> cst.Call | None:
    for call in iter_calls(func.node.body):
        callee = index.evaluate(call.func, func.module, func)
        if isinstance(callee, FunctionRef) and instance_type(
                returned_instance(index, callee.func), FLASK_APP_TYPES):
            return call
    return None


def is_context_call(node: cst.BaseExpression) -> bool:
    return (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in FLASK_CONTEXT_METHODS)


def pushes_context(body: cst.CSTNode) -> bool:
    """`app.app_context().push()`, or `ctx = app.app_context()` ... `ctx.push()`."""
    ctx_names: set[str] = set()
    for node in iter_nodes(body):
        if isinstance(node, cst.Assign) and is_context_call(node.value):
            ctx_names.update(t.target.value for t in node.targets
                             if isinstance(t.target, cst.Name))
    for call in iter_calls(body):
        f = call.func
        if isinstance(f, cst.Attribute) and f.attr.value == _PUSH and (
                is_context_call(f.value)
                or (isinstance(f.value, cst.Name) and f.value.value in ctx_names)):
            return True
    return False


def pushes_context_of(func: FunctionInfo) -> bool:
    """`pushes_context(func.node.body)`, without walking the body in a module whose
    text never spells an attribute `.push`: the call it looks for is one (PS206 asks
    it of every function of superset's `models/core.py` on each keystroke of the
    editor, and the module has no `.push`; the word alone was not enough: its
    comment "predicate pushdown" made every keystroke walk every function again,
    a tenth of the keystroke, issue 32)."""
    module = func.module
    spells = module.__dict__.get(_SPELLS_PUSH)
    if spells is None:
        source = module.source
        spells = module.__dict__[_SPELLS_PUSH] = _PUSH in source \
            and _PUSH_ATTRIBUTE.search(source) is not None
    return spells and pushes_context(func.node.body)


#: the attribute of a module that keeps whether its text spells `.push`
_SPELLS_PUSH = "_spells_push"
#: an attribute named `push`: the dot, then what may stand between it and the name
#: (spaces, line breaks and continuations, and inside brackets comments), then the
#: name and no more of an identifier
_PUSH_ATTRIBUTE = re.compile(r"\.(?:[\s\\]|#[^\n]*)*push\b")


def db_use_outside_context(index: ProjectIndex, func: FunctionInfo, body: cst.CSTNode,
                            depth: int, skip: cst.Call | None) -> str | None:
    stack: list[cst.CSTNode] = [body]
    while stack:
        node = stack.pop()
        if node is not body and isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(node, cst.With) and any(
                is_context_call(item.item) for item in node.items):
            continue  # the body runs inside an application context
        use = _use_at(index, func, node, depth, skip)
        if use is not None:
            return use
        stack.extend(reversed(children(node)))
    return None


def _use_at(index: ProjectIndex, func: FunctionInfo, node: cst.CSTNode, depth: int,
            skip: cst.Call | None) -> str | None:
    if isinstance(node, cst.Attribute):
        attr = node.attr.value
        if attr in FLASK_SQLALCHEMY_CONTEXT_ATTRIBUTES and is_flask_db(
                index.evaluate(node.value, func.module, func)):
            return f"`{dotted_name(node) or attr}`"
        if attr in FLASK_MODEL_QUERY_ATTRIBUTES:
            owner = index.evaluate(node.value, func.module, func)
            if isinstance(owner, ClassRef) and is_model_class(index, owner.cls):
                return f"`{owner.cls.name}.{attr}`"
    elif isinstance(node, cst.Call) and node is not skip and depth < 2:
        callee = index.evaluate(node.func, func.module, func)
        if isinstance(callee, FunctionRef) and callee.func is not func:
            inner = db_use_outside_context(index, callee.func, callee.func.node.body,
                                            depth + 1, None)
            if inner is not None:
                return used_through(callee.func.name, inner)
    return None
