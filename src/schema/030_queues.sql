-- 030_queues.sql: queues (skill groups), their members, and routing rules.
--
-- A queue holds waiting calls (cc.queue_entries, 040_live.sql) and rings
-- its members by its strategy.  Routing rules, tried in order, pick the
-- queue, the caller's priority and how long before the next rule applies.

CREATE TABLE cc.queues (
    id                   uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name                 text        NOT NULL UNIQUE,
    strategy             text        NOT NULL DEFAULT 'longest_idle',
    ring_all_cap         integer     NOT NULL DEFAULT 2,
    ring_timeout_s       integer     NOT NULL DEFAULT 15,
    max_wait_s           integer     NOT NULL DEFAULT 0,
    max_length           integer     NOT NULL DEFAULT 0,
    no_agent_action      text        NOT NULL DEFAULT 'wait',
    overflow_queue_id    uuid        REFERENCES cc.queues (id) ON DELETE SET NULL,
    exit_key             text,
    announce_interval_s  integer     NOT NULL DEFAULT 0,
    announce_prompt_id   uuid        REFERENCES cc.prompts (id) ON DELETE SET NULL,
    hold_music_prompt_id uuid        REFERENCES cc.prompts (id) ON DELETE SET NULL,
    transfer_prompt_id   uuid        REFERENCES cc.prompts (id) ON DELETE SET NULL,
    wrap_up_s            integer     NOT NULL DEFAULT 0,
    pickup_code          text        UNIQUE,
    capacity             integer     NOT NULL DEFAULT 1,
    callback_key         text,
    ring_step_s          integer     NOT NULL DEFAULT 10,
    memory_days          integer     NOT NULL DEFAULT 3,
    preferred_agents_url text,
    preferred_agents_timeout_ms integer NOT NULL DEFAULT 3000,
    enabled              boolean     NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queues_name_not_blank
        CHECK (btrim(name) <> ''),
    CONSTRAINT queues_strategy_in_ring_all_sequential_longest_idle_etc
        CHECK (strategy IN ('ring_all', 'sequential', 'longest_idle', 'fewest_calls',
                            'fewest_calls_today', 'least_talk_time', 'round_robin',
                            'random', 'top_down', 'ring_progressively')),
    CONSTRAINT queues_ring_all_cap_1_to_100
        CHECK (ring_all_cap BETWEEN 1 AND 100),
    CONSTRAINT queues_ring_timeout_s_1_to_600
        CHECK (ring_timeout_s BETWEEN 1 AND 600),
    CONSTRAINT queues_max_wait_s_not_negative
        CHECK (max_wait_s >= 0),
    CONSTRAINT queues_max_length_not_negative
        CHECK (max_length >= 0),
    CONSTRAINT queues_no_agent_action_in_wait_overflow_hang_up
        CHECK (no_agent_action IN ('wait', 'overflow', 'hang_up')),
    CONSTRAINT queues_overflow_needs_overflow_queue
        CHECK (no_agent_action <> 'overflow' OR overflow_queue_id IS NOT NULL),
    CONSTRAINT queues_overflow_queue_not_itself
        CHECK (overflow_queue_id <> id),
    CONSTRAINT queues_exit_key_one_of_0_9_star_hash
        CHECK (exit_key ~ '^[0-9*#]$'),
    CONSTRAINT queues_announce_interval_s_0_or_10_to_3600
        CHECK (announce_interval_s = 0 OR announce_interval_s BETWEEN 10 AND 3600),
    CONSTRAINT queues_wrap_up_s_0_to_3600
        CHECK (wrap_up_s BETWEEN 0 AND 3600),
    CONSTRAINT queues_pickup_code_star_and_1_to_4_digits
        CHECK (pickup_code ~ '^\*[0-9]{1,4}$'),
    CONSTRAINT queues_capacity_1_to_100
        CHECK (capacity BETWEEN 1 AND 100),
    CONSTRAINT queues_callback_key_one_of_0_9_star_hash
        CHECK (callback_key ~ '^[0-9*#]$'),
    CONSTRAINT queues_callback_key_not_exit_key
        CHECK (callback_key <> exit_key),
    CONSTRAINT queues_ring_step_s_1_to_600
        CHECK (ring_step_s BETWEEN 1 AND 600),
    CONSTRAINT queues_memory_days_0_to_365
        CHECK (memory_days BETWEEN 0 AND 365),
    CONSTRAINT queues_preferred_agents_url_http_or_https
        CHECK (preferred_agents_url ~ '^https?://[^[:space:]]+$'),
    CONSTRAINT queues_preferred_agents_timeout_ms_100_to_30000
        CHECK (preferred_agents_timeout_ms BETWEEN 100 AND 30000)
);
COMMENT ON TABLE cc.queues IS 'Queues (skill groups): waiting calls are offered to members by the ring strategy.';
COMMENT ON COLUMN cc.queues.id IS 'Queue id.';
COMMENT ON COLUMN cc.queues.name IS 'Unique name of the queue.';
COMMENT ON COLUMN cc.queues.strategy IS 'Ring strategy: ring_all, sequential, longest_idle, fewest_calls, fewest_calls_today, least_talk_time, round_robin, random, top_down, ring_progressively.';
COMMENT ON COLUMN cc.queues.ring_all_cap IS 'ring_all: most endpoints rung at once (2, as the reference).';
COMMENT ON COLUMN cc.queues.ring_timeout_s IS 'Seconds an offer rings before the next agent is tried (1 to 600).';
COMMENT ON COLUMN cc.queues.max_wait_s IS 'Seconds a caller may wait before leaving with timeout (0 = no limit).';
COMMENT ON COLUMN cc.queues.max_length IS 'Most callers waiting at once; more are refused with full (0 = no limit).';
COMMENT ON COLUMN cc.queues.no_agent_action IS 'When no member is logged in: wait, overflow (to overflow_queue_id) or hang_up.';
COMMENT ON COLUMN cc.queues.overflow_queue_id IS 'Queue callers move to when all members are busy or offline.';
COMMENT ON COLUMN cc.queues.exit_key IS 'Key (0-9, *, #) a waiting caller presses to leave the queue (NULL: none).';
COMMENT ON COLUMN cc.queues.announce_interval_s IS 'Seconds between position and estimated-wait announcements (0 = none, else 10 to 3600).';
COMMENT ON COLUMN cc.queues.announce_prompt_id IS 'Announcement played at each interval (TTS may use ${WaitNo}).';
COMMENT ON COLUMN cc.queues.hold_music_prompt_id IS 'Music or message looped while a caller waits.';
COMMENT ON COLUMN cc.queues.transfer_prompt_id IS 'Prompt played while the call is transferred to an agent (may use ${StaffNo}).';
COMMENT ON COLUMN cc.queues.wrap_up_s IS 'After-call work in seconds for this queue''s calls (0 to 3600), unless the agent sets its own.';
COMMENT ON COLUMN cc.queues.pickup_code IS 'Code a member dials to pick up a call ringing on another member: * and 1 to 4 digits. Unique.';
COMMENT ON COLUMN cc.queues.capacity IS 'Calls of this queue a member handles at once (1 to 100).';
COMMENT ON COLUMN cc.queues.callback_key IS 'Key (0-9, *, #) a waiting caller presses to be called back keeping their place (NULL: no callback).';
COMMENT ON COLUMN cc.queues.ring_step_s IS 'ring_progressively: seconds before one more member is rung while the others keep ringing (1 to 600).';
COMMENT ON COLUMN cc.queues.memory_days IS 'Memory routing: ring first the agent who last served this caller, then the agent who last called them out, within this many days (0 = off; 3).';
COMMENT ON COLUMN cc.queues.preferred_agents_url IS 'Preferred-agents webhook: http(s) URL asked which agents (SeatEmails) or queue (SkillGroup) should take a caller (NULL: none).';
COMMENT ON COLUMN cc.queues.preferred_agents_timeout_ms IS 'How long a caller waits for the preferred-agents webhook before the strategy decides (100 to 30000 ms).';
COMMENT ON COLUMN cc.queues.enabled IS 'Disabled queues accept no new callers.';
COMMENT ON COLUMN cc.queues.created_at IS 'When the queue was created.';
COMMENT ON COLUMN cc.queues.updated_at IS 'When the queue last changed.';
CREATE TRIGGER queues_touch BEFORE UPDATE ON cc.queues FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();

