"""SARIF output against a bundled SARIF 2.1.0 schema (tests/cli/sarif-2.1.0-subset.
schema.json, written from the specification), plus what GitHub code scanning needs:
relative URIs under %SRCROOT%, rule metadata from the rule classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from cli_helpers import SCHEMA, Invoke

from poolsafe.rules import RULES_BY_CODE


def validate(doc: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    jsonschema.Draft7Validator(schema).validate(doc)


def sarif(cli: Invoke, *args: str) -> dict[str, Any]:
    r = cli("check", "--format", "sarif", *args)
    assert r.code in (0, 1), r.all
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def test_valid_against_schema(project: Path, cli: Invoke) -> None:
    doc = sarif(cli)
    validate(doc)
    assert doc["runs"][0]["results"]


def test_schema_rejects_what_the_spec_forbids() -> None:
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}},
                                         "results": [{"message": {"text": "m"},
                                                      "level": "fatal"}]}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    extra = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x", "bogus": 1}}}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(extra)
    region = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "a.py"}, "region": {"startLine": 0}}}]}]}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(region)


def test_uris_are_relative_to_srcroot(project: Path, cli: Invoke) -> None:
    doc = sarif(cli)
    locations = [loc["physicalLocation"]["artifactLocation"]
                 for res in doc["runs"][0]["results"] for loc in res["locations"]]
    assert locations
    for loc in locations:
        assert loc["uriBaseId"] == "%SRCROOT%"
        parts = urlsplit(loc["uri"])
        assert not parts.scheme and not parts.netloc
        assert not loc["uri"].startswith("/") and ".." not in loc["uri"].split("/")
        assert (project / loc["uri"]).is_file()


def test_uris_relative_when_scanning_by_absolute_path(project: Path, cli: Invoke) -> None:
    doc = sarif(cli, str(project / "app"))
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in doc["runs"][0]["results"] for loc in res["locations"]}
    assert uris == {"app/api.py", "app/db.py"}


def test_uri_percent_encoding(project: Path, cli: Invoke) -> None:
    (project / "my app").mkdir()
    (project / "app" / "db.py").rename(project / "my app" / "db.py")
    doc = sarif(cli)
    validate(doc)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for res in doc["runs"][0]["results"] for loc in res["locations"]}
    assert "my%20app/db.py" in uris


def test_rule_metadata_comes_from_the_rule_classes(project: Path, cli: Invoke) -> None:
    doc = sarif(cli)
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "poolsafe" and driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    for i, rule in enumerate(rules):
        meta = RULES_BY_CODE[rule["id"]].meta()
        assert rule["name"] == meta.name
        assert rule["shortDescription"]["text"] == meta.summary
        assert rule["help"]["markdown"] == meta.doc
        assert rule["defaultConfiguration"]["level"] == str(meta.severity)
        assert rule["properties"]["fixable"] is meta.fixable
        assert rule["fullDescription"]["text"]
        for res in doc["runs"][0]["results"]:
            if res["ruleId"] == rule["id"]:
                assert res["ruleIndex"] == i


def test_severity_override_sets_the_level(project: Path, cli: Invoke) -> None:
    Path("pyproject.toml").write_text('[tool.poolsafe]\nseverity = {PS102 = "warning"}\n')
    doc = sarif(cli)
    levels = {r["ruleId"]: r["level"] for r in doc["runs"][0]["results"]}
    assert levels["PS102"] == "warning" and levels["PS101"] == "error"


def test_fingerprints_survive_moving_code(project: Path, cli: Invoke) -> None:
    before = {r["ruleId"]: r["partialFingerprints"] for r in sarif(cli)["runs"][0]["results"]}
    db = project / "app" / "db.py"
    db.write_text("\n" * 10 + db.read_text())
    after = {r["ruleId"]: r["partialFingerprints"] for r in sarif(cli)["runs"][0]["results"]}
    assert before == after


def test_suppressed_results_carry_suppressions(project: Path, cli: Invoke) -> None:
    db = project / "app" / "db.py"
    db.write_text(db.read_text().replace("        conn.close()",
                                         "        conn.close()  # poolsafe: ignore[PS101]"))
    doc = sarif(cli, "--show-suppressed")
    validate(doc)
    sup = [r for r in doc["runs"][0]["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in sup] == ["PS101"]
    assert sup[0]["suppressions"][0]["kind"] == "inSource"
    plain = sarif(cli)
    assert all(r["ruleId"] != "PS101" for r in plain["runs"][0]["results"])


def test_file_errors_are_notifications(project: Path, cli: Invoke) -> None:
    (project / "broken.py").write_text("import psycopg2\nconn = pool.getconn(\n")
    doc = sarif(cli)
    validate(doc)
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.py"


def test_wrappers_in_other_modules_are_related_locations(tmp_path: Path, cli: Invoke,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The acquire and release wrappers of a leak, defined in another module: steps of
    the code flow in that file, and the result's related locations, which validate."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "db.py").write_text(
        "from psycopg2.pool import ThreadedConnectionPool\n\n"
        "pool = ThreadedConnectionPool(1, 4, dsn='x')\n\n\n"
        "def get_db_connection():\n    return pool.getconn()\n\n\n"
        "def release_db_connection(conn):\n    pool.putconn(conn)\n")
    (tmp_path / "pkg" / "app.py").write_text(
        "from pkg.db import get_db_connection, release_db_connection\n\n\n"
        "def load():\n    conn = get_db_connection()\n"
        "    conn.cursor().execute('select 1')\n    release_db_connection(conn)\n")
    doc = sarif(cli, "pkg")
    validate(doc)
    (res,) = doc["runs"][0]["results"]
    related = [(r["id"], r["physicalLocation"]["artifactLocation"]["uri"],
                r["physicalLocation"]["region"]["startLine"], r["message"]["text"])
               for r in res["relatedLocations"]]
    assert related == [
        (1, "pkg/db.py", 6, "`get_db_connection()` is defined here: it takes the connection "
                            "from the pool and hands it out"),
        (2, "pkg/db.py", 10, "`release_db_connection()` is defined here: the release the "
                             "checkout needs")]
    flow = [(loc["location"]["physicalLocation"]["artifactLocation"]["uri"],
             loc["location"]["physicalLocation"]["region"]["startLine"])
            for loc in res["codeFlows"][0]["threadFlows"][0]["locations"]]
    assert flow == [("pkg/app.py", 5), ("pkg/db.py", 6), ("pkg/app.py", 6),
                    ("pkg/db.py", 10)]
    # the text and JSON outputs name the other file on those steps
    text = cli("check", "pkg").out
    assert "= pkg/db.py:6: `get_db_connection()` is defined here" in text
    assert "= 6: `conn.cursor().execute(...)` may raise" in text
    steps = json.loads(cli("check", "--format", "json", "pkg").out)["findings"][0]["steps"]
    assert [(s.get("path"), s["line"]) for s in steps] == [
        (None, 5), ("pkg/db.py", 6), (None, 6), ("pkg/db.py", 10)]


def test_schema_rejects_related_locations_that_are_not_locations() -> None:
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [
        {"message": {"text": "m"}, "relatedLocations": [{"uri": "a.py"}]}]}]}
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
