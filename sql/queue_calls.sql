-- queue_calls: a call's life in a queue.  Entering plays the transfer
-- prompt then loops hold music; a full, closed or empty queue refuses;
-- the caller hears its position at an interval and may leave with the exit
-- key or ask for a callback; hanging up while an agent rings frees the
-- agent at once; an agent logging out while offered goes offline and the
-- caller is offered again; a member may pick up a call ringing on another;
-- the real-time views show it all.
\set VERBOSITY terse
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
-- (the helpers of sql/include/queue_fixture.sql, not echoed)
\set ECHO none
\i sql/include/queue_fixture.sql
\set ECHO all
SELECT count(qt.agent(e)) AS agents FROM unnest(ARRAY['1001', '1002', '1003']) AS e;
SELECT qt.queue('sales', 'sequential') IS NOT NULL;
SELECT qt.member('sales', '1001', 3, 1), qt.member('sales', '1002', 3, 2), qt.member('sales', '1003', 3, 3);
INSERT INTO cc.prompts (name, kind, tts_text) VALUES ('music', 'tts', 'Thank you for holding.');
INSERT INTO cc.prompts (name, kind, tts_text) VALUES ('transfer', 'tts', 'Please hold, you are caller ${WaitNo}.'),
    ('position', 'tts', 'You are number ${WaitNo}. About ${EstimatedWaitMinutes} minutes.');
UPDATE cc.queues SET hold_music_prompt_id = (SELECT id FROM cc.prompts WHERE name = 'music'),
                     transfer_prompt_id = (SELECT id FROM cc.prompts WHERE name = 'transfer');

-- Entering: the transfer prompt (TTS variables filled), then the hold music (here a TTS prompt), looped.
SELECT qt.call('+15550001') IS NOT NULL, qt.to('+15550001', 'sales') AS actions;
SELECT state FROM cc.calls WHERE id = qt.cid('+15550001');
-- a prompt given with the transfer replaces the queue's
SELECT qt.call('+15550002') IS NOT NULL,
       qt.enqueue('+15550002', jsonb_build_object('queue', qt.qid('sales'), 'prompt', '{"tts": "One moment."}'::jsonb)) AS actions;
SELECT type, data - 'entry' AS data FROM cc.events WHERE type = 'call.queued' AND at >= now() ORDER BY seq;
SELECT qt.reset();

-- Full (max_length) and closed (disabled) queues refuse the caller, who
-- goes back to its flow (here: hung up).
UPDATE cc.queues SET max_length = 1 WHERE name = 'sales';
SELECT qt.call('+15550011') IS NOT NULL, qt.to('+15550011', 'sales') IS NOT NULL;
SELECT qt.call('+15550012') IS NOT NULL, qt.to('+15550012', 'sales') AS second_caller;
UPDATE cc.queues SET max_length = 0, enabled = false WHERE name = 'sales';
SELECT qt.call('+15550013') IS NOT NULL, qt.to('+15550013', 'sales') AS closed;
SELECT c.caller, e.state FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id ORDER BY c.caller;
SELECT data->>'reason' AS refused FROM cc.events WHERE type = 'queue.refused' AND at >= now() ORDER BY seq;
-- a disabled queue takes no new caller but still serves those it has
SELECT cc.agent_login(qt.id('1001'));
SELECT qt.ringing() AS still_served;
SELECT cc.agent_logout(qt.id('1001'));
UPDATE cc.queues SET enabled = true WHERE name = 'sales';
SELECT qt.reset();

-- The caller hangs up while an agent rings: the entry is abandoned, the
-- offer canceled, the agent's leg hung up and the agent free at once: the
-- next caller rings it.
SELECT count(cc.agent_login(id)) FROM cc.agents WHERE extension = '1001';
SELECT qt.call('+15550021') IS NOT NULL, qt.to('+15550021', 'sales') IS NOT NULL;
SELECT qt.call('+15550022') IS NOT NULL, qt.to('+15550022', 'sales') IS NOT NULL;
SELECT qt.ringing(), qt.states();
SELECT qt.ev(qt.cust('+15550021'), '{"type": "ended", "side": "remote", "code": 200}') AS caller_left;
SELECT c.caller, e.state, c.state AS call_state, c.end_cause FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id ORDER BY c.caller;
SELECT * FROM qt.offers();
SELECT qt.ringing(), qt.states();
-- the first agent leg's answer comes late: it is hung up, the agent stays on its new offer
SELECT qt.ev(qt.leg('+15550021', '1001'), '{"type": "answered"}') AS late_answer;
SELECT qt.sent();
SELECT qt.states();
SELECT qt.reset();

