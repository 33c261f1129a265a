-- 127_reports_calls.sql: the reference's call figures (spec/metrics.md):
-- per queue (inbound, outbound), per agent, satisfaction, traffic, loss
-- analysis and per number.
--
-- Every function takes a period [from_at, to_at) of call start times and
-- the thresholds the figure needs (20 s by default); calls are counted from
-- the CDRs, so only ended calls count.  Durations are in ms, rates are
-- fractions rounded to 4 decimals (NULL when nothing was there to count).
-- The terms, as the reference defines them:
--   connected  talk time > 0
--   lost       reached a queue (the human step) with talk time 0
--   rang       a human side rang (ringing_at set)
-- A call counts for the last queue it was in (cdrs.queue_id).

CREATE VIEW cc.cdr_facts AS
SELECT d.*,
       d.talk_ms > 0 AS connected,
       d.queued_at IS NOT NULL AS reached_queue,
       d.ringing_at IS NOT NULL AS rang,
       d.queued_at IS NOT NULL AND d.talk_ms = 0 AS lost,
       d.access_status IN ('queue_abandoned', 'ringing_abandoned') AS abandoned,
       CASE WHEN d.queued_at IS NOT NULL AND d.answered_at IS NOT NULL AND d.talk_ms > 0
            THEN round(extract(epoch FROM d.answered_at - d.queued_at) * 1000)::bigint END AS answer_wait_ms,
       CASE WHEN d.queued_at IS NOT NULL AND d.access_status IN ('queue_abandoned', 'ringing_abandoned')
            THEN round(extract(epoch FROM d.ended_at - d.queued_at) * 1000)::bigint END AS abandon_wait_ms,
       d.satisfaction_key IS NOT NULL AS survey_replied
  FROM cc.cdrs AS d;
COMMENT ON VIEW cc.cdr_facts IS 'CDRs with the facts every report counts: connected (talk > 0), reached_queue, rang, lost (reached a queue, talk 0), abandoned (the customer left a queue), answer and abandon waits from queue entry, survey_replied.';
COMMENT ON COLUMN cc.cdr_facts.connected IS 'talk_ms > 0.';
COMMENT ON COLUMN cc.cdr_facts.reached_queue IS 'The call reached a queue (the human step): queued_at is set.';
COMMENT ON COLUMN cc.cdr_facts.rang IS 'A human side rang: ringing_at is set.';
COMMENT ON COLUMN cc.cdr_facts.lost IS 'Reached a queue and was not connected.';
COMMENT ON COLUMN cc.cdr_facts.abandoned IS 'The customer hung up while queued or ringing (access status queue_abandoned or ringing_abandoned).';
COMMENT ON COLUMN cc.cdr_facts.answer_wait_ms IS 'Connected calls that reached a queue: answered_at - queued_at, in ms.';
COMMENT ON COLUMN cc.cdr_facts.abandon_wait_ms IS 'Abandoned calls: ended_at - queued_at, in ms.';
COMMENT ON COLUMN cc.cdr_facts.survey_replied IS 'A survey key was pressed (satisfaction_key is set).';
DO $$
DECLARE
    col record;
BEGIN
    -- the CDR's own columns keep the comments of cc.cdrs
    FOR col IN SELECT a.attname, col_description('cc.cdrs'::regclass, a.attnum) AS text
                 FROM pg_attribute AS a WHERE a.attrelid = 'cc.cdrs'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN cc.cdr_facts.%I IS %L', col.attname, col.text);
    END LOOP;
END;
$$;

-- per queue -------------------------------------------------------------------

