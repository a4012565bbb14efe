"""Applying fix plans to a module: the node replacements and inserts, the imports a
plan needs (an existing `from x import ...` line extended, or new lines after the
import block), and the imports a plan made unused dropped.

Used by the fix loop, and by the equivalence check wherever a plan is proved (the
`fix` command and the `[*]` of `check` apply the same plan the same way).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import libcst as cst

from poolsafe.analysis.cstutil import binding_targets, children
from poolsafe.fix.plan.api import FixPlan, ImportRequest, Replacement


# ----------------------------------------------------------------- applying
class _PlanApplier(cst.CSTTransformer):
    def __init__(self, plans: list[FixPlan]) -> None:
        self.replacements: dict[int, Replacement] = {}
        self.inserts: dict[int, list[cst.BaseStatement]] = {}
        for p in plans:
            for key, (_node, new) in p.replacements.items():
                self.replacements[key] = new
            for key, (_node, stmts) in p.insert_before.items():
                self.inserts.setdefault(key, []).extend(stmts)

    #: ids of the nodes on the way from the module to an edited node (None: visit
    #: every node, as libcst does): the others are kept as they are, not rebuilt
    visiting: set[int] | None = None

    def on_visit(self, node: cst.CSTNode) -> bool:
        return self.visiting is None or id(node) in self.visiting

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None  # (no `visit_X_attr` methods: libcst's lookup per field skipped)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave(  # type: ignore[override]
            self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        key = id(original_node)
        result: Replacement = self.replacements.get(key, updated_node)
        if key in self.inserts:
            if isinstance(result, cst.RemovalSentinel):
                items: list[cst.CSTNode] = []
            elif isinstance(result, cst.FlattenSentinel):
                items = list(result.nodes)
            else:
                items = [result]
            return cst.FlattenSentinel([*self.inserts[key], *items])
        return result


def _import_bound(module: cst.Module, req: ImportRequest) -> bool:
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not small.relative \
                    and small.module is not None and not isinstance(small.names, cst.ImportStar):
                mod = cst.Module([]).code_for_node(small.module)
                if mod == req.module and any(
                        a.asname is None and cst.Module([]).code_for_node(a.name) == req.name
                        for a in small.names):
                    return True
            if isinstance(small, cst.Import) and not req.name and any(
                    a.asname is None and cst.Module([]).code_for_node(a.name) == req.module
                    for a in small.names):
                return True
    return False


def import_rebinds(module: cst.Module, req: ImportRequest) -> str | None:
    """How the module already binds the name an added import would bind (`from
    sqlalchemy.exc import SQLAlchemyError` -> `SQLAlchemyError`), other than by that same
    import: another import of the name, an assignment, a `def`/`class`, a loop or `with`
    target, a `global` in a function. The added line would rebind it for the code that
    follows it, or the module's own binding would replace the added one."""
    name = req.name or req.module.split(".")[0]
    found: list[str] = []

    def same_import(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.ImportFrom) and req.name and not node.relative \
                and node.module is not None and not isinstance(node.names, cst.ImportStar):
            return cst.Module([]).code_for_node(node.module) == req.module and any(
                a.asname is None and cst.Module([]).code_for_node(a.name) == name
                for a in node.names)
        if isinstance(node, cst.Import) and not req.name:
            return any(a.asname is None and cst.Module([]).code_for_node(a.name)
                       .split(".")[0] == name for a in node.names)
        return False

    def bound_names(target: cst.CSTNode) -> Iterable[str]:
        if isinstance(target, cst.Name):
            yield target.value
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                yield from bound_names(el.value)
        elif isinstance(target, cst.StarredElement):
            yield from bound_names(target.value)

    def visit(node: cst.CSTNode, top: bool) -> None:
        if isinstance(node, (cst.Import, cst.ImportFrom)) and top:
            if same_import(node) or isinstance(node.names, cst.ImportStar):
                return
            for alias in node.names:
                bound = (alias.asname.name if alias.asname is not None else alias.name)
                text = cst.Module([]).code_for_node(bound)
                if isinstance(node, cst.Import) and alias.asname is None:
                    text = text.split(".")[0]
                if text == name:
                    found.append("an import of another name")
            return
        if isinstance(node, cst.Global) and any(n.name.value == name for n in node.names):
            found.append("a `global` in a function")
        if top:
            targets = binding_targets(node)
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and node.name.value == name:
                found.append(f"a `{'def' if isinstance(node, cst.FunctionDef) else 'class'}`")
            if any(n == name for t in targets for n in bound_names(t)):
                found.append("an assignment")
        inner = top and not isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda))
        for child in children(node):
            visit(child, inner)

    visit(module, True)
    return found[0] if found else None


