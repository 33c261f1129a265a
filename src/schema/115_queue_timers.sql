-- 115_queue_timers.sql: the queue.* timers and the preferred-agents
-- webhook's answer.
--
-- Every handler checks that what its timer was set for still holds (the
-- entry still waits, the offer is still open, the agent is still in
-- wrap-up), so a timer that outlived its reason does nothing.  A timer
-- with a call runs with that call's row locked by cc.timers_fire.

-- cc.queue_no_agent_later: members of these queues logged out or went on
-- break: check, after commit, whether a queue whose no_agent_action is not
-- wait has nobody left.
CREATE FUNCTION cc.queue_no_agent_later(queues uuid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    qs uuid[];
BEGIN
    qs := ARRAY(SELECT q.id FROM cc.queues AS q WHERE q.id = ANY (queues) AND q.no_agent_action <> 'wait');
    IF cardinality(qs) > 0 THEN
        PERFORM cc.timer_set('queue.no_agent_check', clock_timestamp(), NULL, NULL, NULL,
                             jsonb_build_object('queues', to_jsonb(qs)));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.queue_no_agent_later(uuid[]) IS
    'Sets a queue.no_agent_check timer for those of the queues whose no_agent_action is overflow or hang_up.';

-- cc.queue_no_agent_apply: nobody is logged in to the queue any more:
-- waiting callers overflow or are hung up, as the queue says.  Calls busy
-- in another transaction are checked again shortly.
CREATE FUNCTION cc.queue_no_agent_apply(queue uuid) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    q       cc.queues;
    e       cc.queue_entries;
    actions jsonb;
    cust    uuid;
    n       integer := 0;
    skipped boolean := false;
BEGIN
    SELECT * INTO q FROM cc.queues WHERE id = queue;
    IF NOT FOUND OR q.no_agent_action = 'wait' OR cc.queue_logged_in(q.id) > 0 THEN
        RETURN 0;
    END IF;
    FOR e IN SELECT x.* FROM cc.queue_entries AS x WHERE x.queue_id = q.id AND x.state IN ('waiting', 'offered')
              ORDER BY x.priority, x.entered_at LOOP
        PERFORM 1 FROM cc.calls AS c WHERE c.id = e.call_id FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            skipped := true;
            CONTINUE;
        END IF;
        cust := cc.queue_customer_leg(e.call_id);
        IF q.no_agent_action = 'overflow' AND q.overflow_queue_id IS NOT NULL THEN
            actions := cc.queue_entry_close(e.id, 'overflowed', 'queue_no_agent');
            actions := actions || CASE WHEN cust IS NOT NULL
                                       THEN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', cust))
                                       ELSE '[]' END
                               || cc.queue_enter(e.call_id, q.overflow_queue_id, e.priority, NULL, q.id, '{}', 1);
        ELSE
            actions := cc.queue_entry_close(e.id, 'no_agent', 'queue_no_agent')
                       || cc.queue_leave_actions(e.call_id, 'queue_no_agent');
        END IF;
        IF jsonb_array_length(actions) > 0 THEN
            PERFORM cc.call_actions_send(e.call_id, actions);
        END IF;
        n := n + 1;
    END LOOP;
    IF skipped THEN
        PERFORM cc.timer_set('queue.no_agent_check', clock_timestamp() + interval '50 ms', NULL, NULL, NULL,
                             jsonb_build_object('queues', jsonb_build_array(q.id)));
    END IF;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.queue_no_agent_apply(uuid) IS
    'When nobody is logged in to a queue whose no_agent_action is overflow or hang_up: its waiting callers overflow or leave (flow or hangup); returns how many. Calls locked elsewhere are retried 50 ms later.';

-- cc.queue_announce: the caller's position and estimated wait, then the
-- hold music again.
CREATE FUNCTION cc.queue_announce(e cc.queue_entries, leg uuid) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    q    cc.queues;
    vars jsonb := cc.queue_vars(e.id);
    play jsonb;
BEGIN
    SELECT * INTO q FROM cc.queues WHERE id = e.queue_id;
    play := coalesce(cc.queue_play(q.announce_prompt_id, NULL, vars, false, leg),
                     cc.queue_play(NULL, jsonb_build_object('tts',
                         'You are number ${WaitNo} in the queue. Your estimated wait is ${EstimatedWaitMinutes} minutes.'),
                         vars, false, leg));
    UPDATE cc.queue_entries AS x SET announced_at = clock_timestamp(), announced_position = (vars->>'WaitNo')::integer
     WHERE x.id = e.id;
    PERFORM cc.event_append('queue.announced', jsonb_build_object('entry', e.id) || vars,
                            call_id => e.call_id, leg_id => leg, queue_id => q.id);
    RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', leg),
                             play || '{"tag": "queue.announce"}',
                             cc.queue_hold(q, leg));
