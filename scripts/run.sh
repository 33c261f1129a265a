#!/usr/bin/env bash
# run.sh: starts a local demo cluster of pg_callcenter on this machine
# (Debian 12, as root) and shows its workers running.
#
# It installs the packages (scripts/setup-debian.sh), builds and installs
# the extension, creates (once) a PostgreSQL 15 cluster owned by the OS user
# ccdemo in /var/lib/pg_callcenter-demo, listening on 127.0.0.1:5440 with
# SIP on 127.0.0.1:5060, creates the database `callcenter` with
# `CREATE EXTENSION pg_callcenter CASCADE`, (re)starts the server so the
# freshly built library is loaded, waits for the workers, sends one SIP
# OPTIONS through the command bus to its own SIP port, then loads the demo
# contact center (scripts/demo_seed.sql: a number, a menu flow, two queues,
# three agents) and places a demo call through it with sipp (scripts/demo.py),
# printing the call's timeline and its CDR.  It leaves the cluster running.
# Run it again after a change: it rebuilds and restarts.
#
# Environment: CC_DEMO_DIR, CC_DEMO_PORT (5440), CC_DEMO_SIP_PORT (5060).
set -euo pipefail

cd "$(dirname "$0")/.."
DEMO_USER=ccdemo
DIR=${CC_DEMO_DIR:-/var/lib/pg_callcenter-demo}
PGDATA=$DIR/data
PORT=${CC_DEMO_PORT:-5440}
SIP_PORT=${CC_DEMO_SIP_PORT:-5060}
DB=callcenter
PG_CONFIG=${PG_CONFIG:-/usr/bin/pg_config}
BIN=$($PG_CONFIG --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
LOG=$DIR/postgresql.log

if [ "$(id -u)" -ne 0 ]; then
    echo "run.sh: must run as root (it installs packages and the extension); try: sudo $0" >&2
    exit 1
fi

say() { printf '\n==== %s\n' "$*"; }
as_demo() { runuser -u "$DEMO_USER" -- "$@"; }
psql_demo() { as_demo "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$PORT" "$@"; }

say "packages"
./scripts/setup-debian.sh
BIN=$($PG_CONFIG --bindir)

say "build and install"
BUILD_LOG=$(mktemp /tmp/pg_callcenter-build.XXXXXX.log)
if ! { make -j"$(nproc)" PG_CONFIG="$PG_CONFIG" && make install PG_CONFIG="$PG_CONFIG"; } >"$BUILD_LOG" 2>&1; then
    tail -n 60 "$BUILD_LOG"
    echo "run.sh: build failed; full log: $BUILD_LOG" >&2
    exit 1
fi
echo "installed; build log: $BUILD_LOG"

say "cluster $PGDATA (port $PORT, SIP $SIP_PORT)"
install -d -o "$DEMO_USER" -g "$(id -gn "$DEMO_USER")" -m 750 "$DIR"
if [ ! -f "$PGDATA/PG_VERSION" ]; then
    # Local connections by OS user name (peer): the workers' loopback
    # connection is the bootstrap superuser, ccdemo, over the unix socket.
    as_demo "$BIN/initdb" -D "$PGDATA" -U "$DEMO_USER" -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >"$DIR/initdb.log"
    # The database exists before the workers first look for it.
    echo "CREATE DATABASE $DB;" | as_demo "$BIN/postgres" --single -D "$PGDATA" -j postgres >>"$DIR/initdb.log" 2>&1
    echo "include_if_exists = 'pg_callcenter.conf'" >> "$PGDATA/postgresql.conf"
    echo "created"
fi
# Rewritten on every run, so a changed port takes effect at the restart.
cat > "$PGDATA/pg_callcenter.conf" <<EOF
# Written by scripts/run.sh; edit the script (or its environment), not this file.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
shared_preload_libraries = 'pg_cron,pg_callcenter'
cron.database_name = '$DB'
cc.database = '$DB'
cc.sip_listen = 'sip:127.0.0.1:$SIP_PORT'
cc.rtp_port_min = 20000
cc.rtp_port_max = 20998
cc.media_workers = 1
logging_collector = off
log_line_prefix = '%m [%p] %b '
EOF
chown "$DEMO_USER": "$PGDATA/pg_callcenter.conf"

# Restart when running, so a newly built library is loaded.
if as_demo "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_demo "$BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 -m fast restart >/dev/null
    echo "restarted"
else
    as_demo "$BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 start >/dev/null
    echo "started"
fi

if [ -z "$(psql_demo -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_demo -d postgres -c "CREATE DATABASE $DB"
fi

# The extension script of this build; a demo whose extension came from an
# older script of the same version gets it dropped and created again (the
# demo's data goes with it).
SCRIPT=$($PG_CONFIG --sharedir)/extension/pg_callcenter--0.1.sql
SUM=$(sha256sum "$SCRIPT" | cut -d' ' -f1)
HAVE=$(psql_demo -d "$DB" -Atc "SELECT 1 FROM pg_extension WHERE extname = 'pg_callcenter'")
if [ -n "$HAVE" ] && [ "$(cat "$DIR/extension.sha256" 2>/dev/null)" != "$SUM" ]; then
    echo "extension script changed since the last run: recreating the extension"
    psql_demo -d "$DB" -c "DROP EXTENSION pg_callcenter CASCADE"
    HAVE=
fi
if [ -z "$HAVE" ]; then
    psql_demo -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_callcenter CASCADE"
    echo "$SUM" > "$DIR/extension.sha256"
    # Restart so the workers start from a clean slate on the new schema.
    as_demo "$BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -w -t 60 -m fast restart >/dev/null
fi

say "workers"
for _ in $(seq 1 100); do
    n=$(psql_demo -d "$DB" -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('cc sip', 'cc media 0', 'cc http')" 2>/dev/null || echo 0)
    [ "$n" = 3 ] && break
    sleep 0.2
done
psql_demo -d "$DB" -c "SELECT pid, backend_type, backend_start FROM pg_stat_activity WHERE backend_type LIKE 'cc %' ORDER BY backend_type"
if [ "$n" != 3 ]; then
    echo "run.sh: the workers did not all start; the server log says:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
fi

say "a SIP OPTIONS through the command bus, to our own SIP port"
ID=$(psql_demo -d "$DB" -Atc "SELECT cc.sip_options('sip:127.0.0.1:$SIP_PORT')")
echo "SELECT cc.sip_options('sip:127.0.0.1:$SIP_PORT') -> command $ID"
STATE=
for _ in $(seq 1 100); do
    STATE=$(psql_demo -d "$DB" -Atc "SELECT state FROM cc.commands WHERE id = '$ID'")
    case "$STATE" in done|failed) break ;; esac
    sleep 0.1
done
psql_demo -d "$DB" -c "SELECT seq, at, type, data FROM cc.events WHERE command_id = '$ID' ORDER BY seq"
psql_demo -d "$DB" -c "SELECT state, result, error FROM cc.commands WHERE id = '$ID'"

say "the demo contact center and a demo call"
# scripts/demo.py loads scripts/demo_seed.sql (idempotent) and places a call
# with sipp phones; it runs as ccdemo (peer authentication), from a copy of
# the files it needs that ccdemo can read (this clone may be under /root).
DEMO_DIR=$DIR/demo
install -d -o "$DEMO_USER" -g "$(id -gn "$DEMO_USER")" -m 750 "$DEMO_DIR"
rsync -a --delete --exclude tmp_check --exclude __pycache__ scripts test "$DEMO_DIR"/
rm -rf "$DEMO_DIR/work"     # the last run's sipp logs
chown -R "$DEMO_USER": "$DEMO_DIR"
DEMO_OK=1
if ! (cd "$DEMO_DIR" && as_demo /usr/bin/python3 -u scripts/demo.py --host "$DIR" --port "$PORT" --dbname "$DB" \
        --sip-port "$SIP_PORT" --workdir "$DEMO_DIR/work"); then
    DEMO_OK=
    echo "run.sh: the demo call failed (above); sipp's logs are in $DEMO_DIR/work, the server's in $LOG" >&2
fi

# As whom to run a command as ccdemo: sudo where installed, else runuser.
if command -v sudo >/dev/null 2>&1; then AS="sudo -u $DEMO_USER"; else AS="runuser -u $DEMO_USER --"; fi
cat <<EOF

==== pg_callcenter is running
  connect:  $AS psql -h $DIR -p $PORT $DB
  SIP:      sip:127.0.0.1:$SIP_PORT (UDP and TCP)
  log:      $LOG
  stop:     $AS $BIN/pg_ctl -D $PGDATA stop
  start:    ./scripts/run.sh as root (rebuilds, restarts)
  demo:     call +15550100 (menu: 1 sales, 2 support) from a softphone on this machine;
            register a softphone as agent 1001, 1002 or 1003 (password demo1001, ...)
            to answer: the demo leaves those agents available
EOF
[ "$STATE" = done ] && [ -n "$DEMO_OK" ]
