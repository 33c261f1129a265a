"""queues_stress.py: a randomized stress run of queues and agents (issue 6,
Done when 2): many interleavings of callers arriving, agents answering,
declining, letting ring out, hanging up, changing state, picking up,
callers hanging up and pressing keys, dispatchers and timers, on several
real connections at once, with the invariants checked after every round
and concurrently during it.

Each round starts SESSIONS operations at the same moment (a barrier); each
is one transaction on its own connection, and some hold their locks a few
milliseconds longer (pg_sleep before COMMIT) to widen the windows.  Leg
events of one call are reported one after another, as cc sip does (one
process, the events of a call in order: the SIP domain stamps leg times
with now(), so two overlapping transactions reporting the same leg could
stamp an answer before its ringing); everything else (agents' own state
changes, dispatchers) runs at once.  What cc sip
does (callers arriving, leg events, pickups, timers) is serialized among
itself by an advisory lock held to COMMIT, because cc sip is one process
that runs one transaction at a time; it still interleaves freely with the
applications' transactions (agents' states, dispatch), which is where
production has concurrency.  (Run concurrently, two leg events of
different calls can deadlock on an agent row, a race production cannot
have.)  A
further connection checks the invariants while the round runs and again
when it is over.  The driver plays cc sip: it reports the leg events a
phone would cause (ringing, answered, failed, ended), carries out the
hangups the decisions ask for (as `ended` / `failed` events), and fires due
timers one per transaction (see docs/queues.md on timers_fire).

Invariants (each a query that lists violations; a run passes with none):
  - no agent over capacity: open offers + answered live legs it must keep
    (calls not ended, offers accepted or none) <= the largest capacity of
    its queues, and at most one open offer;
  - every waiting call is waiting, offered or gone: a live entry is waiting
    exactly when its call is queued, offered exactly when its call is
    offering with an open offer; an open offer belongs to a live, offered
    entry of a call that is not over; no call has two live entries;
  - no agent ringing without a call: a ringing agent has an open offer or a
    ringing leg no queue gave up on; an agent with an open offer rings (or
    talks, below capacity); a talking agent has an answered leg.
Expected errors (an agent choosing a state it may not take from its
current one) are counted; any other error, deadlocks included, fails.

Used by test/e2e/test_queues_stress.py; runnable alone against a database
with the extension:
    /usr/bin/python3 test/queues_stress.py "host=... dbname=..." [rounds]
"""

import collections
import random
import sys
import threading
import time
import traceback

import psycopg2

SESSIONS = 4
CC_SIP_LOCK = 7301   # the advisory lock that stands for the one cc sip process

