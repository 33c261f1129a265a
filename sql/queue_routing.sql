-- queue_routing: routing rules are an ordered table; the first enabled
-- rule (by position) whose every given match holds (dialled number, caller
-- prefix, caller list, time window, call variables) sets the queue, the
-- caller's priority and the time before the next matching rule applies.
-- Rules are read at every enqueue: a change applies to the next call.
\set VERBOSITY terse
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
BEGIN;
-- (the helpers of sql/include/queue_fixture.sql, not echoed)
\set ECHO none
\i sql/include/queue_fixture.sql
\set ECHO all
SELECT count(qt.queue(n)) AS queues FROM unnest(ARRAY['vip', 'sales', 'local', 'night', 'english', 'general']) AS n;
-- Office hours in Shanghai, Monday to Friday 09:00-18:00, closed on 2025-01-01.
INSERT INTO cc.schedules (name, time_zone, weekly_slots, closed_dates)
VALUES ('office', 'Asia/Shanghai', '[{"days": [1, 2, 3, 4, 5], "from": "09:00", "to": "18:00"}]', '["2025-01-01"]');
INSERT INTO cc.schedules (name, time_zone, weekly_slots)
VALUES ('nights', 'Asia/Shanghai', '[{"days": [1, 2, 3, 4, 5, 6, 7], "from": "22:00", "to": "06:00"}]');
INSERT INTO cc.routing_rules (position, name, match_numbers, match_caller_prefixes, match_callers,
                              match_schedule_id, match_variables, queue_id, priority, timeout_s)
VALUES (10, 'vip', NULL, NULL, '{+15550999,+15550998}', NULL, NULL, qt.qid('vip'), 1, NULL),
       (20, 'sales line in hours', '{+862120001000}', NULL, NULL,
        (SELECT id FROM cc.schedules WHERE name = 'office'), NULL, qt.qid('sales'), 3, 30),
       (30, 'beijing callers', NULL, '{+8610,010}', NULL, NULL, NULL, qt.qid('local'), 2, NULL),
       (40, 'sales line at night', '{+862120001000}', NULL, NULL, (SELECT id FROM cc.schedules WHERE name = 'nights'), NULL,
        qt.qid('night'), 3, NULL),
       (50, 'english speakers', NULL, NULL, NULL, NULL, '{"lang": "en"}', qt.qid('english'), 3, NULL),
       (60, 'everyone else', NULL, NULL, NULL, NULL, NULL, qt.qid('general'), 5, NULL);

