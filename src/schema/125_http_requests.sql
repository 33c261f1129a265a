-- 125_http_requests.sql: outbound HTTP requests other than webhook
-- deliveries (IVR HTTP nodes, bot turns, the preferred-agents and
-- number-mapping endpoints, self-service callbacks), made by cc http
-- (docs/call-model.md).
--
-- A decision calls cc.http_request(...) inside its transaction; the row is
-- claimed by cc http after commit.  After each attempt cc http calls
-- cc.http_request_done(...), which locks the call (the locking rule of the
-- call model), records the attempt, and either schedules the next attempt
-- (no answer, 5xx, 408, 429, while attempts remain) or finishes the
-- request: the answer {status, headers, body, json, error, attempts} goes
-- to the purpose's hook (flow and bot: cc.flow_on_http; preferred_agents:
-- cc.queue_on_http), whose actions reach cc sip as a call_actions command,
-- and an http.answered or http.failed event records the result.
-- cc.http_recover takes back what a dead cc http left running, and the
-- same for webhook deliveries.

INSERT INTO cc.settings (key, value, description) VALUES
    ('http.backoff_base_ms', '250', 'First retry of an HTTP request of a flow after about this many ms (0.5x to 1x), doubling with each attempt (a caller is waiting).'),
    ('http.backoff_max_ms', '5000', 'Longest wait between two attempts of an HTTP request of a flow, in ms.')
ON CONFLICT (key) DO NOTHING;

CREATE TABLE cc.http_requests (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    site             text        NOT NULL DEFAULT cc.site_name(),
    purpose          text        NOT NULL,
    call_id          uuid        REFERENCES cc.calls (id) ON DELETE SET NULL,
    method           text        NOT NULL DEFAULT 'POST',
    url              text        NOT NULL,
    headers          jsonb       NOT NULL DEFAULT '{}',
    body             text,
    timeout_ms       integer     NOT NULL DEFAULT 3000,
    max_attempts     integer     NOT NULL DEFAULT 1,
    context          jsonb       NOT NULL DEFAULT '{}',
    state            text        NOT NULL DEFAULT 'pending',
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    claimed_at       timestamptz,
    claimed_pid      integer,
    status           integer,
    response_headers jsonb,
    response_body    text,
    error            text,
    duration_ms      integer,
    hook_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    CONSTRAINT http_requests_purpose_in_flow_bot_preferred_agents_etc
        CHECK (purpose IN ('flow', 'bot', 'preferred_agents', 'number_mapping', 'callback')),
    CONSTRAINT http_requests_method_in_get_post_put_patch_delete
        CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
    CONSTRAINT http_requests_url_http_or_https
        CHECK (url ~ '^https?://[^[:space:]]+$'),
    CONSTRAINT http_requests_headers_is_a_json_object
        CHECK (jsonb_typeof(headers) = 'object'),
    CONSTRAINT http_requests_timeout_ms_100_to_60000
        CHECK (timeout_ms BETWEEN 100 AND 60000),
    CONSTRAINT http_requests_max_attempts_1_to_10
        CHECK (max_attempts BETWEEN 1 AND 10),
    CONSTRAINT http_requests_context_is_a_json_object
        CHECK (jsonb_typeof(context) = 'object'),
    CONSTRAINT http_requests_state_in_pending_running_done_failed
        CHECK (state IN ('pending', 'running', 'done', 'failed')),
    CONSTRAINT http_requests_attempts_not_negative
        CHECK (attempts >= 0),
    CONSTRAINT http_requests_running_has_claim
        CHECK (state <> 'running' OR (claimed_at IS NOT NULL AND claimed_pid IS NOT NULL)),
    CONSTRAINT http_requests_status_100_to_599
        CHECK (status BETWEEN 100 AND 599),
    CONSTRAINT http_requests_duration_ms_not_negative
        CHECK (duration_ms >= 0),
    CONSTRAINT http_requests_finished_iff_done_or_failed
        CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL))
);
COMMENT ON TABLE cc.http_requests IS
    'HTTP requests of the decisions (IVR HTTP nodes, bots, preferred agents, number mapping, callbacks), made by cc http; the answer goes to the purpose''s hook.';
