#!/usr/bin/env bash
# Media worker benchmarks: `hoithi media-job` (release build) against the ffmpeg CLI making
# the same ladder from one decode + split, and against vipsthumbnail for the photo set.
#   services/worker/bench/run.sh [path/to/release/hoithi]
# Env: RUNS (default 2) runs per side, interleaved (hoithi, CLI, CLI, hoithi, ...) so both sides
# see the same machine load; CLIPS (default "30 60") clip lengths in seconds.
# Prints every run: wall seconds, user+system CPU seconds, peak RSS, and the 1-minute load
# average when it started; then the best wall time of each side. Needs ffmpeg and libvips-tools.
set -euo pipefail
BIN="$(realpath "${1:-${CARGO_TARGET_DIR:-/var/cache/hoithi/target}/release/hoithi}")"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
RUNS="${RUNS:-2}"

declare -A BEST
timed() {  # timed <label> <function>: one run, printed; keeps the best wall time per label
  local label="$1" func="$2"
  rm -rf out && mkdir out
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -o time.txt -f "%e %U %S %M" bash -c "$func" >/dev/null 2>err.log || { cat err.log >&2; exit 1; }
  local wall user sys rss
  read -r wall user sys rss < time.txt
  printf '%-38s wall %7.2f s  cpu %7.2f s  rss %5d MiB  load %s\n' \
    "$label" "$wall" "$(echo "$user + $sys" | bc)" $((rss / 1024)) "$load"
  if [ -z "${BEST[$label]:-}" ] || (( $(echo "$wall < ${BEST[$label]}" | bc) )); then
    BEST[$label]=$wall
  fi
}

# Both sides in turn, the order swapped every run, so neither always gets the quieter slot.
interleaved() {  # interleaved <labelA> <funcA> <labelB> <funcB>
  for i in $(seq "$RUNS"); do
    if (( i % 2 )); then timed "$1" "$2"; timed "$3" "$4"
    else timed "$3" "$4"; timed "$1" "$2"; fi
  done
  printf '%-38s best %7.2f s\n%-38s best %7.2f s\nratio %s\n\n' "$1" "${BEST[$1]}" "$3" "${BEST[$3]}" \
    "$(echo "scale=3; ${BEST[$1]} / ${BEST[$3]}" | bc)"
}

cli_ladder() {  # The same rungs and encoder settings as services/worker/src/video.rs.
  local in="$CLIP"
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
hoithi_ladder() { env -i "$BIN" media-job --input "$CLIP" --output out --kind video; }
export -f cli_ladder hoithi_ladder
export BIN

for secs in ${CLIPS:-30 60}; do
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=$secs,noise=alls=8:allf=t" \
    -f lavfi -i "sine=frequency=440:duration=$secs" \
    -c:v libx264 -preset veryfast -b:v 12M -pix_fmt yuv420p -c:a aac -shortest "clip$secs.mp4"
  export CLIP="clip$secs.mp4"
  interleaved "ladder ${secs}s 1080p: hoithi media-job" hoithi_ladder \
    "ladder ${secs}s 1080p: ffmpeg CLI split" cli_ladder
done

# 12 MP photo (4000×3000), noisy so the JPEG is realistic.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=4000x3000,noise=alls=20:allf=t" \
  -frames:v 1 -q:v 3 photo.jpg
hoithi_photo() { env -i "$BIN" media-job --input photo.jpg --output out --kind photo; }
vips_set() {
  for w in 1600 800 400; do
    vipsthumbnail photo.jpg --size "${w}x" --export-profile srgb -o "out/p$w.jpg[Q=82,strip]"
    vipsthumbnail photo.jpg --size "${w}x" --export-profile srgb -o "out/p$w.webp[Q=78,strip]"
  done
}
export -f hoithi_photo vips_set
interleaved "photo 12 MP: hoithi media-job" hoithi_photo "photo 12 MP: vipsthumbnail (6 files)" vips_set
