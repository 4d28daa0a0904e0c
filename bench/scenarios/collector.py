"""collector: page-view batches POSTed to /t/collect as sendBeacon sends them: flat out under wrk, then paced."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections import Counter
from typing import Any

from bench.database import bench_dir, log
from bench.report import Result, Target, summary
from bench.scenarios.api_create import Server, request
from bench.wrk import REPORT_LUA, run_wrk

NAME = "collector"
DESCRIPTION = "page-view batches to /t/collect under wrk against `leadflow run` (granian): >= 3,000 views/s"
DATABASE = "collector"
TARGET_RATE = 3000.0
TARGET_P99_MS = 100.0
BATCH = 10
ORIGIN = "https://www.shop.example"
PATH = "/t/collect"
# wrk connections unless --connections says otherwise.
CONNECTIONS = 4
WARMUP_S = 5
VISITORS = 50_000
PREPARED = 4_000
PACED_CONNECTIONS = 32

# wrk script: every request is one batch from one of VISITORS browsers, shaped like the snippet's beacons.
LUA = (
    r"""
local threads, counter = {}, 0
-- Globals, not locals: done() reads them from each thread with thread:get().
non2xx, first_status = 0, ""
local requests = {}
local pages = {{"/", "Shop"}, {"/pricing", "Pricing · Shop"}, {"/features", "Features · Shop"},
               {"/blog/lead-scoring", "Lead scoring, explained · Shop blog"}, {"/demo", "Book a demo · Shop"},
               {"/contact", "Contact us · Shop"}, {"/about", "About · Shop"}}
local campaigns = {"", "?utm_source=google&utm_medium=cpc&utm_campaign=spring-launch", "",
                   "?utm_source=newsletter&utm_medium=email&utm_campaign=november", "", ""}
local referrers = {"", "https://www.google.com/", "", "https://www.linkedin.com/", "https://news.example/item?id=42"}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

