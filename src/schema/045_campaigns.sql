-- 045_campaigns.sql: outbound campaigns (the predictive dialer's model).
--
-- A campaign dials a list of contacts within weekly windows, with retries,
-- and connects answered calls to a queue or an outbound flow.  Its limits
-- are the reference's (name <= 40 characters, priority 1-5, 2 retries,
-- retry interval 300 s with a 60 s minimum in steps of 60 s).  The pacing
-- comes with the campaign issue.

CREATE TABLE cc.campaigns (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name               text        NOT NULL UNIQUE,
    state              text        NOT NULL DEFAULT 'pending',
    priority           integer     NOT NULL DEFAULT 3,
    queue_id           uuid        REFERENCES cc.queues (id) ON DELETE RESTRICT,
    flow_id            uuid        REFERENCES cc.flows (id) ON DELETE RESTRICT,
    schedule_id        uuid        REFERENCES cc.schedules (id) ON DELETE RESTRICT,
    dial_order         text        NOT NULL DEFAULT 'as_uploaded',
    max_retries        integer     NOT NULL DEFAULT 2,
    retry_interval_s   integer     NOT NULL DEFAULT 300,
    expected_loss_rate numeric     NOT NULL DEFAULT 0.03,
    starts_at          timestamptz,
    ends_at            timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT campaigns_name_1_to_40_chars
        CHECK (char_length(btrim(name)) BETWEEN 1 AND 40),
    CONSTRAINT campaigns_state_in_pending_running_paused_aborted_completed
        CHECK (state IN ('pending', 'running', 'paused', 'aborted', 'completed')),
    CONSTRAINT campaigns_priority_1_to_5
        CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT campaigns_dial_order_in_as_uploaded_random
        CHECK (dial_order IN ('as_uploaded', 'random')),
    CONSTRAINT campaigns_max_retries_0_to_10
        CHECK (max_retries BETWEEN 0 AND 10),
    CONSTRAINT campaigns_retry_interval_s_min_60_step_60
        CHECK (retry_interval_s >= 60 AND retry_interval_s % 60 = 0),
    CONSTRAINT campaigns_expected_loss_rate_0_to_1
        CHECK (expected_loss_rate BETWEEN 0 AND 1),
    CONSTRAINT campaigns_ends_after_starts
        CHECK (ends_at > starts_at)
);
COMMENT ON TABLE cc.campaigns IS 'Outbound campaigns: a contact list dialled within call windows and connected to a queue or a flow.';
COMMENT ON COLUMN cc.campaigns.id IS 'Campaign id.';
COMMENT ON COLUMN cc.campaigns.name IS 'Unique name, 1 to 40 characters.';
COMMENT ON COLUMN cc.campaigns.state IS 'pending (editable), running, paused, aborted (final), completed.';
COMMENT ON COLUMN cc.campaigns.priority IS 'Priority among campaigns sharing agents: 1 (highest) to 5; 3 by default.';
COMMENT ON COLUMN cc.campaigns.queue_id IS 'Queue whose agents take the answered calls.';
COMMENT ON COLUMN cc.campaigns.flow_id IS 'Outbound flow run by answered calls (auto_outbound).';
COMMENT ON COLUMN cc.campaigns.schedule_id IS 'Weekly call windows and time zone (NULL: any time between starts_at and ends_at).';
COMMENT ON COLUMN cc.campaigns.dial_order IS 'as_uploaded or random.';
COMMENT ON COLUMN cc.campaigns.max_retries IS 'Retries of an unanswered contact, 0 to 10 (2).';
COMMENT ON COLUMN cc.campaigns.retry_interval_s IS 'Seconds between retries: at least 60, a multiple of 60 (300).';
COMMENT ON COLUMN cc.campaigns.expected_loss_rate IS 'Target share of answered calls abandoned for want of an agent, 0 to 1 (0.03: the regulatory 3 %).';
COMMENT ON COLUMN cc.campaigns.starts_at IS 'When dialling may start.';
COMMENT ON COLUMN cc.campaigns.ends_at IS 'When dialling must stop.';
COMMENT ON COLUMN cc.campaigns.created_at IS 'When the campaign was created.';
COMMENT ON COLUMN cc.campaigns.updated_at IS 'When the campaign last changed.';
CREATE TRIGGER campaigns_touch BEFORE UPDATE ON cc.campaigns FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

