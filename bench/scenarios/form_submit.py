"""form-submit: form posts to /f/<slug>/submit.json against `leadflow run`: flat out under wrk, then paced at 300/s.

The worker's fast lane (`leadflow scheduler --lane fast`) runs beside the server, as
`leadflow run` does: it makes the leads of received posts. After the load the
scenario waits for it to record every post, then checks that each accepted post
became exactly one lead and reports the submission-to-lead lag.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.database import ROOT, bench_dir, log
from bench.report import Result, Target, summary
from bench.scenarios.api_create import Server, _bin, request, stop_process
from bench.wrk import REPORT_LUA, run_wrk

NAME = "form-submit"
DESCRIPTION = "form posts to the JSON endpoint against `leadflow run` (granian): >= 1,000/s, p99 <= 100 ms at 300/s"
DATABASE = "forms"
TARGET_RATE = 1000.0
PACED_RATE = 300.0
TARGET_P99_MS = 100.0
TARGET_LAG_P99_MS = 1000.0
DRAIN_TIMEOUT_S = 180.0
ORIGIN = "https://www.shop.example"
# wrk connections unless --connections says otherwise. Posts come from many browsers; with only four
# connections granian's workers sometimes accepted all four in one process and left the other idle
# (about 690 posts/s against 920), which measured the spread of connections, not Leadflow.
CONNECTIONS = 16
WARMUP_S = 3
PACED_CONNECTIONS = 32
# Tokens per wrk thread and run: more than a thread can send, so no post is a retry of another.
TOKENS_PER_THREAD = 40_000

FIRSTS = ["James", "Mary", "Priya", "Rahul", "Mei", "Wei", "Sofia", "Mateo", "Amara", "Chidi", "Fatima", "Lars"]
LASTS = ["Smith", "Garcia", "Patel", "Sharma", "Tanaka", "Kim", "Chen", "Dubois", "Rossi", "Okafor", "Nilsson"]
COMPANIES = ["Acme Labs", "Globex Systems", "Initech Software", "Umbrella Health", "Hooli Analytics", "Contoso Retail"]
AREAS = [201, 212, 305, 312, 415, 503, 617, 646, 702, 718]
SOURCES = [("google", "cpc", "spring-launch"), ("linkedin", "paid_social", "brand"), ("newsletter", "email", "nov")]

# wrk script: every request is a new person posting the embedded form with a token no other request uses.
LUA = (
    r"""
