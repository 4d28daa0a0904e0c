"""A sending process for the crash tests: `seed N`, `send [--pause-at POINT]`, `status`.

Run as `python -m tests.mail.worker_proc ...` with the database in the environment.
`--pause-at` stops the sender at a named point, prints PAUSED and waits to be killed.
"""

from __future__ import annotations

import json
import os
import sys
import time

import django


def _pause_at(point: str) -> None:
    from leadflow.mail.services import sending

    def pause(*args, **kwargs):
        print("PAUSED", flush=True)
        time.sleep(3600)

    if point == "before_commit":
        original = sending.mark_sent

        def mark_sent(batch, rows):
            if rows:
                pause()
            return original(batch, rows)

        sending.mark_sent = mark_sent
    elif point == "after_dots":
        original_dots = sending._write_dots

        def write_dots(batch, begun, held):
            dotted = original_dots(batch, begun, held)
            if dotted:
                time.sleep(0.3)
                pause()
            return dotted

        sending._write_dots = write_dots


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
    django.setup()
    from django.db import transaction

    from leadflow.mail.models import OutboxMessage
    from leadflow.mail.services import queue_email, sending

    command = argv[0]
    if command == "seed":
        with transaction.atomic():
            for index in range(int(argv[1])):
                queue_email(
                    lead=None,
                    to_email=f"person{index}@example.com",
                    key=f"crash-{index}",
                    kind="marketing",
                    subject=f"Hello {index}",
                    html=f"<p>Hello {index}</p>",
                    text=f"Hello {index}",
                )
        return 0
    if command == "send":
        if "--pause-at" in argv:
            _pause_at(argv[argv.index("--pause-at") + 1])
        print("STARTED", flush=True)
        while sending.send_due():
            pass
        return 0
    if command == "status":
        rows = OutboxMessage.objects.values_list("message_id", "status")
        print(json.dumps({message_id: status for message_id, status in rows}))
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
