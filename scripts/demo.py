#!/usr/bin/python3
"""demo.py: loads the demo contact center (scripts/demo_seed.sql) into a
running pg_callcenter and places one demo call through it, then prints the
call's timeline (cc.call_timeline) and its CDR (cc.cdrs).

scripts/run.sh runs it, as the cluster's OS user, against the cluster it
made; test/e2e/test_call_control_demo.py runs it against a test cluster.

    /usr/bin/python3 scripts/demo.py --host SOCKET_DIR --port 5440 --dbname callcenter --sip-port 5060

The call: three sipp phones register as the agents 1001, 1002 and 1003 (the
registrar's digest, their passwords from the seed) and the agents are made
available; a sipp customer calls +15550100 from +15557770123, hears the
welcome and the menu (TTS), keys 1 (RFC 4733); the call waits in "Demo
sales" until the agent it is offered to answers; customer and agent each
play a tone for a few seconds, and the demo checks that each hears the
other's through the media workers; then the customer hangs up.  The phones'
registrations are removed at the end, so that a softphone registering as an
agent afterwards is the only contact rung.  Exit status 0 when the call went
through (answered by an agent, both heard, a CDR written).

Needs sipp, /usr/bin/python3 with psycopg2, and test/harness.py,
test/media_util.py and test/e2e/callctl_util.py beside this file's parent
(the RTP phones and the sipp scenarios the end-to-end tests use).
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import wait_until  # noqa: E402
import callctl_util as cu  # noqa: E402

NUMBER = "+15550100"
CALLER = "+15557770123"
AGENTS = (("1001", "Ann Demo"), ("1002", "Bob Demo"), ("1003", "Cid Demo"))
CUSTOMER_TONE = 600     # Hz, what the customer says
AGENT_TONE = 1400       # Hz, what the agents say


class Db:
    """Db is the demo's connection to a running cluster, with the two
    methods (sql, one) and the attribute (sip_port) the test helpers use."""

    def __init__(self, host, port, dbname, sip_port, user=None):
        self.sip_port = sip_port
        self.conn = psycopg2.connect(host=host, port=port, dbname=dbname, user=user,
                                     application_name="pg_callcenter demo")
        self.conn.autocommit = True

    def sql(self, query, *args):
        with self.conn.cursor() as cur:
            cur.execute(query, args or None)
            return cur.fetchall() if cur.description is not None else cur.rowcount

    def one(self, query, *args):
        rows = self.sql(query, *args)
        return rows[0][0] if rows else None

    def close(self):
        self.conn.close()


def seed(db):
    """seed runs scripts/demo_seed.sql in one transaction (it is idempotent)."""
    with open(os.path.join(HERE, "demo_seed.sql")) as f:
        script = f.read()
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute(script)
            cur.execute("COMMIT")
        except Exception:
            cur.execute("ROLLBACK")
            raise


def table(rows, headers):
    """table formats rows as psql's aligned output does."""
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    out = [" " + " | ".join(h.center(w) for h, w in zip(headers, widths)),
           "-" + "-+-".join("-" * w for w in widths) + "-"]
    for r in cells:
        out.append(" " + " | ".join(v.ljust(w) for v, w in zip(r, widths)))
    out.append("(%d rows)" % len(rows))
    return "\n".join(out)


def expanded(row, headers):
    """expanded formats one row as psql's \\x does."""
    w = max(len(h) for h in headers)
    return "\n".join("%s | %s" % (h.ljust(w), "" if v is None else v) for h, v in zip(headers, row))


def drop_registrations(db):
    db.sql("DELETE FROM cc.registrations WHERE agent_id IN "
           "(SELECT id FROM cc.agents WHERE extension = ANY (%s))", [e for e, _ in AGENTS])


