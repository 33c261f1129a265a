-- queue_checks: every CHECK constraint of the tables of the queues domain
-- (agent_logins, agent_stats; the queues' own are in config_checks).  For
-- each, one change that obeys the rule (ok) and one that breaks it
-- (refused with the constraint's name); then proof that every CHECK of
-- these tables has a case.  All rolled back.
\set VERBOSITY terse
BEGIN;
INSERT INTO cc.agents (name, extension) VALUES ('Ann', '1001') RETURNING name, state;
-- every agent has its counters row
SELECT calls_today, talk_ms_today, calls_since_login, stats_day = current_date AS today FROM cc.agent_stats;
CREATE ROLE qt_ann_role;
INSERT INTO cc.agent_logins (login, agent_id) SELECT 'qt_ann_role', id FROM cc.agents RETURNING login;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
('agent_logins_login_is_an_existing_role', 'an agent''s login role exists',
 $$UPDATE cc.agent_logins SET login = 'cc_agent'$$,
 $$UPDATE cc.agent_logins SET login = 'no_such_role'$$),
('agent_stats_after_call_state_in_idle_busy_break_offline', 'the state chosen for after the call is idle, busy, break or offline',
 $$UPDATE cc.agent_stats SET after_call_state = 'offline'$$,
 $$UPDATE cc.agent_stats SET after_call_state = 'talking'$$),
('agent_stats_calls_today_not_negative', 'calls today are 0 or more',
 $$UPDATE cc.agent_stats SET calls_today = 3$$,
 $$UPDATE cc.agent_stats SET calls_today = -1$$),
('agent_stats_talk_ms_today_not_negative', 'talk time today is 0 or more',
 $$UPDATE cc.agent_stats SET talk_ms_today = 60000$$,
 $$UPDATE cc.agent_stats SET talk_ms_today = -1$$),
('agent_stats_calls_since_login_not_negative', 'calls since login are 0 or more',
 $$UPDATE cc.agent_stats SET calls_since_login = 1$$,
 $$UPDATE cc.agent_stats SET calls_since_login = -1$$);

CREATE TEMP TABLE results AS
SELECT n, constraint_name, rule, regress.try(good) AS good, regress.try(bad) AS bad FROM cases;
SELECT rule, good, bad FROM results ORDER BY n;
SELECT n, constraint_name, good, bad FROM results
 WHERE good <> 'ok' OR bad NOT LIKE '%violates check constraint "' || constraint_name || '"%';
SELECT conrelid::regclass AS table_name, conname FROM pg_constraint
 WHERE contype = 'c' AND conrelid = ANY (ARRAY['cc.agent_logins', 'cc.agent_stats']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

-- The settings the queues read, with their defaults.
SELECT key, value FROM cc.settings WHERE key LIKE 'queue.%' OR key LIKE 'callback.%' ORDER BY key;
-- A malformed setting falls back to the default instead of breaking calls.
UPDATE cc.settings SET value = '"soon"' WHERE key = 'queue.busy_delay_s';
SELECT cc.setting_int('queue.busy_delay_s', 60) AS busy_delay_s, cc.setting_int('no.such_key', 7) AS missing;
ROLLBACK;
