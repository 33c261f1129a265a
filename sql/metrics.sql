-- metrics: every figure of spec/metrics.md on a crafted day with answers
-- worked out by hand (126-128_reports_*.sql).  The day is Monday
-- 2025-01-06 (UTC); times below are that day's.  Rolled back at the end.
--
-- Queues: sales and support (inbound), outbound.  Agents: Alice (1001) and
-- Bob (1002).  Numbers: 4000100 (inbound) and 4000200 (outbound).
--
-- Inbound calls (seconds: setup + ivr + queue + ring + talk = total; wait
-- = answer or hang-up minus queue entry):
--   C1 sales    1+9+5+10+120 = 145  Alice answers, ring 10, wait 15; hold 10;
--                                   survey key 5 "very satisfied"
--   C2 sales    1+4+30+25+60 = 120  Alice rings 15 s unanswered, Bob answers
--                                   (ring 25), wait 55; survey key 3 "satisfied"
--   C3 sales    1+4+30       =  35  abandoned while queued, wait 30
--   C4 sales    1+2+5+6      =  14  abandoned while Alice rang (6 s), wait 11
--   C5 support  1+1+10       =  12  no agent online
--   C6 -        1+30         =  31  abandoned in the IVR
--   C7 support  1+1+2+3+60   =  67  Alice answers, ring 3, wait 5; survey ran, no key
--   C8 support  1+1+3        =   5  abandoned while queued, wait 3
--   C9 -        1+10         =  11  the flow ended it
--   C10 sales   starts 2025-01-07 00:00, outside the day: never counted
-- Outbound calls (queue outbound, number 4000200; setup + ring + talk):
--   O1 Alice  2+5+30 = 37 connected; survey key 4 "ok"
--   O2 Alice  3           busy
--   O3 Bob    1+10+15     connected
--   O4 Bob    1           carrier fault
--   O5 Alice  1+30        no answer
-- After-call work (wrap_up in the agent state log): C1 30 s, C2 20 s, C7 10 s.
\set VERBOSITY terse
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
BEGIN;

INSERT INTO cc.queues (id, name) VALUES
    ('00000000-0000-0000-0000-0000000000a1', 'sales'), ('00000000-0000-0000-0000-0000000000a2', 'support'),
    ('00000000-0000-0000-0000-0000000000a3', 'outbound');
INSERT INTO cc.agents (id, name, extension, created_at) VALUES
    ('00000000-0000-0000-0000-0000000000b1', 'Alice', '1001', '2025-01-01'),
    ('00000000-0000-0000-0000-0000000000b2', 'Bob', '1002', '2025-01-01');
INSERT INTO cc.numbers (id, number) VALUES
    ('00000000-0000-0000-0000-0000000000d1', '4000100'), ('00000000-0000-0000-0000-0000000000d2', '4000200'),
    ('00000000-0000-0000-0000-0000000000d3', '4000300');

