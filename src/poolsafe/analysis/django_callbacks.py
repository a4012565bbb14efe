"""Functions a library runs outside Django's request cycle for the life of the process
(read by PS107 through `django_threads`): paho-mqtt and AWS IoT SDK MQTT client
callbacks, pika consumer callbacks, `schedule` jobs, `background.task` functions,
pyTelegramBotAPI (`telebot`) handlers and middlewares (also of a project subclass of
`TeleBot`) and python-telegram-bot's (before v20) synchronous
handler and error-handler callbacks. Each keeps its thread's Django connection between
its runs unless it closes it.
"""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.cstutil import (
    call_name,
    chain_links,
    iter_calls,
    iter_nodes,
    positional_args,
)
from poolsafe.analysis.index import ProjectIndex, derived_root
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.project_facts import facts
from poolsafe.analysis.resolution import (
    decorator_target,
    inherited_method,
    instance_type,
    qual_match,
)
from poolsafe.analysis.values import External, ExternalInstance, FunctionRef, Instance, Value
from poolsafe.knowledge.django import (
    AWSIOT_CALLBACK_ATTRIBUTES,
    AWSIOT_CALLBACK_METHODS,
    AWSIOT_CLIENT_TYPES,
    BACKGROUND_TASK_DECORATORS,
    PAHO_CALLBACK_ATTRIBUTES,
    PAHO_CALLBACK_METHODS,
    PAHO_CLIENT_TYPES,
    PIKA_CALLBACK_KEYWORDS,
    PIKA_CALLBACK_POSITIONS,
    PIKA_CONSUME_LOOP,
    PIKA_CONSUME_METHOD,
    PIKA_PACKAGE,
    PTB_CALLBACK_KEYWORD,
    PTB_ERROR_HANDLER_METHOD,
    PTB_HANDLER_CALLBACKS,
    PTB_PACKAGE,
    SCHEDULE_DO,
    SCHEDULE_EVERY,
    SCHEDULE_MODULE,
    SCHEDULE_TYPES,
    TELEBOT_BOT_ROOTS,
    TELEBOT_FILTER_KEYWORD,
    TELEBOT_HANDLER_DECORATORS,
    TELEBOT_MIDDLEWARE_DECORATOR,
    TELEBOT_MIDDLEWARE_METHODS,
    TELEBOT_MIDDLEWARE_SETUP,
    TELEBOT_NEXT_STEP_METHODS,
    TELEBOT_REGISTER_METHODS,
    TELEBOT_TYPES,
)
from poolsafe.knowledge.libraries import root_matches

#: how each runs its function, for messages
PAHO_CALLBACK = "a paho MQTT client callback"
AWSIOT_CALLBACK = "an AWS IoT SDK MQTT client callback, run on its event-consumer thread"
PIKA_CALLBACK = ("a pika consumer's `start_consuming()` (its `basic_consume` callback) for "
                 "every message")
SCHEDULE_JOB = "a `schedule` job (`every(...).do()`)"
BACKGROUND_TASK = "a `background.task` (the package's thread pool)"
TELEBOT_HANDLER = "a pyTelegramBotAPI handler (`TeleBot` runs it for the life of the process)"
PTB_HANDLER = ("a python-telegram-bot handler (an `Updater`'s dispatcher thread runs it for "
               "the life of the process)")
TELEBOT_MIDDLEWARE = ("a pyTelegramBotAPI middleware (`TeleBot` runs it for every update, for "
                      "the life of the process)")
TELEBOT_FILTER = ("a pyTelegramBotAPI handler filter (`func=`, run by `TeleBot`'s polling "
                  "for every update)")
#: the ones whose failure ends the loop that runs them (an exception leaves paho's
#: `loop_forever()`, the AWS IoT SDK's dispatch loop, pika's `start_consuming()` and
#: `schedule.run_pending()`):
#: any close in the function is enough, as for a thread that ends with it; a
#: `background.task`'s worker thread outlives it and needs the close in a `finally`
ANY_CLOSE_SUFFICES: frozenset[str] = frozenset({PAHO_CALLBACK, AWSIOT_CALLBACK, PIKA_CALLBACK,
                                                SCHEDULE_JOB})
