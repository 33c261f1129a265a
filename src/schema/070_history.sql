-- 070_history.sql: what stays after a call: CDRs and their legs,
-- recordings, the agent state log, and the webhook outbox with every
-- delivery attempt.  CDRs are written by 120_cdrs.sql, the agent state log
-- by a trigger (122_change_events.sql), deliveries by 121_webhooks.sql.
--
-- History rows copy the names they need (agent, queue) and refer to live
-- rows (calls, legs) by id without foreign keys, so they outlive the
-- retention of live tables and replicate alone to a reporting database.
-- The event log (cc.events) is in 050_events.sql.

CREATE TABLE cc.cdrs (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id           uuid        NOT NULL UNIQUE,
    site              text        NOT NULL DEFAULT cc.site_name(),
    direction         text        NOT NULL,
    agent_endpoint    text,
    number_id         uuid,
    number            text,
    caller            text,
    callee            text,
    note              text,
    access_status     text        NOT NULL,
    started_at        timestamptz NOT NULL,
    customer_answered_at timestamptz,
    queued_at         timestamptz,
    ringing_at        timestamptz,
    answered_at       timestamptz,
    ended_at          timestamptz NOT NULL,
    setup_ms          bigint      NOT NULL DEFAULT 0,
    ivr_ms            bigint      NOT NULL DEFAULT 0,
    queue_ms          bigint      NOT NULL DEFAULT 0,
    ring_ms           bigint      NOT NULL DEFAULT 0,
    talk_ms           bigint      NOT NULL DEFAULT 0,
    hold_ms           bigint      NOT NULL DEFAULT 0,
    total_ms          bigint      NOT NULL DEFAULT 0,
    last_agent_id     uuid,
    last_agent_name   text,
    last_agent_extension text,
    agent_ids         uuid[]      NOT NULL DEFAULT '{}',
    queue_id          uuid,
    queue_name        text,
    flow_id           uuid,
    flow_version      text,
    campaign_id       uuid,
    parent_call_id    uuid,
    hangup_side       text,
    end_cause         text,
    survey_triggered  boolean     NOT NULL DEFAULT false,
    satisfaction_key  text,
    satisfaction_label text,
    satisfaction_score numeric,
    menu_choices      jsonb       NOT NULL DEFAULT '[]',
    voicemail_recording_id uuid,
    recording_ids     uuid[]      NOT NULL DEFAULT '{}',
    custom_data       jsonb       NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT cdrs_direction_in_inbound_outbound_internal
        CHECK (direction IN ('inbound', 'outbound', 'internal')),
    CONSTRAINT cdrs_agent_endpoint_in_softphone_desk_phone_mobile
        CHECK (agent_endpoint IN ('softphone', 'desk_phone', 'mobile')),
    CONSTRAINT cdrs_access_status_in_reference_inbound_outbound_lists
        CHECK (access_status IN (
            -- inbound
            'normal_end', 'not_connected', 'agent_no_answer', 'transferred_to_agent',
            'transferred_to_external', 'ivr_abandoned', 'ended_after_ivr',
            'queue_abandoned', 'ringing_abandoned', 'no_agent_online', 'system_error',
            -- outbound
            'unknown', 'no_answer', 'rejected', 'powered_off', 'invalid_number', 'busy',
            'out_of_credit', 'carrier_fault', 'caller_canceled', 'out_of_service_area')),
    CONSTRAINT cdrs_times_ordered_start_ring_answer_end
        CHECK (ringing_at >= started_at AND answered_at >= started_at
               AND answered_at >= ringing_at AND ended_at >= started_at
               AND ended_at >= ringing_at AND ended_at >= answered_at
               AND customer_answered_at >= started_at AND ended_at >= customer_answered_at
               AND queued_at >= started_at AND ended_at >= queued_at),
    CONSTRAINT cdrs_durations_ms_not_negative
        CHECK (setup_ms >= 0 AND ivr_ms >= 0 AND queue_ms >= 0 AND ring_ms >= 0 AND talk_ms >= 0
               AND hold_ms >= 0 AND total_ms >= 0),
    CONSTRAINT cdrs_durations_add_up_to_total_ms
        CHECK (setup_ms + ivr_ms + queue_ms + ring_ms + talk_ms = total_ms),
    CONSTRAINT cdrs_hold_ms_within_talk_ms
        CHECK (hold_ms <= talk_ms),
    CONSTRAINT cdrs_hangup_side_in_customer_agent_system
        CHECK (hangup_side IN ('customer', 'agent', 'system')),
    CONSTRAINT cdrs_satisfaction_key_one_of_0_9_star_hash
        CHECK (satisfaction_key ~ '^[0-9*#]$'),
    CONSTRAINT cdrs_satisfaction_label_needs_key
        CHECK (satisfaction_label IS NULL OR satisfaction_key IS NOT NULL),
    CONSTRAINT cdrs_menu_choices_is_a_json_array
        CHECK (jsonb_typeof(menu_choices) = 'array'),
    CONSTRAINT cdrs_custom_data_is_a_json_object
        CHECK (jsonb_typeof(custom_data) = 'object')
);
COMMENT ON TABLE cc.cdrs IS 'Service records: one per call, written in the transaction that ends it, with the reference''s fields; legs in cc.cdr_legs.';
COMMENT ON COLUMN cc.cdrs.id IS 'CDR id.';
COMMENT ON COLUMN cc.cdrs.call_id IS 'The call (cc.calls.id; no foreign key: CDRs outlive calls). Unique: one CDR per call.';
COMMENT ON COLUMN cc.cdrs.site IS 'Site that carried the call.';
COMMENT ON COLUMN cc.cdrs.direction IS 'inbound, outbound or internal.';
COMMENT ON COLUMN cc.cdrs.agent_endpoint IS 'How the last agent was reached: softphone (web or SIP softphone), desk_phone or mobile.';
COMMENT ON COLUMN cc.cdrs.number_id IS 'Our number (cc.numbers.id; no foreign key), for the per-number reports.';
COMMENT ON COLUMN cc.cdrs.number IS 'Our number: dialled (inbound) or shown as caller ID (outbound).';
COMMENT ON COLUMN cc.cdrs.caller IS 'Caller number or SIP user.';
COMMENT ON COLUMN cc.cdrs.callee IS 'Called number or SIP user.';
COMMENT ON COLUMN cc.cdrs.note IS 'Note written by the agent.';
COMMENT ON COLUMN cc.cdrs.access_status IS
    'How the call went, from the reference''s lists. Inbound: normal_end, not_connected, agent_no_answer, transferred_to_agent, transferred_to_external, ivr_abandoned, ended_after_ivr, queue_abandoned, ringing_abandoned, no_agent_online, system_error. Outbound: unknown, no_answer, rejected, powered_off, invalid_number, busy, out_of_credit, carrier_fault, caller_canceled, out_of_service_area.';
