-- flow_input: the nodes that wait for the caller's keys, through
-- cc.flow_simulate: menu (static and dynamic branches), speech_menu (its
-- DTMF fallback), collect (max-length and fixed-length) and survey.  Each
-- outcome: a match, an invalid key, a timeout, max errors (with and
-- without connections.max_errors).  What the caller chose is kept for the
-- CDR (choices).  A script step is keys ({"digits"}: the simulation reports
-- what a media worker would, by the collection's termination key, count and
-- maximum) or {"timeout": true}.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;

-- menu: prompt with barge-in, one key, timeout 5 s; invalid and timeout
-- prompts before the prompt again; max_errors 3 then connections.max_errors.
SELECT regress.flow('menu', $$[
  {"id": "start", "type": "start", "connections": {"next": "menu"}},
  {"id": "menu", "type": "menu",
   "properties": {"prompt": {"tts": "Sales 1, support 2."}, "timeout_prompt": {"tts": "Hello?"},
                  "invalid_prompt": {"tts": "Not a choice."}, "timeout_s": 5,
                  "branches": [{"key": "1", "label": "Sales", "next": "sales"},
                               {"key": "2", "label": "Support", "next": "support"}]},
   "connections": {"max_errors": "sorry"}},
  {"id": "sales", "type": "end"}, {"id": "support", "type": "end"},
  {"id": "sorry", "type": "end", "properties": {"prompt": {"tts": "Sorry."}}}]$$) IS NOT NULL;
