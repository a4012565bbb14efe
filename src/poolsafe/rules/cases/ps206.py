"""PS206 job-without-app-context: INVALID cases mark the create_app() call."""

from poolsafe.rules.base import Case

_APP = {"myapp/__init__.py": """
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///app.db"
    db.init_app(app)
    return app
""", "myapp/models.py": """
from myapp import db

class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    active = db.Column(db.Boolean)

class Admin(User):
    pass
"""}

INVALID: list[Case] = [
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()

def purge_inactive():
    app = create_app()  # expect: PS206
    db.session.execute(db.text("DELETE FROM users WHERE NOT active"))
    db.session.commit()

scheduler.add_job(purge_inactive, "interval", hours=1)
""", files=_APP),
    Case("""
from apscheduler.schedulers.blocking import BlockingScheduler
from myapp import create_app
from myapp.models import User

sched = BlockingScheduler()

@sched.scheduled_job("cron", hour=3)
def report():
    app = create_app()  # expect: PS206
    app.logger.info("%d users", User.query.count())
""", files=_APP, note="a model query needs the context too"),
    Case("""
import threading
from myapp import create_app, db

def warm_cache():
    app = create_app()  # expect: PS206
    rows = db.session.execute(db.text("SELECT id FROM products")).all()
    return rows

threading.Thread(target=warm_cache, daemon=True).start()
""", files=_APP),
    Case("""
from celery import Celery
from myapp import create_app
from myapp.models import Admin

celery_app = Celery("tasks", broker="redis://localhost")

@celery_app.task(bind=True)
def notify_admins(self):
    app = create_app()  # expect: PS206
    for admin in Admin.query.all():
        app.logger.info("notify %s", admin.id)
""", files=_APP, note="a subclass of a model"),
    Case("""
from celery import shared_task
from myapp import create_app, db

@shared_task
def vacuum():
    app = create_app()  # expect: PS206
    db.session.execute(db.text("VACUUM"))
""", files=_APP),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db
from myapp.models import User

scheduler = BackgroundScheduler()

def sync():
    app = create_app()  # expect: PS206
    with app.app_context():
        users = User.query.all()
    for user in users:
        user.active = True
    db.session.commit()

scheduler.add_job(func=sync, trigger="interval", minutes=5)
""", files=_APP, note="the commit is after the with block"),
    Case("""
from flask_apscheduler import APScheduler
from myapp import create_app
from myapp.reports import build_daily_report

scheduler = APScheduler()

@scheduler.task("interval", id="daily", hours=24)
def daily():
    app = create_app()  # expect: PS206
    build_daily_report()
""", files={**_APP, "myapp/reports.py": """
from myapp import db

def build_daily_report():
    return db.session.execute(db.text("SELECT count(*) FROM users")).scalar()
"""}, note="the database use is in a helper the job calls"),
    Case("""
from threading import Timer
from myapp import create_app, db

def refresh():
    app = create_app()  # expect: PS206
    db.create_all()

Timer(60.0, refresh).start()
""", files=_APP),
    Case("""
from concurrent.futures import ThreadPoolExecutor
from myapp import create_app, db

executor = ThreadPoolExecutor(max_workers=2)

def export(user_id):
    app = create_app()  # expect: PS206
    return db.session.get("User", user_id)

def schedule_export(user_id):
    executor.submit(export, user_id)
""", files=_APP),
]

VALID: list[Case] = [
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()

def purge_inactive():
    app = create_app()
    with app.app_context():
        db.session.execute(db.text("DELETE FROM users WHERE NOT active"))
        db.session.commit()

scheduler.add_job(purge_inactive, "interval", hours=1)
""", files=_APP),
    Case("""
import threading
from myapp import create_app

def send_digest():
    app = create_app()
    app.logger.info("sending to %s", app.config["DIGEST_TO"])

threading.Thread(target=send_digest).start()
""", files=_APP, note="no database use"),
    Case("""
from celery import shared_task
from myapp import create_app, db

@shared_task
def vacuum():
    app = create_app()
    app.app_context().push()
    db.session.execute(db.text("VACUUM"))
""", files=_APP, note="a context pushed by hand"),
    Case("""
from myapp import create_app, db

def seed():
    app = create_app()
    db.create_all()
""", files=_APP, note="not registered as a background job"),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from myapp import create_app

engine = create_engine("sqlite:///jobs.db")
SessionLocal = sessionmaker(bind=engine)
scheduler = BackgroundScheduler()

def tick():
    app = create_app()
    with SessionLocal() as session:
        session.execute(text("UPDATE jobs SET ticks = ticks + 1"))
        session.commit()

scheduler.add_job(tick, "interval", seconds=30)
""", files=_APP, note="a plain SQLAlchemy session needs no Flask context"),
    Case("""
import threading
from myapp import create_app
from myapp.models import User

def count_users():
    app = create_app()
    with app.test_request_context():
        return User.query.count()

threading.Thread(target=count_users).start()
""", files=_APP),
    Case("""
from celery import Celery
from myapp import create_app, db

celery_app = Celery("tasks")
flask_app = create_app()

@celery_app.task
def cleanup():
    with flask_app.app_context():
        db.session.execute(db.text("DELETE FROM sessions"))
        db.session.commit()
""", files=_APP, note="the app is built once, not in the job"),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()

def job():
    app = create_app()
    ctx = app.app_context()
    ctx.push()
    try:
        db.session.execute(db.text("SELECT 1"))
    finally:
        ctx.pop()

scheduler.add_job(job, "interval", minutes=1)
""", files=_APP),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from myapp import create_app, db

scheduler = BackgroundScheduler()

def run_in_app(fn):
    app = create_app()
    with app.app_context():
        fn()

def purge():
    db.session.execute(db.text("DELETE FROM tokens"))

scheduler.add_job(run_in_app, args=[purge])
""", files=_APP, note="the job wraps the work in a context"),
]
VALID.append(Case("""
import threading

from myapp import db


def purge_inactive():
    db.session.execute(db.text("DELETE FROM users WHERE NOT active"))
    db.session.commit()


def test_purge_in_a_thread():
    worker = threading.Thread(target=purge_inactive)
    worker.start()
    worker.join()
""", path="tests/test_purge.py", files=_APP,
    note="a thread a test starts: test modules are not reported (the test fails on its "
         "own with 'Working outside of application context')"))
