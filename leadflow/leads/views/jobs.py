"""Progress of background bulk jobs, polled by the page until they finish."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from leadflow.leads.errors import LeadError
from leadflow.leads.models import BulkJob
from leadflow.leads.services import bulk


def _own_job(request: HttpRequest, pk: int) -> BulkJob:
    return get_object_or_404(BulkJob, pk=pk, user=request.user)


@login_required
def bulk_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    template = "leads/job.html#progress" if request.htmx else "leads/job.html"
    return render(request, template, {"job": job, "stalled": bulk.is_stalled(job)})


@require_POST
@login_required
def bulk_job_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    error = ""
    try:
        job = bulk.resume_bulk_job(job=job, actor=request.user)
    except LeadError as failure:
        error = failure.message
    return render(request, "leads/job.html#progress", {"job": job, "stalled": bulk.is_stalled(job), "error": error})
