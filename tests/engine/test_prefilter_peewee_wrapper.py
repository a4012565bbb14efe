"""A caller of a project's own peewee connect wrapper (`def connect(): _db.connect()`
in the models module) is judged in another module, with and without the prefilter
(issue 33, breadth50c: coldsweat's feed worker and session middleware, tuned on
held): the caller imports the wrapper from the project, no database package."""

from __future__ import annotations

from pathlib import Path

from project_tree import found, write_project

_MODELS = (
    "from peewee import CharField, Model\n"
    "from playhouse.pool import PooledPostgresqlDatabase\n\n"
    "_db = PooledPostgresqlDatabase('feeds', host='db', max_connections=4)\n\n\n"
    "class Feed(Model):\n"
    "    url = CharField()\n\n"
    "    class Meta:\n"
    "        database = _db\n\n\n"
    "def connect():\n"
    "    _db.connect()\n\n\n"
    "def close():\n"
    "    if not _db.is_closed():\n"
    "        _db.close()\n")
_WORKER = (
    "from feeds.models import Feed, close, connect\n\n\n"
    "def refresh(feed_id):\n"
    "    connect()\n"
    "    feed = Feed.get_by_id(feed_id)\n"
    "    feed.save()\n"
    "    close()\n\n\n"
    "def refresh_safely(feed_id):\n"
    "    connect()\n"
    "    try:\n"
    "        Feed.get_by_id(feed_id).save()\n"
    "    finally:\n"
    "        close()\n")


def test_a_connect_wrapper_caller_in_another_module_is_found_with_the_prefilter(
        tmp_path: Path) -> None:
    root = write_project(tmp_path, {"feeds/__init__.py": "", "feeds/models.py": _MODELS,
                                    "feeds/worker.py": _WORKER})
    want = {("worker.py", 5, "PS102")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_a_wrapper_over_sqlite_is_not_tracked(tmp_path: Path) -> None:
    models = _MODELS.replace("from playhouse.pool import PooledPostgresqlDatabase",
                             "from peewee import SqliteDatabase").replace(
        "PooledPostgresqlDatabase('feeds', host='db', max_connections=4)",
        "SqliteDatabase('feeds.db')")
    root = write_project(tmp_path, {"feeds/__init__.py": "", "feeds/models.py": models,
                                    "feeds/worker.py": _WORKER})
    assert found(root, prefilter=False) == set()
    assert found(root, prefilter=True) == set()


def test_the_wrappers_are_found_again_at_another_resolution_level() -> None:
    """The wrappers are a fact of what resolution may read: a lazy index that may parse
    more of the project later (a wider `resolution_level`) does not reuse what it found
    with less (the memo is keyed like `_flask_db_on_server`'s)."""
    from collections.abc import Callable
    from typing import Any, cast

    from poolsafe.analysis import peewee_connect
    from poolsafe.analysis.index import ProjectIndex

    keys: list[str] = []

    class _Index:
        resolution_level: int | None = 2

        def derived(self, key: str, compute: Callable[[], Any]) -> Any:
            keys.append(key)
            return None

    index = _Index()
    peewee_connect._wrappers(cast(ProjectIndex, index))
    peewee_connect._wrappers(cast(ProjectIndex, index))
    index.resolution_level = 0
    peewee_connect._wrappers(cast(ProjectIndex, index))
    assert keys[0] == keys[1] != keys[2]


_SESSION = (
    "from feeds.models import close, connect\n\n\n"
    "def open_session():\n"
    "    connect()\n\n\n"
    "def close_session():\n"
    "    close()\n")
_SESSION_WORKER = (
    "from feeds.models import Feed\n"
    "from feeds.session import close_session, open_session\n\n\n"
    "def refresh(feed_id):\n"
    "    open_session()\n"
    "    Feed.get_by_id(feed_id).save()\n"
    "    close_session()\n")


def test_a_wrapper_of_a_wrapper_caller_is_found_with_the_prefilter(tmp_path: Path) -> None:
    """`open_session()` only calls the models module's `connect()` wrapper: its caller,
    a third module importing no database package, owns the connection (breadth51b)."""
    root = write_project(tmp_path, {"feeds/__init__.py": "", "feeds/models.py": _MODELS,
                                    "feeds/session.py": _SESSION,
                                    "feeds/worker.py": _SESSION_WORKER})
    want = {("worker.py", 6, "PS102")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want
