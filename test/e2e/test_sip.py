"""test_sip.py: end-to-end tests of issue 3 (SIP signalling), one test per
"Done when" line 1-8, each named after its line, with sipp as the peer
(scenarios in test/sipp/).  Line 9 is bench/sip_call_rate.py.

The tests share one cluster; each makes its own numbers, trunks and agents
(distinct digits), and forgets failed authentications before it starts,
since every peer here sends from 127.0.0.x.
"""

import time

import harness
from harness import wait_until
import sip_util as su


def _agent_phone(cluster, name, extension, scenario, keys=None, timeout=30):
    """_agent_phone makes an agent, starts a sipp UAS playing its phone with
    scenario, and registers that phone through our registrar (sipp REGISTER
    with digest, Contact on the UAS's port).  Returns (agent id, server)."""
    aid = su.agent(cluster, name, extension, "pw" + extension)
    srv = su.sipp_server(scenario, keys=keys, timeout=timeout)
    r = su.sipp(cluster, "reg_agent", keys={"contact_port": srv.port, "expires": 300},
                extra=["-s", extension, "-au", extension, "-ap", "pw" + extension], name="reg_" + extension)
    assert r.ok, "registering %s failed: %r\n%s" % (extension, r, r.logs())
    assert cluster.one("SELECT count(*) FROM cc.registrations WHERE agent_id = %s", aid) == 1
    return aid, srv


def _call(cluster):
    """_call makes a call in progress to dial agents into (as dispatch would)."""
    return cluster.one("INSERT INTO cc.calls (direction, caller) VALUES ('outbound', '5550100') RETURNING id")


def _send(cluster, call, actions):
    """_send hands actions to cc sip as a call_actions command."""
    import json
    return cluster.one("SELECT cc.call_actions_send(%s, %s::jsonb)", call, json.dumps(actions))


def _wait_leg(cluster, leg_id, pred, what, timeout=15):
    return wait_until(lambda: (lambda l: l if l and pred(l) else None)(su.leg(cluster, leg_id)),
                      timeout, what=what)


# -- line 4 -------------------------------------------------------------------

