#!/usr/bin/env bash
# Media worker benchmarks: `hoithi media-job` (release build) against the ffmpeg CLI making
# the same ladder from one decode + split, and against vipsthumbnail for the photo set.
#   services/worker/bench/run.sh [path/to/release/hoithi]
# Prints wall-clock seconds of each run (best of $RUNS runs, default 1). Needs ffmpeg and libvips-tools.
set -euo pipefail
BIN="${1:-${CARGO_TARGET_DIR:-/var/cache/hoithi/target}/release/hoithi}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

best_of() {  # best_of <label> <command...>
  local label="$1"; shift
  local best=""
  for _ in $(seq "${RUNS:-1}"); do
    rm -rf out && mkdir out
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>err.log || { cat err.log >&2; exit 1; }
    t1=$(date +%s.%N)
    local t; t=$(echo "$t1 - $t0" | bc)
    if [ -z "$best" ] || (( $(echo "$t < $best" | bc) )); then best=$t; fi
  done
  printf '%-40s %8.2f s\n' "$label" "$best"
}

cli_ladder() {  # The same rungs and encoder settings as services/worker/src/video.rs.
  local in="$1"
  mkdir -p out/360p out/480p out/720p out/1080p
  local x264=(-c:v libx264 -preset veryfast -crf 23 -profile:v high -pix_fmt yuv420p
    -force_key_frames 'expr:gte(t,n_forced*2)' -forced-idr 1
    -x264-params scenecut=0:open-gop=0:keyint=1000:min-keyint=1 -c:a aac -b:a 64k -ar 48000 -ac 2)
  local hls=(-f hls -hls_time 4 -hls_playlist_type vod -hls_list_size 0 -hls_segment_type fmp4
    -hls_fmp4_init_filename init.mp4 -hls_flags independent_segments)
  ffmpeg -hide_banner -loglevel error -y -i "$in" -filter_complex \
    "[0:v]split=4[a][b][c][d];[a]scale=640:360:flags=bicubic[v360];[b]scale=854:480:flags=bicubic[v480];[c]scale=1280:720:flags=bicubic[v720];[d]scale=1920:1080:flags=bicubic[v1080]" \
    -map '[v360]' -map 0:a "${x264[@]}" -maxrate 300k -bufsize 600k "${hls[@]}" -hls_segment_filename out/360p/seg_%04d.m4s out/360p/index.m3u8 \
    -map '[v480]' -map 0:a "${x264[@]}" -maxrate 600k -bufsize 1200k "${hls[@]}" -hls_segment_filename out/480p/seg_%04d.m4s out/480p/index.m3u8 \
    -map '[v720]' -map 0:a "${x264[@]}" -maxrate 1500k -bufsize 3000k -f tee \
      "[f=hls:hls_time=4:hls_playlist_type=vod:hls_list_size=0:hls_segment_type=fmp4:hls_fmp4_init_filename=init.mp4:hls_segment_filename=out/720p/seg_%04d.m4s]out/720p/index.m3u8|[f=mp4:movflags=+faststart]out/video.mp4" \
    -map '[v1080]' -map 0:a "${x264[@]}" -maxrate 3000k -bufsize 6000k "${hls[@]}" -hls_segment_filename out/1080p/seg_%04d.m4s out/1080p/index.m3u8
}

for secs in 30 60; do
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$secs,noise=alls=8:allf=t" \
    -f lavfi -i "sine=frequency=440:duration=$secs" \
    -c:v libx264 -preset veryfast -b:v 12M -pix_fmt yuv420p -c:a aac -shortest "clip$secs.mp4"
  best_of "ladder ${secs}s 1080p: hoithi media-job" \
    env -i "$BIN" media-job --input "clip$secs.mp4" --output out --kind video
  best_of "ladder ${secs}s 1080p: ffmpeg CLI split" cli_ladder "clip$secs.mp4"
done

# 12 MP photo (4000×3000), noisy so the JPEG is realistic.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=4000x3000,noise=alls=20:allf=t" \
  -frames:v 1 -q:v 3 photo.jpg
best_of "photo 12 MP: hoithi media-job" \
  env -i "$BIN" media-job --input photo.jpg --output out --kind photo
vips_set() {
  for w in 1600 800 400; do
    vipsthumbnail photo.jpg --size "${w}x" --export-profile srgb -o "out/p$w.jpg[Q=82,strip]"
    vipsthumbnail photo.jpg --size "${w}x" --export-profile srgb -o "out/p$w.webp[Q=78,strip]"
  done
}
best_of "photo 12 MP: vipsthumbnail (6 files)" vips_set
