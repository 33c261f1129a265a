-- 104_flow_nodes.sql: the step functions of the nodes that do not wait for
-- the caller: end, pause, play, set_variable, condition, service_hours and
-- http.  Each is cc.flow_node_TYPE(call row, node, event): event NULL when
-- the call enters the node, then the events it waits for (see
-- 100_flow_interpreter.sql for what a step returns).

CREATE FUNCTION cc.flow_node_end(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos    jsonb;
    play   jsonb;
    f      cc.flows;
    vars   jsonb;
BEGIN
    IF event IS NULL THEN
        play := cc.flow_prompt_action(c, cc.flow_prop(node, 'prompt'));
        IF play IS NOT NULL THEN
            pos := cc.flow_wait(c, node, 'play_done');
            RETURN jsonb_build_object('actions', jsonb_build_array(play || jsonb_build_object('tag', pos->>'tag')),
                                      'wait', pos);
        END IF;
    ELSIF event->>'type' <> 'play_done' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO f FROM cc.flows WHERE id = c.flow_id;
    IF f.kind = 'self_service' THEN
        -- a self-service flow returns the caller to the agent; what it
        -- collected goes to the flow's callback URL
        SELECT variables, choices INTO c.variables, c.choices FROM cc.calls WHERE id = c.id;
        vars := jsonb_build_object('call_id', c.id, 'flow', f.name, 'variables', c.variables, 'choices', c.choices);
        IF f.callback_url IS NOT NULL AND c.flow_position->'simulation' IS NULL THEN
            BEGIN
                PERFORM cc.http_request('callback', c.id, 'POST', f.callback_url,
                                        '{"Content-Type": "application/json"}', vars::text, 3000, 3, '{}');
            EXCEPTION WHEN OTHERS THEN
                -- the caller goes back to the agent all the same
                PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
                    'warning', 'the callback could not be queued: ' || SQLERRM));
            END;
        END IF;
        PERFORM cc.flow_event(c, 'self_service_done', jsonb_build_object('node', node->>'id',
                                                                         'callback_url', f.callback_url));
        RETURN jsonb_build_object('actions', '[]'::jsonb, 'done', 'self_service_done');
    END IF;
    RETURN jsonb_build_object('actions', '[]'::jsonb, 'hangup', 'end');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_end(cc.calls, jsonb, jsonb) IS
    'Step of an end node: its prompt if any, then hang up (a self_service flow instead posts its variables to the flow''s callback_url and returns the caller to the agent).';

