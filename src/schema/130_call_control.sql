-- 130_call_control.sql: call control by applications (issue 8): the model
-- and the two hooks of docs/call-model.md.
--
-- Applications control calls with functions (cc.hangup, cc.transfer,
-- cc.consult, ..., 132_call_control_api.sql) that only check the caller's
-- role and the arguments and insert a command; nothing about the call is
-- locked or changed in the application's transaction.  When cc sip claims
-- the command it calls cc.command_decide (133_call_control_decide.sql),
-- which locks the call, decides with the state as it is then, changes the
-- state (new legs, transfers, conferences, ...) and returns the actions.
-- Later events of the legs it made come back through the hooks below
-- (cc.call_control_event, cc.call_control_on_timer), handled in
-- 134_call_control_events.sql.  Number privacy and the blacklist are in
-- 135_number_privacy.sql; the helpers every part uses in
-- 131_call_control_helpers.sql.  docs/call-control.md is the guide.
--
-- The tables here hold what the decisions need to remember between a
-- command and the events that follow it: an outbound call's plan
-- (originations), transfers and consultations (transfers), conferences and
-- their participants, supervisors (supervisions) and self-service flows run
-- mid-call (self_services).  A trigger closes them when their call ends.

-- who is who ------------------------------------------------------------------

CREATE TABLE cc.number_regions (
    prefix     text        PRIMARY KEY,
    region     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT number_regions_prefix_1_to_20_digits_optional_plus
        CHECK (prefix ~ '^\+?[0-9]{1,20}$'),
    CONSTRAINT number_regions_region_not_blank
        CHECK (btrim(region) <> '')
);
COMMENT ON TABLE cc.number_regions IS
    'Dialling prefixes and the region they belong to: a callee''s region is that of its longest matching prefix, compared with cc.numbers.region to pick a caller ID in the callee''s area.';
COMMENT ON COLUMN cc.number_regions.prefix IS 'Leading digits of numbers in the region (e.g. +8621 or 021), 1 to 20 digits with an optional +.';
COMMENT ON COLUMN cc.number_regions.region IS 'Region name, as written in cc.numbers.region (e.g. shanghai).';
COMMENT ON COLUMN cc.number_regions.created_at IS 'When the prefix was added.';

-- outbound calls --------------------------------------------------------------

CREATE TABLE cc.originations (
    call_id         uuid        PRIMARY KEY REFERENCES cc.calls (id) ON DELETE CASCADE,
    command_id      uuid,
    kind            text        NOT NULL,
    destination     text        NOT NULL,
    caller_id       text        NOT NULL,
    number_id       uuid        REFERENCES cc.numbers (id) ON DELETE SET NULL,
    trunk_id        uuid        REFERENCES cc.trunks (id) ON DELETE SET NULL,
    flow_id         uuid        REFERENCES cc.flows (id) ON DELETE SET NULL,
    flow_version_id uuid        REFERENCES cc.flow_versions (id) ON DELETE SET NULL,
    agent_id        uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    customer_uri    text        NOT NULL,
    customer_leg_id uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    agent_leg_id    uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    ring_timeout_ms integer     NOT NULL DEFAULT 30000,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT originations_kind_in_originate_click_to_call
        CHECK (kind IN ('originate', 'click_to_call')),
    CONSTRAINT originations_ring_timeout_ms_5000_to_300000
        CHECK (ring_timeout_ms BETWEEN 5000 AND 300000)
);
COMMENT ON TABLE cc.originations IS
    'Plan of each call placed by cc.originate (customer first, then an outbound flow or an agent) or cc.click_to_call (agent first, then the customer), read as its legs answer.';
