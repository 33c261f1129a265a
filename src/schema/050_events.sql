-- 050_events.sql: the event log.
--
-- Every change of a call, leg, agent, queue entry or command is appended to
-- cc.events (append-only, partitioned by day) and announced on the
-- cc_events channel.  A call's events, in order, are its timeline
-- (cc.call_timeline, 122_timeline.sql).  Webhook subscriptions turn events
-- into outbox rows in the same transaction (121_webhooks.sql).  The
-- catalogue of event types is docs/events.md.

CREATE SEQUENCE cc.events_seq;
COMMENT ON SEQUENCE cc.events_seq IS 'Order of events across the site: cc.events.seq.';

-- cc.event_type_is_valid is the rule of an event's type, dotted lowercase
-- words (domain.verb), in C: checked on every event, as a regex it cost
-- 1.5 % of a queue pairing.
CREATE FUNCTION cc.event_type_is_valid(type text) RETURNS boolean
AS 'MODULE_PATHNAME', 'cc_event_type_is_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION cc.event_type_is_valid(text) IS
    'Whether a text is a valid event type: two or more dot-separated words, each a lowercase letter then lowercase letters, digits or underscores (as ^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$).';

CREATE TABLE cc.events (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    seq         bigint      NOT NULL DEFAULT nextval('cc.events_seq'),
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    type        text        NOT NULL,
    site        text        NOT NULL DEFAULT cc.site_name(),
    call_id     uuid,
    leg_id      uuid,
    agent_id    uuid,
    queue_id    uuid,
    command_id  uuid,
    data        jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (at, id),
    CONSTRAINT events_type_is_dotted_lowercase
        CHECK (cc.event_type_is_valid(type)),
    CONSTRAINT events_data_is_a_json_object
        CHECK (jsonb_typeof(data) = 'object')
) PARTITION BY RANGE (at);

COMMENT ON TABLE cc.events IS
    'Append-only log of every state change (calls, legs, agents, queue entries, commands), partitioned by day; a call''s events in seq order are its timeline.';
COMMENT ON COLUMN cc.events.id IS 'Event id.';
COMMENT ON COLUMN cc.events.seq IS 'Order of the event on this site (from cc.events_seq).';
COMMENT ON COLUMN cc.events.at IS 'When the event happened (clock time of the writing transaction''s statement).';
COMMENT ON COLUMN cc.events.type IS 'What happened, as domain.verb, e.g. sip.options, command.done, call.answered.';
COMMENT ON COLUMN cc.events.site IS 'Site that wrote the event (cc.site).';
COMMENT ON COLUMN cc.events.call_id IS 'Call concerned, if any.';
COMMENT ON COLUMN cc.events.leg_id IS 'Leg concerned, if any.';
COMMENT ON COLUMN cc.events.agent_id IS 'Agent concerned, if any.';
COMMENT ON COLUMN cc.events.queue_id IS 'Queue concerned, if any.';
COMMENT ON COLUMN cc.events.command_id IS 'Command concerned, if any.';
COMMENT ON COLUMN cc.events.data IS 'Details of the event (a JSON object).';

CREATE INDEX events_call ON cc.events (call_id, seq) WHERE call_id IS NOT NULL;
CREATE INDEX events_command ON cc.events (command_id) WHERE command_id IS NOT NULL;
CREATE INDEX events_agent ON cc.events (agent_id, at) WHERE agent_id IS NOT NULL;
-- No index on type: events by time (and type) are read through the
-- primary key, which begins with at.  A (type, at) index cost 3.8 % of a
-- queue pairing's instructions (five events each,
-- bench/queue_dispatch_instructions.py).

-- Rows outside every daily partition land here, so no event is ever refused.
CREATE TABLE cc.events_default PARTITION OF cc.events DEFAULT;
COMMENT ON TABLE cc.events_default IS 'Events outside every daily partition (never refused, moved by nobody).';

CREATE FUNCTION cc.events_create_partitions(days_ahead integer DEFAULT 7)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    day     date;
    name    text;
    created integer := 0;
