-- queue_strategies: each ring strategy offers a caller to the member its
-- rule says, on crafted data; member priority (1 first) is a tier every
-- strategy respects; callers are served by priority, then by time waited;
-- ring_all rings ring_all_cap members, ring_progressively adds one every
-- ring_step_s; capacity lets an agent take a second call.  Dispatch is
-- cc.queue_dispatch, run by cc.enqueue and whenever an agent frees up.
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
-- no delays here: this file is about the order
UPDATE cc.settings SET value = '0'
 WHERE key IN ('queue.busy_delay_s', 'queue.reject_delay_s', 'queue.no_answer_delay_s', 'queue.unreachable_delay_s');

-- longest_idle: the agent whose last call ended longest ago (never is
-- longest), then the one idle since longest.
SELECT qt.queue('idle', 'longest_idle') IS NOT NULL;
SELECT qt.member('idle', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
UPDATE cc.agents SET last_call_ended_at = now() - interval '10 minutes' WHERE extension = '1001';
UPDATE cc.agents SET last_call_ended_at = now() - interval '1 minute' WHERE extension = '1003';
SELECT qt.call('+15550001') IS NOT NULL, qt.to('+15550001', 'idle') IS NOT NULL;
SELECT qt.ringing() AS never_had_a_call;
SELECT qt.call('+15550002') IS NOT NULL, qt.to('+15550002', 'idle') IS NOT NULL;
SELECT qt.call('+15550003') IS NOT NULL, qt.to('+15550003', 'idle') IS NOT NULL;
SELECT qt.ringing() AS then_ended_longest_ago;
-- an answered and finished call makes the agent the most recently busy
SELECT qt.ev(qt.leg('+15550001', '1002'), '{"type": "answered"}') IS NOT NULL;
SELECT qt.ev(qt.leg('+15550001', '1002'), '{"type": "ended", "side": "local"}') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550002'), '{"type": "ended", "side": "remote"}') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550003'), '{"type": "ended", "side": "remote"}') IS NOT NULL;
SELECT qt.call('+15550004') IS NOT NULL, qt.to('+15550004', 'idle') IS NOT NULL;
SELECT qt.ringing() AS not_the_one_who_just_talked;
SELECT qt.reset();

-- Member priority is a tier: a priority-1 member comes before the longest
-- idle priority-3 member.
UPDATE cc.queue_members SET priority = 1 WHERE agent_id = qt.id('1003') AND queue_id = qt.qid('idle');
SELECT qt.call('+15550005') IS NOT NULL, qt.to('+15550005', 'idle') IS NOT NULL;
SELECT qt.ringing() AS priority_first;
SELECT qt.reset();

-- sequential: by member priority, then position; a caller some member let
-- ring out moves on to the next member instead of coming back.
SELECT qt.queue('seq', 'sequential') IS NOT NULL;
SELECT qt.member('seq', '1001', 3, 2), qt.member('seq', '1002', 3, 1), qt.member('seq', '1003', 2, 5);
SELECT qt.call('+15550011') IS NOT NULL, qt.to('+15550011', 'seq') IS NOT NULL;
SELECT qt.ringing() AS priority_2_first;
SELECT qt.ev(qt.leg('+15550011', '1003'), '{"type": "failed", "code": 480}') IS NOT NULL;
SELECT qt.ringing() AS next_in_order;
SELECT qt.ev(qt.leg('+15550011', '1002'), '{"type": "failed", "code": 480}') IS NOT NULL;
SELECT qt.ringing() AS and_the_next;
SELECT qt.ev(qt.leg('+15550011', '1001'), '{"type": "failed", "code": 480}') IS NOT NULL;
SELECT qt.ringing() AS all_tried_back_to_the_top;
SELECT qt.reset();

-- top_down: the same order, but every attempt starts again at the top.
SELECT qt.queue('top', 'top_down') IS NOT NULL;
SELECT qt.member('top', '1001', 3, 2), qt.member('top', '1002', 3, 1), qt.member('top', '1003', 2, 5);
SELECT qt.call('+15550021') IS NOT NULL, qt.to('+15550021', 'top') IS NOT NULL;
SELECT qt.ringing() AS top;
SELECT qt.ev(qt.leg('+15550021', '1003'), '{"type": "failed", "code": 480}') IS NOT NULL;
SELECT qt.ringing() AS top_again;
SELECT qt.reset();

