-- 106_flow_transfers.sql: the nodes that hand the caller to someone:
-- transfer_queue (cc.enqueue of the queues domain), transfer_external and
-- transfer_extension (a new leg dialled by the flow and bridged when it
-- answers), and voicemail (a recording of the caller).
--
-- A dialled leg's events reach the flow through cc.flow_on_leg_event (the
-- router sends them there while the call is in state ivr).  Once the call
-- is with a queue or bridged, the flow waits; cc.flow_resume goes on after
-- the node (e.g. to a survey) when the agent or the external party hangs
-- up or the queue lets the caller go.

CREATE FUNCTION cc.flow_node_transfer_queue(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    target  jsonb;
    actions jsonb := '[]';
BEGIN
    IF event IS NOT NULL THEN
        RETURN NULL;
    END IF;
    target := jsonb_strip_nulls(jsonb_build_object(
        'queue', node #>> '{properties,queue}',
        'overflow_queue', node #>> '{properties,overflow_queue}',
        'preferred_agents_url', cc.flow_substitute(node #>> '{properties,preferred_agents_url}', cc.flow_variables(c), true),
        'prompt', cc.flow_prompt_action(c, node #> '{properties,prompt}')));
    PERFORM cc.flow_event(c, 'transfer_queue', jsonb_build_object('node', node->>'id', 'target', target));
    IF c.flow_position->'simulation' IS NULL THEN
        actions := cc.enqueue(c.id, target);
    END IF;
    RETURN jsonb_build_object('actions', coalesce(actions, '[]'), 'wait', cc.flow_wait(c, node, 'queue'));
END;
$$;
COMMENT ON FUNCTION cc.flow_node_transfer_queue(cc.calls, jsonb, jsonb) IS
    'Step of a transfer_queue node: cc.enqueue(call, {"queue", "overflow_queue", "preferred_agents_url", "prompt": a play action}); the flow waits until cc.flow_resume.';

CREATE FUNCTION cc.flow_sip_host() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(substring(current_setting('cc.sip_listen', true) from '^sips?:([^:;>]+)'), 'localhost');
$$;
COMMENT ON FUNCTION cc.flow_sip_host() IS 'Our SIP host (from cc.sip_listen), for the From URIs of legs the flow dials.';

CREATE FUNCTION cc.flow_trunk_uri(trunk uuid, number text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t   cc.trunks;
    reg cc.registrations;
BEGIN
    SELECT * INTO t FROM cc.trunks WHERE id = trunk;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: trunk % does not exist', trunk USING ERRCODE = 'no_data_found';
    ELSIF NOT t.enabled THEN
        RAISE EXCEPTION 'cc: trunk % is disabled', t.name USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF t.mode = 'register_out' THEN
        RETURN format('sip:%s@%s%s', number, t.server, CASE WHEN t.port <> 5060 THEN ':' || t.port ELSE '' END);
    ELSIF t.mode = 'peering' THEN
        RETURN format('sip:%s@%s%s', number, host(t.peer_addresses[1]),
                      CASE WHEN t.peer_port <> 5060 THEN ':' || t.peer_port ELSE '' END);
    END IF;
    SELECT * INTO reg FROM cc.registrations AS r WHERE r.trunk_id = trunk AND r.expires_at > now()
     ORDER BY r.registered_at DESC LIMIT 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: trunk % (register_in) has no registered gateway', t.name
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN format('sip:%s@%s', number, coalesce(substring(reg.contact from '@([^;?>]+)'), host(reg.source_ip)));
END;
$$;
COMMENT ON FUNCTION cc.flow_trunk_uri(uuid, text) IS
    'The request URI that reaches a number through a trunk: the carrier''s server (register_out), the peer''s address (peering) or the registered gateway (register_in).';

CREATE FUNCTION cc.flow_dial(c cc.calls, node jsonb, leg uuid, targets jsonb, dial jsonb, before jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos     jsonb := cc.flow_wait(c, node, 'dial', jsonb_build_object('leg', leg));
    actions jsonb := coalesce(before, '[]');
BEGIN
    actions := actions || (jsonb_build_object('type', 'dial', 'leg', leg, 'targets', targets,
                                              'ring_timeout_ms', (cc.flow_prop(node, 'ring_timeout_s') #>> '{}')::integer * 1000,
                                              'tag', pos->>'tag') || dial);
    PERFORM cc.flow_event(c, 'dial', jsonb_build_object('node', node->>'id', 'leg', leg, 'targets', targets));
    RETURN jsonb_build_object('actions', actions, 'wait', pos);
END;
$$;
COMMENT ON FUNCTION cc.flow_dial(cc.calls, jsonb, uuid, jsonb, jsonb, jsonb) IS
    'Step result of a node that dials: the actions before (prompt, wait audio), the dial action of the new leg, and the position waiting for it.';

CREATE FUNCTION cc.flow_transfer_failed(c cc.calls, node jsonb, why jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    pos  jsonb := cc.flow_wait(c, node, 'play_done', '{"phase": "failed"}');
    play jsonb;
BEGIN
    PERFORM cc.flow_event(c, 'transfer_failed', jsonb_build_object('node', node->>'id') || why);
    play := cc.flow_prompt_action(c, cc.flow_prop(node, 'failure_prompt'), jsonb_build_object('tag', pos->>'tag'));
    IF play IS NOT NULL THEN
        RETURN jsonb_build_object('actions', jsonb_build_array('{"type": "stop_media"}'::jsonb, play), 'wait', pos);
    END IF;
    RETURN jsonb_build_object('actions', '[{"type": "stop_media"}]'::jsonb) || cc.flow_go(node, 'failure');
END;
$$;
COMMENT ON FUNCTION cc.flow_transfer_failed(cc.calls, jsonb, jsonb) IS
    'Step result of a transfer that failed (busy, no answer, not registered): flow.transfer_failed, the failure prompt if any, then connections.failure (else hang up).';

CREATE FUNCTION cc.flow_dial_step(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    ev  jsonb := event->'event';
    leg cc.legs;
BEGIN
    IF event->>'type' = 'play_done' AND c.flow_position->>'phase' = 'failed' THEN
        RETURN cc.flow_go(node, 'failure');
    ELSIF event->>'type' <> 'leg' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO leg FROM cc.legs WHERE id = (event->>'leg')::uuid;
    IF ev->>'type' = 'answered' THEN
        UPDATE cc.calls SET state = 'connected', connected_at = coalesce(connected_at, now()),
                            agent_id = coalesce(leg.agent_id, agent_id)
         WHERE id = c.id;
        PERFORM cc.flow_event(c, 'transferred', jsonb_build_object('node', node->>'id', 'leg', leg.id, 'kind', leg.kind,
                                                                   'agent', leg.agent_id, 'to', leg.to_uri));
        RETURN jsonb_build_object('actions', jsonb_build_array('{"type": "stop_media"}'::jsonb,
                                                               jsonb_build_object('type', 'bridge', 'with', leg.id)),
                                  'wait', cc.flow_wait(c, node, 'bridged', jsonb_build_object('leg', leg.id)));
    END IF;
    RETURN cc.flow_transfer_failed(c, node, jsonb_build_object('leg', leg.id, 'cause', coalesce(leg.cause, ev->>'cause'),
                                                               'code', ev->'code'));
END;
$$;
COMMENT ON FUNCTION cc.flow_dial_step(cc.calls, jsonb, jsonb) IS
    'Step of a node whose dialled leg reports: answered stops the wait audio and bridges the customer with it (call connected); failed or ended follows the failure path.';

CREATE FUNCTION cc.flow_node_transfer_external(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    vars   jsonb := cc.flow_variables(c);
    dest   text := cc.flow_substitute(node #>> '{properties,number}', vars);
    trunk  uuid := coalesce((node #>> '{properties,trunk}')::uuid, c.trunk_id,
                            (SELECT n.trunk_id FROM cc.numbers AS n WHERE n.id = c.number_id));
    caller text := coalesce(node #>> '{properties,caller_id}', c.number, c.callee);
    uri    text;
    leg    uuid;
    before jsonb := '[]';
    a      jsonb;
BEGIN
    IF event IS NOT NULL THEN
        RETURN cc.flow_dial_step(c, node, event);
    END IF;
    IF dest ~ '^tel:' THEN
        dest := substring(dest from '^tel:([^;]+)');
    END IF;
    IF dest ~ '^sips?:' THEN
        uri := dest;
    ELSIF dest ~ '^\+?[0-9*#]{1,32}$' THEN
        IF trunk IS NULL THEN
            RAISE EXCEPTION 'cc: no trunk to reach % (the node has no trunk, nor the call)', dest
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        uri := cc.flow_trunk_uri(trunk, dest);
    ELSE
        RAISE EXCEPTION 'cc: the destination % is not a number or a SIP URI', quote_literal(dest)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO cc.legs (call_id, kind, direction, trunk_id, to_uri, from_uri)
    VALUES (c.id, 'external', 'outbound', CASE WHEN dest !~ '^sips?:' THEN trunk END, uri,
            format('sip:%s@%s', caller, cc.flow_sip_host()))
    RETURNING id INTO leg;
    a := cc.flow_prompt_action(c, node #> '{properties,prompt}');
    IF a IS NOT NULL THEN
        before := before || a;
    END IF;
    before := before || coalesce(cc.flow_prompt_action(c, node #> '{properties,wait_audio}', '{"loop": true}'),
                                 '{"type": "play", "tone": "ringback", "loop": true}');
    RETURN cc.flow_dial(c, node, leg, jsonb_build_array(jsonb_build_object('uri', uri)),
                        jsonb_strip_nulls(jsonb_build_object('trunk', CASE WHEN dest !~ '^sips?:' THEN trunk END,
                                                             'from', jsonb_build_object('uri', format('sip:%s@%s', caller, cc.flow_sip_host())),
                                                             'to', uri)),
                        before);
END;
$$;
COMMENT ON FUNCTION cc.flow_node_transfer_external(cc.calls, jsonb, jsonb) IS
    'Step of a transfer_external node: a new external leg dials the number (${var} allowed) through the node''s trunk (else the call''s) with our number as caller ID, the caller hearing the prompt then the looping wait audio (ringback by default); bridged on answer.';

CREATE FUNCTION cc.flow_dial_extension(c cc.calls, node jsonb, extension text, agent uuid, phone uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    targets jsonb;
    leg     uuid;
BEGIN
    SELECT jsonb_agg(jsonb_build_object('uri', r.contact) ORDER BY r.registered_at DESC) INTO targets
      FROM cc.registrations AS r
     WHERE (r.agent_id = agent OR r.phone_id = phone) AND r.expires_at > now();
    IF targets IS NULL THEN
        RETURN cc.flow_transfer_failed(c, node, jsonb_build_object('extension', extension, 'cause', 'not_registered'));
    END IF;
    INSERT INTO cc.legs (call_id, kind, direction, agent_id, phone_id, to_uri, from_uri)
    VALUES (c.id, 'agent', 'outbound', agent, phone, targets->0->>'uri',
            format('sip:%s@%s', coalesce(c.caller, 'anonymous'), cc.flow_sip_host()))
    RETURNING id INTO leg;
    RETURN cc.flow_dial(c, node, leg, targets,
                        jsonb_build_object('from', jsonb_build_object('uri', format('sip:%s@%s', coalesce(c.caller, 'anonymous'), cc.flow_sip_host()))),
                        '[{"type": "play", "tone": "ringback", "loop": true}]');
END;
$$;
COMMENT ON FUNCTION cc.flow_dial_extension(cc.calls, jsonb, text, uuid, uuid) IS
    'Dials an agent''s or phone''s registered contacts (forked) for a transfer_extension node, the caller hearing ringback; with none registered, the failure path.';

CREATE FUNCTION cc.flow_node_voicemail(c cc.calls, node jsonb, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    phase     text := c.flow_position->>'phase';
    pos       jsonb;
    a         jsonb;
    actions   jsonb := '[]';
    recording uuid;
    max_ms    integer := (cc.flow_prop(node, 'max_duration_s') #>> '{}')::integer * 1000;
BEGIN
    IF event IS NULL THEN
        pos := cc.flow_wait(c, node, 'play_done', '{"phase": "prompt"}');
        a := cc.flow_prompt_action(c, cc.flow_prop(node, 'prompt'), jsonb_build_object('tag', pos->>'tag'));
        IF a IS NOT NULL THEN
            RETURN jsonb_build_object('actions', jsonb_build_array(a), 'wait', pos);
        END IF;
        phase := 'prompt';
    END IF;
    IF phase = 'prompt' AND (event IS NULL OR event->>'type' = 'play_done') THEN
        -- beep, then record the caller until the termination key or max_duration_s
        pos := cc.flow_wait(c, node, 'collect_done', '{"phase": "recording"}');
        INSERT INTO cc.recordings (call_id, leg_id, kind, file_path, channels)
        VALUES (c.id, cc.flow_customer_leg(c.id), 'voicemail', format('voicemail/%s-%s.wav', c.id, pos->>'seq'), 1)
        RETURNING id INTO recording;
        pos := pos || jsonb_build_object('recording', recording);
        IF cc.flow_prop(node, 'beep') = 'true' THEN
            actions := actions || '{"type": "play", "tone": "beep", "ms": 400}'::jsonb;
        END IF;
        actions := actions
            || jsonb_build_object('type', 'record', 'command', 'start', 'recording', recording,
                                  'file', format('voicemail/%s-%s.wav', c.id, pos->>'seq'), 'channels', 1)
            || cc.flow_collect_action(jsonb_build_object('termination_key', cc.flow_prop(node, 'termination_key'),
                                                         'maximum_count', 100, 'inter_digit_timeout_count', 100000,
                                                         'first_digit_timeout_ms', max_ms), pos->>'tag');
        PERFORM cc.timer_set('flow.voicemail_max', clock_timestamp() + make_interval(secs => max_ms / 1000.0 + 1),
                             c.id, NULL, NULL, jsonb_build_object('tag', pos->>'tag'));
        PERFORM cc.flow_event(c, 'voicemail', jsonb_build_object('node', node->>'id', 'recording', recording));
        RETURN jsonb_build_object('actions', actions, 'wait', pos);
    ELSIF phase = 'recording' AND event->>'type' IN ('collect_done', 'timer') THEN
        IF event->>'reason' = 'stopped' THEN
            RETURN NULL;
        END IF;
        PERFORM cc.timers_cancel('flow.voicemail_max', c.id);
        actions := jsonb_build_array('{"type": "stop_media"}'::jsonb,
                                     jsonb_build_object('type', 'record', 'command', 'stop',
                                                        'recording', c.flow_position->>'recording'));
        pos := cc.flow_wait(c, node, 'play_done', '{"phase": "end"}');
        a := cc.flow_prompt_action(c, cc.flow_prop(node, 'end_prompt'), jsonb_build_object('tag', pos->>'tag'));
        IF a IS NOT NULL THEN
            RETURN jsonb_build_object('actions', actions || a, 'wait', pos);
        END IF;
        RETURN jsonb_build_object('actions', actions) || cc.flow_go(node, 'next');
    ELSIF phase = 'end' AND event->>'type' = 'play_done' THEN
        RETURN cc.flow_go(node, 'next');
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.flow_node_voicemail(cc.calls, jsonb, jsonb) IS
    'Step of a voicemail node: prompt, beep, a one-channel recording of the caller (a cc.recordings row of kind voicemail) until the termination key or max_duration_s, the end prompt, then next (else hang up).';
