"""Two people (or workers) at once: claiming a lead, and round robin under concurrency."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection, connections

from leadflow.leads.models import EventKind, Lead
from leadflow.routing import services
from leadflow.routing.services.route import ClaimError
from tests.conftest import make_lead
from tests.routing.conftest import make_rule

on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="threads share no in-memory SQLite database; see the sequential test"
)


def run_in_threads(*targets) -> list:
    """Start every target at the same moment; return what each returned or raised."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def runner(index, target):
        try:
            barrier.wait()
            results[index] = target()
        except Exception as error:
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(n, t)) for n, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db
def test_second_claim_is_told_who_took_the_lead(alice, bob, east):
    lead = make_lead(team=east)
    services.claim_lead(lead=lead, actor=bob)
    with pytest.raises(ClaimError, match=r"Bob claimed this lead a moment ago\."):
        services.claim_lead(lead=lead, actor=alice)
    lead.refresh_from_db()
    assert lead.owner == bob
    assert lead.events.filter(kind=EventKind.OWNER_CHANGED).count() == 1


@pytest.mark.django_db
def test_claiming_takes_the_lead_out_of_the_unrouted_queue(alice, east):
    from leadflow.routing.models import UnroutedLead

    lead = make_lead(team=east)
    services.route_lead(lead_id=lead.pk, trigger="created")
    assert UnroutedLead.objects.filter(lead=lead).exists()
    services.claim_lead(lead=lead, actor=alice)
    assert not UnroutedLead.objects.filter(lead=lead).exists()
    assert Lead.objects.get(pk=lead.pk).assigned_at is not None


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_reps_claiming_at_once_exactly_one_gets_it(alice, bob, east):
    for _ in range(10):
        lead = make_lead(team=east)
        results = run_in_threads(
            lambda lead=lead: services.claim_lead(lead=lead, actor=alice),
            lambda lead=lead: services.claim_lead(lead=lead, actor=bob),
        )
        errors = [r for r in results if isinstance(r, Exception)]
        assert len(errors) == 1 and isinstance(errors[0], ClaimError), results
        winner = Lead.objects.get(pk=lead.pk).owner
        assert errors[0].message == f"{winner} claimed this lead a moment ago."
        assert Lead.objects.get(pk=lead.pk).events.filter(kind=EventKind.OWNER_CHANGED).count() == 1


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_round_robin_stays_fair_with_two_workers_routing_at_once(five_reps, east):
    make_rule(name="Team East", target_team=east)
    ids = [make_lead().pk for _ in range(100)]

    def route(chunk):
        for pk in chunk:
            services.route_lead(lead_id=pk, trigger="created")

    results = run_in_threads(lambda: route(ids[0::2]), lambda: route(ids[1::2]))
    assert results == [None, None]
    shares = Counter(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True))
    assert sorted(shares.values()) == [20, 20, 20, 20, 20]
