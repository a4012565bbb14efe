"""Safe fixes that changed behaviour, found by the fix54 audit (benchmarks/fixcorpus54.txt,
labels/fixcorpus54.hunks), each shown before and after, with the fixed text re-parsed and
fixed again to nothing:

- PS105 took the session from the project's dependency for the same factory although that
  dependency enters a sync session with `async with` (tune half,
  zeelsheth01/ai-interview-assistant: `async def get_db(): async with SessionLocal() as
  session: yield session` over a sync `sessionmaker`, used by no route). A sync `Session`
  has no `__aenter__`: every rewritten route raised TypeError (a 500) where it had worked.
  The fix now passes such a dependency over and writes `get_db` beside the route;
- (probing) PS105 took the session from the project's dependency although that
  dependency commits after the yield: what the route left uncommitted, which the
  original's `close()` discarded, was stored. Such a dependency is passed over too;
- two routes of one module each given a new `get_db` in one pass got two definitions of
  it; the second route now waits for the next pass and takes the first's.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
from fix_checks import checked, fix_one

from poolsafe.rules.cases import ps105


def _case(cases: list[ps105.Case], phrase: str) -> ps105.Case:
    (case,) = [c for c in cases if phrase in c.note]
    return case


def _files(case: ps105.Case) -> dict[str, str]:
    return {**case.files, case.path: case.code}


CASE = _case(ps105.INVALID, "enters the sync session with async with")


def test_a_dependency_entered_with_the_other_with_is_passed_over() -> None:
    text, left, applied = fix_one("PS105", _files(CASE), CASE.path, unsafe=False)
    assert applied == [True] and not left, left
    # main 3e193d9 wrote `from shop.deps import get_db` and `Depends(get_db)`: that
    # dependency raises TypeError before the route runs
    assert "shop.deps" not in text
    assert "\ndef get_db():\n    db = SessionLocal()\n    try:\n        yield db\n" \
           "    finally:\n        db.close()\n" in text
    assert "async def read_cart(cart_id: int, db: Session = Depends(get_db)):\n" in text
    assert "db.close()" not in text.split("async def read_cart")[1]
    checked("PS105", {**CASE.files, CASE.path: text})


def test_a_dependency_entered_with_the_right_with_is_still_used() -> None:
    deps = CASE.files["shop/deps.py"].replace(
        "async def get_db():\n    async with SessionLocal() as session:\n",
        "def get_db():\n    with SessionLocal() as session:\n")
    files = {**CASE.files, "shop/deps.py": deps, CASE.path: CASE.code}
    text, left, applied = fix_one("PS105", files, CASE.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "from shop.deps import get_db\n" in text and "def get_db" not in text
    checked("PS105", {**files, CASE.path: text})


def test_an_async_dependency_of_an_async_factory_is_still_used() -> None:
    database = (
        "\nfrom sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine\n"
        "SessionLocal = async_sessionmaker(create_async_engine("
        "\"postgresql+asyncpg://localhost/shop\"))\n")
    route = CASE.code.replace("    cart = db.get(Cart, cart_id)\n    db.close()\n",
                              "    cart = await db.get(Cart, cart_id)\n"
                              "    await db.close()\n")
    files = {**CASE.files, "shop/database.py": database, CASE.path: route}
    text, left, applied = fix_one("PS105", files, CASE.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "from shop.deps import get_db\n" in text and "def get_db" not in text
    checked("PS105", {**files, CASE.path: text})


TWO_ROUTES = '''\
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
SessionLocal = sessionmaker(bind=create_engine("postgresql://localhost/shop"))
app = FastAPI()


@app.get("/a")
def a():
    db = SessionLocal()
    n = db.execute("SELECT 1").scalar()
    db.close()
    return n


@app.get("/b")
def b():
    db = SessionLocal()
    n = db.execute("SELECT 2").scalar()
    db.close()
    return n
'''


def test_two_routes_of_one_module_share_one_new_dependency() -> None:
    text, left, applied = fix_one("PS105", {"main.py": TWO_ROUTES}, "main.py", unsafe=False)
    assert applied == [True, True] and not left, left
    # main wrote `def get_db()` twice, once above each route
    assert text.count("def get_db():") == 1
    assert "def a(db: Session = Depends(get_db)):\n" in text
    assert "def b(db: Session = Depends(get_db)):\n" in text
    assert "SessionLocal()" in text.split("def a(")[0]
    checked("PS105", {"main.py": text})


# ------------------------------------------------------------- executed, FastAPI
# The same shape run for real (SQLite in memory), as the original, as main wrote it and as
# the fix writes it now.
_DATABASE = '''\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
engine = create_engine("sqlite://", poolclass=StaticPool,
                       connect_args={"check_same_thread": False})
SessionLocal = sessionmaker(bind=engine)
'''
#: the case's dependency (`async with` on the sync factory), on the executable package
_DEPS = CASE.files["shop/deps.py"].replace("from shop.", "from shopx.")
_ROUTE = '''\
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session
from shopx.database import SessionLocal
app = FastAPI()

@app.get("/total/{n}")
async def total(n: int):
    db: Session = SessionLocal()
    value = db.execute(text("SELECT 40 + :n"), {"n": n}).scalar()
    db.close()
    return {"total": value}
'''
#: what main 3e193d9 wrote for `_ROUTE`
_ROUTE_AT_MAIN = '''\
from fastapi import FastAPI, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session
from shopx.deps import get_db
app = FastAPI()

@app.get("/total/{n}")
async def total(n: int, db: Session = Depends(get_db)):
    value = db.execute(text("SELECT 40 + :n"), {"n": n}).scalar()
    return {"total": value}
'''


@pytest.fixture
def shopx() -> Iterator[None]:
    names = ("shopx", "shopx.database", "shopx.deps")
    package = types.ModuleType("shopx")
    package.__path__ = []
    sys.modules["shopx"] = package
    for name, source in (("shopx.database", _DATABASE), ("shopx.deps", _DEPS)):
        module = types.ModuleType(name)
        sys.modules[name] = module
        exec(compile(source, name, "exec"), module.__dict__)
    try:
        yield
    finally:
        for name in names:
            sys.modules.pop(name, None)


def _get(route: str, path: str) -> object:
    from fastapi.testclient import TestClient

    namespace: dict[str, object] = {"__name__": "shopx.routes"}
    exec(compile(route, "shopx/routes.py", "exec"), namespace)
    with TestClient(namespace["app"]) as client:  # type: ignore[arg-type]
        return client.get(path).json()


def test_executed_original_main_and_fix(shopx: None) -> None:
    assert _get(_ROUTE, "/total/2") == {"total": 42}
    with pytest.raises(TypeError, match="asynchronous context manager"):
        _get(_ROUTE_AT_MAIN, "/total/2")
    files = {"shopx/__init__.py": "", "shopx/database.py": _DATABASE,
             "shopx/deps.py": _DEPS, "shopx/routes.py": _ROUTE}
    fixed, left, applied = fix_one("PS105", files, "shopx/routes.py", unsafe=False)
    assert applied == [True] and not left, left
    assert "shopx.deps" not in fixed and "def get_db():" in fixed
    assert _get(fixed, "/total/2") == {"total": 42}
    checked("PS105", {**files, "shopx/routes.py": fixed})


# ------------------------------------------------ a dependency that commits (probing)
COMMITS = _case(ps105.INVALID, "commits what the route leaves uncommitted")


def test_a_dependency_that_commits_is_passed_over() -> None:
    text, left, applied = fix_one("PS105", _files(COMMITS), COMMITS.path, unsafe=False)
    assert applied == [True] and not left, left
    # main 3e193d9 wrote `from shop.deps import get_db`: its `db.commit()` after the
    # yield stores the previewed line the original's close discarded
    assert "shop.deps" not in text and "def get_db():" in text
    assert "def preview(cart_id: int, sku: str, db: Session = Depends(get_db)):\n" in text
    checked("PS105", {**COMMITS.files, COMMITS.path: text})


#: the case's committing dependency, on the executable package
_COMMITTING_DEPS = COMMITS.files["shop/deps.py"].replace("from shop.", "from shopx.")
_PREVIEW = '''\
from fastapi import FastAPI
from sqlalchemy import text
from shopx.database import SessionLocal
app = FastAPI()

@app.post("/preview/{n}")
def preview(n: int):
    db = SessionLocal()
    db.execute(text("INSERT INTO lines (n) VALUES (:n)"), {"n": n})
    total = db.execute(text("SELECT count(*) FROM lines")).scalar()
    db.close()
    return {"total": total}

@app.get("/stored")
def stored():
    with SessionLocal() as db:
        return {"stored": db.execute(text("SELECT count(*) FROM lines")).scalar()}
'''
#: what main 3e193d9 wrote for `_PREVIEW`'s first route
_PREVIEW_AT_MAIN = _PREVIEW.replace(
    "from fastapi import FastAPI\n", "from fastapi import FastAPI, Depends\n"
).replace(
    "from shopx.database import SessionLocal\n",
    "from shopx.database import SessionLocal\nfrom shopx.deps import get_db\n"
    "from sqlalchemy.orm import Session\n",
).replace(
    "def preview(n: int):\n    db = SessionLocal()\n",
    "def preview(n: int, db: Session = Depends(get_db)):\n",
).replace("    db.close()\n    return {\"total\": total}\n", "    return {\"total\": total}\n")


def _stored_after_preview(route: str) -> object:
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    database = sys.modules["shopx.database"]
    with database.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(text("CREATE TABLE IF NOT EXISTS lines (n INTEGER)"))
        conn.execute(text("DELETE FROM lines"))
    namespace: dict[str, object] = {"__name__": "shopx.routes"}
    exec(compile(route, "shopx/routes.py", "exec"), namespace)
    with TestClient(namespace["app"]) as client:  # type: ignore[arg-type]
        assert client.post("/preview/7").json() == {"total": 1}
        return client.get("/stored").json()


def test_executed_committing_dependency(shopx: None) -> None:
    deps = types.ModuleType("shopx.deps")
    sys.modules["shopx.deps"] = deps
    exec(compile(_COMMITTING_DEPS, "shopx.deps", "exec"), deps.__dict__)
    assert _stored_after_preview(_PREVIEW) == {"stored": 0}
    assert _stored_after_preview(_PREVIEW_AT_MAIN) == {"stored": 1}
    files = {"shopx/__init__.py": "", "shopx/database.py": _DATABASE,
             "shopx/deps.py": _COMMITTING_DEPS, "shopx/routes.py": _PREVIEW}
    fixed, left, applied = fix_one("PS105", files, "shopx/routes.py", unsafe=False)
    assert applied == [True] and not left, left
    assert "shopx.deps" not in fixed and "def get_db():" in fixed
    assert _stored_after_preview(fixed) == {"stored": 0}
    checked("PS105", {**files, "shopx/routes.py": fixed})


# ----------------------- a dependency that does other work of its own (after fix54)
@pytest.mark.parametrize("extra", [
    '    db.execute(text("SET search_path TO tenant"))\n',
    '    event.listen(db, "after_begin", audit)\n',
])
def test_a_dependency_that_does_more_is_passed_over(extra: str) -> None:
    """A project dependency that runs a statement or registers a listener on the session
    would change what the route's session does: the fix writes its own `get_db`."""
    deps = ("\nfrom sqlalchemy import event, text\nfrom shop.database import SessionLocal\n"
            "from shop.audit import audit\n\ndef get_db():\n    db = SessionLocal()\n"
            f"{extra}    try:\n        yield db\n    finally:\n        db.close()\n")
    files = {**COMMITS.files, "shop/deps.py": deps,
             "shop/audit.py": "def audit(*args):\n    pass\n"}
    text, left, applied = fix_one("PS105", {**files, COMMITS.path: COMMITS.code},
                                  COMMITS.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "shop.deps" not in text and "def get_db():" in text
    checked("PS105", {**files, COMMITS.path: text})


def test_a_dependency_that_rolls_back_and_reraises_is_still_used() -> None:
    deps = ("\nfrom shop.database import SessionLocal\n\ndef get_db():\n"
            "    db = SessionLocal()\n    try:\n        yield db\n    except Exception:\n"
            "        db.rollback()\n        raise\n    finally:\n        db.close()\n")
    files = {**COMMITS.files, "shop/deps.py": deps}
    text, left, applied = fix_one("PS105", {**files, COMMITS.path: COMMITS.code},
                                  COMMITS.path, unsafe=False)
    assert applied == [True] and not left, left
    assert "from shop.deps import get_db\n" in text and "def get_db" not in text
    checked("PS105", {**files, COMMITS.path: text})
