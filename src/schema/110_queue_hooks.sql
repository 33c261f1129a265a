-- 110_queue_hooks.sql: the queue hooks of docs/call-model.md.
--
-- PLACEHOLDER until the queues issue, which replaces this file with agent
-- states, routing rules and dispatch; the hook signatures stay.

CREATE FUNCTION cc.enqueue(call uuid, target jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'cc: queues are not built yet (call %)', call
        USING ERRCODE = 'feature_not_supported';
END;
$$;
COMMENT ON FUNCTION cc.enqueue(uuid, jsonb) IS
    'Hook: puts the call in a queue through the routing rules (target {"queue": uuid} or {"number", "variables"}); returns the customer''s actions.';

CREATE FUNCTION cc.queue_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.queue_on_event(uuid, uuid, jsonb) IS
    'Hook: an event of a queued call''s customer leg, or of an offer''s agent leg; returns actions.';

CREATE FUNCTION cc.queue_call_ended(call uuid, cause text) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.queue_call_ended(uuid, text) IS
    'Hook: the customer left; closes the queue entry, cancels open offers, returns hangup actions for ringing agent legs.';

CREATE FUNCTION cc.queue_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.queue_on_timer(jsonb) IS 'Hook: a queue.* timer of cc.timers is due (the timer row as JSON); returns actions.';

CREATE FUNCTION cc.queue_on_http(call uuid, request uuid, answer jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.queue_on_http(uuid, uuid, jsonb) IS 'Hook: the answer of the preferred-agents webhook for a call; returns actions.';

CREATE FUNCTION cc.agent_on_leg_event(agent uuid, call uuid, leg uuid, event jsonb) RETURNS void
LANGUAGE plpgsql
AS $$ BEGIN RETURN; END; $$;
COMMENT ON FUNCTION cc.agent_on_leg_event(uuid, uuid, uuid, jsonb) IS
    'Hook: an event of a leg that has an agent (any call): the agent''s state follows it (ringing, talking, wrap_up).';

CREATE FUNCTION cc.queue_pickup(req jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN cc.sip_refuse(404, 'Not Found'); END; $$;
COMMENT ON FUNCTION cc.queue_pickup(jsonb) IS
    'Hook: an INVITE from an agent''s phone to a pickup code (* and 1 to 4 digits): refused, or {call_id, leg_id, actions} taking a call ringing on another member.';
