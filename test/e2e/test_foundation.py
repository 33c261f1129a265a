"""test_foundation.py: end-to-end tests of issue 2 (Foundation), one test per
"Done when" line 2-5, each named after its line.  Line 1 is the test command
itself (scripts/test.sh); line 6 is pg_regress (sql/).

A test that takes `cluster` shares this file's cluster; one that takes
`fresh_cluster` gets its own (it kills workers).  See test/run_e2e.py.
"""

import os
import random
import socket
import time

import psycopg2

import harness
from harness import SipListener, SippServer, sipp, status_code, udp_exchange, wait_until


def _wait_command(cluster, command_id, timeout=10.0):
    """_wait_command waits until the command is done or failed and returns
    (state, result, error)."""
    def finished():
        rows = cluster.sql("SELECT state, result, error FROM cc.commands WHERE id = %s",
                           command_id, retry=10)
        return rows[0] if rows and rows[0][0] in ("done", "failed") else None
    return wait_until(finished, timeout, what="command %s to finish" % command_id)


def _options_event(cluster, command_id):
    """_options_event returns the data of the sip.options event of a command."""
    return cluster.one("SELECT data FROM cc.events WHERE type = 'sip.options' "
                       "AND command_id = %s", command_id, retry=10)


# -- line 2 -------------------------------------------------------------------

def test_2_backend_types_list_cc_sip_media_and_http(cluster):
    """In the test cluster, pg_stat_activity.backend_type lists cc sip,
    cc media 0 and cc http."""
    types = [r[0] for r in cluster.sql(
        "SELECT backend_type FROM pg_stat_activity "
        "WHERE backend_type LIKE 'cc %' ORDER BY 1")]
    for name in ("cc sip", "cc media 0", "cc http"):
        assert types.count(name) == 1, "%r not listed once in %r" % (name, types)
    assert len(types) == 3, "unexpected workers: %r" % types

    # cc.media_workers = 2 gives cc media 0 and cc media 1.
    two = harness.Cluster("media_workers_2", media_workers=2)
    ok = False
    try:
        two.start()
        types = [r[0] for r in two.sql(
            "SELECT backend_type FROM pg_stat_activity "
            "WHERE backend_type LIKE 'cc %' ORDER BY 1")]
        assert types == ["cc http", "cc media 0", "cc media 1", "cc sip"], types
        ok = True
    finally:
        two.cleanup(keep=not ok)


# -- line 3 -------------------------------------------------------------------

def _raw_udp(port, text):
    """_raw_udp sends a hand-written request (with {lp} for our port) and
    returns the final response code or None."""
    data = udp_exchange(port, lambda lp: text.format(lp=lp, port=port).replace(
        "\n", "\r\n").encode(), timeout=1.5)
    return data, status_code(data)


BROKEN = {
    "CSeq without a number": (
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-cseq\n"
        "From: <sip:t@127.0.0.1:{lp}>;tag=1\nTo: <sip:127.0.0.1:{port}>\n"
        "Call-ID: broken-cseq@harness\nCSeq: OPTIONS\nMax-Forwards: 70\n"
        "Content-Length: 0\n\n"),
    "Via without a host": (
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\n"
        "Via: SIP/2.0/UDP ;branch=z9hG4bK-via\n"
        "From: <sip:t@127.0.0.1:{lp}>;tag=1\nTo: <sip:127.0.0.1:{port}>\n"
        "Call-ID: broken-via@harness\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n"
        "Content-Length: 0\n\n"),
    "no Call-ID": (
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-callid\n"
        "From: <sip:t@127.0.0.1:{lp}>;tag=1\nTo: <sip:127.0.0.1:{port}>\n"
        "CSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n"),
    "Content-Length past the end": (
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-clen\n"
        "From: <sip:t@127.0.0.1:{lp}>;tag=1\nTo: <sip:127.0.0.1:{port}>\n"
        "Call-ID: broken-clen@harness\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n"
        "Content-Length: 5000\n\nabc"),
    "From that is not a URI": (
        "OPTIONS sip:127.0.0.1:{port} SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:{lp};branch=z9hG4bK-from\n"
        "From: <<<>>>;tag=\nTo: <sip:127.0.0.1:{port}>\n"
        "Call-ID: broken-from@harness\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n"
        "Content-Length: 0\n\n"),
}


