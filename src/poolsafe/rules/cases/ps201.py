"""PS201 connect-per-request: INVALID cases mark the connect() call."""

from poolsafe.rules.base import Case

INVALID: list[Case] = [
    Case("""
import psycopg2
from flask import Flask, jsonify

app = Flask(__name__)

@app.route("/users/<int:user_id>")
def show_user(user_id):
    conn = psycopg2.connect("dbname=app")  # expect: PS201
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
        return jsonify(cur.fetchone())
    finally:
        conn.close()
"""),
    Case("""
import psycopg
from fastapi import FastAPI

app = FastAPI()

@app.get("/orders")
def list_orders():
    with psycopg.connect("dbname=shop") as conn:  # expect: PS201
        return conn.execute("SELECT id FROM orders").fetchall()
""", note="psycopg 3 in a `with`: still one server connection per request"),
    Case("""
import pymysql
from flask import Blueprint

bp = Blueprint("reports", __name__)

@bp.get("/reports")
def reports():
    conn = pymysql.connect(host="db", user="app", database="app")  # expect: PS201
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM reports")
            return {"count": cur.fetchone()[0]}
"""),
    Case("""
import mysql.connector
from fastapi import APIRouter

router = APIRouter()

@router.post("/items")
async def add_item(name: str):
    conn = mysql.connector.connect(user="app", database="shop")  # expect: PS201
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO items (name) VALUES (%s)", (name,))
        conn.commit()
    finally:
        conn.close()
"""),
    Case("""
import psycopg2
from flask import Flask, g

app = Flask(__name__)

def get_db():
    if "db" not in g:
        g.db = psycopg2.connect("dbname=app")  # expect: PS201
    return g.db

@app.route("/")
def index():
    cur = get_db().cursor()
    cur.execute("SELECT 1")
    return "ok"

@app.route("/health")
def health():
    get_db()
    return "ok"
""", note="the Flask `g` pattern still connects once per request"),
    Case("""
from psycopg2 import connect as pg_connect

DSN = "dbname=app"

def open_connection():
    return pg_connect(DSN)  # expect: PS201
""", files={"routes.py": """
from fastapi import FastAPI
from case import open_connection

app = FastAPI()

@app.get("/ping")
def ping():
    conn = open_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()
"""}, note="a helper in another module that only a route calls"),
    Case("""
import psycopg2
from django.http import JsonResponse

def order_list(request):
    conn = psycopg2.connect("dbname=shop")  # expect: PS201
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM orders")
        return JsonResponse({"orders": cur.fetchall()})
    finally:
        conn.close()
""", path="shop/views.py", note="a Django function view"),
    Case("""
import pymysql
from django.views import View
from django.http import HttpResponse

class OrderView(View):
    def get(self, request, order_id):
        conn = pymysql.connect(host="db", database="shop")  # expect: PS201
        try:
            return HttpResponse(str(order_id))
        finally:
            conn.close()
""", note="a Django class-based view"),
    Case("""
import psycopg2
from flask.views import MethodView

class UserAPI(MethodView):
    def post(self):
        conn = psycopg2.connect("dbname=app")  # expect: PS201
        try:
            with conn:
                conn.cursor().execute("INSERT INTO users DEFAULT VALUES")
        finally:
            conn.close()
        return "", 201
"""),
    Case("""
from base_views import BaseView
import psycopg2

class ReportView(BaseView):
    def get(self, request):
        conn = psycopg2.connect("dbname=app")  # expect: PS201
        conn.close()
""", files={"base_views.py": """
from rest_framework.views import APIView

class BaseView(APIView):
    pass
"""}, note="a DRF view through a project base class"),
    Case("""
from flask import Flask, jsonify
from flaskext.mysql import MySQL

app = Flask(__name__)
mysql = MySQL()
mysql.init_app(app)

@app.route("/students")
def students():
    conn = mysql.connect()  # expect: PS201
    try:
        cur = conn.cursor()
        cur.execute("SELECT id, name FROM student")
        return jsonify(cur.fetchall())
    finally:
        conn.close()
""", note="Flask-MySQL's connect() opens a new pymysql connection on every call"),
    Case("""
import psycopg2
from flask import Blueprint, session

from shop.auth import staff_only

bp = Blueprint("stock", __name__)


def open_db():
    return psycopg2.connect("dbname=shop")  # expect: PS201


def role_of(name):
    conn = open_db()
    try:
        cur = conn.cursor()
        cur.execute("SELECT role FROM staff WHERE name = %s", (name,))
        return cur.fetchone()
    finally:
        conn.close()


@bp.route("/stock")
@staff_only
def stock():
    return {"role": role_of(session["user"])}
""", path="shop/views.py", files={"shop/__init__.py": "", "shop/auth.py": """
from flask import abort, session

from shop import views


def staff_only(view):
    def check(*args, **kwargs):
        if views.role_of(session["user"]) is None:
            abort(403)
        return view(*args, **kwargs)
    return check
"""}, note=("the helper's other caller is the wrapper of a decorator applied only to "
            "routes: it runs in their requests too")),
    Case("""
import pymysql
from flask import Flask

app = Flask(__name__)
shared = pymysql.connect(host="db", user="app", database="shop")

def count_orders(customer):
    shared.ping(reconnect=True)  # expect: PS201
    cur = shared.cursor()
    cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    n = cur.fetchone()[0]
    shared.close()
    return n

@app.route("/orders/<customer>")
def orders(customer):
    return {"n": count_orders(customer)}
""", note="a module connection closed after each query and reopened by ping(reconnect=True)"),
    Case("""
import mysql.connector
from flask import Flask, current_app, g

app = Flask(__name__)

def open_db():
    if "conn" not in g:
        g.conn = mysql.connector.connect(host=current_app.config["DB_HOST"])
    return g.conn

link = open_db()

def run(sql):
    link.reconnect(attempts=3)  # expect: PS201
    cur = link.cursor()
    cur.execute(sql)
    rows = cur.fetchall()
    link.close()
    return rows

@app.route("/tags")
def tags():
    return {"tags": run("SELECT name FROM tags")}
""", note="reconnect() of a module connection an accessor cached on flask.g; closed each call"),
    Case("""
import pymysql
from flask import Flask

app = Flask(__name__)
shared = pymysql.connect(host="db", user="app", database="shop")

def stock_level(sku):
    shared.ping(reconnect=True)  # expect: PS201
    cur = shared.cursor()
    cur.execute("SELECT qty FROM stock WHERE sku = %s", (sku,))
    qty = cur.fetchone()[0]
    shared.close()
    return qty
""", path="inventory.py", files={
        "web.py": "from flask import Flask\nfrom inventory import stock_level as level\n\n"
                  "app = Flask(__name__)\n\n@app.route('/stock/<sku>')\n"
                  "def stock(sku):\n    return {'qty': level(sku)}\n"},
         note="only a route calls it, under an alias it is imported as"),
    Case("""
import psycopg2


def open_db():
    return psycopg2.connect("dbname=shop")  # expect: PS201
""", path="store/queries.py", files={"web/main.py": """
from fastapi import FastAPI

import store.queries

api = FastAPI()


@api.get("/items")
def items():
    conn = store.queries.open_db()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            return cur.fetchall()
    finally:
        conn.close()
"""}, note=("the route reaches the helper as `store.queries.open_db()` after `import "
            "store.queries`, `store` being a namespace package (no `__init__.py`)")),
    Case("""
import psycopg2


def get_conn():
    conn = psycopg2.connect("dbname=shop")  # expect: PS201
    try:
        yield conn
    finally:
        conn.close()
""", path="db.py", files={"repo.py": """
from fastapi import Depends

from db import get_conn


class ItemRepo:
    def __init__(self, conn=Depends(get_conn)):
        self.conn = conn

    def all(self):
        with self.conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            return cur.fetchall()
""", "main.py": """
from fastapi import Depends, FastAPI

from repo import ItemRepo

app = FastAPI()


def list_items(repo: ItemRepo = Depends(ItemRepo)):
    return repo.all()


app.add_api_route("/items", endpoint=list_items, methods=["GET"])
"""}, note=("a FastAPI dependency that connects: FastAPI runs it for every request that "
            "needs it, here through a repository class's own `Depends`")),
    Case("""
import psycopg2
from fastapi import FastAPI, Request

app = FastAPI()


def user_for(token):
    conn = psycopg2.connect("dbname=shop")  # expect: PS201
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE token = %s", (token,))
            return cur.fetchone()
    finally:
        conn.close()


@app.middleware("http")
async def attach_user(request: Request, call_next):
    request.state.user = None
    if "Authorization" in request.headers:
        request.state.user = user_for(request.headers["Authorization"])
    return await call_next(request)
""", note="only an HTTP middleware calls it: it runs for every request"),
    Case("""
import pymysql
from flask import Flask, g

app = Flask(__name__)


@app.before_request
def open_db():
    g.db = pymysql.connect(host="db", user="app", database="shop")  # expect: PS201


@app.teardown_request
def close_db(exc):
    db = g.pop("db", None)
    if db is not None:
        db.close()
""", note="a Flask before_request hook runs at the start of every request"),
    Case("""
import pymysql


def connect():
    return pymysql.connect(host="db", user="app", database="shop")  # expect: PS201


def transactional(work):
    def run(*args):
        conn = connect()
        try:
            result = work(conn, *args)
            conn.commit()
            return result
        finally:
            conn.close()
    return run
""", path="shop/db.py", files={"shop/views.py": """
from flask import Blueprint

from shop.db import *

bp = Blueprint("shop", __name__)


@bp.route("/count")
@transactional
def count(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM items")
        return {"n": cur.fetchone()[0]}
""", "shop/__init__.py": ""}, note=("the decorator, brought in by a star import of a project "
                                     "module, wraps routes only: its wrapper runs per request")),
    Case("""
import pymysql
from flask import g


def get_db():
    db = getattr(g, "_database", None)
    if db is None:
        db = g._database = pymysql.connect(host="db", user="app")  # expect: PS201
    return db
""", path="connexion_db.py", files={
        "dao.py": "from connexion_db import get_db\n\n\ndef patients():\n"
                  "    cur = get_db().cursor()\n    cur.execute('SELECT id FROM patient')\n"
                  "    return cur.fetchall()\n",
        "views.py": "from flask import *\nfrom dao import *\n\n"
                    "patient = Blueprint('patient', __name__)\n\n\n"
                    "@patient.route('/patients')\ndef show():\n"
                    "    return render_template('show.html', rows=patients())\n",
        "app.py": "from flask import Flask, g\nfrom views import patient\n\n"
                  "app = Flask(__name__)\napp.register_blueprint(patient)\n\n\n"
                  "@app.teardown_appcontext\ndef close(exc):\n"
                  "    db = getattr(g, '_database', None)\n    if db is not None:\n"
                  "        db.close()\n"},
         note="the blueprint's module has `from flask import *`: `Blueprint` is still "
              "flask's, so its routes are request handlers"),
]


