-- 120_cdrs.sql: the service record (CDR) of every call.
--
-- cc.call_finish (086_call_control.sql) calls cc.cdr_write(call) in the
-- transaction that ends the call, once the call row says ended, end_cause
-- and hangup_side.  The CDR is computed from what the other domains left:
-- the call, its legs, its queue entries and offers, the choices and custom
-- data the flow recorded, its recordings and its events (holds).  Every
-- input may be missing (a call that never reached a queue, an outbound
-- call, a call ended by cc.calls_reconcile): the CDR is written anyway.
-- A bug in the computation never stops a call from ending: the CDR is
-- then written from the call row alone and a cdr.failed event says why.
--
-- The times of a CDR cut the call into five disjoint parts whose sum is
-- total_ms (constraint cdrs_durations_add_up_to_total_ms):
--   setup  start -> the customer's leg answered (inbound: by us)
--   ivr    time in flows, before the queue and after the talk
--   queue  in a queue, outside the ring and talk below
--   ring   the ring of the agent who answered (else the last ring)
--   talk   human answer -> the last human left
-- The access status follows the reference's lists (docs/events.md has the
-- table of how each is decided).

-- cc.ms_of is the length of a multirange in whole milliseconds.
-- It and cc.ms_trunc are PL/pgSQL: cc.cdr_build calls them in a
-- subtransaction, where a SQL function that is not inlined is planned at
-- every call; PL/pgSQL keeps its plans for the session.
CREATE FUNCTION cc.ms_of(ranges tstzmultirange) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    RETURN (SELECT coalesce(sum(round(extract(epoch FROM upper(r) - lower(r)) * 1000)), 0)::bigint
              FROM unnest(ranges) AS r
             WHERE NOT lower_inf(r) AND NOT upper_inf(r));
END;
$$;
COMMENT ON FUNCTION cc.ms_of(tstzmultirange) IS 'Total length of the ranges of a multirange, in milliseconds.';

-- cc.ms_trunc rounds a time down to the millisecond, so durations computed
-- from rounded times add up exactly.
CREATE FUNCTION cc.ms_trunc(t timestamptz) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE
AS $$ BEGIN RETURN date_trunc('milliseconds', t); END; $$;
COMMENT ON FUNCTION cc.ms_trunc(timestamptz) IS 'The time rounded down to the millisecond (CDR times are kept at that precision).';

