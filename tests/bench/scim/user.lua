-- wrk script: SCIM Users POSTed to hr-scim, each userName unique per run, thread and request (so
-- each is a create, none a 409). Environment: WRK_AUTH (the Authorization header value). done()
-- prints one line: requests, 201s, p50 and p99 latency.
local headers = { ["Content-Type"] = "application/scim+json", ["Authorization"] = os.getenv("WRK_AUTH") }
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
local run = os.time() % 65536
local n = 0
created = 0
function request()
  n = n + 1
  local name = string.format("u%d-%d-%d@acme.example", run, tid, n)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",' ..
      '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"userName":"' .. name .. '",' ..
      '"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"' .. name .. '","type":"work"}],' ..
      '"title":"Engineer","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":' ..
      '{"employeeNumber":"' .. n .. '","department":"R&D"}}'
  return wrk.format("POST", "/scim/v2/Users", headers, body)
end
function response(status)
  if status == 201 then created = created + 1 end
end
function done(summary, latency)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("created") end
  io.write(string.format("requests=%d created=%d p50_ms=%.2f p99_ms=%.2f\n", summary.requests,
    total, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
