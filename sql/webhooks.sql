-- webhooks: subscriptions, the outbox filled in the event's transaction,
-- the life of a delivery (claim, record, back-off, dead, recovery), and
-- the HTTP requests of the decisions with their hooks (121, 125).  What
-- cc http does on the network is tested end to end (test/e2e/test_events*);
-- here the SQL side runs by hand, in transactions that roll back so the
-- running cc http never sees these rows.
\set VERBOSITY terse
SET timezone = 'UTC';

-- Patterns: * (all), an exact type, a prefix (call.*), a bare domain (cdr = cdr.*).
SELECT t AS type, p AS patterns, cc.event_type_matches(t, p::text[]) AS matches
  FROM (VALUES ('call.ended', '{*}'), ('call.ended', '{call.*}'), ('call.ended', '{call.ended}'),
               ('call.ended', '{call.answered}'), ('callback.created', '{call.*}'), ('cdr.created', '{cdr}'),
               ('cdrx.created', '{cdr}'), ('leg.answered', '{call.*,leg.answered}')) AS x (t, p);

-- The events trigger keeps the enabled webhooks' patterns in a cache of
-- its backend; every change of cc.webhooks reaches it before the next
-- event of the transaction that made it.
BEGIN;
SELECT cc.event_append('test.before', '{}') > 0 AS appended;   -- the cache is read: no webhook
INSERT INTO cc.webhooks (id, name, url, event_types)
VALUES ('00000000-0000-0000-0000-00000000000c', 'cache', 'http://127.0.0.1:9/cache', '{test.*}');
SELECT cc.event_append('test.added', '{}') > 0 AS appended;
UPDATE cc.webhooks SET enabled = false WHERE id = '00000000-0000-0000-0000-00000000000c';
SELECT cc.event_append('test.disabled', '{}') > 0 AS appended;
UPDATE cc.webhooks SET enabled = true, event_types = '{call.*}' WHERE id = '00000000-0000-0000-0000-00000000000c';
SELECT cc.event_append('test.other_types', '{}') > 0 AS appended;
UPDATE cc.webhooks SET event_types = '{test}' WHERE id = '00000000-0000-0000-0000-00000000000c';
SELECT cc.event_append('test.domain', '{}') > 0 AS appended;
SELECT event_type, state FROM cc.webhook_outbox WHERE webhook_id = '00000000-0000-0000-0000-00000000000c' ORDER BY event_seq;
ROLLBACK;

-- Subscriptions cc http could not use are refused, naming the bad value.
INSERT INTO cc.webhooks (name, url, event_types) VALUES ('bad', 'http://127.0.0.1:9/', '{Call.Ended}');
INSERT INTO cc.webhooks (name, url, event_types) VALUES ('bad', 'http://127.0.0.1:9/', '{call.}');
INSERT INTO cc.webhooks (name, url, headers) VALUES ('bad', 'http://127.0.0.1:9/', '{"X Bad": "1"}');
INSERT INTO cc.webhooks (name, url, headers) VALUES ('bad', 'http://127.0.0.1:9/', '{"Content-Type": "text/plain"}');
INSERT INTO cc.webhooks (name, url, headers) VALUES ('bad', 'http://127.0.0.1:9/', '{"X-Tenant": "a\r\nX-Evil: 1"}');
INSERT INTO cc.webhooks (name, url, headers) VALUES ('bad', 'http://127.0.0.1:9/', '{"X-Tenant": 7}');
INSERT INTO cc.webhooks (name, url, auth, auth_username, auth_secret) VALUES ('bad', 'http://127.0.0.1:9/', 'basic', 'a:b', 'pw');
INSERT INTO cc.webhooks (name, url) VALUES ('bad', 'ftp://127.0.0.1/');

BEGIN;
INSERT INTO cc.webhooks (id, name, url, event_types, secret, headers, auth, auth_username, auth_secret, max_attempts) VALUES
    ('00000000-0000-0000-0000-00000000000a', 'crm', 'http://127.0.0.1:9/crm', '{call.*}', 's3cret',
     '{"X-Tenant": "acme"}', 'basic', 'cc', 'pw', 3),
    ('00000000-0000-0000-0000-00000000000b', 'audit', 'http://127.0.0.1:9/audit', '{*}', NULL, '{}', 'bearer', NULL, 'tok', 8);
INSERT INTO cc.webhooks (id, name, url, enabled) VALUES ('00000000-0000-0000-0000-00000000000c', 'off', 'http://127.0.0.1:9/off', false);

