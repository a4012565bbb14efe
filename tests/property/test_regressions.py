"""Every example the property tests once failed on, as a plain test with the
literal source and the expected behaviour.

A test marked xfail(strict=True) is a poolsafe bug that is reported and not fixed
yet; when it is fixed the test passes, xfail's strictness fails the run, and the
mark goes.
"""

from __future__ import annotations

from collections import Counter

import libcst as cst
import pytest
from fuzz_mutators import mutate_once
from fuzz_support import fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from poolsafe.fix.loop.apply import fix_sources
from poolsafe.scan.engine import ScanOptions, scan_sources


def _codes(files: dict[str, str]) -> Counter[str]:
    return Counter(f.code for f in scan_sources(files, ScanOptions()).findings)


# --------------------------------------------------------------- mutators
FUTURE_AFTER_DOCSTRING = '"""Doc."""\nfrom __future__ import annotations\n\nimport os\n'


@pytest.mark.parametrize("kind", ["try", "nullctx", "if"])
@fuzz_settings(30)
@given(data=st.data())
def test_wrap_never_puts_a_statement_before_a_future_import(kind: str,
                                                            data: st.DataObject) -> None:
    # test_fuzz_mutators: `nullctx` on the module body with the run [docstring]: the
    # docstring went into a `with` and `from __future__` was no longer first
    out = mutate_once(cst.parse_module(FUTURE_AFTER_DOCSTRING), data, kind).code
    compile(out, "m.py", "exec", dont_inherit=True)
    assert out.startswith('"""Doc."""\nfrom __future__ import annotations\n')
    assert "    import os\n" in out


# ------------------------------------------------------------------ fix
PS105_SWALLOW = '''\
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
engine = create_async_engine("postgresql+asyncpg://localhost/app", pool_pre_ping=True)
async_session = async_sessionmaker(engine)
app = FastAPI()

@app.get("/items")
async def items():
    session = async_session()
    try:
        return (await session.execute("SELECT 1")).all()
    except Exception:
        pass
    finally:
        await session.close()
'''


def test_ps105_fix_of_a_route_with_a_swallowing_except_adds_no_ps103() -> None:
    # found by test_mutated_invalid_case: PS105 INVALID case 3 with the body of
    # `try/finally` wrapped in `try: ... except Exception: pass` (safe fixes). The
    # fix drops `finally: session.close()` and PS103 then reported the swallowing
    # `except` on the injected session; fixed in 3fd47d7 (a session the framework
    # closes is rolled back, so PS103 no longer reports it)
    files = {"case.py": PS105_SWALLOW}
    assert _codes(files) == Counter({"PS105": 1})
    result = fix_sources(files, ScanOptions())
    assert [a.code for a in result.applied] == ["PS105"]
    fixed = result.sources()
    compile(fixed["case.py"], "case.py", "exec", dont_inherit=True)
    assert "Depends(get_db)" in fixed["case.py"]
    assert _codes(fixed) - _codes(files) == Counter()
