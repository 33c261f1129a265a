#!/usr/bin/env bash
# test.sh: runs every pg_callcenter test on this machine (Debian 12, as root):
# installs the packages (scripts/setup-debian.sh), builds and installs the
# extension, copies the tree to a fresh directory owned by the unprivileged
# user cctest, and runs there, as cctest:
#   1. make installcheck: pg_regress (sql/, expected/) and the isolation
#      specs (test/isolation/) on temporary instances;
#   2. test/run_e2e.py: the end-to-end tests (test/e2e/) with real SIP.
# It ends with the totals over all suites, "N passed, N failed", and exits
# non-zero if anything failed; the logs of a failure are kept and shown.
#
#   sudo ./scripts/test.sh                 # everything
#   sudo ./scripts/test.sh -k test_4       # e2e tests whose name matches (pg_regress still runs)
#   CC_TEST_SKIP_REGRESS=1 sudo ./scripts/test.sh   # e2e only
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
TEST_USER=${CC_TEST_USER:-cctest}
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
PY=/usr/bin/python3

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: must run as root (it installs packages and the extension); try: sudo $0" >&2
    exit 1
fi

say() { printf '\n==== %s\n' "$*"; }

say "packages"
./scripts/setup-debian.sh

say "build and install"
BUILD_LOG=$(mktemp /tmp/pg_callcenter-build.XXXXXX.log)
if ! { make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" && make install PG_CONFIG="$PG_CONFIG"; } >"$BUILD_LOG" 2>&1; then
    tail -n 60 "$BUILD_LOG"
    echo "test.sh: build failed; full log: $BUILD_LOG"
    echo "0 passed, 1 failed"
    exit 1
fi
if grep -E "warning:" "$BUILD_LOG" >/dev/null; then
    echo "build warnings:"; grep -E "warning:" "$BUILD_LOG" | head -20
fi
echo "built and installed ($(basename "$($PG_CONFIG --pkglibdir)")/pg_callcenter.so); log: $BUILD_LOG"

# A fresh copy the unprivileged user can write to (pg_regress and initdb
# refuse root).
WORK=$(mktemp -d /tmp/pg_callcenter-test.XXXXXX)
rsync -a --exclude .git --exclude tmp_check --exclude tmp_check_iso \
      --exclude results --exclude output_iso --exclude log \
      --exclude regression.diffs --exclude regression.out "$REPO"/ "$WORK"/
chown -R "$TEST_USER": "$WORK"
chmod 755 "$WORK"
echo "test tree: $WORK (owned by $TEST_USER)"

as_test() { runuser -u "$TEST_USER" -- env HOME="$WORK" PG_CONFIG="$PG_CONFIG" "$@"; }

PASSED=0
FAILED=0
FAILED_LOGS=()

# --- pg_regress and isolation -----------------------------------------------
if [ "${CC_TEST_SKIP_REGRESS:-}" != 1 ]; then
    say "make installcheck (pg_regress, isolation)"
    REGRESS_LOG="$WORK/installcheck.log"
    set +e
    (cd "$WORK" && as_test make installcheck PG_CONFIG="$PG_CONFIG") >"$REGRESS_LOG" 2>&1
    rc=$?
    set -e
    cat "$REGRESS_LOG"
    # PostgreSQL 15 prints one line per test: "test NAME ... ok 12 ms",
    # "     NAME ... FAILED 34 ms" (parallel groups), "... failed (ignored)".
    ok=$(grep -cE '^(test +| +)?[A-Za-z0-9_./-]+ +\.\.\. +ok\b' "$REGRESS_LOG" || true)
    bad=$(grep -cE '^(test +| +)?[A-Za-z0-9_./-]+ +\.\.\. +FAILED\b' "$REGRESS_LOG" || true)
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
        bad=1   # it failed before or around the tests (instance, build, ...)
        echo "make installcheck exited $rc without a failed test line"
    fi
    PASSED=$((PASSED + ok))
    FAILED=$((FAILED + bad))
    echo "installcheck: $ok passed, $bad failed"
    if [ "$bad" -ne 0 ]; then
        FAILED_LOGS+=("$REGRESS_LOG")
        while IFS= read -r f; do FAILED_LOGS+=("$f"); done < <(
            find "$WORK" \( -name regression.diffs -o -name postmaster.log \) -type f 2>/dev/null | sort)
    fi
fi

# --- end to end --------------------------------------------------------------
say "end-to-end tests (test/run_e2e.py)"
E2E_LOG="$WORK/e2e.log"
set +e
(cd "$WORK" && as_test "$PY" -u test/run_e2e.py "$@") 2>&1 | tee "$E2E_LOG"
rc=${PIPESTATUS[0]}
set -e
line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$E2E_LOG" | tail -n 1 || true)
if [ -n "$line" ]; then
    ok=$(sed -E 's/^e2e: ([0-9]+) passed.*/\1/' <<<"$line")
    bad=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"$line")
else
    ok=0; bad=0
fi
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    bad=1
    echo "run_e2e.py exited $rc without a failed test"
fi
PASSED=$((PASSED + ok))
FAILED=$((FAILED + bad))
if [ "$bad" -ne 0 ]; then
    FAILED_LOGS+=("$E2E_LOG")
    while IFS= read -r f; do FAILED_LOGS+=("$f"); done < <(
        find "$WORK/test/tmp_check" -name postgresql.log -type f 2>/dev/null | sort)
fi

# --- summary -----------------------------------------------------------------
if [ "$FAILED" -ne 0 ]; then
    say "failures: logs kept in $WORK"
    for f in "${FAILED_LOGS[@]}"; do
        echo "---- $f (last 40 lines)"
        tail -n 40 "$f" || true
    done
    echo
    echo "logs:"
    printf '  %s\n' "${FAILED_LOGS[@]}"
else
    rm -rf "$WORK"
fi
if [ "$((PASSED + FAILED))" -eq 0 ]; then
    echo "test.sh: no test ran"
    FAILED=1
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
