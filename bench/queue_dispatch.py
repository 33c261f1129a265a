#!/usr/bin/python3
"""queue_dispatch.py: how many callers per second dispatch alone pairs with
agents (issue 6, Done when 4, first half; target >= 5,000 pairings/s).

Starts a throwaway cluster (test/harness.py) whose workers serve another
database, so nothing but this script touches the tables.  Builds --queues
queues of --agents agents each (every agent a member of one queue, with a
registered contact), then for each of --rounds rounds: puts --calls
callers in the queues (cc.enqueue, while every agent is busy, so nothing
is offered yet), makes every agent idle without dispatching (a direct
update, the benchmark's shortcut), and times `SELECT cc.queue_dispatch(NULL,
--batch)`, one transaction each (COMMIT included, fsync on by default),
until no caller is left to pair.  A pairing is all of what an offer is: the
claim (FOR NO KEY UPDATE SKIP LOCKED), the agent leg, the cc.offers row,
the entry and call offered, the agent ringing with its log row and events,
the ring-timeout guard timer and the dial command for cc sip.

It then measures the latency of a dispatch that pairs one caller (one
waiting caller, one agent turning idle): p50/p99 over --single runs.

    /usr/bin/python3 bench/queue_dispatch.py [--queues 10] [--agents 100] [--calls 1000]
        [--batch 1000] [--rounds 5] [--strategy longest_idle] [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and the figures; --out appends them
as Markdown.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from sip_options_latency import cpu_seconds, machine, percentile  # noqa: E402

SETUP = """
SET client_min_messages = warning;
INSERT INTO cc.queues (name, strategy) SELECT 'q' || i, %(strategy)s FROM generate_series(1, %(queues)s) AS i;
INSERT INTO cc.agents (name, extension)
SELECT 'Agent ' || n, (100000 + n)::text FROM generate_series(1, %(queues)s * %(agents)s) AS n;
INSERT INTO cc.registrations (agent_id, contact, expires_at)
SELECT id, 'sip:' || extension || '@192.0.2.10:5060', now() + interval '1 day' FROM cc.agents;
INSERT INTO cc.queue_members (queue_id, agent_id, position)
SELECT q.id, a.id, a.extension::integer %% %(agents)s
  FROM cc.agents a JOIN cc.queues q ON q.name = 'q' || (1 + (a.extension::integer - 100001) / %(agents)s);
SELECT count(cc.agent_login(id)) FROM cc.agents;
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents;
"""

ROUND_SETUP = """
SET client_min_messages = warning;
DELETE FROM cc.calls; DELETE FROM cc.timers; DELETE FROM cc.commands;
SET pg_callcenter.agent_state_writer = on;
UPDATE cc.agents SET state = 'busy', state_before_call = NULL;
SET pg_callcenter.agent_state_writer = off;
WITH c AS (INSERT INTO cc.calls (direction, state, caller, callee)
           SELECT 'inbound', 'ivr', '+1555' || lpad(i::text, 7, '0'), '+862120001000' FROM generate_series(1, %(calls)s) AS i
           RETURNING id, caller),
     l AS (INSERT INTO cc.legs (call_id, kind, direction, state, answered_at)
           SELECT id, 'customer', 'inbound', 'answered', now() FROM c RETURNING call_id)
SELECT count(cc.enqueue(l.call_id, jsonb_build_object('queue', q.id)))
  FROM l JOIN c ON c.id = l.call_id
  JOIN cc.queues q ON q.name = 'q' || (1 + right(c.caller, 7)::integer %% %(queues)s);
