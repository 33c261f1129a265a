-- flow_versions: the console's API around flows and versions (templates,
-- create, save a draft, publish, base a version on another, copy, export,
-- delete a draft, bind a number), its errors, and the rule that a call
-- keeps the version it started on: a new version changes nothing until a
-- number is bound to it.  Real calls here go through cc.call_arrived and
-- cc.call_event (the router), as cc sip would call them.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO cc.numbers (number) VALUES ('+862120001000'), ('+862120002000');
UPDATE cc.numbers SET direction = 'out' WHERE number = '+862120002000';

-- Templates: each is a valid graph.
SELECT t, jsonb_array_length(cc.flow_template(t)->'nodes') AS nodes, cc.flow_validate(cc.flow_template(t)) AS errors
  FROM unnest(ARRAY['blank', 'menu', 'call_forwarding']) AS t;
SELECT cc.flow_template('wizard');

-- A flow starts with a draft MAIN made from a template.
SELECT cc.flow_create('main', 'inbound', 'menu', 'The main line') IS NOT NULL AS created;
CREATE TEMP TABLE f AS SELECT id FROM cc.flows WHERE name = 'main';
SELECT v.version, v.published, v.remark, v.based_on_id IS NULL AS original, jsonb_array_length(v.graph->'nodes') AS nodes
  FROM cc.flow_versions AS v, f WHERE v.flow_id = f.id;
SELECT cc.flow_create('main');
SELECT cc.flow_create('robot', 'robot');
SELECT cc.flow_create('other', 'inbound', 'wizard');

-- A draft is saved with validation; an error names the node and the property.
SELECT cc.flow_version_save(f.id, 'MAIN', regress.with_node(v.graph, '{"id": "welcome", "type": "play", "properties": {"prompt": {"tts": ""}}, "connections": {"next": "menu"}}')) FROM f, cc.flow_versions AS v WHERE v.flow_id = f.id;
SELECT cc.flow_version_save(f.id, 'MAIN', regress.with_node(v.graph, '{"id": "welcome", "type": "play", "properties": {"prompt": {"tts": "Welcome to version one."}}, "connections": {"next": "menu"}}')) IS NOT NULL AS saved FROM f, cc.flow_versions AS v WHERE v.flow_id = f.id;
SELECT cc.flow_version_save(f.id, 'V7', '{"nodes": []}') FROM f;
SELECT cc.flow_version_save('00000000-0000-0000-0000-000000000000', 'MAIN', '{"nodes": []}');

-- A number binds only to a published version of an inbound flow.
SELECT cc.number_bind_flow('+862120001000', id, 'MAIN') FROM f;
SELECT cc.flow_version_publish(id, 'MAIN') IS NOT NULL AS published FROM f;
SELECT cc.flow_version_publish(id, 'MAIN') = (SELECT published_at FROM cc.flow_versions WHERE flow_id = f.id) AS again_same FROM f;
SELECT cc.number_bind_flow('+862120001000', id, 'MAIN') FROM f;
SELECT number, inbound_flow_version FROM cc.numbers WHERE number = '+862120001000';
SELECT cc.number_bind_flow('+862100000000', id, 'MAIN') FROM f;
SELECT cc.number_bind_flow('+862120002000', id, 'MAIN') FROM f;
SELECT cc.flow_create('helper', 'self_service') IS NOT NULL;
SELECT cc.flow_version_publish(id, 'MAIN') IS NOT NULL FROM cc.flows WHERE name = 'helper';
SELECT cc.number_bind_flow('+862120001000', id, 'MAIN') FROM cc.flows WHERE name = 'helper';
-- A blank version cannot be published.
INSERT INTO cc.flows (name) VALUES ('empty');
INSERT INTO cc.flow_versions (flow_id) SELECT id FROM cc.flows WHERE name = 'empty';
SELECT cc.flow_version_publish(id, 'MAIN') FROM cc.flows WHERE name = 'empty';

