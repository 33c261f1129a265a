-- 086_call_control.sql: the core of the call model (docs/call-model.md).
--
-- cc.call_arrived decides what happens to a new INVITE: refused or
-- accepted, with a call, its first leg, and the first actions of the
-- number's flow.  cc.call_event records what happens on a leg and routes
-- the event to the hook of the domain that owns the call's state (flow,
-- queue, call control).  cc.call_end ends a call (CDR included) in the
-- caller's transaction; cc.call_actions_send hands actions decided outside
-- an event to cc sip; cc.calls_reconcile ends what a restarted cc sip no
-- longer holds.
--
-- The SIP issue adds the checks of an INVITE (trunk ACL or agent digest:
-- 403; blacklist: 603; per-number limits: 503 with Retry-After).

CREATE FUNCTION cc.sip_refuse(status integer, reason text, retry_after_s integer DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE
AS $$
    SELECT jsonb_strip_nulls(jsonb_build_object('status', status, 'reason', reason,
        'headers', CASE WHEN retry_after_s IS NOT NULL
                        THEN jsonb_build_object('Retry-After', retry_after_s::text) END));
$$;
COMMENT ON FUNCTION cc.sip_refuse(integer, text, integer) IS 'A final error answer to a request, with Retry-After when given.';

-- cc.sip_uri_user is the user part of a SIP URI (sip:USER@host), or NULL.
CREATE FUNCTION cc.sip_uri_user(uri text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT nullif(substring(uri from '^sips?:([^@;?]+)@'), '') $$;
COMMENT ON FUNCTION cc.sip_uri_user(text) IS 'The user part of a sip: or sips: URI (the dialled number of a Request-URI), or NULL.';

CREATE FUNCTION cc.call_arrived(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    dialled text := coalesce(cc.sip_uri_user(req->>'request_uri'), req #>> '{to,user}');
    num     cc.numbers;
    version uuid;
    call    uuid;
    leg     uuid;
BEGIN
    IF dialled ~ '^\*[0-9]{1,4}$' THEN
        -- an agent's phone dialled a queue's pickup code
        RETURN cc.queue_pickup(req);
    END IF;
    SELECT * INTO num FROM cc.numbers AS n
     WHERE n.number = dialled AND n.enabled AND n.direction IN ('in', 'both');
    IF NOT FOUND THEN
        RETURN cc.sip_refuse(404, 'Not Found');
    END IF;
    SELECT v.id INTO version FROM cc.flow_versions AS v
     WHERE v.flow_id = num.inbound_flow_id AND v.version = num.inbound_flow_version AND v.published;

    INSERT INTO cc.calls (direction, number_id, trunk_id, number, caller, callee, flow_id, flow_version_id)
    VALUES ('inbound', num.id, num.trunk_id, num.number, req #>> '{from,user}', dialled,
            num.inbound_flow_id, version)
    RETURNING id INTO call;
    INSERT INTO cc.legs (call_id, kind, direction, sip_call_id, from_uri, to_uri, contact,
                         remote_ip, remote_port, transport)
    VALUES (call, 'customer', 'inbound', req->>'call_id', req #>> '{from,uri}', req #>> '{to,uri}',
            req #>> '{contacts,0,uri}', nullif(req #>> '{source,ip}', '')::inet,
            (req #>> '{source,port}')::integer, coalesce(req #>> '{source,transport}', 'udp'))
    RETURNING id INTO leg;
    PERFORM cc.event_append('call.arrived',
        jsonb_strip_nulls(jsonb_build_object('number', num.number, 'caller', req #>> '{from,user}',
                                             'sip_call_id', req->>'call_id', 'source', req->'source')),
        call_id => call, leg_id => leg);
    RETURN jsonb_build_object('call_id', call, 'leg_id', leg, 'actions', cc.flow_start(call));
END;
$$;
COMMENT ON FUNCTION cc.call_arrived(jsonb) IS
    'A new INVITE (described by cc sip): refused ({status, reason, headers}) or accepted: creates the call and its customer leg and returns {call_id, leg_id, actions} with the flow''s first actions.';

CREATE FUNCTION cc.leg_cause(event jsonb) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN event->>'cause' ~ '^[a-z][a-z0-9_]*$' THEN event->>'cause'
        WHEN event->>'type' = 'failed' THEN
            CASE WHEN (event->>'code')::integer IN (486, 600) THEN 'busy'
                 WHEN (event->>'code')::integer IN (408, 480) THEN 'no_answer'
                 WHEN (event->>'code')::integer IN (403, 603) THEN 'rejected'
                 WHEN (event->>'code')::integer IN (404, 484, 604) THEN 'not_found'
                 WHEN (event->>'code')::integer = 487 THEN 'canceled'
                 WHEN (event->>'code')::integer = 488 THEN 'media_refused'
                 WHEN (event->>'code')::integer BETWEEN 500 AND 599 THEN 'carrier_fault'
                 ELSE 'unavailable' END
        ELSE 'normal' END;
$$;
COMMENT ON FUNCTION cc.leg_cause(jsonb) IS
    'Why a leg ended, from its ended or failed event: the event''s cause, or one mapped from the SIP code (busy, no_answer, rejected, not_found, canceled, media_refused, carrier_fault, unavailable).';

CREATE FUNCTION cc.leg_apply_event(leg uuid, event jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l    cc.legs;
    code integer := CASE WHEN event->>'code' ~ '^[1-6][0-9][0-9]$' THEN (event->>'code')::integer END;
BEGIN
    SELECT * INTO l FROM cc.legs WHERE id = leg;
    CASE event->>'type'
        WHEN 'ringing' THEN
            UPDATE cc.legs SET state = CASE WHEN state = 'new' THEN 'ringing' ELSE state END,
                               ringing_at = coalesce(ringing_at, now())
             WHERE id = leg AND state <> 'ended';
        WHEN 'answered' THEN
            UPDATE cc.legs SET state = 'answered', answered_at = coalesce(answered_at, now()),
                               sip_code = 200,
                               codec = coalesce(lower(nullif(event->>'codec', '')), codec)
             WHERE id = leg AND state <> 'ended';
        WHEN 'failed', 'ended' THEN
            UPDATE cc.legs SET state = 'ended', ended_at = now(), cause = cc.leg_cause(event),
                               sip_code = coalesce(CASE WHEN event->>'type' = 'failed' THEN code END, sip_code)
             WHERE id = leg AND state <> 'ended';
        WHEN 'hold' THEN
            UPDATE cc.legs SET hold_state = CASE WHEN hold_state IN ('local', 'both') THEN 'both' ELSE 'remote' END
             WHERE id = leg;
        WHEN 'resume' THEN
            UPDATE cc.legs SET hold_state = CASE WHEN hold_state IN ('local', 'both') THEN 'local' ELSE 'none' END
             WHERE id = leg;
        ELSE
            NULL;
    END CASE;
    PERFORM cc.event_append('leg.' || (event->>'type'), event - 'type', call_id => l.call_id, leg_id => leg,
                            agent_id => l.agent_id);
END;
$$;
COMMENT ON FUNCTION cc.leg_apply_event(uuid, jsonb) IS
    'Records what an event says of a leg (state, times, SIP code, cause, codec, hold state) and appends it as a leg.<type> event.';

CREATE FUNCTION cc.call_event(leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l       cc.legs;
    c       cc.calls;
    kind    text := event->>'type';
    actions jsonb;
BEGIN
    IF kind IS NULL OR kind !~ '^[a-z][a-z0-9_]*$' THEN
        RAISE EXCEPTION 'cc: event % has no valid type', event
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'An event is a JSON object whose "type" is a lowercase word, e.g. {"type": "answered"}.';
    END IF;
    SELECT * INTO l FROM cc.legs WHERE id = leg;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: leg % does not exist', leg USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO c FROM cc.calls WHERE id = l.call_id FOR UPDATE;
    PERFORM cc.leg_apply_event(leg, event);
    IF l.agent_id IS NOT NULL THEN
        -- agents' states follow their legs, whatever the call
        PERFORM cc.agent_on_leg_event(l.agent_id, c.id, leg, event);
    END IF;

    IF c.state = 'ended' THEN
        -- a late answer from a leg of a call that is over: let it go
        RETURN CASE WHEN kind = 'answered' THEN '[{"type": "hangup"}]'::jsonb ELSE '[]' END;
    END IF;
    IF EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.leg_id = leg AND o.outcome = 'offered') THEN
        RETURN cc.queue_on_event(c.id, leg, event);
    END IF;
    IF kind IN ('ended', 'failed') THEN
        IF l.kind = 'customer' THEN
            RETURN cc.call_end(c.id, cc.leg_cause(event),
                               CASE WHEN event->>'side' = 'remote' THEN 'customer' ELSE 'system' END);
        END IF;
        actions := cc.call_control_event(c.id, leg, event);
        IF c.state = 'connected'
           AND NOT EXISTS (SELECT 1 FROM cc.legs AS o
                            WHERE o.call_id = c.id AND o.kind IN ('agent', 'consult') AND o.state <> 'ended')
           AND EXISTS (SELECT 1 FROM cc.legs AS o
                        WHERE o.call_id = c.id AND o.kind = 'customer' AND o.state <> 'ended') THEN
            actions := actions || cc.flow_resume(c.id, 'agent_hangup');
            IF jsonb_array_length(actions) = 0 THEN
                actions := cc.call_end(c.id, 'normal', 'agent');
            END IF;
        END IF;
        RETURN actions;
    END IF;
    IF l.kind = 'customer' THEN
        RETURN CASE c.state
            WHEN 'ivr' THEN cc.flow_on_event(c.id, leg, event)
            WHEN 'queued' THEN cc.queue_on_event(c.id, leg, event)
            WHEN 'offering' THEN cc.queue_on_event(c.id, leg, event)
            WHEN 'connected' THEN cc.call_control_event(c.id, leg, event)
            ELSE '[]'::jsonb END;
    END IF;
    RETURN cc.call_control_event(c.id, leg, event);
END;
$$;
COMMENT ON FUNCTION cc.call_event(uuid, jsonb) IS
    'Entry point of cc sip for every event of a leg: locks the call, records the leg''s facts, routes the event to the hook that owns the call''s state (docs/call-model.md) and returns its actions.';

CREATE FUNCTION cc.call_finish(call uuid, cause text, side text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    UPDATE cc.calls AS c
       SET state = 'ended', ended_at = greatest(now(), c.created_at), end_cause = cause, hangup_side = side
     WHERE c.id = call AND c.state <> 'ended';
    IF FOUND THEN
        PERFORM cc.cdr_write(call);
        PERFORM cc.event_append('call.ended', jsonb_build_object('cause', cause, 'side', side), call_id => call);
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_finish(uuid, text, text) IS
    'Marks a call ended with its cause and hangup side, writes its CDR and the call.ended event (once; a call already ended is left alone).';

CREATE FUNCTION cc.call_end(call uuid, cause text, side text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    actions jsonb;
BEGIN
    actions := cc.queue_call_ended(call, cause);
    actions := actions || coalesce(
        (SELECT jsonb_agg(jsonb_build_object('type', 'hangup', 'leg', l.id) ORDER BY l.created_at)
           FROM cc.legs AS l
          WHERE l.call_id = call AND l.state <> 'ended'
            AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(actions) AS a
                             WHERE a->>'type' = 'hangup' AND a->>'leg' = l.id::text)),
        '[]');
    PERFORM cc.call_finish(call, cause, side);
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.call_end(uuid, text, text) IS
    'Ends a call in the caller''s transaction: the queue lets go of it, every live leg is hung up (the returned actions), its state, CDR and call.ended event are written.';

CREATE FUNCTION cc.call_actions_send(call uuid, actions jsonb) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF actions IS NULL OR jsonb_typeof(actions) <> 'array' THEN
        RAISE EXCEPTION 'cc: actions must be a JSON array, not %', actions
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(actions) AS a
                WHERE jsonb_typeof(a) <> 'object' OR NOT a ? 'leg' OR NOT a ? 'type') THEN
        RAISE EXCEPTION 'cc: every action sent to cc sip needs a type and a leg: %', actions
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Outside cc.call_event there is no default leg; say {"type": ..., "leg": uuid, ...}.';
    END IF;
    INSERT INTO cc.commands (kind, call_id, args)
    VALUES ('call_actions', call, jsonb_build_object('actions', actions))
    RETURNING commands.id INTO id;
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.call_actions_send(uuid, jsonb) IS
    'Hands actions decided outside cc.call_event (dispatch, timers, HTTP answers, applications) to cc sip as a call_actions command, run after commit; every action names its leg. Returns the command id.';

CREATE FUNCTION cc.calls_reconcile(reason text) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c record;
    n integer := 0;
BEGIN
    UPDATE cc.legs AS l
       SET state = 'ended', ended_at = greatest(now(), l.created_at), cause = 'worker_restart'
      FROM cc.calls AS k
     WHERE l.call_id = k.id AND k.site = cc.site_name() AND l.state <> 'ended';
    FOR c IN SELECT k.id FROM cc.calls AS k WHERE k.site = cc.site_name() AND k.state <> 'ended' FOR UPDATE LOOP
        PERFORM cc.queue_call_ended(c.id, 'worker_restart');
        PERFORM cc.call_finish(c.id, 'worker_restart', 'system');
        PERFORM cc.event_append('call.reconciled', jsonb_build_object('reason', reason), call_id => c.id);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.calls_reconcile(text) IS
    'Run by cc sip at start: every call of this site still in progress is ended with cause worker_restart (CDR and call.ended, plus call.reconciled with the reason); returns how many.';
