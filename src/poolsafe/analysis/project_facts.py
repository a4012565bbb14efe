"""Project-wide facts, computed once per index on first use: who calls a function,
which functions are background jobs or Flask teardown handlers, whether the project
uses Flask, which functions handle requests, which classes are Flask models.

Each fact reads only the modules that can add to it (`ProjectIndex.
modules_mentioning`), so checking one file does not parse the whole project.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from poolsafe.analysis.argv_parse import parses_process_argv
from poolsafe.analysis.cstutil import (
    argument_for,
    call_name,
    children,
    dotted_name,
    final_name,
    iter_calls,
    iter_nodes,
    keyword_arg,
    positional_args,
    string_value,
    strip_await,
)
from poolsafe.analysis.doubles import is_test_module as is_test_module
from poolsafe.analysis.doubles import is_test_path as is_test_path
from poolsafe.analysis.engines import (
    flask_sqlalchemy_constructors,
    flask_sqlalchemy_hook_sets,
)
from poolsafe.analysis.frameworks import library_bases, route_framework
from poolsafe.analysis.index import (
    CallerSite,
    ProjectIndex,
    call_pattern,
    class_bases,
    derived_root,
    held,
    spelling,
    view_class_framework,
    word_pattern,
)
from poolsafe.analysis.module import (
    ClassInfo,
    FunctionInfo,
    ImportBinding,
    ModuleInfo,
    ModulePath,
)
from poolsafe.analysis.namespace_dispatch import dispatched_by_name, is_main_test
from poolsafe.analysis.resolution import (
    MAX_RESOLUTION_DEPTH,
    Pairs,
    decorator_target,
    external_name,
    instance_type,
    inventory,
    is_false,
    mapping_options,
    qual_match,
    resolve,
)
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    External,
    ExternalInstance,
    FunctionRef,
    LibraryObject,
    Value,
)
from poolsafe.knowledge.django import (
    DJANGO_CALL_COMMAND,
    DJANGO_COMMAND_BASES,
    DJANGO_COMMAND_CLASS,
)
from poolsafe.knowledge.frameworks import (
    AIRFLOW_CALLABLE_KEYWORD,
    AIRFLOW_TASK_DECORATORS,
    APPLICATION_BASES,
    APPLICATION_LIFECYCLE_METHODS,
    CLI_CLASS_DECORATORS,
    CLI_DECORATORS,
    CLI_GROUP_CLASSES,
    CLI_PARAMETER_DECORATORS,
    DJANGO_ROOTS,
    DJANGO_VIEW_DECORATORS,
    DJANGO_VIEW_MODULES,
    EXTENSION_APP_BASES,
    EXTENSION_APP_SETUP_METHODS,
    FLASK_APP_TYPES,
    FLASK_MODEL_BASE_ATTRIBUTE,
    FLASK_SQLALCHEMY_OPTION_HOOKS,
    FLASK_SQLALCHEMY_OPTIONS_KEYWORD,
    FLASK_TEARDOWN_METHODS,
    JOB_REGISTRARS,
    PREFECT_REPEATING_METHODS,
    PREFECT_RUN_DECORATORS,
    PREFECT_TASK_WORKER_SERVE,
    REQUEST_HOOK_METHODS,
    REQUEST_MIDDLEWARE_BASES,
    ROUTE_EVERY_METHOD_ROOTS,
    VIEW_HANDLER_METHODS,
)
from poolsafe.knowledge.libraries import root_matches

#: a module that builds a Flask application
_FLASK_APP = re.compile(rb"\bFlask\s*\(")
#: a module of another program: a Celery app, a script
#: a module that imports flask (Flask-SQLAlchemy) by name, at any indentation: the
#: modules `uses_flask` (`uses_flask_sqlalchemy`) tries first
_IMPORTS_FLASK = re.compile(rb"^[ \t]*(?:from|import)[ \t]+flask\b", re.M)
_IMPORTS_FLASK_SQLALCHEMY = re.compile(
    rb"^[ \t]*(?:from|import)[ \t]+(?:flask_sqlalchemy|flask\.ext)\b", re.M)
#: `x.config["SQLALCHEMY_DATABASE_URI"] = ...` or `x.config.update(SQLALCHEMY_DATABASE_URI=...)`
_WRITES_FLASK_URI = re.compile(
    rb"\.config\s*\[\s*['\"]SQLALCHEMY_DATABASE_URI['\"]\s*\]\s*=(?!=)"
    rb"|\.config\.update\([^)]*\bSQLALCHEMY_DATABASE_URI\s*=")


def _imports_root(m: ModuleInfo, root: str) -> bool:
    """Whether `m` imports `root` (or a name under it), at module level or in a
    function."""
    return any(root_matches(q, root) for q in [*m.imports.values(), *(
        v.qualname for f in m.all_functions for vs in f.locals.values()
        for v in vs if isinstance(v, ImportBinding))])


#: a script's `if __name__ == "__main__":` guard, at the start of a line
_MAIN_GUARD = rb"^if\s+__name__\s*==\s*['\"]__main__['\"]"
_OTHER_PROGRAM = re.compile(rb"\bCelery\s*\(|" + _MAIN_GUARD, re.M)
_SCRIPT = re.compile(_MAIN_GUARD.decode(), re.M)

# ------------------------------------------------------ project-wide facts
#: a module that registers a job with a decorator spells one of these
_JOB_DECORATOR_WORDS = frozenset(
    {reg.name for reg in JOB_REGISTRARS if reg.decorator}
    | {tail.rsplit(".", 1)[-1] for reg in JOB_REGISTRARS if reg.decorator
       for _root, tail in reg.callee})


#: calls that run the function they are handed on a worker thread and return its
#: result to the caller that awaits them: the callee's last name -> the function's
#: position (asyncio's `loop.run_in_executor(executor, func, *args)` and
#: `asyncio.to_thread(func, ...)`, Starlette's `run_in_threadpool(func, ...)`)
_EXECUTOR_RUNNERS = {"run_in_executor": 1, "to_thread": 0, "run_in_threadpool": 0}


@dataclass(frozen=True)
class CallSite:
    call: cst.Call
    module: ModuleInfo
    #: None for module-level code
    func: FunctionInfo | None


@dataclass
class ProjectFacts:
    index: ProjectIndex
    #: call sites by callee name, computed per name over the modules that spell it
    _sites: dict[str, list[CallSite]] = field(default_factory=dict)
    _aliases: dict[str, list[str]] = field(default_factory=dict)
    _jobs: dict[int, str] | None = None
    _jobs_deferred = False
    #: (registrar, job, the function whose body registers it) per call registration
    _registrations: list[tuple[str, FunctionInfo, FunctionInfo | None, cst.Call]] | None = None
    _teardowns: list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]] | None = None
    _flask: bool | None = None
    #: id(def node) -> (the node, the answer) (`held`)
    _request_only: dict[int, tuple[cst.FunctionDef, bool]] = field(default_factory=dict)
    _global_pre_ping: bool | None = None
    _flask_sqlalchemy: bool | None = None
    _app_flask_sqlalchemy: bool | None = None
    _loads_config_mapping: bool | None = None
    _builds_engines: bool | None = None
    _loads_flask_config: bool | None = None
    _writes_flask_uri: bool | None = None
    _sqlite_only: bool | None = None
    _program_reach: tuple[frozenset[Path], frozenset[Path]] | None = None

    def call_sites(self, name: str) -> list[CallSite]:
        """Every call in the project whose callee's last name is `name`."""
        if name not in self._sites:
            self._sites[name] = [CallSite(call, m, func)
                                 for m in self.index.modules_calling([name])
                                 for call, func in inventory(m).calls
                                 if call_name(call) == name]
        return self._sites[name]

    def any_call_site(self, name: str, wanted: Callable[[CallSite], bool],
                      admitted: Callable[[Path, bytes], bool] | None = None) -> bool:
        """`any(wanted(s) for s in self.call_sites(name))`, with the modules parsed one
        at a time (those parsed already first) until a site is wanted: an edit's
        `check FILE` asks whether a method is one-shot, and the first call of it from
        code that runs many times answers no without parsing every other module that
        calls it (superset's `get_sqla_engine`: 22 modules). `admitted` as for
        `ProjectIndex.any_module`: it must never refuse a module with a wanted site."""
        known = self._sites.get(name)
        if known is not None:
            return any(wanted(s) for s in known)

        def found(m: ModuleInfo) -> bool:
            return any(wanted(CallSite(call, m, func)) for call, func in inventory(m).calls
                       if call_name(call) == name)

        return self.index.any_module(call_pattern([name]), found, admitted=admitted)

    def any_caller(self, func: FunctionInfo, wanted: Callable[[CallSite], bool],
                   admitted: Callable[[Path, bytes], bool] | None = None) -> bool:
        """`any(wanted(s) for s in self.callers(func))`, as `any_call_site` parses."""
        def of_func(site: CallSite) -> bool:
            callee = self.index.evaluate(site.call.func, site.module, site.func)
            return isinstance(callee, FunctionRef) and callee.func is func and wanted(site)

        return any(self.any_call_site(n, of_func, admitted)
                   for n in (func.name, *self._import_aliases(func.name)))

    def callers(self, func: FunctionInfo) -> list[CallSite]:
        out = []
        sites = self.call_sites(func.name)
        aliases = self._import_aliases(func.name)
        if aliases:
            sites = sites + [s for a in aliases for s in self.call_sites(a)]
        for site in sites:
            callee = self.index.evaluate(site.call.func, site.module, site.func)
            if isinstance(callee, FunctionRef) and callee.func is func:
                out.append(site)
        return out

    def project_callers(self, func: FunctionInfo) -> list[CallSite]:
        """`callers(func)` outside the test modules."""
        return [s for s in self.callers(func) if not is_test_module(s.module)]

    def handed_callers(self, func: FunctionInfo) -> list[CallSite]:
        """The calls of `func` made through a parameter it is handed as: a project
        function `g(factory)` whose every call in the project passes `func` itself for
        `factory` (`get_rows(make_pool, ...)`, `g(factory=make_pool)`) calls it where
        it calls `factory(...)`. Only plain parameters of plain functions and methods
        (the receiver is skipped); a `g` nobody calls, or a call of it that passes
        something else for the parameter, adds nothing."""
        key = f"<handed>{func.qualname}@{func.module.abspath}"
        if key in self._sites:
            return self._sites[key]
        self._sites[key] = []
        out: list[CallSite] = []
        pattern = spelling(rb"\b" + re.escape(func.name.encode()) + rb"\b", [func.name])
        seen: set[tuple[int, str]] = set()
        for m in self.index.modules_matching(pattern):
            for call, caller in inventory(m).calls:
                for i, arg in enumerate(call.args):
                    if arg.star or not isinstance(arg.value, cst.Name) \
                            or arg.value.value != func.name:
                        continue
                    value = self.index.evaluate(arg.value, m, caller)
                    if not isinstance(value, FunctionRef) or value.func is not func:
                        continue
                    target = self.index.evaluate(call.func, m, caller)
                    if not isinstance(target, FunctionRef):
                        continue
                    g = target.func
                    names = [q.name.value for q in g.node.params.params]
                    if g.is_method and names:
                        names = names[1:]
                    if arg.keyword is not None:
                        param = arg.keyword.value
                    elif i < len(names) and all(a.keyword is None for a in call.args[:i]):
                        param = names[i]
                    else:
                        continue
                    if (id(g.node), param) in seen or param not in names:
                        continue
                    seen.add((id(g.node), param))
                    if self._always_passes(g, param, names.index(param), func):
                        out.extend(CallSite(c, g.module, g) for c in g.direct_calls
                                   if isinstance(c.func, cst.Name) and c.func.value == param)
        self._sites[key] = out
        return out

    def _always_passes(self, g: FunctionInfo, param: str, position: int,
                       func: FunctionInfo) -> bool:
        if param in g.locals:
            return False  # rebound inside `g`
        sites = self.callers(g)
        if not sites:
            return False
        for site in sites:
            arg = argument_for(site.call, param, position)
            value = None if arg is None else self.index.evaluate(arg, site.module, site.func)
            if not isinstance(value, FunctionRef) or value.func is not func:
                return False
        return True

    def executor_callers(self, func: FunctionInfo) -> list[CallSite]:
        """The calls that hand `func` to a worker thread and give its result back to
        the awaiting caller (`await loop.run_in_executor(None, create_tag, db, name)`,
        `run_in_threadpool(...)`, `asyncio.to_thread(...)`): each runs it once, there."""
        out = []
        for name, position in _EXECUTOR_RUNNERS.items():
            for site in self.call_sites(name):
                args = positional_args(site.call)
                if len(args) <= position:
                    continue
                value = self.index.evaluate(args[position], site.module, site.func)
                if isinstance(value, FunctionRef) and value.func is func:
                    out.append(site)
        return out

    def _import_aliases(self, name: str) -> list[str]:
        """The local names under which some module imports a `name` of the project
        (`from model.users import exists as user_exists`): its calls use them."""
        found = self._aliases.get(name)
        if found is None:
            pattern = spelling(rb"\b" + re.escape(name.encode()) + rb"\s+as\s+\w", [name])
            found = sorted({local for m in self.index.modules_matching(pattern)
                            for local, qual in m.imports.items()
                            if local != name and qual.rpartition(".")[2] == name})
            self._aliases[name] = found
        return found

    # background jobs ------------------------------------------------------
    def jobs_deferred(self) -> bool:
        """True once, for the first module whose check may put off `jobs()` (it reads
        every module that may register one) until one of its functions needs them:
        an edit's `check FILE` checks one module, which mostly has none. The modules
        checked after it in the same index compute them at once: asking each of
        their functions first would cost a whole-project run more than the search."""
        if self._jobs is not None or self._jobs_deferred:
            return False
        self._jobs_deferred = True
        return True

    def jobs(self) -> dict[int, str]:
        """id(FunctionDef) -> how it is registered, for every background job."""
        if self._jobs is None:
            self._jobs = {}
            for m in self.index.modules_mentioning(_JOB_DECORATOR_WORDS):
                for f in m.all_functions:
                    how = self._decorated_job(f)
                    if how is not None:
                        self._jobs[id(f.node)] = how
            for registrar, target, _, _call in self._call_registrations():
                self._jobs.setdefault(id(target.node), registrar)
        return self._jobs

    def job_registrations(self) -> list[tuple[FunctionInfo, FunctionInfo | None]]:
        """(job, the function whose body registers it, None at a module's top level)
        for every call-registered background job (`scheduler.add_job(sync, ...)`)."""
        return [(target, where) for _, target, where, _call in self._call_registrations()]

    def job_registration_calls(self) -> list[tuple[str, FunctionInfo, FunctionInfo | None,
                                                   cst.Call]]:
        """(how, job, the function whose body registers it, the registering call) for
        every call-registered background job (`Thread(target=sync)`)."""
        return list(self._call_registrations())

    def _call_registrations(self) -> list[tuple[str, FunctionInfo, FunctionInfo | None,
                                                cst.Call]]:
        if self._registrations is None:
            self._registrations = []
            for reg in JOB_REGISTRARS:
                if reg.decorator:
                    continue
                for site in self.call_sites(reg.name):
                    target = self._registered(reg, site)
                    if target is not None:
                        self._registrations.append((reg.name, target, site.func, site.call))
        return self._registrations

    def _decorated_job(self, f: FunctionInfo) -> str | None:
        for deco in f.node.decorators:
            target = decorator_target(deco)
            for reg in JOB_REGISTRARS:
                if not reg.decorator:
                    continue
                if reg.owner_types and isinstance(target, cst.Attribute) and (
                        target.attr.value == reg.name):
                    owner = instance_value(self.index, target.value, f.module, f.parent)
                    if instance_type(owner, reg.owner_types):
                        return f"@{dotted_name(target) or reg.name}"
                if reg.callee:
                    qual = external_name(self.index, target, f.module, f.parent)
                    if qual is not None and qual_match(qual, reg.callee):
                        return f"@{reg.name}"
        return None

    def _registered(self, reg: object, site: CallSite) -> FunctionInfo | None:
        from poolsafe.knowledge.frameworks import JobRegistrar

        assert isinstance(reg, JobRegistrar)
        call = site.call
        if reg.owner_types:
            if not isinstance(call.func, cst.Attribute):
                return None
            owner = instance_value(self.index, call.func.value, site.module, site.func)
            # (or a scheduler the registering function is handed: `def jobs(scheduler):
            # scheduler.add_job(...)`, called with `BlockingScheduler()`)
            if not instance_type(owner, reg.owner_types) and not handed_instance(
                    self.index, call.func.value, site.module, site.func, reg.owner_types):
                return None
        else:
            qual = external_name(self.index, call.func, site.module, site.func)
            if qual is None or not qual_match(qual, reg.callee):
                return None
        arg = keyword_arg(call, reg.keyword) if reg.keyword else None
        if arg is None and reg.position is not None:
            args = positional_args(call)
            arg = args[reg.position] if len(args) > reg.position else None
        if arg is None:
            return None
        value = self.index.evaluate(arg, site.module, site.func)
        return value.func if isinstance(value, FunctionRef) else None

    # Flask ----------------------------------------------------------------
    def uses_flask(self) -> bool:
        if self._flask is None:
            # (a module that imports flask by its name is tried first: on a Flask
            # project one module is parsed, not every one that spells the word)
            self._flask = self.index.any_module(
                word_pattern(["flask"]), lambda m: _imports_root(m, "flask"),
                likely=_IMPORTS_FLASK)
        return self._flask

    def served_by_flask(self, module: ModuleInfo) -> bool:
        """Whether `module` may serve Flask requests: False only when no module that
        builds a `Flask(...)` app imports it (directly or through other modules) while
        another program does (a module that builds a `Celery(...)` app, a script with
        a `__main__` block): a worker's or a script's module. Nothing certain (no app
        visible, or nobody imports it): True."""
        if self._program_reach is None:
            from poolsafe.analysis.deploy_files import project_files
            from poolsafe.analysis.entry_points import ImportGraph

            graph = ImportGraph(self.index, project_files(self.index, module).root)
            with self.index.full_resolution():
                # every file, parsed or not: a program's script that touches no
                # database itself (a socket server importing the modules that do) is
                # one the prefilter leaves out, and still the program
                apps = [(p, src) for p, src in self.index.files_matching(_FLASK_APP)
                        if not is_test_path(graph.relative(p))]
                app_paths = {p for p, _ in apps}
                others = [(p, src) for p, src in self.index.files_matching(_OTHER_PROGRAM)
                          if not is_test_path(graph.relative(p)) and p not in app_paths]
            self._program_reach = (frozenset(graph.reach_files(apps)),
                                   frozenset(graph.reach_files(others)))
        flask, other = self._program_reach
        return module.abspath in flask or module.abspath not in other

    def builds_engines(self) -> bool:
        """Some module of the project calls `create_engine` / `create_async_engine`."""
        if self._builds_engines is None:
            with self.index.full_resolution():
                self._builds_engines = bool(self.index.modules_calling(
                    ["create_engine", "create_async_engine"]))
        return self._builds_engines

    def builds_sqlite_only(self) -> bool:
        """Every engine the project's own code builds (`create_engine` /
        `create_async_engine`, outside its tests and its Alembic migrations) is given
        a URL whose dialect is `sqlite` (`sqlite:///app.db`,
        `f"sqlite+aiosqlite:///{DB_PATH}"`, also through a module constant; or an
        async engine whose URL is hidden in a project declaring only aiosqlite,
        `declared_sqlite_engine`), with no `isolation_level` of its own, and there is
        at least one; no module builds an
        engine another way (Flask-SQLAlchemy, `engine_from_config`,
        fastapi-sqlalchemy's middleware) or hooks SQLAlchemy's `"begin"` event (the
        recipe that sends `BEGIN` itself). pysqlite and aiosqlite then run in the
        `sqlite3` module's default mode: a transaction begins only before an INSERT,
        UPDATE, DELETE or REPLACE."""
        if self._sqlite_only is None:
            with self.index.full_resolution():
                self._sqlite_only = _builds_sqlite_only(self.index)
        return self._sqlite_only

    def loads_flask_config(self) -> bool:
        """Some module of the project loads a Flask configuration from an object or a
        file (`app.config.from_object(...)`, `from_pyfile`, `from_envvar`, `from_file`):
        without such a call, a config class or module configures no app."""
        from poolsafe.knowledge.frameworks import FLASK_CONFIG_LOAD_METHODS

        if self._loads_flask_config is None:
            with self.index.full_resolution():
                self._loads_flask_config = bool(self.index.modules_calling(
                    sorted(FLASK_CONFIG_LOAD_METHODS)))
        return self._loads_flask_config

    def writes_flask_uri(self) -> bool:
        """Some module sets `SQLALCHEMY_DATABASE_URI` on an app's config itself
        (`app.config["SQLALCHEMY_DATABASE_URI"] = ...`, `app.config.update(...)`)."""
        if self._writes_flask_uri is None:
            with self.index.full_resolution():
                self._writes_flask_uri = bool(self.index.modules_matching(_WRITES_FLASK_URI))
        return self._writes_flask_uri

    def uses_flask_sqlalchemy(self) -> bool:
        """Some module of the project imports Flask-SQLAlchemy: without it, a
        `SQLALCHEMY_DATABASE_URI` constant configures no engine."""
        if self._flask_sqlalchemy is None:
            with self.index.full_resolution():
                self._flask_sqlalchemy = self.index.any_module(
                    word_pattern(["flask_sqlalchemy", "ext"]),
                    lambda m: (_imports_root(m, "flask_sqlalchemy")
                               or _imports_root(m, "flask.ext")),
                    likely=_IMPORTS_FLASK_SQLALCHEMY)
        return self._flask_sqlalchemy

    def app_uses_flask_sqlalchemy(self) -> bool:
        """Some module of the project outside its tests imports Flask-SQLAlchemy (a
        test's own app, built from a test configuration, is the test's)."""
        if self._app_flask_sqlalchemy is None:
            with self.index.full_resolution():
                self._app_flask_sqlalchemy = self.index.any_module(
                    word_pattern(["flask_sqlalchemy", "ext"]),
                    lambda m: not is_test_module(m) and (
                        _imports_root(m, "flask_sqlalchemy") or _imports_root(m, "flask.ext")),
                    likely=_IMPORTS_FLASK_SQLALCHEMY)
        return self._app_flask_sqlalchemy

    def loads_config_mapping(self) -> bool:
        """Some module loads a Flask configuration from an object, a file or a mapping
        (`loads_flask_config`, or `app.config.from_mapping(settings.model_dump())`)."""
        if self._loads_config_mapping is None:
            with self.index.full_resolution():
                self._loads_config_mapping = self.loads_flask_config() or bool(
                    self.index.modules_calling(["from_mapping"]))
        return self._loads_config_mapping

    def teardowns(self) -> list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]]:
        """Bodies of the functions Flask runs at the end of a request or app context."""
        if self._teardowns is None:
            found: list[tuple[cst.CSTNode, ModuleInfo, FunctionInfo | None]] = []
            for m in self.index.modules_mentioning(FLASK_TEARDOWN_METHODS):
                for f in m.all_functions:
                    for deco in f.node.decorators:
                        target = decorator_target(deco)
                        if (isinstance(target, cst.Attribute)
                                and target.attr.value in FLASK_TEARDOWN_METHODS
                                and _flask_or_unknown(self.index, target.value, m, f.parent)):
                            found.append((f.node.body, m, f))
            for method in FLASK_TEARDOWN_METHODS:
                for site in self.call_sites(method):
                    callee = site.call.func
                    args = positional_args(site.call)
                    if not (isinstance(callee, cst.Attribute) and args and _flask_or_unknown(
                            self.index, callee.value, site.module, site.func)):
                        continue
                    handler = args[0]
                    if isinstance(handler, cst.Lambda):
                        found.append((handler.body, site.module, site.func))
                        continue
                    value = self.index.evaluate(handler, site.module, site.func)
                    if isinstance(value, FunctionRef):
                        found.append((value.func.node.body, value.func.module, value.func))
            self._teardowns = found
        return self._teardowns

    def global_pre_ping(self) -> bool:
        """Some `SQLAlchemy(engine_options=...)` in the project turns pre-ping on, or the
        option hook of a project subclass of `SQLAlchemy` does (`apply_pool_defaults`
        setting `options["pool_pre_ping"] = True`)."""
        if self._global_pre_ping is None:
            self._global_pre_ping = False
            for m in self.index.modules_mentioning([FLASK_SQLALCHEMY_OPTIONS_KEYWORD]):
                for _call, opts in flask_sqlalchemy_constructors(self.index, m):
                    o = mapping_options(self.index, opts.expr, opts.module, opts.func)
                    pp = o.values.get("pool_pre_ping") if o else None
                    if pp is not None and not is_false(pp.expr):
                        self._global_pre_ping = True
            # a project subclass of `SQLAlchemy` whose option hook sets it for every engine
            if not self._global_pre_ping:
                self._global_pre_ping = any(
                    flask_sqlalchemy_hook_sets(self.index, m, "pool_pre_ping")
                    for m in self.index.modules_mentioning(FLASK_SQLALCHEMY_OPTION_HOOKS))
        return self._global_pre_ping

    # request handlers -----------------------------------------------------
    def request_only(self, func: FunctionInfo, depth: int = 0) -> bool:
        """Every call of `func` in the project is in a request handler, or in a
        function that only request handlers call."""
        key = id(func.node)
        known = held(self._request_only, key, func.node)
        if known is not None:
            return known[1]
        # cycles and depth: not known to be request-only
        self._request_only[key] = (func.node, False)
        if depth > 6:
            return False
        sites = self.callers(func)
        # a FastAPI dependency (`Depends(get_db)`, also in a dependency class's
        # `__init__`) is called by the framework for every request that needs it
        dependency = id(func.node) in self.index.dependency_functions()
        result = (bool(sites) or dependency) and all(
            s.func is not None and (request_handler(self.index, s.func) is not None
                                    or request_hook(self.index, s.func)
                                    or self.request_only(s.func, depth + 1)
                                    or self._handler_wrapper(s.func)
                                    or self._form_validator(s.func))
            for s in sites
        )
        self._request_only[key] = (func.node, result)
        return result

    def _form_validator(self, func: FunctionInfo) -> bool:
        """`__call__(self, form, field)` of a WTForms validator class that the project
        builds only in a field's `validators=[...]` (in a module that imports WTForms):
        WTForms calls it while a route validates the form, so once per request."""
        cls = func.cls
        if cls is None or func.name != "__call__" or len(func.node.params.params) != 3:
            return False
        sites = [s for s in self.call_sites(cls.name) if not is_test_module(s.module)]
        if not sites:
            return False
        for site in sites:
            callee = self.index.evaluate(site.call.func, site.module, site.func)
            if not (isinstance(callee, ClassRef) and callee.cls is cls):
                return False
            if not any(q.split(".", 1)[0] in _WTFORMS_ROOTS
                       for q in site.module.imports.values()):
                return False
            if id(site.call) not in _validator_list_calls(site.module.tree):
                return False
        return True

    def _handler_wrapper(self, func: FunctionInfo) -> bool:
        """The inner function of a decorator (`def admin_required(f): def wrap(*a,
        **kw): ...; return wrap`) that the project applies, as a bare `@decorator`,
        only to request handlers (or nowhere) and never calls by hand: the wrapper
        runs in their requests, so what it calls runs per request."""
        deco = func.parent
        if deco is None or deco.parent is not None or deco.cls is not None \
                or not any(isinstance(r.value, cst.Name) and r.value.value == func.name
                           for r in deco.returns) \
                or self.callers(deco):
            return False
        uses: list[FunctionInfo] = []
        for m in self.index.modules_mentioning([deco.name]):
            for f in m.all_functions:
                for d in f.node.decorators:
                    target = d.decorator
                    if isinstance(target, cst.Call):
                        continue
                    value = self.index.evaluate(target, f.module, f.parent)
                    if isinstance(value, FunctionRef) and value.func is deco:
                        uses.append(f)
                    elif value is None and final_name(target) == deco.name:
                        # a decorator of that name whose origin is not known (a star
                        # import of a module that is not in the project): it may be
                        # this one, applied to a function that is no handler
                        return False
        if not all(request_handler(self.index, f) is not None for f in uses):
            return False
        # a file the analysis does not read (the prefilter left it out: it imports the
        # decorator through a star import of a module that is not in the project)
        # may apply a decorator of that name to a function that is no handler
        # (a decorator the project never applies runs nowhere: its wrapper is no caller)
        return not self.index.unread_files_match(re.compile(
            rb"^[ \t]*@[ \t]*(?:[A-Za-z_][A-Za-z0-9_.]*\.)?" + re.escape(deco.name.encode())
            + rb"\b", re.M))


