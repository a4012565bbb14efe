"""Django's connection handling outside the request cycle, as data (PS107).

Django opens one connection per thread on first use and closes it only at the end
of a request (`request_started` / `request_finished` run `close_old_connections`).
Code that runs on another thread, or in a process that serves no requests, keeps
its thread's connection until something calls `connection.close()`,
`close_old_connections()` or `connections.close_all()`.
"""

from __future__ import annotations

#: calls that close the current thread's connections: (package, dotted tail)
DJANGO_CLOSERS: frozenset[tuple[str, str]] = frozenset({
    ("django.db", "close_old_connections"),
    ("django.db", "connection.close"),
    ("django.db", "connections.close_all"),
    # django-apscheduler's decorator: closes old connections before and after the job
    ("django_apscheduler", "close_old_connections"),
})

#: the final name of a decorator that closes connections around the function
#: (django-apscheduler's `util.close_old_connections`, or a project's own)
CLOSING_DECORATOR_NAMES: frozenset[str] = frozenset({"close_old_connections"})

#: methods that close a Django connection (`connections["default"].close()`), or all
#: of them (`connections.close_all()`). `close_if_unusable_or_obsolete()` is what
#: `close_old_connections()` runs on each of `connections.all()`: it closes a broken
#: connection or one older than CONN_MAX_AGE (at once under the default of 0)
DJANGO_CONNECTION_CLOSE_METHODS: frozenset[str] = frozenset(
    {"close", "close_all", "close_if_unusable_or_obsolete"})

#: the names through which code reaches a connection directly
DJANGO_CONNECTION_OBJECTS: frozenset[tuple[str, str]] = frozenset({
    ("django.db", "connection"),
    ("django.db", "connections"),
})

#: `transaction.commit()` and friends run statements on the thread's connection
DJANGO_TRANSACTION_CALLS: frozenset[str] = frozenset(
    {"commit", "rollback", "atomic", "set_autocommit", "savepoint", "on_commit"})
DJANGO_TRANSACTION: frozenset[tuple[str, str]] = frozenset(
    ("django.db", f"transaction.{name}") for name in DJANGO_TRANSACTION_CALLS)

#: `with transaction.atomic():` / `@transaction.atomic` (PS207): the transaction
#: begins at the block's first query (psycopg and MySQLdb send BEGIN lazily) and
#: holds the connection, its locks and its snapshot until the block ends
DJANGO_ATOMIC: frozenset[tuple[str, str]] = frozenset({("django.db", "transaction.atomic")})
#: `DATABASES = {"default": {..., "ATOMIC_REQUESTS": True}}`: Django runs every view
#: (sync ones: an async view cannot be made atomic) inside `transaction.atomic()`,
#: so from its first query the request holds the connection in a transaction; a
#: view decorated `@transaction.non_atomic_requests` is left out
DJANGO_ATOMIC_REQUESTS_SETTING = "ATOMIC_REQUESTS"
DJANGO_NON_ATOMIC_REQUESTS: frozenset[tuple[str, str]] = frozenset(
    {("django.db", "transaction.non_atomic_requests")})
