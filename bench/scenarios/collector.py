"""collector: batches of page views POSTed to /t/collect under wrk against `leadflow run`, as sendBeacon sends them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

from bench.database import bench_dir, log
from bench.report import Result, Target
from bench.scenarios.api_create import Server, request

NAME = "collector"
DESCRIPTION = "page-view batches to /t/collect under wrk against `leadflow run` (granian): >= 3,000 views/s"
DATABASE = "collector"
TARGET_RATE = 3000.0
TARGET_P99_MS = 100.0
BATCH = 10
ORIGIN = "https://www.shop.example"
PATH = "/t/collect"
WARMUP_S = 5
VISITORS = 50_000
PREPARED = 4_000

# wrk script: every request is one batch from one of VISITORS browsers, shaped like the snippet's beacons.
LUA = r"""
local threads, counter, non2xx, first_status = {}, 0, 0, ""
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

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_status == "" then first_status = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    if sample == "" then sample = thread:get("first_status") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d},"first_non2xx":"%s"}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    (string.gsub(string.gsub(string.gsub(sample, "%c", " "), "\\", "\\\\"), '"', '\\"'))))
end
""".replace("PREPARED", str(PREPARED)).replace("VISITORS", str(VISITORS))


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
        "wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(script), f"{base}{PATH}", "--", site, str(batch), str(offset), ORIGIN,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    raw = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON ")).removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non2xx"]
    return {
        "batch": batch,
        "requests": raw["requests"],
        "ok_2xx": ok,
        "non_2xx": raw["non2xx"],
        "socket_errors": raw["socket_errors"],
        "seconds": round(seconds, 2),
        "requests_per_s": round(ok / seconds, 1) if seconds else 0.0,
        "views_per_s": round(ok * batch / seconds, 1) if seconds else 0.0,
        "latency_ms": {name: round(value / 1000, 2) for name, value in raw["latency_us"].items()},
        "first_non_2xx": raw["first_non2xx"],
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
        workers = len(server.web_pids()) - 1
    finally:
        server.stop()
    # wrk counts only the answers it read before stopping, so a few more views may be stored than counted.
    accepted = 1 + sum(figures["ok_2xx"] * figures["batch"] for figures in runs.values())
    stored = _stored_views()
    batched, single = runs["batched"], runs["single"]
    result.figures.update(
        {
            f"batches_of_{BATCH}": batched,
            "one_view_per_beacon": single,
            "views_accepted": accepted,
            "views_stored": stored,
        }
    )
    result.targets = [
        Target(f"page views/s (batches of {BATCH})", batched["views_per_s"], TARGET_RATE, higher_is_better=True,
               unit="/s"),
        Target(f"p99 (batches of {BATCH})", batched["latency_ms"]["p99"], TARGET_P99_MS, unit=" ms"),
        Target("non-2xx", sum(r["non_2xx"] + r["socket_errors"] for r in runs.values()), 0),
        Target("p99 (one view per beacon)", single["latency_ms"]["p99"], TARGET_P99_MS, unit=" ms"),
        Target("views answered 200 but not stored", max(0, accepted - stored), 0),
    ]  # fmt: skip
    result.settings.update(
        {
            "server": "leadflow run --no-worker (granian WSGI, --blocking-threads 1, --backpressure 64)",
            "web_workers": workers,
            "wrk": f"-t{args.threads} -c{args.connections} -d{args.duration}s, {WARMUP_S} s warm-up",
            "body": f"text/plain JSON like the snippet's beacons: {BATCH} (then 1) page views from "
            f"{min(VISITORS, PREPARED * args.threads)} visitors, UTM on some landing pages",
            "site": "requires consent; batches carry consent: true and Origin " + ORIGIN,
            "tracking_durable": os.environ.get("LEADFLOW_TRACKING_DURABLE") or "unset (commits do not wait for disk)",
        }
    )
    result.notes.append("wrk runs on the same cores as the server and takes some of their time.")
    return result
