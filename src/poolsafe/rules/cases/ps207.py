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

_DB = """\
from fastapi import Depends
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""

_SHARED_DB = ("import psycopg2\n\nconn = psycopg2.connect('dbname=shop')\n"
              "cur = conn.cursor()\n")

_DJANGO_MAIL = {"shop/__init__.py": "", "shop/models.py": """
from django.db import models


class Order(models.Model):
    state = models.CharField(max_length=20)
    email = models.CharField(max_length=200)
""", "shop/notify.py": """
from django.core.mail import EmailMessage


def shipped(order):
    EmailMessage("Shipped", "on its way", "shop@example.com", [order.email]).send()
"""}

INVALID: list[Case] = [
    Case(_DB + """
from openai import OpenAI

client = OpenAI()

def summarize(doc_id: int, db: Session = Depends(get_db)):
    doc = db.execute(text("SELECT body FROM docs WHERE id = :i"), {"i": doc_id}).one()
    reply = client.chat.completions.create(  # expect: PS207
        model="gpt-4o-mini", messages=[{"role": "user", "content": doc.body}])
    db.execute(text("UPDATE docs SET summary = :s WHERE id = :i"),
               {"s": reply.choices[0].message.content, "i": doc_id})
    db.commit()
""", note="an LLM call after the first query: the session's connection idles in transaction"),
    Case(_DB + """
import anthropic

async def tag(doc_id, db: Session):
    row = db.get(dict, doc_id)
    llm = anthropic.AsyncAnthropic()
    msg = await llm.messages.create(model="claude", max_tokens=50, messages=[])  # expect: PS207
    db.commit()
""", note="anthropic messages.create on a client built in the function"),
    Case(_DB + """
import litellm

def classify(db: Session, text_: str):
    db.execute(text("INSERT INTO jobs (body) VALUES (:b)"), {"b": text_})
    out = litellm.completion(model="gpt-4o", messages=[])  # expect: PS207
    db.commit()
    return out
""", note="litellm's module-level completion()"),
    Case(_DB + """
import boto3

class Uploader:
    def __init__(self, db: Session):
        self.db = db
        self.s3 = boto3.client("s3")

    def store(self, path: str, key: str):
        self.db.execute(text("INSERT INTO files (k) VALUES (:k)"), {"k": key})
        self.s3.upload_file(path, "bucket", key)  # expect: PS207
        self.db.commit()
""", note="a boto3 client kept on self: upload_file while the insert is uncommitted"),
    Case(_DB + """
from minio import Minio

store = Minio("minio:9000")

def save(db: Session, name: str, data):
    db.execute(text("UPDATE media SET state = 'saving' WHERE name = :n"), {"n": name})
    store.put_object("media", name, data, length=-1)  # expect: PS207
    db.commit()
""", note="MinIO put_object"),
    Case(_DB + """
from opensearchpy import OpenSearch

search_client = OpenSearch(hosts=["http://search:9200"])

def reindex(db: Session, doc_id: int):
    db.execute(text("UPDATE docs SET indexed = true WHERE id = :i"), {"i": doc_id})
    search_client.index(index="docs", id=doc_id, body={})  # expect: PS207
    db.commit()
""", note="an OpenSearch write inside the write transaction"),
    Case(_DB + """
import subprocess

def transcode(db: Session, media_id: int):
    db.execute(text("UPDATE media SET state = 'busy' WHERE id = :i"), {"i": media_id})
    subprocess.run(["ffmpeg", "-i", "in.mp4", "out.webm"], check=True)  # expect: PS207
    db.commit()
""", note="a subprocess while the row is locked"),
    Case(_DB + """
import time

def poll(db: Session):
    db.execute(text("UPDATE jobs SET tries = tries + 1"))
    time.sleep(30)  # expect: PS207
    db.commit()
"""),
    Case(_DB + """
import smtplib

def notify(db: Session, user_id: int):
    db.execute(text("UPDATE users SET notified = true WHERE id = :i"), {"i": user_id})
    with smtplib.SMTP("mail") as smtp:
        smtp.send_message(None)  # expect: PS207
    db.commit()
"""),
    Case(_DB + """
from tasks import render

def export(db: Session, report_id: int):
    db.execute(text("UPDATE reports SET state = 'exporting' WHERE id = :i"), {"i": report_id})
    pdf = render.delay(report_id).get(timeout=300)  # expect: PS207
    db.commit()
    return pdf
""", files={"tasks.py": "from celery import shared_task\n\n@shared_task\n"
                      "def render(i):\n    return i\n"},
         note="waiting on a celery result"),
    Case(_DB + """
from openai import OpenAI

class Summarizer:
    def __init__(self):
        self.client = OpenAI()

    def summarize(self, body):
        return self.client.responses.create(model="gpt-4o-mini", input=body)

summarizer = Summarizer()

def handle(db: Session, doc_id: int):
    doc = db.execute(text("SELECT body FROM docs WHERE id = :i"), {"i": doc_id}).one()
    out = summarizer.summarize(doc.body)  # expect: PS207
    db.commit()
    return out
""", note="the slow call is inside a service method the handler calls"),
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
    Case(_DB + """
from google import genai

gemini = genai.Client()

def caption(db: Session, photo_id: int):
    photo = db.execute(text("SELECT url FROM photos WHERE id = :i"), {"i": photo_id}).one()
    out = gemini.models.generate_content(model="gemini", contents=photo.url)  # expect: PS207
    db.execute(text("UPDATE photos SET caption = :c WHERE id = :i"), {"c": out.text, "i": photo_id})
    db.commit()
""", note="google-genai generate_content"),
    Case(_DB + """
import cohere

co = cohere.ClientV2()

def rerank(db: Session, query: str):
    rows = db.execute(text("SELECT body FROM docs")).all()
    ranked = co.rerank(model="r", query=query, documents=[r.body for r in rows])  # expect: PS207
    db.execute(text("INSERT INTO queries (q) VALUES (:q)"), {"q": query})
    db.commit()
    return ranked
""", note="cohere rerank"),
    Case(_DB + """
from langchain_openai import ChatOpenAI

llm = ChatOpenAI(model="gpt-4o-mini")

def answer(db: Session, question: str):
    db.execute(text("INSERT INTO questions (q) VALUES (:q)"), {"q": question})
    reply = llm.invoke(question)  # expect: PS207
    db.commit()
    return reply
""", note="a LangChain chat model's invoke()"),
    Case(_DB + """
from google.cloud import storage

bucket = storage.Client().bucket("media")

def publish(db: Session, name: str, path: str):
    db.execute(text("UPDATE media SET state = 'publishing' WHERE name = :n"), {"n": name})
    bucket.blob(name).upload_from_filename(path)  # expect: PS207
    db.commit()
""", note="google-cloud-storage upload_from_filename on a blob of the client's bucket"),
    Case(_DB + """
from elasticsearch import Elasticsearch

es = Elasticsearch("http://search:9200")

def related(db: Session, doc_id: int):
    db.execute(text("UPDATE docs SET views = views + 1 WHERE id = :i"), {"i": doc_id})
    hits = es.search(index="docs", query={"match_all": {}})  # expect: PS207
    db.commit()
    return hits
""", note="an Elasticsearch query while the update is uncommitted"),
    Case(_DB + """
from qdrant_client import QdrantClient

qdrant = QdrantClient(url="http://qdrant:6333")

def embed_and_store(db: Session, doc_id: int, vector):
    db.execute(text("UPDATE docs SET embedded = true WHERE id = :i"), {"i": doc_id})
    qdrant.upsert(collection_name="docs", points=[])  # expect: PS207
    db.commit()
""", note="a Qdrant upsert"),
    Case(_DB + """
import asyncio
from sqlalchemy.ext.asyncio import AsyncSession

async def backoff(db: AsyncSession):
    await db.execute(text("UPDATE jobs SET tries = tries + 1"))
    await asyncio.sleep(5)  # expect: PS207
    await db.commit()
""", note="asyncio.sleep of several seconds"),
    Case(_DB + """
from yt_dlp import YoutubeDL

def fetch_media(db: Session, url: str):
    db.execute(text("INSERT INTO downloads (url) VALUES (:u)"), {"u": url})
    with YoutubeDL({"format": "bestaudio"}) as ydl:
        ydl.download([url])  # expect: PS207
    db.commit()
""", note="a media download"),
    Case(_SA + """
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
import httpx

async_engine = create_async_engine("postgresql+asyncpg://app@db/app", pool_pre_ping=True)
AsyncSessionLocal = async_sessionmaker(async_engine)

async def charge(order_id):
    async with AsyncSessionLocal() as session:
        async with session.begin():
            await session.execute(text("UPDATE orders SET paid = true WHERE id = :i"),
                                  {"i": order_id})
            async with httpx.AsyncClient() as client:
                await client.post("https://pay.example/", json={"id": order_id})  # expect: PS207
""", note="inside async with session.begin()"),
    Case(_DB + """
from clients import s3

def store(db: Session, upload, key: str):
    db.execute(text("INSERT INTO files (k) VALUES (:k)"), {"k": key})
    s3.upload_fileobj(upload, "bucket", key)  # expect: PS207
    db.commit()
""", files={"clients.py": "import boto3\n\ns3 = boto3.client(\"s3\")\n"},
         note="a client another project module made, with nothing else there to analyse"),
    Case("""
import asyncio
import asyncpg


async def settle(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("UPDATE accounts SET frozen = true WHERE id = 1")
            await asyncio.sleep(5)  # expect: PS207
            await conn.execute("UPDATE accounts SET frozen = false WHERE id = 1")
    finally:
        await conn.close()
""", note="asyncpg inside an explicit transaction: the sleep holds its locks"),
    Case("""
import paramiko
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)


def fetch_report(host: str) -> None:
    with Session(engine) as db:
        path = db.execute(text("SELECT path FROM reports LIMIT 1")).scalar_one()
        sftp = paramiko.SFTPClient.from_transport(paramiko.Transport((host, 22)))
        sftp.get(path, "/tmp/report.csv")  # expect: PS207
        db.commit()
""", note="an SFTP download while the session's transaction is open"),
    Case("""
import requests
from django.db import transaction

from shop.models import Order


def pay(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        requests.post("https://pay.example.com/charge", json={"id": order.id})  # expect: PS207
        order.paid = True
        order.save()
""", note="Django: a row lock held across a payment provider's HTTP call"),
    Case("""
import time
from django.db.transaction import atomic


@atomic
def refund(order):
    order.refunded = True
    order.save()
    time.sleep(5)  # expect: PS207
""", note="Django: `@atomic` makes the whole body one transaction"),
    Case("""
import aiohttp
import aiopg.sa


async def send_link(engine: aiopg.sa.Engine, file_id, url):
    async with engine.acquire() as conn:
        async with conn.begin():
            await conn.execute("UPDATE files SET status = '01' WHERE id = %s", (file_id,))
            async with aiohttp.ClientSession() as http:
                await http.post(url, json={"id": file_id})  # expect: PS207
""", note="aiopg.sa: inside `conn.begin()` the transaction is open"),
    Case("""
import time
import psycopg


def poll(stop_event, dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        while not stop_event.is_set():
            with conn.transaction():
                conn.execute("UPDATE jobs SET seen = now()")
                time.sleep(1)  # expect: PS207
    finally:
        conn.close()
""", note="an autocommit connection in an explicit transaction: the sleep holds it open"),
    Case("""
from typing import Annotated
import smtplib

from fastapi import APIRouter, Depends
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from mailer.models import Reminder

engine = create_async_engine("postgresql+asyncpg://app@db/mailer", pool_pre_ping=True)
Session = async_sessionmaker(engine)


async def session():
    async with Session() as s:
        yield s


DB = Annotated[AsyncSession, Depends(session)]
router = APIRouter()


@router.post("/reminders/{rid}/send")
async def send_reminder(rid: int, db: DB):
    reminder = (await db.execute(select(Reminder).where(Reminder.id == rid))).scalar_one()
    with smtplib.SMTP("smtp.internal", 25) as smtp:
        smtp.sendmail("noreply@example.com", [reminder.email], reminder.body)  # expect: PS207
    await db.execute(update(Reminder).where(Reminder.id == rid).values(sent=True))
    await db.commit()
""", path="mailer/routes.py",
         files={"mailer/__init__.py": "", "mailer/models.py": "Reminder = object\n"},
         note=("the session comes from FastAPI's Annotated[AsyncSession, Depends(...)] through a "
               "module alias: the SELECT opened its transaction before the SMTP send")),
    Case("""
import boto3
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gallery.models import Photo


class Bucket:
    def __init__(self):
        self.s3 = boto3.client("s3")

    async def drop(self, key: str) -> None:
        self.s3.delete_object(Bucket="photos", Key=key)


class PhotoService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.bucket = Bucket()

    async def find(self, photo_id: int) -> Photo:
        return (await self.session.exec(select(Photo).where(Photo.id == photo_id))).one()

    async def remove(self, photo_id: int) -> None:
        photo = await self.find(photo_id)
        await self.bucket.drop(photo.key)  # expect: PS207
        await self.session.delete(photo)
        await self.session.commit()
""", path="gallery/service.py",
         files={"gallery/__init__.py": "", "gallery/models.py": "Photo = object\n"},
         note=("a method of the same service ran the SELECT on its session (SQLModel's "
               "AsyncSession) and left the transaction open; the S3 delete waits in it")),
    Case("""
import requests
from fastapi import APIRouter
from shop import store

router = APIRouter()

@router.post("/orders/{order_id}/ship")
def ship(order_id: int):
    store.cur.execute("UPDATE orders SET state = 'shipping' WHERE id = %s", (order_id,))
    requests.post("https://courier.example/pickups", json={"order": order_id})  # expect: PS207
    store.conn.commit()
""", path="shop/routes.py", files={"shop/__init__.py": "", "shop/store.py": _SHARED_DB},
         note="a cursor another module opened on its module-level connection, shared "
              "by every route: its statement opens that connection's transaction"),
    Case("""
import psycopg2
from azure.storage.blob import BlobServiceClient

blobs = BlobServiceClient.from_connection_string("UseDevelopmentStorage=true")

def attach(post_id: int, data: bytes) -> None:
    conn = psycopg2.connect("dbname=app")
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO attachments (post_id) VALUES (%s)", (post_id,))
            blob = blobs.get_container_client("files").get_blob_client(f"{post_id}.bin")
            blob.upload_blob(data)  # expect: PS207
        conn.commit()
    finally:
        conn.close()
""", note="an Azure Blob Storage upload is object-storage work"),
    Case("""
import requests
from sqlalchemy.orm import Session


def pages(url):
    while url:
        reply = requests.get(url, timeout=10)
        yield from reply.json()["items"]
        url = reply.json().get("next")


def mirror(session: Session, url: str) -> None:
    session.execute("DELETE FROM mirror")
    for item in pages(url):  # expect: PS207
        session.execute("INSERT INTO mirror (id) VALUES (:i)", {"i": item["id"]})
    session.commit()
""", note="the loop runs the generator's HTTP calls while the DELETE's transaction is "
          "open"),
    Case(_DB + """
import stripe


def charge(order_id: int, db: Session = Depends(get_db)):
    order = db.execute(text("SELECT total, customer FROM orders WHERE id = :i FOR UPDATE"),
                       {"i": order_id}).one()
    intent = stripe.PaymentIntent.create(  # expect: PS207
        amount=order.total, currency="eur", customer=order.customer)
    db.execute(text("UPDATE orders SET intent = :p WHERE id = :i"),
               {"p": intent.id, "i": order_id})
    db.commit()
""", note="Stripe's module API: every resource method is an HTTPS call to Stripe"),
    Case(_DB + """
from stripe import StripeClient

payments = StripeClient("sk_test_key")


def refund(order_id: int, db: Session = Depends(get_db)):
    order = db.execute(text("SELECT intent FROM orders WHERE id = :i"), {"i": order_id}).one()
    payments.refunds.create(params={"payment_intent": order.intent})  # expect: PS207
    db.execute(text("UPDATE orders SET state = 'refunded' WHERE id = :i"), {"i": order_id})
    db.commit()
""", note="Stripe's client API (`StripeClient`): its services call Stripe too"),
    Case(_DB + """
from app.stripe import refund


def cancel_order(order_id: int, db: Session = Depends(get_db)):
    order = db.execute(text("SELECT intent FROM orders WHERE id = :i"), {"i": order_id}).one()
    refund(order.intent)  # expect: PS207
    db.execute(text("UPDATE orders SET state = 'refunded' WHERE id = :i"), {"i": order_id})
    db.commit()
""", path="app/orders.py", files={
        "app/__init__.py": "",
        "app/stripe/__init__.py": """
import stripe as stripe_api

client = stripe_api.StripeClient("sk_test_key")


def refund(intent):
    return client.refunds.create(params={"payment_intent": intent})
"""}, note="a project package that shares the library's name, nested in a package "
           "(`app/stripe/`): its own `import stripe` is the library, not itself"),
    Case("""
from django.core.mail import send_mail
from django.db import transaction

from shop.models import Order


def ship(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.state = "shipped"
        order.save()
        send_mail("Shipped", "on its way", "shop@example.com", [order.email])  # expect: PS207
""", path="shop/jobs.py", files=_DJANGO_MAIL,
         note="Django's send_mail() goes to the mail server (SMTP by default) with the row "
              "locked"),
    Case("""
from django.db import transaction

from shop.models import Order
from shop.notify import shipped


@transaction.atomic
def ship(order_id):
    order = Order.objects.get(pk=order_id)
    order.save()
    shipped(order)  # expect: PS207
""", path="shop/jobs.py", files=_DJANGO_MAIL,
         note="a helper's EmailMessage(...).send() inside an @atomic function"),
    Case("""
import asyncpg
from elasticsearch import AsyncElasticsearch


class OutboxWorker:
    def __init__(self, es: AsyncElasticsearch, dsn: str):
        self.es = es
        self.dsn = dsn

    async def start(self):
        self.pool = await asyncpg.create_pool(dsn=self.dsn)

    async def drain(self):
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch("SELECT id, doc FROM outbox FOR UPDATE SKIP LOCKED")
                for row in rows:
                    await self.es.delete(index="docs", id=row["doc"])  # expect: PS207
                    await conn.execute("UPDATE outbox SET done = true WHERE id = $1", row["id"])
""", note=("the search client is the one the constructor was given, known by its "
            "parameter's annotation")),
]


VALID: list[Case] = [
    Case("""
import time
import psycopg


def watch(stop_event, dsn):
    config = {"conninfo": dsn}
    config["autocommit"] = True
    conn = psycopg.connect(**config)
    try:
        while not stop_event.is_set():
            conn.execute("SELECT 1").fetchone()
            time.sleep(1)
    finally:
        conn.close()


def poll(stop_event, dsn):
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        while not stop_event.is_set():
            conn.execute("SELECT 1").fetchone()
            time.sleep(1)
    finally:
        conn.close()
""", note="a connection acquired in autocommit (the keyword, or through **config): "
          "each statement commits on its own, no transaction waits through the sleep"),
    Case(_DB + """
from openai import OpenAI

client = OpenAI()

def summarize(doc_id: int, body: str, db: Session = Depends(get_db)):
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])
    db.execute(text("UPDATE docs SET summary = :s WHERE id = :i"),
               {"s": reply.choices[0].message.content, "i": doc_id})
    db.commit()
""", note="the LLM call before the first query"),
    Case(_DB + """
from openai import OpenAI

client = OpenAI()

def summarize(doc_id: int, db: Session = Depends(get_db)):
    doc = db.execute(text("SELECT body FROM docs WHERE id = :i"), {"i": doc_id}).one()
    body = doc.body
    db.commit()
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[])
    db.execute(text("UPDATE docs SET summary = :s WHERE id = :i"),
               {"s": reply.choices[0].message.content, "i": doc_id})
    db.commit()
""", note="loaded what it needs, committed, then called the LLM"),
    Case(_DB + """
def search(term):
    return [term]

def find(db: Session, term: str):
    db.execute(text("INSERT INTO searches (t) VALUES (:t)"), {"t": term})
    hits = search(term)
    db.commit()
    return hits
""", note="a project function called search is not a search engine"),
    Case(_DB + """
import time

def retry(db: Session):
    db.execute(text("UPDATE jobs SET tries = tries + 1"))
    time.sleep(0.05)
    db.commit()
""", note="a short constant sleep"),
    Case("""
import psycopg2
import subprocess

