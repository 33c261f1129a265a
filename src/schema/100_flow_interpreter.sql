-- 100_flow_interpreter.sql: runs a call's flow (the IVR hooks of
-- docs/call-model.md).
--
-- PLACEHOLDER until the IVR issue: it knows start, pause, play and end,
-- follows connections.next, and waits for the wait_done / play_done whose
-- tag it issued.  The IVR issue replaces this file with the interpreter of
-- every node; the hook signatures stay.

CREATE FUNCTION cc.flow_prompt_action(prompt jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    p cc.prompts;
BEGIN
    IF prompt ? 'prompt_id' THEN
        SELECT * INTO p FROM cc.prompts WHERE id = (prompt->>'prompt_id')::uuid;
        IF p.kind = 'tts' THEN
            RETURN jsonb_build_object('type', 'play', 'tts', p.tts_text, 'voice', p.voice);
        END IF;
        RETURN jsonb_build_object('type', 'play', 'file', p.file_path);
    ELSIF prompt ? 'tts' THEN
        RETURN jsonb_strip_nulls(jsonb_build_object('type', 'play', 'tts', prompt->>'tts', 'voice', prompt->>'voice'));
    END IF;
    RETURN jsonb_build_object('type', 'play', 'file', prompt->>'file');
END;
$$;
COMMENT ON FUNCTION cc.flow_prompt_action(jsonb) IS
    'The play action of a prompt widget: {"tts", "voice"}, {"file"} or {"prompt_id"}.';

CREATE FUNCTION cc.flow_run(call uuid, node_id text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    graph   jsonb;
    node    jsonb;
    tag     text;
    actions jsonb := '[]';
BEGIN
    SELECT v.graph INTO graph
      FROM cc.calls AS c JOIN cc.flow_versions AS v ON v.id = c.flow_version_id
     WHERE c.id = call;
    LOOP
        SELECT n INTO node FROM jsonb_array_elements(graph->'nodes') AS n WHERE n->>'id' = node_id;
        IF node IS NULL THEN
            RETURN actions || '[{"type": "hangup"}]';
        END IF;
        tag := node_id || ':' || (cc.event_append('flow.node_entered',
                   jsonb_build_object('node', node_id, 'type', node->>'type'), call_id => call));
        UPDATE cc.calls AS c SET flow_node = node_id, flow_position = jsonb_build_object('tag', tag)
         WHERE c.id = call;
        CASE node->>'type'
            WHEN 'start' THEN
                node_id := node #>> '{connections,next}';
            WHEN 'pause' THEN
                RETURN actions || jsonb_build_array(jsonb_build_object('type', 'wait', 'tag', tag,
                    'ms', round(coalesce((node #>> '{properties,seconds}')::numeric, 1) * 1000)::integer));
            WHEN 'play' THEN
                RETURN actions || jsonb_build_array(cc.flow_prompt_action(node #> '{properties,prompt}')
                                                    || jsonb_build_object('tag', tag));
            ELSE
                -- end, and every node this placeholder does not know
                RETURN actions || '[{"type": "hangup"}]';
        END CASE;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION cc.flow_run(uuid, text) IS 'PLACEHOLDER interpreter step: enters node_id and returns its actions.';

CREATE FUNCTION cc.flow_start(call uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    start_node text;
BEGIN
    SELECT n->>'id' INTO start_node
      FROM cc.calls AS c JOIN cc.flow_versions AS v ON v.id = c.flow_version_id,
           jsonb_array_elements(v.graph->'nodes') AS n
     WHERE c.id = call AND n->>'type' = 'start';
    IF start_node IS NULL THEN
        RETURN '[{"type": "hangup", "code": 480, "reason": "No flow"}]';
    END IF;
    UPDATE cc.calls SET state = 'ivr' WHERE id = call;
    RETURN '[{"type": "answer"}]'::jsonb || cc.flow_run(call, start_node);
END;
$$;
COMMENT ON FUNCTION cc.flow_start(uuid) IS 'Hook: the first actions of the call''s flow (answer, then its start node''s successors).';

CREATE FUNCTION cc.flow_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c    cc.calls;
    next text;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF event->>'type' NOT IN ('wait_done', 'play_done')
       OR event->>'tag' IS DISTINCT FROM c.flow_position->>'tag' THEN
        RETURN '[]';
    END IF;
    SELECT n #>> '{connections,next}' INTO next
      FROM cc.flow_versions AS v, jsonb_array_elements(v.graph->'nodes') AS n
     WHERE v.id = c.flow_version_id AND n->>'id' = c.flow_node;
    RETURN cc.flow_run(call, next);
END;
$$;
COMMENT ON FUNCTION cc.flow_on_event(uuid, uuid, jsonb) IS 'Hook: the next actions of the flow after an event of the customer leg.';

CREATE FUNCTION cc.flow_resume(call uuid, reason text) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.flow_resume(uuid, text) IS 'Hook: continue the flow after a queue step; [] = nothing more.';

CREATE FUNCTION cc.flow_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.flow_on_timer(jsonb) IS 'Hook: a flow.* timer of cc.timers is due (the timer row as JSON); returns actions.';

CREATE FUNCTION cc.flow_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.flow_on_http(uuid, uuid, jsonb) IS 'Hook: the answer to an HTTP request of the flow (an HTTP node or a bot turn); returns actions.';
