"""What one walk over a parsed module collects: imports, names, functions, classes."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, NamedTuple, cast

import libcst as cst

from poolsafe.analysis.cstutil import children, dotted_name
from poolsafe.core.project import module_names, package_of


@dataclass(frozen=True)
class WithBinding:
    """A name bound by `with <item> as name`: the value is what the manager enters."""

    item: cst.BaseExpression


@dataclass(frozen=True)
class ImportBinding:
    """A name bound by an import inside a function."""

    qualname: str


@dataclass(frozen=True)
class Opaque:
    """A name bound by something the analysis does not follow (a loop target, ...)."""


LocalValue = cst.BaseExpression | WithBinding | ImportBinding | Opaque


@dataclass(eq=False)
class ClassInfo:
    name: str
    node: cst.ClassDef
    module: ModuleInfo
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    #: `self.x = value` anywhere in the class's methods
    attributes: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    #: the method each of those assignments is in (aligned with `attributes`)
    attribute_scopes: dict[str, list[FunctionInfo]] = field(default_factory=dict)
    #: `x: T` declared in the class body
    annotations: dict[str, cst.BaseExpression] = field(default_factory=dict)
    #: `x = value` written in the class body itself (a class attribute, evaluated once,
    #: when the module is imported, and shared by every instance)
    class_values: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)


@dataclass(eq=False)
class FunctionInfo:
    name: str
    qualname: str
    node: cst.FunctionDef
    module: ModuleInfo
    cls: ClassInfo | None
    parent: FunctionInfo | None
    #: local name -> every value bound to it in this function
    locals: dict[str, list[LocalValue]] = field(default_factory=dict)
    globals_declared: set[str] = field(default_factory=set)
    is_generator: bool = False
    #: calls in this function's own body, not in nested functions, classes or
    #: lambdas, in source order (what `iter_calls(node.body)` yields, unordered)
    direct_calls: list[cst.Call] = field(default_factory=list)
    #: `try` statements in this function's own body, likewise
    tries: list[cst.Try | cst.TryStar] = field(default_factory=list)
    #: `return` statements of this function (not of nested ones)
    returns: list[cst.Return] = field(default_factory=list)

    @property
    def is_async(self) -> bool:
        return self.node.asynchronous is not None

    @property
    def is_method(self) -> bool:
        if self.cls is None or self.parent is not None:
            return False
        return all(dotted_name(d.decorator) != "staticmethod" for d in self.node.decorators)

    def param_names(self) -> list[str]:
        """Positional parameter names as a caller sees them (no `self`/`cls`)."""
        params = [p.name.value for p in (*self.node.params.posonly_params,
                                          *self.node.params.params)]
        if self.is_method and params:
            params = params[1:]
        return params

    def named_params(self) -> tuple[cst.Param, ...]:
        """Every parameter with a name of its own, `self` included (not `*args`/`**kw`)."""
        p = self.node.params
        return (*p.posonly_params, *p.params, *p.kwonly_params)

    def param(self, name: str) -> cst.Param | None:
        """The parameter called `name` (not `*args`/`**kw`), if any."""
        return next((x for x in self.named_params() if x.name.value == name), None)

    def all_param_names(self) -> set[str]:
        p = self.node.params
        names = {x.name.value for x in self.named_params()}
        if isinstance(p.star_arg, cst.Param):
            names.add(p.star_arg.name.value)
        if p.star_kwarg is not None:
            names.add(p.star_kwarg.name.value)
        return names

    def binds(self, name: str) -> bool:
        """Whether `name` is a local or a parameter of this function or of one that
        encloses it (not the module's)."""
        scope: FunctionInfo | None = self
        while scope is not None:
            if name in scope.locals or name in scope.all_param_names():
                return True
            scope = scope.parent
        return False


class ModulePath(NamedTuple):
    """Where a module is, as its `ModuleInfo` says it (`abspath`, `names`,
    `is_package`), for a question that needs no more of it: known without parsing
    (`ProjectIndex.module_paths_matching`)."""

    abspath: Path
    #: dotted names this module may be imported as, longest first
    names: tuple[str, ...]
    is_package: bool

    @staticmethod
    def of(module: ModuleInfo) -> ModulePath:
        return ModulePath(module.abspath, module.names, module.is_package)


#: names that bind others at run time: a module that names one may define anything
_DYNAMIC_BINDERS = frozenset({"globals", "exec", "eval", "builtins", "__builtins__", "vars",
                              "setattr", "__import__"})
_BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__",
                                             "__loader__", "__package__", "__path__",
                                             "__builtins__", "__debug__"}


