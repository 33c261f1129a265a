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

import json
import os
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