def test_4_outbound_to_registered_agent_ring_answer_bye_cancel_busy(cluster):
    """Outbound to an agent registered by a sipp UAS: ringing, answer, BYE
    from us and from the agent; CANCEL when the ring timeout passes (cause
    no_answer); forked to two registered phones, the one that does not
    answer gets CANCEL; 486 recorded as busy.  Each leg keeps its SIP
    facts."""
    su.unblock(cluster)

    # ringing, answer, we hang up
    aid, srv = _agent_phone(cluster, "Ann", "2001", "uas_answer_wait_bye")
    call = _call(cluster)
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", call, aid)
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "answered", "agent leg answered")
    assert l["ringing_at"] is not None and l["answered_at"] >= l["ringing_at"], l
    assert l["codec"] == "pcma", l
    assert l["sip_call_id"] and l["contact"].startswith("sip:agent@127.0.0.1:%d" % srv.port), l
    assert l["direction"] == "outbound" and l["agent_id"] == aid, l
    _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
    r = srv.wait()
    assert r.ok, "agent UAS did not get our BYE: %r\n%s" % (r, r.logs())
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "ended", "agent leg ended")
    assert l["cause"] == "normal" and l["ended_at"] >= l["answered_at"], l
    types = [t for t, _ in su.leg_events(cluster, leg_id)]
    for t in ("leg.dialing", "leg.ringing", "leg.answered", "leg.ended"):
        assert t in types, "%s missing from %r" % (t, types)
    assert [d for t, d in su.leg_events(cluster, leg_id) if t == "leg.ended"][0]["side"] == "local"

    # the agent hangs up
    aid, srv = _agent_phone(cluster, "Bea", "2002", "uas_answer_send_bye")
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", _call(cluster), aid)
    r = srv.wait()
    assert r.ok, "agent UAS: %r\n%s" % (r, r.logs())
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "ended", "agent leg ended by the agent")
    assert l["answered_at"] is not None and l["cause"] == "normal", l
    assert [d for t, d in su.leg_events(cluster, leg_id) if t == "leg.ended"][0]["side"] == "remote"

    # nobody answers: CANCEL at the ring timeout
    aid, srv = _agent_phone(cluster, "Cid", "2003", "uas_ring_no_answer")
    t0 = time.time()
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 2000)", _call(cluster), aid)
    r = srv.wait()
    assert r.ok, "agent UAS did not get our CANCEL: %r\n%s" % (r, r.logs())
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "ended", "unanswered leg ended")
    assert l["cause"] == "no_answer" and l["answered_at"] is None and l["ringing_at"] is not None, l
    assert time.time() - t0 >= 1.9, "CANCEL came before the ring timeout"
    failed = [d for t, d in su.leg_events(cluster, leg_id) if t == "leg.failed"]
    assert failed and failed[0]["cause"] == "no_answer", failed

    # forked to two registered phones: the first to answer wins, the other gets CANCEL
    aid, answering = _agent_phone(cluster, "Fox", "2007", "uas_answer_wait_bye")
    ringing = su.sipp_server("uas_ring_no_answer", timeout=30)
    r = su.sipp(cluster, "reg_agent", keys={"contact_port": ringing.port, "expires": 300},
                extra=["-s", "2007", "-au", "2007", "-ap", "pw2007"], name="reg_2007b")
    assert r.ok, r.logs()
    assert cluster.one("SELECT count(*) FROM cc.registrations WHERE agent_id = %s", aid) == 2
    call = _call(cluster)
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 20000)", call, aid)
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "answered", "forked leg answered")
    assert l["contact"].startswith("sip:agent@127.0.0.1:%d" % answering.port), l
    r = ringing.wait()
    assert r.ok, "the phone that did not answer did not get CANCEL: %r\n%s" % (r, r.logs())
    _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
    r = answering.wait()
    assert r.ok, "the answering phone did not get our BYE: %r\n%s" % (r, r.logs())

    # busy
    aid, srv = _agent_phone(cluster, "Dan", "2004", "uas_busy")
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", _call(cluster), aid)
    r = srv.wait()
    assert r.ok, "agent UAS: %r\n%s" % (r, r.logs())
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "ended", "busy leg ended")
    assert l["cause"] == "busy" and l["sip_code"] == 486, l


# -- line 5 -------------------------------------------------------------------

def test_5_reinvite_hold_and_resume_from_agent_change_hold_state(cluster):
    """The agent's phone puts the call on hold (re-INVITE a=sendonly; we
    answer recvonly) and resumes it (a=sendrecv): the leg's hold_state goes
    remote, then none, with hold and resume events."""
    su.unblock(cluster)
    aid, srv = _agent_phone(cluster, "Eve", "2005", "uas_hold_resume")
    call = _call(cluster)
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", call, aid)
    _wait_leg(cluster, leg_id, lambda l: l["hold_state"] == "remote", "hold_state remote after the hold re-INVITE")
    _wait_leg(cluster, leg_id, lambda l: l["hold_state"] == "none" and l["state"] == "answered",
              "hold_state none after the resume re-INVITE")
    events = [(t, d) for t, d in su.leg_events(cluster, leg_id) if t in ("leg.hold", "leg.resume")]
    assert [t for t, _ in events] == ["leg.hold", "leg.resume"], events
    assert events[0][1]["by"] == "re-INVITE" and events[0][1]["mode"] == "sendonly", events
    _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
    r = srv.wait()
    assert r.ok, "agent UAS (hold, resume, our BYE): %r\n%s" % (r, r.logs())


# -- line 6 -------------------------------------------------------------------

