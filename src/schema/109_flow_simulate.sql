-- 109_flow_simulate.sql: run a flow without a phone.
--
-- cc.flow_simulate(flow, version, script) makes a scratch call of the
-- version (a draft too), runs the real hooks on it (cc.flow_start,
-- cc.flow_on_event, cc.flow_on_http, cc.flow_on_leg_event,
-- cc.flow_resume), playing the part of the workers from the script, and
-- undoes everything (the call, its events, timers, recordings) before it
-- returns the trace.  Prompts and pauses complete by themselves; keys,
-- timeouts, HTTP answers, dial outcomes, queue outcomes and the clock come
-- from the script.  HTTP nodes and bot turns do not call cc.http_request:
-- the trace shows each request and the script answers it.

CREATE FUNCTION cc.flow_sim_collect(parameters jsonb, keys text) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    tk     text := parameters->>'termination_key';
    cnt    integer := (parameters->>'count')::integer;
    mx     integer := (parameters->>'maximum_count')::integer;
    digits text := '';
    k      text;
BEGIN
    -- what a media worker reports for these keys, by IBM's collect rules
    FOREACH k IN ARRAY regexp_split_to_array(keys, '') LOOP
        IF k = tk THEN
            RETURN jsonb_build_object('digits', digits, 'reason', 'termination_key');
        END IF;
        digits := digits || k;
        IF length(digits) >= cnt THEN
            RETURN jsonb_build_object('digits', digits, 'reason', 'count');
        ELSIF length(digits) >= mx THEN
            RETURN jsonb_build_object('digits', digits, 'reason', 'maximum');
        END IF;
    END LOOP;
    RETURN jsonb_build_object('digits', digits, 'reason', CASE WHEN digits = '' THEN 'first_digit_timeout' ELSE 'timeout' END);
END;
$$;
COMMENT ON FUNCTION cc.flow_sim_collect(jsonb, text) IS
    'The collect_done a media worker reports for keys pressed during a collection (termination key, count, maximum, else a timeout).';