def import_only_guarded(module: cst.Module, req: ImportRequest) -> bool:
    """The module imports the package of `req` (its first name: `sqlalchemy` for
    `sqlalchemy.exc`) only inside a top-level `try` or `if` (an optional dependency,
    `try: import sqlalchemy / except ImportError: ...`), never unconditionally: the
    import the fix adds at the top would fail where the package is missing."""
    root = req.module.split(".")[0]

    def imports_root(node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Import):
            return any(cst.Module([]).code_for_node(a.name).split(".")[0] == root
                       for a in node.names)
        if isinstance(node, cst.ImportFrom) and not node.relative and node.module is not None:
            return cst.Module([]).code_for_node(node.module).split(".")[0] == root
        return False

    plain = guarded = False
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            plain = plain or any(imports_root(small) for small in stmt.body)
        elif isinstance(stmt, (cst.Try, cst.TryStar, cst.If)):
            stack: list[cst.CSTNode] = [stmt]
            while stack:
                node = stack.pop()
                if imports_root(node):
                    guarded = True
                elif not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                    stack.extend(children(node))
    return guarded and not plain


def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body)


def _extend_from_import(module: cst.Module, req: ImportRequest) -> cst.Module | None:
    """`from x import a` -> `from x import a, name` for a `from x import ...` line already
    at the top level (the first one; not a star import, not relative)."""
    if not req.name:
        return None
    body = list(module.body)
    # only a line of the leading import block, where a new line would go: a name used
    # at import time (a default `Depends(get_db)`) must be bound before the code
    for i, stmt in enumerate(body[:_import_block_end(body)]):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.ImportFrom) or small.relative or small.module is None \
                or isinstance(small.names, cst.ImportStar) \
                or cst.Module([]).code_for_node(small.module) != req.module:
            continue
        names = list(small.names)
        last = names[-1]
        alias = cst.ImportAlias(name=cst.Name(req.name))
        if isinstance(last.comma, cst.Comma):  # a trailing comma: keep the layout
            alias = alias.with_changes(comma=last.comma)
            if len(names) > 1 and isinstance(names[-2].comma, cst.Comma):
                last = last.with_changes(comma=names[-2].comma)
        else:
            last = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new = small.with_changes(names=[*names[:-1], last, alias])
        body[i] = stmt.with_changes(body=[new])
        return module.with_changes(body=body)
    return None


def add_imports(module: cst.Module, reqs: Iterable[ImportRequest]) -> cst.Module:
    """Bind every requested name: an existing `from x import ...` line is extended, and
    the names still missing go in new lines after the import block, one line per
    module (`from contextlib import asynccontextmanager, contextmanager`)."""
    plain: list[str] = []
    from_names: dict[str, list[str]] = {}
    for req in reqs:
        if _import_bound(module, req):
            continue
        extended = _extend_from_import(module, req)
        if extended is not None:
            module = extended
            continue
        if not req.name:
            if req.module not in plain:
                plain.append(req.module)
            continue
        names = from_names.setdefault(req.module, [])
        if req.name not in names:
            names.append(req.name)
    codes = [f"import {m}" for m in plain]
    codes += [f"from {m} import {', '.join(sorted(ns))}" for m, ns in from_names.items()]
    if not codes:
        return module
    new_lines = [cst.parse_statement(code + module.default_newline,
                                     config=module.config_for_parsing) for code in codes]
    body = list(module.body)
    at = _import_block_end(body)
    return module.with_changes(body=[*body[:at], *new_lines, *body[at:]])


def _import_block_end(body: Sequence[cst.BaseStatement]) -> int:
    """The index after the module's docstring and its leading import lines."""
    at = 0
    for i, stmt in enumerate(body):
        is_doc = (i == 0 and isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                  and isinstance(stmt.body[0], cst.Expr)
                  and isinstance(stmt.body[0].value, (cst.SimpleString,
                                                      cst.ConcatenatedString)))
        if is_doc or _is_import_line(stmt):
            at = i + 1
        else:
            break
    return at


