-- agent_states: an agent's state changes only through cc.agent_set_state
-- (its own choices) and its calls (ringing, talking, wrap-up); an invalid
-- change is refused with both states named and the allowed ones listed;
-- every change is one row of cc.agent_state_log; a cc_agent role changes
-- only its own agent.  All in one transaction, rolled back.
\set VERBOSITY terse
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
-- (the helpers of sql/include/queue_fixture.sql, not echoed)
\set ECHO none
\i sql/include/queue_fixture.sql
\set ECHO all
SELECT qt.queue('sales') IS NOT NULL AS sales;
SELECT qt.agent('1001') IS NOT NULL AS ann, qt.agent('1002') IS NOT NULL AS bob;
SELECT qt.member('sales', '1001'), qt.member('sales', '1002');

-- Agents start offline.  Logging in takes the default state after login:
-- the setting (idle), or the agent's own.
SELECT cc.agent_login(qt.id('1001')) AS ann;
UPDATE cc.agents SET default_state_after_login = 'busy' WHERE extension = '1002';
SELECT cc.agent_login(qt.id('1002')) AS bob;
SELECT cc.agent_set_state(qt.id('1002'), 'offline');
UPDATE cc.agents SET default_state_after_login = NULL WHERE extension = '1002';
UPDATE cc.settings SET value = '"busy"' WHERE key = 'agent.default_state_after_login';
SELECT cc.agent_login(qt.id('1002')) AS bob_with_setting_busy;
UPDATE cc.settings SET value = '"idle"' WHERE key = 'agent.default_state_after_login';
SELECT qt.states();

-- The agent's own moves among idle, busy, break (with an enabled reason), offline.
SELECT cc.agent_set_state(qt.id('1002'), 'idle');
SELECT cc.agent_set_state(qt.id('1002'), 'break', 'meal');
SELECT cc.agent_set_state(qt.id('1002'), 'break', 'meeting') AS other_reason;
SELECT state, state_reason, (SELECT name FROM cc.break_reasons b WHERE b.id = break_reason_id) AS break_reason
  FROM cc.agents WHERE extension = '1002';
SELECT cc.agent_set_state(qt.id('1002'), 'busy', 'paperwork');
SELECT cc.agent_set_state(qt.id('1002'), 'busy') AS same_state_is_no_change;

-- Refused, each naming both states, with a hint listing what is allowed.
\set VERBOSITY default
SELECT cc.agent_set_state(qt.id('1002'), 'talking');
SELECT cc.agent_set_state(qt.id('1002'), 'wrap_up');
SELECT cc.agent_set_state(qt.id('1002'), 'lunch');
SELECT cc.agent_set_state(qt.id('1002'), 'break');
SELECT cc.agent_set_state(qt.id('1002'), 'break', 'nap');
SELECT cc.agent_set_state(qt.id('1002'), 'offline');
SELECT cc.agent_set_state(qt.id('1002'), 'break', 'meal');
SELECT cc.agent_set_state('00000000-0000-0000-0000-000000000000', 'idle');
UPDATE cc.agents SET forced_offline = true WHERE extension = '1002';
SELECT cc.agent_login(qt.id('1002'));
UPDATE cc.agents SET forced_offline = false WHERE extension = '1002';
-- A direct UPDATE of the state would escape the log: refused.
UPDATE cc.agents SET state = 'idle' WHERE extension = '1002';
\set VERBOSITY terse

-- The system's transitions follow the agent's legs.  Ann takes a call:
-- ringing (remembering idle), talking, then wrap-up for the queue's
-- seconds, then back to idle.
UPDATE cc.queues SET wrap_up_s = 30 WHERE name = 'sales';
SELECT qt.call('+15550101') IS NOT NULL AS call;
SELECT qt.to('+15550101', 'sales');
SELECT qt.states();
SELECT qt.ev(qt.leg('+15550101', '1001'), '{"type": "ringing", "code": 180}');
SELECT qt.ev(qt.leg('+15550101', '1001'), '{"type": "answered"}');
SELECT qt.states();
-- While talking, ringing / talking / wrap_up stay the system's; an agent's
-- choice becomes the state it takes after the call.
\set VERBOSITY default
SELECT cc.agent_set_state(qt.id('1001'), 'ringing');
\set VERBOSITY terse
SELECT cc.agent_set_state(qt.id('1001'), 'break', 'training') AS still;
SELECT qt.states();
SELECT cc.agent_set_state(qt.id('1001'), 'idle') AS changed_mind;
SELECT qt.ev(qt.leg('+15550101', '1001'), '{"type": "ended", "side": "remote"}');
SELECT qt.states(), (SELECT count(*) FROM cc.timers WHERE kind = 'queue.wrap_up_end') AS wrap_up_timers;
SELECT round(extract(epoch FROM due_at - clock_timestamp())) BETWEEN 28 AND 30 AS queue_wrap_up_s
  FROM cc.timers WHERE kind = 'queue.wrap_up_end';
-- cc.agent_set_state(wrap_up -> idle) would end wrap-up early; here the timer does
SELECT qt.fire(ARRAY['queue.wrap_up_end']);
SELECT qt.states();

