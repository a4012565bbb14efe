"""The prefilter never changes the findings: every rule case and every fixture app
is scanned with and without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from poolsafe.analysis.index import ProjectIndex
from poolsafe.rules import ALL_RULES
from poolsafe.scan.engine import ScanOptions, scan
from poolsafe.scan.prefilter import seed_roots, select

ROOT = Path(__file__).resolve().parents[2]


def _write(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = base / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _key(result: object) -> tuple[list[tuple[object, ...]], list[tuple[str, str]]]:
    findings = [(f.path, f.line, f.column, f.code, f.message)
                for f in result.findings]  # type: ignore[attr-defined]
    errors = [(e.path, e.message) for e in result.errors]  # type: ignore[attr-defined]
    return findings, errors


def _cases() -> list[object]:
    out = []
    for rule in ALL_RULES:
        for kind, cases in (("valid", rule.VALID), ("invalid", rule.INVALID)):
            for i, case in enumerate(cases):
                out.append(pytest.param({**case.files, case.path: case.code},
                                        id=f"{rule.code}-{kind}-{i}"))
    return out


def _same(paths: list[str], monkeypatch: pytest.MonkeyPatch, cwd: Path) -> None:
    monkeypatch.chdir(cwd)
    full = scan(paths, ScanOptions(prefilter=False))
    fast = scan(paths, ScanOptions(prefilter=True))
    assert _key(fast) == _key(full)


@pytest.mark.parametrize("files", _cases())
def test_rule_case_same_with_prefilter(files: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, files)
    _same(["."], monkeypatch, tmp_path)


def test_all_rule_cases_together_same_with_prefilter(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """All cases side by side in one project, each in its own package."""
    for i, p in enumerate(_cases()):
        _write(tmp_path / f"case{i}", p.values[0])  # type: ignore[attr-defined]
    _same(["."], monkeypatch, tmp_path)


FIXTURES = sorted(p for p in (ROOT / "fixtures").glob("*/*") if p.is_dir())


@pytest.mark.parametrize("app", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_same_with_prefilter(app: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _same(["."], monkeypatch, app)


def test_prefilter_skips_unrelated_files() -> None:
    datas = [b"import psycopg2\ndef get():\n    return psycopg2.connect()\n",
             b"from db import get\nget()\n",
             b"import os\nprint(os.getcwd())\n",
             b"x = 'psycopg2 is only mentioned'\n"]
    sel = select(datas, modules=[(("db",), ""), (("use",), ""), (("os_use",), ""), (("text",), "")])
    assert sel.targets == [0, 1]


def test_seed_roots_come_from_the_knowledge_base() -> None:
    roots = seed_roots()
    assert {"psycopg2", "sqlalchemy", "asyncpg", "fastapi"} <= roots
    assert "contextlib" not in roots and "os" not in roots
    # an HTTP client is slow work (PS207): a root of the full selection (the files
    # resolution reads), never of the files that are checked
    assert "requests" in roots and "httpx" in roots
    checked = seed_roots(database_only=True)
    assert "requests" not in checked and "httpx" not in checked and "psycopg2" in checked


def test_index_still_has_the_hook_lazyindex_overrides() -> None:
    assert hasattr(ProjectIndex, "_may_be_project_function")


def test_prefilter_ignores_a_plain_django_connection_import() -> None:
    datas = [b"from django.db import connection\n\ndef f():\n"
             b"    with connection.cursor() as c:\n        c.execute('SELECT 1')\n",
             b"import MySQLdb as Database\n\ndef get_new_connection(p):\n"
             b"    return Database.connect(**p)\n",
             b"from backend import get_new_connection\nc = get_new_connection({})\n"]
    mods = [(("views",), ""), (("backend",), ""), (("user",), "")]
    assert select(datas, modules=mods).targets == [1, 2]


def test_prefilter_needs_no_parse_of_unreadable_files() -> None:
    datas = [b"import psycopg2\ndef get(:\n    return psycopg2.connect()\n",
             b"from db import get\nget()\n"]
    assert select(datas, modules=[(("db",), ""), (("use",), "")]).targets == [0, 1]


SLOW_HELPERS = {
    "helpers.py": "import subprocess\nimport time\n\n\ndef slow():\n    time.sleep(10)\n\n\n"
                  "def build():\n    subprocess.run(['make'], check=True)\n",
    "app.py": "import psycopg2\n\nfrom helpers import build, slow\n\n\ndef handler():\n"
              "    conn = psycopg2.connect('dbname=x')\n    try:\n        with conn:\n"
              "            with conn.cursor() as cur:\n                cur.execute('SELECT 1')\n"
              "                slow()\n                build()\n    finally:\n"
              "        conn.close()\n",
    "tools.py": "import time\n\n\ndef pause():\n    time.sleep(1)\n",
}


def test_slow_work_in_a_helper_module_is_found_with_the_prefilter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A module that only sleeps or runs subprocesses is not checked (it has no
    database code), but a transaction elsewhere that calls it still resolves it."""
    _write(tmp_path, SLOW_HELPERS)
    _same(["."], monkeypatch, tmp_path)
    assert [f.line for f in scan(["."], ScanOptions()).findings] == [12, 13]


