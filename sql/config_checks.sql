-- config_checks: every CHECK constraint of the configuration tables
-- (settings, prompts, schedules, break_reasons, trunks, agents, phones,
-- webhooks, flows, flow_versions, queues, queue_members, routing_rules,
-- numbers, blacklisted_numbers, campaigns, campaign_contacts).
--
-- For each constraint, one change that obeys the rule (good: ok) and one
-- that breaks it (bad: refused with the constraint's name, which names the
-- column and what it allows).  Each case runs against the same valid rows
-- and is undone afterwards.  The last queries prove that every CHECK of
-- these tables has a case.  Everything is rolled back at the end.
\set VERBOSITY terse
BEGIN;

-- File prompts must name a playable WAV under cc.media_dir (checked by
-- 082_media.sql): make the two the cases below name (20 ms of silence,
-- 8 kHz, 16-bit, mono).
DO $$
DECLARE
    o oid;
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['welcome.wav', 'beep.wav'] LOOP
        o := lo_from_bytea(0, decode('524946466401000057415645666d74201000000001000100401f0000803e0000020010006461746140010000' || repeat('00', 320), 'hex'));
        PERFORM lo_export(o, 'pg_callcenter/media/' || f);
        PERFORM lo_unlink(o);
    END LOOP;
END;
$$;

-- Valid rows the cases change (each insert succeeds).
INSERT INTO cc.prompts (name, kind, tts_text) VALUES ('welcome', 'tts', 'Welcome to ${company}.') RETURNING name, kind, sample_rate;
INSERT INTO cc.schedules (name, time_zone, weekly_slots)
VALUES ('office', 'Europe/Paris', '[{"days": [1,2,3,4,5], "from": "09:00", "to": "18:00"}]') RETURNING name, time_zone;
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.0/24}') RETURNING name, mode, status, port, transport, expiry_s, register_period_s;
INSERT INTO cc.agents (name, extension, sip_ha1) VALUES ('Ann', '1001', md5('1001:pg_callcenter:secret')) RETURNING name, extension, state, mobile_mode, max_no_answer;
INSERT INTO cc.phones (name, extension) VALUES ('lobby', '2001') RETURNING name, extension;
INSERT INTO cc.webhooks (name, url) VALUES ('crm', 'https://crm.example/hook') RETURNING name, event_types, timeout_ms, max_attempts, auth;
INSERT INTO cc.flows (name) VALUES ('main') RETURNING name, kind;
INSERT INTO cc.flow_versions (flow_id, graph) SELECT id, cc.flow_template('blank') FROM cc.flows WHERE name = 'main' RETURNING version, published;
INSERT INTO cc.queues (name) VALUES ('sales'), ('support') RETURNING name, strategy, ring_all_cap, ring_timeout_s, capacity;
INSERT INTO cc.queue_members (queue_id, agent_id)
SELECT q.id, a.id FROM cc.queues q, cc.agents a WHERE q.name = 'sales' RETURNING priority;
INSERT INTO cc.routing_rules (position, name, queue_id) SELECT 1, 'vip', id FROM cc.queues WHERE name = 'sales' RETURNING position, name, priority;
INSERT INTO cc.numbers (number, inbound_flow_id) SELECT '+862120001000', id FROM cc.flows WHERE name = 'main'
RETURNING number, kind, direction, inbound_flow_version, max_concurrent_calls, prefer_last_agent_days;
INSERT INTO cc.blacklisted_numbers (number) VALUES ('+15550100') RETURNING number;
INSERT INTO cc.campaigns (name) VALUES ('spring') RETURNING name, state, priority, max_retries, retry_interval_s;
INSERT INTO cc.campaign_contacts (campaign_id, position, number) SELECT id, 0, '+15550101' FROM cc.campaigns RETURNING position, number, state;