#: the words of a module that registers one
WORDS: tuple[str, ...] = (*PAHO_CALLBACK_ATTRIBUTES, *PAHO_CALLBACK_METHODS,
                          *sorted(AWSIOT_CALLBACK_ATTRIBUTES), *sorted(AWSIOT_CALLBACK_METHODS),
                          PIKA_CONSUME_METHOD, SCHEDULE_EVERY,
                          "background", *sorted(TELEBOT_HANDLER_DECORATORS),
                          *sorted(TELEBOT_REGISTER_METHODS), *sorted(TELEBOT_NEXT_STEP_METHODS),
                          TELEBOT_MIDDLEWARE_SETUP, TELEBOT_MIDDLEWARE_DECORATOR,
                          *sorted(name for _, name in PTB_HANDLER_CALLBACKS),
                          PTB_ERROR_HANDLER_METHOD)


def callback_entries(index: ProjectIndex, module: ModuleInfo) -> dict[int, str]:
    """id(FunctionDef) -> how, for the functions `module` registers."""
    out: dict[int, str] = {}
    scopes: list[FunctionInfo | None] = [None, *module.all_functions]
    consumes = _consumes(module)
    for scope in scopes:
        body: cst.CSTNode = module.tree if scope is None else scope.node.body
        for node in iter_nodes(body):
            if isinstance(node, cst.Assign):
                _mqtt_attribute(index, module, scope, node, out)
        for call in (iter_calls(module.tree) if scope is None else scope.direct_calls):
            _mqtt_method(index, module, scope, call, out)
            if consumes:
                _pika_consume(index, module, scope, call, out)
            _schedule_do(index, module, scope, call, out)
            _telebot_register(index, module, scope, call, out)
            _telebot_middleware(index, module, scope, call, out)
            _ptb_handler(index, module, scope, call, out)
            _ptb_error_handler(index, module, scope, call, out)
    for f in module.all_functions:
        if _background_task(index, module, f):
            out.setdefault(id(f.node), BACKGROUND_TASK)
        else:
            for deco in _telebot_decorators(index, module, f):
                name = decorator_target(deco)
                if isinstance(name, cst.Attribute) \
                        and name.attr.value == TELEBOT_MIDDLEWARE_DECORATOR:
                    out.setdefault(id(f.node), TELEBOT_MIDDLEWARE)
                    continue
                out.setdefault(id(f.node), TELEBOT_HANDLER)
                found = _telebot_filter(index, module, f.parent, deco)
                if found is not None:
                    out.setdefault(id(found.node), TELEBOT_FILTER)
    return out


def _telebot_decorators(index: ProjectIndex, module: ModuleInfo,
                        f: FunctionInfo) -> list[cst.Decorator]:
    """`@bot.message_handler(...)` (or another of `TeleBot`'s handler decorators, or its
    `middleware_handler`) on a `telebot.TeleBot`, also one built in another module."""
    out: list[cst.Decorator] = []
    for deco in f.node.decorators:
        target = decorator_target(deco)
        if isinstance(target, cst.Attribute) \
                and (target.attr.value in TELEBOT_HANDLER_DECORATORS
                     or target.attr.value == TELEBOT_MIDDLEWARE_DECORATOR) \
                and _telebot_bot(index, index.evaluate(target.value, module, f.parent)):
            out.append(deco)
    return out


def _telebot_bot(index: ProjectIndex, value: Value | None) -> bool:
    """A `telebot.TeleBot`, or an instance of a project class derived from it."""
    if instance_type(value, TELEBOT_TYPES):
        return True
    return isinstance(value, Instance) \
        and derived_root(index, value.cls, TELEBOT_BOT_ROOTS) is not None


def _telebot_middleware(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                        call: cst.Call, out: dict[int, str]) -> None:
    """`bot.setup_middleware(Auth())` on a TeleBot: the middleware's (synchronous)
    `pre_process` and `post_process`, its own or a project base's, run around every
    handler on the handler's thread."""
    f = call.func
    args = positional_args(call)
    if not (isinstance(f, cst.Attribute) and f.attr.value == TELEBOT_MIDDLEWARE_SETUP
            and args and _telebot_bot(index, index.evaluate(f.value, module, scope))):
        return
    middleware = index.evaluate(args[0], module, scope)
    if not isinstance(middleware, Instance):
        return
    for name in TELEBOT_MIDDLEWARE_METHODS:
        method = inherited_method(index, middleware.cls, name)
        if method is not None and not method.is_async:
            out.setdefault(id(method.node), TELEBOT_MIDDLEWARE)


