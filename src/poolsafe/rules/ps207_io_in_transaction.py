"""PS207 io-in-transaction."""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from functools import partial

import libcst as cst

from poolsafe.analysis.background_decorators import runs_in_background
from poolsafe.analysis.cstutil import (
    argument_for,
    binding_targets,
    body_statements,
    call_name,
    chain_links,
    dotted_name,
    dropped_calls,
    iter_calls,
    iter_nodes,
    keyword_arg,
    positional_args,
    string_value,
    strip_await,
)
from poolsafe.analysis.declared_drivers import declared_requirements
from poolsafe.analysis.django_auth import authenticates_first
from poolsafe.analysis.django_instances import model_instance_method
from poolsafe.analysis.django_managers import manager_method, manager_self_query
from poolsafe.analysis.django_query_shapes import instance_query, through_manager
from poolsafe.analysis.django_read_only import locks_rows, only_reads, reads_before
from poolsafe.analysis.django_settings import atomic_requests
from poolsafe.analysis.django_threads import long_running
from poolsafe.analysis.explicit_locks import takes_lock
from poolsafe.analysis.finite_runs import runs_in_one_run
from poolsafe.analysis.flask_rows import flask_row_method
from poolsafe.analysis.frameworks import route_decorator_position
from poolsafe.analysis.index import ProjectIndex, held, view_class_framework
from poolsafe.analysis.module import FunctionInfo, ModuleInfo, WithBinding, top_level_function
from poolsafe.analysis.pool_errors import catches_only_pool_errors
from poolsafe.analysis.project_facts import (
    facts,
    is_cli_entry,
    is_flask_db,
    is_model_class,
    is_test_module,
    request_handler,
    streamlit_page,
)
from poolsafe.analysis.query_property import query_property_registry, unpacked_return
from poolsafe.analysis.read_only import (
    chain_methods,
    explicit_transaction,
    is_read,
    writes_through_chain,
)
from poolsafe.analysis.resolution import (
    Bound,
    external_name,
    inventory,
    may_call,
    qual_match,
    resolve,
)
from poolsafe.analysis.resources import FunctionResources
from poolsafe.analysis.session_reads import only_runs_statements, param_for
from poolsafe.analysis.slow_calls import may_be_slow_here, slow_call
from poolsafe.analysis.values import (
    ClassRef,
    Connection,
    ExternalInstance,
    FunctionRef,
    Instance,
    LibraryObject,
    ModuleRef,
    Value,
)
from poolsafe.analysis.version_caps import caps_below
from poolsafe.core.model import RawFinding, Severity
from poolsafe.knowledge import NON_WORK_METHODS, POOL_RELEASE_METHODS, TRANSACTION_CM_METHODS
from poolsafe.knowledge.django import (
    DJANGO_ATOMIC,
    DJANGO_CLEAN_METHOD,
    DJANGO_CLEANING_CALLS,
    DJANGO_CURSOR_QUERIES,
    DJANGO_INSTANCE_QUERIES,
    DJANGO_NON_ATOMIC_REQUESTS,
    DJANGO_QUERYSET_QUERIES,
    DJANGO_SHORTCUT_QUERIES,
    DJANGO_VIEW_LOOKUPS,
)
from poolsafe.knowledge.frameworks import (
    AUTOCOMMIT_HANDLE_ANNOTATIONS,
    CLOSE_ALL_SESSIONS,
    CURSOR_METHODS,
    FLASK_MODEL_QUERY_ATTRIBUTES,
    HANDLE_ANNOTATIONS,
    TRANSACTION_END_METHODS,
)
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases import async_orms, django_requests, orm_transactions
from poolsafe.rules.cases.ps207 import INVALID, VALID

State = frozenset[str]
#: a pseudo-key the walker's state carries beside a handle's key once a statement other
#: than a read (or work it cannot show to be one) ran on that handle in its current
#: transaction: `_WROTE + key` (dropped when the key's transaction ends)
_WROTE = "\x00wrote:"
#: pseudo-keys for the explicit lock a handle's current transaction took
#: (`knowledge/locks.py`): `_LOCKED + key` once a statement on it took one, and
#: `_UNLOCKED + key` on a path where its transaction ran without one; the walker joins
#: paths by union, so a call is under the lock on every path when the first is there
#: and the second is not (both dropped when the key's transaction ends)
_LOCKED = "\x00locked:"
_UNLOCKED = "\x00unlocked:"
_LOCK_MARKS = (_LOCKED, _UNLOCKED)


def _real_keys(state: State) -> State:
    return frozenset(k for k in state if not k.startswith("\x00"))


def _ended(state: State, keys: set[str] | frozenset[str]) -> State:
    """`state` once the transactions of `keys` ended: their lock marks go with them."""
    return state - {*keys, *(m + k for m in _LOCK_MARKS for k in keys)}


def _all_locked(state: State) -> bool:
    """Every transaction open in `state` took an explicit lock on every path here."""
    real = _real_keys(state)
    return bool(real) and all(_LOCKED + k in state and _UNLOCKED + k not in state
                              for k in real)


def _wrote_keys(state: State) -> frozenset[str]:
    return frozenset(k[len(_WROTE):] for k in state if k.startswith(_WROTE))
#: (the slow call as shown, what kind of slow work, the project function it is in)
Slow = tuple[str, str, "str | None"]
#: how deep project functions are followed for slow work inside them
_MAX_HELPER_DEPTH = 2
#: loops nested deeper than this are followed once (the repeat doubles the work)
_LOOP_REPEAT_DEPTH = 4
#: the handle key shared by Flask-SQLAlchemy's `db.session` and `Model.query`
_FLASK_SESSION = "db.session"
#: connection methods that set the session up and begin no transaction: psycopg2's
#: `set_client_encoding()` aborts any open transaction and sends its `SET` outside one
#: (psycopg2 begins a transaction only at a cursor's first `execute()`), so a retry
#: loop's sleep after a failed `connect()` + `set_client_encoding()` holds none
_SESSION_SETUP_METHODS = frozenset({"set_client_encoding"})
#: the SQLAlchemy handles (`Connection` kinds) whose statements go through the
#: DB-API connection of the engine's dialect: over SQLite, its `sqlite3` rules hold
_SQLALCHEMY_HANDLE_KINDS = frozenset(
    {"sqlalchemy-connection", "sqlalchemy-async-connection", "sqlalchemy-raw", "session",
     "scoped-session", "async-session"})
#: the method whose awaited call begins an explicit transaction on a connection in
#: autocommit (aiopg.sa's `trans = await conn.begin()`, ended by `trans.commit()`)
_EXPLICIT_BEGIN = "begin"


