"""Run due sequence steps: claim due enrollments in batches, then walk each to its next wait.

Any number of workers run `run_due` at once. A batch is claimed by stamping rows with
a random token and a lease (`select_for_update(skip_locked=True)` first on PostgreSQL,
a conditional UPDATE on SQLite); only the holder of the token processes a row, and a
lease that ran out (a killed worker) lets another worker take it again. Emails are
queued with a key unique per (enrollment, step), so a retry never sends twice.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.leads.models import LeadStatus
from leadflow.nurture.enrollment import end_enrollment
from leadflow.nurture.models import Enrollment, EnrollmentStatus, SequenceStatus, Step, StepKind
from leadflow.nurture.steps import run_step, send_exit, stage_exit

logger = logging.getLogger("leadflow.nurture")
LEASE = timedelta(minutes=5)
MAX_STEPS_PER_RUN = 25
RETRY_AFTER_ERROR = timedelta(minutes=5)
HISTORY_KEEP = 20


def _due(now: datetime):
    return Enrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE, sequence__status=SequenceStatus.ACTIVE, next_due_at__lte=now
    ).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))


def claim_due(*, now: datetime, limit: int) -> tuple[str, list[int]]:
    """Claim up to `limit` due enrollments; return the claim token and the claimed ids."""
    token = secrets.token_hex(16)
    if not _due(now).exists():
        return token, []
    with transaction.atomic():
        candidates = _due(now).order_by("next_due_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        ids = list(candidates.values_list("pk", flat=True)[:limit])
        if not ids:
            return token, []
        # The same conditions again: on SQLite this UPDATE is the claim itself.
        _due(now).filter(pk__in=ids).update(claim_token=token, claimed_until=now + LEASE)
    return token, list(Enrollment.objects.filter(pk__in=ids, claim_token=token).values_list("pk", flat=True))


def run_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Claim one batch of due enrollments and run their steps; return how many were handled."""
    now = now or timezone.now()
    token, ids = claim_due(now=now, limit=limit or settings.LEADFLOW_NURTURE_BATCH)
    for enrollment_id in ids:
        try:
            advance(enrollment_id=enrollment_id, token=token, now=now)
        except Exception:
            logger.exception("sequence step of enrollment %s failed; retrying later", enrollment_id)
            Enrollment.objects.filter(pk=enrollment_id, claim_token=token).update(
                claim_token="", claimed_until=None, next_due_at=now + RETRY_AFTER_ERROR
            )
    return len(ids)


def _note(enrollment: Enrollment, step: Step | None, text: str, now: datetime) -> None:
    entry = {"at": now.isoformat(), "step": step.pk if step else None, "kind": step.kind if step else "", "note": text}
    enrollment.history = [*(enrollment.history or []), entry][-HISTORY_KEEP:]


def next_step(step: Step) -> Step | None:
    """Return the step after `step` in its sequence, or None at the end."""
    return (
        Step.objects.filter(sequence_id=step.sequence_id)
        .filter(Q(position__gt=step.position) | Q(position=step.position, pk__gt=step.pk))
        .select_related("template")
        .order_by("position", "id")
        .first()
    )


def _exit_reason(enrollment: Enrollment, step: Step | None) -> str:
    lead = enrollment.lead
    if lead.status != LeadStatus.ACTIVE:
        return "lead_inactive"
    reason = stage_exit(lead, enrollment.sequence, enrollment.enrolled_at)
    if reason:
        return reason
    if step is not None and step.kind == StepKind.EMAIL:
        return send_exit(enrollment)
    return ""


def advance(*, enrollment_id: int, token: str, now: datetime) -> None:
    """Run the claimed enrollment's steps from its current one until it must wait or it ends."""
    with transaction.atomic():
        enrollment = (
            Enrollment.objects.select_for_update(of=("self",))
            .select_related("sequence", "lead", "lead__owner", "step", "step__template")
            .filter(pk=enrollment_id, claim_token=token, status=EnrollmentStatus.ACTIVE)
            .first()
        )
        if enrollment is None:
            return
        for _ in range(MAX_STEPS_PER_RUN):
            step = enrollment.step
            reason = _exit_reason(enrollment, step)
            if reason or step is None:
                end_enrollment(enrollment, reason=reason or "completed", now=now)
                return
            outcome = run_step(enrollment, step, now)
            _note(enrollment, step, outcome.note, now)
            if outcome.wait_until is not None:
                enrollment.next_due_at = outcome.wait_until
                break
            enrollment.step = outcome.goto or next_step(step)
            enrollment.wait_until = None
        else:
            # A branch looping back on itself: go on later instead of spinning.
            enrollment.next_due_at = now + timedelta(hours=1)
        enrollment.claim_token = ""
        enrollment.claimed_until = None
        enrollment.save(
            update_fields=["step", "next_due_at", "wait_until", "last_email_key", "history", "claim_token",
                           "claimed_until"]
        )  # fmt: skip
