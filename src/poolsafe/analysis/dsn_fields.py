"""The dialect a pydantic settings field's type names: an engine URL read from a
settings object whose class types that field `PostgresDsn` (or another of pydantic's
DSN types) is that database's, whatever the environment fills it with.

    class Settings(BaseSettings):
        ASYNC_POSTGRES_URI: Optional[PostgresDsn] = None     # built by a validator

    SETTINGS = Settings()
    engine = create_async_engine(SETTINGS.ASYNC_POSTGRES_URI)   # a postgresql engine

Issue 31, "PS203 on engines whose dialect comes from a helper or the environment"
(small66, corpus30's tune half; small62 saw the same in corpus28's held half)."""

from __future__ import annotations

import re

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.analysis.values import Instance

#: pydantic's DSN types (v1 and v2) and the dialect each names
_DSN_TYPES = {
    "PostgresDsn": "postgresql", "AsyncPostgresDsn": "postgresql",
    "PostgreSQLDsn": "postgresql", "CockroachDsn": "cockroachdb",
    "MySQLDsn": "mysql", "MariaDBDsn": "mysql",
}
_DSN_NAME = re.compile(r"\b(" + "|".join(_DSN_TYPES) + r")\b")
#: how many names to follow from the engine's argument to the settings attribute
_MAX_STEPS = 4


def dsn_field_dialect(index: ProjectIndex, expr: cst.BaseExpression, module: ModuleInfo,
                      func: FunctionInfo | None) -> tuple[str, str] | None:
    """`(dialect, evidence)` when `expr` (followed through module-level names, and
    `str(...)` around it) is an attribute of an instance of a project class whose own
    annotation of that attribute names one of pydantic's DSN types, and only one
    database's."""
    current: cst.BaseExpression = expr
    where = module
    for _ in range(_MAX_STEPS):
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Name) \
                and current.func.value == "str" and len(current.args) == 1:
            current = current.args[0].value
            continue
        if isinstance(current, cst.Name):
            found = _module_value(where, current.value)
            if found is None:
                return None
            current, where = found
            continue
        break
    if not isinstance(current, cst.Attribute):
        return None
    owner = index.evaluate(current.value, where, func if where is module else None)
    if not isinstance(owner, Instance):
        return None
    return _typed_dsn(owner.cls, current.attr.value)


def _module_value(module: ModuleInfo,
                  name: str) -> tuple[cst.BaseExpression, ModuleInfo] | None:
    """The one value a module-level `name` of `module` is assigned."""
    values = module.assigns.get(name)
    return (values[0], module) if values is not None and len(values) == 1 else None


def _typed_dsn(cls: ClassInfo, attr: str) -> tuple[str, str] | None:
    annotation = cls.annotations.get(attr)
    if annotation is None:
        return None
    text = cst.Module([]).code_for_node(annotation)
    names = set(_DSN_NAME.findall(text))
    dialects = {_DSN_TYPES[n] for n in names}
    if len(dialects) != 1:
        return None
    return dialects.pop(), f"`{cls.name}.{attr}` as a pydantic `{sorted(names)[0]}`"
