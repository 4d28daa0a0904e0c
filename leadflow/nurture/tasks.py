"""Background nurture work: thin entry points that call services."""

from __future__ import annotations

from django_tasks import task

from leadflow.nurture import queries, services
from leadflow.nurture.models import Sequence


@task()
def enroll_matching(sequence_id: int, user_id: int, query: str) -> dict[str, int]:
    """Enroll every lead the user sees that matches the leads-list filter `query`."""
    from leadflow.accounts.models import User

    sequence = Sequence.objects.get(pk=sequence_id)
    user = User.objects.get(pk=user_id)
    leads = queries.matching_leads(user=user, query=query).iterator(chunk_size=500)
    return services.enroll_many(sequence=sequence, leads=leads, actor=user)
