-- cdrs: the CDR written when a call ends (cc.cdr_write, 120_cdrs.sql).
--
-- Each scenario builds the rows the other domains leave behind (call, legs,
-- queue entries, offers, choices, recordings, events) at known times, ends
-- the call, writes its CDR and shows the fields, whose values are worked
-- out by hand in the comments.  B is 2025-02-03 09:00:00 UTC; "+n" means
-- n seconds after the scenario's start.  Everything is rolled back, so the
-- running workers never see it.
\set VERBOSITY terse
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
BEGIN;

INSERT INTO cc.queues (id, name) VALUES ('00000000-0000-0000-0000-0000000000a1', 'sales');
INSERT INTO cc.agents (id, name, extension, created_at) VALUES
    ('00000000-0000-0000-0000-0000000000b1', 'Alice', '1001', '2025-01-01'),
    ('00000000-0000-0000-0000-0000000000b2', 'Bob', '1002', '2025-01-01');
INSERT INTO cc.phones (id, name, extension, agent_id)
VALUES ('00000000-0000-0000-0000-0000000000c1', 'desk of Alice', '2001', '00000000-0000-0000-0000-0000000000b1');

-- regress_call(id, start, direction) makes a call row started at start.
CREATE FUNCTION pg_temp.regress_call(id uuid, start timestamptz, direction text DEFAULT 'inbound') RETURNS uuid
LANGUAGE sql AS $$
    INSERT INTO cc.calls (id, direction, created_at, number, caller, callee, state)
    VALUES (id, direction, start, '4000100', '0611111111', '4000100', 'ivr') RETURNING id;
$$;
-- regress_leg(call, kind, direction, created, ringing, answered, ended, agent, cause, code) makes a leg.
CREATE FUNCTION pg_temp.regress_leg(call uuid, kind text, direction text, created timestamptz, ringing timestamptz,
                                    answered timestamptz, ended timestamptz, agent uuid DEFAULT NULL,
                                    cause text DEFAULT NULL, code integer DEFAULT NULL, phone uuid DEFAULT NULL,
                                    id uuid DEFAULT gen_random_uuid()) RETURNS uuid
LANGUAGE sql AS $$
    INSERT INTO cc.legs (id, call_id, kind, direction, created_at, ringing_at, answered_at, ended_at, state,
                         agent_id, cause, sip_code, phone_id, from_uri, to_uri)
    VALUES (id, call, kind, direction, created, ringing, answered, ended,
            CASE WHEN ended IS NOT NULL THEN 'ended' WHEN answered IS NOT NULL THEN 'answered' ELSE 'ringing' END,
            agent, coalesce(cause, CASE WHEN ended IS NOT NULL THEN 'normal' END),
            coalesce(code, CASE WHEN answered IS NOT NULL THEN 200 END), phone,
            'sip:0611111111@127.0.0.1', 'sip:4000100@127.0.0.1')
    RETURNING id;
$$;
-- regress_end(call, at, cause, side) ends a call as cc.call_finish does, then writes its CDR.
CREATE FUNCTION pg_temp.regress_end(call uuid, at timestamptz, cause text, side text) RETURNS uuid
LANGUAGE sql AS $$
    UPDATE cc.calls SET state = 'ended', ended_at = at, end_cause = cause, hangup_side = side WHERE id = call;
    SELECT cc.cdr_write(call);
$$;
-- regress_show(call) shows what a test checks of a CDR: times as offsets
-- from the start, in seconds, and the durations.
CREATE FUNCTION pg_temp.regress_show(call uuid)
RETURNS TABLE (access_status text, answered_by_us numeric, queued numeric, ring numeric, answer numeric, ended numeric,
               setup_ms bigint, ivr_ms bigint, queue_ms bigint, ring_ms bigint, talk_ms bigint, hold_ms bigint,
               total_ms bigint, adds_up boolean)
