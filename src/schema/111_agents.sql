-- 111_agents.sql: agent states, who may change them, and the agent side
-- of calls.
--
-- An agent chooses offline, idle, busy or break (with a reason) through
-- cc.agent_set_state; the system moves it to ringing, talking and wrap_up
-- as its legs ring, answer and end (cc.agent_on_leg_event, in
-- 110_queue_hooks.sql), and back to the state it had before the call when
-- wrap-up is over.  Every change is one row of cc.agent_state_log and one
-- agent.state_changed event, written by cc.agent_state_enter (or by
-- dispatch, for many agents at once).  A direct UPDATE of cc.agents.state
-- is refused: the log would miss it.
--
-- Locking: a function that changes an agent and a call locks the call
-- first, then the agent (the order of cc.call_event); dispatch locks with
-- SKIP LOCKED and never waits, so it cannot close a cycle.

INSERT INTO cc.settings (key, value, description) VALUES
    ('queue.busy_delay_s', '60', 'Seconds an agent whose phone answered busy is not offered queue calls (FreeSWITCH busy-delay-time).'),
    ('queue.reject_delay_s', '10', 'Seconds an agent who declined an offer is not offered queue calls (FreeSWITCH reject-delay-time).'),
    ('queue.no_answer_delay_s', '30', 'Seconds an agent who let an offer ring out is not offered queue calls (FreeSWITCH no-answer-delay-time).'),
    ('queue.unreachable_delay_s', '5', 'Seconds an agent whose phone could not be reached (not found, unavailable) is not offered queue calls.'),
    ('queue.default_handle_s', '180', 'Handle time (talk and wrap-up) assumed for estimated waits while a queue has no answered calls of the last day.'),
    ('callback.max_attempts', '3', 'Times a queue callback is tried before it fails.'),
    ('callback.retry_s', '300', 'Seconds between two attempts of a queue callback whose customer did not answer.');

-- who is which agent ------------------------------------------------------------

CREATE TABLE cc.agent_logins (
    login      name        PRIMARY KEY,
    agent_id   uuid        NOT NULL REFERENCES cc.agents (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_logins_login_is_an_existing_role
        CHECK (to_regrole(quote_ident(login)) IS NOT NULL)
);
COMMENT ON TABLE cc.agent_logins IS
    'Which database role is which agent: a session acting as login (cc.session_role()), member of cc_agent, changes the state and controls the calls of that agent only.';
COMMENT ON COLUMN cc.agent_logins.login IS 'Database role of the agent''s workbench (its login, or the role it takes with SET ROLE); must exist.';
COMMENT ON COLUMN cc.agent_logins.agent_id IS 'The agent it is (an agent may have several logins).';
COMMENT ON COLUMN cc.agent_logins.created_at IS 'When the mapping was made.';
CREATE INDEX agent_logins_agent ON cc.agent_logins (agent_id);

CREATE FUNCTION cc.session_role() RETURNS name
LANGUAGE sql STABLE
AS $$ SELECT coalesce(nullif(current_setting('role'), 'none'), session_user)::name $$;
COMMENT ON FUNCTION cc.session_role() IS
    'The role the session acts as: the role of SET ROLE (a pooled connection acting for an agent), else session_user.';

CREATE FUNCTION cc.session_agent() RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$ SELECT agent_id FROM cc.agent_logins WHERE login = cc.session_role() $$;
COMMENT ON FUNCTION cc.session_agent() IS 'The agent the session''s role acts as (cc.agent_logins), or NULL.';

-- cc.agent_check_caller refuses a caller that may not act for the agent:
-- cc_admin and cc_app members (and superusers) act for every agent; any
-- other role only for the agent cc.agent_logins maps it to.
CREATE FUNCTION cc.agent_check_caller(agent uuid) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, cc
AS $$
DECLARE
    who name := cc.session_role();
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = who)
       OR pg_has_role(who, 'cc_admin', 'MEMBER') OR pg_has_role(who, 'cc_app', 'MEMBER') THEN
        RETURN;
    END IF;
    IF cc.session_agent() = agent THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'cc: role % may not change the state of agent %', who,
                    coalesce((SELECT a.extension FROM cc.agents AS a WHERE a.id = agent), agent::text)
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'An agent''s role changes only its own agent (cc.agent_logins maps roles to agents); cc_app and cc_admin change any agent.';
END;
$$;
COMMENT ON FUNCTION cc.agent_check_caller(uuid) IS
    'Raises insufficient_privilege unless the session''s role (cc.session_role()) is a superuser, a member of cc_admin or cc_app, or the role cc.agent_logins maps to this agent.';