@dataclass(eq=False)
class ModuleInfo:
    path: str
    abspath: Path
    #: dotted names this module may be imported as, longest first
    names: tuple[str, ...]
    is_package: bool

    @staticmethod
    def of(module: ModuleInfo) -> ModulePath:
        return ModulePath(module.abspath, module.names, module.is_package)
    tree: cst.Module
    source: str
    imports: dict[str, str] = field(default_factory=dict)
    #: the modules of `from X import *` at the top level, in order (resolved as dotted
    #: names, relative ones made absolute)
    star_imports: list[str] = field(default_factory=list)
    assigns: dict[str, list[cst.BaseExpression]] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    classes: dict[str, ClassInfo] = field(default_factory=dict)
    all_functions: list[FunctionInfo] = field(default_factory=list)
    #: expressions passed to `Depends(...)` (resolved by the index)
    depends_args: list[cst.BaseExpression] = field(default_factory=list)
    #: id(FunctionDef) -> info
    by_node: dict[int, FunctionInfo] = field(default_factory=dict)
    #: every call and assignment, with the function whose body holds it (classes and
    #: lambdas count as their enclosing function; decorators and defaults as the
    #: function around the `def`)
    calls: list[tuple[cst.Call, FunctionInfo | None]] = field(default_factory=list)
    assign_nodes: list[tuple[cst.Assign, FunctionInfo | None]] = field(default_factory=list)

    @property
    def package(self) -> str:
        return package_of(self.names, self.is_package)

    @cached_property
    def unbound_call_names(self) -> frozenset[str]:
        """Bare names this module only ever calls (`abort(404)`) and never binds,
        imports or otherwise names anywhere, that are no builtin: each such call
        raises `NameError` (an import the module forgot), so nothing after it runs.
        Empty under a star import or where the module could bind names at run time
        (`globals()`, `exec`, `eval`, `builtins`, `__builtins__`)."""
        if self.star_imports:
            return frozenset()
        called: set[str] = set()
        call_funcs: set[int] = set()
        others: set[str] = set()
        stack: list[cst.CSTNode] = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
                called.add(node.func.value)
                call_funcs.add(id(node.func))
            elif isinstance(node, cst.Name) and id(node) not in call_funcs:
                others.add(node.value)
            stack.extend(children(node))
        if others & _DYNAMIC_BINDERS or called & _DYNAMIC_BINDERS:
            return frozenset()
        # `_("text")` and `__salt__`-style names are installed into builtins or the
        # module's globals by a framework (`gettext.install()`): left alone
        return frozenset(n for n in called - others - _BUILTIN_NAMES if not n.startswith("_"))


