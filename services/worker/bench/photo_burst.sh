#!/usr/bin/env bash
# Photo burst row of docs/benchmarks.md: a contest's last evening. PHOTOS 12 MP JPEGs
# (4000×3000; a few distinct pictures made with ffmpeg, each upload's bytes made unique by a
# JPEG comment) are uploaded through tus by a standard client (tuspy, UPLOADERS at once) to one
# `hoithi serve --roles web,upload,worker` (release build, embedded PostgreSQL and S3, the
# worker's default concurrency), and the time until every photo is ready is measured, while
# wrk reads a gallery page of another contest (500 approved entries) at a paced rate: its p99
# idle (before the burst) against during the burst (uploads and processing).
#
#   services/worker/bench/photo_burst.sh
#
# Needs: cargo, psql, curl, ffmpeg, wrk, python3 with venv. Settings (environment): PHOTOS
# (300), UPLOADERS (4), DISTINCT (4 pictures), PAGE_CONNECTIONS (4), PAGE_DELAY_MS (50 between
# a connection's requests: ≤ 80 pages/s), IDLE_SECONDS (20), HOITHI_BIN=path, VENV (a venv with
# tuspy), KEEP=1, and any HOITHI_* setting passed through to the server
# (e.g. HOITHI_WORKER_CONCURRENCY).
# The ready time of 2,000 photos is extrapolated from PHOTOS at the measured processing rate
# when PHOTOS < 2000; the script prints it as such.
set -euo pipefail

PHOTOS=${PHOTOS:-300}
UPLOADERS=${UPLOADERS:-4}
DISTINCT=${DISTINCT:-4}
PAGE_CONNECTIONS=${PAGE_CONNECTIONS:-4}
PAGE_DELAY_MS=${PAGE_DELAY_MS:-50}
IDLE_SECONDS=${IDLE_SECONDS:-20}

source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
bench_init cargo psql curl ffmpeg wrk python3
bench_venv tusclient
bench_data burst
bench_on_exit() { [[ -n "${pager:-}" ]] && kill "$pager" 2>/dev/null || true; }
bench_start_server web,upload,worker

echo "== seeding a gallery of 500 approved entries and $PHOTOS draft entries to upload into" >&2
sql <<SQL
insert into app_user (email, display_name, password_hash, email_verified_at)
values ('uploader@bench.vn', 'Người tải lên', 'x', now());
insert into api_token (token_hash, app_user_id, expires_at)
select sha256(convert_to('bu1', 'UTF8')), app_user_id, now() + interval '1 day'
from app_user where email = 'uploader@bench.vn';
insert into contest (slug, title, submission_opens_at, submission_closes_at, voting_opens_at, voting_closes_at)
values ('bench-gallery', 'Hội thi cấp tỉnh', now() - interval '10 days', now() - interval '2 days',
        now() - interval '1 hour', now() + interval '1 day');
insert into entry (contest_id, author_id, title, description, status)
select (select contest_id from contest where slug = 'bench-gallery'),
       (select app_user_id from app_user where email = 'uploader@bench.vn'), 'Tác phẩm ' || g, 'Mô tả', 'approved'
from generate_series(1, 500) g;
insert into media_asset (entry_id, kind, status, progress, original_key, original_bytes, original_sha256,
                         width, height, renditions)
select e.entry_id, 'photo', 'ready', 100, 'originals/' || e.entry_id, 1000000, repeat('a', 64), 4000, 3000,
       jsonb_build_object('images', jsonb_build_array(
           jsonb_build_object('width', 400, 'jpeg', 'photo-400.jpg'),
           jsonb_build_object('width', 800, 'jpeg', 'photo-800.jpg'),
           jsonb_build_object('width', 1600, 'jpeg', 'photo-1600.jpg')))
from entry e join contest c using (contest_id) where c.slug = 'bench-gallery';
insert into contest (slug, title, kinds, submission_opens_at, submission_closes_at)
values ('bench-burst', 'Ảnh đêm cuối', '{photo}', now() - interval '1 hour', now() + interval '7 days');
insert into entry (contest_id, author_id, title, description)
select (select contest_id from contest where slug = 'bench-burst'),
       (select app_user_id from app_user where email = 'uploader@bench.vn'), 'Ảnh ' || g, 'Mô tả'
from generate_series(1, $PHOTOS) g;
analyze;
SQL
sql -c "select entry_id from entry e join contest c using (contest_id) where c.slug = 'bench-burst'" >"$data/entries.txt"

echo "== making $DISTINCT distinct 12 MP JPEGs" >&2
for i in $(seq 1 "$DISTINCT"); do
    ffmpeg -hide_banner -loglevel error -y -f lavfi \
        -i "testsrc2=size=4000x3000,noise=alls=$((6 + 3 * i)):allf=t+u,hue=h=$((i * 40))" \
        -frames:v 1 -q:v 3 "$data/photo$i.jpg"
done
photo_bytes=$(stat -c %s "$data"/photo*.jpg | awk '{s += $1} END {printf "%.1f", s / NR / 1e6}')