COMMENT ON COLUMN cc.cdrs.started_at IS 'When the call started (INVITE received or sent).';
COMMENT ON COLUMN cc.cdrs.customer_answered_at IS 'When the customer''s leg was answered: by us (the flow answers) for an inbound call, by the callee for an outbound one (NULL: never).';
COMMENT ON COLUMN cc.cdrs.queued_at IS 'When the call first entered a queue (reached the human step; NULL: never).';
COMMENT ON COLUMN cc.cdrs.ringing_at IS 'When the human side started ringing: the agent (or external party) who answered, else the last one rung; the callee of an outbound call.';
COMMENT ON COLUMN cc.cdrs.answered_at IS 'When the human side answered (an agent or external party; the callee of an outbound call). NULL: never connected.';
COMMENT ON COLUMN cc.cdrs.ended_at IS 'When the call ended.';
COMMENT ON COLUMN cc.cdrs.setup_ms IS 'From the start until the customer''s leg was answered (inbound: by us) or, outbound, until the callee rang or answered, in milliseconds.';
COMMENT ON COLUMN cc.cdrs.ivr_ms IS 'Time in flows (before the queue, and after the talk, e.g. a survey), in milliseconds: what setup, queue, ring and talk leave of the total.';
COMMENT ON COLUMN cc.cdrs.queue_ms IS 'Time waiting in queues while no agent of the answering ring rang, in milliseconds (earlier unanswered rings count as queue time).';
COMMENT ON COLUMN cc.cdrs.ring_ms IS 'Ring time: answer (or, unanswered, the end of that ring) minus ring start, in milliseconds.';
COMMENT ON COLUMN cc.cdrs.talk_ms IS 'Talk time: from the human answer until the last human left (outbound: the end), hold included, in milliseconds; > 0 means connected.';
COMMENT ON COLUMN cc.cdrs.hold_ms IS 'Part of talk_ms with a leg on hold (leg.hold to leg.resume events), in milliseconds.';
COMMENT ON COLUMN cc.cdrs.total_ms IS 'Whole call (end minus start), in milliseconds: setup_ms + ivr_ms + queue_ms + ring_ms + talk_ms.';
COMMENT ON COLUMN cc.cdrs.last_agent_id IS 'Last agent who talked with the customer (after transfers).';
COMMENT ON COLUMN cc.cdrs.last_agent_name IS 'Name of the last agent, as it was.';
COMMENT ON COLUMN cc.cdrs.last_agent_extension IS 'Extension of the last agent, as it was.';
COMMENT ON COLUMN cc.cdrs.agent_ids IS 'Every agent who talked with the customer, in order.';
COMMENT ON COLUMN cc.cdrs.queue_id IS 'Last queue the call was in.';
COMMENT ON COLUMN cc.cdrs.queue_name IS 'Name of the last queue, as it was.';
COMMENT ON COLUMN cc.cdrs.flow_id IS 'Flow the call ran.';
COMMENT ON COLUMN cc.cdrs.flow_version IS 'Version of the flow the call ran.';
COMMENT ON COLUMN cc.cdrs.campaign_id IS 'Campaign that placed the call (the contact whose last_call_id it is), if any.';
COMMENT ON COLUMN cc.cdrs.parent_call_id IS 'Call this one was made from (consultation, callback), if any.';
COMMENT ON COLUMN cc.cdrs.hangup_side IS 'Who hung up: customer, agent or system.';
COMMENT ON COLUMN cc.cdrs.end_cause IS 'Technical end cause of the call (cc.calls.end_cause).';
COMMENT ON COLUMN cc.cdrs.survey_triggered IS 'Whether a satisfaction survey ran in the call (a survey node was entered or a survey choice recorded).';
COMMENT ON COLUMN cc.cdrs.satisfaction_key IS 'Key pressed in the satisfaction survey (0-9, *, #).';
COMMENT ON COLUMN cc.cdrs.satisfaction_label IS 'Label of that key (e.g. "very satisfied").';
COMMENT ON COLUMN cc.cdrs.satisfaction_score IS 'Score of the survey reply: the choice''s numeric value, else its key when a digit.';
COMMENT ON COLUMN cc.cdrs.menu_choices IS 'What the caller chose, in order (cc.calls.choices): JSON array of {node, kind, key, label, variable, value, at}.';
COMMENT ON COLUMN cc.cdrs.voicemail_recording_id IS 'Voicemail left by the caller (cc.recordings.id).';
COMMENT ON COLUMN cc.cdrs.recording_ids IS 'Call recordings (cc.recordings ids of kind call), in order.';
COMMENT ON COLUMN cc.cdrs.custom_data IS 'Custom data (cdr_custom_data merged by IBM''s rules), a JSON object.';
COMMENT ON COLUMN cc.cdrs.created_at IS 'When the CDR was written.';
CREATE INDEX cdrs_started_at ON cc.cdrs (started_at);
CREATE INDEX cdrs_last_agent ON cc.cdrs (last_agent_id, started_at);
CREATE INDEX cdrs_queue ON cc.cdrs (queue_id, started_at);
CREATE INDEX cdrs_caller ON cc.cdrs (caller, started_at);
CREATE INDEX cdrs_number ON cc.cdrs (number_id, started_at);
CREATE INDEX cdrs_campaign ON cc.cdrs (campaign_id, started_at) WHERE campaign_id IS NOT NULL;