#: `EMAIL_BACKEND = "mailer.backend.DbBackend"` (django-mailer): Django's mail API
#: (`send_mail()`, `EmailMessage(...).send()`) then only inserts the message into the
#: database, through the same connection and inside the open transaction, and a
#: separate command (`manage.py send_mail`) delivers the queue: no mail server is
#: reached while the transaction is open (PS207). Not django-post-office's backend:
#: it sends at once when its priority is `now`
DJANGO_EMAIL_BACKEND_SETTING = "EMAIL_BACKEND"
DJANGO_DB_QUEUE_EMAIL_BACKENDS: frozenset[str] = frozenset({"mailer.backend.DbBackend"})
#: what runs a query inside such a block: a manager chain that evaluates
#: (`Order.objects.select_for_update().get(...)`), a model instance's methods, a
#: cursor's statements
DJANGO_QUERYSET_QUERIES: frozenset[str] = frozenset({
    "get", "create", "update", "delete", "get_or_create", "update_or_create",
    "bulk_create", "bulk_update", "count", "exists", "first", "last", "aggregate",
    "in_bulk", "earliest", "latest", "contains",
})
DJANGO_INSTANCE_QUERIES: frozenset[str] = frozenset({"save", "delete", "refresh_from_db"})
DJANGO_CURSOR_QUERIES: frozenset[str] = frozenset({"execute", "executemany"})
#: a Django or DRF view class's own lookup (`self.get_object()`: `GenericAPIView` and
#: `SingleObjectMixin` run `queryset.get(...)`), and Django's shortcuts that query
DJANGO_VIEW_LOOKUPS: frozenset[str] = frozenset({"get_object"})
DJANGO_SHORTCUT_QUERIES: frozenset[tuple[str, str]] = frozenset(
    {("django.shortcuts", "get_object_or_404"), ("django.shortcuts", "get_list_or_404")})
#: what a manager query returns, read by `analysis.django_instances` (the methods of a
#: model's rows): the queryset methods that return a queryset of the same model's rows
DJANGO_QUERYSET_CHAIN: frozenset[str] = frozenset({
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related",
    "select_for_update", "only", "defer", "distinct", "using", "annotate", "reverse",
})
#: the manager and queryset methods that return one row
DJANGO_ROW_GETTERS: frozenset[str] = frozenset({
    "get", "first", "last", "create", "earliest", "latest"})
#: Django's shortcut that returns one row of the model it is given first
DJANGO_ROW_SHORTCUTS: frozenset[tuple[str, str]] = frozenset(
    {("django.shortcuts", "get_object_or_404")})

#: DRF's generic views: `self.get_serializer(...)` makes an instance of the view's
#: `serializer_class`, so `serializer.save()` runs that class's own `save()` /
#: `create()` (where a project often calls an API)
DRF_SERIALIZER_GETTERS: frozenset[str] = frozenset({"get_serializer"})
DRF_SERIALIZER_ATTRIBUTE = "serializer_class"

#: Django model base classes (anything the ORM's `objects` manager hangs from)
DJANGO_MODEL_ROOT = "django"
#: the package-name prefix of third-party Django applications whose `models` modules
#: hold models the project queries (`django_apscheduler.models.DjangoJobExecution`,
#: `django_celery_beat.models.PeriodicTask`)
DJANGO_APP_PREFIX = "django_"
#: third-party Django applications not named `django_...` whose `models` modules hold
#: abstract model bases a project's models derive from (django-model-utils'
#: `model_utils.models.TimeStampedModel`, django-polymorphic, django-mptt,
#: django-taggit, django-ordered-model, django-safedelete, Wagtail, modelcluster)
DJANGO_MODEL_APPS: frozenset[str] = frozenset({
    "model_utils", "polymorphic", "mptt", "taggit", "ordered_model", "safedelete",
    "wagtail", "modelcluster"})
#: `get_user_model()` returns the project's user model (`AUTH_USER_MODEL`, or
#: `django.contrib.auth.models.User`): `User = get_user_model()`, then `User.objects`
DJANGO_USER_MODEL_GETTERS: frozenset[tuple[str, str]] = frozenset(
    {("django", "contrib.auth.get_user_model")})
#: `Model.<attr>` on a Django model runs queries
DJANGO_MANAGER_ATTRIBUTES: frozenset[str] = frozenset({"objects", "_default_manager"})

#: relation fields: a model's `ManyToManyField` attribute, and the `related_name` of any
#: relation field, name a related manager (`shelf.books.filter(...)`) that runs
#: queries like `Book.objects` does
DJANGO_RELATION_FIELDS: frozenset[tuple[str, str]] = frozenset({
    ("django.db.models", "ForeignKey"), ("django.db.models", "OneToOneField"),
    ("django.db.models", "ManyToManyField"),
})
DJANGO_MANY_TO_MANY: frozenset[tuple[str, str]] = frozenset(
    {("django.db.models", "ManyToManyField")})
