"""The prefilter selects a Django view whose slow work is two project modules away
when the settings spell `ATOMIC_REQUESTS` (issue 33, PS207 misses on a public Django
application): `views.py` calls a form's `save()`, `forms.py` a manager method, and
only `managers.py` spells the payment package; the view's file spells a query and no
slow package, so it is not selected by its own words."""

from __future__ import annotations

from pathlib import Path

from project_tree import found, write_project

_SETTINGS = (
    'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "shop",'
    ' "ATOMIC_REQUESTS": True}}\n')

_FILES = {
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0"\n',
    "shop/__init__.py": "",
    "shop/settings.py": _SETTINGS,
    "shop/managers.py": (
        "import stripe\nfrom django.db import models\n\n\n"
        "class TeamManager(models.Manager):\n"
        "    def open_team(self, name):\n"
        "        team = self.create(name=name)\n"
        "        stripe.Customer.create(name=name)\n"
        "        return team\n"),
    "shop/models.py": (
        "from django.db import models\n\nfrom shop.managers import TeamManager\n\n\n"
        "class Team(models.Model):\n    name = models.CharField(max_length=40)\n"
        "    objects = TeamManager()\n"),
    "shop/forms.py": (
        "from django import forms\n\nfrom shop.models import Team\n\n\n"
        "class TeamForm(forms.Form):\n    name = forms.CharField()\n\n"
        "    def save(self):\n"
        "        return Team.objects.open_team(self.cleaned_data['name'])\n"),
    "shop/views.py": (
        "from django.http import HttpResponse\n\nfrom shop.forms import TeamForm\n\n\n"
        "def create_team(request):\n"
        "    form = TeamForm(request.POST)\n"
        "    if form.is_valid():\n"
        "        form.save()\n"
        "    return HttpResponse('ok')\n"),
}


def test_a_view_whose_slow_work_is_two_modules_away_is_selected(tmp_path: Path) -> None:
    root = write_project(tmp_path, _FILES)
    want = {("views.py", 9, "PS207")}
    assert found(root, prefilter=False) == want
    assert found(root, prefilter=True) == want


def test_without_atomic_requests_the_view_is_not_reported(tmp_path: Path) -> None:
    files = dict(_FILES)
    files["shop/settings.py"] = _SETTINGS.replace(', "ATOMIC_REQUESTS": True', "")
    root = write_project(tmp_path, files)
    assert found(root, prefilter=True) == set()
    assert found(root, prefilter=False) == set()
