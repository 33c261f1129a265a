"""test_call_control.py: end-to-end tests of issue 8 (call control), one
per "Done when" line, named after it.  Agents' phones, customers and
outside parties are real sipp processes (UAS or UAC) whose RTP is an
RtpPeer of media_util: each party plays its own tone and the tests measure
which tones reach whom (test/e2e/callctl_util.py).  Line 8 is
bench/hangup_bye_latency.py; line 9 is test_call_control_demo.py.

An inbound call is connected to an agent by a flow whose
transfer_extension node the customer answers with the agent's extension
(RFC 4733 keys); everything after that is call control's functions, run
as an application would, each command checked done (or failed).

Tones: customer 600 Hz, first agent 1000 Hz, second agent 1400 Hz,
outside party 800 Hz, supervisor 1800 Hz, hold music 350 Hz; ringback is
440 + 480 Hz.
"""

import datetime
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402
import media_util as mu  # noqa: E402
import callctl_util as cu  # noqa: E402
import sip_util as su  # noqa: E402

CUSTOMER, AGENT_A, AGENT_B, OUTSIDE, SUPERVISOR, MUSIC = 600, 1000, 1400, 800, 1800, 350


def _close(*parties):
    for p in parties:
        if p is not None:
            p.close()


# -- line 1 -------------------------------------------------------------------

def test_1_click_to_call_rings_agent_then_customer_audio_both_ways_cdr_outbound(cluster):
    """cc.click_to_call: the agent's phone rings and answers first and hears
    ringback; only then is the customer dialled (through the caller ID's
    trunk); once the customer answers they hear each other; cc.hangup ends
    both legs with BYE, and the CDR says outbound, our number calling the
    customer, with the agent."""
    su.unblock(cluster)
    ann, ann_phone = cu.agent_phone(cluster, "Ann", "1101")
    customer = cu.Phone(cluster, "customer", ring_ms=2500)
    try:
        trunk = cu.trunk_to(cluster, "c2c customer", customer)
        cluster.sql("INSERT INTO cc.numbers (number, direction, trunk_id) VALUES ('+15550101', 'both', %s)", trunk)
        cmd, _ = cu.run(cluster, "SELECT cc.click_to_call('1101', '+15550199', variables => '{\"ticket\": \"7\"}')")
        call = cluster.one("SELECT call_id FROM cc.commands WHERE id = %s", cmd)
        agent_leg = cu.leg(cluster, call, "agent")
        cu.wait_leg_state(cluster, agent_leg, "answered")
        ann_phone.wait_media()
        # the customer rings while the agent waits: the agent hears ringback
        wait_until(lambda: cu.leg(cluster, call, "customer"), 10, what="the customer leg")
        cust_leg = cu.leg(cluster, call, "customer")
        heard = ann_phone.listen(2.0)
        assert ann_phone.level(heard, 440) > cu.HEARD and ann_phone.level(heard, 480) > cu.HEARD, \
            "the agent does not hear ringback while the customer rings"
        cu.wait_call_state(cluster, call, "connected", timeout=15)
        a, c = (cluster.sql("SELECT created_at, ringing_at, answered_at FROM cc.legs WHERE id = %s", l)[0]
                for l in (agent_leg, cust_leg))
        assert a[2] is not None and c[0] >= a[2], "the customer was dialled (%s) before the agent answered (%s)" % (
            c[0], a[2])
        assert c[1] is not None and c[1] >= a[2], "the customer rang before the agent answered"
        # the agent's INVITE shows the customer, the customer's shows our number
        assert "+15550199" in ann_phone.received_invite(), ann_phone.received_invite()
        inv = customer.received_invite()
        assert inv.startswith("INVITE sip:+15550199@127.0.0.1:%d" % customer.port), inv
        assert "sip:+15550101@" in inv.split("From:", 1)[1].split("\n", 1)[0], inv

        customer.wait_media()
        customer.tone(CUSTOMER)
        ann_phone.tone(AGENT_A)
        cu.assert_hears([customer, ann_phone],
                        {customer: {AGENT_A: True, CUSTOMER: False, 440: False},
                         ann_phone: {CUSTOMER: True, AGENT_A: False, 440: False}},
                        "click-to-call connected")

        cu.run(cluster, "SELECT cc.hangup(%s)", call)
        for p in (customer, ann_phone):
            r = p.wait(30)
            assert r.ok, "%s did not get our BYE: %r\n%s" % (p.name, r, r.logs())
        cdr = wait_until(lambda: cluster.sql(
            "SELECT direction, caller, callee, number, last_agent_id, agent_ids, answered_at IS NOT NULL, "
            "       customer_answered_at IS NOT NULL, talk_ms, end_cause FROM cc.cdrs WHERE call_id = %s", call),
            10, what="the CDR")[0]
        assert cdr[0] == "outbound" and cdr[1] == "+15550101" and cdr[2] == "+15550199", cdr
        assert cdr[4] == ann and ann in cdr[5], cdr
        assert cdr[6] and cdr[7] and cdr[8] > 1000, cdr
        legs = cluster.sql("SELECT l.kind, l.direction, l.party, l.agent_id FROM cc.cdr_legs AS l "
                           "JOIN cc.cdrs AS d ON d.id = l.cdr_id WHERE d.call_id = %s ORDER BY l.created_at", call)
        assert [(k, d) for k, d, _, _ in legs] == [("agent", "outbound"), ("customer", "outbound")], legs
        assert legs[0][3] == ann, legs
    finally:
        _close(ann_phone, customer)


