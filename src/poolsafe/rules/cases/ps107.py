"""PS107 django-connection-outside-request: INVALID cases mark the first database work."""

from poolsafe.rules.base import Case

_MODELS = """\
from django.db import models


class Order(models.Model):
    total = models.IntegerField()
    paid = models.BooleanField(default=False)


class Invoice(Order):
    number = models.CharField(max_length=20)
"""

_FILES = {"models.py": _MODELS}

INVALID: list[Case] = [
    Case("""
import threading

from models import Order


def mark_paid(order_id):
    Order.objects.filter(id=order_id).update(paid=True)  # expect: PS107


def on_payment(order_id):
    threading.Thread(target=mark_paid, args=(order_id,)).start()
""", files=_FILES, note="a thread target that never closes its connection"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from models import Order

executor = ThreadPoolExecutor(max_workers=4)


def recompute(order_id):
    order = Order.objects.get(id=order_id)  # expect: PS107
    order.total = sum(line.amount for line in order.lines.all())
    order.save()


def schedule(order_ids):
    for order_id in order_ids:
        executor.submit(recompute, order_id)
""", files=_FILES, note="an executor's worker thread keeps the connection for good"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.db import connection
from models import Order


def recompute(order_id):
    order = Order.objects.get(id=order_id)  # expect: PS107
    order.save()
    connection.close()


def schedule(order_ids):
    with ThreadPoolExecutor(max_workers=4) as pool:
        for order_id in order_ids:
            pool.submit(recompute, order_id)
""", files=_FILES, note="closed only when the task succeeds: the worker outlives it"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from models import Invoice


def render(invoice_id):
    return Invoice.objects.get(id=invoice_id).number  # expect: PS107


def render_all(ids):
    with ThreadPoolExecutor() as pool:
        return list(pool.map(render, ids))
""", files=_FILES, note="executor.map over a model subclass's manager"),
    Case("""
import threading

from django.db import connection


def vacuum():
    with connection.cursor() as cursor:  # expect: PS107
        cursor.execute("VACUUM ANALYZE")


threading.Timer(3600, vacuum).start()
""", note="a Timer function with a raw cursor"),
    Case("""
from asgiref.sync import sync_to_async

from models import Order


@sync_to_async(thread_sensitive=False)
def unpaid_count():
    return Order.objects.filter(paid=False).count()  # expect: PS107
""", files=_FILES, note="sync_to_async(thread_sensitive=False) runs on a pool thread"),
    Case("""
from asgiref.sync import sync_to_async

from models import Order


def unpaid():
    return list(Order.objects.filter(paid=False))  # expect: PS107


async def dashboard(request):
    rows = await sync_to_async(unpaid, thread_sensitive=False)()
    return rows
""", files=_FILES, note="sync_to_async(f, thread_sensitive=False) called"),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler

from models import Order

scheduler = BackgroundScheduler()


def expire_orders():
    Order.objects.filter(paid=False).delete()  # expect: PS107


scheduler.add_job(expire_orders, "interval", minutes=5)
scheduler.start()
""", files=_FILES, note="an APScheduler job without close_old_connections"),
    Case("""
import time

from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    help = "Poll for paid orders"

    def handle(self, *args, **options):
        while True:
            for order in Order.objects.filter(paid=True):  # expect: PS107
                self.stdout.write(str(order.pk))
            time.sleep(10)
""", files=_FILES, note="a polling loop in a management command"),
    Case("""
import threading

from models import Order


def total_paid():
    return sum(o.total for o in Order.objects.filter(paid=True))


def report():
    print(total_paid())  # expect: PS107


def start():
    threading.Thread(target=report, daemon=True).start()
""", files=_FILES, note="the database work is in a function the thread target calls"),
    Case("""
from apscheduler.schedulers.blocking import BlockingScheduler

from models import Order

scheduler = BlockingScheduler()


@scheduler.scheduled_job("cron", hour=3)
def nightly():
    Order.objects.filter(paid=False).update(total=0)  # expect: PS107


scheduler.start()
""", files=_FILES, note="@scheduled_job without close_old_connections"),
]

INVALID += [
    Case("""
from models import Order
from sched import scheduler


def expire_orders():
    Order.objects.filter(paid=False).delete()  # expect: PS107


scheduler.add_job(expire_orders, "interval", minutes=5)
""", files={**_FILES, "sched.py": """\
from apscheduler.schedulers.background import BackgroundScheduler

scheduler = BackgroundScheduler()
scheduler.start()
"""}, note="the scheduler is built in another module"),
    Case("""
import time

from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    def handle(self, *args, **options):
        while not self.stopped():
            self.drain()  # expect: PS107
            time.sleep(1)

    def stopped(self):
        return False

    def drain(self):
        transaction.commit()
""", note="the loop's work is a method of the command that commits"),
]

INVALID.append(Case("""
import threading

from models import Order


class Worker(threading.Thread):
    pass


def drain():
    Order.objects.filter(paid=True).delete()  # expect: PS107


Worker(target=drain).start()
""", files=_FILES, note="a project subclass of Thread"))

VALID: list[Case] = [
    Case("""
import threading

from django.db import connection
from models import Order


def mark_paid(order_id):
    Order.objects.filter(id=order_id).update(paid=True)
    connection.close()


threading.Thread(target=mark_paid, args=(1,)).start()
""", files=_FILES, note="a thread that ends after closing (an exception ends it too)"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from models import Order

executor = ThreadPoolExecutor(max_workers=4)


def recompute(order_id):
    try:
        Order.objects.get(id=order_id).save()
    finally:
        close_old_connections()


def schedule(order_ids):
    for order_id in order_ids:
        executor.submit(recompute, order_id)
""", files=_FILES, note="closed in finally"),
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler
from django_apscheduler import util

from models import Order

scheduler = BackgroundScheduler()


@util.close_old_connections
def expire_orders():
    Order.objects.filter(paid=False).delete()


scheduler.add_job(expire_orders, "interval", minutes=5)
""", files=_FILES, note="django-apscheduler's decorator closes around the job"),
    Case("""
from django.http import JsonResponse
from models import Order


def unpaid(request):
    return JsonResponse({"n": Order.objects.filter(paid=False).count()})
""", files=_FILES, note="a view: Django closes the connection at the end of the request"),
    Case("""
from asgiref.sync import sync_to_async

from models import Order


@sync_to_async
def unpaid_count():
    return Order.objects.filter(paid=False).count()
""", files=_FILES, note="thread_sensitive=True (the default) runs on the main thread"),
    Case("""
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            close_old_connections()
            for order in Order.objects.filter(paid=True):
                self.stdout.write(str(order.pk))
            time.sleep(10)
""", files=_FILES, note="the loop closes stale connections each iteration"),
    Case("""
import threading

from django.db import connections
from models import Order


def warm_cache():
    try:
        list(Order.objects.all()[:100])
    finally:
        connections.close_all()


threading.Thread(target=warm_cache).start()
""", files=_FILES, note="connections.close_all() in finally"),
    Case("""
import threading


def ping(host):
    import socket
    socket.create_connection((host, 80)).close()


threading.Thread(target=ping, args=("example.org",)).start()
""", note="a thread without database work"),
    Case("""
from celery import shared_task

from models import Order


@shared_task
def expire_orders():
    Order.objects.filter(paid=False).delete()
""", files=_FILES, note="Celery's Django integration closes connections around tasks"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from models import Order


def closing(func):
    def run(*args):
        try:
            return func(*args)
        finally:
            close_old_connections()
    return run


@closing
def recompute(order_id):
    Order.objects.get(id=order_id).save()


with ThreadPoolExecutor() as pool:
    pool.submit(recompute, 1)
""", files=_FILES, note="a project decorator that closes"),
    Case("""
import threading


class Order:
    objects = []


def count():
    return len(Order.objects)


threading.Thread(target=count).start()
""", note="`objects` on a class that is no Django model"),
]

# the job is registered in one module (a thread word, no query) and defined in another
# (queries, no thread word): neither module is selected by its own words
_SCHEDULER = """\
from apscheduler.schedulers.background import BackgroundScheduler

scheduler = BackgroundScheduler()
scheduler.start()
"""

INVALID.append(Case("""
from models import Order


def expire_order(order_id):
    Order.objects.filter(id=order_id, paid=False).delete()  # expect: PS107
""", files={**_FILES, "sched.py": _SCHEDULER, "receivers.py": """\
from jobs import expire_order
from sched import scheduler


def on_order_created(order_id):
    scheduler.add_job(expire_order, "date", args=[order_id])
"""}, path="jobs.py", note="a job registered in another module than the one defining it"))

VALID.append(Case("""
from models import Order


def expire_order(order_id):
    Order.objects.filter(id=order_id, paid=False).delete()
""", files={**_FILES, "receivers.py": """\
from jobs import expire_order


def on_order_created(order_id):
    expire_order(order_id)
"""}, path="jobs.py", note="the function is imported and called on the request's thread"))
VALID.append(Case("""
import threading

from models import Order


def mark_paid(order_id):
    Order.objects.filter(id=order_id).update(paid=True)


def test_payment_marks_the_order_paid():
    worker = threading.Thread(target=mark_paid, args=(1,))
    worker.start()
    worker.join()
""", path="tests/test_payments.py", files={"models.py": "from django.db import models\n\n\n"
                                                       "class Order(models.Model):\n"
                                                       "    paid = models.BooleanField()\n"},
    note="a test's thread: its connection goes with the test run, not a production "
         "worker (test modules are not reported)"))
VALID.append(Case("""
from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        total = Order.objects.filter(paid=False).count()
        done = 0
        while done < total:
            ids = list(Order.objects.filter(paid=False).values_list("id", flat=True)[:500])
            if not ids:
                break
            done += Order.objects.filter(id__in=ids).delete()[0]
        while True:
            answer = input("Purge archived orders too? ")
            if answer in ("yes", "no"):
                break
""", files=_FILES, note="finite loops of a one-shot management command (a batch loop "
                       "that ends, an interactive prompt): the command's one run ends and "
                       "its process closes the connection"))
INVALID.append(Case("""
import time

from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            stale = Order.objects.filter(paid=False).count()  # expect: PS107
            if options["once"] or not stale:
                break
            time.sleep(30)
""", files=_FILES, note="a polling loop with a way out is still the long-running process: "
                       "it waits between rounds"))

# thread and executor targets that are bound methods (`obj.method`): the object is a
# project instance the index knows, a parameter annotated with a project class, a model
# signal receiver's `instance` (its `sender=` model), or a row a manager lookup returns;
# the method may be inherited. A model instance's `save()` / `delete()` is a query.
_REMINDERS = """\
from django.db import models


class Reminder(models.Model):
    sent = models.BooleanField(default=False)

    def deliver(self):
        self.sent = True
        self.save()

    def pending_count(self):
        return Reminder.objects.filter(sent=False).count()

    def deliver_and_close(self):
        from django.db import close_old_connections
        try:
            self.sent = True
            self.save()
        finally:
            close_old_connections()
"""


def _reminders(marked: str) -> str:
    """The models module with the query of `marked` (a method) expected."""
    line = ("        self.save()\n" if marked == "deliver" else
            "        return Reminder.objects.filter(sent=False).count()\n")
    head, _, tail = _REMINDERS.partition(f"    def {marked}(self):\n")
    return head + f"    def {marked}(self):\n" + tail.replace(
        line, line[:-1] + "  # expect: PS107\n", 1)


INVALID += [
    Case(_reminders("deliver"), files={"signals.py": """\
import threading

from django.db.models.signals import post_save
from django.dispatch import receiver

from reminders import Reminder


@receiver(post_save, sender=Reminder)
def deliver_later(sender, instance, created, **kwargs):
    if created:
        threading.Thread(target=instance.deliver).start()
"""}, path="reminders.py", note="a thread on a method of a model signal receiver's "
                                "`instance` (the `sender=` model), which saves it"),
    Case(_reminders("pending_count"), files={"starter.py": """\
import threading

from reminders import Reminder


def start(reminder_id):
    reminder = Reminder(id=reminder_id)
    threading.Thread(target=reminder.pending_count).start()
"""}, path="reminders.py", note="a method of a project instance, started from a module "
                                "that spells no query word"),
    Case(_reminders("deliver"), files={"starter.py": """\
from concurrent.futures import ThreadPoolExecutor

from reminders import Reminder

pool = ThreadPoolExecutor(max_workers=2)


def queue(reminder: Reminder):
    pool.submit(reminder.deliver)
"""}, path="reminders.py", note="a method of a parameter annotated with the model, on an "
                                "executor"),
    Case(_reminders("deliver"), files={"starter.py": """\
import threading

from reminders import Reminder


def start(reminder_id):
    reminder = Reminder.objects.get(pk=reminder_id)
    threading.Thread(target=reminder.deliver, daemon=True).start()
"""}, path="reminders.py", note="a method of the row a manager lookup returns"),
    Case("""
import threading

from reminders import Reminder


class Sweeper:
    def sweep(self):
        Reminder.objects.filter(sent=True).delete()  # expect: PS107


class NightlySweeper(Sweeper):
    def start(self):
        threading.Thread(target=self.sweep).start()
""", files={"reminders.py": _REMINDERS}, note="a method inherited from a project base"),
]

VALID += [
    Case(_REMINDERS, files={"signals.py": """\
import threading

from django.db.models.signals import post_save
from django.dispatch import receiver

from reminders import Reminder


@receiver(post_save, sender=Reminder)
def deliver_later(sender, instance, **kwargs):
    threading.Thread(target=instance.deliver_and_close).start()
"""}, path="reminders.py", note="the receiver's thread runs a method that closes in "
                                "`finally`"),
    Case(_REMINDERS, files={"signals.py": """\
from django.db.models.signals import post_save
from django.dispatch import receiver

from reminders import Reminder


@receiver(post_save, sender=Reminder)
def deliver_now(sender, instance, **kwargs):
    instance.deliver()
"""}, path="reminders.py", note="the receiver calls the method on the saving thread"),
    Case("""
import threading


class Thumbnail:
    def __init__(self, image):
        self.image = image

    def render(self):
        self.image.save("/tmp/thumb.png")


def start(image):
    threading.Thread(target=Thumbnail(image).render).start()
""", note="`save()` with a path, on an object that is no Django model"),
    Case(_REMINDERS, files={"starter.py": """\
import threading

from reminders import Reminder


def start(notifier, reminder: Reminder):
    threading.Thread(target=notifier.deliver).start()
"""}, path="reminders.py", note="a method of the same name on an object the index does "
                                "not know"),
]

# `call_command("name")` runs the project command's `handle()` where it is called: on a
# thread, that command's queries open the thread's connection
_SYNC_COMMAND = """\
from django.core.management.base import BaseCommand

from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        Order.objects.filter(paid=False).update(total=0)
"""
_QUIET_COMMAND = """\
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args, **options):
        self.stdout.write("nothing to do")
"""

INVALID.append(Case("""
import threading

from django.core.management import call_command


def run_sync():
    call_command("sync_orders")  # expect: PS107


threading.Thread(target=run_sync, daemon=True).start()
""", files={**_FILES, "shop/management/commands/sync_orders.py": _SYNC_COMMAND},
    note="a thread that runs a project management command whose handle() queries"))
VALID += [
    Case("""
import threading

from django.core.management import call_command
from django.db import close_old_connections


def run_sync():
    try:
        call_command("sync_orders")
    finally:
        close_old_connections()


threading.Thread(target=run_sync, daemon=True).start()
""", files={**_FILES, "shop/management/commands/sync_orders.py": _SYNC_COMMAND},
        note="the thread closes after the command"),
    Case("""
import threading

from django.core.management import call_command


def run_quiet():
    call_command("quiet")


threading.Thread(target=run_quiet, daemon=True).start()
""", files={"shop/management/commands/quiet.py": _QUIET_COMMAND},
        note="the command does no database work"),
]

# a related manager (`shelf.books.filter(...)`, `books` a ManyToManyField or a
# relation's related_name on a project model) runs queries like `Book.objects`
_CATALOG = """\
from django.db import models


class Shelf(models.Model):
    label = models.CharField(max_length=20)


class Book(models.Model):
    stock = models.IntegerField()
    shelves = models.ManyToManyField(Shelf, related_name="{name}")
"""

INVALID.append(Case("""
from concurrent.futures import ThreadPoolExecutor

from catalog import Shelf


def restock(shelf):
    missing = list(shelf.books.filter(stock=0))  # expect: PS107
    return len(missing)


def restock_all():
    with ThreadPoolExecutor(max_workers=2) as pool:
        for shelf in Shelf.objects.all():
            pool.submit(restock, shelf)
""", files={"catalog.py": _CATALOG.format(name="books")},
    note="a related manager's query in an executor task (the row is a parameter)"))
VALID.append(Case("""
from concurrent.futures import ThreadPoolExecutor

from catalog import Shelf


def restock(payload):
    missing = list(payload.books.filter(stock=0))
    return len(missing)


def restock_all(payloads):
    with ThreadPoolExecutor(max_workers=2) as pool:
        for payload in payloads:
            pool.submit(restock, payload)
    return Shelf
""", files={"catalog.py": _CATALOG.format(name="volumes")},
    note="`books` names no relation of a project model"))

# a project subclass of `threading.Thread`: its `run()` is the thread's body
INVALID.append(Case("""
import threading

from models import Order


class ExpireOrders(threading.Thread):
    def __init__(self, days):
        super().__init__(daemon=True)
        self.days = days

    def run(self):
        Order.objects.filter(paid=False).delete()  # expect: PS107


def start():
    ExpireOrders(days=3).start()
""", files=_FILES, note="the run() of a Thread subclass"))
VALID += [
    Case("""
import threading

from django.db import close_old_connections
from models import Order


class ExpireOrders(threading.Thread):
    def run(self):
        try:
            Order.objects.filter(paid=False).delete()
        finally:
            close_old_connections()
""", files=_FILES, note="a Thread subclass whose run() closes"),
    Case("""
import threading

from django.core.mail import send_mail


class MailThread(threading.Thread):
    def __init__(self, subject, body, to):
        super().__init__()
        self.subject, self.body, self.to = subject, body, to

    def run(self):
        send_mail(self.subject, self.body, None, self.to)
""", note="a Thread subclass that only sends mail"),
]

# the thread pools of `multiprocessing`: `multiprocessing.dummy.Pool` and
# `multiprocessing.pool.ThreadPool` run each task on one of their worker threads, which
# keep the connection the task opened, like `ThreadPoolExecutor`'s
INVALID += [
    Case("""
import multiprocessing.dummy as mp

from models import Order


def settle(order_id):
    Order.objects.filter(id=order_id).update(paid=True)  # expect: PS107


def settle_all(order_ids):
    pool = mp.Pool(20)
    pool.map(settle, order_ids)
    pool.close()
    pool.join()
""", files=_FILES, note="multiprocessing.dummy's Pool is a pool of threads: 20 workers, "
                        "20 connections never closed"),
    Case("""
from multiprocessing.pool import ThreadPool

from models import Order


def total(order_id):
    return Order.objects.get(id=order_id).total  # expect: PS107


def totals(order_ids):
    with ThreadPool(8) as pool:
        return list(pool.imap_unordered(total, order_ids))
""", files=_FILES, note="multiprocessing.pool.ThreadPool, bound by `with`"),
]
VALID += [
    Case("""
from multiprocessing.pool import ThreadPool

from django.db import connection
from models import Order


def total(order_id):
    try:
        return Order.objects.get(id=order_id).total
    finally:
        connection.close()


def totals(order_ids):
    with ThreadPool(8) as pool:
        return pool.map(total, order_ids)
""", files=_FILES, note="the task closes its thread's connection in finally"),
    Case("""
from multiprocessing import Pool

from models import Order


def total(order_id):
    return Order.objects.get(id=order_id).total


def totals(order_ids):
    with Pool(4) as pool:
        return pool.map(total, order_ids)
""", files=_FILES, note="a process pool: each worker is a process of its own, "
                        "not a thread of this one (not this rule's class)"),
]

# `call_command` itself as the thread's target: the command named by the thread's
# arguments runs its `handle()` on the new thread; the name may be a parameter of the
# function that starts the thread, given as a literal by its callers. Reported where
# the thread starts (no project function of the thread can close)
INVALID += [
    Case("""
import threading

from django.core import management


def run_in_background(command, options=None):
    thread = threading.Thread(  # expect: PS107
        target=management.call_command, args=[command], kwargs=options or {})
    thread.start()


def rebuild(request):
    run_in_background("sync_orders")
""", files={**_FILES, "shop/management/commands/sync_orders.py": _SYNC_COMMAND},
        note="the callers name a command whose handle() queries"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.core.management import call_command

executor = ThreadPoolExecutor(max_workers=2)


def nightly():
    executor.submit(call_command, "sync_orders")  # expect: PS107
""", files={**_FILES, "shop/management/commands/sync_orders.py": _SYNC_COMMAND},
        note="an executor task that is call_command with a literal command name"),
]
VALID += [
    Case("""
import threading

from django.core import management


def run_in_background(command):
    threading.Thread(target=management.call_command, args=[command]).start()


def tidy(request):
    run_in_background("quiet")
""", files={"shop/management/commands/quiet.py": _QUIET_COMMAND},
        note="the only command its callers name does no database work"),
]

