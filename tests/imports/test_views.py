"""The import pages through the test client: who may use them, and the whole flow."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from leadflow.imports.models import ImportFile, ImportJob, ImportMapping, JobStatus
from leadflow.leads.models import Lead
from tests.conftest import PASSWORD
from tests.imports.conftest import run, upload, xlsx_bytes

CSV = b"E-mail;First Name;Lead Source;Do Not Call\nana@x.example;Ana;fair;No\nbad;Bo;fair;Yes\n"


def signed_in(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def form_data(response, **overrides) -> dict:
    """Return the mapping form's values as the page filled them in."""
    form = response.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_reps_get_403_on_every_import_page(client, alice, admin):
    file = upload(CSV, user=admin)
    job = run(file, user=admin)
    signed_in(client, alice)
    pages = ["/imports/", f"/imports/files/{file.pk}/", f"/imports/{job.pk}/", f"/imports/{job.pk}/errors.csv"]
    for page in pages:
        assert client.get(page).status_code == 403, page
    posts = ["/imports/upload/", f"/imports/{job.pk}/run/", f"/imports/{job.pk}/undo/", f"/imports/{job.pk}/resume/"]
    for page in posts:
        assert client.post(page).status_code == 403, page


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/imports/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_importers_see_only_their_own_files_and_imports_and_admins_see_all(client, marketing, manager, admin):
    file = upload(CSV, user=marketing)
    job = run(file, user=marketing)
    signed_in(client, manager)
    for page in (f"/imports/files/{file.pk}/", f"/imports/{job.pk}/", f"/imports/{job.pk}/errors.csv"):
        assert client.get(page).status_code == 404, page
    assert client.post(f"/imports/{job.pk}/undo/").status_code == 404
    assert "ana@x" not in client.get("/imports/").content.decode()
    signed_in(client, admin)
    assert client.get(f"/imports/{job.pk}/").status_code == 200


@pytest.mark.django_db
def test_upload_preview_map_dry_run_then_import(client, marketing, django_capture_on_commit_callbacks):
    signed_in(client, marketing)
    response = client.post("/imports/upload/", {"file": SimpleUploadedFile("leads.csv", CSV)})
    file = ImportFile.objects.get()
    assert response["Location"] == f"/imports/files/{file.pk}/"
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Semicolon" in html and "UTF-8" in html and "ana@x.example" in html
    assert [column.target.value() for column in page.context["form"].columns()] == [
        "email",
        "first_name",
        "source",
        "custom:flag",
    ]
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(page.request["PATH_INFO"], form_data(page, action="dry", save_as="Fair list"))
    dry = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{dry.pk}/"
    assert ImportMapping.objects.get().name == "Fair list"
    from leadflow.imports.services import run_import_job

    run_import_job(job_id=dry.pk)
    html = client.get(f"/imports/{dry.pk}/").content.decode()
    assert "Checked 2 rows" in html and "Nothing was changed" in html
    assert "E-mail is not a valid email address" in html
    assert Lead.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/imports/{dry.pk}/run/")
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    run_import_job(job_id=real.pk)
    real.refresh_from_db()
    assert (real.dry_run, real.created, real.errors, real.mapping_name) == (False, 1, 1, "Fair list")
    lead = Lead.objects.get()
    assert (lead.email, lead.source, lead.custom) == ("ana@x.example", "fair", {"do_not_call": False})


@pytest.mark.django_db
def test_a_saved_mapping_is_offered_for_a_file_with_the_same_columns(client, marketing):
    signed_in(client, marketing)
    first = upload(CSV, user=marketing)
    page = client.get(f"/imports/files/{first.pk}/")
    data = form_data(page, action="dry", save_as="Fair list", c2="campaign")
    client.post(f"/imports/files/{first.pk}/", data)
    second = upload(b"Do Not Call;E-mail;First Name;Lead Source\nNo;cy@x.example;Cy;expo\n", user=marketing)
    page = client.get(f"/imports/files/{second.pk}/")
    assert page.context["mapping_name"] == "Fair list"
    targets = {column.header: column.target.value() for column in page.context["form"].columns()}
    assert targets["Lead Source"] == "campaign"
    suggested = client.get(f"/imports/files/{second.pk}/?mapping=")
    assert {c.header: c.target.value() for c in suggested.context["form"].columns()}["Lead Source"] == "source"