#: the relation fields whose attribute on an instance is the related row itself,
#: loaded from the database on first read unless already cached
DJANGO_FORWARD_RELATIONS: frozenset[tuple[str, str]] = frozenset({
    ("django.db.models", "ForeignKey"), ("django.db.models", "OneToOneField"),
})
DJANGO_RELATED_NAME = "related_name"
#: the words a module declaring related managers spells (for the prefilter and the
#: index's search)
DJANGO_RELATION_WORDS: tuple[str, ...] = ("ManyToManyField", DJANGO_RELATED_NAME)
#: a related manager's methods that build or run a query
DJANGO_RELATED_MANAGER_METHODS: frozenset[str] = frozenset({
    "all", "filter", "exclude", "get", "values", "values_list", "count", "exists",
    "first", "last", "create", "update", "delete", "add", "remove", "set", "clear",
    "order_by", "get_or_create", "update_or_create", "aggregate", "annotate",
})

#: a project's own manager or queryset class (`class OrderManager(models.Manager)`):
#: in its methods `self.create(...)`, `self.filter(...).update(...)` run queries like
#: `Order.objects.create(...)`, and a model's `objects = OrderManager()` makes
#: `Order.objects.open_order(...)` a call of that class's method
DJANGO_MANAGER_BASES: frozenset[tuple[str, str]] = frozenset({
    ("django.db.models", "Manager"), ("django.db.models", "BaseManager"),
    ("django.db.models", "QuerySet"),
})

#: under `ATOMIC_REQUESTS`, access checks that read `request.user` before the view's
#: body runs, inside the view's transaction: the session and user lookups (DRF's
#: token lookup) are queries, so the transaction is open from the body's first
#: statement. Decorators of a function view, mixins of a class view, and DRF
#: permission classes that let no anonymous request through.
DJANGO_LOGIN_DECORATORS: frozenset[tuple[str, str]] = frozenset({
    ("django.contrib.auth.decorators", "login_required"),
    ("django.contrib.auth.decorators", "permission_required"),
    ("django.contrib.auth.decorators", "user_passes_test"),
    ("django.contrib.admin.views.decorators", "staff_member_required"),
})
DJANGO_LOGIN_MIXINS: frozenset[tuple[str, str]] = frozenset({
    ("django.contrib.auth.mixins", "LoginRequiredMixin"),
    ("django.contrib.auth.mixins", "PermissionRequiredMixin"),
    ("django.contrib.auth.mixins", "UserPassesTestMixin"),
})
DRF_AUTHENTICATED_PERMISSIONS: frozenset[tuple[str, str]] = frozenset({
    ("rest_framework.permissions", "IsAuthenticated"),
    ("rest_framework.permissions", "IsAdminUser"),
    ("rest_framework.permissions", "DjangoModelPermissions"),
    ("rest_framework.permissions", "DjangoObjectPermissions"),
})
#: a view class's attribute, and the function-view decorator, naming those
DRF_PERMISSION_ATTRIBUTE = "permission_classes"

#: the calls that run a form's (or a model's) cleaning methods, `clean()` and
#: `clean_<field>()` (Django's form and model validation)
DJANGO_CLEANING_CALLS: frozenset[str] = frozenset({"is_valid", "full_clean"})
DJANGO_CLEAN_METHOD = "clean"

#: management commands: `class Command(BaseCommand)`, whose `handle()` runs outside
#: any request
DJANGO_COMMAND_BASES: frozenset[tuple[str, str]] = frozenset({
    ("django.core.management", "BaseCommand"),
})

#: `call_command("name")` runs the project command `name`'s `handle()` in the calling
#: thread (its module: `<app>.management.commands.<name>`, its class `Command`)
DJANGO_CALL_COMMAND: frozenset[tuple[str, str]] = frozenset(
    {("django.core.management", "call_command")})
DJANGO_COMMAND_CLASS = "Command"
DJANGO_COMMAND_METHOD = "handle"

