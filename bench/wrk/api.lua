-- Requests for one benchmarked endpoint, on a random ticket each time.
--
--   wrk ... -s api.lua URL -- MODE KEY CALL_CENTER_ID TICKETS FIELD_ID
--
-- MODE is healthz, get, respond or patch. At the end, prints one JSON line
-- (prefixed "RESULT ") that bench/api.py reads: requests, seconds, answers
-- of 400 and above, socket errors, and latency percentiles in microseconds.

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_id", counter)
end

local mode, key, center, tickets, field

function init(args)
   mode, key, center, tickets, field = args[1], args[2], args[3], tonumber(args[4]), args[5]
   math.randomseed(os.time() * 1000 + thread_id)
   wrk.headers["Authorization"] = 'Token token="' .. key .. '"'
   wrk.headers["Content-Type"] = "application/json"
end

local function ticket_path()
   local number = string.format("240222-%07d", math.random(0, tickets - 1))
   return "/tickets/by_center/" .. center .. "/by_number/" .. number
end

function request()
   if mode == "healthz" then
      return wrk.format("GET", "/healthz")
   elseif mode == "get" then
      return wrk.format("GET", ticket_path())
   elseif mode == "respond" then
      -- A comment that differs each time, so every request is a real write.
      local body = string.format(
         '{"ticket_response":{"service_area":"GAUPC","code":"BENCH","comment":"run %d"}}',
         math.random(1, 1000000000))
      return wrk.format("POST", ticket_path() .. "/ticket_responses", nil, body)
   elseif mode == "patch" then
      local body = string.format('{"ticket":{"custom_fields":{"%s":"note %d"}}}', field, math.random(1, 1000000000))
      return wrk.format("PATCH", ticket_path(), nil, body)
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'RESULT {"requests":%d,"seconds":%f,"failed":%d,"socket_errors":%d,"p50":%d,"p99":%d,"max":%d}\n',
      summary.requests, summary.duration / 1e6, errors.status,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99), latency.max))
end
