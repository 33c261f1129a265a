-- events: every change is an event (122_change_events.sql), a call's events
-- read as its timeline (123_timeline.sql), the real-time views and the
-- agent trajectory (126), and retention (129).  Rolled back: the workers
-- never see these rows.
\set VERBOSITY terse
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
BEGIN;
-- This file crafts agents' states with plain UPDATEs to show what the
-- triggers record; applications go through cc.agent_set_state, and the
-- queues' guard refuses direct UPDATEs unless lifted, as here, for the
-- transaction.
SELECT set_config('pg_callcenter.agent_state_writer', 'on', true) AS crafting_states;

INSERT INTO cc.queues (id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', 'sales'),
                                        ('00000000-0000-0000-0000-0000000000a2', 'support');
INSERT INTO cc.agents (id, name, extension, created_at) VALUES
    ('00000000-0000-0000-0000-0000000000b1', 'Alice', '1001', '2025-01-01');

-- A new call, a change of its state, agent and queue: call.created, then
-- call.state_changed / agent_changed / queue_changed with {from, to}.
INSERT INTO cc.calls (id, direction, caller, number, state)
VALUES ('00000000-0000-0000-0000-000000000001', 'inbound', '0611111111', '4000100', 'new');
UPDATE cc.calls SET state = 'ivr' WHERE id = '00000000-0000-0000-0000-000000000001';
UPDATE cc.calls SET state = 'ivr' WHERE id = '00000000-0000-0000-0000-000000000001';  -- no change, no event
UPDATE cc.calls SET state = 'queued', queue_id = '00000000-0000-0000-0000-0000000000a1'
 WHERE id = '00000000-0000-0000-0000-000000000001';
-- A leg, a queue entry, an offer and their changes.
INSERT INTO cc.legs (id, call_id, kind, direction, agent_id, to_uri)
VALUES ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000000001', 'agent', 'outbound',
        '00000000-0000-0000-0000-0000000000b1', 'sip:1001@127.0.0.1');
INSERT INTO cc.queue_entries (id, call_id, queue_id)
VALUES ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-0000000000a1');
INSERT INTO cc.offers (id, queue_entry_id, call_id, agent_id, leg_id)
VALUES ('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000001',
        '00000000-0000-0000-0000-0000000000b1', '00000000-0000-0000-0000-0000000000d1');
UPDATE cc.queue_entries SET state = 'offered', offered_at = now() WHERE id = '00000000-0000-0000-0000-0000000000e1';
UPDATE cc.offers SET outcome = 'accepted', decided_at = now() WHERE id = '00000000-0000-0000-0000-0000000000f1';
UPDATE cc.calls SET state = 'connected', agent_id = '00000000-0000-0000-0000-0000000000b1'
 WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT type, data - 'queue_entry_id' - 'offer_id' AS data, leg_id IS NOT NULL AS has_leg,
       agent_id IS NOT NULL AS has_agent, queue_id IS NOT NULL AS has_queue
  FROM cc.events WHERE call_id = '00000000-0000-0000-0000-000000000001' ORDER BY seq;

-- An agent's state change: an agent.state_changed event and a row of the
-- agent state log (with the call, for ringing, talking and wrap-up).
UPDATE cc.agents SET state = 'idle', state_reason = 'login' WHERE id = '00000000-0000-0000-0000-0000000000b1';
UPDATE cc.agents SET state = 'talking', state_reason = NULL WHERE id = '00000000-0000-0000-0000-0000000000b1';
UPDATE cc.agents SET name = 'Alice B.' WHERE id = '00000000-0000-0000-0000-0000000000b1';  -- not a state change
SELECT from_state, to_state, reason, call_id IS NOT NULL AS has_call
  FROM cc.agent_state_log WHERE agent_id = '00000000-0000-0000-0000-0000000000b1' ORDER BY seq;
SELECT type, data FROM cc.events WHERE type = 'agent.state_changed' ORDER BY seq;

-- Commands: created and claimed are events too (done, failed and requeued
-- come from the bus functions).
SELECT cc.sip_options('sip:127.0.0.1:9') IS NOT NULL AS queued;
SELECT count(*) AS claimed FROM cc.commands_claim('test worker', 10);
SELECT type, data FROM cc.events WHERE type LIKE 'command.%' ORDER BY seq;

