-- history_checks: every CHECK constraint of the history tables (cdrs,
-- cdr_legs, recordings, agent_state_log, webhook_outbox, webhook_attempts).
--
-- Same shape as config_checks: for each constraint one change that obeys
-- the rule (ok) and one that breaks it (refused with the constraint's name,
-- which names the column and what it allows), each undone afterwards; then
-- proof that every CHECK of these tables has a case.  All rolled back.
\set VERBOSITY terse
BEGIN;

-- Valid rows the cases change (each insert succeeds).
INSERT INTO cc.cdrs (call_id, direction, access_status, started_at, ringing_at, answered_at, ended_at)
VALUES (gen_random_uuid(), 'inbound', 'normal_end', '2025-01-06 10:00:00+00', '2025-01-06 10:00:30+00',
        '2025-01-06 10:00:35+00', '2025-01-06 10:05:00+00') RETURNING site, direction, access_status, menu_choices, custom_data;
INSERT INTO cc.cdr_legs (cdr_id, leg_id, kind, direction, created_at)
SELECT id, gen_random_uuid(), 'customer', 'inbound', '2025-01-06 10:00:00+00' FROM cc.cdrs RETURNING kind, direction;
INSERT INTO cc.recordings (call_id, file_path, started_at)
SELECT call_id, '2025/01/06/call.wav', '2025-01-06 10:00:35+00' FROM cc.cdrs RETURNING kind, file_path, channels, sample_rate, state;
INSERT INTO cc.agent_state_log (agent_id, from_state, to_state, reason, at)
VALUES (gen_random_uuid(), 'offline', 'idle', 'login', '2025-01-06 09:00:00+00') RETURNING from_state, to_state, reason;
INSERT INTO cc.webhooks (name, url) VALUES ('crm', 'https://crm.example/hook') RETURNING name;
INSERT INTO cc.webhook_outbox (webhook_id, event_type, payload)
SELECT id, 'call.ended', '{"type": "call.ended"}' FROM cc.webhooks RETURNING event_type, state, attempts;
INSERT INTO cc.webhook_attempts (outbox_id, attempt) SELECT id, 1 FROM cc.webhook_outbox RETURNING attempt;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
-- cdrs
('cdrs_direction_in_inbound_outbound_internal', 'a call is inbound, outbound or internal',
 $$UPDATE cc.cdrs SET direction = 'outbound', access_status = 'no_answer'$$,
 $$UPDATE cc.cdrs SET direction = 'in'$$),
('cdrs_agent_endpoint_in_softphone_desk_phone_mobile', 'an agent endpoint is softphone, desk_phone or mobile',
 $$UPDATE cc.cdrs SET agent_endpoint = 'desk_phone'$$,
 $$UPDATE cc.cdrs SET agent_endpoint = 'pc'$$),
('cdrs_access_status_in_reference_inbound_outbound_lists', 'access status is one of the reference''s inbound or outbound statuses',
 $$UPDATE cc.cdrs SET access_status = 'queue_abandoned'$$,
 $$UPDATE cc.cdrs SET access_status = 'hung_up'$$),
('cdrs_times_ordered_start_ring_answer_end', 'start <= ring <= answer <= end',
 $$UPDATE cc.cdrs SET answered_at = ringing_at$$,
 $$UPDATE cc.cdrs SET answered_at = ringing_at - interval '1 second'$$),
('cdrs_durations_ms_not_negative', 'durations are not negative',
 $$UPDATE cc.cdrs SET ring_ms = 5000, talk_ms = 265000, queue_ms = 30000, total_ms = 300000$$,
 $$UPDATE cc.cdrs SET talk_ms = -1, total_ms = -1$$),
('cdrs_durations_add_up_to_total_ms', 'setup + ivr + queue + ring + talk = total',
 $$UPDATE cc.cdrs SET setup_ms = 1000, ivr_ms = 29000, ring_ms = 5000, talk_ms = 265000, total_ms = 300000$$,
 $$UPDATE cc.cdrs SET talk_ms = 265000, total_ms = 300000$$),
