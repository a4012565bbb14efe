"""PS208 pool-capacity-exceeds-server: INVALID cases mark the engine (pool) call or
configuration whose pools, times the processes, exceed the server's limit."""

from poolsafe.rules.base import Case

_COMPOSE_50 = """
services:
  web:
    build: .
    command: gunicorn -w 4 app:app
    deploy:
      replicas: 2
  db:
    image: postgres:16
    command: postgres -c max_connections=50
"""
#: the same, with the `.env` files passed into the web containers
_COMPOSE_50_ENV = _COMPOSE_50.replace("    build: .\n", "    build: .\n    env_file: .env\n")

#: a uWSGI service whose processes are set in the .ini file the command reads (a path
#: relative to the container's working directory, `/srv/src`)
_COMPOSE_UWSGI = """
services:
  web:
    image: app
    working_dir: /srv/src
    command: ["uwsgi", "--ini", "web/uwsgi.ini"]
  db:
    image: postgres:16
"""


def _uwsgi_ini(workers: str) -> str:
    return ("[uwsgi]\nchdir = /srv/src/web\nwsgi-file = app.py\nmaster = true\n"
            f"workers = {workers}\n[other]\nworkers = 64\n")


INVALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)  # expect: PS208
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="2 replicas x 4 workers x (10 + 5) = 120 > 47"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app")  # expect: PS208
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="SQLAlchemy's defaults 5 + 10: 2 x 4 x 15 = 120"),
    Case("""
import os
from sqlalchemy import create_engine

POOL = int(os.getenv("POOL_SIZE", "5"))
engine = create_engine("postgresql://app@db/app", pool_size=POOL, max_overflow=0)  # expect: PS208
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50_ENV, ".env": "POOL_SIZE=20\n"},
         note="the .env file sets the size: 2 x 4 x 20 = 160"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=20, max_overflow=10)  # expect: PS208
""", path="app.py", files={"gunicorn.conf.py": "workers = 5\nwsgi_app = 'app:app'\n"},
         note="no compose: gunicorn.conf.py's 5 workers x 30 = 150 > 97 (PostgreSQL's default)"),
    Case("""
import asyncpg

async def init():
    return await asyncpg.create_pool("postgresql://app@db/app", max_size=30)  # expect: PS208
""", path="app.py", files={"Procfile": "web: uvicorn app:app --workers 4\n"},
         note="asyncpg max_size=30 x 4 workers = 120 > 97"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("mysql+pymysql://app@mysql/app",  # expect: PS208
                       pool_size=20, max_overflow=10)
""", path="app.py", files={"k8s/deployment.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: api
          image: registry/api:1
          command: ["gunicorn", "--workers", "2", "app:app"]
"""}, note="Kubernetes: 3 replicas x 2 workers x 30 = 180 > 151 (MySQL's default)"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)  # expect: PS208
""", path="app.py", files={"k8s/deployment.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: api
          image: registry/api:1
          args: ["uvicorn", "app:app", "--workers", "2"]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: api
spec:
  scaleTargetRef:
    name: api
  maxReplicas: 4
"""}, note="the HPA's maxReplicas: 4 x 2 x 15 = 120 > 97"),
    Case("""
class Config:
    SQLALCHEMY_DATABASE_URI = "postgresql://app@db/app"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "max_overflow": 5}  # expect: PS208
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="Flask-SQLAlchemy configuration"),
    Case("""
import os
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app",  # expect: PS208
                       pool_size=int(os.getenv("POOL_SIZE", "2")), max_overflow=0)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50_ENV,
                           ".env.production": "POOL_SIZE=10\n", ".env.dev": "POOL_SIZE=1\n"},
         note="production: 2 x 4 x 10 = 80 > 47; dev is within"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=0)  # expect: PS208
""", path="app.py", files={"docker-compose.yml": """
services:
  web:
    image: app
    command: ["sh", "-c", "alembic upgrade head && gunicorn --workers=${WORKERS:-8} app:app"]
    deploy:
      replicas: 3
  db:
    image: postgres:16