class _Collector(cst.CSTVisitor):
    """One walk: imports, module names, functions with their locals, classes."""

    def __init__(self, info: ModuleInfo) -> None:
        self.info = info
        #: innermost scope last: a ClassInfo or a FunctionInfo
        self.scopes: list[ClassInfo | FunctionInfo] = []
        #: id(FunctionDef.body) -> its function
        self.bodies: dict[int, FunctionInfo] = {}
        #: the function whose own body we are in (None in a class body, a lambda, a
        #: def's decorators and defaults, or at module level)
        self.direct: list[FunctionInfo | None] = [None]
        #: the innermost function whose body we are in, whatever lies between
        self.enclosing_body: list[FunctionInfo | None] = [None]

    @property
    def func(self) -> FunctionInfo | None:
        for scope in reversed(self.scopes):
            if isinstance(scope, FunctionInfo):
                return scope
        return None

    # imports -------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = dotted_name(alias.name) or ""
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind_import(alias.asname.name.value, full)
            else:
                root = full.split(".")[0]
                self._bind_import(root, root)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        base = dotted_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level:
            pkg = self.info.package.split(".") if self.info.package else []
            drop = level - 1
            pkg = pkg[: len(pkg) - drop] if drop <= len(pkg) else []
            base = ".".join([*pkg, base] if base else pkg)
        if isinstance(node.names, cst.ImportStar):
            if self.func is None and base:
                self.info.star_imports.append(base)
            return
        for alias in node.names:
            name = dotted_name(alias.name) or ""
            local = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            self._bind_import(local, f"{base}.{name}" if base else name)

    def _bind_import(self, local: str, qualname: str) -> None:
        func = self.func
        if func is None:
            self.info.imports[local] = qualname
        else:
            func.locals.setdefault(local, []).append(ImportBinding(qualname))

    # scopes --------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        info = ClassInfo(node.name.value, node, self.info)
        if not self.scopes:
            self.info.classes[info.name] = info
        self.scopes.append(info)
        self.direct.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes.pop()
        self.direct.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.direct.append(None)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.direct.pop()

    def _enter_block(self, node: cst.BaseSuite) -> None:
        func = self.bodies.get(id(node))
        if func is not None:
            self.direct.append(func)
            self.enclosing_body.append(func)

    def _leave_block(self, node: cst.BaseSuite) -> None:
        if id(node) in self.bodies:
            self.direct.pop()
            self.enclosing_body.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._enter_block(node)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self._leave_block(original_node)

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self._enter_block(node)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self._leave_block(original_node)

    def visit_Try(self, node: cst.Try) -> None:
        func = self.direct[-1]
        if func is not None:
            func.tries.append(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        func = self.direct[-1]
        if func is not None:
            func.tries.append(node)

    def visit_Return(self, node: cst.Return) -> None:
        func = self.direct[-1]
        if func is not None:
            func.returns.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        enclosing = self.scopes[-1] if self.scopes else None
        parent = self.func
        cls = enclosing if isinstance(enclosing, ClassInfo) else None
        if isinstance(enclosing, FunctionInfo):
            prefix = enclosing.qualname + ".<locals>."
        elif cls is not None:
            prefix = cls.name + "."
        else:
            prefix = ""
        info = FunctionInfo(node.name.value, prefix + node.name.value, node, self.info,
                            cls, parent if cls is None else None)
        self.info.all_functions.append(info)
        self.info.by_node[id(node)] = info
        if enclosing is None:
            self.info.functions[info.name] = info
        elif cls is not None:
            cls.methods[info.name] = info
        self.scopes.append(info)
        self.bodies[id(node.body)] = info
        self.direct.append(None)  # decorators, defaults, annotations

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.direct.pop()

    # assignments ---------------------------------------------------------
    def visit_Global(self, node: cst.Global) -> None:
        func = self.func
        if func is not None:
            func.globals_declared.update(n.name.value for n in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        func = self.func
        if func is not None:
            func.globals_declared.update(n.name.value for n in node.names)

    def _bind(self, name: str, value: LocalValue) -> None:
        func = self.func
        if func is None:
            if not self.scopes and isinstance(value, cst.BaseExpression):
                self.info.assigns.setdefault(name, []).append(value)
            elif self.scopes and isinstance(self.scopes[-1], ClassInfo) \
                    and isinstance(value, cst.BaseExpression):
                self.scopes[-1].class_values.setdefault(name, []).append(value)
        elif name in func.globals_declared:
            if isinstance(value, cst.BaseExpression):
                self.info.assigns.setdefault(name, []).append(value)
        else:
            func.locals.setdefault(name, []).append(value)

    def _record_target(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, value)
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            # `self.x = ...`, and `cls.x = ...` in a classmethod: the method's first
            # parameter, whatever its name; and the class's own name in one of its
            # methods (`Database._pool = SimpleConnectionPool(...)` in `__init__`: a
            # class attribute every instance and classmethod reads)
            func = self.func
            while func is not None and func.cls is None:
                func = func.parent
            params = [] if func is None else func.node.params.params
            receiver = params[0].name.value if params else "self"
            if func is not None and func.cls is not None and target.value.value in (
                    receiver, func.cls.name):
                func.cls.attributes.setdefault(target.attr.value, []).append(value)
                func.cls.attribute_scopes.setdefault(target.attr.value, []).append(func)
        elif isinstance(target, (cst.Tuple, cst.List)):
            if isinstance(value, (cst.Tuple, cst.List)) and len(target.elements) == len(
                    value.elements):
                for t, v in zip(target.elements, value.elements, strict=True):
                    self._record_target(t.value, v.value)
            else:
                for t in target.elements:
                    if isinstance(t.value, cst.Name):
                        self._bind(t.value.value, Opaque())

    def visit_Assign(self, node: cst.Assign) -> None:
        self.info.assign_nodes.append((node, self.enclosing_body[-1]))
        for t in node.targets:
            self._record_target(t.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._record_target(node.target, node.value)
        scope = self.scopes[-1] if self.scopes else None
        if isinstance(scope, ClassInfo) and isinstance(node.target, cst.Name):
            scope.annotations[node.target.value] = node.annotation.annotation

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._record_target(node.target, node.value)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self._bind(node.asname.name.value, WithBinding(node.item))

    def visit_For(self, node: cst.For) -> None:
        if isinstance(node.target, cst.Name):
            self._bind(node.target.value, Opaque())

    # yields and Depends --------------------------------------------------
    def visit_Yield(self, node: cst.Yield) -> None:
        func = self.func
        if func is not None:
            func.is_generator = True

    def visit_Call(self, node: cst.Call) -> None:
        self.info.calls.append((node, self.enclosing_body[-1]))
        own = self.direct[-1]
        if own is not None:
            own.direct_calls.append(node)
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else (
            func.value if isinstance(func, cst.Name) else None)
        if last in ("Depends", "Security") and node.args:
            self.info.depends_args.append(node.args[0].value)


def collect_module(path: str, abspath: Path, rel: Path, source: str,
                   tree: cst.Module,
                   parents: dict[int, cst.CSTNode] | None = None) -> ModuleInfo:
    """The module's facts, from one walk of `tree`; `parents`, when given, receives
    id(node) -> parent for every node (what `fix.fixers.edits.parent_map` builds)."""
    names, is_package = module_names(rel)
    info = ModuleInfo(path=path, abspath=abspath, names=names, is_package=is_package,
                      tree=tree, source=source)
    walk(tree, _Collector(info), parents)
    return info


_Handler = Callable[[Any, Any], Any]  # an unbound visit_/leave_ method
_HANDLERS: dict[tuple[type, type], tuple[_Handler | None, _Handler | None]] = {}


class _Leave:
    """A stack entry: call `handler` on `node` once its children are done."""

    __slots__ = ("handler", "node")

    def __init__(self, handler: _Handler, node: cst.CSTNode) -> None:
        self.handler = handler
        self.node = node


def walk(tree: cst.CSTNode, visitor: cst.CSTVisitor,
         parents: dict[int, cst.CSTNode] | None = None) -> None:
    """Call the visitor's `visit_<Node>` / `leave_<Node>` methods over the tree, in the
    order libcst would, but iteratively and without libcst's visitor machinery (which
    rebuilds every node as it goes and costs about twice the parse). With `parents`,
    record each visited node's children there (id(child) -> node): the parent map
    of the nodes walked, for the price of a dict store each."""
    stack: list[cst.CSTNode | _Leave] = [tree]
    vtype = type(visitor)
    while stack:
        node = stack.pop()
        if type(node) is _Leave:
            node.handler(visitor, node.node)
            continue
        node = cast(cst.CSTNode, node)  # not `isinstance`: an ABC check per node
        key = (vtype, type(node))
        handlers = _HANDLERS.get(key)
        if handlers is None:
            name = type(node).__name__
            handlers = (getattr(vtype, "visit_" + name, None),
                        getattr(vtype, "leave_" + name, None))
            _HANDLERS[key] = handlers
        if handlers[0] is not None and handlers[0](visitor, node) is False:
            continue
        if handlers[1] is not None:
            stack.append(_Leave(handlers[1], node))
        below = children(node)
        if below:
            if parents is not None:
                for child in below:
                    parents[id(child)] = node
            below.reverse()
            stack.extend(below)


def enclosing_function(node: cst.CSTNode, parents: dict[int, cst.CSTNode],
                       module: ModuleInfo) -> FunctionInfo | None:
    """The innermost function of `module` whose body holds `node` (`parents`: each
    node's parent, by id), or None at the module's top level."""
    cur = parents.get(id(node))
    while cur is not None:
        if isinstance(cur, cst.FunctionDef):
            return module.by_node.get(id(cur))
        cur = parents.get(id(cur))
    return None


#: the name of the function `top_level_function` makes of a module's top level
TOP_LEVEL_NAME = "__top_level__"


def top_level_function(module: ModuleInfo) -> FunctionInfo | None:
    """The module's top-level statements (not its `def`s and classes) as the body of a
    function of the module, for code that runs them again and again: Streamlit runs a
    page's module body at every interaction, as a function's body runs at every call.
    The statements are the module's own nodes (findings point into the module); the
    function is no member of the module's functions, and nothing calls it. None when
    the module has no such statement."""
    stmts = [s for s in module.tree.body
             if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    if not stmts:
        return None
    node = cst.FunctionDef(name=cst.Name(TOP_LEVEL_NAME), params=cst.Parameters(),
                           body=cst.IndentedBlock(body=stmts))
    shadow = ModuleInfo(path=module.path, abspath=module.abspath, names=module.names,
                        is_package=module.is_package, tree=cst.Module(body=[node]),
                        source=module.source)
    walk(shadow.tree, _Collector(shadow))
    func = shadow.by_node.get(id(node))
    if func is None:
        return None
    func.module = module
    return func
