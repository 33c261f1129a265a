-- 107_flow_bot.sql: the bot node, an external bot that answers each turn
-- in IBM's phone-integration format (spec/ibm-phone-actions.md).
--
-- A turn is a POST of {"session_id", "turn", "input": {"text"},
-- "context": {...}} to the node's URL (cc http, purpose bot).  The answer's
-- generic array ({"output": {"generic": [...]}} or {"generic": [...]}) is
-- carried out in order: text, audio, dtmf (collect, send, barge-in),
-- speech_to_text and text_to_speech pass through as actions of the same
-- name; connect_to_agent and end_session end the bot's part (their SIP
-- header values checked: at most 1024 bytes), after the answer's last text
-- or audio has played, as IBM does (a REFER answered 2xx ends our dialog
-- with a BYE, cause transferred); user_defined
-- vgwActForceNoInputTurn starts the next turn at once with input
-- vgwNoInputTurn.  context.integrations.voice_telephony.cdr_custom_data
-- merges into the call's custom data.  After the responses, the caller's
-- keys are collected (the bot's own dtmf collect, else up to max_digits
-- ended by the termination key) and sent as the next turn's text; no key
-- in no_input_timeout_s sends vgwPostResponseTimeout, a failed transfer
-- vgwTransferFailed.  The bot runs until it transfers or ends the call,
-- max_turns, or an HTTP failure (then connections.failure, else next, else
-- hang up).

CREATE FUNCTION cc.flow_bot_check_headers(what text, headers jsonb) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    h jsonb;
BEGIN
    IF headers IS NULL THEN
        RETURN;
    END IF;
    IF jsonb_typeof(headers) <> 'array' THEN
        RAISE EXCEPTION 'cc: bot %: headers are %, not an array of {"name", "value"}', what, cc.flow_show(headers)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'IBM''s format: [{"name": "User-to-User", "value": "..."}].';
    END IF;
    FOR h IN SELECT * FROM jsonb_array_elements(headers) LOOP
        IF jsonb_typeof(h->'name') <> 'string' OR h->>'name' !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]{1,100}$' THEN
            RAISE EXCEPTION 'cc: bot %: header name % is not a SIP token', what, cc.flow_show(h->'name')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A SIP header name is 1 to 100 letters, digits and !#$%&''*+.^_`|~-.';
        END IF;
        IF jsonb_typeof(h->'value') <> 'string' THEN
            RAISE EXCEPTION 'cc: bot %: header % has the value %, not a string', what, h->>'name', cc.flow_show(h->'value')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF octet_length(h->>'value') > 1024 THEN
            RAISE EXCEPTION 'cc: bot %: header % is % bytes long; SIP header values are limited to 1024 bytes',
                            what, h->>'name', octet_length(h->>'value')
                USING ERRCODE = 'string_data_right_truncation',
                      HINT = 'Shorten the value (IBM''s phone integration has the same limit).';
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION cc.flow_bot_check_headers(text, jsonb) IS
    'Raises a clear error unless headers are IBM''s [{"name", "value"}] with SIP token names and values of at most 1024 bytes.';

