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

-- live calls per number and trunk (ended_at IS NULL, not state: see calls_live)
CREATE INDEX calls_number_live ON cc.calls (number_id) WHERE ended_at IS NULL;
CREATE INDEX calls_number_created_at ON cc.calls (number_id, created_at);
CREATE INDEX calls_trunk_live ON cc.calls (trunk_id) WHERE ended_at IS NULL;
-- cc.call_event asks of every event whether its leg is an open offer's
CREATE INDEX offers_leg_open ON cc.offers (leg_id) WHERE outcome = 'offered';

-- cc.caller_blacklisted says whether a caller number is on the blacklist now
-- (with or without its leading +).  PL/pgSQL (plan kept for the session):
-- it runs for every INVITE.
CREATE FUNCTION cc.caller_blacklisted(caller text) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN caller IS NOT NULL AND EXISTS (
        SELECT 1 FROM cc.blacklisted_numbers AS b
         WHERE b.number IN (caller, ltrim(caller, '+'), '+' || ltrim(caller, '+'))
           AND (b.expires_at IS NULL OR b.expires_at > now()));
END;
$$;
COMMENT ON FUNCTION cc.caller_blacklisted(text) IS
    'Whether a caller number (with or without its leading +) is on cc.blacklisted_numbers and the entry has not expired.';