CREATE FUNCTION cc.report_queue_inbound(from_at timestamptz, to_at timestamptz, answered_within_s integer DEFAULT 20)
RETURNS TABLE (queue_id uuid, queue_name text, offered bigint, connected bigint, answer_rate numeric,
               lost bigint, loss_rate numeric, rang bigint, answered_within bigint, answered_within_rate numeric,
               queued bigint, total_queue_ms bigint, avg_queue_ms numeric, total_ring_ms bigint, avg_ring_ms numeric,
               total_talk_ms bigint, avg_talk_ms numeric, survey_triggered bigint, survey_replies bigint,
               survey_reply_rate numeric, survey_total numeric, survey_avg numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    PERFORM cc.report_threshold_check('answered_within_s', answered_within_s);
    RETURN QUERY
    WITH f AS (
        SELECT * FROM cc.cdr_facts AS d
         WHERE d.direction = 'inbound' AND d.reached_queue AND d.queue_id IS NOT NULL
           AND d.started_at >= from_at AND d.started_at < to_at
    ), agg AS (
        SELECT f.queue_id, max(f.queue_name) AS queue_name, count(*) AS offered,
               count(*) FILTER (WHERE f.connected) AS connected,
               count(*) FILTER (WHERE f.rang) AS rang,
               count(*) FILTER (WHERE f.connected AND f.ring_ms <= answered_within_s * 1000) AS answered_within,
               count(*) FILTER (WHERE f.queue_ms > 0) AS queued,
               sum(f.queue_ms) AS total_queue_ms,
               sum(f.ring_ms) FILTER (WHERE f.rang) AS total_ring_ms,
               sum(f.talk_ms) FILTER (WHERE f.connected) AS total_talk_ms,
               count(*) FILTER (WHERE f.survey_triggered) AS survey_triggered,
               count(*) FILTER (WHERE f.survey_replied) AS survey_replies,
               sum(f.satisfaction_score) FILTER (WHERE f.survey_replied) AS survey_total
          FROM f GROUP BY f.queue_id
    )
    SELECT coalesce(q.id, a.queue_id), coalesce(q.name, a.queue_name),
           coalesce(a.offered, 0), coalesce(a.connected, 0), cc.ratio(a.connected, a.offered),
           coalesce(a.offered - a.connected, 0), cc.ratio(a.offered - a.connected, a.offered),
           coalesce(a.rang, 0), coalesce(a.answered_within, 0), cc.ratio(a.answered_within, a.rang),
           coalesce(a.queued, 0), coalesce(a.total_queue_ms, 0)::bigint, round(a.total_queue_ms::numeric / nullif(a.queued, 0)),
           coalesce(a.total_ring_ms, 0)::bigint, round(a.total_ring_ms::numeric / nullif(a.rang, 0)),
           coalesce(a.total_talk_ms, 0)::bigint, round(a.total_talk_ms::numeric / nullif(a.connected, 0)),
           coalesce(a.survey_triggered, 0), coalesce(a.survey_replies, 0), cc.ratio(a.survey_replies, a.connected),
           coalesce(a.survey_total, 0), round(a.survey_total / nullif(a.survey_replies, 0), 4)
      FROM cc.queues AS q FULL JOIN agg AS a ON a.queue_id = q.id
     ORDER BY 2, 1;
END;
$$;
COMMENT ON FUNCTION cc.report_queue_inbound(timestamptz, timestamptz, integer) IS
    'Per queue, inbound calls started in the period that reached it: offered, connected, answer rate (connected / offered), lost, loss rate, rang, answered within N s of ring start (inclusive) and its rate (/ rang), queue time total and average (/ calls with queue time > 0), ring time (/ rang), talk time (/ connected), survey triggered, replies, reply rate (/ connected), score total and average (/ replies).';

CREATE FUNCTION cc.report_queue_outbound(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (queue_id uuid, queue_name text, calls bigint, connected bigint, answer_rate numeric,
               lost bigint, loss_rate numeric, rang bigint, total_ring_ms bigint, avg_ring_ms numeric,
               total_talk_ms bigint, avg_talk_ms numeric, survey_triggered bigint, survey_replies bigint,
               survey_reply_rate numeric, survey_total numeric, survey_avg numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH f AS (
        SELECT * FROM cc.cdr_facts AS d
         WHERE d.direction = 'outbound' AND d.queue_id IS NOT NULL
           AND d.started_at >= from_at AND d.started_at < to_at
    ), agg AS (
        SELECT f.queue_id, max(f.queue_name) AS queue_name, count(*) AS calls,
               count(*) FILTER (WHERE f.connected) AS connected,
               count(*) FILTER (WHERE f.rang) AS rang,
               sum(f.ring_ms) FILTER (WHERE f.rang) AS total_ring_ms,
               sum(f.talk_ms) FILTER (WHERE f.connected) AS total_talk_ms,
               count(*) FILTER (WHERE f.survey_triggered) AS survey_triggered,
               count(*) FILTER (WHERE f.survey_replied) AS survey_replies,
               sum(f.satisfaction_score) FILTER (WHERE f.survey_replied) AS survey_total
          FROM f GROUP BY f.queue_id
    )
    SELECT coalesce(q.id, a.queue_id), coalesce(q.name, a.queue_name),
           coalesce(a.calls, 0), coalesce(a.connected, 0), cc.ratio(a.connected, a.calls),
           coalesce(a.calls - a.connected, 0), cc.ratio(a.calls - a.connected, a.calls),
           coalesce(a.rang, 0), coalesce(a.total_ring_ms, 0)::bigint, round(a.total_ring_ms::numeric / nullif(a.rang, 0)),
           coalesce(a.total_talk_ms, 0)::bigint, round(a.total_talk_ms::numeric / nullif(a.connected, 0)),
           coalesce(a.survey_triggered, 0), coalesce(a.survey_replies, 0), cc.ratio(a.survey_replies, a.connected),
           coalesce(a.survey_total, 0), round(a.survey_total / nullif(a.survey_replies, 0), 4)
      FROM cc.queues AS q FULL JOIN agg AS a ON a.queue_id = q.id
     ORDER BY 2, 1;
END;
$$;
COMMENT ON FUNCTION cc.report_queue_outbound(timestamptz, timestamptz) IS
    'Per queue, outbound calls started in the period placed for it: calls, connected (talk > 0), answer rate (connected / calls), lost (talk = 0), loss rate (1 - answer rate), ring time total and average (/ calls that rang), talk time (/ connected), the survey figures.';

-- per agent -------------------------------------------------------------------

CREATE FUNCTION cc.report_agent_inbound(from_at timestamptz, to_at timestamptz, answered_within_s integer DEFAULT 20)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, offered bigint, connected bigint, answer_rate numeric,
               lost bigint, loss_rate numeric, answered_within bigint, answered_within_rate numeric,
               queued bigint, total_queue_ms bigint, avg_queue_ms numeric, total_ring_ms bigint, avg_ring_ms numeric,
               total_talk_ms bigint, avg_talk_ms numeric, survey_triggered bigint, survey_replies bigint,
               survey_reply_rate numeric, survey_total numeric, survey_avg numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    PERFORM cc.report_threshold_check('answered_within_s', answered_within_s);
    RETURN QUERY
    WITH legs AS (
        -- each time the agent was rung for an inbound call
        SELECT l.agent_id, d.call_id, d.queue_ms, l.answered_at IS NOT NULL AS answered,
               round(extract(epoch FROM coalesce(l.answered_at, l.ended_at) - coalesce(l.ringing_at, l.created_at)) * 1000)::bigint AS ring_ms,
               CASE WHEN l.answered_at IS NOT NULL
                    THEN round(extract(epoch FROM l.ended_at - l.answered_at) * 1000)::bigint END AS talk_ms
          FROM cc.cdrs AS d JOIN cc.cdr_legs AS l ON l.cdr_id = d.id
         WHERE d.direction = 'inbound' AND l.kind = 'agent' AND l.agent_id IS NOT NULL
           AND d.started_at >= from_at AND d.started_at < to_at
    ), calls AS (
        -- per agent and call: did the agent answer, how fast, for how long
        SELECT g.agent_id, g.call_id, max(g.queue_ms) AS queue_ms, bool_or(g.answered) AS answered,
               bool_or(g.answered AND g.ring_ms <= answered_within_s * 1000) AS answered_within,
               sum(greatest(g.ring_ms, 0)) AS ring_ms, coalesce(sum(g.talk_ms), 0) AS talk_ms
          FROM legs AS g GROUP BY g.agent_id, g.call_id
    ), agg AS (
        SELECT c.agent_id, count(*) AS offered,
               count(*) FILTER (WHERE c.answered) AS connected,
               count(*) FILTER (WHERE c.answered_within) AS answered_within,
               count(*) FILTER (WHERE c.answered AND c.queue_ms > 0) AS queued,
               sum(c.queue_ms) FILTER (WHERE c.answered) AS total_queue_ms,
               sum(c.ring_ms) AS total_ring_ms,
               sum(c.talk_ms) FILTER (WHERE c.answered) AS total_talk_ms
          FROM calls AS c GROUP BY c.agent_id
    ), survey AS (
        SELECT f.last_agent_id AS agent_id,
               count(*) FILTER (WHERE f.survey_triggered) AS triggered,
               count(*) FILTER (WHERE f.survey_replied) AS replies,
               sum(f.satisfaction_score) FILTER (WHERE f.survey_replied) AS total
          FROM cc.cdr_facts AS f
         WHERE f.direction = 'inbound' AND f.last_agent_id IS NOT NULL
           AND f.started_at >= from_at AND f.started_at < to_at
         GROUP BY f.last_agent_id
    )
    SELECT coalesce(ag.id, a.agent_id), ag.name, ag.extension,
           coalesce(a.offered, 0), coalesce(a.connected, 0), cc.ratio(a.connected, a.offered),
           coalesce(a.offered - a.connected, 0), cc.ratio(a.offered - a.connected, a.offered),
           coalesce(a.answered_within, 0), cc.ratio(a.answered_within, a.offered),
           coalesce(a.queued, 0), coalesce(a.total_queue_ms, 0)::bigint, round(a.total_queue_ms::numeric / nullif(a.queued, 0)),
           coalesce(a.total_ring_ms, 0)::bigint, round(a.total_ring_ms::numeric / nullif(a.offered, 0)),
           coalesce(a.total_talk_ms, 0)::bigint, round(a.total_talk_ms::numeric / nullif(a.connected, 0)),
           coalesce(s.triggered, 0), coalesce(s.replies, 0), cc.ratio(s.replies, a.connected),
           coalesce(s.total, 0), round(s.total / nullif(s.replies, 0), 4)
      FROM cc.agents AS ag
      FULL JOIN agg AS a ON a.agent_id = ag.id
      LEFT JOIN survey AS s ON s.agent_id = coalesce(ag.id, a.agent_id)
     ORDER BY 3, 1;
END;
$$;
COMMENT ON FUNCTION cc.report_agent_inbound(timestamptz, timestamptz, integer) IS
    'Per agent, inbound calls started in the period that rang the agent: offered, connected (the agent answered), answer and loss rates, answered within N s of the agent''s ring start and its rate (/ offered), queue time of the calls answered, ring time (every ring, / offered), talk time (/ connected), and the survey figures of the calls the agent ended up with.';

CREATE FUNCTION cc.report_agent_outbound(from_at timestamptz, to_at timestamptz, long_talk_s integer DEFAULT 20)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, calls bigint, connected bigint, answer_rate numeric,
               lost bigint, loss_rate numeric, connected_over bigint, connected_over_talk_ms bigint,
               rang bigint, total_ring_ms bigint, avg_ring_ms numeric, total_talk_ms bigint, avg_talk_ms numeric,
               survey_triggered bigint, survey_replies bigint, survey_reply_rate numeric, survey_total numeric,
               survey_avg numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    PERFORM cc.report_threshold_check('long_talk_s', long_talk_s);
    RETURN QUERY
    WITH f AS (
        SELECT x.agent_id, d.* FROM cc.cdr_facts AS d
         CROSS JOIN LATERAL (SELECT DISTINCT u AS agent_id
                               FROM unnest(d.agent_ids || d.last_agent_id) AS u WHERE u IS NOT NULL) AS x
         WHERE d.direction = 'outbound' AND d.started_at >= from_at AND d.started_at < to_at
    ), agg AS (
        SELECT f.agent_id, count(*) AS calls,
               count(*) FILTER (WHERE f.connected) AS connected,
               count(*) FILTER (WHERE f.talk_ms > long_talk_s * 1000) AS connected_over,
               sum(f.talk_ms) FILTER (WHERE f.talk_ms > long_talk_s * 1000) AS connected_over_talk_ms,
               count(*) FILTER (WHERE f.rang) AS rang,
               sum(f.ring_ms) FILTER (WHERE f.rang) AS total_ring_ms,
               sum(f.talk_ms) FILTER (WHERE f.connected) AS total_talk_ms,
               count(*) FILTER (WHERE f.survey_triggered) AS survey_triggered,
               count(*) FILTER (WHERE f.survey_replied) AS survey_replies,
               sum(f.satisfaction_score) FILTER (WHERE f.survey_replied) AS survey_total
          FROM f GROUP BY f.agent_id
    )
    SELECT coalesce(ag.id, a.agent_id), ag.name, ag.extension,
           coalesce(a.calls, 0), coalesce(a.connected, 0), cc.ratio(a.connected, a.calls),
           coalesce(a.calls - a.connected, 0), cc.ratio(a.calls - a.connected, a.calls),
           coalesce(a.connected_over, 0), coalesce(a.connected_over_talk_ms, 0)::bigint,
           coalesce(a.rang, 0), coalesce(a.total_ring_ms, 0)::bigint, round(a.total_ring_ms::numeric / nullif(a.rang, 0)),
           coalesce(a.total_talk_ms, 0)::bigint, round(a.total_talk_ms::numeric / nullif(a.connected, 0)),
           coalesce(a.survey_triggered, 0), coalesce(a.survey_replies, 0), cc.ratio(a.survey_replies, a.connected),
           coalesce(a.survey_total, 0), round(a.survey_total / nullif(a.survey_replies, 0), 4)
      FROM cc.agents AS ag FULL JOIN agg AS a ON a.agent_id = ag.id
     ORDER BY 3, 1;
END;
$$;
COMMENT ON FUNCTION cc.report_agent_outbound(timestamptz, timestamptz, integer) IS
    'Per agent, outbound calls started in the period that the agent took part in: calls, connected (talk > 0), answer and loss rates, connected with talk > N s (a count) and their talk time, ring and talk totals and averages, the survey figures.';

CREATE FUNCTION cc.report_agent_satisfaction(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, key text, label text, replies bigint, share numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH f AS (
        SELECT d.last_agent_id AS agent_id, d.satisfaction_key AS key, d.satisfaction_label AS label, d.started_at
          FROM cc.cdrs AS d
         WHERE d.last_agent_id IS NOT NULL AND d.satisfaction_key IS NOT NULL
           AND d.started_at >= from_at AND d.started_at < to_at
    )
    SELECT f.agent_id, min(a.name), min(a.extension), f.key,
           (array_agg(f.label ORDER BY f.started_at DESC) FILTER (WHERE f.label IS NOT NULL))[1],
           count(*),
           cc.ratio(count(*), sum(count(*)) OVER (PARTITION BY f.agent_id))
      FROM f LEFT JOIN cc.agents AS a ON a.id = f.agent_id
     GROUP BY f.agent_id, f.key
     ORDER BY 3, 1, 4;
END;
$$;
COMMENT ON FUNCTION cc.report_agent_satisfaction(timestamptz, timestamptz) IS
    'Satisfaction per agent (the last agent of each call) and key: the key, its label (the latest seen), its count and its share of the agent''s replies.';

-- traffic ---------------------------------------------------------------------

CREATE FUNCTION cc.report_traffic(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (inbound_calls bigint, offered_to_humans bigint, transfer_rate numeric, connected bigint,
               answer_rate numeric, lost bigint, loss_rate numeric, ivr_abandoned bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    SELECT count(*), count(*) FILTER (WHERE f.reached_queue),
           cc.ratio(count(*) FILTER (WHERE f.reached_queue), count(*)),
           count(*) FILTER (WHERE f.connected),
           cc.ratio(count(*) FILTER (WHERE f.connected), count(*)),
           count(*) FILTER (WHERE f.lost),
           cc.ratio(count(*) FILTER (WHERE f.lost), count(*) FILTER (WHERE f.reached_queue)),
           count(*) FILTER (WHERE f.access_status = 'ivr_abandoned')
      FROM cc.cdr_facts AS f
     WHERE f.direction = 'inbound' AND f.flow_id IS NOT NULL
       AND f.started_at >= from_at AND f.started_at < to_at;
END;
$$;
COMMENT ON FUNCTION cc.report_traffic(timestamptz, timestamptz) IS
    'Inbound traffic of the period (calls that entered a flow): inbound calls, offered to humans (reached a queue) and transfer rate (/ inbound), connected and answer rate (/ inbound), lost and loss rate (/ offered to humans), abandoned in the IVR.';

CREATE FUNCTION cc.report_loss_analysis(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (reason text, calls bigint, share numeric)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH f AS (
        SELECT CASE
                   WHEN d.access_status = 'ivr_abandoned' THEN 'abandoned_in_ivr'
                   WHEN d.access_status = 'no_agent_online' THEN 'no_agent_online'
                   WHEN d.access_status = 'ringing_abandoned' THEN 'abandoned_while_ringing'
                   WHEN d.access_status = 'queue_abandoned' THEN 'abandoned_while_queued'
                   ELSE 'other' END AS reason
          FROM cc.cdr_facts AS d
         WHERE d.direction = 'inbound' AND d.started_at >= from_at AND d.started_at < to_at
           AND (d.lost OR d.access_status = 'ivr_abandoned')
    ), r (reason, n) AS (
        VALUES ('abandoned_in_ivr', 1), ('no_agent_online', 2), ('abandoned_while_ringing', 3),
               ('abandoned_while_queued', 4), ('other', 5)
    )
    SELECT r.reason, count(f.reason), cc.ratio(count(f.reason), sum(count(f.reason)) OVER ())
      FROM r LEFT JOIN f ON f.reason = r.reason
     GROUP BY r.reason, r.n
     ORDER BY r.n;
END;
$$;
COMMENT ON FUNCTION cc.report_loss_analysis(timestamptz, timestamptz) IS
    'Lost inbound calls of the period (plus those abandoned in the IVR) by reason: abandoned_in_ivr, no_agent_online, abandoned_while_ringing, abandoned_while_queued, other (an agent did not answer, the queue let go, a system error); count and share.';

CREATE FUNCTION cc.report_numbers(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (number_id uuid, number text, inbound_calls bigint, inbound_connected bigint, inbound_answer_rate numeric,
               inbound_offered_to_humans bigint, inbound_lost bigint, inbound_loss_rate numeric,
               outbound_calls bigint, outbound_connected bigint, outbound_answer_rate numeric,
               outbound_lost_line bigint, outbound_lost_other bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH agg AS (
        SELECT coalesce(f.number_id, n.id) AS number_id, f.number,
               count(*) FILTER (WHERE f.direction = 'inbound') AS in_calls,
               count(*) FILTER (WHERE f.direction = 'inbound' AND f.connected) AS in_connected,
               count(*) FILTER (WHERE f.direction = 'inbound' AND f.reached_queue) AS in_offered,
               count(*) FILTER (WHERE f.direction = 'inbound' AND f.lost) AS in_lost,
               count(*) FILTER (WHERE f.direction = 'outbound') AS out_calls,
               count(*) FILTER (WHERE f.direction = 'outbound' AND f.connected) AS out_connected,
               count(*) FILTER (WHERE f.direction = 'outbound' AND NOT f.connected AND f.access_status = 'carrier_fault') AS out_lost_line,
               count(*) FILTER (WHERE f.direction = 'outbound' AND NOT f.connected AND f.access_status <> 'carrier_fault') AS out_lost_other
          FROM cc.cdr_facts AS f
          LEFT JOIN cc.numbers AS n ON f.number_id IS NULL AND n.number = f.number
         WHERE f.number IS NOT NULL AND f.started_at >= from_at AND f.started_at < to_at
         GROUP BY 1, 2
    )
    SELECT a.number_id, a.number, a.in_calls, a.in_connected, cc.ratio(a.in_connected, a.in_calls),
           a.in_offered, a.in_lost, cc.ratio(a.in_lost, a.in_offered),
           a.out_calls, a.out_connected, cc.ratio(a.out_connected, a.out_calls), a.out_lost_line, a.out_lost_other
      FROM agg AS a
     ORDER BY a.number;
END;
$$;
COMMENT ON FUNCTION cc.report_numbers(timestamptz, timestamptz) IS
    'Per number, calls started in the period: inbound calls, connected, answer rate (/ inbound), offered to humans, lost, loss rate (/ offered to humans); outbound calls, connected, answer rate, and the calls not connected split into line causes (carrier_fault) and other causes.';
