-- 134_call_control_events.sql: what happens when the legs call control
-- made answer, fail or end, when an agent's phone sends a REFER, and when a
-- self-service flow hands the caller back.
--
-- cc.call_control_event (130_call_control.sql) routes each event here; the
-- router (cc.call_event) has locked the call and recorded the leg's facts
-- (state, times, cause) before.  Every action returned names its leg.  A
-- trigger on cc.calls closes what call control keeps open (transfers,
-- conferences, supervisions, self-service runs) when a call ends, whoever
-- ends it.

-- a leg answered ----------------------------------------------------------------------

CREATE FUNCTION cc.call_control_leg_answered(c cc.calls, l cc.legs, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    o    cc.originations;
    t    cc.transfers;
    p    cc.conference_participants;
    s    cc.supervisions;
    acts jsonb := '[]';
BEGIN
    IF cc.leg_leaving(l.id) THEN
        -- answered as we hung it up (a consultation cancelled as it answered)
        RETURN jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', l.id, 'cause', 'canceled'));
    END IF;
    SELECT * INTO o FROM cc.originations AS k WHERE k.call_id = c.id;
    IF o.call_id IS NOT NULL AND l.id = o.customer_leg_id AND c.state IN ('new', 'ringing') THEN
        RETURN cc.origination_customer_answered(c, l, o);
    END IF;
    IF o.call_id IS NOT NULL AND l.id = o.agent_leg_id AND c.state IN ('new', 'ringing') THEN
        RETURN cc.origination_agent_answered(c, l, o);
    END IF;
    FOR t IN SELECT * FROM cc.transfers AS k WHERE k.to_leg_id = l.id AND k.state = 'dialing' FOR UPDATE LOOP
        acts := acts || cc.transfer_answered(c, l, t);
    END LOOP;
    FOR p IN SELECT * FROM cc.conference_participants AS k WHERE k.leg_id = l.id AND k.state = 'joining' FOR UPDATE LOOP
        UPDATE cc.conference_participants SET state = 'joined', joined_at = now() WHERE id = p.id;
        PERFORM cc.event_append('conference.joined', jsonb_build_object('conference', p.conference_id, 'mode', p.mode),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        acts := acts || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('type', 'conference', 'leg', l.id,
                    'command', 'join', 'conference', p.conference_id, 'mode', p.mode, 'whisper_to', p.whisper_to_leg_id)));
    END LOOP;
    FOR s IN SELECT * FROM cc.supervisions AS k WHERE k.leg_id = l.id AND k.state = 'dialing' FOR UPDATE LOOP
        acts := acts || cc.supervision_answered(c, l, s);
    END LOOP;
    RETURN acts;
END;
$$;
COMMENT ON FUNCTION cc.call_control_leg_answered(cc.calls, cc.legs, jsonb) IS
    'A leg call control dialled answered: the next step of an origination, a transfer or consultation target bridged, a conference participant joined, a supervisor''s monitor started.';

CREATE FUNCTION cc.origination_customer_answered(c cc.calls, l cc.legs, o cc.originations) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent cc.legs;
    plan  jsonb;
    d     jsonb;
BEGIN
    UPDATE cc.calls AS k SET answered_at = coalesce(k.answered_at, greatest(now(), k.created_at))
     WHERE k.id = c.id RETURNING * INTO c;
    PERFORM cc.event_append('call.answered', jsonb_build_object('by', 'customer', 'kind', o.kind),
        call_id => c.id, leg_id => l.id);
    IF o.kind = 'click_to_call' THEN
        SELECT * INTO agent FROM cc.legs AS g WHERE g.id = o.agent_leg_id;
        IF agent.state IS DISTINCT FROM 'answered' THEN
            RETURN cc.call_end(c.id, 'agent_left', 'agent');
        END IF;
        UPDATE cc.calls AS k SET state = 'connected', connected_at = coalesce(k.connected_at, greatest(now(), k.created_at)),
                                 agent_id = o.agent_id
         WHERE k.id = c.id;
        PERFORM cc.event_append('call.connected', jsonb_build_object('kind', o.kind),
            call_id => c.id, leg_id => agent.id, agent_id => o.agent_id);
        RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', agent.id),
                                 jsonb_build_object('type', 'bridge', 'leg', l.id, 'with', agent.id));
    END IF;
    IF o.flow_version_id IS NOT NULL THEN
        UPDATE cc.calls AS k SET flow_id = o.flow_id, flow_version_id = o.flow_version_id WHERE k.id = c.id;
        RETURN cc.actions_on_leg(cc.flow_start(c.id), l.id);
    END IF;
    -- ring the agent now that the customer is there
    BEGIN
        plan := cc.call_dial_plan(jsonb_build_object('kind', 'agent', 'agent', o.agent_id), c);
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        PERFORM cc.event_append('call.agent_unreachable', jsonb_build_object('error', SQLERRM),
            call_id => c.id, agent_id => o.agent_id);
        RETURN cc.call_end(c.id, 'agent_unavailable', 'system');
    END;
    d := cc.call_leg_dial(c, plan, 'agent', o.ring_timeout_ms, 'originate', true);
    UPDATE cc.originations SET agent_leg_id = (d->>'leg')::uuid WHERE call_id = c.id;
    RETURN jsonb_build_array(jsonb_build_object('type', 'play', 'leg', l.id, 'tone', 'ringback', 'loop', true), d->'action');