-- An agent logging out while offered goes offline; the caller is offered
-- again (to the next member), and the agent's leg is hung up.
SELECT count(cc.agent_login(id)) FROM cc.agents WHERE extension = '1002';
SELECT qt.call('+15550031') IS NOT NULL, qt.to('+15550031', 'sales') IS NOT NULL;
SELECT qt.ringing(), qt.states();
SELECT cc.agent_logout(qt.id('1001'));
SELECT * FROM qt.offers();
SELECT qt.ringing(), qt.states();
SELECT qt.sent();
-- going busy while offered declines the offer the same way
SELECT cc.agent_set_state(qt.id('1002'), 'busy');
SELECT * FROM qt.offers();
SELECT qt.ringing(), qt.states(), (SELECT state FROM cc.calls WHERE id = qt.cid('+15550031')) AS call_state;
SELECT qt.reset();

-- The exit key leaves the queue (back to the flow; here: hung up); other
-- keys are ignored.
UPDATE cc.queues SET exit_key = '#' WHERE name = 'sales';
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE state <> 'offline';
SELECT qt.call('+15550041') IS NOT NULL, qt.to('+15550041', 'sales') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550041'), '{"type": "dtmf", "digit": "5"}') AS other_key;
SELECT qt.ev(qt.cust('+15550041'), '{"type": "dtmf", "digit": "#"}') AS exit_key;
SELECT state FROM cc.queue_entries WHERE call_id = qt.cid('+15550041');
SELECT qt.reset();

-- Position and estimated wait: every announce_interval_s the caller hears
-- the announcement, then the music again.  Estimated wait = position *
-- average handle time (queue.default_handle_s without history) / members
-- logged in.
UPDATE cc.queues SET announce_interval_s = 30, announce_prompt_id = (SELECT id FROM cc.prompts WHERE name = 'position'),
                     transfer_prompt_id = NULL WHERE name = 'sales';
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE state <> 'offline';
SELECT qt.call('+15550051') IS NOT NULL, qt.to('+15550051', 'sales') IS NOT NULL;
SELECT qt.call('+15550052') IS NOT NULL, qt.to('+15550052', 'sales') IS NOT NULL;
SELECT qt.call('+15550053') IS NOT NULL,
       qt.enqueue('+15550053', jsonb_build_object('queue', qt.qid('sales'), 'priority', 1)) IS NOT NULL;
SELECT qt.fire(ARRAY['queue.announce']) AS announced;
SELECT qt.sent();
SELECT c.caller, e.announced_position FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id ORDER BY c.caller;
-- the timers go on at the interval
SELECT count(*) AS next_announcements FROM cc.timers WHERE kind = 'queue.announce'
   AND due_at BETWEEN clock_timestamp() + interval '25 seconds' AND clock_timestamp() + interval '31 seconds';
-- the default announcement, when the queue has no prompt of its own
UPDATE cc.queues SET announce_prompt_id = NULL WHERE name = 'sales';
SELECT qt.fire(ARRAY['queue.announce']) AS announced;
SELECT qt.sent() LIMIT 1;
SELECT qt.reset();
UPDATE cc.queues SET announce_interval_s = 0 WHERE name = 'sales';

