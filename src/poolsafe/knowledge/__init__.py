"""What the real database libraries acquire, release and close, as data.

Everything the analysis knows about psycopg2, psycopg 3, psycopg_pool, asyncpg,
aiopg, aiomysql, SQLAlchemy, SQLModel, mysql.connector, pymysql, sqlite3, Flask and
FastAPI lives here, so
that a new library is a table entry rather than new analysis code.
"""

from poolsafe.knowledge.libraries import (
    ACQUIRE_METHOD_NAMES,
    BROAD_EXCEPTIONS,
    CLIENT_RESULT_ERROR_NAMES,
    CONNECTION_KINDS,
    CONNECTION_LOST_ERROR_NAMES,
    CONTEXTMANAGER_DECORATORS,
    DB_ERROR_NAMES,
    DB_ERROR_ROOTS,
    DEPENDS,
    DIRECT_ACQUIRERS,
    LIVENESS_ATTRIBUTES,
    NON_WORK_METHODS,
    OBJECT_CONSTRUCTORS,
    OBJECT_TYPES,
    POOL_RELEASE_METHODS,
    ROUTE_FRAMEWORKS,
    SELF_RETURNING_METHODS,
    SESSION_QUEUE_METHODS,
    SYNC_SESSION_QUEUE_METHODS,
    TRANSACTION_CM_METHODS,
    ConnectionKind,
    DirectAcquirer,
    ObjectType,
    RouteFramework,
    match_qualname,
)

__all__ = [
    "ACQUIRE_METHOD_NAMES",
    "BROAD_EXCEPTIONS",
    "CLIENT_RESULT_ERROR_NAMES",
    "CONNECTION_KINDS",
    "CONNECTION_LOST_ERROR_NAMES",
    "CONTEXTMANAGER_DECORATORS",
    "DB_ERROR_NAMES",
    "DB_ERROR_ROOTS",
    "DEPENDS",
    "DIRECT_ACQUIRERS",
    "LIVENESS_ATTRIBUTES",
    "NON_WORK_METHODS",
    "OBJECT_CONSTRUCTORS",
    "OBJECT_TYPES",
    "POOL_RELEASE_METHODS",
    "ROUTE_FRAMEWORKS",
    "SELF_RETURNING_METHODS",
    "SESSION_QUEUE_METHODS",
    "SYNC_SESSION_QUEUE_METHODS",
    "TRANSACTION_CM_METHODS",
    "ConnectionKind",
    "DirectAcquirer",
    "ObjectType",
    "RouteFramework",
    "match_qualname",
]