CREATE FUNCTION cc.flow_bot_action(g jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE
AS $$
DECLARE
    rt     text := g->>'response_type';
    sip    jsonb := g #> '{transfer_info,target,service_desk,sip}';
    method text := coalesce(g #>> '{transfer_info,target,service_desk,sip,transfer_method}', 'refer');
    send   text := coalesce(g #>> '{transfer_info,target,service_desk,sip,transfer_headers_send_method}', 'custom_header');
BEGIN
    IF rt = 'connect_to_agent' THEN
        IF jsonb_typeof(sip) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'cc: bot connect_to_agent has no transfer_info.target.service_desk.sip'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'See spec/ibm-phone-actions.md: {"transfer_info": {"target": {"service_desk": {"sip": {"uri", ...}}}}}.';
        END IF;
        IF method NOT IN ('refer', 'hangup') THEN
            RAISE EXCEPTION 'cc: bot connect_to_agent: transfer_method % is not refer or hangup', quote_literal(method)
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF send NOT IN ('custom_header', 'contact_header', 'refer_to_header') THEN
            RAISE EXCEPTION 'cc: bot connect_to_agent: transfer_headers_send_method % is unknown', quote_literal(send)
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use custom_header, contact_header or refer_to_header.';
        END IF;
        IF method = 'hangup' AND send <> 'custom_header' THEN
            RAISE EXCEPTION 'cc: bot connect_to_agent: transfer_headers_send_method % is not allowed with transfer_method hangup', send
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'With hangup the headers go in the BYE: custom_header only.';
        END IF;
        IF method = 'refer' AND coalesce(sip->>'uri', '') !~ '^(sips?|tel):[^[:space:]]+$' THEN
            RAISE EXCEPTION 'cc: bot connect_to_agent: uri % is not a sip:, sips: or tel: URI', cc.flow_show(sip->'uri')
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM cc.flow_bot_check_headers('connect_to_agent', sip->'transfer_headers');
        -- Watson escapes the @ of SIP URIs (sip:user\@host); the wire does not
        IF sip ? 'uri' THEN
            g := jsonb_set(g, '{transfer_info,target,service_desk,sip,uri}', to_jsonb(replace(sip->>'uri', '\@', '@')));
        END IF;
    ELSIF rt = 'end_session' THEN
        PERFORM cc.flow_bot_check_headers('end_session', g #> '{channel_options,voice_telephony,sip,headers}');
    END IF;
    RETURN (g - 'response_type') || jsonb_build_object('type', rt);
END;
$$;
COMMENT ON FUNCTION cc.flow_bot_action(jsonb) IS
    'The action of one response of a bot''s generic array: the response with its response_type as the action type, connect_to_agent and end_session checked (clear errors, SIP header values at most 1024 bytes).';

CREATE FUNCTION cc.flow_bot_turn(c cc.calls, node jsonb, turn integer, input text, state jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars    jsonb := cc.flow_variables(c);
    headers jsonb := '{"Content-Type": "application/json"}';
    k       text;
    v       jsonb;
    body    jsonb;
BEGIN
    FOR k, v IN SELECT * FROM jsonb_each(coalesce(node #> '{properties,headers}', '{}')) LOOP
        headers := headers || jsonb_build_object(k, cc.flow_substitute(v #>> '{}', vars));
    END LOOP;
    body := jsonb_build_object(
        'session_id', c.id,
        'turn', turn,
        'input', jsonb_build_object('message_type', 'text', 'text', input),
        'context', jsonb_build_object(
            'global', jsonb_build_object('session_id', c.id),
            'system_integrations', jsonb_build_object('voice_telephony', jsonb_strip_nulls(jsonb_build_object(
                'private', jsonb_build_object('user_phone_number', c.caller),
                'assistant_phone_number', c.callee,
                'sip_call_id', (SELECT l.sip_call_id FROM cc.legs AS l WHERE l.id = cc.flow_customer_leg(c.id))))),
            'variables', (SELECT variables FROM cc.calls WHERE id = c.id)));
    PERFORM cc.flow_event(c, 'bot_turn', jsonb_build_object('node', node->>'id', 'turn', turn, 'input', input));
    RETURN cc.flow_http_send(c, node, 'bot', 'POST', cc.flow_substitute(node #>> '{properties,url}', vars, true),
                             headers, body::text,
                             round((cc.flow_prop(node, 'timeout_s') #>> '{}')::numeric * 1000)::integer,
                             (cc.flow_prop(node, 'max_errors') #>> '{}')::integer,
                             jsonb_build_object('turn', turn) || state);
END;
$$;
COMMENT ON FUNCTION cc.flow_bot_turn(cc.calls, jsonb, integer, text, jsonb) IS
    'Sends a bot turn: POST {"session_id", "turn", "input": {"text"}, "context": {caller''s number, SIP Call-ID, flow variables}} to the node''s URL; returns the position that waits for the answer.';

CREATE FUNCTION cc.flow_bot_leave(c cc.calls, node jsonb, turn integer, a jsonb, actions jsonb,
                                  at_once boolean) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    last integer;
    pos  jsonb;
BEGIN
    -- IBM plays the responses before a transfer or an end_session: the BYE
    -- or REFER waits for the last prompt of the answer (a signalling action
    -- would otherwise go out at once and cut it); a looping audio never
    -- ends, so it does not hold them up
    IF NOT at_once THEN
        SELECT max(i - 1) INTO last FROM jsonb_array_elements(actions) WITH ORDINALITY AS x (e, i)
         WHERE e->>'type' IN ('text', 'audio');
        IF last IS NOT NULL THEN
            pos := cc.flow_wait(c, node, 'play_done', jsonb_build_object('turn', turn, 'pending', a));
            RETURN jsonb_build_object('actions', jsonb_set(actions, ARRAY[last::text],
                                                           actions->last || jsonb_build_object('tag', pos->>'tag')),
                                      'wait', pos);
        END IF;
    END IF;
    IF a->>'type' = 'end_session' THEN
        RETURN jsonb_build_object('actions', actions || a, 'done', 'end_session');
    ELSIF coalesce(a #>> '{transfer_info,target,service_desk,sip,transfer_method}', 'refer') = 'hangup' THEN
        RETURN jsonb_build_object('actions', actions || a, 'done', 'connect_to_agent');
    END IF;
    pos := cc.flow_wait(c, node, 'refer_result', jsonb_build_object('turn', turn));
    RETURN jsonb_build_object('actions', actions || (a || jsonb_build_object('tag', pos->>'tag')), 'wait', pos);
END;
$$;
COMMENT ON FUNCTION cc.flow_bot_leave(cc.calls, jsonb, integer, jsonb, jsonb, boolean) IS
    'Step result of a bot''s end_session or connect_to_agent action a after the turn''s other actions: unless at_once (or the answer loops audio), first wait for the play_done of its last text or audio (the action waits in the position as pending), then the BYE (done), the hangup transfer (done) or the REFER (wait for refer_result).';

CREATE FUNCTION cc.flow_node_bot(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos       jsonb := c.flow_position;
    turn      integer := coalesce((c.flow_position->>'turn')::integer, 0);
    answer    jsonb;
    doc       jsonb;
    generic   jsonb;
    g         jsonb;
    a         jsonb;
    actions   jsonb := '[]';
    collect   jsonb;
    looping   boolean := false;
    next_turn boolean := false;
    digits    text;
    data      jsonb;
BEGIN
    IF event IS NULL THEN
        RETURN jsonb_build_object('actions', '[]'::jsonb, 'wait',
            cc.flow_bot_turn(c, node, 1, cc.flow_substitute(cc.flow_prop(node, 'welcome_text') #>> '{}', cc.flow_variables(c))));
    END IF;

    CASE event->>'type'
    WHEN 'collect_done' THEN
        IF event->>'reason' = 'stopped' THEN
            RETURN NULL;
        END IF;
        digits := coalesce(event->>'digits', '');
        IF right(digits, 1) = cc.flow_prop(node, 'termination_key') #>> '{}' THEN
            digits := left(digits, -1);
        END IF;
        RETURN cc.flow_bot_next(c, node, turn, CASE WHEN digits = '' THEN 'vgwPostResponseTimeout' ELSE digits END, '[]');
    WHEN 'refer_result' THEN
        IF (event->>'code') ~ '^1' THEN
            RETURN NULL;                          -- provisional: wait for the final NOTIFY
        ELSIF (event->>'code') ~ '^2' THEN
            -- the far end calls the target itself: our part is over, and as
            -- the transferor we end our dialog (RFC 5589), as call control does
            PERFORM cc.flow_event(c, 'bot_transferred', jsonb_build_object('node', node->>'id', 'code', event->'code'));
            RETURN jsonb_build_object('actions', '[{"type": "hangup", "cause": "transferred"}]'::jsonb,
                                      'done', 'connect_to_agent');
        END IF;
        PERFORM cc.flow_event(c, 'transfer_failed', jsonb_build_object('node', node->>'id', 'code', event->'code',
                                                                       'reason', event->>'reason'));
        RETURN cc.flow_bot_next(c, node, turn, 'vgwTransferFailed', '[]');
    WHEN 'play_done' THEN
        -- the prompts before a transfer or an end_session are over
        IF pos->'pending' IS NULL THEN
            RETURN NULL;
        END IF;
        RETURN cc.flow_bot_leave(c, node, turn, pos->'pending', '[]', true);
    WHEN 'http', 'timer' THEN
        NULL;
    ELSE
        RETURN NULL;
    END CASE;

    -- the bot answered a turn (or never did)
    PERFORM cc.timers_cancel('flow.http_guard', c.id);
    answer := CASE WHEN event->>'type' = 'http' THEN event->'answer'
                   ELSE '{"status": null, "error": "no answer from cc http in time"}' END;
    doc := cc.flow_http_json(answer);
    generic := coalesce(doc #> '{output,generic}', doc->'generic');
    IF (answer->>'status') !~ '^2[0-9][0-9]$' OR jsonb_typeof(generic) IS DISTINCT FROM 'array' THEN
        PERFORM cc.flow_event(c, 'bot_error', jsonb_build_object('node', node->>'id', 'turn', turn,
            'status', answer->'status',
            'error', coalesce(answer->>'error', CASE WHEN doc IS NULL THEN 'the answer is not JSON'
                                                     ELSE 'the answer has no generic array' END)));
        RETURN jsonb_build_object('actions', CASE WHEN pos->>'looping' = 'true' THEN '[{"type": "stop_media"}]'::jsonb
                                                  ELSE '[]'::jsonb END)
            || cc.flow_go(node, 'failure', 'next');
    END IF;
    data := doc #> '{context,integrations,voice_telephony,cdr_custom_data}';
    IF jsonb_typeof(data) = 'object' THEN
        UPDATE cc.calls SET custom_data = cc.custom_data_merge(custom_data, data) WHERE id = c.id;
    END IF;
    IF pos->>'looping' = 'true' THEN
        actions := '[{"type": "stop_media"}]';   -- the previous turn's loop lasts until this turn
    END IF;
    FOR g IN SELECT * FROM jsonb_array_elements(generic) LOOP
        CASE g->>'response_type'
        WHEN 'text', 'audio', 'speech_to_text', 'text_to_speech' THEN
            actions := actions || cc.flow_bot_action(g);
            looping := looping OR coalesce((g #>> '{channel_options,voice_telephony,loop}')::boolean, false);
        WHEN 'dtmf' THEN
            IF g #>> '{command_info,type}' = 'collect' THEN
                collect := cc.flow_bot_action(g);
            ELSE
                actions := actions || cc.flow_bot_action(g);
            END IF;
        WHEN 'end_session' THEN
            a := cc.flow_bot_action(g);
            PERFORM cc.flow_event(c, 'bot_end', jsonb_build_object('node', node->>'id', 'turn', turn));
            RETURN cc.flow_bot_leave(c, node, turn, a, actions, looping);
        WHEN 'connect_to_agent' THEN
            a := cc.flow_bot_action(g);
            PERFORM cc.flow_event(c, 'bot_transfer', jsonb_build_object('node', node->>'id', 'turn', turn,
                'target', a #> '{transfer_info,target,service_desk,sip}'));
            RETURN cc.flow_bot_leave(c, node, turn, a, actions, looping);
        WHEN 'user_defined' THEN
            IF g #>> '{user_defined,vgwAction,command}' = 'vgwActForceNoInputTurn' THEN
                next_turn := true;
            ELSE
                PERFORM cc.flow_event(c, 'bot_skipped', jsonb_build_object('node', node->>'id', 'turn', turn, 'response', g));
            END IF;
        ELSE
            PERFORM cc.flow_event(c, 'bot_skipped', jsonb_build_object('node', node->>'id', 'turn', turn, 'response', g));
        END CASE;
    END LOOP;
    IF next_turn THEN
        RETURN cc.flow_bot_next(c, node, turn, 'vgwNoInputTurn', actions, looping);
    END IF;
    pos := cc.flow_wait(c, node, 'collect_done', jsonb_build_object('turn', turn, 'looping', looping));
    collect := coalesce(collect, cc.flow_collect_action(jsonb_build_object(
                   'termination_key', cc.flow_prop(node, 'termination_key'),
                   'maximum_count', least((cc.flow_prop(node, 'max_digits') #>> '{}')::integer + 1, 100)), NULL));
    IF jsonb_typeof(collect #> '{command_info,parameters}') IS DISTINCT FROM 'object' THEN
        collect := jsonb_set(collect, '{command_info,parameters}', '{}');
    END IF;
    IF NOT collect #> '{command_info,parameters}' ? 'first_digit_timeout_ms' THEN
        collect := jsonb_set(collect, '{command_info,parameters,first_digit_timeout_ms}',
                             to_jsonb(round((cc.flow_prop(node, 'no_input_timeout_s') #>> '{}')::numeric * 1000)::integer));
    END IF;
    RETURN jsonb_build_object('actions', actions || (collect || jsonb_build_object('tag', pos->>'tag')), 'wait', pos);
END;
$$;
COMMENT ON FUNCTION cc.flow_node_bot(cc.calls, jsonb, jsonb) IS
    'Step of a bot node: sends turns and carries out the bot''s generic responses (see the head of 107_flow_bot.sql) until it transfers or ends the call.';

CREATE FUNCTION cc.flow_bot_next(c cc.calls, node jsonb, turn integer, input text, actions jsonb,
                                 looping boolean DEFAULT false) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF turn >= (cc.flow_prop(node, 'max_turns') #>> '{}')::integer THEN
        PERFORM cc.flow_event(c, 'warning', jsonb_build_object('node', node->>'id',
            'warning', format('the bot reached max_turns (%s)', turn)));
        RETURN jsonb_build_object('actions', actions || CASE WHEN looping THEN '[{"type": "stop_media"}]'::jsonb ELSE '[]' END)
            || cc.flow_go(node, 'next');
    END IF;
    RETURN jsonb_build_object('actions', actions,
                              'wait', cc.flow_bot_turn(c, node, turn + 1, input, jsonb_build_object('looping', looping)));
END;
$$;
COMMENT ON FUNCTION cc.flow_bot_next(cc.calls, jsonb, integer, text, jsonb, boolean) IS
    'Step result that sends the next bot turn with an input text (digits, vgwPostResponseTimeout, vgwNoInputTurn, vgwTransferFailed), or leaves the bot at max_turns.';
