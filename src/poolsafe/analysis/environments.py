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
    names = files.env_files()
    base: dict[str, str] = {}
    base_sources: tuple[str, ...] = ()
    if ".env" in names:
        text = files.read(".env")
        if text is not None:
            base = parse_env(text)
            base_sources = (".env",)
    out = []
    for rel in names:
        if rel == ".env":
            continue
        text = files.read(rel)
        if text is None:
            continue
        out.append(Environment(rel[len(".env."):], {**base, **parse_env(text, base)},
                               (*base_sources, rel)))
    if not out:
        return [Environment(DEFAULT_ENVIRONMENT, base, base_sources)]
    return out
