#!/usr/bin/env bash
# Builds a release of hoithi from the checked-out commit (normally a tag, `git tag v0.9.0`):
#   infra/release.sh            dist/hoithi-<version>-<arch>: built --release, stripped, its
#                               sha256 and the list of what it links dynamically
#   infra/release.sh --image    the same, and the container image hoithi:<version> built from
#                               infra/Dockerfile around that very binary (docker build with
#                               BuildKit; the image's sha256 of it is checked)
#   infra/release.sh --check-links FILE
#                               only the check below, on an already built binary (cheap: the
#                               tests run it on their debug build)
#   infra/release.sh --help     this text
# The version is the workspace version plus `git describe --tags --always --dirty`, as
# `hoithi --version` and /readyz report it. A tree with uncommitted changes is refused (its
# version would say -dirty and name no commit anyone can check out); HOITHI_RELEASE_ALLOW_DIRTY=1
# builds it anyway. The binary must link dynamically only to the libraries listed in ALLOWED
# (glibc, libstdc++/libgcc for the vendored C++ HEIC decoder, libde265 and libjpeg, and
# FFmpeg's libraries); anything else (libssl, libpq…) fails the release. See docs/operations.md,
# "Releases".
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# What the binary may ask the dynamic loader for (readelf's NEEDED entries).
ALLOWED='^(linux-vdso|ld-linux[-a-z0-9_]*|libc|libm|libdl|libpthread|librt|libgcc_s|libstdc\+\+|libde265|libjpeg|libavcodec|libavformat|libavfilter|libavutil|libswscale|libswresample)\.so'

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

# Lists what FILE asks the dynamic loader for and fails on anything outside ALLOWED.
check_links() {
  local file="$1" bad=0 lib
  echo "  links dynamically to (NEEDED):"
  while read -r lib; do
    if [[ "$lib" =~ $ALLOWED ]]; then
      echo "    $lib"
    else
      echo "    $lib   <- not in the allowed list"
      bad=1
    fi
  done < <(readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if command -v ldd >/dev/null; then
    echo "  with their own dependencies, ldd finds $(ldd "$file" | wc -l) libraries (FFmpeg's codecs);"
    echo "  the host needs FFmpeg's runtime packages (Debian 12: libavcodec59 libavformat59 libavfilter8 …)"
  fi
  if [ "$bad" -ne 0 ]; then
    echo "release: $file links a library the release does not allow (see ALLOWED in $0)" >&2
    return 1
  fi
}

image=0
if [ "${1:-}" = --check-links ]; then
  [ $# -eq 2 ] || { usage >&2; exit 2; }
  check_links "$2"
  exit $?
fi
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --image) image=1 ;;
    *) echo "release: unknown argument $arg" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in cargo git readelf strip sha256sum; do
  command -v "$tool" >/dev/null || { echo "release: $tool is missing" >&2; exit 1; }
done
if [ -n "$(git status --porcelain --untracked-files=no)" ] && [ "${HOITHI_RELEASE_ALLOW_DIRTY:-}" != 1 ]; then
  echo "release: the tree has uncommitted changes; commit them (or set HOITHI_RELEASE_ALLOW_DIRTY=1)" >&2
  exit 1
fi

describe=$(git describe --tags --always --dirty)
if ! git describe --tags --exact-match >/dev/null 2>&1; then
  echo "release: HEAD is not a tag; the version will name the commit ($describe)" >&2
fi
# The same answer the build script would find, passed explicitly so it cannot differ.
export HOITHI_GIT_DESCRIBE="$describe"

if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR=target
fi
cargo build --release --locked -p hoithi
built="$CARGO_TARGET_DIR/release/hoithi"
version=$("$built" --version | sed 's/^hoithi //')
arch=$(uname -m)
mkdir -p dist
out="dist/hoithi-$(printf '%s' "$describe" | tr -c 'A-Za-z0-9_.-' '-')-$arch"
cp "$built" "$out"
strip --strip-all "$out"
(cd dist && sha256sum "$(basename "$out")" > "$(basename "$out").sha256")

echo "release: $out"
echo "  version: $("$out" --version)"
echo "  size: $(du -h "$out" | cut -f1) (stripped)"
echo "  sha256: $(cut -d' ' -f1 "$out.sha256")"
check_links "$out"

if [ "$image" -eq 1 ]; then
  command -v docker >/dev/null || { echo "release: docker is missing" >&2; exit 1; }
  tag=$(printf '%s' "$describe" | tr -c 'A-Za-z0-9_.-' '-')
  # The image holds the binary just built (the context is dist/, the Rust stage is skipped).
  DOCKER_BUILDKIT=1 docker build -f infra/Dockerfile \
    --build-arg HOITHI_BINARY_FROM=prebuilt \
    --build-arg HOITHI_PREBUILT="$(basename "$out")" \
    --build-arg HOITHI_VERSION="$version" \
    --build-arg HOITHI_REVISION="$(git rev-parse HEAD)" \
    -t "hoithi:$tag" dist
  in_image=$(docker run --rm --entrypoint sha256sum "hoithi:$tag" /usr/local/bin/hoithi | cut -d' ' -f1)
  if [ "$in_image" != "$(cut -d' ' -f1 "$out.sha256")" ]; then
    echo "release: the image's binary ($in_image) is not the release's" >&2
    exit 1
  fi
  echo "release: image hoithi:$tag ($(docker run --rm "hoithi:$tag" --version))"
fi
