"""Source mutations for the property tests, written as libcst transformers.

Every mutation keeps a module that compiles compiling (it may change what the code
does at run time, which is the point: the linter must cope with any shape). The
choices are drawn from a hypothesis `st.data()` object, so a failing example
shrinks towards "no change" (identity permutation, first block, shortest run).

Mutations:

* shuffle   - permute the statements of one block (module, class or function body,
              loop or branch body); `from __future__` imports and `global` /
              `nonlocal` declarations stay at the front so that the module compiles
* try       - wrap a run of statements in try/except, try/finally or both
* nullctx   - wrap a run of statements in `with contextlib.nullcontext():`
              (and import contextlib at the top of the module)
* if        - wrap a run of statements in `if x:`
* rename    - rename names bound in the module (local variables, parameters,
              function and class names) consistently to fresh names
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Sequence
from typing import Any

import libcst as cst
from hypothesis import strategies as st

KINDS = ("shuffle", "try", "nullctx", "if", "rename")

Block = cst.Module | cst.IndentedBlock


# ------------------------------------------------------------------- blocks
class _BlockCollector(cst.CSTVisitor):
    """Every block with at least one statement, in post-order (the order in which
    a transformer leaves them)."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks.append(original_node)

    def leave_Module(self, original_node: cst.Module) -> None:
        self.blocks.append(original_node)


def blocks(module: cst.Module) -> list[Block]:
    c = _BlockCollector()
    module.visit(c)
    return [b for b in c.blocks if b.body]


def _is_pinned(stmt: cst.BaseStatement) -> bool:
    """Statements that must stay at the front of their block to compile."""
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, (cst.Global, cst.Nonlocal)):
            return True
        if isinstance(small, cst.ImportFrom) and isinstance(small.module, cst.Name) \
                and small.module.value == "__future__" and not small.relative:
            return True
    return False


class _BlockEditor(cst.CSTTransformer):
    """Replace the body of the block with the given identity."""

    def __init__(self, target: Block, new_body: Sequence[cst.BaseStatement]) -> None:
        self.target = target
        self.new_body = list(new_body)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock,
                            updated_node: cst.IndentedBlock) -> cst.IndentedBlock:
        if original_node is self.target:
            return updated_node.with_changes(body=self.new_body)
        return updated_node

    def leave_Module(self, original_node: cst.Module, updated_node: cst.Module) -> cst.Module:
        if original_node is self.target:
            return updated_node.with_changes(body=self.new_body)
        return updated_node


def _edit(module: cst.Module, target: Block, body: Sequence[cst.BaseStatement]) -> cst.Module:
    if target is module:
        return module.with_changes(body=list(body))
    return module.visit(_BlockEditor(target, body))


# --------------------------------------------------------------- mutations
def shuffle(module: cst.Module, data: Any) -> cst.Module:
    candidates = [b for b in blocks(module) if len(b.body) > 1]
    if not candidates:
        return module
    target = candidates[data.draw(st.integers(0, len(candidates) - 1), label="shuffle block")]
    pinned = [s for s in target.body if _is_pinned(s)]
    free = [s for s in target.body if not _is_pinned(s)]
    order = data.draw(st.permutations(range(len(free))), label="shuffle order")
    return _edit(module, target, [*pinned, *(free[i] for i in order)])


def _stmt(code: str, module: cst.Module) -> cst.BaseCompoundStatement:
    stmt = cst.parse_statement(code, config=module.config_for_parsing)
    assert isinstance(stmt, cst.BaseCompoundStatement)
    return stmt


TRY_SHAPES = (
    "try:\n    pass\nexcept Exception:\n    pass\n",
    "try:\n    pass\nexcept Exception:\n    raise\n",
    "try:\n    pass\nfinally:\n    pass\n",
    "try:\n    pass\nexcept Exception:\n    pass\nfinally:\n    pass\n",
    "try:\n    pass\nexcept (ValueError, KeyError) as exc:\n    raise RuntimeError() from exc\n",
)


def _free_name(module: cst.Module, preferred: str) -> str:
    used = all_names(module)
    name = preferred
    n = 0
    while name in used:
        n += 1
        name = f"{preferred}_{n}"
    return name


