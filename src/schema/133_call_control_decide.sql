-- 133_call_control_decide.sql: what each call-control command does, decided
-- when it runs.
--
-- cc sip claims a command of a call-control kind and, in its claim
-- transaction, calls cc.command_decide(command).  That locks the call
-- (FOR UPDATE), decides with the call's state as it is now, makes the state
-- changes (legs, transfers, conferences, recordings, ...), appends events,
-- and returns {"actions": [...]} (each action naming its leg) for cc sip to
-- carry out, or {"error": "..."} when the command cannot run (the call
-- ended, nobody to transfer, ...): it never raises.  cc sip then marks the
-- command done, or failed with the error (cc.command_finish, which appends
-- command.done / command.failed).  The actions are docs/call-model.md's.

CREATE FUNCTION cc.command_decide(command uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cmd     cc.commands;
    c       cc.calls;
    actions jsonb;
BEGIN
    SELECT * INTO cmd FROM cc.commands AS k WHERE k.id = command;
    IF cmd.id IS NULL THEN
        RETURN jsonb_build_object('error', format('command %s does not exist', command));
    END IF;
    IF cmd.state IN ('done', 'failed') THEN
        RETURN jsonb_build_object('error', format('command %s is %s already', command, cmd.state));
    END IF;
    IF cmd.kind = 'call_actions' THEN
        RETURN jsonb_build_object('actions', coalesce(cmd.args->'actions', '[]'));
    END IF;
    BEGIN
        IF cmd.kind IN ('originate', 'click_to_call') THEN
            actions := CASE cmd.kind
                WHEN 'originate' THEN cc.call_decide_originate(cmd)
                ELSE cc.call_decide_click_to_call(cmd) END;
        ELSE
            c := cc.call_lock_live(cmd.call_id);
            actions := CASE cmd.kind
                WHEN 'hangup' THEN cc.call_decide_hangup(cmd, c)
                WHEN 'hold' THEN cc.call_decide_hold(cmd, c, true)
                WHEN 'unhold' THEN cc.call_decide_hold(cmd, c, false)
                WHEN 'mute' THEN cc.call_decide_mute(cmd, c, true)
                WHEN 'unmute' THEN cc.call_decide_mute(cmd, c, false)
                WHEN 'transfer' THEN cc.call_transfer_begin(c, cmd.args->'target', cmd.args->'variables',
                                                            cmd.id, (cmd.args->>'agent')::uuid, NULL)
                WHEN 'consult' THEN cc.call_decide_consult(cmd, c)
                WHEN 'consult_cancel' THEN cc.call_decide_consult_cancel(cmd, c)
                WHEN 'consult_three_way' THEN cc.call_decide_consult_three_way(cmd, c)
                WHEN 'consult_transfer' THEN cc.call_decide_consult_transfer(cmd, c)
                WHEN 'send_dtmf' THEN cc.call_decide_send_dtmf(cmd, c)
                WHEN 'play' THEN cc.call_decide_play(cmd, c)
                WHEN 'record' THEN cc.call_decide_record(cmd, c)
                WHEN 'conference_create' THEN cc.call_decide_conference_create(cmd, c)
                WHEN 'conference_join' THEN cc.call_decide_conference_join(cmd, c)
                WHEN 'conference_leave' THEN cc.call_decide_conference_leave(cmd, c)
                WHEN 'conference_mode' THEN cc.call_decide_conference_mode(cmd, c)
                WHEN 'conference_mute' THEN cc.call_decide_conference_mute(cmd, c)
                WHEN 'monitor' THEN cc.call_decide_monitor(cmd, c)
                WHEN 'self_service' THEN cc.call_decide_self_service(cmd, c)
            END;
            IF actions IS NULL THEN
                RAISE EXCEPTION 'command kind % is not a call-control kind', cmd.kind;
            END IF;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        -- the subtransaction undid whatever the decision had changed
        RETURN jsonb_build_object('error', SQLERRM);
    END;
    RETURN jsonb_build_object('actions', actions);
END;
$$;
COMMENT ON FUNCTION cc.command_decide(uuid) IS
    'Called by cc sip in the transaction that claims a call-control command: locks the call, decides with its state as it is then, changes it, and returns {"actions": [...]} (each naming its leg; call_actions commands return their args.actions) or {"error": "why"} for a command that cannot run (e.g. "call <id> ended at <time> (cause normal)"). Never raises.';

-- outbound calls ------------------------------------------------------------------

CREATE FUNCTION cc.call_decide_originate(cmd cc.commands) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a    jsonb := cmd.args;
    c    cc.calls;
    uri  text;
    d    jsonb;
BEGIN
    IF cmd.call_id IS NULL THEN
        PERFORM cc.call_refuse('an originate command names the call to make in call_id');
    END IF;
    IF EXISTS (SELECT 1 FROM cc.calls AS k WHERE k.id = cmd.call_id) THEN
        c := cc.call_lock_live(cmd.call_id);
        PERFORM cc.call_refuse(format('call %s was placed already', c.id));
    END IF;
    IF NOT (cc.dial_number_valid(a->>'destination') OR cc.sip_uri_valid(a->>'destination')) THEN
        PERFORM cc.call_refuse(format('destination "%s" is neither a phone number nor a SIP URI', a->>'destination'));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cc.numbers AS n WHERE n.id = (a->>'number_id')::uuid
                                                AND n.enabled AND n.direction IN ('out', 'both')) THEN
        PERFORM cc.call_refuse(format('number %s can no longer place calls', a->>'caller_id'));
    END IF;
    IF a ? 'flow_version_id' AND NOT EXISTS (SELECT 1 FROM cc.flow_versions AS v
                                              WHERE v.id = (a->>'flow_version_id')::uuid AND v.published) THEN
        PERFORM cc.call_refuse('the outbound flow is no longer published');
    END IF;
    IF a ? 'agent_id' AND NOT EXISTS (SELECT 1 FROM cc.agents AS g WHERE g.id = (a->>'agent_id')::uuid AND g.enabled) THEN
        PERFORM cc.call_refuse(format('agent %s is disabled', cc.agent_label((a->>'agent_id')::uuid)));
    END IF;
    uri := CASE WHEN a ? 'trunk_id' THEN cc.trunk_request_uri((a->>'trunk_id')::uuid,
                                          coalesce(cc.sip_uri_user(a->>'destination'), a->>'destination'))
                ELSE a->>'destination' END;
    INSERT INTO cc.calls (id, direction, state, number_id, trunk_id, number, caller, callee, variables)
    VALUES (cmd.call_id, 'outbound', 'ringing', (a->>'number_id')::uuid, (a->>'trunk_id')::uuid, a->>'caller_id',
            a->>'caller_id', a->>'destination', coalesce(a->'variables', '{}'))
    RETURNING * INTO c;
    INSERT INTO cc.originations (call_id, command_id, kind, destination, caller_id, number_id, trunk_id,
                                 flow_id, flow_version_id, agent_id, customer_uri, ring_timeout_ms)
    VALUES (c.id, cmd.id, 'originate', a->>'destination', a->>'caller_id', (a->>'number_id')::uuid,
            (a->>'trunk_id')::uuid, (a->>'flow_id')::uuid, (a->>'flow_version_id')::uuid, (a->>'agent_id')::uuid,
            uri, (a->>'ring_timeout_ms')::integer);
    PERFORM cc.event_append('call.originated',
        jsonb_strip_nulls(jsonb_build_object('destination', a->>'destination', 'caller_id', a->>'caller_id',
                                             'flow_id', a->>'flow_id', 'agent_id', a->>'agent_id')),
        call_id => c.id, agent_id => (a->>'agent_id')::uuid, command_id => cmd.id);
    d := cc.call_leg_dial(c, cc.origination_customer_plan((a->>'trunk_id')::uuid, a->>'destination', uri, a->>'caller_id'),
                          'customer', (a->>'ring_timeout_ms')::integer, 'originate', false);
    UPDATE cc.originations SET customer_leg_id = (d->>'leg')::uuid WHERE call_id = c.id;
    RETURN jsonb_build_array(d->'action');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_originate(cc.commands) IS
    'Decision of an originate command: the outbound call (state ringing) and its customer leg, dialled from the caller ID through the trunk; cc.call_control_event runs the flow or rings the agent when it answers.';

