"""Personas and builders shared by every test.

admin sees everything; maria manages team East (alice, bob); carol is a rep on
team West and must see nothing of East's; mark works in marketing.
"""

from __future__ import annotations

import itertools

import pytest

from leadflow.accounts.models import Role, Team, User
from leadflow.accounts.services import create_token, create_user
from leadflow.leads import services
from leadflow.leads.models import Lead

PASSWORD = "correct-horse-battery"


MIGRATION_SEEDS = (
    ("leadflow.leads.migrations.0005_qualification_gate_and_reasons", "seed", "leads", "DisqualifyReason"),
    ("leadflow.scoring.migrations.0001_initial", "seed_defaults", "scoring", "ScoringSettings"),
)


@pytest.fixture(autouse=True)
def migration_seeds(request) -> None:
    """Put back what the migrations seed (scoring rules, the qualification gate, disqualify reasons).

    A transactional test ends by emptying every table, seeded rows included, and later
    tests on the same worker would otherwise find them gone.
    """
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        if "db" not in request.fixturenames:
            return
        request.getfixturevalue("db")
    import importlib

    from django.apps import apps

    for module, function, app, model in MIGRATION_SEEDS:
        if not apps.get_model(app, model).objects.exists():
            getattr(importlib.import_module(module), function)(apps, None)


_counter = itertools.count(1)


@pytest.fixture
def east(db) -> Team:
    return Team.objects.create(name="East")


@pytest.fixture
def west(db) -> Team:
    return Team.objects.create(name="West")


@pytest.fixture
def admin(db) -> User:
    return create_user(username="admin", password=PASSWORD, role=Role.ADMIN)


@pytest.fixture
def marketing(db) -> User:
    return create_user(username="mark", password=PASSWORD, role=Role.MARKETING)


@pytest.fixture
def manager(east) -> User:
    user = create_user(username="maria", password=PASSWORD, role=Role.MANAGER, team=east, first_name="Maria")
    east.managers.add(user)
    return user


@pytest.fixture
def alice(east) -> User:
    return create_user(username="alice", password=PASSWORD, role=Role.REP, team=east, first_name="Alice")


@pytest.fixture
def bob(east) -> User:
    return create_user(username="bob", password=PASSWORD, role=Role.REP, team=east, first_name="Bob")


@pytest.fixture
def carol(west) -> User:
    return create_user(username="carol", password=PASSWORD, role=Role.REP, team=west, first_name="Carol")


def make_lead(*, owner: User | None = None, team: Team | None = None, **overrides) -> Lead:
    """Create a lead through the real service, with unique details unless given."""
    n = next(_counter)
    data = {"first_name": "Dana", "last_name": f"Lead{n}", "email": f"dana{n}@example.com"}
    data.update(overrides)
    lead = services.record_lead(data=data, owner=owner, channel="test").lead
    if team is not None and lead.team_id != team.pk:
        Lead.objects.filter(pk=lead.pk).update(team=team)
        lead.refresh_from_db()
    return lead


@pytest.fixture
def lead_factory(db):
    return make_lead


def token_for(user: User, scopes: str = "read,write") -> str:
    return create_token(user=user, scopes=scopes.split(","))[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend is pointed at it."""
    from tests.smtp import SmtpSink

    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()
