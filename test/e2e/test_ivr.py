"""test_ivr.py: issue 5 (IVR flows), Done-when lines 2, 3 and 4, end to
end: sipp callers (signalling) with an RtpPeer each (their RTP, keys
pressed by RFC 4733), the real workers (cc sip, cc media, cc http), a
local HTTP receiver and a local bot.

- line 2: a call follows a published flow node by node (welcome TTS, a
  menu answered with 2, four digits ended by #, an HTTP node whose JSON
  answer becomes variables, a condition on it, TTS reading them, a survey
  answered with 1, the end); the call's events show that path and the
  receiver got the expected body.
- line 3: a call on MAIN in progress while a new version is published and
  while the number is rebound keeps MAIN; a call made after the publish but
  before the rebind runs MAIN too; the call after the rebind runs the new
  version.
- line 4: a bot answering in IBM's format drives calls: text, dtmf collect,
  connect_to_agent by REFER with transfer headers (checked on the wire by
  the calling sipp), a failed REFER and end_session with headers on the BYE.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import ivr_util as iu  # noqa: E402

CALLER = "15551230001"


def _flow_events(call, type_, key="node"):
    return [d.get(key) for d in call.events(type_)]


# -- line 2 -------------------------------------------------------------------

def line2_graph(url):
    return {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "welcome"}},
        {"id": "welcome", "type": "play", "label": "Welcome",
         "properties": {"prompt": {"tts": "Welcome to the test bank."}}, "connections": {"next": "menu"}},
        {"id": "menu", "type": "menu", "label": "Main menu",
         "properties": {"prompt": {"tts": "For opening hours, press 1. For your account, press 2."},
                        "timeout_s": 30,
                        "branches": [{"key": "1", "label": "Hours", "next": "hours"},
                                     {"key": "2", "label": "Account", "next": "account"}]},
         "connections": {"max_errors": "bye"}},
        {"id": "hours", "type": "play", "label": "Hours",
         "properties": {"prompt": {"tts": "We are open every day."}}, "connections": {"next": "bye"}},
        {"id": "account", "type": "collect", "label": "Account number",
         "properties": {"prompt": {"tts": "Key in your four digit account number, then the hash key."},
                        "variable": "account", "min_digits": 4, "max_digits": 4, "termination_key": "#",
                        "timeout_s": 30},
         "connections": {"next": "lookup", "max_errors": "bye"}},
        {"id": "lookup", "type": "http", "label": "Look the account up",
         "properties": {"url": url, "method": "POST",
                        "request": {"account": "${account}", "caller": "${SystemCallerNumber}"},
                        "response": [{"field": "customer.name", "variable": "name", "default": "customer"},
                                     {"field": "balance", "variable": "balance", "default": "unknown"},
                                     {"field": "tier", "variable": "tier", "default": "none"}]},
         "connections": {"next": "check", "failure": "bye"}},
        {"id": "check", "type": "condition", "label": "Gold customer?",
         "properties": {"branches": [{"label": "Gold", "next": "read",
                                      "conditions": [{"variable": "tier", "op": "=", "value": "gold"}]}]},
         "connections": {"default": "regular"}},
        {"id": "read", "type": "play", "label": "Read the balance",
         "properties": {"prompt": {"tts": "Hello ${name}. Your balance is ${balance} dollars."}},
         "connections": {"next": "survey"}},
        {"id": "regular", "type": "play", "label": "Regular customer",
         "properties": {"prompt": {"tts": "Your account is a regular one."}}, "connections": {"next": "survey"}},
        {"id": "survey", "type": "survey", "label": "Satisfaction",
         "properties": {"prompt": {"tts": "Were you satisfied? Press 1 for yes, 2 for no."},
                        "options": [{"key": "1", "label": "satisfied"}, {"key": "2", "label": "unsatisfied"}],
                        "key_variable": "sat_key", "label_variable": "sat_label", "timeout_s": 30,
                        "thanks_prompt": {"tts": "Thank you."}},
         "connections": {"next": "bye"}},
        {"id": "bye", "type": "end", "label": "Goodbye", "properties": {"prompt": {"tts": "Goodbye."}}}]}


def test_2_sipp_call_follows_published_flow_menu_collect_http_condition_tts_survey(cluster):
    """A sipp call to a number bound to a published flow goes exactly
    start > welcome > menu (2, by RFC 4733) > account (4711#) > lookup (POST
    to a local receiver, whose JSON answer fills name, balance, tier) >
    check (tier = gold) > read (TTS with the variables) > survey (1) > bye,
    and hangs up; the events, the choices and the variables say so; the
    receiver got {"account": "4711", "caller": ...} as JSON."""

    def answer(rec):
        # the answer depends on what was posted: a wrong body takes another path
        body = rec["json"] or {}
        if body.get("account") == "4711":
            return 200, {"customer": {"name": "Ada Lovelace"}, "balance": "42.50", "tier": "gold"}
        return 200, {"customer": {"name": "nobody"}, "balance": "0", "tier": "none"}

    with iu.JsonServer(answer) as receiver:
        flow = iu.publish_flow(cluster, "line2", line2_graph(receiver.url("/lookup")))
        iu.bound_number(cluster, "5200", flow)
        call = iu.IvrCall(cluster, "5200", [("bye", [])], caller=CALLER)
        try:
            # the menu: heard whole, then 2
            call.wait_node("menu")
            call.wait_prompts_played("menu")
            call.press("2")
            # the account number, ended by #
            call.wait_node("account")
            call.wait_prompts_played("account")
            call.press("4711#")
            # the HTTP node, the condition, the TTS of the answer, then the survey
            call.wait_node("survey", timeout=40)
            call.wait_prompts_played("survey")
            call.press("1")
            code = call.wait(90)
            assert code == 0, "the caller's sipp failed (%s): %s" % (code, call.logs())
            cause, side = call.wait_ended()
        finally:
            call.close()

        assert call.path() == ["start", "welcome", "menu", "account", "lookup", "check", "read", "survey",
                               "bye"], call.path()
        ended = call.events("flow.ended")
        assert [(e["node"], e["reason"], e["hangup"]) for e in ended] == [("bye", "end", True)], ended
        assert (cause, side) == ("normal", "system"), (cause, side)

        # what the caller keyed, as the media worker collected it: the # ended
        # the four digits, and no key went astray outside a collection
        collects = [(d["digits"], d["reason"]) for (d,) in cluster.sql(
            "SELECT data FROM cc.events WHERE leg_id = %s AND type = 'leg.collect_done' ORDER BY seq", call.leg)]
        assert collects == [("2", "count"), ("4711", "termination_key"), ("1", "count")], collects
        assert cluster.one("SELECT count(*) FROM cc.events WHERE leg_id = %s AND type = 'leg.dtmf'", call.leg) == 0

        # the receiver: one POST of JSON strings
        reqs = receiver.wait_for(1)
        assert len(reqs) == 1, reqs
        assert reqs[0]["method"] == "POST" and reqs[0]["path"] == "/lookup", reqs[0]
        assert reqs[0]["headers"].get("content-type") == "application/json", reqs[0]["headers"]
        assert reqs[0]["json"] == {"account": "4711", "caller": CALLER}, reqs[0]["body"]

        # the answer mapped to variables, the condition's branch, the choices
        done = call.events("flow.http_done")
        assert len(done) == 1 and done[0]["ok"] is True and done[0]["status"] == 200, done
        assert done[0]["variables"] == {"name": "Ada Lovelace", "balance": "42.50", "tier": "gold"}, done
        assert [(d["node"], d["branch"], d.get("label")) for d in call.events("flow.condition")] == \
            [("check", 0, "Gold")]
        variables, choices = cluster.sql("SELECT variables, choices FROM cc.calls WHERE id = %s", call.call)[0]
        assert variables == {"account": "4711", "name": "Ada Lovelace", "balance": "42.50", "tier": "gold",
                             "sat_key": "1", "sat_label": "satisfied"}, variables
        assert [(c["node"], c["kind"], c.get("key"), c.get("label"), c.get("value")) for c in choices] == [
            ("menu", "menu", "2", "Account", None),
            ("account", "collect", None, None, "4711"),
            ("survey", "survey", "1", "satisfied", None)], choices

        # the TTS read the variables: the play the HTTP answer led to (a
        # call_actions command) and its play_done, finished
        plays = call.actions_sent("play")
        assert plays and plays[0]["tts"] == "Hello Ada Lovelace. Your balance is 42.50 dollars.", plays
        read_done = [d for (d,) in cluster.sql(
            "SELECT data FROM cc.events WHERE leg_id = %s AND type = 'leg.play_done' AND data->>'tag' = %s",
            call.leg, plays[0]["tag"])]
        assert [d["reason"] for d in read_done] == ["finished"], read_done
        # and the caller heard speech (the prompts are TTS)
        assert call.voiced_seconds() > 5, "the caller heard %.1f s of speech" % call.voiced_seconds()
        # the CDR: the satisfaction and the version run
        cdr = cluster.sql("SELECT satisfaction_key, satisfaction_label, flow_version FROM cc.cdrs "
                          "WHERE call_id = %s", call.call)
        assert cdr == [("1", "satisfied", "MAIN")], cdr


# -- line 3 -------------------------------------------------------------------

def line3_graph(tag):
    """A flow that says which version it is, asks for 1, and says goodbye
    from a node named after the version (so the path tells the version)."""
    return {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "ask"}},
        {"id": "ask", "type": "menu", "label": "Ask",
         "properties": {"prompt": {"tts": "This is version %s. Press 1." % tag}, "timeout_s": 120,
                        "branches": [{"key": "1", "label": "Go on", "next": "bye_" + tag}]},
         "connections": {"max_errors": "bye_" + tag}},
        {"id": "bye_" + tag, "type": "end", "properties": {"prompt": {"tts": "Goodbye from version %s." % tag}}}]}


def test_3_new_version_changes_nothing_until_rebind_calls_in_progress_keep_theirs(cluster):
    """Call A runs MAIN.  While it waits in the menu, version V2 is created
    from MAIN, changed and published: call B, made then, still runs MAIN.
    The number is rebound to V2 while A and B are in progress: call C runs
    V2, and A and B, answered afterwards, finish on MAIN's graph."""
    flow = iu.publish_flow(cluster, "line3", line3_graph("one"))
    iu.bound_number(cluster, "5300", flow)
    main_id = cluster.one("SELECT id FROM cc.flow_versions WHERE flow_id = %s AND version = 'MAIN'", flow)
    calls = []
    try:
        a = iu.IvrCall(cluster, "5300", [("bye", [])])
        calls.append(a)
        a.wait_node("ask")

        # a new version, based on MAIN, changed and published
        v2_id = cluster.one("SELECT cc.flow_version_create(%s, 'V2', 'MAIN', 'new wording')", flow)
        cluster.sql("SELECT cc.flow_version_save(%s, 'V2', %s::jsonb)", flow, json.dumps(line3_graph("two")))
        cluster.sql("SELECT cc.flow_version_publish(%s, 'V2')", flow)
        assert a.position() == ("ask", "collect_done", "ivr"), a.position()

        # the number is still bound to MAIN: a new call runs MAIN
        b = iu.IvrCall(cluster, "5300", [("bye", [])])
        calls.append(b)
        b.wait_node("ask")

        # rebinding the number changes new calls only
        cluster.sql("SELECT cc.number_bind_flow('5300', %s, 'V2')", flow)
        c = iu.IvrCall(cluster, "5300", [("bye", [])])
        calls.append(c)
        c.wait_node("ask")
        versions = dict(cluster.sql("SELECT id, flow_version_id FROM cc.calls WHERE id IN (%s, %s, %s)",
                                    a.call, b.call, c.call))
        assert (versions[a.call], versions[b.call], versions[c.call]) == (main_id, main_id, v2_id), versions

        # each answers the menu after hearing it, A and B after the rebind
        for x in (a, b, c):
            x.wait_prompts_played("ask")
            x.press("1")
        for x, name in ((a, "A"), (b, "B"), (c, "C")):
            code = x.wait(60)
            assert code == 0, "call %s: sipp failed (%s): %s" % (name, code, x.logs())
            x.wait_ended()
    finally:
        for x in calls:
            x.close()

    assert a.path() == ["start", "ask", "bye_one"], a.path()
    assert b.path() == ["start", "ask", "bye_one"], b.path()
    assert c.path() == ["start", "ask", "bye_two"], c.path()
    assert [d["version"] for d in a.events("flow.started") + b.events("flow.started") + c.events("flow.started")] \
        == ["MAIN", "MAIN", "V2"]
    # the CDRs name the version each call ran
    assert dict(cluster.sql("SELECT call_id, flow_version FROM cc.cdrs WHERE call_id IN (%s, %s, %s)",
                            a.call, b.call, c.call)) == {a.call: "MAIN", b.call: "MAIN", c.call: "V2"}
    # the graphs: MAIN unchanged by V2's publication
    assert cluster.one("SELECT graph FROM cc.flow_versions WHERE id = %s", main_id) == line3_graph("one")