-- An event becomes one delivery per enabled matching webhook, in the same
-- transaction, its body the event as JSON.
SELECT cc.event_append('call.ended', '{"cause": "normal"}', call_id => '00000000-0000-0000-0000-000000000001') AS seq1 \gset
SELECT cc.event_append('agent.state_changed', '{"to": "idle"}', agent_id => '00000000-0000-0000-0000-0000000000b1') IS NOT NULL AS appended;
SELECT w.name, o.event_type, o.state, o.attempts, o.order_key,
       o.payload - 'id' - 'at' - 'seq' - 'site' AS payload, o.payload->>'seq' = :'seq1' AS same_seq
  FROM cc.webhook_outbox AS o JOIN cc.webhooks AS w ON w.id = o.webhook_id ORDER BY o.event_seq, w.name;
-- A rolled-back event leaves no delivery.
SAVEPOINT s;
SELECT cc.event_append('call.ended', '{}', call_id => '00000000-0000-0000-0000-000000000009') IS NOT NULL AS appended;
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS deliveries FROM cc.webhook_outbox;

-- Claiming: what to send, with the headers of the attempt (signature and
-- timestamp are added by cc http when it sends).
SELECT w.name, c.attempt, c.url, regexp_replace(array_to_string(c.headers, ' | '), '[0-9a-f-]{36}', '<uuid>', 'g') AS headers,
       c.secret, c.timeout_ms,
       (c.body::jsonb)->>'type' AS type
  FROM cc.webhook_deliveries_claim(10) AS c JOIN cc.webhook_outbox AS o ON o.id = c.id
  JOIN cc.webhooks AS w ON w.id = o.webhook_id
 ORDER BY o.event_seq, w.name;
SELECT state, attempts, claimed_pid = pg_backend_pid() AS mine FROM cc.webhook_outbox ORDER BY event_seq, webhook_id;
SELECT count(*) AS claimed_again FROM cc.webhook_deliveries_claim(10);

-- Per-call order: three more events of call 1 and one of call 2.  audit
-- still delivers call 1's first event, so only call 2's is claimable for it;
-- crm delivers call 1's first event too.
SELECT cc.event_append('call.state_changed', '{"n": 2}', call_id => '00000000-0000-0000-0000-000000000001') IS NOT NULL AS a,
       cc.event_append('call.state_changed', '{"n": 3}', call_id => '00000000-0000-0000-0000-000000000001') IS NOT NULL AS b,
       cc.event_append('call.state_changed', '{"n": 4}', call_id => '00000000-0000-0000-0000-000000000002') IS NOT NULL AS c;
SELECT w.name, (c.body::jsonb)->'data' AS data FROM cc.webhook_deliveries_claim(10) AS c
  JOIN cc.webhook_outbox AS o ON o.id = c.id JOIN cc.webhooks AS w ON w.id = o.webhook_id ORDER BY w.name;

-- Recording attempts.  audit's call.ended answered 200: delivered, and the
-- next event of call 1 becomes claimable for audit.
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 1, 'status', 200, 'duration_ms', 12)))
  FROM cc.webhook_outbox AS o WHERE o.webhook_id = '00000000-0000-0000-0000-00000000000b' AND o.event_type = 'call.ended';
SELECT w.name, (c.body::jsonb)->'data' AS data FROM cc.webhook_deliveries_claim(10) AS c
  JOIN cc.webhook_outbox AS o ON o.id = c.id JOIN cc.webhooks AS w ON w.id = o.webhook_id ORDER BY w.name;
-- crm's call.ended got 503: pending again, after 0.5 to 1 s (back-off base
-- 1000 ms, attempt 1); its next event stays behind it.
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 1, 'status', 503, 'duration_ms', 5)))
  FROM cc.webhook_outbox AS o WHERE o.webhook_id = '00000000-0000-0000-0000-00000000000a' AND o.event_type = 'call.ended';
SELECT state, attempts, last_status, next_attempt_at - clock_timestamp() BETWEEN interval '0' AND interval '1 s' AS backed_off
  FROM cc.webhook_outbox WHERE webhook_id = '00000000-0000-0000-0000-00000000000a' AND event_type = 'call.ended';
SELECT count(*) AS claimable_for_crm FROM cc.webhook_deliveries_claim(10);
-- The back-off doubles with each attempt: after attempt 1 it waits 0.5 to
-- 1 s, after attempt 3 2 to 4 s (with jitter: not always the same).
SELECT min(b) >= 500 AND max(b) <= 1000 AND min(b) < max(b) AS first_0_5_to_1_s
  FROM (SELECT cc.webhook_backoff_ms(1) AS b FROM generate_series(1, 200)) AS x;