# Callbacks a library runs for the life of the process, outside the request cycle:
# paho-mqtt's client callbacks (run by `loop_forever()` in a long-running command or
# on `loop_start()`'s thread), `schedule` jobs (run wherever `run_pending()` loops),
# `background.task` functions (run on the package's thread pool). Each keeps its
# thread's connection between its runs; a call_command() of a command the project does
# not define that uses the database (Django's `dumpdata`, django-archive's `archive`)
# is database work
_MQTT_COMMAND = """\
from django.core.management.base import BaseCommand

from readings import client


class Command(BaseCommand):
    def handle(self, *args, **options):
        client.loop_forever()
"""
_ARCHIVE_COMMAND = """\
import shutil

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    def handle(self, *args, **options):
        shutil.make_archive("/backups/media", "zip", "/srv/media")
"""
INVALID += [
    Case("""
import json

import paho.mqtt.client as mqtt

from models import Order


def on_message(client, userdata, message):
    data = json.loads(message.payload)
    Order.objects.create(total=data["total"])  # expect: PS107


client = mqtt.Client()
client.on_message = on_message
client.connect("broker", 1883)
""", files={**_FILES, "shop/management/commands/listen.py": _MQTT_COMMAND},
        path="readings.py",
        note="a paho callback run by loop_forever() in a long-running command"),
    Case("""
import paho.mqtt.client as mqtt
from django.core.management.base import BaseCommand

from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        client = mqtt.Client()

        def on_message(client, userdata, message):
            Order.objects.filter(id=int(message.payload)).update(paid=True)  # expect: PS107

        client.on_message = on_message
        client.connect("broker", 1883)
        client.loop_forever()
""", files=_FILES, note="a paho callback defined inside the command's handle()"),
    Case("""
from paho.mqtt import client as mqtt_client

from models import Order


def on_refund(client, userdata, message):
    Order.objects.filter(id=int(message.payload)).delete()  # expect: PS107


def start():
    client = mqtt_client.Client()
    client.message_callback_add("orders/refunds", on_refund)
    client.connect("broker", 1883)
    client.loop_start()
""", files=_FILES, note="message_callback_add: the callback runs on loop_start()'s thread"),
    Case("""
import time

import schedule
from django.core.management.base import BaseCommand

from models import Order


def flag_unpaid():
    Order.objects.filter(paid=False).update(total=0)  # expect: PS107


class Command(BaseCommand):
    def handle(self, *args, **options):
        schedule.every(5).minutes.do(flag_unpaid)
        while True:
            schedule.run_pending()
            time.sleep(1)
""", files=_FILES, note="a `schedule` job run by the command's polling loop"),
    Case("""
import threading
import time

from django.core.management import call_command
from schedule import Scheduler


def nightly_dump():
    call_command("dumpdata", output="/backups/db.json")  # expect: PS107


def start_scheduler():
    scheduler = Scheduler()
    scheduler.every().day.at("02:00").do(nightly_dump)

    def loop():
        while True:
            scheduler.run_pending()
            time.sleep(30)

    threading.Thread(target=loop, daemon=True).start()
""", note="a Scheduler's job on a thread, running Django's dumpdata (database work)"),
    Case("""
import background

from models import Order


@background.task
def settle(order_id):
    order = Order.objects.get(id=order_id)  # expect: PS107
    order.paid = True
    order.save()
""", files=_FILES, note="a background.task runs on the package's thread pool"),
]
VALID += [
    Case("""
import paho.mqtt.client as mqtt
from django.db import close_old_connections

from models import Order


def on_message(client, userdata, message):
    close_old_connections()
    Order.objects.create(total=int(message.payload))


client = mqtt.Client()
client.on_message = on_message
""", files=_FILES, path="readings.py",
        note="look-alike: the callback closes stale connections on each message"),
    Case("""
import paho.mqtt.client as mqtt


def on_connect(client, userdata, flags, rc):
    client.subscribe("orders/#")


client = mqtt.Client()
client.on_connect = on_connect
""", files=_FILES, path="readings.py",
        note="look-alike: a paho callback without database work"),
    Case("""
from models import Order


class Bus:
    on_message = None


def on_message(message):
    Order.objects.create(total=int(message))


bus = Bus()
bus.on_message = on_message
""", files=_FILES, note="look-alike: an `on_message` attribute of a project class, "
                        "called in the request's own thread"),
    Case("""
import time

import schedule
from django.db import close_old_connections
from django.core.management.base import BaseCommand

from models import Order


def flag_unpaid():
    close_old_connections()
    Order.objects.filter(paid=False).update(total=0)


class Command(BaseCommand):
    def handle(self, *args, **options):
        schedule.every(5).minutes.do(flag_unpaid)
        while True:
            schedule.run_pending()
            time.sleep(1)
""", files=_FILES, note="look-alike: the job closes stale connections on each run"),
    Case("""
import threading
import time

from django.core.management import call_command
from schedule import Scheduler


def nightly_static():
    call_command("collectstatic", interactive=False)


def start_scheduler():
    scheduler = Scheduler()
    scheduler.every().day.at("02:00").do(nightly_static)
    threading.Thread(target=lambda: (scheduler.run_pending(), time.sleep(30))).start()
""", note="look-alike: Django's collectstatic copies files and uses no database"),
    Case("""
import schedule
from django.core.management import call_command


def nightly():
    call_command("archive")


schedule.every().day.do(nightly)
""", files={"shop/management/commands/archive.py": _ARCHIVE_COMMAND},
        note="look-alike: the project's own `archive` command (zips files) is read, "
             "not the backup package's"),
    Case("""
import background
from django.db import close_old_connections

from models import Order


@background.task
def settle(order_id):
    try:
        order = Order.objects.get(id=order_id)
        order.paid = True
        order.save()
    finally:
        close_old_connections()
""", files=_FILES, note="look-alike: the task closes in a finally"),
]

#: django-constance with its database backend: every `config.<NAME>` read is a query
_CONSTANCE_SETTINGS = """\
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "plugs"}}
INSTALLED_APPS = ["constance", "plugs"]
CONSTANCE_BACKEND = "constance.backends.database.DatabaseBackend"
CONSTANCE_CONFIG = {"PLUG_ON": (False, "whether the plug is switched on")}
"""
_PLUG = """
import threading
import time

from constance import config


def watch_plug(publish):
    while True:
        publish(config.PLUG_ON){expect}
        time.sleep(5)


def start(publish):
    threading.Thread(target=watch_plug, args=(publish,), daemon=True).start()
"""

INVALID.append(Case(_PLUG.replace("{expect}", "  # expect: PS107"),
                    files={"plugs/settings.py": _CONSTANCE_SETTINGS},
                    note="a thread that reads django-constance settings from the database "
                         "backend and never closes its connection"))

VALID += [
    Case(_PLUG.replace("{expect}", ""), files={"plugs/settings.py": _CONSTANCE_SETTINGS.replace(
        "constance.backends.database.DatabaseBackend", "constance.backends.redisd.RedisBackend")},
        note="look-alike: django-constance on its Redis backend reads no database"),
    Case("""
import threading
import time

from constance import config
from django.db import close_old_connections


def watch_plug(publish):
    while True:
        try:
            publish(config.PLUG_ON)
        finally:
            close_old_connections()
        time.sleep(5)


def start(publish):
    threading.Thread(target=watch_plug, args=(publish,), daemon=True).start()
""", files={"plugs/settings.py": _CONSTANCE_SETTINGS},
        note="look-alike: the database-backed read, closed after each iteration"),
]

INVALID.append(Case("""
import background
import paho.mqtt.client as mqtt

from models import Order


@background.task
def settle_all():
    for order in Order.objects.filter(paid=False):  # expect: PS107
        order.paid = True
        order.save()


def on_connect(client, userdata, flags, rc):
    client.subscribe("orders")
    settle_all()


client = mqtt.Client()
client.on_connect = on_connect
""", files=_FILES, note="the task leaks, not the callback that calls it: calling a "
                        "`background.task` submits it to the package's pool"))
# round 11 (issue 31): a management command's paging or batch loop whose test reads a
# name the body sets ends with the command's one run, even when it sleeps between
# batches to spare the server; a loop the body does not end stays the long-running
# process
VALID += [
    Case("""
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        last = Order.objects.order_by("-id").values_list("id", flat=True).first() or 0
        current = 0
        while current < last:
            end = min(current + options["chunk"], last)
            with transaction.atomic():
                Order.objects.filter(id__gte=current, id__lte=end).update(paid=False)
            time.sleep(options["wait"])
            current = end + 1
""", files=_FILES, note="a throttled batch loop: the body advances the counter its test "
                       "reads, so the command ends after the last batch"),
    Case("""
from django.core.management.base import BaseCommand
from models import Order

import billing


class Command(BaseCommand):
    def handle(self, *args, **options):
        has_more = True
        after = None
        while has_more:
            page = billing.list_charges(after=after)
            has_more = page.has_more
            for charge in page.items:
                after = charge.id
                Order.objects.get_or_create(id=charge.order_id)
""", files=_FILES, note="paging through a finite remote list: the page says when it is "
                       "the last one"),
]
INVALID += [
    Case("""
import signal
import time

from django.core.management.base import BaseCommand
from models import Order

running = True


def stop(signum, frame):
    global running
    running = False


class Command(BaseCommand):
    def handle(self, *args, **options):
        signal.signal(signal.SIGTERM, stop)
        while running:
            Order.objects.filter(paid=False).delete()  # expect: PS107
            time.sleep(60)
""", files=_FILES, note="only a signal ends the loop (its body never sets `running`): "
                       "the long-running process"),
    Case("""
from django.core.management.base import BaseCommand
from models import Order

import broker


class Command(BaseCommand):
    def handle(self, *args, **options):
        message = broker.get_message()
        while message:
            Order.objects.filter(id=message.order_id).update(paid=True)  # expect: PS107
            message = broker.get_message()
""", files=_FILES, note="a consumer that waits for the next message: its body sets the "
                       "test's name, but from a queue that does not run dry"),
]

