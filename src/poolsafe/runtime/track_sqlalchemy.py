"""``track()`` for SQLAlchemy engines and pools: pool events for checkouts, engine
events for fault injection."""

from __future__ import annotations

from typing import Any

from .errors import InjectedFault
from .faults import KINDS
from .tracker import Tracker, remember, tracker_for


def track_sqlalchemy(target: Any, name: str | None) -> Tracker:
    """Attach a tracker to a SQLAlchemy engine (sync or async) or pool; the same
    tracker for the same pool."""
    from sqlalchemy.engine import Engine

    engine = getattr(target, "sync_engine", target)  # an AsyncEngine's engine
    if not isinstance(engine, Engine):
        engine = None
    pool = engine.pool if engine is not None else target
    # An engine is looked up by itself too: dispose() gives it a new pool (which
    # inherits the old pool's listeners, so the tracker keeps seeing it).
    tracker = (tracker_for(engine) if engine is not None else None) or tracker_for(pool)
    if tracker is None:
        tracker = _new_tracker(target, pool, engine, name)
    if engine is not None:
        remember(engine, tracker)
    if engine is not None and id(engine) not in tracker.hooked:
        _hook_engine(tracker, engine)
    return tracker


def _new_tracker(target: Any, pool: Any, engine: Any, name: str | None) -> Tracker:
    from sqlalchemy import event

    dialect = engine.dialect if engine is not None else getattr(pool, "_dialect", None)
    dbapi = getattr(dialect, "loaded_dbapi", None) or getattr(dialect, "dbapi", None)
    error = getattr(dbapi, "OperationalError", InjectedFault)
    # Without the engine no statement, commit or connect is seen: a pool alone
    # cannot fail anything (the engine's hooks, added just after, can).
    kinds = KINDS if engine is not None else ()
    tracker = Tracker(target, "sqlalchemy", name, make_error=error, kinds=kinds)
    remember(pool, tracker)

    def on_checkout(dbapi_conn: Any, record: Any, fairy: Any) -> None:
        tracker.checked_out(id(record), fairy)

    def on_checkin(dbapi_conn: Any, record: Any) -> None:
        tracker.checked_in(id(record))

    def on_detach(dbapi_conn: Any, record: Any) -> None:
        # connection.detach(): the connection leaves the pool for good, its
        # borrower owns it now (no checkin will come)
        tracker.checked_in(id(record))

    hooks = (("checkout", on_checkout), ("checkin", on_checkin), ("detach", on_detach))
    for name, hook in hooks:
        event.listen(pool, name, hook)
    _watch_timeouts(tracker, pool)

    def undo() -> None:
        for name, hook in hooks:
            event.remove(pool, name, hook)
        pool.__dict__.pop("_do_get", None)

    tracker.add_undo(undo)
    return tracker


def _watch_timeouts(tracker: Tracker, pool: Any) -> None:
    """``QueuePool limit of size N overflow M reached``: SQLAlchemy has no event
    for it, so the pool's own ``_do_get`` is wrapped (on this pool object; a pool
    that ``engine.dispose()`` recreates keeps the checkout events, not this)."""
    from sqlalchemy import exc

    do_get = getattr(pool, "_do_get", None)
    if do_get is None:
        return

    def _do_get() -> Any:
        try:
            return do_get()
        except exc.TimeoutError as error:
            tracker.ran_dry("timeout", str(error).split(" (Background on")[0].strip())
            raise

    pool._do_get = _do_get


def _hook_engine(tracker: Tracker, engine: Any) -> None:
    """Statement, commit and connect faults through the engine's events: a fault
    raises the DBAPI's error, which SQLAlchemy wraps as it wraps real ones
    (``sqlalchemy.exc.OperationalError``)."""
    from sqlalchemy import event, exc

    injector = tracker.fault_injector
    injector.kinds = KINDS

    def before_cursor_execute(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if injector.active:
            injector.check("statement", statement)

    def on_commit(conn: Any) -> None:
        if injector.active:
            error = injector.fault("commit")
            if error is not None:
                # This event runs outside SQLAlchemy's error translation: wrap it
                # the way a failed COMMIT would be.
                raise exc.OperationalError("COMMIT", None, error) from error

    def do_connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> None:
        if injector.active:
            injector.check("connect")

    hooks = (
        ("before_cursor_execute", before_cursor_execute),
        ("commit", on_commit),
        ("do_connect", do_connect),
    )
    for name, hook in hooks:
        event.listen(engine, name, hook)

    def undo() -> None:
        for name, hook in hooks:
            event.remove(engine, name, hook)

    tracker.hooked.add(id(engine))
    tracker.add_undo(undo)
