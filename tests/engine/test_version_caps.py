"""A requirement's upper bound, read for fixes that write an option a library added
in some version (PS203's `SQLALCHEMY_ENGINE_OPTIONS`, Flask-SQLAlchemy 2.4)."""

from __future__ import annotations

import pytest

from poolsafe.analysis.version_caps import caps_below


@pytest.mark.parametrize("requirement", [
    "Flask-SQLAlchemy==2.1",
    "flask_sqlalchemy==2.3.2",
    "Flask-SQLAlchemy<2.4",
    "Flask-SQLAlchemy>=2.0,<2.4",
    "Flask-SQLAlchemy<=2.3.9",
    "Flask-SQLAlchemy~=2.3.0",
    "Flask-SQLAlchemy==2.3.*",
    "Flask-SQLAlchemy[async] == 2.1 ; python_version < '3.8'",
])
def test_capped_below(requirement: str) -> None:
    assert caps_below(requirement, (2, 4))


@pytest.mark.parametrize("requirement", [
    "Flask-SQLAlchemy",
    "Flask-SQLAlchemy==2.4",
    "Flask-SQLAlchemy==2.4.0",
    "Flask-SQLAlchemy>=2.1",
    "Flask-SQLAlchemy~=2.1",  # >=2.1, <3: 2.4 allowed
    "Flask-SQLAlchemy<=2.4",
    "Flask-SQLAlchemy<2.5",
    "Flask-SQLAlchemy==2.4.*",
    "Flask-SQLAlchemy!=2.1",
    "Flask-SQLAlchemy==3.1.1",
    "Flask-SQLAlchemy @ git+https://example.invalid/fsa.git",
])
def test_not_capped_below(requirement: str) -> None:
    assert not caps_below(requirement, (2, 4))
