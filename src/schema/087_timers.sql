-- 087_timers.sql: durable timers for decisions finer than pg_cron's minute.
--
-- A decision that needs "later" (a queue's max wait, the next position
-- announcement, the end of an agent's wrap-up) sets a timer; cc sip keeps
-- the earliest due time in mind, re-reads it on every cc_commands
-- notification and every cc.command_rescan_ms, and runs cc.timers_fire()
-- when it passes.  Each due timer goes to its domain's handler (by the
-- prefix of its kind); the actions a handler returns reach cc sip as a
-- call_actions command.  Timers are rows, so a restart of cc sip loses none.

CREATE TABLE cc.timers (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       text        NOT NULL,
    due_at     timestamptz NOT NULL,
    call_id    uuid        REFERENCES cc.calls (id) ON DELETE CASCADE,
    leg_id     uuid        REFERENCES cc.legs (id) ON DELETE CASCADE,
    agent_id   uuid        REFERENCES cc.agents (id) ON DELETE CASCADE,
    data       jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT timers_kind_is_queue_flow_or_call_dot_name
        CHECK (kind ~ '^(queue|flow|call)\.[a-z][a-z0-9_]*$'),
    CONSTRAINT timers_data_is_a_json_object
        CHECK (jsonb_typeof(data) = 'object')
);
COMMENT ON TABLE cc.timers IS
    'Durable timers of the decisions: cc sip runs cc.timers_fire() when the earliest due_at passes; each goes to its domain''s handler.';
COMMENT ON COLUMN cc.timers.id IS 'Timer id.';
COMMENT ON COLUMN cc.timers.kind IS 'domain.name: queue.* goes to cc.queue_on_timer, flow.* to cc.flow_on_timer, call.* to cc.call_control_on_timer.';
COMMENT ON COLUMN cc.timers.due_at IS 'When the timer fires.';
COMMENT ON COLUMN cc.timers.call_id IS 'Call concerned, if any (its row is locked while the handler runs).';
COMMENT ON COLUMN cc.timers.leg_id IS 'Leg concerned, if any: the default leg of the handler''s actions.';
COMMENT ON COLUMN cc.timers.agent_id IS 'Agent concerned, if any.';
COMMENT ON COLUMN cc.timers.data IS 'What the handler needs to know (a JSON object).';
COMMENT ON COLUMN cc.timers.created_at IS 'When the timer was set.';
CREATE INDEX timers_due ON cc.timers (due_at);
CREATE INDEX timers_call ON cc.timers (call_id) WHERE call_id IS NOT NULL;
CREATE INDEX timers_agent ON cc.timers (agent_id) WHERE agent_id IS NOT NULL;

CREATE FUNCTION cc.timer_set(kind text, due_at timestamptz, call uuid DEFAULT NULL, leg uuid DEFAULT NULL,
                             agent uuid DEFAULT NULL, data jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    id uuid;
BEGIN
    IF due_at IS NULL THEN
        RAISE EXCEPTION 'cc: timer % needs a due time', kind USING ERRCODE = 'null_value_not_allowed';
    END IF;
    INSERT INTO cc.timers (kind, due_at, call_id, leg_id, agent_id, data)
    VALUES (kind, due_at, call, leg, agent, coalesce(data, '{}'))
    RETURNING timers.id INTO id;
    -- cc sip re-reads the earliest due time on any cc_commands notification
    PERFORM pg_notify('cc_commands', 'timer');
    RETURN id;
END;
$$;
COMMENT ON FUNCTION cc.timer_set(text, timestamptz, uuid, uuid, uuid, jsonb) IS
    'Sets a timer of kind domain.name due at due_at for a call, leg and/or agent; returns its id. cc sip fires it (cc.timers_fire).';

-- PL/pgSQL, not SQL: it runs several times for every call that ends (the
-- queue cancels its timers), and a SQL function is planned again each time.
CREATE FUNCTION cc.timers_cancel(kind text, call uuid DEFAULT NULL, agent uuid DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    n integer;
BEGIN
    -- one DELETE per case, each with a plain condition on an indexed
    -- column: a single DELETE with "call IS NULL OR t.call_id = call" gets a
    -- generic plan after a few calls that scans every timer, and cc.timers
    -- holds thousands while many callers wait
    IF call IS NOT NULL THEN
        DELETE FROM cc.timers AS t
         WHERE t.call_id = timers_cancel.call AND t.kind = timers_cancel.kind
           AND (timers_cancel.agent IS NULL OR t.agent_id = timers_cancel.agent);
    ELSIF agent IS NOT NULL THEN
        DELETE FROM cc.timers AS t
         WHERE t.agent_id = timers_cancel.agent AND t.kind = timers_cancel.kind;
    ELSE
        DELETE FROM cc.timers AS t WHERE t.kind = timers_cancel.kind;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.timers_cancel(text, uuid, uuid) IS
    'Cancels the timers of a kind (for one call and/or agent when given); returns how many.';

CREATE FUNCTION cc.timers_next_due_ms() RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    -- greatest() ignores NULLs, so "no timer" must stay NULL explicitly
    SELECT CASE WHEN min(due_at) IS NOT NULL
                THEN greatest(0, ceil(extract(epoch FROM min(due_at) - clock_timestamp()) * 1000))::bigint END
      FROM cc.timers;
$$;
COMMENT ON FUNCTION cc.timers_next_due_ms() IS 'Milliseconds until the earliest timer is due (0: due now; NULL: no timer). cc sip asks after each notification.';

CREATE FUNCTION cc.timers_fire(max_timers integer DEFAULT 500) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t       cc.timers;
    actions jsonb;
BEGIN
    FOR t IN
        SELECT * FROM cc.timers WHERE due_at <= clock_timestamp()
         ORDER BY due_at LIMIT max_timers FOR UPDATE SKIP LOCKED
    LOOP
        DELETE FROM cc.timers WHERE id = t.id;
        BEGIN
            IF t.call_id IS NOT NULL THEN
                PERFORM 1 FROM cc.calls WHERE id = t.call_id FOR UPDATE;
            END IF;
            actions := CASE split_part(t.kind, '.', 1)
                           WHEN 'queue' THEN cc.queue_on_timer(to_jsonb(t))
                           WHEN 'flow' THEN cc.flow_on_timer(to_jsonb(t))
                           WHEN 'call' THEN cc.call_control_on_timer(to_jsonb(t))
                       END;
            IF actions IS NOT NULL AND jsonb_array_length(actions) > 0 THEN
                IF t.leg_id IS NOT NULL THEN
                    -- the timer's leg is the default leg of its actions
                    SELECT jsonb_agg(CASE WHEN a ? 'leg' THEN a ELSE a || jsonb_build_object('leg', t.leg_id) END)
                      INTO actions FROM jsonb_array_elements(actions) AS a;
                END IF;
                PERFORM cc.call_actions_send(t.call_id, actions);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            -- one broken handler must not hold back every other timer
            RAISE WARNING 'cc: timer % (%) failed: %', t.id, t.kind, SQLERRM;
            PERFORM cc.event_append('timer.failed',
                jsonb_build_object('kind', t.kind, 'error', SQLERRM, 'data', t.data),
                call_id => t.call_id, leg_id => t.leg_id, agent_id => t.agent_id);
        END;
    END LOOP;
    RETURN cc.timers_next_due_ms();
END;
$$;
COMMENT ON FUNCTION cc.timers_fire(integer) IS
    'Run by cc sip when timers are due: each due timer is deleted and given to its domain''s handler (in a subtransaction: a failing handler is logged as timer.failed); the actions returned go to cc sip as call_actions. Returns cc.timers_next_due_ms().';
