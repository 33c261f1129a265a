"""test_queues.py: end-to-end tests of issue 6 (queues and agents), "Done
when" line 3: agents' phones are sipp UASes registered through our
registrar (REGISTER with digest), callers are sipp UACs coming in through a
peering trunk for 127.0.0.1 to a number whose flow transfers them to a
queue (transfer_queue node); cc sip, the media worker and the queue SQL
do the rest.  Each test has its own queue, agents and phones.

- test_6_distribution_longest_idle_then_round_robin: three phones that
  hold their calls 8, 1 and 3 s; rounds of three callers a second apart
  are offered in the order each strategy says (longest_idle: never called
  first, then the call that ended longest ago; round_robin: offered
  longest ago), and the two orders differ on the same data.
- test_6_twenty_callers_three_agents_served_in_order: 20 callers from one
  sipp run, three phones: every caller answered by an agent, first offers
  in the order callers entered, no agent ever on two calls at once.
- test_6_no_answer_skipped_after_ring_timeout_then_break: a phone that
  never answers is CANCELed after the queue's ring timeout, the caller goes
  to the next agent; at max_no_answer the agent is on break "no answer".
- test_6_wrap_up_keeps_agent_out_for_its_seconds
- test_6_overflow_when_nobody_logged_in
- test_6_waiting_caller_hears_its_position: the announcement (TTS with
  the position) is played to the caller's leg and the RTP the caller
  receives is that rendering.

Timing: generous waits (the machine is shared), assertions that fail when
the rule breaks.  The whole file takes about two minutes.
"""

import json
import math
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402
import media_util as mu  # noqa: E402
import sip_util as su  # noqa: E402


# -- helpers ------------------------------------------------------------------

def _queue(cluster, name, **cols):
    """_queue makes a queue (memory routing off, so callers go by strategy)."""
    cols.setdefault("memory_days", 0)
    keys = ["name"] + list(cols)
    return cluster.one("INSERT INTO cc.queues (%s) VALUES (%s) RETURNING id"
                       % (", ".join(keys), ", ".join(["%s"] * len(keys))), name, *cols.values())


def _number_to_queue(cluster, digits, queue):
    """_number_to_queue binds digits to a published flow start -> transfer_queue(queue)
    and makes sure sipp's address (127.0.0.1) is a peering trunk."""
    graph = {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "q"}},
        {"id": "q", "type": "transfer_queue", "properties": {"queue": str(queue)}}]}
    flow = cluster.one("INSERT INTO cc.flows (name) VALUES (%s) RETURNING id", "flow-" + digits)
    cluster.sql("INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) VALUES (%s, %s::jsonb, true, now())",
                flow, json.dumps(graph))
    su.number(cluster, digits, flow)
    cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('sipp', 'peering', '{127.0.0.1/32}') "
                "ON CONFLICT (name) DO NOTHING")


class Phone:
    """Phone is an agent with a sipp UAS playing its phone (scenario, -m
    calls, -d hold_ms), registered with digest through our registrar."""

    def __init__(self, cluster, name, extension, scenario="queue_agent_phone", hold_ms=1000, calls=20,
                 timeout=170, **agent_cols):
        self.cluster = cluster
        self.extension = extension
        self.id = su.agent(cluster, name, extension, "pw" + extension)
        for k, v in agent_cols.items():
            cluster.sql("UPDATE cc.agents SET %s = %%s WHERE id = %%s" % k, v, self.id)
        self.srv = su.sipp_server(scenario, calls=calls, timeout=timeout, extra=["-d", str(hold_ms)])
        su.unblock(cluster)
        r = su.sipp(cluster, "reg_agent", keys={"contact_port": self.srv.port, "expires": 600},
                    extra=["-s", extension, "-au", extension, "-ap", "pw" + extension], name="reg_" + extension)
        assert r.ok, "registering %s failed: %r\n%s" % (extension, r, r.logs())
        assert cluster.one("SELECT count(*) FROM cc.registrations WHERE agent_id = %s", self.id) == 1

    def member_of(self, queue, **cols):
        keys = ["queue_id", "agent_id"] + list(cols)
        self.cluster.sql("INSERT INTO cc.queue_members (%s) VALUES (%s)"
                         % (", ".join(keys), ", ".join(["%s"] * len(keys))), queue, self.id, *cols.values())
        return self

    def login(self):
        assert self.cluster.one("SELECT cc.agent_login(%s)", self.id) == "idle"
        return self

    def state(self):
        return self.cluster.one("SELECT state FROM cc.agents WHERE id = %s", self.id)

    def invites(self):
        """invites: how many INVITEs the phone received (sipp's message log)."""
        try:
            with open(os.path.join(self.srv.logdir, "messages.log"), errors="replace") as f:
                return sum(1 for line in f if line.startswith("INVITE sip:"))
        except OSError:
            return 0

    def close(self):
        self.srv.kill()