-- counters -------------------------------------------------------------------

CREATE TABLE cc.agent_stats (
    agent_id          uuid        PRIMARY KEY REFERENCES cc.agents (id) ON DELETE CASCADE,
    logged_in_at      timestamptz,
    ready_at          timestamptz,
    ready_reason      text,
    stats_day         date        NOT NULL DEFAULT current_date,
    calls_today       integer     NOT NULL DEFAULT 0,
    talk_ms_today     bigint      NOT NULL DEFAULT 0,
    calls_since_login integer     NOT NULL DEFAULT 0,
    last_answered_at  timestamptz,
    after_call_state  text,
    after_call_break_reason_id uuid REFERENCES cc.break_reasons (id) ON DELETE SET NULL,
    CONSTRAINT agent_stats_after_call_state_in_idle_busy_break_offline
        CHECK (after_call_state IN ('idle', 'busy', 'break', 'offline')),
    CONSTRAINT agent_stats_calls_today_not_negative
        CHECK (calls_today >= 0),
    CONSTRAINT agent_stats_talk_ms_today_not_negative
        CHECK (talk_ms_today >= 0),
    CONSTRAINT agent_stats_calls_since_login_not_negative
        CHECK (calls_since_login >= 0)
);
COMMENT ON TABLE cc.agent_stats IS
    'Per agent, what the strategies and the real-time views count: calls and talk time today and since login, and the time before which no queue call is offered (busy, reject and no-answer delays). One row per agent, made with it.';
COMMENT ON COLUMN cc.agent_stats.agent_id IS 'Agent.';
COMMENT ON COLUMN cc.agent_stats.logged_in_at IS 'When the agent last logged in (fewest_calls counts from here).';
COMMENT ON COLUMN cc.agent_stats.ready_at IS 'No queue call is offered to the agent before this time (NULL: no delay).';
COMMENT ON COLUMN cc.agent_stats.ready_reason IS 'Why ready_at is set: busy, rejected, no_answer, unreachable.';
COMMENT ON COLUMN cc.agent_stats.stats_day IS 'Day (server time zone) calls_today and talk_ms_today count; older counts read as 0.';
COMMENT ON COLUMN cc.agent_stats.calls_today IS 'Queue calls answered on stats_day (fewest_calls_today).';
COMMENT ON COLUMN cc.agent_stats.talk_ms_today IS 'Talk time of calls that ended on stats_day, in milliseconds (least_talk_time).';
COMMENT ON COLUMN cc.agent_stats.calls_since_login IS 'Queue calls answered since logged_in_at (fewest_calls).';
COMMENT ON COLUMN cc.agent_stats.last_answered_at IS 'When the agent last answered a queue call.';
COMMENT ON COLUMN cc.agent_stats.after_call_state IS 'State the agent chose during its call, taken when the call and wrap-up are over (idle, busy, break, offline); NULL: the state before the call.';
COMMENT ON COLUMN cc.agent_stats.after_call_break_reason_id IS 'Break reason of after_call_state break.';

