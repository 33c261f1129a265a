-- 100_flow_interpreter.sql: runs a call's flow (the IVR hooks of
-- docs/call-model.md).
--
-- A call runs the graph of the flow version it started on
-- (cc.calls.flow_version_id).  Its place is cc.calls.flow_node and its
-- interpreter state cc.calls.flow_position, so any backend, or a restarted
-- worker, carries on from the table:
--
--   {"node": id, "seq": n, "tag": "id:n", "await": what the node waits for,
--    "visits": {id: n}, "entries": n, ... node state (errors, leg, request,
--    phase, turn), "simulation": {...} in cc.flow_simulate only}
--
-- "await" is one of play_done, collect_done, wait_done (media events whose
-- tag must equal "tag"), http (an answer to "request"), dial (an event of
-- the dialled "leg"), bridged, queue (the call is with a queue or a
-- party: cc.flow_resume goes on), refer_result, none (the flow is over).
--
-- Each node type has a step function cc.flow_node_TYPE(call row, node,
-- event) in 103-107: called with event NULL when the call enters the node,
-- then with each event the node waits for.  It returns one of
--   {"actions": [...], "goto": node id}          go on to that node
--   {"actions": [...], "wait": position}         stay, waiting
--   {"actions": [...], "hangup": reason}         the flow ends, hang up
--   {"actions": [...], "done": reason}           the flow ends, the actions end or hand over the call
--   NULL                                         not an event for this node
-- An error inside a step is caught: the node follows connections.failure
-- if it has one, otherwise the call is hung up; flow.error records why.
-- Every action returned names its leg (the customer leg by default), since
-- hooks outside cc.call_event (timers, HTTP answers, resumes) have no
-- default leg.

-- The three helpers below run at every step of every call: they are
-- PL/pgSQL, which keeps their plans for the session, where SQL functions
-- (with a SET clause or a FROM, so never inlined) are planned at each call.
CREATE FUNCTION cc.flow_customer_leg(call uuid) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN (SELECT l.id FROM cc.legs AS l WHERE l.call_id = call AND l.kind = 'customer'
             ORDER BY l.created_at LIMIT 1);
END;
$$;
COMMENT ON FUNCTION cc.flow_customer_leg(uuid) IS 'The customer leg of a call (the first one).';

CREATE FUNCTION cc.flow_with_leg(call uuid, actions jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_agg(CASE WHEN a ? 'leg' THEN a ELSE a || jsonb_build_object('leg', l.id) END
                                      ORDER BY i), '[]')
              FROM jsonb_array_elements(coalesce(actions, '[]')) WITH ORDINALITY AS x (a, i),
                   (SELECT cc.flow_customer_leg(call) AS id) AS l);
END;
$$;
COMMENT ON FUNCTION cc.flow_with_leg(uuid, jsonb) IS 'The actions, each naming its leg: the customer leg where none is named.';

