"""Abstract values: what an expression is known to produce."""

from __future__ import annotations

from dataclasses import dataclass

from poolsafe.analysis.module import ClassInfo, FunctionInfo, ModuleInfo
from poolsafe.knowledge import CONNECTION_KINDS, OBJECT_TYPES, ConnectionKind, ObjectType


@dataclass(frozen=True)
class External:
    """A name from outside the project: a library module, class or function."""

    qualname: str


@dataclass(frozen=True)
class ExternalInstance:
    """The result of calling an external class we have no facts for (`FastAPI()`)."""

    qualname: str


@dataclass(frozen=True, eq=False)
class ModuleRef:
    module: ModuleInfo


@dataclass(frozen=True, eq=False)
class FunctionRef:
    func: FunctionInfo


@dataclass(frozen=True, eq=False)
class ClassRef:
    cls: ClassInfo


@dataclass(frozen=True, eq=False)
class Instance:
    """An instance of a project class."""

    cls: ClassInfo


#: a LibraryObject flag: its connections run in autocommit
AUTOCOMMIT_FLAG = "autocommit"


@dataclass(frozen=True)
class LibraryObject:
    """A pool, engine or session factory the knowledge base describes."""

    type_key: str
    flags: frozenset[str] = frozenset()

    @property
    def type(self) -> ObjectType:
        return OBJECT_TYPES[self.type_key]


@dataclass(frozen=True)
class Connection:
    """A checked-out connection or session; `origin` is how it was obtained, for messages."""

    kind_key: str
    origin: str
    #: the project function it came through, if any (a wrapper like `get_db_connection`)
    via: str | None = None
    #: (position, length) when the call returns it inside a tuple or list, as
    #: `return conn, conn.cursor()` does: `conn, cur = get_conn()` binds position 0
    packed: tuple[int, int] | None = None
    #: the pool or engine it came from runs every statement in autocommit
    #: (`isolation_level="AUTOCOMMIT"`, `kwargs={"autocommit": True}`): no transaction
    autocommit: bool = False
    #: the call returns a cursor of the connection, not the connection
    #: (`return await conn.cursor()` in a project function that opened `conn`): the
    #: bound name is the cursor, and `cur.connection.close()` closes what it holds
    carrier: bool = False
    #: with `packed`: the position of an element that is True on every return handing
    #: out a fresh checkout (`return conn, True`; see `poolsafe.analysis.owner_flag`)
    owned_flag: int | None = None

    @property
    def kind(self) -> ConnectionKind:
        return CONNECTION_KINDS[self.kind_key]


@dataclass(frozen=True)
class ManagedContext:
    """A context manager that hands out a connection and always gives it back
    (`engine.begin()`, `pool.connection()`, a project `@contextmanager`)."""

    kind_key: str
    origin: str
    transactional: bool


Value = (
    External
    | ExternalInstance
    | ModuleRef
    | FunctionRef
    | ClassRef
    | Instance
    | LibraryObject
    | Connection
    | ManagedContext
)