-- Which rule, for a dialled number, a caller, variables and a time.
CREATE FUNCTION qt.route(number text, caller text, vars jsonb, at timestamptz, queue text DEFAULT NULL,
                         after integer DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(r.name || ' -> ' || (SELECT name FROM cc.queues WHERE id = r.queue_id) || ' priority ' || r.priority
                    || coalesce(' timeout ' || r.timeout_s || ' s', ''), 'no rule')
      FROM cc.routing_rule_for(number, caller, vars, qt.qid(queue), after, at) AS r;
$$;
-- 2025-01-06 is a Monday; 10:00 in Shanghai is 02:00 UTC.
SELECT t.what, qt.route(t.number, t.caller, t.vars::jsonb, t.at::timestamptz) AS routed
  FROM (VALUES
    ('a VIP matches first, whatever else matches',  '+862120001000', '+15550999', '{"lang": "en"}', '2025-01-06 02:00+00'),
    ('the sales line in office hours',              '+862120001000', '+15550100', '{}',             '2025-01-06 02:00+00'),
    ('the sales line at 19:00 Shanghai',            '+862120001000', '+15550100', '{}',             '2025-01-06 11:00+00'),
    ('the sales line at 23:00 Shanghai',            '+862120001000', '+15550100', '{}',             '2025-01-06 15:00+00'),
    ('the sales line on Sunday at 10:00',           '+862120001000', '+15550100', '{}',             '2025-01-05 02:00+00'),
    ('the sales line on a closed date',             '+862120001000', '+15550100', '{}',             '2025-01-01 02:00+00'),
    ('a caller starting with +8610',                '+862120002000', '+861088886666', '{}',         '2025-01-06 02:00+00'),
    ('a caller starting with 010',                  '+862120002000', '01088886666', '{}',           '2025-01-06 02:00+00'),
    ('the prefix is a prefix, not a substring',     '+862120002000', '+8621008610', '{}',           '2025-01-06 02:00+00'),
    ('variables contain {"lang": "en"}',            '+862120002000', '+15550100', '{"lang": "en", "tier": "gold"}', '2025-01-06 02:00+00'),
    ('other variables',                             '+862120002000', '+15550100', '{"lang": "fr"}', '2025-01-06 02:00+00'),
    ('nothing else matches',                        '+862120002000', '+15550100', '{}',             '2025-01-06 02:00+00')
  ) AS t (what, number, caller, vars, at);

-- Among the rules of a given queue (a transfer to that queue), and after a
-- position (the next rule once a rule's timeout is over).
SELECT qt.route('+862120002000', '+15550999', '{}', '2025-01-06 02:00+00', 'general') AS to_general_vip_rule_is_for_vip;
SELECT qt.route('+862120002000', '+15550999', '{}', '2025-01-06 02:00+00', 'vip') AS to_vip;
SELECT qt.route('+862120002000', '+15550100', '{}', '2025-01-06 02:00+00', 'night') AS to_night_in_the_day;
SELECT qt.route('+862120001000', '+15550100', '{}', '2025-01-06 02:00+00', NULL, 20) AS after_the_sales_rule;
-- disabled rules are skipped
UPDATE cc.routing_rules SET enabled = false WHERE name = 'vip';
SELECT qt.route('+862120001000', '+15550999', '{}', '2025-01-06 02:00+00') AS vip_rule_disabled;
UPDATE cc.routing_rules SET enabled = true WHERE name = 'vip';
-- bad variables are refused
\set VERBOSITY default
SELECT qt.route('+862120001000', '+15550100', '[1]', '2025-01-06 02:00+00');
\set VERBOSITY terse

-- cc.enqueue routes through the rules.  These calls dial +862120002000,
-- which no rule that depends on the time of day matches.
SELECT qt.call('+15550998', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550998', '{}') IS NOT NULL AS routed;
SELECT q.name, e.priority, r.name AS rule FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550998');
-- a transfer to a queue takes that queue's first matching rule for the priority
SELECT qt.call('+15550999', '+862120002000') IS NOT NULL;
SELECT qt.to('+15550999', 'vip') IS NOT NULL AS routed;
SELECT q.name, e.priority, r.name AS rule FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550999');
-- and target.priority overrides the rule
SELECT qt.call('+15550997', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550997', jsonb_build_object('queue', qt.qid('general'), 'priority', 2)) IS NOT NULL AS routed;
SELECT q.name, e.priority, r.name AS rule FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550997');
-- variables given with the transfer count for the match
SELECT qt.call('+15550996', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550996', '{"variables": {"lang": "en"}}') IS NOT NULL AS routed;
SELECT q.name FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id WHERE e.call_id = qt.cid('+15550996');

-- A rule change applies to the next call, no restart.
UPDATE cc.routing_rules SET match_variables = '{"lang": "de"}' WHERE name = 'english speakers';
SELECT qt.call('+15550995', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550995', '{"variables": {"lang": "en"}}') IS NOT NULL AS routed;
SELECT q.name FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id WHERE e.call_id = qt.cid('+15550995');

-- No rule matches and no queue is named: the caller leaves the queues
-- (the flow resumes with queue_no_route; this flow has nothing more, so
-- the caller is hung up).
UPDATE cc.routing_rules SET enabled = false WHERE name = 'everyone else';
SELECT qt.call('+15550994', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550994', '{}') AS no_route;
SELECT state FROM cc.calls WHERE id = qt.cid('+15550994');
UPDATE cc.routing_rules SET enabled = true WHERE name = 'everyone else';

-- After a rule's timeout_s the next matching rule applies: same queue, new
-- priority; another queue, the caller moves (the entry overflowed).
INSERT INTO cc.routing_rules (position, name, match_callers, queue_id, priority, timeout_s)
VALUES (1, 'new customers', '{+15550993}', qt.qid('sales'), 4, 20),
       (2, 'new customers, later', '{+15550993}', qt.qid('sales'), 2, 20);
SELECT qt.call('+15550993', '+862120002000') IS NOT NULL;
SELECT qt.enqueue('+15550993', '{}') IS NOT NULL AS routed;
SELECT q.name, e.priority, r.name AS rule, e.next_rule_at IS NOT NULL AS has_next
  FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550993');
SELECT qt.fire(ARRAY['queue.next_rule']) AS fired;
SELECT q.name, e.state, e.priority, r.name AS rule
  FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550993') ORDER BY e.entered_at;
SELECT qt.fire(ARRAY['queue.next_rule']) AS fired;
SELECT q.name, e.state, e.priority, r.name AS rule, fq.name AS from_queue
  FROM cc.queue_entries e JOIN cc.queues q ON q.id = e.queue_id
  LEFT JOIN cc.queues fq ON fq.id = e.from_queue_id
  LEFT JOIN cc.routing_rules r ON r.id = e.routing_rule_id WHERE e.call_id = qt.cid('+15550993') ORDER BY e.entered_at;
SELECT qt.sent();

-- Bad targets are refused with the bad value named.
\set VERBOSITY default
SELECT cc.enqueue(qt.cid('+15550993'), '"sales"');
SELECT cc.enqueue(qt.cid('+15550993'), '{"queue": "sales"}');
SELECT cc.enqueue(qt.cid('+15550993'), '{"queue": "00000000-0000-0000-0000-000000000000"}');
SELECT cc.enqueue(qt.cid('+15550993'), '{"priority": 9}');
SELECT cc.enqueue(qt.cid('+15550993'), '{"variables": "en"}');
SELECT cc.enqueue('00000000-0000-0000-0000-000000000000', '{}');
ROLLBACK;
