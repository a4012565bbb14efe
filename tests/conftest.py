"""Shared test configuration."""

import os

import pytest

# the runtime tests drive the pytest plugin through pytester
pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="session")
def _user_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The key that signs the cache's parsed modules (`poolsafe.scan.snapshots`) lives
    in the user's cache directory: the tests make theirs in a temporary one."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
