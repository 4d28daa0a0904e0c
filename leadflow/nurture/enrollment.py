"""Put leads into sequences and take them out, each move on the lead's timeline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ConsentStatus, EventKind, Lead, LeadStatus
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import Enrollment, EnrollmentStatus, ExitReason, Sequence, Step

BULK_LIMIT = 10_000


def suppression_of(lead: Lead) -> str | None:
    """Return why the lead must not get marketing email (mail's suppression list), or None."""
    from leadflow.mail import queries as mail_queries

    return mail_queries.suppression_reason(lead.email, kind="marketing")


def first_step(sequence: Sequence) -> Step | None:
    return sequence.steps.order_by("position", "id").first()


def check_enrollable(*, sequence: Sequence, lead: Lead) -> None:
    """Raise NurtureError when `lead` may not be enrolled in `sequence` now."""
    if lead.status != LeadStatus.ACTIVE:
        raise NurtureError("lead_inactive", "This lead was merged or erased.")
    if not lead.email:
        raise NurtureError("no_email", "This lead has no email address.")
    if lead.consent_status == ConsentStatus.WITHDRAWN:
        raise NurtureError("consent_withdrawn", "This lead withdrew consent to marketing email.")
    reason = suppression_of(lead)
    if reason:
        raise NurtureError("suppressed", f"This address is on the suppression list ({reason}).")
    if Enrollment.objects.filter(sequence=sequence, lead=lead, status=EnrollmentStatus.ACTIVE).exists():
        raise NurtureError("already_enrolled", f"Already in “{sequence.name}”.")


def enroll(*, sequence: Sequence, lead: Lead, actor, source: str = "manual") -> Enrollment:
    """Start `lead` on the first step of `sequence`; raise NurtureError when it may not be."""
    check_enrollable(sequence=sequence, lead=lead)
    now = timezone.now()
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                sequence=sequence,
                lead=lead,
                step=first_step(sequence),
                next_due_at=now,
                source=source,
                enrolled_by=actor,
                enrolled_at=now,
            )
            timeline.record(
                lead,
                EventKind.SEQUENCE_ENROLLED,
                actor=actor,
                data={"sequence_id": sequence.pk, "sequence": sequence.name, "source": source},
            )
    except IntegrityError as error:
        raise NurtureError("already_enrolled", f"Already in “{sequence.name}”.") from error
    return enrollment


def enroll_many(*, sequence: Sequence, leads: Iterable[Lead], actor, source: str = "bulk") -> dict[str, int]:
    """Enroll each lead it may; return how many were enrolled and how many skipped, by why."""
    counts: Counter = Counter()
    for n, lead in enumerate(leads):
        if n >= BULK_LIMIT:
            counts["over_limit"] += 1
            continue
        try:
            enroll(sequence=sequence, lead=lead, actor=actor, source=source)
            counts["enrolled"] += 1
        except NurtureError as error:
            counts[error.code] += 1
    return dict(counts)


def end_enrollment(enrollment: Enrollment, *, reason: str, actor=None, now=None) -> None:
    """End an active enrollment (in the caller's transaction) and put it on the timeline."""
    now = now or timezone.now()
    completed = reason == ExitReason.COMPLETED
    enrollment.status = EnrollmentStatus.COMPLETED if completed else EnrollmentStatus.EXITED
    enrollment.exit_reason = reason[:20]
    enrollment.ended_at = now
    enrollment.next_due_at = None
    enrollment.wait_until = None
    enrollment.claim_token = ""
    enrollment.claimed_until = None
    enrollment.save(
        update_fields=[
            "status", "exit_reason", "ended_at", "next_due_at", "wait_until", "claim_token", "claimed_until",
            "history", "last_email_key",
        ]
    )  # fmt: skip
    labels = dict(ExitReason.choices)
    timeline.record(
        enrollment.lead,
        EventKind.SEQUENCE_EXITED,
        actor=actor,
        data={
            "sequence_id": enrollment.sequence_id,
            "sequence": enrollment.sequence.name,
            "reason": reason,
            "reason_label": labels.get(reason, reason.replace("_", " ")),
        },
    )


def exit_lead(*, lead_id: int, reason: str) -> int:
    """End every active enrollment of the lead for `reason`; return how many ended."""
    with transaction.atomic():
        rows = list(
            Enrollment.objects.select_for_update()
            .filter(lead_id=lead_id, status=EnrollmentStatus.ACTIVE)
            .select_related("sequence", "lead")
        )
        for enrollment in rows:
            end_enrollment(enrollment, reason=reason)
    return len(rows)


def remove_enrollment(*, enrollment: Enrollment, actor) -> Enrollment:
    """Take the lead out of the sequence by hand."""
    with transaction.atomic():
        current = Enrollment.objects.select_for_update().select_related("sequence", "lead").get(pk=enrollment.pk)
        if current.status != EnrollmentStatus.ACTIVE:
            raise NurtureError("not_active", "This enrollment has already ended.")
        end_enrollment(current, reason=ExitReason.REMOVED, actor=actor)
    return current
