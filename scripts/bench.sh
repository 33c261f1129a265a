#!/usr/bin/env bash
# bench.sh: builds and installs pg_callcenter, then runs every benchmark in
# bench/ (bench/*.py) as the unprivileged user cctest in a copy of the tree.
# Results are printed and appended to bench/results/<name>.md in the repo.
#
#   sudo ./scripts/bench.sh                      # every benchmark, defaults
#   sudo ./scripts/bench.sh sip_options_latency -n 200   # one, with its options
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
BENCH_USER=${CC_TEST_USER:-cctest}
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}

if [ "$(id -u)" -ne 0 ]; then
    echo "bench.sh: must run as root (it installs packages and the extension); try: sudo $0" >&2
    exit 1
fi

./scripts/setup-debian.sh
# valgrind: queue_dispatch_instructions counts instructions with callgrind
# (only benchmarks need it, so setup-debian.sh leaves it out)
if ! dpkg-query -W -f='${Status}' valgrind 2>/dev/null | grep -q "install ok installed"; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends valgrind
fi
BUILD_LOG=$(mktemp /tmp/pg_callcenter-build.XXXXXX.log)
if ! { make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" && make install PG_CONFIG="$PG_CONFIG"; } >"$BUILD_LOG" 2>&1; then
    tail -n 60 "$BUILD_LOG"
    echo "bench.sh: build failed; full log: $BUILD_LOG" >&2
    exit 1
fi

WORK=$(mktemp -d /tmp/pg_callcenter-bench.XXXXXX)
rsync -a --exclude .git --exclude tmp_check "$REPO"/ "$WORK"/
chown -R "$BENCH_USER": "$WORK"
mkdir -p "$REPO/bench/results"

if [ $# -gt 0 ]; then
    benches=("bench/$1.py"); shift
else
    benches=(bench/*.py)
fi
rc=0
for b in "${benches[@]}"; do
    name=$(basename "$b" .py)
    echo "==== $name"
    out="$WORK/bench/$name.result.md"
    if ! (cd "$WORK" && runuser -u "$BENCH_USER" -- /usr/bin/python3 -u "$b" --out "$out" "$@"); then
        rc=1
        echo "bench.sh: $name failed or missed its target; files in $WORK" >&2
    fi
    # a missed target is a result too: whatever the benchmark wrote is kept
    if [ -s "$out" ]; then
        cat "$out" >> "$REPO/bench/results/$name.md"
        echo "appended to bench/results/$name.md"
    fi
done
[ "$rc" -eq 0 ] && rm -rf "$WORK"
exit "$rc"
