-- call_control_self_service: a self-service flow run mid-call.  The agent
-- waits on hold while the flow runs with the caller; when the flow ends
-- (the IVR interpreter calls cc.self_service_return) or takes too long (a
-- call.self_service_timeout timer), the caller is handed back to the same
-- agent and what the flow collected is posted to the flow's callback_url.
-- All rolled back.
\set VERBOSITY terse

BEGIN;
SELECT regress.cc_fixture();
-- start: Ann holds (the queue's hold music, she no longer hears the caller);
-- the flow takes the customer's leg (its answer dropped: the leg is answered)
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check'));
SELECT state, regress.cc_label(flow_id) AS flow, regress.cc_label(flow_version_id) AS version, flow_node
  FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT leg, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT kind, regress.cc_label(leg_id) AS leg, due_at - now() AS due_in, regress.cc_show(data) AS data FROM cc.timers WHERE kind LIKE 'call.%';
SELECT state, regress.cc_label(agent_leg_id) AS agent_leg, regress.cc_show(saved_flow) AS saved_flow FROM cc.self_services;
-- nothing else while it runs: the call is in the flow, not connected
SELECT regress.cc_decide(cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}'));
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check'));
-- the caller keys in 6 digits; the flow records them and reaches its end,
-- where the IVR interpreter hands the caller back
UPDATE cc.calls SET choices = choices || '[{"node": "id", "kind": "collect", "variable": "id_number", "value": "123456"}]',
                    variables = variables || '{"id_number": "123456"}'
 WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_show(cc.self_service_return('00000000-0000-0000-0000-0000000000c1', '{"id_number": "123456"}'));
-- the caller is back with Ann, the call's flow where it was, the timer gone
SELECT state, regress.cc_label(flow_id) AS flow, regress.cc_label(flow_version_id) AS version, flow_node
  FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT leg, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT count(*) AS timers FROM cc.timers WHERE kind LIKE 'call.%';
SELECT state, reason, collected, callback_request_id IS NOT NULL AS posted FROM cc.self_services;
-- the digits are posted to the flow's callback URL (cc.http_request, purpose callback)
SELECT hook, regress.cc_show(args) FROM regress.standin_calls WHERE hook = 'http_request';
-- handing back twice does nothing
SELECT cc.self_service_return('00000000-0000-0000-0000-0000000000c1', '{}');
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1') WHERE type LIKE 'self_service.%';
ROLLBACK;

-- The interpreter may instead end the flow on its own, as the IVR branch
-- does: it posts the flow's variables itself, appends
-- flow.self_service_done, finishes the flow's position, then appends
-- flow.ended (reason self_service_done).  On that last event the caller is
-- handed back all the same (through a call_actions command), the call's flow
-- position restored after the interpreter's last word; nothing is posted twice.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check')) IS NOT NULL AS started;
UPDATE cc.calls SET variables = variables || '{"id_number": "123456"}' WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT cc.event_append('flow.self_service_done', '{"node": "bye", "callback_url": "http://127.0.0.1:9/id-check"}',
                       call_id => '00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS self_service_done;
UPDATE cc.calls SET flow_position = '{"node": "bye", "await": "none"}' WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT count(*) AS commands_before_flow_ended FROM cc.commands WHERE kind = 'call_actions';
SELECT cc.event_append('flow.ended', '{"reason": "self_service_done", "hangup": false}',
                       call_id => '00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS flow_ended;
SELECT kind, regress.cc_show(args) AS args FROM cc.commands WHERE kind = 'call_actions';
SELECT state, reason, collected FROM cc.self_services;
SELECT state, flow_node, flow_position FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT count(*) AS posts FROM regress.standin_calls WHERE hook = 'http_request';
-- a second signal (or one from a simulation) finds nothing running
SELECT cc.event_append('flow.ended', '{"reason": "self_service_done"}', call_id => '00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS again;
SELECT count(*) AS commands FROM cc.commands WHERE kind = 'call_actions';
ROLLBACK;

-- A flow that takes too long: its timer hands the caller back, with what the
-- flow had collected so far ----------------------------------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check', timeout_s => 60)) IS NOT NULL AS started;
UPDATE cc.calls SET variables = variables || '{"id_number": "12"}' WHERE id = '00000000-0000-0000-0000-0000000000c1';
UPDATE cc.timers SET due_at = now() - interval '1 second';
SELECT cc.timers_fire() IS NULL AS no_timer_left_after_firing;
SELECT count(*) AS timers_left FROM cc.timers;
-- cc.timers_fire handed the actions to cc sip as a call_actions command
SELECT kind, regress.cc_show(args) AS args FROM cc.commands WHERE kind = 'call_actions';
SELECT state, reason, collected FROM cc.self_services;
SELECT regress.cc_show(args)->'body'->'reason' AS reason, regress.cc_show(args)->'body'->'collected' AS collected
  FROM regress.standin_calls WHERE hook = 'http_request';
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
ROLLBACK;

-- The agent hangs up while the flow runs: when it ends, the call's own flow
-- resumes (cc.flow_resume), or the call ends ----------------------------------------
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check')) IS NOT NULL AS started;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e2', '{"type": "ended", "side": "remote"}');
SELECT state FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_show(cc.self_service_return('00000000-0000-0000-0000-0000000000c1', '{"id_number": "654321"}'));
SELECT state, end_cause, hangup_side FROM cc.calls WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT state, reason FROM cc.self_services;
SELECT hook, regress.cc_show(args) FROM regress.standin_calls WHERE hook = 'flow_resume';
ROLLBACK;

-- The customer hangs up while the flow runs: the run ends with the call.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check')) IS NOT NULL AS started;
SELECT regress.cc_route('00000000-0000-0000-0000-0000000000e1', '{"type": "ended", "side": "remote"}');
SELECT state, reason FROM cc.self_services;
SELECT count(*) AS timers FROM cc.timers WHERE kind LIKE 'call.%';
ROLLBACK;

-- A flow without callback_url posts nothing; a flow unpublished since the
-- command was given, or a call without an agent, is refused.
BEGIN;
SELECT regress.cc_fixture();
UPDATE cc.flows SET callback_url = NULL WHERE name = 'id check';
SELECT regress.cc_decide(cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check')) IS NOT NULL AS started;
SELECT jsonb_array_length(cc.self_service_return('00000000-0000-0000-0000-0000000000c1', '{}')) AS actions;
SELECT count(*) AS posts FROM regress.standin_calls WHERE hook = 'http_request';
SELECT cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check') AS cmd \gset
UPDATE cc.flow_versions SET published = false WHERE flow_id = '00000000-0000-0000-0000-0000000000f2';
SELECT regress.cc_decide(:'cmd');
ROLLBACK;
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.self_service_start('00000000-0000-0000-0000-0000000000c1', 'id check') AS cmd \gset
UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = 'normal' WHERE id = '00000000-0000-0000-0000-0000000000e2';
SELECT regress.cc_decide(:'cmd');
ROLLBACK;