class IoInTransaction(Rule):
    """
    ## What it does
    Flags slow work done while a connection or session of the same function is
    in an open transaction: after the first statement on it (SQLAlchemy's
    autobegin: a query, `execute()`, `flush()`, `get()`; psycopg2 after the first
    `execute()`) and before its `commit()`, `rollback()` or `close()`, or inside
    `with engine.begin()`, `with session.begin()`, `with conn.transaction()`,
    `with SessionLocal() as s` or `with conn:`. Reported at the slow call; a
    project helper called several times in one transaction (`resize(image, 100)`,
    `resize(image, 200)`, ...) is one finding, at its first call, with the others
    among its steps. The slow work it knows (`knowledge/slow_calls.py`):

    - HTTP requests: `requests`, `httpx`, `aiohttp`, `urllib3`, `urlopen`;
    - LLM calls: openai (`chat.completions.create`, `responses.create`,
      `embeddings.create`...), anthropic (`messages.create`), google-genai,
      cohere, litellm (`completion`), LangChain chat models (`invoke`,
      `ainvoke`) and embeddings models (`OpenAIEmbeddings`, `OllamaEmbeddings`...:
      `embed_documents`, `embed_query`, `aembed_documents`, `aembed_query`);
    - object storage: boto3 clients and resources (`upload_file`, `put_object`,
      `get_object`, `download_file`, `copy_object`, `delete_object`), minio,
      google-cloud-storage (`upload_from_*`, `download_*`), Azure Blob Storage
      (`upload_blob`, `download_blob`, `delete_blob`);
    - search and vector stores: opensearch-py, elasticsearch (`search`, `index`,
      `bulk`), qdrant, pinecone, weaviate;
    - waiting on a celery result (`task.delay(...).get()`), subprocesses
      (`subprocess.run`, `os.system`, `ffmpeg.run`, yt-dlp), `time.sleep` and
      `asyncio.sleep` of a second or more (a short retry pause, `time.sleep(0.1)` or
      `time.sleep(RETRY_WAIT)` with `RETRY_WAIT = 0.1` a module constant, is not slow
      work; a `time.sleep()` whose duration is unknown is), `smtplib` sends, Django's mail API
      (`send_mail`, `send_mass_mail`, `mail_admins`, `EmailMessage(...).send()`) unless
      every `EMAIL_BACKEND` the project's settings assign (outside its tests) is
      django-mailer's `"mailer.backend.DbBackend"`, which only inserts the message
      into the database in the same transaction, or a backend of the project's own
      whose `send_messages()` saves each message as a row and makes no network call
      (itself, or in a project function it calls; calling a queued task, a function
      decorated `@shared_task` / `@db_task` / `@actor`, only enqueues the delivery)
      (a send given its own `connection=` still is slow work);
    - file transfers: paramiko (`Transport.connect`, `SSHClient.connect` /
      `exec_command`, `SFTPClient.get`/`put`/`listdir`/`stat`), `ftplib.FTP`;
    - payment APIs: Stripe, its resources' API methods (`stripe.PaymentIntent.create`,
      `stripe.Customer.retrieve`, `stripe.checkout.Session.create`...) and a
      `StripeClient`'s services (`client.refunds.create`, `client.v1.customers.list`);
      `stripe.Webhook.construct_event` checks a signature locally and is not slow;
    - chat-bot APIs: Telegram's Bot API, through aiogram (`message.answer()`,
      `callback.message.edit_text()`, `bot.send_message()`), python-telegram-bot
      (`update.message.reply_text()`, `context.bot.send_message()`, and before v20
      the camelCase aliases, `bot.sendMessage()`), pyTelegramBotAPI
      (`bot.send_message()`, `bot.reply_to()`) and telepot (`telepot.Bot`, also
      `telepot.aio.Bot`: `bot.sendMessage()`, `bot.editMessageText()`): each is an
      HTTPS round trip to api.telegram.org;
    - remote procedure calls: every method of an XML-RPC proxy
      (`xmlrpc.client.ServerProxy(url).anything(...)`, Python 2's `xmlrpclib`) and of
      Koji's `koji.ClientSession` (`session.getBuild()`, `session.mergeScratch()`):
      the server names the methods, so any call on such a client is a round trip;
    - blocking work handed to a thread and awaited: `loop.run_in_executor(executor,
      fn, ...)`, `asyncio.to_thread(fn, ...)`, anyio's `to_thread.run_sync` and
      Starlette's `run_in_threadpool`, and `concurrent.futures`' wait on a
      submission, `executor.submit(fn, ...).result()` (also through a name bound to
      the future; a submission never waited for in the function is not a wait), and
      `concurrent.futures.wait(futures)` / `as_completed(futures)` over a list, set,
      tuple or comprehension of such submissions (a dict's keys; a list filled with
      `futures.append(executor.submit(fn, ...))`), judged by the callables handed on (work
      is offloaded because it takes long: an
      image resize, a PDF render, a blocking client); a callable that is a method of
      a connection, session or pool is database work and does not count, nor does
      a project function that only computes (its body, and the project functions
      it calls three deep, call only builtins other than `open`, pure modules such
      as `json`, `re`, `hashlib` or `sqlglot`, and methods whose name says no I/O:
      parsing or hashing moved off the event loop waits on nothing outside the
      process); one that opens a file, calls a library not known to be pure, or a
      method named `read`, `execute`, `send`, ... still counts.

    A call counts only when its receiver is one of these clients (through
    imports, assignments, `self.` attributes and annotated parameters, also a
    `self.es` the constructor set from a parameter annotated with the client's class,
    and a class attribute the class body assigns once, `CLIENT = AzureOpenAI(...)`,
    read as `LlmClient.CLIENT` or `self.CLIENT`): a project
    function called `search` is not a search engine. python-telegram-bot calls its
    handlers with an `Update` and a `CallbackContext`: in a module that imports the
    library, the parameters of `def start(update, context, ...)` are taken for those
    even without annotations, so `context.bot.send_message()` is a Bot API call.
    The slow call may also sit in a project function or a service method called
    while the transaction is open (followed two calls deep, unless that function ends a transaction
    itself); a project generator function counts only where the caller iterates
    what it returns (a `for` loop, a comprehension, `yield from`, `list(...)`):
    calling it anywhere else, as in `StreamingResponse(follow(path))`, runs none of
    its body there; a project coroutine function counts only where the caller awaits
    it (`await notify()`, `await asyncio.gather(notify())`, a name bound to it and
    awaited): one handed to `asyncio.create_task()` runs in another task, and the
    transaction does not wait for it; nor does it wait for a project function whose
    project decorator runs it on a new thread and returns (the wrapper hands it, or a
    nested runner that calls it, to `Thread(target=...)`, `Timer(...)` or an
    executor's `submit()`, and neither joins, waits on the future, nor calls it
    itself: `background_decorators`; a decorator factory, `@run_in_thread(daemon=True)`,
    is read as the decorator it returns, and so is one usable bare too, `@run_in_thread`,
    whose first parameter takes the function and which returns `decorator(func)`
    when given one, or itself through `functools.partial(run_in_thread, daemon=...)`
    when given none); a service built with the caller's session
    (`self.db = db` from a parameter annotated `Session`) counts as holding it (one
    kept from a parameter annotated `asyncpg.Connection` runs each statement in
    autocommit, as the parameter does, until a `transaction()` block), and
    a method of the same object that runs a statement on that session and leaves
    its transaction open (`photo = await self.find(id)`) opens it in the caller; so
    does such a method called on a local object of a project class (`hb =
    Heartbeat(dsn)`, then `hb.startup()` running a SELECT on `self.conn`): the caller
    holds `hb.conn` in a transaction until a method of the object ends it
    (`hb.endup()` committing `self.conn`); so does a project function the
    connection is handed to (`upsert_user(conn, user)`) that runs a statement on it
    and does not commit (followed two calls deep). The other way round, a project
    function that commits (or rolls back, or closes) on every way out ends the
    caller's transaction: `def mark(db, job, stage): job.stage = stage;
    db.session.commit()` called as `mark(db, job, "encoding")` before a
    subprocess, or `record(session, hook, "sending")` committing the session handed to
    it, leaves nothing open for the slow call after it (one that commits on some paths
    only, or flushes, does not). So does a method of the same object (or of a local
    object, `hb.endup()`) that commits what the object holds: `self.commit()`, whose
    body is `self.conn.commit()`, ends the transaction of `self.conn` (a `close()` that
    writes, commits that way, then waits for other threads' cursors holds nothing during
    the wait); a `commit()` that returns early on some path (`if self.busy: return`), or
    commits another connection of the object, does not. A project factory is read by the
    branches a call of it can take: `def connect(path=None, url=None)` that returns
    `create_engine(url)` under `if url:` and `sqlite3.connect(path)` under `if
    isinstance(path, str):`, called as `connect(url=url)`, hands over the engine (the
    other parameter keeps its `None`), so a retry helper that runs each statement
    through the engine (`with handle.begin():`, or the engine's own `execute()`) holds
    no transaction during its sleep (also where that branch rebinds the parameter,
    `path = sqlite3.connect(path)`, and the connection is returned after the `if`);
    `connect(path)` hands over the sqlite3 connection and is read as one. Connections are
    recognised by where they come from (an engine, a pool, a sessionmaker, a driver
    `connect()`, a `Depends` parameter annotated `Session`, FastAPI's
    `Annotated[Session, Depends(get_db)]` or a module alias of it such as
    `SessionDep`, Flask-SQLAlchemy's `db.session`, a `scoped_session` registry's
    call in the function (`session = Session()`: the thread's session), a cursor
    another module opened at its top level on its own module-level connection,
    `db.cur`, whose statements
    run in `db.conn`'s transaction until `db.conn.commit()`, a parameter that a project
    decorator fills with a connection it checked out: `@with_conn def start(update,
    context, conn)`, whose wrapper calls the function with `conn` from
    `pool.getconn()` or `with pool.getconn() as conn:`; `getconn()` on a pool the
    analysis cannot type, such as `context.bot_data["pool"]`, is a psycopg2 pool's
    checkout in a project that builds psycopg2 pools); a connection with
    `conn.autocommit = True`, one acquired in autocommit
    (`psycopg.connect(dsn, autocommit=True)`, also through `**config` with
    `config["autocommit"] = True`), or one from an engine or pool that runs in
    autocommit (`isolation_level="AUTOCOMMIT"`), holds no transaction unless one is
    opened explicitly (`with conn.transaction():`), nor does an asyncpg connection
    outside `async with conn.transaction()` (asyncpg commits each statement on its
    own): a dedicated LISTEN/NOTIFY connection that waits for notifications is not
    reported. Python's `sqlite3` begins a transaction on its own only before an
    `INSERT`, `UPDATE`, `DELETE` or `REPLACE`: a `SELECT` on a connection with no
    transaction open leaves none open, so a sleep after it (a lock file's polling
    loop) is not reported; a sleep after a write that is not committed yet is. The
    same holds for a SQLAlchemy session or connection in a project whose every engine
    (outside its tests and Alembic migrations) is built with a SQLite URL
    (`create_async_engine(f"sqlite+aiosqlite:///{DB_PATH}")`), or is an async engine
    whose URL nothing in the repository shows (`create_async_engine(os.environ[
    "DATABASE_URL"])`, no `.env` value, no DSN-typed settings field) in a project
    whose dependency files declare aiosqlite and no server driver (an async engine
    needs an async driver, and SQLite's is the only one), none another way
    (Flask-SQLAlchemy, `engine_from_config`) and none with an `isolation_level` or a
    `"begin"` event hook: pysqlite and aiosqlite run in that default mode, so a route
    that has only read through its own session (`Depends(get_db)`) before an HTTP call
    holds no lock. A session handed in by a project caller is judged by its callers
    when the function only runs statements on it (no `add()` for an autoflush to
    write, no project function handed it): when every caller made the session
    itself (or was handed it under the same rule, two callers up) and has only read
    on it on every path before the call, no transaction is open; one whose write
    may be open before the call keeps the finding, as does a function that sets an
    attribute of a loaded row (the next query flushes it). A
    sqlite3 connection opened in autocommit (`sqlite3.connect(path,
    isolation_level=None)`, `conn.isolation_level = None`, Python 3.12's
    `autocommit=True`) never begins a transaction on its own, and its `with conn:`
    begins none either: each statement commits by itself, so a retry loop's sleep or
    an HTTP call after an `UPDATE` on it is not reported. A transaction you begin by
    hand on any autocommit connection (`conn.execute("BEGIN")`, `BEGIN IMMEDIATE`,
    `START TRANSACTION`) is open until its `COMMIT` or `ROLLBACK`, and slow work in
    between is reported. A
    `scoped_session` registry's `remove()` (Flask-SQLAlchemy's `db.session.remove()`)
    closes the thread's session, which ends its transaction as `close()` does: a
    worker loop that removes the session before its `time.sleep` holds nothing. A
    SQLAlchemy `session.connection()` runs no statement: a reconnect back-off that
    sleeps after it failed (`except OperationalError: time.sleep(5)`) holds no
    transaction, unless earlier work in the function began one. SQLAlchemy's
    `close_all_sessions()` closes every session in memory (Flask-SQLAlchemy's
    `db.session` and any `Session()` included): a fail-over wait that calls it before
    its `time.sleep` holds no session's transaction (a psycopg2 connection's stays
    open). A fresh `with app.app_context():` (Flask) starts with no transaction on
    Flask-SQLAlchemy's session: the session belongs to the context (3.x) or was
    removed at the teardown of the previous one (2.x and 3.x remove it when a context
    ends, rolling back what it left open), so slow work in it before any query there
    holds nothing, whatever earlier contexts of the same function did (a
    `create_app()` that reads settings in one context and then writes a Kubernetes
    config map in another). It is still reported after a query in the same context
    on any path, and in a context nested in one whose session already ran a statement
    (that transaction stays open across the call). What a nested context does to
    the outer one's transaction depends on the Flask-SQLAlchemy your dependency files
    declare (`requirements*.txt`, `pyproject.toml`, `setup.py`, `setup.cfg`,
    `Pipfile`). Pinned to 2.x (every requirement allows only releases before 3.0,
    `Flask-SQLAlchemy==2.4.4`), `db.session` is one session per thread: the nested
    context's teardown removes it, so slow work after the nested block (or after a
    call of a project function whose body is such a `with app.app_context():`
    block, as a scheduler job's helper that counts a run) holds nothing. Declared
    with no cap below 3.0 (`flask-sqlalchemy`, `>=3.0`; pip installs the newest),
    each context has a session of its own: a commit in the nested block ends only
    the nested session's transaction, and slow work after it, in the outer context
    that already ran a statement, is reported. Not declared, the nested block's
    commit is read as ending the outer transaction (the 2.x reading). A connection
    handed back to its pool (`POOL.putconn(conn)`: psycopg2's pool rolls back or closes it) holds no
    transaction after the call, nor where that give-back, alone in a `try`, raised (the
    pool was closed, or the connection broken). A path that returned does not go on
    to the statements after the `return`. A handler of only a pool's own errors
    (`except PoolError:` around a checkout loop, psycopg_pool's `PoolTimeout`) runs
    on what was open where the body called the pool, not at its statements: a
    retry sleep after an exhausted `getconn()` holds nothing when the previous round's
    connection was handed back. It is still reported when the handler also takes
    the driver's errors, or when the failed round kept its connection.

    **Django.** `with transaction.atomic():` and a function decorated
    `@transaction.atomic` (or `@atomic()`) hold the thread's connection in a
    transaction from their first query (the driver sends BEGIN lazily): a manager
    call that evaluates (`Order.objects.select_for_update().get(...)`,
    `.objects.create(...)`), a model's `save()` / `delete()` / `refresh_from_db()`,
    or a cursor's `execute()` given its statement (an `execute()` given none, such as
    a Google API client request's `service.files().list(...).execute()`, is an HTTP
    call, not a query). Slow work after that query and inside the block is
    reported; slow work before the first query, after the block, or handed to
    `transaction.on_commit(...)` is not.

    **Django's `ATOMIC_REQUESTS`.** When a settings module sets
    `"ATOMIC_REQUESTS": True` in a `DATABASES` entry (to the literal `True`; a value
    read from the environment is not assumed), Django runs every sync view inside
    `transaction.atomic()`: a function view, and every method of a Django or DRF view
    class, is read as an `@atomic` function, from its first query on. A view
    decorated `@transaction.non_atomic_requests` and an async view are left out, and
    so is every method of a view class whose `dispatch` is so decorated (`as_view()`
    copies the mark from `dispatch`), also through
    `@method_decorator(transaction.non_atomic_requests, name="dispatch")`.
    Besides the queries above, a view class's `self.get_object()` (DRF's
    `GenericAPIView` and Django's `SingleObjectMixin` run `queryset.get()`; an
    override typically returns a looked-up object or `request.user`) and
    `django.shortcuts.get_object_or_404()` / `get_list_or_404()` count as the
    view's query, and what `self.get_object()` returns is an instance of the view's
    model (its override's return annotation, `model = Order`, or the model of
    `queryset = Order.objects...`), so a model method it calls is followed.

    **A project function that begins the transaction itself.** Inside an `atomic()`
    block, or a view under `ATOMIC_REQUESTS`, before the first query: a call of a
    project function (a form's `save()`, a model or service method; two calls
    deep) that runs a query and then slow work is reported at that call, and a
    function that runs a query leaves the transaction open for what follows. A
    model's own manager (`objects = AccountManager()`, a subclass of Django's
    `Manager` or `QuerySet`) is followed too: `Account.objects.open_account(...)`
    runs its method, in which `self.create(...)` is a query. A row read through a
    model's manager (`Seat.objects.get(...)`, `get_object_or_404(Seat, ...)`, the
    target of a `for` loop over `Seat.objects.filter(...)` or over a list the function
    fills only from such querysets, a related manager the project declares for one
    model) is a row of that model: a method called on it (`seat.confirm()`) is
    followed. So is a row of a Flask-SQLAlchemy model read through its query
    (`Parcel.query.get_or_404(pid)`, `.first()` / `.one()` at the end of a chain of
    `filter_by(...)`, `order_by(...)` and the like, also through a local bound only
    to such rows): `parcel.sync_state()` runs the model's method. Slow work includes
    Twilio's REST client (also handed out by a project factory that returns a
    stand-in in another branch) and `urlretrieve` (Python 2's `urllib` too). A
    module's client bound only where a feature is on (`client = genai.Client(...) if
    KEY else None`) is that client wherever a method is called on it (on `None` the
    call would raise): a project helper's `client.models.generate_content(...)` is an
    LLM call.

    **A view's access check.** Under `ATOMIC_REQUESTS` Django wraps the view with
    its decorators, and DRF authenticates inside `dispatch()`: `@login_required`
    (`permission_required`, `user_passes_test`, `staff_member_required`),
    `LoginRequiredMixin`-like bases, and DRF `permission_classes` that let no
    anonymous request through (`IsAuthenticated`, `IsAdminUser`, Django model
    permissions; on the class, a project base, or `@permission_classes([...])`)
    load the session and the user (or the token) first, so the transaction is open
    from the body's first statement. `DEFAULT_PERMISSION_CLASSES` is not read.
    In a DRF generic view `self.get_serializer(...)` is an instance of the view's
    `serializer_class`, so `serializer.save()` runs that class's own `save()`.

    **encode/databases, Gino, Tortoise ORM.** These send BEGIN when the
    transaction is entered, so the whole block is in the transaction: `async with
    database.transaction():`, a function decorated `@database.transaction()`, a
    low-level `transaction = await database.transaction()` until its `commit()` or
    `rollback()`, Gino's `async with db.transaction():` (and `conn.transaction()` on
    an acquired connection, which is in autocommit outside it), Tortoise's `async
    with in_transaction():` and `@atomic()`. Outside a transaction each statement
    commits on its own and nothing is reported. A transaction decorator written
    above the route's (`@atomic()` over `@router.post(...)`, also Django's
    `@transaction.atomic` over a route decorator) wraps the function after the router
    registered it: the route runs the undecorated body, which is not in the
    transaction (write the transaction decorator below the route's).

    **peewee.** `with db.atomic():` and `with db.transaction():` (also as
    decorators, `@db.atomic()`) on a PostgreSQL, MySQL or CockroachDB database
    (also playhouse's pooled ones) send BEGIN on entry: the whole block is in the
    transaction. `with db.connection_context():` opens a connection and no
    transaction. SQLite databases are not read here.

    **A project's own async HTTP helper.** `async def fetch(url)` whose client is
    an `async with httpx.AsyncClient() as client:` (or `aiohttp.ClientSession()`)
    binding is slow work where a transaction awaits it, as a helper that calls
    `httpx.get()` is.

    **aiopg.sa.** Its connections run in autocommit; `async with conn.begin():` and
    `trans = await conn.begin()` (until `trans.commit()` or `trans.rollback()`) open
    a transaction.

    ## Tests, one-shot code and processes
    Test modules (`test_*.py`, `conftest.py`, `tests/`) are not checked: a test
    that holds its transaction across a test client call or a sleep holds no
    production pool. One-shot code is checked like any other once it has written
    (Django's management commands aside, below): a maintenance script or a CLI
    command that updates rows (or reads them `FOR UPDATE`) and then keeps its
    transaction open across an HTTP call holds those row locks while the
    application's requests wait on them, however rarely it runs. A one-shot
    command whose transaction has only read is not reported: a click/typer command
    (or a cappa command class's `__call__`), an argparse subcommand's handler, a
    Django command's `handle()`, or a function only such code calls once (see PS202's one-shot
    code), that queries rows and streams them to a remote service with pauses
    between batches (an export or a "push to another instance" command). Reads are
    queries (`session.query(...)`, `Model.query.filter_by(...)` without
    `update()`/`delete()`/`with_for_update()`; `Model.query` is Flask-SQLAlchemy's
    or a `scoped_session`'s `query_property()`, set in the model's body or on its
    declarative base, also by a setup function that returns the registry to callers
    that unpack it: `engine, db_session = init_db(url)`, and queries that registry's
    session), `get()`, `refresh()`, and
    `execute()` / `scalars()` of a `select(...)`, of `text("SELECT ...")` or of a
    `SELECT` string (also bound to a name first); anything else on that
    connection or session in the function (`add()`, `flush()`, an `UPDATE`) makes
    it a write, as does a transaction begun otherwise (`with conn.transaction():`,
    Django's `atomic()`). Such a transaction holds a snapshot and no row lock, on
    the command's own connection: it takes no pool slot from the application, and
    the snapshot is what the export means to read. It does keep vacuum from
    cleaning rows deleted since it began, and a migration's `ALTER TABLE` waits
    for it: for a push that runs for hours, commit (or read in pages, each its
    own short transaction) between batches. A request handler, a worker task or
    any function that something other than one-shot code calls is reported read
    or not: its connection is a slot of the application's pool.
    **A module's top level.** A script whose module body does the work itself (no
    `main()`: `conn = psycopg2.connect(...)`, an `UPDATE`, then a loop of HTTP calls
    and sleeps before `conn.commit()`) is checked, as one-shot code: the body runs
    once per process (or once per import, at start-up). Its connection, even from a
    module-level engine, is its own process's: no request waits for that pool slot,
    so what it holds across the slow work that matters is a lock. A module body whose
    transaction has written when the call starts is reported (its rows stay locked
    for the application's requests until the commit); one that has only read is not,
    as below, unless the call runs in a `while` loop that keeps the process running.
    A Streamlit page's top level runs at every interaction, not once: it is left
    out here.
    **One-shot code that has only read so far.** The same holds at the moment of the
    call: a script (its `if __name__ == "__main__":` path), a click/typer/argparse
    command, or a function only such code calls once, whose session or connection has
    only read in its current transaction when the HTTP call, sleep or upload starts is
    not reported, even if it writes afterwards. An import script that looks a record
    up, asks a registry over HTTP, then inserts and commits before the next record is
    the usual shape: during the call its connection is its own process's, nobody waits
    for that pool slot, and a read takes no row lock (the insert locks after the call
    returns, until the commit right after). "Only read" is counted on every path to
    the call: a write earlier in the same transaction (`add()`, `flush()`, an
    `UPDATE`, a query chain's `update()`), an attribute set on an object (the next
    query's autoflush writes it), or a call of a project function that may write
    (one that cannot be shown to only read, three calls deep) keeps the finding, and
    so does a loop that does not commit each round (the next round's call follows the
    earlier rounds' inserts). A write committed before the read that began the
    current transaction is over and does not count. A loop over the rows a query
    returned, in the one-shot function itself (a cron script's `send_reminders()`
    mailing each row), is such code: it runs once per invocation and each round has
    only read. An attribute set in a project helper counts even on a copy it made of
    a loaded row (`meeting = meeting.copy()`, then `meeting.date = ...`): a new
    instance given a related, persistent object joins the session through the
    relationship's backref (SQLAlchemy before 2.0 cascades backrefs by default), and
    the next lazy load's autoflush inserts it. Still reported, reads or not: a
    request handler, a task or worker, anything a `while` loop that keeps the process
    running calls (a queue consumer's poll), and a transaction begun by the caller or
    by a decorator, whose earlier statements this function cannot see. For the same
    reason a helper that reads on a shared session (Flask-SQLAlchemy's `db.session`,
    a session handed to it, `self.session`) is reported even in one-shot code, as is
    one that only reads in the whole function: the caller may have written in that
    transaction before calling it. The command's own function, or a helper on a
    session or connection it opens itself (`session = SessionLocal()`), is judged.
    **Django transactions that only read.** Django keeps the thread's connection for
    the whole request or task, with or without a transaction, and hands it back only
    at the end: an `atomic()` block, or a view under `ATOMIC_REQUESTS`, adds no pool
    slot to what the thread holds, and what it keeps across slow work is its row
    locks. Such a transaction is not reported when its function only reads: every
    query in it (and in the project functions it calls, at any depth, up to forty
    functions) is a read (`get()`, `count()`, `exists()`, `first()`, a lazy
    queryset, a related manager's `all()` / `filter()`, a cursor's `SELECT` without
    `FOR UPDATE`), nothing locks rows (`select_for_update()`), and it calls no
    method of a model instance that cannot be shown to only read (a model method may
    `save()`), nor a method called through a model's manager that is none of Django's
    and that nothing resolves (`Group.objects.follow(user)`: the project's own manager
    may `get_or_create()`; one whose result is filtered further,
    `Job.objects.visible_to(user).get(pk=pk)`, builds a queryset and reads), nor
    Django's `login()` / `logout()` (they save the user). A model
    method that cannot be resolved on a looked-up instance or a related one
    (`area.owner.get_full_name()`, `area.surveyor.display_name()`) is shown to read
    when every method of that name the project's classes define only formats what its
    instance holds: its only calls are Python's value methods (`self.first_name.strip()`,
    `.title()`, `.upper()`), a choice's label, and builtins such as `str()` or `len()`
    (a `self.save()`, a related manager's `create()` or any helper call may write; at
    most eight definitions are read), or,
    when the project defines none, when it is one of Django's own methods that only
    format a user (`get_full_name()`, `get_short_name()`, `get_username()`,
    `natural_key()`). What counts is
    what has run when the slow call starts: a view that reads, calls a payment API,
    then saves holds no row lock during the call (the `save()` locks its row after the
    call returns, for the few milliseconds to the commit), so it is not reported
    either. The queries that may run before the call are the statements before it
    (less an `if` branch that returns or raises first, such as a POST branch that
    saves and redirects), the project functions they and the call itself run, and the
    whole body of a loop around the call (a later round's download follows the
    earlier rounds' inserts: reported). A write or a row lock before the call keeps
    the finding; so does a method nothing resolves on an object a project function
    handed back (`state = LoginState.from_token(t)` then `state.consume()`: it may be a
    model instance whose method saves), and `save()` / `delete()` on any object.
    At the default READ COMMITTED level such a transaction keeps no
    snapshot between statements; it does keep the table-level share locks of what it
    read, so a migration's `ALTER TABLE` on those tables waits for the call (and, on
    PostgreSQL, queries on them queue behind the waiting `ALTER`): run migrations with
    a `lock_timeout`. (Behind PgBouncer in transaction mode every open transaction
    pins a server connection: there `ATOMIC_REQUESTS` pins one per request anyway.)
    This holds only for Django, whose thread keeps its connection for the whole
    request either way: a SQLAlchemy session checks its connection out of the pool at
    its first query, read or not, and keeps it until `commit()`, `rollback()` or
    `close()`, so slow work after a read there is reported (the pool slot is taken),
    one-shot code aside (above).
    **Django management commands that run once.** A management command's `handle()`
    runs in a process of its own with one connection that no request shares, so a
    `transaction.atomic()` there that downloads a file, pages through an API or
    sends a mail before it commits (an all-or-nothing import or set-up command) takes
    nothing from your application's pool, and is not reported, writes included. The
    same goes for a project function only such a command calls, and for other code
    that runs once per process (a script's `main()`, a click command) using Django's
    `atomic()`. A helper the command calls once per item of a finite collection (the
    command line's values, `options["urls"]`; a queryset's rows, `for semester in
    Semester.objects.all()`; a literal; `range()`) is still one run's: its
    transactions follow one another on the command's own connection, and the run ends
    with the collection. It is still reported when:
    - the transaction locks rows for others to wait on: `select_for_update()` in the
      function or in a project function it calls, or SQL that says `FOR UPDATE` /
      `FOR SHARE` / `LOCK TABLE` (your requests that touch those rows wait for the
      download to finish);
    - the slow work runs in a loop that keeps the command running (`while True:`, a
      loop that sleeps or waits between rounds: a scheduler, a poller, a worker);
    - the code also runs from elsewhere: a helper a view or a task calls too, a
      helper called in a `while` loop of `handle()` or in a loop over something that
      may never end (`for message in consumer:`), or a command the project runs with
      `call_command("name")` from a view, a task or a loop.
    Rows the command inserts or updates are locked until it commits too: if your
    requests edit the same rows while it runs, commit in batches.

    **A row lock held across a call on purpose.** Code that takes
    `select_for_update()` so that one worker at a time refreshes an OAuth token (and
    the others wait for the new one) is reported, and the message says why: every
    other request or task that locks the same row waits until the call returns, each
    holding a connection of its own, so a slow or hanging token server stalls them
    all and can exhaust the database's connections. That is the real cost of the
    design, not a false alarm: keep the lock if you need it, but give the call a
    short timeout, or lock with `select_for_update(nowait=True)` (or `skip_locked`)
    and let the others retry instead of queueing.
    The same holds outside Django: a transaction that, on every path to the call, has
    already taken an explicit lock on the same connection or session (SQLAlchemy's
    `session.query(Job).with_for_update()...one()` or `select(Job).with_for_update(
    skip_locked=True)`, Flask-SQLAlchemy's `Job.query.with_for_update()`, SQL text
    with `FOR UPDATE`, `FOR NO KEY UPDATE`, `FOR SHARE` or `FOR KEY SHARE` through
    psycopg, asyncpg or `text()`, or `SELECT pg_advisory_xact_lock(...)`; the forms
    are data in `knowledge/locks.py`) is reported with a message that names the lock
    instead of asking you to commit before the call, which would drop the lock the
    design needs. Serialising work, or claiming a job queue's row with `SKIP LOCKED`,
    still keeps this connection idle in transaction for as long as the call takes,
    and a blocking lock queues every other taker behind it, each on a connection of
    its own. A lock taken after the call, on one path only, in another session, or
    in a transaction committed before the call, and `pg_try_advisory_xact_lock()`
    (which may return without the lock), get the general message.

    ## Why is this bad?
    While the slow call runs, the connection sits "idle in transaction": it holds
    its row locks and its snapshot (blocking vacuum and migrations: Alembic waits
    behind it), and it keeps a pool slot. A slow LLM, a multi-GB upload or a
    hanging remote service then stalls every transaction waiting on those locks
    and drains the pool ("QueuePool limit ... reached"), and
    `idle_in_transaction_session_timeout` may kill the connection mid-call.
    "Never go to the outside world inside a transaction."

    You can see it happen in PostgreSQL:

    ```sql
    SELECT pid, now() - xact_start AS held, left(query, 60) AS last_query
    FROM pg_stat_activity
    WHERE state = 'idle in transaction'
    ORDER BY xact_start;
    ```

    Rows that stay there for seconds, with the last query of the request, are
    this rule's findings at run time.

    ## Example
    ```python
    def place_order(session, order):
        session.add(order)
        requests.post(PAYMENT_URL, json=order.payload(), timeout=10)
        session.commit()
    ```

    ## Use instead
    ```python
    def place_order(session, order):
        requests.post(PAYMENT_URL, json=order.payload(), timeout=10)
        session.add(order)
        session.commit()
    ```
    Finish the database work and commit (or close the session) before the slow
    call, then record its result in a second, short unit of work; for reads, load
    what you need first.

    ## Fix safety
    No automatic fix: moving the call changes what happens when either side
    fails.
    """

    code = "PS207"
    name = "io-in-transaction"
    summary = "slow work (HTTP, LLM, storage, search, subprocess) while a transaction is open"
    severity = Severity.WARNING
    VALID = (VALID + async_orms.PS207_VALID + django_requests.PS207_VALID
             + orm_transactions.PS207_VALID)
    INVALID = (INVALID + async_orms.PS207_INVALID + django_requests.PS207_INVALID
               + orm_transactions.PS207_INVALID)

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's transaction holds no production pool
        # each function is walked first: a call is asked whether it is slow work
        # (which resolves its callee, and a project function's calls in turn) only
        # while a connection is held, not every call of the file up front
        calls: dict[int, list[cst.Call]] = {}
        for call, func in inventory(ctx.module).calls:
            if func is not None:
                calls.setdefault(id(func.node), []).append(call)
        funcs: list[tuple[FunctionInfo, bool]] = [(f, False) for f in ctx.module.all_functions]
        top = _top_level(ctx, calls)
        if top is not None:
            funcs.append((top, True))
        for func, at_top in funcs:
            walker = _Walker(ctx.index, func)
            # a transaction decorator above the route's (`@atomic()` over
            # `@router.post(...)`) wraps the function after the router registered it:
            # the route runs the undecorated body, outside the transaction
            route = route_decorator_position(ctx.index, func) if len(
                func.node.decorators) > 1 else None
            decorators = func.node.decorators[(route + 1 if route is not None else 0):]
            if any(walker.is_atomic(_decorator_callee(d.decorator)) for d in decorators):
                walker.armed = (_ATOMIC_KEY,)  # `@transaction.atomic`: the whole body
            elif _in_atomic_request(ctx.index, func, walker):
                walker.armed = (_REQUEST_KEY,)  # `ATOMIC_REQUESTS`: the view's body
                check = authenticates_first(ctx.index, func)
                if check is not None:  # the user lookup has begun the transaction
                    walker.begun_at(_REQUEST_KEY, check)
            # `@database.transaction()` (encode/databases), Tortoise's `@atomic()`: the
            # whole body runs in a transaction begun before it
            opened = frozenset(
                walker.source(d.decorator) for d in decorators
                if isinstance(d.decorator, cst.Call) and walker.opens_transaction(d.decorator))
            walker.block(body_statements(func.node.body), opened | walker.begun)
            if not walker.found or not (
                    walker.helper_found or _has_slow_call(ctx, func, calls.get(id(func.node), []))):
                continue  # no slow call of its own: nothing to report
            # a module's top level runs once per process (a script's body): one-shot
            # code, judged as a script's `main()` is (a Streamlit page's runs at every
            # interaction and is never built here)
            one_shot: bool | None = True if at_top else None
            one_run: bool | None = True if at_top else None
            django_reads: bool | None = None
            django_locks: bool | None = None
            for call, (what, family, via), keys, again in _first_of_each_helper(walker):
                # every path to the call took an explicit lock in each transaction it
                # holds (`with_for_update()`, `FOR UPDATE`, `pg_advisory_xact_lock`):
                # a lock held on purpose, reported with what it costs (see the docs)
                locked = not keys & _DJANGO_KEYS and not any(
                    id(c) in walker.unlocked for c in [call, *again])
                if walker.read_only(call, keys) and _no_caller_transaction(
                        ctx.index, func, keys):
                    # a one-shot command's read-only transaction: a snapshot, no row lock
                    # (a shared session in a helper may carry the caller's writes)
                    if one_shot is None:
                        one_shot = is_cli_entry(ctx.index, func)
                    if one_shot:
                        continue
                if not keys & _DJANGO_KEYS and all(
                        walker.read_before(c, keys) for c in [call, *again]) and (
                        via is None or not walker.helper_may_write(call)) \
                        and _no_caller_transaction(ctx.index, func, keys):
                    # the lead's decision (round 32): code that runs once in a process of
                    # its own holds its own connection, no request waits for its pool
                    # slot, and reads so far hold no row lock (a write after the call
                    # locks after it returns); a loop that keeps the process running does
                    # not run once
                    if one_run is None:
                        one_run = runs_in_one_run(ctx.index, func)
                    if one_run and not any(_in_polling_loop(func, c) for c in [call, *again]):
                        continue
                if keys <= _DJANGO_KEYS:
                    # Django's thread holds its connection with or without the
                    # transaction: one that has only read holds no row lock
                    if django_reads is None:
                        with ctx.index.full_resolution():
                            django_reads = only_reads(
                                ctx.index, func,
                                lambda c, f: _callee(ctx.index, c, f.module, f))
                    if django_reads:
                        continue
                    # what a transaction holds across the call is what ran before it:
                    # reads so far (a write after the call locks after it returns)
                    with ctx.index.full_resolution():
                        if reads_before(ctx.index, func, [call, *again],
                                        lambda c, f: _callee(ctx.index, c, f.module, f)):
                            continue
                    if django_locks is None:
                        with ctx.index.full_resolution():
                            django_locks = locks_rows(
                                ctx.index, func,
                                lambda c, f: _callee(ctx.index, c, f.module, f))
                    # a management command (or other code that runs once per process):
                    # its one connection is its own, and no request waits for a pool
                    # slot; what others can wait on is a row it locked
                    if not django_locks:
                        if one_run is None:
                            one_run = runs_in_one_run(ctx.index, func)
                        if one_run and not _in_polling_loop(func, call):
                            continue
                held = ", ".join(f"`{k}`" for k in sorted(keys))
                slow = (f"`{what}` ({family})" if via is None
                        else f"`{via}()`, which makes {family} (`{what}`),")
                steps = tuple((opener, walker.labels.get(key, f"`{key}` begins a transaction here"))
                              for key, opener in walker.openers.get(id(call), []))
                if steps or again:
                    steps = (*steps, (call, f"`{what}` runs with the transaction open"),
                             *((c, f"`{via}()` runs again with the transaction open")
                               for c in again))
                runs = "runs"
                if again:
                    runs = f"runs (here and {len(again)} more time{'s' if len(again) > 1 else ''})"
                if keys <= _DJANGO_KEYS and django_locks:
                    # a lock taken on purpose (one worker refreshes a token): the cost
                    # is the waiters', each holding a connection of its own
                    yield self.finding(
                        call,
                        f"{slow} {runs} while {held} holds rows it locked "
                        "(`select_for_update()` or `FOR UPDATE`/`FOR SHARE`/`LOCK TABLE`): "
                        "every other request or task that locks the same rows waits until "
                        "the call returns, each holding a connection of its own, so a slow "
                        "or hanging server stalls them all and can exhaust the database's "
                        "connections; if the lock is there to let one worker make the call "
                        "(a token refresh), give the call a short timeout, or lock with "
                        "`select_for_update(nowait=True)` and let the others retry; else "
                        "make the call before the transaction or after it commits",
                        steps,
                    )
                    continue
                if locked:
                    yield self.finding(
                        call,
                        f"{slow} {runs} while {held} holds a lock it took "
                        "(`with_for_update()`, `FOR UPDATE`/`FOR SHARE`, or "
                        "`pg_advisory_xact_lock()`) in an open transaction: every other "
                        "request or worker that takes the same lock waits until the call "
                        "returns, each holding a connection of its own, and this one keeps "
                        "its pool slot; if the lock is there to serialise the call or claim "
                        "a job, keep it but give the call a short timeout, or lock with "
                        "`NOWAIT` / `SKIP LOCKED` (`with_for_update(nowait=True)`, "
                        "`skip_locked=True`) so that the others do not queue; else make the "
                        "call before the transaction or after it commits",
                        steps,
                    )
                    continue
                yield self.finding(
                    call,
                    f"{slow} {runs} while {held} holds a connection in an open transaction: "
                    "it sits idle in transaction, holding its locks (and its pool slot) "
                    "until the call returns; finish the database work and "
                    "commit (or close the session) before it, and start a new unit of "
                    "work after it",
                    steps,
                )


