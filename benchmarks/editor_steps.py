"""Where a keystroke's CPU goes in the language server (issue 32), in process.

    python benchmarks/editor_steps.py [--project superset] [--edits 8] [--file REL] [--root DIR]

What `poolsafe server` does on a change, without the protocol: the buffer's
settings and options, `lint_file` with the server's `ModuleMemo` (the other modules
parsed once and kept), in a `run_deep` thread, then `ModuleMemo.settle` (after the
diagnostics in the server: its CPU falls in the next keystroke's count there). Each
edit appends a line to the central module's text (unsaved, as `scale.py --lsp`
does); after two warm-up edits, the median CPU seconds (`time.process_time`) of
each step over the edits: the edited module's parse (`load_data`), the project
resolution and prefilter selection (`_resolution`, `selection` inside it), each
rule, and `settle`. On a shared machine the CPU moves less than the wall time, but
it moves too: compare two versions (`PYTHONPATH=.../src`) in alternation.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # (also under PYTHONSAFEPATH)
from scale import CODE_BASES, fetch  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", default="superset", choices=sorted(CODE_BASES))
    ap.add_argument("--edits", type=int, default=8)
    ap.add_argument("--file", default="", help="the module edited (default: the central one)")
    ap.add_argument("--root", default="", help="the code base unpacked already (default: "
                    "`scale.fetch`)")
    args = ap.parse_args()

    import poolsafe.fix.loop.apply as apply
    import poolsafe.fix.loop.quick as quick
    import poolsafe.scan.checking as checking
    from poolsafe.fix.loop.quick import ModuleMemo, lint_file
    from poolsafe.lsp.settings import SettingsCache
    from poolsafe.scan.engine import run_deep

    spent: dict[str, float] = collections.defaultdict(float)

    def timed(owner: Any, name: str, key: Callable[..., str] | None = None) -> None:
        real = getattr(owner, name)

        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.process_time()
            try:
                return real(*a, **k)
            finally:
                spent[key(*a) if key else name] += time.process_time() - t

        setattr(owner, name, wrapper)

    timed(apply, "_check", lambda _ctx, rule: f"rule {rule.code}")
    timed(checking, "load_data")
    timed(quick, "_resolution")
    timed(ModuleMemo, "selection")

    root = Path(args.root or fetch(args.project)).resolve()
    path = root / (args.file or CODE_BASES[args.project].central)
    text = path.read_text()
    settings = SettingsCache()
    settings.folders = [root]
    memo = ModuleMemo()

    def once(version: int) -> None:
        s = settings.for_file(path)
        options = s.options(path, {path: (text + f"\nEDITS = {version}\n").encode()})
        lint_file(path, options, s.ignored, memo)

    steps: dict[str, list[float]] = collections.defaultdict(list)
    for version in range(args.edits + 2):
        spent.clear()
        t = time.process_time()
        run_deep(lambda v=version: once(v))  # type: ignore[misc]
        spent["lint (the diagnostics)"] = time.process_time() - t
        t = time.process_time()
        memo.settle()
        spent["settle"] = time.process_time() - t
        if version >= 2:
            for key, value in spent.items():
                steps[key].append(value)
    print(f"{args.project} {path.relative_to(root)}: median CPU ms over {args.edits} edits",
          file=sys.stderr)
    for key, values in sorted(steps.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"{key:28s} {statistics.median(values) * 1000:8.1f}")


if __name__ == "__main__":
    main()
