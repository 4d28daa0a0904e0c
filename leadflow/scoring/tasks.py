"""Background work on scores: thin entry points that call services."""

from django_tasks import task

from leadflow.scoring.services import bulk


@task()
def run_rescore_job(job_id: int) -> None:
    bulk.run_rescore_job(job_id=job_id)