-- cc.time_clamp keeps a time within [lo, hi]; NULL stays NULL (greatest
-- and least would turn it into a bound).
CREATE FUNCTION cc.time_clamp(t timestamptz, lo timestamptz, hi timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE WHEN t IS NOT NULL THEN least(greatest(t, lo), hi) END $$;
COMMENT ON FUNCTION cc.time_clamp(timestamptz, timestamptz, timestamptz) IS 'The time t moved into [lo, hi]; NULL when t is NULL.';

CREATE FUNCTION cc.custom_data_merge(base jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    merged jsonb := coalesce(base, '{}');
    k      text;
    v      jsonb;
BEGIN
    IF patch IS NULL THEN
        RETURN merged;
    END IF;
    IF jsonb_typeof(patch) <> 'object' THEN
        RAISE EXCEPTION 'cc: custom data % is not a JSON object', patch
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'cdr_custom_data is an object such as {"ticket": "T-9"}; a key set to "" removes it.';
    END IF;
    FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
        IF v = '""'::jsonb THEN
            merged := merged - k;
        ELSE
            merged := merged || jsonb_build_object(k, v);
        END IF;
    END LOOP;
    RETURN merged;
END;
$$;
COMMENT ON FUNCTION cc.custom_data_merge(jsonb, jsonb) IS
    'IBM''s cdr_custom_data rule: merges patch into base (new keys added, existing keys overwritten, a key set to "" removed).';

-- cc.cdr_system_causes lists the end causes that mean "our fault".
CREATE FUNCTION cc.cdr_system_causes() RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $$ SELECT ARRAY['worker_restart', 'system_error', 'internal_error', 'media_error', 'rtp_timeout', 'error'] $$;
COMMENT ON FUNCTION cc.cdr_system_causes() IS
    'End causes that make a call''s access status system_error (worker_restart, system_error, internal_error, media_error, rtp_timeout, error).';

CREATE FUNCTION cc.cdr_outbound_status(cause text, sip_code integer) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN cause IN ('busy', 'no_answer', 'rejected', 'powered_off', 'invalid_number', 'out_of_credit',
                       'carrier_fault', 'out_of_service_area') THEN cause
        WHEN cause = 'not_found' THEN 'invalid_number'
        WHEN cause = 'canceled' THEN 'caller_canceled'
        WHEN sip_code IN (486, 600) THEN 'busy'
        WHEN sip_code IN (408, 480) THEN 'no_answer'
        WHEN sip_code IN (403, 603) THEN 'rejected'
        WHEN sip_code IN (404, 410, 484, 604) THEN 'invalid_number'
        WHEN sip_code = 402 THEN 'out_of_credit'
        WHEN sip_code = 487 THEN 'caller_canceled'
        WHEN sip_code BETWEEN 500 AND 599 THEN 'carrier_fault'
        ELSE 'unknown' END;
$$;
COMMENT ON FUNCTION cc.cdr_outbound_status(text, integer) IS
    'Access status of an outbound call that was not connected, from the customer leg''s cause (busy, no_answer, rejected, not_found, canceled, carrier_fault, ...) or else its SIP code; unknown otherwise.';

CREATE FUNCTION cc.cdr_access_status(call uuid, connected boolean) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c        cc.calls;
    cust     cc.legs;
    last_qe  cc.queue_entries;
    ringing  boolean;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: call % does not exist', call USING ERRCODE = 'no_data_found';
    END IF;
    IF c.end_cause = ANY (cc.cdr_system_causes()) THEN
        RETURN 'system_error';
    END IF;
    SELECT * INTO cust FROM cc.legs AS l WHERE l.call_id = call AND l.kind = 'customer'
     ORDER BY l.created_at LIMIT 1;

    IF c.direction <> 'inbound' THEN
        IF connected THEN
            RETURN 'normal_end';
        END IF;
        RETURN cc.cdr_outbound_status(coalesce(cust.cause, c.end_cause), cust.sip_code);
    END IF;

    IF connected THEN
        IF EXISTS (SELECT 1 FROM cc.legs AS l
                    WHERE l.call_id = call AND l.kind = 'external' AND l.answered_at IS NOT NULL) THEN
            RETURN 'transferred_to_external';
        ELSIF (SELECT count(DISTINCT l.agent_id) FROM cc.legs AS l
                WHERE l.call_id = call AND l.kind IN ('agent', 'consult') AND l.answered_at IS NOT NULL) > 1 THEN
            RETURN 'transferred_to_agent';
        END IF;
        RETURN 'normal_end';
    END IF;

    SELECT * INTO last_qe FROM cc.queue_entries AS q WHERE q.call_id = call
     ORDER BY q.entered_at DESC, q.left_at DESC NULLS FIRST LIMIT 1;
    IF FOUND THEN
        IF last_qe.state = 'no_agent'
           OR (EXISTS (SELECT 1 FROM cc.queue_entries AS q WHERE q.call_id = call AND q.state = 'no_agent')
               AND NOT EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.call_id = call)) THEN
            RETURN 'no_agent_online';
        END IF;
        IF c.hangup_side = 'customer' AND last_qe.state IN ('abandoned', 'waiting', 'offered') THEN
            -- was an agent ringing when the customer hung up?
            ringing := last_qe.state = 'offered'
                OR EXISTS (SELECT 1 FROM cc.offers AS o
                            WHERE o.queue_entry_id = last_qe.id
                              AND (o.outcome = 'offered'
                                   OR (o.outcome = 'canceled'
                                       AND o.decided_at >= coalesce(last_qe.left_at, c.ended_at) - interval '1 second')))
                OR EXISTS (SELECT 1 FROM cc.legs AS l
                            WHERE l.call_id = call AND l.kind IN ('agent', 'external') AND l.answered_at IS NULL
                              AND l.created_at >= last_qe.entered_at
                              AND (l.ended_at IS NULL OR l.ended_at >= coalesce(c.ended_at, now()) - interval '1 second'));
            RETURN CASE WHEN ringing THEN 'ringing_abandoned' ELSE 'queue_abandoned' END;
        END IF;
        IF EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.call_id = call AND o.outcome IN ('timeout', 'rejected')) THEN
            RETURN 'agent_no_answer';
        END IF;
        RETURN 'ended_after_ivr';
    END IF;

    IF coalesce(cust.answered_at, c.answered_at) IS NULL THEN
        RETURN 'not_connected';
    ELSIF c.hangup_side = 'customer' THEN
        RETURN 'ivr_abandoned';
    END IF;
    RETURN 'ended_after_ivr';