def _telebot_filter(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                    deco: cst.Decorator) -> FunctionInfo | None:
    """The project function a handler decorator's filter (`func=`) runs: the function
    named, or the one a project factory returns (`func=in_state(MENU)` whose body
    returns `partial(check, state)` or a nested `check`)."""
    expr = deco.decorator
    if not isinstance(expr, cst.Call):
        return None
    value = next((a.value for a in expr.args
                  if a.keyword is not None and a.keyword.value == TELEBOT_FILTER_KEYWORD), None)
    if value is None or isinstance(value, cst.Lambda):
        return None
    if not isinstance(value, cst.Call):
        return _function(index, module, scope, value)
    factory = index.evaluate(value.func, module, scope)
    if not isinstance(factory, FunctionRef):
        return None
    for ret in factory.func.returns:
        returned = ret.value
        if isinstance(returned, cst.Call) and call_name(returned) == "partial":
            args = positional_args(returned)
            returned = args[0] if args else None
        if returned is not None:
            found = _function(index, factory.func.module, factory.func, returned)
            if found is not None:
                return found
    return None


def _telebot_register(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                      call: cst.Call, out: dict[int, str]) -> None:
    """`bot.register_message_handler(callback, ...)` on a `telebot.TeleBot`, and
    `bot.register_next_step_handler(message, callback)` (the callback second)."""
    f = call.func
    args = positional_args(call)
    if not (isinstance(f, cst.Attribute) and (f.attr.value in TELEBOT_REGISTER_METHODS
                                              or f.attr.value in TELEBOT_NEXT_STEP_METHODS)):
        return
    pos = 1 if f.attr.value in TELEBOT_NEXT_STEP_METHODS else 0
    callback = args[pos] if len(args) > pos else None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "callback":
            callback = arg.value
    if callback is None or not _telebot_bot(index, index.evaluate(f.value, module, scope)):
        return
    found = _function(index, module, scope, callback)
    if found is not None:
        out.setdefault(id(found.node), TELEBOT_HANDLER)


def _ptb_handler(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                 call: cst.Call, out: dict[int, str]) -> None:
    """`CommandHandler("start", start)`, `CallbackQueryHandler(on_button)` (python-telegram-bot's
    `telegram.ext` handler classes, also nested in a `ConversationHandler`) with a
    synchronous project callback: before v20 the dispatcher's thread runs it."""
    kind = index.evaluate(call.func, module, scope)
    if not isinstance(kind, External):
        return
    match = qual_match(kind.qualname, PTB_HANDLER_CALLBACKS)
    if match is None:
        return
    _note_sync_callback(index, module, scope, call, PTB_HANDLER_CALLBACKS[match], out)


def _ptb_error_handler(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                       call: cst.Call, out: dict[int, str]) -> None:
    """`dp.add_error_handler(on_error)` (python-telegram-bot before v20) with a synchronous
    project callback, in a module that imports from `telegram`: the dispatcher's thread
    runs it after a handler raised, as it runs the handlers. A receiver known to be
    another library's object (Falcon's `app.add_error_handler(Exception, handler)`) is
    left alone."""
    f = call.func
    if not (isinstance(f, cst.Attribute) and f.attr.value == PTB_ERROR_HANDLER_METHOD):
        return
    if not any(root_matches(q, PTB_PACKAGE) for q in module.imports.values()):
        return
    receiver = index.evaluate(f.value, module, scope)
    if isinstance(receiver, (External, ExternalInstance)) \
            and not root_matches(receiver.qualname, PTB_PACKAGE):
        return
    _note_sync_callback(index, module, scope, call, 0, out)


def _note_sync_callback(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                        call: cst.Call, position: int, out: dict[int, str]) -> None:
    """The synchronous project function a python-telegram-bot registration hands its
    dispatcher (the argument at `position`, or `callback=`) runs on the dispatcher's
    thread: note it as a handler."""
    args = positional_args(call)
    callback = args[position] if len(args) > position else None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == PTB_CALLBACK_KEYWORD:
            callback = arg.value
    found = _function(index, module, scope, callback) if callback is not None else None
    if found is not None and not found.is_async:
        out.setdefault(id(found.node), PTB_HANDLER)


