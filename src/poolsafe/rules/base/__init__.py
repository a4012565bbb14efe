"""The rule interface: metadata, documentation, cases, and a `check` over one file.

Loading it loads no parser: reading a rule's metadata (the command line, reports of
a cached result) must stay cheap, so the analysis is imported where it runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from poolsafe.core.model import RawFinding, RuleMeta, Severity, Step

if TYPE_CHECKING:
    import libcst as cst

    from poolsafe.analysis.flow import FlowResult
    from poolsafe.analysis.index import ProjectIndex
    from poolsafe.analysis.module import FunctionInfo, ModuleInfo
    from poolsafe.fix.plan.api import FixOutcome


@dataclass(frozen=True)
class Case:
    """A code sample for a rule's test harness.

    The lines that must be reported end with a `# expect: PSxxx` comment; a VALID
    case has none. `files` adds other modules of the same small project (for
    wrapper inference across modules); `path` names the module under test.
    """

    code: str
    files: dict[str, str] = field(default_factory=dict)
    path: str = "case.py"
    note: str = ""
    #: for an INVALID case of a fixable rule: why `poolsafe fix` leaves it (the fix
    #: tests check that it does, with this reason); empty when it is fixed
    unfixable: str = ""


class FileContext:
    """One parsed module with the project index, and flow results computed once and
    shared by every rule that needs them."""

    def __init__(self, module: ModuleInfo, index: ProjectIndex) -> None:
        self.module = module
        self.index = index
        #: id(def node) -> (the node, its flow): the node is kept, so that no node made
        #: later takes its id while this context lives
        self._flows: dict[int, tuple[cst.FunctionDef, FlowResult]] = {}

    def flow(self, func: FunctionInfo) -> FlowResult:
        key = id(func.node)
        found = self._flows.get(key)
        if found is None or found[0] is not func.node:
            from poolsafe.analysis.flow import analyse_function  # (only when not known)

            found = self._flows[key] = (func.node, analyse_function(self.index, func))
        return found[1]

    def flows(self) -> Iterator[tuple[FunctionInfo, FlowResult]]:
        for func in self.module.all_functions:
            yield func, self.flow(func)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    fixable: ClassVar[bool] = False
    _meta: ClassVar[RuleMeta | None] = None
    VALID: ClassVar[list[Case]] = []
    INVALID: ClassVar[list[Case]] = []

    @classmethod
    def meta(cls) -> RuleMeta:
        # asked for every file with a finding; the docstring's cleandoc is not free
        known = cls.__dict__.get("_meta")  # this class's own, not a base class's
        if isinstance(known, RuleMeta):
            return known
        meta = RuleMeta(code=cls.code, name=cls.name, summary=cls.summary,
                        severity=cls.severity, fixable=cls.fixable,
                        doc=inspect.cleandoc(cls.__doc__ or ""))
        cls._meta = meta
        return meta

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        raise NotImplementedError

    def fix(self, ctx: FileContext, finding: RawFinding) -> FixOutcome | None:
        """The rewrite for one of this rule's findings (None: the rule has no fix)."""
        return None

    def fix_safety(self, ctx: FileContext, finding: RawFinding) -> str | None:
        """"safe" when `poolsafe fix` (without --unsafe-fixes) fixes this finding (the
        `[*]` that `check` shows and the `fixable` field of its JSON output), "unsafe"
        when only `--unsafe-fixes` does (a hidden fix), None when nothing does."""
        if not self.fixable:
            return None
        from poolsafe.fix.plan.api import FixPlan, check_only

        with check_only():  # the fixer's decisions, without building the edits
            decided = self.plan_safety(ctx, finding)
        if decided is None:
            return None
        # a plan `fix` would offer: built in full and proved as `fix` proves it (the
        # equivalence check may demote it to unsafe, or refuse it), so that `check`'s
        # `[*]` is exactly what `fix` rewrites
        try:
            plan = self.fix(ctx, finding)
        except Exception:
            return None
        if not isinstance(plan, FixPlan):
            return None
        if plan.path in (None, ctx.module.path) and not plan.companions:
            from poolsafe.fix.equivalence.prove import prove_plan

            if prove_plan(ctx.module.tree, plan, ctx.index.config.release) is not None:
                return None
        return "safe" if plan.safe else "unsafe"

    def plan_safety(self, ctx: FileContext, finding: RawFinding) -> str | None:
        """`fix_safety`'s answer from whatever plan `fix` makes in the current mode (the
        full plan outside `check_only()`)."""
        from poolsafe.fix.plan.api import FixPlan

        try:
            outcome = self.fix(ctx, finding)
        except Exception:  # a fixer that cannot plan offers no fix; `fix` reports it
            return None
        if not isinstance(outcome, FixPlan):
            return None
        return "safe" if outcome.safe else "unsafe"

    def finding(self, node: object, message: str,
                steps: tuple[tuple[cst.CSTNode, str] | Step, ...] = ()) -> RawFinding:
        import libcst as cst

        assert isinstance(node, cst.CSTNode)
        return RawFinding(self.code, node, message, steps)
