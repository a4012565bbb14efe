"""Fixtures shared by the executed before/after fix tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from stand_in_driver import stand_in_psycopg2


@pytest.fixture
def driver() -> Iterator[Callable[[bool], None]]:
    """A stand-in psycopg2 whose connect() fails or hands out a `StandInConn`."""
    yield from stand_in_psycopg2()
