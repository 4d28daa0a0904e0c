"""Background work after a form submission: thin entry points that call services."""

from django_tasks import task

from leadflow.capture import services


@task()
def follow_up_submission(submission_id: int) -> None:
    services.follow_up_submission(submission_id=submission_id)


@task()
def sweep_rate_counters() -> None:
    services.sweep_rate_counters()