COMMENT ON COLUMN cc.originations.call_id IS 'The outbound call.';
COMMENT ON COLUMN cc.originations.command_id IS 'Command that placed it (cc.commands.id).';
COMMENT ON COLUMN cc.originations.kind IS 'originate or click_to_call.';
COMMENT ON COLUMN cc.originations.destination IS 'Customer number dialled (3 to 20 digits, optional +) or SIP URI.';
COMMENT ON COLUMN cc.originations.caller_id IS 'Our number presented to the customer.';
COMMENT ON COLUMN cc.originations.number_id IS 'cc.numbers row of the caller ID.';
COMMENT ON COLUMN cc.originations.trunk_id IS 'Trunk the customer is dialled through (NULL: a SIP URI dialled directly).';
COMMENT ON COLUMN cc.originations.flow_id IS 'originate: outbound flow run when the customer answers.';
COMMENT ON COLUMN cc.originations.flow_version_id IS 'Version of that flow (its published MAIN version when the command was given).';
COMMENT ON COLUMN cc.originations.agent_id IS 'originate: agent rung when the customer answers; click_to_call: agent rung first.';
COMMENT ON COLUMN cc.originations.customer_uri IS 'Request-URI that reaches the customer (through the trunk, or the SIP URI dialled).';
COMMENT ON COLUMN cc.originations.customer_leg_id IS 'The customer''s leg, once dialled.';
COMMENT ON COLUMN cc.originations.agent_leg_id IS 'The agent''s leg, once dialled.';
COMMENT ON COLUMN cc.originations.ring_timeout_ms IS 'How long each leg rings before it is given up, in milliseconds (5000 to 300000).';
COMMENT ON COLUMN cc.originations.created_at IS 'When the call was placed.';

-- transfers and consultations --------------------------------------------------

CREATE TABLE cc.conferences (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id          uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    command_id       uuid,
    state            text        NOT NULL DEFAULT 'active',
    max_participants integer     NOT NULL DEFAULT 250,
    created_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz,
    CONSTRAINT conferences_state_in_active_ended
        CHECK (state IN ('active', 'ended')),
    CONSTRAINT conferences_max_participants_2_to_250
        CHECK (max_participants BETWEEN 2 AND 250),
    CONSTRAINT conferences_ended_iff_ended_at
        CHECK ((state = 'ended') = (ended_at IS NOT NULL)),
    CONSTRAINT conferences_ended_after_created
        CHECK (ended_at >= created_at)
);
COMMENT ON TABLE cc.conferences IS
    'Conferences of a call (2 to 250 participants, each a leg of the call, mixed by the media worker): made by cc.conference_create or a three-way consultation.';
COMMENT ON COLUMN cc.conferences.id IS 'Conference id (the conference parameter of the conference actions).';
COMMENT ON COLUMN cc.conferences.call_id IS 'Call whose legs take part.';
COMMENT ON COLUMN cc.conferences.command_id IS 'Command that made it.';
COMMENT ON COLUMN cc.conferences.state IS 'active or ended (when its call ends, or no participant is left).';
COMMENT ON COLUMN cc.conferences.max_participants IS 'Most participants at once, 2 to 250 (250).';
COMMENT ON COLUMN cc.conferences.created_at IS 'When the conference was made.';
COMMENT ON COLUMN cc.conferences.ended_at IS 'When it ended (set exactly when state is ended).';
CREATE UNIQUE INDEX conferences_one_active_per_call ON cc.conferences (call_id) WHERE state = 'active';

CREATE TABLE cc.conference_participants (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    conference_id     uuid        NOT NULL REFERENCES cc.conferences (id) ON DELETE CASCADE,
    leg_id            uuid        NOT NULL REFERENCES cc.legs (id) ON DELETE CASCADE,
    mode              text        NOT NULL DEFAULT 'talk',
    whisper_to_leg_id uuid        REFERENCES cc.legs (id) ON DELETE CASCADE,
    muted             boolean     NOT NULL DEFAULT false,
    state             text        NOT NULL DEFAULT 'joining',
    left_reason       text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    joined_at         timestamptz,
    left_at           timestamptz,
    CONSTRAINT conference_participants_mode_in_talk_listen_whisper
        CHECK (mode IN ('talk', 'listen', 'whisper')),
    CONSTRAINT conference_participants_whisper_needs_whisper_to
        CHECK ((mode = 'whisper') = (whisper_to_leg_id IS NOT NULL)),
    CONSTRAINT conference_participants_state_in_joining_joined_left
        CHECK (state IN ('joining', 'joined', 'left')),
    CONSTRAINT conference_participants_joined_has_joined_at
        CHECK (state <> 'joined' OR joined_at IS NOT NULL),
    CONSTRAINT conference_participants_left_iff_left_at
        CHECK ((state = 'left') = (left_at IS NOT NULL)),
    CONSTRAINT conference_participants_times_ordered
        CHECK (joined_at >= created_at AND left_at >= created_at)
);
COMMENT ON TABLE cc.conference_participants IS
    'Legs in a conference, each with its mode: talk (hears and is heard), listen (hears only), whisper (heard by whisper_to_leg_id only).';