END;
$$;
COMMENT ON FUNCTION cc.queue_announce(cc.queue_entries, uuid) IS
    'The position announcement of a waiting caller: stop the music, play the queue''s announce prompt (default TTS "You are number ${WaitNo} in the queue. Your estimated wait is ${EstimatedWaitMinutes} minutes."), then the hold music again; records announced_at / announced_position.';

CREATE FUNCTION cc.queue_timer_fired(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    kind    text := timer->>'kind';
    data    jsonb := coalesce(timer->'data', '{}');
    call    uuid := (timer->>'call_id')::uuid;
    leg     uuid := (timer->>'leg_id')::uuid;
    agent   uuid := (timer->>'agent_id')::uuid;
    t       timestamptz := clock_timestamp();
    e       cc.queue_entries;
    q       cc.queues;
    o       cc.offers;
    c       cc.calls;
    a       cc.agents;
    rule    cc.routing_rules;
    actions jsonb := '[]';
    got     record;
    later   uuid[] := '{}';
BEGIN
    IF data ? 'entry' THEN
        SELECT * INTO e FROM cc.queue_entries AS x
         WHERE x.id = (data->>'entry')::uuid AND x.state IN ('waiting', 'offered');
        SELECT * INTO q FROM cc.queues AS x WHERE x.id = e.queue_id;
    END IF;
    CASE kind
        WHEN 'queue.dispatch' THEN
            PERFORM cc.queue_dispatch_run(ARRAY(SELECT jsonb_array_elements_text(data->'queues')::uuid), 1000,
                                          coalesce((data->>'attempt')::integer, 0));

        WHEN 'queue.ring_timeout' THEN
            -- the offers of one dispatch: those still ringing time out.  A
            -- timer of several calls locks each (SKIP LOCKED: a call busy
            -- with an event is looked at again 100 ms later)
            FOR o IN SELECT x.* FROM cc.offers AS x
                      WHERE x.id IN (SELECT jsonb_array_elements_text(data->'offers')::uuid) AND x.outcome = 'offered'
                      ORDER BY x.offered_at, x.id LOOP
                IF call IS NULL THEN
                    PERFORM 1 FROM cc.calls AS c WHERE c.id = o.call_id FOR UPDATE SKIP LOCKED;
                    IF NOT FOUND THEN
                        later := later || o.id;
                        CONTINUE;
                    END IF;
                    SELECT * INTO o FROM cc.offers AS x WHERE x.id = o.id AND x.outcome = 'offered';
                    CONTINUE WHEN o.id IS NULL;
                END IF;
                PERFORM cc.queue_offer_failed(o, 'no_answer');
                actions := actions || jsonb_build_array(jsonb_build_object('type', 'hangup', 'leg', o.leg_id,
                                                                           'cause', 'ring_timeout'));
            END LOOP;
            IF cardinality(later) > 0 THEN
                PERFORM cc.timer_set('queue.ring_timeout', t + interval '100 ms', NULL, NULL, NULL,
                                     jsonb_build_object('offers', to_jsonb(later)));
            END IF;

        WHEN 'queue.max_wait' THEN
            IF e.id IS NOT NULL THEN
                IF q.overflow_queue_id IS NOT NULL THEN
                    actions := cc.queue_entry_close(e.id, 'overflowed', 'max_wait')
                               || jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', leg))
                               || cc.queue_enter(e.call_id, q.overflow_queue_id, e.priority, NULL, q.id, '{}', 1);
                ELSE
                    actions := cc.queue_entry_close(e.id, 'timeout', 'max_wait')
                               || cc.queue_leave_actions(e.call_id, 'queue_timeout');
                END IF;
            END IF;

        WHEN 'queue.announce' THEN
            IF e.id IS NOT NULL AND q.announce_interval_s > 0 THEN
                IF e.state = 'waiting' THEN
                    actions := cc.queue_announce(e, leg);
                END IF;
                PERFORM cc.timer_set('queue.announce', t + make_interval(secs => q.announce_interval_s),
                                     e.call_id, leg, NULL, data);
            END IF;

        WHEN 'queue.next_rule' THEN
            IF e.id IS NOT NULL THEN
                SELECT * INTO c FROM cc.calls AS x WHERE x.id = e.call_id;
                rule := cc.routing_rule_for(coalesce(c.number, c.callee), c.caller, c.variables, NULL,
                                            coalesce((data->>'position')::integer, -1), t);
                IF rule.id IS NULL THEN
                    UPDATE cc.queue_entries AS x SET next_rule_at = NULL WHERE x.id = e.id;
                ELSIF rule.queue_id = e.queue_id THEN
                    UPDATE cc.queue_entries AS x
                       SET priority = rule.priority, routing_rule_id = rule.id,
                           next_rule_at = CASE WHEN rule.timeout_s IS NOT NULL THEN t + make_interval(secs => rule.timeout_s) END
                     WHERE x.id = e.id;
                    IF rule.timeout_s IS NOT NULL THEN
                        PERFORM cc.timer_set('queue.next_rule', t + make_interval(secs => rule.timeout_s), e.call_id, leg,
                                             NULL, jsonb_build_object('entry', e.id, 'position', rule.position));
                    END IF;
                    PERFORM cc.event_append('queue.rule_applied',
                        jsonb_build_object('entry', e.id, 'rule', rule.name, 'priority', rule.priority),
                        call_id => e.call_id, queue_id => e.queue_id);
                    PERFORM cc.queue_kick(ARRAY[e.queue_id]);
                ELSE
                    actions := cc.queue_entry_close(e.id, 'overflowed', 'rule ' || rule.name)
                               || jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', leg))
                               || cc.queue_enter(e.call_id, rule.queue_id, rule.priority, rule, e.queue_id, '{}', 1);
                END IF;
            END IF;

        WHEN 'queue.ring_step' THEN
            IF e.id IS NOT NULL AND e.state = 'offered' AND q.strategy = 'ring_progressively' THEN
                SELECT k.agent_id, k.phone_id INTO got
                  FROM cc.queue_pick(q, t, (SELECT r.trunk_id IS NOT NULL FROM cc.queue_mobile_route() AS r), 1,
                                     e.id, e.preferred_agent_ids) AS k;
                IF got.agent_id IS NOT NULL OR got.phone_id IS NOT NULL THEN
                    PERFORM cc.queue_offers_write(q, ARRAY[e.id], ARRAY[e.call_id], ARRAY[got.agent_id],
                                                  ARRAY[got.phone_id], t);
                ELSE
                    PERFORM cc.timer_set('queue.ring_step', t + make_interval(secs => q.ring_step_s), e.call_id,
                                         NULL, NULL, data);
                END IF;
            END IF;

        WHEN 'queue.wrap_up_end' THEN
            SELECT * INTO a FROM cc.agents AS x WHERE x.id = agent FOR NO KEY UPDATE;
            IF a.state = 'wrap_up' THEN
                PERFORM cc.agent_return(agent, 'wrap-up over', (data->>'call')::uuid);
            END IF;

        WHEN 'queue.agent_ready' THEN
            SELECT * INTO a FROM cc.agents AS x WHERE x.id = agent;
            IF a.state = 'idle' THEN
                PERFORM cc.queue_kick(cc.agent_queues(agent));
            END IF;

        WHEN 'queue.webhook_timeout' THEN
            IF e.id IS NOT NULL AND e.not_before IS NOT NULL THEN
                UPDATE cc.queue_entries AS x SET not_before = NULL WHERE x.id = e.id;
                PERFORM cc.event_append('queue.webhook_timeout', jsonb_build_object('entry', e.id),
                                        call_id => e.call_id, queue_id => e.queue_id);
                PERFORM cc.queue_kick(ARRAY[e.queue_id]);
            END IF;

        WHEN 'queue.no_agent_check' THEN
            PERFORM cc.queue_no_agent_apply(x::uuid) FROM jsonb_array_elements_text(data->'queues') AS x;

        WHEN 'queue.callback_expire' THEN
            UPDATE cc.callbacks AS x SET state = 'expired'
             WHERE x.id = (data->>'callback')::uuid AND x.state = 'pending';
            IF FOUND THEN
                PERFORM cc.event_append('callback.expired', jsonb_build_object('callback', data->>'callback'));
            END IF;

        ELSE
            RAISE WARNING 'cc: unknown queue timer %', kind;
    END CASE;
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_timer_fired(jsonb) IS
    'Body of cc.queue_on_timer: runs a due queue.* timer (each checks that its reason still holds) and returns the actions for the call.';

-- the preferred-agents webhook's answer ---------------------------------------

CREATE FUNCTION cc.queue_webhook_answered(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e      cc.queue_entries;
    body   jsonb;
    seats  uuid[] := '{}';
    group_ text;
    moved  uuid;
    pref   uuid[];
    seat   uuid;
BEGIN
    SELECT * INTO e FROM cc.queue_entries AS x
     WHERE x.call_id = call AND x.state = 'waiting' AND x.not_before IS NOT NULL;
    IF e.id IS NULL THEN
        -- too late (timed out, answered, left): the strategy decided already
        RETURN '[]';
    END IF;
    IF (answer->>'status') ~ '^2[0-9][0-9]$' THEN
        BEGIN
            body := CASE WHEN jsonb_typeof(answer->'json') = 'object' THEN answer->'json'
                         WHEN jsonb_typeof(answer->'body') = 'object' THEN answer->'body'
                         ELSE (answer->>'body')::jsonb END;
            IF jsonb_typeof(body->'Response') = 'object' THEN
                body := body->'Response';
            END IF;
        EXCEPTION WHEN OTHERS THEN
            body := NULL;
        END;
    END IF;
    IF jsonb_typeof(body) = 'object' THEN
        IF jsonb_typeof(body->'SeatEmails') = 'array' THEN
            seats := ARRAY(SELECT a.id
                             FROM jsonb_array_elements_text(body->'SeatEmails') WITH ORDINALITY AS s (email, ord)
                             JOIN cc.agents AS a ON lower(a.email) = lower(btrim(s.email)) AND a.enabled
                            ORDER BY s.ord);
        END IF;
        group_ := coalesce(body->>'SkillGroup', body->>'SkillGroupId');
        IF group_ IS NOT NULL THEN
            SELECT q.id INTO moved FROM cc.queues AS q
             WHERE q.enabled AND q.id <> e.queue_id
               AND (q.name = group_ OR q.id::text = lower(group_));
        END IF;
    END IF;
    -- memory routing first, then the seats in the webhook's order
    pref := e.preferred_agent_ids;
    FOREACH seat IN ARRAY seats LOOP
        IF seat <> ALL (pref) THEN
            pref := pref || seat;
        END IF;
    END LOOP;
    UPDATE cc.queue_entries AS x
       SET not_before = NULL, preferred_agent_ids = pref,
           queue_id = coalesce(moved, x.queue_id),
           from_queue_id = CASE WHEN moved IS NOT NULL THEN x.queue_id ELSE x.from_queue_id END
     WHERE x.id = e.id
    RETURNING * INTO e;
    IF moved IS NOT NULL THEN
        UPDATE cc.calls AS c SET queue_id = moved WHERE c.id = call;
    END IF;
    PERFORM cc.timers_cancel('queue.webhook_timeout', call);
    PERFORM cc.event_append('queue.webhook_answered',
        jsonb_strip_nulls(jsonb_build_object('entry', e.id, 'status', answer->'status',
                                             'seats', to_jsonb(seats), 'moved_to', moved,
                                             'usable', jsonb_typeof(body) = 'object')),
        call_id => call, queue_id => e.queue_id);
    PERFORM cc.queue_kick(ARRAY[e.queue_id]);
    RETURN '[]';
END;
$$;
COMMENT ON FUNCTION cc.queue_webhook_answered(uuid, uuid, jsonb) IS
    'Body of cc.queue_on_http: a 2xx answer whose JSON body (answer.json, else answer.body parsed; or its Response object) has SeatEmails puts those enabled agents after the memory-routing agents as preferred; a SkillGroup naming another enabled queue (name or id) moves the waiting caller there. Anything else (error, bad JSON, late) leaves the strategy to decide. The caller is dispatched at once.';
