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
    no_answer); 486 recorded as busy.  Each leg keeps its SIP facts."""
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
    _send(cluster, call, [{"type": "refer_notify", "leg": leg_id, "code": 200}, {"type": "hangup", "leg": leg_id}])
    r = srv.wait()
    assert r.ok, "agent UAS (REFER, 202, NOTIFY, our BYE): %r\n%s" % (r, r.logs())

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
    _send(cluster, call, [too_long])
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