def _top_level(ctx: FileContext, calls: dict[int, list[cst.Call]]) -> FunctionInfo | None:
    """The module's top-level statements as the body of a function
    (`top_level_function`), when one of them (not a class body's) makes a call that
    may be slow by its name: a script whose module body opens a transaction and then
    sleeps or calls a service. Its calls are filed in `calls` under its node. None for
    a Streamlit page (its body runs at every interaction, not once) and when no
    top-level call may be slow (the common module: imports, constants, an engine)."""
    stmts = [s for s in ctx.module.tree.body
             if not isinstance(s, (cst.FunctionDef, cst.ClassDef))]
    if not any(may_be_slow_here(ctx.index, c) for s in stmts for c in iter_calls(s)):
        return None
    if streamlit_page(ctx.module):
        return None
    func = top_level_function(ctx.module)
    if func is None:
        return None
    calls[id(func.node)] = list(func.direct_calls)
    return func


def _returns(st: cst.CSTNode) -> bool:
    """A simple statement line that holds a `return`."""
    return isinstance(st, cst.SimpleStatementLine) and any(
        isinstance(small, cst.Return) for small in st.body)


def _sets_attribute(small: cst.BaseSmallStatement) -> bool:
    """`x.attr = ...` / `x.attr += ...` on anything but `self` / `cls`."""
    for target in binding_targets(small):
        for node in iter_nodes(target):
            if isinstance(node, cst.Attribute):
                root: cst.BaseExpression = node.value
                while isinstance(root, (cst.Attribute, cst.Subscript)):
                    root = root.value
                if not (isinstance(root, cst.Name) and root.value in {"self", "cls"}):
                    return True
    return False


