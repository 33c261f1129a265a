-- call_control_checks: every CHECK constraint of the call-control tables
-- (number_regions, originations, conferences, conference_participants,
-- transfers, supervisions, self_services, number_mappings).
--
-- Same shape as live_checks: for each constraint one change that obeys the
-- rule (ok) and one that breaks it (refused with the constraint's name),
-- each undone afterwards; then proof that every CHECK of these tables has
-- a case.  All rolled back.
\set VERBOSITY terse
BEGIN;
SELECT regress.cc_fixture();

-- Valid rows the cases change (each insert succeeds).
INSERT INTO cc.originations (call_id, kind, destination, caller_id, customer_uri)
VALUES ('00000000-0000-0000-0000-0000000000c1', 'originate', '+15550100', '+862120001000', 'sip:+15550100@192.0.2.10:5060')
RETURNING kind, ring_timeout_ms;
INSERT INTO cc.conferences (id, call_id) VALUES ('00000000-0000-0000-0000-0000000000cf', '00000000-0000-0000-0000-0000000000c1')
RETURNING state, max_participants;
INSERT INTO cc.conference_participants (conference_id, leg_id)
VALUES ('00000000-0000-0000-0000-0000000000cf', '00000000-0000-0000-0000-0000000000e1')
RETURNING mode, state, muted;
INSERT INTO cc.transfers (call_id, kind, target, to_leg_id)
VALUES ('00000000-0000-0000-0000-0000000000c1', 'consult', '{"kind": "agent"}', '00000000-0000-0000-0000-0000000000e2')
RETURNING kind, state;
INSERT INTO cc.supervisions (call_id, leg_id, party, target_leg_id)
VALUES ('00000000-0000-0000-0000-0000000000c1', '00000000-0000-0000-0000-0000000000e2', '1009',
        '00000000-0000-0000-0000-0000000000e1')
RETURNING mode, state;
INSERT INTO cc.self_services (call_id) VALUES ('00000000-0000-0000-0000-0000000000c1') RETURNING state, saved_flow, collected;
INSERT INTO cc.number_mappings (number, uid) VALUES ('+8613812345678', 'u-1') RETURNING number, uid;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
-- number_regions
('number_regions_prefix_1_to_20_digits_optional_plus', 'a prefix is 1 to 20 digits, optional leading +',
 $$UPDATE cc.number_regions SET prefix = '021' WHERE region = 'shanghai'$$,
 $$UPDATE cc.number_regions SET prefix = '+86-21' WHERE region = 'shanghai'$$),
('number_regions_region_not_blank', 'a region has a name',
 $$UPDATE cc.number_regions SET region = 'sh' WHERE region = 'shanghai'$$,
 $$UPDATE cc.number_regions SET region = ' ' WHERE region = 'shanghai'$$),
-- originations
('originations_kind_in_originate_click_to_call', 'an outbound call is an originate or a click-to-call',
 $$UPDATE cc.originations SET kind = 'click_to_call'$$,
 $$UPDATE cc.originations SET kind = 'campaign'$$),
('originations_ring_timeout_ms_5000_to_300000', 'legs ring 5 to 300 seconds',
 $$UPDATE cc.originations SET ring_timeout_ms = 300000$$,
 $$UPDATE cc.originations SET ring_timeout_ms = 1000$$),
-- conferences
('conferences_state_in_active_ended', 'a conference is active or ended',
 $$UPDATE cc.conferences SET state = 'ended', ended_at = now()$$,
 $$UPDATE cc.conferences SET state = 'paused'$$),
('conferences_max_participants_2_to_250', 'a conference has 2 to 250 participants',
 $$UPDATE cc.conferences SET max_participants = 2$$,
 $$UPDATE cc.conferences SET max_participants = 251$$),
('conferences_ended_iff_ended_at', 'a conference has ended_at exactly when it has ended',
 $$UPDATE cc.conferences SET state = 'ended', ended_at = now()$$,
 $$UPDATE cc.conferences SET ended_at = now()$$),
('conferences_ended_after_created', 'a conference ends after it began',
 $$UPDATE cc.conferences SET state = 'ended', ended_at = created_at$$,
 $$UPDATE cc.conferences SET state = 'ended', ended_at = created_at - interval '1 second'$$),
-- conference_participants
('conference_participants_mode_in_talk_listen_whisper', 'a participant talks, listens or whispers',
 $$UPDATE cc.conference_participants SET mode = 'listen'$$,
 $$UPDATE cc.conference_participants SET mode = 'shout'$$),
('conference_participants_whisper_needs_whisper_to', 'a whisper goes to one leg, and only a whisper',
 $$UPDATE cc.conference_participants SET mode = 'whisper', whisper_to_leg_id = '00000000-0000-0000-0000-0000000000e2'$$,
 $$UPDATE cc.conference_participants SET mode = 'whisper'$$),
('conference_participants_state_in_joining_joined_left', 'a participant is joining, joined or left',
 $$UPDATE cc.conference_participants SET state = 'joined', joined_at = now()$$,
 $$UPDATE cc.conference_participants SET state = 'kicked'$$),
('conference_participants_joined_has_joined_at', 'a joined participant has joined_at',
 $$UPDATE cc.conference_participants SET state = 'joined', joined_at = now()$$,
 $$UPDATE cc.conference_participants SET state = 'joined'$$),
('conference_participants_left_iff_left_at', 'a participant has left_at exactly when it left',
 $$UPDATE cc.conference_participants SET state = 'left', left_at = now()$$,
 $$UPDATE cc.conference_participants SET left_at = now()$$),
('conference_participants_times_ordered', 'joining and leaving come after the participant was added',
 $$UPDATE cc.conference_participants SET state = 'joined', joined_at = created_at$$,
 $$UPDATE cc.conference_participants SET state = 'joined', joined_at = created_at - interval '1 second'$$),
-- transfers
('transfers_kind_in_blind_consult_refer', 'a transfer is blind, consult or refer',
 $$UPDATE cc.transfers SET kind = 'refer'$$,
 $$UPDATE cc.transfers SET kind = 'attended'$$),
('transfers_state_in_dialing_consulting_three_way_completed_etc', 'transfer states are dialing, consulting, three_way, completed, canceled, failed',
 $$UPDATE cc.transfers SET state = 'three_way'$$,
 $$UPDATE cc.transfers SET state = 'ringing'$$),
('transfers_consulting_and_three_way_only_for_consult', 'only a consultation is consulting or three-way',
 $$UPDATE cc.transfers SET state = 'consulting'$$,
 $$UPDATE cc.transfers SET kind = 'blind', state = 'consulting'$$),
('transfers_ended_iff_completed_canceled_or_failed', 'a transfer has ended_at exactly when it is final',
 $$UPDATE cc.transfers SET state = 'failed', ended_at = now()$$,
 $$UPDATE cc.transfers SET state = 'completed'$$),
('transfers_target_is_a_json_object', 'the target is a JSON object',
 $$UPDATE cc.transfers SET target = '{"kind": "queue"}'$$,
 $$UPDATE cc.transfers SET target = '"sales"'$$),
('transfers_times_ordered', 'answer and end come after the start',
 $$UPDATE cc.transfers SET answered_at = created_at$$,
 $$UPDATE cc.transfers SET answered_at = created_at - interval '1 second'$$),
-- supervisions
('supervisions_mode_in_listen_whisper_barge', 'a supervisor listens, whispers or barges',
 $$UPDATE cc.supervisions SET mode = 'barge'$$,
 $$UPDATE cc.supervisions SET mode = 'coach'$$),
('supervisions_state_in_dialing_active_ended', 'a supervision is dialing, active or ended',
 $$UPDATE cc.supervisions SET state = 'active'$$,
 $$UPDATE cc.supervisions SET state = 'paused'$$),
('supervisions_ended_iff_ended_at', 'a supervision has ended_at exactly when it has ended',
 $$UPDATE cc.supervisions SET state = 'ended', ended_at = now()$$,
 $$UPDATE cc.supervisions SET state = 'ended'$$),
('supervisions_times_ordered', 'start and end come after the request',
 $$UPDATE cc.supervisions SET started_at = created_at$$,
 $$UPDATE cc.supervisions SET started_at = created_at - interval '1 second'$$),
-- self_services
('self_services_state_in_running_returned_ended', 'a self-service run is running, returned or ended',
 $$UPDATE cc.self_services SET state = 'returned', ended_at = now()$$,
 $$UPDATE cc.self_services SET state = 'waiting', ended_at = now()$$),
('self_services_ended_iff_not_running', 'a run has ended_at exactly when it is over',
 $$UPDATE cc.self_services SET state = 'ended', ended_at = now()$$,
 $$UPDATE cc.self_services SET state = 'ended'$$),
('self_services_saved_flow_is_a_json_object', 'the saved flow position is a JSON object',
 $$UPDATE cc.self_services SET saved_flow = '{"flow_node": "menu"}'$$,
 $$UPDATE cc.self_services SET saved_flow = '[]'$$),
('self_services_collected_is_a_json_object', 'what the flow collected is a JSON object',
 $$UPDATE cc.self_services SET collected = '{"id_number": "123456"}'$$,
 $$UPDATE cc.self_services SET collected = '"123456"'$$),
('self_services_ended_after_started', 'a run ends after it started',
 $$UPDATE cc.self_services SET state = 'ended', ended_at = started_at$$,
 $$UPDATE cc.self_services SET state = 'ended', ended_at = started_at - interval '1 second'$$),
-- number_mappings
('number_mappings_number_1_to_32_digits_optional_plus', 'a mapped number is 1 to 32 digits, optional leading +',
 $$UPDATE cc.number_mappings SET number = '13812345678'$$,
 $$UPDATE cc.number_mappings SET number = 'unknown'$$),
('number_mappings_uid_1_to_128_chars', 'a user id is 1 to 128 characters',
 $$UPDATE cc.number_mappings SET uid = repeat('u', 128)$$,
 $$UPDATE cc.number_mappings SET uid = ''$$);

CREATE TEMP TABLE results AS
SELECT n, constraint_name, rule, regress.try(good) AS good, regress.try(bad) AS bad FROM cases;

-- Each rule: the good change is accepted, the bad one refused by its constraint.
SELECT rule, good, bad FROM results ORDER BY n;

-- No case where the good change failed or the bad one was refused for another reason.
SELECT n, constraint_name, good, bad FROM results
 WHERE good <> 'ok' OR bad NOT LIKE '%violates check constraint "' || constraint_name || '"%';

-- Every CHECK constraint of these tables has a case.
SELECT conrelid::regclass AS table_name, conname FROM pg_constraint
 WHERE contype = 'c'
   AND conrelid = ANY (ARRAY['cc.number_regions', 'cc.originations', 'cc.conferences',
                             'cc.conference_participants', 'cc.transfers', 'cc.supervisions', 'cc.self_services',
                             'cc.number_mappings']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

-- The unique rules: one live transfer, one active conference, one running
-- self-service per call; a leg in one conference at a time.
SELECT regress.try($$INSERT INTO cc.transfers (call_id, kind, target) VALUES ('00000000-0000-0000-0000-0000000000c1', 'blind', '{}')$$) AS second_live_transfer;
SELECT regress.try($$INSERT INTO cc.conferences (call_id) VALUES ('00000000-0000-0000-0000-0000000000c1')$$) AS second_active_conference;
SELECT regress.try($$INSERT INTO cc.self_services (call_id) VALUES ('00000000-0000-0000-0000-0000000000c1')$$) AS second_running_self_service;
SELECT regress.try($$INSERT INTO cc.conference_participants (conference_id, leg_id)
                     VALUES ('00000000-0000-0000-0000-0000000000cf', '00000000-0000-0000-0000-0000000000e1')$$) AS leg_twice_in_a_conference;
ROLLBACK;
