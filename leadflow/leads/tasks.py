"""Background work on leads: thin entry points that call services."""

from django_tasks import task

from leadflow.leads.services import bulk


@task()
def run_bulk_job(job_id: int) -> None:
    bulk.run_bulk_job(job_id=job_id)
