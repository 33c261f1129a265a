-- flow_bot: the bot node through cc.flow_simulate.  Each turn is an HTTP
-- request (shown in the trace; the script answers it as the bot would) whose
-- answer is a generic array in IBM's phone-integration format, carried out
-- in order until the bot transfers (connect_to_agent) or ends the call
-- (end_session).  The caller's keys are the next turn's input; no key sends
-- vgwPostResponseTimeout; cdr_custom_data merges into the call's custom data.
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
BEGIN;
SELECT regress.flow('bot', $$[
  {"id": "start", "type": "start", "connections": {"next": "bot"}},
  {"id": "bot", "type": "bot",
   "properties": {"url": "http://127.0.0.1:9/bot?caller=${SystemCallerNumber}", "headers": {"Authorization": "Bearer t0k"},
                  "welcome_text": "hello from ${SystemCallerNumber}", "no_input_timeout_s": 5, "max_turns": 5},
   "connections": {"failure": "sorry"}},
  {"id": "sorry", "type": "end", "properties": {"prompt": {"tts": "Our assistant is not available."}}}]$$) IS NOT NULL;

-- Text, a dtmf collect of 4 digits ending with #, the digits as the next
-- turn's input, then connect_to_agent by REFER with transfer headers; the
-- REFER's final NOTIFY 202/200 ends the bot's part.
SELECT regress.sim('bot', $${"caller": "+8613800000000", "steps": [
  {"http": {"status": 200, "body": {"output": {"generic": [
      {"response_type": "text", "values": [{"text": "Welcome. Your member number?"}], "selection_policy": "sequential"},
      {"response_type": "dtmf", "command_info": {"type": "collect",
          "parameters": {"termination_key": "#", "count": 4, "inter_digit_timeout_count": 3000}},
       "channels": [{"channel": "voice_telephony"}]}]},
      "context": {"integrations": {"voice_telephony": {"cdr_custom_data": {"member": "pending", "intent": "billing"}}}}}}},
  {"digits": "1234#"},
  {"http": {"status": 200, "body": {"output": {"generic": [
      {"response_type": "text", "values": [{"text": "Connecting you to an agent."}]},
      {"response_type": "connect_to_agent",
       "transfer_info": {"target": {"service_desk": {"sip": {
           "uri": "sip:agent\\@pbx.example", "transfer_method": "refer",
           "transfer_headers": [{"name": "User-to-User", "value": "1234"}, {"name": "X-Intent", "value": "billing"}],
           "transfer_headers_send_method": "custom_header"}}}},
       "agent_available": {"message": "ok"}, "agent_unavailable": {"message": "sorry"}}]},
      "context": {"integrations": {"voice_telephony": {"cdr_custom_data": {"member": "1234", "intent": ""}}}}}}},
  {"refer": 100},
  {"refer": 200}]}$$);

-- No key: vgwPostResponseTimeout; then end_session with SIP headers for the BYE.
SELECT regress.sim('bot', $$[
  {"http": {"status": 200, "body": {"generic": [{"response_type": "text", "values": [{"text": "Say something."}]}]}}},
  {"timeout": true},
  {"http": {"status": 200, "body": {"generic": [
      {"response_type": "text", "values": [{"text": "Goodbye."}]},
      {"response_type": "end_session",
       "channel_options": {"voice_telephony": {"sip": {"headers": [{"name": "X-Reason", "value": "done"}]}}}}]}}}]$$);

-- A failed REFER: the bot hears vgwTransferFailed; a hangup transfer ends
-- the bot's part at once (BYE with the target in a header).
SELECT regress.sim('bot', $$[
  {"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
      "transfer_info": {"target": {"service_desk": {"sip": {"uri": "tel:+18883334444"}}}}}]}}},
  {"refer": 486},
  {"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
      "transfer_info": {"target": {"service_desk": {"sip": {"uri": "tel:+18883334444", "transfer_method": "hangup",
                                                            "transfer_target_header": "Transfer-Target"}}}}}]}}}]$$);

-- The result of an earlier REFER (another tag: a NOTIFY that came late)
-- decides nothing; the result of the REFER the bot waits for does.
SELECT regress.sim('bot', $$[
  {"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
      "transfer_info": {"target": {"service_desk": {"sip": {"uri": "tel:+18883334444"}}}}}]}}},
  {"event": {"type": "refer_result", "code": 200, "final": true, "tag": "bot:1"}},
  {"refer": 200}]$$);

-- Hold music while the bot works: a looping audio and vgwActForceNoInputTurn
-- start the next turn at once; that turn stops the loop.  Other responses
-- (audio, dtmf send, barge-in, text_to_speech) pass through; an unknown one
-- is skipped.
SELECT regress.sim('bot', $$[
  {"http": {"status": 200, "body": {"generic": [
      {"response_type": "audio", "source": "hold.wav", "channel_options": {"voice_telephony": {"loop": true}}},
      {"response_type": "user_defined", "user_defined": {"vgwAction": {"command": "vgwActForceNoInputTurn"}}}]}}},
  {"http": {"status": 200, "body": {"generic": [
      {"response_type": "text_to_speech", "command_info": {"type": "configure", "parameters": {"synthesize": {"voice": "kal"}}}},
      {"response_type": "dtmf", "command_info": {"type": "send", "parameters": {"digits": [{"code": "1"}]}}},
      {"response_type": "dtmf", "command_info": {"type": "disable_barge_in"}},
      {"response_type": "channel_transfer", "transfer_info": {"target": {"chat": {"url": "https://chat"}}}},
      {"response_type": "text", "values": [{"text": "Ready."}]}]}}},
  {"digits": "42#"}]$$);

-- The bot fails: no answer, not JSON, no generic array, a bad transfer
-- (a header over 1024 bytes, a contact_header with hangup, no URI): the
-- failure connection, with the reason as an event.
SELECT regress.sim('bot', '[{"http": {"status": null, "error": "timeout"}}]');
SELECT regress.sim('bot', '[{"http": {"status": 200, "body": "<html>"}}]');
SELECT regress.sim('bot', '[{"http": {"status": 200, "body": {"output": {"text": "hi"}}}}]');
SELECT regress.sim('bot', format('[{"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
    "transfer_info": {"target": {"service_desk": {"sip": {"uri": "sip:a@b",
        "transfer_headers": [{"name": "User-to-User", "value": "%s"}]}}}}}]}}}]', repeat('a', 1025))::jsonb);
SELECT regress.sim('bot', '[{"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
    "transfer_info": {"target": {"service_desk": {"sip": {"transfer_method": "hangup", "transfer_headers_send_method": "contact_header"}}}}}]}}}]');
SELECT regress.sim('bot', '[{"http": {"status": 200, "body": {"generic": [{"response_type": "connect_to_agent",
    "transfer_info": {"target": {"service_desk": {"sip": {"uri": "mailto:x"}}}}}]}}}]');
SELECT regress.sim('bot', '[{"http": {"status": 200, "body": {"generic": [{"response_type": "end_session",
    "channel_options": {"voice_telephony": {"sip": {"headers": [{"name": "Bad Name", "value": "x"}]}}}}]}}}]');

-- max_turns (5 here): the bot stops and the flow goes on (no next: hang up).
SELECT line FROM regress.sim('bot', (SELECT jsonb_agg(s ORDER BY i, k) FROM generate_series(1, 5) AS i,
    (VALUES (1, '{"http": {"status": 200, "body": {"generic": []}}}'::jsonb), (2, '{"timeout": true}')) AS x (k, s))) AS line
 WHERE line ~ 'bot_turn|warning|ended';
ROLLBACK;