BEGIN
    IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
        RAISE EXCEPTION 'cc: days_ahead % is out of range', days_ahead
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a number of days from 0 to 366.';
    END IF;
    FOR day IN SELECT d::date FROM generate_series(current_date, current_date + days_ahead, interval '1 day') AS d LOOP
        name := 'events_' || to_char(day, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('cc.' || name) IS NOT NULL;
        -- A day already holding rows in the default partition keeps them there.
        IF EXISTS (SELECT 1 FROM cc.events_default WHERE at >= day AND at < day + 1) THEN
            RAISE NOTICE 'cc: events of % stay in cc.events_default', day;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE TABLE cc.%I PARTITION OF cc.events FOR VALUES FROM (%L) TO (%L)',
                       name, day::timestamptz, (day + 1)::timestamptz);
        EXECUTE format('COMMENT ON TABLE cc.%I IS %L', name, 'Events of ' || day || ' (a partition of cc.events).');
        created := created + 1;
    END LOOP;
    RETURN created;
END;
$$;
COMMENT ON FUNCTION cc.events_create_partitions(integer) IS
    'Creates the daily partitions of cc.events from today to days_ahead days ahead; returns how many it created. Run daily by pg_cron.';

CREATE FUNCTION cc.events_drop_partitions(keep_days integer DEFAULT 90)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    part    record;
    dropped integer := 0;
BEGIN
    IF keep_days IS NULL OR keep_days < 1 THEN
        RAISE EXCEPTION 'cc: keep_days % is out of range', keep_days
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Keep at least 1 day of events.';
    END IF;
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'cc.events'::regclass
           AND c.relname ~ '^events_[0-9]{8}$'
           AND to_date(substr(c.relname, 8), 'YYYYMMDD') < current_date - keep_days
    LOOP
        EXECUTE format('DROP TABLE cc.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    -- Rows that landed in the default partition age out too.
    DELETE FROM cc.events_default WHERE at < current_date - keep_days;
    RETURN dropped;
END;
$$;
COMMENT ON FUNCTION cc.events_drop_partitions(integer) IS
    'Drops daily partitions of cc.events older than keep_days (and deletes older rows of cc.events_default); returns how many partitions. Run daily by pg_cron with the events.retention_days setting.';

SELECT cc.events_create_partitions(7);

CREATE FUNCTION cc.event_append(
    type        text,
    data        jsonb DEFAULT '{}',
    call_id     uuid DEFAULT NULL,
    leg_id      uuid DEFAULT NULL,
    agent_id    uuid DEFAULT NULL,
    queue_id    uuid DEFAULT NULL,
    command_id  uuid DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    seq bigint;
BEGIN
    -- PL/pgSQL keeps its plan for the session; a SQL function with SET would
    -- be planned again at every event.  Names are schema-qualified instead.
    INSERT INTO cc.events (type, data, call_id, leg_id, agent_id, queue_id, command_id)
    VALUES (event_append.type, coalesce(event_append.data, '{}'), event_append.call_id, event_append.leg_id,
            event_append.agent_id, event_append.queue_id, event_append.command_id)
    RETURNING events.seq INTO seq;
    RETURN seq;
END;
$$;
COMMENT ON FUNCTION cc.event_append(text, jsonb, uuid, uuid, uuid, uuid, uuid) IS
    'Appends an event and returns its seq; the cc_events notification is sent on commit.';

-- Each new event is announced on channel cc_events (and queued for the
-- webhooks) by the one row trigger on cc.events, cc.events_announce
-- (121_webhooks.sql).

-- Daily maintenance by pg_cron (minute granularity is plenty for this); the
-- retention of CDRs, recordings and deliveries is cc.retention_apply
-- (129_retention.sql).
SELECT cron.schedule('cc_events_partitions', '7 0 * * *',
                     'SELECT cc.events_create_partitions(7); '
                     'SELECT cc.events_drop_partitions(cc.setting_int(''events.retention_days'', 90));');
