-- 130_call_control.sql: the call-control hooks of docs/call-model.md.
--
-- PLACEHOLDER until the call-control issue (transfers, consults,
-- conferences, supervision); the hook signatures stay.

CREATE FUNCTION cc.call_control_event(call uuid, leg uuid, event jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.call_control_event(uuid, uuid, jsonb) IS
    'Hook: an event of a connected call (REFER from an agent phone, a leg ending, ...); returns actions.';

CREATE FUNCTION cc.call_control_on_timer(timer jsonb) RETURNS jsonb
LANGUAGE plpgsql
AS $$ BEGIN RETURN '[]'; END; $$;
COMMENT ON FUNCTION cc.call_control_on_timer(jsonb) IS 'Hook: a call.* timer of cc.timers is due (the timer row as JSON); returns actions.';
