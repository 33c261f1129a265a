-- 123_timeline.sql: a call's events read as its timeline.
--
-- cc.call_timeline(call) lists every event of a call in order with its
-- time, its offset from the start of the call, the party it concerns
-- ("customer", "agent 1001", "external 0612345678") and a sentence
-- ("agent 1001 rings", "customer hangs up"), as the reference's per-call
-- timeline shows them.  It reads cc.events only, plus the legs (live, or
-- the CDR's copy once the live rows are gone) to name the parties.

CREATE FUNCTION cc.timeline_party(kind text, extension text, agent_name text, party text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN kind IS NULL THEN NULL
        WHEN kind IN ('agent', 'consult', 'supervisor') THEN
            concat_ws(' ', CASE WHEN kind = 'agent' THEN 'agent' ELSE kind END, coalesce(extension, agent_name))
        WHEN kind = 'customer' THEN 'customer'
        ELSE concat_ws(' ', kind, party) END;
$$;
COMMENT ON FUNCTION cc.timeline_party(text, text, text, text) IS
    'How a timeline names a leg: customer, agent 1001, consult 1002, supervisor 1003, external <number>.';

CREATE FUNCTION cc.timeline_sentence(type text, party text, data jsonb, inbound boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE type
        WHEN 'call.arrived' THEN format('call from %s to %s', coalesce(data->>'caller', 'unknown'), data->>'number')
        WHEN 'call.created' THEN format('%s call starts', data->>'direction')
        WHEN 'call.state_changed' THEN format('call %s -> %s', data->>'from', data->>'to')
        WHEN 'call.agent_changed' THEN 'the call''s agent changes'
        WHEN 'call.queue_changed' THEN 'the call''s queue changes'
        WHEN 'call.ended' THEN format('call ends (%s, hung up by %s)', data->>'cause', data->>'side')
        WHEN 'call.reconciled' THEN format('call ended at restart (%s)', data->>'reason')
        WHEN 'leg.created' THEN
            CASE WHEN data->>'direction' = 'outbound' THEN format('dialling %s', coalesce(party, 'a leg'))
                 ELSE format('%s calls in', coalesce(party, 'a leg')) END
        WHEN 'leg.ringing' THEN format('%s rings', coalesce(party, 'leg'))
        WHEN 'leg.answered' THEN CASE WHEN inbound THEN format('%s is answered', coalesce(party, 'leg'))
                                      ELSE format('%s answers', coalesce(party, 'leg')) END
        WHEN 'leg.confirmed' THEN format('%s confirms the answer', coalesce(party, 'leg'))
        WHEN 'leg.failed' THEN format('%s does not answer (%s)', coalesce(party, 'leg'),
                                      coalesce(data->>'cause', data->>'reason', data->>'code'))
        WHEN 'leg.ended' THEN CASE WHEN data->>'side' = 'remote' THEN format('%s hangs up', coalesce(party, 'leg'))
                                   ELSE format('%s is hung up', coalesce(party, 'leg')) END
        WHEN 'leg.hold' THEN format('%s holds', coalesce(party, 'leg'))
        WHEN 'leg.resume' THEN format('%s resumes', coalesce(party, 'leg'))
        WHEN 'leg.refer' THEN format('%s transfers to %s', coalesce(party, 'leg'), data->>'refer_to')
        WHEN 'leg.refer_result' THEN format('transfer of %s: %s %s', coalesce(party, 'leg'), data->>'code', data->>'reason')
        WHEN 'leg.wait_done' THEN format('wait on %s ends', coalesce(party, 'leg'))
        WHEN 'leg.dtmf' THEN format('%s presses %s', coalesce(party, 'leg'), data->>'digit')
        WHEN 'leg.collect_done' THEN format('%s enters %s', coalesce(party, 'leg'), coalesce(data->>'digits', 'nothing'))
        WHEN 'leg.play_done' THEN format('prompt to %s ends (%s)', coalesce(party, 'leg'), data->>'reason')
        WHEN 'leg.recording_done' THEN format('recording of %s saved (%s ms)', coalesce(party, 'leg'), data->>'duration_ms')
        WHEN 'flow.node_entered' THEN format('flow: %s (%s)', data->>'node', data->>'type')
        WHEN 'queue_entry.created' THEN 'enters the queue'
        WHEN 'queue_entry.state_changed' THEN format('queue entry %s -> %s', data->>'from', data->>'to')
        WHEN 'offer.created' THEN format('offered to %s', coalesce(party, 'a phone'))
        WHEN 'offer.decided' THEN format('offer to %s: %s', coalesce(party, 'a phone'), data->>'to')
        WHEN 'agent.state_changed' THEN format('%s: %s -> %s', coalesce(party, 'agent'), data->>'from', data->>'to')
        WHEN 'http.requested' THEN format('HTTP %s request to %s', data->>'purpose', data->>'url')
        WHEN 'http.answered' THEN format('HTTP %s answer %s', data->>'purpose', data->>'status')
        WHEN 'http.failed' THEN format('HTTP %s request failed (%s)', data->>'purpose', coalesce(data->>'status', data->>'error'))
        WHEN 'cdr.created' THEN format('CDR written (%s)', data->>'access_status')
        ELSE CASE WHEN type LIKE 'command.%' THEN format('%s command %s', data->>'kind', split_part(type, '.', 2))
                  ELSE replace(type, '.', ' ') END
        END;
$$;
COMMENT ON FUNCTION cc.timeline_sentence(text, text, jsonb, boolean) IS
    'The sentence a timeline shows for an event (e.g. "agent 1001 rings", "customer hangs up"; inbound: the leg''s INVITE came to us, so we answer it); unknown types read as their words.';

CREATE FUNCTION cc.call_timeline(call uuid)
RETURNS TABLE (seq bigint, at timestamptz, offset_ms bigint, type text, party text, description text,
               leg_id uuid, agent_id uuid, data jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    WITH ev AS (
        SELECT e.* FROM cc.events AS e WHERE e.call_id = call
    ), origin AS (
        SELECT coalesce((SELECT c.created_at FROM cc.calls AS c WHERE c.id = call),
                        (SELECT d.started_at FROM cc.cdrs AS d WHERE d.call_id = call),
                        (SELECT min(ev.at) FROM ev)) AS at
    ), legs AS (
        SELECT l.id, l.kind, l.agent_id, l.direction,
               CASE WHEN l.direction = 'inbound' THEN cc.sip_uri_user(l.from_uri) ELSE cc.sip_uri_user(l.to_uri) END AS party
          FROM cc.legs AS l WHERE l.call_id = call
        UNION ALL
        SELECT cl.leg_id, cl.kind, cl.agent_id, cl.direction, cl.party
          FROM cc.cdr_legs AS cl JOIN cc.cdrs AS d ON d.id = cl.cdr_id
         WHERE d.call_id = call AND NOT EXISTS (SELECT 1 FROM cc.legs AS l WHERE l.id = cl.leg_id)
    ), named AS (
        SELECT ev.*, lg.direction,
               CASE WHEN ev.leg_id IS NOT NULL
                    THEN cc.timeline_party(lg.kind, a.extension, a.name, lg.party)
                    WHEN ev.agent_id IS NOT NULL AND (ev.type LIKE 'agent.%' OR ev.type LIKE 'offer.%')
                    THEN 'agent ' || coalesce(a.extension, ev.data->>'extension', ev.agent_id::text)
               END AS party
          FROM ev
          LEFT JOIN legs AS lg ON lg.id = ev.leg_id
          LEFT JOIN cc.agents AS a ON a.id = coalesce(lg.agent_id, ev.agent_id)
    )
    SELECT n.seq, n.at, round(extract(epoch FROM n.at - origin.at) * 1000)::bigint,
           n.type, n.party, cc.timeline_sentence(n.type, n.party, n.data, n.direction = 'inbound'), n.leg_id, n.agent_id, n.data
      FROM named AS n, origin
     ORDER BY n.seq;
$$;
COMMENT ON FUNCTION cc.call_timeline(uuid) IS
    'The timeline of a call: each of its events in order with its time, offset from the call''s start in ms, the party it concerns and a sentence (agent dials, customer rings, answers, transfers, hangs up, call ends, ...).';