#: `sync_to_async(f, thread_sensitive=False)` runs `f` on a pool's worker thread
SYNC_TO_ASYNC: frozenset[tuple[str, str]] = frozenset({("asgiref.sync", "sync_to_async")})

#: a model's signals, sent with the saved (or deleted) row as the `instance` keyword:
#: a receiver registered for them with `sender=Order` gets an `Order` there
#: (`@receiver(post_save, sender=Order)`, `post_save.connect(f, sender=Order)`)
DJANGO_MODEL_SIGNALS: frozenset[tuple[str, str]] = frozenset(
    ("django.db.models", f"signals.{name}")
    for name in ("pre_save", "post_save", "pre_delete", "post_delete", "post_init"))
DJANGO_RECEIVER: frozenset[tuple[str, str]] = frozenset({("django.dispatch", "receiver")})
DJANGO_SIGNAL_INSTANCE = "instance"
#: manager methods that return one row, an instance of the model
#: (`Order.objects.get(pk=1)`, `.filter(...).first()`)
DJANGO_ROW_LOOKUPS: frozenset[str] = frozenset(
    {"get", "create", "first", "last", "earliest", "latest"})

#: classes whose instances write a model row with `save()`: a Django `ModelForm`
#: (`form.save()`, unless `commit=False`, inserts or updates its `Meta.model` row and
#: returns it) and a Django REST framework model serializer (`serializer.save()` runs
#: its `create()` / `update()`, which call the model's manager or `instance.save()`)
DJANGO_ROW_WRITERS: frozenset[tuple[str, str]] = frozenset({
    ("django.forms", "ModelForm"),
    ("django.forms.models", "ModelForm"),
    ("rest_framework.serializers", "ModelSerializer"),
    ("rest_framework.serializers", "HyperlinkedModelSerializer"),
})
#: the writer's method that writes, and the keyword that makes it build the row only
#: (`form.save(commit=False)`)
DJANGO_ROW_WRITER_SAVE = "save"
DJANGO_ROW_WRITER_NO_COMMIT = "commit"
#: the nested class and attribute that name a writer's model (`class Meta: model = Order`)
DJANGO_WRITER_META = "Meta"
DJANGO_WRITER_MODEL = "model"

#: the methods of `threading.Thread` that run `run()` and return after it on every
#: path (`_bootstrap_inner` catches what `run()` raises): a project base class whose
#: override closes the connection there (`super()._bootstrap_inner()` then
#: `close_old_connections()`) closes it for every subclass's `run()`
THREAD_RUN_WRAPPERS: frozenset[str] = frozenset({"_bootstrap_inner"})

#: the classes that run a function on a new thread: `Thread(target=f)`, `Timer(t, f)`
THREAD_CLASSES: frozenset[tuple[str, str]] = frozenset({
    ("threading", "Thread"), ("threading", "Timer"),
})

#: the registrations `analysis.project_facts.jobs()` reports that run the function on
#: another thread (Celery's Django integration closes connections around each task:
#: its registrations are not listed)
THREAD_JOB_REGISTRATIONS: frozenset[str] = frozenset({"Thread", "Timer", "submit", "add_job"})
#: ... and the decorator registrations, by their last name
THREAD_JOB_DECORATORS: frozenset[str] = frozenset({"scheduled_job"})
#: registrations whose thread ends with the function (`Thread`, `Timer`): any close
#: before it ends is enough; the others run on long-lived worker threads, which keep
#: the connection after an exception unless it is closed in a `finally`
ONE_SHOT_THREADS: frozenset[str] = frozenset({"Thread", "Timer"})

