"""Whole-project resolution: the paths a scan names choose what it reports; each
file is resolved in its whole project. So `check F` reports exactly what `check
<root>` reports for F, for every rule, and `fix --diff F` writes what a fix of the
whole project writes for F."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolsafe.core.model import Finding, ScanResult
from poolsafe.core.project import find_project_root
from poolsafe.fix.loop.apply import FixResult, fix_files, load_files
from poolsafe.rules import ALL_RULES
from poolsafe.scan import checking
from poolsafe.scan.engine import ScanOptions, scan

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
APP_ROOTS = sorted(p for p in FIXTURES.glob("*/*") if (p / "pyproject.toml").is_file())

Key = tuple[str, int, int, str, str, bool]


def keyed(result: ScanResult) -> dict[str, set[Key]]:
    out: dict[str, set[Key]] = {}
    for f in result.findings:
        out.setdefault(os.path.abspath(f.path), set()).add(_key(f))
    return out


def _key(f: Finding) -> Key:
    return (f.code, f.line, f.column, f.message, f.severity.value, f.fixable)


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def assert_each_file_as_the_whole(root: Path) -> int:
    """Every file of `root`, scanned alone, reports what the root scan reports for
    it; returns how many findings the root scan has."""
    whole = keyed(scan([str(root)]))
    for path in python_files(root):
        alone = scan([str(path)])
        assert not alone.errors, alone.errors
        assert keyed(alone).get(str(path), set()) == whole.get(str(path), set()), path
        assert {os.path.abspath(f.path) for f in alone.findings} <= {str(path)}
    return sum(len(v) for v in whole.values())


def test_every_fixture_app_is_a_project_of_its_own() -> None:
    forms = sorted(p for p in FIXTURES.glob("*/*") if p.is_dir() and p.name in {"before", "after"})
    assert len(forms) >= 12
    assert forms == APP_ROOTS
    for root in APP_ROOTS:
        for path in python_files(root):
            assert find_project_root(path) == root


@pytest.mark.parametrize("root", APP_ROOTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_file_alone_reports_what_its_project_reports(root: Path) -> None:
    total = assert_each_file_as_the_whole(root)
    assert (total > 0) == (root.name == "before")


def test_the_wrapper_module_need_not_be_named() -> None:
    """The first defect of the issue: the wrappers live in db.py, not named."""
    app = FIXTURES / "flask_psycopg2" / "before" / "app.py"
    result = scan([str(app)])
    assert sorted((f.line, f.code) for f in result.findings) == [
        (16, "PS102"), (35, "PS101"), (50, "PS103"), (64, "PS102")]


def test_a_subdirectory_reports_what_the_project_reports_for_it() -> None:
    root = FIXTURES / "fastapi_sqlalchemy" / "before"
    whole = keyed(scan([str(root)]))
    sub = keyed(scan([str(root / "app")]))
    assert sub == {p: k for p, k in whole.items() if p.startswith(str(root / "app") + os.sep)}
    assert sum(len(v) for v in sub.values()) == 3


#: rules whose fix edits another module than the finding's (PS203 adds pre-ping
#: where the options are defined, PS205 a teardown where the app is)
CROSS_FILE_FIXES = {"PS203", "PS205"}


def _fixed(paths: list[str], select: set[str] | None = None) -> FixResult:
    options = ScanOptions(select=select)
    files, errors = load_files(paths, options)
    assert not errors
    return fix_files(files, options)


def _texts(result: FixResult) -> dict[str, str]:
    return {os.path.abspath(f.path): f.text for f in result.files}


@pytest.mark.parametrize("root", [r for r in APP_ROOTS if r.name == "before"],
                         ids=lambda p: p.parent.name)
def test_fix_of_one_file_writes_what_the_project_fix_writes(root: Path) -> None:
    """Identical for every fix that edits the finding's own file; a fix that must
    edit a file that was not named is left, saying which file (below)."""
    rules = {r.code for r in ALL_RULES} - CROSS_FILE_FIXES
    whole = _texts(_fixed([str(root)], rules))
    changed = 0
    for path in python_files(root):
        alone = _texts(_fixed([str(path)], rules))
        if str(path) not in whole:  # no database code: loaded by neither (as `check`)
            assert alone == {}, path
            continue
        assert alone == {str(path): whole[str(path)]}, path
        changed += alone[str(path)] != path.read_text()
    # these apps have only findings with no automatic fix (PS202, PS207; PS208; a
    # peewee connect(), PS107; an encode/databases low-level transaction)
    assert (changed > 0) == (root.parent.name not in {
        "reporting_jobs", "fastapi_ai_media", "deployment_capacity", "peewee_flask",
        "django_threads", "databases_ledger", "tortoise_shop"})


def test_a_fix_that_edits_a_file_not_named_is_left_with_the_reason() -> None:
    root = FIXTURES / "flask_scheduler" / "before" / "inventory"
    whole = _fixed([str(root)], {"PS205"})
    assert [a.code for a in whole.applied] == ["PS205"] and not whole.left
    alone = _fixed([str(root / "reporting.py")], {"PS205"})
    assert alone.applied == [] and len(alone.left) == 1
    assert "inventory/__init__.py, which is not being fixed" in alone.left[0].reason


# --------------------------------------------------------------------- the cache
APP = {
    "pyproject.toml": "[project]\nname = 'shop'\nversion = '0'\n",
    "shop/__init__.py": "",
    "shop/db.py": '''from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, dsn="dbname=shop")


def get_db_connection():
    return pool.getconn()


def release_db_connection(conn):
    pool.putconn(conn)
''',
    "shop/orders.py": '''from shop.db import get_db_connection, release_db_connection


def count_orders():
    conn = get_db_connection()
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM orders")
    n = cur.fetchone()[0]
    release_db_connection(conn)
    return n
''',
    "shop/util.py": "def slug(text):\n    return text.lower()\n",
}


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_one_file_run_is_answered_from_the_cache_of_a_whole_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, APP)
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    whole = scan([str(tmp_path)], opts)
    assert [(f.line, f.code) for f in whole.findings] == [(5, "PS102")]
    parsed: list[str] = []
    real = checking.parse_source

    def counting(display: str, path: Path, relative: Path, text: str) -> object:
        parsed.append(display)
        return real(display, path, relative, text)

    monkeypatch.setattr(checking, "parse_source", counting)
    one = scan([str(tmp_path / "shop" / "orders.py")], opts)
    assert [(f.line, f.code) for f in one.findings] == [(5, "PS102")]
    assert parsed == []
    # an edit to the wrapper module is seen by the one-file run
    write_tree(tmp_path, {"shop/db.py": APP["shop/db.py"].replace(
        "    pool.putconn(conn)", "    pass")})
    edited = scan([str(tmp_path / "shop" / "orders.py")], opts)
    assert parsed, "the edit must be re-analysed"
    assert edited.findings == scan([str(tmp_path / "shop" / "orders.py")]).findings
    # an edit to a module nothing depends on is not
    parsed.clear()
    write_tree(tmp_path, {"shop/util.py": APP["shop/util.py"] + "\n"})
    again = scan([str(tmp_path / "shop" / "orders.py")], opts)
    assert again.findings == edited.findings and parsed == []


def test_files_checked_by_separate_runs_share_one_cache_entry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {**APP, "shop/items.py": APP["shop/orders.py"].replace("orders", "items")}
    write_tree(tmp_path, files)
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    first = scan([str(tmp_path / "shop" / "orders.py")], opts)
    second = scan([str(tmp_path / "shop" / "items.py"), str(tmp_path / "shop" / "db.py")],
                  opts)
    calls: list[int] = []
    real = checking.check_module

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "check_module", counting)
    both = scan([str(tmp_path / "shop")], opts)
    assert calls == []  # every selected file of shop/ was checked by one of the runs
    assert both.findings == sorted(first.findings + second.findings, key=Finding.sort_key)


# ------------------------------------------------------- buffers, roots, src
def test_an_unsaved_buffer_is_scanned_with_the_whole_project(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    orders = tmp_path / "shop" / "orders.py"
    assert scan([str(orders)]).findings
    clean = '''from shop.db import get_db_connection, release_db_connection


def count_orders():
    conn = get_db_connection()
    try:
        return conn.cursor().fetchone()
    finally:
        release_db_connection(conn)
'''
    # the disk keeps the leak; the buffer does not
    assert scan([str(orders)], ScanOptions(overrides={orders: clean.encode()})).findings == []
    new = tmp_path / "shop" / "unsaved.py"  # a buffer never saved
    result = scan([str(new)], ScanOptions(overrides={new: APP["shop/orders.py"].encode()}))
    assert [(f.line, f.code) for f in result.findings] == [(5, "PS102")]


def test_project_root_option_widens_a_project_without_markers(tmp_path: Path) -> None:
    write_tree(tmp_path, {k: v for k, v in APP.items() if k != "pyproject.toml"})
    write_tree(tmp_path, {"shop/__init__.py": "", "shop/nested/marker.py": ""})
    (tmp_path / "shop" / "nested" / "setup.cfg").write_text("[metadata]\nname = x\n")
    sub = tmp_path / "shop" / "nested" / "orders.py"
    sub.write_text(APP["shop/orders.py"])
    # setup.cfg makes shop/nested a project of its own: shop.db is not in it
    assert scan([str(sub)]).findings == []
    widened = scan([str(sub)], ScanOptions(project_root=tmp_path))
    assert [(f.line, f.code) for f in widened.findings] == [(5, "PS102")]


def test_src_layout(tmp_path: Path) -> None:
    files = {("src/" + k if k.startswith("shop/") else k): v for k, v in APP.items()}
    write_tree(tmp_path, files)
    orders = tmp_path / "src" / "shop" / "orders.py"
    for src in ([], ["src"]):
        result = scan([str(orders)], ScanOptions(src=src))
        assert [(f.line, f.code) for f in result.findings] == [(5, "PS102")], src


# -------------------------------------------------- generated multi-module projects
@st.composite
def projects(draw: st.DrawFn) -> tuple[dict[str, str], set[tuple[str, int]]]:
    """A package with its wrappers in one module (at some depth) and callers in
    others, each caller leaking or not; returns the files and the planted leaks."""
    depth = draw(st.integers(0, 2))
    pkg = "/".join(["proj", *(f"p{i}" for i in range(depth))])
    dotted = pkg.replace("/", ".")
    files = {"pyproject.toml": "[project]\nname = 'proj'\nversion = '0'\n"}
    for i in range(depth + 1):
        files["/".join(["proj", *(f"p{j}" for j in range(i))]) + "/__init__.py"] = ""
    acquire = draw(st.sampled_from(["get_db_connection", "checkout", "borrow"]))
    release = draw(st.sampled_from(["release_db_connection", "give_back", "checkin"]))
    files[f"{pkg}/dbutil.py"] = (
        "from psycopg2 import pool as pg_pool\n\n"
        "POOL = pg_pool.SimpleConnectionPool(1, 4, dsn='dbname=x')\n\n\n"
        f"def {acquire}():\n    return POOL.getconn()\n\n\n"
        f"def {release}(conn):\n    POOL.putconn(conn)\n")
    leaks: set[tuple[str, int]] = set()
    callers = draw(st.lists(st.booleans(), min_size=1, max_size=4))
    for n, leaking in enumerate(callers):
        style = draw(st.sampled_from(["absolute", "relative", "module"]))
        if style == "absolute":
            head = f"from {dotted}.dbutil import {acquire}, {release}\n\n\n"
            get, put = acquire, release
        elif style == "relative":
            head = f"from .dbutil import {acquire}, {release}\n\n\n"
            get, put = acquire, release
        else:
            head = f"from {dotted} import dbutil\n\n\n"
            get, put = f"dbutil.{acquire}", f"dbutil.{release}"
        if leaking:
            body = (f"def work():\n    conn = {get}()\n    conn.cursor().execute('SELECT 1')\n"
                    f"    {put}(conn)\n")
        else:
            body = (f"def work():\n    conn = {get}()\n    try:\n"
                    f"        conn.cursor().execute('SELECT 1')\n    finally:\n"
                    f"        {put}(conn)\n")
        name = f"{pkg}/caller{n}.py"
        files[name] = head + body
        if leaking:
            leaks.add((name, 5))
    return files, leaks


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(projects())
def test_generated_projects(tmp_path_factory: pytest.TempPathFactory,
                            project: tuple[dict[str, str], set[tuple[str, int]]]) -> None:
    files, leaks = project
    root = tmp_path_factory.mktemp("gen")
    write_tree(root, files)
    whole = scan([str(root)])
    assert {(Path(f.path).relative_to(root).as_posix(), f.line) for f in whole.findings
            if f.code == "PS102"} == leaks
    assert_each_file_as_the_whole(root)


def test_a_one_file_scan_parses_what_its_findings_depend_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forty other modules use the same wrappers; checking one of them parses it
    and the wrapper module, not the project (and still reports what the whole-tree
    scan reports for it)."""
    files = dict(APP)
    for n in range(40):
        files[f"shop/more{n}.py"] = APP["shop/orders.py"].replace("count_orders", f"c{n}")
    write_tree(tmp_path, files)
    parsed: list[str] = []
    real = checking.parse_source

    def counting(display: str, path: Path, relative: Path, text: str) -> object:
        parsed.append(Path(path).name)
        return real(display, path, relative, text)

    monkeypatch.setattr(checking, "parse_source", counting)
    target = tmp_path / "shop" / "more7.py"
    alone = scan([str(target)])
    assert sorted(parsed) == ["db.py", "more7.py"]
    whole = scan([str(tmp_path)])
    assert keyed(alone) == {str(target): keyed(whole)[str(target)]}