def _declared(module: cst.Module) -> set[str]:
    """Names in `global` / `nonlocal` statements (a wrapper condition must not use them)."""
    out: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            out.update(n.name.value for n in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            out.update(n.name.value for n in node.names)

    module.visit(V())
    return out


def _add_import_contextlib(module: cst.Module) -> cst.Module:
    body = list(module.body)
    at = 0
    for i, stmt in enumerate(body):
        is_doc = (i == 0 and isinstance(stmt, cst.SimpleStatementLine)
                  and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
                  and isinstance(stmt.body[0].value, (cst.SimpleString,
                                                      cst.ConcatenatedString)))
        if is_doc or _is_pinned(stmt):
            at = i + 1
    line = cst.parse_statement("import contextlib\n", config=module.config_for_parsing)
    return module.with_changes(body=[*body[:at], line, *body[at:]])


def _first_free(block: Block) -> int:
    pinned = [i for i, s in enumerate(block.body) if _is_pinned(s)]
    return pinned[-1] + 1 if pinned else 0


def wrap(module: cst.Module, data: Any, kind: str) -> cst.Module:
    """Wrap a run of statements of one block in a compound statement."""
    # a run starts after the last pinned statement: before a `from __future__`
    # import only a docstring may stand, and `global` must precede every use
    candidates = [b for b in blocks(module) if _first_free(b) < len(b.body)]
    if not candidates:
        return module
    pick = data.draw(st.integers(0, len(candidates) - 1), label=f"{kind} block")
    target = candidates[pick]
    body = list(target.body)
    start = data.draw(st.integers(_first_free(target), len(body) - 1), label=f"{kind} start")
    end = data.draw(st.integers(start + 1, len(body)), label=f"{kind} end")
    run = body[start:end]
    if kind == "try":
        shape = _stmt(data.draw(st.sampled_from(TRY_SHAPES), label="try shape"), module)
    elif kind == "nullctx":
        shape = _stmt("with contextlib.nullcontext():\n    pass\n", module)
    else:
        declared = _declared(module)
        cond = data.draw(st.sampled_from(["x", "flag", "not x"]), label="if condition")
        bare = cond.removeprefix("not ")
        if bare in declared:
            cond = cond.replace(bare, _free_name(module, "fuzz_flag"))
        shape = _stmt(f"if {cond}:\n    pass\n", module)
    assert isinstance(shape.body, cst.IndentedBlock)
    wrapped = shape.with_changes(body=shape.body.with_changes(body=run))
    new_module = _edit(module, target, [*body[:start], wrapped, *body[end:]])
    if kind == "nullctx":
        new_module = _add_import_contextlib(new_module)
    return new_module


# ------------------------------------------------------------------ rename
def all_names(module: cst.Module) -> set[str]:
    out: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            out.add(node.value)

    module.visit(V())
    return out


class _Bindings(cst.CSTVisitor):
    """Names this module binds itself (not by import) and names it imports."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.imported: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.bound.add(node.name.value)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.bound.add(node.name.value)

    def visit_Param(self, node: cst.Param) -> None:
        self.bound.add(node.name.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._targets(node.target)

    def visit_AsName(self, node: cst.AsName) -> None:
        self._targets(node.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self.imported.add(node.asname.name.value)
        else:
            name = node.name
            while isinstance(name, cst.Attribute):
                name = name.value  # type: ignore[assignment]
            if isinstance(name, cst.Name):
                self.imported.add(name.value)
        return False

    def _targets(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Name):
            self.bound.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for el in node.elements:
                self._targets(el.value)
        elif isinstance(node, cst.StarredElement):
            self._targets(node.value)


def renamable(module: cst.Module) -> list[str]:
    b = _Bindings()
    module.visit(b)
    keep = b.imported | set(dir(builtins)) | set(keyword.kwlist) | {"self", "cls"}
    return sorted(n for n in b.bound - keep if not (n.startswith("__") and n.endswith("__")))


class _Renamer(cst.CSTTransformer):
    """Rename every `Name` with one of the given values, except attribute names,
    keyword argument names and names inside import statements."""

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = mapping

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        return False  # only the object side of `a.b` is a variable: see leave_Attribute

    def leave_Attribute(self, original_node: cst.Attribute,
                        updated_node: cst.Attribute) -> cst.Attribute:
        return updated_node.with_changes(value=original_node.value.visit(self))

    def visit_Arg(self, node: cst.Arg) -> bool:
        return True

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        new = self.mapping.get(original_node.value)
        return updated_node.with_changes(value=new) if new else updated_node


IDENT = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)


def rename(module: cst.Module, data: Any) -> cst.Module:
    names = renamable(module)
    if not names:
        return module
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=len(names),
                                unique=True), label="rename names")
    used = all_names(module) | set(dir(builtins)) | set(keyword.kwlist) \
        | set(keyword.softkwlist)
    mapping: dict[str, str] = {}
    for old in chosen:
        base = data.draw(IDENT, label=f"new name for {old}")
        new = base
        n = 0
        while new in used or keyword.iskeyword(new):
            n += 1
            new = f"{base}_{n}"
        used.add(new)
        mapping[old] = new
    return module.visit(_Renamer(mapping))


# ------------------------------------------------------------------ driver
def mutate_once(module: cst.Module, data: Any, kind: str) -> cst.Module:
    if kind == "shuffle":
        return shuffle(module, data)
    if kind == "rename":
        return rename(module, data)
    return wrap(module, data, kind)


def mutate(code: str, data: Any, *, max_steps: int = 4) -> tuple[str, list[str]]:
    """Apply 1..max_steps random mutations; return the new code and the steps."""
    module = cst.parse_module(code)
    steps = data.draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=max_steps),
                      label="mutations")
    for kind in steps:
        module = mutate_once(module, data, kind)
    return module.code, steps