#: the attribute of an index that holds its facts: on the index, not in a table
#: keyed by it (a `WeakKeyDictionary` whose values point back at their key keeps
#: every index, and every tree it parsed, alive for the rest of the process)
_FACTS = "_poolsafe_facts"


#: other ways a project builds its SQLAlchemy engine, or the hook that makes pysqlite
#: send BEGIN before reads (`builds_sqlite_only`)
_OTHER_ENGINE_SOURCES = re.compile(
    rb"\bflask_sqlalchemy\b|\bengine_from_config\b|\bfastapi_sqlalchemy\b"
    rb"|\bDBSessionMiddleware\b|listens_for\([^)]*['\"]begin['\"]")


#: the word every SQLite URL holds (`sqlite:///`, `sqlite+aiosqlite://`), or the async
#: engine call whose hidden URL a project declaring only aiosqlite makes SQLite's
_SQLITE_WORD = re.compile(rb"sqlite|create_async_engine")


def _builds_sqlite_only(index: ProjectIndex) -> bool:
    from poolsafe.analysis.engines import declared_sqlite_engine, engine_calls, engine_url
    from poolsafe.analysis.resolution import dialect_of, string_prefix

    # no module spells "sqlite" nor builds an async engine (whose hidden URL the
    # declared drivers may show to be SQLite's): no engine's URL can name it (a check
    # of one file then parses none of the project's engine modules for it; nor those
    # that spell it, where their kept summaries tell that they parse:
    # `module_paths_matching` is `modules_matching`'s list of places, recorded alike)
    if not index.module_paths_matching(_SQLITE_WORD):
        return False
    # a test's engine, and an Alembic environment's or revision's (`engine_from_config`
    # in `env.py`), serve no session of the application
    if any(not is_test_module(m) and not _migration_module(m)
           for m in index.modules_matching(_OTHER_ENGINE_SOURCES)):
        return False
    seen = False
    for module in index.modules_calling(["create_engine", "create_async_engine"]):
        if is_test_module(module) or _migration_module(module):
            continue
        for site in engine_calls(index, module):
            url = engine_url(site.call)
            if url is None or keyword_arg(site.call, "isolation_level") is not None:
                return False
            dialect = dialect_of(string_prefix(index, url, module, site.func))
            if dialect is None and declared_sqlite_engine(index, module, site):
                dialect = "sqlite"
            if dialect != "sqlite":
                return False
            seen = True
    return seen