#: the index's fact (`ProjectIndex.derived`): the project functions shown to only
#: read (`_project_reads_only`)
_READS_ONLY_KEY = "_ps207_reads_only"
#: how deep `_project_reads_only` follows project functions
_READS_ONLY_DEPTH = 3
#: words of a parameter's name that say it holds a session or connection
_HANDLE_WORDS = ("session", "conn", "cur", "db", "engine", "tx", "transaction")


def _project_reads_only(index: ProjectIndex, func: FunctionInfo, depth: int = 0) -> bool:
    """A project function that runs no database work but reads: every statement it
    makes on a handle (its own, a global session, a parameter named or annotated as
    one) is a read, it sets no attribute of an object (a loaded instance autoflushes),
    makes no chain write, and the project functions it calls (`_READS_ONLY_DEPTH`
    deep) only read in turn. A generator, or one past that depth, counts as writing."""
    memo: dict[int, tuple[cst.FunctionDef, bool]] = index.derived(_READS_ONLY_KEY, dict)
    key = id(func.node)
    known = held(memo, key, func.node)
    if known is not None:
        return known[1]
    if depth >= _READS_ONLY_DEPTH or func.is_generator or func.is_async:
        return False
    memo[key] = (func.node, True)  # a recursive call adds nothing the walk does not see
    inner = _Walker(index, func, _MAX_HELPER_DEPTH)
    inner.handed = {p.name.value for p in func.named_params()
                    if any(w in p.name.value.lower() for w in _HANDLE_WORDS)}
    with index.full_resolution():
        inner.block(body_statements(func.node.body), frozenset())
        ok = not inner._written and not any(
            _sets_attribute(small) for node in iter_nodes(func.node.body)
            if isinstance(node, cst.SimpleStatementLine) for small in node.body)
        if ok:
            for call in iter_calls(func.node.body):
                callee = _callee(index, call, func.module, func)
                if isinstance(callee, FunctionRef) and callee.func is not func \
                        and not _project_reads_only(index, callee.func, depth + 1):
                    ok = False
                    break
    memo[key] = (func.node, ok)
    return ok


def _no_caller_transaction(index: ProjectIndex, func: FunctionInfo, keys: State) -> bool:
    """No caller's work can be in the transactions `keys` hold: each is a handle `func`
    makes itself (`session = SessionLocal()`, `with engine.connect() as conn:`), or no
    project function calls `func` (a click command, a function only a script's
    top level calls). A shared handle (Flask-SQLAlchemy's `db.session`, a parameter,
    `self.session`) in a helper may carry its caller's writes."""
    params = func.all_param_names()
    if all(k in func.locals and k not in params and all(
            isinstance(v, WithBinding) or (isinstance(v, cst.BaseExpression)
                                           and isinstance(strip_await(v)[0], cst.Call))
            for v in func.locals[k]) for k in keys):
        return True
    return all(site.func is None for site in facts(index).project_callers(func))


#: how many callers up `_callers_only_read_before` follows a handle passed on
_CALLER_READS_DEPTH = 2
#: the only calls a function handed a caller's SQLite session may make on it for the
#: callers to answer for it: statements, each judged a read or a write where it runs
#: (no `add()` that the next query's autoflush would write, no project function
#: handed the session)
_SQLITE_READ_CALLS = frozenset({"execute", "scalar", "scalars", "get", "query", "exec",
                                "stream", "stream_scalars"})


def _callers_only_read_before(index: ProjectIndex, func: FunctionInfo, param: str,
                              depth: int = 0) -> bool:
    """`param` is a handle every project caller of `func` passes after only reads on
    it on every path (no write since its last commit: on an all-SQLite project no
    transaction is open there), and the caller made that handle itself (`with
    SessionLocal() as db_session:`) or was handed it under the same condition, up to
    `_CALLER_READS_DEPTH` callers up. A caller that passes nothing for it, or a
    handle it cannot name, answers False; so does a function with no project caller
    (`_no_caller_transaction` answers for that)."""
    if param not in func.all_param_names() or depth > _CALLER_READS_DEPTH:
        return False
    params = func.param_names()
    position = params.index(param) if param in params else None
    sites = list(facts(index).project_callers(func))
    if not sites:
        return False
    for site in sites:
        caller = site.func
        if caller is None:
            continue  # a script's top level: no transaction of a caller's own
        arg = argument_for(site.call, param, position)
        if arg is None or caller.is_generator:
            return False
        walker = _Walker(index, caller, _MAX_HELPER_DEPTH)
        walker.handed = {p.name.value for p in caller.named_params()
                         if any(w in p.name.value.lower() for w in _HANDLE_WORDS)}
        walker.watching = frozenset({id(site.call)})
        with index.full_resolution():
            walker.walk(body_statements(caller.node.body), frozenset())
        key = walker.key_of(arg)
        state = walker.watched.get(id(site.call))
        if key is None or state is None or _WROTE + key in state:
            return False
        if not (_no_caller_transaction(index, caller, frozenset({key}))
                or _callers_only_read_before(index, caller, key, depth + 1)):
            return False
    return True


def _class_method(func: FunctionInfo) -> bool:
    """A `@classmethod`: its first parameter is the class, not the object."""
    return any(dotted_name(d.decorator) == "classmethod" for d in func.node.decorators)


def _in_polling_loop(func: FunctionInfo, call: cst.Call) -> bool:
    """`call` runs in a `while` loop of `func` that keeps the process running (a
    scheduler, a queue consumer, a poll: `django_threads.long_running`)."""
    return any(isinstance(node, cst.While) and long_running(node, func.node)
               and any(c is call for c in iter_calls(node.body))
               for node in iter_nodes(func.node.body))


def _none_if(test: cst.BaseExpression, outcome: bool) -> list[cst.BaseExpression]:
    """The names or attributes that are None (or false) whenever `test` comes out as
    `outcome`: `s` and `s is not None` when false, `s is None` and `not s` when true;
    `a or b` false makes both false, `a and b` true holds both conditions."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _none_if(test.expression, not outcome)
    if isinstance(test, cst.BooleanOperation):
        joins_on = isinstance(test.operator, cst.Or) != outcome
        if joins_on:  # `a or b` false, `a and b` true: each side has that outcome
            return _none_if(test.left, outcome) + _none_if(test.right, outcome)
        return []
    if isinstance(test, (cst.Name, cst.Attribute)):
        return [] if outcome else [test]
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if not (isinstance(target.comparator, cst.Name) and target.comparator.value == "None"):
            return []
        op = target.operator
        is_none = isinstance(op, (cst.Is, cst.Equal))
        is_not_none = isinstance(op, (cst.IsNot, cst.NotEqual))
        if (is_none and outcome) or (is_not_none and not outcome):
            return [test.left]
    return []


def _first_of_each_helper(walker: _Walker) -> Iterator[
        tuple[cst.Call, Slow, State, list[cst.Call]]]:
    """The walker's slow calls, with the later calls of one project helper in the same
    transaction (same connections, begun at the same places) folded into the first:
    one finding per helper and transaction, the repeats as its steps (ten calls of
    `resize(image, size)` while one session's transaction is open are one problem,
    fixed by one commit before them). A slow call of a library is its own finding."""
    firsts: dict[tuple[object, ...], list[cst.Call]] = {}
    order: list[tuple[cst.Call, Slow, State, list[cst.Call]]] = []
    for call, info, keys in walker.found:
        via = info[2]
        if via is not None:
            group = (via, frozenset(keys),
                     tuple((k, id(o)) for k, o in walker.openers.get(id(call), [])))
            if group in firsts:
                firsts[group].append(call)
                continue
            firsts[group] = []
            order.append((call, info, keys, firsts[group]))
        else:
            order.append((call, info, keys, []))
    return iter(order)


#: Flask-SQLAlchemy 3.0 scoped `db.session` to the application context; 2.x scoped it
#: to the thread (or greenlet), so every context of a thread shares one session
_SESSION_PER_CONTEXT_SINCE = (3, 0)


def _flask_sqlalchemy_pins(index: ProjectIndex, module: ModuleInfo) -> str:
    """"2" when every Flask-SQLAlchemy requirement the project's dependency files
    declare (at least one) allows only releases before 3.0 (`db.session` is one
    session per thread, which the teardown of any application context of the thread
    removes); "3" when they declare it and none is capped below 3.0 (an unpinned
    `flask-sqlalchemy` installs the newest: one session per application context);
    "" when none declares it (not known)."""
    found = [written for name, written, _ in declared_requirements(module.abspath,
                                                                    index.text_files)
             if name == "flask-sqlalchemy"]
    if not found:
        return ""
    if all(caps_below(w, _SESSION_PER_CONTEXT_SINCE) for w in found):
        return "2"
    return "3" if not any(caps_below(w, _SESSION_PER_CONTEXT_SINCE) for w in found) else ""


def _app_context_call(expr: cst.BaseExpression) -> bool:
    """`app.app_context()`: Flask pushes a new application context, and
    Flask-SQLAlchemy removes that context's session when it is torn down."""
    return (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "app_context" and not expr.args)


def _has_slow_call(ctx: FileContext, func: FunctionInfo, calls: list[cst.Call]) -> bool:
    """Some call of `func`'s own body (`inventory`) that may be slow by its name (or
    calls a project function) is slow work."""
    walker = _Walker(ctx.index, func)
    for call in calls:
        name = call_name(call)
        if not may_be_slow_here(ctx.index, call) and not (
                name is not None and ctx.index.is_project_function_name(name)):
            continue
        if walker.slow(call) is not None:
            return True
    return False


