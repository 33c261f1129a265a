#!/usr/bin/python3
"""hangup_bye_latency.py: how long from an application's COMMIT of
cc.hangup(call) until the BYE is on the wire (issue 8, Done when 8; target
p99 <= 20 ms).

Starts a throwaway cluster (test/harness.py) with a number whose flow
answers and waits (a pause of 300 s), and a small SIP caller in this
process (one UDP socket, raw SIP: INVITE with SDP, ACK, 200 to BYE) that
timestamps each BYE as it arrives.  Calls are set up in pools of --pool
(default 20); once a pool is answered, each of its calls is hung up in
turn: cc.hangup(call) in a transaction, t0 = time.time() as soon as
COMMIT has returned, t1 when the BYE with that call's Call-ID arrives;
latency = t1 - t0 (one process, one clock).  The COMMIT's own duration (the
application's WAL flush, before t0) is reported beside it.  The calls of the pool not hung up yet stay up
meanwhile (their RTP flows), so cc sip and the media worker are not idle.

    /usr/bin/python3 bench/hangup_bye_latency.py [-n 500] [--pool 20] [--fsync on|off] [--out FILE]

Run as an unprivileged user after `make install` (scripts/bench.sh does
both).  Prints the machine, the date and p50/p95/p99/max in ms; --out
appends the same as Markdown to FILE.
"""

import argparse
import json
import os
import random
import re
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "test"))
import harness  # noqa: E402
from sip_options_latency import machine, percentile  # noqa: E402

NUMBER = "8800"