SELECT min(b) >= 2000 AND max(b) <= 4000 AS third_2_to_4_s
  FROM (SELECT cc.webhook_backoff_ms(3) AS b FROM generate_series(1, 200)) AS x;
-- Its second attempt: 429 with Retry-After 30 s is honoured.
UPDATE cc.webhook_outbox SET next_attempt_at = now() - interval '1 second'
 WHERE webhook_id = '00000000-0000-0000-0000-00000000000a' AND event_type = 'call.ended';
SELECT count(*) AS claimed FROM cc.webhook_deliveries_claim(10);
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 2, 'status', 429, 'retry_after_s', 30)))
  FROM cc.webhook_outbox AS o WHERE o.webhook_id = '00000000-0000-0000-0000-00000000000a' AND o.event_type = 'call.ended';
SELECT state, attempts, round(extract(epoch FROM next_attempt_at - clock_timestamp())) AS wait_s
  FROM cc.webhook_outbox WHERE webhook_id = '00000000-0000-0000-0000-00000000000a' AND event_type = 'call.ended';
-- Its third (and last: max_attempts 3) attempt times out: dead, and the
-- next event of call 1 goes on to crm.
UPDATE cc.webhook_outbox SET next_attempt_at = now() - interval '1 second'
 WHERE webhook_id = '00000000-0000-0000-0000-00000000000a' AND event_type = 'call.ended';
SELECT count(*) AS claimed FROM cc.webhook_deliveries_claim(10);
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 3, 'error', 'Operation timed out after 5000 milliseconds', 'duration_ms', 5000)))
  FROM cc.webhook_outbox AS o WHERE o.webhook_id = '00000000-0000-0000-0000-00000000000a' AND o.event_type = 'call.ended';
SELECT state, attempts, last_status, last_error, delivered_at IS NULL AS not_delivered
  FROM cc.webhook_outbox WHERE webhook_id = '00000000-0000-0000-0000-00000000000a' AND event_type = 'call.ended';
SELECT w.name, (c.body::jsonb)->'data' AS data FROM cc.webhook_deliveries_claim(10) AS c
  JOIN cc.webhook_outbox AS o ON o.id = c.id JOIN cc.webhooks AS w ON w.id = o.webhook_id ORDER BY w.name;
-- Every attempt of it is recorded.
SELECT a.attempt, a.http_status, a.retry_after_s, a.duration_ms, a.error
  FROM cc.webhook_attempts AS a JOIN cc.webhook_outbox AS o ON o.id = a.outbox_id
 WHERE o.webhook_id = '00000000-0000-0000-0000-00000000000a' AND o.event_type = 'call.ended' ORDER BY a.attempt;
-- A 404 is final at once; a result for an attempt that is not the claimed
-- one (a late duplicate) changes nothing.
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', o.attempts, 'status', 404)))
  FROM cc.webhook_outbox AS o WHERE o.state = 'delivering' AND o.payload->'data'->>'n' = '4';
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 7, 'status', 200)))
  FROM cc.webhook_outbox AS o WHERE o.state = 'delivering';
SELECT w.name, o.payload->'data' AS data, o.state, o.attempts, o.last_status
  FROM cc.webhook_outbox AS o JOIN cc.webhooks AS w ON w.id = o.webhook_id ORDER BY o.event_seq, w.name;
SELECT cc.webhook_deliveries_record('{"not": "an array"}');
ROLLBACK;

BEGIN;
-- Waiting deliveries: the second and third events of a call wait behind the
-- first; recording the first lets the second go (pending), not the third.
INSERT INTO cc.webhooks (id, name, url) VALUES ('00000000-0000-0000-0000-00000000000b', 'audit', 'http://127.0.0.1:9/audit');
SELECT count(cc.event_append('call.state_changed', jsonb_build_object('n', n), call_id => '00000000-0000-0000-0000-000000000003'))
  FROM generate_series(1, 3) AS n;
SELECT payload->'data' AS data, state FROM cc.webhook_outbox ORDER BY event_seq;
SELECT count(*) AS claimed FROM cc.webhook_deliveries_claim(10);
SELECT cc.webhook_deliveries_record(jsonb_agg(jsonb_build_object('id', o.id, 'attempt', 1, 'status', 204)))
  FROM cc.webhook_outbox AS o WHERE o.state = 'delivering';