"""}, note="sh -c with a ${VAR:-default}: 3 x 8 x 5 = 120 > 97"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://etl@warehouse/dw", pool_size=100)  # expect: PS208


def main() -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")


if __name__ == "__main__":
    main()
""", path="etl/load.py", note="no deployment: one program (the script) whose own pool, "
         "100 + 10, exceeds PostgreSQL's default 97 by itself"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)  # expect: PS208
""", path="shop/db.py", files={
        "shop/__init__.py": "",
        "shop/web.py": "from flask import Flask\nfrom shop import db\n\napp = Flask(__name__)\n",
        "docker-compose.yml": _COMPOSE_50.replace("app:app", "shop.web:app")},
         note="the entry module imports the pool's module: 2 x 4 x 15 = 120 > 47"),
    Case("""
from databases import Database

database = Database("postgresql://app@db/app", min_size=5, max_size=15)  # expect: PS208
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="encode/databases: its pool opens at connect(), max_size=15: 2 x 4 x 15 = 120 > 47"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=20, max_overflow=10)  # expect: PS208
""", path="src/web/app.py", files={"docker-compose.yml": _COMPOSE_UWSGI,
                                   "src/web/uwsgi.ini": _uwsgi_ini("4   # one per core")},
         note="uwsgi --ini: the file's `workers = 4` x (20 + 10) = 120 > 97; the entry is "
              "the `wsgi-file` under the `chdir`"),
]

VALID: list[Case] = [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=4, max_overflow=1)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50}, note="2 x 4 x (4 + 1) = 40 <= 47"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", note="no deployment in the repository: one process, 15 <= 97"),
    Case("""
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

engine = create_engine("postgresql://app@db/app", poolclass=NullPool)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="NullPool keeps no connections"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("sqlite:///app.db", pool_size=50)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50}, note="SQLite: no server"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@pgbouncer:6432/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"docker-compose.yml": """
services:
  web:
    image: app
    command: gunicorn -w 4 app:app
    deploy:
      replicas: 2
  pgbouncer:
    image: edoburu/pgbouncer
    environment:
      MAX_CLIENT_CONN: "500"
  db:
    image: postgres:16
    command: postgres -c max_connections=50
"""}, note="the pools talk to PgBouncer (500 clients), not to the database"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50.replace("max_connections=50",
                                                        "max_connections=500")},
         note="120 <= 497"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"docker-compose.yml": """
services:
  worker:
    image: app
    command: celery -A app worker
  db:
    image: postgres:16
    command: postgres -c max_connections=50
"""}, note="celery's concurrency is unknown (the CPU count): at least 15, not judged over"),
    Case("""
from sqlalchemy import create_engine

def test_engine():
    return create_engine("postgresql://app@db/app", pool_size=100)
""", path="tests/test_db.py", files={"docker-compose.yml": _COMPOSE_50},
         note="a test module's engine is not deployed"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"docker-compose.yml": "services: [unclosed\n"},
         note="malformed YAML is skipped: one process, 15 <= 97"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://demo@localhost/demo", pool_size=50)


if __name__ == "__main__":
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
""", path="examples/orders/app.py", files={"examples/billing/app.py": """
from sqlalchemy import create_engine

engine = create_engine("postgresql://demo@localhost/demo", pool_size=50)

if __name__ == "__main__":
    engine.connect().close()
"""}, note="a folder of examples: two programs of 60 each; no process opens both, so "
         "60 <= 97 each (before, 120 > 97 was reported at both)"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", path="tools/report.py", files={
        "web/__init__.py": "",
        "web/main.py": "from flask import Flask\n\napp = Flask(__name__)\n",
        "docker-compose.yml": _COMPOSE_50.replace("app:app", "web.main:app")},
         note="the web program never imports tools/report.py: its pool is in no deployed "
              "process's budget"),
    Case("""
import os
from sqlalchemy import create_engine

orders = create_engine(f"postgresql://app@{os.environ['ORDERS_HOST']}/orders", pool_size=50)
audit = create_engine(f"postgresql://app@{os.environ['AUDIT_HOST']}/audit", pool_size=50)

if __name__ == "__main__":
    orders.dispose()