class Caller:
    """Caller places calls from one UDP socket on 127.0.0.1 and records, per
    Call-ID, the 200 to its INVITE and the arrival time of our BYE (which
    it answers 200).  RTP goes to a sink socket that drops it."""

    def __init__(self, sip_port):
        self.sip = ("127.0.0.1", sip_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind(("127.0.0.1", 0))
        self.sink.settimeout(0.2)
        self.rtp_port = self.sink.getsockname()[1]
        self.answered = {}   # Call-ID -> 200 OK (text)
        self.byes = {}       # Call-ID -> arrival time
        self.cond = threading.Condition()
        self.stop = False
        self.threads = [threading.Thread(target=self._rx, daemon=True),
                        threading.Thread(target=self._drain, daemon=True)]
        for t in self.threads:
            t.start()

    def _drain(self):
        while not self.stop:
            try:
                self.sink.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return

    def _rx(self):
        while not self.stop:
            try:
                data, addr = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            at = time.time()
            text = data.decode(errors="replace")
            m = re.search(r"^(?:Call-ID|i):\s*(\S+)", text, re.M | re.I)
            if not m:
                continue
            cid = m.group(1)
            if text.startswith("BYE "):
                with self.cond:
                    self.byes.setdefault(cid, at)
                    self.cond.notify_all()
                self.sock.sendto(self._ok(text), addr)
            elif text.startswith("SIP/2.0 200") and " INVITE" in re.search(r"^CSeq:.*$", text, re.M | re.I).group(0):
                with self.cond:
                    self.answered[cid] = text
                    self.cond.notify_all()
                self._ack(text, cid)   # every 200 (retransmissions too) gets its ACK

    @staticmethod
    def _ok(req):
        head = req.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        keep = [h for h in head if h.split(":", 1)[0].strip().lower() in ("via", "v", "from", "f", "to", "t",
                                                                            "call-id", "i", "cseq")]
        return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()

    def invite(self):
        """invite sends one INVITE and returns its Call-ID."""
        cid = "%016x@bench" % random.getrandbits(64)
        tag = "%08x" % random.getrandbits(32)
        sdp = ("v=0\r\no=bench 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
               "a=sendrecv\r\n" % self.rtp_port)
        uri = "sip:%s@127.0.0.1:%d" % (NUMBER, self.sip[1])
        msg = ("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%08x;rport\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:+15550000@127.0.0.1:%d>;tag=%s\r\nTo: <%s>\r\n"
               "Call-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:bench@127.0.0.1:%d>\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s" % (
                   uri, self.port, random.getrandbits(32), self.port, tag, uri, cid, self.port, len(sdp), sdp))
        self.sock.sendto(msg.encode(), self.sip)
        return cid

    def _ack(self, ok, cid):
        hdr = lambda n: re.search(r"^(?:%s):\s*(.*)$" % n, ok, re.M | re.I).group(1).strip()  # noqa: E731
        contact = re.search(r"<([^>]+)>", hdr("Contact|m")).group(1)
        msg = ("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%08x;rport\r\n"
               "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
               "Content-Length: 0\r\n\r\n" % (contact, self.port, random.getrandbits(32), hdr("From|f"),
                                              hdr("To|t"), cid))
        self.sock.sendto(msg.encode(), self.sip)

    def wait(self, what, cids, timeout):
        """wait waits until every Call-ID of cids is in self.<what>; returns those missing."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                missing = [c for c in cids if c not in getattr(self, what)]
                left = deadline - time.time()
                if not missing or left <= 0:
                    return missing
                self.cond.wait(min(left, 0.1))

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join(1)
        self.sock.close()
        self.sink.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=500, help="hangups measured (default 500)")
    ap.add_argument("--warmup", type=int, default=20, help="hangups not counted")
    ap.add_argument("--pool", type=int, default=20, help="calls set up before each round of hangups")
    ap.add_argument("--fsync", choices=("on", "off"), default="on",
                    help="fsync of the cluster (default on: COMMIT waits for the disk)")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a BYE counts as lost")
    ap.add_argument("--out", help="append the results as Markdown to this file")
    ap.add_argument("--keep", action="store_true", help="keep the cluster's files")
    opts = ap.parse_args()

    if os.geteuid() == 0:
        print("hangup_bye_latency.py: run as an unprivileged user", file=sys.stderr)
        return 2

    harness.WORK_ROOT = os.path.join(HERE, "tmp_check")
    cluster = harness.Cluster("bench_hangup_bye", extra_conf={"fsync": opts.fsync, "cc.rtp_timeout_s": "0"})
    ok = False
    lat, commits, lost, refused = [], [], 0, 0
    wake, rest = [], []
    split = []   # (command, t0, t1) of the counted hangups, for the breakdown
    try:
        cluster.start()
        graph = {"nodes": [
            {"id": "start", "type": "start", "connections": {"next": "wait"}},
            {"id": "wait", "type": "pause", "properties": {"seconds": 300}, "connections": {"next": "bye"}},
            {"id": "bye", "type": "end"}]}
        flow = cluster.one("INSERT INTO cc.flows (name) VALUES ('bench pause') RETURNING id")
        cluster.sql("INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) "
                    "VALUES (%s, %s, true, now())", flow, json.dumps(graph))
        cluster.sql("INSERT INTO cc.numbers (number, inbound_flow_id) VALUES (%s, %s)", NUMBER, flow)
        cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('bench', 'peering', '{127.0.0.1/32}')")
        caller = Caller(cluster.sip_port)
        conn = cluster.connect()
        done = 0
        try:
            while done < opts.warmup + opts.n:
                cids = [caller.invite() for _ in range(min(opts.pool, opts.warmup + opts.n - done))]
                missing = caller.wait("answered", cids, 30)
                if missing:
                    raise RuntimeError("%d of %d calls were not answered" % (len(missing), len(cids)))
                # the call of each Call-ID, once its customer leg is answered in the tables
                calls = harness.wait_until(lambda: (lambda rows: rows if len(rows) == len(cids) else None)(
                    cluster.sql("SELECT l.sip_call_id, l.call_id FROM cc.legs AS l JOIN cc.calls AS c ON c.id = l.call_id "
                                "WHERE l.sip_call_id = ANY (%s) AND l.state = 'answered' AND c.state = 'ivr'", cids)),
                    30, what="the pool's calls in the tables")
                time.sleep(0.5)
                for cid, call in calls:
                    with conn.cursor() as cur:
                        cur.execute("SELECT cc.hangup(%s)", (call,))
                        command = cur.fetchone()[0]
                    before = time.time()
                    conn.commit()
                    t0 = time.time()
                    gone = caller.wait("byes", [cid], opts.timeout)
                    counted = done >= opts.warmup
                    done += 1
                    if gone:
                        lost += counted
                        continue
                    if counted:
                        lat.append((caller.byes[cid] - t0) * 1000.0)
                        commits.append((t0 - before) * 1000.0)
                        split.append((command, t0, caller.byes[cid]))
        finally:
            conn.close()
            caller.close()
        refused = cluster.one("SELECT count(*) FROM cc.commands WHERE kind = 'hangup' AND state = 'failed'")
        # Where the time goes: COMMIT returned -> claimed (the NOTIFY reaching
        # cc sip, the rest of its loop turn, the claim transaction's start),
        # claimed -> BYE received (cc.command_decide, the claim's COMMIT,
        # nua_bye, UDP).  claimed_at is clock_timestamp() in the claim; same
        # machine, same clock.
        claimed = dict(cluster.sql("SELECT id, extract(epoch FROM claimed_at)::float8 FROM cc.commands "
                                   "WHERE id = ANY (%s::uuid[])", [c for c, _, _ in split]))
        wake = sorted((claimed[c] - t0) * 1000.0 for c, t0, _ in split if claimed.get(c))
        rest = sorted((t1 - claimed[c]) * 1000.0 for c, _, t1 in split if claimed.get(c))
        ok = True
    finally:
        cluster.cleanup(keep=opts.keep or not ok)
        if not ok:
            print("cluster files kept in %s" % cluster.basedir, file=sys.stderr)

    lat.sort()
    commits.sort()
    m = machine()
    res = {"p50": percentile(lat, 50), "p95": percentile(lat, 95), "p99": percentile(lat, 99),
           "max": lat[-1] if lat else float("nan"), "mean": statistics.fmean(lat) if lat else float("nan")}
    met = lost == 0 and refused == 0 and lat and res["p99"] <= 20.0
    text = [
        "## hangup_bye_latency: COMMIT of cc.hangup() to BYE on the wire",
        "",
        "- date: %s" % time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "- machine: %s cores, %s" % (m["nproc"], m["cpu"]),
        "- kernel: %s" % m["uname"],
        "- server: %s, fsync=%s, cc.media_workers=1" % (m["postgres"], opts.fsync),
        "- hangups: %d one after another (+%d warm-up), calls set up %d at a time; %d lost (> %.0f s), "
        "%d hangup commands failed" % (opts.n, opts.warmup, opts.pool, lost, opts.timeout, refused),
        "",
        "| p50 | p95 | p99 | max | mean |",
        "| --- | --- | --- | --- | --- |",
        "| %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |" % (
            res["p50"], res["p95"], res["p99"], res["max"], res["mean"]),
        "",
        "the application's COMMIT itself (before the clock starts): p50 %.2f ms, p99 %.2f ms" % (
            percentile(commits, 50), percentile(commits, 99)),
        "",
        "breakdown: COMMIT returned -> command claimed (NOTIFY, cc sip's loop turn, claim start) p50 %.2f ms, "
        "p99 %.2f ms; claimed -> BYE received (cc.command_decide, claim COMMIT, nua_bye, UDP) p50 %.2f ms, "
        "p99 %.2f ms" % (percentile(wake, 50), percentile(wake, 99), percentile(rest, 50), percentile(rest, 99)),
        "",
        "target p99 <= 20 ms: %s" % ("met" if met else "NOT met"),
        "",
    ]
    print("\n".join(text))
    if opts.out:
        with open(opts.out, "a") as f:
            f.write("\n".join(text) + "\n")
    return 0 if lost == 0 and lat else 1


if __name__ == "__main__":
    sys.exit(main())
