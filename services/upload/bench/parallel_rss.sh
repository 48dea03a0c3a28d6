#!/usr/bin/env bash
# Upload memory row of docs/benchmarks.md: PARALLEL members (20) each send a 1 GiB video at
# the same moment with tuspy (the Python tus client, unmodified; 8 MiB chunks, one PATCH per
# chunk) to one `hoithi serve --roles upload` (release build, embedded PostgreSQL and S3, a
# temporary data folder). The server's resident memory (VmRSS) is sampled every half second
# from before the first byte to after the last upload ends; the script prints it by tenth of
# the bytes received, its peak, and checks that every upload was stored whole (SHA-256).
# "Flat": the peak must not grow with the bytes sent. The bound checked is the one of
# tests/upload_load.rs: 3 buffers of a part (8 MiB) per upload in flight plus 192 MiB.
#
#   services/upload/bench/parallel_rss.sh
#
# Needs: cargo, psql, curl, python3 with venv. Settings (environment): PARALLEL (20), SIZE_MIB
# (1024), CHUNK_MIB (8), HOITHI_BIN=path (else cargo build --release -p hoithi), VENV, KEEP=1.
# The data folder needs PARALLEL × SIZE_MIB of free disk (the stored originals).
set -euo pipefail

PARALLEL=${PARALLEL:-20}
SIZE_MIB=${SIZE_MIB:-1024}
CHUNK_MIB=${CHUNK_MIB:-8}

source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
bench_init cargo psql curl python3
bench_venv tusclient
bench_data upload-rss
bench_start_server upload

# PARALLEL members, each with an API token (`bu<n>`) and a draft entry of an open video
# contest that takes files up to 2 GiB.
sql <<SQL
insert into contest (slug, title, kinds, submission_opens_at, submission_closes_at, max_video_bytes)
values ('bench-rss', 'Hội thi tải lên', '{video}', now() - interval '1 hour', now() + interval '7 days',
        2 * 1024 * 1024 * 1024::int8);
insert into app_user (email, display_name, password_hash, email_verified_at)
select 'u' || g || '@bench.vn', 'Thành viên ' || g, 'x', now() from generate_series(1, $PARALLEL) g;
insert into api_token (token_hash, app_user_id, expires_at)
select sha256(convert_to('bu' || substr(u.email, 2, position('@' in u.email) - 2), 'UTF8')),
       u.app_user_id, now() + interval '1 day'
from app_user u where u.email like 'u%@bench.vn';
insert into entry (contest_id, author_id, title, description)
select (select contest_id from contest where slug = 'bench-rss'), u.app_user_id, 'Bài ' || u.app_user_id, 'Mô tả'
from app_user u where u.email like 'u%@bench.vn';
SQL
sql -c "select substr(u.email, 2, position('@' in u.email) - 2) || ' ' || e.entry_id
        from entry e join app_user u on u.app_user_id = e.author_id
        join contest c using (contest_id) where c.slug = 'bench-rss' order by 1" >"$data/members.txt"

echo "== making a ${SIZE_MIB} MiB file" >&2
bench_random_mp4 "$data/clip.mp4" $((SIZE_MIB * 1024 * 1024))

echo "### Upload memory: $PARALLEL tuspy clients at once, ${SIZE_MIB} MiB each, ${CHUNK_MIB} MiB chunks"
"$venv/bin/python" - "$base" "$server" "$data/clip.mp4" "$data/members.txt" "$CHUNK_MIB" <<'PY'
import os, sys, threading, time
from tusclient import client

base, pid, path, members_file, chunk_mib = sys.argv[1:6]
chunk = int(chunk_mib) * 1024 * 1024
members = [line.split() for line in open(members_file) if line.strip()]
size = os.path.getsize(path)
total = size * len(members)
sent = [0] * len(members)
errors = []

def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024

def upload(i, token, entry):
    try:
        c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": f"Bearer bu{token}"})
        up = c.uploader(path, chunk_size=chunk,
                        metadata={"entry_id": entry, "filename": "clip.mp4", "filetype": "video/mp4"})
        while up.offset < size:
            up.upload_chunk()
            sent[i] = up.offset
    except Exception as e:  # reported below; the run fails
        errors.append(f"member {token}: {e!r}")

samples = [(0.0, 0, rss())]
threads = [threading.Thread(target=upload, args=(i, t, e)) for i, (t, e) in enumerate(members)]
start = time.monotonic()
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    time.sleep(0.5)
    samples.append((time.monotonic() - start, sum(sent), rss()))
took = time.monotonic() - start
time.sleep(2)
samples.append((time.monotonic() - start, sum(sent), rss()))

print(f"{len(members)} uploads of {size / 2**20:.0f} MiB in {took:.1f} s: {total / took / 1e6:.1f} MB/s together")
print("| bytes received | server RSS, highest in that tenth (MiB) |")
print("|---|---|")
for tenth in range(10):
    lo, hi = total * tenth / 10, total * (tenth + 1) / 10
    inside = [r for _, b, r in samples if lo <= b < hi or (tenth == 9 and b >= hi)]
    print(f"| {tenth * 10}–{tenth * 10 + 10} % | {max(inside) if inside else '–'} |")
peak = max(r for _, _, r in samples)
bound = len(members) * 3 * int(chunk_mib) + 192
print(f"RSS before the first byte {samples[0][2]} MiB, peak {peak} MiB, 2 s after the end {samples[-1][2]} MiB; "
      f"bound {bound} MiB ({len(members)} × 3 × {chunk_mib} + 192)")
for e in errors:
    print("FAILED:", e, file=sys.stderr)
if errors or peak > bound:
    sys.exit(1)
PY
want=$(sha256sum "$data/clip.mp4" | cut -d' ' -f1)
got=$(sql -c "select count(*) from media_asset m join entry e using (entry_id) join contest c using (contest_id)
              where c.slug = 'bench-rss' and m.original_bytes = $((SIZE_MIB * 1024 * 1024)) and m.original_sha256 = '$want'")
echo "Uploads recorded whole with the file's SHA-256: $got of $PARALLEL"
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); binary $bin; commit $(git rev-parse --short HEAD)."
[[ $got == "$PARALLEL" ]] || { echo "FAILED: $got of $PARALLEL uploads recorded whole" >&2; exit 1; }
