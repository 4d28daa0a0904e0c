"""Notifications: a row per message, then email and the chat webhook, each claimed and sent once."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import F
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.routing.models import Delivery, Notification, TeamSchedule

logger = logging.getLogger("leadflow.routing")

MAX_ATTEMPTS = 5
# A claim older than this belongs to a worker that died while sending; the row is offered again.
CLAIM_TIMEOUT = timedelta(minutes=15)
WEBHOOK_TIMEOUT_SECONDS = 5
BATCH = 50


def webhook_urls(user: User) -> list[str]:
    """Return the chat webhooks a notification to `user` goes to: the site's and their team's."""
    urls = [settings.LEADFLOW_NOTIFY_WEBHOOK_URL] if settings.LEADFLOW_NOTIFY_WEBHOOK_URL else []
    if user.team_id:
        team_url = TeamSchedule.objects.filter(team_id=user.team_id).values_list("webhook_url", flat=True).first()
        if team_url and team_url not in urls:
            urls.append(team_url)
    return urls


def notify(*, user, subject: str, body: str, lead=None, url: str = "") -> Notification | None:
    """Tell `user` something in the app; the worker emails it and posts it to the webhook where configured."""
    if user is None or not user.is_active:
        return None
    return Notification.objects.create(
        user=user,
        subject=subject[:200],
        body=body,
        lead=lead,
        url=url[:500],
        email_status=Delivery.PENDING if user.email else Delivery.SKIPPED,
        webhook_status=Delivery.PENDING if webhook_urls(user) else Delivery.SKIPPED,
    )


def mark_read(*, user: User, ids: list[int] | None = None) -> int:
    """Mark `user`'s notifications read (all unread ones when `ids` is None); return how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def _release_stale(channel: str, now: datetime) -> None:
    Notification.objects.filter(
        **{f"{channel}_status": Delivery.SENDING, f"{channel}_claimed_at__lt": now - CLAIM_TIMEOUT}
    ).update(**{f"{channel}_status": Delivery.PENDING})


def _claim(channel: str, now: datetime, limit: int) -> list[Notification]:
    """Claim up to `limit` pending rows for `channel`; a row another worker claimed first is left to it."""
    _release_stale(channel, now)
    status, attempts = f"{channel}_status", f"{channel}_attempts"
    candidates = Notification.objects.filter(**{status: Delivery.PENDING}).order_by("id")
    claimed = []
    for pk in candidates.values_list("pk", flat=True)[:limit]:
        won = Notification.objects.filter(pk=pk, **{status: Delivery.PENDING}).update(
            **{status: Delivery.SENDING, f"{channel}_claimed_at": now, attempts: F(attempts) + 1}
        )
        if won:
            claimed.append(pk)
    return list(Notification.objects.filter(pk__in=claimed).select_related("user").order_by("id"))


def _finish(row: Notification, channel: str, error: str) -> None:
    status = f"{channel}_status"
    if not error:
        done_field = "emailed_at" if channel == "email" else "webhook_sent_at"
        values = {status: Delivery.SENT, done_field: timezone.now(), f"{channel}_error": ""}
    else:
        attempts = getattr(row, f"{channel}_attempts")
        values = {status: Delivery.FAILED if attempts >= MAX_ATTEMPTS else Delivery.PENDING}
        values[f"{channel}_error"] = error[:300]
    Notification.objects.filter(pk=row.pk, **{status: Delivery.SENDING}).update(**values)


def absolute(url: str) -> str:
    return f"{settings.LEADFLOW_SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


def _email(row: Notification) -> EmailMessage:
    link = absolute(row.get_absolute_url())
    body = f"{row.body}\n\nOpen in Leadflow: {link}\n" if row.body else f"Open in Leadflow: {link}\n"
    return EmailMessage(subject=f"[Leadflow] {row.subject}", body=body, to=[row.user.email])


def send_emails(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Email the pending notifications (claimed first, so two workers never send one twice)."""
    rows = _claim("email", now or timezone.now(), limit)
    if not rows:
        return 0
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
        for row in rows:
            try:
                connection.send_messages([_email(row)])
            except Exception as error:
                logger.warning("notification %s: email failed: %s", row.pk, error)
                _finish(row, "email", str(error) or error.__class__.__name__)
            else:
                _finish(row, "email", "")
    except OSError as error:
        for row in rows:
            _finish(row, "email", f"SMTP server unreachable: {error}")
    finally:
        connection.close()
    return len(rows)


def webhook_text(row: Notification) -> str:
    text = f"*{row.subject}*"
    if row.body:
        text += f"\n{row.body}"
    return f"{text}\n<{absolute(row.get_absolute_url())}|Open in Leadflow>"


def post_json(url: str, payload: dict) -> None:
    """POST `payload` as JSON to `url`; raise on a network error or a non-2xx answer."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not a web address: {url}")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:  # noqa: S310
        answer.read(1024)


def send_webhooks(*, now: datetime | None = None, limit: int = BATCH) -> int:
    """Post the pending notifications to the chat webhooks as {"text": ...}."""
    rows = _claim("webhook", now or timezone.now(), limit)
    for row in rows:
        errors = []
        for url in webhook_urls(row.user):
            try:
                post_json(url, {"text": webhook_text(row)})
            except (OSError, ValueError, urllib.error.URLError) as error:
                errors.append(f"{url}: {error}")
        _finish(row, "webhook", "; ".join(errors))
    return len(rows)
