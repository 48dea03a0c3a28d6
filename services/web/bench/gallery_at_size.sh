#!/usr/bin/env bash
# A provincial contest at its real size, measured: 2,000 approved entries and 20,000 voters on
# `hoithi serve` (release build, embedded PostgreSQL and S3, a temporary data folder).
#
#   services/web/bench/gallery_at_size.sh            # from anywhere in the clone
#
# Needs: cargo, psql (Debian's postgresql-client, installed with postgresql), curl, gzip and
# wrk (`apt-get install wrk`). Settings (environment): SECONDS_EACH (20), CONNECTIONS (20),
# VOTE_CONNECTIONS (64), VOTE_SECONDS (20), ENTRIES (2000), VOTERS (20000), GOAL_VOTES (5000
# votes/s each vote path must store, else the script fails after printing everything), KEEP=1
# keeps the data folder, EXPLAIN=1 prints the plans of the gallery statement, HOITHI_BIN=path
# uses that binary instead of building one.
#
# It prints, side by side, wrk's p50/p99 of a gallery page, the vote page and an entry page with
# CONNECTIONS connections against a static file of the same server; the gzip size of a
# gallery page; then voters casting votes (every request a distinct voter and entry, rate
# limits off as in docs/benchmarks.md's voting section) by two paths one after the other: the
# API (`POST /api/v1/entries/{id}/votes`, bearer tokens) and the entry page's vote button
# (`POST /entries/{id}/vote`, session cookie and CSRF token, answered by a 303 back to the
# entry: entry_votes.lua); and the recount: the stored votes, the tally and the answers wrk
# saw (in-flight requests at wrk's end may have been stored without wrk seeing their answer:
# at most VOTE_CONNECTIONS of them).
set -euo pipefail

SECONDS_EACH=${SECONDS_EACH:-20}
CONNECTIONS=${CONNECTIONS:-20}
VOTE_CONNECTIONS=${VOTE_CONNECTIONS:-64}
VOTE_SECONDS=${VOTE_SECONDS:-20}
ENTRIES=${ENTRIES:-2000}
VOTERS=${VOTERS:-20000}
GOAL_VOTES=${GOAL_VOTES:-5000}

source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
bench_init cargo psql curl gzip wrk
bench_data gallery
bench_start_server web HOITHI_VOTE_VOTER_RATE=0 HOITHI_VOTE_NETWORK_RATE=0 HOITHI_VOTE_IP_RATE=0

echo "== seeding $ENTRIES approved entries with media and $VOTERS voters" >&2
started=$(date +%s.%N)
sql <<SQL
insert into app_user (email, display_name, password_hash, email_verified_at)
select 'author' || g || '@bench.vn', 'Tác giả ' || g, 'x', now() from generate_series(1, 200) g;
insert into contest (slug, title, submission_opens_at, submission_closes_at, voting_opens_at, voting_closes_at)
values ('bench-gallery', 'Hội thi cấp tỉnh', now() - interval '10 days', now() - interval '2 days',
        now() - interval '1 hour', now() + interval '1 day');
insert into entry (contest_id, author_id, title, description, status)
select (select contest_id from contest where slug = 'bench-gallery'),
       (select min(app_user_id) from app_user where email like 'author%@bench.vn') + g % 200,
       'Tác phẩm tuổi trẻ số ' || g || ' — ' || substr(md5(g::text), 1, 8), 'Mô tả', 'approved'
from generate_series(1, $ENTRIES) g;
insert into media_asset (entry_id, kind, status, progress, original_key, original_bytes, original_sha256,
                         width, height, duration_s, renditions)
select e.entry_id, (case when e.number % 3 = 0 then 'video' else 'photo' end)::media_kind, 'ready', 100,
       'originals/' || e.entry_id, 1000000, repeat('a', 64), 1920, 1080,
       case when e.number % 3 = 0 then 30 end,
       case when e.number % 3 = 0
         then jsonb_build_object(
                'hls', jsonb_build_object('key', 'media/' || gen_random_uuid() || '/hls/master.m3u8'),
                'poster', jsonb_build_array(
                  jsonb_build_object('width', 400, 'jpeg', 'poster-400.jpg', 'webp', 'poster-400.webp'),
                  jsonb_build_object('width', 1280, 'jpeg', 'poster-1280.jpg', 'webp', 'poster-1280.webp')))
         else jsonb_build_object('images', jsonb_build_array(
                  jsonb_build_object('width', 400, 'jpeg', 'photo-400.jpg'),
                  jsonb_build_object('width', 800, 'jpeg', 'photo-800.jpg'),
                  jsonb_build_object('width', 1600, 'jpeg', 'photo-1600.jpg'))) end