# pyTelegramBotAPI (`telebot`): a `TeleBot` runs its handlers for the life of the process
# (on its worker threads by default, or on the polling thread with `threaded=False`);
# a handler's ORM work keeps that thread's connection for good.
_TELEBOT = """\
import telebot

bot = telebot.TeleBot("token")
"""

INVALID += [
    Case("""
import telebot

from models import Order

bot = telebot.TeleBot("token")


@bot.message_handler(commands=["paid"])
def mark_paid(message):
    Order.objects.filter(id=int(message.text)).update(paid=True)  # expect: PS107
    bot.reply_to(message, "done")
""", files=_FILES, note="a TeleBot message handler runs on the bot's worker threads"),
    Case("""
from telebot import TeleBot

from models import Order

bot = TeleBot("token", threaded=False)


def show_total(call):
    order = Order.objects.get(id=int(call.data))  # expect: PS107
    bot.answer_callback_query(call.id, str(order.total))


bot.register_callback_query_handler(show_total, func=lambda call: True)
""", files=_FILES, note="registered by method; without threads it runs in the polling "
                       "loop, which runs for the life of the process"),
    Case("""
from bot import bot
from models import Order


@bot.callback_query_handler(func=lambda call: True)
def cancel(call):
    try:
        Order.objects.filter(id=int(call.data)).delete()  # expect: PS107
    except ValueError:
        return
    bot.answer_callback_query(call.id, "cancelled")
""", files={**_FILES, "bot.py": _TELEBOT},
         note="the bot built in another module; no close"),
]

VALID += [
    Case("""
import telebot
from django.db import close_old_connections

from models import Order

bot = telebot.TeleBot("token")


@bot.message_handler(commands=["paid"])
def mark_paid(message):
    try:
        Order.objects.filter(id=int(message.text)).update(paid=True)
    finally:
        close_old_connections()
    bot.reply_to(message, "done")
""", files=_FILES, note="the handler closes in a finally"),
    Case("""
import telebot

bot = telebot.TeleBot("token")


@bot.message_handler(commands=["help"])
def help_text(message):
    bot.reply_to(message, "/paid ORDER marks an order paid")
""", files=_FILES, note="a handler without database work"),
    Case("""
from models import Order


class Handlers:
    def message_handler(self, **filters):
        return lambda f: f


router = Handlers()


@router.message_handler(commands=["paid"])
def mark_paid(message):
    Order.objects.filter(id=int(message.text)).update(paid=True)
""", files=_FILES, note="a project class's `message_handler`, not telebot's"),
]

# A done-callback of an executor's future runs on the worker thread that finished the task.
INVALID += [
    Case("""
from concurrent.futures import ThreadPoolExecutor

from models import Order

executor = ThreadPoolExecutor(max_workers=4)


def price(order_id):
    return order_id * 10


def store_total(future):
    Order.objects.filter(id=future.result()).update(paid=True)  # expect: PS107


def checkout(order_id):
    future = executor.submit(price, order_id)
    future.add_done_callback(store_total)
""", files=_FILES, note="the callback of a future kept in a name"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from models import Order

executor = ThreadPoolExecutor(max_workers=4)


def price(order_id):
    return order_id * 10


def store_total(future):
    order = Order.objects.get(id=future.result())  # expect: PS107
    order.save()


def checkout(order_id):
    executor.submit(price, order_id).add_done_callback(store_total)
""", files=_FILES, note="the callback chained on submit()"),
]

VALID += [
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections
from models import Order

executor = ThreadPoolExecutor(max_workers=4)


def price(order_id):
    return order_id * 10


def store_total(future):
    try:
        Order.objects.filter(id=future.result()).update(paid=True)
    finally:
        close_old_connections()


def checkout(order_id):
    executor.submit(price, order_id).add_done_callback(store_total)
""", files=_FILES, note="the callback closes in a finally"),
    Case("""
import asyncio

from models import Order


def store_total(task):
    Order.objects.filter(id=task.result()).update(paid=True)


async def compute(order_id):
    return order_id


def checkout(loop, order_id):
    task = loop.create_task(compute(order_id))
    task.add_done_callback(store_total)
""", files=_FILES, note="an asyncio task's callback runs on the event loop's thread, "
                       "not an executor worker"),
]

# A loop whose flag only an `except` clears runs until an error: the long-running process.
INVALID += [
    Case("""
import time

from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        launched = True
        while launched:
            try:
                Order.objects.filter(paid=False).delete()  # expect: PS107
                time.sleep(60)
            except Exception:
                launched = False
""", files=_FILES, note="only an error clears the flag"),
]

VALID += [
    Case("""
import time

from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        pending = True
        while pending:
            try:
                batch = list(Order.objects.filter(paid=False)[:100])
                Order.objects.filter(id__in=[o.id for o in batch]).delete()
                pending = bool(batch)
                time.sleep(1)
            except KeyboardInterrupt:
                pending = False
""", files=_FILES, note="a batch loop whose body clears the flag when nothing is left"),
]

# A scheduler the project never starts runs none of its jobs.
VALID += [
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler

from models import Order


def expire_orders():
    Order.objects.filter(paid=False).delete()


scheduler = BackgroundScheduler()
scheduler.add_job(expire_orders, "interval", minutes=5)
# scheduler.start()  (switched off)
""", files=_FILES, note="no scheduler of the project is ever started"),
]

INVALID += [
    Case("""
from apscheduler.schedulers.background import BackgroundScheduler

from models import Order


def expire_orders():
    Order.objects.filter(paid=False).delete()  # expect: PS107


scheduler = BackgroundScheduler()
scheduler.add_job(expire_orders, "interval", minutes=5)
""", files={**_FILES, "apps.py": """
from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        from case import scheduler
        scheduler.start()
"""}, note="the scheduler started in another module"),
]

# A TeleBot handler's filter (`func=`) runs in the bot's polling thread for every update.
INVALID += [
    Case("""
import telebot

from models import Order

bot = telebot.TeleBot("token")


def has_open_order(message):
    return Order.objects.filter(id=message.chat.id, paid=False).exists()  # expect: PS107


@bot.message_handler(func=has_open_order)
def remind(message):
    bot.reply_to(message, "you have an unpaid order")
""", files=_FILES, note="a handler filter with a query"),
    Case("""
from functools import partial

import telebot

from models import Order

bot = telebot.TeleBot("token")


def paid_is(paid):
    def check(paid, message):
        return Order.objects.filter(id=message.chat.id, paid=paid).exists()  # expect: PS107
    return partial(check, paid)


@bot.message_handler(func=paid_is(False))
def remind(message):
    bot.reply_to(message, "you have an unpaid order")
""", files=_FILES, note="a filter built by a project factory (`partial` of a nested function)"),
]

VALID += [
    Case("""
import telebot

bot = telebot.TeleBot("token")


def is_command(message):
    return message.text.startswith("/")


@bot.message_handler(func=is_command)
def unknown(message):
    bot.reply_to(message, "unknown command")
""", files=_FILES, note="a filter without database work"),
]

# python-telegram-bot before v20: `updater.start_polling()` runs the dispatcher on a thread of
# its own for the life of the process, and the dispatcher runs every handler's synchronous
# callback there; a callback's ORM work keeps that thread's connection for good.
_PTB_COMMAND = """\
from django.core.management.base import BaseCommand
from telegram.ext import Updater

from handlers import conversation


class Command(BaseCommand):
    def handle(self, *args, **options):
        updater = Updater("token", use_context=True)
        updater.dispatcher.add_handler(conversation)
        updater.start_polling()
        updater.idle()
"""

INVALID += [
    Case("""
from telegram.ext import CommandHandler, Updater

from models import Order


def paid(update, context):
    Order.objects.filter(id=int(context.args[0])).update(paid=True)  # expect: PS107
    update.message.reply_text("done")


def main():
    updater = Updater("token", use_context=True)
    updater.dispatcher.add_handler(CommandHandler("paid", paid))
    updater.start_polling()
    updater.idle()
""", files=_FILES, note="a v13 command handler runs on the dispatcher's thread"),
    Case("""
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler

from models import Order


def start(update, context):
    update.message.reply_text("choose an order")
    return "CHOOSING"


def cancel(update, context):
    update.callback_query.answer()
    Order.objects.filter(id=int(update.callback_query.data)).delete()  # expect: PS107
    return ConversationHandler.END


conversation = ConversationHandler(
    entry_points=[CommandHandler("start", start)],
    states={"CHOOSING": [CallbackQueryHandler(cancel)]},
    fallbacks=[],
)
""", files={**_FILES, "management/commands/bot.py": _PTB_COMMAND}, path="handlers.py",
         note="a callback in a ConversationHandler's state, the updater started by a "
              "management command in another module"),
]

VALID += [
    Case("""
import json

from django.http import JsonResponse
from telegram import Bot, Update
from telegram.ext import Dispatcher, MessageHandler

from models import Order

bot = Bot("token")
dispatcher = Dispatcher(bot, None, workers=0)


def paid(update, context):
    Order.objects.filter(id=int(update.message.text)).update(paid=True)


dispatcher.add_handler(MessageHandler(None, paid))


def webhook(request):
    dispatcher.process_update(Update.de_json(json.loads(request.body), bot))
    return JsonResponse({"ok": True})
""", files=_FILES, note="a dispatcher fed by a webhook view runs the callback in the "
                       "request's thread; no updater is started"),
    Case("""
from asgiref.sync import sync_to_async
from telegram.ext import ApplicationBuilder, CommandHandler

from models import Order


async def paid(update, context):
    await sync_to_async(Order.objects.filter(id=int(context.args[0])).update)(paid=True)
    await update.message.reply_text("done")


def main():
    application = ApplicationBuilder().token("token").build()
    application.add_handler(CommandHandler("paid", paid))
    application.updater.start_polling()
""", files=_FILES, note="a v20 coroutine callback runs on the event loop"),
    Case("""
from django.db import close_old_connections
from telegram.ext import CommandHandler, Updater

from models import Order


def paid(update, context):
    try:
        Order.objects.filter(id=int(context.args[0])).update(paid=True)
    finally:
        close_old_connections()
    update.message.reply_text("done")


def main():
    updater = Updater("token", use_context=True)
    updater.dispatcher.add_handler(CommandHandler("paid", paid))
    updater.start_polling()
""", files=_FILES, note="the callback closes in a finally"),
]

# Django's `get_user_model()` returns the project's user model: `User = get_user_model()`,
# then `User.objects`, is a query like any model's.
INVALID += [
    Case("""
import threading

from django.contrib.auth import get_user_model

User = get_user_model()


def deactivate(user_id):
    User.objects.filter(id=user_id).update(is_active=False)  # expect: PS107


def on_ban(user_id):
    threading.Thread(target=deactivate, args=(user_id,)).start()
""", files=_FILES, note="the user model bound at the module's top level"),
]

VALID += [
    Case("""
import threading

from django.contrib.auth import get_user_model
from django.db import close_old_connections


def deactivate(user_id):
    try:
        get_user_model().objects.filter(id=user_id).update(is_active=False)
    finally:
        close_old_connections()


def on_ban(user_id):
    threading.Thread(target=deactivate, args=(user_id,)).start()
""", files=_FILES, note="the user model's query, closed in a finally"),
]

# A TeleBot's next-step handler (`bot.register_next_step_handler(message, callback)`) runs on
# the bot's worker threads like any handler.
INVALID += [
    Case("""
import telebot

from models import Order

bot = telebot.TeleBot("token")


def save_total(message):
    Order.objects.create(total=int(message.text))  # expect: PS107
    bot.reply_to(message, "saved")


@bot.message_handler(commands=["new"])
def new_order(message):
    bot.reply_to(message, "total?")
    bot.register_next_step_handler(message, save_total)
""", files=_FILES, note="a next-step handler"),
]

VALID += [
    Case("""
from models import Order


class Steps:
    def __init__(self):
        self.pending = {}

    def register_next_step_handler(self, message, callback):
        self.pending[message.chat.id] = callback


steps = Steps()


def save_total(message):
    Order.objects.create(total=int(message.text))


def new_order(message):
    steps.register_next_step_handler(message, save_total)
""", files=_FILES, note="a project class's `register_next_step_handler`, not telebot's"),
]

# A model class passed to a project helper that queries it through its parameter.
INVALID += [
    Case("""
import threading

from models import Order


def count_rows(model):
    return model.objects.count()


def report():
    print(count_rows(Order))  # expect: PS107


def on_request():
    threading.Thread(target=report).start()
""", files=_FILES, note="the helper's query runs on the thread"),
]

VALID += [
    Case("""
import threading

from models import Order


def table_name(model):
    return model._meta.db_table


def report():
    print(table_name(Order))


def on_request():
    threading.Thread(target=report).start()
""", files=_FILES, note="the helper reads the model's metadata: no query"),
]

# A management command whose `handle()` calls the function that loops: the loop runs for as
# long as the command, on its one thread.
_RUN_COMMAND = """\
from django.core.management.base import BaseCommand

from case import run


class Command(BaseCommand):
    def handle(self, *args, **options):
        run()
"""

INVALID += [
    Case("""
import time

from models import Order


def run():
    while True:
        for order in Order.objects.filter(paid=False):  # expect: PS107
            order.paid = True
            order.save()
        time.sleep(60)
""", files={**_FILES, "management/commands/sync.py": _RUN_COMMAND},
         note="the loop is in the function the command's handle() calls"),
]

VALID += [
    Case("""
import time

from django.db import close_old_connections

from models import Order


def run():
    while True:
        close_old_connections()
        for order in Order.objects.filter(paid=False):
            order.paid = True
            order.save()
        time.sleep(60)
""", files={**_FILES, "management/commands/sync.py": _RUN_COMMAND},
         note="the called loop closes stale connections each round"),
    Case("""
from models import Order


def run():
    done = 0
    while done < 10:
        Order.objects.filter(id=done).update(paid=True)
        done += 1
""", files={**_FILES, "management/commands/sync.py": _RUN_COMMAND},
         note="a finite loop: the command ends with it"),
]

#: a module that treats APScheduler as optional: the import in a `try`, a `None`
#: placeholder in the handler (the name is the import wherever it is called)
_OPTIONAL_SCHEDULER = """\
try:
    from apscheduler.schedulers.background import BackgroundScheduler
except ImportError:  # the scheduler is an optional extra
    BackgroundScheduler = None

from tasks import settle_orders


def start_jobs():
    if BackgroundScheduler is None:
        return None
    scheduler = BackgroundScheduler()
    scheduler.add_job(settle_orders, "interval", minutes=10)
    scheduler.start()
    return scheduler
"""

#: the app's ready() starts the jobs
_STARTS_JOBS = """\
from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        from jobs import start_jobs

        start_jobs()
"""

INVALID.append(Case("""
from models import Order


def settle_orders():
    Order.objects.filter(paid=False, total=0).update(paid=True)  # expect: PS107
""", files={**_FILES, "jobs.py": _OPTIONAL_SCHEDULER, "apps.py": _STARTS_JOBS},
    path="tasks.py",
    note="an APScheduler job registered where the scheduler class is an optional "
         "import with a `None` fallback"))

VALID.append(Case("""
from django.db import close_old_connections

from models import Order


def settle_orders():
    try:
        Order.objects.filter(paid=False, total=0).update(paid=True)
    finally:
        close_old_connections()
""", files={**_FILES, "jobs.py": _OPTIONAL_SCHEDULER, "apps.py": _STARTS_JOBS},
    path="tasks.py", note="the optional scheduler's job closes its connection in finally"))

VALID.append(Case("""
from models import Order

BackgroundScheduler = None


def settle_orders():
    Order.objects.filter(paid=False, total=0).update(paid=True)


def start_jobs():
    if BackgroundScheduler is not None:
        BackgroundScheduler().add_job(settle_orders, "interval", minutes=10).start()
""", files=_FILES, path="tasks.py",
    note="look-alike: a name that is only ever None (no import of it): no scheduler, "
         "no job"))

#: a helper module whose function queries the models
_REPORTS = """\
from models import Order


def rebuild_totals():
    return Order.objects.filter(paid=True).count()


def read_template(path):
    with open(path) as fh:
        return fh.read()
"""

INVALID.append(Case("""
import threading

from reports import rebuild_totals


def refresh():
    rebuild_totals()  # expect: PS107


def on_startup():
    threading.Thread(target=refresh, daemon=True).start()
""", files={**_FILES, "reports.py": _REPORTS}, path="boot.py",
    note="a thread target in a module that spells no Django word, whose database work "
         "is a helper of another module"))

VALID.append(Case("""
import threading

from reports import read_template


def warm_cache():
    read_template("templates/invoice.html")


def on_startup():
    threading.Thread(target=warm_cache, daemon=True).start()
""", files={**_FILES, "reports.py": _REPORTS}, path="boot.py",
    note="look-alike: the thread's helper of another module reads a file, no query"))

VALID.append(Case("""
import threading

from reports import rebuild_totals


def refresh():
    rebuild_totals()


def on_startup():
    refresh()
""", files={**_FILES, "reports.py": _REPORTS}, path="boot.py",
    note="look-alike: the helper called in the caller's own thread, no thread started"))

VALID.append(Case("""
import threading

from reports import rebuild_totals, rebuild_invoices


def refresh():
    rebuild_totals()
    rebuild_invoices()


def on_startup():
    threading.Thread(target=refresh, daemon=True).start()
""", files={**_FILES, "reports.py": _REPORTS}, path="boot.py",
    note="look-alike: the module imports a name its project module never defines, so "
         "importing it raises ImportError and its thread is never started"))

_SCHEDULED_SETTLE = """
from apscheduler.schedulers.background import BackgroundScheduler

from models import Order


def settle_unpaid():
    Order.objects.filter(paid=False, total=0).update(paid=True)  # expect: PS107


def start_settlement():
    scheduler = BackgroundScheduler()
    scheduler.add_job(settle_unpaid, "interval", minutes=15)
    scheduler.start()
"""

INVALID.append(Case(_SCHEDULED_SETTLE, files={**_FILES, "apps.py": """\
from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self):
        from settlement import start_settlement

        start_settlement()
