#!/usr/bin/env bash
# Votes row of docs/benchmarks.md: wrk (a load generator we did not write), 64 connections,
# every request a distinct voter and entry (api_votes.lua), against `hoithi serve --roles web`
# (release build, embedded PostgreSQL and S3, a temporary data folder), in one run:
#   1. a static file of the same server (/static/css/site.css), the ceiling of its HTTP stack;
#   2. the batched vote ingest (the default), `POST /api/v1/entries/{id}/votes`;
#   3. the server restarted on the same data with `HOITHI_VOTE_INGEST=direct` (one statement
#      and one commit per vote), the same static file, then votes on pairs not used before.
#   4. after each server's wrk phases, an open-loop overload: k6 (votes_open_loop.js, a
#      constant arrival rate of OPEN_RATE votes a second for OPEN_SECONDS, at most OPEN_VUS in
#      flight) on new pairs; counted votes a second, batched against direct.
# After each vote phase: the stored votes against the client's 201s (at most one in flight
# per connection may be stored unseen), and the tally against the stored votes.
#
#   services/web/bench/votes_vs_static.sh
#
# Needs: cargo, psql, curl, wrk (apt-get install wrk). Settings (environment): SECONDS_EACH
# (30), CONNECTIONS (64), THREADS (2), ENTRIES (200), VOTERS (30000), OPEN_RATE (8000),
# OPEN_SECONDS (20), OPEN_VUS (1000), OPEN=0 skips step 4, HOITHI_BIN=path (else
# cargo build --release -p hoithi), KEEP=1 keeps the data folder, PERF=file records the
# whole machine (server, PostgreSQL, wrk) with `perf record -a -g` for the middle 10 s of the
# batched vote phase into that file.
set -euo pipefail

SECONDS_EACH=${SECONDS_EACH:-30}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
ENTRIES=${ENTRIES:-200}
VOTERS=${VOTERS:-30000}
OPEN=${OPEN:-1}
OPEN_RATE=${OPEN_RATE:-8000}
OPEN_SECONDS=${OPEN_SECONDS:-20}
OPEN_VUS=${OPEN_VUS:-1000}

source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
bench_init cargo psql curl wrk
bench_data votes
((OPEN)) && bench_k6
start_server() {  # start_server <ingest>
    bench_start_server web HOITHI_VOTE_VOTER_RATE=0 HOITHI_VOTE_NETWORK_RATE=0 HOITHI_VOTE_IP_RATE=0 \
        HOITHI_VOTE_INGEST="$1"
}
start_server batched

echo "== seeding $ENTRIES approved entries and $VOTERS voters with API tokens" >&2
sql <<SQL
insert into app_user (email, display_name, password_hash, email_verified_at)
values ('author@bench.vn', 'Tác giả', 'x', now());
insert into contest (slug, title, submission_opens_at, submission_closes_at, voting_opens_at, voting_closes_at)
values ('bench-votes', 'Bình chọn', now() - interval '10 days', now() - interval '2 days',
        now() - interval '1 hour', now() + interval '1 day');
insert into entry (contest_id, author_id, title, description, status)
select (select contest_id from contest where slug = 'bench-votes'),
       (select app_user_id from app_user where email = 'author@bench.vn'), 'Tác phẩm ' || g, 'Mô tả', 'approved'
from generate_series(1, $ENTRIES) g;
insert into app_user (email, display_name, password_hash, email_verified_at)
select 'v' || g || '@bench.vn', 'Cử tri ' || g, 'x', now() from generate_series(1, $VOTERS) g;
insert into api_token (token_hash, app_user_id, expires_at)
select sha256(convert_to('bt' || substr(u.email, 2, position('@' in u.email) - 2), 'UTF8')),
       u.app_user_id, now() + interval '1 day'
from app_user u where u.email like 'v%@bench.vn';
analyze;
SQL
sql -c "select e.entry_id from entry e join contest c using (contest_id) where c.slug = 'bench-votes' order by number" >"$data/entries.txt"

stored() {
    sql -c "select count(*) from vote v join contest c using (contest_id) where c.slug = 'bench-votes' and v.valid"
}
tally() {
    sql -c "select coalesce(sum(t.votes), 0) from vote_tally t join contest c using (contest_id) where c.slug = 'bench-votes'"
}
field() { sed -E "s/.* $1=([^ ]*).*/\1/" <<<" $2"; }
failed=()
rows=()
offset=0

