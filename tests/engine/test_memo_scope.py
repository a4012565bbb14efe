"""The index's memo of evaluated expressions answers for a node in the scope it was
asked in. A project-wide question may evaluate a function's expressions without the
function (`self` is then nothing); the memo kept that None by node alone and gave it
back inside the method, so which module was checked first decided a finding (a
serial scan of the combined rule cases missed three PS102 sessions from
`self.get_session()` that two workers found)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from poolsafe.analysis.cstutil import iter_nodes
from poolsafe.analysis.index import ProjectIndex
from poolsafe.scan.checking import parse_source
from poolsafe.scan.engine import ScanOptions, scan

STORE = """\
from sqlmodel import Session, create_engine, select


class OrderStore:
    def __init__(self, url):
        self.engine = create_engine(url)

    def get_session(self):
        return Session(self.engine, expire_on_commit=False)

    def first(self, query):
        return self.get_session().exec(query).first()
"""

DEPENDENCY = """\
from fastapi import Depends, FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

Factory = async_sessionmaker(create_async_engine("postgresql+asyncpg://app@db/app"))
app = FastAPI()


async def get_session():
    async with Factory() as session:
        return session


@app.get("/items")
async def items(session: AsyncSession = Depends(get_session)):
    return await session.execute("SELECT 1")
"""


def test_an_answer_without_the_function_is_not_the_answer_inside_it() -> None:
    module = parse_source("store.py", Path("/virtual/store.py"), Path("store.py"), STORE)
    index = ProjectIndex([module])
    method = module.classes["OrderStore"].methods["first"]
    call = next(n for n in iter_nodes(method.node.body)
                if isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute)
                and n.func.attr.value == "get_session")
    assert index.evaluate(call, module, None) is None  # no `self` outside the method
    assert index.evaluate(call, module, method) is not None


@pytest.mark.parametrize("first", ["a_dependency", "z_dependency"])
def test_a_finding_does_not_depend_on_which_module_is_checked_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first: str) -> None:
    (tmp_path / "m_store").mkdir()
    (tmp_path / "m_store" / "case.py").write_text(STORE)
    (tmp_path / first).mkdir()
    (tmp_path / first / "case.py").write_text(DEPENDENCY)
    monkeypatch.chdir(tmp_path)
    found = [(f.path, f.line, f.code) for f in scan(["."], ScanOptions(jobs=1)).findings
             if f.code == "PS102"]
    assert [(str(p), line) for p, line, _ in found] == [("m_store/case.py", 12)], found
