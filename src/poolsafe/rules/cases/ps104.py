"""PS104 session-dependency-returns: INVALID cases mark the `return`."""

from poolsafe.rules.base import Case

_DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
engine = create_engine("postgresql://localhost/app")
SessionLocal = sessionmaker(bind=engine)
"""

_ROUTE = """
from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/users")
def users(db=Depends(get_db)):
    return db.query(User).all()
"""

INVALID: list[Case] = [
    Case("""
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

Factory = async_sessionmaker(create_async_engine("postgresql+asyncpg://app@db/app"))
app = FastAPI()


async def get_session():
    async with Factory() as session:
        return session  # expect: PS104


@app.get("/items")
async def items(session: AsyncSession = Depends(get_session)):
    return await session.execute("SELECT 1")
""", note="the `async with` closes the session as the dependency returns; the fix yields "
           "it inside the block"),
    Case(_DB + """
def get_db():
    db = SessionLocal()
    try:
        return db  # expect: PS104
    finally:
        db.close()
""" + _ROUTE, note="the finally closes the session before the route runs"),
    Case(_DB + """
def get_db():
    return SessionLocal()  # expect: PS104
""" + _ROUTE, note="nothing ever closes the session"),
    Case(_DB + """
def get_db():
    db = SessionLocal()
    return db  # expect: PS104
""" + _ROUTE),
    Case(_DB + """
from sqlalchemy.orm import Session

def get_session():
    return Session(engine)  # expect: PS104

from fastapi import Depends, APIRouter
router = APIRouter()

@router.post("/items")
def create(item: dict, session=Depends(get_session)):
    session.add(Item(**item))
""", note="Session(engine), an APIRouter"),
    Case("""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
engine = create_async_engine("postgresql+asyncpg://localhost/app")
async_session = async_sessionmaker(engine)

async def get_session():
    session = async_session()
    return session  # expect: PS104

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
async def index(session=Depends(get_session)):
    return await session.scalar(1)
""", note="async_sessionmaker"),
    Case(_DB + """
def get_db():
    return SessionLocal()  # expect: PS104
""", files={"main.py": """
from deps import get_db
from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/users")
def users(db=Depends(get_db)):
    return db.query(User).all()
"""}, path="deps.py", note="the dependency is used from another module"),
    Case(_DB + """
from typing import Annotated
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

def get_db():
    if engine is None:
        raise RuntimeError("no engine")
    return SessionLocal()  # expect: PS104

DB = Annotated[Session, Depends(get_db)]
app = FastAPI()
""", note="Annotated dependency alias"),
    Case(_DB + """
def get_conn():
    return engine.connect()  # expect: PS104

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/n")
def n(conn=Depends(get_conn)):
    return conn.execute("SELECT 1").scalar()
""", note="an engine connection returned from a dependency"),
    Case(_DB + """
class Database:
    def session(self):
        return SessionLocal()  # expect: PS104

database = Database()

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
def index(db=Depends(database.session)):
    return db.query(User).count()
""", note="a bound method as dependency"),
    Case(_DB + """
from fastapi import Depends, FastAPI, Security
app = FastAPI()

def current_db():
    db = SessionLocal()
    db.info["request"] = True
    return db  # expect: PS104

@app.get("/me")
def me(db=Security(current_db)):
    return db.query(User).first()
""", note="Security() is Depends() too"),
]

VALID: list[Case] = [
    Case(_DB + """
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
""" + _ROUTE, note="the recommended form"),
    Case(_DB + """
def get_db():
    with SessionLocal() as db:
        yield db
""" + _ROUTE),
    Case(_DB + """
def make_session():
    return SessionLocal()
""", note="not used as a dependency: a plain factory"),
    Case(_DB + """
def get_settings():
    return {"dsn": "x"}

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
def index(settings=Depends(get_settings), db=Depends(get_db)):
    return settings
""", note="a dependency that returns something else"),
    Case("""
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
engine = create_async_engine("postgresql+asyncpg://localhost/app")
async_session = async_sessionmaker(engine)