CREATE TABLE cc.cdr_legs (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    cdr_id      uuid        NOT NULL REFERENCES cc.cdrs (id) ON DELETE CASCADE,
    leg_id      uuid        NOT NULL,
    kind        text        NOT NULL,
    direction   text        NOT NULL,
    agent_id    uuid,
    agent_name  text,
    agent_extension text,
    phone_id    uuid,
    party       text,
    sip_code    integer,
    cause       text,
    created_at  timestamptz NOT NULL,
    ringing_at  timestamptz,
    answered_at timestamptz,
    ended_at    timestamptz,
    CONSTRAINT cdr_legs_kind_in_customer_agent_consult_supervisor_external
        CHECK (kind IN ('customer', 'agent', 'consult', 'supervisor', 'external')),
    CONSTRAINT cdr_legs_direction_in_inbound_outbound
        CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT cdr_legs_sip_code_100_to_699
        CHECK (sip_code BETWEEN 100 AND 699),
    CONSTRAINT cdr_legs_times_ordered
        CHECK (ringing_at >= created_at AND answered_at >= created_at AND ended_at >= created_at
               AND answered_at >= ringing_at AND ended_at >= answered_at)
);
COMMENT ON TABLE cc.cdr_legs IS 'The legs of a CDR''s call, one row each, as they ended (the call log of each party).';
COMMENT ON COLUMN cc.cdr_legs.id IS 'Row id.';
COMMENT ON COLUMN cc.cdr_legs.cdr_id IS 'CDR the leg belongs to.';
COMMENT ON COLUMN cc.cdr_legs.leg_id IS 'The leg (cc.legs.id; no foreign key).';
COMMENT ON COLUMN cc.cdr_legs.kind IS 'customer, agent, consult, supervisor or external.';
COMMENT ON COLUMN cc.cdr_legs.direction IS 'inbound or outbound.';
COMMENT ON COLUMN cc.cdr_legs.agent_id IS 'Agent on the leg, if any.';
COMMENT ON COLUMN cc.cdr_legs.agent_name IS 'Name of the agent, as it was.';
COMMENT ON COLUMN cc.cdr_legs.agent_extension IS 'Extension of the agent, as it was.';
COMMENT ON COLUMN cc.cdr_legs.phone_id IS 'Desk phone the leg rang (cc.phones.id; no foreign key), if any.';
COMMENT ON COLUMN cc.cdr_legs.party IS 'Number, extension or URI of the other party of the leg.';
COMMENT ON COLUMN cc.cdr_legs.sip_code IS 'Final SIP status of the leg''s INVITE (100 to 699).';
COMMENT ON COLUMN cc.cdr_legs.cause IS 'Why the leg ended (cc.legs.cause).';
COMMENT ON COLUMN cc.cdr_legs.created_at IS 'When the leg started.';
COMMENT ON COLUMN cc.cdr_legs.ringing_at IS 'When the leg rang.';
COMMENT ON COLUMN cc.cdr_legs.answered_at IS 'When the leg was answered.';
COMMENT ON COLUMN cc.cdr_legs.ended_at IS 'When the leg ended.';
CREATE INDEX cdr_legs_cdr ON cc.cdr_legs (cdr_id);
CREATE INDEX cdr_legs_agent ON cc.cdr_legs (agent_id, created_at);

