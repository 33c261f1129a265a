-- live_checks: every CHECK constraint of the live-state tables (calls,
-- legs, queue_entries, offers, registrations, callbacks).
--
-- Same shape as config_checks: for each constraint one change that obeys
-- the rule (ok) and one that breaks it (refused with the constraint's name,
-- which names the column and what it allows), each undone afterwards; then
-- proof that every CHECK of these tables has a case.  All rolled back.
\set VERBOSITY terse
BEGIN;

-- Valid rows the cases change (each insert succeeds).
INSERT INTO cc.agents (name, extension) VALUES ('Ann', '1001'), ('Bob', '1002') RETURNING name, extension;
INSERT INTO cc.phones (name, extension) VALUES ('lobby', '2001') RETURNING name;
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.0/24}') RETURNING name;
INSERT INTO cc.queues (name) VALUES ('sales') RETURNING name;
INSERT INTO cc.calls (direction, caller, callee, created_at)
VALUES ('inbound', '+15550100', '+862120001000', '2025-01-06 10:00:00+00') RETURNING site, direction, state, flow_position, variables;
INSERT INTO cc.legs (call_id, kind, direction, created_at)
SELECT id, 'customer', 'inbound', '2025-01-06 10:00:00+00' FROM cc.calls RETURNING kind, direction, state, hold_state, muted;
INSERT INTO cc.queue_entries (call_id, queue_id, entered_at)
SELECT c.id, q.id, '2025-01-06 10:00:30+00' FROM cc.calls c, cc.queues q RETURNING priority, state;
INSERT INTO cc.offers (queue_entry_id, call_id, agent_id, offered_at)
SELECT e.id, e.call_id, a.id, '2025-01-06 10:00:31+00' FROM cc.queue_entries e, cc.agents a WHERE a.name = 'Ann' RETURNING outcome;
INSERT INTO cc.registrations (agent_id, contact, expires_at, source_ip, source_port)
SELECT id, 'sip:1001@192.0.2.7:5062', '2025-01-06 11:00:00+00', '192.0.2.7', 5062 FROM cc.agents WHERE name = 'Ann' RETURNING contact, transport;
INSERT INTO cc.callbacks (call_id, queue_id, number, requested_at, expires_at)
SELECT c.id, q.id, '+15550100', '2025-01-06 10:01:00+00', '2025-01-07 10:01:00+00' FROM cc.calls c, cc.queues q RETURNING number, state, attempts;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
-- calls
('calls_direction_in_inbound_outbound_internal', 'a call is inbound, outbound or internal',
 $$UPDATE cc.calls SET direction = 'internal'$$,
 $$UPDATE cc.calls SET direction = 'incoming'$$),
('calls_state_in_new_ringing_ivr_queued_offering_connected_ended', 'call states are new, ringing, ivr, queued, offering, connected, ended',
 $$UPDATE cc.calls SET state = 'queued'$$,
 $$UPDATE cc.calls SET state = 'parked'$$),
('calls_flow_position_is_a_json_object', 'the flow position is a JSON object',
 $$UPDATE cc.calls SET flow_position = '{"node": "menu1", "errors": 1}'$$,
 $$UPDATE cc.calls SET flow_position = '"menu1"'$$),
('calls_variables_is_a_json_object', 'call variables are a JSON object',
 $$UPDATE cc.calls SET variables = '{"order_id": "A17"}'$$,
 $$UPDATE cc.calls SET variables = '[1, 2]'$$),
('calls_ended_iff_ended_at', 'a call has ended_at exactly when it is ended',
 $$UPDATE cc.calls SET state = 'ended', ended_at = '2025-01-06 10:05:00+00'$$,
 $$UPDATE cc.calls SET state = 'ended'$$),
('calls_end_cause_lowercase_word', 'an end cause is a lowercase word',
 $$UPDATE cc.calls SET end_cause = 'no_answer'$$,
 $$UPDATE cc.calls SET end_cause = 'No Answer'$$),
('calls_choices_is_a_json_array', 'the caller''s choices are a JSON array',
 $$UPDATE cc.calls SET choices = '[{"kind": "menu", "key": "2"}]'$$,
 $$UPDATE cc.calls SET choices = '{}'$$),