def _function(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
              expr: cst.BaseExpression) -> FunctionInfo | None:
    value = index.evaluate(expr, module, scope)
    if isinstance(value, FunctionRef):
        return value.func
    if value is None and scope is not None and isinstance(expr, cst.Name):
        # a function defined inside `scope` (`def on_message(...)` in `handle()`)
        nested = [f for f in module.all_functions
                  if f.parent is scope and f.name == expr.value]
        return nested[-1] if nested else None
    return None


def _mqtt_attribute(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                    node: cst.Assign, out: dict[int, str]) -> None:
    """`client.on_message = handler` on a paho `Client`, `client.onMessage = handler` on
    an AWS IoT SDK `AWSIoTMQTTClient`."""
    for target in node.targets:
        t = target.target
        if not isinstance(t, cst.Attribute):
            continue
        name = t.attr.value
        kinds = [(PAHO_CALLBACK_ATTRIBUTES, PAHO_CLIENT_TYPES, PAHO_CALLBACK),
                 (AWSIOT_CALLBACK_ATTRIBUTES, AWSIOT_CLIENT_TYPES, AWSIOT_CALLBACK)]
        for names, types, how in kinds:
            if name in names and _client(index.evaluate(t.value, module, scope), types):
                for found in _registered(index, module, scope, node.value):
                    out.setdefault(id(found.node), f"{how} (`{name}`)")