-- A match: the key and its label go to the CDR.
SELECT regress.sim('menu', '[{"digits": "2"}]');
-- An invalid key, then a timeout, then a match.
SELECT regress.sim('menu', '[{"digits": "7"}, {"timeout": true}, {"digits": "1"}]');
-- Three errors: connections.max_errors.
SELECT regress.sim('menu', '[{"digits": "9"}, {"timeout": true}, {"digits": "#"}]');
-- Without connections.max_errors, max errors hang up (the reference's default).
SELECT regress.flow('menu2', $$[
  {"id": "start", "type": "start", "connections": {"next": "menu"}},
  {"id": "menu", "type": "menu", "properties": {"prompt": {"tts": "Press 1."}, "max_errors": 2,
                                                "branches": [{"key": "1", "label": "One", "next": "one"}]}},
  {"id": "one", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('menu2', '[{"timeout": true}, {"timeout": true}]');

-- Dynamic branches: a variable (set by an HTTP node, here by the script)
-- holds [{digits, name, lable, next}]; the label is written to the CDR; a
-- branch to a node outside dynamic_next is refused (an invalid key); a
-- static branch wins over a dynamic one.
SELECT regress.flow('dynamic', $$[
  {"id": "start", "type": "start", "connections": {"next": "menu"}},
  {"id": "menu", "type": "menu",
   "properties": {"prompt": {"tts": "Choose."}, "branches_variable": "options", "dynamic_next": ["a", "b"],
                  "branches": [{"key": "0", "label": "Operator", "next": "b"}]},
   "connections": {"max_errors": "b"}},
  {"id": "a", "type": "end"}, {"id": "b", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('dynamic', $${"variables": {"options": [{"digits": "1", "name": "bills", "lable": "Bills", "next": "a"},
                                                            {"digits": "2", "name": "start", "next": "start"}]},
                                 "steps": [{"digits": "2"}, {"digits": "1"}]}$$);
-- As JSON text (what an HTTP answer often holds), and the static key 0.
SELECT regress.sim('dynamic', $${"variables": {"options": "[{\"digits\": \"3\", \"name\": \"Cards\", \"next\": \"b\"}]"},
                                 "steps": [{"digits": "3"}]}$$);
SELECT regress.sim('dynamic', '{"variables": {"options": []}, "steps": [{"digits": "0"}]}');
-- A variable that holds no array: only the static branches, with a warning.
SELECT regress.sim('dynamic', '{"variables": {"options": "nothing"}, "steps": [{"digits": "1"}, {"digits": "0"}]}');

-- speech_menu: until speech recognition exists, its DTMF fallback keys;
-- after its retries, the branch after max loops; the choice is kind speech.
SELECT regress.flow('speech', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "speech_menu",
   "properties": {"prompt": {"tts": "Say billing or press 1."}, "error_prompt": {"tts": "Pardon?"}, "retries": 2,
                  "branches": [{"keywords": ["billing", "bill"], "key": "1", "label": "Billing", "next": "billing"}]},
   "connections": {"max_errors": "human"}},
  {"id": "billing", "type": "end"}, {"id": "human", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('speech', '[{"digits": "5"}, {"digits": "1"}]');
SELECT regress.sim('speech', '[{"digits": "5"}, {"timeout": true}]');

-- collect, max-length mode: up to max_digits ended by #; the value goes to
-- the variable and the CDR.
SELECT regress.flow('collect', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "collect",
   "properties": {"prompt": {"tts": "Your account, then hash."}, "timeout_prompt": {"tts": "Still there?"},
                  "failure_prompt": {"tts": "That is not an account."}, "variable": "account",
                  "max_digits": 6, "min_digits": 4, "timeout_s": 10},
   "connections": {"next": "thanks", "max_errors": "sorry"}},
  {"id": "thanks", "type": "end", "properties": {"prompt": {"tts": "Account ${account}."}}},
  {"id": "sorry", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('collect', '[{"digits": "1234#"}]');
-- Six digits (max_digits) then #: the # ends this collection (maximum_count
-- is max_digits + 1) instead of reaching the next node; a seventh digit is
-- one too many (invalid).
SELECT regress.sim('collect', '[{"digits": "123456#"}]');
SELECT regress.sim('collect', '[{"digits": "1234567"}]');
-- Fewer than min_digits, # alone, a pause after some digits (accepted:
-- the caller stopped typing), a timeout with nothing.
SELECT regress.sim('collect', '[{"digits": "12#"}, {"digits": "#"}, {"digits": "98765"}]');
SELECT regress.sim('collect', '[{"timeout": true}, {"digits": "1#"}, {"timeout": true}]');
-- fixed-length mode: exactly max_digits, no termination key.
SELECT regress.flow('pin', $$[
  {"id": "start", "type": "start", "connections": {"next": "ask"}},
  {"id": "ask", "type": "collect",
   "properties": {"prompt": {"tts": "Your PIN."}, "variable": "pin", "mode": "fixed_length", "max_digits": 4, "max_errors": 2},
   "connections": {"next": "ok"}},
  {"id": "ok", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('pin', '[{"digits": "12"}, {"digits": "4321"}]');
SELECT regress.sim('pin', '[{"digits": "12"}, {"digits": ""}]');

-- survey: the key and its label go into variables and the CDR (the last
-- survey choice is the satisfaction); the thanks prompt, then next;
-- max errors go on to next (a survey never hangs up on its own).
SELECT regress.flow('survey', $$[
  {"id": "start", "type": "start", "connections": {"next": "rate"}},
  {"id": "rate", "type": "survey",
   "properties": {"prompt": {"tts": "1 good, 2 fair, 3 bad."}, "invalid_prompt": {"tts": "1, 2 or 3."},
                  "thanks_prompt": {"tts": "Thank you."},
                  "options": [{"key": "1", "label": "Good"}, {"key": "2", "label": "Fair"}, {"key": "3", "label": "Bad"}],
                  "key_variable": "sat_key", "label_variable": "sat", "max_errors": 2},
   "connections": {"next": "bye"}},
  {"id": "bye", "type": "end"}]$$) IS NOT NULL;
SELECT regress.sim('survey', '[{"digits": "4"}, {"digits": "2"}]');
SELECT regress.sim('survey', '[{"timeout": true}, {"digits": "9"}]');

-- The script: keys when the flow does not collect, a step after the end,
-- malformed steps and options.
SELECT regress.sim('survey', '[{"digits": "1"}, {"digits": "1"}]');
SELECT regress.sim('menu', '[{"http": {"status": 200}}]');
SELECT regress.sim('menu', '[{"digits": "1", "timeout": true}]');
SELECT regress.sim('menu', '[{"digits": "x"}]');
SELECT regress.sim('menu', '{"speed": 2, "steps": []}');
SELECT regress.sim('menu', '"2"');
SELECT cc.flow_simulate('nope', 'MAIN', '[]');
SELECT cc.flow_simulate('menu', 'V9', '[]');
-- The caller hangs up: the simulation stops there.
SELECT regress.sim('menu', '[{"hangup": true}, {"digits": "1"}]');
ROLLBACK;
