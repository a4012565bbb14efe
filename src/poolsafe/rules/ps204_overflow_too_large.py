"""PS204 overflow-too-large."""

from __future__ import annotations

from collections.abc import Iterator

from poolsafe.analysis.engines import engine_sites, holds_no_server_slot, is_non_pooling
from poolsafe.analysis.flask_config_use import configures_nothing
from poolsafe.analysis.project_facts import is_test_module
from poolsafe.analysis.resolution import int_value
from poolsafe.core.model import RawFinding, Severity
from poolsafe.knowledge.frameworks import DEFAULT_MAX_OVERFLOW, DEFAULT_POOL_SIZE
from poolsafe.rules.base import FileContext, Rule
from poolsafe.rules.cases.ps204 import INVALID, VALID


class OverflowTooLarge(Rule):
    """
    ## What it does
    Opt-in: selected only by its code (`--select PS204`, `extend-select =
    ["PS204"]`) or by `ALL`, never by default or by a prefix. How much overflow a
    pool may lean on is a sizing choice that depends on the workload and the
    number of processes (PS208 adds those up against the server's limit); in
    every round of hand-judged large code bases, nearly all of this rule's
    findings were such choices, written on purpose, not defects.

    Flags a SQLAlchemy pool whose `max_overflow` is more than half of its
    `pool_size`, in `create_engine(...)` / `create_async_engine(...)` keywords,
    in a Flask `SQLALCHEMY_ENGINE_OPTIONS` dict, and in
    `SQLAlchemy(engine_options=...)`.

    Only explicit settings are judged, with SQLAlchemy's defaults (`pool_size=5`,
    `max_overflow=10`) filling in the other one:
    - `max_overflow` given: reported at its value when it is above half of
      `pool_size` (or negative, which means unlimited);
    - only `pool_size` given: the default overflow of 10 is judged against it and
      the finding is reported at the `pool_size` value (a pool of fewer than 5,
      see below);
    - neither given: not reported. The library's default pair is a known
      starting point, and a rule that fired on every engine would be noise;
    - a pair within that default (no more than 10 overflow connections, and no
      more than two of them per steady connection: `pool_size=5, max_overflow=10`
      written out, `pool_size=5, max_overflow=5`, `pool_size=10` alone) is not
      reported either: it is the default pool, or a pool that leans less on its
      overflow than the default does.

    Values are read from literals, constants (across modules) and
    `int(os.environ.get("POOL_SIZE", "10"))` defaults (also `os.getenv` and an integer
    default: `int(os.getenv("MAX_OVERFLOW", 20))`), and the defaults of a pydantic
    settings class (`pool_size: int = 20`, `Field(default=20)`, `Annotated[int,
    Field(default=20)]`), also on an instance a project helper builds from the class
    (`settings = load(Settings)`, the helper returning `settings_class()`); unknown values are not
    judged. `pool_size=0` (no limit), `NullPool`/`StaticPool` and SQLite URLs are
    exempt, also when the URL's dialect comes from a constant
    (`f"{DIALECT}:///{path}"` with `DIALECT = "sqlite"`).

    A Flask `SQLALCHEMY_ENGINE_OPTIONS` is judged only where Flask-SQLAlchemy can
    read it (as for PS203): in a project that never imports Flask-SQLAlchemy and
    builds its own engines with `create_engine`, a config class's
    `SQLALCHEMY_ENGINE_OPTIONS` configures nothing (the engines are judged with
    the options they are given); nor does a config class or module that no app
    loads (`app.config.from_object`, `from_pyfile`, `from_envvar`, `from_file`)
    in a project whose app sets its `SQLALCHEMY_DATABASE_URI` on `app.config`
    itself.

    ## Tests, one-shot code and processes
    Test modules are not reported: a test's engine lives for one test. A script's
    engine is judged like any other, since the setting is the engine's own. The
    sizes are per engine and per process: every process that builds the engine
    gets its own pool, and `poolsafe capacity` (PS208) adds them up per program.

    ## Why is this bad?
    Overflow connections are opened on demand and closed as soon as they are
    returned, so a pool that lives in its overflow pays a connect and a
    disconnect per checkout exactly when it is busiest. With several worker
    processes, `(pool_size + max_overflow) * workers` can exceed the server's
    `max_connections`, and the failure ("remaining connection slots are
    reserved", "Too many connections") appears only at peak load. Size the pool
    for the steady load and keep the overflow for short bursts.

    ## Example
    ```python
    engine = create_engine(URL, pool_size=5, max_overflow=20, pool_pre_ping=True)
    ```

    ## Use instead
    ```python
    engine = create_engine(URL, pool_size=20, max_overflow=5, pool_pre_ping=True)
    ```

    ## Fix safety
    No automatic fix: the right sizes depend on the workers and the server's
    connection limit.
    """

    code = "PS204"
    name = "overflow-too-large"
    summary = "max_overflow above half of pool_size"
    severity = Severity.WARNING
    VALID = VALID
    INVALID = INVALID

    def check(self, ctx: FileContext) -> Iterator[RawFinding]:
        if is_test_module(ctx.module):
            return  # a test's engine lives for one test, not in production
        for site in engine_sites(ctx.index, ctx.module):
            opts = site.options
            if opts is None or holds_no_server_slot(site.dialect) \
                    or is_non_pooling(ctx.index, opts):
                continue
            if site.from_config and site.anchor is None:
                continue  # inherited options: reported where they are written
            if configures_nothing(ctx.index, ctx.module, site) is not None:
                continue  # a name only: Flask-SQLAlchemy never reads this configuration
            size_b = opts.values.get("pool_size")
            over_b = opts.values.get("max_overflow")
            if size_b is None and over_b is None:
                continue
            if (size_b is None or over_b is None) and opts.open:
                continue
            size = DEFAULT_POOL_SIZE if size_b is None else int_value(
                ctx.index, size_b.expr, size_b.module, size_b.func)
            over = DEFAULT_MAX_OVERFLOW if over_b is None else int_value(
                ctx.index, over_b.expr, over_b.module, over_b.func)
            if size is None or over is None or size <= 0:
                continue
            if over >= 0 and 2 * over <= size:
                continue
            if 0 <= over <= DEFAULT_MAX_OVERFLOW \
                    and over * DEFAULT_POOL_SIZE <= size * DEFAULT_MAX_OVERFLOW:
                continue  # within SQLAlchemy's own default pair (5 + 10)
            anchor = over_b if over_b is not None else size_b
            assert anchor is not None
            if anchor.module is not ctx.module:
                continue
            if over < 0:
                detail = f"max_overflow={over} lets the pool grow without limit"
            elif over_b is None:
                detail = (f"pool_size={size} keeps the default max_overflow={over}, more than "
                          "half of it")
            else:
                detail = f"max_overflow={over} is more than half of pool_size={size}"
            yield self.finding(
                anchor.expr,
                f"{site.label}: {detail}; overflow connections are opened and closed per "
                "checkout at peak load and can exceed the server's max_connections; raise "
                f"pool_size or set max_overflow to at most {size // 2}",
            )
