-- 112_routing.sql: routing rules, TaskRouter's workflow filters in SQL.
--
-- cc.routing_rules (030_queues.sql) is read at every enqueue, so a rule
-- change applies to the next call without a restart.  The first enabled
-- rule, by position, whose every given match holds (dialled number, caller
-- prefix, caller list, time window, call variables) sets the queue, the
-- caller's priority and how long before the next matching rule applies.

-- cc.queue_schedule_open says whether a schedule is open at a time: a
-- weekly slot of its time zone holds it and the day is not a closed date.
-- A slot whose "to" is not after its "from" runs past midnight.  A
-- schedule whose slots cannot be read is closed (with a WARNING).
CREATE FUNCTION cc.queue_schedule_open(schedule uuid, at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    s     cc.schedules;
    local timestamp;
    tod   time;
    slot  jsonb;
    t0    time;
    t1    time;
BEGIN
    SELECT * INTO s FROM cc.schedules WHERE id = schedule;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    local := at AT TIME ZONE s.time_zone;
    tod := local::time;
    IF s.closed_dates ? to_char(local, 'YYYY-MM-DD') THEN
        RETURN false;
    END IF;
    FOR slot IN SELECT * FROM jsonb_array_elements(s.weekly_slots) LOOP
        BEGIN
            t0 := (slot->>'from')::time;
            t1 := (slot->>'to')::time;
            IF NOT (slot->'days') @> to_jsonb(extract(isodow FROM local)::integer) THEN
                CONTINUE;
            END IF;
            IF t1 > t0 AND tod >= t0 AND tod < t1 THEN
                RETURN true;
            ELSIF t1 <= t0 AND (tod >= t0 OR tod < t1) THEN
                RETURN true;
            END IF;
        EXCEPTION WHEN data_exception THEN
            RAISE WARNING 'cc: schedule % has an unreadable slot %: it counts as closed', s.name, slot;
        END;
    END LOOP;
    RETURN false;
END;
$$;
COMMENT ON FUNCTION cc.queue_schedule_open(uuid, timestamptz) IS
    'Whether the schedule is open at the time: a weekly slot {"days", "from", "to"} of its time zone holds it ("to" not after "from": past midnight) and the day is not in closed_dates.';

-- cc.routing_rule_matches: every match the rule gives holds.
CREATE FUNCTION cc.routing_rule_matches(r cc.routing_rules, number text, caller text, variables jsonb,
                                        at timestamptz) RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN r.enabled
       AND (r.match_numbers IS NULL OR number = ANY (r.match_numbers))
       AND (r.match_caller_prefixes IS NULL
            OR EXISTS (SELECT 1 FROM unnest(r.match_caller_prefixes) AS p WHERE starts_with(caller, p)))
       AND (r.match_callers IS NULL OR caller = ANY (r.match_callers))
       AND (r.match_variables IS NULL OR coalesce(variables, '{}') @> r.match_variables)
       AND (r.match_schedule_id IS NULL OR cc.queue_schedule_open(r.match_schedule_id, at));
END;
$$;
COMMENT ON FUNCTION cc.routing_rule_matches(cc.routing_rules, text, text, jsonb, timestamptz) IS
    'Whether a routing rule applies: enabled, and each match it gives holds (dialled number in match_numbers, caller starting with a prefix, caller in match_callers, variables containing match_variables, schedule open).';

CREATE FUNCTION cc.routing_rule_for(number text, caller text, variables jsonb DEFAULT '{}',
                                    queue uuid DEFAULT NULL, after_position integer DEFAULT NULL,
                                    at timestamptz DEFAULT now()) RETURNS cc.routing_rules
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    r cc.routing_rules;
BEGIN
    IF variables IS NOT NULL AND jsonb_typeof(variables) <> 'object' THEN
        RAISE EXCEPTION 'cc: routing variables must be a JSON object, not %', variables
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass the call''s variables, e.g. {"lang": "en"}.';
    END IF;
    FOR r IN
        SELECT * FROM cc.routing_rules AS x
         WHERE x.enabled
           AND (routing_rule_for.queue IS NULL OR x.queue_id = routing_rule_for.queue)
           AND (after_position IS NULL OR x.position > after_position)
         ORDER BY x.position
    LOOP
        IF cc.routing_rule_matches(r, number, caller, variables, at) THEN
            RETURN r;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.routing_rule_for(text, text, jsonb, uuid, integer, timestamptz) IS
    'The first enabled routing rule (by position, after after_position when given, sending to queue when given) that matches the dialled number, caller, variables and time; NULL when none.';