END;
$$;
COMMENT ON FUNCTION cc.origination_customer_answered(cc.calls, cc.legs, cc.originations) IS
    'The customer of an outbound call answered: click-to-call bridges it with the waiting agent (connected); originate starts its outbound flow (cc.flow_start) or rings its agent while the customer hears ringback.';

CREATE FUNCTION cc.origination_agent_answered(c cc.calls, l cc.legs, o cc.originations) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust cc.legs;
    d    jsonb;
BEGIN
    IF o.kind = 'click_to_call' THEN
        IF o.customer_leg_id IS NOT NULL THEN
            RETURN '[]';
        END IF;
        d := cc.call_leg_dial(c, cc.origination_customer_plan(o.trunk_id, o.destination, o.customer_uri, o.caller_id),
                              'customer', o.ring_timeout_ms, 'click_to_call', false);
        UPDATE cc.originations SET customer_leg_id = (d->>'leg')::uuid WHERE call_id = c.id;
        RETURN jsonb_build_array(jsonb_build_object('type', 'play', 'leg', l.id, 'tone', 'ringback', 'loop', true), d->'action');
    END IF;
    SELECT * INTO cust FROM cc.legs AS g WHERE g.id = o.customer_leg_id;
    IF cust.state IS DISTINCT FROM 'answered' THEN
        RETURN '[]';
    END IF;
    UPDATE cc.calls AS k SET state = 'connected', connected_at = coalesce(k.connected_at, greatest(now(), k.created_at)),
                             agent_id = o.agent_id
     WHERE k.id = c.id;
    PERFORM cc.event_append('call.connected', jsonb_build_object('kind', o.kind), call_id => c.id, leg_id => l.id,
                            agent_id => o.agent_id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust.id),
                             jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', l.id));
END;
$$;
COMMENT ON FUNCTION cc.origination_agent_answered(cc.calls, cc.legs, cc.originations) IS
    'The agent of an outbound call answered: click-to-call now dials the customer (the agent hears ringback); originate bridges the waiting customer with the agent (connected).';

CREATE FUNCTION cc.transfer_answered(c cc.calls, l cc.legs, t cc.transfers) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust cc.legs := cc.call_customer_leg(c.id);
    src  cc.legs;
