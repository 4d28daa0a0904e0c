"""Background work of routing: thin entry points that call services."""

from django_tasks import task

from leadflow.routing import services


@task()
def route_lead(lead_id: int, trigger: str) -> None:
    """Assign the lead by the assignment rules; `trigger` says what asked (for example "mql")."""
    services.route_lead(lead_id=lead_id, trigger=trigger)
