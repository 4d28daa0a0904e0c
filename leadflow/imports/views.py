"""Import pages: upload, preview and map, dry run, run with progress, error report, undo."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from leadflow.imports import queries, services
from leadflow.imports.access import is_admin, may_import
from leadflow.imports.forms import LimitedUploadHandler, MappingForm, UploadForm, max_columns
from leadflow.imports.mapping import Mapping, MappingError, suggest_mapping
from leadflow.imports.models import ImportFile, ImportJob, ImportMapping
from leadflow.imports.readers import ReadError
from leadflow.imports.services.files import PREVIEW_ROWS, max_upload_bytes
from leadflow.leads.errors import LeadError

RECENT_JOBS = 20


def importer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let in admins, marketing and sales managers; anyone else signed in gets 403."""

    @wraps(view)
    @login_required
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_import(request.user):
            raise PermissionDenied("Only admins, marketing and sales managers may import leads.")
        return view(request, *args, **kwargs)

    return guarded


def _page(request: HttpRequest, form: UploadForm, status: int = 200) -> HttpResponse:
    jobs = queries.jobs_visible_to(request.user)[:RECENT_JOBS]
    context = {"form": form, "jobs": jobs, "max_bytes": max_upload_bytes()}
    return render(request, "imports/index.html", context, status=status)


@importer_required
def index(request: HttpRequest) -> HttpResponse:
    return _page(request, UploadForm())


@csrf_exempt
@importer_required
def upload(request: HttpRequest) -> HttpResponse:
    # The size limit has to be in place before anything reads the body, the CSRF check included.
    request.upload_handlers.insert(0, LimitedUploadHandler(request))
    return _upload(request)


@csrf_protect
@require_POST
def _upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES, too_large=getattr(request, "import_too_large", False))
    if not form.is_valid():
        return _page(request, form, status=413 if form.too_large else 400)
    upload_file = form.cleaned_data["file"]
    try:
        file = services.store_upload(stream=upload_file, name=upload_file.name, user=request.user)
    except ReadError as error:
        form.add_error("file", str(error))
        return _page(request, form, status=400)
    return redirect(file)


def _initial_mapping(request: HttpRequest, file: ImportFile) -> tuple[Mapping, str, list[ImportMapping]]:
    """Return the mapping to show: one asked for, else the newest saved for these columns, else a suggestion."""
    saved = queries.mappings_for(file.headers)
    wanted = request.GET.get("mapping")
    if wanted is None and saved:
        wanted = saved[0].name
    chosen = ImportMapping.objects.filter(name=wanted).first() if wanted else None
    if chosen is not None:
        return Mapping.from_json(chosen.spec), chosen.name, saved
    return suggest_mapping(file.headers, file.sample, admin=is_admin(request.user)), "", saved


@importer_required
def file_detail(request: HttpRequest, pk: int) -> HttpResponse:
    file = get_object_or_404(queries.files_visible_to(request.user), pk=pk)
    mapping, mapping_name, saved = _initial_mapping(request, file)
    admin = is_admin(request.user)
    if request.method == "POST":
        mapping_name = request.POST.get("mapping_name", "")
        form = MappingForm(request.POST, headers=file.headers, samples=file.sample, mapping=mapping, admin=admin)
        if form.is_valid():
            response = _start(request, file, form)
            if response is not None:
                return response
    else:
        form = MappingForm(
            initial={"mapping_name": mapping_name},
            headers=file.headers,
            samples=file.sample,
            mapping=mapping,
            admin=admin,
        )
    context = {
        "file": file,
        "form": form,
        "saved": saved,
        "mapping_name": mapping_name,
        "preview": file.sample[:PREVIEW_ROWS],
        "too_wide": len(file.headers) > max_columns(),
    }
    return render(request, "imports/file.html", context, status=400 if form.errors else 200)


def _start(request: HttpRequest, file: ImportFile, form: MappingForm) -> HttpResponse | None:
    mapping = form.mapping()
    data = form.cleaned_data
    try:
        if data["save_as"].strip():
            saved = services.save_mapping(
                name=data["save_as"], mapping=mapping, headers=file.headers, actor=request.user
            )
            data["mapping_name"] = saved.name
        job = services.start_import(
            file=file,
            mapping=mapping,
            user=request.user,
            dry_run=data["action"] == "dry",
            mapping_name=data["mapping_name"],
        )
    except MappingError as error:
        form.add_error(None, str(error))
        return None
    return redirect(job)


def _job(request: HttpRequest, pk: int) -> ImportJob:
    return get_object_or_404(queries.jobs_visible_to(request.user), pk=pk)


def _job_context(job: ImportJob, error: str = "") -> dict:
    return {
        "job": job,
        "stalled": services.is_stalled(job),
        "problems": list(queries.problems_of(job, limit=queries.PREVIEW_ERRORS)) if job.is_finished else [],
        "error": error,
    }


@importer_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    template = "imports/job.html#progress" if request.htmx else "imports/job.html"
    return render(request, template, _job_context(job))


@importer_required
def error_report(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    job = _job(request, pk)
    response = StreamingHttpResponse(queries.error_report(job), content_type="text/csv; charset=utf-8")
    kind = "dry-run" if job.dry_run else "import"
    response["Content-Disposition"] = f'attachment; filename="{kind}-{job.pk}-errors.csv"'
    return response


@require_POST
@importer_required
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run for real what a dry run checked: same file, same mapping."""
    checked = _job(request, pk)
    try:
        job = services.start_import(
            file=checked.file,
            mapping=Mapping.from_json(checked.mapping),
            user=request.user,
            dry_run=False,
            mapping_name=checked.mapping_name,
        )
    except MappingError as error:
        messages.error(request, str(error))
        return redirect(checked)
    return redirect(job)


@require_POST
@importer_required
def job_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    error = ""
    try:
        job = services.resume_import(job=job, actor=request.user)
    except LeadError as failure:
        error = failure.message
    return render(request, "imports/job.html#progress", _job_context(job, error))


@require_POST
@importer_required
def job_undo(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if not services.may_undo(job, request.user):
        raise PermissionDenied("Only the person who ran this import, or an admin, may undo it.")
    try:
        services.start_undo(job=job, actor=request.user)
    except LeadError as failure:
        messages.error(request, failure.message)
    return redirect(job)
