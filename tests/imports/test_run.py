"""Running imports: dry run and real run agree, every row is accounted for, batches resume, rules hold."""

import csv
import io

import pytest

from leadflow.imports import queries, services
from leadflow.imports.mapping import ColumnRule, Mapping, MappingError, suggest_mapping
from leadflow.imports.models import ImportJob, JobStatus
from leadflow.imports.services import run as run_module
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.conftest import make_lead
from tests.imports.conftest import run, run_worker, upload

MIXED = (
    "Email,First Name,Last Name,Company,Lead Source,Visits,Notes\n"
    "new1@acme.example,Nia,One,Acme,webinar,3,\n"
    'known@acme.example,,,,,7,=HYPERLINK("http://evil.example")\n'
    "not an email,Bad,Row,,,1,\n"
    "new2@acme.example,Ola,Two,Acme,google,lots,\n"
    "NEW1@acme.example,,,,,,second row for Nia\n"
    'new3@acme.example,Ama,"Three\nLines",Globex,,2,\n'
    "new2@acme.example,,,,,,\n"
    "known@acme.example,,,,,,again\n"
    ",,,,,,\n"
    'broken@acme.example,"never closed,,,,,\n'
)


def mixed_mapping(file) -> Mapping:
    mapping = suggest_mapping(file.headers, file.sample, admin=False)
    mapping.columns["Visits"].kind = "number"
    return mapping


def outcome(job: ImportJob) -> tuple:
    return (job.rows, job.created, job.updated, job.duplicates, job.errors, list(queries.problems_of(job)))


@pytest.mark.django_db
@pytest.mark.parametrize("batch_rows", [1000, 2])
def test_dry_run_and_real_run_agree_and_every_row_is_accounted_for(batch_rows, monkeypatch):
    monkeypatch.setattr(run_module, "BATCH_ROWS", batch_rows)
    make_lead(email="known@acme.example", title="CEO")
    file = upload(MIXED.encode())
    before = Lead.objects.count()
    dry = run(file, dry_run=True, mapping=mixed_mapping(file))
    assert Lead.objects.count() == before
    real = run(file, mapping=mixed_mapping(file))
    assert outcome(dry) == outcome(real)
    rows, created, updated, duplicates, errors, problems = outcome(real)
    assert (rows, created, updated, duplicates, errors) == (9, 3, 1, 2, 3)
    assert created + updated + duplicates + errors == rows
    assert problems[:2] == [
        (4, "Email", "Email is not a valid email address: An email address must have an @-sign."),
        (5, "Visits", "“lots” is not a number."),
    ]
    assert problems[2][:2] == (11, "")
    assert problems[2][2].startswith("A quote opened on line 12 is never closed")
    assert Lead.objects.count() == before + 3


@pytest.mark.django_db
def test_imported_values_land_in_their_fields_and_formulas_stay_text():
    file = upload(MIXED.encode())
    run(file, mapping=mixed_mapping(file))
    nia = Lead.objects.get(email_key="new1@acme.example")
    assert (nia.first_name, nia.last_name, nia.company_name, nia.source) == ("Nia", "One", "Acme", "webinar")
    assert nia.custom == {"visits": 3, "notes": "second row for Nia"}
    known = Lead.objects.get(email_key="known@acme.example")
    assert known.custom == {"visits": 7, "notes": "again"}
    assert Lead.objects.get(email_key="new3@acme.example").last_name == "Three Lines"
    events = TimelineEvent.objects.filter(lead=nia).values_list("kind", "data__channel")
    assert sorted(events) == [(EventKind.CAPTURED, "import"), (EventKind.CREATED, "import")]


@pytest.mark.django_db
def test_a_formula_is_stored_as_its_text_and_neutralised_in_the_error_report():
    data = 'Email,Company,Visits\nf@x.example,"=HYPERLINK(""http://evil.example"",""x"")",1\n=1+2,+cmd,-2\n'
    file = upload(data.encode())
    job = run(file, mapping=Mapping({"Email": ColumnRule("email"), "Company": ColumnRule("company_name")}))
    assert Lead.objects.get(email_key="f@x.example").company_name == '=HYPERLINK("http://evil.example","x")'
    report = "".join(queries.error_report(job))
    rows = list(csv.reader(io.StringIO(report)))
    assert rows[0] == ["row", "column", "reason"]
    assert rows[1][:2] == ["3", "Email"]
    assert rows[1][2].startswith("Email is not a valid email")
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


@pytest.mark.django_db
def test_neutralise_prefixes_cells_a_spreadsheet_would_run():
    assert [queries.neutralise(v) for v in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "plain", 5)] == [
        "'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "plain", "5",
    ]  # fmt: skip


@pytest.mark.django_db
def test_owner_column_is_applied_with_assign_owner_for_an_admin(admin, alice):
    make_lead(email="kept@x.example")
    file = upload(
        b"Email,Owner\nnew@x.example,alice\nkept@x.example,ALICE@example.com\nx@x.example,nobody\n", user=admin
    )
    alice.email = "alice@example.com"
    alice.save()
    mapping = Mapping({"Email": ColumnRule("email"), "Owner": ColumnRule("owner")})
    job = run(file, user=admin, mapping=mapping)
    assert (job.created, job.updated, job.errors) == (1, 1, 1)
    assert list(queries.problems_of(job)) == [(4, "Owner", "No active user has the username or email “nobody”.")]
    assert set(Lead.objects.filter(owner=alice).values_list("email_key", flat=True)) == {
        "new@x.example",
        "kept@x.example",
    }
    assert TimelineEvent.objects.filter(kind=EventKind.OWNER_CHANGED, actor=admin).count() == 2


