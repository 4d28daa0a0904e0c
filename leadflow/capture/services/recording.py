"""Turn received submissions into leads in batches: the fast-lane job behind every public form post.

A public post is checked and stored as a received submission with one short write
(see submissions.take_submission). This job claims received submissions oldest
first, makes or updates their leads through leads' batch service (one person, one
lead, also within a batch), writes each FORM_SUBMITTED event, marks them accepted
and queues their follow-up work, all in one transaction. Several workers may run
it at once: on PostgreSQL each claims rows with SKIP LOCKED; on SQLite the write
lock taken at the start of the transaction serialises them. On SQLite the batch is
decided before that lock is taken, so web posts wait only for its writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.db import OperationalError, connection, transaction

from leadflow.capture import definition, statements
from leadflow.capture.models import Form, SpamReason, Submission, SubmissionStatus
from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, TimelineEvent

logger = logging.getLogger("leadflow.capture")

# The most a batch takes. The job runs every 0.35 s (capture.schedule), so under a steady
# stream a batch holds what came meanwhile: about 350 posts at 1,000 a second, while web
# posts wait out its writes under SQLite's write lock. Fewer, bigger batches share their
# look-ups and commit among more posts: flat out, the form-submit bench takes about 1,010
# posts a second this way against about 990 with a batch every 0.2 s, and a post becomes
# a lead within 0.5 s (p99) instead of 0.25 s.
BATCH_SIZE = 500


def record_received_submissions(*, limit: int = BATCH_SIZE) -> int:
    """Make or update the lead of up to `limit` received submissions, oldest first; return how many."""
    if not connection.features.has_select_for_update:
        # SQLite: the transaction below would take the database's single write lock while it
        # decides; _record_planned decides first (and finds an empty queue without any lock).
        recorded = _record_planned(limit)
        if recorded is not None:
            return recorded
    with transaction.atomic():
        batch = _claim(limit)
        if not batch:
            return 0
        try:
            with transaction.atomic():
                record_submissions(batch)
        except OperationalError:
            raise
        except Exception:
            logger.exception("recording %d received submissions failed; recording them one by one", len(batch))
            for submission in batch:
                _record_alone(submission)
    return len(batch)


def _record_planned(limit: int) -> int | None:
    """Decide the batch before taking SQLite's write lock, then hold it only to write; None to do it the plain way.

    Meanwhile web posts keep landing. When another worker took some of these
    submissions, or a lead they match changed, the plan is dropped and the caller
    records the batch under the lock from the start.
    """
    from leadflow.leads.services.batch import clean_rows, plan_cleaned_batch, write_planned_batch

    batch = _with_forms(list(Submission.objects.filter(status=SubmissionStatus.RECEIVED).order_by("id")[:limit]))
    if not batch:
        return 0
    try:
        cleaned = clean_rows([lead_data_of(submission) for submission in batch])
        plan = plan_cleaned_batch(cleaned=cleaned, actor_type=ActorType.LEAD, channel="form")
        # The statuses and events are made before the lock too; the keys of new leads come under it.
        finishing = _finishing(batch, plan.outcomes)
    except Exception:
        logger.exception("planning %d received submissions failed; recording them under the lock", len(batch))
        return None
    ids = [submission.pk for submission in batch]
    try:
        with transaction.atomic():
            waiting = Submission.objects.filter(pk__in=ids, status=SubmissionStatus.RECEIVED).count()
            outcomes = write_planned_batch(plan) if waiting == len(ids) else None
            if outcomes is None:
                return None
            _finish(finishing)
    except OperationalError:
        raise
    except Exception:
        logger.exception("writing %d planned submissions failed; recording them under the lock", len(batch))
        return None
    return len(batch)


def _claim(limit: int) -> list[Submission]:
    rows = Submission.objects.filter(status=SubmissionStatus.RECEIVED).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True)
    return _with_forms(list(rows[:limit]))


def _with_forms(batch: list[Submission]) -> list[Submission]:
    forms = Form.objects.in_bulk({submission.form_id for submission in batch})
    for submission in batch:
        submission.form = forms[submission.form_id]
    return batch


def _record_alone(submission: Submission) -> None:
    """Record one submission; hold it for an admin when even that fails, so the rest go on."""
    try:
        with transaction.atomic():
            record_submissions([submission])
    except OperationalError:
        raise
    except Exception:
        logger.exception("submission %s could not be made into a lead; it waits in quarantine", submission.pk)
        submission.status, submission.spam_reason = SubmissionStatus.QUARANTINED, SpamReason.NOT_RECORDED
        submission.save(update_fields=["status", "spam_reason"])


def record_submissions(submissions: list[Submission]) -> None:
    """Record the leads of claimed received submissions: leads, statuses, timeline events, follow-ups."""
    # Imported here: the leads services import capture's review service, which imports this module.
    from leadflow.leads.services.batch import record_leads_batch

    outcomes = record_leads_batch(
        rows=[lead_data_of(submission) for submission in submissions], actor_type=ActorType.LEAD, channel="form"
    )
    _finish(_finishing(submissions, outcomes))


@dataclass
class _Finishing:
    """What recording writes besides the leads: each submission's status and its FORM_SUBMITTED event."""

    submissions: list[Submission]
    events: list[TimelineEvent]
    # Each event's column values, worked out ahead; the keys of leads not yet inserted are filled in by _finish.
    rows: list[list[Any]]