CREATE TABLE cc.campaign_numbers (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id uuid        NOT NULL REFERENCES cc.campaigns (id) ON DELETE CASCADE,
    number_id   uuid        NOT NULL REFERENCES cc.numbers (id) ON DELETE CASCADE,
    UNIQUE (campaign_id, number_id)
);
COMMENT ON TABLE cc.campaign_numbers IS 'Numbers a campaign presents as caller ID.';
COMMENT ON COLUMN cc.campaign_numbers.id IS 'Binding id.';
COMMENT ON COLUMN cc.campaign_numbers.campaign_id IS 'Campaign.';
COMMENT ON COLUMN cc.campaign_numbers.number_id IS 'Number it may use as caller ID.';

CREATE TABLE cc.campaign_contacts (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    campaign_id     uuid        NOT NULL REFERENCES cc.campaigns (id) ON DELETE CASCADE,
    position        integer     NOT NULL,
    number          text        NOT NULL,
    data            jsonb       NOT NULL DEFAULT '{}',
    state           text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    last_call_id    uuid,
    last_result     text,
    amd_result      text,
    UNIQUE (campaign_id, position),
    CONSTRAINT campaign_contacts_position_not_negative
        CHECK (position >= 0),
    CONSTRAINT campaign_contacts_number_1_to_32_digits_optional_plus
        CHECK (number ~ '^\+?[0-9]{1,32}$'),
    CONSTRAINT campaign_contacts_data_is_a_json_object
        CHECK (jsonb_typeof(data) = 'object'),
    CONSTRAINT campaign_contacts_state_in_pending_dialing_connected_lost_etc
        CHECK (state IN ('pending', 'dialing', 'connected', 'lost', 'failed', 'skipped')),
    CONSTRAINT campaign_contacts_attempts_not_negative
        CHECK (attempts >= 0),
    CONSTRAINT campaign_contacts_last_result_lowercase_word
        CHECK (last_result ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT campaign_contacts_amd_result_in_human_machine_not_sure
        CHECK (amd_result IN ('human', 'machine', 'not_sure'))
);
COMMENT ON TABLE cc.campaign_contacts IS 'The callee list of a campaign, with each contact''s dialling state.';
COMMENT ON COLUMN cc.campaign_contacts.id IS 'Contact id.';
COMMENT ON COLUMN cc.campaign_contacts.campaign_id IS 'Campaign.';
COMMENT ON COLUMN cc.campaign_contacts.position IS 'Order in the uploaded list.';
COMMENT ON COLUMN cc.campaign_contacts.number IS 'Number to dial: 1 to 32 digits with an optional leading +.';
COMMENT ON COLUMN cc.campaign_contacts.data IS 'Data uploaded with the contact, copied into the call''s variables.';
COMMENT ON COLUMN cc.campaign_contacts.state IS 'pending, dialing, connected (normal end), lost (answered, no agent), failed (retries exhausted), skipped.';
COMMENT ON COLUMN cc.campaign_contacts.attempts IS 'Dial attempts made.';
COMMENT ON COLUMN cc.campaign_contacts.next_attempt_at IS 'When the contact may be dialled next.';
COMMENT ON COLUMN cc.campaign_contacts.last_call_id IS 'Last call placed to the contact.';
COMMENT ON COLUMN cc.campaign_contacts.last_result IS 'Outbound access status of the last attempt (no_answer, busy, ...).';
COMMENT ON COLUMN cc.campaign_contacts.amd_result IS 'Answering-machine detection of the last answer: human, machine, not_sure.';
CREATE INDEX campaign_contacts_due ON cc.campaign_contacts (campaign_id, next_attempt_at) WHERE state = 'pending';
-- the CDR of a call finds its campaign through the contact it called
CREATE INDEX campaign_contacts_last_call ON cc.campaign_contacts (last_call_id) WHERE last_call_id IS NOT NULL;
