-- wrk script for scripts/bench-api: POSTs one document as multipart/form-data.
-- BENCH_FILE: the document; BENCH_FRESH=1 adds `Cache-Control: no-cache` (the full pipeline).
local f = assert(io.open(os.getenv("BENCH_FILE"), "rb"))
local data = f:read("*a")
f:close()
local boundary = "ocrltyBenchBoundary"
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
if os.getenv("BENCH_FRESH") == "1" then
  wrk.headers["Cache-Control"] = "no-cache"
end
wrk.body = "--" .. boundary .. "\r\n"
  .. "Content-Disposition: form-data; name=\"file\"; filename=\"doc\"\r\n"
  .. "Content-Type: application/octet-stream\r\n\r\n"
  .. data .. "\r\n--" .. boundary .. "--\r\n"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d non2xx_or_errors=%d p50_ms=%.3f p99_ms=%.3f rps=%.1f\n",
    summary.requests, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
