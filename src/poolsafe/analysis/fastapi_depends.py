"""The FastAPI dependency that fills a parameter: `db: Session = Depends(get_db)`, or
the `Depends(...)` of an `Annotated[Session, Depends(get_db)]` annotation, written
inline or through a module-level alias (`SessionDep = Annotated[Session,
Depends(get_db)]`, also imported from another module), as FastAPI reads them."""

from __future__ import annotations

import libcst as cst

from poolsafe.analysis.index import ProjectIndex
from poolsafe.analysis.module import FunctionInfo, ModuleInfo
from poolsafe.analysis.resolution import resolve
from poolsafe.analysis.values import External

#: how many aliases deep an annotation is followed
_ALIAS_DEPTH = 3


def depends_of(index: ProjectIndex, func: FunctionInfo, name: str
               ) -> tuple[cst.Call, ModuleInfo] | None:
    """The `Depends(...)` call (FastAPI's, resolved) that gives `func`'s parameter
    `name` its value, with the module its argument is read in (where the alias is
    written, for an annotation through one), or None."""
    param = func.param(name)
    if param is None:
        return None
    default = param.default
    if default is not None:
        if not index.is_depends_call(default, func.module):
            return None
        assert isinstance(default, cst.Call)
        return default, func.module
    if param.annotation is None:
        return None
    return _annotated(index, param.annotation.annotation, func.module, 0)


def _annotated(index: ProjectIndex, ann: cst.BaseExpression, module: ModuleInfo, depth: int
               ) -> tuple[cst.Call, ModuleInfo] | None:
    if isinstance(ann, cst.Subscript):
        head = index.evaluate(ann.value, module, None)
        if not (isinstance(head, External) and head.qualname.rsplit(".", 1)[-1] == "Annotated"):
            return None
        for element in ann.slice[1:]:
            extra = element.slice
            if isinstance(extra, cst.Index) and index.is_depends_call(extra.value, module):
                assert isinstance(extra.value, cst.Call)
                return extra.value, module
        return None
    if isinstance(ann, (cst.Name, cst.Attribute)) and depth < _ALIAS_DEPTH:
        bound = resolve(index, ann, module, None)
        if isinstance(bound.expr, cst.Subscript):
            return _annotated(index, bound.expr, bound.module, depth + 1)
    return None
