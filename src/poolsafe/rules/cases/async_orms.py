"""encode/databases, Gino and Tortoise ORM: cases for PS102 and PS207.

- encode/databases: `transaction = await database.transaction()` (or `.start()`)
  enters the task's connection (a pool checkout) and sends BEGIN; only its
  `commit()` or `rollback()` leaves it. `async with database.transaction():` and
  `@database.transaction()` do both.
- Gino: `conn = await db.acquire()` (or `engine.acquire()`) holds a pool connection
  until `await conn.release()`; `async with db.acquire() as conn:` releases on exit.
  `async with db.transaction():` borrows a connection and sends BEGIN on entry.
- Tortoise ORM: `async with in_transaction():` and `@atomic()` send BEGIN on entry.
"""

from poolsafe.rules.base import Case

_DATABASES = """\
import httpx
from databases import Database

database = Database("postgresql://app@db/app")

PAY = "https://pay.example.com/charge"
"""

_GINO = """\
import httpx
from gino import Gino

db = Gino()

PAY = "https://pay.example.com/charge"
"""

_TORTOISE = """\
import httpx
from tortoise.transactions import atomic, in_transaction

PAY = "https://pay.example.com/charge"
"""

#: why `poolsafe fix` leaves an explicit databases transaction
_TX_BY_HAND = ("a databases transaction ends with a commit on success and a rollback on "
               "failure: use async with database.transaction():, by hand")

PS102_INVALID: list[Case] = [
    Case(_GINO + """

async def load_user(user_id):
    conn = await db.acquire()  # expect: PS102
    row = await conn.first("SELECT * FROM users WHERE id = $1", user_id)
    await conn.release()
    return row
""", note="Gino: a failed query skips the release; the fix moves it into `finally`"),
    Case(_GINO + """

async def count_users(engine):
    conn = await db.acquire(reuse=False)  # expect: PS102
    total = await conn.scalar("SELECT count(*) FROM users")
    if total > 100:
        return total
    await conn.release()
    return total
""", note="Gino: an early return keeps the connection"),
    Case(_DATABASES + """

async def credit(account_id, amount):
    transaction = await database.transaction()  # expect: PS102
    await database.execute("UPDATE accounts SET balance = balance + :n WHERE id = :id",
                           {"n": amount, "id": account_id})
    await transaction.commit()
""", note="databases: a failed statement leaves the transaction, and its connection, open",
         unfixable=_TX_BY_HAND),
]

PS102_VALID: list[Case] = [
    Case(_GINO + """

async def load_user(user_id):
    conn = await db.acquire()
    try:
        return await conn.first("SELECT * FROM users WHERE id = $1", user_id)
    finally:
        await conn.release()
""", note="Gino: released in `finally`"),
    Case(_GINO + """

async def load_user(user_id):
    async with db.acquire() as conn:
        return await conn.first("SELECT * FROM users WHERE id = $1", user_id)
""", note="Gino: `async with db.acquire()` releases on exit"),
    Case(_DATABASES + """

async def credit(account_id, amount):
    transaction = await database.transaction()
    try:
        await database.execute("UPDATE accounts SET balance = balance + :n WHERE id = :id",
                               {"n": amount, "id": account_id})
    except BaseException:
        await transaction.rollback()
        raise
    else:
        await transaction.commit()
""", note="databases: the documented low-level form (rollback on error, commit else)"),
    Case(_DATABASES + """

async def credit(account_id, amount):
    async with database.transaction():
        await database.execute("UPDATE accounts SET balance = balance + :n WHERE id = :id",
                               {"n": amount, "id": account_id})


@database.transaction()
async def debit(account_id, amount):
    await database.execute("UPDATE accounts SET balance = balance - :n WHERE id = :id",
                           {"n": amount, "id": account_id})
""", note="databases: the context manager and the decorator end the transaction"),
    Case(_DATABASES + """

async def rows():
    connection = database.connection()
    async with connection:
        return await connection.fetch_all("SELECT * FROM users")
""", note="databases: `database.connection()` checks out nothing until it is entered"),
    Case(_TORTOISE + """

async def rename(user, name):
    async with in_transaction() as conn:
        user.name = name
        await user.save(using_db=conn)
""", note="Tortoise: the transaction context ends on exit"),
]