COMMENT ON COLUMN cc.conference_participants.id IS 'Participant id.';
COMMENT ON COLUMN cc.conference_participants.conference_id IS 'Conference.';
COMMENT ON COLUMN cc.conference_participants.leg_id IS 'The participant''s leg (a leg is in at most one conference at a time).';
COMMENT ON COLUMN cc.conference_participants.mode IS 'talk, listen or whisper.';
COMMENT ON COLUMN cc.conference_participants.whisper_to_leg_id IS 'whisper: the only leg that hears this participant (set exactly when mode is whisper).';
COMMENT ON COLUMN cc.conference_participants.muted IS 'Whether the others stop hearing this participant (cc.conference_mute).';
COMMENT ON COLUMN cc.conference_participants.state IS 'joining (its leg is being dialled), joined, left.';
COMMENT ON COLUMN cc.conference_participants.left_reason IS 'Why it left: left (cc.conference_leave), the leg''s cause (normal, no_answer, ...), transferred, call_ended.';
COMMENT ON COLUMN cc.conference_participants.created_at IS 'When the participant was added.';
COMMENT ON COLUMN cc.conference_participants.joined_at IS 'When its leg joined the mixer.';
COMMENT ON COLUMN cc.conference_participants.left_at IS 'When it left (set exactly when state is left).';
CREATE UNIQUE INDEX conference_participants_one_live_per_leg ON cc.conference_participants (leg_id) WHERE state <> 'left';
CREATE INDEX conference_participants_leg ON cc.conference_participants (leg_id);
CREATE INDEX conference_participants_conference ON cc.conference_participants (conference_id);

CREATE TABLE cc.transfers (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id       uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    command_id    uuid,
    kind          text        NOT NULL,
    state         text        NOT NULL DEFAULT 'dialing',
    target        jsonb       NOT NULL,
    from_leg_id   uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    from_agent_id uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    to_leg_id     uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    to_agent_id   uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    to_queue_id   uuid        REFERENCES cc.queues (id) ON DELETE SET NULL,
    conference_id uuid        REFERENCES cc.conferences (id) ON DELETE SET NULL,
    reason        text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    ended_at      timestamptz,
    CONSTRAINT transfers_kind_in_blind_consult_refer
        CHECK (kind IN ('blind', 'consult', 'refer')),
    CONSTRAINT transfers_state_in_dialing_consulting_three_way_completed_etc
        CHECK (state IN ('dialing', 'consulting', 'three_way', 'completed', 'canceled', 'failed')),
    CONSTRAINT transfers_consulting_and_three_way_only_for_consult
        CHECK (kind = 'consult' OR state NOT IN ('consulting', 'three_way')),
    CONSTRAINT transfers_ended_iff_completed_canceled_or_failed
        CHECK ((state IN ('completed', 'canceled', 'failed')) = (ended_at IS NOT NULL)),
    CONSTRAINT transfers_target_is_a_json_object
        CHECK (jsonb_typeof(target) = 'object'),
    CONSTRAINT transfers_times_ordered
        CHECK (answered_at >= created_at AND ended_at >= created_at)
);
COMMENT ON TABLE cc.transfers IS
    'Transfers and consultations of calls: blind (to a queue, agent, phone, number or URI), refer (the far end is asked to call the target: IBM connect_to_agent) and consult (a second party is called while the customer holds; then cancel, three-way or warm transfer).';