async def get_session():
    async with async_session() as session:
        yield session

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
async def index(session=Depends(get_session)):
    return 1
"""),
    Case(_DB + """
def get_engine():
    return engine

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
def index(engine=Depends(get_engine)):
    with engine.connect() as conn:
        return conn.execute("SELECT 1").scalar()
""", note="returning the engine is fine"),
    Case(_DB + """
def get_user_repo():
    return UserRepository(SessionLocal)

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
def index(repo=Depends(get_user_repo)):
    return repo.count()
""", note="returning a repository that holds the factory"),
    Case(_DB + """
def get_db():
    db = SessionLocal()
    try:
        yield db
        db.commit()
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()
""" + _ROUTE),
    Case(_DB + """
def get_pagination(page: int = 1):
    return page

from fastapi import Depends, FastAPI
app = FastAPI()

@app.get("/")
def index(page=Depends(get_pagination)):
    return page
"""),
    Case(_DB + """
def get_db():
    return SessionLocal()

def handler():
    db = get_db()
    try:
        return db.query(User).all()
    finally:
        db.close()
""", note="a factory named get_db that is not a Depends() dependency"),
]

# Issue 31, round 37 (prec80; breadth79b's held SQLModel application): a dependency that
# returns a live session (built at the `return`, no `with` or `finally` of its own
# closing it) is no leak when every `Depends(...)` of it in the project is a parameter
# of a function that closes the session it receives: each use inside `with session:`
# (a Session's `with` closes it on exit), or the session handed to a project function
# that does the same. A SQLAlchemy session checks out a connection only when used, so a
# session used only inside the `with` holds nothing outside it. One route that uses it
# outside a `with`, a `Depends()` in a router's `dependencies=[...]`, or an `Annotated`
# alias whose users are not followed, keeps the finding.
_SQLMODEL_RETURNING = """\
from fastapi import APIRouter, Depends
from sqlmodel import Session, create_engine, select

engine = create_engine("postgresql://app@db/cds")


def session_maker():
    return Session(engine){mark}


router = APIRouter()
"""

_TEAMS_ROUTE = """

@router.get("/teams")
def teams(session: Session = Depends(session_maker)):
    with session:
        return session.exec(select(Team)).all()
"""

_TEAM_HANDED = """

def team_score(team_id: int, session: Session):
    with session:
        return session.get(Team, team_id)


@router.get("/teams/{team_id}")
def team(team_id: int, session: Session = Depends(session_maker)):
    return team_score(team_id=team_id, session=session)
"""

INVALID_ROUND37: list[Case] = [
    Case(_SQLMODEL_RETURNING.format(mark="  # expect: PS104") + _TEAMS_ROUTE + """

@router.get("/count")
def count(session: Session = Depends(session_maker)):
    return len(session.exec(select(Team)).all())
""", note="one route uses the session outside any `with`: nothing closes it"),
    Case(_SQLMODEL_RETURNING.format(mark="  # expect: PS104") + _TEAMS_ROUTE + """

@router.get("/first")
def first(session: Session = Depends(session_maker)):
    team = session.exec(select(Team)).first()
    with session:
        return team
""", note="the first query runs before the `with`: an exception there leaves the "
          "session's connection checked out"),
    Case(_SQLMODEL_RETURNING.format(mark="  # expect: PS104") + _TEAMS_ROUTE + """

admin = APIRouter(dependencies=[Depends(session_maker)])
""", note="a router-level dependency: no function receives the session to close it"),
    Case(_SQLMODEL_RETURNING.format(mark="  # expect: PS104") + """

def team_score(team_id: int, session: Session):
    return session.get(Team, team_id)


@router.get("/teams/{team_id}")
def team(team_id: int, session: Session = Depends(session_maker)):
    return team_score(team_id=team_id, session=session)
""", note="the route hands the session to a helper that does not close it"),
    Case("""\
from fastapi import APIRouter, Depends
from sqlmodel import Session, create_engine, select