def place_call(db, say, res):
    """place_call runs the demo call, noting in res what happened (call,
    agent, customer_hears_agent, agent_hears_customer) as it goes."""
    res.update({"call": None, "agent": None, "customer_hears_agent": None, "agent_hears_customer": None})
    phones, customer = {}, None
    try:
        # Phones left registered by an earlier demo point at sipps long gone.
        drop_registrations(db)
        for ext, name in AGENTS:
            phone = cu.Phone(db, "agent" + ext)
            phone.register(ext, "demo" + ext)
            phone.tone(AGENT_TONE)
            phones[ext] = phone
            state = db.one("SELECT cc.agent_set_state(id, 'idle', NULL) FROM cc.agents WHERE extension = %s", ext)
            say("agent %s (%s): phone registered at %s, state %s" % (ext, name, phone.uri, state))

        say("customer %s calls %s (sipp)" % (CALLER, NUMBER))
        customer = cu.Customer(db, NUMBER, caller=CALLER)
        call = res["call"] = cu.call_of_customer(db, customer, timeout=30)
        say("call %s answered by the flow; the welcome and the menu play (TTS)" % call)
        wait_until(lambda: db.one("SELECT 1 FROM cc.events WHERE call_id = %s AND type = 'flow.node_entered' "
                                  "AND data->>'node' = 'menu'", call), 30, what="the menu of the demo flow")
        time.sleep(1.0)
        customer.peer.send_digits("1")
        say("customer keys 1 (sales)")
        cu.wait_call_state(db, call, "connected", timeout=40)
        agent = res["agent"] = db.one(
            "SELECT a.extension FROM cc.legs AS l JOIN cc.agents AS a ON a.id = l.agent_id "
            "WHERE l.call_id = %s AND l.kind = 'agent' AND l.state = 'answered'", call)
        say("agent %s answered; customer and agent talk" % agent)
        customer.tone(CUSTOMER_TONE)
        phone = phones[agent]
        phone.wait_media()
        time.sleep(0.5)
        wrong, levels = cu.hears([customer, phone], {customer: {AGENT_TONE: True},
                                                     phone: {CUSTOMER_TONE: True}}, seconds=2.0)
        res["customer_hears_agent"] = not any(w.startswith("customer") for w in wrong)
        res["agent_hears_customer"] = not any(w.startswith(phone.name) for w in wrong)
        say("customer hears the agent: %s; agent hears the customer: %s (levels %s)" % (
            "yes" if res["customer_hears_agent"] else "NO", "yes" if res["agent_hears_customer"] else "NO",
            ", ".join(levels)))

        customer_leg = cu.leg(db, call, "customer")
        customer.hangup(cu.sip_call_id(db, customer_leg))
        say("customer hangs up")
        cu.wait_call_state(db, call, "ended", timeout=20)
        wait_until(lambda: db.one("SELECT 1 FROM cc.cdrs WHERE call_id = %s", call), 20, what="the CDR")
    finally:
        for p in list(phones.values()) + ([customer] if customer else []):
            p.close()
        drop_registrations(db)


def show(db, call, say):
    """show prints the call's timeline and CDR."""
    rows = db.sql("SELECT offset_ms, type, party, description FROM cc.call_timeline(%s) ORDER BY seq", call)
    say("\n==== the call's timeline: SELECT offset_ms, type, party, description FROM cc.call_timeline('%s')\n" % call)
    say(table(rows, ["offset_ms", "type", "party", "description"]))
    cols = ["id", "call_id", "direction", "number", "caller", "callee", "access_status", "started_at",
            "customer_answered_at", "queued_at", "ringing_at", "answered_at", "ended_at", "ivr_ms", "queue_ms",
            "ring_ms", "talk_ms", "total_ms", "queue_name", "last_agent_extension", "last_agent_name",
            "flow_version", "menu_choices", "hangup_side", "end_cause"]
    have = {r[0] for r in db.sql("SELECT attname FROM pg_attribute WHERE attrelid = 'cc.cdrs'::regclass "
                                 "AND attnum > 0 AND NOT attisdropped")}
    cols = [c for c in cols if c in have]
    rows_cdr = db.sql("SELECT %s FROM cc.cdrs WHERE call_id = %%s" % ", ".join("%s::text" % c for c in cols), call)
    if not rows_cdr:
        say("\n(no CDR for call %s)" % call)
        return rows, None
    row = rows_cdr[0]
    say("\n==== its CDR: SELECT %s FROM cc.cdrs WHERE call_id = '%s'\n" % (", ".join(cols), call))
    say(expanded(row, cols))
    return rows, dict(zip(cols, row))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", required=True, help="the server's unix socket directory (or a host)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dbname", required=True)
    ap.add_argument("--user", help="database user (default: the OS user)")
    ap.add_argument("--sip-port", type=int, required=True, help="cc.sip_listen's port on 127.0.0.1")
    ap.add_argument("--workdir", help="where sipp's scenarios and logs go (default: a temporary directory)")
    opts = ap.parse_args()

    if opts.workdir:
        os.makedirs(opts.workdir, exist_ok=True)
        harness.WORK_ROOT = opts.workdir
    else:
        harness.WORK_ROOT = tempfile.mkdtemp(prefix="pg_callcenter-demo.")

    def say(s):
        print(s, flush=True)

    db = Db(opts.host, opts.port, opts.dbname, opts.sip_port, opts.user)
    try:
        seed(db)
        say("demo loaded (scripts/demo_seed.sql): number %s, flow \"Demo menu\", queues \"Demo sales\" and "
            "\"Demo support\", agents %s" % (NUMBER, ", ".join("%s %s" % a for a in AGENTS)))
        res = {"call": None}
        try:
            place_call(db, say, res)
        finally:
            if res["call"] is not None:
                show(db, res["call"], say)
    finally:
        db.close()
    ok = res["agent"] is not None and res["customer_hears_agent"] and res["agent_hears_customer"]
    say("\ndemo call %s: %s" % (res["call"], "ok" if ok else "FAILED (see above)"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
