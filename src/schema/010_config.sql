-- 010_config.sql: configuration of people, lines and reusable pieces.
--
-- Settings, prompts, schedules, break reasons, trunks (SIP channels),
-- agents, desk phones and webhook subscriptions.  Flows, queues and numbers
-- follow in 020-035 because they refer to these.  Every limit of
-- spec/features.md is a named CHECK constraint whose name says the rule, so
-- a refused row names the column and what is allowed.

-- settings -------------------------------------------------------------------

CREATE TABLE cc.settings (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    key         text        NOT NULL UNIQUE,
    value       jsonb       NOT NULL,
    description text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT settings_key_dotted_lowercase
        CHECK (key ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    CONSTRAINT settings_agent_default_state_idle_or_busy
        CHECK (key <> 'agent.default_state_after_login' OR value IN ('"idle"', '"busy"'))
);
COMMENT ON TABLE cc.settings IS 'Site-wide settings as key and JSON value, e.g. agent.default_state_after_login.';
COMMENT ON COLUMN cc.settings.id IS 'Setting id.';
COMMENT ON COLUMN cc.settings.key IS 'Name of the setting, dotted lowercase words (domain.name).';
COMMENT ON COLUMN cc.settings.value IS 'Value of the setting (JSON: a string, number, boolean, object or array).';
COMMENT ON COLUMN cc.settings.description IS 'What the setting does, for people.';
COMMENT ON COLUMN cc.settings.updated_at IS 'When the setting last changed.';
CREATE TRIGGER settings_touch BEFORE UPDATE ON cc.settings FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

INSERT INTO cc.settings (key, value, description) VALUES
    ('agent.default_state_after_login', '"idle"', 'State an agent enters when it logs in: idle or busy.'),
    ('cdr.retention_days', '90', 'Days CDRs and recordings are kept (the reference keeps 3 months).'),
    ('events.retention_days', '90', 'Days events are kept.'),
    ('callback.expiry_hours', '24', 'Hours after which a queue callback request that was not served expires.');

-- cc.setting_int reads an integer setting of cc.settings (retention, webhook
-- back-off, call-control timeouts), falling back when it is missing.
CREATE FUNCTION cc.setting_int(key text, fallback integer) RETURNS integer
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce((SELECT CASE WHEN jsonb_typeof(s.value) = 'number' THEN s.value::text::numeric::integer
                                 WHEN s.value #>> '{}' ~ '^[0-9]+$' THEN (s.value #>> '{}')::integer END
                       FROM cc.settings AS s WHERE s.key = setting_int.key),
                    fallback);
$$;
COMMENT ON FUNCTION cc.setting_int(text, integer) IS
    'The integer value of setting key in cc.settings (a JSON number, or a string of digits), or fallback when it is missing or not an integer.';

-- prompts --------------------------------------------------------------------

CREATE TABLE cc.prompts (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text        NOT NULL UNIQUE,
    kind        text        NOT NULL DEFAULT 'file',
    file_path   text,
    tts_text    text,
    voice       text,
    sample_rate integer     NOT NULL DEFAULT 8000,
    duration_ms integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT prompts_kind_in_file_tts
        CHECK (kind IN ('file', 'tts')),
    CONSTRAINT prompts_file_kind_needs_file_path
        CHECK (kind <> 'file' OR file_path IS NOT NULL),
    CONSTRAINT prompts_tts_kind_needs_tts_text
        CHECK (kind <> 'tts' OR tts_text IS NOT NULL),
    CONSTRAINT prompts_tts_text_1_to_600_chars
        CHECK (char_length(tts_text) BETWEEN 1 AND 600),
    CONSTRAINT prompts_sample_rate_8000_or_16000
        CHECK (sample_rate IN (8000, 16000)),
    CONSTRAINT prompts_duration_ms_not_negative
        CHECK (duration_ms >= 0)
);
COMMENT ON TABLE cc.prompts IS 'What callers hear: a WAV file under cc.media_dir (8 or 16 kHz, 16-bit mono) or a text spoken by TTS.';
COMMENT ON COLUMN cc.prompts.id IS 'Prompt id.';
COMMENT ON COLUMN cc.prompts.name IS 'Unique name shown in the console.';
COMMENT ON COLUMN cc.prompts.kind IS 'file (a WAV file) or tts (text rendered by flite, cached as WAV).';
COMMENT ON COLUMN cc.prompts.file_path IS 'WAV file, relative to cc.media_dir (required for kind file; the cached rendering for kind tts).';
COMMENT ON COLUMN cc.prompts.tts_text IS 'Text to speak, at most 600 characters, with ${variable} substitution (required for kind tts).';
COMMENT ON COLUMN cc.prompts.voice IS 'TTS voice name (NULL: the default voice).';
COMMENT ON COLUMN cc.prompts.sample_rate IS 'Sample rate of the audio in Hz: 8000 or 16000.';
COMMENT ON COLUMN cc.prompts.duration_ms IS 'Length of the audio in milliseconds, once known.';
COMMENT ON COLUMN cc.prompts.created_at IS 'When the prompt was created.';
COMMENT ON COLUMN cc.prompts.updated_at IS 'When the prompt last changed.';
CREATE TRIGGER prompts_touch BEFORE UPDATE ON cc.prompts FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

-- schedules ------------------------------------------------------------------

CREATE TABLE cc.schedules (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text        NOT NULL UNIQUE,
    time_zone    text        NOT NULL DEFAULT 'UTC',
    weekly_slots jsonb       NOT NULL DEFAULT '[]',
    closed_dates jsonb       NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_time_zone_known_to_postgresql
        CHECK (cc.is_time_zone(time_zone)),
    CONSTRAINT schedules_weekly_slots_is_a_json_array
        CHECK (jsonb_typeof(weekly_slots) = 'array'),
    CONSTRAINT schedules_closed_dates_is_a_json_array
        CHECK (jsonb_typeof(closed_dates) = 'array')
);
COMMENT ON TABLE cc.schedules IS 'Working hours: weekly time slots in a time zone, used by numbers, service-hours nodes, routing rules and campaigns.';
COMMENT ON COLUMN cc.schedules.id IS 'Schedule id.';
COMMENT ON COLUMN cc.schedules.name IS 'Unique name of the schedule.';
COMMENT ON COLUMN cc.schedules.time_zone IS 'Time zone the slots are in (a name PostgreSQL knows, e.g. Asia/Shanghai).';
COMMENT ON COLUMN cc.schedules.weekly_slots IS 'Open slots: JSON array of {"days": [1..7] (1 = Monday), "from": "09:00", "to": "18:00"}; empty = always closed.';
COMMENT ON COLUMN cc.schedules.closed_dates IS 'Dates closed all day (holidays): JSON array of "YYYY-MM-DD".';
COMMENT ON COLUMN cc.schedules.created_at IS 'When the schedule was created.';
COMMENT ON COLUMN cc.schedules.updated_at IS 'When the schedule last changed.';
CREATE TRIGGER schedules_touch BEFORE UPDATE ON cc.schedules FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

-- break reasons --------------------------------------------------------------

CREATE TABLE cc.break_reasons (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL UNIQUE,
    enabled    boolean     NOT NULL DEFAULT true,
    position   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT break_reasons_name_not_blank
        CHECK (btrim(name) <> ''),
    CONSTRAINT break_reasons_position_not_negative
        CHECK (position >= 0)
);
COMMENT ON TABLE cc.break_reasons IS 'Reasons an agent may give for a break (meal, meeting, training, ...), each enabled or not.';
COMMENT ON COLUMN cc.break_reasons.id IS 'Break reason id.';
COMMENT ON COLUMN cc.break_reasons.name IS 'Name shown to the agent, unique.';
COMMENT ON COLUMN cc.break_reasons.enabled IS 'Whether agents may choose this reason now.';
COMMENT ON COLUMN cc.break_reasons.position IS 'Order in the agent''s list (smallest first).';
COMMENT ON COLUMN cc.break_reasons.created_at IS 'When the reason was created.';

INSERT INTO cc.break_reasons (name, position) VALUES
    ('meal', 1), ('meeting', 2), ('training', 3), ('no answer', 4);

-- trunks ---------------------------------------------------------------------

CREATE TABLE cc.trunks (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name                 text        NOT NULL UNIQUE,
    mode                 text        NOT NULL,
    enabled              boolean     NOT NULL DEFAULT true,
    status               text        NOT NULL DEFAULT 'unregistered',
    status_changed_at    timestamptz NOT NULL DEFAULT now(),
    status_reason        text,
    username             text,
    sip_ha1              text,
    register_period_s    integer     NOT NULL DEFAULT 300,
    peer_addresses       cidr[]      NOT NULL DEFAULT '{}',
    peer_port            integer     NOT NULL DEFAULT 5060,
    password             text,
    server               text,
    port                 integer     NOT NULL DEFAULT 5060,
    outbound_proxy       text,
    transport            text        NOT NULL DEFAULT 'udp',
    expiry_s             integer     NOT NULL DEFAULT 3600,
    max_concurrent_calls integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT trunks_mode_in_register_in_peering_register_out
        CHECK (mode IN ('register_in', 'peering', 'register_out')),
    CONSTRAINT trunks_status_in_normal_registered_unregistered_abnormal
        CHECK (status IN ('normal', 'registered', 'unregistered', 'abnormal')),
    CONSTRAINT trunks_register_in_needs_username_and_sip_ha1
        CHECK (mode <> 'register_in' OR (username IS NOT NULL AND sip_ha1 IS NOT NULL)),
    CONSTRAINT trunks_peering_needs_peer_addresses
        CHECK (mode <> 'peering' OR cardinality(peer_addresses) >= 1),
    CONSTRAINT trunks_register_out_needs_server_username_password
        CHECK (mode <> 'register_out' OR (server IS NOT NULL AND username IS NOT NULL AND password IS NOT NULL)),
    CONSTRAINT trunks_sip_ha1_is_32_or_64_hex_digits
        CHECK (sip_ha1 ~ '^([0-9a-f]{32}|[0-9a-f]{64})$'),
    CONSTRAINT trunks_register_period_s_60_to_86400
        CHECK (register_period_s BETWEEN 60 AND 86400),
    CONSTRAINT trunks_peer_port_1_to_65535
        CHECK (peer_port BETWEEN 1 AND 65535),
    CONSTRAINT trunks_port_1_to_65535
        CHECK (port BETWEEN 1 AND 65535),
    CONSTRAINT trunks_transport_in_udp_tcp_tls
        CHECK (transport IN ('udp', 'tcp', 'tls')),
    CONSTRAINT trunks_expiry_s_60_to_86400
        CHECK (expiry_s BETWEEN 60 AND 86400),
    CONSTRAINT trunks_max_concurrent_calls_not_negative
        CHECK (max_concurrent_calls >= 0)
);
COMMENT ON TABLE cc.trunks IS
    'SIP channels to carriers and customers'' gateways, in one of three modes: register_in (their gateway registers to us), peering (by source address), register_out (we register to the carrier).';
COMMENT ON COLUMN cc.trunks.id IS 'Trunk id.';
COMMENT ON COLUMN cc.trunks.name IS 'Unique name of the trunk.';
COMMENT ON COLUMN cc.trunks.mode IS 'register_in, peering or register_out.';
COMMENT ON COLUMN cc.trunks.enabled IS 'Whether the trunk carries calls (and, for register_out, registers).';
COMMENT ON COLUMN cc.trunks.status IS 'Kept current by cc sip: normal (peering reachable), registered, unregistered, abnormal.';
COMMENT ON COLUMN cc.trunks.status_changed_at IS 'When status last changed.';
COMMENT ON COLUMN cc.trunks.status_reason IS 'Why the status is what it is (e.g. the last SIP response of a failed registration).';
COMMENT ON COLUMN cc.trunks.username IS 'SIP user: the account we give their gateway (register_in) or the carrier gave us (register_out).';
COMMENT ON COLUMN cc.trunks.sip_ha1 IS 'register_in: digest HA1 of the account''s password (MD5 32 or SHA-256 64 hex digits); the password itself is never stored. Secret.';
COMMENT ON COLUMN cc.trunks.register_period_s IS 'register_in: registration period we grant their gateway, in seconds (300).';
COMMENT ON COLUMN cc.trunks.peer_addresses IS 'peering: addresses (IP or CIDR) calls are accepted from; the first is also where calls are sent.';
COMMENT ON COLUMN cc.trunks.peer_port IS 'peering: SIP port of the peer (5060).';
COMMENT ON COLUMN cc.trunks.password IS 'register_out: password the carrier gave us; needed in clear to answer its digest challenges. Secret.';
COMMENT ON COLUMN cc.trunks.server IS 'register_out: registrar host of the carrier.';
COMMENT ON COLUMN cc.trunks.port IS 'register_out: registrar port (5060).';
COMMENT ON COLUMN cc.trunks.outbound_proxy IS 'register_out: outbound proxy host[:port], if the carrier requires one.';
COMMENT ON COLUMN cc.trunks.transport IS 'Transport towards the carrier or peer: udp, tcp or tls.';
COMMENT ON COLUMN cc.trunks.expiry_s IS 'register_out: registration expiry we ask for, in seconds (3600).';
COMMENT ON COLUMN cc.trunks.max_concurrent_calls IS 'Calls the trunk carries at once (0 = unlimited; an analog line is 1, an E1 30).';
COMMENT ON COLUMN cc.trunks.created_at IS 'When the trunk was created.';
COMMENT ON COLUMN cc.trunks.updated_at IS 'When the trunk last changed.';
CREATE TRIGGER trunks_touch BEFORE UPDATE ON cc.trunks FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

-- agents ---------------------------------------------------------------------

CREATE TABLE cc.agents (
    id                        uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name                      text        NOT NULL,
    nickname                  text,
    employee_number           text        UNIQUE,
    email                     text        UNIQUE,
    role                      text        NOT NULL DEFAULT 'agent',
    mobile                    text,
    extension                 text        NOT NULL UNIQUE,
    sip_ha1                   text,
    enabled                   boolean     NOT NULL DEFAULT true,
    forced_offline            boolean     NOT NULL DEFAULT false,
    mobile_mode               text        NOT NULL DEFAULT 'off',
    default_state_after_login text,
    wrap_up_s                 integer,
    state                     text        NOT NULL DEFAULT 'offline',
    state_entered_at          timestamptz NOT NULL DEFAULT now(),
    state_reason              text,
    break_reason_id           uuid        REFERENCES cc.break_reasons (id) ON DELETE SET NULL,
    state_before_call         text,
    max_no_answer             integer     NOT NULL DEFAULT 3,
    no_answer_count           integer     NOT NULL DEFAULT 0,
    last_call_ended_at        timestamptz,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agents_name_not_blank
        CHECK (btrim(name) <> ''),
    CONSTRAINT agents_email_has_one_at_sign
        CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT agents_role_lowercase_word
        CHECK (role ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT agents_mobile_3_to_20_digits_optional_plus
        CHECK (mobile ~ '^\+?[0-9]{3,20}$'),
    CONSTRAINT agents_extension_4_to_6_digits_first_1_to_8
        CHECK (extension ~ '^[1-8][0-9]{3,5}$'),
    CONSTRAINT agents_sip_ha1_is_32_or_64_hex_digits
        CHECK (sip_ha1 ~ '^([0-9a-f]{32}|[0-9a-f]{64})$'),
    CONSTRAINT agents_mobile_mode_in_off_when_offline_always
        CHECK (mobile_mode IN ('off', 'when_offline', 'always')),
    CONSTRAINT agents_mobile_mode_needs_mobile
        CHECK (mobile_mode = 'off' OR mobile IS NOT NULL),
    CONSTRAINT agents_default_state_after_login_idle_or_busy
        CHECK (default_state_after_login IN ('idle', 'busy')),
    CONSTRAINT agents_wrap_up_s_0_to_3600
        CHECK (wrap_up_s BETWEEN 0 AND 3600),
    CONSTRAINT agents_state_in_offline_idle_busy_break_ringing_talking_wrap_up
        CHECK (state IN ('offline', 'idle', 'busy', 'break', 'ringing', 'talking', 'wrap_up')),
    CONSTRAINT agents_state_before_call_in_idle_busy_break
        CHECK (state_before_call IN ('idle', 'busy', 'break')),
    CONSTRAINT agents_max_no_answer_not_negative
        CHECK (max_no_answer >= 0),
    CONSTRAINT agents_no_answer_count_not_negative
        CHECK (no_answer_count >= 0)
);
COMMENT ON TABLE cc.agents IS 'People who answer and place calls, with their SIP extension and their current state.';
COMMENT ON COLUMN cc.agents.id IS 'Agent id.';
COMMENT ON COLUMN cc.agents.name IS 'Full name.';
COMMENT ON COLUMN cc.agents.nickname IS 'Name shown or spoken to customers (${StaffNo} speaks the extension).';
COMMENT ON COLUMN cc.agents.employee_number IS 'Employee number, unique when given.';
COMMENT ON COLUMN cc.agents.email IS 'E-mail address, unique when given (the preferred-agents webhook answers with e-mails).';
COMMENT ON COLUMN cc.agents.role IS 'Role: super_admin, admin, agent, qa_inspector or a custom role name (lowercase word).';
COMMENT ON COLUMN cc.agents.mobile IS 'Mobile number (digits, optional leading +) dialled through a trunk when mobile_mode says so.';
COMMENT ON COLUMN cc.agents.extension IS 'SIP extension: 4 to 6 digits, the first 1 to 8; the digest user name of the agent''s phones. Unique.';
COMMENT ON COLUMN cc.agents.sip_ha1 IS 'Digest HA1 md5(extension:realm:password) (or its SHA-256 form), see cc.sip_ha1(); the password is never stored. Secret.';
COMMENT ON COLUMN cc.agents.enabled IS 'Disabled agents cannot log in or register.';
COMMENT ON COLUMN cc.agents.forced_offline IS 'Set by a supervisor: the agent is kept offline until cleared.';
COMMENT ON COLUMN cc.agents.mobile_mode IS 'When calls reach the agent''s mobile: off, when_offline (only while the workbench is offline), always.';
COMMENT ON COLUMN cc.agents.default_state_after_login IS 'idle or busy after login; NULL = the agent.default_state_after_login setting.';
COMMENT ON COLUMN cc.agents.wrap_up_s IS 'After-call work in seconds (0 to 3600); NULL = the queue''s wrap_up_s.';
COMMENT ON COLUMN cc.agents.state IS 'offline, idle, busy (marked busy, not routable), break, ringing, talking, wrap_up.';
COMMENT ON COLUMN cc.agents.state_entered_at IS 'When the agent entered its current state.';
COMMENT ON COLUMN cc.agents.state_reason IS 'Why the agent is in its state (e.g. the break reason''s name, "max no answer").';
COMMENT ON COLUMN cc.agents.break_reason_id IS 'Break reason while state is break.';
COMMENT ON COLUMN cc.agents.state_before_call IS 'State to return to after wrap-up: idle, busy or break.';
COMMENT ON COLUMN cc.agents.max_no_answer IS 'Unanswered offers in a row after which the agent goes on break (0 = never).';
COMMENT ON COLUMN cc.agents.no_answer_count IS 'Unanswered offers in a row so far (reset when the agent answers).';
COMMENT ON COLUMN cc.agents.last_call_ended_at IS 'When the agent''s last call ended (longest-idle strategy).';
COMMENT ON COLUMN cc.agents.created_at IS 'When the agent was created.';
COMMENT ON COLUMN cc.agents.updated_at IS 'When the agent row last changed.';
CREATE TRIGGER agents_touch BEFORE UPDATE ON cc.agents FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();
-- An agent's row changes at every state change (several per call), so no
-- index covers state, and pages keep room: those updates are HOT (no new
-- index entries).  Who is in which state is read by scanning the agents,
-- which a site has hundreds or thousands of, not millions.
ALTER TABLE cc.agents SET (fillfactor = 80);

-- phones ---------------------------------------------------------------------

CREATE TABLE cc.phones (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    extension  text        NOT NULL UNIQUE,
    sip_ha1    text,
    agent_id   uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    enabled    boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT phones_extension_4_to_6_digits_first_1_to_8
        CHECK (extension ~ '^[1-8][0-9]{3,5}$'),
    CONSTRAINT phones_sip_ha1_is_32_or_64_hex_digits
        CHECK (sip_ha1 ~ '^([0-9a-f]{32}|[0-9a-f]{64})$')
);
COMMENT ON TABLE cc.phones IS
    'SIP desk phones with their own extension: bound to an agent (its state mirrors the agent) or a queue member on their own (cc.queue_members.phone_id).';
COMMENT ON COLUMN cc.phones.id IS 'Phone id.';
COMMENT ON COLUMN cc.phones.name IS 'Name or location of the phone.';
COMMENT ON COLUMN cc.phones.extension IS 'SIP extension of the phone: 4 to 6 digits, the first 1 to 8. Must not equal an agent''s extension.';
COMMENT ON COLUMN cc.phones.sip_ha1 IS 'Digest HA1 of the phone''s password; the password is never stored. Secret.';
COMMENT ON COLUMN cc.phones.agent_id IS 'Agent the phone belongs to (NULL: a shared phone, member of queues by itself).';
COMMENT ON COLUMN cc.phones.enabled IS 'Disabled phones cannot register.';
COMMENT ON COLUMN cc.phones.created_at IS 'When the phone was created.';
COMMENT ON COLUMN cc.phones.updated_at IS 'When the phone last changed.';
CREATE TRIGGER phones_touch BEFORE UPDATE ON cc.phones FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

-- webhooks -------------------------------------------------------------------

CREATE TABLE cc.webhooks (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text        NOT NULL UNIQUE,
    url           text        NOT NULL,
    event_types   text[]      NOT NULL DEFAULT '{*}',
    secret        text,
    headers       jsonb       NOT NULL DEFAULT '{}',
    timeout_ms    integer     NOT NULL DEFAULT 5000,
    max_attempts  integer     NOT NULL DEFAULT 8,
    auth          text        NOT NULL DEFAULT 'none',
    auth_username text,
    auth_secret   text,
    enabled       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhooks_url_http_or_https
        CHECK (url ~ '^https?://[^[:space:]]+$'),
    CONSTRAINT webhooks_event_types_not_empty
        CHECK (cardinality(event_types) >= 1),
    CONSTRAINT webhooks_headers_is_a_json_object
        CHECK (jsonb_typeof(headers) = 'object'),
    CONSTRAINT webhooks_timeout_ms_100_to_60000
        CHECK (timeout_ms BETWEEN 100 AND 60000),
    CONSTRAINT webhooks_max_attempts_1_to_100
        CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT webhooks_auth_in_none_basic_bearer
        CHECK (auth IN ('none', 'basic', 'bearer')),
    CONSTRAINT webhooks_basic_auth_needs_username_and_secret
        CHECK (auth <> 'basic' OR (auth_username IS NOT NULL AND auth_secret IS NOT NULL)),
    CONSTRAINT webhooks_bearer_auth_needs_secret
        CHECK (auth <> 'bearer' OR auth_secret IS NOT NULL)
);
COMMENT ON TABLE cc.webhooks IS 'Subscriptions: events of the listed types are posted to a URL by cc http, signed, retried, recorded (cc.webhook_outbox).';
COMMENT ON COLUMN cc.webhooks.id IS 'Webhook id.';
COMMENT ON COLUMN cc.webhooks.name IS 'Unique name of the subscription.';
COMMENT ON COLUMN cc.webhooks.url IS 'http:// or https:// URL the events are posted to.';
COMMENT ON COLUMN cc.webhooks.event_types IS 'Event types delivered (e.g. call.ended, cdr); * = all. At least one.';
COMMENT ON COLUMN cc.webhooks.secret IS 'Key of the HMAC-SHA256 signature over timestamp and body (NULL: unsigned). Secret.';
COMMENT ON COLUMN cc.webhooks.headers IS 'Extra HTTP headers sent with each delivery (JSON object name -> value).';
COMMENT ON COLUMN cc.webhooks.timeout_ms IS 'Time allowed for one delivery attempt, 100 to 60000 ms.';
COMMENT ON COLUMN cc.webhooks.max_attempts IS 'Attempts before a delivery is dead, 1 to 100.';
COMMENT ON COLUMN cc.webhooks.auth IS 'HTTP authentication: none, basic (auth_username, auth_secret) or bearer (auth_secret as the token).';
COMMENT ON COLUMN cc.webhooks.auth_username IS 'User name for basic authentication.';
COMMENT ON COLUMN cc.webhooks.auth_secret IS 'Password (basic) or token (bearer). Secret.';
COMMENT ON COLUMN cc.webhooks.enabled IS 'Disabled subscriptions queue nothing.';
COMMENT ON COLUMN cc.webhooks.created_at IS 'When the subscription was created.';
COMMENT ON COLUMN cc.webhooks.updated_at IS 'When the subscription last changed.';
CREATE TRIGGER webhooks_touch BEFORE UPDATE ON cc.webhooks FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();
