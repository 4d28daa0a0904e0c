"""Finding likely duplicates: precise on crafted cases, blocked on indexed keys, never a pairwise scan."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.leads import duplicates, services
from leadflow.leads.duplicates import blocking, find_duplicates_of, name_similarity, score_pair
from leadflow.leads.models import Lead, LeadStatus
from leadflow.leads.models_duplicates import DuplicatePair, PairStatus
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def pair_of(one: Lead, other: Lead) -> DuplicatePair | None:
    low, high = sorted((one.pk, other.pk))
    return DuplicatePair.objects.filter(lead_a_id=low, lead_b_id=high).first()


def codes(pair: DuplicatePair) -> set[str]:
    return {reason["code"] for reason in pair.reasons}


def lead(first: str, last: str, email: str, **extra) -> Lead:
    return make_lead(first_name=first, last_name=last, email=email, **extra)


# Each case: two leads, and the reasons they should be paired for (empty: they must not be).
CASES = {
    "typo in first name at the same company": (
        ("John", "Smith", "john@acme.example"),
        ("Jon", "Smith", "j.smith@acme.example"),
        {"company_name"},
    ),
    "C or K at the same company": (
        ("Katherine", "Moore", "kmoore@globex.example"),
        ("Catherine", "Moore", "catherine@globex.example"),
        {"company_name"},
    ),
    "initial for the first name at the same company": (
        ("J", "Smith", "js@initech.example"),
        ("James", "Smith", "james@initech.example"),
        {"company_name"},
    ),
    "surname typo at the same company": (
        ("Oliver", "Smyth", "oliver@initech.example"),
        ("Oliver", "Smith", "osmith@initech.example"),
        {"company_name"},
    ),
    "first and last name swapped at the same company": (
        ("Wei", "Zhang", "wei@hooli.example"),
        ("Zhang", "Wei", "zhang.wei@hooli.example"),
        {"company_name"},
    ),
    "same email name at another domain": (
        ("Dana", "Scully", "dana.scully@fbi.example"),
        ("Dana", "Scully", "dana.scully@gmail.com"),
        {"email_local"},
    ),
    "same phone, accents aside, different email": (
        ("María", "López", "maria@gmail.com", {"phone": "+1 415 555 0101"}),
        ("Maria", "Lopez", "mlopez@yahoo.com", {"phone": "(415) 555-0101"}),
        {"phone"},
    ),
    "same phone and similar name at the same company": (
        ("Anne", "Lee", "anne@wonka.example", {"phone": "+1 415 555 0102"}),
        ("Anna", "Lee", "alee@wonka.example", {"phone": "+1 415 555 0102"}),
        {"company_name", "phone"},
    ),
    "different first names at the same company": (
        ("John", "Smith", "john@umbrella.example"),
        ("Jane", "Smith", "jane@umbrella.example"),
        set(),
    ),
    "colleagues sharing the switchboard number": (
        ("Peter", "Parker", "peter@bugle.example", {"phone": "+1 212 555 0103"}),
        ("Mary", "Watson", "mj@bugle.example", {"phone": "+1 212 555 0103"}),
        set(),
    ),
    "shared mailbox name at two companies": (
        ("Info", "Desk", "info@stark.example"),
        ("Front", "Office", "info@wayne.example"),
        set(),
    ),
    "same email name, different people": (
        ("Alex", "Kim", "alex@cyberdyne.example"),
        ("Alex", "Brown", "alex@tyrell.example"),
        set(),
    ),
    "same name at different companies, nothing else shared": (
        ("John", "Smith", "john@soylent.example"),
        ("John", "Smith", "jsmith@massive.example"),
        set(),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_crafted_cases(case):
    one, other, expected = CASES[case]
    first, second = (
        lead(*one[:3], **(one[3] if len(one) > 3 else {})),
        lead(*other[:3], **(other[3] if len(other) > 3 else {})),
    )
    find_duplicates_of(second)
    pair = pair_of(first, second)
    if not expected:
        assert pair is None
        return
    assert pair is not None
    assert codes(pair) == expected
    assert pair.score >= duplicates.THRESHOLD
    assert (pair.lead_a_id, pair.lead_b_id) == (first.pk, second.pk)


def test_more_reasons_score_higher():
    a = lead("Anne", "Lee", "anne@wonka.example", phone="+1 415 555 0102")
    b = lead("Anna", "Lee", "alee@wonka.example", phone="+1 415 555 0102")
    c = lead("Anna", "Lee", "anna.lee@wonka.example")
    both, one = score_pair(a, b), score_pair(a, c)
    assert both.score > one.score


def test_name_similarity_handles_missing_names():
    nameless = lead("", "", "someone@example.com")
    named = lead("Ann", "Lee", "ann@example.com")
    assert name_similarity(nameless, named) is None
    assert name_similarity(named, named) == 100


def test_finding_is_symmetric_and_recorded_once():
    a = lead("John", "Smith", "john@acme.example")
    b = lead("Jon", "Smith", "jsmith@acme.example")
    find_duplicates_of(a)
    find_duplicates_of(b)
    find_duplicates_of(a)
    assert DuplicatePair.objects.count() == 1


def test_dismissed_pair_never_comes_back(admin):
    a = lead("John", "Smith", "john@acme.example")
    b = lead("Jon", "Smith", "jsmith@acme.example")
    pair = find_duplicates_of(b)[0]
    duplicates.dismiss_pair(pair=pair, actor=admin)
    services.update_lead(lead=b, changes={"title": "CTO"}, actor=admin)
    assert find_duplicates_of(b) == []
    assert find_duplicates_of(a) == []
    call_command("find-duplicates", "--all", verbosity=0)
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by_id) == (PairStatus.DISMISSED, admin.pk)
    assert DuplicatePair.objects.count() == 1


def test_pair_that_no_longer_matches_is_dropped(admin):
    a = lead("Maria", "Lopez", "maria@gmail.com", phone="+1 415 555 0101")
    b = lead("Maria", "Lopez", "mlopez@yahoo.com", phone="+1 415 555 0101")
    assert find_duplicates_of(b)
    services.update_lead(lead=b, changes={"phone": "+1 415 555 0199", "first_name": "Rosa"}, actor=admin)
    assert find_duplicates_of(b) == []
    assert pair_of(a, b) is None


def test_merged_lead_closes_its_pairs(admin):
    a = lead("John", "Smith", "john@acme.example")
    b = lead("Jon", "Smith", "jsmith@acme.example")
    pair = find_duplicates_of(b)[0]
    services.merge_leads(winner=a, loser=b, actor=admin)
    assert duplicates.open_pairs_for(admin).count() == 0
    assert duplicates.close_pairs_of_inactive_leads() == 1
    pair.refresh_from_db()
    assert pair.status == PairStatus.CLOSED
    assert Lead.objects.get(pk=b.pk).status == LeadStatus.MERGED


def _queries_to_find(target: Lead) -> int:
    with CaptureQueriesContext(connection) as queries:
        find_duplicates_of(target)
    return len(queries)


def test_finding_a_leads_duplicates_costs_the_same_however_many_leads_there_are():
    """A pairwise scan would read every lead; blocking reads the same few index ranges at 20 or 300 leads."""
    target = lead("Xavier", "Quinn", "xq@bigco.example", phone="+1 415 555 0142")
    lead("Xavi", "Quinn", "xavi@bigco.example")
    for n in range(20):
        lead(f"Other{n}", f"Person{n}", f"o{n}@bigco.example")
    find_duplicates_of(target)
    small = _queries_to_find(target)
    for n in range(20, 300):
        lead(f"Other{n}", f"Person{n}", f"o{n}@bigco.example", phone=f"+1 212 555 {n:04d}")
    assert _queries_to_find(target) == small
    assert small <= 10
    assert DuplicatePair.objects.count() == 1


def test_blocks_are_capped(monkeypatch):
    monkeypatch.setattr(blocking, "BLOCK_CAP", 5)
    for n in range(12):
        lead("Sam", f"Same{n}", f"sam{n}@capped.example", phone="+1 415 555 0177")
    target = lead("Sam", "Same", "sam@capped.example", phone="+1 415 555 0177")
    assert len(duplicates.candidates(target)) <= 5 * 3


def test_command_scans_changed_leads_incrementally(admin):
    a = lead("John", "Smith", "john@acme.example")
    b = lead("Jon", "Smith", "jsmith@acme.example")
    first = _run_command()
    assert first == {"scanned": 2, "pairs": 2}
    assert pair_of(a, b) is not None
    assert _run_command() == {"scanned": 0, "pairs": 0}
    c = lead("Johnny", "Smith", "johnny@acme.example")
    services.update_lead(lead=a, changes={"title": "CEO"}, actor=admin)
    again = _run_command()
    assert again["scanned"] == 2
    assert pair_of(a, c) is not None
    assert _run_command(["--all"])["scanned"] == 3


def test_command_works_in_small_batches(monkeypatch):
    for n in range(7):
        lead("Twin", f"Tester{n}", f"twin{n}@twins.example")
    progress = list(duplicates.scan(everything=True, batch_size=2))
    assert [step.scanned for step in progress] == [2, 4, 6, 7, 7]
    assert progress[-1].done is True


def _run_command(args: list[str] | None = None) -> dict:
    from io import StringIO

    out = StringIO()
    call_command("find-duplicates", *(args or []), "--json", stdout=out, verbosity=0)
    return json.loads(out.getvalue())


def _all_pairs() -> set[tuple[int, int, int]]:
    return set(DuplicatePair.objects.values_list("lead_a_id", "lead_b_id", "score"))


def test_batch_scan_finds_what_lead_by_lead_finds(monkeypatch):
    for one, other, _ in CASES.values():
        for side in (one, other):
            lead(*side[:3], **(side[3] if len(side) > 3 else {}))
    for n in range(4):
        lead("Hot", f"Line{n}", f"hot{n}@example.com", phone="+1 415 555 0199")
    monkeypatch.setattr(blocking, "BLOCK_CAP", 3)
    for each in Lead.objects.all():
        find_duplicates_of(each)
    one_by_one = _all_pairs()
    DuplicatePair.objects.all().delete()
    list(duplicates.scan(everything=True, batch_size=7))
    assert _all_pairs() == one_by_one
    assert len(one_by_one) >= 8
