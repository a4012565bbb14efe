"""SQLModel: `Session(engine)` is a SQLAlchemy session and `create_engine` an engine,
so PS102, PS104, PS105 and PS106 read it as they read SQLAlchemy's."""

from poolsafe.rules.base import Case

_MODELS = """\
from sqlmodel import Field, Session, SQLModel, create_engine, select


class Hero(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str


engine = create_engine("postgresql://app@db/heroes")
"""

_API = _MODELS + """
from fastapi import Depends, FastAPI

app = FastAPI()
"""

#: why `poolsafe fix` leaves a use after a release (PS106's own wording)
_USE = "a use after the release: move the release after it"

PS102_INVALID: list[Case] = [
    Case(_MODELS + """

def rename(hero_id: int, name: str):
    session = Session(engine)  # expect: PS102
    hero = session.get(Hero, hero_id)
    hero.name = name
    session.add(hero)
    session.commit()
    session.close()
""", note="SQLModel's Session closed only on the happy path"),
    Case(_MODELS + """

def count_heroes():
    session = Session(engine)  # expect: PS102
    return len(session.exec(select(Hero)).all())
""", note="never closed"),
]

PS102_VALID: list[Case] = [
    Case(_MODELS + """

def rename(hero_id: int, name: str):
    with Session(engine) as session:
        hero = session.get(Hero, hero_id)
        hero.name = name
        session.add(hero)
        session.commit()
""", note="with Session(engine) closes it"),
    Case(_MODELS + """

def count_heroes():
    session = Session(engine)
    try:
        return len(session.exec(select(Hero)).all())
    finally:
        session.close()
""", note="closed in finally"),
]

PS104_INVALID: list[Case] = [
    Case(_API + """

def get_session():
    with Session(engine) as session:
        return session  # expect: PS104


@app.get("/heroes")
def heroes(session: Session = Depends(get_session)):
    return session.exec(select(Hero)).all()
""", note="the with closes the session as the dependency returns"),
]

PS104_VALID: list[Case] = [
    Case(_API + """

def get_session():
    with Session(engine) as session:
        yield session


@app.get("/heroes")
def heroes(session: Session = Depends(get_session)):
    return session.exec(select(Hero)).all()
""", note="SQLModel's documented dependency"),
]

PS105_INVALID: list[Case] = [
    Case(_API + """

@app.post("/heroes")
def create_hero(hero: Hero):
    session = Session(engine)  # expect: PS105
    session.add(hero)
    session.commit()
    session.refresh(hero)
    session.close()
    return hero
""", note="a session made by hand in the route"),
]

PS105_VALID: list[Case] = [
    Case(_API + """

def get_session():
    with Session(engine) as session:
        yield session


@app.post("/heroes")
def create_hero(hero: Hero, session: Session = Depends(get_session)):
    session.add(hero)
    session.commit()
    session.refresh(hero)
    return hero
""", note="the session from the dependency"),
]

PS106_INVALID: list[Case] = [
    Case(_MODELS + """

def first_hero():
    with Session(engine) as session:
        heroes = session.exec(select(Hero))
    return session.exec(select(Hero)).first()  # expect: PS106
""", note="a query on the session after its with closed it", unfixable=_USE),
]

PS106_VALID: list[Case] = [
    Case(_MODELS + """

def first_hero():
    with Session(engine) as session:
        return session.exec(select(Hero)).first()
""", note="the query inside the with"),
]