def test_6_refer_from_agent_is_a_transfer_event_and_refer_sent_carries_headers(cluster):
    """A REFER from the agent's phone gets 202 and a NOTIFY (sipfrag 100
    Trying) and becomes a leg.refer event (the transfer event of the
    decisions).  connect_to_agent sends REFER with the headers as each
    transfer_headers_send_method says, User-to-User hex with
    ;encoding=hex, checked on the wire by the sipp UAS; transfer_method
    hangup sends BYE with Transfer-Target; a value over 1024 bytes is
    refused with a refer_result error and nothing is sent."""
    su.unblock(cluster)
    aid, srv = _agent_phone(cluster, "Fay", "2006", "uas_refer_in", keys={"refer_target": "4711"})
    call = _call(cluster)
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", call, aid)
    refer = su.wait_event(cluster, "leg.refer", leg_id, what="leg.refer event of the agent's REFER")
    assert refer["refer_to"].startswith("sip:4711@example.com"), refer
    assert "agent@127.0.0.1" in refer["referred_by"], refer
    # The decisions (call control) answer the transfer request: this call
    # is not connected, so they refuse it, and the final NOTIFY on the wire
    # carries their 603.
    refused = su.wait_event(cluster, "call.refer_refused", leg_id, what="call control's answer to the REFER")
    assert "not connected" in refused["reason"], refused
    _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
    r = srv.wait()
    assert r.ok, "agent UAS (REFER, 202, NOTIFY, our BYE): %r\n%s" % (r, r.logs())
    assert "SIP/2.0 603" in su.messages(r).split("NOTIFY sip")[-1], \
        "final NOTIFY does not carry the decision's 603:\n%s" % su.messages(r)[-3000:]

    uui = "call 42"
    uui_hex = uui.encode().hex()
    for i, method in enumerate(("custom_header", "contact_header", "refer_to_header")):
        aid, srv = _agent_phone(cluster, "Gus%d" % i, "201%d" % i, "uas_refer_" + method, keys={"uui_hex": uui_hex})
        call = _call(cluster)
        leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", call, aid)
        _wait_leg(cluster, leg_id, lambda l: l["state"] == "answered", "agent leg answered")
        action = {"type": "connect_to_agent", "leg": leg_id, "tag": "t%d" % i,
                  "transfer_info": {"target": {"service_desk": {"sip": {
                      "uri": "sip:transfer@example.com", "transfer_method": "refer",
                      "transfer_headers": [{"name": "User-to-User", "value": uui},
                                           {"name": "X-Account", "value": "acct-17"}],
                      "transfer_headers_send_method": method}}}}}
        # the decisions' check accepts it as it is
        assert cluster.one("SELECT cc.sip_transfer_check(%s::jsonb) IS NOT NULL", __import__("json").dumps(action))
        _send(cluster, call, [action])
        result = su.wait_event(cluster, "leg.refer_result", leg_id, final=True,
                               what="final refer_result of the %s REFER" % method)
        assert result["code"] == 200 and result["tag"] == "t%d" % i, result
        _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
        r = srv.wait()
        assert r.ok, "UAS checking the %s REFER on the wire: %r\n%s" % (method, r, r.logs())

    # transfer_method hangup: BYE with the target
    aid, srv = _agent_phone(cluster, "Hal", "2020", "uas_bye_transfer_target", keys={"uui_hex": uui_hex})
    call = _call(cluster)
    leg_id = cluster.one("SELECT cc.dial_agent(%s, %s, 10000)", call, aid)
    _wait_leg(cluster, leg_id, lambda l: l["state"] == "answered", "agent leg answered")
    too_long = {"type": "connect_to_agent", "leg": leg_id, "transfer_info": {"target": {"service_desk": {"sip": {
        "uri": "sip:transfer@example.com", "transfer_method": "hangup",
        "transfer_headers": [{"name": "User-to-User", "value": "x" * 600}]}}}}}
    try:
        cluster.sql("SELECT cc.sip_transfer_check(%s::jsonb)", __import__("json").dumps(too_long))
        raise AssertionError("cc.sip_transfer_check accepted a 1213-byte User-to-User")
    except Exception as e:  # noqa: BLE001
        assert "1024 bytes" in str(e), e
    cmd = _send(cluster, call, [too_long])
    state = wait_until(lambda: cluster.one("SELECT state || coalesce(': ' || error, '') FROM cc.commands "
                                           "WHERE id = %s AND state IN ('done', 'failed')", cmd),
                       10, what="the connect_to_agent command to finish")
    assert state == "done", state
    refused = su.wait_event(cluster, "leg.refer_result", leg_id, what="refer_result refusing the long header")
    assert "1024" in refused["error"] and refused["code"] == 0, refused
    hangup = dict(too_long)
    hangup["transfer_info"] = {"target": {"service_desk": {"sip": {
        "uri": "sip:transfer@example.com", "transfer_method": "hangup",
        "transfer_headers": [{"name": "User-to-User", "value": uui}]}}}}
    _send(cluster, call, [hangup])
    r = srv.wait()
    assert r.ok, "UAS checking the BYE with Transfer-Target: %r\n%s" % (r, r.logs())
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "ended", "leg ended by the transfer BYE")
    assert l["cause"] == "transferred", l


