"""Read the reply mailbox over IMAP: each new message once, whichever worker polls."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.mail.models import MailboxCursor
from leadflow.mail.services.inbound import process_raw

logger = logging.getLogger("leadflow.mail")

POLL_LEASE = timedelta(minutes=5)
MAX_PER_POLL = 200


def is_configured() -> bool:
    return bool(settings.LEADFLOW_IMAP_HOST and settings.LEADFLOW_IMAP_USER)


def _name() -> str:
    return f"{settings.LEADFLOW_IMAP_USER}@{settings.LEADFLOW_IMAP_HOST}:{settings.LEADFLOW_IMAP_PORT}/" + (
        settings.LEADFLOW_IMAP_FOLDER
    )


def _claim(name: str) -> MailboxCursor | None:
    """Take the mailbox for this worker for a while; None when another worker is reading it."""
    now = timezone.now()
    with contextlib.suppress(IntegrityError):
        MailboxCursor.objects.get_or_create(mailbox=name)
    with transaction.atomic():
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = MailboxCursor.objects.filter(free, mailbox=name).update(lease_until=now + POLL_LEASE)
    return MailboxCursor.objects.get(mailbox=name) if taken else None


def poll_mailbox() -> int:
    """Read messages that arrived since the last poll and handle each; return how many were read."""
    if not is_configured():
        return 0
    from imap_tools import AND, MailBox, MailBoxUnencrypted
    from imap_tools.query import U

    cursor = _claim(_name())
    if cursor is None:
        return 0
    handled = 0
    try:
        box_class = MailBox if settings.LEADFLOW_IMAP_SSL else MailBoxUnencrypted
        box = box_class(settings.LEADFLOW_IMAP_HOST, settings.LEADFLOW_IMAP_PORT, timeout=30)
        with box.login(settings.LEADFLOW_IMAP_USER, settings.LEADFLOW_IMAP_PASSWORD, settings.LEADFLOW_IMAP_FOLDER):
            validity = int(box.folder.status(settings.LEADFLOW_IMAP_FOLDER, ["UIDVALIDITY"])["UIDVALIDITY"])
            if validity != cursor.uid_validity:
                # The folder was recreated: its UIDs start again. Replies seen before are recognised and skipped.
                cursor.uid_validity, cursor.last_uid = validity, 0
            criteria = AND(uid=U(cursor.last_uid + 1, "*"))
            for item in box.fetch(criteria, mark_seen=False, limit=MAX_PER_POLL, bulk=50):
                uid = int(item.uid)
                if uid <= cursor.last_uid:
                    continue
                try:
                    outcome = process_raw(item.obj.as_bytes(), source="imap")
                except Exception:
                    logger.exception("mail: could not handle IMAP message %s; it is skipped", uid)
                    outcome = "error"
                logger.info("mail: IMAP message %s: %s", uid, outcome)
                cursor.last_uid = uid
                MailboxCursor.objects.filter(pk=cursor.pk).update(
                    uid_validity=cursor.uid_validity, last_uid=uid, lease_until=timezone.now() + POLL_LEASE
                )
                handled += 1
            MailboxCursor.objects.filter(pk=cursor.pk).update(uid_validity=cursor.uid_validity)
    finally:
        MailboxCursor.objects.filter(pk=cursor.pk).update(lease_until=None)
    return handled