from entry e join contest c using (contest_id) where c.slug = 'bench-gallery';
insert into app_user (email, display_name, password_hash, email_verified_at)
select 'v' || g || '@bench.vn', 'Cử tri ' || g, 'x', now() from generate_series(1, $VOTERS) g;
insert into api_token (token_hash, app_user_id, expires_at)
select sha256(convert_to('bt' || substr(u.email, 2, position('@' in u.email) - 2), 'UTF8')),
       u.app_user_id, now() + interval '1 day'
from app_user u where u.email like 'v%@bench.vn';
-- Their browsers' sessions, as domain::people::sessions stores them: the cookie value
-- ('ws' || n) is not kept, only its sha256 (security::sessions::attach_user looks it up).
insert into web_session (session_hash, app_user_id, expires_at)
select sha256(convert_to('ws' || substr(u.email, 2, position('@' in u.email) - 2), 'UTF8')),
       u.app_user_id, now() + interval '30 days'
from app_user u where u.email like 'v%@bench.vn';
analyze;
SQL
echo "   seeded in $(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s" >&2

entry=$(sql -c "select entry_id from entry e join contest c using (contest_id) where c.slug = 'bench-gallery' order by number limit 1")
sql -c "select e.entry_id from entry e join contest c using (contest_id) where c.slug = 'bench-gallery' order by number" >"$data/entries.txt"

# wrk's p50 and p99 (ms) of one URL.
measure() {
    local url=$1 out
    out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency "$url")
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local non2xx
    non2xx=$(awk '/Non-2xx/ {print $4}' <<<"$out")
    printf '| %s | %s | %s | %s | %s |\n' "$2" "$p50" "$p99" "$rps" "${non2xx:-0}"
}

echo
echo "### Pages with $CONNECTIONS connections, ${SECONDS_EACH} s each ($ENTRIES approved entries, voting open)"
echo
echo "| URL | p50 | p99 | requests/s | non-2xx |"
echo "|---|---|---|---|---|"
curl -fs "$base/static/css/site.css" >/dev/null
measure "$base/static/css/site.css" "static file /static/css/site.css"
measure "$base/contests/bench-gallery" "gallery /contests/{slug} (voter's random order)"
measure "$base/contests/bench-gallery?sort=number&q=t%C3%A1c" "gallery, search and number order"
measure "$base/contests/bench-gallery/vote" "vote page /contests/{slug}/vote"
measure "$base/entries/$entry" "entry page /entries/{id}"
measure "$base/static/css/site.css" "static file again"

html=$(curl -fs "$base/contests/bench-gallery")
raw=$(printf '%s' "$html" | wc -c)
gz=$(printf '%s' "$html" | gzip -9 | wc -c)
cards=$(grep -o 'class="tile"' <<<"$html" | wc -l)
lazy=$(grep -o 'loading="lazy"' <<<"$html" | wc -l)
srcset=$(grep -o ' srcset="' <<<"$html" | wc -l)
echo
echo "Gallery page HTML: $raw bytes, $gz bytes gzip -9; $cards cards, $lazy lazy images, $srcset with srcset."

