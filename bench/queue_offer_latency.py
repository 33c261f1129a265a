#!/usr/bin/python3
"""queue_offer_latency.py: after an agent turns idle, how soon the INVITE
to its phone is on the wire (issue 6, Done when 4, second half; target p99
<= 20 ms).

Starts a throwaway cluster (test/harness.py, fsync on) with its workers,
and a UDP SIP phone in this process (127.0.0.1, answers every INVITE 486
Busy Here at once, 200 to anything else but ACK).  One queue, one agent
whose registration (a row of cc.registrations: the benchmark's shortcut)
points at the phone, one caller waiting in the queue (a call and its
customer leg made in SQL and put there with cc.enqueue).  Each iteration:
the agent is made busy and its busy delay cleared, then the time is taken
just before the COMMIT of `SELECT cc.agent_set_state(agent, 'idle')`; the
figure is the time until the INVITE arrives at the phone, one clock
(time.perf_counter).  The path measured: the agent's transaction
dispatches inline (cc.queue_kick: the offer, the agent leg, the dial
action in a call_actions command), NOTIFY on commit, cc sip's LISTEN
socket, the claim transaction (cc.command_decide), nua_invite, UDP.  The
486 makes the offer fail (busy), so the caller waits again for the next
iteration; the next one starts --gap (50 ms) after that, so cc sip is not
still busy with the previous one's events.  The latency includes the
COMMIT itself (fsync).

    /usr/bin/python3 bench/queue_offer_latency.py [-n 500] [--warmup 20] [--gap 0.05] [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and the figures; --out appends them
as Markdown.
"""

import argparse
import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from sip_options_latency import machine, percentile  # noqa: E402


