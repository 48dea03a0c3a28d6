#!/usr/bin/env bash
# Lighthouse (mobile preset, Debian's chromium) on the home, contest and entry pages of a site
# made from nothing: `hoithi serve` with its embedded PostgreSQL and S3 in a fresh data folder,
# a contest, a photo and a 4-second video entered through the tus API, processed by the real
# worker and approved by the organizer. Prints one line of scores per page; the JSON reports go
# to $OUT (default ./lighthouse-reports).
#
#   HOITHI=target/debug/hoithi LIGHTHOUSE=/path/to/node_modules/.bin/lighthouse infra/lighthouse.sh
#
# Needs: ffmpeg, curl, python3, chromium, and npm's lighthouse (12.x runs on Node 20).
set -euo pipefail

HOITHI=${HOITHI:-target/debug/hoithi}
LIGHTHOUSE=${LIGHTHOUSE:-lighthouse}
PORT=${PORT:-18081}
OUT=${OUT:-$PWD/lighthouse-reports}
BASE="http://127.0.0.1:$PORT"
WORK=$(mktemp -d)
# The embedded PostgreSQL runs as its own user, which must be able to enter the folder.
chmod 755 "$WORK"
mkdir -p "$OUT"
export HOITHI_DATA="$WORK/data" HOITHI_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
unset DATABASE_URL S3_ENDPOINT S3_BUCKET S3_ACCESS_KEY_ID S3_SECRET_ACCESS_KEY

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
b64() { printf '%s' "$1" | base64 -w0; }

"$HOITHI" serve > "$WORK/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
  curl -fs "$BASE/readyz" > /dev/null && break
  kill -0 $SERVER 2>/dev/null || { cat "$WORK/serve.log"; exit 1; }
  sleep 0.2
done

printf 'hcm,Thành Đoàn TP.HCM,\n' > "$WORK/units.csv"
"$HOITHI" admin import-units "$WORK/units.csv"
"$HOITHI" admin create-user --email btc@example.vn --password 'mật khẩu ban tổ chức' --name 'Ban tổ chức' --role organizer --unit hcm
"$HOITHI" admin create-user --email hoa@example.vn --password 'mật khẩu thành viên' --name 'Nguyễn Thị Hoa' --unit hcm
cat > "$WORK/contest.toml" <<EOF
slug = "anh-dep"
title = "Ảnh đẹp tuổi trẻ 2026"
unit = "hcm"
description = "Chia sẻ khoảnh khắc đẹp của tuổi trẻ."
rules = "Mỗi đoàn viên gửi tối đa hai bài."
kinds = ["photo", "video"]
[limits]
max_entries_per_member = 2
[phases.submission]
opens_at = "$(date -u -d '-1 hour' +%FT%TZ)"
closes_at = "$(date -u -d '+7 days' +%FT%TZ)"
EOF
"$HOITHI" admin create-contest --file "$WORK/contest.toml"

login() { curl -fs "$BASE/api/v1/auth/login" -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" | json "['token']"; }
MEMBER=$(login hoa@example.vn 'mật khẩu thành viên')
ORGANIZER=$(login btc@example.vn 'mật khẩu ban tổ chức')

ffmpeg -v error -y -f lavfi -i testsrc=size=1600x1200:rate=1 -frames:v 1 "$WORK/photo.jpg"
ffmpeg -v error -y -f lavfi -i testsrc2=size=1280x720:rate=30:duration=4 -f lavfi -i sine=duration=4 \
  -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest "$WORK/video.mp4"

# Enters FILE as a new entry titled TITLE through tus; prints the entry id.
enter() {
  local title=$1 file=$2 type=$3 id location
  id=$(curl -fs "$BASE/api/v1/contests/anh-dep/entries" -H "authorization: Bearer $MEMBER" \
    -H 'content-type: application/json' -d "{\"title\":\"$title\",\"description\":\"Bài dự thi đo bằng Lighthouse.\"}" | json "['id']")
  location=$(curl -fs -o /dev/null -D - "$BASE/api/v1/uploads" -H "authorization: Bearer $MEMBER" \
    -H 'tus-resumable: 1.0.0' -H "upload-length: $(stat -c %s "$file")" \
    -H "upload-metadata: entry_id $(b64 "$id"),filename $(b64 "$(basename "$file")"),filetype $(b64 "$type")" \
    -X POST | tr -d '\r' | awk 'tolower($1)=="location:"{print $2}')
  curl -fs -X PATCH "$BASE$location" -H "authorization: Bearer $MEMBER" -H 'tus-resumable: 1.0.0' \
    -H 'upload-offset: 0' -H 'content-type: application/offset+octet-stream' --data-binary "@$file" > /dev/null
  echo "$id"
}
PHOTO=$(enter 'Bình minh trên sông' "$WORK/photo.jpg" image/jpeg)
VIDEO=$(enter 'Sông nước miền Tây' "$WORK/video.mp4" video/mp4)
for id in "$PHOTO" "$VIDEO"; do
  for _ in $(seq 1 600); do
    status=$(curl -fs "$BASE/api/v1/entries/$id" -H "authorization: Bearer $MEMBER" | json "['status']")
    [ "$status" = pending_review ] && break
    sleep 0.5
  done
  curl -fs "$BASE/api/v1/entries/$id/review" -H "authorization: Bearer $ORGANIZER" \
    -H 'content-type: application/json' -d '{"decision":"approve"}' > /dev/null
done

export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
for page in home:/ contest:/contests/anh-dep entry-video:/entries/$VIDEO entry-photo:/entries/$PHOTO; do
  name=${page%%:*}
  "$LIGHTHOUSE" "$BASE${page#*:}" --quiet --only-categories=performance,accessibility \
    --chrome-flags='--headless --no-sandbox --disable-gpu' --output=json --output-path="$OUT/$name.json"
  python3 - "$OUT/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c, a = r["categories"], r["audits"]
print(f'{sys.argv[2]:12} performance {round(c["performance"]["score"] * 100):3}  accessibility {round(c["accessibility"]["score"] * 100):3}'
      f'  LCP {a["largest-contentful-paint"]["displayValue"]}  TBT {a["total-blocking-time"]["displayValue"]}'
      f'  CLS {a["cumulative-layout-shift"]["displayValue"]}  transfer {a["total-byte-weight"]["numericValue"] / 1024:.0f} KiB')
PY
done