SELECT payload->'data' AS data, state FROM cc.webhook_outbox ORDER BY event_seq;
-- A waiting delivery left with nothing ahead of it (its promotion missed,
-- e.g. queued while the one ahead was being recorded) is found by the sweep.
UPDATE cc.webhook_outbox SET state = 'delivered', delivered_at = now() WHERE state = 'pending';
SELECT count(*) AS claimed_without_sweep FROM cc.webhook_deliveries_claim(10);
SELECT (c.body::jsonb)->'data' AS claimed_after_sweep FROM cc.webhook_deliveries_claim(10, true) AS c;
SELECT name, waiting, pending, delivering, delivered, dead FROM cc.webhook_stats;
ROLLBACK;

BEGIN;
-- At most webhooks.max_in_flight deliveries of one webhook at a time.
INSERT INTO cc.webhooks (id, name, url) VALUES ('00000000-0000-0000-0000-00000000000b', 'audit', 'http://127.0.0.1:9/audit');
UPDATE cc.settings SET value = '2' WHERE key = 'webhooks.max_in_flight';
SELECT count(cc.event_append('call.ended', '{}', call_id => gen_random_uuid())) AS events FROM generate_series(1, 5);
SELECT count(*) AS first_claim FROM cc.webhook_deliveries_claim(10);
SELECT count(*) AS second_claim FROM cc.webhook_deliveries_claim(10);
-- A claim left by a process that is gone (pid 1 is no cc http) is taken
-- back: its interrupted attempt recorded, retried at once.
UPDATE cc.webhook_outbox SET claimed_pid = 1 WHERE state = 'delivering';
SELECT cc.http_recover() AS recovered;
SELECT state, count(*), min(attempts), bool_and(next_attempt_at <= clock_timestamp()) AS due_now
  FROM cc.webhook_outbox GROUP BY state ORDER BY state;
SELECT DISTINCT error FROM cc.webhook_attempts;
-- A finished delivery can be sent again (same body and key, attempts from 0).
UPDATE cc.webhook_outbox SET state = 'dead' WHERE state = 'pending';
SELECT cc.webhook_redeliver(id) IS NOT NULL AS again FROM cc.webhook_outbox LIMIT 1;
SELECT name, waiting, pending, delivering, delivered, dead FROM cc.webhook_stats;
ROLLBACK;
SELECT cc.webhook_redeliver('00000000-0000-0000-0000-00000000ffff');

-- HTTP requests of the decisions: bad arguments are refused, naming them.
SELECT cc.http_request('sms', NULL, 'POST', 'http://127.0.0.1:9/');
SELECT cc.http_request('flow', NULL, 'TRACE', 'http://127.0.0.1:9/');
SELECT cc.http_request('flow', NULL, 'POST', 'file:///etc/passwd');
SELECT cc.http_request('flow', NULL, 'POST', 'http://127.0.0.1:9/', '{"X-A": "1\r\nX-B: 2"}');
SELECT cc.http_request('flow', NULL, 'POST', 'http://127.0.0.1:9/', '{"Host": "evil"}');
SELECT cc.http_request('flow', NULL, 'POST', 'http://127.0.0.1:9/', timeout_ms => 50);
SELECT cc.http_request('flow', NULL, 'POST', 'http://127.0.0.1:9/', max_attempts => 11);
SELECT cc.http_request('flow', NULL, 'POST', 'http://127.0.0.1:9/', context => '[1]');
SELECT cc.http_request('flow', '00000000-0000-0000-0000-00000000ffff', 'POST', 'http://127.0.0.1:9/');

BEGIN;
INSERT INTO cc.calls (id, direction, state) VALUES ('00000000-0000-0000-0000-000000000001', 'inbound', 'ivr');
INSERT INTO cc.legs (id, call_id, kind, direction) VALUES
    ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-000000000001', 'customer', 'inbound');
-- The flow asks for a URL (2 attempts): queued, an http.requested event
-- (the URL without its query string: it may hold a token).
SELECT cc.http_request('flow', '00000000-0000-0000-0000-000000000001', 'post', 'http://127.0.0.1:9/lookup?key=secret',
                       '{"X-Token": "abc"}', '{"caller": "0611111111"}', 3000, 2, '{"node": "http1"}') AS req \gset
SELECT purpose, method, state, attempts, max_attempts, context FROM cc.http_requests WHERE id = :'req';
SELECT data - 'request' AS data FROM cc.events WHERE type = 'http.requested';
SELECT attempt, method, url, regexp_replace(array_to_string(headers, ' | '), '[0-9a-f-]{36}', '<uuid>', 'g') AS headers,
       body, timeout_ms
  FROM cc.http_requests_claim(10);