# -- line 2 -------------------------------------------------------------------

def test_2_blind_transfer_to_an_external_number_carries_the_variables(cluster):
    """A connected inbound call is blind-transferred to an outside number
    through a trunk: the agent gets BYE at once, the customer hears
    ringback, the outside party's INVITE carries X-CC-Call-ID and the
    call's variables (one set by the flow, one given to cc.transfer) as
    X-CC-Var-* headers, and once it answers the customer and the outside
    party hear each other.  When the outside party hangs up, the flow goes
    on after its transfer node (its end) and the customer gets BYE."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7201")
    ada, ada_phone = cu.agent_phone(cluster, "Ada", "1201")
    outside = cu.Phone(cluster, "outside", ring_ms=3000)
    customer = None
    try:
        cu.trunk_to(cluster, "outside 2", outside)
        call, customer = cu.connected_inbound_call(cluster, "7201", "1201", CUSTOMER, ada_phone, AGENT_A)
        assert cluster.one("SELECT variables->>'entry' FROM cc.calls WHERE id = %s", call) == "extension menu"
        cu.assert_hears([customer, ada_phone], {customer: {AGENT_A: True}, ada_phone: {CUSTOMER: True}},
                        "before the transfer")
        agent_leg = cu.leg(cluster, call, "agent")

        cu.run(cluster, "SELECT cc.transfer(%s, '{\"number\": \"+15550202\", \"trunk\": \"outside 2\"}', "
                        "'{\"ticket\": \"42\"}')", call)
        r = ada_phone.wait(20)
        assert r.ok, "the agent did not get BYE at the transfer: %r\n%s" % (r, r.logs())
        assert cluster.one("SELECT cause FROM cc.legs WHERE id = %s", agent_leg) == "transferred"
        heard = customer.listen(2.0)
        assert customer.level(heard, 440) > cu.HEARD, "the customer does not hear ringback while the transfer rings"
        assert customer.level(heard, AGENT_A) < cu.NOT_HEARD, "the customer still hears the agent who transferred"

        ext_leg = wait_until(lambda: cluster.one("SELECT id FROM cc.legs WHERE call_id = %s AND kind = 'external' "
                                                 "AND state = 'answered'", call), 15, what="the outside party answered")
        inv = outside.received_invite()
        assert inv.startswith("INVITE sip:+15550202@127.0.0.1:%d" % outside.port), inv
        for h in ("X-CC-Call-ID: %s" % call, "X-CC-Var-ticket: 42", "X-CC-Var-entry: extension menu"):
            assert h in inv, "the outside party's INVITE lacks %r:\n%s" % (h, inv)
        outside.wait_media()
        outside.tone(OUTSIDE)
        cu.assert_hears([customer, outside],
                        {customer: {OUTSIDE: True, 440: False, AGENT_A: False}, outside: {CUSTOMER: True}},
                        "after the transfer to an outside number")
        assert cu.event_types(cluster, call, "call.transfer").count("call.transferred") == 1
        row = cluster.sql("SELECT kind, state, reason, to_leg_id FROM cc.transfers WHERE call_id = %s", call)
        assert row == [("blind", "completed", "answered", ext_leg)], row
        assert cluster.one("SELECT state FROM cc.calls WHERE id = %s", call) == "connected"

        outside.hangup(cu.sip_call_id(cluster, ext_leg))
        r = customer.wait(30)
        assert r.ok, "the customer did not get BYE after the outside party left: %r\n%s" % (r, r.logs())
        ended = su.wait_call_ended(cluster, call=call)
        assert ended["end_cause"] == "normal", ended
        assert outside.wait(10).ok
    finally:
        _close(ada_phone, outside, customer)


# -- line 3 -------------------------------------------------------------------

def test_3_consult_three_way_then_first_agent_leaves_customer_and_second_agent_talk(cluster):
    """cc.consult holds the customer and rings a second agent; the two
    agents talk, the customer hears neither.  cc.consult_three_way: all
    three hear each other.  The first agent hangs up its phone: the
    customer and the second agent still hear each other, the second is the
    call's agent, the call goes on."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7301")
    bea, bea_phone = cu.agent_phone(cluster, "Bea", "1301")
    bob, bob_phone = cu.agent_phone(cluster, "Bob", "1302", ring_ms=1000)
    customer = None
    try:
        call, customer = cu.connected_inbound_call(cluster, "7301", "1301", CUSTOMER, bea_phone, AGENT_A)
        bea_leg = cu.leg(cluster, call, "agent")
        cu.run(cluster, "SELECT cc.consult(%s, '{\"agent\": \"1302\"}')", call)
        consult_leg = wait_until(lambda: cluster.one("SELECT to_leg_id FROM cc.transfers WHERE call_id = %s "
                                                     "AND state = 'consulting'", call), 15,
                                 what="the consultation answered")
        bob_phone.wait_media()
        bob_phone.tone(AGENT_B)
        parties = [customer, bea_phone, bob_phone]
        cu.assert_hears(parties, {customer: {AGENT_A: False, AGENT_B: False},
                                  bea_phone: {AGENT_B: True, CUSTOMER: False},
                                  bob_phone: {AGENT_A: True, CUSTOMER: False}}, "consulting")
        assert cluster.one("SELECT hold_state FROM cc.legs WHERE id = %s",
                           cu.leg(cluster, call, "customer")) == "local"

        cu.run(cluster, "SELECT cc.consult_three_way(%s)", call)
        cu.assert_hears(parties, {customer: {AGENT_A: True, AGENT_B: True, CUSTOMER: False},
                                  bea_phone: {AGENT_B: True, CUSTOMER: True, AGENT_A: False},
                                  bob_phone: {AGENT_A: True, CUSTOMER: True, AGENT_B: False}}, "three-way")

        bea_phone.hangup(cu.sip_call_id(cluster, bea_leg))
        r = bea_phone.wait(20)
        assert r.ok, "the first agent's phone could not hang up: %r\n%s" % (r, r.logs())
        cu.wait_leg_state(cluster, bea_leg, "ended")
        cu.assert_hears([customer, bob_phone], {customer: {AGENT_B: True, AGENT_A: False},
                                                bob_phone: {CUSTOMER: True, AGENT_A: False}},
                        "after the first agent left the three-way call")
        assert cluster.sql("SELECT state, agent_id FROM cc.calls WHERE id = %s", call) == [("connected", bob)]
        assert cluster.sql("SELECT state, reason FROM cc.transfers WHERE call_id = %s", call) == [
            ("completed", "first_agent_left")]
        assert cluster.one("SELECT state FROM cc.legs WHERE id = %s", consult_leg) == "answered"
        cu.run(cluster, "SELECT cc.hangup(%s)", call)
        for p in (customer, bob_phone):
            assert p.wait(20).ok, "%s did not get BYE" % p.name
    finally:
        _close(bea_phone, bob_phone, customer)


