"""Seeded-leak mutants for issue 33 (helper breadth74): a mutation study, not natural recall.

Each mutant is a list of exact text edits (old -> new, each `old` must occur exactly once in
its file) applied to a copy of one pinned application (the trees of benchmarks/breadth66-72
at their pinned commits), with the (file, function, rule) it is expected to add, or none for
a "look-alike safe" mutant (a release moved but still on every path).

    python benchmarks/breadth74_mutate.py list              # the mutation list (benchmarks/breadth74_mutations.txt)
    python benchmarks/breadth74_mutate.py apply APPS OUT    # OUT/MID/<app tree>, one copy per mutant

Split per family: a = sorted(ids); random.Random(74).shuffle(a); tune = a[:len(a)//2].
"""

from __future__ import annotations

import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Mutant:
    mid: str
    family: str
    app: str
    what: str
    edits: tuple[tuple[str, str, str], ...]  # (file, old, new)
    expect: tuple[tuple[str, str, str], ...]  # (file, function, rule); () = ok


_INNA = "Inna99+project1"
_TCA = "ToinComputerAssociation+tcabot"
_ALB = "albertkun+flask_peewee_boilerplate"
_BLZ = "bluzir+aiohttpCarsharing"
_PST = "pstratonni+tic-tac-toe-web"
_URL = "seanharrison+urlly"
_GIN = "GinTR1k+what-am-i-listening-to-telegram"
_SQM = "maximemoreillon+fastapi-sqlmodel-crud"

_INNA_INSERT = """    async with request.app['db'].acquire() as conn:
        # Создаем курсор и получаем все данные
        ins = db.user.insert().values(id=user_id)
        cursor = await conn.execute(ins)
"""
_INNA_HANDLE = """    async with request.app['db'].acquire() as conn:
        # Создаем курсор и получаем все данные
        cursor = await conn.execute(db.user.select())
        # Показываем результат
        records = await cursor.fetchall()
        users = [dict(u) for u in records]
        return web.Response(text=str(users))
"""
_INNA_DELETE = """    async with request.app['db'].acquire() as conn:
        # Создаем курсор и получаем все данные
        ins = db.user.delete().where(db.user.c.id > 0)
        cursor = await conn.execute(ins)
"""
_TCA_EXEC = """        async with self.pool.acquire() as conn:
            async with conn.cursor() as cursor:
                await cursor.execute(sql, _injects)
                if _return_type == "fetchone":
                    return await cursor.fetchone()
                else:
                    return await cursor.fetchall()
"""
_ALB_TEARDOWN = """@app.teardown_request
def _db_close(exc):
    if not db.is_closed():
        db.close()
"""
_ALB_INDEX = """def index():
    return 'hello heroku pipeline test-github-mdh'
"""
_ALB_MODCONNECT = """host=Config.HOST, port=Config.PORT)

db.connect()
"""
_ALB_BEFORE = """@app.before_request
def _db_connect():
    db.connect()


"""
_BLZ_LOG = """    def log_to_database(self, method):
        Request.create("""
_PST_WIN = """                                    query = update(db_players).where(db_players.c.username == str(username)).values(
                                        total_games=db_players.c.total_games + 1, games_won=db_players.c.games_won + 1)
                                    await database.execute(query)
"""
_URL_LOG = """            await request.app.database.execute(
                tables.urls_log.insert(), values={'url_id': record['id']}
            )
"""
_PST_AUTH = """        data = await database.fetch_one(query)
"""
_GIN_ADD = """    user = await UserModel.query.where(UserModel.telegram_id == user_telegram_id).gino.first()
"""
_SQM_DEP = """def get_session():
    with Session(engine) as session:
        yield session
"""
_SQM_READ = """def read_item(id: int, session=Depends(get_session)):
    item = session.get(Item, id)
"""