INVARIANTS = r"""
WITH agent_load AS (
    SELECT a.id, a.extension, a.state,
           (SELECT count(*) FROM cc.offers o WHERE o.agent_id = a.id AND o.outcome = 'offered') AS open_offers,
           (SELECT count(*) FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
             WHERE l.agent_id = a.id AND l.state = 'answered' AND c.state <> 'ended'
               AND NOT EXISTS (SELECT 1 FROM cc.offers o WHERE o.leg_id = l.id AND o.outcome NOT IN ('offered', 'accepted')))
               AS talks,
           coalesce((SELECT max(q.capacity) FROM cc.queue_members m JOIN cc.queues q ON q.id = m.queue_id
                      WHERE m.agent_id = a.id), 1) AS capacity,
           EXISTS (SELECT 1 FROM cc.legs l WHERE l.agent_id = a.id AND l.state IN ('new', 'ringing')
                      AND NOT EXISTS (SELECT 1 FROM cc.offers o WHERE o.leg_id = l.id
                                                                  AND o.outcome NOT IN ('offered', 'accepted')))
               AS ringing_leg,
           EXISTS (SELECT 1 FROM cc.legs l WHERE l.agent_id = a.id AND l.state = 'answered') AS answered_leg
      FROM cc.agents a)
SELECT 'agent ' || extension || ' over capacity: ' || open_offers || ' open offers + ' || talks || ' talks > ' || capacity
  FROM agent_load WHERE open_offers + talks > capacity OR open_offers > 1
UNION ALL
SELECT 'agent ' || extension || ' ringing without a call'
  FROM agent_load WHERE state = 'ringing' AND open_offers = 0 AND NOT ringing_leg
UNION ALL
SELECT 'agent ' || extension || ' has an open offer but is ' || state
  FROM agent_load WHERE open_offers > 0 AND state NOT IN ('ringing', 'talking')
UNION ALL
SELECT 'agent ' || extension || ' talking without an answered leg'
  FROM agent_load WHERE state = 'talking' AND NOT answered_leg
UNION ALL
SELECT 'call ' || c.caller || ' is ' || c.state || ' but its live entry is ' || coalesce(e.state, 'missing')
  FROM cc.calls c LEFT JOIN cc.queue_entries e ON e.call_id = c.id AND e.state IN ('waiting', 'offered')
 WHERE (c.state = 'queued' AND e.state IS DISTINCT FROM 'waiting')
    OR (c.state = 'offering' AND e.state IS DISTINCT FROM 'offered'
        AND NOT EXISTS (SELECT 1 FROM cc.callbacks cb WHERE cb.callback_call_id = c.id AND cb.state = 'dialing'))
UNION ALL
SELECT 'entry of ' || c.caller || ' is ' || e.state || ' but the call is ' || c.state
  FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id
 WHERE (e.state = 'waiting' AND c.state <> 'queued') OR (e.state = 'offered' AND c.state <> 'offering')
UNION ALL
SELECT 'entry of ' || c.caller || ' offered without an open offer'
  FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id
 WHERE e.state = 'offered' AND NOT EXISTS (SELECT 1 FROM cc.offers o WHERE o.queue_entry_id = e.id AND o.outcome = 'offered')
UNION ALL
SELECT 'entry of ' || c.caller || ' waiting with an open offer'
  FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id
 WHERE e.state = 'waiting' AND EXISTS (SELECT 1 FROM cc.offers o WHERE o.queue_entry_id = e.id AND o.outcome = 'offered')
UNION ALL
SELECT 'open offer to ' || coalesce(a.extension, 'a phone') || ' for ' || c.caller || ' (call ' || c.state || ', entry ' || e.state
       || ', leg ' || coalesce(l.state, 'none') || ')'
  FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id JOIN cc.queue_entries e ON e.id = o.queue_entry_id
  LEFT JOIN cc.agents a ON a.id = o.agent_id LEFT JOIN cc.legs l ON l.id = o.leg_id
 WHERE o.outcome = 'offered' AND (c.state = 'ended' OR e.state <> 'offered' OR l.state IS NULL OR l.state = 'ended')
UNION ALL
SELECT 'call ' || c.caller || ' has ' || count(*) || ' live entries'
  FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id
 WHERE e.state IN ('waiting', 'offered') GROUP BY c.caller, c.id HAVING count(*) > 1
"""

