"""Fixtures for the runtime tests: real database servers, skipped or required."""

from __future__ import annotations

import os
from typing import Any

import pytest

from poolsafe.runtime.drivers import mysql_params as parse_mysql_dsn

PG_DSN = os.environ.get(
    "POOLSAFE_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test?connect_timeout=3"
)
MYSQL_DSN = os.environ.get(
    "POOLSAFE_MYSQL_DSN", "mysql://root:@127.0.0.1:3306/test?connect_timeout=3"
)


def _unavailable(reason: str) -> None:
    if os.environ.get("POOLSAFE_REQUIRE_DB") == "1":
        pytest.fail(f"{reason} (POOLSAFE_REQUIRE_DB=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """DSN of a reachable PostgreSQL server (skip, or fail with POOLSAFE_REQUIRE_DB=1)."""
    try:
        import psycopg2

        psycopg2.connect(PG_DSN).close()
    except Exception as exc:
        _unavailable(f"PostgreSQL not reachable at {PG_DSN}: {str(exc).strip()}")
    return PG_DSN


@pytest.fixture(scope="session")
def mysql_params() -> dict[str, Any]:
    """pymysql.connect() keyword arguments of a reachable MariaDB/MySQL server."""
    params = parse_mysql_dsn(MYSQL_DSN)
    try:
        import pymysql

        pymysql.connect(**params).close()
    except Exception as exc:
        _unavailable(f"MySQL not reachable at {params['host']}:{params['port']}: {exc}")
    return params


@pytest.fixture(scope="session")
def mysql_dsn(mysql_params: dict[str, Any]) -> str:
    return MYSQL_DSN