COMMENT ON COLUMN cc.http_requests.id IS 'Request id (returned by cc.http_request, passed to the hook).';
COMMENT ON COLUMN cc.http_requests.site IS 'Site whose cc http makes the request.';
COMMENT ON COLUMN cc.http_requests.purpose IS 'Who asked, and so which hook gets the answer: flow, bot (cc.flow_on_http), preferred_agents (cc.queue_on_http), number_mapping, callback (no hook: the event only).';
COMMENT ON COLUMN cc.http_requests.call_id IS 'Call the request is for (locked while its answer is handled), if any.';
COMMENT ON COLUMN cc.http_requests.method IS 'GET, POST, PUT, PATCH or DELETE.';
COMMENT ON COLUMN cc.http_requests.url IS 'http:// or https:// URL.';
COMMENT ON COLUMN cc.http_requests.headers IS 'Request headers, a JSON object name -> string value (may hold credentials: readable by cc_admin only).';
COMMENT ON COLUMN cc.http_requests.body IS 'Request body (Content-Type application/json unless a header says otherwise).';
COMMENT ON COLUMN cc.http_requests.timeout_ms IS 'Time allowed for each attempt, 100 to 60000 ms.';
COMMENT ON COLUMN cc.http_requests.max_attempts IS 'Attempts before the request fails, 1 to 10 (the IVR HTTP node retries: 2).';
COMMENT ON COLUMN cc.http_requests.context IS 'What the requester needs to handle the answer (e.g. the flow node), a JSON object.';
COMMENT ON COLUMN cc.http_requests.state IS 'pending (waiting for an attempt), running (claimed by cc http), done (2xx), failed (another status, or no answer after max_attempts).';
COMMENT ON COLUMN cc.http_requests.attempts IS 'Attempts started so far.';
COMMENT ON COLUMN cc.http_requests.next_attempt_at IS 'When the next attempt is due.';
COMMENT ON COLUMN cc.http_requests.claimed_at IS 'When cc http claimed the current attempt.';
COMMENT ON COLUMN cc.http_requests.claimed_pid IS 'Process id of the cc http making the current attempt.';
COMMENT ON COLUMN cc.http_requests.status IS 'HTTP status of the final answer (100 to 599; NULL: none).';
COMMENT ON COLUMN cc.http_requests.response_headers IS 'Headers of the final answer, a JSON object (lowercase names).';
COMMENT ON COLUMN cc.http_requests.response_body IS 'Body of the final answer (at most 1 MB, UTF-8).';
COMMENT ON COLUMN cc.http_requests.error IS 'Transport error of the final attempt (timeout, connection refused, ...).';
COMMENT ON COLUMN cc.http_requests.duration_ms IS 'Time the final attempt took, in milliseconds.';
COMMENT ON COLUMN cc.http_requests.hook_error IS 'Error raised by the purpose''s hook while handling the answer (the answer is kept).';
COMMENT ON COLUMN cc.http_requests.created_at IS 'When the request was queued.';
COMMENT ON COLUMN cc.http_requests.finished_at IS 'When the request became done or failed.';
CREATE INDEX http_requests_due ON cc.http_requests (next_attempt_at) WHERE state = 'pending';
CREATE INDEX http_requests_running ON cc.http_requests (claimed_at) WHERE state = 'running';
CREATE INDEX http_requests_call ON cc.http_requests (call_id);
CREATE INDEX http_requests_finished ON cc.http_requests (finished_at) WHERE finished_at IS NOT NULL;
CREATE TRIGGER http_requests_notify AFTER INSERT ON cc.http_requests
    FOR EACH STATEMENT EXECUTE FUNCTION cc.http_notify();

