-- call_control: the command path of call control, and the helpers the other
-- call_control_* files use.
--
-- An application function checks and inserts a command; nothing else
-- happens in the application's transaction.  cc.command_decide, called by
-- cc sip when it claims the command, locks the call, decides with the state
-- as it is then and returns {"actions"} or {"error"}; it never raises.
-- Every case runs inside a transaction that rolls back, so the running
-- cc sip never sees these commands.
--
-- Other domains' hooks (cc.enqueue, cc.flow_start, cc.flow_resume,
-- cc.http_request, ...) are placeholders on this branch and real code after
-- the merge; the tests replace them, inside their rolled-back transactions,
-- with stand-ins that record how they were called and answer as the
-- contract says (regress.cc_standins), so they show call control's
-- decisions alone, whatever the other branches build.
\set VERBOSITY terse

-- helpers (kept: the next files use them) ------------------------------------------
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- regress.cc_label names an id the way the expected output shows it.
CREATE FUNCTION regress.cc_label(id uuid) RETURNS text LANGUAGE sql VOLATILE SECURITY DEFINER AS $$
    SELECT coalesce(
        (SELECT l.kind || coalesce(' ' || a.name, ' ' || p.name, ' ' || cc.sip_uri_user(l.to_uri), '')
                || CASE WHEN count(*) OVER (PARTITION BY l.call_id, l.kind, l.agent_id, l.phone_id, l.to_uri) > 1
                        THEN ' #' || row_number() OVER (PARTITION BY l.call_id, l.kind, l.agent_id, l.phone_id, l.to_uri
                                                         ORDER BY l.created_at, l.id) ELSE '' END
           FROM cc.legs AS l LEFT JOIN cc.agents AS a ON a.id = l.agent_id LEFT JOIN cc.phones AS p ON p.id = l.phone_id
          WHERE l.call_id = (SELECT call_id FROM cc.legs WHERE legs.id = cc_label.id)
          ORDER BY l.id = cc_label.id DESC LIMIT 1),
        (SELECT '<' || c.direction || ' call>' FROM cc.calls AS c WHERE c.id = cc_label.id),
        (SELECT '<new call>' FROM cc.commands WHERE commands.call_id = cc_label.id AND kind IN ('originate', 'click_to_call')
          LIMIT 1),
        (SELECT 'agent ' || name FROM cc.agents WHERE agents.id = cc_label.id),
        (SELECT 'phone ' || name FROM cc.phones WHERE phones.id = cc_label.id),
        (SELECT 'queue ' || name FROM cc.queues WHERE queues.id = cc_label.id),
        (SELECT 'trunk ' || name FROM cc.trunks WHERE trunks.id = cc_label.id),
        (SELECT 'flow ' || name FROM cc.flows WHERE flows.id = cc_label.id),
        (SELECT 'flow version ' || f.name || '/' || v.version FROM cc.flow_versions AS v JOIN cc.flows AS f ON f.id = v.flow_id
          WHERE v.id = cc_label.id),
        (SELECT 'number ' || number FROM cc.numbers WHERE numbers.id = cc_label.id),
        (SELECT 'prompt ' || name FROM cc.prompts WHERE prompts.id = cc_label.id),
        (SELECT 'conference' FROM cc.conferences WHERE conferences.id = cc_label.id),
        (SELECT 'recording' FROM cc.recordings WHERE recordings.id = cc_label.id),
        (SELECT 'transfer' FROM cc.transfers WHERE transfers.id = cc_label.id),
        (SELECT 'supervision' FROM cc.supervisions WHERE supervisions.id = cc_label.id),
        (SELECT 'self_service' FROM cc.self_services WHERE self_services.id = cc_label.id),
        (SELECT 'command ' || kind FROM cc.commands WHERE commands.id = cc_label.id),
        CASE WHEN id = '00000000-0000-0000-0000-0000000000ff' THEN 'http request' END,
        '<' || id || '>')
$$;

-- regress.cc_show replaces every id in a text by its label, and dates in
-- recording paths by YYYY/MM/DD.
CREATE FUNCTION regress.cc_show_text(t text) RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER AS $$
DECLARE
    u text;
BEGIN
    FOR u IN SELECT DISTINCT m[1] FROM regexp_matches(t, '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})', 'g') AS m LOOP
        t := replace(t, u, regress.cc_label(u::uuid));
    END LOOP;
    RETURN regexp_replace(t, 'calls/[0-9]{4}/[0-9]{2}/[0-9]{2}/', 'calls/YYYY/MM/DD/', 'g');
