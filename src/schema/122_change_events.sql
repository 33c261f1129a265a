-- 122_change_events.sql: every change of a call, leg, queue entry, offer,
-- agent or command is an event, whoever makes it.
--
-- The domains append their own events with the details only they know
-- (call.arrived, leg.answered, flow.node_entered, command.done, ...).
-- These triggers add the uniform record of each change of the live rows,
-- so that no change goes unrecorded even when a function (or a DBA) updates
-- a row directly: <thing>.created when a row appears, <thing>.state_changed
-- (offers: offer.decided) when its state moves, with {"from", "to"}.  The
-- agents' triggers also write cc.agent_state_log, the source of the agent
-- trajectory and state durations: nobody inserts there by hand.  The full
-- catalogue of event types is docs/events.md.
--
-- Each table has two triggers, in C (src/change_events.c).  The row trigger
-- (cc.change_event_row) lists the events of a row's change without running
-- SQL; the statement trigger (cc.change_events_write) writes the events its
-- statement listed, all in one INSERT, so that a statement changing a
-- thousand rows (a dispatch of a thousand offers) writes their events in
-- one statement, not a thousand.  It is SECURITY DEFINER so that a role
-- allowed to change a row (cc_app inserting a command) needs no right on
-- cc.events.

CREATE FUNCTION cc.change_event_row() RETURNS trigger
AS 'MODULE_PATHNAME', 'cc_change_event_row'
LANGUAGE C;
COMMENT ON FUNCTION cc.change_event_row() IS
    'Row trigger (AFTER INSERT OR UPDATE ... FOR EACH ROW, argument: the table''s name): lists the change events of a row of cc.calls, cc.legs, cc.queue_entries, cc.offers, cc.agents or cc.commands, which cc.change_events_write writes at the end of the statement.';

CREATE FUNCTION cc.change_events_write() RETURNS trigger
AS 'MODULE_PATHNAME', 'cc_change_events_write'
LANGUAGE C
SECURITY DEFINER
SET search_path = pg_catalog, cc;
COMMENT ON FUNCTION cc.change_events_write() IS
    'Statement trigger (AFTER INSERT OR UPDATE ... FOR EACH STATEMENT): writes the change events the row triggers of the statement listed, in one INSERT into cc.events (agents'' changes also into cc.agent_state_log).';

-- calls: call.created; call.state_changed ({from, to}, with cause and side
-- when it ends), call.agent_changed, call.queue_changed ({from, to})
CREATE TRIGGER calls_events AFTER INSERT OR UPDATE OF state, agent_id, queue_id ON cc.calls
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('calls');
CREATE TRIGGER calls_events_write AFTER INSERT OR UPDATE OF state, agent_id, queue_id ON cc.calls
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();

-- legs: leg.created (an INVITE received, or one about to be sent: "agent
-- dials"); what happens to a leg next is appended by cc.leg_apply_event as
-- leg.<event type>
CREATE TRIGGER legs_events AFTER INSERT ON cc.legs
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('legs');
CREATE TRIGGER legs_events_write AFTER INSERT ON cc.legs
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();

-- queue entries: queue_entry.created when a call enters a queue,
-- queue_entry.state_changed ({from, to}) when its entry moves
CREATE TRIGGER queue_entries_events AFTER INSERT OR UPDATE OF state ON cc.queue_entries
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('queue_entries');
CREATE TRIGGER queue_entries_events_write AFTER INSERT OR UPDATE OF state ON cc.queue_entries
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();

-- offers: offer.created when a queued call rings an agent or phone,
-- offer.decided ({from, to, reason}) when it is accepted, rejected, timed
-- out or canceled; the queue named is the offer's entry's
CREATE TRIGGER offers_events AFTER INSERT OR UPDATE OF outcome ON cc.offers
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('offers');
CREATE TRIGGER offers_events_write AFTER INSERT OR UPDATE OF outcome ON cc.offers
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();

-- agents: when the state changes (a new break reason is a change too), a
-- cc.agent_state_log row and agent.state_changed ({from, to, reason}), with
-- the call that caused it for ringing, talking and wrap_up (the agent's
-- latest leg's)
CREATE TRIGGER agents_events AFTER UPDATE OF state, break_reason_id ON cc.agents
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('agents');
CREATE TRIGGER agents_events_write AFTER UPDATE OF state, break_reason_id ON cc.agents
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();

-- commands: command.created when queued, command.claimed when a worker
-- claims it (command.done, command.failed and command.requeued come from
-- the bus functions)
CREATE TRIGGER commands_events AFTER INSERT OR UPDATE OF state ON cc.commands
    FOR EACH ROW EXECUTE FUNCTION cc.change_event_row('commands');
CREATE TRIGGER commands_events_write AFTER INSERT OR UPDATE OF state ON cc.commands
    FOR EACH STATEMENT EXECUTE FUNCTION cc.change_events_write();