-- A published graph never changes (by the API or by hand); its remark may.
SELECT cc.flow_version_save(id, 'MAIN', cc.flow_template('blank')) FROM f;
UPDATE cc.flow_versions SET graph = cc.flow_template('blank') WHERE flow_id = (SELECT id FROM f);
UPDATE cc.flow_versions SET remark = 'live since Monday' WHERE flow_id = (SELECT id FROM f) RETURNING remark;

-- A call to the number runs MAIN.  (Calls come from a peering trunk's
-- address: anyone else gets 403.)
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.7/32}');
CREATE FUNCTION pg_temp.arrive(caller text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT cc.call_arrived(jsonb_build_object(
        'request_uri', 'sip:+862120001000@127.0.0.1', 'call_id', 'call-' || caller,
        'from', jsonb_build_object('user', caller, 'uri', 'sip:' || caller || '@192.0.2.7'),
        'to', jsonb_build_object('user', '+862120001000', 'uri', 'sip:+862120001000@127.0.0.1'),
        'contacts', jsonb_build_array(jsonb_build_object('uri', 'sip:' || caller || '@192.0.2.7:5060')),
        'source', jsonb_build_object('ip', '192.0.2.7', 'port', 5060, 'transport', 'udp')));
$$;
CREATE TEMP TABLE c1 AS SELECT (a->>'call_id')::uuid AS call, (a->>'leg_id')::uuid AS leg, a->'actions' AS actions
  FROM pg_temp.arrive('+8613800000001') AS a;
SELECT jsonb_path_query(actions, '$[*] ? (@.type == "play")') - 'leg' AS first_prompt FROM c1;
SELECT v.version, c.state FROM c1, cc.calls AS c JOIN cc.flow_versions AS v ON v.id = c.flow_version_id WHERE c.id = c1.call;
-- It starts in the flow: call.created says ivr, and no call.state_changed
-- follows (nobody outside the INVITE's transaction could have seen it new).
SELECT e.type, e.data->>'state' AS state FROM c1, cc.events AS e
 WHERE e.call_id = c1.call AND e.type IN ('call.created', 'call.arrived', 'call.state_changed', 'flow.started')
 ORDER BY e.seq;
-- The call waits at the welcome; the start node it passed through is
-- counted in the position that the wait saved (one UPDATE for both).
SELECT c.flow_node, c.flow_position->'visits' AS visits, c.flow_position->'entries' AS entries,
       c.flow_position->>'await' AS await
  FROM c1, cc.calls AS c WHERE c.id = c1.call;

-- A new version based on MAIN, with a remark, edited and published:
-- calls to the number still run MAIN.
SELECT cc.flow_version_create(id, 'V2', 'MAIN', 'a new welcome') IS NOT NULL AS created FROM f;
SELECT v.version, b.version AS based_on, v.remark, v.published FROM cc.flow_versions AS v
  LEFT JOIN cc.flow_versions AS b ON b.id = v.based_on_id WHERE v.flow_id = (SELECT id FROM f) ORDER BY v.version;
SELECT cc.flow_version_save(f.id, 'V2', regress.with_node(v.graph, '{"id": "welcome", "type": "play", "properties": {"prompt": {"tts": "Welcome to version two."}}, "connections": {"next": "menu"}}')) IS NOT NULL AS saved
  FROM f, cc.flow_versions AS v WHERE v.flow_id = f.id AND v.version = 'V2';
SELECT cc.flow_version_publish(id, 'V2') IS NOT NULL AS published FROM f;
CREATE TEMP TABLE c2 AS SELECT (a->>'call_id')::uuid AS call, a->'actions' AS actions FROM pg_temp.arrive('+8613800000002') AS a;
SELECT jsonb_path_query(actions, '$[*] ? (@.type == "play")') - 'leg' - 'tag' AS prompt_before_binding FROM c2;
-- Once the number is bound to V2, new calls run V2 ...
SELECT cc.number_bind_flow('+862120001000', id, 'V2') FROM f;
CREATE TEMP TABLE c3 AS SELECT (a->>'call_id')::uuid AS call, a->'actions' AS actions FROM pg_temp.arrive('+8613800000003') AS a;
SELECT jsonb_path_query(actions, '$[*] ? (@.type == "play")') - 'leg' - 'tag' AS prompt_after_binding FROM c3;
-- ... and the call in progress keeps MAIN: its welcome ends, MAIN's menu follows.
SELECT cc.call_event(leg, '{"type": "answered"}') FROM c1;
SELECT jsonb_path_query(cc.call_event(c1.leg, jsonb_build_object('type', 'play_done', 'tag', c.flow_position->>'tag', 'reason', 'finished')),
                        '$[*] ? (@.type == "play")') - 'leg' - 'tag' AS next_prompt
  FROM c1, cc.calls AS c WHERE c.id = c1.call;
SELECT v.version, c.flow_node, c.flow_position->>'await' AS await
  FROM c1, cc.calls AS c JOIN cc.flow_versions AS v ON v.id = c.flow_version_id WHERE c.id = c1.call;

-- Late and foreign events change nothing: a play_done of an older tag, an
-- HTTP answer to a request the call does not wait for, a timer of another tag.
SELECT cc.call_event(leg, '{"type": "play_done", "tag": "welcome:1", "reason": "finished"}') AS late FROM c1;
SELECT cc.call_event(leg, '{"type": "dtmf", "digit": "5"}') AS loose_key FROM c1;
SELECT cc.flow_on_http(call, gen_random_uuid(), '{"status": 200}') AS foreign_answer FROM c1;
SELECT cc.flow_resume(call, 'agent_hangup') AS not_with_a_queue FROM c1;
SELECT cc.flow_resume(gen_random_uuid(), 'agent_hangup') AS unknown_call;
SELECT cc.flow_start('00000000-0000-0000-0000-000000000000');
SELECT cc.flow_on_timer(jsonb_build_object('kind', 'flow.http_guard', 'call_id', call, 'data', '{"tag": "menu:1"}')) AS stale_timer FROM c1;
-- The menu's key moves the call on (its tag is what the flow waits for).
SELECT jsonb_path_query(cc.call_event(c1.leg, jsonb_build_object('type', 'collect_done', 'tag', c.flow_position->>'tag',
                                                                 'digits', '2', 'reason', 'count')), '$[*]') - 'leg' - 'tag' AS actions
  FROM c1, cc.calls AS c WHERE c.id = c1.call;
SELECT choices - 0 AS nothing_else, choices->0->>'label' AS label, choices->0->>'key' AS key FROM cc.calls WHERE id = (SELECT call FROM c1);
-- The path shows in the call's events.
SELECT e.type, e.data->>'node' AS node, e.data->>'key' AS key
  FROM cc.events AS e, c1 WHERE e.call_id = c1.call AND e.type IN ('flow.started', 'flow.node_entered', 'flow.choice')
 ORDER BY e.seq;

-- A version in use is not deleted or unpublished; a published one is
-- never deleted; a draft nobody uses is.
SELECT cc.flow_version_delete(id, 'V2') FROM f;
UPDATE cc.flow_versions SET published = false WHERE flow_id = (SELECT id FROM f) AND version = 'V2';
UPDATE cc.numbers SET inbound_flow_version = NULL, inbound_flow_id = NULL WHERE number = '+862120001000';
UPDATE cc.flow_versions SET published = false WHERE flow_id = (SELECT id FROM f) AND version = 'MAIN';
DELETE FROM cc.flow_versions WHERE flow_id = (SELECT id FROM f) AND version = 'MAIN';
SELECT cc.flow_version_delete(id, 'MAIN') FROM f;
SELECT cc.flow_version_create(id, 'V3', 'V2', 'try something') IS NOT NULL FROM f;
SELECT cc.flow_version_delete(id, 'V3') FROM f;
SELECT cc.flow_version_delete(id, 'V3') FROM f;
-- A draft bound by hand (the API refuses it) is in use too.
SELECT cc.flow_version_create(id, 'V4') IS NOT NULL FROM f;
UPDATE cc.numbers SET inbound_flow_id = (SELECT id FROM f), inbound_flow_version = 'V4' WHERE number = '+862120001000';
SELECT cc.flow_version_delete(id, 'V4') FROM f;

-- Version names and other errors.
SELECT cc.flow_version_create(id, 'V2') FROM f;
SELECT cc.flow_version_create(id, 'version two') FROM f;
SELECT cc.flow_version_create(id, 'V5', 'V9') FROM f;

-- Copy a version into another flow (a draft), export it (the download).
SELECT cc.flow_create('branch office') IS NOT NULL;
SELECT cc.flow_version_copy(f.id, 'V2', 'FROM_MAIN', o.id) IS NOT NULL AS copied FROM f, cc.flows AS o WHERE o.name = 'branch office';
SELECT v.version, v.published, v.remark FROM cc.flow_versions AS v JOIN cc.flows AS o ON o.id = v.flow_id
 WHERE o.name = 'branch office' ORDER BY v.version;
SELECT cc.flow_version_copy(id, 'V2', 'MAIN') FROM f;
SELECT e - 'graph' - 'published_at' - 'updated_at' AS export, jsonb_array_length(e #> '{graph,nodes}') AS nodes
  FROM f, cc.flow_version_export(f.id, 'V2') AS e;

-- Timers: a voicemail's max duration fires through cc.flow_on_timer (as
-- cc.timers_fire calls it) and stops the recording; the worker's
-- recording_done completes the voicemail's row.
SELECT cc.flow_create('messages') IS NOT NULL;
SELECT cc.flow_version_save(id, 'MAIN', '{"nodes": [
    {"id": "start", "type": "start", "connections": {"next": "vm"}},
    {"id": "vm", "type": "voicemail", "properties": {"beep": false, "max_duration_s": 30}}]}') IS NOT NULL,
       cc.flow_version_publish(id, 'MAIN') IS NOT NULL,
       cc.number_bind_flow('+862120001000', id, 'MAIN')::text AS bound
  FROM cc.flows WHERE name = 'messages';
CREATE TEMP TABLE c4 AS SELECT (a->>'call_id')::uuid AS call, (a->>'leg_id')::uuid AS leg FROM pg_temp.arrive('+8613800000004') AS a;
SELECT t.kind, t.due_at - clock_timestamp() BETWEEN interval '25 s' AND interval '31 s' AS in_31_s, t.data->>'tag' AS tag
  FROM cc.timers AS t, c4 WHERE t.call_id = c4.call;
SELECT r.kind, r.state, r.channels, r.leg_id = c4.leg AS callers_leg FROM cc.recordings AS r, c4 WHERE r.call_id = c4.call;
SELECT jsonb_path_query(cc.flow_on_timer(to_jsonb(t)), '$[*]') - 'leg' - 'recording' AS actions
  FROM cc.timers AS t, c4 WHERE t.call_id = c4.call;
SELECT cc.call_event(c4.leg, jsonb_build_object('type', 'recording_done', 'recording', r.id, 'file', r.file_path,
                                                'duration_ms', 30000, 'bytes', 480044, 'channels', 1))
  FROM cc.recordings AS r, c4 WHERE r.call_id = c4.call;
SELECT r.state, r.duration_ms, r.bytes, r.ended_at IS NOT NULL AS ended FROM cc.recordings AS r, c4 WHERE r.call_id = c4.call;

-- The console's role (cc_admin) may use this API and simulate a flow,
-- though it may not write live calls itself.
SET LOCAL ROLE cc_admin;
SELECT cc.flow_create('made by the console', template => 'menu') IS NOT NULL AS created;
SELECT s->'choices' AS choices, s->'ended' AS ended
  FROM cc.flows AS x, cc.flow_simulate(x.id, 'MAIN', '[{"digits": "1"}]') AS s WHERE x.name = 'made by the console';
INSERT INTO cc.calls (direction) VALUES ('inbound');
RESET ROLE;
ROLLBACK;