PS207_INVALID: list[Case] = [
    Case(_DATABASES + """

async def place_order(order_id):
    async with database.transaction():
        await database.execute("UPDATE orders SET state = 'paid' WHERE id = :id",
                               {"id": order_id})
        async with httpx.AsyncClient() as client:
            await client.post(PAY, json={"id": order_id})  # expect: PS207
""", note="databases: BEGIN is sent on entering the block"),
    Case(_DATABASES + """

@database.transaction()
async def place_order(order_id):
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order_id})  # expect: PS207
    await database.execute("UPDATE orders SET state = 'paid' WHERE id = :id", {"id": order_id})
""", note="databases: the decorator runs the whole body in a transaction"),
    Case(_DATABASES + """

async def place_order(order_id):
    transaction = await database.transaction()
    try:
        await database.execute("UPDATE orders SET state = 'paid' WHERE id = :id",
                               {"id": order_id})
        async with httpx.AsyncClient() as client:
            await client.post(PAY, json={"id": order_id})  # expect: PS207
    except BaseException:
        await transaction.rollback()
        raise
    else:
        await transaction.commit()
""", note="databases: the low-level transaction is open until commit or rollback"),
    Case(_GINO + """

async def place_order(order_id):
    async with db.transaction():
        await db.status("UPDATE orders SET state = 'paid' WHERE id = $1", order_id)
        async with httpx.AsyncClient() as client:
            await client.post(PAY, json={"id": order_id})  # expect: PS207
""", note="Gino: `db.transaction()` borrows a connection and begins at once"),
    Case(_GINO + """

async def place_order(order_id):
    async with db.acquire() as conn:
        async with conn.transaction():
            await conn.status("UPDATE orders SET state = 'paid' WHERE id = $1", order_id)
            async with httpx.AsyncClient() as client:
                await client.post(PAY, json={"id": order_id})  # expect: PS207
""", note="Gino: a transaction on an acquired connection"),
    Case(_TORTOISE + """

async def place_order(order):
    async with in_transaction() as conn:
        order.state = "paid"
        await order.save(using_db=conn)
        async with httpx.AsyncClient() as client:
            await client.post(PAY, json={"id": order.id})  # expect: PS207
""", note="Tortoise: `in_transaction()` begins on entry"),
    Case(_TORTOISE + """

@atomic()
async def place_order(order):
    order.state = "paid"
    await order.save()
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order.id})  # expect: PS207
""", note="Tortoise: `@atomic()` runs the whole body in a transaction"),
]

PS207_VALID: list[Case] = [
    Case(_DATABASES + """

async def place_order(order_id):
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order_id})
    async with database.transaction():
        await database.execute("UPDATE orders SET state = 'paid' WHERE id = :id",
                               {"id": order_id})
""", note="databases: the call comes before the transaction"),
    Case(_DATABASES + """

async def place_order(order_id):
    await database.execute("UPDATE orders SET state = 'paid' WHERE id = :id", {"id": order_id})
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order_id})
""", note="databases: outside a transaction each statement commits on its own"),
    Case(_GINO + """

async def place_order(order_id):
    async with db.acquire() as conn:
        await conn.status("UPDATE orders SET state = 'paid' WHERE id = $1", order_id)
        async with httpx.AsyncClient() as client:
            await client.post(PAY, json={"id": order_id})
""", note="Gino on asyncpg: autocommit outside `conn.transaction()`"),
    Case(_TORTOISE + """

async def place_order(order):
    async with in_transaction() as conn:
        order.state = "paid"
        await order.save(using_db=conn)
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order.id})
""", note="Tortoise: the call is after the block"),
]

#: a Telegram bot on Tortoise (aiogram): replying to a message is a Bot API request
_BOT = """\
from aiogram.types import Message
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from shop.models import Customer
"""

PS207_INVALID.append(Case(_BOT + """

async def register(message: Message) -> None:
    async with in_transaction():
        try:
            await Customer.create(chat_id=message.chat.id, name=message.text)
        except IntegrityError:
            await message.answer("You are already registered.")  # expect: PS207
            return
        await Customer.filter(chat_id=message.chat.id).update(active=True)
""", note="Tortoise and aiogram: a reply sent from inside the transaction (error path)"))

PS207_VALID.append(Case(_BOT + """

async def register(message: Message) -> None:
    try:
        async with in_transaction():
            await Customer.create(chat_id=message.chat.id, name=message.text)
            await Customer.filter(chat_id=message.chat.id).update(active=True)
    except IntegrityError:
        await message.answer("You are already registered.")
        return
    await message.answer("Welcome!")
""", note="Tortoise and aiogram: the replies come after the transaction ends"))

#: image work offloaded to a thread pool, two project functions below the caller
_THUMBS = """\
import asyncio
from concurrent.futures import ThreadPoolExecutor

from PIL import Image
from tortoise.transactions import in_transaction

from gallery.models import Thumb

pool = ThreadPoolExecutor(4)


def _shrink(path, size):
    with Image.open(path) as im:
        im.thumbnail((size, size))
        return im.tobytes()


async def shrink(path, size):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, _shrink, path, size)


async def make_thumb(path, pos):
    return Thumb(pos=pos, data=await shrink(path, 256))
"""

PS207_INVALID.append(Case(_THUMBS + """

async def publish(paths):
    async with in_transaction():
        await Thumb.all().delete()
        made = [await make_thumb(p, i) for i, p in enumerate(paths)]  # expect: PS207
        await Thumb.bulk_create(made)
""", note="a resize handed to a thread pool (`run_in_executor`) inside the transaction"))

PS207_INVALID.append(Case("""
import asyncio

from tortoise.transactions import in_transaction

from reports.models import Report
from reports.render import render_pdf


async def publish(report_id):
    async with in_transaction():
        report = await Report.get(id=report_id).select_for_update()
        report.pdf = await asyncio.to_thread(render_pdf, report.body)  # expect: PS207
        await report.save()
""", note="`asyncio.to_thread()` of blocking work inside the transaction"))