CREATE TABLE cc.recordings (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id     uuid,
    leg_id      uuid,
    site        text        NOT NULL DEFAULT cc.site_name(),
    kind        text        NOT NULL DEFAULT 'call',
    file_path   text        NOT NULL,
    channels    integer     NOT NULL DEFAULT 2,
    sample_rate integer     NOT NULL DEFAULT 8000,
    state       text        NOT NULL DEFAULT 'recording',
    duration_ms bigint,
    bytes       bigint,
    started_at  timestamptz NOT NULL DEFAULT now(),
    ended_at    timestamptz,
    CONSTRAINT recordings_kind_in_call_voicemail
        CHECK (kind IN ('call', 'voicemail')),
    CONSTRAINT recordings_channels_1_or_2
        CHECK (channels IN (1, 2)),
    CONSTRAINT recordings_sample_rate_8000_or_16000
        CHECK (sample_rate IN (8000, 16000)),
    CONSTRAINT recordings_state_in_recording_paused_complete_failed
        CHECK (state IN ('recording', 'paused', 'complete', 'failed')),
    CONSTRAINT recordings_duration_ms_not_negative
        CHECK (duration_ms >= 0),
    CONSTRAINT recordings_bytes_not_negative
        CHECK (bytes >= 0),
    CONSTRAINT recordings_ended_after_started
        CHECK (ended_at >= started_at)
);
COMMENT ON TABLE cc.recordings IS 'Recorded WAV files (calls, two channels by default; voicemails), one row per file under cc.recordings_dir.';
COMMENT ON COLUMN cc.recordings.id IS 'Recording id.';
COMMENT ON COLUMN cc.recordings.call_id IS 'Call recorded (cc.calls.id; no foreign key).';
COMMENT ON COLUMN cc.recordings.leg_id IS 'Leg recorded, when one leg alone is (cc.legs.id; no foreign key).';
COMMENT ON COLUMN cc.recordings.site IS 'Site whose disk holds the file.';
COMMENT ON COLUMN cc.recordings.kind IS 'call or voicemail.';
COMMENT ON COLUMN cc.recordings.file_path IS 'WAV file, relative to cc.recordings_dir.';
COMMENT ON COLUMN cc.recordings.channels IS '2 (caller and agent each on a channel, the default) or 1 (mixed).';
COMMENT ON COLUMN cc.recordings.sample_rate IS 'Sample rate in Hz: 8000 or 16000.';
COMMENT ON COLUMN cc.recordings.state IS 'recording, paused, complete, failed.';
COMMENT ON COLUMN cc.recordings.duration_ms IS 'Length of the audio in milliseconds, once complete.';
COMMENT ON COLUMN cc.recordings.bytes IS 'Size of the file in bytes, once complete.';
COMMENT ON COLUMN cc.recordings.started_at IS 'When recording started.';
COMMENT ON COLUMN cc.recordings.ended_at IS 'When recording stopped.';
CREATE INDEX recordings_call ON cc.recordings (call_id);

