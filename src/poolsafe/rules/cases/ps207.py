"""PS207 io-in-transaction: INVALID cases mark the network call."""

from poolsafe.rules.base import Case

_SA = """\
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
"""

_FLASK = {"shop/__init__.py": """
from flask_sqlalchemy import SQLAlchemy
db = SQLAlchemy()
""", "shop/models.py": """
from shop import db

class Order(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    status = db.Column(db.String)
"""}

INVALID: list[Case] = [
    Case(_SA + """
def place_order(payload):
    with SessionLocal() as session:
        session.execute(text("INSERT INTO orders (data) VALUES (:d)"), {"d": payload})
        requests.post("https://payments.example/charge", json=payload, timeout=10)  # expect: PS207
        session.commit()
"""),
    Case("""
import psycopg2
import requests

def sync_prices(dsn):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        cur.execute("SELECT id, sku FROM products FOR UPDATE")
        for pid, sku in cur.fetchall():
            price = requests.get(f"https://prices.example/{sku}", timeout=5).json()  # expect: PS207
            cur.execute("UPDATE products SET price = %s WHERE id = %s", (price, pid))
        conn.commit()
    finally:
        conn.close()
""", note="a cursor shares its connection's transaction"),
    Case(_SA + """
import httpx

def archive(order_id):
    with engine.begin() as conn:
        conn.execute(text("UPDATE orders SET archived = true WHERE id = :id"), {"id": order_id})
        httpx.post("https://audit.example/log", json={"order": order_id})  # expect: PS207
"""),
    Case(_SA + """
from urllib.request import urlopen

def import_feed(url):
    session = SessionLocal()
    try:
        with session.begin():
            session.execute(text("DELETE FROM feed"))
            data = urlopen(url).read()  # expect: PS207
            session.execute(text("INSERT INTO feed (body) VALUES (:b)"), {"b": data})
    finally:
        session.close()
"""),
    Case("""
import httpx
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session
from deps import get_db

app = FastAPI()

@app.post("/orders/{order_id}/ship")
async def ship(order_id: int, db: Session = Depends(get_db)):
    db.execute("UPDATE orders SET status = 'shipping' WHERE id = :id", {"id": order_id})
    async with httpx.AsyncClient() as client:
        await client.post("https://carrier.example/ship", json={"id": order_id})  # expect: PS207
    db.commit()
""", files={"deps.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("sqlite://"))

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""}, note="a Depends parameter annotated Session, an httpx.AsyncClient"),
    Case("""
import requests
from shop import db
from shop.models import Order

def confirm(order_id):
    order = Order.query.get(order_id)
    order.status = "confirmed"
    requests.post("https://mail.example/send", json={"order": order_id})  # expect: PS207
    db.session.commit()
""", files=_FLASK, note="Flask-SQLAlchemy: Model.query starts the session's transaction"),
    Case(_SA + """
def enrich(urls):
    session = SessionLocal()
    try:
        for url in urls:
            body = requests.get(url, timeout=5).text  # expect: PS207
            session.execute(text("INSERT INTO pages (body) VALUES (:b)"), {"b": body})
        session.commit()
    finally:
        session.close()
""", note="from the second iteration on, the transaction is open"),
    Case("""
import psycopg
import requests

def reserve(dsn, item_id):
    with psycopg.connect(dsn) as conn:
        with conn.transaction():
            conn.execute("UPDATE stock SET n = n - 1 WHERE id = %s", (item_id,))
            requests.put(f"https://warehouse.example/items/{item_id}", timeout=3)  # expect: PS207
"""),
    Case(_SA + """
import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

async_engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
AsyncSessionLocal = async_sessionmaker(async_engine)

async def refresh(user_id):
    async with AsyncSessionLocal() as session:
        await session.execute(text("UPDATE users SET seen = now() WHERE id = :id"), {"id": user_id})
        async with aiohttp.ClientSession() as http:
            async with http.get(f"https://profile.example/{user_id}") as resp:  # expect: PS207
                profile = await resp.json()
        await session.commit()
    return profile
"""),
    Case(_SA + """
http = requests.Session()

def notify(user_id):
    session = SessionLocal()
    session.execute(text("UPDATE users SET notified = true WHERE id = :id"), {"id": user_id})
    http.post("https://push.example/notify", json={"user": user_id})  # expect: PS207
    session.commit()
    session.close()
"""),
]

VALID: list[Case] = [
    Case(_SA + """
def place_order(payload):
    with SessionLocal() as session:
        session.execute(text("INSERT INTO orders (data) VALUES (:d)"), {"d": payload})
        session.commit()
        requests.post("https://payments.example/charge", json=payload, timeout=10)
""", note="after commit"),
    Case(_SA + """
def place_order(payload):
    charge = requests.post("https://payments.example/charge", json=payload, timeout=10)
    with SessionLocal() as session:
        session.execute(text("INSERT INTO orders (data) VALUES (:d)"), {"d": charge.json()})
        session.commit()
""", note="before the transaction"),
    Case(_SA + """
import httpx

def archive(order_id):
    with engine.begin() as conn:
        conn.execute(text("UPDATE orders SET archived = true WHERE id = :id"), {"id": order_id})
    httpx.post("https://audit.example/log", json={"order": order_id})
""", note="after the `with engine.begin()` block"),
    Case("""
import psycopg2
import requests

def log_hits(dsn, url):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO hits (url) VALUES (%s)", (url,))
        requests.get(url, timeout=2)
        cur.execute("INSERT INTO hits (url) VALUES (%s)", (url,))
    finally:
        conn.close()
""", note="autocommit: no transaction stays open"),
    Case(_SA + """
def cancel(order_id):
    session = SessionLocal()
    try:
        session.execute(text("DELETE FROM orders WHERE id = :id"), {"id": order_id})
    except Exception:
        session.rollback()
        requests.post("https://alerts.example/", json={"order": order_id}, timeout=3)
        raise
    else:
        session.commit()
    finally:
        session.close()
""", note="after rollback"),
    Case(_SA + """
def fetch_and_store(url):
    with engine.connect() as conn:
        body = requests.get(url, timeout=5).text
        conn.execute(text("INSERT INTO pages (body) VALUES (:b)"), {"b": body})
        conn.commit()
""", note="before the first statement on the connection"),
    Case("""
import requests
from shop import db
from shop.models import Order

def confirm(order_id):
    order = Order.query.get(order_id)
    order.status = "confirmed"
    db.session.commit()
    requests.post("https://mail.example/send", json={"order": order_id})
""", files=_FLASK),
    Case(_SA + """
CACHE = {}

def price(sku):
    with SessionLocal() as session:
        session.execute(text("SELECT 1"))
        cached = CACHE.get(sku)
        session.commit()
    return cached
""", note="`.get()` of a dict is not a network call"),
    Case(_SA + """
def export(user_id):
    session = SessionLocal()
    session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user_id})
    session.close()
    requests.post("https://export.example/", json={"user": user_id})
""", note="after close"),
    Case(_SA + """
def two_phases(ids):
    for i in ids:
        with engine.begin() as conn:
            conn.execute(text("UPDATE t SET n = n + 1 WHERE id = :i"), {"i": i})
        requests.post("https://hooks.example/", json={"id": i})
""", note="each iteration's transaction ends before the call"),
]