def test_an_edit_re_parses_only_the_edited_file_when_no_fact_read_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A project without Flask whose other database modules start threads and spell
    the words of background jobs in prose: after a whole run, a comment appended to
    one checked file re-parses that file and the wrapper module its resolution
    reads, as a run without cache does: no module is read for Flask's background
    jobs, and a module that only spells a registrar's name is no call site."""
    files = dict(APP)
    for n in range(6):
        files[f"shop/worker{n}.py"] = (
            "import threading\n\nfrom shop.db import get_db_connection\n\n\n"
            f"def job{n}():\n    conn = get_db_connection()\n    return conn\n\n\n"
            f"threading.Thread(target=job{n}).start()\n")
        files[f"shop/notes{n}.py"] = (
            '"""Each Thread is started with submit or Timer, a task, add_job; see Depends."""\n'
            "from shop.db import get_db_connection\n\n\n"
            f"def read{n}():\n    return get_db_connection().cursor()\n")
    write_tree(tmp_path, files)
    opts = ScanOptions(cache_dir=tmp_path / ".poolsafe_cache")
    whole = scan([str(tmp_path)], opts)
    parsed: list[str] = []
    real = checking.parse_source

    def counting(display: str, path: Path, relative: Path, text: str) -> object:
        parsed.append(Path(path).name)
        return real(display, path, relative, text)

    monkeypatch.setattr(checking, "parse_source", counting)
    target = tmp_path / "shop" / "orders.py"
    target.write_text(APP["shop/orders.py"] + "# edited\n")
    alone = scan([str(target)], opts)
    assert sorted(parsed) == ["db.py", "orders.py"]
    assert keyed(alone) == {str(target): keyed(whole)[str(target)]}
    parsed.clear()
    assert keyed(scan([str(target)])) == keyed(alone)
    assert sorted(parsed) == ["db.py", "orders.py"]