"""}, path="settlement.py",
    note="an APScheduler job registered by a function the app's ready() calls"))

VALID.append(Case(_SCHEDULED_SETTLE.replace("  # expect: PS107", ""), files=_FILES,
                  path="settlement.py",
                  note="look-alike: the function that registers the job and starts the "
                       "scheduler is called, imported and named nowhere: the job never runs"))

# The AWS IoT Device SDK's MQTT client (`AWSIoTPythonSDK.MQTTLib.AWSIoTMQTTClient`):
# `connect()` starts an event-consumer thread that runs every message callback
# (`subscribe(topic, qos, f)`, `subscribeAsync(..., messageCallback=f)`, `onMessage`)
# for the life of the client. The callback may come through a project function that
# registers its parameter (`def listen(topic, handler): client.subscribe(topic, 1,
# handler)`): its callers' functions are the callbacks. A copy of the SDK the project
# commits (vendored for another deployment) is the same client.
_IOT_LISTENER = """\
import AWSIoTPythonSDK.MQTTLib as iot

from models import Order

client = iot.AWSIoTMQTTClient("till")
client.connect()


def listen(topic, handler):
    client.subscribe(topic, 1, handler)


def on_sale(client, userdata, message):
    Order.objects.create(total=int(message.payload))  # expect: PS107


listen("till/sales", on_sale)
"""
INVALID += [
    Case(_IOT_LISTENER, files=_FILES, path="till.py",
         note="an AWS IoT SDK message callback, registered through a project wrapper's "
              "parameter"),
    Case(_IOT_LISTENER, files={**_FILES, "lambda_fn/AWSIoTPythonSDK/__init__.py": "",
                               "lambda_fn/AWSIoTPythonSDK/MQTTLib.py": """\
class AWSIoTMQTTClient:
    def __init__(self, client_id):
        self.client_id = client_id

    def connect(self):
        return True

    def subscribe(self, topic, qos, callback):
        return True
"""}, path="till.py",
         note="the same with a copy of the SDK committed in the project"),
    Case("""
from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTClient

from models import Order


def on_refund(client, userdata, message):
    Order.objects.filter(id=int(message.payload)).delete()  # expect: PS107


def start():
    client = AWSIoTMQTTClient("refunds")
    client.connect()
    client.subscribeAsync("till/refunds", 1, messageCallback=on_refund)
""", files=_FILES, note="subscribeAsync's messageCallback runs on the event-consumer thread"),
]
VALID += [
    Case(_IOT_LISTENER.replace(
        "    Order.objects.create(total=int(message.payload))  # expect: PS107\n",
        "    close_old_connections()\n"
        "    Order.objects.create(total=int(message.payload))\n").replace(
        "from models import Order\n",
        "from django.db import close_old_connections\nfrom models import Order\n"),
         files=_FILES, path="till.py",
         note="look-alike: the callback closes stale connections on each message"),
    Case("""
from models import Order


class Bus:
    def subscribe(self, topic, qos, callback):
        callback(topic)


def on_sale(topic):
    Order.objects.create(total=0)


def listen(topic, handler):
    Bus().subscribe(topic, 1, handler)


def view(request):
    listen("till/sales", on_sale)
""", files=_FILES,
         note="look-alike: subscribe() of a project class, which calls back in the caller's "
              "thread"),
    Case("""
import logging

import AWSIoTPythonSDK.MQTTLib as iot

client = iot.AWSIoTMQTTClient("till")


def listen(topic, handler):
    client.subscribe(topic, 1, handler)


def on_ping(client, userdata, message):
    logging.info("ping %s", message.payload)


listen("till/ping", on_ping)
""", files=_FILES, note="look-alike: the callback its callers pass does no database work"),
]

# A model of a third-party Django application (`django_apscheduler.models`,
# `django_celery_beat.models`) is a model: its manager queries the thread's connection.
_JOB_HISTORY = """\
from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management.base import BaseCommand
from django_apscheduler.models import DjangoJobExecution


def prune_history(max_age=86_400):
    DjangoJobExecution.objects.delete_old_job_executions(max_age)  # expect: PS107


class Command(BaseCommand):
    def handle(self, *args, **options):
        scheduler = BlockingScheduler()
        scheduler.add_job(prune_history, "cron", hour=3)
        scheduler.start()
"""
INVALID.append(Case(_JOB_HISTORY, path="shop/management/commands/jobs.py",
                    note="an APScheduler job querying django_apscheduler's own model"))
VALID += [
    Case(_JOB_HISTORY.replace("  # expect: PS107", "").replace(
        "\n\ndef prune_history", "\nfrom django_apscheduler import util\n\n\n"
        "@util.close_old_connections\ndef prune_history"),
         path="shop/management/commands/jobs.py",
         note="look-alike: the same job under django_apscheduler's close_old_connections"),
    Case(_JOB_HISTORY.replace("  # expect: PS107", "").replace(
        "from django_apscheduler.models import DjangoJobExecution",
        "from weather.models import DjangoJobExecution"),
         path="shop/management/commands/jobs.py",
         note="look-alike: `objects` of a class from a library that is no Django application"),
]

# A collaborator injected with a default (`self._repo = repo or Repo()`): with nothing
# injected, a call on the attribute runs the default class's method.
_INJECTED = """\
import threading
import time

from models import Order


class Ledger:
    def unpaid(self):
        return list(Order.objects.filter(paid=False))


class Reminders:
    def __init__(self, ledger=None):
        self._ledger = ledger or Ledger()

    def send(self):
        return len(self._ledger.unpaid())


def remind_forever():
    while True:
        Reminders().send()  # expect: PS107
        time.sleep(600)


def start():
    threading.Thread(target=remind_forever, daemon=True).start()
"""
INVALID.append(Case(_INJECTED, files=_FILES,
                    note="a thread's loop reaching the models through a collaborator "
                         "injected with a default"))
VALID += [
    Case(_INJECTED.replace("  # expect: PS107", "").replace(
        "        return list(Order.objects.filter(paid=False))",
        "        with open('/srv/unpaid.txt') as f:\n            return f.readlines()"),
         files=_FILES, note="look-alike: the default collaborator reads a file"),
    Case(_INJECTED.replace("  # expect: PS107", "").replace(
        "        Reminders().send()\n        time.sleep(600)",
        "        try:\n            Reminders().send()\n        finally:\n"
        "            close_old_connections()\n        time.sleep(600)").replace(
        "from models import Order", "from django.db import close_old_connections\n"
        "from models import Order"),
         files=_FILES, note="look-alike: the loop closes stale connections every round"),
]

# large51 (issue 31; tune: kobocat's populate_xml_hashes_for_instances command): a batch
# loop whose test calls something on a name its body sets (`while chunk.exists():` with
# `chunk = ...filter(pk__gt=last)`), or passes one (`while rows := fetch(last_id):` with
# `last_id = row.id`), ends when the data runs out: the command's one run.
VALID += [
    Case("""
from django.core.management.base import BaseCommand
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        pending = Order.objects.filter(paid=False).order_by("pk")
        chunk = pending[:500]
        while chunk.exists():
            last = None
            for order in chunk:
                Order.objects.filter(pk=order.pk).update(paid=True)
                last = order.pk
            chunk = pending.filter(pk__gt=last)[:500]
""", files=_FILES, note="the body replaces the chunk its test asks: the loop ends after "
                       "the last chunk"),
    Case("""
from django.core.management.base import BaseCommand
from models import Order

import archive


class Command(BaseCommand):
    def handle(self, *args, **options):
        last_id = 0
        while rows := archive.fetch_after(last_id, limit=100):
            for row in rows:
                last_id = row["id"]
                Order.objects.get_or_create(id=row["order_id"])
""", files=_FILES, note="the test fetches the rows after the last one the body saw: a "
                       "finite walk over the archive"),
]

INVALID += [
    Case("""
from django.core.management.base import BaseCommand
from models import Order

import broker


class Command(BaseCommand):
    def handle(self, *args, **options):
        queue = broker.connect("orders")
        while message := queue.get(timeout=30):
            Order.objects.filter(id=message.order_id).update(paid=True)  # expect: PS107
""", files=_FILES, note="the test calls on a queue the body never replaces: a consumer "
                       "that runs for the life of the process"),
]

# a thread target that runs the function its starter passes it (a callback parameter)
INVALID += [
    Case("""
import threading
import time

from models import Order


def every(job, delay):
    while True:
        job()  # expect: PS107
        time.sleep(delay)


def expire_unpaid():
    Order.objects.filter(paid=False).delete()


threading.Thread(target=every, args=[lambda: expire_unpaid(), 60], daemon=True).start()
""", files=_FILES, note="the target calls its parameter; the lambda passed runs the "
                       "models' work on the thread, which closes nothing"),
    Case("""
import logging
import threading

from models import Invoice

log = logging.getLogger(__name__)


def guarded(task):
    try:
        task()  # expect: PS107
    except Exception:
        log.exception("background task failed")


def renumber():
    for invoice in Invoice.objects.all():
        invoice.number = f"INV-{invoice.pk:06d}"
        invoice.save()


def start_renumbering():
    threading.Thread(target=guarded, kwargs={"task": renumber}).start()
""", files=_FILES, note="the function passed by keyword (`kwargs=`) is what the "
                       "target's parameter call runs"),
]

VALID += [
    Case("""
import threading
import time

from django.db import close_old_connections
from models import Order


def every(job, delay):
    while True:
        job()
        time.sleep(delay)


def expire_unpaid():
    try:
        Order.objects.filter(paid=False).delete()
    finally:
        close_old_connections()


threading.Thread(target=every, args=[expire_unpaid, 60], daemon=True).start()
""", files=_FILES, note="the function passed closes the connection itself"),
    Case("""
import threading
import time

from models import Order


def every(job, delay):
    while True:
        job()
        time.sleep(delay)


def heartbeat():
    print("alive", time.time())


threading.Thread(target=every, args=[lambda: heartbeat(), 5], daemon=True).start()
""", files=_FILES, note="the function passed does no database work"),
    Case("""
import threading
import time

from django.db import close_old_connections
from models import Order


def every(job, delay):
    while True:
        try:
            job()
        finally:
            close_old_connections()
        time.sleep(delay)


def expire_unpaid():
    Order.objects.filter(paid=False).delete()


threading.Thread(target=every, args=[expire_unpaid, 60], daemon=True).start()
""", files=_FILES, note="the target closes after each call of what it was given"),
]

# a thread target given a model row by its starter, which reads one of the row's forward
# relations (a `ForeignKey` / `OneToOneField`): the related row is loaded on the thread
_SHOP_MODELS = """\
from django.db import models


class Customer(models.Model):
    email = models.EmailField()


