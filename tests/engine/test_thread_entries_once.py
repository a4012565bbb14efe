"""The project's thread entries (what runs on a `threading.Thread`, a `Timer`, an
executor) are searched once per index, not once per checked module (issue 32: on
mlflow, a Flask code base, PS206 searched every module that spells `Thread` or
`submit` again for each of the 600 files it checked; most of a 6-minute cold run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.scan.engine import scan
from poolsafe.scan.options import ScanOptions

_APP = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0"\n',
    "shop/__init__.py": (
        "from flask import Flask\nfrom flask_sqlalchemy import SQLAlchemy\n\n"
        "db = SQLAlchemy()\napp = Flask(__name__)\n"
        'app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/shop"\n'
        "db.init_app(app)\n"),
    "shop/models.py": (
        "from shop import db\n\n\n"
        "class Order(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"),
    "shop/jobs.py": (
        "import threading\n\nfrom shop import db\nfrom shop.models import Order\n\n\n"
        "def mark(order_id):\n    db.session.get(Order, order_id)\n\n\n"
        "def start(order_id):\n"
        "    threading.Thread(target=mark, args=(order_id,)).start()\n"),
}


def _views(n: int) -> dict[str, str]:
    return {f"shop/views{i}.py": (
        "from shop import app, db\nfrom shop.models import Order\n\n\n"
        f'@app.get("/o{i}")\ndef view{i}():\n    return str(db.session.get(Order, {i}))\n')
        for i in range(n)}


def _searches(tmp_path: Path, views: int, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[int, list[tuple[str, int, str]]]:
    import poolsafe.analysis.flask_threads as flask_threads

    calls = [0]
    threaded_target = flask_threads.threaded_target

    def counted(*args: object) -> object:
        calls[0] += 1
        return threaded_target(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(flask_threads, "threaded_target", counted)
    root = tmp_path / f"p{views}"
    for rel, text in {**_APP, **_views(views)}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    result = scan([str(root)], ScanOptions(prefilter=False, jobs=1))
    assert not result.errors
    return calls[0], sorted((Path(f.path).name, f.line, f.code) for f in result.findings
                            if f.code == "PS206")


def test_thread_entries_are_searched_once_per_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, found_one = _searches(tmp_path, 1, monkeypatch)
    many, found_many = _searches(tmp_path, 12, monkeypatch)
    # the thread's database use is found either way ...
    assert found_one == found_many == [("jobs.py", 8, "PS206")]
    # ... and twelve more checked modules do not search the registrations again
    assert one > 0
    assert many == one


def test_a_long_function_is_walked_once_for_its_local_classes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A call of a name nothing resolves may be a thread class defined in the same
    function (`class RepeatTimer(Timer)`): the function's classes are collected in
    one walk, not in a walk per such call (quadratic in a long function)."""
    import poolsafe.analysis.django_threads as django_threads

    walks: list[object] = []
    iter_nodes = django_threads.iter_nodes

    def counted(node: object, *args: object, **kwargs: object) -> object:
        walks.append(node)
        return iter_nodes(node, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(django_threads, "iter_nodes", counted)
    calls = "".join(f"    unknown_{i}()\n" for i in range(40))
    files = {**_APP, "shop/sweep.py": (
        "from threading import Timer\n\nfrom shop import db\n\n\n"
        "def sweep():\n    db.session.execute('delete from lock')\n\n\n"
        "def start():\n    class RepeatTimer(Timer):\n        pass\n\n" + calls
        + "    RepeatTimer(60, sweep).start()\n")}
    root = tmp_path / "p"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    result = scan([str(root)], ScanOptions(prefilter=False, jobs=1))
    assert not result.errors
    # the local Timer subclass is still seen: its target uses the database off-context
    assert ("sweep.py", 7) in [(Path(f.path).name, f.line) for f in result.findings
                               if f.code == "PS206"]
    bodies = [w for w in walks if type(w).__name__ == "IndentedBlock"]
    assert len(bodies) <= 2


def test_a_project_without_flask_sqlalchemy_does_not_look_for_thread_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A thread's use is of Flask-SQLAlchemy's `db` or of a `db.Model`, known only
    through an import naming `flask_sqlalchemy`: a Flask project that never spells
    it (its sessions are plain SQLAlchemy's) has none, and the whole project's thread
    registrations are not searched (issue 32: on mlflow they loaded 372 modules), nor
    its background jobs (PS206's other half: 119 more)."""
    import poolsafe.analysis.flask_threads as flask_threads

    searched: list[object] = []
    find_entries = flask_threads._find_entries

    def recorded(index: object) -> dict[int, str]:
        searched.append(index)
        return find_entries(index)  # type: ignore[arg-type]

    monkeypatch.setattr(flask_threads, "_find_entries", recorded)
    from poolsafe.analysis.project_facts import ProjectFacts

    jobs = ProjectFacts.jobs

    def jobs_recorded(self: ProjectFacts) -> dict[int, str]:
        searched.append(self)
        return jobs(self)

    monkeypatch.setattr(ProjectFacts, "jobs", jobs_recorded)
    plain = {
        "pyproject.toml": _APP["pyproject.toml"],
        "shop/__init__.py": (
            "from flask import Flask\nfrom sqlalchemy import create_engine\n"
            "from sqlalchemy.orm import sessionmaker\n\n"
            "app = Flask(__name__)\n"
            'Session = sessionmaker(create_engine("postgresql://app@db/shop"))\n'),
        "shop/jobs.py": (
            "import threading\n\nfrom shop import Session\n\n\n"
            "def mark(order_id):\n    with Session() as s:\n"
            "        s.execute('update o set paid = true')\n\n\n"
            "def start(order_id):\n"
            "    threading.Thread(target=mark, args=(order_id,)).start()\n"),
    }
    for name, files in (("plain", plain), ("flask_sqlalchemy", _APP)):
        root = tmp_path / name
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    result = scan([str(tmp_path / "plain")], ScanOptions(prefilter=False, jobs=1))
    assert not result.errors
    assert not searched
    assert not [f for f in result.findings if f.code == "PS206"]
    # the Flask-SQLAlchemy project still searches them, and is reported
    result = scan([str(tmp_path / "flask_sqlalchemy")], ScanOptions(prefilter=False, jobs=1))
    assert searched
    assert [(Path(f.path).name, f.code) for f in result.findings if f.code == "PS206"] == [
        ("jobs.py", "PS206")]


def test_a_checked_module_without_a_use_does_not_search_the_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`check FILE` on a module of a Flask-SQLAlchemy project none of whose functions
    uses `db` or a model, nor builds the app: neither the thread entries nor the
    background jobs are searched (issue 32: a fifth of an edit's check of superset's
    `db_engine_specs/gsheets.py`); a module with a use still searches them, and the
    findings are a whole-project scan's."""
    import poolsafe.analysis.flask_threads as flask_threads
    from poolsafe.analysis.project_facts import ProjectFacts

    searched: list[str] = []
    find_entries = flask_threads._find_entries
    jobs = ProjectFacts.jobs

    def recorded(index: object) -> dict[int, str]:
        searched.append("entries")
        return find_entries(index)  # type: ignore[arg-type]

    def jobs_recorded(self: ProjectFacts) -> dict[int, str]:
        searched.append("jobs")
        return jobs(self)

    monkeypatch.setattr(flask_threads, "_find_entries", recorded)
    monkeypatch.setattr(ProjectFacts, "jobs", jobs_recorded)
    files = {**_APP, "shop/report.py": (
        "import psycopg2\n\n\n"
        "def export(dsn):\n    conn = psycopg2.connect(dsn)\n"
        "    conn.cursor().execute('select 1')\n")}
    root = tmp_path / "p"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    monkeypatch.chdir(root)
    alone = scan(["shop/report.py"], ScanOptions(jobs=1))
    assert not alone.errors and not searched
    whole = scan(["."], ScanOptions(prefilter=False, jobs=1))
    assert [(f.line, f.code, f.message) for f in alone.findings] == [
        (f.line, f.code, f.message) for f in whole.findings if f.path.endswith("report.py")]
    searched.clear()
    jobs_alone = scan(["shop/jobs.py"], ScanOptions(jobs=1))
    assert "entries" in searched
    assert [(f.line, f.code) for f in jobs_alone.findings if f.code == "PS206"] == [
        (8, "PS206")]