engine = create_engine("postgresql://app@db/cds")


def session_maker():
    session = Session(engine)
    try:
        return session  # expect: PS104
    finally:
        session.close()


router = APIRouter()
""" + _TEAMS_ROUTE, note="the dependency's own `finally` closes the session before the "
                         "route runs: the route's `with` gets a closed session"),
]

VALID_ROUND37: list[Case] = [
    Case(_SQLMODEL_RETURNING.format(mark="") + _TEAMS_ROUTE,
         note="the only route closes the session it receives with `with session:`"),
    Case(_SQLMODEL_RETURNING.format(mark="") + _TEAMS_ROUTE + _TEAM_HANDED,
         note="one route closes it itself, the other hands it to a function that does"),
    Case(_SQLMODEL_RETURNING.format(mark="") + """

@router.get("/teams")
async def teams(session: Session = Depends(session_maker)):
    \"\"\"List the teams.\"\"\"
    with session as s:
        return s.exec(select(Team)).all()
""", note="`with session as s:` closes the same session"),
]

# Issue 31, round 37 (prec81): the same closing test through FastAPI's documented
# `SessionDep = Annotated[Session, Depends(dep)]` alias -- every parameter annotated
# with the alias (in its module, or under a `from ... import` of it) must close what
# it receives; any other use of the alias's name keeps the finding.
_ANNOTATED_DB = """\
from typing import Annotated

from fastapi import Depends
from sqlmodel import Session, create_engine

engine = create_engine("postgresql://app@db/cds")


def get_session():
    return Session(engine){mark}


SessionDep = Annotated[Session, Depends(get_session)]
"""

_ANNOTATED_ROUTES = """\
from fastapi import APIRouter
from sqlmodel import select

from app.db import SessionDep
from app.models import Team

router = APIRouter()


@router.get("/teams")
def teams(session: SessionDep):
    with session:
        return session.exec(select(Team)).all()
"""

VALID_ROUND37 += [
    Case(_ANNOTATED_ROUTES + """

@router.get("/teams/{team_id}")
def team(team_id: int, session: SessionDep):
    with session as s:
        return s.get(Team, team_id)
""", path="app/routes.py",
         files={"app/__init__.py": "", "app/db.py": _ANNOTATED_DB.format(mark="")},
         note="every parameter annotated with the `Annotated` alias closes its session"),
    Case(_ANNOTATED_DB.format(mark="") + """

def count(session: SessionDep):
    with session:
        return session.exec("SELECT count(*) FROM team").one()
""", note="the alias's user in its own module closes the session"),
]

INVALID_ROUND37 += [
    Case(_ANNOTATED_DB.format(mark="  # expect: PS104"), path="app/db.py",
         files={"app/__init__.py": "", "app/routes.py": _ANNOTATED_ROUTES + """

@router.get("/count")
def count(session: SessionDep):
    return len(session.exec(select(Team)).all())
"""}, note="one route annotated with the alias uses the session outside any `with`"),
    Case(_ANNOTATED_DB.format(mark="  # expect: PS104"), path="app/db.py",
         files={"app/__init__.py": "", "app/routes.py": _ANNOTATED_ROUTES + """

from typing import Optional


@router.get("/first")
def first(session: Optional[SessionDep] = None):
    return session.exec(select(Team)).first()
"""},
         note="the alias inside another annotation: that user is not followed"),
    Case(_ANNOTATED_DB.format(mark="  # expect: PS104"), path="app/db.py",
         files={"app/__init__.py": "", "app/routes.py": _ANNOTATED_ROUTES + """

from app import db


@router.get("/first")
def first(session: db.SessionDep):
    return session.exec(select(Team)).first()
"""}, note="the alias reached as a module attribute: that user is not followed"),
    Case(_ANNOTATED_DB.format(mark="  # expect: PS104") + """

def count(session: SessionDep):
    return session.exec("SELECT count(*) FROM team").one()
""", note="the alias's user in its own module never closes the session"),
]
