"""nurture-send: 100,000 due emails through two sending processes to a local SMTP sink, one killed halfway.

The sink (aiosmtpd, its own process) writes the Message-ID of every message it
accepts to a file; at the end each queued Message-ID must be there exactly once.
Run as a module, this file is also the sink (`sink PORT FILE`) and the sending
process (`send`): the outbox sender loop alone, which is all `leadflow worker`
would run for this.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.database import ROOT, bench_dir, log
from bench.report import Result, Target

NAME = "nurture-send"
DESCRIPTION = (
    "--leads N due emails (default 100,000) sent by two processes to an aiosmtpd sink, one killed -9 halfway "
    "and restarted: <= 120 s, every Message-ID received exactly once"
)
DATABASE = "nurture_send"
DEFAULT_EMAILS = 100_000
TARGET_S = 120.0
LEASE_S = 10
WORKER_ENV = {
    "LEADFLOW_MAIL_BATCH": "500",
    "LEADFLOW_MAIL_CONNECTIONS": "25",
    "LEADFLOW_MAIL_LEASE_SECONDS": str(LEASE_S),
}
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def emails_wanted(ctx) -> int:
    return DEFAULT_EMAILS if ctx.args.leads == 1_000_000 else ctx.args.leads


def seed(count: int) -> list[str]:
    """Create `count` leads with one due marketing email each, in bulk; return the Message-IDs."""
    from django.db import transaction
    from django.utils import timezone

    from leadflow.leads.models import Lead
    from leadflow.mail.models import Kind, OutboxMessage
    from leadflow.mail.services.outbox import extract_links, message_domain

    now, domain, ids = timezone.now(), message_domain(), []
    html = '<p>Hello {n}, our <a href="https://example.com/guide">guide</a> is ready.</p>'
    for start in range(0, count, 5000):
        numbers = range(start, min(start + 5000, count))
        with transaction.atomic():
            leads = Lead.objects.bulk_create(
                [
                    Lead(
                        first_name="Reader",
                        last_name=str(n),
                        email=f"reader{n}@example.com",
                        email_key=f"reader{n}@example.com",
                    )
                    for n in numbers
                ]
            )
            rows = []
            for n, lead in zip(numbers, leads, strict=True):
                token = secrets.token_hex(16)
                body = html.format(n=n)
                rows.append(OutboxMessage(
                    key=f"bench-{n}", kind=Kind.MARKETING, lead_id=lead.pk, to_email=lead.email,
                    from_email="news@leadflow.example", subject=f"Your guide, reader {n}", html=body,
                    text=f"Hello {n}, our guide is ready: https://example.com/guide", links=extract_links(body),
                    meta={"sequence_id": 1, "step_id": 1}, token=token, message_id=f"<{token}@{domain}>",
                    due_at=now, next_attempt_at=now, created_at=now, updated_at=now,
                ))  # fmt: skip
            OutboxMessage.objects.bulk_create(rows)
        ids.extend(row.message_id for row in rows)
    return ids


def queued_count() -> int:
    from django.db import connections

    from leadflow.mail.models import OutboxMessage, Status

    try:
        return OutboxMessage.objects.filter(status=Status.QUEUED).count()
    finally:
        connections.close_all()


class Sink:
    """The SMTP sink process and the file of Message-IDs it writes."""

    def __init__(self, directory: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.file = directory / "received-message-ids.txt"
        self.file.unlink(missing_ok=True)
        self.offset = self.lines = 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.scenarios.nurture_send", "sink", str(self.port), str(self.file)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        if "READY" not in (self.process.stdout.readline() or ""):
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        """Return how many Message-IDs the sink has written, reading only what is new since the last call."""
        if not self.file.exists():
            return 0
        with open(self.file, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        self.lines += chunk.count(b"\n")
        return self.lines

    def received(self) -> Counter:
        return Counter(self.file.read_text().split()) if self.file.exists() else Counter()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def start_worker(env: dict[str, str], logs: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.scenarios.nurture_send", "send"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=open(logs / f"worker-{n}.log", "w"),
    )  # fmt: skip


def run(ctx) -> Result:
    from bench.scenarios.import_xeducation import fresh_database

    count = emails_wanted(ctx)
    fresh_database(ctx.db)
    log(f"bench: queueing {count:,} due emails")
    started = time.perf_counter()
    expected = seed(count)
    seed_s = time.perf_counter() - started
    logs = bench_dir() / f"nurture-send-{ctx.db.vendor}"
    logs.mkdir(parents=True, exist_ok=True)
    sink = Sink(logs)
    env = {**ctx.db.environ(), **WORKER_ENV, "LEADFLOW_SMTP_HOST": "127.0.0.1", "LEADFLOW_SMTP_PORT": str(sink.port),
           "LEADFLOW_SMTP_STARTTLS": "false", "LEADFLOW_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
           "DJANGO_SETTINGS_MODULE": "leadflow.settings"}  # fmt: skip
    workers: list[subprocess.Popen] = []
    killed_at = restarted_after = None
    try:
        log("bench: two sending processes start")
        started = time.perf_counter()
        workers = [start_worker(env, logs, n) for n in (1, 2)]
        while True:
            if killed_at is None and sink.count() >= count // 2:
                os.kill(workers[0].pid, signal.SIGKILL)
                workers[0].wait()
                killed_at = sink.count()
                log(f"bench: killed worker 1 with SIGKILL after {killed_at:,} messages; restarting it")
                workers[0] = start_worker(env, logs, 3)
                restarted_after = round(time.perf_counter() - started, 2)
            if all(worker.poll() is not None for worker in workers) or time.perf_counter() - started > 20 * TARGET_S:
                break
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        time.sleep(0.5)
        sink.stop()
    received = sink.received()
    wanted = set(expected)
    missing = len(wanted - set(received))
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    strangers = len(set(received) - wanted)
    result = Result(NAME, ctx.db.vendor)
    result.figures = {
        "emails": count,
        "send_s": round(elapsed, 2),
        "emails_per_s": round(count / elapsed) if elapsed else 0,
        "queue_s": round(seed_s, 2),
        "received": sum(received.values()),
        "missing": missing,
        "duplicates": duplicates,
        "unknown_ids": strangers,
        "killed_after_messages": killed_at,
        "restarted_at_s": restarted_after,
        "still_queued": queued_count(),
        "worker_exit_codes": [worker.returncode for worker in workers],
    }
    result.targets = [
        Target("seconds to hand every email to the SMTP sink", round(elapsed, 2), TARGET_S, unit=" s"),
        Target("Message-IDs never received", missing, 0),
        Target("Message-IDs received more than once", duplicates, 0),
    ]
    if killed_at is None:
        result.notes.append("the sending process was never killed: the run ended before half the emails were out")
    result.settings.update(
        {
            "workers": "2 processes running the outbox sender loop (python -m bench.scenarios.nurture_send send)",
            "kill": "SIGKILL to worker 1 once the sink holds half the Message-IDs, then a new process started",
            "sink": "aiosmtpd in its own process, one line per accepted Message-ID",
            **{key.lower(): value for key, value in WORKER_ENV.items()},
        }
    )
    return result


def sink_smtp_class():
    """Return aiosmtpd's SMTP server with its MAIL/RCPT address parsing kept but made once per address.

    aiosmtpd 1.4 defines a typing.Protocol class inside `_getaddr` on every call, which
    costs the sink more than parsing the address; this subclass parses the same way
    (email's get_angle_addr / get_addr_spec, the same local-part limit) without it.
    """
    from email._header_value_parser import get_addr_spec, get_angle_addr
    from email.errors import HeaderParseError

    from aiosmtpd.smtp import SMTP

    class SinkSMTP(SMTP):
        def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
            if not arg:
                return "", ""
            try:
                address, rest = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
            except HeaderParseError:
                return None, None
            addr = address.addr_spec
            if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
                return None, None
            return addr, rest

    return SinkSMTP


def sink_main(port: int, path: str) -> int:
    """Accept every message on 127.0.0.1:`port`; write its Message-ID to `path`, one per line."""
    import asyncio

    from aiosmtpd.controller import Controller

    out = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for the life of the sink, closed below

    class Handler:
        async def handle_DATA(self, server, session, envelope) -> str:
            match = MESSAGE_ID.search(envelope.original_content or envelope.content)
            out.write((match.group(1) if match else b"<no-message-id>") + b"\n")
            return "250 OK"

    class SinkController(Controller):
        def factory(self):
            return sink_smtp_class()(self.handler, **self.SMTP_kwargs)

    controller = SinkController(Handler(), hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    print("READY", flush=True)
    stop = asyncio.Event()
    signal.signal(signal.SIGTERM, lambda *_: controller.loop.call_soon_threadsafe(stop.set))
    try:
        asyncio.run_coroutine_threadsafe(stop.wait(), controller.loop).result()
    finally:
        controller.stop()
        out.close()
    return 0


def send_main() -> int:
    """Send due emails until none is left queued (a killed worker's rows come back when its lease ends)."""
    import django

    django.setup()
    from leadflow.mail.models import OutboxMessage, Status
    from leadflow.mail.services.sending import send_due

    while True:
        if not send_due():
            if not OutboxMessage.objects.filter(status=Status.QUEUED).exists():
                return 0
            time.sleep(0.5)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sys.exit(sink_main(int(sys.argv[2]), sys.argv[3]))
    sys.exit(send_main())
