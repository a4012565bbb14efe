"""Which expressions in a function are connections or sessions, and of what kind.

Resources are recognised by what produced them (a pool, an engine, a session
factory, an annotation naming a library type, a `Depends(...)` default), never
by their names.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property

import libcst as cst

from poolsafe.analysis.autocommit import (
    autocommit_dicts,
    autocommit_targets,
    opens_in_autocommit,
    stored_in_autocommit,
)
from poolsafe.analysis.cstutil import (
    argument_for,
    dotted_name,
    iter_nodes,
    keyword_arg,
    strip_await,
)
from poolsafe.analysis.index import ProjectIndex, annotation_parts, held, param_annotation
from poolsafe.analysis.module import FunctionInfo, ModuleInfo, WithBinding
from poolsafe.analysis.values import (
    Connection,
    External,
    FunctionRef,
    Instance,
    LibraryObject,
    ManagedContext,
    ModuleRef,
)
from poolsafe.knowledge import CONNECTION_KINDS, ConnectionKind, match_qualname

#: (package root, final name) of annotations that mark a parameter as a connection
_ANNOTATION_KINDS: dict[tuple[str, str], str] = {
    ("sqlalchemy", "Session"): "session",
    ("sqlmodel", "Session"): "session",
    ("sqlmodel", "AsyncSession"): "async-session",  # sqlmodel.ext.asyncio.session
    ("sqlalchemy", "AsyncSession"): "async-session",
    ("sqlalchemy", "Connection"): "sqlalchemy-connection",
    ("sqlalchemy", "AsyncConnection"): "sqlalchemy-async-connection",
    ("psycopg2", "connection"): "psycopg2",
    ("psycopg", "Connection"): "psycopg",
    ("psycopg", "AsyncConnection"): "psycopg-async",
    ("asyncpg", "Connection"): "asyncpg",
    ("pymysql", "Connection"): "pymysql",
}


def _annotation_kind(qualname: str) -> str | None:
    key = match_qualname(qualname, _ANNOTATION_KINDS)
    return None if key is None else _ANNOTATION_KINDS[key]


#: the keywords of `cursor()` that make a server-side cursor (psycopg)
_SERVER_SIDE = frozenset({"name", "scrollable", "withhold"})


class FunctionResources:
    """Resolves receivers like `conn`, `cur`, `self.conn`, `db.session` to a resource."""

    def __init__(self, index: ProjectIndex, func: FunctionInfo) -> None:
        self.index = index
        self.func = func
        self.module = func.module
        self._kinds: dict[str, ConnectionKind | None] = {}
        self._params = self._param_kinds()
        #: connections known only through a module-level cursor: `cur.connection`
        self._cursor_connections: dict[str, ConnectionKind] = {}
        self.cursors = self._cursor_aliases()
        self.cursors.update(self._module_cursors())
        #: `self.cursor` attributes made by a plain `self.conn.cursor()` (`_client_cursors`)
        self._attribute_client: set[str] = set()
        self.cursors.update(self._attribute_cursors())
        self.client_cursors = self._client_cursors() | self._attribute_client
        #: the calls that build them
        self.bound_session_calls: set[int] = set()
        self.bound_sessions = self._bound_sessions()
        #: what hands a connection on when it leaves the function: its cursors and
        #: the sessions bound to it
        self.holders = {**self.bound_sessions, **self.cursors} if self.bound_sessions \
            else self.cursors
        #: module-level sessions or connections the function does not name but works
        #: on through a project helper (`Token(...).add()` committing on `session` of
        #: `db.py`), by the helper's name for them -> (that module, its top-level name)
        self.adopted: dict[str, tuple[ModuleInfo, str]] = {}

    def adopt(self, key: str, kind: ConnectionKind, binding: tuple[ModuleInfo, str]) -> None:
        """Count `key` (a name this function does not bind) as the module-level
        connection or session `binding`, of kind `kind`, that a helper it calls works on."""
        self._kinds[key] = kind
        self.adopted[key] = binding

    # --------------------------------------------------------------- params
    def _param_kinds(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for param in self.func.named_params():
            kind = None
            if param.annotation is not None:
                kind = self._annotation_kind(param.annotation.annotation, self.module)
            if kind is None and param.default is not None:
                kind = self._depends_kind(param.default)
            if kind is None and param.annotation is None and param.default is None \
                    and self._worked_in_try(param.name.value):
                kind = self._module_connection_from_callers(param.name.value)
            if kind is not None:
                out[param.name.value] = kind
        return out

    def _worked_in_try(self, name: str) -> bool:
        """A module-level function (not a method: its callers are read by attribute)
        that calls a method of `name` inside one of its `try` bodies: only there can a
        swallowed failure on the parameter matter."""
        if self.func.parent is not None or self.func.cls is not None:
            return False
        for t in self.func.tries:
            for node in iter_nodes(t.body):
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                        and isinstance(node.func.value, cst.Name) \
                        and node.func.value.value == name:
                    return True
        return False

    def _module_connection_from_callers(self, name: str) -> str | None:
        """The kind of the long-lived connection or session (a module's, named at
        module level) that every call of this function in the project passes for the
        unannotated parameter `name` (`def chat_ids(conn)` called as
        `chat_ids(connection)` with `connection = psycopg2.connect(...)` at module
        level): the parameter is that connection. None when a caller passes anything
        else, when nothing calls the function, or when a call cannot be read."""
        memo: dict[tuple[int, str], tuple[cst.FunctionDef, str | None]] = \
            self.index.derived(_CALLER_KINDS, dict)
        node = self.func.node
        key = (id(node), name)
        known = held(memo, key, node)
        if known is not None:
            return known[1]
        memo[key] = (node, None)  # while it is worked out (a call cycle): not known
        result = self._caller_kind(name)
        memo[key] = (node, result)
        return result

    def _caller_kind(self, name: str) -> str | None:
        from poolsafe.analysis.project_facts import facts

        params = self.func.param_names()
        position = params.index(name) if name in params else None
        sites = facts(self.index).callers(self.func)
        if not sites:
            return None
        found: set[str] = set()
        for site in sites:
            arg = argument_for(site.call, name, position)
            if not isinstance(arg, cst.Name):
                return None
            caller = site.func
            if caller is not None and (arg.value in caller.locals
                                       or arg.value in caller.all_param_names()):
                return None  # the caller's own connection, not the module's
            value = self.index.evaluate(arg, site.module, caller)
            if isinstance(value, Connection):
                found.add(value.kind_key)
            elif isinstance(value, LibraryObject) and value.type.is_scoped:
                found.add("session")
            else:
                return None
        return found.pop() if len(found) == 1 else None

    def _annotation_kind(self, ann: cst.BaseExpression, module: ModuleInfo,
                         depth: int = 0) -> str | None:
        """The connection kind a parameter's annotation gives it: a connection type
        (`Session`), FastAPI's `Annotated[Session, Depends(get_db)]`, or a module-level
        alias of that (`SessionDep = Annotated[AsyncSession, Depends(get_session)]`,
        also imported from another module)."""
        if isinstance(ann, cst.Subscript):
            head = self.index.evaluate(ann.value, module, None)
            items = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if isinstance(head, External) and head.qualname.rsplit(".", 1)[-1] == "Annotated" \
                    and items:
                for extra in items[1:]:
                    kind = self._depends_kind(extra, module)
                    if kind is not None:
                        return kind
                return self._annotation_kind(items[0], module, depth + 1)
            return self._named_kind(ann.value, module)
        kind = self._named_kind(ann, module)
        if kind is None and isinstance(ann, (cst.Name, cst.Attribute)) and depth < 3:
            from poolsafe.analysis.resolution import resolve

            bound = resolve(self.index, ann, module, None)
            if isinstance(bound.expr, cst.Subscript):
                return self._annotation_kind(bound.expr, bound.module, depth + 1)
        return kind

    def _named_kind(self, node: cst.BaseExpression, module: ModuleInfo) -> str | None:
        """The connection kind the type `node` names in an annotation (`Session`)."""
        value = self.index.evaluate(node, module, None)
        return _annotation_kind(value.qualname) if isinstance(value, External) else None

    def _depends_kind(self, default: cst.BaseExpression,
                      module: ModuleInfo | None = None) -> str | None:
        module = module or self.module
        if not self.index.is_depends_call(default, module):
            return None
        assert isinstance(default, cst.Call)
        if not default.args:
            return None
        dep = self.index.evaluate(default.args[0].value, module, None)
        if not isinstance(dep, FunctionRef):
            return None
        f = dep.func
        for node in iter_nodes(f.node.body):
            value_node = _produced_value(node)
            if value_node is not None:
                v = self.index.evaluate(value_node, f.module, f)
                if isinstance(v, Connection):
                    return v.kind_key
        return None

    # -------------------------------------------------------------- cursors
    def _cursor_aliases(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, values in self.func.locals.items():
            for v in values:
                item = v.item if isinstance(v, WithBinding) else v
                if isinstance(item, cst.Await):
                    item = item.expression
                if (
                    isinstance(item, cst.Call)
                    and isinstance(item.func, cst.Attribute)
                    and item.func.attr.value == "cursor"
                ):
                    owner = dotted_name(item.func.value)
                    if owner is not None and self.kind(owner) is not None:
                        out[name] = owner
                elif isinstance(item, cst.Call) and len(values) == 1:
                    # `cur = db.get_cursor()`: a method of the object's class that hands
                    # out a cursor of the connection the class holds
                    delegated = self._delegated_call(item)
                    if delegated is not None and delegated[1] == "cursor":
                        out[name] = delegated[0]
        return out

    def _attribute_cursors(self) -> dict[str, str]:
        """`self.cursor` -> `self.conn` where every assignment of the attribute in the
        class is `self.cursor = self.conn.cursor(...)` on a connection attribute (made in
        `__init__` or an `open_spider()` hook): work through the stored cursor in another
        method is work on that connection."""
        if "cursor" not in self.module.source:
            return {}
        base = self.index.evaluate_dotted("self", self.module, self.func)
        if not isinstance(base, Instance):
            return {}
        out: dict[str, str] = {}
        cls = base.cls
        for attr, values in cls.attributes.items():
            owners = {_cursor_owner_attribute(v) for v in values}
            if len(owners) != 1 or any(scope is self.func
                                       for scope in cls.attribute_scopes.get(attr, [])):
                continue  # (a method that makes the cursor itself follows its own binding)
            owner = owners.pop()
            if owner is not None and self.kind(owner) is not None:
                out[f"self.{attr}"] = owner
                if all(_plain_cursor_call(v) for v in values):
                    self._attribute_client.add(f"self.{attr}")
        return out

    def _module_cursors(self) -> dict[str, str]:
        """The cursors the function reads from the top level of its module, or imports
        from another project module: `cur = conn.cursor()` beside `conn =
        psycopg2.connect(...)`, shared by every call. Work on one is work on that
        long-lived connection, named as this module names it (`conn`, also when it
        imports it), else `cur.connection`."""
        out: dict[str, str] = {}
        for name, (home, owner) in module_cursors(self.index, self.module).items():
            if name in self.cursors or self.func.binds(name):
                continue
            key = next((local for local in (owner, *self.module.imports)
                        if self._names(local, home, owner)), None)
            if key is None:
                value = self.index.lookup_module_name(home, owner, 0)
                if not isinstance(value, Connection):
                    continue
                key = f"{name}.connection"
                self._cursor_connections[key] = value.kind
            out[name] = key
        return out

    def _names(self, local: str, home: ModuleInfo, owner: str) -> bool:
        """`local`, in this function, is the top-level connection `owner` of `home`."""
        if self.func.binds(local):
            return False
        bound = module_binding(self.index, self.module, local)
        return bound is not None and bound[0] is home and bound[1] == owner \
            and self.kind(local) is not None

    def _bound_sessions(self) -> dict[str, str]:
        """A session name to the local connection it is bound to (`session =
        Session(bind=conn)` after `conn = engine.connect()`): the session runs on the
        connection and leaves its closing to whoever holds it."""
        out: dict[str, str] = {}
        for name, values in self.func.locals.items():
            if len(values) != 1:
                continue
            item = values[0].item if isinstance(values[0], WithBinding) else values[0]
            if not isinstance(item, cst.Call) or not isinstance(item.func, (
                    cst.Name, cst.Attribute, cst.Call)):
                continue
            bind = self.index.session_bind(item, self.module, self.func)
            if isinstance(bind, cst.Name) and bind.value in self.func.locals:
                out[name] = bind.value
                self.bound_session_calls.add(id(item))
        return out

    def _client_cursors(self) -> frozenset[str]:
        """The cursor names (of `self.cursors`) every binding of which is a plain
        `conn.cursor()`: no positional argument (psycopg2's server-side cursor name,
        PyMySQL's `SSCursor` class) and no `name=`, `scrollable=` or `withhold=`
        (psycopg's server-side cursors). Their `fetchall()` reads the result the
        `execute()` already brought over: it sends nothing to the server."""
        out: set[str] = set()
        for name in self.cursors:
            items = [v.item if isinstance(v, WithBinding) else v
                     for v in self.func.locals.get(name, [])]
            if items and all(isinstance(i, cst.BaseExpression) and _plain_cursor_call(i)
                             for i in items):
                out.add(name)
        return frozenset(out)

    def _delegated_call(self, call: cst.Call) -> tuple[str, str] | None:
        """(resource, method) for `obj.m(...)` where `m` is a method of `obj`'s class
        whose body works on the one connection its class holds, `self.conn` (a
        class attribute opened in the class body, shared by every instance): `DB()`'s
        `get_cursor()` returning `self.conn.cursor()` gives (`obj.conn`, "cursor"),
        `set_commit()` calling `self.conn.commit()` gives (`obj.conn`, "commit"), and
        a method that rolls the connection back gives "rollback" whatever else it
        does. None when the method touches no connection attribute, or two."""
        f = call.func
        if not isinstance(f, cst.Attribute):
            return None
        obj = dotted_name(f.value)
        if obj is None or "." in obj:
            return None
        base = self.index.evaluate_dotted(obj, self.module, self.func)
        if not isinstance(base, Instance):
            return None
        method = base.cls.methods.get(f.attr.value)
        if method is None or not method.is_method:
            return None
        params = [p.name.value for p in method.node.params.params]
        if not params:
            return None
        me = params[0]
        attrs: set[str] = set()
        methods: list[str] = []
        for c in method.direct_calls:
            cf = c.func
            if not isinstance(cf, cst.Attribute):
                continue
            target = cf.value
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) \
                    and target.value.value == me:
                attrs.add(target.attr.value)
                methods.append(cf.attr.value)
        if len(attrs) != 1:
            return None
        attr = attrs.pop()
        if attr not in base.cls.class_values:
            # only the class's own connection, opened once in its body: one set per
            # instance (`self.conn = connect()` in `__init__`) dies with a local object
            return None
        owner = f"{obj}.{attr}"
        if self.kind(owner) is None:
            return None
        if "rollback" in methods:
            return owner, "rollback"
        return owner, methods[0]

    @cached_property
    def autocommit(self) -> set[str]:
        """The resources this function puts in autocommit (computed when asked: a walk
        of the body)."""
        return self._autocommit_names()

    def _autocommit_names(self) -> set[str]:
        # what `autocommit_targets` looks for is spelt in the source: the name or the
        # keyword `autocommit`, or the keyword or method of an `isolation_level`
        source = self.module.source
        out = (autocommit_targets(self.func.node.body)
               if "autocommit" in source or "isolation_level" in source else set())
        # a module's long-lived connection its own top level puts in autocommit
        # (`conn.autocommit = True` under `conn = psycopg2.connect(...)`), used here by
        # its name, also imported, or through a module-level cursor of it
        shared = module_autocommit(self.index, self.module)
        out |= {n for n in shared if not self.func.binds(n)}
        for name, key in self.cursors.items():
            if key in self._cursor_connections or key in shared:
                home = module_cursors(self.index, self.module).get(name)
                if home is not None and autocommit_name(self.index, home[0], home[1]):
                    out.add(key)
        if "autocommit" in source:
            out |= self._class_autocommit()
        # an acquisition with autocommit=True: `conn = psycopg.connect(..., autocommit=True)`,
        # or through keyword arguments: `args["autocommit"] = True; connect(dsn, **args)`
        # (the dicts matter only to a call that unpacks one)
        dicts: set[str] | None = None
        for name, values in self.func.locals.items():
            for v in values:
                bound = v.item if isinstance(v, WithBinding) else v
                if isinstance(bound, cst.BaseExpression):
                    inner = bound.expression if isinstance(bound, cst.Await) else bound
                    if isinstance(inner, cst.Call):
                        unpacked = any(a.star == "**" and isinstance(a.value, cst.Name)
                                       for a in inner.args)
                        if unpacked and dicts is None:
                            dicts = autocommit_dicts(self.func.node.body)
                        if opens_in_autocommit(inner, dicts or set()):
                            out.add(name)
                        else:
                            # from an autocommit engine, pool or session factory
                            value = self.index.evaluate(inner, self.module, self.func)
                            if isinstance(value, Connection) and value.autocommit:
                                out.add(name)
        return out

    def _class_autocommit(self) -> set[str]:
        """`self.conn` when a method of the class puts it in autocommit
        (`self.conn.autocommit = True` in `connect()`), named with this method's
        first parameter."""
        cls = self.func.cls
        params = self.func.node.params.params
        if cls is None or self.func.parent is not None or not params:
            return set()
        me = params[0].name.value
        out: set[str] = set()
        for method in cls.methods.values():
            their = method.node.params.params
            if not their:
                continue
            prefix = their[0].name.value + "."
            for target in autocommit_targets(method.node.body) | stored_in_autocommit(
                    method.node.body):
                if target.startswith(prefix):
                    out.add(me + "." + target[len(prefix):])
        return out

    # ---------------------------------------------------------------- kinds
    def kind(self, key: str) -> ConnectionKind | None:
        """The kind of connection `key` (a name or dotted name) holds, if it is one."""
        if key in self._kinds:
            return self._kinds[key]
        if key in self._cursor_connections:
            return self._cursor_connections[key]
        self._kinds[key] = None
        result: ConnectionKind | None = None
        if key in self._params:
            result = CONNECTION_KINDS[self._params[key]]
        else:
            value = self.index.evaluate_dotted(key, self.module, self.func)
            if isinstance(value, Connection):
                result = value.kind
            elif isinstance(value, ManagedContext):
                result = CONNECTION_KINDS[value.kind_key]
            elif isinstance(value, LibraryObject) and value.type.is_scoped:
                result = CONNECTION_KINDS["session"]
            elif value is None:
                kind = self._attribute_kind(key) or self._returned_kind(key)
                result = None if kind is None else CONNECTION_KINDS[kind]
        self._kinds[key] = result
        return result

    def _returned_kind(self, key: str) -> str | None:
        """The kind of a local name every binding of which in the function is a call of
        a project function whose return annotation names a connection type, when what
        that function returns cannot be read (`db_session = get_session_from_config(path)`
        with `def get_session_from_config(path) -> Session: return
        env["registry"]["db_session_factory"]()`): the annotation says what it is."""
        values = self.func.locals.get(key)
        if not values or "." in key:
            return None
        kinds: set[str] = set()
        for v in values:
            call = v.expression if isinstance(v, cst.Await) else v
            if not isinstance(call, cst.Call):
                return None
            callee = self.index.evaluate(call.func, self.module, self.func)
            if not isinstance(callee, FunctionRef) or callee.func.node.returns is None:
                return None
            named = {k for part in annotation_parts(callee.func.node.returns.annotation)
                     if (k := self._annotation_kind(part, callee.func.module)) is not None}
            if len(named) != 1:
                return None
            kinds |= named
        return kinds.pop() if len(kinds) == 1 else None

    def _attribute_kind(self, key: str) -> str | None:
        """The kind of `self.attr` when its type is only annotated: stored from a
        parameter annotated with a connection type (`def __init__(self, session:
        Session): self.session = session`, the repository classes a caller hands its
        session), or declared in the class body (`session: Session`)."""
        first, _, attr = key.partition(".")
        if not attr or "." in attr:
            return None
        base = self.index.evaluate_dotted(first, self.module, self.func)
        if not isinstance(base, Instance):
            return None
        cls = base.cls
        annotations: list[tuple[cst.BaseExpression, ModuleInfo]] = []
        if attr in cls.annotations:
            annotations.append((cls.annotations[attr], cls.module))
        for value, scope in zip(cls.attributes.get(attr, []),
                                cls.attribute_scopes.get(attr, []), strict=True):
            if isinstance(value, cst.Name) and value.value not in scope.locals:
                ann = param_annotation(scope, value.value)
                if ann is not None:
                    annotations.append((ann, scope.module))
        kinds: set[str] = set()
        for ann, module in annotations:
            for part in annotation_parts(ann):
                kind = self._named_kind(part, module)
                if kind is not None:
                    kinds.add(kind)
        # one kind, or none: an attribute assigned sessions of two kinds is not guessed
        return kinds.pop() if len(kinds) == 1 else None

    def owner(self, expr: cst.BaseExpression) -> str | None:
        """The resource a method call's receiver stands for: `cur` -> `conn`."""
        name = dotted_name(expr)
        return None if name is None else self.owner_of(name)

    def owner_of(self, name: str) -> str | None:
        """`owner` of the (dotted) name `name`."""
        if name in self.cursors:
            return self.cursors[name]
        if self.kind(name) is not None:
            return name
        return None

    def receiver(self, call: cst.Call) -> tuple[str, str] | None:
        """(resource, method) for `conn.execute(...)`, `cur.fetchall()`,
        `session.query(X).all()`, `conn.cursor().execute(...)`."""
        f = call.func
        if not isinstance(f, cst.Attribute):
            return None
        method = f.attr.value
        base: cst.BaseExpression = f.value
        if isinstance(base, cst.Name) and self.kind(base.value) is None \
                and base.value not in self.cursors:
            delegated = self._delegated_call(call)
            if delegated is not None:
                return delegated
        while True:
            owner = self.owner(base)
            if owner is not None:
                return owner, method
            if isinstance(base, cst.Call) and isinstance(base.func, cst.Attribute):
                base = base.func.value
                continue
            if isinstance(base, cst.Attribute) and not isinstance(base.value, cst.Name):
                base = base.value
                continue
            return None

    def is_local(self, key: str) -> bool:
        return key in self.func.locals and key not in self._params


def _produced_value(node: cst.CSTNode) -> cst.BaseExpression | None:
    """The value a `yield x` or `return x` hands out."""
    if isinstance(node, cst.Yield):
        return node.value if isinstance(node.value, cst.BaseExpression) else None
    if isinstance(node, cst.Return):
        return node.value
    return None


def module_binding(index: ProjectIndex, module: ModuleInfo, name: str,
                   depth: int = 0) -> tuple[ModuleInfo, str] | None:
    """The project module and top-level name a top-level `name` of `module` stands
    for: its own assignment, or what a `from pkg.db import name` of a project module
    brings (followed through re-exports, a few steps)."""
    if name in module.assigns:
        return module, name
    qualname = module.imports.get(name)
    source = None if qualname is None or depth > 3 \
        else _project_source(index, module, qualname)
    return None if source is None else module_binding(index, *source, depth + 1)


def _project_source(index: ProjectIndex, module: ModuleInfo,
                    qualname: str) -> tuple[ModuleInfo, str] | None:
    """The other project module and its top-level name that an import of `module`
    brings (`from pkg.db import conn`: `pkg.db`'s module and "conn"), or None."""
    if "." not in qualname:
        return None
    base, _, attr = qualname.rpartition(".")
    source = index.resolve_qualname(base, module)
    if not isinstance(source, ModuleRef) or source.module is module:
        return None
    return source.module, attr


def module_cursors(index: ProjectIndex, module: ModuleInfo) -> dict[str, tuple[ModuleInfo, str]]:
    """The top-level names of `module` (assigned or imported) that are cursors of a
    module-level connection: every assignment `cur = conn.cursor(...)` with `conn` a
    connection at that module's top level. name -> (the connection's module, its name).

    An imported name is followed alone through the modules its imports name
    (`_import_chain`), as far as a module that assigns it: asking each imported module
    for all of its own cursors asked for its imports too, and so loaded every project
    module the import graph reaches (122 of superset's modules for `models/core.py`'s
    first function, issue 32)."""
    memo: dict[int, tuple[ModuleInfo, dict[str, tuple[ModuleInfo, str]]]] = \
        index.derived(f"{_MODULE_CURSORS}:{index.resolution_level}", dict)
    known = memo.get(id(module))
    if known is not None and known[0] is module:
        return known[1]
    out = dict(_own_cursors(index, module))
    for name in module.imports:
        if name in module.assigns:
            continue
        for home, attr in _import_chain(index, module, name):
            if attr in home.assigns:
                found = _own_cursors(index, home).get(attr)
                if found is not None:
                    out[name] = found
                break
    memo[id(module)] = (module, out)
    return out


def _own_cursors(index: ProjectIndex, module: ModuleInfo) -> dict[str, tuple[ModuleInfo, str]]:
    """`module_cursors` of the names `module` assigns itself (its imports not followed)."""
    memo: dict[int, tuple[ModuleInfo, dict[str, tuple[ModuleInfo, str]]]] = \
        index.derived(f"{_OWN_CURSORS}:{index.resolution_level}", dict)
    known = memo.get(id(module))
    if known is not None and known[0] is module:
        return known[1]
    out: dict[str, tuple[ModuleInfo, str]] = {}
    if "cursor" in module.source:
        for name, values in module.assigns.items():
            owners = {_cursor_owner(v) for v in values}
            owner = owners.pop() if len(owners) == 1 else None
            if owner is not None \
                    and isinstance(index.lookup_module_name(module, owner, 0), Connection):
                out[name] = (module, owner)
    memo[id(module)] = (module, out)
    return out


def _import_chain(index: ProjectIndex, module: ModuleInfo,
                  name: str) -> Iterator[tuple[ModuleInfo, str]]:
    """The other project modules and top-level names an import of `name` in `module`
    leads to, one step after another (`from pkg.db import cur` in a module that
    itself imports `cur` from `pkg.conn`: `pkg.db`'s cur, then `pkg.conn`'s), each
    module loaded only when the step before imports from it; a step back to a
    (module, name) already passed ends it."""
    seen = {(id(module), name)}
    while True:
        qualname = module.imports.get(name)
        source = None if qualname is None else _project_source(index, module, qualname)
        if source is None or (id(source[0]), source[1]) in seen:
            return
        seen.add((id(source[0]), source[1]))
        module, name = source
        yield module, name


def _plain_cursor_call(value: cst.BaseExpression) -> bool:
    """`conn.cursor()` (awaited or not) with no positional argument and no server-side
    keyword: a client-side cursor (`FunctionResources._client_cursors`)."""
    c = strip_await(value)[0]
    return isinstance(c, cst.Call) and isinstance(c.func, cst.Attribute) \
        and c.func.attr.value == "cursor" \
        and all(a.keyword is not None and a.keyword.value not in _SERVER_SIDE for a in c.args)


def _cursor_owner_attribute(value: cst.BaseExpression) -> str | None:
    """`self.conn` for `self.conn.cursor(...)` (awaited or not)."""
    call = strip_await(value)[0]
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
            and call.func.attr.value == "cursor" and isinstance(call.func.value, cst.Attribute):
        owner = dotted_name(call.func.value)
        if owner is not None and owner.startswith("self.") and owner.count(".") == 1:
            return owner
    return None


def _cursor_owner(value: cst.BaseExpression) -> str | None:
    """`conn` for `conn.cursor(...)` (awaited or not)."""
    call = strip_await(value)[0]
    if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) \
            and call.func.attr.value == "cursor" and isinstance(call.func.value, cst.Name):
        return call.func.value.value
    return None


def module_autocommit(index: ProjectIndex, module: ModuleInfo) -> frozenset[str]:
    """The top-level names of `module` (assigned or imported) that are module-level
    connections their own module's top level runs in autocommit: `conn.autocommit =
    True`, `conn.set_session(autocommit=True)`, `conn.set_autocommit(True)`,
    `conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)`, or `conn =
    psycopg.connect(..., autocommit=True)`, outside any function. An imported name
    is followed alone (`autocommit_name`), as `module_cursors` follows one."""
    memo: dict[int, tuple[ModuleInfo, frozenset[str]]] = index.derived(
        f"{_MODULE_AUTOCOMMIT}:{index.resolution_level}", dict)
    known = memo.get(id(module))
    if known is not None and known[0] is module:
        return known[1]
    own = _own_autocommit(index, module)
    found = set(own)
    for name in module.imports:
        if name not in own and any(attr in _own_autocommit(index, home)
                                   for home, attr in _import_chain(index, module, name)):
            found.add(name)
    result = frozenset(found)
    memo[id(module)] = (module, result)
    return result


def autocommit_name(index: ProjectIndex, module: ModuleInfo, name: str) -> bool:
    """`name in module_autocommit(index, module)`, following that name's import alone."""
    return name in _own_autocommit(index, module) or any(
        attr in _own_autocommit(index, home) for home, attr in _import_chain(index, module, name))


def _own_autocommit(index: ProjectIndex, module: ModuleInfo) -> frozenset[str]:
    """`module_autocommit` of the connections `module` assigns itself."""
    memo: dict[int, tuple[ModuleInfo, frozenset[str]]] = index.derived(
        f"{_OWN_AUTOCOMMIT}:{index.resolution_level}", dict)
    known = memo.get(id(module))
    if known is not None and known[0] is module:
        return known[1]
    own: set[str] = set()
    source = module.source
    if "autocommit" in source or "isolation_level" in source or "AUTOCOMMIT" in source:
        own = {t for t in autocommit_targets(module.tree) if "." not in t}
        for name, values in module.assigns.items():
            for v in values:
                call = strip_await(v)[0]
                ac = keyword_arg(call, "autocommit") if isinstance(call, cst.Call) else None
                if isinstance(ac, cst.Name) and ac.value == "True":
                    own.add(name)
        own = {n for n in own
               if isinstance(index.lookup_module_name(module, n, 0), Connection)}
    result = frozenset(own)
    memo[id(module)] = (module, result)
    return result


_MODULE_CURSORS = "resources.module_cursors"
_MODULE_AUTOCOMMIT = "resources.module_autocommit"
_OWN_CURSORS = "resources.own_cursors"
_OWN_AUTOCOMMIT = "resources.own_autocommit"

#: the index's memo (`ProjectIndex.derived`) of (id(def node), parameter) -> the kind
#: every caller passes (see `FunctionResources._module_connection_from_callers`)
_CALLER_KINDS = "resources.caller_kinds"
