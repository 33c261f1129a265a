-- 110_queue_hooks.sql: the queue hooks of docs/call-model.md.
--
-- The router (cc.call_event, cc.call_end, cc.timers_fire,
-- cc.http_request_done, cc.call_arrived) calls these with the call's row
-- locked.  Each is a thin entry point; the rules live in 111_agents.sql
-- (agent states), 112_routing.sql (routing rules), 113_dispatch.sql
-- (pairing callers with members), 114_queue_calls.sql (a call's life in a
-- queue) and 115_queue_timers.sql (timers and the webhook's answer).
-- docs/queues.md describes the domain.

CREATE FUNCTION cc.enqueue(call uuid, target jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.queue_enqueue(call, target);
END;
$$;
COMMENT ON FUNCTION cc.enqueue(uuid, jsonb) IS
    'Hook: puts the call in a queue through the routing rules (target {"queue": uuid} and/or {"number", "caller", "variables"}; optional "priority" 1-5, "prompt", "overflow_queue", "preferred_agents_url"); returns the customer''s actions (transfer prompt, looped hold music); dispatch then offers the call.';

CREATE FUNCTION cc.queue_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    o     cc.offers;
    l     cc.legs;
    c     cc.calls;
    e     cc.queue_entries;
    q     cc.queues;
    cb    cc.callbacks;
    kind  text := event->>'type';
    acts  jsonb;
BEGIN
    SELECT * INTO o FROM cc.offers AS x WHERE x.leg_id = leg AND x.outcome = 'offered';
    SELECT * INTO l FROM cc.legs AS x WHERE x.id = leg;
    IF o.id IS NOT NULL THEN
        -- the member's leg of an open offer
        CASE kind
            WHEN 'answered' THEN
                IF l.state <> 'answered' THEN
                    RETURN '[]';    -- a late report for a leg already over
                END IF;
                RETURN cc.queue_accept(o);
            WHEN 'failed', 'ended' THEN
                PERFORM cc.queue_offer_failed(o, cc.leg_cause(event));
                RETURN '[]';
            ELSE
                RETURN '[]';
        END CASE;
    END IF;

    IF l.kind IS DISTINCT FROM 'customer' THEN
        RETURN '[]';
    END IF;
    SELECT * INTO c FROM cc.calls AS x WHERE x.id = call;

    -- a callback call: the customer we dialled answered
    IF kind = 'answered' THEN
        SELECT * INTO cb FROM cc.callbacks AS x WHERE x.callback_call_id = call AND x.state = 'dialing';
        IF cb.id IS NULL THEN
            RETURN '[]';
        END IF;
        SELECT * INTO o FROM cc.offers AS x
         WHERE x.call_id = call AND x.outcome = 'accepted' ORDER BY x.decided_at DESC LIMIT 1;
        UPDATE cc.callbacks AS x SET state = 'connected' WHERE x.id = cb.id;
        UPDATE cc.calls AS x SET state = 'connected', answered_at = coalesce(x.answered_at, now()),
                                 connected_at = coalesce(x.connected_at, greatest(clock_timestamp(), x.created_at))
         WHERE x.id = call;
        PERFORM cc.event_append('callback.connected', jsonb_build_object('callback', cb.id),
                                call_id => call, leg_id => leg, agent_id => o.agent_id);
        PERFORM cc.event_append('call.connected', jsonb_build_object('leg', o.leg_id),
                                call_id => call, leg_id => o.leg_id, agent_id => o.agent_id);
        IF o.leg_id IS NULL THEN
            RETURN '[]';
        END IF;
        RETURN jsonb_build_array(jsonb_build_object('type', 'stop_media', 'leg', o.leg_id),
                                 jsonb_build_object('type', 'bridge', 'leg', leg, 'with', o.leg_id));
    END IF;

    SELECT * INTO e FROM cc.queue_entries AS x WHERE x.call_id = call AND x.state IN ('waiting', 'offered');
    IF e.id IS NULL THEN
        RETURN '[]';
    END IF;
    SELECT * INTO q FROM cc.queues AS x WHERE x.id = e.queue_id;
    IF kind = 'dtmf' AND event->>'digit' = q.exit_key THEN
        acts := cc.queue_entry_close(e.id, 'exited_with_key', 'exit_key');
        RETURN acts || cc.queue_leave_actions(call, 'queue_exit_key');
    END IF;
    IF kind = 'dtmf' AND event->>'digit' = q.callback_key THEN
        RETURN cc.queue_callback_request(e, leg);
    END IF;
    -- announcements and prompts need nothing more: hold music is queued after them
    RETURN '[]';
END;
$$;
COMMENT ON FUNCTION cc.queue_on_event(uuid, uuid, jsonb) IS
    'Hook: an event of a queued call''s customer leg (exit key: leave with the flow or hang up; callback key; a callback''s customer answering: bridge), or of an offer''s agent leg (answered: accept and bridge; failed / ended: busy, reject and no-answer rules, next member); returns actions.';

CREATE FUNCTION cc.queue_call_ended(call uuid, cause text) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    e       cc.queue_entries;
    cb      cc.callbacks;
    l       cc.legs;
    actions jsonb := '[]';
BEGIN
    SELECT * INTO e FROM cc.queue_entries AS x WHERE x.call_id = call AND x.state IN ('waiting', 'offered');
    IF e.id IS NOT NULL THEN
        actions := cc.queue_entry_close(e.id, 'abandoned', 'caller_left');
    END IF;
    PERFORM cc.queue_timers_cancel(call);
    -- legs ended without their events (cc.calls_reconcile after a cc sip
    -- restart, cause worker_restart): their agents leave the call states
    -- now, not never.  Other legs report their own end; their agents are
    -- not locked here (an agent busy with another call would close a cycle)
    FOR l IN SELECT DISTINCT ON (x.agent_id) x.* FROM cc.legs AS x
              WHERE x.call_id = call AND x.agent_id IS NOT NULL AND x.state = 'ended'
                AND x.cause = 'worker_restart'
              ORDER BY x.agent_id, x.created_at DESC LOOP
        PERFORM 1 FROM cc.agents AS a WHERE a.id = l.agent_id FOR NO KEY UPDATE;
        PERFORM cc.agent_settle(l.agent_id, call, l);
    END LOOP;
    -- a callback whose customer could not be reached tries again later
    SELECT * INTO cb FROM cc.callbacks AS x WHERE x.callback_call_id = call AND x.state = 'dialing' FOR UPDATE;
    IF cb.id IS NOT NULL THEN
        UPDATE cc.callbacks AS x
           SET state = CASE WHEN x.attempts >= greatest(1, cc.setting_int('callback.max_attempts', 3)) THEN 'failed'
                            WHEN x.expires_at <= now() THEN 'expired' ELSE 'pending' END
         WHERE x.id = cb.id
        RETURNING * INTO cb;
        PERFORM cc.event_append('callback.' || CASE cb.state WHEN 'pending' THEN 'retry' ELSE cb.state END,
            jsonb_build_object('callback', cb.id, 'attempts', cb.attempts, 'cause', cause),
            call_id => call, queue_id => cb.queue_id);
        IF cb.state = 'pending' THEN
            PERFORM cc.queue_dispatch_later(ARRAY[cb.queue_id],
                make_interval(secs => cc.setting_int('callback.retry_s', 300)));
        END IF;
    END IF;
    RETURN actions;
END;
$$;
COMMENT ON FUNCTION cc.queue_call_ended(uuid, text) IS
    'Hook: the customer left: the live queue entry ends as abandoned, its open offers are canceled (agents freed at once), waiting timers canceled, agents whose legs ended without events (a restart) leave the call states; a callback call that did not reach its customer goes back to pending (or failed after callback.max_attempts). Returns hangup actions for the ringing agent legs.';

CREATE FUNCTION cc.queue_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.queue_timer_fired(timer);
END;
$$;
COMMENT ON FUNCTION cc.queue_on_timer(jsonb) IS
    'Hook: a queue.* timer of cc.timers is due (the timer row as JSON): dispatch, ring_timeout, max_wait, announce, next_rule, ring_step, wrap_up_end, agent_ready, webhook_timeout, no_agent_check, callback_expire; returns actions.';

CREATE FUNCTION cc.queue_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.queue_webhook_answered(call, request, answer);
END;
$$;
COMMENT ON FUNCTION cc.queue_on_http(uuid, uuid, jsonb) IS
    'Hook: the answer of the preferred-agents webhook for a call ({"status", "body", ...}; body {"SeatEmails": [...], "SkillGroup": name or id}): the seats become the preferred agents, SkillGroup moves the caller to that queue; any failure leaves the strategy to decide. Returns actions.';

CREATE FUNCTION cc.agent_on_leg_event(agent uuid, call uuid, leg uuid, event jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM cc.agent_on_leg(agent, call, leg, event);
END;
$$;
COMMENT ON FUNCTION cc.agent_on_leg_event(uuid, uuid, uuid, jsonb) IS
    'Hook: an event of a leg that has an agent (any call): the agent''s state follows it (ringing, talking, wrap_up, back to its state before the call).';

CREATE FUNCTION cc.queue_pickup(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.queue_pickup_take(req);
END;
$$;
COMMENT ON FUNCTION cc.queue_pickup(jsonb) IS
    'Hook: an INVITE from an agent''s phone (req.agent_id) to a pickup code (* and 1 to 4 digits): refused (403, 404, 480, 486), or {call_id, leg_id, actions} taking the call ringing longest on another member of that queue.';
