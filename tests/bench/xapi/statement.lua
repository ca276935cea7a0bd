-- wrk script: xAPI statements POSTed to lms-xapi, each with an id unique per run, thread and
-- request (so every one is stored, none answered as a repeat). Environment: WRK_AUTH (the
-- Authorization header value), WRK_BATCH (statements per request; default 1: one object, above 1
-- an array). done() prints one line: requests, 2xx'd statements, p50 and p99 latency.
local batch = tonumber(os.getenv("WRK_BATCH") or "1")
local headers = {
  ["Content-Type"] = "application/json",
  ["X-Experience-API-Version"] = "1.0.3",
  ["Authorization"] = os.getenv("WRK_AUTH"),
}
local verbs = { "completed", "passed", "attempted", "registered" }

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local run = os.time() % 65536
local n = 0
local function statement()
  n = n + 1
  local id = string.format("%08x-%04x-4000-8000-%012x", n, run, tid)
  return '{"id":"' .. id .. '","actor":{"name":"Learner","account":{"homePage":' ..
      '"https://lms.example.edu.my","name":"learner-' .. (n % 5000) .. '"}},' ..
      '"verb":{"id":"http://adlnet.gov/expapi/verbs/' .. verbs[n % 4 + 1] .. '"},' ..
      '"object":{"id":"https://lms.example.edu.my/course/ai-101","definition":' ..
      '{"type":"http://adlnet.gov/expapi/activities/course","name":{"en-US":"AI 101"}}},' ..
      '"result":{"score":{"scaled":0.87},"success":true,"completion":true},' ..
      '"timestamp":"2026-11-28T10:00:00Z"}'
end

request = function()
  if batch <= 1 then
    return wrk.format("POST", "/xapi/statements", headers, statement())
  end
  local parts = {}
  for i = 1, batch do parts[i] = statement() end
  return wrk.format("POST", "/xapi/statements", headers, "[" .. table.concat(parts, ",") .. "]")
end

function done(summary, latency, requests)
  local ok = summary.requests - summary.errors.status - summary.errors.connect -
      summary.errors.read - summary.errors.write - summary.errors.timeout
  io.write(string.format("RESULT requests=%d ok_requests=%d statements=%d p50_ms=%.2f p99_ms=%.2f\n",
    summary.requests, ok, ok * batch, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