class Receipt(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
    amount = models.IntegerField()
"""

_MAILER = """\
from django.core.mail import send_mail


def mail_receipt(receipt):
    send_mail("Your receipt", f"{receipt.amount} EUR", None,
              [receipt.customer.email])  # expect: PS107
"""

INVALID += [
    Case(_MAILER, files={"shop.py": _SHOP_MODELS, "checkout.py": """\
import threading

from mailer import mail_receipt
from shop import Receipt


def receipt_paid(receipt_id):
    receipt = Receipt.objects.get(pk=receipt_id)
    threading.Thread(target=mail_receipt, args=(receipt,)).start()
"""}, path="mailer.py", note="the target's module spells no query word; the row comes from "
                             "a manager lookup in the starter"),
    Case("""
import threading

from shop import Receipt


def archive(receipt):
    path = f"/srv/receipts/{receipt.customer.pk}/{receipt.pk}.txt"  # expect: PS107
    with open(path, "w") as out:
        out.write(str(receipt.amount))


def close_sale(customer_id, amount):
    receipt = Receipt(customer_id=customer_id, amount=amount)
    receipt.save()
    threading.Thread(target=archive, args=[receipt]).start()
""", files={"shop.py": _SHOP_MODELS}, note="a row built from the model class; its relation is "
                                         "set by id only, so reading it loads the row"),
]

VALID += [
    Case("""
import threading

from django.db import close_old_connections
from shop import Receipt


def archive(receipt):
    try:
        print(receipt.customer.email, receipt.amount)
    finally:
        close_old_connections()


def close_sale(receipt_id):
    receipt = Receipt.objects.get(pk=receipt_id)
    threading.Thread(target=archive, args=(receipt,)).start()
""", files={"shop.py": _SHOP_MODELS}, note="the target closes the connection in a `finally`"),
    Case("""
import threading

from shop import Receipt


def archive(receipt):
    print(receipt.customer_id, receipt.amount)


def close_sale(receipt_id):
    receipt = Receipt.objects.get(pk=receipt_id)
    threading.Thread(target=archive, args=(receipt,)).start()
""", files={"shop.py": _SHOP_MODELS}, note="only the row's own columns (the relation's id, "
                                         "not the related row) are read"),
    Case("""
import threading
from dataclasses import dataclass


@dataclass
class Customer:
    email: str


@dataclass
class Receipt:
    customer: Customer
    amount: int


def archive(receipt):
    print(receipt.customer.email, receipt.amount)


def close_sale(email, amount):
    receipt = Receipt(Customer(email), amount)
    threading.Thread(target=archive, args=(receipt,)).start()
""", note="the row passed is a plain dataclass, not a Django model"),
]

# the relation is already on the row the starter passes: joined by its lookup, or read
# by the starter itself (which caches it): the target's read runs no query
_CACHED_RELATION = """
import threading

from shop import Receipt


def notify(receipt):
    print(receipt.customer.email){mark}


def paid(receipt_id):
    {lookup}
    threading.Thread(target=notify, args=(receipt,)).start()
{more}"""

VALID += [
    Case(_CACHED_RELATION.format(
        mark="", more="",
        lookup='receipt = Receipt.objects.select_related("customer").get(pk=receipt_id)'),
         files={"shop.py": _SHOP_MODELS}, note="the lookup joins the relation"),
    Case(_CACHED_RELATION.format(
        mark="", more="",
        lookup="receipt = Receipt.objects.select_related().get(pk=receipt_id)"),
         files={"shop.py": _SHOP_MODELS}, note="`select_related()` joins every relation"),
    Case(_CACHED_RELATION.format(
        mark="", more="",
        lookup="receipt = Receipt.objects.get(pk=receipt_id)\n"
               "    print(receipt.customer.email)"),
         files={"shop.py": _SHOP_MODELS}, note="the starter read the relation: it is cached"),
]

INVALID += [
    Case(_CACHED_RELATION.format(
        mark="  # expect: PS107",
        lookup='receipt = Receipt.objects.select_related("customer").get(pk=receipt_id)',
        more="""

def refunded(receipt_id):
    receipt = Receipt.objects.get(pk=receipt_id)
    threading.Thread(target=notify, args=(receipt,)).start()
"""), files={"shop.py": _SHOP_MODELS},
         note="look-alike: one starter joins the relation, another passes a plain row"),
    Case(_CACHED_RELATION.format(
        mark="  # expect: PS107", more="",
        lookup='receipt = Receipt.objects.select_related("refund").get(pk=receipt_id)'),
         files={"shop.py": _SHOP_MODELS},
         note="look-alike: the lookup joins another relation than the one read"),
]

# python-telegram-bot (before v20): `dispatcher.add_error_handler(on_error)` runs the error
# callback on the dispatcher's thread, the way it runs the handlers (breadth58: the
# django-telegram-bot template's `send_stacktrace_to_tg_chat`, which calls `User.get_user`)
_PTB_ERROR_SETUP = """\
from telegram.ext import CommandHandler

from errors import on_error
from handlers import paid


def setup_dispatcher(dp):
    dp.add_handler(CommandHandler("paid", paid))
    dp.add_error_handler(on_error)
    return dp
"""
_PTB_ERROR_HANDLERS = """\
def paid(update, context):
    update.message.reply_text("done")
"""
_PTB_ERROR_POLLING = """\
from telegram.ext import Updater

from dispatcher import setup_dispatcher


def run_polling():
    updater = Updater("token", use_context=True)
    setup_dispatcher(updater.dispatcher)
    updater.start_polling()
    updater.idle()


if __name__ == "__main__":
    run_polling()
"""

INVALID += [
    Case("""
from telegram.ext import CommandHandler, Updater

from models import Order


def paid(update, context):
    update.message.reply_text("done")


def on_error(update, context):
    Order.objects.filter(chat_id=update.effective_chat.id).update(failed=True)  # expect: PS107


def main():
    updater = Updater("token", use_context=True)
    updater.dispatcher.add_handler(CommandHandler("paid", paid))
    updater.dispatcher.add_error_handler(on_error)
    updater.start_polling()
    updater.idle()
""", files=_FILES, note="a v13 error handler runs on the dispatcher's thread"),
    Case("""
from models import Order


def on_error(update, context):
    if "order" in context.user_data:
        Order.objects.get(id=context.user_data["order"])  # expect: PS107
""", files={**_FILES, "dispatcher.py": _PTB_ERROR_SETUP, "handlers.py": _PTB_ERROR_HANDLERS,
            "run_polling.py": _PTB_ERROR_POLLING}, path="errors.py",
         note="the error callback of another module, registered on a dispatcher passed to "
              "a setup function, the updater started by a polling script"),
]

VALID += [
    Case("""
import json

from django.http import JsonResponse
from telegram import Bot, Update
from telegram.ext import Dispatcher

from models import Order

bot = Bot("token")
dispatcher = Dispatcher(bot, None, workers=0)


def on_error(update, context):
    Order.objects.filter(chat_id=update.effective_chat.id).update(failed=True)


dispatcher.add_error_handler(on_error)


def webhook(request):
    dispatcher.process_update(Update.de_json(json.loads(request.body), bot))
    return JsonResponse({"ok": True})
""", files=_FILES, note="look-alike: an error handler of a dispatcher fed by a webhook view "
                       "runs in the request's thread; no updater is started"),
    Case("""
from telegram.ext import ApplicationBuilder

from models import Order


async def on_error(update, context):
    print(context.error)


def main():
    application = ApplicationBuilder().token("token").build()
    application.add_error_handler(on_error)
    application.run_polling()
""", files=_FILES, note="look-alike: v20's error callback is a coroutine run on the event loop"),
    Case("""
import falcon

from models import Order


def on_error(req, resp, ex, params):
    Order.objects.create(note=str(ex))
    raise falcon.HTTPInternalServerError()


app = falcon.App()
app.add_error_handler(Exception, on_error)
""", files={**_FILES, "dispatcher.py": _PTB_ERROR_SETUP, "handlers.py": _PTB_ERROR_HANDLERS,
            "errors.py": "def on_error(update, context):\n    pass\n",
            "run_polling.py": _PTB_ERROR_POLLING}, path="api.py",
         note="look-alike: Falcon's add_error_handler runs its handler in the request's "
              "thread, in a project that also polls a telegram updater"),
]

# breadth60: a thread target defined inside the function that starts it (a view's
# closure), a row its starter passes and the target saves, a ModelForm's or DRF
# serializer's save() on the thread; look-alikes: a project Thread base class that closes
# after run(), save(commit=False), a nested function run in the request's own thread
_WRITERS = """\
from django import forms
from rest_framework import serializers

from models import Order


class OrderForm(forms.ModelForm):
    class Meta:
        model = Order
        fields = ["total"]


class OrderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Order
        fields = "__all__"
"""

_CLOSING_THREAD = """\
import threading

from django.db import close_old_connections


class Thread(threading.Thread):
    def _bootstrap_inner(self):
        super()._bootstrap_inner()
        close_old_connections()
"""

INVALID += [
    Case("""
import threading

from django.http import HttpResponse

from models import Order


def pay(request, order_id):
    def mark_paid():
        Order.objects.filter(id=order_id).update(paid=True)  # expect: PS107

    threading.Thread(target=mark_paid).start()
    return HttpResponse("accepted")
""", files=_FILES, note="a function defined in a view, started as a thread target"),
    Case("""
from concurrent.futures import ThreadPoolExecutor

from django.db import transaction
from django.http import HttpResponse

from models import Order


def store(totals):
    with transaction.atomic():
        Order.objects.bulk_create([Order(total=t) for t in totals])


def upload(request):
    def load(data):
        store(int(line) for line in data.splitlines())  # expect: PS107

    with ThreadPoolExecutor() as executor:
        for future in [executor.submit(load, f.read()) for f in request.FILES.values()]:
            future.result()
    return HttpResponse("ok")
""", files=_FILES, note="a view's closure submitted to a per-request executor, its queries in a "
                       "module-level helper"),
    Case("""
import threading
import time

from django.http import HttpResponse

from models import Order


def settle(order):
    time.sleep(60)
    order.paid = True
    order.save()  # expect: PS107


def create(request):
    order = Order.objects.create(total=int(request.POST["total"]))
    threading.Thread(target=settle, args=(order,)).start()
    return HttpResponse("ok")
""", files=_FILES, note="a thread target that saves the model row its starter passes"),
    Case("""
import threading

from django.http import HttpResponse

from forms import OrderForm


def settle(order):
    order.paid = True
    order.save()  # expect: PS107


def create(request):
    form = OrderForm(request.POST)
    if form.is_valid():
        order = form.save()
        threading.Thread(target=settle, args=(order,)).start()
    return HttpResponse("ok")
""", files={**_FILES, "forms.py": _WRITERS},
         note="the row passed is the one a ModelForm's save() returned"),
    Case("""
import threading

from rest_framework.response import Response
from rest_framework.views import APIView

from forms import OrderSerializer


class Checkout(APIView):
    def post(self, request):
        threading.Thread(target=self.record, args=(request.data,)).start()
        return Response(status=202)

    def record(self, data):
        serializer = OrderSerializer(data=data)
        if serializer.is_valid():
            serializer.save()  # expect: PS107
""", files={**_FILES, "forms.py": _WRITERS},
         note="a DRF model serializer's save() on a thread a view starts"),
]

VALID += [
    Case("""
from django_thread import Thread

from models import Order


class Settle(Thread):
    def __init__(self, order_id):
        super().__init__()
        self.order_id = order_id

    def run(self):
        Order.objects.filter(id=self.order_id).update(paid=True)


def start(order_id):
    Settle(order_id).start()
""", files={**_FILES, "django_thread.py": _CLOSING_THREAD},
         note="look-alike: the project's Thread base closes the connection after every run()"),
    Case("""
import threading

from django.http import HttpResponse

from forms import OrderForm


def notify(order):
    print(order.total)


def create(request):
    form = OrderForm(request.POST)
    if form.is_valid():
        order = form.save(commit=False)
        threading.Thread(target=notify, args=(order,)).start()
    return HttpResponse("ok")
""", files={**_FILES, "forms.py": _WRITERS},
         note="look-alike: the thread only reads the passed row's own column"),
    Case("""
import threading

from django.db import close_old_connections
from django.http import HttpResponse

from forms import OrderSerializer


def record(data):
    try:
        serializer = OrderSerializer(data=data)
        if serializer.is_valid():
            serializer.save()
    finally:
        close_old_connections()


def create(request):
    threading.Thread(target=record, args=(request.POST,)).start()
    return HttpResponse("ok")
""", files={**_FILES, "forms.py": _WRITERS},
         note="look-alike: the thread's serializer save is followed by a close in a finally"),
    Case("""
import threading

from django.http import HttpResponse

from models import Order


def pay(request, order_id):
    def mark_paid():
        Order.objects.filter(id=order_id).update(paid=True)

    mark_paid()
    worker = threading.Thread(target=print, args=("paid",))
    worker.start()
    return HttpResponse("ok")
""", files=_FILES, note="look-alike: the view's closure runs in the request's thread; the "
                       "thread started runs a builtin"),
]

_PLAIN_FORM = """\
from django import forms

from models import Order


class OrderEntry(forms.Form):
    total = forms.IntegerField()

    def save(self):
        order = Order.objects.create(total=self.cleaned_data["total"])
        return order

    def summary(self):
        return {"total": self.cleaned_data["total"]}
"""

INVALID += [
    Case("""
import threading

from django.http import HttpResponse

from entry import OrderEntry


def settle(order):
    order.paid = True
    order.save()  # expect: PS107


def create(request):
    entry = OrderEntry(request.POST)
    if entry.is_valid():
        order = entry.save()
        threading.Thread(target=settle, args=(order,)).start()
    return HttpResponse("ok")
""", files={**_FILES, "entry.py": _PLAIN_FORM},
         note="the row passed is what a project method returns from Order.objects.create"),
]

VALID += [
    Case("""
import threading

from django.http import HttpResponse

from entry import OrderEntry


def settle(order):
    order.save()


def create(request):
    entry = OrderEntry(request.POST)
    if entry.is_valid():
        threading.Thread(target=settle, args=(entry.summary(),)).start()
    return HttpResponse("ok")
""", files={**_FILES, "entry.py": _PLAIN_FORM},
         note="look-alike: the value passed is a dict a project method returns, no model row"),
]

# A management command that rebinds a queryset to a call on itself (`projects =
# projects.union(...)`): reading which model's row a returned value is went round that
# binding until RecursionError (eval61's second run, round 26: an internal error on 146
# files of one Django code base); the command runs no thread and loops over nothing.
_SHOP_PACKAGE = {
    "shop/__init__.py": "",
    "shop/management/__init__.py": "",
    "shop/management/commands/__init__.py": "",
    "shop/models.py": """\
from django.db import models


class Project(models.Model):
    bucket = models.TextField(null=True)
""",
}
VALID += [
    Case("""\
from django.core.management.base import BaseCommand

from shop.models import Project


class Command(BaseCommand):
    def handle(self, **options):
        projects = Project.objects.filter(bucket__isnull=False)
        if options["all"]:
            projects = projects.union(Project.objects.filter(bucket=""))
        if projects.count() == 0:
            return
        ids = projects.values_list("pk", flat=True)
        self.stdout.write(str(list(ids)))
""", files=_SHOP_PACKAGE, path="shop/management/commands/backup.py",
        note="a queryset rebound to a call on itself, in a command with no thread"),
]

# breadth62: a management command that starts one thread per row and joins them (the
# issue's "command starting N threads"): each worker thread opens its own connection
# and nothing closes it (found at main too; kept as a guard, with its look-alike)
_REFRESH = """\
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from shop.models import Project


def refresh(pk):
{body}


class Command(BaseCommand):
    def handle(self, *args, **options):
        pks = list(Project.objects.values_list("pk", flat=True))
        threads = [threading.Thread(target=refresh, args=(pk,)) for pk in pks]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
"""
INVALID += [
    Case(_REFRESH.format(body="""\
    project = Project.objects.get(pk=pk)  # expect: PS107
    project.bucket = (project.bucket or "").strip()
    project.save()"""), files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="a command's N worker threads, each leaving its connection open"),
]
VALID += [
    Case(_REFRESH.format(body="""\
    try:
        project = Project.objects.get(pk=pk)
        project.bucket = (project.bucket or "").strip()
        project.save()
    finally:
        close_old_connections()"""), files=_SHOP_PACKAGE,
         path="shop/management/commands/refresh.py",
         note="look-alike: each worker thread closes its connection in a finally"),
]


# A command loop that runs inside `transaction.atomic` (the decorator on `handle()`, or a
# `with transaction.atomic():` around the loop or around the call of the function that
# loops): the import is one transaction, which holds one connection by design;
# `close_old_connections()` there would close it under the open transaction (large64:
# a paging sync command under `@transaction.atomic`).
_PAGED_SYNC = """
import requests
from django.core.management.base import BaseCommand
from django.db import transaction

from models import Order


class Command(BaseCommand):
{decorator}    def handle(self, *args, **options):
        self.next_url = "https://upstream.example.com/orders"
{call}

    def setup(self):
        Order.objects.filter(total=0).delete()

    def run_import(self):
        while self.next_url:
            page = requests.get(self.next_url, timeout=10).json()
            for row in page["results"]:
                Order.objects.update_or_create(pk=row["id"]){expect}
            self.next_url = page.get("next")
"""
VALID += [
    Case(_PAGED_SYNC.format(decorator="    @transaction.atomic\n",
                            call="        self.run_import()", expect=""),
         files=_FILES, path="shop/management/commands/sync.py",
         note="handle() is @transaction.atomic: the paging loop runs in one transaction"),
    Case(_PAGED_SYNC.format(decorator="    @transaction.atomic()\n",
                            call="        self.run_import()", expect=""),
         files=_FILES, path="shop/management/commands/sync.py",
         note="@transaction.atomic() with parentheses"),
    Case(_PAGED_SYNC.format(decorator="", call="        with transaction.atomic():\n"
                            "            self.setup()\n            self.run_import()", expect=""),
         files=_FILES, path="shop/management/commands/sync.py",
         note="the call of the looping method is inside `with transaction.atomic():`"),
]
INVALID += [
    Case(_PAGED_SYNC.format(decorator="", call="        self.run_import()",
                            expect="  # expect: PS107"),
         files=_FILES, path="shop/management/commands/sync.py",
         note="no transaction around the loop"),
    Case(_PAGED_SYNC.format(decorator="", call="        with transaction.atomic():\n"
                            "            self.setup()\n        self.run_import()",
                            expect="  # expect: PS107"),
         files=_FILES, path="shop/management/commands/sync.py",
         note="the atomic block covers only the set-up, not the call of the loop"),
    Case("""
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            with transaction.atomic():  # expect: PS107
                for order in Order.objects.filter(paid=True):
                    order.delete()
            time.sleep(10)
""", files=_FILES, note="a transaction per iteration inside the loop: the loop itself "
                        "runs outside any transaction"),
]


# A command loop that drains a worklist (`while options["command"]:` with
# `options["command"].pop(0)` in the body, never refilled): the command line's few
# sub-commands, then the loop ends (large64: an admin command walking its arguments).
_WORKLIST = """
from django.core.management.base import BaseCommand

from models import Order


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("command", nargs="*")

    def handle(self, *args, **options):
{setup}        while {test}:
            word = {take}
            if word == "paid":
                Order.objects.filter(paid=False).update(paid=True){expect}
            elif word == "list":
                for order in Order.objects.all():
                    self.stdout.write(str(order.pk)){refill}
"""
VALID += [
    Case(_WORKLIST.format(setup="", test='options["command"]',
                          take='options["command"].pop(0)', expect="", refill=""),
         files=_FILES, path="shop/management/commands/orders.py",
         note="the loop pops the command line's words until none is left"),
    Case(_WORKLIST.format(setup='        pending = list(options["command"])\n',
                          test="len(pending)", take="pending.pop()", expect="",
                          refill=""),
         files=_FILES, path="shop/management/commands/orders.py",
         note="a local worklist drained with pop(), tested through len()"),
]
INVALID += [
    Case(_WORKLIST.format(setup='        pending = list(options["command"])\n',
                          test="pending", take="pending.pop()", expect="  # expect: PS107",
                          refill='\n            pending.append("list")'),
         files=_FILES, path="shop/management/commands/orders.py",
         note="the body puts work back on the list: it may never drain"),
    Case(_WORKLIST.format(setup='        self.queue = list(options["command"])\n',
                          test="self.queue", take="self.queue.pop(0)",
                          expect="  # expect: PS107", refill=""),
         files=_FILES, path="shop/management/commands/orders.py",
         note="an attribute another thread may fill"),
]


# A command loop whose test asks the database whether rows are left and whose body
# updates or deletes rows of that same model, a batch at a time, with no wait: a
# batch drain, ended by the rows running out (large66: a one-shot clean-up command).
_DRAIN = """
{imports}from django.core.management.base import BaseCommand

from models import Invoice, Order


class Command(BaseCommand):
    def handle(self, *args, **options):
{setup}        while {test}:
            batch = Order.objects.filter(paid=False).values_list("pk", flat=True)[:500]{expect}
            {write}{extra}
"""
_UNPAID = "Order.objects.filter(paid=False).exists()"
_SETTLE = "Order.objects.filter(pk__in=list(batch)).update(paid=True)"


def _drain(note: str, write: str = _SETTLE, test: str = _UNPAID, setup: str = "",
           flagged: bool = False, sleeps: bool = False) -> Case:
    code = _DRAIN.format(imports="import time\n\n" if sleeps else "", setup=setup,
                         test=test, write=write,
                         expect="  # expect: PS107" if flagged else "",
                         extra="\n            time.sleep(60)" if sleeps else "")
    return Case(code, files=_FILES, path="shop/management/commands/settle.py", note=note)


VALID += [
    _drain("`while Order.objects.filter(...).exists():` updating those rows in batches"),
    _drain("a local queryset of the model tested by count() (no comparison), rows "
           "deleted in batches", test="stale.count()",
           setup="        stale = Order.objects.filter(paid=False)\n",
           write="Order.objects.filter(pk__in=list(batch)).delete()"),
]
INVALID += [
    _drain("it sleeps between rounds: a poller that waits for new rows, not a drain",
           flagged=True, sleeps=True),
    _drain("the body writes another model: the rows the test counts may never run out",
           write="Invoice.objects.filter(pk__in=list(batch)).update(number='')", flagged=True),
    _drain("the body only reads the rows it tests: nothing drains them",
           write="print(list(Order.objects.filter(pk__in=list(batch))))", flagged=True),
]


# pika (RabbitMQ) consumers: `channel.basic_consume(queue, on_message_callback=f)` and
# `channel.start_consuming()` run `f` message after message for the life of the
# consumer, on the consuming thread, outside any request (breadth68: a Django app's
# stock-update consumer). A module that only publishes, or registers a consumer it
# never runs (`start_consuming()` nowhere), keeps no connection.
_PIKA_CONSUMER = """
import json

import pika
{imports}
from models import Order


def on_order(channel, method, properties, body):
{body}


def main():
    connection = pika.BlockingConnection(pika.ConnectionParameters("localhost"))
    channel = connection.channel()
    channel.queue_declare(queue="orders")
    channel.basic_consume({register})
    {loop}
"""
_PIKA_SAVE = '    Order.objects.create(total=json.loads(body)["total"]){expect}'
_PIKA_CLOSING = ('    try:\n        Order.objects.create(total=json.loads(body)["total"])\n'
                 '    finally:\n        close_old_connections()')


def _pika(note: str, register: str = 'queue="orders", on_message_callback=on_order',
          body: str = _PIKA_SAVE, imports: str = "", loop: str = "channel.start_consuming()",
          flagged: bool = False) -> Case:
    code = _PIKA_CONSUMER.format(
        imports=imports, register=register, loop=loop,
        body=body.format(expect="  # expect: PS107" if flagged else ""))
    return Case(code, files=_FILES, path="consumer.py", note=note)


INVALID += [
    _pika("a pika 1.x consumer callback (`on_message_callback=`) run by "
          "start_consuming()", flagged=True),
    _pika("pika 1.x positional: basic_consume(queue, callback)",
          register='"orders", on_order', flagged=True),
    _pika("pika 0.x: the callback first, basic_consume(callback, queue=...)",
          register='on_order, queue="orders"', flagged=True),
]
VALID += [
    _pika("look-alike: the callback closes in a finally", body=_PIKA_CLOSING,
          imports="from django.db import close_old_connections\n"),
    _pika("look-alike: the consumer is registered but never run (no start_consuming())",
          loop="connection.close()"),
    _pika("look-alike: the callback does no database work",
          body='    print(json.loads(body)){expect}'),
]


# A repository holding two Django projects side by side (`billing/` and `shop/`,
# each with its own `manage.py`) whose apps share names (`orders`): a command of
# one imports `orders.models`, which is its own project's module. The other
# project's `orders/models.py`, read for its own database words, is not the only
# module the import can mean: the command's module imports fine and its loop is
# read (round 29's held Kafka consumer, `while self.running:` calling a method of
# the command, was missed because only the sibling's module was weighed, which
# does not define the model).
_MANAGE = """\
import sys

from django.core.management import execute_from_command_line

if __name__ == "__main__":
    execute_from_command_line(sys.argv)
"""
_SIBLING_PROJECTS = {
    "billing/manage.py": _MANAGE,
    "billing/orders/__init__.py": "",
    "billing/orders/models.py": """\
from django.db import models


class Payment(models.Model):
    amount = models.IntegerField()
""",
    "billing/orders/management/__init__.py": "",
    "billing/orders/management/commands/__init__.py": "",
    "shop/manage.py": _MANAGE,
    "shop/orders/__init__.py": "",
    "shop/orders/models.py": """\
import threading

from django.db import models


class Order(models.Model):
    total = models.IntegerField()

    def recount(self):
        threading.Thread(target=Order.objects.count).start()
""",
}
_SETTLE_COMMAND = """
import time

from django.core.management.base import BaseCommand

from orders.models import {name}


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            self.settle(){expect}
            time.sleep(60)

    def settle(self):
        {name}.objects.filter(amount=0).delete()
"""
INVALID.append(Case(
    _SETTLE_COMMAND.format(name="Payment", expect="  # expect: PS107"),
    files=_SIBLING_PROJECTS, path="billing/orders/management/commands/settle.py",
    note="two Django projects with an `orders` app each: the command's own project "
         "defines the model it imports"))
VALID.append(Case(
    _SETTLE_COMMAND.format(name="Payment, Refund", expect="").replace(
        "Payment, Refund.objects", "Payment.objects"),
    files={k: v for k, v in _SIBLING_PROJECTS.items() if k.startswith("billing/")},
    path="billing/orders/management/commands/settle.py",
    note="look-alike: the project's one `orders.models` defines no `Refund`, so importing "
         "the command raises ImportError and its loop never runs (with or without the "
         "scan's prefilter, which reads the models module for no database word of its own)"))


# A retry loop bounded by its counter: the `try` leaves the loop when the work succeeds,
# every handler counts the attempt or leaves, so it runs at most MAX_ATTEMPTS rounds,
# sleeps included (large68: a one-shot backfill command retrying an HTTP lookup).
_RETRY = """
import time

import requests
from django.core.management.base import BaseCommand

from models import Order

MAX_ATTEMPTS = 3


class Command(BaseCommand):
    def handle(self, *args, **options):
        for order in Order.objects.filter(number=""):
            self.backfill(order)

    def backfill(self, order):
{setup}        while {test}:
            try:
                answer = requests.get("https://erp.example.com/orders", timeout=10)
                Order.objects.filter(pk=order.pk).update(number=answer.text){expect}
{success}            except requests.RequestException:
{handler}                time.sleep(2)
            except ValueError:
                break
"""


def _retry(note: str, setup: str = "        attempts = 0\n",
           test: str = "attempts < MAX_ATTEMPTS", success: str = "                break\n",
           handler: str = "                attempts += 1\n", flagged: bool = False) -> Case:
    code = _RETRY.format(setup=setup, test=test, success=success, handler=handler,
                         expect="  # expect: PS107" if flagged else "")
    return Case(code, files=_FILES, path="shop/management/commands/backfill.py", note=note)


VALID += [
    _retry("`while attempts < MAX_ATTEMPTS:` that breaks on success and counts each "
           "failed attempt before it sleeps"),
    _retry("a counter counted down (`while tries > 0:` ... `tries -= 1`), the bound on "
           "the left, and a `return` on success", setup="        tries = MAX_ATTEMPTS\n",
           test="0 < tries", success="                return\n",
           handler="                tries -= 1\n"),
]
INVALID += [
    _retry("no way out on success: a poller that only counts its errors runs until "
           "they add up", success="                time.sleep(60)\n", flagged=True),
    _retry("the handler sleeps and retries without counting: a lasting outage keeps "
           "it going", handler="", flagged=True),
    _retry("the counter moves away from its bound", handler="                attempts -= 1\n",
           flagged=True),
]


# round 30 (issue 31, prec68): a queue drain that claims one row per round:
# `while (job := get_scheduled_jobs().first()):` whose body first moves that row out of
# the queryset the test reads, through a method of the row's model that sets the
# filtered field to another member of its choices and saves. It ends when no scheduled
# row is left. Still reported: a method that sets the same value, or another field; a
# `continue` that skips the claim; a loop that sleeps between rounds (a poller).
_JOB_MODELS = """\
import os

from django.db import models


class JobMixin(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", "Scheduled"
        RUNNING = "RUNNING", "Running"
        FINISHED = "FINISHED", "Finished"
        FAILED = "FAILED", "Failed"

    status = models.CharField(max_length=15, choices=Status.choices,
                              default=Status.SCHEDULED)
    pid = models.PositiveIntegerField(null=True)

    def mark_running(self):
        self.status = self.Status.RUNNING
        self.pid = os.getpid()
        self.save()

    def mark_scheduled(self):
        self.status = self.Status.SCHEDULED
        self.save()

    def mark_seen(self):
        self.pid = os.getpid()
        self.save()

    def mark_finished(self):
        self.status = self.Status.FINISHED
        self.save()

    def mark_failed(self):
        self.status = self.Status.FAILED
        self.save()

    class Meta:
        abstract = True


class AggregationJob(JobMixin):
    period = models.IntegerField()


class Result(models.Model):
    period = models.IntegerField()
"""
_CLAIMS = """\
{imports}from jobs.models import AggregationJob, JobMixin, Result


def get_scheduled_jobs():
    return AggregationJob.objects.filter(status=JobMixin.Status.SCHEDULED).order_by("id")


def execute_jobs():
    while (job := get_scheduled_jobs().first()):
{skip}        job.{claim}()
        try:
            Result.objects.create(period=job.period){mark}
            job.mark_finished()
        except Exception:
            job.mark_failed(){wait}
"""
_CLAIMS_COMMAND = """\
from django.core.management.base import BaseCommand

from jobs.usecases import execute_jobs


class Command(BaseCommand):
    def handle(self, *args, **options):
        execute_jobs()
"""


def _claims(note: str, claim: str = "mark_running", skip: str = "", sleeps: bool = False,
            flagged: bool = False) -> Case:
    code = _CLAIMS.format(imports="import time\n\n" if sleeps else "", skip=skip, claim=claim,
                          mark="  # expect: PS107" if flagged else "",
                          wait="\n        time.sleep(30)" if sleeps else "")
    return Case(code, path="jobs/usecases.py", note=note, files={
        "jobs/__init__.py": "", "jobs/models.py": _JOB_MODELS,
        "jobs/management/__init__.py": "", "jobs/management/commands/__init__.py": "",
        "jobs/management/commands/run_jobs.py": _CLAIMS_COMMAND})


VALID += [
    _claims("each round marks the row it took RUNNING (a model method that saves): the "
            "drain ends when no SCHEDULED row is left"),
]
INVALID += [
    _claims("look-alike: the method sets the value the test selects: the same row comes "
            "back", claim="mark_scheduled", flagged=True),
    _claims("look-alike: the method changes another field", claim="mark_seen", flagged=True),
    _claims("look-alike: a `continue` skips the claim: the row stays scheduled",
            skip="        if job.period < 0:\n            continue\n", flagged=True),
    _claims("look-alike: it sleeps between rounds: a poller that waits for new rows",
            sleeps=True, flagged=True),
]


# What `close_old_connections()` does, spelled out: the loop closes each connection of
# the thread that is broken or past CONN_MAX_AGE (breadth68c, issue 31).
_SWEEP_COMMAND = """
import time

from django.core.management.base import BaseCommand
from django.db import {imported}

from shop.models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
{sweep}
            Order.objects.filter(paid=False).delete(){expect}
            time.sleep(60)
"""
_SWEEP_FILES = {"shop/__init__.py": "", "shop/models.py": _MODELS,
                "shop/management/__init__.py": "",
                "shop/management/commands/__init__.py": "",
                "shop/pool.py": ("class Pool:\n    def all(self):\n        return []\n\n\n"
                                 "pool = Pool()\n")}


def _sweep(note: str, sweep: str, imported: str = "connections",
           flagged: bool = False) -> Case:
    code = _SWEEP_COMMAND.format(imported=imported, sweep=sweep,
                                 expect="  # expect: PS107" if flagged else "")
    return Case(code, files=_SWEEP_FILES, path="shop/management/commands/sweep.py", note=note)


VALID += [
    _sweep("each round closes every stale connection by hand, as close_old_connections() "
           "does", "            for conn in connections.all():\n"
                   "                conn.close_if_unusable_or_obsolete()"),
    _sweep("each round closes every connection of the thread",
           "            for conn in connections.all():\n                conn.close()"),
    _sweep("each round closes the default alias's stale connection",
           '            connections["default"].close_if_unusable_or_obsolete()'),
    _sweep("each round closes `connection` when it is stale",
           "            connection.close_if_unusable_or_obsolete()", imported="connection"),
]
INVALID += [
    _sweep("look-alike: the loop over the connections only opens them",
           "            for conn in connections.all():\n                conn.ensure_connection()",
           flagged=True),
    _sweep("look-alike: the closed names come from another object's `all()`",
           "            for conn in pool.all():\n"
           "                conn.close_if_unusable_or_obsolete()",
           imported="connections\n\nfrom shop.pool import pool", flagged=True),
]


# pyTelegramBotAPI middlewares and project subclasses of `TeleBot` (breadth70, issue 33): a
# class middleware handed to `bot.setup_middleware(...)` has its `pre_process` run before
# every handler (and `post_process` after it) on the handler's thread; a
# `@bot.middleware_handler` function runs in the polling loop for every update; a project
# class derived from `TeleBot` runs its handlers as `TeleBot` does.
_TELEBOT_MIDDLEWARE = """
import telebot
from telebot.handler_backends import BaseMiddleware

from models import Order

bot = telebot.TeleBot("token", use_class_middlewares=True)


class {base}
    def __init__(self):
        super().__init__()
        self.update_types = ["message"]

{methods}

bot.setup_middleware({installed})
"""


def _telebot_middleware(note: str, methods: str, installed: str = "Tracker()",
                        base: str = "Tracker(BaseMiddleware):", extra: str = "") -> Case:
    return Case(_TELEBOT_MIDDLEWARE.format(base=base, methods=methods, installed=installed)
                + extra, files=_FILES, note=note)


INVALID += [
    _telebot_middleware(
        "a class middleware's pre_process runs before every handler on the handler's thread",
        "    def pre_process(self, message, data):\n"
        "        data[\"open\"] = Order.objects.filter(paid=False).count()  # expect: PS107\n\n"
        "    def post_process(self, message, data, exception):\n"
        "        pass\n"),
    _telebot_middleware(
        "post_process, inherited from a project base middleware, runs after every handler",
        "    pass\n",
        base="Tracker(Audit):",
        extra=("\n\nclass Audit(BaseMiddleware):\n"
               "    def pre_process(self, message, data):\n"
               "        pass\n\n"
               "    def post_process(self, message, data, exception):\n"
               "        Order.objects.filter(id=message.chat.id).update(paid=True)"
               "  # expect: PS107\n")),
    Case("""
import telebot

from models import Order

bot = telebot.TeleBot("token")


@bot.middleware_handler(update_types=["message"])
def count_open(bot_instance, message):
    message.open_orders = Order.objects.filter(paid=False).count()  # expect: PS107
""", files=_FILES, note="a function middleware runs in the polling loop for every update"),
    Case("""
from telebot import TeleBot

from models import Order


class ReplyBot(TeleBot):
    def answer(self, message, text):
        self.send_message(message.chat.id, text)


bot = ReplyBot("token")


@bot.message_handler(commands=["paid"])
def mark_paid(message):
    Order.objects.filter(id=int(message.text)).update(paid=True)  # expect: PS107
    bot.answer(message, "done")
""", files=_FILES, note="a project subclass of TeleBot runs its handlers as TeleBot does"),
]

VALID += [
    _telebot_middleware(
        "the middleware closes the thread's stale connections in a finally",
        "    def pre_process(self, message, data):\n"
        "        try:\n"
        "            data[\"open\"] = Order.objects.filter(paid=False).count()\n"
        "        finally:\n"
        "            close_old_connections()\n\n"
        "    def post_process(self, message, data, exception):\n"
        "        pass\n",
        extra="\n\nfrom django.db import close_old_connections\n"),
    _telebot_middleware(
        "a middleware without database work",
        "    def pre_process(self, message, data):\n"
        "        data[\"seen\"] = True\n\n"
        "    def post_process(self, message, data, exception):\n"
        "        pass\n"),
    Case("""
from models import Order


class Pipeline:
    def setup_middleware(self, middleware):
        self.middleware = middleware


class Tracker:
    def pre_process(self, message, data):
        data["open"] = Order.objects.filter(paid=False).count()


pipeline = Pipeline()
pipeline.setup_middleware(Tracker())
""", files=_FILES, note="look-alike: a project class's setup_middleware, not TeleBot's"),
    Case("""
from models import Order


class Router:
    def message_handler(self, **filters):
        return lambda f: f


class ReplyRouter(Router):
    pass


router = ReplyRouter()


@router.message_handler(commands=["paid"])
def mark_paid(message):
    Order.objects.filter(id=int(message.text)).update(paid=True)
""", files=_FILES, note="look-alike: a subclass of a project router, not of TeleBot"),
]

# A queue daemon whose every round is one `with transaction.atomic():` block inside a
# `try` that catches `OperationalError`, sleeps and retries: one connection per worker
# is the design, and a dead one is not kept (atomic()'s rollback fails on it, Django
# closes it, the next round reconnects). Work outside the block, or no handler that
# goes on, stays reported.
_ATOMIC_DAEMON = """
import time

from django.core.management.base import BaseCommand
from django.db import OperationalError, transaction
from models import Order


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
{pre}            try:
                with transaction.atomic():  {mark}
                    order = Order.objects.select_for_update(skip_locked=True).filter(
                        paid=False).first()
                    if order is not None:
                        order.paid = True
                        order.save()
            except {caught}:
{handler}
            time.sleep(1)
"""
VALID += [
    Case(_ATOMIC_DAEMON.format(pre="", mark="", caught="OperationalError",
                               handler="                time.sleep(1)\n"),
         files=_FILES, note="each round is one atomic block; a dead connection is closed "
                            "by the failed rollback and the next round reconnects"),
    Case(_ATOMIC_DAEMON.format(pre="", mark="", caught="(OperationalError, InterfaceError)",
                               handler="                self.stderr.write('retrying')\n"
                               ).replace("OperationalError, transaction",
                                         "InterfaceError, OperationalError, transaction"),
         files=_FILES, note="the same, catching a tuple of connection errors"),
]
INVALID += [
    Case(_ATOMIC_DAEMON.format(
        pre="            pending = Order.objects.filter(paid=False).count()  # expect: PS107\n"
            "            self.stdout.write(str(pending))\n",
        mark="", caught="OperationalError", handler="                time.sleep(1)\n"),
         files=_FILES, note="an autocommit query before the block: on a dead connection it "
                            "fails round after round, nothing closes it"),
    Case(_ATOMIC_DAEMON.format(pre="", mark="# expect: PS107", caught="OperationalError",
                               handler="                time.sleep(1)\n                raise\n"),
         files=_FILES, note="the handler raises: nothing goes on after a dead connection, "
                            "and the loop is an ordinary daemon loop"),
    Case(_ATOMIC_DAEMON.format(pre="", mark="# expect: PS107", caught="ValueError",
                               handler="                time.sleep(1)\n"),
         files=_FILES, note="the handler does not catch a connection error"),
]

# A project decorator whose wrapper closes every connection of the thread in a loop over
# `connections.all()` (breadth76, issue 33: uktrade/data-workspace-frontend's
# `close_all_connections_if_not_in_atomic_block` around a polling thread's target). The
# loop's close was known in a function's own body; in a decorator's nested wrapper it was
# not, so the decorated target was reported. A wrapper whose loop only opens the
# connections stays reported.
_LOOP_CLOSING_DECORATOR = """
import threading
import time
from functools import wraps

from django.db import connections
from models import Order


def closes_connections(f):
    @wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        finally:
            for conn in connections.all():
{close}


    return wrapper


@closes_connections
def wait_paid(order_id):
    while not Order.objects.filter(id=order_id, paid=True).exists():{expect}
        time.sleep(1)


def watch(order_id):
    threading.Thread(target=wait_paid, args=(order_id,)).start()
"""
VALID += [
    Case(_LOOP_CLOSING_DECORATOR.format(close="                conn.close()", expect=""),
         files=_FILES, note="a project decorator's wrapper closes each of connections.all() "
                            "in a finally around the thread target"),
    Case(_LOOP_CLOSING_DECORATOR.format(
        close="                if not conn.in_atomic_block:\n                    conn.close()",
        expect=""),
         files=_FILES, note="the same, skipping a connection inside an atomic block "
                            "(a thread's target opened none)"),
    Case("""
import threading
import time
from functools import wraps

from django.db import connections
from models import Order


def run_then_close(f):
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        finally:
            for conn in connections.all():
                conn.close_if_unusable_or_obsolete()

    return wrapper


def poller(query_id):
    @run_then_close
    def poll():
        while not Order.objects.filter(id=query_id, paid=True).exists():
            time.sleep(1)

    thread = threading.Thread(target=poll)
    thread.start()
    thread.join()
""", files=_FILES, note="a nested thread target under a project decorator whose wrapper "
                       "closes each stale connection"),
]
INVALID += [
    Case(_LOOP_CLOSING_DECORATOR.format(close="                conn.ensure_connection()",
                                        expect="  # expect: PS107"),
         files=_FILES, note="look-alike: the wrapper's loop over the connections only opens "
                            "them"),
]

# breadth78b (issue 33, tune half): a daemon command whose loop runs until an optional
# count is reached, `while count is None or rounds < count:` with `--count` defaulting
# to None. The body sets `rounds`, so the loop was read as a batch loop the body ends;
# but the first operand of the `or` reads nothing the body sets: while it holds, the
# loop never ends by its test, and it sleeps between rounds. Every operand of an `or`
# test must be advanced by the body for the loop to count as one that ends with the
# data. The look-alike pages until a cursor runs out: both operands read the name the
# body sets.
_OPTIONAL_COUNT = """\
import time

from django.core.management.base import BaseCommand

from shop.models import Project


class Command(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=None)

    def handle(self, *args, **options):
        count = options["count"]
        rounds = 0
        while {test}:
            Project.objects.create(bucket=str(rounds)){expect}
            rounds += 1
            time.sleep(300)
"""
INVALID += [
    Case(_OPTIONAL_COUNT.format(test="count is None or rounds < count",
                                expect="  # expect: PS107"),
         files=_SHOP_PACKAGE, path="shop/management/commands/collect.py",
         note="a daemon loop until an optional count: `count is None or rounds < count`, "
              "count None by default"),
    Case(_OPTIONAL_COUNT.format(test="not count or rounds < count",
                                expect="  # expect: PS107"),
         files=_SHOP_PACKAGE, path="shop/management/commands/collect.py",
         note="the same with `not count or ...`"),
]
VALID += [
    Case("""\
import time

from django.core.management.base import BaseCommand

from shop.models import Project
from shop.remote import fetch_page


class Command(BaseCommand):
    def handle(self, *args, **options):
        cursor = None
        first = True
        while first or cursor:
            page = fetch_page(cursor)
            for name in page["names"]:
                Project.objects.create(bucket=name)
            cursor = page["next"]
            first = False
            time.sleep(1)
""", files={**_SHOP_PACKAGE, "shop/remote.py": "def fetch_page(cursor):\n    return {}\n"},
         path="shop/management/commands/sync.py",
         note="look-alike: a paging loop whose every `or` operand reads a name the body "
              "sets (`first or cursor`), sleeping to spare the API"),
]

# breadth79 (issue 33, tune half): a daemon command (`while True:`, a sleep, a filter and
# a save each round) over a model whose base class comes from a third-party Django
# application's `models` module (django-extensions' `TimeStampedModel`, django-model-utils,
# django-polymorphic, django-mptt, ...), not from `django.db.models` itself: the model
# was not known as one, so its manager was not database work. A base from such a module
# makes a model as `django.db.models.Model` does. The look-alike's `objects` is a
# MongoEngine document's: no Django connection.
_DAEMON_MAILER = """\
import time

from django.core.management.base import BaseCommand

from mail.models import Email


class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            time.sleep(3)
            for email in Email.objects.filter(is_sent=False):{expect}
                email.is_sent = True
                email.save()
"""
_MAIL_PACKAGE = {
    "mail/__init__.py": "",
    "mail/management/__init__.py": "",
    "mail/management/commands/__init__.py": "",
}
_MAIL_MODELS = """\
from django.db import models
from {module} import {base}


class Email({base}):
    to = models.EmailField()
    is_sent = models.BooleanField(default=False)
"""
INVALID += [
    Case(_DAEMON_MAILER.format(expect="  # expect: PS107"),
         files={**_MAIL_PACKAGE, "mail/models.py": _MAIL_MODELS.format(
             module="django_extensions.db.models", base="TimeStampedModel")},
         path="mail/management/commands/send_mail.py",
         note="a daemon command over a model derived from django-extensions' "
              "TimeStampedModel"),
    Case(_DAEMON_MAILER.format(expect="  # expect: PS107"),
         files={**_MAIL_PACKAGE, "mail/models.py": _MAIL_MODELS.format(
             module="model_utils.models", base="TimeStampedModel")},
         path="mail/management/commands/send_mail.py",
         note="the same over django-model-utils' TimeStampedModel (no `django_` prefix)"),
]
VALID += [
    Case(_DAEMON_MAILER.format(expect=""),
         files={**_MAIL_PACKAGE, "mail/models.py": """\
from mongoengine import BooleanField, Document, StringField


class Email(Document):
    to = StringField()
    is_sent = BooleanField(default=False)
"""},
         path="mail/management/commands/send_mail.py",
         note="look-alike: the `objects` of a MongoEngine document, no Django connection"),
]

# breadth79 (issue 33, the lead's policy on breadth78b's transmanager commands): threads
# that a ONE-SHOT management command starts and waits for before `handle()` returns
# (joined, or tasks of a pool the command shuts down, `with ThreadPoolExecutor() as
# pool:`) hold their per-thread connections no longer than the command's process: not a
# leak. breadth62's "a command's N worker threads" case is such a command: it moves from
# INVALID to VALID. Still reported: a command that loops for ever (each round starts new
# threads), threads it does not wait for (no join, a join of the last thread only, a pool
# never shut down or shut down with `wait=False`), and the same joined threads started
# from long-lived code (a view, or a command a view runs through `call_command`).
INVALID.remove(next(
    c for c in INVALID
    if c.note == "a command's N worker threads, each leaving its connection open"))
_WORKER = """\
def refresh(pk):
    project = Project.objects.get(pk=pk){expect}
    project.bucket = (project.bucket or "").strip()
    project.save()
"""
_ONE_SHOT_HEAD = """\
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand

from shop.models import Project


"""
VALID += [
    Case(_REFRESH.format(body="""\
    project = Project.objects.get(pk=pk)
    project.bucket = (project.bucket or "").strip()
    project.save()"""), files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="a one-shot command's N worker threads, all joined before handle() returns"),
    Case(_ONE_SHOT_HEAD + _WORKER.format(expect="") + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        pks = list(Project.objects.values_list("pk", flat=True))
        with ThreadPoolExecutor(max_workers=8) as pool:
            pool.map(refresh, pks)
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="a one-shot command's pool tasks; the `with` exit ends the workers"),
    Case(_ONE_SHOT_HEAD + """\
class Command(BaseCommand):
    def handle(self, *args, **options):
        self.refresh_all(list(Project.objects.values_list("pk", flat=True)))

    def refresh_all(self, pks):
        threads = []
        for pk in pks:
            thread = threading.Thread(target=self.refresh, args=(pk,))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()

    def refresh(self, pk):
        project = Project.objects.get(pk=pk)
        project.save()
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="a command's method, called once by handle(), joins every thread it "
              "appended"),
]
INVALID += [
    Case(_ONE_SHOT_HEAD + _WORKER.format(expect="  # expect: PS107") + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        while True:
            pks = list(Project.objects.values_list("pk", flat=True))  # expect: PS107
            threads = [threading.Thread(target=refresh, args=(pk,)) for pk in pks]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            time.sleep(60)
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="look-alike: a daemon command joins each round's threads, but loops for ever"),
    Case(_ONE_SHOT_HEAD + _WORKER.format(expect="  # expect: PS107") + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        for pk in Project.objects.values_list("pk", flat=True):
            threading.Thread(target=refresh, args=(pk,), daemon=True).start()
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="look-alike: a one-shot command that does not join its threads"),
    Case(_ONE_SHOT_HEAD + _WORKER.format(expect="  # expect: PS107") + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        for pk in Project.objects.values_list("pk", flat=True):
            thread = threading.Thread(target=refresh, args=(pk,))
            thread.start()
        thread.join()
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="look-alike: the join after the loop waits for the last thread only"),
    Case(_ONE_SHOT_HEAD + _WORKER.format(expect="  # expect: PS107") + """

class Command(BaseCommand):
    def handle(self, *args, **options):
        pool = ThreadPoolExecutor(max_workers=8)
        for pk in Project.objects.values_list("pk", flat=True):
            pool.submit(refresh, pk)
        pool.shutdown(wait=False)
""", files=_SHOP_PACKAGE, path="shop/management/commands/refresh.py",
         note="look-alike: a pool shut down without waiting for its workers"),
    Case("""\
import threading

from django.http import HttpResponse

from shop.models import Project


def refresh(pk):
    project = Project.objects.get(pk=pk)  # expect: PS107
    project.save()


def refresh_view(request):
    threads = [threading.Thread(target=refresh, args=(pk,))
               for pk in Project.objects.values_list("pk", flat=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return HttpResponse("ok")
""", files=_SHOP_PACKAGE, path="shop/views.py",
         note="look-alike: a view joins its threads, but in a long-lived server process"),
    Case(_REFRESH.format(body="""\
    project = Project.objects.get(pk=pk)  # expect: PS107
    project.save()"""), files={**_SHOP_PACKAGE, "shop/views.py": """\
from django.core.management import call_command
from django.http import HttpResponse


def refresh_view(request):
    call_command("refresh")
    return HttpResponse("ok")
"""}, path="shop/management/commands/refresh.py",
         note="look-alike: the joining command is also run by a view (`call_command`): "
              "not one-shot"),
]