# -- line 1 -------------------------------------------------------------------

def test_1_register_digest_401_403_200_expiry_and_blocking(cluster):
    """REGISTER without credentials: 401.  Wrong password: 403.  Right
    password: 200 and a row in cc.registrations (contact, expiry, source
    address, user agent).  Expires 0 removes it; expiry removes it (the
    sweep of cc sip).  Five failures in a row from one address block it:
    the sixth attempt gets 403 before its digest is looked at."""
    su.unblock(cluster)
    aid = su.agent(cluster, "Reg", "3001", "right")
    cred = ["-s", "3001", "-au", "3001"]

    r = su.sipp(cluster, "reg_no_credentials", extra=["-s", "3001"])
    assert r.ok, "REGISTER without credentials did not get 401: %r\n%s" % (r, r.logs())
    r = su.sipp(cluster, "reg_digest_wrong", keys={"expires": 120}, extra=cred + ["-ap", "wrong"])
    assert r.ok, "wrong password did not get 403: %r\n%s" % (r, r.logs())
    su.unblock(cluster)

    phone_port = harness.free_port()
    r = su.sipp(cluster, "reg_digest_ok", local_ip="127.0.0.3", port=phone_port, keys={"expires": 120},
                extra=cred + ["-ap", "right"])
    assert r.ok, "right password did not get 200: %r\n%s" % (r, r.logs())
    rows = cluster.sql("SELECT contact, host(source_ip), user_agent, expires_at - now() FROM cc.registrations "
                       "WHERE agent_id = %s", aid)
    assert len(rows) == 1, rows
    contact, source, ua, left = rows[0]
    assert contact.startswith("sip:3001@127.0.0.3:") and source == "127.0.0.3" and ua == "sipp-agent", rows
    assert 100 < left.total_seconds() <= 120, left

    r = su.sipp(cluster, "reg_digest_ok", local_ip="127.0.0.3", port=phone_port, keys={"expires": 0},
                extra=cred + ["-ap", "right"])
    assert r.ok, r.logs()
    assert cluster.one("SELECT count(*) FROM cc.registrations WHERE agent_id = %s", aid) == 0, \
        "Expires: 0 did not remove the registration"
    assert cluster.one("SELECT data->>'reason' FROM cc.events WHERE type = 'registration.removed' "
                       "AND agent_id = %s ORDER BY seq DESC LIMIT 1", aid) == "unregistered"

    # expiry: the binding's time is moved into the past; cc sip's sweep removes it
    r = su.sipp(cluster, "reg_digest_ok", keys={"expires": 60}, extra=cred + ["-ap", "right"])
    assert r.ok, r.logs()
    cluster.sql("UPDATE cc.registrations SET expires_at = now() - interval '1 second' WHERE agent_id = %s", aid)
    wait_until(lambda: cluster.one("SELECT count(*) FROM cc.registrations WHERE agent_id = %s", aid) == 0,
               10, what="the expired registration to be swept")
    assert cluster.one("SELECT data->>'reason' FROM cc.events WHERE type = 'registration.removed' "
                       "AND agent_id = %s ORDER BY seq DESC LIMIT 1", aid) == "expired"

    # five failures in a row, then blocked
    for i in range(5):
        r = su.sipp(cluster, "reg_digest_wrong", local_ip="127.0.0.4", keys={"expires": 60},
                    extra=cred + ["-ap", "wrong%d" % i])
        assert r.ok, "failure %d did not get 403: %r\n%s" % (i + 1, r, r.logs())
    r = su.sipp(cluster, "reg_blocked", local_ip="127.0.0.4", extra=["-s", "3001"])
    assert r.ok, "the sixth attempt was not refused as blocked: %r\n%s" % (r, r.logs())
    assert cluster.one("SELECT blocked_until > now() FROM cc.sip_auth_failures WHERE address = '127.0.0.4'")
    assert cluster.one("SELECT count(*) FROM cc.events WHERE type = 'sip.address_blocked' "
                       "AND data->>'address' = '127.0.0.4'") == 1
    # another address is not blocked: it still gets its challenge
    r = su.sipp(cluster, "reg_no_credentials", local_ip="127.0.0.5", extra=["-s", "3001"])
    assert r.ok, r.logs()
    su.unblock(cluster)


