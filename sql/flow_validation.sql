-- flow_validation: a graph is validated whenever it is saved.  One valid
-- graph uses every node type; each case below breaks it in one way and
-- shows the error cc.flow_validate reports: the node id, the property, the
-- rule and a message a person can act on.  The last queries prove that
-- every rule of cc.flow_validation_rules() has a case, and that saving a
-- bad graph is refused with that message.  Everything is rolled back.
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO cc.queues (name) VALUES ('sales');
INSERT INTO cc.trunks (name, mode, peer_addresses) VALUES ('carrier', 'peering', '{192.0.2.10}');
INSERT INTO cc.numbers (number) VALUES ('+862120001000');

CREATE TEMP TABLE base AS SELECT replace(replace($graph$
{"nodes": [
  {"id": "start", "type": "start", "connections": {"next": "hours"}},
  {"id": "hours", "type": "service_hours", "label": "Office hours",
   "properties": {"time_zone": "Asia/Shanghai", "days": [1, 2, 3, 4, 5],
                  "slots": [{"from": "09:00", "to": "12:00"}, {"from": "13:00", "to": "18:00"}]},
   "connections": {"in_hours": "welcome", "out_of_hours": "vm"}},
  {"id": "vm", "type": "voicemail", "properties": {"prompt": {"tts": "Leave a message after the beep."},
                                                   "end_prompt": {"file": "thanks.wav"}}},
  {"id": "welcome", "type": "play", "properties": {"prompt": {"tts": "Welcome, ${SystemCallerNumber}.", "voice": "slt"}},
   "connections": {"next": "menu"}},
  {"id": "menu", "type": "menu",
   "properties": {"prompt": {"tts": "Press 1 for your account, 2 to speak, 3 for an extension, 4 for the front desk, 5 for our assistant."},
                  "timeout_prompt": {"tts": "We did not hear you."}, "invalid_prompt": {"tts": "That key is not in the menu."},
                  "max_errors": 3, "timeout_s": 5,
                  "branches": [{"key": "1", "label": "Account", "next": "acct"},
                               {"key": "2", "label": "Speech", "next": "speech"},
                               {"key": "3", "label": "Extension", "next": "ext"},
                               {"key": "4", "label": "Front desk", "next": "fwd"},
                               {"key": "5", "label": "Assistant", "next": "bot"}]},
   "connections": {"max_errors": "bye"}},
  {"id": "acct", "type": "collect",
   "properties": {"prompt": {"tts": "Enter your account number, then the hash key."}, "variable": "account",
                  "mode": "max_length", "max_digits": 8, "min_digits": 4},
   "connections": {"next": "lookup"}},
  {"id": "lookup", "type": "http",
   "properties": {"url": "https://crm.example/accounts/${account}", "request": {"account": "${account}"},
                  "headers": {"Authorization": "Bearer abc"},
                  "response": [{"field": "data.name", "variable": "name", "default": "friend"}]},
   "connections": {"next": "check"}},
  {"id": "check", "type": "condition",
   "properties": {"branches": [{"label": "known", "conditions": [{"variable": "name", "op": "!=", "value": "friend"}],
                                "next": "greet"}]},
   "connections": {"default": "queue"}},
  {"id": "greet", "type": "set_variable",
   "properties": {"assignments": [{"variable": "greeted", "value": "yes"}], "custom_data": {"vip": "${name}"}},
   "connections": {"next": "queue"}},
  {"id": "queue", "type": "transfer_queue", "properties": {"queue": "QUEUE", "prompt": {"tts": "Please hold."}},
   "connections": {"next": "rate"}},
  {"id": "rate", "type": "survey",
   "properties": {"prompt": {"tts": "Press 1 if you were satisfied, 2 if not."},
                  "options": [{"key": "1", "label": "Satisfied"}, {"key": "2", "label": "Not satisfied"}],
                  "key_variable": "rating_key", "label_variable": "rating"},
   "connections": {"next": "bye"}},
  {"id": "speech", "type": "speech_menu",
   "properties": {"prompt": {"tts": "Say sales, or press 1."},
                  "branches": [{"keywords": ["sales", "buy"], "key": "1", "label": "Sales", "next": "hold"}]},
   "connections": {"max_errors": "bye"}},
  {"id": "hold", "type": "pause", "properties": {"seconds": 2}, "connections": {"next": "bye"}},
  {"id": "ext", "type": "transfer_extension", "properties": {"prompt": {"tts": "Enter the extension."}},
   "connections": {"next": "rate"}},
  {"id": "fwd", "type": "transfer_external",
   "properties": {"number": "+8613800000000", "trunk": "TRUNK", "caller_id": "+862120001000"},
   "connections": {"failure": "bye"}},
  {"id": "bot", "type": "bot", "properties": {"url": "https://bot.example/turn"}, "connections": {"next": "bye"}},
  {"id": "bye", "type": "end", "properties": {"prompt": {"tts": "Goodbye."}}}
]}
$graph$, 'QUEUE', (SELECT id::text FROM cc.queues WHERE name = 'sales')),
        'TRUNK', (SELECT id::text FROM cc.trunks WHERE name = 'carrier'))::jsonb AS graph;

