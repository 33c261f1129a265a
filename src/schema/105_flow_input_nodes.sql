-- 105_flow_input_nodes.sql: the nodes that ask the caller for keys: menu,
-- speech_menu (its DTMF fallback, until speech recognition exists),
-- collect, survey, and the extension the caller keys in a
-- transfer_extension node.
--
-- They share one pattern: play the prompt (barge-in) and collect DTMF with
-- one tag; the collect_done says what came.  No key in time is a timeout,
-- a key the node does not take is invalid: either counts an error, plays
-- the timeout or invalid prompt, then the prompt again and collects again;
-- at max_errors the node follows connections.max_errors (without it: hang
-- up, or for a survey its next).  What the caller chose is kept for the
-- CDR (cc.calls.choices).

CREATE FUNCTION cc.flow_collect_parameters(node jsonb) RETURNS jsonb
LANGUAGE sql STABLE
AS $$
    SELECT jsonb_build_object('first_digit_timeout_ms',
                              round((cc.flow_prop(node, 'timeout_s') #>> '{}')::numeric * 1000)::integer)
        || CASE
            WHEN node->>'type' IN ('menu', 'speech_menu', 'survey') THEN '{"count": 1}'::jsonb
            WHEN node->>'type' = 'transfer_extension' THEN
                jsonb_build_object('count', cc.flow_prop(node, 'extension_length'),
                                   'inter_digit_timeout_count',
                                   round((cc.flow_prop(node, 'timeout_s') #>> '{}')::numeric * 1000)::integer)
            WHEN cc.flow_prop(node, 'mode') = '"fixed_length"' THEN
                jsonb_build_object('count', cc.flow_prop(node, 'max_digits'),
                                   'inter_digit_timeout_count',
                                   round((cc.flow_prop(node, 'inter_digit_timeout_s') #>> '{}')::numeric * 1000)::integer)
            ELSE
                -- room for the termination key after max_digits digits: the
                -- key ends this input instead of reaching the next node
                jsonb_build_object('termination_key', cc.flow_prop(node, 'termination_key'),
                                   'maximum_count', least((cc.flow_prop(node, 'max_digits') #>> '{}')::integer + 1, 100),
                                   'inter_digit_timeout_count',
                                   round((cc.flow_prop(node, 'inter_digit_timeout_s') #>> '{}')::numeric * 1000)::integer)
        END;
$$;
COMMENT ON FUNCTION cc.flow_collect_parameters(jsonb) IS
    'The dtmf collect parameters of an input node: one key for menus and surveys, a fixed count, or up to max_digits ended by the termination key (maximum_count max_digits + 1, so the key typed after max_digits digits ends the input); first_digit_timeout_ms from timeout_s.';

CREATE FUNCTION cc.flow_ask(c cc.calls, node jsonb, errors integer, first jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos     jsonb := cc.flow_wait(c, node, 'collect_done', jsonb_build_object('errors', errors));
    barge   jsonb := jsonb_build_object('barge_in', coalesce(cc.flow_prop(node, 'barge_in'), 'true'));
    actions jsonb := '[]';
    a       jsonb;
BEGIN
    a := cc.flow_prompt_action(c, first, barge);
    IF a IS NOT NULL THEN
        actions := actions || a;
    END IF;
    a := cc.flow_prompt_action(c, cc.flow_prop(node, 'prompt'), barge);
    IF a IS NOT NULL THEN
        actions := actions || a;
    END IF;
    actions := actions || cc.flow_collect_action(cc.flow_collect_parameters(node), pos->>'tag');
    RETURN jsonb_build_object('actions', actions, 'wait', pos);
END;
$$;
COMMENT ON FUNCTION cc.flow_ask(cc.calls, jsonb, integer, jsonb) IS
    'Step result of an input node asking: an optional first prompt (timeout or invalid), the node''s prompt, then the collection, tagged; errors so far kept in the position.';

CREATE FUNCTION cc.flow_ask_again(c cc.calls, node jsonb, why text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    errors integer := coalesce((c.flow_position->>'errors')::integer, 0) + 1;
    max    integer := coalesce(cc.flow_prop(node, 'max_errors'), cc.flow_prop(node, 'retries')) #>> '{}';
BEGIN
    PERFORM cc.flow_event(c, 'input_error', jsonb_build_object('node', node->>'id', 'error', why,
                                                               'errors', errors, 'max_errors', max));
    IF errors >= max THEN
        IF node #>> '{connections,max_errors}' IS NOT NULL THEN
            RETURN jsonb_build_object('goto', node #>> '{connections,max_errors}');
        ELSIF node->>'type' = 'survey' THEN
            RETURN cc.flow_go(node, 'next');
        END IF;
        RETURN jsonb_build_object('hangup', 'max_errors');
    END IF;
    RETURN cc.flow_ask(c, node, errors,
        CASE WHEN why = 'timeout' THEN cc.flow_prop(node, 'timeout_prompt')
             ELSE cc.flow_prop(node, CASE node->>'type' WHEN 'collect' THEN 'failure_prompt'
                                                        WHEN 'speech_menu' THEN 'error_prompt'
                                                        ELSE 'invalid_prompt' END) END);
END;
$$;
COMMENT ON FUNCTION cc.flow_ask_again(cc.calls, jsonb, text) IS
    'Step result after a timeout or an invalid entry: one more error; at max_errors connections.max_errors (else hang up; a survey goes on), otherwise the timeout or invalid prompt and the question again.';

CREATE FUNCTION cc.flow_menu_dynamic(c cc.calls, node jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    v jsonb := c.variables -> (node #>> '{properties,branches_variable}');
BEGIN
    IF jsonb_typeof(v) = 'string' THEN
        BEGIN
            v := (v #>> '{}')::jsonb;
        EXCEPTION WHEN OTHERS THEN
            v := NULL;
        END;
    END IF;
    IF jsonb_typeof(v) IS DISTINCT FROM 'array' THEN
        PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
            'warning', format('variable %s holds no array of dynamic branches', node #>> '{properties,branches_variable}')));
        RETURN '[]';
    END IF;
    RETURN v;
END;
$$;
COMMENT ON FUNCTION cc.flow_menu_dynamic(cc.calls, jsonb) IS
    'The dynamic branches of a menu: the JSON array (or JSON text of one) held by properties.branches_variable, of {digits, name, lable, next}.';

CREATE FUNCTION cc.flow_node_menu(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    digits text := coalesce(event->>'digits', '');
    b      jsonb;
BEGIN
    IF event IS NULL THEN
        RETURN cc.flow_ask(c, node, 0, NULL);
    ELSIF event->>'type' <> 'collect_done' OR event->>'reason' = 'stopped' THEN
        RETURN NULL;
    ELSIF digits = '' THEN
        RETURN cc.flow_ask_again(c, node, 'timeout');
    END IF;
    SELECT x INTO b FROM jsonb_array_elements(coalesce(node #> '{properties,branches}', '[]')) AS x
     WHERE x->>'key' = left(digits, 1);
    IF b IS NULL AND node #> '{properties,branches_variable}' IS NOT NULL THEN
        SELECT x INTO b FROM jsonb_array_elements(cc.flow_menu_dynamic(c, node)) AS x
         WHERE jsonb_typeof(x) = 'object' AND coalesce(x->>'digits', x->>'key') = left(digits, 1)
         LIMIT 1;
        IF b IS NOT NULL AND NOT node #> '{properties,dynamic_next}' ? (b->>'next') THEN
            PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
                'warning', format('dynamic branch %s leads to %s, which is not in dynamic_next', b, b->'next')));
            b := NULL;
        END IF;
        b := b || jsonb_build_object('label', coalesce(b->>'lable', b->>'label', b->>'name'));
    END IF;
    IF b IS NULL THEN
        RETURN cc.flow_ask_again(c, node, 'invalid');
    END IF;
    PERFORM cc.flow_add_choice(c, node, CASE WHEN node->>'type' = 'speech_menu' THEN 'speech' ELSE 'menu' END,
                               left(digits, 1), b->>'label');
    RETURN jsonb_build_object('goto', b->>'next');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_menu(cc.calls, jsonb, jsonb) IS
    'Step of a menu (and of a speech_menu, by its DTMF keys): the key pressed picks a static branch, else a dynamic one; the key and its label go to the CDR.';

CREATE FUNCTION cc.flow_node_collect(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    digits text := coalesce(event->>'digits', '');
    tk     text := cc.flow_prop(node, 'termination_key') #>> '{}';
    fixed  boolean := cc.flow_prop(node, 'mode') = '"fixed_length"';
    maxd   integer := cc.flow_prop(node, 'max_digits') #>> '{}';
    mind   integer := cc.flow_prop(node, 'min_digits') #>> '{}';
    var    text := node #>> '{properties,variable}';
BEGIN
    IF event IS NULL THEN
        RETURN cc.flow_ask(c, node, 0, NULL);
    ELSIF event->>'type' <> 'collect_done' OR event->>'reason' = 'stopped' THEN
        RETURN NULL;
    END IF;
    IF NOT fixed AND right(digits, 1) = tk THEN
        digits := left(digits, -1);
    END IF;
    IF digits = '' THEN
        RETURN cc.flow_ask_again(c, node,
            CASE WHEN event->>'reason' IN ('timeout', 'first_digit_timeout') THEN 'timeout' ELSE 'invalid' END);
    END IF;
    IF digits !~ '^[0-9*#]+$'
       OR fixed AND length(digits) <> maxd
       OR NOT fixed AND length(digits) NOT BETWEEN mind AND maxd THEN
        RETURN cc.flow_ask_again(c, node, 'invalid');
    END IF;
    PERFORM cc.flow_set_variables(c.id, jsonb_build_object(var, digits));
    PERFORM cc.flow_add_choice(c, node, 'collect', NULL, NULL, var, to_jsonb(digits));
    RETURN cc.flow_go(node, 'next');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_collect(cc.calls, jsonb, jsonb) IS
    'Step of a collect node: the digits (fixed length, or min_digits to max_digits ended by the termination key or a pause) go into properties.variable and the CDR; otherwise an error.';

CREATE FUNCTION cc.flow_node_survey(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    digits text := coalesce(event->>'digits', '');
    o      jsonb;
    patch  jsonb := '{}';
    pos    jsonb;
    play   jsonb;
BEGIN
    IF event IS NULL THEN
        RETURN cc.flow_ask(c, node, 0, NULL);
    ELSIF event->>'type' = 'play_done' THEN
        RETURN cc.flow_go(node, 'next');        -- the thanks prompt is over
    ELSIF event->>'type' <> 'collect_done' OR event->>'reason' = 'stopped' THEN
        RETURN NULL;
    ELSIF digits = '' THEN
        RETURN cc.flow_ask_again(c, node, 'timeout');
    END IF;
    SELECT x INTO o FROM jsonb_array_elements(node #> '{properties,options}') AS x WHERE x->>'key' = left(digits, 1);
    IF o IS NULL THEN
        RETURN cc.flow_ask_again(c, node, 'invalid');
    END IF;
    IF node #> '{properties,key_variable}' IS NOT NULL THEN
        patch := patch || jsonb_build_object(node #>> '{properties,key_variable}', o->>'key');
    END IF;
    IF node #> '{properties,label_variable}' IS NOT NULL THEN
        patch := patch || jsonb_build_object(node #>> '{properties,label_variable}', o->>'label');
    END IF;
    PERFORM cc.flow_set_variables(c.id, patch);
    PERFORM cc.flow_add_choice(c, node, 'survey', o->>'key', o->>'label');
    pos := cc.flow_wait(c, node, 'play_done', '{"phase": "thanks"}');
    play := cc.flow_prompt_action(c, cc.flow_prop(node, 'thanks_prompt'), jsonb_build_object('tag', pos->>'tag'));
    IF play IS NOT NULL THEN
        RETURN jsonb_build_object('actions', jsonb_build_array(play), 'wait', pos);
    END IF;
    RETURN cc.flow_go(node, 'next');
END;
$$;
COMMENT ON FUNCTION cc.flow_node_survey(cc.calls, jsonb, jsonb) IS
    'Step of a survey node: the key picks an option; its key and label go into key_variable and label_variable and the CDR (the satisfaction is the last survey choice); then the thanks prompt and next.';

CREATE FUNCTION cc.flow_node_transfer_extension(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    digits text := coalesce(event->>'digits', '');
    agent  cc.agents;
    phone  cc.phones;
BEGIN
    IF event IS NULL THEN
        RETURN cc.flow_ask(c, node, 0, NULL);
    ELSIF event->>'type' IN ('leg', 'play_done') THEN
        RETURN cc.flow_dial_step(c, node, event);       -- the extension rings (106)
    ELSIF event->>'type' <> 'collect_done' OR event->>'reason' = 'stopped' THEN
        RETURN NULL;
    ELSIF digits = '' THEN
        RETURN cc.flow_ask_again(c, node, 'timeout');
    END IF;
    IF length(digits) = (cc.flow_prop(node, 'extension_length') #>> '{}')::integer THEN
        SELECT * INTO agent FROM cc.agents AS a WHERE a.extension = digits AND a.enabled;
        IF agent.id IS NULL THEN
            SELECT * INTO phone FROM cc.phones AS p WHERE p.extension = digits AND p.enabled;
        END IF;
    END IF;
    IF agent.id IS NULL AND phone.id IS NULL THEN
        PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
            'warning', format('no enabled agent or phone has extension %s', digits)));
        RETURN cc.flow_ask_again(c, node, 'invalid');
    END IF;
    RETURN cc.flow_dial_extension(c, node, digits, agent.id, phone.id);
END;
$$;
COMMENT ON FUNCTION cc.flow_node_transfer_extension(cc.calls, jsonb, jsonb) IS
    'Step of a transfer_extension node: the caller keys an extension of extension_length digits (errors as in a menu); an enabled agent''s or phone''s extension is dialled and bridged (106).';
