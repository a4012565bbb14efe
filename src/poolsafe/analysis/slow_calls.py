"""Is this call slow work (PS207)? Recognised through what its receiver is, with the
families of `knowledge/slow_calls.py`: `client.chat.completions.create(...)` on an
`openai.OpenAI()`, `self.s3.upload_file(...)` on a `boto3.client("s3")`,
`subprocess.run(...)`, `time.sleep(30)`, `task.delay(x).get()`."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from poolsafe.analysis.cstutil import (
    call_name,
    dotted_name,
    iter_calls,
    keyword_arg,
    positional_args,
)
from poolsafe.analysis.django_settings import email_queued_in_database
from poolsafe.analysis.index import ProjectIndex, annotation_parts, param_annotation
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import external_name, qual_match, resolve
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    External,
    ExternalInstance,
    FunctionRef,
    Instance,
    LibraryObject,
    Value,
)
from poolsafe.knowledge.slow_calls import (
    ANY_METHOD,
    ANY_METHOD_ROOTS,
    CELERY_SUBMIT_METHODS,
    CELERY_WAIT_METHODS,
    FUTURE_SUBMIT_METHODS,
    FUTURE_WAIT_FUNCTIONS,
    FUTURE_WAIT_METHODS,
    FUTURE_WAIT_WHAT,
    IMPURE_BUILTINS,
    IO_METHOD_NAMES,
    OFFLOAD_FUNCTIONS,
    OFFLOAD_METHODS,
    OFFLOAD_PURE_DEPTH,
    OFFLOAD_WHAT,
    PURE_MODULES,
    SLEEP_FUNCTIONS,
    SLOW_FAMILIES,
    SLOW_SLEEP_SECONDS,
    SlowFamily,
)

#: every method name and prefix any family knows, for a cheap pre-check
SLOW_NAMES: frozenset[str] = frozenset(
    {path.rsplit(".", 1)[-1] for fam in SLOW_FAMILIES
     for table in (fam.clients, fam.factories) for paths in table.values() for path in paths}
    | {tail.rsplit(".", 1)[-1] for fam in SLOW_FAMILIES for _, tail in fam.functions}
    | {tail for _, tail in SLEEP_FUNCTIONS} | CELERY_WAIT_METHODS | FUTURE_WAIT_METHODS
    | {tail.rsplit(".", 1)[-1] for _, tail in OFFLOAD_FUNCTIONS} | set(OFFLOAD_METHODS)
    | {tail.rsplit(".", 1)[-1] for _, tail in FUTURE_WAIT_FUNCTIONS})
SLOW_PREFIXES: tuple[str, ...] = tuple(sorted({p for fam in SLOW_FAMILIES for p in fam.prefixes}))


def may_be_slow(name: str | None) -> bool:
    return name is not None and (name in SLOW_NAMES or name.startswith(SLOW_PREFIXES))


def may_be_slow_here(index: ProjectIndex, call: cst.Call) -> bool:
    """`may_be_slow` by the call's name, or any method call in a project that imports
    a client every method of which is slow (an XML-RPC proxy: `ANY_METHOD_ROOTS`)."""
    return may_be_slow(call_name(call)) or (
        isinstance(call.func, cst.Attribute) and index.derived(
            _ANY_METHOD_KEY, lambda: bool(index.modules_mentioning(ANY_METHOD_ROOTS))))


_ANY_METHOD_KEY = "_slow_any_method_clients"


def slow_call(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
              func: FunctionInfo | None,
              client: Callable[[cst.BaseExpression], Value | None] | None = None
              ) -> tuple[str, str] | None:
    """(the call as the message shows it, what kind of slow work) or None. `client`
    resolves a receiver the index cannot (an annotated parameter, a `with` binding)."""
    qual = external_name(index, call.func, module, func)
    if qual is not None:
        found = _slow_function(qual, call, lambda e: _constant_seconds(index, e, module, func),
                               lambda fam: _queued_mail(index, fam, call, module))
        if found is not None:
            return found
        pair = qual_match(qual, OFFLOAD_FUNCTIONS)
        if pair is not None and _offloads_work(index, call, OFFLOAD_FUNCTIONS[pair], module,
                                               func):
            return ".".join(qual.split(".")[-2:]), OFFLOAD_WHAT
        pair = qual_match(qual, FUTURE_WAIT_FUNCTIONS)
        if pair is not None and _waits_for_submissions(
                index, call, FUTURE_WAIT_FUNCTIONS[pair], module, func):
            return ".".join(qual.split(".")[-2:]), FUTURE_WAIT_WHAT
        # not a slow library function; `s3.upload_file` on a client another project
        # module made (`from app.clients import s3`) is read through its receiver
    f = call.func
    if not isinstance(f, cst.Attribute):
        return None
    method = f.attr.value
    if method in OFFLOAD_METHODS and _offloads_work(index, call, OFFLOAD_METHODS[method],
                                                    module, func):
        return f"{_shown(f.value)}.{method}", OFFLOAD_WHAT
    if method in CELERY_WAIT_METHODS and _celery_result(index, f.value, module, func):
        return f"{_shown(f.value)}.{method}", "a wait for a task result"
    if method in FUTURE_WAIT_METHODS and _waits_for_offloaded(index, f.value, module, func):
        return f"{_shown(f.value)}.{method}", FUTURE_WAIT_WHAT
    # the chain down to its root: `client.chat.completions.create` -> client, path
    path = [method]
    root: cst.BaseExpression = f.value
    plain = True  # no call in the middle of the chain
    while True:
        if isinstance(root, cst.Attribute) and (
                dotted_name(root) is None or not _is_root(index, root, module, func)):
            path.append(root.attr.value)
            root = root.value
        elif isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute) \
                and _chain_call(index, root, module, func):
            plain = False
            path.append(root.func.attr.value)
            root = root.func.value
        else:
            break
    dotted = ".".join(reversed(path))
    for fam in SLOW_FAMILIES:
        methods = _root_methods(index, root, fam, module, func, client)
        if methods is None or _queued_mail(index, fam, call, module):
            continue
        if (plain and (dotted in methods or ANY_METHOD in methods)) or (
                fam.prefixes and method.startswith(tuple(fam.prefixes))):
            return f"{_shown(root)}.{dotted}", fam.what
    return None


def _offloads_work(index: ProjectIndex, call: cst.Call, position: int, module: ModuleInfo,
                   func: FunctionInfo | None) -> bool:
    """The call hands a callable to a thread (`OFFLOAD_FUNCTIONS`, `OFFLOAD_METHODS`),
    and that callable is not a method of a connection, session or pool (database
    work run in a thread is not slow work of its own)."""
    args = positional_args(call)
    if len(args) <= position:
        return False
    target = args[position]
    if isinstance(target, cst.Call) and call_name(target) == "partial":
        inner = positional_args(target)
        if not inner:
            return False
        target = inner[0]
    if isinstance(target, cst.Attribute):
        owner = index.evaluate(target.value, module, func)
        if isinstance(owner, (Connection, LibraryObject)):
            return False
    callee = index.evaluate(target, module, func)
    return not (isinstance(callee, FunctionRef)
                and computes_only(index, callee.func, set(), 0))


def computes_only(index: ProjectIndex, func: FunctionInfo, seen: set[int], depth: int) -> bool:
    """A project function that only computes: synchronous, and every call in its body
    is a builtin other than `open`/`input`, a function or object of a pure module
    (`json`, `re`, `hashlib`, `sqlglot`, ...), a project function that only computes
    (followed `OFFLOAD_PURE_DEPTH` calls deep), or a method of a value the analysis
    cannot name whose name says no I/O (not `read`, `execute`, `send`, ...). Anything
    else (a slow call, a library this list does not know, a connection's method, a
    project function too deep to follow) counts as I/O."""
    if func.is_async or func.is_generator or depth > OFFLOAD_PURE_DEPTH:
        return False
    if id(func) in seen:
        return True
    seen.add(id(func))
    module = func.module
    for call in iter_calls(func.node.body):
        if slow_call(index, call, module, func) is not None:
            return False
        value = index.evaluate(call.func, module, func)
        if isinstance(value, FunctionRef):
            if not computes_only(index, value.func, seen, depth + 1):
                return False
            continue
        qual = external_name(index, call.func, module, func)
        if qual is not None:
            if "." not in qual:
                if qual in IMPURE_BUILTINS:
                    return False
                continue
            if qual.split(".", 1)[0] not in PURE_MODULES:
                return False
            continue
        if value is not None:
            return False  # a project class, a connection, a library object: not followed
        f = call.func
        if isinstance(f, cst.Attribute):
            if f.attr.value in IO_METHOD_NAMES:
                return False
            owner = index.evaluate(f.value, module, func)
            if owner is None:
                continue
            if isinstance(owner, (External, ExternalInstance)) \
                    and owner.qualname.split(".", 1)[0] in PURE_MODULES:
                continue
            return False
        return False  # a call of something unnamed (`handlers[k](x)`)
    return True


def _shown(expr: cst.BaseExpression) -> str:
    name = dotted_name(expr)
    if name is not None:
        return name
    if isinstance(expr, cst.Call):
        inner = dotted_name(expr.func)
        return f"{inner}(...)" if inner else "(...)"
    return "(...)"


def _is_root(index: ProjectIndex, expr: cst.Attribute, module: ModuleInfo,
             func: FunctionInfo | None) -> bool:
    """`self.s3` or `app.client` is a receiver of its own (something was assigned to
    it), not a step of a client's method path like `chat.completions`."""
    d = dotted_name(expr)
    if d is None:
        return False
    head = d.split(".", 1)[0]
    if head in {"self", "cls"}:
        return d.count(".") == 1
    return index.evaluate(expr, module, func) is not None \
        or class_attribute_client(index, expr, module, func) is not None


