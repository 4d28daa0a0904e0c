"""Background work for imports: thin entry points that call services."""

from django_tasks import task

from leadflow.imports import services


@task()
def run_import(job_id: int) -> None:
    services.run_import_job(job_id=job_id)


@task()
def undo_import(job_id: int) -> None:
    services.run_undo(job_id=job_id)
