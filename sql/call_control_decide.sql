-- call_control_decide: what each command does when it runs, on crafted
-- calls: the actions cc.command_decide returns (each naming its leg, in the
-- vocabulary of docs/call-model.md) and the state it changes; then what
-- the legs it made do when they answer, fail or end.
--
-- Events reach call control through the router, cc.call_event
-- (regress.cc_route).  Events of the customer leg of an outbound call
-- (originate, click-to-call) need the router change proposed with this
-- branch (customer legs of calls that are new or ringing go to
-- cc.call_control_event); until then they are given to the hook the way
-- the router does (regress.cc_event: leg facts, then the hook).
\set VERBOSITY terse

-- Originate, running an outbound flow ---------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.originate('+862155550000', flow => 'survey', variables => '{"campaign": "spring"}') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
-- the call, its customer leg, and the dial through the trunk from our number
SELECT regress.cc_decide(:'cmd');
SELECT direction, state, number, caller, callee, variables FROM cc.calls WHERE id = :'call';
SELECT * FROM regress.cc_legs(:'call');
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
-- the customer answers: the flow starts on its leg (answer dropped: the leg is answered)
SELECT regress.cc_event(:'cust', '{"type": "ringing", "code": 180}');
SELECT regress.cc_event(:'cust', '{"type": "answered", "codec": "pcmu"}');
SELECT state, answered_at IS NOT NULL AS answered, regress.cc_label(flow_version_id) AS flow FROM cc.calls WHERE id = :'call';
SELECT hook, regress.cc_show(args) FROM regress.standin_calls ORDER BY n;
SELECT type, leg, data FROM regress.cc_events(:'call');
-- the same command run again (a restarted cc sip) does not place a second call
SELECT regress.cc_decide(:'cmd');
ROLLBACK;

-- Originate, bridged to an agent: the customer first, then the agent ----------------
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.originate('+8613812345678', agent => '1002', caller_id => '+861060002000') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
SELECT regress.cc_decide(:'cmd');
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
-- the customer answers and hears ringback while Bob's phone rings
SELECT regress.cc_event(:'cust', '{"type": "answered"}');
SELECT id AS bob FROM cc.legs WHERE call_id = :'call' AND kind = 'agent' \gset
SELECT regress.cc_route(:'bob', '{"type": "ringing", "code": 180}');
-- Bob answers: bridged, the call is connected and Bob is its agent
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT state, regress.cc_label(agent_id) AS agent, connected_at IS NOT NULL AS connected FROM cc.calls WHERE id = :'call';
SELECT * FROM regress.cc_legs(:'call');
ROLLBACK;

-- ... and if the agent does not answer, the call ends, the customer hung up.
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.originate('+8613812345678', agent => '1002', caller_id => '+861060002000') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
SELECT regress.cc_decide(:'cmd') IS NOT NULL AS decided;
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
SELECT regress.cc_event(:'cust', '{"type": "answered"}') IS NOT NULL AS answered;
SELECT id AS bob FROM cc.legs WHERE call_id = :'call' AND kind = 'agent' \gset
SELECT regress.cc_route(:'bob', '{"type": "failed", "code": 480, "cause": "no_answer"}');
SELECT state, end_cause, hangup_side FROM cc.calls WHERE id = :'call';
ROLLBACK;

-- ... and if the agent cannot be reached when the customer answers, too.
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.originate('+8613812345678', agent => '1002', caller_id => '+861060002000') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
SELECT regress.cc_decide(:'cmd') IS NOT NULL AS decided;
DELETE FROM cc.registrations WHERE agent_id = '00000000-0000-0000-0000-000000001002';
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
SELECT regress.cc_event(:'cust', '{"type": "answered"}');
SELECT state, end_cause FROM cc.calls WHERE id = :'call';
SELECT type, data FROM regress.cc_events(:'call') WHERE type = 'call.agent_unreachable';
ROLLBACK;