-- every agent idle at once, without dispatching (the benchmark's shortcut)
SET pg_callcenter.agent_state_writer = on;
UPDATE cc.agents SET state = 'idle', state_entered_at = clock_timestamp() - (extension::integer %% 997) * interval '1 s';
SET pg_callcenter.agent_state_writer = off;
DELETE FROM cc.timers;
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=10)
    ap.add_argument("--agents", type=int, default=100, help="agents per queue")
    ap.add_argument("--calls", type=int, default=1000, help="callers per round (at most queues * agents)")
    ap.add_argument("--batch", type=int, default=1000, help="max_pairs of each cc.queue_dispatch call")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--single", type=int, default=200, help="one-caller dispatches timed for latency")
    ap.add_argument("--strategy", default="longest_idle")
    ap.add_argument("--fsync", choices=("on", "off"), default="on")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    if os.geteuid() == 0:
        print("queue_dispatch.py: run as an unprivileged user", file=sys.stderr)
        return 2
    if opts.calls > opts.queues * opts.agents:
        print("queue_dispatch.py: --calls must not exceed --queues * --agents", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_queue_dispatch", create_extension=False,
                              extra_conf={"fsync": opts.fsync, "cc.database": "'postgres'",
                                          "shared_buffers": "'256MB'"})
    ok = False
    try:
        cluster.start()
        cluster.sql("CREATE EXTENSION pg_callcenter CASCADE")
        conn = cluster.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        conn.commit()
        params = {"queues": opts.queues, "agents": opts.agents, "calls": opts.calls,
                  "strategy": opts.strategy}
        with conn.cursor() as cur:
            cur.execute(SETUP, params)
        conn.commit()

        rates = []
        total_pairs = 0
        total_time = 0.0
        total_cpu = 0.0
        for r in range(opts.rounds):
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(ROUND_SETUP, params)
                cur.execute("VACUUM ANALYZE")
            conn.autocommit = False
            pairs = 0
            c0 = cpu_seconds(backend)
            t0 = time.perf_counter()
            calls = 0
            while True:
                with conn.cursor() as cur:
                    cur.execute("SELECT cc.queue_dispatch(NULL, %s)", (opts.batch,))
                    n = cur.fetchone()[0]
                conn.commit()
                calls += 1
                pairs += n
                if n == 0:
                    break
            dt = time.perf_counter() - t0
            cpu = cpu_seconds(backend) - c0
            with conn.cursor() as cur:
                cur.execute("""SELECT (SELECT count(*) FROM cc.offers WHERE outcome = 'offered'),
                                      (SELECT count(*) FROM cc.agents WHERE state = 'ringing'),
                                      (SELECT count(*) FROM cc.commands c, jsonb_array_elements(c.args->'actions') a
                                        WHERE c.kind = 'call_actions' AND a->>'type' = 'dial')""")
                offers, ringing, dials = cur.fetchone()
            conn.commit()
            assert pairs == opts.calls == offers == ringing == dials, (pairs, offers, ringing, dials)
            rates.append(pairs / dt)
            total_pairs += pairs
            total_time += dt
            total_cpu += cpu
            print("round %d: %d callers paired in %.3f s (%d dispatch calls; server CPU %.3f s): %.0f pairings/s"
                  % (r + 1, pairs, dt, calls, cpu, pairs / dt), flush=True)

        # latency of a dispatch pairing one caller
        lat = []
        with conn.cursor() as cur:
            cur.execute("DELETE FROM cc.calls; DELETE FROM cc.timers; DELETE FROM cc.commands")
            cur.execute("SET pg_callcenter.agent_state_writer = on")
            cur.execute("UPDATE cc.agents SET state = 'busy'")
            cur.execute("SET pg_callcenter.agent_state_writer = off")
        conn.commit()
        for i in range(opts.single):
            with conn.cursor() as cur:
                cur.execute("""WITH c AS (INSERT INTO cc.calls (direction, state, caller) VALUES ('inbound', 'ivr', %s)
                                          RETURNING id),
                                    l AS (INSERT INTO cc.legs (call_id, kind, direction, state, answered_at)
                                          SELECT id, 'customer', 'inbound', 'answered', now() FROM c RETURNING call_id)
                               SELECT cc.enqueue(l.call_id, jsonb_build_object('queue', q.id))
                                 FROM l, cc.queues q WHERE q.name = 'q1'""", ("+1666%07d" % i,))
                cur.execute("""SET pg_callcenter.agent_state_writer = on;
                               UPDATE cc.agents SET state = 'idle'
                                WHERE id = (SELECT m.agent_id FROM cc.queue_members m JOIN cc.queues q ON q.id = m.queue_id
                                             JOIN cc.agents a ON a.id = m.agent_id
                                            WHERE q.name = 'q1' AND a.state = 'busy' ORDER BY a.extension LIMIT 1);
                               SET pg_callcenter.agent_state_writer = off""")
            conn.commit()
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute("SELECT cc.queue_dispatch(NULL, 1)")
                n = cur.fetchone()[0]
            conn.commit()
            lat.append((time.perf_counter() - t0) * 1000)
            assert n == 1, "single dispatch paired %d" % n
            if (i + 1) % opts.agents == 0:
                with conn.cursor() as cur:
                    cur.execute("DELETE FROM cc.calls; DELETE FROM cc.timers; DELETE FROM cc.commands;"
                                "SET pg_callcenter.agent_state_writer = on; UPDATE cc.agents SET state = 'busy';"
                                "SET pg_callcenter.agent_state_writer = off")
                conn.commit()
        lat.sort()

        # a CPU yardstick, so figures of different machines compare
        conn.autocommit = True
        yard = []
        with conn.cursor() as cur:
            for _ in range(3):
                t0 = time.perf_counter()
                cur.execute("SELECT count(*) FROM generate_series(1, 5000000)")
                yard.append((time.perf_counter() - t0) * 1000)
        conn.close()
        m = machine()
        overall = total_pairs / total_time
        result = {
            "date": time.strftime("%Y-%m-%d"),
            "setup": "%d queues x %d agents (%s), %d callers per round, batch %d, fsync %s"
                     % (opts.queues, opts.agents, opts.strategy, opts.calls, opts.batch, opts.fsync),
            "overall": overall, "min_round": min(rates), "max_round": max(rates),
            "per_cpu": total_pairs / max(total_cpu, 1e-6),
            "p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": lat[-1],
        }
        print("machine: %s cores, %s, %s" % (m["nproc"], m["cpu"], m["postgres"]))
        print("dispatch: %.0f pairings/s over %d rounds (rounds %.0f-%.0f/s); target >= 5000: %s"
              % (overall, opts.rounds, min(rates), max(rates), "met" if overall >= 5000 else "NOT met"))
        print("dispatch: %.0f pairings per second of server CPU (what a core does unshared)" % result["per_cpu"])
        print("load average during the run: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        print("CPU yardstick: SELECT count(*) FROM generate_series(1, 5000000) takes %.0f ms (best of 3)" % min(yard))
        print("one-caller dispatch: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d"
              % (result["p50"], result["p99"], result["max"], len(lat)))
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## queue_dispatch %s\n\n" % result["date"])
                f.write("- machine: %s cores, %s, %s, %s\n" % (m["nproc"], m["cpu"], m["uname"], m["postgres"]))
                f.write("- setup: %s, %d rounds\n" % (result["setup"], opts.rounds))
                f.write("- pairings per second: %.0f overall (rounds %.0f to %.0f); %.0f per second of server CPU\n"
                        % (overall, min(rates), max(rates), result["per_cpu"]))
                f.write("- load average at the end: %s (other work was running)\n"
                        % " ".join(open("/proc/loadavg").read().split()[:3]))
                f.write("- CPU yardstick: SELECT count(*) FROM generate_series(1, 5000000) in %.0f ms (best of 3)\n"
                        % min(yard))
                f.write("- one-caller dispatch (transaction with COMMIT): p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d)\n"
                        % (result["p50"], result["p99"], result["max"], len(lat)))
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