def facts(index: ProjectIndex) -> ProjectFacts:
    return index.derived(_FACTS, lambda: ProjectFacts(index))


def _project_callers_of(index: ProjectIndex, func: FunctionInfo) -> list[CallerSite]:
    return list(facts(index).project_callers(func))


ProjectIndex.project_callers_of = _project_callers_of


def _project_calls_named(index: ProjectIndex, name: str) -> list[CallerSite]:
    return [s for s in facts(index).call_sites(name) if not is_test_module(s.module)]


ProjectIndex.project_calls_named = _project_calls_named


def _flask_or_unknown(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                      func: FunctionInfo | None) -> bool:
    value = instance_value(index, expr, module, func)
    return value is None or instance_type(value, FLASK_APP_TYPES)


def instance_value(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                   func: FunctionInfo | None) -> Value | None:
    """What `expr` is, also through a project factory that returns a library instance
    (`app = create_app()`, `celery = make_celery(app)`)."""
    value = index.evaluate(expr, module, func)
    if value is not None:
        return value
    b = resolve(index, strip_await(expr)[0], module, func)
    node = strip_await(b.expr)[0]
    if isinstance(node, cst.Call):
        callee = index.evaluate(node.func, b.module, b.func)
        if isinstance(callee, FunctionRef):
            return returned_instance(index, callee.func)
    return None


#: how many callers up a parameter is followed
_MAX_HANDED_HOPS = 3


def handed_instance(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                    func: FunctionInfo | None, pairs: Pairs, hops: int = 0) -> bool:
    """`expr` is a parameter of `func` every project call of which passes an instance
    of one of `pairs`.

    A project often builds its scheduler where it starts it and keeps the job list in a
    helper (`def register_jobs(scheduler): scheduler.add_job(sync, ...)`, called as
    `register_jobs(BlockingScheduler())` from a management command). `expr` is a plain
    parameter of `func` (not rebound in it) and every call of `func` the project makes
    (at least one, none that leaves the parameter out or passes it through `*args` or
    `**kwargs`) passes such an instance, read at the caller (`instance_value`: the
    constructor, a local bound to one, a project factory returning one), or the
    caller's own parameter handed on the same way (a few calls deep)."""
    if func is None or hops > _MAX_HANDED_HOPS or not isinstance(expr, cst.Name):
        return False
    name = expr.value
    if name in func.locals or name in func.globals_declared:
        return False  # rebound in the function
    params = func.param_names()
    if name not in params:
        return False
    position = params.index(name)
    sites = facts(index).project_callers(func)
    if not sites:
        return False
    for site in sites:
        arg = argument_for(site.call, name, position)
        if arg is None:
            return False
        if instance_type(instance_value(index, arg, site.module, site.func), pairs):
            continue
        if not handed_instance(index, arg, site.module, site.func, pairs, hops + 1):
            return False
    return True


def returned_instance(index: ProjectIndex, func: FunctionInfo) -> ExternalInstance | None:
    """The library instance a project function returns (`create_app()` -> Flask)."""
    from poolsafe.analysis.cstutil import iter_nodes

    for node in iter_nodes(func.node.body):
        if isinstance(node, cst.Return) and node.value is not None:
            value = index.evaluate(node.value, func.module, func)
            if isinstance(value, ExternalInstance):
                return value
    return None


# ------------------------------------------------------------ request handlers
def request_handler(index: ProjectIndex, func: FunctionInfo) -> str | None:
    """'fastapi', 'flask' or 'django' when `func` handles HTTP requests."""
    fw = route_framework(index, func)
    if fw is not None:
        return fw
    if func.parent is not None:
        return None
    if func.cls is not None:
        if func.name in VIEW_HANDLER_METHODS:
            found = view_class_framework(index, func.cls)
            if found is not None:
                return found
        return "flask" if _classful_route(index, func) or _self_routed_method(index, func) \
            else None
    if _django_decorated(index, func):
        return "django"
    params = func.param_names()
    if not params or params[0] != "request":
        return None
    m = func.module
    if not m.names:
        return None
    parts = m.names[0].split(".")
    in_views = parts[-1] in DJANGO_VIEW_MODULES or (
        m.is_package is False and len(parts) > 1 and parts[-2] in DJANGO_VIEW_MODULES)
    if in_views and any(root_matches(q, r) for q in m.imports.values() for r in DJANGO_ROOTS):
        return "django"
    return None


#: what a method's decorators say it is not: a function the class's instances call
_NOT_ROUTE_DECORATORS = frozenset({"staticmethod", "classmethod", "property"})


def _classful_route(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is a public method of a Flask-Classful `FlaskView` subclass, which
    `register(app)` routes (`ROUTE_EVERY_METHOD_ROOTS`): no leading underscore, not a
    `before_*` / `after_*` hook, not named in the class's `excluded_methods`, and no
    static or class method or property."""
    name = func.name
    if func.cls is None or name.startswith(("_", "before_", "after_")):
        return False
    if any(isinstance(target := decorator_target(d), cst.Name)
           and target.value in _NOT_ROUTE_DECORATORS for d in func.node.decorators):
        return False
    if derived_root(index, func.cls, ROUTE_EVERY_METHOD_ROOTS) is None:
        return False
    return not _excluded_by_class(func.cls, name)


#: how many project base classes `_self_routed_method` climbs
_MAX_ROUTING_BASES = 4


def _self_routed_method(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` is a public method (no leading underscore; no static or class method or
    property) of a subclass of a project class that subclasses Flask's `Blueprint`
    and routes its own instance's methods in one of its methods (its constructor):
    `self.add_url_rule(url, name, view_func=getattr(self, name))`, or a name bound to
    `getattr(self, ...)`, in a `for` loop. Flask calls such a bound method for every
    request to its URL, so it is a view; the routing class's own methods (its hooks
    and helpers) are not taken for routed ones."""
    cls = func.cls
    if cls is None or func.name.startswith("_") or any(
            isinstance(target := decorator_target(d), cst.Name)
            and target.value in _NOT_ROUTE_DECORATORS for d in func.node.decorators):
        return False
    seen: list[ClassInfo] = []
    frontier = [cls]
    for _ in range(_MAX_ROUTING_BASES):
        nxt: list[ClassInfo] = []
        for c in frontier:
            for _, value in class_bases(index, c):
                if isinstance(value, ClassRef) and all(value.cls is not s for s in seen):
                    seen.append(value.cls)
                    nxt.append(value.cls)
        frontier = nxt
    return any(base is not cls and func.name not in base.methods
               and derived_root(index, base, ("flask.Blueprint",)) is not None
               and _routes_own_methods(base) for base in seen)


def _routes_own_methods(cls: ClassInfo) -> bool:
    """A method of `cls` calls `self.add_url_rule(..., view_func=V)` in a `for` loop,
    where V is `getattr(self, ...)` or a name the loop binds to it."""
    for method in cls.methods.values():
        for loop in iter_nodes(method.node.body):
            if not isinstance(loop, cst.For):
                continue
            bound = {t.target.value for n in iter_nodes(loop.body) if isinstance(n, cst.Assign)
                     and _getattr_self(n.value) for t in n.targets
                     if isinstance(t.target, cst.Name)}
            for call in iter_nodes(loop.body):
                if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                        and call.func.attr.value == "add_url_rule"
                        and isinstance(call.func.value, cst.Name)
                        and call.func.value.value == "self"):
                    continue
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value == "view_func" and (
                            _getattr_self(arg.value) or (isinstance(arg.value, cst.Name)
                                                         and arg.value.value in bound)):
                        return True
    return False