HTTP_SERVICE = {
    "app/__init__.py": "",
    "app/services/__init__.py": "",
    "app/services/messages.py": "import httpx\nimport requests\n\n\n"
                                "def send(to, text):\n"
                                "    return httpx.post('https://api.example', json={'to': to})\n"
                                "\n\ndef fetch(url):\n    return requests.get(url, timeout=5)\n",
    "app/routes.py": "from sqlalchemy.orm import Session\n\n"
                     "from app.services.messages import fetch, send\n\n\n"
                     "def hook(db: Session, to):\n"
                     "    row = db.query(Row).first()\n"
                     "    send(to, row.text)\n"
                     "    fetch(row.url)\n"
                     "    db.commit()\n",
}


def test_http_calls_in_a_service_module_are_found_with_the_prefilter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`httpx`/`requests` are context elsewhere (importing one does not make a file
    worth checking), but a module whose only imports they are is what a
    transaction in another module calls: PS207 must resolve it. The prefilter
    left it out, and the two findings were lost in every whole-project scan."""
    _write(tmp_path, HTTP_SERVICE)
    _same(["."], monkeypatch, tmp_path)
    found = scan(["."], ScanOptions(select={"PS207"})).findings
    assert [(f.path, f.line) for f in found] == [("app/routes.py", 8), ("app/routes.py", 9)]


SLEEPY_MODULES = {
    "app/__init__.py": "",
    "app/database.py": "import asyncpg\n\npool = None\n\n\nasync def init():\n"
                       "    global pool\n"
                       "    pool = await asyncpg.create_pool(dsn='postgresql://localhost/app')\n",
    # the only slow-work evidence: asyncio.sleep, spelled three ways
    "app/reports.py": "import asyncio\n\n\nclass Report:\n"
                      "    def __init__(self, user_id):\n        self.user_id = user_id\n\n"
                      "    async def build(self):\n        await asyncio.sleep(5)\n"
                      "        return self.user_id\n",
    "app/backoff.py": "from asyncio import sleep\n\n\nasync def wait_a_bit():\n"
                      "    await sleep(3)\n",
    "app/polling.py": "import asyncio as aio\n\n\nasync def poll():\n    await aio.sleep(2)\n",
    "app/shell.py": "import os\n\n\ndef rebuild():\n    os.system('make assets')\n",
    "app/clock.py": "import time\n\n\ndef pause():\n    time.sleep(4)\n",
    # a helper that only calls the module that sleeps (PS207 follows helpers)
    "app/notify.py": "from app.reports import Report\n\n\nasync def notify(user_id):\n"
                     "    return await Report(user_id).build()\n",
    "app/handlers.py": "from app import database\nfrom app.backoff import wait_a_bit\n"
                       "from app.clock import pause\nfrom app.notify import notify\n"
                       "from app.polling import poll\nfrom app.reports import Report\n"
                       "from app.shell import rebuild\n\n\n"
                       "async def send_report(user_id):\n"
                       # asyncpg holds a transaction only inside conn.transaction()
                       "    async with database.pool.acquire() as conn, conn.transaction():\n"
                       "        await conn.fetchrow('SELECT 1 FROM users WHERE id = $1', user_id)\n"
                       "        await Report(user_id).build()\n"
                       "        await wait_a_bit()\n"
                       "        await poll()\n"
                       "        rebuild()\n"
                       "        pause()\n"
                       "        await notify(user_id)\n",
}


def test_sleeps_in_modules_importing_only_asyncio_are_found_with_the_prefilter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`asyncio` and `os` are no roots of the selection (nearly every async module
    imports asyncio), so a module whose only slow work is `asyncio.sleep(5)` (or
    `os.system`) was left out and the sleep it makes under a held connection in
    another module was lost; `time.sleep` (a root) was found. A module that
    imports the package and spells its slow function is read now, and so is a
    helper that calls it."""
    _write(tmp_path, SLEEPY_MODULES)
    _same(["."], monkeypatch, tmp_path)
    found = scan(["."], ScanOptions(select={"PS207"})).findings
    assert [(f.path, f.line) for f in found] == [("app/handlers.py", n)
                                                 for n in range(13, 19)]


