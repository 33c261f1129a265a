-- 128_reports_industry.sql: the industry's definitions beside the
-- reference's (spec/metrics.md): service level variants, ASA, AHT,
-- occupancy, abandon rate, Asterisk's SL and SL2, and the predictive
-- campaign figures with the regulatory checks.
--
-- A = calls answered (connected) that reached a queue, B = calls abandoned
-- in a queue (the customer hung up while queued or ringing), X = the
-- service-level threshold.  Waits are measured from queue entry: to the
-- answer for A, to the hang-up for B.

CREATE FUNCTION cc.report_service_level(from_at timestamptz, to_at timestamptz, threshold_s integer DEFAULT 20,
                                        short_abandon_s integer DEFAULT 0)
RETURNS TABLE (queue_id uuid, queue_name text, offered bigint, answered bigint, abandoned bigint,
               answered_within bigint, abandoned_within bigint, abandoned_after bigint, short_abandons bigint,
               service_level numeric, service_level_of_answered numeric, service_level_with_abandons numeric,
               service_level_short_abandons_ignored numeric, asterisk_sl numeric, asterisk_sl2 numeric,
               asa_ms numeric, abandon_rate numeric, abandon_rate_without_short numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    PERFORM cc.report_threshold_check('threshold_s', threshold_s);
    PERFORM cc.report_threshold_check('short_abandon_s', short_abandon_s);
    RETURN QUERY
    WITH f AS (
        SELECT d.queue_id, d.queue_name, d.connected, d.abandoned, d.answer_wait_ms, d.abandon_wait_ms
          FROM cc.cdr_facts AS d
         WHERE d.direction = 'inbound' AND d.reached_queue AND d.queue_id IS NOT NULL
           AND d.started_at >= from_at AND d.started_at < to_at
    ), agg AS (
        SELECT f.queue_id, max(f.queue_name) AS queue_name, grouping(f.queue_id) = 1 AS total,
               count(*) AS offered,
               count(*) FILTER (WHERE f.connected) AS a,
               count(*) FILTER (WHERE f.abandoned) AS b,
               count(*) FILTER (WHERE f.connected AND f.answer_wait_ms <= threshold_s * 1000) AS a_in,
               count(*) FILTER (WHERE f.abandoned AND f.abandon_wait_ms <= threshold_s * 1000) AS b_in,
               count(*) FILTER (WHERE f.abandoned AND f.abandon_wait_ms > threshold_s * 1000) AS b_out,
               count(*) FILTER (WHERE f.abandoned AND f.abandon_wait_ms < short_abandon_s * 1000) AS b_short,
               sum(f.answer_wait_ms) FILTER (WHERE f.connected) AS wait_ms
          FROM f GROUP BY GROUPING SETS ((f.queue_id), ())
    )
    SELECT g.queue_id, CASE WHEN g.total THEN 'all queues' ELSE g.queue_name END,
           g.offered, g.a, g.b, g.a_in, g.b_in, g.b_out, g.b_short,
           cc.ratio(g.a_in, g.a + g.b),
           cc.ratio(g.a_in, g.a),
           cc.ratio(g.a_in + g.b_in, g.a + g.b),
           cc.ratio(g.a_in, g.a + g.b_out),
           cc.ratio(g.a_in, g.a),
           cc.ratio(g.a_in + g.b_in, g.a + g.b),
           round(g.wait_ms::numeric / nullif(g.a, 0)),
           cc.ratio(g.b, g.offered),
           cc.ratio(g.b - g.b_short, g.offered - g.b_short)
      FROM agg AS g
     ORDER BY g.total, 2;
END;
$$;
COMMENT ON FUNCTION cc.report_service_level(timestamptz, timestamptz, integer, integer) IS
    'Per queue and for all queues (queue_name ''all queues''), inbound calls of the period that reached a queue, with A answered, B abandoned, X = threshold_s: service_level A<=X / (A+B), of answered A<=X / A, with abandons (A<=X + B<=X) / (A+B), short abandons ignored A<=X / (A + B>X); Asterisk SL = A<=X / A and SL2 = (A<=X + B<=X) / (A+B); ASA = wait of answered / A (ms); abandon rate B / offered, and without abandons shorter than short_abandon_s.';

CREATE FUNCTION cc.report_handle_time(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (dimension text, queue_id uuid, agent_id uuid, name text, handled bigint, talk_ms bigint,
               hold_ms bigint, wrap_up_ms bigint, aht_ms numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH f AS (
        SELECT d.call_id, d.queue_id, d.queue_name, d.last_agent_id, d.last_agent_name,
               d.talk_ms - d.hold_ms AS talk_ms, d.hold_ms,
               coalesce((SELECT sum(round(extract(epoch FROM coalesce(i.ended_at, now()) - i.started_at) * 1000))
                           FROM cc.agent_state_intervals AS i
                          WHERE i.call_id = d.call_id AND i.state = 'wrap_up'), 0)::bigint AS wrap_up_ms
          FROM cc.cdrs AS d
         WHERE d.talk_ms > 0 AND d.started_at >= from_at AND d.started_at < to_at
    ), agg AS (
        SELECT CASE WHEN grouping(f.queue_id) = 0 THEN 'queue' ELSE 'agent' END AS dimension,
               f.queue_id, f.last_agent_id AS agent_id,
               CASE WHEN grouping(f.queue_id) = 0 THEN max(f.queue_name) ELSE max(f.last_agent_name) END AS name,
               count(*) AS handled, sum(f.talk_ms)::bigint AS talk_ms, sum(f.hold_ms)::bigint AS hold_ms,
               sum(f.wrap_up_ms)::bigint AS wrap_up_ms
          FROM f
         GROUP BY GROUPING SETS ((f.queue_id), (f.last_agent_id))
    )
    SELECT g.dimension, g.queue_id, g.agent_id, g.name, g.handled, g.talk_ms, g.hold_ms, g.wrap_up_ms,
           round((g.talk_ms + g.hold_ms + g.wrap_up_ms)::numeric / nullif(g.handled, 0))
      FROM agg AS g
     WHERE (g.dimension = 'queue' AND g.queue_id IS NOT NULL) OR (g.dimension = 'agent' AND g.agent_id IS NOT NULL)
     ORDER BY 1 DESC, 4;
END;
$$;
COMMENT ON FUNCTION cc.report_handle_time(timestamptz, timestamptz) IS
    'Average handle time per queue and per (last) agent over connected calls of the period: talk (hold excluded), hold, after-call work (the agent''s wrap_up intervals for the call) and AHT = (talk + hold + after-call work) / calls handled, in ms.';

CREATE FUNCTION cc.report_occupancy(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, talking_ms bigint, wrap_up_ms bigint,
               idle_ms bigint, occupancy numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    SELECT s.agent_id, s.agent_name, s.extension, s.talking_ms, s.wrap_up_ms, s.idle_ms,
           cc.ratio(s.talking_ms + s.wrap_up_ms, s.talking_ms + s.wrap_up_ms + s.idle_ms)
      FROM cc.report_agent_states(from_at, to_at) AS s;
END;
$$;
COMMENT ON FUNCTION cc.report_occupancy(timestamptz, timestamptz) IS
    'Occupancy per agent over the period: (talking + after-call work) / (talking + after-call work + idle), from the state intervals.';

-- predictive campaigns ------------------------------------------------------------

CREATE FUNCTION cc.report_campaigns()
RETURNS TABLE (campaign_id uuid, campaign_name text, state text, contacts bigint, dialled bigint, completion numeric,
               connected bigint, connect_rate numeric, normally_ended bigint, lost bigint, loss_rate numeric,
               numbers_assigned bigint, numbers_in_use bigint, number_use numeric)
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT c.id, c.name, c.state,
           coalesce(k.contacts, 0), coalesce(k.dialled, 0), cc.ratio(k.dialled, k.contacts),
           coalesce(k.normal + k.lost, 0), cc.ratio(k.normal + k.lost, k.contacts),
           coalesce(k.normal, 0), coalesce(k.lost, 0), cc.ratio(k.lost, k.lost + k.normal),
           coalesce(n.assigned, 0), coalesce(n.in_use, 0), cc.ratio(n.in_use, n.assigned)
      FROM cc.campaigns AS c
      LEFT JOIN (SELECT t.campaign_id, count(*) AS contacts,
                        count(*) FILTER (WHERE t.attempts > 0 OR t.state <> 'pending') AS dialled,
                        count(*) FILTER (WHERE t.state = 'connected') AS normal,
                        count(*) FILTER (WHERE t.state = 'lost') AS lost
                   FROM cc.campaign_contacts AS t GROUP BY t.campaign_id) AS k ON k.campaign_id = c.id
      LEFT JOIN (SELECT cn.campaign_id, count(*) AS assigned,
                        count(*) FILTER (WHERE EXISTS (
                            SELECT 1 FROM cc.calls AS l
                             WHERE l.number_id = cn.number_id AND l.direction = 'outbound' AND l.state <> 'ended')) AS in_use
                   FROM cc.campaign_numbers AS cn GROUP BY cn.campaign_id) AS n ON n.campaign_id = c.id
     ORDER BY c.name;
$$;
COMMENT ON FUNCTION cc.report_campaigns() IS
    'Per campaign: completion = contacts dialled / contacts in the list; connect rate = connected / contacts, where connected = normally ended + lost; loss (abandon) rate = lost / (lost + normally ended); caller-number use = numbers with a live outbound call / numbers assigned.';

CREATE FUNCTION cc.report_campaign_compliance(window_days integer DEFAULT 30, abandon_cap numeric DEFAULT 0.03,
                                              min_ring_s integer DEFAULT 15)
RETURNS TABLE (campaign_id uuid, campaign_name text, live_answered bigint, abandoned bigint, abandon_rate numeric,
               within_cap boolean, short_rings bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    IF window_days IS NULL OR window_days NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION 'cc: window of % days is out of range', window_days
            USING ERRCODE = 'invalid_parameter_value', HINT = 'The regulatory window is 30 days; give 1 to 366.';
    END IF;
    IF abandon_cap IS NULL OR abandon_cap NOT BETWEEN 0 AND 1 THEN
        RAISE EXCEPTION 'cc: abandon cap % is out of range', abandon_cap
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A cap is a fraction from 0 to 1 (0.03 = 3 %).';
    END IF;
    PERFORM cc.report_threshold_check('min_ring_s', min_ring_s);
    RETURN QUERY
    WITH f AS (
        SELECT d.* FROM cc.cdrs AS d
         WHERE d.campaign_id IS NOT NULL AND d.started_at >= now() - window_days * interval '1 day'
    ), agg AS (
        SELECT f.campaign_id,
               count(*) FILTER (WHERE f.customer_answered_at IS NOT NULL) AS answered,
               count(*) FILTER (WHERE f.customer_answered_at IS NOT NULL AND f.queued_at IS NOT NULL
                                  AND f.last_agent_id IS NULL) AS abandoned,
               count(*) FILTER (WHERE f.customer_answered_at IS NULL AND f.ring_ms < min_ring_s * 1000
                                  AND f.access_status IN ('caller_canceled', 'no_answer')) AS short_rings
          FROM f GROUP BY f.campaign_id
    )
    SELECT c.id, c.name, coalesce(a.answered, 0), coalesce(a.abandoned, 0), cc.ratio(a.abandoned, a.answered),
           coalesce(cc.ratio(a.abandoned, a.answered), 0) <= abandon_cap, coalesce(a.short_rings, 0)
      FROM cc.campaigns AS c LEFT JOIN agg AS a ON a.campaign_id = c.id
     ORDER BY c.name;
END;
$$;
COMMENT ON FUNCTION cc.report_campaign_compliance(integer, numeric, integer) IS
    'Per campaign over the last window_days (30): live-answered calls, those abandoned (answered, reached the queue, no agent), the abandon rate and whether it is within abandon_cap (US FTC/FCC: 3 %), and unanswered calls given up before min_ring_s (15 s) of ringing.';