-- The first attempt gets 503: retried after 125 to 250 ms (http.backoff_base_ms 250).
SELECT cc.http_request_done(:'req', 503, '{"retry-after": "x"}', 'busy', NULL, 40);
SELECT state, attempts, next_attempt_at - clock_timestamp() BETWEEN interval '0' AND interval '250 ms' AS backed_off
  FROM cc.http_requests WHERE id = :'req';
-- A stand-in for the flow's hook (the IVR engineer builds the real one):
-- it speaks the name found in the answer, on no leg in particular.
CREATE OR REPLACE FUNCTION cc.flow_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT jsonb_build_array(jsonb_build_object('type', 'play', 'tts', 'hello ' || (answer #>> '{json,name}'),
                                                'tag', answer->>'status' || '/' || (answer->>'attempts')),
                             '"not an action"'::jsonb);
$$;
UPDATE cc.http_requests SET next_attempt_at = now() WHERE id = :'req';
SELECT attempt FROM cc.http_requests_claim(10);
SELECT cc.http_request_done(:'req', 200, '{"content-type": "application/json"}', '{"name": "Ann"}', NULL, 35);
SELECT state, attempts, status, response_body, duration_ms, finished_at IS NOT NULL AS finished FROM cc.http_requests WHERE id = :'req';
SELECT attempt, http_status, duration_ms, error FROM cc.http_request_attempts WHERE request_id = :'req' ORDER BY attempt;
SELECT type, data - 'request' AS data FROM cc.events WHERE type LIKE 'http.%' ORDER BY seq;
-- The hook's actions reach cc sip as a call_actions command, on the
-- customer leg by default.
SELECT kind, call_id, args FROM cc.commands WHERE kind = 'call_actions';
-- A late or repeated answer changes nothing.
SELECT cc.http_request_done(:'req', 500, '{}', 'late', NULL, 1);
SELECT state, status FROM cc.http_requests WHERE id = :'req';

-- A hook that fails: the answer is kept, the error recorded and an event says so.
CREATE OR REPLACE FUNCTION cc.flow_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'flow broke'; END; $$;
SELECT cc.http_request('bot', '00000000-0000-0000-0000-000000000001', 'GET', 'http://127.0.0.1:9/bot') AS req2 \gset
SELECT count(*) FROM cc.http_requests_claim(10);
SET client_min_messages = error;  -- the WARNING names the request, whose id changes every run
SELECT cc.http_request_done(:'req2', NULL, NULL, NULL, 'Failed to connect to 127.0.0.1 port 9: Connection refused', 2);
RESET client_min_messages;
SELECT state, status, error, hook_error FROM cc.http_requests WHERE id = :'req2';
SELECT type, data->>'error' AS error FROM cc.events WHERE type IN ('http.failed', 'http.hook_failed') ORDER BY seq;

-- A request nobody waits for (purpose callback, no call): the event only.
SELECT cc.http_request('callback', NULL, 'POST', 'http://127.0.0.1:9/cb', body => '{"digits": "1234"}') AS req3 \gset
SELECT count(*) FROM cc.http_requests_claim(10);
SELECT cc.http_request_done(:'req3', 204, '{}', '', NULL, 3);
SELECT state, status FROM cc.http_requests WHERE id = :'req3';

-- A request whose cc http died is taken back: its attempt recorded as
-- interrupted and made again (attempts remain) or failed (none remain).
SELECT cc.http_request('preferred_agents', '00000000-0000-0000-0000-000000000001', 'POST', 'http://127.0.0.1:9/pa',
                       max_attempts => 2) AS req4 \gset
SELECT count(*) FROM cc.http_requests_claim(10);
UPDATE cc.http_requests SET claimed_pid = 1 WHERE id = :'req4';
SELECT cc.http_recover() AS recovered;
SELECT state, attempts, error FROM cc.http_requests WHERE id = :'req4';
ROLLBACK;

-- The headers of HTTP requests may carry tokens: cc_admin reads them, the
-- other roles read the rest of the table.
SELECT r AS role, has_column_privilege(r, 'cc.http_requests', 'headers', 'SELECT') AS headers,
       has_column_privilege(r, 'cc.http_requests', 'status', 'SELECT') AS status
  FROM unnest(ARRAY['cc_admin', 'cc_app', 'cc_agent', 'cc_reporting']) AS r ORDER BY 1;
