-- 132_call_control_api.sql: the functions applications call to control
-- calls (docs/call-control.md).
--
-- Each one runs in the application's transaction and only: checks the
-- caller's role (cc_app: any call; cc_agent: the calls of the agent its
-- role acts as, where that makes sense), checks its arguments (an ERRCODE,
-- a message naming the bad value, a HINT saying what is allowed), checks
-- that the call exists and has not ended, inserts a command and returns
-- its id.  It never locks the call nor changes it: the command runs after
-- commit, when cc sip claims it and cc.command_decide decides with the
-- call's state as it is then (133_call_control_decide.sql).  A transaction
-- that rolls back leaves no command, so nothing runs.
--
-- They are SECURITY DEFINER (cc_agent may not insert commands itself) and
-- learn who called from cc.session_role().

CREATE FUNCTION cc.call_control_begin(call uuid, what text, agent_may boolean) RETURNS uuid
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF call IS NULL THEN
        RAISE EXCEPTION 'cc: call must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Pass the id of a call in progress (cc.calls.id).';
    END IF;
    RETURN cc.call_control_access(call, what, agent_may);
END;
$$;
COMMENT ON FUNCTION cc.call_control_begin(uuid, text, boolean) IS
    'What every call-control function on an existing call checks first: the call is given, exists, has not ended, and the session may act on it (cc.call_control_access). Returns the acting agent.';

-- outbound calls ------------------------------------------------------------------