END;
$$;
COMMENT ON FUNCTION cc.cdr_access_status(uuid, boolean) IS
    'The reference''s access status of a call (connected: a human talked with the customer), from its end cause, legs, queue entries and offers; the rules are in docs/events.md.';

CREATE FUNCTION cc.cdr_build(call uuid) RETURNS cc.cdrs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c          cc.calls;
    cust       cc.legs;
    human      cc.legs;     -- the leg whose ring counts: who answered, else the last rung
    d          cc.cdrs;
    s_at       timestamptz;
    e_at       timestamptz;
    a_at       timestamptz; -- customer's leg answered
    q_at       timestamptz;
    r_at       timestamptz;
    r_end      timestamptz;
    t_at       timestamptz;
    te_at      timestamptz;
    whole      tstzmultirange;
    ring_mr    tstzmultirange := '{}';
    talk_mr    tstzmultirange := '{}';
    queue_mr   tstzmultirange := '{}';
    hold_mr    tstzmultirange := '{}';
    rest_mr    tstzmultirange;
    setup_end  timestamptz;
    last_agent cc.agents;
    survey     jsonb;
    queue      uuid;
    other_legs boolean;     -- legs besides the customer's
    queued     boolean;     -- queue entries
    offered    boolean;
    recorded   boolean;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: call % does not exist', call USING ERRCODE = 'no_data_found';
    END IF;
    s_at := cc.ms_trunc(c.created_at);
    e_at := greatest(cc.ms_trunc(coalesce(c.ended_at, now())), s_at);
    whole := tstzmultirange(tstzrange(s_at, e_at));

    SELECT * INTO cust FROM cc.legs AS l WHERE l.call_id = call AND l.kind = 'customer'
     ORDER BY l.created_at LIMIT 1;
    a_at := cc.ms_trunc(coalesce(cust.answered_at, c.answered_at));

    -- What else the call had, in one query: the queries below that would
    -- find nothing are skipped (a CDR is written at the end of every call,
    -- and most calls never reach a queue, an agent or a recording).
    SELECT EXISTS (SELECT 1 FROM cc.legs AS l WHERE l.call_id = call AND l.kind <> 'customer'),
           EXISTS (SELECT 1 FROM cc.queue_entries AS e WHERE e.call_id = call),
           EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.call_id = call),
           EXISTS (SELECT 1 FROM cc.recordings AS r WHERE r.call_id = call)
      INTO other_legs, queued, offered, recorded;

    IF c.direction = 'inbound' THEN
        -- the human side: agents and external parties the call was put through to
        IF other_legs THEN
            SELECT * INTO human FROM cc.legs AS l
             WHERE l.call_id = call AND l.kind IN ('agent', 'external') AND l.answered_at IS NOT NULL
             ORDER BY l.answered_at LIMIT 1;
        END IF;
        IF human.id IS NOT NULL THEN
            t_at := cc.ms_trunc(coalesce(c.connected_at, human.answered_at));
            r_at := cc.ms_trunc(coalesce(human.ringing_at, human.created_at));
            r_end := t_at;
            SELECT cc.ms_trunc(max(coalesce(l.ended_at, c.ended_at, now()))) INTO te_at FROM cc.legs AS l
             WHERE l.call_id = call AND l.kind IN ('agent', 'consult', 'external') AND l.answered_at IS NOT NULL;
        ELSE
            IF other_legs THEN
                SELECT * INTO human FROM cc.legs AS l
                 WHERE l.call_id = call AND l.kind IN ('agent', 'external')
                 ORDER BY l.created_at DESC LIMIT 1;
            END IF;
            IF human.id IS NOT NULL THEN
                r_at := cc.ms_trunc(coalesce(human.ringing_at, human.created_at));
                r_end := cc.ms_trunc(coalesce(human.ended_at, c.ended_at, now()));
            ELSIF offered THEN
                -- an offer without a leg (a phone that was never dialled) still rang
                SELECT cc.ms_trunc(o.offered_at), cc.ms_trunc(coalesce(o.decided_at, c.ended_at, now()))
                  INTO r_at, r_end
                  FROM cc.offers AS o WHERE o.call_id = call ORDER BY o.offered_at DESC LIMIT 1;
            END IF;
            IF c.connected_at IS NOT NULL THEN
                t_at := cc.ms_trunc(c.connected_at);
                te_at := e_at;
            END IF;
        END IF;
    ELSE
        -- outbound and internal: the callee is the customer leg
        t_at := cc.ms_trunc(coalesce(c.connected_at, cust.answered_at));
        r_at := cc.ms_trunc(coalesce(cust.ringing_at, CASE WHEN t_at IS NOT NULL THEN cust.created_at END));
        r_end := coalesce(t_at, cc.ms_trunc(coalesce(cust.ended_at, c.ended_at, now())));
        te_at := CASE WHEN t_at IS NOT NULL THEN e_at END;
    END IF;

    -- keep every point inside the call and in order (NULL stays NULL)
    a_at := cc.time_clamp(a_at, s_at, e_at);
    t_at := cc.time_clamp(t_at, s_at, e_at);
    te_at := cc.time_clamp(coalesce(te_at, CASE WHEN t_at IS NOT NULL THEN e_at END), t_at, e_at);
    r_at := cc.time_clamp(r_at, s_at, coalesce(t_at, e_at));
    r_end := cc.time_clamp(coalesce(r_end, CASE WHEN r_at IS NOT NULL THEN coalesce(t_at, e_at) END),
                           r_at, coalesce(t_at, e_at));

    IF t_at IS NOT NULL THEN
        talk_mr := tstzmultirange(tstzrange(t_at, te_at));
    END IF;
    IF r_at IS NOT NULL THEN
        ring_mr := tstzmultirange(tstzrange(r_at, r_end)) - talk_mr;
    END IF;

    IF queued THEN
        SELECT cc.ms_trunc(min(q.entered_at)), coalesce(range_agg(tstzrange(q.lo, greatest(q.hi, q.lo))), '{}')
          INTO q_at, queue_mr
          FROM (SELECT greatest(cc.ms_trunc(e.entered_at), s_at) AS lo, e.entered_at,
                       least(cc.ms_trunc(coalesce(e.left_at, c.ended_at, now())), e_at) AS hi
                  FROM cc.queue_entries AS e WHERE e.call_id = call AND e.entered_at <= e_at) AS q;
    END IF;
    q_at := cc.time_clamp(q_at, s_at, e_at);
    queue_mr := queue_mr * whole - ring_mr - talk_mr;

    -- setup: until the customer's leg was answered (inbound), or the callee
    -- rang or answered (outbound); never past the first human or queue time
    setup_end := CASE WHEN c.direction = 'inbound' THEN coalesce(a_at, q_at, r_at, t_at, e_at)
                      ELSE coalesce(r_at, t_at, e_at) END;
    setup_end := least(setup_end, coalesce(q_at, e_at), coalesce(r_at, e_at), coalesce(t_at, e_at));
    rest_mr := whole - queue_mr - ring_mr - talk_mr;

    -- holds: from each leg's leg.hold to its leg.resume, within the talk
    -- (a call without talk has none: the events are not read, since a
    -- query over every partition of cc.events is costly per call)
    IF NOT isempty(talk_mr) THEN
        SELECT coalesce(range_agg(tstzrange(h.at, h.until)), '{}') INTO hold_mr
          FROM (SELECT cc.ms_trunc(e.at) AS at,
                       coalesce(cc.ms_trunc(lead(e.at) OVER w), te_at, e_at) AS until, e.type
                  FROM cc.events AS e
                 WHERE e.call_id = call AND e.type IN ('leg.hold', 'leg.resume')
                   AND e.at >= c.created_at - interval '1 hour'   -- prunes the older daily partitions
                WINDOW w AS (PARTITION BY e.leg_id ORDER BY e.seq)) AS h
         WHERE h.type = 'leg.hold' AND h.until > h.at;
        hold_mr := hold_mr * talk_mr;
    END IF;

    -- who talked
    d.agent_ids := '{}';
    IF other_legs THEN
        SELECT coalesce(array_agg(x.agent_id ORDER BY x.first_at), '{}') INTO d.agent_ids
          FROM (SELECT l.agent_id, min(l.answered_at) AS first_at FROM cc.legs AS l
                 WHERE l.call_id = call AND l.agent_id IS NOT NULL AND l.answered_at IS NOT NULL
                   AND l.kind IN ('agent', 'consult')
                 GROUP BY l.agent_id) AS x;
    END IF;
    IF coalesce(c.agent_id, d.agent_ids[cardinality(d.agent_ids)]) IS NOT NULL THEN
        SELECT * INTO last_agent FROM cc.agents AS a
         WHERE a.id = coalesce(c.agent_id, d.agent_ids[cardinality(d.agent_ids)]);
    END IF;
    IF last_agent.id IS NOT NULL THEN
        d.last_agent_id := last_agent.id;
        d.last_agent_name := last_agent.name;
        d.last_agent_extension := last_agent.extension;
        SELECT CASE WHEN l.phone_id IS NOT NULL THEN 'desk_phone'
                    WHEN l.trunk_id IS NOT NULL THEN 'mobile'
                    ELSE 'softphone' END
          INTO d.agent_endpoint
          FROM cc.legs AS l
         WHERE l.call_id = call AND l.agent_id = last_agent.id
         ORDER BY l.answered_at DESC NULLS LAST, l.created_at DESC LIMIT 1;
    END IF;

    -- the survey: the last survey choice with a key is the satisfaction
    IF c.choices IS DISTINCT FROM '[]' THEN
        SELECT ch INTO survey FROM jsonb_array_elements(c.choices) WITH ORDINALITY AS x (ch, n)
         WHERE ch->>'kind' = 'survey' AND coalesce(ch->>'key', '') ~ '^[0-9*#]$'
         ORDER BY n DESC LIMIT 1;
    END IF;
    d.survey_triggered := survey IS NOT NULL
        OR jsonb_path_exists(c.choices, '$[*] ? (@.kind == "survey")')
        OR c.survey_entered_at IS NOT NULL;
    IF survey IS NOT NULL THEN
        d.satisfaction_key := survey->>'key';
        d.satisfaction_label := survey->>'label';
        d.satisfaction_score := CASE WHEN survey->>'value' ~ '^-?[0-9]+(\.[0-9]+)?$' THEN (survey->>'value')::numeric
                                     WHEN survey->>'key' ~ '^[0-9]$' THEN (survey->>'key')::numeric END;
    END IF;

    d.id := gen_random_uuid();
    d.call_id := c.id;
    d.site := c.site;
    d.direction := c.direction;
    d.number_id := c.number_id;
    d.number := c.number;
    d.caller := c.caller;
    d.callee := c.callee;
    d.access_status := cc.cdr_access_status(call, t_at IS NOT NULL AND te_at > t_at);
    d.started_at := s_at;
    d.customer_answered_at := a_at;
    d.queued_at := q_at;
    d.ringing_at := r_at;
    d.answered_at := t_at;
    d.ended_at := e_at;
    d.talk_ms := cc.ms_of(talk_mr);
    d.ring_ms := cc.ms_of(ring_mr);
    d.queue_ms := cc.ms_of(queue_mr);
    d.setup_ms := cc.ms_of(rest_mr * tstzmultirange(tstzrange(s_at, setup_end)));
    d.total_ms := cc.ms_of(whole);
    d.ivr_ms := d.total_ms - d.setup_ms - d.queue_ms - d.ring_ms - d.talk_ms;
    d.hold_ms := least(cc.ms_of(hold_mr), d.talk_ms);
    queue := c.queue_id;
    IF queue IS NULL AND queued THEN
        SELECT e.queue_id INTO queue FROM cc.queue_entries AS e WHERE e.call_id = call
         ORDER BY e.entered_at DESC LIMIT 1;
    END IF;
    IF queue IS NOT NULL THEN
        d.queue_id := queue;    -- kept when the queue row is gone
        SELECT q.name INTO d.queue_name FROM cc.queues AS q WHERE q.id = queue;
    END IF;
    d.flow_id := c.flow_id;
    IF c.flow_version_id IS NOT NULL THEN
        SELECT v.version INTO d.flow_version FROM cc.flow_versions AS v WHERE v.id = c.flow_version_id;
    END IF;
    SELECT k.campaign_id INTO d.campaign_id FROM cc.campaign_contacts AS k WHERE k.last_call_id = call LIMIT 1;
    d.parent_call_id := c.parent_call_id;
    d.hangup_side := c.hangup_side;
    d.end_cause := c.end_cause;
    d.menu_choices := c.choices;
    d.custom_data := c.custom_data;
    d.recording_ids := '{}';
    IF recorded THEN
        SELECT r.id INTO d.voicemail_recording_id FROM cc.recordings AS r
         WHERE r.call_id = call AND r.kind = 'voicemail' ORDER BY r.started_at DESC LIMIT 1;
        SELECT coalesce(array_agg(r.id ORDER BY r.started_at), '{}') INTO d.recording_ids
          FROM cc.recordings AS r WHERE r.call_id = call AND r.kind = 'call';
    END IF;
    d.created_at := now();
    RETURN d;