-- non2xx and first_status are globals: done() reads them through thread:get, which sees no locals.
non2xx, first_status = 0, ""
local threads, counter, tokens = {}, 0, {}
local areas = {201, 212, 305, 312, 415, 503, 617, 646, 702, 718}
local path, token_file, offset, origin, token_start = "", "", 0, "", 0
local firsts = {FIRSTS}
local lasts = {LASTS}
local companies = {COMPANIES}
local sources = {SOURCES}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  path, token_file, offset, origin, token_start = args[1], args[2], tonumber(args[3]), args[4], tonumber(args[5])
  local first = token_start + thread_index * PER_THREAD + 1
  local last, i = first + PER_THREAD - 1, 0
  for line in io.lines(token_file) do
    i = i + 1
    if i > last then break end
    if i >= first then tokens[#tokens + 1] = line end
  end
end

function request()
  counter = counter + 1
  local n = offset + thread_index * PER_THREAD + counter
  local first, last = firsts[(n % #firsts) + 1], lasts[(math.floor(n / 7) % #lasts) + 1]
  local company, source = companies[(n % #companies) + 1], sources[(n % #sources) + 1]
  local domain = string.lower(string.gsub(company, " ", "")) .. ".example"
  local body = string.format(
    '{"first_name":"%s","last_name":"%s","email":"%s.%s%d@%s","phone":"+1%d%07d","company_name":"%s",'
      .. '"budget":"10k+","consent":true,"website":"","utm_source":"%s","utm_medium":"%s","utm_campaign":"%s",'
      .. '"page_url":"%s/pricing?utm_source=%s","referrer":"https://www.google.com/","visitor_id":"v%020d",'
      .. '"_lf_channel":"embed","_lf_token":"%s"}',
    first, last, string.lower(first), string.lower(last), n, domain, areas[(n % 10) + 1],
    (200 + math.floor(n / 10000) % 800) * 10000 + n % 10000,
    company, source[1], source[2], source[3], origin, source[1], n, tokens[((counter - 1) % #tokens) + 1])
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["Origin"] = origin}, body)
end

"""
    + REPORT_LUA
)


def _lua_list(items) -> str:
    def one(item):
        return "{" + ", ".join(json.dumps(part) for part in item) + "}" if isinstance(item, tuple) else json.dumps(item)

    return ", ".join(one(item) for item in items)


def lua_script() -> Path:
    script = bench_dir() / "form_submit.lua"
    source = LUA.replace("PER_THREAD", str(TOKENS_PER_THREAD))
    for name, items in (("FIRSTS", FIRSTS), ("LASTS", LASTS), ("COMPANIES", COMPANIES), ("SOURCES", SOURCES)):
        source = source.replace("{" + name + "}", "{" + _lua_list(items) + "}")
    script.write_text(source)
    return script


def body(n: int, token: str) -> bytes:
    """Return the JSON post of person `n`, shaped exactly like the wrk script's."""
    first, last = FIRSTS[n % len(FIRSTS)], LASTS[(n // 7) % len(LASTS)]
    company, source = COMPANIES[n % len(COMPANIES)], SOURCES[n % len(SOURCES)]
    domain = company.replace(" ", "").lower() + ".example"
    return json.dumps(
        {
            "first_name": first,
            "last_name": last,
            "email": f"{first.lower()}.{last.lower()}{n}@{domain}",
            "phone": f"+1{AREAS[n % 10]}{200 + (n // 10_000) % 800}{n % 10_000:04d}",
            "company_name": company,
            "budget": "10k+",
            "consent": True,
            "website": "",
            "utm_source": source[0],
            "utm_medium": source[1],
            "utm_campaign": source[2],
            "page_url": f"{ORIGIN}/pricing?utm_source={source[0]}",
            "referrer": "https://www.google.com/",
            "visitor_id": f"v{n:020d}",
            "_lf_channel": "embed",
            "_lf_token": token,
        }
    ).encode()


def prepare(db) -> tuple[str, int]:
    """Make the database fresh, migrate it and build the form; return its slug and id."""
    from django.core.management import call_command
    from django.db import connections

    from leadflow.accounts.models import Role
    from leadflow.accounts.services import create_user
    from leadflow.capture import services

    connections.close_all()
    db.remove()
    db.create()
    call_command("migrate", interactive=False, verbosity=0)
    admin = create_user(username="bench-forms", role=Role.ADMIN)
    form = services.save_form(
        actor=admin,
        form=None,
        values={
            "name": "Bench demo request",
            "slug": "demo",
            "status": "active",
            "title": "Book a demo",
            "intro": "",
            "submit_label": "Send",
            "consent_mode": "optional",
            "consent_text": "Email me about products.",
            "success_action": "message",
            "success_message": "Thanks!",
            "redirect_url": "",
            "allowed_origins": ORIGIN,
            "min_fill_seconds": 2,
            # One client sends everything here, so the limits are set out of the way; they are still counted.
            "ip_limit_per_hour": 100_000_000,
            "form_limit_per_minute": 100_000_000,
        },
        fields=[
            {"label": "First name", "maps_to": "first_name", "type": "text", "required": True},
            {"label": "Last name", "maps_to": "last_name", "type": "text"},
            {"label": "Work email", "maps_to": "email", "type": "email", "required": True},
            {"label": "Phone", "maps_to": "phone", "type": "tel"},
            {"label": "Company", "maps_to": "company_name", "type": "text"},
            {"label": "Budget", "maps_to": "custom", "name": "budget", "type": "select", "options": ["< 10k", "10k+"]},
        ],
        notify=[],
        site_host="127.0.0.1",
    )
    connections.close_all()
    return form.slug, form.pk


def mint_tokens(form_id: int, wording_id: int | None, count: int) -> Path:
    """Write `count` render tokens, as if each form had been shown half a minute ago."""
    from leadflow.capture import tokens

    path = bench_dir() / "form_tokens.txt"
    shown = time.time() - 30
    with path.open("w") as out:
        for _ in range(count):
            out.write(tokens.mint(form_id=form_id, wording_id=wording_id, issued_at=shown) + "\n")
    return path


def wrk(base: str, path: str, tokens: Path, slot: int, duration: int, args) -> dict[str, Any]:
    """Run wrk for `duration` seconds using the `slot`-th share of the tokens and people; return its figures."""
    start = slot * TOKENS_PER_THREAD * args.threads
    command = [
        "wrk", "-t", str(args.threads), "-c", str(args.connections or CONNECTIONS), "-d", f"{duration}s",
        "--timeout", "10s", "-s", str(lua_script()), f"{base}{path}", "--",
        path, str(tokens), str(start), ORIGIN, str(start),
    ]  # fmt: skip
    return run_wrk(command)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return status
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status


async def _paced(port: int, path: str, bodies: Iterator[bytes], rate: float, duration: float) -> dict[str, Any]:
    """Send `rate` posts a second on a fixed schedule; time each from when it was due, not when it went out.

    Timing from the schedule counts the wait of a post queued behind a slow one,
    which a closed-loop client (wrk) hides ("coordinated omission").
    """
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    statuses: Counter = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (item := await queue.get()) is not None:
            due, payload = item
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Origin: {ORIGIN}\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            statuses[await _read_response(reader)] += 1
            latencies.append((time.perf_counter() - due) * 1000)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(PACED_CONNECTIONS)]
    start = time.perf_counter() + 0.2
    total = int(rate * duration)
    for i in range(total):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        queue.put_nowait((due, next(bodies)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return {
        "target_per_s": rate,
        "sent": total,
        "achieved_per_s": round(total / elapsed, 1),
        "status": {str(code): count for code, count in sorted(statuses.items())},
        "latency_from_schedule": summary(latencies),
    }


class FastLane:
    """The worker's fast lane, `leadflow scheduler --lane fast`, on the bench database."""

    def __init__(self, db) -> None:
        env = {**db.environ(), "LEADFLOW_LOG_LEVEL": "WARNING"}
        self.log_path = bench_dir() / f"form-submit-fast-lane-{db.vendor}.log"
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            [_bin("leadflow"), "scheduler", "--lane", "fast"],
            env=env, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def stop(self) -> None:
        stop_process(self.process)
        self.log_file.close()


def _received_left() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM capture_submission WHERE status = 'received'")
        return cursor.fetchone()[0]


def wait_until_recorded(timeout: float) -> tuple[int, float]:
    """Wait until the fast lane has recorded every received post; return how many are left and the seconds waited."""
    from django.db import connections

    start = time.monotonic()
    while (left := _received_left()) and time.monotonic() - start < timeout:
        time.sleep(0.2)
    connections.close_all()
    return left, round(time.monotonic() - start, 1)


def recording_lags(windows: dict[str, tuple[float, float]]) -> dict[str, list[float]]:
    """Return, per named window of submission times, each accepted post's lag until its lead was recorded (ms).

    A post's lead is recorded when the job writes its FORM_SUBMITTED event; the event's
    created_at is set as the job builds it, just before the batch commits.
    """
    from leadflow.capture.models import Submission, SubmissionStatus
    from leadflow.leads.models import EventKind, TimelineEvent

    recorded = {
        event.data.get("submission_id"): event.created_at
        for event in TimelineEvent.objects.filter(kind=EventKind.FORM_SUBMITTED).only("data", "created_at")
    }
    lags: dict[str, list[float]] = {name: [] for name in windows}
    accepted = Submission.objects.filter(status=SubmissionStatus.ACCEPTED).values_list("pk", "created_at")
    for pk, created in accepted:
        at = recorded.get(pk)
        for name, (start, end) in windows.items():
            if at is not None and start <= created.timestamp() <= end:
                lags[name].append((at - created).total_seconds() * 1000)
    return lags


def one_lead_each() -> dict[str, int]:
    """Count what breaks "every accepted post (each a new person) became exactly one lead with one event"."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(lead_id), count(DISTINCT lead_id) FROM capture_submission WHERE status = 'accepted'"
        )
        accepted, with_lead, distinct = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_lead")
        (leads,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_timelineevent WHERE kind = 'form_submitted'")
        (events,) = cursor.fetchone()
    return {
        "accepted_without_lead": accepted - with_lead,
        "accepted_sharing_a_lead": with_lead - distinct,
        "leads_not_from_one_post": abs(leads - distinct),
        "form_events_off_by": abs(events - accepted),
    }


def _stored() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for name, sql in (
            ("submissions", "SELECT count(*) FROM capture_submission"),
            ("accepted", "SELECT count(*) FROM capture_submission WHERE status = 'accepted'"),
            ("received", "SELECT count(*) FROM capture_submission WHERE status = 'received'"),
            ("quarantined", "SELECT count(*) FROM capture_submission WHERE status = 'quarantined'"),
            ("leads", "SELECT count(*) FROM leads_lead"),
            ("form_events", "SELECT count(*) FROM leads_timelineevent WHERE kind = 'form_submitted'"),
            (
                "follow_up_tasks",
                "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE task_path LIKE '%follow_up%'",
            ),
        ):
            cursor.execute(sql)
            counts[name] = cursor.fetchone()[0]
    return counts


def run(ctx) -> Result:
    args = ctx.args
    if not shutil.which("wrk"):
        raise SystemExit("form-submit needs wrk on PATH (apt-get install wrk)")
    slug, form_id = prepare(ctx.db)
    from leadflow.capture.models import Form

    wording = Form.objects.get(pk=form_id).consent_wording_id
    log("bench: minting render tokens")
    tokens = mint_tokens(form_id, wording, 2 * TOKENS_PER_THREAD * args.threads + int(PACED_RATE * args.duration) + 10)
    path = f"/f/{slug}/submit.json"
    server = Server(ctx.db, args.workers)
    fast_lane = FastLane(ctx.db)
    result = Result(NAME, ctx.db.vendor)
    try:
        probe_token = tokens.read_text().rsplit("\n", 2)[-2]
        status, text = request(server.port, "POST", path, body(7_999_999, probe_token).decode())
        if status != 200:
            result.notes.append(f"probe POST {path} answered {status}: {text}")
        log(f"bench: warming up for {WARMUP_S} s")
        warmup = wrk(server.base, path, tokens, 0, WARMUP_S, args)
        log(f"bench: wrk {args.duration} s on {path}")
        flat_start = time.time()
        flat = wrk(server.base, path, tokens, 1, args.duration, args)
        flat_end = time.time()
        log("bench: waiting for the fast lane to record the posts")
        wait_until_recorded(DRAIN_TIMEOUT_S)
        log(f"bench: paced at {PACED_RATE:g}/s for {args.duration} s")
        lines = tokens.read_text().splitlines()[2 * TOKENS_PER_THREAD * args.threads :]
        bodies = (body(len(lines) * 3 + n, token) for n, token in enumerate(lines))
        paced_start = time.time()
        paced = asyncio.run(_paced(server.port, path, bodies, PACED_RATE, args.duration))
        paced_end = time.time()
        left, drained_in = wait_until_recorded(DRAIN_TIMEOUT_S)
        workers = len(server.web_pids()) - 1
    finally:
        fast_lane.stop()
        server.stop()
    stored = _stored()
    answered = 1 + warmup["ok_2xx"] + flat["ok_2xx"] + paced["status"].get("200", 0)
    lags = recording_lags({"paced": (paced_start, paced_end), "flat_out": (flat_start, flat_end)})
    leads = one_lead_each()
    lag_missing = DRAIN_TIMEOUT_S * 1000
    recording = {
        "lag_paced": summary(lags["paced"]),
        "lag_flat_out": summary(lags["flat_out"]),
        "drained_after_paced_s": drained_in,
        "received_left": left,
        **leads,
    }
    result.figures.update(
        {"flat_out": flat, "paced": paced, "stored": stored, "answered_200": answered, "recording": recording}
    )
    result.targets = [
        Target("submissions/s (flat out)", flat["per_s"], TARGET_RATE, higher_is_better=True, unit="/s"),
        Target(f"p99 at {PACED_RATE:g}/s", paced["latency_from_schedule"].get("p99_ms", 0.0), TARGET_P99_MS,
               unit=" ms"),
        Target("non-2xx", flat["non_2xx"] + flat["socket_errors"] + paced["sent"] - paced["status"].get("200", 0), 0),
        Target("answered 200 but not stored", answered - stored["submissions"], 0),
        Target(f"submission-to-lead p99 at {PACED_RATE:g}/s", recording["lag_paced"].get("p99_ms", lag_missing),
               TARGET_LAG_P99_MS, unit=" ms"),
        Target("posts not recorded as exactly one lead", left + sum(leads.values()), 0),
    ]  # fmt: skip
    result.settings.update(
        {
            "server": "leadflow run --no-worker (granian WSGI, --blocking-threads 1, --backpressure 64) and the "
            "worker's fast lane (leadflow scheduler --lane fast), which makes the leads of received posts",
            "web_workers": workers,
            "wrk": f"-t{args.threads} -c{args.connections or CONNECTIONS} -d{args.duration}s, {WARMUP_S} s warm-up",
            "paced": f"{PACED_RATE:g}/s open loop over {PACED_CONNECTIONS} keep-alive connections, "
            "latency timed from each post's scheduled time",
            "body": "JSON like the embed script's: a new person each post (email, phone, company, custom field), "
            "consent, UTM, page, visitor id, Origin " + ORIGIN + ", a render token shown 30 s before",
            "form": "6 fields; honeypot, fill time, token, both rate limits checked and counted on every post",
            "follow_up": "one task per recorded batch queued in the database (no task worker runs)",
            "recording": "waits for every received post to be recorded after each phase; lag is the FORM_SUBMITTED "
            "event's created_at (set as the job writes it) minus the submission's created_at",
        }
    )
    result.notes.append("wrk and the paced client run on the same cores as the server and take some of their time.")
    return result
