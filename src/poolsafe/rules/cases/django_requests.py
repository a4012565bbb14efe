"""Django's `ATOMIC_REQUESTS`: cases for PS207.

With `"ATOMIC_REQUESTS": True` in a `DATABASES` entry, Django runs every sync view
inside `transaction.atomic()`: from the view's first query the request holds the
connection in a transaction until the response is built.
"""

from poolsafe.rules.base import Case

_SETTINGS = """\
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "shop",
        "ATOMIC_REQUESTS": True,
    }
}
"""

_PLAIN_SETTINGS = """\
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop"}}
"""

_MODELS = """\
from django.db import models


class Order(models.Model):
    state = models.CharField(max_length=20)
"""

_VIEWS = """\
import requests
from django.db import transaction
from django.http import JsonResponse
from rest_framework.views import APIView

from shop.models import Order

PAY = "https://pay.example.com/charge"
"""


def _files(settings: str = _SETTINGS) -> dict[str, str]:
    return {"shop/settings.py": settings, "shop/models.py": _MODELS, "shop/__init__.py": ""}


PS207_INVALID: list[Case] = [
    Case(_VIEWS + """

def pay(request, order_id):
    order = Order.objects.select_for_update().get(pk=order_id)
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    order.state = "paid"
    order.save()
    return JsonResponse({"ok": True})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a function view's HTTP call after its first query"),
    Case(_VIEWS + """

class Refund(APIView):
    def post(self, request, pk):
        order = Order.objects.get(pk=pk)
        order.save(update_fields=["state"])
        requests.post(PAY, json={"id": order.id, "refund": True}, timeout=10)  # expect: PS207
        return JsonResponse({})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a DRF view method runs in the request's transaction too"),
]

PS207_VALID: list[Case] = [
    Case(_VIEWS + """

def pay(request, order_id):
    order = Order.objects.select_for_update().get(pk=order_id)
    requests.post(PAY, json={"id": order.id}, timeout=10)
    return JsonResponse({"ok": True})
""", files=_files(_PLAIN_SETTINGS), path="shop/views.py",
         note="without ATOMIC_REQUESTS Django runs each query in autocommit"),
    Case(_VIEWS + """

@transaction.non_atomic_requests
def pay(request, order_id):
    order = Order.objects.get(pk=order_id)
    requests.post(PAY, json={"id": order.id}, timeout=10)
    return JsonResponse({"ok": True})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a view decorated non_atomic_requests is left out"),
    Case(_VIEWS + """

def quote(request):
    rate = requests.get("https://fx.example.com/rate", timeout=5).json()
    Order.objects.create(state=str(rate))
    return JsonResponse({"ok": True})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: the call comes before the view's first query"),
    Case(_VIEWS + """

async def pay(request, order_id):
    order = await Order.objects.aget(pk=order_id)
    requests.post(PAY, json={"id": order.id}, timeout=10)
    return JsonResponse({"ok": True})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: Django cannot make an async view atomic"),
]

_SETTINGS_FUNCTION = """\
import os


def database():
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.getenv("DB_NAME", "shop"),
        "ATOMIC_REQUESTS": True,
    }


DATABASES = {"default": database()}
"""

_TEST_SETTINGS = """\
import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def django_db_setup():
    settings.DATABASES["default"] = {"ENGINE": "django.db.backends.postgresql",
                                     "NAME": "test", "ATOMIC_REQUESTS": True}
"""

PS207_INVALID.append(Case(_VIEWS + """

def pay(request, order_id):
    order = Order.objects.get(pk=order_id)
    order.save(update_fields=["state"])
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({"ok": True})
""", files=_files(_SETTINGS_FUNCTION), path="shop/views.py",
    note="ATOMIC_REQUESTS set in the dict a settings function returns"))

PS207_VALID.append(Case(_VIEWS + """

def pay(request, order_id):
    order = Order.objects.get(pk=order_id)
    requests.post(PAY, json={"id": order.id}, timeout=10)
    return JsonResponse({"ok": True})
""", files={**_files(_PLAIN_SETTINGS), "tests/conftest.py": _TEST_SETTINGS},
    path="shop/views.py", note="ATOMIC_REQUESTS set only by a test fixture"))

_MODELS_WITH_NOTICE = """\
import requests
from django.db import models


class Order(models.Model):
    state = models.CharField(max_length=20)

    def notify_carrier(self):
        requests.post("https://carrier.example.com/pickups", json={"id": self.pk}, timeout=10)

    def label(self):
        return f"order {self.pk}: {self.state}"
"""

_VIEWSET = _VIEWS.replace("from rest_framework.views import APIView",
                          "from django.shortcuts import get_object_or_404\n"
                          "from rest_framework import viewsets")

PS207_INVALID.append(Case(_VIEWSET + """

class Orders(viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def pay(self, request, pk):
        order = self.get_object()
        order.save(update_fields=["state"])
        requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
        return JsonResponse({})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: a DRF view's `self.get_object()` runs the view's query"))

PS207_INVALID.append(Case(_VIEWSET + """

def pay(request, pk):
    order = get_object_or_404(Order, pk=pk)
    order.save(update_fields=["state"])
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: Django's `get_object_or_404()` runs a query"))

PS207_INVALID.append(Case(_VIEWSET + """

class Orders(viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def ship(self, request, pk):
        order = self.get_object()
        order.save(update_fields=["state"])
        order.notify_carrier()  # expect: PS207
        return JsonResponse({})
""", files={**_files(), "shop/models.py": _MODELS_WITH_NOTICE}, path="shop/views.py",
    note="ATOMIC_REQUESTS: `self.get_object()` is an instance of the view's model, whose "
         "method makes the HTTP call"))

PS207_VALID.append(Case(_VIEWSET + """

class Orders(viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def quote(self, request):
        serializer = self.get_serializer(data=request.data)
        requests.post(PAY, json={"quote": serializer.initial_data}, timeout=10)
        return JsonResponse({})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: `self.get_serializer()` runs no query"))

PS207_VALID.append(Case(_VIEWSET + """

def pay(request, pk):
    requests.post(PAY, json={"id": pk}, timeout=10)
    order = get_object_or_404(Order, pk=pk)
    return JsonResponse({"state": order.state})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: the call comes before `get_object_or_404()`"))

PS207_VALID.append(Case(_VIEWSET + """

class Orders(viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def ship(self, request, pk):
        order = self.get_object()
        return JsonResponse({"label": order.label()})
""", files={**_files(), "shop/models.py": _MODELS_WITH_NOTICE}, path="shop/views.py",
    note="ATOMIC_REQUESTS: the model's method called after `get_object()` makes no call"))


# A project function that runs the first query and then the slow work itself: the
# view's call of it is where the request's transaction begins and is held.
_SIGNUP_FORM = """\
import requests
from django import forms

from shop.models import Order

CRM = "https://crm.example.com/hooks"


class CheckoutForm(forms.Form):
    note = forms.CharField()

    def save(self):
        order = Order.objects.create(state="new")
        requests.post(CRM, json={"order": order.pk}, timeout=10)
        return order

    def save_announced(self):
        requests.post(CRM, json={"order": None}, timeout=10)
        return Order.objects.create(state="new")
"""

_FORM_VIEWS = """\
from django.db import transaction
from django.http import JsonResponse

from shop.forms import CheckoutForm
"""


def _form_files(settings: str = _SETTINGS) -> dict[str, str]:
    return {**_files(settings), "shop/forms.py": _SIGNUP_FORM}


PS207_INVALID.append(Case(_FORM_VIEWS + """

def checkout(request):
    form = CheckoutForm(request.POST)
    if form.is_valid():
        form.save()  # expect: PS207
    return JsonResponse({})
""", files=_form_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: the form's save() inserts the row (the transaction begins "
         "there) and then posts to an HTTP API, inside the view's transaction"))

PS207_INVALID.append(Case(_FORM_VIEWS + """

def checkout(request):
    form = CheckoutForm(request.POST)
    with transaction.atomic():
        form.save()  # expect: PS207
    return JsonResponse({})
""", files=_form_files(_PLAIN_SETTINGS), path="shop/views.py",
    note="the same helper inside an explicit `transaction.atomic()` block"))

PS207_VALID.append(Case(_FORM_VIEWS + """

def checkout(request):
    form = CheckoutForm(request.POST)
    if form.is_valid():
        form.save_announced()
    return JsonResponse({})
""", files=_form_files(), path="shop/views.py",
    note="the helper's HTTP call comes before its query: no transaction is open yet"))

PS207_VALID.append(Case(_FORM_VIEWS + """

@transaction.non_atomic_requests
def checkout(request):
    form = CheckoutForm(request.POST)
    if form.is_valid():
        form.save()
    return JsonResponse({})
""", files=_form_files(), path="shop/views.py",
    note="the view is left out of ATOMIC_REQUESTS: each of the helper's queries "
         "commits on its own"))

# A project manager class: `Account.objects.open_account(...)` runs its method, whose
# `self.create(...)` is a query.
_MANAGER_MODELS = """\
import stripe
from django.db import models


class AccountManager(models.Manager):
    def open_account(self, email):
        account = self.create(email=email)
        customer = stripe.Customer.create(email=email)
        account.customer = customer.id
        account.save(update_fields=["customer"])
        return account

    def open_quietly(self, email):
        return self.create(email=email)


class Account(models.Model):
    email = models.CharField(max_length=80)
    customer = models.CharField(max_length=40)
    objects = AccountManager()
"""

_MANAGER_VIEWS = """\
import stripe
from django.http import JsonResponse

from shop.accounts import Account
"""


def _manager_files(settings: str = _SETTINGS) -> dict[str, str]:
    return {**_files(settings), "shop/accounts.py": _MANAGER_MODELS}


PS207_INVALID.append(Case(_MANAGER_VIEWS + """

def open_account(request):
    Account.objects.open_account(request.POST["email"])  # expect: PS207
    return JsonResponse({})
""", files=_manager_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: the model's own manager inserts the row, then calls Stripe"))

PS207_VALID.append(Case(_MANAGER_VIEWS + """

def open_account(request):
    account = Account.objects.open_quietly(request.POST["email"])
    return JsonResponse({"id": account.pk})
""", files=_manager_files(), path="shop/views.py",
    note="the manager method runs queries only"))

PS207_VALID.append(Case(_MANAGER_VIEWS + """

def open_account(request):
    Account.objects.open_account(request.POST["email"])
    return JsonResponse({})
""", files=_manager_files(_PLAIN_SETTINGS), path="shop/views.py",
    note="without ATOMIC_REQUESTS the manager's INSERT commits before the Stripe call"))

# Twilio's client from a project factory that hands out a stand-in when SMS is off
_SMS = """\
from django.conf import settings
from twilio.rest import Client


def sms_client():
    if not settings.SMS_ENABLED:
        class Silent:
            pass
        return Silent()
    return Client(settings.TWILIO_SID, settings.TWILIO_TOKEN)
"""

_SMS_VIEWS = """\
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from shop.models import Order
from shop.sms import sms_client
"""


def _sms_files(settings: str = _SETTINGS) -> dict[str, str]:
    return {**_files(settings), "shop/sms.py": _SMS}


PS207_INVALID.append(Case(_SMS_VIEWS + """

def notify(request, pk):
    order = get_object_or_404(Order, pk=pk)
    order.save(update_fields=["state"])
    sms_client().messages.create(to=order.state, from_="+15550100", body="sent")  # expect: PS207
    return JsonResponse({})
""", files=_sms_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: a Twilio call (from a factory with a stand-in branch) after "
         "the view's lookup"))

PS207_VALID.append(Case(_SMS_VIEWS + """

def notify(request, pk):
    sms_client().messages.create(to="+15550199", from_="+15550100", body="new order")
    order = get_object_or_404(Order, pk=pk)
    return JsonResponse({"state": order.state})
""", files=_sms_files(), path="shop/views.py",
    note="the SMS goes out before the view's first query"))

PS207_INVALID.append(Case(_VIEWS + """
from urllib.request import urlretrieve


def fetch_receipt(request, pk):
    order = Order.objects.get(pk=pk)
    order.save(update_fields=["state"])
    path, _ = urlretrieve("https://pay.example.com/receipts/%d.pdf" % order.pk)  # expect: PS207
    return JsonResponse({"path": path})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: urlretrieve downloads over HTTP inside the request's transaction"))

PS207_VALID.append(Case(_VIEWS + """
from urllib.request import urlretrieve


def fetch_receipt(request, pk):
    path, _ = urlretrieve("https://pay.example.com/receipts/%d.pdf" % pk)
    order = Order.objects.get(pk=pk)
    return JsonResponse({"path": path, "state": order.state})
""", files=_files(), path="shop/views.py",
    note="the download comes before the first query"))

# An access check that reads the user runs inside the view's transaction before the
# body: the session, user (or token) lookups are its first queries.
_AUTH_VIEWS = """\
import requests
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.views import APIView

QUOTES = "https://quotes.example.com/today"
"""

PS207_INVALID.append(Case(_AUTH_VIEWS + """

@login_required
def quote(request):
    Order.objects.create(state="quoted")
    body = requests.get(QUOTES, timeout=10).json()  # expect: PS207
    return JsonResponse(body)
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: @login_required loads the session and the user inside the "
         "view's transaction, before the HTTP call"))

PS207_INVALID.append(Case(_AUTH_VIEWS + """

class Quote(APIView):
    permission_classes = (IsAuthenticated,)

    def get(self, request):
        Order.objects.create(state="quoted")
        body = requests.get(QUOTES, timeout=10).json()  # expect: PS207
        return JsonResponse(body)
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: DRF authenticates (a token or session lookup) before the "
         "handler, in the view's transaction"))

PS207_VALID.append(Case(_AUTH_VIEWS + """

class Quote(APIView):
    permission_classes = (AllowAny,)

    def get(self, request):
        body = requests.get(QUOTES, timeout=10).json()
        return JsonResponse(body)
""", files=_files(), path="shop/views.py",
    note="an anonymous request gets through: no lookup is known to run first"))

PS207_VALID.append(Case(_AUTH_VIEWS + """

@login_required
def quote(request):
    body = requests.get(QUOTES, timeout=10).json()
    return JsonResponse(body)
""", files=_files(_PLAIN_SETTINGS), path="shop/views.py",
    note="without ATOMIC_REQUESTS the user lookup commits on its own"))

# DRF's `self.get_serializer(...)` is an instance of the view's `serializer_class`:
# its own `save()` runs on `serializer.save()`.
_SERIALIZER_VIEWS = """\
import requests
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from shop.models import Order

LEDGER = "https://ledger.example.com/entries"


class EntrySerializer(serializers.Serializer):
    amount = serializers.IntegerField()

    def save(self, **kwargs):
        requests.post(LEDGER, json=self.validated_data, timeout=10)


class NoteSerializer(serializers.Serializer):
    text = serializers.CharField()

    def save(self, **kwargs):
        return Order.objects.create(state=self.validated_data["text"])
"""

PS207_INVALID.append(Case(_SERIALIZER_VIEWS + """

class Entries(generics.GenericAPIView):
    serializer_class = EntrySerializer
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()  # expect: PS207
        return Response(status=201)
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: after DRF's user lookup, the serializer's save() posts to an "
         "HTTP API"))

PS207_VALID.append(Case(_SERIALIZER_VIEWS + """

class Notes(generics.GenericAPIView):
    serializer_class = NoteSerializer
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(status=201)
""", files=_files(), path="shop/views.py",
    note="the serializer's save() runs a query only"))

# `form.is_valid()` runs the form's `clean_<field>()` and `clean()` methods: a project
# form whose cleaning looks a row up begins the request's transaction there
_RESET_FORM = """\
from django import forms
from django.contrib.auth.models import User
from django.core.mail import send_mail


class ResetForm(forms.Form):
    email = forms.CharField()

    def clean_email(self):
        value = self.cleaned_data["email"]
        self.cleaned_data["user"] = User.objects.get(email__iexact=value)
        return value

    def save(self):
        send_mail("Reset", "...", None, [self.cleaned_data["user"].email])


class ContactForm(forms.Form):
    email = forms.CharField()

    def clean_email(self):
        return self.cleaned_data["email"].strip()

    def save(self):
        send_mail("Thanks", "...", None, [self.cleaned_data["email"]])
"""

_RESET_VIEWS = """\
from django.http import JsonResponse

from shop.forms import ContactForm, ResetForm
"""

PS207_INVALID.append(Case(_RESET_VIEWS + """

def reset(request):
    form = ResetForm(request.POST)
    if form.is_valid():
        form.save()  # expect: PS207
    return JsonResponse({})
""", files={**_files(), "shop/forms.py": _RESET_FORM}, path="shop/views.py",
    note="ATOMIC_REQUESTS: is_valid() runs clean_email(), whose query begins the "
         "transaction; save() then sends mail inside it"))

PS207_VALID.append(Case(_RESET_VIEWS + """

def contact(request):
    form = ContactForm(request.POST)
    if form.is_valid():
        form.save()
    return JsonResponse({})
""", files={**_files(), "shop/forms.py": _RESET_FORM}, path="shop/views.py",
    note="the form's cleaning makes no query: no transaction is open when it mails"))

# packages that render a mail from a template and send it through Django's mail API
PS207_INVALID.append(Case("""
from django.db import transaction
from email_from_template import send_mail

from shop.models import Order


def confirm(order_id, address):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.state = "confirmed"
        order.save()
        send_mail([address], "shop/confirmed.email", {"order": order})  # expect: PS207
""", files=_files(_PLAIN_SETTINGS), path="shop/mail.py",
    note="django-email-from-template's send_mail sends through EMAIL_BACKEND (SMTP) "
         "while the row lock is held"))
PS207_VALID.append(Case("""
from django.db import transaction
from email_from_template import send_mail

from shop.models import Order


def confirm(order_id, address):
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        order.state = "confirmed"
        order.save()
    send_mail([address], "shop/confirmed.email", {"order": order})
""", files=_files(_PLAIN_SETTINGS), path="shop/mail.py",
    note="the mail is sent after the block commits"))

# large51 (issue 31; tune: awx's job-template callback view): a view class whose
# `dispatch` is decorated `@transaction.non_atomic_requests` is left out of
# ATOMIC_REQUESTS (`as_view()` copies the mark from `dispatch`), also through
# `@method_decorator(transaction.non_atomic_requests, name="dispatch")`.
_NON_ATOMIC_DISPATCH = _VIEWS + """
from django.utils.decorators import method_decorator


{class_decorator}class Callback(APIView):
{dispatch}
    def post(self, request, pk):
        order = Order.objects.get(pk=pk)
        order.save(update_fields=["state"])
        requests.post(PAY, json={{"id": order.id}}, timeout=10){mark}
        return JsonResponse({{}})
"""

_DISPATCH = """    @transaction.non_atomic_requests
    def dispatch(self, *args, **kwargs):
        return super().dispatch(*args, **kwargs)
"""

PS207_VALID += [
    Case(_NON_ATOMIC_DISPATCH.format(class_decorator="", dispatch=_DISPATCH, mark=""),
         files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: the view's dispatch is non_atomic_requests, so the query "
              "commits on its own before the HTTP call"),
    Case(_NON_ATOMIC_DISPATCH.format(
        class_decorator='@method_decorator(transaction.non_atomic_requests, name="dispatch")\n',
        dispatch="", mark=""),
         files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: the same mark through method_decorator on the class"),
]

PS207_INVALID += [
    Case(_NON_ATOMIC_DISPATCH.format(
        class_decorator='@method_decorator(transaction.non_atomic_requests, name="get")\n',
        dispatch=_DISPATCH.replace("@transaction.non_atomic_requests\n    ", ""),
        mark="  # expect: PS207"),
         files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: marking another method, or a dispatch without the "
              "decorator, leaves the view atomic"),
]

# Round 27 (the lead): Django keeps the thread's connection for the whole request with
# or without a transaction, so a transaction that has only read holds no pool slot
# and no row lock beyond what the thread holds anyway. Seen as "debatable" in every
# round's large samples (a view's lookup, then an HTTP call, nothing written). A
# write or a row lock anywhere in the function, also through a project function or a
# model method, keeps the finding.
_MODELS_WITH_METHODS = _MODELS + """
    def mark_sent(self):
        self.state = "sent"
        self.save(update_fields=["state"])

    def title(self):
        return self.state.title()
"""

_SERVICES = """\
from shop.models import Order


def pending_count():
    return Order.objects.filter(state="pending").count()


def mark_paid(order):
    order.state = "paid"
    order.save()
"""


def _with_services() -> dict[str, str]:
    return {**_files(), "shop/models.py": _MODELS_WITH_METHODS, "shop/services.py": _SERVICES}


PS207_VALID += [
    Case(_VIEWS + """

def pay_status(request, pk):
    order = Order.objects.get(pk=pk)
    status = requests.get(PAY, params={"id": order.id}, timeout=10).json()
    return JsonResponse({"order": order.id, "title": order.get_state_display(), **status})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a view that only reads before and after its HTTP call holds "
              "a snapshot and no row lock, on the connection its thread holds anyway"),
    Case(_VIEWS + """

def export(order_ids):
    with transaction.atomic():
        total = Order.objects.filter(pk__in=order_ids).count()
        rows = list(Order.objects.filter(pk__in=order_ids).values_list("id", flat=True))
        requests.post(PAY, json={"total": total, "ids": rows}, timeout=10)
""", files=_files(_PLAIN_SETTINGS), path="shop/export.py",
         note="an explicit atomic() block that only reads: no row lock across the call"),
    Case(_VIEWS + """
from django.db import connection

from shop.services import pending_count


class Report(APIView):
    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM shop_order")
            (total,) = cursor.fetchone()
        order = Order.objects.first()
        remote = requests.get(PAY, timeout=10).json()
        return JsonResponse({"total": total, "pending": pending_count(),
                             "state": order.state, **remote})
""", files=_with_services(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a SELECT through a cursor and a project function that "
              "only read"),
]

PS207_INVALID += [
    Case(_VIEWS + """

def pay(request, pk):
    order = Order.objects.get(pk=pk)
    order.mark_sent()
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_with_services(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a model method that saves, before the call, makes the "
              "transaction a writing one (round 32: a write after the call locks after it)"),
    Case(_VIEWS + """
from shop.services import mark_paid


def pay(request, pk):
    order = Order.objects.get(pk=pk)
    mark_paid(order)
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_with_services(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a project function saved the row before the call: its "
              "lock is held across it"),
    Case(_VIEWS + """

def pay(request, pk):
    order = Order.objects.get(pk=pk)
    order.items.create(sku="fee")
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a related manager's create() before the call is a write"),
    Case(_VIEWS + """
from django.db import connection


def pay(request, pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT state FROM shop_order WHERE id = %s FOR UPDATE", [pk])
        requests.post(PAY, json={"id": pk}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: a SELECT ... FOR UPDATE locks the row across the call"),
    Case(_VIEWS + """
from django.contrib.auth import authenticate, login


def sso(request, pk):
    order = Order.objects.get(pk=pk)
    login(request, authenticate(request, token=request.GET["token"]))
    profile = requests.get(PAY, params={"order": order.id}, timeout=10).json()  # expect: PS207
    return JsonResponse(profile)
""", files=_files(), path="shop/views.py",
         note="ATOMIC_REQUESTS: Django's login() before the call saves the user's last_login"),
]

# the reads are followed through project functions at any depth (a recursive walk of
# the URL patterns included), and so is a write five calls down
_DEEP_HELPERS = """\
from shop.models import Order


def paths(patterns, prefix=""):
    found = []
    for pattern in patterns:
        if isinstance(pattern, list):
            found.extend(paths(pattern, prefix + "/"))
        else:
            found.append(clean(prefix + str(pattern)))
    return found


def clean(path):
    return path.replace("//", "/"){write}


def resource_map():
    return {{p: p for p in paths([["a", ["b"]], "c"])}}


def build_url(name):
    return "http://localhost:8080" + resource_map()[name]
"""
PS207_VALID += [
    Case(_VIEWS + """
from shop.helpers import build_url


class Proxy(APIView):
    def get(self, request, name):
        Order.objects.first()
        return JsonResponse(requests.get(build_url(name), timeout=10).json())
""", files={**_files(), "shop/helpers.py": _DEEP_HELPERS.format(write="")},
         path="shop/views.py",
         note="ATOMIC_REQUESTS: the URL is built by helpers four calls deep, one of them "
              "recursive, none of which touches the database"),
]
PS207_INVALID += [
    Case(_VIEWS + """
from shop.helpers import build_url


class Proxy(APIView):
    def get(self, request, name):
        Order.objects.first()
        return JsonResponse(requests.get(build_url(name), timeout=10).json())  # expect: PS207
""", files={**_files(), "shop/helpers.py": _DEEP_HELPERS.format(
        write='\n\n\ndef audit(path):\n    Order.objects.filter(state=path).update(state="seen")\n'
    ).replace('    return path.replace("//", "/")',
              '    audit(path)\n    return path.replace("//", "/")')},
         path="shop/views.py",
         note="ATOMIC_REQUESTS: the same helpers, the deepest of which writes"),
]