-- Callback: the caller presses the callback key, hears a confirmation and
-- is hung up; a pending callback keeps the place of the entry.  When it
-- reaches the front and a member is free, a new outbound call rings the
-- member first, then dials the customer, then bridges them.
UPDATE cc.queues SET callback_key = '*' WHERE name = 'sales';
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.1/32}');
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE state <> 'offline';
SELECT qt.call('+15550061') IS NOT NULL, qt.to('+15550061', 'sales') IS NOT NULL;
UPDATE cc.calls SET trunk_id = (SELECT id FROM cc.trunks WHERE name = 'carrier') WHERE id = qt.cid('+15550061');
SELECT qt.call('+15550062') IS NOT NULL, qt.to('+15550062', 'sales') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550061'), '{"type": "dtmf", "digit": "*"}') AS callback_key;
SELECT number, state, attempts, extract(epoch FROM expires_at - requested_at) / 3600 AS valid_for_hours FROM cc.callbacks;
SELECT c.caller, e.state FROM cc.queue_entries e JOIN cc.calls c ON c.id = e.call_id ORDER BY c.caller;
SELECT qt.ev(qt.cust('+15550061'), '{"type": "ended", "side": "local"}') IS NOT NULL AS hung_up;
SELECT state, end_cause FROM cc.calls WHERE id = qt.cid('+15550061');
-- the callback kept its place: ahead of +15550062
SELECT cc.queue_position(e.id) AS position_of_0062 FROM cc.queue_entries e WHERE e.call_id = qt.cid('+15550062');
SELECT cc.agent_set_state(qt.id('1001'), 'idle');
SELECT qt.ringing() AS the_callback_first;
SELECT c.direction, c.caller, c.callee, c.state, c.parent_call_id = qt.cid('+15550061') AS from_original
  FROM cc.calls c WHERE c.callee = '+15550061';
SELECT state, attempts FROM cc.callbacks;
SELECT qt.sent();
SELECT qt.ev(o.leg_id, '{"type": "answered"}') AS agent_answers FROM cc.offers o WHERE o.outcome = 'offered';
SELECT qt.ev(l.id, '{"type": "answered"}') AS customer_answers
  FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id WHERE c.callee = '+15550061' AND l.kind = 'customer';
SELECT c.state, cb.state AS callback FROM cc.calls c JOIN cc.callbacks cb ON cb.callback_call_id = c.id;
SELECT qt.reset();
-- A callback whose customer does not answer is tried again after
-- callback.retry_s, up to callback.max_attempts; it expires after
-- callback.expiry_hours.
UPDATE cc.settings SET value = '2' WHERE key = 'callback.max_attempts';
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE state <> 'offline';
SELECT qt.call('+15550071') IS NOT NULL, qt.to('+15550071', 'sales') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550071'), '{"type": "dtmf", "digit": "*"}') IS NOT NULL AS callback_key;
CREATE FUNCTION qt.callback_round() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    c uuid;
BEGIN
    PERFORM cc.agent_set_state(qt.id('1001'), 'idle');
    SELECT o.call_id INTO c FROM cc.offers o WHERE o.outcome = 'offered';
    IF c IS NULL THEN
        PERFORM cc.agent_set_state(qt.id('1001'), 'busy');
        RETURN 'not offered';
    END IF;
    PERFORM cc.call_event(o.leg_id, '{"type": "answered"}') FROM cc.offers o WHERE o.call_id = c;
    PERFORM cc.call_event(l.id, '{"type": "failed", "code": 480}') FROM cc.legs l WHERE l.call_id = c AND l.kind = 'customer';
    PERFORM cc.call_event(o.leg_id, '{"type": "ended", "side": "local"}') FROM cc.offers o WHERE o.call_id = c;
    PERFORM cc.agent_set_state(qt.id('1001'), 'busy');
    RETURN (SELECT state || ' after ' || attempts FROM cc.callbacks);
END;
$$;
SELECT qt.callback_round() AS first_try;
SELECT qt.callback_round() AS too_soon;
UPDATE cc.callbacks SET last_attempt_at = last_attempt_at - interval '301 seconds';
SELECT qt.callback_round() AS second_try;
SELECT qt.callback_round() AS no_third_try;
SELECT type, data->>'attempts' AS attempts FROM cc.events WHERE type LIKE 'callback.%' AND at >= now() ORDER BY seq;
DELETE FROM cc.callbacks;
SELECT qt.call('+15550072') IS NOT NULL, qt.to('+15550072', 'sales') IS NOT NULL;
SELECT qt.ev(qt.cust('+15550072'), '{"type": "dtmf", "digit": "*"}') IS NOT NULL AS callback_key;
UPDATE cc.timers SET due_at = clock_timestamp() - interval '1 second' WHERE kind = 'queue.callback_expire';
UPDATE cc.callbacks SET expires_at = now() + interval '1 second', requested_at = now();
SELECT coalesce(cc.timers_fire(), 0) >= 0 AS fired;
SELECT state FROM cc.callbacks;
SELECT qt.reset();