MUTANTS: tuple[Mutant, ...] = (
    # ---- aio (aiopg.sa engine, aiomysql pool) ----
    Mutant("m01", "aio", _INNA, "`async with engine.acquire() as conn:` -> `conn = await engine.acquire()`, never released",
           (("main.py", _INNA_INSERT,
             "    conn = await request.app['db'].acquire()\n"
             "    ins = db.user.insert().values(id=user_id)\n"
             "    cursor = await conn.execute(ins)\n"),),
           (("main.py", "insert_user", "PS102"),)),
    Mutant("m02", "aio", _INNA, "explicit acquire; `engine.release(conn)` after the queries, not in a finally",
           (("main.py", _INNA_HANDLE,
             "    conn = await request.app['db'].acquire()\n"
             "    cursor = await conn.execute(db.user.select())\n"
             "    records = await cursor.fetchall()\n"
             "    request.app['db'].release(conn)\n"
             "    users = [dict(u) for u in records]\n"
             "    return web.Response(text=str(users))\n"),),
           (("main.py", "handle", "PS102"),)),
    Mutant("m03", "aio", _INNA, "SAFE look-alike: explicit acquire, `engine.release(conn)` in a finally",
           (("main.py", _INNA_DELETE,
             "    conn = await request.app['db'].acquire()\n"
             "    try:\n"
             "        ins = db.user.delete().where(db.user.c.id > 0)\n"
             "        cursor = await conn.execute(ins)\n"
             "    finally:\n"
             "        request.app['db'].release(conn)\n"),),
           ()),
    Mutant("m04", "aio", _TCA, "aiomysql `async with pool.acquire() as conn:` -> `conn = await pool.acquire()`; returns inside, never released",
           (("cogs/exam_data.py", _TCA_EXEC,
             "        conn = await self.pool.acquire()\n"
             "        async with conn.cursor() as cursor:\n"
             "            await cursor.execute(sql, _injects)\n"
             "            if _return_type == \"fetchone\":\n"
             "                return await cursor.fetchone()\n"
             "            else:\n"
             "                return await cursor.fetchall()\n"),),
           (("cogs/exam_data.py", "Examination.execute_sql", "PS102"),)),
    Mutant("m05", "aio", _TCA, "SAFE look-alike: aiomysql explicit acquire, `pool.release(conn)` in a finally around the returns",
           (("cogs/exam_data.py", _TCA_EXEC,
             "        conn = await self.pool.acquire()\n"
             "        try:\n"
             "            async with conn.cursor() as cursor:\n"
             "                await cursor.execute(sql, _injects)\n"
             "                if _return_type == \"fetchone\":\n"
             "                    return await cursor.fetchone()\n"
             "                else:\n"
             "                    return await cursor.fetchall()\n"
             "        finally:\n"
             "            self.pool.release(conn)\n"),),
           ()),
    Mutant("m06", "aio", _TCA, "aiomysql explicit acquire; `pool.release(conn)` after the cursor block, skipped by its returns",
           (("cogs/exam_data.py", _TCA_EXEC,
             "        conn = await self.pool.acquire()\n"
             "        async with conn.cursor() as cursor:\n"
             "            await cursor.execute(sql, _injects)\n"
             "            if _return_type == \"fetchone\":\n"
             "                result = await cursor.fetchone()\n"
             "            else:\n"
             "                return await cursor.fetchall()\n"
             "        self.pool.release(conn)\n"
             "        return result\n"),),
           (("cogs/exam_data.py", "Examination.execute_sql", "PS102"),)),
    # ---- peewee (PostgresqlDatabase, peewee_asyncext) ----
    Mutant("m07", "peewee", _ALB, "SAFE look-alike: the module-level `db.connect()` moved to a before_request hook; the teardown still closes",
           (("models.py", _ALB_MODCONNECT, "host=Config.HOST, port=Config.PORT)\n\n"),
            ("app.py", "@app.teardown_request\n", _ALB_BEFORE + "@app.teardown_request\n")),
           ()),
    Mutant("m08", "peewee", _ALB, "connect moved to a before_request hook and the teardown `db.close()` removed",
           (("models.py", _ALB_MODCONNECT, "host=Config.HOST, port=Config.PORT)\n\n"),
            ("app.py", _ALB_TEARDOWN, _ALB_BEFORE.rstrip("\n") + "\n")),
           (("app.py", "_db_connect", "PS102"),)),
    Mutant("m09", "peewee", _ALB, "a view that connects and closes on success only (teardown removed)",
           (("models.py", _ALB_MODCONNECT, "host=Config.HOST, port=Config.PORT)\n\n"),
            ("app.py", _ALB_TEARDOWN, ""),
            ("app.py", _ALB_INDEX,
             "def index():\n"
             "    db.connect()\n"
             "    count = Default.select().count()\n"
             "    db.close()\n"
             "    return 'hello heroku pipeline test-github-mdh %d' % count\n")),
           (("app.py", "index", "PS102"),)),
    Mutant("m10", "peewee", _BLZ, "peewee_asyncext database: `database.connect()` ... `database.close()` around a sync create, not in a finally",
           (("lib/external_api/base_wrapper.py", "from model.request import *\n",
             "from model.request import *\nfrom model.base import database\n"),
            ("lib/external_api/base_wrapper.py", _BLZ_LOG,
             "    def log_to_database(self, method):\n"
             "        database.connect()\n"
             "        Request.create("),
            ("lib/external_api/base_wrapper.py",
             "response_body=self.text, requests_method=self.method)\n",
             "response_body=self.text, requests_method=self.method)\n"
             "        database.close()\n")),
           (("lib/external_api/base_wrapper.py", "BaseClient.log_to_database", "PS102"),)),
    Mutant("m11", "peewee", _BLZ, "SAFE look-alike: `with database.connection_context():` around the sync create",
           (("lib/external_api/base_wrapper.py", "from model.request import *\n",
             "from model.request import *\nfrom model.base import database\n"),
            ("lib/external_api/base_wrapper.py", _BLZ_LOG,
             "    def log_to_database(self, method):\n"
             "        with database.connection_context():\n"
             "            Request.create("),),
           ()),
    # ---- encode/databases ----
    Mutant("m12", "databases", _PST, "low-level `transaction = await database.transaction()` committed with no rollback on error",
           (("src/ws.py", _PST_WIN,
             "                                    query = update(db_players).where(db_players.c.username == str(username)).values(\n"
             "                                        total_games=db_players.c.total_games + 1, games_won=db_players.c.games_won + 1)\n"
             "                                    transaction = await database.transaction()\n"
             "                                    await database.execute(query)\n"
             "                                    await transaction.commit()\n"),),
           (("src/ws.py", "WSGame.on_receive", "PS102"),)),
    Mutant("m13", "databases", _PST, "SAFE look-alike: the same write under `async with database.transaction():`",
           (("src/ws.py", _PST_WIN,
             "                                    query = update(db_players).where(db_players.c.username == str(username)).values(\n"
             "                                        total_games=db_players.c.total_games + 1, games_won=db_players.c.games_won + 1)\n"
             "                                    async with database.transaction():\n"
             "                                        await database.execute(query)\n"),),
           ()),
    Mutant("m14", "databases", _PST, "a `Database(URL)` built and connected per request in the auth backend, never disconnected",
           (("src/middleware.py", "from config.database import database\n",
             "from config.database import database\nfrom databases import Database\n"),
            ("src/middleware.py", _PST_AUTH,
             "        db = Database(URL)\n"
             "        await db.connect()\n"
             "        data = await db.fetch_one(query)\n")),
           (("src/middleware.py", "AuthMiddleware.authenticate", "PS202"),)),
    Mutant("m15", "databases", _URL, "low-level transaction around the redirect log insert, commit only",
           (("app/endpoints.py", _URL_LOG,
             "            transaction = await request.app.database.transaction()\n"
             "            await request.app.database.execute(\n"
             "                tables.urls_log.insert(), values={'url_id': record['id']}\n"
             "            )\n"
             "            await transaction.commit()\n"),),
           (("app/endpoints.py", "Url.get", "PS102"),)),
    Mutant("m16", "databases", _URL, "SAFE look-alike: low-level transaction with rollback in except and commit in else",
           (("app/endpoints.py", _URL_LOG,
             "            transaction = await request.app.database.transaction()\n"
             "            try:\n"
             "                await request.app.database.execute(\n"
             "                    tables.urls_log.insert(), values={'url_id': record['id']}\n"
             "                )\n"
             "            except BaseException:\n"
             "                await transaction.rollback()\n"
             "                raise\n"
             "            else:\n"
             "                await transaction.commit()\n"),),
           ()),
    # ---- async ORM (Gino) ----
    Mutant("m17", "asyncorm", _GIN, "Gino `conn = await db.acquire()` for a handler's query, never released",
           (("telegram_bot/telegram_message_handlers/add_friend_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/add_friend_handler.py", _GIN_ADD,
             "    conn = await db.acquire()\n"
             "    user = await UserModel.query.where(UserModel.telegram_id == user_telegram_id).gino.first(bind=conn)\n")),
           (("telegram_bot/telegram_message_handlers/add_friend_handler.py", "add_friend_handler", "PS102"),)),
    Mutant("m18", "asyncorm", _GIN, "SAFE look-alike: Gino `async with db.acquire() as conn:` for the same query",
           (("telegram_bot/telegram_message_handlers/add_friend_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/add_friend_handler.py", _GIN_ADD,
             "    async with db.acquire() as conn:\n"
             "        user = await UserModel.query.where(UserModel.telegram_id == user_telegram_id).gino.first(bind=conn)\n")),
           ()),
    Mutant("m19", "asyncorm", _GIN, "Gino per-request bind: `await db.set_bind(URI)` in a handler, never `pop_bind().close()`",
           (("telegram_bot/telegram_message_handlers/start_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.config import Config\nfrom telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/start_handler.py",
             "    user_telegram_id = message.from_user.id\n\n    try:\n",
             "    user_telegram_id = message.from_user.id\n    await db.set_bind(Config.DATABASE_URI)\n\n    try:\n")),
           (("telegram_bot/telegram_message_handlers/start_handler.py", "start_handler", "PS202"),)),
    Mutant("m20", "asyncorm", _GIN, "Gino explicit acquire released after the query, not in a finally",
           (("telegram_bot/telegram_message_handlers/add_friend_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/add_friend_handler.py", _GIN_ADD,
             "    conn = await db.acquire()\n"
             "    user = await UserModel.query.where(UserModel.telegram_id == user_telegram_id).gino.first(bind=conn)\n"
             "    await conn.release()\n")),
           (("telegram_bot/telegram_message_handlers/add_friend_handler.py", "add_friend_handler", "PS102"),)),
    # ---- SQLModel ----
    Mutant("m21", "sqlmodel", _SQM, "dependency `with Session(engine) as session: yield` -> `session = Session(engine); yield session`, never closed",
           (("db.py", _SQM_DEP, "def get_session():\n    session = Session(engine)\n    yield session\n"),),
           (("db.py", "get_session", "PS102"),)),
    Mutant("m22", "sqlmodel", _SQM, "dependency returns `Session(engine)` instead of yielding it",
           (("db.py", _SQM_DEP, "def get_session():\n    session = Session(engine)\n    return session\n"),),
           (("db.py", "get_session", "PS104"),)),
    Mutant("m23", "sqlmodel", _SQM, "SAFE look-alike: `session = Session(engine)`; `try: yield session` / `finally: session.close()`",
           (("db.py", _SQM_DEP,
             "def get_session():\n    session = Session(engine)\n    try:\n        yield session\n"
             "    finally:\n        session.close()\n"),),
           ()),
    Mutant("m24", "sqlmodel", _SQM, "a route opens `Session(engine)` itself instead of Depends, never closed",
           (("routes/items.py", "from db import get_session\n", "from db import get_session, engine\nfrom sqlmodel import Session\n"),
            ("routes/items.py", _SQM_READ,
             "def read_item(id: int):\n    session = Session(engine)\n    item = session.get(Item, id)\n")),
           (("routes/items.py", "read_item", "PS105"),)),
)


