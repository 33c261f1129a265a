"""sip_util.py: helpers of the SIP signalling tests (test_sip.py) and the
call-rate benchmark: configuration rows (flows that pause, numbers, trunks,
agents), sipp runs with a chosen local address or port, and waits on call
and leg rows.  Uses only the harness and the standard library.
"""

import hashlib
import json
import os
import subprocess
import tempfile
import time

import harness
from harness import wait_until

REALM = "pg_callcenter"


def pause_flow(cluster, name, seconds):
    """pause_flow creates a published flow start -> pause(seconds) -> end and
    returns its id: a call to it is answered and hung up after `seconds`."""
    graph = {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "wait"}},
        {"id": "wait", "type": "pause", "properties": {"seconds": seconds},
         "connections": {"next": "bye"}},
        {"id": "bye", "type": "end"}]}
    return cluster.one(
        "WITH f AS (INSERT INTO cc.flows (name) VALUES (%s) RETURNING id), "
        "v AS (INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) "
        "      SELECT id, %s::jsonb, true, now() FROM f RETURNING flow_id) "
        "SELECT flow_id FROM v", name, json.dumps(graph))


def number(cluster, digits, flow, max_concurrent=0, max_cps=0):
    """number creates an inbound number bound to flow and returns its id."""
    return cluster.one(
        "INSERT INTO cc.numbers (number, inbound_flow_id, max_concurrent_calls, max_calls_per_second) "
        "VALUES (%s, %s, %s, %s) RETURNING id", digits, flow, max_concurrent, max_cps)


def peering_trunk(cluster, name, addresses=("127.0.0.1/32",), port=5060):
    """peering_trunk creates a peering trunk allowing addresses (CIDRs)."""
    return cluster.one(
        "INSERT INTO cc.trunks (name, mode, peer_addresses, peer_port) VALUES (%s, 'peering', %s::cidr[], %s) "
        "RETURNING id", name, list(addresses), port)


def agent(cluster, name, extension, password):
    """agent creates an enabled agent whose phone authenticates with password."""
    return cluster.one(
        "INSERT INTO cc.agents (name, extension, sip_ha1) VALUES (%s, %s, cc.sip_ha1(%s, %s)) RETURNING id",
        name, extension, extension, password)


def unblock(cluster):
    """unblock forgets the failed authentications (all tests come from 127.0.0.x)."""
    cluster.sql("DELETE FROM cc.sip_auth_failures")


def sipp(cluster, scenario, local_ip="127.0.0.1", port=None, keys=None, extra=(),
         timeout=15, calls=1, name=None, transport="u1"):
    """sipp runs a scenario against the cluster's SIP port from local_ip
    (any 127.0.0.x) and an optional fixed local port; keys become -key
    NAME VALUE (usable as [NAME] in the scenario)."""
    os.makedirs(harness.WORK_ROOT, exist_ok=True)
    logdir = tempfile.mkdtemp(prefix="sipp.%s." % (name or scenario), dir=harness.WORK_ROOT)
    cmd = ["sipp", "-sf", harness.scenario_path(scenario), "-t", transport,
           "-i", local_ip, "-p", str(port or harness.free_port()), "-mp", str(harness.sipp_media_port()),
           "-m", str(calls), "-timeout", "%ds" % timeout, "-timeout_error", "-nostdin",
           "-trace_err", "-error_file", os.path.join(logdir, "errors.log"),
           "-trace_msg", "-message_file", os.path.join(logdir, "messages.log")]
    for k, v in (keys or {}).items():
        cmd += ["-key", k, str(v)]
    cmd += list(extra)
    cmd.append("127.0.0.1:%d" % cluster.sip_port)
    with open(os.path.join(logdir, "stdout.log"), "w") as out:
        try:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout + 15, cwd=logdir).returncode
        except subprocess.TimeoutExpired:
            code = -1
    return harness.SippResult(code, logdir, cmd)


def sipp_server(scenario, port=None, keys=None, calls=1, timeout=30, extra=()):
    """sipp_server starts a sipp UAS scenario in the background (on port when
    given) and returns the harness.SippServer; keys as in sipp()."""
    args = list(extra)
    for k, v in (keys or {}).items():
        args += ["-key", k, str(v)]
    srv = harness.SippServer(scenario, calls=calls, timeout=timeout, extra=args)
    return srv


def messages(result):
    """messages returns sipp's message log of a run (every message sent and received)."""
    try:
        with open(os.path.join(result.logdir, "messages.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def wait_call_ended(cluster, sip_call_id=None, call=None, timeout=15):
    """wait_call_ended waits until the call (by its customer leg's Call-ID or
    its id) has ended and returns its row as a dict."""
    def ended():
        if call is None:
            rows = cluster.sql(
                "SELECT c.id FROM cc.calls c JOIN cc.legs l ON l.call_id = c.id "
                "WHERE l.sip_call_id = %s AND c.state = 'ended'", sip_call_id)
        else:
            rows = cluster.sql("SELECT id FROM cc.calls WHERE id = %s AND state = 'ended'", call)
        return rows[0][0] if rows else None
    cid = wait_until(ended, timeout, what="call %s to end" % (sip_call_id or call))
    cols = ("id", "state", "end_cause", "hangup_side", "created_at", "ended_at", "trunk_id", "direction")
    row = cluster.sql("SELECT %s FROM cc.calls WHERE id = %%s" % ", ".join(cols), cid)[0]
    return dict(zip(cols, row))


def leg(cluster, leg_id):
    """leg returns a leg row as a dict."""
    cols = ("id", "state", "kind", "direction", "cause", "sip_code", "sip_call_id", "from_uri", "to_uri",
            "contact", "remote_ip", "hold_state", "created_at", "ringing_at", "answered_at", "ended_at",
            "agent_id", "trunk_id", "codec", "media_session")
    rows = cluster.sql("SELECT %s FROM cc.legs WHERE id = %%s" % ", ".join(cols), leg_id)
    return dict(zip(cols, rows[0])) if rows else None


def leg_events(cluster, leg_id):
    """leg_events lists (type, data) of a leg's events in order."""
    return cluster.sql("SELECT type, data FROM cc.events WHERE leg_id = %s ORDER BY seq", leg_id)


def digest_response(user, password, method, uri, nonce, nc="00000001", cnonce="abc", qop="auth"):
    """digest_response computes an RFC 2617 MD5 response (qop auth)."""
    ha1 = hashlib.md5(("%s:%s:%s" % (user, REALM, password)).encode()).hexdigest()
    ha2 = hashlib.md5(("%s:%s" % (method, uri)).encode()).hexdigest()
    return hashlib.md5(("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2)).encode()).hexdigest()


def wait_event(cluster, type_, leg_id=None, timeout=10, what=None, **match):
    """wait_event waits for an event of type (for a leg) whose data has the
    given keys and values, and returns its data."""
    def seen():
        rows = cluster.sql("SELECT data FROM cc.events WHERE type = %s AND (%s::uuid IS NULL OR leg_id = %s) "
                           "ORDER BY seq", type_, leg_id, leg_id)
        for (data,) in rows:
            if all(str(data.get(k)) == str(v) for k, v in match.items()):
                return data
        return None
    return wait_until(seen, timeout, what=what or "event %s %r" % (type_, match))