CREATE TEMP TABLE cases (n serial, constraint_name text, rule text, good text, bad text);
INSERT INTO cases (constraint_name, rule, good, bad) VALUES
-- settings
('settings_key_dotted_lowercase', 'a setting key is dotted lowercase words',
 $$INSERT INTO cc.settings (key, value) VALUES ('queue.default_ring_timeout_s', '15')$$,
 $$INSERT INTO cc.settings (key, value) VALUES ('Queue Timeout', '15')$$),
('settings_agent_default_state_idle_or_busy', 'agent.default_state_after_login is "idle" or "busy"',
 $$UPDATE cc.settings SET value = '"busy"' WHERE key = 'agent.default_state_after_login'$$,
 $$UPDATE cc.settings SET value = '"talking"' WHERE key = 'agent.default_state_after_login'$$),
-- prompts
('prompts_kind_in_file_tts', 'a prompt is a file or tts',
 $$UPDATE cc.prompts SET kind = 'file', file_path = 'welcome.wav'$$,
 $$UPDATE cc.prompts SET kind = 'video'$$),
('prompts_file_kind_needs_file_path', 'a file prompt has a file_path',
 $$INSERT INTO cc.prompts (name, kind, file_path) VALUES ('beep', 'file', 'beep.wav')$$,
 $$INSERT INTO cc.prompts (name, kind) VALUES ('beep', 'file')$$),
('prompts_tts_kind_needs_tts_text', 'a tts prompt has a tts_text',
 $$INSERT INTO cc.prompts (name, kind, tts_text) VALUES ('bye', 'tts', 'Goodbye.')$$,
 $$INSERT INTO cc.prompts (name, kind) VALUES ('bye', 'tts')$$),
('prompts_tts_text_1_to_600_chars', 'TTS text is 1 to 600 characters',
 $$UPDATE cc.prompts SET tts_text = repeat('a', 600)$$,
 $$UPDATE cc.prompts SET tts_text = repeat('a', 601)$$),
('prompts_sample_rate_8000_or_16000', 'audio is 8000 or 16000 Hz',
 $$UPDATE cc.prompts SET sample_rate = 16000$$,
 $$UPDATE cc.prompts SET sample_rate = 44100$$),
('prompts_duration_ms_not_negative', 'a duration is not negative',
 $$UPDATE cc.prompts SET duration_ms = 0$$,
 $$UPDATE cc.prompts SET duration_ms = -1$$),
-- schedules
('schedules_time_zone_known_to_postgresql', 'the time zone is one PostgreSQL knows',
 $$UPDATE cc.schedules SET time_zone = 'Asia/Shanghai'$$,
 $$UPDATE cc.schedules SET time_zone = 'Mars/Olympus'$$),
('schedules_weekly_slots_is_a_json_array', 'weekly slots are a JSON array',
 $$UPDATE cc.schedules SET weekly_slots = '[]'$$,
 $$UPDATE cc.schedules SET weekly_slots = '{"days": [1]}'$$),
('schedules_closed_dates_is_a_json_array', 'closed dates are a JSON array',
 $$UPDATE cc.schedules SET closed_dates = '["2025-12-25"]'$$,
 $$UPDATE cc.schedules SET closed_dates = '"2025-12-25"'$$),
-- break reasons
('break_reasons_name_not_blank', 'a break reason has a name',
 $$INSERT INTO cc.break_reasons (name) VALUES ('coaching')$$,
 $$INSERT INTO cc.break_reasons (name) VALUES ('  ')$$),
('break_reasons_position_not_negative', 'positions are not negative',
 $$UPDATE cc.break_reasons SET position = 0 WHERE name = 'meal'$$,
 $$UPDATE cc.break_reasons SET position = -1 WHERE name = 'meal'$$),
-- trunks
('trunks_mode_in_register_in_peering_register_out', 'a trunk mode is register_in, peering or register_out',
 $$UPDATE cc.trunks SET mode = 'register_in', username = 'gw1', sip_ha1 = md5('x')$$,
 $$UPDATE cc.trunks SET mode = 'webrtc'$$),