COMMENT ON COLUMN cc.transfers.id IS 'Transfer id.';
COMMENT ON COLUMN cc.transfers.call_id IS 'Call transferred.';
COMMENT ON COLUMN cc.transfers.command_id IS 'Command that started it (NULL: a REFER from an agent''s phone).';
COMMENT ON COLUMN cc.transfers.kind IS 'blind, consult or refer.';
COMMENT ON COLUMN cc.transfers.state IS 'dialing (the target rings), consulting (consult answered, talking with the first agent), three_way (all in a conference), and the final completed, canceled, failed. A call has at most one transfer not final.';
COMMENT ON COLUMN cc.transfers.target IS 'Where to, as checked by the command: {"kind": queue|agent|phone|number|uri|sip, ...}.';
COMMENT ON COLUMN cc.transfers.from_leg_id IS 'Leg of the agent who transferred or consults.';
COMMENT ON COLUMN cc.transfers.from_agent_id IS 'That agent.';
COMMENT ON COLUMN cc.transfers.to_leg_id IS 'Leg dialled to reach the target (NULL for a queue or a REFER).';
COMMENT ON COLUMN cc.transfers.to_agent_id IS 'Agent reached, if the target is one.';
COMMENT ON COLUMN cc.transfers.to_queue_id IS 'Queue the call went to, or the queue a consulted agent was taken from.';
COMMENT ON COLUMN cc.transfers.conference_id IS 'three_way: the conference of the three parties.';
COMMENT ON COLUMN cc.transfers.reason IS 'Why it ended as it did (the failed leg''s cause, canceled, consult_hangup, first_agent_left, call_ended, a REFER status, ...).';
COMMENT ON COLUMN cc.transfers.created_at IS 'When it started.';
COMMENT ON COLUMN cc.transfers.answered_at IS 'When the target answered (or accepted a REFER).';
COMMENT ON COLUMN cc.transfers.ended_at IS 'When it reached a final state (set exactly then).';
CREATE UNIQUE INDEX transfers_one_live_per_call ON cc.transfers (call_id) WHERE state IN ('dialing', 'consulting', 'three_way');
CREATE INDEX transfers_to_leg ON cc.transfers (to_leg_id) WHERE to_leg_id IS NOT NULL;
CREATE INDEX transfers_from_leg ON cc.transfers (from_leg_id) WHERE from_leg_id IS NOT NULL;

-- supervision ---------------------------------------------------------------------

CREATE TABLE cc.supervisions (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id             uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    command_id          uuid,
    leg_id              uuid        NOT NULL UNIQUE REFERENCES cc.legs (id) ON DELETE CASCADE,
    supervisor_agent_id uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    party               text        NOT NULL,
    target_leg_id       uuid        REFERENCES cc.legs (id) ON DELETE CASCADE,
    mode                text        NOT NULL DEFAULT 'listen',
    state               text        NOT NULL DEFAULT 'dialing',
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    ended_at            timestamptz,
    CONSTRAINT supervisions_mode_in_listen_whisper_barge
        CHECK (mode IN ('listen', 'whisper', 'barge')),
    CONSTRAINT supervisions_state_in_dialing_active_ended
        CHECK (state IN ('dialing', 'active', 'ended')),
    CONSTRAINT supervisions_ended_iff_ended_at
        CHECK ((state = 'ended') = (ended_at IS NOT NULL)),
    CONSTRAINT supervisions_times_ordered
        CHECK (started_at >= created_at AND ended_at >= created_at)
);
COMMENT ON TABLE cc.supervisions IS
    'Supervisors on calls (cc.monitor): their leg, the agent leg they supervise and the mode: listen (hears both), whisper (heard by the agent only), barge (heard by both).';
COMMENT ON COLUMN cc.supervisions.id IS 'Supervision id.';
COMMENT ON COLUMN cc.supervisions.call_id IS 'Call supervised.';
COMMENT ON COLUMN cc.supervisions.command_id IS 'Command that started it.';
COMMENT ON COLUMN cc.supervisions.leg_id IS 'The supervisor''s leg (kind supervisor).';
COMMENT ON COLUMN cc.supervisions.supervisor_agent_id IS 'Supervisor, when an agent.';
COMMENT ON COLUMN cc.supervisions.party IS 'Who supervises: the agent''s extension, the number or the URI dialled (a second cc.monitor for the same party switches the mode).';
COMMENT ON COLUMN cc.supervisions.target_leg_id IS 'Agent leg supervised (the target of the monitor action; follows the call to the next agent).';
COMMENT ON COLUMN cc.supervisions.mode IS 'listen, whisper or barge.';
COMMENT ON COLUMN cc.supervisions.state IS 'dialing (the supervisor''s phone rings), active, ended.';
COMMENT ON COLUMN cc.supervisions.created_at IS 'When it was asked for.';
COMMENT ON COLUMN cc.supervisions.started_at IS 'When the supervisor answered.';
COMMENT ON COLUMN cc.supervisions.ended_at IS 'When it ended (set exactly when state is ended).';
CREATE INDEX supervisions_call ON cc.supervisions (call_id);
CREATE INDEX supervisions_target ON cc.supervisions (target_leg_id) WHERE state <> 'ended';