-- cc.call_limits_refusal checks the per-number limits (and the trunk's
-- concurrency) for one more call; the rows are locked first, so two INVITEs
-- in flight at once never both pass a limit.
CREATE FUNCTION cc.call_limits_refusal(num cc.numbers, trunk uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    trunk_max integer;
BEGIN
    IF num.max_concurrent_calls > 0 OR num.max_calls_per_second > 0 THEN
        PERFORM 1 FROM cc.numbers AS n WHERE n.id = num.id FOR NO KEY UPDATE;
        IF num.max_concurrent_calls > 0
           AND (SELECT count(*) FROM cc.calls AS c WHERE c.number_id = num.id AND c.ended_at IS NULL)
               >= num.max_concurrent_calls THEN
            RETURN cc.sip_refuse(503, 'Too Many Calls on This Number', 5)
                   || jsonb_build_object('refusal', 'max_concurrent_calls');
        END IF;
        IF num.max_calls_per_second > 0
           AND (SELECT count(*) FROM cc.calls AS c
                 WHERE c.number_id = num.id AND c.created_at > now() - interval '1 second')
               >= num.max_calls_per_second THEN
            RETURN cc.sip_refuse(503, 'Call Rate Exceeded on This Number', 1)
                   || jsonb_build_object('refusal', 'max_calls_per_second');
        END IF;
    END IF;
    IF trunk IS NOT NULL THEN
        SELECT t.max_concurrent_calls INTO trunk_max FROM cc.trunks AS t WHERE t.id = trunk;
        IF trunk_max > 0 THEN
            PERFORM 1 FROM cc.trunks AS t WHERE t.id = trunk FOR NO KEY UPDATE;
            IF (SELECT count(*) FROM cc.calls AS c WHERE c.trunk_id = trunk AND c.ended_at IS NULL) >= trunk_max THEN
                RETURN cc.sip_refuse(503, 'Too Many Calls on This Trunk', 5)
                       || jsonb_build_object('refusal', 'trunk_max_concurrent_calls');
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.call_limits_refusal(cc.numbers, uuid) IS
    'A 503 answer with Retry-After when one more call would break the number''s max_concurrent_calls or max_calls_per_second, or the trunk''s max_concurrent_calls; NULL when it may pass. Locks the number (and trunk) row first, so concurrent INVITEs are counted one after the other.';

CREATE FUNCTION cc.call_arrived(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    dialled text := coalesce(cc.sip_uri_user(req->>'request_uri'), req #>> '{to,user}');
    caller  text := req #>> '{from,user}';
    who     jsonb;
    num     cc.numbers;
    refusal jsonb;
    version uuid;
    call    uuid;
    leg     uuid;
BEGIN
    who := cc.sip_identify(req);
    IF who ? 'refuse' THEN
        RETURN (who->'refuse') || jsonb_strip_nulls(jsonb_build_object('stranger', who->'stranger'));
    END IF;
    IF dialled ~ '^\*[0-9]{1,4}$' THEN
        -- an agent's phone dialled a queue's pickup code
        IF who->>'agent_id' IS NULL THEN
            RETURN cc.sip_refuse(403, 'Pickup Needs an Agent''s Phone');
        END IF;
        RETURN cc.queue_pickup(req || jsonb_build_object('agent_id', who->'agent_id', 'phone_id', who->'phone_id'));
    END IF;
    SELECT * INTO num FROM cc.numbers AS n
     WHERE n.number = dialled AND n.enabled AND n.direction IN ('in', 'both');
    IF NOT FOUND THEN
        RETURN cc.sip_refuse(404, 'Not Found');
    END IF;
    IF cc.caller_blacklisted(caller) THEN
        PERFORM cc.event_append('call.refused',
            jsonb_strip_nulls(jsonb_build_object('number', num.number, 'caller', caller, 'status', 603,
                                                 'refusal', 'blacklisted', 'source', req->'source')));
        RETURN cc.sip_refuse(603, 'Decline');
    END IF;
    refusal := cc.call_limits_refusal(num, (who->>'trunk_id')::uuid);
    IF refusal IS NOT NULL THEN
        PERFORM cc.event_append('call.refused',
            jsonb_strip_nulls(jsonb_build_object('number', num.number, 'caller', caller, 'status', 503,
                                                 'refusal', refusal->>'refusal', 'source', req->'source')));
        RETURN refusal - 'refusal';
    END IF;
    SELECT v.id INTO version FROM cc.flow_versions AS v
     WHERE v.flow_id = num.inbound_flow_id AND v.version = num.inbound_flow_version AND v.published;

    -- a call to a number with a published flow starts in the flow (ivr):
    -- nobody outside this transaction could see it "new", and leaving that
    -- state would cost an UPDATE and an event on every call
    INSERT INTO cc.calls (direction, state, number_id, trunk_id, number, caller, callee, flow_id, flow_version_id)
    VALUES (CASE WHEN who->>'kind' = 'trunk' THEN 'inbound' ELSE 'internal' END,
            CASE WHEN version IS NOT NULL THEN 'ivr' ELSE 'new' END,
            num.id, (who->>'trunk_id')::uuid, num.number, caller, dialled,
            num.inbound_flow_id, version)
    RETURNING id INTO call;
    INSERT INTO cc.legs (call_id, kind, direction, agent_id, phone_id, trunk_id, sip_call_id, from_uri, to_uri,
                         contact, remote_ip, remote_port, transport)
    VALUES (call, 'customer', 'inbound', (who->>'agent_id')::uuid, (who->>'phone_id')::uuid,
            (who->>'trunk_id')::uuid, req->>'call_id', req #>> '{from,uri}', req #>> '{to,uri}',
            req #>> '{contacts,0,uri}', nullif(req #>> '{source,ip}', '')::inet,
            (req #>> '{source,port}')::integer, coalesce(req #>> '{source,transport}', 'udp'))
    RETURNING id INTO leg;
    PERFORM cc.event_append('call.arrived',
        jsonb_strip_nulls(jsonb_build_object('number', num.number, 'caller', caller,
                                             'sip_call_id', req->>'call_id', 'source', req->'source',
                                             'trunk_id', who->'trunk_id', 'phone_id', who->'phone_id')),
        call_id => call, leg_id => leg, agent_id => (who->>'agent_id')::uuid);
    RETURN jsonb_build_object('call_id', call, 'leg_id', leg, 'actions', cc.flow_start(call));
END;
$$;
COMMENT ON FUNCTION cc.call_arrived(jsonb) IS
    'A new INVITE (described by cc sip): checks who sent it (cc.sip_identify: peering trunk by address, else digest: 407 challenge, 403), the number (404), the blacklist (603), the limits (503 with Retry-After); refused ({status, reason, headers}) or accepted: creates the call and its customer leg (with its trunk, agent or phone) and returns {call_id, leg_id, actions} with the flow''s first actions. A pickup code (* and 1-4 digits) from an agent goes to cc.queue_pickup with agent_id.';

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
    etype  text := event->>'type';
    code  integer := CASE WHEN event->>'code' ~ '^[1-6][0-9][0-9]$' THEN (event->>'code')::integer END;
    call  uuid;
    agent uuid;
BEGIN
    IF etype IN ('ringing', 'answered', 'failed', 'ended', 'hold', 'resume') OR event ? 'sip' OR event ? 'session' THEN
        -- one statement per event: this runs for every event of every call
        UPDATE cc.legs AS g
           SET state = CASE WHEN g.state = 'ended' THEN g.state
                            WHEN etype IN ('failed', 'ended') THEN 'ended'
                            WHEN etype = 'answered' THEN 'answered'
                            WHEN etype = 'ringing' AND g.state = 'new' THEN 'ringing'
                            ELSE g.state END,
               ringing_at = CASE WHEN etype = 'ringing' AND g.state <> 'ended' THEN coalesce(g.ringing_at, now())
                                 ELSE g.ringing_at END,
               answered_at = CASE WHEN etype = 'answered' AND g.state <> 'ended' THEN coalesce(g.answered_at, now())
                                  ELSE g.answered_at END,
               ended_at = CASE WHEN etype IN ('failed', 'ended') AND g.state <> 'ended' THEN now() ELSE g.ended_at END,
               cause = CASE WHEN etype IN ('failed', 'ended') AND g.state <> 'ended' THEN cc.leg_cause(event)
                            ELSE g.cause END,
               sip_code = CASE WHEN g.state = 'ended' THEN g.sip_code
                               WHEN etype = 'answered' THEN 200
                               WHEN etype = 'failed' THEN coalesce(code, g.sip_code)
                               ELSE g.sip_code END,
               codec = CASE WHEN etype = 'answered' AND g.state <> 'ended'
                            THEN coalesce(lower(nullif(event->>'codec', '')), g.codec) ELSE g.codec END,
               hold_state = CASE etype
                                WHEN 'hold' THEN CASE WHEN g.hold_state IN ('local', 'both') THEN 'both' ELSE 'remote' END
                                WHEN 'resume' THEN CASE WHEN g.hold_state IN ('local', 'both') THEN 'local' ELSE 'none' END
                                ELSE g.hold_state END,
               media_session = coalesce((event->>'session')::integer, g.media_session),
               -- the dialog's facts, as cc sip learnt them (an outbound leg's Call-ID, the answering contact)
               sip_call_id = coalesce(nullif(event #>> '{sip,call_id}', ''), g.sip_call_id),
               from_uri = coalesce(nullif(event #>> '{sip,from}', ''), g.from_uri),
               to_uri = coalesce(nullif(event #>> '{sip,to}', ''), g.to_uri),
               contact = coalesce(nullif(event #>> '{sip,contact}', ''), g.contact),
               remote_ip = coalesce(nullif(event #>> '{sip,remote_ip}', '')::inet, g.remote_ip),
               remote_port = coalesce((event #>> '{sip,remote_port}')::integer, g.remote_port),
               transport = coalesce(nullif(event #>> '{sip,transport}', ''), g.transport)
         WHERE g.id = leg
        RETURNING g.call_id, g.agent_id INTO call, agent;
    ELSE
        SELECT g.call_id, g.agent_id INTO call, agent FROM cc.legs AS g WHERE g.id = leg;
    END IF;
    PERFORM cc.event_append('leg.' || etype, event - 'type', call_id => call, leg_id => leg, agent_id => agent);
END;
$$;
COMMENT ON FUNCTION cc.leg_apply_event(uuid, jsonb) IS
    'Records what an event says of a leg (state, times, SIP code, cause, codec, hold state, media session, and the SIP facts of its "sip" object: call_id, from, to, contact, remote_ip, remote_port, transport) and appends it as a leg.<type> event.';

-- PL/pgSQL, not SQL: a SQL function with a subquery is planned again at
-- every call, and this one runs whenever a call ends.
CREATE FUNCTION cc.actions_append(actions jsonb, more jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN coalesce(actions, '[]') || coalesce(
        (SELECT jsonb_agg(m ORDER BY n)
           FROM jsonb_array_elements(more) WITH ORDINALITY AS t(m, n)
          WHERE NOT (m->>'type' = 'hangup' AND EXISTS (
                         SELECT 1 FROM jsonb_array_elements(coalesce(actions, '[]')) AS a
                          WHERE a->>'type' = 'hangup' AND a->>'leg' = m->>'leg'))),
        '[]');
END;
$$;
COMMENT ON FUNCTION cc.actions_append(jsonb, jsonb) IS
    'Appends the actions more to actions, leaving out hangups of legs that actions already hangs up.';

CREATE FUNCTION cc.call_event(leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l       cc.legs;
    c       cc.calls;
    kind    text := event->>'type';
    actions jsonb;
    resumed jsonb;
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

    IF kind = 'recording_done' THEN
        -- the file is finished whatever became of the call (a recording
        -- stopped by the hangup completes after the call ended)
        PERFORM cc.recording_done(leg, event);
        RETURN '[]';
    END IF;
    IF c.state = 'ended' THEN
        -- a late answer from a leg of a call that is over: let it go
        RETURN CASE WHEN kind = 'answered' THEN '[{"type": "hangup"}]'::jsonb ELSE '[]' END;
    END IF;
    IF kind = 'rtp_timeout' THEN
        -- the peer's media is dead: end the leg, and the routing of its
        -- ended event does the rest
        RETURN '[{"type": "hangup", "cause": "rtp_timeout"}]';
    END IF;
    IF EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.leg_id = leg AND o.outcome = 'offered') THEN
        RETURN cc.queue_on_event(c.id, leg, event);
    END IF;

    IF l.kind = 'customer' THEN
        IF kind IN ('ended', 'failed') THEN
            RETURN cc.call_end(c.id, cc.leg_cause(event),
                               CASE WHEN event->>'side' = 'remote' THEN 'customer' ELSE 'system' END);
        END IF;
        RETURN CASE c.state
            WHEN 'ivr' THEN cc.flow_on_event(c.id, leg, event)
            WHEN 'queued' THEN cc.queue_on_event(c.id, leg, event)
            WHEN 'offering' THEN cc.queue_on_event(c.id, leg, event)
            -- connected calls, and outbound ones (originate, click-to-call)
            -- whose customer is being dialled
            ELSE cc.call_control_event(c.id, leg, event) END;
    END IF;

    -- another leg (agent, consult, external, supervisor): the flow owns
    -- the leg it is dialling (flow_position.leg); call control the others
    actions := CASE WHEN c.state = 'ivr' AND c.flow_position->>'leg' = leg::text
                    THEN cc.flow_on_leg_event(c.id, leg, event)
                    ELSE cc.call_control_event(c.id, leg, event) END;
    IF kind IN ('ended', 'failed') THEN
        SELECT * INTO c FROM cc.calls WHERE id = c.id;     -- the hook may have moved it
        IF c.state = 'connected'
           AND NOT EXISTS (SELECT 1 FROM cc.legs AS o
                            WHERE o.call_id = c.id AND o.kind IN ('agent', 'consult', 'external')
                              AND o.state <> 'ended')
           AND EXISTS (SELECT 1 FROM cc.legs AS o
                        WHERE o.call_id = c.id AND o.kind = 'customer' AND o.state <> 'ended') THEN
            -- nobody is left with the customer: the flow goes on after its
            -- transfer node (a survey, say), or the call ends
            resumed := cc.flow_resume(c.id, 'agent_hangup');
            actions := cc.actions_append(actions, CASE WHEN jsonb_array_length(resumed) > 0 THEN resumed
                                                       ELSE cc.call_end(c.id, 'normal', 'agent') END);
        END IF;
    END IF;
    RETURN actions;
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
        -- call.ended, then the CDR's cdr.created: a timeline (and a webhook
        -- receiver) sees the call end before its record
        PERFORM cc.event_append('call.ended', jsonb_build_object('cause', cause, 'side', side), call_id => call);
        PERFORM cc.cdr_write(call);
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_finish(uuid, text, text) IS
    'Marks a call ended with its cause and hangup side, appends the call.ended event and writes its CDR (cdr.created) (once; a call already ended is left alone).';

CREATE FUNCTION cc.call_end(call uuid, cause text, side text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    actions jsonb;
BEGIN
    actions := cc.actions_append(cc.queue_call_ended(call, cause),
        (SELECT jsonb_agg(jsonb_build_object('type', 'hangup', 'leg', l.id) ORDER BY l.created_at)
           FROM cc.legs AS l
          WHERE l.call_id = call AND l.state <> 'ended'));
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
    FOR c IN SELECT k.id FROM cc.calls AS k WHERE k.site = cc.site_name() AND k.ended_at IS NULL FOR UPDATE LOOP
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

-- Transfers to the far end (IBM connect_to_agent) --------------------------------

CREATE FUNCTION cc.sip_header_value_max_bytes() RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT 1024';
COMMENT ON FUNCTION cc.sip_header_value_max_bytes() IS
    'The longest SIP header value pg_callcenter sends in a transfer or end_session (1024 bytes, as IBM''s phone integration allows).';

CREATE FUNCTION cc.sip_transfer_check(action jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    sip     jsonb := action #> '{transfer_info,target,service_desk,sip}';
    method  text;
    send    text;
    header  jsonb;
    name    text;
    value   text;
    max     integer := cc.sip_header_value_max_bytes();
BEGIN
    IF action IS NULL OR jsonb_typeof(action) <> 'object' THEN
        RAISE EXCEPTION 'cc: a transfer action must be a JSON object, not %', action
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use {"type": "connect_to_agent", "transfer_info": {"target": {"service_desk": {"sip": {...}}}}}.';
    END IF;
    IF jsonb_typeof(sip) IS DISTINCT FROM 'object' THEN
        RAISE EXCEPTION 'cc: connect_to_agent without transfer_info.target.service_desk.sip: %', action
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'IBM''s format: transfer_info.target.service_desk.sip holds uri, transfer_method, transfer_headers, transfer_headers_send_method.';
    END IF;
    method := coalesce(sip->>'transfer_method', 'refer');
    IF method NOT IN ('refer', 'hangup') THEN
        RAISE EXCEPTION 'cc: transfer_method "%" is not known', method
            USING ERRCODE = 'invalid_parameter_value', HINT = 'transfer_method is refer (default) or hangup.';
    END IF;
    send := coalesce(sip->>'transfer_headers_send_method', 'custom_header');
    IF send NOT IN ('custom_header', 'contact_header', 'refer_to_header') THEN
        RAISE EXCEPTION 'cc: transfer_headers_send_method "%" is not known', send
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'transfer_headers_send_method is custom_header (default), contact_header or refer_to_header.';
    END IF;
    IF method = 'hangup' AND send <> 'custom_header' THEN
        RAISE EXCEPTION 'cc: transfer_headers_send_method % cannot be used with transfer_method hangup', send
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'With hangup the headers travel on the BYE: use custom_header.';
    END IF;
    IF method = 'refer' AND sip->>'uri' IS NULL THEN
        RAISE EXCEPTION 'cc: transfer_method refer needs a uri'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give sip.uri, e.g. sip:agent@example.com or tel:+18883334444.';
    END IF;
    IF sip->>'uri' IS NOT NULL AND (sip->>'uri' !~ '^(sips?|tel):[^[:space:]<>]+$' OR octet_length(sip->>'uri') > max) THEN
        RAISE EXCEPTION 'cc: transfer uri "%" is not a SIP or tel URI of at most % bytes', left(sip->>'uri', 80), max
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. sip:user@domain.com or tel:+18883334444.';
    END IF;
    IF sip->>'transfer_target_header' IS NOT NULL AND sip->>'transfer_target_header' !~ '^[A-Za-z0-9][A-Za-z0-9.!%*_+`''~-]*$' THEN
        RAISE EXCEPTION 'cc: transfer_target_header "%" is not a SIP header name', sip->>'transfer_target_header'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A header name is a token such as Transfer-Target.';
    END IF;
    IF sip ? 'transfer_headers' AND jsonb_typeof(sip->'transfer_headers') <> 'array' THEN
        RAISE EXCEPTION 'cc: transfer_headers must be an array of {"name", "value"}, not %', sip->'transfer_headers'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. [{"name": "User-to-User", "value": "abc"}].';
    END IF;
    FOR header IN SELECT * FROM jsonb_array_elements(coalesce(sip->'transfer_headers', '[]')) LOOP
        name := header->>'name';
        value := header->>'value';
        IF name IS NULL OR name !~ '^[A-Za-z0-9][A-Za-z0-9.!%*_+`''~-]*$' THEN
            RAISE EXCEPTION 'cc: transfer header name "%" is not a SIP header name', name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'A header name is a token such as User-to-User or X-Account.';
        END IF;
        IF value IS NULL OR value ~ '[\r\n]' THEN
            RAISE EXCEPTION 'cc: transfer header % has no value or a line break in it', name
                USING ERRCODE = 'invalid_parameter_value', HINT = 'A header value is one line of text.';
        END IF;
        IF octet_length(cc.sip_header_wire_value(name, value)) > max THEN
            RAISE EXCEPTION 'cc: transfer header % is % bytes long as sent; SIP header values are limited to % bytes',
                            name, octet_length(cc.sip_header_wire_value(name, value)), max
                USING ERRCODE = 'string_data_right_truncation',
                      HINT = 'User-to-User is sent hex encoded (twice its length, plus ;encoding=hex): shorten the value.';
        END IF;
    END LOOP;
    RETURN action;
END;
$$;
COMMENT ON FUNCTION cc.sip_transfer_check(jsonb) IS
    'Validates a connect_to_agent action (IBM format) before a decision returns it: transfer_method, transfer_headers_send_method (contact_header and refer_to_header not with hangup), the uri, header names, and every header value at most 1024 bytes as sent (User-to-User hex encoded); returns the action, or raises an error naming the bad part. cc sip refuses the same things as a safety net (refer_result with error).';

CREATE FUNCTION cc.sip_header_wire_value(name text, value text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE WHEN lower(name) = 'user-to-user' AND value !~* ';\s*encoding=' 
                THEN encode(convert_to(value, 'UTF8'), 'hex') || ';encoding=hex'
                ELSE value END;
$$;
COMMENT ON FUNCTION cc.sip_header_wire_value(text, text) IS
    'A header value as cc sip sends it: User-to-User hex encoded with ;encoding=hex (unless it already names an encoding), any other value as it is.';

-- Dialing an agent ---------------------------------------------------------------

CREATE FUNCTION cc.agent_contacts(agent uuid) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('uri', r.contact) ORDER BY r.registered_at), '[]')
      FROM cc.registrations AS r
     WHERE (r.agent_id = agent OR r.phone_id IN (SELECT p.id FROM cc.phones AS p WHERE p.agent_id = agent AND p.enabled))
       AND r.expires_at > now();
$$;
COMMENT ON FUNCTION cc.agent_contacts(uuid) IS
    'The dial targets of an agent: [{"uri": contact}] of its live registrations (and of its desk phones''), oldest first; [] when it has none.';

CREATE FUNCTION cc.dial_agent(call uuid, agent uuid, ring_timeout_ms integer DEFAULT 30000,
                              kind text DEFAULT 'agent', from_uri text DEFAULT NULL, tag text DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    targets jsonb := cc.agent_contacts(agent);
    leg     uuid;
    c       cc.calls;
BEGIN
    SELECT * INTO c FROM cc.calls AS k WHERE k.id = call;
    IF NOT FOUND OR c.state = 'ended' THEN
        RAISE EXCEPTION 'cc: call % does not exist or has ended', call
            USING ERRCODE = 'no_data_found', HINT = 'Dial an agent into a call in progress.';
    END IF;
    IF jsonb_array_length(targets) = 0 THEN
        RAISE EXCEPTION 'cc: agent % has no registered phone', agent
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'The agent''s phone must REGISTER first (see cc.registrations).';
    END IF;
    IF ring_timeout_ms IS NULL OR ring_timeout_ms < 1000 OR ring_timeout_ms > 600000 THEN
        RAISE EXCEPTION 'cc: ring_timeout_ms % is out of range', ring_timeout_ms
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Ring from 1000 to 600000 ms.';
    END IF;
    INSERT INTO cc.legs (call_id, kind, direction, agent_id)
    VALUES (call, kind, 'outbound', agent)
    RETURNING id INTO leg;
    PERFORM cc.call_actions_send(call, jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
        'type', 'dial', 'leg', leg, 'targets', targets, 'ring_timeout_ms', ring_timeout_ms, 'tag', tag,
        'from', CASE WHEN from_uri IS NOT NULL THEN jsonb_build_object('uri', from_uri)
                     WHEN c.caller IS NOT NULL THEN jsonb_build_object('uri', 'sip:' || c.caller || '@' || cc.sip_realm()) END))));
    RETURN leg;
END;
$$;
COMMENT ON FUNCTION cc.dial_agent(uuid, uuid, integer, text, text, text) IS
    'Rings an agent''s registered phones (forked) for a call: inserts the outbound leg (kind agent by default) and sends cc sip a dial action with the caller as caller ID; returns the leg id. Its ringing, answered and failed events come back through cc.call_event.';
