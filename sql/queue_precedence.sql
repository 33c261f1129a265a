-- queue_precedence: who is offered a caller first.  In order: the agent
-- who last served this caller, the agent who last called them out (within
-- the queue's memory_days, 3 by default), the agents the preferred-agents
-- webhook names, then the strategy; a queue with nobody logged in or a
-- caller waiting too long overflows; an offer not answered in
-- ring_timeout_s goes to the next member, counting a no-answer, with a
-- break after max_no_answer; busy and declined offers keep the agent out
-- for their delays (FreeSWITCH's rules).
\set VERBOSITY terse
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
-- (the helpers of sql/include/queue_fixture.sql, not echoed)
\set ECHO none
\i sql/include/queue_fixture.sql
\set ECHO all
SELECT count(qt.agent(e)) AS agents FROM unnest(ARRAY['1001', '1002', '1003', '1004']) AS e;
SELECT count(cc.agent_login(id)) AS logged_in FROM cc.agents;
SELECT qt.queue('sales', 'longest_idle') IS NOT NULL;
SELECT qt.member('sales', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
-- 1001 is the longest idle: the strategy's choice
UPDATE cc.agents SET last_call_ended_at = now() - v.ago
  FROM (VALUES ('1001', interval '30 minutes'), ('1002', interval '20 minutes'), ('1003', interval '10 minutes')) AS v (ext, ago)
 WHERE extension = v.ext;

-- History: 1003 served +15550100 two days ago; 1002 called +15550100 out
-- yesterday; 1002 served +15550200 five days ago.
INSERT INTO cc.calls (direction, state, caller, callee, agent_id, created_at, ended_at)
VALUES ('inbound', 'ended', '+15550100', '+862120001000', qt.id('1003'), now() - interval '2 days', now() - interval '2 days'),
       ('outbound', 'ended', '+862120001000', '+15550100', qt.id('1002'), now() - interval '1 day', now() - interval '1 day'),
       ('inbound', 'ended', '+15550200', '+862120001000', qt.id('1002'), now() - interval '5 days', now() - interval '5 days'),
       ('outbound', 'ended', '+862120001000', '+15550300', qt.id('1002'), now() - interval '1 day', now() - interval '1 day');

-- The agent who last served the caller comes first.
SELECT qt.call('+15550100') IS NOT NULL, qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS last_served, (SELECT preferred_agent_ids = ARRAY[qt.id('1003'), qt.id('1002')]
                                       FROM cc.queue_entries WHERE call_id = qt.cid('+15550100')) AS then_last_caller_out;
SELECT qt.reset();
-- Busy, the next remembered agent: the one who called them out.
SELECT cc.agent_set_state(qt.id('1003'), 'busy');
SELECT qt.call('+15550100') IS NOT NULL, qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS last_caller_out;
SELECT qt.reset();
-- Both busy: the strategy.
SELECT cc.agent_set_state(qt.id('1003'), 'busy'), cc.agent_set_state(qt.id('1002'), 'busy');
SELECT qt.call('+15550100') IS NOT NULL, qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS strategy;
SELECT qt.reset();
-- Only a caller called out: that agent.
SELECT qt.call('+15550300') IS NOT NULL, qt.to('+15550300', 'sales') IS NOT NULL;
SELECT qt.ringing() AS called_out_yesterday;
SELECT qt.reset();
-- Five days ago is beyond the 3 days of memory.
SELECT qt.call('+15550200') IS NOT NULL, qt.to('+15550200', 'sales') IS NOT NULL;
SELECT qt.ringing() AS five_days_is_too_old;
SELECT qt.reset();
UPDATE cc.queues SET memory_days = 7 WHERE name = 'sales';
SELECT qt.call('+15550200') IS NOT NULL, qt.to('+15550200', 'sales') IS NOT NULL;
SELECT qt.ringing() AS with_7_days;
SELECT qt.reset();
-- memory_days 0: no memory routing.
UPDATE cc.queues SET memory_days = 0 WHERE name = 'sales';
SELECT qt.call('+15550100') IS NOT NULL, qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS memory_off;
SELECT qt.reset();
-- ... but a number with prefer_last_agent still prefers the agent who
-- called the customer out, within its prefer_last_agent_days.
INSERT INTO cc.numbers (number, prefer_last_agent, prefer_last_agent_days) VALUES ('+862120001000', true, 3);
SELECT qt.call('+15550100') IS NOT NULL;
UPDATE cc.calls SET number_id = (SELECT id FROM cc.numbers WHERE number = '+862120001000') WHERE id = qt.cid('+15550100');
SELECT qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS number_prefers_last_agent;
SELECT qt.reset();
-- A remembered agent who is not a member of the queue is not offered.
UPDATE cc.queues SET memory_days = 3 WHERE name = 'sales';
DELETE FROM cc.queue_members WHERE agent_id IN (qt.id('1003'), qt.id('1002'));
SELECT qt.call('+15550100') IS NOT NULL, qt.to('+15550100', 'sales') IS NOT NULL;
SELECT qt.ringing() AS members_only;
SELECT qt.reset();
SELECT qt.member('sales', '1002'), qt.member('sales', '1003');

-- The preferred-agents webhook.  cc.http_request is the events domain's;
-- stand-ins (rolled back with the test) play it here.  While it cannot
-- queue a request, the caller is not held: the strategy decides at once.
UPDATE cc.queues SET preferred_agents_url = 'https://crm.example/preferred', memory_days = 0 WHERE name = 'sales';
ALTER FUNCTION cc.http_request(text, uuid, text, text, jsonb, text, integer, integer, jsonb) RENAME TO http_request_real;
CREATE FUNCTION cc.http_request(purpose text, call uuid, method text, url text, headers jsonb DEFAULT '{}',
                                body text DEFAULT NULL, timeout_ms integer DEFAULT 3000,
                                max_attempts integer DEFAULT 1, context jsonb DEFAULT '{}')
RETURNS uuid LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'cc http is not there' USING ERRCODE = 'feature_not_supported';
END;
$$;
SELECT qt.call('+15550400') IS NOT NULL, qt.to('+15550400', 'sales') IS NOT NULL;
SELECT qt.ringing() AS webhook_unavailable_strategy;
SELECT type, data->>'error' AS error FROM cc.events WHERE type = 'queue.webhook_failed' AND at >= now();
SELECT qt.reset();
DROP FUNCTION cc.http_request(text, uuid, text, text, jsonb, text, integer, integer, jsonb);
-- A stand-in that queues the request shows the rest: the caller waits for
-- the answer, which names seats by e-mail.
CREATE TABLE qt.requests (purpose text, call uuid, method text, url text, body jsonb, timeout_ms integer);
CREATE FUNCTION cc.http_request(purpose text, call uuid, method text, url text, headers jsonb DEFAULT '{}',
                                body text DEFAULT NULL, timeout_ms integer DEFAULT 3000,
                                max_attempts integer DEFAULT 1, context jsonb DEFAULT '{}')
RETURNS uuid LANGUAGE sql AS $$
    INSERT INTO qt.requests VALUES (purpose, call, method, url, body::jsonb, timeout_ms);
    SELECT gen_random_uuid();
$$;
SELECT qt.call('+15550400') IS NOT NULL, qt.to('+15550400', 'sales') IS NOT NULL;
SELECT purpose, method, url, body ?& ARRAY['RequestId', 'Timestamp', 'SdkAppId'] AS ids,
       body->>'SessionType' AS session_type, body->>'User' AS "user", body->>'SkillGroup' AS skill_group, timeout_ms
  FROM qt.requests;
SELECT qt.ringing() AS waits_for_the_webhook, (SELECT count(*) FROM cc.timers WHERE kind = 'queue.webhook_timeout') AS timeout_set;
SELECT qt.show(cc.queue_on_http(qt.cid('+15550400'), gen_random_uuid(),
                                '{"status": 200, "body": "{\"SeatEmails\": [\"nobody@example.com\", \"1003@example.com\", \"1002@example.com\"]}"}'));
SELECT qt.ringing() AS first_available_seat;
SELECT qt.reset();
DELETE FROM qt.requests;
-- SkillGroup moves the caller to that queue.
SELECT qt.queue('vip', 'longest_idle') IS NOT NULL;
SELECT qt.member('vip', '1004');
SELECT qt.call('+15550401') IS NOT NULL, qt.to('+15550401', 'sales') IS NOT NULL;
SELECT qt.show(cc.queue_on_http(qt.cid('+15550401'), gen_random_uuid(),
                                '{"status": 200, "body": {"Response": {"SkillGroup": "vip", "SeatEmails": []}}}'));
SELECT qt.ringing() AS moved_to_vip, (SELECT q.name || ' from ' || f.name FROM cc.queue_entries e
                                        JOIN cc.queues q ON q.id = e.queue_id JOIN cc.queues f ON f.id = e.from_queue_id
                                       WHERE e.call_id = qt.cid('+15550401')) AS entry;
SELECT qt.reset();
-- A failed answer, or a body that is not JSON: the strategy.
SELECT qt.call('+15550402') IS NOT NULL, qt.to('+15550402', 'sales') IS NOT NULL;
SELECT qt.show(cc.queue_on_http(qt.cid('+15550402'), gen_random_uuid(), '{"status": 500, "body": "oops"}'));
SELECT qt.ringing() AS error_strategy;
SELECT qt.reset();
SELECT qt.call('+15550403') IS NOT NULL, qt.to('+15550403', 'sales') IS NOT NULL;
SELECT qt.show(cc.queue_on_http(qt.cid('+15550403'), gen_random_uuid(), '{"status": 200, "body": "<html>"}'));
SELECT qt.ringing() AS not_json_strategy;
SELECT qt.reset();
-- No answer in time: the strategy; an answer after that changes nothing.
SELECT qt.call('+15550404') IS NOT NULL, qt.to('+15550404', 'sales') IS NOT NULL;
SELECT qt.fire(ARRAY['queue.webhook_timeout']) AS fired;
SELECT qt.ringing() AS timed_out_strategy;
SELECT qt.show(cc.queue_on_http(qt.cid('+15550404'), gen_random_uuid(),
                                '{"status": 200, "body": "{\"SeatEmails\": [\"1003@example.com\"]}"}')) AS late;
SELECT qt.ringing() AS unchanged;
SELECT qt.reset();
DROP FUNCTION cc.http_request(text, uuid, text, text, jsonb, text, integer, integer, jsonb);
ALTER FUNCTION cc.http_request_real(text, uuid, text, text, jsonb, text, integer, integer, jsonb) RENAME TO http_request;
UPDATE cc.queues SET preferred_agents_url = NULL, memory_days = 3 WHERE name = 'sales';

-- Overflow: nobody logged in and no_agent_action overflow sends the caller
-- to the overflow queue; hang_up sends it back to its flow; wait keeps it.
SELECT qt.queue('night', 'longest_idle') IS NOT NULL;
SELECT qt.member('night', '1004');
UPDATE cc.queues SET no_agent_action = 'overflow', overflow_queue_id = qt.qid('sales') WHERE name = 'night';
SELECT cc.agent_set_state(qt.id('1004'), 'offline');
SELECT qt.call('+15550501') IS NOT NULL, qt.to('+15550501', 'night') AS actions;
SELECT q.name, e.state, f.name AS from_queue FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.queues f ON f.id = e.from_queue_id WHERE e.call_id = qt.cid('+15550501') ORDER BY e.entered_at;
SELECT qt.ringing() AS overflowed_and_offered;
SELECT qt.reset();
UPDATE cc.queues SET no_agent_action = 'hang_up' WHERE name = 'night';
SELECT qt.call('+15550502') IS NOT NULL, qt.to('+15550502', 'night') AS hung_up;
SELECT state FROM cc.queue_entries WHERE call_id = qt.cid('+15550502');
UPDATE cc.queues SET no_agent_action = 'wait' WHERE name = 'night';
SELECT qt.call('+15550503') IS NOT NULL, qt.to('+15550503', 'night') IS NOT NULL AS waits;
SELECT state FROM cc.queue_entries WHERE call_id = qt.cid('+15550503');
-- the member logs in: offered
SELECT cc.agent_login(qt.id('1004'));
SELECT qt.ringing() AS logged_in_offered;
SELECT qt.reset();
-- When the last member logs out, callers already waiting overflow too.
UPDATE cc.queues SET no_agent_action = 'overflow' WHERE name = 'night';
SELECT cc.agent_set_state(qt.id('1004'), 'busy');
SELECT qt.call('+15550504') IS NOT NULL, qt.to('+15550504', 'night') IS NOT NULL;
SELECT cc.agent_logout(qt.id('1004'));
SELECT qt.fire(ARRAY['queue.no_agent_check']) AS fired;
SELECT q.name, e.state FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
 WHERE e.call_id = qt.cid('+15550504') ORDER BY e.entered_at;
SELECT qt.ringing() AS then_offered_in_sales;
SELECT qt.reset();
-- A caller waiting max_wait_s overflows when the queue has an overflow
-- queue, and otherwise leaves with queue_timeout.
SELECT cc.agent_login(qt.id('1004')), cc.agent_set_state(qt.id('1004'), 'busy');
UPDATE cc.queues SET max_wait_s = 60, no_agent_action = 'wait' WHERE name = 'night';
SELECT qt.call('+15550505') IS NOT NULL, qt.to('+15550505', 'night') IS NOT NULL;
SELECT qt.fire(ARRAY['queue.max_wait']) AS fired;
SELECT q.name, e.state FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
 WHERE e.call_id = qt.cid('+15550505') ORDER BY e.entered_at;
SELECT qt.sent();
SELECT qt.reset();
SELECT cc.agent_set_state(qt.id('1004'), 'busy');
UPDATE cc.queues SET overflow_queue_id = NULL WHERE name = 'night';
SELECT qt.call('+15550506') IS NOT NULL, qt.to('+15550506', 'night') IS NOT NULL;
SELECT qt.fire(ARRAY['queue.max_wait']) AS fired;
SELECT state FROM cc.queue_entries WHERE call_id = qt.cid('+15550506');
SELECT qt.sent();
SELECT qt.reset();

-- Ring timeout: an offer not answered in ring_timeout_s times out (cc sip
-- cancels it and reports no_answer; the guard timer does the same if it
-- never does): the leg is hung up, the agent counts a no-answer and is
-- kept out for the no-answer delay, and the caller rings the next member.
UPDATE cc.agents SET max_no_answer = 2;
SELECT qt.call('+15550601') IS NOT NULL, qt.to('+15550601', 'sales') IS NOT NULL;
SELECT qt.ringing() AS first;
SELECT qt.fire(ARRAY['queue.ring_timeout']) AS guard_fired;
SELECT qt.sent();
SELECT qt.ringing() AS next_member, qt.states();
SELECT a.extension, a.no_answer_count, s.ready_reason, round(extract(epoch FROM s.ready_at - clock_timestamp())) BETWEEN 28 AND 30 AS no_answer_delay_30_s
  FROM cc.agents a JOIN cc.agent_stats s ON s.agent_id = a.id WHERE a.no_answer_count > 0;
-- cc sip's own report of the timeout is the same
SELECT qt.ev(qt.leg('+15550601', '1002'), '{"type": "failed", "code": 408}') AS sip_timeout;
SELECT qt.ringing() AS next_again;
SELECT * FROM qt.offers();
-- when the delay is over the agent is offered again; a second no-answer in
-- a row puts it on break "no answer"
SELECT qt.delays_over();
SELECT qt.ev(qt.cust('+15550601'), '{"type": "ended", "side": "remote"}') IS NOT NULL;
SELECT qt.call('+15550602') IS NOT NULL, qt.to('+15550602', 'sales') IS NOT NULL;
SELECT qt.ringing() AS offered_again_after_delay;
SELECT qt.ev(qt.leg('+15550602', '1001'), '{"type": "failed", "code": 480, "cause": "no_answer"}');
SELECT a.extension, a.state, a.state_reason, b.name AS break_reason, a.no_answer_count
  FROM cc.agents a LEFT JOIN cc.break_reasons b ON b.id = a.break_reason_id WHERE a.extension = '1001';
-- answering resets the count
SELECT extension, no_answer_count FROM cc.agents WHERE extension IN ('1001', '1002') ORDER BY 1;
SELECT qt.ev(qt.leg('+15550602', '1002'), '{"type": "answered"}') IS NOT NULL AS answered_by_1002;
SELECT extension, no_answer_count FROM cc.agents WHERE extension IN ('1001', '1002') ORDER BY 1;
SELECT qt.reset();

-- Busy and declined: outcome rejected with the cause, the busy (60 s) and
-- reject (10 s) delays, no no-answer counted; not reachable: 5 s.
UPDATE cc.queues SET strategy = 'sequential' WHERE name = 'sales';
UPDATE cc.queue_members SET position = v.pos FROM (VALUES ('1001', 1), ('1002', 2), ('1003', 3)) AS v (ext, pos)
 WHERE agent_id = qt.id(v.ext) AND queue_id = qt.qid('sales');
SELECT qt.call('+15550701') IS NOT NULL, qt.to('+15550701', 'sales') IS NOT NULL;
SELECT qt.ev(qt.leg('+15550701', '1001'), '{"type": "failed", "code": 486}');
SELECT qt.ev(qt.leg('+15550701', '1002'), '{"type": "failed", "code": 603}');
SELECT qt.ev(qt.leg('+15550701', '1003'), '{"type": "failed", "code": 404}');
SELECT * FROM qt.offers();
SELECT a.extension, a.state, a.no_answer_count, s.ready_reason,
       round(extract(epoch FROM s.ready_at - clock_timestamp())) AS delay_s
  FROM cc.agents a JOIN cc.agent_stats s ON s.agent_id = a.id WHERE a.extension IN ('1001', '1002', '1003') ORDER BY 1;
SELECT qt.ringing() AS all_delayed;
-- dispatching again changes nothing before the delays are over ...
SELECT qt.fire(ARRAY['queue.dispatch']) > 0 AS dispatched;
SELECT qt.ringing() AS still_delayed;
-- ... when 1003's delay is over, its queue.agent_ready timer offers it the caller
UPDATE cc.agent_stats SET ready_at = clock_timestamp() - interval '1 second' WHERE agent_id = qt.id('1003');
UPDATE cc.timers SET due_at = clock_timestamp() - interval '1 second' WHERE kind = 'queue.agent_ready' AND agent_id = qt.id('1003');
SELECT coalesce(cc.timers_fire(), 0) >= 0 AS fired;
SELECT qt.ringing() AS ready_again;
SELECT qt.reset();

-- A burst of failed offers (every phone unreachable at once, as when a
-- site's network fails): each failure frees its agent and puts its caller
-- back in line, and each of the two dispatches.  With every member
-- delayed, each dispatch ranks the members once, finds nobody free and
-- claims nobody: 6 rankings.  (Before, each ranked them once per caller
-- some member had let down, so a burst cost callers x members x failures:
-- cc sip, which reports a burst in one transaction, took two minutes over
-- 1,000 such failures.)  The dispatch after commit is one timer for the
-- queue, not one per failure.
SET track_functions = 'pl';
SELECT qt.call(c) IS NOT NULL, qt.to(c, 'sales') IS NOT NULL FROM unnest(ARRAY['+15550801', '+15550802', '+15550803']) AS c;
SELECT qt.ringing() AS three_offers;
SELECT coalesce(pg_stat_get_xact_function_calls('cc.queue_available'::regproc), 0) AS rankings_before,
       coalesce(pg_stat_get_xact_function_calls('cc.queue_claim'::regproc), 0) AS claims_before \gset
SELECT count(qt.ev(o.leg_id, '{"type": "failed", "code": 503, "cause": "unavailable"}')) AS failed
  FROM (SELECT leg_id FROM cc.offers WHERE outcome = 'offered' ORDER BY offered_at, id) AS o;
SELECT coalesce(pg_stat_get_xact_function_calls('cc.queue_available'::regproc), 0) - :rankings_before AS rankings,
       coalesce(pg_stat_get_xact_function_calls('cc.queue_claim'::regproc), 0) - :claims_before AS claims;
SELECT qt.ringing() AS all_delayed,
       (SELECT count(*) FROM cc.timers WHERE kind = 'queue.dispatch') AS dispatch_timers;
-- one member is ready again: the first caller in line gets it.  Its
-- dispatch claims (locks) that caller only: it ranks who is free, ranks
-- them again for that caller (let down before, it is ranked on its own
-- keys) and claims one, then looks for work left; the queue's timer ranks
-- once more: 5 rankings, 1 claim
UPDATE cc.agent_stats SET ready_at = clock_timestamp() - interval '1 second' WHERE agent_id = qt.id('1002');
UPDATE cc.timers SET due_at = clock_timestamp() - interval '1 second' WHERE kind = 'queue.agent_ready' AND agent_id = qt.id('1002');
SELECT coalesce(pg_stat_get_xact_function_calls('cc.queue_available'::regproc), 0) AS rankings_before,
       coalesce(pg_stat_get_xact_function_calls('cc.queue_claim'::regproc), 0) AS claims_before \gset
SELECT coalesce(cc.timers_fire(), 0) >= 0 AS fired;
SELECT coalesce(pg_stat_get_xact_function_calls('cc.queue_available'::regproc), 0) - :rankings_before AS rankings,
       coalesce(pg_stat_get_xact_function_calls('cc.queue_claim'::regproc), 0) - :claims_before AS claims;
SELECT qt.ringing() AS first_in_line;
RESET track_functions;
ROLLBACK;
