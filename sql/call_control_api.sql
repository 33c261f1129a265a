-- call_control_api: every application function checks its arguments and
-- the caller's role before it inserts a command.  A bad argument is refused
-- with an ERRCODE, a message naming the bad value and a HINT saying what is
-- allowed.  cc_app may control any call; cc_agent the calls of the agent
-- its role acts as (cc.agent_logins), for the functions where an agent may;
-- nobody else.  All rolled back.
\set VERBOSITY terse
BEGIN;
SELECT regress.cc_fixture();

-- Arguments ---------------------------------------------------------------------------
CREATE TEMP TABLE cases (n serial, stmt text);
INSERT INTO cases (stmt) VALUES
-- originate
($$SELECT cc.originate(NULL, flow => 'survey')$$),
($$SELECT cc.originate('call me', flow => 'survey')$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey', agent => '1002')$$),
($$SELECT cc.originate('+8613812345678', caller_id => '+861060002000')$$),
($$SELECT cc.originate('+8613812345678', flow => 'nope')$$),
($$SELECT cc.originate('+8613812345678', flow => 'welcome')$$),
($$SELECT cc.originate('+8613812345678', agent => 'bob')$$),
($$SELECT cc.originate('+8613812345678', agent => '1999')$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey', caller_id => '+15550000')$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey', trunk => 'nope')$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey', ring_timeout_s => 2)$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey', variables => '[1]')$$),
($$SELECT cc.originate('+8613812345678', flow => 'survey')$$),
($$SELECT cc.originate('sip:bot@192.0.2.50', agent => '1002', caller_id => '+861060002000')$$),
-- click_to_call
($$SELECT cc.click_to_call(NULL, '+8613812345678')$$),
($$SELECT cc.click_to_call('1002', '138-1234-5678')$$),
($$SELECT cc.click_to_call('1002', '+8613812345678', caller_id => '+861060002000')$$),
($$SELECT cc.click_to_call('1003', '+8613812345678')$$),
($$SELECT cc.click_to_call('1002', '+8613812345678')$$),
-- hangup
($$SELECT cc.hangup(NULL)$$),
($$SELECT cc.hangup('00000000-0000-0000-0000-00000000dead')$$),
($$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1', leg => '00000000-0000-0000-0000-00000000beef')$$),
($$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1', cause => 'Normal Clearing')$$),
($$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1', cause => 'resolved')$$),
-- hold, mute
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"file": "../../etc/passwd.wav"}')$$),
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"tts": ""}')$$),
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"prompt": "nope"}')$$),
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"file": "a.wav", "tts": "hello"}')$$),
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"file": "a.wav", "volume": 3}')$$),
($$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{}')$$),
($$SELECT cc.mute('00000000-0000-0000-0000-0000000000c1', leg => '00000000-0000-0000-0000-00000000beef')$$),
-- transfer and consult targets
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', NULL)$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '[]')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "sales", "agent": "1002"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "nope"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"extension": "9999"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": "12"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": 8613812345678}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"uri": "http://example.com"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"leg": "00000000-0000-0000-0000-0000000000e2"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100", "speed": 1}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100", "caller_id": "+15550000"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002", "trunk": "carrier"}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"number": "+15550100", "ring_timeout_s": 1000}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "sip:desk@192.0.2.9", "transfer_method": "bye"}}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"transfer_method": "refer"}}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"transfer_method": "hangup", "transfer_headers_send_method": "refer_to_header"}}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "sip:desk@192.0.2.9", "transfer_headers": [{"name": "User to User", "value": "x"}]}}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "tel:+18883334444", "priority": 1}}')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}', variables => '"vip"')$$),
($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "tel:+18883334444", "transfer_headers": [{"name": "User-to-User", "value": "42"}]}}')$$),
($$SELECT cc.consult('00000000-0000-0000-0000-0000000000c1', '{"sip": {"uri": "sip:desk@192.0.2.9"}}')$$),
($$SELECT cc.consult('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}')$$),
-- DTMF and prompts
($$SELECT cc.send_dtmf('00000000-0000-0000-0000-0000000000c1', '12x')$$),
($$SELECT cc.send_dtmf('00000000-0000-0000-0000-0000000000c1', '1234#', duration_ms => 10)$$),
($$SELECT cc.send_dtmf('00000000-0000-0000-0000-0000000000c1', '1234#', interval_ms => 0)$$),
($$SELECT cc.play('00000000-0000-0000-0000-0000000000c1', NULL)$$),
($$SELECT cc.play('00000000-0000-0000-0000-0000000000c1', '{"tone": "siren"}')$$),
($$SELECT cc.play('00000000-0000-0000-0000-0000000000c1', '{"file": "a.wav", "count": 0}')$$),
($$SELECT cc.play('00000000-0000-0000-0000-0000000000c1', '{"file": "a.wav", "loop": "yes"}')$$),
($$SELECT cc.play('00000000-0000-0000-0000-0000000000c1', json_build_object('tts', repeat('x', 601))::jsonb)$$),
-- recording, conferences, supervision, self-service
($$SELECT cc.record_start('00000000-0000-0000-0000-0000000000c1', 3)$$),
($$SELECT cc.conference_create('00000000-0000-0000-0000-0000000000c1', 1)$$),
($$SELECT cc.conference_create('00000000-0000-0000-0000-0000000000c1', 251)$$),
($$SELECT cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}', 'shout')$$),
($$SELECT cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}', 'whisper')$$),
($$SELECT cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}', 'talk', '00000000-0000-0000-0000-0000000000e2')$$),
($$SELECT cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"queue": "sales"}')$$),
($$SELECT cc.conference_join('00000000-0000-0000-0000-0000000000c1', '{"leg": "00000000-0000-0000-0000-00000000beef"}')$$),
($$SELECT cc.conference_leave('00000000-0000-0000-0000-0000000000c1', NULL)$$),
($$SELECT cc.conference_mode('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e2', NULL)$$),
($$SELECT cc.conference_mute('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e2', NULL)$$),
($$SELECT cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}', 'spy')$$),
($$SELECT cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"queue": "sales"}')$$),
($$SELECT cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'survey')$$),
($$SELECT cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'nope')$$),
($$SELECT cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check', timeout_s => 5)$$),
-- blacklist, number privacy
($$SELECT cc.blacklist_add('anonymous')$$),
($$SELECT cc.blacklist_add('+15550100', expires_at => '2020-01-01 00:00:00+00')$$),
($$SELECT cc.blacklist_remove('x')$$),
($$SELECT cc.number_mapping_request(ARRAY['+8613812345678'], 'PhoneToName')$$),
($$SELECT cc.number_mapping_request(ARRAY[]::text[])$$),
($$SELECT cc.number_mapping_request(ARRAY['138 1234'])$$),
($$SELECT cc.number_mapping_request(ARRAY['+8613812345678'])$$),
($$SELECT cc.number_privacy_set('hide')$$),
($$SELECT cc.number_privacy_set('map')$$),
($$SELECT cc.number_privacy_set('mask', 'ftp://example.com')$$);

SELECT n, stmt, e.code, e.message, e.hint FROM cases, regress.cc_error(stmt) AS e ORDER BY n;

-- What the accepted calls insert: the arguments, checked and normalized
-- (names resolved to ids, the caller ID chosen, defaults filled in).
-- (the caller ID: a number in the callee's region, Shanghai here)
SELECT cc.originate('+862155550000', flow => 'survey', variables => '{"campaign": "spring"}') IS NOT NULL AS originate,
       cc.click_to_call('1002', '+8613812345678') IS NOT NULL AS click_to_call,
       cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"extension": "2001"}', '{"note": "VIP"}') IS NOT NULL AS transfer,
       cc.hold('00000000-0000-0000-0000-0000000000c1', music => '{"prompt": "hold music"}') IS NOT NULL AS hold,
       cc.send_dtmf('00000000-0000-0000-0000-0000000000c1', '12*#a') IS NOT NULL AS send_dtmf,
       cc.record_start('00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS record,
       cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check') IS NOT NULL AS self_service;
SELECT kind, regress.cc_label(call_id) AS call, regress.cc_show(args) AS args FROM cc.commands ORDER BY created_at;
-- originate and click_to_call name the call they will create
SELECT kind, call_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cc.calls WHERE id = call_id) AS names_a_new_call
  FROM cc.commands WHERE kind IN ('originate', 'click_to_call') ORDER BY kind;
ROLLBACK;

-- Roles --------------------------------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
CREATE ROLE regress_cc_app IN ROLE cc_app;
CREATE ROLE regress_cc_ann IN ROLE cc_agent;
CREATE ROLE regress_cc_bob IN ROLE cc_agent;
CREATE ROLE regress_cc_someone IN ROLE cc_agent;
CREATE ROLE regress_cc_admin IN ROLE cc_admin;
CREATE ROLE regress_cc_report IN ROLE cc_reporting;
CREATE ROLE regress_cc_nobody;
INSERT INTO cc.agent_logins (login, agent_id) VALUES
    ('regress_cc_ann', '00000000-0000-0000-0000-000000001001'),
    ('regress_cc_bob', '00000000-0000-0000-0000-000000001002');

CREATE TEMP TABLE role_cases (n serial, role text, stmt text);
GRANT SELECT ON role_cases TO PUBLIC;
INSERT INTO role_cases (role, stmt) VALUES
-- cc_app: any call, every function
('regress_cc_app', $$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_app', $$SELECT cc.originate('+8613812345678', flow => 'survey')$$),
('regress_cc_app', $$SELECT cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}')$$),
('regress_cc_app', $$SELECT cc.click_to_call('1002', '+8613812345678')$$),
('regress_cc_app', $$SELECT cc.blacklist_add('+15550100', 'spam')$$),
('regress_cc_app', $$SELECT cc.number_privacy_set('mask')$$),
-- cc_agent on its own call (Ann talks with the customer)
('regress_cc_ann', $$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_ann', $$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}')$$),
('regress_cc_ann', $$SELECT cc.consult('00000000-0000-0000-0000-0000000000c1', '{"agent": "1002"}')$$),
('regress_cc_ann', $$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_ann', $$SELECT cc.blacklist_caller('00000000-0000-0000-0000-0000000000c1', 'abusive')$$),
('regress_cc_ann', $$SELECT cc.click_to_call('1001', '+8613812345678')$$),
-- ... but not what cc_app alone may do
('regress_cc_ann', $$SELECT cc.click_to_call('1002', '+8613812345678')$$),
('regress_cc_ann', $$SELECT cc.originate('+8613812345678', flow => 'survey')$$),
('regress_cc_ann', $$SELECT cc.monitor('00000000-0000-0000-0000-0000000000c1', '{"agent": "1009"}')$$),
('regress_cc_ann', $$SELECT cc.blacklist_add('+15550100')$$),
('regress_cc_ann', $$SELECT cc.number_mapping_request(ARRAY['+8613812345678'])$$),
-- cc_agent on somebody else's call
('regress_cc_bob', $$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_bob', $$SELECT cc.blacklist_caller('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_bob', $$SELECT cc.hangup('00000000-0000-0000-0000-00000000dead')$$),
-- a cc_agent role that is no agent's login
('regress_cc_someone', $$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1')$$),
-- configuration and reporting roles do not control calls
('regress_cc_admin', $$SELECT cc.hold('00000000-0000-0000-0000-0000000000c1')$$),
('regress_cc_admin', $$SELECT cc.blacklist_add('+15550100')$$),
('regress_cc_admin', $$SELECT cc.number_privacy_set('mask')$$),
('regress_cc_report', $$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1')$$),
-- nor does anybody else
('regress_cc_nobody', $$SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1')$$);

CREATE FUNCTION pg_temp.as_role(role text, stmt text, OUT code text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    SELECT e.code, e.message, e.hint INTO code, message, hint FROM regress.cc_error(stmt) AS e;
    RESET ROLE;
END;
$$;
SELECT n, role, stmt, e.code, e.message, e.hint FROM role_cases, pg_temp.as_role(role, stmt) AS e ORDER BY n;

-- An agent's command names the agent: hangup by an agent is the agent's side.
SET LOCAL ROLE regress_cc_ann;
SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS hangup;
RESET ROLE;
SELECT kind, regress.cc_show(args) AS args FROM cc.commands;
ROLLBACK;
