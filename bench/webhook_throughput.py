#!/usr/bin/python3
"""webhook_throughput.py: how many webhook deliveries per second cc http
makes to a local receiver, and how long from an event's COMMIT to its
delivery (issue 7, Done when 5: >= 2,000 deliveries/s, p99 <= 100 ms).

Starts a throwaway cluster (test/harness.py) with one webhook subscribed to
bench.* and a receiver in a separate process: a minimal asyncio HTTP/1.1
server on 127.0.0.1 that answers 200 at once (keep-alive) and notes when
each event (by its seq, read from the JSON body) arrives.  Two phases:

  sustained  events committed at --rate per second for --seconds, in
             a transaction every --batch-ms (20 ms), spread over
             --calls calls (deliveries of one call go one at a time);
             t0 = time.time() just before each COMMIT, t1 = arrival at the
             receiver: latency = t1 - t0 (one machine, one clock);
             throughput = deliveries / (last arrival - first commit).
  burst      --burst events committed in one transaction, then drained:
             throughput = deliveries / (last arrival - commit).

    /usr/bin/python3 bench/webhook_throughput.py [--rate 2500] [--seconds 10] [--burst 20000] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and the figures; --out appends them
as Markdown to FILE.
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from sip_options_latency import machine, percentile  # noqa: E402

SEQ = re.compile(rb'"seq": (\d+)')


def receiver_main(port, ready, conn):
    """receiver_main serves HTTP on port until it reads "stop" on conn, then
    sends back {seq: arrival time} and the number of requests."""
    arrivals = {}
    count = [0]

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:].strip())
                body = await reader.readexactly(length) if length else b""
                now = time.time()
                count[0] += 1
                m = SEQ.search(body)
                if m:
                    arrivals.setdefault(int(m.group(1)), now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        ready.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)
        server.close()
        conn.send((arrivals, count[0]))

    asyncio.run(main())


def produce(cluster, n_per_tx, n_tx, interval, calls):
    """produce commits n_tx transactions of n_per_tx events, one every
    interval seconds, and returns {seq: commit time}."""
    conn = cluster.connect()
    commits = {}
    try:
        start = time.time()
        with conn.cursor() as cur:
            for i in range(n_tx):
                cur.execute("SELECT cc.event_append('bench.event', jsonb_build_object('i', g), "
                            "call_id => (%s::uuid[])[1 + ((%s + g) %% %s)]) FROM generate_series(1, %s) AS g",
                            (calls, i * n_per_tx, len(calls), n_per_tx))
                seqs = [r[0] for r in cur.fetchall()]
                t0 = time.time()
                conn.commit()
                for s in seqs:
                    commits[s] = t0
                if interval:
                    delay = start + (i + 1) * interval - time.time()
                    if delay > 0:
                        time.sleep(delay)
    finally:
        conn.close()
    return commits


def wait_arrivals(ctl, total, timeout):
    """wait_arrivals polls the outbox until total deliveries are done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if ctl() >= total:
            return True
        time.sleep(0.2)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=2500, help="events per second in the sustained phase")
    ap.add_argument("--seconds", type=float, default=10, help="length of the sustained phase")
    ap.add_argument("--burst", type=int, default=20000, help="events of the burst phase (0: skip)")
    ap.add_argument("--calls", type=int, default=1000, help="calls the events are spread over")
    ap.add_argument("--batch-ms", type=int, default=20, help="one transaction of events every this many ms")
    ap.add_argument("--fsync", choices=("on", "off"), default="on")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files")
    opts = ap.parse_args()

    if os.geteuid() == 0:
        print("webhook_throughput.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_webhooks", extra_conf={"fsync": opts.fsync})
    port = harness.free_port()
    ready = multiprocessing.Event()
    parent, child = multiprocessing.Pipe()
    rx = multiprocessing.Process(target=receiver_main, args=(port, ready, child), daemon=True)
    rx.start()
    ready.wait(10)
    ok = False
    results = {}
    try:
        cluster.start()
        cluster.sql("INSERT INTO cc.webhooks (name, url, event_types, secret) "
                    "VALUES ('bench', %s, '{bench.*}', 'bench-secret')", "http://127.0.0.1:%d/hook" % port)
        calls = [r[0] for r in cluster.sql("SELECT gen_random_uuid()::text FROM generate_series(1, %s)", opts.calls)]

        def delivered():
            return cluster.one("SELECT count(*) FROM cc.webhook_outbox WHERE state = 'delivered'")

        # warm-up: connections opened, caches filled
        produce(cluster, 50, 10, 0.01, calls)
        wait_arrivals(delivered, 500, 30)

        if opts.seconds > 0:
            per_tx = max(1, opts.rate * opts.batch_ms // 1000)
            n_tx = int(opts.seconds * 1000 / opts.batch_ms)
            base = delivered()
            commits = produce(cluster, per_tx, n_tx, opts.batch_ms / 1000.0, calls)
            produced_rate = len(commits) / (max(commits.values()) - min(commits.values()) + opts.batch_ms / 1000.0)
            done = wait_arrivals(delivered, base + len(commits), 120)
            results["sustained"] = (commits, produced_rate, done)

        if opts.burst:
            base = delivered()
            commits = produce(cluster, opts.burst, 1, 0, calls)
            done = wait_arrivals(delivered, base + len(commits), 300)
            results["burst"] = (commits, None, done)
        dead = cluster.one("SELECT count(*) FROM cc.webhook_outbox WHERE state <> 'delivered'")
        ok = True
    finally:
        parent.send("stop")
        arrivals, requests = parent.recv() if parent.poll(30) else ({}, 0)
        rx.join(5)
        cluster.cleanup(keep=opts.keep or not ok)
        if not ok:
            print("cluster files kept in %s" % cluster.basedir, file=sys.stderr)

    m = machine()
    date = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    lines = [
        "## webhook_throughput: webhook deliveries to a local receiver",
        "",
        "- date: %s" % date,
        "- machine: %s cores, %s" % (m["nproc"], m["cpu"]),
        "- kernel: %s" % m["uname"],
        "- server: %s, fsync=%s; one webhook (signed), receiver: asyncio HTTP/1.1 in another process" % (
            m["postgres"], opts.fsync),
        "",
        "| phase | events | offered rate | delivered/s | lost | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    verdict = []
    for phase in ("sustained", "burst"):
        if phase not in results:
            continue
        commits, offered, done = results[phase]
        got = {s: arrivals[s] for s in commits if s in arrivals}
        lost = len(commits) - len(got)
        lat = sorted((got[s] - commits[s]) * 1000.0 for s in got)
        span = (max(got.values()) - min(commits.values())) if got else float("nan")
        rate = len(got) / span if got else 0.0
        lines.append("| %s | %d | %s | %.0f | %d | %.1f ms | %.1f ms | %.1f ms | %.1f ms |" % (
            phase, len(commits), "%.0f/s" % offered if offered else "all at once", rate, lost,
            percentile(lat, 50), percentile(lat, 95), percentile(lat, 99), lat[-1] if lat else float("nan")))
        if phase == "sustained":
            verdict.append("p99 commit-to-delivery <= 100 ms at %.0f events/s: %s" % (
                offered, "met" if lost == 0 and lat and percentile(lat, 99) <= 100.0 else "NOT met"))
            verdict.append("delivered/s >= 2000 (sustained): %s" % ("met" if rate >= 2000 and lost == 0 else "NOT met"))
        else:
            verdict.append("delivered/s >= 2000 (burst drain): %s" % ("met" if rate >= 2000 and lost == 0 else "NOT met"))
    lines += ["", "requests received: %d (duplicates: %d); deliveries not delivered at the end: %d" % (
        requests, requests - len(arrivals), dead), ""] + ["- " + v for v in verdict] + [""]
    text = "\n".join(lines)
    print(text)
    if opts.out:
        with open(opts.out, "a") as f:
            f.write(text + "\n")
    return 0 if all("NOT" not in v for v in verdict) else 1


if __name__ == "__main__":
    sys.exit(main())
