"""Every output format on the small project in tests/cli/data, against golden files
in tests/cli/golden/. Regenerate them with:

    POOLSAFE_UPDATE_GOLDEN=1 pytest tests/cli/test_cli_golden.py

The run selects PS101, PS102 and PS104 so that rules added later do not change the
goldens; SARIF rule documentation is replaced by a marker (it is checked against
the rule classes in test_cli_sarif.py instead), and the version by `<version>`.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import GOLDEN, Invoke

from poolsafe import __version__

SELECT = "PS101,PS102,PS104"

CASES = {
    "text": ("check.text.txt", ["--format", "text"]),
    "concise": ("check.concise.txt", ["--format", "concise"]),
    "json": ("check.json", ["--format", "json"]),
    "sarif": ("check.sarif.json", ["--format", "sarif"]),
    "github": ("check.github.txt", ["--format", "github"]),
    "junit": ("check.junit.xml", ["--format", "junit"]),
    "statistics": ("check.statistics.txt", ["--statistics"]),
    "statistics-json": ("check.statistics.json", ["--statistics", "--format", "json"]),
}


def normalize(name: str, text: str) -> str:
    if name == "sarif":
        doc: dict[str, Any] = json.loads(text)
        driver = doc["runs"][0]["tool"]["driver"]
        driver["version"] = driver["semanticVersion"] = "<version>"
        for rule in driver["rules"]:
            rule["fullDescription"]["text"] = "<first paragraph of the rule's documentation>"
            rule["help"] = {"text": "<rule documentation>", "markdown": "<rule documentation>"}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if name == "json":
        doc = json.loads(text)
        doc["version"] = "<version>"
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return text.replace(__version__, "<version>")


def compare(name: str, actual: str) -> None:
    path: Path = GOLDEN / CASES[name][0]
    actual = normalize(name, actual)
    if os.environ.get("POOLSAFE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run with POOLSAFE_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{name} output differs from {path.name} "
        "(if the change is intended: POOLSAFE_UPDATE_GOLDEN=1 pytest tests/cli)")


@pytest.mark.parametrize("name", list(CASES))
def test_format_golden(name: str, project: Path, cli: Invoke) -> None:
    r = cli("check", "--select", SELECT, *CASES[name][1])
    assert r.code == 1, r.all
    assert "Traceback" not in r.all
    compare(name, r.out)


def test_text_has_no_colour_off_a_terminal(project: Path, cli: Invoke) -> None:
    r = cli("check", "--select", SELECT)
    assert "\x1b[" not in r.out


def test_text_colour_is_forced_but_no_color_wins(project: Path, cli: Invoke) -> None:
    forced = cli("check", "--select", SELECT, env={"FORCE_COLOR": "1"})
    assert "\x1b[1;31m" in forced.out  # bold red code
    plain = cli("check", "--select", SELECT, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "PS102" in plain.out
    assert "\x1b[1;31m" not in plain.out and "\x1b[31m" not in plain.out


def test_concise_lines_have_the_documented_shape(project: Path, cli: Invoke) -> None:
    r = cli("check", "--select", SELECT, "--format", "concise")
    lines = [ln for ln in r.out.splitlines() if ln.startswith("app/")]
    assert lines
    for ln in lines:
        path, line, col, rest = ln.split(":", 3)
        assert path.endswith(".py") and line.isdigit() and col.isdigit()
        assert rest.startswith(" PS1")


def test_json_object_is_exactly_the_documented_one(project: Path, cli: Invoke) -> None:
    doc = json.loads(cli("check", "--format", "json").out)
    assert set(doc) == {"version", "findings", "errors"}
    assert doc["findings"]
    for f in doc["findings"]:
        assert set(f) == {"path", "line", "column", "end_line", "end_column", "code", "name",
                          "message", "severity", "fixable", "steps", "confirmed",
                          "runtime_notes"}
        assert f["runtime_notes"] == []  # (without --runtime)
        for step in f["steps"]:
            # (`path` only on a step in another file: none in this project)
            assert set(step) == {"line", "column", "message"}
    assert any(f["steps"] for f in doc["findings"])


def test_github_annotations(project: Path, cli: Invoke) -> None:
    r = cli("check", "--select", SELECT, "--format", "github")
    line = next(ln for ln in r.out.splitlines() if "PS102" in ln)
    assert line.startswith("::error file=app/db.py,line=9,col=12,endLine=9,endColumn=26,"
                           "title=PS102 unreleased-connection::")
    # a property value may not contain a raw ',' or ':'; data no raw newline
    props = line.split("::")[1]
    assert props.count(",") == 5


def test_github_warning_severity(project: Path, cli: Invoke) -> None:
    Path("pyproject.toml").write_text('[tool.poolsafe]\nseverity = {PS101 = "warning"}\n')
    r = cli("check", "--select", SELECT, "--format", "github")
    assert any(ln.startswith("::warning ") and "PS101" in ln for ln in r.out.splitlines())
    assert any(ln.startswith("::error ") and "PS102" in ln for ln in r.out.splitlines())


def test_github_escapes_properties_and_data() -> None:
    from poolsafe.report import github

    assert github._prop("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert github._data("50%\r\nx: y, z") == "50%25%0D%0Ax: y, z"


def test_junit_one_testcase_per_scanned_file(project: Path, cli: Invoke) -> None:
    r = cli("check", "--select", SELECT, "--format", "junit")
    root = ET.fromstring(r.out)
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"app/__init__.py", "app/api.py", "app/clean.py", "app/db.py"}
    assert cases["app/clean.py"].find("failure") is None
    failure = cases["app/db.py"].find("failure")
    assert failure is not None and "PS101" in (failure.text or "") \
        and "PS102" in (failure.text or "")
    assert root.get("failures") == "2"


def test_output_file(project: Path, cli: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "out.sarif"
    r = cli("check", "--format", "sarif", "--output-file", str(target))
    assert r.code == 1
    assert r.out == ""
    assert json.loads(target.read_text())["version"] == "2.1.0"
    text_target = tmp_path / "out.txt"
    cli("check", "--select", SELECT, "-o", str(text_target),
        env={"FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"})
    content = text_target.read_text()
    assert "PS102" in content and "\x1b[" not in content
