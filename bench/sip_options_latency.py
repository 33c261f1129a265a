#!/usr/bin/python3
"""sip_options_latency.py: how long from an application's COMMIT of
cc.sip_options(uri) until the OPTIONS is on the wire (issue 2, Done when 4;
target p99 <= 20 ms).

Starts a throwaway cluster (test/harness.py), and a UDP SIP peer in this
process that answers 200 and timestamps each OPTIONS as it arrives.  Each
iteration calls cc.sip_options('sip:127.0.0.1:PORT;n=I') in a transaction,
takes t0 = time.time() just before COMMIT, and t1 when the OPTIONS whose
Request-URI carries n=I arrives: latency = t1 - t0 (one process, one clock).
Iterations run one after another (no load besides this one).

    /usr/bin/python3 bench/sip_options_latency.py [-n 1000] [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and p50/p95/p99/max in ms; --out
appends the same as Markdown to FILE.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
import harness  # noqa: E402


def machine():
    """machine describes this machine: cores, kernel, CPU model, memory,
    PostgreSQL's version; the other benchmarks import it."""
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_gib = int(f.readline().split()[1]) // (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    uname = " ".join(platform.uname())
    pg = subprocess.run([os.path.join(harness.pg_bindir(), "postgres"), "--version"],
                        capture_output=True, text=True).stdout.strip()
    return {"nproc": nproc, "uname": uname, "cpu": cpu, "mem_gib": mem_gib, "postgres": pg}


def cpu_seconds(pid):
    """cpu_seconds is the user + system CPU time a process has used so far
    (utime + stime of /proc/PID/stat); the other benchmarks import it."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_times():
    """machine_cpu_times is (steal, total) CPU time of the whole machine so
    far, in clock ticks (the first eight fields of the "cpu" line of
    /proc/stat); the other benchmarks import it.  Steal is the time the
    hypervisor gave this VM's vCPUs to others: on a VM it is where a late
    tick or a slow minute can come from."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return ticks[7], sum(ticks)


def steal_percent(before, after):
    """steal_percent is the steal time between two machine_cpu_times(), as a
    percentage of all the machine's CPU time in that span."""
    return 100.0 * (after[0] - before[0]) / max(1, after[1] - before[1])


def percentile(sorted_values, p):
    """percentile returns the p-th percentile (nearest rank) of sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1,
                   int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="iterations (default 1000)")
    ap.add_argument("--warmup", type=int, default=20, help="iterations not counted")
    ap.add_argument("--fsync", choices=("on", "off"), default="on",
                    help="fsync of the cluster (default on: COMMIT waits for the disk)")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds to wait for one OPTIONS before counting it lost")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files")
    opts = ap.parse_args()

    if os.geteuid() == 0:
        print("sip_options_latency.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_sip_options", extra_conf={"fsync": opts.fsync})
    ok = False
    lat = []
    lost = 0
    try:
        cluster.start()
        with harness.SipListener(answer=200) as peer:
            conn = cluster.connect()
            arrived = {}
            seen = 0
            for i in range(opts.warmup + opts.n):
                uri = "%s;n=%d" % (peer.uri, i)
                with conn.cursor() as cur:
                    cur.execute("SELECT cc.sip_options(%s)", (uri,))
                t0 = time.time()
                conn.commit()
                deadline = t0 + opts.timeout
                t1 = None
                while t1 is None:
                    # Index what came since the last look (the peer only appends).
                    for r in peer.matching()[seen:]:
                        arrived[r["uri"]] = r["at"]
                        seen += 1
                    t1 = arrived.get(uri)
                    if t1 is not None or time.time() > deadline:
                        break
                    peer.wait_for(lambda r, u=uri: r["uri"] == u, timeout=0.05)
                if i < opts.warmup:
                    continue
                if t1 is None:
                    lost += 1
                else:
                    lat.append((t1 - t0) * 1000.0)
            conn.close()
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
        if not ok:
            print("cluster files kept in %s" % cluster.basedir, file=sys.stderr)

    lat.sort()
    m = machine()
    res = {
        "n": len(lat), "lost": lost,
        "p50": percentile(lat, 50), "p95": percentile(lat, 95),
        "p99": percentile(lat, 99), "max": lat[-1] if lat else float("nan"),
        "mean": statistics.fmean(lat) if lat else float("nan"),
    }
    date = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    text = [
        "## sip_options_latency: COMMIT of cc.sip_options() to OPTIONS on the wire",
        "",
        "- date: %s" % date,
        "- machine: %s cores, %s" % (m["nproc"], m["cpu"]),
        "- kernel: %s" % m["uname"],
        "- server: %s, fsync=%s, cc.media_workers=1" % (m["postgres"], opts.fsync),
        "- iterations: %d one after another (+%d warm-up), %d lost (> %.0f s)" % (
            opts.n, opts.warmup, lost, opts.timeout),
        "",
        "| p50 | p95 | p99 | max | mean |",
        "| --- | --- | --- | --- | --- |",
        "| %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |" % (
            res["p50"], res["p95"], res["p99"], res["max"], res["mean"]),
        "",
        "target p99 <= 20 ms: %s" % ("met" if lost == 0 and res["p99"] <= 20.0 else "NOT met"),
        "",
    ]
    print("\n".join(text))
    if opts.out:
        with open(opts.out, "a") as f:
            f.write("\n".join(text) + "\n")
    return 0 if lost == 0 and lat else 1


if __name__ == "__main__":
    sys.exit(main())