-- Every request is made here, before the clock starts, so wrk spends its time sending, not formatting.
function init(args)
  local site, batch, offset, origin = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  local headers = {["Content-Type"] = "text/plain;charset=UTF-8", ["Origin"] = origin}
  for r = 1, PREPARED do
    local n = offset + thread_index * PREPARED + r
    local visitor = n % VISITORS
    local events = {}
    for i = 1, batch do
      local page = pages[((n + i) % #pages) + 1]
      local query = i == 1 and campaigns[(n % #campaigns) + 1] or ""
      local referrer = i == 1 and referrers[(n % #referrers) + 1] or ""
      events[i] = string.format(
        '{"type":"pageview","url":"%s%s%s","title":"%s","referrer":"%s","session":"s%015d","age_ms":%d}',
        origin, page[1], query, page[2], referrer, n, (batch - i) * 4000)
    end
    local body = string.format('{"site":"%s","visitor":"v%021d","consent":true,"events":[%s]}',
                               site, visitor, table.concat(events, ","))
    requests[r] = wrk.format("POST", nil, headers, body)
  end
end

function request()
  counter = counter + 1
  return requests[(counter % PREPARED) + 1]
end

""".replace("PREPARED", str(PREPARED)).replace("VISITORS", str(VISITORS))
    + REPORT_LUA
)


def prepare(db) -> str:
    """Make the database fresh, migrate it and add the tracked site; return the site's key."""
    from django.core.management import call_command
    from django.db import connections

    from leadflow.tracking.services import add_site

    connections.close_all()
    db.remove()
    db.create()
    call_command("migrate", interactive=False, verbosity=0)
    key = add_site(name="Bench shop", origins=[ORIGIN], require_consent=True).key
    connections.close_all()
    return key


def wrk(base: str, site: str, batch: int, offset: int, duration: int, args) -> dict[str, Any]:
    """Run wrk with batches of `batch` page views for `duration` seconds and return its figures."""
    script = bench_dir() / "collector.lua"
    script.write_text(LUA)
    command = [
        "wrk", "-t", str(args.threads), "-c", str(args.connections or CONNECTIONS), "-d", f"{duration}s",
        "--timeout", "10s", "-s", str(script), f"{base}{PATH}", "--", site, str(batch), str(offset), ORIGIN,
    ]  # fmt: skip
    figures = run_wrk(command)
    per_s = figures.pop("per_s")
    seconds, ok = figures["seconds"], figures["ok_2xx"]
    views_per_s = round(ok * batch / seconds, 1) if seconds else 0.0
    return {"batch": batch, **figures, "requests_per_s": per_s, "views_per_s": views_per_s}


def beacon(site: str, n: int, batch: int) -> bytes:
    """Return the n-th beacon body the paced client sends."""
    events = [
        {"type": "pageview", "url": f"{ORIGIN}/page-{(n + i) % 40}", "title": "Shop", "referrer": "",
         "session": f"paced{n // 20:011d}", "age_ms": (batch - i) * 4000}
        for i in range(batch)
    ]  # fmt: skip
    body = {"site": site, "visitor": f"paced{n % VISITORS:017d}", "consent": True, "events": events}
    return json.dumps(body).encode()


async def _status(reader: asyncio.StreamReader) -> int:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    length = next((int(line.split(":", 1)[1]) for line in head if line.lower().startswith("content-length:")), 0)
    await reader.readexactly(length)
    return int(head[0].split(" ", 2)[1])


async def paced(port: int, site: str, batch: int, rate: float, duration: float) -> dict[str, Any]:
    """Send `rate` beacons a second on a fixed schedule; time each from when it was due, not when it went out.

    Timing from the schedule counts the wait of a beacon queued behind a slow one,
    which a closed-loop client (wrk) hides ("coordinated omission").
    """
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    statuses: Counter = Counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (item := await queue.get()) is not None:
            due, payload = item
            head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain;charset=UTF-8\r\n"
                    f"Origin: {ORIGIN}\r\nContent-Length: {len(payload)}\r\n\r\n")  # fmt: skip
            writer.write(head.encode() + payload)
            await writer.drain()
            statuses[await _status(reader)] += 1
            latencies.append((time.perf_counter() - due) * 1000)
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(PACED_CONNECTIONS)]
    total = int(rate * duration)
    bodies = [beacon(site, n, batch) for n in range(total)]
    start = time.perf_counter() + 0.2
    for i, body in enumerate(bodies):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        queue.put_nowait((due, body))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    return {
        "batch": batch,
        "target_views_per_s": rate * batch,
        "sent": total,
        "ok_2xx": statuses.get(200, 0),
        "non_2xx": total - statuses.get(200, 0),
        "views_per_s": round(statuses.get(200, 0) * batch / elapsed, 1),
        "latency_from_schedule": summary(latencies),
    }


def probe(port: int, site: str) -> tuple[int, str]:
    body = json.dumps(
        {"site": site, "visitor": "probe-visitor-0000001", "consent": True,
         "events": [{"url": ORIGIN + "/", "title": "Probe", "session": "probe-session", "age_ms": 0}]}
    )  # fmt: skip
    return request(port, "POST", PATH, body)


def _stored_views() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_pageview")
        return cursor.fetchone()[0]


def run(ctx) -> Result:
    args = ctx.args
    if not shutil.which("wrk"):
        raise SystemExit("collector needs wrk on PATH (apt-get install wrk)")
    site = prepare(ctx.db)
    server = Server(ctx.db, args.workers)
    result = Result(NAME, ctx.db.vendor)
    runs: dict[str, dict[str, Any]] = {}
    try:
        status, body = probe(server.port, site)
        if status != 200:
            result.notes.append(f"probe POST {PATH} answered {status}: {body}")
        log(f"bench: warming up for {WARMUP_S} s")
        runs["warmup"] = wrk(server.base, site, BATCH, 0, WARMUP_S, args)
        log(f"bench: wrk {args.duration} s, batches of {BATCH} page views")
        runs["batched"] = wrk(server.base, site, BATCH, 10_000_000, args.duration, args)
        log(f"bench: wrk {args.duration} s, one page view per beacon")
        runs["single"] = wrk(server.base, site, 1, 20_000_000, args.duration, args)
        log(f"bench: paced at {TARGET_RATE:g} page views/s for {args.duration} s")
        runs["paced"] = asyncio.run(paced(server.port, site, BATCH, TARGET_RATE / BATCH, args.duration))
        workers = len(server.web_pids()) - 1
    finally:
        server.stop()
    # wrk counts only the answers it read before stopping, so a few more views may be stored than counted.
    accepted = 1 + sum(figures["ok_2xx"] * figures["batch"] for figures in runs.values())
    stored = _stored_views()
    batched, single, steady = runs["batched"], runs["single"], runs["paced"]
    result.figures.update(
        {
            f"flat_out_batches_of_{BATCH}": batched,
            "flat_out_one_view_per_beacon": single,
            f"paced_{TARGET_RATE:g}_views_per_s": steady,
            "views_answered_200": accepted,
            "views_stored": stored,
        }
    )
    p99 = steady["latency_from_schedule"].get("p99_ms", 0.0)
    result.targets = [
        Target(f"page views/s flat out (batches of {BATCH})", batched["views_per_s"], TARGET_RATE,
               higher_is_better=True, unit="/s"),
        Target(f"p99 at {TARGET_RATE:g} page views/s", p99, TARGET_P99_MS, unit=" ms"),
        Target("non-2xx", sum(r["non_2xx"] + r.get("socket_errors", 0) for r in runs.values()), 0),
        Target("views answered 200 but not stored", max(0, accepted - stored), 0),
    ]  # fmt: skip
    result.settings.update(
        {
            "server": "leadflow run --no-worker (granian WSGI, --blocking-threads 1, --backpressure 64)",
            "web_workers": workers,
            "wrk": f"-t{args.threads} -c{args.connections or CONNECTIONS} -d{args.duration}s, {WARMUP_S} s warm-up",
            "paced": f"{TARGET_RATE / BATCH:g} beacons/s of {BATCH} views, open loop over {PACED_CONNECTIONS} "
            "keep-alive connections",
            "body": f"text/plain JSON like the snippet's beacons: {BATCH} (or 1) page views from "
            f"{min(VISITORS, PREPARED * args.threads)} visitors, UTM on some landing pages",
            "site": "requires consent; batches carry consent: true and Origin " + ORIGIN,
            "tracking_durable": os.environ.get("LEADFLOW_TRACKING_DURABLE") or "unset (commits do not wait for disk)",
        }
    )
    result.notes.append("wrk and the paced client run on the same cores as the server and take some of their time.")
    return result