CREATE TABLE cc.queue_members (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    queue_id   uuid        NOT NULL REFERENCES cc.queues (id) ON DELETE CASCADE,
    agent_id   uuid        REFERENCES cc.agents (id) ON DELETE CASCADE,
    phone_id   uuid        REFERENCES cc.phones (id) ON DELETE CASCADE,
    priority   integer     NOT NULL DEFAULT 3,
    position   integer     NOT NULL DEFAULT 0,
    enabled    boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (queue_id, agent_id),
    UNIQUE (queue_id, phone_id),
    CONSTRAINT queue_members_one_of_agent_id_or_phone_id
        CHECK (num_nonnulls(agent_id, phone_id) = 1),
    CONSTRAINT queue_members_priority_1_to_5
        CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT queue_members_position_not_negative
        CHECK (position >= 0)
);
COMMENT ON TABLE cc.queue_members IS 'Who a queue rings: agents, or desk phones on their own, each with a priority.';
COMMENT ON COLUMN cc.queue_members.id IS 'Membership id.';
COMMENT ON COLUMN cc.queue_members.queue_id IS 'Queue.';
COMMENT ON COLUMN cc.queue_members.agent_id IS 'Agent member (exactly one of agent_id, phone_id).';
COMMENT ON COLUMN cc.queue_members.phone_id IS 'Desk phone member (exactly one of agent_id, phone_id).';
COMMENT ON COLUMN cc.queue_members.priority IS 'Priority of the member: 1 (highest, rung first) to 5 (lowest); 3 by default.';
COMMENT ON COLUMN cc.queue_members.position IS 'Order within a priority for sequential, top_down and round_robin.';
COMMENT ON COLUMN cc.queue_members.enabled IS 'Disabled members are not rung (paused in the queue).';
COMMENT ON COLUMN cc.queue_members.created_at IS 'When the member was added.';
CREATE INDEX queue_members_agent ON cc.queue_members (agent_id);

