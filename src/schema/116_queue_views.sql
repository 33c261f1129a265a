-- 116_queue_views.sql: real-time views of queues and agents.
--
-- What a wallboard shows: per queue, callers waiting and ringing, the
-- longest wait, members logged in and available, the estimated wait of a
-- new caller; per agent, its state, time in it, calls and talk time today.
-- cc_agent may read both (its workbench shows them).

CREATE VIEW cc.queue_status AS
    SELECT q.id, q.name, q.strategy, q.enabled,
           coalesce(w.waiting, 0) AS waiting,
           coalesce(w.ringing, 0) AS ringing,
           coalesce(floor(extract(epoch FROM clock_timestamp() - w.oldest)), 0)::integer AS longest_wait_s,
           cc.queue_logged_in(q.id) AS members_logged_in,
           (SELECT count(*) FROM cc.queue_available(q, now(), (SELECT r.trunk_id IS NOT NULL FROM cc.queue_mobile_route() AS r)))::integer
               AS members_available,
           (SELECT count(*) FROM cc.queue_members AS m JOIN cc.agents AS a ON a.id = m.agent_id
             WHERE m.queue_id = q.id AND a.state = 'talking')::integer AS agents_talking,
           (SELECT count(*) FROM cc.callbacks AS cb WHERE cb.queue_id = q.id AND cb.state = 'pending')::integer
               AS callbacks_pending,
           cc.queue_estimated_wait_s(q.id, coalesce(w.waiting, 0) + coalesce(w.ringing, 0) + 1) AS estimated_wait_s
      FROM cc.queues AS q
      LEFT JOIN LATERAL (
          SELECT count(*) FILTER (WHERE e.state = 'waiting')::integer AS waiting,
                 count(*) FILTER (WHERE e.state = 'offered')::integer AS ringing,
                 min(e.entered_at) AS oldest
            FROM cc.queue_entries AS e
           WHERE e.queue_id = q.id AND e.state IN ('waiting', 'offered')) AS w ON true;
COMMENT ON VIEW cc.queue_status IS 'Real time, per queue: callers waiting and ringing, longest wait, members logged in and available, agents talking, pending callbacks, estimated wait of a new caller.';
COMMENT ON COLUMN cc.queue_status.id IS 'Queue id.';
COMMENT ON COLUMN cc.queue_status.name IS 'Queue name.';
COMMENT ON COLUMN cc.queue_status.strategy IS 'Ring strategy.';
COMMENT ON COLUMN cc.queue_status.enabled IS 'Whether the queue takes new callers.';
COMMENT ON COLUMN cc.queue_status.waiting IS 'Callers waiting for an offer.';
COMMENT ON COLUMN cc.queue_status.ringing IS 'Callers being offered (a member rings).';
COMMENT ON COLUMN cc.queue_status.longest_wait_s IS 'Seconds the longest-waiting caller (waiting or ringing) has waited.';
COMMENT ON COLUMN cc.queue_status.members_logged_in IS 'Agents not offline and desk phones registered.';
COMMENT ON COLUMN cc.queue_status.members_available IS 'Members that could be offered a call now (cc.queue_available).';
COMMENT ON COLUMN cc.queue_status.agents_talking IS 'Member agents talking (any call).';
COMMENT ON COLUMN cc.queue_status.callbacks_pending IS 'Callbacks keeping a place in the queue.';
COMMENT ON COLUMN cc.queue_status.estimated_wait_s IS 'Estimated wait of a caller arriving now, in seconds (cc.queue_estimated_wait_s).';

CREATE VIEW cc.agent_status AS
    SELECT a.id, a.name, a.extension, a.state, a.state_reason, b.name AS break_reason, a.state_entered_at,
           floor(extract(epoch FROM clock_timestamp() - a.state_entered_at))::integer AS time_in_state_s,
           CASE WHEN s.stats_day = current_date THEN s.calls_today ELSE 0 END AS calls_today,
           (CASE WHEN s.stats_day = current_date THEN s.talk_ms_today ELSE 0 END / 1000)::integer AS talk_s_today,
           s.calls_since_login, s.logged_in_at, a.no_answer_count, s.ready_at,
           (SELECT coalesce(array_agg(q.name ORDER BY q.name), '{}') FROM cc.queue_members AS m
              JOIN cc.queues AS q ON q.id = m.queue_id WHERE m.agent_id = a.id AND m.enabled) AS queues
      FROM cc.agents AS a
      LEFT JOIN cc.agent_stats AS s ON s.agent_id = a.id
      LEFT JOIN cc.break_reasons AS b ON b.id = a.break_reason_id AND a.state = 'break';
COMMENT ON VIEW cc.agent_status IS 'Real time, per agent: state, why, time in it, calls and talk time today, calls since login, no-answer count, delay, queues.';
COMMENT ON COLUMN cc.agent_status.id IS 'Agent id.';
COMMENT ON COLUMN cc.agent_status.name IS 'Agent name.';
COMMENT ON COLUMN cc.agent_status.extension IS 'SIP extension.';
COMMENT ON COLUMN cc.agent_status.state IS 'offline, idle, busy, break, ringing, talking, wrap_up.';
COMMENT ON COLUMN cc.agent_status.state_reason IS 'Why the agent is in its state.';
COMMENT ON COLUMN cc.agent_status.break_reason IS 'Name of the break reason while on break.';
COMMENT ON COLUMN cc.agent_status.state_entered_at IS 'When the agent entered its state.';
COMMENT ON COLUMN cc.agent_status.time_in_state_s IS 'Seconds in the current state.';
COMMENT ON COLUMN cc.agent_status.calls_today IS 'Queue calls answered today.';
COMMENT ON COLUMN cc.agent_status.talk_s_today IS 'Talk time of calls ended today, in seconds.';
COMMENT ON COLUMN cc.agent_status.calls_since_login IS 'Queue calls answered since the last login.';
COMMENT ON COLUMN cc.agent_status.logged_in_at IS 'When the agent last logged in.';
COMMENT ON COLUMN cc.agent_status.no_answer_count IS 'Offers not answered in a row.';
COMMENT ON COLUMN cc.agent_status.ready_at IS 'No queue call is offered before this time (busy, reject, no-answer delays).';
COMMENT ON COLUMN cc.agent_status.queues IS 'Names of the queues the agent is an enabled member of.';

GRANT SELECT ON cc.queue_status, cc.agent_status TO cc_agent;
GRANT INSERT, UPDATE, DELETE ON cc.agent_logins TO cc_admin;