-- The base graph has every node type and no error.
SELECT count(DISTINCT n->>'type') AS node_types, (SELECT count(*) FROM jsonb_object_keys(cc.flow_catalogue())) AS catalogue
  FROM base, jsonb_array_elements(graph->'nodes') AS n;
SELECT cc.flow_validate(graph) FROM base;

CREATE TEMP TABLE cases (n serial, rule text, what text, graph jsonb);
CREATE FUNCTION pg_temp.node(id text) RETURNS jsonb LANGUAGE sql AS
    $$ SELECT n FROM base, jsonb_array_elements(graph->'nodes') AS n WHERE n->>'id' = id $$;
CREATE FUNCTION pg_temp.set(id text, path text[], value jsonb) RETURNS jsonb LANGUAGE sql AS
    $$ SELECT regress.with_node(graph, jsonb_set(pg_temp.node(id), path, value)) FROM base $$;
CREATE FUNCTION pg_temp.drop(id text, path text[]) RETURNS jsonb LANGUAGE sql AS
    $$ SELECT regress.with_node(graph, pg_temp.node(id) #- path) FROM base $$;

INSERT INTO cases (rule, what, graph) VALUES
-- the graph
('graph.nodes', 'nodes is not an array', '{"nodes": {"start": {}}}'),
('graph.start', 'no start node', (SELECT regress.without_node(graph, 'start') FROM base)),
('graph.start', 'two start nodes', (SELECT regress.with_node(graph, '{"id": "start2", "type": "start", "connections": {"next": "bye"}}') FROM base)),
('graph.unreachable', 'a node nothing leads to', (SELECT regress.with_node(graph, '{"id": "lost", "type": "end"}') FROM base)),
('graph.unbounded_loop', 'a pause that leads to itself', pg_temp.set('hold', '{connections,next}', '"hold"')),
('graph.unbounded_loop', 'condition -> set_variable -> condition, nobody asked', pg_temp.set('greet', '{connections,next}', '"check"')),
-- nodes
('node.object', 'a node that is a number', (SELECT jsonb_set(graph, '{nodes}', (graph->'nodes') || '42') FROM base)),
('node.id', 'an id with a space', (SELECT regress.with_node(graph, '{"id": "good bye", "type": "end"}') FROM base)),
('node.duplicate_id', 'two nodes named bye', (SELECT jsonb_set(graph, '{nodes}', (graph->'nodes') || '{"id": "bye", "type": "end"}') FROM base)),
('node.type', 'an unknown type', pg_temp.set('hold', '{type}', '"dance"')),
('node.label', 'a label of 201 characters', pg_temp.set('hold', '{label}', to_jsonb(repeat('x', 201)))),
('node.properties', 'properties as an array', pg_temp.set('hold', '{properties}', '[]')),
('node.connections', 'connections as a string', pg_temp.set('bye', '{connections}', '"menu"')),
-- properties
('property.unknown', 'a misspelt property (max_error)', pg_temp.set('menu', '{properties,max_error}', '3')),
('property.required', 'a play without its prompt', pg_temp.drop('welcome', '{properties,prompt}')),
('property.required', 'a prompt with no source', pg_temp.set('welcome', '{properties,prompt}', '{"voice": "slt"}')),
('property.required', 'a menu without branches', pg_temp.drop('menu', '{properties,branches}')),
('property.type', 'max_errors as a string', pg_temp.set('menu', '{properties,max_errors}', '"3"')),
('property.type', 'a fractional count', pg_temp.set('welcome', '{properties,count}', '1.5')),
('property.range', 'max_errors 0', pg_temp.set('menu', '{properties,max_errors}', '0')),
('property.range', 'a menu timeout of 0 s', pg_temp.set('menu', '{properties,timeout_s}', '0')),
('property.range', 'collect max_digits 101 (digit counts are at most 100)', pg_temp.set('acct', '{properties,max_digits}', '101')),
('property.range', 'a pause of 301 s', pg_temp.set('hold', '{properties,seconds}', '301')),
('property.range', 'a pause of 0.05 s', pg_temp.set('hold', '{properties,seconds}', '0.05')),
('property.range', 'an HTTP timeout of 61 s', pg_temp.set('lookup', '{properties,timeout_s}', '61')),
('property.length', 'TTS of 601 characters', pg_temp.set('welcome', '{properties,prompt,tts}', to_jsonb(repeat('a', 601)))),
('property.length', 'an HTTP header value of 1025 bytes', pg_temp.set('lookup', '{properties,headers,X-Big}', to_jsonb(repeat('a', 1025)))),
('property.length', 'an empty branch label', pg_temp.set('menu', '{properties,branches,0,label}', '""')),
('property.format', 'key A', pg_temp.set('menu', '{properties,branches,0,key}', '"A"')),
('property.format', 'key 12 (one key per branch)', pg_temp.set('menu', '{properties,branches,0,key}', '"12"')),
('property.format', 'variable name 1account', pg_temp.set('acct', '{properties,variable}', '"1account"')),
('property.format', 'an ftp URL', pg_temp.set('lookup', '{properties,url}', '"ftp://crm.example/x"')),
('property.format', 'a time 25:00', pg_temp.set('hours', '{properties,slots,0,to}', '"25:00"')),
('property.format', 'day 8', pg_temp.set('hours', '{properties,days}', '[1, 8]')),
('property.format', 'a time zone that does not exist', pg_temp.set('hours', '{properties,time_zone}', '"Mars/Olympus"')),
('property.format', 'a queue that is not a uuid', pg_temp.set('queue', '{properties,queue}', '"sales"')),
('property.format', 'a destination with letters', pg_temp.set('fwd', '{properties,number}', '"call-me"')),
('property.format', 'a file path going up', pg_temp.set('vm', '{properties,end_prompt,file}', '"../../etc/passwd"')),
('property.choice', 'method PUT', pg_temp.set('lookup', '{properties,method}', '"PUT"')),
('property.choice', 'operator ~', pg_temp.set('check', '{properties,branches,0,conditions,0,op}', '"~"')),
('property.choice', 'collect mode any', pg_temp.set('acct', '{properties,mode}', '"any"')),
('property.count', 'a menu of 13 branches', pg_temp.set('menu', '{properties,branches}',
    pg_temp.node('menu') #> '{properties,branches}'
    || (SELECT jsonb_agg(jsonb_build_object('key', k, 'next', 'bye')) FROM unnest(ARRAY['6','7','8','9','0','*','#','0']) AS k))),
('property.count', 'a condition branch without conditions', pg_temp.set('check', '{properties,branches,0,conditions}', '[]')),
('property.duplicate', 'two branches on key 1', pg_temp.set('menu', '{properties,branches,1,key}', '"1"')),
('property.duplicate', 'two survey options on key 1', pg_temp.set('rate', '{properties,options,1,key}', '"1"')),
('property.reserved', 'collect into SystemCallerNumber', pg_temp.set('acct', '{properties,variable}', '"SystemCallerNumber"')),
('property.reserved', 'assign WaitNo', pg_temp.set('greet', '{properties,assignments,0,variable}', '"WaitNo"')),
('property.template', 'an unclosed ${', pg_temp.set('welcome', '{properties,prompt,tts}', '"Hello ${name"')),
('property.template', 'a ${} in a URL', pg_temp.set('lookup', '{properties,url}', '"https://crm.example/${}"')),
('property.reference', 'a queue that does not exist', pg_temp.set('queue', '{properties,queue}', '"00000000-0000-0000-0000-000000000001"')),
('property.reference', 'a caller ID that is not our number', pg_temp.set('fwd', '{properties,caller_id}', '"+15550000"')),
('property.reference', 'a prompt id that does not exist', pg_temp.set('bye', '{properties,prompt}', '{"prompt_id": "00000000-0000-0000-0000-000000000002"}')),
('property.conflict', 'min_digits above max_digits', pg_temp.set('acct', '{properties,min_digits}', '9')),
('property.conflict', 'a prompt with tts and file', pg_temp.set('welcome', '{properties,prompt,file}', '"welcome.wav"')),
('property.conflict', 'an overflow queue that is the queue', pg_temp.set('queue', '{properties,overflow_queue}', pg_temp.node('queue') #> '{properties,queue}')),
('property.conflict', 'a slot that ends before it starts', pg_temp.set('hours', '{properties,slots,1}', '{"from": "18:00", "to": "13:00"}')),
-- connections
('connection.unknown', 'a play with a timeout connection', pg_temp.set('welcome', '{connections,timeout}', '"bye"')),
('connection.required', 'a play that leads nowhere', pg_temp.drop('welcome', '{connections,next}')),
('connection.required', 'service hours without out_of_hours', pg_temp.drop('hours', '{connections,out_of_hours}')),
('connection.target', 'next names no node', pg_temp.set('welcome', '{connections,next}', '"nowhere"')),
('connection.target', 'a branch to no node', pg_temp.set('menu', '{properties,branches,0,next}', '"nowhere"'));

-- Every error of every case: the rule broken, the node, the property, the message.
SELECT c.n, c.what, e->>'rule' AS rule, e->>'node' AS node, e->>'property' AS property, e->>'message' AS message
  FROM cases AS c, jsonb_array_elements(cc.flow_validate(c.graph)) AS e
 ORDER BY c.n, e->>'rule', e->>'property';

-- Each case reports the rule it is about.
SELECT n, what, rule FROM cases AS c
 WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(cc.flow_validate(c.graph)) AS e WHERE e->>'rule' = c.rule);

-- Every rule has a case, and every error carries its rule's hint.
SELECT rule FROM cc.flow_validation_rules() EXCEPT SELECT rule FROM cases;
SELECT DISTINCT e->>'rule' FROM cases AS c, jsonb_array_elements(cc.flow_validate(c.graph)) AS e
 WHERE e->>'hint' IS NULL;

-- A loop through a node that waits for the caller, or through a node with
-- max_visits, is bounded.
SELECT cc.flow_validate(pg_temp.set('hold', '{connections,next}', '"welcome"')) AS back_to_the_menu;
SELECT cc.flow_validate(regress.with_node(base.graph,
    pg_temp.node('hold') || '{"properties": {"seconds": 2, "max_visits": 3}, "connections": {"next": "hold", "max_visits": "bye"}}')) AS with_max_visits
  FROM base;
-- connections.max_visits needs properties.max_visits.
SELECT e->>'message' FROM jsonb_array_elements(cc.flow_validate(pg_temp.set('hold', '{connections,max_visits}', '"bye"'))) AS e;

-- Saving refuses a bad graph with the first error: node id, property, rule, hint.
\set VERBOSITY default
\set SHOW_CONTEXT never
INSERT INTO cc.flows (name) VALUES ('checked');
SAVEPOINT s;
INSERT INTO cc.flow_versions (flow_id, graph) SELECT f.id, c.graph FROM cc.flows AS f, cases AS c
 WHERE f.name = 'checked' AND c.what = 'max_errors 0';
ROLLBACK TO SAVEPOINT s;
INSERT INTO cc.flow_versions (flow_id, graph) SELECT f.id, c.graph FROM cc.flows AS f, cases AS c
 WHERE f.name = 'checked' AND c.what = 'TTS of 601 characters';
ROLLBACK TO SAVEPOINT s;
-- A blank draft ({"nodes": []}, a new version) may be saved, not published.
INSERT INTO cc.flow_versions (flow_id) SELECT id FROM cc.flows WHERE name = 'checked' RETURNING version, graph;
UPDATE cc.flow_versions SET published = true, published_at = now()
 WHERE flow_id = (SELECT id FROM cc.flows WHERE name = 'checked');
ROLLBACK TO SAVEPOINT s;
-- The good graph saves.
INSERT INTO cc.flow_versions (flow_id, graph) SELECT f.id, b.graph FROM cc.flows AS f, base AS b
 WHERE f.name = 'checked' RETURNING version, published;
\set VERBOSITY terse
ROLLBACK;