# ---- batch b: written after the tune work (commits a99a2390..c821773f), labelled and
# committed before any run on them; all held (no tuning on them): a second, unseen
# measurement of the same families' idioms.
_INNA_SHOW_BODY = """        cursor = await conn.execute(ins)  # выполнить
        records = await cursor.fetchall()
        users = [dict(u) for u in records]
        if len(users) == 0:
            return web.Response(text="{ error : \\"User doesn't exist\\" }")
        else:
            return web.Response(text=str(users))
"""
_INNA_EDIT = """    async with request.app['db'].acquire() as conn:
        ins = db.user.select().where(db.user.c.id == 0)
        # print(str(ins))
        # print(ins.compile().params)
        cursor = await conn.execute(ins)  # выполнить
        records = await cursor.fetchall()
        users = [dict(u) for u in records]
        return web.Response(text=str(users))
"""
_URL_POST = """        try:
            data = await request.json()
            new_url = URL(**data)
            # TODO: Catch and handle collisions in the randomly-generated ids.
            record = await request.app.database.fetch_one(
                tables.urls.insert().returning(sa.text('*')).values(**new_url.dict())
            )
"""
_PST_LOSE = """                                    query = update(db_players).where(db_players.c.username == str(username)).values(
                                        total_games=db_players.c.total_games + 1)
                                    await database.execute(query)
"""
_GIN_FRIEND = """    if not friendship:
        await FriendModel(
            user_uuid=user.uuid,
            friend_uuid=friend.uuid,
        ).create()
"""
_SQM_CREATE = """def create_item(item: Item, session=Depends(get_session)):
    session.add(item)
    session.commit()
    session.refresh(item)
    return item
"""
_SQM_LIST = """    session=Depends(get_session),
):
    statement = select(Item).offset(offset).limit(limit)
    items = session.exec(statement).all()
"""
_SQM_IMPORT = ("routes/items.py", "from db import get_session\n",
               "from db import get_session, engine\nfrom sqlmodel import Session\n")