('trunks_status_in_normal_registered_unregistered_abnormal', 'a trunk status is normal, registered, unregistered or abnormal',
 $$UPDATE cc.trunks SET status = 'abnormal'$$,
 $$UPDATE cc.trunks SET status = 'down'$$),
('trunks_register_in_needs_username_and_sip_ha1', 'register_in needs the account''s username and HA1',
 $$UPDATE cc.trunks SET mode = 'register_in', username = 'gw1', sip_ha1 = md5('x')$$,
 $$UPDATE cc.trunks SET mode = 'register_in', username = 'gw1'$$),
('trunks_peering_needs_peer_addresses', 'peering needs at least one peer address',
 $$UPDATE cc.trunks SET peer_addresses = '{192.0.2.10, 198.51.100.0/24}'$$,
 $$UPDATE cc.trunks SET peer_addresses = '{}'$$),
('trunks_register_out_needs_server_username_password', 'register_out needs server, username and password',
 $$UPDATE cc.trunks SET mode = 'register_out', server = 'sip.carrier.example', username = 'acct', password = 'pw'$$,
 $$UPDATE cc.trunks SET mode = 'register_out', server = 'sip.carrier.example', username = 'acct'$$),
('trunks_sip_ha1_is_32_or_64_hex_digits', 'an HA1 is 32 or 64 lowercase hex digits, never a password',
 $$UPDATE cc.trunks SET sip_ha1 = repeat('ab', 32)$$,
 $$UPDATE cc.trunks SET sip_ha1 = 'secret'$$),
('trunks_register_period_s_60_to_86400', 'register_in period is 60 to 86400 s',
 $$UPDATE cc.trunks SET register_period_s = 60$$,
 $$UPDATE cc.trunks SET register_period_s = 59$$),
('trunks_peer_port_1_to_65535', 'a port is 1 to 65535',
 $$UPDATE cc.trunks SET peer_port = 65535$$,
 $$UPDATE cc.trunks SET peer_port = 65536$$),
('trunks_port_1_to_65535', 'a port is 1 to 65535',
 $$UPDATE cc.trunks SET port = 1$$,
 $$UPDATE cc.trunks SET port = 0$$),
('trunks_transport_in_udp_tcp_tls', 'transport is udp, tcp or tls',
 $$UPDATE cc.trunks SET transport = 'tls'$$,
 $$UPDATE cc.trunks SET transport = 'sctp'$$),
('trunks_expiry_s_60_to_86400', 'register_out expiry is 60 to 86400 s',
 $$UPDATE cc.trunks SET expiry_s = 86400$$,
 $$UPDATE cc.trunks SET expiry_s = 86401$$),
('trunks_max_concurrent_calls_not_negative', 'max concurrent calls is 0 (unlimited) or more',
 $$UPDATE cc.trunks SET max_concurrent_calls = 30$$,
 $$UPDATE cc.trunks SET max_concurrent_calls = -1$$),
-- agents
('agents_name_not_blank', 'an agent has a name',
 $$UPDATE cc.agents SET name = 'Ann Lee'$$,
 $$UPDATE cc.agents SET name = ''$$),
('agents_email_has_one_at_sign', 'an e-mail has one @ and no spaces',
 $$UPDATE cc.agents SET email = 'ann@example.com'$$,
 $$UPDATE cc.agents SET email = 'ann at example.com'$$),
('agents_role_lowercase_word', 'a role is a lowercase word',
 $$UPDATE cc.agents SET role = 'qa_inspector'$$,
 $$UPDATE cc.agents SET role = 'QA Inspector'$$),
('agents_mobile_3_to_20_digits_optional_plus', 'a mobile number is 3 to 20 digits, optional leading +',
 $$UPDATE cc.agents SET mobile = '+8613800138000'$$,
 $$UPDATE cc.agents SET mobile = '138-0013-8000'$$),
('agents_extension_4_to_6_digits_first_1_to_8', 'an extension is 4 to 6 digits, the first 1 to 8',
 $$UPDATE cc.agents SET extension = '899999'$$,
 $$UPDATE cc.agents SET extension = '9001'$$),
