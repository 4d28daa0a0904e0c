"""The weekly retrain: one training per week however many workers run the schedule."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError, connection

from leadflow.lib import scheduler
from leadflow.predictive import schedule, services
from leadflow.predictive.models import ScoreModel, TrainingRun
from tests.imports.conftest import run_worker
from tests.predictive.conftest import closed_history

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _in_threads(function, count: int = 2) -> list:
    """Run `function` in `count` threads released at the same moment; return what each returned.

    A run that fails counts as "failed", as the scheduler logs a failed job and runs it again
    later: SQLite's shared in-memory test database refuses a second writer at once instead of
    waiting for it ("database table is locked").
    """
    barrier = threading.Barrier(count)
    results = []

    def runner() -> None:
        try:
            barrier.wait()
            results.append(function())
        except OperationalError:
            results.append("failed")
        finally:
            connection.close()

    threads = [threading.Thread(target=runner) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_weekly_job_at_once_train_once():
    closed_history(customers=30, disqualified=30)
    with time_machine.travel(MONDAY, tick=True):
        first = _in_threads(schedule.weekly_retrain)
        again = _in_threads(schedule.weekly_retrain)
        assert (first + again).count(1) == 1, (first, again)
        assert TrainingRun.objects.filter(trigger="weekly").count() == 1
        run_worker()
        assert schedule.weekly_retrain() == 0
    assert ScoreModel.objects.count() == 1
    assert ScoreModel.objects.get().trigger == "weekly"
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_the_weekly_job_trains_again_the_next_week():
    closed_history(customers=30, disqualified=30)
    with time_machine.travel(MONDAY, tick=False):
        assert services.claim_weekly_training() is not None
        assert services.claim_weekly_training() is None
        services.run_training(run_id=TrainingRun.objects.get().pk)
    with time_machine.travel(MONDAY + timedelta(days=6), tick=False):
        assert services.claim_weekly_training() is None, "Sunday is still the same ISO week"
    with time_machine.travel(MONDAY + timedelta(days=7), tick=False):
        run = services.claim_weekly_training()
        assert run is not None and run.trigger == "weekly"


@pytest.mark.django_db
def test_the_weekly_retrain_can_be_switched_off(settings):
    settings.LEADFLOW_PREDICTIVE_WEEKLY = False
    assert services.claim_weekly_training() is None
    assert TrainingRun.objects.count() == 0


def test_leadflow_worker_runs_the_weekly_retrain_and_the_scoring_job():
    jobs = scheduler.discover()
    assert "leadflow.predictive.schedule.weekly_retrain" in jobs
    assert "leadflow.predictive.schedule.score_new_activity" in jobs
