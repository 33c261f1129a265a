-- queue_fixture: helpers for the queue and agent tests, made inside the
-- test's transaction (schema qt; everything is rolled back at the end).
-- Agents are named by extension, calls by caller number, legs are shown as
-- cust:CALLER and agent:EXT in actions, other ids as <id>.
CREATE SCHEMA qt;

CREATE FUNCTION qt.queue(name text, strategy text DEFAULT 'longest_idle') RETURNS uuid
LANGUAGE sql AS $$
    INSERT INTO cc.queues (name, strategy) VALUES (name, strategy) RETURNING id;
$$;

-- an agent with a registered softphone
CREATE FUNCTION qt.agent(ext text) RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    a uuid;
BEGIN
    INSERT INTO cc.agents (name, extension, email) VALUES ('Agent ' || ext, ext, ext || '@example.com')
    RETURNING id INTO a;
    INSERT INTO cc.registrations (agent_id, contact, expires_at)
    VALUES (a, 'sip:' || ext || '@192.0.2.10:5060', now() + interval '1 hour');
    RETURN a;
END;
$$;

CREATE FUNCTION qt.id(ext text) RETURNS uuid
LANGUAGE sql AS $$ SELECT id FROM cc.agents WHERE extension = ext $$;

CREATE FUNCTION qt.member(queue text, ext text, priority integer DEFAULT 3, pos integer DEFAULT 0) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO cc.queue_members (queue_id, agent_id, priority, position)
    SELECT q.id, a.id, priority, pos FROM cc.queues q, cc.agents a WHERE q.name = queue AND a.extension = ext;
$$;

CREATE FUNCTION qt.qid(name text) RETURNS uuid
LANGUAGE sql AS $$ SELECT id FROM cc.queues WHERE queues.name = qid.name $$;

-- an inbound call in its flow, the customer leg answered
CREATE FUNCTION qt.call(caller text, number text DEFAULT '+862120001000') RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    c uuid;
BEGIN
    INSERT INTO cc.calls (direction, state, caller, callee, number, answered_at)
    VALUES ('inbound', 'ivr', caller, number, number, now()) RETURNING id INTO c;
    INSERT INTO cc.legs (call_id, kind, direction, state, ringing_at, answered_at)
    VALUES (c, 'customer', 'inbound', 'answered', now(), now());
    RETURN c;
END;
$$;

CREATE FUNCTION qt.cid(caller text) RETURNS uuid
LANGUAGE sql AS $$ SELECT id FROM cc.calls WHERE calls.caller = cid.caller AND direction = 'inbound' ORDER BY created_at DESC LIMIT 1 $$;

CREATE FUNCTION qt.cust(caller text) RETURNS uuid
LANGUAGE sql AS $$ SELECT l.id FROM cc.legs l WHERE l.call_id = qt.cid(caller) AND l.kind = 'customer' $$;

-- the agent leg of the latest offer of a call to an agent
CREATE FUNCTION qt.leg(caller text, ext text) RETURNS uuid
LANGUAGE sql AS $$
    SELECT o.leg_id FROM cc.offers o JOIN cc.agents a ON a.id = o.agent_id
     WHERE o.call_id = qt.cid(caller) AND a.extension = ext ORDER BY o.offered_at DESC LIMIT 1;
$$;

