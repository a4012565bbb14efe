"""PS105 session-in-route: INVALID cases mark the factory call."""

from poolsafe.rules.base import Case

_APP = """\
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
engine = create_engine("postgresql://localhost/app")
SessionLocal = sessionmaker(bind=engine)
app = FastAPI()
router = APIRouter()
"""

INVALID: list[Case] = [
    Case(_APP + """
@app.get("/users/{user_id}")
def read_user(user_id: int):
    db = SessionLocal()  # expect: PS105
    user = db.get(User, user_id)
    db.close()
    return user
"""),
    Case(_APP + """
@app.post("/users")
def create_user(payload: dict):
    db = SessionLocal()  # expect: PS105
    try:
        db.add(User(**payload))
        db.commit()
    finally:
        db.close()
""", note="even with try/finally the route owns the lifecycle"),
    Case(_APP + """
@router.delete("/users/{user_id}")
def delete_user(user_id: int):
    session = Session(engine)  # expect: PS105
    session.delete(session.get(User, user_id))
    session.commit()
    session.close()
""", note="Session(engine) on an APIRouter"),
    Case("""
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
engine = create_async_engine("postgresql+asyncpg://localhost/app")
async_session = async_sessionmaker(engine)
app = FastAPI()

@app.get("/items")
async def items():
    session = async_session()  # expect: PS105
    try:
        return (await session.execute("SELECT 1")).all()
    finally:
        await session.close()
"""),
    Case("""
from fastapi import FastAPI
from database import SessionLocal
api = FastAPI()

@api.put("/items/{item_id}")
def update(item_id: int, name: str):
    db = SessionLocal()  # expect: PS105
    db.get(Item, item_id).name = name
    db.commit()
    db.close()
""", files={"database.py": """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
"""}, path="main.py", note="the factory comes from another module, under another app name"),
    Case(_APP + """
@app.patch("/users/{user_id}")
def patch_user(user_id: int):
    return SessionLocal().get(User, user_id)  # expect: PS105
""", note="used inline"),
    Case(_APP + """
@app.api_route("/ping", methods=["GET", "HEAD"])
def ping():
    db = SessionLocal()  # expect: PS105
    db.execute("SELECT 1")
    db.close()
    return "pong"
"""),
    Case(_APP + """
from sqlalchemy.orm import scoped_session
Scoped = scoped_session(SessionLocal)

@app.get("/count")
def count():
    db = SessionLocal()  # expect: PS105
    n = db.query(User).count()
    db.close()
    return n
"""),
    Case(_APP + """
@app.websocket("/ws")
async def ws(websocket):
    db = SessionLocal()  # expect: PS105
    await websocket.send_json(db.query(User).count())
    db.close()
"""),
    Case(_APP + """
app.include_router(router)

@router.get("/a")
def a():
    db = SessionLocal()  # expect: PS105
    try:
        return db.query(User).all()
    finally:
        db.close()
"""),
]


# fix50: after the route's own `db.close()`, code that uses what the session loaded
# (hands `user` to another session, reads a lazy relationship) meets a detached object in
# the original and an attached one once the dependency keeps the session open: the fix is
# unsafe (--unsafe-fixes only). `return user` after the close keeps the safe fix.
INVALID += [
    Case(_APP + """
Archive = sessionmaker(bind=create_engine("postgresql://localhost/archive"))

@app.post("/users/{user_id}/archive")
def archive_user(user_id: int):
    db = SessionLocal()  # expect: PS105
    try:
        user = db.get(User, user_id)
    finally:
        db.close()
    copy_to_archive(user)
    return {"archived": user_id}
""", note="the route keeps using `user` after its session's close"),
]

VALID: list[Case] = [
    Case(_APP + """
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

@app.get("/users/{user_id}")
def read_user(user_id: int, db: Session = Depends(get_db)):
    return db.get(User, user_id)
""", note="the dependency owns the session"),
    Case(_APP + """
def helper():
    db = SessionLocal()
    try:
        return db.query(User).count()
    finally:
        db.close()
""", note="not a route"),
    Case(_APP + """
@app.get("/users")
def users():
    with SessionLocal() as db:
        return db.query(User).all()
""", note="a with block releases on every path"),
    Case(_APP + """
@app.on_event("startup")
def startup():
    db = SessionLocal()
    try:
        seed(db)
    finally:
        db.close()
""", note="an event handler is not a route"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/app"))
app = Flask(__name__)

@app.get("/users")
def users():
    db = SessionLocal()
    try:
        return str(db.query(User).count())
    finally:
        db.close()
""", note="a Flask route: FastAPI's dependency injection does not apply"),
    Case(_APP + """
@app.get("/users")
def users(db: Session = Depends(get_db)):
    return db.query(User).all()

def get_db():
    with SessionLocal() as db:
        yield db
"""),
    Case(_APP + """
@app.get("/engine")
def engine_info():
    with engine.connect() as conn:
        return conn.execute("SELECT version()").scalar()
""", note="an engine connection in a with block is not a session"),
    Case(_APP + """
from starlette.background import BackgroundTasks

def job():
    db = SessionLocal()
    try:
        db.query(User).delete()
        db.commit()
    finally:
        db.close()

@app.post("/purge")
def purge(tasks: BackgroundTasks):
    tasks.add_task(job)
    return "queued"
""", note="a background task builds its own session outside the route"),
    Case(_APP + """
@app.get("/users")
async def users():
    async with AsyncSessionLocal() as session:
        return await session.execute("SELECT 1")
"""),
    Case(_APP + """
class Service:
    @app.get("/x")
    def x(self):
        return 1

@app.get("/factory")
def factory():
    return {"factory": SessionLocal.kw}
""", note="touching the factory is not building a session"),
]
