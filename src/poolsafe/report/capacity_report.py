"""`poolsafe capacity` output: rich tables (pools, processes, budget per server and
environment, assumptions) or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from poolsafe.analysis.capacity import Capacity, EnvironmentCapacity, GroupPools, PoolUse
from poolsafe.analysis.config_values import Count


def _count(c: Count) -> str:
    return str(c.value) if c.known else f"? (1 assumed: {c.source})"


def _size(use: PoolUse) -> str:
    s = use.size
    if s.overflow is None:
        text = str(s.base.used) if s.base.known else "?"
        if s.minimum is not None:
            low = str(s.minimum.value) if s.minimum.known else "?"
            return f"min {low} / max {text}"
        return f"max {text}"
    base = str(s.base.used) if s.base.known else "?"
    over = str(s.overflow.used) if s.overflow.known else "?"
    return f"{base} + {over}"


def render_text(cap: Capacity, console: Console, errors: list[str]) -> None:
    envs = cap.environments
    console.print(f"[bold]Connection capacity of {escape(str(cap.root))}[/bold]")
    # ------------------------------------------------------------ pools
    pools = Table(title="Pools", title_justify="left", header_style="bold")
    for col in ("location", "library", "pre-ping", "recycle", "timeouts"):
        pools.add_column(col)
    sizes = [[_size(u) for u in e.uses] for e in envs]
    differ = len(envs) > 1 and any(s != sizes[0] for s in sizes)
    targets = [[u.server.name if u.server else "?" for u in e.uses] for e in envs]
    differ = differ or (len(envs) > 1 and any(t != targets[0] for t in targets))
    shown = envs if differ else envs[:1]
    for e in shown:
        label = f"size [{e.environment.name}]" if differ else "size"
        pools.add_column(escape(label))
        pools.add_column(escape(f"server [{e.environment.name}]" if differ else "server"))
    for i, pool in enumerate(cap.pools):
        first = next((e.uses[i] for e in envs if i < len(e.uses)), None)
        settings = first.settings if first is not None else {}
        timeouts = ", ".join(f"{k}={v}" for k, v in settings.items()
                             if k in ("pool_timeout", "connect_timeout", "statement_timeout"))
        row = [pool.where, pool.library, settings.get("pre_ping", "-"),
               settings.get("recycle", "-"), timeouts or "-"]
        for e in shown:
            use = next((u for u in e.uses if u.pool is pool), None)
            if use is None:
                row.extend(["NullPool" if pool.non_pooling else "-", "-"])
            else:
                row.extend([_size(use), use.server.name if use.server else "? " + use.note])
        pools.add_row(*(escape(cell) for cell in row))
    if cap.pools:
        console.print(pools)
    else:
        console.print("No connection pools found.")
    # -------------------------------------------------------- processes
    for e in shown if differ else envs[:1]:
        model = e.model
        title = f"Processes ({model.source})"
        if differ:
            title += f" [{e.environment.name}]"
        if not model.groups:
            title = ("Programs (no deployment in the repository: each entry point is "
                     "judged alone)")
        if e.opens:
            console.print(_groups_table(title, e.opens))
        else:
            console.print("No process model found (no Kubernetes, compose, Procfile, "
                          "Dockerfile or gunicorn configuration) and no entry point (console "
                          "script, `__main__` block): no program to budget.")
        for other in model.also:
            console.print(f"  also found, not used: {other}", markup=False)
        if e.alone_opens:
            console.print(_groups_table(
                "Programs the deployment does not run (each judged alone)", e.alone_opens))
    # ------------------------------------------------------------ budget
    console.print("[bold]Budget[/bold]")
    for e in envs:
        _budget_lines(e, console, len(envs) > 1)
    # ------------------------------------------------------ assumptions
    notes = _assumptions(cap)
    if notes:
        console.print("[bold]Assumptions[/bold]")
        for n in notes:
            console.print(f"  - {n}", markup=False, highlight=False)
    problems = [f"{p.path}: {p.message}" for p in cap.problems] + errors
    if problems:
        console.print("[bold]Not read[/bold]")
        for p in problems:
            console.print(f"  - {p}", markup=False, highlight=False)
    for note in cap.notes:
        console.print(f"Note: {note}", markup=False, highlight=False)
    if not cap.compared:
        console.print("Result: [yellow]nothing compared[/yellow]: no pool could be matched "
                      "with a program that opens it and a server whose limit is known (see "
                      "above); no verdict")
        return
    verdict = "[bold red]over budget[/bold red]" if cap.over else "[green]within budget[/green]"
    unknown = sorted({o.group.name for e in envs for o in e.opens if o.pools is None})
    tail = (f" (for what could be compared; not compared: {', '.join(unknown)})"
            if unknown else "")
    console.print(f"Result: {verdict}{escape(tail)}")


def _budget_lines(e: EnvironmentCapacity, console: Console, named: bool) -> None:
    prefix = f"[{e.environment.name}] " if named else ""
    if not e.budgets:
        console.print(f"  {prefix}no pool with a known server", markup=False)
    for b in e.budgets:
        mark = "OVER" if b.over else "ok"
        console.print(f"  {mark:4} {prefix}{b.server.name} ({b.server.kind}): {b.arithmetic()}",
                      markup=False, highlight=False)


def _assumptions(cap: Capacity) -> list[str]:
    out: list[str] = []

    def add(text: str) -> None:
        if text and text not in out:
            out.append(text)

    for e in cap.environments:
        for u in e.uses:
            for c in (u.size.base, u.size.overflow):
                if c is not None and ("default" in c.source or not c.known):
                    add(f"{u.pool.where}: {'unknown, 1 assumed: ' if not c.known else ''}"
                        f"{c.source}")
            if u.note:
                add(f"{u.pool.where}: {u.note}")
        for g in e.model.groups:
            for c in (g.replicas, g.command.processes):
                if not c.known or "default" in c.source or "one " in c.source:
                    add(f"{g.name}: {'unknown, 1 assumed: ' if not c.known else ''}{c.source}")
        for b in e.budgets:
            for demand in b.groups:
                if demand.one_thread is not None:
                    add(f"{demand.group.name}: {demand.one_thread}")
            for c in (b.server.max_connections, b.server.reserved):
                if "default" in c.source:
                    add(f"{b.server.name}: {c.source}")
    if cap.pools:
        add("a process opens the pools of the modules its entry point imports, "
            "directly or through other modules")
    return out


def projects_summary(caps: list[Capacity]) -> str:
    """The last line for several projects: how many are over, within, not compared."""
    over = [escape(str(c.root)) for c in caps if c.over]
    within = sum(1 for c in caps if c.compared and not c.over)
    parts = [f"{len(over)} over budget" + (f" ({', '.join(over)})" if over else ""),
             f"{within} within budget",
             f"{len(caps) - len(over) - within} nothing compared"]
    return f"{len(caps)} projects: " + "; ".join(parts)


def render_json(cap: Capacity, errors: list[str]) -> str:
    return json.dumps(json_document(cap, errors), indent=2) + "\n"


def render_json_projects(reports: list[tuple[Capacity, list[str]]]) -> str:
    """Several projects (`poolsafe capacity` of a folder of projects): one document
    each, under `projects`."""
    return json.dumps({"projects": [json_document(cap, errors) for cap, errors in reports]},
                      indent=2) + "\n"


def _groups_table(title: str, opens: list[GroupPools]) -> Table:
    """Process groups (or programs) with the entry point and the pools each opens."""
    table = Table(title=escape(title), title_justify="left", header_style="bold")
    for col in ("group", "declared in", "program", "replicas", "processes", "entry",
                "opens"):
        table.add_column(col)
    for opened in opens:
        g = opened.group
        entry = g.command.entry.text() if g.command.entry is not None else "-"
        pools_text = (f"not known: {opened.reason}" if opened.pools is None else
                      ", ".join(p.where for p in opened.pools) or "no pool")
        table.add_row(*(escape(cell) for cell in (
            g.name, g.where, g.command.program, _count(g.replicas),
            _count(g.command.processes), entry, pools_text)))
    return table


def json_document(cap: Capacity, errors: list[str]) -> dict[str, Any]:
    """The JSON document of one project's capacity."""
    def count(c: Count | None) -> Any:
        if c is None:
            return None
        return {"value": c.value, "known": c.known, "source": c.source}

    def group(o: GroupPools) -> dict[str, Any]:
        return {"name": o.group.name, "where": o.group.where,
                "program": o.group.command.program,
                "command": o.group.command.text, "replicas": count(o.group.replicas),
                "processes": count(o.group.command.processes),
                "entry": (list(o.group.command.entry.targets)
                          if o.group.command.entry is not None else None),
                "pools": ([p.where for p in o.pools] if o.pools is not None else None),
                "pools_known": o.reason, "one_thread": o.one_thread}

    envs = []
    for e in cap.environments:
        envs.append({
            "name": e.environment.name,
            "env_files": list(e.environment.sources),
            "process_model": e.model.source,
            "groups": [group(o) for o in e.opens],
            # with a deployment: the project's programs it does not run, judged alone
            "programs_alone": [group(o) for o in e.alone_opens],
            "pools": [{"location": u.pool.where, "size": count(u.size.base),
                       "min": count(u.size.minimum),
                       "overflow": count(u.size.overflow), "max": u.size.total,
                       "server": u.server.name if u.server else None, "note": u.note,
                       "settings": u.settings} for u in e.uses],
            "servers": [{"name": b.server.name, "kind": b.server.kind,
                         "max_connections": count(b.server.max_connections),
                         "reserved": count(b.server.reserved), "limit": b.server.limit,
                         "demand": b.demand, "exact": b.exact, "over": b.over,
                         "arithmetic": b.arithmetic()} for b in e.budgets],
            "over": e.over,
        })
    doc: dict[str, Any] = {
        "root": str(cap.root),
        "pools": [{"location": p.where, "library": p.library, "label": p.label,
                   "non_pooling": p.non_pooling} for p in cap.pools],
        "environments": envs,
        "assumptions": _assumptions(cap),
        "problems": [f"{p.path}: {p.message}" for p in cap.problems] + errors,
        "notes": cap.notes,
        "over": cap.over,
        "compared": cap.compared,
        "result": ("over budget" if cap.over else "within budget") if cap.compared
        else "nothing compared",
    }
    return doc
