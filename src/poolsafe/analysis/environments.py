"""The environments a project declares in `.env` files: `.env` is the base, and
each `.env.<name>` (`.env.production`, `.env.dev`) is an environment layered on it.
Read with python-dotenv's parser; `${VAR}` is expanded from the files themselves.

Without `.env.<name>` files there is one environment, `default` (the `.env` file,
or nothing: the code's own defaults apply).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from poolsafe.analysis.config_values import interpolate
from poolsafe.analysis.deploy_files import ProjectFiles

DEFAULT_ENVIRONMENT = "default"


@dataclass(frozen=True)
class Environment:
    name: str
    #: variable -> value, as the `.env` files set them
    values: dict[str, str] = field(default_factory=dict)
    #: the files it was read from
    sources: tuple[str, ...] = ()


def parse_env(text: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A `.env` file's variables (a malformed line is skipped, as dotenv does).
    `${VAR}` is expanded from the file's earlier variables and `base` (the `.env`
    under a `.env.<name>`), never from the environment poolsafe runs in: the
    report must not depend on the machine."""
    from dotenv import dotenv_values

    with _quiet():
        values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            continue
        expanded = interpolate(value, {**(base or {}), **out}) if "$" in value else value
        out[key] = expanded if expanded is not None else value
    return out


@contextmanager
def _quiet() -> Iterator[None]:
    """python-dotenv logs a warning per line it cannot parse; the report says it."""
    logger = logging.getLogger("dotenv.main")
    before = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = before


def environments(files: ProjectFiles) -> list[Environment]:
    """The environments: `.env` files (the repository's above a sub-project first,
    then the project's own) are the base of each `.env.<name>`."""
    names = sorted(files.env_files(), key=lambda p: (-p.count("../"), p))
    base: dict[str, str] = {}
    base_sources: list[str] = []
    for rel in names:
        if rel.replace("../", "") != ".env":
            continue
        text = files.read(rel)
        if text is not None:
            base.update(parse_env(text, base))
            base_sources.append(rel)
    named: dict[str, Environment] = {}
    for rel in names:
        name = rel.replace("../", "")
        if name == ".env":
            continue
        text = files.read(rel)
        if text is None:
            continue
        env_name = name[len(".env."):]
        before = named.get(env_name)
        values = {**(before.values if before else base), **parse_env(text, base)}
        sources = (*(before.sources if before else base_sources), rel)
        named[env_name] = Environment(env_name, values, sources)
    if not named:
        return [Environment(DEFAULT_ENVIRONMENT, base, tuple(base_sources))]
    return sorted(named.values(), key=lambda e: e.name)
