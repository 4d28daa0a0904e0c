"""Send the outbox exactly once, with any number of workers that may be killed at any moment.

How a message leaves
--------------------
1. Claim. A worker claims up to LEADFLOW_MAIL_BATCH due rows in one short
   transaction: `select_for_update(skip_locked=True)` on PostgreSQL; on SQLite the
   transaction begins IMMEDIATE, so it holds the write lock from its read on
   (writers are serialised anyway). Claiming writes a random
   `claim_token` and moves `next_attempt_at` (and `lease_until`) to the end of the
   lease, so the row is no longer due; if the worker dies, the row is due again
   when the lease ends and another worker takes it.
2. Suppression is checked for the whole batch at send time (unsubscribed, bounced,
   complained, manual, erased); suppressed rows are closed without sending.
3. Two-phase send. The worker keeps LEADFLOW_MAIL_CONNECTIONS SMTP connections
   (`leadflow.mail.backend`). On each it sends one message's MAIL, RCPT, DATA and
   whole body, but not the final "." of DATA. Then ONE transaction marks those
   messages sent, writes EMAIL_SENT on their timelines, and only for rows still
   carrying this worker's claim token. Then the worker writes the dots on every
   connection (a few bytes each, back to back) and only then reads the replies.

Why this is exactly once
------------------------
- Killed before the commit: the rows are still queued. The kernel closes the
  sockets; each server holds an unterminated DATA, which RFC 5321 says is no
  message, and drops it. The lease runs out and another worker sends the same
  rows again, with the same Message-IDs (generated when queued, stored on the row).
- Killed after the commit: the dots follow the commit within microseconds, so the
  server has the complete messages and the rows say sent. The remaining window is
  the commit call itself plus those microseconds: a worker killed while its
  COMMIT is in flight may leave rows marked sent whose dot was never written, so
  those messages are lost. To keep that window tiny the commit does not wait for
  the disk (PostgreSQL `synchronous_commit = off`, SQLite `synchronous = NORMAL`):
  a worker crash loses nothing the commit wrote; a crash of the database machine
  within a fraction of a second can undo the "sent" marks, and those messages are
  then sent a second time with the same Message-ID (a duplicate, never a loss).
- Two workers: a row is sent only by the worker whose claim token it still
  carries when the "sent" transaction locks it. A worker whose lease ran out and
  whose rows were claimed by another abandons those connections without the dot.
- The server's reply comes after the commit. 250: done. A refusal removes the
  EMAIL_SENT event just written; 4xx: the mark is undone and the message is
  retried with backoff; 5xx: the message is marked bounced. A connection that
  dies before the server answers the dot leaves the message unconfirmed: it is
  sent again later (RFC 1047: servers answer the dot at once so that this is
  rare; the copy carries the same Message-ID).

Errors
------
A 4xx refusal retries with exponential backoff (one minute, doubling, up to six
hours) and gives up as failed after LEADFLOW_MAIL_MAX_ATTEMPTS. A 5xx refusal of
the recipient or the message is permanent: the message is bounced, the address
suppressed, EMAIL_BOUNCED recorded and the lead's sequences stopped. A server
that cannot be reached (refused, dropped, 421 greeting, STARTTLS required but
missing or failing) costs no attempt: the claimed rows wait and are tried again,
with the reason in `last_error`; nothing is ever sent in plain text when
STARTTLS is required.

Backends other than SMTP (an `anymail` provider, the test outbox) have no end of
DATA to hold back: each message is handed to the backend, then marked sent. A
worker killed between the two sends that message again, with the same Message-ID.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.db import transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, TimelineEvent
from leadflow.lib.db import unsynced_transaction
from leadflow.mail.backend import EmailBackend as TwoPhaseBackend
from leadflow.mail.models import Kind, OutboxMessage, Status
from leadflow.mail.queries import suppression_reasons
from leadflow.mail.services import events
from leadflow.mail.services.compose import build_message, compose

logger = logging.getLogger("leadflow.mail")

RECONNECT_DELAY = timedelta(seconds=30)
# A server that stays unreachable is logged again this often, not on every try.
UNREACHABLE_LOG_EVERY_S = 600.0
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
META_ON_TIMELINE = ("sequence_id", "step_id", "enrollment_id")


@dataclass
class Batch:
    """The rows one worker claimed, and what became of them."""

    token: str
    now: datetime
    rows: list[OutboxMessage]
    sent: int = 0
    problems: list[str] = field(default_factory=list)


def send_due(*, limit: int | None = None, now: datetime | None = None) -> int:
    """Claim due messages and send them; return how many rows were handled (sent, refused or suppressed)."""
    now = now or timezone.now()
    batch = claim_due(limit=limit or settings.LEADFLOW_MAIL_BATCH, now=now)
    if not batch.rows:
        return 0
    rows = close_suppressed(batch)
    if not rows:
        return len(batch.rows)
    backend = get_connection()
    if _goes_by_smtp(backend):
        _send_two_phase(batch, rows)
    else:
        _send_one_by_one(batch, rows, backend)
    return len(batch.rows)


def _goes_by_smtp(backend) -> bool:
    """True when `backend` talks SMTP itself (Django's or Leadflow's two-phase backend), not through a provider."""
    return type(backend) is DjangoSmtpBackend or isinstance(backend, TwoPhaseBackend)


def claim_due(*, limit: int, now: datetime) -> Batch:
    """Claim up to `limit` due rows for this worker until its lease ends."""
    token = secrets.token_hex(16)
    lease_end = now + timedelta(seconds=settings.LEADFLOW_MAIL_LEASE_SECONDS)
    due = OutboxMessage.objects.filter(status=Status.QUEUED, next_attempt_at__lte=now).order_by("next_attempt_at")
    claim = {"claim_token": token, "lease_until": lease_end, "next_attempt_at": lease_end}
    with transaction.atomic():
        # PostgreSQL locks the rows read and skips those another worker holds; SQLite ignores
        # the clause, but its transactions begin IMMEDIATE, holding the write lock from the read on.
        rows = list(due.select_for_update(skip_locked=True)[:limit])
        # By primary key alone: a condition on status would let the planner walk the status index.
        OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(**claim)
    for row in rows:
        for name, value in claim.items():
            setattr(row, name, value)
    return Batch(token=token, now=now, rows=sorted(rows, key=lambda row: row.pk))


def close_suppressed(batch: Batch) -> list[OutboxMessage]:
    """Close the rows whose address must not get their kind of email; return the others."""
    reasons: dict[int, str] = {}
    for kind in Kind.values:
        of_kind = [row for row in batch.rows if row.kind == kind]
        found = suppression_reasons([row.to_email for row in of_kind], kind=kind) if of_kind else {}
        reasons.update({row.pk: found[row.to_email.lower()] for row in of_kind if row.to_email.lower() in found})
    if not reasons:
        return batch.rows
    with transaction.atomic():
        for pk, reason in reasons.items():
            OutboxMessage.objects.filter(pk=pk, claim_token=batch.token, status=Status.QUEUED).update(
                status=Status.SUPPRESSED,
                claim_token="",
                lease_until=None,
                last_error=f"Not sent: the address is on the suppression list ({reason}).",
                updated_at=batch.now,
            )
    return [row for row in batch.rows if row.pk not in reasons]


def mark_sent(batch: Batch, rows: list[OutboxMessage]) -> dict[int, int | None]:
    """Mark the rows this worker still holds as sent and write EMAIL_SENT; return {row id: event id}.

    Rows another worker took over (this worker's lease ran out) are left alone.
    """
    if not rows:
        return {}
    with unsynced_transaction():
        held = _lock_held(batch, [row.pk for row in rows])
        if not held:
            return {}
        OutboxMessage.objects.filter(pk__in=held).update(
            status=Status.SENT,
            sent_at=batch.now,
            claim_token="",
            lease_until=None,
            last_error="",
            updated_at=batch.now,
        )
        mine = [row for row in rows if row.pk in held]
        sent_events = [_sent_event(row, batch.now) for row in mine if row.lead_id is not None]
        timeline.insert_events(sent_events)
    event_ids = {event.data["outbox_id"]: event.pk for event in sent_events}
    return {row.pk: event_ids.get(row.pk) for row in mine}


def _lock_held(batch: Batch, ids: list[int]) -> set[int]:
    """Lock the rows `ids` and return those still queued under this worker's claim.

    The rows are found by primary key alone and checked here: with a condition on
    status in the query, a planner without fresh statistics walks the whole status
    index, every queued row of the outbox, for each group.
    """
    current = OutboxMessage.objects.select_for_update().filter(pk__in=ids).values_list("pk", "claim_token", "status")
    return {pk for pk, claim, status in current if claim == batch.token and status == Status.QUEUED}


def _sent_event(row: OutboxMessage, now: datetime) -> TimelineEvent:
    data = {"outbox_id": row.pk, "subject": row.subject, "kind": row.kind, "message_id": row.message_id}
    data.update({name: row.meta[name] for name in META_ON_TIMELINE if name in (row.meta or {})})
    person = row.kind == Kind.ONE_TO_ONE and row.sender_id is not None
    return TimelineEvent(
        lead_id=row.lead_id,
        kind=EventKind.EMAIL_SENT,
        actor_id=row.sender_id if person else None,
        actor_type=ActorType.USER if person else ActorType.SYSTEM,
        data=data,
        occurred_at=now,
        created_at=now,
    )


def backoff(attempts: int) -> timedelta:
    """Return the wait before the next try after `attempts` temporary refusals."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def defer(row: OutboxMessage, *, error: str, now: datetime, token: str | None, was_sent: bool = False) -> None:
    """Count a temporary refusal: try again after the backoff, or give up after the last attempt."""
    current = OutboxMessage.objects.filter(pk=row.pk)
    current = current.filter(status=Status.SENT) if was_sent else current.filter(claim_token=token)
    attempts = row.attempts + 1
    done = attempts >= settings.LEADFLOW_MAIL_MAX_ATTEMPTS
    current.update(
        status=Status.FAILED if done else Status.QUEUED,
        attempts=attempts,
        next_attempt_at=now + backoff(attempts),
        sent_at=None,
        claim_token="",
        lease_until=None,
        last_error=(f"Gave up after {attempts} attempts. " if done else "") + error,
        updated_at=now,
    )


def release(rows: list[OutboxMessage], *, error: str, now: datetime, token: str | None) -> None:
    """Give claimed rows back without counting an attempt: the server could not be used."""
    ids = [row.pk for row in rows]
    current = OutboxMessage.objects.filter(pk__in=ids)
    current = current.filter(claim_token=token, status=Status.QUEUED) if token else current.filter(status=Status.SENT)
    current.update(
        status=Status.QUEUED,
        next_attempt_at=now + RECONNECT_DELAY,
        sent_at=None,
        claim_token="",
        lease_until=None,
        last_error=error,
        updated_at=now,
    )


def describe(error: BaseException) -> str:
    """Return an SMTP error as one line a person can act on."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return f"The server refused the recipient: {code} {_text(text)}"
    if isinstance(error, smtplib.SMTPSenderRefused):
        return f"The server refused the sender {error.sender}: {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, smtplib.SMTPResponseException):
        return f"The server answered {error.smtp_code} {_text(error.smtp_error)}"
    if isinstance(error, ConnectionRefusedError):
        return f"The SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} refused the connection."
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError):
        return f"The SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} dropped the connection ({error})."
    if isinstance(error, TimeoutError):
        return f"The SMTP server {settings.EMAIL_HOST}:{settings.EMAIL_PORT} did not answer in time."
    if isinstance(error, socket.gaierror):
        return f"The SMTP server's name {settings.EMAIL_HOST} could not be looked up ({error.strerror})."
    return f"{type(error).__name__}: {error}"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def code_of(error: BaseException) -> int:
    """Return the SMTP code of a refusal, 0 when the error was not an SMTP answer."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next(iter(error.recipients.values()))[0]
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return 0


def refuse(batch: Batch, row: OutboxMessage, error: BaseException, *, was_sent: bool = False) -> None:
    """Record a refusal by the server: retry a 4xx, bounce a 5xx of the recipient or message."""
    code, text = code_of(error), describe(error)
    if 500 <= code < 600 and not isinstance(error, smtplib.SMTPSenderRefused):
        events.record_bounce(message=row, error=text, token=None if was_sent else batch.token, now=batch.now)
    elif 500 <= code < 600:
        OutboxMessage.objects.filter(pk=row.pk).update(
            status=Status.FAILED, claim_token="", lease_until=None, sent_at=None, last_error=text, updated_at=batch.now
        )
    else:
        defer(row, error=text, now=batch.now, token=batch.token, was_sent=was_sent)
    batch.problems.append(text)


def _send_one_by_one(batch: Batch, rows: list[OutboxMessage], backend) -> None:
    """Hand each message to a backend without two-phase sending, then mark it sent."""
    for index, row in enumerate(rows):
        try:
            backend.send_messages([build_message(row, connection=backend)])
        except smtplib.SMTPResponseException as error:
            refuse(batch, row, error)
            continue
        except OSError as error:
            release(rows[index:], error=describe(error), now=batch.now, token=batch.token)
            return
        batch.sent += len(mark_sent(batch, [row]))


def _send_two_phase(batch: Batch, rows: list[OutboxMessage]) -> None:
    """Send the rows in groups, one message per open connection, one commit per group."""
    width = max(1, settings.LEADFLOW_MAIL_CONNECTIONS)
    backends = [TwoPhaseBackend() for _ in range(min(width, len(rows)))]
    try:
        for start in range(0, len(rows), len(backends)):
            group = rows[start : start + len(backends)]
            if not _send_group(batch, list(zip(group, backends, strict=False))):
                release(rows[start + len(group) :], error=batch.problems[-1], now=batch.now, token=batch.token)
                return
    finally:
        for backend in backends:
            _close(backend)


def _send_group(batch: Batch, pairs: list[tuple[OutboxMessage, TwoPhaseBackend]]) -> bool:
    """Send one message per connection; return False when the server cannot be reached at all."""
    begun = _begin_all(batch, pairs)
    if begun is None:
        for _, backend in pairs:
            _close(backend)
        return False
    held = mark_sent(batch, [row for row, _ in begun])
    for row, backend in begun:
        if row.pk not in held:
            backend.connection.abandon()
            backend.connection = None
    dotted = _write_dots(batch, [(row, backend) for row, backend in begun if row.pk in held], held)
    for row, backend in dotted:
        _read_reply(batch, row, backend, held[row.pk])
    return True


def _begin_all(batch: Batch, pairs: list[tuple[OutboxMessage, TwoPhaseBackend]]) -> list | None:
    """Send every message but its dot, the connections taking turns command by command.

    Return the (row, backend) pairs whose messages wait for their dot, or None when
    not one connection could be used (the server is down).
    """
    steps = {}
    for row, backend in pairs:
        try:
            steps[row.pk] = backend.envelope_steps(_envelope(row, backend))
        except Exception as error:
            OutboxMessage.objects.filter(pk=row.pk, claim_token=batch.token).update(
                status=Status.FAILED, claim_token="", lease_until=None, last_error=f"Cannot build the email: {error}"
            )
    active = [(row, backend) for row, backend in pairs if row.pk in steps]
    begun, unreachable = [], 0
    while active:
        still = []
        for row, backend in active:
            outcome = _step(batch, row, backend, steps[row.pk])
            if outcome == "more":
                still.append((row, backend))
            elif outcome == "begun":
                begun.append((row, backend))
            elif outcome == "unreachable":
                unreachable += 1
                release([row], error=batch.problems[-1], now=batch.now, token=batch.token)
        active = still
    if unreachable and not begun and unreachable == len(steps):
        return None
    return begun


def _envelope(row: OutboxMessage, backend: TwoPhaseBackend) -> tuple[str, list[str], bytes]:
    """Return the envelope sender, recipients and bytes of the row's email."""
    return backend.envelope(compose(row).as_django())


def _step(batch: Batch, row: OutboxMessage, backend: TwoPhaseBackend, steps) -> str:
    """Advance one connection by one command; return "more", "begun", "refused" or "unreachable"."""
    try:
        next(steps)
        return "more"
    except StopIteration:
        return "begun"
    except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
        if isinstance(error, smtplib.SMTPConnectError):
            return _unreachable(batch, backend, error)
        refuse(batch, row, error)
        if backend.connection is not None and backend.connection.sock is None:
            backend.connection = None
        return "refused"
    except OSError as error:
        return _unreachable(batch, backend, error)


def _unreachable(batch: Batch, backend: TwoPhaseBackend, error: BaseException) -> str:
    batch.problems.append(describe(error))
    _warn_unreachable(batch.problems[-1])
    _close(backend)
    return "unreachable"


# The last unreachable-server warning this process logged, and when (time.monotonic()).
_last_warning: tuple[str, float] = ("", 0.0)


def _warn_unreachable(problem: str) -> None:
    """Log why the server cannot be reached: at once when the reason changes, else once per UNREACHABLE_LOG_EVERY_S."""
    global _last_warning
    now = time.monotonic()
    said, at = _last_warning
    if problem == said and now - at < UNREACHABLE_LOG_EVERY_S:
        return
    _last_warning = (problem, now)
    logger.warning("outbox: %s Messages wait in the outbox and are tried again.", problem)


def smtp_unreachable(*, timeout: float = 2.0) -> str:
    """Return why the SMTP server mail goes through cannot be reached now; '' when it answers or mail is not SMTP."""
    if not _goes_by_smtp(get_connection()):
        return ""
    try:
        socket.create_connection((settings.EMAIL_HOST, settings.EMAIL_PORT), timeout=timeout).close()
    except OSError as error:
        return describe(error)
    return ""


def _write_dots(batch: Batch, begun, held: dict[int, int | None]) -> list:
    """Write the end-of-data dot on each connection, back to back; return those that took it."""
    dotted, lost = [], []
    for row, backend in begun:
        try:
            backend.connection.send_dot()
            dotted.append((row, backend))
        except OSError as error:
            batch.problems.append(describe(error))
            lost.append(row)
            _close(backend)
    if lost:
        with transaction.atomic():
            release(lost, error=batch.problems[-1], now=batch.now, token=None)
            _unrecord([held[row.pk] for row in lost])
    return dotted


def _read_reply(batch: Batch, row: OutboxMessage, backend: TwoPhaseBackend, event_id: int | None) -> None:
    try:
        backend.connection.read_reply()
    except smtplib.SMTPResponseException as error:
        with transaction.atomic():
            _unrecord([event_id])
            refuse(batch, row, error, was_sent=True)
        if backend.connection is not None and backend.connection.sock is None:
            backend.connection = None
        return
    except OSError as error:
        # No answer to the dot: the server never confirmed, so the message goes again (RFC 1047).
        batch.problems.append(describe(error))
        _close(backend)
        with transaction.atomic():
            _unrecord([event_id])
            release([row], error=batch.problems[-1], now=batch.now, token=None)
        return
    batch.sent += 1


def _unrecord(event_ids: list[int | None]) -> None:
    """Remove EMAIL_SENT events of sends the server did not take after all."""
    ids = [pk for pk in event_ids if pk is not None]
    if ids:
        TimelineEvent.objects.filter(pk__in=ids, kind=EventKind.EMAIL_SENT).delete()


def _close(backend: TwoPhaseBackend) -> None:
    """Close the backend's connection, politely when it is healthy, at once when it is not."""
    smtp = backend.connection
    backend.connection = None
    if smtp is None:
        return
    try:
        if getattr(smtp, "pending", False) or smtp.sock is None:
            smtp.close()
        else:
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