CREATE FUNCTION cc.call_decide_click_to_call(cmd cc.commands) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a     jsonb := cmd.args;
    agent cc.agents;
    c     cc.calls;
    uri   text;
    plan  jsonb;
    d     jsonb;
BEGIN
    IF cmd.call_id IS NULL THEN
        PERFORM cc.call_refuse('a click_to_call command names the call to make in call_id');
    END IF;
    IF EXISTS (SELECT 1 FROM cc.calls AS k WHERE k.id = cmd.call_id) THEN
        c := cc.call_lock_live(cmd.call_id);
        PERFORM cc.call_refuse(format('call %s was placed already', c.id));
    END IF;
    IF NOT cc.dial_number_valid(a->>'destination') THEN
        PERFORM cc.call_refuse(format('customer number "%s" is not a phone number', a->>'destination'));
    END IF;
    SELECT * INTO agent FROM cc.agents AS g WHERE g.id = (a->>'agent_id')::uuid;
    IF agent.id IS NULL OR NOT agent.enabled THEN
        PERFORM cc.call_refuse(format('agent %s is gone or disabled', a->>'agent_id'));
    END IF;
    IF agent.state IN ('offline', 'ringing', 'talking') THEN
        PERFORM cc.call_refuse(format('agent %s is %s', cc.agent_label(agent.id), agent.state));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cc.numbers AS n WHERE n.id = (a->>'number_id')::uuid
                                                AND n.enabled AND n.direction IN ('out', 'both')) THEN
        PERFORM cc.call_refuse(format('number %s can no longer place calls', a->>'caller_id'));
    END IF;
    uri := cc.trunk_request_uri((a->>'trunk_id')::uuid, a->>'destination');
    INSERT INTO cc.calls (id, direction, state, number_id, trunk_id, number, caller, callee, variables, agent_id)
    VALUES (cmd.call_id, 'outbound', 'ringing', (a->>'number_id')::uuid, (a->>'trunk_id')::uuid, a->>'caller_id',
            a->>'caller_id', a->>'destination', coalesce(a->'variables', '{}'), agent.id)
    RETURNING * INTO c;
    plan := cc.call_dial_plan(jsonb_build_object('kind', 'agent', 'agent', agent.id), c);
    INSERT INTO cc.originations (call_id, command_id, kind, destination, caller_id, number_id, trunk_id,
                                 agent_id, customer_uri, ring_timeout_ms)
    VALUES (c.id, cmd.id, 'click_to_call', a->>'destination', a->>'caller_id', (a->>'number_id')::uuid,
            (a->>'trunk_id')::uuid, agent.id, uri, (a->>'ring_timeout_ms')::integer);
    PERFORM cc.event_append('call.click_to_call',
        jsonb_build_object('destination', a->>'destination', 'caller_id', a->>'caller_id'),
        call_id => c.id, agent_id => agent.id, command_id => cmd.id);
    d := cc.call_leg_dial(c, plan, 'agent', (a->>'ring_timeout_ms')::integer, 'click_to_call', true);
    UPDATE cc.originations SET agent_leg_id = (d->>'leg')::uuid WHERE call_id = c.id;
    RETURN jsonb_build_array(d->'action');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_click_to_call(cc.commands) IS
    'Decision of a click_to_call command: the outbound call (state ringing) and the agent''s leg, dialled first (refused if the agent is offline, ringing or talking, or has no registered phone); the customer is dialled when the agent answers.';

-- hangup, hold, mute ------------------------------------------------------------------

