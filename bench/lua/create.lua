-- wrk script: POST a new lead per request, each with an email and a phone no other request uses.
-- Arguments (after --): path, token (or "-" for none), offset (keeps numbers apart between runs).
local threads = {}
local counter = 0
-- Globals, not locals: done() reads them from each thread with thread:get().
non2xx = 0
first_status = ""
local path, token, offset = "/api/v1/leads", "-", 0

local firsts = {"James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "Priya", "Rahul",
                "Mei", "Wei", "Sofia", "Mateo", "Emma", "Noah", "Amara", "Chidi", "Fatima", "Omar", "Ingrid", "Lars"}
local lasts = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Patel", "Sharma",
               "Tanaka", "Kim", "Chen", "Wang", "Schmidt", "Dubois", "Rossi", "Novak", "Okafor", "Nilsson", "Silva"}
local companies = {"Acme Labs", "Globex Systems", "Initech Software", "Umbrella Health", "Stark Industries",
                   "Hooli Analytics", "Northwind Logistics", "Contoso Retail", "Fabrikam Energy", "Tailspin Travel"}
local sources = {{"google", "cpc", "spring-launch"}, {"linkedin", "paid_social", "brand"}, {"newsletter", "email", ""},
                 {"direct", "none", ""}, {"partner", "referral", ""}, {"webinar", "event", "webinar-q3"}}
local areas = {201, 212, 305, 312, 415, 503, 617, 646, 702, 718}

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1] or path
  token = args[2] or token
  offset = tonumber(args[3] or "0")
end

local function phone_for(n)
  local area = areas[(n % 10) + 1]
  return string.format("+1%d%03d%04d", area, 200 + (math.floor(n / 10000) % 800), n % 10000)
end

function request()
  counter = counter + 1
  local n = offset + thread_index * 400000 + counter
  local first = firsts[(n % #firsts) + 1]
  local last = lasts[(math.floor(n / 7) % #lasts) + 1]
  local company = companies[(n % #companies) + 1]
  local domain = string.lower(string.gsub(company, " ", "")) .. ".example"
  local source = sources[(n % #sources) + 1]
  local body = string.format(
    '{"first_name":"%s","last_name":"%s","email":"%s.%s%d@%s","phone":"%s","company_name":"%s",'
      .. '"title":"Head of Marketing","source":"%s","medium":"%s","campaign":"%s",'
      .. '"landing_page":"https://www.leadflow.example/pricing"}',
    first, last, string.lower(first), string.lower(last), n, domain, phone_for(n), company,
    source[1], source[2], source[3])
  local headers = {["Content-Type"] = "application/json"}
  if token ~= "-" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first_status == "" then
      first_status = status .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local bad, sample = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + (thread:get("non2xx") or 0)
    local status = thread:get("first_status") or ""
    if sample == "" then sample = status end
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"timeout":%d},"latency_us":{"min":%d,"mean":%.1f,"p50":%d,"p90":%d,"p95":%d,"p99":%d,"max":%d},'
      .. '"first_non2xx":"%s"}\n',
    summary.requests, summary.duration, bad, e.connect, e.read, e.write, e.timeout,
    latency.min, latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, (string.gsub(string.gsub(string.gsub(sample, "%c", " "), "\\", "\\\\"), '"', '\\"'))))
end