def backup(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        conn.cursor().execute("CHECKPOINT")
        subprocess.run(["pg_dump", dsn], check=True)
    finally:
        conn.close()
""", note="an autocommit connection holds no transaction"),
    Case(_DB + """
import boto3

s3 = boto3.client("s3")

def store(db: Session, path: str, key: str):
    s3.upload_file(path, "bucket", key)
    db.execute(text("INSERT INTO files (k) VALUES (:k)"), {"k": key})
    db.commit()
""", note="upload first, then a short transaction"),
    Case(_DB + """
from openai import OpenAI

def finish(db: Session, body):
    db.execute(text("INSERT INTO log (b) VALUES (:b)"), {"b": body})
    db.commit()
    return OpenAI().chat.completions.create(model="m", messages=[])
""", note="after commit()"),
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
    Case(_DB + """
from fastapi.concurrency import run_in_threadpool
from openai import OpenAI

client = OpenAI()

def _summarize_alone(doc_id: int):
    with SessionLocal() as own:
        body = own.execute(text("SELECT body FROM docs WHERE id = :i"), {"i": doc_id}).scalar_one()
    return client.chat.completions.create(model="gpt-4o-mini",
                                          messages=[{"role": "user", "content": body}])

async def summarize(doc_id: int, db: Session = Depends(get_db)):
    reply = await run_in_threadpool(_summarize_alone, doc_id)
    db.execute(text("UPDATE docs SET summary = :s WHERE id = :i"), {"s": str(reply), "i": doc_id})
    db.commit()
""", note="the LLM call runs in a thread with its own session, closed before it"),
    Case("""
from openai import OpenAI
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", isolation_level="AUTOCOMMIT", pool_pre_ping=True)
client = OpenAI()

def log_and_ask(question):
    with engine.connect() as conn:
        conn.execute(text("INSERT INTO questions (q) VALUES (:q)"), {"q": question})
        return client.chat.completions.create(model="m", messages=[])
""", note="an AUTOCOMMIT engine holds no transaction"),
    Case(_DB + """
import boto3

s3 = boto3.client("s3")

def archive(db: Session, key: str):
    row = db.execute(text("SELECT path FROM files WHERE k = :k"), {"k": key}).one()
    path = row.path
    db.rollback()
    s3.upload_file(path, "archive", key)
""", note="read what it needs, ended the transaction, then uploaded"),
    Case(_DB + """
from elasticsearch import Elasticsearch

es = Elasticsearch("http://search:9200")

def reindex(db: Session):
    docs = db.execute(text("SELECT id, body FROM docs")).all()
    db.commit()
    for d in docs:
        es.index(index="docs", id=d.id, document={"body": d.body})
""", note="loaded, committed, then indexed"),
    Case(_DB + """
import subprocess

def convert(db: Session, media_id: int, path: str):
    subprocess.run(["ffmpeg", "-i", path, path + ".webm"], check=True)
    db.execute(text("UPDATE media SET state = 'done' WHERE id = :i"), {"i": media_id})
    db.commit()
""", note="the subprocess before the first statement"),
    Case(_DB + """
from tasks import render

def export(db: Session, report_id: int):
    render.delay(report_id)
    db.execute(text("UPDATE reports SET state = 'queued' WHERE id = :i"), {"i": report_id})
    db.commit()
""", files={"tasks.py": "from celery import shared_task\n\n@shared_task\n"
                      "def render(i):\n    return i\n"},
         note="submitting a task without waiting for it is quick"),
    Case(_DB + """
class Index:
    def search(self, term):
        return [term]

index = Index()

def find(db: Session, term: str):
    db.execute(text("INSERT INTO searches (t) VALUES (:t)"), {"t": term})
    hits = index.search(term)
    db.commit()
    return hits
""", note="a project class's search() method is not a search engine"),
    Case("""
import subprocess
import psycopg2


def admin_connection(dsn):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    return conn


def rebuild(dsn, name):
    conn = admin_connection(dsn)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        subprocess.run(["pg_restore", "-d", name, "dump.sql"], check=True)
        cur.execute("ANALYZE")
    finally:
        conn.close()
""", note="a project wrapper that puts its connection in autocommit before returning it"),
    Case("""
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_checkout_flow(session: AsyncSession, client: httpx.AsyncClient):
    await session.execute(text("INSERT INTO carts (id) VALUES (1)"))
    response = await client.post("/checkout", json={"cart": 1})
    assert response.status_code == 200
    await session.commit()
""", path="tests/test_checkout.py", note="a test module: its transaction holds no production pool"),
    Case("""
import asyncio
import asyncpg


async def on_event(conn, pid, channel, payload):
    print(channel, payload)


async def listen(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    await conn.execute("LISTEN orders")
    await conn.add_listener("orders", on_event)
    try:
        while True:
            await asyncio.sleep(30)
    finally:
        await conn.close()
""", note="a dedicated LISTEN/NOTIFY connection: asyncpg runs each statement in "
         "autocommit, no transaction is open while it waits, and waiting is its purpose"),
    Case("""
import requests
from django.db import transaction


def pay(order):
    with transaction.atomic():
        order.save()
        transaction.on_commit(
            lambda: requests.post("https://pay.example.com/notify", json={"id": order.id}))
""", note="Django: the HTTP call runs after the commit"),
    Case("""
import requests
from django.db import transaction


@transaction.atomic()
def pay(order):
    requests.post("https://pay.example.com/charge", json={"id": order.id})
    order.paid = True
    order.save()
""", note="Django: no query before the call, so no transaction is open on the server yet"),
    Case("""
import requests
from django.db import transaction


def pay(order):
    with transaction.atomic():
        order.save()
    requests.post("https://pay.example.com/charge", json={"id": order.id})
""", note="Django: the call is after the block"),
    Case("""
import requests
from PIL import Image
from django.db import transaction


def thumbnail(path):
    with transaction.atomic():
        Image.open(path).save(path + ".png")
        requests.get("https://cdn.example.com/purge")
""", note="Django: `save(path)` with a positional argument is no model save"),
    Case("""
import aiohttp
from aiopg.sa import create_engine

engine = None


async def send_link(file_id, url):
    async with engine.acquire() as conn:
        await conn.execute("UPDATE files SET status = '01' WHERE id = %s", (file_id,))
        async with aiohttp.ClientSession() as http:
            await http.post(url, json={"id": file_id})
""", note="aiopg is always in autocommit: no transaction stays open between statements"),
    Case("""
from typing import Annotated
import smtplib

from fastapi import APIRouter, Depends
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from mailer.models import Reminder

engine = create_async_engine("postgresql+asyncpg://app@db/mailer", pool_pre_ping=True)
Session = async_sessionmaker(engine)


async def session():
    async with Session() as s:
        yield s


DB = Annotated[AsyncSession, Depends(session)]
router = APIRouter()


@router.post("/reminders/{rid}/send")
async def send_reminder(rid: int, db: DB):
    reminder = (await db.execute(select(Reminder).where(Reminder.id == rid))).scalar_one()
    await db.execute(update(Reminder).where(Reminder.id == rid).values(sent=True))
    await db.commit()
    with smtplib.SMTP("smtp.internal", 25) as smtp:
        smtp.sendmail("noreply@example.com", [reminder.email], reminder.body)
""", path="mailer/routes.py",
         files={"mailer/__init__.py": "", "mailer/models.py": "Reminder = object\n"},
         note="the same route commits before the send: no transaction is open during it"),
    Case("""
import boto3
from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gallery.models import Photo


class Bucket:
    def __init__(self):
        self.s3 = boto3.client("s3")

    async def drop(self, key: str) -> None:
        self.s3.delete_object(Bucket="photos", Key=key)


class PhotoService:
    def __init__(self, session: AsyncSession):
        self.session = session
        self.bucket = Bucket()

    async def find(self, photo_id: int) -> Photo:
        photo = (await self.session.exec(select(Photo).where(Photo.id == photo_id))).one()
        await self.session.commit()
        return photo

    async def remove(self, photo_id: int) -> None:
        photo = await self.find(photo_id)
        await self.bucket.drop(photo.key)
        await self.session.delete(photo)
        await self.session.commit()
""", path="gallery/service.py",
         files={"gallery/__init__.py": "", "gallery/models.py": "Photo = object\n"},
         note="the helper method ends its transaction before returning: nothing is open"),
    Case("""
import requests
from fastapi import APIRouter
from shop import store

router = APIRouter()

@router.post("/orders/{order_id}/ship")
def ship(order_id: int):
    store.cur.execute("UPDATE orders SET state = 'shipping' WHERE id = %s", (order_id,))
    store.conn.commit()
    requests.post("https://courier.example/pickups", json={"order": order_id})
""", path="shop/routes.py", files={"shop/__init__.py": "", "shop/store.py": _SHARED_DB},
         note="the shared connection commits before the HTTP call"),
    Case("""
import psycopg2
from azure.storage.blob import BlobServiceClient

blobs = BlobServiceClient.from_connection_string("UseDevelopmentStorage=true")

def attach(post_id: int, data: bytes) -> None:
    conn = psycopg2.connect("dbname=app")
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO attachments (post_id) VALUES (%s)", (post_id,))
        conn.commit()
        blobs.get_container_client("files").get_blob_client(f"{post_id}.bin").upload_blob(data)
    finally:
        conn.close()
""", note="the upload runs after the commit"),
    Case("""
import time

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from shop.db import get_db

router = APIRouter()


def follow(path):
    with open(path) as log:
        while True:
            line = log.readline()
            if not line:
                time.sleep(1)
                continue
            yield line


@router.get("/jobs/{job_id}/log")
def job_log(job_id: int, db: Session = Depends(get_db)):
    path = db.execute("SELECT log_path FROM jobs WHERE id = :i", {"i": job_id}).scalar()
    return StreamingResponse(follow(path))
""", path="shop/routes.py", files={"shop/__init__.py": "", "shop/db.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/shop", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""}, note="calling a generator function runs none of its body: the sleeps run as the "
          "response is streamed, not inside the route"),
    Case(_DB + """
import stripe


def webhook(payload: bytes, signature: str, db: Session = Depends(get_db)):
    db.execute(text("SELECT 1"))
    event = stripe.Webhook.construct_event(payload, signature, "whsec_key")
    db.execute(text("UPDATE orders SET state = :s"), {"s": event.type})
    db.commit()
""", note="Stripe's `Webhook.construct_event` checks a signature locally: no request"),
    Case(_DB + """
import stripe


def charge(order_id: int, total: int, db: Session = Depends(get_db)):
    intent = stripe.PaymentIntent.create(amount=total, currency="eur")
    db.execute(text("UPDATE orders SET intent = :p WHERE id = :i"),
               {"p": intent.id, "i": order_id})
    db.commit()
""", note="the Stripe call before the first query"),
    Case(_DB + """
from app import stripe


def refund(order_id: int, db: Session = Depends(get_db)):
    order = db.execute(text("SELECT intent FROM orders WHERE id = :i"), {"i": order_id}).one()
    stripe.describe(order.intent)
    db.commit()
""", path="app/orders.py", files={
        "app/__init__.py": "",
        "app/stripe/__init__.py": """
import stripe


def describe(intent):
    return f"payment {intent}"


def unused():
    return stripe.api_key
"""}, note="a project package named like the library, reached by its dotted name: its "
           "function makes no request"),
    Case("""
from django.core.mail import send_mail
from django.db import transaction

from shop.models import Order


def ship(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.state = "shipped"
        order.save()
    send_mail("Shipped", "on its way", "shop@example.com", [order.email])
""", path="shop/jobs.py", files=_DJANGO_MAIL, note="the mail is sent after the block"),
    Case("""
from django.db import transaction

from shop.models import Order
from shop.notify import shipped


def ship(order_id):
    with transaction.atomic():
        order = Order.objects.get(pk=order_id)
        order.save()
        transaction.on_commit(lambda: shipped(order))
""", path="shop/jobs.py", files=_DJANGO_MAIL,
         note="the mail is handed to transaction.on_commit(): it runs after the commit"),
    Case("""
import asyncpg
from elasticsearch import AsyncElasticsearch


class OutboxWorker:
    def __init__(self, es: AsyncElasticsearch, dsn: str):
        self.es = es
        self.dsn = dsn

    async def start(self):
        self.pool = await asyncpg.create_pool(dsn=self.dsn)

    async def drain(self):
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                rows = await conn.fetch("SELECT id, doc FROM outbox FOR UPDATE SKIP LOCKED")
                await conn.execute("UPDATE outbox SET done = true WHERE id = ANY($1)",
                                   [row["id"] for row in rows])
        for row in rows:
            await self.es.delete(index="docs", id=row["doc"])
""", note="the injected search client is called after the transaction block and the checkout end"),
]

# A parameter annotated as an asyncpg connection commits each statement on its own
# until a transaction block is opened on it: waiting beside it holds no transaction.
VALID += [
    Case("""
import asyncio

import asyncpg


async def notifications(conn: asyncpg.Connection, channel: str):
    inbox = asyncio.Queue()

    def received(_conn, _pid, _channel, payload):
        inbox.put_nowait(payload)

    await conn.add_listener(channel, received)
    try:
        while True:
            try:
                yield await asyncio.wait_for(inbox.get(), timeout=10)
            except asyncio.TimeoutError:
                if conn.is_closed():
                    return
            except Exception as exc:
                print("listener error:", exc)
                await asyncio.sleep(1)
    finally:
        await conn.remove_listener(channel, received)
""", note="a LISTEN connection given as a parameter: autocommit, no transaction open"),
]

INVALID += [
    Case("""
import asyncio

import asyncpg


async def drain(conn: asyncpg.Connection):
    async with conn.transaction():
        rows = await conn.fetch("SELECT id FROM outbox FOR UPDATE")
        await asyncio.sleep(5)  # expect: PS207
        await conn.execute("DELETE FROM outbox WHERE id = ANY($1)", [r["id"] for r in rows])
""", note="the same annotated connection inside a transaction block"),
]

VALID += [
    Case(_DB + """
import time

from sqlalchemy.exc import OperationalError

from app.tuning import RETRY_PAUSE

RETRIES = 3


def bump(db: Session):
    for attempt in range(RETRIES):
        try:
            db.execute(text("UPDATE jobs SET tries = tries + 1"))
            break
        except OperationalError:
            time.sleep(RETRY_PAUSE)
    db.commit()
""", files={"app/tuning.py": "RETRY_PAUSE = 0.1\n"},
         note="a sleep whose duration is a module constant under a second (here imported "
              "from another module) is a short pause, like `time.sleep(0.1)` written out"),
]

INVALID += [
    Case(_DB + """
import time

RETRY_PAUSE = 5


def bump(db: Session, pause):
    db.execute(text("UPDATE jobs SET tries = tries + 1"))
    time.sleep(RETRY_PAUSE)  # expect: PS207
    delay = 0.1
    delay *= 100
    time.sleep(delay)  # expect: PS207
    time.sleep(pause)  # expect: PS207
    db.commit()
""", note="a constant of several seconds is a long pause; a local that the code changes "
          "and a parameter are not read as constants"),
]

# a coroutine function's call runs its body only where it is awaited (directly, through
# `asyncio.gather(...)` / `wait_for(...)`, or through the name it is bound to): one
# handed to `create_task()` runs in another task, and the transaction's task goes on
_LEDGER_ASYNC = """
import asyncio
import asyncpg


async def cool_down(account_id):
    await asyncio.sleep(30)
    print("unfrozen", account_id)

"""
INVALID += [
    Case(_LEDGER_ASYNC + """
async def freeze(conn: asyncpg.Connection, account_id):
    async with conn.transaction():
        await conn.execute("UPDATE accounts SET frozen = true WHERE id = $1", account_id)
        await asyncio.gather(cool_down(account_id))  # expect: PS207
""", note="a coroutine awaited through gather() runs while the transaction waits"),
    Case(_LEDGER_ASYNC + """
async def freeze(conn: asyncpg.Connection, account_id):
    async with conn.transaction():
        await conn.execute("UPDATE accounts SET frozen = true WHERE id = $1", account_id)
        pending = cool_down(account_id)  # expect: PS207
        await pending
""", note="a coroutine bound to a name and awaited later in the transaction"),
]
VALID += [
    Case(_LEDGER_ASYNC + """
async def freeze(conn: asyncpg.Connection, account_id):
    async with conn.transaction():
        await conn.execute("UPDATE accounts SET frozen = true WHERE id = $1", account_id)
        asyncio.create_task(cool_down(account_id))
""", note="create_task() runs the coroutine in another task: the transaction ends "
          "without waiting for it"),
    Case(_LEDGER_ASYNC + """
async def freeze(conn: asyncpg.Connection, account_id):
    loop = asyncio.get_running_loop()
    async with conn.transaction():
        await conn.execute("UPDATE accounts SET frozen = true WHERE id = $1", account_id)
        loop.create_task(cool_down(account_id))
""", note="the loop's create_task() does the same"),
]

# a project's own pool wrapper, reached through a parameter (or class attribute)
# annotated with the wrapper class: `Api(db: Db)` keeps `self.db`, and `self.db.pool` is
# the aiomysql pool `Db.start()` made, in autocommit or not
_POOL_WRAPPER = """\
import aiohttp
import aiomysql


class Db:
    def __init__(self):
        self.pool = None

    async def start(self):
        self.pool = await aiomysql.create_pool(host="db", user="app", db="maps"{options})


class Api:
    def __init__(self, db: Db):
        self.db = db

    async def publish(self, key):
        conn = await self.db.pool.acquire()
        try:
            cur = await conn.cursor()
            await cur.execute("UPDATE maps SET seen = seen + 1 WHERE id = %s", (key,))
            async with aiohttp.ClientSession() as http:
                await http.post("https://paste.example.com", data=key){expect}
        finally:
            self.db.pool.release(conn)
"""
VALID.append(Case(_POOL_WRAPPER.format(options=", autocommit=True", expect=""),
                  note="the wrapper's pool runs in autocommit: the UPDATE commits at "
                       "once and no transaction is open during the HTTP call"))
INVALID.append(Case(_POOL_WRAPPER.format(options="", expect="  # expect: PS207"),
                    note="the same wrapper without autocommit: aiomysql opens a "
                         "transaction at the UPDATE, held through the HTTP call"))

# issue 31, large code bases: a one-shot command (click/typer, an argparse subcommand's
# handler, a Django command's handle(), or a function only such code calls once) that
# streams what it reads to a remote service holds a read-only transaction: a snapshot,
# no row lock, on a connection of its own process
_PUSH = """\
import time

import click
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def push_rows(target):
    session = SessionLocal()
    try:
{work}
        for row in session.execute({query}):
            requests.post(target, json={{"id": row.id}}, timeout=10){mark}
            time.sleep(1){mark}
    finally:
        session.close()

{decorator}
def push(target):
    push_rows(target)
"""
_READ = "text(\"SELECT id FROM orders WHERE pushed = false\")"
VALID += [
    Case(_PUSH.format(work="", query=_READ, mark="", decorator="@click.command()"),
         note="a click command's helper: the transaction holds a snapshot of what the "
              "command reads, no row lock, on the command's own connection"),
    Case(_PUSH.format(work="        stmt = select(engine)", query="stmt", mark="",
                      decorator="@click.command()"),
         note="a `select(...)` bound to a name first is a read too"),
]
INVALID += [
    Case(_PUSH.format(work="", query=_READ, mark="  # expect: PS207", decorator=""),
         note="the same helper where no command runs it: a request or a worker may call it "
              "while others wait on its connection"),
    Case(_PUSH.format(work="        session.execute(text(\"UPDATE orders SET pushed = true\"))",
                      query=_READ, mark="  # expect: PS207", decorator="@click.command()"),
         note="the command wrote first: the rows it updated stay locked across every call"),
    Case(_PUSH.format(work="", query="text(\"SELECT id FROM orders FOR UPDATE\")",
                      mark="  # expect: PS207", decorator="@click.command()"),
         note="SELECT ... FOR UPDATE locks the rows it reads"),
]

# round 11 (issue 31): Python's sqlite3 begins a transaction only before INSERT,
# UPDATE, DELETE and REPLACE; a SELECT leaves none open, so a polling loop that reads,
# writes and commits, then sleeps, holds nothing. A write not yet committed before the
# sleep stays reported.
_SQLITE_LOCK = """\
import sqlite3
import time


class FileLock:
    def __init__(self, path, name):
        self.connection = sqlite3.connect(path)
        self.name = name
"""
VALID.append(Case(_SQLITE_LOCK + """
    def acquire(self, wait):
        cursor = self.connection.cursor()
        while True:
            cursor.execute("select count(*) from locks where name = ?", (self.name,))
            if cursor.fetchone()[0] == 0:
                cursor.execute("insert into locks (name) values (?)", (self.name,))
                self.connection.commit()
                return
            time.sleep(wait)
""", note="sqlite3: the SELECT before the sleep begins no transaction, and the write "
          "is committed before the function returns"))
INVALID.append(Case(_SQLITE_LOCK + """
    def touch_and_wait(self, wait):
        cursor = self.connection.cursor()
        cursor.execute("update locks set seen = 1 where name = ?", (self.name,))
        time.sleep(wait)  # expect: PS207
        self.connection.commit()
""", note="sqlite3: the UPDATE began a transaction, which the sleep keeps open (and the "
          "database file locked)"))

# round 11 (issue 31): a reconnect back-off. A sleep in the handler of a `try` that
# only checks a connection out (`session.connection()`) waits with no transaction
# open: the connect failed. The same sleep after a statement that wrote keeps the
# written rows' transaction open, and stays reported.
_RECONNECT = """\
import time

from sqlalchemy import create_engine, exc, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


class Loader:
    def __init__(self):
        self.session = Session()
"""
VALID.append(Case(_RECONNECT + """
    def check_connection(self):
        try:
            self.session.connection()
        except exc.OperationalError:
            time.sleep(5)
            self.session.connection()
""", note="a back-off after a failed connect: no transaction is open"))
INVALID.append(Case(_RECONNECT + """
    def save(self, rows):
        self.session.execute(text("INSERT INTO events VALUES (:v)"), rows)
        try:
            self.session.connection()
        except exc.OperationalError:
            time.sleep(5)  # expect: PS207
        self.session.commit()
""", note="the INSERT before the probe began a transaction that the back-off keeps open"))

# LangChain embeddings models: `embed_documents` / `embed_query` (and their async
# `aembed_*`) send a request to the provider's embeddings API, as slow as a chat call.
# A `scoped_session` registry's call in a function (`session = Session()`) is the
# thread's session: its query opens the transaction the slow call then keeps open.
_SCOPED = """\
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

Session = scoped_session(sessionmaker(bind=create_engine("postgresql://db/app")))
"""

INVALID.extend([
    Case(_DB + """
from langchain_openai import OpenAIEmbeddings

embedder = OpenAIEmbeddings(model="text-embedding-3-small")

def index_note(db: Session, note_id: int, body: str):
    db.execute(text("UPDATE notes SET state = 'indexing' WHERE id = :i"), {"i": note_id})
    vector = embedder.embed_query(body)  # expect: PS207
    db.execute(text("UPDATE notes SET vector = :v WHERE id = :i"), {"v": vector, "i": note_id})
    db.commit()
""", note="a LangChain embeddings model's embed_query()"),
    Case(_SCOPED + """
from langchain_community.embeddings import OllamaEmbeddings

embedder = OllamaEmbeddings(model="nomic-embed-text")

def embed_all(texts):
    return embedder.embed_documents(texts)

def closest(question):
    session = Session()
    notes = session.execute(text("SELECT body FROM notes")).all()
    vectors = embed_all([n.body for n in notes])  # expect: PS207
    session.commit()
    return vectors
""", note="the thread's scoped session holds the read's transaction across a helper's "
          "embed_documents()"),
    Case(_DB + """
from langchain_openai import AzureOpenAIEmbeddings

embedder = AzureOpenAIEmbeddings(azure_deployment="embed")

async def reindex(db: Session, ids: list[int]):
    rows = db.execute(text("SELECT id, body FROM notes WHERE id = ANY(:i) FOR UPDATE"),
                      {"i": ids}).all()
    vectors = await embedder.aembed_documents([r.body for r in rows])  # expect: PS207
    db.commit()
    return vectors
""", note="aembed_documents() while rows are locked FOR UPDATE"),
])

VALID.extend([
    Case(_DB + """
from langchain_openai import OpenAIEmbeddings

embedder = OpenAIEmbeddings(model="text-embedding-3-small")

def index_note(db: Session, note_id: int, body: str):
    vector = embedder.embed_query(body)
    db.execute(text("UPDATE notes SET vector = :v WHERE id = :i"), {"v": vector, "i": note_id})
    db.commit()
""", note="the embedding is computed before the transaction begins"),
    Case(_SCOPED + """
class Embeddings:
    def embed_documents(self, texts):
        return [[float(len(t))] for t in texts]

embedder = Embeddings()

def closest(question):
    session = Session()
    notes = session.execute(text("SELECT body FROM notes")).all()
    vectors = embedder.embed_documents([n.body for n in notes])
    session.commit()
    return vectors
""", note="a project class's embed_documents() is no provider's API"),
    Case(_SCOPED + """
from langchain_openai import OpenAIEmbeddings

embedder = OpenAIEmbeddings(model="text-embedding-3-small")

def closest(question):
    session = Session()
    notes = session.execute(text("SELECT body FROM notes")).all()
    session.commit()
    return embedder.embed_documents([n.body for n in notes])
""", note="the scoped session's transaction is committed before the embeddings call"),
])

# XML-RPC clients (`xmlrpc.client.ServerProxy`, Koji's `koji.ClientSession`): every
# method is a remote call, whatever its name (the server defines them).
INVALID += [
    Case("""
import xmlrpc.client

from django.db import transaction

from shop.models import Order

billing = xmlrpc.client.ServerProxy("https://billing.example.com/RPC2")


def invoice(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.invoice = billing.invoices.create(order.id, order.total)  # expect: PS207
        order.save()
""", note="an XML-RPC call (any method of a ServerProxy) inside atomic()"),
    Case("""
import koji
from tortoise.transactions import atomic

from builds.models import Build

session = koji.ClientSession("https://koji.example.com/kojihub")


@atomic()
async def merge(build_id: int):
    build = await Build.get(id=build_id)
    session.mergeScratch(build.task_id)  # expect: PS207
    build.merged = True
    await build.save()
""", note="a Koji hub call (koji.ClientSession) inside a Tortoise transaction"),
]

VALID += [
    Case("""
import xmlrpc.client

from django.db import transaction

from shop.models import Order

billing = xmlrpc.client.ServerProxy("https://billing.example.com/RPC2")


def invoice(order_id):
    order = Order.objects.get(pk=order_id)
    number = billing.invoices.create(order.id, order.total)
    with transaction.atomic():
        Order.objects.filter(pk=order_id).update(invoice=number)
""", note="the remote call before the transaction"),
    Case("""
from django.db import transaction

from shop.models import Order


class Proxy:
    def create(self, *args):
        return "local"


billing = Proxy()


def invoice(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.invoice = billing.create(order.id)
        order.save()
""", note="a project object's method, not an RPC client"),
]

# A project function handed to a thread that only computes (issue 31, round 15:
# large45's held-out class)
_COMPUTE = """
import asyncio
import hashlib
import json
import re

from sqlalchemy.ext.asyncio import AsyncSession

_WORD = re.compile(r"[a-z]+")


def _terms(text):
    return sorted({w for w in _WORD.findall(text.lower()) if len(w) > 2})


def build_index(docs):
    index = {}
    for doc in docs:
        for term in _terms(doc["body"]):
            index.setdefault(term, []).append(doc["id"])
    digest = hashlib.sha256(json.dumps(index, sort_keys=True).encode()).hexdigest()
    return index, digest
"""

VALID += [
    Case(_COMPUTE + """

async def reindex(session: AsyncSession, docs):
    async with session.begin():
        await session.execute(clear_terms())
        index, digest = await asyncio.to_thread(build_index, docs)
        await session.execute(insert_terms(index, digest))
""", note="the function handed to the thread only computes (regular expressions, json, "
          "hashing): moved off the event loop as CPU work, it waits on nothing outside"),
]

INVALID += [
    Case(_COMPUTE + """

def load_and_index(path):
    with open(path) as f:
        docs = json.load(f)
    return build_index(docs)


async def reindex(session: AsyncSession, path):
    async with session.begin():
        await session.execute(clear_terms())
        index, digest = await asyncio.to_thread(load_and_index, path)  # expect: PS207
        await session.execute(insert_terms(index, digest))
""", note="the function handed to the thread reads a file first: I/O inside the transaction"),
]

# python-telegram-bot handlers on a connection a project decorator checks out of a
# psycopg2 pool and hands in: the handler's statements (its own, or a helper's it
# hands the connection to) open the transaction the wrapper's `with conn:` commits
# on the way out, and `context.bot` is the Bot API client (issue 31, corpus17)
_PTB_POOL = """\
import psycopg2.pool
from telegram.ext import CallbackContext, CommandHandler, ContextTypes

pool = psycopg2.pool.ThreadedConnectionPool(1, 10, "dbname=bot")


def with_conn(handler):
    def wrapper(update, context):
        try:
            with pool.getconn() as conn:
                return handler(update, context, conn)
        finally:
            pool.putconn(conn)
    return wrapper


def save_user(conn, tg_id):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO users (tg_id) VALUES (%s) ON CONFLICT DO NOTHING", (tg_id,))


def save_user_now(conn, tg_id):
    save_user(conn, tg_id)
    conn.commit()
"""

INVALID += [
    Case(_PTB_POOL + """

@with_conn
def start(update, context, conn):
    save_user(conn, update.effective_user.id)
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")  # expect: PS207


handler = CommandHandler("start", start)
""", note="python-telegram-bot: a helper's INSERT on the decorator's pooled connection, "
          "then context.bot (an unannotated (update, context) callback) in the transaction"),
    Case(_PTB_POOL + """

@with_conn
def rename(update, context: ContextTypes.DEFAULT_TYPE, conn):
    with conn.cursor() as cur:
        cur.execute("UPDATE users SET name = %s WHERE tg_id = %s",
                    (update.message.text, update.effective_user.id))
    context.bot.send_message(chat_id=update.effective_chat.id, text="Renamed")  # expect: PS207
""", note="the handler's own statement on the decorator's connection, annotated context"),
    Case(_PTB_POOL + """

def start(update, context: CallbackContext):
    conn = pool.getconn()
    try:
        save_user(conn, update.effective_user.id)
        context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")  # expect: PS207
        conn.commit()
    finally:
        pool.putconn(conn)
""", note="context.bot of an annotated CallbackContext after a helper's INSERT"),
]

VALID += [
    Case(_PTB_POOL + """

@with_conn
def start(update, context, conn):
    save_user_now(conn, update.effective_user.id)
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")
""", note="the helper commits before the reply: no transaction is open"),
    Case(_PTB_POOL + """

@with_conn
def start(update, context, conn):
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")
    save_user(conn, update.effective_user.id)
""", note="the reply comes before the first statement"),
    Case(_PTB_POOL + """

def with_autocommit(handler):
    def wrapper(update, context):
        conn = pool.getconn()
        conn.autocommit = True
        try:
            return handler(update, context, conn)
        finally:
            pool.putconn(conn)
    return wrapper


@with_autocommit
def start(update, context, conn):
    save_user(conn, update.effective_user.id)
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")
""", note="a decorator that hands in an autocommit connection: each statement commits"),
    Case(_PTB_POOL + """

def start(update, context, conn):
    save_user(conn, update.effective_user.id)
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")
""", note="an undecorated parameter nobody is known to fill: not taken for a connection"),
]

# the helpers live in a package whose `__init__` re-exports each one from a submodule
# of the same name (`from bot.db.save_user import save_user`): `from bot.db import
# save_user` is the function (the package attribute), not the submodule
_PTB_PACKAGE = {
    "bot/__init__.py": "",
    "bot/db/__init__.py": "from bot.db.save_user import save_user\n",
    "bot/db/save_user.py": """
def save_user(conn, tg_id):
    cur = conn.cursor()
    cur.execute("INSERT INTO users (tg_id) VALUES (%s)", (tg_id,))
""",
    "bot/pooling.py": """
import psycopg2.pool

pool = psycopg2.pool.ThreadedConnectionPool(1, 10, "dbname=bot")


def with_conn(handler):
    def wrapper(update, context):
        pool = context.bot_data["pool"]
        conn = pool.getconn()
        try:
            with conn:
                return handler(update, context, conn)
        finally:
            pool.putconn(conn)
    return wrapper
""",
}

INVALID.append(Case("""
from telegram.ext import CommandHandler

from bot.db import save_user
from bot.pooling import with_conn


@with_conn
def start(update, context, conn):
    save_user(conn, update.effective_user.id)
    context.bot.send_message(chat_id=update.effective_chat.id, text="Hi")  # expect: PS207


handler = CommandHandler("start", start)
""", files=_PTB_PACKAGE, path="bot/handlers.py",
    note="the helper imported from a package that re-exports it from a same-named "
         "submodule; the pool the wrapper checks out of comes from bot_data (untyped) "
         "in a project that builds psycopg2 pools"))

# Issue 31, round 18 (small49; corpus17's held-out class): an LLM client kept as a class
# attribute (`CLIENT = AzureOpenAI(...)` in the class body), used by a staticmethod that a
# project helper calls: two calls down from the function whose session is in a transaction.
_CLASS_CLIENT = """
import os

from openai import AzureOpenAI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


class Offline:
    def create(self, **kwargs):
        return {{"choices": []}}


class Summariser:
    CLIENT = {client}

    @staticmethod
    def complete(prompt):
        return Summariser.CLIENT.chat.completions.create(
            model="gpt-4o", messages=[{{"role": "user", "content": prompt}}])


def daily_digest(rows):
    return Summariser.complete("Summarise: " + repr(rows))


def build_digest():
    session = SessionLocal()
    try:
        rows = session.execute(text("SELECT * FROM events WHERE day = current_date")).all()
        {before}digest = daily_digest(rows){mark}
        session.execute(text("INSERT INTO digests (body) VALUES (:b)"), {{"b": str(digest)}})
        session.commit()
    finally:
        session.close()
"""

_AZURE = 'AzureOpenAI(api_key=os.environ["AZURE_KEY"], api_version="2024-06-01")'

INVALID += [
    Case(_CLASS_CLIENT.format(client=_AZURE, before="", mark="  # expect: PS207"),
         note="the class attribute is an Azure OpenAI client: the completion runs two calls "
              "down while the SELECT's transaction is open"),
]

VALID += [
    Case(_CLASS_CLIENT.format(client=_AZURE, before="session.commit()\n        ", mark=""),
         note="the SELECT's transaction is committed before the completion"),
    Case(_CLASS_CLIENT.format(client="Offline()", before="", mark=""),
         note="the class attribute is a project stand-in, no library client"),
]

# psycopg 3's `set_autocommit(True)` on a pooled connection: no transaction is open
# while the worker waits
_POOLED_AUTOCOMMIT_WORKER = '''
import asyncio

from psycopg_pool import AsyncConnectionPool

pool = AsyncConnectionPool("dbname=archive", open=False)


async def drain(queue):
    async with pool.connection() as conn:
        await conn.set_autocommit({flag})
        while True:
            url = await conn.execute("SELECT url FROM pending LIMIT 1")
            await asyncio.sleep(5){mark}
'''

VALID += [
    Case(_POOLED_AUTOCOMMIT_WORKER.format(flag="True", mark=""),
         note="set_autocommit(True): each SELECT commits on its own, the sleep holds no "
              "transaction"),
]

INVALID += [
    Case(_POOLED_AUTOCOMMIT_WORKER.format(flag="False", mark="  # expect: PS207"),
         note="set_autocommit(False): the first SELECT opens a transaction the sleep keeps"),
]

# a connect-and-retry loop: psycopg2's `set_client_encoding()` runs its `SET` outside any
# transaction (it aborts one first), so the backoff sleep after a failed attempt holds
# none; a statement run through a cursor before the sleep begins one
_CONNECT_RETRY = '''
import time

import psycopg2


class ReportStore:
    def __init__(self, dsn):
        self.dsn = dsn

    def open(self):
        tries = 0
        while True:
            try:
                conn = psycopg2.connect(self.dsn)
                {setup}
                break
            except psycopg2.OperationalError:
                tries += 1
                if tries >= 4:
                    raise
                time.sleep(3 * tries){mark}
        return conn
'''

VALID += [
    Case(_CONNECT_RETRY.format(setup='conn.set_client_encoding("UTF8")', mark=""),
         note="set_client_encoding() begins no transaction: the retry sleep holds none"),
]

INVALID += [
    Case(_CONNECT_RETRY.format(setup='cur = conn.cursor()\n'
                                     '                cur.execute("SELECT pg_advisory_lock(7)")',
                               mark="  # expect: PS207"),
         note="a cursor's execute() begins psycopg2's transaction before the sleep"),
]

# a statement run through a cursor that is never named (`conn.cursor().execute(...)`)
# begins the connection's transaction as a named cursor's does
_CHAINED_CURSOR = '''
import psycopg2
import requests

conn = psycopg2.connect("dbname=shop")


def refresh_prices(sku):
    conn.cursor().execute("UPDATE prices SET stale = true WHERE sku = %s", (sku,))
    {between}
    quote = requests.get("https://prices.example.com/" + sku, timeout=5).json(){mark}
    conn.cursor().execute("UPDATE prices SET amount = %s WHERE sku = %s",
                          (quote["amount"], sku))
    conn.commit()
'''

VALID += [
    Case(_CHAINED_CURSOR.format(between="conn.commit()", mark=""),
         note="the chained cursor's statement is committed before the HTTP call"),
]

INVALID += [
    Case(_CHAINED_CURSOR.format(between="pass", mark="  # expect: PS207"),
         note="`conn.cursor().execute()` began the transaction the HTTP call keeps open"),
]

# one project helper called several times in one transaction is one problem (one
# commit before the first call ends it): one finding, at the first call; another
# helper, or the same helper in the next transaction, is a finding of its own
_THUMBNAILS = '''
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

Session = sessionmaker(bind=create_engine("postgresql://app@db/app", pool_pre_ping=True))


def fetch_size(url, width):
    return len(requests.get(url, params={{"w": width}}, timeout=30).content)


def fetch_meta(url):
    return requests.head(url, timeout=30).headers


def store_sizes(photo_id):
    with Session() as session:
        url = session.execute(text("SELECT url FROM photos WHERE id = :i"),
                              {{"i": photo_id}}).scalar_one()
        small = fetch_size(url, 100){first}
        large = fetch_size(url, 800)
        {between}
        total = fetch_{last}{mark}
        session.execute(text("UPDATE photos SET bytes = :b WHERE id = :i"),
                        {{"b": small + large, "i": photo_id}})
        session.commit()
'''

INVALID += [
    Case(_THUMBNAILS.format(first="  # expect: PS207", between="pass",
                            last="size(url, 1600)", mark=""),
         note="three calls of one helper in one transaction: one finding at the first"),
    Case(_THUMBNAILS.format(first="  # expect: PS207", between="pass",
                            last="meta(url)", mark="  # expect: PS207"),
         note="look-alike: a second helper in the same transaction is its own finding"),
    Case(_THUMBNAILS.format(
        first="  # expect: PS207",
        between='session.commit()\n        session.execute(text("SELECT 1"))',
        last="size(url, 1600)", mark="  # expect: PS207"),
         note="look-alike: the same helper in the next transaction is its own finding"),
]

# a session closed in `finally` under a None (or truth) guard: on each path out of the
# `try` it is either closed or was never opened, so nothing holds a transaction after
_GUARDED_CLOSE = _SA + '''

def push(url):
    report = None
    try:
        report = SessionLocal()
        rows = report.execute(text("SELECT id FROM jobs")).all()
    finally:
        if {guard}:
            report.close()
    requests.post(url, json=[r.id for r in rows], timeout=5){mark}
'''

VALID += [
    Case(_GUARDED_CLOSE.format(guard="report is not None", mark=""),
         note="closed in finally under `is not None`: the unguarded path holds no session"),
    Case(_GUARDED_CLOSE.format(guard="report", mark=""),
         note="closed in finally under a truth test"),
    Case(_GUARDED_CLOSE.format(guard="not (report is None)", mark=""),
         note="closed in finally under a negated `is None`"),
]

INVALID += [
    Case(_GUARDED_CLOSE.format(guard="report is None", mark="  # expect: PS207"),
         note="look-alike: the guard is reversed, the open session is never closed"),
    Case(_GUARDED_CLOSE.format(guard="report and url", mark="  # expect: PS207"),
         note="look-alike: `report and url` false leaves an open session when url is empty"),
    Case(_SA + '''

def push(url, report):
    rows = report.execute(text("SELECT id FROM jobs")).all()
    if report is None:
        report = SessionLocal()
    else:
        requests.post(url, json=[r.id for r in rows], timeout=5)  # expect: PS207
''', note="look-alike: the else of an `is None` test runs with the transaction open"),
]

# `close_all_sessions()` (sqlalchemy.orm) closes every session in memory: a fail-over
# wait that closes them all before it sleeps holds no transaction (large54's tune half)
_FAILOVER = '''\
import time
{imports}
from shop import db


def wait_for_primary(attempts=30):
    for attempt in range(attempts):
        standby = db.session.execute(db.text("SELECT pg_is_in_recovery()")).scalar()
        if not standby:
            return
{body}
'''

VALID += [
    Case(_FAILOVER.format(imports="from sqlalchemy.orm.session import close_all_sessions",
                          body="        close_all_sessions()\n        time.sleep(1)"),
         files=_FLASK, note="close_all_sessions() before the sleep ends db.session's transaction"),
    Case(_SA + """
import time
import sqlalchemy.orm


def drain(batches):
    with SessionLocal() as session:
        for batch in batches:
            session.execute(text("UPDATE jobs SET done = true WHERE batch = :b"), {"b": batch})
            sqlalchemy.orm.close_all_sessions()
            time.sleep(2)
""", note="a plain Session, closed by the module-qualified close_all_sessions()"),
]

INVALID += [
    Case(_FAILOVER.format(imports="from sqlalchemy.orm import close_all_sessions",
                          body="        time.sleep(1)  # expect: PS207\n"
                               "        close_all_sessions()"),
         files=_FLASK, note="look-alike: the sleep runs before the sessions are closed"),
    Case("""
import time
import psycopg2
from sqlalchemy.orm import close_all_sessions


def mark(dsn, ids):
    conn = psycopg2.connect(dsn)
    try:
        cur = conn.cursor()
        for i in ids:
            cur.execute("UPDATE jobs SET seen = now() WHERE id = %s", (i,))
            close_all_sessions()
            time.sleep(1)  # expect: PS207
        conn.commit()
    finally:
        conn.close()
""", note="look-alike: close_all_sessions() closes sessions, not a psycopg2 connection"),
    Case(_FAILOVER.format(imports="",
                          body="        close_all_sessions()\n"
                               "        time.sleep(1)  # expect: PS207\n\n\n"
                               "def close_all_sessions():\n    pass"),
         files=_FLASK, note="look-alike: the project's own close_all_sessions() closes nothing"),
]

# Django's mail API through a backend that queues the message in the database
# (django-mailer's `mailer.backend.DbBackend`): `send_mail()` inserts a row with the
# transaction's connection; a separate command delivers the queue later.
_MAIL_JOB = """
from django.core.mail import send_mail{imports}
from django.db import transaction

from shop.models import Order


@transaction.atomic
def cancel(order_id):
    order = Order.objects.get(pk=order_id)
    order.delete()
    {send}{expect}
"""
_QUEUE_SEND = 'send_mail("Cancelled", "sorry", "shop@example.com", [order.email])'
_DB_MAIL_SETTINGS = 'EMAIL_BACKEND = "mailer.backend.DbBackend"\nMAILER_EMAIL_BACKEND = ' \
                    '"django.core.mail.backends.smtp.EmailBackend"\n'


def _mail_files(**settings: str) -> dict[str, str]:
    return {**_DJANGO_MAIL, **settings}


VALID += [
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect=""), path="shop/jobs.py",
         files=_mail_files(**{"shop/settings.py": _DB_MAIL_SETTINGS}),
         note="EMAIL_BACKEND is django-mailer's DbBackend: send_mail() queues the message "
              "as a row in the same transaction"),
    Case(_MAIL_JOB.format(imports="\nfrom shop.notify import shipped", send="shipped(order)",
                          expect=""),
         path="shop/jobs.py", files=_mail_files(**{"shop/settings.py": _DB_MAIL_SETTINGS}),
         note="EmailMessage(...).send() in a helper, through django-mailer's DbBackend"),
]

INVALID += [
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect="  # expect: PS207"),
         path="shop/jobs.py",
         files=_mail_files(**{"shop/settings/dev.py": _DB_MAIL_SETTINGS,
                              "shop/settings/__init__.py": "",
                              "shop/settings/prod.py": 'EMAIL_BACKEND = '
                              '"django.core.mail.backends.smtp.EmailBackend"\n'}),
         note="one settings module queues mail in the database, another sends by SMTP"),
    Case(_MAIL_JOB.format(imports=", get_connection",
                          send="smtp = get_connection("
                               '"django.core.mail.backends.smtp.EmailBackend")\n    '
                               + _QUEUE_SEND[:-1] + ", connection=smtp)",
                          expect="  # expect: PS207"),
         path="shop/jobs.py", files=_mail_files(**{"shop/settings.py": _DB_MAIL_SETTINGS}),
         note="the send is given its own SMTP connection, whatever EMAIL_BACKEND says"),
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect="  # expect: PS207"),
         path="shop/jobs.py",
         files=_mail_files(**{"shop/settings.py": 'import os\nEMAIL_BACKEND = os.environ.get('
                              '"EMAIL_BACKEND", "mailer.backend.DbBackend")\n'}),
         note="EMAIL_BACKEND read from the environment may name a backend that sends"),
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect="  # expect: PS207"),
         path="shop/jobs.py",
         files=_mail_files(**{"tests/settings.py": _DB_MAIL_SETTINGS}),
         note="only the tests' settings queue mail in the database"),
    Case(_MAIL_JOB.format(imports="\nimport smtplib",
                          send='smtplib.SMTP("mail.example.com").sendmail('
                               '"shop@example.com", [order.email], "shipped")',
                          expect="  # expect: PS207"),
         path="shop/jobs.py", files=_mail_files(**{"shop/settings.py": _DB_MAIL_SETTINGS}),
         note="smtplib reaches the mail server whatever Django's EMAIL_BACKEND is"),
]


# A helper whose slow work sits only on a branch of `if flag:` / `if not flag:` where
# `flag` is a parameter with a literal default: a call that leaves the parameter out
# takes the other branch (large64: a cleanup helper that polls a remote copy only when
# given credentials; a retry helper that sleeps only when not `delayed`).
_FLAG_HELPER = {"shop/__init__.py": "", "shop/models.py": """
from django.db import models


class Order(models.Model):
    state = models.CharField(max_length=20)
""", "shop/util.py": """
import shutil
import time

import requests


def remove_dir(path, remote_host=None, token=None):{rebind}
    if remote_host:
        while requests.get(remote_host + "/copy", timeout=5).json()["state"] != "done":
            time.sleep(5)
    else:
        shutil.rmtree(path)


def requeue(task, retries, delayed=True):
    if not delayed:
        time.sleep(5)
    task.apply_async(countdown=retries)
"""}
_FLAG_JOB = """
from django.db import transaction

from shop.models import Order
from shop.util import remove_dir, requeue


@transaction.atomic
def receive(order_id, task, opts):
    order = Order.objects.select_for_update().get(pk=order_id)
    order.state = "received"
    order.save()
    {call}{expect}
"""


def _flag_files(rebind: str = "") -> dict[str, str]:
    return {**_FLAG_HELPER, "shop/util.py": _FLAG_HELPER["shop/util.py"].replace(
        "{rebind}", rebind)}


VALID += [
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in/%s" % order_id)', expect=""),
         path="shop/jobs.py", files=_flag_files(),
         note="remote_host defaults to None and is left out: the polling loop under "
              "`if remote_host:` is not run, only shutil.rmtree"),
    Case(_FLAG_JOB.format(call="requeue(task, 0)", expect=""),
         path="shop/jobs.py", files=_flag_files(),
         note="delayed defaults to True and is left out: the sleep under `if not delayed:` "
              "is not run"),
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in", token="t")', expect=""),
         path="shop/jobs.py", files=_flag_files(),
         note="another keyword passed, the flag still left out"),
]

INVALID += [
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in", remote_host="http://copy")',
                          expect="  # expect: PS207"),
         path="shop/jobs.py", files=_flag_files(),
         note="the flag is passed by keyword: the polling branch may run"),
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in", "http://copy")',
                          expect="  # expect: PS207"),
         path="shop/jobs.py", files=_flag_files(),
         note="the flag is passed by position"),
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in", **opts)', expect="  # expect: PS207"),
         path="shop/jobs.py", files=_flag_files(),
         note="**kwargs may carry the flag"),
    Case(_FLAG_JOB.format(call="requeue(task, 0, delayed=False)", expect="  # expect: PS207"),
         path="shop/jobs.py", files=_flag_files(),
         note="delayed=False takes the sleeping branch"),
    Case(_FLAG_JOB.format(call='remove_dir("/tmp/in")', expect="  # expect: PS207"),
         path="shop/jobs.py",
         files=_flag_files('\n    remote_host = remote_host or "http://copy"'),
         note="the body rebinds the flag before the test: its default decides nothing"),
]

# round 29 (issue 31, prec66): a SQLite connection in autocommit. With
# `isolation_level=None` (or `conn.isolation_level = None`, Python 3.12's
# `autocommit=True`) Python's sqlite3 never sends BEGIN itself, and `with conn:` only
# commits what is open: no statement leaves a transaction open across slow work. A
# `BEGIN` sent by hand opens one until its `COMMIT`, and stays reported; so do a
# connection in sqlite3's default mode and psycopg2's `isolation_level = None` (the
# server's default level, not autocommit).
_SQLITE_AC = """\
import sqlite3
import threading
import time

import psycopg2
import requests
"""
VALID += [
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)
    conn.close()
""", note="sqlite3 in autocommit: the UPDATE commits on its own"),
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)
""", note="put in autocommit after connecting"),
    Case(_SQLITE_AC + """
class Store:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def open(self):
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        self._wal(conn)
        return conn

    def _wal(self, conn):
        with self.lock:
            while True:
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                except sqlite3.OperationalError:
                    time.sleep(1)
                    continue
                break
""", note="a journal-mode retry on a connection opened in autocommit: nothing is open "
          "across the sleep"),
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    conn.execute("COMMIT")
    requests.post(url, json={"done": True}, timeout=10)
""", note="the transaction begun by hand is committed before the request"),
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level=None)
    with conn:
        conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
        requests.post(url, json={"done": True}, timeout=10)
""", note="sqlite3's `with conn:` begins nothing: in autocommit each statement commits"),
]
INVALID += [
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)  # expect: PS207
    conn.execute("COMMIT")
""", note="BEGIN sent by hand: the transaction is open until COMMIT"),
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level=None)
    cur = conn.cursor()
    cur.execute("BEGIN IMMEDIATE")
    cur.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)  # expect: PS207
    conn.commit()
