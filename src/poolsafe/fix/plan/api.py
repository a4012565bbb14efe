"""The fix API: what a rule's fixer returns.

A fixer looks at one finding (its node in the parsed module) and returns either a
`FixPlan` (node replacements by identity, new top-level statements, imports to
add) or `Unfixable` with the reason. Plans never touch source text directly, so
libcst keeps every comment and all formatting that a plan does not replace.

A plan is *safe* unless the fixer marks it unsafe: a fix that would drop a comment
or change behaviour beyond the leak itself is unsafe and is applied only with
`--unsafe-fixes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeAlias

import libcst as cst

Replacement: TypeAlias = "cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]"


#: set while `check` asks a fixer only whether it would fix a finding, and how safely
_CHECK_ONLY: ContextVar[bool] = ContextVar("poolsafe_fix_check_only", default=False)


@contextmanager
def check_only() -> Iterator[None]:
    """Plans made inside are `FixPlan.check_only`: the fixer takes every decision that
    makes a fix possible, impossible or unsafe, and skips building the replacement
    statements that only `fix` applies (`Rule.fix_safety`)."""
    token = _CHECK_ONLY.set(True)
    try:
        yield
    finally:
        _CHECK_ONLY.reset(token)


@dataclass(frozen=True)
class ImportRequest:
    """`from <module> import <name>` (or `import <module>` when name is empty)."""

    module: str
    name: str = ""


@dataclass
class FixPlan:
    code: str
    description: str
    safe: bool = True
    unsafe_reasons: list[str] = field(default_factory=list)
    #: id(original node) -> (original node, replacement)
    replacements: dict[int, tuple[cst.CSTNode, Replacement]] = field(default_factory=dict)
    #: id(top-level statement) -> (statement, statements to insert before it)
    insert_before: dict[int, tuple[cst.CSTNode, list[cst.BaseStatement]]] = field(
        default_factory=dict)
    imports: list[ImportRequest] = field(default_factory=list)
    #: the module (`ModuleInfo.path`) whose nodes the plan edits, when it is not the
    #: finding's own module: a fix that belongs beside other code (a Flask teardown
    #: handler next to the app). Such a plan edits only that module.
    path: str | None = None
    #: plans for other modules that must be applied together with this one, or not at
    #: all (each with its `path`): a helper's callers in other modules
    companions: list[FixPlan] = field(default_factory=list)
    #: made under `check_only()`: its outcome (a plan, safe or not, or `Unfixable`)
    #: is the full plan's, but the edits that only `fix` applies may be left out
    check_only: bool = field(default_factory=_CHECK_ONLY.get)
    #: the plan gives the connection back only on the way out by an exception (PS102's
    #: "release on failure, hand on on success"): what the success path returns is
    #: untouched
    on_failure_only: bool = False
    #: the last names of the project's own release functions the plan writes or moves
    #: as the release (`db.desconectar(conn)`, `Conexion.liberar_conexion(self.conn)`):
    #: found by what their bodies do, not by their names, so the equivalence check is
    #: told to set them apart as releases, as it does a configured one
    releases: set[str] = field(default_factory=set)

    def replace(self, node: cst.CSTNode, new: Replacement) -> None:
        self.replacements[id(node)] = (node, new)

    def remove(self, node: cst.CSTNode) -> None:
        self.replacements[id(node)] = (node, cst.RemovalSentinel.REMOVE)

    def add_before(self, top_level: cst.CSTNode, stmts: list[cst.BaseStatement]) -> None:
        _, existing = self.insert_before.get(id(top_level), (top_level, []))
        self.insert_before[id(top_level)] = (top_level, [*existing, *stmts])

    def add_import(self, module: str, name: str = "") -> None:
        req = ImportRequest(module, name)
        if req not in self.imports:
            self.imports.append(req)

    def mark_unsafe(self, reason: str) -> None:
        self.safe = False
        if reason not in self.unsafe_reasons:
            self.unsafe_reasons.append(reason)

    def targets(self) -> list[cst.CSTNode]:
        return [node for node, _ in self.replacements.values()]


@dataclass(frozen=True)
class Unfixable:
    code: str
    reason: str


FixOutcome: TypeAlias = "FixPlan | Unfixable"