SLOW_HELPERS = {
    "shop/sa.py": "from sqlalchemy import create_engine\n"
                  "from sqlalchemy.orm import sessionmaker\n\n"
                  "SessionLocal = sessionmaker(bind=create_engine('postgresql://shop'))\n",
    # selected for its slow work only (PS207): it makes no connection
    "shop/util.py": "import time\n\n\ndef pause():\n    time.sleep(5)\n\n\n"
                    "def label(n):\n    return f'{n} orders'\n",
    "shop/report.py": '''from sqlalchemy import text
from sqlalchemy.orm import Session

from shop import util


def report(db: Session):
    n = db.execute(text("SELECT count(*) FROM orders")).scalar()
    db.commit()
    return util.label(n)
''',
    "shop/batch.py": '''from sqlalchemy import text
from sqlalchemy.orm import Session

from shop import util


def batch(db: Session):
    db.execute(text("UPDATE orders SET done = true"))
    util.pause()
    db.commit()
''',
}


def test_a_module_with_slow_work_only_is_parsed_for_slow_work_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checking a file resolves its calls into modules that can make a connection;
    a module selected only for its slow work is parsed when a held transaction
    calls into it (PS207), not for a call made with nothing held."""
    write_tree(tmp_path, {**APP, **SLOW_HELPERS})
    parsed: list[str] = []
    real = checking.parse_source

    def counting(display: str, path: Path, relative: Path, text: str) -> object:
        parsed.append(Path(path).name)
        return real(display, path, relative, text)

    monkeypatch.setattr(checking, "parse_source", counting)
    whole = keyed(scan([str(tmp_path)]))
    batch, report = tmp_path / "shop" / "batch.py", tmp_path / "shop" / "report.py"
    assert {(k[0], k[1]) for k in whole[str(batch)]} == {("PS207", 9)}
    assert str(report) not in whole
    parsed.clear()
    assert keyed(scan([str(report)])) == {}
    assert parsed == ["report.py"]
    parsed.clear()
    assert keyed(scan([str(batch)])) == {str(batch): whole[str(batch)]}
    assert sorted(parsed) == ["batch.py", "util.py"]


def test_a_package_without_markers_outside_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No marker anywhere above and not below the working directory: the root is the
    directory Python imports the package from, so `shop.db`'s wrappers resolve
    whether the package, one of its files or the directory above it is named."""
    project = tmp_path / "project"
    write_tree(project, {k: v for k, v in APP.items() if k != "pyproject.toml"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    orders = project / "shop" / "orders.py"
    assert find_project_root(orders) == project
    for named in (project, project / "shop", orders):
        result = scan([str(named)])
        assert [(f.line, f.code) for f in result.findings] == [(5, "PS102")], named


NIGHTLY = '''from shop.db import get_db_connection, release_db_connection


def purge():
    conn = get_db_connection()
    conn.cursor().execute("DELETE FROM carts")
    release_db_connection(conn)
'''


def _unmarked_app_beside_another(parent: Path) -> Path:
    """parent/app (no marker: the shop package and a `jobs/` folder that is no
    package) beside parent/other (a stray module that is not app's)."""
    app = parent / "app"
    write_tree(app, {k: v for k, v in APP.items() if k != "pyproject.toml"})
    write_tree(app, {"jobs/nightly.py": NIGHTLY})
    write_tree(parent, {"other/stray.py": "import psycopg2\n"})
    return app


EXPECTED_APP = [("jobs/nightly.py", 5, "PS102"), ("shop/orders.py", 5, "PS102")]


def _found(result: ScanResult, app: Path) -> list[tuple[str, int, str]]:
    return sorted((Path(os.path.abspath(f.path)).relative_to(app).as_posix(), f.line, f.code)
                  for f in result.findings)


@pytest.mark.parametrize("where", ["parent", "elsewhere"])
def test_a_directory_named_without_markers_is_its_own_project(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """`poolsafe check /path/to/app` from a directory above it (`~`, `/tmp`) or beside
    it, with no marker anywhere: the project is `app`, walked alone (not the whole
    working directory), and its non-package folder `jobs/` resolves `shop.db` as the
    rest of the app does."""
    from poolsafe.core.project import named_roots
    from poolsafe.scan.scope import ScopeSettings, build_scope

    app = _unmarked_app_beside_another(tmp_path)
    cwd = tmp_path if where == "parent" else tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    monkeypatch.chdir(cwd)
    assert _found(scan([str(app)]), app) == EXPECTED_APP
    with named_roots([str(app)]):
        scope = build_scope([str(app)], ScopeSettings())
        assert find_project_root(app / "jobs" / "nightly.py") == app
    assert [p.root for p in scope.projects] == [app]
    assert not any("other" in Path(f.path).parts for f in scope.projects[0].files)
    # outside the scan, the rules without a named path are as before
    assert find_project_root(app / "jobs" / "nightly.py") == (
        tmp_path if where == "parent" else app / "jobs")


def test_the_working_directory_keeps_its_rule_without_markers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside an unmarked application, `check .` and `check shop/orders.py` (a package
    whose import root is the working directory) still share one project: the whole
    working directory."""
    app = _unmarked_app_beside_another(tmp_path)
    monkeypatch.chdir(app)
    assert _found(scan(["."]), app) == EXPECTED_APP
    alone = scan(["shop/orders.py"])
    assert _found(alone, app) == [("shop/orders.py", 5, "PS102")]


def test_fix_and_capacity_of_a_named_directory_stay_in_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fix` of an unmarked application named from beside it resolves `jobs/` against
    the application (and fixes it); `capacity` of it named from its parent counts the
    application's pool, not a stray pool beside it."""
    from click.testing import CliRunner

    from poolsafe.cli.main import main
    from poolsafe.scan.capacity_scan import project_capacity

    app = _unmarked_app_beside_another(tmp_path)
    write_tree(tmp_path, {"other/pools.py": (
        "from psycopg2.pool import ThreadedConnectionPool\n"
        "big = ThreadedConnectionPool(1, 500, dsn='dbname=x')\n")})
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    run = CliRunner().invoke(main, ["fix", "--diff", str(app)],
                             catch_exceptions=False)
    assert run.exit_code == 1, run.output
    assert "+    finally:" in run.stdout and "nightly.py" in run.stdout
    monkeypatch.chdir(tmp_path)
    cap, _errors = project_capacity(str(app))
    assert {p.module.abspath for p in cap.pools} == {app / "shop" / "db.py"}


def test_a_named_namespace_package_is_imported_from_its_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A named folder without `__init__.py` whose own modules import it by name
    (`from pkg.db import ...`) is a namespace package: its root is the folder above,
    so `pkg.db` resolves; a folder that never imports itself is its own root."""
    from poolsafe.core.project import named_roots

    write_tree(tmp_path / "work" / "pkg", {
        "db.py": APP["shop/db.py"],
        "orders.py": APP["shop/orders.py"].replace("shop.db", "pkg.db")})
    write_tree(tmp_path / "work" / "tools", {"slug.py": "def slug(t):\n    return t\n"})
    monkeypatch.chdir(tmp_path)
    for named, root in (("work/pkg", "work"), ("work/tools", "work/tools")):
        with named_roots([named]):
            assert find_project_root(tmp_path / named / "x.py") == tmp_path / root, named
    found = scan(["work/pkg"]).findings
    assert [(Path(f.path).name, f.line, f.code) for f in found] == [("orders.py", 5, "PS102")]


def test_a_setup_module_inside_a_package_is_no_root_marker(tmp_path: Path) -> None:
    """A `setup.py` beside an `__init__.py` is a module of that package (an engine
    factory in `infra/db/setup.py`), not a packaging script: its directory stays in the
    project, so the factory's callers elsewhere are seen. A `setup.py` in a directory
    that is no package still makes that directory a project of its own."""
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'jobs'\nversion = '0'\n",
        "infra/__init__.py": "",
        "infra/db/__init__.py": "",
        "infra/db/setup.py": (
            "from sqlalchemy.ext.asyncio import create_async_engine\n\n\n"
            "def build_engine(url):\n"
            "    return create_async_engine(url, pool_pre_ping=True)\n"),
        "tasks.py": (
            "from celery import Celery\n"
            "from sqlalchemy import text\n\n"
            "from infra.db.setup import build_engine\n\n"
            "app = Celery('jobs')\n\n\n"
            "@app.task\n"
            "def refresh():\n"
            "    engine = build_engine('postgresql://db/jobs')\n"
            "    with engine.connect() as conn:\n"
            "        conn.execute(text('SELECT 1'))\n"),
        "tools/setup.py": "from setuptools import setup\n\nsetup(name='tools')\n",
    })
    assert find_project_root(tmp_path / "infra" / "db" / "setup.py") == tmp_path
    assert find_project_root(tmp_path / "tools" / "setup.py") == tmp_path / "tools"
    found = scan([str(tmp_path)]).findings
    assert [(Path(f.path).name, f.line, f.code) for f in found] == [("setup.py", 5, "PS202")]
