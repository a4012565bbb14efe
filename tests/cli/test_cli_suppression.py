"""`# poolsafe: ignore[...]` comments, --show-suppressed and --report-unused-ignores."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import Invoke

from poolsafe.scan.suppression import parse_comments


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def found(cli: Invoke, *args: str) -> list[tuple[str, int, str]]:
    r = cli("check", "--format", "json", *args)
    return [(f["path"], f["line"], f["code"]) for f in json.loads(r.out)["findings"]]


def test_parse_comments() -> None:
    src = '''x = 1  # poolsafe: ignore[PS102]
y = "# poolsafe: ignore"  # not a directive in the string
z = 3  # noqa: E501  # poolsafe: ignore[ps101, PS102 ]
w = 4  # POOLSAFE: IGNORE
'''
    c = parse_comments(src)
    assert sorted(c) == [1, 3, 4]
    assert c[1].codes == frozenset({"PS102"})
    assert c[3].codes == frozenset({"PS101", "PS102"})
    assert c[4].codes is None
    assert parse_comments("def f(:\n  '''unterminated") == {}


def test_ignore_specific_code(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    edit(db, "def get_user(user_id):\n    conn = pool.getconn()",
         "def get_user(user_id):\n    conn = pool.getconn()  # poolsafe: ignore[PS102]")
    assert ("app/db.py", 9, "PS102") not in found(cli)
    # the wrong code does not suppress
    edit(db, "ignore[PS102]", "ignore[PS101]")
    assert ("app/db.py", 9, "PS102") in found(cli)


def test_ignore_all_codes_and_lists(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    edit(db, "        conn.close()", "        conn.close()  # poolsafe: ignore")
    edit(db, "def get_user(user_id):\n    conn = pool.getconn()",
         "def get_user(user_id):\n    conn = pool.getconn()  # poolsafe: ignore[PS101, PS102]")
    assert [c for p, _, c in found(cli) if p == "app/db.py"] == []


def test_show_suppressed(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    edit(db, "        conn.close()", "        conn.close()  # poolsafe: ignore[PS101]")
    r = cli("check")
    assert "PS101" not in r.out and "1 suppressed" in r.out
    r = cli("check", "--show-suppressed")
    assert "Suppressed (1):" in r.out and "(suppressed by comment)" in r.out
    r = cli("check", "--show-suppressed", "--format", "concise")
    assert "app/db.py:24:9: PS101" in r.out and "(suppressed by comment)" in r.out
    # the JSON object stays exactly as documented
    doc = json.loads(cli("check", "--show-suppressed", "--format", "json").out)
    assert set(doc) == {"version", "findings", "errors"}


def test_report_unused_ignores(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    edit(db, "def list_users():\n    conn = pool.getconn()",
         "def list_users():\n    conn = pool.getconn()  # poolsafe: ignore[PS102]")
    edit(db, "        conn.close()", "        conn.close()  # poolsafe: ignore[PS101, PS103]")
    clean = project / "app" / "clean.py"
    edit(clean, "return a + b", "return a + b  # poolsafe: ignore")
    edit(clean, '"""Nothing to report here."""',
         '"""Nothing to report here."""  # poolsafe: ignore[PS999]')
    assert cli("check", "--select", "PS101,PS103").code == 0
    r = cli("check", "--report-unused-ignores", "--format", "concise")
    lines = [ln for ln in r.out.splitlines() if "PS001" in ln]
    assert any(ln.startswith("app/db.py:28:") and "unused code PS102" in ln for ln in lines)
    assert any(ln.startswith("app/db.py:24:") and "unused code PS103" in ln for ln in lines)
    assert any(ln.startswith("app/clean.py:5:") and "unused `# poolsafe: ignore`" in ln
               for ln in lines)
    assert any(ln.startswith("app/clean.py:1:") and "unknown code PS999" in ln
               for ln in lines)
    assert r.code == 1
    # PS001 is a warning: --fail-on error ignores it
    r = cli("check", "--select", "PS101", "--report-unused-ignores", "--fail-on", "error")
    assert r.code == 0, r.all
    # codes of rules not enabled in this run are not called unused
    r = cli("check", "--select", "PS101", "--report-unused-ignores", "--format", "concise")
    assert "unused code PS102" not in r.out


def test_explain_unused_suppression(project: Path, cli: Invoke) -> None:
    r = cli("explain", "PS001")
    assert r.code == 0 and "unused-suppression" in r.out


def test_parse_noqa_comments() -> None:
    src = '''a = 1  # noqa
b = 2  # noqa: PS102
c = 3  # noqa: E501, ps101
d = 4  # noqa: E501
e = "# noqa"
'''
    c = parse_comments(src)
    assert sorted(c) == [1, 2, 3]  # `# noqa: E501` is another tool's; a string is no comment
    assert c[1].codes is None and c[1].noqa
    assert c[2].codes == frozenset({"PS102"}) and c[2].text == "# noqa: PS102"
    assert c[3].codes == frozenset({"PS101"})


def test_noqa_suppresses_like_ruff(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    before = found(cli, ".")
    assert ("app/db.py", 9, "PS102") in before
    edit(db, "def get_user(user_id):\n    conn = pool.getconn()",
         "def get_user(user_id):\n    conn = pool.getconn()  # noqa: PS102")
    assert ("app/db.py", 9, "PS102") not in found(cli, ".")
    edit(db, "conn = pool.getconn()  # noqa: PS102", "conn = pool.getconn()  # noqa: E501")
    assert ("app/db.py", 9, "PS102") in found(cli, ".")  # another tool's code only
    edit(db, "conn = pool.getconn()  # noqa: E501", "conn = pool.getconn()  # noqa")
    assert ("app/db.py", 9, "PS102") not in found(cli, ".")
    # a bare noqa that suppresses nothing of ours may be another tool's: never PS001
    clean = project / "app" / "clean.py"
    edit(clean, "return a + b", "return a + b  # noqa")
    r = cli("check", "--report-unused-ignores", "--format", "json", "app/clean.py")
    assert json.loads(r.out)["findings"] == []
    edit(clean, "return a + b  # noqa", "return a + b  # noqa: PS102")
    r = cli("check", "--report-unused-ignores", "--format", "json", "app/clean.py")
    assert [f["code"] for f in json.loads(r.out)["findings"]] == ["PS001"]
