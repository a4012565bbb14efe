"""Shared test configuration."""

# the runtime tests drive the pytest plugin through pytester
pytest_plugins = ["pytester"]
