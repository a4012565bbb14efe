"""PS206 on another thread: Flask-SQLAlchemy used in a thread, a timer, an executor
task or a Socket.IO background task with no application context. INVALID cases mark
the first use."""

from poolsafe.rules.base import Case

_APP = {"shop/__init__.py": """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_socketio import SocketIO

db = SQLAlchemy()
socketio = SocketIO()
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql://app@db/shop"
db.init_app(app)
socketio.init_app(app)
""", "shop/models.py": """
from shop import db


class Order(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    paid = db.Column(db.Boolean, default=False)
"""}

#: why `poolsafe fix` leaves them
_BY_HAND = ("the job has no app of its own: wrap its work in `with app.app_context():` "
            "with the app it should use, by hand")

INVALID: list[Case] = [
    Case("""
import threading

from shop import app, db
from shop.models import Order


def mark_paid(order_id):
    db.session.get(Order, order_id).paid = True  # expect: PS206
    db.session.commit()


@app.post("/orders/<int:order_id>/paid")
def paid(order_id):
    threading.Thread(target=mark_paid, args=(order_id,)).start()
    return "", 202
""", files=_APP, note="a thread target: no application context", unfixable=_BY_HAND),
    Case("""
from shop import socketio
from shop.models import Order


def push_unpaid():
    while True:
        unpaid = Order.query.filter_by(paid=False).count()  # expect: PS206
        socketio.emit("unpaid", unpaid)
        socketio.sleep(5)


@socketio.on("connect")
def connected():
    socketio.start_background_task(push_unpaid)
""", files=_APP, note="the Socket.IO background task of the WebSocket seed",
         unfixable=_BY_HAND),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from shop import db
from shop.models import Order

pool = ThreadPoolExecutor(max_workers=2)


def count_paid():
    return Order.query.filter_by(paid=True).count()  # expect: PS206


def report():
    return pool.submit(count_paid).result()
""", files=_APP, note="an executor task", unfixable=_BY_HAND),
]

INVALID.append(Case("""
from threading import Timer

from shop.models import Order


def sweep():
    for order in Order.query.filter_by(paid=False):  # expect: PS206
        print(order.id)


def start():
    class RepeatTimer(Timer):
        def run(self):
            while not self.finished.wait(self.interval):
                self.function(*self.args, **self.kwargs)

    RepeatTimer(60, sweep).start()
""", files=_APP, note="a repeating Timer subclass defined next to its use", unfixable=_BY_HAND))

VALID: list[Case] = [
    Case("""
import threading

from shop import app, db
from shop.models import Order


def mark_paid(order_id):
    with app.app_context():
        db.session.get(Order, order_id).paid = True
        db.session.commit()


threading.Thread(target=mark_paid, args=(1,)).start()
""", files=_APP, note="the thread pushes the app's context"),
    Case("""
from flask import copy_current_request_context
import threading

from shop import app, db
from shop.models import Order


@app.post("/orders/<int:order_id>/paid")
def paid(order_id):
    @copy_current_request_context
    def mark():
        db.session.get(Order, order_id).paid = True
        db.session.commit()

    threading.Thread(target=mark).start()
    return "", 202
""", files=_APP, note="copy_current_request_context brings the context along"),
    Case("""
from shop import app, socketio
from shop.models import Order


def push_unpaid():
    with app.app_context():
        while True:
            socketio.emit("unpaid", Order.query.filter_by(paid=False).count())
            socketio.sleep(5)


socketio.start_background_task(push_unpaid)
""", files=_APP, note="the background task pushes a context"),
    Case("""
import threading

from shop import socketio


def heartbeat():
    while True:
        socketio.emit("ping", {})
        socketio.sleep(30)


threading.Thread(target=heartbeat, daemon=True).start()
""", files=_APP, note="a thread without database work"),
]

# breadth60: a thread target defined inside the view that starts it (the index leaves
# a nested function's name unresolved; PS107's target resolution, which PS206 shares,
# now reads it)
INVALID += [
    Case("""
import threading

from shop import db
from shop.models import Order


def pay(order_id):
    def mark_paid():
        db.session.get(Order, order_id).paid = True  # expect: PS206
        db.session.commit()

    threading.Thread(target=mark_paid).start()
    return "accepted"
""", files=_APP, unfixable=_BY_HAND, note="a view's closure started as a thread target"),
]

VALID += [
    Case("""
import threading

from shop import app, db
from shop.models import Order


def pay(order_id):
    def mark_paid():
        with app.app_context():
            db.session.get(Order, order_id).paid = True
            db.session.commit()

    threading.Thread(target=mark_paid).start()
    return "accepted"
""", files=_APP, note="look-alike: the closure pushes the app's context itself"),
]

# breadth62: a project subclass of `threading.Thread` whose `run()` is the thread's
# body (PS107 reads such a `run()` already; PS206 now does too)
INVALID += [
    Case("""
import threading

from shop import db
from shop.models import Order


class Settle(threading.Thread):
    def __init__(self, order_id):
        super().__init__(daemon=True)
        self.order_id = order_id

    def run(self):
        db.session.get(Order, self.order_id).paid = True  # expect: PS206
        db.session.commit()


def pay(order_id):
    Settle(order_id).start()
    return "accepted"
""", files=_APP, unfixable=_BY_HAND, note="a Thread subclass's run() uses db.session with no "
                                          "application context"),
]

VALID += [
    Case("""
import threading

from shop import app, db
from shop.models import Order


class Settle(threading.Thread):
    def __init__(self, order_id):
        super().__init__(daemon=True)
        self.order_id = order_id

    def run(self):
        with app.app_context():
            db.session.get(Order, self.order_id).paid = True
            db.session.commit()


def pay(order_id):
    Settle(order_id).start()
    return "accepted"
""", files=_APP, note="look-alike: the Thread subclass's run() pushes the app's context"),
    Case("""
import threading

import requests


class Ping(threading.Thread):
    def run(self):
        requests.get("https://status.example.com", timeout=5)


def ping():
    Ping().start()
    return "sent"
""", files=_APP, note="look-alike: a Thread subclass that does no database work"),
]
