-- 113_dispatch.sql: pairing waiting callers with available members.
--
-- cc.queue_dispatch() pairs, in one transaction, the waiting entries of the
-- given queues (callers by priority, then by time waited; pending callbacks
-- keep the place of the entry they left) with the members each queue's
-- strategy ranks first.  Every row it changes is claimed with
-- FOR NO KEY UPDATE SKIP LOCKED: entries and their calls, agents, desk
-- phones, callbacks.  Two dispatchers never claim the same row, and a
-- dispatcher never waits for a lock, so it cannot deadlock with the event
-- handlers that lock a call and then its agents.
--
-- Availability is one query, cc.queue_available: it ranks a queue's
-- members before the claim, and again after it, on the claimed rows only,
-- with a fresh snapshot, so a member taken by another transaction between
-- the two is dropped.
--
-- Dispatch runs when something changes (cc.queue_kick: a call enqueued, an
-- agent free, an offer failed), inline in that transaction for latency,
-- and once more after it commits (a queue.dispatch timer), so two changes
-- that cannot see each other's uncommitted rows still meet.  A dispatcher
-- that finds work it could not claim (rows locked by another transaction)
-- sets a queue.dispatch timer to try again, backing off to 2 s.  There is
-- no polling.
--
-- An offer is a row of cc.offers, an agent leg (cc.legs), the agent in
-- ringing, and a dial action sent to cc sip with cc.call_actions_send.

CREATE INDEX IF NOT EXISTS legs_phone ON cc.legs (phone_id, ended_at) WHERE phone_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS phones_agent ON cc.phones (agent_id) WHERE agent_id IS NOT NULL;
-- an agent's latest leg: the change events of agents (src/change_events.c)
-- look it up at every state change of an agent to or from a call (without
-- it: a scan of every leg, ~0.2 ms per offer in bench/queue_dispatch.py,
-- more as cc.legs grows)
CREATE INDEX IF NOT EXISTS legs_agent_created ON cc.legs (agent_id, created_at) WHERE agent_id IS NOT NULL;