def test_3_options_answered_bad_input_survived(cluster):
    """sipp's OPTIONS to the SIP port gets 200 over UDP and over TCP; a
    garbage UDP datagram, a request with an unknown method and a request
    with a broken header get an error response or are dropped, and the
    worker's pid is unchanged afterwards."""
    remote = "127.0.0.1:%d" % cluster.sip_port
    pids = cluster.wait_workers()

    for transport in ("u1", "t1"):
        r = sipp("options_uac", remote, transport, name="options_" + transport)
        assert r.ok, "OPTIONS over %s not answered 200: %r\n%s" % (transport, r, r.logs())

    # Garbage datagrams: nothing, or an error response, comes back.
    rnd = random.Random(2)
    garbage = [b"\x00" * 64, b"garbage\r\n\r\n", b"SIP/2.0\r\n\r\n",
               b"INVITE\r\n", bytes(rnd.getrandbits(8) for _ in range(1400)),
               b"OPTIONS sip:x SIP/2.0\r\n" + b"A" * 60000]
    for g in garbage:
        data = udp_exchange(cluster.sip_port, g, timeout=0.5)
        code = status_code(data)
        assert data is None or (code is not None and code >= 400), \
            "garbage %r answered %r" % (g[:20], data[:80])

    # An unknown method: a final error response (sipp accepts 4xx/5xx).
    for transport in ("u1", "t1"):
        r = sipp("unknown_method_uac", remote, transport, name="foobar_" + transport)
        assert r.ok, "FOOBAR over %s not refused: %r\n%s" % (transport, r, r.logs())

    # Broken headers: an error response or nothing, never a 2xx.
    for what, text in BROKEN.items():
        data, code = _raw_udp(cluster.sip_port, text)
        assert data is None or (code is not None and code >= 400), \
            "request with %s answered %r" % (what, data[:120])

    # Garbage over TCP too.
    s = socket.create_connection(("127.0.0.1", cluster.sip_port), timeout=2)
    try:
        s.sendall(b"\x16\x03\x01\x00\xa5" + os.urandom(200) + b"\r\n\r\n")
        s.settimeout(1.0)
        try:
            s.recv(4096)
        except (socket.timeout, ConnectionError):
            pass
    finally:
        s.close()

    # Still alive, same processes, still answering.
    r = sipp("options_uac", remote, "u1", name="options_after")
    assert r.ok, "OPTIONS after bad input not answered: %r\n%s" % (r, r.logs())
    after = cluster.wait_workers()
    assert after == pids, "worker pids changed: before %r, after %r" % (pids, after)


# -- line 4 -------------------------------------------------------------------

def test_4_sip_options_records_event_rollback_sends_nothing(cluster):
    """SELECT cc.sip_options('sip:127.0.0.1:<port>') against a sipp UAS
    records the response as an event; a rolled-back call of it sends
    nothing (an invalid URI is refused with an error)."""
    # Against a sipp UAS: the 200 is recorded as a sip.options event.
    uas = SippServer("options_uas", timeout=20)
    try:
        cid = cluster.one("SELECT cc.sip_options(%s)", uas.uri)
        state, result, error = _wait_command(cluster, cid, timeout=15)
        assert state == "done", "command %s: %s (%s)" % (cid, state, error)
        data = _options_event(cluster, cid)
        assert data, "no sip.options event for command %s" % cid
        assert data["code"] == 200 and data["uri"] == uas.uri, data
        assert data.get("reason") == "OK" and float(data["rtt_ms"]) >= 0, data
        assert result["code"] == 200, result
    finally:
        r = uas.wait(timeout=10)
    assert r.ok, "sipp UAS: %r\n%s" % (r, r.logs())

    # A rolled-back call sends nothing, while a committed one (sent after
    # it) arrives: the listener would see both if rollback leaked.
    with SipListener(answer=200) as peer:
        rolled = peer.uri + ";n=rolled-back"
        committed = peer.uri + ";n=committed"
        conn = cluster.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT cc.sip_options(%s)", (rolled,))
                assert cur.fetchone()[0]
            conn.rollback()
            rolled_back_at = time.time()
            with conn.cursor() as cur:
                cur.execute("SELECT cc.sip_options(%s)", (committed,))
                cid = cur.fetchone()[0]
            conn.commit()
        finally:
            conn.close()
        got = peer.wait_for(lambda r: r["uri"] == committed, timeout=10)
        assert got and got["method"] == "OPTIONS", \
            "committed OPTIONS never arrived: %r" % peer.matching()
        state, _, error = _wait_command(cluster, cid)
        assert state == "done", (state, error)
        # Give the rolled-back one (had it leaked) 3 s and a rescan.
        time.sleep(max(0.0, rolled_back_at + 3.0 - time.time()))
        leaked = peer.matching(lambda r: "rolled-back" in r["uri"])
        assert not leaked, "rolled-back OPTIONS was sent: %r" % leaked
        assert cluster.one("SELECT count(*) FROM cc.commands WHERE args->>'uri' = %s",
                           rolled) == 0

    # An invalid URI is refused with an error and leaves no command.
    before = cluster.one("SELECT count(*) FROM cc.commands")
    for bad in ("http://example.com", "sip:", "not a uri", "sip:127.0.0.1:99999",
                "sip:" + "a" * 2000):
        try:
            cluster.sql("SELECT cc.sip_options(%s)", bad)
        except psycopg2.Error as e:
            assert e.pgcode and e.pgcode[:2] in ("22", "P0"), (bad, e.pgcode, e)
            continue
        raise AssertionError("invalid URI %r accepted" % bad[:40])
    assert cluster.one("SELECT count(*) FROM cc.commands") == before


