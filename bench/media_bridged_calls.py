#!/usr/bin/python3
"""media_bridged_calls.py: bridged calls with G.711 RTP both ways (issue 4,
Done when 7; target >= 500 concurrent bridged calls (1,000 legs) with under
0.1 % packet loss added by us and p99 send-interval jitter under 5 ms).

What runs: a throwaway cluster (test/harness.py) with two media workers;
sipp places N inbound calls (PCMU) to a number whose flow pauses, each SDP
naming one RTP port of bench/rtp_load (a small C program built here), which
sends a 20 ms PCMU packet every 20 ms on every leg and measures what comes
back.  Once every leg is up, the legs are bridged two by two with
cc.call_actions_send (outbound dial was not on this branch: a "bridged call"
is two inbound legs bridged).  After a warm-up, one measurement window:

  loss added by us = (sequence gaps seen by the phones in our packets
                      + packets we received but could not play: lost + late)
                     / packets expected;
  send-interval jitter = |arrival interval - 20 ms| at the phones (p50, p99, max);
  CPU per media worker = utime + stime of its process over the window;
  steal = the machine's CPU time the hypervisor took in the window (a VM's
          vCPU that is not running sends nothing, whatever our priority);
  memory per call = the media workers' RSS growth over the calls, plus the
                    shared memory of two sessions (allocated at start).

    /usr/bin/python3 bench/media_bridged_calls.py [--calls 500] [--measure 60] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does both).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
import harness  # noqa: E402
import media_util as mu  # noqa: E402
from sip_options_latency import cpu_seconds, machine, machine_cpu_times, steal_percent  # noqa: E402

SCENARIO = '''<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="bench caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:bench@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=bench 1 1 IN IP4 127.0.0.1
      s=-
      c=IN IP4 127.0.0.1
      t=0 0
      m=audio [field0] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <pause milliseconds="%(hold_ms)d"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: "Bench" <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200"/>
</scenario>
'''


def rss_kb(pid, field="RssAnon:"):
    """rss_kb is a process's resident memory of a kind (RssAnon: private, not the shared segment)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def tick_lags(cluster):
    """tick_lags is {(worker, lag_ms): ticks} from cc.media_tick_lags()."""
    return {(w, lag): n for w, lag, n in cluster.sql("SELECT worker, lag_ms, ticks FROM cc.media_tick_lags()")}


def histogram_percentile(hist, q):
    """histogram_percentile of a {lag_ms: count} histogram (upper bound of the bucket)."""
    total = sum(hist.values())
    acc = 0
    for lag in sorted(hist):
        acc += hist[lag]
        if acc >= q * total:
            return lag + 0.5
    return 0.0


