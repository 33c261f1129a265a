-- flow_nodes: the nodes that do not wait for the caller, run through
-- cc.flow_simulate (the real interpreter on a scratch call): start, play,
-- pause, end (with and without a prompt), set_variable (variables,
-- ${var} substitution, cdr_custom_data merged by IBM's rules), condition
-- (each operator, numbers and texts, AND, the default branch),
-- service_hours (standard, custom, off, time zones, closed dates), prompts
-- (tts, file, prompt_id, a dynamic prompt id), max_visits, and errors.
-- Prompts and pauses complete by themselves in a simulation.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO cc.prompts (name, kind, tts_text, voice) VALUES ('hello', 'tts', 'Hello ${who}, you called ${SystemCalleeNumber}.', 'kal');
SELECT regress.wav_file('music/jazz.wav');
INSERT INTO cc.prompts (name, kind, file_path) VALUES ('music', 'file', 'music/jazz.wav');

-- start, play (count, barge-in), pause, end with a prompt.
SELECT regress.flow('basic', $$[
  {"id": "start", "type": "start", "connections": {"next": "hi"}},
  {"id": "hi", "type": "play", "label": "Greeting",
   "properties": {"prompt": {"tts": "Hello ${SystemCallerNumber}.", "voice": "slt"}, "count": 2, "barge_in": true},
   "connections": {"next": "wait"}},
  {"id": "wait", "type": "pause", "properties": {"seconds": 1.5}, "connections": {"next": "bye"}},
  {"id": "bye", "type": "end", "properties": {"prompt": {"file": "goodbye.wav"}}}]$$) IS NOT NULL AS created;
SELECT regress.sim('basic', '{"caller": "+8613811112222", "steps": []}');
-- Without a prompt, end hangs up at once; a draft runs in a simulation.
SELECT regress.flow('short', '[{"id": "s", "type": "start", "connections": {"next": "e"}}, {"id": "e", "type": "end"}]') IS NOT NULL;
SELECT regress.sim('short', '[]');
-- The simulation leaves nothing behind.
SELECT count(*) AS calls FROM cc.calls;

-- Prompts: a stored TTS prompt (substituted), a stored file, a dynamic
-- prompt id held by a variable (preferred when set), else the static one.
SELECT regress.flow('prompts', format($$[
  {"id": "start", "type": "start", "connections": {"next": "p1"}},
  {"id": "p1", "type": "play", "properties": {"prompt": {"prompt_id": "%s"}}, "connections": {"next": "p2"}},
  {"id": "p2", "type": "play", "properties": {"prompt": {"prompt_id": "%s"}}, "connections": {"next": "p3"}},
  {"id": "p3", "type": "play", "properties": {"prompt": {"variable": "promptId", "tts": "The static prompt."}},
   "connections": {"next": "end"}},
  {"id": "end", "type": "end"}]$$,
  (SELECT id FROM cc.prompts WHERE name = 'hello'), (SELECT id FROM cc.prompts WHERE name = 'music'))::jsonb) IS NOT NULL;
SELECT regress.sim('prompts', '{"variables": {"who": "Ann"}, "steps": []}');
SELECT regress.sim('prompts', format('{"variables": {"who": "Bob", "promptId": "%s"}, "steps": []}',
                                     (SELECT id FROM cc.prompts WHERE name = 'music'))::jsonb);
-- Outside a call (hold music, announcements of other domains): no substitution.
SELECT cc.flow_prompt_action(format('{"prompt_id": "%s"}', (SELECT id FROM cc.prompts WHERE name = 'hello'))::jsonb) AS stored,
       cc.flow_prompt_action('{"file": "hold.wav"}') AS file, cc.flow_prompt_action(NULL) AS nothing;
-- A prompt deleted after the flow was saved is skipped with a warning.
DELETE FROM cc.prompts WHERE name = 'music';
SELECT regress.sim('prompts', '{"variables": {"who": "Ann"}, "steps": []}');

-- set_variable: assignments in order (a later one sees an earlier one),
-- JSON values kept, custom data merged: new keys added, existing ones
-- overwritten, a key set to "" removed.
SELECT regress.flow('vars', $$[
  {"id": "start", "type": "start", "connections": {"next": "a"}},
  {"id": "a", "type": "set_variable",
   "properties": {"assignments": [{"variable": "first", "value": "Ann"},
                                  {"variable": "full", "value": "${first} Lee from ${SystemCallerNumber}"},
                                  {"variable": "items", "value": [1, 2]}],
                  "custom_data": {"customer": "${full}", "tier": "gold", "drop": "x"}},
   "connections": {"next": "b"}},
  {"id": "b", "type": "set_variable",
   "properties": {"custom_data": {"tier": "platinum", "drop": "", "new": "yes"}}, "connections": {"next": "say"}},
  {"id": "say", "type": "play", "properties": {"prompt": {"tts": "${full} has ${items}; ${nothing}empty."}},
   "connections": {"next": "end"}},
  {"id": "end", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('vars', '{"caller": "1001", "steps": []}');
SELECT cc.custom_data_merge('{"a": 1, "b": 2}', '{"b": "", "c": 3, "a": "x"}');

-- condition: branches in order, conditions joined by AND, numbers compared
-- as numbers (10 > 9), texts as texts, a missing variable as "", then the
-- default branch.
SELECT regress.flow('cond', $$[
  {"id": "start", "type": "start", "connections": {"next": "c"}},
  {"id": "c", "type": "condition",
   "properties": {"branches": [
      {"label": "vip", "conditions": [{"variable": "level", "op": ">=", "value": "10"},
                                      {"variable": "country", "op": "=", "value": "CN"}], "next": "vip"},
      {"label": "known", "conditions": [{"variable": "name", "op": "!=", "value": ""}], "next": "known"},
      {"label": "early", "conditions": [{"variable": "code", "op": "<", "value": "b"},
                                        {"variable": "code", "op": "!=", "value": ""}], "next": "early"}]},
   "connections": {"default": "other"}},
  {"id": "vip", "type": "end"}, {"id": "known", "type": "end"}, {"id": "early", "type": "end"}, {"id": "other", "type": "end"}]$$) IS NOT NULL;
SELECT v AS variables, (SELECT string_agg(l, ' | ') FROM regress.sim('cond', jsonb_build_object('variables', v, 'steps', '[]'::jsonb)) AS l
                         WHERE l ~ '->') AS path
  FROM (VALUES ('{"level": "10", "country": "CN"}'::jsonb), ('{"level": 9, "country": "CN"}'),
               ('{"level": "10", "country": "FR", "name": "Ann"}'), ('{"code": "a"}'), ('{"code": "c"}'), ('{}')) AS x (v);
SELECT op, cc.flow_compare('10', op, '9') AS numbers, cc.flow_compare('10', op, 'abc') AS texts
  FROM unnest(ARRAY['=', '!=', '>', '<', '>=', '<=']) AS op;

-- service_hours: the flow's clock (a simulation step) in the node's time
-- zone; standard mode with working days and a morning and an afternoon slot.
SELECT regress.flow('hours', $$[
  {"id": "start", "type": "start", "connections": {"next": "h"}},
  {"id": "h", "type": "service_hours",
   "properties": {"time_zone": "Asia/Shanghai", "days": [1, 2, 3, 4, 5],
                  "slots": [{"from": "09:00", "to": "12:00"}, {"from": "13:30", "to": "18:00"}]},
   "connections": {"in_hours": "open", "out_of_hours": "closed"}},
  {"id": "open", "type": "end"}, {"id": "closed", "type": "end"}]$$) IS NOT NULL;
SELECT at, (SELECT string_agg(l, ' | ') FROM regress.sim('hours', jsonb_build_object('clock', at, 'steps', '[]'::jsonb)) AS l
             WHERE l ~ '->') AS path
  FROM unnest(ARRAY['2025-03-03 09:00:00+08',     -- Monday 09:00: open
                    '2025-03-03 12:30:00+08',     -- lunch: closed
                    '2025-03-03 17:59:00+08',     -- open
                    '2025-03-03 18:00:00+08',     -- closed at 18:00
                    '2025-03-03 02:00:00+00',     -- 10:00 in Shanghai: open
                    '2025-03-08 10:00:00+08']) AS at;  -- Saturday: closed
-- The clock is also a script step, for the nodes after the next input.
SELECT regress.flow('later', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "collect", "properties": {"prompt": {"tts": "Your code?"}, "variable": "code"},
   "connections": {"next": "h"}},
  {"id": "h", "type": "service_hours", "properties": {"time_zone": "Asia/Shanghai"},
   "connections": {"in_hours": "open", "out_of_hours": "closed"}},
  {"id": "open", "type": "end"}, {"id": "closed", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('later', '{"clock": "2025-03-03 10:00:00+08",
                              "steps": [{"clock": "2025-03-08 10:00:00+08"}, {"digits": "12#"}]}');
-- custom: a schedule of cc.schedules (its time zone, slots and closed dates),
-- or weekly slots in the node; off: always in hours.
INSERT INTO cc.schedules (name, time_zone, weekly_slots, closed_dates)
VALUES ('paris', 'Europe/Paris', '[{"days": [1, 2, 3, 4, 5, 6], "from": "08:00", "to": "20:00"}]', '["2025-12-25"]');
SELECT regress.flow('custom', format($$[
  {"id": "start", "type": "start", "connections": {"next": "h1"}},
  {"id": "h1", "type": "service_hours", "properties": {"mode": "custom", "schedule_id": "%s"},
   "connections": {"in_hours": "h2", "out_of_hours": "closed"}},
  {"id": "h2", "type": "service_hours",
   "properties": {"mode": "custom", "time_zone": "America/New_York",
                  "weekly_slots": [{"days": [1, 2, 3, 4, 5], "from": "00:00", "to": "24:00"}], "closed_dates": ["2025-07-04"]},
   "connections": {"in_hours": "h3", "out_of_hours": "closed"}},
  {"id": "h3", "type": "service_hours", "properties": {"mode": "off"}, "connections": {"in_hours": "open"}},
  {"id": "open", "type": "end"}, {"id": "closed", "type": "end"}]$$, (SELECT id FROM cc.schedules WHERE name = 'paris'))::jsonb) IS NOT NULL;
SELECT at, (SELECT string_agg(l, ' | ') FROM regress.sim('custom', jsonb_build_object('clock', at, 'steps', '[]'::jsonb)) AS l
             WHERE l ~ '->') AS path
  FROM unnest(ARRAY['2025-03-08 12:00:00+01',     -- Saturday noon in Paris; Saturday in New York: closed by h2
                    '2025-03-07 19:00:00+01',     -- Friday: open, open, open
                    '2025-03-09 12:00:00+01',     -- Sunday in Paris: closed
                    '2025-12-25 12:00:00+01',     -- a closed date in Paris
                    '2025-07-04 12:00:00+02']) AS at;  -- open in Paris, a closed date in New York

-- max_visits bounds a loop without the caller: the third entry goes to
-- connections.max_visits.
SELECT regress.flow('loop', $$[
  {"id": "start", "type": "start", "connections": {"next": "again"}},
  {"id": "again", "type": "pause", "properties": {"seconds": 0.5, "max_visits": 2},
   "connections": {"next": "again", "max_visits": "done"}},
  {"id": "done", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('loop', '[]');

-- A self_service flow (run mid-call at an agent's request) does not hang
-- up at its end: it returns the caller to the agent and posts what it
-- collected to the flow's callback URL (not in a simulation).
SELECT regress.flow('id_check', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "collect", "properties": {"prompt": {"tts": "Your ID number."}, "variable": "id_number", "max_digits": 18},
   "connections": {"next": "done"}},
  {"id": "done", "type": "end", "properties": {"prompt": {"tts": "Thank you, back to your agent."}}}]$$, 'self_service') IS NOT NULL;
UPDATE cc.flows SET callback_url = 'https://crm.example/id' WHERE name = 'id_check';
SELECT regress.sim('id_check', '[{"digits": "110101#"}]');

-- A version whose graph has no start hangs up "No flow"; a call of a
-- version without start or with a missing node records flow.error.
INSERT INTO cc.flows (name) VALUES ('blank');
INSERT INTO cc.flow_versions (flow_id) SELECT id FROM cc.flows WHERE name = 'blank';
SELECT regress.sim('blank', '[]');
ROLLBACK;