@pytest.mark.django_db
def test_the_progress_partial_polls_until_the_job_is_done(client, marketing):
    file = upload(CSV, user=marketing)
    job = ImportJob.objects.create(file=file, user=marketing, mapping={"columns": {"E-mail": {"target": "email"}}})
    signed_in(client, marketing)
    partial = client.get(f"/imports/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in partial and "<html" not in partial
    assert "Waiting for a worker" in partial
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    assert 'hx-trigger="every 2s"' not in client.get(f"/imports/{job.pk}/").content.decode()


@pytest.mark.django_db
def test_error_report_downloads_as_csv(client, marketing):
    job = run(upload(b"Email,Company\n=cmd|' /C calc'!A0,Acme\n", user=marketing), user=marketing)
    signed_in(client, marketing)
    response = client.get(f"/imports/{job.pk}/errors.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{job.pk}-errors.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", "column", "reason"]
    assert rows[1][0:2] == ["2", "Email"]


@pytest.mark.django_db
@override_settings(LEADFLOW_IMPORT_MAX_UPLOAD_BYTES=1000)
def test_a_file_over_the_size_limit_is_refused_with_a_clear_message(client, marketing):
    signed_in(client, marketing)
    response = client.post(
        "/imports/upload/", {"file": SimpleUploadedFile("big.csv", b"Email\n" + b"a@x.example\n" * 200)}
    )
    assert response.status_code == 413
    assert "This file is larger than 1000\xa0bytes, the most the page accepts" in response.content.decode()
    assert ImportFile.objects.count() == 0


@pytest.mark.django_db
def test_a_zip_bomb_upload_is_refused_and_nothing_kept(client, marketing):
    from tests.imports.test_readers import zip_with

    bomb = zip_with({"xl/workbook.xml": b"<workbook/>", "xl/worksheets/sheet1.xml": b"\0" * (20 * 1024 * 1024)})
    signed_in(client, marketing)
    response = client.post("/imports/upload/", {"file": SimpleUploadedFile("bomb.xlsx", bomb)})
    assert response.status_code == 400
    assert "only a zip bomb does" in response.content.decode()
    assert ImportFile.objects.count() == 0


@pytest.mark.django_db
def test_an_xlsx_upload_previews_its_rows(client, marketing):
    signed_in(client, marketing)
    data = xlsx_bytes([["Email", "Company"], ["x@x.example", "=1+2"]])
    response = client.post("/imports/upload/", {"file": SimpleUploadedFile("book.xlsx", data)}, follow=True)
    html = response.content.decode()
    assert "Excel workbook" in html and "=1+2" in html


@pytest.mark.django_db
def test_the_owner_column_is_offered_to_admins_only(client, marketing, admin):
    file = upload(b"Email,Owner\na@x.example,alice\n", user=admin)
    signed_in(client, admin)
    choices = dict(client.get(f"/imports/files/{file.pk}/").context["form"].fields["c1"].choices)
    assert "owner" in choices and "key" in choices
    file.uploaded_by = marketing
    file.save()
    signed_in(client, marketing)
    page = client.get(f"/imports/files/{file.pk}/")
    assert "owner" not in dict(page.context["form"].fields["c1"].choices)
    response = client.post(f"/imports/files/{file.pk}/", form_data(page, c1="owner", action="run"))
    assert response.status_code == 400
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_a_wide_file_is_mapped_within_the_form_field_limit(client, marketing, django_capture_on_commit_callbacks):
    headers = ["Email"] + [f"Answer {n}" for n in range(120)]
    file = upload(
        (",".join(headers) + "\n" + ",".join(["w@x.example"] + ["yes"] * 120) + "\n").encode(), user=marketing
    )
    signed_in(client, marketing)
    page = client.get(f"/imports/files/{file.pk}/")
    assert page.context["form"].named is False
    data = form_data(page, action="dry")
    assert len(data) + 1 <= 200
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/imports/files/{file.pk}/", data)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.mapping["columns"]["Answer 7"] == {"target": "custom", "name": "answer_7", "kind": "flag"}
