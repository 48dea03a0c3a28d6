#!/usr/bin/env bash
# Builds the container image around a hoithi binary built on this (Debian 12) host and checks
# that the image works as the Dockerfile promises:
#   infra/image-check.sh BINARY
# - the image's `hoithi --version` is the binary's, and its pg_dump is PostgreSQL 15's;
# - a container of the web role, pointed at a server running here (its embedded PostgreSQL
#   over the Unix socket, its S3 endpoint over loopback), turns "healthy" through the image's
#   own HEALTHCHECK, reports the version on /readyz and writes a backup with `hoithi backup`;
# - once that server is gone, the same check turns the container "unhealthy".
# Needs root. Installs docker.io (and debootstrap) with apt when missing and starts dockerd
# when none answers. The base image debian:bookworm-slim is pulled, or, where the machine
# cannot reach a registry, made with debootstrap from the Debian mirror apt uses. What the
# machine cannot provide (no dockerd, no mirror) is said in one line and exits 0: the check
# did not run. A broken image exits 1. .ci/run calls it with the test build's binary.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:?usage: infra/image-check.sh BINARY}"
bin=$(realpath "$bin")
[ -x "$bin" ] || { echo "image-check: $bin is not an executable" >&2; exit 1; }

not_run() { echo "image-check: NOT RUN: $*"; exit 0; }
fail() { echo "image-check: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d /tmp/hoithi-image-check.XXXXXX)
chmod 755 "$work"
server_pid=""
cleanup() {
  docker rm -f hoithi-image-check >/dev/null 2>&1 || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Docker: the client and a daemon that answers.
if ! command -v dockerd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null 2>&1 ||
    not_run "docker.io could not be installed"
fi
# Debian's client, beside its daemon: a newer client found first on PATH wants the buildx
# plugin for BuildKit builds, which bookworm does not package; docker.io's builds with the
# daemon's own BuildKit.
if [ -x /usr/bin/docker ]; then
  docker() { /usr/bin/docker "$@"; }
fi
if ! docker info >/dev/null 2>&1; then
  (nohup dockerd >/var/log/hoithi-dockerd.log 2>&1 &)
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || not_run "dockerd does not start here (see /var/log/hoithi-dockerd.log)"
fi

# The base image of the Dockerfile's last stage.
base=debian:bookworm-slim
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if ! timeout 120 docker pull -q "$base" >/dev/null 2>&1; then
    command -v debootstrap >/dev/null ||
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
      not_run "no registry and debootstrap could not be installed"
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "image-check: no registry; making $base with debootstrap from $mirror"
    timeout 900 debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      not_run "debootstrap from $mirror failed (tail: $(tail -1 "$work/debootstrap.log"))"
    rm -f "$work"/rootfs/var/cache/apt/archives/*.deb
    tar -C "$work/rootfs" -c . | docker import - "$base" >/dev/null
    rm -rf "$work/rootfs"
  fi
fi

# The image, around this binary (BuildKit builds only the stages it needs).
mkdir "$work/context"
cp "$bin" "$work/context/hoithi"
strip --strip-all "$work/context/hoithi"
version=$("$bin" --version | sed 's/^hoithi //')
DOCKER_BUILDKIT=1 docker build -q -f infra/Dockerfile \
  --build-arg HOITHI_BINARY_FROM=prebuilt --build-arg HOITHI_PREBUILT=hoithi \
  --build-arg HOITHI_VERSION="$version" --build-arg HOITHI_REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t hoithi:image-check "$work/context" >"$work/build.log" 2>&1 ||
  fail "docker build: $(tail -5 "$work/build.log")"
echo "image-check: built hoithi:image-check ($(docker image inspect --format '{{.Size}}' hoithi:image-check) bytes)"

in_image=$(docker run --rm hoithi:image-check --version | sed 's/^hoithi //')
[ "$in_image" = "$version" ] || fail "the image says $in_image, the binary $version"
pg_dump=$(docker run --rm --entrypoint pg_dump hoithi:image-check --version)
[[ "$pg_dump" == *"PostgreSQL) 15."* ]] || fail "pg_dump in the image: $pg_dump"
label=$(docker image inspect --format '{{ index .Config.Labels "org.opencontainers.image.version" }}' hoithi:image-check)
[ "$label" = "$version" ] || fail "the image's version label is $label"
echo "image-check: --version, the version label and pg_dump ($pg_dump) are right"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A server here: embedded PostgreSQL and S3, the web and worker roles.
site_port=$(free_port)
mkdir "$work/server"
(cd "$work/server" && HOITHI_LISTEN="127.0.0.1:$site_port" HOITHI_METRICS_LISTEN=off \
  exec "$bin" serve >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 120); do grep -q "is listening on" "$work/server.log" && break; sleep 1; done
grep -q "is listening on" "$work/server.log" || fail "the server here did not start: $(tail -5 "$work/server.log")"
s3=$(grep -o 'embedded S3 endpoint listening addr=[0-9.:]*' "$work/server.log" | sed 's/.*addr=//')
data="$work/server/data"
key=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["access_key_id"], d["secret_access_key"])' "$data/s3-credentials.json")

# The container: the image's entrypoint and HEALTHCHECK, as the operator runs it. It runs as
# the cluster's owner so it may use the cluster's socket (the image's own user may not).
web_port=$(free_port)
docker run -d --name hoithi-image-check --network host --user "$(id -u postgres)" \
  -v "$data/pg:/pgsock" \
  -e HOITHI_LISTEN="0.0.0.0:$web_port" -e HOITHI_METRICS_LISTEN=off -e HOITHI_DATA=/tmp/data \
  -e "DATABASE_URL=postgres://hoithi@localhost:5432/hoithi?host=/pgsock" \
  -e S3_ENDPOINT="http://$s3" -e S3_BUCKET=hoithi \
  -e S3_ACCESS_KEY_ID="${key% *}" -e S3_SECRET_ACCESS_KEY="${key#* }" \
  hoithi:image-check serve --roles web >/dev/null

health() { docker inspect --format '{{.State.Health.Status}}' hoithi-image-check; }
wait_for() {
  local want="$1" seconds="$2"
  for _ in $(seq "$seconds"); do [ "$(health)" = "$want" ] && return 0; sleep 1; done
  fail "the container is $(health), not $want, after ${seconds}s: $(docker logs --tail 5 hoithi-image-check 2>&1)"
}
wait_for healthy 120
readyz=$(curl -fsS "http://127.0.0.1:$web_port/readyz")
[[ "$readyz" == *"\"status\":\"ready\""*"\"version\":\"$version\""* ]] || fail "/readyz: $readyz"
echo "image-check: the container turned healthy; /readyz: $readyz"

docker exec hoithi-image-check hoithi backup --out /tmp/data/backup >"$work/backup.log" 2>&1 ||
  fail "hoithi backup in the image: $(tail -3 "$work/backup.log")"
docker exec hoithi-image-check test -s /tmp/data/backup/database.dump ||
  fail "hoithi backup wrote no database dump"
echo "image-check: $(tail -1 "$work/backup.log")"

kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
wait_for unhealthy 90
echo "image-check: with the server gone the container turned unhealthy"
echo "image-check: passed"