MUTANTS_B: tuple[Mutant, ...] = (
    Mutant("b01", "aio", _INNA, "explicit acquire in show_user; `engine.release(conn)` only before the not-found return",
           (("main.py", "    async with request.app['db'].acquire() as conn:\n        user_id = int(request.match_info.get('user_id'))\n"
             "        ins = db.user.select().where(db.user.c.id == user_id)\n"
             "        # print(str(ins))\n        # print(ins.compile().params)\n" + _INNA_SHOW_BODY,
             "    conn = await request.app['db'].acquire()\n"
             "    user_id = int(request.match_info.get('user_id'))\n"
             "    ins = db.user.select().where(db.user.c.id == user_id)\n"
             + "".join(line[4:] + "\n" for line in _INNA_SHOW_BODY.splitlines()).replace(
                 "    if len(users) == 0:\n",
                 "    if len(users) == 0:\n        request.app['db'].release(conn)\n")),),
           (("main.py", "show_user", "PS102"),)),
    Mutant("b02", "aio", _INNA, "SAFE look-alike: explicit acquire, `await conn.close()` (aiopg.sa: back to the pool) in a finally",
           (("main.py", _INNA_EDIT,
             "    conn = await request.app['db'].acquire()\n"
             "    try:\n"
             "        ins = db.user.select().where(db.user.c.id == 0)\n"
             "        cursor = await conn.execute(ins)\n"
             "        records = await cursor.fetchall()\n"
             "        users = [dict(u) for u in records]\n"
             "        return web.Response(text=str(users))\n"
             "    finally:\n"
             "        await conn.close()\n"),),
           ()),
    Mutant("b03", "aio", _TCA, "SAFE look-alike: aiomysql explicit acquire released in `except: ...; raise` and after the block",
           (("cogs/exam_data.py", _TCA_EXEC,
             "        conn = await self.pool.acquire()\n"
             "        try:\n"
             "            async with conn.cursor() as cursor:\n"
             "                await cursor.execute(sql, _injects)\n"
             "                if _return_type == \"fetchone\":\n"
             "                    result = await cursor.fetchone()\n"
             "                else:\n"
             "                    result = await cursor.fetchall()\n"
             "        except Exception:\n"
             "            self.pool.release(conn)\n"
             "            raise\n"
             "        self.pool.release(conn)\n"
             "        return result\n"),),
           ()),
    Mutant("b04", "peewee", _ALB, "SAFE look-alike: module-level connect removed; the view queries under `with db.connection_context():`",
           (("models.py", _ALB_MODCONNECT, "host=Config.HOST, port=Config.PORT)\n\n"),
            ("app.py", _ALB_INDEX,
             "def index():\n"
             "    with db.connection_context():\n"
             "        count = Default.select().count()\n"
             "    return 'hello heroku pipeline test-github-mdh %d' % count\n")),
           ()),
    Mutant("b05", "peewee", _ALB, "connect in before_request; the close moved from teardown_request to after_request (app.run(debug=True) propagates errors)",
           (("models.py", _ALB_MODCONNECT, "host=Config.HOST, port=Config.PORT)\n\n"),
            ("app.py", _ALB_TEARDOWN,
             _ALB_BEFORE + "@app.after_request\n"
             "def _db_close(response):\n"
             "    if not db.is_closed():\n"
             "        db.close()\n"
             "    return response\n")),
           (("app.py", "_db_connect", "PS102"),)),
    Mutant("b06", "peewee", _BLZ, "SAFE look-alike: `database.connect(reuse_if_open=True)` with `database.close()` in a finally",
           (("lib/external_api/base_wrapper.py", "from model.request import *\n",
             "from model.request import *\nfrom model.base import database\n"),
            ("lib/external_api/base_wrapper.py", _BLZ_LOG,
             "    def log_to_database(self, method):\n"
             "        database.connect(reuse_if_open=True)\n"
             "        try:\n"
             "            self._log(method)\n"
             "        finally:\n"
             "            database.close()\n\n"
             "    def _log(self, method):\n"
             "        Request.create(")),
           ()),
    Mutant("b07", "databases", _URL, "low-level transaction opened at the top of the API's try; its JSON/validation except branches neither roll back nor commit",
           (("api/endpoints.py", _URL_POST,
             "        try:\n"
             "            transaction = await request.app.database.transaction()\n"
             "            data = await request.json()\n"
             "            new_url = URL(**data)\n"
             "            record = await request.app.database.fetch_one(\n"
             "                tables.urls.insert().returning(sa.text('*')).values(**new_url.dict())\n"
             "            )\n"
             "            await transaction.commit()\n"),),
           (("api/endpoints.py", "Urls.post", "PS102"),)),
    Mutant("b08", "databases", _PST, "SAFE look-alike: the loser's update under `async with database.connection() as connection:`",
           (("src/ws.py", _PST_LOSE,
             _PST_LOSE.replace("                                    await database.execute(query)\n",
                               "                                    async with database.connection() as connection:\n"
                               "                                        await connection.execute(query)\n")),),
           ()),
    Mutant("b09", "asyncorm", _GIN, "Gino explicit `tx = await db.transaction()` around the friendship insert, committed with no rollback",
           (("telegram_bot/telegram_message_handlers/all_messages_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/all_messages_handler.py", _GIN_FRIEND,
             "    if not friendship:\n"
             "        tx = await db.transaction()\n"
             "        await FriendModel(\n"
             "            user_uuid=user.uuid,\n"
             "            friend_uuid=friend.uuid,\n"
             "        ).create()\n"
             "        await tx.commit()\n")),
           (("telegram_bot/telegram_message_handlers/all_messages_handler.py", "all_messages_handler", "PS102"),)),
    Mutant("b10", "asyncorm", _GIN, "SAFE look-alike: Gino `async with db.transaction():` around the friendship insert",
           (("telegram_bot/telegram_message_handlers/all_messages_handler.py",
             "from telegram_bot.models import (\n", "from telegram_bot.models import (\n    db,\n"),
            ("telegram_bot/telegram_message_handlers/all_messages_handler.py", _GIN_FRIEND,
             "    if not friendship:\n"
             "        async with db.transaction():\n"
             "            await FriendModel(\n"
             "                user_uuid=user.uuid,\n"
             "                friend_uuid=friend.uuid,\n"
             "            ).create()\n")),
           ()),
    Mutant("b11", "sqlmodel", _SQM, "a route opens `Session(engine)` itself and closes it after the commit, not in a finally",
           (_SQM_IMPORT,
            ("routes/items.py", _SQM_CREATE,
             "def create_item(item: Item):\n"
             "    session = Session(engine)\n"
             "    session.add(item)\n"
             "    session.commit()\n"
             "    session.refresh(item)\n"
             "    session.close()\n"
             "    return item\n")),
           (("routes/items.py", "create_item", "PS105"),)),
    Mutant("b12", "sqlmodel", _SQM, "SAFE look-alike: a route uses `with Session(engine) as session:` instead of Depends",
           (_SQM_IMPORT,
            ("routes/items.py", _SQM_LIST,
             "):\n"
             "    statement = select(Item).offset(offset).limit(limit)\n"
             "    with Session(engine) as session:\n"
             "        items = session.exec(statement).all()\n")),
           ()),
)