def free_even_range(count, lo=34000, hi=60000):
    """free_even_range finds count consecutive even ports free on UDP (plus the odd ones)."""
    import socket
    base = lo
    while base + 2 * count < hi:
        ok = True
        for p in range(base, base + 2 * count, 2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                ok = False
                base = p + 2
                break
            finally:
                s.close()
        if ok:
            return base
    raise RuntimeError("no free range of %d even ports" % count)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calls", type=int, default=500, help="bridged calls (legs = 2 x calls)")
    ap.add_argument("--measure", type=int, default=60, help="seconds measured")
    ap.add_argument("--rate", type=int, default=50, help="calls set up per second")
    ap.add_argument("--workers", type=int, default=2, help="cc.media_workers")
    ap.add_argument("--out", help="append the result as Markdown to this file")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()

    legs = 2 * opts.calls
    ramp = legs / opts.rate + 10
    warmup = int(ramp + 15)
    work = tempfile.mkdtemp(prefix="bench_media.")
    harness.WORK_ROOT = work
    loader = os.path.join(work, "rtp_load")
    subprocess.check_call(["cc", "-O2", "-o", loader, os.path.join(HERE, "rtp_load.c"), "-lm"])

    rtp_base = free_even_range(2 * legs + 200, 34000)
    phone_base = free_even_range(legs, rtp_base + 4 * legs + 400)
    cluster = harness.Cluster("bench_media", media_workers=opts.workers, extra_conf={
        "cc.rtp_port_min": str(rtp_base), "cc.rtp_port_max": str(rtp_base + 4 * legs + 200),
        "cc.max_calls": str(legs + 50), "cc.rtp_timeout_s": "0", "max_connections": "100"})
    cluster.start()
    ok = False
    try:
        mu.number_with_flow(cluster, "8000", mu.pause_flow(300))
        pids = dict(cluster.sql("SELECT worker, pid FROM cc.media_workers"))
        rss0 = {w: rss_kb(p) for w, p in pids.items()}
        shm = cluster.one("SELECT size FROM pg_shmem_allocations WHERE name = 'pg_callcenter'")
        max_sessions = cluster.one("SELECT setting::int FROM pg_settings WHERE name = 'cc.max_calls'") * 2

        load = subprocess.Popen([loader, str(phone_base), str(legs), str(warmup), str(opts.measure)],
                                stdout=subprocess.PIPE, text=True)
        assert load.stdout.readline().strip() == "ready"
        t_start = time.monotonic()

        scen = os.path.join(work, "bench_uac.xml")
        with open(scen, "w") as f:
            f.write(SCENARIO % {"hold_ms": int((warmup + opts.measure + 20) * 1000)})
        inf = os.path.join(work, "ports.csv")
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for i in range(legs):
                f.write("%d;\n" % (phone_base + 2 * i))
        sipp_log = open(os.path.join(work, "sipp.log"), "w")
        sipp = subprocess.Popen(["sipp", "-sf", scen, "-inf", inf, "-t", "u1", "-i", "127.0.0.1",
                                 "-p", str(harness.free_port()), "-s", "8000", "-r", str(opts.rate),
                                 "-l", str(legs), "-m", str(legs), "-nostdin", "-trace_err",
                                 "-timeout", "%ds" % (warmup + opts.measure + 120),
                                 "127.0.0.1:%d" % cluster.sip_port],
                                stdout=sipp_log, stderr=subprocess.STDOUT, cwd=work)

        harness.wait_until(lambda: cluster.one("SELECT count(*) FROM cc.media_sessions WHERE state = 'open'")
                           >= legs, ramp + 60, interval=1, what="%d legs with media" % legs)
        rows = cluster.sql("SELECT leg_id, l.call_id, split_part(remote, ':', 2)::int AS port "
                           "FROM cc.media_sessions s JOIN cc.legs l ON l.id = s.leg_id ORDER BY port")
        for k in range(0, len(rows) - 1, 2):
            a, b = rows[k], rows[k + 1]
            mu.send_actions(cluster, a[1], [{"type": "bridge", "leg": str(a[0]), "with": str(b[0])}])
        harness.wait_until(lambda: cluster.one("SELECT count(*) FROM cc.media_sessions WHERE bridged_with IS NOT NULL")
                           >= legs, 60, interval=1, what="every leg bridged")

        # the measurement window opens at t_start + warmup (rtp_load's clock too)
        wait = t_start + warmup - time.monotonic()
        assert wait > 0, "setup took longer than the warm-up; raise --rate or lower --calls"
        time.sleep(wait)
        cpu0 = {w: cpu_seconds(p) for w, p in pids.items()}
        machine0 = machine_cpu_times()
        c0 = cluster.sql("SELECT sum(packets_in), sum(lost), sum(late), sum(ticks_late) FROM cc.media_workers")[0]
        rss1 = {w: rss_kb(p) for w, p in pids.items()}
        lags0 = tick_lags(cluster)
        t0 = time.monotonic()
        time.sleep(opts.measure)
        cpu1 = {w: cpu_seconds(p) for w, p in pids.items()}
        steal = steal_percent(machine0, machine_cpu_times())
        c1 = cluster.sql("SELECT sum(packets_in), sum(lost), sum(late), sum(ticks_late) FROM cc.media_workers")[0]
        span = time.monotonic() - t0
        lags1 = tick_lags(cluster)
        lag_hist = {}
        for (w, lag), n in lags1.items():
            d = n - lags0.get((w, lag), 0)
            if d:
                lag_hist[lag] = lag_hist.get(lag, 0) + d
        result = json.loads(load.stdout.readline())
        load.wait()
        sipp.wait(timeout=120)

        pkts_in = int(c1[0] - c0[0])
        ours_lost = int((c1[1] - c0[1]) + (c1[2] - c0[2]))
        expected = result["received"] + result["gaps"]
        loss = 100.0 * (result["gaps"] + ours_lost) / max(1, expected + pkts_in)
        cpu = {w: 100.0 * (cpu1[w] - cpu0[w]) / span for w in pids}
        mem_call = sum(rss1[w] - rss0[w] for w in pids) / opts.calls
        shm_call = 2 * shm / max_sessions / 1024.0
        met = (opts.calls >= 500 and loss < 0.1 and result["jitter_p99_ms"] < 5.0
               and result["legs_receiving"] == legs)
        lines = [
            "machine: %(nproc)s cores %(cpu)s, %(mem_gib)d GiB, %(uname)s" % machine(),
            "date: %s" % time.strftime("%Y-%m-%d %H:%M"),
            "bridged calls: %d (%d legs, two inbound legs per call), %d media workers, %d s measured"
            % (opts.calls, legs, opts.workers, opts.measure),
            "packets: phones received %d (%d sequence gaps); we received %d (%d lost or late)"
            % (result["received"], result["gaps"], pkts_in, ours_lost),
            "loss added by us: %.4f %%" % loss,
            "send-interval jitter at the phones: p50 %.1f ms, p99 %.1f ms, max %.1f ms"
            % (result["jitter_p50_ms"], result["jitter_p99_ms"], result["jitter_max_ms"]),
            "CPU per media worker: %s" % ", ".join("cc media %d %.1f %%" % (w, cpu[w]) for w in sorted(cpu)),
            "CPU time the hypervisor took from this VM (steal) in the window: %.1f %% of the machine's" % steal,
            "late ticks (> 5 ms) in the window: %d of %d; tick lag (the workers' own send-interval jitter): p50 %.1f ms, p99 %.1f ms"
            % (int(c1[3] - c0[3]), sum(lag_hist.values()), histogram_percentile(lag_hist, 0.5), histogram_percentile(lag_hist, 0.99)),
            "memory per call: %.1f kB private (RssAnon growth of the media workers) + %.1f kB shared (two sessions, allocated at start)"
            % (mem_call, shm_call),
            "result: %s (target: >= 500 calls, loss < 0.1 %%, p99 jitter < 5 ms)" % ("met" if met else "NOT met"),
        ]
        print("\n".join(lines))
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## %s\n\n" % time.strftime("%Y-%m-%d %H:%M"))
                for line in lines:
                    f.write("- %s\n" % line)
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
        if not ok:
            print("cluster kept: %s" % cluster.basedir)


if __name__ == "__main__":
    main()
