"""Background work after a form submission: thin entry points that call services."""

from django_tasks import task

from leadflow.capture import services


@task()
def follow_up_submissions(submission_ids: list[int]) -> None:
    services.follow_up_submissions(submission_ids=submission_ids)


@task()
def follow_up_submission(submission_id: int) -> None:
    """Follow up one submission (tasks queued before follow-ups were queued per batch)."""
    services.follow_up_submission(submission_id=submission_id)


@task()
def sweep_rate_counters() -> None:
    services.sweep_rate_counters()