# breadth79: the same policy for a one-shot script (`django.setup()`, then `main()` run
# from `if __name__ == "__main__":`) that joins its threads; its look-alike runs the
# rounds for ever.
_JOINING_SCRIPT = """\
import threading
import time

import django

django.setup()

from shop.models import Project  # noqa: E402


def refresh(pk):
    project = Project.objects.get(pk=pk){expect}
    project.save()


def main():
{loop}    threads = [threading.Thread(target=refresh, args=(pk,)) for pk in range(10)]
{indent}for thread in threads:
{indent}    thread.start()
{indent}for thread in threads:
{indent}    thread.join()
{sleep}

if __name__ == "__main__":
    main()
"""
VALID += [
    Case(_JOINING_SCRIPT.format(expect="", loop="", indent="    ", sleep=""),
         files=_SHOP_PACKAGE, path="refresh_all.py",
         note="a one-shot script's main() joins its threads"),
]
INVALID += [
    Case(_JOINING_SCRIPT.format(expect="  # expect: PS107", loop="    while True:\n    ",
                                indent="        ", sleep="        time.sleep(60)"),
         files=_SHOP_PACKAGE, path="refresh_all.py",
         note="look-alike: the script's main() joins each round's threads but loops for ever"),
]

# breadth82: an APScheduler scheduler a project function is handed as an argument
# (`analysis/handed_instances.py`): the job list kept in a helper, the scheduler built
# where it is started (a management command, a view)
_B82_JOBS = """
from django_apscheduler import util

from models import Order


def expire_orders():
    Order.objects.filter(paid=False).delete(){expect}


@util.close_old_connections
def purge_orders():
    Order.objects.filter(paid=True).delete()


def register(scheduler):
    scheduler.add_job(expire_orders, "interval", minutes=5)
    scheduler.add_job(purge_orders, "interval", hours=1)
    scheduler.start()
"""
_B82_COMMAND = """
from apscheduler.schedulers.blocking import BlockingScheduler
from django.core.management.base import BaseCommand

from jobs import register


class Command(BaseCommand):
    def handle(self, *args, **options):
        register(BlockingScheduler())
"""
_B82_VIEW = """
from apscheduler.schedulers.background import BackgroundScheduler
from django.http import HttpResponse

from jobs import register


def home(request):
    scheduler = BackgroundScheduler()
    register(scheduler)
    return HttpResponse("ok")
"""
INVALID += [
    Case(_B82_JOBS.format(expect="  # expect: PS107"), path="jobs.py",
         files={**_FILES, "management/commands/runjobs.py": _B82_COMMAND},
         note="the scheduler reaches `add_job` as a parameter; the only caller, a "
              "management command, passes a BlockingScheduler()"),
    Case(_B82_JOBS.format(expect="  # expect: PS107"), path="jobs.py",
         files={**_FILES, "management/commands/runjobs.py": _B82_COMMAND, "views.py": _B82_VIEW},
         note="two callers, each passing a scheduler (one through a local)"),
]
VALID += [
    Case(_B82_JOBS.format(expect=""), path="jobs.py",
         files={**_FILES, "management/commands/runjobs.py": _B82_COMMAND,
                "queue.py": """
from jobs import register


class Queue:
    def add_job(self, func, *args, **kwargs):
        func()

    def start(self):
        return None


register(Queue())
"""},
         note="look-alike: another caller hands a project object with its own add_job; "
              "the parameter is not known to be a scheduler"),
    Case(_B82_JOBS.format(expect=""), path="jobs.py", files=dict(_FILES),
         note="look-alike: nobody calls the function that registers the jobs"),
]

