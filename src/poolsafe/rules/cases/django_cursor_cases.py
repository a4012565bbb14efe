"""Django's server-side cursors: cases for PS102.

`connection.chunked_cursor()` (the cursor `QuerySet.iterator()` uses) is, on
PostgreSQL, a named psycopg cursor declared `WITH HOLD` in autocommit: its portal
and the rows it holds stay on the server until `close()` or the end of the
connection. The plain `connection.cursor()` is client-side and reference counting
closes it when the function drops it: it is not reported.
"""

from poolsafe.rules.base import Case

PS102_INVALID: list[Case] = [
    Case("""
from django.db import connection


def export_rows(out):
    cursor = connection.chunked_cursor()  # expect: PS102
    cursor.execute("SELECT id, total FROM shop_order")
    for row in cursor:
        out.write(f"{row[0]},{row[1]}\\n")
    cursor.close()
""", note="a server-side cursor closed only when the loop finishes: a failed write "
            "leaves its portal open on the server"),
    Case("""
from django.db import connections


def first_page(request):
    cur = connections["replica"].chunked_cursor()  # expect: PS102
    cur.execute("SELECT id FROM shop_order ORDER BY id")
    return cur.fetchmany(50)
""", note="an alias of `connections`: the cursor is never closed"),
]

PS102_VALID: list[Case] = [
    Case("""
from django.db import connection


def export_rows(out):
    with connection.chunked_cursor() as cursor:
        cursor.execute("SELECT id, total FROM shop_order")
        for row in cursor:
            out.write(f"{row[0]},{row[1]}\\n")
"""),
    Case("""
from django.db import connections


def first_page(request):
    cur = connections["replica"].chunked_cursor()
    try:
        cur.execute("SELECT id FROM shop_order ORDER BY id")
        return cur.fetchmany(50)
    finally:
        cur.close()
"""),
    Case("""
from django.db import connection


def count_orders():
    cursor = connection.cursor()
    cursor.execute("SELECT count(*) FROM shop_order")
    return cursor.fetchone()[0]
""", note="a client-side cursor: reference counting closes it when the function "
            "returns, and nothing is held on the server once its rows are read"),
    Case("""
from django.db import connections


def count_orders():
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM shop_order")
        return cursor.fetchone()[0]
"""),
]