class Phone:
    """Phone is an agent's phone on UDP: it keeps the arrival time
    (perf_counter) of each INVITE by its X-CC-Call-Id and Call-ID, and
    answers it 486."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.invites = []          # (arrival, Call-ID)
        self.cond = threading.Condition()
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            at = time.perf_counter()
            m = re.match(rb"([A-Z]+) \S+ SIP/2\.0\r\n", data)
            if not m or m.group(1) == b"ACK":
                continue
            if m.group(1) == b"INVITE":
                cid = re.search(rb"\r\n(?:Call-ID|i):\s*(\S+)", data, re.I)
                with self.cond:
                    self.invites.append((at, cid.group(1).decode() if cid else None))
                    self.cond.notify_all()
                code = b"486 Busy Here"
            else:
                code = b"200 OK"
            try:
                self.sock.sendto(self.response(data, code), addr)
            except OSError:
                pass

    @staticmethod
    def response(req, status):
        head = req.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
        out = [b"SIP/2.0 " + status]
        for h in head:
            name = h.split(b":", 1)[0].strip().lower()
            if name in (b"via", b"v", b"from", b"f", b"call-id", b"i", b"cseq"):
                out.append(h)
            elif name in (b"to", b"t"):
                out.append(h if b"tag=" in h else h + b";tag=bench")
        out.append(b"Content-Length: 0")
        return b"\r\n".join(out) + b"\r\n\r\n"

    def wait_invite(self, after, timeout=5.0):
        """wait_invite returns the arrival time of the first INVITE after index after."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.invites) <= after:
                left = deadline - time.time()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.invites[after][0]

    def close(self):
        self.stop = True
        self.thread.join(1)
        self.sock.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=500, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--gap", type=float, default=0.05,
                    help="seconds between iterations, so cc sip has finished the previous one's tail")
    ap.add_argument("--fsync", choices=("on", "off"), default="on")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true")
    opts = ap.parse_args()
    if os.geteuid() == 0:
        print("queue_offer_latency.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_queue_offer", extra_conf={"fsync": opts.fsync})
    phone = Phone()
    ok = False
    try:
        cluster.start()
        agent = cluster.one("INSERT INTO cc.agents (name, extension) VALUES ('Bench', '8001') RETURNING id")
        cluster.sql("INSERT INTO cc.registrations (agent_id, contact, expires_at) "
                    "VALUES (%s, %s, now() + interval '1 day')", agent, "sip:8001@127.0.0.1:%d" % phone.port)
        q = cluster.one("INSERT INTO cc.queues (name, ring_timeout_s, memory_days) VALUES ('bench', 15, 0) RETURNING id")
        cluster.sql("INSERT INTO cc.queue_members (queue_id, agent_id) VALUES (%s, %s)", q, agent)
        cluster.sql("SELECT cc.agent_login(%s)", agent)
        cluster.sql("SELECT cc.agent_set_state(%s, 'busy', NULL)", agent)
        call = cluster.one("INSERT INTO cc.calls (direction, state, caller, callee, answered_at) "
                           "VALUES ('inbound', 'ivr', '+15550001', '+15559000', now()) RETURNING id")
        cluster.sql("INSERT INTO cc.legs (call_id, kind, direction, state, answered_at) "
                    "VALUES (%s, 'customer', 'inbound', 'answered', now())", call)
        conn = cluster.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM cc.calls WHERE id = %s FOR UPDATE", (call,))
            cur.execute("SELECT cc.enqueue(%s, jsonb_build_object('queue', %s::text))", (call, q))
        conn.commit()

        lat = []
        late = 0
        for i in range(opts.warmup + opts.n):
            # the previous offer decided (486 -> rejected) and the caller waiting again
            deadline = time.time() + 10
            while True:
                with conn.cursor() as cur:
                    cur.execute("SELECT (SELECT count(*) FROM cc.offers WHERE call_id = %s AND outcome = 'offered'), "
                                "       (SELECT state FROM cc.queue_entries WHERE call_id = %s "
                                "         ORDER BY entered_at DESC LIMIT 1), "
                                "       (SELECT state FROM cc.agents WHERE id = %s)", (call, call, agent))
                    open_offers, entry, state = cur.fetchone()
                conn.commit()
                if open_offers == 0 and entry == "waiting" and state in ("idle", "busy"):
                    break
                if time.time() > deadline:
                    raise RuntimeError("iteration %d: the offer did not end (offers %d, entry %s, agent %s)"
                                       % (i, open_offers, entry, state))
                time.sleep(0.005)
            # the previous iteration's tail (the 486's events, the timers they
            # set) is cc sip's work: let it finish, so that only this
            # iteration's path is timed
            time.sleep(opts.gap)
            with conn.cursor() as cur:
                cur.execute("SELECT cc.agent_set_state(%s, 'busy', NULL)", (agent,))
                cur.execute("UPDATE cc.agent_stats SET ready_at = NULL WHERE agent_id = %s", (agent,))
            conn.commit()
            n_before = len(phone.invites)
            with conn.cursor() as cur:
                cur.execute("SELECT cc.agent_set_state(%s, 'idle', NULL)", (agent,))
                t0 = time.perf_counter()
                conn.commit()
            at = phone.wait_invite(n_before, timeout=5.0)
            if at is None:
                raise RuntimeError("iteration %d: no INVITE within 5 s after the agent turned idle" % i)
            if i >= opts.warmup:
                ms = (at - t0) * 1000
                lat.append(ms)
                late += ms > 20
        conn.close()
        lat.sort()
        m = machine()
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        p50, p95, p99 = percentile(lat, 50), percentile(lat, 95), percentile(lat, 99)
        print("machine: %s cores, %s, %s" % (m["nproc"], m["cpu"], m["postgres"]))
        print("agent idle -> INVITE on the wire, %d iterations (after %d warm-up), fsync %s:"
              % (len(lat), opts.warmup, opts.fsync))
        print("  p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; %d over 20 ms; target p99 <= 20 ms: %s"
              % (p50, p95, p99, lat[-1], late, "met" if p99 <= 20 else "NOT met"))
        print("load average at the end: %s" % load)
        if opts.out:
            with open(opts.out, "a") as f:
                f.write("\n## queue_offer_latency %s\n\n" % time.strftime("%Y-%m-%d %H:%M"))
                f.write("- machine: %s cores, %s, %s, %s\n" % (m["nproc"], m["cpu"], m["uname"], m["postgres"]))
                f.write("- %d iterations after %d warm-up, %.0f ms apart, fsync %s\n"
                        % (len(lat), opts.warmup, opts.gap * 1000, opts.fsync))
                f.write("- agent idle (COMMIT) -> INVITE at the phone: p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, "
                        "max %.2f ms, %d over 20 ms\n" % (p50, p95, p99, lat[-1], late))
                f.write("- load average at the end: %s (other work was running)\n" % load)
        ok = True
    finally:
        phone.close()
        cluster.cleanup(keep=opts.keep or not ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
