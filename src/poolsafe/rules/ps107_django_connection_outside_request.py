"""PS107 django-connection-outside-request."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.project_facts import is_test_module
from poolsafe.core.model import RawFinding
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps107 import INVALID, VALID

_WHY = {
    "never": "opens a connection for that thread that nothing closes",
    "exception": "closes its connection only when no exception is raised, and the "
                 "worker thread outlives the task",
    "loop": "keeps one connection open across every iteration (Django closes "
            "connections only at the end of a request)",
}


class DjangoConnectionOutsideRequest(Rule):
    """
    ## What it does
    Flags Django database work (a model's `objects` manager, `connection.cursor()`,
    or a project function that does either, two calls deep, a helper defined inside the
    calling function included) in code that runs outside Django's request cycle and
    never closes the connection it opens:

    - a `threading.Thread` target, the `run()` of a project subclass of
      `threading.Thread`, or a `threading.Timer` function with no
      `connection.close()`, `close_old_connections()` or `connections.close_all()`
      (a target named at run time is followed when what it names is certain:
      `getattr(self, "sync")` with a literal name is `self.sync`, and
      `super().sync` or `super(Cls, self).sync` in a method of a class with one
      base is that base's method, or the nearest up a chain of single bases; a
      name held in a variable, or a class with several bases, is not followed);
    - a task run on a worker thread that outlives it (`ThreadPoolExecutor.submit()` /
      `.map()`, the thread pools of `multiprocessing` (`multiprocessing.dummy.Pool`,
      `multiprocessing.pool.ThreadPool`: `map()`, `imap_unordered()`,
      `apply_async()`, ...), `loop.run_in_executor()`, an APScheduler job (`add_job`,
      `@scheduled_job`), a `sync_to_async(thread_sensitive=False)` function, a
      done-callback of an executor's future (`executor.submit(f).add_done_callback(cb)`,
      or `future.add_done_callback(cb)` on the future `submit()` returned: `cb` runs on
      the worker thread that finished the task)) whose close is not in a `finally` (an
      exception skips it, and the worker keeps the connection);
    - a `while` loop in a management command's `handle()`, or in a project function or
      method `handle()` calls (`handle()` -> `run()`), that uses the database on each
      iteration and closes nothing between them (not a loop that runs inside
      `transaction.atomic`, on `handle()` or around the loop or the call that reaches
      it: one transaction holds one connection by design, and a close there would
      end it; nor a loop that drains a worklist, `while options["command"]:` with
      `options["command"].pop(0)` and nothing put back: it ends with the list; nor a
      batch drain that waits for nothing, `while Order.objects.filter(...).exists():`
      (or `.count()`, or a local queryset of that model) whose body updates or deletes
      rows of the same model in bulk: it ends when no row is left; nor a retry loop,
      `while retries < MAX_RETRIES:` around a `try` that `break`s (or returns) when the
      work succeeds and whose every `except` counts the attempt (`retries += 1`) or
      leaves the loop: it runs at most that many rounds, even when it sleeps between
      them (a loop that goes on after a success, only counting its errors, is still
      reported); nor a queue drain that claims the row it takes and waits for
      nothing, `while (job := get_scheduled_jobs().first()):` whose body, before any
      `continue`, calls a method of the row's model that sets a field the queryset filters on to
      another value and saves (`job.mark_running()`: `self.status =
      self.Status.RUNNING`, `self.save()`, against `filter(status=Status.SCHEDULED)`;
      the values are literals or members of one choices class): each round takes one
      row out of the queue, and the loop ends when none is left. A claim that sets
      the same value, or another field, a `continue` before it, and a loop that
      sleeps between rounds (a poller) stay reported; nor a daemon whose every
      round's database work is in `with transaction.atomic():` blocks, each inside
      a `try` whose handler catches a connection error (`except OperationalError:`,
      `DatabaseError`, `Exception`) and goes on without raising: one connection per
      process is the design, and a dead one is not kept, since `atomic()`'s failed
      rollback makes Django close it and the next round connects anew. A query
      outside the blocks, which would fail on the dead connection round after
      round, or a handler that raises or catches something else, stays reported);
    - a callback a library runs for the life of the process: a paho-mqtt client's
      callbacks (`client.on_message = f`, `client.message_callback_add(topic, f)`,
      run by `loop_forever()` in a long-running command or on `loop_start()`'s
      thread), an AWS IoT Device SDK client's message callbacks
      (`AWSIoTMQTTClient`'s `subscribe(topic, qos, f)`, `subscribeAsync(...,
      messageCallback=f)`, `client.onMessage = f`, run on the event-consumer thread
      its `connect()` starts; also when the project commits a copy of the SDK), a
      pika consumer's callback (`channel.basic_consume(queue,
      on_message_callback=f)`, or pika 0.x's `basic_consume(f, queue=...)`, in a
      module that runs `channel.start_consuming()`, which calls `f` for every
      message for the life of the consumer), each
      also when registered through a project function's parameter (`def
      listen(topic, handler): client.subscribe(topic, 1, handler)`: the functions
      its callers pass), a `schedule` job (`schedule.every(5).minutes.do(f)`, or a
      `Scheduler()`'s, run wherever `run_pending()` loops) with no close, and a
      `background.task` function (the `background` package's thread pool) whose
      close is not in a `finally` (a call of such a task only submits it: the caller
      runs none of its body, and is not reported for it), and a pyTelegramBotAPI
      handler (`@bot.message_handler(...)`, `@bot.callback_query_handler(...)` and the
      other handler decorators of a `telebot.TeleBot`, or its `register_*_handler(f)`
      methods), which the bot runs on its worker threads (or, with `threaded=False`,
      in its polling loop) for the life of the process, with no close in a `finally`;
      so is a handler's filter (`func=has_order`, or the function a project factory
      returns, `func=in_state(MENU)` returning `partial(check, MENU)`), which the
      polling thread runs for every update, and a next-step handler
      (`bot.register_next_step_handler(message, f)`, `..._by_chat_id`,
      `register_for_reply`), and a middleware: the `pre_process` / `post_process` of
      a class middleware installed with `bot.setup_middleware(M())` (its own or a
      project base's; they run around every handler on the handler's thread) and a
      `@bot.middleware_handler(...)` function (run in the polling loop for every
      update); a project subclass of `TeleBot` (`class ReplyBot(TeleBot)`) counts as
      a `TeleBot`; and a python-telegram-bot (before v20) handler's
      synchronous callback (`CommandHandler("start", f)`, `MessageHandler(filters, f)`,
      `CallbackQueryHandler(f)`, ..., also in a `ConversationHandler`, and the error
      callback of `dispatcher.add_error_handler(f)` in a module that imports
      `telegram`), which an
      `Updater` started with `start_polling()` / `start_webhook()` runs on its
      dispatcher's thread (a dispatcher fed by hand in a webhook view,
      `dispatcher.process_update()`, runs it in the request's thread and is not
      reported; v20's coroutine callbacks run on the event loop).

    A close is `connection.close()`, `close_old_connections()` or
    `connections.close_all()`, or the same written out: `close()` or
    `close_if_unusable_or_obsolete()` (what `close_old_connections()` calls: it
    closes a connection that is broken or older than `CONN_MAX_AGE`) on
    `connection`, on `connections["default"]`, or on each `conn` of `for conn in
    connections.all():`. A loop over `connections.all()` that only opens or reads
    them (`conn.ensure_connection()`), or a method of the same name on an object of
    your own, closes nothing. In a coroutine, a close awaited through asgiref,
    `await sync_to_async(close_old_connections)()` (thread-sensitive, the default),
    is a close: it runs on the one thread that also runs Django's async ORM queries
    (`async for order in Order.objects...`); under `thread_sensitive=False` it runs
    on a pool's thread and closes that thread's connection, not the coroutine's.

    The function run may live in a module that spells no Django word at all: its
    database work is then a project helper of another module (`Thread(target=refresh)`
    where `refresh` calls `rebuild_totals()` from `reports.py`, which queries the
    models), and it is read all the same. A module that cannot be imported runs
    none of its functions: one whose top-level `from helpers import name` asks a
    project module for a name it never defines (nor spells, nor star-imports, nor
    serves from a module `__getattr__`) raises ImportError, and is not reported. Only
    when that module is the one the import can mean: in a repository of two Django
    projects whose apps share a name (`billing/orders/` and `shop/orders/`), an
    `orders.models` that one project lacks a name of says nothing of the other's.

    The function run may call what its starter passes it: `Thread(target=every,
    args=[lambda: expire(), 60])` (or `kwargs={"job": expire}`, or
    `executor.submit(every, expire, 60)`) with `def every(job, delay): while True:
    job(); time.sleep(delay)` runs `expire` on the thread. The project function passed
    (by name, or the one a lambda's body calls) is read as the target's database work,
    reported at the parameter's call (`job()`), unless it closes the connection itself.

    The starter may pass the target a model row instead: `Thread(target=mail_receipt,
    args=(receipt,))`, where `receipt` is a row of a project model (from a manager
    lookup, `Receipt.objects.get(...)`, or built from the class, `Receipt(...)`). A
    read of one of the row's forward relations in the target (`receipt.customer.email`,
    `customer` a `ForeignKey` or `OneToOneField` of `Receipt`) loads the related row on
    the thread unless it is cached: it is the target's database work, reported at the
    first such read. The row's own columns (`receipt.amount`, `receipt.customer_id`)
    are no query, nor is a relation every starter has already loaded on the row: its
    lookup joins it (`select_related("customer")`, or `select_related()` for all), or
    the starter read it before (which caches it on the instance). The row's own
    queries in the target (`receipt.save()`, `receipt.delete()`) are database work too.
    The row may also be what a `ModelForm`'s or a DRF model serializer's `save()`
    returns (its `Meta.model`), or what a project function or method returns when
    every value it returns is one row from a manager lookup (a form's own `def
    save(self): return Mail.objects.create(...)`).

    The target may be a function defined inside the one that starts the thread (a
    view's `def load(rows): ...` next to `Thread(target=load)` or
    `executor.submit(load, rows)`): the view runs in the request, the closure on the
    new thread. It may also be a method of a class a project method returns
    (`jobclass = self.get_jobclass(); Thread(target=jobclass.run)`): the one class
    every return of that method names, or, when its returns name none (a base method
    its subclasses override), the project class the starter asserts the result
    derives from (`assert issubclass(jobclass, Job)`). A `ModelForm`'s or a DRF model
    serializer's `save()` (not `save(commit=False)`) in a target writes its model:
    database work.

    A scheduler class imported as an optional dependency (`try: from
    apscheduler.schedulers.background import BackgroundScheduler` / `except
    ImportError: BackgroundScheduler = None`) is the import wherever it is called:
    the `None` placeholder is no object, so `BackgroundScheduler()` builds a
    scheduler and its `add_job` functions are jobs.

    A model is a project subclass of Django's `Model`, one of Django's own, one of a
    third-party Django application's `models` module (a `django_...` package:
    `django_apscheduler.models.DjangoJobExecution`; or django-model-utils,
    django-polymorphic, django-mptt, django-taggit, django-ordered-model,
    django-safedelete, Wagtail, modelcluster), a project subclass of such an abstract
    base (`class Email(TimeStampedModel)` from `django_extensions.db.models`), or what
    `get_user_model()` returns (`User = get_user_model()`, then `User.objects`); a model
    passed to a project function that queries it through its parameter
    (`count_rows(Order)`) is that function's database work.

    The function run may be a bound method (`Thread(target=instance.send)` in a
    `post_save` receiver, whose `instance` is the `sender=` model; `pool.submit(self.sync)`
    with `sync` inherited; a parameter annotated with a project class; the row
    `Order.objects.get(...)` returns; an attribute set only to an injected
    collaborator with a default, `self.repo = repo or Repository()`, whose
    `Repository` method runs when nothing is injected), and its database work a model instance's
    `save()` / `delete()`, a project management command run by
    `call_command("name")` (its `handle()`), or a command the project does not
    define that uses the database (`call_command("dumpdata")`, `loaddata`, `flush`,
    `migrate`, django-archive's `archive`, django-dbbackup's `dbbackup`), or a
    django-constance setting read (`config.PLUG_ON` after `from constance import
    config`) when the settings choose its database backend (`CONSTANCE_BACKEND =
    "constance.backends.database.DatabaseBackend"`): each read is a query on the
    thread's connection (with the default Redis backend it is not).
    `call_command` itself may be the thread's target (`Thread(target=call_command,
    args=["sync"])`, `executor.submit(call_command, "sync")`), the name a literal or a
    parameter of the function that starts the thread whose callers pass literals: that
    is reported at the call that starts the thread.

    A job of an APScheduler scheduler is reported only when the project starts a
    scheduler somewhere (`scheduler.start()`, or `.start()` on a receiver it cannot
    tell apart): with the start left commented out, no job runs. Nor is a job whose every
    registration sits in a plain module-level function that builds and starts its
    own scheduler and that no project file calls, imports or even names but at its
    `def` (`def start_scheduler(): ...
    scheduler.add_job(sync, ...)` left uncalled): it is never registered. A scheduler
    a function is handed (`def register(scheduler): scheduler.add_job(sync, ...)`) is
    one when every project call of that function passes one (`register(
    BlockingScheduler())` in a management command, a local `BackgroundScheduler()` in a
    view).

    A function decorated with `close_old_connections` (django-apscheduler's
    `util.close_old_connections`, or a project decorator that calls one of the closes)
    is fine, and so is the `run()` of a thread class whose own or project base's
    `_bootstrap_inner()` (the `threading.Thread` method that runs `run()` and returns
    after it on every path) closes (`super()._bootstrap_inner()` then
    `close_old_connections()`, a project's helper base class). Request and response
    code is managed by Django and is never reported; Celery tasks are not either
    (Celery's Django integration closes connections around each task). Reported at
    the first database work in the function.

    ## Tests, one-shot code and processes
    Test modules are not reported: a thread a test starts ends with the test run, and
    its connection with the test database. A management command's `while` loop is
    reported when it is the long-running process (a scheduler, a queue consumer):
    it waits between rounds (`time.sleep()`, `event.wait()`), or nothing but a test
    that compares nothing (`while True:`, `while not self.stopped():`) ends it. A
    command runs once per process: the same work done once, or in a finite loop (a
    batch loop `while done < total:` or one that `break`s when nothing is left, a
    prompt repeated until the answer is valid), closes with the command's process.
    So does a paging or batch loop whose test reads a name the loop's body sets
    (`while has_more:` with `has_more = page.has_more`, `while current < last:`
    with `current = end + 1`), also through a call (`while chunk.exists():` with
    `chunk = pending.filter(pk__gt=last)`, `while rows := fetch(last_id):` with
    `last_id = row.id`), even when it sleeps between batches to spare the
    server; a loop that also waits for messages (`get_message()`, `recv()`), or
    whose test only a signal or another thread changes (`while running:`,
    `while not self.stopped():`), is the long-running process and stays reported;
    so is a loop whose flag only an `except` clears (`while launched:` with
    `launched = False` in the handler): it runs until something fails; and so is an
    `or` test with an operand that reads nothing the body sets (`while count is None
    or rounds < count:`, `--count` defaulting to None): while that operand holds,
    the loop never ends by its test (every operand must read a name the body sets,
    `while first or cursor:`).
    Threads that one-shot code (a management command's `handle()`, or a method only
    it calls, that does not loop for ever; `poolsafe`'s one notion of code that runs
    once per process) starts and waits for before it returns are not reported: it
    joins them (`t.join()`, or `for t in threads: t.join()` over the list it built or
    appended them to), or its pool tasks run in `with ThreadPoolExecutor() as pool:`
    or on a pool it shuts down (`pool.shutdown()`). Their connections last no longer
    than the command's process. Still reported: a command that loops for ever (each
    round starts new threads), threads it does not wait for (no join, `daemon=True`
    and left, a join with a timeout, a join of the last thread of a loop only,
    `shutdown(wait=False)`), and the same joined threads started from long-lived code
    (a view, a scheduler job, or a command a view runs through `call_command()`).
    Every worker process of the deployment runs its own threads, so each leaks its
    own connections.

    ## Why is this bad?
    Django opens a connection per thread on first use and closes it only when a
    request ends (`close_old_connections` on `request_started`/`request_finished`).
    A thread pool's workers, a scheduler's threads and a long-running command never
    see a request: each keeps its connection open for good. With a few workers per
    process and a few processes, the server runs out of slots (`FATAL: remaining
    connection slots are reserved`, `Too many connections`); a connection the
    server or a proxy closed meanwhile fails the next query (`server closed the
    connection unexpectedly`, `MySQL server has gone away`).

    ## Example
    ```python
    def refresh_prices():
        for product in Product.objects.filter(active=True):
            product.update_price()

    executor.submit(refresh_prices)
    ```

    ## Use instead
    ```python
    from django.db import close_old_connections

    def refresh_prices():
        try:
            for product in Product.objects.filter(active=True):
                product.update_price()
        finally:
            close_old_connections()

    executor.submit(refresh_prices)
    ```
    """

    code = "PS107"
    name = "django-connection-outside-request"
    summary = "Django database work on a thread or in a loop outside the request cycle " \
              "that never closes its connection"
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's threads live as long as its run, not a production worker's
        from poolsafe.analysis.django_threads import django_thread_gaps, runs_elsewhere

        if not any(w in ctx.module.source for w in ("django", "objects", "constance")) \
                and not runs_elsewhere(ctx.index, ctx.module):
            # (django-constance's `config`: a query under its database backend); a
            # module with none of these words may still start a thread whose target
            # reaches the models through a helper of another module
            return

        for gap in django_thread_gaps(ctx.index, ctx.module):
            if gap.why == "command":
                yield self.finding(
                    gap.node,
                    f"`{gap.func.name}` starts {gap.how} that runs {gap.use}: it "
                    f"{_WHY['never']}; run the command from a function that calls "
                    f"`close_old_connections()` in a `finally` after `call_command()`, "
                    f"and start that function instead",
                )
                continue
            if gap.why == "loop":
                advice = "call `close_old_connections()` at the start of each iteration"
            elif gap.why == "exception":
                advice = (f"call `close_old_connections()` (or `connection.close()`) in a "
                          f"`finally` at the end of `{gap.func.name}`")
            else:
                advice = (f"call `close_old_connections()` (or `connection.close()`) in a "
                          f"`finally` at the end of `{gap.func.name}`")
            yield self.finding(
                gap.node,
                f"Django database work {gap.use} in `{gap.func.name}`, run by {gap.how}, "
                f"{_WHY[gap.why]}; {advice}",
            )
