-- 114_queue_calls.sql: what happens to a call in a queue.
--
-- Entering (routing rules, memory routing, the preferred-agents webhook,
-- full / closed / nobody logged in, overflow), waiting (hold music,
-- position and estimated-wait announcements, exit and callback keys, max
-- wait, the next routing rule), an offer's outcome (answered: bridge;
-- busy, declined, not answered: delays, no-answer count, break, next
-- member), leaving (the caller hangs up: offers canceled and agents freed),
-- pickup by another member, and callbacks.  The hooks of 110_queue_hooks.sql
-- call these functions with the call's row locked.

-- memory routing looks up outbound calls by callee (inbound calls are not indexed)
CREATE INDEX IF NOT EXISTS calls_callee_outbound ON cc.calls (callee, created_at) WHERE direction = 'outbound';

-- prompts ----------------------------------------------------------------------

-- cc.queue_fill replaces ${Name} in a text by the value of Name in vars.
CREATE FUNCTION cc.queue_fill(txt text, vars jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
    k text;
    v text;
BEGIN
    FOR k, v IN SELECT * FROM jsonb_each_text(coalesce(vars, '{}')) LOOP
        txt := replace(txt, '${' || k || '}', coalesce(v, ''));
    END LOOP;
    RETURN txt;
END;
$$;
COMMENT ON FUNCTION cc.queue_fill(text, jsonb) IS 'Replaces each ${Name} of the text by vars->>Name (e.g. ${WaitNo}).';

-- cc.queue_play: the play action of a prompt (file or TTS with variables
-- filled), or of a flow-style prompt object {"prompt_id"} / {"tts"} /
-- {"file"}; NULL when there is nothing to play.
CREATE FUNCTION cc.queue_play(prompt uuid, spec jsonb, vars jsonb, loop boolean, leg uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    p cc.prompts;
    a jsonb;
BEGIN
    IF prompt IS NULL AND spec ? 'prompt_id' THEN
        prompt := (spec->>'prompt_id')::uuid;
    END IF;
    IF prompt IS NOT NULL THEN
        SELECT * INTO p FROM cc.prompts WHERE id = prompt;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        a := CASE WHEN p.kind = 'tts'
                  THEN jsonb_strip_nulls(jsonb_build_object('type', 'play', 'tts', cc.queue_fill(p.tts_text, vars),
                                                            'voice', p.voice))
                  ELSE jsonb_build_object('type', 'play', 'file', p.file_path) END;
    ELSIF spec ? 'tts' THEN
        a := jsonb_strip_nulls(jsonb_build_object('type', 'play', 'tts', cc.queue_fill(spec->>'tts', vars),
                                                  'voice', spec->>'voice'));
    ELSIF spec ? 'file' THEN
        a := jsonb_build_object('type', 'play', 'file', spec->>'file');
    ELSE
        RETURN NULL;
    END IF;
    IF loop THEN
        a := a || '{"loop": true}';
    END IF;
    RETURN a || jsonb_build_object('leg', leg);
END;
$$;
COMMENT ON FUNCTION cc.queue_play(uuid, jsonb, jsonb, boolean, uuid) IS
    'The play action (for leg) of a cc.prompts row, or of a prompt object {"prompt_id"} / {"tts", "voice"} / {"file"}; TTS gets ${...} filled from vars; loop repeats it until stopped. NULL: nothing to play.';

CREATE FUNCTION cc.queue_hold(q cc.queues, leg uuid) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(cc.queue_play(q.hold_music_prompt_id, NULL, NULL, true, leg),
                    jsonb_build_object('type', 'play', 'tone', 'ringback', 'loop', true, 'leg', leg,
                                       'tag', 'queue.hold'));
$$;
COMMENT ON FUNCTION cc.queue_hold(cc.queues, uuid) IS 'What a waiting caller hears: the queue''s hold music looped, or a looped ringback tone.';

-- cc.queue_customer_leg: the live customer leg of a call.
CREATE FUNCTION cc.queue_customer_leg(call uuid) RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT l.id FROM cc.legs AS l
     WHERE l.call_id = call AND l.kind = 'customer' AND l.state <> 'ended'
     ORDER BY l.created_at LIMIT 1;
$$;
COMMENT ON FUNCTION cc.queue_customer_leg(uuid) IS 'The live customer leg of a call (NULL: none).';

-- position and estimated wait ---------------------------------------------------

CREATE FUNCTION cc.queue_position(entry uuid) RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT 1 + (SELECT count(*) FROM cc.queue_entries AS o
                 WHERE o.queue_id = e.queue_id AND o.state IN ('waiting', 'offered') AND o.id <> e.id
                   AND (o.priority, o.entered_at) < (e.priority, e.entered_at))::integer
             + (SELECT count(*) FROM cc.callbacks AS cb JOIN cc.queue_entries AS oe ON oe.id = cb.queue_entry_id
                 WHERE cb.queue_id = e.queue_id AND cb.state = 'pending'
                   AND (oe.priority, oe.entered_at) < (e.priority, e.entered_at))::integer
      FROM cc.queue_entries AS e WHERE e.id = entry;
$$;
COMMENT ON FUNCTION cc.queue_position(uuid) IS
    'Position of a live entry in its queue (${WaitNo}): 1 + callers and pending callbacks ahead of it (higher priority, or same priority and waiting longer).';

CREATE FUNCTION cc.queue_handle_s(queue uuid) RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(
        (SELECT round(avg(extract(epoch FROM l.ended_at - l.answered_at)))::integer
           FROM cc.offers AS o
           JOIN cc.queue_entries AS e ON e.id = o.queue_entry_id
           JOIN cc.legs AS l ON l.id = o.leg_id
          WHERE e.queue_id = queue AND o.outcome = 'accepted' AND o.decided_at > now() - interval '1 day'
            AND l.answered_at IS NOT NULL AND l.ended_at IS NOT NULL)
        + (SELECT q.wrap_up_s FROM cc.queues AS q WHERE q.id = queue),
        cc.setting_int('queue.default_handle_s', 180));
$$;
COMMENT ON FUNCTION cc.queue_handle_s(uuid) IS
    'Average handle time of a queue in seconds: talk time of its calls answered in the last day plus its wrap-up; the queue.default_handle_s setting while there are none.';

CREATE FUNCTION cc.queue_logged_in(queue uuid) RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT (SELECT count(*) FROM cc.queue_members AS m JOIN cc.agents AS a ON a.id = m.agent_id
             WHERE m.queue_id = queue AND m.enabled AND a.enabled AND a.state <> 'offline')::integer
         + (SELECT count(*) FROM cc.queue_members AS m JOIN cc.phones AS p ON p.id = m.phone_id
             WHERE m.queue_id = queue AND m.enabled AND p.enabled
               AND EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.phone_id = p.id AND r.expires_at > now()))::integer;
$$;
COMMENT ON FUNCTION cc.queue_logged_in(uuid) IS 'Members of a queue that are logged in: agents not offline, desk phones registered.';

CREATE FUNCTION cc.queue_estimated_wait_s(queue uuid, pos integer) RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT ceil(greatest(pos, 1) * cc.queue_handle_s(queue)::numeric
                / greatest(cc.queue_logged_in(queue), 1))::integer;
$$;
COMMENT ON FUNCTION cc.queue_estimated_wait_s(uuid, integer) IS
    'Estimated wait in seconds of the caller at a position: position * average handle time / members logged in (at least 1).';

-- cc.queue_vars: the variables a queue prompt may use.
CREATE FUNCTION cc.queue_vars(entry uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e   cc.queue_entries;
    pos integer;
    ewt integer;
BEGIN
    SELECT * INTO e FROM cc.queue_entries WHERE id = entry;
    pos := cc.queue_position(entry);
    ewt := cc.queue_estimated_wait_s(e.queue_id, pos);
    RETURN jsonb_build_object('WaitNo', pos, 'CallersAhead', pos - 1, 'EstimatedWaitSeconds', ewt,
                              'EstimatedWaitMinutes', greatest(1, ceil(ewt / 60.0)::integer),
                              'QueueName', (SELECT q.name FROM cc.queues AS q WHERE q.id = e.queue_id));
END;
$$;
COMMENT ON FUNCTION cc.queue_vars(uuid) IS
    'Variables of queue prompts for an entry: WaitNo (position, 1 = next), CallersAhead, EstimatedWaitSeconds, EstimatedWaitMinutes, QueueName.';

-- agents and offers ------------------------------------------------------------

-- cc.queue_release_agent: an offer to this agent was given up (caller left,
-- another member answered, exit key): out of ringing now, not when cc sip
-- reports the cancel, so nobody stays "reserved".
CREATE FUNCTION cc.queue_release_agent(agent uuid, call uuid) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF agent IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM cc.agents WHERE id = agent FOR NO KEY UPDATE;
    PERFORM cc.agent_settle(agent, call);
END;
$$;
COMMENT ON FUNCTION cc.queue_release_agent(uuid, uuid) IS
    'Lets an agent go after its offer was given up: back to its state before the call (and offered the next caller) unless another leg keeps it ringing or talking.';

-- cc.queue_offer_decide records an open offer's outcome.
CREATE FUNCTION cc.queue_offer_decide(offer uuid, outcome text, reason text) RETURNS cc.offers
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    o cc.offers;
BEGIN
    UPDATE cc.offers AS x SET outcome = queue_offer_decide.outcome, reason = queue_offer_decide.reason,
                              decided_at = greatest(clock_timestamp(), x.offered_at)
     WHERE x.id = offer AND x.outcome = 'offered'
    RETURNING x.* INTO o;
    -- the offers_events trigger (122_change_events.sql) appends offer.decided
    RETURN o;
END;
$$;
COMMENT ON FUNCTION cc.queue_offer_decide(uuid, text, text) IS
    'Records the outcome of an open offer (accepted, rejected, timeout, canceled) with its reason (the offers_events trigger appends offer.decided); returns the offer (all NULL if it was no longer open).';

-- cc.queue_requeue: the entry has no open offer left: it waits again.
CREATE FUNCTION cc.queue_requeue(entry uuid) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e cc.queue_entries;
BEGIN
    IF EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.queue_entry_id = entry AND o.outcome = 'offered') THEN
        RETURN;
    END IF;
    UPDATE cc.queue_entries AS x SET state = 'waiting' WHERE x.id = entry AND x.state = 'offered'
    RETURNING x.* INTO e;
    IF FOUND THEN
        UPDATE cc.calls AS c SET state = 'queued' WHERE c.id = e.call_id AND c.state = 'offering';
        PERFORM cc.timers_cancel('queue.ring_step', e.call_id);
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.queue_requeue(uuid) IS 'An offered entry with no open offer left waits again (call back to queued).';

-- cc.queue_offer_failed: an open offer was not answered (busy, declined,
-- rang out, unreachable).  FreeSWITCH's rules: busy and declined keep the
-- agent out for their delays; not answered (and other failures) for the
-- no-answer delay, and count: at max_no_answer in a row the agent goes on
-- break.  The caller is offered to the next member.
CREATE FUNCTION cc.queue_offer_failed(offer cc.offers, cause text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    outcome   text;
    delay_key text;
    counts    boolean;
    delay_s   integer;
    a         cc.agents;
    o         cc.offers;
    brk       uuid;
    t         timestamptz := clock_timestamp();
    qid       uuid;
BEGIN
    cause := coalesce(cause, 'no_answer');
    SELECT x.outcome, x.delay_key, x.counts INTO outcome, delay_key, counts
      FROM (VALUES ('busy', 'rejected', 'queue.busy_delay_s', false),
                   ('rejected', 'rejected', 'queue.reject_delay_s', false),
                   ('not_found', 'rejected', 'queue.unreachable_delay_s', false),
                   ('unavailable', 'rejected', 'queue.unreachable_delay_s', false),
                   ('no_answer', 'timeout', 'queue.no_answer_delay_s', true),
                   ('canceled', 'timeout', 'queue.no_answer_delay_s', true)) AS x (cause, outcome, delay_key, counts)
     WHERE x.cause = queue_offer_failed.cause;
    IF outcome IS NULL THEN
        outcome := 'rejected';
        delay_key := 'queue.no_answer_delay_s';
        counts := true;
    END IF;
    o := cc.queue_offer_decide(offer.id, outcome, CASE WHEN cause = 'canceled' THEN 'no_answer' ELSE cause END);
    IF o.id IS NULL THEN
        RETURN;
    END IF;
    SELECT e.queue_id INTO qid FROM cc.queue_entries AS e WHERE e.id = o.queue_entry_id;
    PERFORM cc.queue_requeue(o.queue_entry_id);

    IF o.agent_id IS NOT NULL THEN
        SELECT * INTO a FROM cc.agents WHERE id = o.agent_id FOR NO KEY UPDATE;
        delay_s := cc.setting_int(delay_key, 0);
        IF delay_s > 0 THEN
            UPDATE cc.agent_stats AS s SET ready_at = t + make_interval(secs => delay_s),
                                           ready_reason = CASE WHEN delay_key = 'queue.unreachable_delay_s'
                                                               THEN 'unreachable' ELSE o.reason END
             WHERE s.agent_id = a.id;
            PERFORM cc.timer_set('queue.agent_ready', t + make_interval(secs => delay_s), NULL, NULL, a.id, '{}');
        END IF;
        IF counts THEN
            UPDATE cc.agents AS x SET no_answer_count = x.no_answer_count + 1 WHERE x.id = a.id
            RETURNING * INTO a;
        END IF;
        IF counts AND a.max_no_answer > 0 AND a.no_answer_count >= a.max_no_answer AND a.state = 'ringing'
           AND NOT EXISTS (SELECT 1 FROM cc.offers AS x WHERE x.agent_id = a.id AND x.outcome = 'offered') THEN
            SELECT b.id INTO brk FROM cc.break_reasons AS b WHERE b.name = 'no answer';
            PERFORM cc.agent_state_enter(a.id, 'break', 'max no answer', o.call_id, brk);
            PERFORM cc.queue_no_agent_later(cc.agent_queues(a.id));
        ELSE
            PERFORM cc.agent_settle(a.id, o.call_id);
        END IF;
    END IF;
    PERFORM cc.queue_kick(ARRAY[qid]);
END;
$$;
COMMENT ON FUNCTION cc.queue_offer_failed(cc.offers, text) IS
    'An open offer failed with a cause: busy and rejected give the busy / reject delay; not_found and unavailable the unreachable delay; no_answer, canceled and other causes the no-answer delay and one more no-answer (at max_no_answer the agent goes on break "no answer"). The caller waits again and the next member is offered.';

-- cc.queue_offer_withdraw: the agent gave up an offer by changing its own
-- state (busy, break: declined; offline: canceled); its leg is hung up and
-- the caller offered again.  Call and agent are locked by the caller.
CREATE FUNCTION cc.queue_offer_withdraw(offer cc.offers, outcome text, reason text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    o   cc.offers;
    qid uuid;
BEGIN
    o := cc.queue_offer_decide(offer.id, outcome, reason);
    IF o.id IS NULL THEN
        RETURN;
    END IF;
    IF o.leg_id IS NOT NULL THEN
        PERFORM cc.call_actions_send(o.call_id, jsonb_build_array(
            jsonb_build_object('type', 'hangup', 'leg', o.leg_id, 'cause', reason)));
    END IF;
    SELECT e.queue_id INTO qid FROM cc.queue_entries AS e WHERE e.id = o.queue_entry_id;
    PERFORM cc.queue_requeue(o.queue_entry_id);
    PERFORM cc.queue_kick(ARRAY[qid]);
END;
$$;
COMMENT ON FUNCTION cc.queue_offer_withdraw(cc.offers, text, text) IS
    'An agent withdrew from its open offer by changing its own state: the offer is decided, its leg hung up (call_actions), the caller waits again and is offered to the next member.';

-- cc.queue_cancel_offers cancels every open offer of an entry; returns the
-- hangup actions of their legs and frees their agents.
CREATE FUNCTION cc.queue_cancel_offers(entry uuid, reason text, keep uuid DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    o       cc.offers;
    actions jsonb := '[]';
BEGIN
    FOR o IN SELECT * FROM cc.offers AS x
              WHERE x.queue_entry_id = entry AND x.outcome = 'offered' AND x.id IS DISTINCT FROM keep
              ORDER BY x.offered_at, x.id
    LOOP
        PERFORM cc.queue_offer_decide(o.id, 'canceled', reason);
        IF o.leg_id IS NOT NULL THEN
            actions := actions || jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', o.leg_id,
                                                                       'cause', reason));
        END IF;
        PERFORM cc.queue_release_agent(o.agent_id, o.call_id);
    END LOOP;
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_cancel_offers(uuid, text, uuid) IS
    'Cancels the open offers of an entry (but keep), frees their agents at once, and returns hangup actions for their legs.';

CREATE FUNCTION cc.queue_timers_cancel(call uuid) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    -- one statement: this runs for every call that ends, queued or not
    DELETE FROM cc.timers AS t
     WHERE t.call_id = call
       AND t.kind IN ('queue.max_wait', 'queue.announce', 'queue.next_rule', 'queue.ring_step', 'queue.webhook_timeout');
END;
$$;
COMMENT ON FUNCTION cc.queue_timers_cancel(uuid) IS 'Cancels the waiting timers of a call (max wait, announcements, next rule, ring step, webhook).';

-- cc.queue_entry_close: the entry reaches a final state (abandoned,
-- timeout, exited_with_key, callback, overflowed, no_agent, full,
-- transferred); open offers are canceled.  Returns their hangup actions.
CREATE FUNCTION cc.queue_entry_close(entry uuid, to_state text, reason text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e       cc.queue_entries;
    actions jsonb;
BEGIN
    UPDATE cc.queue_entries AS x SET state = to_state, left_at = greatest(clock_timestamp(), x.entered_at)
     WHERE x.id = entry AND x.state IN ('waiting', 'offered')
    RETURNING x.* INTO e;
    IF NOT FOUND THEN
        RETURN '[]';
    END IF;
    actions := cc.queue_cancel_offers(entry, coalesce(reason, to_state));
    PERFORM cc.queue_timers_cancel(e.call_id);
    PERFORM cc.event_append('queue.left',
        jsonb_strip_nulls(jsonb_build_object('entry', e.id, 'state', to_state, 'reason', reason,
                                             'waited_ms', (extract(epoch FROM e.left_at - e.entered_at) * 1000)::bigint)),
        call_id => e.call_id, queue_id => e.queue_id);
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_entry_close(uuid, text, text) IS
    'Ends a live queue entry in a final state with a queue.left event: its open offers are canceled (agents freed) and its timers; returns the hangup actions of the offers'' legs.';

-- cc.queue_leave_actions: the call leaves the queues without an agent: the
-- flow continues after its transfer node (cc.flow_resume) or, when it has
-- nothing more, the caller is hung up.
CREATE FUNCTION cc.queue_leave_actions(call uuid, reason text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cust    uuid := cc.queue_customer_leg(call);
    actions jsonb := '[]';
BEGIN
    UPDATE cc.calls AS c SET state = 'ivr' WHERE c.id = call AND c.state IN ('queued', 'offering');
    IF (SELECT c.flow_version_id FROM cc.calls AS c WHERE c.id = call) IS NOT NULL THEN
        actions := coalesce(cc.flow_resume(call, reason), '[]');
    END IF;
    IF jsonb_array_length(actions) = 0 AND cust IS NOT NULL THEN
        actions := jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust),
                                     jsonb_build_object('type', 'hangup', 'leg', cust, 'cause', reason));
    END IF;
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_leave_actions(uuid, text) IS
    'A call leaves the queues unserved (reason queue_timeout, queue_full, queue_no_agent, queue_exit_key, queue_no_route, ...): state ivr, the flow resumes with the reason; if it has nothing more, the caller is hung up.';

-- entering a queue -----------------------------------------------------------

-- cc.queue_memory_agents: the agent who last served this caller, then the
-- agent who last called them out, within the queue's memory_days (the
-- number's prefer_last_agent_days for the second when the number asks).
CREATE FUNCTION cc.queue_memory_agents(call uuid, q cc.queues) RETURNS uuid[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c       cc.calls;
    n       cc.numbers;
    served  uuid;
    out_by  uuid;
    out_days integer;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = call;
    IF c.caller IS NULL OR c.caller = '' THEN
        RETURN '{}';
    END IF;
    SELECT * INTO n FROM cc.numbers WHERE id = c.number_id;
    IF q.memory_days > 0 THEN
        SELECT x.agent_id INTO served FROM cc.calls AS x
         WHERE x.caller = c.caller AND x.id <> c.id AND x.direction = 'inbound' AND x.agent_id IS NOT NULL
           AND x.created_at > now() - make_interval(days => q.memory_days)
         ORDER BY x.created_at DESC LIMIT 1;
    END IF;
    out_days := CASE WHEN n.prefer_last_agent THEN greatest(n.prefer_last_agent_days, q.memory_days)
                     ELSE q.memory_days END;
    IF out_days > 0 THEN
        SELECT x.agent_id INTO out_by FROM cc.calls AS x
         WHERE x.callee = c.caller AND x.id <> c.id AND x.direction = 'outbound' AND x.agent_id IS NOT NULL
           AND x.created_at > now() - make_interval(days => out_days)
         ORDER BY x.created_at DESC LIMIT 1;
    END IF;
    RETURN CASE WHEN served IS NULL THEN '{}' ELSE ARRAY[served] END
        || CASE WHEN out_by IS NULL OR out_by = served THEN '{}' ELSE ARRAY[out_by] END;
END;
$$;
COMMENT ON FUNCTION cc.queue_memory_agents(uuid, cc.queues) IS
    'Memory routing: [the agent who last served this caller (inbound), the agent who last called them out] within memory_days (the number''s prefer_last_agent_days when its prefer_last_agent is set); tried first when available members.';

-- cc.queue_webhook_ask asks the preferred-agents webhook (if the queue or
-- the transfer names one); the entry waits for its answer up to the
-- timeout.  A webhook that cannot be asked is skipped: the strategy decides.
CREATE FUNCTION cc.queue_webhook_ask(e cc.queue_entries, q cc.queues, url text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c       cc.calls;
    request uuid;
    until   timestamptz := clock_timestamp() + make_interval(secs => q.preferred_agents_timeout_ms / 1000.0);
BEGIN
    IF url IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO c FROM cc.calls WHERE id = e.call_id;
    BEGIN
        request := cc.http_request('preferred_agents', e.call_id, 'POST', url,
            '{"Content-Type": "application/json"}',
            jsonb_build_object('RequestId', e.id, 'Timestamp', floor(extract(epoch FROM now()))::bigint,
                               'SdkAppId', cc.site_name(), 'SessionType', 'tel', 'User', c.caller,
                               'Callee', coalesce(c.number, c.callee), 'SkillGroup', q.name,
                               'SessionId', c.id)::text,
            q.preferred_agents_timeout_ms, 1, jsonb_build_object('entry', e.id));
    EXCEPTION WHEN OTHERS THEN
        PERFORM cc.event_append('queue.webhook_failed', jsonb_build_object('entry', e.id, 'error', SQLERRM),
                                call_id => e.call_id, queue_id => q.id);
        RETURN;
    END;
    UPDATE cc.queue_entries AS x SET not_before = until WHERE x.id = e.id;
    PERFORM cc.timer_set('queue.webhook_timeout', until, e.call_id, NULL, NULL,
                         jsonb_build_object('entry', e.id, 'request', request));
END;
$$;
COMMENT ON FUNCTION cc.queue_webhook_ask(cc.queue_entries, cc.queues, text) IS
    'Asks the preferred-agents webhook about an entry (cc.http_request, purpose preferred_agents, body {RequestId, Timestamp, SdkAppId, SessionType "tel", User, Callee, SkillGroup, SessionId}); the entry is not offered until the answer or preferred_agents_timeout_ms. If the request cannot be queued the strategy decides at once.';

-- cc.queue_enter puts a call in a queue (the routing is done); returns the
-- caller's actions.
CREATE FUNCTION cc.queue_enter(call uuid, queue uuid, priority integer, rule cc.routing_rules,
                               from_queue uuid, target jsonb, depth integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    q         cc.queues;
    e         cc.queue_entries;
    cust      uuid := cc.queue_customer_leg(call);
    t         timestamptz := clock_timestamp();
    refusal   text;
    overflow  uuid;
    actions   jsonb := '[]';
    prompt    jsonb;
BEGIN
    SELECT * INTO q FROM cc.queues WHERE id = queue;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: queue % does not exist', queue USING ERRCODE = 'no_data_found';
    END IF;
    overflow := coalesce(nullif(target->>'overflow_queue', '')::uuid, q.overflow_queue_id);
    IF overflow = q.id THEN
        overflow := NULL;
    END IF;
    -- a call is in one queue at a time
    actions := actions || coalesce((SELECT cc.queue_entry_close(x.id, 'transferred', 'moved to ' || q.name)
                                      FROM cc.queue_entries AS x
                                     WHERE x.call_id = call AND x.state IN ('waiting', 'offered')), '[]');

    IF NOT q.enabled THEN
        refusal := 'queue_closed';
    ELSIF q.max_length > 0 AND (SELECT count(*) FROM cc.queue_entries AS x
                                 WHERE x.queue_id = q.id AND x.state IN ('waiting', 'offered')) >= q.max_length THEN
        refusal := 'queue_full';
    ELSIF q.no_agent_action <> 'wait' AND cc.queue_logged_in(q.id) = 0 THEN
        refusal := 'queue_no_agent';
        IF q.no_agent_action = 'hang_up' THEN
            overflow := NULL;
        END IF;
    END IF;

    INSERT INTO cc.queue_entries (call_id, queue_id, routing_rule_id, from_queue_id, priority, state,
                                  entered_at, left_at, next_rule_at)
    VALUES (call, q.id, rule.id, from_queue, priority,
            CASE WHEN refusal IS NULL THEN 'waiting'
                 WHEN overflow IS NOT NULL AND depth < 5 THEN 'overflowed'
                 WHEN refusal = 'queue_full' THEN 'full' ELSE 'no_agent' END,
            t, CASE WHEN refusal IS NOT NULL THEN t END,
            CASE WHEN refusal IS NULL AND rule.timeout_s IS NOT NULL THEN t + make_interval(secs => rule.timeout_s) END)
    RETURNING * INTO e;
    UPDATE cc.calls AS c SET queue_id = q.id WHERE c.id = call;

    IF refusal IS NOT NULL THEN
        PERFORM cc.event_append('queue.refused',
            jsonb_build_object('entry', e.id, 'reason', refusal, 'state', e.state), call_id => call, queue_id => q.id);
        IF e.state = 'overflowed' THEN
            RETURN actions || cc.queue_enter(call, overflow, priority, NULL, q.id, target - 'overflow_queue', depth + 1);
        END IF;
        RETURN actions || cc.queue_leave_actions(call, refusal);
    END IF;

    UPDATE cc.calls AS c SET state = 'queued' WHERE c.id = call;
    UPDATE cc.queue_entries AS x SET preferred_agent_ids = cc.queue_memory_agents(call, q) WHERE x.id = e.id
    RETURNING * INTO e;
    PERFORM cc.queue_webhook_ask(e, q, coalesce(nullif(target->>'preferred_agents_url', ''), q.preferred_agents_url));
    IF q.max_wait_s > 0 THEN
        PERFORM cc.timer_set('queue.max_wait', t + make_interval(secs => q.max_wait_s), call, cust, NULL,
                             jsonb_build_object('entry', e.id));
    END IF;
    IF q.announce_interval_s > 0 AND cust IS NOT NULL THEN
        PERFORM cc.timer_set('queue.announce', t + make_interval(secs => q.announce_interval_s), call, cust, NULL,
                             jsonb_build_object('entry', e.id));
    END IF;
    IF e.next_rule_at IS NOT NULL THEN
        PERFORM cc.timer_set('queue.next_rule', e.next_rule_at, call, cust, NULL,
                             jsonb_build_object('entry', e.id, 'position', rule.position));
    END IF;
    PERFORM cc.event_append('call.queued',
        jsonb_strip_nulls(jsonb_build_object('entry', e.id, 'queue', q.name, 'priority', priority,
                                             'rule', rule.name, 'from_queue', from_queue,
                                             'preferred', CASE WHEN cardinality(e.preferred_agent_ids) > 0
                                                               THEN to_jsonb(e.preferred_agent_ids) END)),
        call_id => call, queue_id => q.id);

    IF cust IS NOT NULL THEN
        prompt := cc.queue_play(CASE WHEN target ? 'prompt' THEN NULL ELSE q.transfer_prompt_id END,
                                target->'prompt', cc.queue_vars(e.id), false, cust);
        IF prompt IS NOT NULL THEN
            actions := actions || jsonb_build_array(prompt || '{"tag": "queue.prompt"}');
        END IF;
        actions := actions || jsonb_build_array(cc.queue_hold(q, cust));
    END IF;
    PERFORM cc.queue_kick(ARRAY[q.id]);
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_enter(uuid, uuid, integer, cc.routing_rules, uuid, jsonb, integer) IS
    'Puts a call in a queue: refused when disabled (queue_closed), full (max_length) or nobody logged in (no_agent_action overflow / hang_up), overflowing to the overflow queue when there is one (5 hops at most); else a waiting entry with memory-routing preferences, the preferred-agents webhook, max-wait / announcement / next-rule timers, call.queued, and a dispatch. Returns the caller''s actions: the transfer prompt, then hold music.';

CREATE FUNCTION cc.queue_enqueue(call uuid, target jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c      cc.calls;
    qid    uuid;
    rule   cc.routing_rules;
    prio   integer;
    vars   jsonb;
BEGIN
    target := coalesce(target, '{}');
    IF jsonb_typeof(target) <> 'object' THEN
        RAISE EXCEPTION 'cc: the queue target must be a JSON object, not %', target
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give {"queue": uuid} and/or {"number", "caller", "variables", "priority", "prompt", "overflow_queue", "preferred_agents_url"}.';
    END IF;
    IF target ? 'queue' AND (target->>'queue') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'cc: queue "%" is not a queue id', target->>'queue'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'target.queue is the uuid of a cc.queues row.';
    END IF;
    IF target ? 'overflow_queue' AND (target->>'overflow_queue') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RAISE EXCEPTION 'cc: overflow queue "%" is not a queue id', target->>'overflow_queue'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'target.overflow_queue is the uuid of a cc.queues row.';
    END IF;
    IF target ? 'priority' AND coalesce(target->>'priority', '') !~ '^[1-5]$' THEN
        RAISE EXCEPTION 'cc: caller priority % is out of range', target->'priority'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A caller priority is 1 (served first) to 5.';
    END IF;
    IF target ? 'variables' AND jsonb_typeof(target->'variables') <> 'object' THEN
        RAISE EXCEPTION 'cc: target.variables must be a JSON object, not %', target->'variables'
            USING ERRCODE = 'invalid_parameter_value', HINT = 'e.g. {"variables": {"lang": "en"}}.';
    END IF;
    SELECT * INTO c FROM cc.calls AS x WHERE x.id = call FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: call % does not exist', call USING ERRCODE = 'no_data_found';
    END IF;
    IF c.state = 'ended' THEN
        RETURN '[]';
    END IF;
    qid := (target->>'queue')::uuid;
    IF qid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cc.queues AS q WHERE q.id = qid) THEN
        RAISE EXCEPTION 'cc: queue % does not exist', qid USING ERRCODE = 'no_data_found';
    END IF;
    vars := c.variables || coalesce(target->'variables', '{}');
    rule := cc.routing_rule_for(coalesce(target->>'number', c.number, c.callee), coalesce(target->>'caller', c.caller),
                                vars, qid, NULL, clock_timestamp());
    IF qid IS NULL THEN
        IF rule.id IS NULL THEN
            PERFORM cc.event_append('queue.no_route',
                jsonb_strip_nulls(jsonb_build_object('number', coalesce(target->>'number', c.number, c.callee),
                                                     'caller', c.caller)), call_id => call);
            RETURN cc.queue_leave_actions(call, 'queue_no_route');
        END IF;
        qid := rule.queue_id;
    END IF;
    prio := coalesce((target->>'priority')::integer, rule.priority, 3);
    RETURN cc.queue_enter(call, qid, prio, rule, NULL, target);
END;
$$;
COMMENT ON FUNCTION cc.queue_enqueue(uuid, jsonb) IS
    'Body of cc.enqueue: validates the target, routes the call (the first matching routing rule, among those of target.queue when given; no rule and no queue: queue_no_route) and enters the queue with the rule''s priority (target.priority overrides).';

-- an offer answered ---------------------------------------------------------------

-- cc.queue_accept: the member answered: other offers of the caller are
-- canceled, the entry is answered, the call connected, and the customer
-- bridged to the member (a callback call first dials the customer).
CREATE FUNCTION cc.queue_accept(o cc.offers) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e       cc.queue_entries;
    c       cc.calls;
    cb      cc.callbacks;
    cust    uuid;
    actions jsonb;
    t       timestamptz := clock_timestamp();
BEGIN
    o := cc.queue_offer_decide(o.id, 'accepted', NULL);
    IF o.id IS NULL THEN
        RETURN '[]';
    END IF;
    actions := cc.queue_cancel_offers(o.queue_entry_id, 'answered_elsewhere');
    UPDATE cc.queue_entries AS x SET state = 'answered', answered_at = greatest(t, x.entered_at),
                                     left_at = greatest(t, x.entered_at), agent_id = o.agent_id
     WHERE x.id = o.queue_entry_id
    RETURNING x.* INTO e;
    PERFORM cc.queue_timers_cancel(o.call_id);
    PERFORM cc.timers_cancel('queue.ring_step', o.call_id);
    IF o.agent_id IS NOT NULL THEN
        UPDATE cc.agent_stats AS s
           SET calls_today = CASE WHEN s.stats_day = current_date THEN s.calls_today ELSE 0 END + 1,
               talk_ms_today = CASE WHEN s.stats_day = current_date THEN s.talk_ms_today ELSE 0 END,
               stats_day = current_date,
               calls_since_login = s.calls_since_login + 1,
               last_answered_at = t
         WHERE s.agent_id = o.agent_id;
    END IF;
    PERFORM cc.event_append('queue.answered',
        jsonb_strip_nulls(jsonb_build_object('entry', e.id, 'offer', o.id, 'phone', o.phone_id,
                                             'waited_ms', (extract(epoch FROM t - e.entered_at) * 1000)::bigint)),
        call_id => o.call_id, leg_id => o.leg_id, agent_id => o.agent_id, queue_id => e.queue_id);

    SELECT * INTO c FROM cc.calls WHERE id = o.call_id;
    cust := cc.queue_customer_leg(o.call_id);
    SELECT * INTO cb FROM cc.callbacks AS x WHERE x.callback_call_id = o.call_id AND x.state = 'dialing';
    IF cb.id IS NOT NULL AND cust IS NULL THEN
        -- a callback: the agent is there, now call the customer
        RETURN actions || cc.queue_callback_dial(cb, o);
    END IF;
    UPDATE cc.calls AS x SET state = 'connected', connected_at = coalesce(x.connected_at, greatest(t, x.created_at)),
                             agent_id = coalesce(o.agent_id, x.agent_id)
     WHERE x.id = o.call_id;
    PERFORM cc.event_append('call.connected', jsonb_strip_nulls(jsonb_build_object('leg', o.leg_id, 'phone', o.phone_id)),
                            call_id => o.call_id, leg_id => o.leg_id, agent_id => o.agent_id);
    IF cust IS NULL THEN
        RETURN actions;
    END IF;
    RETURN actions || jsonb_build_array(
        jsonb_build_object('type', 'stop_media', 'leg', cust),
        jsonb_build_object('type', 'bridge', 'leg', cust, 'with', o.leg_id));
END;
$$;
COMMENT ON FUNCTION cc.queue_accept(cc.offers) IS
    'An open offer was answered: the other offers of the caller are canceled (their legs hung up, agents freed, not penalised), the entry answered, counters updated, the call connected, and the customer''s media stopped and bridged with the member''s leg. A callback call dials the customer first.';

-- callbacks ------------------------------------------------------------------

-- cc.queue_callback_request: the caller pressed the callback key: a
-- callback keeps the entry's place, the caller hears a confirmation and is
-- hung up.
CREATE FUNCTION cc.queue_callback_request(e cc.queue_entries, cust uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c       cc.calls;
    cb      uuid;
    hours   integer := greatest(1, cc.setting_int('callback.expiry_hours', 24));
    txt     text := 'Thank you. We will call you back on this number when it is your turn. Goodbye.';
    actions jsonb;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = e.call_id;
    IF c.caller IS NULL OR c.caller !~ '^\+?[0-9]{1,32}$' THEN
        RETURN jsonb_build_array(jsonb_build_object('type', 'play', 'leg', cust, 'tag', 'queue.callback_refused',
            'tts', 'Sorry, we cannot call you back: your number is not known.'));
    END IF;
    INSERT INTO cc.callbacks (call_id, queue_entry_id, queue_id, number, requested_at, expires_at)
    VALUES (c.id, e.id, e.queue_id, c.caller, now(), now() + make_interval(hours => hours))
    RETURNING id INTO cb;
    actions := cc.queue_entry_close(e.id, 'callback', 'callback requested');
    PERFORM cc.timer_set('queue.callback_expire', now() + make_interval(hours => hours), NULL, NULL, NULL,
                         jsonb_build_object('callback', cb));
    PERFORM cc.event_append('callback.requested', jsonb_build_object('callback', cb, 'number', c.caller),
                            call_id => c.id, queue_id => e.queue_id);
    UPDATE cc.calls AS x SET state = 'ivr' WHERE x.id = c.id;
    -- the confirmation, then the hangup once it has been heard
    RETURN actions || jsonb_build_array(
        jsonb_build_object('type', 'stop_media', 'leg', cust),
        jsonb_build_object('type', 'play', 'leg', cust, 'tts', txt, 'tag', 'queue.callback_confirm'),
        jsonb_build_object('type', 'wait', 'leg', cust, 'ms', 1500 + 70 * char_length(txt)),
        jsonb_build_object('type', 'hangup', 'leg', cust, 'cause', 'callback_requested'));
END;
$$;
COMMENT ON FUNCTION cc.queue_callback_request(cc.queue_entries, uuid) IS
    'The callback key: a pending cc.callbacks row keeps the entry''s place (its priority and entered_at) for callback.expiry_hours; the entry ends as callback; the caller hears a confirmation and is hung up.';

-- cc.queue_callback_start: dispatch paired a callback with a member: the
-- callback becomes a call (outbound, to the customer's number) with an
-- entry in the queue, offered to the member like any other.
CREATE FUNCTION cc.queue_callback_start(callback uuid, t timestamptz, OUT entry_id uuid, OUT call_id uuid)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    cb   cc.callbacks;
    orig cc.calls;
    oe   cc.queue_entries;
BEGIN
    SELECT * INTO cb FROM cc.callbacks WHERE id = callback;
    SELECT * INTO orig FROM cc.calls WHERE id = cb.call_id;
    SELECT * INTO oe FROM cc.queue_entries WHERE id = cb.queue_entry_id;
    INSERT INTO cc.calls (direction, state, number_id, trunk_id, number, caller, callee, parent_call_id,
                          queue_id, variables, created_at)
    VALUES ('outbound', 'queued', orig.number_id, orig.trunk_id, orig.number, coalesce(orig.number, orig.callee),
            cb.number, cb.call_id, cb.queue_id, coalesce(orig.variables, '{}'), least(now(), t))
    RETURNING id INTO call_id;
    INSERT INTO cc.queue_entries (call_id, queue_id, priority, state, entered_at)
    VALUES (call_id, cb.queue_id, coalesce(oe.priority, 3), 'waiting', t)
    RETURNING id INTO entry_id;
    UPDATE cc.callbacks AS x SET state = 'dialing', attempts = x.attempts + 1, last_attempt_at = t,
                                 callback_call_id = queue_callback_start.call_id
     WHERE x.id = callback;
    PERFORM cc.event_append('callback.started', jsonb_build_object('callback', cb.id, 'attempt', cb.attempts + 1),
                            call_id => queue_callback_start.call_id, queue_id => cb.queue_id);
END;
$$;
COMMENT ON FUNCTION cc.queue_callback_start(uuid, timestamptz) IS
    'A pending callback reached the front with a member free: a new outbound call to its number with an entry in the queue (offered at once by dispatch); the callback is dialing.';

CREATE FUNCTION cc.queue_callback_dial(cb cc.callbacks, o cc.offers) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    c    cc.calls;
    leg  uuid;
    trk  uuid;
BEGIN
    SELECT * INTO c FROM cc.calls WHERE id = o.call_id;
    trk := coalesce(c.trunk_id, (SELECT n.trunk_id FROM cc.numbers AS n WHERE n.id = c.number_id),
                    (SELECT r.trunk_id FROM cc.queue_mobile_route() AS r));
    INSERT INTO cc.legs (call_id, kind, direction, trunk_id, to_uri, from_uri)
    VALUES (c.id, 'customer', 'outbound', trk, 'tel:' || cb.number,
            'sip:' || coalesce(c.caller, 'anonymous') || '@' || cc.sip_local_host())
    RETURNING id INTO leg;
    UPDATE cc.calls AS x SET agent_id = o.agent_id WHERE x.id = c.id;
    PERFORM cc.event_append('callback.dialing', jsonb_build_object('callback', cb.id, 'number', cb.number),
                            call_id => c.id, leg_id => leg, agent_id => o.agent_id);
    RETURN jsonb_build_array(
        jsonb_build_object('type', 'play', 'leg', o.leg_id, 'tone', 'ringback', 'loop', true),
        jsonb_strip_nulls(jsonb_build_object(
            'type', 'dial', 'leg', leg,
            'targets', jsonb_build_array(CASE WHEN trk IS NULL THEN jsonb_build_object('uri', 'tel:' || cb.number)
                                              ELSE jsonb_build_object('number', cb.number) END),
            'trunk', trk,
            'from', jsonb_build_object('uri', 'sip:' || coalesce(c.caller, 'anonymous') || '@' || cc.sip_local_host(),
                                       'display', c.caller),
            'ring_timeout_ms', 30000, 'tag', 'queue.callback:' || cb.id)));
END;
$$;
COMMENT ON FUNCTION cc.queue_callback_dial(cc.callbacks, cc.offers) IS
    'The agent answered a callback''s offer: a customer leg dials the callback number through the call''s trunk, the agent hears ringback meanwhile.';

-- pickup ---------------------------------------------------------------------

CREATE FUNCTION cc.queue_pickup_take(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    code    text := coalesce(cc.sip_uri_user(req->>'request_uri'), req #>> '{to,user}');
    picker  uuid;
    q       cc.queues;
    a       cc.agents;
    o       cc.offers;
    e       cc.queue_entries;
    cust    uuid;
    leg     uuid;
    hangups jsonb;
    t       timestamptz := clock_timestamp();
BEGIN
    IF coalesce(req->>'agent_id', '') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' THEN
        RETURN cc.sip_refuse(403, 'Forbidden (pickup needs an authenticated agent)');
    END IF;
    picker := (req->>'agent_id')::uuid;
    SELECT * INTO q FROM cc.queues AS x WHERE x.pickup_code = code;
    IF NOT FOUND THEN
        RETURN cc.sip_refuse(404, 'Not Found');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM cc.queue_members AS m WHERE m.queue_id = q.id AND m.agent_id = picker AND m.enabled) THEN
        RETURN cc.sip_refuse(403, 'Forbidden (not a member of the queue)');
    END IF;
    -- the call that has rung longest on another member; its row is locked
    -- (SKIP LOCKED: a call busy with an event is left to the next)
    SELECT x.* INTO o
      FROM cc.offers AS x
      JOIN cc.queue_entries AS qe ON qe.id = x.queue_entry_id
      JOIN cc.calls AS c ON c.id = x.call_id
     WHERE qe.queue_id = q.id AND x.outcome = 'offered' AND x.agent_id IS DISTINCT FROM picker
       AND c.state = 'offering'
     ORDER BY x.offered_at, x.id
     LIMIT 1
       FOR UPDATE OF c SKIP LOCKED;
    IF o.id IS NULL THEN
        RETURN cc.sip_refuse(480, 'Nothing to Pick Up');
    END IF;
    SELECT * INTO a FROM cc.agents AS x WHERE x.id = picker FOR NO KEY UPDATE;
    IF NOT a.enabled OR a.state NOT IN ('idle', 'busy', 'break', 'wrap_up') THEN
        RETURN cc.sip_refuse(486, 'Busy Here (agent is ' || a.state || ')');
    END IF;
    -- still ringing now that we hold the call?
    SELECT * INTO o FROM cc.offers AS x WHERE x.id = o.id AND x.outcome = 'offered';
    IF o.id IS NULL THEN
        RETURN cc.sip_refuse(480, 'Nothing to Pick Up');
    END IF;
    cust := cc.queue_customer_leg(o.call_id);
    IF cust IS NULL THEN
        RETURN cc.sip_refuse(480, 'Nothing to Pick Up');
    END IF;

    INSERT INTO cc.legs (call_id, kind, direction, agent_id, sip_call_id, from_uri, to_uri, contact,
                         remote_ip, remote_port, transport)
    VALUES (o.call_id, 'agent', 'inbound', picker, req->>'call_id', req #>> '{from,uri}', req #>> '{to,uri}',
            req #>> '{contacts,0,uri}', nullif(req #>> '{source,ip}', '')::inet, (req #>> '{source,port}')::integer,
            coalesce(req #>> '{source,transport}', 'udp'))
    RETURNING id INTO leg;
    INSERT INTO cc.offers (queue_entry_id, call_id, agent_id, leg_id, outcome, reason, offered_at, decided_at)
    VALUES (o.queue_entry_id, o.call_id, picker, leg, 'accepted', 'pickup', t, t);
    -- the picker rings on its new leg (talking once cc sip reports it
    -- answered) before the others are let go: their dispatch must not
    -- offer it another caller meanwhile
    UPDATE cc.agents AS x SET state_before_call = CASE WHEN x.state = 'wrap_up' THEN coalesce(x.state_before_call, 'idle')
                                                       ELSE x.state END
     WHERE x.id = picker;
    PERFORM cc.timers_cancel('queue.wrap_up_end', NULL, picker);
    PERFORM cc.agent_state_enter(picker, 'ringing', 'pickup', o.call_id);
    hangups := cc.queue_cancel_offers(o.queue_entry_id, 'picked_up');
    IF jsonb_array_length(hangups) > 0 THEN
        PERFORM cc.call_actions_send(o.call_id, hangups);
    END IF;
    UPDATE cc.queue_entries AS x SET state = 'answered', answered_at = greatest(t, x.entered_at),
                                     left_at = greatest(t, x.entered_at), agent_id = picker
     WHERE x.id = o.queue_entry_id
    RETURNING x.* INTO e;
    UPDATE cc.calls AS x SET state = 'connected', connected_at = coalesce(x.connected_at, greatest(t, x.created_at)),
                             agent_id = picker
     WHERE x.id = o.call_id;
    UPDATE cc.agent_stats AS s
       SET calls_today = CASE WHEN s.stats_day = current_date THEN s.calls_today ELSE 0 END + 1,
           talk_ms_today = CASE WHEN s.stats_day = current_date THEN s.talk_ms_today ELSE 0 END,
           stats_day = current_date, calls_since_login = s.calls_since_login + 1, last_answered_at = t
     WHERE s.agent_id = picker;
    PERFORM cc.queue_timers_cancel(o.call_id);
    PERFORM cc.event_append('queue.picked_up',
        jsonb_build_object('entry', e.id, 'from_agent', o.agent_id, 'from_phone', o.phone_id, 'code', code),
        call_id => o.call_id, leg_id => leg, agent_id => picker, queue_id => q.id);
    RETURN jsonb_build_object('call_id', o.call_id, 'leg_id', leg, 'actions', jsonb_build_array(
        jsonb_build_object('type', 'answer'),
        jsonb_build_object('type', 'stop_media', 'leg', cust),
        jsonb_build_object('type', 'bridge', 'with', cust)));
END;
$$;
COMMENT ON FUNCTION cc.queue_pickup_take(jsonb) IS
    'Body of cc.queue_pickup: an agent (req.agent_id, authenticated by cc sip) dialled a queue''s pickup code: 403 unless an enabled member, 404 for an unknown code, 486 if the agent is ringing, talking or offline, 480 if nothing rings on another member; else the call that rang longest is taken: its offers canceled (legs hung up), a new agent leg answered and bridged to the customer, entry answered, call connected.';
