"""The single-file fix plans the fixers make on every rule case and fixture app:
the projects (one test parameter each) and, per project, each plan with the module
it edits. Shared by the equivalence tests and the partial-visit tests."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.index import ProjectIndex
from poolsafe.fix.plan.api import FixPlan
from poolsafe.rules import ALL_RULES, FileContext
from poolsafe.scan.checking import enabled_rules, parse_source, with_virtual_files
from poolsafe.scan.engine import ScanOptions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fix_projects() -> list[object]:
    """Every fixable rule's INVALID case (`PS102-invalid-3`) and every fixture app's
    `before/` (`fixture-flask_psycopg2`), as the files of a project."""
    out = []
    for rule in ALL_RULES:
        if rule.fixable:
            for i, case in enumerate(rule.INVALID):
                out.append(pytest.param({**case.files, case.path: case.code},
                                        id=f"{rule.code}-invalid-{i}"))
    for before in sorted(FIXTURES.glob("*/before")):
        files = {str(p.relative_to(before)): p.read_text(encoding="utf-8")
                 for p in sorted(before.rglob("*")) if p.is_file()}
        out.append(pytest.param(files, id=f"fixture-{before.parent.name}"))
    return out


def fix_plans(files: dict[str, str]) -> list[tuple[str, str, cst.Module, FixPlan]]:
    """(rule code, module path, module tree, plan) for each plan that edits only the
    module it was made for."""
    options = with_virtual_files(ScanOptions(), files)
    modules = [parse_source(name, Path("/virtual") / name, Path(name), text)
               for name, text in files.items() if name.endswith(".py")]
    index = ProjectIndex(modules, options.project)
    out = []
    for module in modules:
        ctx = FileContext(module, index)
        for rule in enabled_rules(options):
            if not rule.fixable:
                continue
            for raw in rule.check(ctx):
                plan = rule.fix(ctx, raw)
                if isinstance(plan, FixPlan) and plan.path in (None, module.path) \
                        and not plan.companions:
                    out.append((rule.code, module.path, module.tree, plan))
    return out