class _Walker:
    def __init__(self, index: ProjectIndex, func: FunctionInfo, depth: int = 0) -> None:
        self.index = index
        self.func = func
        #: how many `self.` method calls deep this walk is (`opened_by_method`)
        self.depth = depth
        self.module = func.module
        self.aliases: dict[str, str] = {}
        #: what the function acquires in autocommit (`psycopg.connect(dsn,
        #: autocommit=True)`, through `**config`, or set so by a method of its class)
        self.res = FunctionResources(index, func)
        self.autocommit: set[str] = set(self.res.autocommit)
        #: Python sqlite3 connections: a SELECT begins no transaction on them (also
        #: SQLAlchemy's over SQLite only, `sqlite_handle`)
        self.sqlite3: set[str] = set()
        self._sqlite_ok: bool | None = None
        self.found: list[tuple[cst.Call, Slow, State]] = []
        #: the found calls whose project function began the transaction itself
        #: (`armed_helper`): their slow work is known without `_has_slow_call`
        self.helper_found: set[int] = set()
        self._seen: set[int] = set()
        #: the call that last began each connection's or session's transaction, and,
        #: per slow call found, those of the transactions it runs in (its path)
        self._opened: dict[str, cst.CSTNode] = {}
        #: transactions open before the body's first statement (`begun_at`), and
        #: how the finding's path says where they began
        self.begun: State = frozenset()
        self.labels: dict[str, str] = {}
        self.openers: dict[int, list[tuple[str, cst.CSTNode]]] = {}
        self.loop_depth = 0
        #: Django `atomic()` blocks around the current statement whose transaction
        #: begins at their first query (the driver sends BEGIN lazily)
        self.armed: tuple[str, ...] = ()
        #: the calls this function iterates where it makes them (`_iterated_calls`)
        self._iterated: frozenset[int] | None = None
        self._awaited: frozenset[int] | None = None
        self._dropped: frozenset[int] | None = None
        #: id() of the calls that began a transaction with a read (`read_only`), and
        #: the handles some work other than a read ran on, anywhere in the function
        self._read_openers: set[int] = set()
        self._written: set[str] = set()
        #: per slow call found, the handles written in their current transaction
        #: before it (flow-sensitive, unlike `_written`), and the calls of this function
        #: that began a transaction with a statement on the handle itself or in a
        #: project function it was handed to (not a decorator, a `with` block or the
        #: caller)
        self.wrote_before: dict[int, frozenset[str]] = {}
        self._direct_openers: set[int] = set()
        #: parameters that hold the caller's connection (`opened_by_helper`: a project
        #: function the caller hands its held connection to)
        self.handed: set[str] = set()
        #: the handles known to be SQLAlchemy sessions (Flask-SQLAlchemy's `db.session`,
        #: a `Session()`, a `scoped_session`): what `close_all_sessions()` closes
        self.sessions: set[str] = {_FLASK_SESSION}
        #: the slow calls reached on some path with a transaction open that took no
        #: explicit lock (`knowledge/locks.py`): the rest run under a lock taken on purpose
        self.unlocked: set[int] = set()
        #: the states at each `return` walked so far: a path that returned goes on
        #: only through the `finally` and `with` exits around it (and an enclosing
        #: handler, for what the body raised before it), not to the statements after
        self._returned: list[State] = []
        #: while a `try` whose handler catches only pool errors is walked, the state at
        #: each call of its body that may raise one (`_note_pool_call`), else None
        self._pool_calls: list[State] | None = None
        #: the calls whose state is kept (`_callers_only_read_before`), and that state
        self.watching: frozenset[int] = frozenset()
        self.watched: dict[int, State] = {}
        #: the Flask-SQLAlchemy the project declares (`_flask_sqlalchemy_pins`), asked
        #: once, when an app context meets an open `db.session`
        self._versions: str | None = None

    # ------------------------------------------------------------ statements
    def walk(self, stmts: Sequence[cst.CSTNode], state: State) -> State:
        """What a whole body leaves open: at its end and at each `return`."""
        mark = len(self._returned)
        return self.block(stmts, state) | self._returns_since(mark)

    def _returns_since(self, mark: int) -> State:
        out: State = frozenset()
        for returned in self._returned[mark:]:
            out = out | returned
        return out

    def block(self, stmts: Sequence[cst.CSTNode], state: State) -> State:
        for st in stmts:
            state = self.stmt(st, state)
            if _returns(st):
                self._returned.append(state)
                state = frozenset()  # nothing after a `return` runs on this path
        return state

    def suite(self, suite: cst.BaseSuite | None, state: State) -> State:
        return state if suite is None else self.block(body_statements(suite), state)

    def stmt(self, st: cst.CSTNode, state: State) -> State:
        if isinstance(st, cst.SimpleStatementLine):
            for small in st.body:
                state = self.small(small, state)
            return state
        if isinstance(st, cst.If):
            state = self.calls(st.test, state)
            then = self.suite(st.body, self.narrowed(state, _none_if(st.test, True)))
            other = self.narrowed(state, _none_if(st.test, False))
            if isinstance(st.orelse, cst.If):
                other = self.stmt(st.orelse, other)
            elif isinstance(st.orelse, cst.Else):
                other = self.suite(st.orelse.body, other)
            return then | other
        if isinstance(st, (cst.For, cst.While)):
            state = self.calls(st.iter if isinstance(st, cst.For) else st.test, state)
            self.loop_depth += 1
            first = self.suite(st.body, state)
            out = state | first
            if self.loop_depth <= _LOOP_REPEAT_DEPTH and first != state:
                # the next iteration starts with what the first one left open
                out = out | self.suite(st.body, out)
            self.loop_depth -= 1
            if st.orelse is not None:
                out = self.suite(st.orelse.body, out)
            return out
        if isinstance(st, (cst.Try, cst.TryStar)):
            return self.try_stmt(st, state)
        if isinstance(st, cst.With):
            return self.with_stmt(st, state)
        if isinstance(st, cst.Match):
            state = self.calls(st.subject, state)
            out = state
            for case in st.cases:
                out = out | self.suite(case.body, state)
            return out
        return state  # nested def/class: their own functions

    def try_stmt(self, st: cst.Try | cst.TryStar, state: State) -> State:
        mark = len(self._returned)
        pool_only = [catches_only_pool_errors(self.index, h, self.module, self.func)
                     for h in st.handlers]
        outer_pool_calls = self._pool_calls
        if any(pool_only):
            self._pool_calls = []
        body = self.suite(st.body, state)
        at_pool_calls: State = state
        for seen in self._pool_calls or ():
            at_pool_calls = at_pool_calls | seen
        if outer_pool_calls is not None and self._pool_calls is not outer_pool_calls:
            outer_pool_calls.extend(self._pool_calls or ())
        self._pool_calls = outer_pool_calls
        # a handler runs on what was open where the body raised: anywhere in it, a
        # path that returned included; one that catches only a pool's own errors
        # (`except PoolError:`), only where the body called the pool
        raised = _ended(state | body | self._returns_since(mark), self.guarded_ends(st))
        out = body
        handlers: Sequence[cst.ExceptHandler | cst.ExceptStarHandler] = st.handlers
        for i, handler in enumerate(handlers):
            out = out | self.suite(handler.body, at_pool_calls if pool_only[i] else raised)
        if st.orelse is not None:
            out = out | self.suite(st.orelse.body, body)
        if st.finalbody is not None:
            returned = self._returns_since(mark)
            if len(self._returned) > mark:
                del self._returned[mark:]
                # the paths that returned run the `finally`, and still return
                self._returned.append(self.suite(st.finalbody.body, returned))
            out = self.suite(st.finalbody.body, out)
        return out

    def guarded_ends(self, st: cst.Try | cst.TryStar) -> frozenset[str]:
        """The handles a `try` body ends when it holds nothing but calls that end or
        give them back (`try: POOL.putconn(conn, close=True)` / `except Exception:
        pass`): a release that raised found the connection broken or the pool
        closed, and its transaction is gone either way (as PS103's flow reads it)."""
        out: set[str] = set()
        for stmt in body_statements(st.body):
            if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                    and isinstance(stmt.body[0], cst.Expr)):
                return frozenset()
            call = strip_await(stmt.body[0].value)[0]
            if not isinstance(call, cst.Call):
                return frozenset()
            ends = set(self.given_back(call))
            f = call.func
            if isinstance(f, cst.Attribute) and f.attr.value in TRANSACTION_END_METHODS:
                key = self.key_of(f.value)
                if key is not None:
                    ends.add(key)
            if not ends:
                return frozenset()
            out |= ends
        return frozenset(out)

    def narrowed(self, state: State, handles: Sequence[cst.BaseExpression]) -> State:
        """`state` on a branch where each of `handles` is None (or false): a handle that
        is None holds no transaction (`finally: if s is not None: s.close()` leaves
        nothing open on either path)."""
        keys: set[str] = set()
        for expr in handles:
            d = dotted_name(expr)
            if d is not None:
                keys.add(self.aliases.get(d, d))
        return state - keys if keys & state else state

    def small(self, small: cst.BaseSmallStatement, state: State) -> State:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                self.note_assign(t.target, small.value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.note_assign(small.target, small.value)
        if _real_keys(state) and _sets_attribute(small):
            # `order.status = "sent"` on a loaded instance: the session's next query
            # (autoflush) or its commit writes it
            state = state | {_WROTE + k for k in _real_keys(state)}
        state = self.calls(small, state)
        # `transaction = await database.transaction()`: open until its commit/rollback
        if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                and isinstance(small.targets[0].target, cst.Name):
            value, awaited = strip_await(small.value)
            if awaited and isinstance(value, cst.Call) and self.opens_transaction(value):
                key = small.targets[0].target.value
                self._opened[key] = value
                state = state | {key}
        # `trans = await conn.begin()` (aiopg.sa) on a connection in autocommit: the
        # explicit transaction is open from here to its commit or rollback
        expr = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
        begun, awaited = strip_await(expr) if expr is not None else (None, False)
        if awaited and isinstance(begun, cst.Call) and isinstance(begun.func, cst.Attribute) \
                and begun.func.attr.value == _EXPLICIT_BEGIN:
            conn = self.key_of(begun.func.value)
            if conn is not None and conn in self.autocommit and conn not in state:
                self._opened[conn] = begun
                state = state | {conn}
        return state

    def opens_transaction(self, call: cst.Call) -> bool:
        """A call whose transaction begins when it is entered or awaited
        (`ConnectionKind.opens_transaction`)."""
        value = self.index.evaluate(call, self.module, self.func)
        return isinstance(value, Connection) and value.kind.opens_transaction

    def source(self, node: cst.CSTNode) -> str:
        return self.module.tree.code_for_node(node).strip()

    def note_assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        # `conn.autocommit = True`
        if (isinstance(target, cst.Attribute) and target.attr.value == "autocommit"
                and isinstance(value, cst.Name) and value.value == "True"):
            key = self.key_of(target.value)
            if key is not None:
                self.autocommit.add(key)
            return
        # sqlite3's `conn.isolation_level = None` (psycopg2's means the server default)
        if (isinstance(target, cst.Attribute) and target.attr.value == "isolation_level"
                and isinstance(value, cst.Name) and value.value == "None"):
            key = self.key_of(target.value)
            if key is not None and key in self.sqlite3:
                self.autocommit.add(key)
            return
        # `cur = conn.cursor()`, `trans = conn.begin()`: share the connection's transaction
        value = strip_await(value)[0]
        if isinstance(target, cst.Name) and isinstance(value, cst.Call) and isinstance(
                value.func, cst.Attribute) and (
                value.func.attr.value in CURSOR_METHODS
                or value.func.attr.value in TRANSACTION_CM_METHODS):
            key = self.key_of(value.func.value)
            if key is not None:
                self.aliases[target.value] = key

    def with_stmt(self, w: cst.With, state: State) -> State:
        ends: set[str] = set()
        if _FLASK_SESSION in state and len(w.items) == 1 \
                and _app_context_call(w.items[0].item) and self.context_scoped():
            # Flask-SQLAlchemy 3.x: a nested `with app.app_context():` has a session of
            # its own, which its teardown removes; the outer context's session, and its
            # open transaction, wait across the block unchanged
            outer = {k for k in state if k == _FLASK_SESSION
                     or (k.startswith("\x00") and k.endswith(":" + _FLASK_SESSION))}
            inner = self._with_body(w, state - outer, {_FLASK_SESSION})
            return _ended(inner, {_FLASK_SESSION}) | outer
        if any(_app_context_call(i.item) for i in w.items) and (
                _FLASK_SESSION not in state or self.thread_scoped()):
            # a fresh `with app.app_context():` (no database work on Flask-SQLAlchemy's
            # session yet on any path here): its teardown removes the session it used,
            # rolling back what it left open, so the next fresh context starts clean;
            # under Flask-SQLAlchemy 2.x a nested context shares the thread's session,
            # and its teardown removes that session, the outer context's work included
            ends.add(_FLASK_SESSION)
        for item in w.items:
            state = self.calls(item.item, state)
            expr = strip_await(item.item)[0]
            target = item.asname.name if item.asname is not None else None
            name_node = target if isinstance(target, cst.Name) else None
            name = name_node.value if name_node is not None else None
            if isinstance(expr, cst.Call) and self.opens_transaction(expr):
                # `async with database.transaction():`, Gino's `db.transaction()`,
                # Tortoise's `in_transaction()`: BEGIN is sent on entry
                begun = name or self.source(expr)
                ends.add(begun)
                if name is not None:
                    self.aliases[name] = begun
                if begun not in state:
                    self._opened[begun] = expr
                state = state | {begun}
                continue
            if isinstance(expr, cst.Call) and self.is_atomic(expr.func):
                atomic = _ATOMIC_KEY
                ends.add(atomic)
                body = self.armed
                self.armed = (*body, atomic)
                state = self._with_body(w, state, ends)
                self.armed = body
                return _ended(state, ends)
            if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
                method = expr.func.attr.value
                base_key = self.key_of(expr.func.value)
                if method in CURSOR_METHODS and base_key is not None and name is not None:
                    self.aliases[name] = base_key
                    continue
                if method in TRANSACTION_CM_METHODS:
                    key = base_key or name
                    if key is not None:
                        if name is not None and base_key is not None:
                            self.aliases[name] = base_key
                        ends.add(key)
                        if key in self.autocommit:
                            # an explicit transaction on an autocommit connection
                            # (`async with conn.transaction():`) is open from here
                            state = state | {key}
                    continue
            if name_node is not None and self.key_of(name_node) is not None:
                ends.add(name_node.value)
            else:
                key = self.key_of(expr)
                if key is not None:
                    ends.add(key)  # `with conn:` commits or rolls back at the end
        state = self._with_body(w, state, ends)
        return _ended(state, ends)

    def _with_body(self, w: cst.With, state: State, ends: set[str]) -> State:
        """The `with` body walked; a path that returned in it leaves through the
        block's exit too, which ends `ends` there as at its end."""
        mark = len(self._returned)
        state = self.suite(w.body, state)
        for i in range(mark, len(self._returned)):
            self._returned[i] = _ended(self._returned[i], ends)
        return state

    # ---------------------------------------------------------------- calls
    def calls(self, node: cst.CSTNode, state: State) -> State:
        for call in iter_calls(node):
            state = self.call(call, state)
        return state

    def call(self, call: cst.Call, state: State) -> State:
        real = _real_keys(state)
        # a lock mark outlives its transaction only until here; a transaction without
        # one (begun by a statement, a `with` block, a decorator or the caller) runs
        # unlocked on this path until a statement on its handle takes a lock
        marks = {m for m in state if m.startswith(_LOCK_MARKS)
                 and m.split(":", 1)[1] not in real}
        unlocked = {_UNLOCKED + k for k in real
                    if _LOCKED + k not in state and _UNLOCKED + k not in state}
        if marks or unlocked:
            state = (state - marks) | unlocked
        if self._pool_calls is not None:
            self._note_pool_call(call, state)
        if id(call) in self.watching:
            self.watched[id(call)] = self.watched.get(id(call), frozenset()) | state
        state = self._call(call, state)
        key = self.lock_key(call, state)
        if key is not None:
            state = (state - {_UNLOCKED + key}) | {_LOCKED + key}
        return state

    def _note_pool_call(self, call: cst.Call, state: State) -> None:
        """The state where `call` may raise a pool's own error: any call but a
        method of a connection or cursor held here (the driver's `cursor()`,
        `execute()`, ...: their errors are the driver's); a `putconn(conn)` that
        raises one found the pool closed, whose `closeall()` closed `conn`."""
        f = call.func
        if isinstance(f, cst.Attribute) and self.key_of(f.value) is not None:
            return
        if isinstance(f, cst.Name) and f.value == "super":
            return  # `super().putconn(conn)`: the builtin raises nothing of the pool's
        if self._pool_calls is not None:
            self._pool_calls.append(state - self.given_back(call))

    def given_back(self, call: cst.Call) -> frozenset[str]:
        """The connection `pool.putconn(conn)` (`POOL_RELEASE_METHODS`, called on no
        connection of this function) hands back to its pool: the pool rolls back or
        closes one left in a transaction (psycopg2's and psycopg_pool's `putconn`,
        asyncpg's `release` resets it, aiopg's closes it)."""
        f = call.func
        if not (isinstance(f, cst.Attribute) and f.attr.value in POOL_RELEASE_METHODS) \
                or self.key_of(f.value) is not None:
            return frozenset()
        args = positional_args(call)
        key = self.key_of(args[0]) if args else None
        return frozenset() if key is None else frozenset({key})

    def lock_key(self, call: cst.Call, state: State) -> str | None:
        """The handle whose open transaction `call` takes an explicit lock in
        (`explicit_locks.takes_lock`), or None."""
        if not isinstance(call.func, cst.Attribute) or not _real_keys(state) \
                or not takes_lock(call, self.bound_expr):
            return None
        root = chain_methods(call.func)[1]
        key = self.key_of(root) if isinstance(root, (cst.Name, cst.Attribute)) else None
        if key is None and isinstance(root, cst.Call) and isinstance(
                root.func, cst.Attribute) and root.func.attr.value in CURSOR_METHODS:
            key = self.key_of(root.func.value)  # `conn.cursor().execute(...)`
        if key is None:
            key = self.model_query(call.func.value)
        return key if key is not None and key in state else None

    def _call(self, call: cst.Call, state: State) -> State:
        # a handle's write mark outlives its transaction only until here
        marks = _wrote_keys(state)
        if marks - state:
            state = state - {_WROTE + k for k in marks - state}
        what = self.slow(call) if _real_keys(state) else None  # nothing held
        if what is not None:
            if not _all_locked(state):
                self.unlocked.add(id(call))
            # a loop's second walk sees what its first round wrote
            self.wrote_before[id(call)] = (self.wrote_before.get(id(call), frozenset())
                                           | _wrote_keys(state))
            if id(call) not in self._seen:
                self._seen.add(id(call))
                self.found.append((call, what, _real_keys(state)))
                self.openers[id(call)] = [(k, self._opened[k]) for k in sorted(state)
                                          if k in self._opened]
            return state
        if state & self.sessions and self.closes_all_sessions(call):
            # every session in memory is closed: its transaction ends there
            return _ended(state, self.sessions)
        if _FLASK_SESSION in state and self.pushes_own_context(call) and self.thread_scoped():
            # Flask-SQLAlchemy 2.x: the project function's own `with app.app_context():`
            # tears down by removing the thread's one session, the caller's too
            return _ended(state, {_FLASK_SESSION})
        ended = self.ended_by_helper(call, state)
        if ended:
            # `set_state(db, job, "done")` whose body ends in `db.session.commit()`
            return _ended(state, ended)
        if self.armed and not state.issuperset(self.armed):
            begun = self.armed_helper(call)
            if begun is not False:
                for armed in self.armed:
                    if armed not in state:
                        self._opened[armed] = call
                state = state | set(self.armed)
                if begun is not True:
                    self.unlocked.add(id(call))
                if begun is not True and id(call) not in self._seen:
                    self._seen.add(id(call))
                    self.helper_found.add(id(call))
                    self.found.append((call, begun, _real_keys(state)))
                    self.openers[id(call)] = [(k, self._opened[k]) for k in sorted(state)
                                              if k in self._opened]
                return state
        if self.armed and self.django_lookup(call):
            for armed in self.armed:
                if armed not in state:
                    self._opened[armed] = call
            state = state | set(self.armed)
        for opened in self.opened_by_helper(call, state):
            self._opened[opened] = call
            self._direct_openers.add(id(call))  # marked written below unless it only reads
            state = state | {opened}
        if _real_keys(state) and self.helper_may_write(call):
            state = state | {_WROTE + k for k in _real_keys(state)}
        f = call.func
        if not isinstance(f, cst.Attribute):
            return state
        method = f.attr.value
        given = self.given_back(call)
        if given:
            # `POOL.putconn(conn)`: the pool rolls back (or closes) what it is given
            return _ended(state, given)
        if self.armed and (_django_query(call)
                           or manager_self_query(self.index, call, self.func)):
            for armed in self.armed:
                if armed not in state:
                    self._opened[armed] = call
            state = state | set(self.armed)
        key = self.key_of(f.value)
        if key is None and isinstance(f.value, cst.Call) and isinstance(
                f.value.func, cst.Attribute) and f.value.func.attr.value in CURSOR_METHODS:
            # `conn.cursor().execute(...)`: the statement runs in `conn`'s transaction
            # as it does through a cursor bound to a name
            key = self.key_of(f.value.func.value)
        through_query = False
        if key is None:
            key = self.model_query(f.value)
            through_query = key is not None
        if key is None:
            wrote = self.note_chain_write(call)
            if wrote is not None and wrote in state:
                state = state | {_WROTE + wrote}
            for opened in self.opened_by_method(call):
                if opened not in state:
                    self._opened[opened] = call
                state = state | {opened}
            return state
        if method in TRANSACTION_END_METHODS or (
                method == "remove" and not call.args and key in self.sessions):
            # `Session.remove()` on a `scoped_session` registry (Flask-SQLAlchemy's
            # `db.session.remove()`) closes the thread's session: its transaction ends
            return _ended(state, {key})
        if key in self.autocommit:
            # a connection in autocommit holds a transaction only from a `BEGIN` sent
            # by hand to its `COMMIT` / `ROLLBACK`
            control = explicit_transaction(call)
            if control == "begin" and key not in state:
                self._opened[key] = call
                self._written.add(key)
                return state | {key, _WROTE + key}
            if control == "end":
                return _ended(state, {key})
        if method in NON_WORK_METHODS or method in CURSOR_METHODS or key in self.autocommit \
                or method in _SESSION_SETUP_METHODS:
            return state
        reads = is_read(call, method, through_query, self.bound_expr)
        if reads and key in self.sqlite3 and key not in state:
            # Python's sqlite3 begins a transaction before INSERT, UPDATE, DELETE and
            # REPLACE only: a SELECT on a connection with none open leaves none open
            return state
        if not reads:
            self._written.add(key)
            state = state | {_WROTE + key}
        if key not in state:
            self._opened[key] = call
            self._direct_openers.add(id(call))
            if reads:
                self._read_openers.add(id(call))
        return state | {key}

    def thread_scoped(self) -> bool:
        if self._versions is None:
            self._versions = _flask_sqlalchemy_pins(self.index, self.func.module)
        return self._versions == "2"

    def context_scoped(self) -> bool:
        if self._versions is None:
            self._versions = _flask_sqlalchemy_pins(self.index, self.func.module)
        return self._versions == "3"

    def pushes_own_context(self, call: cst.Call) -> bool:
        """`call` runs a project function (or method) whose body pushes an application
        context of its own as one of its statements (`with app.app_context():`, not
        under an `if`, a loop or a `try`): it has been torn down when the call returns."""
        value = self.index.evaluate(call.func, self.func.module, self.func)
        if not isinstance(value, FunctionRef) or value.func.is_generator or value.func.is_async:
            return False
        return any(isinstance(st, cst.With) and any(_app_context_call(i.item) for i in st.items)
                   for st in value.func.node.body.body)

    # ------------------------------------------------------------ read-only
    def bound_expr(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        """What a local name is bound to when the function binds it once (`stmt =
        select(User)`); nothing is looked up beyond the function."""
        if not isinstance(expr, cst.Name):
            return None
        values = self.func.locals.get(expr.value, [])
        value = values[0] if len(values) == 1 else None
        return value if isinstance(value, cst.BaseExpression) else None

    def note_chain_write(self, call: cst.Call) -> str | None:
        """`session.query(X).filter(...).update(...)`: a write on the chain's session
        (its key)."""
        if writes_through_chain(call):
            key = self.key_of(chain_methods(call.func)[1])
            if key is not None:
                self._written.add(key)
                return key
        return None

    def helper_may_write(self, call: cst.Call) -> bool:
        """`call` runs a project function that may write on a session or connection
        (its own, a global one, one handed to it): `_project_reads_only` cannot show
        that it only reads."""
        callee = _callee(self.index, call, self.module, self.func)
        return isinstance(callee, FunctionRef) and callee.func is not self.func \
            and not _project_reads_only(self.index, callee.func)

    def read_before(self, call: cst.Call, keys: State) -> bool:
        """Every transaction `call` runs in was begun in this function by a statement
        on its handle, and on every path only reads ran on it before the call (a write
        after the call, or one committed before a read began this transaction, does
        not count)."""
        openers = dict(self.openers.get(id(call), []))
        return bool(keys) and id(call) not in self.helper_found \
            and not (self.wrote_before.get(id(call), frozenset()) & keys) \
            and all(k in openers and id(openers[k]) in self._direct_openers for k in keys)

    def read_only(self, call: cst.Call, keys: State) -> bool:
        """Every transaction `call` runs in was begun by a read and nothing but reads
        ran on its handle in this function (a snapshot is all it holds)."""
        readers = {k for k, opener in self.openers.get(id(call), [])
                   if id(opener) in self._read_openers}
        return bool(keys) and id(call) not in self.helper_found and all(
            k in readers and k not in self._written for k in keys)

    def armed_helper(self, call: cst.Call) -> Slow | bool:
        """Inside a Django `atomic()` block (or a view under `ATOMIC_REQUESTS`) whose
        transaction has not begun, `call` runs a project function: the slow work that
        function does after a query of its own (`form.save()` that saves a row, then
        calls an API), True when it runs a query and no slow work after it (the
        transaction is open when it returns), False when it runs no query. Project
        functions it calls are followed in turn, `_MAX_HELPER_DEPTH` deep."""
        if self.depth >= _MAX_HELPER_DEPTH:
            return False
        # the helper's module may spell no database word nor slow package (`forms.py`
        # between a view and the manager that calls Stripe): every module is read
        with self.index.full_resolution():
            callee = _callee(self.index, call, self.module, self.func)
            if not isinstance(callee, FunctionRef):
                return self.armed_cleaning(call)
        if callee.func is self.func or callee.func.is_async:
            return False
        if callee.func.is_generator and id(call) not in self.iterated():
            return False  # calling a generator function runs none of its body yet
        return self.armed_walk(callee.func)

    def armed_walk(self, helper: FunctionInfo) -> Slow | bool:
        """`armed_helper`'s answer for a project function the call runs (memoised)."""
        memo = _ARMED_HELPERS.setdefault(self.index, {})
        key = (id(helper.node), self.depth)
        known = held(memo, key, helper.node)
        if known is None:
            # a recursive call begins nothing more
            known = memo[key] = (helper.node, False)
            inner = _Walker(self.index, helper, self.depth + 1)
            inner.armed = (_HELPER_KEY,)
            with self.index.full_resolution():
                left = inner.walk(body_statements(helper.node.body), frozenset())
            if inner.found:
                what, family, via = inner.found[0][1]
                known = memo[key] = (helper.node, (
                    what if via is None else f"{via}() -> {what}", family, helper.name))
            else:
                known = memo[key] = (helper.node, _HELPER_KEY in left)
        return known[1]

    def armed_cleaning(self, call: cst.Call) -> Slow | bool:
        """`form.is_valid()` / `form.full_clean()` on an instance of a project class
        runs that class's cleaning methods (`clean_<field>()`, `clean()`, Django's
        form and model validation): the first that begins the transaction (a lookup in
        `clean_email()`) is where it begins."""
        f = call.func
        if not (isinstance(f, cst.Attribute) and f.attr.value in DJANGO_CLEANING_CALLS):
            return False
        owner = self.index.evaluate(f.value, self.module, self.func)
        if not isinstance(owner, Instance):
            return False
        begun: Slow | bool = False
        for name, method in owner.cls.methods.items():
            if name == DJANGO_CLEAN_METHOD or name.startswith(DJANGO_CLEAN_METHOD + "_"):
                found = self.armed_walk(method)
                if found is not False and found is not True:
                    return found
                begun = begun or found
        return begun

    def begun_at(self, key: str, check: cst.CSTNode) -> None:
        """`key`'s transaction is open when the body starts, begun by `check` (a view's
        access check under `ATOMIC_REQUESTS`: `django_auth.authenticates_first`),
        which the finding's path names at the `def` line."""
        self._opened[key] = self.func.node.name
        self.labels[key] = (f"`{key}` is open from here: `{self.source(check)}` "
                            "looks the user up first")
        self.begun = self.begun | {key}

    def opened_by_method(self, call: cst.Call) -> frozenset[str]:
        """`await self._load(...)` where a method of the same object runs a statement on
        the object's session (`self.session.get(...)`) and leaves it open: the
        caller's `self.session` is in a transaction after the call (followed two
        methods deep)."""
        f = call.func
        if self.depth >= 2 or not isinstance(f, cst.Attribute) \
                or not isinstance(f.value, cst.Name):
            return frozenset()
        receiver = f.value.value
        if receiver == "self" and self.func.cls is None:
            return frozenset()
        if receiver != "self" and not self._one_object(receiver):
            return frozenset()
        callee = self.index.evaluate(f, self.module, self.func)
        if not isinstance(callee, FunctionRef) or callee.func.cls is None \
                or callee.func is self.func or not callee.func.is_method \
                or _class_method(callee.func) or not callee.func.named_params():
            return frozenset()
        own = callee.func.named_params()[0].name.value
        inner = _Walker(self.index, callee.func, self.depth + 1)
        left = inner.walk(body_statements(callee.func.node.body), frozenset())
        # only the object's own handles mean the same session in the caller (a local
        # object's, `hb.startup()`, as `hb.conn`)
        return frozenset(receiver + k[len(own):] for k in left if k.startswith(own + ".")
                         and k not in inner.autocommit
                         and self.key_of_dotted(receiver + k[len(own):]))

    def _one_object(self, name: str) -> bool:
        """`name` is a local bound once, to an instance of a project class (`hb =
        Heartbeat(dsn)`): its methods' `self` is that one object."""
        values = self.func.locals.get(name, [])
        return name not in self.func.all_param_names() and len(values) == 1 \
            and isinstance(values[0], cst.Call) \
            and isinstance(self.index.evaluate(values[0], self.module, self.func), Instance)

    def key_of_dotted(self, key: str) -> bool:
        """`self.session` is a session or connection here too."""
        try:
            expr = cst.parse_expression(key)
        except cst.ParserSyntaxError:
            return False
        return self.key_of(expr) == key

    def is_atomic(self, expr: cst.BaseExpression) -> bool:
        """`transaction.atomic` / `atomic` from `django.db`."""
        qual = external_name(self.index, expr, self.module, self.func)
        return qual is not None and qual_match(qual, DJANGO_ATOMIC) is not None

    # -------------------------------------------------------------- handles
    def key_of(self, expr: cst.BaseExpression) -> str | None:
        """A name for the connection or session `expr` stands for, or None."""
        expr = strip_await(expr)[0]
        d = dotted_name(expr)
        if d is None:
            return None
        if d in self.aliases:
            return self.aliases[d]
        if isinstance(expr, cst.Attribute) and expr.attr.value == "session" and is_flask_db(
                self.index.evaluate(expr.value, self.module, self.func)):
            return _FLASK_SESSION
        value = self.index.evaluate(expr, self.module, self.func)
        if isinstance(value, Connection):
            # from an AUTOCOMMIT engine or pool, or asyncpg outside `transaction()`:
            # each statement commits on its own, no transaction stays open
            if value.autocommit or value.kind.autocommit_by_default:
                self.autocommit.add(d)
            if value.kind.key == "sqlite3" or (
                    value.kind.key in _SQLALCHEMY_HANDLE_KINDS and self.sqlite_handle(d)):
                self.sqlite3.add(d)
            if value.kind.is_session:
                self.sessions.add(d)
            return d
        if isinstance(value, LibraryObject) and value.type.is_scoped:
            self.sessions.add(d)
            return d
        if value is None and isinstance(expr, cst.Name) and self.unpacked_registry(expr.value):
            self.sessions.add(d)
            return d
        if value is None and isinstance(expr, cst.Name) and self.annotated_handle(expr.value):
            return d
        if value is None and isinstance(expr, cst.Name) and (
                expr.value in self.handed or self.decorator_handle(expr.value)):
            return d
        if value is None and isinstance(expr, cst.Name) and self.scoped_checkout(expr.value):
            return d
        if value is None and self.handle_attribute(expr):
            return d
        if value is None and "." in d:
            return self.module_cursor(expr)
        return None

    def module_cursor(self, expr: cst.BaseExpression) -> str | None:
        """`db.cur`: a cursor another module opened at its top level on its own
        connection (`conn = psycopg2.connect(...)`; `cur = conn.cursor()`), which every
        function shares: its statements run in `db.conn`'s transaction."""
        if not isinstance(expr, cst.Attribute) or isinstance(expr.value, cst.Call):
            return None
        owner = self.index.evaluate(expr.value, self.module, self.func)
        if not isinstance(owner, ModuleRef):
            return None
        bound = resolve(self.index, expr, self.module, self.func)
        made = strip_await(bound.expr)[0]
        if bound.func is not None or bound.module is not owner.module \
                or not isinstance(made, cst.Call) or not isinstance(made.func, cst.Attribute) \
                or made.func.attr.value not in CURSOR_METHODS \
                or not isinstance(made.func.value, cst.Name):
            return None
        conn = cst.Attribute(value=expr.value, attr=cst.Name(made.func.value.value))
        if not isinstance(self.index.evaluate(conn, self.module, self.func), Connection):
            return None
        return self.key_of(conn)

    def decorator_handle(self, name: str) -> bool:
        """A parameter that a project decorator fills with a connection it checked out
        (`@with_conn def start(update, context, conn)`, whose wrapper calls the function
        with `conn` from `pool.getconn()`, also inside `with pool.getconn() as conn:`):
        the function's own connection, in a transaction from its first statement until
        the wrapper ends it."""
        if name not in self.func.all_param_names():
            return False
        autocommit = _decorator_handles(self.index, self.func).get(name)
        if autocommit is None:
            return False
        if autocommit:
            self.autocommit.add(name)
        return True

    def opened_by_helper(self, call: cst.Call, state: State) -> frozenset[str]:
        """`upsert_user(conn, user)`: a project function the connection (not in a
        transaction yet) is handed to runs a statement on it and leaves its
        transaction open (no commit): the caller's connection is in a transaction
        after the call (followed two calls deep)."""
        if self.depth >= 2 or not call.args:
            return frozenset()
        name = call_name(call)
        if name is None or not self.index.is_project_function_name(name):
            return frozenset()
        handed: dict[str, str] = {}
        callee: FunctionRef | None = None
        for arg in call.args:
            if arg.star or not isinstance(arg.value, cst.Name):
                continue
            key = self.key_of(arg.value)
            if key is None or key in state or key in self.autocommit:
                continue
            if callee is None:
                # the helper's module may spell no database word (`dbhelpers/`
                # modules that only take a connection): every module is read
                with self.index.full_resolution():
                    found = _callee(self.index, call, self.module, self.func)
                if not isinstance(found, FunctionRef) or found.func is self.func \
                        or found.func.is_async or found.func.is_generator:
                    return frozenset()
                callee = found
            param = param_for(callee.func, call, arg)
            if param is not None:
                handed[param] = key
        if callee is None or not handed:
            return frozenset()
        inner = _Walker(self.index, callee.func, self.depth + 1)
        inner.handed = set(handed)
        with self.index.full_resolution():
            left = inner.walk(body_statements(callee.func.node.body), frozenset())
        return frozenset(handed[p] for p in handed if p in left)

    def ended_by_helper(self, call: cst.Call, state: State) -> frozenset[str]:
        """The held transactions a project function `call` runs ends on every path:
        Flask-SQLAlchemy's `db.session` (one session per thread, whatever module or
        parameter names it: `def set_state(db, job, state): ...; db.session.commit()`),
        or a session or connection handed to it (`save(session, row)` whose body
        commits `session`). A commit, rollback or close on each way out of the callee
        ends the caller's transaction: nothing is open after the call (followed two
        calls deep)."""
        keys = _real_keys(state)
        if self.depth >= 2 or not keys:
            return frozenset()
        name = call_name(call)
        if name is None or not self.index.is_project_function_name(name):
            return frozenset()
        with self.index.full_resolution():
            callee = _callee(self.index, call, self.module, self.func)
        if not isinstance(callee, FunctionRef) or callee.func is self.func \
                or callee.func.is_generator:
            return frozenset()
        aliases: dict[str, str] = {}
        for arg in call.args:
            if arg.star:
                continue
            param = param_for(callee.func, call, arg)
            handed = dotted_name(strip_await(arg.value)[0])
            if param is None or handed is None:
                continue
            for key in keys:
                if key == handed or key.startswith(handed + "."):
                    aliases[param + key[len(handed):]] = key
            if _FLASK_SESSION in keys and is_flask_db(
                    self.index.evaluate(arg.value, self.module, self.func)):
                aliases[param + ".session"] = _FLASK_SESSION
        aliases.update(self._own_attributes(call, callee.func, keys))
        # what the callee can name: what was handed to it, and the thread's
        # Flask-SQLAlchemy session (the same object in every module)
        seen = set(aliases.values()) | (keys & {_FLASK_SESSION})
        if not seen:
            return frozenset()
        inner = _Walker(self.index, callee.func, self.depth + 1)
        inner.aliases.update(aliases)
        with self.index.full_resolution():
            left = inner.walk(body_statements(callee.func.node.body), frozenset(seen))
        return frozenset(k for k in seen if k not in left)

    def _own_attributes(self, call: cst.Call, callee: FunctionInfo,
                        keys: State) -> dict[str, str]:
        """`self.commit()` inside a method, calling a method of the same class (or of
        one of its bases): the callee sees the caller's `self.conn` as its own first
        parameter's `conn` (`def commit(self): self.conn.commit()`), so a held
        `self.conn` is one it can end."""
        if not (isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name)
                and callee.is_method and callee.cls is not None):
            return {}
        mine = self.func.named_params()
        theirs = callee.named_params()
        receiver = call.func.value.value
        if not theirs or _class_method(callee):
            return {}
        if not (mine and mine[0].name.value == receiver and not _class_method(self.func)
                and receiver not in self.func.locals) and not self._one_object(receiver):
            return {}
        own = theirs[0].name.value
        return {own + key[len(receiver):]: key for key in keys
                if key.startswith(receiver + ".")}

    def handle_attribute(self, expr: cst.BaseExpression) -> bool:
        """`self.db` set in a method from a parameter annotated as a session or
        connection (`def __init__(self, db: Session): self.db = db`): a service
        that works through the caller's session."""
        cls = self.func.cls
        if cls is None or not isinstance(expr, cst.Attribute) \
                or not isinstance(expr.value, cst.Name) or expr.value.value != "self":
            return False
        attr = expr.attr.value
        pairs = zip(cls.attributes.get(attr, []), cls.attribute_scopes.get(attr, []),
                    strict=True)
        handles: list[tuple[bool, bool]] = []
        for value, scope in pairs:
            if not isinstance(value, cst.Name):
                continue
            inner = _Walker(self.index, scope)
            if inner.annotated_handle(value.value):
                handles.append((value.value in inner.autocommit,
                                value.value in inner.sqlite3))
        if not handles:
            return False
        # what the parameter's annotation says of it holds for the attribute: an
        # `asyncpg.Connection` runs each statement in autocommit outside
        # `transaction()` (round 44, fresh88), whichever method reads it
        key = dotted_name(expr)
        if key is not None:
            if all(auto for auto, _ in handles):
                self.autocommit.add(key)
            if all(lite for _, lite in handles):
                self.sqlite3.add(key)
        return True

    def scoped_checkout(self, name: str) -> bool:
        """A local name bound only to a `scoped_session` registry's call (`session =
        Session()` in the function): the thread's session, the one the registry's
        methods proxy to."""
        if name in self.func.all_param_names():
            return False
        values = self.func.locals.get(name, [])
        if not values:
            return False
        for v in values:
            if not isinstance(v, cst.Call) or v.args:
                return False
            callee = self.index.evaluate(v.func, self.module, self.func)
            if not (isinstance(callee, LibraryObject) and callee.type.is_scoped):
                return False
        return True

    def sqlite_handle(self, name: str) -> bool:
        """A SQLAlchemy session or connection `name` whose reads begin no transaction:
        every engine the project builds is SQLite's (`builds_sqlite_only`: pysqlite
        and aiosqlite begin one only before a write), the handle carries no caller's
        transaction (made here, or `func` has no project caller: a route's
        `Depends(get_db)` session), and `func` sets no attribute of an object (a
        loaded row it changes is flushed, so written, by the next query)."""
        if self._sqlite_ok is None:
            self._sqlite_ok = facts(self.index).builds_sqlite_only() and not any(
                _sets_attribute(small) for node in iter_nodes(self.func.node.body)
                if isinstance(node, cst.SimpleStatementLine) for small in node.body)
        return self._sqlite_ok and (
            _no_caller_transaction(self.index, self.func, frozenset({name}))
            or (only_runs_statements(self.index, self.func, name, _SQLITE_READ_CALLS,
                                     hand_on=False)
                and _callers_only_read_before(self.index, self.func, name)))

    def annotated_handle(self, name: str) -> bool:
        """A parameter annotated as a session or connection (`db: Session`)."""
        for param in self.func.named_params():
            if param.name.value != name or param.annotation is None:
                continue
            qual = external_name(self.index, param.annotation.annotation, self.module,
                                 self.func.parent)
            if qual is not None and qual_match(qual, HANDLE_ANNOTATIONS) is not None:
                if qual_match(qual, AUTOCOMMIT_HANDLE_ANNOTATIONS) is not None:
                    self.autocommit.add(name)  # no transaction until one is opened
                if qual.split(".", 1)[0] == "sqlalchemy" and self.sqlite_handle(name):
                    self.sqlite3.add(name)
                return True
            # FastAPI's `Annotated[Session, Depends(get_db)]`, also through an alias
            kind = self.res.kind(name)
            if kind is not None and kind.autocommit_by_default:
                self.autocommit.add(name)
            return kind is not None
        return False

    def django_lookup(self, call: cst.Call) -> bool:
        """A query that `_django_query` cannot see by its shape: `self.get_object()` in a
        method of a Django or DRF view class (the class's own lookup runs
        `queryset.get()`), and `get_object_or_404(...)` / `get_list_or_404(...)` from
        `django.shortcuts`."""
        f = call.func
        if isinstance(f, cst.Attribute):
            return (f.attr.value in DJANGO_VIEW_LOOKUPS and isinstance(f.value, cst.Name)
                    and f.value.value == "self" and self.func.cls is not None
                    and view_class_framework(self.index, self.func.cls) == "django")
        if not isinstance(f, cst.Name) or not f.value.startswith("get_"):
            return False
        qual = external_name(self.index, f, self.module, self.func)
        return qual is not None and qual_match(qual, DJANGO_SHORTCUT_QUERIES) is not None

    def closes_all_sessions(self, call: cst.Call) -> bool:
        """`close_all_sessions()` (`sqlalchemy.orm`): closes every session of the
        process, so none of them holds a transaction after it."""
        if not may_call(call, {"close_all_sessions"}, self.module, self.func):
            return False
        qual = external_name(self.index, call.func, self.module, self.func)
        return qual is not None and qual_match(qual, CLOSE_ALL_SESSIONS) is not None

    def model_query(self, expr: cst.BaseExpression) -> str | None:
        """`User.query.filter_by(...)`: Flask-SQLAlchemy's session, or the
        scoped_session registry whose `query_property()` `User.query` is."""
        for link in chain_links(expr):
            if isinstance(link, cst.Attribute) and link.attr.value in FLASK_MODEL_QUERY_ATTRIBUTES:
                owner = self.index.evaluate(link.value, self.module, self.func)
                if not isinstance(owner, ClassRef):
                    continue
                if is_model_class(self.index, owner.cls):
                    return _FLASK_SESSION
                registry = query_property_registry(self.index, owner.cls, link.attr.value)
                if registry is not None:
                    return self.registry_key(registry)
        return None

    def unpacked_registry(self, name: str) -> bool:
        """`db_session = init_db(url)` or `engine, db_session = init_db(url)`: `name`
        is bound to what a project setup function returns, a scoped_session registry
        there."""
        found = self.unpacked(name)
        if found is None:
            return False
        value = self.index.evaluate(found.expr, found.module, found.func)
        return isinstance(value, LibraryObject) and value.type.is_scoped

    def unpacked(self, name: str) -> Bound | None:
        """`unpacked_return` of `name` here, or in the project module it is imported
        from (`from shop.db import db_session`, bound there by `init_db(url)`)."""
        found = unpacked_return(self.index, name, self.module, self.func)
        if found is not None or name not in self.module.imports:
            return found
        scope: FunctionInfo | None = self.func
        while scope is not None:
            if name in scope.locals or name in scope.all_param_names():
                return None
            scope = scope.parent
        modname, _, attr = self.module.imports[name].rpartition(".")
        for target in self.index.by_name.get(modname, []):
            found = unpacked_return(self.index, attr, target, None)
            if found is not None:
                return found
        return None

    def registry_key(self, registry: Bound) -> str | None:
        """The key of a scoped_session registry (bound where a `query_property()` was
        built) in this function: the name this function calls it by (`from db import
        Session as S`; `S.commit()`), else its name where it was built."""
        made = resolve(self.index, registry.expr, registry.module, registry.func).expr
        written = dotted_name(registry.expr)
        names = [] if written is None else [written]
        for call in self.func.direct_calls:
            if isinstance(call.func, cst.Attribute):
                d = dotted_name(call.func.value)
                if d is not None and d not in names:
                    names.append(d)
        for d in names:
            try:
                expr = cst.parse_expression(d)
            except cst.ParserSyntaxError:
                continue
            bound = resolve(self.index, expr, self.module, self.func)
            if bound.expr is not made and isinstance(expr, cst.Name):
                unpacked = self.unpacked(expr.value)
                if unpacked is not None:
                    bound = resolve(self.index, unpacked.expr, unpacked.module, unpacked.func)
            if bound.expr is made:
                key = self.key_of(expr)
                if key is not None:
                    return key
        if written is None:
            return None
        self.sessions.add(written)
        return written

    # --------------------------------------------------------------- network
    def slow(self, call: cst.Call) -> Slow | None:
        """(the call, its kind of slow work, the project function it is made in) when
        `call` is slow work, directly or inside a project function it calls."""
        with self.index.slow_work():
            return self._slow(call)

    def _slow(self, call: cst.Call) -> Slow | None:
        if may_be_slow_here(self.index, call):
            found = slow_call(self.index, call, self.module, self.func, self.client)
            if found is not None:
                return found[0], found[1], None
        callee = _callee(self.index, call, self.module, self.func)
        if isinstance(callee, FunctionRef):
            if callee.func.is_generator and id(call) not in self.iterated():
                return None  # calling a generator function runs none of its body yet
            if callee.func.is_async and id(call) not in self.awaited():
                return None  # nor a coroutine function's, unless it is awaited here
            if callee.func.node.decorators and runs_in_background(
                    self.index, callee.func, lambda: id(call) in self.dropped()):
                return None  # its decorator runs it on a new thread and returns
            inside = _slow_inside(self.index, callee.func, 0,
                                  _untaken_calls(callee.func, call))
            if inside is not None:
                return inside[0], inside[1], callee.func.name
        return None

    def iterated(self) -> frozenset[int]:
        if self._iterated is None:
            self._iterated = _iterated_calls(self.func.node.body)
        return self._iterated

    def awaited(self) -> frozenset[int]:
        if self._awaited is None:
            self._awaited = _awaited_calls(self.func.node.body)
        return self._awaited

    def dropped(self) -> frozenset[int]:
        if self._dropped is None:
            self._dropped = dropped_calls(self.func.node.body)
        return self._dropped

    def client(self, expr: cst.BaseExpression) -> Value | None:
        return bound_client(self.index, expr, self.module, self.func)


def bound_client(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                 func: FunctionInfo) -> Value | None:
    """A receiver the index cannot resolve: a `with` binding (`async with
    httpx.AsyncClient() as client:`), an annotated parameter, a python-telegram-bot
    callback's parameter; in `func` or a function enclosing it."""
    value = index.evaluate(expr, module, func)
    if value is not None or not isinstance(expr, cst.Name):
        return value
    scope: FunctionInfo | None = func
    while scope is not None:
        if expr.value in scope.locals:
            for v in reversed(scope.locals[expr.value]):
                if isinstance(v, WithBinding):
                    return index.evaluate(v.item, module, scope)
            return None
        for param in (*scope.node.params.params, *scope.node.params.kwonly_params):
            if param.name.value == expr.value and param.annotation is not None:
                qual = external_name(index, param.annotation.annotation, module, scope.parent)
                return ExternalInstance(qual) if qual is not None else None
            if param.name.value == expr.value:
                qual = _ptb_callback_param(scope, expr.value)
                return ExternalInstance(qual) if qual is not None else None
        scope = scope.parent
    return None


#: how a Django `atomic()` block is named in messages
_ATOMIC_KEY = "transaction.atomic()"
#: ... and the transaction `ATOMIC_REQUESTS` wraps a view in
_REQUEST_KEY = "the request's transaction (ATOMIC_REQUESTS)"
#: the transactions Django opens on the thread's connection
_DJANGO_KEYS = frozenset({_ATOMIC_KEY, _REQUEST_KEY})


def _in_atomic_request(index: ProjectIndex, func: FunctionInfo, walker: _Walker) -> bool:
    """`func` runs inside the transaction Django opens around every view when a
    settings module sets `ATOMIC_REQUESTS`: a sync function view, or a method of a
    Django or DRF view class (the handlers and the hooks they call, as
    `perform_create`), not decorated `@transaction.non_atomic_requests`."""
    if func.is_async or func.parent is not None or not atomic_requests(index):
        return False
    if func.cls is not None:
        if view_class_framework(index, func.cls) != "django":
            return False
    elif request_handler(index, func) != "django":
        return False
    if _non_atomic(index, func.node.decorators, walker.module):
        return False
    # a view class whose `dispatch` is decorated: `as_view()` copies the mark from
    # `dispatch` onto the view function Django wraps (also through
    # `@method_decorator(transaction.non_atomic_requests, name="dispatch")`)
    if func.cls is not None:
        dispatch = func.cls.methods.get("dispatch")
        if dispatch is not None and _non_atomic(index, dispatch.node.decorators,
                                                func.cls.module):
            return False
        for deco in func.cls.node.decorators:
            d = deco.decorator
            name = keyword_arg(d, "name") if isinstance(d, cst.Call) else None
            if isinstance(d, cst.Call) and call_name(d) == "method_decorator" and d.args \
                    and name is not None and string_value(name) == "dispatch":
                qual = external_name(index, d.args[0].value, func.cls.module, None)
                if qual is not None and qual_match(qual, DJANGO_NON_ATOMIC_REQUESTS):
                    return False
    return True


def _non_atomic(index: ProjectIndex, decorators: Sequence[cst.Decorator],
                module: ModuleInfo) -> bool:
    """One of `decorators` is `@transaction.non_atomic_requests`."""
    for deco in decorators:
        qual = external_name(index, _decorator_callee(deco.decorator), module, None)
        if qual is not None and qual_match(qual, DJANGO_NON_ATOMIC_REQUESTS) is not None:
            return True
    return False


def _decorator_callee(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`transaction.atomic` of `@transaction.atomic` and `@transaction.atomic(using=...)`."""
    return expr.func if isinstance(expr, cst.Call) else expr


def _django_query(call: cst.Call) -> bool:
    """A call that runs a query on the thread's Django connection: a manager method
    that evaluates (`Order.objects.get(...)`, `.objects.filter(...).update(...)`,
    `.select_for_update().get()`), a model instance's `save()` / `delete()` /
    `refresh_from_db()` with no positional argument (PIL's `image.save(path)` has
    one), or a cursor's `execute()` given a statement. A lazy queryset (`filter()`
    alone) runs nothing."""
    f = call.func
    if not isinstance(f, cst.Attribute):
        return False
    method = f.attr.value
    if method in DJANGO_INSTANCE_QUERIES:
        return instance_query(call)
    if method in DJANGO_CURSOR_QUERIES:
        return _names_statement(call)
    return method in DJANGO_QUERYSET_QUERIES and through_manager(f.value)


#: the keyword a DB-API cursor's, Django's or SQLAlchemy's `execute()` takes the
#: statement by
_STATEMENT_KEYWORDS = frozenset({"sql", "operation", "query", "statement"})


def _names_statement(call: cst.Call) -> bool:
    """`execute()` / `executemany()` given a statement: a cursor's (DB-API, Django)
    and a SQLAlchemy session's take it first. One given none runs no query: Google's
    API client (`service.files().list(...).execute()`) sends an HTTP request, and a
    job or command object's `execute()` runs its own work."""
    return any(arg.keyword is None or arg.keyword.value in _STATEMENT_KEYWORDS
               for arg in call.args)


#: calls that run through the iterable they are given, and calls that wrap it in an
#: iterator that runs as the wrapper is iterated
_CONSUMERS = frozenset({"list", "tuple", "set", "frozenset", "sorted", "sum", "any", "all",
                        "dict", "next", "join", "extend", "min", "max", "deque"})
_ITERATOR_WRAPPERS = frozenset({"enumerate", "zip", "reversed", "filter", "map", "iter",
                                "islice", "chain"})


def _awaited_calls(body: cst.CSTNode) -> frozenset[int]:
    """The calls (by id) whose coroutine the code awaits where it runs: under `await`,
    an argument of an awaited call (`await asyncio.gather(a(), b())`, `wait_for(c(),
    5)`, through lists and comprehensions), a value returned (its caller awaits it), or
    bound to a name the function awaits (`pending = a()` ... `await pending`). A
    coroutine handed to `create_task()` / `ensure_future()` runs in another task, and
    one never awaited runs nowhere: calling its function runs none of its body here."""
    out: set[int] = set()
    awaited_names: set[str] = set()

    def mark(expr: cst.BaseExpression) -> None:
        if isinstance(expr, cst.Call):
            out.add(id(expr))
            for arg in expr.args:
                mark(arg.value)
        elif isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
            for el in expr.elements:
                mark(el.value)
        elif isinstance(expr, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            mark(expr.elt)
        elif isinstance(expr, cst.Name):
            awaited_names.add(expr.value)

    nodes = list(iter_nodes(body))
    for node in nodes:
        if isinstance(node, cst.Await):
            mark(node.expression)
        elif isinstance(node, cst.Return) and node.value is not None:
            mark(node.value)
    for node in nodes:
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Call) and any(
                isinstance(t.target, cst.Name) and t.target.value in awaited_names
                for t in node.targets):
            out.add(id(node.value))
    return frozenset(out)


def _iterated_calls(body: cst.CSTNode) -> frozenset[int]:
    """The calls (by id) whose result the code iterates where it makes them: a `for`
    or comprehension's iterable, `yield from`, the argument of a call that consumes
    it (`list(...)`, `"".join(...)`), through `enumerate()`-like wrappers. Calling a
    generator function anywhere else (`StreamingResponse(rows())`) runs none of its
    body there."""
    out: set[int] = set()

    def mark(expr: cst.BaseExpression) -> None:
        expr = strip_await(expr)[0]
        if isinstance(expr, cst.Call):
            out.add(id(expr))
            if call_name(expr) in _ITERATOR_WRAPPERS:
                for arg in expr.args:
                    mark(arg.value)

    for node in iter_nodes(body):
        if isinstance(node, (cst.For, cst.CompFor)):
            mark(node.iter)
        elif isinstance(node, cst.Yield) and isinstance(node.value, cst.From):
            mark(node.value.item)
        elif isinstance(node, cst.Call) and call_name(node) in _CONSUMERS:
            for arg in node.args:
                mark(arg.value)
    return frozenset(out)


def _callee(index: ProjectIndex, call: cst.Call, module: ModuleInfo,
            func: FunctionInfo | None) -> Value | None:
    """What `call` calls, and for `Order.objects.open_order(...)` the method of the
    project's own manager class (`django_managers.manager_method`), for
    `ticket.send_confirmation()` on a row read through its model's manager the
    model's method (`django_instances.model_instance_method`), and for
    `job.refresh()` on a row read through a Flask-SQLAlchemy model's query
    (`Job.query.get(job_id)`) the model's method (`flask_rows.flask_row_method`)."""
    callee = index.evaluate(call.func, module, func)
    if callee is None:
        method = manager_method(index, call, module, func) \
            or model_instance_method(index, call, module, func) \
            or flask_row_method(index, call, module, func)
        if method is not None:
            return FunctionRef(method)
    return callee


#: the armed walk of a project function (`_Walker.armed_helper`), per index
#: python-telegram-bot's callback signature, `def handler(update, context)`: what
#: its two parameters are when a module that imports the library leaves them
#: unannotated
_PTB_CALLBACK_PARAMS = {"update": "telegram.Update", "context": "telegram.ext.CallbackContext"}


def _ptb_callback_param(func: FunctionInfo, name: str) -> str | None:
    """`context` (or `update`) of `def start(update, context, ...)` in a module that
    imports python-telegram-bot (`telegram`): the library calls its handlers with an
    `Update` and a `CallbackContext`, whose `context.bot` is the Bot API client."""
    names = func.param_names()
    if names[:2] != ["update", "context"] or name not in _PTB_CALLBACK_PARAMS:
        return None
    if not any(q == "telegram" or q.startswith("telegram.")
               for q in func.module.imports.values()):
        return None
    return _PTB_CALLBACK_PARAMS[name]


def _decorator_handles(index: ProjectIndex, func: FunctionInfo) -> dict[str, bool]:
    """The parameters of `func` that a project decorator fills with a connection (and
    whether it is in autocommit): the decorator takes the function, returns an inner
    wrapper, and the wrapper calls the function with a name bound to a connection
    (checked out of a pool, or entered with `with ... as conn`)."""
    memo = _DECORATOR_HANDLES.setdefault(index, {})
    known = held(memo, id(func.node), func.node)
    if known is not None:
        return known[1]
    out: dict[str, bool] = {}
    memo[id(func.node)] = (func.node, out)
    for d in func.node.decorators:
        ref = index.evaluate(d.decorator, func.module, func.parent)
        if not isinstance(ref, FunctionRef) or len(ref.func.param_names()) != 1:
            continue
        outer = ref.func
        wrapped = outer.param_names()[0]
        returned = {r.value.value for r in outer.returns if isinstance(r.value, cst.Name)}
        for inner in outer.module.all_functions:
            if inner.parent is not outer or inner.name not in returned:
                continue
            for call in inner.direct_calls:
                if not (isinstance(call.func, cst.Name) and call.func.value == wrapped):
                    continue
                for arg in call.args:
                    if arg.star or not isinstance(arg.value, cst.Name):
                        continue
                    autocommit = _bound_connection(index, inner, arg.value)
                    param = param_for(func, call, arg) if autocommit is not None else None
                    if autocommit is not None and param is not None:
                        out[param] = autocommit \
                            or arg.value.value in FunctionResources(index, inner).autocommit
    return out


def _bound_connection(index: ProjectIndex, func: FunctionInfo,
                      name: cst.Name) -> bool | None:
    """Whether a local name of `func` is bound to a connection (`conn = pool.getconn()`,
    `with pool.getconn() as conn:`), when every binding of it is one: None when it is
    not, else whether that connection is in autocommit. `getconn()` on a pool the
    analysis cannot type (`context.bot_data["pool"]`) is a psycopg2 pool's checkout in
    a project that builds psycopg2 pools."""
    values = func.locals.get(name.value, [])
    if not values:
        return None
    autocommit = False
    for v in values:
        if not isinstance(v, (WithBinding, cst.BaseExpression)):
            return None
        expr = v.item if isinstance(v, WithBinding) else v
        value = index.evaluate(expr, func.module, func)
        if isinstance(value, Connection):
            autocommit = autocommit or value.autocommit or value.kind.autocommit_by_default
        elif not _untyped_psycopg2_checkout(index, func, expr):
            return None
    return autocommit


def _untyped_psycopg2_checkout(index: ProjectIndex, func: FunctionInfo,
                               expr: cst.BaseExpression) -> bool:
    if not (isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute)
            and expr.func.attr.value == "getconn"
            and index.evaluate(expr.func.value, func.module, func) is None):
        return False
    return index.derived(_PSYCOPG2_POOLS_KEY, lambda: bool(index.modules_mentioning(
        ("SimpleConnectionPool", "ThreadedConnectionPool", "PersistentConnectionPool"))))


