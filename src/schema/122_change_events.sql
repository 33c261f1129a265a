-- 122_change_events.sql: every change of a call, leg, queue entry, offer,
-- agent or command is an event, whoever makes it.
--
-- The domains append their own events with the details only they know
-- (call.arrived, leg.answered, flow.node_entered, command.done, ...).
-- These triggers add the uniform record of each change of the live rows,
-- so that no change goes unrecorded even when a function (or a DBA) updates
-- a row directly: <thing>.created when a row appears, <thing>.state_changed
-- (offers: offer.decided) when its state moves, with {"from", "to"}.  The
-- agent trigger also writes cc.agent_state_log, the source of the agent
-- trajectory and state durations: nobody inserts there by hand.  The
-- trigger functions are SECURITY DEFINER so that a role allowed to change a
-- row (cc_app inserting a command) needs no right on cc.events.  The full
-- catalogue of event types is docs/events.md.

CREATE FUNCTION cc.calls_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cc.event_append('call.created',
            jsonb_strip_nulls(jsonb_build_object('direction', NEW.direction, 'state', NEW.state,
                'number', NEW.number, 'caller', NEW.caller, 'callee', NEW.callee,
                'parent_call_id', NEW.parent_call_id)),
            call_id => NEW.id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
        RETURN NULL;
    END IF;
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        PERFORM cc.event_append('call.state_changed',
            jsonb_strip_nulls(jsonb_build_object('from', OLD.state, 'to', NEW.state,
                'cause', CASE WHEN NEW.state = 'ended' THEN NEW.end_cause END,
                'side', CASE WHEN NEW.state = 'ended' THEN NEW.hangup_side END)),
            call_id => NEW.id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
    END IF;
    IF NEW.agent_id IS DISTINCT FROM OLD.agent_id THEN
        PERFORM cc.event_append('call.agent_changed',
            jsonb_strip_nulls(jsonb_build_object('from', OLD.agent_id, 'to', NEW.agent_id)),
            call_id => NEW.id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
    END IF;
    IF NEW.queue_id IS DISTINCT FROM OLD.queue_id THEN
        PERFORM cc.event_append('call.queue_changed',
            jsonb_strip_nulls(jsonb_build_object('from', OLD.queue_id, 'to', NEW.queue_id)),
            call_id => NEW.id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.calls_events() IS
    'Trigger: call.created for a new call; call.state_changed, call.agent_changed, call.queue_changed ({from, to}) when those columns change.';
CREATE TRIGGER calls_events AFTER INSERT OR UPDATE OF state, agent_id, queue_id ON cc.calls
    FOR EACH ROW EXECUTE FUNCTION cc.calls_events();

CREATE FUNCTION cc.legs_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    PERFORM cc.event_append('leg.created',
        jsonb_strip_nulls(jsonb_build_object('kind', NEW.kind, 'direction', NEW.direction,
            'from', NEW.from_uri, 'to', NEW.to_uri, 'phone_id', NEW.phone_id, 'trunk_id', NEW.trunk_id)),
        call_id => NEW.call_id, leg_id => NEW.id, agent_id => NEW.agent_id);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.legs_events() IS
    'Trigger: leg.created for a new leg (an INVITE received, or one about to be sent: "agent dials"); what happens to it next is appended by cc.leg_apply_event as leg.<event type>.';
CREATE TRIGGER legs_events AFTER INSERT ON cc.legs
    FOR EACH ROW EXECUTE FUNCTION cc.legs_events();

CREATE FUNCTION cc.queue_entries_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cc.event_append('queue_entry.created',
            jsonb_strip_nulls(jsonb_build_object('queue_entry_id', NEW.id, 'state', NEW.state,
                'priority', NEW.priority, 'from_queue_id', NEW.from_queue_id,
                'routing_rule_id', NEW.routing_rule_id)),
            call_id => NEW.call_id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        PERFORM cc.event_append('queue_entry.state_changed',
            jsonb_strip_nulls(jsonb_build_object('queue_entry_id', NEW.id, 'from', OLD.state, 'to', NEW.state)),
            call_id => NEW.call_id, agent_id => NEW.agent_id, queue_id => NEW.queue_id);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.queue_entries_events() IS
    'Trigger: queue_entry.created when a call enters a queue, queue_entry.state_changed ({from, to}) when its entry moves (offered, answered, abandoned, ...).';
CREATE TRIGGER queue_entries_events AFTER INSERT OR UPDATE OF state ON cc.queue_entries
    FOR EACH ROW EXECUTE FUNCTION cc.queue_entries_events();

CREATE FUNCTION cc.offers_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    queue uuid;
BEGIN
    SELECT q.queue_id INTO queue FROM cc.queue_entries AS q WHERE q.id = NEW.queue_entry_id;
    IF TG_OP = 'INSERT' THEN
        PERFORM cc.event_append('offer.created',
            jsonb_strip_nulls(jsonb_build_object('offer_id', NEW.id, 'queue_entry_id', NEW.queue_entry_id,
                'phone_id', NEW.phone_id)),
            call_id => NEW.call_id, leg_id => NEW.leg_id, agent_id => NEW.agent_id, queue_id => queue);
    ELSIF NEW.outcome IS DISTINCT FROM OLD.outcome THEN
        PERFORM cc.event_append('offer.decided',
            jsonb_strip_nulls(jsonb_build_object('offer_id', NEW.id, 'from', OLD.outcome, 'to', NEW.outcome,
                'reason', NEW.reason, 'phone_id', NEW.phone_id)),
            call_id => NEW.call_id, leg_id => NEW.leg_id, agent_id => NEW.agent_id, queue_id => queue);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.offers_events() IS
    'Trigger: offer.created when a queued call rings an agent or phone, offer.decided ({from, to, reason}) when the offer is accepted, rejected, timed out or canceled.';
CREATE TRIGGER offers_events AFTER INSERT OR UPDATE OF outcome ON cc.offers
    FOR EACH ROW EXECUTE FUNCTION cc.offers_events();

CREATE FUNCTION cc.agents_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    call uuid;
BEGIN
    IF NEW.state IS NOT DISTINCT FROM OLD.state
       AND NOT (NEW.state = 'break' AND NEW.break_reason_id IS DISTINCT FROM OLD.break_reason_id) THEN
        RETURN NULL;    -- a new break reason is a change too
    END IF;
    IF NEW.state IN ('ringing', 'talking', 'wrap_up') OR OLD.state IN ('ringing', 'talking', 'wrap_up') THEN
        -- the call that moved the agent: its most recent leg's
        SELECT l.call_id INTO call FROM cc.legs AS l WHERE l.agent_id = NEW.id
         ORDER BY l.created_at DESC LIMIT 1;
    END IF;
    INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, reason, break_reason_id, call_id, at)
    VALUES (NEW.id, OLD.state, NEW.state, NEW.state_reason,
            CASE WHEN NEW.state = 'break' THEN NEW.break_reason_id END, call,
            -- the time the agent row says it entered the state, when it says so
            CASE WHEN NEW.state_entered_at IS DISTINCT FROM OLD.state_entered_at
                 THEN NEW.state_entered_at ELSE now() END);
    PERFORM cc.event_append('agent.state_changed',
        jsonb_strip_nulls(jsonb_build_object('from', OLD.state, 'to', NEW.state, 'reason', NEW.state_reason,
            'break_reason_id', CASE WHEN NEW.state = 'break' THEN NEW.break_reason_id END,
            'extension', NEW.extension)),
        call_id => call, agent_id => NEW.id);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.agents_events() IS
    'Trigger: when an agent''s state changes, a cc.agent_state_log row and an agent.state_changed event ({from, to, reason}), with the call that caused it for ringing, talking and wrap_up.';
CREATE TRIGGER agents_events AFTER UPDATE OF state, break_reason_id ON cc.agents
    FOR EACH ROW EXECUTE FUNCTION cc.agents_events();

CREATE FUNCTION cc.commands_events() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM cc.event_append('command.created', jsonb_build_object('kind', NEW.kind),
                                call_id => NEW.call_id, command_id => NEW.id);
    ELSIF NEW.state = 'claimed' AND OLD.state IS DISTINCT FROM 'claimed' THEN
        PERFORM cc.event_append('command.claimed',
            jsonb_strip_nulls(jsonb_build_object('kind', NEW.kind, 'claimed_by', NEW.claimed_by,
                                                 'attempts', NEW.attempts)),
            call_id => NEW.call_id, command_id => NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.commands_events() IS
    'Trigger: command.created when a command is queued, command.claimed when a worker claims it (command.done, command.failed and command.requeued come from the bus functions).';
CREATE TRIGGER commands_events AFTER INSERT OR UPDATE OF state ON cc.commands
    FOR EACH ROW EXECUTE FUNCTION cc.commands_events();