def _to_edits(module: cst.Module, plans: list[FixPlan]) -> set[int] | None:
    """The ids of the edited nodes and of every node above one, for `_PlanApplier` to
    visit only those: libcst's transformer otherwise rebuilds every node of the module
    (most of proving a `[*]`: superset's `db_engine_specs/gsheets.py`, issue 32), and
    a node outside those paths comes out as it went in, so the module's code is the
    same. Kept nodes are then in both trees; None (visit every node, each a copy) when
    a plan's new code holds a node of the module that stays where it was, which the
    fixed tree would then hold twice, or an edited node is not found under the module
    (a whitespace or punctuation node, or one of another tree)."""
    replaced: set[int] = set()
    edited: set[int] = set()
    new_code: list[cst.CSTNode] = []
    for p in plans:
        for key, (_node, new) in p.replacements.items():
            replaced.add(key)
            if isinstance(new, cst.FlattenSentinel):
                new_code.extend(new.nodes)
            elif isinstance(new, cst.CSTNode):
                new_code.append(new)
        for key, (_node, stmts) in p.insert_before.items():
            edited.add(key)
            new_code.extend(stmts)
    edited |= replaced
    parents: dict[int, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    while stack:
        cur = stack.pop()
        for child in children(cur):
            parents[id(child)] = cur
            stack.append(child)
    visiting = {id(module)}
    for key in edited:
        if key not in parents and key != id(module):
            return None
        at: int | None = key
        while at is not None and at not in visiting:
            visiting.add(at)
            parent = parents.get(at)
            at = None if parent is None else id(parent)
    stack = list(new_code)
    while stack:
        cur = stack.pop()
        if cur is module:
            return None
        if id(cur) in parents:  # a node of the module: it must leave its place
            at = id(cur)
            while at is not None and at not in replaced:
                parent = parents.get(at)
                at = None if parent is None else id(parent)
            if at is None:
                return None
            continue  # (its own subtree is the module's too, gone with it)
        stack.extend(children(cur))
    return visiting


def apply_plans(module: cst.Module, plans: list[FixPlan]) -> cst.Module:
    applier = _PlanApplier(plans)
    applier.visiting = _to_edits(module, plans)
    new = module.visit(applier)
    reqs = [r for p in plans for r in p.imports]
    return drop_unused_imports(module, add_imports(new, reqs))


def _names_read(module: cst.Module) -> tuple[dict[str, int], str]:
    """How often each plain name occurs outside import lines, and the text of every
    string (a name in `__all__` or a string annotation counts as used)."""
    counts: dict[str, int] = {}
    strings: list[str] = []
    stack: list[cst.CSTNode] = [module]
    while stack:
        cur = stack.pop()
        if isinstance(cur, (cst.Import, cst.ImportFrom)):
            continue
        if isinstance(cur, cst.Name):
            counts[cur.value] = counts.get(cur.value, 0) + 1
        elif isinstance(cur, cst.SimpleString):
            strings.append(cur.value)
        stack.extend(children(cur))
    return counts, "\n".join(strings)


def drop_unused_imports(before: cst.Module, after: cst.Module) -> cst.Module:
    """Remove a top-level `from x import name` whose name the fix made unused: read in
    `before`, read nowhere in `after` (nor named in a string). An import line with a
    comment is left as it is.

    Only a name such a line binds can go, so the names read in `after` are counted
    first, and `before` is walked only when one of those names is read nowhere in
    `after` (most fixes leave every import in use: one walk of the module, not two)."""
    bound = {n for stmt in after.body if _droppable(stmt)
             for n in (_bound_name(a) for a in _from_names(stmt)) if n is not None}
    if not bound:
        return after
    read_after, strings = _names_read(after)
    unread = {n for n in bound if n not in read_after and n not in strings}
    if not unread:
        return after
    read_before, _ = _names_read(before)
    gone = {n for n in unread if n in read_before}
    if not gone:
        return after
    body: list[cst.BaseStatement] = []
    changed = False
    for stmt in after.body:
        if _droppable(stmt):
            assert isinstance(stmt, cst.SimpleStatementLine)
            small = stmt.body[0]
            assert isinstance(small, cst.ImportFrom)
            assert not isinstance(small.names, cst.ImportStar)
            names = list(small.names)
            keep = [a for a in names if _bound_name(a) not in gone]
            if len(keep) != len(names):
                changed = True
                if not keep:
                    continue
                if isinstance(names[-1].comma, cst.MaybeSentinel) or small.rpar is None:
                    keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                stmt = stmt.with_changes(body=[small.with_changes(names=keep)])
        body.append(stmt)
    return after.with_changes(body=body) if changed else after


def _droppable(stmt: cst.BaseStatement) -> bool:
    """A top-level `from x import a, b` line without a comment (`drop_unused_imports`)."""
    return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
        and isinstance(stmt.body[0], cst.ImportFrom) \
        and not isinstance(stmt.body[0].names, cst.ImportStar) \
        and stmt.trailing_whitespace.comment is None \
        and not any(e.comment is not None for e in stmt.leading_lines)


def _from_names(stmt: cst.BaseStatement) -> Sequence[cst.ImportAlias]:
    assert isinstance(stmt, cst.SimpleStatementLine)
    small = stmt.body[0]
    assert isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar)
    return small.names


def _bound_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is not None:
        name = alias.asname.name
        return name.value if isinstance(name, cst.Name) else None
    return alias.name.value if isinstance(alias.name, cst.Name) else None