CREATE TABLE cc.agent_state_log (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint      NOT NULL GENERATED BY DEFAULT AS IDENTITY,
    agent_id        uuid        NOT NULL,
    from_state      text        NOT NULL,
    to_state        text        NOT NULL,
    reason          text,
    break_reason_id uuid,
    call_id         uuid,
    at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_state_log_from_state_in_offline_idle_busy_break_etc
        CHECK (from_state IN ('offline', 'idle', 'busy', 'break', 'ringing', 'talking', 'wrap_up')),
    CONSTRAINT agent_state_log_to_state_in_offline_idle_busy_break_etc
        CHECK (to_state IN ('offline', 'idle', 'busy', 'break', 'ringing', 'talking', 'wrap_up'))
);
COMMENT ON TABLE cc.agent_state_log IS 'Every change of an agent''s state, appended in the transaction that makes it: the agent trajectory and state durations.';
COMMENT ON COLUMN cc.agent_state_log.id IS 'Row id.';
COMMENT ON COLUMN cc.agent_state_log.seq IS 'Order of the changes (several may share a time).';
COMMENT ON COLUMN cc.agent_state_log.agent_id IS 'Agent (cc.agents.id; no foreign key: history outlives agents).';
COMMENT ON COLUMN cc.agent_state_log.from_state IS 'State left (offline, idle, busy, break, ringing, talking, wrap_up).';
COMMENT ON COLUMN cc.agent_state_log.to_state IS 'State entered (same values).';
COMMENT ON COLUMN cc.agent_state_log.reason IS 'Why (break reason name, "ring timeout", "login", ...).';
COMMENT ON COLUMN cc.agent_state_log.break_reason_id IS 'Break reason when to_state is break.';
COMMENT ON COLUMN cc.agent_state_log.call_id IS 'Call that caused the change (ringing, talking, wrap_up).';
COMMENT ON COLUMN cc.agent_state_log.at IS 'When the change happened.';
CREATE INDEX agent_state_log_agent_at ON cc.agent_state_log (agent_id, at, seq);
CREATE INDEX agent_state_log_at ON cc.agent_state_log (at);