# -- line 5 -------------------------------------------------------------------

def _submit(cluster, uri):
    """_submit queues cc.sip_options(uri) once, retrying through a crash
    restart; idempotent (a retry after a lost commit adds nothing)."""
    cluster.sql("SELECT cc.sip_options(%s) WHERE NOT EXISTS "
                "(SELECT 1 FROM cc.commands WHERE args->>'uri' = %s)",
                uri, uri, retry=20)


def test_5_killed_workers_come_back_and_commands_finish(fresh_cluster):
    """kill -9 of each worker: it is back within 5 s, commands left pending
    meanwhile are executed, none stays claimed forever."""
    cluster = fresh_cluster
    with SipListener(answer=200) as peer:
        uris = []
        for worker in ("cc sip", "cc media 0", "cc http"):
            slug = worker.replace(" ", "-")
            old = cluster.worker_pid(worker)
            assert old, "%s not running before the kill" % worker
            if worker == "cc sip":
                # A command cc sip claimed and never finished: the next
                # cc sip puts it back and runs it.
                forced = peer.uri + ";n=forced-claimed"
                cluster.sql(
                    "INSERT INTO cc.commands (kind, args, state, claimed_by, "
                    "claimed_pid, claimed_at, attempts) VALUES ('sip_options', "
                    "jsonb_build_object('uri', %s::text), 'claimed', 'cc sip', %s, now(), 1)",
                    forced, old)
                uris.append(forced)
            killed_at = time.time()
            cluster.kill_worker(worker)
            # Commands issued while the server recovers from the crash.
            for i in range(3):
                uri = "%s;n=%s-%d" % (peer.uri, slug, i)
                _submit(cluster, uri)
                uris.append(uri)

            def back():
                pid = cluster.worker_pid(worker)
                return pid if pid and pid != old else None
            new = wait_until(back, max(0.5, killed_at + 5.0 - time.time()),
                             what="%s back after kill -9 (old pid %d)" % (worker, old))
            took = time.time() - killed_at
            assert took <= 5.5, "%s took %.1f s to come back" % (worker, took)
            cluster.wait_workers(timeout=10)

            # Everything queued so far is done, and was really sent.
            def all_done():
                rows = cluster.sql("SELECT args->>'uri', state, error FROM cc.commands "
                                   "WHERE args->>'uri' = ANY(%s)", uris, retry=10)
                states = {u: (s, e) for u, s, e in rows}
                missing = [u for u in uris if u not in states]
                assert not missing, "commands lost: %r" % missing
                pending = {u: s for u, s in states.items() if s[0] != "done"}
                if pending:
                    raise AssertionError("not done: %r" % pending)
                return True
            wait_until(all_done, 20, what="commands after killing %s (new pid %s)" % (worker, new))
            for u in uris:
                assert peer.wait_for(lambda r, u=u: r["uri"] == u, timeout=2), \
                    "OPTIONS %s never reached the peer" % u
                cid = cluster.one("SELECT id FROM cc.commands WHERE args->>'uri' = %s", u)
                ev = _options_event(cluster, cid)
                assert ev and ev["code"] == 200, "event of %s: %r" % (u, ev)

    claimed = cluster.sql("SELECT id, args->>'uri', claimed_by, claimed_at "
                          "FROM cc.commands WHERE state = 'claimed'")
    assert not claimed, "commands left claimed: %r" % claimed
