-- bus: the command bus in SQL.  Everything runs inside transactions that
-- roll back, so the running cc sip never sees (or sends) these commands.
\set VERBOSITY terse

-- cc.sip_options accepts sip: and sips: URIs with a host, port and parameters.
BEGIN;
SELECT count(*) AS created FROM (
  SELECT cc.sip_options('sip:127.0.0.1:5060')
  UNION ALL SELECT cc.sip_options('sips:carrier.example.com')
  UNION ALL SELECT cc.sip_options('sip:1001@10.0.0.7:5080;transport=tcp')
  UNION ALL SELECT cc.sip_options('sip:[::1]:5060')) AS t;
SELECT kind, args->>'uri' AS uri, state, attempts FROM cc.commands ORDER BY created_at;
ROLLBACK;

-- It refuses anything else, naming the bad value and what is allowed.
SELECT cc.sip_options(NULL);
SELECT cc.sip_options('http://example.com');
SELECT cc.sip_options('sip:');
SELECT cc.sip_options('sip:host:99999');
SELECT cc.sip_options('sip:' || repeat('a', 1100));

-- The commands table refuses bad rows by itself, with the rule in the
-- constraint's name.
INSERT INTO cc.commands (kind) VALUES ('reboot');
INSERT INTO cc.commands (kind, args) VALUES ('sip_options', '[1]');
INSERT INTO cc.commands (kind, state) VALUES ('sip_options', 'lost');
INSERT INTO cc.commands (kind, state) VALUES ('sip_options', 'claimed');
INSERT INTO cc.commands (kind, state) VALUES ('sip_options', 'done');
INSERT INTO cc.commands (kind, state, finished_at) VALUES ('sip_options', 'failed', now());
INSERT INTO cc.commands (kind, attempts) VALUES ('sip_options', -1);

-- Claiming takes pending commands oldest first, marks them claimed, counts
-- the attempt; finishing records the outcome and an event.
BEGIN;
SELECT cc.sip_options('sip:127.0.0.1:9') IS NOT NULL AS first;
SELECT cc.sip_options('sip:127.0.0.1:10') IS NOT NULL AS second;
SELECT args->>'uri' AS uri, state, claimed_by, attempts FROM cc.commands_claim('test worker', 1);
SELECT args->>'uri' AS uri, state FROM cc.commands ORDER BY created_at;
SELECT cc.sip_options_result(id, args->>'uri', 200, 'OK', 1.23456) FROM cc.commands WHERE state = 'claimed';
SELECT state, result FROM cc.commands WHERE args->>'uri' = 'sip:127.0.0.1:9';
SELECT type, data FROM cc.events WHERE command_id IS NOT NULL ORDER BY seq;
-- Finishing a command that is not claimed does nothing.
SELECT cc.command_finish(id, true) AS finished FROM cc.commands WHERE args->>'uri' = 'sip:127.0.0.1:10';
-- A command that could not be sent (code 0) fails with the reason.
SELECT count(*) AS claimed FROM cc.commands_claim('test worker', 5);
SELECT cc.sip_options_result(id, args->>'uri', 0, 'no route', 0) FROM cc.commands WHERE state = 'claimed';
SELECT args->>'uri' AS uri, state, error FROM cc.commands WHERE args->>'uri' = 'sip:127.0.0.1:10';
ROLLBACK;

-- Claim arguments are checked.
SELECT * FROM cc.commands_claim('', 1);
SELECT * FROM cc.commands_claim('w', 0);

-- A worker that restarts puts its claims back to pending, and fails a
-- command after cc.command_max_attempts() claims.
BEGIN;
INSERT INTO cc.commands (kind, args, state, claimed_by, claimed_at, attempts)
VALUES ('sip_options', '{"uri": "sip:a.example"}', 'claimed', 'test worker', now(), 1),
       ('sip_options', '{"uri": "sip:b.example"}', 'claimed', 'test worker', now(), 5),
       ('sip_options', '{"uri": "sip:c.example"}', 'claimed', 'other worker', now(), 1);
SELECT cc.commands_recover('test worker') AS recovered;
SELECT args->>'uri' AS uri, state, claimed_by, error FROM cc.commands ORDER BY args->>'uri';
SELECT type, data->>'kind' AS kind FROM cc.events WHERE type LIKE 'command.%' ORDER BY seq;
ROLLBACK;

-- Events: type must be dotted lowercase, data an object; cc.event_append
-- returns increasing sequence numbers.
-- (Dated 2000 so the row would land in cc.events_default, whose name is stable.)
INSERT INTO cc.events (at, type) VALUES ('2000-01-01', 'Call Answered');
INSERT INTO cc.events (at, type, data) VALUES ('2000-01-01', 'call.answered', '"x"');
-- The type rule (cc.event_type_is_valid, in C) says what its regex says.
SELECT t AS type, cc.event_type_is_valid(t) AS valid,
       cc.event_type_is_valid(t) = (t ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$') AS as_the_regex
  FROM unnest(ARRAY['call.answered', 'a.b', 'leg.sip_code_2', 'x1_.y2.z_', 'call', '', 'Call.answered', 'call.Answered',
                    'call.', '.call', 'call..answered', '1call.x', 'call.1x', 'call._x', '_call.x', 'call.an-swered',
                    'call answered.x', 'café.x', 'call.answered.', 'a.b.c.d.e']) AS t;
SELECT cc.event_type_is_valid(NULL) IS NULL AS null_is_unknown;
BEGIN;
SELECT cc.event_append('test.one') < cc.event_append('test.two', '{"n": 2}') AS ordered;
ROLLBACK;

-- Partitions: today and the next 7 days exist; asking again creates none.
SELECT count(*) >= 8 AS daily_partitions FROM pg_inherits WHERE inhparent = 'cc.events'::regclass;
SELECT cc.events_create_partitions(7) AS created_again;
SELECT cc.events_create_partitions(-1);
SELECT cc.events_drop_partitions(0);
-- The maintenance job is scheduled in pg_cron.
SELECT jobname, schedule FROM cron.job WHERE jobname LIKE 'cc_%';
