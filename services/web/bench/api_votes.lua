-- Votes cast through the JSON API: `POST /api/v1/entries/{id}/votes` with the voter's bearer
-- token (`bt<n>`, as the benchmark scripts seed them), answered 201 when counted. Used by
-- gallery_at_size.sh and votes_vs_static.sh (read them for the environment they set):
--
--   ENTRIES_FILE  entry ids, one a line      VOTERS   how many voters (tokens `bt1`…`btN`)
--   THREADS       wrk's -t                   OFFSET   first request number (default 0): a
--                                            later run with a larger OFFSET uses new pairs
--
-- Request n (counted from OFFSET, each thread taking every THREADS-th) is voter n mod VOTERS
-- for entry ⌊n / VOTERS⌋ mod #entries: no two requests share a (voter, entry) pair until
-- VOTERS × #entries requests. The RESULT line's `next` is one past the highest request number
-- any thread used (threads finish unevenly, so it is not OFFSET + requests): a later run
-- that starts there reuses no pair.
local entries = {}
for line in io.lines(os.getenv("ENTRIES_FILE")) do entries[#entries + 1] = line end
local voters = tonumber(os.getenv("VOTERS"))
local step = tonumber(os.getenv("THREADS"))
local offset = tonumber(os.getenv("OFFSET") or "0")
local threads = {}
local counter = 1
function setup(thread)
    thread:set("id", counter)
    threads[#threads + 1] = thread
    counter = counter + 1
end
function init(args)
    i = offset + id - 1
end
function request()
    local n = i
    i = i + step
    local voter = (n % voters) + 1
    local entry = entries[(math.floor(n / voters) % #entries) + 1]
    return wrk.format("POST", "/api/v1/entries/" .. entry .. "/votes",
        {["Authorization"] = "Bearer bt" .. voter, ["Content-Length"] = "0"}, "")
end
function done(summary, latency, requests)
    -- No response() callback: with one, wrk hands every answer's headers and body to Lua,
    -- which cost it a tenth of the machine at 9,000 votes/s. Counted is every 2xx (the
    -- endpoint answers 201 or an error); other is wrk's count of non-2xx/3xx answers.
    local o, next = summary.errors.status, offset
    local c = summary.requests - o
    for _, t in ipairs(threads) do
        next = math.max(next, t:get("i"))
    end
    io.write(string.format("RESULT created=%d other=%d p50=%.1f p99=%.1f seconds=%.2f requests=%d next=%d\n",
        c, o, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.duration / 1e6, summary.requests, next))
end