LANGUAGE sql AS $$
    SELECT d.access_status,
           extract(epoch FROM d.customer_answered_at - d.started_at), extract(epoch FROM d.queued_at - d.started_at),
           extract(epoch FROM d.ringing_at - d.started_at), extract(epoch FROM d.answered_at - d.started_at),
           extract(epoch FROM d.ended_at - d.started_at),
           d.setup_ms, d.ivr_ms, d.queue_ms, d.ring_ms, d.talk_ms, d.hold_ms, d.total_ms,
           d.setup_ms + d.ivr_ms + d.queue_ms + d.ring_ms + d.talk_ms = d.total_ms
             AND d.total_ms = round(extract(epoch FROM d.ended_at - d.started_at) * 1000)
      FROM cc.cdrs AS d WHERE d.call_id = call;
$$;

-- S1: inbound, answered by the flow at +1, queued at +5 in sales; Bob rang
-- from +6 (180 at +6.5) and did not answer (+12); Alice, on her desk phone,
-- rang from +12 (180 at +13), answered at +20, hung up at +80; the customer
-- was on hold +30..+40, took the survey (key 4) and hung up at +95.
--   times:  answered by us 1, queued 5, ring 13 (Alice's 180), answer 20, end 95
--   talk    [20, 80)                       = 60000
--   ring    [13, 20)                       =  7000
--   queue   [5, 20) - ring                 =  8000  (Bob's ring counts as queue time)
--   setup   [0, 1)                         =  1000
--   ivr     the rest: [1, 5) + [80, 95)    = 19000
--   hold    [30, 40)                       = 10000   total 95000
--   one agent talked: normal_end; last agent Alice on a desk phone.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000001', '2025-02-03 09:00:00+00') AS s1 \gset
SELECT pg_temp.regress_leg(:'s1', 'customer', 'inbound', '2025-02-03 09:00:00', NULL, '2025-02-03 09:00:01', '2025-02-03 09:01:35',
                           id => '00000000-0000-0000-0000-0000000001c1') AS s1_customer \gset
SELECT pg_temp.regress_leg(:'s1', 'agent', 'outbound', '2025-02-03 09:00:06', '2025-02-03 09:00:06.5', NULL, '2025-02-03 09:00:12',
                           '00000000-0000-0000-0000-0000000000b2', 'no_answer', 480) AS s1_bob \gset
SELECT pg_temp.regress_leg(:'s1', 'agent', 'outbound', '2025-02-03 09:00:12', '2025-02-03 09:00:13', '2025-02-03 09:00:20', '2025-02-03 09:01:20',
                           '00000000-0000-0000-0000-0000000000b1', phone => '00000000-0000-0000-0000-0000000000c1') AS s1_alice \gset
INSERT INTO cc.queue_entries (id, call_id, queue_id, state, agent_id, entered_at, offered_at, answered_at, left_at)
VALUES ('00000000-0000-0000-0000-0000000001e1', :'s1', '00000000-0000-0000-0000-0000000000a1', 'answered',
        '00000000-0000-0000-0000-0000000000b1', '2025-02-03 09:00:05', '2025-02-03 09:00:06', '2025-02-03 09:00:20', '2025-02-03 09:00:20');
INSERT INTO cc.offers (queue_entry_id, call_id, agent_id, leg_id, outcome, offered_at, decided_at) VALUES
    ('00000000-0000-0000-0000-0000000001e1', :'s1', '00000000-0000-0000-0000-0000000000b2', :'s1_bob', 'timeout', '2025-02-03 09:00:06', '2025-02-03 09:00:12'),
    ('00000000-0000-0000-0000-0000000001e1', :'s1', '00000000-0000-0000-0000-0000000000b1', :'s1_alice', 'accepted', '2025-02-03 09:00:12', '2025-02-03 09:00:20');
INSERT INTO cc.events (at, type, call_id, leg_id) VALUES
    ('2025-02-03 09:00:30', 'leg.hold', :'s1', :'s1_customer'),
    ('2025-02-03 09:00:40', 'leg.resume', :'s1', :'s1_customer');
INSERT INTO cc.recordings (id, call_id, kind, file_path, started_at)
VALUES ('00000000-0000-0000-0000-0000000001f1', :'s1', 'call', '2025/02/03/s1.wav', '2025-02-03 09:00:20');
UPDATE cc.calls SET queue_id = '00000000-0000-0000-0000-0000000000a1', agent_id = '00000000-0000-0000-0000-0000000000b1',
                    answered_at = '2025-02-03 09:00:01', connected_at = '2025-02-03 09:00:20',
                    choices = '[{"node": "m1", "kind": "menu", "key": "2", "label": "sales"},
                                {"node": "s1", "kind": "survey", "key": "4", "label": "satisfied", "value": "4"}]',
                    custom_data = '{"ticket": "T-1"}'
 WHERE id = :'s1';
SELECT pg_temp.regress_end(:'s1', '2025-02-03 09:01:35', 'normal', 'customer') IS NOT NULL AS s1_written;
SELECT * FROM pg_temp.regress_show(:'s1');
SELECT direction, number, caller, callee, queue_name, last_agent_name, last_agent_extension, agent_endpoint,
       cardinality(agent_ids) AS agents, hangup_side, end_cause, survey_triggered, satisfaction_key,
       satisfaction_label, satisfaction_score, jsonb_array_length(menu_choices) AS choices,
       recording_ids = ARRAY['00000000-0000-0000-0000-0000000001f1'::uuid] AS recording_listed,
       voicemail_recording_id, custom_data
  FROM cc.cdrs WHERE call_id = :'s1';
-- One leg row per leg, Bob's unanswered ring with its cause and code.
SELECT kind, direction, agent_name, party, sip_code, cause,
       extract(epoch FROM ringing_at - '2025-02-03 09:00:00+00') AS ring,
       extract(epoch FROM answered_at - '2025-02-03 09:00:00+00') AS answer,
       extract(epoch FROM ended_at - '2025-02-03 09:00:00+00') AS ended
  FROM cc.cdr_legs WHERE cdr_id = (SELECT id FROM cc.cdrs WHERE call_id = :'s1') ORDER BY created_at;
-- Writing it again returns the same CDR: one per call.
SELECT cc.cdr_write(:'s1') = (SELECT id FROM cc.cdrs WHERE call_id = :'s1') AS same_cdr,
       (SELECT count(*) FROM cc.cdrs WHERE call_id = :'s1') AS cdrs;
-- The cdr.created event carries the CDR with its legs (what the cdr webhook pushes).
SELECT data->>'access_status' AS access_status, jsonb_array_length(data->'legs') AS legs,
       data->>'start_timestamp' AS start_timestamp, data->'injected_custom_data' AS injected_custom_data
  FROM cc.events WHERE call_id = :'s1' AND type = 'cdr.created';

-- S2: ringing abandoned.  Answered by us at +1, queued at +3, Alice's leg
-- from +4 rings at +4.5; the customer hangs up at +10 while she rings.
--   ring [4.5, 10) = 5500, queue [3, 4.5) = 1500, setup 1000, ivr [1, 3) = 2000; total 10000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000002', '2025-02-03 10:00:00+00') AS s2 \gset
SELECT pg_temp.regress_leg(:'s2', 'customer', 'inbound', '2025-02-03 10:00:00', NULL, '2025-02-03 10:00:01', '2025-02-03 10:00:10') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s2', 'agent', 'outbound', '2025-02-03 10:00:04', '2025-02-03 10:00:04.5', NULL, '2025-02-03 10:00:10',
                           '00000000-0000-0000-0000-0000000000b1', 'canceled', 487) AS s2_alice \gset