-- Click-to-call: the agent's phone first, then the customer's, then the bridge ------
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.click_to_call('1002', '+862155550000', variables => '{"ticket": 42}') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
-- Bob's registered phone is dialled, showing the customer
SELECT regress.cc_decide(:'cmd');
SELECT direction, state, caller, callee, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = :'call';
SELECT id AS bob FROM cc.legs WHERE call_id = :'call' AND kind = 'agent' \gset
-- Bob answers: he hears ringback and the customer is dialled through the trunk
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
SELECT * FROM regress.cc_legs(:'call');
-- the customer answers: Bob's ringback stops and they are bridged
SELECT regress.cc_event(:'cust', '{"type": "ringing", "code": 183}');
SELECT regress.cc_event(:'cust', '{"type": "answered"}');
SELECT state, answered_at IS NOT NULL AS answered, connected_at IS NOT NULL AS connected FROM cc.calls WHERE id = :'call';
SELECT type, leg, data FROM regress.cc_events(:'call');
-- the customer hangs up: the call ends (the router) with both parties' legs
SELECT regress.cc_route(:'cust', '{"type": "ended", "side": "remote"}');
SELECT direction, state, end_cause, hangup_side FROM cc.calls WHERE id = :'call';
ROLLBACK;

-- ... a busy customer ends the call, Bob hung up; Bob not answering ends it too.
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.click_to_call('1002', '+862155550000') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
SELECT regress.cc_decide(:'cmd') IS NOT NULL AS decided;
SELECT id AS bob FROM cc.legs WHERE call_id = :'call' AND kind = 'agent' \gset
SELECT regress.cc_route(:'bob', '{"type": "answered"}') IS NOT NULL AS bob_answered;
SELECT id AS cust FROM cc.legs WHERE call_id = :'call' AND kind = 'customer' \gset
SELECT regress.cc_route(:'cust', '{"type": "failed", "code": 486}');
SELECT state, end_cause FROM cc.calls WHERE id = :'call';
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.click_to_call('1002', '+862155550000') AS cmd \gset
SELECT call_id AS call FROM cc.commands WHERE id = :'cmd' \gset
SELECT regress.cc_decide(:'cmd') IS NOT NULL AS decided;
SELECT id AS bob FROM cc.legs WHERE call_id = :'call' AND kind = 'agent' \gset
SELECT regress.cc_route(:'bob', '{"type": "failed", "code": 408, "cause": "no_answer"}');
SELECT state, end_cause, hangup_side FROM cc.calls WHERE id = :'call';
ROLLBACK;

-- ... refused when the agent is talking, or has no registered phone.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.click_to_call('1001', '+862155550000'));
DELETE FROM cc.registrations WHERE agent_id = '00000000-0000-0000-0000-000000001002';
SELECT regress.cc_decide(cc.click_to_call('1002', '+862155550000'));
SELECT count(*) AS calls_left_behind FROM cc.calls WHERE direction = 'outbound';
ROLLBACK;

-- Hang up ------------------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- one leg: Ann's phone is hung up, the call goes on until the router sees nobody left
SELECT regress.cc_decide(cc.hangup('00000000-0000-0000-0000-0000000000c1', leg => '00000000-0000-0000-0000-0000000000e2'));
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
-- the whole call: every live leg is hung up, the call ends with the cause
SELECT regress.cc_decide(cc.hangup('00000000-0000-0000-0000-0000000000c1', cause => 'resolved'));
SELECT state, end_cause, hangup_side FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT type, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1');
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = 'normal' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT regress.cc_decide(cc.hangup('00000000-0000-0000-0000-0000000000c1', leg => '00000000-0000-0000-0000-0000000000e2'));
ROLLBACK;