SETUP = r"""
SET client_min_messages = warning;
DELETE FROM cc.calls; DELETE FROM cc.queues; DELETE FROM cc.agents; DELETE FROM cc.phones;
DELETE FROM cc.timers; DELETE FROM cc.commands; DELETE FROM cc.callbacks;
UPDATE cc.settings SET value = '0'
 WHERE key IN ('queue.busy_delay_s', 'queue.reject_delay_s', 'queue.no_answer_delay_s', 'queue.unreachable_delay_s');
INSERT INTO cc.queues (name, strategy, ring_all_cap, capacity, exit_key, callback_key, pickup_code, max_length)
VALUES ('first', 'longest_idle', 2, 1, '#', '*', '*1', 0),
       ('all', 'ring_all', 2, 1, '#', NULL, '*2', 0),
       ('turns', 'round_robin', 2, 2, '#', '*', NULL, 6),
       ('steps', 'sequential', 2, 1, NULL, NULL, NULL, 0);
INSERT INTO cc.agents (name, extension, email, max_no_answer, wrap_up_s)
SELECT 'Agent ' || n, (1000 + n)::text, (1000 + n) || '@example.com', 3, CASE WHEN n % 4 = 0 THEN 1 ELSE 0 END
  FROM generate_series(1, 8) AS n;
INSERT INTO cc.registrations (agent_id, contact, expires_at)
SELECT id, 'sip:' || extension || '@192.0.2.10:5060', now() + interval '1 day' FROM cc.agents;
INSERT INTO cc.phones (name, extension) VALUES ('lobby', '2001');
INSERT INTO cc.registrations (phone_id, contact, expires_at)
SELECT id, 'sip:2001@192.0.2.20:5060', now() + interval '1 day' FROM cc.phones;
-- overlapping memberships: agents 1-4 in first, 3-6 in all, 5-8 in turns, 1,4,7 in steps; the phone in first
INSERT INTO cc.queue_members (queue_id, agent_id, priority, position)
SELECT q.id, a.id, 1 + (a.extension::integer % 3), a.extension::integer % 5
  FROM cc.queues q, cc.agents a
 WHERE (q.name = 'first' AND a.extension::integer BETWEEN 1001 AND 1004)
    OR (q.name = 'all' AND a.extension::integer BETWEEN 1003 AND 1006)
    OR (q.name = 'turns' AND a.extension::integer BETWEEN 1005 AND 1008)
    OR (q.name = 'steps' AND a.extension::integer IN (1001, 1004, 1007));
INSERT INTO cc.queue_members (queue_id, phone_id) SELECT q.id, p.id FROM cc.queues q, cc.phones p WHERE q.name = 'first';
SELECT count(cc.agent_login(id)) FROM cc.agents;
"""