static_phase() {  # static_phase <label>
    local out load
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$base/static/css/site.css")
    local rps p50 p99 non2xx
    rps=$(awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
    rows+=("| $1 | $rps | $p50 | $p99 | ${non2xx:-0} non-2xx | – | – | $load |")
    last_rps=$rps
}

# settle <label> <votes stored before> <201s> <most stored unseen>: waits for the batches in
# flight, then checks the votes stored against the answers and the tally against the votes;
# sets `added` (votes stored by the phase) and `unseen` (stored without a 201 seen).
settle() {
    sleep 3
    local now t
    now=$(stored)
    t=$(tally)
    added=$((now - $2))
    unseen=$((added - $3))
    ((unseen >= 0 && unseen <= $4)) || failed+=("$1: stored − 201s = $unseen, outside 0..$4")
    [[ $t == "$now" ]] || failed+=("$1: tally sum $t ≠ stored votes $now")
}

vote_phase() {  # vote_phase <label>
    local before load out result
    before=$(stored)
    load=$(cut -d' ' -f1 /proc/loadavg)
    local perf_pid=
    if [[ -n "${PERF:-}" && $1 == batched* ]]; then
        (sleep $((SECONDS_EACH / 2 - 5)); perf record -e cpu-clock -F 999 -g -a -o "$PERF" -- sleep 10 >/dev/null 2>&1) &
        perf_pid=$!
    fi
    out=$(ENTRIES_FILE=$data/entries.txt VOTERS=$VOTERS THREADS=$THREADS OFFSET=$offset \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency \
        -s "$root/services/web/bench/api_votes.lua" "$base")
    [[ -z $perf_pid ]] || wait "$perf_pid"
    result=$(grep '^RESULT' <<<"$out")
    local created other seconds p50 p99
    created=$(field created "$result")
    other=$(field other "$result")
    seconds=$(field seconds "$result")
    p50=$(field p50 "$result")
    p99=$(field p99 "$result")
    offset=$(field next "$result")
    # At most one answer per connection was in flight when wrk stopped.
    settle "$1" "$before" "$created" "$CONNECTIONS"
    local rps
    rps=$(awk -v c="$created" -v s="$seconds" 'BEGIN {printf "%d", c / s}')
    rows+=("| $1 | $rps | ${p50}ms | ${p99}ms | $other other | $added | $unseen | $load |")
    ((other == 0)) || failed+=("$1: $other answers other than 201")
    last_rps=$rps
    last_p99=$p99
}

# open_phase <label>: k6 at a constant arrival rate; counted votes a second into $last_open.
open_rows=()
open_phase() {
    local before load out result counted refused overloaded unanswered dropped p50 p99
    before=$(stored)
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$(BASE=$base ENTRIES_FILE=$data/entries.txt VOTERS=$VOTERS OFFSET=$offset RATE=$OPEN_RATE \
        DURATION=$OPEN_SECONDS MAX_VUS=$OPEN_VUS \
        "$k6" run --quiet --no-color "$root/services/web/bench/votes_open_loop.js" 2>>"$log")
    result=$(grep '^RESULT' <<<"$out")
    counted=$(field counted "$result")
    refused=$(field refused "$result")
    overloaded=$(field overloaded "$result")
    unanswered=$(field failed "$result")
    dropped=$(field dropped "$result")
    p50=$(field p50 "$result")
    p99=$(field p99 "$result")
    offset=$(field next "$result")
    # A vote whose answer never came (a client time-out) may be stored unseen.
    settle "open loop, $1" "$before" "$counted" "$unanswered"
    last_open=$(awk -v c="$counted" -v s="$OPEN_SECONDS" 'BEGIN {printf "%d", c / s}')
    open_rows+=("| $1 | $OPEN_RATE | $last_open | ${p50}ms | ${p99}ms | $overloaded | $refused | $unanswered | $dropped | $added | $unseen | $load |")
    ((refused == 0)) || failed+=("open loop, $1: $refused refusals other than 503 (a pair used twice?)")
}

curl -fs "$base/static/css/site.css" >/dev/null
static_phase "static file, batched server"
static_batched=$last_rps
vote_phase "batched vote ingest"
batched=$last_rps
batched_p99=$last_p99
if ((OPEN)); then open_phase "batched"; open_batched=$last_open; fi
bench_stop_server
start_server direct
curl -fs "$base/static/css/site.css" >/dev/null
static_phase "static file, direct server"
static_direct=$last_rps
vote_phase "direct vote ingest (HOITHI_VOTE_INGEST=direct)"
direct=$last_rps
if ((OPEN)); then open_phase "direct"; open_direct=$last_open; fi

echo "### Votes with wrk: $CONNECTIONS connections, $THREADS threads, ${SECONDS_EACH} s each, distinct voters ($VOTERS voters × $ENTRIES entries)"
echo
echo "| phase | requests/s (votes: 201s/s) | p50 | p99 | errors | votes stored | stored − 201s | load at start |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
awk -v b="$batched" -v s="$static_batched" -v d="$direct" -v sd="$static_direct" -v p="$batched_p99" 'BEGIN {
    printf "batched / static (same server process): %.2f   batched p99 %.1f ms\n", b / s, p
    printf "batched / direct: %.2f   (direct / its static: %.2f)\n", b / d, d / sd }'
if ((OPEN)); then
    echo
    echo "### Open-loop overload with k6: $OPEN_RATE votes started a second for $OPEN_SECONDS s, at most $OPEN_VUS in flight"
    echo
    echo "| ingest | offered/s | counted/s | p50 | p99 | 503 | other refusals | no answer | dropped by k6 | votes stored | stored − 201s | load at start |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${open_rows[@]}"
    echo
    awk -v b="$open_batched" -v d="$open_direct" 'BEGIN { printf "open loop: batched / direct: %.2f\n", b / (d > 0 ? d : 1) }'
fi
echo "Stored votes $(stored), tally sum $(tally)."
HOITHI_DATA=$data "$bin" admin check-tallies --contest bench-votes >&2 || failed+=("check-tallies found a difference")
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); binary $bin; commit $(git rev-parse --short HEAD)."
if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
