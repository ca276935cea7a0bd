-- wrk script: one CloudEvents structured-mode event per POST (about 300 bytes), alternating two
-- types so both routes of the benchmark configuration carry load, with an id unique per thread and
-- request so a de-duplicating receiver routes every one. Environment: WRK_PATH (default /events),
-- WRK_AUTH (an Authorization header value), WRK_BATCH (events per request; above 1 the body is a
-- application/cloudevents-batch+json array).
local path = os.getenv("WRK_PATH") or "/events"
local batch = tonumber(os.getenv("WRK_BATCH") or "1")
local headers = {}
if batch > 1 then
  headers["Content-Type"] = "application/cloudevents-batch+json"
else
  headers["Content-Type"] = "application/cloudevents+json"
end
if os.getenv("WRK_AUTH") then headers["Authorization"] = os.getenv("WRK_AUTH") end
local types = { "talent.completion.recorded", "talent.enrollment.created" }

local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

local run_tag = tostring(os.time())
local n = 0
local function event()
  n = n + 1
  return '{"specversion":"1.0","id":"bench-' .. run_tag .. '-' .. tostring(tid) .. '-' .. n ..
      '","source":"moodle://lms.example.edu/course/42","type":"' .. types[n % 2 + 1] ..
      '","subject":"learner-000123","time":"2026-11-28T10:00:00Z",' ..
      '"datacontenttype":"application/json",' ..
      '"data":{"course":"AI-101","score":87,"segment":"student","completed":"2026-11-28T09:59:00Z"}}'
end

request = function()
  if batch <= 1 then
    return wrk.format("POST", path, headers, event())
  end
  local parts = {}
  for i = 1, batch do parts[i] = event() end
  return wrk.format("POST", path, headers, "[" .. table.concat(parts, ",") .. "]")
end