END;
$$;
CREATE FUNCTION regress.cc_show(j jsonb) RETURNS jsonb LANGUAGE sql VOLATILE AS $$ SELECT regress.cc_show_text(j::text)::jsonb $$;

-- regress.cc_decide runs a command's decision as cc sip will.
CREATE FUNCTION regress.cc_decide(command uuid) RETURNS jsonb LANGUAGE sql AS $$
    SELECT regress.cc_show(cc.command_decide(command))
$$;

-- regress.cc_event is the router's part for events that reach call control:
-- the leg's facts (cc.leg_apply_event), then the hook.
CREATE FUNCTION regress.cc_event(leg uuid, event jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    call uuid := (SELECT call_id FROM cc.legs WHERE id = leg);
BEGIN
    PERFORM 1 FROM cc.calls WHERE id = call FOR UPDATE;
    PERFORM cc.leg_apply_event(leg, event);
    RETURN regress.cc_show(cc.call_control_event(call, leg, event));
END;
$$;

-- regress.cc_route is the whole router (cc.call_event).
CREATE FUNCTION regress.cc_route(leg uuid, event jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT regress.cc_show(cc.call_event(leg, event))
$$;

-- regress.cc_error runs a statement, undoes it, and returns its error (or
-- ok), with the session's role (SET ROLE applies).
CREATE FUNCTION regress.cc_error(stmt text, OUT code text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE stmt;
        RAISE EXCEPTION USING ERRCODE = 'P0099', MESSAGE = 'undo';
    EXCEPTION WHEN SQLSTATE 'P0099' THEN
        code := 'ok';
    END;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
    message := regress.cc_show_text(message);
END;
$$;

-- regress.cc_legs shows the legs of a call.
CREATE FUNCTION regress.cc_legs(call uuid)
RETURNS TABLE (leg text, direction text, state text, hold_state text, muted boolean, cause text)
LANGUAGE sql STABLE AS $$
    SELECT regress.cc_label(l.id), l.direction, l.state, l.hold_state, l.muted, l.cause
      FROM cc.legs AS l WHERE l.call_id = call ORDER BY l.created_at, l.kind <> 'customer', regress.cc_label(l.id)
$$;

-- regress.cc_events shows the events of a call after seq.
CREATE FUNCTION regress.cc_events(call uuid, after bigint DEFAULT 0)
RETURNS TABLE (type text, leg text, data jsonb)
LANGUAGE sql STABLE AS $$
    SELECT e.type, regress.cc_label(e.leg_id),
           regress.cc_show(e.data - 'sip_call_id')
      FROM cc.events AS e WHERE e.call_id = call AND e.seq > after ORDER BY e.seq
$$;

-- regress.cc_standins replaces other domains' hooks for this transaction.
CREATE TABLE regress.standin_calls (n serial, hook text, args jsonb);
CREATE FUNCTION regress.cc_standins() RETURNS void LANGUAGE plpgsql AS $f$
BEGIN
    -- queues: cc.enqueue puts the call in the queue and the customer hears its music
    CREATE OR REPLACE FUNCTION cc.enqueue(call uuid, target jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO regress.standin_calls (hook, args) VALUES ('enqueue', jsonb_build_object('call', call, 'target', target));
        UPDATE cc.calls SET state = 'queued', queue_id = (target->>'queue')::uuid WHERE id = call;
        RETURN '[{"type": "play", "file": "queue-music.wav", "loop": true}]';
    END;
    $$;
    -- IVR: cc.flow_start answers and plays; cc.flow_resume has nothing more
    CREATE OR REPLACE FUNCTION cc.flow_start(call uuid) RETURNS jsonb LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO regress.standin_calls (hook, args)
        SELECT 'flow_start', jsonb_build_object('call', call, 'flow_version', flow_version_id) FROM cc.calls WHERE id = call;
        UPDATE cc.calls SET state = 'ivr' WHERE id = call;
        RETURN '[{"type": "answer"}, {"type": "play", "tts": "Welcome", "tag": "start:1"}]';
    END;
    $$;
    CREATE OR REPLACE FUNCTION cc.flow_resume(call uuid, reason text) RETURNS jsonb LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO regress.standin_calls (hook, args) VALUES ('flow_resume', jsonb_build_object('call', call, 'reason', reason));
        RETURN '[]';
    END;
    $$;
    -- the rest answers as the placeholders do, whatever the other branches
    -- make of them: these files show call control's decisions alone
    CREATE OR REPLACE FUNCTION cc.agent_on_leg_event(agent uuid, call uuid, leg uuid, event jsonb) RETURNS void
    LANGUAGE plpgsql AS $$ BEGIN RETURN; END; $$;
    CREATE OR REPLACE FUNCTION cc.queue_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$ BEGIN RETURN '[]'; END; $$;
    CREATE OR REPLACE FUNCTION cc.queue_call_ended(call uuid, cause text) RETURNS jsonb
    LANGUAGE plpgsql AS $$ BEGIN RETURN '[]'; END; $$;
    CREATE OR REPLACE FUNCTION cc.flow_on_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$ BEGIN RETURN '[]'; END; $$;
    CREATE OR REPLACE FUNCTION cc.cdr_write(call uuid) RETURNS uuid
    LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END; $$;
    -- events: cc.http_request queues a request
    CREATE OR REPLACE FUNCTION cc.http_request(purpose text, call uuid, method text, url text, headers jsonb DEFAULT '{}',
                                               body text DEFAULT NULL, timeout_ms integer DEFAULT 3000,
                                               max_attempts integer DEFAULT 1, context jsonb DEFAULT '{}')
    RETURNS uuid LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO regress.standin_calls (hook, args)
        VALUES ('http_request', jsonb_build_object('purpose', purpose, 'call', call, 'method', method, 'url', url,
                                                   'headers', headers, 'body', body::jsonb, 'context', context));
        RETURN '00000000-0000-0000-0000-0000000000ff';   -- shown as "http request"
    END;
    $$;
END;
$f$;

-- regress.cc_fixture: the stand-ins, a small contact center and one
-- connected inbound call.
--   agents Ann 1001 (talking with the customer), Bob 1002, Cid 1003 (idle,
--   member of support), Sue 1009 (a supervisor), all registered;
--   desk phone 2001 (lobby); trunk carrier (peering 192.0.2.10);
--   numbers +862120001000 (Shanghai, both ways, the sales queue's) and
--   +861060002000 (Beijing, outbound, no queue);
--   call 0...c1: +8613812345678 called +862120001000, queue sales, Ann talks
--   with the customer (legs 0...e1 customer, 0...e2 Ann).
CREATE FUNCTION regress.cc_fixture() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM regress.cc_standins();
    PERFORM regress.wav_file('music/hold.wav');
    INSERT INTO cc.prompts (id, name, kind, file_path) VALUES
        ('00000000-0000-0000-0000-0000000000a1', 'hold music', 'file', 'music/hold.wav');
    INSERT INTO cc.trunks (id, name, mode, peer_addresses) VALUES
        ('00000000-0000-0000-0000-0000000000b1', 'carrier', 'peering', '{192.0.2.10/32}');
    INSERT INTO cc.agents (id, name, extension, state) VALUES
        ('00000000-0000-0000-0000-000000001001', 'Ann', '1001', 'talking'),
        ('00000000-0000-0000-0000-000000001002', 'Bob', '1002', 'idle'),
        ('00000000-0000-0000-0000-000000001003', 'Cid', '1003', 'idle'),
        ('00000000-0000-0000-0000-000000001009', 'Sue', '1009', 'busy');
    INSERT INTO cc.phones (id, name, extension) VALUES ('00000000-0000-0000-0000-000000002001', 'lobby', '2001');
    INSERT INTO cc.registrations (agent_id, contact, expires_at)
    SELECT id, 'sip:' || extension || '@192.0.2.' || (100 + extension::integer % 100) || ':5062', now() + interval '1 hour'
      FROM cc.agents;
    INSERT INTO cc.registrations (phone_id, contact, expires_at)
    VALUES ('00000000-0000-0000-0000-000000002001', 'sip:2001@192.0.2.201:5062', now() + interval '1 hour');
    INSERT INTO cc.queues (id, name, hold_music_prompt_id) VALUES
        ('00000000-0000-0000-0000-0000000000d1', 'sales', '00000000-0000-0000-0000-0000000000a1'),
        ('00000000-0000-0000-0000-0000000000d2', 'support', NULL);
    INSERT INTO cc.queue_members (queue_id, agent_id, priority) VALUES
        ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000001001', 3),
        ('00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000001002', 3),
        ('00000000-0000-0000-0000-0000000000d2', '00000000-0000-0000-0000-000000001003', 1);
    INSERT INTO cc.flows (id, name, kind, callback_url) VALUES
        ('00000000-0000-0000-0000-0000000000f1', 'survey', 'outbound', NULL),
        ('00000000-0000-0000-0000-0000000000f2', 'id check', 'self_service', 'http://127.0.0.1:9/id-check'),
        ('00000000-0000-0000-0000-0000000000f3', 'welcome', 'inbound', NULL);
    INSERT INTO cc.flow_versions (id, flow_id, graph, published, published_at)
    SELECT ('00000000-0000-0000-0000-0000000001' || substr(id::text, 35, 2))::uuid, id,
           '{"nodes": [{"id": "start", "type": "start", "connections": {"next": "bye"}}, {"id": "bye", "type": "end"}]}',
           true, now()
      FROM cc.flows;
    INSERT INTO cc.numbers (id, number, direction, trunk_id, region, inbound_flow_id) VALUES
        ('00000000-0000-0000-0000-000000000201', '+862120001000', 'both', '00000000-0000-0000-0000-0000000000b1', 'shanghai',
         '00000000-0000-0000-0000-0000000000f3'),
        ('00000000-0000-0000-0000-000000000202', '+861060002000', 'out', '00000000-0000-0000-0000-0000000000b1', 'beijing', NULL);
    INSERT INTO cc.number_queues (number_id, queue_id) VALUES
        ('00000000-0000-0000-0000-000000000201', '00000000-0000-0000-0000-0000000000d1');
    INSERT INTO cc.number_regions (prefix, region) VALUES ('+8621', 'shanghai'), ('+8610', 'beijing'), ('+86138', 'mobile');

    INSERT INTO cc.calls (id, direction, state, number_id, trunk_id, number, caller, callee, queue_id, agent_id,
                          flow_id, flow_version_id, flow_node, variables, created_at, answered_at, connected_at)
    VALUES ('00000000-0000-0000-0000-0000000000c1', 'inbound', 'connected', '00000000-0000-0000-0000-000000000201',
            '00000000-0000-0000-0000-0000000000b1', '+862120001000', '+8613812345678', '+862120001000',
            '00000000-0000-0000-0000-0000000000d1', '00000000-0000-0000-0000-000000001001',
            '00000000-0000-0000-0000-0000000000f3', '00000000-0000-0000-0000-0000000001f3', 'sales',
            '{"order": "A17", "lang": "en"}', now() - interval '2 minutes', now() - interval '2 minutes',
            now() - interval '1 minute');
    INSERT INTO cc.legs (id, call_id, kind, direction, state, agent_id, trunk_id, to_uri, created_at, answered_at) VALUES
        ('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-0000000000c1', 'customer', 'inbound', 'answered',
         NULL, '00000000-0000-0000-0000-0000000000b1', NULL, now() - interval '2 minutes', now() - interval '2 minutes'),
        ('00000000-0000-0000-0000-0000000000e2', '00000000-0000-0000-0000-0000000000c1', 'agent', 'outbound', 'answered',
         '00000000-0000-0000-0000-000000001001', NULL, 'sip:1001@192.0.2.101:5062', now() - interval '70 seconds',
         now() - interval '1 minute');
END;
$$;

-- The command path --------------------------------------------------------------------

-- An application function only inserts a command: the call is neither
-- locked nor changed in the application's transaction.
BEGIN;
SELECT regress.cc_fixture();
SELECT regress.cc_show_text(cc.hold('00000000-0000-0000-0000-0000000000c1')::text) AS hold;
SELECT kind, regress.cc_label(call_id) AS call, regress.cc_show(args) AS args, state FROM cc.commands;
SELECT leg, state, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
-- the decision runs when cc sip claims the command, and changes the call then
SELECT regress.cc_decide(id) FROM cc.commands;
SELECT leg, state, hold_state FROM regress.cc_legs('00000000-0000-0000-0000-0000000000c1');
SELECT type, leg, data FROM regress.cc_events('00000000-0000-0000-0000-0000000000c1');
ROLLBACK;

-- A transaction that rolls back leaves no command behind: nothing will run.
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.hangup('00000000-0000-0000-0000-0000000000c1') IS NOT NULL AS hangup_inserted;
SELECT count(*) AS commands_in_transaction FROM cc.commands;
ROLLBACK;
SELECT count(*) AS commands_after_rollback FROM cc.commands;

-- A command for a call that has ended is refused by the function at once ...
BEGIN;
SELECT regress.cc_fixture();
UPDATE cc.legs SET state = 'ended', ended_at = '2025-01-06 10:05:00+00', created_at = '2025-01-06 10:00:00+00',
                   answered_at = NULL
 WHERE call_id = '00000000-0000-0000-0000-0000000000c1';
UPDATE cc.calls SET state = 'ended', created_at = '2025-01-06 10:00:00+00', answered_at = NULL, connected_at = NULL,
                    ended_at = '2025-01-06 10:05:00+00', end_cause = 'normal', hangup_side = 'customer'
 WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT * FROM regress.cc_error($$SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}')$$);
ROLLBACK;

-- ... and a command given while the call was live, for a call that ended
-- before cc sip ran it, fails with the reason: the decision sees the call as
-- it is when it runs.
BEGIN;
SELECT regress.cc_fixture();
SELECT cc.transfer('00000000-0000-0000-0000-0000000000c1', '{"queue": "support"}') AS command \gset
SELECT cc.call_end('00000000-0000-0000-0000-0000000000c1', 'normal', 'customer') IS NOT NULL AS customer_hung_up;
UPDATE cc.calls SET ended_at = '2025-01-06 10:05:00+00', created_at = '2025-01-06 10:00:00+00',
                    answered_at = NULL, connected_at = NULL
 WHERE id = '00000000-0000-0000-0000-0000000000c1';
SELECT regress.cc_decide(:'command');
-- cc sip marks it failed with that reason; the outcome is an event
SELECT count(*) AS claimed FROM cc.commands_claim('test worker', 10);
SELECT cc.command_finish(:'command', false, NULL, cc.command_decide(:'command')->>'error') AS finished;
SELECT state, error FROM cc.commands WHERE id = :'command';
SELECT type, data FROM cc.events WHERE command_id = :'command' ORDER BY seq;
ROLLBACK;

-- cc.command_decide never raises: an unknown or finished command, a call
-- that does not exist are errors in its answer; call_actions commands
-- return their actions as they are.
BEGIN;
SELECT cc.command_decide('00000000-0000-0000-0000-000000000000');
INSERT INTO cc.commands (id, kind, call_id, args) VALUES
    ('00000000-0000-0000-0000-00000000aa01', 'hangup', '00000000-0000-0000-0000-00000000dead', '{"cause": "normal"}'),
    ('00000000-0000-0000-0000-00000000aa02', 'call_actions', '00000000-0000-0000-0000-00000000dead',
     '{"actions": [{"type": "hangup", "leg": "00000000-0000-0000-0000-00000000beef"}]}');
INSERT INTO cc.commands (id, kind, state, finished_at) VALUES
    ('00000000-0000-0000-0000-00000000aa03', 'hangup', 'done', now());
SELECT cc.command_decide('00000000-0000-0000-0000-00000000aa01');
SELECT cc.command_decide('00000000-0000-0000-0000-00000000aa02');
SELECT cc.command_decide('00000000-0000-0000-0000-00000000aa03');
ROLLBACK;

-- Commands inserted by hand (cc_app may) are checked again when they run: a
-- leg of another call, a number that is none, a missing call id.
BEGIN;
SELECT regress.cc_fixture();
INSERT INTO cc.calls (id, direction, state, caller) VALUES ('00000000-0000-0000-0000-0000000000c2', 'inbound', 'connected', '+15550111');
INSERT INTO cc.legs (id, call_id, kind, direction, state, answered_at)
VALUES ('00000000-0000-0000-0000-0000000000e3', '00000000-0000-0000-0000-0000000000c2', 'agent', 'outbound', 'answered', now());
INSERT INTO cc.commands (id, kind, call_id, args) VALUES
    ('00000000-0000-0000-0000-00000000bb01', 'hangup', '00000000-0000-0000-0000-0000000000c1',
     '{"leg": "00000000-0000-0000-0000-0000000000e3", "cause": "normal"}'),
    ('00000000-0000-0000-0000-00000000bb02', 'transfer', '00000000-0000-0000-0000-0000000000c1',
     '{"target": {"kind": "number", "number": "1;lr@evil.example"}}'),
    ('00000000-0000-0000-0000-00000000bb03', 'transfer', '00000000-0000-0000-0000-0000000000c1', '{}'),
    ('00000000-0000-0000-0000-00000000bb04', 'originate', NULL, '{"destination": "+15550100"}'),
    ('00000000-0000-0000-0000-00000000bb05', 'click_to_call', '00000000-0000-0000-0000-0000000000c9',
     '{"destination": "sip:x@y", "agent_id": "00000000-0000-0000-0000-000000001002"}');
SELECT regress.cc_label(id) AS command, regress.cc_decide(id) FROM cc.commands ORDER BY id;
ROLLBACK;

-- Every call-control kind is a known command kind.
SELECT regexp_split_to_table(
           substring(pg_get_constraintdef(oid) from 'ARRAY\[(.*)\]'), ', ') AS kind
  FROM pg_constraint WHERE conname = 'commands_kind_known';
