"""Whether a requirement as written (`Flask-SQLAlchemy==2.1`, `flask_sqlalchemy<2.4,>=2`)
allows no release at or after a given version: a fix that writes an option a library
added in that version would do nothing on the versions the project allows.

Only the upper bounds count (`==`, `<`, `<=`, `~=`, and `==X.*`); a requirement with no
upper bound, or one this module cannot read, caps nothing.
"""

from __future__ import annotations

import re

Version = tuple[int, ...]

_SPEC = re.compile(r"(===|==|~=|<=|<|!=|>=|>)\s*([0-9][0-9A-Za-z.*+!-]*)")
_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


def caps_below(requirement: str, version: Version) -> bool:
    """Every version the requirement allows is older than `version`."""
    specs = requirement.split(";", 1)[0]
    specs = re.sub(r"\[[^\]]*\]", "", specs)  # extras: `pkg[async]==1.0`
    return any(_caps(op, text, version) for op, text in _SPEC.findall(specs))


def _caps(op: str, text: str, version: Version) -> bool:
    wildcard = text.endswith(".*")
    found = _NUMBERS.match(text)
    if found is None:
        return False
    parts = tuple(int(p) for p in found.group(0).split("."))
    if op in ("==", "===") and wildcard:  # ==2.1.* is <2.2
        return _less_or_equal(_bump(parts), version)
    if op in ("==", "===", "<="):
        return _less(parts, version)
    if op == "<":
        return _less_or_equal(parts, version)
    if op == "~=" and len(parts) >= 2:  # ~=2.1 is <3, ~=2.1.0 is <2.2
        return _less_or_equal(_bump(parts[:-1]), version)
    return False


def _bump(parts: Version) -> Version:
    return (*parts[:-1], parts[-1] + 1)


def _pad(a: Version, b: Version) -> tuple[Version, Version]:
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)), b + (0,) * (n - len(b))


def _less(a: Version, b: Version) -> bool:
    x, y = _pad(a, b)
    return x < y


def _less_or_equal(a: Version, b: Version) -> bool:
    x, y = _pad(a, b)
    return x <= y
