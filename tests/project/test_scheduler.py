"""The periodic-job loop that `leadflow worker` runs beside the task queue."""

from __future__ import annotations

import pytest

from leadflow.lib import scheduler


@pytest.fixture
def jobs(monkeypatch, db):
    registry: dict = {}
    monkeypatch.setattr(scheduler, "JOBS", registry)
    return registry


def test_a_job_with_a_backlog_runs_again_at_once_and_an_idle_one_waits(jobs):
    backlog = [5, 5, 0]
    calls = {"busy": 0, "idle": 0}

    @scheduler.every(seconds=60)
    def busy() -> int:
        calls["busy"] += 1
        return backlog.pop(0)

    @scheduler.every(seconds=60)
    def idle() -> int:
        calls["idle"] += 1
        return 0

    assert scheduler.run_due(now=100.0) == 5
    assert scheduler.run_due(now=100.5) == 5
    assert scheduler.run_due(now=101.0) == 0
    assert scheduler.run_due(now=102.0) == 0
    assert calls == {"busy": 3, "idle": 1}
    scheduler.run_due(now=161.5)
    assert calls == {"busy": 4, "idle": 2}


def test_a_batch_job_runs_again_at_once_only_after_a_whole_batch(jobs):
    handled = [100, 40, 100, 0]
    calls = []

    @scheduler.every(seconds=0.2, batch=100)
    def record() -> int:
        calls.append(len(calls))
        return handled.pop(0)

    assert scheduler.run_due(now=10.0) == 100
    assert scheduler.run_due(now=10.0) == 40
    # A part batch means the queue is drained: the next run waits the interval and takes what came meanwhile.
    assert scheduler.run_due(now=10.1) == 0
    assert len(calls) == 2
    assert scheduler.run_due(now=10.2) == 100
    assert scheduler.run_due(now=10.2) == 0
    assert len(calls) == 4


def test_a_failing_job_is_logged_and_does_not_stop_the_others(jobs, caplog):
    ran = []

    @scheduler.every(seconds=10)
    def broken() -> int:
        raise RuntimeError("mailbox unreachable")

    @scheduler.every(seconds=10)
    def healthy() -> int:
        ran.append(True)
        return 1

    assert scheduler.run_due(now=1.0) == 1
    assert ran == [True]
    assert "mailbox unreachable" in caplog.text


def test_each_lane_runs_only_its_own_jobs(jobs):
    ran = []

    @scheduler.every(seconds=5, lane="fast")
    def outbox() -> int:
        ran.append("fast")
        return 0

    @scheduler.every(seconds=5)
    def slow_sweep() -> int:
        ran.append("main")
        return 0

    scheduler.run_due(now=1.0, lane="fast")
    assert ran == ["fast"]
    scheduler.run_due(now=1.0, lane="main")
    assert ran == ["fast", "main"]


def test_an_unknown_lane_is_refused(jobs):
    with pytest.raises(ValueError, match="lane must be one of"):
        scheduler.every(seconds=1, lane="turbo")