CREATE FUNCTION cc.flow_sim_mask(call uuid, actions jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t   text := actions::text;
    l   record;
    r   jsonb;
BEGIN
    -- legs by what they are, so a trace reads (and compares) the same every time
    FOR l IN SELECT id, kind, row_number() OVER (PARTITION BY kind ORDER BY created_at) AS n
               FROM cc.legs WHERE call_id = call LOOP
        t := replace(t, l.id::text, CASE WHEN l.n = 1 THEN l.kind ELSE l.kind || l.n END);
    END LOOP;
    SELECT coalesce(jsonb_agg(CASE WHEN a->>'leg' = 'customer' THEN a - 'leg' ELSE a END ORDER BY i), '[]') INTO r
      FROM jsonb_array_elements(t::jsonb) WITH ORDINALITY AS x (a, i);
    RETURN r;
END;
$$;
COMMENT ON FUNCTION cc.flow_sim_mask(uuid, jsonb) IS
    'Actions of a simulated call with leg ids replaced by the legs'' kinds (customer, external, agent), the customer leg left implicit.';

CREATE FUNCTION cc.flow_sim_record(call uuid, step jsonb, after bigint, actions jsonb) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT step || jsonb_build_object(
        'nodes', coalesce((SELECT jsonb_agg(e.data->>'node' ORDER BY e.seq) FROM cc.events AS e
                            WHERE e.call_id = call AND e.seq > after AND e.type = 'flow.node_entered'), '[]'),
        'actions', cc.flow_sim_mask(call, actions),
        'events', coalesce((SELECT jsonb_agg(jsonb_build_object('type', substr(e.type, 6)) || (e.data - 'request')
                                             ORDER BY e.seq)
                              FROM cc.events AS e
                             WHERE e.call_id = call AND e.seq > after AND e.type LIKE 'flow.%'
                               AND e.type NOT IN ('flow.node_entered', 'flow.started')), '[]'));
$$;
COMMENT ON FUNCTION cc.flow_sim_record(uuid, jsonb, bigint, jsonb) IS
    'One trace entry of a simulation: the step, the nodes entered, the actions (legs masked) and the other flow events since event seq after.';

CREATE FUNCTION cc.flow_sim_step_check(step jsonb, i integer) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    keys text[];
BEGIN
    IF jsonb_typeof(step) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'cc: script step % is %, not an object', i, cc.flow_show(step)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A step is one of {"digits": "12#"}, {"timeout": true}, {"http": {"status", "body"}}, {"dial": "answered"}, {"resume": "agent_hangup"}, {"refer": 202}, {"event": {...}}, {"clock": "..."}, {"hangup": true}.';
    END IF;
    keys := ARRAY(SELECT jsonb_object_keys(step));
    IF cardinality(keys) <> 1 OR NOT keys[1] = ANY (ARRAY['digits', 'timeout', 'http', 'dial', 'resume', 'refer',
                                                          'event', 'clock', 'hangup']) THEN
        RAISE EXCEPTION 'cc: script step % is %; a step has exactly one of digits, timeout, http, dial, resume, refer, event, clock, hangup',
                        i, cc.flow_show(step)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'e.g. {"digits": "2"}, {"timeout": true}, {"http": {"status": 200, "body": {"ok": true}}}.';
    END IF;
    IF step ? 'digits' AND (jsonb_typeof(step->'digits') <> 'string' OR step->>'digits' !~ '^[0-9*#A-D]*$') THEN
        RAISE EXCEPTION 'cc: script step %: digits % are not DTMF keys', i, cc.flow_show(step->'digits')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Keys are 0-9, *, # and A-D, as a string.';
    ELSIF step ? 'http' AND jsonb_typeof(step->'http') <> 'object' THEN
        RAISE EXCEPTION 'cc: script step %: http is %, not an answer object', i, cc.flow_show(step->'http')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '{"http": {"status": 200, "body": {...} or "text", "headers": {}}} or {"http": {"error": "timeout"}}.';
    ELSIF step ? 'event' AND (jsonb_typeof(step->'event') <> 'object' OR NOT step->'event' ? 'type') THEN
        RAISE EXCEPTION 'cc: script step %: event is %, not an event object with a type', i, cc.flow_show(step->'event')
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF step ? 'clock' AND NOT cc.flow_is_timestamp(step->>'clock') THEN
        RAISE EXCEPTION 'cc: script step %: clock % is not a timestamp', i, cc.flow_show(step->'clock')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. "2025-03-03 10:00:00+08".';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.flow_sim_step_check(jsonb, integer) IS 'Raises a clear error unless a simulation script step is one of the known forms.';

CREATE FUNCTION cc.flow_is_timestamp(s text) RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    PERFORM s::timestamptz;
    RETURN s IS NOT NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END;
$$;
COMMENT ON FUNCTION cc.flow_is_timestamp(text) IS 'Whether a text is a timestamp PostgreSQL reads.';

CREATE FUNCTION cc.flow_sim_run(v cc.flow_versions, steps jsonb, opts jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    call     uuid;
    leg      uuid;
    c        cc.calls;
    pos      jsonb;
    trace    jsonb := '[]';
    actions  jsonb;
    ev       jsonb;
    s        jsonb;
    i        integer := 0;
    after    bigint;
    collects jsonb := '{}';     -- tag -> parameters of the collections issued
    a        jsonb;
    err      text;
    guard    integer;
    answer   jsonb;
BEGIN
    INSERT INTO cc.calls (direction, caller, callee, number, number_id, trunk_id, flow_id, flow_version_id, variables,
                          flow_position)
    VALUES ('inbound', coalesce(opts->>'caller', '+15550100'), coalesce(opts->>'callee', '+15550199'),
            coalesce(opts->>'callee', '+15550199'),
            (SELECT n.id FROM cc.numbers AS n WHERE n.number = coalesce(opts->>'callee', '+15550199')),
            (SELECT n.trunk_id FROM cc.numbers AS n WHERE n.number = coalesce(opts->>'callee', '+15550199')),
            v.flow_id, v.id, coalesce(opts->'variables', '{}'),
            jsonb_build_object('simulation', jsonb_build_object('clock', coalesce((opts->>'clock')::timestamptz, now()))))
    RETURNING id INTO call;
    INSERT INTO cc.legs (call_id, kind, direction, sip_call_id, from_uri, to_uri)
    VALUES (call, 'customer', 'inbound', 'simulation-' || call,
            format('sip:%s@simulation', coalesce(opts->>'caller', '+15550100')),
            format('sip:%s@simulation', coalesce(opts->>'callee', '+15550199')))
    RETURNING id INTO leg;

    after := (SELECT coalesce(max(e.seq), 0) FROM cc.events AS e WHERE e.call_id = call);
    actions := cc.flow_start(call);
    -- the worker answers: the leg is answered
    UPDATE cc.legs SET state = 'answered', answered_at = now() WHERE id = leg;
    UPDATE cc.calls SET answered_at = now() WHERE id = call;

    LOOP
        -- record what the last input led to, then complete prompts and pauses
        FOR a IN SELECT * FROM jsonb_array_elements(actions) LOOP
            IF a->>'type' = 'dtmf' AND a #>> '{command_info,type}' = 'collect' AND a->>'tag' IS NOT NULL THEN
                collects := collects || jsonb_build_object(a->>'tag', a #> '{command_info,parameters}');
            END IF;
        END LOOP;
        trace := trace || cc.flow_sim_record(call, jsonb_build_object('step', jsonb_array_length(trace))
                                                   || CASE WHEN s IS NOT NULL THEN jsonb_build_object('input', s) ELSE '{}' END
                                                   || CASE WHEN ev IS NOT NULL THEN jsonb_build_object('event', ev) ELSE '{}' END,
                                             after, actions);
        after := (SELECT coalesce(max(e.seq), after) FROM cc.events AS e WHERE e.call_id = call);
        SELECT * INTO c FROM cc.calls WHERE id = call;
        pos := c.flow_position;
        guard := coalesce(guard, 0) + 1;
        EXIT WHEN guard > 1000;
        IF pos->>'await' IN ('play_done', 'wait_done') THEN
            s := NULL;
            ev := jsonb_build_object('type', pos->>'await', 'tag', pos->>'tag', 'reason', 'finished');
            actions := cc.flow_on_event(call, leg, ev);
            CONTINUE;
        END IF;

        -- the next step of the script
        i := i + 1;
        s := steps->(i - 1);
        EXIT WHEN s IS NULL;
        ev := NULL;
        err := NULL;
        IF coalesce(pos->>'await', 'none') = 'none' OR c.state = 'ended' THEN
            err := 'the flow is over';
        ELSIF s ? 'hangup' THEN
            trace := trace || jsonb_build_object('step', jsonb_array_length(trace), 'input', s,
                                                 'note', 'the caller hung up');
            EXIT;
        ELSIF s ? 'clock' THEN
            UPDATE cc.calls SET flow_position = jsonb_set(flow_position, '{simulation,clock}',
                                                          to_jsonb((s->>'clock')::timestamptz))
             WHERE id = call;
            actions := '[]';
        ELSIF s ? 'digits' OR s ? 'timeout' AND pos->>'await' = 'collect_done' THEN
            IF pos->>'await' <> 'collect_done' THEN
                err := format('the flow waits for %s at node %s, not for keys', pos->>'await', pos->>'node');
            ELSE
                ev := jsonb_build_object('type', 'collect_done', 'tag', pos->>'tag')
                   || cc.flow_sim_collect(coalesce(collects->(pos->>'tag'), '{}'), coalesce(s->>'digits', ''));
                actions := cc.flow_on_event(call, leg, ev);
            END IF;
        ELSIF s ? 'http' OR s ? 'timeout' AND pos->>'await' = 'http' THEN
            IF pos->>'await' <> 'http' THEN
                err := format('the flow waits for %s at node %s, not for an HTTP answer', pos->>'await', pos->>'node');
            ELSE
                answer := coalesce(s->'http', '{"status": null, "error": "timeout"}');
                answer := jsonb_build_object('status', answer->'status', 'headers', coalesce(answer->'headers', '{}'),
                    'body', CASE WHEN jsonb_typeof(answer->'body') = 'string' OR answer->'body' IS NULL THEN answer->'body'
                                 ELSE to_jsonb((answer->'body')::text) END,
                    'error', answer->'error', 'attempts', coalesce(answer->'attempts', '1'));
                ev := jsonb_build_object('type', 'http', 'answer', answer);
                actions := cc.flow_on_http(call, (pos->>'request')::uuid, answer);
            END IF;
        ELSIF s ? 'dial' OR s ? 'timeout' AND pos->>'await' = 'dial' THEN
            IF pos->>'await' <> 'dial' THEN
                err := format('the flow waits for %s at node %s, not for a dialled leg', pos->>'await', pos->>'node');
            ELSE
                ev := CASE WHEN jsonb_typeof(s->'dial') = 'object' THEN s->'dial'
                           WHEN s->>'dial' = 'answered' THEN '{"type": "answered"}'::jsonb
                           WHEN s ? 'timeout' THEN '{"type": "failed", "code": 408, "cause": "no_answer"}'
                           ELSE jsonb_build_object('type', 'failed', 'cause', s->>'dial') END;
                PERFORM cc.leg_apply_event((pos->>'leg')::uuid, ev);
                actions := cc.flow_on_leg_event(call, (pos->>'leg')::uuid, ev);
            END IF;
        ELSIF s ? 'resume' THEN
            IF pos->>'await' NOT IN ('queue', 'bridged') THEN
                err := format('the flow waits for %s at node %s, not in a queue or a transfer', pos->>'await', pos->>'node');
            ELSE
                ev := jsonb_build_object('type', 'resume', 'reason', s->>'resume');
                actions := cc.flow_resume(call, s->>'resume');
            END IF;
        ELSIF s ? 'refer' THEN
            ev := jsonb_build_object('type', 'refer_result', 'code', s->'refer', 'tag', pos->>'tag');
            actions := cc.flow_on_event(call, leg, ev);
        ELSIF s ? 'event' THEN
            ev := s->'event';
            actions := cc.flow_on_event(call, leg, ev);
        ELSE
            err := format('a timeout does not apply: the flow waits for %s at node %s', pos->>'await', pos->>'node');
        END IF;
        IF err IS NOT NULL THEN
            trace := trace || jsonb_build_object('step', jsonb_array_length(trace), 'input', s,
                                                 'error', format('script step %s: %s', i, err));
            EXIT;
        END IF;
    END LOOP;

    SELECT * INTO c FROM cc.calls WHERE id = call;
    RETURN jsonb_build_object(
        'trace', trace,
        'node', c.flow_node,
        'waiting_for', c.flow_position->'await',
        'ended', c.flow_position->>'await' = 'none',
        'state', c.state,
        'variables', c.variables,
        'choices', (SELECT coalesce(jsonb_agg(x - 'at' ORDER BY o), '[]') FROM jsonb_array_elements(c.choices) WITH ORDINALITY AS y (x, o)),
        'custom_data', c.custom_data,
        'recordings', (SELECT count(*) FROM cc.recordings AS r WHERE r.call_id = call));
END;
$$;
COMMENT ON FUNCTION cc.flow_sim_run(cc.flow_versions, jsonb, jsonb) IS
    'The body of cc.flow_simulate: a scratch call of the version, the hooks driven by the script, the trace.';

-- SECURITY DEFINER: the console's role (cc_admin) may not write live
-- calls; the scratch call is always undone before this returns.
CREATE FUNCTION cc.flow_simulate(flow uuid, version text, script jsonb) RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v      cc.flow_versions := cc.flow_version_get(flow, version);
    steps  jsonb;
    opts   jsonb := '{}';
    k      text;
    i      integer;
    result jsonb;
BEGIN
    IF jsonb_typeof(script) = 'array' THEN
        steps := script;
    ELSIF jsonb_typeof(script) = 'object' THEN
        steps := coalesce(script->'steps', '[]');
        opts := script - 'steps';
        FOR k IN SELECT jsonb_object_keys(opts) LOOP
            IF k NOT IN ('caller', 'callee', 'variables', 'clock') THEN
                RAISE EXCEPTION 'cc: % is not a simulation option', quote_literal(k)
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Options: caller, callee, variables (an object), clock (a timestamp); steps: the script.';
            END IF;
        END LOOP;
        IF jsonb_typeof(steps) <> 'array' OR opts ? 'variables' AND jsonb_typeof(opts->'variables') <> 'object'
           OR opts ? 'clock' AND NOT cc.flow_is_timestamp(opts->>'clock') THEN
            RAISE EXCEPTION 'cc: the script % is malformed', cc.flow_show(script)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'steps is an array, variables an object, clock a timestamp.';
        END IF;
    ELSE
        RAISE EXCEPTION 'cc: the script is %, not an array of steps', cc.flow_show(script)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'e.g. [{"digits": "2"}, {"timeout": true}] or {"caller": "+8613800000000", "steps": [...]}.';
    END IF;
    FOR i IN 1 .. jsonb_array_length(steps) LOOP
        PERFORM cc.flow_sim_step_check(steps->(i - 1), i);
    END LOOP;
    BEGIN
        result := cc.flow_sim_run(v, steps, opts);
        -- undo the scratch call and all it did; the trace is kept
        RAISE EXCEPTION USING ERRCODE = 'CCSIM', MESSAGE = 'simulation over';
    EXCEPTION WHEN SQLSTATE 'CCSIM' THEN
        NULL;
    END;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION cc.flow_simulate(uuid, text, jsonb) IS
    'Runs a version of a flow (a draft too) against a script of caller input and worker outcomes ([{"digits"}, {"timeout"}, {"http"}, {"dial"}, {"resume"}, {"refer"}, {"event"}, {"clock"}, {"hangup"}], or {"caller", "callee", "variables", "clock", "steps"}) with the real interpreter, undoing everything; returns the trace of nodes, actions and events, and the final variables, choices and custom data.';

CREATE FUNCTION cc.flow_simulate(flow text, version text, script jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    SELECT f.id INTO id FROM cc.flows AS f WHERE f.name = flow;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: there is no flow named %', quote_literal(flow) USING ERRCODE = 'no_data_found';
    END IF;
    RETURN cc.flow_simulate(id, version, script);
END;
$$;
COMMENT ON FUNCTION cc.flow_simulate(text, text, jsonb) IS 'cc.flow_simulate with the flow given by name.';

CREATE FUNCTION cc.flow_action_text(a jsonb) RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT concat_ws(' ',
        CASE a->>'type'
            WHEN 'play' THEN 'play ' || coalesce('tts ' || (a->'tts')::text, 'file ' || (a->>'file'), 'tone ' || (a->>'tone'), '?')
                || CASE WHEN (a->>'count')::integer > 1 THEN ' x' || (a->>'count') ELSE '' END
                || CASE WHEN a->>'loop' = 'true' THEN ' loop' ELSE '' END
                || CASE WHEN a->>'barge_in' = 'true' THEN ' barge_in' ELSE '' END
            WHEN 'dtmf' THEN 'dtmf ' || (a #>> '{command_info,type}') || ' '
                || coalesce((SELECT string_agg(key || '=' || (value #>> '{}'), ' ' ORDER BY key)
                               FROM jsonb_each(a #> '{command_info,parameters}')), '')
            WHEN 'wait' THEN 'wait ' || (a->>'ms') || 'ms'
            WHEN 'dial' THEN 'dial ' || (SELECT string_agg(t->>'uri', ', ') FROM jsonb_array_elements(a->'targets') AS t)
                || coalesce(' from ' || (a #>> '{from,uri}'), '') || CASE WHEN a ? 'trunk' THEN ' by trunk' ELSE '' END
                || ' ring ' || (a->>'ring_timeout_ms') || 'ms' || coalesce(' (' || (a->>'leg') || ')', '')
            WHEN 'bridge' THEN 'bridge with ' || (a->>'with')
            WHEN 'text' THEN 'text ' || coalesce((SELECT string_agg((v->'text')::text, ' ') FROM jsonb_array_elements(a->'values') AS v), '')
            ELSE (a->>'type') || CASE WHEN (a - 'type' - 'tag' - 'leg') = '{}' THEN '' ELSE ' ' || (a - 'type' - 'tag' - 'leg')::text END
        END,
        CASE WHEN a ? 'leg' AND a->>'type' <> 'dial' THEN '@' || (a->>'leg') END,
        CASE WHEN a->>'tag' IS NOT NULL THEN '[' || (a->>'tag') || ']' END);
$$;
COMMENT ON FUNCTION cc.flow_action_text(jsonb) IS 'One action as a short line of text (for traces).';

CREATE FUNCTION cc.flow_trace_lines(simulation jsonb) RETURNS SETOF text
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    t jsonb;
    e jsonb;
BEGIN
    FOR t IN SELECT * FROM jsonb_array_elements(simulation->'trace') LOOP
        RETURN NEXT format('%s %s%s', t->>'step',
            CASE WHEN t #> '{input,http}' IS NOT NULL
                 THEN 'http answer ' || coalesce(t #>> '{input,http,status}', 'none')
                      || coalesce(' error ' || (t #>> '{input,http,error}'), '')
                      || coalesce(' ' || left(CASE WHEN jsonb_typeof(t #> '{input,http,body}') = 'string'
                                                   THEN t #>> '{input,http,body}' ELSE (t #> '{input,http,body}')::text END, 60)
                                  || CASE WHEN length(coalesce(t #>> '{input,http,body}', '')) > 60 THEN '...' ELSE '' END, '')
                 WHEN t ? 'input' THEN (t->'input')::text
                 WHEN t->'event' IS NOT NULL AND t->'event' <> 'null' THEN '(' || (t #>> '{event,type}') || ')'
                 ELSE '(start)' END,
            CASE WHEN jsonb_array_length(coalesce(t->'nodes', '[]')) > 0
                 THEN ' -> ' || (SELECT string_agg(n #>> '{}', ' > ') FROM jsonb_array_elements(t->'nodes') AS n) ELSE '' END);
        FOR e IN SELECT * FROM jsonb_array_elements(coalesce(t->'actions', '[]')) LOOP
            RETURN NEXT '    ' || cc.flow_action_text(e);
        END LOOP;
        FOR e IN SELECT * FROM jsonb_array_elements(coalesce(t->'events', '[]')) LOOP
            RETURN NEXT '    * ' || (e->>'type') || CASE WHEN e - 'type' = '{}' THEN '' ELSE ' ' || (e - 'type')::text END;
        END LOOP;
        IF t ? 'error' THEN
            RETURN NEXT '    ! ' || (t->>'error');
        END IF;
        IF t ? 'note' THEN
            RETURN NEXT '    ' || (t->>'note');
        END IF;
    END LOOP;
    RETURN NEXT format('= node %s, %s; variables %s; choices %s; custom_data %s',
                       coalesce(simulation->>'node', '-'),
                       CASE WHEN (simulation->>'ended')::boolean THEN 'ended' ELSE 'waiting for ' || (simulation->>'waiting_for') END,
                       simulation->'variables', simulation->'choices', simulation->'custom_data');
END;
$$;
COMMENT ON FUNCTION cc.flow_trace_lines(jsonb) IS
    'A simulation''s trace as lines of text: each step with the nodes entered, its actions (indented) and flow events (*), then the final state.';