CREATE FUNCTION cc.call_decide_hangup(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs;
BEGIN
    IF cmd.args ? 'leg' THEN
        SELECT * INTO l FROM cc.legs AS g WHERE g.id = (cmd.args->>'leg')::uuid AND g.call_id = c.id;
        IF l.id IS NULL THEN
            PERFORM cc.call_refuse(format('leg %s is not a leg of call %s', cmd.args->>'leg', c.id));
        END IF;
        IF l.kind <> 'customer' THEN
            IF l.state = 'ended' THEN
                PERFORM cc.call_refuse(format('%s leg %s of call %s has ended already', l.kind, l.id, c.id));
            END IF;
            PERFORM cc.event_append('call.leg_hangup',
                jsonb_build_object('kind', l.kind, 'cause', cmd.args->>'cause', 'side', cmd.args->>'side'),
                call_id => c.id, leg_id => l.id, agent_id => l.agent_id, command_id => cmd.id);
            RETURN jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', l.id, 'cause', cmd.args->>'cause'));
        END IF;
    END IF;
    PERFORM cc.event_append('call.hangup',
        jsonb_build_object('cause', cmd.args->>'cause', 'side', cmd.args->>'side'),
        call_id => c.id, agent_id => (cmd.args->>'agent')::uuid, command_id => cmd.id);
    RETURN cc.call_end(c.id, cmd.args->>'cause', cmd.args->>'side');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_hangup(cc.commands, cc.calls) IS
    'Decision of a hangup command: ends the call (cc.call_end: every live leg hung up, CDR, call.ended) or hangs up one leg other than the customer''s.';

CREATE FUNCTION cc.call_decide_hold(cmd cc.commands, c cc.calls, hold boolean) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs;
BEGIN
    PERFORM cc.call_require_connected(c, CASE WHEN hold THEN 'hold' ELSE 'take off hold' END);
    l := cc.call_require_leg(c.id, coalesce((cmd.args->>'leg')::uuid, (cc.call_customer_leg(c.id)).id), 'customer leg');
    IF hold = (l.hold_state IN ('local', 'both')) THEN
        PERFORM cc.call_refuse(format('%s leg %s of call %s is %s', l.kind, l.id, c.id,
                                      CASE WHEN hold THEN 'on hold already' ELSE 'not on hold' END));
    END IF;
    UPDATE cc.legs AS g
       SET hold_state = CASE WHEN hold THEN CASE WHEN g.hold_state = 'remote' THEN 'both' ELSE 'local' END
                             ELSE CASE WHEN g.hold_state = 'both' THEN 'remote' ELSE 'none' END END
     WHERE g.id = l.id;
    PERFORM cc.event_append(CASE WHEN hold THEN 'call.held' ELSE 'call.unheld' END,
        jsonb_build_object('kind', l.kind), call_id => c.id, leg_id => l.id, command_id => cmd.id);
    RETURN jsonb_build_array(CASE WHEN hold THEN cc.call_hold_action(c, l.id, cmd.args->'music')
                                  ELSE jsonb_build_object('type', 'unhold', 'leg', l.id) END);
END;
$$;
COMMENT ON FUNCTION cc.call_decide_hold(cc.commands, cc.calls, boolean) IS
    'Decision of hold / unhold: the customer''s leg (or the leg given) of a connected call goes on hold with music (hold_state local) or comes back; refused if it is already so.';

CREATE FUNCTION cc.call_decide_mute(cmd cc.commands, c cc.calls, mute boolean) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs;
BEGIN
    PERFORM cc.call_require_connected(c, CASE WHEN mute THEN 'mute' ELSE 'unmute' END);
    l := cc.call_require_leg(c.id, coalesce((cmd.args->>'leg')::uuid,
                                            (cc.call_agent_leg(c, (cmd.args->>'agent')::uuid)).id), 'agent leg');
    IF l.muted = mute THEN
        PERFORM cc.call_refuse(format('%s leg %s of call %s is %s already', l.kind, l.id, c.id,
                                      CASE WHEN mute THEN 'muted' ELSE 'unmuted' END));
    END IF;
    UPDATE cc.legs AS g SET muted = mute WHERE g.id = l.id;
    UPDATE cc.conference_participants AS p SET muted = mute WHERE p.leg_id = l.id AND p.state <> 'left';
    PERFORM cc.event_append(CASE WHEN mute THEN 'call.muted' ELSE 'call.unmuted' END,
        jsonb_build_object('kind', l.kind), call_id => c.id, leg_id => l.id, agent_id => l.agent_id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_build_object('type', CASE WHEN mute THEN 'mute' ELSE 'unmute' END, 'leg', l.id));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_mute(cc.commands, cc.calls, boolean) IS
    'Decision of mute / unmute: the agent''s leg (the calling agent''s, else the call''s agent''s, or the leg given) of a connected call is muted (the others stop hearing it) or unmuted; refused if it is already so.';

-- transfers -------------------------------------------------------------------------

CREATE FUNCTION cc.call_require_no_transfer(c cc.calls, what text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t cc.transfers;
BEGIN
    SELECT * INTO t FROM cc.transfers AS k WHERE k.call_id = c.id AND k.state IN ('dialing', 'consulting', 'three_way');
    IF t.id IS NOT NULL THEN
        PERFORM cc.call_refuse(format('call %s has a %s transfer in progress (%s): cannot %s', c.id, t.kind, t.state, what));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_require_no_transfer(cc.calls, text) IS 'Refuses a command while the call has a transfer or consultation in progress.';

CREATE FUNCTION cc.call_require_no_conference(c cc.calls, what text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cc.conferences AS f WHERE f.call_id = c.id AND f.state = 'active') THEN
        PERFORM cc.call_refuse(format('call %s is in a conference: cannot %s (use cc.conference_join or cc.conference_leave)', c.id, what));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.call_require_no_conference(cc.calls, text) IS 'Refuses a command while the call is in a conference.';

CREATE FUNCTION cc.call_unhold_if_held(l cc.legs) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF l.id IS NULL OR l.state <> 'answered' OR l.hold_state NOT IN ('local', 'both') THEN
        RETURN '[]';
    END IF;
    UPDATE cc.legs AS g SET hold_state = CASE WHEN g.hold_state = 'both' THEN 'remote' ELSE 'none' END WHERE g.id = l.id;
    RETURN jsonb_build_array(jsonb_build_object('type', 'unhold', 'leg', l.id));
END;
$$;
COMMENT ON FUNCTION cc.call_unhold_if_held(cc.legs) IS 'The unhold action of a leg we hold (and its hold_state updated), or nothing.';

CREATE FUNCTION cc.call_transfer_begin(c cc.calls, target jsonb, variables jsonb, command uuid,
                                       agent uuid, from_leg uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust    cc.legs;
    src     cc.legs;
    plan    jsonb;
    d       jsonb;
    sip     jsonb;
    tid     uuid;
    acts    jsonb;
    leaving jsonb;
BEGIN
    PERFORM cc.call_require_connected(c, 'transfer');
    PERFORM cc.call_require_no_transfer(c, 'transfer');
    PERFORM cc.call_require_no_conference(c, 'transfer');
    cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
    IF from_leg IS NOT NULL THEN
        SELECT * INTO src FROM cc.legs AS g WHERE g.id = from_leg;
    ELSE
        src := cc.call_agent_leg(c, agent);
    END IF;
    UPDATE cc.calls AS k SET variables = k.variables || coalesce(call_transfer_begin.variables, '{}')
     WHERE k.id = c.id RETURNING * INTO c;
    acts := cc.call_unhold_if_held(cust);
    -- blind: whoever talks with the customer leaves at once
    SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'hangup', 'leg', g.id, 'cause', 'transferred') ORDER BY g.created_at), '[]')
      INTO leaving
      FROM cc.legs AS g
     WHERE g.call_id = c.id AND g.kind IN ('agent', 'consult', 'external') AND g.state <> 'ended';

    CASE target->>'kind'
        WHEN 'queue' THEN
            INSERT INTO cc.transfers (call_id, command_id, kind, state, target, from_leg_id, from_agent_id,
                                      to_queue_id, ended_at, reason)
            VALUES (c.id, command, 'blind', 'completed', target, src.id, src.agent_id,
                    (target->>'queue')::uuid, now(), 'enqueued')
            RETURNING id INTO tid;
            PERFORM cc.event_append('call.transferred',
                jsonb_build_object('transfer', tid, 'kind', 'blind', 'target', target),
                call_id => c.id, agent_id => src.agent_id, queue_id => (target->>'queue')::uuid, command_id => command);
            RETURN acts || leaving
                   || cc.actions_on_leg(cc.enqueue(c.id, jsonb_build_object('queue', target->'queue')), cust.id);
        WHEN 'sip' THEN
            sip := target->'sip';
            sip := sip || jsonb_build_object('transfer_headers',
                       coalesce(sip->'transfer_headers', '[]')
                       || coalesce((SELECT jsonb_agg(jsonb_build_object('name', h.key, 'value', h.value #>> '{}') ORDER BY h.key)
                                      FROM jsonb_each(cc.call_variable_headers(c)) AS h
                                     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(sip->'transfer_headers', '[]')) AS x
                                                        WHERE lower(x->>'name') = lower(h.key))), '[]'));
            INSERT INTO cc.transfers (call_id, command_id, kind, target, from_leg_id, from_agent_id)
            VALUES (c.id, command, 'refer', target, src.id, src.agent_id)
            RETURNING id INTO tid;
            PERFORM cc.event_append('call.transfer_started',
                jsonb_build_object('transfer', tid, 'kind', 'refer', 'target', target),
                call_id => c.id, leg_id => cust.id, agent_id => src.agent_id, command_id => command);
            RETURN acts || jsonb_build_array(jsonb_build_object('type', 'connect_to_agent', 'leg', cust.id,
                       'transfer_info', jsonb_build_object('target', jsonb_build_object('service_desk',
                                            jsonb_build_object('sip', sip)))));
        ELSE
            plan := cc.call_dial_plan(target, c);
            IF plan->>'agent_id' IS NOT NULL AND EXISTS (
                   SELECT 1 FROM cc.legs AS g WHERE g.call_id = c.id AND g.agent_id = (plan->>'agent_id')::uuid
                                                AND g.state <> 'ended' AND g.kind IN ('agent', 'consult')) THEN
                PERFORM cc.call_refuse(format('agent %s is on call %s already', cc.agent_label((plan->>'agent_id')::uuid), c.id));
            END IF;
            d := cc.call_leg_dial(c, plan, plan->>'leg_kind', (target->>'ring_timeout_ms')::integer, 'transfer', true);
            INSERT INTO cc.transfers (call_id, command_id, kind, target, from_leg_id, from_agent_id, to_leg_id, to_agent_id)
            VALUES (c.id, command, 'blind', target, src.id, src.agent_id, (d->>'leg')::uuid, (plan->>'agent_id')::uuid)
            RETURNING id INTO tid;
            PERFORM cc.event_append('call.transfer_started',
                jsonb_build_object('transfer', tid, 'kind', 'blind', 'target', target),
                call_id => c.id, leg_id => (d->>'leg')::uuid, agent_id => src.agent_id, command_id => command);
            RETURN acts || leaving
                   || jsonb_build_array(jsonb_build_object('type', 'play', 'leg', cust.id, 'tone', 'ringback', 'loop', true),
                                        d->'action');
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.call_transfer_begin(cc.calls, jsonb, jsonb, uuid, uuid, uuid) IS
    'A blind transfer of a connected call (a transfer command, or a REFER from an agent''s phone with from_leg): the call''s variables are merged; to a queue, the agents leave and cc.enqueue takes the customer; to an agent, phone, number or URI, the agents leave, the customer hears ringback and the target is dialled (bridged when it answers); to a sip target, the customer''s far end gets a REFER (connect_to_agent).';