class Stress:
    """Stress runs the randomized interleavings against one database."""

    def __init__(self, dsn, rounds=1000, seed=None, log=print):
        self.dsn = dsn
        self.rounds = rounds
        self.seed = seed if seed is not None else random.randrange(1 << 30)
        self.rng = random.Random(self.seed)
        self.log = log
        self.counts = {}
        self.expected_errors = 0
        self.failures = []
        self.checks = 0
        self.callers = 0
        self.lock = threading.Lock()
        self.call_locks = collections.defaultdict(threading.Lock)
        self.local = threading.local()

    # -- plumbing ----------------------------------------------------------

    def connect(self):
        c = psycopg2.connect(self.dsn)
        c.autocommit = False
        with c.cursor() as cur:
            cur.execute("SET statement_timeout = '30s'")
        c.commit()
        return c

    def count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def fail(self, what):
        with self.lock:
            self.failures.append(what)

    def check(self, conn, when):
        with conn.cursor() as cur:
            cur.execute(INVARIANTS)
            bad = [r[0] for r in cur.fetchall()]
        conn.commit()
        with self.lock:
            self.checks += 1
        for b in bad:
            self.fail("invariant (%s): %s" % (when, b))
        return not bad

    # -- operations: each one transaction ----------------------------------

    @staticmethod
    def one(cur, query, *args):
        cur.execute(query, args or None)
        row = cur.fetchone()
        return row[0] if row else None

    def op_new_call(self, cur, rng):
        with self.lock:
            self.callers += 1
            caller = "+1555%07d" % self.callers
        # a repeat caller now and then, for memory routing
        if rng.random() < 0.2 and self.callers > 10:
            caller = "+1555%07d" % rng.randrange(1, self.callers)
        queue = rng.choice(["first", "all", "turns", "steps"])
        self.as_cc_sip(cur)
        cur.execute("""
            WITH c AS (INSERT INTO cc.calls (direction, state, caller, callee, number)
                       VALUES ('inbound', 'ivr', %s, '+862120001000', '+862120001000') RETURNING id),
                 l AS (INSERT INTO cc.legs (call_id, kind, direction, state, answered_at)
                       SELECT id, 'customer', 'inbound', 'answered', now() FROM c RETURNING call_id)
            SELECT cc.enqueue(l.call_id, jsonb_build_object('queue', q.id, 'priority', %s))
              FROM l, cc.queues q WHERE q.name = %s""", (caller, rng.randint(1, 5), queue))
        return "new_call"

    def pick_leg(self, cur, query, *args):
        """pick_leg chooses a leg (a query returning leg ids), ends that
        transaction, and takes the leg's call for this operation: events of
        one call are reported in turn, as cc sip does.  The call is held
        until the operation commits (run_op)."""
        leg = self.one(cur, query, *args)
        cur.connection.commit()
        if leg is None:
            return None
        call = self.one(cur, "SELECT call_id FROM cc.legs WHERE id = %s", leg)
        cur.connection.commit()
        with self.lock:
            lk = self.call_locks[call]
        lk.acquire()
        self.local.held.append(lk)
        return leg

    @staticmethod
    def as_cc_sip(cur):
        """as_cc_sip makes this transaction one of cc sip's: they run one
        at a time, as in the single cc sip process."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (CC_SIP_LOCK,))

    def leg_event(self, cur, leg, event):
        self.as_cc_sip(cur)
        cur.execute("SELECT cc.call_event(%s, %s::jsonb)", (leg, event))

    def pick_open_offer(self, cur, rng):
        return self.pick_leg(cur, "SELECT leg_id FROM cc.offers WHERE outcome = 'offered' ORDER BY random() LIMIT 1")

    def op_ringing(self, cur, rng):
        leg = self.pick_open_offer(cur, rng)
        if leg is None:
            return "ringing_none"
        # a phone rings before it answers: never a 180 after the 200
        if self.one(cur, "SELECT state FROM cc.legs WHERE id = %s", leg) != "new":
            return "ringing_late"
        self.leg_event(cur, leg, '{"type": "ringing", "code": 180}')
        return "ringing"

    def op_answer(self, cur, rng):
        leg = self.pick_open_offer(cur, rng)
        if leg is None:
            return "answer_none"
        self.leg_event(cur, leg, '{"type": "answered", "codec": "pcmu"}')
        return "answer"

    def op_fail(self, cur, rng):
        leg = self.pick_open_offer(cur, rng)
        if leg is None:
            return "fail_none"
        code = rng.choice([486, 603, 480, 408, 404, 487, 500])
        self.leg_event(cur, leg, '{"type": "failed", "code": %d}' % code)
        return "fail_%d" % code

    def op_caller_hangup(self, cur, rng):
        leg = self.pick_leg(cur, """SELECT l.id FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
                                     WHERE l.kind = 'customer' AND l.state <> 'ended' AND c.state <> 'ended'
                                     ORDER BY random() LIMIT 1""")
        if leg is None:
            return "caller_hangup_none"
        self.leg_event(cur, leg, '{"type": "ended", "side": "remote"}')
        return "caller_hangup"

    def op_agent_hangup(self, cur, rng):
        leg = self.pick_leg(cur, """SELECT l.id FROM cc.legs l WHERE l.kind = 'agent' AND l.state = 'answered'
                                     ORDER BY random() LIMIT 1""")
        if leg is None:
            return "agent_hangup_none"
        self.leg_event(cur, leg, '{"type": "ended", "side": "remote"}')
        return "agent_hangup"

    def op_customer_answers_callback(self, cur, rng):
        # a callback's customer leg (dialled by cc sip) answers or fails
        leg = self.pick_leg(cur, """SELECT l.id FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
                                     WHERE l.kind = 'customer' AND l.direction = 'outbound' AND l.state IN ('new', 'ringing')
                                     ORDER BY random() LIMIT 1""")
        if leg is None:
            return "callback_customer_none"
        if rng.random() < 0.6:
            self.leg_event(cur, leg, '{"type": "answered"}')
            return "callback_customer_answers"
        self.leg_event(cur, leg, '{"type": "failed", "code": 480}')
        return "callback_customer_fails"

    def op_reap(self, cur, rng):
        """cc sip carries out hangups: legs the decisions hung up end."""
        leg = self.pick_leg(cur, """
            SELECT l.id FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
             WHERE l.state <> 'ended'
               AND (c.state = 'ended'
                    OR EXISTS (SELECT 1 FROM cc.offers o WHERE o.leg_id = l.id AND o.outcome NOT IN ('offered', 'accepted'))
                    OR (l.kind = 'customer' AND c.state = 'ivr'))
             ORDER BY random() LIMIT 1""")
        if leg is None:
            return "reap_none"
        state = self.one(cur, "SELECT state FROM cc.legs WHERE id = %s", leg)
        if state == "answered":
            self.leg_event(cur, leg, '{"type": "ended", "side": "local"}')
        else:
            self.leg_event(cur, leg, '{"type": "failed", "code": 487, "cause": "canceled"}')
        return "reap"

    def op_agent_state(self, cur, rng):
        agent = self.one(cur, "SELECT id FROM cc.agents ORDER BY random() LIMIT 1")
        target = rng.choice(["idle", "idle", "idle", "busy", "break", "offline", "login"])
        cur.execute("SAVEPOINT s")
        try:
            if target == "login":
                cur.execute("SELECT cc.agent_login(%s)", (agent,))
            else:
                cur.execute("SELECT cc.agent_set_state(%s, %s, %s)",
                            (agent, target, "meal" if target == "break" else None))
            cur.execute("RELEASE SAVEPOINT s")
        except psycopg2.Error as e:
            if e.pgcode != "55000":
                raise
            cur.execute("ROLLBACK TO SAVEPOINT s")
            with self.lock:
                self.expected_errors += 1
            return "agent_state_refused"
        return "agent_" + target

    def op_dispatch(self, cur, rng):
        cur.execute("SELECT cc.queue_dispatch()")
        return "dispatch"

    def op_timer(self, cur, rng):
        # one timer per transaction, as a cc sip that commits per timer
        self.as_cc_sip(cur)
        cur.execute("""UPDATE cc.timers SET due_at = clock_timestamp() - interval '1 ms'
                        WHERE id = (SELECT id FROM cc.timers ORDER BY random() LIMIT 1)""")
        cur.execute("SELECT cc.timers_fire(1)")
        return "timer"

    def op_key(self, cur, rng):
        leg = self.pick_leg(cur, """SELECT l.id FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
                                     WHERE l.kind = 'customer' AND l.state = 'answered' AND c.state IN ('queued', 'offering')
                                     ORDER BY random() LIMIT 1""")
        if leg is None:
            return "key_none"
        digit = rng.choice(["#", "*", "5"])
        self.leg_event(cur, leg, '{"type": "dtmf", "digit": "%s"}' % digit)
        return "key_" + {"#": "exit", "*": "callback", "5": "other"}[digit]

    def op_pickup(self, cur, rng):
        # mostly a member of a queue where something rings, sometimes anyone
        cur.execute("""SELECT a.id, q.pickup_code FROM cc.queues q JOIN cc.queue_members m ON m.queue_id = q.id
                         JOIN cc.agents a ON a.id = m.agent_id
                        WHERE q.pickup_code IS NOT NULL AND (random() < 0.2 OR EXISTS (
                              SELECT 1 FROM cc.offers o JOIN cc.queue_entries e ON e.id = o.queue_entry_id
                               WHERE e.queue_id = q.id AND o.outcome = 'offered' AND o.agent_id IS DISTINCT FROM a.id))
                        ORDER BY random() LIMIT 1""")
        row = cur.fetchone()
        if row is None:
            return "pickup_none"
        agent, code = row
        # what cc.call_arrived hands to the hook for an authenticated agent
        self.as_cc_sip(cur)
        cur.execute("""SELECT cc.queue_pickup(jsonb_build_object('method', 'INVITE', 'request_uri', 'sip:' || %s || '@192.0.2.1',
                                   'agent_id', %s::text, 'call_id', 'pickup-' || gen_random_uuid(),
                                   'from', jsonb_build_object('user', 'agent', 'uri', 'sip:agent@192.0.2.10')))""",
                    (code, agent))
        answer = cur.fetchone()[0]
        if "leg_id" not in answer:
            return "pickup_refused"
        # the INVITE is answered; the answer is reported afterwards, in
        # the call's turn, like any leg event
        cur.connection.commit()
        with self.lock:
            lk = self.call_locks[answer["call_id"]]
        lk.acquire()
        self.local.held.append(lk)
        self.leg_event(cur, answer["leg_id"], '{"type": "answered"}')
        return "pickup"

    OPS = [  # (weight, method)
        (14, op_new_call), (8, op_ringing), (14, op_answer), (10, op_fail), (8, op_caller_hangup),
        (10, op_agent_hangup), (12, op_reap), (10, op_agent_state), (4, op_dispatch), (10, op_timer),
        (4, op_key), (2, op_pickup), (3, op_customer_answers_callback),
    ]

    def run_op(self, conn, rng):
        total = sum(w for w, _ in self.OPS)
        x = rng.uniform(0, total)
        for w, fn in self.OPS:
            x -= w
            if x <= 0:
                break
        name = fn.__name__
        self.local.held = []
        try:
            with conn.cursor() as cur:
                name = fn(self, cur, rng)
                if rng.random() < 0.3:
                    # hold the locks a little longer: wider windows for the others
                    cur.execute("SELECT pg_sleep(%s)", (rng.uniform(0.001, 0.01),))
            conn.commit()
            self.count(name)
        except psycopg2.Error as e:
            conn.rollback()
            self.fail("%s: %s %s" % (name, e.pgcode, str(e).strip().split("\n")[0]))
        except Exception:  # noqa: BLE001 - a driver bug must not hang the round
            conn.rollback()
            self.fail("%s: %s" % (name, traceback.format_exc()))
        finally:
            for lk in self.local.held:
                lk.release()

    # -- the run ------------------------------------------------------------

    def setup(self):
        c = self.connect()
        with c.cursor() as cur:
            cur.execute(SETUP)
        c.commit()
        c.close()

    def run(self):
        t0 = time.time()
        self.setup()
        conns = [self.connect() for _ in range(SESSIONS)]
        checker = self.connect()
        rngs = [random.Random(self.rng.randrange(1 << 30)) for _ in range(SESSIONS + 1)]
        barrier = threading.Barrier(SESSIONS + 1)
        stop = [False]

        def worker(i):
            try:
                while True:
                    barrier.wait(timeout=120)
                    if stop[0]:
                        return
                    self.run_op(conns[i], rngs[i])
                    barrier.wait(timeout=120)
            except threading.BrokenBarrierError:
                return

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(SESSIONS)]
        for t in threads:
            t.start()
        try:
            for r in range(self.rounds):
                barrier.wait(timeout=120)    # the round starts
                if rngs[SESSIONS].random() < 0.5:
                    time.sleep(rngs[SESSIONS].uniform(0, 0.003))
                    self.check(checker, "during round %d" % r)
                barrier.wait(timeout=120)    # every operation of the round is over
                self.check(checker, "after round %d" % r)
                if len(self.failures) > 20:
                    break
        except Exception:  # noqa: BLE001
            self.fail("driver: " + traceback.format_exc())
            barrier.abort()
        finally:
            stop[0] = True
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
        # what happened, then the last check
        with checker.cursor() as cur:
            cur.execute("SELECT count(*) FROM cc.offers")
            offers = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM cc.queue_entries WHERE state = 'answered'")
            answered = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM cc.calls")
            calls = cur.fetchone()[0]
        checker.commit()
        self.check(checker, "at the end")
        for c in conns + [checker]:
            c.close()
        self.elapsed = time.time() - t0
        self.summary = {"rounds": r + 1, "sessions": SESSIONS, "operations": sum(self.counts.values()),
                        "invariant_checks": self.checks, "expected_errors": self.expected_errors,
                        "calls": calls, "offers": offers, "answered": answered,
                        "failures": len(self.failures), "seconds": round(self.elapsed, 1), "seed": self.seed}
        return not self.failures

    def report(self):
        lines = ["queues stress: %s" % ", ".join("%s %s" % (k, v) for k, v in self.summary.items())]
        lines.append("operations: " + ", ".join("%s %d" % kv for kv in sorted(self.counts.items())))
        for f in self.failures[:20]:
            lines.append("FAILURE " + f)
        return "\n".join(lines)


def main():
    dsn = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    s = Stress(dsn, rounds)
    ok = s.run()
    print(s.report())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
