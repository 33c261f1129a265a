-- 121_webhooks.sql: webhook subscriptions turn events into deliveries.
--
-- A trigger on cc.events inserts one cc.webhook_outbox row per enabled
-- subscription whose event_types match, in the event's own transaction: a
-- committed event is never without its deliveries, a rolled-back one never
-- has any.  cc http claims due deliveries (cc.webhook_deliveries_claim),
-- posts them (JSON body, HMAC-SHA256 signature, idempotency key) and
-- records every attempt (cc.webhook_deliveries_record), which decides what
-- comes next: delivered (2xx), retried with exponential back-off and
-- jitter (5xx, 408, 429, timeouts, connection errors; 408/429/503 honour
-- Retry-After), dead (another status, or max_attempts reached).
-- Deliveries with the same order key (the call, else the agent) reach a
-- webhook one at a time in event order: the later ones are queued as
-- waiting and the next becomes pending when the one ahead is delivered or
-- dead (a dead one no longer holds the next back).  Receivers and signatures: docs/events.md.

INSERT INTO cc.settings (key, value, description) VALUES
    ('webhooks.backoff_base_ms', '1000', 'First retry of a webhook delivery after about this many ms (0.5x to 1x), doubling with each attempt.'),
    ('webhooks.backoff_max_ms', '3600000', 'Longest wait between two attempts of a webhook delivery, in ms (Retry-After included).'),
    ('webhooks.max_in_flight', '200', 'Most deliveries of one webhook in flight at once, so a slow receiver cannot hold every connection.')
ON CONFLICT (key) DO NOTHING;

-- cc.event_type_matches says whether an event type matches a subscription's
-- patterns: '*' (everything), an exact type ('call.ended'), a prefix
-- ('call.*': call.ended, call.state_changed, ...) or a bare domain ('cdr'
-- is 'cdr.*').  In C (src/events_announce.c), where the events trigger
-- uses the same rule on its cache of the enabled webhooks' patterns.
CREATE FUNCTION cc.event_type_matches(type text, patterns text[]) RETURNS boolean
AS 'MODULE_PATHNAME', 'cc_event_type_matches'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION cc.event_type_matches(text, text[]) IS
    'Whether an event type matches any pattern: * (all), an exact type (call.ended), a prefix (call.*) or a bare domain (cdr = cdr.*).';

-- cc.webhooks_check refuses a subscription that could never work, with the
-- bad value named: patterns that match nothing, header names that are not
-- HTTP tokens, values with line breaks, headers cc http sets itself.
CREATE FUNCTION cc.webhooks_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    p text;
    k text;
    v jsonb;
BEGIN
    -- malformed columns are left to the table's CHECK constraints, which name them
    FOREACH p IN ARRAY coalesce(NEW.event_types, '{}') LOOP
        IF p IS NULL OR p !~ '^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$' THEN
            RAISE EXCEPTION 'cc: webhook "%": event type pattern "%" is not valid', NEW.name, p
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use *, an event type (call.ended), a prefix (call.*) or a domain (cdr); see docs/events.md.';
        END IF;
    END LOOP;
    FOR k, v IN SELECT * FROM jsonb_each(CASE WHEN jsonb_typeof(NEW.headers) = 'object' THEN NEW.headers ELSE '{}' END) LOOP
        IF k !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,100}$' THEN
            RAISE EXCEPTION 'cc: webhook "%": header name "%" is not an HTTP token', NEW.name, k
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Header names are letters, digits and !#$%&''*+.^_`|~- .';
        END IF;
        IF lower(k) IN ('content-type', 'content-length', 'host', 'idempotency-key', 'authorization',
                        'transfer-encoding', 'expect', 'user-agent')
           OR lower(k) LIKE 'x-cc-%' THEN
            RAISE EXCEPTION 'cc: webhook "%": header "%" is set by cc http', NEW.name, k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Content-Type, Idempotency-Key, Authorization (use auth), User-Agent and X-CC-* are set for every delivery.';
        END IF;
        IF jsonb_typeof(v) <> 'string' OR v #>> '{}' ~ '[\r\n\x01-\x08\x0b\x0c\x0e-\x1f]' OR length(v #>> '{}') > 4000 THEN
            RAISE EXCEPTION 'cc: webhook "%": value of header "%" must be a string of at most 4000 characters without control characters', NEW.name, k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    IF NEW.auth_username ~ '[:\r\n]' OR NEW.auth_secret ~ '[\r\n]' THEN
        RAISE EXCEPTION 'cc: webhook "%": credentials must not contain line breaks (nor a colon in the user name)', NEW.name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION cc.webhooks_check() IS
    'Trigger: refuses a webhook whose event type patterns, extra headers or credentials cc http could not use, naming the bad value.';
