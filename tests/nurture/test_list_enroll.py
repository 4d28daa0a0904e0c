"""Enrolling leads from the leads table's bulk bar: the selection, or every matching lead."""

from __future__ import annotations

import pytest

from leadflow.leads.models import ConsentStatus, EventKind
from leadflow.nurture.models import Enrollment, EnrollmentStatus, StepKind
from tests.conftest import PASSWORD, make_lead
from tests.nurture.conftest import make_sequence

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, marketing):
    client.login(username="mark", password=PASSWORD)
    return client


def _post(client, **data):
    return client.post("/leads/bulk/", {"action": "enroll", "next": "", **data}, follow=True)


def test_the_selected_leads_join_the_sequence_and_the_list_says_so(signed_in, monday):
    sequence = make_sequence((StepKind.WAIT, {"mode": "days", "days": 2}), name="Spring webinar")
    chosen = [make_lead(), make_lead()]
    left_out = make_lead()
    page = _post(signed_in, sequence=sequence.pk, lead=[lead.pk for lead in chosen]).content.decode()
    assert "“Spring webinar”: 2 enrolled." in page
    enrolled = set(
        Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE).values_list("lead", flat=True)
    )
    assert enrolled == {lead.pk for lead in chosen}
    assert left_out.pk not in enrolled
    assert chosen[0].events.filter(kind=EventKind.SEQUENCE_ENROLLED).exists()


def test_leads_that_may_not_be_emailed_are_counted_not_enrolled(signed_in, monday):
    sequence = make_sequence((StepKind.WAIT, {"mode": "days", "days": 2}), name="Spring webinar")
    fine = make_lead()
    withdrawn = make_lead(consent_status=ConsentStatus.WITHDRAWN)
    page = _post(signed_in, sequence=sequence.pk, lead=[fine.pk, withdrawn.pk]).content.decode()
    assert "1 enrolled, 1 who withdrew consent" in page
    assert not Enrollment.objects.filter(lead=withdrawn).exists()


def test_every_matching_lead_follows_the_list_filters(signed_in, monday):
    sequence = make_sequence((StepKind.WAIT, {"mode": "days", "days": 2}), name="Partners")
    partners = [make_lead(source="partner"), make_lead(source="partner")]
    make_lead(source="google")
    page = _post(signed_in, sequence=sequence.pk, scope="all", next="source=partner").content.decode()
    assert "2 enrolled" in page
    assert set(Enrollment.objects.values_list("lead", flat=True)) == {lead.pk for lead in partners}


def test_no_sequence_chosen_is_a_clear_error(signed_in):
    lead = make_lead()
    page = _post(signed_in, sequence="", lead=[lead.pk]).content.decode()
    assert "Pick the sequence to enroll the leads in." in page
    assert not Enrollment.objects.exists()
