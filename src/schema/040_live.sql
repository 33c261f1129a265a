-- 040_live.sql: live state of calls, queues and phones.
--
-- A call has legs (one per SIP dialog: the customer, agents, consults,
-- supervisors); a call waiting for a human is a queue entry; each time an
-- agent is rung for it is an offer.  Registrations are the contacts of
-- agents' phones, desk phones and register_in trunks.  Callbacks are callers
-- who left the queue keeping their place.  Every row names its site.

CREATE TABLE cc.calls (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    site            text        NOT NULL DEFAULT cc.site_name(),
    direction       text        NOT NULL,
    state           text        NOT NULL DEFAULT 'new',
    number_id       uuid        REFERENCES cc.numbers (id) ON DELETE SET NULL,
    trunk_id        uuid        REFERENCES cc.trunks (id) ON DELETE SET NULL,
    number          text,
    caller          text,
    callee          text,
    parent_call_id  uuid        REFERENCES cc.calls (id) ON DELETE SET NULL,
    flow_id         uuid        REFERENCES cc.flows (id) ON DELETE SET NULL,
    flow_version_id uuid        REFERENCES cc.flow_versions (id) ON DELETE SET NULL,
    flow_node       text,
    flow_position   jsonb       NOT NULL DEFAULT '{}',
    variables       jsonb       NOT NULL DEFAULT '{}',
    choices         jsonb       NOT NULL DEFAULT '[]',
    custom_data     jsonb       NOT NULL DEFAULT '{}',
    queue_id        uuid        REFERENCES cc.queues (id) ON DELETE SET NULL,
    agent_id        uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    connected_at    timestamptz,
    ended_at        timestamptz,
    end_cause       text,
    hangup_side     text,
    survey_entered_at timestamptz,
    CONSTRAINT calls_direction_in_inbound_outbound_internal
        CHECK (direction IN ('inbound', 'outbound', 'internal')),
    CONSTRAINT calls_state_in_new_ringing_ivr_queued_offering_connected_ended
        CHECK (state IN ('new', 'ringing', 'ivr', 'queued', 'offering', 'connected', 'ended')),
    CONSTRAINT calls_flow_position_is_a_json_object
        CHECK (jsonb_typeof(flow_position) = 'object'),
    CONSTRAINT calls_variables_is_a_json_object
        CHECK (jsonb_typeof(variables) = 'object'),
    CONSTRAINT calls_choices_is_a_json_array
        CHECK (jsonb_typeof(choices) = 'array'),
    CONSTRAINT calls_custom_data_is_a_json_object
        CHECK (jsonb_typeof(custom_data) = 'object'),
    CONSTRAINT calls_ended_iff_ended_at
        CHECK ((state = 'ended') = (ended_at IS NOT NULL)),
    CONSTRAINT calls_end_cause_lowercase_word
        CHECK (end_cause ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT calls_hangup_side_in_customer_agent_system
        CHECK (hangup_side IN ('customer', 'agent', 'system')),
    CONSTRAINT calls_times_ordered
        CHECK (answered_at >= created_at AND connected_at >= created_at AND ended_at >= created_at)
);
COMMENT ON TABLE cc.calls IS 'Calls in progress and recently ended: one per interaction, with its flow position and variables; legs in cc.legs.';
COMMENT ON COLUMN cc.calls.id IS 'Call id (${SystemSessionId}).';
COMMENT ON COLUMN cc.calls.site IS 'Site that carries the call''s media (cc.site, ''local'' when unset).';
COMMENT ON COLUMN cc.calls.direction IS 'inbound (a customer called us), outbound (we called out) or internal (agent to agent).';
COMMENT ON COLUMN cc.calls.state IS 'new, ringing (outbound, not answered yet), ivr (in a flow), queued, offering (an agent rings), connected, ended.';
COMMENT ON COLUMN cc.calls.number_id IS 'Our number involved: dialled (inbound) or presented as caller ID (outbound).';
COMMENT ON COLUMN cc.calls.trunk_id IS 'Trunk the call came in or went out by (NULL: an agent''s phone).';
COMMENT ON COLUMN cc.calls.number IS 'Our number as text (kept if the number row goes).';
COMMENT ON COLUMN cc.calls.caller IS 'Caller number or SIP user (${SystemCallerNumber}).';
COMMENT ON COLUMN cc.calls.callee IS 'Called number or SIP user (${SystemCalleeNumber}).';
COMMENT ON COLUMN cc.calls.parent_call_id IS 'Call this one was made from (consultation, callback, transfer to a new call).';
COMMENT ON COLUMN cc.calls.flow_id IS 'Flow the call runs (or ran).';
COMMENT ON COLUMN cc.calls.flow_version_id IS 'Version of the flow, fixed when the call entered it.';
COMMENT ON COLUMN cc.calls.flow_node IS 'Id of the flow node the call is at.';
COMMENT ON COLUMN cc.calls.flow_position IS 'Interpreter state at the node (counters, retries, pending collection) so a restart does not lose it.';
COMMENT ON COLUMN cc.calls.variables IS 'Flow variables of the call (JSON object), travelling with transfers.';
COMMENT ON COLUMN cc.calls.choices IS 'What the caller chose, in order, for the CDR: JSON array of {"node", "kind": menu|survey|collect|speech, "key", "label", "variable", "value", "at"}.';
COMMENT ON COLUMN cc.calls.custom_data IS 'Custom data of the call (cdr_custom_data merged by IBM''s rules: new keys added, existing overwritten, "" removes); the CDR''s custom_data.';
COMMENT ON COLUMN cc.calls.queue_id IS 'Queue the call is in or was last in.';
COMMENT ON COLUMN cc.calls.agent_id IS 'Agent currently (or last) connected to the customer.';
COMMENT ON COLUMN cc.calls.created_at IS 'When the call started (INVITE received or sent).';
COMMENT ON COLUMN cc.calls.answered_at IS 'When the customer''s leg was answered (by us or by the callee).';
COMMENT ON COLUMN cc.calls.connected_at IS 'When a human (agent or callee) first talked with the customer.';
COMMENT ON COLUMN cc.calls.ended_at IS 'When the call ended (set exactly when state is ended).';
COMMENT ON COLUMN cc.calls.end_cause IS 'Why it ended, a lowercase word: normal, busy, no_answer, rejected, canceled, abandoned, worker_restart, ...';
COMMENT ON COLUMN cc.calls.hangup_side IS 'Who hung up: customer, agent or system.';
COMMENT ON COLUMN cc.calls.survey_entered_at IS 'When the call''s flow first entered a survey node (the CDR''s survey_triggered), else NULL.';
-- The live calls.  No index names state, not even in its predicate
-- (ended_at IS NULL is the same set: calls_ended_iff_ended_at), so the
-- half-dozen state changes of a call are HOT updates, with no index entry
-- to add; with state indexed they cost 4.5 % of a queue pairing's
-- instructions (bench/queue_dispatch_instructions.py).  Queries of live
-- calls say ended_at IS NULL to use these indexes.
CREATE INDEX calls_live ON cc.calls (created_at) WHERE ended_at IS NULL;
-- and pages keep room for those updates
ALTER TABLE cc.calls SET (fillfactor = 80);
CREATE INDEX calls_created_at ON cc.calls (created_at);
CREATE INDEX calls_caller ON cc.calls (caller, created_at);

CREATE TABLE cc.legs (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id        uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    site           text        NOT NULL DEFAULT cc.site_name(),
    kind           text        NOT NULL,
    direction      text        NOT NULL,
    state          text        NOT NULL DEFAULT 'new',
    agent_id       uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    phone_id       uuid        REFERENCES cc.phones (id) ON DELETE SET NULL,
    trunk_id       uuid        REFERENCES cc.trunks (id) ON DELETE SET NULL,
    sip_call_id    text,
    from_uri       text,
    to_uri         text,
    contact        text,
    remote_ip      inet,
    remote_port    integer,
    transport      text,
    hold_state     text        NOT NULL DEFAULT 'none',
    muted          boolean     NOT NULL DEFAULT false,
    media_session  integer,
    codec          text,
    sip_code       integer,
    cause          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    ringing_at     timestamptz,
    answered_at    timestamptz,
    ended_at       timestamptz,
    CONSTRAINT legs_kind_in_customer_agent_consult_supervisor_external
        CHECK (kind IN ('customer', 'agent', 'consult', 'supervisor', 'external')),
    CONSTRAINT legs_direction_in_inbound_outbound
        CHECK (direction IN ('inbound', 'outbound')),
    CONSTRAINT legs_state_in_new_ringing_answered_ended
        CHECK (state IN ('new', 'ringing', 'answered', 'ended')),
    CONSTRAINT legs_remote_port_1_to_65535
        CHECK (remote_port BETWEEN 1 AND 65535),
    CONSTRAINT legs_transport_in_udp_tcp_tls_ws_wss
        CHECK (transport IN ('udp', 'tcp', 'tls', 'ws', 'wss')),
    CONSTRAINT legs_hold_state_in_none_local_remote_both
        CHECK (hold_state IN ('none', 'local', 'remote', 'both')),
    CONSTRAINT legs_media_session_not_negative
        CHECK (media_session >= 0),
    CONSTRAINT legs_codec_in_pcmu_pcma_g722
        CHECK (codec IN ('pcmu', 'pcma', 'g722')),
    CONSTRAINT legs_sip_code_100_to_699
        CHECK (sip_code BETWEEN 100 AND 699),
    CONSTRAINT legs_cause_lowercase_word
        CHECK (cause ~ '^[a-z][a-z0-9_]*$'),
    CONSTRAINT legs_ended_iff_ended_at
        CHECK ((state = 'ended') = (ended_at IS NOT NULL)),
    CONSTRAINT legs_times_ordered
        CHECK (ringing_at >= created_at AND answered_at >= created_at AND ended_at >= created_at
               AND answered_at >= ringing_at)
);
COMMENT ON TABLE cc.legs IS 'Legs of a call, one per SIP dialog (customer, agent, consult, supervisor), with their SIP facts and media session.';
COMMENT ON COLUMN cc.legs.id IS 'Leg id.';
COMMENT ON COLUMN cc.legs.call_id IS 'Call the leg belongs to.';
COMMENT ON COLUMN cc.legs.site IS 'Site that carries the leg.';
COMMENT ON COLUMN cc.legs.kind IS 'customer, agent, consult (a consulted party), supervisor (listen, whisper, barge) or external (an outside number the call was transferred to).';
COMMENT ON COLUMN cc.legs.direction IS 'inbound (the INVITE came to us) or outbound (we sent it).';
COMMENT ON COLUMN cc.legs.state IS 'new (INVITE sent or received), ringing, answered, ended.';
COMMENT ON COLUMN cc.legs.agent_id IS 'Agent on the leg (agent, consult and supervisor legs).';
COMMENT ON COLUMN cc.legs.phone_id IS 'Desk phone on the leg, if the leg rings a phone member.';
COMMENT ON COLUMN cc.legs.trunk_id IS 'Trunk the leg uses (customer and external legs).';
COMMENT ON COLUMN cc.legs.sip_call_id IS 'SIP Call-ID of the dialog.';
COMMENT ON COLUMN cc.legs.from_uri IS 'SIP From URI.';
COMMENT ON COLUMN cc.legs.to_uri IS 'SIP To URI.';
COMMENT ON COLUMN cc.legs.contact IS 'Remote SIP Contact URI.';
COMMENT ON COLUMN cc.legs.remote_ip IS 'IP address of the remote SIP peer.';
COMMENT ON COLUMN cc.legs.remote_port IS 'Port of the remote SIP peer (1 to 65535).';
COMMENT ON COLUMN cc.legs.transport IS 'SIP transport of the dialog: udp, tcp, tls, ws, wss.';
COMMENT ON COLUMN cc.legs.hold_state IS 'none, local (we hold the peer: cc.hold), remote (the peer holds us: re-INVITE sendonly/inactive), both.';
COMMENT ON COLUMN cc.legs.muted IS 'Whether the leg''s audio is muted (no hold audio).';
COMMENT ON COLUMN cc.legs.media_session IS 'Index of the leg''s session in the shared-memory media session table.';
COMMENT ON COLUMN cc.legs.codec IS 'Negotiated codec: pcmu, pcma or g722.';
COMMENT ON COLUMN cc.legs.sip_code IS 'Final SIP status of the INVITE (100 to 699).';
COMMENT ON COLUMN cc.legs.cause IS 'Why the leg ended, a lowercase word: normal, busy, no_answer, rejected, not_found, unavailable, carrier_fault, canceled, ...';
COMMENT ON COLUMN cc.legs.created_at IS 'When the leg started (INVITE sent or received).';
COMMENT ON COLUMN cc.legs.ringing_at IS 'When the leg started ringing (180/183).';
COMMENT ON COLUMN cc.legs.answered_at IS 'When the leg was answered (200).';
COMMENT ON COLUMN cc.legs.ended_at IS 'When the leg ended (set exactly when state is ended).';
CREATE INDEX legs_call ON cc.legs (call_id);
-- (agent legs have no Call-ID until cc sip sends their INVITE)
CREATE INDEX legs_sip_call_id ON cc.legs (sip_call_id) WHERE sip_call_id IS NOT NULL;
CREATE INDEX legs_agent_live ON cc.legs (agent_id) WHERE state <> 'ended';

CREATE TABLE cc.queue_entries (
    id                 uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id            uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    queue_id           uuid        NOT NULL REFERENCES cc.queues (id) ON DELETE CASCADE,
    site               text        NOT NULL DEFAULT cc.site_name(),
    routing_rule_id    uuid        REFERENCES cc.routing_rules (id) ON DELETE SET NULL,
    from_queue_id      uuid        REFERENCES cc.queues (id) ON DELETE SET NULL,
    priority           integer     NOT NULL DEFAULT 3,
    state              text        NOT NULL DEFAULT 'waiting',
    agent_id           uuid        REFERENCES cc.agents (id) ON DELETE SET NULL,
    entered_at         timestamptz NOT NULL DEFAULT now(),
    offered_at         timestamptz,
    answered_at        timestamptz,
    left_at            timestamptz,
    next_rule_at       timestamptz,
    announced_at       timestamptz,
    announced_position integer,
    preferred_agent_ids uuid[]     NOT NULL DEFAULT '{}',
    not_before         timestamptz,
    CONSTRAINT queue_entries_priority_1_to_5
        CHECK (priority BETWEEN 1 AND 5),
    CONSTRAINT queue_entries_state_in_waiting_offered_answered_abandoned_etc
        CHECK (state IN ('waiting', 'offered', 'answered', 'abandoned', 'timeout',
                         'overflowed', 'exited_with_key', 'callback', 'no_agent',
                         'full', 'transferred')),
    CONSTRAINT queue_entries_left_iff_not_waiting_or_offered
        CHECK ((state IN ('waiting', 'offered')) = (left_at IS NULL)),
    CONSTRAINT queue_entries_announced_position_at_least_1
        CHECK (announced_position >= 1),
    CONSTRAINT queue_entries_times_ordered
        CHECK (offered_at >= entered_at AND answered_at >= entered_at AND left_at >= entered_at)
);
COMMENT ON TABLE cc.queue_entries IS
    'Calls in queues: one row per stay of a call in a queue (an overflow or transfer starts a new one); dispatch pairs waiting entries with agents.';
COMMENT ON COLUMN cc.queue_entries.id IS 'Queue entry id.';
COMMENT ON COLUMN cc.queue_entries.call_id IS 'Call waiting.';
COMMENT ON COLUMN cc.queue_entries.queue_id IS 'Queue it waits in.';
COMMENT ON COLUMN cc.queue_entries.site IS 'Site of the call.';
COMMENT ON COLUMN cc.queue_entries.routing_rule_id IS 'Routing rule that sent the call here, if any.';
COMMENT ON COLUMN cc.queue_entries.from_queue_id IS 'Queue the call overflowed or was transferred from.';
COMMENT ON COLUMN cc.queue_entries.priority IS 'Caller priority: 1 (served first) to 5; 3 by default. Waiting callers are served by priority, then by entered_at.';
COMMENT ON COLUMN cc.queue_entries.state IS 'waiting, offered (an agent rings), and the final states answered, abandoned, timeout, overflowed, exited_with_key, callback, no_agent, full, transferred.';
COMMENT ON COLUMN cc.queue_entries.agent_id IS 'Agent who answered.';
COMMENT ON COLUMN cc.queue_entries.entered_at IS 'When the call entered the queue (keeps its place through a callback).';
COMMENT ON COLUMN cc.queue_entries.offered_at IS 'When the call was first offered to an agent.';
COMMENT ON COLUMN cc.queue_entries.answered_at IS 'When an agent answered.';
COMMENT ON COLUMN cc.queue_entries.left_at IS 'When the entry reached a final state (NULL exactly while waiting or offered).';
COMMENT ON COLUMN cc.queue_entries.next_rule_at IS 'When the next routing rule applies (the rule''s timeout_s after entry).';
COMMENT ON COLUMN cc.queue_entries.announced_at IS 'When the caller last heard its position.';
COMMENT ON COLUMN cc.queue_entries.announced_position IS 'Position last announced (${WaitNo}: 1 = next).';
COMMENT ON COLUMN cc.queue_entries.preferred_agent_ids IS 'Agents offered the call first, in order (memory routing, preferred-agents webhook), when they are available members.';
COMMENT ON COLUMN cc.queue_entries.not_before IS 'The entry is not offered before this time (waiting for the preferred-agents webhook; NULL: now).';
CREATE INDEX queue_entries_waiting ON cc.queue_entries (queue_id, priority, entered_at) WHERE state IN ('waiting', 'offered');
CREATE UNIQUE INDEX queue_entries_one_live_per_call ON cc.queue_entries (call_id) WHERE state IN ('waiting', 'offered');
-- A call's entries and offers, ended ones too: the CDR reads them, and
-- deleting a call (retention) cascades to them.
CREATE INDEX queue_entries_call ON cc.queue_entries (call_id);

CREATE TABLE cc.offers (
    id             uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    queue_entry_id uuid        NOT NULL REFERENCES cc.queue_entries (id) ON DELETE CASCADE,
    call_id        uuid        NOT NULL REFERENCES cc.calls (id) ON DELETE CASCADE,
    agent_id       uuid        REFERENCES cc.agents (id) ON DELETE CASCADE,
    phone_id       uuid        REFERENCES cc.phones (id) ON DELETE CASCADE,
    leg_id         uuid        REFERENCES cc.legs (id) ON DELETE SET NULL,
    outcome        text        NOT NULL DEFAULT 'offered',
    reason         text,
    offered_at     timestamptz NOT NULL DEFAULT now(),
    decided_at     timestamptz,
    CONSTRAINT offers_one_of_agent_id_or_phone_id
        CHECK (num_nonnulls(agent_id, phone_id) = 1),
    CONSTRAINT offers_outcome_in_offered_accepted_rejected_timeout_canceled
        CHECK (outcome IN ('offered', 'accepted', 'rejected', 'timeout', 'canceled')),
    CONSTRAINT offers_decided_iff_not_offered
        CHECK ((outcome = 'offered') = (decided_at IS NULL)),
    CONSTRAINT offers_decided_after_offered
        CHECK (decided_at >= offered_at)
);
COMMENT ON TABLE cc.offers IS 'Each time a queued call rings an agent or phone, with its outcome; an agent has at most one open offer.';
COMMENT ON COLUMN cc.offers.id IS 'Offer id.';
COMMENT ON COLUMN cc.offers.queue_entry_id IS 'Queue entry offered.';
COMMENT ON COLUMN cc.offers.call_id IS 'Call offered.';
COMMENT ON COLUMN cc.offers.agent_id IS 'Agent rung (exactly one of agent_id, phone_id).';
COMMENT ON COLUMN cc.offers.phone_id IS 'Desk phone member rung (exactly one of agent_id, phone_id).';
COMMENT ON COLUMN cc.offers.leg_id IS 'Leg that rings the agent.';
COMMENT ON COLUMN cc.offers.outcome IS 'offered (ringing), accepted, rejected, timeout (ring timeout) or canceled (caller left, another member answered).';
COMMENT ON COLUMN cc.offers.reason IS 'Detail of the outcome (SIP cause, e.g. busy, not_registered).';
COMMENT ON COLUMN cc.offers.offered_at IS 'When the agent started ringing.';
COMMENT ON COLUMN cc.offers.decided_at IS 'When the outcome was known (NULL exactly while offered).';
-- (an offer rings an agent or a desk phone: each index leaves out the
-- other kind, whose NULL could never conflict anyway)
CREATE UNIQUE INDEX offers_one_open_per_agent ON cc.offers (agent_id) WHERE outcome = 'offered' AND agent_id IS NOT NULL;
CREATE UNIQUE INDEX offers_one_open_per_phone ON cc.offers (phone_id) WHERE outcome = 'offered' AND phone_id IS NOT NULL;
CREATE INDEX offers_queue_entry ON cc.offers (queue_entry_id);
CREATE INDEX offers_agent_at ON cc.offers (agent_id, offered_at);
CREATE INDEX offers_call ON cc.offers (call_id);

CREATE TABLE cc.registrations (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    site          text        NOT NULL DEFAULT cc.site_name(),
    agent_id      uuid        REFERENCES cc.agents (id) ON DELETE CASCADE,
    phone_id      uuid        REFERENCES cc.phones (id) ON DELETE CASCADE,
    trunk_id      uuid        REFERENCES cc.trunks (id) ON DELETE CASCADE,
    contact       text        NOT NULL,
    expires_at    timestamptz NOT NULL,
    source_ip     inet,
    source_port   integer,
    transport     text        NOT NULL DEFAULT 'udp',
    user_agent    text,
    sip_call_id   text,
    registered_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT registrations_one_of_agent_id_phone_id_trunk_id
        CHECK (num_nonnulls(agent_id, phone_id, trunk_id) = 1),
    CONSTRAINT registrations_source_port_1_to_65535
        CHECK (source_port BETWEEN 1 AND 65535),
    CONSTRAINT registrations_transport_in_udp_tcp_tls_ws_wss
        CHECK (transport IN ('udp', 'tcp', 'tls', 'ws', 'wss'))
);
COMMENT ON TABLE cc.registrations IS 'Registered SIP contacts of agents'' phones, desk phones and register_in trunks; several per owner; removed at expiry.';
COMMENT ON COLUMN cc.registrations.id IS 'Registration id.';
COMMENT ON COLUMN cc.registrations.site IS 'Site whose registrar holds the binding.';
COMMENT ON COLUMN cc.registrations.agent_id IS 'Agent whose extension registered (exactly one of agent_id, phone_id, trunk_id).';
COMMENT ON COLUMN cc.registrations.phone_id IS 'Desk phone that registered.';
COMMENT ON COLUMN cc.registrations.trunk_id IS 'register_in trunk whose gateway registered.';
COMMENT ON COLUMN cc.registrations.contact IS 'Contact URI to send INVITEs to.';
COMMENT ON COLUMN cc.registrations.expires_at IS 'When the binding expires unless refreshed.';
COMMENT ON COLUMN cc.registrations.source_ip IS 'IP address the REGISTER came from (where requests are sent behind NAT).';
COMMENT ON COLUMN cc.registrations.source_port IS 'Port the REGISTER came from (1 to 65535).';
COMMENT ON COLUMN cc.registrations.transport IS 'Transport of the REGISTER: udp, tcp, tls, ws, wss (lowercase).';
COMMENT ON COLUMN cc.registrations.user_agent IS 'User-Agent header of the phone.';
COMMENT ON COLUMN cc.registrations.sip_call_id IS 'Call-ID of the REGISTER dialog.';
COMMENT ON COLUMN cc.registrations.registered_at IS 'When the binding was first made.';
CREATE UNIQUE INDEX registrations_agent_contact ON cc.registrations (agent_id, contact) WHERE agent_id IS NOT NULL;
CREATE UNIQUE INDEX registrations_phone_contact ON cc.registrations (phone_id, contact) WHERE phone_id IS NOT NULL;
CREATE UNIQUE INDEX registrations_trunk_contact ON cc.registrations (trunk_id, contact) WHERE trunk_id IS NOT NULL;
CREATE INDEX registrations_expires_at ON cc.registrations (expires_at);

CREATE TABLE cc.callbacks (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    call_id         uuid        REFERENCES cc.calls (id) ON DELETE SET NULL,
    queue_entry_id  uuid        REFERENCES cc.queue_entries (id) ON DELETE SET NULL,
    queue_id        uuid        NOT NULL REFERENCES cc.queues (id) ON DELETE CASCADE,
    number          text        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    callback_call_id uuid       REFERENCES cc.calls (id) ON DELETE SET NULL,
    CONSTRAINT callbacks_number_1_to_32_digits_optional_plus
        CHECK (number ~ '^\+?[0-9]{1,32}$'),
    CONSTRAINT callbacks_state_in_pending_dialing_connected_failed_expired_etc
        CHECK (state IN ('pending', 'dialing', 'connected', 'failed', 'expired', 'canceled')),
    CONSTRAINT callbacks_attempts_not_negative
        CHECK (attempts >= 0),
    CONSTRAINT callbacks_expires_after_requested
        CHECK (expires_at > requested_at)
);
COMMENT ON TABLE cc.callbacks IS 'Callers who pressed the callback key and hung up: they keep their place and are called back when they reach the front.';
COMMENT ON COLUMN cc.callbacks.id IS 'Callback id.';
COMMENT ON COLUMN cc.callbacks.call_id IS 'Call in which the caller asked for the callback.';
COMMENT ON COLUMN cc.callbacks.queue_entry_id IS 'Queue entry whose place the callback keeps.';
COMMENT ON COLUMN cc.callbacks.queue_id IS 'Queue the callback waits in.';
COMMENT ON COLUMN cc.callbacks.number IS 'Number to call back: 1 to 32 digits with an optional leading +.';
COMMENT ON COLUMN cc.callbacks.state IS 'pending, dialing, connected, failed, expired, canceled.';
COMMENT ON COLUMN cc.callbacks.attempts IS 'Call-back attempts made.';
COMMENT ON COLUMN cc.callbacks.requested_at IS 'When the caller asked.';
COMMENT ON COLUMN cc.callbacks.expires_at IS 'When the request lapses unserved (the callback.expiry_hours setting after requested_at).';
COMMENT ON COLUMN cc.callbacks.last_attempt_at IS 'When the last attempt started.';
COMMENT ON COLUMN cc.callbacks.callback_call_id IS 'Call placed to call the customer back.';
CREATE INDEX callbacks_pending ON cc.callbacks (queue_id, requested_at) WHERE state = 'pending';
