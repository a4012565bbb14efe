"""Executed proof of the configuration fixes (PS203, PS205, PS206, PS210, PS211).

Every rule case of these rules that `poolsafe fix` fixes safely runs before and after
the fix under the recording stand-ins (`proof_standins`), once without a fault and
with a fault at each statement in turn, with the teardowns the module registers run
after each call as Flask runs them. The stand-ins record what the code does to the
libraries' configuration (`Hooks.events`): which engines, pools and apps it builds
and with which keyword arguments, which functions it registers, which `with` blocks
over a library object it enters. Before and after must return the same values,
raise the same exceptions, commit the same rows, and build the same things in the
same order; the only differences allowed are the option the rule asks for reaching
the call that builds the engine or pool (`pool_pre_ping=True`, a statement cache of
0, ...), a new teardown registered that returns normally and calls `.remove()` on
every call (PS205), and an app context entered around the same work (PS206).

`python -m pytest -q -s tests/proof/test_config_fixes_executed.py` prints the counts."""

from __future__ import annotations

import ast
import re
from collections import Counter
from typing import Any

import pytest
from proof_recording import FETCHES, NotRunnable, Observation, Scenario, run_module
from proof_standins import undefined_names

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.rules import ALL_RULES, Case
from poolsafe.scan.engine import ScanOptions

CONFIG = ("PS203", "PS205", "PS206", "PS210", "PS211")
#: keyword arguments each fix may add to (or change in) the call that builds the
#: engine, pool or connection
OPTIONS = {"PS203": {"pool_pre_ping"}, "PS211": {"pool_pre_ping", "pool_recycle"},
           "PS210": {"statement_cache_size", "connect_args", "prepare_threshold", "kwargs"},
           "PS205": set(), "PS206": set()}
COUNTS: Counter[str] = Counter()


def _cases() -> list[Any]:
    return [pytest.param(rule.code, case, id=f"{rule.code}-invalid-{i}")
            for rule in ALL_RULES if rule.code in CONFIG
            for i, case in enumerate(rule.INVALID)]


def _kwargs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(text):
        depth += (ch in "{[(" and 1) or (ch in "}])" and -1) or 0
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for p in (p.strip() for p in parts):
        if p:
            k, _, v = p.partition("=")
            out[k] = v
    return out