('cdrs_hold_ms_within_talk_ms', 'hold time is part of talk time',
 $$UPDATE cc.cdrs SET talk_ms = 60000, hold_ms = 10000, total_ms = 60000$$,
 $$UPDATE cc.cdrs SET talk_ms = 60000, hold_ms = 60001, total_ms = 60000$$),
('cdrs_hangup_side_in_customer_agent_system', 'the hangup side is customer, agent or system',
 $$UPDATE cc.cdrs SET hangup_side = 'agent'$$,
 $$UPDATE cc.cdrs SET hangup_side = 'both'$$),
('cdrs_satisfaction_key_one_of_0_9_star_hash', 'a survey key is one of 0-9, *, #',
 $$UPDATE cc.cdrs SET satisfaction_key = '1', satisfaction_label = 'satisfied'$$,
 $$UPDATE cc.cdrs SET satisfaction_key = '10'$$),
('cdrs_satisfaction_label_needs_key', 'a survey label goes with its key',
 $$UPDATE cc.cdrs SET satisfaction_key = '5', satisfaction_label = 'very satisfied'$$,
 $$UPDATE cc.cdrs SET satisfaction_label = 'very satisfied'$$),
('cdrs_menu_choices_is_a_json_array', 'menu choices are a JSON array',
 $$UPDATE cc.cdrs SET menu_choices = '[{"node": "menu1", "key": "2", "label": "sales"}]'$$,
 $$UPDATE cc.cdrs SET menu_choices = '{"menu1": "2"}'$$),
('cdrs_custom_data_is_a_json_object', 'custom data is a JSON object',
 $$UPDATE cc.cdrs SET custom_data = '{"ticket": "T-9"}'$$,
 $$UPDATE cc.cdrs SET custom_data = '"T-9"'$$),
-- cdr legs
('cdr_legs_kind_in_customer_agent_consult_supervisor_external', 'leg kinds are customer, agent, consult, supervisor, external',
 $$UPDATE cc.cdr_legs SET kind = 'agent'$$,
 $$UPDATE cc.cdr_legs SET kind = 'ivr'$$),
('cdr_legs_direction_in_inbound_outbound', 'a leg is inbound or outbound',
 $$UPDATE cc.cdr_legs SET direction = 'outbound'$$,
 $$UPDATE cc.cdr_legs SET direction = 'out'$$),
('cdr_legs_sip_code_100_to_699', 'a SIP status is 100 to 699',
 $$UPDATE cc.cdr_legs SET sip_code = 200$$,
 $$UPDATE cc.cdr_legs SET sip_code = 700$$),
('cdr_legs_times_ordered', 'a leg starts, rings, is answered and ends in that order',
 $$UPDATE cc.cdr_legs SET answered_at = created_at, ended_at = created_at + interval '1 minute'$$,
 $$UPDATE cc.cdr_legs SET answered_at = created_at, ended_at = created_at - interval '1 minute'$$),
-- recordings
('recordings_kind_in_call_voicemail', 'a recording is of a call or a voicemail',
 $$UPDATE cc.recordings SET kind = 'voicemail'$$,
 $$UPDATE cc.recordings SET kind = 'screen'$$),
('recordings_channels_1_or_2', 'a recording has 1 (mixed) or 2 (one per party) channels',
 $$UPDATE cc.recordings SET channels = 1$$,
 $$UPDATE cc.recordings SET channels = 3$$),
('recordings_sample_rate_8000_or_16000', 'audio is 8000 or 16000 Hz',
 $$UPDATE cc.recordings SET sample_rate = 16000$$,
 $$UPDATE cc.recordings SET sample_rate = 48000$$),
('recordings_state_in_recording_paused_complete_failed', 'recording states are recording, paused, complete, failed',
 $$UPDATE cc.recordings SET state = 'complete'$$,
 $$UPDATE cc.recordings SET state = 'stopped'$$),
