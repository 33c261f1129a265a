-- 131_call_control_helpers.sql: what the call-control functions share.
--
-- Who is calling (the session's role, the agent it acts as, the access
-- rule), checks of arguments that several functions take (targets,
-- prompts, legs), the caller-ID rule, and the pieces of a dial action
-- (contacts of agents and phones, request URIs through trunks, the call's
-- variables as SIP headers).  Functions that only read or check are
-- SECURITY INVOKER: called on their own they run with the caller's rights.

-- who is calling ----------------------------------------------------------------

-- cc.session_role is the role the session acts as outside any SECURITY
-- DEFINER function: the role set by SET ROLE, else the session user.  The
-- application functions are SECURITY DEFINER (they write tables their
-- callers may not), so current_user inside them is their owner; this is
-- how they know who called.
CREATE FUNCTION cc.agent_label(agent uuid) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$ SELECT coalesce((SELECT a.extension || ' (' || a.name || ')' FROM cc.agents AS a WHERE a.id = agent), agent::text) $$;
COMMENT ON FUNCTION cc.agent_label(uuid) IS 'An agent as people name it in messages: extension (name).';

CREATE FUNCTION cc.call_ended_message(c cc.calls) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT format('call %s ended at %s (cause %s)', c.id,
                  to_char(c.ended_at, 'YYYY-MM-DD HH24:MI:SSOF'), coalesce(c.end_cause, 'unknown'))
$$;
COMMENT ON FUNCTION cc.call_ended_message(cc.calls) IS
    'Why a command cannot act on an ended call: "call <id> ended at <time> (cause <cause>)".';

