-- Votes cast from entry pages, as a browser's vote button sends them: `POST /entries/{id}/vote`
-- with the voter's session cookie, the page's CSRF cookie and the same token in the `_csrf`
-- form field. Used by gallery_at_size.sh (read it for the environment it sets):
--
--   ENTRIES_FILE  entry ids, one a line      VOTERS   how many voters (sessions `ws1`…`wsN`)
--   THREADS       wrk's -t                   CSRF     one valid token (not bound to a session)
--   CSRF_COOKIE   the CSRF cookie's name     SESSION_COOKIE  the session cookie's name
--
-- Every request is a distinct (voter, entry) pair; entries are taken from the END of the list,
-- so the pairs differ from those of the API run (api_votes.lua starts at the first entry).
--
-- The answer is a 303 back to `/entries/{id}#vote` whether the vote was counted or refused;
-- what happened is in the note cookie it sets (`…vote-note=<entry>:<key>:<arg>`). A request
-- counts as `counted` only with the note `entry-vote.counted` and the Location of its own entry;
-- any other 303 is `refused` (its first note is kept to show why), anything else `other`.
local entries = {}
for line in io.lines(os.getenv("ENTRIES_FILE")) do entries[#entries + 1] = line end
local voters = tonumber(os.getenv("VOTERS"))
local step = tonumber(os.getenv("THREADS"))
local csrf = os.getenv("CSRF")
local cookie_prefix = os.getenv("SESSION_COOKIE") .. "=ws"
local cookie_csrf = "; " .. os.getenv("CSRF_COOKIE") .. "=" .. csrf
local body = "_csrf=" .. csrf
local threads = {}
local counter = 1

function setup(thread)
    thread:set("id", counter)
    threads[#threads + 1] = thread
    counter = counter + 1
end

function init(args)
    i = id - 1
    counted, refused, other, wrong_place = 0, 0, 0, 0
    first_refusal = ""
end

function request()
    local n = i
    i = i + step
    local voter = (n % voters) + 1
    local entry = entries[#entries - (math.floor(n / voters) % #entries)]
    return wrk.format("POST", "/entries/" .. entry .. "/vote", {
        ["Cookie"] = cookie_prefix .. voter .. cookie_csrf,
        ["Content-Type"] = "application/x-www-form-urlencoded",
    }, body)
end

local function header(headers, name)
    return headers[name] or headers[name:lower()]
end

function response(status, headers, body)
    if status ~= 303 then
        other = other + 1
        return
    end
    local location = header(headers, "Location") or ""
    local note = header(headers, "Set-Cookie") or ""
    local entry = location:match("^/entries/([0-9a-f-]+)#vote$")
    if not entry then
        wrong_place = wrong_place + 1
    end
    if entry and note:find(":entry-vote.counted:", 1, true)
        and note:find("=" .. entry .. ":", 1, true) then
        counted = counted + 1
    else
        refused = refused + 1
        if first_refusal == "" then first_refusal = note:match("=([^;]*)") or note end
    end
end

function done(summary, latency, requests)
    local c, r, o, w, why = 0, 0, 0, 0, ""
    for _, t in ipairs(threads) do
        c = c + t:get("counted")
        r = r + t:get("refused")
        o = o + t:get("other")
        w = w + t:get("wrong_place")
        if why == "" then why = t:get("first_refusal") end
    end
    io.write(string.format(
        "RESULT counted=%d refused=%d other=%d wrong_place=%d p50=%.1f p99=%.1f seconds=%.2f why=%s\n",
        c, r, o, w, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
        summary.duration / 1e6, why == "" and "-" or why))
end