('recordings_duration_ms_not_negative', 'a duration is not negative',
 $$UPDATE cc.recordings SET duration_ms = 265000$$,
 $$UPDATE cc.recordings SET duration_ms = -1$$),
('recordings_bytes_not_negative', 'a size is not negative',
 $$UPDATE cc.recordings SET bytes = 8480044$$,
 $$UPDATE cc.recordings SET bytes = -1$$),
('recordings_ended_after_started', 'a recording ends after it starts',
 $$UPDATE cc.recordings SET ended_at = started_at + interval '265 seconds'$$,
 $$UPDATE cc.recordings SET ended_at = started_at - interval '1 second'$$),
-- agent state log
('agent_state_log_from_state_in_offline_idle_busy_break_etc', 'states are offline, idle, busy, break, ringing, talking, wrap_up',
 $$UPDATE cc.agent_state_log SET from_state = 'wrap_up'$$,
 $$UPDATE cc.agent_state_log SET from_state = 'lunch'$$),
('agent_state_log_to_state_in_offline_idle_busy_break_etc', 'states are offline, idle, busy, break, ringing, talking, wrap_up',
 $$UPDATE cc.agent_state_log SET to_state = 'break'$$,
 $$UPDATE cc.agent_state_log SET to_state = 'available'$$),
-- webhook outbox
('webhook_outbox_state_in_waiting_pending_delivering_etc', 'delivery states are waiting, pending, delivering, delivered, dead',
 $$UPDATE cc.webhook_outbox SET state = 'dead'$$,
 $$UPDATE cc.webhook_outbox SET state = 'failed'$$),
('webhook_outbox_attempts_not_negative', 'a count is not negative',
 $$UPDATE cc.webhook_outbox SET attempts = 3$$,
 $$UPDATE cc.webhook_outbox SET attempts = -1$$),
('webhook_outbox_delivered_iff_delivered_at', 'a delivery has delivered_at exactly when it is delivered',
 $$UPDATE cc.webhook_outbox SET state = 'delivered', delivered_at = now()$$,
 $$UPDATE cc.webhook_outbox SET state = 'delivered'$$),
('webhook_outbox_last_status_100_to_599', 'an HTTP status is 100 to 599',
 $$UPDATE cc.webhook_outbox SET last_status = 503$$,
 $$UPDATE cc.webhook_outbox SET last_status = 600$$),
('webhook_outbox_delivering_has_claim', 'a delivery in flight says when and by whom it was claimed',
 $$UPDATE cc.webhook_outbox SET state = 'delivering', claimed_at = now(), claimed_pid = 4242$$,
 $$UPDATE cc.webhook_outbox SET state = 'delivering'$$),
-- webhook attempts
('webhook_attempts_attempt_at_least_1', 'attempts are numbered from 1',
 $$UPDATE cc.webhook_attempts SET attempt = 2$$,
 $$UPDATE cc.webhook_attempts SET attempt = 0$$),
('webhook_attempts_duration_ms_not_negative', 'a duration is not negative',
 $$UPDATE cc.webhook_attempts SET duration_ms = 12$$,
 $$UPDATE cc.webhook_attempts SET duration_ms = -12$$),
('webhook_attempts_http_status_100_to_599', 'an HTTP status is 100 to 599',
 $$UPDATE cc.webhook_attempts SET http_status = 200$$,
 $$UPDATE cc.webhook_attempts SET http_status = 99$$),
('webhook_attempts_retry_after_s_not_negative', 'Retry-After is not negative',
 $$UPDATE cc.webhook_attempts SET retry_after_s = 30$$,
 $$UPDATE cc.webhook_attempts SET retry_after_s = -30$$);

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
   AND conrelid = ANY (ARRAY['cc.cdrs', 'cc.cdr_legs', 'cc.recordings', 'cc.agent_state_log', 'cc.webhook_outbox', 'cc.webhook_attempts']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

ROLLBACK;