def test_3_consult_canceled_before_answer_leaves_the_call_as_it_was(cluster):
    """A consultation cancelled while the consulted phone rings: that phone
    gets CANCEL, the customer comes off hold, and customer and agent hear
    each other as before; the call is connected with the same agent leg."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7302")
    cal, cal_phone = cu.agent_phone(cluster, "Cal", "1303")
    cid, cid_phone = cu.agent_phone(cluster, "Cid", "1304", answer=False)
    customer = None
    try:
        call, customer = cu.connected_inbound_call(cluster, "7302", "1303", CUSTOMER, cal_phone, AGENT_A)
        cal_leg = cu.leg(cluster, call, "agent")
        cust_leg = cu.leg(cluster, call, "customer")
        cu.run(cluster, "SELECT cc.consult(%s, '{\"agent\": \"1304\"}')", call)
        consult_leg = wait_until(lambda: cu.leg(cluster, call, "consult"), 10, what="the consult leg")
        cu.wait_leg_state(cluster, consult_leg, "ringing")
        cu.assert_hears([customer, cal_phone], {customer: {AGENT_A: False}, cal_phone: {CUSTOMER: False}},
                        "the customer held while the consultation rings")

        cu.run(cluster, "SELECT cc.consult_cancel(%s)", call)
        r = cid_phone.wait(20)
        assert r.ok, "the consulted phone did not get CANCEL: %r\n%s" % (r, r.logs())
        cu.wait_leg_state(cluster, consult_leg, "ended")
        cu.assert_hears([customer, cal_phone], {customer: {AGENT_A: True}, cal_phone: {CUSTOMER: True}},
                        "after the consultation was cancelled")
        assert cluster.sql("SELECT state, agent_id FROM cc.calls WHERE id = %s", call) == [("connected", cal)]
        assert cluster.sql("SELECT state, hold_state FROM cc.legs WHERE id = %s", cust_leg) == [("answered", "none")]
        assert cluster.one("SELECT state FROM cc.legs WHERE id = %s", cal_leg) == "answered"
        assert cluster.sql("SELECT state, reason FROM cc.transfers WHERE call_id = %s", call) == [("canceled", "canceled")]
        cu.run(cluster, "SELECT cc.hangup(%s)", call)
        for p in (customer, cal_phone):
            assert p.wait(20).ok, "%s did not get BYE" % p.name
    finally:
        _close(cal_phone, cid_phone, customer)


# -- line 4 -------------------------------------------------------------------

def test_4_hold_and_mute_what_the_customer_hears(cluster):
    """The customer hears the hold music only while held (and then not the
    agent, who no longer hears the customer); muted, the customer hears
    nothing from the agent and no music, while the agent still hears the
    customer."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7401")
    music = "callctl_hold.wav"
    mu.write_wav(os.path.join(mu.media_dir(cluster), music), mu.tones([MUSIC], -12, 2000), 8000)
    dee, dee_phone = cu.agent_phone(cluster, "Dee", "1401")
    customer = None
    try:
        call, customer = cu.connected_inbound_call(cluster, "7401", "1401", CUSTOMER, dee_phone, AGENT_A)
        cust_leg, agent_leg = cu.leg(cluster, call, "customer"), cu.leg(cluster, call, "agent")
        both = [customer, dee_phone]
        talking = {customer: {AGENT_A: True, MUSIC: False}, dee_phone: {CUSTOMER: True}}
        cu.assert_hears(both, talking, "before hold")

        cu.run(cluster, "SELECT cc.hold(%s, music => %s)", call, json.dumps({"file": music}))
        cu.assert_hears(both, {customer: {MUSIC: True, AGENT_A: False}, dee_phone: {CUSTOMER: False, MUSIC: False}},
                        "held")
        assert cluster.one("SELECT hold_state FROM cc.legs WHERE id = %s", cust_leg) == "local"
        _, error = cu.run(cluster, "SELECT cc.hold(%s)", call, expect="failed")
        assert "on hold already" in error, error

        cu.run(cluster, "SELECT cc.unhold(%s)", call)
        cu.assert_hears(both, talking, "after unhold")
        assert cluster.one("SELECT hold_state FROM cc.legs WHERE id = %s", cust_leg) == "none"

        cu.run(cluster, "SELECT cc.mute(%s)", call)
        cu.assert_hears(both, {customer: {AGENT_A: False, MUSIC: False}, dee_phone: {CUSTOMER: True}}, "muted")
        assert cluster.one("SELECT muted FROM cc.legs WHERE id = %s", agent_leg) is True

        cu.run(cluster, "SELECT cc.unmute(%s)", call)
        cu.assert_hears(both, talking, "after unmute")
        held = [t for t in cu.event_types(cluster, call, "call.") if t in (
            "call.held", "call.unheld", "call.muted", "call.unmuted")]
        assert held == ["call.held", "call.unheld", "call.muted", "call.unmuted"], held
        cu.run(cluster, "SELECT cc.hangup(%s)", call)
        for p in both:
            assert p.wait(20).ok, "%s did not get BYE" % p.name
    finally:
        _close(dee_phone, customer)