CREATE TABLE cc.http_request_attempts (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    request_id  uuid        NOT NULL REFERENCES cc.http_requests (id) ON DELETE CASCADE,
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer,
    http_status integer,
    error       text,
    UNIQUE (request_id, attempt),
    CONSTRAINT http_request_attempts_attempt_at_least_1
        CHECK (attempt >= 1),
    CONSTRAINT http_request_attempts_duration_ms_not_negative
        CHECK (duration_ms >= 0),
    CONSTRAINT http_request_attempts_http_status_100_to_599
        CHECK (http_status BETWEEN 100 AND 599)
);
COMMENT ON TABLE cc.http_request_attempts IS 'Every attempt of an HTTP request: status, time taken, error.';
COMMENT ON COLUMN cc.http_request_attempts.id IS 'Attempt id.';
COMMENT ON COLUMN cc.http_request_attempts.request_id IS 'Request attempted.';
COMMENT ON COLUMN cc.http_request_attempts.attempt IS 'Attempt number, from 1.';
COMMENT ON COLUMN cc.http_request_attempts.started_at IS 'When the request was sent.';
COMMENT ON COLUMN cc.http_request_attempts.duration_ms IS 'Time until the answer or the error, in milliseconds.';
COMMENT ON COLUMN cc.http_request_attempts.http_status IS 'HTTP status received (100 to 599; NULL: none).';
COMMENT ON COLUMN cc.http_request_attempts.error IS 'Transport error (timeout, connection refused, ...).';

CREATE FUNCTION cc.http_request(purpose text, call uuid, method text, url text, headers jsonb DEFAULT '{}',
                                body text DEFAULT NULL, timeout_ms integer DEFAULT 3000,
                                max_attempts integer DEFAULT 1, context jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
    k  text;
    v  jsonb;
BEGIN
    IF purpose IS NULL OR purpose NOT IN ('flow', 'bot', 'preferred_agents', 'number_mapping', 'callback') THEN
        RAISE EXCEPTION 'cc: HTTP request purpose "%" is not known', purpose
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Purposes: flow, bot, preferred_agents, number_mapping, callback.';
    END IF;
    IF upper(method) IS NULL OR upper(method) NOT IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE') THEN
        RAISE EXCEPTION 'cc: HTTP method "%" is not allowed', method
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Methods: GET, POST, PUT, PATCH, DELETE.';
    END IF;
    IF url IS NULL OR url !~ '^https?://[^[:space:]/?#]+[^[:space:]]*$' OR length(url) > 8000 THEN
        RAISE EXCEPTION 'cc: URL "%" is not an http(s) URL', url
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an absolute http:// or https:// URL with a host, at most 8000 characters, without spaces.';
    END IF;
    IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
        RAISE EXCEPTION 'cc: HTTP headers % are not a JSON object', headers
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Headers are {"Name": "value", ...}.';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(coalesce(headers, '{}')) LOOP
        IF k !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,100}$' OR jsonb_typeof(v) <> 'string'
           OR v #>> '{}' ~ '[\r\n\x01-\x08\x0b\x0c\x0e-\x1f]' OR lower(k) IN ('content-length', 'host', 'transfer-encoding') THEN
            RAISE EXCEPTION 'cc: HTTP header "%" (%) cannot be sent', k, v
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A header name is an HTTP token (not Content-Length, Host, Transfer-Encoding); its value a string without control characters.';
        END IF;
    END LOOP;
    IF timeout_ms IS NULL OR timeout_ms NOT BETWEEN 100 AND 60000 THEN
        RAISE EXCEPTION 'cc: timeout_ms % is out of range', timeout_ms
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Allow 100 to 60000 ms per attempt.';
    END IF;
    IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 10 THEN
        RAISE EXCEPTION 'cc: max_attempts % is out of range', max_attempts
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Make 1 to 10 attempts.';
    END IF;
    IF context IS NOT NULL AND jsonb_typeof(context) <> 'object' THEN
        RAISE EXCEPTION 'cc: context % is not a JSON object', context
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The context is {"node": ..., ...}.';
    END IF;
    IF call IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cc.calls AS c WHERE c.id = call) THEN
        RAISE EXCEPTION 'cc: call % does not exist', call USING ERRCODE = 'foreign_key_violation';
    END IF;
    INSERT INTO cc.http_requests (purpose, call_id, method, url, headers, body, timeout_ms, max_attempts, context)
    VALUES (purpose, call, upper(method), url, coalesce(headers, '{}'), body, timeout_ms, max_attempts,
            coalesce(context, '{}'))
    RETURNING http_requests.id INTO id;
    PERFORM cc.event_append('http.requested',
        jsonb_build_object('request', id, 'purpose', purpose, 'method', upper(method),
                           'url', regexp_replace(url, '\?.*$', '')),
        call_id => call);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.http_request(text, uuid, text, text, jsonb, text, integer, integer, jsonb) IS
    'Queues an HTTP request for cc http (purpose: flow, bot, preferred_agents, number_mapping, callback); the answer goes to cc.http_request_done, which hands it to the purpose''s hook. Returns the request id.';

