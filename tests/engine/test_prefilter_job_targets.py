"""The prefilter selects a job's module when another module registers the job
(issue 33, a PS107 miss on a public Django application): the job's module spells a
query and no thread word, the registering one a thread word and no query, so
neither is selected by its own words."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_tree import found, write_project

from poolsafe.scan.engine import scan
from poolsafe.scan.options import ScanOptions

_FILES = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0"\n',
    "shop/__init__.py": "",
    "shop/models.py": (
        "from django.db import models\n\n\n"
        "class Order(models.Model):\n    paid = models.BooleanField()\n"),
    "shop/sched.py": (
        "from apscheduler.schedulers.background import BackgroundScheduler\n\n"
        "scheduler = BackgroundScheduler()\nscheduler.start()\n"),
    "shop/jobs.py": (
        "from shop.models import Order\n\n\n"
        "def expire_order(order_id):\n"
        "    Order.objects.filter(id=order_id, paid=False).delete()\n"),
    "shop/receivers.py": (
        "from shop.jobs import expire_order\nfrom shop.sched import scheduler\n\n\n"
        "def on_order_created(order_id):\n"
        "    scheduler.add_job(expire_order, 'date', args=[order_id])\n"),
}


def test_a_job_registered_in_another_module_is_found_with_the_prefilter(
        tmp_path: Path) -> None:
    root = write_project(tmp_path, _FILES)
    want = {("jobs.py", 5, "PS107")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_a_function_imported_without_a_registration_is_not_selected(tmp_path: Path) -> None:
    files = dict(_FILES)
    files["shop/receivers.py"] = (
        "from shop.jobs import expire_order\n\n\n"
        "def on_order_created(order_id):\n    expire_order(order_id)\n")
    root = write_project(tmp_path, files)
    assert found(root, prefilter=True) == set()


def test_a_project_that_never_spells_django_does_not_look_for_thread_entries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PS107 needs a Django model, cursor or transaction, known only through an
    import naming `django`: without the word anywhere, the whole project's thread
    registrations are not searched (issue 32: a tenth of a cold run on a large
    SQLAlchemy code base), and nothing is reported."""
    import poolsafe.analysis.django_threads as django_threads

    searched: list[object] = []
    find_entries = django_threads._find_entries

    def recorded(index: object) -> dict[int, str]:
        searched.append(index)
        return find_entries(index)  # type: ignore[arg-type]

    monkeypatch.setattr(django_threads, "_find_entries", recorded)
    files = dict(_FILES)
    files["shop/models.py"] = (
        "from peewee import BooleanField, Model\n\n\n"
        "class Order(Model):\n    paid = BooleanField()\n")
    result = scan([str(write_project(tmp_path / "peewee", files))],
                  ScanOptions(prefilter=False, jobs=1))
    assert not result.errors
    assert not searched
    assert not [f for f in result.findings if f.code == "PS107"]
    # the Django project of the first test still searches them, and is reported
    result = scan([str(write_project(tmp_path / "django", _FILES))],
                  ScanOptions(prefilter=False, jobs=1))
    assert searched
    assert [(Path(f.path).name, f.code) for f in result.findings] == [("jobs.py", "PS107")]


def test_a_job_whose_queries_are_a_helper_modules_is_found_with_the_prefilter(
        tmp_path: Path) -> None:
    """The job's module spells no query: its job calls a helper of another module
    that does (`jobs.py` -> `reports.py`), and the registering module imports only
    the job's module (breadth51, tuned on a held-out application)."""
    files = dict(_FILES)
    files["shop/reports.py"] = (
        "from shop.models import Order\n\n\n"
        "def unpaid_ids():\n"
        "    return list(Order.objects.filter(paid=False).values_list('id', flat=True))\n")
    files["shop/jobs.py"] = (
        "from shop.reports import unpaid_ids\n\n\n"
        "def expire_order(order_id):\n"
        "    return order_id in unpaid_ids()\n")
    root = write_project(tmp_path, files)
    want = {("jobs.py", 5, "PS107")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want