def _mqtt_method(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                 call: cst.Call, out: dict[int, str]) -> None:
    """`client.message_callback_add("sensors/#", handler)` on a paho `Client`;
    `client.subscribe("sensors/#", 1, handler)` (or `subscribeAsync(...,
    messageCallback=handler)`) on an AWS IoT SDK `AWSIoTMQTTClient`."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return
    name = f.attr.value
    if name in PAHO_CALLBACK_METHODS:
        pos, keyword, types, how = PAHO_CALLBACK_METHODS[name], "", PAHO_CLIENT_TYPES, \
            PAHO_CALLBACK
    elif name in AWSIOT_CALLBACK_METHODS:
        (pos, keyword), types, how = AWSIOT_CALLBACK_METHODS[name], AWSIOT_CLIENT_TYPES, \
            AWSIOT_CALLBACK
    else:
        return
    args = positional_args(call)
    callback = args[pos] if len(args) > pos else None
    for arg in call.args:
        if keyword and arg.keyword is not None and arg.keyword.value == keyword:
            callback = arg.value
    if callback is not None and _client(index.evaluate(f.value, module, scope), types):
        for found in _registered(index, module, scope, callback):
            out.setdefault(id(found.node), f"{how} (`{name}`)")


def _consumes(module: ModuleInfo) -> bool:
    """The module runs a pika consumer loop: it imports pika and calls `start_consuming()`
    (a channel whose callbacks only a one-off `process_data_events()` runs, an RPC
    client waiting for one reply in a request, keeps no thread's connection)."""
    if not any(root_matches(q, PIKA_PACKAGE) for q in module.imports.values()):
        return False
    calls = [*iter_calls(module.tree), *(c for f in module.all_functions for c in f.direct_calls)]
    return any(isinstance(c.func, cst.Attribute) and c.func.attr.value == PIKA_CONSUME_LOOP
               for c in calls)


def _pika_consume(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                  call: cst.Call, out: dict[int, str]) -> None:
    """`channel.basic_consume(queue="orders", on_message_callback=handle)` (or pika 0.x's
    `basic_consume(handle, queue=...)`) in a module that runs `start_consuming()`, on a
    receiver that is pika's or that the analysis cannot type (`self.channel`, a
    parameter); another library's object (`kombu`'s) is left alone."""
    f = call.func
    if not (isinstance(f, cst.Attribute) and f.attr.value == PIKA_CONSUME_METHOD):
        return
    receiver = index.evaluate(f.value, module, scope)
    if isinstance(receiver, (External, ExternalInstance)) \
            and not root_matches(receiver.qualname, PIKA_PACKAGE):
        return
    args = positional_args(call)
    given = [a.value for a in call.args
             if a.keyword is not None and a.keyword.value in PIKA_CALLBACK_KEYWORDS]
    given += [args[pos] for pos in PIKA_CALLBACK_POSITIONS if pos < len(args)]
    for callback in given:
        found = _registered(index, module, scope, callback)
        for function in found:
            out.setdefault(id(function.node), PIKA_CALLBACK)
        if found:
            return


def _client(value: Value | None, types: frozenset[tuple[str, str]]) -> bool:
    """An instance of the library's client class, or of the same class in a copy of the
    library the project commits (`lambda/AWSIoTPythonSDK/MQTTLib.py`, vendored for
    another deployment, which the scan resolves `import AWSIoTPythonSDK.MQTTLib` to)."""
    if instance_type(value, types):
        return True
    if not isinstance(value, Instance):
        return False
    return any(value.cls.name == cls and any(name == library or name.endswith("." + library)
                                             for name in value.cls.module.names)
               for library, cls in types)


def _registered(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                expr: cst.BaseExpression) -> list[FunctionInfo]:
    """The project functions a registration's callback expression stands for: the
    function it names, or, when it is a plain parameter of the function that registers
    (`def subscribe(topic, callback): client.subscribe(topic, 1, callback)`), the
    functions that function's project callers pass there (`subscribe("status",
    on_status)`)."""
    found = _function(index, module, scope, expr)
    if found is not None:
        return [found]
    if scope is None or not isinstance(expr, cst.Name) or scope.parent is not None:
        return []
    params = [p.name.value for p in scope.node.params.params]
    if expr.value not in params or any(isinstance(v, cst.BaseExpression)
                                       for v in scope.locals.get(expr.value, [])):
        return []  # not a parameter, or bound again in the function
    position = params.index(expr.value) - (1 if scope.cls is not None else 0)
    out: list[FunctionInfo] = []
    with index.full_resolution():
        sites = facts(index).callers(scope)
    for site in sites:
        args = positional_args(site.call)
        given = next((a.value for a in site.call.args
                      if a.keyword is not None and a.keyword.value == expr.value), None)
        if given is None and 0 <= position < len(args):
            given = args[position]
        passed = _function(index, site.module, site.func, given) if given is not None else None
        if passed is not None and all(passed is not f for f in out):
            out.append(passed)
    return out


def _schedule_do(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                 call: cst.Call, out: dict[int, str]) -> None:
    """`schedule.every(10).minutes.do(job, ...)`, `scheduler.every().day.at("00:00")
    .do(job)` on a `schedule.Scheduler`, `every(5).seconds.do(job)` imported."""
    f = call.func
    args = positional_args(call)
    if not (isinstance(f, cst.Attribute) and f.attr.value == SCHEDULE_DO and args):
        return
    node = next((link for link in chain_links(f.value)
                 if isinstance(link, cst.Call) and _every(link.func)), None)
    if node is None:
        return
    if not _schedule_owner(index, module, scope, node.func):
        return
    found = _function(index, module, scope, args[0])
    if found is not None:
        out.setdefault(id(found.node), SCHEDULE_JOB)


def _every(expr: cst.BaseExpression) -> bool:
    return (isinstance(expr, cst.Attribute) and expr.attr.value == SCHEDULE_EVERY) or (
        isinstance(expr, cst.Name) and expr.value == SCHEDULE_EVERY)


def _schedule_owner(index: ProjectIndex, module: ModuleInfo, scope: FunctionInfo | None,
                    every: cst.BaseExpression) -> bool:
    """`schedule.every`, a `Scheduler()`'s `every`, or `every` imported from `schedule`."""
    if isinstance(every, cst.Attribute):
        owner = index.evaluate(every.value, module, scope)
        return (isinstance(owner, External) and owner.qualname == SCHEDULE_MODULE) \
            or instance_type(owner, SCHEDULE_TYPES)
    value = index.evaluate(every, module, scope)
    return isinstance(value, External) and value.qualname == f"{SCHEDULE_MODULE}.{SCHEDULE_EVERY}"


def background_task(index: ProjectIndex, f: FunctionInfo) -> bool:
    """`@background.task` (the `background` package): a call of `f` submits it to the
    package's thread pool, its body does not run in the caller."""
    return _background_task(index, f.module, f)


def _background_task(index: ProjectIndex, module: ModuleInfo, f: FunctionInfo) -> bool:
    """`@background.task` (the `background` package)."""
    for deco in f.node.decorators:
        value = index.evaluate(decorator_target(deco), module, f.parent)
        if isinstance(value, External) and qual_match(value.qualname,
                                                      BACKGROUND_TASK_DECORATORS) is not None:
            return True
    return False