-- fewest_calls: fewest calls answered since login.
SELECT qt.queue('fewest', 'fewest_calls') IS NOT NULL;
SELECT qt.member('fewest', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
UPDATE cc.agent_stats SET calls_since_login = v.n FROM (VALUES ('1001', 5), ('1002', 2), ('1003', 3)) AS v (ext, n)
 WHERE agent_id = qt.id(v.ext);
SELECT qt.call('+15550031') IS NOT NULL, qt.to('+15550031', 'fewest') IS NOT NULL;
SELECT qt.ringing() AS fewest_since_login;
-- answering counts
SELECT qt.ev(qt.leg('+15550031', '1002'), '{"type": "answered"}') IS NOT NULL;
SELECT extension, calls_since_login, calls_today FROM cc.agent_status ORDER BY extension;
SELECT qt.reset();

-- fewest_calls_today: counts of an earlier day read as 0.
SELECT qt.queue('today', 'fewest_calls_today') IS NOT NULL;
SELECT qt.member('today', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
UPDATE cc.agent_stats SET calls_today = v.n, stats_day = current_date - v.days_ago
  FROM (VALUES ('1001', 1, 0), ('1002', 4, 0), ('1003', 9, 1)) AS v (ext, n, days_ago)
 WHERE agent_id = qt.id(v.ext);
SELECT qt.call('+15550041') IS NOT NULL, qt.to('+15550041', 'today') IS NOT NULL;
SELECT qt.ringing() AS nine_yesterday_is_zero_today;
SELECT qt.call('+15550042') IS NOT NULL, qt.to('+15550042', 'today') IS NOT NULL;
SELECT qt.ringing() AS then_one_today;
SELECT qt.reset();

-- least_talk_time: least talk time today.
SELECT qt.queue('talk', 'least_talk_time') IS NOT NULL;
SELECT qt.member('talk', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
UPDATE cc.agent_stats SET talk_ms_today = v.ms, stats_day = current_date
  FROM (VALUES ('1001', 100000), ('1002', 50000), ('1003', 75000)) AS v (ext, ms)
 WHERE agent_id = qt.id(v.ext);
SELECT qt.call('+15550051') IS NOT NULL, qt.to('+15550051', 'talk') IS NOT NULL;
SELECT qt.ringing() AS least_talk;
-- a talk adds its duration
SELECT qt.ev(qt.leg('+15550051', '1002'), '{"type": "answered"}') IS NOT NULL;
UPDATE cc.legs SET created_at = now() - interval '95 seconds', ringing_at = NULL, answered_at = now() - interval '90 seconds' WHERE id = qt.leg('+15550051', '1002');
SELECT qt.ev(qt.leg('+15550051', '1002'), '{"type": "ended", "side": "remote"}') IS NOT NULL;
SELECT talk_ms_today / 1000 >= 140 AS talk_s_added FROM cc.agent_stats WHERE agent_id = qt.id('1002');
SELECT qt.call('+15550052') IS NOT NULL, qt.to('+15550052', 'talk') IS NOT NULL;
SELECT qt.ringing() AS now_the_next;
SELECT qt.reset();

-- round_robin: in turn by position, each member after the one offered last.
SELECT qt.queue('rr', 'round_robin') IS NOT NULL;
SELECT qt.member('rr', '1001', 3, 1), qt.member('rr', '1002', 3, 2), qt.member('rr', '1003', 3, 3);
CREATE FUNCTION qt.take(caller text, queue text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    who text;
BEGIN
    PERFORM qt.call(caller);
    PERFORM qt.to(caller, queue);
    SELECT a.extension INTO who FROM cc.offers o JOIN cc.agents a ON a.id = o.agent_id
     WHERE o.call_id = qt.cid(caller) AND o.outcome = 'offered';
    PERFORM cc.call_event(o.leg_id, '{"type": "answered"}') FROM cc.offers o WHERE o.call_id = qt.cid(caller);
    PERFORM cc.call_event(o.leg_id, '{"type": "ended", "side": "local"}') FROM cc.offers o WHERE o.call_id = qt.cid(caller);
    RETURN who;
END;
$$;
SELECT string_agg(qt.take('+1555006' || i, 'rr'), ' ' ORDER BY i) AS turns FROM generate_series(1, 7) AS i;
SELECT qt.reset();

-- random: any member of the best priority, each sometimes.
SELECT qt.queue('rand', 'random') IS NOT NULL;
SELECT qt.member('rand', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
SELECT qt.member('rand', '1004', 4);
SELECT count(DISTINCT qt.take('+155507' || lpad(i::text, 2, '0'), 'rand')) AS distinct_agents_in_60_calls
  FROM generate_series(1, 60) AS i;
SELECT count(*) AS priority_4_never_while_others_free
  FROM cc.offers o WHERE o.agent_id = qt.id('1004');
SELECT qt.reset();

-- ring_all: the caller rings ring_all_cap members (2 by default) at once,
-- best first by longest idle; the first to answer takes it, the other is
-- canceled without penalty.
SELECT qt.queue('all', 'ring_all') IS NOT NULL;
SELECT qt.member('all', e) FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
UPDATE cc.agents SET last_call_ended_at = now() - v.ago
  FROM (VALUES ('1001', interval '1 minute'), ('1002', interval '3 minutes'), ('1003', interval '2 minutes')) AS v (ext, ago)
 WHERE extension = v.ext;
SELECT qt.call('+15550081') IS NOT NULL, qt.to('+15550081', 'all') IS NOT NULL;
SELECT qt.ringing() AS two_at_once;
SELECT qt.sent();
SELECT qt.ev(qt.leg('+15550081', '1003'), '{"type": "answered"}');
SELECT * FROM qt.offers();
SELECT qt.states(), (SELECT no_answer_count FROM cc.agents WHERE extension = '1002') AS loser_not_penalised,
       (SELECT ready_at FROM cc.agent_stats WHERE agent_id = qt.id('1002')) AS loser_delay;
-- the loser's leg reports its cancel later: nothing changes
SELECT qt.ev(qt.leg('+15550081', '1002'), '{"type": "failed", "code": 487}');
SELECT qt.states();
UPDATE cc.queues SET ring_all_cap = 3 WHERE name = 'all';
SELECT qt.call('+15550082') IS NOT NULL, qt.to('+15550082', 'all') IS NOT NULL;
SELECT qt.ringing() AS cap_3_but_one_talks;
SELECT qt.reset();

-- ring_progressively: one member, then one more every ring_step_s while the
-- others keep ringing.
SELECT qt.queue('prog', 'ring_progressively') IS NOT NULL;
SELECT qt.member('prog', '1001', 3, 1), qt.member('prog', '1002', 3, 2), qt.member('prog', '1003', 3, 3);
SELECT qt.call('+15550091') IS NOT NULL, qt.to('+15550091', 'prog') IS NOT NULL;
SELECT qt.ringing() AS first_one;
SELECT qt.fire(ARRAY['queue.ring_step']);
SELECT qt.ringing() AS one_more;
SELECT qt.fire(ARRAY['queue.ring_step']);
SELECT qt.ringing() AS and_another;
SELECT qt.ev(qt.leg('+15550091', '1002'), '{"type": "answered"}');
SELECT * FROM qt.offers();
SELECT qt.reset();

-- Callers: priority 1 before priority 3, then the longest waiting.
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents;
SELECT qt.call('+15550101') IS NOT NULL, qt.enqueue('+15550101', jsonb_build_object('queue', qt.qid('idle'))) IS NOT NULL;
SELECT qt.call('+15550102') IS NOT NULL, qt.enqueue('+15550102', jsonb_build_object('queue', qt.qid('idle'))) IS NOT NULL;
SELECT qt.call('+15550103') IS NOT NULL,
       qt.enqueue('+15550103', jsonb_build_object('queue', qt.qid('idle'), 'priority', 1)) IS NOT NULL;
SELECT qt.ringing() AS all_busy;
SELECT cc.agent_set_state(qt.id('1001'), 'idle');
SELECT qt.ringing() AS vip_first;
SELECT cc.agent_set_state(qt.id('1002'), 'idle');
SELECT qt.ringing() AS then_longest_waiting;
SELECT qt.reset();

-- capacity: an agent of a queue with capacity 2 that took a call from idle
-- is offered a second one while talking, not a third.
SELECT qt.queue('multi', 'longest_idle') IS NOT NULL;
SELECT qt.member('multi', '1004');
UPDATE cc.queues SET capacity = 2 WHERE name = 'multi';
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE extension <> '1004';
SELECT qt.call('+15550111') IS NOT NULL, qt.to('+15550111', 'multi') IS NOT NULL;
SELECT qt.ev(qt.leg('+15550111', '1004'), '{"type": "answered"}') IS NOT NULL;
SELECT qt.call('+15550112') IS NOT NULL, qt.to('+15550112', 'multi') IS NOT NULL;
SELECT qt.ringing() AS second_call_while_talking, qt.states();
SELECT qt.ev(qt.leg('+15550112', '1004'), '{"type": "answered"}') IS NOT NULL;
SELECT qt.call('+15550113') IS NOT NULL, qt.to('+15550113', 'multi') IS NOT NULL;
SELECT qt.ringing() AS not_a_third;
SELECT qt.ev(qt.cust('+15550111'), '{"type": "ended", "side": "remote"}') AS first_caller_hangs_up;
SELECT qt.ev(qt.leg('+15550111', '1004'), '{"type": "ended", "side": "local"}') IS NOT NULL;
SELECT qt.ringing() AS one_ended_the_third_rings, qt.states();
SELECT qt.reset();

-- How members are reached: registered contacts (several fork) with the
-- contacts of a desk phone bound to the agent; the agent's mobile through
-- the trunk of a number usable for agents' mobiles, with that number as
-- caller ID (mode always: the mobile alone; when_offline: when no contact
-- is registered); and desk phones that are members themselves.
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.1/32}');
INSERT INTO cc.numbers (number, trunk_id, usable_for_agent_mobile)
SELECT '+862120009999', id, true FROM cc.trunks WHERE name = 'carrier';
INSERT INTO cc.registrations (agent_id, contact, expires_at)
VALUES (qt.id('1001'), 'sip:1001@192.0.2.11:5062', now() + interval '1 hour');
INSERT INTO cc.phones (name, extension, agent_id) VALUES ('desk of 1001', '2001', qt.id('1001'));
INSERT INTO cc.registrations (phone_id, contact, expires_at)
SELECT id, 'sip:2001@192.0.2.20:5060', now() + interval '1 hour' FROM cc.phones WHERE extension = '2001';
UPDATE cc.agents SET mobile = '+8613800000001' WHERE extension = '1001';
SELECT qt.queue('reach', 'sequential') IS NOT NULL;
SELECT qt.member('reach', '1001', 3, 1), qt.member('reach', '1002', 3, 2);
SELECT count(cc.agent_set_state(id, 'idle')) FROM cc.agents WHERE extension IN ('1001', '1002');
SELECT qt.call('+15550121') IS NOT NULL, qt.to('+15550121', 'reach') IS NOT NULL;
SELECT qt.show(args->'actions'->0->'targets') AS targets FROM cc.commands WHERE kind = 'call_actions';
SELECT qt.reset();
-- always: the mobile alone
UPDATE cc.agents SET mobile_mode = 'always' WHERE extension = '1001';
SELECT qt.call('+15550124') IS NOT NULL, qt.to('+15550124', 'reach') IS NOT NULL;
SELECT qt.sent();
UPDATE cc.agents SET mobile_mode = 'off' WHERE extension = '1001';
SELECT qt.reset();
-- when_offline: the mobile alone, through the trunk, with its caller ID
UPDATE cc.agents SET mobile_mode = 'when_offline', mobile = '+8613800000002' WHERE extension = '1002';
DELETE FROM cc.registrations WHERE agent_id = qt.id('1002');
SELECT cc.agent_set_state(qt.id('1001'), 'busy');
SELECT qt.sent() AS nothing_yet;
SELECT qt.call('+15550122') IS NOT NULL, qt.to('+15550122', 'reach') IS NOT NULL;
SELECT qt.sent();
-- an agent with no contact and no mobile is not offered at all
UPDATE cc.agents SET mobile_mode = 'off' WHERE extension = '1002';
SELECT qt.reset();
SELECT cc.agent_set_state(qt.id('1001'), 'busy');
SELECT qt.call('+15550123') IS NOT NULL, qt.to('+15550123', 'reach') IS NOT NULL;
SELECT qt.ringing() AS unreachable_not_offered;
-- a desk phone that is a member by itself
INSERT INTO cc.phones (name, extension) VALUES ('lobby', '2002');
INSERT INTO cc.registrations (phone_id, contact, expires_at)
SELECT id, 'sip:2002@192.0.2.21:5060', now() + interval '1 hour' FROM cc.phones WHERE extension = '2002';
INSERT INTO cc.queue_members (queue_id, phone_id, position) SELECT qt.qid('reach'), id, 3 FROM cc.phones WHERE extension = '2002';
SELECT qt.ringing() AS before_commit;
-- the new member is dispatched after commit (a queue.dispatch timer)
SELECT qt.fire(ARRAY['queue.dispatch']) > 0 AS fired;
SELECT qt.ringing() AS desk_phone;
SELECT qt.sent();
SELECT qt.ev(o.leg_id, '{"type": "answered"}') FROM cc.offers o WHERE o.outcome = 'offered';
SELECT state FROM cc.queue_entries WHERE call_id = qt.cid('+15550123');
ROLLBACK;