INSERT INTO cc.queue_entries (id, call_id, queue_id, state, entered_at, offered_at, left_at)
VALUES ('00000000-0000-0000-0000-0000000002e1', :'s2', '00000000-0000-0000-0000-0000000000a1', 'abandoned',
        '2025-02-03 10:00:03', '2025-02-03 10:00:04', '2025-02-03 10:00:10');
INSERT INTO cc.offers (queue_entry_id, call_id, agent_id, leg_id, outcome, reason, offered_at, decided_at)
VALUES ('00000000-0000-0000-0000-0000000002e1', :'s2', '00000000-0000-0000-0000-0000000000b1', :'s2_alice', 'canceled', 'abandoned',
        '2025-02-03 10:00:04', '2025-02-03 10:00:10');
SELECT pg_temp.regress_end(:'s2', '2025-02-03 10:00:10', 'normal', 'customer') IS NOT NULL AS s2_written;
SELECT * FROM pg_temp.regress_show(:'s2');

-- S3: queue abandoned: queued at +2, nobody rang, the customer left at +8.
--   queue 6000, setup 1000, ivr [1, 2) = 1000; total 8000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000003', '2025-02-03 11:00:00+00') AS s3 \gset
SELECT pg_temp.regress_leg(:'s3', 'customer', 'inbound', '2025-02-03 11:00:00', NULL, '2025-02-03 11:00:01', '2025-02-03 11:00:08') IS NOT NULL AS leg;
INSERT INTO cc.queue_entries (call_id, queue_id, state, entered_at, left_at)
VALUES (:'s3', '00000000-0000-0000-0000-0000000000a1', 'abandoned', '2025-02-03 11:00:02', '2025-02-03 11:00:08');
SELECT pg_temp.regress_end(:'s3', '2025-02-03 11:00:08', 'normal', 'customer') IS NOT NULL AS s3_written;
SELECT * FROM pg_temp.regress_show(:'s3');