('agents_sip_ha1_is_32_or_64_hex_digits', 'an HA1 is 32 or 64 lowercase hex digits, never a password',
 $$UPDATE cc.agents SET sip_ha1 = md5('1001:pg_callcenter:other')$$,
 $$UPDATE cc.agents SET sip_ha1 = 'password123'$$),
('agents_mobile_mode_in_off_when_offline_always', 'mobile mode is off, when_offline or always',
 $$UPDATE cc.agents SET mobile = '13800138000', mobile_mode = 'when_offline'$$,
 $$UPDATE cc.agents SET mobile = '13800138000', mobile_mode = 'sometimes'$$),
('agents_mobile_mode_needs_mobile', 'a mobile mode other than off needs a mobile number',
 $$UPDATE cc.agents SET mobile = '13800138000', mobile_mode = 'always'$$,
 $$UPDATE cc.agents SET mobile_mode = 'always'$$),
('agents_default_state_after_login_idle_or_busy', 'the state after login is idle or busy',
 $$UPDATE cc.agents SET default_state_after_login = 'busy'$$,
 $$UPDATE cc.agents SET default_state_after_login = 'break'$$),
('agents_wrap_up_s_0_to_3600', 'wrap-up is 0 to 3600 s',
 $$UPDATE cc.agents SET wrap_up_s = 3600$$,
 $$UPDATE cc.agents SET wrap_up_s = -5$$),
('agents_state_in_offline_idle_busy_break_ringing_talking_wrap_up', 'agent states are offline, idle, busy, break, ringing, talking, wrap_up',
 $$UPDATE cc.agents SET state = 'wrap_up'$$,
 $$UPDATE cc.agents SET state = 'away'$$),
('agents_state_before_call_in_idle_busy_break', 'the state to return to after wrap-up is idle, busy or break',
 $$UPDATE cc.agents SET state_before_call = 'break'$$,
 $$UPDATE cc.agents SET state_before_call = 'talking'$$),
('agents_max_no_answer_not_negative', 'max no-answer is 0 (never) or more',
 $$UPDATE cc.agents SET max_no_answer = 0$$,
 $$UPDATE cc.agents SET max_no_answer = -1$$),
('agents_no_answer_count_not_negative', 'a count is not negative',
 $$UPDATE cc.agents SET no_answer_count = 2$$,
 $$UPDATE cc.agents SET no_answer_count = -1$$),
-- phones
('phones_extension_4_to_6_digits_first_1_to_8', 'an extension is 4 to 6 digits, the first 1 to 8',
 $$UPDATE cc.phones SET extension = '1000'$$,
 $$UPDATE cc.phones SET extension = '0123'$$),
('phones_sip_ha1_is_32_or_64_hex_digits', 'an HA1 is 32 or 64 lowercase hex digits, never a password',
 $$UPDATE cc.phones SET sip_ha1 = md5('2001:pg_callcenter:pw')$$,
 $$UPDATE cc.phones SET sip_ha1 = 'ABC'$$),
-- webhooks
('webhooks_url_http_or_https', 'a webhook URL is http:// or https://',
 $$UPDATE cc.webhooks SET url = 'http://127.0.0.1:8080/events'$$,
 $$UPDATE cc.webhooks SET url = 'ftp://crm.example/hook'$$),
('webhooks_event_types_not_empty', 'a webhook subscribes to at least one event type (* = all)',
 $$UPDATE cc.webhooks SET event_types = '{call.ended,cdr}'$$,
 $$UPDATE cc.webhooks SET event_types = '{}'$$),
('webhooks_headers_is_a_json_object', 'headers are a JSON object',
 $$UPDATE cc.webhooks SET headers = '{"X-Tenant": "42"}'$$,
 $$UPDATE cc.webhooks SET headers = '["X-Tenant: 42"]'$$),
('webhooks_timeout_ms_100_to_60000', 'a delivery timeout is 100 to 60000 ms',
 $$UPDATE cc.webhooks SET timeout_ms = 100$$,
 $$UPDATE cc.webhooks SET timeout_ms = 60001$$),