('calls_custom_data_is_a_json_object', 'custom data is a JSON object',
 $$UPDATE cc.calls SET custom_data = '{"crm": 1}'$$,
 $$UPDATE cc.calls SET custom_data = '[]'$$),
('calls_hangup_side_in_customer_agent_system', 'the hangup side is customer, agent or system',
 $$UPDATE cc.calls SET hangup_side = 'customer'$$,
 $$UPDATE cc.calls SET hangup_side = 'carrier'$$),
('calls_times_ordered', 'answer, connect and end come after the start',
 $$UPDATE cc.calls SET answered_at = '2025-01-06 10:00:01+00', connected_at = '2025-01-06 10:00:40+00'$$,
 $$UPDATE cc.calls SET answered_at = '2025-01-06 09:59:59+00'$$),
-- legs
('legs_kind_in_customer_agent_consult_supervisor_external', 'leg kinds are customer, agent, consult, supervisor, external',
 $$UPDATE cc.legs SET kind = 'supervisor'$$,
 $$UPDATE cc.legs SET kind = 'bot'$$),
('legs_direction_in_inbound_outbound', 'a leg is inbound or outbound',
 $$UPDATE cc.legs SET direction = 'outbound'$$,
 $$UPDATE cc.legs SET direction = 'both'$$),
('legs_state_in_new_ringing_answered_ended', 'leg states are new, ringing, answered, ended',
 $$UPDATE cc.legs SET state = 'ringing', ringing_at = '2025-01-06 10:00:00+00'$$,
 $$UPDATE cc.legs SET state = 'early'$$),
('legs_remote_port_1_to_65535', 'a port is 1 to 65535',
 $$UPDATE cc.legs SET remote_ip = '192.0.2.9', remote_port = 5060$$,
 $$UPDATE cc.legs SET remote_port = 70000$$),
('legs_transport_in_udp_tcp_tls_ws_wss', 'SIP transport is udp, tcp, tls, ws or wss',
 $$UPDATE cc.legs SET transport = 'tcp'$$,
 $$UPDATE cc.legs SET transport = 'UDP'$$),
('legs_hold_state_in_none_local_remote_both', 'hold state is none, local, remote or both',
 $$UPDATE cc.legs SET hold_state = 'remote'$$,
 $$UPDATE cc.legs SET hold_state = 'held'$$),
('legs_media_session_not_negative', 'a media session index is not negative',
 $$UPDATE cc.legs SET media_session = 0$$,
 $$UPDATE cc.legs SET media_session = -1$$),
('legs_codec_in_pcmu_pcma_g722', 'codecs are pcmu, pcma, g722',
 $$UPDATE cc.legs SET codec = 'g722'$$,
 $$UPDATE cc.legs SET codec = 'opus'$$),
('legs_sip_code_100_to_699', 'a SIP status is 100 to 699',
 $$UPDATE cc.legs SET sip_code = 486$$,
 $$UPDATE cc.legs SET sip_code = 99$$),
('legs_cause_lowercase_word', 'a cause is a lowercase word',
 $$UPDATE cc.legs SET cause = 'carrier_fault'$$,
 $$UPDATE cc.legs SET cause = '486 Busy'$$),
('legs_ended_iff_ended_at', 'a leg has ended_at exactly when it is ended',
 $$UPDATE cc.legs SET state = 'ended', ended_at = '2025-01-06 10:05:00+00'$$,
 $$UPDATE cc.legs SET ended_at = '2025-01-06 10:05:00+00'$$),
('legs_times_ordered', 'a leg rings after it starts, and is answered after it rings',
 $$UPDATE cc.legs SET ringing_at = '2025-01-06 10:00:01+00', answered_at = '2025-01-06 10:00:05+00'$$,
 $$UPDATE cc.legs SET ringing_at = '2025-01-06 10:00:05+00', answered_at = '2025-01-06 10:00:01+00'$$),
-- queue entries
('queue_entries_priority_1_to_5', 'caller priority is 1 (first) to 5',
 $$UPDATE cc.queue_entries SET priority = 1$$,
 $$UPDATE cc.queue_entries SET priority = 10$$),
('queue_entries_state_in_waiting_offered_answered_abandoned_etc', 'entry states are waiting, offered, answered, abandoned, timeout, overflowed, exited_with_key, callback, no_agent, full, transferred',
 $$UPDATE cc.queue_entries SET state = 'offered'$$,
 $$UPDATE cc.queue_entries SET state = 'lost', left_at = '2025-01-06 10:02:00+00'$$),