-- S4: no agent online: the queue let go at +2.5 (no_agent), the flow said
-- goodbye and hung up at +6.  queue [2, 2.5) = 500, ivr [1, 2) + [2.5, 6) = 4500.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000004', '2025-02-03 12:00:00+00') AS s4 \gset
SELECT pg_temp.regress_leg(:'s4', 'customer', 'inbound', '2025-02-03 12:00:00', NULL, '2025-02-03 12:00:01', '2025-02-03 12:00:06') IS NOT NULL AS leg;
INSERT INTO cc.queue_entries (call_id, queue_id, state, entered_at, left_at)
VALUES (:'s4', '00000000-0000-0000-0000-0000000000a1', 'no_agent', '2025-02-03 12:00:02', '2025-02-03 12:00:02.5');
SELECT pg_temp.regress_end(:'s4', '2025-02-03 12:00:06', 'normal', 'system') IS NOT NULL AS s4_written;
SELECT * FROM pg_temp.regress_show(:'s4');

-- S5: abandoned in the IVR (never queued): ivr [1, 20) = 19000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000005', '2025-02-03 13:00:00+00') AS s5 \gset
SELECT pg_temp.regress_leg(:'s5', 'customer', 'inbound', '2025-02-03 13:00:00', NULL, '2025-02-03 13:00:01', '2025-02-03 13:00:20') IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s5', '2025-02-03 13:00:20', 'normal', 'customer') IS NOT NULL AS s5_written;
SELECT * FROM pg_temp.regress_show(:'s5');

-- S6: not connected: the caller hung up before we answered (+3): all setup.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000006', '2025-02-03 14:00:00+00') AS s6 \gset
SELECT pg_temp.regress_leg(:'s6', 'customer', 'inbound', '2025-02-03 14:00:00', NULL, NULL, '2025-02-03 14:00:03', cause => 'canceled', code => 487) IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s6', '2025-02-03 14:00:03', 'canceled', 'customer') IS NOT NULL AS s6_written;
SELECT * FROM pg_temp.regress_show(:'s6');

-- S7: agent no answer: queued +2, Alice timed out (+4..+19), Bob rejected
-- (+20..+21), the queue timed out at +40, the flow ended the call at +45.
--   ring = Bob's last ring [20, 21) = 1000; queue [2, 40) - ring = 37000;
--   setup 1000, ivr [1, 2) + [40, 45) = 6000; total 45000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000007', '2025-02-03 15:00:00+00') AS s7 \gset
SELECT pg_temp.regress_leg(:'s7', 'customer', 'inbound', '2025-02-03 15:00:00', NULL, '2025-02-03 15:00:01', '2025-02-03 15:00:45') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s7', 'agent', 'outbound', '2025-02-03 15:00:04', '2025-02-03 15:00:04', NULL, '2025-02-03 15:00:19',
                           '00000000-0000-0000-0000-0000000000b1', 'no_answer', 408) AS s7_alice \gset
SELECT pg_temp.regress_leg(:'s7', 'agent', 'outbound', '2025-02-03 15:00:20', '2025-02-03 15:00:20', NULL, '2025-02-03 15:00:21',
                           '00000000-0000-0000-0000-0000000000b2', 'rejected', 603) AS s7_bob \gset