('webhooks_max_attempts_1_to_100', 'max attempts is 1 to 100',
 $$UPDATE cc.webhooks SET max_attempts = 1$$,
 $$UPDATE cc.webhooks SET max_attempts = 0$$),
('webhooks_auth_in_none_basic_bearer', 'authentication is none, basic or bearer',
 $$UPDATE cc.webhooks SET auth = 'bearer', auth_secret = 'token'$$,
 $$UPDATE cc.webhooks SET auth = 'oauth2'$$),
('webhooks_basic_auth_needs_username_and_secret', 'basic authentication needs a username and a password',
 $$UPDATE cc.webhooks SET auth = 'basic', auth_username = 'u', auth_secret = 'p'$$,
 $$UPDATE cc.webhooks SET auth = 'basic', auth_username = 'u'$$),
('webhooks_bearer_auth_needs_secret', 'bearer authentication needs a token',
 $$UPDATE cc.webhooks SET auth = 'bearer', auth_secret = 'token'$$,
 $$UPDATE cc.webhooks SET auth = 'bearer'$$),
-- flows
('flows_name_not_blank', 'a flow has a name',
 $$UPDATE cc.flows SET name = 'main menu'$$,
 $$UPDATE cc.flows SET name = ' '$$),
('flows_kind_in_inbound_self_service_auto_outbound_outbound', 'flow kinds are inbound, self_service, auto_outbound, outbound',
 $$UPDATE cc.flows SET kind = 'self_service'$$,
 $$UPDATE cc.flows SET kind = 'chat'$$),
('flows_callback_url_http_or_https', 'a callback URL is http:// or https://',
 $$UPDATE cc.flows SET callback_url = 'https://crm.example/collected'$$,
 $$UPDATE cc.flows SET callback_url = 'crm.example/collected'$$),
-- flow versions
('flow_versions_version_1_to_40_letters_digits_dot_dash', 'a version name is 1 to 40 letters, digits, _ . -',
 $$UPDATE cc.flow_versions SET version = 'v2.1-beta'$$,
 $$UPDATE cc.flow_versions SET version = 'version two'$$),
('flow_versions_graph_is_a_json_object', 'a graph is a JSON object',
 $$UPDATE cc.flow_versions SET graph = '{"nodes": [{"id": "start", "type": "start", "connections": {"next": "end"}}, {"id": "end", "type": "end"}]}'$$,
 $$UPDATE cc.flow_versions SET graph = '[]'$$),
('flow_versions_published_needs_published_at', 'a published version has a publication time',
 $$UPDATE cc.flow_versions SET published = true, published_at = now()$$,
 $$UPDATE cc.flow_versions SET published = true$$),
('flow_versions_not_based_on_itself', 'a version is not based on itself',
 $$WITH v AS (INSERT INTO cc.flow_versions (flow_id, version) SELECT flow_id, 'V2' FROM cc.flow_versions RETURNING id)
   UPDATE cc.flow_versions SET based_on_id = (SELECT id FROM v) WHERE version = 'MAIN'$$,
 $$UPDATE cc.flow_versions SET based_on_id = id$$),
-- queues
('queues_name_not_blank', 'a queue has a name',
 $$UPDATE cc.queues SET name = 'sales EU' WHERE name = 'sales'$$,
 $$UPDATE cc.queues SET name = '' WHERE name = 'sales'$$),
('queues_strategy_in_ring_all_sequential_longest_idle_etc', 'strategies are ring_all, sequential, longest_idle, fewest_calls, fewest_calls_today, least_talk_time, round_robin, random, top_down, ring_progressively',
 $$UPDATE cc.queues SET strategy = 'ring_progressively'$$,
 $$UPDATE cc.queues SET strategy = 'fastest_agent'$$),
('queues_ring_all_cap_1_to_100', 'ring_all rings 1 to 100 endpoints',
 $$UPDATE cc.queues SET ring_all_cap = 100$$,
 $$UPDATE cc.queues SET ring_all_cap = 0$$),
