"""PS209 is opt-in: selected by its code or ALL, never by default or by a prefix."""

from __future__ import annotations

from poolsafe.core.rule_codes import OPT_IN_CODES, RULE_CODES, enabled_codes
from poolsafe.scan.config import Config
from poolsafe.scan.engine import ScanOptions, scan_sources
from poolsafe.scan.pipeline import Selection

SOURCE = """from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
"""


def test_default_selection_leaves_opt_in_rules_off() -> None:
    assert "PS209" in OPT_IN_CODES and "PS209" in RULE_CODES
    assert "PS209" not in enabled_codes(None, [])
    assert "PS209" not in enabled_codes(["PS2"], [])
    assert "PS209" in enabled_codes(["PS209"], [])
    assert "PS209" in enabled_codes(["ALL"], [])
    assert not [f for f in scan_sources({"case.py": SOURCE}).findings if f.code == "PS209"]
    found = scan_sources({"case.py": SOURCE}, ScanOptions(select={"PS209"})).findings
    assert [f.code for f in found] == ["PS209"]


def test_command_line_selection() -> None:
    cfg = Config()
    assert "PS209" not in Selection().enabled(cfg)
    assert "PS209" not in Selection(select=["PS2"]).enabled(cfg)
    assert "PS209" in Selection(select=["ALL"]).enabled(cfg)
    assert "PS209" in Selection(extend_select=["PS209"]).enabled(cfg)
    assert "PS209" not in Selection(select=["ALL"], ignore=["PS2"]).enabled(cfg)
    assert "PS208" in Selection(select=["PS2"]).enabled(cfg)


OVERFLOW = """from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True, pool_size=10,
                       max_overflow=20)
"""


def test_overflow_rule_is_opt_in() -> None:
    """PS204 (a sizing opinion) runs only when selected by its code or ALL."""
    assert "PS204" in OPT_IN_CODES
    assert not [f for f in scan_sources({"case.py": OVERFLOW}).findings if f.code == "PS204"]
    assert not [f for f in scan_sources({"case.py": OVERFLOW}, ScanOptions(
        select=set(enabled_codes(["PS2"], [])))).findings if f.code == "PS204"]
    found = scan_sources({"case.py": OVERFLOW}, ScanOptions(select={"PS204"})).findings
    assert [(f.code, f.line) for f in found] == [("PS204", 4)]