CREATE TABLE cc.webhook_outbox (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id      uuid        NOT NULL REFERENCES cc.webhooks (id) ON DELETE CASCADE,
    event_id        uuid,
    event_seq       bigint,
    event_type      text        NOT NULL,
    call_id         uuid,
    order_key       uuid,
    payload         jsonb       NOT NULL,
    idempotency_key text        NOT NULL DEFAULT gen_random_uuid()::text,
    state           text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    claimed_pid     integer,
    delivered_at    timestamptz,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_outbox_state_in_waiting_pending_delivering_etc
        CHECK (state IN ('waiting', 'pending', 'delivering', 'delivered', 'dead')),
    CONSTRAINT webhook_outbox_attempts_not_negative
        CHECK (attempts >= 0),
    CONSTRAINT webhook_outbox_delivered_iff_delivered_at
        CHECK ((state = 'delivered') = (delivered_at IS NOT NULL)),
    CONSTRAINT webhook_outbox_last_status_100_to_599
        CHECK (last_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_outbox_delivering_has_claim
        CHECK (state <> 'delivering' OR (claimed_at IS NOT NULL AND claimed_pid IS NOT NULL))
);
COMMENT ON TABLE cc.webhook_outbox IS
    'Deliveries to make, one per matching event and webhook, inserted in the event''s transaction (logged: a crash loses none); cc http delivers them.';
COMMENT ON COLUMN cc.webhook_outbox.id IS 'Delivery id.';
COMMENT ON COLUMN cc.webhook_outbox.webhook_id IS 'Subscription delivered to.';
COMMENT ON COLUMN cc.webhook_outbox.event_id IS 'Event delivered (cc.events.id), if the delivery comes from an event.';
COMMENT ON COLUMN cc.webhook_outbox.event_seq IS 'Sequence of the event (cc.events.seq): per-call order of deliveries.';
COMMENT ON COLUMN cc.webhook_outbox.event_type IS 'Type of the event (e.g. call.ended, cdr).';
COMMENT ON COLUMN cc.webhook_outbox.call_id IS 'Call the event concerns, if any.';
COMMENT ON COLUMN cc.webhook_outbox.order_key IS 'Deliveries with the same key (the call, else the agent) reach a webhook one at a time, in event_seq order.';
COMMENT ON COLUMN cc.webhook_outbox.payload IS 'JSON body posted.';
COMMENT ON COLUMN cc.webhook_outbox.idempotency_key IS 'Sent with every attempt (Idempotency-Key) so the receiver can drop duplicates: a random UUID, the delivery id when queued by a trigger.';
COMMENT ON COLUMN cc.webhook_outbox.state IS 'waiting (behind an earlier delivery of its order key), pending, delivering (claimed by cc http), delivered, dead (max attempts reached or a final status).';
COMMENT ON COLUMN cc.webhook_outbox.attempts IS 'Attempts made so far.';
COMMENT ON COLUMN cc.webhook_outbox.next_attempt_at IS 'When the next attempt is due (back-off with jitter, or Retry-After).';
COMMENT ON COLUMN cc.webhook_outbox.claimed_at IS 'When cc http claimed the delivery (a claim left by a dead worker is taken back).';
COMMENT ON COLUMN cc.webhook_outbox.claimed_pid IS 'Process id of the cc http that claimed the delivery.';
COMMENT ON COLUMN cc.webhook_outbox.delivered_at IS 'When a 2xx was received (set exactly when state is delivered).';
COMMENT ON COLUMN cc.webhook_outbox.last_status IS 'HTTP status of the last attempt (100 to 599; NULL: no response).';
COMMENT ON COLUMN cc.webhook_outbox.last_error IS 'Error of the last attempt (timeout, connection refused, ...).';
COMMENT ON COLUMN cc.webhook_outbox.created_at IS 'When the delivery was queued.';
CREATE INDEX webhook_outbox_due ON cc.webhook_outbox (webhook_id, next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_order ON cc.webhook_outbox (webhook_id, order_key, event_seq) WHERE state IN ('waiting', 'pending', 'delivering');
CREATE INDEX webhook_outbox_next_due ON cc.webhook_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_delivering ON cc.webhook_outbox (webhook_id, claimed_at) WHERE state = 'delivering';
CREATE INDEX webhook_outbox_finished ON cc.webhook_outbox (created_at) WHERE state IN ('delivered', 'dead');

CREATE TABLE cc.webhook_attempts (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    outbox_id     uuid        NOT NULL REFERENCES cc.webhook_outbox (id) ON DELETE CASCADE,
    attempt       integer     NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    duration_ms   integer,
    http_status   integer,
    error         text,
    retry_after_s integer,
    UNIQUE (outbox_id, attempt),
    CONSTRAINT webhook_attempts_attempt_at_least_1
        CHECK (attempt >= 1),
    CONSTRAINT webhook_attempts_duration_ms_not_negative
        CHECK (duration_ms >= 0),
    CONSTRAINT webhook_attempts_http_status_100_to_599
        CHECK (http_status BETWEEN 100 AND 599),
    CONSTRAINT webhook_attempts_retry_after_s_not_negative
        CHECK (retry_after_s >= 0)
);
COMMENT ON TABLE cc.webhook_attempts IS 'Every delivery attempt: status, time taken, error.';
COMMENT ON COLUMN cc.webhook_attempts.id IS 'Attempt id.';
COMMENT ON COLUMN cc.webhook_attempts.outbox_id IS 'Delivery attempted.';
COMMENT ON COLUMN cc.webhook_attempts.attempt IS 'Attempt number, from 1.';
COMMENT ON COLUMN cc.webhook_attempts.started_at IS 'When the request was sent.';
COMMENT ON COLUMN cc.webhook_attempts.duration_ms IS 'Time until the response or the error, in milliseconds.';
COMMENT ON COLUMN cc.webhook_attempts.http_status IS 'HTTP status received (100 to 599; NULL: none).';
COMMENT ON COLUMN cc.webhook_attempts.error IS 'Transport error (timeout, connection refused, TLS, ...).';
COMMENT ON COLUMN cc.webhook_attempts.retry_after_s IS 'Retry-After of a 408, 429 or 503 response, in seconds.';
