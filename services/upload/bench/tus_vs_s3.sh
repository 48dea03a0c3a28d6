#!/usr/bin/env bash
# Upload row of docs/benchmarks.md: the same file (240 MB by default) sent by clients we did
# not write, to one `hoithi serve --roles upload` (release build, embedded PostgreSQL and S3,
# a temporary data folder), both sides in the same run, interleaved:
#   - tus: tuspy (the Python tus client, unmodified) with 8 MiB chunks, one PATCH per chunk,
#     into POST/PATCH /api/v1/uploads; the time includes creation and completion (the media
#     asset, its job and the entry status);
#   - S3: boto3's multipart upload (upload_file, 8 MiB parts, one stream: max_concurrency=1)
#     to the same server's embedded S3 endpoint (the store the tus service writes to).
#
#   services/upload/bench/tus_vs_s3.sh
#
# Needs: cargo, psql, curl, ss, python3 with venv. Settings (environment): SIZE_MB (240),
# RUNS (2 per side), CHUNK_MIB (8: tuspy's chunk size and boto3's part size), HOITHI_BIN=path
# (else builds with cargo build --release -p hoithi), VENV (folder of a venv with tuspy and
# boto3; made with pip on first use), KEEP=1 keeps the data folder.
# Prints every run (seconds, MB/s, server RSS at its end, load average at its start), the best
# of each side, the ratio tus/S3 of the best rates, and the server's peak RSS (VmHWM).
set -euo pipefail

SIZE_MB=${SIZE_MB:-240}
RUNS=${RUNS:-2}
CHUNK_MIB=${CHUNK_MIB:-8}

source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
bench_init cargo psql curl ss python3
bench_venv tusclient boto3
bench_data upload
bench_start_server upload
# The embedded S3 endpoint listens on a port of its own, picked at start.
s3port=$(ss -ltnpH | grep "pid=$server," | awk '{print $4}' | sed 's/.*://' | grep -vx "$port" | head -1)
[[ -n "$s3port" ]] || { echo "cannot find the embedded S3 endpoint's port" >&2; exit 1; }

# One member with an API token (`bu1`, stored as its sha256), an open video contest, and a
# draft entry per tus run.
sql <<SQL
insert into app_user (email, display_name, password_hash, email_verified_at)
values ('uploader@bench.vn', 'Người tải lên', 'x', now());
insert into api_token (token_hash, app_user_id, expires_at)
select sha256(convert_to('bu1', 'UTF8')), app_user_id, now() + interval '1 day'
from app_user where email = 'uploader@bench.vn';
insert into contest (slug, title, kinds, submission_opens_at, submission_closes_at)
values ('bench-upload', 'Hội thi tải lên', '{video}', now() - interval '1 hour', now() + interval '7 days');
insert into entry (contest_id, author_id, title, description)
select (select contest_id from contest where slug = 'bench-upload'),
       (select app_user_id from app_user where email = 'uploader@bench.vn'), 'Bài ' || g, 'Mô tả'
from generate_series(1, $RUNS + 4) g;
SQL
sql -c "select entry_id from entry e join contest c using (contest_id) where c.slug = 'bench-upload'" >"$data/entries.txt"

cat >"$data/bench.py" <<'PY'
import hashlib, json, os, sys, threading, time
import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from tusclient import client

base, pid, s3_endpoint, creds_file, path, entries_file, runs, chunk_mib = sys.argv[1:9]
runs, chunk = int(runs), int(chunk_mib) * 1024 * 1024
entries = open(entries_file).read().split()
size = os.path.getsize(path)
creds = json.load(open(creds_file))
s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                  aws_access_key_id=creds["access_key_id"],
                  aws_secret_access_key=creds["secret_access_key"],
                  config=Config(s3={"addressing_style": "path"}))
transfer = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk,
                          max_concurrency=1, use_threads=False)