('queues_ring_timeout_s_1_to_600', 'a ring timeout is 1 to 600 s',
 $$UPDATE cc.queues SET ring_timeout_s = 600$$,
 $$UPDATE cc.queues SET ring_timeout_s = 0$$),
('queues_max_wait_s_not_negative', 'max wait is 0 (no limit) or more seconds',
 $$UPDATE cc.queues SET max_wait_s = 0$$,
 $$UPDATE cc.queues SET max_wait_s = -1$$),
('queues_max_length_not_negative', 'max length is 0 (no limit) or more callers',
 $$UPDATE cc.queues SET max_length = 50$$,
 $$UPDATE cc.queues SET max_length = -1$$),
('queues_no_agent_action_in_wait_overflow_hang_up', 'with no agent: wait, overflow or hang_up',
 $$UPDATE cc.queues SET no_agent_action = 'hang_up'$$,
 $$UPDATE cc.queues SET no_agent_action = 'voicemail'$$),
('queues_overflow_needs_overflow_queue', 'overflow needs an overflow queue',
 $$UPDATE cc.queues SET no_agent_action = 'overflow', overflow_queue_id = (SELECT id FROM cc.queues WHERE name = 'support') WHERE name = 'sales'$$,
 $$UPDATE cc.queues SET no_agent_action = 'overflow' WHERE name = 'sales'$$),
('queues_overflow_queue_not_itself', 'a queue does not overflow to itself',
 $$UPDATE cc.queues SET overflow_queue_id = (SELECT id FROM cc.queues WHERE name = 'support') WHERE name = 'sales'$$,
 $$UPDATE cc.queues SET overflow_queue_id = id WHERE name = 'sales'$$),
('queues_exit_key_one_of_0_9_star_hash', 'an exit key is one of 0-9, *, #',
 $$UPDATE cc.queues SET exit_key = '#'$$,
 $$UPDATE cc.queues SET exit_key = 'A'$$),
('queues_announce_interval_s_0_or_10_to_3600', 'announcements are off (0) or every 10 to 3600 s',
 $$UPDATE cc.queues SET announce_interval_s = 10$$,
 $$UPDATE cc.queues SET announce_interval_s = 5$$),
('queues_wrap_up_s_0_to_3600', 'wrap-up is 0 to 3600 s',
 $$UPDATE cc.queues SET wrap_up_s = 30$$,
 $$UPDATE cc.queues SET wrap_up_s = 3601$$),
('queues_pickup_code_star_and_1_to_4_digits', 'a pickup code is * and 1 to 4 digits',
 $$UPDATE cc.queues SET pickup_code = '*8' WHERE name = 'sales'$$,
 $$UPDATE cc.queues SET pickup_code = '*12345' WHERE name = 'sales'$$),
('queues_capacity_1_to_100', 'capacity per agent is 1 to 100 calls',
 $$UPDATE cc.queues SET capacity = 2$$,
 $$UPDATE cc.queues SET capacity = 0$$),
-- queue members
('queue_members_one_of_agent_id_or_phone_id', 'a member is an agent or a desk phone, not both, not neither',
 $$INSERT INTO cc.queue_members (queue_id, phone_id) SELECT q.id, p.id FROM cc.queues q, cc.phones p WHERE q.name = 'sales'$$,
 $$UPDATE cc.queue_members SET phone_id = (SELECT id FROM cc.phones)$$),
('queue_members_priority_1_to_5', 'member priority is 1 (highest) to 5 (lowest)',
 $$UPDATE cc.queue_members SET priority = 5$$,
 $$UPDATE cc.queue_members SET priority = 6$$),
('queue_members_position_not_negative', 'positions are not negative',
 $$UPDATE cc.queue_members SET position = 3$$,
 $$UPDATE cc.queue_members SET position = -3$$),
-- routing rules
('routing_rules_position_not_negative', 'positions are not negative',
 $$UPDATE cc.routing_rules SET position = 0$$,
 $$UPDATE cc.routing_rules SET position = -1$$),