#: executor methods that run a function on a worker thread, and the position of the
#: function in their arguments (`executor.map(f, items)`, `loop.run_in_executor(None,
#: f)`, a thread pool's `pool.imap_unordered(f, items)`), also on an executor bound by
#: `with ThreadPoolExecutor() as pool:`
EXECUTOR_METHODS: dict[str, int] = {
    "submit": 0, "map": 0, "run_in_executor": 1,
    "imap": 0, "imap_unordered": 0, "starmap": 0, "map_async": 0, "starmap_async": 0,
    "apply": 0, "apply_async": 0,
}
#: a future's method whose callback runs on the worker thread that finished the task
#: (`executor.submit(f).add_done_callback(cb)`: `cb` is a task of that worker too)
DONE_CALLBACK = "add_done_callback"
#: the executors whose workers are threads of this process: `ThreadPoolExecutor` and
#: `multiprocessing`'s thread pools (`multiprocessing.dummy.Pool`,
#: `multiprocessing.pool.ThreadPool`; `multiprocessing.Pool`'s workers are processes)
EXECUTOR_TYPES: frozenset[tuple[str, str]] = frozenset({
    ("concurrent.futures", "ThreadPoolExecutor"),
    ("multiprocessing.dummy", "Pool"),
    ("multiprocessing.pool", "ThreadPool"),
})

#: callbacks that a library runs outside the request cycle, for the life of the
#: process (PS107): each keeps its thread's connection between its runs unless it
#: closes it. paho-mqtt's client callbacks (`client.on_message = f`, also
#: `client.message_callback_add(topic, f)`) run in `loop_forever()` (a long-running
#: command) or on `loop_start()`'s network thread
PAHO_CLIENT_TYPES: frozenset[tuple[str, str]] = frozenset({("paho.mqtt.client", "Client")})
PAHO_CALLBACK_ATTRIBUTES: frozenset[str] = frozenset({
    "on_message", "on_connect", "on_disconnect", "on_subscribe", "on_unsubscribe",
    "on_publish", "on_log",
})
#: methods that register a callback, and the position of the function in their arguments
PAHO_CALLBACK_METHODS: dict[str, int] = {"message_callback_add": 1}
#: the AWS IoT Device SDK's MQTT client (`AWSIoTPythonSDK`, v1): `connect()` starts its
#: network thread and an event-consumer thread that runs every message callback
#: (`client.subscribe(topic, qos, f)`, `subscribeAsync(..., messageCallback=f)`) and the
#: `onMessage` / `onOnline` / `onOffline` attributes for the life of the client; an
#: exception in a callback ends that thread's dispatch loop
AWSIOT_CLIENT_TYPES: frozenset[tuple[str, str]] = frozenset({
    ("AWSIoTPythonSDK.MQTTLib", "AWSIoTMQTTClient"),
})
AWSIOT_CALLBACK_ATTRIBUTES: frozenset[str] = frozenset({"onMessage", "onOnline", "onOffline"})
#: methods that register a message callback: (position, keyword) of the function
AWSIOT_CALLBACK_METHODS: dict[str, tuple[int, str]] = {
    "subscribe": (2, "callback"),
    "subscribeAsync": (3, "messageCallback"),
}
#: pika (RabbitMQ): `channel.basic_consume(queue, on_message_callback)` (pika 1.x; before
#: 1.0 `basic_consume(consumer_callback, queue=...)`) registers a consumer callback that
#: `channel.start_consuming()` runs, message after message, for the life of the consumer;
#: an exception in the callback leaves `start_consuming()`
PIKA_PACKAGE = "pika"
PIKA_CONSUME_METHOD = "basic_consume"
PIKA_CALLBACK_KEYWORDS: frozenset[str] = frozenset({"on_message_callback", "consumer_callback"})
#: the positions the callback may take (1.x: second, after the queue; 0.x: first)
PIKA_CALLBACK_POSITIONS: tuple[int, ...] = (1, 0)
PIKA_CONSUME_LOOP = "start_consuming"
#: the `schedule` package: `schedule.every(5).minutes.do(job)` (or a `Scheduler()`'s
#: `every()`) runs `job` wherever `run_pending()` is called: a long-running loop or a
#: thread that loops over it
SCHEDULE_MODULE = "schedule"
SCHEDULE_TYPES: frozenset[tuple[str, str]] = frozenset({("schedule", "Scheduler")})
SCHEDULE_EVERY = "every"
SCHEDULE_DO = "do"
#: pyTelegramBotAPI (`telebot`): a `TeleBot` runs the handlers its decorators
#: (`@bot.message_handler(...)`) or `register_*` methods register for the life of the
#: process: on its worker threads (`threaded=True`, the default) or in the polling loop
#: itself (`threaded=False`); either way the thread keeps its Django connection between
#: updates. `AsyncTeleBot` (async handlers on the event loop) is not listed
TELEBOT_TYPES: frozenset[tuple[str, str]] = frozenset({("telebot", "TeleBot")})
#: a project subclass of `TeleBot` (`class AnswerBot(TeleBot)` that adds reply helpers)
#: runs its handlers and middlewares the same way: the library class it derives from
TELEBOT_BOT_ROOTS: tuple[str, ...] = ("telebot.TeleBot",)
#: pyTelegramBotAPI's middlewares. A class middleware handed to
#: `bot.setup_middleware(Auth())` (a `BaseMiddleware` subclass, with
#: `use_class_middlewares=True`) has its `pre_process` run before every handler and its
#: `post_process` after it, on the thread that runs the handler; a function decorated
#: with `@bot.middleware_handler(update_types=[...])` (`apihelper.ENABLE_MIDDLEWARE`) runs
#: in the polling loop for every update. Either keeps that thread's Django connection
#: between updates, as a handler does.
TELEBOT_MIDDLEWARE_SETUP = "setup_middleware"
TELEBOT_MIDDLEWARE_METHODS: tuple[str, ...] = ("pre_process", "post_process")
TELEBOT_MIDDLEWARE_DECORATOR = "middleware_handler"
TELEBOT_HANDLER_DECORATORS: frozenset[str] = frozenset({
    "message_handler", "edited_message_handler", "channel_post_handler",
    "edited_channel_post_handler", "inline_handler", "chosen_inline_handler",
    "callback_query_handler", "shipping_query_handler", "pre_checkout_query_handler",
    "poll_handler", "poll_answer_handler", "my_chat_member_handler",
    "chat_member_handler", "chat_join_request_handler", "message_reaction_handler",
    "business_message_handler",
})
#: a handler decorator's filter (`@bot.message_handler(func=is_member)`): the bot runs it
#: for every update in its polling thread, before choosing the handler
TELEBOT_FILTER_KEYWORD = "func"
#: `bot.register_message_handler(callback, ...)`: the callback is the first argument
TELEBOT_REGISTER_METHODS: frozenset[str] = frozenset(
    f"register_{name}" for name in TELEBOT_HANDLER_DECORATORS)