# -- line 2 -------------------------------------------------------------------

def test_2_peering_trunk_answered_hung_up_403_404(cluster):
    """An INVITE from a peering trunk's address to a number whose flow
    answers and hangs up after 2 s gets 200 and then our BYE; the call and
    its leg end with a cause and times, the trunk recorded.  From an
    address not allowed: 403.  To an unknown number: 404."""
    su.unblock(cluster)
    flow = su.pause_flow(cluster, "pause2", 2)
    su.number(cluster, "5552000", flow)
    trunk = su.peering_trunk(cluster, "peer-local", ["127.0.0.1/32", "10.9.0.0/16"])
    t0 = time.time()
    r = su.sipp(cluster, "call_answered_remote_bye", extra=["-s", "5552000", "-key", "caller", "5550123"])
    assert r.ok, "sipp did not get 200 then our BYE: %r\n%s" % (r, r.logs())
    assert time.time() - t0 >= 1.9, "our BYE came before the 2 s pause"
    call = cluster.one("SELECT id FROM cc.calls WHERE caller = '5550123'")
    c = su.wait_call_ended(cluster, call=call)
    assert c["end_cause"] == "normal" and c["ended_at"] > c["created_at"], c
    assert c["trunk_id"] == trunk and c["direction"] == "inbound", c
    lid = cluster.one("SELECT id FROM cc.legs WHERE call_id = %s", call)
    l = su.leg(cluster, lid)
    assert l["state"] == "ended" and l["cause"] == "normal" and l["trunk_id"] == trunk, l
    assert l["answered_at"] is not None and l["ended_at"] >= l["answered_at"], l
    assert l["sip_call_id"] and l["from_uri"].startswith("sip:5550123@") and str(l["remote_ip"]) == "127.0.0.1", l

    calls = cluster.one("SELECT count(*) FROM cc.calls")
    r = su.sipp(cluster, "invite_refused_403", local_ip="127.0.0.2", extra=["-s", "5552000", "-key", "caller", "5550124"])
    assert r.ok, "an address outside the trunk's list did not get 403: %r\n%s" % (r, r.logs())
    r = su.sipp(cluster, "invite_refused_404", extra=["-s", "5559999", "-key", "caller", "5550125"])
    assert r.ok, "an unknown number did not get 404: %r\n%s" % (r, r.logs())
    assert cluster.one("SELECT count(*) FROM cc.calls") == calls, "a refused INVITE made a call"
    su.unblock(cluster)


# -- line 3 -------------------------------------------------------------------

def test_3_register_out_trunk_digest_registered_then_status_changes(cluster):
    """A register_out trunk registers to a sipp UAS playing the carrier's
    registrar, which challenges; we answer with digest and the trunk shows
    registered.  When the registrar goes silent (the 10 s it granted pass
    without a successful refresh) the status changes to abnormal, with a
    reason, and a trunk.status event each time."""
    srv = su.sipp_server("uas_registrar", timeout=30)
    trunk = cluster.one(
        "INSERT INTO cc.trunks (name, mode, server, port, username, password, expiry_s) "
        "VALUES ('carrier', 'register_out', '127.0.0.1', %s, 'carrier', 's3cret', 60) RETURNING id", srv.port)
    wait_until(lambda: cluster.one("SELECT status FROM cc.trunks WHERE id = %s", trunk) == "registered",
               15, what="the register_out trunk to become registered")
    r = srv.wait()
    assert r.ok, "the registrar did not see a valid digest: %r\n%s" % (r, r.logs())
    t_registered = time.time()
    wait_until(lambda: cluster.one("SELECT status FROM cc.trunks WHERE id = %s", trunk) == "abnormal",
               30, what="the status to change once the registrar went silent")
    assert time.time() - t_registered < 25
    reason = cluster.one("SELECT status_reason FROM cc.trunks WHERE id = %s", trunk)
    assert reason, "no status_reason"
    statuses = [d["status"] for (d,) in cluster.sql(
        "SELECT data FROM cc.events WHERE type = 'trunk.status' AND data->>'trunk_id' = %s ORDER BY seq", str(trunk))]
    assert "registered" in statuses and statuses[-1] == "abnormal", statuses
    cluster.sql("UPDATE cc.trunks SET enabled = false WHERE id = %s", trunk)