class Callers:
    """Callers runs sipp placing `calls` calls (queue_caller.xml) to digits
    in the background, from caller numbers prefix + 1, prefix + 2, ..."""

    def __init__(self, cluster, digits, prefix, calls=1, rate=10, rtp_port=None, timeout=170):
        os.makedirs(harness.WORK_ROOT, exist_ok=True)
        self.logdir = tempfile.mkdtemp(prefix="sipp.callers.%s." % prefix, dir=harness.WORK_ROOT)
        self.prefix = prefix
        cmd = ["sipp", "-sf", harness.scenario_path("queue_caller"), "-t", "u1", "-i", "127.0.0.1",
               "-p", str(harness.free_port()), "-mp", str(harness.sipp_media_port()),
               "-s", digits, "-m", str(calls), "-r", str(rate), "-l", str(calls),
               "-key", "caller", prefix, "-key", "rtp_port", str(rtp_port or harness.free_port()),
               "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin",
               "-trace_err", "-error_file", os.path.join(self.logdir, "errors.log"),
               "-trace_msg", "-message_file", os.path.join(self.logdir, "messages.log"),
               "127.0.0.1:%d" % cluster.sip_port]
        self.cmd = cmd
        self._out = open(os.path.join(self.logdir, "stdout.log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=self._out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.logdir)

    def wait(self, timeout=120):
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._out.close()
        return harness.SippResult(code, self.logdir, self.cmd)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        return self.wait()


def _call_of(cluster, caller, timeout=30):
    """_call_of waits for the call from caller (a number) and returns its id."""
    return wait_until(lambda: cluster.one("SELECT id FROM cc.calls WHERE caller = %s", caller),
                      timeout, what="the call from %s" % caller)


def _offers(cluster, queue):
    """_offers lists the offers of a queue's calls in order: (caller, extension, outcome, reason,
    offered_at, decided_at, ring_ms)."""
    return cluster.sql(
        "SELECT c.caller, a.extension, o.outcome, o.reason, o.offered_at, o.decided_at, "
        "       (extract(epoch FROM o.decided_at - o.offered_at) * 1000)::int "
        "  FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id JOIN cc.agents a ON a.id = o.agent_id "
        "  JOIN cc.queue_entries e ON e.id = o.queue_entry_id "
        " WHERE e.queue_id = %s ORDER BY o.offered_at, e.entered_at, o.id", queue)


def _answered_by(cluster, queue):
    """_answered_by maps each caller of the queue to the extension that accepted it."""
    return dict(cluster.sql(
        "SELECT c.caller, a.extension FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id "
        "  JOIN cc.agents a ON a.id = o.agent_id JOIN cc.queue_entries e ON e.id = o.queue_entry_id "
        " WHERE e.queue_id = %s AND o.outcome = 'accepted'", queue))


def _wait_idle(cluster, phones, timeout=40):
    wait_until(lambda: all(p.state() == "idle" for p in phones), timeout,
               what="agents %s idle" % ", ".join(p.extension for p in phones))


def _round(cluster, digits, prefix, n, gap=1.0):
    """_round places n callers gap seconds apart (one sipp each) and returns their numbers."""
    runs, numbers = [], []
    for i in range(n):
        runs.append(Callers(cluster, digits, prefix + str(i), calls=1))
        numbers.append(prefix + str(i) + "1")
        _call_of(cluster, numbers[-1])
        time.sleep(gap)
    return runs, numbers


# -- distribution -------------------------------------------------------------

def test_6_distribution_longest_idle_then_round_robin(cluster):
    """Three phones (hold 8, 1, 3 s), logged in in the order A, B, C.
    Round 1, longest_idle: nobody has had a call, so idle since longest:
    A, B, C.  Round 2, round_robin: offered longest ago: A, B, C (where
    longest_idle would say B, C, A: B's call ended first).  Round 3,
    longest_idle again: calls of round 2 ended B (1+1 s), C (2+3), A (0+8):
    B, C, A (where round_robin would say A, B, C)."""
    q = _queue(cluster, "dist", strategy="longest_idle")
    _number_to_queue(cluster, "6100", q)
    phones = [Phone(cluster, "Ann", "6101", hold_ms=8000), Phone(cluster, "Bob", "6102", hold_ms=1000),
              Phone(cluster, "Cat", "6103", hold_ms=3000)]
    try:
        for p in phones:
            p.member_of(q).login()
            time.sleep(0.3)
        rounds = [("longest_idle", ["6101", "6102", "6103"]), ("round_robin", ["6101", "6102", "6103"]),
                  ("longest_idle", ["6102", "6103", "6101"])]
        runs = []
        for i, (strategy, expected) in enumerate(rounds):
            cluster.sql("UPDATE cc.queues SET strategy = %s WHERE id = %s", strategy, q)
            rs, numbers = _round(cluster, "6100", "55561%d" % i, 3)
            runs += rs
            got = wait_until(lambda: (lambda m: m if all(n in m for n in numbers) else None)(
                _answered_by(cluster, q)), 40, what="round %d answered" % (i + 1))
            assert [got[n] for n in numbers] == expected, \
                "round %d (%s): callers %s answered by %s, expected %s; offers %r" % (
                    i + 1, strategy, numbers, [got[n] for n in numbers], expected, _offers(cluster, q))
            _wait_idle(cluster, phones)
        # every offer was accepted at once: distribution, not ring timeouts, chose the agents
        assert all(o[2] == "accepted" for o in _offers(cluster, q)), _offers(cluster, q)
        for r in runs:
            res = r.wait(60)
            assert res.ok, "a caller did not end normally: %r\n%s" % (res, res.logs())
    finally:
        for p in phones:
            p.close()


def test_6_twenty_callers_three_agents_served_in_order(cluster):
    """20 callers (one sipp run, 10 calls/s) and three phones holding 1 s:
    every caller is answered by one of them, first offers go out in the
    order the callers entered the queue, no agent rings or talks for two
    callers at once, each agent takes a share."""
    q = _queue(cluster, "twenty", strategy="longest_idle")
    _number_to_queue(cluster, "6200", q)
    phones = [Phone(cluster, "Dan", "6201"), Phone(cluster, "Eve", "6202"), Phone(cluster, "Fay", "6203")]
    try:
        for p in phones:
            p.member_of(q).login()
        run = Callers(cluster, "6200", "5556200", calls=20, rate=10)
        res = run.wait(150)
        assert res.ok, "not every caller got its BYE after an agent: %r\n%s" % (res, res.logs())
        got = _answered_by(cluster, q)
        assert len(got) == 20 and set(got.values()) <= {"6201", "6202", "6203"}, got
        counts = {e: list(got.values()).count(e) for e in ("6201", "6202", "6203")}
        assert min(counts.values()) >= 3, "one agent got almost nothing: %r" % counts
        entered = [r[0] for r in cluster.sql(
            "SELECT c.caller FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id "
            " WHERE e.queue_id = %s ORDER BY e.entered_at, e.id", q)]
        first = []
        for o in _offers(cluster, q):
            if o[0] not in first:
                first.append(o[0])
        assert first == entered, "first offers %r, callers entered %r" % (first, entered)
        assert cluster.one("SELECT count(*) FROM cc.queue_entries WHERE queue_id = %s AND state = 'answered'", q) == 20
        # capacity 1: an agent's offers never overlap, and each went out while it was idle
        for p in phones:
            spans = cluster.sql(
                "SELECT o.offered_at, coalesce(l.ended_at, o.decided_at) FROM cc.offers o "
                "  JOIN cc.legs l ON l.id = o.leg_id WHERE o.agent_id = %s ORDER BY o.offered_at", p.id)
            for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
                assert b0 >= a1, "agent %s offered a caller at %s while on a call until %s" % (p.extension, b0, a1)
            bad = cluster.one("SELECT count(*) FROM cc.agent_state_log WHERE agent_id = %s AND to_state = 'ringing' "
                              "AND from_state <> 'idle'", p.id)
            assert bad == 0, "agent %s rang from a state other than idle" % p.extension
        assert sum(p.invites() for p in phones) == len(_offers(cluster, q))
    finally:
        for p in phones:
            p.close()


# -- ring timeout, max no-answer ---------------------------------------------

def test_6_no_answer_skipped_after_ring_timeout_then_break(cluster):
    """Ring timeout 3 s.  Nick's phone rings and never answers; Yan's
    answers and holds 6 s.  Nick, logged in first, is offered caller 1: his
    phone gets CANCEL after 3 s (offer timeout / no_answer), caller 1 goes
    to Yan.  Caller 2 (Yan busy) rings Nick again: a second no-answer,
    Nick's max_no_answer (2): he is on break "no answer" and caller 2
    waits for Yan."""
    cluster.sql("INSERT INTO cc.settings (key, value) VALUES ('queue.no_answer_delay_s', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = '1'")
    q = _queue(cluster, "noanswer", strategy="longest_idle", ring_timeout_s=3)
    _number_to_queue(cluster, "6300", q)
    nick = Phone(cluster, "Nick", "6301", scenario="uas_ring_no_answer", calls=2, max_no_answer=2)
    yan = Phone(cluster, "Yan", "6302", hold_ms=6000, calls=2)
    try:
        nick.member_of(q).login()
        time.sleep(0.3)
        yan.member_of(q).login()
        c1 = Callers(cluster, "6300", "5556301", calls=1)
        got = wait_until(lambda: _answered_by(cluster, q).get("55563011"), 40, what="caller 1 answered")
        assert got == "6302", "caller 1 answered by %s" % got
        offers = _offers(cluster, q)
        assert [(o[0], o[1], o[2], o[3]) for o in offers[:2]] == [
            ("55563011", "6301", "timeout", "no_answer"), ("55563011", "6302", "accepted", None)], offers
        assert offers[0][6] >= 2900, "Nick's offer ended after %d ms, before the 3 s ring timeout" % offers[0][6]
        assert offers[1][4] >= offers[0][5], "Yan was offered before Nick's offer ended"
        assert cluster.one("SELECT no_answer_count FROM cc.agents WHERE id = %s", nick.id) == 1
        assert nick.state() != "break"

        # Nick idle again after the 1 s no-answer delay; Yan talks with caller 1
        wait_until(lambda: nick.state() == "idle", 20, what="Nick idle after the no-answer delay")
        assert yan.state() == "talking"
        c2 = Callers(cluster, "6300", "5556302", calls=1)
        wait_until(lambda: nick.state() == "break", 30, what="Nick on break after his second no-answer")
        assert cluster.one("SELECT b.name FROM cc.agents a JOIN cc.break_reasons b ON b.id = a.break_reason_id "
                           "WHERE a.id = %s", nick.id) == "no answer"
        got = wait_until(lambda: _answered_by(cluster, q).get("55563021"), 40, what="caller 2 answered")
        assert got == "6302", "caller 2 answered by %s" % got
        offers = [o for o in _offers(cluster, q) if o[0] == "55563021"]
        assert [(o[1], o[2]) for o in offers] == [("6301", "timeout"), ("6302", "accepted")], offers
        r = nick.srv.wait(30)
        assert r.ok, "Nick's phone did not get two CANCELs: %r\n%s" % (r, r.logs())
        assert nick.invites() == 2, "Nick was rung %d times, not 2 (on break he must not ring)" % nick.invites()
        for c in (c1, c2):
            res = c.wait(60)
            assert res.ok, res.logs()
    finally:
        cluster.sql("DELETE FROM cc.settings WHERE key = 'queue.no_answer_delay_s'")
        nick.close()
        yan.close()


# -- wrap-up ------------------------------------------------------------------

def test_6_wrap_up_keeps_agent_out_for_its_seconds(cluster):
    """Wrap-up 5 s: after her call ends Wes is in wrap_up, a caller that
    arrives meanwhile waits, and is offered to her 5 s after her last
    call ended (not before), when she is idle again."""
    q = _queue(cluster, "wrapup", wrap_up_s=5)
    _number_to_queue(cluster, "6400", q)
    wes = Phone(cluster, "Wes", "6401", hold_ms=1000, calls=2)
    try:
        wes.member_of(q).login()
        c1 = Callers(cluster, "6400", "5556401", calls=1)
        wait_until(lambda: wes.state() == "wrap_up", 30, what="Wes in wrap-up after call 1")
        c2 = Callers(cluster, "6400", "5556402", calls=1)
        call2 = _call_of(cluster, "55564021")
        wait_until(lambda: cluster.one("SELECT state FROM cc.calls WHERE id = %s", call2) == "queued", 20,
                   what="caller 2 queued")
        assert wes.state() == "wrap_up", "wrap-up ended at once"
        got = wait_until(lambda: _answered_by(cluster, q).get("55564021"), 40, what="caller 2 answered")
        assert got == "6401"
        ended1 = cluster.one("SELECT max(l.ended_at) FROM cc.legs l JOIN cc.offers o ON o.leg_id = l.id "
                             "JOIN cc.calls c ON c.id = o.call_id WHERE c.caller = '55564011'")
        offered2 = cluster.one("SELECT min(o.offered_at) FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id "
                               "WHERE c.caller = '55564021'")
        gap = (offered2 - ended1).total_seconds()
        assert gap >= 4.9, "caller 2 offered %.2f s after Wes's call ended, within her 5 s wrap-up" % gap
        assert gap < 20, "caller 2 waited %.2f s after a 5 s wrap-up" % gap
        log = [r[0] for r in cluster.sql("SELECT to_state FROM cc.agent_state_log WHERE agent_id = %s ORDER BY at, seq",
                                         wes.id)]
        assert log[:6] == ["idle", "ringing", "talking", "wrap_up", "idle", "ringing"], log
        for c in (c1, c2):
            res = c.wait(60)
            assert res.ok, res.logs()
    finally:
        wes.close()


# -- overflow -----------------------------------------------------------------

def test_6_overflow_when_nobody_logged_in(cluster):
    """The first queue's no_agent_action is overflow to a second queue; its
    member is logged out, the second queue's is logged in: the caller's
    entry in the first queue ends 'overflowed', a second entry (from the
    first queue) is answered by the second queue's agent."""
    second = _queue(cluster, "second")
    first = _queue(cluster, "first", no_agent_action="overflow", overflow_queue_id=second)
    _number_to_queue(cluster, "6500", first)
    out = Phone(cluster, "Olga", "6501", calls=1)
    sec = Phone(cluster, "Sam", "6502", calls=1)
    try:
        out.member_of(first)           # never logs in
        sec.member_of(second).login()
        c = Callers(cluster, "6500", "5556501", calls=1)
        got = wait_until(lambda: _answered_by(cluster, second).get("55565011"), 40, what="caller answered in second")
        assert got == "6502"
        entries = cluster.sql(
            "SELECT q.name, e.state, f.name FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id "
            "  JOIN cc.calls c ON c.id = e.call_id LEFT JOIN cc.queues f ON f.id = e.from_queue_id "
            " WHERE c.caller = '55565011' ORDER BY e.entered_at, q.name = 'second'")
        assert [tuple(e) for e in entries] == [("first", "overflowed", None), ("second", "answered", "first")], entries
        assert out.invites() == 0 and out.state() == "offline"
        assert _offers(cluster, first) == []
        res = c.wait(60)
        assert res.ok, res.logs()
    finally:
        out.close()
        sec.close()


# -- position announcement ---------------------------------------------------

def _tts_file(cluster, text):
    """_tts_file is where the media worker caches the rendering of text
    (workers/media/media_tts.c: two 64-bit hashes of "slt\\n" + text)."""
    name = cluster.one("SELECT lpad(to_hex(hashtextextended(k, 0)), 16, '0') || "
                       "       lpad(to_hex(hashtextextended(k, 25443)), 16, '0') "
                       "  FROM (SELECT 'slt' || chr(10) || %s AS k) s", text)
    return os.path.join(mu.media_dir(cluster), "tts", name + ".wav")


def _envelope(x, n=160):
    return [mu.rms(x[i:i + n]) for i in range(0, len(x) - n + 1, n)]


def _align(received, ref):
    """_align finds ref in received: coarse by 20 ms energy envelopes, then
    by samples around it; returns (shift, correlation over all of ref)."""
    er, ef = _envelope(received), _envelope(ref)
    best = (0, -1.0)
    for s in range(0, len(er) - len(ef) + 1):
        seg = er[s:s + len(ef)]
        ma, mb = sum(seg) / len(seg), sum(ef) / len(ef)
        num = sum((a - ma) * (b - mb) for a, b in zip(seg, ef))
        den = math.sqrt(sum((a - ma) ** 2 for a in seg) * sum((b - mb) ** 2 for b in ef)) or 1.0
        if num / den > best[1]:
            best = (s, num / den)
    # the loudest 0.25 s of the reference, aligned sample by sample near the coarse shift
    w = 2000
    k = max(range(0, len(ref) - w, 160), key=lambda i: mu.rms(ref[i:i + w]))
    win = ref[k:k + w]
    ew = math.sqrt(sum(v * v for v in win)) or 1.0
    fine = (best[0] * 160, -1.0)
    for s in range(max(0, best[0] * 160 - 320), best[0] * 160 + 320):
        seg = received[s + k:s + k + w]
        if len(seg) < w:
            break
        c = sum(a * b for a, b in zip(seg, win)) / (ew * (math.sqrt(sum(v * v for v in seg)) or 1.0))
        if c > fine[1]:
            fine = (s, c)
    s = fine[0]
    seg = received[s:s + len(ref)]
    n = min(len(seg), len(ref))
    dot = sum(seg[i] * ref[i] for i in range(n))
    den = math.sqrt(sum(v * v for v in seg[:n]) * sum(v * v for v in ref[:n])) or 1.0
    return s, dot / den


def test_6_waiting_caller_hears_its_position(cluster):
    """Announcements every 10 s; the only member is logged in but busy, so
    callers wait.  Caller 1 enters, then caller 2 (whose RTP we receive):
    at 10 s caller 2's leg is sent the announcement with WaitNo 2, the media
    worker plays it to the end (play_done, tag queue.announce), and the
    audio caller 2 receives is that TTS rendering."""
    q = _queue(cluster, "announce", announce_interval_s=10)
    _number_to_queue(cluster, "6600", q)
    busy = Phone(cluster, "Bea", "6601", calls=1)
    peer = mu.RtpPeer(pt=0)
    c1 = c2 = None
    try:
        busy.member_of(q).login()
        assert cluster.one("SELECT cc.agent_set_state(%s, 'busy', NULL)", busy.id) == "busy"
        c1 = Callers(cluster, "6600", "5556601", calls=1)
        call1 = _call_of(cluster, "55566011")
        wait_until(lambda: cluster.one("SELECT state FROM cc.calls WHERE id = %s", call1) == "queued", 20,
                   what="caller 1 queued")
        c2 = Callers(cluster, "6600", "5556602", calls=1, rtp_port=peer.port)
        call2 = _call_of(cluster, "55566021")
        wait_until(lambda: cluster.one("SELECT state FROM cc.calls WHERE id = %s", call2) == "queued", 20,
                   what="caller 2 queued")
        leg2 = cluster.one("SELECT id FROM cc.legs WHERE call_id = %s AND kind = 'customer'", call2)
        assert cluster.one("SELECT cc.queue_position(e.id) FROM cc.queue_entries e "
                           "WHERE e.call_id = %s AND e.state = 'waiting'", call2) == 2
        # keep what caller 2 receives from a little before its announcement is due
        due = cluster.one("SELECT extract(epoch FROM due_at - now()) FROM cc.timers "
                          "WHERE call_id = %s AND kind = 'queue.announce'", call2)
        assert due is not None and 5 < float(due) <= 10.5, "announcement due in %r s" % due
        time.sleep(max(0.0, float(due) - 1.5))
        since = len(peer.received)
        ann = su.wait_event(cluster, "queue.announced", leg_id=leg2, timeout=20, what="caller 2's announcement")
        assert ann["WaitNo"] == 2 and ann["CallersAhead"] == 1, ann
        done = mu.wait_event(cluster, leg2, "play_done", lambda d: d.get("tag") == "queue.announce", timeout=30)
        assert done.get("reason") == "finished" and not done.get("error"), done
        time.sleep(0.5)
        audio = peer.audio(since)
        text = "You are number 2 in the queue. Your estimated wait is %s minutes." % ann["EstimatedWaitMinutes"]
        path = _tts_file(cluster, text)
        assert os.path.exists(path), "no TTS rendering of %r (%s)" % (text, path)
        rate, _, chans = mu.read_wav(path)
        ref = chans[0] if rate == 8000 else [(chans[0][i] + chans[0][i + 1]) // 2
                                               for i in range(0, len(chans[0]) - 1, 2)]
        assert len(audio) >= len(ref), "received %d samples, the announcement has %d" % (len(audio), len(ref))
        shift, corr = _align(audio, ref)
        assert corr > 0.9, "the audio caller 2 received does not match the announcement (correlation %.3f)" % corr
        # caller 1 heard its own position
        ann1 = su.wait_event(cluster, "queue.announced", timeout=5, what="caller 1's announcement",
                             entry=cluster.one("SELECT id FROM cc.queue_entries WHERE call_id = %s", call1))
        assert ann1["WaitNo"] == 1, ann1
    finally:
        for c in (c1, c2):
            if c is not None:
                c.kill()
        peer.close()
        busy.close()