#: python-telegram-bot before v20 (`telegram.ext.Updater`): `updater.start_polling()`
#: (or `start_webhook()`) runs the `Dispatcher` on a thread of its own for the life of the
#: process, and the dispatcher runs each handler's synchronous callback on that thread
#: (or on its worker pool with `run_async=True`): the thread keeps its Django connection
#: between updates. The handler classes, and the position of the callback in their
#: arguments (also `callback=`); handlers nested in a `ConversationHandler`'s entry points,
#: states and fallbacks are the same calls. v20's callbacks are coroutine functions run on
#: the event loop (not listed: an `async def` callback is left alone); a dispatcher fed by
#: hand (`dispatcher.process_update(update)` in a webhook view) runs them in the caller's
#: thread, so the callbacks count only when the project starts an updater
PTB_HANDLER_CALLBACKS: dict[tuple[str, str], int] = {
    **{("telegram", name): 0 for name in (
        "CallbackQueryHandler", "InlineQueryHandler", "ChosenInlineResultHandler",
        "PollHandler", "PollAnswerHandler", "PreCheckoutQueryHandler",
        "ShippingQueryHandler", "ChatMemberHandler", "ChatJoinRequestHandler")},
    **{("telegram", name): 1 for name in (
        "CommandHandler", "MessageHandler", "TypeHandler", "StringCommandHandler",
        "StringRegexHandler")},
    ("telegram", "PrefixHandler"): 2,
}
PTB_CALLBACK_KEYWORD = "callback"
#: `dispatcher.add_error_handler(on_error)` (before v20): the dispatcher runs the error
#: callback (its first argument, also `callback=`) on the thread that ran the handler that
#: raised, so it is read as a handler callback; the package its dispatcher comes from
#: (Falcon's `app.add_error_handler(Exception, handler)` runs in the request's thread)
PTB_ERROR_HANDLER_METHOD = "add_error_handler"
PTB_PACKAGE = "telegram"
#: the `Updater` methods that start the dispatcher's thread
PTB_UPDATER_STARTS: frozenset[str] = frozenset({"start_polling", "start_webhook"})
#: `bot.register_next_step_handler(message, callback)` and its kin: the bot runs the
#: callback on the next message of that chat (or the reply to that message), the way it
#: runs a handler; the callback is the second argument (also `callback=`)
TELEBOT_NEXT_STEP_METHODS: frozenset[str] = frozenset({
    "register_next_step_handler", "register_next_step_handler_by_chat_id",
    "register_for_reply", "register_for_reply_by_message_id",
})
#: the `background` package's `@background.task`: every call runs the function on the
#: package's `ThreadPoolExecutor`, whose worker threads outlive the task
BACKGROUND_TASK_DECORATORS: frozenset[tuple[str, str]] = frozenset({("background", "task")})