""", note="BEGIN through a cursor of the connection"),
    Case(_SQLITE_AC + """
def push_seen(path, url):
    conn = sqlite3.connect(path, isolation_level="DEFERRED")
    conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)  # expect: PS207
    conn.commit()
""", note="an isolation level that is not None: the driver begins before the UPDATE"),
    Case(_SQLITE_AC + """
def push_seen(dsn, url):
    conn = psycopg2.connect(dsn)
    conn.isolation_level = None
    cur = conn.cursor()
    cur.execute("UPDATE items SET seen = 1 WHERE seen = 0")
    requests.post(url, json={"done": True}, timeout=10)  # expect: PS207
    conn.commit()
""", note="psycopg2's `isolation_level = None` is the server's default level, not autocommit"),
]

# round 29 (issue 31, prec66): a one-shot Django management command. `handle()` (and
# a project function only it calls, once) runs in a process of its own, whose one
# connection no request shares: an all-or-nothing import that downloads or mails
# inside its `transaction.atomic()` takes no pool slot from the application. It
# stays reported when the transaction locks rows others wait on
# (`select_for_update()`), when the command polls (`while True:` ... `sleep`), and when
# the code also runs elsewhere: a helper a view calls too, one called in a loop of
# `handle()`, or a command a view runs with `call_command()`.
_CMD_FILES = {
    "shop/__init__.py": "",
    "shop/settings.py": (
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", '
        '"NAME": "shop"}}\n'),
    "shop/models.py": """\
