-- 126_reports_realtime.sql: what is happening now, and agents over time.
--
-- The real-time figures of spec/metrics.md are views over the live tables
-- (agents, calls, queue entries): agents by state, calls by stage, queues
-- with their waiting callers, and the live calls a supervisor can listen
-- to.  The agent trajectory (state intervals over time) and the state
-- durations come from cc.agent_state_log.  Every figure is computed from
-- raw timestamps; nothing is pre-aggregated.  Formulas: docs/events.md.

-- cc.ratio is num / den rounded to 4 decimals, NULL when den is 0: every
-- rate of the reports.
CREATE FUNCTION cc.ratio(num numeric, den numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN den > 0 THEN round(num / den, 4) END $$;
COMMENT ON FUNCTION cc.ratio(numeric, numeric) IS 'num / den rounded to 4 decimals; NULL when den is 0 or NULL (a rate with nothing to measure).';

-- cc.report_period_check refuses a period that is not one.
CREATE FUNCTION cc.report_period_check(from_at timestamptz, to_at timestamptz) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF from_at IS NULL OR to_at IS NULL OR from_at >= to_at THEN
        RAISE EXCEPTION 'cc: report period [%, %) is empty', from_at, to_at
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give from_at < to_at, e.g. (current_date, current_date + 1) for today.';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.report_period_check(timestamptz, timestamptz) IS 'Raises an error naming the period unless from_at < to_at.';

CREATE FUNCTION cc.report_threshold_check(name text, seconds integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF seconds IS NULL OR seconds < 0 OR seconds > 86400 THEN
        RAISE EXCEPTION 'cc: threshold % = % s is out of range', name, seconds
            USING ERRCODE = 'invalid_parameter_value', HINT = 'A threshold is 0 to 86400 seconds (20 is usual).';
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.report_threshold_check(text, integer) IS 'Raises an error naming the threshold unless it is 0 to 86400 seconds.';

-- agents now ------------------------------------------------------------------

CREATE VIEW cc.report_realtime_agents AS
SELECT count(*) FILTER (WHERE a.state <> 'offline') AS logged_in,
       count(*) FILTER (WHERE a.state = 'idle') AS idle,
       count(*) FILTER (WHERE a.state IN ('ringing', 'talking')) AS busy,
       count(*) FILTER (WHERE a.state = 'busy') AS marked_busy,
       count(*) FILTER (WHERE a.state = 'break') AS on_break,
       count(*) FILTER (WHERE a.state = 'wrap_up') AS wrap_up,
       cc.ratio(count(*) FILTER (WHERE a.state = 'idle'), count(*) FILTER (WHERE a.state <> 'offline')) AS idle_share,
       cc.ratio(count(*) FILTER (WHERE a.state IN ('ringing', 'talking')), count(*) FILTER (WHERE a.state <> 'offline')) AS busy_share,
       cc.ratio(count(*) FILTER (WHERE a.state = 'busy'), count(*) FILTER (WHERE a.state <> 'offline')) AS marked_busy_share,
       cc.ratio(count(*) FILTER (WHERE a.state = 'break'), count(*) FILTER (WHERE a.state <> 'offline')) AS on_break_share,
       cc.ratio(count(*) FILTER (WHERE a.state = 'wrap_up'), count(*) FILTER (WHERE a.state <> 'offline')) AS wrap_up_share
  FROM cc.agents AS a
 WHERE a.enabled;
COMMENT ON VIEW cc.report_realtime_agents IS 'Agents now: logged in (not offline), idle, busy (ringing or talking), marked busy, on break, in wrap-up; counts and shares of the logged-in.';
COMMENT ON COLUMN cc.report_realtime_agents.logged_in IS 'Enabled agents not offline.';
COMMENT ON COLUMN cc.report_realtime_agents.idle IS 'Agents idle (available).';
COMMENT ON COLUMN cc.report_realtime_agents.busy IS 'Agents on a call (ringing or talking).';
COMMENT ON COLUMN cc.report_realtime_agents.marked_busy IS 'Agents marked busy (not routable).';
COMMENT ON COLUMN cc.report_realtime_agents.on_break IS 'Agents on a break.';
COMMENT ON COLUMN cc.report_realtime_agents.wrap_up IS 'Agents in after-call work.';
COMMENT ON COLUMN cc.report_realtime_agents.idle_share IS 'idle / logged_in.';
COMMENT ON COLUMN cc.report_realtime_agents.busy_share IS 'busy / logged_in.';
COMMENT ON COLUMN cc.report_realtime_agents.marked_busy_share IS 'marked_busy / logged_in.';
COMMENT ON COLUMN cc.report_realtime_agents.on_break_share IS 'on_break / logged_in.';
COMMENT ON COLUMN cc.report_realtime_agents.wrap_up_share IS 'wrap_up / logged_in.';

-- calls now -------------------------------------------------------------------

-- each count reads the live calls through calls_live (ended_at IS NULL)
CREATE VIEW cc.report_realtime_calls AS
SELECT (SELECT count(*) FROM cc.calls AS c WHERE c.ended_at IS NULL AND c.state = 'ivr') AS in_ivr,
       q.queued,
       CASE WHEN q.queued > 0 THEN round(q.wait_ms / q.queued) END AS avg_queue_wait_ms,
       (SELECT count(*) FROM cc.calls AS c
         WHERE c.ended_at IS NULL AND (c.state = 'offering' OR (c.state = 'ringing' AND c.direction <> 'inbound'))) AS ringing,
       (SELECT count(*) FROM cc.calls AS c WHERE c.ended_at IS NULL AND c.state = 'connected' AND c.direction = 'inbound') AS talking_inbound,
       (SELECT count(*) FROM cc.calls AS c WHERE c.ended_at IS NULL AND c.state = 'connected' AND c.direction <> 'inbound') AS talking_outbound
  FROM (SELECT count(*) AS queued,
               coalesce(sum(extract(epoch FROM now() - e.entered_at) * 1000), 0) AS wait_ms
          FROM cc.queue_entries AS e WHERE e.state IN ('waiting', 'offered')) AS q;
COMMENT ON VIEW cc.report_realtime_calls IS 'Calls now: in a flow, queued (with the average current wait), ringing an agent or a callee, talking inbound and outbound.';
COMMENT ON COLUMN cc.report_realtime_calls.in_ivr IS 'Calls in a flow (state ivr).';
COMMENT ON COLUMN cc.report_realtime_calls.queued IS 'Calls waiting in a queue (entries waiting or offered).';
COMMENT ON COLUMN cc.report_realtime_calls.avg_queue_wait_ms IS 'Sum of the current waits / queued calls, in ms.';
COMMENT ON COLUMN cc.report_realtime_calls.ringing IS 'Calls ringing an agent (offering) or, outbound, the callee.';
COMMENT ON COLUMN cc.report_realtime_calls.talking_inbound IS 'Inbound calls connected to a human.';
COMMENT ON COLUMN cc.report_realtime_calls.talking_outbound IS 'Outbound and internal calls connected.';

CREATE VIEW cc.report_realtime_queues AS
SELECT q.id AS queue_id, q.name AS queue_name,
       coalesce(w.waiting, 0) AS waiting,
       w.longest_wait_ms,
       coalesce(m.available, 0) AS agents_available,
       coalesce(m.logged_in, 0) AS agents_logged_in,
       CASE WHEN coalesce(w.waiting, 0) > 0 AND h.avg_handle_ms IS NOT NULL
            THEN round(w.waiting * h.avg_handle_ms / greatest(coalesce(m.logged_in, 0), 1)) END AS estimated_wait_ms
  FROM cc.queues AS q
  LEFT JOIN (SELECT e.queue_id, count(*) AS waiting,
                    round(max(extract(epoch FROM now() - e.entered_at)) * 1000) AS longest_wait_ms
               FROM cc.queue_entries AS e WHERE e.state IN ('waiting', 'offered')
              GROUP BY e.queue_id) AS w ON w.queue_id = q.id
  LEFT JOIN (SELECT qm.queue_id,
                    count(*) FILTER (WHERE a.state = 'idle') AS available,
                    count(*) FILTER (WHERE a.state <> 'offline') AS logged_in
               FROM cc.queue_members AS qm JOIN cc.agents AS a ON a.id = qm.agent_id
              WHERE qm.enabled AND a.enabled
              GROUP BY qm.queue_id) AS m ON m.queue_id = q.id
  LEFT JOIN (SELECT d.queue_id, avg(d.talk_ms) AS avg_handle_ms
               FROM cc.cdrs AS d
              WHERE d.started_at >= now() - interval '1 hour' AND d.talk_ms > 0
              GROUP BY d.queue_id) AS h ON h.queue_id = q.id
 WHERE q.enabled;
COMMENT ON VIEW cc.report_realtime_queues IS 'Per queue now: callers waiting, the longest wait, agents available and logged in, and an estimated wait (waiting x average talk of the last hour / agents logged in).';
COMMENT ON COLUMN cc.report_realtime_queues.queue_id IS 'Queue id.';
COMMENT ON COLUMN cc.report_realtime_queues.queue_name IS 'Queue name.';
COMMENT ON COLUMN cc.report_realtime_queues.waiting IS 'Callers waiting (entries waiting or offered).';
COMMENT ON COLUMN cc.report_realtime_queues.longest_wait_ms IS 'Wait of the caller waiting longest, in ms.';
COMMENT ON COLUMN cc.report_realtime_queues.agents_available IS 'Enabled members idle now.';
COMMENT ON COLUMN cc.report_realtime_queues.agents_logged_in IS 'Enabled members not offline.';
COMMENT ON COLUMN cc.report_realtime_queues.estimated_wait_ms IS 'waiting x average talk time of the queue''s connected calls of the last hour / max(agents logged in, 1), in ms; NULL without waiting callers or recent calls.';

CREATE VIEW cc.live_calls AS
SELECT c.id AS call_id, c.direction, c.state, c.number, c.caller, c.callee,
       c.queue_id, q.name AS queue_name, c.agent_id, a.name AS agent_name, a.extension AS agent_extension,
       c.flow_node, c.created_at AS started_at, c.connected_at,
       round(extract(epoch FROM now() - c.created_at) * 1000)::bigint AS duration_ms,
       (SELECT l.id FROM cc.legs AS l WHERE l.call_id = c.id AND l.kind = 'customer' AND l.state <> 'ended'
         ORDER BY l.created_at DESC LIMIT 1) AS customer_leg_id,
       (SELECT count(*) FROM cc.legs AS l WHERE l.call_id = c.id AND l.state <> 'ended') AS live_legs
  FROM cc.calls AS c
  LEFT JOIN cc.queues AS q ON q.id = c.queue_id
  LEFT JOIN cc.agents AS a ON a.id = c.agent_id
 WHERE c.ended_at IS NULL;   -- the calls_live index (state <> 'ended' is the same set)
COMMENT ON VIEW cc.live_calls IS 'Calls in progress, for supervisors: who, where (flow node, queue, agent), since when; customer_leg_id is the leg a monitor (listen, whisper, barge) targets.';
COMMENT ON COLUMN cc.live_calls.call_id IS 'Call id.';
COMMENT ON COLUMN cc.live_calls.direction IS 'inbound, outbound or internal.';
COMMENT ON COLUMN cc.live_calls.state IS 'new, ringing, ivr, queued, offering, connected.';
COMMENT ON COLUMN cc.live_calls.number IS 'Our number.';
COMMENT ON COLUMN cc.live_calls.caller IS 'Caller.';
COMMENT ON COLUMN cc.live_calls.callee IS 'Callee.';
COMMENT ON COLUMN cc.live_calls.queue_id IS 'Queue the call is (or was last) in.';
COMMENT ON COLUMN cc.live_calls.queue_name IS 'Name of that queue.';
COMMENT ON COLUMN cc.live_calls.agent_id IS 'Agent connected (or last connected).';
COMMENT ON COLUMN cc.live_calls.agent_name IS 'Name of that agent.';
COMMENT ON COLUMN cc.live_calls.agent_extension IS 'Extension of that agent.';
COMMENT ON COLUMN cc.live_calls.flow_node IS 'Flow node the call is at.';
COMMENT ON COLUMN cc.live_calls.started_at IS 'When the call started.';
COMMENT ON COLUMN cc.live_calls.connected_at IS 'When a human first talked with the customer.';
COMMENT ON COLUMN cc.live_calls.duration_ms IS 'Time since the start, in ms.';
COMMENT ON COLUMN cc.live_calls.customer_leg_id IS 'The customer''s live leg (target of listen, whisper, barge).';
COMMENT ON COLUMN cc.live_calls.live_legs IS 'Legs not ended.';

-- agents over time ------------------------------------------------------------

CREATE VIEW cc.agent_state_intervals AS
SELECT l.agent_id, l.to_state AS state, l.reason, l.break_reason_id, l.call_id,
       l.at AS started_at,
       lead(l.at) OVER (PARTITION BY l.agent_id ORDER BY l.at, l.seq) AS ended_at
  FROM cc.agent_state_log AS l;
COMMENT ON VIEW cc.agent_state_intervals IS 'Each state an agent was in, from cc.agent_state_log: from the change into it to the next change (ended_at NULL: the current state).';
COMMENT ON COLUMN cc.agent_state_intervals.agent_id IS 'Agent.';
COMMENT ON COLUMN cc.agent_state_intervals.state IS 'State (offline, idle, busy, break, ringing, talking, wrap_up).';
COMMENT ON COLUMN cc.agent_state_intervals.reason IS 'Why the agent entered it.';
COMMENT ON COLUMN cc.agent_state_intervals.break_reason_id IS 'Break reason, for break.';
COMMENT ON COLUMN cc.agent_state_intervals.call_id IS 'Call that caused it (ringing, talking, wrap_up).';
COMMENT ON COLUMN cc.agent_state_intervals.started_at IS 'When the agent entered the state.';
COMMENT ON COLUMN cc.agent_state_intervals.ended_at IS 'When the agent left it (NULL: still in it).';

CREATE FUNCTION cc.agent_trajectory(from_at timestamptz, to_at timestamptz, agent uuid DEFAULT NULL)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, state text, reason text, call_id uuid,
               started_at timestamptz, ended_at timestamptz, duration_ms bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    WITH who AS (
        SELECT a.id FROM cc.agents AS a WHERE agent IS NULL OR a.id = agent
        UNION
        SELECT DISTINCT l.agent_id FROM cc.agent_state_log AS l
         WHERE (agent IS NULL OR l.agent_id = agent) AND l.at < to_at
    ), marks AS (
        -- the state each agent was in at from_at ...
        SELECT w.id AS agent_id, 0::bigint AS seq,
               -- an agent created during the period was nothing before
               CASE WHEN b.to_state IS NULL AND a.created_at <= coalesce(f.at, 'infinity')
                    THEN greatest(from_at, a.created_at) ELSE from_at END AS at,
               coalesce(b.to_state, f.from_state, a.state, 'offline') AS state,
               CASE WHEN b.to_state IS NOT NULL THEN b.reason END AS reason,
               CASE WHEN b.to_state IS NOT NULL THEN b.call_id END AS call_id
          FROM who AS w
          LEFT JOIN cc.agents AS a ON a.id = w.id
          LEFT JOIN LATERAL (SELECT l.to_state, l.reason, l.call_id FROM cc.agent_state_log AS l
                              WHERE l.agent_id = w.id AND l.at <= from_at
                              ORDER BY l.at DESC, l.seq DESC LIMIT 1) AS b ON true
          LEFT JOIN LATERAL (SELECT l.from_state, l.at FROM cc.agent_state_log AS l
                              WHERE l.agent_id = w.id ORDER BY l.at, l.seq LIMIT 1) AS f ON true
        UNION ALL
        -- ... and every change within the period
        SELECT l.agent_id, l.seq, l.at, l.to_state, l.reason, l.call_id
          FROM cc.agent_state_log AS l JOIN who AS w ON w.id = l.agent_id
         WHERE l.at > from_at AND l.at < to_at
    ), spans AS (
        SELECT m.*, coalesce(lead(m.at) OVER (PARTITION BY m.agent_id ORDER BY m.at, m.seq),
                             greatest(least(to_at, now()), from_at)) AS until
          FROM marks AS m
    )
    SELECT s.agent_id, a.name, a.extension, s.state, s.reason, s.call_id, s.at, s.until,
           round(extract(epoch FROM s.until - s.at) * 1000)::bigint
      FROM spans AS s LEFT JOIN cc.agents AS a ON a.id = s.agent_id
     WHERE s.until > s.at
     ORDER BY s.agent_id, s.at, s.seq;
END;
$$;
COMMENT ON FUNCTION cc.agent_trajectory(timestamptz, timestamptz, uuid) IS
    'Agent trajectory: the states of one agent (or all) between from_at and to_at as intervals (state, reason, call, start, end, duration), clipped to the period and to now; from cc.agent_state_log.';

CREATE FUNCTION cc.report_agent_states(from_at timestamptz, to_at timestamptz)
RETURNS TABLE (agent_id uuid, agent_name text, extension text, online_ms bigint, idle_ms bigint, busy_ms bigint,
               ringing_ms bigint, talking_ms bigint, marked_busy_ms bigint, break_ms bigint, wrap_up_ms bigint,
               offline_ms bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
#variable_conflict use_column
BEGIN
    PERFORM cc.report_period_check(from_at, to_at);
    RETURN QUERY
    SELECT t.agent_id, min(t.agent_name), min(t.extension),
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state <> 'offline'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'idle'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state IN ('ringing', 'talking')), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'ringing'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'talking'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'busy'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'break'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'wrap_up'), 0)::bigint,
           coalesce(sum(t.duration_ms) FILTER (WHERE t.state = 'offline'), 0)::bigint
      FROM cc.agent_trajectory(from_at, to_at) AS t
     GROUP BY t.agent_id
     ORDER BY min(t.extension), t.agent_id;
END;
$$;
COMMENT ON FUNCTION cc.report_agent_states(timestamptz, timestamptz) IS
    'State durations per agent over the period, in ms: online (not offline), idle, busy (ringing + talking), ringing, talking, marked busy, break, wrap-up, offline.';