# The plans of the gallery statement at this size (EXPLAIN=1): the shapes
# domain::entries::gallery builds, with its binds written in.
if [[ -n "${EXPLAIN:-}" ]]; then
    cid=$(sql -c "select contest_id from contest where slug = 'bench-gallery'")
    head="with page as (select e.entry_id, e.number, e.title, e.author_id, a.display_name as author_name,
          u.name as unit_name, t.votes,"
    joins="join app_user a on a.app_user_id = e.author_id left join unit u on u.unit_id = a.unit_id
          cross join lateral (select coalesce(sum(ts.votes), 0)::int8 as votes from vote_tally_shard ts
                              where ts.entry_id = e.entry_id) t"
    tail="select page.*, m.media_asset_id, m.kind::text as kind, m.status::text as status, m.progress, m.error,
          m.width, m.height, m.duration_s, m.renditions, m.updated_at as media_updated_at
          from page left join lateral (select * from media_asset ma where ma.entry_id = page.entry_id
          order by ma.created_at limit 1) m on true"
    after=$(sql -c "select pos || ', ''' || entry_id || '''' from entry_shuffle where contest_id = $cid and k = 3 order by pos offset 1000 limit 1")
    for q in \
        "random, page 1|$head s.pos from entry_shuffle s join entry e on e.entry_id = s.entry_id $joins
          where e.status = 'approved' and e.contest_id = $cid and s.contest_id = $cid and s.k = 3
          order by s.pos, s.entry_id limit 25) $tail order by page.pos, page.entry_id" \
        "random, page 42|$head s.pos from entry_shuffle s join entry e on e.entry_id = s.entry_id $joins
          where e.status = 'approved' and e.contest_id = $cid and s.contest_id = $cid and s.k = 3
          and (s.pos, s.entry_id) > ($after) order by s.pos, s.entry_id limit 25) $tail order by page.pos, page.entry_id" \
        "number order, after 1000|$head null::int4 as pos from entry e $joins
          where e.status = 'approved' and e.contest_id = $cid and e.number > 1000
          order by e.number limit 25) $tail order by page.number" \
        "search 'a7c3' (title or author), newest|$head null::int4 as pos from entry e $joins
          where e.status = 'approved' and e.contest_id = $cid and (e.title ilike '%a7c3%'
          or e.author_id in (select app_user_id from app_user where display_name ilike '%a7c3%'))
          order by e.number desc limit 25) $tail order by page.number desc" \
        "search '0142' (number or title), random|$head s.pos from entry_shuffle s join entry e on e.entry_id = s.entry_id $joins
          where e.status = 'approved' and e.contest_id = $cid and s.contest_id = $cid and s.k = 3
          and (e.title ilike '%0142%' or e.number = 142)
          order by (e.number = 142) desc, s.pos, s.entry_id limit 25) $tail order by (page.number = 142) desc, page.pos, page.entry_id"
    do
        echo
        echo "EXPLAIN ANALYZE — ${q%%|*}:"
        echo '```'
        sql -c "explain (analyze, costs off, timing on, summary on) ${q#*|}" | grep -E 'Index|Scan|Limit|Sort|Execution|Planning|Rows Removed' | head -30
        echo '```'
    done
fi

# Votes: every request a distinct (voter, entry) pair (api_votes.lua).
# Each thread counts i = id-1, id-1+T, id-1+2T, …: no two requests share a pair.
threads=2
stored() {
    sql -c "select count(*) from vote v join contest c using (contest_id) where c.slug = 'bench-gallery' and v.valid"
}
field() { sed -E "s/.* $1=([^ ]*).*/\1/" <<<" $2"; }
per_second() { awk -v c="$1" -v s="$2" 'BEGIN {printf "%d", c / s}'; }
failed=()

echo
echo "### Votes: $VOTE_CONNECTIONS connections, ${VOTE_SECONDS} s each, distinct voters, API then entry pages"
echo

# 1. The API: bearer tokens, 201 Created.
out=$(ENTRIES_FILE=$data/entries.txt VOTERS=$VOTERS THREADS=$threads wrk -t$threads -c"$VOTE_CONNECTIONS" -d"${VOTE_SECONDS}s" \
    --latency -s "$root/services/web/bench/api_votes.lua" "$base")
result=$(grep '^RESULT' <<<"$out")
api_created=$(field created "$result")
api_other=$(field other "$result")
api_seconds=$(field seconds "$result")
api_p50=$(field p50 "$result")
api_p99=$(field p99 "$result")
# The batcher commits within milliseconds; give in-flight batches time to land.
sleep 3
api_rows=$(stored)
api_inflight=$((api_rows - api_created))