from django.db import models


class Area(models.Model):
    name = models.CharField(max_length=80)
    shape = models.TextField()
""",
    "shop/management/__init__.py": "",
    "shop/management/commands/__init__.py": "",
}
_CMD = """\
import time

import requests
from django.core.mail import send_mail
from django.core.management.base import BaseCommand
from django.db import transaction

from shop.models import Area

URL = "https://maps.example.com/areas"
"""
_CMD_PATH = "shop/management/commands/import_areas.py"
_AREAS = """\
import requests
from django.db import transaction

from shop.models import Area


def import_areas(url):
    with transaction.atomic():
        Area.objects.all().delete()
        for item in requests.get(url, timeout=30).json():{expect}
            Area.objects.create(name=item["name"], shape=item["shape"])
"""
VALID += [
    Case(_CMD + """

class Command(BaseCommand):
    @transaction.atomic
    def handle(self, *args, **options):
        Area.objects.all().delete()
        for item in requests.get(URL, timeout=30).json():
            Area.objects.create(name=item["name"], shape=item["shape"])
""", files=_CMD_FILES, path=_CMD_PATH,
         note="a one-shot import command: its own process's connection, no row locked "
              "for others"),
    Case(_CMD + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        self.load(options["url"])

    def load(self, url):
        with transaction.atomic():
            page = url
            while page:
                data = requests.get(page, timeout=30).json()
                for item in data["results"]:
                    Area.objects.update_or_create(name=item["name"],
                                                  defaults={"shape": item["shape"]})
                page = data["next"]
            send_mail("areas", "imported", "bot@example.com", ["ops@example.com"])
""", files=_CMD_FILES, path=_CMD_PATH,
         note="a helper handle() calls once, paging through an API and mailing inside "
              "one transaction"),
    Case(_AREAS.format(expect=""), files={**_CMD_FILES, _CMD_PATH: """
from django.core.management.base import BaseCommand

from shop.areas import import_areas


class Command(BaseCommand):
    def handle(self, *args, **options):
        import_areas(options["url"])
"""}, path="shop/areas.py",
         note="a function of another module that only the command calls, once"),
]
INVALID += [
    Case(_CMD + """

class Command(BaseCommand):
    @transaction.atomic
    def handle(self, *args, **options):
        area = Area.objects.select_for_update().get(name=options["name"])
        area.shape = requests.get(URL, timeout=30).text  # expect: PS207
        area.save()
""", files=_CMD_FILES, path=_CMD_PATH,
         note="select_for_update(): the request that edits the same area waits on the lock"),
    Case(_CMD + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            with transaction.atomic():
                Area.objects.all().delete()
                for item in requests.get(URL, timeout=30).json():  # expect: PS207
                    Area.objects.create(name=item["name"], shape=item["shape"])
            time.sleep(600)
""", files=_CMD_FILES, path=_CMD_PATH,
         note="a command that polls forever: a worker, not one run"),
    Case(_AREAS.format(expect="  # expect: PS207"), files={
        **_CMD_FILES,
        _CMD_PATH: """
from django.core.management.base import BaseCommand

from shop.areas import import_areas


class Command(BaseCommand):
    def handle(self, *args, **options):
        import_areas(options["url"])
""",
        "shop/views.py": """
from django.http import JsonResponse

from shop.areas import import_areas


def refresh(request):
    import_areas(request.GET["url"])
    return JsonResponse({"ok": True})
"""}, path="shop/areas.py", note="a view calls the same import: per request"),
    Case(_CMD + """

class Command(BaseCommand):
    @transaction.atomic
    def handle(self, *args, **options):
        Area.objects.all().delete()
        for item in requests.get(URL, timeout=30).json():  # expect: PS207
            Area.objects.create(name=item["name"], shape=item["shape"])
""", files={**_CMD_FILES, "shop/views.py": """
from django.core.management import call_command
from django.http import JsonResponse


def refresh(request):
    call_command("import_areas")
    return JsonResponse({"ok": True})
"""}, path=_CMD_PATH, note="a view runs the command with call_command(): per request"),
]


# round 30 (issue 31, prec68): a helper a one-shot command calls once per item of a finite
# collection (the command line's values, a queryset's rows, a literal, `range()`) runs
# only inside the command's one run: its transactions use the command's own connection,
# one after the other, as a single call would (round 29 reported it). A loop over
# anything else (a consumer that may never end) keeps the finding, as does a `while`
# loop.
_LOOPED = _CMD + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        for {item} in {source}:
            self.load({item})

    def load(self, url):
        with transaction.atomic():
            Area.objects.filter(name=url).delete()
            shape = requests.get(url, timeout=30).text{expect}
            Area.objects.create(name=url, shape=shape)
"""
VALID += [
    Case(_LOOPED.format(item="url", source='options["urls"]', expect=""),
         files=_CMD_FILES, path=_CMD_PATH,
         note="a helper handle() calls once per URL of the command line: one run's work"),
    Case(_LOOPED.format(item="area", source='Area.objects.exclude(name="")', expect="")
         .replace("self.load(area)", "self.load(area.name)"),
         files=_CMD_FILES, path=_CMD_PATH,
         note="a helper handle() calls once per row of a queryset (EvaP's per-semester "
              "import)"),
]
INVALID += [
    Case(_LOOPED.format(item="message", source="self.consumer", expect="  # expect: PS207")
         .replace("self.load(message)", "self.load(message.value)"),
         files=_CMD_FILES, path=_CMD_PATH,
         note="look-alike: a loop over a consumer, which may never end: a worker"),
    Case(_LOOPED.format(item="url", source='options["urls"]', expect="  # expect: PS207")
         .replace("        for url in options[\"urls\"]:\n            self.load(url)",
                  "        while True:\n            self.load(options[\"url\"])\n"
                  "            time.sleep(600)"),
         files=_CMD_FILES, path=_CMD_PATH,
         note="look-alike: the helper runs in a `while True` loop that sleeps: a poller"),
]


# round 31 (issue 31, large70): `execute()` given no statement runs no query. Google's
# API client builds a request and `.execute()` sends it over HTTP; a DB-API cursor's,
# Django's and SQLAlchemy's `execute()` always take the statement (first, or as `sql=`).
# A helper that calls the API and then downloads a file begins no transaction, so the
# `@atomic` view that calls it before its first query holds none during the download.
_GOOGLE_API = """\
import requests
from django.db import connection, transaction
from googleapiclient.discovery import build

from shop.models import Area


def area_metadata(area_id):
    api = build("maps", "v1", developerKey="key")
    item = api.areas().get(id=area_id).execute(){api_args}
    return requests.get(item["shape_url"], timeout=10).text


@transaction.atomic
def import_area(request):
    shape = area_metadata(request.POST["id"]){expect}
    Area.objects.create(name=request.POST["name"], shape=shape)
"""
VALID += [
    Case(_GOOGLE_API.format(api_args="", expect=""), files=_CMD_FILES, path="shop/views.py",
         note="a Google API request's `.execute()` (HTTP, no statement) in a helper the "
              "@atomic view calls before its first query: no transaction is open yet"),
    Case(_GOOGLE_API.format(api_args="", expect="").replace(
        '    item = api.areas().get(id=area_id).execute()',
        '    item = api.areas().get(id=area_id).execute(num_retries=3)'),
         files=_CMD_FILES, path="shop/views.py",
         note="the same request sent with `execute(num_retries=3)`: a keyword that names "
              "no statement"),
]
INVALID += [
    Case(_GOOGLE_API.format(api_args="", expect="  # expect: PS207").replace(
        '    item = api.areas().get(id=area_id).execute()\n',
        '    item = api.areas().get(id=area_id).execute()\n'
        '    connection.cursor().execute("UPDATE shop_area SET shape = %s WHERE name = %s", '
        '["", area_id])\n'),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: the helper also runs a cursor's `execute()` with a statement "
              "(an UPDATE: round 32 reads what ran before the call) before the download: "
              "the transaction is open and holds the row it wrote"),
    Case(_GOOGLE_API.format(api_args="", expect="  # expect: PS207").replace(
        '    item = api.areas().get(id=area_id).execute()\n',
        '    item = api.areas().get(id=area_id).execute()\n'
        '    connection.cursor().execute(sql="DELETE FROM shop_area WHERE shape = \'\'")\n'),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: the statement given by keyword (`execute(sql=...)`)"),
]


# round 32 (issue 31, large72): a Django transaction that has only read when the slow
# call runs holds no row lock across it. Django's thread keeps its connection for the
# whole request or task with or without the transaction, so what an open transaction
# adds during the call is what ran before it; a write after the call locks its rows
# after the call returns. The queries that may run before the call: the statements
# before it (less an `if` branch that returns or raises), the project functions they
# and the call itself run, and the whole body of a loop around it (a later round runs
# after the earlier rounds' writes).
_READ_THEN_CALL = """\
import requests
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from shop.models import Area

SHAPES = "https://shapes.example.com/"


def mark(area):
    area.shape = "pending"
    area.save()


@transaction.atomic
def refresh_shape(request, pk):
    area = get_object_or_404(Area, pk=pk)
    total = Area.objects.filter(name=area.name).count()
{before}    shape = requests.get(SHAPES + area.name, timeout=10).text{expect}
    area.shape = shape
    area.save()
    return redirect("/")
"""
_GET_BRANCH = """\
import requests
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def edit_area(request, pk):
    area = get_object_or_404(Area, pk=pk)
    if request.method == "POST":
        area.name = request.POST["name"]
        area.save()
{post_end}    preview = requests.get(SHAPES + area.name, timeout=10).text{expect}
    return render(request, "area.html", {{"area": area, "preview": preview}})
"""
_LOOP_DOWNLOADS = """\
import requests
from celery import shared_task
from django.db import transaction

from shop.models import Area


@shared_task
@transaction.atomic
def import_shapes(names):
    for name in names:
        {first}
        shape = requests.get(f"https://shapes.example.com/{{name}}", timeout=10).text{expect}
        {second}
"""
VALID += [
    Case(_READ_THEN_CALL.format(before="", expect=""), files=_CMD_FILES, path="shop/views.py",
         note="an @atomic view that reads (a lookup, a count), calls an HTTP API, then "
              "saves: only reads ran before the call, so no row is locked across it"),
    Case(_GET_BRANCH.format(post_end='        return redirect("/")\n', expect=""),
         files=_CMD_FILES, path="shop/views.py",
         note="the POST branch writes and returns; the GET path that reaches the call "
              "has only read"),
    Case(_LOOP_DOWNLOADS.format(first="area = Area.objects.get(name=name)",
                                second="print(area.pk, len(shape))", expect=""),
         files=_CMD_FILES, path="shop/tasks.py",
         note="a Celery task's @atomic loop that only reads in every round: no earlier "
              "round wrote before a later round's download"),
]
INVALID += [
    Case(_READ_THEN_CALL.format(before="    mark(area)\n", expect="  # expect: PS207"),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: a project helper saves the row before the call: the row lock "
              "is held across it"),
    Case(_READ_THEN_CALL.format(before='    area.shape = "pending"\n    area.save()\n',
                                expect="  # expect: PS207"),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: the view saves before the call"),
    Case(_GET_BRANCH.format(post_end="", expect="  # expect: PS207"),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: the POST branch saves and falls through to the call"),
    Case(_LOOP_DOWNLOADS.format(first="pass",
                                second="Area.objects.create(name=name, shape=shape)",
                                expect="  # expect: PS207"),
         files=_CMD_FILES, path="shop/tasks.py",
         note="look-alike: the insert after the download comes before the next round's "
              "download, whose transaction holds the rows inserted so far"),
]

# round 32 (large72): a model method reached through an object the view got from a
# classmethod (`State.from_token(...)`, not a manager chain) that calls `self.save()`
# is a write before the call: `save()` / `delete()` count as writes on any receiver.
_STATE_FILES = {**_CMD_FILES, "shop/models.py": """\
from django.db import models
from django.utils import timezone


class LoginState(models.Model):
    token = models.CharField(max_length=80)
    used_at = models.DateTimeField(null=True)

    @classmethod
    def from_token(cls, token):
        return cls.objects.filter(token=token).first()

    def consume(self):
        self.used_at = timezone.now()
        self.save()
        return True
"""}
_STATE_VIEW = """\
import requests
from django.db import transaction
from django.http import JsonResponse

from shop.models import LoginState


@transaction.atomic
def callback(request):
    pending = LoginState.objects.filter(used_at=None).count()
    state = LoginState.from_token(request.GET["state"])
{consume}    token = requests.post("https://idp.example.com/token", timeout=10).json(){expect}
    return JsonResponse({{**token, "pending": pending}})
"""
VALID += [
    Case(_STATE_VIEW.format(consume="", expect=""), files=_STATE_FILES,
         path="shop/views.py",
         note="the view only looks the state up (a classmethod's query) before the call"),
]
INVALID += [
    Case(_STATE_VIEW.format(consume="    state.consume()\n", expect="  # expect: PS207"),
         files=_STATE_FILES, path="shop/views.py",
         note="look-alike: the model method called before the call saves (`self.save()`): "
              "the row is locked across it"),
]

# round 32 (large72): a project's own EMAIL_BACKEND whose `send_messages()` saves each
# message as a row and enqueues a task to deliver it (the task's call queues the work
# for a worker) makes Django's mail API a row insert, as django-mailer's DbBackend:
# no network call in the transaction. One that sends itself, or through a plain
# helper that reaches SMTP, stays slow work.
_QUEUE_BACKEND = """\
import smtplib

from celery import shared_task
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend

from shop.models import OutgoingMail


@shared_task
def deliver(mail_id):
    mail = OutgoingMail.objects.get(pk=mail_id)
    with get_connection("django.core.mail.backends.smtp.EmailBackend") as smtp:
        smtp.send_messages([mail.as_message()])


def {helper}(mail_id):
    {helper_body}


class QueuedBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        for message in email_messages:
            mail = OutgoingMail(subject=message.subject, body=message.body)
            mail.save()
            {hand_off}(mail.pk)
        return len(email_messages)
"""
_QUEUE_MODELS = _DJANGO_MAIL["shop/models.py"] + """

class OutgoingMail(models.Model):
    subject = models.CharField(max_length=200)
    body = models.TextField()
"""


def _queue_backend_files(hand_off: str, helper_body: str) -> dict[str, str]:
    return {**_DJANGO_MAIL, "shop/models.py": _QUEUE_MODELS,
            "shop/settings.py": 'EMAIL_BACKEND = "shop.mail.QueuedBackend"\n',
            "shop/mail.py": _QUEUE_BACKEND.format(
                helper="deliver_now", helper_body=helper_body, hand_off=hand_off)}


VALID += [
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect=""), path="shop/jobs.py",
         files=_queue_backend_files("deliver.delay", "deliver(mail_id)"),
         note="EMAIL_BACKEND is the project's backend that saves the message and enqueues "
              "a Celery task (`deliver.delay`): send_mail() is a row insert"),
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect=""), path="shop/jobs.py",
         files=_queue_backend_files("deliver", "deliver(mail_id)"),
         note="the backend calls the task function itself (a Huey-style task whose call "
              "enqueues it)"),
]
INVALID += [
    Case(_MAIL_JOB.format(imports="", send=_QUEUE_SEND, expect="  # expect: PS207"),
         path="shop/jobs.py",
         files=_queue_backend_files(
             "deliver_now",
             'smtplib.SMTP("mail.example.com").sendmail("shop@example.com", ["ops@example.com"], '
             'OutgoingMail.objects.get(pk=mail_id).body)'),
         note="look-alike: the backend saves the row, then a plain helper sends it by SMTP "
              "at once"),
]

# round 32 (large72): the call as the first statement of an `else` branch: what ran
# before it is the lookup and the `if` test, not the other branch's save.
_ELSE_FIRST = """\
import requests
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def sync_area(request, pk):
    area = get_object_or_404(Area, pk=pk)
    if request.method == "POST":
        area.name = request.POST["name"]
        area.save()
    else:
        area.shape = requests.get(SHAPES + area.name, timeout=10).text{expect}
        area.save()
    return redirect("/")
"""
VALID += [
    Case(_ELSE_FIRST.format(expect=""), files=_CMD_FILES, path="shop/views.py",
         note="the call opens the else branch: the POST branch's save never runs before it"),
]
INVALID += [
    Case(_ELSE_FIRST.format(expect="  # expect: PS207").replace(
        "    else:\n        area.shape", "    else:\n        area.save()\n        area.shape"),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: the else branch saves before its call"),
]

# round 32 (large72): Python's own methods of a field value (`area.name.lower()`) on
# a looked-up instance run no query: they do not make the transaction a writing one.
_FIELD_VALUE = """\
import requests
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def sync_shape(request, pk):
    area = get_object_or_404(Area, pk=pk)
    if area.name.lower().startswith("x"):
        return redirect("/")
{before}    area.shape = requests.get(SHAPES + area.name.strip(), timeout=10).text{expect}
    area.save()
    return redirect("/")
"""
VALID += [
    Case(_FIELD_VALUE.format(before="", expect=""), files=_CMD_FILES, path="shop/views.py",
         note="`area.name.lower()` / `.strip()` are a string's methods: only the lookup "
              "ran before the call"),
]
INVALID += [
    Case(_FIELD_VALUE.format(before="    area.refresh_shape_cache()\n",
                             expect="  # expect: PS207"),
         files=_CMD_FILES, path="shop/views.py",
         note="look-alike: a method of the instance itself that nothing resolves may save"),
]

# Helper prec72, round 32 (issue 31, large72's tune half): a model method that only
# formats (`area.surveyor.display_name()`, Django's own `get_full_name()` of a user) runs
# no write. A method nothing resolves on a looked-up instance counts as a read when
# every method of that name the project defines only reads (`self.save()`, a related
# manager's `create()` make it a write), or, when the project defines none, it is one
# of Django's own formatting methods of a user.
_FORMAT_MODELS = """\
from django.conf import settings
from django.db import models


class Surveyor(models.Model):
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)

    def display_name(self):
{method}


class Area(models.Model):
    name = models.CharField(max_length=80)
    shape = models.TextField()
    surveyor = models.ForeignKey(Surveyor, on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
"""
_FORMAT_PURE = ('        return f"{self.first_name.strip().title()} '
                '{self.last_name.upper()}".strip()')
_FORMAT_VIEW = """\
import requests
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def sync_shape(request, pk):
    area = get_object_or_404(Area, pk=pk)
    label = area.{who}()
    area.shape = requests.get(SHAPES + label, timeout=10).text{expect}
    area.save()
    return redirect("/")
"""


def _format_case(method: str, who: str, expect: str, note: str,
                 extra: str = "") -> Case:
    files = {**_CMD_FILES, "shop/models.py": _FORMAT_MODELS.format(method=method) + extra}
    return Case(_FORMAT_VIEW.format(who=who, expect=expect), files=files,
                path="shop/views.py", note=note)


VALID += [
    _format_case(_FORMAT_PURE, "surveyor.display_name", "",
                 "the related surveyor's `display_name()` only formats its fields: only "
                 "reads ran before the call"),
    _format_case(_FORMAT_PURE, "owner.get_full_name", "",
                 "Django's own `get_full_name()` of the owner (the project defines none): "
                 "it formats the name"),
]

INVALID += [
    _format_case("        self.shown = True\n        self.save()\n"
                 "        return self.first_name", "surveyor.display_name",
                 "  # expect: PS207",
                 "look-alike: the model method saves its instance before the call"),
    _format_case("        self.visits.create(kind=\"label\")\n"
                 "        return self.first_name", "surveyor.display_name",
                 "  # expect: PS207",
                 "look-alike: the model method inserts a related row"),
    _format_case(_FORMAT_PURE, "surveyor.display_name", "  # expect: PS207",
                 "look-alike: another project model defines a `display_name()` that saves",
                 extra="\n\nclass Badge(models.Model):\n    shown = models.BooleanField()\n\n"
                       "    def display_name(self):\n        self.shown = True\n"
                       "        self.save()\n        return \"badge\"\n"),
    _format_case(_FORMAT_PURE, "owner.get_full_name", "  # expect: PS207",
                 "look-alike: the project's own `get_full_name()` records the lookup",
                 extra="\n\nclass Member(models.Model):\n    name = models.CharField("
                       "max_length=80)\n\n    def get_full_name(self):\n"
                       "        Lookup.objects.create(name=self.name)\n"
                       "        return self.name\n\n\nclass Lookup(models.Model):\n"
                       "    name = models.CharField(max_length=80)\n"),
]

# Helper prec72, round 32: a project manager method the callee resolves is read as its
# body says (`named()` reads, `claim()` writes with `get_or_create()`). (One that
# nothing resolves counts as a possible write; a minimal case of that, a manager built
# with `Manager.from_queryset(...)` or `as_manager()`, is quiet for another reason:
# left.)
_MANAGER_MODELS = """\
from django.db import models


class AreaQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(hidden=False)


class AreaManager({base}):
    def claim(self, name):
        area, _ = self.get_or_create(name=name)
        return area

    def named(self, name):
        return self.filter(name=name).first()


class Area(models.Model):
    name = models.CharField(max_length=80)
    shape = models.TextField()
    hidden = models.BooleanField(default=False)

    objects = AreaManager()
"""
_MANAGER_VIEW = """\
import requests
from django.db import transaction
from django.shortcuts import redirect

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def sync_shape(request, name):
    area = Area.objects.{method}(name)
    area.shape = requests.get(SHAPES + name, timeout=10).text{expect}
    area.save()
    return redirect("/")
"""


def _manager_case(base: str, method: str, expect: str, note: str) -> Case:
    files = {**_CMD_FILES, "shop/models.py": _MANAGER_MODELS.format(base=base)}
    return Case(_MANAGER_VIEW.format(method=method, expect=expect), files=files,
                path="shop/views.py", note=note)


VALID += [
    _manager_case("models.Manager", "named", "",
                  "the project manager's `named()` resolves and only reads"),
]

INVALID += [
    _manager_case("models.Manager", "claim", "  # expect: PS207",
                  "the resolved manager method writes (`get_or_create()`) before the call"),
]

# Helper prec72, round 32 (les-emplois' GPS view): a method called through a model's
# manager that nothing resolves (here a library's manager) may write; one whose result
# a queryset method is then called on (`visible_to(name).get(...)`) builds a queryset:
# a filter, read.
_LIB_MANAGER_MODELS = """\
from django.db import models
from areas_toolkit.managers import AreaManager


class Area(models.Model):
    name = models.CharField(max_length=80)
    shape = models.TextField()

    objects = AreaManager()
"""
_LIB_MANAGER_VIEW = """\
import requests
from django.db import transaction
from django.shortcuts import redirect

from shop.models import Area

SHAPES = "https://shapes.example.com/"


@transaction.atomic
def sync_shape(request, name):
    total = Area.objects.count()
    area = Area.objects.{method}
    area.shape = requests.get(SHAPES + name, timeout=10).text{expect}
    area.save()
    return redirect("/?total=%d" % total)
"""
VALID += [
    Case(_LIB_MANAGER_VIEW.format(method="visible_to(request.user).get(name=name)",
                                  expect=""),
         files={**_CMD_FILES, "shop/models.py": _LIB_MANAGER_MODELS}, path="shop/views.py",
         note="an unresolved manager method whose result is filtered further "
              "(`.get(...)`): a queryset of the project's, read"),
]
INVALID += [
    Case(_LIB_MANAGER_VIEW.format(method="claim(name)", expect="  # expect: PS207"),
         files={**_CMD_FILES, "shop/models.py": _LIB_MANAGER_MODELS}, path="shop/views.py",
         note="an unresolved manager method whose result is used as it is (`claim()`): it "
              "may write before the call"),
]

# round 32 (prec72b), the lead's decision: a SQLAlchemy or driver transaction that has
# only read when the slow call starts, in code that runs once in a process of its own
# (a script's `__main__` path, a click/typer/argparse command), is not reported: its
# connection is the process's own, no request waits for the pool slot, and a read takes
# no row lock. A write after the call locks after the call returns; one committed before
# a read began this transaction is over. A write before the call, code that runs many
# times (a route, a `while True` worker) and a helper that may write stay reported.
_ONCE = """\
import sys
{imports}
import requests
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
LOOKUP = "https://registry.example.org/issn/"


def tag_journal(session, issn):
    return None


def ingest(issns):
    session = SessionLocal()
    try:
        for issn in issns:
            known = session.execute(
                text("SELECT id FROM journals WHERE issn = :i"), {{"i": issn}}).first()
{before}            info = requests.get(LOOKUP + issn, timeout=10).json(){expect}
            if known is None:
                session.execute(text("INSERT INTO journals (issn, title) VALUES (:i, :t)"),
                                {{"i": issn, "t": info["title"]}})
{end}
    finally:
        session.close()

{entry}
"""
_MAIN = 'if __name__ == "__main__":\n    ingest(sys.argv[1:])'
_COMMIT = "            session.commit()"
VALID += [
    Case(_ONCE.format(imports="", before="", expect="", end=_COMMIT, entry=_MAIN),
         note="a script's `__main__` run: each ISSN's transaction has only read at the "
              "lookup; the insert comes after it and is committed before the next read"),
    Case(_ONCE.format(imports="import click\n", before="", expect="", end=_COMMIT,
                      entry="@click.command()\n@click.argument(\"issns\", nargs=-1)\n"
                            "def main(issns):\n    ingest(issns)"),
         note="the same helper under a click command"),
    Case(_ONCE.format(imports="", before="            tag_journal(session, issn)\n",
                      expect="", end=_COMMIT, entry=_MAIN),
         note="a project helper handed the session that runs no statement is no write"),
]
INVALID += [
    Case(_ONCE.format(imports="", before="", expect="  # expect: PS207", end="",
                      entry=_MAIN),
         note="look-alike: no commit per ISSN, so the next round's lookup runs after the "
              "earlier rounds' inserts: their rows stay locked"),
    Case(_ONCE.format(
        imports="", expect="  # expect: PS207", end=_COMMIT, entry=_MAIN,
        before="            session.execute(text(\"UPDATE journals SET seen = true\"))\n"),
         note="look-alike: a write before the call in the same transaction"),
    Case(_ONCE.format(imports="from flask import Flask\n", before="",
                      expect="  # expect: PS207", end=_COMMIT,
                      entry="app = Flask(__name__)\n\n\n@app.post(\"/ingest\")\n"
                            "def ingest_route():\n    ingest([\"1234-5678\"])\n"
                            "    return \"\""),
         note="look-alike: a request handler runs it: its pool slot is the app's"),
    Case(_ONCE.format(imports="import time\n", before="", expect="  # expect: PS207",
                      end=_COMMIT,
                      entry=_MAIN.replace("    ingest(sys.argv[1:])",
                                          "    while True:\n        ingest(sys.argv[1:])\n"
                                          "        time.sleep(60)")),
         note="look-alike: a worker loop runs it again and again in a long-lived process"),
]
_ONCE_HELPER = """\
import sys

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)


def note_seen(session, issn):
    session.execute(text("UPDATE journals SET seen = true WHERE issn = :i"), {{"i": issn}})


def journal(session, issn):
    return session.execute(text("SELECT id FROM journals WHERE issn = :i"),
                           {{"i": issn}}).first()


def ingest(issn):
    session = SessionLocal()
    row = journal(session, issn)
{before}    requests.get("https://registry.example.org/" + issn, timeout=10){expect}
    session.commit()
    session.close()
    return row


if __name__ == "__main__":
    ingest(sys.argv[1])
"""
VALID.append(Case(_ONCE_HELPER.format(before="", expect=""),
                  note="the read runs in a project helper that only reads"))
INVALID += [
    Case(_ONCE_HELPER.format(before="    note_seen(session, issn)\n",
                             expect="  # expect: PS207"),
         note="look-alike: a project helper that updates before the call"),
    Case(_ONCE_HELPER.format(before="    row.title = issn\n", expect="  # expect: PS207"),
         note="look-alike: an attribute set on a loaded row: autoflush or the commit "
              "writes it, and a row set before the call may be flushed by a query"),
]
_ONCE_SHARED = """\
import sys

import requests
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

app = Flask(__name__)
db = SQLAlchemy(app)
{helper}

def main(issn):
{body}    db.session.commit()


if __name__ == "__main__":
    with app.app_context():
        main(sys.argv[1])
"""
_LOOKUP = """
def lookup(issn):
    row = db.session.execute(text("SELECT id FROM journals WHERE issn = :i"),
                             {{"i": issn}}).first()
    requests.get("https://registry.example.org/" + issn, timeout=10)  # expect: PS207
    return row
"""
VALID.append(Case(_ONCE_SHARED.format(
    helper="",
    body="    db.session.execute(text(\"SELECT id FROM journals WHERE issn = :i\"),\n"
         "                       {\"i\": issn}).first()\n"
         "    requests.get(\"https://registry.example.org/\" + issn, timeout=10)\n"),
    note="the script's own entry function reads `db.session` and calls: nothing ran on "
         "the shared session before it"))
INVALID.append(Case(_ONCE_SHARED.format(
    helper=_LOOKUP,
    body="    db.session.execute(text(\"UPDATE journals SET seen = true\"))\n"
         "    lookup(issn)  # expect: PS207\n"),
    note="look-alike: a helper's read on the shared `db.session` joins the caller's "
         "transaction, which updated rows before calling it"))

# Helper prec76, round 34: a cron script run once per invocation (`__main__` ->
# `send_reminders()`) that mails each row of a query result, its session having only
# read: quiet already (round 32's one-run policy reaches the loop in the entry function
# itself; a pin, passes at main aa05005d). Its look-alike writes each row before the
# mail: the row lock is held across the SMTP call.
_CRON_REMINDERS = """\
import smtplib

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://app@db/cal", pool_pre_ping=True)


def send_reminders():
    with Session(engine) as session:
        rows = session.execute(text("SELECT id, email FROM meeting WHERE remind")).all()
        for row in rows:
{write}            smtp = smtplib.SMTP("mail.example.com", timeout=30)
            smtp.sendmail("cal@example.com", [row.email], "reminder"){mark}
            smtp.quit()


if __name__ == "__main__":
    send_reminders()
"""
VALID.append(Case(_CRON_REMINDERS.format(write="", mark=""), path="cron_reminders.py",
                  note="a one-shot cron script mails each row of a query result after "
                       "reads only (pin: quiet at main)"))
INVALID.append(Case(_CRON_REMINDERS.format(
    write="            session.execute(text(\"UPDATE meeting SET reminded = true \"\n"
          "                                 \"WHERE id = :i\"), {\"i\": row.id})\n",
    mark="  # expect: PS207"), path="cron_reminders.py",
    note="look-alike: each row is updated before its mail, and the row lock is held "
         "across the SMTP call"))

# round 34 (issue 31, large76d): a project whose every engine is SQLite's (pysqlite,
# aiosqlite: the `sqlite3` module's default mode). A SELECT through a SQLAlchemy session
# begins no transaction there, so a route that has only read before an HTTP call holds
# no lock; a write before the call (a flush), a server URL, a session handed in by a
# project caller (its writes may be open), or a row changed before the read (autoflush)
# stays reported. Also a chain on a name bound to a SELECT (`q.options(...)`) is a read.
_SQLITE_APP = """\
import httpx
from fastapi import Depends, FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import joinedload, sessionmaker

from models import Actor, Follower

DB_PATH = "data/app.db"
engine = create_async_engine(f"{url}{{DB_PATH}}")
async_session = sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
app = FastAPI()


async def get_db_session():
    async with async_session() as session:
        yield session


@app.get("/actors/{{actor_id}}")
async def actor_page(actor_id: int, db_session: AsyncSession = Depends(get_db_session)):
    count = await db_session.scalar(select(func.count(Follower.id)))
    q = select(Actor).where(Actor.id == actor_id)
    actor = (await db_session.scalars(q.options(joinedload(Actor.icon)))).one()
{before}    async with httpx.AsyncClient() as client:
        await client.get(actor.ap_id, timeout=10){expect}
    return {{"followers": count}}
"""
VALID.append(Case(_SQLITE_APP.format(url="sqlite+aiosqlite:///", before="", expect=""),
                  note="SQLite only: the route has only read, no transaction is open"))
INVALID += [
    Case(_SQLITE_APP.format(url="sqlite+aiosqlite:///",
                            before="    db_session.add(Follower(actor_id=actor_id))\n"
                                   "    await db_session.flush()\n",
                            expect="  # expect: PS207"),
         note="look-alike: a flush before the call holds SQLite's write lock"),
    Case(_SQLITE_APP.format(url="postgresql+asyncpg://app@db/app/", before="",
                            expect="  # expect: PS207"),
         note="look-alike: a PostgreSQL engine: the SELECT began the transaction"),
    Case(_SQLITE_APP.format(url="sqlite+aiosqlite:///",
                            before="    actor.seen = True\n"
                                   "    await db_session.scalar(select(func.count(Actor.id)))\n",
                            expect="  # expect: PS207"),
         note="look-alike: a row changed before a read: autoflush writes it"),
]
_SQLITE_HELPER = """\
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from models import Actor, Note

engine = create_async_engine("sqlite+aiosqlite:///data/app.db")


async def refresh_actor(db_session: AsyncSession, actor_id: int) -> None:
    actor = (await db_session.scalars(select(Actor).where(Actor.id == actor_id))).one()
    async with httpx.AsyncClient() as client:
        await client.get(actor.ap_id, timeout=10)  # expect: PS207


async def save_note(db_session: AsyncSession, note: Note) -> None:
    db_session.add(note)
    await db_session.flush()
    await refresh_actor(db_session, note.actor_id)  # expect: PS207
    await db_session.commit()
"""
INVALID.append(Case(_SQLITE_HELPER,
                    note="look-alike: SQLite, but the session is a project caller's, which "
                         "flushed a write before handing it over"))

# A transaction that holds a lock it took on purpose (issue 31, round 34, prec76b: the
# class comes from large76's held census): the lock serialises exactly the slow work,
# or claims a job queue's row; committing before the call would drop the lock. Still
# reported (the waiters each hold a connection: round 30's policy, 52d006f, and the
# FOR UPDATE cases above), with the lock's message when, on every path to the call, the
# same transaction has already taken the lock (tests/rules/test_messages.py); the
# look-alikes after them keep the general message.
_LOCKED_SA = _SA + "from sqlalchemy import select\n\n\nclass Job:\n    id = 0\n    state = ''\n"
INVALID += [
    Case(_LOCKED_SA + """

def run(job_id):
    session = SessionLocal()
    job = session.query(Job).with_for_update().filter(Job.id == job_id).one()
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    job.state = "sent"
    session.commit()
    session.close()
""", note="ORM `with_for_update()` taken before the call: the lock serialises the work"),
    Case(_LOCKED_SA + """

def deliver():
    session = SessionLocal()
    stmt = select(Job).where(Job.state == "new").with_for_update(skip_locked=True).limit(1)
    job = session.execute(stmt).scalars().first()
    if job is None:
        session.close()
        return
    requests.post("https://hooks.example/deliver", json={"id": job.id}, timeout=5)  # expect: PS207
    job.state = "delivered"
    session.commit()
    session.close()
""", note="Core `select(...).with_for_update(skip_locked=True)`: a job queue's claim"),
    Case("""
import psycopg2
import requests


def claim(dsn):
    conn = psycopg2.connect(dsn)
    cur = conn.cursor()
    cur.execute("SELECT id FROM jobs WHERE state = 'new' LIMIT 1 FOR UPDATE SKIP LOCKED")
    row = cur.fetchone()
    requests.post("https://worker.example/run", json={"id": row[0]}, timeout=30)  # expect: PS207
    cur.execute("UPDATE jobs SET state = 'done' WHERE id = %s", (row[0],))
    conn.commit()
    conn.close()
""", note="raw `SELECT ... FOR UPDATE SKIP LOCKED` on a psycopg2 cursor"),
    Case("""
import asyncpg
import httpx


async def settle(dsn: str, account: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.fetchrow(
                "SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE NOWAIT", account)
            async with httpx.AsyncClient() as client:
                await client.post("https://bank.example/s", json={"id": account})  # expect: PS207
            await conn.execute("UPDATE accounts SET settled = true WHERE id = $1", account)
    finally:
        await conn.close()
""", note="asyncpg: `FOR NO KEY UPDATE NOWAIT` inside the explicit transaction"),
    Case(_SA + """

def sync(tenant):
    session = SessionLocal()
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": tenant})
    requests.post("https://sync.example/run", json={"tenant": tenant}, timeout=60)  # expect: PS207
    session.execute(text("UPDATE tenants SET synced = now() WHERE id = :k"), {"k": tenant})
    session.commit()
    session.close()
""", note="`pg_advisory_xact_lock()` serialises the sync per tenant until the commit"),
    Case("""
import requests
from shop import db
from shop.models import Order

def move(order_id, target):
    order = Order.query.with_for_update().filter_by(id=order_id).one()
    requests.put("https://api.example/move", json={"id": order_id, "to": target})  # expect: PS207
    order.status = "moved"
    db.session.commit()
""", files=_FLASK, note="Flask-SQLAlchemy `Model.query.with_for_update()`: no moves meanwhile"),
    Case(_LOCKED_SA + """

def run(job_id, wait):
    session = SessionLocal()
    if wait:
        job = session.query(Job).with_for_update().filter(Job.id == job_id).one()
    else:
        job = session.query(Job).with_for_update(nowait=True).filter(Job.id == job_id).one()
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.commit()
    session.close()
""", note="each branch takes the lock before the call"),
]
INVALID += [
    Case(_LOCKED_SA + """

def run(job_id):
    session = SessionLocal()
    job = session.query(Job).filter(Job.id == job_id).one()
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.query(Job).with_for_update().filter(Job.id == job_id).one()
    session.commit()
    session.close()
""", note="look-alike: the lock is taken after the call"),
    Case(_LOCKED_SA + """

def run(job_id):
    session = SessionLocal()
    job = session.query(Job).filter(Job.id == job_id).one()
    job.state = "sent"
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.commit()
    session.close()
""", note="look-alike: no lock, only a read and a pending change"),
    Case(_LOCKED_SA + """

def run(job_id):
    session = SessionLocal()
    other = SessionLocal()
    other.query(Job).with_for_update().filter(Job.id == job_id).one()
    job = session.query(Job).filter(Job.id == job_id).one()
    job.state = "sent"
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.commit()
    other.commit()
    session.close()
    other.close()
""", note="look-alike: the lock is another session's; this one's transaction holds none"),
    Case(_LOCKED_SA + """

def run(job_id):
    session = SessionLocal()
    job = session.query(Job).with_for_update().filter(Job.id == job_id).one()
    job.state = "claimed"
    session.commit()
    job = session.query(Job).filter(Job.id == job_id).one()
    job.state = "sent"
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.commit()
    session.close()
""", note="look-alike: the locking transaction was committed; the new one holds no lock"),
    Case(_LOCKED_SA + """

def run(job_id, wait):
    session = SessionLocal()
    if wait:
        job = session.query(Job).with_for_update().filter(Job.id == job_id).one()
    else:
        job = session.query(Job).filter(Job.id == job_id).one()
        job.state = "sent"
    requests.post("https://worker.example/run", json={"id": job.id}, timeout=30)  # expect: PS207
    session.commit()
    session.close()
""", note="look-alike: one path to the call takes no lock"),
    Case(_SA + """

def sync(tenant):
    session = SessionLocal()
    session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": tenant})
    session.execute(text("UPDATE tenants SET seen = now() WHERE id = :k"), {"k": tenant})
    requests.post("https://sync.example/run", json={"tenant": tenant}, timeout=60)  # expect: PS207
    session.commit()
    session.close()
""", note="look-alike: `pg_try_advisory_xact_lock()` may not take the lock"),
]

# Helper prec76c, round 34 (issue 31, a class from large76's HELD census, so not held): a
# fresh `with app.app_context():` gets a new Flask-SQLAlchemy session (3.x scopes it to the
# app context; 2.x to the thread, and the teardown of the previous context removed it: its
# transaction was rolled back and its connection returned to the pool). A slow call in it
# before any database work in that context holds no connection, whatever earlier contexts
# of the same function did. Still reported: a query before the call in the same context, on
# one path or all, and a context nested in one whose session already did database work.
_FRESH_CONTEXT = """\
import requests
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Setting(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    value = db.Column(db.String)


def create_app(refresh=False):
    app = Flask(__name__)
    db.init_app(app)
    with app.app_context():
        settings = Setting.query.all()
        app.config["SETTINGS"] = {{s.id: s.value for s in settings}}
{second}
    return app
"""
_CONFIG_MAP = ("requests.put(\"https://k8s.example/api/v1/configmaps/hosts\", "
               "json={{}}, timeout=10)")
VALID.append(Case(_FRESH_CONTEXT.format(second=(
    "    with app.app_context():\n"
    "        " + _CONFIG_MAP + "\n")),
    path="app/__init__.py",
    note="a fresh app context whose only work is an HTTP call: the previous context's "
         "session was removed at its teardown, this one has run nothing"))
INVALID += [
    Case(_FRESH_CONTEXT.format(second=(
        "    with app.app_context():\n"
        "        Setting.query.first()\n"
        "        " + _CONFIG_MAP + "  # expect: PS207\n")),
         path="app/__init__.py",
         note="look-alike: a query ran in the same context before the call"),
    Case(_FRESH_CONTEXT.format(second=(
        "    with app.app_context():\n"
        "        if refresh:\n"
        "            Setting.query.first()\n"
        "        " + _CONFIG_MAP + "  # expect: PS207\n")),
         path="app/__init__.py",
         note="look-alike: on one path a query ran in the same context before the call"),
    Case(_FRESH_CONTEXT.format(second=(
        "        with app.app_context():\n"
        "            " + _CONFIG_MAP + "  # expect: PS207\n")),
         path="app/__init__.py",
         note="look-alike: the context is nested in one whose session already read: that "
              "transaction stays open across the call"),
]

# A retry sleep in the `except PoolError:` of a checkout loop: a pool's own error is
# raised only by its calls (`getconn()` of an exhausted pool), and there the previous
# round's connection has already been handed back (`putconn(conn, close=True)`, which
# rolls back or closes it); a `return` leaves the loop with the good one.
_CHECKOUT_LOOP = '''
import time

import psycopg2
from psycopg2 import pool

POOL = pool.ThreadedConnectionPool(1, 4, "postgresql://db/app")


def checked_conn():
    while True:
        try:
            conn = POOL.getconn()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                return conn
            except psycopg2.OperationalError:
{give_back}
        except {caught}:
            time.sleep(1){mark}
'''
_CHECKED_POOL = '''
import time

import psycopg2
from psycopg2 import pool


class CheckedPool(pool.ThreadedConnectionPool):
    def getconn(self, *args, **kwargs):
        while True:
            try:
                conn = super().getconn(*args, **kwargs)
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT 1")
                    return conn
                except (psycopg2.InterfaceError, psycopg2.OperationalError):
                    try:
                        super().putconn(conn, close=True)
                    except Exception:
                        pass
            except pool.PoolError:
                time.sleep(1)
'''
VALID += [
    Case(_CHECKOUT_LOOP.format(give_back="                POOL.putconn(conn, close=True)",
                               caught="pool.PoolError", mark=""),
         path="app/db.py",
         note="the sleep follows only a failed checkout: the connection a failed check "
              "left was handed back (closed) before the loop came round"),
    Case(_CHECKED_POOL, path="app/db.py",
         note="a pool subclass: `super().putconn(conn, close=True)` in a `try` of its "
              "own (a give-back that raised found the pool closed or the connection "
              "broken)"),
]
INVALID += [
    Case(_CHECKOUT_LOOP.format(give_back="                POOL.putconn(conn, close=True)",
                               caught="(pool.PoolError, psycopg2.Error)",
                               mark="  # expect: PS207"),
         path="app/db.py",
         note="look-alike: the handler also takes the driver's errors: a failed SELECT "
              "other than OperationalError arrives with its transaction open"),
    Case(_CHECKOUT_LOOP.format(give_back="                pass", caught="pool.PoolError",
                               mark="  # expect: PS207"),
         path="app/db.py",
         note="look-alike: the failed check keeps its connection: the next checkout "
              "fails with it still held in its transaction"),
]

# Work handed to a pool's thread and waited for inside the transaction
# (`concurrent.futures`): `executor.submit(fetch, url).result()`, or through a name
# bound to the submission, holds the transaction until the thread's work returns, as
# calling `fetch(url)` there would. A callable that only computes is no slow work, and
# a submission never waited for here holds nothing.
_SUBMITTED = '''
import json
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine("postgresql://db/app")
executor = ThreadPoolExecutor(max_workers=4)


def fetch_summary(url):
    return requests.get(url, timeout=30).json()


def render(doc):
    return json.dumps(doc, sort_keys=True)


def summarise(doc_id, url):
    with Session(engine) as session:
        session.execute(text("UPDATE docs SET state = 'busy' WHERE id = :id"), {{"id": doc_id}})
{wait}
        session.execute(text("UPDATE docs SET summary = :s WHERE id = :id"),
                        {{"s": str(summary), "id": doc_id}})
        session.commit()
'''
VALID += [
    Case(_SUBMITTED.format(
        wait="        summary = executor.submit(render, {\"id\": doc_id}).result()"),
         path="app/summaries.py",
         note="the thread's work only computes (`json.dumps`): no slow wait"),
    Case(_SUBMITTED.format(wait="        executor.submit(fetch_summary, url)\n"
                                "        summary = None"),
         path="app/summaries.py",
         note="submitted and not waited for here: the transaction does not wait on it"),
]
INVALID += [
    Case(_SUBMITTED.format(wait="        future = executor.submit(fetch_summary, url)\n"
                                "        summary = future.result()  # expect: PS207"),
         path="app/summaries.py",
         note="the wait for an HTTP request handed to a thread, through the future's name"),
    Case(_SUBMITTED.format(
        wait="        summary = executor.submit(fetch_summary, url).result()  # expect: PS207"),
         path="app/summaries.py",
         note="the same wait, chained on the submission"),
]

# A module's client bound only where a feature is on (`client = genai.Client(...) if
# KEY else None`): where a method is called on it, it is the client (on None the call
# raises), so a project helper that calls the model makes an LLM call.
_OPTIONAL_CLIENT = '''
import os

from google import genai
{imports}
client = {client} if os.environ.get("GEMINI_API_KEY") else None


def ask(prompt):
    return client.models.generate_content(model="gemini-2.0-flash", contents=prompt).text
'''
_OPTIONAL_CLIENT_JOB = '''
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from app.llm import ask

engine = create_engine("postgresql://db/app")


def label(doc_id, body):
    with Session(engine) as session:
        session.execute(text("UPDATE docs SET state = 'busy' WHERE id = :id"), {{"id": doc_id}})
        answer = ask(body){mark}
        session.execute(text("UPDATE docs SET label = :l WHERE id = :id"),
                        {{"l": answer, "id": doc_id}})
        session.commit()
'''
_STUB_MODELS = '''

class StubModels:
    def generate_content(self, model, contents):
        return type("Answer", (), {"text": contents[:20]})()


class StubClient:
    models = StubModels()
'''
INVALID += [
    Case(_OPTIONAL_CLIENT_JOB.format(mark="  # expect: PS207"), path="app/jobs.py",
         files={"app/llm.py": _OPTIONAL_CLIENT.format(
             imports="", client='genai.Client(api_key=os.environ["GEMINI_API_KEY"])')},
         note="the client exists only when the key is set; the helper's call is an LLM "
              "call wherever it runs"),
]
VALID += [
    Case(_OPTIONAL_CLIENT_JOB.format(mark=""), path="app/jobs.py",
         files={"app/llm.py": _OPTIONAL_CLIENT.format(
             imports="\nfrom app.stub import StubClient\n", client="StubClient()"),
                "app/stub.py": _STUB_MODELS},
         note="look-alike: the optional object is a project stub that answers locally"),
]

# An all-SQLite project: a read begins no transaction there (pysqlite), so a function
# handed a session by its callers holds none across its HTTP call when every project
# caller has only read on that session before the call. A caller that wrote first
# holds SQLite's write lock across it.
_SQLITE_ENGINE = '''
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("{url}")
SessionLocal = sessionmaker(engine)
'''
_ACTOR_MODEL = '''
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Actor(Base):
    __tablename__ = "actors"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str]
    seen: Mapped[int] = mapped_column(default=0)
'''
_HANDED_READS = '''
import requests
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import SessionLocal
from app.models import Actor


def actor_metadata(db_session: Session, url):
    actor = db_session.execute(select(Actor).where(Actor.url == url)).scalar()
    profile = requests.get(url, timeout=10).json(){mark}
    return actor, profile


def show_actor(url):
    with SessionLocal() as db_session:
        known = db_session.execute(select(Actor)).scalars().all()
        return actor_metadata(db_session, url), len(known){mark2}


def refresh_actor(url):
    with SessionLocal() as db_session:
        {before}
        return actor_metadata(db_session, url){mark3}
'''
_READ_FIRST = "db_session.execute(select(Actor).where(Actor.url == url))"
_WRITE_FIRST = "db_session.execute(update(Actor).where(Actor.url == url).values(seen=1))"


def _handed_reads(url: str, before: str, marks: tuple[str, str, str], note: str) -> Case:
    return Case(_HANDED_READS.format(before=before, mark=marks[0], mark2=marks[1],
                                     mark3=marks[2]),
                path="app/meta.py", note=note,
                files={"app/db.py": _SQLITE_ENGINE.format(url=url),
                       "app/models.py": _ACTOR_MODEL})


VALID += [
    _handed_reads("sqlite:///data.db", _READ_FIRST, ("", "", ""),
                  "every caller only read on the session it hands in: no transaction "
                  "open on SQLite"),
]
INVALID += [
    _handed_reads("sqlite:///data.db", _WRITE_FIRST,
                  ("  # expect: PS207", "", "  # expect: PS207"),
                  "look-alike: one caller writes first, and holds SQLite's write lock "
                  "across the call"),
    _handed_reads("postgresql://db/app", _READ_FIRST, ("  # expect: PS207",) * 3,
                  "look-alike: on PostgreSQL a read begins a transaction, the helper's "
                  "and its callers'"),
    Case(_HANDED_READS.format(before=_READ_FIRST, mark="  # expect: PS207", mark2="",
                              mark3="").replace(
        "    actor = db_session.execute(",
        "    db_session.add(Actor(url=url))\n    actor = db_session.execute("),
         path="app/meta.py",
         files={"app/db.py": _SQLITE_ENGINE.format(url="sqlite:///data.db"),
                "app/models.py": _ACTOR_MODEL},
         note="look-alike: the helper queues a row first; its own read's autoflush "
              "writes it, and SQLite's write lock is held across the call"),
    Case(_HANDED_READS.format(before=_READ_FIRST, mark="", mark2="", mark3="").replace(
        "    profile = requests.get(url, timeout=10).json()\n",
        "    db_session.add(Actor(url=url))\n    known = count_actors(db_session)\n"
        "    profile = requests.get(url, timeout=10).json()  # expect: PS207\n").replace(
        "\n\ndef show_actor(url):",
        "\n\ndef count_actors(db_session: Session):\n"
        "    return len(db_session.execute(select(Actor)).scalars().all())\n"
        "\n\ndef show_actor(url):"),
         path="app/meta.py",
         files={"app/db.py": _SQLITE_ENGINE.format(url="sqlite:///data.db"),
                "app/models.py": _ACTOR_MODEL},
         note="look-alike: the helper queues a row, then hands the session to a project "
              "function whose read autoflushes it: the write lock is held across the call"),
]

# large78c (round 35, built from a held finding after its figures were committed, not
# held): an admin script whose `__main__` block hands its namespace to a dispatcher
# (`_main(locals())`) runs the command named on the command line once per process
_NAMESPACE_SCRIPT = """
import sys

import requests
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String)


def fetch_avatars():
    users = User.query.all()
    for u in users:
        r = requests.get("https://avatars.example/" + u.email, timeout=10){expect}
        print(r.status_code)
{extra}

def _main(namespace):
    namespace[sys.argv[1]]()


if __name__ == "__main__":
    {main}
"""

VALID += [
    Case(_NAMESPACE_SCRIPT.format(expect="", extra="", main="_main(locals())"),
         path="cli.py",
         note="a command of a script that dispatches by name from `locals()`: it runs "
              "once per process, and its transaction has only read"),
    Case(_NAMESPACE_SCRIPT.format(expect="", extra="", main="_main(globals())"),
         path="cli.py", note="the same dispatch from `globals()`"),
]

INVALID += [
    Case(_NAMESPACE_SCRIPT.format(
        expect="  # expect: PS207", extra="",
        main="while True:\n        fetch_avatars()\n        _main(locals())"),
         path="cli.py",
         note="look-alike: the `__main__` block also calls the command in a loop"),
    Case(_NAMESPACE_SCRIPT.format(
        expect="  # expect: PS207",
        extra="\n\nHANDLERS = {\"avatars\": fetch_avatars}\n",
        main="_main(locals())"),
         path="cli.py",
         note="look-alike: the module names the command elsewhere (a registry), which "
              "other code may run more than once"),
]

# The wait for a set of such submissions: `concurrent.futures.wait(futures)` or a loop
# over `as_completed(futures)` holds the transaction until the threads' work is done
# (or the first of it, for `as_completed`), as the one-future `.result()` above does.
# The futures are a comprehension of `executor.submit(...)` (a dict's keys), a list
# of them, or a list filled with `futures.append(executor.submit(...))`.
_SUBMITTED_MANY = _SUBMITTED.replace(
    "from concurrent.futures import ThreadPoolExecutor",
    "from concurrent.futures import ThreadPoolExecutor, as_completed, wait")
INVALID += [
    Case(_SUBMITTED_MANY.format(wait=(
        "        futures = [executor.submit(fetch_summary, u) for u in (url, url + \"/alt\")]\n"
        "        done, _ = wait(futures)  # expect: PS207\n"
        "        summary = [f.result() for f in done]")),
         path="app/summaries.py",
         note="`concurrent.futures.wait()` on HTTP requests handed to threads"),
    Case(_SUBMITTED_MANY.format(wait=(
        "        futures = []\n"
        "        for u in (url, url + \"/alt\"):\n"
        "            futures.append(executor.submit(fetch_summary, u))\n"
        "        summary = [f.result() for f in as_completed(futures)]  # expect: PS207")),
         path="app/summaries.py",
         note="`as_completed()` over a list filled by `append(executor.submit(...))`"),
    Case(_SUBMITTED_MANY.format(wait=(
        "        pending = {executor.submit(fetch_summary, u): u for u in (url, url + \"/b\")}\n"
        "        summary = {pending[f]: f.result() for f in as_completed(pending)}"
        "  # expect: PS207")),
         path="app/summaries.py",
         note="`as_completed()` over a dict whose keys are the submissions"),
]
VALID += [
    Case(_SUBMITTED_MANY.format(wait=(
        "        futures = [executor.submit(render, {\"id\": doc_id, \"n\": n})\n"
        "                   for n in range(2)]\n"
        "        done, _ = wait(futures)\n"
        "        summary = [f.result() for f in done]")),
         path="app/summaries.py",
         note="the threads' work only computes (`json.dumps`): the wait is no slow work"),
    Case(_SUBMITTED_MANY.format(wait=(
        "        futures = [executor.submit(fetch_summary, u) for u in (url, url + \"/alt\")]\n"
        "        summary = None")),
         path="app/summaries.py",
         note="submitted and never waited for inside the transaction"),
]

# slow79 (round 36, issues 31/33): network SDKs whose calls are remote requests, PS207
# did not know. Payment SDKs (Razorpay, Braintree, PayPal's REST SDK, Mollie, Square),
# a mail API (SendGrid) and Slack's Web API client: each call below is an HTTPS round
# trip to the provider, made here while a Django transaction holds its row lock

_SDK_ATOMIC = """
from django.db import transaction

from shop.models import Order
{imports}
{setup}

def checkout(order_id):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
{inside}
        order.state = "paid"
        order.save()
{after}
"""

_SDK_FAMILIES: list[tuple[str, str, str, str, str, str]] = [
    # (imports, setup, slow call inside (`{mark}`), local work inside, the call after, note)
    ("import razorpay",
     'client = razorpay.Client(auth=("rzp_key", "rzp_secret"))\n',
     "        rp = client.order.create({{\"amount\": order.total, \"currency\": \"INR\"}}){mark}",
     "        client.set_app_details({\"title\": \"shop\", \"version\": \"1\"})",
     "    client.payment.capture(order.payment_id, order.total)",
     "Razorpay: `razorpay.Client(auth=...)` resources (`client.order.create`, "
     "`client.payment.capture`) call api.razorpay.com"),
    ("import braintree",
     "gateway = braintree.BraintreeGateway(braintree.Configuration(\n"
     "    braintree.Environment.Sandbox, merchant_id=\"m\", public_key=\"p\", "
     "private_key=\"k\"))\n",
     "        result = gateway.transaction.sale({{\"amount\": order.total}}){mark}",
     "        env = braintree.Environment.Sandbox",
     "    gateway.transaction.submit_for_settlement(order.payment_id)",
     "Braintree: a `BraintreeGateway`'s `transaction.sale` is a request to the gateway"),
    ("import braintree", "",
     "        result = braintree.Transaction.sale({{\"amount\": order.total}}){mark}",
     "        env = braintree.Environment.Sandbox",
     "    braintree.Transaction.submit_for_settlement(order.payment_id)",
     "Braintree's class API (`braintree.Transaction.sale`, configured globally)"),
    ("import paypalrestsdk", "",
     "        payment = paypalrestsdk.Payment({{\"intent\": \"sale\"}})\n"
     "        payment.create(){mark}",
     "        payment = paypalrestsdk.Payment({\"intent\": \"sale\"})",
     "    payment.create()",
     "PayPal's REST SDK: building a `Payment` is local, its `create()` posts to PayPal"),
    ("import paypalrestsdk", "",
     "        payment = paypalrestsdk.Payment.find(order.payment_id){mark}",
     "        payment_id = order.payment_id",
     "    paypalrestsdk.Payment.find(payment_id).execute({\"payer_id\": \"p\"})",
     "PayPal's REST SDK: `Payment.find` fetches the payment from PayPal"),
    ("from mollie.api.client import Client",
     "mollie_client = Client()\nmollie_client.set_api_key(\"test_key\")\n",
     "        payment = mollie_client.payments.create({{\"amount\": order.total}}){mark}",
     "        mollie_client.set_api_key(\"test_key\")",
     "    mollie_client.payments.get(order.payment_id)",
     "Mollie: the client's `payments.create` is a request to api.mollie.com"),
    ("from square import Square",
     "client = Square(token=\"sq_token\")\n",
     "        client.payments.create(source_id=\"cnon\", idempotency_key=str(order.id)){mark}",
     "        key = str(order.id)",
     "    client.payments.get(payment_id=order.payment_id)",
     "Square: the `Square` client's `payments.create` is a request to Square's API"),
    ("from sendgrid import SendGridAPIClient\nfrom sendgrid.helpers.mail import Mail",
     "sg = SendGridAPIClient(\"SG.key\")\n",
     "        sg.send(Mail(from_email=\"shop@example.com\", to_emails=order.email)){mark}",
     "        message = Mail(from_email=\"shop@example.com\", to_emails=order.email)",
     "    sg.send(Mail(from_email=\"shop@example.com\", to_emails=order.email))",
     "SendGrid: `SendGridAPIClient.send` posts the message to SendGrid's mail API; "
     "building the `Mail` is local"),
    ("from slack_sdk import WebClient",
     "slack = WebClient(token=\"xoxb-token\")\n",
     "        slack.chat_postMessage(channel=\"#orders\", text=str(order.id)){mark}",
     "        text = str(order.id)",
     "    slack.chat_postMessage(channel=\"#orders\", text=str(order.id))",
     "Slack: every `WebClient` method is a Web API request to slack.com"),
]

INVALID += [
    Case(_SDK_ATOMIC.format(imports=imports, setup=setup,
                            inside=inside.format(mark="  # expect: PS207"), after=""),
         path="shop/pay.py", note=note)
    for imports, setup, inside, _local, _after, note in _SDK_FAMILIES
]

VALID += [
    Case(_SDK_ATOMIC.format(imports=imports, setup=setup, inside=local, after=after),
         path="shop/pay.py",
         note="look-alike: only local work inside the block (a constructor, a setting); "
              "the request is made after the transaction ends")
    for imports, setup, _inside, local, after, _note in _SDK_FAMILIES
]

# SQLAlchemy's `scoped_session.query_property()`: `Item.query` builds a Query on the
# registry's current session, so `Item.query.first()` opens its transaction as
# `session.query(Item).first()` does. The attribute is set in the model's body, on
# the declarative base, and the registry and models may live in other modules.
_QP_DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app")
db_session = scoped_session(sessionmaker(bind=engine))
Base = declarative_base()
{base_query}
"""
_QP_MODELS = """\
from sqlalchemy import Column, Integer, String

from shop.db import Base, db_session


class Item(Base):
    __tablename__ = "item"
    id = Column(Integer, primary_key=True)
    email = Column(String)
{item_query}
"""
_QP_NOTIFY = """\
import smtplib

from shop.db import db_session as session
from shop.models import Item


def notify(addr):
{body}
"""
_QP_SEND = '    smtplib.SMTP("mail", 25).sendmail("a", [addr], str(row))'


def _qp_files(base_query: str = "", item_query: str = "") -> dict[str, str]:
    return {"shop/__init__.py": "",
            "shop/db.py": _QP_DB.format(base_query=base_query),
            "shop/models.py": _QP_MODELS.format(item_query=item_query)}


_QP_ON_ITEM = "    query = db_session.query_property()"


def _qp_plain_query(base_query: str = "") -> dict[str, str]:
    files = _qp_files(base_query=base_query, item_query="    query = ItemQuery()")
    files["shop/models.py"] = files["shop/models.py"].replace(
        "class Item(Base):",
        "class ItemQuery:\n    def first(self):\n        return None\n\n\nclass Item(Base):")
    return files

_QP_ON_BASE = "Base.query = db_session.query_property()"

INVALID += [
    Case("""\
import smtplib

from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app")
session = scoped_session(sessionmaker(bind=engine))
Base = declarative_base()


class Item(Base):
    __tablename__ = "item"
    query = session.query_property()


def notify(addr):
    row = Item.query.first()
    smtplib.SMTP("mail", 25).sendmail("a", [addr], str(row))  # expect: PS207
    session.commit()
""", note="scoped_session.query_property(): `Item.query.first()` opens the registry's "
          "transaction, held over the mail send until the commit"),
    Case(_QP_NOTIFY.format(body="    row = Item.query.filter_by(email=addr).first()\n"
                                + _QP_SEND + "  # expect: PS207\n    session.commit()"),
         files=_qp_files(item_query=_QP_ON_ITEM), path="shop/notify.py",
         note="the model and the registry in other modules; the function commits the "
              "registry under another name (`db_session as session`)"),
    Case(_QP_NOTIFY.format(body="    row = Item.query.get(1)\n"
                                + _QP_SEND + "  # expect: PS207\n    session.remove()"),
         files=_qp_files(base_query=_QP_ON_BASE), path="shop/notify.py",
         note="the query_property set on the declarative base (`Base.query = "
              "db_session.query_property()`), inherited by the model"),
]

VALID += [
    Case(_QP_NOTIFY.format(body="    Item.query.filter_by(email=addr).delete()\n"
                                "    session.commit()\n    row = addr\n" + _QP_SEND),
         files=_qp_files(item_query=_QP_ON_ITEM), path="shop/notify.py",
         note="look-alike: the query runs and is committed before the mail send"),
    Case(_QP_NOTIFY.format(body="    row = Item.query.get(1)\n    session.commit()\n"
                                + _QP_SEND),
         files=_qp_files(base_query=_QP_ON_BASE), path="shop/notify.py",
         note="look-alike: the registry of the base's query_property is committed before "
              "the mail send"),
    Case(_QP_NOTIFY.format(body="    row = Item.query.first()\n" + _QP_SEND),
         files=_qp_plain_query(), path="shop/notify.py",
         note="look-alike: a class attribute named `query` that is not a query_property "
              "(a plain object, no session behind it)"),
    Case(_QP_NOTIFY.format(body="    row = Item.query.first()\n" + _QP_SEND),
         files=_qp_plain_query(base_query=_QP_ON_BASE), path="shop/notify.py",
         note="look-alike: the model's own plain `query` hides the base's query_property"),
]

# breadth82: slow work reached through a method of a Django model's row, the row read
# through the model's manager (`analysis/django_instances.py`): a model that keeps its
# side effect (a confirmation mail) as a method, called on rows inside atomic()
_B82_MODELS = {"shop/__init__.py": "", "shop/mail.py": """
from django.core.mail import EmailMultiAlternatives


def deliver(subject, to, body):
    msg = EmailMultiAlternatives(subject, body, "shop@example.com", to)
    msg.send(fail_silently=False)
""", "shop/models.py": """
from django.db import models

from shop.mail import deliver


class Basket(models.Model):
    owner = models.CharField(max_length=100)


class Seat(models.Model):
    email = models.CharField(max_length=200)
    kind = models.CharField(max_length=20)
    baskets = models.ManyToManyField(Basket, related_name="seats")

    def confirm(self):
        deliver("Your seat", [self.email], "see you there")

    def label(self):
        return f"{self.kind}:{self.email}"
"""}


def _b82_view(body: str) -> str:
    return ("from django.db import transaction\nfrom django.http import JsonResponse\n"
            "from django.shortcuts import get_object_or_404\n\nfrom shop.models import Seat\n\n\n"
            + body)


INVALID += [
    Case(_b82_view("""\
def book(request, pk):
    with transaction.atomic():
        seat = Seat.objects.select_for_update().get(pk=pk)
        seat.email = request.POST["email"]
        seat.save()
        seat.confirm()  # expect: PS207
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="a row from `Seat.objects...get()`: its method sends the mail with the row "
              "locked"),
    Case(_b82_view("""\
@transaction.atomic
def book_all(request):
    Seat.objects.filter(email=request.POST["email"]).update(kind="booked")
    seats = Seat.objects.filter(email=request.POST["email"])
    for seat in seats:
        seat.confirm()  # expect: PS207
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="the rows of a loop over a queryset, in an atomic view"),
    Case(_b82_view("""\
@transaction.atomic
def book_kinds(request, kinds):
    chosen = []
    for kind in kinds:
        rows = Seat.objects.select_for_update(skip_locked=True).filter(kind=kind)[:2]
        chosen.extend(rows)
    first = next(s for s in chosen if s.kind == kinds[0])
    first.save()
    Seat.objects.bulk_update(chosen, ["kind"])
    for seat in chosen:
        seat.confirm()  # expect: PS207
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="a local list the view fills only with slices of querysets of the model"),
    Case(_b82_view("""\
def reissue(request, pk):
    with transaction.atomic():
        seat = get_object_or_404(Seat, pk=pk)
        seat.kind = "reissued"
        seat.save()
        seat.confirm()  # expect: PS207
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="`get_object_or_404(Seat, ...)` returns a Seat"),
    Case(_b82_view("""\
def give(basket):
    for seat in basket.seats.select_for_update().filter(kind="held"):
        seat.confirm()


@transaction.atomic
def checkout(request, basket):
    Seat.objects.filter(kind="held").update(kind="sold")
    give(basket)  # expect: PS207
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="a related manager the project declares for one model (`related_name="
              "\"seats\"`), in a helper the atomic view calls"),
]

VALID += [
    Case(_b82_view("""\
def book(request, pk):
    with transaction.atomic():
        seat = Seat.objects.select_for_update().get(pk=pk)
        seat.email = request.POST["email"]
        seat.save()
    seat.confirm()
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="look-alike: the row's mail method runs after the block"),
    Case(_b82_view("""\
@transaction.atomic
def labels(request):
    out = []
    for seat in Seat.objects.filter(kind="booked"):
        out.append(seat.label())
    return JsonResponse({"labels": out})
"""), path="shop/views.py", files=_B82_MODELS,
         note="look-alike: the row's method does no slow work"),
    Case(_b82_view("""\
class Draft:
    def confirm(self):
        return None


def book(request, draft):
    with transaction.atomic():
        seat = Seat.objects.get(pk=1)
        seat.save()
        other = draft if draft else Draft()
        other.confirm()
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="look-alike: a method of the same name on an object that is no row of the "
              "model"),
    Case(_b82_view("""\
@transaction.atomic
def book_mixed(request, extra):
    chosen = []
    chosen.extend(Seat.objects.filter(kind="held"))
    chosen.append(extra)
    Seat.objects.filter(kind="held").update(kind="sold")
    for seat in chosen:
        seat.confirm()
    return JsonResponse({})
"""), path="shop/views.py", files=_B82_MODELS,
         note="look-alike (not read): the list also holds a parameter's object, so its "
              "items are not known to be rows"),
]

# miss82: Python scripts without a suffix (`bin/nightly-charge`, found by their
# shebang) are read like any module
_SCRIPT_DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
SessionLocal = sessionmaker(bind=engine)
"""
_SCRIPT_CHARGE = """\
{shebang}
import requests
from sqlalchemy import text

from shop.db import SessionLocal


def main():
    session = SessionLocal()
    try:
        users = session.execute(text("SELECT id FROM users WHERE due")).all()
{body}
    finally:
        session.close()


main()
"""
_SCRIPT_POST = ('            requests.post("https://billing.example/charge", '
                'json={"user": user.id}, timeout=30)')
_SCRIPT_PAID = ('            session.execute(text("UPDATE users SET due = NULL WHERE id = :id"), '
                '{"id": user.id})')
_SCRIPT_FILES = {"shop/__init__.py": "", "shop/db.py": _SCRIPT_DB}

INVALID += [
    Case(_SCRIPT_CHARGE.format(
        shebang="#!/usr/bin/env python3",
        body="        for user in users:\n" + _SCRIPT_POST + "  # expect: PS207\n" + _SCRIPT_PAID
             + "\n        session.commit()"),
        files=_SCRIPT_FILES, path="bin/nightly-charge",
        note="a Python script without a suffix (its shebang runs python3): each round's "
             "HTTP call runs after the earlier rounds' updates, uncommitted until the end"),
    Case(_SCRIPT_CHARGE.format(
        shebang="#!/usr/bin/env -S python3 -u",
        body="        for user in users:\n" + _SCRIPT_POST + "  # expect: PS207\n" + _SCRIPT_PAID
             + "\n        session.commit()"),
        files=_SCRIPT_FILES, path="scripts/shop-charge",
        note="`env -S` with an option after the interpreter: still a Python script"),
]

VALID += [
    Case(_SCRIPT_CHARGE.format(
        shebang="#!/usr/bin/python3",
        body="        session.commit()\n        for user in users:\n" + _SCRIPT_POST + "\n"
             + _SCRIPT_PAID + "\n            session.commit()"),
        files=_SCRIPT_FILES, path="bin/nightly-charge",
        note="look-alike: the script commits the read, and each round's update, before "
             "the next HTTP call (its read-only transaction is its own: one-shot code)"),
    Case(_SCRIPT_CHARGE.format(
        shebang="#!/usr/bin/env python3",
        body="        for user in users:\n" + _SCRIPT_POST),
        files=_SCRIPT_FILES, path="bin/nightly-charge",
        note="look-alike: a script that only reads before its HTTP calls (one-shot code "
             "whose transaction has only read, see the rule's policy)"),
]

# miss82: the registry whose query_property() the base holds is built in a setup
# function and unpacked by its callers (`engine, db_session = init_db(url)`)
_INIT_DB = """\
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base, scoped_session, sessionmaker

Base = declarative_base()


def init_db(url):
    engine = create_engine(url)
    session = scoped_session(sessionmaker(bind=engine))
    Base.query = session.query_property()
    return engine, session


engine, db_session = init_db("postgresql://app@db/app")


class Speech(Base):
    __tablename__ = "speech"


def refresh(day):
{body}
"""
_INIT_GET = '    requests.get("https://hansard.example/api", params={"day": day}, timeout=60)'

INVALID += [
    Case(_INIT_DB.format(body="    latest = Speech.query.order_by(Speech.id).first()\n"
                              + _INIT_GET + "  # expect: PS207\n"
                              "    db_session.add(Speech())\n    db_session.commit()"),
         note="the registry is built in init_db() and unpacked at the top level: "
              "`Speech.query` reads through it, and the read's transaction is held over "
              "the HTTP call until `db_session.commit()`"),
    Case(_INIT_DB.format(body="    db_session.add(Speech())\n"
                              "    latest = Speech.query.first()\n"
                              + _INIT_GET + "  # expect: PS207\n    db_session.commit()"),
         note="the unpacked registry written to, then read through the base's "
              "query_property, before the HTTP call"),
]

VALID += [
    Case(_INIT_DB.format(body="    latest = Speech.query.order_by(Speech.id).first()\n"
                              "    db_session.commit()\n" + _INIT_GET),
         note="look-alike: the unpacked registry commits the read before the HTTP call"),
    Case(_INIT_DB.format(body="    latest = Speech.query.first()\n"
                              "    db_session.rollback()\n" + _INIT_GET
                              + "\n    db_session.add(Speech())\n    db_session.commit()"),
         note="look-alike: the unpacked registry's transaction is rolled back before the "
              "HTTP call"),
]

_INIT_DB_ONE = _INIT_DB.replace("    return engine, session", "    return session").replace(
    'engine, db_session = init_db(', 'db_session = init_db(')

INVALID += [
    Case(_INIT_DB_ONE.format(body="    latest = Speech.query.first()\n"
                                  + _INIT_GET + "  # expect: PS207\n"
                                  "    db_session.add(Speech())\n    db_session.commit()"),
         note="the setup function returns the registry alone (`db_session = init_db(url)`)"),
]

VALID += [
    Case(_INIT_DB_ONE.format(body="    latest = Speech.query.first()\n"
                                  "    db_session.commit()\n" + _INIT_GET
                                  + "\n    db_session.add(Speech())\n    db_session.commit()"),
         note="look-alike: the registry the setup function returns commits the read "
              "before the HTTP call"),
]

_INIT_DB_MODULE = _INIT_DB_ONE.split("\n\nclass Speech(Base):")[0] + "\n"
_INIT_DB_VIEWS = """\
import requests

from shop.db import Base, db_session


class Speech(Base):
    __tablename__ = "speech"


def refresh(day):
{body}
"""

INVALID += [
    Case(_INIT_DB_VIEWS.format(body="    latest = Speech.query.first()\n"
                                    + _INIT_GET + "  # expect: PS207\n"
                                    "    db_session.commit()"),
         files={"shop/__init__.py": "", "shop/db.py": _INIT_DB_MODULE}, path="shop/views.py",
         note="the registry init_db() returns is bound in another module and imported"),
]

VALID += [
    Case(_INIT_DB_VIEWS.format(body="    latest = Speech.query.first()\n"
                                    "    db_session.commit()\n" + _INIT_GET),
         files={"shop/__init__.py": "", "shop/db.py": _INIT_DB_MODULE}, path="shop/views.py",
         note="look-alike: the imported registry init_db() returned commits the read "
              "before the HTTP call"),
]

# Round 39 (prec83): a pymysql / mysql.connector connection a class opens in
# autocommit by other spellings than `self.conn = connect(..., autocommit=True)`:
# opened into a local and stored (`connection = pymysql.connect(..., autocommit=True);
# self.connection = connection`), switched on after the connect (pymysql's method
# `conn.autocommit(True)`, mysql.connector's property `conn.autocommit = True`), or
# passed through `**` (a dict literal, or a dict the method builds). No transaction
# is open, so the sleep holds nothing.
_MONITOR = """\
import time

import {driver}


class Monitor:
    def __init__(self, host):
        self.host = host
        self.connection = None

    def connect(self):
{opened}
        self.connection = connection
        with self.connection.cursor() as cur:
            cur.execute("SET SESSION sql_mode=''")

    def poll(self):
        while True:
            self.connect()
            time.sleep(1){expect}
"""


def _monitor(opened: str, driver: str = "pymysql", expect: bool = False) -> str:
    return _MONITOR.format(driver=driver, opened=opened,
                           expect="  # expect: PS207" if expect else "")


VALID += [
    Case(_monitor('        connection = pymysql.connect(host=self.host, autocommit=True)'),
         note="the autocommit connection is opened into a local, then stored on self"),
    Case(_monitor('        connection = pymysql.connect(host=self.host)\n'
                  '        connection.autocommit(True)'),
         note="pymysql's autocommit(True) method, called after the connect"),
    Case(_monitor('        connection = mysql.connector.connect(host=self.host)\n'
                  '        connection.autocommit = True', driver="mysql.connector"),
         note="mysql.connector's autocommit property, set after the connect"),
    Case(_monitor('        connection = pymysql.connect(**{"host": self.host, '
                  '"autocommit": True})'),
         note="autocommit passed in a `**` dict literal"),
    Case(_monitor('        options = {"host": self.host, "user": "monitor", "autocommit": True}\n'
                  '        connection = pymysql.connect(**options)'),
         note="autocommit passed in a `**` dict the method builds"),
]

INVALID += [
    Case(_monitor('        connection = pymysql.connect(host=self.host, autocommit=False)',
                  expect=True),
         note="look-alike: the stored local is opened with autocommit=False"),
    Case(_monitor('        connection = pymysql.connect(host=self.host)\n'
                  '        connection.autocommit(False)', expect=True),
         note="look-alike: autocommit(False)"),
    Case(_monitor('        connection = pymysql.connect(host=self.host)\n'
                  '        admin = pymysql.connect(host=self.host, autocommit=True)\n'
                  '        admin.close()', expect=True),
         note="look-alike: a different connection is opened in autocommit"),
    Case(_monitor('        connection = mysql.connector.connect(host=self.host)\n'
                  '        admin = mysql.connector.connect(host=self.host)\n'
                  '        admin.autocommit = True\n'
                  '        admin.close()', driver="mysql.connector", expect=True),
         note="look-alike: autocommit is turned on for a different connection"),
    Case(_monitor('        options = {"host": self.host, "user": "monitor", "autocommit": False}\n'
                  '        connection = pymysql.connect(**options)', expect=True),
         note="look-alike: the `**` dict says autocommit False"),
]

# Round 39 (prec83): a call of a project function whose project decorator runs it on
# a new thread (`Thread(target=f, ...).start()`, a nested runner under an app
# context, a `Timer`, an executor's `submit`) and returns without waiting: the caller
# does not wait on the slow work in its body. A wrapper that joins the thread, waits
# on the future, submits in a `with ThreadPoolExecutor()` block, or just calls the
# function still runs the slow work inside the caller's transaction.
_BACKGROUND_VIEW = """\
from shop import db
from shop.mailer import send_email
from shop.models import Order


def confirm(order_id):
    order = Order.query.get(order_id)
    order.status = "confirmed"
    send_email(order_id){expect}
    db.session.commit()
"""

_BACKGROUND_MAILER = """\
import requests
from shop.decorators import run_async


@run_async
def send_email(order_id):
    requests.post("https://mail.example/send", json={"order": order_id}, timeout=10)
"""


def _background(wrapper: str, note: str, expect: bool = False) -> Case:
    decorators = ("from concurrent.futures import ThreadPoolExecutor\n"
                  "from functools import wraps\n"
                  "from threading import Thread, Timer\n\n"
                  "from flask import current_app\n\n"
                  "executor = ThreadPoolExecutor(max_workers=4)\n\n\n"
                  "def run_async(f):\n"
                  "    @wraps(f)\n"
                  "    def wrapper(*args, **kwargs):\n" + wrapper + "    return wrapper\n")
    return Case(_BACKGROUND_VIEW.format(expect="  # expect: PS207" if expect else ""),
                files={**_FLASK, "shop/decorators.py": decorators,
                       "shop/mailer.py": _BACKGROUND_MAILER},
                path="shop/views.py", note=note)


VALID += [
    _background("        thread = Thread(target=f, args=args, kwargs=kwargs)\n"
                "        thread.start()\n",
                "the decorator's wrapper starts a thread running the function and returns"),
    _background("        app = current_app._get_current_object()\n\n"
                "        def run():\n"
                "            with app.app_context():\n"
                "                f(*args, **kwargs)\n\n"
                "        Thread(target=run, daemon=True).start()\n",
                "the thread runs a nested runner that calls the function under an app context"),
    _background("        Timer(0, f, args=args, kwargs=kwargs).start()\n",
                "a Timer runs the function on its own thread"),
    _background("        executor.submit(f, *args, **kwargs)\n",
                "the function is submitted to a module executor, the future never waited on"),
]

INVALID += [
    _background("        thread = Thread(target=f, args=args, kwargs=kwargs)\n"
                "        thread.start()\n"
                "        thread.join()\n",
                "look-alike: the wrapper joins the thread before it returns", expect=True),
    _background("        executor.submit(f, *args, **kwargs).result()\n",
                "look-alike: the wrapper waits on the future's result", expect=True),
    _background("        with ThreadPoolExecutor() as pool:\n"
                "            pool.submit(f, *args, **kwargs)\n",
                "look-alike: the executor block's exit waits for the task", expect=True),
    _background("        return f(*args, **kwargs)\n",
                "look-alike: the decorator just calls the function", expect=True),
    _background("        Thread(target=print, args=args).start()\n"
                "        f(*args, **kwargs)\n",
                "look-alike: the wrapper starts an unrelated thread and calls the function "
                "itself", expect=True),
]

# The wrapper returns the thread it started (`return thr`): a caller that drops it
# (the call made as a statement) does not wait; one that keeps it may join it.
_RETURNS_THREAD = ("        thr = Thread(target=f, args=args, kwargs=kwargs)\n"
                   "        thr.start()\n"
                   "        return thr\n")

VALID += [
    _background(_RETURNS_THREAD,
                "the wrapper returns the thread it started; the caller drops it"),
]

INVALID += [
    Case(_BACKGROUND_VIEW.replace("    send_email(order_id){expect}\n",
                                  "    send_email(order_id).join(){expect}\n").format(
        expect="  # expect: PS207"),
         files=_background(_RETURNS_THREAD, "").files, path="shop/views.py",
         note="look-alike: the caller joins the thread the wrapper returns"),
    Case(_BACKGROUND_VIEW.replace("    send_email(order_id){expect}\n",
                                  "    worker = send_email(order_id){expect}\n"
                                  "    worker.join()\n").format(expect="  # expect: PS207"),
         files=_background(_RETURNS_THREAD, "").files, path="shop/views.py",
         note="look-alike: the caller keeps the returned thread and joins it"),
]

# The decorator's module has no database code and no slow work (it imports only
# `threading`): the prefilter does not select it, and the decorator is still read.
_PLAIN_DECORATORS = """\
import threading
from functools import wraps


def in_background(fn):
    @wraps(fn)
    def wrapper(*args, **kwargs):
        worker = threading.Thread(target=fn, args=args, kwargs=kwargs, daemon=True)
        worker.start()
        return worker
    return wrapper
"""

VALID += [
    Case(_BACKGROUND_VIEW.format(expect=""),
         files={**_FLASK, "shop/decorators.py": _PLAIN_DECORATORS,
                "shop/mailer.py": _BACKGROUND_MAILER.replace("run_async", "in_background")},
         path="shop/views.py",
         note="the thread-starting decorator lives in a module with no database code"),
]

INVALID += [
    Case(_BACKGROUND_VIEW.format(expect="  # expect: PS207"),
         files={**_FLASK, "shop/decorators.py": _PLAIN_DECORATORS.replace(
             "        worker.start()\n", "        worker.start()\n        worker.join()\n"),
                "shop/mailer.py": _BACKGROUND_MAILER.replace("run_async", "in_background")},
         path="shop/views.py",
         note="look-alike: the plain module's decorator joins the thread it starts"),
]

# Round 40 (prec84): a decorator factory (`@run_in_thread(daemon=True)`: a function
# whose `return` names the one decorator nested in it) is read as the decorator it
# returns. A wrapper that starts the thread and returns does not make the caller
# wait; one that joins (also only when an argument asks it to) still does.
_FACTORY_MAILER = """\
import requests
from shop.decorators import run_in_thread


@run_in_thread(daemon=True)
def send_email(order_id):
    requests.post("https://mail.example/send", json={"order": order_id}, timeout=10)
"""


def _factory(wrapper: str, note: str, expect: bool = False,
             params: str = "daemon=False") -> Case:
    decorators = ("from functools import wraps\n"
                  "from threading import Thread\n\n\n"
                  f"def run_in_thread({params}):\n"
                  "    def decorator(f):\n"
                  "        @wraps(f)\n"
                  "        def wrapper(*args, **kwargs):\n" + wrapper +
                  "        return wrapper\n"
                  "    return decorator\n")
    return Case(_BACKGROUND_VIEW.format(expect="  # expect: PS207" if expect else ""),
                files={**_FLASK, "shop/decorators.py": decorators,
                       "shop/mailer.py": _FACTORY_MAILER},
                path="shop/views.py", note=note)


VALID += [
    _factory("            Thread(target=f, args=args, kwargs=kwargs, daemon=daemon).start()\n",
             "a decorator factory whose wrapper starts a thread running the function"),
]

INVALID += [
    _factory("            thread = Thread(target=f, args=args, kwargs=kwargs, daemon=daemon)\n"
             "            thread.start()\n"
             "            if wait:\n"
             "                thread.join()\n",
             "look-alike: the factory's wrapper joins the thread when an argument asks it to",
             expect=True, params="daemon=False, wait=True"),
    _factory("            return f(*args, **kwargs)\n",
             "look-alike: the factory's wrapper just calls the function", expect=True),
]

# A script whose module body does the work (no `def main()`): the body runs once per
# process, and is judged as a script's `main()` is. Held across the slow call: a
# transaction that has written (its row locks stall the application's requests);
# one that has only read is a snapshot on the script's own connection.
_MODULE_SCRIPT = """\
import time

import psycopg2
import requests

conn = psycopg2.connect("dbname=billing")
cur = conn.cursor()
cur.execute("{statement}")
for (invoice_id,) in cur.fetchall():
{before}    requests.post("https://pay.example/c", json={{"id": invoice_id}}, timeout=9){expect}
    time.sleep(1){expect}
conn.commit()
conn.close()
"""

_MODULE_ENGINE = """\
import time

from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
with engine.begin() as conn:
    conn.execute(text("UPDATE jobs SET state = 'paused' WHERE state = 'queued'"))
{sleep_in}
{sleep_out}"""

INVALID += [
    Case(_MODULE_SCRIPT.format(
        statement="UPDATE invoices SET state = 'sending' WHERE state = 'due' RETURNING id",
        before="", expect="  # expect: PS207"), path="bin/charge_due.py",
         note="a script's module body updates rows, then calls a service for each one "
              "before its commit: the rows stay locked across the calls"),
    Case(_MODULE_ENGINE.format(sleep_in="    time.sleep(30)  # expect: PS207", sleep_out=""),
         path="scripts/pause_jobs.py",
         note="a module-level `engine.begin()` block that sleeps after its update"),
]

VALID += [
    Case(_MODULE_SCRIPT.format(
        statement="SELECT id FROM invoices WHERE state = 'due'", before="", expect=""),
         path="bin/charge_due.py",
         note="look-alike: the script's transaction has only read (a snapshot on its "
              "own connection), as in a script's main()"),
    Case(_MODULE_SCRIPT.format(
        statement="UPDATE invoices SET state = 'sending' WHERE state = 'due' RETURNING id",
        before="    conn.commit()\n", expect=""), path="bin/charge_due.py",
         note="look-alike: the script commits before each call"),
    Case(_MODULE_ENGINE.format(sleep_in="", sleep_out="time.sleep(30)"),
         path="scripts/pause_jobs.py",
         note="look-alike: the sleep comes after the `engine.begin()` block commits"),
]

# Round 41 (prec85b): a decorator factory usable bare too (`@run_in_thread` as well as
# `@run_in_thread(daemon=True)`): its first parameter takes the function when there are
# no parentheses, and it returns its one decorator, applied to that parameter or not.
_BARE_FACTORY = """\
from functools import wraps
from threading import Thread


def run_in_thread(func=None, *, daemon=False):
    def decorator(f):
        @wraps(f)
        def wrapper(*args, **kwargs):
{wrapper}
        return wrapper
    if callable(func):
        return {bare}
    return decorator
"""

_STARTS = "            Thread(target=f, args=args, kwargs=kwargs, daemon=daemon).start()"


def _bare_factory(note: str, *, wrapper: str = _STARTS, bare: str = "decorator(func)",
                  used: str = "@run_in_thread", expect: bool = False) -> Case:
    return Case(_BACKGROUND_VIEW.format(expect="  # expect: PS207" if expect else ""),
                files={**_FLASK,
                       "shop/decorators.py": _BARE_FACTORY.format(wrapper=wrapper, bare=bare),
                       "shop/mailer.py": _FACTORY_MAILER.replace(
                           "@run_in_thread(daemon=True)", used)},
                path="shop/views.py", note=note)


VALID += [
    _bare_factory("a factory usable bare, used bare: `decorator(func)` starts the thread"),
    _bare_factory("the same factory used with arguments", used="@run_in_thread(daemon=True)"),
]

INVALID += [
    _bare_factory("look-alike: used bare, the factory's wrapper just calls the function",
                  wrapper="            return f(*args, **kwargs)", expect=True),
    _bare_factory("look-alike: used bare, the factory hands the function back undecorated",
                  bare="func", expect=True),
]

# The other bare-or-called idiom: the wrapper nested in the factory itself, and
# `functools.partial` of the factory when it is called with arguments only.
_PARTIAL_FACTORY = """\
import functools
from threading import Thread


def run_in_thread(func=None, *, daemon=False):
    if func is None:
        return functools.partial(run_in_thread, daemon=daemon)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        worker = Thread(target=func, args=args, kwargs=kwargs, daemon=daemon)
        worker.start()
{join}
    return wrapper
"""


def _partial_factory(note: str, *, join: str = "", expect: bool = False) -> Case:
    return Case(_BACKGROUND_VIEW.format(expect="  # expect: PS207" if expect else ""),
                files={**_FLASK,
                       "shop/decorators.py": _PARTIAL_FACTORY.format(join=join),
                       "shop/mailer.py": _FACTORY_MAILER},
                path="shop/views.py", note=note)


VALID += [
    _partial_factory("called with arguments, the factory returns a `partial` of itself; "
                     "its wrapper starts the thread"),
]

INVALID += [
    _partial_factory("look-alike: the same idiom whose wrapper joins the thread",
                     join="        worker.join()", expect=True),
]

# round 42 (issue 31, fresh86): an async engine whose URL comes from the environment
# (`create_async_engine(os.environ["DATABASE_URL"])`) in a project whose dependency files
# declare SQLite's asynchronous driver (aiosqlite) and no server driver: an async
# engine needs an async driver, and the only one there is SQLite's, so the route that
# has only read before its HTTP call holds no lock (as with a visible SQLite URL). A
# declared server driver beside it, a `.env` that gives a server URL, or a write before
# the call keeps the finding.
_DECLARED_LITE = """\
import os

import httpx
from fastapi import Depends, FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from models import Feed

engine = create_async_engine(os.environ["DATABASE_URL"])
Session = async_sessionmaker(engine, expire_on_commit=False)
app = FastAPI()


async def session_dep():
    async with Session() as session:
        yield session


@app.post("/feeds/{{feed_id}}/poll")
async def poll_feed(feed_id: int, session: AsyncSession = Depends(session_dep)):
    feed = (await session.scalars(select(Feed).where(Feed.id == feed_id))).one()
{before}    async with httpx.AsyncClient() as client:
        reply = await client.get(feed.url, timeout=10){expect}
    return {{"status": reply.status_code}}
"""
_LITE_DEPS = ("[project]\nname = \"feeds\"\nversion = \"0.1\"\n"
              "dependencies = [\"fastapi\", \"httpx\", \"SQLAlchemy>=2\",\n"
              "                \"aiosqlite>=0.19\"{more}]\n")
VALID.append(Case(_DECLARED_LITE.format(before="", expect=""),
                  files={"pyproject.toml": _LITE_DEPS.format(more="")},
                  note="URL from the environment; the project declares aiosqlite and no "
                       "server driver: only read before the call, no transaction is open"))
INVALID += [
    Case(_DECLARED_LITE.format(before="", expect="  # expect: PS207"),
         files={"pyproject.toml": _LITE_DEPS.format(more=", \"asyncpg\"")},
         note="look-alike: asyncpg declared beside aiosqlite: the server may be PostgreSQL"),
    Case(_DECLARED_LITE.format(before="", expect="  # expect: PS207"),
         files={"pyproject.toml": _LITE_DEPS.format(more=""),
                ".env": "DATABASE_URL=postgresql+asyncpg://app@db/feeds\n"},
         note="look-alike: aiosqlite declared, but the repository's .env gives a "
              "PostgreSQL URL"),
    Case(_DECLARED_LITE.format(before="    feed.polled = True\n    await session.flush()\n",
                               expect="  # expect: PS207"),
         files={"pyproject.toml": _LITE_DEPS.format(more="")},
         note="look-alike: aiosqlite only, but a flush before the call holds SQLite's "
              "write lock"),
]

# round 42 (issue 31, fresh86): slow work reached through a method of a Flask-SQLAlchemy
# row the route read through its model's query (`Ticket.query.get(...)`, a chain's
# `.first()`): the row's method is the model's, as for a row built by `Ticket(...)`
# or one a Django manager returns. A model method that does no slow work, a row
# handed in as a parameter (its type is the caller's), or the same call after the
# commit of a session that only read stays quiet.
_FSA_ROWS_DB = "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n"
_FSA_ROWS_CARRIER = """\
from urllib import request


def track(code):
    return request.urlopen("https://carrier.example/track/" + code, timeout=5).read()
"""
_FSA_ROWS_MODELS = """\
from desk import carrier
from desk.db import db


class Parcel(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    code = db.Column(db.String(40))
    state = db.Column(db.String(20))

    def label(self):
        return "parcel " + self.code

    def sync_state(self):
        self.state = carrier.track(self.code).decode()
"""
_FSA_ROWS_VIEW = """\
from flask import Flask

from desk.db import db
from desk.models import Parcel

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://desk@db/desk"
db.init_app(app)


@app.route("/parcels/<int:parcel_id>/sync", methods=["POST"])
def sync(parcel_id):
    parcel = {getter}
    parcel.state = "checking"
    db.session.flush()
    parcel.{method}(){expect}
    db.session.commit()
    return "ok"
"""
_FSA_ROWS_FILES = {"desk/__init__.py": "", "desk/db.py": _FSA_ROWS_DB,
                   "desk/carrier.py": _FSA_ROWS_CARRIER, "desk/models.py": _FSA_ROWS_MODELS}
VALID.append(Case(_FSA_ROWS_VIEW.format(getter="Parcel.query.get_or_404(parcel_id)",
                                        method="label", expect=""),
                  files=_FSA_ROWS_FILES, path="desk/views.py",
                  note="the row's method does no slow work"))
INVALID += [
    Case(_FSA_ROWS_VIEW.format(getter="Parcel.query.get_or_404(parcel_id)",
                               method="sync_state", expect="  # expect: PS207"),
         files=_FSA_ROWS_FILES, path="desk/views.py",
         note="a row read through `Model.query.get_or_404()`: its method makes an HTTP "
              "request while the flushed change holds the row lock"),
    Case(_FSA_ROWS_VIEW.format(
        getter="Parcel.query.filter_by(id=parcel_id).order_by(Parcel.id).first()",
        method="sync_state", expect="  # expect: PS207"),
         files=_FSA_ROWS_FILES, path="desk/views.py",
         note="a row at the end of a query chain (`filter_by(...).order_by(...).first()`)"),
]

# A `scoped_session` registry's `remove()` closes the thread's session (a rollback of
# what it left open): slow work after it holds no transaction (large86).
VALID += [
    Case("""
import time

from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://db/inventory", pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))


def watch(Item):
    while True:
        stale = Session.query(Item).filter(Item.stale.is_(True)).count()
        print("stale items:", stale)
        Session.remove()
        time.sleep(300)
""", note="the registry's remove() closes the session before the sleep"),
    Case("""
import requests
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
db = SQLAlchemy(app)


class Feed(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    url = db.Column(db.String)


def refresh_feeds():
    with app.app_context():
        urls = [feed.url for feed in Feed.query.all()]
        db.session.remove()
        for url in urls:
            requests.get(url, timeout=10)
""", note="Flask-SQLAlchemy's db.session.remove() before the HTTP calls"),
]


# Helper prec87, round 43 (issue 31, large86's held class): which session a nested
# `with app.app_context():` has depends on the Flask-SQLAlchemy the project declares.
# 2.x scopes `db.session` to the thread: the nested context's teardown removes the one
# session, the outer context's transaction included. 3.x scopes it to the context: the
# nested block's commit leaves the outer context's transaction open.

_RUNS_JOB = '''import requests
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://svc@db/crawl"
db = SQLAlchemy(app)


class Job(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    url = db.Column(db.String)
    runs = db.Column(db.Integer)


def count_run(job_id):
    with app.app_context():
        job = Job.query.get(job_id)
        job.runs += 1
        db.session.commit()


def run_job(job_id):
    with app.app_context():
        url = Job.query.get(job_id).url
@STEP@
        requests.post(url, timeout=10)@MARK@
'''
_COUNT_CALL = "        count_run(job_id)"
_COUNT_INLINE = '''        with app.app_context():
            job = Job.query.get(job_id)
            job.runs += 1
            db.session.commit()'''
_FSA2 = {"requirements.txt": "Flask==1.1.4\nFlask-SQLAlchemy==2.4.4\nrequests\npsycopg2\n"}
_FSA3 = {"requirements.txt": "Flask-SQLAlchemy>=3.0\nrequests\npsycopg2\n"}

VALID += [
    Case(_RUNS_JOB.replace("@STEP@", _COUNT_CALL).replace("@MARK@", ""), files=_FSA2,
         note="Flask-SQLAlchemy 2.4 pinned: the helper's own app context removes the "
         "thread's one session at its teardown, the caller's read with it"),
    Case(_RUNS_JOB.replace("@STEP@", '''        with app.app_context():
            print(Job.query.count())''').replace("@MARK@", ""), files=_FSA2,
         note="Flask-SQLAlchemy 2.4 pinned: a nested context that only reads removes the "
         "shared session when it ends"),
]

INVALID += [
    Case(_RUNS_JOB.replace("@STEP@", _COUNT_INLINE).replace("@MARK@", "  # expect: PS207"),
         files=_FSA3,
         note="Flask-SQLAlchemy 3.x: the nested context commits its own session; the "
         "outer context's read stays open across the request"),
    Case(_RUNS_JOB.replace("@STEP@", _COUNT_CALL).replace("@MARK@", "  # expect: PS207"),
         files=_FSA3,
         note="look-alike: the helper's context has its own session under 3.x"),
    Case(_RUNS_JOB.replace("@STEP@", _COUNT_CALL).replace("@MARK@", "  # expect: PS207"),
         files={"requirements.txt": "Flask-SQLAlchemy<3.1\nrequests\npsycopg2\n"},
         note="look-alike: a pin that allows 3.0 (pip installs 3.0.x): the context's own "
         "session"),
]

# A project function that ends the caller's transaction on every way out: its body
# commits Flask-SQLAlchemy's session (also through a parameter handed the `db`
# object), or the session handed to it. Slow work after the call holds no
# transaction (round 43, fresh87).
_HELPER_COMMITS = """
import subprocess

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://render@db/render"
app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {{"pool_pre_ping": True}}
db = SQLAlchemy(app)


class Render(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    stage = db.Column(db.String(20))


def mark(store, render, stage):
    render.stage = stage
{ending}


def render_clip(render_id):
    render = Render.query.get(render_id)
    mark(db, render, "encoding")
    subprocess.check_call(["ffmpeg", "-i", "in.mov", "out.mp4"]){expect}
    mark(db, render, "done")
"""
VALID.append(Case(_HELPER_COMMITS.format(ending="    store.session.commit()", expect=""),
                  note="the helper commits the Flask-SQLAlchemy session handed to it as "
                       "`store` before the subprocess"))
INVALID += [
    Case(_HELPER_COMMITS.format(ending="    if stage == \"done\":\n"
                                       "        store.session.commit()",
                                expect="  # expect: PS207"),
         note="the helper commits on one path only: the read transaction stays open"),
    Case(_HELPER_COMMITS.format(ending="    store.session.flush()",
                                expect="  # expect: PS207"),
         note="the helper flushes without committing: the row lock is held"),
]
VALID.append(Case("""
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

engine = create_engine("postgresql://hooks@db/hooks", pool_pre_ping=True)


def record(session, hook, status):
    hook.status = status
    session.commit()


def deliver(Hook, hook_id):
    with Session(engine) as session:
        hook = session.scalars(select(Hook).where(Hook.id == hook_id)).one()
        record(session, hook, "sending")
        requests.post(hook.url, json={"id": hook_id}, timeout=10)
        record(session, hook, "sent")
""", note="the helper commits the session handed to it before the HTTP call"))

# A service object keeps the connection a parameter annotated `asyncpg.Connection`
# handed to its `__init__` (`self._conn = conn`): its statements, read in any method
# through the attribute, commit on their own as the parameter's do; waiting on a
# chat-bot API beside it holds no transaction (round 44, fresh88).
_KEPT_ASYNCPG = """
import asyncpg
from aiogram import Bot


class Broadcaster:
    def __init__(self, bot: Bot, conn: asyncpg.Connection):
        self._bot = bot
        self._conn = conn

    async def broadcast(self, user_ids):
        for user_id in user_ids:
@BODY@
"""
VALID.append(Case(_KEPT_ASYNCPG.replace("@BODY@", """\
            await self._conn.execute("UPDATE users SET sent = sent + 1 WHERE id = $1", user_id)
            await self._bot.send_message(user_id, "news")"""),
                  note="the kept asyncpg connection runs in autocommit: no transaction "
                       "across the chat-bot request"))
INVALID += [
    Case(_KEPT_ASYNCPG.replace("@BODY@", """\
            async with self._conn.transaction():
                await self._conn.execute("UPDATE users SET sent = sent + 1 WHERE id = $1", user_id)
                await self._bot.send_message(user_id, "news")  # expect: PS207"""),
         note="look-alike: the request inside a transaction block on the kept connection"),
    Case(_KEPT_ASYNCPG.replace("asyncpg.Connection", "AsyncSession").replace(
        "import asyncpg\n", "from sqlalchemy import text\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n").replace("@BODY@", """\
            await self._conn.execute(text("UPDATE users SET sent = sent + 1"))
            await self._bot.send_message(user_id, "news")  # expect: PS207"""),
         note="look-alike: a kept AsyncSession begins a transaction at its first statement"),
]

# Flask-SQLAlchemy through a project subclass that only overrides an engine option
# hook: an rq job's queries on its `db.session` open the transaction the HTTP call
# then waits in (round 44, fresh88).
_HOOKED_JOB = """
import requests
from flask_sqlalchemy import SQLAlchemy as _BaseSQLAlchemy


class SQLAlchemy(_BaseSQLAlchemy):
    def apply_driver_hacks(self, app, sa_url, options):
        options["pool_pre_ping"] = True
        return super().apply_driver_hacks(app, sa_url, options)


db = SQLAlchemy()


class Schedule(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    calls = db.Column(db.Integer, default=0)


def place_call(schedule_id, url):
    schedule = Schedule.query.get(schedule_id)
@BODY@
"""
INVALID.append(Case(_HOOKED_JOB.replace("@BODY@", """\
    resp = requests.get(url, timeout=30)  # expect: PS207
    schedule.calls += 1
    db.session.commit()
    return resp.status_code"""),
    note="the hooked subclass's db.session holds the read across the HTTP call"))
VALID.append(Case(_HOOKED_JOB.replace("@BODY@", """\
    calls = schedule.calls
    db.session.commit()
    resp = requests.get(url, timeout=30)
    return resp.status_code, calls"""),
    note="look-alike: the job commits the hooked subclass's session before the HTTP call"))

# A project method of the same object that commits (`self.commit()`, whose body is
# `self.conn.commit()`) ends the transaction its caller holds on `self.conn`: a close()
# that writes, commits through it, then waits for other threads' cursors holds nothing
# during the wait (round 44, prec88).
_SELF_COMMIT = """
import sqlite3
import time


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.log = sqlite3.connect(path + ".log", check_same_thread=False)
        self.readers = []
        self.busy = False

    def commit(self):
{commit}

    def close(self):
        self.conn.execute("UPDATE meta SET clean = 1")
        self.commit()
        for attempt in range(10):
            if not self.readers:
                break
            time.sleep(0.1 * attempt){expect}
        self.conn.close()
"""
VALID.append(Case(_SELF_COMMIT.format(commit="        self.conn.commit()", expect=""),
                  note="the object's own commit() ends the UPDATE's transaction before "
                       "the wait"))
INVALID += [
    Case(_SELF_COMMIT.format(commit="        if self.busy:\n            return\n"
                                    "        self.conn.commit()",
                             expect="  # expect: PS207"),
         note="look-alike: the method commits only when no other commit runs; on the "
              "other path the UPDATE stays uncommitted through the wait"),
    Case(_SELF_COMMIT.format(commit="        self.log.commit()", expect="  # expect: PS207"),
         note="look-alike: the method commits another connection of the object"),
]

# A project factory that returns an engine under `if url:` and a sqlite3 connection
# under `if isinstance(path, str):`: a caller that passes only `url=` gets the engine,
# whose statements each run in their own `with handle.begin()` (or engine-level
# `execute()`), so a retry's sleep holds no transaction (round 44, prec88).
_FACTORY_BRANCH = """
import re
import sqlite3
import time

import sqlalchemy


def connect(path=None, url=None):
    if url:
        return sqlalchemy.create_engine(url)
    if isinstance(path, str):
        return sqlite3.connect(path)
    return path


def run_retrying(handle, sql, retries=5):
    for attempt in range(retries):
        try:
            return handle.execute(sql)
        except AttributeError:
            with handle.begin() as conn:
                return conn.execute(sqlalchemy.text(sql))
        except Exception as e:
            if not re.search("locked", str(e)):
                raise
            time.sleep(2 ** attempt)
    raise RuntimeError("database stayed locked")


def add_rows(target, rows):
    handle = connect({args})
    for row in rows:
        run_retrying(handle, "INSERT INTO rows (v) VALUES (%d)" % row){expect}
"""
VALID.append(Case(_FACTORY_BRANCH.format(args="url=target", expect=""),
                  note="only `url=` is passed: the factory returns the engine, never the "
                       "sqlite3 connection"))
INVALID += [
    Case(_FACTORY_BRANCH.format(args="target", expect="  # expect: PS207"),
         note="look-alike: the path is passed, the sqlite3 connection's INSERT opens a "
              "transaction the next retry's sleep holds"),
    Case(_FACTORY_BRANCH.format(args="path=target, url=None", expect="  # expect: PS207"),
         note="look-alike: the path by keyword, `url=None`: the sqlite3 branch"),
]

# telepot's `Bot` (camelCase Bot API methods: `bot.sendMessage(chat_id, text)`) is a
# chat-bot client: each call is an HTTPS round trip to api.telegram.org
# (round 44, prec88).
_TELEPOT = """
import telepot
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

engine = create_engine("postgresql://bot@db/bot", pool_pre_ping=True)
Session = sessionmaker(bind=engine)
bot = telepot.Bot("123:token")


def on_chat_message(msg):
    chat_id = msg["chat"]["id"]
    session = Session()
    try:
        session.execute(text("DELETE FROM waiting WHERE chat = :c"), {{"c": chat_id}})
        session.execute(text("INSERT INTO seen (chat) VALUES (:c)"), {{"c": chat_id}})
{body}
    finally:
        session.close()
"""
VALID.append(Case(_TELEPOT.format(body="        session.commit()\n"
                                       "        bot.sendMessage(chat_id, \"noted\")"),
                  note="the reply is sent after the commit"))
INVALID += [
    Case(_TELEPOT.format(body="        bot.sendMessage(chat_id, \"noted\")  # expect: PS207\n"
                              "        session.commit()"),
         note="telepot's sendMessage while the DELETE/INSERT are uncommitted"),
]

# A transaction held on an object across its caller's calls: `hb.startup()` runs a
# statement on `self.conn` and leaves its transaction open, the caller sleeps, and
# only `hb.endup()` commits (round 44, prec88).
_OBJECT_ACROSS_CALLS = """
import time

import psycopg2


class Heartbeat:
    def __init__(self, dsn):
        self.conn = psycopg2.connect(dsn)
        self.worker_id = None

    def startup(self):
        cur = self.conn.cursor()
        cur.execute("SELECT id FROM workers WHERE name = 'collector' FOR UPDATE")
        self.worker_id = cur.fetchone()[0]

    def endup(self):
        cur = self.conn.cursor()
        cur.execute("UPDATE workers SET seen = now() WHERE id = %s", (self.worker_id,))
        self.conn.commit()


def beat(dsn, rounds):
    hb = Heartbeat(dsn)
    for _ in range(rounds):
        hb.startup()
{body}
    hb.conn.close()
"""
VALID.append(Case(_OBJECT_ACROSS_CALLS.format(body="        hb.endup()\n"
                                                   "        time.sleep(30)"),
                  note="the object's endup() commits before the sleep"))
INVALID += [
    Case(_OBJECT_ACROSS_CALLS.format(body="        time.sleep(30)  # expect: PS207\n"
                                          "        hb.endup()"),
         note="startup() leaves the object's row lock open through the caller's sleep"),
]

# The same factory when the sqlite3 branch rebinds the parameter and the connection
# is returned after the `if` (`handle = sqlite3.connect(handle)`, then `return
# handle`): a caller passing only `url=` still gets the engine (round 44, prec88).
_FACTORY_REBINDS = _FACTORY_BRANCH.replace('''    if isinstance(path, str):
        return sqlite3.connect(path)
    return path
''', '''    if isinstance(path, str):
        path = sqlite3.connect(path)
    path.execute("PRAGMA foreign_keys = ON")
    return path
''')
VALID.append(Case(_FACTORY_REBINDS.format(args="url=target", expect=""),
                  note="only `url=` is passed: the sqlite3 connection is made only under a "
                       "test of the path the call leaves None"))
INVALID += [
    Case(_FACTORY_REBINDS.format(args="target", expect="  # expect: PS207"),
         note="look-alike: the path is passed, the factory returns the sqlite3 connection"),
]
