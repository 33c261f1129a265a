-- flow_transfers: the nodes that hand the caller over, through
-- cc.flow_simulate: transfer_queue (the queue's part is played by the
-- script: {"resume": reason} is the queue or the agent letting the caller
-- go), transfer_external and transfer_extension (a new leg the flow dials;
-- {"dial": "answered" | a cause} is its outcome), and voicemail.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO cc.queues (name) VALUES ('sales'), ('overflow');
INSERT INTO cc.trunks (name, mode, peer_addresses, peer_port) VALUES ('carrier', 'peering', '{192.0.2.10}', 5080);
INSERT INTO cc.trunks (name, mode, server, username, password) VALUES ('provider', 'register_out', 'sip.provider.example', 'acme', 'secret');
INSERT INTO cc.numbers (number, trunk_id) SELECT '+862120001000', id FROM cc.trunks WHERE name = 'carrier';
INSERT INTO cc.agents (name, extension) VALUES ('Ann', '1001'), ('Bob', '1002');
INSERT INTO cc.phones (name, extension) VALUES ('lobby', '2001');
INSERT INTO cc.registrations (agent_id, contact, expires_at)
SELECT id, 'sip:1001@192.0.2.50:5062', now() + interval '1 hour' FROM cc.agents WHERE name = 'Ann';
INSERT INTO cc.registrations (agent_id, contact, expires_at)
SELECT id, 'sip:1001@192.0.2.51:5060;transport=tcp', now() + interval '2 hours' FROM cc.agents WHERE name = 'Ann';

-- transfer_queue: cc.enqueue(call, {"queue", "overflow_queue",
-- "preferred_agents_url", "prompt"}) (not called in a simulation: the
-- trace shows the target); the flow waits; when the agent hangs up,
-- cc.flow_resume goes on at next (here a survey); a reason with its own
-- connection goes there.
SELECT regress.flow('queue', format($$[
  {"id": "start", "type": "start", "connections": {"next": "q"}},
  {"id": "q", "type": "transfer_queue",
   "properties": {"queue": "%s", "overflow_queue": "%s", "preferred_agents_url": "https://crm.example/agents?caller=${SystemCallerNumber}",
                  "prompt": {"tts": "Connecting you."}},
   "connections": {"next": "rate", "timeout": "vm"}},
  {"id": "rate", "type": "survey", "properties": {"prompt": {"tts": "Rate us: 1 to 3."},
     "options": [{"key": "1", "label": "Good"}, {"key": "2", "label": "Fair"}, {"key": "3", "label": "Bad"}]},
   "connections": {"next": "bye"}},
  {"id": "vm", "type": "voicemail", "properties": {"prompt": {"tts": "Nobody could answer. Leave a message."}}},
  {"id": "bye", "type": "end"}]$$,
  (SELECT id FROM cc.queues WHERE name = 'sales'), (SELECT id FROM cc.queues WHERE name = 'overflow'))::jsonb) IS NOT NULL;
SELECT regress.sim('queue', '[{"resume": "agent_hangup"}, {"digits": "1"}]');
SELECT regress.sim('queue', '[{"resume": "timeout"}, {"digits": "#"}]');
-- Keys while the call is with the queue are the queue's, not the flow's.
SELECT regress.sim('queue', '[{"digits": "1"}]');
-- A queue step with nowhere to go after it: nothing more, the call ends.
SELECT regress.flow('queue_only', format($$[
  {"id": "start", "type": "start", "connections": {"next": "q"}},
  {"id": "q", "type": "transfer_queue", "properties": {"queue": "%s"}}]$$, (SELECT id FROM cc.queues WHERE name = 'sales'))::jsonb) IS NOT NULL;
SELECT regress.sim('queue_only', '[{"resume": "agent_hangup"}]');

-- transfer_external: the prompt, the looping wait audio, and a dial of a
-- new external leg through the trunk with our number as caller ID; answered
-- stops the audio and bridges; after the far end hangs up, next.
SELECT regress.flow('forward', format($$[
  {"id": "start", "type": "start", "connections": {"next": "fwd"}},
  {"id": "fwd", "type": "transfer_external",
   "properties": {"number": "+86${dest}", "trunk": "%s", "caller_id": "+862120001000", "ring_timeout_s": 20,
                  "prompt": {"tts": "Transferring."}, "wait_audio": {"file": "music.wav"},
                  "failure_prompt": {"tts": "The line is busy."}},
   "connections": {"next": "rate", "failure": "bye"}},
  {"id": "rate", "type": "survey", "properties": {"prompt": {"tts": "Rate us."}, "options": [{"key": "1", "label": "Good"}]},
   "connections": {"next": "bye"}},
  {"id": "bye", "type": "end"}]$$, (SELECT id FROM cc.trunks WHERE name = 'provider'))::jsonb) IS NOT NULL;
