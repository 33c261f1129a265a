"""test_events_cdr.py: issue 7, "Done when" line 4: a call through SIP
has exactly one CDR whose times are ordered and whose durations add up;
its timeline reads as the call went; the cdr webhook pushes it, signed.

sipp calls a number bound to a published flow start -> pause (2 s) -> end
(test/sipp/call_answered_remote_bye.xml): we answer, wait 2 s and hang up.
"""

import json

from events_receiver import Receiver
from harness import sipp, wait_until

FLOW = {"nodes": [
    {"id": "start", "type": "start", "connections": {"next": "wait"}},
    {"id": "wait", "type": "pause", "properties": {"seconds": 2}, "connections": {"next": "bye"}},
    {"id": "bye", "type": "end"},
]}


def test_4_sip_call_has_one_cdr_times_ordered_durations_add_up(cluster):
    """One sipp call: one CDR (inbound, ended_after_ivr, hung up by us),
    start <= answered by us <= end, no human ring or answer (no queue yet),
    setup + ivr + queue + ring + talk = total = end - start, the 2 s pause in
    the IVR time; one leg row; the timeline; the CDR pushed to a webhook."""
    flow = cluster.one("INSERT INTO cc.flows (name) VALUES ('pause flow') RETURNING id")
    cluster.sql("INSERT INTO cc.flow_versions (flow_id, graph, published, published_at) "
                "VALUES (%s, %s, true, now())", flow, json.dumps(FLOW))
    cluster.sql("INSERT INTO cc.numbers (number, inbound_flow_id) VALUES ('5550100', %s)", flow)
    # sipp calls from 127.0.0.1: a peering trunk lets that address in (anyone else gets 403)
    cluster.sql("INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('sipp', 'peering', '{127.0.0.1/32}')")
    with Receiver(secret="cdr-secret") as r:
        cluster.sql("INSERT INTO cc.webhooks (name, url, event_types, secret) VALUES ('cdrs', %s, '{cdr}', 'cdr-secret')",
                    r.url)
        res = sipp("call_answered_remote_bye", "127.0.0.1:%d" % cluster.sip_port,
                   extra=["-s", "5550100", "-key", "caller", "4155551234"], timeout=20)
        assert res.ok, "sipp call failed: %r\n%s" % (res, res.logs())

        def cdr():
            rows = cluster.sql("SELECT id, call_id FROM cc.cdrs WHERE caller = '4155551234'")
            return rows if rows else None
        rows = wait_until(cdr, 10, what="the CDR of the sipp call")
        assert len(rows) == 1, "expected one CDR, got %r" % rows
        cdr_id, call = rows[0]
        d = dict(zip(
            ["direction", "access_status", "number", "callee", "hangup_side", "end_cause",
             "started", "answered_by_us", "queued", "ring", "answer", "ended",
             "setup_ms", "ivr_ms", "queue_ms", "ring_ms", "talk_ms", "total_ms", "span_ms", "flow_version"],
            cluster.sql("SELECT direction, access_status, number, callee, hangup_side, end_cause, "
                        "extract(epoch FROM started_at), extract(epoch FROM customer_answered_at), "
                        "extract(epoch FROM queued_at), extract(epoch FROM ringing_at), "
                        "extract(epoch FROM answered_at), extract(epoch FROM ended_at), "
                        "setup_ms, ivr_ms, queue_ms, ring_ms, talk_ms, total_ms, "
                        "round(extract(epoch FROM ended_at - started_at) * 1000), flow_version "
                        "FROM cc.cdrs WHERE id = %s", cdr_id)[0]))
        assert (d["direction"], d["access_status"], d["number"], d["callee"]) == \
            ("inbound", "ended_after_ivr", "5550100", "5550100"), d
        assert (d["hangup_side"], d["end_cause"], d["flow_version"]) == ("system", "normal", "MAIN"), d
        # times ordered: start <= answered by us <= end; no human leg, no queue
        assert d["started"] <= d["answered_by_us"] <= d["ended"], d
        assert d["ring"] is None and d["answer"] is None and d["queued"] is None, d
        # durations add up, and match the times
        parts = d["setup_ms"] + d["ivr_ms"] + d["queue_ms"] + d["ring_ms"] + d["talk_ms"]
        assert parts == d["total_ms"] == d["span_ms"], d
        assert d["setup_ms"] == round((float(d["answered_by_us"]) - float(d["started"])) * 1000), d
        assert (d["queue_ms"], d["ring_ms"], d["talk_ms"]) == (0, 0, 0), d
        assert 2000 <= d["ivr_ms"] < 5000, "the 2 s pause is not the IVR time: %r" % d
        legs = cluster.sql("SELECT kind, direction, sip_code, cause FROM cc.cdr_legs WHERE cdr_id = %s", cdr_id)
        assert legs == [("customer", "inbound", 200, "normal")], legs
        assert cluster.one("SELECT count(*) FROM cc.cdrs WHERE call_id = %s", call) == 1

        # the timeline reads as the call went
        steps = [row[0] for row in cluster.sql(
            "SELECT description FROM cc.call_timeline(%s) WHERE type IN "
            "('call.arrived', 'leg.answered', 'flow.node_entered', 'leg.ended', 'cdr.created', 'call.ended')", call)]
        assert steps == ["call from 4155551234 to 5550100", "flow: start (start)", "flow: wait (pause)",
                         "customer is answered", "flow: bye (end)", "customer is hung up",
                         "call ends (normal, hung up by system)", "CDR written (ended_after_ivr)"], steps
        offsets = [row[0] for row in cluster.sql("SELECT offset_ms FROM cc.call_timeline(%s)", call)]
        assert offsets == sorted(offsets) and offsets[-1] >= 2000, offsets

        # the cdr webhook pushed the interaction's result, signed
        got = r.wait_for(n=1, timeout=10)
        assert got[0]["signature_ok"], got[0]["headers"]
        body = Receiver.json(got[0])
        assert body["type"] == "cdr.created" and body["call_id"] == str(call), body
        assert body["data"]["access_status"] == "ended_after_ivr" and body["data"]["total_ms"] == d["total_ms"]
        assert len(body["data"]["legs"]) == 1 and body["data"]["caller"] == "4155551234", body["data"]
