"""leadflow rescore [--restart]: recompute every lead's rule score, with a progress bar."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, OutputWrapper

from leadflow.scoring.models import JobStatus, RescoreJob, RescoreReason
from leadflow.scoring.services import bulk

BAR_WIDTH = 30
LOG_EVERY_S = 30


class ProgressBar:
    """A progress bar on stderr: redrawn in place on a terminal, otherwise a line every 10% or 30 seconds."""

    def __init__(self, stream: OutputWrapper) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_drawn = 0.0
        self.last_tenth = -1

    def update(self, job: RescoreJob) -> None:
        now = time.monotonic()
        share = job.percent / 100
        tenth = int(share * 10)
        if self.tty and now - self.last_drawn < 0.2 and not job.is_finished:
            return
        if not self.tty and tenth == self.last_tenth and now - self.last_drawn < LOG_EVERY_S:
            return
        self.last_drawn, self.last_tenth = now, tenth
        filled = int(share * BAR_WIDTH)
        rate = job.processed / max(now - self.started, 1e-6)
        line = (
            f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} {job.processed:,} of {job.total:,} leads, "
            f"{job.changed:,} changed, {rate:,.0f} leads/s"
        )
        self.stream.write(f"\r{line}" if self.tty else line, ending="" if self.tty else "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("")
            self.stream.flush()


class Command(BaseCommand):
    help = "Recompute every lead's rule score (fit + engagement) and print how many changed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--restart", action="store_true", help="start over instead of resuming an interrupted run")

    def handle(self, *args, **options) -> None:
        self.stderr.style_func = None  # progress, not an error: no red
        job = None if options["restart"] else self._interrupted()
        if job is None:
            job = bulk.start_rescore(actor=None, reason=RescoreReason.COMMAND, enqueue=False)
        else:
            started_at = f"{job.created_at:%Y-%m-%d %H:%M}"
            self.stderr.write(f"Resuming the rescore started {started_at} after lead {job.last_lead_id}.")
        RescoreJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
        job.status = JobStatus.RUNNING
        started = time.monotonic()
        bar = ProgressBar(self.stderr)
        try:
            bulk.run_rescore(job, on_progress=bar.update)
        finally:
            bar.close()
        seconds = time.monotonic() - started
        self.stdout.write(
            f"Rescored {job.processed:,} leads in {seconds:.1f} s: {job.changed:,} changed"
            + (f", {job.crossed:,} reached the MQL threshold and are queued to move to MQL." if job.crossed else ".")
        )

    def _interrupted(self) -> RescoreJob | None:
        return (
            RescoreJob.objects.filter(reason=RescoreReason.COMMAND, status__in=[JobStatus.RUNNING, JobStatus.FAILED])
            .order_by("-pk")
            .first()
        )