def split() -> dict[str, str]:
    half: dict[str, str] = {m.mid: "held" for m in MUTANTS_B}
    for fam in sorted({m.family for m in MUTANTS}):
        a = sorted(m.mid for m in MUTANTS if m.family == fam)
        random.Random(74).shuffle(a)
        for i, mid in enumerate(a):
            half[mid] = "tune" if i < len(a) // 2 else "held"
    return half


def listing() -> str:
    half = split()
    lines = ["# mutant family half app expected(file:function:rule | ok) what"]
    for m in (*MUTANTS, *MUTANTS_B):
        exp = ",".join(f"{f}:{fn}:{r}" for f, fn, r in m.expect) or "ok"
        lines.append(f"{m.mid}\t{m.family}\t{half[m.mid]}\t{m.app}\t{exp}\t{m.what}")
    return "\n".join(lines) + "\n"


def apply(apps: Path, out: Path) -> None:
    for m in (*MUTANTS, *MUTANTS_B):
        dest = out / m.mid / m.app
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(apps / m.app, dest)
        for rel, old, new in m.edits:
            p = dest / rel
            with open(p, encoding="utf-8", newline="") as fh:
                text = fh.read()
            if "\r\n" in text:  # keep a CRLF file's line ends
                old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
            n = text.count(old)
            if n != 1:
                raise SystemExit(f"{m.mid}: {rel}: {n} matches")
            with open(p, "w", encoding="utf-8", newline="") as fh:
                fh.write(text.replace(old, new))
            compile(p.read_text(encoding="utf-8"), str(p), "exec")


if __name__ == "__main__":
    if sys.argv[1] == "list":
        sys.stdout.write(listing())
    else:
        apply(Path(sys.argv[2]), Path(sys.argv[3]))