CREATE FUNCTION cc.agent_stats_create() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
BEGIN
    INSERT INTO cc.agent_stats (agent_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION cc.agent_stats_create() IS 'Trigger: every new agent gets its cc.agent_stats row.';
CREATE TRIGGER agents_stats_create AFTER INSERT ON cc.agents
    FOR EACH ROW EXECUTE FUNCTION cc.agent_stats_create();
INSERT INTO cc.agent_stats (agent_id) SELECT id FROM cc.agents ON CONFLICT DO NOTHING;

-- The guard: agents.state changes only through the functions of this
-- domain, which set pg_callcenter.agent_state_writer for their duration.
CREATE FUNCTION cc.agents_state_guard() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'cc: agent % cannot go from % to % by a direct UPDATE', OLD.extension, OLD.state, NEW.state
        USING ERRCODE = 'object_not_in_prerequisite_state',
              HINT = 'Use cc.agent_set_state(agent, state, reason) (idle, busy, break with a reason, offline); ringing, talking and wrap_up follow the agent''s calls.';
END;
$$;
COMMENT ON FUNCTION cc.agents_state_guard() IS
    'Trigger: refuses an UPDATE of cc.agents.state made outside cc.agent_set_state and the queue hooks (so every change reaches cc.agent_state_log).';
CREATE TRIGGER agents_state_guard BEFORE UPDATE OF state ON cc.agents FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state
          AND current_setting('pg_callcenter.agent_state_writer', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION cc.agents_state_guard();

-- changing state -------------------------------------------------------------

-- cc.agent_state_enter moves a locked agent to a state and records it.
CREATE FUNCTION cc.agent_state_enter(agent uuid, to_state text, reason text, call uuid DEFAULT NULL,
                                     break_reason uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
SET pg_callcenter.agent_state_writer = 'on'
AS $$
DECLARE
    t    timestamptz := clock_timestamp();
    prev text;
BEGIN
    SELECT a.state INTO prev FROM cc.agents AS a WHERE a.id = agent;
    IF prev IS NULL OR prev = to_state AND to_state <> 'break' THEN
        RETURN;
    END IF;
    UPDATE cc.agents AS a
       SET state = to_state, state_entered_at = t, state_reason = reason,
           break_reason_id = CASE WHEN to_state = 'break' THEN break_reason
                                  WHEN to_state IN ('ringing', 'talking', 'wrap_up') THEN a.break_reason_id END,
           state_before_call = CASE WHEN to_state IN ('ringing', 'talking', 'wrap_up') THEN a.state_before_call END
     WHERE a.id = agent;
    -- the agents_events trigger (122_change_events.sql) writes the
    -- cc.agent_state_log row and the agent.state_changed event
END;
$$;
COMMENT ON FUNCTION cc.agent_state_enter(uuid, text, text, uuid, uuid) IS
    'Moves an agent (locked by the caller) to a state: state, time entered, reason, break reason (the agents_events trigger logs it in cc.agent_state_log and as an agent.state_changed event). Leaving a call clears state_before_call.';

-- cc.agent_queues lists the enabled queues an agent is an enabled member of.
CREATE FUNCTION cc.agent_queues(agent uuid) RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, cc
AS $$
    SELECT coalesce(array_agg(m.queue_id ORDER BY m.queue_id), '{}')
      FROM cc.queue_members AS m
     WHERE m.agent_id = agent AND m.enabled;
$$;
COMMENT ON FUNCTION cc.agent_queues(uuid) IS 'The queues the agent is an enabled member of (a disabled queue still serves the callers it has).';

-- cc.agent_return leaves the call states: back to the state the agent had
-- before its call (idle, busy, break with its reason, or offline when it
-- logged out meanwhile), then offers it the next caller.
CREATE FUNCTION cc.agent_return(agent uuid, reason text, call uuid DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a      cc.agents;
    s      cc.agent_stats;
    target text;
BEGIN
    SELECT * INTO a FROM cc.agents WHERE id = agent;
    SELECT * INTO s FROM cc.agent_stats AS x WHERE x.agent_id = agent;
    target := coalesce(s.after_call_state, a.state_before_call, 'idle');
    PERFORM cc.timers_cancel('queue.wrap_up_end', NULL, agent);
    UPDATE cc.agent_stats AS x SET after_call_state = NULL, after_call_break_reason_id = NULL
     WHERE x.agent_id = agent AND x.after_call_state IS NOT NULL;
    PERFORM cc.agent_state_enter(agent, target, reason, call,
                                 CASE WHEN target = 'break'
                                      THEN CASE WHEN s.after_call_state = 'break' THEN s.after_call_break_reason_id
                                                ELSE a.break_reason_id END END);
    IF target = 'idle' THEN
        PERFORM cc.queue_kick(cc.agent_queues(agent));
    ELSIF target = 'offline' THEN
        PERFORM cc.queue_no_agent_later(cc.agent_queues(agent));
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.agent_return(uuid, text, uuid) IS
    'Ends an agent''s call states: to the state it chose during the call (cc.agent_stats.after_call_state), else its state before the call; an idle agent is offered the next caller.';

-- cc.agent_settle makes a locked agent's state agree with its legs and
-- offers: talking while one of its legs is answered, ringing while it has
-- an open offer or a ringing leg that no queue gave up on, otherwise out of
-- the call states (wrap-up when a talk just ended).  It never touches an
-- agent that is not in a call state.
CREATE FUNCTION cc.agent_settle(agent uuid, call uuid, ended_leg cc.legs DEFAULT NULL) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a        cc.agents;
    talking  boolean;
    ringing  boolean;
    wrap_s   integer;
BEGIN
    SELECT * INTO a FROM cc.agents WHERE id = agent;
    IF a.state NOT IN ('ringing', 'talking', 'wrap_up') THEN
        RETURN;
    END IF;
    talking := EXISTS (SELECT 1 FROM cc.legs AS l
                        WHERE l.agent_id = agent AND l.state = 'answered');
    ringing := EXISTS (SELECT 1 FROM cc.offers AS o WHERE o.agent_id = agent AND o.outcome = 'offered')
               OR EXISTS (SELECT 1 FROM cc.legs AS l
                           WHERE l.agent_id = agent AND l.state IN ('new', 'ringing')
                             AND NOT EXISTS (SELECT 1 FROM cc.offers AS o
                                              WHERE o.leg_id = l.id AND o.outcome NOT IN ('offered', 'accepted')));
    IF talking THEN
        IF a.state <> 'talking' THEN
            PERFORM cc.agent_state_enter(agent, 'talking', 'answered', call);
        ELSIF ended_leg.answered_at IS NOT NULL THEN
            -- one of several calls ended: room for another (queue capacity)
            PERFORM cc.queue_kick(cc.agent_queues(agent));
        END IF;
    ELSIF ended_leg.answered_at IS NOT NULL AND a.state = 'talking' THEN
        -- a talk just ended (once: a repeated report finds the agent out
        -- of talking already): counters, then wrap-up or back
        UPDATE cc.agents SET last_call_ended_at = clock_timestamp() WHERE id = agent;
        UPDATE cc.agent_stats AS s
           SET talk_ms_today = CASE WHEN s.stats_day = current_date THEN s.talk_ms_today ELSE 0 END
                               + greatest(0, (extract(epoch FROM coalesce(ended_leg.ended_at, now())
                                                                   - ended_leg.answered_at) * 1000)::bigint),
               calls_today = CASE WHEN s.stats_day = current_date THEN s.calls_today ELSE 0 END,
               stats_day = current_date
         WHERE s.agent_id = agent;
        IF ringing THEN
            PERFORM cc.agent_state_enter(agent, 'ringing', 'call ended', call);
            RETURN;
        END IF;
        wrap_s := coalesce(a.wrap_up_s,
                           (SELECT q.wrap_up_s FROM cc.calls AS c JOIN cc.queues AS q ON q.id = c.queue_id
                             WHERE c.id = call), 0);
        IF wrap_s > 0 THEN
            PERFORM cc.agent_state_enter(agent, 'wrap_up', 'after call', call);
            PERFORM cc.timers_cancel('queue.wrap_up_end', NULL, agent);
            PERFORM cc.timer_set('queue.wrap_up_end', clock_timestamp() + make_interval(secs => wrap_s),
                                 NULL, NULL, agent, jsonb_build_object('call', call));
        ELSE
            PERFORM cc.agent_return(agent, 'call ended', call);
        END IF;
    ELSIF ringing THEN
        IF a.state = 'wrap_up' THEN
            RETURN;
        END IF;
        IF a.state <> 'ringing' THEN
            PERFORM cc.agent_state_enter(agent, 'ringing', 'ringing', call);
        END IF;
    ELSIF a.state IN ('ringing', 'talking') THEN
        PERFORM cc.agent_return(agent, 'not answered', call);
    END IF;
END;
$$;
COMMENT ON FUNCTION cc.agent_settle(uuid, uuid, cc.legs) IS
    'Makes a locked agent''s call state agree with its legs and open offers: talking, ringing, or out of the call (wrap-up after a talk, counted once, else back to its state before the call). An agent out of the call states is left alone.';

-- cc.agent_on_leg is the body of the hook cc.agent_on_leg_event.
CREATE FUNCTION cc.agent_on_leg(agent uuid, call uuid, leg uuid, event jsonb) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a     cc.agents;
    l     cc.legs;
    offer   cc.offers;
    kind    text := event->>'type';
    hangups jsonb;
BEGIN
    IF kind NOT IN ('ringing', 'answered', 'failed', 'ended') THEN
        RETURN;
    END IF;
    SELECT * INTO a FROM cc.agents WHERE id = agent FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT * INTO l FROM cc.legs WHERE id = leg;
    -- a late report (a leg already ended does not answer or ring any more)
    IF (kind = 'answered' AND l.state <> 'answered') OR (kind = 'ringing' AND l.state NOT IN ('new', 'ringing')) THEN
        RETURN;
    END IF;
    SELECT * INTO offer FROM cc.offers AS o WHERE o.leg_id = leg ORDER BY o.offered_at DESC LIMIT 1;

    IF offer.id IS NOT NULL AND offer.outcome NOT IN ('offered', 'accepted') THEN
        -- a queue gave up on this leg (caller left, another member answered,
        -- the agent logged out): an answer that comes late is hung up
        IF kind = 'answered' THEN
            PERFORM cc.call_actions_send(call, jsonb_build_array(
                jsonb_build_object('type', 'hangup', 'leg', leg, 'cause', 'offer_' || offer.outcome)));
        END IF;
        IF kind IN ('failed', 'ended') THEN
            PERFORM cc.agent_settle(agent, call, l);
        END IF;
        RETURN;
    END IF;
    IF offer.outcome = 'offered' AND kind IN ('failed', 'ended') THEN
        -- the queue decides what an unanswered offer does to the agent
        RETURN;
    END IF;

    CASE kind
        WHEN 'ringing' THEN
            IF a.state IN ('idle', 'busy', 'break') THEN
                UPDATE cc.agents SET state_before_call = a.state WHERE id = agent;
                PERFORM cc.agent_state_enter(agent, 'ringing', 'ringing', call);
            ELSIF a.state = 'offline' AND offer.id IS NULL THEN
                -- a logged-out agent's phone rings (a direct call): offline again afterwards
                UPDATE cc.agent_stats AS x SET after_call_state = coalesce(x.after_call_state, 'offline')
                 WHERE x.agent_id = agent;
                PERFORM cc.agent_state_enter(agent, 'ringing', 'ringing', call);
            END IF;
        WHEN 'answered' THEN
            IF a.state IN ('idle', 'busy', 'break') THEN
                UPDATE cc.agents SET state_before_call = a.state WHERE id = agent;
            ELSIF a.state = 'offline' THEN
                UPDATE cc.agent_stats AS x SET after_call_state = coalesce(x.after_call_state, 'offline')
                 WHERE x.agent_id = agent;
            ELSIF a.state = 'wrap_up' AND a.state_before_call IS NULL THEN
                UPDATE cc.agents SET state_before_call = 'idle' WHERE id = agent;
            END IF;
            UPDATE cc.agents SET no_answer_count = 0 WHERE id = agent AND no_answer_count <> 0;
            PERFORM cc.timers_cancel('queue.wrap_up_end', NULL, agent);
            IF a.state <> 'talking' THEN
                PERFORM cc.agent_state_enter(agent, 'talking', 'answered', call);
            END IF;
        ELSE
            -- an agent who leaves a callback before its customer answered
            -- stops the dialling of the customer
            SELECT coalesce(jsonb_agg(jsonb_build_object('type', 'hangup', 'leg', x.id, 'cause', 'agent_left')), '[]')
              INTO hangups
              FROM cc.legs AS x JOIN cc.callbacks AS cb ON cb.callback_call_id = x.call_id AND cb.state = 'dialing'
             WHERE x.call_id = call AND x.kind = 'customer' AND x.state <> 'ended';
            IF jsonb_array_length(hangups) > 0 THEN
                PERFORM cc.call_actions_send(call, hangups);
            END IF;
            PERFORM cc.agent_settle(agent, call, l);
    END CASE;
END;
$$;
COMMENT ON FUNCTION cc.agent_on_leg(uuid, uuid, uuid, jsonb) IS
    'The agent follows its leg: ringing, talking on answer (no-answer count reset), wrap-up or back when it ends; an answer to an offer already given up is hung up. Unanswered open offers are left to cc.queue_on_event.';

-- cc.agent_lock_with_call locks the call of the agent's open offer (if
-- any) and then the agent, in the order of cc.call_event.  An offer made
-- between the two reads is caught and the locks are taken again.
CREATE FUNCTION cc.agent_lock_with_call(agent uuid) RETURNS cc.offers
LANGUAGE plpgsql
SET search_path = pg_catalog, cc
AS $$
DECLARE
    before cc.offers;
    after  cc.offers;
BEGIN
    FOR attempt IN 1..20 LOOP
        SELECT * INTO before FROM cc.offers AS o WHERE o.agent_id = agent AND o.outcome = 'offered';
        BEGIN
            IF before.id IS NOT NULL THEN
                PERFORM 1 FROM cc.calls AS c WHERE c.id = before.call_id FOR UPDATE;
            END IF;
            PERFORM 1 FROM cc.agents AS a WHERE a.id = agent FOR NO KEY UPDATE;
            SELECT * INTO after FROM cc.offers AS o WHERE o.agent_id = agent AND o.outcome = 'offered';
            IF after.id IS NOT NULL AND after.call_id IS DISTINCT FROM before.call_id THEN
                -- a new offer came in between: let go of these locks and retry
                RAISE EXCEPTION USING ERRCODE = 'P0098', MESSAGE = 'retry';
            END IF;
            RETURN after;
        EXCEPTION WHEN SQLSTATE 'P0098' THEN
            NULL;
        END;
    END LOOP;
    RAISE EXCEPTION 'cc: agent % keeps receiving offers; try again', agent
        USING ERRCODE = 'lock_not_available';
END;
$$;
COMMENT ON FUNCTION cc.agent_lock_with_call(uuid) IS
    'Locks the call of the agent''s open offer, then the agent (the order of cc.call_event, so no deadlock); returns that offer (all NULL if none).';

-- cc.agent_set_state: the API ---------------------------------------------------

CREATE FUNCTION cc.agent_set_state(agent uuid, state text, reason text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a       cc.agents;
    offer   cc.offers;
    target  text := lower(btrim(state));
    brk     uuid;
    dflt    text;
    allowed text;
    t       timestamptz := clock_timestamp();
BEGIN
    IF agent IS NULL THEN
        RAISE EXCEPTION 'cc: agent must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    PERFORM cc.agent_check_caller(agent);
    offer := cc.agent_lock_with_call(agent);
    SELECT * INTO a FROM cc.agents AS x WHERE x.id = agent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: agent % does not exist', agent USING ERRCODE = 'no_data_found';
    END IF;
    allowed := CASE a.state
        WHEN 'offline' THEN 'idle, busy (log in)'
        WHEN 'ringing' THEN 'busy, break, offline (each declines the call ringing), or answer it'
        WHEN 'talking' THEN 'idle, busy, break, offline: the state to take when the call is over'
        ELSE 'idle, busy, break (with a reason), offline' END;
    IF target IS NULL OR target NOT IN ('idle', 'busy', 'break', 'offline') THEN
        RAISE EXCEPTION 'cc: agent % cannot go from % to %', a.extension, a.state, coalesce(state, 'NULL')
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'From ' || a.state || ' an agent may choose: ' || allowed
                         || '. ringing, talking and wrap_up follow its calls.';
    END IF;
    IF target = 'break' THEN
        SELECT b.id INTO brk FROM cc.break_reasons AS b WHERE b.name = btrim(reason) AND b.enabled;
        IF brk IS NULL THEN
            RAISE EXCEPTION 'cc: "%" is not a break reason', coalesce(reason, 'NULL')
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'A break needs one of the enabled reasons of cc.break_reasons: '
                             || coalesce((SELECT string_agg(b.name, ', ' ORDER BY b.position, b.name)
                                            FROM cc.break_reasons AS b WHERE b.enabled), 'none') || '.';
        END IF;
    END IF;

    -- logging in
    IF a.state = 'offline' THEN
        IF target = 'offline' THEN
            RETURN a.state;
        END IF;
        IF target = 'break' THEN
            RAISE EXCEPTION 'cc: agent % cannot go from offline to break', a.extension
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'From offline an agent may choose: ' || allowed || '; go on break once logged in.';
        END IF;
        IF NOT a.enabled OR a.forced_offline THEN
            RAISE EXCEPTION 'cc: agent % cannot log in: it is %', a.extension,
                            CASE WHEN NOT a.enabled THEN 'disabled' ELSE 'forced offline by a supervisor' END
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'An administrator clears cc.agents.enabled = false or forced_offline = true first.';
        END IF;
        UPDATE cc.agent_stats AS s SET logged_in_at = t, calls_since_login = 0 WHERE s.agent_id = agent;
        PERFORM cc.agent_state_enter(agent, target, coalesce(reason, 'login'));
        IF target = 'idle' THEN
            PERFORM cc.queue_kick(cc.agent_queues(agent));
        END IF;
        RETURN target;
    END IF;

    -- in a call: the choice is the state to take afterwards
    IF a.state = 'talking' THEN
        UPDATE cc.agent_stats AS x SET after_call_state = target, after_call_break_reason_id = brk
         WHERE x.agent_id = agent;
        PERFORM cc.event_append('agent.state_after_call',
            jsonb_strip_nulls(jsonb_build_object('state', target, 'reason', reason)), agent_id => agent);
        RETURN a.state;
    END IF;
    IF a.state = 'ringing' THEN
        IF target = 'idle' THEN
            RAISE EXCEPTION 'cc: agent % cannot go from ringing to idle', a.extension
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'From ringing an agent may choose: ' || allowed || '.';
        END IF;
        IF offer.id IS NOT NULL THEN
            PERFORM cc.queue_offer_withdraw(offer, CASE WHEN target = 'offline' THEN 'canceled' ELSE 'rejected' END,
                                            CASE WHEN target = 'offline' THEN 'agent_logout' ELSE 'agent_' || target END);
        END IF;
    END IF;

    IF a.state = target AND target <> 'break' THEN
        RETURN a.state;
    END IF;
    PERFORM cc.timers_cancel('queue.wrap_up_end', NULL, agent);
    UPDATE cc.agent_stats AS x SET after_call_state = NULL, after_call_break_reason_id = NULL
     WHERE x.agent_id = agent AND x.after_call_state IS NOT NULL;
    PERFORM cc.agent_state_enter(agent, target, coalesce(reason, CASE target WHEN 'offline' THEN 'logout' ELSE 'agent' END),
                                 offer.call_id, brk);
    IF target = 'idle' THEN
        PERFORM cc.queue_kick(cc.agent_queues(agent));
    ELSIF target = 'offline' THEN
        PERFORM cc.queue_no_agent_later(cc.agent_queues(agent));
    END IF;
    RETURN target;
END;
$$;
COMMENT ON FUNCTION cc.agent_set_state(uuid, text, text) IS
    'The agent''s own state changes: offline -> idle or busy (log in); idle, busy, break (reason: an enabled cc.break_reasons name), offline among themselves; ringing -> busy, break or offline declines the offer (offline: the call is offered again); talking -> any: the state to take after the call; wrap_up -> any ends wrap-up. An invalid change raises an error naming both states with a hint listing the allowed ones. cc_agent roles change only their own agent (cc.agent_logins). Returns the agent''s state.';

CREATE FUNCTION cc.agent_login(agent uuid) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
DECLARE
    a cc.agents;
BEGIN
    SELECT * INTO a FROM cc.agents AS x WHERE x.id = agent;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'cc: agent % does not exist', agent USING ERRCODE = 'no_data_found';
    END IF;
    IF a.state <> 'offline' THEN
        RETURN a.state;
    END IF;
    RETURN cc.agent_set_state(agent,
        coalesce(a.default_state_after_login,
                 (SELECT s.value #>> '{}' FROM cc.settings AS s WHERE s.key = 'agent.default_state_after_login'),
                 'idle'),
        'login');
END;
$$;
COMMENT ON FUNCTION cc.agent_login(uuid) IS
    'Logs an agent in: offline -> its default_state_after_login, else the agent.default_state_after_login setting (idle or busy). An agent already logged in keeps its state. Returns the state.';

CREATE FUNCTION cc.agent_logout(agent uuid, reason text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, cc
AS $$
BEGIN
    RETURN cc.agent_set_state(agent, 'offline', coalesce(reason, 'logout'));
END;
$$;
COMMENT ON FUNCTION cc.agent_logout(uuid, text) IS
    'Logs an agent out (cc.agent_set_state(agent, ''offline'')): a call ringing it is offered again; during a talk, it goes offline after the call.';
