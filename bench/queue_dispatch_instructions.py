#!/usr/bin/python3
"""queue_dispatch_instructions.py: CPU instructions per pairing of
cc.queue_dispatch, counted by valgrind (callgrind): the figure to compare
two versions of the dispatch on a machine whose speed changes by the
minute (issue 6, Done when 4; the target itself is judged in pairings per
second by queue_dispatch.py).

On the shared 2-core VM of docs/performance.md, pairings per second vary
by ±30 % between rounds of one run, so a change worth 5 % cannot be seen
in them.  Instructions do not depend on the host's load: two runs of this
benchmark agree to 0.1 % (0.02 % measured).  Instructions are not time (cache misses, fsync
and locks are not in them), but a change that removes work shows here.

Builds the data of queue_dispatch.py (--queues queues of --agents agents,
a caller per agent, every agent idle; workers serving another database),
stops the server, and runs one single-user backend under callgrind: a
first cc.queue_dispatch(NULL, 100) (cold: catalogs and plans loaded), then
cc.queue_dispatch(NULL, 100000), which pairs all the other callers with
warm caches.  A callgrind dump before each statement's transaction isolates the
second statement; its instructions over its pairings is the figure.

    /usr/bin/python3 bench/queue_dispatch_instructions.py [--queues 10] [--agents 100]
        [--strategy longest_idle] [--out FILE] [--keep]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both); needs valgrind.  Takes about a minute.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from queue_dispatch import ROUND_SETUP, SETUP  # noqa: E402
from sip_options_latency import machine  # noqa: E402

FIRST = 100


def dump_totals(prefix):
    """dump_totals returns the instruction totals of callgrind's dumps, in
    the order they were written (the file without a number is the last)."""
    parts = []
    for path in glob.glob(prefix + "*"):
        m = re.search(r"\.(\d+)$", path)
        with open(path) as f:
            total = next(int(line.split()[1]) for line in f
                         if line.startswith(("summary:", "totals:")))
        parts.append((int(m.group(1)) if m else 1 << 30, total))
    return [t for _, t in sorted(parts)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queues", type=int, default=10)
    ap.add_argument("--agents", type=int, default=100, help="agents per queue (one caller each)")
    ap.add_argument("--strategy", default="longest_idle")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    calls = opts.queues * opts.agents
    if calls <= FIRST or calls > 100000:
        print("queue_dispatch_instructions.py: --queues * --agents must be from %d to 100000" % (FIRST + 1),
              file=sys.stderr)
        return 2
    if shutil.which("valgrind") is None:
        print("queue_dispatch_instructions.py: valgrind is not installed", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_queue_dispatch_instructions", create_extension=False,
                              extra_conf={"cc.database": "'postgres'", "shared_buffers": "'256MB'"})
    ok = False
    try:
        cluster.start()
        cluster.sql("CREATE EXTENSION pg_callcenter CASCADE")
        params = {"queues": opts.queues, "agents": opts.agents, "calls": calls, "strategy": opts.strategy}
        conn = cluster.connect(autocommit=True)
        with conn.cursor() as cur:
            cur.execute(SETUP, params)
            cur.execute(ROUND_SETUP, params)
            cur.execute("VACUUM ANALYZE")
            cur.execute("CHECKPOINT")
        conn.close()
        cluster.stop()

        out_prefix = os.path.join(cluster.basedir, "callgrind.out")
        script = ("SELECT cc.queue_dispatch(NULL, %d);\nSELECT cc.queue_dispatch(NULL, 100000);\nSELECT 1;\n"
                  % FIRST)
        t0 = time.monotonic()
        with open(os.path.join(cluster.basedir, "single-user.log"), "w") as log:
            # a dump before each transaction (startup has one too)
            r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out_prefix,
                                "--dump-before=StartTransactionCommand",
                                os.path.join(cluster.bindir, "postgres"), "--single",
                                "-D", cluster.datadir, cluster.dbname],
                               input=script.encode(), stdout=log, stderr=subprocess.STDOUT, timeout=1800)
        seconds = time.monotonic() - t0
        with open(os.path.join(cluster.basedir, "single-user.log")) as f:
            outlog = f.read()
        paired = [int(x) for x in re.findall(r'queue_dispatch = "(\d+)"', outlog)]
        if r.returncode != 0 or len(paired) != 2 or paired[0] != FIRST or paired[1] != calls - FIRST:
            print("queue_dispatch_instructions.py: the single-user run did not pair %d then %d callers "
                  "(paired %s, exit %d); see %s" % (FIRST, calls - FIRST, paired, r.returncode,
                                                    os.path.join(cluster.basedir, "single-user.log")),
                  file=sys.stderr)
            return 1
        totals = dump_totals(out_prefix)
        # a dump holds what ran since the one before: ..., the dump before
        # statement 2's transaction holds statement 1, the one before
        # statement 3's holds statement 2, the dump at exit statement 3
        if len(totals) < 4:
            print("queue_dispatch_instructions.py: expected at least 4 callgrind dumps, got %d" % len(totals),
                  file=sys.stderr)
            return 1
        cold, warm = totals[-3], totals[-2]
        per_pair = warm / paired[1]
        m = machine()
        when = time.strftime("%Y-%m-%d %H:%M")
        lines = [
            "machine: %s cores, %s, %s, %s" % (m["nproc"], m["cpu"], m["uname"].strip(), m["postgres"]),
            "setup: %d queues x %d agents (%s), a caller per agent; under callgrind (%.0f s)"
            % (opts.queues, opts.agents, opts.strategy, seconds),
            "first dispatch (cold, %d pairings): %.1f M instructions" % (FIRST, cold / 1e6),
            "warm dispatch (%d pairings): %.1f M instructions, %.0f per pairing"
            % (paired[1], warm / 1e6, per_pair),
        ]
        for line in lines:
            print(line)
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## queue_dispatch_instructions %s\n\n" % when)
                for line in lines:
                    f.write("- %s\n" % line)
        ok = True
        return 0
    finally:
        cluster.cleanup(keep=opts.keep or not ok)


if __name__ == "__main__":
    sys.exit(main())