# Thread targets named at run time: `getattr(obj, "name")` with a literal name is
# `obj.name`; `super().name` / `super(Cls, self).name` in a method of a class with one
# base is the base's method.
_GETATTR_SYNC = """\
import threading

from django.db import connection

from models import Order


class Reconciler:
    def reconcile(self):
{guard}        Order.objects.filter(paid=False).update(paid=True){expect}
{close}
    def start(self):
        threading.Thread(target=getattr(self, {name}), daemon=True).start()

    def rename(self):
        return None
"""

_SUPER_JOB = """\
import threading

from models import Order


class {base_def}:
    def settle(self):
        Order.objects.filter(paid=False).update(paid=True){expect}


class NightlySettle({bases}):
    def settle(self):
        threading.Thread(target={call}.settle, daemon=True).start()
"""

INVALID += [
    Case(_GETATTR_SYNC.format(guard="", expect="  # expect: PS107", close="",
                              name='"reconcile"'), path="reconcile.py", files=dict(_FILES),
         note='`Thread(target=getattr(self, "reconcile"))`: the literal names the method'),
    Case(_SUPER_JOB.format(base_def="BaseSettle", expect="  # expect: PS107",
                           bases="BaseSettle", call="super()"),
         path="settle.py", files=dict(_FILES),
         note="`Thread(target=super().settle)`: the one base's method runs on the thread"),
    Case(_SUPER_JOB.format(base_def="BaseSettle", expect="  # expect: PS107",
                           bases="BaseSettle", call="super(NightlySettle, self)"),
         path="settle.py", files=dict(_FILES),
         note="the two-argument `super(NightlySettle, self).settle`"),
]
VALID += [
    Case(_GETATTR_SYNC.format(guard="        try:\n    ", expect="",
                              close="        finally:\n            connection.close()\n",
                              name='"reconcile"'),
         path="reconcile.py", files=dict(_FILES),
         note="look-alike: the method the literal names closes in a `finally`"),
    Case(_GETATTR_SYNC.format(guard="", expect="", close="", name='"rename"'),
         path="reconcile.py", files=dict(_FILES),
         note="look-alike: the literal names a method with no database work"),
    Case(_GETATTR_SYNC.format(guard="", expect="", close="", name="self.action"),
         path="reconcile.py", files=dict(_FILES),
         note="look-alike: the name is held in an attribute, not known"),
    Case(_SUPER_JOB.format(base_def="BaseSettle", expect="", bases="Job",
                           call="super()").replace(
        "from models import Order\n", "from models import Order\nfrom scheduler import Job\n"),
         path="settle.py", files=dict(_FILES),
         note="look-alike: the class's one base is a library's: `super().settle` is not "
              "the project's method of that name"),
]