# 2. The entry page's vote button: the voter's session cookie and one CSRF token, read from
# the cookie an entry page sets (the token is signed, not bound to a session, so every
# simulated browser may carry the same one). Entries from the other end of the list: pairs
# the API run did not use.
curl -fs -c "$data/jar" -o /dev/null "$base/entries/$entry"
csrf=$(awk '$6 == "hoithi-csrf" {print $7}' "$data/jar")
[[ -n "$csrf" ]] || { echo "the entry page set no hoithi-csrf cookie" >&2; cat "$data/jar" >&2; exit 1; }
page_vote() {
    ENTRIES_FILE=$data/entries.txt VOTERS=$VOTERS THREADS=$threads CSRF=$csrf CSRF_COOKIE=hoithi-csrf \
        SESSION_COOKIE=hoithi wrk -t$threads -c"$VOTE_CONNECTIONS" -d"$1" --latency \
        -s "$root/services/web/bench/entry_votes.lua" "$base" | grep '^RESULT'
}
result=$(page_vote "${VOTE_SECONDS}s")
page_counted=$(field counted "$result")
page_refused=$(field refused "$result")
page_other=$(field other "$result")
page_wrong=$(field wrong_place "$result")
page_seconds=$(field seconds "$result")
page_p50=$(field p50 "$result")
page_p99=$(field p99 "$result")
page_why=$(field why "$result")
sleep 3
page_rows=$(($(stored) - api_rows))
page_inflight=$((page_rows - page_counted))

# 3. The counter must tell a refusal from a vote, as the page does (both are 303s to the entry):
# the same requests again for 2 s (each thread replays the start of its sequence, pairs that
# have voted today) must all be refused, counted 0, and store nothing.
before=$(stored)
replay=$(page_vote 2s)
sleep 2
replay_counted=$(field counted "$replay")
replay_refused=$(field refused "$replay")
replay_why=$(field why "$replay")
replay_rows=$(($(stored) - before))

tally=$(sql -c "select coalesce(sum(t.votes), 0) from vote_tally t join contest c using (contest_id) where c.slug = 'bench-gallery'")
rows=$(stored)

echo "| vote path | votes answered (201, or 303 with the note \"counted\") | refused | other answers | votes/s | p50 ms | p99 ms | stored votes of the run | stored − answered (in flight at wrk's end, ≤ $VOTE_CONNECTIONS) |"
echo "|---|---|---|---|---|---|---|---|---|"
echo "| API \`POST /api/v1/entries/{id}/votes\` (bearer token) | $api_created | – | $api_other | $(per_second "$api_created" "$api_seconds") | $api_p50 | $api_p99 | $api_rows | $api_inflight |"
echo "| entry page \`POST /entries/{id}/vote\` (session cookie, CSRF token, 303) | $page_counted | $page_refused | $page_other | $(per_second "$page_counted" "$page_seconds") | $page_p50 | $page_p99 | $page_rows | $page_inflight |"
echo
echo "Refusals the entry-page run saw: $page_refused (first note: $page_why); 303s not back to their entry: $page_wrong."
echo "Replay of the entry-page run's first pairs for 2 s: $replay_refused refused (first note: $replay_why), $replay_counted counted, $replay_rows stored."
echo "Both runs: $rows stored votes, tally sum $tally: tally = stored $([[ $tally == "$rows" ]] && echo yes || echo NO)."

HOITHI_DATA=$data "$bin" admin check-tallies --contest bench-gallery >&2 || failed+=("check-tallies found a difference")
[[ $tally == "$rows" ]] || failed+=("tally sum $tally ≠ stored votes $rows")
for run in api page; do
    inflight_var=${run}_inflight
    inflight=${!inflight_var}
    if ((inflight < 0 || inflight > VOTE_CONNECTIONS)); then
        failed+=("$run run: stored − answered = $inflight, outside 0..$VOTE_CONNECTIONS")
    fi
done
((page_refused == 0 && page_other == 0 && page_wrong == 0)) ||
    failed+=("entry-page run: $page_refused refused, $page_other other answers, $page_wrong elsewhere")
((replay_counted == 0 && replay_rows == 0 && replay_refused > 0)) ||
    failed+=("replay: $replay_counted counted, $replay_rows stored, $replay_refused refused (expected 0, 0, > 0)")
[[ $replay_why == *":entry-vote.limit-day:"* ]] || failed+=("replay's refusal note was $replay_why")
for run in api page; do
    rows_var=${run}_rows
    seconds_var=${run}_seconds
    rate=$(per_second "${!rows_var}" "${!seconds_var}")
    ((rate >= GOAL_VOTES)) || failed+=("$run run stored $rate votes/s, below the goal of $GOAL_VOTES")
done

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)."
if ((${#failed[@]})); then
    printf 'FAILED: %s\n' "${failed[@]}" >&2
    exit 1
fi