CREATE TRIGGER webhooks_check BEFORE INSERT OR UPDATE ON cc.webhooks
    FOR EACH ROW EXECUTE FUNCTION cc.webhooks_check();

CREATE FUNCTION cc.event_payload(e cc.events) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
               'id', e.id, 'seq', e.seq, 'type', e.type, 'at', e.at, 'site', e.site,
               'call_id', e.call_id, 'leg_id', e.leg_id, 'agent_id', e.agent_id,
               'queue_id', e.queue_id, 'command_id', e.command_id))
           || jsonb_build_object('data', e.data);
$$;
COMMENT ON FUNCTION cc.event_payload(cc.events) IS
    'The JSON body a webhook receives for an event: id, seq, type, at, site, the ids that apply, data.';

-- cc.event_deliver queues an event for every enabled webhook whose
-- event_types match it.  Not SECURITY DEFINER: whoever may insert an event
-- (the owner, the workers, the SECURITY DEFINER functions) may queue its
-- deliveries.
CREATE FUNCTION cc.event_deliver(e cc.events) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    w       record;
    key     uuid := coalesce(e.call_id, e.agent_id);
    payload jsonb;
    id      uuid;
    state   text;
BEGIN
    FOR w IN SELECT h.id FROM cc.webhooks AS h
              WHERE h.enabled AND cc.event_type_matches(e.type, h.event_types)
    LOOP
        payload := coalesce(payload, cc.event_payload(e));
        id := pg_catalog.gen_random_uuid();
        -- behind an unfinished delivery of the same call (else agent): wait
        state := CASE WHEN key IS NOT NULL AND EXISTS (
                          SELECT 1 FROM cc.webhook_outbox AS p
                           WHERE p.webhook_id = w.id AND p.order_key = key
                             AND p.state IN ('waiting', 'pending', 'delivering'))
                      THEN 'waiting' ELSE 'pending' END;
        INSERT INTO cc.webhook_outbox (id, idempotency_key, webhook_id, event_id, event_seq, event_type, call_id,
                                       order_key, payload, state)
        VALUES (id, id::text, w.id, e.id, e.seq, e.type, e.call_id, key, payload, state);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION cc.event_deliver(cc.events) IS
    'Queues a delivery of an event to every enabled webhook whose event_types match (pending, or waiting when an earlier delivery of the same call, else agent, to that webhook is not finished). Called by the events trigger.';