-- cc.http_request_headers lists the request headers of an attempt.
CREATE FUNCTION cc.http_request_headers(r cc.http_requests) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN r.body IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM jsonb_object_keys(r.headers) AS k WHERE lower(k) = 'content-type')
                THEN ARRAY['Content-Type: application/json'] ELSE '{}'::text[] END
           || ARRAY['X-CC-Request: ' || r.id, 'X-CC-Attempt: ' || r.attempts]
           || CASE WHEN r.call_id IS NOT NULL THEN ARRAY['X-CC-Call: ' || r.call_id] ELSE '{}'::text[] END
           || coalesce((SELECT array_agg(h.key || ': ' || h.value ORDER BY h.key) FROM jsonb_each_text(r.headers) AS h), '{}');
$$;
COMMENT ON FUNCTION cc.http_request_headers(cc.http_requests) IS
    'Request headers of an attempt: Content-Type application/json when a body is sent without one, X-CC-Request, X-CC-Attempt, X-CC-Call, and the request''s own headers.';

CREATE FUNCTION cc.http_requests_claim(max_requests integer DEFAULT 100)
RETURNS TABLE (id uuid, attempt integer, method text, url text, headers text[], body text, timeout_ms integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF max_requests IS NULL OR max_requests < 1 OR max_requests > 10000 THEN
        RAISE EXCEPTION 'cc: max_requests % is out of range', max_requests
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Claim from 1 to 10000 requests at a time.';
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT p.id FROM cc.http_requests AS p
         WHERE p.state = 'pending' AND p.next_attempt_at <= clock_timestamp()
         ORDER BY p.next_attempt_at
         LIMIT max_requests
           FOR UPDATE SKIP LOCKED)
    UPDATE cc.http_requests AS r
       SET state = 'running', attempts = r.attempts + 1, claimed_at = clock_timestamp(), claimed_pid = pg_backend_pid()
      FROM picked
     WHERE r.id = picked.id
    RETURNING r.id, r.attempts, r.method, r.url, cc.http_request_headers(r), r.body, r.timeout_ms;
END;
$$;
COMMENT ON FUNCTION cc.http_requests_claim(integer) IS
    'cc http: claims up to max_requests due HTTP requests (FOR UPDATE SKIP LOCKED), marks them running and returns what to send.';