CREATE FUNCTION cc.flow_graph_node(version_id uuid, node_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN (SELECT n FROM cc.flow_versions AS v, jsonb_array_elements(v.graph->'nodes') AS n
             WHERE v.id = version_id AND n->>'id' = node_id
             LIMIT 1);
END;
$$;
COMMENT ON FUNCTION cc.flow_graph_node(uuid, text) IS 'A node of a flow version''s graph by id (NULL if it has none).';

CREATE FUNCTION cc.flow_event(c cc.calls, type text, data jsonb DEFAULT '{}') RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM cc.event_append('flow.' || type, jsonb_strip_nulls(coalesce(data, '{}')), call_id => c.id);
END;
$$;
COMMENT ON FUNCTION cc.flow_event(cc.calls, text, jsonb) IS 'Appends a flow.<type> event of the call (nulls stripped from its data).';

CREATE FUNCTION cc.flow_position_carry(pos jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('seq', pos->'seq', 'visits', pos->'visits',
                                                'entries', pos->'entries', 'simulation', pos->'simulation'));
$$;
COMMENT ON FUNCTION cc.flow_position_carry(jsonb) IS
    'The part of a flow position that outlives a node: tag counter, visit counts, simulation settings.';

CREATE FUNCTION cc.flow_wait(c cc.calls, node jsonb, await text, state jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    -- a new tag for what the node now waits for; state replaces the node's own state
    SELECT cc.flow_position_carry(c.flow_position)
        || jsonb_build_object('node', node->>'id',
                              'seq', coalesce((c.flow_position->>'seq')::integer, 0) + 1,
                              'tag', (node->>'id') || ':' || (coalesce((c.flow_position->>'seq')::integer, 0) + 1),
                              'await', await)
        || coalesce(state, '{}');
$$;
COMMENT ON FUNCTION cc.flow_wait(cc.calls, jsonb, text, jsonb) IS
    'The position of a node that waits for something: a new tag (node id and counter), what it awaits, and its state.';

CREATE FUNCTION cc.flow_go(node jsonb, connection text, fallback text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT CASE
        WHEN node #>> ARRAY['connections', connection] IS NOT NULL
            THEN jsonb_build_object('goto', node #>> ARRAY['connections', connection])
        WHEN fallback IS NOT NULL AND node #>> ARRAY['connections', fallback] IS NOT NULL
            THEN jsonb_build_object('goto', node #>> ARRAY['connections', fallback])
        ELSE jsonb_build_object('hangup', format('node %s has no connections.%s', node->>'id', connection))
    END;
$$;
COMMENT ON FUNCTION cc.flow_go(jsonb, text, text) IS
    'Step result: go to the node''s connection (or the fallback connection); without either the flow ends with a hang-up.';

CREATE FUNCTION cc.flow_finish(call uuid, reason text, hangup boolean, c cc.calls DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF c.id IS NULL THEN
        SELECT * INTO c FROM cc.calls WHERE id = call;
    END IF;
    UPDATE cc.calls SET flow_node = c.flow_node,
                        flow_position = cc.flow_position_carry(c.flow_position)
                                        || jsonb_build_object('node', c.flow_node, 'await', 'none')
     WHERE id = call;
    PERFORM cc.flow_event(c, 'ended', jsonb_build_object('node', c.flow_node, 'reason', reason, 'hangup', hangup));
    RETURN CASE WHEN hangup THEN '[{"type": "hangup"}]'::jsonb ELSE '[]'::jsonb END;
END;
$$;
COMMENT ON FUNCTION cc.flow_finish(uuid, text, boolean, cc.calls) IS
    'Ends the flow of a call (await none, a flow.ended event with the reason); returns a hangup action if asked. c: the call row when it holds a position not saved yet (cc.flow_run).';

CREATE FUNCTION cc.flow_fail(c cc.calls, node jsonb, message text, sqlstate text DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM cc.flow_event(c, 'error', jsonb_build_object('node', node->>'id', 'node_type', node->>'type',
                                                         'error', message, 'sqlstate', sqlstate));
    IF node #>> '{connections,failure}' IS NOT NULL THEN
        RETURN jsonb_build_object('actions', '[{"type": "stop_media"}]'::jsonb, 'goto', node #>> '{connections,failure}');
    END IF;
    RETURN jsonb_build_object('actions', '[]'::jsonb, 'hangup', 'error');
END;
$$;
COMMENT ON FUNCTION cc.flow_fail(cc.calls, jsonb, text, text) IS
    'Step result after an error in a node: flow.error, then connections.failure if the node has one, else hang up.';

CREATE FUNCTION cc.flow_node_step(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    msg   text;
    state text;
BEGIN
    BEGIN
        RETURN CASE node->>'type'
            WHEN 'start'              THEN cc.flow_go(node, 'next')
            WHEN 'end'                THEN cc.flow_node_end(c, node, event)
            WHEN 'pause'              THEN cc.flow_node_pause(c, node, event)
            WHEN 'play'               THEN cc.flow_node_play(c, node, event)
            WHEN 'menu'               THEN cc.flow_node_menu(c, node, event)
            WHEN 'speech_menu'        THEN cc.flow_node_menu(c, node, event)
            WHEN 'collect'            THEN cc.flow_node_collect(c, node, event)
            WHEN 'http'               THEN cc.flow_node_http(c, node, event)
            WHEN 'condition'          THEN cc.flow_node_condition(c, node, event)
            WHEN 'service_hours'      THEN cc.flow_node_service_hours(c, node, event)
            WHEN 'transfer_queue'     THEN cc.flow_node_transfer_queue(c, node, event)
            WHEN 'transfer_external'  THEN cc.flow_node_transfer_external(c, node, event)
            WHEN 'transfer_extension' THEN cc.flow_node_transfer_extension(c, node, event)
            WHEN 'voicemail'          THEN cc.flow_node_voicemail(c, node, event)
            WHEN 'survey'             THEN cc.flow_node_survey(c, node, event)
            WHEN 'set_variable'       THEN cc.flow_node_set_variable(c, node, event)
            WHEN 'bot'                THEN cc.flow_node_bot(c, node, event)
            ELSE cc.flow_fail(c, node, format('node type %s is unknown', node->'type'))
        END;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
        RETURN cc.flow_fail(c, node, msg, state);
    END;
END;
$$;
COMMENT ON FUNCTION cc.flow_node_step(cc.calls, jsonb, jsonb) IS
    'One step of a node: its step function for the node''s type (event NULL: entering it), in a subtransaction; an error becomes cc.flow_fail.';

CREATE FUNCTION cc.flow_run(call uuid, target text, actions jsonb DEFAULT '[]') RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c       cc.calls;
    node    jsonb;
    pos     jsonb;
    r       jsonb;
    prev_target text;
    steps   integer := 0;
    visits  integer;
    entries integer;
    unsaved boolean := false;   -- the position of the node entered last is in c only
BEGIN
    LOOP
        SELECT * INTO c FROM cc.calls WHERE id = call;
        IF unsaved THEN
            c.flow_node := prev_target;
            c.flow_position := pos;
        END IF;
        node := cc.flow_graph_node(c.flow_version_id, target);
        IF node IS NULL THEN
            PERFORM cc.flow_event(c, 'error', jsonb_build_object('node', target,
                'error', format('node %s is not in the graph', to_jsonb(target))));
            RETURN actions || cc.flow_finish(call, 'error', true, CASE WHEN unsaved THEN c END);
        END IF;
        pos := cc.flow_position_carry(c.flow_position);
        visits := coalesce((pos #>> ARRAY['visits', target])::integer, 0) + 1;
        entries := coalesce((pos->>'entries')::integer, 0) + 1;
        steps := steps + 1;
        pos := pos || jsonb_build_object('visits', coalesce(pos->'visits', '{}') || jsonb_build_object(target, visits),
                                         'entries', entries, 'node', target);
        c.flow_node := target;
        c.flow_position := pos;
        -- The nodes whose entry reads the call only from c (start, pause,
        -- play, end) leave their position unsaved: the next node, the wait
        -- or the end saves it, one UPDATE instead of one per node (each
        -- UPDATE evaluates every CHECK of cc.calls, and re-checks the
        -- foreign keys of a row inserted in the same transaction).
        unsaved := node->>'type' IN ('start', 'pause', 'play', 'end');
        IF NOT unsaved THEN
            UPDATE cc.calls SET flow_node = target, flow_position = pos WHERE id = call;
        END IF;
        IF steps > 200 OR entries > 10000 THEN
            -- a runaway flow (validation bounds loops; this is the safety net)
            PERFORM cc.flow_event(c, 'error', jsonb_build_object('node', target,
                'error', format('the flow entered %s nodes without waiting (%s in the call)', steps, entries)));
            RETURN actions || cc.flow_finish(call, 'runaway', true, CASE WHEN unsaved THEN c END);
        END IF;
        IF visits > (node #>> '{properties,max_visits}')::integer THEN
            PERFORM cc.flow_event(c, 'max_visits', jsonb_build_object('node', target, 'visits', visits));
            r := cc.flow_go(node, 'max_visits');
        ELSE
            PERFORM cc.flow_event(c, 'node_entered', jsonb_build_object('node', target, 'type', node->>'type',
                                                                        'label', node->>'label'));
            IF node->>'type' = 'survey' AND c.survey_entered_at IS NULL THEN
                -- kept on the call, so the CDR need not search the events for it
                UPDATE cc.calls SET survey_entered_at = now() WHERE id = call;
                c.survey_entered_at := now();
            END IF;
            r := cc.flow_node_step(c, node, NULL);
        END IF;
        actions := actions || coalesce(r->'actions', '[]');
        IF r ? 'goto' THEN
            prev_target := target;
            target := r->>'goto';
            CONTINUE;
        END IF;
        RETURN cc.flow_continue(call, r || jsonb_build_object('actions', actions), CASE WHEN unsaved THEN c END);
    END LOOP;
END;
$$;
COMMENT ON FUNCTION cc.flow_run(uuid, text, jsonb) IS
    'Enters node target and the nodes it leads to until one waits or the flow ends; returns the actions so far plus theirs.';

CREATE FUNCTION cc.flow_continue(call uuid, r jsonb, unsaved cc.calls DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    actions jsonb := coalesce(r->'actions', '[]');
BEGIN
    IF r IS NULL OR r ? 'goto' THEN
        IF unsaved.id IS NOT NULL THEN
            UPDATE cc.calls SET flow_node = unsaved.flow_node, flow_position = unsaved.flow_position WHERE id = call;
        END IF;
        RETURN CASE WHEN r IS NULL THEN '[]' ELSE cc.flow_run(call, r->>'goto', actions) END;
    ELSIF r ? 'wait' THEN
        UPDATE cc.calls SET flow_node = coalesce(unsaved.flow_node, flow_node), flow_position = r->'wait' WHERE id = call;
        RETURN actions;
    ELSIF r ? 'done' THEN
        RETURN actions || cc.flow_finish(call, r->>'done', false, unsaved);
    END IF;
    RETURN actions || cc.flow_finish(call, coalesce(r->>'hangup', 'end'), true, unsaved);
END;
$$;
COMMENT ON FUNCTION cc.flow_continue(uuid, jsonb, cc.calls) IS
    'Carries out a step result: go on to another node, store the waiting position, or end the flow. unsaved: the call row when the node''s position is in it only (cc.flow_run), saved with the wait or the end.';

CREATE FUNCTION cc.flow_dispatch(call uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c    cc.calls;
    node jsonb;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    node := cc.flow_graph_node(c.flow_version_id, c.flow_node);
    IF node IS NULL OR c.flow_position->>'await' = 'none' THEN
        RETURN '[]';
    END IF;
    RETURN cc.flow_with_leg(call, cc.flow_continue(call, cc.flow_node_step(c, node, event)));
END;
$$;
COMMENT ON FUNCTION cc.flow_dispatch(uuid, jsonb) IS
    'Hands an event to the node the call is at and carries out what it decides; returns the actions, each naming its leg.';

-- The hooks ----------------------------------------------------------------

CREATE FUNCTION cc.flow_start(call uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c          cc.calls;
    start_node text;
    leg        cc.legs;
    actions    jsonb := '[]';
    fresh      jsonb;       -- the position a flow starts from (a simulation keeps its marker)
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: call % does not exist', call USING ERRCODE = 'no_data_found';
    END IF;
    SELECT n->>'id' INTO start_node
      FROM cc.flow_versions AS v, jsonb_array_elements(v.graph->'nodes') AS n
     WHERE v.id = c.flow_version_id AND n->>'type' = 'start'
     LIMIT 1;
    IF start_node IS NULL THEN
        PERFORM cc.flow_event(c, 'error', jsonb_build_object('error',
            CASE WHEN c.flow_version_id IS NULL THEN 'no published flow version' ELSE 'the graph has no start node' END));
        UPDATE cc.calls SET flow_position = flow_position || '{"await": "none"}' WHERE id = call;
        RETURN cc.flow_with_leg(call, '[{"type": "hangup", "code": 480, "reason": "No flow"}]');
    END IF;
    fresh := jsonb_strip_nulls(jsonb_build_object('simulation', c.flow_position->'simulation'));
    IF c.state IS DISTINCT FROM 'ivr' OR c.flow_node IS NOT NULL OR c.flow_position IS DISTINCT FROM fresh THEN
        -- (a call that cc.call_arrived created for this flow is so already)
        UPDATE cc.calls SET state = 'ivr', flow_node = NULL, flow_position = fresh WHERE id = call;
    END IF;
    PERFORM cc.flow_event(c, 'started', jsonb_build_object('flow', c.flow_id, 'version',
        (SELECT v.version FROM cc.flow_versions AS v WHERE v.id = c.flow_version_id)));
    SELECT * INTO leg FROM cc.legs AS l WHERE l.id = cc.flow_customer_leg(call);
    IF leg.direction = 'inbound' AND leg.state IN ('new', 'ringing') THEN
        actions := '[{"type": "answer"}]';
    END IF;
    RETURN cc.flow_with_leg(call, cc.flow_run(call, start_node, actions));
END;
$$;
COMMENT ON FUNCTION cc.flow_start(uuid) IS
    'Hook: the first actions of the call''s flow: answer (an inbound leg not answered yet), then the nodes from start until one waits.';

CREATE FUNCTION cc.flow_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos  jsonb;
    kind text := event->>'type';
BEGIN
    SELECT c.flow_position INTO pos FROM cc.calls AS c WHERE c.id = call;
    IF kind IN ('play_done', 'collect_done', 'wait_done', 'refer_result') THEN
        -- a refer_result carries the tag of its REFER: a late NOTIFY of an
        -- earlier transfer does not decide the one the node waits for
        IF pos->>'await' IS DISTINCT FROM kind OR event->>'tag' IS DISTINCT FROM pos->>'tag' THEN
            RETURN '[]';    -- late, or not what the node waits for
        END IF;
    ELSE
        RETURN '[]';        -- dtmf outside a collection, answered, hold, ...
    END IF;
    RETURN cc.flow_dispatch(call, event);
END;
$$;
COMMENT ON FUNCTION cc.flow_on_event(uuid, uuid, jsonb) IS
    'Hook: an event of the customer leg of a call in a flow: the completion the node waits for (by tag) moves the flow on; others are ignored. recording_done completes a voicemail''s recording row.';

CREATE FUNCTION cc.flow_on_leg_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos jsonb;
BEGIN
    SELECT c.flow_position INTO pos FROM cc.calls AS c WHERE c.id = call;
    IF pos->>'await' IS DISTINCT FROM 'dial' OR pos->>'leg' IS DISTINCT FROM leg::text
       OR event->>'type' NOT IN ('answered', 'failed', 'ended') THEN
        RETURN '[]';
    END IF;
    RETURN cc.flow_dispatch(call, jsonb_build_object('type', 'leg', 'leg', leg, 'event', event));
END;
$$;
COMMENT ON FUNCTION cc.flow_on_leg_event(uuid, uuid, jsonb) IS
    'Hook (proposed for the router): an event of a leg the flow dialled (transfer to an external number or an extension) while the call is in the flow: answered bridges it, failed follows the failure path.';

CREATE FUNCTION cc.flow_resume(call uuid, reason text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c    cc.calls;
    node jsonb;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF NOT FOUND OR c.state = 'ended' OR coalesce(c.flow_position->>'await', 'none') NOT IN ('queue', 'bridged') THEN
        RETURN '[]';
    END IF;
    node := cc.flow_graph_node(c.flow_version_id, c.flow_node);
    PERFORM cc.flow_event(c, 'resumed', jsonb_build_object('node', c.flow_node, 'reason', reason));
    IF node #>> ARRAY['connections', reason] IS NULL AND node #>> '{connections,next}' IS NULL THEN
        PERFORM cc.flow_finish(call, 'after ' || coalesce(reason, 'transfer'), false);
        RETURN '[]';    -- nothing more: the router ends the call
    END IF;
    UPDATE cc.calls SET state = 'ivr' WHERE id = call;
    RETURN cc.flow_with_leg(call, cc.flow_run(call, coalesce(node #>> ARRAY['connections', reason],
                                                             node #>> '{connections,next}'),
                                              '[{"type": "stop_media"}]'));
END;
$$;
COMMENT ON FUNCTION cc.flow_resume(uuid, text) IS
    'Hook: continue the flow after a queue or transfer step (reason agent_hangup, timeout, exited_with_key, no_agent, full, ...): the node''s connection named after the reason, else its next; [] = nothing more.';

CREATE FUNCTION cc.flow_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    call uuid := (timer->>'call_id')::uuid;
    pos  jsonb;
BEGIN
    SELECT c.flow_position INTO pos FROM cc.calls AS c WHERE c.id = call AND c.state <> 'ended';
    IF pos IS NULL OR timer #>> '{data,tag}' IS DISTINCT FROM pos->>'tag' THEN
        RETURN '[]';
    END IF;
    RETURN cc.flow_dispatch(call, jsonb_build_object('type', 'timer', 'kind', timer->>'kind', 'tag', pos->>'tag'));
END;
$$;
COMMENT ON FUNCTION cc.flow_on_timer(jsonb) IS
    'Hook: a flow.* timer is due (the timer row as JSON); it acts only if the call still waits with the timer''s tag (HTTP guard, voicemail length).';

CREATE FUNCTION cc.flow_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos jsonb;
BEGIN
    SELECT c.flow_position INTO pos FROM cc.calls AS c WHERE c.id = call AND c.state <> 'ended';
    IF pos->>'await' IS DISTINCT FROM 'http' OR pos->>'request' IS DISTINCT FROM request::text THEN
        RETURN '[]';    -- a late answer, after the guard timer gave up on it
    END IF;
    RETURN cc.flow_dispatch(call, jsonb_build_object('type', 'http', 'request', request, 'answer', answer));
END;
$$;
COMMENT ON FUNCTION cc.flow_on_http(uuid, uuid, jsonb) IS
    'Hook: the answer ({"status", "headers", "body", "error", "attempts"}) to the HTTP request an HTTP node or a bot turn waits for; returns actions.';