# -- line 4 -------------------------------------------------------------------

def _text(t):
    return {"response_type": "text", "values": [{"text": t}], "selection_policy": "sequential"}


def _transfer(uri, method, headers):
    return {"response_type": "connect_to_agent",
            "transfer_info": {"target": {"service_desk": {"sip": {
                "uri": uri, "transfer_method": "refer", "transfer_headers": headers,
                "transfer_headers_send_method": method}}}},
            "agent_available": {"message": "An agent will take your call."},
            "agent_unavailable": {"message": "Nobody is there."}}


def bot_answer(rec):
    """The bot: IBM's phone-integration format, one answer per (caller, turn, input).

    Caller 1 (refer that works):
      turn 1 -> text + dtmf collect (ended by #, up to 10)
      turn 2 ("98765") -> text + connect_to_agent REFER, custom headers,
                          cdr_custom_data
    Caller 2 (refer that fails, then end_session):
      turn 1 -> text (the node's own collection)
      turn 2 ("2") -> connect_to_agent REFER, headers in Refer-To
      turn 3 ("vgwTransferFailed") -> text + end_session with headers
    Anything else is a 400, which fails the flow's bot node (and the test)."""
    body = rec["json"]
    caller = body["context"]["system_integrations"]["voice_telephony"]["private"]["user_phone_number"]
    turn, said = body["turn"], body["input"]["text"]
    if caller == "15551230041":
        if turn == 1 and said == "":
            return 200, {"output": {"generic": [
                _text("Hello, this is the test bot. Key in your customer number, then the hash key."),
                {"response_type": "dtmf", "command_info": {"type": "collect", "parameters": {
                    "termination_key": "#", "maximum_count": 10}}}]}}
        if turn == 2 and said == "98765":
            return 200, {"output": {"generic": [
                _text("Thank you. I am transferring you to an agent."),
                _transfer("sip:agents\\@example.com", "custom_header",
                          [{"name": "User-to-User", "value": "customer=98765"},
                           {"name": "X-Customer", "value": "98765"}])]},
                "context": {"integrations": {"voice_telephony": {"cdr_custom_data": {"customer": "98765"}}}}}
    if caller == "15551230042":
        if turn == 1 and said == "":
            return 200, {"generic": [_text("Hello again. Press 2 for the priority desk, then the hash key.")]}
        if turn == 2 and said == "2":
            return 200, {"generic": [_transfer("sip:priority\\@example.com", "refer_to_header",
                                               [{"name": "User-to-User", "value": "vip"}])]}
        if turn == 3 and said == "vgwTransferFailed":
            return 200, {"generic": [
                _text("Sorry, nobody can take your call. Goodbye."),
                {"response_type": "end_session", "channel_options": {"voice_telephony": {"sip": {"headers": [
                    {"name": "X-Call-Result", "value": "transfer-failed"},
                    {"name": "X-Bot-Session", "value": "turns=3; last=vgwTransferFailed"}]}}}}]}
    return 400, {"error": "the test bot has no answer for caller %s turn %s input %r" % (caller, turn, said)}


