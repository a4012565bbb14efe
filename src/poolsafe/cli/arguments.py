"""`poolsafe check`'s own arguments, as one value built once from the command line
(the configuration overrides are `poolsafe.scan.pipeline.ConfigArguments`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from poolsafe.cli.common import Fatal

if TYPE_CHECKING:
    from poolsafe.scan.baseline import Baseline


class CheckArguments(NamedTuple):
    paths: tuple[str, ...] = ()
    fmt: str = "text"
    output_file: str | None = None
    exit_zero: bool = False
    fail_on: str | None = None
    statistics: bool = False
    baseline_file: str | None = None
    show_suppressed: bool = False
    report_unused_ignores: bool = False
    apply_fixes: bool = False
    unsafe_fixes: bool = False
    show_diff: bool = False
    show_fixes: bool = False
    exit_non_zero_on_fix: bool = False
    add_noqa: bool = False
    quiet: bool = False
    runtime_file: str | None = None
    confirmed_only: bool = False
    #: the baseline `--baseline` names, read once
    baseline: Baseline | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CheckArguments:
        """The arguments, checked against each other, with the baseline read (a bad
        baseline stops the run before anything is scanned or fixed)."""
        args = cls(**options)
        if args.baseline_file:
            # (poolsafe.scan.baseline is imported only with a baseline)
            from poolsafe.scan import baseline as baseline_mod

            args = args._replace(baseline=baseline_mod.read(Path(args.baseline_file)))
        if args.paths == ("-",) and (args.fixing or args.add_noqa):
            raise Fatal(f"{'--add-noqa' if args.add_noqa else '--fix/--diff'} does not apply "
                        "to standard input")
        if args.add_noqa and args.fixing:
            raise Fatal("--add-noqa cannot be combined with --fix or --diff")
        if args.confirmed_only and not args.runtime_file:
            raise Fatal("--confirmed-only needs --runtime FILE (the report of "
                        "`pytest --poolsafe --poolsafe-report FILE`)")
        return args

    @property
    def fixing(self) -> bool:
        """Fixes are planned first: applied (`--fix`) or shown (`--diff`)."""
        return self.apply_fixes or self.show_diff