""", path="sync.py", note="two pools whose servers are not known: they are not merged into "
         "one `PostgreSQL server` (60 + 60 > 97 was reported before)"),
    Case("""
import os
from sqlalchemy import create_engine

POOL = int(os.getenv("POOL_SIZE", "5"))
engine = create_engine("postgresql://app@db/app", pool_size=POOL, max_overflow=0)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50, ".env": "POOL_SIZE=20\n"},
         note="the web service has no `env_file:`: compose reads .env only to fill in the "
              "compose file, so the containers keep the default 5: 2 x 4 x 5 = 40 <= 47"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@postgres/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"k8s/api.yaml": """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: api
          image: registry/api:1
          command: ["gunicorn", "-w", "4", "app:app"]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: postgres
spec:
  template:
    spec:
      containers:
        - name: postgres
          image: postgres:16
          args: ["-c", "max_connections=300"]
"""}, note="the StatefulSet's args raise the limit: 3 x 4 x 15 = 180 <= 297"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=10, max_overflow=5)
""", path="app.py", files={"docker-compose.yml": """
services:
  web:
    image: app
    command: gunicorn -w 4 app:app
    deploy:
      replicas: 2
  db:
    image: bitnami/postgresql:16
    environment:
      POSTGRESQL_MAX_CONNECTIONS: "300"
"""}, note="the image's POSTGRESQL_MAX_CONNECTIONS: 120 <= 297"),
    Case("""
from databases import Database

database = Database("postgresql://app@db/app", min_size=1, max_size=5)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="encode/databases with max_size=5: 2 x 4 x 5 = 40 <= 47"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=20, max_overflow=10)
""", path="src/web/app.py", files={"docker-compose.yml": _COMPOSE_UWSGI,
                                   "src/web/uwsgi.ini": _uwsgi_ini("3")},
         note="the same with `workers = 3`: 90 <= 97 (the other section's 64 is not uwsgi's)"),
]

# A repository of services, each with a top-level package of the same name (`app`):
# `from app.db import engine` in one service's entry point means that service's own
# `app/db.py` (its directory is where the service runs), not every file of that name.
VALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://svc@db/shared", pool_size=50)
""", path="orders/app/db.py", files={
        "orders/app/__init__.py": "",
        "orders/app/main.py": ("from app.db import engine\n\n"
                               "if __name__ == \"__main__\":\n    engine.connect().close()\n"),
        "billing/app/__init__.py": "",
        "billing/app/db.py": ("from sqlalchemy import create_engine\n\n"
                              "engine = create_engine(\"postgresql://svc@db/shared\", "
                              "pool_size=50)\n"),
        "billing/app/main.py": ("from app.db import engine\n\n"
                                "if __name__ == \"__main__\":\n    engine.connect().close()\n"),
    }, note="two services of 60 each; each entry point opens its own service's pool "
            "(60 <= 97); before, both `app.db` files were counted into each program"),
]

INVALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://svc@db/shared", pool_size=100)  # expect: PS208
""", path="orders/app/db.py", files={
        "orders/app/__init__.py": "",
        "orders/app/main.py": ("from app.db import engine\n\n"
                               "if __name__ == \"__main__\":\n    engine.connect().close()\n"),
        "billing/app/__init__.py": "",
        "billing/app/db.py": ("from sqlalchemy import create_engine\n\n"
                              "engine = create_engine(\"postgresql://svc@db/shared\", "
                              "pool_size=5)\n"),
        "billing/app/main.py": ("from app.db import engine\n\n"
                                "if __name__ == \"__main__\":\n    engine.connect().close()\n"),
    }, note="the orders service's own pool: 110 > 97 in that one program"),
]

# A settings class that names its field `SQLALCHEMY_DATABASE_URI` (pydantic's
# `BaseSettings`) in a project with no Flask-SQLAlchemy, whose engines are its own
# `create_engine` calls: no Flask-SQLAlchemy engine reads the field, so it adds no pool
# (5 + 10) to any program's count (PS203's "configures nothing", `flask_config_use`).
VALID += [
    Case("""
from pydantic_settings import BaseSettings
from sqlalchemy.ext.asyncio import create_async_engine