END;
$$;
COMMENT ON FUNCTION cc.cdr_build(uuid) IS
    'Computes the CDR row of a call (not stored): times, the five durations, agents, queue, access status, survey, recordings, custom data. cc.cdr_write stores it.';

-- cc.cdr_build_minimal is the CDR of a call whose full computation failed:
-- the call row alone, every second of it counted as IVR.
CREATE FUNCTION cc.cdr_build_minimal(call uuid) RETURNS cc.cdrs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c cc.calls;
    d cc.cdrs;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    d.id := gen_random_uuid();
    d.call_id := c.id;
    d.site := c.site;
    d.direction := c.direction;
    d.number_id := c.number_id;
    d.number := c.number;
    d.caller := c.caller;
    d.callee := c.callee;
    d.access_status := 'system_error';
    d.started_at := cc.ms_trunc(c.created_at);
    d.ended_at := greatest(cc.ms_trunc(coalesce(c.ended_at, now())), d.started_at);
    d.setup_ms := 0;
    d.queue_ms := 0;
    d.ring_ms := 0;
    d.talk_ms := 0;
    d.hold_ms := 0;
    d.total_ms := cc.ms_of(tstzmultirange(tstzrange(d.started_at, d.ended_at)));
    d.ivr_ms := d.total_ms;
    d.agent_ids := '{}';
    d.queue_id := c.queue_id;
    d.flow_id := c.flow_id;
    d.hangup_side := c.hangup_side;
    d.end_cause := c.end_cause;
    d.survey_triggered := false;
    d.menu_choices := CASE WHEN jsonb_typeof(c.choices) = 'array' THEN c.choices ELSE '[]' END;
    d.custom_data := CASE WHEN jsonb_typeof(c.custom_data) = 'object' THEN c.custom_data ELSE '{}' END;
    d.recording_ids := '{}';
    d.created_at := now();
    RETURN d;
