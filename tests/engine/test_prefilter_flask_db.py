"""The prefilter selects a module that connects a playhouse FlaskDB by hand
(`flask_db.connect_db()` in a worker thread) when the FlaskDB lives in another
module (issue 33, breadth50b: RocketMap's db-updater thread): such a module imports
the FlaskDB from the project, no database package, so only the method's name makes
it a seed."""

from __future__ import annotations

from pathlib import Path

from project_tree import found, write_project

_MODELS = (
    "from flask import Flask\n"
    "from peewee import CharField\n"
    "from playhouse.flask_utils import FlaskDB\n"
    "from playhouse.pool import PooledPostgresqlDatabase\n\n"
    "flask_db = FlaskDB()\n\n\n"
    "class Event(flask_db.Model):\n"
    "    name = CharField()\n\n\n"
    "def create_app():\n"
    "    app = Flask(__name__)\n"
    "    flask_db._load_database(app, PooledPostgresqlDatabase('events', host='db'))\n"
    "    return app\n")
_WORKER = (
    "import time\n\n"
    "from events.models import Event, flask_db\n\n\n"
    "def writer(queue):\n"
    "    while True:\n"
    "        try:\n"
    "            flask_db.connect_db()\n"
    "            while True:\n"
    "                Event.create(name=queue.get())\n"
    "        except Exception:\n"
    "            time.sleep(5)\n")


def test_a_flask_db_connect_in_another_module_is_found_with_the_prefilter(
        tmp_path: Path) -> None:
    root = write_project(tmp_path, {"events/__init__.py": "", "events/models.py": _MODELS,
                                    "events/worker.py": _WORKER})
    want = {("worker.py", 9, "PS102")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_a_flask_db_given_only_sqlite_is_not_tracked(tmp_path: Path) -> None:
    models = _MODELS.replace("from playhouse.pool import PooledPostgresqlDatabase",
                             "from peewee import SqliteDatabase").replace(
        "PooledPostgresqlDatabase('events', host='db')", "SqliteDatabase('events.db')")
    root = write_project(tmp_path, {"events/__init__.py": "", "events/models.py": models,
                                    "events/worker.py": _WORKER})
    assert found(root, prefilter=False) == set()
    assert found(root, prefilter=True) == set()