CREATE FUNCTION cc.flow_node_pause(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos jsonb;
BEGIN
    IF event IS NULL THEN
        pos := cc.flow_wait(c, node, 'wait_done');
        RETURN jsonb_build_object('actions', jsonb_build_array(jsonb_build_object('type', 'wait',
                    'ms', round((cc.flow_prop(node, 'seconds') #>> '{}')::numeric * 1000)::integer, 'tag', pos->>'tag')),
                'wait', pos);
    ELSIF event->>'type' = 'wait_done' THEN
        RETURN cc.flow_go(node, 'next');
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.flow_node_pause(cc.calls, jsonb, jsonb) IS 'Step of a pause node: a wait of properties.seconds, then next.';

CREATE FUNCTION cc.flow_node_play(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos  jsonb;
    play jsonb;
BEGIN
    IF event IS NULL THEN
        pos := cc.flow_wait(c, node, 'play_done');
        play := cc.flow_prompt_action(c, cc.flow_prop(node, 'prompt'),
                    jsonb_build_object('count', cc.flow_prop(node, 'count'), 'barge_in', cc.flow_prop(node, 'barge_in'),
                                       'tag', pos->>'tag'));
        IF play IS NULL THEN
            RETURN cc.flow_go(node, 'next');
        END IF;
        RETURN jsonb_build_object('actions', jsonb_build_array(play), 'wait', pos);
    ELSIF event->>'type' = 'play_done' THEN
        IF event->>'reason' = 'error' THEN
            PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
                'warning', 'the prompt could not be played: ' || coalesce(event->>'error', 'no detail')));
        END IF;
        RETURN cc.flow_go(node, 'next');
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.flow_node_play(cc.calls, jsonb, jsonb) IS
    'Step of a play node: plays its prompt count times (barge-in allowed or not) and goes on when it is done.';

CREATE FUNCTION cc.flow_node_set_variable(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars  jsonb := cc.flow_variables(c);
    patch jsonb := '{}';
    a     jsonb;
    k     text;
    v     jsonb;
    data  jsonb := '{}';
BEGIN
    IF event IS NOT NULL THEN
        RETURN NULL;
    END IF;
    FOR a IN SELECT * FROM jsonb_array_elements(coalesce(node #> '{properties,assignments}', '[]')) LOOP
        v := CASE WHEN jsonb_typeof(a->'value') = 'string'
                  THEN to_jsonb(cc.flow_substitute(a->>'value', vars || patch)) ELSE a->'value' END;
        patch := patch || jsonb_build_object(a->>'variable', v);
    END LOOP;
    PERFORM cc.flow_set_variables(c.id, patch);
    FOR k, v IN SELECT * FROM jsonb_each(coalesce(node #> '{properties,custom_data}', '{}')) LOOP
        data := data || jsonb_build_object(k, CASE WHEN jsonb_typeof(v) = 'string'
                                                   THEN to_jsonb(cc.flow_substitute(v #>> '{}', vars || patch)) ELSE v END);
    END LOOP;
    IF data <> '{}' THEN
        UPDATE cc.calls SET custom_data = cc.custom_data_merge(custom_data, data) WHERE id = c.id;
    END IF;
    PERFORM cc.flow_event(c, 'variables_set', jsonb_build_object('node', node->>'id', 'variables', nullif(patch, '{}'),
                                                                 'custom_data', nullif(data, '{}')));
    RETURN cc.flow_go(node, 'next');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_set_variable(cc.calls, jsonb, jsonb) IS
    'Step of a set_variable node: assigns its variables (strings with ${var}, or any JSON value) in order, merges its custom_data into the call''s (IBM''s rules), goes on.';

CREATE FUNCTION cc.flow_compare(a text, op text, b text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN a ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$' AND b ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$' THEN
               CASE op WHEN '=' THEN a::numeric = b::numeric WHEN '!=' THEN a::numeric <> b::numeric
                       WHEN '>' THEN a::numeric > b::numeric WHEN '<' THEN a::numeric < b::numeric
                       WHEN '>=' THEN a::numeric >= b::numeric WHEN '<=' THEN a::numeric <= b::numeric END
           ELSE
               CASE op WHEN '=' THEN a = b WHEN '!=' THEN a <> b
                       WHEN '>' THEN a COLLATE "C" > b WHEN '<' THEN a COLLATE "C" < b
                       WHEN '>=' THEN a COLLATE "C" >= b WHEN '<=' THEN a COLLATE "C" <= b END
           END;
$$;
COMMENT ON FUNCTION cc.flow_compare(text, text, text) IS
    'A condition''s comparison: as numbers when both sides are numbers, else as texts (byte order).';

CREATE FUNCTION cc.flow_node_condition(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars jsonb := cc.flow_variables(c);
    b    jsonb;
    i    integer;
BEGIN
    IF event IS NOT NULL THEN
        RETURN NULL;
    END IF;
    FOR b, i IN SELECT e, o - 1 FROM jsonb_array_elements(node #> '{properties,branches}') WITH ORDINALITY AS x (e, o) LOOP
        IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(b->'conditions') AS t
                        WHERE NOT coalesce(cc.flow_compare(cc.flow_value_text(vars -> (t->>'variable')), t->>'op',
                                                           cc.flow_substitute(coalesce(t->>'value', ''), vars)), false)) THEN
            PERFORM cc.flow_event(c, 'condition', jsonb_build_object('node', node->>'id', 'branch', i, 'label', b->>'label'));
            RETURN jsonb_build_object('goto', b->>'next');
        END IF;
    END LOOP;
    PERFORM cc.flow_event(c, 'condition', jsonb_build_object('node', node->>'id', 'branch', 'default'));
    RETURN cc.flow_go(node, 'default');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_condition(cc.calls, jsonb, jsonb) IS
    'Step of a condition node: the first branch whose conditions (variable op value, joined by AND) all hold, else connections.default.';

CREATE FUNCTION cc.flow_node_service_hours(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    open boolean;
BEGIN
    IF event IS NOT NULL THEN
        RETURN NULL;
    END IF;
    open := cc.flow_in_hours(node, cc.flow_now(c));
    PERFORM cc.flow_event(c, 'service_hours', jsonb_build_object('node', node->>'id', 'in_hours', open, 'at', cc.flow_now(c)));
    RETURN cc.flow_go(node, CASE WHEN open THEN 'in_hours' ELSE 'out_of_hours' END);
END;
$$;
COMMENT ON FUNCTION cc.flow_node_service_hours(cc.calls, jsonb, jsonb) IS
    'Step of a service_hours node: connections.in_hours or out_of_hours by the flow''s clock (cc.flow_in_hours).';

CREATE FUNCTION cc.flow_http_send(c cc.calls, node jsonb, purpose text, method text, url text, headers jsonb, body text,
                                  timeout_ms integer, max_attempts integer, state jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    request uuid;
    pos     jsonb;
BEGIN
    pos := cc.flow_wait(c, node, 'http', state);
    IF c.flow_position->'simulation' IS NOT NULL THEN
        request := gen_random_uuid();       -- the simulation's script answers it
    ELSE
        request := cc.http_request(purpose, c.id, method, url, headers, body, timeout_ms, max_attempts,
                                   jsonb_build_object('node', node->>'id', 'tag', pos->>'tag'));
    END IF;
    pos := pos || jsonb_build_object('request', request);
    -- should cc http never answer, the flow goes on as after a failure
    PERFORM cc.timer_set('flow.http_guard', clock_timestamp() + make_interval(secs => (30 + 2.0 * timeout_ms * max_attempts / 1000)::double precision),
                         c.id, NULL, NULL, jsonb_build_object('tag', pos->>'tag'));
    PERFORM cc.flow_event(c, 'http_request', jsonb_build_object('node', node->>'id', 'purpose', purpose,
        'request', request, 'method', method, 'url', url,
        'body', CASE WHEN purpose <> 'bot' THEN body END));     -- a bot turn's input is in flow.bot_turn
    RETURN pos;
END;
$$;
COMMENT ON FUNCTION cc.flow_http_send(cc.calls, jsonb, text, text, text, jsonb, text, integer, integer, jsonb) IS
    'Sends an HTTP request of a node (cc.http_request; in a simulation the script answers), sets a guard timer, and returns the position that waits for the answer.';

CREATE FUNCTION cc.flow_http_json(answer jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF jsonb_typeof(answer->'body') IN ('object', 'array') THEN
        RETURN answer->'body';
    END IF;
    RETURN (answer->>'body')::jsonb;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.flow_http_json(jsonb) IS 'The body of an HTTP answer as JSON, or NULL when it is not JSON.';

CREATE FUNCTION cc.flow_node_http(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars    jsonb := cc.flow_variables(c);
    method  text := cc.flow_prop(node, 'method') #>> '{}';
    url     text := cc.flow_substitute(node #>> '{properties,url}', vars, true);
    headers jsonb := '{}';
    fields  jsonb := '{}';
    body    text;
    k       text;
    v       jsonb;
    answer  jsonb;
    doc     jsonb;
    ok      boolean;
    patch   jsonb := '{}';
    r       jsonb;
    val     jsonb;
BEGIN
    IF event IS NULL THEN
        FOR k, v IN SELECT * FROM jsonb_each(coalesce(node #> '{properties,headers}', '{}')) LOOP
            headers := headers || jsonb_build_object(k, cc.flow_substitute(v #>> '{}', vars));
        END LOOP;
        FOR k, v IN SELECT * FROM jsonb_each(coalesce(node #> '{properties,request}', '{}')) LOOP
            fields := fields || jsonb_build_object(k, cc.flow_substitute(v #>> '{}', vars));
        END LOOP;
        IF method = 'POST' THEN
            body := fields::text;
            IF NOT EXISTS (SELECT 1 FROM jsonb_object_keys(headers) AS h WHERE lower(h) = 'content-type') THEN
                headers := headers || '{"Content-Type": "application/json"}';
            END IF;
        ELSIF fields <> '{}' THEN
            url := url || CASE WHEN position('?' IN url) > 0 THEN '&' ELSE '?' END
                || (SELECT string_agg(cc.flow_url_encode(f.key) || '=' || cc.flow_url_encode(f.value #>> '{}'), '&' ORDER BY f.key)
                      FROM jsonb_each(fields) AS f);
        END IF;
        RETURN jsonb_build_object('actions', '[]'::jsonb, 'wait',
            cc.flow_http_send(c, node, 'flow', method, url, headers, body,
                              round((cc.flow_prop(node, 'timeout_s') #>> '{}')::numeric * 1000)::integer,
                              (cc.flow_prop(node, 'max_errors') #>> '{}')::integer));
    ELSIF event->>'type' NOT IN ('http', 'timer') THEN
        RETURN NULL;
    END IF;

    PERFORM cc.timers_cancel('flow.http_guard', c.id);
    answer := CASE WHEN event->>'type' = 'http' THEN event->'answer'
                   ELSE '{"status": null, "error": "no answer from cc http in time"}' END;
    ok := coalesce((answer->>'status') ~ '^2[0-9][0-9]$', false);
    doc := cc.flow_http_json(answer);
    IF ok AND jsonb_array_length(coalesce(node #> '{properties,response}', '[]')) > 0 AND doc IS NULL THEN
        ok := false;
        answer := answer || '{"error": "the answer is not JSON"}';
    END IF;
    -- response fields -> variables; a field missing, or a failed request,
    -- takes the mapping's default
    FOR r IN SELECT * FROM jsonb_array_elements(coalesce(node #> '{properties,response}', '[]')) LOOP
        val := CASE WHEN ok THEN doc #> string_to_array(r->>'field', '.') END;
        IF val IS NULL OR val = 'null'::jsonb THEN
            val := r->'default';
        END IF;
        IF val IS NOT NULL THEN
            patch := patch || jsonb_build_object(r->>'variable', val);
        END IF;
    END LOOP;
    PERFORM cc.flow_set_variables(c.id, patch);
    PERFORM cc.flow_event(c, 'http_done', jsonb_build_object('node', node->>'id', 'status', answer->'status',
        'ok', ok, 'error', answer->>'error', 'attempts', answer->'attempts', 'variables', patch));
    IF NOT ok THEN
        RETURN cc.flow_go(node, 'failure', 'next');
    END IF;
    RETURN cc.flow_go(node, 'next');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_http(cc.calls, jsonb, jsonb) IS
    'Step of an http node: sends the request (URL and fields with ${var}; POST JSON of strings, or GET query), then maps the JSON answer''s fields to variables; on failure (no answer, not 2xx, not JSON) each mapping takes its default and the flow goes on (connections.failure, else next).';
