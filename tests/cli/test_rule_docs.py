"""docs/rules.md is the rules' own documentation, regenerated from them."""

from __future__ import annotations

from pathlib import Path

from poolsafe.report.rule_docs import rules_document

ROOT = Path(__file__).resolve().parents[2]


def test_docs_rules_md_is_current() -> None:
    current = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert current == rules_document(), (
        "docs/rules.md is stale: run `python -m poolsafe.report.rule_docs > docs/rules.md`")


def test_every_rule_has_an_anchor() -> None:
    from poolsafe.rules import ALL_RULES

    text = rules_document()
    for rule in ALL_RULES:
        assert f'<a id="{rule.code.lower()}"></a>' in text


def test_fixable_codes_are_the_rules_with_a_fix() -> None:
    """`rule_codes.FIXABLE_CODES` (read without loading the rules, for the summary's
    hidden fixes) stays equal to the rules themselves."""
    from poolsafe.core.rule_codes import FIXABLE_CODES
    from poolsafe.rules import ALL_RULES

    assert {r.code for r in ALL_RULES if r.fixable} == FIXABLE_CODES