-- Pickup: a member dials the queue's code and takes the call that has rung
-- longest on another member.
UPDATE cc.queues SET pickup_code = '*8', callback_key = NULL WHERE name = 'sales';
SELECT qt.agent('1004') IS NOT NULL;
SELECT count(cc.agent_set_state(id, 'busy')) FROM cc.agents WHERE state <> 'offline';
SELECT cc.agent_set_state(qt.id('1001'), 'idle');
-- (cc.call_arrived hands an INVITE to a pickup code to cc.queue_pickup, with
-- the authenticated agent in agent_id; the hook is called directly here)
CREATE FUNCTION qt.pickup(ext text, code text) RETURNS text LANGUAGE sql AS $$
    SELECT qt.show(cc.queue_pickup(jsonb_build_object(
        'method', 'INVITE', 'request_uri', 'sip:' || code || '@192.0.2.1', 'agent_id', qt.id(ext), 'call_id', 'pickup-' || ext,
        'from', jsonb_build_object('user', ext, 'uri', 'sip:' || ext || '@192.0.2.10'),
        'to', jsonb_build_object('user', code, 'uri', 'sip:' || code || '@192.0.2.1'))));
$$;
SELECT qt.pickup('1002', '*8') AS nothing_ringing;
SELECT qt.call('+15550081') IS NOT NULL, qt.to('+15550081', 'sales') IS NOT NULL;
SELECT qt.ringing();
SELECT qt.pickup('1002', '*9') AS unknown_code;
SELECT qt.pickup('1004', '*8') AS not_a_member;
SELECT cc.queue_pickup('{"request_uri": "sip:*8@192.0.2.1"}') AS not_authenticated;
SELECT qt.pickup('1002', '*8') AS picked_up;
SELECT * FROM qt.offers();
SELECT qt.sent();
SELECT c.state, a.extension AS agent, e.state AS entry
  FROM cc.calls c JOIN cc.agents a ON a.id = c.agent_id JOIN cc.queue_entries e ON e.call_id = c.id
 WHERE c.id = qt.cid('+15550081');
SELECT qt.ev(l.id, '{"type": "answered"}') AS picker_answered FROM cc.legs l WHERE l.sip_call_id = 'pickup-1002';
SELECT qt.states();
SELECT qt.reset();

-- After a cc sip restart, cc.calls_reconcile ends the calls it no longer
-- holds, legs first and without events: their agents still leave talking.
SELECT cc.agent_set_state(qt.id('1001'), 'idle');
SELECT qt.call('+15550085') IS NOT NULL, qt.to('+15550085', 'sales') IS NOT NULL;
SELECT qt.ev(qt.leg('+15550085', '1001'), '{"type": "answered"}') IS NOT NULL;
SELECT qt.states();
SELECT cc.calls_reconcile('cc sip restarted') AS reconciled;
SELECT qt.states();
SELECT qt.reset();

-- The real-time views.
SELECT count(cc.agent_set_state(id, 'idle')) FROM cc.agents WHERE state <> 'offline';
SELECT cc.agent_login(qt.id('1003')), cc.agent_set_state(qt.id('1003'), 'break', 'meal');
SELECT qt.call('+15550091') IS NOT NULL, qt.to('+15550091', 'sales') IS NOT NULL;
SELECT qt.ev(qt.leg('+15550091', '1001'), '{"type": "answered"}') IS NOT NULL;
SELECT qt.call('+15550092') IS NOT NULL, qt.to('+15550092', 'sales') IS NOT NULL;
SELECT qt.call('+15550093') IS NOT NULL, qt.to('+15550093', 'sales') IS NOT NULL;
UPDATE cc.queue_entries SET entered_at = entered_at - interval '42 seconds' WHERE call_id = qt.cid('+15550093');
SELECT name, strategy, waiting, ringing, longest_wait_s BETWEEN 42 AND 45 AS longest_wait_42_s, members_logged_in,
       members_available, agents_talking, callbacks_pending, estimated_wait_s
  FROM cc.queue_status WHERE name = 'sales';
SELECT extension, state, state_reason, break_reason, time_in_state_s < 5 AS just_now, calls_today, queues
  FROM cc.agent_status ORDER BY extension;
ROLLBACK;
