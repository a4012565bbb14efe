"""[tool.poolsafe] configuration, rule selection and the one-line errors (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import Invoke

from poolsafe.rules.cases.ps102 import DIRECT_EXCEPTION_ONLY


def write_config(body: str, path: str = "pyproject.toml") -> None:
    Path(path).write_text("[tool.poolsafe]\n" + body, encoding="utf-8")


def found(cli: Invoke, *args: str) -> list[tuple[str, str]]:
    r = cli("check", "--format", "json", *args)
    assert r.code in (0, 1), r.all
    return [(f["path"], f["code"]) for f in json.loads(r.out)["findings"]]


def assert_one_line_error(r: object, *needles: str) -> None:
    from cli_helpers import Run

    assert isinstance(r, Run)
    assert r.code == 2, r.all
    assert r.out == ""
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("poolsafe: error: ")
    assert "Traceback" not in r.all
    for n in needles:
        assert n in lines[0], lines[0]


@pytest.mark.parametrize(("body", "needles"), [
    ('selct = ["PS1"]\n', ["pyproject.toml", "unknown key 'selct'", "did you mean 'select'"]),
    ('per_file_ignores = {}\n', ["unknown key 'per_file_ignores'", "'per-file-ignores'"]),
    ('select = "PS102"\n', ["select", "expected an array of strings"]),
    ('select = ["PS999"]\n', ["select", "unknown rule code 'PS999'"]),
    ('ignore = ["E501"]\n', ["ignore", "unknown rule code 'E501'"]),
    ('severity = {PS102 = "fatal"}\n', ["severity.PS102", "\"error\" or \"warning\""]),
    ('severity = {PS777 = "error"}\n', ["severity.PS777", "unknown rule code"]),
    ('severity = "error"\n', ["severity", "expected a table"]),
    ('acquire = {get_conn = "postgres"}\n', ["acquire.get_conn",
                                              "unknown connection kind 'postgres'"]),
    ('acquire = "get_conn"\n', ["acquire", "expected a table"]),
    ('release = [1]\n', ["release", "expected an array of strings"]),
    ('per-file-ignores = {"tests/*" = "PS102"}\n', ["per-file-ignores", "array of strings"]),
    ('force-exclude = "yes"\n', ["force-exclude", "true or false"]),
    ('direct-connections = "paranoid"\n', ["direct-connections",
                                            "expected \"lenient\" or \"strict\", got 'paranoid'"]),
    ('direct-connections = true\n', ["direct-connections", "got a boolean"]),
    ('select = ["PS1"\n', ["pyproject.toml", "invalid TOML"]),
    ('select = ["PS1"]\nselect = ["PS2"]\n', ["pyproject.toml", "invalid TOML", "line 3"]),
])
def test_config_errors(project: Path, cli: Invoke, body: str, needles: list[str]) -> None:
    write_config(body)
    assert_one_line_error(cli("check"), *needles)


def test_invalid_toml_elsewhere_in_pyproject(project: Path, cli: Invoke) -> None:
    Path("pyproject.toml").write_text("[project]\nname = \n[tool.poolsafe]\n")
    assert_one_line_error(cli("check"), "invalid TOML")


def test_unknown_select_code_on_the_command_line(project: Path, cli: Invoke) -> None:
    assert_one_line_error(cli("check", "--select", "PS102,XYZ"), "unknown rule code 'XYZ'")
    assert_one_line_error(cli("check", "--ignore", "PS9"), "'PS9'")
    assert_one_line_error(cli("baseline", "b.json", "--select", "F401"), "'F401'")


def test_missing_path(project: Path, cli: Invoke) -> None:
    assert_one_line_error(cli("check", "app", "nope.py"), "nope.py: no such file or directory")


def test_missing_config_file(project: Path, cli: Invoke) -> None:
    assert_one_line_error(cli("check", "--config", "other.toml"), "other.toml",
                          "not found")


def test_select_ignore_and_layering(project: Path, cli: Invoke) -> None:
    assert {c for _, c in found(cli)} == {"PS101", "PS102", "PS104"}
    write_config('select = ["PS10"]\nignore = ["PS101"]\n')
    assert {c for _, c in found(cli)} == {"PS102", "PS104"}
    assert {c for _, c in found(cli, "--ignore", "PS104")} == {"PS102"}
    # --select on the command line replaces the configured selection and its ignores
    assert {c for _, c in found(cli, "--select", "PS101")} == {"PS101"}
    assert {c for _, c in found(cli, "--extend-select", "PS101")} == {"PS101", "PS102",
                                                                        "PS104"}
    assert {c for _, c in found(cli, "--isolated")} == {"PS101", "PS102", "PS104"}


def test_per_file_ignores(project: Path, cli: Invoke) -> None:
    write_config('[tool.poolsafe.per-file-ignores]\n"app/db.py" = ["PS102"]\n'
                 '"api.py" = ["ALL"]\n')
    assert found(cli) == [("app/db.py", "PS101")]


def test_severity_and_fail_on(project: Path, cli: Invoke) -> None:
    write_config('select = ["PS101"]\nseverity = {PS101 = "warning"}\n')
    r = cli("check", "--format", "json")
    assert r.code == 1
    assert json.loads(r.out)["findings"][0]["severity"] == "warning"
    assert cli("check", "--fail-on", "error").code == 0
    assert cli("check", "--fail-on", "warning").code == 1
    assert cli("check", "--exit-zero").code == 0
    write_config('select = ["PS101"]\n')
    assert cli("check", "--fail-on", "error").code == 1


def test_exclude_and_extend_exclude(project: Path, cli: Invoke) -> None:
    write_config('exclude = ["api.py"]\n')
    assert {p for p, _ in found(cli)} == {"app/db.py"}
    write_config('extend-exclude = ["app/db.py"]\n')
    assert {p for p, _ in found(cli)} == {"app/api.py"}
    # anchored globs are relative to the project root even when scanning a subdirectory
    assert {p for p, _ in found(cli, "app")} == {"app/api.py"}
    assert {p for p, _ in found(cli, "--extend-exclude", "app/api.py")} == set()
    # a file named on the command line is scanned unless --force-exclude
    assert {p for p, _ in found(cli, "app/db.py")} == {"app/db.py"}
    assert found(cli, "--force-exclude", "app/db.py") == []
    write_config('extend-exclude = ["app/db.py"]\nforce-exclude = true\n')
    assert found(cli, "app/db.py") == []


def test_config_is_found_from_the_scanned_path(project: Path, cli: Invoke,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    write_config('select = ["PS101"]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = cli("check", "--format", "json", str(project / "app"))
    assert {f["code"] for f in json.loads(r.out)["findings"]} == {"PS101"}


def test_config_option_reads_a_named_file(project: Path, cli: Invoke) -> None:
    Path("poolsafe.toml").write_text('select = ["PS104"]\n')
    assert {c for _, c in found(cli, "--config", "poolsafe.toml")} == {"PS104"}
    Path("other.toml").write_text('[tool.poolsafe]\nselect = ["PS101"]\n')
    assert {c for _, c in found(cli, "--config", "other.toml")} == {"PS101"}


VENDOR = '''
registry = {}


def borrow():
    return registry["db"]()


def give_back(conn):
    registry["back"](conn)


def report():
    conn = borrow()
    conn.cursor().execute("SELECT 1")
    give_back(conn)


def safe():
    conn = borrow()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        give_back(conn)
'''


def test_acquire_and_release_reach_the_analysis(project: Path, cli: Invoke) -> None:
    Path("app/vendor.py").write_text(VENDOR)
    # the inference cannot see through registry[...]: nothing to report
    assert found(cli, "app/vendor.py") == []
    write_config('acquire = ["borrow"]\n')
    assert len(found(cli, "app/vendor.py")) == 2
    write_config('acquire = ["borrow"]\nrelease = ["give_back"]\n')
    r = cli("check", "--format", "json", "app/vendor.py")
    findings = json.loads(r.out)["findings"]
    assert [(f["line"], f["code"]) for f in findings] == [(14, "PS102")]
    write_config('release = ["give_back"]\n[tool.poolsafe.acquire]\nborrow = "psycopg2-pool"\n')
    assert len(found(cli, "app/vendor.py")) == 1


def test_project_config_mapping() -> None:
    from poolsafe.scan.config import parse_table

    cfg = parse_table({"acquire": ["borrow"], "release": ["give_back"],
                       "session-dependencies": ["get_db"]}, path=None, known_codes=["PS102"])
    assert cfg.project.acquire == {"borrow": "psycopg2-pool"}
    assert cfg.project.release == {"give_back"}
    assert cfg.project.session_dependencies == {"get_db"}
    cfg = parse_table({"acquire": {"borrow": "sqlalchemy-connection"}}, path=None,
                      known_codes=["PS102"])
    assert cfg.project.acquire == {"borrow": "sqlalchemy-connection"}


def test_glob_semantics() -> None:
    from poolsafe.scan.config import matches_any

    root = Path("/proj")
    assert matches_any("/proj/a/b/migrations/x.py", ["migrations"], root)
    assert matches_any("/proj/tests/test_x.py", ["tests/*.py"], root)
    assert not matches_any("/proj/src/tests/test_x.py", ["tests/*.py"], root)
    assert matches_any("/proj/src/tests/test_x.py", ["**/tests/*.py"], root)
    assert matches_any("/proj/a/conftest.py", ["conftest.py"], root)
    assert not matches_any("/proj/a/b.py", ["a/*/b.py"], root)


def test_session_dependencies(project: Path, cli: Invoke) -> None:
    Path("app/deps.py").write_text('''
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("postgresql://app@db/app"))


def provide_session():
    db = SessionLocal()
    try:
        return db
    finally:
        db.close()
''')
    assert ("app/deps.py", "PS104") not in found(cli, "--select", "PS104")
    write_config('session-dependencies = ["provide_session"]\n')
    assert ("app/deps.py", "PS104") in found(cli, "--select", "PS104")


EXTERNAL = '''from corp_db import lease, unlease
import corp_db


def report(name):
    conn = lease(name)
    conn.cursor().execute("SELECT 1")
    unlease(name, conn)


def safe(name):
    conn = corp_db.lease(name)
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        corp_db.unlease(name, conn)
'''


def test_configured_functions_from_outside_the_project(project: Path, cli: Invoke) -> None:
    """acquire/release name functions of a library the project does not contain (a C
    extension, a company package), by dotted name, with the connection in any
    argument position; the message and the fix use the release as written."""
    Path("app/external.py").write_text(EXTERNAL)
    assert found(cli, "app/external.py") == []
    write_config('acquire = ["corp_db.lease"]\nrelease = ["corp_db.unlease"]\n')
    r = cli("check", "--format", "json", "app/external.py")
    findings = json.loads(r.out)["findings"]
    assert [(f["line"], f["code"]) for f in findings] == [(6, "PS102")]
    assert findings[0]["message"].endswith("use try/finally: unlease(name, conn)")
    r = cli("fix", "app/external.py")
    assert r.code == 0, r.all
    assert '''    conn = lease(name)
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        unlease(name, conn)
''' in Path("app/external.py").read_text()
    assert found(cli, "app/external.py") == []


def test_a_release_argument_bound_inside_the_region_is_not_moved(project: Path,
                                                                 cli: Invoke) -> None:
    Path("app/external.py").write_text('''from corp_db import lease, unlease


def report():
    conn = lease()
    name = conn.cursor().execute("SELECT 1")
    unlease(name, conn)
''')
    write_config('acquire = ["corp_db.lease"]\nrelease = ["corp_db.unlease"]\n')
    r = cli("fix", "--diff", "app/external.py")
    assert "takes an argument bound after the checkout" in r.all


DIRECT = DIRECT_EXCEPTION_ONLY.format(mark="").lstrip("\n")


def test_direct_connections_setting_reaches_ps102(project: Path, cli: Invoke) -> None:
    """PS102's direct-connection policy (policy49): the exception-only gap of a local
    direct connection is reported only with `direct-connections = "strict"`; the
    setting is part of the cache key (the second run is cached, the third not)."""
    Path("app/direct.py").write_text(DIRECT)
    assert found(cli, "app/direct.py") == []
    Path(".poolsafe.toml").write_text('direct-connections = "lenient"\n')
    assert found(cli, "app/direct.py") == []
    Path(".poolsafe.toml").write_text('direct-connections = "strict"\n')
    assert found(cli, "app/direct.py") == [("app/direct.py", "PS102")]


def test_direct_connections_mapping() -> None:
    from poolsafe.scan.config import parse_table

    assert parse_table({}, path=None, known_codes=["PS102"]).project.direct_connections \
        == "lenient"
    cfg = parse_table({"direct-connections": "strict"}, path=None, known_codes=["PS102"])
    assert cfg.project.direct_connections == "strict"