CREATE FUNCTION cc.queue_consult_agent(queue uuid, busy_agent uuid) RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT a.id
      FROM cc.queue_members AS m
      JOIN cc.agents AS a ON a.id = m.agent_id
     WHERE m.queue_id = queue AND m.enabled AND a.enabled AND NOT a.forced_offline AND a.state = 'idle'
       AND a.id IS DISTINCT FROM busy_agent
       AND EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.agent_id = a.id AND r.expires_at > now())
       AND NOT EXISTS (SELECT 1 FROM cc.legs AS l WHERE l.agent_id = a.id AND l.state <> 'ended')
       AND NOT EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.agent_id = a.id AND o.outcome = 'offered')
     ORDER BY m.priority, a.last_call_ended_at NULLS FIRST, m.position, a.extension
     LIMIT 1
$$;
COMMENT ON FUNCTION cc.queue_consult_agent(uuid, uuid) IS
    'The agent a consultation to a queue calls: an idle, registered member with no live leg nor open offer, by priority then longest idle; NULL if none.';

CREATE FUNCTION cc.call_decide_consult(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    target jsonb := cmd.args->'target';
    queue  uuid;
    cust   cc.legs;
    src    cc.legs;
    plan   jsonb;
    d      jsonb;
    tid    uuid;
    acts   jsonb := '[]';
BEGIN
    PERFORM cc.call_require_connected(c, 'consult');
    PERFORM cc.call_require_no_transfer(c, 'consult');
    PERFORM cc.call_require_no_conference(c, 'consult');
    cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
    src := cc.call_agent_leg(c, (cmd.args->>'agent')::uuid);
    IF src.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no agent talking to consult for', c.id));
    END IF;
    IF target->>'kind' = 'queue' THEN
        queue := (target->>'queue')::uuid;
        target := jsonb_build_object('kind', 'agent', 'agent', cc.queue_consult_agent(queue, src.agent_id));
        IF target->>'agent' IS NULL THEN
            PERFORM cc.call_refuse(format('no agent of queue %s is free for a consultation',
                                          (SELECT q.name FROM cc.queues AS q WHERE q.id = queue)));
        END IF;
    END IF;
    IF target->>'agent' IS NOT NULL AND (target->>'agent')::uuid = src.agent_id THEN
        PERFORM cc.call_refuse(format('agent %s cannot consult itself', cc.agent_label(src.agent_id)));
    END IF;
    UPDATE cc.calls AS k SET variables = k.variables || coalesce(cmd.args->'variables', '{}')
     WHERE k.id = c.id RETURNING * INTO c;
    plan := cc.call_dial_plan(target, c);
    d := cc.call_leg_dial(c, plan, 'consult', (target->>'ring_timeout_ms')::integer, 'consult', true);
    INSERT INTO cc.transfers (call_id, command_id, kind, target, from_leg_id, from_agent_id, to_leg_id,
                              to_agent_id, to_queue_id)
    VALUES (c.id, cmd.id, 'consult', cmd.args->'target', src.id, src.agent_id, (d->>'leg')::uuid,
            (plan->>'agent_id')::uuid, queue)
    RETURNING id INTO tid;
    PERFORM cc.event_append('call.consult_started',
        jsonb_build_object('transfer', tid, 'target', cmd.args->'target', 'party', plan->>'party'),
        call_id => c.id, leg_id => (d->>'leg')::uuid, agent_id => src.agent_id, queue_id => queue, command_id => cmd.id);
    IF cust.hold_state NOT IN ('local', 'both') THEN
        UPDATE cc.legs AS g SET hold_state = CASE WHEN g.hold_state = 'remote' THEN 'both' ELSE 'local' END
         WHERE g.id = cust.id;
        acts := jsonb_build_array(cc.call_hold_action(c, cust.id, NULL));
    END IF;
    RETURN acts || jsonb_build_array(d->'action');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_consult(cc.commands, cc.calls) IS
    'Decision of a consult command: the customer is held (the queue''s hold music) and a consult leg dials the target (a queue: its free agent, see cc.queue_consult_agent); the agent is bridged with it when it answers.';

CREATE FUNCTION cc.call_consult_live(c cc.calls) RETURNS cc.transfers
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t cc.transfers;
BEGIN
    SELECT * INTO t FROM cc.transfers AS k
     WHERE k.call_id = c.id AND k.kind = 'consult' AND k.state IN ('dialing', 'consulting', 'three_way')
       FOR UPDATE;
    IF t.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no consultation in progress', c.id));
    END IF;
    RETURN t;
END;
$$;
COMMENT ON FUNCTION cc.call_consult_live(cc.calls) IS 'The consultation in progress of a call; refuses the command if there is none.';

CREATE FUNCTION cc.call_decide_consult_cancel(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t    cc.transfers := cc.call_consult_live(c);
    cust cc.legs := cc.call_customer_leg(c.id);
    src  cc.legs;
    acts jsonb := '[]';
BEGIN
    SELECT * INTO src FROM cc.legs AS g WHERE g.id = t.from_leg_id;
    IF EXISTS (SELECT 1 FROM cc.legs AS g WHERE g.id = t.to_leg_id AND g.state <> 'ended') THEN
        acts := jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', t.to_leg_id, 'cause', 'canceled'));
    END IF;
    IF t.state = 'consulting' AND src.state = 'answered' AND cust.state = 'answered' THEN
        acts := acts || jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', src.id));
    END IF;
    IF t.state <> 'three_way' THEN
        acts := acts || cc.call_unhold_if_held(cust);
    END IF;
    UPDATE cc.transfers SET state = 'canceled', reason = 'canceled', ended_at = now() WHERE id = t.id;
    PERFORM cc.event_append('call.consult_canceled',
        jsonb_build_object('transfer', t.id, 'was', t.state),
        call_id => c.id, leg_id => t.to_leg_id, agent_id => t.from_agent_id, command_id => cmd.id);
    RETURN acts;
END;
$$;
COMMENT ON FUNCTION cc.call_decide_consult_cancel(cc.commands, cc.calls) IS
    'Decision of consult_cancel: the consult leg hangs up; before or after it answered the customer is back with the agent as before (bridged, off hold); in a three-way call the conference goes on without it.';

CREATE FUNCTION cc.call_decide_consult_three_way(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t    cc.transfers := cc.call_consult_live(c);
    cust cc.legs;
    src  cc.legs;
    dst  cc.legs;
    conf uuid;
    acts jsonb;
BEGIN
    IF t.state <> 'consulting' THEN
        PERFORM cc.call_refuse(format('the consultation of call %s is %s: %s', c.id, t.state,
                                      CASE t.state WHEN 'dialing' THEN 'wait until it answers, or cancel it'
                                                   ELSE 'a three-way call already' END));
    END IF;
    cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
    src := cc.call_require_leg(c.id, t.from_leg_id, 'consulting agent');
    dst := cc.call_require_leg(c.id, t.to_leg_id, 'consulted party');
    INSERT INTO cc.conferences (call_id, command_id) VALUES (c.id, cmd.id) RETURNING id INTO conf;
    INSERT INTO cc.conference_participants (conference_id, leg_id, state, joined_at)
    SELECT conf, x.leg, 'joined', now() FROM unnest(ARRAY[cust.id, src.id, dst.id]) AS x (leg);
    UPDATE cc.transfers SET state = 'three_way', conference_id = conf WHERE id = t.id;
    PERFORM cc.event_append('conference.created',
        jsonb_build_object('conference', conf, 'participants', 3, 'transfer', t.id),
        call_id => c.id, command_id => cmd.id);
    PERFORM cc.event_append('call.three_way', jsonb_build_object('transfer', t.id, 'conference', conf),
        call_id => c.id, agent_id => t.from_agent_id, command_id => cmd.id);
    acts := cc.call_unhold_if_held(cust);
    RETURN acts || (SELECT jsonb_agg(jsonb_build_object('type', 'conference', 'leg', x.leg, 'command', 'join',
                                                        'conference', conf, 'mode', 'talk') ORDER BY x.n)
                      FROM unnest(ARRAY[cust.id, src.id, dst.id]) WITH ORDINALITY AS x (leg, n));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_consult_three_way(cc.commands, cc.calls) IS
    'Decision of consult_three_way: an answered consultation becomes a conference of the customer (off hold), the agent and the consulted party, all talking.';

CREATE FUNCTION cc.call_decide_consult_transfer(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t    cc.transfers := cc.call_consult_live(c);
    cust cc.legs;
    dst  cc.legs;
    acts jsonb := '[]';
BEGIN
    IF t.state = 'dialing' THEN
        PERFORM cc.call_refuse(format('the consultation of call %s is not answered yet: wait, or cancel it', c.id));
    END IF;
    cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
    dst := cc.call_require_leg(c.id, t.to_leg_id, 'consulted party');
    IF t.state = 'consulting' THEN
        acts := cc.call_unhold_if_held(cust)
                || jsonb_build_array(jsonb_build_object('type', 'bridge', 'leg', cust.id, 'with', dst.id));
    END IF;
    IF EXISTS (SELECT 1 FROM cc.legs AS g WHERE g.id = t.from_leg_id AND g.state <> 'ended') THEN
        acts := acts || jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', t.from_leg_id, 'cause', 'transferred'));
        UPDATE cc.conference_participants AS p SET state = 'left', left_at = now(), left_reason = 'transferred'
         WHERE p.leg_id = t.from_leg_id AND p.state <> 'left';
    END IF;
    UPDATE cc.transfers SET state = 'completed', reason = 'warm_transfer', ended_at = now() WHERE id = t.id;
    UPDATE cc.calls AS k SET agent_id = coalesce(t.to_agent_id, k.agent_id) WHERE k.id = c.id;
    PERFORM cc.event_append('call.consult_transferred',
        jsonb_build_object('transfer', t.id, 'was', t.state, 'to_agent', t.to_agent_id),
        call_id => c.id, leg_id => dst.id, agent_id => t.from_agent_id, command_id => cmd.id);
    RETURN acts;
END;
$$;
COMMENT ON FUNCTION cc.call_decide_consult_transfer(cc.commands, cc.calls) IS
    'Decision of consult_transfer (warm transfer): the first agent hangs up; from an answered consultation the customer (off hold) is bridged with the consulted party; from a three-way call the conference goes on without the first agent. The consulted agent becomes the call''s agent.';

-- media -----------------------------------------------------------------------------

CREATE FUNCTION cc.call_decide_send_dtmf(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs := cc.call_require_leg(c.id, coalesce((cmd.args->>'leg')::uuid, (cc.call_customer_leg(c.id)).id),
                                     'customer leg');
BEGIN
    PERFORM cc.event_append('call.dtmf_sending', jsonb_build_object('count', length(cmd.args->>'digits')),
        call_id => c.id, leg_id => l.id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'dtmf', 'leg', l.id, 'tag', 'send_dtmf:' || cmd.id,
        'command_info', jsonb_build_object('type', 'send', 'parameters', jsonb_build_object(
            'digits', (SELECT jsonb_agg(jsonb_build_object(
                                  'code', CASE d WHEN '*' THEN '10' WHEN '#' THEN '11' WHEN 'A' THEN '12'
                                                 WHEN 'B' THEN '13' WHEN 'C' THEN '14' WHEN 'D' THEN '15' ELSE d END,
                                  'duration', (cmd.args->>'duration_ms')::integer) ORDER BY n)
                         FROM unnest(string_to_array(cmd.args->>'digits', NULL)) WITH ORDINALITY AS x (d, n)),
            'send_interval', (cmd.args->>'interval_ms')::integer))));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_send_dtmf(cc.commands, cc.calls) IS
    'Decision of send_dtmf: IBM''s dtmf send on the customer''s (or given) answered leg; digit codes are RFC 4733 events as IBM writes them ("0"-"9", "10" *, "11" #, "12"-"15" A-D).';

CREATE FUNCTION cc.call_decide_play(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    l cc.legs := cc.call_require_leg(c.id, coalesce((cmd.args->>'leg')::uuid, (cc.call_customer_leg(c.id)).id),
                                     'customer leg');
BEGIN
    PERFORM cc.event_append('call.play', cmd.args->'prompt', call_id => c.id, leg_id => l.id, command_id => cmd.id);
    RETURN jsonb_build_array(cc.call_play_action(cmd.args->'prompt', l.id) || jsonb_build_object('tag', 'play:' || cmd.id));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_play(cc.commands, cc.calls) IS 'Decision of play: the play action on the customer''s (or given) answered leg.';

CREATE FUNCTION cc.call_decide_record(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    what    text := cmd.args->>'command';
    r       cc.recordings;
    cust    cc.legs;
    partner cc.legs;
    rid     uuid;
    file    text;
BEGIN
    SELECT * INTO r FROM cc.recordings AS g
     WHERE g.call_id = c.id AND g.kind = 'call' AND g.state IN ('recording', 'paused') AND g.ended_at IS NULL
     ORDER BY g.started_at DESC LIMIT 1;
    IF what = 'start' THEN
        PERFORM cc.call_require_connected(c, 'record');
        IF r.id IS NOT NULL THEN
            PERFORM cc.call_refuse(format('call %s is being recorded already (recording %s)', c.id, r.id));
        END IF;
        cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
        partner := cc.call_agent_leg(c);
        IF partner.id IS NULL THEN
            SELECT * INTO partner FROM cc.legs AS g
             WHERE g.call_id = c.id AND g.kind = 'external' AND g.state = 'answered' ORDER BY g.answered_at DESC LIMIT 1;
        END IF;
        rid := gen_random_uuid();
        file := format('calls/%s/%s-%s.wav', to_char(now() AT TIME ZONE 'UTC', 'YYYY/MM/DD'), c.id, rid);
        INSERT INTO cc.recordings (id, call_id, leg_id, kind, file_path, channels)
        VALUES (rid, c.id, cust.id, 'call', file, (cmd.args->>'channels')::integer);
        PERFORM cc.event_append('recording.started',
            jsonb_build_object('recording', rid, 'file', file, 'channels', (cmd.args->>'channels')::integer),
            call_id => c.id, leg_id => cust.id, command_id => cmd.id);
        RETURN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('type', 'record', 'leg', cust.id, 'command', 'start',
            'recording', rid, 'file', file, 'channels', (cmd.args->>'channels')::integer, 'with', partner.id)));
    END IF;
    IF r.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s is not being recorded', c.id));
    END IF;
    IF what = 'pause' AND r.state = 'paused' OR what = 'resume' AND r.state = 'recording' THEN
        PERFORM cc.call_refuse(format('recording %s of call %s is %s already', r.id, c.id, r.state));
    END IF;
    CASE what
        WHEN 'pause' THEN UPDATE cc.recordings SET state = 'paused' WHERE id = r.id;
        WHEN 'resume' THEN UPDATE cc.recordings SET state = 'recording' WHERE id = r.id;
        ELSE UPDATE cc.recordings SET ended_at = greatest(now(), started_at) WHERE id = r.id;
    END CASE;
    PERFORM cc.event_append(CASE what WHEN 'pause' THEN 'recording.paused' WHEN 'resume' THEN 'recording.resumed'
                                      ELSE 'recording.stopped' END,
        jsonb_build_object('recording', r.id), call_id => c.id, leg_id => r.leg_id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'record', 'leg', r.leg_id, 'command', what, 'recording', r.id));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_record(cc.commands, cc.calls) IS
    'Decision of record start / pause / resume / stop: start inserts the cc.recordings row (calls/YYYY/MM/DD/<call>-<recording>.wav, the customer on channel 1 and the agent on channel 2) and records on the customer''s leg; stop sets ended_at, the row becomes complete at recording_done.';

-- conferences -------------------------------------------------------------------------

CREATE FUNCTION cc.call_conference_live(c cc.calls) RETURNS cc.conferences
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f cc.conferences;
BEGIN
    SELECT * INTO f FROM cc.conferences AS k WHERE k.call_id = c.id AND k.state = 'active' FOR UPDATE;
    IF f.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no conference (make one with cc.conference_create)', c.id));
    END IF;
    RETURN f;
END;
$$;
COMMENT ON FUNCTION cc.call_conference_live(cc.calls) IS 'The active conference of a call; refuses the command if there is none.';

CREATE FUNCTION cc.call_conference_participant(f cc.conferences, leg uuid) RETURNS cc.conference_participants
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    p cc.conference_participants;
BEGIN
    SELECT * INTO p FROM cc.conference_participants AS k
     WHERE k.conference_id = f.id AND k.leg_id = leg AND k.state = 'joined';
    IF p.id IS NULL THEN
        PERFORM cc.call_refuse(format('leg %s is not in conference %s', leg, f.id));
    END IF;
    RETURN p;
END;
$$;
COMMENT ON FUNCTION cc.call_conference_participant(cc.conferences, uuid) IS 'A joined participant of a conference; refuses the command if the leg is not one.';

CREATE FUNCTION cc.call_decide_conference_create(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    max_n integer := (cmd.args->>'max_participants')::integer;
    legs  uuid[];
    conf  uuid;
    acts  jsonb;
BEGIN
    PERFORM cc.call_require_connected(c, 'make a conference');
    PERFORM cc.call_require_no_conference(c, 'make another conference');
    IF EXISTS (SELECT 1 FROM cc.transfers AS k WHERE k.call_id = c.id AND k.state IN ('dialing', 'consulting', 'three_way')) THEN
        PERFORM cc.call_refuse(format('call %s has a transfer or consultation in progress: use cc.consult_three_way, or finish it first', c.id));
    END IF;
    legs := ARRAY(SELECT g.id FROM cc.legs AS g
                   WHERE g.call_id = c.id AND g.state = 'answered' AND g.kind IN ('customer', 'agent', 'consult', 'external')
                     AND NOT cc.leg_leaving(g.id)
                   ORDER BY g.kind <> 'customer', g.created_at);
    IF cardinality(legs) < 2 THEN
        PERFORM cc.call_refuse(format('call %s has %s answered part%s: a conference needs 2', c.id, cardinality(legs),
                                      CASE WHEN cardinality(legs) = 1 THEN 'y' ELSE 'ies' END));
    END IF;
    IF cardinality(legs) > max_n THEN
        PERFORM cc.call_refuse(format('call %s has %s parties, more than max_participants %s', c.id, cardinality(legs), max_n));
    END IF;
    INSERT INTO cc.conferences (call_id, command_id, max_participants) VALUES (c.id, cmd.id, max_n) RETURNING id INTO conf;
    INSERT INTO cc.conference_participants (conference_id, leg_id, state, joined_at)
    SELECT conf, x.leg, 'joined', now() FROM unnest(legs) AS x (leg);
    PERFORM cc.event_append('conference.created',
        jsonb_build_object('conference', conf, 'participants', cardinality(legs), 'max_participants', max_n),
        call_id => c.id, command_id => cmd.id);
    SELECT coalesce(jsonb_agg(u ORDER BY n), '[]') INTO acts
      FROM (SELECT x.n, cc.call_unhold_if_held(g) AS us
              FROM unnest(legs) WITH ORDINALITY AS x (leg, n) JOIN cc.legs AS g ON g.id = x.leg) AS h,
           jsonb_array_elements(h.us) AS u;
    RETURN acts || (SELECT jsonb_agg(jsonb_build_object('type', 'conference', 'leg', x.leg, 'command', 'join',
                                                        'conference', conf, 'mode', 'talk') ORDER BY x.n)
                      FROM unnest(legs) WITH ORDINALITY AS x (leg, n));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_conference_create(cc.commands, cc.calls) IS
    'Decision of conference_create: every answered party of the call (customer, agents, consulted and external parties; 2 to max_participants) joins a new conference, talking; held parties come off hold.';

CREATE FUNCTION cc.call_decide_conference_join(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f       cc.conferences := cc.call_conference_live(c);
    target  jsonb := cmd.args->'target';
    mode    text := cmd.args->>'mode';
    whisper uuid := (cmd.args->>'whisper_to')::uuid;
    l       cc.legs;
    plan    jsonb;
    d       jsonb;
    n       integer;
BEGIN
    SELECT count(*) INTO n FROM cc.conference_participants AS p WHERE p.conference_id = f.id AND p.state <> 'left';
    IF n >= f.max_participants THEN
        PERFORM cc.call_refuse(format('conference %s is full (%s of %s participants)', f.id, n, f.max_participants));
    END IF;
    IF whisper IS NOT NULL THEN
        PERFORM cc.call_conference_participant(f, whisper);
    END IF;
    IF target->>'kind' = 'leg' THEN
        l := cc.call_require_leg(c.id, (target->>'leg')::uuid, 'leg to join');
        IF EXISTS (SELECT 1 FROM cc.conference_participants AS p WHERE p.leg_id = l.id AND p.state <> 'left') THEN
            PERFORM cc.call_refuse(format('leg %s is in conference %s already', l.id, f.id));
        END IF;
        INSERT INTO cc.conference_participants (conference_id, leg_id, mode, whisper_to_leg_id, state, joined_at)
        VALUES (f.id, l.id, mode, whisper, 'joined', now());
        PERFORM cc.event_append('conference.joined', jsonb_build_object('conference', f.id, 'mode', mode),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id, command_id => cmd.id);
        RETURN cc.call_unhold_if_held(l)
               || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('type', 'conference', 'leg', l.id, 'command', 'join',
                      'conference', f.id, 'mode', mode, 'whisper_to', whisper)));
    END IF;
    plan := cc.call_dial_plan(target, c);
    d := cc.call_leg_dial(c, plan, plan->>'leg_kind', (target->>'ring_timeout_ms')::integer, 'conference', true);
    INSERT INTO cc.conference_participants (conference_id, leg_id, mode, whisper_to_leg_id)
    VALUES (f.id, (d->>'leg')::uuid, mode, whisper);
    PERFORM cc.event_append('conference.joining',
        jsonb_build_object('conference', f.id, 'mode', mode, 'party', plan->>'party'),
        call_id => c.id, leg_id => (d->>'leg')::uuid, agent_id => (plan->>'agent_id')::uuid, command_id => cmd.id);
    RETURN jsonb_build_array(d->'action');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_conference_join(cc.commands, cc.calls) IS
    'Decision of conference_join: a leg of the call joins at once; another target is dialled and joins when it answers; refused when the conference is full.';

CREATE FUNCTION cc.call_decide_conference_leave(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f cc.conferences := cc.call_conference_live(c);
    p cc.conference_participants := cc.call_conference_participant(f, (cmd.args->>'leg')::uuid);
    l cc.legs;
BEGIN
    SELECT * INTO l FROM cc.legs AS g WHERE g.id = p.leg_id;
    IF l.kind = 'customer' THEN
        PERFORM cc.call_refuse(format('the customer cannot leave conference %s: end the call with cc.hangup', f.id));
    END IF;
    UPDATE cc.conference_participants SET state = 'left', left_at = now(), left_reason = 'left' WHERE id = p.id;
    PERFORM cc.event_append('conference.left', jsonb_build_object('conference', f.id, 'reason', 'left'),
        call_id => c.id, leg_id => l.id, agent_id => l.agent_id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', l.id, 'cause', 'normal'));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_conference_leave(cc.commands, cc.calls) IS 'Decision of conference_leave: the participant leaves and its leg hangs up (not the customer''s).';

CREATE FUNCTION cc.call_decide_conference_mode(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f       cc.conferences := cc.call_conference_live(c);
    p       cc.conference_participants := cc.call_conference_participant(f, (cmd.args->>'leg')::uuid);
    mode    text := cmd.args->>'mode';
    whisper uuid := (cmd.args->>'whisper_to')::uuid;
BEGIN
    IF whisper IS NOT NULL THEN
        PERFORM cc.call_conference_participant(f, whisper);
        IF whisper = p.leg_id THEN
            PERFORM cc.call_refuse('a participant cannot whisper to itself');
        END IF;
    END IF;
    IF p.mode = mode AND p.whisper_to_leg_id IS NOT DISTINCT FROM whisper THEN
        PERFORM cc.call_refuse(format('leg %s is in mode %s already', p.leg_id, mode));
    END IF;
    UPDATE cc.conference_participants SET mode = cmd.args->>'mode', whisper_to_leg_id = whisper WHERE id = p.id;
    PERFORM cc.event_append('conference.mode', jsonb_strip_nulls(jsonb_build_object('conference', f.id, 'mode', mode,
                                                                                      'from', p.mode, 'whisper_to', whisper)),
        call_id => c.id, leg_id => p.leg_id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('type', 'conference', 'leg', p.leg_id, 'command', 'mode',
        'conference', f.id, 'mode', mode, 'whisper_to', whisper)));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_conference_mode(cc.commands, cc.calls) IS 'Decision of conference_mode: a participant''s mode becomes talk, listen or whisper (to a participant).';

CREATE FUNCTION cc.call_decide_conference_mute(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    f     cc.conferences := cc.call_conference_live(c);
    p     cc.conference_participants := cc.call_conference_participant(f, (cmd.args->>'leg')::uuid);
    to_mute boolean := (cmd.args->>'muted')::boolean;
BEGIN
    IF p.muted = to_mute THEN
        PERFORM cc.call_refuse(format('leg %s is %s already', p.leg_id, CASE WHEN to_mute THEN 'muted' ELSE 'unmuted' END));
    END IF;
    UPDATE cc.conference_participants AS k SET muted = to_mute WHERE k.id = p.id;
    UPDATE cc.legs AS g SET muted = to_mute WHERE g.id = p.leg_id;
    PERFORM cc.event_append(CASE WHEN to_mute THEN 'conference.muted' ELSE 'conference.unmuted' END,
        jsonb_build_object('conference', f.id), call_id => c.id, leg_id => p.leg_id, command_id => cmd.id);
    RETURN jsonb_build_array(jsonb_build_object('type', CASE WHEN to_mute THEN 'mute' ELSE 'unmute' END, 'leg', p.leg_id));
END;
$$;
COMMENT ON FUNCTION cc.call_decide_conference_mute(cc.commands, cc.calls) IS 'Decision of conference_mute: a participant is muted or unmuted (the mute / unmute action on its leg).';

-- supervision -----------------------------------------------------------------------

CREATE FUNCTION cc.call_decide_monitor(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    new_mode text := cmd.args->>'mode';
    target cc.legs;
    plan   jsonb;
    s      cc.supervisions;
    d      jsonb;
BEGIN
    PERFORM cc.call_require_connected(c, 'supervise');
    target := cc.call_agent_leg(c);
    IF target.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no agent talking to supervise', c.id));
    END IF;
    plan := cc.call_dial_plan(cmd.args->'supervisor', c);
    SELECT * INTO s FROM cc.supervisions AS k
     WHERE k.call_id = c.id AND k.party = plan->>'party' AND k.state <> 'ended' FOR UPDATE;
    IF s.id IS NOT NULL THEN
        -- the same supervisor again: switch the mode on the live call
        IF s.mode = new_mode THEN
            PERFORM cc.call_refuse(format('supervisor %s is in mode %s already', s.party, new_mode));
        END IF;
        UPDATE cc.supervisions SET mode = new_mode WHERE id = s.id;
        PERFORM cc.event_append('supervision.mode', jsonb_build_object('supervision', s.id, 'mode', new_mode, 'from', s.mode),
            call_id => c.id, leg_id => s.leg_id, agent_id => s.supervisor_agent_id, command_id => cmd.id);
        IF s.state = 'dialing' THEN
            RETURN '[]';   -- applied when the supervisor answers
        END IF;
        RETURN jsonb_build_array(jsonb_build_object('type', 'monitor', 'leg', s.leg_id, 'target', s.target_leg_id, 'mode', new_mode));
    END IF;
    IF plan->>'agent_id' IS NOT NULL AND (plan->>'agent_id')::uuid = target.agent_id THEN
        PERFORM cc.call_refuse(format('agent %s cannot supervise itself', cc.agent_label(target.agent_id)));
    END IF;
    d := cc.call_leg_dial(c, plan, 'supervisor', (cmd.args #>> '{supervisor,ring_timeout_ms}')::integer, 'monitor', false);
    INSERT INTO cc.supervisions (call_id, command_id, leg_id, supervisor_agent_id, party, target_leg_id, mode)
    VALUES (c.id, cmd.id, (d->>'leg')::uuid, (plan->>'agent_id')::uuid, plan->>'party', target.id, new_mode)
    RETURNING * INTO s;
    PERFORM cc.event_append('supervision.started', jsonb_build_object('supervision', s.id, 'mode', new_mode, 'party', s.party),
        call_id => c.id, leg_id => s.leg_id, agent_id => s.supervisor_agent_id, command_id => cmd.id);
    RETURN jsonb_build_array(d->'action');
END;
$$;
COMMENT ON FUNCTION cc.call_decide_monitor(cc.commands, cc.calls) IS
    'Decision of monitor: the supervisor''s phone is dialled (a supervisor leg) and monitors the call''s agent leg in the mode when it answers; the same supervisor again switches the mode (the monitor action at once if answered).';

-- self-service mid-call ---------------------------------------------------------------

CREATE FUNCTION cc.call_decide_self_service(cmd cc.commands, c cc.calls) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a     jsonb := cmd.args;
    cust  cc.legs;
    agent cc.legs;
    sid   uuid;
    acts  jsonb;
BEGIN
    PERFORM cc.call_require_connected(c, 'start a self-service flow');
    PERFORM cc.call_require_no_transfer(c, 'start a self-service flow');
    PERFORM cc.call_require_no_conference(c, 'start a self-service flow');
    cust := cc.call_require_leg(c.id, (cc.call_customer_leg(c.id)).id, 'customer leg');
    agent := cc.call_agent_leg(c, (a->>'agent')::uuid);
    IF agent.id IS NULL THEN
        PERFORM cc.call_refuse(format('call %s has no agent to hand the caller back to', c.id));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cc.flow_versions AS v
                    WHERE v.id = (a->>'flow_version_id')::uuid AND v.published
                      AND EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(v.graph->'nodes', '[]')) AS n
                                   WHERE n->>'type' = 'start')) THEN
        PERFORM cc.call_refuse('the self-service flow is no longer published with a start node');
    END IF;
    INSERT INTO cc.self_services (call_id, command_id, flow_id, flow_version_id, agent_leg_id, saved_flow)
    VALUES (c.id, cmd.id, (a->>'flow_id')::uuid, (a->>'flow_version_id')::uuid, agent.id,
            jsonb_build_object('flow_id', c.flow_id, 'flow_version_id', c.flow_version_id, 'flow_node', c.flow_node,
                               'flow_position', c.flow_position, 'choices_count', jsonb_array_length(c.choices),
                               'variables', c.variables))
    RETURNING id INTO sid;
    UPDATE cc.calls AS k SET flow_id = (a->>'flow_id')::uuid, flow_version_id = (a->>'flow_version_id')::uuid,
                             flow_node = NULL, flow_position = '{}'
     WHERE k.id = c.id RETURNING * INTO c;
    UPDATE cc.legs AS g SET hold_state = CASE WHEN g.hold_state = 'remote' THEN 'both' ELSE 'local' END
     WHERE g.id = agent.id AND g.hold_state IN ('none', 'remote');
    acts := jsonb_build_array(cc.call_hold_action(c, agent.id, NULL)) || cc.call_unhold_if_held(cust);
    PERFORM cc.timer_set('call.self_service_timeout', now() + make_interval(secs => (a->>'timeout_s')::integer),
                         c.id, cust.id, NULL, jsonb_build_object('self_service', sid));
    PERFORM cc.event_append('self_service.started',
        jsonb_build_object('self_service', sid, 'flow_id', a->>'flow_id', 'timeout_s', (a->>'timeout_s')::integer),
        call_id => c.id, leg_id => agent.id, agent_id => agent.agent_id, command_id => cmd.id);
    -- the flow takes the customer's leg (the call becomes ivr)
    RETURN acts || cc.actions_on_leg(cc.flow_start(c.id), cust.id);
END;
$$;
COMMENT ON FUNCTION cc.call_decide_self_service(cc.commands, cc.calls) IS
    'Decision of self_service: the agent is held (hears the hold music, no longer hears the caller), the call''s flow position is saved and the self-service flow starts on the customer''s leg (cc.flow_start: the call is ivr); a call.self_service_timeout timer hands the caller back if the flow takes too long.';
