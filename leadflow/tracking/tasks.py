"""Background work on website visits: thin entry points that call services."""

from django_tasks import task

from leadflow.tracking import services


@task()
def record_visitor_sessions(visitor_id: int) -> int:
    return services.record_visitor_sessions(visitor_id=visitor_id)
