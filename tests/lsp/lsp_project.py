"""The project the language server tests open: a pool wrapper in one module, its
leaking caller in another."""

from __future__ import annotations

DB = '''\
from psycopg2.pool import SimpleConnectionPool

pool = SimpleConnectionPool(1, 5, "dbname=test")


def get_conn():
    return pool.getconn()
'''

APP = '''\
from db import get_conn


def handler():
    conn = get_conn()
    cur = conn.cursor()
    cur.execute("select 1")
    return cur.fetchone()
'''