INSERT INTO cc.queue_entries (id, call_id, queue_id, state, entered_at, offered_at, left_at)
VALUES ('00000000-0000-0000-0000-0000000007e1', :'s7', '00000000-0000-0000-0000-0000000000a1', 'timeout',
        '2025-02-03 15:00:02', '2025-02-03 15:00:04', '2025-02-03 15:00:40');
INSERT INTO cc.offers (queue_entry_id, call_id, agent_id, leg_id, outcome, offered_at, decided_at) VALUES
    ('00000000-0000-0000-0000-0000000007e1', :'s7', '00000000-0000-0000-0000-0000000000b1', :'s7_alice', 'timeout', '2025-02-03 15:00:04', '2025-02-03 15:00:19'),
    ('00000000-0000-0000-0000-0000000007e1', :'s7', '00000000-0000-0000-0000-0000000000b2', :'s7_bob', 'rejected', '2025-02-03 15:00:20', '2025-02-03 15:00:21');
SELECT pg_temp.regress_end(:'s7', '2025-02-03 15:00:45', 'normal', 'system') IS NOT NULL AS s7_written;
SELECT * FROM pg_temp.regress_show(:'s7');

-- S8: outbound, Alice's phone called out, the callee was busy (486 at +2).
--   no ring, no answer: setup [0, 2) = 2000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000008', '2025-02-03 16:00:00+00', 'outbound') AS s8 \gset
SELECT pg_temp.regress_leg(:'s8', 'agent', 'inbound', '2025-02-03 16:00:00', NULL, '2025-02-03 16:00:00', '2025-02-03 16:00:02',
                           '00000000-0000-0000-0000-0000000000b1') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s8', 'customer', 'outbound', '2025-02-03 16:00:00', NULL, NULL, '2025-02-03 16:00:02', cause => 'busy', code => 486) IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s8', '2025-02-03 16:00:02', 'busy', 'customer') IS NOT NULL AS s8_written;
SELECT * FROM pg_temp.regress_show(:'s8');

-- S9: outbound connected: the callee rang at +1, answered at +6, the call
-- ended at +36: setup 1000, ring 5000, talk 30000.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000009', '2025-02-03 17:00:00+00', 'outbound') AS s9 \gset
SELECT pg_temp.regress_leg(:'s9', 'agent', 'inbound', '2025-02-03 17:00:00', NULL, '2025-02-03 17:00:00', '2025-02-03 17:00:36',
                           '00000000-0000-0000-0000-0000000000b1') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s9', 'customer', 'outbound', '2025-02-03 17:00:00', '2025-02-03 17:00:01', '2025-02-03 17:00:06', '2025-02-03 17:00:36') IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s9', '2025-02-03 17:00:36', 'normal', 'agent') IS NOT NULL AS s9_written;
SELECT * FROM pg_temp.regress_show(:'s9');
SELECT last_agent_name, agent_ids = ARRAY['00000000-0000-0000-0000-0000000000b1'::uuid] AS alice_only FROM cc.cdrs WHERE call_id = :'s9';

-- S10: a connected call cut by a restart of cc sip (cc.calls_reconcile
-- ends it with cause worker_restart): system_error, its talk still counted.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000010', '2025-02-03 18:00:00+00') AS s10 \gset
SELECT pg_temp.regress_leg(:'s10', 'customer', 'inbound', '2025-02-03 18:00:00', NULL, '2025-02-03 18:00:01', '2025-02-03 18:00:50', cause => 'worker_restart') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s10', 'agent', 'outbound', '2025-02-03 18:00:02', '2025-02-03 18:00:03', '2025-02-03 18:00:10', '2025-02-03 18:00:50',
                           '00000000-0000-0000-0000-0000000000b2', 'worker_restart') IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s10', '2025-02-03 18:00:50', 'worker_restart', 'system') IS NOT NULL AS s10_written;
SELECT * FROM pg_temp.regress_show(:'s10');