# -- line 7 -------------------------------------------------------------------

def test_7_info_dtmf_produces_dtmf_events(cluster):
    """INFO with application/dtmf-relay (Signal=5, then #) during a call
    produces dtmf events of the leg, via info, in order."""
    su.unblock(cluster)
    flow = su.pause_flow(cluster, "pause3", 3)
    su.number(cluster, "5557000", flow)
    if not cluster.one("SELECT count(*) FROM cc.trunks WHERE mode = 'peering' AND enabled"):
        su.peering_trunk(cluster, "peer-dtmf")
    r = su.sipp(cluster, "call_info_dtmf", extra=["-s", "5557000", "-key", "caller", "5550700"])
    assert r.ok, "INFO DTMF call: %r\n%s" % (r, r.logs())
    lid = cluster.one("SELECT l.id FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id WHERE c.caller = '5550700'")
    digits = wait_until(lambda: [d for t, d in su.leg_events(cluster, lid) if t == "leg.dtmf"] or None,
                        10, what="dtmf events")
    assert [(d["digit"], d["via"], d["duration_ms"]) for d in digits] == [("5", "info", 160), ("#", "info", 160)], digits


# -- line 8 -------------------------------------------------------------------

def test_8_number_limits_503_and_blacklist_603(cluster):
    """A number with max_concurrent_calls 1: a second INVITE while the first
    call lasts gets 503 with Retry-After.  A number with
    max_calls_per_second 1: a second INVITE within the second gets 503.  A
    blacklisted caller gets 603 (an expired entry no longer applies).  Each
    refusal is a call.refused event and makes no call."""
    su.unblock(cluster)
    if not cluster.one("SELECT count(*) FROM cc.trunks WHERE mode = 'peering' AND enabled"):
        su.peering_trunk(cluster, "peer-limits")
    flow = su.pause_flow(cluster, "pause4", 4)
    su.number(cluster, "5558001", flow, max_concurrent=1)
    su.number(cluster, "5558002", flow, max_cps=1)
    import threading
    for digits, caller in (("5558001", "5550801"), ("5558002", "5550802")):
        first = {}
        th = threading.Thread(target=lambda: first.setdefault("r", su.sipp(
            cluster, "call_answered_remote_bye", extra=["-s", digits, "-key", "caller", caller])))
        th.start()
        wait_until(lambda: cluster.one("SELECT count(*) FROM cc.calls WHERE callee = %s", digits) == 1,
                   5, what="the first call to %s" % digits)
        r = su.sipp(cluster, "invite_refused_503", extra=["-s", digits, "-key", "caller", caller + "9"])
        assert r.ok, "second call to %s did not get 503: %r\n%s" % (digits, r, r.logs())
        assert "Retry-After:" in su.messages(r), "503 without Retry-After"
        th.join(20)
        assert first["r"].ok, first["r"].logs()
        assert cluster.one("SELECT count(*) FROM cc.calls WHERE callee = %s", digits) == 1
        refusal = cluster.one("SELECT data->>'refusal' FROM cc.events WHERE type = 'call.refused' "
                              "AND data->>'number' = %s", digits)
        assert refusal == ("max_concurrent_calls" if digits == "5558001" else "max_calls_per_second"), refusal

    cluster.sql("INSERT INTO cc.blacklisted_numbers (number, reason) VALUES ('5550666', 'test')")
    r = su.sipp(cluster, "invite_refused_603", extra=["-s", "5558001", "-key", "caller", "+5550666"])
    assert r.ok, "blacklisted caller did not get 603: %r\n%s" % (r, r.logs())
    assert cluster.one("SELECT count(*) FROM cc.calls WHERE caller = '+5550666'") == 0
    cluster.sql("UPDATE cc.blacklisted_numbers SET created_at = now() - interval '2 days', "
                "expires_at = now() - interval '1 day' WHERE number = '5550666'")
    r = su.sipp(cluster, "call_answered_remote_bye", extra=["-s", "5558002", "-key", "caller", "5550666"])
    assert r.ok, "an expired blacklist entry still refused the call: %r\n%s" % (r, r.logs())


