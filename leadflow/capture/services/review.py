"""After a submission: release or delete what spam checks held back, follow-up work, erasure."""

from __future__ import annotations

from functools import partial

from django.db import transaction
from django.utils import timezone

from leadflow.capture import ratelimit
from leadflow.capture.models import SpamReason, Submission, SubmissionNotice, SubmissionStatus
from leadflow.capture.services.recording import enqueue_follow_ups, lead_data_of
from leadflow.capture.services.submissions import record_submitted_event
from leadflow.leads import services as lead_services
from leadflow.leads.errors import LeadError
from leadflow.leads.models import ActorType
from leadflow.tracking.services import identify_visitor


def _ensure_admin(actor) -> None:
    if actor is None or not actor.is_active or not actor.is_admin:
        raise LeadError("admin_only", "Only an admin can release or delete held submissions.")


def _held(submission: Submission) -> Submission:
    current = Submission.objects.select_for_update().select_related("form").get(pk=submission.pk)
    if current.status != SubmissionStatus.QUARANTINED:
        raise LeadError("not_quarantined", "This submission is no longer in quarantine; someone dealt with it.")
    return current


def release_submission(*, submission: Submission, actor) -> Submission:
    """Create the lead from a held submission as if it had been accepted when it was sent."""
    _ensure_admin(actor)
    with transaction.atomic():
        current = _held(submission)
        result = lead_services.record_lead(
            data=lead_data_of(current),
            actor=None,
            actor_type=ActorType.LEAD,
            channel="form",
            allow_erased=current.spam_reason == SpamReason.ERASED_PERSON,
        )
        current.lead = result.lead
        current.status = SubmissionStatus.RELEASED
        current.reviewed_by = actor
        current.reviewed_at = timezone.now()
        current.save(update_fields=["lead", "status", "reviewed_by", "reviewed_at"])
        record_submitted_event(current, occurred_at=current.created_at, released_by=actor)
        transaction.on_commit(partial(enqueue_follow_ups, [current.pk]))
    return current


def discard_submission(*, submission: Submission, actor) -> None:
    """Delete a held submission for good: it was spam."""
    _ensure_admin(actor)
    with transaction.atomic():
        _held(submission).delete()


def follow_up_submission(*, submission_id: int) -> None:
    """Join the sender's earlier visits to their lead and tell the people who follow the form."""
    follow_up_submissions(submission_ids=[submission_id])


def follow_up_submissions(*, submission_ids: list[int]) -> None:
    """Do follow_up_submission's work for each of the submissions that has a lead."""
    submissions = Submission.objects.select_related("form", "lead").filter(pk__in=submission_ids, lead__isnull=False)
    for submission in submissions.order_by("id"):
        if submission.visitor_id:
            identify_visitor(visitor_id=submission.visitor_id, lead=submission.lead, via="form")
        users = submission.form.notify.filter(is_active=True)
        SubmissionNotice.objects.bulk_create(
            [SubmissionNotice(user=user, submission=submission) for user in users], ignore_conflicts=True
        )


def sweep_rate_counters() -> int:
    """Delete rate counters of windows that have ended; return how many."""
    return ratelimit.purge_expired()


def mark_notices_read(*, user) -> int:
    """Mark every unread notice of `user` read; return how many."""
    return SubmissionNotice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def forget_lead_submissions(*, lead_ids: list[int]) -> int:
    """Wipe what erased people sent through forms, keeping that a submission happened (for counts)."""
    return Submission.objects.filter(lead_id__in=lead_ids).update(
        fields=[], source={}, page_url="", visitor_id="", ip=None, user_agent=""
    )