-- S11: Alice put the call through to an outside number that answered:
-- transferred_to_external.  S12: Alice transferred it to Bob:
-- transferred_to_agent, both agents listed, Bob last.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000011', '2025-02-03 19:00:00+00') AS s11 \gset
SELECT pg_temp.regress_leg(:'s11', 'customer', 'inbound', '2025-02-03 19:00:00', NULL, '2025-02-03 19:00:01', '2025-02-03 19:01:00') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s11', 'agent', 'outbound', '2025-02-03 19:00:02', '2025-02-03 19:00:02', '2025-02-03 19:00:05', '2025-02-03 19:00:30',
                           '00000000-0000-0000-0000-0000000000b1') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s11', 'external', 'outbound', '2025-02-03 19:00:25', '2025-02-03 19:00:26', '2025-02-03 19:00:29', '2025-02-03 19:01:00') IS NOT NULL AS leg;
SELECT pg_temp.regress_end(:'s11', '2025-02-03 19:01:00', 'normal', 'customer') IS NOT NULL AS s11_written;
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000012', '2025-02-03 20:00:00+00') AS s12 \gset
SELECT pg_temp.regress_leg(:'s12', 'customer', 'inbound', '2025-02-03 20:00:00', NULL, '2025-02-03 20:00:01', '2025-02-03 20:01:00') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s12', 'agent', 'outbound', '2025-02-03 20:00:02', '2025-02-03 20:00:02', '2025-02-03 20:00:05', '2025-02-03 20:00:30',
                           '00000000-0000-0000-0000-0000000000b1') IS NOT NULL AS leg;
SELECT pg_temp.regress_leg(:'s12', 'agent', 'outbound', '2025-02-03 20:00:25', '2025-02-03 20:00:26', '2025-02-03 20:00:29', '2025-02-03 20:01:00',
                           '00000000-0000-0000-0000-0000000000b2') IS NOT NULL AS leg;
UPDATE cc.calls SET agent_id = '00000000-0000-0000-0000-0000000000b2' WHERE id = :'s12';
SELECT pg_temp.regress_end(:'s12', '2025-02-03 20:01:00', 'normal', 'customer') IS NOT NULL AS s12_written;
SELECT call_id = :'s11' AS s11, access_status, last_agent_name, agent_endpoint, cardinality(agent_ids) AS agents,
       talk_ms, ring_ms
  FROM cc.cdrs WHERE call_id IN (:'s11', :'s12') ORDER BY started_at;

-- S13: a voicemail: the caller left a message in the flow.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000013', '2025-02-03 21:00:00+00') AS s13 \gset
SELECT pg_temp.regress_leg(:'s13', 'customer', 'inbound', '2025-02-03 21:00:00', NULL, '2025-02-03 21:00:01', '2025-02-03 21:00:40') IS NOT NULL AS leg;
INSERT INTO cc.recordings (id, call_id, kind, file_path, started_at, state)
VALUES ('00000000-0000-0000-0000-0000000013f1', :'s13', 'voicemail', '2025/02/03/s13.wav', '2025-02-03 21:00:10', 'complete');
SELECT pg_temp.regress_end(:'s13', '2025-02-03 21:00:40', 'normal', 'customer') IS NOT NULL AS s13_written;
SELECT access_status, voicemail_recording_id, recording_ids FROM cc.cdrs WHERE call_id = :'s13';

-- S14: a call with nothing but its row (no leg, no queue): a CDR anyway.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000014', '2025-02-03 22:00:00+00') AS s14 \gset
SELECT pg_temp.regress_end(:'s14', '2025-02-03 22:00:04', 'normal', 'system') IS NOT NULL AS s14_written;
SELECT * FROM pg_temp.regress_show(:'s14');

-- If computing the CDR fails (here: a broken access-status function), the
-- call still gets one, from its row alone (system_error), and a cdr.failed
-- event says why.
SELECT pg_temp.regress_call('00000000-0000-0000-0000-000000000015', '2025-02-03 23:00:00+00') AS s15 \gset
SAVEPOINT broken;
CREATE OR REPLACE FUNCTION cc.cdr_access_status(call uuid, connected boolean) RETURNS text
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'broken on purpose'; END; $$;
SELECT pg_temp.regress_end(:'s15', '2025-02-03 23:00:05', 'normal', 'customer') IS NOT NULL AS s15_written;
SELECT * FROM pg_temp.regress_show(:'s15');
SELECT type, data->>'error' AS error FROM cc.events WHERE call_id = :'s15' AND type LIKE 'cdr.%' ORDER BY seq;
ROLLBACK TO SAVEPOINT broken;