CREATE TABLE cc.routing_rules (
    id                    uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    position              integer     NOT NULL,
    name                  text        NOT NULL,
    enabled               boolean     NOT NULL DEFAULT true,
    match_numbers         text[],
    match_caller_prefixes text[],
    match_callers         text[],
    match_schedule_id     uuid        REFERENCES cc.schedules (id) ON DELETE RESTRICT,
    match_variables       jsonb,
    queue_id              uuid        NOT NULL REFERENCES cc.queues (id) ON DELETE CASCADE,
    priority              integer     NOT NULL DEFAULT 3,
    timeout_s             integer,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT routing_rules_position_unique UNIQUE (position) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT routing_rules_position_not_negative
        CHECK (position >= 0),
    CONSTRAINT routing_rules_match_variables_is_a_json_object
        CHECK (jsonb_typeof(match_variables) = 'object'),
    CONSTRAINT routing_rules_priority_1_to_5
        CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT routing_rules_timeout_s_1_to_86400
        CHECK (timeout_s BETWEEN 1 AND 86400)
);
COMMENT ON TABLE cc.routing_rules IS
    'Ordered routing rules (TaskRouter''s filters and targets in SQL): the first enabled rule whose every given match holds sets the queue, the caller''s priority and the time before the next rule applies.';
COMMENT ON COLUMN cc.routing_rules.id IS 'Rule id.';
COMMENT ON COLUMN cc.routing_rules.position IS 'Order of evaluation (smallest first), unique.';
COMMENT ON COLUMN cc.routing_rules.name IS 'Name of the rule, for people.';
COMMENT ON COLUMN cc.routing_rules.enabled IS 'Disabled rules are skipped.';
COMMENT ON COLUMN cc.routing_rules.match_numbers IS 'Dialled numbers the rule applies to (NULL: any).';
COMMENT ON COLUMN cc.routing_rules.match_caller_prefixes IS 'Caller number prefixes the rule applies to (NULL: any).';
COMMENT ON COLUMN cc.routing_rules.match_callers IS 'Exact caller numbers the rule applies to, e.g. VIPs (NULL: any).';
COMMENT ON COLUMN cc.routing_rules.match_schedule_id IS 'Time window: the rule applies while this schedule is open (NULL: always).';
COMMENT ON COLUMN cc.routing_rules.match_variables IS 'Call variables the rule needs: applies when the call''s variables contain this object (@>; NULL: any).';
COMMENT ON COLUMN cc.routing_rules.queue_id IS 'Queue the call goes to.';
COMMENT ON COLUMN cc.routing_rules.priority IS 'Caller priority in the queue: 1 (served first) to 5; 3 by default.';
COMMENT ON COLUMN cc.routing_rules.timeout_s IS 'Seconds before the next matching rule applies (NULL: this rule stays).';
COMMENT ON COLUMN cc.routing_rules.created_at IS 'When the rule was created.';
COMMENT ON COLUMN cc.routing_rules.updated_at IS 'When the rule last changed.';
CREATE TRIGGER routing_rules_touch BEFORE UPDATE ON cc.routing_rules FOR EACH ROW EXECUTE FUNCTION cc.touch_updated_at();
