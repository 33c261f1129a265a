#!/usr/bin/python3
"""queue_dispatch.py: how many callers per second dispatch alone pairs with
agents (issue 6, Done when 4, first half; target >= 5,000 pairings/s).

Starts a throwaway cluster (test/harness.py) whose workers serve another
database, so nothing but this script touches the tables.  Builds --queues
queues of --agents agents each (every agent a member of one queue, with a
registered contact), then for each of --rounds rounds: puts --calls
callers in the queues (cc.enqueue, while every agent is busy, so nothing
is offered yet), makes every agent idle without dispatching (a direct
update, the benchmark's shortcut), and times dispatch until no caller is
left to pair: `SELECT cc.queue_dispatch(queues, --batch)`, one
transaction each (COMMIT included, fsync on by default).  A pairing is
all of what an offer is: the claim (FOR NO KEY UPDATE SKIP LOCKED), the
agent leg, the cc.offers row, the entry and call offered, the agent
ringing with its log row and events, the ring-timeout guard timer and the
dial command for cc sip.

Each round is timed twice, alternately, on the same data:
  - one dispatcher: one session dispatches every queue;
  - --dispatchers sessions at once (default: one per CPU), each
    dispatching its share of the queues (queue i goes to session
    i mod N), as a live site does: a call enqueued or an agent freed
    kicks the dispatch of its own queues, in the transaction of whoever
    made the change (cc sip's event transactions, its queue.dispatch
    timers, applications calling cc.agent_set_state or cc.queue_dispatch).
The target is judged on the second: it is what the server can pair per
second with its cores.  The first is printed too: it is the most that a
single session (cc sip's loop, say) can dispatch.  After each round the
offers are checked: one per caller, never two open offers for one agent
or one caller, every agent offered ringing, one dial action per offer.

It then measures the latency of a dispatch that pairs one caller (one
waiting caller, one agent turning idle): p50/p99 over --single runs.

    /usr/bin/python3 bench/queue_dispatch.py [--queues 10] [--agents 100] [--calls 1000]
        [--batch 1000] [--rounds 5] [--dispatchers NCPU] [--strategy longest_idle]
        [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and the figures; --out appends them
as Markdown.
"""

import argparse
import os
import sys
import threading
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


CHECK = """
SELECT (SELECT count(*) FROM cc.offers WHERE outcome = 'offered'),
       (SELECT count(*) FROM cc.agents WHERE state = 'ringing'),
       (SELECT count(*) FROM cc.commands c, jsonb_array_elements(c.args->'actions') a
         WHERE c.kind = 'call_actions' AND a->>'type' = 'dial'),
       (SELECT count(*) FROM (SELECT agent_id FROM cc.offers WHERE outcome = 'offered'
                               GROUP BY agent_id HAVING count(*) > 1) AS twice),
       (SELECT count(*) FROM (SELECT call_id FROM cc.offers WHERE outcome = 'offered'
                               GROUP BY call_id HAVING count(*) > 1) AS twice)
"""