('queue_entries_left_iff_not_waiting_or_offered', 'an entry has left_at exactly when it is no longer waiting or offered',
 $$UPDATE cc.queue_entries SET state = 'abandoned', left_at = '2025-01-06 10:02:00+00'$$,
 $$UPDATE cc.queue_entries SET state = 'abandoned'$$),
('queue_entries_announced_position_at_least_1', 'positions start at 1 (next in line)',
 $$UPDATE cc.queue_entries SET announced_position = 1$$,
 $$UPDATE cc.queue_entries SET announced_position = 0$$),
('queue_entries_times_ordered', 'offer, answer and leaving come after entering',
 $$UPDATE cc.queue_entries SET offered_at = '2025-01-06 10:00:31+00'$$,
 $$UPDATE cc.queue_entries SET offered_at = '2025-01-06 10:00:29+00'$$),
-- offers
('offers_one_of_agent_id_or_phone_id', 'an offer rings an agent or a desk phone, not both',
 $$UPDATE cc.offers SET agent_id = NULL, phone_id = (SELECT id FROM cc.phones)$$,
 $$UPDATE cc.offers SET phone_id = (SELECT id FROM cc.phones)$$),
('offers_outcome_in_offered_accepted_rejected_timeout_canceled', 'outcomes are offered, accepted, rejected, timeout, canceled',
 $$UPDATE cc.offers SET outcome = 'timeout', decided_at = '2025-01-06 10:00:46+00'$$,
 $$UPDATE cc.offers SET outcome = 'missed', decided_at = '2025-01-06 10:00:46+00'$$),
('offers_decided_iff_not_offered', 'an offer has decided_at exactly when it has an outcome',
 $$UPDATE cc.offers SET outcome = 'accepted', decided_at = '2025-01-06 10:00:35+00'$$,
 $$UPDATE cc.offers SET outcome = 'accepted'$$),
('offers_decided_after_offered', 'an offer is decided after it was made',
 $$UPDATE cc.offers SET outcome = 'rejected', decided_at = '2025-01-06 10:00:31+00'$$,
 $$UPDATE cc.offers SET outcome = 'rejected', decided_at = '2025-01-06 10:00:30+00'$$),
-- registrations
('registrations_one_of_agent_id_phone_id_trunk_id', 'a registration belongs to one agent, desk phone or trunk',
 $$UPDATE cc.registrations SET agent_id = NULL, trunk_id = (SELECT id FROM cc.trunks)$$,
 $$UPDATE cc.registrations SET agent_id = NULL$$),
('registrations_source_port_1_to_65535', 'a port is 1 to 65535',
 $$UPDATE cc.registrations SET source_port = 65535$$,
 $$UPDATE cc.registrations SET source_port = 0$$),
('registrations_transport_in_udp_tcp_tls_ws_wss', 'SIP transport is udp, tcp, tls, ws or wss (lowercase)',
 $$UPDATE cc.registrations SET transport = 'wss'$$,
 $$UPDATE cc.registrations SET transport = 'TCP'$$),
-- callbacks
('callbacks_number_1_to_32_digits_optional_plus', 'a callback number is 1 to 32 digits, optional leading +',
 $$UPDATE cc.callbacks SET number = '13800138000'$$,
 $$UPDATE cc.callbacks SET number = 'unknown'$$),
('callbacks_state_in_pending_dialing_connected_failed_expired_etc', 'callback states are pending, dialing, connected, failed, expired, canceled',
 $$UPDATE cc.callbacks SET state = 'expired'$$,
 $$UPDATE cc.callbacks SET state = 'done'$$),
('callbacks_attempts_not_negative', 'a count is not negative',
 $$UPDATE cc.callbacks SET attempts = 1$$,
 $$UPDATE cc.callbacks SET attempts = -1$$),
('callbacks_expires_after_requested', 'a callback expires after it was requested',
 $$UPDATE cc.callbacks SET expires_at = requested_at + interval '1 hour'$$,
 $$UPDATE cc.callbacks SET expires_at = requested_at$$);

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
   AND conrelid = ANY (ARRAY['cc.calls', 'cc.legs', 'cc.queue_entries', 'cc.offers', 'cc.registrations', 'cc.callbacks']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

ROLLBACK;
