-- 035_numbers.sql: our phone numbers and the blacklist.
--
-- A number is what callers dial and what we show as caller ID: its kind,
-- direction, limits, the flow and version it runs, its working hours and
-- the trunk that carries it.  Blacklisted callers are refused (SIP 603).

CREATE TABLE cc.numbers (
    id                       uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number                   text        NOT NULL UNIQUE,
    kind                     text        NOT NULL DEFAULT 'landline',
    direction                text        NOT NULL DEFAULT 'both',
    enabled                  boolean     NOT NULL DEFAULT true,
    trunk_id                 uuid        REFERENCES cc.trunks (id) ON DELETE RESTRICT,
    max_concurrent_calls     integer     NOT NULL DEFAULT 0,
    max_calls_per_second     integer     NOT NULL DEFAULT 0,
    tags                     text[]      NOT NULL DEFAULT '{}',
    region                   text,
    inbound_flow_id          uuid        REFERENCES cc.flows (id) ON DELETE RESTRICT,
    inbound_flow_version     text        DEFAULT 'MAIN',
    outbound_flow_id         uuid        REFERENCES cc.flows (id) ON DELETE SET NULL,
    schedule_id              uuid        REFERENCES cc.schedules (id) ON DELETE SET NULL,
    off_hours_prompt_id      uuid        REFERENCES cc.prompts (id) ON DELETE SET NULL,
    usable_for_agent_mobile  boolean     NOT NULL DEFAULT false,
    prefer_last_agent        boolean     NOT NULL DEFAULT false,
    prefer_last_agent_days   integer     NOT NULL DEFAULT 3,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (inbound_flow_id, inbound_flow_version)
        REFERENCES cc.flow_versions (flow_id, version) ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT numbers_number_3_to_20_digits_optional_plus
        CHECK (number ~ '^\+?[0-9]{3,20}$'),
    CONSTRAINT numbers_kind_in_landline_toll_free_sip_trunk
        CHECK (kind IN ('landline', 'toll_free', 'sip_trunk')),
    CONSTRAINT numbers_direction_in_in_out_both
        CHECK (direction IN ('in', 'out', 'both')),
    CONSTRAINT numbers_toll_free_is_inbound_only
        CHECK (kind <> 'toll_free' OR direction = 'in'),
    CONSTRAINT numbers_max_concurrent_calls_not_negative
        CHECK (max_concurrent_calls >= 0),
    CONSTRAINT numbers_max_calls_per_second_not_negative
        CHECK (max_calls_per_second >= 0),
    CONSTRAINT numbers_prefer_last_agent_days_1_to_365
        CHECK (prefer_last_agent_days BETWEEN 1 AND 365)
);
COMMENT ON TABLE cc.numbers IS 'Our phone numbers: what callers dial (selecting the flow) and what we present as caller ID.';
COMMENT ON COLUMN cc.numbers.id IS 'Number id.';
COMMENT ON COLUMN cc.numbers.number IS 'The number as dialled: 3 to 20 digits with an optional leading + (E.164 style). Unique.';
COMMENT ON COLUMN cc.numbers.kind IS 'landline (in and out), toll_free (400/800, inbound only) or sip_trunk (brought over a customer''s trunk).';
COMMENT ON COLUMN cc.numbers.direction IS 'Calls allowed: in, out or both.';
COMMENT ON COLUMN cc.numbers.enabled IS 'Disabled numbers answer nothing (404) and are not used as caller ID.';
COMMENT ON COLUMN cc.numbers.trunk_id IS 'Trunk carrying the number (outbound calls with this caller ID go through it).';
COMMENT ON COLUMN cc.numbers.max_concurrent_calls IS 'Most calls at once on this number (0 = unlimited); more get 503.';
COMMENT ON COLUMN cc.numbers.max_calls_per_second IS 'Most new calls per second (0 = unlimited); more get 503 with Retry-After.';
COMMENT ON COLUMN cc.numbers.tags IS 'Groups the number belongs to.';
COMMENT ON COLUMN cc.numbers.region IS 'Area of the number (for choosing a caller ID in the callee''s area).';
COMMENT ON COLUMN cc.numbers.inbound_flow_id IS 'Flow run by calls to this number.';
COMMENT ON COLUMN cc.numbers.inbound_flow_version IS 'Version of the inbound flow (MAIN by default); new calls use it, calls in progress keep theirs.';
COMMENT ON COLUMN cc.numbers.outbound_flow_id IS 'Flow run by outbound calls from this number.';
COMMENT ON COLUMN cc.numbers.schedule_id IS 'Working hours (NULL: always open).';
COMMENT ON COLUMN cc.numbers.off_hours_prompt_id IS 'Prompt played outside working hours before hanging up.';
COMMENT ON COLUMN cc.numbers.usable_for_agent_mobile IS 'Whether the number may be the caller ID when calling agents'' mobiles.';
COMMENT ON COLUMN cc.numbers.prefer_last_agent IS 'Route a caller to the agent who last called them out, skipping the IVR.';
COMMENT ON COLUMN cc.numbers.prefer_last_agent_days IS 'How far back prefer_last_agent looks, in days (3; 1 to 365).';
COMMENT ON COLUMN cc.numbers.created_at IS 'When the number was added.';
COMMENT ON COLUMN cc.numbers.updated_at IS 'When the number last changed.';
CREATE TRIGGER numbers_touch BEFORE UPDATE ON cc.numbers FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

CREATE TABLE cc.number_queues (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number_id  uuid        NOT NULL REFERENCES cc.numbers (id) ON DELETE CASCADE,
    queue_id   uuid        NOT NULL REFERENCES cc.queues (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (number_id, queue_id)
);
COMMENT ON TABLE cc.number_queues IS 'Outbound queues allowed to use a number as caller ID (chosen first for their agents'' calls).';
COMMENT ON COLUMN cc.number_queues.id IS 'Binding id.';
COMMENT ON COLUMN cc.number_queues.number_id IS 'Number usable as caller ID.';
COMMENT ON COLUMN cc.number_queues.queue_id IS 'Queue whose agents may use it.';
COMMENT ON COLUMN cc.number_queues.created_at IS 'When the binding was made.';

CREATE TABLE cc.blacklisted_numbers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    number     text        NOT NULL UNIQUE,
    reason     text,
    added_by   name        NOT NULL DEFAULT session_user,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    CONSTRAINT blacklisted_numbers_number_1_to_32_digits_optional_plus
        CHECK (number ~ '^\+?[0-9]{1,32}$'),
    CONSTRAINT blacklisted_numbers_expires_after_created
        CHECK (expires_at > created_at)
);
COMMENT ON TABLE cc.blacklisted_numbers IS 'The blacklist: calls from these numbers are not answered (SIP 603).';
COMMENT ON COLUMN cc.blacklisted_numbers.id IS 'Entry id.';
COMMENT ON COLUMN cc.blacklisted_numbers.number IS 'Caller number refused: 1 to 32 digits with an optional leading +. Unique.';
COMMENT ON COLUMN cc.blacklisted_numbers.reason IS 'Why the number is listed.';
COMMENT ON COLUMN cc.blacklisted_numbers.added_by IS 'Role that listed the number.';
COMMENT ON COLUMN cc.blacklisted_numbers.created_at IS 'When the number was listed.';
COMMENT ON COLUMN cc.blacklisted_numbers.expires_at IS 'When the entry stops applying (NULL: never).';