def bot_graph(url):
    return {"nodes": [
        {"id": "start", "type": "start", "connections": {"next": "bot"}},
        {"id": "bot", "type": "bot", "label": "Test bot",
         "properties": {"url": url, "no_input_timeout_s": 30, "max_digits": 4},
         "connections": {"failure": "oops"}},
        {"id": "oops", "type": "end", "properties": {"prompt": {"tts": "The bot failed."}}}]}


def test_4_ibm_format_bot_drives_sipp_calls_refer_headers_and_end_session_on_the_wire(cluster):
    """A local bot answers each turn in IBM's format.  Call 1: its text is
    spoken, its dtmf collect gets 98765# (RFC 4733) as the next turn's
    input, its connect_to_agent sends a REFER whose Refer-To, User-to-User
    (hex, ;encoding=hex) and X-Customer the calling sipp checks; the NOTIFY
    200 ends our part with a BYE (cause transferred).  Call 2: the node's
    own collection gets 2#, the REFER carries its header in Refer-To, the
    NOTIFY 603 makes the next turn vgwTransferFailed, whose end_session
    sends a BYE with X-Call-Result and X-Bot-Session, checked by sipp."""
    with iu.JsonServer(bot_answer) as bot:
        flow = iu.publish_flow(cluster, "line4", bot_graph(bot.url("/bot")))
        iu.bound_number(cluster, "5400", flow)

        uui1 = "customer=98765".encode().hex()
        one = iu.IvrCall(cluster, "5400", [
            ("refer", [("Refer-To", r"^<sip:agents@example\.com>$"),
                       ("User-to-User", "^%s;encoding=hex$" % uui1),
                       ("X-Customer", "^98765$")], 200),
            ("bye", [])], caller="15551230041")
        try:
            one.wait_node("bot", "collect_done")
            one.wait_prompts_played("bot")
            one.press("98765#")
            code = one.wait(60)
            assert code == 0, "call 1: sipp failed (%s): %s" % (code, one.logs())
            cause, side = one.wait_ended()
        finally:
            one.close()
        assert cause == "transferred", (cause, side)

        uui2 = "vip".encode().hex()
        two = iu.IvrCall(cluster, "5400", [
            ("refer", [("Refer-To", r"^<sip:priority@example\.com\?User-to-User=%s%%3Bencoding%%3Dhex>$" % uui2)],
             603),
            ("bye", [("X-Call-Result", "^transfer-failed$"),
                     ("X-Bot-Session", "^turns=3; last=vgwTransferFailed$")])], caller="15551230042")
        try:
            two.wait_node("bot", "collect_done")
            two.wait_prompts_played("bot")
            two.press("2#")
            code = two.wait(60)
            assert code == 0, "call 2: sipp failed (%s): %s" % (code, two.logs())
            two.wait_ended()
        finally:
            two.close()

    # the bot saw the turns it expected, each answered 200
    turns = [(r["json"]["context"]["system_integrations"]["voice_telephony"]["private"]["user_phone_number"],
              r["json"]["turn"], r["json"]["input"]["text"], r["answered"][0]) for r in bot.requests]
    assert turns == [("15551230041", 1, "", 200), ("15551230041", 2, "98765", 200),
                     ("15551230042", 1, "", 200), ("15551230042", 2, "2", 200),
                     ("15551230042", 3, "vgwTransferFailed", 200)], turns
    first = bot.requests[0]["json"]
    assert first["session_id"] == one.call and first["context"]["global"]["session_id"] == one.call, first
    assert first["context"]["system_integrations"]["voice_telephony"]["assistant_phone_number"] == "5400", first

    # what the bot said was spoken: each text became a TTS play that finished
    for call, texts in ((one, ["Hello, this is the test bot. Key in your customer number, then the hash key.",
                               "Thank you. I am transferring you to an agent."]),
                        (two, ["Hello again. Press 2 for the priority desk, then the hash key.",
                               "Sorry, nobody can take your call. Goodbye."])):
        sent = [a for a in call.actions_sent() if a["type"] == "text"]
        assert [a["values"][0]["text"] for a in sent] == texts, sent
        done = [d["reason"] for (d,) in cluster.sql(
            "SELECT data FROM cc.events WHERE leg_id = %s AND type = 'leg.play_done' ORDER BY seq", call.leg)]
        assert done == ["finished", "finished"], done
        assert call.voiced_seconds() > 3, "call heard %.1f s of speech" % call.voiced_seconds()

    # IBM's order: the text before connect_to_agent / end_session was heard
    # whole before the REFER (call 1) and the BYE (call 2) went out
    def seq(leg, type_, last=False):
        return cluster.one("SELECT %s(seq) FROM cc.events WHERE leg_id = %%s AND type = %%s"
                           % ("max" if last else "min"), leg, type_)
    assert seq(one.leg, "leg.play_done", last=True) < seq(one.leg, "leg.refer_result"), \
        "call 1: the REFER went out before the bot's text had played"
    assert seq(two.leg, "leg.play_done", last=True) < seq(two.leg, "leg.ended"), \
        "call 2: the BYE went out before the bot's goodbye had played"

    # the collections the bot asked for, as the media worker ran them
    collects = [(d["digits"], d["reason"]) for (d,) in cluster.sql(
        "SELECT data FROM cc.events WHERE leg_id IN (%s, %s) AND type = 'leg.collect_done' ORDER BY seq",
        one.leg, two.leg)]
    assert collects == [("98765", "termination_key"), ("2", "termination_key")], collects

    # the flow's own record of it
    assert [e["turn"] for e in one.events("flow.bot_transfer")] == [2]
    assert len(one.events("flow.bot_transferred")) == 1
    assert [(e["code"]) for e in two.events("flow.transfer_failed")] == [603]
    assert [e["turn"] for e in two.events("flow.bot_end")] == [3]
    assert [e["reason"] for e in one.events("flow.ended") + two.events("flow.ended")] == \
        ["connect_to_agent", "end_session"]
    assert cluster.one("SELECT custom_data FROM cc.calls WHERE id = %s", one.call) == {"customer": "98765"}
    assert cluster.one("SELECT custom_data FROM cc.cdrs WHERE call_id = %s", one.call) == {"customer": "98765"}
    # REFER outcomes as the SIP worker reported them
    results = [(d["code"], d["final"]) for (d,) in cluster.sql(
        "SELECT data FROM cc.events WHERE leg_id = %s AND type = 'leg.refer_result' ORDER BY seq", two.leg)]
    assert results[-1] == (603, True), results