#: management commands the project does not define that use the database
#: (`call_command("dumpdata")` in a job runs Django's own command in that thread):
#: Django's, and the database backup packages' (django-archive's `archive`,
#: django-dbbackup's `dbbackup` / `dbrestore`); a project command of the same name
#: is read instead
DJANGO_DATABASE_COMMANDS: frozenset[str] = frozenset({
    "dumpdata", "loaddata", "flush", "migrate", "createcachetable", "clearsessions",
    "inspectdb", "remove_stale_contenttypes", "archive", "dbbackup", "dbrestore",
})

#: words a file spells when it can hold such code: a database word and a thread word
#: (the prefilter selects a file with one of each; importing django alone is not a
#: reason to read a file). Flask-SQLAlchemy's `Model.query` / `db.session` in a thread
#: (PS206) is found the same way.
DJANGO_ORM_WORDS: frozenset[str] = frozenset(
    {"objects", "cursor", "close_old_connections", "query", "session",
     # django-constance's `config` (database backend: every read is a query)
     "constance"})

#: django-constance: `from constance import config`, then `config.PLUG_ON`. With the
#: database backend (`CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"`
#: in settings) every attribute read is a query on the thread's Django connection
#: (cached reads too, on a cache miss); the default Redis backend touches no database.
DJANGO_CONSTANCE_CONFIG: frozenset[str] = frozenset({"constance.config"})
DJANGO_CONSTANCE_BACKEND_SETTING = "CONSTANCE_BACKEND"
DJANGO_CONSTANCE_DATABASE_BACKEND = "constance.backends.database"
DJANGO_THREAD_WORDS: frozenset[str] = frozenset({
    "Thread", "Timer", "ThreadPoolExecutor", "sync_to_async", "add_job", "scheduled_job",
    "run_in_executor", "BaseCommand", "start_background_task", "ThreadPool", "dummy",
    DONE_CALLBACK,
    *PAHO_CALLBACK_ATTRIBUTES, *PAHO_CALLBACK_METHODS, "run_pending", SCHEDULE_EVERY,
    *AWSIOT_CALLBACK_ATTRIBUTES, *AWSIOT_CALLBACK_METHODS, PIKA_CONSUME_METHOD,
    "background", *TELEBOT_HANDLER_DECORATORS, *TELEBOT_REGISTER_METHODS,
    *TELEBOT_NEXT_STEP_METHODS, *(name for _, name in PTB_HANDLER_CALLBACKS),
    TELEBOT_MIDDLEWARE_SETUP, TELEBOT_MIDDLEWARE_DECORATOR,
})