PS207_VALID.append(Case(_THUMBS + """

async def publish(paths):
    made = [await make_thumb(p, i) for i, p in enumerate(paths)]
    async with in_transaction():
        await Thumb.all().delete()
        await Thumb.bulk_create(made)
""", note="the offloaded resize runs before the transaction begins"))

# A transaction decorator written above a route decorator wraps the function after the
# router registered it: the route runs the undecorated function, outside the transaction.
_ROUTER = """
from fastapi import APIRouter

router = APIRouter()
"""

PS207_VALID.append(Case(_TORTOISE + _ROUTER + """

@atomic()
@router.post("/orders/{order_id}/pay")
async def pay(order_id: int):
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order_id})
    return {"ok": True}
""", note="Tortoise: `@atomic()` above `@router.post`: the router registered the "
          "undecorated function, which runs outside the transaction"))

PS207_INVALID.append(Case(_TORTOISE + _ROUTER + """

@router.post("/orders/{order_id}/pay")
@atomic()
async def pay(order_id: int):
    async with httpx.AsyncClient() as client:
        await client.post(PAY, json={"id": order_id})  # expect: PS207
    return {"ok": True}
""", note="Tortoise: `@atomic()` below `@router.post`: the route is the wrapped function"))

# encode/databases' `Database` kept on the application at startup (`app.database =
# database`) and reached through the request: `request.app.database` has no type the
# index can follow; in a project that imports `databases` and no other library with
# a `transaction()`, a database-named receiver's `transaction()` is its checkout.
# Appended after every other module's PS102 cases (the case indexes are test ids).
_STARLETTE_DATABASES = """\
from databases import Database
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.responses import JSONResponse, Response

database = Database("postgresql://app@db/app")


async def on_startup():
    app.database = database
    await app.database.connect()


async def on_shutdown():
    await app.database.disconnect()


app = Starlette(on_startup=[on_startup], on_shutdown=[on_shutdown])
"""

PS102_APP_INVALID: list[Case] = [
    Case(_STARLETTE_DATABASES + """

class Visit(HTTPEndpoint):
    async def post(self, request):
        url_id = request.path_params["url_id"]
        transaction = await request.app.database.transaction()  # expect: PS102
        await request.app.database.execute(
            "INSERT INTO visits (url_id) VALUES (:id)", {"id": url_id})
        await transaction.commit()
        return Response(status_code=204)
""", note="a transaction of the Database kept on the app, committed on success only",
         unfixable=_TX_BY_HAND),
]

PS102_APP_VALID: list[Case] = [
    Case(_STARLETTE_DATABASES + """

class Visit(HTTPEndpoint):
    async def post(self, request):
        url_id = request.path_params["url_id"]
        transaction = await request.app.database.transaction()
        try:
            await request.app.database.execute(
                "INSERT INTO visits (url_id) VALUES (:id)", {"id": url_id})
        except BaseException:
            await transaction.rollback()
            raise
        else:
            await transaction.commit()
        return Response(status_code=204)
""", note="look-alike: rolled back on failure, committed on success"),
    Case(_STARLETTE_DATABASES + """

class Visit(HTTPEndpoint):
    async def post(self, request):
        url_id = request.path_params["url_id"]
        async with request.app.database.transaction():
            await request.app.database.execute(
                "INSERT INTO visits (url_id) VALUES (:id)", {"id": url_id})
        return JSONResponse({"ok": True})
""", note="look-alike: `async with` ends the transaction on every path"),
]

# Gino 1.x: `db.transaction()` / `engine.transaction()` returns a context manager that
# supports only managed use (`async with`); it has no `__await__`, so
# `tx = await db.transaction()` raises TypeError before any connection is taken (the
# acquire it wraps is lazy). The awaited, manual form exists on a connection only:
# `tx = await conn.transaction()`, whose connection is the checkout; releasing that
# connection ends the transaction (asyncpg's pool rolls it back on release, aiomysql's
# closes a connection released inside one). Neither holds anything past the release.
PS102_GINO_TX_VALID: list[Case] = [
    Case(_GINO + """

async def debit(account_id):
    tx = await db.transaction()
    await db.status("UPDATE accounts SET balance = balance - 1 WHERE id = $1",
                    account_id)
    await tx.commit()
""", note="look-alike: Gino's engine-level transaction cannot be awaited (TypeError, "
          "nothing checked out): no leak to report"),
    Case(_GINO + """

async def transfer(src, dst):
    async with db.acquire() as conn:
        tx = await conn.transaction()
        await conn.status("UPDATE accounts SET balance = balance - 1 WHERE id = $1", src)
        await conn.status("UPDATE accounts SET balance = balance + 1 WHERE id = $1", dst)
        await tx.commit()
""", note="look-alike: a manual transaction on a connection `async with` releases; the "
          "release ends an unfinished transaction"),
]
