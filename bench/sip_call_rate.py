#!/usr/bin/python3
"""sip_call_rate.py: inbound calls per second that cc sip carries (issue 3,
Done when 9; target >= 200 calls/s for 60 s with no failed call and every
call row ended).

Starts a throwaway cluster (test/harness.py) with a peering trunk for
127.0.0.1, a number whose flow answers and hangs up after 1 s (start ->
pause 1 s -> end), and RTP ports for the calls in flight.  sipp places
calls at a fixed rate for the duration (scenario
test/sipp/call_answered_remote_bye.xml: INVITE, 200 with SDP, ACK, our
BYE after 1 s, 200).  Measures: sipp's successful and failed calls, the
calls per second achieved, the rows of cc.calls not ended a while after
the last call, and the CPU time of the cc sip process (utime + stime from
/proc/PID/stat) over the run, as a percentage of one core and per call,
and the share of the machine's CPU time the hypervisor took (steal).

    /usr/bin/python3 bench/sip_call_rate.py [--rate 200] [--seconds 60] [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Other processes on the machine share its cores: say so when
recording a figure.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test", "e2e"))
import harness  # noqa: E402
import sip_util  # noqa: E402
from sip_options_latency import cpu_seconds, machine, machine_cpu_times, steal_percent  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=200, help="calls per second (default 200)")
    ap.add_argument("--seconds", type=int, default=60, help="how long calls are placed (default 60)")
    ap.add_argument("--hold", type=float, default=1.0, help="seconds the flow keeps each call (default 1)")
    ap.add_argument("--fsync", choices=("on", "off"), default="on",
                    help="fsync of the cluster (default on: COMMIT waits for the disk)")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files")
    opts = ap.parse_args()

    if os.geteuid() == 0:
        print("sip_call_rate.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    total = opts.rate * opts.seconds
    # calls in flight: rate x (hold + set-up), two RTP ports each, with room
    rtp_min, rtp_max = harness.free_port_range(4 * opts.rate * int(opts.hold + 3), lo=32000, hi=60000)
    cluster = harness.Cluster("bench_call_rate", extra_conf={
        "fsync": opts.fsync, "cc.rtp_port_min": str(rtp_min), "cc.rtp_port_max": str(rtp_max),
        "cc.max_calls": str(max(1000, 4 * opts.rate * int(opts.hold + 3))), "max_connections": "50"})
    ok = False
    try:
        cluster.start()
        flow = sip_util.pause_flow(cluster, "bench", opts.hold)
        sip_util.number(cluster, "5550200", flow)
        sip_util.peering_trunk(cluster, "bench-peer")
        sip_pid = cluster.worker_pid("cc sip")
        print("cc sip pid %d; placing %d calls" % (sip_pid, total), file=sys.stderr, flush=True)

        logdir = tempfile.mkdtemp(prefix="sipp.rate.", dir=harness.WORK_ROOT)
        screen = os.path.join(logdir, "screen.log")
        cmd = ["sipp", "-sf", harness.scenario_path("call_answered_remote_bye"), "-t", "u1",
               "-i", "127.0.0.1", "-p", str(harness.free_port()), "-mp", str(harness.sipp_media_port()),
               "-s", "5550200", "-key", "caller", "5550100",
               "-r", str(opts.rate), "-rp", "1000", "-m", str(total), "-l", str(opts.rate * 20),
               "-timeout", "%ds" % (opts.seconds + 60), "-nostdin",
               "-trace_screen", "-screen_file", screen,
               "-trace_err", "-error_file", os.path.join(logdir, "errors.log"),
               "127.0.0.1:%d" % cluster.sip_port]
        cpu0 = cpu_seconds(sip_pid)
        machine0 = machine_cpu_times()
        t0 = time.time()
        peak_live = 0
        live_by_second = []
        with open(os.path.join(logdir, "stdout.log"), "w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=logdir)
            # calls in progress, once a second: how far cc sip lags behind sipp
            while proc.poll() is None and time.time() - t0 < opts.seconds + 120:
                live_by_second.append(cluster.one("SELECT count(*) FROM cc.calls WHERE state <> 'ended'"))
                peak_live = max(peak_live, live_by_second[-1])
                time.sleep(1)
            if proc.poll() is None:
                proc.kill()
            code = proc.wait()
        elapsed = time.time() - t0
        cpu = cpu_seconds(sip_pid) - cpu0
        steal = steal_percent(machine0, machine_cpu_times())

        text = open(screen, errors="replace").read() if os.path.exists(screen) else ""

        def counter(name):
            found = re.findall(r"%s\s*\|\s*\d+\s*\|\s*(\d+)" % name, text)
            return int(found[-1]) if found else None
        success = counter("Successful call")
        failed = counter("Failed call")

        deadline = time.time() + 30
        while time.time() < deadline:
            live = cluster.one("SELECT count(*) FROM cc.calls WHERE state <> 'ended'")
            if live == 0:
                break
            time.sleep(0.5)
        rows = cluster.one("SELECT count(*) FROM cc.calls")
        ended = cluster.one("SELECT count(*) FROM cc.calls WHERE state = 'ended'")
        causes = dict(cluster.sql("SELECT end_cause, count(*) FROM cc.calls GROUP BY 1"))
        achieved = (success or 0) / max(1.0, elapsed - opts.hold)
        met = (success == total and failed == 0 and rows == total and ended == rows
               and opts.rate >= 200)
        info = machine()
        result = {
            "date": time.strftime("%Y-%m-%d"), "rate": opts.rate, "seconds": opts.seconds,
            "calls": total, "successful": success, "failed": failed, "sipp_exit": code,
            "elapsed_s": round(elapsed, 1), "achieved_cps": round(achieved, 1),
            "peak_calls_in_progress": peak_live, "calls_in_progress_each_second": live_by_second,
            "call_rows": rows, "ended_rows": ended, "end_causes": causes,
            "cc_sip_cpu_s": round(cpu, 1), "cc_sip_cpu_pct_of_one_core": round(100 * cpu / elapsed, 1),
            "cc_sip_cpu_ms_per_call": round(1000 * cpu / total, 2),
            "steal_pct": round(steal, 1),
            "fsync": opts.fsync, "machine": info, "met": met,
        }
        print(json.dumps(result, indent=2))
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## %s: %d calls/s for %d s (fsync %s)\n\n" % (result["date"], opts.rate, opts.seconds, opts.fsync))
                f.write("- machine: %s cores, %s, %s\n" % (info["nproc"], info["cpu"], info["postgres"]))
                f.write("- sipp: %s successful, %s failed (exit %d), %.1f s\n" % (success, failed, code, elapsed))
                f.write("- call rows: %d, ended: %d, causes: %s; at most %d calls in progress\n"
                        % (rows, ended, causes, peak_live))
                f.write("- cc sip CPU: %.1f s = %.1f %% of one core, %.2f ms per call\n"
                        % (cpu, 100 * cpu / elapsed, 1000 * cpu / total))
                f.write("- CPU time the hypervisor took from this VM (steal) during the run: %.1f %% of the machine's\n"
                        % steal)
                f.write("- target >= 200 calls/s, none failed, every row ended: %s\n" % ("met" if met else "NOT met"))
        ok = True
        return 0 if met else 1
    finally:
        cluster.cleanup(keep=opts.keep or not ok)


if __name__ == "__main__":
    sys.exit(main())
