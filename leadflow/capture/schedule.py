"""Periodic capture jobs run by `leadflow worker`: received form posts become leads."""

from __future__ import annotations

from leadflow.capture import services
from leadflow.capture.services.recording import BATCH_SIZE
from leadflow.lib.scheduler import every


@every(seconds=0.35, lane="fast", batch=BATCH_SIZE)
def record_received_submissions() -> int:
    """Make or update the leads of received form posts, a batch at a time, so a person is a lead within a second."""
    return services.record_received_submissions()
