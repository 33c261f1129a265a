"""test_workers.py: how the workers live inside PostgreSQL (issue 2, "What to
build": Loading, Workers that live well inside PostgreSQL, Command bus).

- Before CREATE EXTENSION they wait quietly (one log line, no crash loop)
  and start once it exists; DROP DATABASE of another database never hangs
  on them, waiting or working.
- pg_terminate_backend (SIGTERM) ends a worker, which the postmaster
  restarts alone (no crash recovery: the others keep their pids).
- An answered OPTIONS is notified on cc_events.
- The loopback LISTEN connections of cc sip and cc http come back when
  they are terminated, and a notification on the new one wakes cc sip.
"""

import re
import select
import time

import harness
from harness import SipListener, sip_ping, wait_until


def drop_database_within(c, name, seconds):
    """drop_database_within creates and drops a database; the DROP, which
    needs every backend to absorb a procsignal barrier, must end in time."""
    c.sql("CREATE DATABASE %s" % name)
    t0 = time.time()
    c.sql("SET statement_timeout = '%ds'" % seconds)
    try:
        c.sql("DROP DATABASE %s" % name)
    finally:
        c.sql("RESET statement_timeout")
    assert time.time() - t0 < seconds, "DROP DATABASE took %.1f s" % (time.time() - t0)


def test_workers_wait_for_create_extension_then_start():
    """Workers wait with one log line each while the extension is missing,
    do not crash-loop, and begin within 5 s of CREATE EXTENSION."""
    c = harness.Cluster("wait_for_extension", create_extension=False)
    ok = False
    try:
        c.start()
        time.sleep(3)
        log = c.log_text()
        for w in ("cc sip", "cc media 0", "cc http"):
            waits = [l for l in log.splitlines()
                     if (" %s " % w) in l and "waiting for" in l.lower()]
            assert len(waits) == 1, "%s logged %d waiting lines:\n%s" % (
                w, len(waits), "\n".join(waits[:5]))
        assert not re.search(r"background worker \"cc [a-z0-9 ]+\" .*(exited|terminated)", log), \
            "a worker exited while waiting:\n" + log[-2000:]
        assert sip_ping(c.sip_port, timeout=0.5) is None, "cc sip answers SIP before the extension exists"
        # DROP DATABASE waits until every backend, the waiting workers too,
        # absorbs its procsignal barrier: it must not hang on them.
        drop_database_within(c, "scratch_waiting", 20)

        created_at = time.time()
        c.sql("CREATE EXTENSION pg_callcenter CASCADE")
        wait_until(lambda: sip_ping(c.sip_port, timeout=0.3) == 200, 5.0,
                   what="cc sip answering OPTIONS after CREATE EXTENSION")
        c.wait_workers(timeout=max(0.5, created_at + 5.0 - time.time()))
        drop_database_within(c, "scratch_running", 20)   # and with the workers at work
        ok = True
    finally:
        c.cleanup(keep=not ok)


def test_terminated_worker_restarts_alone(cluster):
    """pg_terminate_backend of a worker: it is back (new pid) within 5 s and
    the other workers kept theirs (no crash recovery)."""
    for w in ("cc http", "cc media 0", "cc sip"):
        before = cluster.wait_workers()
        assert cluster.one("SELECT pg_terminate_backend(%s)", before[w]) is True
        t0 = time.time()

        def back():
            pid = cluster.worker_pid(w)
            return pid if pid and pid != before[w] else None
        wait_until(back, 5.0, what="%s back after pg_terminate_backend" % w)
        after = cluster.wait_workers(timeout=max(0.5, t0 + 5.0 - time.time()))
        for other, pid in before.items():
            if other != w:
                assert after[other] == pid, "%s restarted too (%s -> %s) when %s was terminated" % (
                    other, pid, after[other], w)
    assert "all server processes terminated" not in cluster.log_text(), \
        "pg_terminate_backend of a worker caused crash recovery"


def test_sip_options_answer_is_notified_on_cc_events(cluster):
    """The sip.options event of an answered OPTIONS is notified on cc_events
    (LISTEN), naming the command."""
    conn = cluster.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("LISTEN cc_events")
        with SipListener(answer=200) as peer:
            cid = cluster.one("SELECT cc.sip_options(%s)", peer.uri + ";n=notify")
            deadline = time.time() + 10
            seen = []
            while time.time() < deadline:
                if select.select([conn], [], [], 0.5)[0]:
                    conn.poll()
                    while conn.notifies:
                        n = conn.notifies.pop(0)
                        seen.append(n.payload)
                        if str(cid) in n.payload and "sip.options" in n.payload:
                            return
            raise AssertionError("no sip.options notification for %s on cc_events; got %r"
                                 % (cid, seen[:5]))
    finally:
        conn.close()


def test_loopback_listeners_come_back_and_wake_cc_sip():
    """pg_terminate_backend of the workers' loopback LISTEN connections
    ("cc sip listener", "cc http listener"): each worker opens a new one,
    and a command committed afterwards is claimed on its NOTIFY, well
    before the safety-net rescan (set to its maximum, 60 s, here)."""
    c = harness.Cluster("loopback_back", extra_conf={"cc.command_rescan_ms": "60000"})
    ok = False
    try:
        c.start()
        c.wait_workers()

        def listeners():
            return dict(c.sql("SELECT application_name, pid FROM pg_stat_activity "
                              "WHERE application_name IN ('cc sip listener', 'cc http listener')"))

        wait_until(lambda: len(listeners()) == 2, 10.0, what="both loopback listeners connected")
        before = listeners()
        for pid in before.values():
            c.sql("SELECT pg_terminate_backend(%s)", pid)
        wait_until(lambda: all(listeners().get(name) not in (None, pid) for name, pid in before.items()),
                   10.0, what="both loopback listeners connected again")
        time.sleep(1.0)   # past the rescan a reconnect asks for: only the NOTIFY can wake cc sip now
        with SipListener(answer=200) as peer:
            t0 = time.time()
            c.sql("SELECT cc.sip_options(%s)", peer.uri + ";n=after-reconnect")
            wait_until(lambda: any(r["method"] == "OPTIONS" for r in peer.requests), 5.0,
                       what="the OPTIONS of a command committed after the reconnect")
            assert time.time() - t0 < 5.0
        log = c.log_text()
        assert "cc sip: loopback LISTEN connection lost; reconnecting" in log, log[-2000:]
        assert "cc http: loopback LISTEN connection lost; reconnecting" in log, log[-2000:]
        ok = True
    finally:
        c.cleanup(keep=not ok)