def _finishing(submissions: list[Submission], outcomes: list) -> _Finishing:
    """Decide each submission's status and make its event from the outcomes; reads and writes nothing."""
    events = []
    for submission, outcome in zip(submissions, outcomes, strict=True):
        submission.lead = outcome.lead
        if outcome.lead is None:
            # Erased people are not added back on their own: an admin may release them, as they gave
            # their details anew.
            erased = outcome.error is not None and outcome.error.code == "erased_person"
            submission.status = SubmissionStatus.QUARANTINED
            submission.spam_reason = SpamReason.ERASED_PERSON if erased else SpamReason.NOT_RECORDED
            continue
        submission.status = SubmissionStatus.ACCEPTED
        events.append(submitted_event(submission, occurred_at=submission.created_at))
    return _Finishing(submissions, events, timeline.event_values(events))


def _finish(finishing: _Finishing) -> None:
    """After the leads are written: mark the submissions, write their events, queue follow-ups."""
    for submission in finishing.submissions:
        submission.lead_id = submission.lead.pk if submission.lead is not None else None
    statements.update_recorded(finishing.submissions)
    timeline.insert_events(finishing.events, values=finishing.rows, leads=[event.lead for event in finishing.events])
    follow_ups = _with_follow_up([submission for submission in finishing.submissions if submission.lead_id])
    if follow_ups:
        transaction.on_commit(partial(enqueue_follow_ups, follow_ups))


def _with_follow_up(submissions: list[Submission]) -> list[int]:
    """Return the ids with work after recording: visits to join, or people to tell."""
    form_ids = {submission.form_id for submission in submissions if not submission.visitor_id}
    followed = set()
    if form_ids:
        followed = set(Form.notify.through.objects.filter(form_id__in=form_ids).values_list("form_id", flat=True))
    return [submission.pk for submission in submissions if submission.visitor_id or submission.form_id in followed]


def lead_data_of(submission: Submission) -> dict[str, Any]:
    """Return the input for the leads services from what the submission stored."""
    specs = [
        definition.FieldSpec(name=item["name"], label="", type="text", maps_to=item["maps_to"])
        for item in submission.fields
        if isinstance(item, dict) and "name" in item and "maps_to" in item
    ]
    values = {
        item["name"]: item.get("value") for item in submission.fields if isinstance(item, dict) and "name" in item
    }
    clean = definition.CleanSubmission(
        values=values,
        source=dict(submission.source),
        page_url=submission.page_url,
        consent_given=submission.consent_given,
        visitor_id=submission.visitor_id,
    )
    return definition.lead_input(specs, clean, consent_source=f"form:{submission.form.slug}")


def submitted_event(submission: Submission, *, occurred_at: datetime, released_by=None) -> TimelineEvent:
    """Return the unsaved FORM_SUBMITTED event of a submission: the form, the page, the fields, the source."""
    shown: dict[str, Any] = {}
    for item in submission.fields:
        label = item.get("label") or item.get("name")
        shown[label if label not in shown else item.get("name")] = item.get("value")
    data: dict[str, Any] = {
        "form": submission.form.name,
        "page_url": submission.page_url,
        "fields": shown,
        "source": submission.source,
        "consent": submission.consent_given,
        "channel": submission.channel,
        "form_id": submission.form_id,
        "submission_id": submission.pk,
    }
    if released_by is not None:
        data["released_by"] = str(released_by)
    return timeline.new_event(
        submission.lead, EventKind.FORM_SUBMITTED, actor_type=ActorType.LEAD, occurred_at=occurred_at, data=data
    )


def enqueue_follow_ups(submission_ids: list[int]) -> None:
    from leadflow.capture import tasks

    tasks.follow_up_submissions.enqueue(submission_ids=submission_ids)
