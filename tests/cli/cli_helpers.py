"""Constants and types shared by the CLI tests (fixtures are in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "data"
GOLDEN = HERE / "golden"
SCHEMA = HERE / "sarif-2.1.0-subset.schema.json"


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err


Invoke = Callable[..., Run]
