"""`--format sarif`: SARIF 2.1.0, as GitHub code scanning and other viewers read it.

Locations are URIs relative to `%SRCROOT%` (the repository root, or the current
directory outside a repository). Each rule carries its documentation as help
markdown, its default level, and whether poolsafe can fix it. Each result carries
a `partialFingerprints` entry built like a baseline key (file, code, function,
line text), so a finding keeps its identity when code above it moves.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from poolsafe import __version__
from poolsafe.core.model import Finding, RuleMeta, Step
from poolsafe.core.project import project_relative
from poolsafe.report import ReportContext
from poolsafe.scan.baseline import SourceInfo

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/poolsafe/"
SRCROOT = "%SRCROOT%"


def artifact_location(path: str, root: Path) -> dict[str, str]:
    rel = project_relative(path, root)
    if rel is None:
        return {"uri": Path(os.path.abspath(path)).as_uri()}
    return {"uri": quote(rel), "uriBaseId": SRCROOT}


def _first_paragraph(doc: str) -> str:
    lines: list[str] = []
    for line in doc.splitlines():
        if line.startswith("#"):
            if lines:
                break
            continue
        if not line.strip():
            if lines:
                break
            continue
        lines.append(line.strip())
    return " ".join(lines)


def rule_descriptor(meta: RuleMeta) -> dict[str, Any]:
    full = _first_paragraph(meta.doc) or meta.summary
    return {
        "id": meta.code,
        "name": meta.name,
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": full},
        "help": {"text": meta.doc or meta.summary, "markdown": meta.doc or meta.summary},
        "defaultConfiguration": {"level": str(meta.severity)},
        "properties": {"fixable": meta.fixable, "tags": ["database", "resource-leak"]},
    }


def _location(f: Finding, root: Path) -> dict[str, Any]:
    loc = f.location
    return {"physicalLocation": {
        "artifactLocation": artifact_location(f.path, root),
        "region": {"startLine": loc.line, "startColumn": loc.column,
                   "endLine": loc.end_line, "endColumn": loc.end_column},
    }}


def _code_flows(f: Finding, root: Path) -> list[dict[str, Any]]:
    """The finding's path as one thread flow, which GitHub code scanning shows step by
    step."""
    return [{"threadFlows": [{"locations": [
        {"location": _step_location(f, s, root)} for s in f.steps]}]}]


def _step_location(f: Finding, s: Step, root: Path) -> dict[str, Any]:
    return {"physicalLocation": {
        "artifactLocation": artifact_location(s.path or f.path, root),
        "region": {"startLine": s.line, "startColumn": s.column}},
        "message": {"text": s.label}}


def _related_locations(f: Finding, root: Path) -> list[dict[str, Any]]:
    """The steps in other files (the acquire and release wrappers' definitions) as
    related locations, which a viewer lists beside the result and links to."""
    return [{"id": i, **_step_location(f, s, root)}
            for i, s in enumerate((s for s in f.steps if s.path is not None), 1)]


def as_dict(ctx: ReportContext) -> dict[str, Any]:
    rules = list(ctx.rules)
    index = {m.code: i for i, m in enumerate(rules)}
    info = SourceInfo()
    seen: Counter[str] = Counter()

    def result(f: Finding, suppression: str | None) -> dict[str, Any]:
        key = "\0".join((artifact_location(f.path, ctx.root)["uri"], f.code,
                         info.function(f.path, f.line), info.line_text(f.path, f.line)))
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
        seen[digest] += 1
        out: dict[str, Any] = {
            "ruleId": f.code,
            "level": str(f.severity),
            "message": {"text": f.message},
            "locations": [_location(f, ctx.root)],
            "partialFingerprints": {"poolsafeFinding/v1": f"{digest}:{seen[digest]}"},
            "properties": {"fixable": f.fixable, "name": f.name},
        }
        if f.steps:
            out["codeFlows"] = _code_flows(f, ctx.root)
            related = _related_locations(f, ctx.root)
            if related:
                out["relatedLocations"] = related
        if f.confirmed:
            out["properties"]["confirmed"] = f.confirmed
        if f.runtime_notes:
            out["properties"]["runtimeNotes"] = list(f.runtime_notes)
        if f.code in index:
            out = {"ruleId": f.code, "ruleIndex": index[f.code],
                   **{k: v for k, v in out.items() if k != "ruleId"}}
        if suppression is not None:
            out["suppressions"] = [{
                "kind": "inSource" if suppression == "comment" else "external",
                "justification": ("# poolsafe: ignore comment" if suppression == "comment"
                                  else "listed in the baseline"),
            }]
        return out

    results = [result(f, None) for f in ctx.result.findings]
    if ctx.show_suppressed:
        results.extend(result(s.finding, s.reason) for s in ctx.suppressed)

    notifications = [{
        "level": "error",
        "message": {"text": e.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": artifact_location(e.path, ctx.root)}}],
    } for e in ctx.result.errors]
    invocation: dict[str, Any] = {"executionSuccessful": ctx.result.internal_errors == 0}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "poolsafe",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": INFORMATION_URI,
                "rules": [rule_descriptor(m) for m in rules],
            }},
            "invocations": [invocation],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(ctx: ReportContext) -> str:
    return json.dumps(as_dict(ctx), indent=2, ensure_ascii=False) + "\n"