-- self-service flows mid-call ------------------------------------------------------

CREATE TABLE cc.self_services (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id             uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    command_id          uuid,
    flow_id             uuid        REFERENCES cc.flows (id) ON DELETE SET NULL,
    flow_version_id     uuid        REFERENCES cc.flow_versions (id) ON DELETE SET NULL,
    agent_leg_id        uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    state               text        NOT NULL DEFAULT 'running',
    saved_flow          jsonb       NOT NULL DEFAULT '{}',
    collected           jsonb       NOT NULL DEFAULT '{}',
    reason              text,
    callback_request_id uuid,
    started_at          timestamptz NOT NULL DEFAULT now(),
    ended_at            timestamptz,
    CONSTRAINT self_services_state_in_running_returned_ended
        CHECK (state IN ('running', 'returned', 'ended')),
    CONSTRAINT self_services_ended_iff_not_running
        CHECK ((state = 'running') = (ended_at IS NULL)),
    CONSTRAINT self_services_saved_flow_is_a_json_object
        CHECK (jsonb_typeof(saved_flow) = 'object'),
    CONSTRAINT self_services_collected_is_a_json_object
        CHECK (jsonb_typeof(collected) = 'object'),
    CONSTRAINT self_services_ended_after_started
        CHECK (ended_at >= started_at)
);
COMMENT ON TABLE cc.self_services IS
    'Self-service flows run with the caller while the agent waits (cc.self_service_start), until the flow hands the caller back (cc.self_service_return) and its values are posted to the flow''s callback_url.';
COMMENT ON COLUMN cc.self_services.id IS 'Self-service run id.';
COMMENT ON COLUMN cc.self_services.call_id IS 'Call.';
COMMENT ON COLUMN cc.self_services.command_id IS 'Command that started it.';
COMMENT ON COLUMN cc.self_services.flow_id IS 'Self-service flow run (cc.flows.kind self_service).';
COMMENT ON COLUMN cc.self_services.flow_version_id IS 'Version run (the flow''s published MAIN version).';
COMMENT ON COLUMN cc.self_services.agent_leg_id IS 'Leg of the agent who waits and gets the caller back.';
COMMENT ON COLUMN cc.self_services.state IS 'running, returned (the caller is back with the agent) or ended (the call ended first).';
COMMENT ON COLUMN cc.self_services.saved_flow IS 'The call''s flow position before (flow_id, flow_version_id, flow_node, flow_position, restored on return; choices_count and variables, to tell what the flow collected).';
COMMENT ON COLUMN cc.self_services.collected IS 'What the flow collected, as handed back (a JSON object, e.g. {"id_number": "123456"}).';
COMMENT ON COLUMN cc.self_services.reason IS 'How it ended: flow_end, timeout, agent_left (the agent hung up while waiting), call_ended.';
COMMENT ON COLUMN cc.self_services.callback_request_id IS 'HTTP request (cc.http_requests) posting the values to the flow''s callback_url.';
COMMENT ON COLUMN cc.self_services.started_at IS 'When the flow started.';
COMMENT ON COLUMN cc.self_services.ended_at IS 'When it ended (NULL exactly while running).';
CREATE UNIQUE INDEX self_services_one_running_per_call ON cc.self_services (call_id) WHERE state = 'running';

-- number privacy ------------------------------------------------------------------

CREATE TABLE cc.number_mappings (
    number     text        PRIMARY KEY,
    uid        text        NOT NULL UNIQUE,
    request_id uuid,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT number_mappings_number_1_to_32_digits_optional_plus
        CHECK (number ~ '^\+?[0-9]{1,32}$'),
    CONSTRAINT number_mappings_uid_1_to_128_chars
        CHECK (char_length(uid) BETWEEN 1 AND 128)
);
COMMENT ON TABLE cc.number_mappings IS
    'Phone numbers and the user ids the customer''s mapping endpoint gave for them (PhoneToUID / UIDToPhone); agents see the uid instead of the number when privacy.numbers is map.';