-- The agent's own wrap_up_s wins over the queue's; a break chosen during
-- the call is taken, with its reason, after wrap-up.
UPDATE cc.agents SET wrap_up_s = 5 WHERE extension = '1001';
SELECT qt.call('+15550102') IS NOT NULL AS call;
SELECT qt.to('+15550102', 'sales');
SELECT qt.ringing();
SELECT qt.ev(qt.leg('+15550102', '1001'), '{"type": "answered"}');
SELECT cc.agent_set_state(qt.id('1001'), 'break', 'training') AS during_call;
SELECT qt.ev(qt.leg('+15550102', '1001'), '{"type": "ended", "side": "remote"}');
SELECT round(extract(epoch FROM due_at - clock_timestamp())) BETWEEN 3 AND 5 AS agent_wrap_up_s
  FROM cc.timers WHERE kind = 'queue.wrap_up_end';
SELECT qt.states();
SELECT qt.fire(ARRAY['queue.wrap_up_end']);
SELECT state, (SELECT name FROM cc.break_reasons b WHERE b.id = break_reason_id) AS break_reason
  FROM cc.agents WHERE extension = '1001';
-- wrap_up -> idle ends wrap-up at once
SELECT cc.agent_set_state(qt.id('1001'), 'idle');
SELECT qt.call('+15550103') IS NOT NULL AS call;
SELECT qt.to('+15550103', 'sales');
SELECT qt.ev(qt.leg('+15550103', '1001'), '{"type": "answered"}');
SELECT qt.ev(qt.leg('+15550103', '1001'), '{"type": "ended", "side": "local"}');
SELECT qt.states();
-- a repeated report of the end changes nothing: talk time counted once,
-- wrap-up not restarted
CREATE TEMP TABLE before_repeat AS
SELECT s.talk_ms_today, (SELECT due_at FROM cc.timers WHERE kind = 'queue.wrap_up_end') AS due
  FROM cc.agent_stats s WHERE s.agent_id = qt.id('1001');
SELECT qt.ev(qt.leg('+15550103', '1001'), '{"type": "ended", "side": "local"}') AS repeated;
SELECT s.talk_ms_today = b.talk_ms_today AS counted_once,
       (SELECT due_at FROM cc.timers WHERE kind = 'queue.wrap_up_end') = b.due AS same_wrap_up, qt.states()
  FROM cc.agent_stats s, before_repeat b WHERE s.agent_id = qt.id('1001');
SELECT cc.agent_set_state(qt.id('1001'), 'idle') AS ready_again;
SELECT count(*) AS wrap_up_timers_left FROM cc.timers WHERE kind = 'queue.wrap_up_end';

-- Every change is in the log, in order, with its reason and call.
SELECT a.extension, l.from_state, l.to_state, l.reason, l.call_id IS NOT NULL AS with_call,
       (SELECT name FROM cc.break_reasons b WHERE b.id = l.break_reason_id) AS break_reason
  FROM cc.agent_state_log l JOIN cc.agents a ON a.id = l.agent_id
 WHERE l.at >= now()
 ORDER BY l.at, a.extension;
-- and each is an agent.state_changed event
SELECT (SELECT count(*) FROM cc.agent_state_log WHERE at >= now())
       = (SELECT count(*) FROM cc.events WHERE type = 'agent.state_changed' AND at >= now())
       AS one_event_per_change;

-- Roles: a cc_agent login role mapped to an agent changes that agent only;
-- cc_app changes any; a role mapped to nobody, none.
CREATE ROLE qt_ann LOGIN IN ROLE cc_agent;
CREATE ROLE qt_nobody LOGIN IN ROLE cc_agent;
CREATE ROLE qt_app LOGIN IN ROLE cc_app;
INSERT INTO cc.agent_logins (login, agent_id) VALUES ('qt_ann', qt.id('1001'));
INSERT INTO cc.agent_logins (login, agent_id) VALUES ('no_such_role', qt.id('1002'));
SET SESSION AUTHORIZATION qt_ann;
SELECT cc.agent_set_state((SELECT id FROM cc.agents_public WHERE extension = '1001'), 'busy') AS own;
\set VERBOSITY default
SELECT cc.agent_set_state((SELECT id FROM cc.agents_public WHERE extension = '1002'), 'busy') AS other;
\set VERBOSITY terse
-- the agent's workbench reads the real-time views
SELECT extension, state FROM cc.agent_status ORDER BY extension;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qt_nobody;
SELECT cc.agent_set_state((SELECT id FROM cc.agents_public WHERE extension = '1001'), 'idle') AS unmapped;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION qt_app;
SELECT cc.agent_set_state((SELECT id FROM cc.agents_public WHERE extension = '1002'), 'idle') AS app;
-- the mapping table is not the agents' to change
INSERT INTO cc.agent_logins (login, agent_id) VALUES ('qt_nobody', (SELECT id FROM cc.agents_public WHERE extension = '1002'));
RESET SESSION AUTHORIZATION;
SELECT qt.states();
ROLLBACK;