-- cc.event_notification is the payload of an event's cc_events
-- notification: seq, type, at, the ids that are set, and data when its
-- text is at most 4000 bytes (a payload must stay under 8000 bytes; the
-- data's text is what counts, its stored size says nothing of it).
CREATE FUNCTION cc.event_notification(e cc.events) RETURNS text
AS 'MODULE_PATHNAME', 'cc_event_notification'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cc.event_notification(cc.events) IS
    'The cc_events notification of an event: a JSON object with seq, type, at, the ids that are set, and data unless its text is above 4000 bytes.';

-- cc.events_announce is the only trigger on cc.events, in C
-- (src/events_announce.c): a call appends some sixteen events, and in
-- PL/pgSQL this trigger was a tenth of cc sip's CPU per call.  It sends the
-- notification, calls cc.event_deliver only when an enabled webhook's
-- patterns match the type (the patterns are cached per backend;
-- cc.webhooks_changed invalidates them), and hands a caller back when a
-- self-service flow ends (cc.self_service_on_flow_done,
-- 134_call_control_events.sql).
CREATE FUNCTION cc.events_announce() RETURNS trigger
AS 'MODULE_PATHNAME', 'cc_events_announce'
LANGUAGE C;
COMMENT ON FUNCTION cc.events_announce() IS
    'Trigger (the only one on cc.events): announces each new event on channel cc_events (payload: cc.event_notification), queues its webhook deliveries (cc.event_deliver) when an enabled webhook subscribes to its type, and hands a caller back when a self-service flow ends (cc.self_service_on_flow_done).';
CREATE TRIGGER events_announce AFTER INSERT ON cc.events
    FOR EACH ROW EXECUTE FUNCTION cc.events_announce();

CREATE FUNCTION cc.webhooks_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'cc_webhooks_changed'
LANGUAGE C;
COMMENT ON FUNCTION cc.webhooks_changed() IS
    'Trigger: any change of cc.webhooks invalidates every backend''s cache of the enabled webhooks'' patterns (read by cc.events_announce) when it commits.';
CREATE TRIGGER webhooks_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cc.webhooks
    FOR EACH STATEMENT EXECUTE FUNCTION cc.webhooks_changed();

CREATE FUNCTION cc.http_notify() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_notify('cc_http', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.http_notify() IS
    'Trigger: NOTIFY cc_http once per inserting statement (delivered on commit), so cc http claims at once.';
CREATE TRIGGER webhook_outbox_notify AFTER INSERT ON cc.webhook_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION cc.http_notify();

CREATE FUNCTION cc.webhook_backoff_ms(attempt integer) RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, cc
AS $$
    -- equal jitter: between half and all of base * 2^(attempt - 1), capped
    SELECT (d / 2 + random() * d / 2)::integer
      FROM (SELECT least(cc.setting_int('webhooks.backoff_max_ms', 3600000)::double precision,
                         cc.setting_int('webhooks.backoff_base_ms', 1000) * power(2::double precision, greatest(attempt, 1) - 1)) AS d) AS x;
$$;
COMMENT ON FUNCTION cc.webhook_backoff_ms(integer) IS
    'Wait before the next attempt after attempt N failed: a random value between half and all of webhooks.backoff_base_ms * 2^(N-1), at most webhooks.backoff_max_ms.';

-- cc.webhook_headers lists the request headers of a delivery attempt (the
-- timestamp and signature are added by cc http when it sends).
CREATE FUNCTION cc.webhook_headers(w cc.webhooks, o cc.webhook_outbox) RETURNS text[]
LANGUAGE sql STABLE
AS $$
    SELECT ARRAY['Content-Type: application/json',
                 'Idempotency-Key: ' || o.idempotency_key,
                 'X-CC-Delivery: ' || o.id,
                 'X-CC-Event: ' || o.event_type,
                 'X-CC-Attempt: ' || o.attempts,
                 'X-CC-Webhook: ' || w.name]
           || CASE w.auth
                  WHEN 'basic' THEN ARRAY['Authorization: Basic '
                                          || translate(encode(convert_to(w.auth_username || ':' || w.auth_secret, 'UTF8'), 'base64'), E'\n', '')]
                  WHEN 'bearer' THEN ARRAY['Authorization: Bearer ' || w.auth_secret]
                  ELSE '{}'::text[] END
           || coalesce((SELECT array_agg(h.key || ': ' || h.value ORDER BY h.key) FROM jsonb_each_text(w.headers) AS h), '{}');
$$;
COMMENT ON FUNCTION cc.webhook_headers(cc.webhooks, cc.webhook_outbox) IS
    'Request headers of a delivery: Content-Type, Idempotency-Key, X-CC-Delivery, X-CC-Event, X-CC-Attempt, X-CC-Webhook, Authorization (basic or bearer) and the webhook''s own headers.';

-- cc.webhook_order_advance makes pending the first unfinished delivery of
-- an order key when it is waiting: one index probe, whatever the planner
-- thinks of the table's size (cc http calls this with outboxes that grow by
-- thousands of rows between two ANALYZEs).
CREATE FUNCTION cc.webhook_order_advance(webhook uuid, key uuid) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    head cc.webhook_outbox;
BEGIN
    SELECT * INTO head FROM cc.webhook_outbox AS h
     WHERE h.webhook_id = webhook AND h.order_key = key AND h.state IN ('waiting', 'pending', 'delivering')
     ORDER BY h.event_seq LIMIT 1;
    IF head.state IS DISTINCT FROM 'waiting' THEN
        RETURN false;
    END IF;
    UPDATE cc.webhook_outbox AS o
       SET state = 'pending', next_attempt_at = least(o.next_attempt_at, clock_timestamp())
     WHERE o.id = head.id;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION cc.webhook_order_advance(uuid, uuid) IS
    'Makes pending the first unfinished delivery of an order key (call, else agent) to a webhook if it is waiting; true if it did.';

CREATE FUNCTION cc.webhook_deliveries_unblock() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    k record;
    n integer := 0;
BEGIN
    -- the first waiting delivery of each order key with nothing unfinished
    -- ahead of it becomes pending (a delivery queued while the one ahead of
    -- it was being recorded can miss its promotion; this catches it)
    FOR k IN SELECT DISTINCT w.webhook_id, w.order_key FROM cc.webhook_outbox AS w WHERE w.state = 'waiting' LOOP
        IF cc.webhook_order_advance(k.webhook_id, k.order_key) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.webhook_deliveries_unblock() IS
    'Makes pending the first waiting delivery of each order key that has no pending or delivering one; returns how many. cc http runs it with its periodic rescan (recording a delivery promotes the next one by itself).';

CREATE FUNCTION cc.webhook_deliveries_claim(max_deliveries integer DEFAULT 200, sweep boolean DEFAULT false)
RETURNS TABLE (id uuid, attempt integer, url text, body text, headers text[], secret text, timeout_ms integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    w     cc.webhooks;
    cap   integer := greatest(1, cc.setting_int('webhooks.max_in_flight', 200));
    room  integer;
    n     integer;
    left_ integer := max_deliveries;
BEGIN
    IF max_deliveries IS NULL OR max_deliveries < 1 OR max_deliveries > 10000 THEN
        RAISE EXCEPTION 'cc: max_deliveries % is out of range', max_deliveries
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Claim from 1 to 10000 deliveries at a time.';
    END IF;
    IF sweep THEN
        PERFORM cc.webhook_deliveries_unblock();
    END IF;
    FOR w IN
        SELECT * FROM cc.webhooks AS wh
         WHERE wh.enabled
           AND EXISTS (SELECT 1 FROM cc.webhook_outbox AS o
                        WHERE o.webhook_id = wh.id AND o.state = 'pending' AND o.next_attempt_at <= clock_timestamp())
         ORDER BY random()    -- no subscription always first
    LOOP
        EXIT WHEN left_ <= 0;
        room := least(left_, cap - (SELECT count(*) FROM cc.webhook_outbox AS o
                                     WHERE o.webhook_id = w.id AND o.state = 'delivering'));
        CONTINUE WHEN room <= 0;
        RETURN QUERY
        UPDATE cc.webhook_outbox AS o
           SET state = 'delivering', attempts = o.attempts + 1,
               claimed_at = clock_timestamp(), claimed_pid = pg_backend_pid()
         WHERE o.id = ANY (ARRAY(
                   SELECT p.id FROM cc.webhook_outbox AS p
                    WHERE p.webhook_id = w.id AND p.state = 'pending' AND p.next_attempt_at <= clock_timestamp()
                    ORDER BY p.next_attempt_at
                    LIMIT room
                      FOR UPDATE SKIP LOCKED))
        RETURNING o.id, o.attempts, w.url, o.payload::text, cc.webhook_headers(w, o), w.secret, w.timeout_ms;
        GET DIAGNOSTICS n = ROW_COUNT;
        left_ := left_ - n;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION cc.webhook_deliveries_claim(integer, boolean) IS
    'cc http: claims up to max_deliveries due pending deliveries of enabled webhooks (FOR UPDATE SKIP LOCKED; waiting ones are behind another of their call), at most webhooks.max_in_flight per webhook; marks them delivering and returns what to send. sweep: run cc.webhook_deliveries_unblock() first.';

CREATE FUNCTION cc.webhook_deliveries_record(results jsonb) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    ids      uuid[];
    webhooks uuid[];
    keys     uuid[];
    n        integer;
    i        integer;
BEGIN
    IF results IS NULL OR jsonb_typeof(results) <> 'array' THEN
        RAISE EXCEPTION 'cc: results must be a JSON array, not %', results
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Each element: {"id", "attempt", "status", "error", "duration_ms", "retry_after_s", "started_at"}.';
    END IF;
    -- The deliveries are reached by primary key (id = ANY), so the plan does
    -- not depend on how fresh the statistics of a fast-growing table are.
    ids := ARRAY(SELECT (e->>'id')::uuid FROM jsonb_array_elements(results) AS e);
    WITH x AS (
        SELECT y.id, y.attempt,
               CASE WHEN y.status BETWEEN 100 AND 599 THEN y.status END AS status,
               CASE WHEN y.status IS NOT NULL AND y.status NOT BETWEEN 100 AND 599
                    THEN concat_ws('; ', y.error, 'invalid HTTP status ' || y.status) ELSE y.error END AS error,
               CASE WHEN y.duration_ms IS NOT NULL THEN greatest(y.duration_ms, 0) END AS duration_ms,
               CASE WHEN y.retry_after_s IS NOT NULL THEN least(greatest(y.retry_after_s, 0), 86400) END AS retry_after_s,
               coalesce(y.started_at, clock_timestamp()) AS started_at,
               coalesce(y.retry_now, false) AS retry_now
          FROM jsonb_to_recordset(results) AS y (id uuid, attempt integer, status integer, error text,
                                                  duration_ms integer, retry_after_s integer,
                                                  started_at timestamptz, retry_now boolean)
    ), cur AS (
        SELECT x.*, o.webhook_id, o.order_key,
               CASE WHEN x.status BETWEEN 200 AND 299 THEN 'delivered'
                    WHEN x.status IS NULL OR x.status >= 500 OR x.status IN (408, 429) THEN
                        CASE WHEN x.attempt >= w.max_attempts THEN 'dead' ELSE 'pending' END
                    ELSE 'dead' END AS next_state
          FROM cc.webhook_outbox AS o
          JOIN x ON x.id = o.id
          JOIN cc.webhooks AS w ON w.id = o.webhook_id
         WHERE o.id = ANY (ids) AND o.state = 'delivering' AND o.attempts = x.attempt
    ), attempts AS (
        INSERT INTO cc.webhook_attempts (outbox_id, attempt, started_at, duration_ms, http_status, error, retry_after_s)
        SELECT c.id, c.attempt, c.started_at, c.duration_ms, c.status, c.error, c.retry_after_s FROM cur AS c
        ON CONFLICT (outbox_id, attempt) DO NOTHING
    ), moved AS (
        UPDATE cc.webhook_outbox AS o
           SET state = c.next_state,
               delivered_at = CASE WHEN c.next_state = 'delivered' THEN clock_timestamp() END,
               next_attempt_at = CASE
                   WHEN c.next_state <> 'pending' THEN o.next_attempt_at
                   WHEN c.retry_now THEN clock_timestamp()
                   WHEN c.retry_after_s IS NOT NULL AND c.status IN (408, 429, 503)
                       THEN clock_timestamp() + least(c.retry_after_s * 1000, cc.setting_int('webhooks.backoff_max_ms', 3600000))
                                                * interval '1 millisecond'
                   ELSE clock_timestamp() + cc.webhook_backoff_ms(c.attempt) * interval '1 millisecond' END,
               last_status = c.status,
               last_error = c.error,
               claimed_at = NULL,
               claimed_pid = NULL
          FROM cur AS c
         WHERE o.id = ANY (ids) AND o.id = c.id
        RETURNING c.webhook_id, c.order_key, c.next_state
    )
    SELECT count(*),
           array_agg(m.webhook_id) FILTER (WHERE m.next_state IN ('delivered', 'dead') AND m.order_key IS NOT NULL),
           array_agg(m.order_key) FILTER (WHERE m.next_state IN ('delivered', 'dead') AND m.order_key IS NOT NULL)
      INTO n, webhooks, keys
      FROM moved AS m;
    -- a finished delivery lets the next one of its order key go
    FOR i IN 1 .. coalesce(cardinality(keys), 0) LOOP
        PERFORM cc.webhook_order_advance(webhooks[i], keys[i]);
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.webhook_deliveries_record(jsonb) IS
    'cc http: records attempts ([{id, attempt, status, error, duration_ms, retry_after_s, started_at, retry_now}]) in cc.webhook_attempts and moves each delivery on: delivered (2xx), pending again after back-off or Retry-After (no answer, 5xx, 408, 429), dead (other statuses, or max_attempts reached), and lets the next waiting delivery of a finished one''s order key go. Returns how many it moved; a result for a delivery no longer claimed is ignored.';

CREATE FUNCTION cc.webhook_redeliver(delivery uuid) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    UPDATE cc.webhook_outbox AS o
       SET state = 'pending', attempts = 0, next_attempt_at = clock_timestamp(), delivered_at = NULL,
           claimed_at = NULL, claimed_pid = NULL
     WHERE o.id = delivery AND o.state IN ('delivered', 'dead');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: delivery % is not delivered or dead', delivery
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only a finished delivery (delivered or dead) can be sent again; see cc.webhook_outbox.';
    END IF;
    PERFORM pg_notify('cc_http', 'webhook_outbox');
    RETURN delivery;
END;
$$;
COMMENT ON FUNCTION cc.webhook_redeliver(uuid) IS
    'Sends a delivered or dead delivery again (same body and idempotency key, attempts counted from 0); returns its id.';

CREATE VIEW cc.webhook_stats AS
SELECT w.id AS webhook_id, w.name, w.enabled,
       count(*) FILTER (WHERE o.state = 'waiting') AS waiting,
       count(*) FILTER (WHERE o.state = 'pending') AS pending,
       count(*) FILTER (WHERE o.state = 'delivering') AS delivering,
       count(*) FILTER (WHERE o.state = 'delivered') AS delivered,
       count(*) FILTER (WHERE o.state = 'dead') AS dead,
       min(o.created_at) FILTER (WHERE o.state IN ('waiting', 'pending', 'delivering')) AS oldest_waiting_at,
       max(o.delivered_at) AS last_delivered_at,
       (SELECT o2.last_error FROM cc.webhook_outbox AS o2
         WHERE o2.webhook_id = w.id AND o2.last_error IS NOT NULL
         ORDER BY o2.created_at DESC LIMIT 1) AS last_error
  FROM cc.webhooks AS w LEFT JOIN cc.webhook_outbox AS o ON o.webhook_id = w.id
 GROUP BY w.id, w.name, w.enabled;
COMMENT ON VIEW cc.webhook_stats IS 'Per webhook: deliveries pending, in flight, delivered and dead, the oldest still waiting, the last success and the last error.';
COMMENT ON COLUMN cc.webhook_stats.webhook_id IS 'Webhook id.';
COMMENT ON COLUMN cc.webhook_stats.name IS 'Webhook name.';
COMMENT ON COLUMN cc.webhook_stats.enabled IS 'Whether the webhook queues and receives deliveries.';
COMMENT ON COLUMN cc.webhook_stats.waiting IS 'Deliveries behind an earlier one of their call (or agent).';
COMMENT ON COLUMN cc.webhook_stats.pending IS 'Deliveries waiting for their (next) attempt.';
COMMENT ON COLUMN cc.webhook_stats.delivering IS 'Deliveries in flight.';
COMMENT ON COLUMN cc.webhook_stats.delivered IS 'Deliveries answered 2xx (until retention removes them).';
COMMENT ON COLUMN cc.webhook_stats.dead IS 'Deliveries given up (max attempts, or a final status).';
COMMENT ON COLUMN cc.webhook_stats.oldest_waiting_at IS 'When the oldest delivery not yet finished was queued.';
COMMENT ON COLUMN cc.webhook_stats.last_delivered_at IS 'When the last delivery succeeded.';
COMMENT ON COLUMN cc.webhook_stats.last_error IS 'Error of the most recent delivery that had one.';
