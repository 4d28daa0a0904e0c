"""Take a form submission: check it, hold spam aside, and keep it with one short write.

Public posts are kept as received submissions; recording.record_received_submissions
makes their leads and timeline events within a second.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import IntegrityError, transaction

from leadflow.capture import definition, ratelimit, statements, tokens
from leadflow.capture.definition import CleanSubmission, FieldSpec
from leadflow.capture.models import Channel, Form, SpamReason, Submission, SubmissionStatus
from leadflow.capture.origins import is_allowed_origin, is_allowed_redirect
from leadflow.capture.services.recording import submitted_event
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import INPUT_FIELDS, clean_lead_input
from leadflow.lib.inserts import InstanceBuilder

# A post without a render token (a plain HTML form) counts as a retry of an equal post within this time.
RETRY_WINDOW_SECONDS = 600
TOKENLESS_CHANNELS = (Channel.HTML, Channel.HOSTED)


class FormClosed(LeadError):
    status = 404

    def __init__(self) -> None:
        super().__init__("form_closed", "This form is not taking submissions.")


class RateLimited(LeadError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, round(retry_after / 60))
        super().__init__(
            "rate_limited",
            f"Too many submissions from your network or to this form; please try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}.",
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Sender:
    """What the request says about who sent the form; the view fills it in."""

    ip: str | None = None
    user_agent: str = ""
    origin: str = ""
    same_origin: bool = False
    referer: str = ""
    channel: str = Channel.JSON
    visitor_cookie: str = ""


@dataclass
class SubmitOutcome:
    """received, accepted, quarantined or duplicate; spam and duplicates get the same answer as the real thing."""

    status: str
    submission: Submission
    redirect_url: str = ""


@dataclass
class _Prepared:
    specs: list[FieldSpec]
    clean: CleanSubmission
    errors: dict[str, str]
    lead_data: dict[str, Any] = field(default_factory=dict)
    spam: str = ""
    dedupe_keys: list[str] = field(default_factory=list)
    wording_id: int | None = None
    fill_seconds: float | None = None


def take_submission(*, form: Form, raw: dict[str, Any], sender: Sender, site_host: str) -> SubmitOutcome:
    """Check one post of `form` and keep it with one short write: received, held in quarantine, or a retry.

    The lead and its FORM_SUBMITTED event follow within a second, from the
    worker's record_received_submissions. Raise FormClosed, FieldErrors (what to
    fix, per field name) or RateLimited. A retried post answers like the first one
    and keeps nothing new.
    """
    return _take(form, raw, sender, site_host)


def _take(form: Form, raw: dict[str, Any], sender: Sender, site_host: str) -> SubmitOutcome:
    if not form.is_active:
        raise FormClosed()
    now = time.time()
    prepared = _prepare(form, raw, sender, now)
    if not prepared.errors and len(prepared.dedupe_keys) > 1:
        earlier = Submission.objects.filter(dedupe_key__in=prepared.dedupe_keys[1:]).first()
        if earlier is not None:
            return SubmitOutcome("duplicate", earlier, _redirect(form, site_host))
    # Everything but the two statements is worked out before the write begins: on SQLite the
    # transaction holds the database's one write lock, which every post and the recording job share.
    counting = ratelimit.Counting(_limits(form, sender), now)
    kept = None if prepared.errors else _kept(form, prepared, sender, now)
    try:
        # The counters ride in the submission's transaction: one commit, and the form's counter row
        # is locked only for the short insert beside it.
        with transaction.atomic():
            wait = _count(counting)
            if not wait and kept is not None:
                kept.insert()
    except IntegrityError:
        # A retry of a post already taken (its key is unique): everything this one wrote is undone.
        earlier = Submission.objects.filter(dedupe_key__in=prepared.dedupe_keys).first()
        if earlier is None:
            raise
        return SubmitOutcome("duplicate", earlier, _redirect(form, site_host))
    if wait:
        raise RateLimited(wait)
    if prepared.errors:
        raise FieldErrors(prepared.errors)
    return SubmitOutcome(kept.submission.status, kept.submission, _redirect(form, site_host))


def _count(counting: ratelimit.Counting) -> int:
    """Count the post against the limits; return the seconds to wait, or 0 to go on."""
    hits = counting.run()
    if hits.counts.get(counting.limits[-1].key) == 1:
        # The form's first post of a new minute: time to sweep away counters of past windows.
        transaction.on_commit(enqueue_sweep)
    return hits.wait


def _limits(form: Form, sender: Sender) -> list[ratelimit.Limit]:
    """Return the per-address limit, then the limit of the whole form."""
    return [
        ratelimit.Limit(f"ip:{form.pk}:{ratelimit.ip_key(sender.ip)}", form.ip_limit_per_hour, 3600),
        ratelimit.Limit(f"form:{form.pk}", form.form_limit_per_minute, 60),
    ]


def _redirect(form: Form, site_host: str) -> str:
    """Return where to send the person, or '' for the thank-you message; never a page not allowed now."""
    if form.success_action != "redirect":
        return ""
    url = form.redirect_url
    return url if is_allowed_redirect(url, site_host=site_host, allowed_origins=form.allowed_origins) else ""


def _prepare(form: Form, raw: dict[str, Any], sender: Sender, now: float) -> _Prepared:
    """Check the post against the form without touching the database."""
    specs = definition.specs_of(form.fields)
    clean, errors = definition.clean_submission(specs, raw, consent_mode=form.consent_mode, fallback_url=sender.referer)
    clean.visitor_id = clean.visitor_id or definition.clean_visitor_id(sender.visitor_cookie)
    prepared = _Prepared(specs, clean, errors)
    prepared.lead_data = definition.lead_input(specs, clean, consent_source=f"form:{form.slug}")
    try:
        clean_lead_input(prepared.lead_data, allowed=INPUT_FIELDS)
    except FieldErrors as error:
        prepared.errors = {**_form_errors(specs, error.errors), **errors}
    if not prepared.errors and not any(prepared.lead_data.get(name) for name in definition.IDENTITY_TARGETS):
        prepared.errors = {"__all__": "Please give at least an email address, a phone number or a name."}
    if prepared.errors:
        return prepared
    _classify(form, raw, sender, now, prepared)
    return prepared


def _form_errors(specs: list[FieldSpec], errors: dict[str, str]) -> dict[str, str]:
    """Return lead-field errors under the names of the form fields that carried them."""
    by_target = {spec.maps_to: spec.name for spec in specs if spec.maps_to != definition.CUSTOM}
    mapped: dict[str, str] = {}
    for name, message in errors.items():
        mapped[by_target.get(name, "__all__")] = definition.as_sentence(message)
    return mapped


def _classify(form: Form, raw: dict[str, Any], sender: Sender, now: float, prepared: _Prepared) -> None:
    """Set the spam reason ('' for a person), the consent wording shown and the keys a retry would share."""
    token_text = raw.get(definition.TOKEN)
    token = tokens.read(token_text) if token_text else None
    honeypot = raw.get(definition.HONEYPOT)
    spam = SpamReason.HONEYPOT if isinstance(honeypot, str) and honeypot.strip() else ""
    if token is not None and token.form_id == form.pk:
        prepared.fill_seconds = round(token.age(now), 3)
        prepared.wording_id = token.wording_id
        prepared.dedupe_keys = [f"t:{token.nonce}"]
        if not spam and prepared.fill_seconds < form.min_fill_seconds:
            spam = SpamReason.TOO_FAST
        elif not spam and prepared.fill_seconds > tokens.MAX_AGE_SECONDS:
            spam = SpamReason.STALE_TOKEN
    else:
        prepared.dedupe_keys = _content_keys(form, prepared, sender, now)
        prepared.wording_id = _wording_hint(raw)
        spam = spam or _tokenless_reason(form, sender, bool(token_text))
    prepared.spam = spam


def _tokenless_reason(form: Form, sender: Sender, had_token: bool) -> str:
    """Return why a post without a good token is held, or '' for a plain HTML form from an allowed website."""
    if had_token:
        return SpamReason.BAD_TOKEN
    if sender.channel not in TOKENLESS_CHANNELS:
        return SpamReason.NO_TOKEN
    if sender.origin and not sender.same_origin and not is_allowed_origin(sender.origin, form.allowed_origins):
        return SpamReason.ORIGIN
    return ""


def _content_keys(form: Form, prepared: _Prepared, sender: Sender, now: float) -> list[str]:
    """Return keys for a post without a token: equal content from the same client in this window or the last."""
    content = json.dumps(
        [form.pk, ratelimit.ip_key(sender.ip), prepared.clean.values, prepared.clean.consent_given],
        sort_keys=True,
        default=str,
    )
    window = int(now // RETRY_WINDOW_SECONDS)
    return [f"h:{hashlib.sha256(f'{content}|{w}'.encode()).hexdigest()}" for w in (window, window - 1)]


def _wording_hint(raw: dict[str, Any]) -> int | None:
    value = raw.get(definition.WORDING)
    return int(value) if isinstance(value, str) and value.isdigit() and len(value) < 12 else None


def _kept(form: Form, prepared: _Prepared, sender: Sender, now: float) -> statements.NewSubmission:
    submission = _new_submission(form, prepared, sender, datetime.fromtimestamp(now, tz=UTC))
    if prepared.spam:
        submission.status = SubmissionStatus.QUARANTINED
    return statements.NewSubmission(submission)


def _new_submission(form: Form, prepared: _Prepared, sender: Sender, created_at: datetime) -> Submission:
    clean = prepared.clean
    wording = form.consent_wording if form.consent_mode != "none" else None
    if wording is not None and prepared.wording_id and prepared.wording_id != wording.pk:
        # The page was shown with an earlier wording: that is what the person agreed to.
        wording = form.consent_wordings.filter(pk=prepared.wording_id).first() or wording
    submission = _new_submissions().build(
        {
            "form_id": form.pk,
            "status": SubmissionStatus.RECEIVED,
            "spam_reason": prepared.spam,
            "channel": sender.channel,
            "dedupe_key": prepared.dedupe_keys[0],
            "fields": definition.submitted_fields(prepared.specs, clean.values),
            "source": clean.source,
            "page_url": clean.page_url,
            "visitor_id": clean.visitor_id,
            "consent_wording_id": wording.pk if wording else None,
            "consent_text": wording.text if wording else "",
            "consent_given": clean.consent_given,
            "ip": sender.ip,
            "user_agent": sender.user_agent[:500],
            "fill_seconds": prepared.fill_seconds,
            "created_at": created_at,
        }
    )
    submission.form, submission.consent_wording = form, wording
    return submission


@cache
def _new_submissions() -> InstanceBuilder:
    return InstanceBuilder(Submission)


def record_submitted_event(submission: Submission, *, occurred_at: datetime, released_by=None) -> None:
    """Put the submission on its lead's timeline: the form, the page, the fields, the source."""
    submitted_event(submission, occurred_at=occurred_at, released_by=released_by).save(force_insert=True)


def enqueue_sweep() -> None:
    from leadflow.capture import tasks

    tasks.sweep_rate_counters.enqueue()