def class_attribute_client(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                           func: FunctionInfo | None) -> ExternalInstance | None:
    """`LlmClient.CLIENT` (or `self.CLIENT` in one of its methods) where the class body
    assigns `CLIENT = AzureOpenAI(...)` once and no method assigns it: the library
    object made when the module was imported, shared by every use of the class. Read
    for clients only (the index leaves class-body values other than connections
    unread)."""
    if not isinstance(expr, cst.Attribute):
        return None
    owner = index.evaluate(expr.value, module, func)
    if not isinstance(owner, (ClassRef, Instance)):
        return None
    cls = owner.cls
    attr = expr.attr.value
    values = cls.class_values.get(attr, [])
    if len(values) != 1 or attr in cls.attributes or attr in cls.methods:
        return None
    value = index.evaluate(values[0], cls.module, None)
    return value if isinstance(value, ExternalInstance) else None


def _chain_call(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
                func: FunctionInfo | None) -> bool:
    """A call in the middle of a chain (`s3.Bucket(b)`, `client.bucket(b).blob(k)`):
    followed down to the client unless it is a project function."""
    return index.evaluate(call.func, module, func) is None


#: how many method calls back from a receiver a client is looked for
_MAX_REACH = 3


def _root_methods(index: ProjectIndex, root: cst.BaseExpression, fam: SlowFamily,
                  module: ModuleInfo, func: FunctionInfo | None,
                  client: Callable[[cst.BaseExpression], Value | None] | None,
                  depth: int = 0) -> frozenset[str] | None:
    """The slow method paths of the family's client or factory that `root` is."""
    value = index.evaluate(root, module, func)
    if value is None and client is not None:
        value = client(root)
    if value is None:
        value = _injected_client(index, root, func)
    if value is None:
        value = class_attribute_client(index, root, module, func)
    if isinstance(value, ExternalInstance):
        pair = qual_match(value.qualname, fam.clients)
        if pair is not None:
            return fam.clients[pair]  # empty: only the family's prefixes are slow
    if isinstance(root, cst.Call) and depth < _MAX_REACH:
        # `make_client().calls.create(...)`: a project factory, one of whose returns
        # is the family's client (another may hand out a stand-in when the service
        # is switched off in settings)
        callee = index.evaluate(root.func, module, func)
        if isinstance(callee, FunctionRef) and not callee.func.is_generator:
            for ret in callee.func.returns:
                if ret.value is None:
                    continue
                found = _root_methods(index, ret.value, fam, callee.func.module, callee.func,
                                      None, depth + 1)
                if found is not None:
                    return found
    if value is not None and not isinstance(value, External):
        return None
    # unknown, or a name imported from a module this scan did not analyse
    # (`from app.clients import s3`): follow it to what it was assigned from
    bound = resolve(index, root, module, func)
    expr = bound.expr
    other = _other_than_none(expr)
    if other is not None and depth < _MAX_REACH:
        # `client = genai.Client(...) if KEY else None` (the feature off): where a
        # method is called on it, it is the client (on None the call would raise)
        return _root_methods(index, other, fam, bound.module, bound.func, None, depth + 1)
    if isinstance(expr, cst.Call):
        qual = external_name(index, expr.func, bound.module, bound.func)
        if qual is None and isinstance(expr.func, cst.Attribute):
            # `boto3.Session().client("s3")`
            owner = index.evaluate(expr.func.value, bound.module, bound.func)
            if isinstance(owner, ExternalInstance):
                qual = f"{owner.qualname}.{expr.func.attr.value}"
        if qual is not None:
            pair = qual_match(qual, fam.factories)
            if pair is not None:
                return fam.factories[pair]
            pair = qual_match(qual, fam.clients)
            if pair is not None:
                return fam.clients[pair]
        if fam.prefixes and isinstance(expr.func, cst.Attribute) and depth < _MAX_REACH \
                and _root_methods(index, expr.func.value, fam, bound.module, bound.func,
                                  None, depth + 1) is not None:
            # reached from a client through its methods (`storage.Client().bucket(b)`):
            # only the family's prefixes are slow on it
            return frozenset()
    return None