class Settings(BaseSettings):
    SQLALCHEMY_DATABASE_URI: str = "postgresql+asyncpg://app@db/app"


settings = Settings()
engine = create_async_engine(settings.SQLALCHEMY_DATABASE_URI, pool_size=2, max_overflow=0)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="the engine's own pool: 2 x 4 x 2 = 16 <= 47; the settings field is no "
              "Flask-SQLAlchemy engine (before: 2 x 4 x (2 + 15) = 136)"),
]

INVALID += [
    Case("""
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    SQLALCHEMY_DATABASE_URI: str = "postgresql://app@db/app"  # expect: PS208


app = Flask(__name__)
app.config.from_object(Settings())
db = SQLAlchemy(app)
""", path="app.py", files={"docker-compose.yml": _COMPOSE_50},
         note="the same field loaded by a Flask-SQLAlchemy app: its engine, 2 x 4 x 15 = 120"),
]

# a maintenance script beside a deployed web program: compose runs the web program;
# the script is a program of its own, run by hand, judged alone
_WEB_DEPLOYED = {
    "web/__init__.py": "",
    "web/main.py": "from flask import Flask\n\napp = Flask(__name__)\n",
    "docker-compose.yml": """
services:
  web:
    build: .
    command: gunicorn -w 4 web.main:app
  db:
    image: postgres:16
""",
}
_SCRIPT = """
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", pool_size={size}, max_overflow=0){mark}


def main():
    with engine.begin() as conn:
        conn.execute(text("UPDATE orders SET archived = true WHERE shipped"))


if __name__ == "__main__":
    main()
"""
VALID += [
    Case(_SCRIPT.format(size=60, mark=""), path="tools/archive.py", files=_WEB_DEPLOYED,
         note="a script the deployment does not run is a program of its own: 60 <= 97 "
              "alone, and never added to the web program's budget"),
]
INVALID += [
    Case(_SCRIPT.format(size=120, mark="  # expect: PS208"), path="tools/archive.py",
         files=_WEB_DEPLOYED,
         note="the same script whose own pool, 120, exceeds PostgreSQL's default 97 alone "
              "(before, with a deployment, such a script was in no budget at all)"),
]

# Single-threaded worker processes: a Procfile of plain `python -m worker` process types
# whose code starts no thread, pool, event loop or server. Each process does its
# database work on its main thread, one checkout at a time, so it holds one connection
# of each pool (or the pool's minimum, which it opens at start), not the pool's maximum.
_QUEUES = ("orders", "emails", "images", "invoices", "search", "exports", "imports",
           "reports", "webhooks", "cleanup")
_WORKER_PROCFILE = "".join(f"work_{q}: python -m worker --queue {q}\n" for q in _QUEUES)
_WORKER = """
import sys
import time

from sqlalchemy import text

from db import engine


def main(queue):
    while True:
        with engine.begin() as conn:
            job = conn.execute(text("SELECT id FROM jobs WHERE queue = :q LIMIT 1"),
                               {{"q": queue}}).first()
        if job is None:
            time.sleep(1)
            continue
{body}

if __name__ == "__main__":
    main(sys.argv[-1])
"""
_ONE_JOB = """        with engine.begin() as conn:
            conn.execute(text("UPDATE jobs SET done = true WHERE id = :id"), {"id": job.id})
"""
_THREADED_JOB = """        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=8) as pool:
            pool.map(lambda part: run_part(job.id, part), range(8))


def run_part(job_id, part):
    with engine.begin() as conn:
        conn.execute(text("UPDATE parts SET done = true WHERE job = :j AND n = :n"),
                     {"j": job_id, "n": part})
"""
_ASYNC_JOB = """        import asyncio
        asyncio.run(run_parts(job.id))


async def run_parts(job_id):
    await asyncio.gather(*(asyncio.to_thread(run_part, job_id, n) for n in range(8)))


def run_part(job_id, part):
    with engine.begin() as conn:
        conn.execute(text("UPDATE parts SET done = true WHERE job = :j AND n = :n"),
                     {"j": job_id, "n": part})
"""
VALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10)
""", path="db.py", files={"Procfile": _WORKER_PROCFILE,
                          "worker.py": _WORKER.format(body=_ONE_JOB)},
         note="ten single-threaded worker process types: 10 x 1 (one thread; pool "
              "(5 + 10)) = 10 <= 97 (before: 10 x 15 = 150)"),
    Case("""
