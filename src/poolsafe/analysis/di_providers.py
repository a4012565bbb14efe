"""dependency-injector providers that hand a new SQLAlchemy session to every consumer.

`providers.Factory(SessionLocal)` (or `Factory(Session, bind=engine)`) calls the
session factory again for every injection: the consumer owns the session, and the
container never closes it (only a `providers.Resource` generator has a teardown).
A consumer is a function with a `Provide[Container.name]` default (wired by
`@inject`, or inside FastAPI's `Depends(...)`) or another provider of the same
container that takes the session as an argument (a repository); the consumers of
that provider are followed in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from poolsafe.analysis.cstutil import iter_nodes, positional_args
from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import external_name
from poolsafe.analysis.values import ClassRef, External, LibraryObject
from poolsafe.knowledge.libraries import DI_PROVIDERS

_PROVIDERS = frozenset(tail.rsplit(".", 1)[-1] for _, tail in DI_PROVIDERS
                       if tail.startswith("providers."))
_SESSION_CLASSES = ("sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session",
                    "sqlalchemy.ext.asyncio.AsyncSession",
                    "sqlalchemy.ext.asyncio.session.AsyncSession")
_RELEASES = frozenset({"close", "__exit__", "__aexit__", "remove"})


@dataclass(frozen=True)
class SessionFactoryProvider:
    call: cst.Call
    name: str
    consumer: FunctionInfo


def leaking_session_factories(index: ProjectIndex,
                              module: ModuleInfo) -> Iterator[SessionFactoryProvider]:
    """`Factory(<session factory>)` providers of a container class in `module` with a
    consumer function that does not close what it was given: the session, or the
    provider that took it (a repository, a unit of work) in a `with` or with
    `close()` in a `finally`. The owner's class is not read (it may live in a module
    with no database import): how the consumers use it decides."""
    if "Factory" not in module.source or "dependency_injector" not in module.source:
        return
    for cls in module.tree.body:
        if not isinstance(cls, cst.ClassDef):
            continue
        providers = _providers(index, module, cls)
        for name, (call, kind) in providers.items():
            if kind != "Factory" or not _makes_sessions(index, module, call):
                continue
            consumer = _unreleasing_consumer(index, module, providers, name, set())
            if consumer is not None:
                yield SessionFactoryProvider(call, name, consumer)


def _providers(index: ProjectIndex, module: ModuleInfo,
               cls: cst.ClassDef) -> dict[str, tuple[cst.Call, str]]:
    out: dict[str, tuple[cst.Call, str]] = {}
    for stmt in cls.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if (isinstance(small, cst.Assign) and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, cst.Call)):
                qual = external_name(index, small.value.func, module, None) or ""
                kind = qual.rsplit(".", 1)[-1]
                if qual.startswith("dependency_injector.") and kind in _PROVIDERS:
                    out[small.targets[0].target.value] = (small.value, kind)
    return out


def _makes_sessions(index: ProjectIndex, module: ModuleInfo, call: cst.Call) -> bool:
    args = positional_args(call)
    if not args:
        return False
    value = index.evaluate(args[0], module, None)
    if isinstance(value, LibraryObject):
        # a sessionmaker makes a new session per call; a scoped_session hands back
        # the thread's one, which its registry owns
        return value.type.is_session_factory and not value.type.is_scoped
    return isinstance(value, External) and value.qualname in _SESSION_CLASSES


def _unreleasing_consumer(index: ProjectIndex, module: ModuleInfo,
                          providers: dict[str, tuple[cst.Call, str]],
                          name: str, seen: set[str]) -> FunctionInfo | None:
    if name in seen:
        return None
    seen.add(name)
    for other, (call, _) in providers.items():
        if other == name or not any(isinstance(a.value, cst.Name) and a.value.value == name
                                    for a in call.args[1:] if not a.star):
            continue
        found = _unreleasing_consumer(index, module, providers, other, seen)
        if found is not None:
            return found
    for user in index.modules_mentioning(["Provide"]):
        for func in user.all_functions:
            param = _provided_param(func, name)
            if param is not None and not _releases(func, param):
                return func
    return None


def _provided_param(func: FunctionInfo, name: str) -> str | None:
    """The parameter whose default is `Provide[Container.<name>]` (possibly inside
    `Depends(...)`)."""
    for param in (*func.node.params.params, *func.node.params.kwonly_params):
        if param.default is None:
            continue
        for node in iter_nodes(param.default):
            if (isinstance(node, cst.Subscript) and isinstance(node.value, cst.Name)
                    and node.value.value == "Provide" and len(node.slice) == 1):
                index = node.slice[0].slice
                if (isinstance(index, cst.Index) and isinstance(index.value, cst.Attribute)
                        and index.value.attr.value == name):
                    return str(param.name.value)
    return None


def _releases(func: FunctionInfo, param: str) -> bool:
    """`with <param>` / `async with <param>`, or `<param>.close()` in a `finally`."""
    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.With):
            for item in node.items:
                if any(isinstance(n, cst.Name) and n.value == param
                       for n in iter_nodes(item.item)):
                    return True
        if isinstance(node, cst.Try) and node.finalbody is not None:
            for n in iter_nodes(node.finalbody):
                if (isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                        and isinstance(n.func.value, cst.Name) and n.func.value.value == param
                        and n.func.attr.value in _RELEASES):
                    return True
    return False


def per_injection_factory(index: ProjectIndex, cls: ClassInfo) -> str | None:
    """The name of a dependency-injector `Factory` provider that builds a new `cls`
    for every injection, when some function takes it (or a provider built on it)
    through `Provide[...]`: a container's `name = providers.Factory(cls, ...)`, or
    `container.name.override(providers.Factory(cls, ...))`."""
    for module in index.modules_mentioning([cls.name]):
        if "dependency_injector" not in module.source:
            continue
        for node in iter_nodes(module.tree, into_functions=True):
            if not isinstance(node, cst.ClassDef):
                continue
            providers = _providers(index, module, node)
            for name, (call, kind) in providers.items():
                if kind == "Factory" and _builds(index, module, call, cls) and \
                        _consumed(index, providers, name, set()):
                    return name
        for node in iter_nodes(module.tree, into_functions=True):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                    and node.func.attr.value == "override"
                    and isinstance(node.func.value, cst.Attribute)):
                continue
            args = positional_args(node)
            func = _function_of(module, node)
            if len(args) == 1 and isinstance(args[0], cst.Call):
                qual = external_name(index, args[0].func, module, func) or ""
                if qual.startswith("dependency_injector.") and qual.endswith(".Factory") \
                        and _builds(index, module, args[0], cls, func):
                    name = node.func.value.attr.value
                    if _consumed_anywhere(index, name):
                        return name
    return None


def _function_of(module: ModuleInfo, node: cst.CSTNode) -> FunctionInfo | None:
    for func in module.all_functions:
        if any(n is node for n in iter_nodes(func.node.body)):
            return func
    return None


def _builds(index: ProjectIndex, module: ModuleInfo, call: cst.Call, cls: ClassInfo,
            func: FunctionInfo | None = None) -> bool:
    args = positional_args(call)
    value = index.evaluate(args[0], module, func) if args else None
    return isinstance(value, ClassRef) and value.cls is cls


def _names_in(expr: cst.CSTNode) -> set[str]:
    """The provider names an argument reads: `session`, `db.provided.get_db`."""
    out: set[str] = set()
    for node in iter_nodes(expr):
        if isinstance(node, cst.Name):
            out.add(node.value)
    return out


def _consumed(index: ProjectIndex, providers: dict[str, tuple[cst.Call, str]], name: str,
              seen: set[str]) -> bool:
    """Some function takes provider `name`, or a provider built on it, through
    `Provide[...]`."""
    if name in seen:
        return False
    seen.add(name)
    for other, (call, _) in providers.items():
        if other != name and any(name in _names_in(a.value) for a in call.args[1:]) \
                and _consumed(index, providers, other, seen):
            return True
    return _consumed_anywhere(index, name, check_providers=False)


def _consumed_anywhere(index: ProjectIndex, name: str, check_providers: bool = True) -> bool:
    if check_providers:
        for module in index.modules_mentioning(["dependency_injector"]):
            for node in iter_nodes(module.tree, into_functions=True):
                if isinstance(node, cst.ClassDef):
                    providers = _providers(index, module, node)
                    if name in providers and _consumed(index, providers, name, set()):
                        return True
    for user in index.modules_mentioning(["Provide"]):
        for func in user.all_functions:
            if _provided_param(func, name) is not None:
                return True
    return False
