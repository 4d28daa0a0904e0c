"""Two workers running due steps at the same time share the work and never send twice."""

import threading

import pytest
from django.db import connection, connections

from leadflow.mail.models import Kind, OutboxMessage
from leadflow.nurture import engine, services
from leadflow.nurture.models import Enrollment, StepKind
from tests.conftest import make_lead
from tests.nurture.conftest import make_sequence

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_runners_at_once_send_each_email_exactly_once(admin):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("threads need a database file or PostgreSQL; in-memory SQLite is one connection")
    always = {"send_days": list(range(7)), "send_start_hour": 0, "send_end_hour": 24}
    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 3}), **always)
    leads = [make_lead() for _ in range(40)]
    for lead in leads:
        services.enroll(sequence=sequence, lead=lead, actor=admin)
    handled: list[int] = []
    barrier = threading.Barrier(2)

    def runner() -> None:
        try:
            barrier.wait()
            while done := engine.run_due(limit=5):
                handled.append(done)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(handled) == 40
    assert OutboxMessage.objects.filter(kind=Kind.MARKETING).count() == 40
    assert set(Enrollment.objects.values_list("step__kind", flat=True)) == {StepKind.WAIT}