END;
$$;
COMMENT ON FUNCTION cc.cdr_build_minimal(uuid) IS
    'The CDR of a call from its row alone (access status system_error), written when cc.cdr_build fails so that no call is without a record.';

-- PL/pgSQL (plan kept for the session; a SQL function with SET is planned
-- at every call): it runs for every call that ends.
CREATE FUNCTION cc.cdr_json(cdr uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN (SELECT to_jsonb(d)
                   || jsonb_build_object(
                          'start_timestamp', extract(epoch FROM d.started_at)::bigint,
                          'injected_custom_data', d.custom_data,
                          'legs', coalesce((SELECT jsonb_agg(to_jsonb(l) - 'cdr_id' ORDER BY l.created_at)
                                              FROM cc.cdr_legs AS l WHERE l.cdr_id = d.id), '[]'))
              FROM cc.cdrs AS d WHERE d.id = cdr);
END;
$$;
COMMENT ON FUNCTION cc.cdr_json(uuid) IS
    'A CDR with its legs as one JSON object (what the cdr.created event and webhook carry): every column, start_timestamp (Unix seconds, as the reference), injected_custom_data (IBM''s name) and legs.';

CREATE FUNCTION cc.cdr_write(call uuid) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    d        cc.cdrs;
    existing uuid;
    problem  text;
BEGIN
    IF call IS NULL THEN
        RAISE EXCEPTION 'cc: cdr_write needs a call id' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT id INTO existing FROM cc.cdrs WHERE call_id = call;
    IF FOUND THEN
        RETURN existing;   -- one CDR per call
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cc.calls WHERE id = call) THEN
        RAISE EXCEPTION 'cc: call % does not exist', call
            USING ERRCODE = 'no_data_found', HINT = 'cc.cdr_write is called with the id of a call that is ending.';
    END IF;

    BEGIN
        d := cc.cdr_build(call);
        INSERT INTO cc.cdrs VALUES (d.*);
        INSERT INTO cc.cdr_legs (cdr_id, leg_id, kind, direction, agent_id, agent_name, agent_extension, phone_id,
                                 party, sip_code, cause, created_at, ringing_at, answered_at, ended_at)
        SELECT d.id, l.id, l.kind, l.direction, l.agent_id, a.name, a.extension, l.phone_id,
               coalesce(CASE WHEN l.kind IN ('agent', 'consult', 'supervisor') THEN a.extension END,
                        CASE WHEN l.direction = 'inbound' THEN cc.sip_uri_user(l.from_uri) ELSE cc.sip_uri_user(l.to_uri) END,
                        CASE WHEN l.direction = 'inbound' THEN l.from_uri ELSE l.to_uri END),
               l.sip_code, l.cause, l.created_at,
               CASE WHEN l.ringing_at IS NOT NULL THEN greatest(l.ringing_at, l.created_at) END,
               CASE WHEN l.answered_at IS NOT NULL THEN greatest(l.answered_at, l.ringing_at, l.created_at) END,
               greatest(coalesce(l.ended_at, d.ended_at), l.answered_at, l.ringing_at, l.created_at)
          FROM cc.legs AS l LEFT JOIN cc.agents AS a ON a.id = l.agent_id
         WHERE l.call_id = call;
    EXCEPTION WHEN OTHERS THEN
        problem := SQLERRM;
        RAISE WARNING 'cc: CDR of call % computed from the call row alone: %', call, problem;
        d := cc.cdr_build_minimal(call);
        INSERT INTO cc.cdrs VALUES (d.*);
        PERFORM cc.event_append('cdr.failed', jsonb_build_object('error', problem, 'cdr_id', d.id), call_id => call);
    END;
    PERFORM cc.event_append('cdr.created', cc.cdr_json(d.id), call_id => call,
                            agent_id => d.last_agent_id, queue_id => d.queue_id);
    RETURN d.id;
END;
$$;
COMMENT ON FUNCTION cc.cdr_write(uuid) IS
    'Hook (cc.call_finish): writes the CDR of a call that is ending and a cc.cdr_legs row per leg, then a cdr.created event carrying the CDR (webhooks subscribed to cdr get it); returns the CDR id. Once per call: a second call returns the first CDR.';

CREATE FUNCTION cc.cdr_note_set(call uuid, note text) RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF length(note) > 2000 THEN
        RAISE EXCEPTION 'cc: a note of % characters is too long', length(note)
            USING ERRCODE = 'string_data_right_truncation', HINT = 'A CDR note has at most 2000 characters.';
    END IF;
    UPDATE cc.cdrs AS d SET note = cdr_note_set.note WHERE d.call_id = call RETURNING d.id INTO id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: call % has no CDR', call
            USING ERRCODE = 'no_data_found', HINT = 'A CDR exists once the call has ended.';
    END IF;
    PERFORM cc.event_append('cdr.noted', jsonb_build_object('cdr_id', id, 'note', note), call_id => call);
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.cdr_note_set(uuid, text) IS
    'Sets the agent''s note of a call''s CDR (at most 2000 characters) and appends cdr.noted; returns the CDR id.';