COMMENT ON COLUMN cc.number_mappings.number IS 'Phone number: 1 to 32 digits with an optional leading +.';
COMMENT ON COLUMN cc.number_mappings.uid IS 'User id of that number at the customer (1 to 128 characters).';
COMMENT ON COLUMN cc.number_mappings.request_id IS 'HTTP request whose answer gave the mapping.';
COMMENT ON COLUMN cc.number_mappings.updated_at IS 'When the mapping was last received.';

INSERT INTO cc.settings (key, value, description) VALUES
    ('privacy.numbers', '"off"',
     'Number privacy in agent-facing views: off, mask (middle four digits shown as *) or map (the user id from cc.number_mappings, masked when unknown).'),
    ('privacy.mapping_url', 'null',
     'http(s) URL of the customer''s PhoneToUID / UIDToPhone endpoint (POST {"Numbers", "Mode"}); null: none.'),
    ('call_control.ring_timeout_s', '30',
     'Seconds a leg dialled by a call-control command rings before it is given up, unless the command says (5 to 300).'),
    ('call_control.self_service_max_s', '300',
     'Seconds a self-service flow may run mid-call before the caller is handed back to the agent anyway (10 to 3600).'),
    ('call_control.caller_id_same_region', 'true',
     'Whether a chosen caller ID prefers a number in the callee''s region (cc.number_regions).');

-- the hooks of docs/call-model.md -----------------------------------------------

CREATE FUNCTION cc.call_control_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c       cc.calls;
    l       cc.legs;
    actions jsonb := '[]';
BEGIN
    IF event->>'type' IS NULL
       OR event->>'type' NOT IN ('answered', 'failed', 'ended', 'refer', 'refer_result') THEN
        RETURN '[]';   -- dtmf, play_done, ...: nothing for call control (and no subtransaction)
    END IF;
    SELECT * INTO c FROM cc.calls AS k WHERE k.id = call_control_event.call;
    SELECT * INTO l FROM cc.legs AS g WHERE g.id = call_control_event.leg;
    IF c.id IS NULL OR l.id IS NULL THEN
        RETURN '[]';
    END IF;
    BEGIN
        actions := CASE event->>'type'
            WHEN 'answered' THEN cc.call_control_leg_answered(c, l, event)
            WHEN 'failed' THEN cc.call_control_leg_gone(c, l, event)
            WHEN 'ended' THEN cc.call_control_leg_gone(c, l, event)
            WHEN 'refer' THEN cc.call_control_refer(c, l, event)
            WHEN 'refer_result' THEN cc.call_control_refer_result(c, l, event)
            ELSE '[]'::jsonb END;
    EXCEPTION WHEN OTHERS THEN
        -- a decision that breaks must not lose the leg's facts the router
        -- recorded in this transaction: record why and do nothing
        PERFORM cc.event_append('call.control_failed',
            jsonb_build_object('event', event->>'type', 'error', SQLERRM),
            call_id => c.id, leg_id => l.id, agent_id => l.agent_id);
        actions := '[]';
    END;
    RETURN coalesce(actions, '[]');
END;
$$;
COMMENT ON FUNCTION cc.call_control_event(uuid, uuid, jsonb) IS
    'Hook (router, call locked): an event of a leg of a connected or outbound call, or of a leg call control made (answered, failed, ended, refer, refer_result); returns the actions, each naming its leg. A decision that fails is recorded as call.control_failed and does nothing.';

CREATE FUNCTION cc.call_control_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    call uuid := (timer->>'call_id')::uuid;
BEGIN
    CASE timer->>'kind'
        WHEN 'call.self_service_timeout' THEN
            RETURN cc.self_service_return(call, NULL, 'timeout');
        ELSE
            RETURN '[]';
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.call_control_on_timer(jsonb) IS
    'Hook (cc.timers_fire, call locked): a call.* timer is due. call.self_service_timeout hands the caller back to the agent when a self-service flow runs too long. Returns actions.';
