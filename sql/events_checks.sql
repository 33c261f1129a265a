-- events_checks: every CHECK constraint of the tables of the events issue
-- that history_checks does not cover (http_requests, http_request_attempts).
--
-- Same shape as history_checks: for each constraint one change that obeys
-- the rule (ok) and one that breaks it (refused with the constraint's name),
-- each undone; then proof that every CHECK of these tables has a case.
-- All rolled back.
\set VERBOSITY terse
BEGIN;

INSERT INTO cc.http_requests (purpose, url) VALUES ('flow', 'https://crm.example/lookup')
RETURNING purpose, method, state, attempts, timeout_ms, max_attempts, headers, context;
INSERT INTO cc.http_request_attempts (request_id, attempt) SELECT id, 1 FROM cc.http_requests RETURNING attempt;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
('http_requests_purpose_in_flow_bot_preferred_agents_etc', 'purposes are flow, bot, preferred_agents, number_mapping, callback',
 $$UPDATE cc.http_requests SET purpose = 'number_mapping'$$,
 $$UPDATE cc.http_requests SET purpose = 'sms'$$),
('http_requests_method_in_get_post_put_patch_delete', 'methods are GET, POST, PUT, PATCH, DELETE',
 $$UPDATE cc.http_requests SET method = 'GET'$$,
 $$UPDATE cc.http_requests SET method = 'get'$$),
('http_requests_url_http_or_https', 'a URL is http:// or https://',
 $$UPDATE cc.http_requests SET url = 'http://127.0.0.1:8080/x?y=1'$$,
 $$UPDATE cc.http_requests SET url = 'gopher://example'$$),
('http_requests_headers_is_a_json_object', 'headers are a JSON object',
 $$UPDATE cc.http_requests SET headers = '{"X-Token": "t"}'$$,
 $$UPDATE cc.http_requests SET headers = '["X-Token: t"]'$$),
('http_requests_timeout_ms_100_to_60000', 'a timeout is 100 to 60000 ms',
 $$UPDATE cc.http_requests SET timeout_ms = 100$$,
 $$UPDATE cc.http_requests SET timeout_ms = 60001$$),
('http_requests_max_attempts_1_to_10', 'attempts are 1 to 10',
 $$UPDATE cc.http_requests SET max_attempts = 10$$,
 $$UPDATE cc.http_requests SET max_attempts = 0$$),
('http_requests_context_is_a_json_object', 'the context is a JSON object',
 $$UPDATE cc.http_requests SET context = '{"node": "n1"}'$$,
 $$UPDATE cc.http_requests SET context = 'null'$$),
('http_requests_state_in_pending_running_done_failed', 'states are pending, running, done, failed',
 $$UPDATE cc.http_requests SET state = 'failed', finished_at = now()$$,
 $$UPDATE cc.http_requests SET state = 'answered'$$),
('http_requests_attempts_not_negative', 'a count is not negative',
 $$UPDATE cc.http_requests SET attempts = 2$$,
 $$UPDATE cc.http_requests SET attempts = -1$$),
('http_requests_running_has_claim', 'a running request says when and by whom it was claimed',
 $$UPDATE cc.http_requests SET state = 'running', claimed_at = now(), claimed_pid = 4242$$,
 $$UPDATE cc.http_requests SET state = 'running'$$),
('http_requests_status_100_to_599', 'an HTTP status is 100 to 599',
 $$UPDATE cc.http_requests SET status = 204$$,
 $$UPDATE cc.http_requests SET status = 99$$),
('http_requests_duration_ms_not_negative', 'a duration is not negative',
 $$UPDATE cc.http_requests SET duration_ms = 0$$,
 $$UPDATE cc.http_requests SET duration_ms = -5$$),
('http_requests_finished_iff_done_or_failed', 'finished_at is set exactly when the request is done or failed',
 $$UPDATE cc.http_requests SET state = 'done', finished_at = now()$$,
 $$UPDATE cc.http_requests SET finished_at = now()$$),
('http_request_attempts_attempt_at_least_1', 'attempts are numbered from 1',
 $$UPDATE cc.http_request_attempts SET attempt = 2$$,
 $$UPDATE cc.http_request_attempts SET attempt = 0$$),
('http_request_attempts_duration_ms_not_negative', 'a duration is not negative',
 $$UPDATE cc.http_request_attempts SET duration_ms = 3000$$,
 $$UPDATE cc.http_request_attempts SET duration_ms = -1$$),
('http_request_attempts_http_status_100_to_599', 'an HTTP status is 100 to 599',
 $$UPDATE cc.http_request_attempts SET http_status = 503$$,
 $$UPDATE cc.http_request_attempts SET http_status = 600$$);

CREATE TEMP TABLE results AS
SELECT n, constraint_name, rule, regress.try(good) AS good, regress.try(bad) AS bad FROM cases;

-- Each rule: the good change is accepted, the bad one refused by its constraint.
SELECT rule, good, bad FROM results ORDER BY n;

-- No case where the good change failed or the bad one was refused for another reason.
SELECT n, constraint_name, good, bad FROM results
 WHERE good <> 'ok' OR bad NOT LIKE '%violates check constraint "' || constraint_name || '"%';

-- Every CHECK constraint of these tables has a case.
SELECT conrelid::regclass AS table_name, conname FROM pg_constraint
 WHERE contype = 'c'
   AND conrelid = ANY (ARRAY['cc.http_requests', 'cc.http_request_attempts']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

ROLLBACK;