def dispatch_all(conns, backends, queue_sets, batch):
    """dispatch_all runs one dispatcher per connection, each calling
    cc.queue_dispatch(its queues, batch) until it pairs nobody, all at once;
    returns (pairs, seconds, dispatch calls, server CPU seconds)."""
    pairs = [0] * len(conns)
    calls = [0] * len(conns)
    errors = []

    def run(k):
        try:
            while True:
                with conns[k].cursor() as cur:
                    cur.execute("SELECT cc.queue_dispatch(%s::uuid[], %s)", (queue_sets[k], batch))
                    n = cur.fetchone()[0]
                conns[k].commit()
                calls[k] += 1
                pairs[k] += n
                if n == 0:
                    return
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(conns))]
    c0 = sum(cpu_seconds(b) for b in backends)
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    cpu = sum(cpu_seconds(b) for b in backends) - c0
    if errors:
        raise errors[0]
    return sum(pairs), dt, sum(calls), cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=10)
    ap.add_argument("--agents", type=int, default=100, help="agents per queue")
    ap.add_argument("--calls", type=int, default=1000, help="callers per round (at most queues * agents)")
    ap.add_argument("--batch", type=int, default=1000, help="max_pairs of each cc.queue_dispatch call")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--single", type=int, default=200, help="one-caller dispatches timed for latency")
    ap.add_argument("--dispatchers", type=int, default=os.cpu_count() or 1,
                    help="sessions dispatching at once in the concurrent timing (default: one per CPU)")
    ap.add_argument("--strategy", default="longest_idle")
    ap.add_argument("--fsync", choices=("on", "off"), default="on")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    if os.geteuid() == 0:
        print("queue_dispatch.py: run as an unprivileged user", file=sys.stderr)
        return 2
    if opts.dispatchers < 1 or opts.dispatchers > opts.queues:
        print("queue_dispatch.py: --dispatchers must be from 1 to --queues", file=sys.stderr)
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
        conn.autocommit = True
        params = {"queues": opts.queues, "agents": opts.agents, "calls": opts.calls,
                  "strategy": opts.strategy}
        with conn.cursor() as cur:
            cur.execute(SETUP, params)
            cur.execute("SELECT id::text FROM cc.queues ORDER BY name")
            queue_ids = [r[0] for r in cur.fetchall()]
        # the dispatchers: sessions of their own (conn sets each round up)
        dispatchers = [cluster.connect() for _ in range(opts.dispatchers)]
        backends = []
        for d in dispatchers:
            with d.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backends.append(cur.fetchone()[0])
            d.commit()
        modes = [("one dispatcher", dispatchers[:1], backends[:1], [queue_ids]),
                 ("%d dispatchers" % opts.dispatchers, dispatchers, backends,
                  [queue_ids[k::opts.dispatchers] for k in range(opts.dispatchers)])]
        if opts.dispatchers == 1:
            modes = modes[:1]
        figures = {name: {"rates": [], "pairs": 0, "time": 0.0, "cpu": 0.0} for name, _, _, _ in modes}
        for r in range(opts.rounds):
            for name, conns, pids, queue_sets in modes:
                with conn.cursor() as cur:
                    cur.execute(ROUND_SETUP, params)
                    cur.execute("VACUUM ANALYZE")
                pairs, dt, calls, cpu = dispatch_all(conns, pids, queue_sets, opts.batch)
                with conn.cursor() as cur:
                    cur.execute(CHECK)
                    offers, ringing, dials, agents_twice, calls_twice = cur.fetchone()
                assert pairs == opts.calls == offers == ringing == dials, (name, pairs, offers, ringing, dials)
                assert agents_twice == 0 and calls_twice == 0, (name, agents_twice, calls_twice)
                f = figures[name]
                f["rates"].append(pairs / dt)
                f["pairs"] += pairs
                f["time"] += dt
                f["cpu"] += cpu
                print("round %d, %s: %d callers paired in %.3f s (%d dispatch calls; server CPU %.3f s): %.0f pairings/s"
                      % (r + 1, name, pairs, dt, calls, cpu, pairs / dt), flush=True)
        for d in dispatchers:
            d.close()
        conn.autocommit = False

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
        for f in figures.values():
            f["overall"] = f["pairs"] / f["time"]
            f["per_cpu"] = f["pairs"] / max(f["cpu"], 1e-6)
        judged_name = modes[-1][0]
        judged = figures[judged_name]["overall"]
        verdict = "met" if judged >= 5000 else "NOT met"
        setup = ("%d queues x %d agents (%s), %d callers per round, batch %d, fsync %s"
                 % (opts.queues, opts.agents, opts.strategy, opts.calls, opts.batch, opts.fsync))
        lines = []
        for name, _, _, _ in modes:
            f = figures[name]
            lines.append("%s: %.0f pairings/s overall (rounds %.0f to %.0f); %.0f per second of server CPU"
                         % (name, f["overall"], min(f["rates"]), max(f["rates"]), f["per_cpu"]))
        loadavg = " ".join(open("/proc/loadavg").read().split()[:3])
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        print("machine: %s cores, %s, %s" % (m["nproc"], m["cpu"], m["postgres"]))
        print("setup: %s, %d rounds" % (setup, opts.rounds))
        for line in lines:
            print("dispatch, " + line)
        print("target >= 5000 pairings/s (%s): %s" % (judged_name, verdict))
        print("load average during the run: %s" % loadavg)
        print("CPU yardstick: SELECT count(*) FROM generate_series(1, 5000000) takes %.0f ms (best of 3)" % min(yard))
        print("one-caller dispatch: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d" % (p50, p99, lat[-1], len(lat)))
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## queue_dispatch %s\n\n" % time.strftime("%Y-%m-%d %H:%M"))
                f.write("- machine: %s cores, %s, %s, %s\n" % (m["nproc"], m["cpu"], m["uname"], m["postgres"]))
                f.write("- setup: %s, %d rounds, each timed with one dispatcher and with %d at once (queues shared out)\n"
                        % (setup, opts.rounds, opts.dispatchers))
                for line in lines:
                    f.write("- %s\n" % line)
                f.write("- target >= 5,000 pairings/s, judged on %s: %s\n" % (judged_name, verdict))
                f.write("- load average at the end: %s (other work was running)\n" % loadavg)
                f.write("- CPU yardstick: SELECT count(*) FROM generate_series(1, 5000000) in %.0f ms (best of 3)\n"
                        % min(yard))
                f.write("- one-caller dispatch (transaction with COMMIT): p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d)\n"
                        % (p50, p99, lat[-1], len(lat)))
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
