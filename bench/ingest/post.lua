-- wrk script of bench/ingest/run: every request POSTs the same batch of
-- results (the file BENCH_BODY, written by the run script) with the runtime
-- token BENCH_TOKEN. No response() hook: wrk counts the answers that are
-- not 2xx itself ("Non-2xx or 3xx responses"), and the hook would cost it
-- a Lua call per answer.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
