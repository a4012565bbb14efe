"""Every rule case written into one project, each in its own directory (`case<n>/`),
for the tests that compare ways of scanning the same tree."""

from __future__ import annotations

from pathlib import Path

from poolsafe.rules import ALL_RULES


def write_rule_cases(root: Path) -> Path:
    n = 0
    for rule in ALL_RULES:
        for case in [*rule.VALID, *rule.INVALID]:
            for name, text in {**case.files, case.path: case.code}.items():
                p = root / f"case{n}" / name
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(text)
            n += 1
    return root