def test_8_admission_limit_sheds_new_calls_before_sql(cluster):
    """(Line 8, and what users of a contact center expect besides the
    per-number limits: a limit for the whole site.)  With
    cc.max_calls_per_second = 1, set by a reload: a call takes the second's
    one admission; a second INVITE within that second gets 503 with
    Retry-After from cc sip itself (no call row, no call.refused: no SQL
    decided it), and a sip.calls_shed event reports it.  The report is made
    by cc sip's housekeeping transaction: while a deferred trigger makes
    its COMMIT fail, the count is kept, and the report that finally
    commits names the one refusal.  Without the limit the next call is
    admitted again."""
    su.unblock(cluster)
    if not cluster.one("SELECT count(*) FROM cc.trunks WHERE mode = 'peering' AND enabled"):
        su.peering_trunk(cluster, "peer-admission")
    flow = su.pause_flow(cluster, "pause-admission", 2)
    su.number(cluster, "5558101", flow)
    # the housekeeping transaction that reports the refusal fails at its
    # COMMIT (a deferred constraint trigger) until the trigger is dropped;
    # the sequence counts the attempts (nextval is not rolled back)
    cluster.sql("""
        CREATE SEQUENCE public.shed_report_attempts;
        CREATE FUNCTION public.refuse_shed_report() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.type = 'sip.calls_shed' THEN
                PERFORM nextval('public.shed_report_attempts');
                RAISE EXCEPTION 'test: the sip.calls_shed report fails at commit';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_shed_report AFTER INSERT ON cc.events
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION public.refuse_shed_report()""")
    cluster.sql("ALTER SYSTEM SET cc.max_calls_per_second = 1")
    cluster.sql("SELECT pg_reload_conf()")
    time.sleep(1.5)  # cc sip rereads its configuration within a loop turn; the bucket is full
    try:
        import threading
        first = {}
        th = threading.Thread(target=lambda: first.setdefault("r", su.sipp(
            cluster, "call_answered_remote_bye", extra=["-s", "5558101", "-key", "caller", "5550811"])))
        th.start()
        wait_until(lambda: cluster.one("SELECT count(*) FROM cc.calls WHERE caller = '5550811'") == 1,
                   5, interval=0.02, what="the first call admitted")
        r = su.sipp(cluster, "invite_refused_503", extra=["-s", "5558101", "-key", "caller", "5550812"])
        assert r.ok, "the second INVITE within the second was not refused with 503: %r\n%s" % (r, r.logs())
        assert "Retry-After:" in su.messages(r), "503 without Retry-After"
        th.join(20)
        assert first["r"].ok, first["r"].logs()
        assert cluster.one("SELECT count(*) FROM cc.calls WHERE caller = '5550812'") == 0
        assert cluster.one("SELECT count(*) FROM cc.events WHERE type = 'call.refused' "
                           "AND data->>'caller' = '5550812'") == 0
        wait_until(lambda: cluster.one("SELECT is_called FROM public.shed_report_attempts"),
                   10, what="a housekeeping transaction that failed to report the refusal")
        cluster.sql("DROP TRIGGER refuse_shed_report ON cc.events")
        shed = wait_until(lambda: cluster.one(
            "SELECT data FROM cc.events WHERE type = 'sip.calls_shed' ORDER BY seq DESC LIMIT 1"),
            10, what="a sip.calls_shed event after the failed report")
        assert shed["calls"] == 1 and shed["max_calls_per_second"] == 1, shed
    finally:
        cluster.sql("DROP TRIGGER IF EXISTS refuse_shed_report ON cc.events; "
                    "DROP FUNCTION IF EXISTS public.refuse_shed_report(); "
                    "DROP SEQUENCE IF EXISTS public.shed_report_attempts")
        cluster.sql("ALTER SYSTEM RESET cc.max_calls_per_second")
        cluster.sql("SELECT pg_reload_conf()")
    time.sleep(1.0)
    r = su.sipp(cluster, "call_answered_remote_bye", extra=["-s", "5558101", "-key", "caller", "5550813"])
    assert r.ok, "a call after the limit was lifted: %r\n%s" % (r, r.logs())