def _getattr_self(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
            and value.func.value == "getattr" and bool(value.args)
            and isinstance(value.args[0].value, cst.Name)
            and value.args[0].value.value == "self")


def _excluded_by_class(cls: ClassInfo, name: str) -> bool:
    """`name` appears as a string in the class's `excluded_methods = [...]`."""
    for stmt in cls.node.body.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == "excluded_methods"
                    for t in small.targets):
                return any(isinstance(n, cst.SimpleString) and n.evaluated_value == name
                           for n in iter_nodes(small.value))
    return False


def request_hook(index: ProjectIndex, func: FunctionInfo) -> bool:
    """`func` runs at the start of every request without being a route: a Flask
    `@app.before_request` / `@bp.before_app_request` function (or one its module
    registers with `app.before_request(func)`), a FastAPI or
    Starlette `@app.middleware("http")` function, or the `dispatch` method of a
    `BaseHTTPMiddleware` subclass."""
    if func.parent is not None:
        return False
    if func.cls is not None:
        return func.name == "dispatch" and any(
            root_matches(q, root) and q.rsplit(".", 1)[-1] == name
            for q in library_bases(index, func.cls) for root, name in REQUEST_MIDDLEWARE_BASES)
    for deco in func.node.decorators:
        expr = deco.decorator
        target = expr.func if isinstance(expr, cst.Call) else expr
        if not isinstance(target, cst.Attribute) or target.attr.value not in REQUEST_HOOK_METHODS:
            continue
        owner = index.evaluate(target.value, func.module, None)
        if not isinstance(owner, ExternalInstance):
            continue
        types = REQUEST_HOOK_METHODS[target.attr.value]
        if any(root_matches(owner.qualname, root) and owner.qualname.rsplit(".", 1)[-1] == name
               for root, name in types):
            return True
    return func.cls is None and any(
        _registers_request_hook(index, call, scope, func) for call, scope in func.module.calls)


def _registers_request_hook(index: ProjectIndex, call: cst.Call, scope: FunctionInfo | None,
                            func: FunctionInfo) -> bool:
    """`app.before_request(open_db)` (or `bp.before_app_request(open_db)`) in the
    module that defines `open_db`, often in an `init_app(app)`: the call form of the
    decorator. The receiver must be a Flask application or blueprint, or an object
    the analysis cannot type (an unannotated `app` parameter): only Flask's API
    spells these methods."""
    callee = call.func
    if not isinstance(callee, cst.Attribute) \
            or callee.attr.value not in ("before_request", "before_app_request"):
        return False
    args = [a.value for a in call.args if a.keyword is None and a.star == ""]
    if len(args) != 1 or len(call.args) != 1 or not isinstance(args[0], cst.Name) \
            or args[0].value != func.name:
        return False
    owner = index.evaluate(callee.value, func.module, scope)
    if owner is None:
        return True
    return isinstance(owner, ExternalInstance) and any(
        root_matches(owner.qualname, root) and owner.qualname.rsplit(".", 1)[-1] == name
        for root, name in REQUEST_HOOK_METHODS[callee.attr.value])


def _django_decorated(index: ProjectIndex, func: FunctionInfo) -> bool:
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, None)
        if qual is not None and qual_match(qual, DJANGO_VIEW_DECORATORS):
            return True
    return False


#: how many once-run callers up `is_cli_entry` follows (`__main__` -> main() -> init_db()):
#: a server's start-up runs deeper than three calls below its entry point (a click
#: command -> run_server() -> create_app() -> init_storage() -> ensure_database());
#: each level is asked only while every caller so far runs once, so a function a
#: request handler calls stops the walk at its first caller
_MAX_ONCE_DEPTH = 6


#: `is_cli_entry`'s answers in one index, by resolution level, function and depth
_ONCE_MEMO = "_poolsafe_once_memo"


def is_cli_entry(index: ProjectIndex, func: FunctionInfo, depth: int = 0) -> bool:
    """`once_per_process(index, func, depth)`, asked once per function, depth and
    resolution level in an index: the walk up a function's callers asks the same
    functions again (mlflow's `init_db()` from each engine helper it calls), and
    each answer parses and walks the callers' modules."""
    memo: dict[tuple[int, int], tuple[cst.FunctionDef, bool]] = index.derived(
        f"{_ONCE_MEMO}:{index.resolution_level}", dict)
    key = (id(func.node), depth)
    known = memo.get(key)
    if known is not None and known[0] is func.node:
        return known[1]
    # (the node is kept with its answer: no other node can take its id meanwhile)
    answer = once_per_process(index, func, depth)
    memo[key] = (func.node, answer)
    return answer


def once_per_process(index: ProjectIndex, func: FunctionInfo, depth: int = 0) -> bool:
    """Code that runs once per process ("one-shot"), the one notion every rule asks:
    a click/typer command (or a cappa command class's `__call__`), an argparse
    subcommand's handler (`sub.set_defaults(func=vacuum)`) or an argh command
    (`parser.add_commands([vacuum])`, `argh.dispatch_commands([vacuum])`), or a function called only
    from module-level code
    (`if __name__ == "__main__": main()`) or only from such functions; a Django
    management command's `handle()` (unless project code outside the tests runs the
    command by name, `call_command("sync")`, from code that runs more than once);
    `initialize()` and `start()` of a traitlets `Application` subclass (JupyterHub's
    app and its subcommands), and the set-up
    hooks of a Jupyter server extension's `ExtensionApp` (`initialize_settings()`,
    `initialize_handlers()`, `initialize_templates()`); a function that parses the
    process's command line (`parser.parse_args()` with no argument list, outside
    loops, in a module that imports argparse: `RalseiCli.run()`), whose calls in the
    project, if any, are one-shot too; a function of an
    Alembic environment or migration script (a module that imports `alembic.context`
    or `alembic.op`); an Airflow task callable (`@task`, or handed to an operator as
    `python_callable=`), which the task runner calls once per task instance in a
    process of its own (a direct call of it elsewhere in the project must be
    one-shot too); a Prefect `@flow` or `@task` that no task worker serves and no flow
    maps (a flow run runs in a process of its own; its direct callers must be one-shot
    too, outside loops); a function the project's packaging names as a console script
    (`[project.scripts]`, setup.cfg's `console_scripts`) that no project code calls;
    a plain function a module-level subcommand table holds (`dispatch["component"] =
    component` at the top level, run as `dispatch[subcommand](arguments)` by one-shot
    code outside loops, the table named by no other module);
    a plain function of a script whose `__main__` block hands the module's namespace
    to a dispatcher (`_main(locals())`) and that the module names nowhere else;
    a plain function written inside the `__main__` block that the module names
    nowhere else (a manual self-test);
    a method whose every call in the project (outside tests) is in
    one-shot code (a call of a library object's method of the same name, on a
    connection, pool or library instance, is not one of its calls), or an `__init__`
    whose class is only built there (naming the class in `super(Cls, self)` or
    setting a class attribute, `Cls.queues = ...`, builds nothing)
    (`DbManage(...).create_tables()` in a CLI command, or a module-level instance:
    `users = UsersDatabase()`); a nested function that only its one-shot
    enclosing function's body calls, outside loops (`asyncio.run(do_setup())`).
    Calls from test modules are
    not counted (as for methods). A call inside a loop (`while
    True: backup()` at module level, or a loop in `main()`) runs many times, so its
    callee is not one-shot."""
    if _cli_decorated(index, func):
        return True
    if _startup_handler(func):
        return True
    if _airflow_task(index, func):
        # the worker runs it once per task instance, in a process of its own; a
        # direct call of it elsewhere in the project must be one-shot too
        return all(not _repeats(s) and (s.func is None or (
            depth < _MAX_ONCE_DEPTH and is_cli_entry(index, s.func, depth + 1)))
            for s in facts(index).callers(func) if not is_test_module(s.module))
    if _prefect_run(index, func):
        # a flow run runs it in a process of its own, once per run, unless a task worker
        # serves it or a flow maps it; its direct callers must be one-shot too
        return not _prefect_repeated(index, func) and all(
            not _repeats(s) and (s.func is None or (
                depth < _MAX_ONCE_DEPTH and is_cli_entry(index, s.func, depth + 1)))
            for s in facts(index).callers(func) if not is_test_module(s.module))
    if func.parent is None and _migration_module(func.module):
        return True
    if func.parent is None and parses_process_argv(
            index, func, lambda call: _in_loop(CallSite(call, func.module, func)),
            lambda f: _cli_decorated(index, f)):
        # it reads the process's command line: a program's entry; a call of it in the
        # project must be one-shot too
        return all(not _repeats(s) and (s.func is None or (
            depth < _MAX_ONCE_DEPTH and is_cli_entry(index, s.func, depth + 1)))
            for s in facts(index).callers(func) if not is_test_module(s.module))
    if func.parent is not None:
        # a nested function only its enclosing function's own body calls, outside
        # loops (`asyncio.run(do_setup())` in a CLI command) runs as often as it does
        return (depth < _MAX_ONCE_DEPTH and _called_once_by_parent(func)
                and is_cli_entry(index, func.parent, depth + 1))
    if func.cls is not None:
        return _method_run_once(index, func, depth)
    # the project's tests call it too, once per test: that says nothing of production
    callers = facts(index).callers(func)
    sites = [s for s in callers if not is_test_module(s.module)]
    if not sites and callers and _test_support(index, func):
        return True
    if not sites and depth < _MAX_ONCE_DEPTH and _run_from_table(index, func, depth):
        return True
    if not sites and depth < _MAX_ONCE_DEPTH and _command_table_entry(index, func, depth):
        return True
    if not sites and depth < _MAX_ONCE_DEPTH and _dispatch_dict_entry(index, func, depth):
        return True
    if not sites and func.parent is None and _console_script(index, func):
        return True
    if not callers and _unnamed_in_main_block(func):
        # `def test_connection(): ...` written inside `if __name__ == "__main__":` and
        # called nowhere: a manual self-test, run (when someone edits a call in) once
        # by the script, which then exits
        return True
    if not sites and dispatched_by_name(func):
        # `if __name__ == "__main__": _main(locals())`: run by its command-line name
        return True
    if id(func.node) in _argparse_subcommands(index):
        # `sub.set_defaults(func=vacuum)`: `args.func(args)` runs it once per process;
        # a direct call elsewhere must be one-shot too
        return all(not _repeats(s) and (s.func is None or (
            depth < _MAX_ONCE_DEPTH and is_cli_entry(index, s.func, depth + 1)))
            for s in sites)
    return bool(sites) and all(
        not _repeats(s) and (s.func is None or (depth < _MAX_ONCE_DEPTH and is_cli_entry(
            index, s.func, depth + 1)))
        for s in sites)