-- Hold and mute ---------------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- hold: the customer hears the queue's hold music; twice is refused
SELECT regress.cc_decide(cc.hold('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.hold('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.unhold('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.unhold('00000000-0000-0000-0000-0000000000c1'));
-- music given: TTS looped; {} is silence
SELECT regress.cc_decide(cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"tts": "Please hold", "voice": "slt"}'));
SELECT regress.cc_decide(cc.unhold('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{}'));
-- the customer's phone holds us too (re-INVITE): both; our unhold leaves theirs
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "hold", "by": "re-INVITE"}');
SELECT leg, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1') WHERE leg = 'customer';
SELECT regress.cc_decide(cc.unhold('00000000-0000-0000-0000-0000000000c1'));
SELECT leg, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1') WHERE leg = 'customer';
-- mute: the agent's leg by default (the customer stops hearing Ann); twice is refused
SELECT regress.cc_decide(cc.mute('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.mute('00000000-0000-0000-0000-0000000000c1'));
SELECT leg, muted FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT regress.cc_decide(cc.unmute('00000000-0000-0000-0000-0000000000c1'));
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'call.%';
ROLLBACK;
-- hold needs a connected call (here: still in its queue)
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.hold('00000000-0000-0000-0000-0000000000c1') AS cmd \gset
UPDATE cc.calls SET state = 'queued' WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_decide(:'cmd');
ROLLBACK;

-- DTMF and prompts ----------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_show_text(regexp_replace(cc.command_decide(cc.send_dtmf('00000000-0000-0000-0000-0000000000c1', '12*#', duration_ms => 100))::text,
                                           'send_dtmf:[0-9a-f-]+', 'send_dtmf:<command>'));
SELECT regress.cc_show_text(regexp_replace(cc.command_decide(cc.play('00000000-0000-0000-0000-0000000000c1', '{"prompt": "hold music", "count": 2}'))::text,
                                           'play:[0-9a-f-]+', 'play:<command>'));
SELECT regress.cc_show_text(regexp_replace(cc.command_decide(cc.play('00000000-0000-0000-0000-0000000000c1', '{"tts": "Your code is 42"}', leg => '00000000-0000-0000-0000-0000000000e2'))::text,
                                           'play:[0-9a-f-]+', 'play:<command>'));
ROLLBACK;

-- Recording ------------------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- pause before start is refused; start records the customer with Ann on channel 2
SELECT regress.cc_decide(cc.record_pause('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.record_start('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_show_text(file_path) AS file_path, channels, state, kind, regress.cc_label(leg_id) AS leg
  FROM cc.recordings WHERE call_id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_decide(cc.record_start('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.record_pause('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.record_pause('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.record_resume('00000000-0000-0000-0000-0000000000c1'));
SELECT regress.cc_decide(cc.record_stop('00000000-0000-0000-0000-0000000000c1'));
SELECT state, ended_at IS NOT NULL AS stopped FROM cc.recordings WHERE call_id = '00000000-0000-0000-0000-0000000000c1';
-- the media worker's recording_done completes the row
SELECT id AS rec FROM cc.recordings WHERE call_id = '00000000-0000-0000-0000-0000000000c1' \gset
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1',
                        jsonb_build_object('type', 'recording_done', 'recording', :'rec', 'duration_ms', 61000,
                                           'bytes', 1952044, 'channels', 2));
SELECT state, duration_ms, bytes FROM cc.recordings WHERE id = :'rec';
-- a new recording may start after it (mono this time)
SELECT regress.cc_decide(cc.record_start('00000000-0000-0000-0000-0000000000c1', 1)) IS NOT NULL AS restarted;
SELECT type, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'recording.%';
ROLLBACK;

-- Blind transfer to a queue: the agent leaves, the queue takes the customer ---------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}', '{"reason": "billing"}'));
SELECT state, regress.cc_label(queue_id) AS queue, variables FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT hook, regress.cc_show(args) FROM regress.standin_calls ORDER BY n;
SELECT kind, state, regress.cc_show(target) AS target, regress.cc_label(from_leg_id) AS from_leg, reason FROM cc.transfers;
-- Ann's phone hangs up: the call is queued, so the router does not end it
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "local"}');
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- Blind transfer to an agent: Ann leaves, the customer hears ringback, Bob rings ------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}', '{"note": "VIP"}'));
SELECT id AS bob FROM cc.legs WHERE call_id = '00000000-0000-0000-0000-0000000000c1' AND agent_id = '00000000-0000-0000-0000-000000001002' \gset
-- Ann's leg ends: Bob's ringing leg keeps the call
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "local"}');
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
-- Bob answers: bridged with the customer, Bob is the call's agent
SELECT regress.cc_route(:'bob', '{"type": "answered"}');
SELECT state, regress.cc_label(agent_id) AS agent FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT kind, state, reason, answered_at IS NOT NULL AS answered FROM cc.transfers;
SELECT * FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
ROLLBACK;

-- ... to a desk phone by its extension, and to an agent on the call already (refused).
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"extension": "2001"}'));
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1001"}'));
ROLLBACK;

-- ... that fails: the transfer is failed and the customer's ringback stops.
-- Nobody is left with the customer: the router then resumes the call's flow
-- (cc.flow_resume) or ends the call (router change proposed with this
-- branch: it must look at the call after the hook and at flow_resume's own
-- answer), so the hook is shown alone here.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')) IS NOT NULL AS decided;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "local"}');
SELECT id AS bob FROM cc.legs WHERE call_id = '00000000-0000-0000-0000-0000000000c1' AND agent_id = '00000000-0000-0000-0000-000000001002' \gset
SELECT regress.cc_event(:'bob', '{"type": "failed", "code": 486}');
SELECT kind, state, reason FROM cc.transfers;
SELECT type, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'call.transfer%';
ROLLBACK;

-- Blind transfer to an external number: through the trunk, from our number, with
-- the call's variables as headers.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100"}'));
SELECT id AS ext FROM cc.legs WHERE call_id = '00000000-0000-0000-0000-0000000000c1' AND kind = 'external' \gset
SELECT regress.cc_event(:'ext', '{"type": "answered"}');
SELECT kind, state FROM cc.transfers;
-- the external party can be transferred on in turn: it leaves, and a SIP URI
-- is dialled as it is (here through the trunk given)
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"uri": "sip:helpdesk@192.0.2.77:5070", "trunk": "carrier", "ring_timeout_s": 20}'));
ROLLBACK;

