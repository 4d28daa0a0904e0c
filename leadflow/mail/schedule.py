"""Periodic mail work: send the due outbox rows and read the reply mailbox."""

from __future__ import annotations

from leadflow.lib.scheduler import every
from leadflow.mail.services import mailbox, sending


@every(seconds=1, lane="fast")
def send_outbox() -> int:
    """Claim and send one batch of due emails."""
    return sending.send_due()


@every(seconds=60)
def poll_reply_mailbox() -> int:
    """Read new mail in the reply mailbox (off unless LEADFLOW_IMAP_HOST is set)."""
    return mailbox.poll_mailbox()
