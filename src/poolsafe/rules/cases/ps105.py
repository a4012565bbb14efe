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

# fix54: the project's dependency for the same factory enters it with the other `with`
# (`async with SessionLocal()` on a sync sessionmaker): a sync Session has no
# `__aenter__`, so that dependency raises TypeError on every request. main 3e193d9 used
# it (fixcorpus54's tune zeelsheth01/ai-interview-assistant: five routes answering 500);
# the fix now writes its own `get_db` beside the route instead.
_SYNC_FACTORY = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/shop"))
"""

INVALID += [
    Case("""
from fastapi import APIRouter
from sqlalchemy.orm import Session
from shop.database import SessionLocal
router = APIRouter()

@router.get("/carts/{cart_id}")
async def read_cart(cart_id: int):
    db: Session = SessionLocal()  # expect: PS105
    cart = db.get(Cart, cart_id)
    db.close()
    return {"id": cart_id, "lines": cart.line_count}
""", files={"shop/__init__.py": "", "shop/database.py": _SYNC_FACTORY,
            "shop/deps.py": """
from shop.database import SessionLocal

async def get_db():
    async with SessionLocal() as session:
        yield session
"""}, path="shop/carts.py",
         note="the project's dependency enters the sync session with async with"),
    Case("""
from fastapi import APIRouter
from shop.database import SessionLocal
router = APIRouter()

@router.post("/carts/{cart_id}/preview")
def preview(cart_id: int, sku: str):
    db = SessionLocal()  # expect: PS105
    db.add(CartLine(cart_id=cart_id, sku=sku))
    db.flush()
    total = db.get(Cart, cart_id).total
    db.close()
    return {"total": total}
""", files={"shop/__init__.py": "", "shop/database.py": _SYNC_FACTORY,
            "shop/deps.py": """
from shop.database import SessionLocal

def get_db():
    db = SessionLocal()
    try:
        yield db
        db.commit()
    finally:
        db.close()
"""}, path="shop/carts.py",
         note="the project's dependency commits what the route leaves uncommitted"),
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
    Case("""
from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session
from shop.deps import get_db
router = APIRouter()

@router.get("/carts/{cart_id}")
async def read_cart(cart_id: int, db: Session = Depends(get_db)):
    return {"id": cart_id, "lines": db.get(Cart, cart_id).line_count}
""", files={"shop/__init__.py": "", "shop/database.py": _SYNC_FACTORY,
            "shop/deps.py": """
from shop.database import SessionLocal

def get_db():
    with SessionLocal() as session:
        yield session
"""}, path="shop/carts.py",
         note="fix54 look-alike: the route takes the session from a dependency that "
              "enters it with the right with"),
]
