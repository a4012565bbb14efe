"""Flask's `after_request` functions, and when a view's error skips them.

For a view that raises an error no handler takes, `Flask.handle_exception` builds the
500 response and finalizes it: the `after_request` functions run on it as on any
response (Flask 1.x to 3.1, checked by running 3.1.3). It re-raises the error instead,
and so skips them, when the app propagates errors: in debug mode, in testing mode, or
with `PROPAGATE_EXCEPTIONS` set. Only then does a close in `after_request` miss the
request whose view raised; a teardown handler runs either way.

`propagation_switch` finds the statements of a project (test modules aside) that turn
one of those on for an app: `app.run(debug=True)`, `app.debug = True`, `app.testing =
True`, `app.config["PROPAGATE_EXCEPTIONS"] = True` (also `DEBUG`, `TESTING`), and
`app.config.update(DEBUG=True)`. A configuration class (`class DevConfig: DEBUG =
True`) is not counted: which one a deployment loads is not in the code.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import is_true, iter_nodes
from poolsafe.analysis.doubles import is_test_module
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import decorator_target

#: the decorators that register a function to run on every response
AFTER_REQUEST_METHODS = frozenset({"after_request", "after_app_request"})
#: configuration keys that make Flask re-raise a view's error
_PROPAGATING_KEYS = frozenset({"DEBUG", "TESTING", "PROPAGATE_EXCEPTIONS"})
#: app attributes that do
_PROPAGATING_ATTRS = frozenset({"debug", "testing"})


def after_request_hooks(index: ProjectIndex) -> list[tuple[ModuleInfo, FunctionInfo]]:
    """The functions decorated with an app's or a blueprint's `after_request`."""
    found = []
    for module in index.modules_mentioning(AFTER_REQUEST_METHODS):
        for func in module.all_functions:
            for deco in func.node.decorators:
                target = decorator_target(deco)
                if isinstance(target, cst.Attribute) \
                        and target.attr.value in AFTER_REQUEST_METHODS:
                    found.append((module, func))
                    break
    return found


def propagation_switch(index: ProjectIndex) -> str | None:
    """Where the project makes a Flask app re-raise a view's error (`` `app.run(debug=
    True)` in app.py ``), or None."""
    words = ["debug", "testing", *sorted(_PROPAGATING_KEYS)]
    for module in index.modules_mentioning(words):
        if is_test_module(module):
            continue
        for node in iter_nodes(module.tree, into_functions=True):
            what = _switch(node)
            if what is not None:
                return f"`{what}` in {module.path}"
    return None


def _switch(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        if method == "run" and any(is_true(a.value) for a in node.args
                                   if a.keyword is not None and a.keyword.value == "debug"):
            return "run(debug=True)"
        if method == "update" and _is_config(node.func.value):
            for a in node.args:
                if a.keyword is not None and a.keyword.value in _PROPAGATING_KEYS \
                        and is_true(a.value):
                    return f"config.update({a.keyword.value}=True)"
        return None
    if isinstance(node, cst.Assign) and is_true(node.value):
        for t in node.targets:
            target = t.target
            if isinstance(target, cst.Attribute) and target.attr.value in _PROPAGATING_ATTRS:
                return f"{target.attr.value} = True"
            if isinstance(target, cst.Subscript) and _is_config(target.value):
                key = _string_key(target)
                if key in _PROPAGATING_KEYS:
                    return f'config["{key}"] = True'
    return None


def _is_config(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Attribute) and value.attr.value == "config"


def _string_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1:
        return None
    index = node.slice[0].slice
    if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
        value = index.value.evaluated_value
        return value if isinstance(value, str) else None
    return None