CREATE FUNCTION cc.originate(destination text, flow text DEFAULT NULL, agent text DEFAULT NULL,
                             caller_id text DEFAULT NULL, variables jsonb DEFAULT '{}',
                             trunk text DEFAULT NULL, ring_timeout_s integer DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    caller   jsonb;
    trunk_id uuid;
    fid      uuid;
    version  uuid;
    agent_id uuid;
    num      cc.numbers;
BEGIN
    PERFORM cc.call_control_access(NULL, 'originate calls', false);
    IF destination IS NULL OR NOT (cc.dial_number_valid(destination) OR cc.sip_uri_valid(destination)) THEN
        RAISE EXCEPTION 'cc: destination "%" is neither a phone number nor a SIP URI', coalesce(destination, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give 3 to 20 digits with an optional leading + (dialled through a trunk), or a sip: URI.';
    END IF;
    IF flow IS NOT NULL AND agent IS NOT NULL THEN
        RAISE EXCEPTION 'cc: give a flow or an agent to connect the call to, not both'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'flow runs an outbound flow when the callee answers; agent rings that agent and bridges.';
    END IF;
    caller := cc.caller_id_choose(NULL, destination, caller_id);
    SELECT * INTO num FROM cc.numbers AS n WHERE n.id = (caller->>'number_id')::uuid;
    IF trunk IS NOT NULL THEN
        trunk_id := cc.call_named_resolve('trunks', trunk, 'trunk');
    ELSIF cc.dial_number_valid(destination) THEN
        trunk_id := num.trunk_id;
        IF trunk_id IS NULL THEN
            RAISE EXCEPTION 'cc: number % has no trunk to call % through', num.number, destination
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Give trunk, or set cc.numbers.trunk_id of the caller ID.';
        END IF;
    END IF;
    IF trunk_id IS NOT NULL AND NOT (SELECT t.enabled FROM cc.trunks AS t WHERE t.id = trunk_id) THEN
        RAISE EXCEPTION 'cc: trunk % is disabled', coalesce(trunk, trunk_id::text)
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Choose an enabled trunk (cc.trunks).';
    END IF;
    IF agent IS NOT NULL THEN
        agent_id := cc.call_agent_resolve(agent, 'agent');
    ELSE
        IF flow IS NOT NULL THEN
            fid := cc.call_named_resolve('flows', flow, 'flow');
        ELSE
            fid := num.outbound_flow_id;
            IF fid IS NULL THEN
                RAISE EXCEPTION 'cc: nothing to connect the call to'
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = format('Give flow (an outbound flow) or agent, or set the outbound_flow_id of number %s.', num.number);
            END IF;
        END IF;
        IF (SELECT f.kind FROM cc.flows AS f WHERE f.id = fid) NOT IN ('outbound', 'auto_outbound') THEN
            RAISE EXCEPTION 'cc: flow % is of kind %, not an outbound flow', coalesce(flow, fid::text),
                            (SELECT f.kind FROM cc.flows AS f WHERE f.id = fid)
                USING ERRCODE = 'invalid_parameter_value', HINT = 'Outbound calls run flows of kind outbound or auto_outbound.';
        END IF;
        SELECT v.id INTO version FROM cc.flow_versions AS v
         WHERE v.flow_id = fid AND v.version = 'MAIN' AND v.published;
        IF version IS NULL THEN
            RAISE EXCEPTION 'cc: flow % has no published MAIN version', coalesce(flow, fid::text)
                USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Publish the flow''s MAIN version first.';
        END IF;
    END IF;
    RETURN cc.command_submit('originate', gen_random_uuid(), jsonb_build_object(
        'destination', destination, 'caller_id', caller->>'number', 'number_id', caller->>'number_id',
        'trunk_id', trunk_id, 'flow_id', fid, 'flow_version_id', version, 'agent_id', agent_id,
        'variables', cc.call_variables_check(variables), 'ring_timeout_ms', cc.ring_timeout_ms(ring_timeout_s)));
END;
$$;
COMMENT ON FUNCTION cc.originate(text, text, text, text, jsonb, text, integer) IS
    'Places a call from one of our numbers (caller_id, else any enabled outbound number) through a trunk (trunk, else the number''s) to destination (a number, or a SIP URI dialled directly); when it answers, runs an outbound flow (flow, else the number''s outbound flow) or rings agent and bridges. cc_app only. Returns the command id; the new call''s id is cc.commands.call_id.';

CREATE FUNCTION cc.click_to_call(agent text, customer text, caller_id text DEFAULT NULL,
                                 variables jsonb DEFAULT '{}', ring_timeout_s integer DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    me       uuid := cc.call_control_access(NULL, 'place click-to-call calls', true);
    agent_id uuid := cc.call_agent_resolve(agent, 'agent');
    caller   jsonb;
BEGIN
    IF me IS NOT NULL AND me <> agent_id THEN
        RAISE EXCEPTION 'cc: agent % may not place calls for agent %', cc.agent_label(me), cc.agent_label(agent_id)
            USING ERRCODE = 'insufficient_privilege', HINT = 'cc_agent places click-to-call calls for its own agent only.';
    END IF;
    IF customer IS NULL OR NOT cc.dial_number_valid(customer) THEN
        RAISE EXCEPTION 'cc: customer number "%" is not a phone number', coalesce(customer, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A number is 3 to 20 digits with an optional leading +.';
    END IF;
    caller := cc.caller_id_choose(agent_id, customer, caller_id);
    IF caller->>'trunk_id' IS NULL THEN
        RAISE EXCEPTION 'cc: number % has no trunk to call % through', caller->>'number', customer
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Set cc.numbers.trunk_id of the caller ID.';
    END IF;
    RETURN cc.command_submit('click_to_call', gen_random_uuid(), jsonb_build_object(
        'agent_id', agent_id, 'destination', customer, 'caller_id', caller->>'number',
        'number_id', caller->>'number_id', 'trunk_id', caller->>'trunk_id',
        'variables', cc.call_variables_check(variables), 'ring_timeout_ms', cc.ring_timeout_ms(ring_timeout_s)));
END;
$$;
COMMENT ON FUNCTION cc.click_to_call(text, text, text, jsonb, integer) IS
    'Calls the agent (id or extension) first, then the customer, then bridges them; the caller ID is caller_id if the agent may use it, else chosen by cc.caller_id_choose (the agent''s queues'' numbers, the customer''s region first). cc_app, or cc_agent for its own agent. Returns the command id; the call''s id is cc.commands.call_id.';

-- in-call controls ----------------------------------------------------------------

CREATE FUNCTION cc.hangup(call uuid, leg uuid DEFAULT NULL, cause text DEFAULT 'normal')
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'hang up', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    IF cause IS NULL OR cause !~ '^[a-z][a-z0-9_]{0,39}$' THEN
        RAISE EXCEPTION 'cc: cause "%" is not a lowercase word', coalesce(cause, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A cause is 1 to 40 lowercase letters, digits and _, starting with a letter (normal by default).';
    END IF;
    RETURN cc.command_submit('hangup', call, jsonb_build_object(
        'leg', leg, 'cause', cause, 'agent', agent, 'side', CASE WHEN agent IS NULL THEN 'system' ELSE 'agent' END));
END;
$$;
COMMENT ON FUNCTION cc.hangup(uuid, uuid, text) IS
    'Hangs up the call (every leg; the call ends with cause) or, with leg, that leg alone (a leg other than the customer''s). cc_app, or cc_agent on its own calls. Returns the command id.';

CREATE FUNCTION cc.hold(call uuid, leg uuid DEFAULT NULL, music jsonb DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'hold', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('hold', call, jsonb_build_object(
        'leg', leg, 'music', cc.call_prompt_check(music, 'music', true), 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.hold(uuid, uuid, jsonb) IS
    'Puts the customer (or leg) on hold: it hears music ({"prompt"}, {"file"}, {"tts"}, {} for silence; default the hold music of the call''s queue) and the others stop hearing it. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.unhold(call uuid, leg uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'take off hold', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('unhold', call, jsonb_build_object('leg', leg, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.unhold(uuid, uuid) IS 'Takes the customer (or leg) off hold: it hears its bridge again. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.mute(call uuid, leg uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'mute', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('mute', call, jsonb_build_object('leg', leg, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.mute(uuid, uuid) IS
    'Mutes the agent''s leg (or leg): the others stop hearing it, no hold audio. Default leg: the calling agent''s, else the call''s agent''s. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.unmute(call uuid, leg uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'unmute', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('unmute', call, jsonb_build_object('leg', leg, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.unmute(uuid, uuid) IS 'Unmutes the agent''s leg (or leg). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.transfer(call uuid, target jsonb, variables jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'transfer', true);
BEGIN
    RETURN cc.command_submit('transfer', call, jsonb_build_object(
        'target', cc.call_target_check(target, ARRAY['queue', 'agent', 'number', 'uri', 'sip'], 'transfer target'),
        'variables', cc.call_variables_check(variables), 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.transfer(uuid, jsonb, jsonb) IS
    'Blind transfer of a connected call: to {"queue"} (through cc.enqueue), {"agent"} or {"extension"} (an agent or a desk phone), {"number"} (through a trunk) or {"uri"}; the agent leaves at once and the call''s variables (merged with variables) go along (X-CC-Var-* headers). {"sip": IBM service_desk.sip} asks the far end to call the target (REFER: connect_to_agent). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.consult(call uuid, target jsonb, variables jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'consult on', true);
BEGIN
    RETURN cc.command_submit('consult', call, jsonb_build_object(
        'target', cc.call_target_check(target, ARRAY['queue', 'agent', 'number', 'uri'], 'consult target'),
        'variables', cc.call_variables_check(variables), 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.consult(uuid, jsonb, jsonb) IS
    'Starts a consultation: the customer is held and a consult leg calls an agent, an idle agent of a queue, a phone, a number or a URI; once it answers it talks with the agent. Then cc.consult_cancel, cc.consult_three_way or cc.consult_transfer. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.consult_cancel(call uuid)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'cancel a consult on', true);
BEGIN
    RETURN cc.command_submit('consult_cancel', call, jsonb_build_object('agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.consult_cancel(uuid) IS
    'Cancels the consultation (ringing or answered, or drops the consulted party from a three-way call): the consult leg hangs up, the customer is back with the agent as before. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.consult_three_way(call uuid)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'join a consult on', true);
BEGIN
    RETURN cc.command_submit('consult_three_way', call, jsonb_build_object('agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.consult_three_way(uuid) IS
    'Joins the customer, the agent and the answered consulted party in a conference (three-way call). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.consult_transfer(call uuid)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'complete a consult on', true);
BEGIN
    RETURN cc.command_submit('consult_transfer', call, jsonb_build_object('agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.consult_transfer(uuid) IS
    'Warm transfer: the first agent leaves an answered consultation or a three-way call; the customer stays with the consulted party. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.send_dtmf(call uuid, digits text, leg uuid DEFAULT NULL,
                             duration_ms integer DEFAULT 200, interval_ms integer DEFAULT 200)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'send DTMF on', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    IF digits IS NULL OR digits !~ '^[0-9*#A-Da-d]{1,64}$' THEN
        RAISE EXCEPTION 'cc: digits "%" cannot be sent as DTMF', coalesce(digits, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Send 1 to 64 of 0-9, *, #, A-D.';
    END IF;
    IF duration_ms IS NULL OR duration_ms NOT BETWEEN 40 AND 2000 THEN
        RAISE EXCEPTION 'cc: DTMF duration of % ms is out of range', duration_ms
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Each digit lasts 40 to 2000 ms (200 by default).';
    END IF;
    IF interval_ms IS NULL OR interval_ms NOT BETWEEN 40 AND 5000 THEN
        RAISE EXCEPTION 'cc: DTMF interval of % ms is out of range', interval_ms
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Digits are 40 to 5000 ms apart (200 by default).';
    END IF;
    RETURN cc.command_submit('send_dtmf', call, jsonb_build_object(
        'digits', upper(digits), 'leg', leg, 'duration_ms', duration_ms, 'interval_ms', interval_ms, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.send_dtmf(uuid, text, uuid, integer, integer) IS
    'Sends DTMF digits (0-9 * # A-D, e.g. an extension) to the customer''s side (or leg), IBM dtmf send. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.play(call uuid, prompt jsonb, leg uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'play to', true);
BEGIN
    PERFORM cc.call_leg_check(call, leg, 'leg');
    IF prompt IS NULL THEN
        RAISE EXCEPTION 'cc: prompt must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Give {"prompt": name}, {"file": "x.wav"} or {"tts": "text"}.';
    END IF;
    RETURN cc.command_submit('play', call, jsonb_build_object(
        'prompt', cc.call_prompt_check(prompt, 'prompt'), 'leg', leg, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.play(uuid, jsonb, uuid) IS
    'Plays a prompt ({"prompt": name or id}, {"file"}, {"tts", "voice"}, {"tone"}; count, loop) to the customer (or leg). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.record_command(call uuid, command text, channels integer DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, command || ' recording', true);
BEGIN
    IF channels IS NOT NULL AND channels NOT IN (1, 2) THEN
        RAISE EXCEPTION 'cc: a recording has 1 or 2 channels, not %', channels
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '2: the customer and the agent each on a channel (default); 1: mixed.';
    END IF;
    RETURN cc.command_submit('record', call, jsonb_build_object('command', command, 'channels', channels, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.record_command(uuid, text, integer) IS 'Common part of cc.record_start, _pause, _resume and _stop (runs inside them).';

CREATE FUNCTION cc.record_start(call uuid, channels integer DEFAULT 2)
RETURNS uuid
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$ SELECT cc.record_command(call, 'start', coalesce(channels, 2)) $$;
COMMENT ON FUNCTION cc.record_start(uuid, integer) IS
    'Starts recording a connected call to a WAV file (a cc.recordings row): 2 channels (customer, agent; default) or 1 (mixed). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.record_pause(call uuid)
RETURNS uuid
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$ SELECT cc.record_command(call, 'pause') $$;
COMMENT ON FUNCTION cc.record_pause(uuid) IS 'Pauses the call''s recording (e.g. while a card number is read). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.record_resume(call uuid)
RETURNS uuid
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$ SELECT cc.record_command(call, 'resume') $$;
COMMENT ON FUNCTION cc.record_resume(uuid) IS 'Resumes the call''s paused recording. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.record_stop(call uuid)
RETURNS uuid
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$ SELECT cc.record_command(call, 'stop') $$;
COMMENT ON FUNCTION cc.record_stop(uuid) IS
    'Stops the call''s recording; the row becomes complete when the media worker reports recording_done. cc_app, or cc_agent on its own calls.';

-- conferences and supervision -----------------------------------------------------

CREATE FUNCTION cc.conference_mode_check(mode text, whisper_to uuid, call uuid) RETURNS void
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    IF mode IS NULL OR mode NOT IN ('talk', 'listen', 'whisper') THEN
        RAISE EXCEPTION 'cc: conference mode "%" is unknown', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'talk (hears and is heard), listen (hears only) or whisper (heard by whisper_to only).';
    END IF;
    IF (mode = 'whisper') <> (whisper_to IS NOT NULL) THEN
        RAISE EXCEPTION 'cc: whisper_to goes with mode whisper, and only with it'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Give whisper_to (a participant''s leg) exactly when mode is whisper.';
    END IF;
    PERFORM cc.call_leg_check(call, whisper_to, 'whisper_to');
END;
$$;
COMMENT ON FUNCTION cc.conference_mode_check(text, uuid, uuid) IS 'Checks a conference mode and its whisper_to leg.';

CREATE FUNCTION cc.conference_create(call uuid, max_participants integer DEFAULT 250)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'make a conference of', true);
BEGIN
    IF max_participants IS NULL OR max_participants NOT BETWEEN 2 AND 250 THEN
        RAISE EXCEPTION 'cc: a conference has 2 to 250 participants, not %', coalesce(max_participants::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value', HINT = 'max_participants is 2 to 250 (250 by default).';
    END IF;
    RETURN cc.command_submit('conference_create', call, jsonb_build_object('max_participants', max_participants, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.conference_create(uuid, integer) IS
    'Makes a conference of a connected call: every answered party (customer, agents, consulted and external parties) joins it, talking. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.conference_join(call uuid, target jsonb, mode text DEFAULT 'talk', whisper_to uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent   uuid := cc.call_control_begin(call, 'add to the conference of', true);
    checked jsonb := cc.call_target_check(target, ARRAY['leg', 'agent', 'number', 'uri'], 'conference participant');
BEGIN
    IF checked->>'kind' = 'leg' THEN
        PERFORM cc.call_leg_check(call, (checked->>'leg')::uuid, 'target leg');
    END IF;
    PERFORM cc.conference_mode_check(mode, whisper_to, call);
    RETURN cc.command_submit('conference_join', call, jsonb_build_object(
        'target', checked, 'mode', mode, 'whisper_to', whisper_to, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.conference_join(uuid, jsonb, text, uuid) IS
    'Adds a participant to the call''s conference: {"leg"} (a leg of the call) joins at once; {"agent"}, {"extension"}, {"number"}, {"uri"} is dialled and joins when it answers; mode talk, listen or whisper (to whisper_to). Refused past the conference''s max_participants. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.conference_leave(call uuid, leg uuid)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'remove from the conference of', true);
BEGIN
    IF leg IS NULL THEN
        RAISE EXCEPTION 'cc: leg must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Give the leg of the participant who leaves.';
    END IF;
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('conference_leave', call, jsonb_build_object('leg', leg, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.conference_leave(uuid, uuid) IS
    'A participant leaves the conference: its leg hangs up (not the customer''s: use cc.hangup to end the call). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.conference_mode(call uuid, leg uuid, mode text, whisper_to uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'change a mode in the conference of', true);
BEGIN
    IF leg IS NULL THEN
        RAISE EXCEPTION 'cc: leg must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Give the leg of the participant.';
    END IF;
    PERFORM cc.call_leg_check(call, leg, 'leg');
    PERFORM cc.conference_mode_check(mode, whisper_to, call);
    RETURN cc.command_submit('conference_mode', call, jsonb_build_object(
        'leg', leg, 'mode', mode, 'whisper_to', whisper_to, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.conference_mode(uuid, uuid, text, uuid) IS
    'Sets a participant''s mode: talk, listen or whisper (heard by whisper_to only). cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.conference_mute(call uuid, leg uuid, muted boolean DEFAULT true)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent uuid := cc.call_control_begin(call, 'mute in the conference of', true);
BEGIN
    IF leg IS NULL OR muted IS NULL THEN
        RAISE EXCEPTION 'cc: leg and muted must not be null'
            USING ERRCODE = 'null_value_not_allowed', HINT = 'Give the participant''s leg and true (mute) or false (unmute).';
    END IF;
    PERFORM cc.call_leg_check(call, leg, 'leg');
    RETURN cc.command_submit('conference_mute', call, jsonb_build_object('leg', leg, 'muted', muted, 'agent', agent));
END;
$$;
COMMENT ON FUNCTION cc.conference_mute(uuid, uuid, boolean) IS
    'Mutes (or, with false, unmutes) a participant of the conference: the others stop hearing it. cc_app, or cc_agent on its own calls.';

CREATE FUNCTION cc.monitor(call uuid, supervisor jsonb, mode text DEFAULT 'listen')
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM cc.call_control_begin(call, 'supervise', false);
    IF mode IS NULL OR mode NOT IN ('listen', 'whisper', 'barge') THEN
        RAISE EXCEPTION 'cc: supervision mode "%" is unknown', coalesce(mode, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'listen (hears both), whisper (heard by the agent only) or barge (heard by both).';
    END IF;
    RETURN cc.command_submit('monitor', call, jsonb_build_object(
        'supervisor', cc.call_target_check(supervisor, ARRAY['agent', 'number', 'uri'], 'supervisor'), 'mode', mode));
END;
$$;
COMMENT ON FUNCTION cc.monitor(uuid, jsonb, text) IS
    'A supervisor ({"agent"}, {"extension"}, {"number"} or {"uri"}) listens to, whispers to or barges in on the call''s agent; their phone is called first. Called again for the same supervisor, switches the mode on the live call. cc_app only.';

-- self-service mid-call -----------------------------------------------------------

CREATE FUNCTION cc.self_service_start(call uuid, flow text, timeout_s integer DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    agent   uuid := cc.call_control_begin(call, 'start a self-service flow on', true);
    flow_id uuid := cc.call_named_resolve('flows', flow, 'flow');
    f       cc.flows;
    v       cc.flow_versions;
BEGIN
    SELECT * INTO f FROM cc.flows AS k WHERE k.id = flow_id;
    IF f.kind <> 'self_service' THEN
        RAISE EXCEPTION 'cc: flow % is of kind %, not self_service', f.name, f.kind
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Mid-call flows are flows of kind self_service.';
    END IF;
    SELECT * INTO v FROM cc.flow_versions AS k WHERE k.flow_id = f.id AND k.version = 'MAIN' AND k.published;
    IF v.id IS NULL THEN
        RAISE EXCEPTION 'cc: flow % has no published MAIN version', f.name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'Publish the flow''s MAIN version first.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(v.graph->'nodes', '[]')) AS n WHERE n->>'type' = 'start') THEN
        RAISE EXCEPTION 'cc: flow % has no start node', f.name
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'A flow has exactly one node of type start.';
    END IF;
    IF timeout_s IS NOT NULL AND timeout_s NOT BETWEEN 10 AND 3600 THEN
        RAISE EXCEPTION 'cc: self-service timeout of % s is out of range', timeout_s
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '10 to 3600 seconds (NULL: the call_control.self_service_max_s setting, 300).';
    END IF;
    RETURN cc.command_submit('self_service', call, jsonb_build_object(
        'flow_id', f.id, 'flow_version_id', v.id, 'agent', agent,
        'timeout_s', coalesce(timeout_s, least(greatest(cc.setting_int('call_control.self_service_max_s', 300), 10), 3600))));
END;
$$;
COMMENT ON FUNCTION cc.self_service_start(uuid, text, integer) IS
    'Runs a self-service flow (kind self_service, id or name) with the caller while the agent waits on hold; at its end (or after timeout_s) the caller is handed back to the same agent and what it collected is posted to the flow''s callback_url. cc_app, or cc_agent on its own calls.';