@pytest.mark.django_db
def test_someone_who_is_not_an_admin_cannot_map_owner_or_key(marketing):
    file = upload(b"Email,Owner\nnew@x.example,alice\n", user=marketing)
    for target in ("owner", "key"):
        mapping = Mapping({"Email": ColumnRule("email"), "Owner": ColumnRule(target, "owner_key")})
        with pytest.raises(MappingError, match="only an admin"):
            services.start_import(file=file, mapping=mapping, user=marketing, dry_run=True, enqueue=False)
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_a_mapping_an_admin_saved_with_a_key_may_be_used_but_not_changed_by_others(admin, marketing):
    headers_csv = b"Prospect ID,Email\np-1,a@x.example\n"
    file = upload(headers_csv, user=marketing)
    mapping = suggest_mapping(file.headers, file.sample, admin=True)
    services.save_mapping(name="crm", mapping=mapping, headers=file.headers, actor=admin)
    job = run(file, user=marketing, mapping=mapping, name="crm")
    assert job.created == 1
    changed = Mapping({**mapping.columns, "Email": ColumnRule()}, mapping.empty_values)
    with pytest.raises(MappingError, match="only an admin"):
        services.start_import(
            file=file, mapping=changed, user=marketing, dry_run=True, mapping_name="crm", enqueue=False
        )
    with pytest.raises(MappingError, match="someone else's"):
        services.save_mapping(
            name="crm", mapping=Mapping({"Email": ColumnRule("email")}), headers=file.headers, actor=marketing
        )


@pytest.mark.django_db
def test_a_manager_cannot_update_a_lead_of_another_team_by_importing_it(manager, carol):
    make_lead(email="carols@x.example", owner=carol)
    file = upload(b"Email,Job Title\ncarols@x.example,Hijacked\n", user=manager)
    job = run(file, user=manager)
    assert (job.updated, job.errors) == (0, 1)
    assert next(queries.problems_of(job))[:2] == (2, "Email")
    assert Lead.objects.get(email_key="carols@x.example").title == ""


@pytest.mark.django_db
def test_a_job_that_stopped_midway_resumes_after_its_last_committed_batch(monkeypatch, admin):
    monkeypatch.setattr(run_module, "BATCH_ROWS", 2)
    rows = "".join(f"p{n}@x.example,P{n}\n" for n in range(7))
    file = upload(f"Email,Name\n{rows}p1@x.example,again\n".encode(), user=admin)
    original = run_module._Run.batch
    calls = {"n": 0}

    def dies_on_third_batch(self, records, progress):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self, records, progress)

    monkeypatch.setattr(run_module._Run, "batch", dies_on_third_batch)
    with pytest.raises(RuntimeError):
        run(file, user=admin)
    job = ImportJob.objects.get()
    assert (job.status, job.records_done, job.created) == (JobStatus.FAILED, 4, 4)
    services.resume_import(job=job, actor=admin)
    job.refresh_from_db()
    services.run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows, job.created, job.duplicates) == (JobStatus.DONE, 8, 7, 1)
    assert Lead.objects.count() == 7


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_a_queued_import(admin):
    file = upload(b"Email\na@x.example\nb@x.example\n", user=admin)
    mapping = suggest_mapping(file.headers, file.sample, admin=True)
    job = services.start_import(file=file, mapping=mapping, user=admin, dry_run=False)
    assert job.status == JobStatus.QUEUED
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.created, job.progress, job.percent) == (JobStatus.DONE, 2, 1.0, 100)
    assert job.seconds >= 0


@pytest.mark.django_db
def test_xlsx_and_vcard_files_import_like_csv(admin):
    from tests.imports.conftest import xlsx_bytes
    from tests.imports.test_readers import VCARD_3, VCARD_4

    workbook = upload(xlsx_bytes([["E-mail", "Name"], ["x@x.example", "Xu Li"]]), "leads.xlsx", user=admin)
    cards = upload((VCARD_3 + VCARD_4).encode(), "cards.vcf", user=admin)
    assert run(workbook, user=admin).created == 1
    job = run(cards, user=admin)
    assert (job.created, job.errors) == (2, 0)
    chidi = Lead.objects.get(email_key="chidi@northwind.example")
    assert (chidi.first_name, chidi.last_name, chidi.phone, chidi.title) == (
        "Chidi",
        "Okafor",
        "+16465550101",
        "Head of Research",
    )
    assert chidi.company_name == "Northwind Labs"


@pytest.mark.django_db
def test_a_stored_upload_reads_back_across_chunk_boundaries(monkeypatch, admin):
    from leadflow.imports.models import ImportChunk
    from leadflow.imports.services import files
    from tests.imports.conftest import xlsx_bytes

    monkeypatch.setattr(files, "CHUNK_BYTES", 1000)
    rows = "".join(f"zoë{n}@x.example,Zoë Ångström {n}\n" for n in range(300))
    file = upload(f"Email,Name\n{rows}".encode(), user=admin)
    assert ImportChunk.objects.filter(file=file).count() > 10
    job = run(file, user=admin, dry_run=True)
    assert (job.rows, job.created, job.errors) == (300, 300, 0)
    workbook = upload(xlsx_bytes([["Email", "Name"]] + [[f"w{n}@x.example", f"Wó {n}"] for n in range(300)]), "w.xlsx")
    assert ImportChunk.objects.filter(file=workbook).count() > 3
    assert run(workbook, user=admin).created == 300
    assert Lead.objects.get(email_key="w299@x.example").last_name == "299"