MAIL_THROUGH_A_MODEL = {
    "shop/__init__.py": "",
    # the only slow-work evidence: a name imported from django.core.mail (a
    # submodule of a context root), used in a helper the model's method calls
    "shop/mail.py": "from django.core.mail import EmailMultiAlternatives\n\n\n"
                    "def deliver(subject, to):\n"
                    "    msg = EmailMultiAlternatives(subject, '', 'a@b.c', to)\n"
                    "    msg.send(fail_silently=False)\n",
    "shop/models.py": "from django.db import models\n\nfrom shop.mail import deliver\n\n\n"
                      "class Seat(models.Model):\n"
                      "    email = models.CharField(max_length=200)\n\n"
                      "    def confirm(self):\n        deliver('Your seat', [self.email])\n",
    "shop/views.py": "from django.db import transaction\n"
                     "from django.shortcuts import get_object_or_404\n\n"
                     "from shop.models import Seat\n\n\n"
                     "def reissue(request, pk):\n    with transaction.atomic():\n"
                     "        seat = get_object_or_404(Seat, pk=pk)\n        seat.save()\n"
                     "        seat.confirm()\n",
}


def test_a_name_imported_from_a_slow_submodule_taints_its_users(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`django` is no root of the selection, but `from django.core.mail import
    EmailMultiAlternatives` imports slow work by name: a function that uses it is
    slow work its importers reach, so the model module that calls it is read and
    PS207 follows `seat.confirm()` with the prefilter as without it."""
    _write(tmp_path, MAIL_THROUGH_A_MODEL)
    _same(["."], monkeypatch, tmp_path)
    found = scan(["."], ScanOptions(select={"PS207"})).findings
    assert [(f.path, f.line) for f in found] == [("shop/views.py", 11)]


def test_asyncio_without_a_slow_call_selects_nothing() -> None:
    """Only a module that spells a slow call of asyncio or os is read for it (and a
    module that imports what calls it): one that gathers, reads the environment or
    says "operating system" is not; and none of them is checked (`database_only`)."""
    files = {
        "app.main": "import asyncio\n\n\nasync def main(jobs):\n"
                    "    await asyncio.gather(*jobs)\n",
        "app.env": "import os\n\nHOME = os.environ['HOME']\n\n\ndef describe():\n"
                   "    return 'the operating system: ' + os.name  # no sleep here\n",
        "app.later": "import asyncio\n\n\nasync def later():\n    await asyncio.sleep(5)\n",
        "app.snooze": "from asyncio import (\n    gather,\n    sleep as snooze,\n)\n\n\n"
                      "async def nap():\n    await snooze(5)\n",
        "app.aio": "import asyncio as aio\n\nwait = aio.sleep\n\n\nasync def pause():\n"
                   "    await wait(2)\n",
        "app.build": "import os\n\n\ndef build():\n    os.system('make')\n",
        "app.wrap": "from app.aio import pause\nfrom app.later import later\n"
                    "from app.snooze import nap\n\n\nasync def wrap():\n"
                    "    await later()\n    await nap()\n    await pause()\n",
        "app.uses_main": "from app.main import main\nfrom app.env import describe\n",
    }
    datas = [text.encode() for text in files.values()]
    mods = [((name,), "app") for name in files]
    selected = [list(files)[i] for i in select(datas, modules=mods).targets]
    assert selected == ["app.later", "app.snooze", "app.aio", "app.build", "app.wrap"]
    assert select(datas, modules=mods, database_only=True).targets == []
    # the helper is read for what each module exports tainted, not for asyncio
    for name in ("app.later", "app.snooze", "app.aio"):
        alone = {k: v for k, v in files.items() if k in (name, "app.wrap")}
        sel = select([t.encode() for t in alone.values()],
                     modules=[((k,), "app") for k in alone])
        assert sel.targets == [0, 1], name


def test_a_module_with_slow_work_only_is_not_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import poolsafe.scan.checking as checking

    _write(tmp_path, SLOW_HELPERS)
    monkeypatch.chdir(tmp_path)
    parsed: list[str] = []
    orig = checking.parse_source

    def counting(display: str, *args: object) -> object:
        parsed.append(display)
        return orig(display, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "parse_source", counting)
    scan(["."], ScanOptions(jobs=1))
    assert "app.py" in parsed and "tools.py" not in parsed