-- JSON with ids replaced by names
CREATE FUNCTION qt.show(j jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    s text := j::text;
    r record;
BEGIN
    FOR r IN SELECT l.id::text AS id,
                    CASE WHEN l.kind = 'customer'
                         THEN 'cust:' || CASE WHEN c.direction = 'outbound' THEN c.callee ELSE c.caller END
                         ELSE 'agent:' || coalesce(a.extension, p.extension, '?') END AS label
               FROM cc.legs l JOIN cc.calls c ON c.id = l.call_id
               LEFT JOIN cc.agents a ON a.id = l.agent_id LEFT JOIN cc.phones p ON p.id = l.phone_id
    LOOP
        s := replace(s, r.id, r.label);
    END LOOP;
    FOR r IN SELECT q.id::text AS id, 'queue:' || q.name AS label FROM cc.queues q LOOP
        s := replace(s, r.id, r.label);
    END LOOP;
    RETURN regexp_replace(s, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g');
END;
$$;

CREATE FUNCTION qt.enqueue(caller text, target jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT qt.show(cc.enqueue(qt.cid(caller), target)) $$;

CREATE FUNCTION qt.to(caller text, queue text) RETURNS text
LANGUAGE sql AS $$ SELECT qt.enqueue(caller, jsonb_build_object('queue', qt.qid(queue))) $$;

CREATE FUNCTION qt.ev(leg uuid, event jsonb) RETURNS text
LANGUAGE sql AS $$ SELECT qt.show(cc.call_event(leg, event)) $$;

-- agents by extension: state (and, in a call, the state it will take after)
CREATE FUNCTION qt.states() RETURNS text
LANGUAGE sql AS $$
    SELECT string_agg(a.extension || ':' || a.state
                      || CASE WHEN coalesce(s.after_call_state, a.state_before_call) IS NOT NULL
                              THEN '(' || coalesce(s.after_call_state, a.state_before_call) || ')' ELSE '' END,
                      ' ' ORDER BY a.extension)
      FROM cc.agents a LEFT JOIN cc.agent_stats s ON s.agent_id = a.id;
$$;

-- who rings whom now
CREATE FUNCTION qt.ringing() RETURNS text
LANGUAGE sql AS $$
    SELECT coalesce(string_agg(CASE WHEN c.direction = 'outbound' THEN c.callee ELSE c.caller END
                               || '->' || coalesce(a.extension, p.extension), ' '
                               ORDER BY c.caller, coalesce(a.extension, p.extension)), 'nobody')
      FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id
      LEFT JOIN cc.agents a ON a.id = o.agent_id LEFT JOIN cc.phones p ON p.id = o.phone_id
     WHERE o.outcome = 'offered';
$$;

-- every offer so far, in order
CREATE FUNCTION qt.offers() RETURNS TABLE (caller text, member text, outcome text, reason text)
LANGUAGE sql AS $$
    SELECT c.caller, coalesce(a.extension, p.extension), o.outcome, o.reason
      FROM cc.offers o JOIN cc.calls c ON c.id = o.call_id
      LEFT JOIN cc.agents a ON a.id = o.agent_id LEFT JOIN cc.phones p ON p.id = o.phone_id
     ORDER BY o.offered_at, c.caller, coalesce(a.extension, p.extension);
$$;

-- the dial actions sent to cc sip since the last look (then forgotten)
CREATE FUNCTION qt.sent() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT id, args FROM cc.commands WHERE kind = 'call_actions' ORDER BY created_at LOOP
        RETURN NEXT qt.show(r.args->'actions');
    END LOOP;
    DELETE FROM cc.commands WHERE kind = 'call_actions';
END;
$$;

-- make the timers of a kind due and fire every due timer
CREATE FUNCTION qt.fire(kinds text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    UPDATE cc.timers SET due_at = clock_timestamp() - interval '1 second' WHERE kind = ANY (kinds);
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM cc.timers_fire();
    RETURN n;
END;
$$;

-- time passes for the busy / reject / no-answer delays
CREATE FUNCTION qt.delays_over() RETURNS void
LANGUAGE sql AS $$ UPDATE cc.agent_stats SET ready_at = NULL, ready_reason = NULL $$;

-- start from a clean slate between scenarios: the calls of this test
-- (history made with an earlier created_at stays), timers, commands,
-- callbacks; agents back to idle (offline ones stay offline), no delays
CREATE FUNCTION qt.reset() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cc.timers;
    DELETE FROM cc.commands;
    DELETE FROM cc.callbacks;
    DELETE FROM cc.calls WHERE created_at >= now();
    SET LOCAL pg_callcenter.agent_state_writer = on;
    UPDATE cc.agents SET state = CASE WHEN state = 'offline' THEN 'offline' ELSE 'idle' END,
                         state_before_call = NULL, no_answer_count = 0;
    SET LOCAL pg_callcenter.agent_state_writer = off;
    UPDATE cc.agent_stats SET ready_at = NULL, calls_today = 0, talk_ms_today = 0, calls_since_login = 0,
                              after_call_state = NULL, after_call_break_reason_id = NULL;
END;
$$;
