"""Undo: the leads an import created go, the values it changed come back, later changes are kept."""

import pytest
from django.utils import timezone

from leadflow.imports import services
from leadflow.imports.mapping import ColumnRule, Mapping
from leadflow.imports.models import ImportJob, UndoStatus
from leadflow.imports.services import run as run_module
from leadflow.leads import services as lead_services
from leadflow.leads.errors import LeadError
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.conftest import make_lead
from tests.imports.conftest import run, run_worker, upload

FILE = (
    "Email,Job Title,Lead Source,Tier,Owner\n"
    "new1@x.example,CEO,fair,gold,\n"
    "known@x.example,CTO,fair,silver,alice\n"
    "new2@x.example,,fair,,\n"
    "new1@x.example,,,bronze,\n"
)
MAPPING = Mapping(
    {
        "Email": ColumnRule("email"),
        "Job Title": ColumnRule("title"),
        "Lead Source": ColumnRule("source"),
        "Tier": ColumnRule("custom", "tier"),
        "Owner": ColumnRule("owner"),
    }
)


def undo(job: ImportJob, actor) -> ImportJob:
    services.start_undo(job=job, actor=actor, enqueue=False)
    services.run_undo(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.fixture
def imported(admin, alice):
    known = make_lead(email="known@x.example", title="Engineer", custom={"tier": "bronze", "since": 2019})
    job = run(upload(FILE.encode(), user=admin), user=admin, mapping=MAPPING)
    assert (job.created, job.updated, job.duplicates) == (2, 1, 1)
    return job, Lead.objects.get(pk=known.pk)


@pytest.mark.django_db
def test_undo_removes_created_leads_and_restores_changed_fields_on_the_timeline(admin, imported):
    job, known = imported
    assert (known.title, known.latest_source, known.custom, known.owner.username) == (
        "CTO", "fair", {"tier": "silver", "since": 2019}, "alice",
    )  # fmt: skip
    job = undo(job, admin)
    assert job.undo_status == UndoStatus.DONE
    assert job.undo_summary == {"deleted": 2, "restored": 1, "kept": 0, "kept_fields": 0}
    assert list(Lead.objects.values_list("email_key", flat=True)) == ["known@x.example"]
    known.refresh_from_db()
    assert (known.title, known.latest_source, known.custom, known.owner) == (
        "Engineer", "", {"tier": "bronze", "since": 2019}, None,
    )  # fmt: skip
    event = TimelineEvent.objects.filter(lead=known, kind=EventKind.UPDATED).get()
    assert event.actor == admin
    assert event.data["reason"] == f"Import #{job.pk} undone"
    assert event.data["changes"]["title"] == ["CTO", "Engineer"]
    assert TimelineEvent.objects.filter(lead=known, kind=EventKind.OWNER_CHANGED).count() == 2


@pytest.mark.django_db
def test_undo_keeps_what_people_changed_after_the_import(admin, imported):
    job, known = imported
    lead_services.update_lead(lead=known, changes={"title": "Chief Technology Officer"}, actor=admin)
    new1 = Lead.objects.get(email_key="new1@x.example")
    lead_services.add_note(lead=new1, text="Called, interested", actor=admin)
    job = undo(job, admin)
    assert job.undo_summary == {"deleted": 1, "restored": 1, "kept": 1, "kept_fields": 1}
    assert set(Lead.objects.values_list("email_key", flat=True)) == {"known@x.example", "new1@x.example"}
    known.refresh_from_db()
    assert (known.title, known.custom["tier"]) == ("Chief Technology Officer", "bronze")


@pytest.mark.django_db
def test_a_batch_after_batch_undo_restores_the_first_values(monkeypatch, admin):
    monkeypatch.setattr(run_module, "BATCH_ROWS", 1)
    known = make_lead(email="k@x.example", title="One")
    data = b"Email,Job Title\nk@x.example,Two\nk@x.example,Three\n"
    job = run(upload(data, user=admin), user=admin)
    known.refresh_from_db()
    assert (job.updated, job.duplicates, known.title) == (1, 1, "Three")
    undo(job, admin)
    known.refresh_from_db()
    assert known.title == "One"


@pytest.mark.django_db
def test_a_dry_run_or_an_undone_import_cannot_be_undone_or_resumed(admin, imported):
    job, _ = imported
    dry = run(job.file, user=admin, dry_run=True, mapping=MAPPING)
    with pytest.raises(LeadError, match="Only a finished import"):
        services.start_undo(job=dry, actor=admin, enqueue=False)
    undo(job, admin)
    with pytest.raises(LeadError, match="Only a finished import"):
        services.start_undo(job=job, actor=admin, enqueue=False)
    with pytest.raises(LeadError, match="was undone"):
        services.resume_import(job=job, actor=admin)


@pytest.mark.django_db
def test_only_the_importer_or_an_admin_may_undo(admin, marketing, manager):
    job = run(upload(b"Email\na@x.example\n", user=marketing), user=marketing)
    assert services.may_undo(job, marketing) is True
    assert services.may_undo(job, admin) is True
    assert services.may_undo(job, manager) is False


@pytest.mark.django_db(transaction=True)
def test_the_worker_undoes_an_import(admin):
    job = run(upload(b"Email\na@x.example\nb@x.example\n", user=admin), user=admin)
    services.start_undo(job=job, actor=admin)
    run_worker()
    job.refresh_from_db()
    assert (job.undo_status, Lead.objects.count()) == (UndoStatus.DONE, 0)
    assert job.undone_at <= timezone.now()
