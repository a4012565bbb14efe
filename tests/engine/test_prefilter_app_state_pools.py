"""The prefilter selects a module that checks a connection out of a pool kept in an
aiohttp application's state (`request.app["engine"].acquire()`) in a project that
imports aiopg or aiomysql (issue 33, breadth44: a PS207 miss on a public aiohttp
application): that module imports no database package, its pool came through
`app`, so its words alone never selected it."""

from __future__ import annotations

from pathlib import Path

from project_tree import found, write_project

from poolsafe.scan.prefilter import app_state_pool_seeds

_DB = (
    "import aiomysql.sa\n\n\n"
    "async def engine_ctx(app):\n"
    "    app['engine'] = await aiomysql.sa.create_engine(host='db', user='u', db='d')\n"
    "    yield\n"
    "    app['engine'].close()\n"
    "    await app['engine'].wait_closed()\n")
_SERVICE = (
    "import asyncio\n\n\n"
    "async def transfer(request):\n"
    "    async with request.app['engine'].acquire() as conn:\n"
    "        trans = await conn.begin()\n"
    "        await conn.execute('UPDATE account SET balance = balance - 1')\n"
    "        await asyncio.sleep(10)\n"
    "        await trans.commit()\n")


def test_an_app_state_checkout_is_found_with_the_prefilter(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"bank/__init__.py": "", "bank/db.py": _DB,
                               "bank/transfer.py": _SERVICE})
    want = {("transfer.py", 8, "PS207")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_seeds_need_an_aio_pool_library_and_a_pool_key() -> None:
    service = _SERVICE.encode()
    assert app_state_pool_seeds([_DB.encode(), service]) == {1}
    # no aiopg / aiomysql anywhere: an `app[...]` object of another kind
    assert app_state_pool_seeds([b"import redis\n", service]) == set()
    # a key that names no pool (`app['cache'].acquire()`: a lock, a semaphore)
    other = service.replace(b"app['engine']", b"app['cache']")
    assert app_state_pool_seeds([_DB.encode(), other]) == set()


_APP = (
    "import tornado.web\n"
    "from aiopg.sa import create_engine\n\n"
    "from shop.handlers import StockHandler\n\n\n"
    "async def make_app(settings):\n"
    "    engine = await create_engine(**settings)\n"
    "    return tornado.web.Application([(r'/', StockHandler, {'db_engine': engine})])\n")
_HANDLERS = (
    "import tornado.web\n\n\n"
    "class StockHandler(tornado.web.RequestHandler):\n"
    "    def initialize(self, db_engine):\n"
    "        self.db_engine = db_engine\n\n"
    "    async def get(self):\n"
    "        conn = await self.db_engine.acquire()\n"
    "        rows = await conn.execute('SELECT 1')\n"
    "        self.write(str(rows))\n")


def test_a_checkout_from_an_object_kept_engine_is_found_with_the_prefilter(
        tmp_path: Path) -> None:
    """breadth49: a Tornado handler handed an aiopg.sa engine as an `initialize`
    keyword (`self.db_engine.acquire()`) in a module that imports no database
    package."""
    root = write_project(tmp_path, {"shop/__init__.py": "", "shop/app.py": _APP,
                                    "shop/handlers.py": _HANDLERS})
    want = {("handlers.py", 9, "PS102")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_attribute_seeds_need_a_pool_name_and_no_argument() -> None:
    handlers = _HANDLERS.encode()
    assert app_state_pool_seeds([_APP.encode(), handlers]) == {1}
    assert app_state_pool_seeds([b"import redis\n", handlers]) == set()
    # a lock (`self.db_lock.acquire()`) and an acquire with an argument
    lock = handlers.replace(b"self.db_engine.acquire()", b"self.db_lock.acquire()")
    assert app_state_pool_seeds([_APP.encode(), lock]) == set()
    timed = handlers.replace(b"self.db_engine.acquire()", b"self.db_engine.acquire(5)")
    assert app_state_pool_seeds([_APP.encode(), timed]) == set()


def test_reselect_decides_an_app_state_seed_from_its_own_file() -> None:
    """After an edit, `reselect` answers from the changed file alone when the
    project's aiopg/aiomysql import and the file's own app-state checkout keep their
    status, and gives the full selection's answer; it declines (None) when an edit
    adds the project's only aio import or turns a file into such a seed."""
    import copy

    from poolsafe.scan.prefilter import reselect, select

    modules = [(("bank.db",), "bank"), (("bank.transfer",), "bank"),
               (("bank.util",), "bank")]
    util = b"def slug(text):\n    return text.lower()\n"
    datas = [_DB.encode(), _SERVICE.encode(), util]
    state: dict[str, object] = {}
    select(datas, modules=modules, state=state)

    def again(edited: list[bytes], i: int) -> object:
        answer = reselect(edited, None, modules=modules, state=copy.deepcopy(state),
                          changed=[i])
        if answer is not None:
            fresh = select(edited, modules=modules)
            assert (answer.targets, answer.seeds) == (fresh.targets, fresh.seeds)
        return answer

    commented = _SERVICE.encode() + b"\n# edited\n"
    assert again([datas[0], commented, util], 1) is not None
    assert again([datas[0], datas[1], util + b"\n# edited\n"], 2) is not None
    # util now checks out of an object's pool in an aiopg project: a new seed
    seed = util + b"\n\nasync def peek(self):\n    return await self.db_engine.acquire()\n"
    assert again([datas[0], datas[1], seed], 2) is None
    # the only aio import goes: every app-state seed may change
    assert again([b"import asyncio\n", datas[1], util], 0) is None