-- The outbound access status from the callee leg's cause or SIP code.
SELECT cause, code, cc.cdr_outbound_status(cause, code)
  FROM (VALUES ('busy', 486), ('no_answer', 480), ('rejected', 603), ('not_found', 404), ('canceled', 487),
               ('carrier_fault', 503), ('unavailable', 402), ('unavailable', 604), (NULL, 500), (NULL, NULL),
               ('powered_off', 480), ('out_of_service_area', NULL)) AS t (cause, code);

-- The agent's note goes on the CDR (and is an event).
SELECT cc.cdr_note_set(:'s1', 'called back about T-1') IS NOT NULL AS noted;
SELECT note FROM cc.cdrs WHERE call_id = :'s1';

-- The end of a call through cc.call_finish (086): the CDR is written in the
-- same transaction, before the call.ended event.
INSERT INTO cc.calls (id, direction, created_at, state) VALUES ('00000000-0000-0000-0000-000000000016', 'inbound', now() - interval '3 seconds', 'ivr');
SELECT cc.call_finish('00000000-0000-0000-0000-000000000016', 'normal', 'customer');
SELECT access_status, total_ms = 3000 AS three_seconds, hangup_side FROM cc.cdrs WHERE call_id = '00000000-0000-0000-0000-000000000016';
SELECT type FROM cc.events WHERE call_id = '00000000-0000-0000-0000-000000000016' ORDER BY seq;

-- A caller who hangs up at a survey's question, before any key: the survey
-- was triggered (the flow entered the node, cc.calls.survey_entered_at),
-- without a satisfaction; a call whose flow never reached it was not.
WITH f AS (INSERT INTO cc.flows (id, name) VALUES ('00000000-0000-0000-0000-0000000000f1', 'cdr survey') RETURNING id)
INSERT INTO cc.flow_versions (id, flow_id, graph, published, published_at)
SELECT '00000000-0000-0000-0000-0000000000f2', f.id, $${"nodes": [
  {"id": "start", "type": "start", "connections": {"next": "rate"}},
  {"id": "rate", "type": "survey",
   "properties": {"prompt": {"tts": "1 good, 2 bad."},
                  "options": [{"key": "1", "label": "Good"}, {"key": "2", "label": "Bad"}]},
   "connections": {"next": "bye"}},
  {"id": "bye", "type": "end"}]}$$::jsonb, true, now() FROM f;
INSERT INTO cc.calls (id, direction, created_at, state, flow_id, flow_version_id)
VALUES ('00000000-0000-0000-0000-000000000017', 'inbound', now() - interval '5 seconds', 'ivr',
        '00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000f2');
SELECT jsonb_array_length(cc.flow_start('00000000-0000-0000-0000-000000000017')) > 0 AS asked;
SELECT cc.call_finish('00000000-0000-0000-0000-000000000017', 'normal', 'customer');
SELECT survey_triggered, satisfaction_key, menu_choices FROM cc.cdrs WHERE call_id = '00000000-0000-0000-0000-000000000017';
SELECT survey_triggered FROM cc.cdrs WHERE call_id = '00000000-0000-0000-0000-000000000016';

ROLLBACK;

-- Bad calls are refused with the value named (outside the transaction).
SELECT cc.cdr_write(NULL);
SELECT cc.cdr_write('00000000-0000-0000-0000-00000000ffff');

-- IBM's cdr_custom_data rule: new keys added, existing overwritten, "" removes.
SELECT cc.custom_data_merge('{"a": 1, "b": "x", "c": true}', '{"b": "y", "c": "", "d": [1]}');
SELECT cc.custom_data_merge('{"a": 1}', '"oops"');

-- A note needs a CDR, and at most 2000 characters.
SELECT cc.cdr_note_set('00000000-0000-0000-0000-00000000ffff', 'x');
SELECT cc.cdr_note_set(NULL, repeat('x', 2001));