def test_3_outbound_through_a_trunk_answers_the_digest_challenge(cluster):
    """(Line 3, continued: trunks.)  A dial through a trunk goes to the
    trunk's address with the number as Request-URI user; the carrier's 401
    is answered with the trunk's credentials, which cc sip reads from
    cc.trunks (the action names only the trunk)."""
    srv = su.sipp_server("uas_trunk_challenge", timeout=30)
    trunk = cluster.one(
        "INSERT INTO cc.trunks (name, mode, peer_addresses, peer_port, username, password) "
        "VALUES ('carrier-out', 'peering', ARRAY['127.0.0.1/32']::cidr[], %s, 'carrier', 's3cret') RETURNING id",
        srv.port)
    time.sleep(0.5)  # the trigger has told cc sip; its copy reloads within a turn
    call = _call(cluster)
    leg_id = cluster.one("INSERT INTO cc.legs (call_id, kind, direction, trunk_id) "
                         "VALUES (%s, 'external', 'outbound', %s) RETURNING id", call, trunk)
    _send(cluster, call, [{"type": "dial", "leg": leg_id, "trunk": trunk, "targets": [{"number": "5550123"}],
                           "from": {"uri": "sip:+861088880000@example.com", "display": "Support"},
                           "ring_timeout_ms": 10000}])
    l = _wait_leg(cluster, leg_id, lambda l: l["state"] == "answered", "the trunk call answered after the challenge")
    assert l["sip_call_id"], l
    _send(cluster, call, [{"type": "hangup", "leg": leg_id}])
    r = srv.wait()
    assert r.ok, "carrier UAS (407, digest, 200, our BYE): %r\n%s" % (r, r.logs())
    cluster.sql("UPDATE cc.trunks SET enabled = false WHERE id = %s", trunk)


def test_session_timer_ends_the_call_of_a_silent_peer(cluster):
    """(What to build: session timers, RFC 4028.)  A caller that asked for
    Session-Expires 90 with itself as refresher and then stops refreshing
    (a dead peer) gets our BYE before the session expires; the leg and the
    call end with cause session_timeout.  Takes about a minute."""
    su.unblock(cluster)
    flow = su.pause_flow(cluster, "pause300", 300)
    su.number(cluster, "5559090", flow)
    if not cluster.one("SELECT count(*) FROM cc.trunks WHERE mode = 'peering' AND enabled "
                       "AND '127.0.0.1'::inet <<= ANY (peer_addresses)"):
        su.peering_trunk(cluster, "peer-timer")
    # The peer sends no RTP either: without this, the media's RTP timeout
    # (cc.rtp_timeout_s, 60 s) would end the call first.  This test is
    # about the SIP session timer alone.
    cluster.sql("ALTER SYSTEM SET cc.rtp_timeout_s = 0")
    cluster.sql("SELECT pg_reload_conf()")
    try:
        t0 = time.time()
        r = su.sipp(cluster, "call_session_timer_silent", extra=["-s", "5559090", "-key", "caller", "5550909"],
                    timeout=120)
    finally:
        cluster.sql("ALTER SYSTEM RESET cc.rtp_timeout_s")
        cluster.sql("SELECT pg_reload_conf()")
    assert r.ok, "no BYE for the silent peer: %r\n%s" % (r, r.logs())
    assert 30 < time.time() - t0 < 100, time.time() - t0
    call = cluster.one("SELECT id FROM cc.calls WHERE caller = '5550909'")
    c = su.wait_call_ended(cluster, call=call)
    assert c["end_cause"] == "session_timeout", c
    lid = cluster.one("SELECT id FROM cc.legs WHERE call_id = %s", call)
    assert su.leg(cluster, lid)["cause"] == "session_timeout"