VALID: list[Case] = [
    Case("""
from flask import Flask, jsonify
from flaskext.mysql import MySQL

app = Flask(__name__)
mysql = MySQL()
mysql.init_app(app)

@app.route("/students")
def students():
    cur = mysql.get_db().cursor()
    cur.execute("SELECT id, name FROM student")
    return jsonify(cur.fetchall())
""", note="Flask-MySQL's get_db() is the app context's connection, closed at teardown"),
    Case("""
import psycopg2

def main():
    conn = psycopg2.connect("dbname=app")
    try:
        with conn:
            conn.cursor().execute("VACUUM ANALYZE")
    finally:
        conn.close()

if __name__ == "__main__":
    main()
""", note="a maintenance script connects once"),
    Case("""
import click
import pymysql

@click.command()
@click.option("--days", default=30)
def purge(days):
    conn = pymysql.connect(host="db", database="app")
    with conn:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM logs WHERE age > %s", (days,))
        conn.commit()
"""),
    Case("""
import psycopg2
from flask import Flask

app = Flask(__name__)
conn = psycopg2.connect("dbname=app")

@app.route("/")
def index():
    return "ok"
""", note="one connection at import time (other rules judge its sharing)"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool
from flask import Flask

app = Flask(__name__)
pool = ThreadedConnectionPool(1, 10, "dbname=app")

@app.route("/users")
def users():
    conn = pool.getconn()
    try:
        cur = conn.cursor()
        cur.execute("SELECT name FROM users")
        return {"users": cur.fetchall()}
    finally:
        pool.putconn(conn)
"""),
    Case("""
import mysql.connector
from fastapi import FastAPI

app = FastAPI()

@app.get("/items")
def items():
    conn = mysql.connector.connect(pool_name="web", pool_size=5, database="shop")
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM items")
        return cur.fetchall()
    finally:
        conn.close()
""", note="pool_name= makes connect() a pool checkout"),
    Case("""
import sqlite3
from flask import Flask

app = Flask(__name__)

@app.route("/notes")
def notes():
    conn = sqlite3.connect("notes.db")
    try:
        return {"notes": conn.execute("SELECT body FROM notes").fetchall()}
    finally:
        conn.close()
""", note="SQLite is a file, not a server connection"),
    Case("""
import psycopg2
from django.core.management.base import BaseCommand

def rebuild_index(request_id):
    conn = psycopg2.connect("dbname=shop")
    conn.close()

class Command(BaseCommand):
    def handle(self, *args, **options):
        rebuild_index(1)
""", path="shop/management/commands/reindex.py", note="a Django management command"),
    Case("""
import psycopg2

def export(request):
    conn = psycopg2.connect("dbname=shop")
    conn.close()
""", path="shop/views.py",
         note="a `views` module that is not Django's (no django import)"),
    Case("""
import psycopg2
from fastapi import FastAPI

app = FastAPI()

def unused_helper():
    conn = psycopg2.connect("dbname=app")
    conn.close()

@app.get("/")
def index():
    return {"ok": True}
""", note="a function nothing calls is not known to serve requests"),
    Case("""
import pymysql
from flask import Flask

app = Flask(__name__)
shared = pymysql.connect(host="db", user="app", database="shop")

@app.route("/orders/<customer>")
def orders(customer):
    shared.ping(reconnect=True)
    with shared.cursor() as cur:
        cur.execute("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
        return {"n": cur.fetchone()[0]}
""", note="ping(reconnect=True) without a close: reconnects only a connection that died"),
    Case("""
import pymysql

shared = pymysql.connect(host="db", user="app", database="shop")

def nightly_report():
    shared.ping(reconnect=True)
    cur = shared.cursor()
    cur.execute("SELECT count(*) FROM orders")
    n = cur.fetchone()[0]
    shared.close()
    return n

if __name__ == "__main__":
    print(nightly_report())
""", note="reopen-and-close in a script's function: once per run, not per request"),
    Case("""
from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(1, 10, "dbname=shop")


def get_conn():
    conn = pool.getconn()
    try:
        yield conn
    finally:
        pool.putconn(conn)
""", path="db.py", files={"main.py": """
from fastapi import Depends, FastAPI

from db import get_conn

app = FastAPI()


@app.get("/items")
def list_items(conn=Depends(get_conn)):
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM items")
        return cur.fetchall()
"""}, note="a dependency that checks out of a pool made once: no new server connection"),
    Case("""
import pymysql


def connect():
    conn = pymysql.connect(host="db", user="app", database="shop")
    return conn, conn.cursor()


def transactional(work):
    def run(*args):
        conn, cur = connect()
        try:
            result = work(cur, *args)
            conn.commit()
            return result
        finally:
            cur.close()
            conn.close()
    return run
""", path="lab/db_module.py", files={"lab/members.py": """
from vendored.db_module import *


@transactional
def save(cur, query, params):
    cur.execute(query, params)
""", "lab/__init__.py": ""}, note=("the decorator is applied only through a star import of a "
                                    "module that is not in the project (CRUD helpers, not "
                                    "routes): where its wrapper runs is not known")),
]

# Functions defined in alternative branches of a module-level `if`/`elif`: a call in
# one branch's function means the definition of that branch.
INVALID += [
    Case("""
import os

from flask import g

if os.environ.get("DB") == "sqlite":
    import sqlite3

    def connect_db():
        return sqlite3.connect("app.db")

    def get_db():
        if not hasattr(g, "db"):
            g.db = connect_db()
        return g.db

elif os.environ.get("DB") == "postgres":
    import psycopg2

    def connect_db():
        return psycopg2.connect(os.environ["DATABASE_URL"])  # expect: PS201

    def get_db():
        if not hasattr(g, "db"):
            g.db = connect_db()
        return g.db
""", path="database.py", files={"app.py": "from flask import Flask, g\n\n"
                                 "from database import get_db\n\napp = Flask(__name__)\n\n\n"
                                 "@app.teardown_appcontext\ndef close(exc):\n"
                                 "    db = g.pop('db', None)\n    if db is not None:\n"
                                 "        db.close()\n\n\n@app.route('/links')\ndef links():\n"
                                 "    cur = get_db().cursor()\n"
                                 "    cur.execute('SELECT url FROM links')\n"
                                 "    return str(cur.fetchall())\n"},
         note="`connect_db` is defined in both branches; each `get_db` calls its own"),
]

# A WTForms validator (an object in a field's `validators=[...]` whose `__call__(form,
# field)` WTForms runs) is called while a route validates its form: per request.
INVALID += [
    Case("""
import mysql.connector
from wtforms.validators import ValidationError


def connect():
    return mysql.connector.connect(host="db", user="app", database="club")  # expect: PS201


def create_account(form):
    conn = connect()
    try:
        conn.cursor().execute("INSERT INTO member (netid) VALUES (%s)", (form.netid.data,))
        conn.commit()
    finally:
        conn.close()


class NoDupes:
    def __init__(self, column):
        self.column = column

    def __call__(self, form, field):
        conn = connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT 1 FROM member WHERE netid = %s", (field.data,))
            if cur.fetchall():
                raise ValidationError("taken")
        finally:
            conn.close()
""", path="db.py", files={
        "forms.py": "from flask_wtf import FlaskForm\nfrom wtforms import StringField\n"
                    "from wtforms.validators import DataRequired\n\nfrom db import NoDupes\n\n\n"
                    "class SignupForm(FlaskForm):\n"
                    "    netid = StringField('NetID',\n"
                    "                        validators=[DataRequired(), NoDupes('netid')])\n",
        "app.py": "from flask import Flask, render_template\n\nfrom db import create_account\n"
                  "from forms import SignupForm\n\napp = Flask(__name__)\n\n\n"
                  "@app.route('/signup', methods=['GET', 'POST'])\ndef signup():\n"
                  "    form = SignupForm()\n    if form.validate_on_submit():\n"
                  "        create_account(form)\n        return 'ok'\n"
                  "    return render_template('signup.html', form=form)\n"},
         note="the other caller is a field validator WTForms runs inside the route"),
]


# A wrapper that opens a fresh connection on every call but also serves code that is no
# request code (a script, a CLI command, a function nobody calls): its own connect() is
# not reported, so the request handlers that call it are.
INVALID += [
    Case("""
import sys
import psycopg2
from flask import Flask

app = Flask(__name__)

def open_db():
    return psycopg2.connect("dbname=app")  # expect: PS201

@app.route("/")
def index():
    conn = open_db()
    conn.close()
    return "ok"

def cli():
    conn = open_db()
    conn.close()

if __name__ == "__main__":
    sys.exit(cli())
""", note="a wrapper that a CLI entry point calls too still opens a connection for "
              "every request of the route: reported once, at its own connect(), naming the "
              "route (until 2026-11-25 nothing was reported; then, until round 12 of issue "
              "31, the route's call was)"),
    Case("""
import psycopg2
from flask import Flask

app = Flask(__name__)


def open_db():
    return psycopg2.connect("dbname=shop")  # expect: PS201


@app.route("/stock")
def stock():
    conn = open_db()
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM items")
        return str(cur.fetchone()[0])
    finally:
        conn.close()


def seed():
    conn = open_db()
    try:
        conn.cursor().execute("INSERT INTO items DEFAULT VALUES")
        conn.commit()
    finally:
        conn.close()


if __name__ == "__main__":
    seed()
""", note="the wrapper also serves the module's seeding script: reported at its "
          "connect(), once, naming the route"),
    Case("""
import pymysql
from flask_restful import Resource


class Orders(Resource):
    def get(self, order_id):
        conn = pymysql.connect(host="db", database="shop")  # expect: PS201
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM orders WHERE id = %s", (order_id,))
                return cur.fetchone()
        finally:
            conn.close()
""", note="a Flask-RESTful `Resource` is a `MethodView`: its `get` serves requests"),
    Case("""
import psycopg2
from flask_restx import Namespace, Resource

api = Namespace("customers")


@api.route("/<int:customer_id>")
class Customer(Resource):
    def delete(self, customer_id):
        conn = psycopg2.connect("dbname=crm")  # expect: PS201
        try:
            with conn:
                conn.cursor().execute("DELETE FROM customers WHERE id = %s", (customer_id,))
        finally:
            conn.close()
""", note="Flask-RESTX's `Resource` too"),
]

VALID += [
    Case("""
from fastapi import FastAPI
from db import connection

app = FastAPI()


@app.get("/headlines")
def headlines():
    conn = connection()
    try:
        return conn.cursor().fetchall()
    finally:
        conn.close()
""", files={"db.py": "import psycopg2\n\n\ndef connection():\n"
                     "    return psycopg2.connect('dbname=news')\n"},
         note="a wrapper only request code calls is reported inside (once), not at its "
              "callers"),
    Case("""
import psycopg2


def open_db():
    return psycopg2.connect("dbname=shop")


def seed():
    conn = open_db()
    try:
        conn.cursor().execute("INSERT INTO items DEFAULT VALUES")
        conn.commit()
    finally:
        conn.close()


if __name__ == "__main__":
    seed()
""", note="a wrapper that only a script calls: nothing runs per request"),
    Case("""
import pymysql
from base import Resource


class Orders(Resource):
    def get(self, order_id):
        conn = pymysql.connect(host="db", database="shop")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM orders WHERE id = %s", (order_id,))
                return cur.fetchone()
        finally:
            conn.close()
""", files={"base.py": "class Resource:\n    def get(self, key):\n"
                       "        raise NotImplementedError\n"},
         note="a project class named `Resource` is no Flask-RESTful resource"),
]

# Round 12 of issue 31: one finding per wrapper. A function that opens a fresh connection
# on every call and that request code reaches is reported at its own connect(), naming the
# request code, also when it serves a script or a CLI command besides.
INVALID += [
    Case("""
import psycopg2


def connection():
    return psycopg2.connect("dbname=news")  # expect: PS201
""", path="db.py", files={
        "main.py": "from fastapi import FastAPI\nfrom db import connection\n\n"
                   "app = FastAPI()\n\n\n@app.get('/headlines')\ndef headlines():\n"
                   "    conn = connection()\n    try:\n"
                   "        return conn.cursor().fetchall()\n    finally:\n"
                   "        conn.close()\n",
        "report.py": "from db import connection\n\n\ndef weekly_report():\n"
                     "    conn = connection()\n    try:\n"
                     "        return conn.cursor().fetchone()\n    finally:\n"
                     "        conn.close()\n"},
         note="the wrapper's other caller is a function nobody calls: reported in the "
              "wrapper's module, naming the route of the other module"),
    Case("""
import psycopg2
from flask import Flask, g

app = Flask(__name__)


def get_db():
    if "db" not in g:
        g.db = psycopg2.connect("dbname=app")  # expect: PS201
    return g.db


@app.route("/")
def index():
    get_db().cursor().execute("SELECT 1")
    return "ok"


@app.cli.command("init-db")
def init_db():
    get_db().cursor().execute("CREATE TABLE t (id int)")
""", note="an accessor that caches the connection on `g` opens one per request; a CLI "
          "command also uses it, and the accessor is still reported, once (its routes "
          "are not; until round 12 of issue 31 nothing was reported)"),
    Case("""
import psycopg2


def open_db():
    return psycopg2.connect("dbname=shop")  # expect: PS201
""", path="store/queries.py", files={"web/main.py": """
from fastapi import FastAPI

import store.queries

api = FastAPI()


@api.get("/items")
def items():
    conn = store.queries.open_db()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            return cur.fetchall()
    finally:
        conn.close()
""", "tools/export.py": """
import store.queries


def main():
    conn = store.queries.open_db()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM items")
            print(cur.fetchall())
    finally:
        conn.close()


if __name__ == "__main__":
    main()
"""}, note="a script calls the helper too (through the same namespace-package import): "
           "the route still opens one connection per request, reported at the wrapper"),
    Case("""
import psycopg2
from flask import Blueprint, session

from shop.auth import staff_only

bp = Blueprint("stock", __name__)


def open_db():
    return psycopg2.connect("dbname=shop")  # expect: PS201


def role_of(name):
    conn = open_db()
    try:
        cur = conn.cursor()
        cur.execute("SELECT role FROM staff WHERE name = %s", (name,))
        return cur.fetchone()
    finally:
        conn.close()


@bp.route("/stock")
@staff_only
def stock():
    return {"role": role_of(session["user"])}


@staff_only
def nightly_report():
    print(role_of("admin"))


if __name__ == "__main__":
    nightly_report()
""", path="shop/views.py", files={"shop/__init__.py": "", "shop/auth.py": """
from flask import abort, session

from shop import views


def staff_only(view):
    def check(*args, **kwargs):
        if views.role_of(session["user"]) is None:
            abort(403)
        return view(*args, **kwargs)
    return check
"""}, note=("the same decorator also wraps a script's function, so its wrapper is no "
            "request code; the route still calls the helper itself, once per request "
            "(until round 12 of issue 31 this case was VALID)")),
    Case("""
import psycopg2


class Connection:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=notes")  # expect: PS201
        self.cur = self.conn.cursor()

    def __del__(self):
        self.conn.close()
""", path="conexion.py", files={"main.py": """
from fastapi import FastAPI

from conexion import Connection

app = FastAPI()


def find_user(email):
    db = Connection()
    db.cur.execute("SELECT id FROM users WHERE email = %s", (email,))
    return db.cur.fetchone()


@app.post("/login")
def login(email: str):
    return {"id": find_user(email)}
"""}, note="a class whose `__init__` connects: each `Connection()` that request code builds "
           "is a new server connection"),
    Case("""
import pymysql


class Session:
    @staticmethod
    def get_connection():
        return pymysql.connect(host="db", user="app", database="lms")  # expect: PS201
""", path="lms/common.py", files={"lms/__init__.py": "", "lms/app.py": """
from flask import Flask

from lms.common import Session

app = Flask(__name__)


@app.route("/board")
def board():
    conn = Session.get_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT title FROM boards")
            return {"rows": cur.fetchall()}
    finally:
        conn.close()


@app.route("/members")
def members():
    conn = Session.get_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM members")
            return {"rows": cur.fetchall()}
    finally:
        conn.close()
""", "lms/console.py": """
from lms.common import Session


def main():
    conn = Session.get_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM members")
            print(cur.fetchone())
    finally:
        conn.close()


if __name__ == "__main__":
    main()
"""}, note="a static-method wrapper serving two routes and a console program: one finding, "
           "at the wrapper, not one per route"),
    Case("""
import psycopg2
from fastapi import FastAPI, Request

app = FastAPI()


def user_for(token):
    conn = psycopg2.connect("dbname=shop")  # expect: PS201
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE token = %s", (token,))
            return cur.fetchone()
    finally:
        conn.close()


@app.middleware("http")
async def attach_user(request: Request, call_next):
    request.state.user = None
    if "Authorization" in request.headers:
        request.state.user = user_for(request.headers["Authorization"])
    return await call_next(request)


if __name__ == "__main__":
    print(user_for("admin-token"))
""", note="the middleware's helper also runs from the script's __main__ block; the "
          "middleware still calls it on every request (VALID until round 12 of issue 31)"),
]

VALID += [
    Case("""
import psycopg2


class Connection:
    def __init__(self):
        self.conn = psycopg2.connect("dbname=notes")
        self.cur = self.conn.cursor()


def main():
    db = Connection()
    db.cur.execute("DELETE FROM sessions WHERE expires < now()")
    db.conn.commit()
    db.conn.close()


if __name__ == "__main__":
    main()
""", note="a class whose `__init__` connects, built only by a script's main(): once per run"),
    Case("""
import pymysql
from flask import Flask

app = Flask(__name__)


def get_connection():
    return pymysql.connect(host="db", user="app", database="lms")


@app.route("/board")
def board():
    return {"ok": True}


def main():
    conn = get_connection()
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
""", note="a wrapper in a Flask app's module that only the console program calls: no "
          "request opens a connection"),
]

# Round 12 of issue 31: a Streamlit script runs again from the top at every interaction
INVALID += [
    Case("""
import pandas as pd
import psycopg2
import streamlit as st

conn = psycopg2.connect("dbname=dash")  # expect: PS201

st.header("Orders")
st.dataframe(pd.read_sql("SELECT * FROM orders", conn))
""", note="a raw connect() at a Streamlit script's top level: one per interaction"),
]

VALID += [
    Case("""
import pandas as pd
import psycopg2
import streamlit as st


@st.cache_resource
def get_conn():
    return psycopg2.connect("dbname=dash")


conn = get_conn()
st.header("Orders")
st.dataframe(pd.read_sql("SELECT * FROM orders", conn))
""", note="the connection is made once, in a function Streamlit caches across reruns"),
    Case("""
import pandas as pd
import psycopg2
import streamlit as st

if "conn" not in st.session_state:
    st.session_state.conn = psycopg2.connect("dbname=dash")

st.dataframe(pd.read_sql("SELECT * FROM orders", st.session_state.conn))
""", note="kept in `st.session_state`: once per browser session"),
    Case("""
import psycopg2
import streamlit as st

conn = psycopg2.connect("dbname=dash")


def orders():
    st.write("loading")
    return conn.cursor().execute("SELECT 1")
""", path="dash/db.py", files={"dash/__init__.py": "", "dash/app.py": """
import streamlit as st

from dash.db import orders

st.write(orders())
"""}, note="a module the script imports runs once per process (Python caches imports)"),
]

# Issue 31, round 18 (small49; corpus17's held-out class): a Streamlit page that calls, at
# its top level, a connection function of another module cached with `@st.cache_resource`.
_STREAMLIT_PAGE = """
import pandas as pd
import streamlit as st

from board.db import {name}

conn = {name}(){mark}
st.header("Fixtures")
st.dataframe(pd.read_sql("SELECT * FROM fixtures", conn))
"""

_STREAMLIT_DB = """
import os

import psycopg2
import streamlit as st


def traced(fn):
    def run(*args, **kwargs):
        st.caption(f"calling {fn.__name__}")
        return fn(*args, **kwargs)
    return run


@st.cache_resource(ttl=3600)
def shared_conn():
    return psycopg2.connect(os.environ["BOARD_DSN"])


@st.experimental_singleton
def legacy_conn():
    return psycopg2.connect(os.environ["BOARD_DSN"])


@traced
def traced_conn():
    return psycopg2.connect(os.environ["BOARD_DSN"])
"""

VALID += [
    Case(_STREAMLIT_PAGE.format(name="shared_conn", mark=""), path="pages/fixtures.py",
         files={"board/__init__.py": "", "board/db.py": _STREAMLIT_DB},
         note="the page's call reaches a function of another module that Streamlit caches "
              "with `@st.cache_resource(...)`: every rerun gets the one kept connection"),
    Case(_STREAMLIT_PAGE.format(name="legacy_conn", mark=""), path="pages/fixtures.py",
         files={"board/__init__.py": "", "board/db.py": _STREAMLIT_DB},
         note="`@st.experimental_singleton` is cache_resource's old name"),
]

INVALID += [
    Case(_STREAMLIT_PAGE.format(name="traced_conn", mark="  # expect: PS201"),
         path="pages/fixtures.py",
         files={"board/__init__.py": "", "board/db.py": _STREAMLIT_DB},
         note="a project decorator that only logs keeps nothing: a new connection at every "
              "rerun"),
]

# Round 18 (small49): flask-apispec's `MethodResource` is a `MethodView`: its HTTP-method
# methods are request handlers.
_APISPEC_RESOURCE = """
import psycopg2
{base_import}


class ReportResource({base}):
    def get(self, report_id):
        conn = psycopg2.connect("dbname=reports"){mark}
        try:
            cur = conn.cursor()
            cur.execute("SELECT body FROM reports WHERE id = %s", (report_id,))
            return {{"body": cur.fetchone()[0]}}
        finally:
            conn.close()
"""

INVALID += [
    Case(_APISPEC_RESOURCE.format(base_import="from flask_apispec.views import MethodResource",
                                  base="MethodResource", mark="  # expect: PS201"),
         note="flask-apispec's MethodResource routes each request to get(): a connect per "
              "request"),
]

VALID += [
    Case(_APISPEC_RESOURCE.format(base_import="", base="object", mark=""),
         note="the same method on a plain class nothing routes to or calls"),
]

# large50 (issue 31): a connection kept per thread and replaced, in an `except`
# handler, only when a probe on it failed is a reconnect, not a connect per request.
_PROBED_STORE = '''
import threading

import psycopg2
from fastapi import FastAPI

app = FastAPI()


class Store:
    def __init__(self, dsn):
        self.dsn = dsn
        self._local = threading.local()

    def _open(self):
        conn = psycopg2.connect(self.dsn){mark}
        conn.autocommit = True
        return conn

    @property
    def connection(self):
        if getattr(self._local, "conn", None) is None:
            self._local.conn = self._open()
        return self._local.conn

    @connection.setter
    def connection(self, value):
        self._local.conn = value

    def get_cursor(self):
{get}
        return self.connection.cursor()

    def count(self):
        cur = self.get_cursor()
        cur.execute("SELECT count(*) FROM items")
        return cur.fetchone()[0]


store = Store("dbname=app")


@app.get("/count")
def count():
    return {{"n": store.count()}}
'''

VALID += [
    Case(_PROBED_STORE.format(mark="", get='''        try:
            with self.connection.cursor() as probe:
                probe.execute("SELECT 1")
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.connection = self._open()'''),
         note="the thread's connection is replaced only when the probe on it failed: a "
              "reconnect, not a connection per request"),
]

INVALID += [
    Case(_PROBED_STORE.format(mark="  # expect: PS201", get='''        try:
            with self.connection.cursor() as probe:
                probe.execute("SELECT 1")
        except psycopg2.OperationalError:
            pass
        self.connection = self._open()'''),
         note="the connection is replaced after the probe whether it failed or not: a "
              "new connection on every request"),
]

# aiomysql's and aiopg's own `connect()` (corpus23's tune half: an async Flask view's
# helper opening `await aiomysql.connect()` per query)
VALID += [
    Case('''\
import aiomysql
from fastapi import FastAPI

app = FastAPI()
pool = None


@app.on_event("startup")
async def open_pool():
    global pool
    pool = await aiomysql.create_pool(host="db", user="shop", db="shop", maxsize=10)


@app.get("/stock/{sku}")
async def stock(sku: str):
    async with pool.acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT qty FROM stock WHERE sku = %s", (sku,))
            return {"qty": (await cur.fetchone())[0]}
''', note="aiomysql: a pool made once at startup, a checkout per request"),
    Case('''\
import aiopg


async def migrate(dsn):
    conn = await aiopg.connect(dsn)
    try:
        async with conn.cursor() as cur:
            await cur.execute("ALTER TABLE visits ADD COLUMN IF NOT EXISTS agent text")
    finally:
        await conn.close()
''', note="aiopg.connect() in a function no request handler calls"),
]

INVALID += [
    Case('''\
import aiomysql
from flask import Blueprint, jsonify

shop = Blueprint("shop", __name__)


async def open_db():
    return await aiomysql.connect(host="db", user="shop", db="shop")  # expect: PS201


async def run(sql, args=()):
    conn = await open_db()
    try:
        async with conn.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchall()
    finally:
        conn.close()


@shop.route("/orders")
async def orders():
    return jsonify(await run("SELECT id, total FROM orders"))
''', note="aiomysql.connect() behind two helpers that only an async Flask view calls"),
    Case('''\
import aiopg
from fastapi import APIRouter

router = APIRouter()


@router.get("/visits")
async def visits():
    async with aiopg.connect("dbname=stats") as conn:  # expect: PS201
        async with conn.cursor() as cur:
            await cur.execute("SELECT count(*) FROM visits")
            return {"n": (await cur.fetchone())[0]}
''', note="aiopg.connect() in a FastAPI route"),
]

# a cached accessor connects only when its cache has no connection: one per process
# (per key), not one per request (large54's held class, built after the measurement)
_CACHED_ACCESSOR = '''\
import psycopg2
from flask import Flask

app = Flask(__name__)
_cache = {{}}


def get_connection(key):
{body}


@app.route("/items")
def items():
    cur = get_connection("shop").cursor()
    cur.execute("SELECT name FROM items")
    return {{"items": cur.fetchall()}}
'''

VALID += [
    Case(_CACHED_ACCESSOR.format(body='''\
    try:
        conn = _cache[key]
    except KeyError:
        conn = psycopg2.connect(dbname=key)
        _cache[key] = conn
    return conn'''), note="the connect runs on a cache miss only"),
    Case(_CACHED_ACCESSOR.format(body='''\
    conn = _cache.get(key)
    if conn is None:
        conn = psycopg2.connect(dbname=key)
        _cache[key] = conn
    return conn'''), note="a cache tested with `if ... is None`"),
]

INVALID += [
    Case(_CACHED_ACCESSOR.format(body='''\
    conn = psycopg2.connect(dbname=key)  # expect: PS201
    _cache[key] = conn
    return conn'''), note="look-alike: it connects on every call and overwrites the cache"),
]

# a Flask `before_request` hook registered by a call rather than a decorator
# (`app.before_request(open_db)` in an `init_app(app)`): it runs before every request
# (corpus25's tune class)
_HOOK_DB = '''\
from flask import current_app, g
from psycopg2 import connect


def open_db():
    if "db" not in g:
        g.db = connect(current_app.config["DSN"]){mark}


def close_db(exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app):
    {register}(open_db)
    app.teardown_appcontext(close_db)
'''

_HOOK_APP = '''\
from flask import Flask, g

import db

app = Flask(__name__)
db.init_app(app)


@app.route("/items")
def items():
    cur = g.db.cursor()
    cur.execute("SELECT name FROM items")
    return {"items": cur.fetchall()}
'''

_HOOK_REGISTRY = '''\
from flask import current_app, g
from psycopg2 import connect


class Hooks:
    def __init__(self):
        self.before = []

    def before_request(self, fn):
        self.before.append(fn)


hooks = Hooks()


def open_db():
    g.db = connect(current_app.config["DSN"])


def setup():
    hooks.before_request(open_db)
'''

INVALID += [
    Case(_HOOK_DB.format(mark="  # expect: PS201", register="app.before_request"),
         files={"app.py": _HOOK_APP}, path="db.py",
         note="an unannotated `app` parameter's before_request: a fresh connection per request"),
    Case(_HOOK_DB.format(mark="  # expect: PS201", register="app.before_request").replace(
        "def init_app(app):", "def init_app(app: Flask):").replace(
        "from flask import current_app, g", "from flask import Flask, current_app, g"),
         files={"app.py": _HOOK_APP}, path="db.py",
         note="the same on an annotated Flask application"),
]

VALID += [
    Case(_HOOK_DB.format(mark="", register="app.before_first_request"),
         files={"app.py": _HOOK_APP}, path="db.py",
         note="look-alike: before_first_request runs once per process"),
    Case(_HOOK_REGISTRY,
         note="look-alike: a project class's own before_request method, not Flask's"),
]

# Round 27 (the lead; seen in small62's held half, after its measurement): a route
# builds a subclass that defines no `__init__`, so the base's `__init__`, which
# connects, runs on every request.
_BASE_MODEL = """
import pymysql


class Model:
    def __init__(self, config):
        self.db = pymysql.connect(**config){mark}

    def close(self):
        self.db.close()
"""
_SUBCLASS_APP = """
from flask import Flask, request

from models.base import Model

app = Flask(__name__)
CONFIG = {{"host": "db", "user": "app", "database": "shop"}}


class AuthModel(Model):
{body}
    def user(self, name):
        with self.db.cursor() as cur:
            cur.execute("SELECT id FROM users WHERE name = %s", (name,))
            return cur.fetchone()


@app.route("/login", methods=["POST"])
def login():
    model = AuthModel(CONFIG)
    try:
        return {{"id": model.user(request.form["name"])}}
    finally:
        model.close()
"""
INVALID += [
    Case(_BASE_MODEL.format(mark="  # expect: PS201"), path="models/base.py",
         files={"models/__init__.py": "", "app.py": _SUBCLASS_APP.format(body="")},
         note="a route builds a subclass with no `__init__` of its own: the base's "
              "`__init__` connects on every request"),
]
VALID += [
    Case(_BASE_MODEL.format(mark=""), path="models/base.py",
         files={"models/__init__.py": "", "app.py": _SUBCLASS_APP.format(body="""\
    def __init__(self, config):
        self.db = POOL.get_connection()
""").replace("app = Flask(__name__)", "from mysql.connector import pooling\n\n"
             "app = Flask(__name__)\nPOOL = pooling.MySQLConnectionPool(pool_size=4)")},
         note="look-alike: the subclass's own `__init__` takes a pooled connection and "
              "never runs the base's"),
]

# Round 28 (breadth64): the subclass defines its own `__init__` and runs the base's
# through `super().__init__(...)` or `Base.__init__(self, ...)`, one generation or more.
_SUPER_INIT = """\
    def __init__(self, config):
        super().__init__(config)
        self.table = "users"
"""
_MIDDLE = """
from models.base import Model


class Audited(Model):
    def __init__(self, config, actor="system"):
        Model.__init__(self, config)
        self.actor = actor
"""
INVALID += [
    Case(_BASE_MODEL.format(mark="  # expect: PS201"), path="models/base.py",
         files={"models/__init__.py": "",
                "app.py": _SUBCLASS_APP.format(body=_SUPER_INIT)},
         note="the subclass's own `__init__` calls `super().__init__(config)`, whose "
              "base connects: a connection per request"),
    Case(_BASE_MODEL.format(mark="  # expect: PS201"), path="models/base.py",
         files={"models/__init__.py": "", "models/audited.py": _MIDDLE,
                "app.py": _SUBCLASS_APP.format(body=_SUPER_INIT.replace(
                    "super().__init__(config)", "super(AuthModel, self).__init__(config)"))
                .replace("from models.base import Model", "from models.audited import Audited")
                .replace("class AuthModel(Model):", "class AuthModel(Audited):")},
         note="two generations: `super(AuthModel, self).__init__` runs "
              "`Audited.__init__`, which runs `Model.__init__(self, config)`"),
]
VALID += [
    Case(_BASE_MODEL.format(mark=""), path="models/base.py",
         files={"models/__init__.py": "",
                "app.py": _SUBCLASS_APP.format(body=_SUPER_INIT).replace(
                    "    model = AuthModel(CONFIG)\n", "").replace(
                    "@app.route", "model = AuthModel(CONFIG)\n\n\n@app.route").replace(
                    "    try:\n        return {\"id\": model.user(request.form[\"name\"])}"
                    "\n    finally:\n        model.close()",
                    "    return {\"id\": model.user(request.form[\"name\"])}")},
         note="look-alike: the subclass that runs the base's `__init__` is built once, "
              "at import, and shared by the requests"),
    Case(_BASE_MODEL.format(mark=""), path="models/base.py",
         files={"models/__init__.py": "",
                "app.py": _SUBCLASS_APP.format(body="""\
    def __init__(self, config):
        self.config = config
        self.db = POOL.get_connection()

    def reset(self):
        super().close()
""").replace("app = Flask(__name__)", "from mysql.connector import pooling\n\n"
             "app = Flask(__name__)\nPOOL = pooling.MySQLConnectionPool(pool_size=4)")},
         note="look-alike: the subclass's `__init__` never runs the base's (a `super()` "
              "call elsewhere calls another method)"),
]


# round 30 (issue 31, prec68): a deliberate connection of its own for `LISTEN`.
# PostgreSQL delivers a notification to the session that listens, so a request that
# waits for one needs a session no pool shares; the code opens it, listens, waits and
# closes it in `finally`. A pool would hold a slot for the same wait. Still reported: a
# caller that only sends `NOTIFY` (any pooled connection can), and a listening
# connection that is not closed in `finally`.
_LISTEN_DB = """\
import psycopg2

DSN = "dbname=inventory"


def raw_db_connection():
    return psycopg2.connect(DSN){mark}
"""
_LISTEN_APP = """\
import select

from flask import Flask
from psycopg2.extensions import ISOLATION_LEVEL_AUTOCOMMIT

from db import raw_db_connection

app = Flask(__name__)


def wait_for_group(group_id, timeout=5):
    conn = raw_db_connection()
{body}

@app.post("/groups/<group_id>/hosts")
def add_hosts(group_id):
    wait_for_group(group_id)
    return {{"ok": True}}
"""
_LISTEN_BODY = """\
    try:
        conn.set_isolation_level(ISOLATION_LEVEL_AUTOCOMMIT)
        cursor = conn.cursor()
        cursor.execute(f"LISTEN group_created_{group_id};")
        if select.select([conn], [], [], timeout) != ([], [], []):
            conn.poll()
    finally:
        conn.close()
"""


def _listen_case(mark: str, body: str, note: str) -> Case:
    return Case(_LISTEN_DB.format(mark=mark), path="db.py",
                files={"app.py": _LISTEN_APP.format(body=body)}, note=note)


_NOTIFY_WORKER = """\
from db import raw_db_connection


def notify_group_created(group_id):
    conn = raw_db_connection()
    try:
        conn.autocommit = True
        conn.cursor().execute("NOTIFY group_created, %s", (group_id,))
    finally:
        conn.close()


def consume(queue):
    for message in queue:
        notify_group_created(message["group_id"])
"""

VALID += [
    _listen_case("", _LISTEN_BODY, "a route waits for a notification on a connection of "
                 "its own, opened for the LISTEN and closed in `finally`"),
]
VALID.append(Case(_LISTEN_DB.format(mark=""), path="db.py", files={
    "app.py": _LISTEN_APP.format(body=_LISTEN_BODY), "worker.py": _NOTIFY_WORKER},
    note="the helper also serves a queue consumer's NOTIFY (no request code): the only "
         "request caller listens"))
INVALID += [
    _listen_case("  # expect: PS201", _LISTEN_BODY.replace(
        'cursor.execute(f"LISTEN group_created_{group_id};")',
        'cursor.execute(f"NOTIFY group_created, \'{group_id}\';")'),
        "look-alike: the route only sends NOTIFY, which any pooled connection can"),
    _listen_case("  # expect: PS201", _LISTEN_BODY.replace("    try:\n", "").replace(
        "        ", "    ").replace("    finally:\n", ""),
        "look-alike: the listening connection is closed at the end, not in `finally`"),
]

# round 34 (issue 31, large76d): a client class whose constructor opens a dedicated
# connection only when a flag parameter is on (`long_query=True`, for a longer
# statement timeout) and checks out of the pool otherwise. A route that builds it
# with the flag left off (or `False`) takes the pool's branch; one that turns it on,
# or hands it `**options`, opens a connection per request.
_FLAG_CLIENT = """\
import psycopg2
from flask import Flask
from psycopg2 import pool

DSN = "postgresql://app@db/app"
POOL = pool.ThreadedConnectionPool(1, 8, DSN)
app = Flask(__name__)


class Client:
    def __init__(self, long_query=False):
        self.long_query = long_query
        if long_query:
            self.conn = psycopg2.connect(DSN, options="-c statement_timeout=300000"){expect}
        else:
            self.conn = POOL.getconn()

    def __enter__(self):
        return self.conn.cursor()

    def __exit__(self, *exc):
        try:
            self.conn.commit()
        finally:
            if self.long_query:
                self.conn.close()
            else:
                POOL.putconn(self.conn)


@app.route("/users/<int:user_id>")
def show_user(user_id, **options):
    with Client({args}) as cur:
        cur.execute("SELECT name FROM users WHERE id = %s", (user_id,))
        return {{"name": cur.fetchone()[0]}}


def nightly_report():
    with Client(long_query=True) as cur:
        cur.execute("SELECT count(*) FROM events")
        return cur.fetchone()[0]
"""
VALID += [
    Case(_FLAG_CLIENT.format(args="", expect=""),
         note="the route leaves the flag off: pool branch; only a job turns it on"),
    Case(_FLAG_CLIENT.format(args="long_query=False", expect=""),
         note="the route passes False: pool branch"),
]
INVALID += [
    Case(_FLAG_CLIENT.format(args="long_query=True", expect="  # expect: PS201"),
         note="look-alike: the route turns the flag on: a connection per request"),
    Case(_FLAG_CLIENT.format(args="True", expect="  # expect: PS201"),
         note="look-alike: turned on by position"),
    Case(_FLAG_CLIENT.format(args="**options", expect="  # expect: PS201"),
         note="look-alike: the route hands on keywords it does not show"),
]