def _test_support(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A plain function that only test modules call and that its own module never
    names: a set-up or tear-down step the tests' fixtures run (`init_db.py`'s
    `teardown_db()` called from `conftest.py`, a model module's `drop_tables()` a
    test's `tearDown()` calls), once per test, never by a production process. Its
    module is a script (an `if __name__ == "__main__":` block) that no project
    module outside the tests imports, or a module that production modules import
    without naming the function (no `from model import drop_tables`, no
    `model.drop_tables`, no star import): the production code never reaches it.
    (The caller checks that only tests call it.)"""
    module = func.module
    if func.node.decorators or is_test_module(module):
        return False
    if any(isinstance(n, cst.Name) and n.value == func.name
           for n in iter_nodes(module.tree) if n is not func.node.name):
        return False  # handed on (`atexit.register(teardown)`) or called at the top level
    production = [m for m in index.importers(module) if not is_test_module(m)]
    if not production:
        return bool(_SCRIPT.search(module.source))
    word = re.compile(rf"\b{re.escape(func.name)}\b")
    return all(not m.star_imports and not word.search(m.source) for m in production)


def _unnamed_in_main_block(func: FunctionInfo) -> bool:
    """A plain function defined in its module's `if __name__ == "__main__":` block
    (also under an `if` inside it), undecorated, whose name the module mentions nowhere
    but in its `def`: no importer can reach it (the block does not run on import), and
    nothing in the script calls it or hands it on (a manual self-test kept for editing
    a call in)."""
    if func.parent is not None or func.cls is not None or func.node.decorators:
        return False
    blocks = [st for st in func.module.tree.body
              if isinstance(st, cst.If) and is_main_test(st.test)]
    inside = False
    for block in blocks:
        stack: list[cst.CSTNode] = [block.body]
        while stack and not inside:
            node = stack.pop()
            if node is func.node:
                inside = True
            elif isinstance(node, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                stack.extend(node.body)
            elif isinstance(node, cst.If):
                stack.append(node.body)
                if node.orelse is not None:
                    stack.append(node.orelse)
            elif isinstance(node, cst.Else):
                stack.append(node.body)
    if not inside:
        return False
    return not any(isinstance(n, cst.Name) and n.value == func.name
                   for n in iter_nodes(func.module.tree) if n is not func.node.name)


def _called_once_by_parent(func: FunctionInfo) -> bool:
    """Every mention of the nested function in its enclosing function's body is a
    call of it (`do_setup()`, also inside `asyncio.run(do_setup())`) outside loops,
    comprehensions, lambdas and other nested functions; at least one."""
    assert func.parent is not None
    name = func.name
    calls = 0
    stack: list[tuple[cst.CSTNode, bool]] = [(func.parent.node.body, False)]
    while stack:
        node, looped = stack.pop()
        if node is func.node:
            continue
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            if any(isinstance(n, cst.Name) and n.value == name for n in iter_nodes(node)):
                return False
            continue
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) \
                and node.func.value == name:
            if looped:
                return False
            calls += 1
            stack.extend((a, looped) for a in node.args)
            continue
        if isinstance(node, cst.Name) and node.value == name:
            return False  # handed on, stored or called from elsewhere
        inner = looped or isinstance(node, (cst.For, cst.While, cst.ListComp, cst.SetComp,
                                            cst.DictComp, cst.GeneratorExp))
        stack.extend((child, inner) for child in node.children)
    return calls > 0


def _cli_decorated(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A click/typer command or group (`@click.command()`, `@cli.command()`, Flask's
    `@app.cli.command()`, also nested in a `register(app)` the project calls only
    with its Flask app, and a sibling `@group.command()` under it), or the
    `__call__` of a class a class-based CLI framework makes a command
    (`@cappa.command(...)`), or a module-level function a click command or group is
    built on without a decorator (`click.Command("count", callback=count)`)."""
    if func.cls is not None and func.parent is None and func.name == "__call__" and any(
            (qual := external_name(index, decorator_target(d), func.module, None)) is not None
            and qual_match(qual, CLI_CLASS_DECORATORS) for d in func.cls.node.decorators):
        return True
    if func.parent is None and func.cls is None and id(func.node) in index.derived(
            _CLICK_CALLBACKS, lambda: _find_click_callbacks(index)):
        return True
    for deco in func.node.decorators:
        target = decorator_target(deco)
        qual = external_name(index, target, func.module, None)
        if qual is not None and (qual_match(qual, CLI_DECORATORS)
                                 or qual_match(qual, CLI_PARAMETER_DECORATORS)):
            return True
        if isinstance(target, cst.Attribute) and target.attr.value in {"command", "group"}:
            with index.full_resolution():  # a group built in a module with no database code
                # a command defined inside a registering function (`def register(app):`)
                # names the group from that function's scope
                owner = instance_value(index, target.value, func.module, func.parent)
            if isinstance(owner, FunctionRef) or (
                    isinstance(owner, ExternalInstance)
                    and (any(root_matches(owner.qualname, r) for r, _ in CLI_DECORATORS)
                         or qual_match(owner.qualname, CLI_GROUP_CLASSES) is not None)):
                return True
            if isinstance(target.value, cst.Attribute) and target.value.attr.value == "cli" \
                    and _flask_app(index, target.value.value, func.module, func.parent):
                return True  # `@app.cli.command()`: Flask's own click group
            if owner is None and isinstance(target.value, cst.Name) and func.parent is not None:
                # `@tags.command()` under `@app.cli.group() def tags():`, both nested
                # (defined before it, as Python needs: no cycle to follow)
                group = target.value.value
                for f in func.module.all_functions:
                    if f is func:
                        break
                    if f.parent is func.parent and f.name == group \
                            and _cli_decorated(index, f):
                        return True
    return False


_CLICK_CALLBACKS = "_poolsafe_click_callbacks"


def _find_click_callbacks(index: ProjectIndex) -> frozenset[int]:
    """id() of the `def` of each function handed as `callback=` to a click command or
    group built by hand (`click.Command("count", callback=count)`): click runs it once
    per invocation, as it runs a decorated command."""
    out: set[int] = set()
    for module in index.modules_calling(["Command", "Group", "MultiCommand"]):
        for call, caller in module.calls:
            callback = next((a.value for a in call.args
                             if a.keyword is not None and a.keyword.value == "callback"), None)
            if callback is None:
                continue
            qual = external_name(index, call.func, module, caller)
            if qual is None or not root_matches(qual, "click") \
                    or qual.rsplit(".", 1)[-1] not in {"Command", "Group", "MultiCommand"}:
                continue
            with index.full_resolution():  # a callback another module defines
                value = index.evaluate(callback, module, caller)
            if isinstance(value, FunctionRef):
                out.add(id(value.func.node))
    return frozenset(out)


def _flask_app(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
               scope: FunctionInfo | None, depth: int = 0) -> bool:
    """`expr` is a Flask application: a `Flask(...)` instance, or a plain parameter of
    the (plain, enclosing) function `scope` for which every call of it in the project
    outside the tests passes one (`register_commands(app)` in the app factory, `app =
    Flask(__name__)`); at least one such call."""
    with index.full_resolution():
        value = instance_value(index, expr, module, scope)
    if isinstance(value, ExternalInstance):
        return qual_match(value.qualname, FLASK_APP_TYPES) is not None \
            and value.qualname.rsplit(".", 1)[-1] == "Flask"
    if value is not None or scope is None or scope.cls is not None or depth >= 3 \
            or not isinstance(expr, cst.Name) or expr.value in scope.locals:
        return False
    params = scope.param_names()
    if expr.value not in params:
        return False
    sites = facts(index).project_callers(scope)
    return bool(sites) and all(
        (arg := argument_for(s.call, expr.value, params.index(expr.value))) is not None
        and _flask_app(index, arg, s.module, s.func, depth + 1)
        for s in sites)


def cli_command(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A command that its command-line framework runs, after which the process ends
    with nothing more done: a click/typer command, an argparse subcommand's handler
    (`sub.set_defaults(func=vacuum)`), a Django management command's `handle()`.
    (Not a function merely called from `main()`: `main()` may go on.)"""
    if _cli_decorated(index, func):
        return True
    if func.cls is not None:
        return func.name == "handle" and is_django_command(index, func.cls)
    return func.parent is None and id(func.node) in _argparse_subcommands(index)


_SUBCOMMANDS = "_poolsafe_argparse_subcommands"


def _argparse_subcommands(index: ProjectIndex) -> frozenset[int]:
    """id() of the `def` of each module-level function an argparse subcommand parser
    names as its handler (`vacuum_cmd.set_defaults(func=vacuum)`, in a module that
    imports `argparse`): the program calls it once per run (`args.func(args)`); also
    each one argh registers as a command (`_ARGH_REGISTRARS`, in a module that
    imports `argh`)."""
    return index.derived(_SUBCOMMANDS, lambda: _find_argparse_handlers(index))


#: argh's calls that make functions its subcommands (`parser.add_commands([a, b])`,
#: `argh.dispatch_commands([a, b])`) or the program's one command
#: (`argh.dispatch_command(main)`, `parser.set_default_command(main)`): argh's
#: dispatch runs the chosen one once per process, as `args.func(args)` does
_ARGH_REGISTRARS = frozenset({"add_commands", "dispatch_commands", "dispatch_command",
                              "set_default_command"})


def _find_argparse_handlers(index: ProjectIndex) -> frozenset[int]:
    out: set[int] = set()
    # (also the modules the prefilter left out: a program's command-line module
    # that touches no database is no less its entry)
    for module in [*index.modules_calling(sorted(_ARGH_REGISTRARS)),
                   *index.unread_modules_matching(call_pattern(sorted(_ARGH_REGISTRARS)),
                                                  word_pattern(["argh"]))]:
        if not any(q == "argh" or q.startswith("argh.") for q in module.imports.values()):
            continue
        for call, func in module.calls:
            callee = call.func
            name = callee.attr.value if isinstance(callee, cst.Attribute) \
                else callee.value if isinstance(callee, cst.Name) else None
            if name not in _ARGH_REGISTRARS or not call.args \
                    or call.args[0].keyword is not None:
                continue
            first = call.args[0].value
            items = [e.value for e in first.elements] \
                if isinstance(first, (cst.List, cst.Tuple)) else [first]
            for item in items:
                value = index.evaluate(item, module, func)
                if isinstance(value, FunctionRef) and value.func.parent is None \
                        and value.func.cls is None:
                    out.add(id(value.func.node))
    for module in [*index.modules_calling(["set_defaults"]),
                   *index.unread_modules_matching(call_pattern(["set_defaults"]),
                                                  word_pattern(["argparse"]))]:
        if not any(q == "argparse" or q.startswith("argparse.")
                   for q in module.imports.values()):
            continue
        for call, func in module.calls:
            if not (isinstance(call.func, cst.Attribute)
                    and call.func.attr.value == "set_defaults"):
                continue
            for arg in call.args:
                if arg.keyword is None:
                    continue
                value = index.evaluate(arg.value, module, func)
                if not isinstance(value, FunctionRef) and isinstance(
                        arg.value, (cst.Name, cst.Attribute)):
                    # a handler in a module the prefilter left out (it only calls a
                    # class of another module: `scripts.create_bigquery`, re-exported
                    # by the package): read it to know what the name is
                    with index.full_resolution():
                        value = index.evaluate(arg.value, module, func)
                if isinstance(value, FunctionRef) and value.func.parent is None \
                        and value.func.cls is None:
                    out.add(id(value.func.node))
    return frozenset(out)


_AIRFLOW_CALLABLES = "_poolsafe_airflow_callables"


def _console_script(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A module-level function the project's packaging names as a console script
    (`[project.scripts] tool = "pkg.cli:main"`, setup.cfg's `console_scripts`, a
    `setup.py`'s `setup(entry_points={"console_scripts": [...]})`), directly or
    through a package that re-exports it (`pkg.database:ingest_all`, the package's
    `__init__` doing `from .ingest import *`): the command runs it once per
    invocation. (The caller checks that no project code calls it.)"""
    from poolsafe.analysis.deploy_files import project_files

    if func.cls is not None:
        return False
    refs = project_files(index, func.module).console_callables()
    if any(f"{name}:{func.name}" in refs for name in func.module.names):
        return True
    # `cm_ingest = pkg.database:ingest_all` where `pkg/database/__init__.py` re-exports
    # the function (`from .ingest import *`): the name resolves to this `def`
    for ref in refs:
        module, _, name = ref.partition(":")
        if name == func.name and "." not in name:
            value = index.resolve_qualname(f"{module}.{name}", func.module)
            if isinstance(value, FunctionRef) and value.func is func:
                return True
    return False


def _airflow_task(index: ProjectIndex, func: FunctionInfo) -> bool:
    """An Airflow task callable: a function decorated with `@task` (`@task()`,
    `@task.branch`, ...) of `airflow.decorators` / `airflow.sdk`, or one an operator
    is handed as `python_callable=` in a module that imports Airflow
    (`PythonOperator(task_id="load", python_callable=load)`). The task runner calls
    it once per task instance, in a process of its own."""
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, func.parent)
        if qual is not None and qual.startswith(AIRFLOW_TASK_DECORATORS):
            return True
    return id(func.node) in index.derived(_AIRFLOW_CALLABLES,
                                          lambda: _find_airflow_callables(index))


_PREFECT_REPEATED = "_poolsafe_prefect_repeated"


def _prefect_run(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A Prefect flow or task: a module-level function decorated with Prefect's `@flow`
    or `@task` (`@task(cache_policy=NONE)`)."""
    if func.cls is not None or func.parent is not None:
        return False
    for deco in func.node.decorators:
        qual = external_name(index, decorator_target(deco), func.module, func.parent)
        if qual in PREFECT_RUN_DECORATORS:
            return True
    return False


def _prefect_repeated(index: ProjectIndex, func: FunctionInfo) -> bool:
    """A Prefect task the project runs many times in one process: served by a task
    worker (`load.serve()`, `prefect.task_worker.serve(load)`, submitted with
    `load.delay(...)`) or mapped over inputs (`load.map(items)`)."""
    return id(func.node) in index.derived(_PREFECT_REPEATED,
                                          lambda: _find_prefect_repeated(index))


def _find_prefect_repeated(index: ProjectIndex) -> frozenset[int]:
    out: set[int] = set()
    pattern = re.compile(rb"\b(?:serve|delay|map)\s*\(")
    for module in index.modules_matching(pattern):
        if not any(root_matches(q, "prefect") for q in module.imports.values()):
            continue
        for call, caller in module.calls:
            handed: list[cst.BaseExpression] = []
            if isinstance(call.func, cst.Attribute) \
                    and call.func.attr.value in PREFECT_REPEATING_METHODS:
                handed.append(call.func.value)
            elif external_name(index, call.func, module, caller) == PREFECT_TASK_WORKER_SERVE:
                handed.extend(arg.value for arg in call.args if arg.keyword is None)
            for expr in handed:
                with index.full_resolution():  # a task another module defines
                    value = index.evaluate(expr, module, caller)
                if isinstance(value, FunctionRef):
                    out.add(id(value.func.node))
    return frozenset(out)


def _find_airflow_callables(index: ProjectIndex) -> frozenset[int]:
    out: set[int] = set()
    pattern = re.compile(rb"\b" + AIRFLOW_CALLABLE_KEYWORD.encode() + rb"\s*=")
    for module in index.modules_matching(pattern):
        if not any(root_matches(q, "airflow") for q in module.imports.values()):
            continue
        for call, caller in module.calls:
            for arg in call.args:
                if arg.keyword is None or arg.keyword.value != AIRFLOW_CALLABLE_KEYWORD:
                    continue
                with index.full_resolution():  # a callable another module defines
                    value = index.evaluate(arg.value, module, caller)
                if isinstance(value, FunctionRef):
                    out.add(id(value.func.node))
                elif isinstance(arg.value, cst.Name):
                    # `load = PythonOperator(python_callable=load)` rebinds the name
                    # the callable had: the `def` of that name in the same scope
                    out.update(id(f.node) for f in module.all_functions
                               if f.name == arg.value.value and f.cls is None
                               and f.parent is caller)
    return frozenset(out)


def _derives_from(index: ProjectIndex, cls: ClassInfo, bases: frozenset[tuple[str, str]],
                  depth: int = 0) -> bool:
    """`cls` subclasses one of the library classes `bases`, directly or through
    project classes."""
    for base in cls.node.bases:
        value = index.evaluate(base.value, cls.module, None)
        if isinstance(value, External) and qual_match(value.qualname, bases):
            return True
        if isinstance(value, ClassRef) and depth < MAX_RESOLUTION_DEPTH and \
                _derives_from(index, value.cls, bases, depth + 1):
            return True
    return False


def is_django_command(index: ProjectIndex, cls: ClassInfo) -> bool:
    """`class Command(BaseCommand)` (or a subclass of a project class that is one)."""
    return _derives_from(index, cls, DJANGO_COMMAND_BASES)


def is_application(index: ProjectIndex, cls: ClassInfo) -> bool:
    """A subclass (directly or through project classes) of a traitlets `Application`:
    its `initialize()` and `start()` run once per process."""
    return _derives_from(index, cls, APPLICATION_BASES)


#: `import alembic.context` / `from alembic import context, op`: Alembic runs the
#: module once per migration command
_ALEMBIC_RUNTIME = frozenset({"alembic.context", "alembic.op"})


def _migration_module(module: ModuleInfo) -> bool:
    """An Alembic `env.py` or migration script: its functions run once per
    `alembic upgrade` (or the project's own migrate command), then the process ends."""
    return any(root_matches(q, r) for q in module.imports.values() for r in _ALEMBIC_RUNTIME)


def _command_called_again(index: ProjectIndex, handle: FunctionInfo, depth: int) -> bool:
    """Project code outside the tests runs this management command by name
    (`call_command("sync")`) from code that runs more than once (a view, a task, a
    loop): its `handle()` then runs once per request or job, in that process."""
    names = {parts[-1] for n in handle.module.names
             if len(parts := n.split(".")) >= 2 and parts[-2] == "commands"}
    if not names:
        return False
    for site in facts(index).call_sites("call_command"):
        if is_test_module(site.module):
            continue
        args = positional_args(site.call)
        if not args or string_value(args[0]) not in names:
            continue
        callee = index.evaluate(site.call.func, site.module, site.func)
        if not (isinstance(callee, External)
                and qual_match(callee.qualname, DJANGO_CALL_COMMAND) is not None):
            continue
        if _repeats(site) or (site.func is not None and not (
                depth < _MAX_ONCE_DEPTH and is_cli_entry(index, site.func, depth + 1))):
            return True
    return False


def command_run_again(index: ProjectIndex, func: FunctionInfo,
                      depth: int = 3) -> tuple[str, CallSite] | None:
    """The management command (its name) and the `call_command("name")` site, in
    project code that runs more than once (a Celery task, a view, a loop), that runs
    `func`: a method of the command's class (its `handle()`, or a method a base
    class's `handle()` calls on `self`), or a function one calls (up to `depth` calls
    down). None when no such command runs it."""
    seen: set[int] = set()
    todo = [(func, 0)]
    while todo:
        cur, level = todo.pop()
        if id(cur.node) in seen:
            continue
        seen.add(id(cur.node))
        if cur.cls is not None and is_django_command(index, cur.cls):
            # a method of the command's class runs when the command runs: from its
            # `handle()`, or from a base class's (`self.save_import_data(...)`)
            site = _command_site(index, cur)
            if site is not None:
                return site
            if cur.name == "handle":
                continue
        if level < depth:
            todo.extend((s.func, level + 1) for s in facts(index).callers(cur)
                        if s.func is not None and not is_test_module(s.module))
    return None


def _command_site(index: ProjectIndex, handle: FunctionInfo) -> tuple[str, CallSite] | None:
    """`_command_called_again`'s site for the command `handle` (a method of the command
    class) belongs to: the command's name and the first `call_command()` that runs
    it from code that runs more than once."""
    names = {parts[-1] for n in handle.module.names
             if len(parts := n.split(".")) >= 2 and parts[-2] == "commands"}
    for site in facts(index).call_sites("call_command"):
        if is_test_module(site.module):
            continue
        args = positional_args(site.call)
        name = string_value(args[0]) if args else None
        if name is None or name not in names:
            continue
        callee = index.evaluate(site.call.func, site.module, site.func)
        if not (isinstance(callee, External)
                and qual_match(callee.qualname, DJANGO_CALL_COMMAND) is not None):
            continue
        if _repeats(site) or (site.func is not None and not is_cli_entry(index, site.func, 1)):
            return name, site
    return None


def _method_run_once(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """A Django management command's `handle()`; or a method every call of whose name
    in the project (test modules aside) is a call of this very method, made once
    (not in a loop) from one-shot code. `__init__` counts the calls that build its
    class. A name also used another way (`self.create_tables` passed as a callback)
    or a call the index cannot resolve to this method makes it not one-shot."""
    cls = func.cls
    assert cls is not None
    if func.name == "handle" and is_django_command(index, cls):
        return not _command_called_again(index, func, depth)
    if func.name in APPLICATION_LIFECYCLE_METHODS and is_application(index, cls):
        return True
    if func.name in APPLICATION_LIFECYCLE_METHODS | EXTENSION_APP_SETUP_METHODS \
            and _derives_from(index, cls, EXTENSION_APP_BASES):
        return True
    if depth >= _MAX_ONCE_DEPTH:
        return False
    if func.name == "__init__":
        name = cls.name
    elif func.name.startswith("__"):
        return False
    else:
        name = func.name

    def runs_again(site: CallSite) -> bool:
        """A call of the name that is not this method's, or not made once from
        one-shot code (a test's call does not count)."""
        if is_test_module(site.module):
            return False
        callee = index.evaluate(site.call.func, site.module, site.func)
        if func.name == "__init__":
            if not (isinstance(callee, ClassRef) and callee.cls is cls):
                return True
        elif not (isinstance(callee, FunctionRef) and callee.func is func):
            # a library object's method of the same name (`await conn.add_listener(...)`
            # on an asyncpg connection inside the project's own `add_listener`) is not
            # a call of this method; a receiver the analysis cannot type still counts
            return not _library_receiver(index, site)
        if _in_loop(site):
            return True
        if site.func is None:
            # module-level code (a module-level instance: `users = UsersDatabase()`)
            # runs once per process, as it does for a function; a lambda's body runs
            # each time the lambda is called
            return _in_lambda(site)
        return site.func is func or not is_cli_entry(index, site.func, depth + 1)

    # the modules that call the name, one at a time until a call runs again
    if facts(index).any_call_site(name, runs_again):
        return False
    # a module the prefilter left out that names the class and calls the name: a
    # class that only uses other modules' database code (`cls.make_engine(url)`,
    # inherited) is no database code of its own, so a module that imports it (a
    # click command calling `Store.init_db(url)`) is not selected, yet its calls
    # decide, as they do when the command sits in the class's own module
    unread = index.unread_modules_matching(call_pattern([name]), word_pattern([cls.name]))
    unread_sites = [CallSite(call, m, caller) for m in unread
                    for call, caller in inventory(m).calls if call_name(call) == name]
    if any(runs_again(s) for s in unread_sites):
        return False
    if not any(not is_test_module(s.module)
               for s in (*facts(index).call_sites(name), *unread_sites)):
        return False
    # the name used as a value (a callback, a dispatch table) runs from elsewhere
    pattern = spelling(rb"\b" + re.escape(name.encode()) + rb"\b(?!\s*\()", [name])
    store = index.summaries

    def used(m: ModuleInfo) -> bool:
        if is_test_module(m):
            return False
        found = _used_as_value(m.tree, name)
        if store is not None:
            with contextlib.suppress(UnicodeEncodeError):
                store.put_used(m.source.encode(), name, found)
        return found

    def kept(place: ModulePath, data: bytes) -> bool | None:
        # a module whose answer was kept (made from a parse of the same text) is not
        # parsed for it: an edit's `check FILE` parsed whole modules that only
        # import the name
        assert store is not None
        return False if is_test_module(place) else store.get_used(data, name)

    return not (index.any_module(pattern, used, decided=None if store is None else kept)
                or any(not is_test_module(m) and _used_as_value(m.tree, name)
                       for m in index.unread_modules_matching(pattern, word_pattern([cls.name]))))


def _library_receiver(index: ProjectIndex, site: CallSite) -> bool:
    """`site` calls a method on a value the analysis knows comes from a library (a
    connection or pool, a library object or instance), not on a project object."""
    callee = site.call.func
    if not isinstance(callee, cst.Attribute):
        return False
    receiver = index.evaluate(callee.value, site.module, site.func)
    return isinstance(receiver, (Connection, LibraryObject, ExternalInstance))


_ASSIGNMENTS = frozenset({cst.Assign, cst.AugAssign, cst.AnnAssign})
_NAMED_DEFINITIONS = frozenset({cst.FunctionDef, cst.ClassDef, cst.Param})


def _used_as_value(tree: cst.Module, name: str) -> bool:
    """`name` appears in `tree` otherwise than as a callee (`x.name(...)`,
    `name(...)`), a def or class name, a keyword, a parameter, an imported name, the
    class named by an old-style `super(Name, self)`, or the class whose attribute an
    assignment sets (`Name.attr = value`): neither of the last two builds it."""
    names = 0
    other = 0
    # (exact types: `isinstance` against libcst's classes goes through
    # `ABCMeta.__instancecheck__`, and this walks every node of large modules)
    for node in iter_nodes(tree, into_functions=True):
        kind = type(node)
        if type(node) is cst.Name:
            if node.value == name:
                names += 1
        elif type(node) is cst.Call:
            f = node.func
            if (isinstance(f, cst.Name) and f.value == name) or (
                    isinstance(f, cst.Attribute) and f.attr.value == name):
                other += 1
            other += sum(1 for a in node.args
                         if a.keyword is not None and a.keyword.value == name)
            if isinstance(f, cst.Name) and f.value == "super" and node.args \
                    and isinstance(node.args[0].value, cst.Name) \
                    and node.args[0].value.value == name:
                other += 1  # `super(Recorder, self)`: names the class, builds nothing
        elif kind in _ASSIGNMENTS:
            assert isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign))
            # `Recorder.input_queue = {...}`: sets a class attribute, builds nothing
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) \
                else [node.target]
            other += sum(1 for t in targets if isinstance(t, cst.Attribute)
                         and isinstance(t.value, cst.Name) and t.value.value == name)
        elif kind in _NAMED_DEFINITIONS:
            assert isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Param))
            if node.name.value == name:
                other += 1
        elif type(node) is cst.ImportAlias:
            # `from db import UsersDatabase`: importing the name does not use it
            other += sum(1 for n in iter_nodes(node)
                         if isinstance(n, cst.Name) and n.value == name)
    return names > other