('routing_rules_match_variables_is_a_json_object', 'matched variables are a JSON object',
 $$UPDATE cc.routing_rules SET match_variables = '{"tier": "gold"}'$$,
 $$UPDATE cc.routing_rules SET match_variables = '"gold"'$$),
('routing_rules_priority_1_to_5', 'caller priority is 1 (first) to 5',
 $$UPDATE cc.routing_rules SET priority = 1$$,
 $$UPDATE cc.routing_rules SET priority = 0$$),
('routing_rules_timeout_s_1_to_86400', 'a rule timeout is 1 to 86400 s',
 $$UPDATE cc.routing_rules SET timeout_s = 30$$,
 $$UPDATE cc.routing_rules SET timeout_s = 0$$),
-- numbers
('numbers_number_3_to_20_digits_optional_plus', 'a number is 3 to 20 digits, optional leading +',
 $$UPDATE cc.numbers SET number = '4008001234'$$,
 $$UPDATE cc.numbers SET number = '+86 21 2000 1000'$$),
('numbers_kind_in_landline_toll_free_sip_trunk', 'number kinds are landline, toll_free, sip_trunk',
 $$UPDATE cc.numbers SET kind = 'sip_trunk'$$,
 $$UPDATE cc.numbers SET kind = 'mobile'$$),
('numbers_direction_in_in_out_both', 'a number is for in, out or both',
 $$UPDATE cc.numbers SET direction = 'out'$$,
 $$UPDATE cc.numbers SET direction = 'inbound'$$),
('numbers_toll_free_is_inbound_only', 'toll-free numbers are inbound only',
 $$UPDATE cc.numbers SET kind = 'toll_free', direction = 'in'$$,
 $$UPDATE cc.numbers SET kind = 'toll_free', direction = 'both'$$),
('numbers_max_concurrent_calls_not_negative', 'max concurrent calls is 0 (unlimited) or more',
 $$UPDATE cc.numbers SET max_concurrent_calls = 10$$,
 $$UPDATE cc.numbers SET max_concurrent_calls = -1$$),
('numbers_max_calls_per_second_not_negative', 'max calls per second is 0 (unlimited) or more',
 $$UPDATE cc.numbers SET max_calls_per_second = 5$$,
 $$UPDATE cc.numbers SET max_calls_per_second = -5$$),
('numbers_prefer_last_agent_days_1_to_365', 'prefer-last-agent looks back 1 to 365 days',
 $$UPDATE cc.numbers SET prefer_last_agent = true, prefer_last_agent_days = 3$$,
 $$UPDATE cc.numbers SET prefer_last_agent = true, prefer_last_agent_days = 0$$),
-- blacklist
('blacklisted_numbers_number_1_to_32_digits_optional_plus', 'a blacklisted number is 1 to 32 digits, optional leading +',
 $$INSERT INTO cc.blacklisted_numbers (number) VALUES ('110')$$,
 $$INSERT INTO cc.blacklisted_numbers (number) VALUES ('anonymous')$$),
('blacklisted_numbers_expires_after_created', 'an entry expires after it was made',
 $$UPDATE cc.blacklisted_numbers SET expires_at = created_at + interval '1 day'$$,
 $$UPDATE cc.blacklisted_numbers SET expires_at = created_at - interval '1 day'$$),
-- campaigns
('campaigns_name_1_to_40_chars', 'a campaign name is 1 to 40 characters',
 $$UPDATE cc.campaigns SET name = repeat('c', 40)$$,
 $$UPDATE cc.campaigns SET name = repeat('c', 41)$$),
('campaigns_state_in_pending_running_paused_aborted_completed', 'campaign states are pending, running, paused, aborted, completed',
 $$UPDATE cc.campaigns SET state = 'paused'$$,
 $$UPDATE cc.campaigns SET state = 'stopped'$$),