def _other_than_none(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The branch of `a if test else None` (or `None if test else a`) that is not
    `None`; None for anything else."""
    if not isinstance(expr, cst.IfExp):
        return None
    none = [isinstance(e, cst.Name) and e.value == "None" for e in (expr.body, expr.orelse)]
    if none == [False, True]:
        return expr.body
    if none == [True, False]:
        return expr.orelse
    return None


def _injected_client(index: ProjectIndex, root: cst.BaseExpression,
                     func: FunctionInfo | None) -> ExternalInstance | None:
    """`self.es` that a method of the class set from a parameter annotated with a
    library class (`def __init__(self, es: AsyncElasticsearch): self.es = es`), or
    that carries such an annotation itself (`self.es: AsyncElasticsearch = es`): the
    client the caller passed in."""
    if func is None or not (isinstance(root, cst.Attribute) and isinstance(root.value, cst.Name)
                            and root.value.value == "self"):
        return None
    scope = func
    while scope.cls is None and scope.parent is not None:
        scope = scope.parent
    cls = scope.cls
    if cls is None:
        return None
    attr = root.attr.value
    annotations: list[tuple[cst.BaseExpression, FunctionInfo | None]] = []
    for value, where in zip(cls.attributes.get(attr, []), cls.attribute_scopes.get(attr, []),
                            strict=True):
        if isinstance(value, cst.Name) and where is not None:
            found = param_annotation(where, value.value)
            if found is not None:
                annotations.append((found, where.parent))
    if attr in cls.annotations:
        annotations.append((cls.annotations[attr], None))
    for annotation, outer in annotations:
        for part in annotation_parts(annotation):
            qual = external_name(index, part, cls.module, outer)
            if qual is not None and "." in qual \
                    and not qual.startswith(("typing.", "collections.")):
                return ExternalInstance(qual)  # (not `Optional` nor a builtin)
    return None


def _queued_mail(index: ProjectIndex, fam: SlowFamily, call: cst.Call,
                 module: ModuleInfo) -> bool:
    """A send through Django's `EMAIL_BACKEND` (not given a `connection=` of its own)
    in a project whose settings queue mail in the database: a row insert, not slow."""
    return fam.django_email_backend and not any(
        a.keyword is not None and a.keyword.value == "connection" for a in call.args
    ) and email_queued_in_database(index, module, project_queue)


def _slow_function(qual: str, call: cst.Call,
                   seconds_of: Callable[[cst.BaseExpression], float | None],
                   skip: Callable[[SlowFamily], bool]) -> tuple[str, str] | None:
    short = ".".join(qual.split(".")[-2:])
    if qual_match(qual, SLEEP_FUNCTIONS) is not None:
        args = positional_args(call)
        seconds = seconds_of(args[0]) if args else None
        if seconds is None:
            return (short, "a sleep") if qual.startswith("time.") and args else None
        return (short, "a sleep") if seconds >= SLOW_SLEEP_SECONDS else None
    for fam in SLOW_FAMILIES:
        if qual_match(qual, fam.functions) is not None and not skip(fam):
            return short, fam.what
    return None


def _constant_seconds(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                      func: FunctionInfo | None) -> float | None:
    """A sleep's duration when it is a number: written in the call, or a module-level
    constant the call names (`time.sleep(RETRY_WAIT)` with `RETRY_WAIT = 0.1`, also
    imported from another module). A local variable is not followed: a backoff loop
    changes it (`delay *= 2`)."""
    seconds = _number(expr)
    if seconds is not None or not isinstance(expr, (cst.Name, cst.Attribute)):
        return seconds
    head: cst.BaseExpression = expr
    while isinstance(head, cst.Attribute):
        head = head.value
    scope = func
    while isinstance(head, cst.Name) and scope is not None:
        if head.value in scope.locals or head.value in scope.all_param_names():
            return None
        scope = scope.parent
    bound = resolve(index, expr, module, func)
    return _number(bound.expr) if bound.func is None and bound.expr is not expr else None


def _number(expr: cst.BaseExpression) -> float | None:
    if isinstance(expr, (cst.Integer, cst.Float)):
        try:
            return float(expr.evaluated_value)
        except (ValueError, OverflowError):
            return None
    return None


def _waits_for_offloaded(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                         func: FunctionInfo | None) -> bool:
    """`expr` is `executor.submit(fn, ...)` (`FUTURE_SUBMIT_METHODS`), directly or
    through a name bound to it, and `fn` may do I/O (`_offloads_work`)."""
    if isinstance(expr, cst.Name):
        expr = resolve(index, expr, module, func).expr
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in FUTURE_SUBMIT_METHODS):
        return False
    return _offloads_work(index, expr, FUTURE_SUBMIT_METHODS[expr.func.attr.value], module,
                          func)


def _waits_for_submissions(index: ProjectIndex, call: cst.Call, position: int,
                           module: ModuleInfo, func: FunctionInfo | None) -> bool:
    """`concurrent.futures.wait(futures)` / `as_completed(futures)` whose futures hold a
    submission that may do I/O (`_waits_for_offloaded`): a list, set, tuple or
    comprehension of `executor.submit(fn, ...)` (a dict's keys), directly or through
    a name bound to one, or a list the function fills with
    `futures.append(executor.submit(fn, ...))`."""
    args = positional_args(call)
    found = args[position] if len(args) > position else keyword_arg(call, "fs")
    if found is None:
        return False
    expr: cst.BaseExpression = found
    name = expr.value if isinstance(expr, cst.Name) else None
    if isinstance(expr, cst.Name):
        expr = resolve(index, expr, module, func).expr
    if isinstance(expr, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
        elements: list[cst.BaseExpression] = [expr.elt]
    elif isinstance(expr, cst.DictComp):
        elements = [expr.key]
    elif isinstance(expr, (cst.List, cst.Set, cst.Tuple)):
        elements = [el.value for el in expr.elements]
        if not elements and name is not None and func is not None:
            # `futures = []` then `futures.append(executor.submit(fn, ...))`
            elements = [c.args[0].value for c in iter_calls(func.node.body)
                        if isinstance(c.func, cst.Attribute) and c.func.attr.value == "append"
                        and isinstance(c.func.value, cst.Name) and c.func.value.value == name
                        and len(c.args) == 1]
    else:
        return False
    return any(_waits_for_offloaded(index, el, module, func) for el in elements)


def _celery_result(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                   func: FunctionInfo | None) -> bool:
    """`task.delay(...)` / `task.apply_async(...)`, directly or through a name."""
    if isinstance(expr, cst.Name):
        expr = resolve(index, expr, module, func).expr
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value in CELERY_SUBMIT_METHODS)


#: methods whose call on a model (or its manager) writes the message as a row
_ROW_WRITES = frozenset({"save", "create", "bulk_create"})
#: words in a decorator's name that make a function a queued task: calling it enqueues
#: the work (Celery's `@shared_task`, Huey's `@db_task`, Dramatiq's `@actor`)
_TASK_WORDS = ("task", "actor")


def project_queue(index: ProjectIndex, dotted: str) -> bool:
    """`EMAIL_BACKEND` names a project class whose `send_messages()` saves each
    message as a row (a `save()` / `create()` / `bulk_create()` call) and makes no
    slow call itself, nor in the project functions it calls (one deep), a queued task
    it calls aside (a function whose decorator's name says `task` or `actor`: the
    call enqueues the send for a worker, outside the request's transaction)."""
    mod, _, name = dotted.rpartition(".")
    for module in index.by_name.get(mod, []):
        cls = module.classes.get(name)
        method = cls.methods.get("send_messages") if cls is not None else None
        if method is None:
            continue
        saves = False
        for call in iter_calls(method.node):
            f = call.func
            if isinstance(f, cst.Attribute) and f.attr.value in _ROW_WRITES:
                saves = True
            if slow_call(index, call, module, method) is not None:
                return False
            target = index.evaluate(call.func, module, method)
            if not isinstance(target, FunctionRef) or _queued_task(target.func):
                continue
            if any(slow_call(index, c, target.func.module, target.func) is not None
                   for c in iter_calls(target.func.node)):
                return False
        return saves
    return False


def _queued_task(func: FunctionInfo) -> bool:
    for d in func.node.decorators:
        expr = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        name = dotted_name(expr) or ""
        if any(w in name.rsplit(".", 1)[-1].lower() for w in _TASK_WORDS):
            return True
    return False