def _options(text: str) -> dict[str, str]:
    """`{'pool_size': 10}` (or None) recorded for a configuration value, by key."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return {"<value>": text}
    if value is None:
        return {}
    if not isinstance(value, dict):
        return {"<value>": text}
    return {str(k): repr(v) for k, v in value.items()}


ENGINE_OPTIONS = "SQLALCHEMY_ENGINE_OPTIONS"


def _added_options(code: str, b: tuple[str, ...], a: tuple[str, ...]) -> set[str] | None:
    """The options the fix added to one call, configuration class or configuration
    value (None when they differ otherwise)."""
    if b[:2] != a[:2] or b[0] not in ("call", "config", "set"):
        return None
    if b[0] == "set" and b[1] != ENGINE_OPTIONS:
        return None
    kb, ka = (_kwargs(b[2]), _kwargs(a[2])) if b[0] == "call" else (
        _options(b[2]), _options(a[2]))
    changed = {k for k in kb.keys() | ka.keys() if kb.get(k) != ka.get(k)}
    if not changed <= OPTIONS[code] or not kb.keys() <= ka.keys():
        return None
    return changed


#: the calls the stand-in app's configuration records for `app.config.get(...)` and
#: the `{**...}` unpacking of what it returns
_CONFIG_READS = (("call", "flask.get"), ("call", "flask.keys"))


def _compare_events(code: str, before: list[tuple[str, ...]], after: list[tuple[str, ...]],
                    new_teardowns: set[str], where: str) -> set[str]:
    """Assert the after's events are the before's plus what the fix may add; returns
    the options added."""
    # `app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {...}` the fix adds, when the options
    # were never set; when they were, the fix adds to the dict the project sets, and
    # that write is compared with the one before it like any other
    options_set = [e[:2] == ("set", ENGINE_OPTIONS) for e in before].count(True)
    new_options = [e[:2] == ("set", ENGINE_OPTIONS) for e in after].count(True) > options_set
    kept = [e for e in after
            if not (code == "PS205" and e[0] == "register" and e[2] in new_teardowns)
            and not (code == "PS206" and e[0] in ("enter", "exit") and e[1] == "app_context")
            and not (code == "PS206" and e[:2] == ("call", "flask.app_context"))
            and not (new_options and e[:2] == ("set", ENGINE_OPTIONS) and e not in before)]
    if new_options:
        # the merged form reads the app's configuration first
        # (`{**app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), ...}`): a read of a dict
        for read in _CONFIG_READS:
            surplus = sum(e[:2] == read for e in kept) - sum(e[:2] == read for e in before)
            for _ in range(surplus):
                kept.remove(next(e for e in kept if e[:2] == read))
    added: set[str] = set()
    for e in after:
        if new_options and e[:2] == ("set", ENGINE_OPTIONS) and e not in before:
            assert set(_options(e[2])) <= OPTIONS[code], (where, e)
            added |= set(_options(e[2]))
    assert len(kept) == len(before), (where, before, after)
    for b, a in zip(before, kept, strict=True):
        if b == a:
            continue
        got = _added_options(code, b, a)
        assert got is not None, (where, "a different call", b, a)
        added |= got
    return added


def _run_events(obs: Observation, skip: set[str]) -> list[tuple[str, ...]]:
    """Every event of the run (the calls of the functions in `skip` left out), grouped
    by kind and object, each group in the order it happened."""
    out = [e for key, events in obs.events.items() if key[0] not in skip for e in events]
    return sorted(out, key=lambda e: e[:2])


def _teardowns(obs: Observation) -> set[str]:
    return {key[0] for key in obs.teardown_outcomes}


def prove_config(code: str, before: str, after: str, files: dict[str, str],
                 files_after: dict[str, str]) -> tuple[int, int]:
    """Run `before` and `after` under every fault and input; assert they behave the
    same but for what the fix of `code` may add; returns (function runs, faults)."""
    # the harness gives a name nothing binds an inert stand-in (a model class a case
    # leaves out): the fix may not read one the original did not
    unbound = undefined_names(after) - undefined_names(before)
    assert not unbound, ("the fix reads names nothing binds", unbound)
    added: set[str] = set()
    entered = built = False
    runs = faults = 0
    for fetch in FETCHES:
        plain_b = run_module(before, Scenario(), fetch, files=files, teardowns=True)
        scenarios = [Scenario()] + [Scenario("statement", k)
                                    for k in range(plain_b.statements)]
        for scenario in scenarios:
            ob = run_module(before, scenario, fetch, files=files, teardowns=True)
            oa = run_module(after, scenario, fetch, files=files_after, teardowns=True)
            where = f"{scenario}, fetch {fetch!r}"
            new = _teardowns(oa) - _teardowns(ob)
            # the fix's new teardown is a module function too: called by Flask only
            outcomes_a = {k: v for k, v in oa.outcomes.items() if k[0] not in new}
            assert outcomes_a == ob.outcomes, (where, ob.outcomes, oa.outcomes)
            assert oa.committed == ob.committed, (where, ob.committed, oa.committed)
            assert code == "PS205" or not new, (where, "a teardown registered", new)
            if code == "PS205":
                assert new, (where, "no teardown registered by the fix")
            for key, (outcome, events) in oa.teardown_outcomes.items():
                if key[1] in new:
                    continue  # run after a call of the new teardown itself
                if key[0] in new:  # the fix's teardown: returns, removes the session
                    assert outcome == ("return", "None"), (where, key, outcome)
                    assert any(e[0] == "call" and e[1].endswith(".remove")
                               for e in events), (where, key, events)
                else:
                    assert ob.teardown_outcomes.get(key) == (outcome, events), (where, key)
            # the whole run's events, each library object's in the order they happened
            added |= _compare_events(code, _run_events(ob, set()), _run_events(oa, new),
                                     new, where)
            entered = entered or ("enter", "app_context") in _run_events(oa, new)
            built = built or any(e[0] == "call" and _BUILDS_ENGINE.search(e[1])
                                 for e in _run_events(ob, set()))
            runs += len(oa.outcomes)
            faults += scenario.kind == "statement"
    if code in ("PS203", "PS210", "PS211"):
        if not added and not built:
            # the harness's inputs never reach the engine's call in the original either
            # (`create_engine(config["URI"])` in a function given an int, an Alembic
            # env's `run_migrations_online()`): nothing here can show the option arrives
            raise NotRunnable("no run of the original reaches the call that builds the engine")
        assert added, "the option the fix adds never reached the call that builds the engine"
    if code == "PS206":
        assert entered, "the fixed code never enters the app context"
    return runs, faults


#: the recorded calls that build an engine (`sqlalchemy.create_engine`, its async
#: form, `engine_from_config`, Flask-SQLAlchemy's engine options)
_BUILDS_ENGINE = re.compile(r"create_(?:async_)?engine|engine_from_config|create_pool|SQLAlchemy")


def _outside_main_block(source: str) -> str:
    """The module's code with its `if __name__ == "__main__":` blocks left out."""
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if not (
        isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")]
    return ast.dump(tree)


@pytest.mark.parametrize(("code", "case"), _cases())
def test_fixed_configuration_behaves_as_before(code: str, case: Case,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    for name in re.findall(r"""os\.environ\[["'](\w+)["']\]""", case.code):
        monkeypatch.setenv(name, "postgresql://app@db/app")  # the deployment's settings
    files = {p: t for p, t in dict(case.files).items() if p.endswith(".py")}
    result = fix_sources({**dict(case.files), case.path: case.code},
                         ScanOptions(select={code}), unsafe=False)
    fixed = result.sources()
    after = fixed[case.path]
    if after == case.code:
        COUNTS["cases without a safe fix"] += 1
        return
    files_after = {p: t for p, t in fixed.items() if p != case.path and p.endswith(".py")}
    if _outside_main_block(after) == _outside_main_block(case.code):
        # the harness imports the module, so a `__main__` block never runs under it
        COUNTS["cases fixed only inside a __main__ block"] += 1
        pytest.skip("the fix changes only the `__main__` block, which importing never runs")
    try:
        runs, faults = prove_config(code, case.code, after, files, files_after)
    except NotRunnable as exc:
        COUNTS["cases that do not import under the stand-ins"] += 1
        pytest.skip(f"does not import under the stand-ins: {exc}")
    COUNTS["cases run"] += 1
    COUNTS[f"cases run ({code})"] += 1
    COUNTS["function runs"] += runs
    COUNTS["faults injected"] += faults


# ------------------------------------------------- the layer can tell a bad fix
ENGINE = '''from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", pool_size=5)
replica = create_engine("postgresql://app@replica/app")


def count():
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM t")).scalar()
'''
TEARDOWN = '''from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import scoped_session, sessionmaker

engine = create_engine("postgresql://app@db/app", pool_pre_ping=True)
db_session = scoped_session(sessionmaker(bind=engine))
app = Flask(__name__)


@app.route("/users")
def users():
    return db_session.execute("SELECT 1").scalar()
'''
GOOD_TEARDOWN = TEARDOWN.replace('@app.route("/users")', '''@app.teardown_appcontext
def remove_db_session(exception=None):
    db_session.remove()


@app.route("/users")''')


@pytest.mark.parametrize(("code", "before", "bad", "why"), [
    ("PS203", ENGINE, ENGINE.replace("pool_size=5)", "pool_size=5, pool_pre_ping=True)")
     .replace("pool_size=5", "pool_size=10", 1), "an option changed besides the one added"),
    ("PS203", ENGINE, ENGINE.replace("pool_size=5)", "pool_size=5, echo=True)"),
     "another option added"),
    ("PS203", ENGINE, ENGINE.replace("@replica/app\")", "@replica/app\", pool_pre_ping=True)")
     .replace("pool_size=5)", "pool_size=5, pool_pre_ping=True)", 0), "the option on the "
     "replica only: fine, so this one must pass (control)"),
    ("PS203", ENGINE, ENGINE.replace("\ndef count", "\nreplica.dispose()\n\ndef count"),
     "a call the original does not make"),
    ("PS203", ENGINE, ENGINE, "the option never reaches the engine"),
    ("PS205", TEARDOWN, GOOD_TEARDOWN.replace("    db_session.remove()", "    db_sesion.remove()"),
     "the teardown reads a name nothing binds"),
    ("PS205", TEARDOWN, GOOD_TEARDOWN.replace("    db_session.remove()", "    pass"),
     "the teardown does not remove the session"),
    ("PS205", TEARDOWN, GOOD_TEARDOWN.replace('return db_session.execute("SELECT 1").scalar()',
                                              "return None"), "a route changed"),
])
def test_the_layer_sees_a_bad_configuration_fix(code: str, before: str, bad: str,
                                               why: str) -> None:
    if why.endswith("(control)"):
        prove_config(code, before, bad, {}, {})
        return
    with pytest.raises(AssertionError):
        prove_config(code, before, bad, {}, {})


def test_the_layer_passes_a_good_teardown() -> None:
    prove_config("PS205", TEARDOWN, GOOD_TEARDOWN, {}, {})


def test_zz_summary() -> None:
    print("\nexecuted proof of the configuration fixes:", dict(sorted(COUNTS.items())))