import os

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(2, 20, os.environ["DATABASE_URL"], host="db")
engine = pool
""", path="db.py", files={"Procfile": _WORKER_PROCFILE, "worker.py": _WORKER.format(
        body=_ONE_JOB).replace("from sqlalchemy import text\n", "text = str\n")},
         note="a psycopg2 pool opens its `minconn` (2) at start: 10 x 2 = 20 <= 97 (before: "
              "10 x 20 = 200)"),
]
INVALID += [
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10)  # expect: PS208
""", path="db.py", files={"Procfile": _WORKER_PROCFILE,
                          "worker.py": _WORKER.format(body=_THREADED_JOB)},
         note="the worker runs each job's parts on a thread pool: 10 x 15 = 150 > 97"),
    Case("""
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10)  # expect: PS208
""", path="db.py", files={"Procfile": _WORKER_PROCFILE,
                          "worker.py": _WORKER.format(body=_ASYNC_JOB)},
         note="the worker runs each job's parts on an event loop's threads: 10 x 15 = 150"),
    Case("""
import os

from psycopg2.pool import ThreadedConnectionPool

pool = ThreadedConnectionPool(12, 20, os.environ["DATABASE_URL"], host="db")  # expect: PS208
engine = pool
""", path="db.py", files={"Procfile": _WORKER_PROCFILE, "worker.py": _WORKER.format(
        body=_ONE_JOB).replace("from sqlalchemy import text\n", "text = str\n")},
         note="one thread, but the pool opens its `minconn` of 12 at start: 10 x 12 = 120"),
    Case("""
from flask import Flask
from sqlalchemy import create_engine

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10)  # expect: PS208
app = Flask(__name__)

if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
""", path="app.py", files={"Procfile": "".join(
        f"web_{q}: python app.py\n" for q in _QUEUES)},
         note="`python app.py` starts Flask's development server, one thread per request: "
              "10 x 15 = 150"),
]

# A Procfile beside a compose file: compose is the deployment read, and the Procfile's
# process types that compose does not run (a celery worker no compose service starts or
# imports) are programs of their own, judged alone (before, in no budget at all).
_COMPOSE_WEB_ONLY = {
    "web/__init__.py": "",
    "web/main.py": "from flask import Flask\n\napp = Flask(__name__)\n",
    "jobs/__init__.py": "",
    "docker-compose.yml": """
services:
  web:
    build: .
    command: gunicorn -w 4 web.main:app
  db:
    image: postgres:16
""",
    "Procfile": "web: gunicorn -w 4 web.main:app\nworker: celery -A jobs.tasks worker -c 2\n",
}
_TASKS = """
from celery import Celery
from sqlalchemy import create_engine

app = Celery("jobs")
engine = create_engine("postgresql://app@db/app", pool_size={size}, max_overflow=0){mark}
"""
INVALID += [
    Case(_TASKS.format(size=60, mark="  # expect: PS208"), path="jobs/tasks.py",
         files=_COMPOSE_WEB_ONLY,
         note="the Procfile's worker, which compose does not run: 2 processes x 60 = 120 > "
              "97 alone"),
]
VALID += [
    Case(_TASKS.format(size=30, mark=""), path="jobs/tasks.py", files=_COMPOSE_WEB_ONLY,
         note="the Procfile's worker alone: 2 x 30 = 60 <= 97"),
    Case(_TASKS.format(size=10, mark=""), path="jobs/tasks.py", files={
        **_COMPOSE_WEB_ONLY, "web/main.py": "from flask import Flask\n\nimport jobs.tasks\n\n"
                                            "app = Flask(__name__)\n",
        "Procfile": "web: gunicorn -w 4 web.main:app\nworker: celery -A jobs.tasks worker -c 8\n"},
         note="compose's web imports the worker's module: the worker is not a program of its "
              "own, and the two deployments are never added up (4 x 10 = 40; with the "
              "Procfile's 8 x 10 it would be 120)"),
]