# -- line 5 -------------------------------------------------------------------

def test_5_supervisor_listens_whispers_barges(cluster):
    """cc.monitor calls the supervisor's phone; listening it hears agent and
    customer and nobody hears it; whispering the agent hears it and the
    customer does not; barging both do.  Agent and customer hear each
    other throughout.  The supervisor hanging up ends the supervision,
    not the call."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7501")
    eve, eve_phone = cu.agent_phone(cluster, "Eve", "1501")
    sue, sue_phone = cu.agent_phone(cluster, "Sue", "1502")
    customer = None
    try:
        call, customer = cu.connected_inbound_call(cluster, "7501", "1501", CUSTOMER, eve_phone, AGENT_A)
        cu.run(cluster, "SELECT cc.monitor(%s, '{\"agent\": \"1502\"}', 'listen')", call)
        sup_leg = wait_until(lambda: cluster.one("SELECT leg_id FROM cc.supervisions WHERE call_id = %s "
                                                 "AND state = 'active'", call), 15, what="the supervisor answered")
        sue_phone.wait_media()
        sue_phone.tone(SUPERVISOR)
        parties = [customer, eve_phone, sue_phone]
        for mode, agent_hears, customer_hears in (("listen", False, False), ("whisper", True, False),
                                                  ("barge", True, True)):
            if mode != "listen":
                cu.run(cluster, "SELECT cc.monitor(%s, '{\"agent\": \"1502\"}', %s)", call, mode)
            cu.assert_hears(parties, {
                sue_phone: {CUSTOMER: True, AGENT_A: True},
                eve_phone: {CUSTOMER: True, SUPERVISOR: agent_hears},
                customer: {AGENT_A: True, SUPERVISOR: customer_hears}}, "supervisor in mode %s" % mode)
            assert cluster.one("SELECT mode FROM cc.supervisions WHERE call_id = %s", call) == mode

        sue_phone.hangup(cu.sip_call_id(cluster, sup_leg))
        assert sue_phone.wait(20).ok
        wait_until(lambda: cluster.one("SELECT state FROM cc.supervisions WHERE call_id = %s", call) == "ended",
                   10, what="the supervision ended")
        cu.assert_hears([customer, eve_phone], {customer: {AGENT_A: True, SUPERVISOR: False},
                                                eve_phone: {CUSTOMER: True, SUPERVISOR: False}},
                        "after the supervisor hung up")
        assert cluster.one("SELECT state FROM cc.calls WHERE id = %s", call) == "connected"
        cu.run(cluster, "SELECT cc.hangup(%s)", call)
        for p in (customer, eve_phone):
            assert p.wait(20).ok, "%s did not get BYE" % p.name
    finally:
        _close(eve_phone, sue_phone, customer)


# -- line 6 -------------------------------------------------------------------

def test_6_rolled_back_command_never_runs_ended_call_command_fails_with_reason(cluster):
    """A hangup and a hold made in a transaction that rolls back leave no
    command and change nothing: the call stays connected, customer and
    agent keep hearing each other.  A hold committed after the customer's
    call was ended by another session fails when it runs with "call ...
    ended at ... (cause ...)"; called after the end, cc.hold refuses at
    once with SQLSTATE 55000."""
    su.unblock(cluster)
    cu.extension_number(cluster, "7601")
    fay, fay_phone = cu.agent_phone(cluster, "Fay", "1601")
    customer = None
    try:
        call, customer = cu.connected_inbound_call(cluster, "7601", "1601", CUSTOMER, fay_phone, AGENT_A)
        commands_before = cluster.one("SELECT count(*) FROM cc.commands WHERE call_id = %s", call)
        app = cluster.connect()
        try:
            with app.cursor() as cur:
                cur.execute("SELECT cc.hangup(%s)", (call,))
                hangup_cmd = cur.fetchone()[0]
                cur.execute("SELECT cc.hold(%s)", (call,))
            app.rollback()
            # let cc sip's periodic rescan of pending commands pass as well
            cu.assert_hears([customer, fay_phone], {customer: {AGENT_A: True}, fay_phone: {CUSTOMER: True}},
                            "after the rolled-back hangup and hold", settle=3.0)
            assert cluster.one("SELECT count(*) FROM cc.commands WHERE id = %s", hangup_cmd) == 0
            assert cluster.one("SELECT count(*) FROM cc.commands WHERE call_id = %s", call) == commands_before
            assert cluster.one("SELECT state FROM cc.calls WHERE id = %s", call) == "connected"
            assert cluster.one("SELECT hold_state FROM cc.legs WHERE id = %s",
                               cu.leg(cluster, call, "customer")) == "none"
            assert not fay_phone.done() and not customer.done(), "a phone got BYE from a rolled-back hangup"

            # the application's transaction is open while the call ends
            with app.cursor() as cur:
                cur.execute("SELECT cc.hold(%s)", (call,))
                hold_cmd = cur.fetchone()[0]
            cu.run(cluster, "SELECT cc.hangup(%s, cause => 'resolved')", call)
            su.wait_call_ended(cluster, call=call)
            app.commit()
        finally:
            app.close()
        state, error = cu.wait_command(cluster, hold_cmd)
        ended_at = cluster.one("SELECT ended_at FROM cc.calls WHERE id = %s", call)
        assert state == "failed", (state, error)
        m = re.match(r"^call (\S+) ended at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)([+-]\d\d) \(cause resolved\)$", error)
        assert m and m.group(1) == call, error
        assert m.group(2) == ended_at.astimezone(datetime.timezone(datetime.timedelta(hours=int(m.group(3))))).strftime(
            "%Y-%m-%d %H:%M:%S"), (error, ended_at)
        failed = cluster.one("SELECT data FROM cc.events WHERE type = 'command.failed' AND command_id = %s", hold_cmd)
        assert failed and "ended at" in failed.get("error", ""), failed
        for p in (customer, fay_phone):
            assert p.wait(20).ok, "%s did not get BYE" % p.name
        try:
            cluster.sql("SELECT cc.hold(%s)", call)
            raise AssertionError("cc.hold accepted an ended call")
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "pgcode", None) == "55000" and "ended" in str(e), e
    finally:
        _close(fay_phone, customer)


# -- line 7 -------------------------------------------------------------------

def test_7_self_service_collects_6_digits_returns_caller_to_same_agent_posts_digits(cluster):
    """cc.self_service_start runs a self-service flow with the caller while
    the agent waits on hold (hearing nothing of the caller); the caller
    keys 6 digits (RFC 4733); the flow's end posts them to its callback
    URL once, and the caller is back with the same agent leg: they hear
    each other again."""
    import events_receiver
    su.unblock(cluster)
    cu.extension_number(cluster, "7701")
    gus, gus_phone = cu.agent_phone(cluster, "Gus", "1701")
    customer = None
    with events_receiver.Receiver() as receiver:
        try:
            graph = {"nodes": [
                {"id": "start", "type": "start", "connections": {"next": "id"}},
                {"id": "id", "type": "collect",
                 "properties": {"prompt": {"file": cu.beep_prompt(cluster)}, "variable": "id_number",
                                "mode": "fixed_length", "max_digits": 6, "timeout_s": 30},
                 "connections": {"next": "done"}},
                {"id": "done", "type": "end"}]}
            cu.flow(cluster, "id check", graph, kind="self_service", callback_url=receiver.url)
            call, customer = cu.connected_inbound_call(cluster, "7701", "1701", CUSTOMER, gus_phone, AGENT_A)
            agent_leg = cu.leg(cluster, call, "agent")
            cu.run(cluster, "SELECT cc.self_service_start(%s, 'id check')", call)
            cu.wait_call_state(cluster, call, "ivr")
            cu.assert_hears([customer, gus_phone], {customer: {AGENT_A: False}, gus_phone: {CUSTOMER: False}},
                            "the caller in the self-service flow")
            customer.peer.send_digits("123456")
            post = wait_until(lambda: receiver.requests, 20, what="the callback with the digits")[0]
            body = json.loads(post["body"])
            assert post["method"] == "POST" and body["call_id"] == call, post
            assert body["variables"]["id_number"] == "123456", body
            cu.wait_call_state(cluster, call, "connected")
            cu.assert_hears([customer, gus_phone], {customer: {AGENT_A: True}, gus_phone: {CUSTOMER: True}},
                            "the caller back with the agent")
            assert cu.leg(cluster, call, "agent") == agent_leg, "the caller came back to another agent leg"
            assert cluster.one("SELECT count(*) FROM cc.legs WHERE call_id = %s AND kind = 'agent'", call) == 1
            row = cluster.sql("SELECT state, collected FROM cc.self_services WHERE call_id = %s", call)
            assert row == [("returned", {"id_number": "123456"})], row
            assert cluster.one("SELECT hold_state FROM cc.legs WHERE id = %s", agent_leg) == "none"
            time.sleep(1.0)
            assert len(receiver.requests) == 1, "the callback was posted %d times" % len(receiver.requests)
            cu.run(cluster, "SELECT cc.hangup(%s)", call)
            for p in (customer, gus_phone):
                assert p.wait(20).ok, "%s did not get BYE" % p.name
        finally:
            _close(gus_phone, customer)