def status(field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024

def load():
    return open("/proc/loadavg").read().split()[0]

def tus(n):
    c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer bu1"})
    up = c.uploader(path, chunk_size=chunk,
                    metadata={"entry_id": entries[n], "filename": "clip.mp4", "filetype": "video/mp4"})
    up.upload()
    assert up.offset == size, (up.offset, size)

def s3_multipart(n):
    key = f"bench/boto3-{n}"
    s3.upload_file(path, "hoithi", key, Config=transfer)
    assert s3.head_object(Bucket="hoithi", Key=key)["ContentLength"] == size

best = {}
def timed(label, f, n):
    l = load()
    t = time.monotonic()
    f(n)
    s = time.monotonic() - t
    rate = size / s / 1e6
    print(f"{label:44s} {s:7.2f} s  {rate:6.1f} MB/s  server RSS {status('VmRSS'):4d} MiB  load {l}", flush=True)
    best[label] = max(best.get(label, 0), rate)

tl = f"tus: tuspy, {chunk_mib} MiB chunks"
sl = f"S3: boto3 multipart, {chunk_mib} MiB parts, 1 stream"
for i in range(runs):
    order = [(tl, tus), (sl, s3_multipart)]
    if i % 2:
        order.reverse()
    for label, f in order:
        timed(label, f, i)
print(f"best: tus {best[tl]:.1f} MB/s, S3 {best[sl]:.1f} MB/s; ratio tus/S3 {best[tl] / best[sl]:.2f}; "
      f"server peak RSS (VmHWM) {status('VmHWM')} MiB")
PY

echo "== making a ${SIZE_MB} MB file" >&2
VENVPY=$venv/bin/python
bench_random_mp4 "$data/clip.mp4" $((SIZE_MB * 1000 * 1000))

# Before timing, the other shapes of PATCH the server must store exactly, on a 50 MB file:
# chunks of 5 and 6 MiB (one part each), 6 MiB with tuspy's sha1 Upload-Checksum (parts
# recorded only once the chunk matches), and 3 MiB chunks stopped half way and resumed by a
# new client with 7 MiB chunks (tail objects read back). Each is checked below by its SHA-256.
head -c $((50 * 1000 * 1000 + 4321)) "$data/clip.mp4" >"$data/check.mp4"
"$VENVPY" - "$base" "$data/check.mp4" "$data/entries.txt" "$RUNS" <<'PY'
import sys
from tusclient import client
base, path, entries_file, runs = sys.argv[1:5]
entries = open(entries_file).read().split()[int(runs):]
c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer bu1"})
meta = lambda n: {"entry_id": entries[n], "filename": "check.mp4", "filetype": "video/mp4"}
MIB = 1024 * 1024
for n, (chunk, checksum) in enumerate([(5 * MIB, False), (6 * MIB, False), (6 * MIB, True)]):
    c.uploader(path, chunk_size=chunk, metadata=meta(n), upload_checksum=checksum).upload()
first = c.uploader(path, chunk_size=3 * MIB, metadata=meta(3))
first.upload(stop_at=21 * MIB)
second = c.uploader(path, url=first.url, chunk_size=7 * MIB)
assert second.offset == first.offset, (second.offset, first.offset)
second.upload()
PY
check_sha=$(sha256sum "$data/check.mp4" | cut -d' ' -f1)
checked=$(sql -c "select count(*) from media_asset where original_sha256 = '$check_sha' and original_bytes = $(stat -c %s "$data/check.mp4")")
echo "Checks (5, 6, 6 MiB + checksum, 3 MiB stopped and resumed with 7 MiB chunks): $checked of 4 stored with the file's SHA-256"
[[ $checked == 4 ]] || { echo "FAILED: $checked of 4 check uploads stored whole" >&2; exit 1; }

echo "### Upload: ${SIZE_MB} MB, tus (tuspy) vs S3 multipart (boto3), $RUNS runs each, interleaved"
"$VENVPY" "$data/bench.py" "$base" "$server" "http://127.0.0.1:$s3port" "$data/s3-credentials.json" \
    "$data/clip.mp4" "$data/entries.txt" "$RUNS" "$CHUNK_MIB"
# Every tus upload must have been recorded whole, with the file's SHA-256.
want=$(sha256sum "$data/clip.mp4" | cut -d' ' -f1)
got=$(sql -c "select count(*) from media_asset m join entry e using (entry_id) join contest c using (contest_id)
              where c.slug = 'bench-upload' and m.original_bytes = $((SIZE_MB * 1000 * 1000)) and m.original_sha256 = '$want'")
echo "tus uploads recorded whole with the file's SHA-256: $got of $RUNS"
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); binary $bin; commit $(git rev-parse --short HEAD)."
[[ $got == "$RUNS" ]] || { echo "FAILED: $got of $RUNS tus uploads recorded whole" >&2; exit 1; }