cat >"$data/page.lua" <<LUA
function delay() return $PAGE_DELAY_MS end
LUA
page_p99() {  # page_p99 <seconds>: "p50 p99 requests/s non-2xx" of the gallery page
    local out
    out=$(wrk -t1 -c"$PAGE_CONNECTIONS" -d"${1}s" --latency -s "$data/page.lua" "$base/contests/bench-gallery")
    printf '%s %s %s %s\n' "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
        "$(awk '/Requests\/sec/ {print $2}' <<<"$out")" "$(awk '/Non-2xx/ {print $4}' <<<"$out" | grep . || echo 0)"
}
curl -fs -o /dev/null "$base/contests/bench-gallery"
idle_load=$(cut -d' ' -f1 /proc/loadavg)
read -r idle_p50 idle_p99 idle_rps idle_bad < <(page_p99 "$IDLE_SECONDS")

cat >"$data/burst.py" <<'PY'
import io, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from tusclient import client
base, entries_file, uploaders, distinct, folder = sys.argv[1:6]
entries = open(entries_file).read().split()
pictures = [open(f"{folder}/photo{i}.jpg", "rb").read() for i in range(1, int(distinct) + 1)]
def one(n):
    pic = pictures[n % len(pictures)]
    # A JPEG comment (COM segment) right after SOI: other bytes, the same picture.
    note = f"burst photo {n}".encode()
    body = pic[:2] + b"\xff\xfe" + (len(note) + 2).to_bytes(2, "big") + note + pic[2:]
    c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer bu1"})
    up = c.uploader(file_stream=io.BytesIO(body), chunk_size=8 * 1024 * 1024,
                    metadata={"entry_id": entries[n], "filename": f"IMG_{n:04d}.jpg", "filetype": "image/jpeg"})
    up.upload()
    assert up.offset == len(body)
with ThreadPoolExecutor(int(uploaders)) as pool:
    list(pool.map(one, range(len(entries))))
PY

ready() {
    sql -c "select count(*) filter (where m.status = 'ready'), count(*) filter (where m.status = 'failed')
            from media_asset m join entry e using (entry_id) join contest c using (contest_id) where c.slug = 'bench-burst'"
}
# The gallery page is read throughout the burst, 10 s windows, p99 of each kept.
(
    while true; do
        printf '%s %s\n' "$(cut -d' ' -f1 /proc/loadavg)" "$(page_p99 10)" >>"$data/burst_pages.txt"
    done
) &
pager=$!
burst_load=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s.%N)
"$venv/bin/python" "$data/burst.py" "$base" "$data/entries.txt" "$UPLOADERS" "$DISTINCT" "$data"
uploaded=$(date +%s.%N)
ready_at_upload_end=$(ready | cut -d'|' -f1)
while true; do
    IFS='|' read -r done failed < <(ready)
    ((done + failed >= PHOTOS)) && break
    kill -0 "$server" 2>/dev/null || { echo "server died" >&2; tail -20 "$data/serve.log" >&2; exit 1; }
    sleep 1
done
finished=$(date +%s.%N)
kill "$pager" 2>/dev/null || true
wait "$pager" 2>/dev/null || true
pager=

upload_s=$(awk -v a="$start" -v b="$uploaded" 'BEGIN {printf "%.1f", b - a}')
after_s=$(awk -v a="$uploaded" -v b="$finished" 'BEGIN {printf "%.1f", b - a}')
total_s=$(awk -v a="$start" -v b="$finished" 'BEGIN {printf "%.1f", b - a}')
# Processing rate after the uploads ended (photos still queued then, over the time they took).
rate=$(awk -v n="$((PHOTOS - ready_at_upload_end))" -v s="$after_s" 'BEGIN {printf "%.2f", n / s}')
per_photo=$(awk -v n="$PHOTOS" -v s="$total_s" 'BEGIN {printf "%.3f", s / n}')
extrapolated=$(awk -v r="$rate" 'BEGIN {printf "%.0f", 2000 / r}')
worst=$(sort -k3 -g "$data/burst_pages.txt" | tail -1)
# wrk prints p99 with its unit; the windows' p99s, in order:
windows=$(awk '{printf "%s%s", sep, $3; sep=" "}' "$data/burst_pages.txt")
cpu=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$server/stat")

echo "### Photo burst: $PHOTOS photos of 12 MP (JPEG, $photo_bytes MB on average), $UPLOADERS tuspy uploaders, worker concurrency ${HOITHI_WORKER_CONCURRENCY:-default}"
echo
echo "| measure | value |"
echo "|---|---|"
echo "| uploads (all $PHOTOS through tus) | $upload_s s |"
echo "| ready when the uploads ended | $ready_at_upload_end of $PHOTOS |"
echo "| from the uploads' end until all ready | $after_s s |"
echo "| failed | $failed |"
echo "| processing rate after the uploads | $rate photos/s |"
echo "| 2,000 photos at that rate (extrapolated unless PHOTOS = 2000) | $extrapolated s |"
echo "| gallery page idle (load $idle_load): p50 / p99 / req/s | $idle_p50 / $idle_p99 / $idle_rps ($idle_bad non-2xx) |"
echo "| gallery page during the burst, p99 of each 10 s window | $windows |"
echo "| worst window (load, p50, p99, req/s, non-2xx) | $worst |"
echo
echo "Load average at the burst's start $burst_load; server process CPU ticks (utime+stime+children) $cpu."
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); binary $bin; commit $(git rev-parse --short HEAD)."
((failed == 0)) || { echo "FAILED: $failed photos failed" >&2; exit 1; }