('campaigns_priority_1_to_5', 'campaign priority is 1 to 5',
 $$UPDATE cc.campaigns SET priority = 5$$,
 $$UPDATE cc.campaigns SET priority = 9$$),
('campaigns_dial_order_in_as_uploaded_random', 'dial order is as_uploaded or random',
 $$UPDATE cc.campaigns SET dial_order = 'random'$$,
 $$UPDATE cc.campaigns SET dial_order = 'alphabetical'$$),
('campaigns_max_retries_0_to_10', 'retries are 0 to 10',
 $$UPDATE cc.campaigns SET max_retries = 0$$,
 $$UPDATE cc.campaigns SET max_retries = 11$$),
('campaigns_retry_interval_s_min_60_step_60', 'the retry interval is at least 60 s, in steps of 60 s',
 $$UPDATE cc.campaigns SET retry_interval_s = 60$$,
 $$UPDATE cc.campaigns SET retry_interval_s = 90$$),
('campaigns_expected_loss_rate_0_to_1', 'the expected loss rate is a share from 0 to 1',
 $$UPDATE cc.campaigns SET expected_loss_rate = 0.05$$,
 $$UPDATE cc.campaigns SET expected_loss_rate = 3$$),
('campaigns_ends_after_starts', 'a campaign ends after it starts',
 $$UPDATE cc.campaigns SET starts_at = '2025-03-01 09:00+00', ends_at = '2025-03-31 18:00+00'$$,
 $$UPDATE cc.campaigns SET starts_at = '2025-03-31 18:00+00', ends_at = '2025-03-01 09:00+00'$$),
-- campaign contacts
('campaign_contacts_position_not_negative', 'positions are not negative',
 $$UPDATE cc.campaign_contacts SET position = 7$$,
 $$UPDATE cc.campaign_contacts SET position = -7$$),
('campaign_contacts_number_1_to_32_digits_optional_plus', 'a contact number is 1 to 32 digits, optional leading +',
 $$UPDATE cc.campaign_contacts SET number = '13800138000'$$,
 $$UPDATE cc.campaign_contacts SET number = 'call me'$$),
('campaign_contacts_data_is_a_json_object', 'contact data is a JSON object',
 $$UPDATE cc.campaign_contacts SET data = '{"name": "Bo"}'$$,
 $$UPDATE cc.campaign_contacts SET data = '["Bo"]'$$),
('campaign_contacts_state_in_pending_dialing_connected_lost_etc', 'contact states are pending, dialing, connected, lost, failed, skipped',
 $$UPDATE cc.campaign_contacts SET state = 'lost'$$,
 $$UPDATE cc.campaign_contacts SET state = 'done'$$),
('campaign_contacts_attempts_not_negative', 'a count is not negative',
 $$UPDATE cc.campaign_contacts SET attempts = 2$$,
 $$UPDATE cc.campaign_contacts SET attempts = -2$$),
('campaign_contacts_last_result_lowercase_word', 'a result is a lowercase word',
 $$UPDATE cc.campaign_contacts SET last_result = 'no_answer'$$,
 $$UPDATE cc.campaign_contacts SET last_result = 'No Answer'$$),
('campaign_contacts_amd_result_in_human_machine_not_sure', 'machine detection says human, machine or not_sure',
 $$UPDATE cc.campaign_contacts SET amd_result = 'machine'$$,
 $$UPDATE cc.campaign_contacts SET amd_result = 'fax'$$);

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
   AND conrelid = ANY (ARRAY['cc.settings', 'cc.prompts', 'cc.schedules', 'cc.break_reasons', 'cc.trunks',
                             'cc.agents', 'cc.phones', 'cc.webhooks', 'cc.flows', 'cc.flow_versions',
                             'cc.queues', 'cc.queue_members', 'cc.routing_rules', 'cc.numbers',
                             'cc.blacklisted_numbers', 'cc.campaigns', 'cc.campaign_contacts']::regclass[])
   AND conname NOT IN (SELECT constraint_name FROM cases)
 ORDER BY 1, 2;

ROLLBACK;