-- cc.http_actions_for_call gives every action without a leg the call's
-- customer leg (the live one, else the last), as cc.call_actions_send needs.
CREATE FUNCTION cc.http_actions_for_call(call uuid, actions jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(jsonb_agg(CASE WHEN a ? 'leg' OR leg IS NULL THEN a
                                   ELSE a || jsonb_build_object('leg', leg) END ORDER BY n), '[]')
      FROM jsonb_array_elements(actions) WITH ORDINALITY AS x (a, n)
      LEFT JOIN LATERAL (SELECT l.id AS leg FROM cc.legs AS l
                          WHERE l.call_id = call AND l.kind = 'customer'
                          ORDER BY (l.state <> 'ended') DESC, l.created_at DESC LIMIT 1) AS cust ON true
     WHERE jsonb_typeof(a) = 'object';
$$;
COMMENT ON FUNCTION cc.http_actions_for_call(uuid, jsonb) IS
    'The actions with the call''s customer leg filled in where an action names no leg (non-object elements dropped).';

CREATE FUNCTION cc.http_request_done(request uuid, status integer, headers jsonb, body text, error text, duration_ms integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    r        cc.http_requests;
    c        cc.calls;
    answer   jsonb;
    parsed   jsonb;
    actions  jsonb;
    retry_s  integer;
    final    boolean;
    hook_err text;
BEGIN
    SELECT * INTO r FROM cc.http_requests AS q WHERE q.id = request;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: HTTP request % does not exist', request USING ERRCODE = 'no_data_found';
    END IF;
    -- the locking rule: the call first, then what belongs to it
    IF r.call_id IS NOT NULL THEN
        SELECT * INTO c FROM cc.calls AS k WHERE k.id = r.call_id FOR UPDATE;
    END IF;
    SELECT * INTO r FROM cc.http_requests AS q WHERE q.id = request FOR UPDATE;
    IF r.state <> 'running' THEN
        RETURN;   -- a late or repeated answer: the attempt was already settled
    END IF;
    IF status IS NOT NULL AND status NOT BETWEEN 100 AND 599 THEN
        error := concat_ws('; ', error, 'invalid HTTP status ' || status);
        status := NULL;
    END IF;
    IF headers IS NULL OR jsonb_typeof(headers) <> 'object' THEN
        headers := '{}';
    END IF;
    INSERT INTO cc.http_request_attempts (request_id, attempt, started_at, duration_ms, http_status, error)
    VALUES (r.id, r.attempts,
            clock_timestamp() - coalesce(greatest(duration_ms, 0), 0) * interval '1 millisecond',
            CASE WHEN duration_ms IS NOT NULL THEN greatest(duration_ms, 0) END, status, error)
    ON CONFLICT (request_id, attempt) DO NOTHING;

    final := NOT (status IS NULL OR status >= 500 OR status IN (408, 429)) OR r.attempts >= r.max_attempts;
    IF NOT final THEN
        retry_s := CASE WHEN status IN (408, 429, 503) AND headers->>'retry-after' ~ '^[0-9]{1,6}$'
                        THEN (headers->>'retry-after')::integer END;
        UPDATE cc.http_requests AS q
           SET state = 'pending', claimed_at = NULL, claimed_pid = NULL,
               next_attempt_at = clock_timestamp() + least(
                   coalesce(retry_s * 1000,
                            (SELECT (d / 2 + random() * d / 2)::integer
                               FROM (SELECT least(cc.setting_int('http.backoff_max_ms', 5000)::double precision,
                                                  cc.setting_int('http.backoff_base_ms', 250)
                                                  * power(2::double precision, r.attempts - 1)) AS d) AS x)),
                   cc.setting_int('http.backoff_max_ms', 5000)) * interval '1 millisecond',
               status = http_request_done.status, error = http_request_done.error
         WHERE q.id = r.id;
        RETURN;
    END IF;

    BEGIN
        parsed := body::jsonb;
    EXCEPTION WHEN OTHERS THEN
        parsed := NULL;
    END;
    answer := jsonb_build_object('status', status, 'headers', headers, 'body', body, 'error', error,
                                 'attempts', r.attempts, 'json', parsed);
    UPDATE cc.http_requests AS q
       SET state = CASE WHEN http_request_done.status BETWEEN 200 AND 299 THEN 'done' ELSE 'failed' END,
           claimed_at = NULL, claimed_pid = NULL, finished_at = clock_timestamp(),
           status = http_request_done.status, response_headers = http_request_done.headers,
           response_body = http_request_done.body,
           error = http_request_done.error,
           duration_ms = CASE WHEN http_request_done.duration_ms IS NOT NULL
                              THEN greatest(http_request_done.duration_ms, 0) END
     WHERE q.id = r.id;
    PERFORM cc.event_append(CASE WHEN status BETWEEN 200 AND 299 THEN 'http.answered' ELSE 'http.failed' END,
        jsonb_strip_nulls(jsonb_build_object('request', r.id, 'purpose', r.purpose, 'status', status,
                                             'error', error, 'attempts', r.attempts, 'duration_ms', duration_ms)),
        call_id => r.call_id);

    IF c.id IS NULL OR c.state = 'ended' OR r.purpose NOT IN ('flow', 'bot', 'preferred_agents') THEN
        RETURN;   -- nobody waits for this answer (any more)
    END IF;
    BEGIN
        actions := CASE r.purpose
                       WHEN 'preferred_agents' THEN cc.queue_on_http(c.id, r.id, answer)
                       ELSE cc.flow_on_http(c.id, r.id, answer) END;
        IF actions IS NOT NULL AND jsonb_typeof(actions) = 'array' AND jsonb_array_length(actions) > 0 THEN
            PERFORM cc.call_actions_send(c.id, cc.http_actions_for_call(c.id, actions));
        END IF;
    EXCEPTION WHEN OTHERS THEN
        hook_err := SQLERRM;
        RAISE WARNING 'cc: the % hook failed on the answer to HTTP request %: %', r.purpose, r.id, hook_err;
        UPDATE cc.http_requests AS q SET hook_error = hook_err WHERE q.id = r.id;
        PERFORM cc.event_append('http.hook_failed',
            jsonb_build_object('request', r.id, 'purpose', r.purpose, 'error', hook_err), call_id => r.call_id);
    END;
END;
$$;
COMMENT ON FUNCTION cc.http_request_done(uuid, integer, jsonb, text, text, integer) IS
    'cc http, after each attempt of an HTTP request: locks the call, records the attempt; retries (no answer, 5xx, 408, 429; Retry-After honoured) while attempts remain, else finishes the request, appends http.answered or http.failed and hands {status, headers, body, json, error, attempts} to the purpose''s hook, whose actions (customer leg by default) go to cc sip.';

CREATE FUNCTION cc.http_next_due_ms() RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT CASE WHEN min(t) IS NOT NULL
                THEN greatest(0, ceil(extract(epoch FROM min(t) - clock_timestamp()) * 1000))::bigint END
      FROM (SELECT min(o.next_attempt_at) AS t FROM cc.webhook_outbox AS o
             WHERE o.state = 'pending' AND o.next_attempt_at > clock_timestamp()
               AND EXISTS (SELECT 1 FROM cc.webhooks AS w WHERE w.id = o.webhook_id AND w.enabled)
            UNION ALL
            SELECT min(r.next_attempt_at) FROM cc.http_requests AS r
             WHERE r.state = 'pending' AND r.next_attempt_at > clock_timestamp()) AS x;
$$;
COMMENT ON FUNCTION cc.http_next_due_ms() IS
    'cc http: milliseconds until the next delivery or request attempt that waits for a later time (NULL: none); what is due now is claimed at once.';

CREATE FUNCTION cc.http_recover(starting boolean DEFAULT false) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    alive   integer[];
    results jsonb;
    req     uuid;
    n       integer := 0;
    grace   interval := interval '2 minutes';
BEGIN
    -- other cc http processes still running (another site's is not ours to judge)
    alive := ARRAY(SELECT a.pid FROM pg_stat_activity AS a
                    WHERE a.backend_type = 'cc http' AND a.pid <> pg_backend_pid());
    SELECT jsonb_agg(jsonb_build_object('id', o.id, 'attempt', o.attempts, 'retry_now', true,
                                        'error', 'interrupted: cc http stopped during the attempt'))
      INTO results
      FROM cc.webhook_outbox AS o JOIN cc.webhooks AS w ON w.id = o.webhook_id
     WHERE o.state = 'delivering'
       AND ((NOT (o.claimed_pid = ANY (alive)) AND (starting OR o.claimed_pid <> pg_backend_pid()))
            OR o.claimed_at < clock_timestamp() - w.timeout_ms * interval '1 millisecond' - grace);
    IF results IS NOT NULL THEN
        n := cc.webhook_deliveries_record(results);
    END IF;
    FOR req IN
        SELECT r.id FROM cc.http_requests AS r
         WHERE r.state = 'running' AND r.site = cc.site_name()
           AND ((NOT (r.claimed_pid = ANY (alive)) AND (starting OR r.claimed_pid <> pg_backend_pid()))
                OR r.claimed_at < clock_timestamp() - r.timeout_ms * interval '1 millisecond' - grace)
    LOOP
        PERFORM cc.http_request_done(req, NULL, NULL, NULL, 'interrupted: cc http stopped during the attempt', NULL);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.http_recover(boolean) IS
    'cc http, at start (starting) and every minute: deliveries and requests claimed by a cc http that is gone (or stuck past timeout + 2 minutes) get their interrupted attempt recorded and are retried at once or given up; returns how many.';