BEGIN
    UPDATE cc.transfers SET answered_at = greatest(now(), created_at) WHERE id = t.id;
    IF t.kind = 'blind' THEN
        UPDATE cc.transfers SET state = 'completed', reason = 'answered', ended_at = greatest(now(), created_at) WHERE id = t.id;
        UPDATE cc.calls AS k SET agent_id = coalesce(l.agent_id, k.agent_id) WHERE k.id = c.id;
        PERFORM cc.event_append('call.transferred', jsonb_build_object('transfer', t.id, 'kind', 'blind', 'target', t.target),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id, command_id => t.command_id);
        IF cust.id IS NULL THEN
            RETURN '[]';
        END IF;
        RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust.id),
                                 jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', l.id));
    END IF;
    -- a consultation
    SELECT * INTO src FROM cc.legs AS g WHERE g.id = t.from_leg_id;
    IF src.state = 'answered' THEN
        UPDATE cc.transfers SET state = 'consulting' WHERE id = t.id;
        PERFORM cc.event_append('call.consult_answered', jsonb_build_object('transfer', t.id),
            call_id => c.id, leg_id => l.id, agent_id => t.from_agent_id, command_id => t.command_id);
        RETURN jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', src.id, 'with', l.id));
    END IF;
    -- the first agent left while the consultation rang: the consulted party takes the call
    UPDATE cc.transfers SET state = 'completed', reason = 'first_agent_left', ended_at = greatest(now(), created_at)
     WHERE id = t.id;
    UPDATE cc.calls AS k SET agent_id = coalesce(t.to_agent_id, k.agent_id) WHERE k.id = c.id;
    PERFORM cc.event_append('call.consult_transferred', jsonb_build_object('transfer', t.id, 'was', 'dialing'),
        call_id => c.id, leg_id => l.id, agent_id => t.from_agent_id, command_id => t.command_id);
    IF cust.id IS NULL THEN
        RETURN '[]';
    END IF;
    RETURN cc.call_unhold_if_held(cust) || jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', l.id));
END;
$$;
COMMENT ON FUNCTION cc.transfer_answered(cc.calls, cc.legs, cc.transfers) IS
    'The target of a transfer answered: a blind transfer bridges it with the customer (completed; it becomes the call''s agent); a consultation bridges it with the consulting agent (consulting), or with the customer if that agent left meanwhile.';

CREATE FUNCTION cc.supervision_answered(c cc.calls, l cc.legs, s cc.supervisions) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    target cc.legs;
BEGIN
    SELECT * INTO target FROM cc.legs AS g WHERE g.id = s.target_leg_id;
    IF target.state IS DISTINCT FROM 'answered' THEN
        target := cc.call_agent_leg(c);
    END IF;
    IF target.id IS NULL THEN
        UPDATE cc.supervisions SET state = 'ended', ended_at = greatest(now(), created_at) WHERE id = s.id;
        PERFORM cc.event_append('supervision.ended', jsonb_build_object('supervision', s.id, 'reason', 'no_agent'),
            call_id => c.id, leg_id => l.id, agent_id => s.supervisor_agent_id);
        RETURN jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', l.id, 'cause', 'normal'));
    END IF;
    UPDATE cc.supervisions SET state = 'active', started_at = greatest(now(), created_at), target_leg_id = target.id
     WHERE id = s.id;
    PERFORM cc.event_append('supervision.active', jsonb_build_object('supervision', s.id, 'mode', s.mode),
        call_id => c.id, leg_id => l.id, agent_id => s.supervisor_agent_id, command_id => s.command_id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'monitor', 'leg', l.id, 'target', target.id, 'mode', s.mode));
END;
$$;
COMMENT ON FUNCTION cc.supervision_answered(cc.calls, cc.legs, cc.supervisions) IS
    'A supervisor answered: the monitor action on its leg, targeting the call''s agent leg in the chosen mode (the supervisor hangs up if no agent is left).';

-- a leg failed or ended ---------------------------------------------------------------------

