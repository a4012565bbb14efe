"""PS207 cases for transactions of other ORMs (peewee's `atomic()`) and for slow
work inside a project's own async HTTP helper (issue 33, round 27). Kept in their
own module, concatenated after the others, so the case indexes stay stable."""

from poolsafe.rules.base import Case

_PEEWEE = """\
import requests
from peewee import CharField, Model, PostgresqlDatabase

db = PostgresqlDatabase("shop")
PAY = "https://pay.example.com/charge"


class Order(Model):
    status = CharField()

    class Meta:
        database = db
"""

_TORTOISE = """\
import httpx
from tortoise.transactions import in_transaction

STATUS = "https://pay.example.com/status"


async def fetch(url):
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    return response.json()
"""

_AIOPG_SA = """\
import aiohttp
from aiopg.sa import Engine

PAY = "https://pay.example.com/charge"
"""

PS207_INVALID: list[Case] = [
    Case(_PEEWEE + """

def pay(order_id):
    with db.atomic():
        order = Order.get_by_id(order_id)
        requests.post(PAY, json={"id": order_id}, timeout=10)  # expect: PS207
        order.status = "paid"
        order.save()
""", note="peewee: `with db.atomic():` sends BEGIN on entry; the payment call runs in it"),
    Case(_PEEWEE + """

@db.atomic()
def pay(order_id):
    Order.update(status="paying").where(Order.id == order_id).execute()
    requests.post(PAY, json={"id": order_id}, timeout=10)  # expect: PS207
""", note="peewee: `@db.atomic()` runs the whole function in one transaction"),
    Case(_PEEWEE + """

def pay(order_id):
    with db.transaction():
        Order.update(status="paying").where(Order.id == order_id).execute()
        requests.post(PAY, json={"id": order_id}, timeout=10)  # expect: PS207
""", note="peewee: `db.transaction()` is a transaction block as `atomic()` is"),
    Case(_TORTOISE + """

async def settle(order):
    async with in_transaction() as conn:
        order.status = "paying"
        await order.save(using_db=conn)
        data = await fetch(STATUS)  # expect: PS207
        order.status = data["status"]
        await order.save(using_db=conn)
""", note="a project's async HTTP helper whose client is an `async with` binding, "
          "awaited inside a Tortoise transaction"),
    Case(_AIOPG_SA + """

async def pay(engine: Engine, order_id):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        await conn.execute("UPDATE orders SET status = 'paying' WHERE id = %s", (order_id,))
        async with aiohttp.ClientSession() as http:
            await http.post(PAY, json={"id": order_id})  # expect: PS207
        await trans.commit()
""", note="aiopg.sa: `trans = await conn.begin()` opens a transaction on the autocommit "
          "connection until `trans.commit()`"),
]

PS207_VALID: list[Case] = [
    Case(_PEEWEE + """

def pay(order_id):
    with db.atomic():
        order = Order.get_by_id(order_id)
        order.status = "paying"
        order.save()
    requests.post(PAY, json={"id": order_id}, timeout=10)
""", note="peewee: the payment call runs after the atomic block has committed"),
    Case(_PEEWEE + """

def pay(order_id):
    with db.connection_context():
        order = Order.get_by_id(order_id)
        requests.post(PAY, json={"id": order.id}, timeout=10)
""", note="peewee: `connection_context()` opens a connection, no transaction "
          "(each statement commits on its own)"),
    Case(_TORTOISE + """

async def settle(order):
    async with in_transaction() as conn:
        order.status = "paying"
        await order.save(using_db=conn)
    data = await fetch(STATUS)
    order.status = data["status"]
    await order.save()
""", note="the async HTTP helper is awaited after the transaction has ended"),
    Case(_TORTOISE + """


class Cache:
    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return None

    async def get(self, key):
        return {"status": key}


async def cached(key):
    async with Cache() as cache:
        return await cache.get(key)


async def settle(order):
    async with in_transaction() as conn:
        data = await cached(order.status)
        order.status = data["status"]
        await order.save(using_db=conn)
""", note="look-alike: the helper's `async with` binding is a project object whose "
          "`get()` is no HTTP request"),
    Case(_AIOPG_SA + """

async def pay(engine: Engine, order_id):
    async with engine.acquire() as conn:
        trans = await conn.begin()
        await conn.execute("UPDATE orders SET status = 'paying' WHERE id = %s", (order_id,))
        await trans.commit()
        async with aiohttp.ClientSession() as http:
            await http.post(PAY, json={"id": order_id})
""", note="aiopg.sa: the payment call runs after `trans.commit()`"),
    Case(_AIOPG_SA + """

async def pay(engine: Engine, order_id):
    async with engine.acquire() as conn:
        await conn.execute("UPDATE orders SET status = 'paying' WHERE id = %s", (order_id,))
        async with aiohttp.ClientSession() as http:
            await http.post(PAY, json={"id": order_id})
""", note="aiopg.sa: autocommit, no `begin()`: the UPDATE has committed"),
]