CREATE FUNCTION cc.agent_on_call(agent uuid, call uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT EXISTS (SELECT 1 FROM cc.legs AS l
                    WHERE l.call_id = call AND l.agent_id = agent AND l.state <> 'ended'
                      AND l.kind IN ('agent', 'consult'))
        OR EXISTS (SELECT 1 FROM cc.calls AS c WHERE c.id = call AND c.agent_id = agent)
$$;
COMMENT ON FUNCTION cc.agent_on_call(uuid, uuid) IS
    'Whether an agent is on a call: it has a live agent or consult leg in it, or is the call''s agent (cc.calls.agent_id).';

CREATE FUNCTION cc.call_control_access(call uuid, what text, agent_may boolean) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    me    name := cc.session_role();
    c     cc.calls;
    agent uuid;
BEGIN
    IF call IS NOT NULL THEN
        SELECT * INTO c FROM cc.calls AS k WHERE k.id = call;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'cc: call % does not exist', call
                USING ERRCODE = 'no_data_found',
                      HINT = 'Pass the id of a call in progress (cc.calls.id).';
        END IF;
    END IF;
    IF pg_has_role(me, 'cc_app', 'USAGE') THEN
        agent := NULL;
    ELSIF agent_may AND pg_has_role(me, 'cc_agent', 'USAGE') THEN
        agent := cc.session_agent();
        IF agent IS NULL THEN
            RAISE EXCEPTION 'cc: role % is not the login of an agent', me
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'A cc_admin maps the role to its agent in cc.agent_logins; or call as a member of cc_app.';
        END IF;
        IF call IS NOT NULL AND NOT cc.agent_on_call(agent, call) THEN
            RAISE EXCEPTION 'cc: agent % is not on call %', cc.agent_label(agent), call
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'cc_agent acts only on the calls its agent is on; cc_app on any call.';
        END IF;
    ELSE
        RAISE EXCEPTION 'cc: role % may not %', me, what || CASE WHEN call IS NOT NULL THEN ' call ' || call ELSE '' END
            USING ERRCODE = 'insufficient_privilege',
                  HINT = CASE WHEN agent_may
                              THEN 'Grant the role cc_app, or cc_agent to act on its own agent''s calls.'
                              ELSE 'Grant the role cc_app.' END;
    END IF;
    IF c.state = 'ended' THEN
        RAISE EXCEPTION 'cc: %', cc.call_ended_message(c)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Commands act on calls in progress only.';
    END IF;
    RETURN agent;
END;
$$;
COMMENT ON FUNCTION cc.call_control_access(uuid, text, boolean) IS
    'Checks, without locking anything, that the session may do what to call: members of cc_app any call, members of cc_agent (when agent_may) the calls of the agent their role acts as; and that the call exists and has not ended. Returns the acting agent (NULL for cc_app).';

CREATE FUNCTION cc.call_leg_check(call uuid, leg uuid, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF leg IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cc.legs AS l WHERE l.id = leg AND l.call_id = call) THEN
        RAISE EXCEPTION 'cc: leg % is not a leg of call %', leg, call
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass a leg of that call (cc.legs.id with call_id = the call) as ' || what || ', or NULL for the default.';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_leg_check(uuid, uuid, text) IS 'Refuses a leg that is not a leg of the call (NULL passes: the function''s default leg).';

CREATE FUNCTION cc.command_submit(kind text, call uuid, args jsonb) RETURNS uuid
LANGUAGE sql
SET search_path = pg_catalog, cc
AS $$
    INSERT INTO cc.commands (kind, call_id, args)
    VALUES (kind, call, jsonb_strip_nulls(args))
    RETURNING id
$$;
COMMENT ON FUNCTION cc.command_submit(text, uuid, jsonb) IS
    'Inserts a command of a kind for a call (null arguments dropped) and returns its id; cc sip is notified on commit. Runs with the caller''s rights.';

CREATE FUNCTION cc.ring_timeout_ms(seconds integer) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF seconds IS NULL THEN
        RETURN least(greatest(cc.setting_int('call_control.ring_timeout_s', 30), 5), 300) * 1000;
    END IF;
    IF seconds < 5 OR seconds > 300 THEN
        RAISE EXCEPTION 'cc: ring timeout of % s is out of range', seconds
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A leg may ring from 5 to 300 seconds (NULL: the call_control.ring_timeout_s setting, 30).';
    END IF;
    RETURN seconds * 1000;
END;
$$;
COMMENT ON FUNCTION cc.ring_timeout_ms(integer) IS 'Checks a ring timeout in seconds (5 to 300; NULL: the setting) and returns it in milliseconds.';

-- argument checks ------------------------------------------------------------------

CREATE FUNCTION cc.dial_number_valid(number text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$ SELECT number ~ '^\+?[0-9]{3,20}$' $$;
COMMENT ON FUNCTION cc.dial_number_valid(text) IS 'Whether a number can be dialled: 3 to 20 digits with an optional leading +.';

CREATE FUNCTION cc.sip_uri_valid(uri text) RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
    SELECT length(uri) <= 1024
       AND uri ~ '^sips?:([^@[:space:]<>]+@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(:[0-9]{1,5})?(;[^[:space:]?<>]*)?$'
$$;
COMMENT ON FUNCTION cc.sip_uri_valid(text) IS 'Whether a text is a sip: or sips: URI with a host (at most 1024 characters).';

CREATE FUNCTION cc.call_agent_resolve(agent text, what text) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a cc.agents;
BEGIN
    IF agent IS NULL THEN
        RAISE EXCEPTION 'cc: % must not be null', what
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Give an agent by its id or its extension (4 to 6 digits, e.g. 1001).';
    END IF;
    IF agent ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        SELECT * INTO a FROM cc.agents AS g WHERE g.id = agent::uuid;
    ELSIF agent ~ '^[1-8][0-9]{3,5}$' THEN
        SELECT * INTO a FROM cc.agents AS g WHERE g.extension = agent;
    ELSE
        RAISE EXCEPTION 'cc: % "%" is neither an agent id nor an extension', what, agent
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give an agent by its id (uuid) or its extension (4 to 6 digits, the first 1 to 8).';
    END IF;
    IF a.id IS NULL THEN
        RAISE EXCEPTION 'cc: % "%" is not an agent', what, agent
            USING ERRCODE = 'no_data_found',
                  HINT = 'Agents are in cc.agents_public (id, extension).';
    END IF;
    IF NOT a.enabled THEN
        RAISE EXCEPTION 'cc: agent % is disabled', cc.agent_label(a.id)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Only enabled agents take calls.';
    END IF;
    RETURN a.id;
END;
$$;
COMMENT ON FUNCTION cc.call_agent_resolve(text, text) IS 'An enabled agent given by id or extension; refuses anything else naming what.';

CREATE FUNCTION cc.call_named_resolve(tab text, ref text, what text) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF ref IS NULL THEN
        RAISE EXCEPTION 'cc: % must not be null', what
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Give its id or its name (cc.' || tab || ').';
    END IF;
    IF ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
        EXECUTE format('SELECT id FROM cc.%I WHERE id = $1', tab) INTO id USING ref::uuid;
    ELSE
        EXECUTE format('SELECT id FROM cc.%I WHERE name = $1', tab) INTO id USING ref;
    END IF;
    IF id IS NULL THEN
        RAISE EXCEPTION 'cc: % "%" does not exist', what, ref
            USING ERRCODE = 'no_data_found', HINT = 'Give the id or the name of a row of cc.' || tab || '.';
    END IF;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.call_named_resolve(text, text, text) IS 'The id of a queue, flow, trunk or prompt given by id or name (tab: its table); refuses an unknown one.';

CREATE FUNCTION cc.caller_id_choose(agent uuid, callee text, requested text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    allowed uuid[];
    chosen  cc.numbers;
    callee_region text;
BEGIN
    IF agent IS NOT NULL THEN
        -- the numbers of the agent's outbound queues first
        SELECT array_agg(DISTINCT n.id) INTO allowed
          FROM cc.numbers AS n
          JOIN cc.number_queues AS nq ON nq.number_id = n.id
          JOIN cc.queue_members AS m ON m.queue_id = nq.queue_id AND m.agent_id = caller_id_choose.agent AND m.enabled
         WHERE n.enabled AND n.direction IN ('out', 'both');
        IF allowed IS NULL THEN
            -- else the numbers no queue keeps for itself
            SELECT array_agg(n.id) INTO allowed FROM cc.numbers AS n
             WHERE n.enabled AND n.direction IN ('out', 'both')
               AND NOT EXISTS (SELECT 1 FROM cc.number_queues AS nq WHERE nq.number_id = n.id);
        END IF;
    ELSE
        SELECT array_agg(n.id) INTO allowed FROM cc.numbers AS n
         WHERE n.enabled AND n.direction IN ('out', 'both');
    END IF;

    IF requested IS NOT NULL THEN
        SELECT * INTO chosen FROM cc.numbers AS n WHERE n.number = requested AND n.id = ANY (allowed);
        IF chosen.id IS NULL THEN
            RAISE EXCEPTION 'cc: number % may not be used as caller ID%', requested,
                            CASE WHEN agent IS NOT NULL THEN ' by agent ' || cc.agent_label(agent) ELSE '' END
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = coalesce('Allowed: ' || (SELECT string_agg(n.number, ', ' ORDER BY n.number)
                                                        FROM cc.numbers AS n WHERE n.id = ANY (allowed)) || '.',
                                      'No number is allowed: see cc.numbers (enabled, direction out or both) and cc.number_queues.');
        END IF;
    ELSE
        IF coalesce((SELECT s.value = 'true' FROM cc.settings AS s
                                            WHERE s.key = 'call_control.caller_id_same_region'), true) THEN
            callee_region := cc.region_of(callee);
            SELECT * INTO chosen FROM cc.numbers AS n
             WHERE n.id = ANY (allowed) AND callee_region IS NOT NULL AND n.region = callee_region
             ORDER BY random() LIMIT 1;
        END IF;
        IF chosen.id IS NULL THEN
            SELECT * INTO chosen FROM cc.numbers AS n WHERE n.id = ANY (allowed) ORDER BY random() LIMIT 1;
        END IF;
        IF chosen.id IS NULL THEN
            RAISE EXCEPTION 'cc: no number may be used as caller ID%',
                            CASE WHEN agent IS NOT NULL THEN ' by agent ' || cc.agent_label(agent) ELSE '' END
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Add an enabled number with direction out or both (cc.numbers), bound to one of the agent''s queues (cc.number_queues) or to none.';
        END IF;
    END IF;
    RETURN jsonb_build_object('number', chosen.number, 'number_id', chosen.id, 'trunk_id', chosen.trunk_id);
END;
$$;
COMMENT ON FUNCTION cc.caller_id_choose(uuid, text, text) IS
    'The caller ID of an outbound call, by the reference''s rule: for an agent, the numbers bound to its queues (cc.number_queues; else those bound to no queue); without an agent, any enabled outbound number; among them one in the callee''s region first (call_control.caller_id_same_region, cc.number_regions), else one at random. requested must be one of them. Returns {number, number_id, trunk_id}.';

CREATE FUNCTION cc.region_of(number text) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT r.region FROM cc.number_regions AS r
     WHERE number LIKE r.prefix || '%'
     ORDER BY length(r.prefix) DESC LIMIT 1
$$;
COMMENT ON FUNCTION cc.region_of(text) IS 'The region of a number: that of its longest matching prefix in cc.number_regions, or NULL.';

CREATE FUNCTION cc.call_variables_check(variables jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF variables IS NULL THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(variables) <> 'object' THEN
        RAISE EXCEPTION 'cc: variables % are not a JSON object', variables
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give variables as {"name": value, ...}; they are merged into the call''s variables.';
    END IF;
    RETURN variables;
END;
$$;
COMMENT ON FUNCTION cc.call_variables_check(jsonb) IS 'Variables given to a command: a JSON object (NULL: none).';

CREATE FUNCTION cc.sip_headers_check(headers jsonb, what text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    h jsonb;
BEGIN
    IF headers IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(headers) <> 'array' THEN
        RAISE EXCEPTION 'cc: % % is not an array', what, headers
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give [{"name": "X-Ticket", "value": "42"}, ...].';
    END IF;
    FOR h IN SELECT * FROM jsonb_array_elements(headers) LOOP
        IF jsonb_typeof(h) <> 'object' OR jsonb_typeof(h->'name') <> 'string' OR jsonb_typeof(h->'value') <> 'string'
           OR h->>'name' !~ '^[A-Za-z0-9!%*_+`''~.-]{1,64}$' THEN
            RAISE EXCEPTION 'cc: % has a bad header %', what, h
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Each header is {"name": a SIP token of 1 to 64 characters, "value": a string}.';
        END IF;
        IF octet_length(h->>'value') > 1024 OR h->>'value' ~ '[\r\n]' THEN
            RAISE EXCEPTION 'cc: value of header % in % is too long or spans lines', h->>'name', what
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'SIP header values are at most 1024 bytes on one line.';
        END IF;
    END LOOP;
    RETURN headers;
END;
$$;
COMMENT ON FUNCTION cc.sip_headers_check(jsonb, text) IS 'Checks IBM-style SIP headers [{name, value}]: SIP token names, one-line values of at most 1024 bytes.';

CREATE FUNCTION cc.call_target_check(target jsonb, allowed text[], what text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    keys   text[];
    kinds  text[];
    extras text[] := ARRAY['caller_id', 'trunk', 'ring_timeout_s'];
    forms  text := array_to_string(ARRAY(
                       SELECT f FROM unnest(ARRAY['queue', 'agent', 'extension', 'number', 'uri', 'sip', 'leg']) AS f
                        WHERE f = ANY (allowed) OR (f = 'extension' AND 'agent' = ANY (allowed))), ', ');
    kind   text;
    out    jsonb;
    ref    uuid;
    sip    jsonb;
    method text;
    send   text;
BEGIN
    IF target IS NULL OR jsonb_typeof(target) <> 'object' THEN
        RAISE EXCEPTION 'cc: % % is not a JSON object', what, coalesce(target::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give one of ' || forms || ', e.g. {"queue": "sales"} or {"number": "+15550100"}.';
    END IF;
    SELECT array_agg(k ORDER BY k) INTO keys FROM jsonb_object_keys(target) AS k;
    kinds := ARRAY(SELECT k FROM unnest(keys) AS k
                    WHERE k IN ('queue', 'agent', 'extension', 'number', 'uri', 'sip', 'leg'));
    IF cardinality(kinds) <> 1 THEN
        RAISE EXCEPTION 'cc: % % must name exactly one target', what, target
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give one of ' || forms || '.';
    END IF;
    kind := kinds[1];
    IF NOT (kind = ANY (allowed) OR (kind = 'extension' AND 'agent' = ANY (allowed))) THEN
        RAISE EXCEPTION 'cc: % cannot be a %', what, kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give one of ' || forms || '.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(keys) AS k WHERE k <> kind AND NOT k = ANY (extras)) THEN
        RAISE EXCEPTION 'cc: % % has unknown keys', what, target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Besides the target, only caller_id, trunk and ring_timeout_s are allowed.';
    END IF;

    CASE kind
        WHEN 'queue' THEN
            ref := cc.call_named_resolve('queues', target->>'queue', what || ' queue');
            IF NOT (SELECT q.enabled FROM cc.queues AS q WHERE q.id = ref) THEN
                RAISE EXCEPTION 'cc: queue % is disabled', target->>'queue'
                    USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Only enabled queues take callers.';
            END IF;
            out := jsonb_build_object('kind', 'queue', 'queue', ref);
        WHEN 'agent' THEN
            out := jsonb_build_object('kind', 'agent', 'agent', cc.call_agent_resolve(target->>'agent', what || ' agent'));
        WHEN 'extension' THEN
            IF coalesce(target->>'extension', '') !~ '^[1-8][0-9]{3,5}$' THEN
                RAISE EXCEPTION 'cc: % extension "%" is not an extension', what, target->>'extension'
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'An extension is 4 to 6 digits, the first 1 to 8.';
            END IF;
            SELECT a.id INTO ref FROM cc.agents AS a WHERE a.extension = target->>'extension';
            IF ref IS NOT NULL THEN
                out := jsonb_build_object('kind', 'agent', 'agent', cc.call_agent_resolve(ref::text, what || ' agent'));
            ELSE
                SELECT p.id INTO ref FROM cc.phones AS p WHERE p.extension = target->>'extension' AND p.enabled;
                IF ref IS NULL THEN
                    RAISE EXCEPTION 'cc: % extension % is neither an agent nor an enabled phone', what, target->>'extension'
                        USING ERRCODE = 'no_data_found', HINT = 'Extensions are in cc.agents_public and cc.phones.';
                END IF;
                out := jsonb_build_object('kind', 'phone', 'phone', ref);
            END IF;
        WHEN 'number' THEN
            IF jsonb_typeof(target->'number') <> 'string' OR NOT cc.dial_number_valid(target->>'number') THEN
                RAISE EXCEPTION 'cc: % number % is not a phone number', what, target->'number'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A number is 3 to 20 digits with an optional leading +, as a JSON string.';
            END IF;
            out := jsonb_build_object('kind', 'number', 'number', target->>'number');
        WHEN 'uri' THEN
            IF jsonb_typeof(target->'uri') <> 'string' OR NOT cc.sip_uri_valid(target->>'uri') THEN
                RAISE EXCEPTION 'cc: % uri % is not a SIP URI', what, target->'uri'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Expected sip:[user@]host[:port][;parameters], at most 1024 characters.';
            END IF;
            out := jsonb_build_object('kind', 'uri', 'uri', target->>'uri');
        WHEN 'leg' THEN
            IF coalesce(target->>'leg', '') !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                RAISE EXCEPTION 'cc: % leg % is not a leg id', what, target->'leg'
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Give the id of a leg of the call (cc.legs.id).';
            END IF;
            out := jsonb_build_object('kind', 'leg', 'leg', target->>'leg');
        WHEN 'sip' THEN
            -- IBM connect_to_agent's transfer_info.target.service_desk.sip, as it is
            sip := target->'sip';
            IF jsonb_typeof(sip) <> 'object' THEN
                RAISE EXCEPTION 'cc: % sip % is not a JSON object', what, sip
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give IBM''s service_desk.sip object: {"uri", "transfer_method", "transfer_headers", ...}.';
            END IF;
            IF EXISTS (SELECT 1 FROM jsonb_object_keys(sip) AS k
                        WHERE k NOT IN ('uri', 'transfer_method', 'transfer_target_header',
                                        'transfer_headers', 'transfer_headers_send_method')) THEN
                RAISE EXCEPTION 'cc: % sip % has unknown keys', what, sip
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Allowed: uri, transfer_method, transfer_target_header, transfer_headers, transfer_headers_send_method.';
            END IF;
            method := coalesce(sip->>'transfer_method', 'refer');
            send := coalesce(sip->>'transfer_headers_send_method', 'custom_header');
            IF method NOT IN ('refer', 'hangup') THEN
                RAISE EXCEPTION 'cc: % transfer_method "%" is unknown', what, method
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'transfer_method is refer (the default) or hangup.';
            END IF;
            IF send NOT IN ('custom_header', 'contact_header', 'refer_to_header') THEN
                RAISE EXCEPTION 'cc: % transfer_headers_send_method "%" is unknown', what, send
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'transfer_headers_send_method is custom_header (the default), contact_header or refer_to_header.';
            END IF;
            IF method = 'hangup' AND send <> 'custom_header' THEN
                RAISE EXCEPTION 'cc: % transfer_headers_send_method % does not go with transfer_method hangup', what, send
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'With hangup the headers go in the BYE: custom_header only.';
            END IF;
            IF (method = 'refer' OR sip ? 'uri')
               AND (jsonb_typeof(sip->'uri') IS DISTINCT FROM 'string'
                    OR NOT (cc.sip_uri_valid(sip->>'uri') OR sip->>'uri' ~ '^tel:\+?[0-9*#().-]{1,40}$')) THEN
                RAISE EXCEPTION 'cc: % sip uri % is not a SIP or tel URI', what, coalesce(sip->'uri', 'null')
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give "uri": "sip:user@host" or "tel:+18883334444" (required with transfer_method refer).';
            END IF;
            IF sip ? 'transfer_target_header' AND coalesce(sip->>'transfer_target_header', '') !~ '^[A-Za-z0-9-]{1,64}$' THEN
                RAISE EXCEPTION 'cc: % transfer_target_header % is not a header name', what, sip->'transfer_target_header'
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'A header name: 1 to 64 letters, digits and -.';
            END IF;
            PERFORM cc.sip_headers_check(sip->'transfer_headers', what || ' transfer_headers');
            out := jsonb_build_object('kind', 'sip', 'sip',
                       sip || jsonb_build_object('transfer_method', method, 'transfer_headers_send_method', send));
    END CASE;

    IF target ? 'caller_id' THEN
        IF kind NOT IN ('number', 'uri') OR NOT cc.dial_number_valid(target->>'caller_id')
           OR NOT EXISTS (SELECT 1 FROM cc.numbers AS n WHERE n.number = target->>'caller_id'
                                                        AND n.enabled AND n.direction IN ('out', 'both')) THEN
            RAISE EXCEPTION 'cc: % caller_id % is not one of our outbound numbers', what, target->'caller_id'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'caller_id goes with number or uri targets and is an enabled number of cc.numbers with direction out or both.';
        END IF;
        out := out || jsonb_build_object('caller_id', target->>'caller_id');
    END IF;
    IF target ? 'trunk' THEN
        IF kind NOT IN ('number', 'uri') THEN
            RAISE EXCEPTION 'cc: % trunk goes with number or uri targets only', what
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Agents and phones are reached at their registered contacts.';
        END IF;
        ref := cc.call_named_resolve('trunks', target->>'trunk', what || ' trunk');
        IF NOT (SELECT t.enabled FROM cc.trunks AS t WHERE t.id = ref) THEN
            RAISE EXCEPTION 'cc: trunk % is disabled', target->>'trunk'
                USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Choose an enabled trunk (cc.trunks).';
        END IF;
        out := out || jsonb_build_object('trunk', ref);
    END IF;
    IF target ? 'ring_timeout_s' THEN
        IF kind NOT IN ('agent', 'phone', 'number', 'uri') OR jsonb_typeof(target->'ring_timeout_s') <> 'number' THEN
            RAISE EXCEPTION 'cc: % ring_timeout_s % does not apply', what, target->'ring_timeout_s'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'ring_timeout_s is a number of seconds (5 to 300) for targets that are dialled.';
        END IF;
        out := out || jsonb_build_object('ring_timeout_ms', cc.ring_timeout_ms((target->>'ring_timeout_s')::numeric::integer));
    END IF;
    RETURN out;
END;
$$;
COMMENT ON FUNCTION cc.call_target_check(jsonb, text[], text) IS
    'Checks a target given to a command and returns it normalized as {"kind": queue|agent|phone|number|uri|sip|leg, ...}. Forms: {"queue": id or name}, {"agent": id or extension}, {"extension": agent or phone}, {"number", "caller_id", "trunk"}, {"uri", "trunk"}, {"sip": IBM service_desk.sip}, {"leg": id}; ring_timeout_s for dialled targets. allowed lists the forms the caller takes.';

CREATE FUNCTION cc.call_prompt_check(prompt jsonb, what text, silence_ok boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    sources text[];
    out     jsonb;
BEGIN
    IF prompt IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(prompt) <> 'object' THEN
        RAISE EXCEPTION 'cc: % % is not a JSON object', what, prompt
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give {"prompt": name}, {"file": "x.wav"}, {"tts": "text", "voice": ...} or {"tone": "beep"}.';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(prompt) AS k
                WHERE k NOT IN ('prompt', 'file', 'tts', 'voice', 'tone', 'ms', 'count', 'loop')) THEN
        RAISE EXCEPTION 'cc: % % has unknown keys', what, prompt
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Allowed: one of prompt, file, tts (with voice), tone (with ms); count, loop.';
    END IF;
    sources := ARRAY(SELECT k FROM jsonb_object_keys(prompt) AS k WHERE k IN ('prompt', 'file', 'tts', 'tone'));
    IF cardinality(sources) = 0 AND silence_ok AND prompt = '{}' THEN
        RETURN '{}';
    END IF;
    IF cardinality(sources) <> 1 THEN
        RAISE EXCEPTION 'cc: % % must give exactly one of prompt, file, tts, tone', what, prompt
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN silence_ok THEN '{} means silence. ' ELSE '' END
                         || 'E.g. {"prompt": "hold music"} or {"tts": "Please hold."}.';
    END IF;
    CASE sources[1]
        WHEN 'prompt' THEN
            out := jsonb_build_object('prompt_id', cc.call_named_resolve('prompts', prompt->>'prompt', what || ' prompt'));
        WHEN 'file' THEN
            IF coalesce(prompt->>'file', '') !~ '^[A-Za-z0-9_][A-Za-z0-9_./-]{0,250}\.wav$' OR prompt->>'file' ~ '\.\.' THEN
                RAISE EXCEPTION 'cc: % file % is not a WAV file under cc.media_dir', what, prompt->'file'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'A relative path of letters, digits, _ . - / ending in .wav, without "..".';
            END IF;
            out := jsonb_build_object('file', prompt->>'file');
        WHEN 'tts' THEN
            IF jsonb_typeof(prompt->'tts') <> 'string' OR char_length(prompt->>'tts') NOT BETWEEN 1 AND 600 THEN
                RAISE EXCEPTION 'cc: % tts must be a text of 1 to 600 characters', what
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Text to speech is limited to 600 characters.';
            END IF;
            out := jsonb_strip_nulls(jsonb_build_object('tts', prompt->>'tts', 'voice', prompt->>'voice'));
        WHEN 'tone' THEN
            IF coalesce(prompt->>'tone', '') NOT IN ('ringback', 'busy', 'beep', 'silence') THEN
                RAISE EXCEPTION 'cc: % tone % is unknown', what, prompt->'tone'
                    USING ERRCODE = 'invalid_parameter_value', HINT = 'Tones: ringback, busy, beep, silence.';
            END IF;
            out := jsonb_build_object('tone', prompt->>'tone');
            IF prompt ? 'ms' THEN
                IF jsonb_typeof(prompt->'ms') <> 'number' OR (prompt->>'ms')::numeric NOT BETWEEN 10 AND 600000 THEN
                    RAISE EXCEPTION 'cc: % ms % is out of range', what, prompt->'ms'
                        USING ERRCODE = 'invalid_parameter_value', HINT = 'A tone lasts 10 to 600000 ms.';
                END IF;
                out := out || jsonb_build_object('ms', (prompt->>'ms')::numeric::integer);
            END IF;
    END CASE;
    IF prompt ? 'count' THEN
        IF jsonb_typeof(prompt->'count') <> 'number' OR (prompt->>'count')::numeric NOT BETWEEN 1 AND 100 THEN
            RAISE EXCEPTION 'cc: % count % is out of range', what, prompt->'count'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Play 1 to 100 times.';
        END IF;
        out := out || jsonb_build_object('count', (prompt->>'count')::numeric::integer);
    END IF;
    IF prompt ? 'loop' THEN
        IF jsonb_typeof(prompt->'loop') <> 'boolean' THEN
            RAISE EXCEPTION 'cc: % loop % is not true or false', what, prompt->'loop'
                USING ERRCODE = 'invalid_parameter_value', HINT = 'loop: true plays until stopped.';
        END IF;
        out := out || jsonb_build_object('loop', prompt->'loop');
    END IF;
    RETURN out;
END;
$$;
COMMENT ON FUNCTION cc.call_prompt_check(jsonb, text, boolean) IS
    'Checks what to play ({"prompt": name or id}, {"file"}, {"tts", "voice"}, {"tone", "ms"}; count 1-100, loop) and returns it normalized (prompt names become prompt_id); with silence_ok, {} (silence) passes.';

-- at decision time ------------------------------------------------------------------

CREATE FUNCTION cc.call_lock_live(call uuid) RETURNS cc.calls
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c cc.calls;
BEGIN
    SELECT * INTO c FROM cc.calls AS k WHERE k.id = call FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'call % does not exist', call USING ERRCODE = 'no_data_found';
    END IF;
    IF c.state = 'ended' THEN
        RAISE EXCEPTION '%', cc.call_ended_message(c) USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN c;
END;
$$;
COMMENT ON FUNCTION cc.call_lock_live(uuid) IS
    'Locks a call for a decision (FOR UPDATE) and returns it; refuses one that does not exist or has ended ("call <id> ended at <time> (cause <cause>)").';

CREATE FUNCTION cc.call_refuse(message text) RETURNS void
LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION '%', message USING ERRCODE = 'object_not_in_prerequisite_state'; END; $$;
COMMENT ON FUNCTION cc.call_refuse(text) IS 'Refuses a command that cannot run now (cc.command_decide turns the message into the command''s error).';

CREATE FUNCTION cc.call_require_connected(c cc.calls, what text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF c.state <> 'connected' THEN
        PERFORM cc.call_refuse(format('call %s is %s, not connected: cannot %s', c.id, c.state, what));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_require_connected(cc.calls, text) IS 'Refuses a command that needs a connected call (a human talking with the customer).';

CREATE FUNCTION cc.call_customer_leg(call uuid) RETURNS cc.legs
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT * FROM cc.legs AS l
     WHERE l.call_id = call AND l.kind = 'customer' AND l.state <> 'ended'
     ORDER BY l.created_at DESC LIMIT 1
$$;
COMMENT ON FUNCTION cc.call_customer_leg(uuid) IS 'The live customer leg of a call (NULL fields when there is none).';

CREATE FUNCTION cc.leg_leaving(leg uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT EXISTS (SELECT 1 FROM cc.transfers AS t
                    WHERE (t.to_leg_id = leg AND t.state IN ('canceled', 'failed'))
                       OR (t.from_leg_id = leg AND (t.kind = 'blind' OR (t.kind = 'consult' AND t.state = 'completed'))))
        OR EXISTS (SELECT 1 FROM cc.conference_participants AS p
                    WHERE p.leg_id = leg AND p.state = 'left' AND p.left_reason IN ('left', 'transferred'))
$$;
COMMENT ON FUNCTION cc.leg_leaving(uuid) IS
    'Whether a leg is on its way out although still answered: a decision hung it up (a canceled consultation, an agent who transferred, a participant who left) and its ended event has not come yet.';

CREATE FUNCTION cc.call_agent_leg(c cc.calls, agent uuid DEFAULT NULL) RETURNS cc.legs
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT * FROM cc.legs AS l
     WHERE l.call_id = c.id AND l.kind IN ('agent', 'consult') AND l.state = 'answered'
       AND (agent IS NULL OR l.agent_id = agent) AND NOT cc.leg_leaving(l.id)
     ORDER BY (l.agent_id IS NOT DISTINCT FROM coalesce(agent, c.agent_id)) DESC, l.kind = 'agent' DESC,
              l.answered_at DESC
     LIMIT 1
$$;
COMMENT ON FUNCTION cc.call_agent_leg(cc.calls, uuid) IS
    'The answered agent (or consult) leg talking in a call, not on its way out: the given agent''s, else the call''s agent''s, else the latest answered.';

CREATE FUNCTION cc.call_require_leg(call uuid, leg uuid, what text) RETURNS cc.legs
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs;
BEGIN
    SELECT * INTO l FROM cc.legs AS g WHERE g.id = leg AND g.call_id = call;
    IF l.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no %s', call, what));
    END IF;
    IF l.state <> 'answered' THEN
        PERFORM cc.call_refuse(format('%s leg %s of call %s is %s, not answered', l.kind, l.id, call, l.state));
    END IF;
    RETURN l;
END;
$$;
COMMENT ON FUNCTION cc.call_require_leg(uuid, uuid, text) IS 'Refuses a command whose leg is missing or not answered (what names it in the message); returns the leg.';

CREATE FUNCTION cc.actions_on_leg(actions jsonb, leg uuid) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT coalesce(jsonb_agg(CASE WHEN a ? 'leg' THEN a ELSE a || jsonb_build_object('leg', leg) END ORDER BY n), '[]')
      FROM jsonb_array_elements(coalesce(actions, '[]')) WITH ORDINALITY AS t (a, n)
     WHERE a->>'type' IS DISTINCT FROM 'answer'
$$;
COMMENT ON FUNCTION cc.actions_on_leg(jsonb, uuid) IS
    'Actions of another domain (a flow, a queue) made to run outside an event: each without a leg gets leg; answer is dropped (the leg is answered already).';

CREATE FUNCTION cc.call_play_action(prompt jsonb, leg uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    p   cc.prompts;
    out jsonb;
BEGIN
    IF prompt ? 'prompt_id' THEN
        SELECT * INTO p FROM cc.prompts AS r WHERE r.id = (prompt->>'prompt_id')::uuid;
        IF p.id IS NULL THEN
            PERFORM cc.call_refuse(format('prompt %s no longer exists', prompt->>'prompt_id'));
        END IF;
        out := CASE WHEN p.kind = 'tts'
                    THEN jsonb_strip_nulls(jsonb_build_object('tts', p.tts_text, 'voice', p.voice))
                    ELSE jsonb_build_object('file', p.file_path) END;
        out := out || (prompt - 'prompt_id');
    ELSE
        out := prompt;
    END IF;
    RETURN jsonb_build_object('type', 'play', 'leg', leg) || out;
END;
$$;
COMMENT ON FUNCTION cc.call_play_action(jsonb, uuid) IS 'The play action on a leg for a checked prompt (a prompt of cc.prompts becomes its file or TTS text).';

CREATE FUNCTION cc.call_hold_action(c cc.calls, leg uuid, music jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    prompt uuid;
BEGIN
    IF music IS NULL THEN
        -- default: the hold music of the call's queue, else silence
        SELECT q.hold_music_prompt_id INTO prompt FROM cc.queues AS q WHERE q.id = c.queue_id;
        IF prompt IS NOT NULL THEN
            music := jsonb_build_object('prompt_id', prompt);
        END IF;
    END IF;
    IF music IS NULL OR music = '{}' THEN
        RETURN jsonb_build_object('type', 'hold', 'leg', leg);
    END IF;
    RETURN jsonb_build_object('type', 'hold', 'leg', leg,
                              'music', (cc.call_play_action(music, leg) - 'leg') || '{"loop": true}');
END;
$$;
COMMENT ON FUNCTION cc.call_hold_action(cc.calls, uuid, jsonb) IS
    'The hold action of a leg: music as given ({} = silence), or by default the hold music of the call''s queue, else silence; the music loops.';

CREATE FUNCTION cc.trunk_request_uri(trunk uuid, user_part text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t       cc.trunks;
    hostport text;
    contact text;
BEGIN
    SELECT * INTO t FROM cc.trunks AS k WHERE k.id = trunk;
    IF t.id IS NULL THEN
        PERFORM cc.call_refuse(format('trunk %s does not exist', trunk));
    END IF;
    IF NOT t.enabled THEN
        PERFORM cc.call_refuse(format('trunk %s is disabled', t.name));
    END IF;
    CASE t.mode
        WHEN 'peering' THEN
            hostport := CASE WHEN family(t.peer_addresses[1]) = 6 THEN '[' || host(t.peer_addresses[1]) || ']'
                             ELSE host(t.peer_addresses[1]) END || ':' || t.peer_port;
        WHEN 'register_out' THEN
            hostport := t.server || ':' || t.port;
        ELSE
            SELECT r.contact INTO contact FROM cc.registrations AS r
             WHERE r.trunk_id = t.id AND r.expires_at > now() ORDER BY r.registered_at DESC LIMIT 1;
            IF contact IS NULL THEN
                PERFORM cc.call_refuse(format('trunk %s has no registered gateway', t.name));
            END IF;
            hostport := substring(contact from '^<?sips?:(?:[^@>]*@)?([^;>?]+)');
    END CASE;
    RETURN 'sip:' || user_part || '@' || hostport
           || CASE WHEN t.transport <> 'udp' THEN ';transport=' || t.transport ELSE '' END;
END;
$$;
COMMENT ON FUNCTION cc.trunk_request_uri(uuid, text) IS
    'The Request-URI that reaches user_part (a number) through a trunk: its first peer address (peering), its server (register_out) or its gateway''s registered contact (register_in).';

CREATE FUNCTION cc.call_customer_number(c cc.calls) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN c.direction = 'outbound' THEN c.callee ELSE c.caller END $$;
COMMENT ON FUNCTION cc.call_customer_number(cc.calls) IS 'The customer''s number of a call: the callee of an outbound call, else the caller.';

CREATE FUNCTION cc.call_variable_headers(c cc.calls) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('X-CC-Call-ID', c.id::text)
           || coalesce(jsonb_object_agg('X-CC-Var-' || v.key,
                                        CASE WHEN jsonb_typeof(v.value) = 'string' THEN v.value #>> '{}'
                                             ELSE v.value::text END)
                         FILTER (WHERE v.key ~ '^[A-Za-z0-9_-]{1,64}$'
                                   AND jsonb_typeof(v.value) <> 'null'
                                   AND octet_length(v.value::text) <= 1024
                                   AND v.value::text !~ '[\r\n]'), '{}')
      FROM (SELECT c.variables AS vars) AS x
      LEFT JOIN LATERAL jsonb_each(x.vars) AS v ON true
$$;
COMMENT ON FUNCTION cc.call_variable_headers(cc.calls) IS
    'The SIP headers that carry a call to another party: X-CC-Call-ID and X-CC-Var-<name> for each variable whose name is 1 to 64 letters, digits, _ - and whose value fits one line of 1024 bytes.';

CREATE FUNCTION cc.call_dial_plan(target jsonb, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a        cc.agents;
    p        cc.phones;
    contacts jsonb;
    trunk    uuid;
    caller   text;
    mobile   cc.numbers;
    customer text := cc.call_customer_number(c);
    shown    text;
    from_user text;
BEGIN
    -- what an agent's phone shows: the customer (masked by number privacy)
    shown := coalesce(cc.number_display(customer), c.number);
    from_user := CASE WHEN cc.number_privacy_mode() = 'off' AND customer ~ '^\+?[0-9]{1,32}$' THEN customer
                      ELSE coalesce(c.number, 'anonymous') END;
    CASE target->>'kind'
        WHEN 'agent' THEN
            SELECT * INTO a FROM cc.agents AS g WHERE g.id = (target->>'agent')::uuid;
            IF a.id IS NULL OR NOT a.enabled OR a.forced_offline THEN
                PERFORM cc.call_refuse(format('agent %s is %s', cc.agent_label((target->>'agent')::uuid),
                                              CASE WHEN a.id IS NULL THEN 'gone' WHEN NOT a.enabled THEN 'disabled'
                                                   ELSE 'forced offline' END));
            END IF;
            SELECT jsonb_agg(jsonb_build_object('uri', r.contact) ORDER BY r.registered_at DESC) INTO contacts
              FROM cc.registrations AS r WHERE r.agent_id = a.id AND r.expires_at > now();
            IF a.mobile_mode = 'always' OR (a.mobile_mode = 'when_offline' AND (a.state = 'offline' OR contacts IS NULL)) THEN
                SELECT * INTO mobile FROM cc.numbers AS n
                 WHERE n.usable_for_agent_mobile AND n.enabled AND n.direction IN ('out', 'both') AND n.trunk_id IS NOT NULL
                 ORDER BY n.number LIMIT 1;
                IF mobile.id IS NULL THEN
                    PERFORM cc.call_refuse(format('agent %s is reached on its mobile, but no number is usable for agents'' mobiles',
                                                  cc.agent_label(a.id)));
                END IF;
                RETURN jsonb_build_object('leg_kind', 'agent', 'agent_id', a.id, 'trunk_id', mobile.trunk_id,
                    'targets', jsonb_build_array(jsonb_build_object('uri', cc.trunk_request_uri(mobile.trunk_id, a.mobile))),
                    'trunk', mobile.trunk_id,
                    'from', jsonb_build_object('uri', 'sip:' || mobile.number || '@' || cc.sip_local_host(), 'display', shown),
                    'party', a.mobile);
            END IF;
            IF contacts IS NULL THEN
                PERFORM cc.call_refuse(format('agent %s has no registered phone', cc.agent_label(a.id)));
            END IF;
            RETURN jsonb_build_object('leg_kind', 'agent', 'agent_id', a.id, 'targets', contacts,
                'from', jsonb_strip_nulls(jsonb_build_object('uri', 'sip:' || from_user || '@' || cc.sip_local_host(),
                                                             'display', shown)),
                'party', a.extension);
        WHEN 'phone' THEN
            SELECT * INTO p FROM cc.phones AS h WHERE h.id = (target->>'phone')::uuid;
            IF p.id IS NULL OR NOT p.enabled THEN
                PERFORM cc.call_refuse(format('phone %s is gone or disabled', target->>'phone'));
            END IF;
            SELECT jsonb_agg(jsonb_build_object('uri', r.contact) ORDER BY r.registered_at DESC) INTO contacts
              FROM cc.registrations AS r WHERE r.phone_id = p.id AND r.expires_at > now();
            IF contacts IS NULL THEN
                PERFORM cc.call_refuse(format('phone %s (%s) is not registered', p.extension, p.name));
            END IF;
            RETURN jsonb_build_object('leg_kind', 'agent', 'phone_id', p.id, 'agent_id', p.agent_id, 'targets', contacts,
                'from', jsonb_strip_nulls(jsonb_build_object('uri', 'sip:' || from_user || '@' || cc.sip_local_host(),
                                                             'display', shown)),
                'party', p.extension);
        WHEN 'number', 'uri' THEN
            -- checked again: a command may have been inserted by hand
            IF NOT coalesce(cc.dial_number_valid(target->>'number'), cc.sip_uri_valid(target->>'uri'), false) THEN
                PERFORM cc.call_refuse(format('%s %s cannot be dialled', target->>'kind',
                                              coalesce(target->>'number', target->>'uri', 'NULL')));
            END IF;
            caller := coalesce(target->>'caller_id',
                               (SELECT n.number FROM cc.numbers AS n
                                 WHERE n.id = c.number_id AND n.enabled AND n.direction IN ('out', 'both')));
            trunk := coalesce((target->>'trunk')::uuid,
                              (SELECT n.trunk_id FROM cc.numbers AS n WHERE n.number = caller),
                              CASE WHEN target->>'kind' = 'number' THEN c.trunk_id END);
            IF target->>'kind' = 'number' AND trunk IS NULL THEN
                PERFORM cc.call_refuse(format('no trunk reaches %s: give the target a trunk or a caller_id whose number has one',
                                              target->>'number'));
            END IF;
            RETURN jsonb_strip_nulls(jsonb_build_object('leg_kind', 'external', 'trunk_id', trunk, 'trunk', trunk,
                'targets', jsonb_build_array(jsonb_build_object('uri',
                               CASE WHEN target->>'kind' = 'number' THEN cc.trunk_request_uri(trunk, target->>'number')
                                    ELSE target->>'uri' END)),
                'from', jsonb_build_object('uri', 'sip:' || coalesce(caller, customer, 'anonymous') || '@' || cc.sip_local_host()),
                'party', coalesce(target->>'number', target->>'uri')));
        ELSE
            PERFORM cc.call_refuse(format('target %s cannot be dialled', coalesce(target::text, 'NULL')));
    END CASE;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.call_dial_plan(jsonb, cc.calls) IS
    'How to reach a checked target now: the registered contacts of an agent or phone (or the agent''s mobile through a trunk, by its mobile_mode), or a number through a trunk, or a SIP URI; with the From to show (the customer, masked by number privacy, to agents; our number to outside parties). Refuses what cannot be reached.';

-- cc.origination_customer_plan: the dial plan of an outbound call's
-- customer leg, for originate (dialled at once) and click-to-call (dialled
-- once the agent answers) alike.
CREATE FUNCTION cc.origination_customer_plan(trunk uuid, destination text, uri text, caller_id text) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'trunk_id', trunk, 'trunk', trunk, 'party', destination,
        'targets', jsonb_build_array(jsonb_build_object('uri', uri)),
        'from', jsonb_build_object('uri', 'sip:' || caller_id || '@' || cc.sip_local_host())));
$$;
COMMENT ON FUNCTION cc.origination_customer_plan(uuid, text, text, text) IS
    'The dial plan (for cc.call_leg_dial) of an outbound call''s customer leg: the destination''s request URI, through the trunk if any, From our caller ID.';

CREATE FUNCTION cc.call_leg_dial(c cc.calls, plan jsonb, kind text, ring_timeout_ms integer, tag text,
                                 headers boolean DEFAULT true) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    leg uuid;
BEGIN
    INSERT INTO cc.legs (call_id, kind, direction, agent_id, phone_id, trunk_id, from_uri, to_uri)
    VALUES (c.id, kind, 'outbound', (plan->>'agent_id')::uuid, (plan->>'phone_id')::uuid, (plan->>'trunk_id')::uuid,
            plan #>> '{from,uri}', plan #>> '{targets,0,uri}')
    RETURNING id INTO leg;
    PERFORM cc.event_append('leg.dialing',
        jsonb_strip_nulls(jsonb_build_object('kind', kind, 'party', plan->>'party', 'tag', tag)),
        call_id => c.id, leg_id => leg, agent_id => (plan->>'agent_id')::uuid);
    RETURN jsonb_build_object('leg', leg, 'action', jsonb_strip_nulls(jsonb_build_object(
        'type', 'dial', 'leg', leg, 'targets', plan->'targets', 'trunk', plan->'trunk', 'from', plan->'from',
        'to', plan #>> '{targets,0,uri}', 'ring_timeout_ms', coalesce(ring_timeout_ms, cc.ring_timeout_ms(NULL)),
        'headers', CASE WHEN headers THEN cc.call_variable_headers(c) END, 'tag', tag)));
END;
$$;
COMMENT ON FUNCTION cc.call_leg_dial(cc.calls, jsonb, text, integer, text, boolean) IS
    'Inserts the outbound leg of a dial plan (kind agent, consult, external, supervisor or customer), appends leg.dialing, and returns {leg, action}: the dial action with the targets, trunk, From, ring timeout, the call''s variables as headers (unless headers is false) and a tag.';