_ASYNC_POLLER = """\
import asyncio

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection

from models import Order


async def watch_paid():
    rounds = 0
    while True:
        async for order in Order.objects.filter(paid=True):
            print(order.pk)
{close}        rounds += 1
        await asyncio.sleep(5)


class Command(BaseCommand):
    def handle(self, *args, **options):
        asyncio.run(watch_paid())
"""

VALID += [
    Case(_ASYNC_POLLER.format(
        close="        await sync_to_async(close_old_connections)()\n"),
         path="shop/management/commands/watch.py", files=dict(_FILES),
         note="a coroutine's polling loop that closes through `sync_to_async(close)()`: "
              "thread-sensitive by default, the thread the async ORM's queries use"),
    Case(_ASYNC_POLLER.format(
        close="        if rounds % 100 == 0:\n"
              "            await sync_to_async(connection.close)()\n"),
         path="shop/management/commands/watch.py", files=dict(_FILES),
         note="the same every hundredth round, with `connection.close` wrapped"),
]

_NESTED_HELPER = """\
import threading
from functools import wraps

from django.db import connection

from models import Order


def retried(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Settler:
    def settle(self):
{body}

def start():
    worker = Settler()
    threading.Thread(target=worker.settle).start()
"""

_CLAIM = "return Order.objects.filter(paid=False).first()"


def _settle_body(decorator: str, work: str, expect: str) -> str:
    return (f"{decorator}        def _claim():\n            {work}\n\n"
            f"        _claim(){expect}\n")


INVALID += [
    Case(_NESTED_HELPER.format(body=_settle_body("        @retried\n", _CLAIM,
                                                 "  # expect: PS107")),
         path="settle.py", files=dict(_FILES),
         note="the thread's method does its database work through a helper defined in "
              "itself, wrapped by a project retry decorator"),
    Case(_NESTED_HELPER.format(body=_settle_body("", _CLAIM, "  # expect: PS107")),
         path="settle.py", files=dict(_FILES),
         note="the same helper, not decorated"),
]
VALID += [
    Case(_NESTED_HELPER.format(body=(
        "        try:\n"
        + "".join(("    " + line if line else line) + "\n"
                  for line in _settle_body("        @retried\n", _CLAIM, "").splitlines())
        + "        finally:\n            connection.close()\n")),
         path="settle.py", files=dict(_FILES),
         note="look-alike: the method closes the thread's connection in a `finally`"),
    Case(_NESTED_HELPER.format(body=_settle_body("        @retried\n", "return len('paid')", "")),
         path="settle.py", files=dict(_FILES),
         note="look-alike: the nested helper does no database work"),
]

# A thread target that is a method of a class a project method returns (`jobclass =
# self.get_jobclass(); Thread(target=jobclass.run)`): the class is the one every return
# of the method names, or the project class the starter asserts it derives from
# (`assert issubclass(jobclass, Job)` after a method its subclasses override).
_RETURNED_CLASS = """\
import threading

from django.db import connection

from models import Order


class Job:
    @staticmethod
    def run(order_id):
{run}

class Task:
    def get_jobclass(self):
{returns}

    def start(self, order_id):
        jobclass = self.get_jobclass()
{check}        threading.Thread(target=jobclass.run, args=(order_id,)).start()
"""

_JOB_WORK = "        Order.objects.filter(id=order_id).update(paid=True)"

INVALID += [
    Case(_RETURNED_CLASS.format(run=_JOB_WORK + "  # expect: PS107",
                                returns="        return Job", check=""),
         path="jobs.py", files=dict(_FILES),
         note="the thread runs a method of the class a project method returns"),
    Case(_RETURNED_CLASS.format(run=_JOB_WORK + "  # expect: PS107",
                                returns="        pass  # subclasses name their job",
                                check="        assert issubclass(jobclass, Job)\n"),
         path="jobs.py", files=dict(_FILES),
         note="the returned class is only asserted to derive from a project class "
              "(django-task's `get_jobclass()`)"),
]
VALID += [
    Case(_RETURNED_CLASS.format(run=("        try:\n    " + _JOB_WORK
                                     + "\n        finally:\n            connection.close()"),
                                returns="        return Job", check=""),
         path="jobs.py", files=dict(_FILES),
         note="look-alike: the returned class's method closes the thread's connection"),
    Case(_RETURNED_CLASS.format(run="        print(order_id)",
                                returns="        pass  # subclasses name their job",
                                check="        assert issubclass(jobclass, Job)\n"),
         path="jobs.py", files=dict(_FILES),
         note="look-alike: the asserted class's method does no database work"),
]