SELECT regress.sim('forward', '{"variables": {"dest": "13800001111"}, "steps": [{"dial": "answered"}, {"resume": "agent_hangup"}, {"digits": "1"}]}');
-- Busy: the failure prompt, then connections.failure.
SELECT regress.sim('forward', '{"variables": {"dest": "13800001111"}, "steps": [{"dial": "busy"}]}');
-- No answer within the ring timeout (the worker's CANCEL): a timeout step.
SELECT regress.sim('forward', '{"variables": {"dest": "13800001111"}, "steps": [{"timeout": true}]}');
-- A destination that is not a number once substituted is an error: the
-- failure connection.
SELECT regress.sim('forward', '{"variables": {"dest": "x"}, "steps": []}');
-- Without a trunk in the node, the trunk of the number called (none: an
-- error); a SIP URI needs no trunk; without a failure connection a failed
-- dial hangs up; the default wait audio is ringback.
SELECT regress.flow('forward2', $$[
  {"id": "start", "type": "start", "connections": {"next": "a"}},
  {"id": "a", "type": "transfer_external", "properties": {"number": "5551234"}}]$$) IS NOT NULL;
SELECT regress.sim('forward2', '{"callee": "+862120001000", "steps": [{"dial": {"type": "failed", "code": 486}}]}');
SELECT regress.sim('forward2', '[]');
SELECT regress.flow('forward3', $$[
  {"id": "start", "type": "start", "connections": {"next": "a"}},
  {"id": "a", "type": "transfer_external", "properties": {"number": "sip:desk@pbx.example"}}]$$) IS NOT NULL;
SELECT regress.sim('forward3', '[{"dial": "answered"}, {"resume": "agent_hangup"}]');

-- transfer_extension: the caller keys a 4-digit extension; an enabled
-- agent's registered contacts are dialled at once (forked), the caller
-- hears ringback; answered bridges; after the agent hangs up, next.
SELECT regress.flow('ext', $$[
  {"id": "start", "type": "start", "connections": {"next": "x"}},
  {"id": "x", "type": "transfer_extension",
   "properties": {"prompt": {"tts": "The extension, please."}, "invalid_prompt": {"tts": "No such extension."},
                  "failure_prompt": {"tts": "Nobody answers."}, "max_errors": 2},
   "connections": {"next": "bye", "failure": "bye", "max_errors": "bye"}},
  {"id": "bye", "type": "end", "properties": {"prompt": {"tts": "Goodbye."}}}]$$) IS NOT NULL;
SELECT regress.sim('ext', '[{"digits": "9999"}, {"digits": "1001"}, {"dial": "answered"}, {"resume": "agent_hangup"}]');
-- An agent who is not registered (Bob): the failure prompt and path.
SELECT regress.sim('ext', '[{"digits": "1002"}]');
-- Too few keys, then max errors.
SELECT regress.sim('ext', '[{"digits": "10"}, {"timeout": true}]');
-- The agent does not answer.
SELECT regress.sim('ext', '[{"digits": "1001"}, {"dial": "no_answer"}]');

-- voicemail: prompt, beep, a one-channel recording of the caller (a
-- cc.recordings row of kind voicemail) until # or max_duration_s, the end
-- prompt, then next (else hang up).
SELECT regress.flow('vm', $$[
  {"id": "start", "type": "start", "connections": {"next": "vm"}},
  {"id": "vm", "type": "voicemail", "properties": {"prompt": {"tts": "Leave a message, then press hash."},
                                                   "end_prompt": {"tts": "Thank you."}, "max_duration_s": 60}}]$$) IS NOT NULL;
SELECT regress.sim('vm', '[{"digits": "12#"}]');
SELECT (cc.flow_simulate('vm', 'MAIN', '[]'))->'recordings' AS recordings_while_recording;
-- The caller says nothing until max_duration_s: the recording stops too.
SELECT regress.sim('vm', '[{"timeout": true}]');
-- Without a prompt or a beep, recording starts at once.
SELECT regress.flow('vm2', $$[
  {"id": "start", "type": "start", "connections": {"next": "vm"}},
  {"id": "vm", "type": "voicemail", "properties": {"beep": false}, "connections": {"next": "bye"}},
  {"id": "bye", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('vm2', '[{"digits": "#"}]');
ROLLBACK;