-- cc.queue_mobile_route: how agents' mobiles are called.
CREATE FUNCTION cc.queue_mobile_route(OUT trunk_id uuid, OUT number text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT n.trunk_id, n.number
      FROM cc.numbers AS n JOIN cc.trunks AS t ON t.id = n.trunk_id
     WHERE n.enabled AND n.usable_for_agent_mobile AND n.direction IN ('out', 'both') AND t.enabled
     ORDER BY n.number
     LIMIT 1;
$$;
COMMENT ON FUNCTION cc.queue_mobile_route() IS
    'The trunk and caller ID that ring agents'' mobiles: the first enabled outbound number usable_for_agent_mobile, with its trunk (NULLs: mobiles are not rung).';

-- cc.queue_available: the members of a queue that may be offered a call
-- now, with the keys that rank them.  Keys, compared in order:
--   1. 1 if this entry already rang the member (never for top_down), else 0,
--   2. place in the entry's preferred agents (memory routing, webhook),
--   3. member priority (1 first),
--   4-6. the strategy's keys (see docs/queues.md).
-- An agent is available when enabled, not forced offline, idle (or talking
-- below the queue's capacity, having been idle), past its ready_at delay,
-- without an open offer, and reachable (a registered contact, a bound desk
-- phone's contact, or its mobile).  A desk phone member is available when
-- registered, without an open offer or a live leg.
CREATE FUNCTION cc.queue_available(q cc.queues, t timestamptz, mobile_ok boolean,
                                   entry uuid DEFAULT NULL, pref uuid[] DEFAULT '{}',
                                   only_agents uuid[] DEFAULT NULL, only_phones uuid[] DEFAULT NULL)
RETURNS TABLE (agent_id uuid, phone_id uuid, member_id uuid, keys double precision[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, cc
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    offered uuid[];
BEGIN
    -- the members with an open offer, by a query planned now (EXECUTE): the
    -- generic plan below is made once per session, and made while cc.offers
    -- was small it tested each member with a scan of every open offer
    -- (a dispatch of 1,000 offers spent a quarter of its time there)
    EXECUTE 'SELECT coalesce(array_agg(o.agent_id), ''{}'') FROM cc.queue_members AS m '
            'JOIN cc.offers AS o ON o.agent_id = m.agent_id AND o.outcome = ''offered'' WHERE m.queue_id = $1'
       INTO offered USING q.id;
    -- PL/pgSQL and a generic plan: planning this query costs more than
    -- running it for a queue of a hundred members, so it is planned once
    -- per session
    RETURN QUERY
    SELECT a.id, NULL::uuid, m.id,
           ARRAY[
               CASE WHEN entry IS NOT NULL AND q.strategy <> 'top_down'
                         AND EXISTS (SELECT 1 FROM cc.offers AS o
                                      WHERE o.queue_entry_id = entry AND o.agent_id = a.id) THEN 1 ELSE 0 END,
               coalesce(array_position(pref, a.id), 1000000),
               m.priority,
               CASE q.strategy
                   WHEN 'sequential' THEN m.position
                   WHEN 'top_down' THEN m.position
                   WHEN 'ring_progressively' THEN m.position
                   WHEN 'fewest_calls' THEN s.calls_since_login
                   WHEN 'fewest_calls_today' THEN CASE WHEN s.stats_day = t::date THEN s.calls_today ELSE 0 END
                   WHEN 'least_talk_time' THEN CASE WHEN s.stats_day = t::date THEN s.talk_ms_today ELSE 0 END
                   WHEN 'round_robin' THEN coalesce(extract(epoch FROM (SELECT max(o.offered_at) FROM cc.offers AS o
                                                                         WHERE o.agent_id = a.id)), -1e15)
                   WHEN 'random' THEN random()
                   ELSE coalesce(extract(epoch FROM a.last_call_ended_at), -1e15)  -- longest_idle, ring_all
               END,
               CASE q.strategy
                   WHEN 'sequential' THEN extract(epoch FROM m.created_at)
                   WHEN 'top_down' THEN extract(epoch FROM m.created_at)
                   WHEN 'ring_progressively' THEN extract(epoch FROM m.created_at)
                   WHEN 'round_robin' THEN m.position
                   WHEN 'random' THEN 0
                   WHEN 'longest_idle' THEN extract(epoch FROM a.state_entered_at)
                   WHEN 'ring_all' THEN extract(epoch FROM a.state_entered_at)
                   ELSE coalesce(extract(epoch FROM a.last_call_ended_at), -1e15)
               END,
               m.position
           ]::double precision[]
      FROM cc.queue_members AS m
      JOIN cc.agents AS a ON a.id = m.agent_id
      JOIN cc.agent_stats AS s ON s.agent_id = a.id
     WHERE m.queue_id = q.id AND m.enabled
       AND (only_agents IS NULL OR a.id = ANY (only_agents))
       AND a.enabled AND NOT a.forced_offline
       AND (a.state = 'idle'
            OR (q.capacity > 1 AND a.state = 'talking' AND a.state_before_call = 'idle'
                AND (SELECT count(*) FROM cc.legs AS l WHERE l.agent_id = a.id AND l.state = 'answered') < q.capacity))
       AND (s.ready_at IS NULL OR s.ready_at <= t)
       AND a.id <> ALL (offered)
       AND (EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.agent_id = a.id AND r.expires_at > t)
            OR EXISTS (SELECT 1 FROM cc.phones AS p JOIN cc.registrations AS r ON r.phone_id = p.id
                        WHERE p.agent_id = a.id AND p.enabled AND r.expires_at > t)
            OR (mobile_ok AND a.mobile_mode <> 'off' AND a.mobile IS NOT NULL))
    UNION ALL
    SELECT NULL::uuid, p.id, m.id,
           ARRAY[
               CASE WHEN entry IS NOT NULL AND q.strategy <> 'top_down'
                         AND EXISTS (SELECT 1 FROM cc.offers AS o
                                      WHERE o.queue_entry_id = entry AND o.phone_id = p.id) THEN 1 ELSE 0 END,
               1000000,
               m.priority,
               CASE WHEN q.strategy IN ('sequential', 'top_down', 'ring_progressively') THEN m.position
                    WHEN q.strategy = 'random' THEN random()
                    ELSE coalesce(extract(epoch FROM (SELECT max(l.ended_at) FROM cc.legs AS l
                                                       WHERE l.phone_id = p.id)), -1e15) END,
               CASE WHEN q.strategy IN ('sequential', 'top_down', 'ring_progressively')
                    THEN extract(epoch FROM m.created_at) ELSE m.position END,
               m.position
           ]::double precision[]
      FROM cc.queue_members AS m
      JOIN cc.phones AS p ON p.id = m.phone_id
     WHERE m.queue_id = q.id AND m.enabled AND p.enabled
       AND (only_phones IS NULL OR p.id = ANY (only_phones))
       AND NOT EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.phone_id = p.id AND o.outcome = 'offered')
       AND NOT EXISTS (SELECT 1 FROM cc.legs AS l WHERE l.phone_id = p.id AND l.state <> 'ended')
       AND EXISTS (SELECT 1 FROM cc.registrations AS r WHERE r.phone_id = p.id AND r.expires_at > t);
END;
$$;
COMMENT ON FUNCTION cc.queue_available(cc.queues, timestamptz, boolean, uuid, uuid[], uuid[], uuid[]) IS
    'The members of a queue that may be offered a call now (idle, reachable, no open offer, past their delay; desk phones registered and free), with their ranking keys: already rung by this entry, place among the preferred agents, member priority, then the strategy''s keys. only_agents / only_phones restrict it to those rows (NULL: all).';

-- cc.queue_claim claims members a ranking chose: locks them with SKIP
-- LOCKED and ranks the locked ones again (a fresh snapshot: a member
-- another transaction took meanwhile drops out); returns the best n.
CREATE FUNCTION cc.queue_claim(q cc.queues, t timestamptz, mobile_ok boolean, n integer,
                               entry uuid, pref uuid[], want_agents uuid[], want_phones uuid[])
RETURNS TABLE (agent_id uuid, phone_id uuid)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    got_agents uuid[];
    got_phones uuid[];
BEGIN
    IF n < 1 OR cardinality(want_agents) + cardinality(want_phones) = 0 THEN
        RETURN;
    END IF;
    got_agents := ARRAY(SELECT a.id FROM cc.agents AS a WHERE a.id = ANY (want_agents)
                           FOR NO KEY UPDATE SKIP LOCKED);
    got_phones := ARRAY(SELECT p.id FROM cc.phones AS p WHERE p.id = ANY (want_phones)
                           FOR NO KEY UPDATE SKIP LOCKED);
    RETURN QUERY
        SELECT c.agent_id, c.phone_id
          FROM cc.queue_available(q, t, mobile_ok, entry, pref, got_agents, got_phones) AS c
         ORDER BY c.keys, c.member_id
         LIMIT n;
END;
$$;
COMMENT ON FUNCTION cc.queue_claim(cc.queues, timestamptz, boolean, integer, uuid, uuid[], uuid[], uuid[]) IS
    'Claims the given members (FOR NO KEY UPDATE SKIP LOCKED) and returns the best n of those still available on a fresh snapshot, ranked for the entry and preferred agents.';

-- cc.queue_pick claims up to n members of a queue, best first: ranks them
-- and claims the first n (cc.queue_claim).
CREATE FUNCTION cc.queue_pick(q cc.queues, t timestamptz, mobile_ok boolean, n integer,
                              entry uuid DEFAULT NULL, pref uuid[] DEFAULT '{}',
                              skip_agents uuid[] DEFAULT '{}', skip_phones uuid[] DEFAULT '{}')
RETURNS TABLE (agent_id uuid, phone_id uuid)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    want_agents uuid[];
    want_phones uuid[];
BEGIN
    IF n < 1 THEN
        RETURN;
    END IF;
    SELECT coalesce(array_agg(v.agent_id) FILTER (WHERE v.agent_id IS NOT NULL), '{}'),
           coalesce(array_agg(v.phone_id) FILTER (WHERE v.phone_id IS NOT NULL), '{}')
      INTO want_agents, want_phones
      FROM (SELECT c.agent_id, c.phone_id
              FROM cc.queue_available(q, t, mobile_ok, entry, pref) AS c
             WHERE (c.agent_id IS NULL OR c.agent_id <> ALL (skip_agents))
               AND (c.phone_id IS NULL OR c.phone_id <> ALL (skip_phones))
             ORDER BY c.keys, c.member_id
             LIMIT n) AS v;
    RETURN QUERY SELECT k.agent_id, k.phone_id
                   FROM cc.queue_claim(q, t, mobile_ok, n, entry, pref, want_agents, want_phones) AS k;
END;
$$;
COMMENT ON FUNCTION cc.queue_pick(cc.queues, timestamptz, boolean, integer, uuid, uuid[], uuid[], uuid[]) IS
    'Claims up to n available members of a queue, best first (ranked, then claimed by cc.queue_claim: FOR NO KEY UPDATE SKIP LOCKED, then checked again on a fresh snapshot); skip_agents / skip_phones are already taken.';

-- cc.queue_offers_write records offers already paired and claimed: the
-- agent legs, the offers, the entries and calls offered, the agents
-- ringing (with their log and events), one ring-timeout guard timer, and
-- the dial actions for cc sip in one call_actions command.  The i-th
-- elements of the arrays make one offer.  Everything is set-based: a
-- thousand offers cost a few statements, not a few thousand.  Its
-- statements look rows up by key or unnest the arrays, so their plans do
-- not depend on the values: planned once per session (generic plans), not
-- at every dispatch (custom plans; 1.8 % more instructions per pairing).
CREATE FUNCTION cc.queue_offers_write(q cc.queues, entries uuid[], calls uuid[], agents uuid[], phones uuid[],
                                      t timestamptz) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
SET pg_callcenter.agent_state_writer = 'on'
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    n       integer := coalesce(cardinality(entries), 0);
    legs    uuid[];
    offers  uuid[];
    targets jsonb[];
    shown   text[];
    mob     record;
    host    text := cc.sip_local_host();
    actions jsonb;
BEGIN
    IF n = 0 THEN
        RETURN 0;
    END IF;
    SELECT * INTO mob FROM cc.queue_mobile_route();
    legs := cc.random_uuids(n);
    offers := cc.random_uuids(n);
    -- the customer's number each agent will see (an outbound call, a
    -- callback, shows its callee); looked up by primary key, never a scan
    shown := ARRAY(SELECT coalesce(c.shown, 'anonymous')
                     FROM unnest(calls) WITH ORDINALITY AS p (call, ord)
                     LEFT JOIN LATERAL (SELECT CASE WHEN x.direction = 'outbound' THEN x.callee ELSE x.caller END AS shown
                                          FROM cc.calls AS x WHERE x.id = p.call) AS c ON true
                    ORDER BY p.ord);

    -- where each member rings: its registered contacts (an agent's own and
    -- those of desk phones bound to it; a desk phone member's), or an
    -- agent's mobile through the mobile trunk (mode always; when_offline
    -- while no contact is registered).  A mobile target keeps its trunk
    -- and caller ID here; the dial action carries them (cc sip sends a
    -- {"number"} target to the trunk)
    targets := ARRAY(
        SELECT CASE WHEN a.mobile IS NOT NULL AND mob.trunk_id IS NOT NULL
                         AND (a.mobile_mode = 'always' OR (a.mobile_mode = 'when_offline' AND sip.j IS NULL))
                    THEN jsonb_build_array(jsonb_build_object(
                             'number', a.mobile, 'trunk', mob.trunk_id,
                             'from', jsonb_build_object('uri', 'sip:' || mob.number || '@' || host,
                                                        'display', mob.number)))
                    ELSE coalesce(sip.j, '[]'::jsonb) END
          FROM unnest(agents, phones) WITH ORDINALITY AS p (agent, phone, ord)
          LEFT JOIN cc.agents AS a ON a.id = p.agent
          LEFT JOIN LATERAL (
              SELECT jsonb_agg(jsonb_build_object('uri', c.contact) ORDER BY c.registered_at, c.contact) AS j
                FROM (SELECT r.contact, min(r.registered_at) AS registered_at
                        FROM (SELECT r1.contact, r1.registered_at FROM cc.registrations AS r1
                               WHERE r1.agent_id = p.agent AND r1.expires_at > t
                              UNION ALL
                              SELECT r2.contact, r2.registered_at FROM cc.registrations AS r2
                               WHERE r2.phone_id = p.phone AND r2.expires_at > t
                              UNION ALL
                              SELECT r3.contact, r3.registered_at
                                FROM cc.phones AS ph JOIN cc.registrations AS r3 ON r3.phone_id = ph.id
                               WHERE ph.agent_id = p.agent AND ph.enabled AND r3.expires_at > t) AS r
                       GROUP BY r.contact) AS c) AS sip ON true
         ORDER BY p.ord);

    INSERT INTO cc.legs (id, call_id, kind, direction, agent_id, phone_id, trunk_id, to_uri, from_uri)
    SELECT p.leg, p.call, 'agent', 'outbound', p.agent, p.phone, (p.tg #>> '{0,trunk}')::uuid,
           coalesce(p.tg #>> '{0,uri}', 'tel:' || (p.tg #>> '{0,number}')), 'sip:' || p.shown || '@' || host
      FROM unnest(calls, agents, phones, legs, targets, shown) AS p (call, agent, phone, leg, tg, shown);

    INSERT INTO cc.offers (id, queue_entry_id, call_id, agent_id, phone_id, leg_id, offered_at)
    SELECT p.offer, p.entry, p.call, p.agent, p.phone, p.leg, t
      FROM unnest(offers, entries, calls, agents, phones, legs) AS p (offer, entry, call, agent, phone, leg);

    UPDATE cc.queue_entries AS e SET state = 'offered', offered_at = coalesce(e.offered_at, greatest(t, e.entered_at))
     WHERE e.id = ANY (entries) AND e.state = 'waiting';
    UPDATE cc.calls AS c SET state = 'offering'
     WHERE c.id = ANY (calls) AND c.state = 'queued';

    -- idle agents ring; an agent talking below capacity keeps talking (the
    -- agents_events and offers_events triggers of 122_change_events.sql log
    -- the state changes and the offers)
    UPDATE cc.agents AS a
       SET state = 'ringing', state_before_call = 'idle', state_entered_at = t, state_reason = 'offered'
      FROM unnest(agents, calls) AS p (agent, call)
     WHERE a.id = p.agent AND a.state = 'idle';

    -- a guard: if cc sip never reports the end of the ringing, the offers
    -- still time out (cc sip cancels at ring_timeout_ms itself)
    PERFORM cc.timer_set('queue.ring_timeout', t + make_interval(secs => q.ring_timeout_s + 3),
                         CASE WHEN n = 1 THEN calls[1] END, CASE WHEN n = 1 THEN legs[1] END,
                         CASE WHEN n = 1 THEN agents[1] END, jsonb_build_object('offers', to_jsonb(offers)));
    IF q.strategy = 'ring_progressively' THEN
        PERFORM cc.timer_set('queue.ring_step', t + make_interval(secs => q.ring_step_s),
                             x.call, NULL, NULL, jsonb_build_object('entry', x.entry))
           FROM (SELECT DISTINCT p.entry, p.call FROM unnest(entries, calls) AS p (entry, call)) AS x
          WHERE NOT EXISTS (SELECT 1 FROM cc.timers AS tm WHERE tm.kind = 'queue.ring_step' AND tm.call_id = x.call);
    END IF;

    SELECT jsonb_agg(CASE WHEN p.tg #> '{0,trunk}' IS NOT NULL
               THEN jsonb_build_object(
                        'type', 'dial', 'leg', p.leg, 'targets', jsonb_build_array((p.tg->0) - 'trunk' - 'from'),
                        'trunk', p.tg #> '{0,trunk}', 'from', p.tg #> '{0,from}',
                        'ring_timeout_ms', q.ring_timeout_s * 1000, 'tag', 'queue.offer:' || p.offer,
                        'headers', jsonb_build_object('X-CC-Call-Id', p.call::text, 'X-CC-Queue', q.name))
               ELSE jsonb_build_object(
                        'type', 'dial', 'leg', p.leg, 'targets', p.tg,
                        'from', jsonb_build_object('uri', 'sip:' || p.shown || '@' || host, 'display', p.shown),
                        'ring_timeout_ms', q.ring_timeout_s * 1000, 'tag', 'queue.offer:' || p.offer,
                        'headers', jsonb_build_object('X-CC-Call-Id', p.call::text, 'X-CC-Queue', q.name)) END
           ORDER BY p.ord)
      INTO actions
      FROM unnest(calls, legs, offers, targets, shown) WITH ORDINALITY AS p (call, leg, offer, tg, shown, ord);
    -- one command for the batch (each action names its leg); the call is
    -- named when there is only one
    PERFORM cc.call_actions_send(CASE WHEN (SELECT count(DISTINCT x) FROM unnest(calls) AS x) = 1 THEN calls[1] END,
                                 actions);
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.queue_offers_write(cc.queues, uuid[], uuid[], uuid[], uuid[], timestamptz) IS
    'Records claimed pairs as offers, set-based: agent legs, cc.offers rows, entries offered, calls offering, idle agents ringing (log and agent.state_changed), offer.created events, one ring-timeout guard timer, and one call_actions command with a dial action per offer (cc.call_actions_send). Returns the number of offers.';

-- cc.queue_dispatch_one pairs the waiting callers of one queue.
CREATE FUNCTION cc.queue_dispatch_one(q cc.queues, max_pairs integer, t timestamptz, mobile_ok boolean,
                                      OUT n_offered integer, OUT all_offered boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    per       integer := CASE WHEN q.strategy = 'ring_all' THEN q.ring_all_cap ELSE 1 END;
    retry_s   integer := cc.setting_int('callback.retry_s', 300);
    -- claimed items (entries and callbacks), best first
    i_kind    text[];
    i_id      uuid[];
    i_call    uuid[];
    i_pref    text[];
    i_tried   boolean[];
    n_items   integer;
    n_generic integer;
    -- the members free now, best first for callers without keys of their
    -- own (parallel arrays: one of the two is NULL), ranked before any
    -- caller is claimed; the generic callers' share of them, claimed once
    r_agent   uuid[];
    r_phone   uuid[];
    g_agent   uuid[];
    g_phone   uuid[];
    g_loaded  boolean := false;
    g_next    integer := 1;
    -- what this queue's items got
    p_entry   uuid[] := '{}';
    p_call    uuid[] := '{}';
    p_agent   uuid[] := '{}';
    p_phone   uuid[] := '{}';
    used_a    uuid[] := '{}';
    used_p    uuid[] := '{}';
    c_agent   uuid[];
    c_phone   uuid[];
    claimed   uuid[];
    entry     uuid;
    call      uuid;
    waiting   integer;
    want      integer;
BEGIN
    waiting := (SELECT count(*) FROM cc.queue_entries AS e
                 WHERE e.queue_id = q.id AND e.state = 'waiting' AND (e.not_before IS NULL OR e.not_before <= t))
               + (SELECT count(*) FROM cc.callbacks AS cb
                   WHERE cb.queue_id = q.id AND cb.state = 'pending' AND cb.expires_at > t
                     AND (cb.last_attempt_at IS NULL OR cb.last_attempt_at + make_interval(secs => retry_s) <= t));
    n_offered := 0;
    IF waiting = 0 THEN
        all_offered := true;
        RETURN;
    END IF;
    -- Who is free comes first, and no more callers are claimed than
    -- members are free: with a hundred callers waiting and one agent free,
    -- a dispatch claims (locks) one caller, not all of them.  With nobody
    -- free, every caller that could be offered now was (none), so the
    -- dispatch does not look for work left.
    SELECT coalesce(array_agg(v.agent_id ORDER BY v.keys, v.member_id), '{}'),
           coalesce(array_agg(v.phone_id ORDER BY v.keys, v.member_id), '{}')
      INTO r_agent, r_phone
      FROM (SELECT c.agent_id, c.phone_id, c.keys, c.member_id
              FROM cc.queue_available(q, t, mobile_ok) AS c
             ORDER BY c.keys, c.member_id
             LIMIT least(max_pairs, waiting) * per) AS v;
    want := least(max_pairs, waiting, cardinality(r_agent));
    all_offered := want = 0;
    IF want = 0 THEN
        RETURN;
    END IF;

    -- The calls of the first waiting entries are claimed first (SKIP
    -- LOCKED: a call busy with an event is left to the next dispatch, and
    -- the next caller claimed in its place), then their entries: an entry
    -- changes only with its call locked, so it is never claimed without its
    -- call (locking both in one SKIP LOCKED join would keep an entry locked
    -- when its call is skipped, and an event holding that call would wait
    -- for this transaction)
    claimed := ARRAY(SELECT c.id
                       FROM cc.queue_entries AS e JOIN cc.calls AS c ON c.id = e.call_id
                      WHERE e.queue_id = q.id AND e.state = 'waiting'
                        AND (e.not_before IS NULL OR e.not_before <= t)
                        AND c.state IN ('queued', 'offering')
                      ORDER BY e.priority, e.entered_at
                      LIMIT want
                        FOR NO KEY UPDATE OF c SKIP LOCKED);

    SELECT array_agg(x.kind ORDER BY x.priority, x.entered_at, x.id), array_agg(x.id ORDER BY x.priority, x.entered_at, x.id),
           array_agg(x.call ORDER BY x.priority, x.entered_at, x.id), array_agg(x.pref ORDER BY x.priority, x.entered_at, x.id),
           array_agg(x.tried ORDER BY x.priority, x.entered_at, x.id)
      INTO i_kind, i_id, i_call, i_pref, i_tried
      FROM (SELECT * FROM (
                SELECT 'entry' AS kind, e.id, e.call_id AS call, e.priority, e.entered_at,
                       e.preferred_agent_ids::text AS pref,
                       EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.queue_entry_id = e.id) AS tried
                  FROM cc.queue_entries AS e
                 WHERE e.call_id = ANY (claimed) AND e.queue_id = q.id AND e.state = 'waiting'
                   AND (e.not_before IS NULL OR e.not_before <= t)
                 ORDER BY e.priority, e.entered_at
                   FOR NO KEY UPDATE OF e) AS claimed_entries
            UNION ALL
            SELECT * FROM (
                SELECT 'callback' AS kind, cb.id, NULL::uuid AS call, coalesce(oe.priority, 3) AS priority,
                       coalesce(oe.entered_at, cb.requested_at) AS entered_at, '{}'::text AS pref, false AS tried
                  FROM cc.callbacks AS cb LEFT JOIN cc.queue_entries AS oe ON oe.id = cb.queue_entry_id
                 WHERE cb.queue_id = q.id AND cb.state = 'pending' AND cb.expires_at > t
                   AND (cb.last_attempt_at IS NULL OR cb.last_attempt_at + make_interval(secs => retry_s) <= t)
                 ORDER BY 4, 5
                 LIMIT want
                   FOR NO KEY UPDATE OF cb SKIP LOCKED) AS claimed_callbacks) AS x;
    n_items := least(coalesce(cardinality(i_id), 0), want);
    IF n_items = 0 THEN
        RETURN;
    END IF;
    n_generic := (SELECT count(*) FROM unnest(i_pref[1:n_items], i_tried[1:n_items]) AS u (pref, tried)
                   WHERE u.pref = '{}' AND NOT u.tried);

    FOR i IN 1..n_items LOOP
        IF i_pref[i] <> '{}' OR i_tried[i] THEN
            -- memory routing, preferred agents, or a caller some member already let down
            SELECT coalesce(array_agg(k.agent_id), '{}'), coalesce(array_agg(k.phone_id), '{}')
              INTO c_agent, c_phone
              FROM cc.queue_pick(q, t, mobile_ok, per, i_id[i], i_pref[i]::uuid[], used_a, used_p) AS k;
            -- an entry's preferences and past offers only order the
            -- members: when none is left for this caller, none is left for
            -- the callers after it (without this, a queue of callers who
            -- were all offered before ranked its members once per caller at
            -- every dispatch, and a burst of failed offers, each
            -- dispatching, cost callers x members x failures)
            EXIT WHEN cardinality(c_agent) = 0;
        ELSE
            IF NOT g_loaded THEN
                -- the generic callers' share of the ranking: its first
                -- members that callers before them did not take
                SELECT coalesce(array_agg(k.agent_id), '{}'), coalesce(array_agg(k.phone_id), '{}')
                  INTO g_agent, g_phone
                  FROM cc.queue_claim(q, t, mobile_ok, n_generic * per, NULL, '{}',
                           ARRAY(SELECT u.a FROM unnest(r_agent, r_phone) WITH ORDINALITY AS u (a, p, ord)
                                  WHERE u.a IS NOT NULL AND u.a <> ALL (used_a) ORDER BY u.ord LIMIT n_generic * per),
                           ARRAY(SELECT u.p FROM unnest(r_agent, r_phone) WITH ORDINALITY AS u (a, p, ord)
                                  WHERE u.p IS NOT NULL AND u.p <> ALL (used_p) ORDER BY u.ord LIMIT n_generic * per)) AS k;
                g_loaded := true;
            END IF;
            c_agent := '{}';   -- c_agent and c_phone are parallel: one of the two is NULL
            c_phone := '{}';
            WHILE cardinality(c_agent) < per AND g_next <= cardinality(g_agent) LOOP
                IF (g_agent[g_next] IS NOT NULL AND g_agent[g_next] <> ALL (used_a))
                   OR (g_phone[g_next] IS NOT NULL AND g_phone[g_next] <> ALL (used_p)) THEN
                    c_agent := c_agent || g_agent[g_next];
                    c_phone := c_phone || g_phone[g_next];
                END IF;
                g_next := g_next + 1;
            END LOOP;
        END IF;
        CONTINUE WHEN cardinality(c_agent) = 0;

        entry := i_id[i];
        call := i_call[i];
        IF i_kind[i] = 'callback' THEN
            SELECT s.entry_id, s.call_id INTO entry, call FROM cc.queue_callback_start(i_id[i], t) AS s;
        END IF;
        FOR k IN 1..cardinality(c_agent) LOOP
            p_entry := p_entry || entry;
            p_call := p_call || call;
            p_agent := p_agent || c_agent[k];
            p_phone := p_phone || c_phone[k];
            IF c_agent[k] IS NOT NULL THEN
                used_a := used_a || c_agent[k];
            ELSE
                used_p := used_p || c_phone[k];
            END IF;
        END LOOP;
    END LOOP;
    PERFORM cc.queue_offers_write(q, p_entry, p_call, p_agent, p_phone, t);
    n_offered := (SELECT count(DISTINCT x) FROM unnest(p_entry) AS x);
    all_offered := n_offered = waiting;
END;
$$;
COMMENT ON FUNCTION cc.queue_dispatch_one(cc.queues, integer, timestamptz, boolean) IS
    'Pairs up to max_pairs waiting callers of one queue (entries and due callbacks, by priority then wait) with the members its strategy ranks first; ring_all gives a caller up to ring_all_cap members. Returns the callers offered, and whether they were every caller that could be offered now.';

-- cc.queue_work_left: a queue has both a caller that could be offered now
-- and a member that could take it.  After a dispatch this means rows were
-- locked by another transaction (or max_pairs was reached).
CREATE FUNCTION cc.queue_work_left(q cc.queues, t timestamptz, mobile_ok boolean) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM cc.queue_entries AS e JOIN cc.calls AS c ON c.id = e.call_id
                    WHERE e.queue_id = q.id AND e.state = 'waiting' AND (e.not_before IS NULL OR e.not_before <= t)
                      AND c.state IN ('queued', 'offering'))
       AND NOT EXISTS (SELECT 1 FROM cc.callbacks AS cb
                        WHERE cb.queue_id = q.id AND cb.state = 'pending' AND cb.expires_at > t
                          AND (cb.last_attempt_at IS NULL
                               OR cb.last_attempt_at + make_interval(secs => cc.setting_int('callback.retry_s', 300)) <= t)) THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT 1 FROM cc.queue_available(q, t, mobile_ok));
END;
$$;
COMMENT ON FUNCTION cc.queue_work_left(cc.queues, timestamptz, boolean) IS
    'Whether a queue has a caller that could be offered now and an available member (cc.queue_available) at the same time.';

CREATE FUNCTION cc.queue_dispatch_run(queues uuid[], max_pairs integer, attempt integer) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    t         timestamptz := clock_timestamp();
    q         cc.queues;
    mobile_ok boolean := (SELECT r.trunk_id IS NOT NULL FROM cc.queue_mobile_route() AS r);
    total     integer := 0;
    n         integer;
    done      boolean;
    again     uuid[] := '{}';
BEGIN
    IF max_pairs IS NULL OR max_pairs < 1 OR max_pairs > 100000 THEN
        RAISE EXCEPTION 'cc: max_pairs % is out of range', max_pairs
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pair from 1 to 100000 callers in one dispatch.';
    END IF;
    FOR q IN
        SELECT x.* FROM cc.queues AS x
          LEFT JOIN LATERAL (SELECT e.priority, e.entered_at FROM cc.queue_entries AS e
                              WHERE e.queue_id = x.id AND e.state = 'waiting'
                              ORDER BY e.priority, e.entered_at LIMIT 1) AS head ON true
         WHERE (queues IS NULL OR x.id = ANY (queues))
           AND (head.priority IS NOT NULL
                OR EXISTS (SELECT 1 FROM cc.callbacks AS cb WHERE cb.queue_id = x.id AND cb.state = 'pending'))
         ORDER BY head.priority NULLS LAST, head.entered_at NULLS LAST, x.id
    LOOP
        done := false;
        IF total < max_pairs THEN
            SELECT d.n_offered, d.all_offered INTO n, done
              FROM cc.queue_dispatch_one(q, max_pairs - total, t, mobile_ok) AS d;
            total := total + n;
        END IF;
        -- a queue whose every caller was offered has no work left; otherwise
        -- callers were held by other transactions, or members ran out
        IF NOT done AND cc.queue_work_left(q, t, mobile_ok) THEN
            again := again || q.id;
        END IF;
    END LOOP;
    IF cardinality(again) > 0 THEN
        PERFORM cc.queue_dispatch_later(again,
            CASE WHEN total >= max_pairs THEN interval '0'
                 ELSE least(interval '2 s', interval '10 ms' * power(2, least(attempt, 10))) END,
            CASE WHEN total >= max_pairs THEN 0 ELSE attempt + 1 END);
    END IF;
    RETURN total;
END;
$$;
COMMENT ON FUNCTION cc.queue_dispatch_run(uuid[], integer, integer) IS
    'One dispatch over the given queues (NULL: every queue with callers; a disabled queue still serves the callers it has), most urgent first; where work is left that other transactions hold, a queue.dispatch timer tries again after 10 ms * 2^attempt (at most 2 s), or at once when max_pairs was reached.';

CREATE FUNCTION cc.queue_dispatch(queues uuid[] DEFAULT NULL, max_pairs integer DEFAULT 1000) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.queue_dispatch_run(queues, max_pairs, 0);
END;
$$;
COMMENT ON FUNCTION cc.queue_dispatch(uuid[], integer) IS
    'Dispatch: pairs waiting callers of the given queues (NULL: all) with available members in one transaction (FOR NO KEY UPDATE SKIP LOCKED), callers by priority then wait, members by each queue''s strategy; sends the dial actions. Returns the callers offered. Runs by itself when something changes; callable at any time.';

CREATE FUNCTION cc.queue_dispatch_later(queues uuid[], delay interval DEFAULT '0', attempt integer DEFAULT 0)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    mine  jsonb;
    timer uuid;
BEGIN
    IF queues IS NULL OR cardinality(queues) = 0 THEN
        RETURN;
    END IF;
    IF delay > interval '0' OR attempt > 0 THEN
        PERFORM cc.timer_set('queue.dispatch', clock_timestamp() + delay, NULL, NULL, NULL,
                             jsonb_build_object('queues', to_jsonb(queues), 'attempt', attempt));
        RETURN;
    END IF;
    -- A timer due at once is set once per queue per transaction: it fires
    -- after the commit and sees every change the transaction made, so a
    -- second would dispatch again for nothing (cc sip reports a batch of
    -- events in one transaction, each kicking its queue).  This
    -- transaction's timers are kept by queue in a transaction-local
    -- setting (a rolled-back subtransaction undoes it with its timers); a
    -- queue gets a new one when its timer was fired or deleted meanwhile.
    mine := coalesce(nullif(current_setting('pg_callcenter.dispatch_timers', true), ''), '{}')::jsonb;
    queues := ARRAY(SELECT DISTINCT x FROM unnest(queues) AS x
                     WHERE NOT EXISTS (SELECT 1 FROM cc.timers AS tm WHERE tm.id = (mine->>x::text)::uuid));
    IF cardinality(queues) = 0 THEN
        RETURN;
    END IF;
    timer := cc.timer_set('queue.dispatch', clock_timestamp(), NULL, NULL, NULL,
                          jsonb_build_object('queues', to_jsonb(queues), 'attempt', 0));
    PERFORM set_config('pg_callcenter.dispatch_timers',
                       (mine || (SELECT jsonb_object_agg(x, timer) FROM unnest(queues) AS x))::text, true);
END;
$$;
COMMENT ON FUNCTION cc.queue_dispatch_later(uuid[], interval, integer) IS
    'Sets a queue.dispatch timer: cc sip dispatches these queues after the current transaction commits (and delay). A timer due at once is set once per queue per transaction.';

-- cc.queue_kick: something changed in these queues (a caller came, an
-- agent is free): dispatch now, and once more after commit.
CREATE FUNCTION cc.queue_kick(queues uuid[]) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    n integer;
BEGIN
    IF queues IS NULL OR cardinality(queues) = 0 THEN
        RETURN 0;
    END IF;
    n := cc.queue_dispatch_run(queues, 1000, 0);
    PERFORM cc.queue_dispatch_later(queues);
    RETURN n;
END;
$$;
COMMENT ON FUNCTION cc.queue_kick(uuid[]) IS
    'Something changed in these queues: dispatch now (in this transaction) and again once it commits (queue.dispatch timer), so changes made concurrently by transactions that cannot see each other still meet. Returns the callers offered now.';

-- Changes that can make a member available without any call event: a
-- phone registers, a membership is added or enabled, a queue is enabled.
-- Each sets a queue.dispatch timer for the queues concerned.
CREATE FUNCTION cc.queue_dispatch_on_change() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    qs uuid[];
BEGIN
    CASE TG_TABLE_NAME
        WHEN 'registrations' THEN
            qs := ARRAY(SELECT DISTINCT m.queue_id FROM changed AS r
                          JOIN cc.queue_members AS m
                            ON m.agent_id = r.agent_id OR m.phone_id = r.phone_id
                            OR m.agent_id = (SELECT p.agent_id FROM cc.phones AS p WHERE p.id = r.phone_id));
        WHEN 'queue_members' THEN
            qs := ARRAY(SELECT DISTINCT m.queue_id FROM changed AS m WHERE m.enabled);
        WHEN 'queues' THEN
            qs := ARRAY(SELECT q.id FROM changed AS q);
    END CASE;
    PERFORM cc.queue_dispatch_later(qs);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.queue_dispatch_on_change() IS
    'Trigger: a registration added, a membership added or changed, a queue changed: dispatch the queues concerned after commit (queue.dispatch timer).';
CREATE TRIGGER registrations_queue_dispatch AFTER INSERT ON cc.registrations
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cc.queue_dispatch_on_change();
CREATE TRIGGER queue_members_queue_dispatch_insert AFTER INSERT ON cc.queue_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cc.queue_dispatch_on_change();
CREATE TRIGGER queue_members_queue_dispatch_update AFTER UPDATE ON cc.queue_members
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cc.queue_dispatch_on_change();
CREATE TRIGGER queues_queue_dispatch AFTER UPDATE ON cc.queues
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION cc.queue_dispatch_on_change();
