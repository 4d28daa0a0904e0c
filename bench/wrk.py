"""Running wrk with a Lua script, and reading the figures the script reports."""

from __future__ import annotations

import json
import subprocess
from typing import Any

# Appended to a scenario's Lua script: counts answers outside 2xx and prints one WRKJSON line.
# The counters are globals, not locals: done() reads them from each thread with thread:get().
REPORT_LUA = r"""
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
"""


def run_wrk(command: list[str]) -> dict[str, Any]:
    """Run wrk and return requests, ok_2xx, non_2xx, socket_errors, seconds, per_s, latency_ms, first_non_2xx."""
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    raw = json.loads(next(line for line in out.splitlines() if line.startswith("WRKJSON ")).removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non2xx"]
    return {
        "requests": raw["requests"],
        "ok_2xx": ok,
        "non_2xx": raw["non2xx"],
        "socket_errors": raw["socket_errors"],
        "seconds": round(seconds, 2),
        "per_s": round(ok / seconds, 1) if seconds else 0.0,
        "latency_ms": {name: round(value / 1000, 2) for name, value in raw["latency_us"].items()},
        "first_non_2xx": raw["first_non2xx"],
    }