_PSYCOPG2_POOLS_KEY = "_ps207_builds_psycopg2_pools"


#: the memos below are keyed by id(def node) and hold the node (`held`)
_DECORATOR_HANDLES: weakref.WeakKeyDictionary[
    ProjectIndex, dict[int, tuple[cst.FunctionDef, dict[str, bool]]]] = (
    weakref.WeakKeyDictionary())

_ARMED_HELPERS: weakref.WeakKeyDictionary[
    ProjectIndex, dict[tuple[int, int], tuple[cst.FunctionDef, Slow | bool]]] = (
    weakref.WeakKeyDictionary())
#: the transaction a helper's first query begins, as its armed walk names it
_HELPER_KEY = "the caller's transaction"

_SLOW_INSIDE: weakref.WeakKeyDictionary[
    ProjectIndex, dict[tuple[int, frozenset[int]],
                       tuple[cst.FunctionDef, tuple[str, str] | None]]] = (
    weakref.WeakKeyDictionary())

def _default_truth(param: cst.Param) -> bool | None:
    """The truth of a parameter's default when it is a literal (`None`, `False`,
    `True`, `0`, `""`), else None."""
    d = param.default
    if isinstance(d, cst.Name) and d.value in ("None", "False", "True"):
        return d.value == "True"
    if isinstance(d, cst.Integer):
        return d.evaluated_value != 0
    if isinstance(d, cst.SimpleString):
        return bool(d.evaluated_value)
    return None