# Helper prec76, round 34: a task queue's worker whose command runs one task at a time on
# one thread (Celery `--pool solo` or `--concurrency 1`, dramatiq `--threads 1`) holds one
# connection of each pool per process, when the code it runs (the app module, every
# module defining a Celery task, what they import) starts no thread, pool or event loop.
# The command says so, not a word in a name.
_CELERY_TASKS = """
from celery import Celery
from sqlalchemy import create_engine, text

app = Celery("jobs", include=["jobs.work"])
engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10){mark}
"""
_CELERY_WORK = """
from jobs.tasks import app, engine, text


@app.task
def mark_done(job_id):
{body}
"""
_ONE_TASK = """    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET done = true WHERE id = :id"), {"id": job_id})
"""
_THREADED_TASK = """    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(max_workers=8) as pool:
        pool.map(lambda part: run_part(job_id, part), range(8))


def run_part(job_id, part):
    with engine.begin() as conn:
        conn.execute(text("UPDATE parts SET done = true WHERE job = :j AND n = :n"),
                     {"j": job_id, "n": part})
"""


def _celery_files(options: str, body: str = _ONE_TASK) -> dict[str, str]:
    return {"jobs/__init__.py": "", "jobs/work.py": _CELERY_WORK.format(body=body),
            "Procfile": "".join(f"work_{q}: celery -A jobs.tasks worker {options} -Q {q}\n"
                                for q in _QUEUES)}


_DRAMATIQ_ACTORS = """
import dramatiq
from sqlalchemy import create_engine, text

engine = create_engine("postgresql://app@db/app", pool_size=5, max_overflow=10){mark}


@dramatiq.actor
def mark_done(job_id):
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET done = true WHERE id = :id"), {{"id": job_id}})
"""


def _dramatiq_files(options: str) -> dict[str, str]:
    return {"jobs/__init__.py": "",
            "Procfile": "".join(f"work_{q}: dramatiq jobs.actors {options} --queues {q}\n"
                                for q in _QUEUES)}


VALID += [
    Case(_CELERY_TASKS.format(mark=""), path="jobs/tasks.py",
         files=_celery_files("--pool solo"),
         note="ten Celery `--pool solo` worker types: 10 x 1 (one thread; pool (5 + 10)) = "
              "10 <= 97 (before: 10 x 15 = 150)"),
    Case(_CELERY_TASKS.format(mark=""), path="jobs/tasks.py",
         files=_celery_files("-P prefork --concurrency=1"),
         note="one prefork child per worker (`--concurrency=1`): 10 x 1 = 10"),
    Case(_DRAMATIQ_ACTORS.format(mark=""), path="jobs/actors.py",
         files=_dramatiq_files("--processes 1 --threads 1"),
         note="dramatiq with one process of one worker thread: 10 x 1 = 10"),
]
INVALID += [
    Case(_CELERY_TASKS.format(mark="  # expect: PS208"), path="jobs/tasks.py",
         files=_celery_files("--pool solo", _THREADED_TASK),
         note="look-alike: `--pool solo`, but a task (in a module the app module does not "
              "import) runs its parts on a thread pool: 10 x 15 = 150 > 97"),
    Case(_CELERY_TASKS.format(mark="  # expect: PS208"), path="jobs/tasks.py",
         files=_celery_files("--pool threads --concurrency 8"),
         note="look-alike: eight task threads in one process: 10 x 15 = 150"),
    Case(_CELERY_TASKS.format(mark="  # expect: PS208"), path="jobs/tasks.py",
         files=_celery_files("--pool gevent --concurrency 1"),
         note="look-alike: a gevent pool (green threads), whatever its count: 10 x 15 = 150"),
    Case(_DRAMATIQ_ACTORS.format(mark="  # expect: PS208"), path="jobs/actors.py",
         files=_dramatiq_files("--processes 1 --threads 8"),
         note="look-alike: eight worker threads per dramatiq process: 10 x 15 = 150"),
]
