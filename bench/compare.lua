-- wrk script for bench/compare.sh: one request, sent again and again, with its
-- status codes counted so that errors show in the comparison table.
--
-- Configured from the environment (so tokens stay out of `ps`):
--   BENCH_METHOD       GET, PUT or POST (default GET)
--   BENCH_AUTH_HEADER  the header that carries the credential, e.g. Authorization
--   BENCH_AUTH_VALUE   its value, e.g. "Bearer eyJ..."
--   BENCH_BODY_FILE    a file whose content is the JSON body (optional)
--
-- done() prints one machine-readable line that compare.sh parses:
--   compare.lua: requests=N duration_us=N rps=N p50_us=N p99_us=N non2xx=N
--                socket_errors=N socket=KIND:N,... statuses=CODE:N,...
-- (socket errors: connect, read, write, and timeout: no answer within wrk --timeout)

local threads = {}

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local content = f:read("*a")
  f:close()
  return content
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local auth_header = os.getenv("BENCH_AUTH_HEADER")
local auth_value = os.getenv("BENCH_AUTH_VALUE")
if auth_header and auth_header ~= "" then
  wrk.headers[auth_header] = auth_value
end
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  wrk.body = read_file(body_file)
  wrk.headers["Content-Type"] = "application/json"
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  statuses = {}
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local non2xx_total = 0
  local by_status = {}
  for _, thread in ipairs(threads) do
    non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
    for status, n in pairs(thread:get("statuses") or {}) do
      by_status[status] = (by_status[status] or 0) + n
    end
  end
  local codes = {}
  for status, n in pairs(by_status) do
    table.insert(codes, string.format("%d:%d", status, n))
  end
  table.sort(codes)
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  local socket = {}
  for _, kind in ipairs({ "connect", "read", "write", "timeout" }) do
    if e[kind] > 0 then table.insert(socket, string.format("%s:%d", kind, e[kind])) end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "compare.lua: requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d non2xx=%d socket_errors=%d socket=%s statuses=%s\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(99), non2xx_total, socket_errors,
    #socket > 0 and table.concat(socket, ",") or "-",
    #codes > 0 and table.concat(codes, ",") or "-"))
end
