"""The rule-case modules (`poolsafe.rules.cases`) are long and grow by appending from
several branches at once; a module-level template name assigned twice silently gives
the earlier cases' readers the later text. Each name is bound once (`VALID` and
`INVALID` grow with `+=` / `.append`, which are not assignments)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parents[2] / "src" / "poolsafe" / "rules" / "cases"


def twice_bound(source: str) -> list[str]:
    """The module-level names of `source` that plain assignments bind more than once."""
    bound: Counter[str] = Counter()
    for stmt in ast.parse(source).body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else (
            [stmt.target] if isinstance(stmt, ast.AnnAssign) and stmt.value else [])
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Name):
                    bound[node.id] += 1
    return sorted(name for name, n in bound.items() if n > 1)


def test_the_check_sees_a_second_binding() -> None:
    assert twice_bound("_A = '1'\nVALID = []\nVALID += [_A]\n_A = '2'\n") == ["_A"]
    assert twice_bound("_A = '1'\nVALID = [_A]\nVALID.append(_A)\n_B: str = _A\n") == []


@pytest.mark.parametrize("path", sorted(CASES.glob("*.py")), ids=lambda p: p.name)
def test_each_case_module_binds_each_name_once(path: Path) -> None:
    assert twice_bound(path.read_text(encoding="utf-8")) == []
