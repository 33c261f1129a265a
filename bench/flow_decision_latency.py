#!/usr/bin/python3
"""flow_decision_latency.py: how long the IVR interpreter takes to decide,
per call of the entry points cc sip makes (issue 5 sets no target; the
figures are the flow's share of cc sip's event transactions).

Starts a throwaway cluster (test/harness.py) and binds a number to a
published flow of the menu template (welcome, a two-key menu, a branch, a
goodbye).  Each iteration, in one transaction rolled back at the end:
  arrived    cc.call_arrived(INVITE)         new call, leg, flow_start (answer, welcome prompt)
  menu       cc.call_event(play_done)        welcome over: the menu's prompt and collection
  key        cc.call_event(collect_done "2") the branch: its prompt, the choice recorded
Each statement is timed by the client around its round trip (unix socket),
so the figures include the protocol's small overhead.

    /usr/bin/python3 bench/flow_decision_latency.py [-n 500] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and p50/p95/p99/max in ms per step.
"""

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
import harness  # noqa: E402
from sip_options_latency import machine, percentile  # noqa: E402

SETUP = """
INSERT INTO cc.numbers (number) VALUES ('+862120009000');
SELECT cc.flow_create('bench', 'inbound', 'menu');
SELECT cc.flow_version_publish((SELECT id FROM cc.flows WHERE name = 'bench'), 'MAIN');
SELECT cc.number_bind_flow('+862120009000', (SELECT id FROM cc.flows WHERE name = 'bench'), 'MAIN');
"""

INVITE = {
    "request_uri": "sip:+862120009000@127.0.0.1", "call_id": "bench",
    "from": {"user": "+8613800000000", "uri": "sip:+8613800000000@127.0.0.1"},
    "to": {"user": "+862120009000", "uri": "sip:+862120009000@127.0.0.1"},
    "contacts": [{"uri": "sip:+8613800000000@127.0.0.1:5099"}],
    "source": {"ip": "127.0.0.1", "port": 5099, "transport": "udp"},
}


def timed(cur, query, args):
    """timed runs one statement and returns (ms, first column of its row)."""
    t0 = time.perf_counter()
    cur.execute(query, args)
    row = cur.fetchone()
    return (time.perf_counter() - t0) * 1000.0, row[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=500, help="iterations (default 500)")
    ap.add_argument("--warmup", type=int, default=20, help="iterations not counted")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files")
    opts = ap.parse_args()
    if os.geteuid() == 0:
        print("flow_decision_latency.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_flow_decisions")
    steps = {"arrived": [], "menu": [], "key": []}
    ok = False
    try:
        cluster.start()
        conn = cluster.connect()
        with conn.cursor() as cur:
            cur.execute(SETUP)
        conn.commit()
        for i in range(opts.warmup + opts.n):
            with conn.cursor() as cur:
                ms_arrived, answer = timed(cur, "SELECT cc.call_arrived(%s)", (json.dumps(INVITE),))
                leg = answer["leg_id"]
                tag = [a for a in answer["actions"] if a["type"] == "play"][0]["tag"]
                ms_menu, actions = timed(cur, "SELECT cc.call_event(%s, %s)",
                                         (leg, json.dumps({"type": "play_done", "tag": tag, "reason": "finished"})))
                tag = [a for a in actions if a["type"] == "dtmf"][0]["tag"]
                ms_key, actions = timed(cur, "SELECT cc.call_event(%s, %s)",
                                        (leg, json.dumps({"type": "collect_done", "tag": tag,
                                                          "digits": "2", "reason": "count"})))
                if not any(a["type"] == "play" for a in actions):
                    raise RuntimeError("the menu key did not lead to the branch: %r" % actions)
            conn.rollback()
            if i >= opts.warmup:
                steps["arrived"].append(ms_arrived)
                steps["menu"].append(ms_menu)
                steps["key"].append(ms_key)
        conn.close()
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
        if not ok:
            print("cluster files kept in %s" % cluster.basedir, file=sys.stderr)

    m = machine()
    text = [
        "## flow_decision_latency: the interpreter's decisions, per entry point",
        "",
        "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "- machine: %s cores, %s" % (m["nproc"], m["cpu"]),
        "- kernel: %s" % m["uname"],
        "- server: %s, the menu template" % m["postgres"],
        "- iterations: %d (+%d warm-up), each a transaction rolled back" % (opts.n, opts.warmup),
        "",
        "| step | p50 | p95 | p99 | max | mean |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, what in (("arrived", "cc.call_arrived: call, leg, flow_start"),
                       ("menu", "cc.call_event play_done: menu prompt + collect"),
                       ("key", "cc.call_event collect_done: branch, choice")):
        v = sorted(steps[name])
        text.append("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |" % (
            what, percentile(v, 50), percentile(v, 95), percentile(v, 99), v[-1], statistics.fmean(v)))
    text += ["", "no target in issue 5 (reported for cc sip's latency budget)", ""]
    print("\n".join(text))
    if opts.out:
        with open(opts.out, "a") as f:
            f.write("\n".join(text) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