def _run_from_table(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """A function named only in a table (`CHECKS = [("db", check_db)]`, at module level
    or inside `main()`, or written as the loop's own iterable: `for name, fn in
    [("db", check_db)]:`) that only one-shot code walks (`for name, fn in CHECKS: fn()`
    in `main()`), not inside another loop: each entry runs once per process."""
    module = func.module
    literals = _literal_tables(index, module)
    #: (table name, the function whose body assigns it, or None at module level)
    tables: list[tuple[str, FunctionInfo | None]] = []
    #: loops whose iterable is itself the table (`for name, fn in [("db", check_db)]:`)
    inline: list[cst.For] = []
    named = 0
    if not literals.names.get(func.name):
        return False  # (named by no literal collection: no table holds it)
    for entry in literals.nodes:
        if isinstance(entry, cst.For):
            count = _names_count(_loop_iterable(entry), func.name)
            if count:
                inline.append(entry)
                named += count
            continue
        assert entry.value is not None
        count = _names_count(entry.value, func.name)
        if not count:
            continue
        targets = ([t.target for t in entry.targets] if isinstance(entry, cst.Assign)
                   else [entry.target])
        owner = _enclosing_function(module, entry)
        tables.extend((t.value, owner) for t in targets if isinstance(t, cst.Name))
        named += count
    if not tables and not inline:
        return False
    # the function is named nowhere else in its module (no other caller or registry)
    if literals.all_names(func.name) - 1 != named:  # the `def` is one Name
        return False
    walked = False
    for each in inline:
        if not _walked_once(index, module, each, depth):
            return False
        walked = True
    for table, owner in tables:
        # a module-level table may be walked in any function; a local one in its own
        scope: cst.CSTNode = owner.node.body if owner is not None else module.tree
        deep = owner is None
        for node in iter_nodes(scope, into_functions=deep):
            if not isinstance(node, cst.Name) or node.value != table:
                continue
            loop = _walking_loop(scope, node, deep)
            if loop is None:
                if not _is_table_definition(scope, node):
                    return False
                continue
            if not _walked_once(index, module, loop, depth):
                return False
            walked = True
    return walked


def _global_mentions(module: ModuleInfo, name: str) -> int:
    """How many Names of the module may read or bind the module-level `name`: every
    Name of that text (an attribute's name, `row.component`, and a keyword's,
    `Suite(component=...)`, are none), less those inside a function that binds it
    locally or takes it as a parameter (`component = row.component` is another
    variable there)."""
    count = _variable_names(module.tree, name)
    for f in module.all_functions:
        if name in f.locals or name in f.all_param_names():
            outer = f.parent
            while outer is not None and not (name in outer.locals
                                             or name in outer.all_param_names()):
                outer = outer.parent
            if outer is None:  # the outermost such function: its body is counted once
                count -= _variable_names(f.node.body, name) \
                    + _variable_names(f.node.params, name)
    return count


def _variable_names(tree: cst.CSTNode, name: str) -> int:
    """Names `name` under `tree` (nested scopes too) that name a variable: not an
    attribute's name nor a keyword argument's."""
    skip: set[int] = set()
    count = 0
    for n in iter_nodes(tree, into_functions=True):
        if isinstance(n, cst.Attribute):
            skip.add(id(n.attr))
        elif isinstance(n, cst.Arg) and n.keyword is not None:
            skip.add(id(n.keyword))
        elif isinstance(n, cst.Name) and n.value == name and id(n) not in skip:
            count += 1
    return count


def _dispatch_dict_entry(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """A plain module-level function that its module names only as the value of
    item assignments at its top level into module-level dicts (a subcommand table:
    `dispatch["component"] = component`, `dispatch["c"] = component`), each of
    which the module otherwise only defines (`dispatch = {}`), tests (`name in
    dispatch`) and calls through a subscript (`dispatch[subcommand](arguments)`),
    every such call outside loops in one-shot code (`main()` of a script): each run
    of the program runs the entry it looks up once. A table another project module
    names (it may call it from anywhere) is not known to be walked once."""
    if func.cls is not None or func.parent is not None or func.node.decorators:
        return False
    module = func.module
    tables: set[str] = set()
    named = 0
    for stmt in module.tree.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                    and isinstance(small.value, cst.Name) and small.value.value == func.name \
                    and isinstance(small.targets[0].target, cst.Subscript) \
                    and isinstance(small.targets[0].target.value, cst.Name):
                tables.add(small.targets[0].target.value.value)
                named += 1
    # named nowhere else in its module (the `def` is one Name); a function's own local
    # of the same name (`component = row.component`) is another variable
    if not tables or _global_mentions(module, func.name) - 1 != named:
        return False
    parents: dict[int, cst.CSTNode] = {}
    for node in iter_nodes(module.tree, into_functions=True):
        for child in children(node):
            parents[id(child)] = node
    top = {id(stmt) for stmt in module.tree.body}
    for table in tables:
        word = re.compile(rf"\b{re.escape(table)}\b")
        if any(not is_test_module(m) and word.search(m.source)
               for m in index.importers(module)):
            return False
        called = False
        for node in iter_nodes(module.tree, into_functions=True):
            if not isinstance(node, cst.Name) or node.value != table:
                continue
            parent = parents.get(id(node))
            grand = parents.get(id(parent)) if parent is not None else None
            line = parents.get(id(grand)) if grand is not None else None
            if isinstance(parent, cst.AssignTarget) and isinstance(grand, cst.Assign) \
                    and line is not None and id(line) in top:
                continue  # `dispatch = {}` at the top level
            if isinstance(parent, cst.Subscript) and parent.value is node:
                target = parents.get(id(parent))
                assign = parents.get(id(target)) if target is not None else None
                holder = parents.get(id(assign)) if assign is not None else None
                if isinstance(target, cst.AssignTarget) and isinstance(assign, cst.Assign) \
                        and holder is not None and id(holder) in top:
                    continue  # `dispatch["c"] = component` at the top level
                call = parents.get(id(parent))
                if isinstance(call, cst.Call) and call.func is parent:
                    walker = _enclosing_function(module, call)
                    if walker is None or not is_cli_entry(index, walker, depth + 1):
                        return False
                    up: cst.CSTNode | None = call
                    while up is not None and up is not walker.node:
                        if isinstance(up, (cst.For, cst.While, cst.CompFor, cst.Lambda)):
                            return False  # run once per iteration
                        up = parents.get(id(up))
                    called = True
                    continue
                return False
            if isinstance(parent, cst.ComparisonTarget) and parent.comparator is node \
                    and isinstance(parent.operator, (cst.In, cst.NotIn)):
                continue  # `subcommand in dispatch`
            return False
        if not called:
            return False
    return True


def _command_table_entry(index: ProjectIndex, func: FunctionInfo, depth: int) -> bool:
    """A plain function that a Django management command's module imports and names
    only in tables at its top level (`SCRIPTS = {"tokens": {"fn": collect_tokens}}`)
    that only the command's own methods read, outside loops or in a `for` that walks
    the table itself: `handle()` (one-shot), `add_arguments()` (Django calls it once
    per run, one sub-parser per entry), or another one-shot method. The command runs
    the entry it looks up once per process (`SCRIPTS[name]["fn"](...)`). Its own
    module names it nowhere but at its `def`, and every other project module that
    names it is such a command module."""
    if func.cls is not None or func.parent is not None or func.node.decorators:
        return False
    if func.name not in _command_table_names(index):
        return False
    if _names_count(func.module.tree, func.name) != 1:
        return False  # its own module calls it, registers it or hands it on
    found = False
    for module in index.importers(func.module):
        if is_test_module(module) or not _names(module.tree, func.name):
            continue
        if not _imports_function(module, func) \
                or not _only_command_tables(index, module, func.name, depth):
            return False
        found = True
    return found


_COMMAND_TABLE_NAMES = "_command_table_names"


def _command_table_names(index: ProjectIndex) -> frozenset[str]:
    """The names written in literal tables at the top level of the modules that
    define a management `Command` class (computed once per index): the only
    functions `_command_table_entry` can find."""
    store = index.summaries

    def find() -> frozenset[str]:
        names: set[str] = set()

        def read(module: ModuleInfo) -> bool:
            found = _module_table_names(module)
            if store is not None:
                with contextlib.suppress(UnicodeEncodeError):
                    store.put_table_names(module.source.encode(), found)
            names.update(found)
            return False  # (every module that mentions the class is read)

        def kept(place: ModulePath, data: bytes) -> bool | None:
            # a module whose names were kept (from a parse of the same text) is not
            # parsed for them: an edit's `check FILE` parsed every module that
            # spells `Command` to find none in mlflow
            assert store is not None
            found = store.get_table_names(data)
            if found is None:
                return None
            names.update(found)
            return False

        with index.full_resolution():
            index.any_module(word_pattern((DJANGO_COMMAND_CLASS,)), read,
                             decided=None if store is None else kept)
        return frozenset(names)
    return index.derived(_COMMAND_TABLE_NAMES, find)


def _module_table_names(module: ModuleInfo) -> list[str]:
    """The names written in literal tables at the top level of `module` when it
    defines a management `Command` class (sorted), else none."""
    if DJANGO_COMMAND_CLASS not in module.classes:
        return []
    names: set[str] = set()
    for stmt in module.tree.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(
                    small.value, (cst.Dict, cst.List, cst.Tuple)):
                names |= {n.value for n in iter_nodes(small.value, into_functions=True)
                          if isinstance(n, cst.Name)}
    return sorted(names)


def _imports_function(module: ModuleInfo, func: FunctionInfo) -> bool:
    """`module` binds `func` under its own name (`from app.scripts import collect`)."""
    qualname = module.imports.get(func.name, "")
    owner = qualname[:-len(func.name) - 1] if qualname.endswith("." + func.name) else ""
    return bool(owner) and any(owner == n or owner.endswith("." + n)
                               for n in func.module.names)


def _only_command_tables(index: ProjectIndex, module: ModuleInfo, name: str,
                         depth: int) -> bool:
    """Every mention of `name` in `module` but its import is in literal tables
    assigned at the top level, and only a one-shot management command's methods read
    those tables, once per run (see `_command_table_entry`); no other project module
    names a table."""
    tables: list[str] = []
    named = 0
    for stmt in module.tree.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if not isinstance(small, (cst.Assign, cst.AnnAssign)) or not isinstance(
                    small.value, (cst.Dict, cst.List, cst.Tuple)):
                continue
            count = _names_count(small.value, name)
            if not count:
                continue
            targets = ([t.target for t in small.targets] if isinstance(small, cst.Assign)
                       else [small.target])
            if not all(isinstance(t, cst.Name) for t in targets):
                return False
            tables.extend(t.value for t in targets if isinstance(t, cst.Name))
            named += count
    if not tables or _names_count(module.tree, name) - 1 != named:  # the import's Name
        return False
    for other in index.importers(module):
        # a table another module reads (`from ...run_script import SCRIPTS` in a view)
        # runs its entries there too
        if not is_test_module(other) and (other.star_imports or any(
                re.search(rf"\b{re.escape(t)}\b", other.source) for t in tables)):
            return False
    for node in iter_nodes(module.tree, into_functions=True):
        if not isinstance(node, cst.Name) or node.value not in tables \
                or _is_table_definition(module.tree, node):
            continue
        if not _command_reads_once(index, module, node, depth):
            return False
    return True


def _command_reads_once(index: ProjectIndex, module: ModuleInfo, node: cst.Name,
                        depth: int) -> bool:
    """The read `node` of a table is in a method of a one-shot Django management
    command (`handle()`, `add_arguments()`, or a one-shot method of the class), not
    inside a loop but one that walks the table itself."""
    reader = _enclosing_function(module, node)
    if reader is None or reader.cls is None or not is_django_command(index, reader.cls):
        return False
    handle = reader.cls.methods.get("handle")
    if handle is None or not is_cli_entry(index, handle, depth + 1):
        return False
    if reader.name not in ("handle", "add_arguments") \
            and not is_cli_entry(index, reader, depth + 1):
        return False
    body = reader.node.body
    loop = _walking_loop(body, node, False)
    return not _in_loop_statement(body, loop if loop is not None else node)


_LITERAL_COLLECTIONS = (cst.List, cst.Tuple, cst.Dict, cst.Set)

#: `_literal_tables`' answers in one index, by module tree
_TABLES_MEMO = "_poolsafe_literal_tables"


@dataclass(frozen=True)
class _LiteralTables:
    """What `_run_from_table` reads of a module, from one walk of its statements (the
    walk up a function's callers asks the same modules again, for each function in
    them)."""
    tree: cst.Module
    #: the loops whose iterable is a literal collection, and the assignments of one
    #: (`CHECKS = [("db", check_db)]`), in the walk's order
    nodes: tuple[cst.For | cst.Assign | cst.AnnAssign, ...]
    #: how many times each name is read in the literal collections of `nodes`
    names: dict[str, int]
    #: how many times each name is read anywhere in the module: a walk of every node,
    #: made when first asked (most functions are named in no table: never)
    counted: dict[str, int] = field(default_factory=dict)

    def all_names(self, name: str) -> int:
        if not self.counted:
            counted = self.counted
            counted[""] = 0  # (walked: an empty module counts no name)
            for node in iter_nodes(self.tree, into_functions=True):
                if type(node) is cst.Name:
                    counted[node.value] = counted.get(node.value, 0) + 1
        return self.counted.get(name, 0)


#: by node type: an expression, whose subtree holds no statement (a lambda's body is
#: an expression too)
_EXPRESSION_TYPES: dict[type, bool] = {}


def _statement_nodes(tree: cst.Module) -> Iterator[cst.CSTNode]:
    """`iter_nodes(tree, into_functions=True)` without the nodes under an expression:
    every statement, in the same (pre-)order."""
    kinds = _EXPRESSION_TYPES
    stack: list[cst.CSTNode] = [tree]
    while stack:
        cur = stack.pop()
        yield cur
        for child in reversed(children(cur)):
            t = type(child)
            expression = kinds.get(t)
            if expression is None:
                expression = kinds[t] = issubclass(t, cst.BaseExpression)
            if not expression:
                stack.append(child)


def _literal_tables(index: ProjectIndex, module: ModuleInfo) -> _LiteralTables:
    memo: dict[int, _LiteralTables] = index.derived(_TABLES_MEMO, dict)
    known = memo.get(id(module.tree))
    if known is not None and known.tree is module.tree:
        return known
    nodes: list[cst.For | cst.Assign | cst.AnnAssign] = []
    # (exact types, as `_used_as_value` walks; a `for`, an assignment is a statement:
    # no expression holds one)
    for node in _statement_nodes(module.tree):
        if type(node) is cst.For:
            if isinstance(_loop_iterable(node), _LITERAL_COLLECTIONS):
                nodes.append(node)
        elif (type(node) is cst.Assign or type(node) is cst.AnnAssign) \
                and isinstance(node.value, _LITERAL_COLLECTIONS):
            nodes.append(node)
    names: dict[str, int] = {}
    for table in nodes:
        literal = _loop_iterable(table) if isinstance(table, cst.For) else table.value
        assert literal is not None
        for n in iter_nodes(literal, into_functions=True):
            if type(n) is cst.Name:
                names[n.value] = names.get(n.value, 0) + 1
    found = _LiteralTables(module.tree, tuple(nodes), names)
    memo[id(module.tree)] = found
    return found


def _walked_once(index: ProjectIndex, module: ModuleInfo, loop: cst.For,
                 depth: int) -> bool:
    """The loop that walks a table runs once per process: in one-shot code, or at
    module level, and not inside another loop of its scope."""
    walker = _enclosing_function(module, loop)
    if walker is not None and not is_cli_entry(index, walker, depth + 1):
        return False
    scope: cst.CSTNode = walker.node.body if walker is not None else module.tree
    return not _in_loop_statement(scope, loop)


def _loop_iterable(loop: cst.For) -> cst.BaseExpression:
    """What a `for` walks: its iterable, or the object of `x.items()` / `x.values()`."""
    it = loop.iter
    if isinstance(it, cst.Call) and isinstance(it.func, cst.Attribute):
        return it.func.value
    return it


def _names(expr: cst.CSTNode, name: str) -> bool:
    return _names_count(expr, name) > 0


def _names_count(expr: cst.CSTNode, name: str) -> int:
    return sum(1 for n in iter_nodes(expr, into_functions=True)
               if isinstance(n, cst.Name) and n.value == name)


def _walking_loop(scope: cst.CSTNode, name: cst.Name, deep: bool) -> cst.For | None:
    """The `for` of `scope` whose iterable is `name` (or `name.items()` / `.values()`)."""
    for node in iter_nodes(scope, into_functions=deep):
        if isinstance(node, cst.For) and _loop_iterable(node) is name:
            return node
    return None


def _is_table_definition(scope: cst.CSTNode, name: cst.Name) -> bool:
    for node in iter_nodes(scope):
        if isinstance(node, cst.Assign) and any(t.target is name for t in node.targets):
            return True
        if isinstance(node, cst.AnnAssign) and node.target is name:
            return True
    return False


def _enclosing_function(module: ModuleInfo, node: cst.CSTNode) -> FunctionInfo | None:
    found = None
    for f in module.all_functions:
        if any(n is node for n in iter_nodes(f.node.body)):
            found = f  # the innermost one comes last
    return found


def _in_loop_statement(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    return any(isinstance(n, (cst.For, cst.While)) and n is not node and any(
        m is node for m in iter_nodes(n.body)) for n in iter_nodes(tree))


def in_loop(site: CallSite) -> bool:
    """The call runs in a loop of its own scope (a `for`/`while` body or a
    comprehension): once per iteration."""
    return _in_loop(site)


def _repeats(site: CallSite) -> bool:
    """The call runs more than once per process: in a loop of its scope, or at the
    top level of a Streamlit page, which Streamlit runs again at every interaction."""
    return _in_loop(site) or (site.func is None and streamlit_page(site.module))


def streamlit_aliases(module: ModuleInfo) -> set[str]:
    """The module's names for streamlit or what it imports from it (`st`)."""
    return {name for name, q in module.imports.items()
            if q == "streamlit" or q.startswith("streamlit.")}


def streamlit_page(module: ModuleInfo) -> bool:
    """A Streamlit page: a module that imports streamlit and calls it at its top level
    (`st.title(...)`, `st.table(rows)`), outside functions and classes. Streamlit runs
    it again from the top at every interaction of every session; a helper module the
    page imports (functions only) runs once, on import."""
    aliases = streamlit_aliases(module)
    if not aliases:
        return False
    for stmt in module.tree.body:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            continue
        for call in iter_calls(stmt):
            root = call.func
            while isinstance(root, (cst.Attribute, cst.Call)):
                root = root.value if isinstance(root, cst.Attribute) else root.func
            if isinstance(root, cst.Name) and root.value in aliases:
                return True
    return False


def _in_loop(site: CallSite) -> bool:
    """The call runs in the body of a `for`/`while` loop or a comprehension of its
    scope (the function, or the module for module-level code)."""
    scope: cst.CSTNode = site.func.node.body if site.func is not None else site.module.tree
    for node in iter_nodes(scope):
        if isinstance(node, (cst.For, cst.While)):
            repeated: list[cst.CSTNode] = [node.body]
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            repeated = [node.elt]
        elif isinstance(node, cst.DictComp):
            repeated = [node.key, node.value]
        else:
            continue
        if any(c is site.call for part in repeated for c in iter_calls(part)):
            return True
    return False


def _in_lambda(site: CallSite) -> bool:
    """A module-level call inside a `lambda`: it runs each time the lambda does."""
    if "lambda" not in site.module.source:
        return False
    return any(isinstance(node, cst.Lambda) and any(c is site.call for c in iter_calls(node.body))
               for node in iter_nodes(site.module.tree))


def _startup_handler(func: FunctionInfo) -> bool:
    """`@app.on_event("startup")` (FastAPI/Starlette), or a module-level function
    its module registers as the startup hook (`executor.start_polling(dp,
    on_startup=on_startup)`, `app.on_startup.append(f)`, `dp.startup.register(f)`,
    `app.add_event_handler("startup", f)`): runs once, when the process starts."""
    for deco in func.node.decorators:
        target = deco.decorator
        if isinstance(target, cst.Call) and isinstance(target.func, cst.Attribute) \
                and target.func.attr.value == "on_event" and target.args \
                and string_value(target.args[0].value) == "startup":
            return True
    if func.parent is not None or func.cls is not None:
        return False
    return any(_registers_startup(call, func.name) for call, _ in func.module.calls)


def _registers_startup(call: cst.Call, name: str) -> bool:
    def names_it(expr: cst.BaseExpression) -> bool:
        return isinstance(expr, cst.Name) and expr.value == name
    if any(a.keyword is not None and a.keyword.value == "on_startup" and names_it(a.value)
           for a in call.args):
        return True
    callee = call.func
    if not isinstance(callee, cst.Attribute):
        return False
    args = [a.value for a in call.args if a.keyword is None]
    owner = callee.value
    owner_name = owner.attr.value if isinstance(owner, cst.Attribute) else None
    if callee.attr.value in ("append", "register") and owner_name in ("on_startup", "startup"):
        return len(args) == 1 and names_it(args[0])
    return (callee.attr.value == "add_event_handler" and len(args) == 2
            and string_value(args[0]) == "startup" and names_it(args[1]))


# ---------------------------------------------------------------- Flask models
def is_flask_db(value: Value | None) -> bool:
    return isinstance(value, LibraryObject) and value.type_key == "flask_sqlalchemy"


def is_model_class(index: ProjectIndex, cls: ClassInfo, depth: int = 0) -> bool:
    """A Flask-SQLAlchemy model: derives (perhaps indirectly) from `db.Model`."""
    if depth > MAX_RESOLUTION_DEPTH:
        return False
    for base in cls.node.bases:
        expr = base.value
        if (isinstance(expr, cst.Attribute) and expr.attr.value == FLASK_MODEL_BASE_ATTRIBUTE
                and is_flask_db(index.evaluate(expr.value, cls.module, None))):
            return True
        value = index.evaluate(expr, cls.module, None)
        if isinstance(value, ClassRef) and is_model_class(index, value.cls, depth + 1):
            return True
    return False


#: the packages whose forms take `validators=[...]` per field
_WTFORMS_ROOTS = frozenset({"wtforms", "flask_wtf"})


def _validator_list_calls(tree: cst.Module) -> frozenset[int]:
    """The ids of the calls that are elements of a `validators=[...]` (or tuple)
    keyword argument anywhere in the module."""
    out: set[int] = set()
    for node in iter_nodes(tree, into_functions=True):
        if isinstance(node, cst.Arg) and node.keyword is not None \
                and node.keyword.value == "validators" \
                and isinstance(node.value, (cst.List, cst.Tuple)):
            out.update(id(e.value) for e in node.value.elements
                       if isinstance(e.value, cst.Call))
    return frozenset(out)


def used_through(helper: str, use: str) -> str:
    """How a message names database work reached through a project helper,
    "`helper()`, which uses `Model.objects`,": one comma at the end of a chain of
    helpers however deep (`use` may itself be such a chain)."""
    return f"`{helper}()`, which uses {use.rstrip(',')},"