def _flag_test(test: cst.BaseExpression) -> tuple[str, bool] | None:
    """`if flag:` -> (flag, True), `if not flag:` -> (flag, False)."""
    if isinstance(test, cst.Name):
        return test.value, True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) \
            and isinstance(test.expression, cst.Name):
        return test.expression.value, False
    return None


def _untaken_calls(func: FunctionInfo, call: cst.Call) -> frozenset[int]:
    """The calls of `func`'s body on the branch of an `if flag:` / `if not flag:` that
    this call cannot take: `flag` is a parameter with a literal default (`None`,
    `False`, `True`) that the call leaves out and the body never rebinds
    (`delete_path(p)` skips `if remote_credentials: ... poll and sleep ...`;
    `_retry(task=t)` skips the `else` of `if delayed:` that sleeps). Empty when the
    call passes `*args`/`**kwargs`."""
    if any(a.star for a in call.args):
        return frozenset()
    passed = {a.keyword.value for a in call.args if a.keyword is not None}
    positional = sum(1 for a in call.args if a.keyword is None)
    passed.update(func.param_names()[:positional])
    fixed: dict[str, bool] = {}
    for param in func.named_params():
        name = param.name.value
        truth = _default_truth(param)
        if truth is not None and name not in passed and name not in func.locals:
            fixed[name] = truth
    if not fixed:
        return frozenset()
    dead: set[int] = set()

    class _Branches(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func.node

        def visit_If(self, node: cst.If) -> None:
            flag = _flag_test(node.test)
            if flag is None or flag[0] not in fixed:
                return
            taken = fixed[flag[0]] == flag[1]
            untaken: cst.CSTNode | None = node.orelse if taken else node.body
            if untaken is not None:
                dead.update(id(c) for c in iter_calls(untaken))

    func.node.visit(_Branches())
    return frozenset(dead)


def _dropped(call: cst.Call, body: cst.CSTNode) -> bool:
    """`call` is a statement of its own in `body`: what it returns is dropped."""
    return id(call) in dropped_calls(body)


def _slow_inside(index: ProjectIndex, func: FunctionInfo, depth: int,
                 untaken: frozenset[int] = frozenset()) -> tuple[str, str] | None:
    """The first slow call a project function makes (or a project function it calls,
    `_MAX_HELPER_DEPTH` deep), unless it ends a transaction itself (`commit()`,
    `close()`: then the caller's session may no longer be held when it runs). Calls
    in `untaken` (on a branch the caller's arguments rule out, `_untaken_calls`) are
    not made."""
    memo = _SLOW_INSIDE.setdefault(index, {})
    # (the ids in `untaken` are of calls inside the callee's node, which the entry holds)
    key = (id(func.node), untaken)
    known = held(memo, key, func.node)
    if known is not None:
        return known[1]
    memo[key] = (func.node, None)
    result: tuple[str, str] | None = None
    calls = func.direct_calls
    ends = any(isinstance(c.func, cst.Attribute) and c.func.attr.value in TRANSACTION_END_METHODS
               for c in calls)
    if not ends:
        for call in calls:
            if id(call) in untaken:
                continue
            if may_be_slow_here(index, call):
                # `async with httpx.AsyncClient() as client: await client.get(url)` in
                # the helper: its `with` binding is resolved as in the caller's walk
                found = slow_call(index, call, func.module, func,
                                  lambda e: bound_client(index, e, func.module, func))
                if found is not None:
                    result = found
                    break
            if depth < _MAX_HELPER_DEPTH:
                callee = _callee(index, call, func.module, func)
                if isinstance(callee, FunctionRef) and callee.func is not func and not (
                        callee.func.is_generator
                        and id(call) not in _iterated_calls(func.node.body)) and not (
                        callee.func.is_async
                        and id(call) not in _awaited_calls(func.node.body)) \
                        and not (callee.func.node.decorators and runs_in_background(
                            index, callee.func, partial(_dropped, call, func.node.body))):
                    inner = _slow_inside(index, callee.func, depth + 1,
                                         _untaken_calls(callee.func, call))
                    if inner is not None:
                        result = (f"{callee.func.name}() -> {inner[0]}", inner[1])
                        break
    memo[key] = (func.node, result)
    return result