-- regress_cdr stores a CDR from its durations in seconds (the times follow
-- from them as in the table above).
CREATE FUNCTION pg_temp.regress_cdr(name text, dir text, queue uuid, start timestamptz,
                                    setup integer, ivr integer, queue_s integer, ring integer, talk integer,
                                    status text, side text, agent uuid DEFAULT NULL, reached_queue boolean DEFAULT true,
                                    survey boolean DEFAULT false, key text DEFAULT NULL, label text DEFAULT NULL,
                                    hold integer DEFAULT 0, campaign uuid DEFAULT NULL, answered_by_customer boolean DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s interval := interval '1 second';
    q timestamptz := CASE WHEN dir = 'inbound' AND reached_queue THEN start + (setup + ivr) * s END;
    r timestamptz := CASE WHEN ring > 0 OR talk > 0 THEN
                         CASE WHEN dir = 'inbound' THEN start + (setup + ivr + queue_s) * s ELSE start + setup * s END END;
    a timestamptz := CASE WHEN talk > 0 THEN r + ring * s END;
BEGIN
    INSERT INTO cc.cdrs (call_id, direction, number_id, number, caller, callee, note, access_status, started_at,
                         customer_answered_at, queued_at, ringing_at, answered_at, ended_at,
                         setup_ms, ivr_ms, queue_ms, ring_ms, talk_ms, hold_ms, total_ms,
                         last_agent_id, last_agent_name, agent_ids, queue_id, queue_name, flow_id, hangup_side,
                         survey_triggered, satisfaction_key, satisfaction_label, satisfaction_score, campaign_id)
    VALUES (md5(name)::uuid, dir,
            CASE WHEN dir = 'inbound' THEN '00000000-0000-0000-0000-0000000000d1'::uuid ELSE '00000000-0000-0000-0000-0000000000d2' END,
            CASE WHEN dir = 'inbound' THEN '4000100' ELSE '4000200' END, '0611111111', '4000100', name, status, start,
            CASE WHEN dir = 'inbound' THEN start + setup * s
                 WHEN coalesce(answered_by_customer, talk > 0) THEN coalesce(a, start + (setup + ring) * s) END,
            q, r, a, start + (setup + ivr + queue_s + ring + talk) * s,
            setup * 1000, ivr * 1000, queue_s * 1000, ring * 1000, talk * 1000, hold * 1000,
            (setup + ivr + queue_s + ring + talk) * 1000,
            agent, (SELECT g.name FROM cc.agents AS g WHERE g.id = agent),
            CASE WHEN agent IS NOT NULL AND (talk > 0 OR dir = 'outbound') THEN ARRAY[agent] ELSE '{}' END,
            queue, (SELECT x.name FROM cc.queues AS x WHERE x.id = queue),
            CASE WHEN dir = 'inbound' THEN '00000000-0000-0000-0000-0000000000f1'::uuid END, side,
            survey, key, label, key::numeric, campaign);
END;
$$;
-- regress_leg adds an agent leg to a CDR: rang from..to, answered at answer (or not).
CREATE FUNCTION pg_temp.regress_leg(name text, agent uuid, rang timestamptz, answered timestamptz, ended timestamptz)
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO cc.cdr_legs (cdr_id, leg_id, kind, direction, agent_id, created_at, ringing_at, answered_at, ended_at)
    SELECT d.id, gen_random_uuid(), 'agent', 'outbound', agent, rang, rang, answered, ended
      FROM cc.cdrs AS d WHERE d.note = name;
$$;

SELECT pg_temp.regress_cdr('C1', 'inbound', '00000000-0000-0000-0000-0000000000a1', '2025-01-06 10:00:00', 1, 9, 5, 10, 120, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b1', survey => true, key => '5', label => 'very satisfied', hold => 10),
       pg_temp.regress_cdr('C2', 'inbound', '00000000-0000-0000-0000-0000000000a1', '2025-01-06 10:10:00', 1, 4, 30, 25, 60, 'normal_end', 'agent',
                           '00000000-0000-0000-0000-0000000000b2', survey => true, key => '3', label => 'satisfied'),
       pg_temp.regress_cdr('C3', 'inbound', '00000000-0000-0000-0000-0000000000a1', '2025-01-06 10:20:00', 1, 4, 30, 0, 0, 'queue_abandoned', 'customer'),
       pg_temp.regress_cdr('C4', 'inbound', '00000000-0000-0000-0000-0000000000a1', '2025-01-06 10:30:00', 1, 2, 5, 6, 0, 'ringing_abandoned', 'customer'),
       pg_temp.regress_cdr('C5', 'inbound', '00000000-0000-0000-0000-0000000000a2', '2025-01-06 10:40:00', 1, 1, 10, 0, 0, 'no_agent_online', 'system'),
       pg_temp.regress_cdr('C6', 'inbound', NULL, '2025-01-06 10:50:00', 1, 30, 0, 0, 0, 'ivr_abandoned', 'customer', reached_queue => false),
       pg_temp.regress_cdr('C7', 'inbound', '00000000-0000-0000-0000-0000000000a2', '2025-01-06 11:00:00', 1, 1, 2, 3, 60, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b1', survey => true),
       pg_temp.regress_cdr('C8', 'inbound', '00000000-0000-0000-0000-0000000000a2', '2025-01-06 11:10:00', 1, 1, 3, 0, 0, 'queue_abandoned', 'customer'),
       pg_temp.regress_cdr('C9', 'inbound', NULL, '2025-01-06 11:20:00', 1, 10, 0, 0, 0, 'ended_after_ivr', 'system', reached_queue => false),
       pg_temp.regress_cdr('C10', 'inbound', '00000000-0000-0000-0000-0000000000a1', '2025-01-07 00:00:00', 1, 1, 1, 1, 10, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b1'),
       pg_temp.regress_cdr('O1', 'outbound', '00000000-0000-0000-0000-0000000000a3', '2025-01-06 12:00:00', 2, 0, 0, 5, 30, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b1', survey => true, key => '4', label => 'ok'),
       pg_temp.regress_cdr('O2', 'outbound', '00000000-0000-0000-0000-0000000000a3', '2025-01-06 12:10:00', 3, 0, 0, 0, 0, 'busy', 'customer',
                           '00000000-0000-0000-0000-0000000000b1'),
       pg_temp.regress_cdr('O3', 'outbound', '00000000-0000-0000-0000-0000000000a3', '2025-01-06 12:20:00', 1, 0, 0, 10, 15, 'normal_end', 'agent',
                           '00000000-0000-0000-0000-0000000000b2'),
       pg_temp.regress_cdr('O4', 'outbound', '00000000-0000-0000-0000-0000000000a3', '2025-01-06 12:30:00', 1, 0, 0, 0, 0, 'carrier_fault', 'system',
                           '00000000-0000-0000-0000-0000000000b2'),
       pg_temp.regress_cdr('O5', 'outbound', '00000000-0000-0000-0000-0000000000a3', '2025-01-06 12:40:00', 1, 0, 0, 30, 0, 'no_answer', 'agent',
                           '00000000-0000-0000-0000-0000000000b1');
SELECT pg_temp.regress_leg('C1', '00000000-0000-0000-0000-0000000000b1', '2025-01-06 10:00:15', '2025-01-06 10:00:25', '2025-01-06 10:02:25'),
       pg_temp.regress_leg('C2', '00000000-0000-0000-0000-0000000000b1', '2025-01-06 10:10:20', NULL, '2025-01-06 10:10:35'),
       pg_temp.regress_leg('C2', '00000000-0000-0000-0000-0000000000b2', '2025-01-06 10:10:35', '2025-01-06 10:11:00', '2025-01-06 10:12:00'),
       pg_temp.regress_leg('C4', '00000000-0000-0000-0000-0000000000b1', '2025-01-06 10:30:08', NULL, '2025-01-06 10:30:14'),
       pg_temp.regress_leg('C7', '00000000-0000-0000-0000-0000000000b1', '2025-01-06 11:00:04', '2025-01-06 11:00:07', '2025-01-06 11:01:07');
-- Every crafted CDR obeys the table's rules (durations add up, times in order).
SELECT note, started_at, queued_at, ringing_at, answered_at, ended_at, total_ms FROM cc.cdrs ORDER BY started_at;

-- The agents' day (agent_state_log):
--   Alice: offline until 09:00, idle, rings 10:00:15-25 (C1), talks to 10:02:25, wrap-up
--          30 s, idle, rings 10:10:20-35 (C2, no answer), idle, rings 10:30:08-14 (C4),
--          idle, rings 11:00:04-07 (C7), talks to 11:01:07, wrap-up 10 s, idle,
--          break 11:30-12:00, idle, marked busy 13:00-13:30, offline.
--   Bob:   logged in the day before (idle at midnight), rings 10:10:35-10:11:00 (C2),
--          talks to 10:12:00, wrap-up 20 s, idle until after the day.
INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, reason, call_id, at)
SELECT '00000000-0000-0000-0000-0000000000b1', f, t, r, CASE WHEN c IS NOT NULL THEN md5(c)::uuid END, ('2025-01-06 ' || a)::timestamptz
  FROM (VALUES ('offline', 'idle', 'login', NULL, '09:00:00'), ('idle', 'ringing', NULL, 'C1', '10:00:15'),
               ('ringing', 'talking', NULL, 'C1', '10:00:25'), ('talking', 'wrap_up', NULL, 'C1', '10:02:25'),
               ('wrap_up', 'idle', NULL, NULL, '10:02:55'), ('idle', 'ringing', NULL, 'C2', '10:10:20'),
               ('ringing', 'idle', 'no answer', NULL, '10:10:35'), ('idle', 'ringing', NULL, 'C4', '10:30:08'),
               ('ringing', 'idle', NULL, NULL, '10:30:14'), ('idle', 'ringing', NULL, 'C7', '11:00:04'),
               ('ringing', 'talking', NULL, 'C7', '11:00:07'), ('talking', 'wrap_up', NULL, 'C7', '11:01:07'),
               ('wrap_up', 'idle', NULL, NULL, '11:01:17'), ('idle', 'break', 'meal', NULL, '11:30:00'),
               ('break', 'idle', NULL, NULL, '12:00:00'), ('idle', 'busy', 'training', NULL, '13:00:00'),
               ('busy', 'offline', 'logout', NULL, '13:30:00')) AS x (f, t, r, c, a);
INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, reason, call_id, at)
SELECT '00000000-0000-0000-0000-0000000000b2', f, t, NULL, CASE WHEN c IS NOT NULL THEN md5(c)::uuid END, a::timestamptz
  FROM (VALUES ('offline', 'idle', NULL, '2025-01-05 20:00:00'), ('idle', 'ringing', 'C2', '2025-01-06 10:10:35'),
               ('ringing', 'talking', 'C2', '2025-01-06 10:11:00'), ('talking', 'wrap_up', 'C2', '2025-01-06 10:12:00'),
               ('wrap_up', 'idle', NULL, '2025-01-06 10:12:20'), ('idle', 'offline', NULL, '2025-01-07 02:00:00')) AS x (f, t, c, a);

-- Per queue, inbound (20 s):
--   sales:   offered 4 (C1-C4), connected 2, answer rate 0.5, lost 2, loss 0.5;
--            rang 3 (C1, C2, C4), answered within 20 s of ring start: C1 only (C2 rang
--            25 s) = 1, rate 1/3; queued 4, queue 5+30+30+5 = 70 s, average 17.5 s;
--            ring 10+25+6 = 41 s / 3 = 13667 ms; talk 120+60 = 180 s / 2 = 90 s;
--            survey triggered 2, replies 2, reply rate 2/2, total 5+3 = 8, average 4.
--   support: offered 3 (C5, C7, C8), connected 1 (C7), 0.3333, lost 2, 0.6667; rang 1,
--            within 1 (3 s), rate 1; queued 3, 10+2+3 = 15 s / 3 = 5 s; ring 3 s;
--            talk 60 s; survey triggered 1, replies 0, reply rate 0/1 = 0, total 0, average none.
--   outbound: nothing inbound.
SELECT * FROM cc.report_queue_inbound('2025-01-06', '2025-01-07');
-- With a 10 s threshold sales answers 1 of 3 within it (C1 rang exactly 10 s: inclusive).
SELECT queue_name, answered_within, answered_within_rate FROM cc.report_queue_inbound('2025-01-06', '2025-01-07', 10)
 WHERE queue_name = 'sales';

-- Per queue, outbound: outbound queue: 5 calls, connected 2 (O1, O3), 0.4, lost 3, 0.6;
-- rang 3 (O1, O3, O5), ring 5+10+30 = 45 s / 3 = 15 s; talk 30+15 = 45 s / 2 = 22.5 s;
-- survey triggered 1, replies 1, reply rate 1/2 = 0.5, total 4, average 4.
SELECT * FROM cc.report_queue_outbound('2025-01-06', '2025-01-07') WHERE calls > 0;

-- Per agent, inbound (20 s): every ring of the agent, by call.
--   Alice: rang for C1 (answered after 10 s, talk 120), C2 (15 s, no answer), C4 (6 s,
--          no answer), C7 (answered after 3 s, talk 60): offered 4, connected 2, 0.5,
--          lost 2, 0.5; within 20 s 2, 2/4 = 0.5; queue time of her answered calls
--          5 + 2 = 7 s / 2 = 3.5 s; ring 10+15+6+3 = 34 s / 4 = 8.5 s; talk 180 s / 2 = 90 s;
--          survey (her calls C1, C7) triggered 2, replies 1, 1/2 = 0.5, total 5, average 5.
--   Bob:   C2 (answered after 25 s, talk 60): offered 1, connected 1, 1, lost 0, 0;
--          within 0, 0; queue 30 s; ring 25 s; talk 60 s; survey 1, 1, 1, 3, 3.
SELECT * FROM cc.report_agent_inbound('2025-01-06', '2025-01-07');

-- Per agent, outbound (talk over 20 s):
--   Alice: O1, O2, O5: 3 calls, connected 1, 0.3333, lost 2, 0.6667; over 20 s: O1 (30 s)
--          = 1, its talk 30 s; rang 2 (O1, O5), ring 35 s / 2 = 17.5 s; talk 30 s;
--          survey 1, 1, 1/1 = 1, total 4, average 4.
--   Bob:   O3, O4: 2, connected 1, 0.5, lost 1, 0.5; over 20 s: 0 (O3 talked 15 s);
--          rang 1, 10 s; talk 15 s; survey 0, 0, 0/1 = 0, 0, none.
SELECT * FROM cc.report_agent_outbound('2025-01-06', '2025-01-07');

-- Satisfaction per agent and key (the call's last agent):
--   Alice: key 4 "ok" (O1) 1 = 0.5, key 5 "very satisfied" (C1) 1 = 0.5;  Bob: key 3 (C2) 1 = 1.
SELECT * FROM cc.report_agent_satisfaction('2025-01-06', '2025-01-07');

-- State durations (ms) over the day:
--   Alice: idle 3615+445+1173+1790+1723+3600 = 12346 s; ringing 10+15+6+3 = 34 s;
--          talking 180 s; wrap-up 40 s; break 1800 s; marked busy 1800 s; online = 16200 s
--          (09:00-13:30); busy (on a call) 214 s; offline 9 h + 10.5 h = 70200 s.
--   Bob:   idle 36635 + 49660 = 86295 s; ringing 25 s; talking 60 s; wrap-up 20 s;
--          online the whole day 86400 s; busy 85 s; offline 0.
SELECT * FROM cc.report_agent_states('2025-01-06', '2025-01-07');

-- Traffic (inbound calls that entered a flow, C1-C9): 9 calls, offered to humans 7
-- (C1-C5, C7, C8), transfer rate 7/9 = 0.7778, connected 3 (C1, C2, C7), answer rate
-- 3/9 = 0.3333, lost 4 (C3, C4, C5, C8), loss rate 4/7 = 0.5714, abandoned in IVR 1 (C6).
SELECT * FROM cc.report_traffic('2025-01-06', '2025-01-07');

-- Loss analysis: C6 in the IVR, C5 no agent, C4 while ringing, C3 and C8 while queued:
-- 1, 1, 1, 2, 0 of 5: 0.2, 0.2, 0.2, 0.4, 0.
SELECT * FROM cc.report_loss_analysis('2025-01-06', '2025-01-07');

-- Per number: 4000100 the 9 inbound calls: connected 3, 0.3333, offered 7, lost 4, 0.5714;
-- 4000200 the 5 outbound: connected 2, 0.4, lost to the line 1 (O4), to other causes 2 (O2, O5).
SELECT * FROM cc.report_numbers('2025-01-06', '2025-01-07');

-- Service level, X = 20 s, short abandons under 5 s.  A = answered, B = abandoned.
--   sales:   A = C1 (15 s), C2 (55 s); B = C3 (30 s), C4 (11 s); A<=X 1, B<=X 1, B>X 1, short 0.
--            SL 1/4 = 0.25; of answered 1/2; with abandons 2/4; short abandons ignored
--            1/(2+1) = 0.3333; Asterisk SL 1/2, SL2 2/4; ASA (15+55)/2 = 35 s; abandon 2/4,
--            without short 2/4.
--   support: A = C7 (5 s); B = C8 (3 s, short); C5 (no agent) is neither.  SL 1/2 = 0.5;
--            of answered 1; with abandons 2/2; short ignored 1/(1+0) = 1; Asterisk 1, 1;
--            ASA 5 s; abandon 1/3; without short (1-1)/(3-1) = 0.
--   all:     A 3, B 3, A<=X 2, B<=X 2, B>X 1, short 1; SL 2/6 = 0.3333; of answered 2/3;
--            with abandons 4/6; short ignored 2/4 = 0.5; Asterisk 0.6667, 0.6667;
--            ASA (15+55+5)/3 = 25 s; abandon 3/7 = 0.4286; without short 2/6 = 0.3333.
SELECT * FROM cc.report_service_level('2025-01-06', '2025-01-07', 20, 5);
-- X = 10 s: sales A<=X 0 (C1 waited 15 s), B<=X 0 (C4 waited 11 s): SL 0.
SELECT queue_name, answered_within, abandoned_within, service_level
  FROM cc.report_service_level('2025-01-06', '2025-01-07', 10) WHERE queue_name = 'sales';

-- Handle time: talk without hold + hold + after-call work, per call handled.
--   sales:    C1 110+10+30, C2 60+0+20: 2 calls, talk 170 s, hold 10 s, wrap 50 s, AHT 230/2 = 115 s.
--   support:  C7 60+0+10: AHT 70 s.   outbound: O1 30, O3 15: AHT 45/2 = 22.5 s.
--   Alice:    C1, C7, O1: talk 200 s, hold 10 s, wrap 40 s, AHT 250/3 = 83.333 s.
--   Bob:      C2, O3: talk 75 s, wrap 20 s, AHT 95/2 = 47.5 s.
SELECT * FROM cc.report_handle_time('2025-01-06', '2025-01-07');

-- Occupancy = (talking + wrap-up) / (talking + wrap-up + idle):
--   Alice (180 + 40) / (220 + 12346) s = 0.0175;  Bob (60 + 20) / (80 + 86295) s = 0.0009.
SELECT * FROM cc.report_occupancy('2025-01-06', '2025-01-07');

-- Predictive campaign "spring": 10 contacts: 4 never dialled, 3 connected (normal end),
-- 1 lost (answered, no agent), 2 failed after retries.  Completion 6/10, connected
-- 3 + 1 = 4, connect rate 4/10, loss rate 1/(1+3) = 0.25.  Numbers: 4000200 and
-- 4000300 assigned, 4000200 presents a live outbound call: use 1/2.
INSERT INTO cc.campaigns (id, name, state) VALUES ('00000000-0000-0000-0000-0000000000e1', 'spring', 'running');
INSERT INTO cc.campaign_contacts (campaign_id, position, number, state, attempts)
SELECT '00000000-0000-0000-0000-0000000000e1', n, '06' || n, s, a
  FROM (VALUES (1, 'pending', 0), (2, 'pending', 0), (3, 'pending', 0), (4, 'pending', 0),
               (5, 'connected', 1), (6, 'connected', 2), (7, 'connected', 1), (8, 'lost', 1),
               (9, 'failed', 3), (10, 'failed', 3)) AS x (n, s, a);
INSERT INTO cc.campaign_numbers (campaign_id, number_id) VALUES
    ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000d2'),
    ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000d3');
INSERT INTO cc.calls (direction, state, number_id) VALUES ('outbound', 'ringing', '00000000-0000-0000-0000-0000000000d2');
SELECT * FROM cc.report_campaigns();
-- Its calls of the last 30 days (yesterday): K1 and K3 answered and served, K2
-- answered with no agent to take it (abandoned), K4 given up after 10 s of
-- ringing, K5 after 20 s.  Live-answered 3, abandoned 1: 0.3333, over the 3 %
-- cap; one ring shorter than 15 s.
SELECT pg_temp.regress_cdr('K1', 'outbound', '00000000-0000-0000-0000-0000000000a3', now() - interval '1 day', 1, 0, 0, 5, 40, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b1', campaign => '00000000-0000-0000-0000-0000000000e1'),
       pg_temp.regress_cdr('K2', 'outbound', '00000000-0000-0000-0000-0000000000a3', now() - interval '1 day', 1, 0, 0, 5, 10, 'normal_end', 'system',
                           NULL, campaign => '00000000-0000-0000-0000-0000000000e1'),
       pg_temp.regress_cdr('K3', 'outbound', '00000000-0000-0000-0000-0000000000a3', now() - interval '1 day', 1, 0, 0, 5, 40, 'normal_end', 'customer',
                           '00000000-0000-0000-0000-0000000000b2', campaign => '00000000-0000-0000-0000-0000000000e1'),
       pg_temp.regress_cdr('K4', 'outbound', '00000000-0000-0000-0000-0000000000a3', now() - interval '1 day', 1, 0, 0, 10, 0, 'caller_canceled', 'system',
                           campaign => '00000000-0000-0000-0000-0000000000e1'),
       pg_temp.regress_cdr('K5', 'outbound', '00000000-0000-0000-0000-0000000000a3', now() - interval '1 day', 1, 0, 0, 20, 0, 'no_answer', 'system',
                           campaign => '00000000-0000-0000-0000-0000000000e1');
-- (an outbound campaign call reaches the queue once answered)
UPDATE cc.cdrs SET queued_at = answered_at WHERE campaign_id IS NOT NULL AND answered_at IS NOT NULL;
SELECT * FROM cc.report_campaign_compliance();
SELECT within_cap FROM cc.report_campaign_compliance(30, 0.5);

ROLLBACK;

-- Bad periods and thresholds are refused, naming them.
SELECT * FROM cc.report_queue_inbound('2025-01-07', '2025-01-06');
SELECT * FROM cc.report_queue_inbound('2025-01-06', '2025-01-07', -1);
SELECT * FROM cc.report_service_level('2025-01-06', '2025-01-07', 20, NULL);
SELECT * FROM cc.report_campaign_compliance(0);
SELECT * FROM cc.report_campaign_compliance(30, 3);
SELECT * FROM cc.report_traffic(NULL, '2025-01-07');
