-- 135_number_privacy.sql: number privacy and the blacklist.
--
-- With privacy.numbers = mask, what agents see of a customer's number has
-- its middle four digits masked (138****5678); with map, the user id the
-- customer's mapping endpoint gave for it (PhoneToUID / UIDToPhone,
-- cc.number_mapping_request), masked while unknown.  Agents see calls
-- through cc.agent_calls, and the From of the INVITEs that ring them
-- (cc.call_dial_plan) follows the same rule.  The blacklist functions add
-- and remove numbers of cc.blacklisted_numbers (calls from them are refused
-- with 603 by cc.call_arrived); an agent can blacklist the caller of its
-- own call without seeing the number.

CREATE FUNCTION cc.number_privacy_mode() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
    SELECT CASE WHEN m IN ('off', 'mask', 'map') THEN m ELSE 'mask' END
      FROM (SELECT coalesce((SELECT s.value #>> '{}' FROM cc.settings AS s WHERE s.key = 'privacy.numbers'), 'off') AS m) AS x
$$;
COMMENT ON FUNCTION cc.number_privacy_mode() IS
    'The privacy.numbers setting: off, mask or map (an unknown value counts as mask, so a typo never shows numbers).';

CREATE FUNCTION cc.number_mask(number text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN d IS NULL OR length(d) < 7 THEN number
                ELSE p || left(d, (length(d) - 4) / 2) || '****' || right(d, length(d) - (length(d) - 4) / 2 - 4) END
      FROM (SELECT substring(number from '^(\+?)[0-9]+$') AS p, substring(number from '^\+?([0-9]+)$') AS d) AS x
$$;
COMMENT ON FUNCTION cc.number_mask(text) IS
    'A phone number with its middle four digits masked (13812345678 -> 138****5678); numbers under 7 digits (extensions) and anything not a number are left as they are.';

CREATE FUNCTION cc.number_display(number text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
    SELECT CASE cc.number_privacy_mode()
               WHEN 'off' THEN number
               WHEN 'map' THEN coalesce((SELECT m.uid FROM cc.number_mappings AS m WHERE m.number = number_display.number),
                                        cc.number_mask(number))
               ELSE cc.number_mask(number) END
$$;
COMMENT ON FUNCTION cc.number_display(text) IS
    'A customer''s number as agents may see it: as it is (privacy.numbers off), masked (mask), or its mapped user id, masked while unknown (map).';

CREATE FUNCTION cc.number_privacy_set(mode text, mapping_url text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF NOT pg_has_role(cc.session_role(), 'cc_admin', 'USAGE') THEN
        RAISE EXCEPTION 'cc: role % may not change number privacy', cc.session_role()
            USING ERRCODE = 'insufficient_privilege', HINT = 'Number privacy is configuration: cc_admin only.';
    END IF;
    IF mode IS NULL OR mode NOT IN ('off', 'mask', 'map') THEN
        RAISE EXCEPTION 'cc: number privacy mode "%" is unknown', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'off (agents see numbers), mask (middle four digits hidden) or map (user ids from the mapping endpoint).';
    END IF;
    IF mapping_url IS NOT NULL AND mapping_url !~ '^https?://[^[:space:]]+$' THEN
        RAISE EXCEPTION 'cc: mapping URL "%" is not an http(s) URL', mapping_url
            USING ERRCODE = 'invalid_parameter_value', HINT = 'E.g. https://crm.example.com/number-mapping.';
    END IF;
    IF mode = 'map' AND mapping_url IS NULL
       AND coalesce((SELECT jsonb_typeof(s.value) FROM cc.settings AS s WHERE s.key = 'privacy.mapping_url'), 'null') = 'null' THEN
        RAISE EXCEPTION 'cc: number privacy map needs a mapping URL'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give mapping_url, the customer''s PhoneToUID / UIDToPhone endpoint.';
    END IF;
    INSERT INTO cc.settings AS s (key, value) VALUES ('privacy.numbers', to_jsonb(mode))
    ON CONFLICT ON CONSTRAINT settings_key_key DO UPDATE SET value = EXCLUDED.value;
    IF mapping_url IS NOT NULL THEN
        INSERT INTO cc.settings AS s (key, value) VALUES ('privacy.mapping_url', to_jsonb(mapping_url))
        ON CONFLICT ON CONSTRAINT settings_key_key DO UPDATE SET value = EXCLUDED.value;
    END IF;
    PERFORM cc.event_append('privacy.changed', jsonb_strip_nulls(jsonb_build_object('mode', mode, 'mapping_url', mapping_url)));
END;
$$;
COMMENT ON FUNCTION cc.number_privacy_set(text, text) IS
    'Sets number privacy for agents: off, mask or map (with the mapping endpoint''s URL). cc_admin only.';

-- the mapping endpoint ----------------------------------------------------------------

CREATE FUNCTION cc.number_mapping_request(numbers text[], mode text DEFAULT 'PhoneToUID') RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    url text := (SELECT s.value #>> '{}' FROM cc.settings AS s WHERE s.key = 'privacy.mapping_url' AND jsonb_typeof(s.value) = 'string');
    bad text;
    req uuid;
BEGIN
    PERFORM cc.call_control_access(NULL, 'map numbers', false);
    IF mode IS NULL OR mode NOT IN ('PhoneToUID', 'UIDToPhone') THEN
        RAISE EXCEPTION 'cc: mapping mode "%" is unknown', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'PhoneToUID (numbers to user ids) or UIDToPhone (user ids to numbers).';
    END IF;
    IF numbers IS NULL OR cardinality(numbers) NOT BETWEEN 1 AND 100 THEN
        RAISE EXCEPTION 'cc: give 1 to 100 values to map, not %', coalesce(cardinality(numbers), 0)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Map at most 100 numbers or user ids per request.';
    END IF;
    SELECT v INTO bad FROM unnest(numbers) AS v
     WHERE v IS NULL OR CASE WHEN mode = 'PhoneToUID' THEN v !~ '^\+?[0-9]{1,32}$' ELSE char_length(v) NOT BETWEEN 1 AND 128 END
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cc: "%" is not a %', coalesce(bad, 'NULL'), CASE WHEN mode = 'PhoneToUID' THEN 'phone number' ELSE 'user id' END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN mode = 'PhoneToUID' THEN 'Numbers are 1 to 32 digits with an optional leading +.'
                              ELSE 'User ids are 1 to 128 characters.' END;
    END IF;
    IF url IS NULL THEN
        RAISE EXCEPTION 'cc: no mapping endpoint is configured'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'A cc_admin sets it: SELECT cc.number_privacy_set(''map'', ''https://...'').';
    END IF;
    req := cc.http_request('number_mapping', NULL, 'POST', url, '{"Content-Type": "application/json"}',
                           jsonb_build_object('Numbers', to_jsonb(numbers), 'Mode', mode)::text, 3000, 3,
                           jsonb_build_object('mode', mode));
    PERFORM cc.event_append('number_mapping.requested',
        jsonb_build_object('request', req, 'mode', mode, 'count', cardinality(numbers)));
    RETURN req;
END;
$$;
COMMENT ON FUNCTION cc.number_mapping_request(text[], text) IS
    'Asks the customer''s mapping endpoint (privacy.mapping_url) to map numbers to user ids (PhoneToUID) or back (UIDToPhone): POST {"Numbers": [...], "Mode": ...} through cc.http_request (purpose number_mapping); the answer {"Code", "Results": [{"Key", "Value"}]} fills cc.number_mappings. cc_app only. Returns the request id.';

CREATE FUNCTION cc.number_mapping_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    body jsonb;
    mode text;
    r    jsonb;
    num  text;
    mapped text;
    n    integer := 0;
BEGIN
    mode := coalesce(answer #>> '{context,mode}',
                     (SELECT e.data->>'mode' FROM cc.events AS e
                       WHERE e.type = 'number_mapping.requested' AND e.data->>'request' = request::text
                         AND e.at > now() - interval '1 day'   -- a request's answer comes within minutes
                       ORDER BY e.at DESC LIMIT 1),
                     'PhoneToUID');
    BEGIN
        body := CASE jsonb_typeof(answer->'body') WHEN 'string' THEN (answer->>'body')::jsonb
                                                  WHEN 'object' THEN answer->'body' END;
    EXCEPTION WHEN invalid_text_representation THEN
        body := NULL;
    END;
    IF body IS NULL OR jsonb_typeof(body->'Results') <> 'array'
       OR coalesce(body->>'Code', '0') NOT IN ('0', '200') OR coalesce(answer->>'error', '') <> '' THEN
        PERFORM cc.event_append('number_mapping.failed',
            jsonb_strip_nulls(jsonb_build_object('request', request, 'status', answer->'status', 'error', answer->'error',
                                                 'code', body->'Code')));
        RETURN '[]';
    END IF;
    FOR r IN SELECT * FROM jsonb_array_elements(body->'Results') LOOP
        num := CASE WHEN mode = 'PhoneToUID' THEN r->>'Key' ELSE r->>'Value' END;
        mapped := CASE WHEN mode = 'PhoneToUID' THEN r->>'Value' ELSE r->>'Key' END;
        CONTINUE WHEN num IS NULL OR num !~ '^\+?[0-9]{1,32}$' OR mapped IS NULL OR char_length(mapped) NOT BETWEEN 1 AND 128;
        DELETE FROM cc.number_mappings AS m WHERE m.uid = mapped AND m.number <> num;
        INSERT INTO cc.number_mappings AS m (number, uid, request_id) VALUES (num, mapped, request)
        ON CONFLICT ON CONSTRAINT number_mappings_pkey DO UPDATE SET uid = EXCLUDED.uid, request_id = EXCLUDED.request_id, updated_at = now();
        n := n + 1;
    END LOOP;
    PERFORM cc.event_append('number_mapping.received', jsonb_build_object('request', request, 'mode', mode, 'mapped', n));
    RETURN '[]';
END;
$$;
COMMENT ON FUNCTION cc.number_mapping_on_http(uuid, uuid, jsonb) IS
    'Hook for cc.http_request_done, purpose number_mapping: stores the endpoint''s {"Code": 0, "Results": [{"Key", "Value"}]} (answer.body, text or JSON) in cc.number_mappings, by the request''s mode; anything else is recorded as number_mapping.failed. Returns [].';

-- the blacklist ---------------------------------------------------------------------

CREATE FUNCTION cc.blacklist_write(number text, reason text, expires_at timestamptz) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF number IS NULL OR number !~ '^\+?[0-9]{1,32}$' THEN
        RAISE EXCEPTION 'cc: "%" is not a phone number', coalesce(number, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A number is 1 to 32 digits with an optional leading +.';
    END IF;
    IF expires_at IS NOT NULL AND expires_at <= now() THEN
        RAISE EXCEPTION 'cc: expiry % is not in the future', expires_at
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give a time to come, or NULL (never expires).';
    END IF;
    INSERT INTO cc.blacklisted_numbers AS b (number, reason, expires_at, added_by)
    VALUES (number, reason, expires_at, cc.session_role())
    ON CONFLICT ON CONSTRAINT blacklisted_numbers_number_key DO UPDATE
       SET reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, added_by = EXCLUDED.added_by, created_at = now()
    RETURNING b.id INTO id;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.blacklist_write(text, text, timestamptz) IS 'Common part of cc.blacklist_add and cc.blacklist_caller: checks and lists (or re-lists) a number.';

CREATE FUNCTION cc.blacklist_add(number text, reason text DEFAULT NULL, expires_at timestamptz DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF NOT pg_has_role(cc.session_role(), 'cc_admin', 'USAGE') THEN
        PERFORM cc.call_control_access(NULL, 'blacklist numbers', false);
    END IF;
    id := cc.blacklist_write(number, reason, expires_at);
    PERFORM cc.event_append('blacklist.added', jsonb_strip_nulls(jsonb_build_object(
        'number', number, 'reason', reason, 'expires_at', expires_at, 'by', cc.session_role())));
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.blacklist_add(text, text, timestamptz) IS
    'Blacklists a number (calls from it are refused with 603), with a reason and an optional expiry; listing it again updates both. cc_app or cc_admin. Returns the entry''s id.';

CREATE FUNCTION cc.blacklist_remove(number text) RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF NOT pg_has_role(cc.session_role(), 'cc_admin', 'USAGE') THEN
        PERFORM cc.call_control_access(NULL, 'take numbers off the blacklist', false);
    END IF;
    IF number IS NULL OR number !~ '^\+?[0-9]{1,32}$' THEN
        RAISE EXCEPTION 'cc: "%" is not a phone number', coalesce(number, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A number is 1 to 32 digits with an optional leading +.';
    END IF;
    DELETE FROM cc.blacklisted_numbers AS b WHERE b.number = blacklist_remove.number;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM cc.event_append('blacklist.removed', jsonb_build_object('number', number, 'by', cc.session_role()));
    RETURN true;
END;
$$;
COMMENT ON FUNCTION cc.blacklist_remove(text) IS 'Takes a number off the blacklist; false if it was not on it. cc_app or cc_admin.';

CREATE FUNCTION cc.blacklist_caller(call uuid, reason text DEFAULT NULL, expires_at timestamptz DEFAULT NULL) RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent  uuid := cc.call_control_begin(call, 'blacklist the caller of', true);
    number text := (SELECT cc.call_customer_number(c) FROM cc.calls AS c WHERE c.id = call);
    id     uuid;
BEGIN
    IF number IS NULL OR number !~ '^\+?[0-9]{1,32}$' THEN
        RAISE EXCEPTION 'cc: the customer of call % has no number to blacklist', call
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Anonymous callers and SIP users cannot be blacklisted.';
    END IF;
    id := cc.blacklist_write(number, reason, expires_at);
    -- the event names the call, not the number: agents may not see it
    PERFORM cc.event_append('blacklist.added', jsonb_strip_nulls(jsonb_build_object(
        'number', cc.number_display(number), 'reason', reason, 'expires_at', expires_at, 'by', cc.session_role())),
        call_id => call, agent_id => agent);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.blacklist_caller(uuid, text, timestamptz) IS
    'Blacklists the customer of a call (the caller of an inbound call, the callee of an outbound one) without showing the number. cc_app, or cc_agent on its own calls. Returns the entry''s id.';

-- what agents see -------------------------------------------------------------------

CREATE VIEW cc.agent_calls AS
    SELECT c.id AS call_id, c.direction, c.state,
           cc.number_display(cc.call_customer_number(c)) AS customer,
           c.number, q.name AS queue, l.id AS leg_id, l.kind AS leg_kind, l.state AS leg_state, l.muted,
           cust.hold_state AS customer_hold_state, c.variables, c.created_at, c.connected_at
      FROM cc.calls AS c
      JOIN cc.legs AS l ON l.call_id = c.id AND l.kind IN ('agent', 'consult') AND l.state <> 'ended'
      LEFT JOIN cc.queues AS q ON q.id = c.queue_id
      LEFT JOIN LATERAL (SELECT g.hold_state FROM cc.legs AS g
                          WHERE g.call_id = c.id AND g.kind = 'customer' AND g.state <> 'ended'
                          ORDER BY g.created_at DESC LIMIT 1) AS cust ON true
     WHERE c.state <> 'ended' AND l.agent_id = cc.session_agent();
COMMENT ON VIEW cc.agent_calls IS
    'The calls in progress of the agent the session''s role acts as (cc.agent_logins), with the customer''s number as number privacy allows: what an agent''s workbench shows.';
COMMENT ON COLUMN cc.agent_calls.call_id IS 'Call id (to pass to cc.hold, cc.transfer, ...).';
COMMENT ON COLUMN cc.agent_calls.direction IS 'inbound, outbound or internal.';
COMMENT ON COLUMN cc.agent_calls.state IS 'State of the call.';
COMMENT ON COLUMN cc.agent_calls.customer IS 'The customer''s number: masked or mapped to a user id by privacy.numbers.';
COMMENT ON COLUMN cc.agent_calls.number IS 'Our number (dialled, or shown as caller ID).';
COMMENT ON COLUMN cc.agent_calls.queue IS 'Name of the call''s queue.';
COMMENT ON COLUMN cc.agent_calls.leg_id IS 'The agent''s leg in the call.';
COMMENT ON COLUMN cc.agent_calls.leg_kind IS 'agent or consult.';
COMMENT ON COLUMN cc.agent_calls.leg_state IS 'State of the agent''s leg (new, ringing, answered).';
COMMENT ON COLUMN cc.agent_calls.muted IS 'Whether the agent is muted.';
COMMENT ON COLUMN cc.agent_calls.customer_hold_state IS 'Hold state of the customer''s leg (none, local, remote, both).';
COMMENT ON COLUMN cc.agent_calls.variables IS 'The call''s variables (screen pop).';
COMMENT ON COLUMN cc.agent_calls.created_at IS 'When the call started.';
COMMENT ON COLUMN cc.agent_calls.connected_at IS 'When the customer was first connected to a human.';
GRANT SELECT ON cc.agent_calls TO cc_agent;

-- cc_admin keeps the maps of logins and regions.
GRANT INSERT, UPDATE, DELETE ON cc.number_regions TO cc_admin;