-- Event and agent log ids are random version 4 UUIDs drawn in batches
-- (src/random_uuids.c), distinct like gen_random_uuid()'s.
SELECT count(*) AS events, count(DISTINCT id) AS distinct_ids,
       count(*) FILTER (WHERE id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS not_v4
  FROM cc.events;
SELECT count(*) AS log_rows, count(DISTINCT id) AS distinct_ids,
       count(*) FILTER (WHERE id::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS not_v4
  FROM cc.agent_state_log;

-- The timeline: a call started 100 s ago; the SIP core reported its legs'
-- events at known times (leg events appended as cc.leg_apply_event does).
INSERT INTO cc.calls (id, direction, caller, number, state, created_at)
VALUES ('00000000-0000-0000-0000-000000000002', 'inbound', '0622222222', '4000100', 'connected', now() - interval '100 seconds');
INSERT INTO cc.legs (id, call_id, kind, direction, from_uri, to_uri, created_at) VALUES
    ('00000000-0000-0000-0000-0000000002c1', '00000000-0000-0000-0000-000000000002', 'customer', 'inbound',
     'sip:0622222222@127.0.0.1', 'sip:4000100@127.0.0.1', now() - interval '100 seconds');
INSERT INTO cc.legs (id, call_id, kind, direction, agent_id, to_uri, created_at) VALUES
    ('00000000-0000-0000-0000-0000000002c2', '00000000-0000-0000-0000-000000000002', 'agent', 'outbound',
     '00000000-0000-0000-0000-0000000000b1', 'sip:1001@127.0.0.1', now() - interval '90 seconds');
INSERT INTO cc.events (at, type, call_id, leg_id, data)
SELECT now() - interval '100 seconds' + s * interval '1 second', t, '00000000-0000-0000-0000-000000000002', l::uuid, d::jsonb
  FROM (VALUES
    (0, 'call.arrived', '00000000-0000-0000-0000-0000000002c1', '{"caller": "0622222222", "number": "4000100"}'),
    (1, 'leg.answered', '00000000-0000-0000-0000-0000000002c1', '{"codec": "pcmu"}'),
    (2, 'flow.node_entered', NULL, '{"node": "menu", "type": "menu"}'),
    (5, 'leg.dtmf', '00000000-0000-0000-0000-0000000002c1', '{"digit": "2"}'),
    (10, 'leg.ringing', '00000000-0000-0000-0000-0000000002c2', '{"code": 180}'),
    (14, 'leg.answered', '00000000-0000-0000-0000-0000000002c2', '{}'),
    (40, 'leg.hold', '00000000-0000-0000-0000-0000000002c2', '{"by": "re-INVITE"}'),
    (50, 'leg.resume', '00000000-0000-0000-0000-0000000002c2', '{"by": "re-INVITE"}'),
    (60, 'leg.refer', '00000000-0000-0000-0000-0000000002c2', '{"refer_to": "sip:1002@127.0.0.1"}'),
    (70, 'leg.ended', '00000000-0000-0000-0000-0000000002c1', '{"side": "remote", "cause": "normal"}'),
    (71, 'leg.ended', '00000000-0000-0000-0000-0000000002c2', '{"side": "local", "cause": "normal"}'),
    (71, 'call.ended', NULL, '{"cause": "normal", "side": "customer"}')) AS e (s, t, l, d);
SELECT round(offset_ms / 1000.0) AS offset_s, type, party, description
  FROM cc.call_timeline('00000000-0000-0000-0000-000000000002') WHERE offset_ms < 99000;
-- The triggers' own events come last (the rows were inserted just now).
SELECT type, party, description
  FROM cc.call_timeline('00000000-0000-0000-0000-000000000002') WHERE offset_ms >= 99000;

-- Real time.  The first call has left its queue; the timeline's call is
-- still connected.  Agents: one per state (Alice idle; six more).
INSERT INTO cc.agents (id, name, extension) VALUES
    ('00000000-0000-0000-0000-0000000000b2', 'Bob', '1002'), ('00000000-0000-0000-0000-0000000000b3', 'Carol', '1003'),
    ('00000000-0000-0000-0000-0000000000b4', 'Dan', '1004'), ('00000000-0000-0000-0000-0000000000b5', 'Eve', '1005'),
    ('00000000-0000-0000-0000-0000000000b6', 'Fay', '1006'), ('00000000-0000-0000-0000-0000000000b7', 'Gus', '1007');
UPDATE cc.agents SET state = CASE extension WHEN '1001' THEN 'idle' WHEN '1002' THEN 'talking' WHEN '1003' THEN 'busy'
                                            WHEN '1004' THEN 'break' WHEN '1005' THEN 'wrap_up' WHEN '1006' THEN 'offline'
                                            ELSE 'ringing' END;
-- logged in 6 (all but Fay); idle 1/6, busy (ringing or talking) 2/6, marked busy, break, wrap-up 1/6 each.
UPDATE cc.queue_entries SET state = 'answered', answered_at = now(), left_at = now()
 WHERE id = '00000000-0000-0000-0000-0000000000e1';
SELECT * FROM cc.report_realtime_agents;

-- Calls: one in the IVR, three waiting (30, 90 s in sales; 60 s in support,
-- ringing an agent), one outbound ringing, one connected each way (and the
-- timeline's call): queued 3, average wait (30 + 90 + 60) / 3 = 60 s,
-- ringing 2 (an offer, an outbound callee), talking 2 inbound, 1 outbound.
INSERT INTO cc.calls (id, direction, state) VALUES
    ('00000000-0000-0000-0000-000000000011', 'inbound', 'ivr'), ('00000000-0000-0000-0000-000000000012', 'inbound', 'queued'),
    ('00000000-0000-0000-0000-000000000013', 'inbound', 'queued'), ('00000000-0000-0000-0000-000000000014', 'inbound', 'offering'),
    ('00000000-0000-0000-0000-000000000015', 'inbound', 'connected'), ('00000000-0000-0000-0000-000000000016', 'outbound', 'connected'),
    ('00000000-0000-0000-0000-000000000017', 'outbound', 'ringing');
INSERT INTO cc.queue_entries (call_id, queue_id, state, entered_at) VALUES
    ('00000000-0000-0000-0000-000000000012', '00000000-0000-0000-0000-0000000000a1', 'waiting', now() - interval '30 seconds'),
    ('00000000-0000-0000-0000-000000000013', '00000000-0000-0000-0000-0000000000a1', 'waiting', now() - interval '90 seconds'),
    ('00000000-0000-0000-0000-000000000014', '00000000-0000-0000-0000-0000000000a2', 'offered', now() - interval '60 seconds');
UPDATE cc.calls SET state = 'ended', ended_at = now() WHERE id = '00000000-0000-0000-0000-000000000001';
SELECT * FROM cc.report_realtime_calls;
-- Queues: sales has Alice (idle), Bob (talking), Carol (marked busy): 3
-- logged in, 1 available; its last hour's calls talked 120 s on average:
-- estimated wait = 2 waiting x 120 s / 3 = 80 s.  Support has Dan (break)
-- and Eve (wrap-up) and no recent call: no estimate.
INSERT INTO cc.queue_members (queue_id, agent_id) VALUES
    ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b1'),
    ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b2'),
    ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b3'),
    ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000b4'),
    ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000b5');
INSERT INTO cc.cdrs (call_id, direction, access_status, queue_id, started_at, answered_at, ended_at, talk_ms, total_ms)
VALUES (gen_random_uuid(), 'inbound', 'normal_end', '00000000-0000-0000-0000-0000000000a1',
        now() - interval '10 minutes', now() - interval '10 minutes', now() - interval '8 minutes', 120000, 120000);
SELECT queue_name, waiting, longest_wait_ms, agents_available, agents_logged_in, estimated_wait_ms
  FROM cc.report_realtime_queues ORDER BY queue_name;
-- Live calls: every call not ended, with its customer leg when it has one.
SELECT count(*) AS live, count(*) FILTER (WHERE state = 'connected') AS connected,
       bool_and(call_id <> '00000000-0000-0000-0000-000000000001') AS ended_call_left_out
  FROM cc.live_calls;
SELECT caller, customer_leg_id, live_legs FROM cc.live_calls WHERE call_id = '00000000-0000-0000-0000-000000000002';

-- The agent trajectory: Fay's states between two times, clipped to them.
INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, reason, at) VALUES
    ('00000000-0000-0000-0000-0000000000b6', 'offline', 'idle', 'login', '2025-03-01 09:00:00+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'idle', 'ringing', NULL, '2025-03-01 09:10:00+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'ringing', 'talking', NULL, '2025-03-01 09:10:05+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'talking', 'wrap_up', NULL, '2025-03-01 09:12:05+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'wrap_up', 'idle', NULL, '2025-03-01 09:12:35+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'idle', 'break', 'meal', '2025-03-01 09:30:00+00'),
    ('00000000-0000-0000-0000-0000000000b6', 'break', 'offline', 'logout', '2025-03-01 10:00:00+00');
-- Fay from 09:05 to 09:40: idle 5 min, ringing 5 s, talking 2 min, wrap-up 30 s, idle 17 min 25 s, break 10 min.
SELECT state, reason, started_at, ended_at, duration_ms
  FROM cc.agent_trajectory('2025-03-01 09:05:00+00', '2025-03-01 09:40:00+00', '00000000-0000-0000-0000-0000000000b6');
-- Before her first change she was offline (the first change's from_state); after the last, offline.
SELECT state, started_at, ended_at
  FROM cc.agent_trajectory('2025-03-01 08:00:00+00', '2025-03-01 11:00:00+00', '00000000-0000-0000-0000-0000000000b6')
 WHERE state = 'offline';
SELECT * FROM cc.agent_trajectory('2025-03-01 10:00:00+00', '2025-03-01 09:00:00+00');

ROLLBACK;

-- Retention (129_retention.sql): what is past its setting goes, the rest stays.
BEGIN;
INSERT INTO cc.cdrs (call_id, direction, access_status, started_at, ended_at)
VALUES (gen_random_uuid(), 'inbound', 'ivr_abandoned', now() - interval '91 days', now() - interval '91 days'),
       (gen_random_uuid(), 'inbound', 'ivr_abandoned', now() - interval '89 days', now() - interval '89 days');
INSERT INTO cc.recordings (call_id, file_path, started_at)
VALUES (gen_random_uuid(), 'old/gone.wav', now() - interval '91 days'), (gen_random_uuid(), 'new/kept.wav', now() - interval '1 day');
INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, at) VALUES
    ('00000000-0000-0000-0000-0000000000b9', 'offline', 'idle', now() - interval '200 days'),
    ('00000000-0000-0000-0000-0000000000b9', 'idle', 'break', now() - interval '150 days'),
    ('00000000-0000-0000-0000-0000000000b9', 'break', 'idle', now() - interval '1 day');
INSERT INTO cc.calls (id, direction, state, created_at, ended_at)
VALUES ('00000000-0000-0000-0000-000000000021', 'inbound', 'ended', now() - interval '40 days', now() - interval '40 days'),
       ('00000000-0000-0000-0000-000000000022', 'inbound', 'ended', now() - interval '20 days', now() - interval '20 days');
INSERT INTO cc.cdrs (call_id, direction, access_status, started_at, ended_at)
SELECT id, 'inbound', 'ivr_abandoned', created_at, ended_at FROM cc.calls
 WHERE id IN ('00000000-0000-0000-0000-000000000021', '00000000-0000-0000-0000-000000000022');
INSERT INTO cc.webhooks (id, name, url, enabled) VALUES ('00000000-0000-0000-0000-00000000aaaa', 'old', 'http://127.0.0.1:9/x', false);
INSERT INTO cc.webhook_outbox (webhook_id, event_type, payload, state, delivered_at, created_at)
VALUES ('00000000-0000-0000-0000-00000000aaaa', 'x.y', '{}', 'delivered', now(), now() - interval '8 days'),
       ('00000000-0000-0000-0000-00000000aaaa', 'x.y', '{}', 'dead', NULL, now() - interval '8 days'),
       ('00000000-0000-0000-0000-00000000aaaa', 'x.y', '{}', 'pending', NULL, now() - interval '8 days'),
       ('00000000-0000-0000-0000-00000000aaaa', 'x.y', '{}', 'delivered', now(), now() - interval '1 day');
-- Removed: the 91-day CDR, the 91-day recording (its file is already gone:
-- 0 files), the 200-day log row (the 150-day one stays: it says the agent's
-- state at the cut), the call ended 40 days ago, the two finished
-- deliveries of 8 days (not the pending one).
SELECT cc.retention_apply() - 'event_partitions' AS removed;
SELECT count(*) AS cdrs_left FROM cc.cdrs;
SELECT file_path FROM cc.recordings;
SELECT to_state FROM cc.agent_state_log WHERE agent_id = '00000000-0000-0000-0000-0000000000b9' ORDER BY seq;
SELECT id FROM cc.calls;
SELECT state FROM cc.webhook_outbox ORDER BY state;
ROLLBACK;
-- The jobs that apply it.
SELECT jobname, schedule, command FROM cron.job WHERE jobname LIKE 'cc_%' ORDER BY jobname;
-- Recording files: only relative paths under cc.recordings_dir, only by a superuser.
SELECT cc.recording_file_remove('../postgresql.conf');
SELECT cc.recording_file_remove('/etc/passwd');
SELECT cc.recording_file_remove('2025/none.wav') AS removed;
SET ROLE cc_reporting;
SELECT cc.recording_file_remove('2025/none.wav');
RESET ROLE;
-- Events whose data is too large for a NOTIFY payload (8000 bytes) are
-- still appended (the notification leaves the data out): a long string
-- that compresses when stored, and a number a few bytes long stored but
-- 9,001 characters as text.
BEGIN;
SELECT cc.event_append('test.large', jsonb_build_object('text', repeat('abc', 5000))) > 0 AS compressible_appended;
SELECT cc.event_append('test.large', '{"n": 1e9000}') > 0 AS long_number_appended;
SELECT count(*) FROM cc.events WHERE type = 'test.large';
ROLLBACK;
-- The notification of an event (cc.event_notification, what the trigger
-- sends on cc_events): seq, type, at, the ids that are set, and data while
-- its text is at most 4000 bytes; valid JSON whatever the data holds.
SELECT cc.event_notification(jsonb_populate_record(NULL::cc.events, jsonb_build_object(
           'id', '00000000-0000-0000-0000-0000000000aa', 'seq', 41, 'at', '2026-11-24 08:00:00.123456+00',
           'type', 'leg.answered', 'site', 'local', 'call_id', '00000000-0000-0000-0000-000000000001',
           'leg_id', '00000000-0000-0000-0000-000000000002',
           'data', jsonb_build_object('code', 200, 'say', E'quote " and \\ and \u00e9\n')))) AS notification;
SELECT cc.event_notification(jsonb_populate_record(NULL::cc.events, jsonb_build_object(
           'seq', 42, 'at', '2026-11-24 08:00:01+00', 'type', 'agent.state_changed',
           'agent_id', '00000000-0000-0000-0000-0000000000b1', 'data', '{}'::jsonb))) AS notification;
SELECT n::jsonb ? 'data' AS has_data, octet_length(n) AS bytes
  FROM (SELECT cc.event_notification(jsonb_populate_record(NULL::cc.events, jsonb_build_object(
                   'seq', 43, 'at', '2026-11-24 08:00:02+00', 'type', 'test.large',
                   'data', jsonb_build_object('text', repeat('x', size))))) AS n
          FROM unnest(ARRAY[3988, 3989]) AS size) AS x;   -- {"text": "x..."} is 4000 and 4001 bytes
-- Change events are listed by the row triggers and written at the end of
-- each statement (src/change_events.c): a statement changing several rows
-- writes one event per row, in row order; a subtransaction rolled back
-- takes its events with it, a released one keeps them.
BEGIN;
SELECT set_config('pg_callcenter.agent_state_writer', 'on', true) AS crafting_states;
INSERT INTO cc.agents (id, name, extension) VALUES
    ('00000000-0000-0000-0000-0000000000c2', 'Bob', '1102'),
    ('00000000-0000-0000-0000-0000000000c3', 'Carol', '1103');
UPDATE cc.agents SET state = 'idle', state_reason = 'login'
 WHERE id IN ('00000000-0000-0000-0000-0000000000c2', '00000000-0000-0000-0000-0000000000c3');
SAVEPOINT before_break;
UPDATE cc.agents SET state = 'busy' WHERE id = '00000000-0000-0000-0000-0000000000c2';
ROLLBACK TO SAVEPOINT before_break;
SAVEPOINT before_busy;
UPDATE cc.agents SET state = 'busy' WHERE id = '00000000-0000-0000-0000-0000000000c3';
RELEASE SAVEPOINT before_busy;
DO $$
BEGIN
    UPDATE cc.agents SET state = 'offline' WHERE id = '00000000-0000-0000-0000-0000000000c3';
    RAISE EXCEPTION 'undone';
EXCEPTION WHEN raise_exception THEN
    NULL;
END;
$$;
-- Bob and Carol idle (one statement), Carol busy; no busy Bob, no offline Carol.
SELECT a.name, e.data->>'from' AS from_state, e.data->>'to' AS to_state, e.data->>'reason' AS reason
  FROM cc.events AS e JOIN cc.agents AS a ON a.id = e.agent_id
 WHERE e.type = 'agent.state_changed' AND a.name IN ('Bob', 'Carol') ORDER BY e.seq;
SELECT a.name, l.from_state, l.to_state
  FROM cc.agent_state_log AS l JOIN cc.agents AS a ON a.id = l.agent_id
 WHERE a.name IN ('Bob', 'Carol') ORDER BY l.seq;
-- An event listed by a statement still running (the call's change) is not
-- written by a statement of a subtransaction inside it that fails (another
-- row trigger of the same statement inserting a command, then undone): the
-- call keeps its event, the command's is gone with it.
CREATE FUNCTION pg_temp.call_side_effect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM cc.sip_options('sip:127.0.0.1:9');
        RAISE EXCEPTION 'undone';
    EXCEPTION WHEN raise_exception THEN
        NULL;
    END;
    RETURN NULL;
END;
$$;
CREATE TRIGGER calls_zz_side_effect AFTER UPDATE ON cc.calls
    FOR EACH ROW EXECUTE FUNCTION pg_temp.call_side_effect();
INSERT INTO cc.calls (id, direction, caller, number, state)
VALUES ('00000000-0000-0000-0000-000000000c01', 'inbound', '0622222222', '4000100', 'ivr');
UPDATE cc.calls SET state = 'queued' WHERE id = '00000000-0000-0000-0000-000000000c01';
SELECT type, data FROM cc.events WHERE call_id = '00000000-0000-0000-0000-000000000c01' ORDER BY seq;
SELECT count(*) AS commands_written FROM cc.events WHERE type = 'command.created' AND at >= now();
ROLLBACK;
-- A statement trigger disabled by hand: the commit fails rather than lose
-- the events its row trigger listed.
BEGIN;
ALTER TABLE cc.commands DISABLE TRIGGER commands_events_write;
SELECT cc.sip_options('sip:127.0.0.1:19') IS NOT NULL AS queued;
COMMIT;
SELECT count(*) AS commands_left FROM cc.commands WHERE args->>'uri' = 'sip:127.0.0.1:19';
SELECT tgenabled AS write_trigger_enabled FROM pg_trigger WHERE tgname = 'commands_events_write';
-- cc.random_uuids(n): such UUIDs for SQL (a dispatch takes its legs' and
-- offers' ids from it).
SELECT count(*) AS made, count(DISTINCT u) AS distinct_made,
       count(*) FILTER (WHERE u::text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$') AS not_v4
  FROM unnest(cc.random_uuids(10000)) AS u;
SELECT cardinality(cc.random_uuids(0)) AS none;
SELECT cc.random_uuids(-1);
SELECT cc.random_uuids(1000001);
-- Events by time (and type) are read through the primary key (at, id);
-- there is no index on type (it cost 3.8 % of a queue pairing).
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM cc.events_default WHERE type = 'call.refused' AND at > now() - interval '1 hour';
RESET enable_seqscan;
