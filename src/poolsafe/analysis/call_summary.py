"""Who a module calls, as plain data kept with the cache (issue 32, tenth step).

`ProjectFacts.call_sites` (behind `callers`, `is_cli_entry` and the one-shot
questions) and `any_call_site` read the calls of every module whose bytes spell
`name(`; `ProjectIndex.dependency_functions` reads every module that spells
`Depends(` or `Security(`. The byte pattern also matches a `def name(`, a docstring
or a comment, and an edit's `check FILE` parsed (or unpickled) each such module to
find it calls nothing of the kind. A `CallSummary` is what those questions need to
know that a module adds nothing, read from the parsed module alone (so it is keyed
by the module's bytes and path, `poolsafe.scan.summaries`):

- `calls`: the last name of every call's callee the module makes (`call_name` of
  each call in `inventory(module).calls`: `f(...)`, `x.f(...)`, at any level);
- `depends`: the module has a `Depends(...)`/`Security(...)` argument
  (`ModuleInfo.depends_args`);
- `functions`: the names of its functions and methods (`ModuleInfo.all_functions`),
  which a configured session dependency is matched against.

A module whose summary lacks a name adds no site for it: the questions ask only
about calls whose `call_name` is that name, so their answers are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from poolsafe.analysis.cstutil import call_name
from poolsafe.analysis.module import ModuleInfo
from poolsafe.analysis.resolution import inventory


@dataclass(frozen=True)
class CallSummary:
    calls: frozenset[str]
    depends: bool
    functions: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        return {"calls": sorted(self.calls), "depends": self.depends,
                "functions": sorted(self.functions)}

    @staticmethod
    def from_json(value: object) -> CallSummary | None:
        """The summary in `value` (as `to_json` wrote it), or None for anything else."""
        if not isinstance(value, dict) or set(value) != {"calls", "depends", "functions"}:
            return None
        calls, depends, functions = value["calls"], value["depends"], value["functions"]
        if not isinstance(depends, bool) or not isinstance(calls, list) \
                or not isinstance(functions, list) \
                or not all(isinstance(c, str) for c in [*calls, *functions]):
            return None
        return CallSummary(frozenset(calls), depends, frozenset(functions))

    def calls_any(self, names: frozenset[str]) -> bool:
        """Whether the module has a call whose `call_name` is one of `names`."""
        return not self.calls.isdisjoint(names)

    def may_add_dependencies(self, configured: frozenset[str] | set[str]) -> bool:
        """Whether `dependency_functions` can find anything in the module."""
        return self.depends or not self.functions.isdisjoint(configured)


def summarize_calls(module: ModuleInfo) -> CallSummary:
    names = {name for call, _func in inventory(module).calls
             if (name := call_name(call)) is not None}
    return CallSummary(frozenset(names), bool(module.depends_args),
                       frozenset(f.name for f in module.all_functions))
