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