CREATE FUNCTION cc.call_control_leg_gone(c cc.calls, l cc.legs, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cause text := cc.leg_cause(event);
    o     cc.originations;
    t     cc.transfers;
    s     cc.supervisions;
    p     cc.conference_participants;
    next  cc.legs;
    acts  jsonb := '[]';
BEGIN
    SELECT * INTO o FROM cc.originations AS k WHERE k.call_id = c.id;
    IF o.call_id IS NOT NULL AND l.id = o.agent_leg_id AND c.state IN ('new', 'ringing') THEN
        -- the agent of an outbound call left before it was connected
        PERFORM cc.event_append('call.agent_left', jsonb_build_object('cause', cause, 'kind', o.kind),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        RETURN cc.call_end(c.id, 'agent_' || cause,
                           CASE WHEN event->>'type' = 'ended' AND event->>'side' = 'remote' THEN 'agent' ELSE 'system' END);
    END IF;

    FOR t IN SELECT * FROM cc.transfers AS k
              WHERE k.to_leg_id = l.id AND k.state IN ('dialing', 'consulting', 'three_way') FOR UPDATE LOOP
        acts := acts || cc.transfer_target_gone(c, t, cause);
    END LOOP;
    FOR t IN SELECT * FROM cc.transfers AS k
              WHERE k.from_leg_id = l.id AND k.kind = 'consult' AND k.state IN ('dialing', 'consulting', 'three_way')
                FOR UPDATE LOOP
        acts := acts || cc.consult_agent_gone(c, t);
    END LOOP;

    -- conferences: the leg leaves; a conference nobody is left in ends
    FOR p IN SELECT * FROM cc.conference_participants AS k WHERE k.leg_id = l.id AND k.state <> 'left' FOR UPDATE LOOP
        UPDATE cc.conference_participants SET state = 'left', left_at = greatest(now(), created_at), left_reason = cause
         WHERE id = p.id;
        PERFORM cc.event_append('conference.left', jsonb_build_object('conference', p.conference_id, 'reason', cause),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        IF NOT EXISTS (SELECT 1 FROM cc.conference_participants AS k
                        WHERE k.conference_id = p.conference_id AND k.state <> 'left') THEN
            UPDATE cc.conferences SET state = 'ended', ended_at = greatest(now(), created_at)
             WHERE id = p.conference_id AND state = 'active';
            PERFORM cc.event_append('conference.ended', jsonb_build_object('conference', p.conference_id),
                call_id => c.id);
        END IF;
    END LOOP;

    -- supervision: a supervisor left, or the agent it supervised did
    FOR s IN SELECT * FROM cc.supervisions AS k WHERE k.leg_id = l.id AND k.state <> 'ended' FOR UPDATE LOOP
        UPDATE cc.supervisions SET state = 'ended', ended_at = greatest(now(), created_at) WHERE id = s.id;
        PERFORM cc.event_append('supervision.ended', jsonb_build_object('supervision', s.id, 'reason', cause),
            call_id => c.id, leg_id => l.id, agent_id => s.supervisor_agent_id);
    END LOOP;
    SELECT * INTO c FROM cc.calls AS k WHERE k.id = c.id;   -- a transfer may have changed the call's agent
    next := cc.call_agent_leg(c);
    FOR s IN SELECT * FROM cc.supervisions AS k WHERE k.target_leg_id = l.id AND k.state <> 'ended' FOR UPDATE LOOP
        IF next.id IS NOT NULL THEN
            UPDATE cc.supervisions SET target_leg_id = next.id WHERE id = s.id;
            PERFORM cc.event_append('supervision.retargeted', jsonb_build_object('supervision', s.id, 'target', next.id),
                call_id => c.id, leg_id => s.leg_id, agent_id => s.supervisor_agent_id);
            IF s.state = 'active' THEN
                acts := acts || jsonb_build_array(jsonb_build_object('type', 'monitor', 'leg', s.leg_id,
                                                                     'target', next.id, 'mode', s.mode));
            END IF;
        ELSE
            acts := acts || jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', s.leg_id, 'cause', 'normal'));
        END IF;
    END LOOP;

    -- self-service: the agent who waited left; the flow goes on, the caller is not handed back
    UPDATE cc.self_services SET reason = 'agent_left' WHERE agent_leg_id = l.id AND state = 'running';
    IF FOUND THEN
        PERFORM cc.event_append('self_service.agent_left', jsonb_build_object('cause', cause),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
    END IF;
    RETURN acts;
END;
$$;
COMMENT ON FUNCTION cc.call_control_leg_gone(cc.calls, cc.legs, jsonb) IS
    'A leg failed or ended: the agent of an outbound call not yet connected ends the call; a transfer or consultation target or the consulting agent moves the transfer on; a conference participant leaves; a supervisor''s monitor ends or follows the call to its next agent; a self-service run notes that its agent left.';

CREATE FUNCTION cc.transfer_target_gone(c cc.calls, t cc.transfers, cause text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust cc.legs := cc.call_customer_leg(c.id);
    src  cc.legs;
    acts jsonb := '[]';
BEGIN
    IF t.kind = 'blind' THEN
        -- the agents left already: the router resumes the flow or ends the call
        UPDATE cc.transfers SET state = 'failed', reason = cause, ended_at = greatest(now(), created_at) WHERE id = t.id;
        PERFORM cc.event_append('call.transfer_failed', jsonb_build_object('transfer', t.id, 'reason', cause),
            call_id => c.id, leg_id => t.to_leg_id, command_id => t.command_id);
        IF cust.id IS NOT NULL THEN
            acts := jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust.id));
        END IF;
        RETURN acts;
    END IF;
    SELECT * INTO src FROM cc.legs AS g WHERE g.id = t.from_leg_id;
    CASE t.state
        WHEN 'dialing' THEN
            UPDATE cc.transfers SET state = 'failed', reason = cause, ended_at = greatest(now(), created_at) WHERE id = t.id;
            PERFORM cc.event_append('call.consult_failed', jsonb_build_object('transfer', t.id, 'reason', cause),
                call_id => c.id, leg_id => t.to_leg_id, agent_id => t.from_agent_id, command_id => t.command_id);
            RETURN cc.call_unhold_if_held(cust);
        WHEN 'consulting' THEN
            UPDATE cc.transfers SET state = 'canceled', reason = 'consult_hangup', ended_at = greatest(now(), created_at)
             WHERE id = t.id;
            PERFORM cc.event_append('call.consult_ended', jsonb_build_object('transfer', t.id, 'reason', cause),
                call_id => c.id, leg_id => t.to_leg_id, agent_id => t.from_agent_id, command_id => t.command_id);
            IF src.state = 'answered' AND cust.state = 'answered' THEN
                acts := jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', src.id));
            END IF;
            RETURN acts || cc.call_unhold_if_held(cust);
        ELSE
            UPDATE cc.transfers SET state = 'canceled', reason = 'consult_left', ended_at = greatest(now(), created_at)
             WHERE id = t.id;
            PERFORM cc.event_append('call.consult_ended', jsonb_build_object('transfer', t.id, 'reason', cause),
                call_id => c.id, leg_id => t.to_leg_id, agent_id => t.from_agent_id, command_id => t.command_id);
            RETURN '[]';   -- the conference goes on without it
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.transfer_target_gone(cc.calls, cc.transfers, text) IS
    'The target of a transfer failed or hung up: a blind transfer failed (the customer''s ringback stops); a consultation failed before answer or ended during it leaves the customer with the agent as before (bridged, off hold); in a three-way call the others go on.';

CREATE FUNCTION cc.consult_agent_gone(c cc.calls, t cc.transfers) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust cc.legs := cc.call_customer_leg(c.id);
    dst  cc.legs;
BEGIN
    IF t.state = 'dialing' THEN
        -- the consulted party gets the customer when it answers
        PERFORM cc.event_append('call.consult_agent_left', jsonb_build_object('transfer', t.id),
            call_id => c.id, leg_id => t.from_leg_id, agent_id => t.from_agent_id);
        RETURN '[]';
    END IF;
    SELECT * INTO dst FROM cc.legs AS g WHERE g.id = t.to_leg_id;
    UPDATE cc.transfers SET state = 'completed', reason = 'first_agent_left', ended_at = greatest(now(), created_at)
     WHERE id = t.id;
    UPDATE cc.calls AS k SET agent_id = coalesce(t.to_agent_id, k.agent_id) WHERE k.id = c.id;
    PERFORM cc.event_append('call.consult_transferred', jsonb_build_object('transfer', t.id, 'was', t.state),
        call_id => c.id, leg_id => t.to_leg_id, agent_id => t.from_agent_id, command_id => t.command_id);
    IF t.state = 'consulting' AND dst.state = 'answered' AND cust.state = 'answered' THEN
        RETURN cc.call_unhold_if_held(cust)
               || jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', dst.id));
    END IF;
    RETURN '[]';
END;
$$;
COMMENT ON FUNCTION cc.consult_agent_gone(cc.calls, cc.transfers) IS
    'The consulting agent hung up: during an answered consultation or a three-way call that is a warm transfer (the consulted party stays with the customer and becomes the call''s agent); while the consultation rings, the consulted party gets the customer when it answers.';

-- REFER -----------------------------------------------------------------------------------

CREATE FUNCTION cc.call_control_refer(c cc.calls, l cc.legs, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    refer_to text := event->>'refer_to';
    uri      text;
    user_part text;
    target   jsonb;
    acts     jsonb;
BEGIN
    IF l.kind NOT IN ('agent', 'consult') THEN
        RETURN jsonb_build_array(jsonb_build_object('type', 'refer_notify', 'leg', l.id, 'code', 403, 'reason', 'Forbidden'));
    END IF;
    IF coalesce(event->>'replaces', '') <> '' THEN
        PERFORM cc.event_append('call.refer_refused', jsonb_build_object('refer_to', refer_to, 'reason', 'replaces'),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        RETURN jsonb_build_array(jsonb_build_object('type', 'refer_notify', 'leg', l.id, 'code', 501,
            'reason', 'Attended transfer from the phone is not supported: use cc.consult'));
    END IF;
    -- Refer-To: "Name" <sip:1002@host;params?headers>, sip:..., or tel:...
    uri := coalesce(substring(refer_to from '<([^>]*)>'), btrim(refer_to));
    uri := split_part(uri, '?', 1);
    user_part := CASE WHEN uri ~* '^tel:' THEN substring(uri from '^[Tt][Ee][Ll]:([^;]+)') ELSE cc.sip_uri_user(uri) END;
    BEGIN
        IF user_part ~ '^[1-8][0-9]{3,5}$'
           AND (EXISTS (SELECT 1 FROM cc.agents AS a WHERE a.extension = user_part)
                OR EXISTS (SELECT 1 FROM cc.phones AS p WHERE p.extension = user_part)) THEN
            target := cc.call_target_check(jsonb_build_object('extension', user_part), ARRAY['agent'], 'REFER target');
        ELSIF cc.dial_number_valid(user_part) THEN
            target := jsonb_build_object('kind', 'number', 'number', user_part);
        ELSIF cc.sip_uri_valid(uri) THEN
            target := jsonb_build_object('kind', 'uri', 'uri', uri);
        ELSE
            RAISE EXCEPTION 'cannot transfer to "%"', coalesce(refer_to, '');
        END IF;
        acts := cc.call_transfer_begin(c, target, '{}', NULL, l.agent_id, l.id);
    EXCEPTION WHEN OTHERS THEN
        PERFORM cc.event_append('call.refer_refused', jsonb_build_object('refer_to', refer_to, 'reason', SQLERRM),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        RETURN jsonb_build_array(jsonb_build_object('type', 'refer_notify', 'leg', l.id, 'code', 603,
                                                    'reason', left('Declined: ' || SQLERRM, 200)));
    END;
    PERFORM cc.event_append('call.refer_accepted', jsonb_build_object('refer_to', refer_to, 'target', target),
        call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'refer_notify', 'leg', l.id, 'code', 200, 'reason', 'OK')) || acts;
END;
$$;
COMMENT ON FUNCTION cc.call_control_refer(cc.calls, cc.legs, jsonb) IS
    'A REFER from an agent''s phone (its transfer key): Refer-To an extension (agent or phone), a number or a SIP URI becomes a blind transfer (cc.call_transfer_begin) and a final NOTIFY 200; what cannot be transferred gets NOTIFY 603 with the reason; attended transfers from the phone (Replaces) get 501.';

CREATE FUNCTION cc.call_control_refer_result(c cc.calls, l cc.legs, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t    cc.transfers;
    code integer := CASE WHEN event->>'code' ~ '^[1-6][0-9][0-9]$' THEN (event->>'code')::integer END;
BEGIN
    SELECT * INTO t FROM cc.transfers AS k WHERE k.call_id = c.id AND k.kind = 'refer' AND k.state = 'dialing' FOR UPDATE;
    IF t.id IS NULL OR code IS NULL OR code < 200 THEN
        RETURN '[]';
    END IF;
    IF code < 300 THEN
        UPDATE cc.transfers SET state = 'completed', reason = 'refer_' || code, answered_at = greatest(now(), created_at),
                                ended_at = greatest(now(), created_at)
         WHERE id = t.id;
        PERFORM cc.event_append('call.transferred', jsonb_build_object('transfer', t.id, 'kind', 'refer', 'target', t.target),
            call_id => c.id, leg_id => l.id, command_id => t.command_id);
        -- the far end calls the target itself: our part of the call is over
        RETURN cc.call_end(c.id, 'transferred', 'system');
    END IF;
    UPDATE cc.transfers SET state = 'failed', reason = 'refer_' || code, ended_at = greatest(now(), created_at) WHERE id = t.id;
    PERFORM cc.event_append('call.transfer_failed',
        jsonb_build_object('transfer', t.id, 'reason', 'refer_' || code, 'sip_reason', event->>'reason'),
        call_id => c.id, leg_id => l.id, command_id => t.command_id);
    RETURN '[]';
END;
$$;
COMMENT ON FUNCTION cc.call_control_refer_result(cc.calls, cc.legs, jsonb) IS
    'The outcome of our REFER (connect_to_agent): 2xx completes the transfer and ends our part of the call (cause transferred); an error fails it and the call goes on as it was.';

-- self-service hands the caller back --------------------------------------------------------

CREATE FUNCTION cc.self_service_return(call uuid, collected jsonb DEFAULT NULL, reason text DEFAULT 'flow_end',
                                       post_callback boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c     cc.calls;
    s     cc.self_services;
    f     cc.flows;
    cust  cc.legs;
    agent cc.legs;
    body  jsonb;
    req   uuid;
    acts  jsonb;
BEGIN
    SELECT * INTO c FROM cc.calls AS k WHERE k.id = call FOR UPDATE;
    SELECT * INTO s FROM cc.self_services AS k WHERE k.call_id = call AND k.state = 'running' FOR UPDATE;
    IF s.id IS NULL OR c.state = 'ended' THEN
        RETURN '[]';
    END IF;
    IF collected IS NULL THEN
        -- what the flow set: the variables that changed since it started
        SELECT coalesce(jsonb_object_agg(v.key, v.value), '{}') INTO collected
          FROM jsonb_each(c.variables) AS v
         WHERE (s.saved_flow #> ARRAY['variables', v.key]) IS DISTINCT FROM v.value;
    ELSIF jsonb_typeof(collected) <> 'object' THEN
        collected := jsonb_build_object('value', collected);
    END IF;
    SELECT * INTO f FROM cc.flows AS k WHERE k.id = s.flow_id;
    body := jsonb_build_object('call_id', c.id, 'self_service_id', s.id, 'flow_id', s.flow_id, 'flow', f.name,
                               'reason', coalesce(s.reason, reason), 'collected', collected, 'variables', c.variables,
                               'choices', coalesce((SELECT jsonb_agg(x.e ORDER BY x.n)
                                                      FROM jsonb_array_elements(c.choices) WITH ORDINALITY AS x (e, n)
                                                     WHERE x.n > coalesce((s.saved_flow->>'choices_count')::integer, 0)), '[]'));
    UPDATE cc.self_services
       SET state = 'returned', collected = self_service_return.collected, reason = coalesce(s.reason, self_service_return.reason),
           ended_at = greatest(now(), started_at)
     WHERE id = s.id;
    PERFORM cc.timers_cancel('call.self_service_timeout', call);
    UPDATE cc.calls AS k
       SET flow_id = (s.saved_flow->>'flow_id')::uuid, flow_version_id = (s.saved_flow->>'flow_version_id')::uuid,
           flow_node = s.saved_flow->>'flow_node', flow_position = coalesce(s.saved_flow->'flow_position', '{}'),
           state = 'connected'
     WHERE k.id = call;
    IF f.callback_url IS NOT NULL AND post_callback THEN
        BEGIN
            req := cc.http_request('callback', call, 'POST', f.callback_url, '{"Content-Type": "application/json"}',
                                   body::text, 5000, 3, jsonb_build_object('self_service', s.id));
            UPDATE cc.self_services SET callback_request_id = req WHERE id = s.id;
        EXCEPTION WHEN OTHERS THEN
            PERFORM cc.event_append('self_service.callback_failed', jsonb_build_object('self_service', s.id, 'error', SQLERRM),
                call_id => call);
        END;
    END IF;
    PERFORM cc.event_append('self_service.returned',
        jsonb_strip_nulls(jsonb_build_object('self_service', s.id, 'reason', coalesce(s.reason, reason),
                                             'collected', collected, 'callback_request', req)),
        call_id => call, leg_id => s.agent_leg_id);

    cust := cc.call_customer_leg(call);
    SELECT * INTO agent FROM cc.legs AS g WHERE g.id = s.agent_leg_id;
    IF cust.id IS NULL THEN
        RETURN '[]';
    END IF;
    IF agent.state = 'answered' THEN
        RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust.id))
               || cc.call_unhold_if_held(agent)
               || jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', agent.id));
    END IF;
    -- the agent is gone: the call's own flow goes on after its transfer, or the call ends
    acts := cc.actions_on_leg(cc.flow_resume(call, 'agent_hangup'), cust.id);
    IF jsonb_array_length(acts) = 0 THEN
        acts := cc.call_end(call, 'normal', 'agent');
    END IF;
    RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust.id)) || acts;
END;
$$;
COMMENT ON FUNCTION cc.self_service_return(uuid, jsonb, text, boolean) IS
    'Hook for the IVR interpreter (call locked): a self-service flow reached its end (or timed out) and hands the caller back. Restores the call''s flow position, posts {call_id, self_service_id, flow, reason, collected, variables, choices} to the flow''s callback_url (cc.http_request purpose callback; not when post_callback is false: the caller posted), and returns the actions that bridge the caller with the waiting agent again (off hold); if that agent left, the call''s flow resumes (agent_hangup) or the call ends. collected NULL: the variables the flow changed. [] when no self-service runs.';

-- The IVR interpreter ends a self-service flow by posting the flow's
-- variables to its callback_url itself, appending flow.self_service_done,
-- then finishing the flow (its position, then a flow.ended event with
-- reason self_service_done).  The caller is handed back on that last event,
-- once the interpreter is done with the call's flow position.  Its
-- transaction holds the call's lock; the actions go to cc sip as a
-- call_actions command.
CREATE FUNCTION cc.self_service_on_flow_done(e cc.events) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    actions jsonb;
BEGIN
    IF e.call_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM cc.self_services AS s WHERE s.call_id = e.call_id AND s.state = 'running') THEN
        RETURN;   -- a simulation, or the interpreter called cc.self_service_return already
    END IF;
    actions := cc.self_service_return(e.call_id, NULL, 'flow_end', post_callback => false);
    IF jsonb_array_length(actions) > 0 THEN
        PERFORM cc.call_actions_send(e.call_id, actions);
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.self_service_on_flow_done(cc.events) IS
    'Called by the events trigger (cc.events_announce) on the flow.ended event of a self-service flow (reason self_service_done: the IVR interpreter reached its end and posted its callback): hands the caller back to the agent (cc.self_service_return, actions sent as a call_actions command).';

-- when a call ends -----------------------------------------------------------------------

CREATE FUNCTION cc.call_control_call_ended() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    ended timestamptz := greatest(now(), NEW.created_at);
BEGIN
    UPDATE cc.transfers AS t
       SET state = CASE WHEN t.kind = 'refer' AND t.target #>> '{sip,transfer_method}' = 'hangup' THEN 'completed'
                        ELSE 'canceled' END,
           reason = 'call_ended', ended_at = greatest(ended, t.created_at)
     WHERE t.call_id = NEW.id AND t.state IN ('dialing', 'consulting', 'three_way');
    UPDATE cc.conference_participants AS p
       SET state = 'left', left_reason = 'call_ended', left_at = greatest(ended, p.created_at)
      FROM cc.conferences AS f
     WHERE f.id = p.conference_id AND f.call_id = NEW.id AND f.state = 'active' AND p.state <> 'left';
    UPDATE cc.conferences AS f SET state = 'ended', ended_at = greatest(ended, f.created_at)
     WHERE f.call_id = NEW.id AND f.state = 'active';
    UPDATE cc.supervisions AS s SET state = 'ended', ended_at = greatest(ended, s.created_at)
     WHERE s.call_id = NEW.id AND s.state <> 'ended';
    UPDATE cc.self_services AS s SET state = 'ended', reason = coalesce(s.reason, 'call_ended'),
                                     ended_at = greatest(ended, s.started_at)
     WHERE s.call_id = NEW.id AND s.state = 'running';
    DELETE FROM cc.timers AS t WHERE t.call_id = NEW.id AND t.kind LIKE 'call.%';
    -- recordings stop with the call; recording_done makes them complete
    UPDATE cc.recordings AS r SET ended_at = greatest(ended, r.started_at)
     WHERE r.call_id = NEW.id AND r.kind = 'call' AND r.state IN ('recording', 'paused') AND r.ended_at IS NULL;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.call_control_call_ended() IS
    'Trigger: when a call ends, whoever ends it, its transfers in progress are canceled (a REFER by hangup completed), its conferences, supervisions and self-service runs ended, its call.* timers dropped and its recordings marked stopped.';

CREATE TRIGGER calls_call_control_ended AFTER UPDATE OF state ON cc.calls
    FOR EACH ROW WHEN (NEW.state = 'ended' AND OLD.state <> 'ended')
    EXECUTE FUNCTION cc.call_control_call_ended();