-- Transfer by REFER (IBM connect_to_agent): the far end calls the target ------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1',
    '{"sip": {"uri": "sip:desk@192.0.2.9", "transfer_headers": [{"name": "User-to-User", "value": "4321"}]}}'));
-- the NOTIFY says it failed: the call goes on as it was
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "refer_result", "code": 486, "reason": "Busy Here"}');
SELECT kind, state, reason FROM cc.transfers;
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
-- again, and this time it works: our part of the call is over
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "tel:+18883334444", "transfer_method": "hangup", "transfer_target_header": "X-Target"}}'));
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "refer_result", "code": 100}');
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "refer_result", "code": 200, "reason": "OK"}');
SELECT kind, state, reason FROM cc.transfers ORDER BY created_at, state;
SELECT state, end_cause FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- A REFER from the agent's phone (its transfer key) is a blind transfer ----------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2',
                        '{"type": "refer", "refer_to": "<sip:1002@127.0.0.1:5060;user=phone>", "referred_by": "<sip:1001@192.0.2.101>"}');
SELECT kind, state, regress.cc_show(target) AS target FROM cc.transfers;
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
-- to a number, to something that cannot be reached, and an attended transfer
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "refer", "refer_to": "sip:+15550100@127.0.0.1"}');
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
DELETE FROM cc.registrations WHERE agent_id = '00000000-0000-0000-0000-000000001003';
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "refer", "refer_to": "<sip:1003@127.0.0.1>"}');
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "refer", "refer_to": "<sip:voicemail>"}');
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "refer", "refer_to": "<sip:1002@127.0.0.1>", "replaces": "abc@192.0.2.101;to-tag=1;from-tag=2"}');
SELECT type, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'call.refer%';
ROLLBACK;

-- ... a REFER from the customer's side is not ours to follow.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "refer", "refer_to": "<sip:1002@127.0.0.1>"}');
ROLLBACK;

-- How legs are reached ---------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
-- through each kind of trunk: a peer's address, a carrier's server, a registered gateway
INSERT INTO cc.trunks (id, name, mode, server, port, username, password, transport) VALUES
    ('00000000-0000-0000-0000-0000000000b2', 'carrier2', 'register_out', 'sip.carrier.example', 5080, 'acct', 'secret', 'tcp');
INSERT INTO cc.trunks (id, name, mode, username, sip_ha1) VALUES
    ('00000000-0000-0000-0000-0000000000b3', 'branch pbx', 'register_in', 'branch', md5('branch:pg_callcenter:pw')),
    ('00000000-0000-0000-0000-0000000000b4', 'branch pbx 2', 'register_in', 'branch2', md5('branch2:pg_callcenter:pw'));
INSERT INTO cc.trunks (id, name, mode, peer_addresses, peer_port) VALUES
    ('00000000-0000-0000-0000-0000000000b5', 'v6 peer', 'peering', '{2001:db8::10/128}', 5070);
INSERT INTO cc.registrations (trunk_id, contact, expires_at)
VALUES ('00000000-0000-0000-0000-0000000000b3', '<sip:branch@198.51.100.7:5062;transport=udp>', now() + interval '1 hour');
SELECT t.name, x.uri FROM cc.trunks AS t,
       LATERAL regress.cc_error(format('SELECT cc.trunk_request_uri(%L, %L)', t.id, '+15550100')) AS e,
       LATERAL (SELECT CASE WHEN e.code = 'ok' THEN cc.trunk_request_uri(t.id, '+15550100') ELSE e.message END AS uri) AS x
 ORDER BY t.name;
-- an agent reached on its mobile (mobile_mode always) through a number usable for agents' mobiles
UPDATE cc.agents SET mobile = '+8613900001002', mobile_mode = 'always' WHERE extension = '1002';
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'));
UPDATE cc.numbers SET usable_for_agent_mobile = true WHERE number = '+861060002000';
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}'))->'actions'->2 AS dial;
ROLLBACK;
