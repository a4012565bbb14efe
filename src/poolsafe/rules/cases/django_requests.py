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
        requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
        return JsonResponse({})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: a DRF view's `self.get_object()` runs the view's query"))

PS207_INVALID.append(Case(_VIEWSET + """

def pay(request, pk):
    order = get_object_or_404(Order, pk=pk)
    requests.post(PAY, json={"id": order.id}, timeout=10)  # expect: PS207
    return JsonResponse({})
""", files=_files(), path="shop/views.py",
    note="ATOMIC_REQUESTS: Django's `get_object_or_404()` runs a query"))

PS207_INVALID.append(Case(_VIEWSET + """

class Orders(viewsets.GenericViewSet):
    queryset = Order.objects.all()

    def ship(self, request, pk):
        order = self.get_object()
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
