"""auto-reply: steady form posts to `leadflow run` (with its worker), each timed until its auto-reply reaches SMTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.database import ROOT, bench_dir, log
from bench.report import Result, Target, summary
from bench.scenarios.api_create import _bin, _free_port, request
from bench.scenarios.form_submit import ORIGIN, body, mint_tokens, prepare

NAME = "auto-reply"
DESCRIPTION = "form posts at 10/s to `leadflow run` + worker; submission to SMTP receipt of its auto-reply: p99 <= 5 s"
DATABASE = "auto_reply"
RATE = 10.0
TARGET_P99_S = 5.0
DRAIN_S = 30.0
WARMUP_WAIT_S = 60.0

# A separate process: an SMTP server on loopback that writes "recipient<TAB>unix time" per message received.
SINK = r"""
import sys, time
from aiosmtpd.controller import Controller

port, out = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)

class Handler:
    async def handle_DATA(self, server, session, envelope):
        now = time.time()
        for rcpt in envelope.rcpt_tos:
            out.write(f"{rcpt.lower()}\t{now}\n")
        return "250 OK"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
"""


class Sink:
    """The SMTP sink process; `received()` maps each recipient to when its first message arrived."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.path = bench_dir() / "auto_reply_sink.tsv"
        self.path.write_text("")
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port), str(self.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def received(self) -> dict[str, float]:
        seen: dict[str, float] = {}
        for line in self.path.read_text().splitlines():
            rcpt, _, at = line.partition("\t")
            seen.setdefault(rcpt, float(at))
        return seen

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# The worker's periodic-job loop, as `leadflow scheduler` runs it, timing every job run (written out at SIGTERM).
LANES = ("main", "fast")
TIMED_SCHEDULER = r"""
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadflow.settings")
import django
django.setup()
from leadflow.lib import scheduler

timings = {}
scheduler.discover()
for job in scheduler.JOBS.values():
    def timed(function=job.function, name=job.name.rsplit(".", 2)[-2] + "." + job.function.__name__):
        start = time.perf_counter()
        try:
            return function()
        finally:
            timings.setdefault(name, []).append((time.perf_counter() - start) * 1000)
    job.function = timed
scheduler.loop(lane=sys.argv[2])
with open(sys.argv[1], "w") as out:
    json.dump(timings, out)
"""


class ServerWithWorker:
    """`leadflow run --no-worker` plus the worker's two halves (task queue, timed periodic jobs), mailing the sink."""

    def __init__(self, db, workers: int, smtp_port: int) -> None:
        self.port = _free_port()
        command = [_bin("leadflow"), "run", "--no-worker", "--port", str(self.port)]
        if workers:
            command += ["--workers", str(workers)]
        env = {
            **db.environ(),
            "LEADFLOW_LOG_LEVEL": "WARNING",
            "LEADFLOW_EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "LEADFLOW_SMTP_HOST": "127.0.0.1",
            "LEADFLOW_SMTP_PORT": str(smtp_port),
            "LEADFLOW_SMTP_STARTTLS": "false",
        }
        self.log_path = bench_dir() / f"auto-reply-server-{db.vendor}.log"
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        # As `leadflow worker` runs them: the task queue, and the scheduler's main and fast lanes.
        self.timings_paths = [bench_dir() / f"auto_reply_jobs_{lane}.json" for lane in LANES]
        for path in self.timings_paths:
            path.unlink(missing_ok=True)
        self.workers = [
            subprocess.Popen([_bin("leadflow"), "tasks"], env=env, cwd=ROOT, stdout=self.log_file,
                             stderr=subprocess.STDOUT),
            *(subprocess.Popen([sys.executable, "-c", TIMED_SCHEDULER, str(path), lane], env=env, cwd=ROOT,
                               stdout=self.log_file, stderr=subprocess.STDOUT)
              for path, lane in zip(self.timings_paths, LANES, strict=True)),
        ]  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"leadflow run exited with {self.process.returncode}; see {self.log_path}")
            if request(self.port, "GET", "/healthz")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"leadflow run did not answer within 60 s; see {self.log_path}")

    def job_timings(self) -> dict[str, dict[str, float]]:
        """Return how long each periodic job's runs took, slowest total first."""
        raw: dict[str, list[float]] = {}
        for path in self.timings_paths:
            try:
                raw.update(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        rows = {name: {"runs": len(ms), "total_s": round(sum(ms) / 1000, 2), **summary(ms)} for name, ms in raw.items()}
        for row in rows.values():
            row.pop("count", None)
        return dict(sorted(rows.items(), key=lambda item: -item[1]["total_s"]))

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log_file.close()


def set_up_auto_reply(form_id: int) -> None:
    """Give the form an auto-reply and start the auto-reply cursor before any submission."""
    from django.db import connections

    from leadflow.capture.models import Form
    from leadflow.nurture import events
    from leadflow.nurture.models import AutoReply, EmailTemplate, TemplateKind

    template = EmailTemplate.objects.create(
        name="Thanks for your request",
        kind=TemplateKind.MARKETING,
        subject='Thanks, {{ first_name | "there" }}',
        body="We got your request and will call you within a day.\n\n{{ owner_signature }}",
    )
    AutoReply.objects.create(form=Form.objects.get(pk=form_id), template=template, enabled=True)
    events.process_auto_replies()
    connections.close_all()


def email_of(payload: bytes) -> str:
    return json.loads(payload)["email"].lower()


def post(port: int, path: str, payload: bytes) -> tuple[int, float]:
    """Post one submission; return its status and when it was sent."""
    from http.client import HTTPConnection

    sent = time.time()
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", path, body=payload, headers={"Content-Type": "application/json", "Origin": ORIGIN})
        status = connection.getresponse().status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, sent


def paced(port: int, path: str, payloads: list[bytes], rate: float) -> list[tuple[str, int, float]]:
    """Send the posts on a fixed schedule; return (email, status, sent at) for each."""
    results = []
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = []
        for i, payload in enumerate(payloads):
            if (wait := start + i / rate - time.perf_counter()) > 0:
                time.sleep(wait)
            futures.append((email_of(payload), pool.submit(post, port, path, payload)))
        for email, future in futures:
            status, sent = future.result()
            results.append((email, status, sent))
    return results


def wait_for(sink: Sink, emails: set[str], seconds: float) -> dict[str, float]:
    deadline = time.monotonic() + seconds
    while True:
        seen = sink.received()
        if emails <= set(seen) or time.monotonic() > deadline:
            return seen
        time.sleep(0.2)


def run(ctx) -> Result:
    args = ctx.args
    slug, form_id = prepare(ctx.db)
    set_up_auto_reply(form_id)
    from leadflow.capture.models import Form

    wording = Form.objects.get(pk=form_id).consent_wording_id
    count = int(RATE * args.duration)
    tokens = mint_tokens(form_id, wording, count + 1).read_text().split()
    payloads = [body(9_000_000 + n, token) for n, token in enumerate(tokens)]
    path = f"/f/{slug}/submit.json"
    sink = Sink()
    server = None
    result = Result(NAME, ctx.db.vendor)
    try:
        server = ServerWithWorker(ctx.db, args.workers, sink.port)
        log("bench: warm-up submission, waiting for its auto-reply")
        warm_status, _ = post(server.port, path, payloads[0])
        warm = wait_for(sink, {email_of(payloads[0])}, WARMUP_WAIT_S)
        if warm_status != 200 or email_of(payloads[0]) not in warm:
            result.notes.append(f"warm-up submission answered {warm_status}; its auto-reply arrived: {bool(warm)}")
        log(f"bench: {count} submissions at {RATE:g}/s")
        sent = paced(server.port, path, payloads[1:], RATE)
        accepted = {email: at for email, status, at in sent if status == 200}
        seen = wait_for(sink, set(accepted), DRAIN_S)
    finally:
        if server is not None:
            server.stop()
        sink.stop()
    jobs = server.job_timings() if server is not None else {}
    latencies = [(seen[email] - at) * 1000 for email, at in accepted.items() if email in seen]
    figures = summary(latencies)
    lost = len(accepted) - len(latencies)
    result.figures.update(
        {"submitted": len(sent), "accepted": len(accepted), "auto_replies_received": len(latencies),
         "submission_to_smtp": figures, "periodic_jobs": jobs}
    )  # fmt: skip
    result.targets = [
        Target("p99 submission to SMTP receipt", figures.get("p99_ms", DRAIN_S * 1000) / 1000, TARGET_P99_S, unit=" s"),
        Target("auto-replies missing", lost, 0),
        Target("submissions refused", len(sent) - len(accepted), 0),
    ]
    result.settings.update(
        {
            "server": "leadflow run --no-worker, `leadflow tasks`, and the periodic-job loop timing each job",
            "rate": f"{RATE:g} submissions/s for {args.duration} s (use --duration 30), each a new person",
            "auto_reply": "transactional, merge fields; queued by the 1 s cursor job, sent by the outbox job",
            "sink": "aiosmtpd in its own process on loopback, time of DATA per recipient",
        }
    )
    result.notes.append("Client, server, worker and sink share the machine's cores; latencies are pessimistic.")
    return result
